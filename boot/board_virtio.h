/*
 * boot/board_virtio.h - private to boot/: the PCI host and virtio devices a
 * board adds from machine_config.devices (board_virtio.c), the microvm
 * board's virtio-mmio placement (microvm.c), and how both appear in the
 * DSDT (acpi.c calls board_devices_dsdt inside \_SB).
 */
#ifndef QTEMU_BOOT_BOARD_VIRTIO_H
#define QTEMU_BOOT_BOARD_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

#include "boot/aml.h"
#include "boot/machine.h"

/* microvm's virtio-mmio windows: 0x200 bytes each from 0xFEB00000, GSI 16 + n (as QEMU's microvm). */
#define MICROVM_VIRTIO_MMIO_BASE 0xFEB00000ull
#define MICROVM_VIRTIO_GSI_BASE  16
#define MICROVM_VIRTIO_MAX       8

/** One virtio-mmio device as the DSDT describes it. */
struct board_mmio_dev {
    uint64_t base;
    uint32_t gsi;
};

/** What board_devices_create built (struct machine.devs). */
struct board_devices {
    struct pci_host *pci;                         /* NULL: no PCI (microvm) */
    struct virtio_dev *vdev[MACHINE_MAX_DEVICES];
    int nvdev;
    struct board_mmio_dev mmio[MACHINE_MAX_DEVICES];
    int nmmio;
};

/**
 * Create the PCI host (board "pc") and the virtio devices of m->cfg.devices
 * on the board's transport; @ioapic_pins are the IOAPIC's 24 inputs. Sets
 * m->devs. Returns 0, or -1 with one line in @err (cannot open an image,
 * no slot left, a transport the board lacks).
 */
int board_devices_create(struct machine *m, const struct irq_line *ioapic_pins, char *err,
                         size_t err_len);

/** Reset every virtio device (machine reset: as if the driver wrote status 0). */
void board_devices_reset(struct machine *m);

/**
 * Place @vdev at the next microvm virtio-mmio window (microvm.c) and record
 * it in @d for the DSDT. 0, or -1 with one line in @err.
 */
int microvm_add_virtio(struct machine *m, struct board_devices *d, struct virtio_dev *vdev,
                       const struct irq_line *ioapic_pins, char *err, size_t err_len);

/**
 * Append the DSDT objects for @d to the \_SB scope body @sb: \_SB.PCI0
 * (PNP0A03, _CRS windows, _PRT) when there is a PCI host, and one
 * \_SB.VRnn (LNRO0005) per virtio-mmio device (microvm.c).
 */
void board_devices_dsdt(struct aml *sb, const struct board_devices *d);
void microvm_dsdt(struct aml *sb, const struct board_devices *d);

/** acpi_build_tables() plus the DSDT objects of @devs (may be NULL). */
uint64_t acpi_build_tables_devs(struct guest_mem *mem, uint64_t base_gpa, uint64_t size_bytes,
                                int ncpus, const struct board_devices *devs);

#endif
