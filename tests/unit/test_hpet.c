/*
 * tests/unit/test_hpet.c - devices/hpet.c through its MMIO block with the
 * manual test clock. Oracle: the IA-PC HPET 1.0a specification: register map
 * (2.3.1), GCAP_ID layout with COUNTER_CLK_PERIOD in femtoseconds (2.3.4) --
 * the counting rate is checked against the period the device itself
 * advertises --, ENABLE_CNF halting the counter and LEG_RT_CNF routing
 * (2.3.5, 2.3.7 Table 4: timer 0 -> 8259 IRQ0 / IOAPIC IRQ2, timer 1 -> IRQ8),
 * level status write-1-to-clear (2.3.6), Tn_CONF_CAP bits and 32-bit mode
 * (2.3.8), one-shot/periodic comparator semantics incl. Tn_VAL_SET_CNF
 * (2.3.9.2). Interrupt lines go to recording sinks.
 */
#include <criterion/criterion.h>

#include "devices/bus.h"
#include "util/clock.h"

#define HB HPET_DEFAULT_BASE

struct line_rec { int level; int rises; };

static struct bus b;
static struct hpet *h;
static struct line_rec io_rec[24], pic_rec[16];
static struct irq_line io_pins[24], pic_pins[16];
static int64_t now;

static void rec_sink(void *opaque, int line, int level)
{
    struct line_rec *r = opaque;
    if (level && !r->level)
        r->rises++;
    r->level = level;
}

static uint64_t rd64(uint32_t off) { return io_space_read(&b.mmio, HB + off, 8); }
static uint32_t rd32(uint32_t off) { return (uint32_t)io_space_read(&b.mmio, HB + off, 4); }
static void wr64(uint32_t off, uint64_t v) { io_space_write(&b.mmio, HB + off, v, 8); }
static void wr32(uint32_t off, uint32_t v) { io_space_write(&b.mmio, HB + off, v, 4); }
static void advance(int64_t ns) { now += ns; clock_set_manual(now); qtimer_run_expired(); }

#define GEN_CONF 0x10
#define GINTR_STA 0x20
#define MAIN_CNT 0xf0
#define TCONF(n) (0x100 + 0x20 * (n))
#define TCMP(n)  (0x108 + 0x20 * (n))
#define INT_LEVEL (1u << 1)
#define INT_ENB   (1u << 2)
#define PERIODIC  (1u << 3)
#define VAL_SET   (1u << 6)
#define MODE32    (1u << 8)
#define ROUTE(r)  ((uint32_t)(r) << 9)

static void setup(void)
{
    now = 5000;
    clock_set_manual(now);
    bus_init(&b);
    memset(io_rec, 0, sizeof(io_rec));
    memset(pic_rec, 0, sizeof(pic_rec));
    for (int i = 0; i < 24; i++)
        io_pins[i] = (struct irq_line){ rec_sink, &io_rec[i], i };
    for (int i = 0; i < 16; i++)
        pic_pins[i] = (struct irq_line){ rec_sink, &pic_rec[i], i };
    h = hpet_create(&b, HB, io_pins, pic_pins);
    cr_assert_not_null(h);
}

/** Nanoseconds per tick from the advertised COUNTER_CLK_PERIOD (fs). */
static uint64_t period_fs(void) { return rd64(0) >> 32; }

TestSuite(hpet, .init = setup);

Test(hpet, capabilities)
{
    uint64_t cap = rd64(0);
    cr_assert_eq(cap & 0xff, 1, "REV_ID must not be 0");
    cr_assert_eq(((cap >> 8) & 31) + 1, 3, "three comparators");
    cr_assert(cap & (1u << 13), "64-bit counter");
    cr_assert(cap & (1u << 15), "legacy replacement capable");
    uint64_t p = cap >> 32;
    cr_assert(p != 0 && p <= 0x05f5e100, "period must be <= 100 ns (2.3.4)");
    cr_assert_eq(rd32(4), (uint32_t)(cap >> 32), "upper half readable alone");
    for (int n = 0; n < 3; n++) {
        uint64_t c = rd64(TCONF(n));
        cr_assert(c & (1u << 5), "timer %d 64-bit capable", n);
        cr_assert(c >> 32, "timer %d has a route capability", n);
    }
    cr_assert(rd64(TCONF(0)) & (1u << 4), "timer 0 periodic capable");
    cr_assert_eq(rd64(TCMP(1)), ~0ull, "comparators reset to all ones");
}

