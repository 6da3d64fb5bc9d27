/*
 * devices/hpet.c - High Precision Event Timer (IA-PC HPET Specification 1.0a,
 * Intel, October 2004).
 *
 * Owns: the 1 KiB register block (2.3), the 64-bit main counter, three
 * comparators with their interrupt routing (2.3.8, 2.3.9), the general
 * interrupt status (2.3.6) and the legacy replacement route (2.3.7).
 *
 * Decided:
 *  - 64-bit main counter at 100 MHz (COUNTER_CLK_PERIOD = 10,000,000 fs,
 *    10 ns, as QEMU), vendor 0x8086, revision 1, 3 timers, legacy replacement
 *    capable. Every timer is periodic-capable and 64-bit capable (QEMU does
 *    the same; the spec only requires timer 0 to be periodic). No FSB/MSI
 *    delivery (Tn_FSB_INT_DEL_CAP = 0).
 *  - The counter is computed from clock_ns() on each read:
 *    counter = ref_count + (clock_ns() - ref_ns) / 10, re-anchored when
 *    ENABLE_CNF changes or the counter is written, so it is monotonic and
 *    exact (no drift from re-arming).
 *  - Tn_INT_ROUTE_CAP = 0x00F00000: IOAPIC GSIs 20..23 (QEMU's pc default).
 *    A route outside the capability is logged and delivers nothing.
 *  - Legacy replacement (LEG_RT_CNF): timer 0 drives PIC IRQ0 and IOAPIC
 *    pin 2 (the MADT's IRQ0 -> GSI 2 override), timer 1 drives PIC IRQ8 and
 *    IOAPIC pin 8 (spec 2.3.7 Table 4). @pic_pins must have 16 entries and
 *    @ioapic_pins 24; either may be NULL. The HPET cannot gate the 8254's and
 *    RTC's own IRQ0/IRQ8 outputs here; Linux stops the PIT itself when it
 *    switches its clockevent to the HPET.
 *  - A comparator fires when the (low 32 bits in Tn_32MODE_CNF of the) main
 *    counter equals it, as the spec says. A comparator set "in the past"
 *    therefore fires only after the counter wraps (2^32 ticks = 42.9 s in
 *    32-bit mode, never in 64-bit mode); Linux's set_next_event checks for
 *    that case itself (-ETIME). QEMU instead fires such a comparator at once.
 *    A one-shot 32-bit comparator fires again at each wrap (spec 2.3.9.2.1).
 *  - Periodic mode: on a match the comparator is incremented by the last
 *    value written (spec 2.3.9.2.2); when the host was late by several
 *    periods, it is advanced past the counter and one interrupt is delivered.
 *  - Level-triggered timers set Tn_INT_STS on each match even when
 *    Tn_INT_ENB_CNF is 0 (2.3.8 "the timer will still operate and generate
 *    appropriate status bits"); the line is asserted while the status bit and
 *    INT_ENB and ENABLE_CNF are all set. Edge-triggered timers pulse the line.
 */
#include <stdlib.h>

#include "devices/bus.h"
#include "util/compiler.h"
#include "util/log.h"

#define HPET_NUM_TIMERS     3
#define HPET_PERIOD_NS      10
#define HPET_PERIOD_FS      10000000ull
#define HPET_ROUTE_CAP      0x00f00000u
#define HPET_REGION_SIZE    0x400
#define HPET_IOAPIC_PINS    24
#define HPET_PIC_PINS       16

/* General capabilities (2.3.4). */
#define HPET_CAP_ID  ((HPET_PERIOD_FS << 32) | (0x8086ull << 16) | (1ull << 15) /* LEG_RT_CAP */ \
                      | (1ull << 13) /* COUNT_SIZE_CAP */ | ((HPET_NUM_TIMERS - 1ull) << 8) | 1)

/* Register offsets (2.3.1 Table 2). */
enum { HPET_GCAP_ID = 0x000, HPET_GEN_CONF = 0x010, HPET_GINTR_STA = 0x020,
       HPET_MAIN_CNT = 0x0f0, HPET_TIMER0 = 0x100 };

#define CONF_ENABLE         (1ull << 0)
#define CONF_LEG_RT         (1ull << 1)

/* Timer N configuration and capabilities (2.3.8). */
#define TN_INT_TYPE_LEVEL   (1ull << 1)
#define TN_INT_ENB          (1ull << 2)
#define TN_TYPE_PERIODIC    (1ull << 3)
#define TN_PER_INT_CAP      (1ull << 4)
#define TN_SIZE_CAP         (1ull << 5)
#define TN_VAL_SET          (1ull << 6)
#define TN_32MODE           (1ull << 8)
#define TN_ROUTE(c)         ((unsigned)(((c) >> 9) & 31))
#define TN_WRITABLE         0x3f4eull

