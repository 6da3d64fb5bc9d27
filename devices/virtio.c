/*
 * devices/virtio.c - the virtio core: feature negotiation, device status,
 * reset and the split virtqueue (virtio 1.2 2.1, 2.2, 2.7). See
 * devices/virtio.h for the contract.
 *
 * Ring layout (2.7, little-endian; 'size' = Queue Size):
 *   descriptor table  16 bytes each: le64 addr, le32 len, le16 flags, le16 next
 *   available ring    le16 flags, le16 idx, le16 ring[size], le16 used_event
 *   used ring         le16 flags, le16 idx, {le32 id, le32 len}[size], le16 avail_event
 *
 * Decided:
 *  - only modern devices: VERSION_1 is always offered and FEATURES_OK is
 *    refused without it (no legacy interface);
 *  - a chain longer than Queue Size (2.7.5.3.1: "MUST NOT create a
 *    descriptor chain longer than the Queue Size"), or than an indirect
 *    table's entry count, is a loop; VIRTQ_MAX_SEGS bounds both;
 *  - zero-length buffers are accepted and dropped from the element;
 *  - every ring access goes through gpa_read/gpa_write, so a ring that the
 *    driver moved out of RAM breaks the queue (NEEDS_RESET) instead of
 *    touching host memory;
 *  - we read the host's own memory order: the vCPU and the device run on
 *    the same thread, so no barriers are needed between ring accesses.
 */
#include <errno.h>
#include <string.h>

#include "devices/virtio.h"
#include "util/log.h"

#define CORE_FEATURES ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_RING_INDIRECT_DESC) | \
                       (1ull << VIRTIO_F_RING_EVENT_IDX))

int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_device_ops *ops, void *opaque,
                    struct guest_mem *mem, unsigned num_queues, uint16_t queue_max,
                    uint64_t features, uint8_t *config, uint32_t config_len)
{
    if (!vdev || !ops || !mem || num_queues == 0 || num_queues > VIRTIO_MAX_QUEUES ||
        queue_max == 0 || queue_max > VIRTQ_MAX_SIZE || (queue_max & (queue_max - 1)))
        return -EINVAL;
    memset(vdev, 0, sizeof(*vdev));
    vdev->ops = ops;
    vdev->opaque = opaque;
    vdev->mem = mem;
    vdev->host_features = features | CORE_FEATURES;
    vdev->config = config;
    vdev->config_len = config ? config_len : 0;
    vdev->num_queues = num_queues;
    for (unsigned q = 0; q < num_queues; q++)
        vdev->vq[q].max_size = queue_max;
    virtio_reset(vdev);
    return 0;
}

void virtio_reset(struct virtio_dev *vdev)
{
    vdev->status = 0;
    vdev->guest_features = 0;
    vdev->isr = 0;
    vdev->broken = false;
    vdev->msix_config = VIRTIO_MSI_NO_VECTOR;
    for (unsigned q = 0; q < vdev->num_queues; q++) {
        struct virtqueue *vq = &vdev->vq[q];
        uint16_t max = vq->max_size;
        memset(vq, 0, sizeof(*vq));
        vq->max_size = max;
        vq->size = max;           /* 4.1.4.3: queue_size starts at the maximum */
        vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
    }
    if (vdev->ops && vdev->ops->reset)
        vdev->ops->reset(vdev);
}

