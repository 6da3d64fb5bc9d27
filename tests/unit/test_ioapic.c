/*
 * tests/unit/test_ioapic.c - devices/ioapic.c through IOREGSEL/IOWIN, with a
 * real local APIC as the receiver. Oracle: the 82093AA datasheet (register
 * map 3.1, IOAPICVER 3.2.2 "maximum redirection entry" = pins - 1, reset
 * state: mask bit set; redirection entry bit layout 3.2.4; Remote IRR set on
 * acceptance of a level interrupt and cleared by the EOI message) and the
 * SDM's IRR/TMR semantics for what arrives at the APIC.
 */
#include <criterion/criterion.h>

#include "devices/bus.h"
#include "util/clock.h"

#define IOBASE IOAPIC_DEFAULT_BASE

struct pins { int level[5]; int rises[5]; };

static struct bus b;
static struct lapic *apic;
static struct intc_port port;
static struct ioapic *io;
static struct pins cpu0;

static void pins_sink(void *opaque, int line, int level)
{
    struct pins *p = opaque;
    if (line < 0 || line > 4)
        return;
    if (level && !p->level[line])
        p->rises[line]++;
    p->level[line] = level;
}

static uint32_t io_rd(uint8_t reg)
{
    io_space_write(&b.mmio, IOBASE, reg, 4);
    return (uint32_t)io_space_read(&b.mmio, IOBASE + 0x10, 4);
}
static void io_wr(uint8_t reg, uint32_t v)
{
    io_space_write(&b.mmio, IOBASE, reg, 4);
    io_space_write(&b.mmio, IOBASE + 0x10, v, 4);
}
static void rte(int pin, uint64_t e) { io_wr(0x11 + 2 * pin, e >> 32); io_wr(0x10 + 2 * pin, (uint32_t)e); }
static uint64_t rte_rd(int pin) { return ((uint64_t)io_rd(0x11 + 2 * pin) << 32) | io_rd(0x10 + 2 * pin); }
static void pin(int n, int level) { struct irq_line l = ioapic_irq(io, n); irq_set(&l, level); }
static bool irr(unsigned v)
{
    return lapic_reg_read(apic, 0x200 + (v / 32) * 0x10) & (1u << (v % 32));
}
static void eoi(void) { lapic_reg_write(apic, 0xb0, 0); }
static void hook(void *opaque, uint8_t vector) { ioapic_eoi(opaque, vector); }

#define LEVEL (1ull << 15)
#define MASK  (1ull << 16)
#define RIRR  (1ull << 14)

static void setup(void)
{
    clock_set_manual(0);
    bus_init(&b);
    memset(&cpu0, 0, sizeof(cpu0));
    apic = lapic_create(&b, 0, (struct irq_line){ pins_sink, &cpu0, 0 }, NULL);
    io = ioapic_create(&b, IOBASE);
    cr_assert_not_null(apic);
    cr_assert_not_null(io);
    port = lapic_port(apic);
    lapic_set_eoi_hook(apic, hook, io);
    lapic_reg_write(apic, 0xf0, 0x1ff);            /* software-enable */
}

TestSuite(ioapic, .init = setup);

Test(ioapic, version_and_reset_state)
{
    uint32_t ver = io_rd(0x01);
    cr_assert_eq(ver & 0xff, 0x11);
    cr_assert_eq(((ver >> 16) & 0xff) + 1, 24, "24 redirection entries");
    for (int p = 0; p < 24; p++)
        cr_assert(rte_rd(p) & MASK, "pin %d masked at reset", p);
    io_wr(0x00, 0x0a000000u | 0x00ffffffu);
    cr_assert_eq(io_rd(0x00), 0x0a000000u, "ID bits 27:24 only");
    cr_assert_eq(io_space_read(&b.mmio, IOBASE, 1), 0x00, "IOREGSEL reads back");
}

Test(ioapic, edge_pin_delivers_vector)
{
    rte(2, 0x30);                                  /* fixed, physical dest 0, edge, high */
    pin(2, 1);
    cr_assert(irr(0x30));
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(port.inta(port.opaque), 0x30);
    eoi();
    cr_assert_eq(rte_rd(2) & RIRR, 0, "no Remote IRR for edge");
    pin(2, 1);                                     /* still high: no new edge */
    cr_assert_not(irr(0x30));
    pin(2, 0);
    pin(2, 1);
    cr_assert(irr(0x30));
}

