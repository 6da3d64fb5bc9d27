/*
 * tests/fuzz/virtio_fuzz.h - the harness the virtio libFuzzer targets share
 * (tests/fuzz/fuzz_virtio_*.c, fuzz_virtqueue.c): guest RAM, driver-side
 * bring-up of a device through the core (virtio 1.2 3.1.1), and a small
 * "driver program" interpreter that turns fuzzer bytes into split-virtqueue
 * traffic (virtio 1.2 2.7): descriptor chains (direct or in an indirect
 * table, 2.7.5.3), available-ring entries (2.7.6), notifications, raw
 * pokes that corrupt any byte of guest RAM, resets, and device-specific
 * operations supplied by the target.
 *
 * Header-only (static functions): each target is one translation unit linked
 * against libqtemu.a, so there is no separate harness object to build.
 *
 * Guest RAM (VFUZZ_RAM_BYTES, one PC-style slot from 0):
 *   VFUZZ_RING(q)            descriptor table of queue q (4 KiB: 256 entries)
 *   VFUZZ_RING(q) + 0x1000   available ring
 *   VFUZZ_RING(q) + 0x2000   used ring
 *   VFUZZ_RING(q) + 0x3000   indirect tables (20 KiB)
 *   VFUZZ_BUF_BASE ..        data buffers, handed out by a bump allocator
 *
 * Program format (after the target's own header bytes, if any):
 *   byte 0: bit 0 RING_INDIRECT_DESC, bit 1 RING_EVENT_IDX, bits 2..7
 *           select device feature bits (VFUZZ_DEVFEAT: the lowest six bits
 *           the device offers, in order)
 *   byte 1: log2 Queue Size (mod 9, clamped to what the device offers)
 *   then ops, each an opcode byte (mod VFUZZ_OP_COUNT) and its operands:
 *     CHAIN  q, nout (mod 9), nin (mod 9), flags, then per readable buffer
 *            le16 length + that many payload bytes (fewer if the input
 *            ends), per writable buffer le16 length. flags bit 0: put the
 *            chain in an indirect table; bit 1: do not publish avail->idx
 *            yet; bit 2: set VIRTQ_AVAIL_F_NO_INTERRUPT.
 *     KICK   q: the driver notifies queue q (2.7.13.3).
 *     POKE   le32 address, length byte, bytes: raw write into guest RAM.
 *     EVENT  q, le16: write used_event (avail ring tail, 2.7.10).
 *     RESET  the driver resets the device and brings it up again.
 *     DEVICE the target's dev_op(bytes left) -> bytes consumed.
 *   At the end every ready queue is notified once more.
 * With VFUZZ_TRACE set in the environment, each run prints the device
 * status and every queue's used index (to check that a seed reaches the device).
 * Whatever the bytes, the device must not touch memory outside guest RAM,
 * leak, or trip ASan/UBSan; queue state stays the core's business.
 */
#ifndef QTEMU_TESTS_FUZZ_VIRTIO_FUZZ_H
#define QTEMU_TESTS_FUZZ_VIRTIO_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "devices/virtio.h"
#include "mmu/mmu.h"
#include "util/log.h"
#include "tests/fuzz/fuzz_main.h"

#define VFUZZ_RAM_BYTES  (1u << 20)
#define VFUZZ_QUEUES     4u
#define VFUZZ_RING(q)    (0x10000u + (uint32_t)(q) * 0x8000u)
#define VFUZZ_INDIRECT   0x3000u
#define VFUZZ_INDIRECT_LEN 0x5000u
#define VFUZZ_BUF_BASE   (VFUZZ_RING(VFUZZ_QUEUES))
#define VFUZZ_BUF_END    VFUZZ_RAM_BYTES

enum vfuzz_op { VFUZZ_CHAIN, VFUZZ_KICK, VFUZZ_POKE, VFUZZ_EVENT, VFUZZ_RESET, VFUZZ_DEVICE,
                VFUZZ_OP_COUNT };

/** Guest RAM shared by every target (1 MiB from guest-physical 0). */
static struct guest_mem vfuzz_mem;

/** Allocate guest RAM once; aborts (test harness, not library code) if the host cannot. */
static inline void vfuzz_ram_init(void)
{
    if (vfuzz_mem.nslots)
        return;
    log_mask = 0;               /* guest errors are expected by the thousand */
    if (guest_mem_init_pc(&vfuzz_mem, VFUZZ_RAM_BYTES, 0xC0000000ull, NULL))
        abort();
}

/** Host pointer to guest RAM [0, VFUZZ_RAM_BYTES). */
static inline uint8_t *vfuzz_ram(void)
{
    return gpa_map(&vfuzz_mem, 0, VFUZZ_RAM_BYTES);
}

