/*
 * tests/unit/test_lapic.c - devices/lapic.c driven through its MMIO page and
 * its intc_port, with time from the manual test clock. Oracle: Intel SDM
 * Vol. 3A ch. 10 (power-up state 10.4.7.1, IA32_APIC_BASE 10.4.4, timer
 * 10.5.4 with the divide encoding of Figure 10-10, ESR 10.5.3, ICR 10.6.1,
 * priority/PPR 10.8.3.1, INTA/EOI 10.8.4-10.8.5, CR8 10.8.6.1, spurious 10.9)
 * and the 8259A datasheet for the ExtINT vector. The timer's input clock is
 * the documented 1 GHz (module header), so 1 ns = 1 tick at divide-by-1.
 */
#include <criterion/criterion.h>

#include "devices/bus.h"
#include "util/clock.h"

#define BASE LAPIC_DEFAULT_BASE
#define MSR_IA32_APIC_BASE 0x1b

struct pins { int level[5]; int rises[5]; int sipi; };

static struct bus b;
static struct lapic *apic;
static struct intc_port port;
static struct pins cpu0;
static int64_t now;

static void pins_sink(void *opaque, int line, int level)
{
    struct pins *p = opaque;
    if (line < 0 || line > 4)
        return;
    if (line == CPU_PIN_SIPI) {
        p->sipi = level;
        p->rises[line]++;
        return;
    }
    if (level && !p->level[line])
        p->rises[line]++;
    p->level[line] = level;
}

static uint32_t rd(uint32_t off) { return (uint32_t)io_space_read(&b.mmio, BASE + off, 4); }
static void wr(uint32_t off, uint32_t v) { io_space_write(&b.mmio, BASE + off, v, 4); }
static void advance(int64_t ns) { now += ns; clock_set_manual(now); qtimer_run_expired(); }
static bool irr(unsigned v) { return rd(0x200 + (v / 32) * 0x10) & (1u << (v % 32)); }
static bool isr(unsigned v) { return rd(0x100 + (v / 32) * 0x10) & (1u << (v % 32)); }
static bool tmr(unsigned v) { return rd(0x180 + (v / 32) * 0x10) & (1u << (v % 32)); }

static void setup(void)
{
    now = 1000000;
    clock_set_manual(now);
    bus_init(&b);
    memset(&cpu0, 0, sizeof(cpu0));
    apic = lapic_create(&b, 0, (struct irq_line){ pins_sink, &cpu0, 0 }, NULL);
    cr_assert_not_null(apic);
    port = lapic_port(apic);
}

/** Software-enable with spurious vector 0xFF (as Linux's setup_local_APIC). */
static void enable(void) { wr(0xf0, 0x1ff); }

TestSuite(lapic, .init = setup);

Test(lapic, power_up_state)
{
    uint64_t base;
    cr_assert(port.msr_read(port.opaque, MSR_IA32_APIC_BASE, &base));
    cr_assert_eq(base, 0xfee00000u | (1u << 11) | (1u << 8));   /* enabled BSP at FEE00000 */
    cr_assert_eq(rd(0x20) >> 24, 0);
    cr_assert_eq(rd(0xe0), 0xffffffffu);                         /* DFR */
    cr_assert_eq(rd(0xf0), 0xff);                                /* SVR */
    cr_assert_eq(rd(0x80), 0);
    for (uint32_t off = 0x100; off < 0x280; off += 0x10)
        cr_assert_eq(rd(off), 0, "ISR/TMR/IRR at 0x%x", off);
    cr_assert_eq(rd(0x380), 0);
    cr_assert_eq(rd(0x390), 0);
    cr_assert_eq(rd(0x3e0), 0);
    /* LVT entries masked, except LINT0 which the BIOS leaves as ExtINT (virtual wire). */
    cr_assert(rd(0x320) & (1u << 16));
    cr_assert(rd(0x360) & (1u << 16));
    cr_assert(rd(0x370) & (1u << 16));
    cr_assert_eq((rd(0x350) >> 8) & 7, 7);
    uint32_t ver = rd(0x30);
    cr_assert(((ver & 0xff) >> 4) == 1, "integrated APIC has version 1xH");
    cr_assert_eq((ver >> 16) & 0xff, 5, "six LVT entries -> max LVT entry 5");
}

Test(lapic, timer_one_shot_divide_by_1)
{
    enable();
    wr(0x3e0, 0xb);                     /* divide by 1 */
    wr(0x320, 0x40);                    /* one-shot, vector 0x40, unmasked */
    wr(0x380, 1000);
    advance(400);
    cr_assert_eq(rd(0x390), 600);
    cr_assert_not(irr(0x40));
    advance(599);
    cr_assert_eq(rd(0x390), 1);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
    advance(1);
    cr_assert_eq(rd(0x390), 0);
    cr_assert(irr(0x40));
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    /* One-shot: no reload. */
    cr_assert_eq(port.inta(port.opaque), 0x40);
    wr(0xb0, 0);
    advance(5000);
    cr_assert_not(irr(0x40));
    cr_assert_eq(rd(0x390), 0);
}

