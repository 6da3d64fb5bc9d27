/*
 * devices/virtio.h - private to devices/: the virtio core that device models
 * (blk, rng, net, console, 9p) and transports (virtio-pci, virtio-mmio) share.
 *
 * Follows the virtio 1.2 specification (OASIS, csd01):
 *  - 2.1 device status field (ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK,
 *    NEEDS_RESET, FAILED), 2.2 feature bits, 3.1.1 initialisation;
 *  - 2.7 split virtqueues: descriptor table (2.7.5), indirect descriptors
 *    (2.7.5.3), available ring (2.7.6), used ring (2.7.8), notification
 *    suppression with and without VIRTIO_F_EVENT_IDX (2.7.7, 2.7.10);
 *  - 6 reserved feature bits: VERSION_1 (modern only; legacy is not offered),
 *    RING_INDIRECT_DESC, RING_EVENT_IDX.
 *
 * The three parts and who owns what:
 *  - a backend (virtio_blk.c, virtio_rng.c, ...) fills a struct
 *    virtio_device_ops (device id, queue count/size, callbacks), owns its
 *    device-specific config bytes (vdev->config) and feature bits
 *    (vdev->host_features), and handles queue notifications by popping
 *    validated descriptor chains (virtqueue_pop), reading/writing their
 *    buffers (virtq_elem_read/virtq_elem_write), returning them
 *    (virtqueue_push) and interrupting the driver (virtqueue_notify);
 *  - the core (virtio.c) owns feature negotiation, the status field, reset,
 *    queue state and every check on guest-controlled ring contents;
 *  - a transport (virtio_pci.c, virtio_mmio.c) maps registers onto the core
 *    and turns "interrupt for queue q / config change" into MSI-X, INTx or
 *    the virtio-mmio interrupt line (vdev->transport_notify).
 *
 * The guest is untrusted: every descriptor index, length, address and flag
 * is checked; a broken ring puts the device into NEEDS_RESET (2.1.2) with a
 * configuration change notification, logs under LOG_GUEST_ERRORS, and the
 * queue stays dead until the driver resets the device. Guest memory is only
 * touched through gpa_read/gpa_write/gpa_map (mmu/mmu.h).
 *
 * Everything runs on the thread that runs the vCPUs and the main loop (the
 * device is called from MMIO dispatch or from the main loop), so no locking.
 */
#ifndef QTEMU_DEVICES_VIRTIO_H
#define QTEMU_DEVICES_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "mmu/mmu.h"

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE   1
#define VIRTIO_STATUS_DRIVER        2
#define VIRTIO_STATUS_DRIVER_OK     4
#define VIRTIO_STATUS_FEATURES_OK   8
#define VIRTIO_STATUS_NEEDS_RESET   0x40
#define VIRTIO_STATUS_FAILED        0x80

/* Reserved feature bits (6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33

/* Device IDs (5). */
#define VIRTIO_ID_NET      1
#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3
#define VIRTIO_ID_RNG      4
#define VIRTIO_ID_9P       9

/* Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2
#define VIRTQ_DESC_F_INDIRECT   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY  1

/* ISR status bits (4.1.4.5): also the virtio-mmio InterruptStatus bits (4.2.2). */
#define VIRTIO_ISR_QUEUE   1
#define VIRTIO_ISR_CONFIG  2

/** Queues per device this core supports (console with 7 ports needs 16). */
#define VIRTIO_MAX_QUEUES     16
/** Largest Queue Size a device may offer (2.7: at most 32768; we cap lower). */
#define VIRTQ_MAX_SIZE        1024
/** Most buffers one popped chain may have (direct + indirect). */
#define VIRTQ_MAX_SEGS        1024
/** No MSI-X vector (4.1.4.3 VIRTIO_MSI_NO_VECTOR). */
#define VIRTIO_MSI_NO_VECTOR  0xFFFF

struct virtio_dev;

/** One guest buffer of a chain: @len bytes of guest RAM at @gpa (checked to be RAM). */
struct virtq_buf {
    uint64_t gpa;
    uint32_t len;
};

/**
 * A popped descriptor chain (2.7.13.2 "the device ... processes the chain").
 * Device-readable buffers come first (out[]), device-writable ones after
 * (in[]), as 2.7.4.2 requires of the driver (a chain in the wrong order is
 * rejected). out_len/in_len are the byte totals. @head is the id to return
 * in the used ring.
 */
