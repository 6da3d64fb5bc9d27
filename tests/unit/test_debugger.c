/*
 * tests/unit/test_debugger.c - the debugger's building blocks that need no
 * running machine: x86_walk_trace() (mmu/x86_walk.c) on hand-built page
 * tables, the symbol table (frontend/symbols.c) on a System.map, and the
 * command engine's behaviour without a machine (frontend/monitor.c).
 *
 * Oracles: the entry formats and index fields of SDM Vol. 3A 4.3 (32-bit,
 * PSE 4 MiB pages), 4.4 (PAE) and 4.5 (4-level; Figure 4-8/4-9/4-10 for
 * 4 KiB / 2 MiB / 1 GiB pages), written out below from the SDM; the
 * System.map format of scripts/mksysmap ("ADDR TYPE NAME").
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/monitor.h"
#include "mmu/mmu.h"

#define P   (1ull << 0)
#define RW  (1ull << 1)
#define US  (1ull << 2)
#define A   (1ull << 5)
#define PS  (1ull << 7)
#define CR0_PG   (1ull << 31)
#define CR0_PE   1ull
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

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

static void put32(gpa_t table, unsigned idx, uint32_t v)
{
    cr_assert_eq(gpa_write(&mem, table + idx * 4ull, &v, 4), 0);
}

struct steps {
    struct x86_walk_step s[8];
    int n;
};

static void collect(void *opaque, const struct x86_walk_step *st)
{
    struct steps *ss = opaque;
    if (ss->n < 8)
        ss->s[ss->n++] = *st;
}

static const struct x86_paging_ctx ctx4 = { CR0_PG | CR0_PE, 0x10000, CR4_PAE, EFER_LME | EFER_LMA,
                                            false, true, false };

TestSuite(walk_trace, .init = setup, .fini = teardown);

/* 4-level, 4 KiB page: index fields 47:39, 38:30, 29:21, 20:12 (SDM Vol. 3A 4.5.4, Figure 4-8). */
Test(walk_trace, four_level_4k_page)
{
    gva_t va = (5ull << 39) | (6ull << 30) | (7ull << 21) | (8ull << 12) | 0x123;
    put64(0x10000, 5, 0x11000 | P | RW);
    put64(0x11000, 6, 0x12000 | P | RW);
    put64(0x12000, 7, 0x13000 | P | RW | US);
    put64(0x13000, 8, 0x345000 | P);
    struct steps ss = { .n = 0 };
    gpa_t gpa = 0;
    cr_assert_eq(x86_walk_trace(&mem, &ctx4, va, collect, &ss, &gpa), 0);
    cr_assert_eq(gpa, 0x345123);
    cr_assert_eq(ss.n, 4);
    const char *names[] = { "PML4", "PDPT", "PD", "PT" };
    gpa_t tables[] = { 0x10000, 0x11000, 0x12000, 0x13000 };
    unsigned idx[] = { 5, 6, 7, 8 };
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(ss.s[i].name, names[i]);
        cr_assert_eq(ss.s[i].table_gpa, tables[i]);
        cr_assert_eq(ss.s[i].index, idx[i]);
        cr_assert_eq(ss.s[i].entry_gpa, tables[i] + idx[i] * 8);
        cr_assert_eq(ss.s[i].width, 8);
        cr_assert_eq(ss.s[i].leaf, i == 3);
    }
    cr_assert_eq(ss.s[3].entry, 0x345000 | P);
    /* Read-only: no accessed bit was set anywhere (unlike x86_walk, SDM 4.8). */
    uint64_t e;
    gpa_read(&mem, 0x10000 + 5 * 8, &e, 8);
    cr_assert_eq(e & A, 0);
    gpa_read(&mem, 0x13000 + 8 * 8, &e, 8);
    cr_assert_eq(e & A, 0);
}

/* 2 MiB page (PS in the PDE, Figure 4-9) and 1 GiB page (PS in the PDPTE, Figure 4-10). */
Test(walk_trace, large_pages)
{
    put64(0x10000, 0, 0x11000 | P | RW);
    put64(0x11000, 0, 0x12000 | P | RW);
    put64(0x12000, 3, 0x600000 | P | RW | PS);
    put64(0x11000, 1, 0x40000000 | P | RW | PS);
    struct steps ss = { .n = 0 };
    gpa_t gpa;
    cr_assert_eq(x86_walk_trace(&mem, &ctx4, (3ull << 21) | 0x1234, collect, &ss, &gpa), 0);
    cr_assert_eq(gpa, 0x600000 + 0x1234);
    cr_assert_eq(ss.n, 3);
    cr_assert(ss.s[2].leaf);
    ss.n = 0;
    cr_assert_eq(x86_walk_trace(&mem, &ctx4, (1ull << 30) | 0x2345678, collect, &ss, &gpa), 0);
    cr_assert_eq(gpa, 0x40000000ull + 0x2345678);
    cr_assert_eq(ss.n, 2);
    cr_assert_str_eq(ss.s[1].name, "PDPT");
    cr_assert(ss.s[1].leaf);
}

