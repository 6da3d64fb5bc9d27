/*
 * tests/unit/test_bzimage.c - the x86 kernel loaders (boot/bzimage.c, boot/pvh.c).
 *
 * Oracles: the kernel file's own setup header (read here independently with
 * the offsets of Documentation/arch/x86/boot.rst), boot.rst's rules for what
 * a loader writes, the SDM's descriptor/paging formats (checked through the
 * mmu's own x86_walk, written by another helper), and Xen's start_info.h
 * constants for PVH. The real-kernel tests use Debian's cloud kernel and are
 * skipped when it is not on this host.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/machine.h"
#include "boot/x86_boot.h"
#include "mmu/mmu.h"

static const char *const kernel_paths[] = {
    "/tmp/kfetch/x/boot/vmlinuz-6.1.0-56-cloud-amd64",
    ".cache/guest/vmlinuz-cloud",
};

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/** The real Debian kernel, or skip the test. */
static uint8_t *real_kernel(size_t *len)
{
    for (size_t i = 0; i < sizeof(kernel_paths) / sizeof(kernel_paths[0]); i++) {
        uint8_t *k = slurp(kernel_paths[i], len);
        if (k)
            return k;
    }
    cr_skip_test("no Debian kernel at %s or %s", kernel_paths[0], kernel_paths[1]);
    return NULL;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

struct env {
    struct guest_mem mem;
    struct e820_entry e820[PC_E820_MAX];
    int ne820;
};

static void env_init(struct env *e, uint64_t ram)
{
    cr_assert_eq(guest_mem_init_pc(&e->mem, ram, PC_LOW_RAM_LIMIT, NULL), 0);
    e->ne820 = pc_build_e820(ram, e->e820, PC_E820_MAX);
    cr_assert_gt(e->ne820, 0);
}

static uint8_t *pseudo_random(size_t n, uint32_t seed)
{
    uint8_t *b = malloc(n);
    cr_assert_not_null(b);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

static int load(struct env *e, const uint8_t *k, size_t klen, const uint8_t *initrd, size_t ilen,
                const char *cmdline, struct boot_info *bi, char *err, size_t err_len)
{
    err[0] = 0;
    return x86_load_kernel(&e->mem, k, klen, initrd, ilen, cmdline, e->e820, e->ne820, 0xE0000,
                           bi, err, err_len);
}

Test(bzimage, real_kernel_boot_params)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    struct env e;
    env_init(&e, 256ull << 20);
    size_t ilen = (1 << 20) + 123;
    uint8_t *initrd = pseudo_random(ilen, 7);
    const char *cmdline = "console=ttyS0 rdinit=/init quiet";
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, k, klen, initrd, ilen, cmdline, &bi, err, sizeof(err)), 0, "%s", err);

    /* The file's own header (boot.rst offsets). */
    unsigned setup_sects = k[0x1F1] ? k[0x1F1] : 4;
    size_t setup_size = (setup_sects + 1) * 512;
    uint16_t version = rd16(k + 0x206);
    cr_assert_geq(version, 0x20C);
    cr_assert(rd16(k + 0x236) & 1, "Debian's kernel has XLF_KERNEL_64");
    uint64_t pref = rd64(k + 0x258);
    uint32_t align = rd32(k + 0x230);
    uint32_t init_size = rd32(k + 0x260);

    uint8_t *bp = gpa_map(&e.mem, bi.boot_params_gpa, 4096);
    cr_assert_not_null(bp);

    /* Setup header copied verbatim except the fields a loader writes. */
    size_t hdr_end = 0x202 + k[0x201];
    static const struct { unsigned off, len; } written[] = {
        { 0x210, 1 }, { 0x211, 1 }, { 0x214, 4 }, { 0x218, 4 }, { 0x21C, 4 },
        { 0x224, 2 }, { 0x228, 4 },
    };
    for (size_t off = 0x1F1; off < hdr_end; off++) {
        bool w = false;
        for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++)
            if (off >= written[i].off && off < written[i].off + written[i].len)
                w = true;
        if (!w)
            cr_assert_eq(bp[off], k[off], "setup header byte %#zx differs", off);
    }
    /* Nothing beyond the header was copied: the rest of the page is ours (zero unless set). */
    cr_assert_eq(bp[hdr_end + 1], 0);
    cr_assert_eq(bp[0x210], 0xFF, "type_of_loader");
    cr_assert(bp[0x211] & 0x01, "LOADED_HIGH");

    /* Kernel at pref_address (aligned), entry at +0x200 (64-bit entry). */
    cr_assert_eq(bi.kernel_gpa, pref);
    cr_assert_eq(bi.kernel_gpa % align, 0);
    cr_assert_eq(bi.entry_gpa, pref + 0x200);
    cr_assert(bi.long_mode_entry);
    cr_assert_eq(rd32(bp + 0x214), (uint32_t)pref, "code32_start");
    uint8_t *kern = gpa_map(&e.mem, bi.kernel_gpa, klen - setup_size);
    cr_assert_not_null(kern);
    cr_assert_eq(memcmp(kern, k + setup_size, klen - setup_size), 0, "kernel bytes");

    /* Command line. */
    uint32_t cmd = rd32(bp + 0x228);
    char *c = (char *)gpa_map(&e.mem, cmd, strlen(cmdline) + 1);
    cr_assert_not_null(c);
    cr_assert_str_eq(c, cmdline);
    cr_assert_leq(strlen(cmdline), rd32(k + 0x238), "within cmdline_size");

    /* Initrd: bytes, size, page-aligned, below initrd_addr_max, above the kernel's init_size. */
    uint32_t rd_image = rd32(bp + 0x218), rd_size = rd32(bp + 0x21C);
    cr_assert_eq(rd_size, ilen);
    cr_assert_eq(rd_image % 4096, 0);
    cr_assert_leq((uint64_t)rd_image + rd_size - 1, rd32(k + 0x22C));
    cr_assert_geq(rd_image, pref + init_size);
    cr_assert_leq((uint64_t)rd_image + rd_size, 256ull << 20);
    uint8_t *ird = gpa_map(&e.mem, rd_image, ilen);
    cr_assert_not_null(ird);
    cr_assert_eq(memcmp(ird, initrd, ilen), 0, "initrd bytes");

    /* e820 in the zero page (zero-page.rst: 0x1E8 count, 0x2D0 20-byte entries). */
    cr_assert_eq(bp[0x1E8], e.ne820);
    for (int i = 0; i < e.ne820; i++) {
        cr_assert_eq(rd64(bp + 0x2D0 + 20 * i), e.e820[i].addr);
        cr_assert_eq(rd64(bp + 0x2D0 + 20 * i + 8), e.e820[i].size);
        cr_assert_eq(rd32(bp + 0x2D0 + 20 * i + 16), e.e820[i].type);
    }
    cr_assert_eq(rd64(bp + 0x070), 0xE0000, "acpi_rsdp_addr");

    /* GDT (SDM Vol. 3A 3.4.5): __BOOT_CS 0x10 = present 64-bit code, __BOOT_DS 0x18 = writable data. */
    uint8_t *gdt = gpa_map(&e.mem, bi.gdt_gpa, bi.gdt_limit + 1u);
    cr_assert_not_null(gdt);
    uint64_t cs = rd64(gdt + 0x10), ds = rd64(gdt + 0x18);
    cr_assert((cs >> 47) & 1, "CS.P");
    cr_assert_eq((cs >> 43) & 1, 1, "CS is code");
    cr_assert_eq((cs >> 53) & 1, 1, "CS.L");
    cr_assert_eq((cs >> 54) & 1, 0, "CS.D must be 0 with L=1");
    cr_assert((ds >> 47) & 1, "DS.P");
    cr_assert_eq((ds >> 43) & 1, 0, "DS is data");
    cr_assert_eq((ds >> 41) & 1, 1, "DS writable");
    cr_assert_eq(bi.gdt_limit + 1u, 0x20);

    /* Page tables identity-map the first 4 GiB (walked by the mmu's walker). */
    struct x86_paging_ctx ctx = {
        .cr0 = 0x80000011, .cr3 = bi.cr3, .cr4 = 1u << 5, .efer = (1u << 8) | (1u << 10),
    };
    const uint64_t probes[] = { 0, 0x7000, pref + 0x200, rd_image, 0xFEC00000, 0xFFFFFFFF };
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        struct x86_walk_result r;
        uint32_t pf = 0;
        cr_assert(x86_walk(&e.mem, &ctx, probes[i], MMU_WRITE, &r, &pf), "walk %#llx pf %#x",
                  (unsigned long long)probes[i], pf);
        cr_assert_eq(r.gpa, probes[i]);
    }

    free(initrd);
    free(k);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, no_initrd_zero_ramdisk_fields)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    struct env e;
    env_init(&e, 128ull << 20);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, k, klen, NULL, 0, "", &bi, err, sizeof(err)), 0, "%s", err);
    uint8_t *bp = gpa_map(&e.mem, bi.boot_params_gpa, 4096);
    cr_assert_eq(rd32(bp + 0x218), 0);
    cr_assert_eq(rd32(bp + 0x21C), 0);
    free(k);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, empty_and_random)
{
    struct env e;
    env_init(&e, 16ull << 20);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, (const uint8_t *)"", 0, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "empty"), "%s", err);
    uint8_t *junk = pseudo_random(65536, 99);
    cr_assert_eq(load(&e, junk, 65536, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "not a bzImage or ELF"), "%s", err);
    cr_assert_eq(load(&e, junk, 17, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "not a bzImage or ELF"), "%s", err);
    free(junk);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, truncated)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    struct env e;
    env_init(&e, 256ull << 20);
    unsigned setup_sects = k[0x1F1] ? k[0x1F1] : 4;
    size_t setup_size = (setup_sects + 1) * 512;
    size_t full = setup_size + (size_t)rd32(k + 0x1F4) * 16;   /* syssize in paragraphs */
    const size_t cuts[] = { 0x100, 0x201, 0x208, 0x240, setup_size - 1, setup_size,
                            setup_size + 4096, full / 2, full - 1 };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        struct boot_info bi;
        char err[256];
        cr_assert_eq(load(&e, k, cuts[i], NULL, 0, "", &bi, err, sizeof(err)), -1,
                     "cut at %zu accepted", cuts[i]);
        cr_assert_neq(err[0], 0);
        if (cuts[i] >= 0x208)
            cr_assert(strstr(err, "truncated"), "cut %zu: %s", cuts[i], err);
    }
    free(k);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, protocol_too_old_and_no_64bit_entry)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    struct env e;
    env_init(&e, 256ull << 20);
    struct boot_info bi;
    char err[256];
    uint8_t v0 = k[0x206], v1 = k[0x207];
    k[0x206] = 0x05;   /* 2.05 */
    k[0x207] = 0x02;
    cr_assert_eq(load(&e, k, klen, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "too old"), "%s", err);
    k[0x206] = v0;
    k[0x207] = v1;
    k[0x236] &= (uint8_t)~1;   /* clear XLF_KERNEL_64 */
    cr_assert_eq(load(&e, k, klen, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "64-bit"), "%s", err);
    free(k);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, ram_too_small)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    uint64_t need = rd64(k + 0x258) + rd32(k + 0x260);   /* pref_address + init_size */
    uint64_t need_mib = (need + (1 << 20) - 1) >> 20;
    struct env e;
    env_init(&e, (need_mib - 2) << 20);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, k, klen, NULL, 0, "", &bi, err, sizeof(err)), -1);
    char want[64];
    snprintf(want, sizeof(want), "needs %llu MiB", (unsigned long long)need_mib);
    cr_assert(strstr(err, "RAM too small"), "%s", err);
    cr_assert(strstr(err, want), "%s (want %s)", err, want);
    guest_mem_destroy(&e.mem);

    env_init(&e, need_mib << 20);
    cr_assert_eq(load(&e, k, klen, NULL, 0, "", &bi, err, sizeof(err)), 0, "%s", err);
    guest_mem_destroy(&e.mem);
    free(k);
}