Test(hpet, counter_rate_and_halt)
{
    cr_assert_eq(rd64(MAIN_CNT), 0);
    advance(1000000);
    cr_assert_eq(rd64(MAIN_CNT), 0, "halted until ENABLE_CNF");
    wr64(GEN_CONF, 1);
    advance(1000000000);                          /* one second */
    uint64_t ticks = rd64(MAIN_CNT);
    cr_assert_eq(ticks, 1000000000000000ull / period_fs(), "1 s = 1e15 fs / period");
    wr64(GEN_CONF, 0);
    advance(777777);
    cr_assert_eq(rd64(MAIN_CNT), ticks, "stops when ENABLE_CNF is cleared");
    wr64(MAIN_CNT, 0x123456789ull);
    cr_assert_eq(rd64(MAIN_CNT), 0x123456789ull);
    wr64(GEN_CONF, 1);
    advance(50 * period_fs() / 1000000);
    cr_assert_eq(rd64(MAIN_CNT), 0x123456789ull + 50, "restarts from the written value");
    /* 32-bit halves agree with the 64-bit read at one instant. */
    uint64_t full = rd64(MAIN_CNT);
    cr_assert_eq(rd32(MAIN_CNT), (uint32_t)full);
    cr_assert_eq(rd32(MAIN_CNT + 4), (uint32_t)(full >> 32));
}

Test(hpet, counter_is_monotonic)
{
    wr64(GEN_CONF, 1);
    uint64_t last = 0;
    for (int i = 0; i < 1000; i++) {
        advance(i % 7);
        uint64_t c = rd64(MAIN_CNT);
        cr_assert_geq(c, last);
        last = c;
    }
}

Test(hpet, one_shot_edge_comparator)
{
    uint64_t ns_per_tick = period_fs() / 1000000;
    wr64(TCONF(2), ROUTE(20) | INT_ENB);
    wr64(GEN_CONF, 1);
    wr64(TCMP(2), rd64(MAIN_CNT) + 1000);
    advance(999 * ns_per_tick);
    cr_assert_eq(io_rec[20].rises, 0);
    advance(ns_per_tick);
    cr_assert_eq(io_rec[20].rises, 1);
    cr_assert_eq(io_rec[20].level, 0, "edge: pulsed");
    cr_assert_eq(rd64(GINTR_STA), 0, "no status for edge timers");
    advance(1000000 * ns_per_tick);
    cr_assert_eq(io_rec[20].rises, 1, "one-shot 64-bit: fires once");
}

Test(hpet, periodic_with_val_set)
{
    uint64_t ns_per_tick = period_fs() / 1000000;
    wr64(GEN_CONF, 1);
    uint64_t start = rd64(MAIN_CNT);
    /* Linux's hpet_clkevt_set_state_periodic: VAL_SET, then comparator, then period. */
    wr64(TCONF(0), ROUTE(21) | INT_ENB | PERIODIC | VAL_SET);
    wr64(TCMP(0), start + 500);
    wr64(TCMP(0), 500);
    cr_assert_eq(rd64(TCMP(0)), start + 500, "second write sets only the period");
    for (int k = 1; k <= 4; k++) {
        advance(500 * ns_per_tick);
        cr_assert_eq(io_rec[21].rises, k);
        cr_assert_eq(rd64(TCMP(0)), start + 500 * (k + 1), "comparator += period");
    }
}

