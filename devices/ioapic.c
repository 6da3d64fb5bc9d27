/*
 * devices/ioapic.c - I/O APIC (Intel 82093AA datasheet, order 290566-001).
 *
 * Owns: the indirect register window (IOREGSEL at base + 0x00, IOWIN at
 * base + 0x10; datasheet 3.1), the ID/VER/ARB registers, and 24 redirection
 * table entries (3.2.4), the pin input state and Remote IRR.
 *
 * Decided:
 *  - VER = 0x00170011: version 0x11, maximum redirection entry 23 (QEMU's).
 *    No EOI register (that came with version 0x20).
 *  - Pin levels are logical: irq_set(pin, 1) means "interrupt asserted",
 *    whatever the electrical polarity. Devices in this tree model their
 *    lines as asserted-high (as QEMU's do), so the Interrupt Input Pin
 *    Polarity bit (13) is stored and read back but does not invert the input;
 *    the board's MADT/_PRT must simply describe what Linux programs. Inverting
 *    here would turn every idle PCI line (level 0) into a stuck, asserted
 *    active-low interrupt.
 *  - Edge-triggered pins fire on a rising edge of the input; an edge that
 *    arrives while the entry is masked is lost (datasheet 3.2.4, bit 16: "the
 *    interrupt signal is masked"; QEMU does the same).
 *  - Level-triggered pins set Remote IRR when delivered (fixed and lowest
 *    priority modes) and are not delivered again until the local APIC's EOI
 *    for that vector arrives through ioapic_eoi(); a still-asserted pin is
 *    then delivered again. Unmasking an asserted level pin delivers it.
 *  - Delivery is instantaneous (Delivery Status always idle) and goes through
 *    lapic_deliver_dest(), which applies the physical/logical destination.
 */
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

#define IOAPIC_PINS        24
#define IOAPIC_VERSION     0x00170011u

/* Register indexes behind IOWIN (datasheet 3.1). */
enum { IOAPICID = 0x00, IOAPICVER = 0x01, IOAPICARB = 0x02, IOREDTBL0 = 0x10 };

/* Redirection entry bits (datasheet 3.2.4). */
#define RTE_VECTOR(e)        ((uint8_t)((e) & 0xff))
#define RTE_DELMOD(e)        ((uint8_t)(((e) >> 8) & 7))
#define RTE_DESTMOD          (1ull << 11)
#define RTE_DELIVS           (1ull << 12)
#define RTE_INTPOL           (1ull << 13)
#define RTE_REMOTE_IRR       (1ull << 14)
#define RTE_TRIGGER_LEVEL    (1ull << 15)
#define RTE_MASK             (1ull << 16)
#define RTE_DEST(e)          ((uint8_t)((e) >> 56))
/* Writable bits: all but Delivery Status (12), Remote IRR (14) and reserved 55:17. */
#define RTE_WRITABLE         (0xff00000000000000ull | 0x1afffull)

/** One IOAPIC. */
struct ioapic {
    uint32_t id;                    /* IOAPICID, ID in bits 27:24 */
    uint8_t ioregsel;
    uint64_t redtbl[IOAPIC_PINS];
    uint32_t pin_level;             /* current input level of each pin (bit per pin) */
};

/** Send the message of entry @pin to the local APIC(s). */
static void ioapic_send(struct ioapic *io, int pin)
{
    uint64_t e = io->redtbl[pin];
    bool level = e & RTE_TRIGGER_LEVEL;
    uint8_t mode = RTE_DELMOD(e);
    if (mode == 3 || mode == 6) {
        qlog(LOG_GUEST_ERRORS, "ioapic: pin %d has reserved delivery mode %u", pin, mode);
        return;
    }
    /* Remote IRR only tracks fixed/lowest-priority level interrupts (acknowledged by EOI). */
    if (level && (mode == 0 || mode == 1))
        io->redtbl[pin] |= RTE_REMOTE_IRR;
    lapic_deliver_dest(RTE_DEST(e), e & RTE_DESTMOD, mode, RTE_VECTOR(e), level);
}

/** Deliver @pin if it is asserted, level-triggered, unmasked and not awaiting EOI. */
static void ioapic_service_level(struct ioapic *io, int pin)
{
    uint64_t e = io->redtbl[pin];
    if ((io->pin_level & (1u << pin)) && (e & RTE_TRIGGER_LEVEL) && !(e & RTE_MASK) &&
        !(e & RTE_REMOTE_IRR))
        ioapic_send(io, pin);
}