Test(bzimage, initrd_too_large)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    uint64_t need = rd64(k + 0x258) + rd32(k + 0x260);
    struct env e;
    uint64_t ram = 128ull << 20;
    env_init(&e, ram);
    size_t ilen = (size_t)(ram - need) + 4096;
    uint8_t *initrd = calloc(1, ilen);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, k, klen, initrd, ilen, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "initrd too large"), "%s", err);
    /* One that just fits goes right below the top of RAM. */
    ilen = (size_t)((ram - need) & ~4095ull) - 8192;
    cr_assert_eq(load(&e, k, klen, initrd, ilen, "", &bi, err, sizeof(err)), 0, "%s", err);
    cr_assert_geq(bi.initrd_gpa, need);
    cr_assert_leq(bi.initrd_gpa + ilen, ram);
    free(initrd);
    free(k);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, cmdline_too_long)
{
    size_t klen;
    uint8_t *k = real_kernel(&klen);
    struct env e;
    env_init(&e, 128ull << 20);
    size_t n = rd32(k + 0x238) + 1;   /* one more than cmdline_size */
    char *cl = malloc(n + 1);
    memset(cl, 'a', n);
    cl[n] = 0;
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, k, klen, NULL, 0, cl, &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "command line too long"), "%s", err);
    cl[n - 1] = 0;   /* exactly cmdline_size bytes: accepted */
    cr_assert_eq(load(&e, k, klen, NULL, 0, cl, &bi, err, sizeof(err)), 0, "%s", err);
    free(cl);
    free(k);
    guest_mem_destroy(&e.mem);
}

