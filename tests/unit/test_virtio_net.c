/*
 * tests/unit/test_virtio_net.c - virtio-net (devices/virtio_net.c) on a real
 * libslirp stack (devices/slirp_net.c), driven through the virtio-mmio
 * registers as a driver would (virtio 1.2 4.2.3), with receiveq1 = 0 and
 * transmitq1 = 1 (5.1.2).
 *
 * The frame sent is an ARP request for the user network's host address
 * 10.0.2.2 (QEMU's documented default), which slirp answers from inside
 * slirp_input(): the reply reaches the receive queue while the transmit
 * chain is still being processed (the case that once returned the wrong
 * descriptor id in the transmit used ring).
 *
 * Oracles: the virtio 1.2 spec (5.1.4 config layout and status bits, 5.1.6
 * the 12-byte header with num_buffers = 1, 2.7.8 used ring ids) and RFC 826
 * (ARP reply layout: opcode 2, target = the asker).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "devices/bus.h"
#include "devices/virtio.h"
#include "tests/unit/virtq_harness.h"

#define BASE    0xFEB00000ull
#define QSIZE   16
/* receiveq1 rings use the harness layout; transmitq1 its own. */
#define TX_DESC  0x13000ull
#define TX_AVAIL 0x14000ull
#define TX_USED  0x15000ull
#define RX_BUF   0x20000ull     /* QSIZE buffers of RX_LEN */
#define RX_LEN   1526u          /* 12-byte header + 1514-byte frame */
#define TX_BUF   0x40000ull
#define HDR_LEN  12

static struct bus bus;
static struct guest_mem mem;
static struct virtio_dev *net;
static uint16_t rx_avail, tx_avail;
static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void irq_sink(void *o, int line, int level) {}
static uint32_t rd(uint64_t off) { return (uint32_t)io_space_read(&bus.mmio, BASE + off, 4); }
static void wr(uint64_t off, uint32_t v) { io_space_write(&bus.mmio, BASE + off, v, 4); }
static uint8_t rd8(uint64_t off) { return (uint8_t)io_space_read(&bus.mmio, BASE + off, 1); }

static void queue_setup(unsigned q, uint64_t desc, uint64_t avail, uint64_t used)
{
    wr(0x030, q);                                   /* QueueSel */
    cr_assert(rd(0x034) >= QSIZE, "QueueNumMax of queue %u", q);
    wr(0x038, QSIZE);
    wr(0x080, (uint32_t)desc);  wr(0x084, 0);
    wr(0x090, (uint32_t)avail); wr(0x094, 0);
    wr(0x0A0, (uint32_t)used);  wr(0x0A4, 0);
    wr(0x044, 1);
}

static void setup_with(const char *netdev_opts)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 1ull << 20, 0xC0000000ull, NULL), 0);
    bus_init(&bus);
    char err[256] = "";
    net = virtio_net_create(&mem, NULL, netdev_opts, err, sizeof(err));
    cr_assert(net, "%s", err);
    cr_assert_eq(virtio_mmio_create(&bus, BASE, (struct irq_line){ irq_sink, NULL, 0 }, net), 0);
    rx_avail = tx_avail = 0;
    cr_assert_eq(rd(0x008), 1u, "device id 1 = network card");
    wr(0x070, 0);
    wr(0x070, 1 | 2);
    wr(0x014, 0);
    uint32_t lo = rd(0x010);
    cr_assert(lo & (1u << 5), "VIRTIO_NET_F_MAC offered");
    cr_assert(lo & (1u << 16), "VIRTIO_NET_F_STATUS offered");
    wr(0x024, 0);
    wr(0x020, (1u << 5) | (1u << 16));
    wr(0x024, 1);
    wr(0x020, 1);                                   /* VERSION_1 */
    wr(0x070, 1 | 2 | 8);
    cr_assert(rd(0x070) & 8, "FEATURES_OK kept");
    queue_setup(0, H_DESC, H_AVAIL, H_USED);
    queue_setup(1, TX_DESC, TX_AVAIL, TX_USED);
    wr(0x070, 1 | 2 | 8 | 4);
}

static void setup(void) { setup_with("id=n0"); }
static void setup_no_netdev(void) { setup_with(NULL); }

static void teardown(void)
{
    bus_destroy(&bus);
    guest_mem_destroy(&mem);
}

/* Make receive buffer @i (descriptor i of receiveq1) available and notify. */
static void rx_post(unsigned i)
{
    h_desc(&mem, i, RX_BUF + (uint64_t)i * 0x800, RX_LEN, VIRTQ_DESC_F_WRITE, 0);
    h_w16(&mem, H_AVAIL + 4 + 2 * (rx_avail % QSIZE), (uint16_t)i);
    rx_avail++;
    h_w16(&mem, H_AVAIL + 2, rx_avail);
    wr(0x050, 0);
}

/* Send an ARP request "who has 10.0.2.2, tell 10.0.2.15" as transmit chain
 * head @head (header and frame in two descriptors, head and head + 1). */
