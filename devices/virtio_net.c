/*
 * devices/virtio_net.c - virtio network device (virtio 1.2 5.1) on the
 * libslirp user-mode backend (devices/slirp_net.c).
 *
 * Follows 5.1.2 virtqueues (receiveq1 = 0, transmitq1 = 1; no control
 * queue, no multiqueue), 5.1.3 feature bits (offered: VIRTIO_NET_F_MAC,
 * VIRTIO_NET_F_STATUS), 5.1.4 config layout (mac[6], le16 status with
 * VIRTIO_NET_S_LINK_UP), 5.1.6 packet header: with VERSION_1 the
 * struct virtio_net_hdr is 12 bytes including num_buffers (5.1.6, "the
 * legacy ... without VIRTIO_NET_F_MRG_RXBUF" is 10 bytes; not offered).
 * No checksum or segmentation offloads are offered, so the driver sends
 * complete frames with correct checksums, and received frames carry a zero
 * header with num_buffers = 1 (5.1.6.4).
 *
 * Decided: frames for the guest that find no receive buffer wait in a queue
 * of RX_BACKLOG frames (flushed when the driver adds buffers; older ones are
 * dropped beyond that, TCP retransmits); a frame longer than the buffer the
 * driver gave is dropped and logged (without MRG_RXBUF the driver's buffers
 * hold 1514-byte frames plus the header, 5.1.6.3.1). Receive and transmit
 * use separate popped chains: slirp answers some frames (ARP, NDP, DHCP)
 * from inside slirp_input(), so a frame for the guest can arrive while a
 * transmit chain is still being processed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/slirp_net.h"
#include "devices/virtio.h"
#include "util/log.h"

#define QUEUE_SIZE             256
#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_STATUS    16
#define VIRTIO_NET_S_LINK_UP   1
#define NET_HDR_LEN            12
#define MAX_FRAME              (65536 + NET_HDR_LEN)
#define RX_BACKLOG             64
#define RXQ 0
#define TXQ 1

struct rx_frame {
    size_t len;
    uint8_t *data;
};

struct virtio_net {
    struct virtio_dev vdev;
    struct slirp_net *backend;
    /* Separate chains for the two directions: slirp_input() may answer
     * synchronously (ARP, NDP, DHCP), so net_receive runs inside tx_flush. */
    struct virtq_elem rx_elem, tx_elem;
    uint8_t config[8];             /* mac[6], status le16 */
    uint8_t buf[MAX_FRAME];
    struct rx_frame backlog[RX_BACKLOG];
    unsigned bl_head, bl_count;
};

static bool driver_ok(struct virtio_net *s)
{
    return (s->vdev.status & VIRTIO_STATUS_DRIVER_OK) && !s->vdev.broken;
}

/* Put one frame into the next receive buffer. 1 done, 0 no buffer, -1 dropped/broken. */
static int rx_one(struct virtio_net *s, const uint8_t *frame, size_t len)
{
    struct virtio_dev *vdev = &s->vdev;
    int r = virtqueue_pop(vdev, RXQ, &s->rx_elem);
    if (r <= 0)
        return r;
    if (s->rx_elem.in_len < NET_HDR_LEN + len) {
        qlog(LOG_GUEST_ERRORS, "virtio-net: %zu-byte frame does not fit a %llu-byte rx buffer",
             len, (unsigned long long)s->rx_elem.in_len);
        virtqueue_push(vdev, RXQ, &s->rx_elem, 0);
        return -1;
    }
    uint8_t hdr[NET_HDR_LEN] = { 0 };
    hdr[10] = 1;                  /* num_buffers = 1 (le16) */
    size_t w = virtq_elem_write(vdev, &s->rx_elem, 0, hdr, NET_HDR_LEN);
    w += virtq_elem_write(vdev, &s->rx_elem, NET_HDR_LEN, frame, len);
    if (virtqueue_push(vdev, RXQ, &s->rx_elem, (uint32_t)w))
        return -1;
    return 1;
}

static void rx_flush(struct virtio_net *s)
{
    bool any = false;
    while (s->bl_count && driver_ok(s)) {
        struct rx_frame *f = &s->backlog[s->bl_head];
        int r = rx_one(s, f->data, f->len);
        if (r == 0)
            break;
        any |= r > 0;
        free(f->data);
        f->data = NULL;
        s->bl_head = (s->bl_head + 1) % RX_BACKLOG;
        s->bl_count--;
    }
    if (any)
        virtqueue_notify(&s->vdev, RXQ);
}

