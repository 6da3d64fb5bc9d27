/*
 * devices/virtio_rng.c - virtio entropy device (virtio 1.2 5.4).
 *
 * One request queue (5.4.2); no feature bits and no configuration (5.4.3,
 * 5.4.4). Each driver buffer is device-writable and is filled with bytes
 * from the host's getrandom(2) (5.4.6: the device writes entropy into the
 * buffer and reports how much).
 *
 * Decided: a chain may ask for at most 64 KiB at a time (the rest of its
 * buffers is left untouched and the written length says so); device-readable
 * buffers are ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "devices/virtio.h"
#include "util/log.h"

#define QUEUE_SIZE  64
#define MAX_CHUNK   65536u

/** One virtio-rng device. */
struct virtio_rng {
    struct virtio_dev vdev;
    struct virtq_elem elem;
    uint8_t buf[MAX_CHUNK];
};

static void rng_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_rng *s = vdev->opaque;
    bool any = false;
    while (virtqueue_pop(vdev, q, &s->elem) == 1) {
        size_t want = s->elem.in_len < MAX_CHUNK ? (size_t)s->elem.in_len : MAX_CHUNK;
        size_t got = 0;
        while (got < want) {
            ssize_t r = getrandom(s->buf + got, want - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        size_t written = virtq_elem_write(vdev, &s->elem, 0, s->buf, got);
        if (virtqueue_push(vdev, q, &s->elem, (uint32_t)written))
            return;
        any = true;
    }
    if (any)
        virtqueue_notify(vdev, q);
}

static const struct virtio_device_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .pci_class = 0x00FF00,          /* unclassified, as QEMU */
    .queue_notify = rng_queue_notify,
};

struct virtio_dev *virtio_rng_create(struct guest_mem *mem)
{
    struct virtio_rng *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (virtio_dev_init(&s->vdev, &rng_ops, s, mem, 1, QUEUE_SIZE, 0, NULL, 0)) {
        free(s);
        return NULL;
    }
    return &s->vdev;
}
