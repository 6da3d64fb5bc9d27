/*
 * mmu/x86_walk.c - the x86 page-table walker (SDM Vol. 3A ch. 4).
 *
 * Modes (SDM Vol. 3A 4.1.1, Table 4-1), chosen from the context:
 *   CR0.PG=0                 - no paging: the caller maps linear = physical;
 *                              x86_walk() returns the identity anyway;
 *   CR4.PAE=0                - 32-bit paging (4.3), 4 MiB pages with CR4.PSE,
 *                              PSE-36 (PDE bits 20:13 = physical bits 39:32);
 *   CR4.PAE=1, EFER.LMA=0    - PAE paging (4.4);
 *   EFER.LMA=1               - 4-level paging, or 5-level with CR4.LA57 (4.5),
 *                              with 2 MiB and 1 GiB pages.
 *
 * Decided:
 *  - MAXPHYADDR is X86_MAXPHYADDR (40) bits; paging-structure bits from
 *    MAXPHYADDR up to 51 (and XD when EFER.NXE=0) are reserved -> #PF with
 *    P=1 and RSVD=1 (4.7).
 *  - PAE PDPTEs are read at walk time, not cached at MOV CR3 as hardware does
 *    (4.4.1). A guest that changes a PDPTE without reloading CR3 sees the new
 *    value earlier than on hardware; reserved bits in a PDPTE give a RSVD #PF
 *    here instead of #GP at the CR3 load.
 *  - Accessed bits are set on every level, and the dirty bit on the leaf for
 *    writes, only once the whole translation has succeeded (permissions
 *    included); hardware may set A bits on a faulting walk too, which the SDM
 *    allows either way (4.8). Updates are atomic read-modify-writes of the
 *    entry in guest RAM (other vCPUs may walk the same tables).
 *  - A paging-structure entry whose address is not RAM reads as not present.
 *  - Protection keys (CR4.PKE) are not implemented: bits 62:59 are ignored.
 *  - In 4/5-level mode bits above 47/56 of @gva are not checked here: the
 *    canonical check (#GP/#SS) is the caller's, before it gets here.
 */
#include <errno.h>

#include "mmu/mmu.h"

/* Paging-structure entry bits (SDM Vol. 3A Tables 4-4 .. 4-20). */
#define PTE_P    (1ull << 0)
#define PTE_RW   (1ull << 1)
#define PTE_US   (1ull << 2)
#define PTE_A    (1ull << 5)
#define PTE_D    (1ull << 6)
#define PTE_PS   (1ull << 7)
#define PTE_G    (1ull << 8)
#define PTE_XD   (1ull << 63)

/* Control bits (SDM Vol. 3A 2.5); repeated here so mmu/ needs no CPU header. */
#define CR0_WP   (1ull << 16)
#define CR0_PG   (1ull << 31)
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_PGE  (1ull << 7)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* #PF error code (SDM Vol. 3A 4.7, Figure 4-12). */
#define PFEC_P    (1u << 0)
#define PFEC_WR   (1u << 1)
#define PFEC_US   (1u << 2)
#define PFEC_RSVD (1u << 3)
#define PFEC_ID   (1u << 4)

/* Physical-address bits of a paging-structure entry: (MAXPHYADDR-1):12. */
#define PHYS_MASK    (((1ull << X86_MAXPHYADDR) - 1) & ~0xfffull)
/* Bits 51:MAXPHYADDR (reserved in IA-32e entries). */
#define RSVD_HI_52   (((1ull << 52) - 1) & ~((1ull << X86_MAXPHYADDR) - 1))
/* Bits 62:MAXPHYADDR (reserved in PAE PDEs/PTEs). */
#define RSVD_HI_63   (((1ull << 63) - 1) & ~((1ull << X86_MAXPHYADDR) - 1))

#define MAX_LEVELS 5

/** Where the walk found each entry, to set A/D once it succeeds. */
struct walk_trace {
    void *host[MAX_LEVELS];
    gpa_t gpa[MAX_LEVELS];
    uint8_t width[MAX_LEVELS];   /* 4 or 8 bytes */
    int n;
};

/* Read a paging-structure entry of @width bytes at @gpa; false if not RAM. */
static bool read_entry(struct guest_mem *mem, gpa_t gpa, unsigned width, uint64_t *val,
                       struct walk_trace *tr, bool track)
{
    uint8_t *h = gpa_map(mem, gpa, width);
    if (!h)
        return false;
    if (width == 8)
        *val = __atomic_load_n((uint64_t *)h, __ATOMIC_RELAXED);
    else
        *val = __atomic_load_n((uint32_t *)h, __ATOMIC_RELAXED);
    if (track) {
        tr->host[tr->n] = h;
        tr->gpa[tr->n] = gpa;
        tr->width[tr->n] = (uint8_t)width;
        tr->n++;
    }
    return true;
}