static void backlog_clear(struct virtio_net *s)
{
    while (s->bl_count) {
        free(s->backlog[s->bl_head].data);
        s->backlog[s->bl_head].data = NULL;
        s->bl_head = (s->bl_head + 1) % RX_BACKLOG;
        s->bl_count--;
    }
}

/* slirp -> guest. */
static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *s = opaque;
    if (!driver_ok(s))
        return;
    if (!s->bl_count) {
        int r = rx_one(s, frame, len);
        if (r != 0) {
            if (r > 0)
                virtqueue_notify(&s->vdev, RXQ);
            return;
        }
    }
    if (s->bl_count == RX_BACKLOG) {     /* drop the oldest */
        free(s->backlog[s->bl_head].data);
        s->bl_head = (s->bl_head + 1) % RX_BACKLOG;
        s->bl_count--;
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, frame, len);
    s->backlog[(s->bl_head + s->bl_count) % RX_BACKLOG] = (struct rx_frame){ len, copy };
    s->bl_count++;
}

/* guest -> slirp. */
static void tx_flush(struct virtio_net *s)
{
    struct virtio_dev *vdev = &s->vdev;
    bool any = false;
    while (virtqueue_pop(vdev, TXQ, &s->tx_elem) == 1) {
        size_t len = s->tx_elem.out_len < sizeof(s->buf) ? (size_t)s->tx_elem.out_len : sizeof(s->buf);
        if (s->tx_elem.out_len > sizeof(s->buf))
            qlog(LOG_GUEST_ERRORS, "virtio-net: %llu-byte tx chain truncated",
                 (unsigned long long)s->tx_elem.out_len);
        len = virtq_elem_read(vdev, &s->tx_elem, 0, s->buf, len);
        if (len > NET_HDR_LEN && s->backend)
            slirp_net_send(s->backend, s->buf + NET_HDR_LEN, len - NET_HDR_LEN);
        else if (len <= NET_HDR_LEN)
            qlog(LOG_GUEST_ERRORS, "virtio-net: tx chain of %zu bytes has no frame", len);
        if (virtqueue_push(vdev, TXQ, &s->tx_elem, 0))
            return;
        any = true;
    }
    if (any)
        virtqueue_notify(vdev, TXQ);
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_net *s = vdev->opaque;
    if (q == RXQ)
        rx_flush(s);
    else if (q == TXQ)
        tx_flush(s);
}

static void net_reset(struct virtio_dev *vdev)
{
    backlog_clear(vdev->opaque);
}

static const struct virtio_device_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .pci_class = 0x020000,          /* network, Ethernet */
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 0xff)
            return -1;
        mac[i] = (uint8_t)v[i];
    }
    return (mac[0] & 1) ? -1 : 0;   /* a multicast address cannot be a NIC's */
}

struct virtio_dev *virtio_net_create(struct guest_mem *mem, const char *mac,
                                     const char *netdev_opts, char *err, size_t err_len)
{
    uint8_t m[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };   /* QEMU's default */
    if (mac && parse_mac(mac, m)) {
        snprintf(err, err_len, "virtio-net: mac=%s is not a unicast xx:xx:xx:xx:xx:xx", mac);
        return NULL;
    }
    struct slirp_net_config cfg;
    if (netdev_opts && slirp_net_parse_opts(netdev_opts, &cfg, err, err_len))
        return NULL;
    struct virtio_net *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_len, "virtio-net: out of memory");
        return NULL;
    }
    memcpy(s->config, m, 6);
    s->config[6] = VIRTIO_NET_S_LINK_UP;
    if (netdev_opts) {
        s->backend = slirp_net_create(&cfg, err, err_len);
        if (!s->backend) {
            free(s);
            return NULL;
        }
        slirp_net_set_rx(s->backend, net_receive, s);
    }
    if (virtio_dev_init(&s->vdev, &net_ops, s, mem, 2, QUEUE_SIZE,
                        (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS),
                        s->config, sizeof(s->config))) {
        slirp_net_destroy(s->backend);
        free(s);
        snprintf(err, err_len, "virtio-net: cannot initialise the device");
        return NULL;
    }
    return &s->vdev;
}