Test(lapic, timer_divide_encodings)
{
    /* Figure 10-10: 0000=2 0001=4 0010=8 0011=16 1000=32 1001=64 1010=128 1011=1. */
    static const struct { uint32_t dcr, div; } enc[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 },
        { 0xa, 128 }, { 0xb, 1 },
    };
    enable();
    wr(0x320, 0x10040);                 /* masked: counts but does not interrupt */
    for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        wr(0x3e0, enc[i].dcr);
        wr(0x380, 100000);
        advance(100 * enc[i].div);
        cr_assert_eq(rd(0x390), 100000 - 100, "dcr 0x%x", enc[i].dcr);
    }
    cr_assert_not(irr(0x40));
}

Test(lapic, timer_periodic_reload)
{
    enable();
    wr(0x3e0, 0x3);                     /* divide by 16 */
    wr(0x320, (1u << 17) | 0x41);       /* periodic */
    wr(0x380, 100);                     /* period = 1600 ns */
    advance(800);
    cr_assert_eq(rd(0x390), 50);
    int fired = 0;
    for (int i = 0; i < 5; i++) {
        advance(1600);
        if (irr(0x41)) {
            fired++;
            cr_assert_eq(port.inta(port.opaque), 0x41);
            wr(0xb0, 0);
        }
        cr_assert_eq(rd(0x390), 50, "count reloads and keeps counting");
    }
    cr_assert_eq(fired, 5);
    /* Writing 0 to the initial count stops the timer. */
    wr(0x380, 0);
    advance(10000);
    cr_assert_not(irr(0x41));
    cr_assert_eq(rd(0x390), 0);
}

Test(lapic, tpr_ppr_masking)
{
    enable();
    wr(0x80, 0x50);
    lapic_deliver(apic, 0x45, 0, false);           /* class 4 <= PPR class 5 */
    cr_assert(irr(0x45));
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
    cr_assert_eq(rd(0xa0), 0x50);
    lapic_deliver(apic, 0x61, 0, false);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(port.inta(port.opaque), 0x61);
    cr_assert_eq(rd(0xa0), 0x60, "PPR = ISRV class when above TPR");
    /* CR8 write: TPR = CR8 << 4; 0x45 still blocked by the 0x61 in service. */
    port.tpr_write(port.opaque, 0);
    cr_assert_eq(rd(0x80), 0);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
    wr(0xb0, 0);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(port.inta(port.opaque), 0x45);
    port.tpr_write(port.opaque, 0xa);
    cr_assert_eq(rd(0x80), 0xa0);
    cr_assert_eq(port.tpr_read(port.opaque), 0xa);
}

Test(lapic, same_class_blocked_until_eoi)
{
    enable();
    lapic_deliver(apic, 0x51, 0, false);
    cr_assert_eq(port.inta(port.opaque), 0x51);
    lapic_deliver(apic, 0x5e, 0, false);           /* same class 5 as in-service 0x51 */
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
    wr(0xb0, 0);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(port.inta(port.opaque), 0x5e);
}

Test(lapic, nested_isr_eoi_order)
{
    enable();
    lapic_deliver(apic, 0x30, 0, false);
    cr_assert_eq(port.inta(port.opaque), 0x30);
    lapic_deliver(apic, 0x80, 0, false);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(port.inta(port.opaque), 0x80);
    cr_assert(isr(0x30) && isr(0x80));
    wr(0xb0, 0);                                   /* retires the highest: 0x80 */
    cr_assert(isr(0x30));
    cr_assert_not(isr(0x80));
    cr_assert_eq(rd(0xa0), 0x30);
    wr(0xb0, 0);
    cr_assert_not(isr(0x30));
    cr_assert_eq(rd(0xa0), 0);
}

Test(lapic, spurious_when_nothing_pending)
{
    enable();
    wr(0xf0, 0x1ef);
    cr_assert_eq(port.inta(port.opaque), 0xef);
    cr_assert_eq(rd(0x100 + 7 * 0x10), 0, "spurious vector is not put in service");
}

static uint8_t eoi_vec;
static int eoi_calls;
static void eoi_hook(void *opaque, uint8_t vector) { eoi_vec = vector; eoi_calls++; }

