/*
 * boot/machine.h - the one public header of boot/: machine boards, kernel
 * loaders and firmware tables.
 *
 * Owns: struct machine (RAM, bus, vCPUs, devices of one board), the board
 * builders (-M pc today; microvm and virt later), the Linux x86 boot protocol
 * loader (Documentation/arch/x86/boot.rst), the PVH ELF loader, the e820 map
 * and the ACPI tables we build ourselves (no BIOS).
 */
#ifndef QTEMU_BOOT_MACHINE_H
#define QTEMU_BOOT_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/vcpu.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

#define MACHINE_MAX_CPUS 8
#define MACHINE_MAX_DEVICES 16
#define MACHINE_MAX_FW_CFG_FILES 16

/**
 * One -device / -drive if=virtio the board instantiates (boot/board_virtio.c).
 * @model is the backend ("virtio-blk", "virtio-rng", ...), @mmio selects the
 * virtio-mmio transport (-device X-device, -M microvm) over virtio-pci
 * (-device X-pci, -M pc). @props is the raw property list after the model
 * name (so a backend can read keys of its own), or "".
 */
struct machine_device_config {
    const char *model;
    bool mmio;
    const char *file;           /* virtio-blk: raw image path */
    bool readonly;              /* virtio-blk: readonly=on */
    const char *serial;         /* virtio-blk: serial=, or NULL */
    const char *props;
};

/** Options the frontend parsed, as the board needs them. */
struct machine_config {
    const char *machine;        /* "pc" or "microvm" */
    enum x86_cpu_model cpu_model;
    int smp;                    /* number of vCPUs */
    uint64_t ram_bytes;
    const char *kernel_path;
    const char *initrd_path;    /* or NULL */
    const char *cmdline;        /* "" if none */
    const char *mem_path;       /* memory-backend-file, or NULL */
    struct chardev *serial;     /* COM1 backend, or NULL for none */
    bool debug_exit;            /* -device isa-debug-exit */
    uint16_t debug_exit_iobase;
    uint8_t debug_exit_iosize;
    struct machine_device_config devices[MACHINE_MAX_DEVICES];  /* virtio devices, in order */
    int ndevices;
    bool pc_testdev;            /* -device pc-testdev (devices/pc_testdev.c) */
    /* -fw_cfg [name=]NAME,file=PATH|string=STR: files added to fw_cfg (boot/firmware_devices.c) */
    struct machine_fw_cfg_file {
        const char *name;
        const char *file;       /* host file to read, or NULL */
        const char *string;     /* literal contents (no NUL), or NULL */
    } fw_cfg_files[MACHINE_MAX_FW_CFG_FILES];
    int n_fw_cfg_files;
};

/** A built machine. */
struct machine {
    struct machine_config cfg;
    struct guest_mem mem;
    struct bus bus;
    struct vcpu *cpus[MACHINE_MAX_CPUS];
    int ncpus;
    void *board;                /* board-private device set */
    struct board_devices *devs; /* PCI host + virtio devices (boot/board_virtio.c), or NULL */
};

/**
 * Build the board named in @cfg->machine, load the kernel (and initrd) and
 * set the vCPUs' entry state. On failure returns -1 and writes one line
 * (without "qtemu: ") to @err (at most @err_len bytes) naming the problem:
 * missing/empty/truncated kernel, wrong architecture, RAM too small, ...
 */
int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t err_len);

/** Reset the machine: devices to power-on state, reload the kernel, vCPUs to entry state. */
int machine_reset(struct machine *m, char *err, size_t err_len);

/** Free everything. */
void machine_destroy(struct machine *m);

/**
 * Press the board's ACPI fixed-feature power button (QMP system_powerdown):
 * the guest's OS decides what to do. 0, or -1 if the board has none.
 */
int machine_power_button(struct machine *m);

/* ---------------------------------------------------------------- loaders (bzimage.c, pvh.c) */

/** Where a loader put things, for the board to set the entry state. */
struct boot_info {
    bool long_mode_entry;       /* bzImage 64-bit entry; else 32-bit (PVH) */
    uint64_t entry_gpa;
    uint64_t boot_params_gpa;   /* zero page (bzImage) or hvm_start_info (PVH) */
    uint64_t cr3;               /* 64-bit entry: identity-mapped page tables (PML4) */
    uint64_t gdt_gpa;           /* GDT built by the loader */
    uint16_t gdt_limit;
    uint16_t code_sel, data_sel;/* 0x10/0x18 (__BOOT_CS/__BOOT_DS) or 0x08/0x18 (PVH) */
    uint64_t kernel_gpa;        /* where the kernel image was copied */
    uint64_t kernel_end;        /* kernel_gpa + memory it needs (init_size / last PT_LOAD) */
    uint64_t cmdline_gpa;
    uint64_t initrd_gpa;        /* 0 if none */
    uint64_t initrd_size;
};

/** One e820 entry (boot_params.e820_table, boot.rst / ACPI "Address Range Types"). */
struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;              /* 1 RAM, 2 reserved, 3 ACPI, 4 NVS */
} __attribute__((packed));

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

/**
 * Load a bzImage (boot protocol >= 2.12 with XLF_KERNEL_64; boot.rst) or an
 * ELF64 x86-64 vmlinux with a PVH note (Xen start_info.h) from @kernel into
 * @mem, with @initrd and @cmdline, building boot_params (zero page) or
 * hvm_start_info with @e820 and @rsdp_gpa. Fixed low-memory layout: see
 * boot/x86_boot.h. Returns 0 and fills @out, or -1 with one line in @err
 * (empty, "not a bzImage or ELF", truncated, "ELF for EM_X, not x86-64",
 * protocol too old, "RAM too small for this kernel (needs N MiB)", "initrd
 * too large for RAM", command line too long, no PVH note). Never trusts a
 * size or offset from the image without checking it against the file.
 */
int x86_load_kernel(struct guest_mem *mem, const uint8_t *kernel, size_t kernel_len,
                    const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                    const struct e820_entry *e820, int e820_count, uint64_t rsdp_gpa,
                    struct boot_info *out, char *err, size_t err_len);

/**
 * Build ACPI tables (RSDP rev 2, RSDT, XSDT, FADT rev 6, FACS, DSDT with
 * \_SB.COM1/\_SB.HPET/\_S5, MADT for @ncpus, HPET; ACPI 6.4 ch. 5) in the
 * @size_bytes of guest RAM at @base_gpa (16-byte aligned; the pc board uses
 * 0xE0000, so the BIOS-area scan finds the RSDP). Returns the RSDP's gpa, or
 * 0 if @ncpus is not 1..255, the area is too small or not RAM.
 */
uint64_t acpi_build_tables(struct guest_mem *mem, uint64_t base_gpa, uint64_t size_bytes, int ncpus);

#endif
