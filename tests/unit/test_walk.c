/*
 * tests/unit/test_walk.c - mmu/x86_walk.c against the SDM.
 *
 * Page tables are built by hand in a guest_mem, from the entry formats of
 * SDM Vol. 3A 4.3 (32-bit), 4.4 (PAE) and 4.5 (4/5-level). Oracles: the
 * translations those formats define, the A/D semantics of 4.8, and the #PF
 * error-code bits of 4.7 / Figure 4-12, spelled out below from the SDM (not
 * from the walker's own constants).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mmu/mmu.h"

/* SDM Vol. 3A Figure 4-12. */
#define EC_P    0x01u
#define EC_WR   0x02u
#define EC_US   0x04u
#define EC_RSVD 0x08u
#define EC_ID   0x10u

/* Entry bits (SDM Vol. 3A Tables 4-14..4-20). */
#define P   (1ull << 0)
#define RW  (1ull << 1)
#define US  (1ull << 2)
#define A   (1ull << 5)
#define D   (1ull << 6)
#define PS  (1ull << 7)
#define G   (1ull << 8)
#define XD  (1ull << 63)

/* Control bits (SDM Vol. 3A 2.5). */
#define CR0_PG   (1ull << 31)
#define CR0_WP   (1ull << 16)
#define CR0_PE   1ull
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_PGE  (1ull << 7)
#define CR4_LA57 (1ull << 12)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static struct guest_mem mem;

static void setup(void)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 16ull << 20, 3ull << 30, NULL), 0);
}

static void teardown(void)
{
    guest_mem_destroy(&mem);
}

static void put64(gpa_t table, unsigned idx, uint64_t v)
{
    cr_assert_eq(gpa_write(&mem, table + idx * 8ull, &v, 8), 0);
}

static uint64_t get64(gpa_t table, unsigned idx)
{
    uint64_t v;
    cr_assert_eq(gpa_read(&mem, table + idx * 8ull, &v, 8), 0);
    return v;
}

static void put32(gpa_t table, unsigned idx, uint32_t v)
{
    cr_assert_eq(gpa_write(&mem, table + idx * 4ull, &v, 4), 0);
}

static uint32_t get32(gpa_t table, unsigned idx)
{
    uint32_t v;
    cr_assert_eq(gpa_read(&mem, table + idx * 4ull, &v, 4), 0);
    return v;
}

static gva_t va4(unsigned l4, unsigned l3, unsigned l2, unsigned l1, unsigned off)
{
    return ((gva_t)l4 << 39) | ((gva_t)l3 << 30) | ((gva_t)l2 << 21) | ((gva_t)l1 << 12) | off;
}

static struct x86_paging_ctx ctx_long(void)
{
    struct x86_paging_ctx c = {
        .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000, .cr4 = CR4_PAE,
        .efer = EFER_LME | EFER_LMA | EFER_NXE,
    };
    return c;
}

/* 4-level tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000, page 0x9000. */
#define PML4 0x1000
#define PDPT 0x2000
#define PD   0x3000
#define PT   0x4000

static void build_long(uint64_t upper, uint64_t leaf)
{
    put64(PML4, 5, PDPT | upper);
    put64(PDPT, 6, PD | upper);
    put64(PD, 7, PT | upper);
    put64(PT, 8, 0x9000 | leaf);
}

static bool walk(const struct x86_paging_ctx *c, gva_t va, enum mmu_access acc,
                 struct x86_walk_result *r, uint32_t *ec)
{
    *ec = 0xdead;
    return x86_walk(&mem, c, va, acc, r, ec);
}

TestSuite(walk, .init = setup, .fini = teardown);

