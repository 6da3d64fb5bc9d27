/*
 * boot/realmode.c - what qtemu does instead of running a BIOS, for the
 * kernels that expect one: the firmware-like machine state, the mini-BIOS,
 * the boot-sector loader, and the choice between them and the board's
 * other loaders.
 *
 * QEMU boots these through SeaBIOS (plus its multiboot option ROM, or a
 * disk image and INT 19h). qtemu has no BIOS, so, decided:
 *  - Loader order (QEMU's hw/i386/x86.c x86_load_linux): a bzImage ("HdrS"
 *    at 0x202) goes to the Linux loader; else a Multiboot header wins
 *    (multiboot.c), even in an ELF that also has a PVH note; else a file of
 *    exactly 512 bytes ending in 55h AAh is a boot sector; else the PVH/ELF
 *    loader runs. The boot sector case is a qtemu extension: QEMU's -kernel
 *    refuses such files (QEMU users boot them with -drive format=raw and
 *    SeaBIOS; qtemu has neither a BIOS nor a disk controller for INT 13h).
 *  - Firmware state for both (x86_firmware_init): what SeaBIOS leaves
 *    (src/hw/pic.c pic_setup, src/hw/timer.c pit_setup, src/post.c):
 *    8259 master vectors 08h-0Fh, slave 70h-77h, cascade on IRQ2, 8086
 *    mode, IMR = all masked but IRQ0 (timer) and IRQ2 (cascade); ELCR all
 *    edge (no PCI interrupt is routed through the 8259 on this board: PCI
 *    INTx goes to IOAPIC pins 16-19); PIT channel 0 mode 2 (rate
 *    generator: SeaBIOS's choice; the IBM PC BIOS used mode 3, same rate),
 *    count 0 = 65536, i.e. 1193182 / 65536 = 18.2 Hz; IVT at 0 with every vector
 *    pointing into the mini-BIOS; BIOS data area at 0x400 (COM1 = 0x3F8,
 *    EBDA segment 9FC0h, equipment word with one serial port, base memory
 *    KiB = the e820 RAM entry at 0, tick count 0).
 *  - The mini-BIOS (boot/minibios.S, bytes below) provides only: INT 08h
 *    (tick count at 0040:006C, INT 1Ch, EOI), INT 10h AH=0Eh teletype to
 *    COM1, INT 12h, INT 15h AX=E820h, and IRET/EOI defaults for every
 *    other vector. No INT 13h (no disks), no INT 16h (keyboard), no video.
 *  - Boot sector entry (as SeaBIOS's boot_disk + call_boot_entry): loaded
 *    at 0000:7C00, CS:IP = 0000:7C00, DL = 80h (first hard disk), DS = ES
 *    = SS = 0, SP = 7C00h (stack below the boot sector), IF = 1, real mode.
 *  - Multiboot entry (Multiboot 0.6.96 3.2): 32-bit protected mode through
 *    the loaders' GDT (CS 0x08 flat 32-bit code, DS/ES/SS/FS/GS 0x18 flat
 *    data), paging off, A20 on, IF = 0, EAX = 2BADB002h, EBX = the info.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/firmware.h"
#include "boot/x86_boot.h"
#include "cpu/vcpu.h"
#include "util/compiler.h"
#include "util/log.h"

#define BDA_GPA        0x400ull
#define BDA_SIZE       0x100
#define EBDA_SEGMENT   0x9FC0
#define IVT_ENTRIES    256

/* Offsets into the mini-BIOS header (minibios.S "hdr"). */
enum { MB_INT_DEFAULT, MB_INT08, MB_INT10, MB_INT12, MB_INT15, MB_IRQ_MASTER, MB_IRQ_SLAVE,
       MB_E820_COUNT, MB_E820_TABLE, MB_HDR_WORDS };

