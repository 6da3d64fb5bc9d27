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

/** Where x86_walk_trace() sends each entry it reads; NULL in x86_walk(). */
struct walk_sink {
    void (*cb)(void *opaque, const struct x86_walk_step *step);
    void *opaque;
};

/*
 * Read entry @index (@width bytes) of the table at @table; false if not RAM.
 * The entry is remembered in @tr for the A/D update unless @tr is NULL.
 */
static forceinline bool read_entry(struct guest_mem *mem, gpa_t table, unsigned index,
                                   unsigned width, uint64_t *val, struct walk_trace *tr)
{
    gpa_t gpa = table + (gpa_t)index * width;
    uint8_t *h = gpa_map(mem, gpa, width);
    if (!h)
        return false;
    if (width == 8)
        *val = __atomic_load_n((uint64_t *)h, __ATOMIC_RELAXED);
    else
        *val = __atomic_load_n((uint32_t *)h, __ATOMIC_RELAXED);
    if (tr) {
        tr->host[tr->n] = h;
        tr->gpa[tr->n] = gpa;
        tr->width[tr->n] = (uint8_t)width;
        tr->n++;
    }
    return true;
}

/*
 * Tell @sink (if any) about the entry at @level: @e, whether it maps a page
 * (@leaf), or @not_ram. With a NULL @sink this compiles to nothing.
 */