Test(walk, four_level_4k_translation_and_ad_bits)
{
    build_long(P | RW | US, P | RW | US);
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0xabc), MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, 0x9abc);
    cr_assert_eq(r.page_shift, 12);
    cr_assert(r.writable && r.user && !r.nx);
    /* Read: A on every level, D nowhere. */
    cr_assert(get64(PML4, 5) & A);
    cr_assert(get64(PDPT, 6) & A);
    cr_assert(get64(PD, 7) & A);
    cr_assert(get64(PT, 8) & A);
    cr_assert(!(get64(PT, 8) & D));
    cr_assert(!r.dirty);
    /* Write: D on the leaf only (non-leaf D bits are ignored, 4.8). */
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert(get64(PT, 8) & D);
    cr_assert(r.dirty);
    cr_assert(!(get64(PD, 7) & D));
    cr_assert_eq(get64(PT, 8) & 0xfffffffff000ull, 0x9000, "address bits untouched");
}

Test(walk, four_level_large_pages)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    /* 2 MiB page at 0x600000. */
    put64(PML4, 0, PDPT | P | RW);
    put64(PDPT, 0, PD | P | RW);
    put64(PD, 1, 0x600000 | PS | P | RW);
    cr_assert(walk(&c, va4(0, 0, 1, 0x33, 0x21), MMU_WRITE, &r, &ec));
    cr_assert_eq(r.gpa, 0x600000 + (0x33 << 12) + 0x21);
    cr_assert_eq(r.page_shift, 21);
    cr_assert(get64(PD, 1) & D, "D set on the 2 MiB leaf PDE");
    /* 1 GiB page at 3 GiB (need not be RAM: only the tables must be). */
    put64(PDPT, 2, 0xc0000000ull | PS | P);
    cr_assert(walk(&c, va4(0, 2, 0x155, 0x1ff, 0xfff), MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, 0xc0000000ull + (0x155ull << 21) + (0x1ffull << 12) + 0xfff);
    cr_assert_eq(r.page_shift, 30);
    cr_assert(!r.writable);
    /* Bits 29:13 of a 1 GiB PDPTE are reserved. */
    put64(PDPT, 3, 0xc0000000ull | (1ull << 13) | PS | P);
    cr_assert(!walk(&c, va4(0, 3, 0, 0, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);
}

Test(walk, five_level)
{
    struct x86_paging_ctx c = ctx_long();
    c.cr4 |= CR4_LA57;
    c.cr3 = 0x5000;              /* PML5 */
    put64(0x5000, 3, PML4 | P | RW);
    build_long(P | RW, P | RW);
    struct x86_walk_result r;
    uint32_t ec;
    gva_t va = (3ull << 48) | va4(5, 6, 7, 8, 0x10);
    cr_assert(walk(&c, va, MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, 0x9010);
    cr_assert(get64(0x5000, 3) & A);
    /* Same address with 4-level paging: CR3 would be the PML4. */
    c.cr4 &= ~CR4_LA57;
    c.cr3 = PML4;
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0x10), MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, 0x9010);
    /* PS is reserved in a PML5E / PML4E. */
    put64(PML4, 5, PDPT | P | RW | PS);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);
}

Test(walk, not_present_error_codes)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    build_long(P | RW | US, RW | US);    /* leaf P = 0 */
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, 0);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_WR);
    c.user = true;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_WR | EC_US);
    /* Fetch: I/D is set because PAE-type paging with NXE = 1. */
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_US | EC_ID);
    /* ... and not when NXE = 0 and SMEP = 0. */
    c.efer &= ~EFER_NXE;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_US);
    /* Missing upper level. */
    cr_assert(!walk(&c, va4(9, 0, 0, 0, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_US);
    /* Table outside RAM reads as not present. */
    put64(PML4, 10, 0x40000000ull | P | RW);
    c.user = false;
    cr_assert(!walk(&c, va4(10, 0, 0, 0, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, 0);
}

Test(walk, write_protect_with_and_without_wp)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    build_long(P | RW | US, P | US);     /* read-only leaf */
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_WR);
    cr_assert(!(get64(PT, 8) & D), "no D on a faulting write");
    c.cr0 &= ~CR0_WP;                    /* supervisor ignores R/W */
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert(get64(PT, 8) & D);
    c.user = true;                       /* ... user never does */
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_WR | EC_US);
    /* R/W = 0 in an upper level also makes the page read-only. */
    build_long(P | US, P | RW | US);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_WR | EC_US);
}