static inline uint16_t vfuzz_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t vfuzz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void vfuzz_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void vfuzz_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vfuzz_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/** A cursor over the fuzzer's bytes: reads past the end yield 0. */
struct vfuzz_in {
    const uint8_t *p;
    size_t n;
};

static inline uint8_t vfuzz_u8(struct vfuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t vfuzz_u16(struct vfuzz_in *in)
{
    uint16_t lo = vfuzz_u8(in);
    return (uint16_t)(lo | vfuzz_u8(in) << 8);
}

static inline uint32_t vfuzz_u32(struct vfuzz_in *in)
{
    uint32_t lo = vfuzz_u16(in);
    return lo | (uint32_t)vfuzz_u16(in) << 16;
}

/**
 * A driver's register access of @sz bytes at @addr in @space: with @write,
 * of the value in the next le32 operand (two for @sz 8), else a read.
 */
static inline void vfuzz_access(struct io_space *space, struct vfuzz_in *in, uint64_t addr,
                                unsigned sz, bool write)
{
    if (!write) {
        io_space_read(space, addr, sz);
        return;
    }
    uint64_t v = vfuzz_u32(in);
    if (sz == 8)
        v |= (uint64_t)vfuzz_u32(in) << 32;
    io_space_write(space, addr, v, sz);
}

/**
 * POKE operands: le32 address (mod VFUZZ_RAM_BYTES), a length byte, then
 * that many bytes (fewer if the input or RAM ends) written raw into guest RAM.
 */
static inline void vfuzz_poke(struct vfuzz_in *in)
{
    uint32_t a = vfuzz_u32(in) % VFUZZ_RAM_BYTES;
    uint32_t n = vfuzz_u8(in);
    if (n > in->n)
        n = (uint32_t)in->n;
    if (n > VFUZZ_RAM_BYTES - a)
        n = VFUZZ_RAM_BYTES - a;
    memcpy(vfuzz_ram() + a, in->p, n);
    in->p += n;
    in->n -= n;
}

/**
 * Bring @vdev up as a driver would (3.1.1): reset, ACKNOWLEDGE | DRIVER,
 * accept VERSION_1 plus the ring features and device features @feat asks
 * for, FEATURES_OK, queue sizes 1 << @log2size (clamped) and addresses
 * VFUZZ_RING(q) for the first min(num_queues, VFUZZ_QUEUES) queues, enable
 * them, DRIVER_OK. Returns false if the core refused the layout (then the
 * input is not interesting).
 */
static inline bool vfuzz_bring_up(struct virtio_dev *vdev, uint8_t feat, uint8_t log2size)
{
    virtio_set_status(vdev, 0);
    virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = 1ull << VIRTIO_F_VERSION_1;
    if (feat & 1)
        f |= 1ull << VIRTIO_F_RING_INDIRECT_DESC;
    if (feat & 2)
        f |= 1ull << VIRTIO_F_RING_EVENT_IDX;
    unsigned pick = feat >> 2, k = 0;
    for (unsigned bit = 0; bit < 24 && k < 6; bit++) {
        if (!((vdev->host_features >> bit) & 1))
            continue;
        if ((pick >> k) & 1)
            f |= 1ull << bit;
        k++;
    }
    virtio_write_guest_features(vdev, 0, (uint32_t)f);
    virtio_write_guest_features(vdev, 1, (uint32_t)(f >> 32));
    virtio_set_status(vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                            VIRTIO_STATUS_FEATURES_OK);
    uint8_t *ram = vfuzz_ram();
    for (unsigned q = 0; q < vdev->num_queues && q < VFUZZ_QUEUES; q++) {
        struct virtqueue *vq = &vdev->vq[q];
        memset(ram + VFUZZ_RING(q), 0, VFUZZ_INDIRECT);
        vq->size = (uint16_t)(1u << (log2size % 9));
        if (vq->size > vq->max_size)
            vq->size = vq->max_size;
        if (vq->size > 256)
            vq->size = 256;     /* the descriptor table area holds 256 entries */
        vq->desc_gpa = VFUZZ_RING(q);
        vq->avail_gpa = VFUZZ_RING(q) + 0x1000;
        vq->used_gpa = VFUZZ_RING(q) + 0x2000;
        if (!virtqueue_check_layout(vdev, q))
            return false;
        vq->ready = true;
        vq->last_avail_idx = vq->used_idx = 0;
        vq->signalled_valid = false;
    }
    virtio_set_status(vdev, vdev->status | VIRTIO_STATUS_DRIVER_OK);
    return (vdev->status & VIRTIO_STATUS_DRIVER_OK) != 0;
}

/** True if VFUZZ_TRACE is set: print what each run did (for seed authors). */
static inline bool vfuzz_tracing(void)
{
    static int trace = -1;
    if (trace < 0)
        trace = getenv("VFUZZ_TRACE") != NULL;
    return trace;
}

/** With VFUZZ_TRACE: print the used-ring idx of the rings whose used ring is at @used_gpa[0..n). */
static inline void vfuzz_trace_used(const uint32_t *used_gpa, unsigned n)
{
    if (!vfuzz_tracing())
        return;
    fprintf(stderr, "vfuzz:");
    for (unsigned i = 0; i < n; i++)
        fprintf(stderr, " used@%#x idx %u", used_gpa[i], vfuzz_le16(vfuzz_ram() + used_gpa[i] + 2));
    fprintf(stderr, "\n");
}

/** The driver's side of each queue while a program runs. */
struct vfuzz_driver {
    struct virtio_dev *vdev;
    uint16_t next_desc[VFUZZ_QUEUES];   /* next free descriptor (wraps) */
    uint16_t avail_idx[VFUZZ_QUEUES];   /* our shadow of avail->idx */
    uint32_t indirect_off[VFUZZ_QUEUES];
    uint32_t buf_next;                  /* bump allocator in [BUF_BASE, BUF_END) */
    uint8_t feat, log2size;
    /* Target hook for VFUZZ_DEVICE: consume bytes of @in, act on the device. */
    void (*dev_op)(struct vfuzz_driver *d, struct vfuzz_in *in);
};

static inline void vfuzz_driver_reset(struct vfuzz_driver *d)
{
    memset(d->next_desc, 0, sizeof(d->next_desc));
    memset(d->avail_idx, 0, sizeof(d->avail_idx));
    memset(d->indirect_off, 0, sizeof(d->indirect_off));
    d->buf_next = VFUZZ_BUF_BASE;
}

/** @len bytes of buffer space (wraps to the start when full: buffers then overlap). */
static inline uint32_t vfuzz_alloc(struct vfuzz_driver *d, uint32_t len)
{
    if (len > VFUZZ_BUF_END - VFUZZ_BUF_BASE)
        len = VFUZZ_BUF_END - VFUZZ_BUF_BASE;
    if (d->buf_next + len > VFUZZ_BUF_END)
        d->buf_next = VFUZZ_BUF_BASE;
    uint32_t a = d->buf_next;
    d->buf_next += (len + 15) & ~15u;
    return a;
}

/** Write descriptor @i of the table at @table: {addr, len, flags, next} (2.7.5). */
static inline void vfuzz_desc(uint8_t *ram, uint32_t table, unsigned i, uint64_t addr, uint32_t len,
                       uint16_t flags, uint16_t next)
{
    uint8_t *e = ram + table + 16 * i;
    vfuzz_put64(e, addr);
    vfuzz_put32(e + 8, len);
    vfuzz_put16(e + 12, flags);
    vfuzz_put16(e + 14, next);
}

/** Publish avail->idx of queue @q (2.7.13.2: after the ring entries). */
static inline void vfuzz_publish(struct vfuzz_driver *d, unsigned q)
{
    vfuzz_put16(vfuzz_ram() + VFUZZ_RING(q) + 0x1000 + 2, d->avail_idx[q]);
}

/** CHAIN: build one descriptor chain from the program and make it available. */
static inline void vfuzz_chain(struct vfuzz_driver *d, struct vfuzz_in *in)
{
    uint8_t *ram = vfuzz_ram();
    unsigned q = vfuzz_u8(in) % VFUZZ_QUEUES;
    unsigned nout = vfuzz_u8(in) % 9, nin = vfuzz_u8(in) % 9;
    uint8_t flags = vfuzz_u8(in);
    struct virtqueue *vq = &d->vdev->vq[q];
    unsigned size = vq->size ? vq->size : 1;
    unsigned nbuf = nout + nin;
    uint64_t addr[16];
    uint32_t len[16];
    for (unsigned i = 0; i < nbuf; i++) {
        len[i] = vfuzz_u16(in);
        addr[i] = vfuzz_alloc(d, len[i]);
        if (i < nout) {
            uint32_t n = len[i] < in->n ? len[i] : (uint32_t)in->n;
            memcpy(ram + addr[i], in->p, n);
            in->p += n;
            in->n -= n;
        }
    }
    uint16_t head;
    bool indirect = (flags & 1) && nbuf;
    if (indirect) {
        uint32_t off = d->indirect_off[q];
        if (off + 16 * nbuf > VFUZZ_INDIRECT_LEN)
            off = 0;
        uint32_t table = VFUZZ_RING(q) + VFUZZ_INDIRECT + off;
        for (unsigned i = 0; i < nbuf; i++)
            vfuzz_desc(ram, table, i, addr[i], len[i],
                       (uint16_t)((i + 1 < nbuf ? VIRTQ_DESC_F_NEXT : 0) |
                                  (i >= nout ? VIRTQ_DESC_F_WRITE : 0)), (uint16_t)(i + 1));
        d->indirect_off[q] = off + 16 * nbuf;
        head = (uint16_t)(d->next_desc[q] % size);
        vfuzz_desc(ram, VFUZZ_RING(q), head, table, 16 * nbuf, VIRTQ_DESC_F_INDIRECT, 0);
        d->next_desc[q] = (uint16_t)((head + 1) % size);
    } else {
        head = (uint16_t)(d->next_desc[q] % size);
        unsigned idx = head;
        for (unsigned i = 0; i < nbuf || i == 0; i++) {
            unsigned nxt = (idx + 1) % size;
            bool more = i + 1 < nbuf;
            vfuzz_desc(ram, VFUZZ_RING(q), idx, nbuf ? addr[i] : VFUZZ_BUF_BASE, nbuf ? len[i] : 0,
                       (uint16_t)((more ? VIRTQ_DESC_F_NEXT : 0) |
                                  (i >= nout && nbuf ? VIRTQ_DESC_F_WRITE : 0)), (uint16_t)nxt);
            idx = nxt;
        }
        d->next_desc[q] = (uint16_t)idx;
    }
    uint8_t *avail = ram + VFUZZ_RING(q) + 0x1000;
    vfuzz_put16(avail, (flags & 4) ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0);
    vfuzz_put16(avail + 4 + 2 * (d->avail_idx[q] % size), head);
    d->avail_idx[q]++;
    if (!(flags & 2))
        vfuzz_publish(d, q);
}

/** Notify queue @q as a transport would: only when ready and DRIVER_OK. */
static inline void vfuzz_kick(struct virtio_dev *vdev, unsigned q)
{
    if (q < vdev->num_queues && vdev->vq[q].ready && (vdev->status & VIRTIO_STATUS_DRIVER_OK))
        vdev->ops->queue_notify(vdev, q);
}

/**
 * Run one program (format above) against @d->vdev. Returns false if the
 * device could not be brought up (nothing ran).
 */
static inline bool vfuzz_run(struct vfuzz_driver *d, const uint8_t *data, size_t size)
{
    struct vfuzz_in in = { data, size };
    d->feat = vfuzz_u8(&in);
    d->log2size = vfuzz_u8(&in);
    vfuzz_driver_reset(d);
    if (!vfuzz_bring_up(d->vdev, d->feat, d->log2size))
        return false;
    uint8_t *ram = vfuzz_ram();
    while (in.n) {
        switch (vfuzz_u8(&in) % VFUZZ_OP_COUNT) {
        case VFUZZ_CHAIN:
            vfuzz_chain(d, &in);
            break;
        case VFUZZ_KICK: {
            unsigned q = vfuzz_u8(&in) % VFUZZ_QUEUES;
            vfuzz_publish(d, q);
            vfuzz_kick(d->vdev, q);
            break;
        }
        case VFUZZ_POKE:
            vfuzz_poke(&in);
            break;
        case VFUZZ_EVENT: {
            unsigned q = vfuzz_u8(&in) % VFUZZ_QUEUES;
            struct virtqueue *vq = &d->vdev->vq[q];
            unsigned size = vq->size ? vq->size : 1;
            vfuzz_put16(ram + VFUZZ_RING(q) + 0x1000 + 4 + 2 * size, vfuzz_u16(&in));
            break;
        }
        case VFUZZ_RESET:
            vfuzz_driver_reset(d);
            if (!vfuzz_bring_up(d->vdev, d->feat, d->log2size))
                return true;
            break;
        case VFUZZ_DEVICE:
            if (d->dev_op)
                d->dev_op(d, &in);
            break;
        }
    }
    for (unsigned q = 0; q < VFUZZ_QUEUES; q++)
        vfuzz_kick(d->vdev, q);
    if (vfuzz_tracing()) {                /* for seed authors: did the device answer? */
        fprintf(stderr, "vfuzz: status %#x", d->vdev->status);
        for (unsigned q = 0; q < d->vdev->num_queues && q < VFUZZ_QUEUES; q++)
            fprintf(stderr, " q%u used %u (len0 %u)", q,
                    vfuzz_le16(ram + VFUZZ_RING(q) + 0x2000 + 2),
                    vfuzz_le32(ram + VFUZZ_RING(q) + 0x2000 + 8));
        fprintf(stderr, "\n");
    }
    return true;
}

#endif
