/*
 * devices/virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.2
 * 4.2.2 "MMIO Device Register Layout", 4.2.3 device initialisation).
 *
 * Registers (32-bit, little-endian; 4.2.2 table): MagicValue 0x000,
 * Version 0x004 (2), DeviceID 0x008, VendorID 0x00C, DeviceFeatures 0x010,
 * DeviceFeaturesSel 0x014, DriverFeatures 0x020, DriverFeaturesSel 0x024,
 * QueueSel 0x030, QueueNumMax 0x034, QueueNum 0x038, QueueReady 0x044,
 * QueueNotify 0x050, InterruptStatus 0x060, InterruptACK 0x064, Status 0x070,
 * QueueDesc 0x080/0x084, QueueDriver 0x090/0x094, QueueDevice 0x0A0/0x0A4,
 * SHMSel 0x0AC, SHMLen 0x0B0/0x0B4, SHMBase 0x0B8/0x0BC, ConfigGeneration
 * 0x0FC, device configuration from 0x100.
 *
 * Decided:
 *  - VendorID is 0x554D4551 ("QEMU"), as QEMU's devices report;
 *  - the interrupt line is level: high while InterruptStatus != 0, lowered
 *    by InterruptACK (4.2.2 "InterruptACK") and by reset;
 *  - non-32-bit accesses to the registers below 0x100 are guest errors
 *    (4.2.2.2: "MUST use only 32 bit wide and aligned reads and writes");
 *  - no shared memory regions: SHMLen reads all ones (-1 = absent);
 *  - queue parameters are frozen while QueueReady is 1; enabling a queue
 *    with unusable rings puts the device into NEEDS_RESET.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices/virtio.h"
#include "util/log.h"

#define VIRT_MAGIC   0x74726976u   /* "virt" */
#define VIRT_VERSION 2
#define VIRT_VENDOR  0x554D4551u   /* "QEMU" */
#define CONFIG_BASE  0x100

/** One virtio-mmio window. */
struct virtio_mmio {
    struct virtio_dev *vdev;
    struct irq_line irq;
    uint64_t base;
    uint32_t device_features_sel, driver_features_sel, queue_sel;
};

static void mmio_update_irq(struct virtio_mmio *m)
{
    irq_set(&m->irq, m->vdev->isr != 0);
}

static void mmio_notify(void *transport, struct virtio_dev *vdev, int q)
{
    mmio_update_irq(transport);
}

static struct virtqueue *sel_vq(struct virtio_mmio *m)
{
    return m->queue_sel < m->vdev->num_queues ? &m->vdev->vq[m->queue_sel] : NULL;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_mmio *m = opaque;
    struct virtio_dev *vdev = m->vdev;
    if (off >= CONFIG_BASE)
        return virtio_config_read(vdev, (uint32_t)(off - CONFIG_BASE), size);
    if (size != 4 || (off & 3)) {
        qlog(LOG_GUEST_ERRORS, "virtio-mmio@%#llx: %u-byte read at %#llx",
             (unsigned long long)m->base, size, (unsigned long long)off);
        return 0;
    }
    struct virtqueue *vq = sel_vq(m);
    switch (off) {
    case 0x000: return VIRT_MAGIC;
    case 0x004: return VIRT_VERSION;
    case 0x008: return vdev->ops->device_id;
    case 0x00C: return VIRT_VENDOR;
    case 0x010: return virtio_read_host_features(vdev, m->device_features_sel);
    case 0x034: return vq ? vq->max_size : 0;
    case 0x044: return vq ? vq->ready : 0;
    case 0x060: return vdev->isr;
    case 0x070: return vdev->status;
    case 0x080: return vq ? (uint32_t)vq->desc_gpa : 0;
    case 0x084: return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
    case 0x090: return vq ? (uint32_t)vq->avail_gpa : 0;
    case 0x094: return vq ? (uint32_t)(vq->avail_gpa >> 32) : 0;
    case 0x0A0: return vq ? (uint32_t)vq->used_gpa : 0;
    case 0x0A4: return vq ? (uint32_t)(vq->used_gpa >> 32) : 0;
    case 0x0B0: case 0x0B4: return 0xFFFFFFFFu;       /* SHMLen: no region */
    case 0x0B8: case 0x0BC: return 0xFFFFFFFFu;
    case 0x0FC: return vdev->config_generation;
    }
    qlog(LOG_GUEST_ERRORS, "virtio-mmio@%#llx: read of write-only/unknown register %#llx",
         (unsigned long long)m->base, (unsigned long long)off);
    return 0;
}