Test(walk, user_supervisor)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    build_long(P | RW | US, P | RW);     /* supervisor leaf */
    c.user = true;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_US);
    /* An implicit supervisor access at CPL 3 is allowed (4.6.1), U/S = 0. */
    c.implicit_supervisor = true;
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    /* U/S = 0 in an upper level makes the page supervisor. */
    build_long(P | RW, P | RW | US);
    c.implicit_supervisor = false;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_US);
}

Test(walk, nx_smep_smap)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    build_long(P | RW | US, P | RW | XD);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_ID);
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert(r.nx);
    /* XD with NXE = 0 is a reserved bit. */
    c.efer &= ~EFER_NXE;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);

    /* SMEP: supervisor fetch from a user page. */
    c = ctx_long();
    build_long(P | RW | US, P | RW | US);
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_EXEC, &r, &ec));
    c.cr4 |= CR4_SMEP;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_ID);
    /* SMAP: supervisor data access to a user page unless AC (explicit only). */
    c.cr4 |= CR4_SMAP;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_WR);
    c.ac = true;
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    c.implicit_supervisor = true;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P);
    /* User accesses are not affected by SMAP. */
    c.implicit_supervisor = false;
    c.ac = false;
    c.user = true;
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
}

Test(walk, reserved_above_maxphyaddr)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    build_long(P | RW, P | RW);
    put64(PD, 7, PT | P | RW | (1ull << 45));   /* bit 45 >= MAXPHYADDR (40) */
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD | EC_WR);
    c.user = true;
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD | EC_US | EC_ID);
    /* Bit 39 is a valid address bit; bits 62:52 are ignored in IA-32e mode. */
    c.user = false;
    put64(PD, 7, PT | P | RW);
    put64(PT, 8, (1ull << 39) | 0x9000 | P | RW | (1ull << 55));
    cr_assert(walk(&c, va4(5, 6, 7, 8, 4), MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, (1ull << 39) | 0x9004);
    /* Bits 20:13 of a 2 MiB PDE are reserved. */
    put64(PD, 7, 0x200000 | (1ull << 14) | PS | P);
    cr_assert(!walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);
}

Test(walk, global_needs_pge)
{
    struct x86_paging_ctx c = ctx_long();
    struct x86_walk_result r;
    uint32_t ec;
    build_long(P | RW, P | RW | G);
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert(!r.global);
    c.cr4 |= CR4_PGE;
    cr_assert(walk(&c, va4(5, 6, 7, 8, 0), MMU_READ, &r, &ec));
    cr_assert(r.global);
}