/*
 * Atomically OR @bits into the entry at @host (@width bytes, guest-physical
 * @gpa). A change is a guest-memory write like any other: code tracking
 * hears of it (page tables sharing a page with code are legal, if odd).
 */
static void set_bits(struct guest_mem *mem, void *host, gpa_t gpa, unsigned width, uint64_t bits)
{
    if (width == 8) {
        if ((__atomic_load_n((uint64_t *)host, __ATOMIC_RELAXED) & bits) == bits)
            return;
        __atomic_fetch_or((uint64_t *)host, bits, __ATOMIC_RELAXED);
    } else {
        if ((__atomic_load_n((uint32_t *)host, __ATOMIC_RELAXED) & bits) == bits)
            return;
        __atomic_fetch_or((uint32_t *)host, (uint32_t)bits, __ATOMIC_RELAXED);
    }
    gpa_note_write(mem, gpa, width);
}

bool x86_walk_permits(const struct x86_paging_ctx *ctx, const struct x86_walk_result *r,
                      enum mmu_access access)
{
    bool user_access = ctx->user && !ctx->implicit_supervisor;
    /* SMAP (4.6.1): supervisor data access to a user-mode address. */
    bool smap_blocks = r->user && (ctx->cr4 & CR4_SMAP) && (ctx->implicit_supervisor || !ctx->ac);

    switch (access) {
    case MMU_READ:
        if (user_access)
            return r->user;
        return !smap_blocks;
    case MMU_WRITE:
        if (user_access)
            return r->user && r->writable;
        if (smap_blocks)
            return false;
        return r->writable || !(ctx->cr0 & CR0_WP);
    case MMU_EXEC:
        if (r->nx)
            return false;
        if (user_access)
            return r->user;
        return !(r->user && (ctx->cr4 & CR4_SMEP));
    }
    return false;
}

/* Error code bits that describe the access itself (W/R, U/S, I/D). */
static uint32_t access_bits(const struct x86_paging_ctx *ctx, enum mmu_access access)
{
    uint32_t e = 0;
    if (access == MMU_WRITE)
        e |= PFEC_WR;
    if (ctx->user && !ctx->implicit_supervisor)
        e |= PFEC_US;
    /* I/D only if SMEP, or PAE/IA-32e paging with NXE (4.7). */
    if (access == MMU_EXEC &&
        ((ctx->cr4 & CR4_SMEP) || ((ctx->cr4 & CR4_PAE) && (ctx->efer & EFER_NXE))))
        e |= PFEC_ID;
    return e;
}

/*
 * IA-32e paging (4.5): 4 or 5 levels. Returns 0, or the fault bits
 * (PFEC_P|PFEC_RSVD, or 0x80000000 for "not present").
 */
#define WALK_NOT_PRESENT 0x80000000u

static uint32_t walk_ia32e(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
                           struct x86_walk_result *out, struct walk_trace *tr)
{
    int levels = (ctx->cr4 & CR4_LA57) ? 5 : 4;
    uint64_t xd_rsvd = (ctx->efer & EFER_NXE) ? 0 : PTE_XD;
    gpa_t table = ctx->cr3 & PHYS_MASK;
    bool rw = true, us = true, xd = false;

    for (int level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        gpa_t egpa = table + ((gva >> shift) & 511) * 8;
        uint64_t e;
        if (!read_entry(mem, egpa, 8, &e, tr, true) || !(e & PTE_P))
            return WALK_NOT_PRESENT;
        uint64_t rsvd = RSVD_HI_52 | xd_rsvd;
        bool leaf = level == 1;
        if (level >= 4 || (level == 3 && ctx->no_page1gb)) {
            rsvd |= PTE_PS;                       /* PML5E/PML4E (and PDPTE without
                                                   * Page1GB): PS reserved */
        } else if (level >= 2 && (e & PTE_PS)) {
            leaf = true;
            /* 1 GiB: bits 29:13; 2 MiB: bits 20:13 (bit 12 is PAT). */
            rsvd |= ((1ull << shift) - 1) & ~0x1fffull;
        }
        if (e & rsvd)
            return PFEC_P | PFEC_RSVD;
        rw &= !!(e & PTE_RW);
        us &= !!(e & PTE_US);
        xd |= !!(e & PTE_XD) && !xd_rsvd;
        if (leaf) {
            uint64_t mask = (1ull << shift) - 1;
            out->gpa = (e & PHYS_MASK & ~mask) | (gva & mask);
            out->page_shift = (uint8_t)shift;
            out->global = (e & PTE_G) && (ctx->cr4 & CR4_PGE);
            out->dirty = e & PTE_D;
            break;
        }
        table = e & PHYS_MASK;
    }
    out->writable = rw;
    out->user = us;
    out->nx = xd;
    return 0;
}