static void set_half(uint64_t *addr, bool high, uint32_t v)
{
    *addr = high ? (*addr & 0xFFFFFFFFull) | (uint64_t)v << 32 : (*addr & ~0xFFFFFFFFull) | v;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct virtio_mmio *m = opaque;
    struct virtio_dev *vdev = m->vdev;
    if (off >= CONFIG_BASE) {
        virtio_config_write(vdev, (uint32_t)(off - CONFIG_BASE), value, size);
        return;
    }
    if (size != 4 || (off & 3)) {
        qlog(LOG_GUEST_ERRORS, "virtio-mmio@%#llx: %u-byte write at %#llx",
             (unsigned long long)m->base, size, (unsigned long long)off);
        return;
    }
    uint32_t v = (uint32_t)value;
    struct virtqueue *vq = sel_vq(m);
    bool frozen = !vq || vq->ready;
    switch (off) {
    case 0x014: m->device_features_sel = v; break;
    case 0x020: virtio_write_guest_features(vdev, m->driver_features_sel, v); break;
    case 0x024: m->driver_features_sel = v; break;
    case 0x030: m->queue_sel = v; break;
    case 0x038:
        if (!frozen) {
            if (v == 0 || v > vq->max_size || (v & (v - 1)))
                qlog(LOG_GUEST_ERRORS, "virtio-mmio: queue %u size %u refused", m->queue_sel, v);
            else
                vq->size = (uint16_t)v;
        }
        break;
    case 0x044:
        if (!vq)
            break;
        if (v == 1 && !vq->ready) {
            if (virtqueue_check_layout(vdev, m->queue_sel)) {
                vq->ready = true;
                vq->last_avail_idx = vq->used_idx = 0;
                vq->signalled_valid = false;
            } else {
                virtio_set_needs_reset(vdev, "queue enabled with an unusable ring");
            }
        } else if (v == 0) {
            vq->ready = false;
        }
        break;
    case 0x050:
        if (v < vdev->num_queues && vdev->vq[v].ready && (vdev->status & VIRTIO_STATUS_DRIVER_OK))
            vdev->ops->queue_notify(vdev, v);
        break;
    case 0x064:
        vdev->isr &= (uint8_t)~v;
        mmio_update_irq(m);
        break;
    case 0x070:
        virtio_set_status(vdev, (uint8_t)v);
        if (v == 0) {
            m->queue_sel = 0;
            mmio_update_irq(m);
        }
        break;
    case 0x080: case 0x084: if (!frozen) set_half(&vq->desc_gpa, off & 4, v); break;
    case 0x090: case 0x094: if (!frozen) set_half(&vq->avail_gpa, off & 4, v); break;
    case 0x0A0: case 0x0A4: if (!frozen) set_half(&vq->used_gpa, off & 4, v); break;
    case 0x0AC: break;                                 /* SHMSel: nothing to select */
    default:
        qlog(LOG_GUEST_ERRORS, "virtio-mmio@%#llx: write to read-only/unknown register %#llx",
             (unsigned long long)m->base, (unsigned long long)off);
        break;
    }
}

static const struct io_ops mmio_ops = { mmio_read, mmio_write, 1, 8 };

int virtio_mmio_create(struct bus *bus, uint64_t base, struct irq_line irq, struct virtio_dev *vdev)
{
    if (!bus || !vdev)
        return -EINVAL;
    struct virtio_mmio *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->vdev = vdev;
    m->irq = irq;
    m->base = base;
    struct io_region r = { .base = base, .size_bytes = VIRTIO_MMIO_SIZE, .ops = &mmio_ops,
                           .opaque = m, .name = vdev->ops->name };
    int rc = io_space_add(&bus->mmio, &r);
    if (rc) {
        free(m);
        return rc;
    }
    vdev->transport = m;
    vdev->transport_notify = mmio_notify;
    return 0;
}
