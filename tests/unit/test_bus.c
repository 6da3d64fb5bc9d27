/*
 * tests/unit/test_bus.c - devices/bus.c: region table and access adjustment.
 *
 * Oracles: the contract in devices/bus.h (overlaps rejected, sorted lookup,
 * little-endian splitting as x86 assembles a wide access from bytes, open-bus
 * reads all-ones), checked against a byte-array device whose contents we
 * wrote ourselves and against the host's own little-endian loads.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/bus.h"

/* A 16-byte register file that records the sizes it saw. */
struct ram_dev {
    uint8_t bytes[16];
    unsigned last_size;
    unsigned calls;
};

static uint64_t ram_read(void *opaque, uint64_t off, unsigned size)
{
    struct ram_dev *d = opaque;
    uint64_t v = 0;
    cr_assert(off + size <= sizeof d->bytes, "device saw an out-of-range access");
    memcpy(&v, d->bytes + off, size);   /* host is little-endian x86-64 */
    d->last_size = size;
    d->calls++;
    return v;
}

static void ram_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct ram_dev *d = opaque;
    cr_assert(off + size <= sizeof d->bytes, "device saw an out-of-range access");
    memcpy(d->bytes + off, &value, size);
    d->last_size = size;
    d->calls++;
}

static const struct io_ops ops_byte = { ram_read, ram_write, 1, 1 };
static const struct io_ops ops_dword = { ram_read, ram_write, 4, 4 };
static const struct io_ops ops_any = { ram_read, ram_write, 0, 0 };

Test(bus, overlap_rejected_and_sorted)
{
    struct bus b;
    bus_init(&b);
    struct ram_dev d = {0};
    struct io_region r = { .base = 0x100, .size_bytes = 16, .ops = &ops_any, .opaque = &d, .name = "a" };
    cr_assert_eq(io_space_add(&b.pio, &r), 0);
    r.base = 0x10f;  /* last byte overlaps */
    cr_assert_eq(io_space_add(&b.pio, &r), -EEXIST);
    r.base = 0xf1;   /* first 15 bytes before, last byte overlaps 0x100 */
    cr_assert_eq(io_space_add(&b.pio, &r), -EEXIST);
    r.base = 0x0f0;  /* exactly adjacent below */
    cr_assert_eq(io_space_add(&b.pio, &r), 0);
    r.base = 0x110;  /* exactly adjacent above */
    cr_assert_eq(io_space_add(&b.pio, &r), 0);
    r.base = 0x20; r.size_bytes = 0;
    cr_assert_eq(io_space_add(&b.pio, &r), -EINVAL);
    r.base = UINT64_MAX - 3; r.size_bytes = 8;
    cr_assert_eq(io_space_add(&b.pio, &r), -EINVAL);
    r.base = UINT64_MAX - 7; r.size_bytes = 8;  /* ends exactly at the top: fine */
    cr_assert_eq(io_space_add(&b.pio, &r), 0);

    for (size_t i = 1; i < b.pio.count; i++)
        cr_assert_lt(b.pio.regions[i - 1].base, b.pio.regions[i].base);
    cr_assert_eq(io_space_find(&b.pio, 0xef), NULL);
    cr_assert_eq(io_space_find(&b.pio, 0xf0)->base, 0xf0);
    cr_assert_eq(io_space_find(&b.pio, 0x10f)->base, 0x100);
    cr_assert_eq(io_space_find(&b.pio, 0x11f)->base, 0x110);
    cr_assert_eq(io_space_find(&b.pio, 0x120), NULL);
    cr_assert_eq(io_space_find(&b.pio, UINT64_MAX)->base, UINT64_MAX - 7);

    cr_assert_eq(io_space_remove(&b.pio, 0x101), -ENOENT);
    cr_assert_eq(io_space_remove(&b.pio, 0x100), 0);
    cr_assert_eq(io_space_find(&b.pio, 0x105), NULL);
    cr_assert_eq(io_space_find(&b.pio, 0x110)->base, 0x110);
    bus_destroy(&b);
}

Test(bus, unmapped_reads_all_ones)
{
    struct bus b;
    bus_init(&b);
    cr_assert_eq(io_space_read(&b.pio, 0x80, 1), 0xff);
    cr_assert_eq(io_space_read(&b.pio, 0x80, 2), 0xffff);
    cr_assert_eq(io_space_read(&b.pio, 0x80, 4), 0xffffffffu);
    cr_assert_eq(io_space_read(&b.mmio, 0xfed00000, 8), UINT64_MAX);
    io_space_write(&b.pio, 0x80, 0x12, 1);  /* must not crash */
    bus_destroy(&b);
}

