/*
 * devices/isa_debug_exit.c - QEMU's isa-debug-exit test device
 * (hw/misc/debugexit.c): a write of value V to any of its @iosize ports makes
 * the emulator exit with status (V << 1) | 1, so a test ROM's verdict becomes
 * the process exit status (an odd number: 1 = "wrote 0", never 0).
 *
 * Decided: accesses up to 4 bytes reach the device whole (QEMU's
 * impl.max_access_size = 4), so `out dx, eax` passes all of V; reads return 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct bus *bus = opaque;
    int status = (int)(((value & 0xffffffffu) << 1) | 1);
    qlog(LOG_GUEST_ERRORS, "isa-debug-exit: guest wrote 0x%" PRIx64 ", exit status %d", value, status);
    bus_request(bus, MACHINE_REQ_EXIT, status);
}

static const struct io_ops debug_exit_ops = {
    .read = debug_exit_read, .write = debug_exit_write, .min_access = 1, .max_access = 4,
};

/**
 * Map isa-debug-exit at @iobase (@iosize ports, 1..4; QEMU's defaults are
 * 0x501 and 2). Returns 0, -EINVAL for a bad size, or io_space_add()'s error.
 */
int isa_debug_exit_create(struct bus *bus, uint16_t iobase, uint8_t iosize)
{
    if (iosize == 0 || iosize > 4)
        return -EINVAL;
    struct io_region r = { .base = iobase, .size_bytes = iosize, .ops = &debug_exit_ops,
                           .opaque = bus, .name = "isa-debug-exit" };
    return io_space_add(&bus->pio, &r);
}
