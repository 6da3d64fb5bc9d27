/*
 * devices/pci.h - private to devices/: how a PCI function model (virtio-pci
 * today) plugs into the host bridge of devices/pci.c.
 *
 * Follows the PCI Local Bus Specification 3.0: 6.1 configuration header
 * (type 0), 6.2.5 Base Address Registers (sizing by writing all ones), 6.7
 * capabilities list, 6.8.2 MSI-X (capability, table, pending bit array).
 *
 * A function fills config[] (IDs, class, header type), declares its BARs
 * (size and kind) and capabilities, then registers; the host assigns the
 * BARs from its windows (there is no firmware to do it), enables decoding
 * and maps them on the bus. Later BAR/command writes by the guest remap.
 */
#ifndef QTEMU_DEVICES_PCI_H
#define QTEMU_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"

/* Configuration header offsets (PCI 3.0 6.1, Figure 6-1). */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION_ID      0x08
#define PCI_CLASS_PROG       0x09
#define PCI_HEADER_TYPE      0x0E
#define PCI_BAR0             0x10
#define PCI_SUBSYSTEM_VENDOR 0x2C
#define PCI_SUBSYSTEM_ID     0x2E
#define PCI_CAPABILITY_LIST  0x34
#define PCI_INTERRUPT_LINE   0x3C
#define PCI_INTERRUPT_PIN    0x3D

#define PCI_COMMAND_IO       0x0001
#define PCI_COMMAND_MEMORY   0x0002
#define PCI_COMMAND_MASTER   0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010

#define PCI_CAP_ID_MSIX      0x11
#define PCI_CAP_ID_VNDR      0x09

#define PCI_NUM_BARS         6
#define PCI_CONFIG_SIZE      256
#define PCI_MSIX_MAX_VECTORS 64

struct pci_device;

/** One Base Address Register as the function declares it. */
struct pci_bar {
    uint64_t size;               /* power of two (>= 16 memory, >= 4 I/O); 0 = unused */
    bool io;                     /* I/O space (else memory) */
    bool mem64;                  /* 64-bit memory BAR: uses the next BAR slot too */
    const struct io_ops *ops;
    void *opaque;
    const char *name;
    uint64_t mapped_at;          /* where it is mapped now; PCI_BAR_UNMAPPED if not */
};
#define PCI_BAR_UNMAPPED UINT64_MAX

/** MSI-X state (PCI 3.0 6.8.2) kept by pci.c for a function that enables it. */
struct pci_msix {
    unsigned nvec;               /* table size (0 = no MSI-X) */
    uint8_t cap;                 /* capability offset */
    int bar;                     /* BAR holding table (offset 0) and PBA (offset 0x800) */
    uint8_t table[PCI_MSIX_MAX_VECTORS * 16];
    uint64_t pba;                /* pending bits */
};

/** A PCI function (one per device; no multi-function devices). */
struct pci_device {
    struct pci_host *host;
    const char *name;
    uint8_t devfn;               /* slot << 3 | function */
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];   /* bits the guest may write */
    struct pci_bar bar[PCI_NUM_BARS];
    struct pci_msix msix;
    bool intx_level;             /* what the function drives on its INTx pin */
    uint8_t cap_next;            /* next free config offset for capabilities */
    void *opaque;
    /* Called after the guest wrote @len bytes at @offset (already stored). Optional. */
    void (*config_written)(struct pci_device *d, uint32_t offset, unsigned len);
    /* Called before a guest config read of @len bytes at @offset, so the
     * function can refresh config[] (a window register). Optional. */
    void (*config_read)(struct pci_device *d, uint32_t offset, unsigned len);
};

/** Set the guest-writable bits of @len bytes at @offset (device set-up). */
void pci_set_wmask(struct pci_device *d, uint32_t offset, uint32_t mask, unsigned len);

/** Write a little-endian value into config space (device set-up). */
void pci_set_config(struct pci_device *d, uint32_t offset, uint32_t value, unsigned len);
/** Read a little-endian value from config space. */
uint32_t pci_get_config(const struct pci_device *d, uint32_t offset, unsigned len);

/**
 * Prepare @d: zero config, vendor/device/class/revision, header type 0,
 * INTA pin, writable command/latency/interrupt-line bits.
 */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
                     uint32_t class_code, uint8_t revision);

/**
 * Append a capability of @len bytes with ID @cap_id to the list (6.7).
 * Returns its offset, or 0 if config space is full.
 */
uint8_t pci_add_capability(struct pci_device *d, uint8_t cap_id, uint8_t len);

/**
 * Give @d an MSI-X capability with @nvec vectors (<= PCI_MSIX_MAX_VECTORS)
 * whose table and PBA live in the memory BAR @bar (4 KiB, declared here).
 * Call before pci_device_register. Returns 0 or -EINVAL.
 */
int pci_msix_init(struct pci_device *d, unsigned nvec, int bar);

/** True if MSI-X is enabled (Message Control bit 15). */
bool pci_msix_enabled(const struct pci_device *d);

/**
 * Signal MSI-X @vector: deliver its message through lapic_send_msi, or set
 * its pending bit while it (or the function) is masked. Out-of-range
 * vectors are ignored (and logged).
 */
void pci_msix_notify(struct pci_device *d, unsigned vector);

/**
 * Put @d in @slot (1..31, or -1 for the next free one), assign its BARs
 * from the host's windows and map them with decoding enabled.
 * Returns 0, -EBUSY (slot taken), -ENOSPC (no slot or window space).
 */
int pci_device_register(struct pci_host *h, struct pci_device *d, int slot);

/** Drive @d's INTx pin (level); ignored while COMMAND.INTX_DISABLE is set. */
void pci_set_irq(struct pci_device *d, int level);

#endif
