/*
 * tests/unit/virtq_harness.h - a split virtqueue driver written from the
 * virtio 1.2 spec (2.7), used by test_virtio.c and test_virtio_blk.c to put
 * descriptor tables and rings into guest RAM the way a driver would.
 *
 * Layout in guest RAM (1 MiB, set up by the test):
 *   DESC  0x10000  descriptor table (16 bytes each)
 *   AVAIL 0x11000  flags, idx, ring[size], used_event
 *   USED  0x12000  flags, idx, {id, len}[size], avail_event
 *   data buffers from 0x20000
 */
#ifndef QTEMU_TESTS_VIRTQ_HARNESS_H
#define QTEMU_TESTS_VIRTQ_HARNESS_H

#include <stdint.h>
#include <string.h>

#include "mmu/mmu.h"

#define H_DESC  0x10000ull
#define H_AVAIL 0x11000ull
#define H_USED  0x12000ull
#define H_DATA  0x20000ull

static inline void h_w16(struct guest_mem *m, uint64_t a, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    gpa_write(m, a, b, 2);
}
static inline uint16_t h_r16(struct guest_mem *m, uint64_t a)
{
    uint8_t b[2] = {0};
    gpa_read(m, a, b, 2);
    return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t h_r32(struct guest_mem *m, uint64_t a)
{
    return h_r16(m, a) | (uint32_t)h_r16(m, a + 2) << 16;
}

/** Write descriptor @i of the table at @table. */
static inline void h_desc_at(struct guest_mem *m, uint64_t table, unsigned i, uint64_t addr,
                             uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t d[16];
    for (int k = 0; k < 8; k++)
        d[k] = (uint8_t)(addr >> (8 * k));
    for (int k = 0; k < 4; k++)
        d[8 + k] = (uint8_t)(len >> (8 * k));
    d[12] = (uint8_t)flags; d[13] = (uint8_t)(flags >> 8);
    d[14] = (uint8_t)next;  d[15] = (uint8_t)(next >> 8);
    gpa_write(m, table + 16ull * i, d, 16);
}
static inline void h_desc(struct guest_mem *m, unsigned i, uint64_t addr, uint32_t len,
                          uint16_t flags, uint16_t next)
{
    h_desc_at(m, H_DESC, i, addr, len, flags, next);
}

/** Make chain @head available as entry number @avail_idx (then publish idx + 1). */
static inline void h_avail(struct guest_mem *m, unsigned size, uint16_t avail_idx, uint16_t head)
{
    h_w16(m, H_AVAIL + 4 + 2 * (avail_idx % size), head);
    h_w16(m, H_AVAIL + 2, (uint16_t)(avail_idx + 1));
}

#endif
