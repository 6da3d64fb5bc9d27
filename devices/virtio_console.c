/*
 * devices/virtio_console.c - virtio console device (virtio 1.2 5.3), the
 * single-port form: no VIRTIO_CONSOLE_F_MULTIPORT, so there is exactly one
 * port, port 0, on receiveq(port0) = queue 0 and transmitq(port0) = queue 1
 * (5.3.2), and Linux's virtio_console makes it a console: /dev/hvc0.
 *
 * Decided: the command line is QEMU's (-device virtio-serial-pci plus
 * -device virtconsole,chardev=ID), but the device is the simple console
 * rather than QEMU's multiport virtio-serial: one virtconsole per
 * virtio-serial device, which is all Linux needs for hvc0 and keeps the
 * control-queue protocol (5.3.6.2) out. No feature bits are offered (no
 * F_SIZE, F_EMERG_WRITE), so the config space is empty.
 *
 * Host input is taken only when the driver has a receive buffer waiting
 * (chardev.can_receive reports its size), so nothing is lost: the chardev
 * keeps what the device cannot take yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"
#include "util/log.h"

#define QUEUE_SIZE 64
#define RXQ 0
#define TXQ 1
#define TX_CHUNK 4096

struct virtio_console {
    struct virtio_dev vdev;
    struct chardev *chr;
    struct virtq_elem rx;          /* a popped receive buffer waiting for input */
    bool rx_held;
    struct virtq_elem tx;
    uint8_t buf[TX_CHUNK];
};

static bool ready(struct virtio_console *s)
{
    return (s->vdev.status & VIRTIO_STATUS_DRIVER_OK) && !s->vdev.broken;
}

static int con_can_receive(void *opaque)
{
    struct virtio_console *s = opaque;
    if (!ready(s))
        return 0;
    if (!s->rx_held) {
        if (virtqueue_pop(&s->vdev, RXQ, &s->rx) != 1)
            return 0;
        s->rx_held = true;
    }
    return s->rx.in_len > 65536 ? 65536 : (int)s->rx.in_len;
}

static void con_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *s = opaque;
    while (len && con_can_receive(s) > 0) {
        size_t w = virtq_elem_write(&s->vdev, &s->rx, 0, buf, len);
        s->rx_held = false;
        if (virtqueue_push(&s->vdev, RXQ, &s->rx, (uint32_t)w))
            return;
        virtqueue_notify(&s->vdev, RXQ);
        if (!w)
            break;
        buf += w;
        len -= w;
    }
    if (len)
        qlog(LOG_GUEST_ERRORS, "virtio-console: %zu input bytes dropped (no buffer)", len);
}

static void con_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_console *s = vdev->opaque;
    if (q != TXQ)
        return;         /* new receive buffers: the chardev offers input on its next poll */
    bool any = false;
    while (virtqueue_pop(vdev, TXQ, &s->tx) == 1) {
        for (uint64_t off = 0; off < s->tx.out_len; ) {
            size_t n = virtq_elem_read(vdev, &s->tx, off, s->buf, sizeof(s->buf));
            if (!n)
                break;
            if (s->chr && s->chr->write)
                s->chr->write(s->chr, s->buf, n);
            off += n;
        }
        if (virtqueue_push(vdev, TXQ, &s->tx, 0))
            return;
        any = true;
    }
    if (any)
        virtqueue_notify(vdev, TXQ);
}

static void con_reset(struct virtio_dev *vdev)
{
    struct virtio_console *s = vdev->opaque;
    s->rx_held = false;     /* the core forgot the queues; the buffer is gone */
}

static const struct virtio_device_ops con_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000,          /* simple communication controller, other (QEMU) */
    .queue_notify = con_queue_notify,
    .reset = con_reset,
};

struct virtio_dev *virtio_console_create(struct guest_mem *mem, struct chardev *chr)
{
    struct virtio_console *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->chr = chr;
    if (virtio_dev_init(&s->vdev, &con_ops, s, mem, 2, QUEUE_SIZE, 0, NULL, 0)) {
        free(s);
        return NULL;
    }
    if (chr) {
        chr->opaque = s;
        chr->can_receive = con_can_receive;
        chr->receive = con_receive;
    }
    return &s->vdev;
}