struct hpet;

/** One comparator ("timer N"). */
struct hpet_timer {
    struct hpet *h;
    int n;
    uint64_t config;                /* Tn_CONF_CAP */
    uint64_t cmp;                   /* Tn_COMPARATOR: next match value */
    uint64_t period;                /* periodic mode: last value written */
    struct qtimer qt;
    bool asserted;                  /* level line currently driven high */
    const struct irq_line *lines[2];  /* lines it was asserted on */
};

/** The HPET block. */
struct hpet {
    uint64_t config;                /* GEN_CONF */
    uint64_t isr;                   /* GINTR_STA */
    uint64_t ref_count;             /* counter value at ref_ns (or while halted) */
    int64_t ref_ns;
    struct hpet_timer t[HPET_NUM_TIMERS];
    struct irq_line ioapic_pins[HPET_IOAPIC_PINS];
    struct irq_line pic_pins[HPET_PIC_PINS];
};

/* ---------------------------------------------------------------- counter */

static bool hpet_enabled(const struct hpet *h) { return h->config & CONF_ENABLE; }

/** Main counter value at virtual time @now (2.3.5). */
static uint64_t hpet_counter(const struct hpet *h, int64_t now)
{
    if (!hpet_enabled(h) || now <= h->ref_ns)
        return h->ref_count;
    return h->ref_count + (uint64_t)(now - h->ref_ns) / HPET_PERIOD_NS;
}

/* ---------------------------------------------------------------- interrupts */

/** Lines timer @t drives now (legacy replacement or Tn_INT_ROUTE_CNF). */
static int hpet_routes(struct hpet *h, const struct hpet_timer *t, const struct irq_line *out[2])
{
    int n = 0;
    if (t->n <= 1 && (h->config & CONF_LEG_RT)) {
        int pic_irq = t->n == 0 ? 0 : 8, gsi = t->n == 0 ? 2 : 8;
        out[n++] = &h->pic_pins[pic_irq];
        out[n++] = &h->ioapic_pins[gsi];
        return n;
    }
    unsigned route = TN_ROUTE(t->config);
    if (!(HPET_ROUTE_CAP & (1u << route)) || route >= HPET_IOAPIC_PINS) {
        qlog(LOG_GUEST_ERRORS, "hpet: timer %d routed to unsupported IRQ %u", t->n, route);
        return 0;
    }
    out[n++] = &h->ioapic_pins[route];
    return n;
}

/** Bring a level-triggered timer's line in line with its status bit and routing. */
static void hpet_update_level(struct hpet *h, struct hpet_timer *t)
{
    const struct irq_line *lines[2] = { NULL, NULL };
    bool want = (t->config & TN_INT_TYPE_LEVEL) && (t->config & TN_INT_ENB) && hpet_enabled(h) &&
                (h->isr & (1ull << t->n));
    int n = want ? hpet_routes(h, t, lines) : 0;
    if (t->asserted && (!want || lines[0] != t->lines[0] || lines[1] != t->lines[1])) {
        for (int i = 0; i < 2; i++)
            if (t->lines[i])
                irq_set(t->lines[i], 0);
        t->asserted = false;
        t->lines[0] = t->lines[1] = NULL;
    }
    if (want && !t->asserted && n > 0) {
        for (int i = 0; i < 2; i++) {
            t->lines[i] = lines[i];
            if (lines[i])
                irq_set(lines[i], 1);
        }
        t->asserted = true;
    }
}

/** The comparator of @t matched: set status / pulse the line. */
static void hpet_timer_fire(struct hpet *h, struct hpet_timer *t)
{
    if (t->config & TN_INT_TYPE_LEVEL) {
        h->isr |= 1ull << t->n;
        hpet_update_level(h, t);
        return;
    }
    if (!(t->config & TN_INT_ENB))
        return;
    const struct irq_line *lines[2] = { NULL, NULL };
    int n = hpet_routes(h, t, lines);
    for (int i = 0; i < n; i++)
        irq_pulse(lines[i]);
}

/* ---------------------------------------------------------------- comparators */

/**
 * Arm @t's qtimer for the next counter value equal to its comparator. With
 * @after_match, a comparator equal to the counter now means "just fired":
 * the next match is one wrap later.
 */
