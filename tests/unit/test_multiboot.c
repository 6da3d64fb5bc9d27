/*
 * tests/unit/test_multiboot.c - boot/multiboot.c and boot/realmode.c.
 * Oracles: the Multiboot Specification 0.6.96 (header rules 3.1, info
 * layout 3.3, written out here as offsets), QEMU's command-line and module
 * spelling ("KERNEL_PATH CMDLINE"; -initrd "a args,b" with ",," = ','),
 * the e820 map the loader was given, and the assembler (the mini-BIOS bytes
 * must be what boot/minibios.S assembles to).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/firmware.h"
#include "boot/x86_boot.h"

static void w16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v); w16(p + 2, v >> 16); }
static uint32_t r32(struct guest_mem *m, uint64_t gpa)
{
    uint8_t b[4];
    cr_assert_eq(gpa_read(m, gpa, b, 4), 0);
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void mb_header(uint8_t *p, uint32_t flags)
{
    w32(p, 0x1BADB002);
    w32(p + 4, flags);
    w32(p + 8, (uint32_t)-(0x1BADB002u + flags));
}

/* A minimal ELF32 (EM_386): one PT_LOAD of @filesz bytes at @paddr, @memsz in memory. */
static size_t make_elf32(uint8_t *f, uint32_t paddr, uint32_t filesz, uint32_t memsz, uint32_t entry)
{
    memset(f, 0, 0x2000);
    memcpy(f, "\x7f" "ELF", 4);
    f[4] = 1; f[5] = 1; f[6] = 1;
    w16(f + 16, 2); w16(f + 18, 3); w32(f + 20, 1);
    w32(f + 24, entry); w32(f + 28, 52);            /* e_entry, e_phoff */
    w16(f + 40, 52); w16(f + 42, 32); w16(f + 44, 1);
    uint8_t *ph = f + 52;
    w32(ph, 1); w32(ph + 4, 0x1000); w32(ph + 8, paddr); w32(ph + 12, paddr);
    w32(ph + 16, filesz); w32(ph + 20, memsz);
    mb_header(f + 0x1000, 0x3);                    /* header inside the segment, at 4 KiB */
    for (uint32_t i = 12; i < filesz; i++)
        f[0x1000 + i] = (uint8_t)i;
    return 0x1000 + filesz;
}

struct env {
    struct guest_mem mem;
    struct e820_entry e820[PC_E820_MAX];
    int n;
    uint64_t ram;
};

static void setup(struct env *e, uint64_t ram)
{
    memset(e, 0, sizeof(*e));
    e->mem.backing_fd = -1;
    e->ram = ram;
    cr_assert_eq(guest_mem_init_pc(&e->mem, ram, PC_LOW_RAM_LIMIT, NULL), 0);
    e->n = pc_build_e820(ram, e->e820, PC_E820_MAX);
    cr_assert_gt(e->n, 0);
}

Test(multiboot, header_rules)
{
    static uint8_t img[16384];
    struct multiboot_header h;
    memset(img, 0, sizeof(img));
    cr_assert(!multiboot_find_header(img, sizeof(img), &h));
    mb_header(img + 8188 - 12 + 4, 0);             /* ends at 8192: inside */
    cr_assert(multiboot_find_header(img, sizeof(img), &h));
    cr_assert_eq(h.offset, 8180);
    memset(img, 0, sizeof(img));
    mb_header(img + 8192, 0);                      /* starts past 8 KiB: not found */
    cr_assert(!multiboot_find_header(img, sizeof(img), &h));
    memset(img, 0, sizeof(img));
    mb_header(img + 2, 0);                         /* not longword-aligned */
    cr_assert(!multiboot_find_header(img, sizeof(img), &h));
    memset(img, 0, sizeof(img));
    mb_header(img + 64, 0);
    img[72] ^= 1;                                  /* bad checksum */
    cr_assert(!multiboot_find_header(img, sizeof(img), &h));
    memset(img, 0, sizeof(img));
    mb_header(img, 0x10000);                       /* a.out kludge fields cut off */
    cr_assert(!multiboot_find_header(img, 20, &h));
    cr_assert(multiboot_find_header(img, 32, &h));
}

