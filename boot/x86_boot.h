/*
 * boot/x86_boot.h - private to boot/: the fixed low-memory layout the x86
 * loaders use, and small helpers shared by bzimage.c, pvh.c and pc.c.
 *
 * Decided (no BIOS runs, so qtemu is the "boot loader" and picks the layout;
 * everything sits in the first MiB, which Linux reserves wholesale early in
 * boot, or is copied by the kernel before it reuses the memory):
 *
 *   0x01000  GDT: 0x08 flat 32-bit code, 0x10 flat 64-bit code (__BOOT_CS),
 *            0x18 flat data (__BOOT_DS)            (boot.rst "64-bit BOOT PROTOCOL")
 *   0x07000  boot_params, the "zero page" (bzImage) or struct hvm_start_info (PVH)
 *   0x07040  PVH: hvm_modlist_entry for the initrd
 *   0x07100  PVH: hvm_memmap_table_entry[] (up to 128)
 *   0x09000  PML4, 0x0A000 PDPT, 0x0B000..0x0EFFF four PDs: identity map of
 *            the first 4 GiB with 2 MiB pages (64-bit entry only)
 *   0x20000  kernel command line (NUL-terminated, at most 64 KiB)
 *   0xE0000  ACPI tables (RSDP first, so the legacy BIOS-area scan finds it);
 *            the board marks 0xE0000-0xFFFFF reserved in the e820 map
 *   pref_address (16 MiB for Debian's kernels) or 1 MiB: the protected-mode kernel
 *   top of the low RAM e820 entry (page-aligned down): the initrd
 */
#ifndef QTEMU_BOOT_X86_BOOT_H
#define QTEMU_BOOT_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "boot/machine.h"

#define X86_BOOT_GDT_GPA        0x1000ull
#define X86_BOOT_GDT_LIMIT      (4 * 8 - 1)
#define X86_BOOT_CS32           0x08    /* flat 32-bit code, for the PVH entry */
#define X86_BOOT_CS64           0x10    /* __BOOT_CS: flat 64-bit code */
#define X86_BOOT_DS             0x18    /* __BOOT_DS: flat read/write data */
#define X86_BOOT_PARAMS_GPA     0x7000ull
#define X86_PVH_MODLIST_GPA     0x7040ull
#define X86_PVH_MEMMAP_GPA      0x7100ull
#define X86_PVH_MEMMAP_MAX      128
#define X86_BOOT_PML4_GPA       0x9000ull
#define X86_BOOT_PDPT_GPA       0xA000ull
#define X86_BOOT_PD_GPA         0xB000ull   /* 4 pages */
#define X86_BOOT_CMDLINE_GPA    0x20000ull
#define X86_BOOT_CMDLINE_MAX    0x10000ull
#define X86_ACPI_BASE_GPA       0xE0000ull
#define X86_ACPI_SIZE           0x20000ull

/** Low/high RAM split of the pc board: RAM above this sits at 4 GiB and up (PCI hole). */
#define PC_LOW_RAM_LIMIT        0xC0000000ull
#define PC_E820_MAX             8

/**
 * The pc board's e820 map (e820.c) for @ram_bytes of RAM laid out as
 * guest_mem_init_pc(ram, PC_LOW_RAM_LIMIT) does. Fills at most @max entries
 * of @out, sorted by address; returns the count (0 if @max is too small).
 */
int pc_build_e820(uint64_t ram_bytes, struct e820_entry *out, int max);

/** Little-endian field access into a byte buffer (callers bounds-check). */
static inline uint16_t boot_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t boot_rd32(const uint8_t *p) { return boot_rd16(p) | (uint32_t)boot_rd16(p + 2) << 16; }
static inline uint64_t boot_rd64(const uint8_t *p) { return boot_rd32(p) | (uint64_t)boot_rd32(p + 4) << 32; }
static inline void boot_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void boot_wr32(uint8_t *p, uint32_t v) { boot_wr16(p, (uint16_t)v); boot_wr16(p + 2, (uint16_t)(v >> 16)); }
static inline void boot_wr64(uint8_t *p, uint64_t v) { boot_wr32(p, (uint32_t)v); boot_wr32(p + 4, (uint32_t)(v >> 32)); }

/**
 * Write the boot GDT at X86_BOOT_GDT_GPA (selectors above). Returns 0, or -1
 * if that page is not RAM.
 */
int x86_boot_write_gdt(struct guest_mem *mem);

/**
 * Write the command line @cmdline (NUL included) at X86_BOOT_CMDLINE_GPA.
 * @max_bytes limits the length including the NUL (the kernel's
 * cmdline_size + 1). Returns 0 or -1 with one line in @err.
 */
int x86_boot_write_cmdline(struct guest_mem *mem, const char *cmdline, uint64_t max_bytes,
                           char *err, size_t err_len);

/**
 * Place @initrd at the top of the e820 RAM entry that holds @kernel_end - 1,
 * page-aligned, below @addr_max (inclusive limit) and not below @kernel_end.
 * Returns the gpa (0 if @initrd_len is 0), or UINT64_MAX with one line in @err.
 */
uint64_t x86_boot_place_initrd(struct guest_mem *mem, const uint8_t *initrd, size_t initrd_len,
                               uint64_t kernel_end, uint64_t addr_max,
                               const struct e820_entry *e820, int e820_count,
                               char *err, size_t err_len);

/**
 * The end (exclusive) of the e820 RAM entry containing [@start, @start + 1),
 * or 0 if @start is not in a RAM entry.
 */
uint64_t x86_e820_ram_end(const struct e820_entry *e820, int e820_count, uint64_t start);

/** The PVH loader (pvh.c): same contract as x86_load_kernel, for ELF input. */
int x86_load_pvh(struct guest_mem *mem, const uint8_t *kernel, size_t kernel_len,
                 const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                 const struct e820_entry *e820, int e820_count, uint64_t rsdp_gpa,
                 struct boot_info *out, char *err, size_t err_len);

#endif