/* PAE paging (4.4): PDPTE (no A bit, no permissions), PDE, PTE. */
static uint32_t walk_pae(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
                         struct x86_walk_result *out, struct walk_trace *tr)
{
    uint64_t xd_rsvd = (ctx->efer & EFER_NXE) ? 0 : PTE_XD;
    gpa_t pdpte_gpa = (ctx->cr3 & 0xffffffe0ull) + ((gva >> 30) & 3) * 8;
    uint64_t e;
    if (!read_entry(mem, pdpte_gpa, 8, &e, tr, false) || !(e & PTE_P))
        return WALK_NOT_PRESENT;
    /* PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR reserved (Table 4-8). */
    if (e & (0x6ull | 0x1e0ull | ~((1ull << X86_MAXPHYADDR) - 1)))
        return PFEC_P | PFEC_RSVD;
    gpa_t table = e & PHYS_MASK;
    bool rw = true, us = true, xd = false;
    for (int level = 2; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        if (!read_entry(mem, table + ((gva >> shift) & 511) * 8, 8, &e, tr, true) || !(e & PTE_P))
            return WALK_NOT_PRESENT;
        uint64_t rsvd = RSVD_HI_63 | xd_rsvd;
        bool leaf = level == 1;
        if (level == 2 && (e & PTE_PS)) {
            leaf = true;
            rsvd |= 0x1fe000ull;                  /* bits 20:13 */
        }
        if (e & rsvd)
            return PFEC_P | PFEC_RSVD;
        rw &= !!(e & PTE_RW);
        us &= !!(e & PTE_US);
        xd |= !!(e & PTE_XD) && !xd_rsvd;
        if (leaf) {
            uint64_t mask = (1ull << shift) - 1;
            out->gpa = (e & PHYS_MASK & ~mask) | (gva & mask);
            out->page_shift = (uint8_t)shift;
            out->global = (e & PTE_G) && (ctx->cr4 & CR4_PGE);
            out->dirty = e & PTE_D;
            break;
        }
        table = e & PHYS_MASK;
    }
    out->writable = rw;
    out->user = us;
    out->nx = xd;
    return 0;
}

/* 32-bit paging (4.3): PDE (4 MiB page with CR4.PSE), PTE; 4-byte entries. */
static uint32_t walk_32(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
                        struct x86_walk_result *out, struct walk_trace *tr)
{
    uint32_t lin = (uint32_t)gva;
    uint64_t e;
    if (!read_entry(mem, (ctx->cr3 & 0xfffff000ull) + (lin >> 22) * 4, 4, &e, tr, true) ||
        !(e & PTE_P))
        return WALK_NOT_PRESENT;
    bool rw = e & PTE_RW, us = e & PTE_US;
    if ((e & PTE_PS) && (ctx->cr4 & CR4_PSE)) {
        /* PSE-36 (Table 4-4): bits 20:13 are physical bits 39:32; bit 21 reserved. */
        if (e & (1ull << 21))
            return PFEC_P | PFEC_RSVD;
        out->gpa = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32) | (lin & 0x3fffff);
        out->page_shift = 22;
    } else {
        gpa_t pt = e & 0xfffff000ull;
        if (!read_entry(mem, pt + ((lin >> 12) & 0x3ff) * 4, 4, &e, tr, true) || !(e & PTE_P))
            return WALK_NOT_PRESENT;
        rw &= !!(e & PTE_RW);
        us &= !!(e & PTE_US);
        out->gpa = (e & 0xfffff000ull) | (lin & 0xfff);
        out->page_shift = 12;
    }
    out->global = (e & PTE_G) && (ctx->cr4 & CR4_PGE);
    out->dirty = e & PTE_D;
    out->writable = rw;
    out->user = us;
    out->nx = false;
    return 0;
}

bool x86_walk(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
              enum mmu_access access, struct x86_walk_result *out, uint32_t *pf_error)
{
    if (!(ctx->cr0 & CR0_PG)) {
        out->gpa = gva;
        out->page_shift = GUEST_PAGE_SHIFT;
        out->writable = out->user = true;
        out->nx = out->global = false;
        out->dirty = true;
        return true;
    }