/* ---------------------------------------------------------------- ELF / PVH */

/** Build a minimal ELF64 with one PT_LOAD at @paddr and (optionally) a Xen PVH note. */
static uint8_t *make_elf(size_t *len, uint16_t machine, uint64_t paddr, bool with_note,
                         uint32_t entry)
{
    const size_t phoff = 64, nph = 2, seg_off = 0x200, seg_len = 0x100, note_off = 0x180;
    size_t n = seg_off + seg_len;
    uint8_t *b = calloc(1, n);
    memcpy(b, "\x7f" "ELF", 4);
    b[4] = 2;       /* ELFCLASS64 */
    b[5] = 1;       /* ELFDATA2LSB */
    b[6] = 1;       /* EV_CURRENT */
    b[16] = 2;      /* ET_EXEC */
    b[18] = (uint8_t)machine;
    b[19] = (uint8_t)(machine >> 8);
    b[20] = 1;
    memcpy(b + 32, &(uint64_t){ phoff }, 8);
    b[52] = 64;     /* e_ehsize */
    b[54] = 56;     /* e_phentsize */
    b[56] = (uint8_t)nph;
    uint8_t *ph = b + phoff;
    memcpy(ph, &(uint32_t){ 1 }, 4);                      /* PT_LOAD */
    memcpy(ph + 8, &(uint64_t){ seg_off }, 8);
    memcpy(ph + 16, &(uint64_t){ 0xffffffff80000000ull + paddr }, 8);
    memcpy(ph + 24, &(uint64_t){ paddr }, 8);
    memcpy(ph + 32, &(uint64_t){ seg_len }, 8);
    memcpy(ph + 40, &(uint64_t){ seg_len + 0x1000 }, 8);  /* .bss */
    ph += 56;
    memcpy(ph, &(uint32_t){ 4 }, 4);                      /* PT_NOTE */
    memcpy(ph + 8, &(uint64_t){ note_off }, 8);
    memcpy(ph + 32, &(uint64_t){ 12 + 4 + 8 }, 8);
    uint8_t *note = b + note_off;
    memcpy(note, &(uint32_t){ 4 }, 4);                    /* namesz "Xen\0" */
    memcpy(note + 4, &(uint32_t){ 8 }, 4);                /* descsz: .quad as Linux emits */
    memcpy(note + 8, &(uint32_t){ with_note ? 18u : 17u }, 4);
    memcpy(note + 12, "Xen", 4);
    memcpy(note + 16, &(uint64_t){ entry }, 8);
    for (size_t i = 0; i < seg_len; i++)
        b[seg_off + i] = (uint8_t)(i * 7 + 1);
    *len = n;
    return b;
}