/* A not-present PDE ends the walk there: reported, then -EFAULT. */
Test(walk_trace, not_present_stops)
{
    put64(0x10000, 0, 0x11000 | P);
    put64(0x11000, 0, 0x12000 | P);
    put64(0x12000, 9, 0);
    struct steps ss = { .n = 0 };
    gpa_t gpa;
    cr_assert_lt(x86_walk_trace(&mem, &ctx4, 9ull << 21, collect, &ss, &gpa), 0);
    cr_assert_eq(ss.n, 3);
    cr_assert_eq(ss.s[2].entry & P, 0);
    /* A table outside RAM (below MAXPHYADDR, so no reserved bit): reported as not RAM. */
    put64(0x10000, 1, 0xff00000000ull | P);
    ss.n = 0;
    cr_assert_lt(x86_walk_trace(&mem, &ctx4, 1ull << 39, collect, &ss, &gpa), 0);
    cr_assert_eq(ss.n, 2);
    cr_assert(ss.s[1].not_ram);
}

/*
 * A reserved bit ends the walk where x86_walk() would #PF with RSVD: bit 45
 * of a PDE (bits 51:MAXPHYADDR, SDM Vol. 3A 4.5.4 Table 4-17; MAXPHYADDR is
 * 40 here), and PS in a PML4E (Table 4-15). The entry is reported, then -EFAULT.
 */
Test(walk_trace, reserved_bit_stops)
{
    put64(0x10000, 0, 0x11000 | P);
    put64(0x11000, 0, 0x12000 | P);
    put64(0x12000, 9, 0x13000 | P | (1ull << 45));
    put64(0x13000, 0, 0x345000 | P);
    struct steps ss = { .n = 0 };
    gpa_t gpa;
    cr_assert_lt(x86_walk_trace(&mem, &ctx4, 9ull << 21, collect, &ss, &gpa), 0);
    cr_assert_eq(ss.n, 3);
    cr_assert_eq(ss.s[2].entry, 0x13000 | P | (1ull << 45));
    put64(0x10000, 2, 0x11000 | P | PS);
    ss.n = 0;
    cr_assert_lt(x86_walk_trace(&mem, &ctx4, 2ull << 39, collect, &ss, &gpa), 0);
    cr_assert_eq(ss.n, 1);
    cr_assert(!ss.s[0].leaf);
}

/* 32-bit paging (4.3): 4-byte entries, PDE index 31:22, 4 MiB page with CR4.PSE. */
Test(walk_trace, legacy_32bit)
{
    struct x86_paging_ctx c = { CR0_PG | CR0_PE, 0x20000, CR4_PSE, 0, false, true, false };
    put32(0x20000, 0x301, 0x21000 | P | RW);
    put32(0x21000, 0x55, 0x777000 | P);
    put32(0x20000, 0x2, 0x00c00000 | P | PS);
    struct steps ss = { .n = 0 };
    gpa_t gpa;
    cr_assert_eq(x86_walk_trace(&mem, &c, (0x301u << 22) | (0x55u << 12) | 0xabc, collect, &ss, &gpa), 0);
    cr_assert_eq(gpa, 0x777abc);
    cr_assert_eq(ss.n, 2);
    cr_assert_eq(ss.s[0].width, 4);
    cr_assert_eq(ss.s[0].entry_gpa, 0x20000 + 0x301 * 4);
    ss.n = 0;
    cr_assert_eq(x86_walk_trace(&mem, &c, (0x2u << 22) | 0x12345, collect, &ss, &gpa), 0);
    cr_assert_eq(gpa, 0xc00000 + 0x12345);
    cr_assert_eq(ss.n, 1);
}