static forceinline void report(const struct walk_sink *sink, int level, gpa_t table,
                               unsigned index, unsigned width, uint64_t e, bool leaf,
                               bool not_ram)
{
    static const char *const names[] = { "PT", "PD", "PDPT", "PML4", "PML5" };
    if (!sink)
        return;
    struct x86_walk_step st = { .level = level, .name = names[level - 1], .table_gpa = table,
                                .index = index, .entry_gpa = table + (gpa_t)index * width,
                                .width = width, .entry = e, .leaf = leaf, .not_ram = not_ram };
    sink->cb(sink->opaque, &st);
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

/* walk() returns 0, the fault bits (PFEC_P|PFEC_RSVD), or this for "not present". */
#define WALK_NOT_PRESENT 0x80000000u

/*
 * The 8-byte levels @top..1 of IA-32e paging (4.5: @top 4 or 5, from CR3)
 * and PAE paging (4.4: @top 2, from the PDPTE). @rsvd_hi holds the reserved
 * bits from MAXPHYADDR up (to 51 in IA-32e entries, to 62 in PAE ones); PS
 * is reserved in a PML5E or PML4E, and in a PDPTE without Page1GB. A PS entry at level 2 or 3 maps a
 * 2 MiB or 1 GiB page, whose bits shift-1:13 are reserved (bit 12 is PAT).
 */
static forceinline uint32_t walk_levels(struct guest_mem *mem, const struct x86_paging_ctx *ctx,
                                        gva_t gva, gpa_t table, int top, uint64_t rsvd_hi,
                                        struct x86_walk_result *out, struct walk_trace *tr,
                                        const struct walk_sink *sink)
{
    uint64_t xd_rsvd = (ctx->efer & EFER_NXE) ? 0 : PTE_XD;
    bool rw = true, us = true, xd = false;

    for (int level = top; level >= 1; level--) {
        unsigned shift = 12 + 9 * (level - 1);
        unsigned index = (unsigned)((gva >> shift) & 511);
        uint64_t e;
        if (!read_entry(mem, table, index, 8, &e, tr)) {
            report(sink, level, table, index, 8, 0, false, true);
            return WALK_NOT_PRESENT;
        }
        if (!(e & PTE_P)) {
            report(sink, level, table, index, 8, e, false, false);
            return WALK_NOT_PRESENT;
        }
        uint64_t rsvd = rsvd_hi | xd_rsvd;
        bool leaf = level == 1;
        if (level >= 4 || (level == 3 && ctx->no_page1gb)) {
            rsvd |= PTE_PS;
        } else if (level >= 2 && (e & PTE_PS)) {
            leaf = true;
            rsvd |= ((1ull << shift) - 1) & ~0x1fffull;
        }
        report(sink, level, table, index, 8, e, leaf, false);
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

/* PAE paging (4.4): a PDPTE (no A bit, no permissions), then PD and PT. */
static forceinline uint32_t walk_pae(struct guest_mem *mem, const struct x86_paging_ctx *ctx,
                                     gva_t gva, struct x86_walk_result *out,
                                     struct walk_trace *tr, const struct walk_sink *sink)
{
    gpa_t pdpt = ctx->cr3 & 0xffffffe0ull;
    unsigned index = (unsigned)((gva >> 30) & 3);
    uint64_t e;
    if (!read_entry(mem, pdpt, index, 8, &e, NULL)) {
        report(sink, 3, pdpt, index, 8, 0, false, true);
        return WALK_NOT_PRESENT;
    }
    report(sink, 3, pdpt, index, 8, e, false, false);
    if (!(e & PTE_P))
        return WALK_NOT_PRESENT;
    /* PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR reserved (Table 4-8). */
    if (e & (0x6ull | 0x1e0ull | ~((1ull << X86_MAXPHYADDR) - 1)))
        return PFEC_P | PFEC_RSVD;
    return walk_levels(mem, ctx, gva, e & PHYS_MASK, 2, RSVD_HI_63, out, tr, sink);
}

/* 32-bit paging (4.3): PDE (4 MiB page with CR4.PSE), PTE; 4-byte entries. */
static forceinline uint32_t walk_32(struct guest_mem *mem, const struct x86_paging_ctx *ctx,
                                    gva_t gva, struct x86_walk_result *out,
                                    struct walk_trace *tr, const struct walk_sink *sink)
{
    uint32_t lin = (uint32_t)gva;
    gpa_t table = ctx->cr3 & 0xfffff000ull;
    uint64_t e;
    if (!read_entry(mem, table, lin >> 22, 4, &e, tr)) {
        report(sink, 2, table, lin >> 22, 4, 0, false, true);
        return WALK_NOT_PRESENT;
    }
    if (!(e & PTE_P)) {
        report(sink, 2, table, lin >> 22, 4, e, false, false);
        return WALK_NOT_PRESENT;
    }
    bool big = (e & PTE_PS) && (ctx->cr4 & CR4_PSE);
    report(sink, 2, table, lin >> 22, 4, e, big, false);
    bool rw = e & PTE_RW, us = e & PTE_US;
    if (big) {
        /* PSE-36 (Table 4-4): bits 20:13 are physical bits 39:32; bit 21 reserved. */
        if (e & (1ull << 21))
            return PFEC_P | PFEC_RSVD;
        out->gpa = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32) | (lin & 0x3fffff);
        out->page_shift = 22;
    } else {
        table = e & 0xfffff000ull;
        unsigned index = (lin >> 12) & 0x3ff;
        if (!read_entry(mem, table, index, 4, &e, tr)) {
            report(sink, 1, table, index, 4, 0, false, true);
            return WALK_NOT_PRESENT;
        }
        report(sink, 1, table, index, 4, e, e & PTE_P, false);
        if (!(e & PTE_P))
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

/*
 * The walk both x86_walk() and x86_walk_trace() do, by the paging mode
 * (4.1.1). Inlined into each, so x86_walk()'s copy, with no sink, has no
 * reporting code at all.
 */
static forceinline uint32_t walk(struct guest_mem *mem, const struct x86_paging_ctx *ctx,
                                 gva_t gva, struct x86_walk_result *out, struct walk_trace *tr,
                                 const struct walk_sink *sink)
{
    if (ctx->efer & EFER_LMA)
        return walk_levels(mem, ctx, gva, ctx->cr3 & PHYS_MASK, (ctx->cr4 & CR4_LA57) ? 5 : 4,
                           RSVD_HI_52, out, tr, sink);
    if (ctx->cr4 & CR4_PAE)
        return walk_pae(mem, ctx, gva, out, tr, sink);
    return walk_32(mem, ctx, gva, out, tr, sink);
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
    uint32_t fault = walk(mem, ctx, gva, out, &tr, NULL);

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
 * A read-only walk for the debugger's "pagewalk": x86_walk()'s own walk
 * (SDM Vol. 3A 4.3-4.5) with a sink that reports every entry it reads, but
 * it sets no A/D bits and checks no permissions. It stops where the walk
 * does: at the first entry that is not present, not RAM or has a reserved
 * bit set (-EFAULT: the access would #PF), or at the leaf.
 */
int x86_walk_trace(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
                   void (*cb)(void *opaque, const struct x86_walk_step *step), void *opaque,
                   gpa_t *gpa_out)
{
    if (!(ctx->cr0 & CR0_PG)) {
        *gpa_out = gva & 0xffffffffull;
        return 0;
    }
    const struct walk_sink sink = { cb, opaque };
    struct x86_walk_result r = { 0 };
    if (walk(mem, ctx, gva, &r, NULL, &sink))
        return -EFAULT;
    *gpa_out = r.gpa;
    return 0;
}