Test(pvh, elf_other_arch)
{
    struct env e;
    env_init(&e, 64ull << 20);
    size_t len;
    uint8_t *elf = make_elf(&len, 183, 0x1000000, true, 0x1000000);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, elf, len, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "ELF for EM_AARCH64, not x86-64");
    free(elf);
    guest_mem_destroy(&e.mem);
}

Test(pvh, elf_without_note)
{
    struct env e;
    env_init(&e, 64ull << 20);
    size_t len;
    uint8_t *elf = make_elf(&len, 62, 0x1000000, false, 0x1000000);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, elf, len, NULL, 0, "", &bi, err, sizeof(err)), -1);
    cr_assert(strstr(err, "PVH"), "%s", err);
    free(elf);
    guest_mem_destroy(&e.mem);
}

Test(pvh, start_info)
{
    struct env e;
    uint64_t ram = 64ull << 20;
    env_init(&e, ram);
    size_t len;
    uint64_t paddr = 0x1000000;
    uint8_t *elf = make_elf(&len, 62, paddr, true, 0x1000040);
    /* Dirty the .bss range first: the loader must zero it. */
    memset(gpa_map(&e.mem, paddr, 0x2000), 0xCC, 0x2000);
    uint8_t *initrd = pseudo_random(5000, 3);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, elf, len, initrd, 5000, "console=ttyS0", &bi, err, sizeof(err)), 0, "%s", err);
    cr_assert_not(bi.long_mode_entry);
    cr_assert_eq(bi.entry_gpa, 0x1000040);
    uint8_t *seg = gpa_map(&e.mem, paddr, 0x1100);
    cr_assert_eq(memcmp(seg, elf + 0x200, 0x100), 0);
    for (int i = 0x100; i < 0x1100; i++)
        cr_assert_eq(seg[i], 0, ".bss byte %#x", i);

    /* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
    uint8_t *si = gpa_map(&e.mem, bi.boot_params_gpa, 56);
    cr_assert_eq(rd32(si), 0x336ec578u, "magic");
    cr_assert_eq(rd32(si + 4), 1, "version");
    cr_assert_eq(rd32(si + 12), 1, "nr_modules");
    cr_assert_eq(rd64(si + 32), 0xE0000, "rsdp_paddr");
    char *c = (char *)gpa_map(&e.mem, rd64(si + 24), 14);
    cr_assert_str_eq(c, "console=ttyS0");
    uint8_t *mod = gpa_map(&e.mem, rd64(si + 16), 32);
    cr_assert_eq(rd64(mod + 8), 5000);
    cr_assert_eq(memcmp(gpa_map(&e.mem, rd64(mod), 5000), initrd, 5000), 0);
    cr_assert_geq(rd64(mod), paddr + 0x1100);
    uint32_t n = rd32(si + 48);
    cr_assert_eq(n, (uint32_t)e.ne820);
    uint8_t *mm = gpa_map(&e.mem, rd64(si + 40), 24ull * n);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(rd64(mm + 24 * i), e.e820[i].addr);
        cr_assert_eq(rd64(mm + 24 * i + 8), e.e820[i].size);
        cr_assert_eq(rd32(mm + 24 * i + 16), e.e820[i].type);
    }
    /* 32-bit flat code at the CS the board will load. */
    uint64_t cs = rd64(gpa_map(&e.mem, bi.gdt_gpa + bi.code_sel, 8));
    cr_assert_eq((cs >> 54) & 1, 1, "CS.D (32-bit)");
    cr_assert_eq((cs >> 53) & 1, 0, "CS.L");
    free(initrd);
    free(elf);
    guest_mem_destroy(&e.mem);
}