Test(lapic, level_eoi_broadcast)
{
    enable();
    lapic_set_eoi_hook(apic, eoi_hook, NULL);
    lapic_deliver(apic, 0x70, 0, false);
    cr_assert_not(tmr(0x70));
    cr_assert_eq(port.inta(port.opaque), 0x70);
    wr(0xb0, 0);
    cr_assert_eq(eoi_calls, 0, "edge vectors are not broadcast");
    lapic_deliver(apic, 0x71, 0, true);
    cr_assert(tmr(0x71));
    cr_assert_eq(port.inta(port.opaque), 0x71);
    wr(0xb0, 0);
    cr_assert_eq(eoi_calls, 1);
    cr_assert_eq(eoi_vec, 0x71);
}

Test(lapic, self_ipi_and_shorthands)
{
    enable();
    wr(0x300, (1u << 18) | 0x55);                  /* shorthand self, fixed */
    cr_assert(irr(0x55));
    cr_assert_eq(rd(0x300) & (1u << 12), 0, "delivery status idle");
    wr(0x300, (3u << 18) | 0x56);                  /* all excluding self */
    cr_assert_not(irr(0x56));
    wr(0x300, (2u << 18) | 0x57);                  /* all including self */
    cr_assert(irr(0x57));
    wr(0x310, 0u << 24);                           /* physical destination 0 = us */
    wr(0x300, 0x58);
    cr_assert(irr(0x58));
    wr(0x310, 3u << 24);
    wr(0x300, 0x59);
    cr_assert_not(irr(0x59));
}

Test(lapic, esr_write_then_read)
{
    enable();
    wr(0x280, 0);
    cr_assert_eq(rd(0x280), 0);
    wr(0x300, (1u << 18) | 0x05);                  /* illegal vector 5 */
    cr_assert_eq(rd(0x280), 0, "ESR updates only on write");
    wr(0x280, 0);
    cr_assert(rd(0x280) & (1u << 5), "send illegal vector");
    wr(0x280, 0);
    cr_assert_eq(rd(0x280), 0, "second write clears");
}

Test(lapic, software_disable_masks_lvt)
{
    enable();
    wr(0x320, 0x40);
    cr_assert_eq(rd(0x320) & (1u << 16), 0);
    wr(0xf0, 0xff);
    cr_assert(rd(0x320) & (1u << 16));
    wr(0x320, 0x40);
    cr_assert(rd(0x320) & (1u << 16), "cannot unmask while software-disabled");
    lapic_deliver(apic, 0x40, 0, false);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
}

Test(lapic, nmi_init_sipi_between_apics)
{
    struct pins cpu1 = { 0 };
    struct lapic *ap = lapic_create(&b, 1, (struct irq_line){ pins_sink, &cpu1, 0 }, NULL);
    struct lapic *all[2] = { apic, ap };
    lapic_set_cluster(all, 2);
    enable();
    wr(0x310, 1u << 24);
    wr(0x300, (4u << 8));                          /* NMI to APIC 1 */
    cr_assert_eq(cpu1.rises[CPU_PIN_NMI], 1);
    cr_assert_eq(cpu0.rises[CPU_PIN_NMI], 0);
    wr(0x300, (5u << 8) | (1u << 14) | (1u << 15));  /* INIT assert, level */
    cr_assert_eq(cpu1.rises[CPU_PIN_INIT], 1);
    wr(0x300, (5u << 8) | (1u << 15));             /* INIT de-assert: no effect */
    cr_assert_eq(cpu1.rises[CPU_PIN_INIT], 1);
    wr(0x300, (6u << 8) | 0x9a);                   /* SIPI, vector 0x9a */
    cr_assert_eq(cpu1.sipi, 0x9a);
    cr_assert_eq(cpu0.rises[CPU_PIN_INIT] + cpu0.rises[CPU_PIN_SIPI], 0);
    /* The AP is not the BSP. */
    uint64_t base;
    struct intc_port p1 = lapic_port(ap);
    cr_assert(p1.msr_read(p1.opaque, MSR_IA32_APIC_BASE, &base));
    cr_assert_eq(base & (1u << 8), 0);
}

Test(lapic, logical_flat_destination)
{
    enable();
    wr(0xd0, 0x04u << 24);                         /* LDR: logical ID bit 2 */
    wr(0xe0, 0xffffffffu);                         /* flat model */
    wr(0x310, 0x04u << 24);
    wr(0x300, (1u << 11) | 0x61);
    cr_assert(irr(0x61));
    wr(0x310, 0x03u << 24);
    wr(0x300, (1u << 11) | 0x62);
    cr_assert_not(irr(0x62));
    /* Cluster model: cluster 1, member bit 0. */
    wr(0xd0, 0x11u << 24);
    wr(0xe0, 0x0fffffffu);
    wr(0x310, 0x13u << 24);
    wr(0x300, (1u << 11) | 0x63);
    cr_assert(irr(0x63));
    wr(0x310, 0x21u << 24);
    wr(0x300, (1u << 11) | 0x64);
    cr_assert_not(irr(0x64));
}