Test(multiboot, elf32_load_info_and_mmap)
{
    struct env e;
    setup(&e, 64ull << 20);
    static uint8_t f[0x4000];
    size_t len = make_elf32(f, 0x100000, 0x800, 0x3000, 0x10000c);
    struct multiboot_load ld;
    char err[200] = "";
    cr_assert_eq(multiboot_load(&e.mem, f, len, "/k/kernel.elf", "a=1 b", NULL, e.e820, e.n, &ld,
                                err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ld.entry, 0x10000c);
    uint8_t got[0x3000];
    cr_assert_eq(gpa_read(&e.mem, 0x100000, got, sizeof(got)), 0);
    cr_assert_eq(memcmp(got, f + 0x1000, 0x800), 0, "file bytes at p_paddr");
    for (int i = 0x800; i < 0x3000; i++)
        cr_assert_eq(got[i], 0, "bss zeroed");

    uint64_t mbi = ld.info_gpa;
    uint32_t flags = r32(&e.mem, mbi);
    cr_assert_eq(flags & 0x24d, 0x24d, "mem, cmdline, mods, mmap, loader name (3.3)");
    char s[64];
    cr_assert_eq(gpa_read(&e.mem, r32(&e.mem, mbi + 16), s, 20), 0);
    cr_assert_str_eq(s, "/k/kernel.elf a=1 b");
    cr_assert_eq(gpa_read(&e.mem, r32(&e.mem, mbi + 64), s, 6), 0);
    cr_assert_str_eq(s, "qtemu");
    cr_assert_eq(r32(&e.mem, mbi + 20), 0, "no modules");
    /* mmap: one 24-byte record per e820 entry given, size field 20. */
    uint32_t mlen = r32(&e.mem, mbi + 44), maddr = r32(&e.mem, mbi + 48);
    cr_assert_eq(mlen, (uint32_t)e.n * 24);
    uint64_t lower = 0, upper = 0;
    for (int i = 0; i < e.n; i++) {
        uint8_t rec[24];
        cr_assert_eq(gpa_read(&e.mem, maddr + 24 * i, rec, 24), 0);
        uint64_t base, length;
        memcpy(&base, rec + 4, 8);
        memcpy(&length, rec + 12, 8);
        cr_assert_eq(r32(&e.mem, maddr + 24 * i), 20);
        cr_assert_eq(base, e.e820[i].addr);
        cr_assert_eq(length, e.e820[i].size);
        cr_assert_eq(rec[20], e.e820[i].type);
        if (e.e820[i].type == 1 && base == 0)
            lower = length;
        if (e.e820[i].type == 1 && base == 0x100000)
            upper = length;
    }
    cr_assert_eq(r32(&e.mem, mbi + 4), lower >> 10, "mem_lower: KiB from 0");
    cr_assert_eq(r32(&e.mem, mbi + 8), upper >> 10, "mem_upper: KiB from 1 MiB");
    cr_assert_eq(upper, e.ram - 0x100000);
    guest_mem_destroy(&e.mem);
}

Test(multiboot, modules_commas_alignment_and_errors)
{
    struct env e;
    setup(&e, 32ull << 20);
    char dir[] = "/tmp/qtemu-mbXXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char a[256], b[256], spec[700];
    snprintf(a, sizeof(a), "%s/a.bin", dir);
    snprintf(b, sizeof(b), "%s/b,c.bin", dir);
    FILE *fa = fopen(a, "wb"), *fb = fopen(b, "wb");
    for (int i = 0; i < 5000; i++)
        fputc(i * 7, fa);
    fputs("second", fb);
    fclose(fa);
    fclose(fb);
    snprintf(spec, sizeof(spec), "%s x y,%s/b,,c.bin", a, dir);
    static uint8_t f[0x4000];
    size_t len = make_elf32(f, 0x200000, 0x100, 0x1234, 0x200000);
    struct multiboot_load ld;
    char err[300] = "";
    cr_assert_eq(multiboot_load(&e.mem, f, len, "k", "", spec, e.e820, e.n, &ld, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(ld.nmods, 2);
    uint64_t mbi = ld.info_gpa, mods = r32(&e.mem, mbi + 24);
    cr_assert_eq(r32(&e.mem, mbi + 20), 2);
    char s[300];
    cr_assert_eq(gpa_read(&e.mem, r32(&e.mem, mbi + 16), s, 3), 0);
    cr_assert_str_eq(s, "k ", "QEMU's \"%%s %%s\" with an empty -append");
    uint32_t s0 = r32(&e.mem, mods), e0 = r32(&e.mem, mods + 4);
    uint32_t s1 = r32(&e.mem, mods + 16), e1 = r32(&e.mem, mods + 20);
    cr_assert_eq(s0 & 0xfff, 0);
    cr_assert_geq(s0, 0x200000 + 0x1234, "after the kernel's bss");
    cr_assert_eq(e0 - s0, 5000);
    cr_assert_eq(s1 & 0xfff, 0);
    cr_assert_geq(s1, e0);
    cr_assert_eq(e1 - s1, 6);
    cr_assert_eq(gpa_read(&e.mem, s1, s, 6), 0);
    cr_assert_eq(memcmp(s, "second", 6), 0);
    cr_assert_eq(gpa_read(&e.mem, r32(&e.mem, mods + 8), s, strlen(a) + 5), 0);
    cr_assert_eq(strncmp(s, a, strlen(a)), 0);
    cr_assert_str_eq(s + strlen(a), " x y", "module string: the whole entry");
    cr_assert_eq(gpa_read(&e.mem, r32(&e.mem, mods + 24), s, strlen(b) + 1), 0);
    cr_assert_str_eq(s, b, "\",,\" is a literal comma");

    snprintf(spec, sizeof(spec), "%s/missing.bin", dir);
    cr_assert_eq(multiboot_load(&e.mem, f, len, "k", "", spec, e.e820, e.n, &ld, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "missing.bin"));
    unlink(a);
    unlink(b);
    rmdir(dir);
    guest_mem_destroy(&e.mem);
}

Test(multiboot, refuses_bad_images)
{
    struct env e;
    setup(&e, 16ull << 20);
    static uint8_t f[0x4000];
    struct multiboot_load ld;
    char err[200];
    size_t len = make_elf32(f, 0x80000, 0x100, 0x100, 0x80000);
    cr_assert_eq(multiboot_load(&e.mem, f, len, "k", "", NULL, e.e820, e.n, &ld, err, sizeof(err)), -1,
                 "segment below 1 MiB");
    len = make_elf32(f, 0x100000, 0x100, 0x2000000, 0x100000);
    cr_assert_eq(multiboot_load(&e.mem, f, len, "k", "", NULL, e.e820, e.n, &ld, err, sizeof(err)), -1,
                 "segment beyond RAM");
    len = make_elf32(f, 0x100000, 0x100, 0x100, 0x100000);
    w32(f + 52 + 4, 0x3f00);                       /* p_offset + p_filesz beyond the file */
    cr_assert_eq(multiboot_load(&e.mem, f, len, "k", "", NULL, e.e820, e.n, &ld, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "outside the file"));
    len = make_elf32(f, 0x100000, 0x100, 0x100, 0x100000);
    w16(f + 18, 40);                               /* EM_ARM */
    cr_assert_eq(multiboot_load(&e.mem, f, len, "k", "", NULL, e.e820, e.n, &ld, err, sizeof(err)), -1);
    guest_mem_destroy(&e.mem);
}

Test(multiboot, aout_kludge_layout)
{
    struct env e;
    setup(&e, 16ull << 20);
    /* Flat image loaded at 0x100000, header at file offset 0x40 = 0x100040. */
    static uint8_t f[0x800];
    for (size_t i = 0; i < sizeof(f); i++)
        f[i] = (uint8_t)(i ^ 0x5a);
    uint8_t *h = f + 0x40;
    mb_header(h, 0x10000);
    w32(h + 12, 0x100040);     /* header_addr */
    w32(h + 16, 0x100000);     /* load_addr */
    w32(h + 20, 0x100600);     /* load_end_addr: 0x600 bytes */
    w32(h + 24, 0x101000);     /* bss_end_addr */
    w32(h + 28, 0x100100);     /* entry_addr */
    struct multiboot_load ld;
    char err[200] = "";
    cr_assert_eq(multiboot_load(&e.mem, f, sizeof(f), "k", "", NULL, e.e820, e.n, &ld, err,
                                sizeof(err)), 0, "%s", err);
    cr_assert_eq(ld.entry, 0x100100);
    uint8_t got[0x1000];
    cr_assert_eq(gpa_read(&e.mem, 0x100000, got, sizeof(got)), 0);
    cr_assert_eq(memcmp(got, f, 0x600), 0);
    for (int i = 0x600; i < 0x1000; i++)
        cr_assert_eq(got[i], 0);
    w32(h + 12, 0x0FF000);     /* header_addr below load_addr: refused */
    w32(h + 8, (uint32_t)-(0x1BADB002u + 0x10000));
    cr_assert_eq(multiboot_load(&e.mem, f, sizeof(f), "k", "", NULL, e.e820, e.n, &ld, err,
                                sizeof(err)), -1);
    guest_mem_destroy(&e.mem);
}

Test(multiboot, loader_choice)
{
    static uint8_t f[0x4000];
    size_t len = make_elf32(f, 0x100000, 0x100, 0x100, 0x100000);
    cr_assert(pc_kernel_is_multiboot(f, len), "an ELF with a header: multiboot (QEMU tries it before PVH)");
    uint8_t bz[0x1200];
    memset(bz, 0, sizeof(bz));
    memcpy(bz + 0x202, "HdrS", 4);
    mb_header(bz + 0x1000, 0);
    cr_assert(!pc_kernel_is_multiboot(bz, sizeof(bz)), "a bzImage stays a bzImage");
    uint8_t bs[512] = {0};
    bs[510] = 0x55;
    bs[511] = 0xAA;
    cr_assert(x86_is_boot_sector(bs, 512));
    cr_assert(!x86_is_boot_sector(bs, 511));
    uint8_t bs2[1024] = {0};
    bs2[510] = 0x55;
    bs2[511] = 0xAA;
    cr_assert(!x86_is_boot_sector(bs2, 1024), "only exactly one sector");
}

Test(multiboot, minibios_bytes_match_source)
{
    if (system("command -v gcc >/dev/null && command -v objcopy >/dev/null") != 0)
        cr_skip_test("gcc/objcopy not installed");
    char dir[] = "/tmp/qtemu-biosXXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[512], bin[300];
    snprintf(bin, sizeof(bin), "%s/bios.bin", dir);
    snprintf(cmd, sizeof(cmd), "gcc -m32 -c boot/minibios.S -o %s/bios.o && "
             "objcopy -O binary -j .text %s/bios.o %s", dir, dir, bin);
    cr_assert_eq(system(cmd), 0, "assembling boot/minibios.S (run from the repository root)");
    FILE *f = fopen(bin, "rb");
    cr_assert_not_null(f);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    size_t len;
    const uint8_t *img = x86_minibios_image(&len);
    cr_assert_eq(n, len);
    cr_assert_eq(memcmp(buf, img, len), 0, "realmode.c's bytes are boot/minibios.S");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