struct virtq_elem {
    uint16_t head;
    unsigned n_out, n_in;
    uint64_t out_len, in_len;
    struct virtq_buf out[VIRTQ_MAX_SEGS];
    struct virtq_buf in[VIRTQ_MAX_SEGS];
};

/** State of one split virtqueue (2.7), as the transport programmed it. */
struct virtqueue {
    uint16_t size;            /* Queue Size; 0 = queue not available */
    uint16_t max_size;        /* what the device offers */
    bool ready;               /* queue_enable / QueueReady */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail_idx;  /* next available-ring entry to pop */
    uint16_t used_idx;        /* the used ring's idx as we last wrote it */
    uint16_t signalled_used;  /* used_idx at the last interrupt (EVENT_IDX) */
    bool signalled_valid;
    uint16_t msix_vector;     /* virtio-pci only: queue_msix_vector */
};

/**
 * What a device model provides (a const table, one per device type).
 *  - queue_notify: the driver notified queue @q (available buffers); pop
 *    chains, push results, call virtqueue_notify. Required.
 *  - config_write: the driver wrote @len bytes at @offset of vdev->config
 *    (already stored); optional (NULL: config is read-only, writes dropped).
 *  - reset: the driver reset the device (status 0 or transport reset); the
 *    core has already cleared its own state. Optional.
 *  - set_status: the status changed to @status (after FEATURES_OK checks),
 *    e.g. to start receiving on DRIVER_OK. Optional.
 */
struct virtio_device_ops {
    const char *name;             /* "virtio-blk", for logs */
    uint16_t device_id;           /* VIRTIO_ID_* */
    uint32_t pci_class;           /* PCI class code (base << 16 | sub << 8 | prog-if) */
    void (*queue_notify)(struct virtio_dev *vdev, unsigned q);
    void (*config_write)(struct virtio_dev *vdev, uint32_t offset, uint32_t len);
    void (*reset)(struct virtio_dev *vdev);
    void (*set_status)(struct virtio_dev *vdev, uint8_t status);
};

/**
 * A virtio device instance: the core state plus the backend's and the
 * transport's hooks. Backends embed it (or allocate it) and set it up with
 * virtio_dev_init(); transports bind to it with their create function.
 */
struct virtio_dev {
    const struct virtio_device_ops *ops;
    void *opaque;                 /* the backend's state */
    struct guest_mem *mem;

    uint64_t host_features;       /* offered: backend bits | core bits */
    uint64_t guest_features;      /* written by the driver */
    uint8_t status;
    uint8_t isr;                  /* ISR status / InterruptStatus */
    uint8_t config_generation;
    bool broken;                  /* a ring error happened: NEEDS_RESET until reset */

    uint8_t *config;              /* device-specific configuration (backend owned) */
    uint32_t config_len;
    uint16_t msix_config;         /* virtio-pci: config_msix_vector */

    unsigned num_queues;
    struct virtqueue vq[VIRTIO_MAX_QUEUES];

    /* Set by the transport: interrupt the driver for queue @q, or for a
     * configuration change when @q < 0 (the core has set vdev->isr). */
    void (*transport_notify)(void *transport, struct virtio_dev *vdev, int q);
    void *transport;
};

/**
 * Initialise @vdev for @ops with @num_queues queues of at most @queue_max
 * entries (a power of two, <= VIRTQ_MAX_SIZE), device-specific @features
 * (bits 0..23 and any of the reserved bits the device supports), and
 * @config_len bytes of config at @config (owned by the backend). The core
 * adds VERSION_1, RING_INDIRECT_DESC and RING_EVENT_IDX. Returns 0 or
 * -EINVAL for out-of-range counts.
 */
int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_device_ops *ops, void *opaque,
                    struct guest_mem *mem, unsigned num_queues, uint16_t queue_max,
                    uint64_t features, uint8_t *config, uint32_t config_len);

/** True if the driver accepted feature @bit (guest_features). */
static inline bool virtio_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
    return bit < 64 && ((vdev->guest_features >> bit) & 1);
}

