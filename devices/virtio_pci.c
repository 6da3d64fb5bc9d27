/*
 * devices/virtio_pci.c - the virtio-pci transport, modern interface only
 * (virtio 1.2 4.1).
 *
 * Follows 4.1.2 PCI device discovery (vendor 0x1AF4, device 0x1040 + device
 * id, revision 1, subsystem vendor 0x1AF4), 4.1.4 virtio structure PCI
 * capabilities, 4.1.4.3 common configuration, 4.1.4.4 notification,
 * 4.1.4.5 ISR status, 4.1.4.6 device-specific configuration, 4.1.5.1.2
 * MSI-X vector configuration (PCI 3.0 6.8.2 through devices/pci.c).
 *
 * Decided (layout, close to QEMU's):
 *   BAR0, 32-bit memory, 16 KiB:
 *     0x0000 common configuration (0x3C bytes, up to queue_reset)
 *     0x1000 ISR status (1 byte; read clears it and deasserts INTx)
 *     0x2000 device-specific configuration
 *     0x3000 notifications: queue q at 0x3000 + 4 * q (notify_off_multiplier 4)
 *   BAR1, 32-bit memory, 4 KiB: MSI-X table (0x000) and PBA (0x800),
 *     num_queues + 1 vectors.
 *  - Interrupts go through MSI-X when the driver enabled it (the vector the
 *    driver assigned, none for VIRTIO_MSI_NO_VECTOR), else INTx with the ISR.
 *  - A vector number beyond the table is stored as NO_VECTOR, so the driver
 *    reads back the failure (4.1.5.1.2).
 *  - Queue size/addresses are frozen while queue_enable is 1; enabling a
 *    queue whose rings are not in RAM or misaligned puts the device into
 *    NEEDS_RESET.
 *  - VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): an access to pci_cfg_data goes to
 *    BAR0 at cap.offset with width cap.length (1, 2 or 4, offset aligned);
 *    anything else reads 0 / is dropped and logged.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices/pci.h"
#include "devices/virtio.h"
#include "util/log.h"

#define VIRTIO_PCI_VENDOR      0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

/* cfg_type of struct virtio_pci_cap (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

#define BAR0_SIZE     0x4000
#define COMMON_OFF    0x0000
#define COMMON_LEN    0x003C
#define ISR_OFF       0x1000
#define DEVICE_OFF    0x2000
#define NOTIFY_OFF    0x3000
#define NOTIFY_MULT   4
#define MSIX_BAR      1

/** One virtio-pci function. */
struct virtio_pci {
    struct pci_device pci;
    struct virtio_dev *vdev;
    uint32_t device_feature_select;
    uint32_t driver_feature_select;
    uint16_t queue_select;
    uint8_t pci_cfg_cap;          /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
};

static void vp_notify(void *transport, struct virtio_dev *vdev, int q)
{
    struct virtio_pci *vp = transport;
    if (pci_msix_enabled(&vp->pci)) {
        uint16_t vec = q < 0 ? vdev->msix_config : vdev->vq[q].msix_vector;
        if (vec != VIRTIO_MSI_NO_VECTOR)
            pci_msix_notify(&vp->pci, vec);
        return;
    }
    pci_set_irq(&vp->pci, vdev->isr != 0);
}

static struct virtqueue *selected_vq(struct virtio_pci *vp)
{
    return vp->queue_select < vp->vdev->num_queues ? &vp->vdev->vq[vp->queue_select] : NULL;
}

