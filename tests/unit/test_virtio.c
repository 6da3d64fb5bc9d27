/*
 * tests/unit/test_virtio.c - the virtio core (devices/virtio.c) driven as a
 * driver would, with a dummy backend. Oracle: the virtio 1.2 spec:
 *  - 2.2.1/3.1.1: FEATURES_OK only for a subset of the offered features;
 *    our device is modern-only, so VERSION_1 is required;
 *  - 2.7.5 descriptor layout, 2.7.8 used ring element {id, len};
 *  - 2.7.4.2 / 2.7.5.3.1 rules the driver must follow (device-writable
 *    after device-readable, no INDIRECT with NEXT, no nested indirect,
 *    indirect length a multiple of 16, chains not longer than Queue Size):
 *    breaking them must put the device into NEEDS_RESET (2.1.2) with a
 *    configuration change notification, never a host crash;
 *  - 2.7.7.2 NO_INTERRUPT, 2.7.10 used_event/avail_event (vring_need_event).
 */
#include <criterion/criterion.h>

#include "devices/virtio.h"
#include "tests/unit/virtq_harness.h"

#define QSIZE 8

static struct guest_mem mem;
static struct virtio_dev vdev;
static struct virtq_elem elem;
static int notified[VIRTIO_MAX_QUEUES + 1];   /* [0] config, [q + 1] queue q */
static int resets;

static void dummy_notify(struct virtio_dev *v, unsigned q) {}
static void dummy_reset(struct virtio_dev *v) { resets++; }
static const struct virtio_device_ops ops = {
    .name = "dummy", .device_id = 42, .queue_notify = dummy_notify, .reset = dummy_reset,
};
static void transport_notify(void *t, struct virtio_dev *v, int q) { notified[q + 1]++; }

static void setup(void)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 1ull << 20, 0xC0000000ull, NULL), 0);
    memset(notified, 0, sizeof(notified));
    resets = 0;
    cr_assert_eq(virtio_dev_init(&vdev, &ops, NULL, &mem, 2, QSIZE, 1ull << 3, NULL, 0), 0);
    vdev.transport_notify = transport_notify;
}
static void teardown(void) { guest_mem_destroy(&mem); }

/** Negotiate @features and bring queue 0 up at the harness addresses. */
static void driver_up(uint64_t features)
{
    virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_write_guest_features(&vdev, 0, (uint32_t)features);
    virtio_write_guest_features(&vdev, 1, (uint32_t)(features >> 32));
    virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    cr_assert(vdev.status & VIRTIO_STATUS_FEATURES_OK);
    struct virtqueue *vq = &vdev.vq[0];
    vq->size = QSIZE;
    vq->desc_gpa = H_DESC;
    vq->avail_gpa = H_AVAIL;
    vq->used_gpa = H_USED;
    cr_assert(virtqueue_check_layout(&vdev, 0));
    vq->ready = true;
    virtio_set_status(&vdev, vdev.status | VIRTIO_STATUS_DRIVER_OK);
}

#define V1 (1ull << VIRTIO_F_VERSION_1)
#define INDIRECT (1ull << VIRTIO_F_RING_INDIRECT_DESC)
#define EVIDX (1ull << VIRTIO_F_RING_EVENT_IDX)

TestSuite(virtio, .init = setup, .fini = teardown);

Test(virtio, offered_features_include_core_bits)
{
    cr_assert_eq(virtio_read_host_features(&vdev, 0), (1u << 3) | (1u << 28) | (1u << 29));
    cr_assert_eq(virtio_read_host_features(&vdev, 1), 1u);   /* VERSION_1 is bit 32 */
    cr_assert_eq(virtio_read_host_features(&vdev, 2), 0u);
}

