/*
 * devices/bus.h - the one public header of devices/: where CPUs and devices meet.
 *
 * Owns:
 *  - the I/O dispatch for port I/O and MMIO (one mechanism for both, STYLE 9):
 *    a region is {base, size, ops, opaque}; regions never overlap (adding an
 *    overlapping one fails); lookup is a binary search over a sorted table;
 *    accesses wider than the region accepts are split, narrower ones widened;
 *  - IRQ lines: {set_level(opaque, line, level)}; controllers own routing;
 *  - the CPU's interrupt port (struct intc_port): how a CPU core takes a
 *    vector from its interrupt controller (the INTA cycle) without including
 *    a device header, and how a device asserts the CPU's INTR/NMI/INIT pins;
 *  - machine requests from devices (reset, power off, debug exit);
 *  - the constructors of every device model, so boards can wire them.
 *
 * A device never includes a CPU header; a CPU core never includes a device
 * model. Neither knows which CPU backend runs (interpreter, JIT or KVM).
 */
#ifndef QTEMU_DEVICES_BUS_H
#define QTEMU_DEVICES_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"

/* ---------------------------------------------------------------- dispatch */

/**
 * Region callbacks. @offset is relative to the region base, @size_bytes is
 * 1, 2, 4 or 8 and never more than max_access (the bus splits wider ones).
 * Reads return the value zero-extended. Neither may fail: an unimplemented
 * register reads as 0 / ignores writes and logs LOG_UNIMP / LOG_GUEST_ERRORS.
 */
struct io_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size_bytes);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size_bytes);
    uint8_t min_access;   /* bytes; 0 means 1 */
    uint8_t max_access;   /* bytes; 0 means 8 */
};

/** One mapped region of a port-I/O or MMIO space. */
struct io_region {
    uint64_t base;
    uint64_t size_bytes;
    const struct io_ops *ops;
    void *opaque;
    const char *name;     /* for -d ioport and the debugger */
};

/** A sorted, non-overlapping table of regions: one for PIO, one for MMIO. */
struct io_space {
    struct io_region *regions;
    size_t count, capacity;
    const char *name;     /* "ioport" or "mmio" */
};

/** Machine requests a device can make; the main loop acts on them. */
enum machine_request {
    MACHINE_REQ_NONE = 0,
    MACHINE_REQ_RESET,        /* 0xCF9, i8042 pulse, triple fault */
    MACHINE_REQ_POWEROFF,     /* ACPI S5: exit status 0 */
    MACHINE_REQ_EXIT,         /* isa-debug-exit: exit status given */
};

/** The bus: both address spaces plus the machine-request channel. */
struct bus {
    struct io_space pio;
    struct io_space mmio;
    enum machine_request request;   /* set by devices, cleared by the main loop */
    int exit_status;                /* for MACHINE_REQ_EXIT */
    void (*kick)(void *opaque);     /* make running vCPUs return to the main loop */
    void *kick_opaque;
};

/** Initialise an empty bus. */
void bus_init(struct bus *bus);

/** Free the region tables. */
void bus_destroy(struct bus *bus);

/**
 * Map a region into @space. Returns 0, or -EEXIST if it overlaps an existing
 * region, -EINVAL for a zero size or wrap-around.
 */
int io_space_add(struct io_space *space, const struct io_region *region);

/** Remove the region starting at @base (PCI BAR moves). Returns 0 or -ENOENT. */
int io_space_remove(struct io_space *space, uint64_t base);

/** The region containing @addr, or NULL. */
const struct io_region *io_space_find(const struct io_space *space, uint64_t addr);

/**
 * Dispatch a read of @size_bytes at @addr. Unmapped addresses read as all-ones
 * (as an open PC bus does) and are logged under LOG_IOPORT. Returns the value.
 */
uint64_t io_space_read(struct io_space *space, uint64_t addr, unsigned size_bytes);