/* PAE (4.4): 4 PDPTEs at CR3 (bits 31:5), index 31:30, then PD and PT. */
Test(walk_trace, pae)
{
    struct x86_paging_ctx c = { CR0_PG | CR0_PE, 0x30020, CR4_PAE, 0, false, true, false };
    put64(0x30020, 2, 0x31000 | P);
    put64(0x31000, 5, 0x32000 | P | RW);
    put64(0x32000, 7, 0x888000 | P);
    struct steps ss = { .n = 0 };
    gpa_t gpa;
    cr_assert_eq(x86_walk_trace(&mem, &c, (2u << 30) | (5u << 21) | (7u << 12) | 0x10, collect, &ss,
                                &gpa), 0);
    cr_assert_eq(gpa, 0x888010);
    cr_assert_eq(ss.n, 3);
    cr_assert_eq(ss.s[0].entry_gpa, 0x30020 + 2 * 8);
}

/* Paging off: identity, no steps. */
Test(walk_trace, paging_off)
{
    struct x86_paging_ctx c = { CR0_PE, 0, 0, 0, false, true, false };
    struct steps ss = { .n = 0 };
    gpa_t gpa;
    cr_assert_eq(x86_walk_trace(&mem, &c, 0x12345678, collect, &ss, &gpa), 0);
    cr_assert_eq(gpa, 0x12345678);
    cr_assert_eq(ss.n, 0);
}

/* ---------------------------------------------------------------- symbols */

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/qtemu-sym-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(symbols, system_map)
{
    char *p = write_tmp("ffffffff81000000 T _text\n"
                        "ffffffff81000000 T startup_64\n"
                        "ffffffff81001000 t local_fn\n"
                        "ffffffff81002000 D some_data\n"
                        "                 U undefined_thing\n"
                        "garbage line\n");
    char err[256];
    int n = symbols_load(p, err, sizeof(err));
    unlink(p);
    cr_assert_eq(n, 4, "%s", err);
    uint64_t a;
    cr_assert(symbols_lookup("local_fn", &a));
    cr_assert_eq(a, 0xffffffff81001000ull);
    cr_assert_not(symbols_lookup("undefined_thing", &a));
    char buf[64];
    cr_assert(symbols_describe(0xffffffff81001010ull, buf, sizeof(buf)));
    cr_assert_str_eq(buf, "local_fn+0x10");
    cr_assert(symbols_describe(0xffffffff81000000ull, buf, sizeof(buf)));
    cr_assert(!strcmp(buf, "_text") || !strcmp(buf, "startup_64"));
    cr_assert_not(symbols_describe(0xffffffff80000000ull, buf, sizeof(buf)));
    /* More than 1 MiB past the last symbol: nothing sensible to say. */
    cr_assert_not(symbols_describe(0xffffffff82000000ull, buf, sizeof(buf)));
    symbols_clear();
    cr_assert_not(symbols_lookup("local_fn", &a));
}

/* Debian's linux-image ships this stub instead of the real map. */
Test(symbols, debian_stub_map_rejected)
{
    char *p = write_tmp("ffffffffffffffff B The real System.map is in the linux-image-6.1.0-dbg package\n");
    char err[256] = "";
    cr_assert_eq(symbols_load(p, err, sizeof(err)), -1);
    unlink(p);
    cr_assert(strstr(err, "no symbols"), "%s", err);
}

Test(symbols, bad_elf_rejected)
{
    /* An ELF64 header whose section table lies beyond the file. */
    unsigned char h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    h[0x28] = 0xff; h[0x29] = 0xff; h[0x2a] = 0xff;   /* e_shoff huge */
    h[0x3a] = 64; h[0x3c] = 3;                        /* e_shentsize, e_shnum */
    char path[] = "/tmp/qtemu-elf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    close(fd);
    char err[256] = "";
    cr_assert_eq(symbols_load(path, err, sizeof(err)), -1);
    unlink(path);
    cr_assert(strstr(err, "section header"), "%s", err);
}

/* ---------------------------------------------------------------- engine without a machine */

static int run(const char *cmd, char **out)
{
    size_t len;
    FILE *f = open_memstream(out, &len);
    int rc = monitor_exec(cmd, f);
    fclose(f);
    return rc;
}

Test(engine, no_machine)
{
    char *out;
    cr_assert_eq(run("help", &out), MONITOR_OK);
    cr_assert(strstr(out, "pagewalk"));
    free(out);
    cr_assert_eq(run("", &out), MONITOR_OK);
    free(out);
    cr_assert_eq(run("x/8xb 0x1000", &out), MONITOR_ERROR);
    cr_assert(strstr(out, "no machine"), "%s", out);
    free(out);
    cr_assert_eq(run("frobnicate", &out), MONITOR_ERROR);
    free(out);
}