Test(virtio, features_ok_needs_version_1_and_a_subset)
{
    virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_write_guest_features(&vdev, 0, 1u << 3);
    virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    cr_assert_eq(vdev.status & VIRTIO_STATUS_FEATURES_OK, 0, "legacy driver must be refused");
    virtio_write_guest_features(&vdev, 1, 1);
    virtio_write_guest_features(&vdev, 0, (1u << 3) | (1u << 5));   /* bit 5 not offered */
    virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    cr_assert_eq(vdev.status & VIRTIO_STATUS_FEATURES_OK, 0, "unoffered feature accepted");
    virtio_write_guest_features(&vdev, 0, 1u << 3);
    virtio_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    cr_assert(vdev.status & VIRTIO_STATUS_FEATURES_OK);
    /* Features are frozen after FEATURES_OK. */
    virtio_write_guest_features(&vdev, 0, 0);
    cr_assert(virtio_has_feature(&vdev, 3));
}

Test(virtio, pop_push_follows_the_ring_layout)
{
    driver_up(V1);
    h_desc(&mem, 5, H_DATA, 16, VIRTQ_DESC_F_NEXT, 2);
    h_desc(&mem, 2, H_DATA + 0x100, 100, VIRTQ_DESC_F_NEXT, 7);
    h_desc(&mem, 7, H_DATA + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 0, "empty ring");
    h_avail(&mem, QSIZE, 0, 5);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    cr_assert_eq(elem.head, 5);
    cr_assert_eq(elem.n_out, 2);
    cr_assert_eq(elem.n_in, 1);
    cr_assert_eq(elem.out_len, 116);
    cr_assert_eq(elem.in_len, 1);
    cr_assert_eq(elem.out[1].gpa, H_DATA + 0x100);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 0);
    cr_assert_eq(virtqueue_push(&vdev, 0, &elem, 1), 0);
    cr_assert_eq(h_r16(&mem, H_USED + 2), 1, "used idx");
    cr_assert_eq(h_r32(&mem, H_USED + 4), 5, "used elem id = head");
    cr_assert_eq(h_r32(&mem, H_USED + 8), 1, "used elem len");
    virtqueue_notify(&vdev, 0);
    cr_assert_eq(notified[1], 1);
    cr_assert(vdev.isr & VIRTIO_ISR_QUEUE);
}

Test(virtio, elem_read_write_span_buffers)
{
    driver_up(V1);
    h_desc(&mem, 0, H_DATA, 3, VIRTQ_DESC_F_NEXT, 1);
    h_desc(&mem, 1, H_DATA + 0x10, 5, VIRTQ_DESC_F_NEXT, 2);
    h_desc(&mem, 2, H_DATA + 0x100, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
    h_desc(&mem, 3, H_DATA + 0x200, 4, VIRTQ_DESC_F_WRITE, 0);
    gpa_write(&mem, H_DATA, "abc", 3);
    gpa_write(&mem, H_DATA + 0x10, "defgh", 5);
    h_avail(&mem, QSIZE, 0, 0);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    char buf[16] = {0};
    cr_assert_eq(virtq_elem_read(&vdev, &elem, 2, buf, 16), 6);
    cr_assert_str_eq(buf, "cdefgh");
    cr_assert_eq(virtq_elem_write(&vdev, &elem, 1, "1234567", 7), 7);
    char g1[4], g2[4];
    gpa_read(&mem, H_DATA + 0x100, g1, 4);
    gpa_read(&mem, H_DATA + 0x200, g2, 4);
    cr_assert_eq(memcmp(g1 + 1, "123", 3), 0);
    cr_assert_eq(memcmp(g2, "4567", 4), 0);
}

/** Pop must fail, set NEEDS_RESET and notify a config change. */
static void expect_broken(void)
{
    int before = notified[0];
    vdev.isr = 0;
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), -1);
    cr_assert(vdev.status & VIRTIO_STATUS_NEEDS_RESET);
    cr_assert_eq(notified[0], before + 1, "config change notification");
    cr_assert(vdev.isr & VIRTIO_ISR_CONFIG);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), -1, "stays broken until reset");
    virtio_set_status(&vdev, 0);
    cr_assert_eq(vdev.status, 0);
    cr_assert(!vdev.broken);
}