Test(pvh, truncated_elf)
{
    struct env e;
    env_init(&e, 64ull << 20);
    size_t len;
    uint8_t *elf = make_elf(&len, 62, 0x1000000, true, 0x1000000);
    struct boot_info bi;
    char err[256];
    const size_t cuts[] = { 5, 40, 63, 64 + 56, 0x190, len - 1 };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        cr_assert_eq(load(&e, elf, cuts[i], NULL, 0, "", &bi, err, sizeof(err)), -1,
                     "cut %zu accepted", cuts[i]);
        cr_assert_neq(err[0], 0);
    }
    free(elf);
    guest_mem_destroy(&e.mem);
}

/* ---------------------------------------------------------------- synthetic bzImage + fuzzing */

/** A minimal bzImage (boot.rst header fields only): 3 setup sectors + 4 KiB payload. */
static uint8_t *make_bzimage(size_t *len)
{
    const size_t setup = 4 * 512, payload = 4096;
    uint8_t *k = calloc(1, setup + payload);
    k[0x1F1] = 3;                                        /* setup_sects */
    memcpy(k + 0x1F4, &(uint32_t){ payload / 16 }, 4);   /* syssize */
    k[0x1FE] = 0x55;
    k[0x1FF] = 0xAA;                                     /* boot_flag */
    k[0x200] = 0xEB;
    k[0x201] = 0x66;                                     /* header ends at 0x268 */
    memcpy(k + 0x202, "HdrS", 4);
    memcpy(k + 0x206, &(uint16_t){ 0x020F }, 2);
    k[0x211] = 0x01;                                     /* LOADED_HIGH */
    memcpy(k + 0x22C, &(uint32_t){ 0x7FFFFFFF }, 4);     /* initrd_addr_max */
    memcpy(k + 0x230, &(uint32_t){ 0x200000 }, 4);       /* kernel_alignment */
    k[0x234] = 1;                                        /* relocatable_kernel */
    memcpy(k + 0x236, &(uint16_t){ 1 }, 2);              /* XLF_KERNEL_64 */
    memcpy(k + 0x238, &(uint32_t){ 255 }, 4);            /* cmdline_size */
    memcpy(k + 0x258, &(uint64_t){ 0x1000000 }, 8);      /* pref_address */
    memcpy(k + 0x260, &(uint32_t){ 0x100000 }, 4);       /* init_size */
    for (size_t i = 0; i < payload; i++)
        k[setup + i] = (uint8_t)(i * 13 + 5);
    *len = setup + payload;
    return k;
}