Test(ioapic, masked_pin_does_nothing)
{
    rte(4, MASK | 0x34);
    pin(4, 1);
    cr_assert_not(irr(0x34));
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
    pin(4, 0);
    rte(4, 0x34);                                  /* edge that came while masked is lost */
    cr_assert_not(irr(0x34));
}

Test(ioapic, level_pin_remote_irr_until_eoi)
{
    rte(10, LEVEL | 0x40);
    pin(10, 1);
    cr_assert(irr(0x40));
    cr_assert(lapic_reg_read(apic, 0x180 + 2 * 0x10) & 1u, "TMR marks vector 0x40 level");
    cr_assert(rte_rd(10) & RIRR);
    cr_assert_eq(port.inta(port.opaque), 0x40);
    /* Pin stays asserted: EOI clears Remote IRR and the interrupt is sent again. */
    eoi();
    cr_assert(irr(0x40));
    cr_assert(rte_rd(10) & RIRR);
    cr_assert_eq(port.inta(port.opaque), 0x40);
    pin(10, 0);
    eoi();
    cr_assert_eq(rte_rd(10) & RIRR, 0);
    cr_assert_not(irr(0x40));
}

Test(ioapic, edge_rewrite_clears_remote_irr)
{
    /* Linux's __eoi_ioapic_pin for version < 0x20: mask + switch to edge, restore level. */
    rte(9, LEVEL | 0x48);
    pin(9, 1);
    cr_assert(rte_rd(9) & RIRR);
    cr_assert_eq(port.inta(port.opaque), 0x48);
    rte(9, MASK | 0x48);
    cr_assert_eq(rte_rd(9) & RIRR, 0, "Remote IRR is meaningless for edge entries");
    pin(9, 0);
    rte(9, LEVEL | 0x48);
    cr_assert_eq(rte_rd(9) & RIRR, 0);
    pin(9, 1);
    cr_assert(rte_rd(9) & RIRR, "delivered again once the pin re-asserts");
}

Test(ioapic, unmask_asserted_level_pin_delivers)
{
    rte(11, MASK | LEVEL | 0x41);
    pin(11, 1);
    cr_assert_not(irr(0x41));
    rte(11, LEVEL | 0x41);
    cr_assert(irr(0x41));
}

Test(ioapic, remote_irr_read_only)
{
    rte(12, LEVEL | RIRR | (1ull << 12) | 0x42);
    uint64_t e = rte_rd(12);
    cr_assert_eq(e & (RIRR | (1ull << 12)), 0, "Remote IRR / Delivery Status not writable");
    cr_assert_eq(e & 0xff, 0x42);
}

Test(ioapic, destination_physical_and_logical)
{
    rte(5, (1ull << 56) | 0x50);                   /* physical APIC 1: none */
    pin(5, 1);
    cr_assert_not(irr(0x50));
    lapic_reg_write(apic, 0xd0, 0x01u << 24);      /* LDR bit 0, flat DFR */
    rte(6, (0x01ull << 56) | (1ull << 11) | 0x51);
    pin(6, 1);
    cr_assert(irr(0x51));
    rte(7, (0x02ull << 56) | (1ull << 11) | 0x52);
    pin(7, 1);
    cr_assert_not(irr(0x52));
    rte(8, (0xffull << 56) | 0x53);                /* physical broadcast */
    pin(8, 1);
    cr_assert(irr(0x53));
}

Test(ioapic, nmi_delivery_mode)
{
    rte(3, 4u << 8);
    pin(3, 1);
    cr_assert_eq(cpu0.rises[CPU_PIN_NMI], 1);
}

Test(ioapic, narrow_and_bad_accesses_are_harmless)
{
    for (int r = 0; r < 256; r++) {
        io_wr((uint8_t)r, 0xffffffffu);
        (void)io_rd((uint8_t)r);
    }
    io_space_write(&b.mmio, IOBASE + 0x20, 1, 4);
    (void)io_space_read(&b.mmio, IOBASE + 0x30, 8);
    for (int p = -3; p < 40; p++) {
        struct irq_line l = ioapic_irq(io, p);
        irq_set(&l, 1);
    }
    ioapic_eoi(io, 0xff);
    cr_assert_eq(io_rd(0x01) & 0xff, 0x11);
}
