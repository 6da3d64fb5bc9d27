/*
 * boot/board_virtio.c - the PCI host and the virtio devices of a board,
 * built from machine_config.devices, and the DSDT's \_SB.PCI0.
 *
 * Board "pc": a PCI host bridge (devices/pci.c) whose INTx lines A-D go to
 * IOAPIC pins PCI_INTX_GSI_BASE..+3; each virtio device becomes a modern
 * virtio-pci function in the next free slot (1, 2, ...). Board "microvm":
 * no PCI; each device becomes a virtio-mmio window (microvm.c).
 *
 * \_SB.PCI0 (ACPI 6.4 6.1.5 _HID PNP0A03, 6.2.13 _PRT, 6.4.3.5 address space
 * descriptors), modelled on QEMU's pc DSDT:
 *   _CRS: bus numbers 0-0xFF; I/O 0x0000-0x0CF7 and 0x0D00-0xFFFF; the
 *         config ports 0xCF8/8 consumed by the bridge; memory
 *         PCI_MMIO_WINDOW_BASE..PCI_MMIO_WINDOW_END (below the IOAPIC);
 *   _PRT: for every slot 1..31 and pin INTA..INTD, GSI 16 + ((slot + pin) & 3),
 *         the routing devices/pci.c implements (no link devices: the pins
 *         are fixed, level-triggered, as on QEMU's q35 in APIC mode).
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "boot/board_netfs.h"
#include "boot/board_virtio.h"
#include "devices/bus.h"
#include "util/log.h"

static struct virtio_dev *create_backend(struct machine *m, const struct machine_device_config *c,
                                         char *err, size_t err_len)
{
    if (!strcmp(c->model, "virtio-blk")) {
        if (!c->file) {
            snprintf(err, err_len, "virtio-blk without a drive");
            return NULL;
        }
        return virtio_blk_create(&m->mem, c->file, c->readonly, c->serial, err, err_len);
    }
    if (!strcmp(c->model, "virtio-rng")) {
        struct virtio_dev *v = virtio_rng_create(&m->mem);
        if (!v)
            snprintf(err, err_len, "virtio-rng: out of memory");
        return v;
    }
    bool mine;
    struct virtio_dev *v = board_netfs_backend(m, c, &mine, err, err_len);   /* net, 9p, console */
    if (mine)
        return v;
    snprintf(err, err_len, "device model '%s' is not built into this board", c->model);
    return NULL;
}

int board_devices_create(struct machine *m, const struct irq_line *ioapic_pins, char *err,
                         size_t err_len)
{
    bool microvm = m->cfg.machine && !strcmp(m->cfg.machine, "microvm");
    struct board_devices *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    m->devs = d;
    if (!microvm) {
        d->pci = pci_host_create(&m->bus, &ioapic_pins[PCI_INTX_GSI_BASE]);
        if (!d->pci) {
            snprintf(err, err_len, "could not create the PCI host bridge (port 0xCF8 taken?)");
            return -1;
        }
    }
    for (int i = 0; i < m->cfg.ndevices; i++) {
        const struct machine_device_config *c = &m->cfg.devices[i];
        if (c->mmio != microvm) {
            snprintf(err, err_len, "%s-%s needs -M %s", c->model, c->mmio ? "device" : "pci",
                     c->mmio ? "microvm" : "pc");
            return -1;
        }
        struct virtio_dev *v = create_backend(m, c, err, err_len);
        if (!v)
            return -1;
        d->vdev[d->nvdev++] = v;
        if (microvm) {
            if (microvm_add_virtio(m, d, v, ioapic_pins, err, err_len))
                return -1;
        } else {
            int rc = virtio_pci_create(d->pci, -1, v);
            if (rc) {
                snprintf(err, err_len, "%s-pci: no PCI slot or BAR space left (%s)", c->model,
                         strerror(-rc));
                return -1;
            }
        }
    }
    return 0;
}

void board_devices_reset(struct machine *m)
{
    if (!m->devs)
        return;
    for (int i = 0; i < m->devs->nvdev; i++)
        virtio_reset(m->devs->vdev[i]);
}