Test(hpet, legacy_replacement_routing)
{
    uint64_t ns_per_tick = period_fs() / 1000000;
    wr64(TCONF(0), ROUTE(22) | INT_ENB);
    wr64(TCONF(1), ROUTE(23) | INT_ENB);
    wr64(GEN_CONF, 3);                              /* ENABLE_CNF | LEG_RT_CNF */
    uint64_t c = rd64(MAIN_CNT);
    wr64(TCMP(0), c + 10);
    wr64(TCMP(1), c + 20);
    advance(10 * ns_per_tick);
    cr_assert_eq(pic_rec[0].rises, 1);
    cr_assert_eq(io_rec[2].rises, 1);
    cr_assert_eq(io_rec[22].rises, 0, "route field ignored in legacy mode");
    advance(10 * ns_per_tick);
    cr_assert_eq(pic_rec[8].rises, 1);
    cr_assert_eq(io_rec[8].rises, 1);
    cr_assert_eq(io_rec[23].rises, 0);
}

Test(hpet, level_status_write_one_to_clear)
{
    uint64_t ns_per_tick = period_fs() / 1000000;
    wr64(TCONF(1), ROUTE(20) | INT_ENB | INT_LEVEL);
    wr64(GEN_CONF, 1);
    wr64(TCMP(1), rd64(MAIN_CNT) + 5);
    advance(5 * ns_per_tick);
    cr_assert_eq(rd64(GINTR_STA), 1u << 1);
    cr_assert_eq(io_rec[20].level, 1);
    wr64(GINTR_STA, 0);
    cr_assert_eq(rd64(GINTR_STA), 1u << 1, "writing 0 has no effect");
    cr_assert_eq(io_rec[20].level, 1);
    wr64(GINTR_STA, 1u << 1);
    cr_assert_eq(rd64(GINTR_STA), 0);
    cr_assert_eq(io_rec[20].level, 0);
}

Test(hpet, disabled_interrupt_still_sets_level_status)
{
    uint64_t ns_per_tick = period_fs() / 1000000;
    wr64(TCONF(2), ROUTE(23) | INT_LEVEL);          /* INT_ENB = 0 */
    wr64(GEN_CONF, 1);
    wr64(TCMP(2), rd64(MAIN_CNT) + 3);
    advance(3 * ns_per_tick);
    cr_assert_eq(rd64(GINTR_STA), 1u << 2);
    cr_assert_eq(io_rec[23].rises, 0);
    wr64(TCONF(2), ROUTE(23) | INT_LEVEL | INT_ENB);   /* enabling exposes the status */
    cr_assert_eq(io_rec[23].level, 1);
}

Test(hpet, mode32_wraps)
{
    uint64_t ns_per_tick = period_fs() / 1000000;
    wr64(MAIN_CNT, 0xffffff00ull);                  /* while halted */
    wr64(TCONF(2), ROUTE(20) | INT_ENB | MODE32);
    wr32(TCMP(2), 0x10);
    wr32(TCMP(2) + 4, 0xdead);
    cr_assert_eq(rd64(TCMP(2)) >> 32, 0, "upper comparator bits are 0 in 32-bit mode");
    wr64(GEN_CONF, 1);
    advance(0x10f * ns_per_tick);
    cr_assert_eq(io_rec[20].rises, 0);
    advance(ns_per_tick);
    cr_assert_eq(io_rec[20].rises, 1, "matches the low 32 bits after the wrap");
    cr_assert_eq(rd64(MAIN_CNT), 0x100000010ull, "main counter itself is 64-bit");
}

Test(hpet, unsupported_route_and_garbage)
{
    wr64(TCONF(0), ROUTE(5) | INT_ENB);             /* not in Tn_INT_ROUTE_CAP */
    wr64(GEN_CONF, 1);
    wr64(TCMP(0), rd64(MAIN_CNT) + 1);
    advance(1000);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(io_rec[i].rises, 0);
    for (uint32_t off = 0; off < 0x400; off += 4) {
        wr32(off, 0xffffffffu);
        (void)rd32(off);
    }
    io_space_write(&b.mmio, HB + 0x107, 0xff, 1);
    advance(1000000000);
    cr_assert_eq(rd64(0) & 0xff, 1);
}