Test(bus, wide_access_split_little_endian)
{
    struct bus b;
    bus_init(&b);
    struct ram_dev d = {0};
    struct io_region r = { .base = 0x3f8, .size_bytes = 8, .ops = &ops_byte, .opaque = &d, .name = "u" };
    cr_assert_eq(io_space_add(&b.pio, &r), 0);
    io_space_write(&b.pio, 0x3f8, 0x44332211, 4);
    cr_assert_eq(d.last_size, 1);
    cr_assert_eq(d.calls, 4);
    uint8_t want[4] = { 0x11, 0x22, 0x33, 0x44 };
    cr_assert_arr_eq(d.bytes, want, 4);
    /* Oracle for reassembly: the host's own little-endian load of the bytes. */
    memcpy(d.bytes, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    uint64_t host;
    memcpy(&host, d.bytes, 8);
    cr_assert_eq(io_space_read(&b.pio, 0x3f8, 8), host);
    uint16_t host16;
    memcpy(&host16, d.bytes + 3, 2);
    cr_assert_eq(io_space_read(&b.pio, 0x3fb, 2), host16);
    bus_destroy(&b);
}

Test(bus, access_straddling_region_end)
{
    struct bus b;
    bus_init(&b);
    struct ram_dev d = {0};
    memset(d.bytes, 0xab, sizeof d.bytes);
    struct io_region r = { .base = 0x1000, .size_bytes = 16, .ops = &ops_any, .opaque = &d };
    cr_assert_eq(io_space_add(&b.mmio, &r), 0);
    /* 4 bytes at 0x100e: two from the device, two from open bus. */
    cr_assert_eq(io_space_read(&b.mmio, 0x100e, 4), 0xffffabab);
    io_space_write(&b.mmio, 0x100e, 0x11223344, 4);
    cr_assert_eq(d.bytes[14], 0x44);
    cr_assert_eq(d.bytes[15], 0x33);
    bus_destroy(&b);
}

Test(bus, narrow_access_widened)
{
    struct bus b;
    bus_init(&b);
    struct ram_dev d = {0};
    struct io_region r = { .base = 0xfee00000, .size_bytes = 16, .ops = &ops_dword, .opaque = &d };
    cr_assert_eq(io_space_add(&b.mmio, &r), 0);
    io_space_write(&b.mmio, 0xfee00004, 0xdeadbeef, 4);
    cr_assert_eq(io_space_read(&b.mmio, 0xfee00005, 1), 0xbe);
    cr_assert_eq(d.last_size, 4);
    cr_assert_eq(io_space_read(&b.mmio, 0xfee00006, 2), 0xdead);
    io_space_write(&b.mmio, 0xfee00004, 0x55, 1);   /* read-modify-write */
    cr_assert_eq(d.last_size, 4);
    cr_assert_eq(io_space_read(&b.mmio, 0xfee00004, 4), 0xdeadbe55);
    /* 8-byte access to a dword device: two dword accesses. */
    io_space_write(&b.mmio, 0xfee00008, 0x0102030405060708ull, 8);
    cr_assert_eq(d.last_size, 4);
    cr_assert_eq(io_space_read(&b.mmio, 0xfee00008, 8), 0x0102030405060708ull);
    bus_destroy(&b);
}

static int kicks;
static void kick(void *opaque) { kicks++; }

Test(bus, request_sets_status_and_kicks)
{
    struct bus b;
    bus_init(&b);
    b.kick = kick;
    kicks = 0;
    bus_request(&b, MACHINE_REQ_RESET, 0);
    cr_assert_eq(b.request, MACHINE_REQ_RESET);
    cr_assert_eq(kicks, 1);
    bus_request(&b, MACHINE_REQ_EXIT, 7);
    cr_assert_eq(b.request, MACHINE_REQ_EXIT);
    cr_assert_eq(b.exit_status, 7);
    bus_request(&b, MACHINE_REQ_RESET, 0);   /* never downgrades an exit */
    cr_assert_eq(b.request, MACHINE_REQ_EXIT);
    cr_assert_eq(b.exit_status, 7);
    cr_assert_eq(kicks, 3);
    bus_destroy(&b);
}
