/*
 * boot/bzimage.c - the Linux/x86 boot protocol loader (bzImage, 64-bit entry).
 *
 * Follows Documentation/arch/x86/boot.rst ("THE LINUX/x86 BOOT PROTOCOL",
 * "DETAILS OF HEADER FIELDS", "LOADING THE REST OF THE KERNEL", "64-bit BOOT
 * PROTOCOL"), Documentation/arch/x86/zero-page.rst and
 * arch/x86/include/uapi/asm/bootparam.h for the zero-page layout.
 *
 * Decided:
 *  - Only the 64-bit entry is used (no real-mode setup code runs): we require
 *    protocol >= 2.12 and XLF_KERNEL_64 in xloadflags. The entry point is the
 *    load address + 0x200 (startup_64 of the decompressor).
 *  - The protected-mode kernel is copied to pref_address (protocol 2.10+) when
 *    it is non-zero and kernel_alignment-aligned, else to 0x100000. A
 *    relocatable kernel loaded lower would decompress to LOAD_PHYSICAL_ADDR
 *    (= pref_address) anyway, so this costs no RAM. [load, load + init_size)
 *    must lie in one e820 RAM entry.
 *  - Since the real-mode setup never runs, CAN_USE_HEAP stays clear and
 *    heap_end_ptr 0; vid_mode and screen_info stay as the image / zero (no VGA).
 *  - Everything else (GDT, page tables, cmdline, zero page) sits at the fixed
 *    low addresses of boot/x86_boot.h; the initrd goes at the top of low RAM.
 *  - All file offsets and sizes are bounds-checked against the file: a kernel
 *    image is as untrusted as the guest it becomes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/machine.h"
#include "boot/x86_boot.h"
#include "util/compiler.h"

/* Setup header offsets in the image and in boot_params (boot.rst "THE REAL-MODE KERNEL HEADER"). */
#define HDR_SETUP_SECTS      0x1F1
#define HDR_SYSSIZE          0x1F4
#define HDR_BOOT_FLAG        0x1FE   /* 0xAA55 */
#define HDR_JUMP             0x200   /* 2-byte jump; byte 0x201 gives the header end */
#define HDR_MAGIC            0x202   /* "HdrS" */
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21C
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22C
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE      0x234
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_MIN_LEN          0x264   /* through init_size (protocol 2.10+) */

/* boot_params fields outside the setup header (zero-page.rst). */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE  0x0C4
#define BP_EXT_CMD_LINE_PTR  0x0C8
#define BP_E820_ENTRIES      0x1E8
#define BP_E820_TABLE        0x2D0
#define BP_E820_MAX          128     /* E820_MAX_ENTRIES_ZEROPAGE */
#define BP_SIZE              4096

#define LOADED_HIGH          (1u << 0)
#define CAN_USE_HEAP         (1u << 7)
#define XLF_KERNEL_64        (1u << 0)

#define MIN_PROTOCOL         0x020C  /* 2.12: xloadflags */
#define KERNEL_LOW_ADDR      0x100000ull

static void set_err(char *err, size_t err_len, const char *fmt, ...) qt_printf(3, 4);
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/** MiB needed to hold [0, end), rounded up. */
static uint64_t mib_up(uint64_t end)
{
    return (end + (1ull << 20) - 1) >> 20;
}

int x86_boot_write_gdt(struct guest_mem *mem)
{
    /* SDM Vol. 3A 3.4.5: base 0, limit 0xFFFFF with G=1, P=1, DPL 0, S=1. */
    static const uint64_t gdt[4] = {
        0,
        0x00CF9B000000FFFFull,  /* 0x08: code, execute/read, D=1 (32-bit) */
        0x00AF9B000000FFFFull,  /* 0x10: code, execute/read, L=1 (64-bit) */
        0x00CF93000000FFFFull,  /* 0x18: data, read/write, B=1 */
    };
    uint8_t buf[sizeof(gdt)];
    for (size_t i = 0; i < ARRAY_SIZE(gdt); i++)
        boot_wr64(buf + 8 * i, gdt[i]);
    return gpa_write(mem, X86_BOOT_GDT_GPA, buf, sizeof(buf)) ? -1 : 0;
}

