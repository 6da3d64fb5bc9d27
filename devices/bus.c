/*
 * devices/bus.c - port-I/O and MMIO dispatch, machine requests (devices/bus.h).
 *
 * A space is a table of regions sorted by base, never overlapping (as
 * Firecracker's vstate/bus.rs), searched by binary search.
 *
 * Access-size adjustment (STYLE practice 9), decided here:
 *  - wider than the region's max_access: split into max_access pieces, lowest
 *    address first, assembled little-endian (as x86 and QEMU's
 *    access_with_adjusted_size do); each piece is dispatched on its own, so a
 *    wide access may straddle two regions;
 *  - an access running past the region's end is split in halves likewise;
 *  - narrower than min_access: a read becomes an aligned min_access read and
 *    the wanted bytes are extracted; a write becomes an aligned read-modify-
 *    write of min_access bytes (only MMIO devices set min_access > 1, and
 *    their reads have no side effects);
 *  - unmapped: reads return all-ones (an undriven ISA/PCI bus), writes are
 *    dropped; both logged under LOG_IOPORT ("-d ioport").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "util/log.h"

/* Per host thread (bus.h): which vCPU's accesses this thread dispatches. */
static _Thread_local int current_cpu = -1;

void bus_set_current_cpu(int index)
{
    current_cpu = index;
}

int bus_current_cpu(void)
{
    return current_cpu;
}

void bus_init(struct bus *bus)
{
    memset(bus, 0, sizeof *bus);
    bus->pio.name = "ioport";
    bus->mmio.name = "mmio";
}

void bus_destroy(struct bus *bus)
{
    free(bus->pio.regions);
    free(bus->mmio.regions);
    bus->pio.regions = bus->mmio.regions = NULL;
    bus->pio.count = bus->pio.capacity = 0;
    bus->mmio.count = bus->mmio.capacity = 0;
}