Test(lapic, lint1_nmi)
{
    enable();
    wr(0x360, 4u << 8);                            /* LINT1: NMI, unmasked */
    struct irq_line l1 = lapic_lint(apic, 1);
    irq_set(&l1, 1);
    cr_assert_eq(cpu0.rises[CPU_PIN_NMI], 1);
    irq_set(&l1, 1);
    cr_assert_eq(cpu0.rises[CPU_PIN_NMI], 1, "edge-sensitive");
}

/* ExtINT through LINT0 with a real 8259 pair programmed as Linux does. */
struct fwd { struct lapic *apic; };
static void fwd_sink(void *opaque, int line, int level)
{
    struct fwd *f = opaque;
    if (!f->apic)
        return;
    struct irq_line l = lapic_lint(f->apic, 0);
    irq_set(&l, level);
}

Test(lapic, extint_virtual_wire_and_masking)
{
    static struct fwd f;
    struct i8259 *pic = i8259_create(&b, (struct irq_line){ fwd_sink, &f, 0 });
    cr_assert_not_null(pic);
    static const uint8_t icw[][2] = {
        { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xa0, 0x11 }, { 0xa1, 0x38 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
        { 0x21, 0x00 }, { 0xa1, 0x00 },
    };
    for (size_t i = 0; i < sizeof(icw) / sizeof(icw[0]); i++)
        io_space_write(&b.pio, icw[i][0], icw[i][1], 1);
    /* Recreate the APIC with the PIC behind LINT0 (a second bus: MMIO page is taken). */
    struct bus b2;
    bus_init(&b2);
    memset(&cpu0, 0, sizeof(cpu0));
    struct lapic *a = lapic_create(&b2, 0, (struct irq_line){ pins_sink, &cpu0, 0 }, pic);
    struct intc_port p = lapic_port(a);
    f.apic = a;

    /* Software-disabled APIC (reset state): the PIC's INTR passes through. */
    struct irq_line irq1 = i8259_irq(pic, 1);
    irq_set(&irq1, 1);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(p.inta(p.opaque), 0x31, "ICW2 base 0x30 + IR1");
    irq_set(&irq1, 0);
    io_space_write(&b.pio, 0x20, 0x20, 1);        /* non-specific EOI */
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);

    /* Masked LINT0 (Linux after switching to the IOAPIC): no pass-through. */
    lapic_reg_write(a, 0xf0, 0x1ff);
    lapic_reg_write(a, 0x350, (1u << 16) | (7u << 8));
    irq_set(&irq1, 1);
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 0);
    /* Globally disabled APIC: LINT0 is the INTR wire again. */
    cr_assert(p.msr_write(p.opaque, MSR_IA32_APIC_BASE, 0xfee00000u | (1u << 8)));
    cr_assert_eq(cpu0.level[CPU_PIN_INTR], 1);
    cr_assert_eq(p.inta(p.opaque), 0x31);
    bus_destroy(&b2);
}

Test(lapic, apic_base_msr)
{
    cr_assert_not(port.msr_write(port.opaque, MSR_IA32_APIC_BASE,
                                 0xfee00000u | (1u << 11) | (1u << 10)), "no x2APIC");
    cr_assert_not(port.msr_write(port.opaque, MSR_IA32_APIC_BASE, 0xfee00001u | (1u << 11)),
                  "reserved bit 0");
    cr_assert_not(port.msr_read(port.opaque, 0x10, &(uint64_t){ 0 }), "TSC is not ours");
    /* Relocate: registers follow, old page is unmapped (open bus reads all-ones). */
    cr_assert(port.msr_write(port.opaque, MSR_IA32_APIC_BASE, 0xfea00000u | (1u << 11)));
    uint64_t base;
    port.msr_read(port.opaque, MSR_IA32_APIC_BASE, &base);
    cr_assert_eq(base, 0xfea00000u | (1u << 11) | (1u << 8), "BSP bit is read-only");
    cr_assert_eq((uint32_t)io_space_read(&b.mmio, 0xfea00000u + 0xf0, 4), 0xff);
    cr_assert_eq((uint32_t)io_space_read(&b.mmio, BASE + 0xf0, 4), 0xffffffffu);
}

Test(lapic, guest_garbage_does_not_crash)
{
    enable();
    for (uint32_t off = 0; off < 0x1000; off += 4) {
        wr(off, 0xffffffffu);
        (void)rd(off);
        io_space_write(&b.mmio, BASE + off, 0x12, 1);
    }
    for (int v = 0; v < 256; v++)
        lapic_deliver(apic, (uint8_t)v, (uint8_t)(v & 7), v & 1);
    lapic_send_msi(0xfee00000u, 0x4021);
    lapic_send_msi(0x12345678u, 0);
    (void)port.inta(port.opaque);
    advance(1000000000);
}