/**
 * Identity-map [0, 4 GiB) with 2 MiB pages (SDM Vol. 3A 4.5, Table 4-17):
 * PML4[0] -> PDPT, PDPT[0..3] -> four PDs, PD entries P|RW|PS. Returns 0 or -1.
 */
static int write_identity_page_tables(struct guest_mem *mem)
{
    uint8_t page[4096];
    memset(page, 0, sizeof(page));
    boot_wr64(page, X86_BOOT_PDPT_GPA | 0x3);
    if (gpa_write(mem, X86_BOOT_PML4_GPA, page, sizeof(page)))
        return -1;
    memset(page, 0, sizeof(page));
    for (int i = 0; i < 4; i++)
        boot_wr64(page + 8 * i, (X86_BOOT_PD_GPA + 4096ull * i) | 0x3);
    if (gpa_write(mem, X86_BOOT_PDPT_GPA, page, sizeof(page)))
        return -1;
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 512; j++) {
            uint64_t pa = ((uint64_t)i << 30) | ((uint64_t)j << 21);
            boot_wr64(page + 8 * j, pa | 0x83);   /* P | RW | PS */
        }
        if (gpa_write(mem, X86_BOOT_PD_GPA + 4096ull * i, page, sizeof(page)))
            return -1;
    }
    return 0;
}

int x86_boot_write_cmdline(struct guest_mem *mem, const char *cmdline, uint64_t max_bytes,
                           char *err, size_t err_len)
{
    if (!cmdline)
        cmdline = "";
    if (max_bytes > X86_BOOT_CMDLINE_MAX)
        max_bytes = X86_BOOT_CMDLINE_MAX;
    size_t len = strlen(cmdline) + 1;
    if (len > max_bytes) {
        set_err(err, err_len, "kernel command line too long (%zu bytes, the kernel accepts %llu)",
                len - 1, (unsigned long long)(max_bytes - 1));
        return -1;
    }
    if (gpa_write(mem, X86_BOOT_CMDLINE_GPA, cmdline, len)) {
        set_err(err, err_len, "RAM too small for the kernel command line");
        return -1;
    }
    return 0;
}

uint64_t x86_e820_ram_end(const struct e820_entry *e820, int e820_count, uint64_t start)
{
    for (int i = 0; i < e820_count; i++) {
        if (e820[i].type == E820_RAM && start - e820[i].addr < e820[i].size)
            return e820[i].addr + e820[i].size;
    }
    return 0;
}

uint64_t x86_boot_place_initrd(struct guest_mem *mem, const uint8_t *initrd, size_t initrd_len,
                               uint64_t kernel_end, uint64_t addr_max,
                               const struct e820_entry *e820, int e820_count,
                               char *err, size_t err_len)
{
    if (!initrd || !initrd_len)
        return 0;
    uint64_t top = x86_e820_ram_end(e820, e820_count, kernel_end ? kernel_end - 1 : 0);
    if (addr_max != UINT64_MAX && top > addr_max + 1)
        top = addr_max + 1;
    top &= GUEST_PAGE_MASK;
    if (top < kernel_end || top - kernel_end < initrd_len) {
        uint64_t room = top > kernel_end ? top - kernel_end : 0;
        set_err(err, err_len,
                "initrd too large for RAM (%zu bytes, %llu bytes free above the kernel below %#llx)",
                initrd_len, (unsigned long long)room, (unsigned long long)top);
        return UINT64_MAX;
    }
    uint64_t gpa = (top - initrd_len) & GUEST_PAGE_MASK;
    if (gpa_write(mem, gpa, initrd, initrd_len)) {
        set_err(err, err_len, "initrd too large for RAM (no RAM at %#llx)", (unsigned long long)gpa);
        return UINT64_MAX;
    }
    return gpa;
}