/** Value of the common-config field at @off (aligned start of a field). */
static uint64_t common_field(struct virtio_pci *vp, unsigned off)
{
    struct virtio_dev *vdev = vp->vdev;
    struct virtqueue *vq = selected_vq(vp);
    switch (off) {
    case 0x00: return vp->device_feature_select;
    case 0x04: return virtio_read_host_features(vdev, vp->device_feature_select);
    case 0x08: return vp->driver_feature_select;
    case 0x0C: return vp->driver_feature_select <= 1
                   ? (uint32_t)(vdev->guest_features >> (32 * vp->driver_feature_select)) : 0;
    case 0x10: return vdev->msix_config;
    case 0x12: return vdev->num_queues;
    case 0x14: return vdev->status;
    case 0x15: return vdev->config_generation;
    case 0x16: return vp->queue_select;
    case 0x18: return vq ? vq->size : 0;
    case 0x1A: return vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
    case 0x1C: return vq ? vq->ready : 0;
    case 0x1E: return vq ? vp->queue_select : 0;        /* queue_notify_off */
    case 0x20: return vq ? vq->desc_gpa : 0;
    case 0x28: return vq ? vq->avail_gpa : 0;
    case 0x30: return vq ? vq->used_gpa : 0;
    case 0x38: return vq ? vp->queue_select : 0;        /* queue_notify_data */
    case 0x3A: return 0;                                /* queue_reset (not offered) */
    }
    return 0;
}

/** Field start and width containing @off. */
static unsigned field_of(unsigned off, unsigned *width)
{
    if (off < 0x10) { *width = 4; return off & ~3u; }
    if (off == 0x14 || off == 0x15) { *width = 1; return off; }
    if (off < 0x20 || off >= 0x38) { *width = 2; return off & ~1u; }
    *width = 8;
    return off & ~7u;
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ) {
        unsigned w, start = field_of(off + i, &w);
        uint64_t f = common_field(vp, start);
        unsigned shift = off + i - start;
        unsigned n = w - shift;
        if (n > size - i)
            n = size - i;
        uint64_t part = f >> (8 * shift);
        if (n < 8)
            part &= (1ull << (8 * n)) - 1;
        v |= part << (8 * i);
        i += n;
    }
    return v;
}

static void set_vector(struct virtio_pci *vp, uint16_t *slot, uint16_t vec)
{
    if (vec != VIRTIO_MSI_NO_VECTOR && vec >= vp->pci.msix.nvec) {
        qlog(LOG_GUEST_ERRORS, "%s: MSI-X vector %u beyond the table", vp->pci.name, vec);
        vec = VIRTIO_MSI_NO_VECTOR;
    }
    *slot = vec;
}

static void set_addr_part(uint64_t *addr, unsigned shift, uint64_t value, unsigned size)
{
    uint64_t mask = (size >= 8 ? ~0ull : (1ull << (8 * size)) - 1) << (8 * shift);
    *addr = (*addr & ~mask) | ((value << (8 * shift)) & mask);
}

