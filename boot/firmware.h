/*
 * boot/firmware.h - private to boot/: what qtemu does in place of QEMU's
 * firmware (SeaBIOS + option ROMs) for kernels that expect one:
 *  - the Multiboot v1 loader (multiboot.c),
 *  - the boot-sector loader, the mini-BIOS and the firmware-like device
 *    state (realmode.c),
 *  - the QEMU interfaces test kernels probe: fw_cfg and pc-testdev
 *    (firmware_devices.c).
 */
#ifndef QTEMU_BOOT_FIRMWARE_H
#define QTEMU_BOOT_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/machine.h"

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH           8192      /* the header lies in the first 8 KiB */

/** Low-memory places of the multiboot structures (see multiboot.c). */
#define MB_INFO_GPA        0x9000ull  /* struct multiboot_info, 88 bytes */
#define MB_LOADER_NAME_GPA 0x9080ull  /* "qtemu" */
#define MB_MMAP_GPA        0x9100ull  /* memory map, 24 bytes per entry */
#define MB_MODS_GPA        0x9400ull  /* module list, 16 bytes per module */
#define MB_MAX_MODULES     64
#define MB_STRINGS_GPA     0x20000ull /* command lines (kernel first), at most 64 KiB */
#define MB_STRINGS_MAX     0x10000ull

/** The fields of a Multiboot header (Multiboot Specification 0.6.96, 3.1). */
struct multiboot_header {
    uint32_t offset;            /* byte offset of the magic in the image */
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;  /* flags bit 16 */
};

/**
 * Find a valid Multiboot header (magic, 4-byte aligned, inside the first
 * 8192 bytes, magic + flags + checksum == 0 mod 2^32; with flags bit 16 the
 * address fields must be in the file too). True and fills @out if found.
 */
bool multiboot_find_header(const uint8_t *image, size_t len, struct multiboot_header *out);

/** Where the multiboot loader put things. */
struct multiboot_load {
    uint32_t entry;             /* EIP at entry */
    uint32_t info_gpa;          /* EBX at entry: the multiboot_info structure */
    uint64_t kernel_start, kernel_end;
    int nmods;
};

/**
 * Load a Multiboot kernel (@image, @len bytes, with a header
 * multiboot_find_header accepts) into @mem: ELF32 (EM_386) or ELF64
 * (EM_X86_64) program headers by p_paddr, or the a.out kludge (flags bit
 * 16). @modules is QEMU's -initrd spelling for multiboot, "FILE[ ARGS][,FILE
 * [ ARGS]...]" with ",," for a literal comma, or NULL. The kernel's command
 * line is "@kernel_path @cmdline" as QEMU passes it. Builds the multiboot
 * info (mem_lower/upper and mmap from @e820, cmdline, modules, boot loader
 * name). Returns 0, or -1 with one line in @err (segment outside RAM or
 * below 1 MiB, entry or segment above 4 GiB, truncated image, module file
 * unreadable, too many modules, ...).
 */
int multiboot_load(struct guest_mem *mem, const uint8_t *image, size_t len, const char *kernel_path,
                   const char *cmdline, const char *modules, const struct e820_entry *e820,
                   int e820_count, struct multiboot_load *out, char *err, size_t err_len);

/**
 * True if the board boots @image through multiboot_load: not a bzImage
 * ("HdrS" at 0x202) and multiboot_find_header finds a header.
 */
bool pc_kernel_is_multiboot(const uint8_t *image, size_t len);

/** True if @image is a PC boot sector: exactly 512 bytes ending in 55h AAh. */
bool x86_is_boot_sector(const uint8_t *image, size_t len);

#define BOOT_SECTOR_GPA   0x7C00ull
#define MINIBIOS_GPA      0xFF000ull  /* FF00:0000 */
#define MINIBIOS_SEG      0xFF00
#define MINIBIOS_E820_MAX 32

/** The mini-BIOS bytes (boot/minibios.S) and their length. */
const uint8_t *x86_minibios_image(size_t *len);

/**
 * Put the machine in the state a PC BIOS (SeaBIOS) leaves it in: 8259 pair
 * initialised (ICW1-4: vectors 08h / 70h, cascade on IRQ2, 8086 mode; all
 * lines masked but IRQ0 and IRQ2), ELCR edge-triggered, PIT channel 0 in
 * mode 2 with count 0 (65536: 18.2 Hz) as SeaBIOS programs it, all through port writes on @bus;
 * and in @mem the IVT (every vector to the mini-BIOS), the BIOS data area
 * (COM1, EBDA segment, memory size, equipment word, tick count 0) and the
 * mini-BIOS with the e820 table. 0, or -1 if low memory is not RAM.
 */
int x86_firmware_init(struct bus *bus, struct guest_mem *mem, const struct e820_entry *e820,
                      int e820_count);

/**
 * Pick and run the loader for the kernels the firmware path handles, in
 * QEMU's order (hw/i386/x86.c x86_load_linux): a bzImage ("HdrS") is not
 * ours (0); then a Multiboot header (multiboot_load + firmware state,
 * 32-bit entry EAX = 0x2BADB002, EBX = info); then a 512-byte boot sector
 * (loaded at 0x7C00, firmware state, real-mode entry 0000:7C00, DL = 80h);
 * anything else (ELF with a PVH note) is not ours (0). Returns 1 when it
 * loaded the kernel and set the boot vCPU's entry state, 0 when the board's
 * other loaders should run, -1 with one line in @err.
 */
int pc_boot_firmware_kernel(struct machine *m, const uint8_t *kernel, size_t kernel_len,
                            const struct e820_entry *e820, int e820_count, char *err, size_t err_len);

/**
 * Create the QEMU interfaces of the pc board: fw_cfg at 0x510 (with DMA),
 * filled with the signature, ID, RAM size, CPU count, etc/e820 (@e820 in
 * QEMU's 20-byte format), an empty "bootorder" and the -fw_cfg files of
 * @m->cfg; and pc-testdev when @m->cfg.pc_testdev. @isa_irq are the 16 ISA
 * IRQ lines. 0, or -1 with one line in @err.
 */
int pc_firmware_devices_create(struct machine *m, const struct irq_line *isa_irq,
                               const struct e820_entry *e820, int e820_count, char *err,
                               size_t err_len);

#endif