/**
 * The driver wrote the device status (2.1, 3.1.1): 0 resets the device;
 * FEATURES_OK is refused (not kept) when the accepted features are not a
 * subset of the offered ones or lack VERSION_1 (2.2.1); clearing bits other
 * than by reset is ignored. Calls the backend's set_status/reset.
 */
void virtio_set_status(struct virtio_dev *vdev, uint8_t status);

/** Reset the device (2.1.2 / 4.1.4.3.2): status, features, queues, ISR. */
void virtio_reset(struct virtio_dev *vdev);

/** The driver wrote 32 feature bits at @sel*32 (only while FEATURES_OK is clear). */
void virtio_write_guest_features(struct virtio_dev *vdev, unsigned sel, uint32_t value);

/** Offered feature bits @sel*32..+31 (0 for sel > 1). */
uint32_t virtio_read_host_features(const struct virtio_dev *vdev, unsigned sel);

/**
 * Read/write @len (1, 2, 4 or 8) bytes of device-specific config at @offset,
 * little-endian. Out-of-range accesses read 0 / are dropped and logged.
 */
uint64_t virtio_config_read(struct virtio_dev *vdev, uint32_t offset, unsigned len);
void virtio_config_write(struct virtio_dev *vdev, uint32_t offset, uint64_t value, unsigned len);

/**
 * Check the queue addresses the driver wrote before it enables queue @q
 * (alignment of 2.7 table "Virtqueue Part Alignment", sizes a power of two,
 * whole rings in RAM). Returns true if usable; false logs the reason.
 */
bool virtqueue_check_layout(struct virtio_dev *vdev, unsigned q);

/**
 * Pop the next available descriptor chain of queue @q into @elem (2.7.13.2),
 * following VIRTQ_DESC_F_NEXT and (if negotiated) one level of indirect
 * table, checking: avail idx no more than Queue Size ahead, head and next
 * indexes < table size, no loops (at most table-size descriptors), no
 * INDIRECT together with NEXT, no nested indirect, indirect length a
 * non-zero multiple of 16, writable buffers only after readable ones, every
 * buffer entirely in guest RAM, at most VIRTQ_MAX_SEGS buffers.
 * With EVENT_IDX, publishes avail_event (2.7.10) when the ring runs empty.
 * Returns 1 with @elem filled, 0 if the ring is empty (or the queue not
 * ready), -1 if the ring is broken: the device is now in NEEDS_RESET.
 */
int virtqueue_pop(struct virtio_dev *vdev, unsigned q, struct virtq_elem *elem);

/**
 * Return @elem to queue @q's used ring with @written bytes written into its
 * device-writable buffers (2.7.8, 2.7.14). Does not interrupt: call
 * virtqueue_notify() after a batch. Returns 0 or -1 (broken ring).
 */
int virtqueue_push(struct virtio_dev *vdev, unsigned q, const struct virtq_elem *elem,
                   uint32_t written);

/**
 * Interrupt the driver for queue @q if it wants one (2.7.7.2 and 2.7.10:
 * avail->flags NO_INTERRUPT without EVENT_IDX, used_event with it), through
 * the transport. Sets ISR bit 0.
 */
void virtqueue_notify(struct virtio_dev *vdev, unsigned q);

/** Signal a configuration change (4.1.4.5 / 4.2.2): config_generation++, ISR bit 1, interrupt. */
void virtio_config_changed(struct virtio_dev *vdev);

/**
 * Put the device into NEEDS_RESET (2.1.2) because the driver broke a rule
 * (@why, logged under LOG_GUEST_ERRORS) and notify it of a config change.
 */
void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why);

/**
 * Copy up to @len bytes starting @offset bytes into @elem's device-readable
 * buffers into @buf. Returns the bytes copied (less at the end of the chain,
 * or if guest memory vanished).
 */
size_t virtq_elem_read(struct virtio_dev *vdev, const struct virtq_elem *elem, uint64_t offset,
                       void *buf, size_t len);

/**
 * Copy @len bytes from @buf into @elem's device-writable buffers starting
 * @offset bytes in. Returns the bytes copied.
 */
size_t virtq_elem_write(struct virtio_dev *vdev, const struct virtq_elem *elem, uint64_t offset,
                        const void *buf, size_t len);

/* The transports' constructors (virtio_pci_create, virtio_mmio_create) are in devices/bus.h. */

#endif