Test(bzimage, synthetic_image)
{
    struct env e;
    env_init(&e, 64ull << 20);
    size_t len;
    uint8_t *k = make_bzimage(&len);
    struct boot_info bi;
    char err[256];
    cr_assert_eq(load(&e, k, len, NULL, 0, "x", &bi, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(bi.kernel_gpa, 0x1000000);
    cr_assert_eq(bi.kernel_end, 0x1100000, "pref_address + init_size");
    cr_assert_eq(memcmp(gpa_map(&e.mem, 0x1000000, 4096), k + 2048, 4096), 0);
    /* Header bytes past 0x268 (the end given by byte 0x201) are not copied. */
    k[0x268] = 0x77;
    cr_assert_eq(load(&e, k, len, NULL, 0, "x", &bi, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(*gpa_map(&e.mem, bi.boot_params_gpa + 0x268, 1), 0);
    /* setup_sects = 0 means 4 (boot.rst): the payload then starts at 5 * 512. */
    k[0x1F1] = 0;
    memcpy(k + 0x1F4, &(uint32_t){ (4096 - 512) / 16 }, 4);
    cr_assert_eq(load(&e, k, len, NULL, 0, "x", &bi, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(gpa_map(&e.mem, 0x1000000, 4096 - 512), k + 2560, 4096 - 512), 0);
    free(k);
    guest_mem_destroy(&e.mem);
}

Test(bzimage, fuzzed_headers_never_crash)
{
    struct env e;
    env_init(&e, 32ull << 20);
    size_t blen, elen;
    uint8_t *bz = make_bzimage(&blen);
    uint8_t *elf = make_elf(&elen, 62, 0x1000000, true, 0x1000000);
    uint8_t *work = malloc(blen > elen ? blen : elen);
    uint32_t x = 12345;
    for (int iter = 0; iter < 4000; iter++) {
        bool is_elf = iter & 1;
        const uint8_t *src = is_elf ? elf : bz;
        size_t len = is_elf ? elen : blen;
        memcpy(work, src, len);
        int nmut = 1 + iter % 8;
        for (int i = 0; i < nmut; i++) {
            x = x * 1103515245u + 12345u;
            size_t off = is_elf ? (x >> 8) % 0x200 : 0x1F0 + (x >> 8) % 0x80;
            x = x * 1103515245u + 12345u;
            work[off] = (uint8_t)(x >> 16);
        }
        x = x * 1103515245u + 12345u;
        size_t cut = (x >> 4) % 4 == 0 ? (x >> 8) % len : len;
        struct boot_info bi;
        char err[256];
        int rc = load(&e, work, cut, NULL, 0, "console=ttyS0", &bi, err, sizeof(err));
        cr_assert(rc == 0 || rc == -1);
        if (rc)
            cr_assert_neq(err[0], 0, "failure without a message (iter %d)", iter);
        else
            cr_assert_leq(bi.kernel_end, 32ull << 20, "claims RAM that is not there");
    }
    free(work);
    free(elf);
    free(bz);
    guest_mem_destroy(&e.mem);
}
