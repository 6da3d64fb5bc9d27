/*
 * devices/pc_testdev.c - QEMU's "pc-testdev" ISA test device, the one
 * kvm-unit-tests and other bare-metal test kernels written for QEMU use.
 *
 * Follows QEMU's hw/misc/pc-testdev.c (the device has no datasheet; QEMU's
 * behaviour is the specification), region by region:
 *   port 0xE0, 4 bytes   "ioport": a 32-bit scratch register. An access of
 *                        N bytes at 0xE0 + k reads/writes bytes k..k+N-1 of it
 *                        (little-endian), so what was written reads back.
 *   port 0xE4, 4 bytes   "flush-page": a 32-bit write names a guest page;
 *                        QEMU mprotect()s its host mapping to make KVM drop
 *                        its translations. qtemu has no second-level page
 *                        tables to flush: the write is checked and ignored.
 *                        Only 4-byte writes are valid.
 *   port 0xE8, 4 bytes   "ioport-byte": the same scratch register again, but
 *                        QEMU implements it with byte accesses only (a 32-bit
 *                        access is split into four byte accesses); the
 *                        visible result is identical.
 *   port 0x2000, 24 bytes "irq-line": a byte write of V to 0x2000 + n drives
 *                        ISA IRQ n to level !!V (qemu_set_irq). Only byte
 *                        writes; reads return nothing (0 here). QEMU's ISA
 *                        bus has 16 IRQs and would assert on n >= 16; qtemu
 *                        logs LOG_GUEST_ERRORS and ignores the write.
 *   MMIO 0xFF000000, 64 KiB "iomem": a RAM-like buffer (reads return what
 *                        was written) that is MMIO, so every access goes
 *                        through the device path.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "util/log.h"

#define TESTDEV_IOPORT      0xE0
#define TESTDEV_FLUSH       0xE4
#define TESTDEV_IOPORT_BYTE 0xE8
#define TESTDEV_IRQ_BASE    0x2000
#define TESTDEV_IRQ_PORTS   24
#define TESTDEV_ISA_IRQS    16
#define TESTDEV_IOMEM_LEN   0x10000

struct pc_testdev {
    uint32_t ioport_data;
    struct irq_line irq[TESTDEV_ISA_IRQS];
    uint8_t iomem[TESTDEV_IOMEM_LEN];
};

/* ---------------------------------------------------------------- scratch register */

static uint64_t ioport_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pc_testdev *d = opaque;
    if (offset >= 4 || size > 4 - offset)
        return 0;
    unsigned shift = (unsigned)offset * 8;
    uint32_t mask = (uint32_t)(0xffffffffu >> (32 - size * 8));
    return (d->ioport_data >> shift) & mask;
}

static void ioport_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pc_testdev *d = opaque;
    if (offset >= 4 || size > 4 - offset)
        return;
    unsigned shift = (unsigned)offset * 8;
    uint32_t mask = (uint32_t)(0xffffffffu >> (32 - size * 8)) << shift;
    d->ioport_data = (d->ioport_data & ~mask) | (((uint32_t)value << shift) & mask);
}

static const struct io_ops ioport_ops = {
    .read = ioport_read, .write = ioport_write, .min_access = 1, .max_access = 4,
};

/* Byte-implemented twin at 0xE8: the bus splits wider accesses into bytes. */
static const struct io_ops ioport_byte_ops = {
    .read = ioport_read, .write = ioport_write, .min_access = 1, .max_access = 1,
};

/* ---------------------------------------------------------------- flush page */

static uint64_t flush_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;   /* QEMU's region has no read callback */
}

static void flush_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    if (offset != 0 || size != 4) {
        qlog(LOG_GUEST_ERRORS, "pc-testdev: flush-page needs a 4-byte write at 0xe4 (got %u bytes at +%u)",
             size, (unsigned)offset);
        return;
    }
    /* Nothing to flush: qtemu's TLB tracks guest page tables, not host mappings. */
}

static const struct io_ops flush_ops = {
    .read = flush_read, .write = flush_write, .min_access = 1, .max_access = 4,
};

/* ---------------------------------------------------------------- IRQ lines */

static uint64_t irq_read(void *opaque, uint64_t offset, unsigned size)
{
    return 0;
}

static void irq_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pc_testdev *d = opaque;
    if (offset >= TESTDEV_ISA_IRQS) {
        qlog(LOG_GUEST_ERRORS, "pc-testdev: IRQ line port %#x: the ISA bus has 16 IRQs",
             (unsigned)(TESTDEV_IRQ_BASE + offset));
        return;
    }
    irq_set(&d->irq[offset], (value & 0xff) != 0);
}

static const struct io_ops irq_ops = {
    .read = irq_read, .write = irq_write, .min_access = 1, .max_access = 1,
};

/* ---------------------------------------------------------------- iomem */

static uint64_t iomem_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pc_testdev *d = opaque;
    if (offset >= TESTDEV_IOMEM_LEN || size > TESTDEV_IOMEM_LEN - offset)
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)d->iomem[offset + i] << (8 * i);
    return v;
}

static void iomem_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct pc_testdev *d = opaque;
    if (offset >= TESTDEV_IOMEM_LEN || size > TESTDEV_IOMEM_LEN - offset)
        return;
    for (unsigned i = 0; i < size; i++)
        d->iomem[offset + i] = (uint8_t)(value >> (8 * i));
}

static const struct io_ops iomem_ops = {
    .read = iomem_read, .write = iomem_write, .min_access = 1, .max_access = 8,
};

int pc_testdev_create(struct bus *bus, const struct irq_line isa_irq[16])
{
    struct pc_testdev *d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    for (int i = 0; i < TESTDEV_ISA_IRQS; i++)
        d->irq[i] = isa_irq[i];
    const struct io_region pio[] = {
        { TESTDEV_IOPORT, 4, &ioport_ops, d, "pc-testdev-ioport" },
        { TESTDEV_FLUSH, 4, &flush_ops, d, "pc-testdev-flush-page" },
        { TESTDEV_IOPORT_BYTE, 4, &ioport_byte_ops, d, "pc-testdev-ioport-byte" },
        { TESTDEV_IRQ_BASE, TESTDEV_IRQ_PORTS, &irq_ops, d, "pc-testdev-irq-line" },
    };
    for (size_t i = 0; i < sizeof(pio) / sizeof(pio[0]); i++) {
        if (io_space_add(&bus->pio, &pio[i]) < 0) {
            for (size_t j = 0; j < i; j++)
                io_space_remove(&bus->pio, pio[j].base);
            free(d);
            return -1;
        }
    }
    const struct io_region mmio = { PC_TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_LEN, &iomem_ops, d,
                                    "pc-testdev-iomem" };
    if (io_space_add(&bus->mmio, &mmio) < 0) {
        for (size_t j = 0; j < sizeof(pio) / sizeof(pio[0]); j++)
            io_space_remove(&bus->pio, pio[j].base);
        free(d);
        return -1;
    }
    return 0;
}