/** Dispatch a write; unmapped addresses are ignored and logged. */
void io_space_write(struct io_space *space, uint64_t addr, uint64_t value, unsigned size_bytes);

/** Ask the main loop to reset / power off / exit with @status. Kicks the vCPUs. */
void bus_request(struct bus *bus, enum machine_request req, int status);

/*
 * The CPU on whose behalf this host thread dispatches accesses (QEMU's
 * current_cpu, MemTxAttrs.requester_id). Whatever runs a vCPU (the
 * interpreter's run loop; a KVM exit handler later) sets it before the
 * vCPU's accesses reach the bus, so banked per-CPU registers - the local
 * APIC page every CPU sees at 0xFEE00000 - find the right bank. It is the
 * vCPU *index* (the board's number for that CPU: APIC ID on pc), not a
 * backend object: devices still never learn which backend runs.
 *
 * Thread-local: with one host thread per vCPU each thread has its own value;
 * with the round-robin loop the run loop sets it at each slice. -1 (the
 * default) means "no CPU": DMA, timers, the debugger.
 */
/** Declare that this thread now dispatches for vCPU @index (-1: none). */
void bus_set_current_cpu(int index);
/** The vCPU index this thread dispatches for, or -1. */
int bus_current_cpu(void);

/* ---------------------------------------------------------------- IRQs */

/** An IRQ line: the source calls set_level; the sink (a controller) routes it. */
struct irq_line {
    void (*set_level)(void *opaque, int line, int level);
    void *opaque;
    int line;
};

/** Drive @irq to @level (0/1). A line with no sink is ignored. */
static inline void irq_set(const struct irq_line *irq, int level)
{
    if (irq && irq->set_level)
        irq->set_level(irq->opaque, irq->line, level);
}

/** Pulse @irq: raise then lower (edge-triggered sources). */
static inline void irq_pulse(const struct irq_line *irq)
{
    irq_set(irq, 1);
    irq_set(irq, 0);
}

/* ---------------------------------------------------------------- CPU port */

/** Pins of a CPU core that interrupt controllers drive (struct irq_line.line). */
enum cpu_pin {
    CPU_PIN_INTR = 0,   /* maskable interrupt request (level) */
    CPU_PIN_NMI  = 1,   /* NMI (edge: set_level(1) latches one NMI) */
    CPU_PIN_INIT = 2,   /* INIT IPI (edge) */
    CPU_PIN_SIPI = 3,   /* start-up IPI; level carries the vector page (0..255) */
    CPU_PIN_SMI  = 4,
};

/**
 * What a CPU core calls on its interrupt controller (x86: the local APIC with
 * the 8259 behind its LINT0). Installed by the board into the vCPU.
 *  - inta: interrupt acknowledge; returns the vector to deliver (0..255), or
 *    -1 if the request went away (spurious). Called only when INTR is
 *    asserted and the CPU accepts interrupts (IF=1, no STI/MOV SS shadow).
 *  - tpr_read/tpr_write: CR8 <-> APIC TPR (CR8 = TPR[7:4]), SDM Vol. 3A 10.8.6.
 *  - msr_read/msr_write: the MSRs the controller owns (IA32_APIC_BASE,
 *    IA32_TSC_DEADLINE, x2APIC range); return false if not owned (-> #GP).
 *  - eoi_broadcast etc. stay private to the controller.
 */
struct intc_port {
    void *opaque;
    int (*inta)(void *opaque);
    uint8_t (*tpr_read)(void *opaque);
    void (*tpr_write)(void *opaque, uint8_t cr8);
    bool (*msr_read)(void *opaque, uint32_t msr, uint64_t *value);
    bool (*msr_write)(void *opaque, uint32_t msr, uint64_t value);
};

/* ---------------------------------------------------------------- chardev */

/**
 * A character backend (stdio, file, none) as the frontend provides it.
 * Devices write bytes out and are told when input is available.
 *  - write: send bytes to the host (never blocks the guest for long).
 *  - set_receive: the device registers a callback; the frontend calls
 *    can_receive() then receive() from the main loop when host input arrives.
 */
