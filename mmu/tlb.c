/*
 * mmu/tlb.c - flushing the per-vCPU software TLB (STYLE practice 3).
 *
 * Filling entries is the CPU core's business (it knows which access kinds are
 * allowed); this file only takes translations away, as the architecture says
 * for CR3 writes (SDM Vol. 3A 4.10.4.1: global entries survive), INVLPG
 * (4.10.4.1: every translation of the page, global ones included, and any
 * large-page translation covering it), and pages that became code.
 */
#include <string.h>

#include "mmu/mmu.h"

static inline void entry_invalidate(struct tlb *tlb, unsigned i)
{
    tlb->e[i].tag_read = TLB_INVALID;
    tlb->e[i].tag_write = TLB_INVALID;
    tlb->e[i].tag_exec = TLB_INVALID;
    tlb->e[i].addend = 0;
    tlb->info[i].global = false;
    tlb->info[i].page_shift = GUEST_PAGE_SHIFT;
}

void tlb_flush(struct tlb *tlb, bool keep_global)
{
    if (!keep_global) {
        /* TLB_INVALID is all-ones: a byte fill gives it in every tag. */
        memset(tlb->e, 0xff, sizeof(tlb->e));
        memset(tlb->info, 0, sizeof(tlb->info));
        tlb->has_large = false;
        return;
    }
    bool large = false;
    for (unsigned i = 0; i < TLB_ENTRIES; i++) {
        if (tlb->info[i].global)
            large |= tlb->info[i].page_shift > GUEST_PAGE_SHIFT;
        else
            entry_invalidate(tlb, i);
    }
    tlb->has_large = large;
}

void tlb_flush_page(struct tlb *tlb, gva_t gva)
{
    gva &= GUEST_PAGE_MASK;
    unsigned i = tlb_index(gva);
    if (tlb->info[i].page_gva == gva)
        entry_invalidate(tlb, i);
    if (!tlb->has_large)
        return;
    /*
     * Entries are 4 KiB pieces of their page; a piece of a large page that
     * contains @gva may sit at any index.
     */
    bool large = false;
    for (unsigned j = 0; j < TLB_ENTRIES; j++) {
        unsigned shift = tlb->info[j].page_shift;
        if (shift <= GUEST_PAGE_SHIFT)   /* small page, or invalidated entry */
            continue;
        if ((tlb->info[j].page_gva >> shift) == (gva >> shift))
            entry_invalidate(tlb, j);
        else
            large = true;
    }
    tlb->has_large = large;
}

void tlb_protect_code_page(struct tlb *tlb, gpa_t page_gpa)
{
    page_gpa &= GUEST_PAGE_MASK;
    for (unsigned i = 0; i < TLB_ENTRIES; i++) {
        if (tlb->info[i].page_gpa == page_gpa && tlb->e[i].tag_write != TLB_INVALID)
            tlb->e[i].tag_write |= TLB_FLAG_CODE;
    }
}