    struct walk_trace tr;
    tr.n = 0;
    uint32_t fault;
    if (ctx->efer & EFER_LMA)
        fault = walk_ia32e(mem, ctx, gva, out, &tr);
    else if (ctx->cr4 & CR4_PAE)
        fault = walk_pae(mem, ctx, gva, out, &tr);
    else
        fault = walk_32(mem, ctx, gva, out, &tr);

    if (fault) {
        *pf_error = (fault == WALK_NOT_PRESENT ? 0 : fault) | access_bits(ctx, access);
        return false;
    }
    if (!x86_walk_permits(ctx, out, access)) {
        *pf_error = PFEC_P | access_bits(ctx, access);
        return false;
    }

    /* Success: A on every entry used, D on the leaf for writes (4.8). */
    for (int i = 0; i < tr.n; i++) {
        uint64_t bits = PTE_A;
        if (i == tr.n - 1 && access == MMU_WRITE)
            bits |= PTE_D;
        set_bits(mem, tr.host[i], tr.gpa[i], tr.width[i], bits);
    }
    if (access == MMU_WRITE)
        out->dirty = true;
    return true;
}

/* ---------------------------------------------------------------- debugger trace */

/*
 * A read-only walk for the debugger's "pagewalk": same structure selection
 * as x86_walk() (SDM Vol. 3A 4.3-4.5), but it sets no A/D bits, checks no
 * permissions and reports every entry it reads. It stops at the first entry
 * that is not present or not RAM, or at the leaf.
 */
int x86_walk_trace(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
                   void (*cb)(void *opaque, const struct x86_walk_step *step), void *opaque,
                   gpa_t *gpa_out)
{
    if (!(ctx->cr0 & CR0_PG)) {
        *gpa_out = gva & 0xffffffffull;
        return 0;
    }
    static const char *const names4[] = { "PT", "PD", "PDPT", "PML4", "PML5" };
    struct walk_trace unused = { .n = 0 };
    struct x86_walk_step st;
    if (ctx->efer & EFER_LMA || ctx->cr4 & CR4_PAE) {
        bool ia32e = ctx->efer & EFER_LMA;
        int levels = ia32e ? ((ctx->cr4 & CR4_LA57) ? 5 : 4) : 3;
        gpa_t table = ia32e ? (ctx->cr3 & PHYS_MASK) : (ctx->cr3 & 0xffffffe0ull);
        for (int level = levels; level >= 1; level--) {
            unsigned shift = 12 + 9 * (level - 1);
            unsigned index = (unsigned)((gva >> shift) & ((!ia32e && level == 3) ? 3 : 511));
            st = (struct x86_walk_step){ .level = level, .name = names4[level - 1],
                                         .table_gpa = table, .index = index,
                                         .entry_gpa = table + index * 8ull, .width = 8 };
            uint64_t e;
            if (!read_entry(mem, st.entry_gpa, 8, &e, &unused, false)) {
                st.not_ram = true;
                cb(opaque, &st);
                return -EFAULT;
            }
            st.entry = e;
            st.leaf = level == 1 || (level <= 3 && (e & PTE_PS) && !(!ia32e && level == 3));
            cb(opaque, &st);
            if (!(e & PTE_P))
                return -EFAULT;
            if (st.leaf) {
                uint64_t mask = (1ull << shift) - 1;
                *gpa_out = (e & PHYS_MASK & ~mask) | (gva & mask);
                return 0;
            }
            table = e & PHYS_MASK;
        }
        return -EFAULT;
    }
    /* 32-bit paging: 4-byte PDE and PTE. */
    uint32_t lin = (uint32_t)gva;
    gpa_t table = ctx->cr3 & 0xfffff000ull;
    for (int level = 2; level >= 1; level--) {
        unsigned index = level == 2 ? (lin >> 22) : ((lin >> 12) & 0x3ff);
        st = (struct x86_walk_step){ .level = level, .name = names4[level - 1],
                                     .table_gpa = table, .index = index,
                                     .entry_gpa = table + index * 4ull, .width = 4 };
        uint64_t e;
        if (!read_entry(mem, st.entry_gpa, 4, &e, &unused, false)) {
            st.not_ram = true;
            cb(opaque, &st);
            return -EFAULT;
        }
        st.entry = e;
        st.leaf = level == 1 || ((e & PTE_PS) && (ctx->cr4 & CR4_PSE));
        cb(opaque, &st);
        if (!(e & PTE_P))
            return -EFAULT;
        if (st.leaf) {
            if (level == 2)
                *gpa_out = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32) | (lin & 0x3fffff);
            else
                *gpa_out = (e & 0xfffff000ull) | (lin & 0xfff);
            return 0;
        }
        table = e & 0xfffff000ull;
    }
    return -EFAULT;
}