struct chardev {
    void (*write)(struct chardev *chr, const uint8_t *buf, size_t len);
    void *opaque;                                     /* device side */
    int (*can_receive)(void *opaque);                 /* bytes the device accepts now */
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
};

/* ---------------------------------------------------------------- devices */

struct guest_mem;

/** 16550A UART (TI PC16550D datasheet): 8 registers at @iobase, IRQ on @irq. */
struct uart16550;
struct uart16550 *uart16550_create(struct bus *bus, uint16_t iobase,
                                   struct irq_line irq, struct chardev *chr);

/**
 * 8259A PIC pair (master 0x20/0x21, slave 0xA0/0xA1, ELCR 0x4D0/0x4D1).
 * Returns the input lines 0..15 through i8259_irq(); its INTR output drives
 * @intr_out (normally the LAPIC's LINT0). i8259_inta() is the INTA cycle.
 */
struct i8259;
struct i8259 *i8259_create(struct bus *bus, struct irq_line intr_out);
struct irq_line i8259_irq(struct i8259 *pic, int line);
int i8259_inta(struct i8259 *pic);

/** 8254 PIT at 0x40-0x43 plus port 0x61 (speaker/gate 2); channel 0 drives @irq0. */
struct i8254;
struct i8254 *i8254_create(struct bus *bus, struct irq_line irq0);

/** MC146818 RTC + CMOS at 0x70/0x71, host time, IRQ 8. @ram_bytes fills CMOS size fields. */
struct mc146818;
struct mc146818 *mc146818_create(struct bus *bus, struct irq_line irq8, uint64_t ram_bytes);

/** i8042 keyboard controller at 0x60/0x64: enough for Linux's probe; reset pulse. */
struct i8042;
struct i8042 *i8042_create(struct bus *bus, struct irq_line irq1, struct irq_line irq12);

/** isa-debug-exit: a write of V to @iobase exits qtemu with (V << 1) | 1. */
int isa_debug_exit_create(struct bus *bus, uint16_t iobase, uint8_t iosize);

/** Reset control register 0xCF9 and the port-0x92 fast A20/reset. */
int pc_reset_ctrl_create(struct bus *bus);

/**
 * Local APIC (SDM Vol. 3A ch. 10) for the CPU with @apic_id, MMIO at
 * 0xFEE00000 (moved by IA32_APIC_BASE). @cpu_pins drives the CPU's INTR/NMI/
 * INIT/SIPI pins. lapic_port() is the intc_port the CPU core uses. LINT0/1
 * inputs are lapic_lint(apic, 0/1); the 8259 feeds LINT0 (ExtINT).
 */
struct lapic;
struct lapic *lapic_create(struct bus *bus, uint32_t apic_id, struct irq_line cpu_pins,
                           struct i8259 *pic);
struct intc_port lapic_port(struct lapic *apic);
struct irq_line lapic_lint(struct lapic *apic, int lint);
/** Deliver a message (IOAPIC redirection / MSI) to @apic. Fixed/NMI/ExtINT/INIT/SIPI. */
void lapic_deliver(struct lapic *apic, uint8_t vector, uint8_t delivery_mode, bool level_trigger);
/**
 * Register the APICs of all CPUs so IPIs and IOAPIC messages find them.
 * @apics[i] is the APIC of vCPU index i: the banked MMIO page dispatches
 * through it (bus_current_cpu()). At most 256; (NULL, 0) empties it.
 */
void lapic_set_cluster(struct lapic **apics, int count);

/* Default physical addresses of the PC's interrupt controllers and HPET. */
#define LAPIC_DEFAULT_BASE  0xFEE00000ull
#define IOAPIC_DEFAULT_BASE 0xFEC00000ull
#define HPET_DEFAULT_BASE   0xFED00000ull