/* boot/minibios.S assembled (gcc -m32 -c; objcopy -O binary -j .text), org 0. */
static const uint8_t minibios[] = {
    0x12, 0x00, 0x13, 0x00, 0x4d, 0x00, 0x6c, 0x00, 0x75, 0x00, 0xd8, 0x00,
    0xdf, 0x00, 0xe8, 0x00, 0xec, 0x00, 0xcf, 0x1e, 0x50, 0xb8, 0x40, 0x00,
    0x8e, 0xd8, 0x83, 0x06, 0x6c, 0x00, 0x01, 0x83, 0x16, 0x6e, 0x00, 0x00,
    0x83, 0x3e, 0x6e, 0x00, 0x18, 0x72, 0x19, 0x81, 0x3e, 0x6c, 0x00, 0xb0,
    0x00, 0x72, 0x11, 0xc7, 0x06, 0x6c, 0x00, 0x00, 0x00, 0xc7, 0x06, 0x6e,
    0x00, 0x00, 0x00, 0xc6, 0x06, 0x70, 0x00, 0x01, 0xcd, 0x1c, 0xb0, 0x20,
    0xe6, 0x20, 0x58, 0x1f, 0xcf, 0x80, 0xfc, 0x0e, 0x75, 0x19, 0x50, 0x51,
    0x52, 0xba, 0xfd, 0x03, 0xb9, 0xff, 0xff, 0xec, 0xa8, 0x20, 0x75, 0x02,
    0xe2, 0xf9, 0x5a, 0x59, 0x58, 0x52, 0xba, 0xf8, 0x03, 0xee, 0x5a, 0xcf,
    0x1e, 0x6a, 0x40, 0x1f, 0xa1, 0x13, 0x00, 0x1f, 0xcf, 0x66, 0x3d, 0x20,
    0xe8, 0x00, 0x00, 0x75, 0x50, 0x66, 0x81, 0xfa, 0x50, 0x41, 0x4d, 0x53,
    0x75, 0x47, 0x66, 0x83, 0xf9, 0x14, 0x72, 0x41, 0x2e, 0x66, 0x3b, 0x1e,
    0xe8, 0x00, 0x73, 0x39, 0x1e, 0x56, 0x57, 0x51, 0x0e, 0x1f, 0x6b, 0xf3,
    0x14, 0x81, 0xc6, 0xec, 0x00, 0xb9, 0x0a, 0x00, 0xfc, 0xf3, 0xa5, 0x59,
    0x5f, 0x5e, 0x1f, 0x66, 0x43, 0x2e, 0x66, 0x3b, 0x1e, 0xe8, 0x00, 0x72,
    0x03, 0x66, 0x31, 0xdb, 0x66, 0xb8, 0x50, 0x41, 0x4d, 0x53, 0x66, 0xb9,
    0x14, 0x00, 0x00, 0x00, 0x55, 0x89, 0xe5, 0x80, 0x66, 0x06, 0xfe, 0x5d,
    0xcf, 0xb4, 0x86, 0x55, 0x89, 0xe5, 0x80, 0x4e, 0x06, 0x01, 0x5d, 0xcf,
    0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf, 0x50, 0xb0, 0x20, 0xe6, 0xa0,
    0xe6, 0x20, 0x58, 0xcf, 0x00, 0x00, 0x00, 0x00,
};

const uint8_t *x86_minibios_image(size_t *len)
{
    *len = sizeof(minibios);
    return minibios;
}

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

bool x86_is_boot_sector(const uint8_t *image, size_t len)
{
    return len == 512 && image[510] == 0x55 && image[511] == 0xAA;
}

static void outb(struct bus *bus, uint16_t port, uint8_t v)
{
    io_space_write(&bus->pio, port, v, 1);
}

int x86_firmware_init(struct bus *bus, struct guest_mem *mem, const struct e820_entry *e820,
                      int e820_count)
{
    /* 8259 pair as SeaBIOS's pic_reset(0x08, 0x70) + enable_hwirq(0) (8259A datasheet ICW1-4). */
    outb(bus, 0x20, 0x11);   /* ICW1: edge, cascade, ICW4 needed */
    outb(bus, 0xA0, 0x11);
    outb(bus, 0x21, 0x08);   /* ICW2: vector base */
    outb(bus, 0xA1, 0x70);
    outb(bus, 0x21, 0x04);   /* ICW3: slave on IRQ2 */
    outb(bus, 0xA1, 0x02);   /*       slave identity 2 */
    outb(bus, 0x21, 0x01);   /* ICW4: 8086 mode */
    outb(bus, 0xA1, 0x01);
    outb(bus, 0x21, 0xFA);   /* OCW1: unmask IRQ0 and the cascade */
    outb(bus, 0xA1, 0xFF);
    outb(bus, 0x4D0, 0x00);  /* ELCR: every ISA IRQ edge-triggered */
    outb(bus, 0x4D1, 0x00);
    /* PIT channel 0: lobyte/hibyte, mode 2 (rate generator), binary, count 0 = 65536
     * (8254 datasheet; SeaBIOS src/hw/timer.c pit_setup). */
    outb(bus, 0x43, 0x34);
    outb(bus, 0x40, 0x00);
    outb(bus, 0x40, 0x00);

    /* Mini-BIOS and its e820 table. */
    size_t len = sizeof(minibios);
    uint16_t hdr[MB_HDR_WORDS];
    for (int i = 0; i < MB_HDR_WORDS; i++)
        hdr[i] = boot_rd16(minibios + 2 * i);
    uint8_t table[MINIBIOS_E820_MAX * 20];
    int n = MIN(e820_count, MINIBIOS_E820_MAX);
    for (int i = 0; i < n; i++) {
        boot_wr64(table + i * 20, e820[i].addr);
        boot_wr64(table + i * 20 + 8, e820[i].size);
        boot_wr32(table + i * 20 + 16, e820[i].type);
    }
    uint8_t count[4];
    boot_wr32(count, (uint32_t)n);
    if (hdr[MB_E820_TABLE] < len || hdr[MB_E820_TABLE] + sizeof(table) > GUEST_PAGE_SIZE ||
        gpa_write(mem, MINIBIOS_GPA, minibios, len) ||
        gpa_write(mem, MINIBIOS_GPA + hdr[MB_E820_COUNT], count, 4) ||
        gpa_write(mem, MINIBIOS_GPA + hdr[MB_E820_TABLE], table, (uint64_t)n * 20))
        return -1;

    /* IVT: segment:offset pairs (SDM Vol. 3A 20.1.4). */
    uint8_t ivt[IVT_ENTRIES * 4];
    for (int v = 0; v < IVT_ENTRIES; v++) {
        int h = MB_INT_DEFAULT;
        if (v == 0x08)
            h = MB_INT08;
        else if (v >= 0x09 && v <= 0x0F)
            h = MB_IRQ_MASTER;
        else if (v == 0x10)
            h = MB_INT10;
        else if (v == 0x12)
            h = MB_INT12;
        else if (v == 0x15)
            h = MB_INT15;
        else if (v >= 0x70 && v <= 0x77)
            h = MB_IRQ_SLAVE;
        boot_wr16(ivt + v * 4, hdr[h]);
        boot_wr16(ivt + v * 4 + 2, MINIBIOS_SEG);
    }
    if (gpa_write(mem, 0, ivt, sizeof(ivt)))
        return -1;

    /* BIOS data area (IBM PC/AT Technical Reference; Ralf Brown's "MEMORY.LST"). */
    uint8_t bda[BDA_SIZE];
    memset(bda, 0, sizeof(bda));
    boot_wr16(bda + 0x00, 0x3F8);               /* COM1 base */
    boot_wr16(bda + 0x0E, EBDA_SEGMENT);        /* EBDA segment */
    boot_wr16(bda + 0x10, 1u << 9);             /* equipment: one serial port */
    uint32_t base_kib = 0;
    for (int i = 0; i < e820_count; i++)
        if (e820[i].type == E820_RAM && e820[i].addr == 0)
            base_kib = (uint32_t)(MIN(e820[i].size, 0xA0000ull) >> 10);
    boot_wr16(bda + 0x13, (uint16_t)base_kib);  /* base memory KiB (INT 12h) */
    return gpa_write(mem, BDA_GPA, bda, sizeof(bda)) ? -1 : 0;
}