/** Copy the e820 map into the zero page (at most 128 entries, zero-page.rst 0x2D0). */
static void put_e820(uint8_t *bp, const struct e820_entry *e820, int e820_count)
{
    int n = e820_count < 0 ? 0 : MIN(e820_count, BP_E820_MAX);
    for (int i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + 20 * i;
        boot_wr64(e, e820[i].addr);
        boot_wr64(e + 8, e820[i].size);
        boot_wr32(e + 16, e820[i].type);
    }
    bp[BP_E820_ENTRIES] = (uint8_t)n;
}

/** Validate a bzImage and load it (boot.rst); see x86_load_kernel. */
static int load_bzimage(struct guest_mem *mem, const uint8_t *k, size_t klen,
                        const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                        const struct e820_entry *e820, int e820_count, uint64_t rsdp_gpa,
                        struct boot_info *out, char *err, size_t err_len)
{
    /* "THE REAL-MODE KERNEL HEADER": boot_flag, "HdrS", version. */
    if (boot_rd16(k + HDR_BOOT_FLAG) != 0xAA55 || memcmp(k + HDR_MAGIC, "HdrS", 4) != 0) {
        set_err(err, err_len, "not a bzImage or ELF (no boot-protocol header)");
        return -1;
    }
    uint16_t version = boot_rd16(k + HDR_VERSION);
    if (version < MIN_PROTOCOL) {
        set_err(err, err_len, "kernel boot protocol %u.%02u too old (need 2.12 or later)",
                version >> 8, version & 0xFF);
        return -1;
    }
    if (klen < HDR_MIN_LEN) {
        set_err(err, err_len, "truncated bzImage (%zu bytes, setup header incomplete)", klen);
        return -1;
    }
    if (!(boot_rd16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
        set_err(err, err_len, "bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)");
        return -1;
    }
    /* The setup header ends at 0x202 + byte at 0x201 (boot.rst "64-bit BOOT PROTOCOL"). */
    size_t hdr_end = 0x202 + k[HDR_JUMP + 1];
    unsigned setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
    size_t setup_size = (size_t)(setup_sects + 1) * 512;
    uint64_t syssize = (uint64_t)boot_rd32(k + HDR_SYSSIZE) * 16;
    if (hdr_end > klen || setup_size > klen || syssize == 0 || klen - setup_size < syssize) {
        set_err(err, err_len, "truncated bzImage (%zu bytes, header says %llu)", klen,
                (unsigned long long)(setup_size + syssize));
        return -1;
    }
    if (hdr_end > BP_SIZE)
        hdr_end = BP_SIZE;
    size_t payload = klen - setup_size;

    /* Load address: pref_address if usable, else 1 MiB ("LOADING THE REST OF THE KERNEL"). */
    uint32_t align = boot_rd32(k + HDR_KERNEL_ALIGNMENT);
    uint64_t pref = boot_rd64(k + HDR_PREF_ADDRESS);
    uint64_t load = KERNEL_LOW_ADDR;
    if (pref >= KERNEL_LOW_ADDR && pref < (1ull << 32) &&
        (align == 0 || (align & (align - 1)) || (pref & (align - 1)) == 0))
        load = pref;
    uint64_t init_size = boot_rd32(k + HDR_INIT_SIZE);
    uint64_t need = MAX(init_size, (uint64_t)payload);
    uint64_t kernel_end = load + need;
    uint64_t ram_end = x86_e820_ram_end(e820, e820_count, load);
    if (ram_end < kernel_end || !gpa_map(mem, load, need)) {
        set_err(err, err_len, "RAM too small for this kernel (needs %llu MiB)",
                (unsigned long long)mib_up(kernel_end));
        return -1;
    }

    /* The zero page: all zero, then the setup header copied at the same offset. */
    uint8_t bp[BP_SIZE];
    memset(bp, 0, sizeof(bp));
    memcpy(bp + HDR_SETUP_SECTS, k + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);

    /* Fields the boot loader writes ("DETAILS OF HEADER FIELDS"). */
    bp[HDR_TYPE_OF_LOADER] = 0xFF;                  /* undefined loader */
    bp[HDR_LOADFLAGS] = (uint8_t)((bp[HDR_LOADFLAGS] | LOADED_HIGH) & ~CAN_USE_HEAP);
    boot_wr16(bp + HDR_HEAP_END_PTR, 0);
    boot_wr32(bp + HDR_CODE32_START, (uint32_t)load);

    uint32_t cmdline_size = boot_rd32(k + HDR_CMDLINE_SIZE);   /* 2.06+; excludes the NUL */
    if (x86_boot_write_cmdline(mem, cmdline, (uint64_t)cmdline_size + 1, err, err_len))
        return -1;
    boot_wr32(bp + HDR_CMD_LINE_PTR, (uint32_t)X86_BOOT_CMDLINE_GPA);
    boot_wr32(bp + BP_EXT_CMD_LINE_PTR, (uint32_t)(X86_BOOT_CMDLINE_GPA >> 32));

    uint64_t initrd_gpa = x86_boot_place_initrd(mem, initrd, initrd_len, kernel_end,
                                                boot_rd32(k + HDR_INITRD_ADDR_MAX),
                                                e820, e820_count, err, err_len);
    if (initrd_gpa == UINT64_MAX)
        return -1;
    boot_wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
    boot_wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
    boot_wr32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_gpa >> 32));
    boot_wr32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd_len >> 32));

    boot_wr64(bp + BP_ACPI_RSDP_ADDR, rsdp_gpa);    /* protocol 2.14+; harmless before */
    put_e820(bp, e820, e820_count);

    if (gpa_write(mem, load, k + setup_size, payload) ||
        gpa_write(mem, X86_BOOT_PARAMS_GPA, bp, sizeof(bp)) ||
        x86_boot_write_gdt(mem) || write_identity_page_tables(mem)) {
        set_err(err, err_len, "RAM too small for the boot structures below 1 MiB");
        return -1;
    }

    *out = (struct boot_info){
        .long_mode_entry = true,
        .entry_gpa = load + 0x200,
        .boot_params_gpa = X86_BOOT_PARAMS_GPA,
        .cr3 = X86_BOOT_PML4_GPA,
        .gdt_gpa = X86_BOOT_GDT_GPA,
        .gdt_limit = X86_BOOT_GDT_LIMIT,
        .code_sel = X86_BOOT_CS64,
        .data_sel = X86_BOOT_DS,
        .kernel_gpa = load,
        .kernel_end = kernel_end,
        .cmdline_gpa = X86_BOOT_CMDLINE_GPA,
        .initrd_gpa = initrd_gpa,
        .initrd_size = initrd_len,
    };
    return 0;
}

int x86_load_kernel(struct guest_mem *mem, const uint8_t *kernel, size_t kernel_len,
                    const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                    const struct e820_entry *e820, int e820_count, uint64_t rsdp_gpa,
                    struct boot_info *out, char *err, size_t err_len)
{
    if (!kernel || kernel_len == 0) {
        set_err(err, err_len, "kernel image is empty");
        return -1;
    }
    if (kernel_len >= 4 && memcmp(kernel, "\x7f" "ELF", 4) == 0)
        return x86_load_pvh(mem, kernel, kernel_len, initrd, initrd_len, cmdline, e820,
                            e820_count, rsdp_gpa, out, err, err_len);
    if (kernel_len < HDR_MAGIC + 4 + 2) {
        set_err(err, err_len, "not a bzImage or ELF (%zu bytes)", kernel_len);
        return -1;
    }
    return load_bzimage(mem, kernel, kernel_len, initrd, initrd_len, cmdline, e820, e820_count,
                        rsdp_gpa, out, err, err_len);
}