/** EOI broadcast callback: the APIC retired level-triggered @vector (SDM Vol. 3A 10.8.5). */
typedef void lapic_eoi_fn(void *opaque, uint8_t vector);
/** Set the EOI broadcast hook of @apic (the board points it at ioapic_eoi()). */
void lapic_set_eoi_hook(struct lapic *apic, lapic_eoi_fn *hook, void *opaque);
/** Current IA32_APIC_BASE value (base address, BSP bit 8, global enable bit 11). */
uint64_t lapic_get_base(const struct lapic *apic);
/**
 * Send a message on the APIC bus to every APIC of the cluster matching @dest
 * (SDM Vol. 3A 10.6.2: physical ID, or logical flat/cluster via LDR/DFR;
 * 0xFF = broadcast). Lowest-priority goes to the first match. Used by the
 * IOAPIC and for MSIs.
 */
void lapic_deliver_dest(uint8_t dest, bool dest_logical, uint8_t delivery_mode, uint8_t vector,
                        bool level_trigger);
/** Deliver an MSI write (SDM Vol. 3A 10.11: address 0xFEExxxxx, data = vector/mode/trigger). */
void lapic_send_msi(uint64_t addr, uint32_t data);
/**
 * Register file access by offset (0x000..0x3F0, 16-byte aligned), separate
 * from the MMIO dispatch. The MMIO page at IA32_APIC_BASE is banked: an
 * access reaches the APIC of the CPU that makes it (bus_current_cpu(), the
 * initial APIC ID given to lapic_create), as every CPU sees its own APIC.
 */
uint32_t lapic_reg_read(struct lapic *apic, uint32_t offset);
void lapic_reg_write(struct lapic *apic, uint32_t offset, uint32_t value);

/** 82093AA IOAPIC at @base_gpa (0xFEC00000), 24 pins. Pins via ioapic_irq(). */
struct ioapic;
struct ioapic *ioapic_create(struct bus *bus, uint64_t base_gpa);
struct irq_line ioapic_irq(struct ioapic *io, int pin);
/**
 * EOI broadcast from a local APIC (82093AA 3.2.4 Remote IRR): clears Remote IRR
 * of level-triggered entries with @vector and redelivers pins still asserted.
 */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/** HPET (IA-PC HPET spec 1.0a) at @base_gpa, 3 comparators, legacy replacement routing. */
struct hpet;
struct hpet *hpet_create(struct bus *bus, uint64_t base_gpa, struct irq_line *ioapic_pins,
                         struct irq_line *pic_pins);

/**
 * ACPI PM block (ACPI 6.4 4.8): PM1a event/control at @pm_base, PM timer
 * (3.579545 MHz, 24-bit) at @pm_base + 8; SLP_EN with SLP_TYP S5 requests
 * power off. SCI on @sci.
 */
struct acpi_pm;
struct acpi_pm *acpi_pm_create(struct bus *bus, uint16_t pm_base, struct irq_line sci);
/** Press the fixed-feature power button: PWRBTN_STS, SCI if PWRBTN_EN (ACPI 6.4 4.8.2.2.1.1). */
void acpi_pm_power_button(struct acpi_pm *s);

/*
 * The ACPI PM block's place and the sleep type the DSDT's \_S5 must name;
 * the board and the ACPI tables (FADT PM1a_EVT_BLK = ACPI_PM_BASE, 4 bytes;
 * PM1a_CNT_BLK = ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, 2 bytes; PM_TMR_BLK =
 * ACPI_PM_BASE + ACPI_PM_TMR_OFFSET, 4 bytes; \_S5 = Package { ACPI_SLP_TYP_S5,
 * ACPI_SLP_TYP_S5, 0, 0 }) use these. 0x600 is where QEMU's Q35 (ICH9 LPC)
 * puts PMBASE.
 */
#define ACPI_PM_BASE        0x600
#define ACPI_PM_EVT_LEN     4
#define ACPI_PM_CNT_OFFSET  4
#define ACPI_PM_CNT_LEN     2
#define ACPI_PM_TMR_OFFSET  8
#define ACPI_PM_TMR_LEN     4
#define ACPI_SLP_TYP_S5     5