void virtio_set_status(struct virtio_dev *vdev, uint8_t status)
{
    if (status == 0) {
        virtio_reset(vdev);
        return;
    }
    uint8_t old = vdev->status;
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* 2.2.1 / 3.1.1 step 6: accept FEATURES_OK only for a subset of what we offer. */
        if ((vdev->guest_features & ~vdev->host_features) ||
            !virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
            qlog(LOG_GUEST_ERRORS, "%s: FEATURES_OK refused (driver features %#llx, offered %#llx)",
                 vdev->ops->name, (unsigned long long)vdev->guest_features,
                 (unsigned long long)vdev->host_features);
            status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    if (old & ~status & ~VIRTIO_STATUS_NEEDS_RESET)
        qlog(LOG_GUEST_ERRORS, "%s: driver cleared status bits %#x without a reset",
             vdev->ops->name, old & ~status);
    /* NEEDS_RESET is the device's bit: keep it as we set it. */
    vdev->status = (uint8_t)((status & ~VIRTIO_STATUS_NEEDS_RESET) |
                             (old & VIRTIO_STATUS_NEEDS_RESET));
    if (vdev->ops->set_status)
        vdev->ops->set_status(vdev, vdev->status);
}

void virtio_write_guest_features(struct virtio_dev *vdev, unsigned sel, uint32_t value)
{
    if (vdev->status & VIRTIO_STATUS_FEATURES_OK) {
        qlog(LOG_GUEST_ERRORS, "%s: features written after FEATURES_OK", vdev->ops->name);
        return;
    }
    if (sel > 1) {
        if (value)
            qlog(LOG_GUEST_ERRORS, "%s: driver features word %u = %#x (none offered)",
                 vdev->ops->name, sel, value);
        return;
    }
    unsigned sh = sel * 32;
    vdev->guest_features = (vdev->guest_features & ~(0xFFFFFFFFull << sh)) | ((uint64_t)value << sh);
}

uint32_t virtio_read_host_features(const struct virtio_dev *vdev, unsigned sel)
{
    return sel > 1 ? 0 : (uint32_t)(vdev->host_features >> (sel * 32));
}

uint64_t virtio_config_read(struct virtio_dev *vdev, uint32_t offset, unsigned len)
{
    if (len > 8 || offset > vdev->config_len || len > vdev->config_len - offset) {
        qlog(LOG_GUEST_ERRORS, "%s: config read of %u bytes at %#x beyond %u bytes",
             vdev->ops->name, len, offset, vdev->config_len);
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)vdev->config[offset + i] << (8 * i);
    return v;
}

void virtio_config_write(struct virtio_dev *vdev, uint32_t offset, uint64_t value, unsigned len)
{
    if (!vdev->ops->config_write) {
        qlog(LOG_GUEST_ERRORS, "%s: write to read-only config at %#x", vdev->ops->name, offset);
        return;
    }
    if (len > 8 || offset > vdev->config_len || len > vdev->config_len - offset) {
        qlog(LOG_GUEST_ERRORS, "%s: config write of %u bytes at %#x beyond %u bytes",
             vdev->ops->name, len, offset, vdev->config_len);
        return;
    }
    for (unsigned i = 0; i < len; i++)
        vdev->config[offset + i] = (uint8_t)(value >> (8 * i));
    vdev->ops->config_write(vdev, offset, len);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
    vdev->config_generation++;
    vdev->isr |= VIRTIO_ISR_CONFIG;
    if ((vdev->status & VIRTIO_STATUS_DRIVER_OK) || (vdev->status & VIRTIO_STATUS_NEEDS_RESET))
        if (vdev->transport_notify)
            vdev->transport_notify(vdev->transport, vdev, -1);
}

void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why)
{
    qlog(LOG_GUEST_ERRORS, "%s: %s: device needs reset", vdev->ops->name, why);
    if (vdev->broken)
        return;
    vdev->broken = true;
    vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_config_changed(vdev);
}

/* ---------------------------------------------------------------- rings */

static bool rd16(struct virtio_dev *vdev, uint64_t gpa, uint16_t *v)
{
    uint8_t b[2];
    if (gpa_read(vdev->mem, gpa, b, 2))
        return false;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return true;
}

static bool wr16(struct virtio_dev *vdev, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return gpa_write(vdev->mem, gpa, b, 2) == 0;
}

static bool ring_in_ram(struct virtio_dev *vdev, uint64_t gpa, uint64_t len)
{
    return gpa + len >= gpa && gpa_map(vdev->mem, gpa, len) != NULL;
}

bool virtqueue_check_layout(struct virtio_dev *vdev, unsigned q)
{
    if (q >= vdev->num_queues)
        return false;
    struct virtqueue *vq = &vdev->vq[q];
    const char *why = NULL;
    uint64_t n = vq->size;
    if (n == 0 || n > vq->max_size || (n & (n - 1)))
        why = "queue size is not a power of two up to the maximum";
    else if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
        why = "misaligned ring (2.7 Virtqueue Part Alignment)";
    else if (!ring_in_ram(vdev, vq->desc_gpa, 16 * n) ||
             !ring_in_ram(vdev, vq->avail_gpa, 6 + 2 * n) ||
             !ring_in_ram(vdev, vq->used_gpa, 6 + 8 * n))
        why = "ring outside guest RAM";
    if (why) {
        qlog(LOG_GUEST_ERRORS, "%s: queue %u: %s (desc %#llx avail %#llx used %#llx size %u)",
             vdev->ops->name, q, why, (unsigned long long)vq->desc_gpa,
             (unsigned long long)vq->avail_gpa, (unsigned long long)vq->used_gpa, vq->size);
        return false;
    }
    return true;
}