/* Index of the first region whose base is > @addr (0..count). */
static size_t upper_bound(const struct io_space *space, uint64_t addr)
{
    size_t lo = 0, hi = space->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (space->regions[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int io_space_add(struct io_space *space, const struct io_region *region)
{
    if (!region || !region->ops || region->size_bytes == 0)
        return -EINVAL;
    uint64_t last = region->base + (region->size_bytes - 1);
    if (last < region->base)
        return -EINVAL;   /* wraps around the address space */

    size_t pos = upper_bound(space, region->base);
    /* The region before must end before us; the one at pos must start after us. */
    if (pos > 0) {
        const struct io_region *prev = &space->regions[pos - 1];
        if (prev->base + (prev->size_bytes - 1) >= region->base)
            return -EEXIST;
    }
    if (pos < space->count && space->regions[pos].base <= last)
        return -EEXIST;

    if (space->count == space->capacity) {
        size_t cap = space->capacity ? space->capacity * 2 : 16;
        struct io_region *n = realloc(space->regions, cap * sizeof *n);
        if (!n)
            return -ENOMEM;
        space->regions = n;
        space->capacity = cap;
    }
    memmove(&space->regions[pos + 1], &space->regions[pos],
            (space->count - pos) * sizeof *space->regions);
    space->regions[pos] = *region;
    space->count++;
    return 0;
}

int io_space_remove(struct io_space *space, uint64_t base)
{
    size_t pos = upper_bound(space, base);
    if (pos == 0 || space->regions[pos - 1].base != base)
        return -ENOENT;
    pos--;
    memmove(&space->regions[pos], &space->regions[pos + 1],
            (space->count - pos - 1) * sizeof *space->regions);
    space->count--;
    return 0;
}

const struct io_region *io_space_find(const struct io_space *space, uint64_t addr)
{
    size_t pos = upper_bound(space, addr);
    if (pos == 0)
        return NULL;
    const struct io_region *r = &space->regions[pos - 1];
    return addr - r->base < r->size_bytes ? r : NULL;
}

static uint64_t size_mask(unsigned size_bytes)
{
    return size_bytes >= 8 ? ~0ull : (1ull << (size_bytes * 8)) - 1;
}

static bool is_pow2_size(unsigned size_bytes)
{
    return size_bytes == 1 || size_bytes == 2 || size_bytes == 4 || size_bytes == 8;
}

uint64_t io_space_read(struct io_space *space, uint64_t addr, unsigned size_bytes)
{
    if (size_bytes == 0)
        return 0;
    if (size_bytes > 8)
        size_bytes = 8;
    const struct io_region *r = io_space_find(space, addr);
    if (!r) {
        qlog(LOG_IOPORT, "%s: unassigned read%u at 0x%" PRIx64, space->name, size_bytes * 8, addr);
        return size_mask(size_bytes);
    }
    uint64_t offset = addr - r->base;
    unsigned min = r->ops->min_access ? r->ops->min_access : 1;
    unsigned max = r->ops->max_access ? r->ops->max_access : 8;

    /* Split: too wide, odd size, or running past the region's end. */
    if (size_bytes > max || !is_pow2_size(size_bytes) || size_bytes > r->size_bytes - offset) {
        unsigned piece = size_bytes > max ? max : (size_bytes + 1) / 2;
        if (size_bytes > max && size_bytes <= r->size_bytes - offset && !is_pow2_size(max))
            piece = 1;
        uint64_t v = 0;
        for (unsigned done = 0; done < size_bytes; done += piece) {
            unsigned n = MIN(piece, size_bytes - done);
            v |= (io_space_read(space, addr + done, n) & size_mask(n)) << (done * 8);
        }
        return v;
    }
    /* Widen: narrower than the device accepts. */
    if (size_bytes < min) {
        uint64_t aligned = offset & ~(uint64_t)(min - 1);
        unsigned shift = (unsigned)(offset - aligned);
        if (shift + size_bytes > min || aligned + min > r->size_bytes) {
            /* Straddles two device words: do it byte by byte. */
            uint64_t v = 0;
            for (unsigned i = 0; i < size_bytes; i++)
                v |= (io_space_read(space, addr + i, 1) & 0xff) << (i * 8);
            return v;
        }
        uint64_t v = r->ops->read ? r->ops->read(r->opaque, aligned, min) : 0;
        return (v >> (shift * 8)) & size_mask(size_bytes);
    }
    if (!r->ops->read)
        return 0;
    return r->ops->read(r->opaque, offset, size_bytes) & size_mask(size_bytes);
}

void io_space_write(struct io_space *space, uint64_t addr, uint64_t value, unsigned size_bytes)
{
    if (size_bytes == 0)
        return;
    if (size_bytes > 8)
        size_bytes = 8;
    value &= size_mask(size_bytes);
    const struct io_region *r = io_space_find(space, addr);
    if (!r) {
        qlog(LOG_IOPORT, "%s: unassigned write%u at 0x%" PRIx64 " value 0x%" PRIx64,
             space->name, size_bytes * 8, addr, value);
        return;
    }
    uint64_t offset = addr - r->base;
    unsigned min = r->ops->min_access ? r->ops->min_access : 1;
    unsigned max = r->ops->max_access ? r->ops->max_access : 8;

    if (size_bytes > max || !is_pow2_size(size_bytes) || size_bytes > r->size_bytes - offset) {
        unsigned piece = size_bytes > max ? max : (size_bytes + 1) / 2;
        if (size_bytes > max && size_bytes <= r->size_bytes - offset && !is_pow2_size(max))
            piece = 1;
        for (unsigned done = 0; done < size_bytes; done += piece) {
            unsigned n = MIN(piece, size_bytes - done);
            io_space_write(space, addr + done, (value >> (done * 8)) & size_mask(n), n);
        }
        return;
    }
    if (size_bytes < min) {
        uint64_t aligned = offset & ~(uint64_t)(min - 1);
        unsigned shift = (unsigned)(offset - aligned);
        if (shift + size_bytes > min || aligned + min > r->size_bytes) {
            for (unsigned i = 0; i < size_bytes; i++)
                io_space_write(space, addr + i, (value >> (i * 8)) & 0xff, 1);
            return;
        }
        uint64_t old = r->ops->read ? r->ops->read(r->opaque, aligned, min) : 0;
        uint64_t m = size_mask(size_bytes) << (shift * 8);
        uint64_t v = (old & ~m) | ((value << (shift * 8)) & m);
        if (r->ops->write)
            r->ops->write(r->opaque, aligned, v & size_mask(min), min);
        return;
    }
    if (r->ops->write)
        r->ops->write(r->opaque, offset, value, size_bytes);
}

/*
 * A pending power-off or exit is never downgraded to a reset: the order of
 * strength is NONE < RESET < POWEROFF / EXIT, and the latest of equal strength
 * wins.
 */
void bus_request(struct bus *bus, enum machine_request req, int status)
{
    if (req == MACHINE_REQ_NONE)
        return;
    bool pending_final = bus->request == MACHINE_REQ_POWEROFF || bus->request == MACHINE_REQ_EXIT;
    if (!(pending_final && req == MACHINE_REQ_RESET)) {
        bus->request = req;
        bus->exit_status = req == MACHINE_REQ_EXIT ? status : 0;
    }
    if (bus->kick)
        bus->kick(bus->kick_opaque);
}