/* ---------------------------------------------------------------- PCI, virtio */

/*
 * PCI host bridge (devices/pci.c): configuration mechanism #1 at 0xCF8/0xCFC
 * (PCI Local Bus 3.0 3.2.2.3.2), host bridge at 00:00.0, BARs assigned by
 * qtemu from the windows below (no firmware), INTx of slot S pin P (0 = INTA)
 * on GSI PCI_INTX_GSI_BASE + ((S + P) & 3) (the DSDT's _PRT says the same).
 */
#define PCI_MMIO_WINDOW_BASE  0xC0000000ull   /* 32-bit MMIO window (_CRS) */
#define PCI_MMIO_WINDOW_END   0xFEBFFFFFull   /* inclusive: below the IOAPIC */
#define PCI_IO_WINDOW_BASE    0x1000          /* I/O window for I/O BARs */
#define PCI_IO_WINDOW_END     0xFFFF
#define PCI_INTX_GSI_BASE     16              /* IOAPIC pins 16..19 */
#define PCI_SLOTS             32

struct pci_host;
/**
 * Create the host bridge on @bus; @intx[0..3] are the IOAPIC pins
 * PCI_INTX_GSI_BASE..+3. Takes over port 0xCF9 if a device mapped it (the
 * reset control) and forwards its byte accesses there. NULL on ENOMEM/clash.
 */
struct pci_host *pci_host_create(struct bus *bus, const struct irq_line intx[4]);

struct virtio_dev;
/**
 * virtio-blk backend (virtio 1.2 5.2) on the raw image @path; @readonly
 * offers VIRTIO_BLK_F_RO and opens read-only; @serial (or NULL) answers
 * GET_ID. NULL with one line in @err on failure (cannot open, not a
 * multiple of 512 bytes, ...).
 */
struct virtio_dev *virtio_blk_create(struct guest_mem *mem, const char *path, bool readonly,
                                     const char *serial, char *err, size_t err_len);

/** Reset a virtio device as a driver's status write of 0 does (virtio 1.2 2.1.2): machine reset. */
void virtio_reset(struct virtio_dev *vdev);

/** virtio-rng backend (virtio 1.2 5.4): entropy from getrandom(2). NULL on ENOMEM. */
struct virtio_dev *virtio_rng_create(struct guest_mem *mem);

/**
 * Put @vdev on PCI as a modern virtio-pci function (virtio 1.2 4.1) in slot
 * @slot (-1 = next free). 0 or negative errno (-ENOSPC: no slot/BAR space).
 */
int virtio_pci_create(struct pci_host *host, int slot, struct virtio_dev *vdev);

/**
 * Map @vdev as virtio-mmio version 2 (virtio 1.2 4.2.2) at @base
 * (VIRTIO_MMIO_SIZE bytes), interrupt on @irq (level). 0 or negative errno.
 */
#define VIRTIO_MMIO_SIZE 0x200
int virtio_mmio_create(struct bus *bus, uint64_t base, struct irq_line irq, struct virtio_dev *vdev);

/* ---------------------------------------------------------------- net, console, 9p */

/**
 * virtio-net (virtio 1.2 5.1) on a libslirp -netdev user backend: @mac
 * "xx:xx:xx:xx:xx:xx" or NULL for 52:54:00:12:34:56; @netdev_opts the
 * option list after "user," (id=, hostfwd=[tcp|udp]:[haddr]:hport-[gaddr]:gport,
 * restrict=), or NULL for a NIC without a netdev (link up, frames it sends
 * are dropped, as in QEMU). NULL with one line in @err (bad option, host
 * port in use).
 */
struct virtio_dev *virtio_net_create(struct guest_mem *mem, const char *mac,
                                     const char *netdev_opts, char *err, size_t err_len);