static void hpet_timer_arm(struct hpet *h, struct hpet_timer *t, bool after_match)
{
    if (!hpet_enabled(h)) {
        qtimer_del(&t->qt);
        return;
    }
    int64_t now = clock_ns();
    uint64_t cur = hpet_counter(h, now);
    bool mode32 = t->config & TN_32MODE;
    uint64_t diff = mode32 ? (uint32_t)((uint32_t)t->cmp - (uint32_t)cur) : t->cmp - cur;
    if (diff == 0 && after_match) {
        if (!mode32) {
            qtimer_del(&t->qt);          /* 64-bit: next match after 2^64 ticks */
            return;
        }
        diff = 1ull << 32;
    }
    /* The tick cur + diff is reached at ref_ns + (cur + diff - ref_count) * 10 ns. */
    uint64_t ticks = cur - h->ref_count + diff;
    if (ticks < diff || ticks > (uint64_t)(INT64_MAX - h->ref_ns) / HPET_PERIOD_NS) {
        qtimer_del(&t->qt);              /* beyond the clock's range: never */
        return;
    }
    qtimer_mod(&t->qt, h->ref_ns + (int64_t)(ticks * HPET_PERIOD_NS));
}

/** qtimer callback: the counter reached the comparator of one timer. */
static void hpet_timer_expired(void *opaque)
{
    struct hpet_timer *t = opaque;
    struct hpet *h = t->h;
    if (!hpet_enabled(h))
        return;
    uint64_t cur = hpet_counter(h, clock_ns());
    bool mode32 = t->config & TN_32MODE;
    if ((t->config & TN_TYPE_PERIODIC) && t->period) {
        /* Add the period; if the host ran late, skip the missed matches. */
        uint64_t behind = mode32 ? (uint32_t)((uint32_t)cur - (uint32_t)t->cmp) : cur - t->cmp;
        uint64_t k = behind / t->period + 1;
        t->cmp += k * t->period;
        if (mode32)
            t->cmp = (uint32_t)t->cmp;
        hpet_timer_fire(h, t);
        hpet_timer_arm(h, t, false);
        return;
    }
    hpet_timer_fire(h, t);
    hpet_timer_arm(h, t, true);
}

/* ---------------------------------------------------------------- registers */

/** Value of the 64-bit register at 8-byte aligned @reg. */
static uint64_t hpet_reg_read(struct hpet *h, uint64_t reg)
{
    switch (reg) {
    case HPET_GCAP_ID: return HPET_CAP_ID;
    case HPET_GEN_CONF: return h->config;
    case HPET_GINTR_STA: return h->isr;
    case HPET_MAIN_CNT: return hpet_counter(h, clock_ns());
    default: break;
    }
    if (reg >= HPET_TIMER0 && reg < HPET_TIMER0 + 0x20 * HPET_NUM_TIMERS) {
        struct hpet_timer *t = &h->t[(reg - HPET_TIMER0) / 0x20];
        switch ((reg - HPET_TIMER0) % 0x20) {
        case 0x00: return t->config;
        case 0x08: return t->cmp;
        case 0x10: return 0;            /* Tn_FSB_INT_ROUTE: FSB delivery not supported */
        default: break;
        }
    }
    qlog(LOG_GUEST_ERRORS, "hpet: read of reserved register 0x%03llx", (unsigned long long)reg);
    return 0;
}

static void hpet_write_gen_conf(struct hpet *h, uint64_t value)
{
    int64_t now = clock_ns();
    uint64_t old = h->config;
    uint64_t cur = hpet_counter(h, now);
    h->config = value & (CONF_ENABLE | CONF_LEG_RT);
    if ((old ^ h->config) & CONF_ENABLE) {
        h->ref_count = cur;               /* halt or restart from the same value */
        h->ref_ns = now;
    }
    for (int i = 0; i < HPET_NUM_TIMERS; i++) {
        hpet_update_level(h, &h->t[i]);
        if ((old ^ h->config) & CONF_ENABLE)
            hpet_timer_arm(h, &h->t[i], false);
    }
}

static void hpet_write_timer_conf(struct hpet *h, struct hpet_timer *t, uint64_t value)
{
    uint64_t ro = t->config & ~TN_WRITABLE;
    t->config = (value & TN_WRITABLE) | ro;
    if (t->config & TN_32MODE) {
        t->cmp = (uint32_t)t->cmp;        /* 2.3.8: upper 32 bits of the comparator read 0 */
        t->period = (uint32_t)t->period;
    }
    if (!(t->config & TN_INT_TYPE_LEVEL))
        h->isr &= ~(1ull << t->n);
    hpet_update_level(h, t);
    hpet_timer_arm(h, t, false);
}

/** Write of the comparator: accumulator (one-shot or VAL_SET) and/or period (2.3.9.2.2). */
static void hpet_write_timer_cmp(struct hpet *h, struct hpet_timer *t, uint64_t value)
{
    if (t->config & TN_32MODE)
        value = (uint32_t)value;
    bool periodic = t->config & TN_TYPE_PERIODIC;
    if (!periodic || (t->config & TN_VAL_SET))
        t->cmp = value;
    if (periodic)
        t->period = value;
    t->config &= ~TN_VAL_SET;
    hpet_timer_arm(h, t, false);
}