Test(walk, pae_paging)
{
    /* PDPT 32-byte aligned at 0x1020 (CR3 bits 31:5), PD 0x3000, PT 0x4000. */
    struct x86_paging_ctx c = {
        .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1020, .cr4 = CR4_PAE, .efer = EFER_NXE,
    };
    put64(0x1020, 2, PD | P);
    put64(PD, 3, PT | P | RW | US);
    put64(PT, 4, 0x9000 | P | RW | US);
    put64(PD, 5, 0xa00000 | PS | P | RW | XD);
    struct x86_walk_result r;
    uint32_t ec;
    gva_t va = (2u << 30) | (3u << 21) | (4u << 12) | 0x567;
    cr_assert(walk(&c, va, MMU_WRITE, &r, &ec));
    cr_assert_eq(r.gpa, 0x9567);
    cr_assert(get64(PT, 4) & D);
    cr_assert(get64(PD, 3) & A);
    cr_assert_eq(get64(0x1020, 2), PD | P, "PAE PDPTEs have no A bit");
    gva_t va2 = (2u << 30) | (5u << 21) | 0x12345;
    cr_assert(walk(&c, va2, MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, 0xa12345);
    cr_assert_eq(r.page_shift, 21);
    cr_assert(!walk(&c, va2, MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_ID);
    /* Bits 62:MAXPHYADDR are reserved in PAE PDEs/PTEs (not ignored). */
    put64(PT, 4, 0x9000 | P | RW | (1ull << 55));
    cr_assert(!walk(&c, va, MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);
    /* Not-present PDPTE. */
    cr_assert(!walk(&c, (gva_t)(1u << 30), MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_WR);
}

Test(walk, legacy_32bit_paging)
{
    struct x86_paging_ctx c = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000 };
    struct x86_walk_result r;
    uint32_t ec;
    put32(0x1000, 0x300, 0x2000 | P | RW);
    put32(0x2000, 0x155, 0x7000 | P | RW);
    gva_t va = (0x300u << 22) | (0x155u << 12) | 0xfed;
    cr_assert(walk(&c, va, MMU_WRITE, &r, &ec));
    cr_assert_eq(r.gpa, 0x7fed);
    cr_assert(get32(0x1000, 0x300) & A);
    cr_assert_eq(get32(0x2000, 0x155) & (A | D), A | D);
    cr_assert(!(get32(0x1000, 0x300) & D));

    /* PS ignored without CR4.PSE: the PDE still points to a table. */
    put32(0x1000, 0x301, 0x2000 | PS | P | RW);
    gva_t va2 = (0x301u << 22) | (0x155u << 12) | 0x1;
    cr_assert(walk(&c, va2, MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, 0x7001);
    /* With PSE: a 4 MiB page, PSE-36 bits 20:13 = physical 39:32. */
    c.cr4 = CR4_PSE;
    put32(0x1000, 0x302, 0x00c00000u | (0x3u << 13) | PS | P | RW);
    gva_t va3 = (0x302u << 22) | 0x123456;
    cr_assert(walk(&c, va3, MMU_READ, &r, &ec));
    cr_assert_eq(r.gpa, (3ull << 32) | 0x00c00000u | 0x123456);
    cr_assert_eq(r.page_shift, 22);
    /* Bit 21 of a 4 MiB PDE is reserved (MAXPHYADDR 40). */
    put32(0x1000, 0x303, 0x00c00000u | (1u << 21) | PS | P);
    cr_assert(!walk(&c, (gva_t)(0x303u << 22), MMU_READ, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_RSVD);
    /* Fetches: I/D only with SMEP in 32-bit paging (no NX). */
    put32(0x1000, 0x304, 0);
    cr_assert(!walk(&c, (gva_t)(0x304u << 22), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, 0);
    c.cr4 |= CR4_SMEP;
    cr_assert(!walk(&c, (gva_t)(0x304u << 22), MMU_EXEC, &r, &ec));
    cr_assert_eq(ec, EC_ID);
    /* Read-only page with WP = 0: supervisor write allowed, user write not. */
    put32(0x2000, 0x156, 0x8000 | P | US);
    put32(0x1000, 0x300, 0x2000 | P | RW | US);
    gva_t va4k = (0x300u << 22) | (0x156u << 12);
    cr_assert(walk(&c, va4k, MMU_WRITE, &r, &ec));
    c.user = true;
    cr_assert(!walk(&c, va4k, MMU_WRITE, &r, &ec));
    cr_assert_eq(ec, EC_P | EC_WR | EC_US);
}

Test(walk, paging_off_is_identity)
{
    struct x86_paging_ctx c = { .cr0 = CR0_PE };
    struct x86_walk_result r;
    uint32_t ec;
    cr_assert(walk(&c, 0x12345678, MMU_WRITE, &r, &ec));
    cr_assert_eq(r.gpa, 0x12345678);
}