/** "HdrS" at 0x202: a bzImage (Linux boot protocol), whatever else it contains. */
static bool is_bzimage(const uint8_t *kernel, size_t kernel_len)
{
    return kernel_len >= 0x206 && memcmp(kernel + 0x202, "HdrS", 4) == 0;
}

bool pc_kernel_is_multiboot(const uint8_t *image, size_t len)
{
    struct multiboot_header h;
    return !is_bzimage(image, len) && multiboot_find_header(image, len, &h);
}

int pc_boot_firmware_kernel(struct machine *m, const uint8_t *kernel, size_t kernel_len,
                            const struct e820_entry *e820, int e820_count, char *err, size_t err_len)
{
    if (is_bzimage(kernel, kernel_len))
        return 0;   /* bzImage: the Linux boot protocol loader */
    struct multiboot_header h;
    bool mb = multiboot_find_header(kernel, kernel_len, &h);
    bool bs = !mb && x86_is_boot_sector(kernel, kernel_len);
    if (!mb && !bs)
        return 0;
    struct vcpu *bsp = m->cpus[0];
    if (mb) {
        struct multiboot_load ld;
        if (multiboot_load(&m->mem, kernel, kernel_len, m->cfg.kernel_path,
                           m->cfg.cmdline ? m->cfg.cmdline : "", m->cfg.initrd_path, e820,
                           e820_count, &ld, err, err_len))
            return -1;
        if (x86_firmware_init(&m->bus, &m->mem, e820, e820_count) || x86_boot_write_gdt(&m->mem)) {
            set_err(err, err_len, "RAM too small for the firmware area");
            return -1;
        }
        x86_vcpu_setup_prot32_entry(bsp, ld.entry, MULTIBOOT_BOOTLOADER_MAGIC, ld.info_gpa,
                                    X86_BOOT_GDT_GPA, X86_BOOT_GDT_LIMIT, X86_BOOT_CS32,
                                    X86_BOOT_DS);
        return 1;
    }
    if (m->cfg.initrd_path) {
        set_err(err, err_len, "-initrd cannot be used with a boot sector (no BIOS disk to read it from)");
        return -1;
    }
    if (gpa_write(&m->mem, BOOT_SECTOR_GPA, kernel, kernel_len) ||
        x86_firmware_init(&m->bus, &m->mem, e820, e820_count)) {
        set_err(err, err_len, "RAM too small for a boot sector");
        return -1;
    }
    x86_vcpu_setup_real_entry(bsp, 0, (uint16_t)BOOT_SECTOR_GPA, 0, (uint16_t)BOOT_SECTOR_GPA,
                              0x80, true);
    return 1;
}