/** Write bytes @mask of 64-bit register @reg (@value already shifted into place). */
static void hpet_reg_write(struct hpet *h, uint64_t reg, uint64_t value, uint64_t mask)
{
    value &= mask;
    switch (reg) {
    case HPET_GCAP_ID:
        return;                             /* read-only */
    case HPET_GEN_CONF:
        hpet_write_gen_conf(h, (h->config & ~mask) | value);
        return;
    case HPET_GINTR_STA:
        /* 2.3.6: writing 1 clears a level-triggered timer's status; 0 has no effect. */
        h->isr &= ~value;
        for (int i = 0; i < HPET_NUM_TIMERS; i++)
            hpet_update_level(h, &h->t[i]);
        return;
    case HPET_MAIN_CNT: {
        int64_t now = clock_ns();
        if (hpet_enabled(h))
            qlog(LOG_GUEST_ERRORS, "hpet: main counter written while ENABLE_CNF = 1");
        h->ref_count = (hpet_counter(h, now) & ~mask) | value;
        h->ref_ns = now;
        for (int i = 0; i < HPET_NUM_TIMERS; i++)
            hpet_timer_arm(h, &h->t[i], false);
        return;
    }
    default:
        break;
    }
    if (reg >= HPET_TIMER0 && reg < HPET_TIMER0 + 0x20 * HPET_NUM_TIMERS) {
        struct hpet_timer *t = &h->t[(reg - HPET_TIMER0) / 0x20];
        switch ((reg - HPET_TIMER0) % 0x20) {
        case 0x00:
            hpet_write_timer_conf(h, t, (t->config & ~mask) | value);
            return;
        case 0x08: {
            /* Merge with the register as last written for its mode. */
            bool periodic = (t->config & TN_TYPE_PERIODIC) && !(t->config & TN_VAL_SET);
            uint64_t base = periodic ? t->period : t->cmp;
            hpet_write_timer_cmp(h, t, (base & ~mask) | value);
            return;
        }
        case 0x10:
            qlog(LOG_UNIMP, "hpet: FSB interrupt route not supported");
            return;
        default:
            break;
        }
    }
    qlog(LOG_GUEST_ERRORS, "hpet: write of reserved register 0x%03llx", (unsigned long long)reg);
}

static uint64_t hpet_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    unsigned shift = (offset & 7) * 8;
    uint64_t v = hpet_reg_read(opaque, offset & ~7ull) >> shift;
    return size >= 8 ? v : v & ((1ull << (size * 8)) - 1);
}

static void hpet_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    unsigned shift = (offset & 7) * 8;
    if (shift + size * 8 > 64) {
        qlog(LOG_GUEST_ERRORS, "hpet: unaligned %u-byte write at 0x%llx", size,
             (unsigned long long)offset);
        return;
    }
    uint64_t mask = (size >= 8 ? ~0ull : (1ull << (size * 8)) - 1) << shift;
    hpet_reg_write(opaque, offset & ~7ull, value << shift, mask);
}

static const struct io_ops hpet_mmio_ops = {
    .read = hpet_mmio_read, .write = hpet_mmio_write, .min_access = 1, .max_access = 8,
};

struct hpet *hpet_create(struct bus *bus, uint64_t base_gpa, struct irq_line *ioapic_pins,
                         struct irq_line *pic_pins)
{
    struct hpet *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    for (int i = 0; ioapic_pins && i < HPET_IOAPIC_PINS; i++)
        h->ioapic_pins[i] = ioapic_pins[i];
    for (int i = 0; pic_pins && i < HPET_PIC_PINS; i++)
        h->pic_pins[i] = pic_pins[i];
    for (int i = 0; i < HPET_NUM_TIMERS; i++) {
        struct hpet_timer *t = &h->t[i];
        t->h = h;
        t->n = i;
        t->config = ((uint64_t)HPET_ROUTE_CAP << 32) | TN_PER_INT_CAP | TN_SIZE_CAP;
        t->cmp = ~0ull;                    /* 2.3.9: comparators reset to all ones */
        t->period = 0;
        qtimer_init(&t->qt, hpet_timer_expired, t);
    }
    if (bus) {
        struct io_region r = {
            .base = base_gpa, .size_bytes = HPET_REGION_SIZE, .ops = &hpet_mmio_ops, .opaque = h,
            .name = "hpet",
        };
        if (io_space_add(&bus->mmio, &r) != 0) {
            free(h);
            return NULL;
        }
    }
    return h;
}