static void tx_arp(unsigned head)
{
    uint8_t hdr[HDR_LEN] = { 0 };
    uint8_t f[60] = { 0 };
    memset(f, 0xff, 6);                         /* broadcast */
    memcpy(f + 6, mac, 6);
    f[12] = 0x08; f[13] = 0x06;                 /* ARP */
    f[14] = 0; f[15] = 1;                       /* htype Ethernet */
    f[16] = 0x08; f[17] = 0x00;                 /* ptype IPv4 */
    f[18] = 6; f[19] = 4;
    f[20] = 0; f[21] = 1;                       /* request */
    memcpy(f + 22, mac, 6);
    f[28] = 10; f[29] = 0; f[30] = 2; f[31] = 15;
    f[38] = 10; f[39] = 0; f[40] = 2; f[41] = 2;
    gpa_write(&mem, TX_BUF, hdr, HDR_LEN);
    gpa_write(&mem, TX_BUF + 0x100, f, sizeof(f));
    h_desc_at(&mem, TX_DESC, head, TX_BUF, HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(head + 1));
    h_desc_at(&mem, TX_DESC, head + 1, TX_BUF + 0x100, sizeof(f), 0, 0);
    h_w16(&mem, TX_AVAIL + 4 + 2 * (tx_avail % QSIZE), (uint16_t)head);
    tx_avail++;
    h_w16(&mem, TX_AVAIL + 2, tx_avail);
    wr(0x050, 1);
}

/* Check used-ring entry @n of receiveq1 holds an ARP reply to us from 10.0.2.2. */
static void check_arp_reply(unsigned n, unsigned want_id)
{
    uint32_t id = h_r32(&mem, H_USED + 4 + 8 * n), len = h_r32(&mem, H_USED + 8 + 8 * n);
    cr_assert_eq(id, want_id, "rx used id");
    cr_assert_geq(len, HDR_LEN + 42u, "header + ARP frame");
    uint8_t b[HDR_LEN + 42];
    gpa_read(&mem, RX_BUF + (uint64_t)want_id * 0x800, b, sizeof(b));
    for (int k = 0; k < 10; k++)
        cr_assert_eq(b[k], 0, "flags, gso_type, hdr_len, gso_size, csum_* are 0");
    cr_assert_eq(b[10] | b[11] << 8, 1, "num_buffers = 1 (5.1.6)");
    const uint8_t *f = b + HDR_LEN;
    cr_assert_arr_eq(f, mac, 6, "sent to our MAC");
    cr_assert_eq(f[12] << 8 | f[13], 0x0806, "ethertype ARP");
    cr_assert_eq(f[20] << 8 | f[21], 2, "ARP reply (RFC 826)");
    cr_assert_arr_eq(f + 28, ((uint8_t[]){ 10, 0, 2, 2 }), 4, "sender is 10.0.2.2");
    cr_assert_arr_eq(f + 32, mac, 6, "target hardware address is ours");
    cr_assert_arr_eq(f + 38, ((uint8_t[]){ 10, 0, 2, 15 }), 4, "target is 10.0.2.15");
}

TestSuite(virtio_net, .init = setup, .fini = teardown);

Test(virtio_net, config_mac_and_link_up)
{
    for (int k = 0; k < 6; k++)
        cr_assert_eq(rd8(0x100 + k), mac[k], "mac[%d]: QEMU's default 52:54:00:12:34:56", k);
    cr_assert_eq(rd8(0x106) & 1, 1, "status: VIRTIO_NET_S_LINK_UP");
}

Test(virtio_net, arp_reply_during_transmit_keeps_both_rings_right)
{
    rx_post(0);
    rx_post(1);
    tx_arp(6);
    cr_assert_eq(h_r16(&mem, TX_USED + 2), 1, "one transmit chain used");
    cr_assert_eq(h_r32(&mem, TX_USED + 4), 6u, "transmit used id is the chain's head (2.7.8)");
    cr_assert_eq(h_r16(&mem, H_USED + 2), 1, "the ARP reply took one receive buffer");
    check_arp_reply(0, 0);
    cr_assert_eq(rd(0x000), 0x74726976u);
    cr_assert_eq(rd(0x070) & VIRTIO_STATUS_NEEDS_RESET, 0u, "device not broken");
}

Test(virtio_net, frame_without_receive_buffer_waits_for_one)
{
    tx_arp(4);
    cr_assert_eq(h_r32(&mem, TX_USED + 4), 4u);
    cr_assert_eq(h_r16(&mem, H_USED + 2), 0, "no receive buffer yet");
    rx_post(3);
    cr_assert_eq(h_r16(&mem, H_USED + 2), 1, "backlogged reply delivered on the rx notify");
    check_arp_reply(0, 3);
}

TestSuite(virtio_net_no_netdev, .init = setup_no_netdev, .fini = teardown);

Test(virtio_net_no_netdev, frames_are_consumed_and_nothing_comes_back)
{
    rx_post(0);
    tx_arp(2);
    cr_assert_eq(h_r16(&mem, TX_USED + 2), 1, "the transmit chain is returned");
    cr_assert_eq(h_r32(&mem, TX_USED + 4), 2u);
    cr_assert_eq(h_r16(&mem, H_USED + 2), 0, "no peer: nothing received");
    cr_assert_eq(rd8(0x106) & 1, 1, "link still up (QEMU: a NIC without a peer)");
}