static void common_write(struct virtio_pci *vp, unsigned off, uint64_t value, unsigned size)
{
    struct virtio_dev *vdev = vp->vdev;
    struct virtqueue *vq = selected_vq(vp);
    unsigned w, start = field_of(off, &w);
    unsigned shift = off - start;
    if (shift + size > w || (w < 8 && size != w)) {
        qlog(LOG_GUEST_ERRORS, "%s: common config write of %u bytes at %#x", vp->pci.name, size, off);
        return;
    }
    switch (start) {
    case 0x00: vp->device_feature_select = (uint32_t)value; break;
    case 0x08: vp->driver_feature_select = (uint32_t)value; break;
    case 0x0C: virtio_write_guest_features(vdev, vp->driver_feature_select, (uint32_t)value); break;
    case 0x10: set_vector(vp, &vdev->msix_config, (uint16_t)value); break;
    case 0x14:
        virtio_set_status(vdev, (uint8_t)value);
        if (value == 0) {
            vp->queue_select = 0;
            pci_set_irq(&vp->pci, 0);
        }
        break;
    case 0x16: vp->queue_select = (uint16_t)value; break;
    case 0x18:
        if (vq && !vq->ready) {
            if (value == 0 || value > vq->max_size || (value & (value - 1)))
                qlog(LOG_GUEST_ERRORS, "%s: queue %u size %llu refused", vp->pci.name,
                     vp->queue_select, (unsigned long long)value);
            else
                vq->size = (uint16_t)value;
        }
        break;
    case 0x1A: if (vq) set_vector(vp, &vq->msix_vector, (uint16_t)value); break;
    case 0x1C:
        if (!vq || vq->ready)
            break;
        if (value == 1) {
            if (virtqueue_check_layout(vdev, vp->queue_select)) {
                vq->ready = true;
                vq->last_avail_idx = vq->used_idx = 0;
                vq->signalled_valid = false;
            } else {
                virtio_set_needs_reset(vdev, "queue enabled with an unusable ring");
            }
        }
        break;
    case 0x20: if (vq && !vq->ready) set_addr_part(&vq->desc_gpa, shift, value, size); break;
    case 0x28: if (vq && !vq->ready) set_addr_part(&vq->avail_gpa, shift, value, size); break;
    case 0x30: if (vq && !vq->ready) set_addr_part(&vq->used_gpa, shift, value, size); break;
    default:
        qlog(LOG_GUEST_ERRORS, "%s: write to read-only common config field %#x", vp->pci.name, start);
        break;
    }
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_pci *vp = opaque;
    if (off < COMMON_LEN)
        return common_read(vp, (unsigned)off, size);
    if (off == ISR_OFF) {
        uint8_t isr = vp->vdev->isr;
        vp->vdev->isr = 0;                 /* 4.1.4.5.1: reading clears it */
        pci_set_irq(&vp->pci, 0);
        return isr;
    }
    if (off >= DEVICE_OFF && off < DEVICE_OFF + 0x1000)
        return virtio_config_read(vp->vdev, (uint32_t)(off - DEVICE_OFF), size);
    return 0;
}

static void bar0_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vdev = vp->vdev;
    if (off < COMMON_LEN) {
        common_write(vp, (unsigned)off, value, size);
    } else if (off >= DEVICE_OFF && off < DEVICE_OFF + 0x1000) {
        virtio_config_write(vdev, (uint32_t)(off - DEVICE_OFF), value, size);
    } else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULT * VIRTIO_MAX_QUEUES) {
        unsigned q = (unsigned)(off - NOTIFY_OFF) / NOTIFY_MULT;
        if (q < vdev->num_queues && vdev->vq[q].ready && (vdev->status & VIRTIO_STATUS_DRIVER_OK))
            vdev->ops->queue_notify(vdev, q);
    } else {
        qlog(LOG_GUEST_ERRORS, "%s: write to unused BAR0 offset %#llx", vp->pci.name,
             (unsigned long long)off);
    }
}

static const struct io_ops bar0_ops = { bar0_read, bar0_write, 1, 8 };

/** The BAR0 access the PCI_CFG window names, or false if it is not a valid one (4.1.4.9.1). */
static bool pci_cfg_window(struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
    uint8_t c = vp->pci_cfg_cap;
    uint8_t bar = (uint8_t)pci_get_config(&vp->pci, c + 4, 1);
    *off = pci_get_config(&vp->pci, c + 8, 4);
    *len = pci_get_config(&vp->pci, c + 12, 4);
    if (bar != 0 || (*len != 1 && *len != 2 && *len != 4) || (*off & (*len - 1)) ||
        *off >= BAR0_SIZE) {
        qlog(LOG_GUEST_ERRORS, "%s: PCI_CFG window bar %u offset %#x length %u not usable",
             vp->pci.name, bar, *off, *len);
        return false;
    }
    return true;
}

static void vp_config_read(struct pci_device *d, uint32_t offset, unsigned len)
{
    struct virtio_pci *vp = d->opaque;
    uint8_t c = vp->pci_cfg_cap;
    if (!c || offset + len <= c + 16u || offset >= c + 20u)
        return;
    uint32_t off;
    unsigned n;
    uint32_t v = 0;
    if (pci_cfg_window(vp, &off, &n))
        v = (uint32_t)bar0_read(vp, off, n);
    pci_set_config(d, c + 16, v, 4);
}