/** A raw descriptor (2.7.5). */
struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static bool read_desc(struct virtio_dev *vdev, uint64_t table, uint32_t i, struct vring_desc *d)
{
    uint8_t b[16];
    if (gpa_read(vdev->mem, table + 16ull * i, b, 16))
        return false;
    d->addr = 0;
    for (int k = 7; k >= 0; k--)
        d->addr = d->addr << 8 | b[k];
    d->len = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
    d->flags = (uint16_t)(b[12] | b[13] << 8);
    d->next = (uint16_t)(b[14] | b[15] << 8);
    return true;
}

/** Add one buffer to @elem; returns NULL or the reason it is refused. */
static const char *add_buf(struct virtio_dev *vdev, struct virtq_elem *elem, const struct vring_desc *d)
{
    bool write = d->flags & VIRTQ_DESC_F_WRITE;
    if (!write && elem->n_in)
        return "device-readable descriptor after a device-writable one (2.7.4.2)";
    if (d->len == 0)
        return NULL;
    if (d->addr + d->len < d->addr || !gpa_map(vdev->mem, d->addr, d->len))
        return "buffer outside guest RAM";
    if (elem->n_out + elem->n_in >= VIRTQ_MAX_SEGS)
        return "too many buffers in one chain";
    if (write) {
        elem->in[elem->n_in++] = (struct virtq_buf){ d->addr, d->len };
        elem->in_len += d->len;
    } else {
        elem->out[elem->n_out++] = (struct virtq_buf){ d->addr, d->len };
        elem->out_len += d->len;
    }
    return NULL;
}

/** Walk the chain starting at @head; returns NULL or the reason it is broken. */
static const char *walk_chain(struct virtio_dev *vdev, struct virtqueue *vq, uint16_t head,
                              struct virtq_elem *elem)
{
    uint64_t table = vq->desc_gpa;
    uint32_t table_n = vq->size;
    bool indirect = false;
    uint32_t i = head, seen = 0;
    struct vring_desc d;

    for (;;) {
        if (i >= table_n)
            return "descriptor index beyond the table";
        if (++seen > table_n)
            return "descriptor chain loops (longer than the table)";
        if (!read_desc(vdev, table, i, &d))
            return "descriptor table outside guest RAM";
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!virtio_has_feature(vdev, VIRTIO_F_RING_INDIRECT_DESC))
                return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
            if (indirect)
                return "nested indirect descriptor (2.7.5.3.1)";
            if (d.flags & VIRTQ_DESC_F_NEXT)
                return "indirect descriptor with NEXT set (2.7.5.3.1)";
            if (d.len == 0 || (d.len & 15))
                return "indirect table length is not a non-zero multiple of 16";
            if (d.len / 16 > VIRTQ_MAX_SEGS)
                return "indirect table too long";
            if (d.addr + d.len < d.addr || !gpa_map(vdev->mem, d.addr, d.len))
                return "indirect table outside guest RAM";
            if (elem->n_out + elem->n_in)
                return "indirect descriptor after direct buffers";
            indirect = true;
            table = d.addr;
            table_n = d.len / 16;
            i = 0;
            seen = 0;
            continue;
        }
        const char *why = add_buf(vdev, elem, &d);
        if (why)
            return why;
        if (elem->out_len + elem->in_len > (1ull << 32))
            return "chain longer than 4 GiB";
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return NULL;
        i = d.next;
    }
}

int virtqueue_pop(struct virtio_dev *vdev, unsigned q, struct virtq_elem *elem)
{
    if (q >= vdev->num_queues || vdev->broken)
        return vdev->broken ? -1 : 0;
    struct virtqueue *vq = &vdev->vq[q];
    if (!vq->ready || !(vdev->status & VIRTIO_STATUS_DRIVER_OK))
        return 0;
    uint16_t avail_idx;
    if (!rd16(vdev, vq->avail_gpa + 2, &avail_idx)) {
        virtio_set_needs_reset(vdev, "available ring outside guest RAM");
        return -1;
    }
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail_idx);
    if (pending > vq->size) {
        virtio_set_needs_reset(vdev, "available idx moved more than Queue Size ahead");
        return -1;
    }
    if (pending == 0) {
        /* 2.7.10: ask for a notification when the next buffer arrives. */
        if (virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX) &&
            !wr16(vdev, vq->used_gpa + 4 + 8ull * vq->size, vq->last_avail_idx)) {
            virtio_set_needs_reset(vdev, "used ring outside guest RAM");
            return -1;
        }
        return 0;
    }
    uint16_t head;
    if (!rd16(vdev, vq->avail_gpa + 4 + 2ull * (vq->last_avail_idx % vq->size), &head)) {
        virtio_set_needs_reset(vdev, "available ring outside guest RAM");
        return -1;
    }
    elem->head = head;
    elem->n_out = elem->n_in = 0;
    elem->out_len = elem->in_len = 0;
    const char *why = walk_chain(vdev, vq, head, elem);
    if (why) {
        virtio_set_needs_reset(vdev, why);
        return -1;
    }
    vq->last_avail_idx++;
    if (virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX))
        wr16(vdev, vq->used_gpa + 4 + 8ull * vq->size, vq->last_avail_idx);
    return 1;
}