/** Input pin @pin changed to @level (logical: 1 = asserted). */
static void ioapic_set_pin(void *opaque, int pin, int level)
{
    struct ioapic *io = opaque;
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    uint32_t bit = 1u << pin;
    bool was = io->pin_level & bit;
    if (level)
        io->pin_level |= bit;
    else
        io->pin_level &= ~bit;

    uint64_t e = io->redtbl[pin];
    if (e & RTE_TRIGGER_LEVEL)
        ioapic_service_level(io, pin);
    else if (level && !was && !(e & RTE_MASK))
        ioapic_send(io, pin);
}

struct irq_line ioapic_irq(struct ioapic *io, int pin)
{
    return (struct irq_line){ .set_level = ioapic_set_pin, .opaque = io, .line = pin };
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    if (!io)
        return;
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redtbl[pin];
        if (!(e & RTE_TRIGGER_LEVEL) || !(e & RTE_REMOTE_IRR) || RTE_VECTOR(e) != vector)
            continue;
        io->redtbl[pin] &= ~RTE_REMOTE_IRR;
        ioapic_service_level(io, pin);
    }
}

/* ---------------------------------------------------------------- registers */

static uint32_t ioapic_reg_read(struct ioapic *io, uint8_t index)
{
    switch (index) {
    case IOAPICID: return io->id;
    case IOAPICVER: return IOAPIC_VERSION;
    case IOAPICARB: return io->id;            /* arbitration ID = APIC ID after reset */
    default: break;
    }
    if (index >= IOREDTBL0 && index < IOREDTBL0 + 2 * IOAPIC_PINS) {
        uint64_t e = io->redtbl[(index - IOREDTBL0) >> 1];
        return (index & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    qlog(LOG_GUEST_ERRORS, "ioapic: read of undefined register 0x%02x", index);
    return 0;
}

static void ioapic_reg_write(struct ioapic *io, uint8_t index, uint32_t value)
{
    if (index == IOAPICID) {
        io->id = value & 0x0f000000u;
        return;
    }
    if (index >= IOREDTBL0 && index < IOREDTBL0 + 2 * IOAPIC_PINS) {
        int pin = (index - IOREDTBL0) >> 1;
        uint64_t e = io->redtbl[pin];
        uint64_t v = (index & 1) ? ((uint64_t)value << 32) | (uint32_t)e
                                 : (e & 0xffffffff00000000ull) | value;
        e = (v & RTE_WRITABLE) | (e & RTE_REMOTE_IRR);
        if (!(e & RTE_TRIGGER_LEVEL))
            e &= ~RTE_REMOTE_IRR;           /* Remote IRR is undefined for edge entries */
        io->redtbl[pin] = e;
        ioapic_service_level(io, pin);       /* unmasking an asserted level pin */
        return;
    }
    qlog(LOG_GUEST_ERRORS, "ioapic: write to read-only/undefined register 0x%02x", index);
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct ioapic *io = opaque;
    switch (offset) {
    case 0x00: return io->ioregsel;
    case 0x10: return ioapic_reg_read(io, io->ioregsel);
    default:
        qlog(LOG_GUEST_ERRORS, "ioapic: read at offset 0x%llx", (unsigned long long)offset);
        return 0;
    }
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct ioapic *io = opaque;
    switch (offset) {
    case 0x00:
        io->ioregsel = (uint8_t)value;
        break;
    case 0x10:
        if (size != 4)
            qlog(LOG_GUEST_ERRORS, "ioapic: %u-byte IOWIN write", size);
        ioapic_reg_write(io, io->ioregsel, (uint32_t)value);
        break;
    default:
        qlog(LOG_GUEST_ERRORS, "ioapic: write at offset 0x%llx", (unsigned long long)offset);
        break;
    }
}

static const struct io_ops ioapic_mmio_ops = {
    .read = ioapic_mmio_read, .write = ioapic_mmio_write, .min_access = 1, .max_access = 4,
};

struct ioapic *ioapic_create(struct bus *bus, uint64_t base_gpa)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    for (int i = 0; i < IOAPIC_PINS; i++)
        io->redtbl[i] = RTE_MASK;           /* reset: all masked (datasheet 3.2.4) */
    if (bus) {
        struct io_region r = {
            .base = base_gpa, .size_bytes = 0x1000, .ops = &ioapic_mmio_ops, .opaque = io,
            .name = "ioapic",
        };
        if (io_space_add(&bus->mmio, &r) != 0) {
            free(io);
            return NULL;
        }
    }
    return io;
}