static void vp_config_written(struct pci_device *d, uint32_t offset, unsigned len)
{
    struct virtio_pci *vp = d->opaque;
    uint8_t c = vp->pci_cfg_cap;
    if (!c || offset + len <= c + 16u || offset >= c + 20u)
        return;
    uint32_t off;
    unsigned n;
    if (pci_cfg_window(vp, &off, &n))
        bar0_write(vp, off, pci_get_config(d, c + 16, n), n);
}

/** Append a struct virtio_pci_cap (4.1.4) for @cfg_type at @offset/@length in BAR0. */
static int add_virtio_cap(struct pci_device *d, uint8_t cfg_type, uint32_t offset, uint32_t length,
                          bool notify)
{
    uint8_t len = notify ? 20 : 16;
    uint8_t c = pci_add_capability(d, PCI_CAP_ID_VNDR, len);
    if (!c)
        return -ENOSPC;
    pci_set_config(d, c + 2, len, 1);       /* cap_len */
    pci_set_config(d, c + 3, cfg_type, 1);
    pci_set_config(d, c + 4, 0, 1);         /* bar */
    pci_set_config(d, c + 5, 0, 1);         /* id */
    pci_set_config(d, c + 8, offset, 4);
    pci_set_config(d, c + 12, length, 4);
    if (notify)
        pci_set_config(d, c + 16, NOTIFY_MULT, 4);
    return 0;
}

int virtio_pci_create(struct pci_host *host, int slot, struct virtio_dev *vdev)
{
    if (!host || !vdev)
        return -EINVAL;
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    if (!vp)
        return -ENOMEM;
    vp->vdev = vdev;
    struct pci_device *d = &vp->pci;
    pci_device_init(d, vdev->ops->name, VIRTIO_PCI_VENDOR,
                    (uint16_t)(VIRTIO_PCI_DEVICE_BASE + vdev->ops->device_id),
                    vdev->ops->pci_class, 1);
    pci_set_config(d, PCI_SUBSYSTEM_VENDOR, VIRTIO_PCI_VENDOR, 2);
    pci_set_config(d, PCI_SUBSYSTEM_ID, 0x1100, 2);          /* as QEMU's modern devices */
    d->bar[0] = (struct pci_bar){ .size = BAR0_SIZE, .ops = &bar0_ops, .opaque = vp,
                                  .name = vdev->ops->name, .mapped_at = PCI_BAR_UNMAPPED };
    int rc = pci_msix_init(d, vdev->num_queues + 1, MSIX_BAR);
    if (!rc)
        rc = add_virtio_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, COMMON_LEN, false);
    if (!rc)
        rc = add_virtio_cap(d, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 1, false);
    if (!rc && vdev->config_len)
        rc = add_virtio_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFF, vdev->config_len, false);
    if (!rc)
        rc = add_virtio_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF,
                            NOTIFY_MULT * vdev->num_queues, true);
    if (!rc)
        rc = add_virtio_cap(d, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, false);
    if (!rc && d->cap_next + 4u <= PCI_CONFIG_SIZE) {
        uint8_t c = d->config[PCI_CAPABILITY_LIST];        /* the one just added */
        pci_set_config(d, c + 2, 20, 1);                    /* cap_len includes pci_cfg_data */
        d->cap_next = (uint8_t)(c + 20);
        pci_set_wmask(d, c + 4, 0xFF, 1);                   /* bar */
        pci_set_wmask(d, c + 8, 0xFFFFFFFFu, 4);            /* offset */
        pci_set_wmask(d, c + 12, 0xFFFFFFFFu, 4);           /* length */
        pci_set_wmask(d, c + 16, 0xFFFFFFFFu, 4);           /* pci_cfg_data */
        vp->pci_cfg_cap = c;
        d->opaque = vp;
        d->config_read = vp_config_read;
        d->config_written = vp_config_written;
    }
    if (!rc)
        rc = pci_device_register(host, d, slot);
    if (rc) {
        free(vp);
        return rc;
    }
    vdev->transport = vp;
    vdev->transport_notify = vp_notify;
    return 0;
}