/* ---------------------------------------------------------------- DSDT */

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }

/** Word Address Space Descriptor (6.4.3.5.3): producer, min/max fixed. */
static size_t word_space(uint8_t *p, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    p[0] = 0x88;
    put16(p + 1, 13);
    p[3] = type;                 /* 1 I/O, 2 bus number */
    p[4] = 0x0C;                 /* MaxFixed | MinFixed, positive decode, producer */
    p[5] = tflags;
    put16(p + 6, 0);             /* granularity */
    put16(p + 8, min);
    put16(p + 10, max);
    put16(p + 12, 0);            /* translation */
    put16(p + 14, (uint16_t)(max - min + 1));
    return 16;
}

static void pci0_crs(struct aml *out)
{
    uint8_t b[128];
    size_t n = 0;
    n += word_space(b + n, 2, 0, 0x00, 0xFF);                 /* bus 0-255 */
    static const uint8_t cf8[] = { 0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08 };
    memcpy(b + n, cf8, sizeof(cf8));                          /* IO(Decode16, 0xCF8, 0xCF8, 1, 8) */
    n += sizeof(cf8);
    n += word_space(b + n, 1, 3, 0x0000, 0x0CF7);             /* ISA + non-ISA ranges */
    n += word_space(b + n, 1, 3, 0x0D00, 0xFFFF);
    /* DWord Address Space Descriptor (6.4.3.5.2): memory, read/write, non-cacheable. */
    b[n] = 0x87;
    put16(b + n + 1, 23);
    b[n + 3] = 0;
    b[n + 4] = 0x0C;
    b[n + 5] = 0x01;
    put32(b + n + 6, 0);
    put32(b + n + 10, (uint32_t)PCI_MMIO_WINDOW_BASE);
    put32(b + n + 14, (uint32_t)PCI_MMIO_WINDOW_END);
    put32(b + n + 18, 0);
    put32(b + n + 22, (uint32_t)(PCI_MMIO_WINDOW_END - PCI_MMIO_WINDOW_BASE + 1));
    n += 26;
    b[n++] = 0x79;                                            /* End Tag */
    b[n++] = 0x00;
    aml_buffer(out, b, n);
}

void board_devices_dsdt(struct aml *sb, const struct board_devices *d)
{
    if (!d)
        return;
    if (!d->pci) {
        microvm_dsdt(sb, d);
        return;
    }
    struct aml *dev = calloc(1, sizeof(*dev)), *v = calloc(1, sizeof(*v)),
               *prt = calloc(1, sizeof(*prt)), *el = calloc(1, sizeof(*el));
    if (!dev || !v || !prt || !el) {
        sb->overflow = true;
        goto out;
    }
    aml_eisaid(v, "PNP0A03");
    aml_name_decl(dev, "_HID", v);
    v->n = 0; aml_int(v, 0); aml_name_decl(dev, "_ADR", v);
    v->n = 0; aml_int(v, 0); aml_name_decl(dev, "_UID", v);
    v->n = 0; aml_int(v, 0); aml_name_decl(dev, "_BBN", v);
    v->n = 0; pci0_crs(v); aml_name_decl(dev, "_CRS", v);
    unsigned count = 0;
    for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            el->n = 0;
            aml_int(el, (uint64_t)slot << 16 | 0xFFFF);      /* Address: device, any function */
            aml_int(el, pin);                                 /* Pin: 0 = INTA */
            aml_int(el, 0);                                   /* Source: none -> GSI */
            aml_int(el, PCI_INTX_GSI_BASE + ((slot + pin) & 3));
            aml_package(prt, 4, el);
            count++;
        }
    }
    v->n = 0;
    aml_package(v, count, prt);
    aml_name_decl(dev, "_PRT", v);
    if (prt->overflow || el->overflow || v->overflow || dev->overflow)
        sb->overflow = true;
    aml_device(sb, "PCI0", dev);
out:
    free(dev);
    free(v);
    free(prt);
    free(el);
}