/** Check a -netdev user option list as virtio_net_create would. 0 or -1 with @err. */
int netdev_user_check(const char *opts, char *err, size_t err_len);

/**
 * virtio-9p exporting directory @path under @mount_tag (1..31 bytes) with
 * @security_model "none" (NULL) or "mapped-xattr" (devices/p9.h). NULL with
 * one line in @err.
 */
struct virtio_dev *virtio_9p_create(struct guest_mem *mem, const char *path,
                                    const char *security_model, const char *mount_tag,
                                    bool readonly, char *err, size_t err_len);

/**
 * Single-port virtio console (virtio 1.2 5.3, no MULTIPORT: Linux's hvc0)
 * on @chr (may be NULL: output dropped, no input). Takes over @chr's
 * receive callbacks. NULL on ENOMEM.
 */
struct virtio_dev *virtio_console_create(struct guest_mem *mem, struct chardev *chr);

/** Register a named chardev (-chardev ...,id=ID). 0, -EEXIST, -EINVAL or -ENOSPC. */
int chardev_register(const char *id, struct chardev *chr);
/** The chardev registered as @id, or NULL. */
struct chardev *chardev_find(const char *id);

/* ---------------------------------------------------------------- QEMU test/firmware interfaces */

/**
 * QEMU's fw_cfg device (docs/specs/fw_cfg.rst; devices/fw_cfg.c): selector
 * (16-bit) at @iobase, data (8-bit) at @iobase + 1, and with @dma the DMA
 * address register (8 bytes, big-endian) at @iobase + 4 doing DMA into @mem
 * through gpa_read/gpa_write. Items are added by the board; the signature
 * "QEMU", the ID (bit 0 traditional, bit 1 DMA) and the file directory are
 * built in. NULL on ENOMEM or a port clash.
 */
#define FW_CFG_IO_BASE        0x510
#define FW_CFG_SIGNATURE      0x0000
#define FW_CFG_ID             0x0001
#define FW_CFG_UUID           0x0002
#define FW_CFG_RAM_SIZE       0x0003
#define FW_CFG_NOGRAPHIC      0x0004
#define FW_CFG_NB_CPUS        0x0005
#define FW_CFG_MAX_CPUS       0x000f
#define FW_CFG_FILE_DIR       0x0019
#define FW_CFG_FILE_NAME_MAX  56
struct fw_cfg;
struct fw_cfg *fw_cfg_create(struct bus *bus, struct guest_mem *mem, uint16_t iobase, bool dma);
/**
 * Set the item @key (below 0x20, not the directory) to a copy of @len bytes
 * at @data (integers little-endian, as QEMU's fw_cfg_add_i16/i32/i64).
 * 0, -EINVAL (bad key) or -ENOMEM.
 */
int fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, const void *data, size_t len);
/**
 * Add the file @name (1..55 bytes) holding a copy of @data. Files get keys
 * from 0x20 in name order (later names are renumbered, as in QEMU) and an
 * entry in the directory. 0, -EINVAL, -EEXIST, -ENOSPC (64 files) or -ENOMEM.
 */
int fw_cfg_add_file(struct fw_cfg *s, const char *name, const void *data, size_t len);
/** The selector key of file @name, or -ENOENT. */
int fw_cfg_file_key(struct fw_cfg *s, const char *name);

/**
 * QEMU's pc-testdev (hw/misc/pc-testdev.c; devices/pc_testdev.c): a 32-bit
 * scratch register at ports 0xE0 and 0xE8 (byte-wise), the flush-page port
 * 0xE4, IRQ-line ports 0x2000 + n driving @isa_irq[n] (n < 16), and a 64 KiB
 * read/write MMIO buffer at PC_TESTDEV_IOMEM_BASE. 0, or -1 (ENOMEM/clash).
 */
#define PC_TESTDEV_IOMEM_BASE 0xFF000000ull
int pc_testdev_create(struct bus *bus, const struct irq_line isa_irq[16]);

#endif