Test(virtio, loop_is_needs_reset)
{
    driver_up(V1);
    h_desc(&mem, 0, H_DATA, 8, VIRTQ_DESC_F_NEXT, 1);
    h_desc(&mem, 1, H_DATA, 8, VIRTQ_DESC_F_NEXT, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
}

Test(virtio, chain_of_queue_size_is_fine_longer_is_not)
{
    driver_up(V1);
    for (unsigned i = 0; i < QSIZE; i++)
        h_desc(&mem, i, H_DATA + 16 * i, 16, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    h_avail(&mem, QSIZE, 0, 0);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    cr_assert_eq(elem.n_out, QSIZE);
    /* The last one now points back to the first: never ends. */
    h_desc(&mem, QSIZE - 1, H_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
    h_avail(&mem, QSIZE, 1, 3);
    expect_broken();
}

Test(virtio, head_and_next_beyond_table)
{
    driver_up(V1);
    h_avail(&mem, QSIZE, 0, QSIZE);
    expect_broken();
    driver_up(V1);
    h_desc(&mem, 0, H_DATA, 8, VIRTQ_DESC_F_NEXT, 0xFFFF);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
}

Test(virtio, buffer_outside_ram)
{
    driver_up(V1);
    h_desc(&mem, 0, (1ull << 20) - 4, 8, 0, 0);         /* straddles the end of RAM */
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
    driver_up(V1);
    h_desc(&mem, 0, 0xFFFFFFFFFFFFFFF0ull, 0x20, 0, 0);  /* wraps around */
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
}

Test(virtio, avail_idx_too_far_ahead)
{
    driver_up(V1);
    h_w16(&mem, H_AVAIL + 2, QSIZE + 1);
    expect_broken();
}

Test(virtio, readable_after_writable)
{
    driver_up(V1);
    h_desc(&mem, 0, H_DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    h_desc(&mem, 1, H_DATA + 8, 8, 0, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
}

Test(virtio, indirect_table)
{
    driver_up(V1 | INDIRECT);
    uint64_t tbl = H_DATA + 0x1000;
    h_desc_at(&mem, tbl, 0, H_DATA, 16, VIRTQ_DESC_F_NEXT, 2);
    h_desc_at(&mem, tbl, 2, H_DATA + 0x40, 32, VIRTQ_DESC_F_NEXT, 1);
    h_desc_at(&mem, tbl, 1, H_DATA + 0x80, 1, VIRTQ_DESC_F_WRITE, 0);
    h_desc(&mem, 4, tbl, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    h_avail(&mem, QSIZE, 0, 4);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    cr_assert_eq(elem.head, 4);
    cr_assert_eq(elem.n_out, 2);
    cr_assert_eq(elem.n_in, 1);
    cr_assert_eq(elem.in[0].gpa, H_DATA + 0x80);
}

Test(virtio, indirect_rules)
{
    uint64_t tbl = H_DATA + 0x1000;
    /* Not negotiated. */
    driver_up(V1);
    h_desc_at(&mem, tbl, 0, H_DATA, 16, 0, 0);
    h_desc(&mem, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
    /* INDIRECT together with NEXT. */
    driver_up(V1 | INDIRECT);
    h_desc(&mem, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
    /* Length not a multiple of 16. */
    driver_up(V1 | INDIRECT);
    h_desc(&mem, 0, tbl, 24, VIRTQ_DESC_F_INDIRECT, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
    /* Nested indirect. */
    driver_up(V1 | INDIRECT);
    h_desc_at(&mem, tbl, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
    h_desc(&mem, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
    /* A loop inside the table. */
    driver_up(V1 | INDIRECT);
    h_desc_at(&mem, tbl, 0, H_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
    h_desc_at(&mem, tbl, 1, H_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
    h_desc(&mem, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
    /* Table outside RAM. */
    driver_up(V1 | INDIRECT);
    h_desc(&mem, 0, (1ull << 20) - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    h_avail(&mem, QSIZE, 0, 0);
    expect_broken();
}

Test(virtio, no_interrupt_flag_without_event_idx)
{
    driver_up(V1);
    h_desc(&mem, 0, H_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
    h_w16(&mem, H_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    h_avail(&mem, QSIZE, 0, 0);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    virtqueue_push(&vdev, 0, &elem, 0);
    virtqueue_notify(&vdev, 0);
    cr_assert_eq(notified[1], 0);
    h_w16(&mem, H_AVAIL, 0);
    virtqueue_notify(&vdev, 0);
    cr_assert_eq(notified[1], 1);
}

Test(virtio, event_idx)
{
    driver_up(V1 | EVIDX);
    h_desc(&mem, 0, H_DATA, 8, VIRTQ_DESC_F_WRITE, 0);
    /* avail_event (after the used ring) tells the driver the next idx we want. */
    h_avail(&mem, QSIZE, 0, 0);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    cr_assert_eq(h_r16(&mem, H_USED + 4 + 8 * QSIZE), 1, "avail_event");
    /* used_event = 1: the driver wants an interrupt only once used idx passes 1. */
    h_w16(&mem, H_AVAIL + 4 + 2 * QSIZE, 1);
    virtqueue_push(&vdev, 0, &elem, 0);            /* used idx 0 -> 1 */
    virtqueue_notify(&vdev, 0);
    cr_assert_eq(notified[1], 1, "first interrupt after setup is always sent");
    for (int i = 1; i < 3; i++) {                  /* used idx -> 2, 3 */
        h_avail(&mem, QSIZE, (uint16_t)i, 0);
        cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
        virtqueue_push(&vdev, 0, &elem, 0);
        virtqueue_notify(&vdev, 0);
    }
    /* vring_need_event(1, 2, 1) is true, (1, 3, 2) is false. */
    cr_assert_eq(notified[1], 2);
    h_w16(&mem, H_AVAIL + 4 + 2 * QSIZE, 3);
    h_avail(&mem, QSIZE, 3, 0);
    cr_assert_eq(virtqueue_pop(&vdev, 0, &elem), 1);
    virtqueue_push(&vdev, 0, &elem, 0);            /* used idx -> 4: passes 3 */
    virtqueue_notify(&vdev, 0);
    cr_assert_eq(notified[1], 3);
}

Test(virtio, reset_calls_backend_and_clears_queues)
{
    driver_up(V1);
    vdev.vq[0].msix_vector = 1;
    int before = resets;
    virtio_set_status(&vdev, 0);
    cr_assert_eq(resets, before + 1);
    cr_assert(!vdev.vq[0].ready);
    cr_assert_eq(vdev.vq[0].size, QSIZE);
    cr_assert_eq(vdev.vq[0].msix_vector, VIRTIO_MSI_NO_VECTOR);
    cr_assert_eq(vdev.guest_features, 0);
}

Test(virtio, layout_checks)
{
    struct virtqueue *vq = &vdev.vq[0];
    vq->size = QSIZE;
    vq->desc_gpa = H_DESC + 8;                     /* 16-byte alignment required */
    vq->avail_gpa = H_AVAIL;
    vq->used_gpa = H_USED;
    cr_assert(!virtqueue_check_layout(&vdev, 0));
    vq->desc_gpa = H_DESC;
    vq->used_gpa = (1ull << 20) - 8;               /* used ring runs past RAM */
    cr_assert(!virtqueue_check_layout(&vdev, 0));
    vq->used_gpa = H_USED;
    vq->size = 6;                                  /* not a power of two */
    cr_assert(!virtqueue_check_layout(&vdev, 0));
    vq->size = QSIZE;
    cr_assert(virtqueue_check_layout(&vdev, 0));
}