int virtqueue_push(struct virtio_dev *vdev, unsigned q, const struct virtq_elem *elem,
                   uint32_t written)
{
    if (q >= vdev->num_queues || vdev->broken)
        return -1;
    struct virtqueue *vq = &vdev->vq[q];
    if (written > elem->in_len)
        written = (uint32_t)elem->in_len;
    uint8_t e[8];
    uint32_t id = elem->head;
    for (int k = 0; k < 4; k++) {
        e[k] = (uint8_t)(id >> (8 * k));
        e[4 + k] = (uint8_t)(written >> (8 * k));
    }
    uint64_t slot = vq->used_gpa + 4 + 8ull * (vq->used_idx % vq->size);
    if (gpa_write(vdev->mem, slot, e, 8) || !wr16(vdev, vq->used_gpa + 2, (uint16_t)(vq->used_idx + 1))) {
        virtio_set_needs_reset(vdev, "used ring outside guest RAM");
        return -1;
    }
    vq->used_idx++;
    return 0;
}

/** vring_need_event() of 2.7.10: did new_idx pass event_idx since old? */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

void virtqueue_notify(struct virtio_dev *vdev, unsigned q)
{
    if (q >= vdev->num_queues || !(vdev->status & VIRTIO_STATUS_DRIVER_OK))
        return;
    struct virtqueue *vq = &vdev->vq[q];
    bool send;
    if (virtio_has_feature(vdev, VIRTIO_F_RING_EVENT_IDX)) {
        uint16_t used_event;
        if (!rd16(vdev, vq->avail_gpa + 4 + 2ull * vq->size, &used_event)) {
            virtio_set_needs_reset(vdev, "available ring outside guest RAM");
            return;
        }
        uint16_t old = vq->signalled_used;
        bool valid = vq->signalled_valid;
        vq->signalled_used = vq->used_idx;
        vq->signalled_valid = true;
        send = !valid || need_event(used_event, vq->used_idx, old);
    } else {
        uint16_t flags;
        if (!rd16(vdev, vq->avail_gpa, &flags)) {
            virtio_set_needs_reset(vdev, "available ring outside guest RAM");
            return;
        }
        send = !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (!send)
        return;
    vdev->isr |= VIRTIO_ISR_QUEUE;
    if (vdev->transport_notify)
        vdev->transport_notify(vdev->transport, vdev, (int)q);
}

/* ---------------------------------------------------------------- buffers */

static size_t copy_bufs(struct virtio_dev *vdev, const struct virtq_buf *bufs, unsigned n,
                        uint64_t offset, uint8_t *host, size_t len, bool to_guest)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (offset >= bufs[i].len) {
            offset -= bufs[i].len;
            continue;
        }
        uint64_t chunk = bufs[i].len - offset;
        if (chunk > len - done)
            chunk = len - done;
        int rc = to_guest ? gpa_write(vdev->mem, bufs[i].gpa + offset, host + done, chunk)
                          : gpa_read(vdev->mem, bufs[i].gpa + offset, host + done, chunk);
        if (rc)
            break;
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t virtq_elem_read(struct virtio_dev *vdev, const struct virtq_elem *elem, uint64_t offset,
                       void *buf, size_t len)
{
    return copy_bufs(vdev, elem->out, elem->n_out, offset, buf, len, false);
}

size_t virtq_elem_write(struct virtio_dev *vdev, const struct virtq_elem *elem, uint64_t offset,
                        const void *buf, size_t len)
{
    return copy_bufs(vdev, elem->in, elem->n_in, offset, (uint8_t *)buf, len, true);
}
