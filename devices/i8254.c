/*
 * devices/i8254.c - the 8254 programmable interval timer and the PC's port
 * 0x61 (system control port B), after Intel's 82C54 datasheet (231244):
 * "Control Word Format" (SC, RW, M, BCD), "Write Operations" (LSB/MSB/
 * LSB-then-MSB), "Read Operations" (simple read, Counter Latch Command,
 * Read-Back Command and the Status Byte), "Mode Definitions" (modes 0-5 and
 * figure "Gate Pin Operations Summary"), and the IBM PC/AT port 0x61 layout
 * (bit 0 timer 2 gate, bit 1 speaker data, bit 4 refresh toggle, bit 5 OUT2).
 *
 * Counting is derived from the virtual clock at 1.193182 MHz (14.31818 MHz /
 * 12): nothing runs per tick; the counter value and OUT are computed from the
 * time elapsed since the count was loaded, on read. Only channel 0 has an
 * interrupt consumer: a qtimer is armed for its next OUT edge.
 *
 * Decided:
 *  - IRQ0 wiring: in modes 0 and 1 the line follows OUT (one rising edge per
 *    programmed count); in the periodic and strobe modes 2, 3, 4, 5 it is
 *    pulsed (irq_pulse) at each rising edge of OUT and is low otherwise. An
 *    edge-triggered 8259 or IOAPIC pin sees exactly the edges OUT makes. If
 *    the main loop runs late, missed periods are not replayed (as QEMU).
 *  - A control word stops the counter until a full count is written (the
 *    datasheet's "Null Count"): OUT goes to its initial state (low in mode 0,
 *    high otherwise) and no IRQ0 is generated meanwhile. Linux's
 *    clockevent shutdown relies on this.
 *  - The count is loaded on the write itself (not on the next CLK edge); a
 *    new count in modes 2/3 takes effect immediately, not at the end of the
 *    current period.
 *  - Channels 0 and 1 have GATE tied high, so modes 1 and 5 (hardware
 *    triggered) never start on them, as on a PC; channel 2's GATE is port
 *    0x61 bit 0.
 *  - BCD counting (control word bit 0) is honoured for count writes and
 *    reads (0 means 10000 instead of 65536).
 *  - Port 0x61 bits 2/3 (parity/IOCHK enables) are stored; bits 6/7
 *    (IOCHK/SERR status) read as 0. Bit 4 toggles every 15.085 us of virtual
 *    time (DRAM refresh request, as QEMU's PIT_REFRESH_PERIOD).
 */
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

#define PIT_FREQ_HZ       1193182ll
#define NS_PER_S          1000000000ll
#define REFRESH_PERIOD_NS 15085

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };

/** One counter of the 8254. */
struct pit_channel {
    uint32_t count;          /* initial count in ticks: 1..65536 (or 10000 BCD) */
    uint8_t mode;            /* 0..5 */
    uint8_t rw_mode;         /* RW_LSB / RW_MSB / RW_WORD */
    bool bcd;
    bool gate;
    bool started;            /* a count was written (and, modes 1/5, triggered) */
    bool waiting_count;      /* control word written, count not yet complete */
    bool frozen;             /* counting stopped by GATE low */
    int64_t load_ns;         /* virtual time counting began */
    int64_t frozen_d;        /* ticks elapsed when frozen */
    uint16_t frozen_value;   /* counter value shown while not counting */
    bool write_msb_next;     /* RW_WORD write flip-flop */
    bool read_msb_next;      /* RW_WORD read flip-flop */
    uint8_t write_lsb;
    uint8_t count_latched;   /* RW_* state of an outstanding Counter Latch */
    uint16_t latched_count;
    bool status_latched;
    uint8_t status;
};

/** The 8254 plus port 0x61. */
struct i8254 {
    struct pit_channel ch[3];
    struct irq_line irq0;
    struct qtimer timer;     /* channel 0's next OUT edge */
    int irq0_level;
    uint8_t port61;          /* stored bits 0-3 of port 0x61 */
};

static int64_t ns_to_ticks(int64_t ns)
{
    if (ns <= 0)
        return 0;
    return (int64_t)((__int128)ns * PIT_FREQ_HZ / NS_PER_S);
}

/* First ns at which at least @ticks have elapsed (ceiling). */
static int64_t ticks_to_ns(int64_t ticks)
{
    return (int64_t)(((__int128)ticks * NS_PER_S + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ);
}

/* Ticks elapsed since counting began. */
static int64_t chan_elapsed(const struct pit_channel *c, int64_t now)
{
    return c->frozen ? c->frozen_d : ns_to_ticks(now - c->load_ns);
}

static bool chan_counting(const struct pit_channel *c)
{
    return c->started && !c->waiting_count;
}

/* OUT pin level at @now (datasheet "Mode Definitions"). */
static int chan_out(const struct pit_channel *c, int64_t now)
{
    if (!chan_counting(c))
        return c->mode == 0 ? 0 : 1;
    int64_t d = chan_elapsed(c, now);
    int64_t n = c->count;
    switch (c->mode) {
    case 0:
        return d >= n;
    case 1:
        return d >= n;
    case 2:
        if (!c->gate)
            return 1;
        return (d % n) != n - 1;           /* low for the tick before reload */
    case 3:
        if (!c->gate)
            return 1;
        return (d % n) < (n + 1) / 2;      /* high for ceil(N/2), low for floor(N/2) */
    case 4:
    case 5:
        return d != n;                     /* low for one tick when the count expires */
    }
    return 1;
}

/* Counter element value at @now, in binary ticks remaining. */
static uint32_t chan_value(const struct pit_channel *c, int64_t now)
{
    if (!chan_counting(c))
        return c->frozen_value;
    int64_t d = chan_elapsed(c, now);
    int64_t n = c->count;
    uint32_t wrap = c->bcd ? 10000 : 65536;
    switch (c->mode) {
    case 2:
        return n - d % n;
    case 3:
        return n - (2 * d) % n;
    default:   /* 0, 1, 4, 5: count down and wrap */
        return (uint32_t)(((n - d) % wrap + wrap) % wrap);
    }
}

static uint16_t to_bcd(uint32_t v)
{
    v %= 10000;
    return (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
}

static uint32_t from_bcd(uint16_t v)
{
    return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

/* The counter as the guest reads it (binary or BCD, 16 bits). */
static uint16_t chan_read_value(const struct pit_channel *c, int64_t now)
{
    uint32_t v = chan_value(c, now);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

/* Tick (since load) of channel 0's next OUT rising edge after @d, or -1. */
static int64_t chan_next_rise(const struct pit_channel *c, int64_t d)
{
    int64_t n = c->count;
    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? n : -1;
    case 2:
    case 3:
        return c->gate ? (d / n + 1) * n : -1;
    case 4:
    case 5:
        return d < n + 1 ? n + 1 : -1;
    }
    return -1;
}

static void set_irq0(struct i8254 *pit, int level)
{
    if (level != pit->irq0_level) {
        pit->irq0_level = level;
        irq_set(&pit->irq0, level);
    }
}

/* Drive IRQ0 for the current state and arm the timer for the next edge. */
static void pit0_update(struct i8254 *pit, int64_t now)
{
    struct pit_channel *c = &pit->ch[0];
    if (!chan_counting(c)) {
        qtimer_del(&pit->timer);
        set_irq0(pit, 0);
        return;
    }
    if (c->mode <= 1)
        set_irq0(pit, chan_out(c, now));
    else
        set_irq0(pit, 0);
    int64_t next = c->frozen ? -1 : chan_next_rise(c, chan_elapsed(c, now));
    if (next < 0) {
        qtimer_del(&pit->timer);
        return;
    }
    int64_t deadline = c->load_ns + ticks_to_ns(next);
    if (deadline <= now)
        deadline = now + 1;
    qtimer_mod(&pit->timer, deadline);
}

static void pit0_timer_cb(void *opaque)
{
    struct i8254 *pit = opaque;
    struct pit_channel *c = &pit->ch[0];
    int64_t now = clock_ns();
    if (chan_counting(c) && c->mode >= 2) {
        /* The edge this timer was armed for has passed. */
        irq_pulse(&pit->irq0);
        pit->irq0_level = 0;
    }
    pit0_update(pit, now);
}

static void chan_channel_changed(struct i8254 *pit, int idx, int64_t now)
{
    if (idx == 0)
        pit0_update(pit, now);
}

/* A complete count was written (datasheet "Write Operations"). */
static void chan_load_count(struct i8254 *pit, int idx, uint16_t raw, int64_t now)
{
    struct pit_channel *c = &pit->ch[idx];
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    if (n == 0)
        n = c->bcd ? 10000 : 65536;
    if ((c->mode == 2 || c->mode == 3) && n == 1) {
        qlog(LOG_GUEST_ERRORS, "i8254: count 1 is illegal in mode %d; using 2", c->mode);
        n = 2;
    }
    c->count = n;
    c->waiting_count = false;
    c->frozen = false;
    if (c->mode == 1 || c->mode == 5) {
        /* Hardware-triggered: waits for a GATE rising edge. */
        c->frozen_value = c->bcd ? from_bcd(raw) : raw;
        c->started = false;
    } else {
        c->started = true;
        c->load_ns = now;
        if (!c->gate && (c->mode == 0 || c->mode == 4 || c->mode == 2 || c->mode == 3)) {
            c->frozen = true;
            c->frozen_d = 0;
        }
    }
    chan_channel_changed(pit, idx, now);
}

static void chan_latch_count(struct pit_channel *c, int64_t now)
{
    if (c->count_latched)
        return;   /* "If a Counter is latched and then, some time later, latched again before the count is read, the second Counter Latch Command is ignored." */
    c->latched_count = chan_read_value(c, now);
    c->count_latched = c->rw_mode;
}

/* Control word (port 0x43): SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
static void pit_control(struct i8254 *pit, uint8_t v, int64_t now)
{
    int sc = v >> 6;
    if (sc == 3) {
        /* Read-Back: 11 COUNT# STATUS# CNT2 CNT1 CNT0 0 */
        for (int i = 0; i < 3; i++) {
            if (!(v & (2 << i)))
                continue;
            struct pit_channel *c = &pit->ch[i];
            if (!(v & 0x20))
                chan_latch_count(c, now);
            if (!(v & 0x10) && !c->status_latched) {
                c->status = chan_out(c, now) << 7 | (c->waiting_count ? 0x40 : 0) |
                            c->rw_mode << 4 | c->mode << 1 | c->bcd;
                c->status_latched = true;
            }
        }
        return;
    }
    struct pit_channel *c = &pit->ch[sc];
    int rw = (v >> 4) & 3;
    if (rw == RW_LATCH) {
        chan_latch_count(c, now);
        return;
    }
    c->frozen_value = chan_counting(c) ? chan_value(c, now) : c->frozen_value;
    c->rw_mode = rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;   /* x10 = mode 2, x11 = mode 3 */
    c->bcd = v & 1;
    c->waiting_count = true;
    c->frozen = false;
    c->write_msb_next = false;
    c->read_msb_next = false;
    c->count_latched = 0;
    c->status_latched = false;
    chan_channel_changed(pit, sc, now);
}

static void pit_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct i8254 *pit = opaque;
    int64_t now = clock_ns();
    uint8_t v = value;
    if (off == 3) {
        pit_control(pit, v, now);
        return;
    }
    struct pit_channel *c = &pit->ch[off];
    switch (c->rw_mode) {
    case RW_LSB:
        chan_load_count(pit, off, v, now);
        break;
    case RW_MSB:
        chan_load_count(pit, off, (uint16_t)v << 8, now);
        break;
    case RW_WORD:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
            /* Mode 0: writing the first byte stops the count (datasheet). */
            if (c->mode == 0 && chan_counting(c)) {
                c->frozen_value = chan_value(c, now);
                c->waiting_count = true;
                chan_channel_changed(pit, off, now);
            }
        } else {
            c->write_msb_next = false;
            chan_load_count(pit, off, c->write_lsb | (uint16_t)v << 8, now);
        }
        break;
    default:
        qlog(LOG_GUEST_ERRORS, "i8254: counter %d written before a control word", (int)off);
        break;
    }
}

static uint64_t pit_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8254 *pit = opaque;
    if (off == 3)
        return 0;   /* control register is write-only; reads float (QEMU: 0) */
    struct pit_channel *c = &pit->ch[off];
    int64_t now = clock_ns();
    uint8_t v;
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        switch (c->count_latched) {
        case RW_MSB:
            v = c->latched_count >> 8;
            c->count_latched = 0;
            break;
        case RW_WORD:
            v = c->latched_count & 0xff;
            c->count_latched = RW_MSB;   /* MSB next */
            break;
        default:
            v = c->latched_count & 0xff;
            c->count_latched = 0;
            break;
        }
        return v;
    }
    uint16_t val = chan_read_value(c, now);
    switch (c->rw_mode) {
    case RW_MSB:
        return val >> 8;
    case RW_WORD:
        c->read_msb_next = !c->read_msb_next;
        return c->read_msb_next ? (val & 0xff) : (val >> 8);
    default:
        return val & 0xff;
    }
}

/* GATE input of channel 2 changed (datasheet "Gate Pin Operations Summary"). */
static void chan_set_gate(struct i8254 *pit, int idx, bool gate, int64_t now)
{
    struct pit_channel *c = &pit->ch[idx];
    if (gate == c->gate)
        return;
    bool rising = gate;
    c->gate = gate;
    if (c->waiting_count)
        return;
    switch (c->mode) {
    case 0:
    case 4:
        /* GATE low disables counting; high resumes it. */
        if (!c->started)
            break;
        if (!rising) {
            c->frozen_d = chan_elapsed(c, now);
            c->frozen = true;
        } else if (c->frozen) {
            c->load_ns = now - ticks_to_ns(c->frozen_d);
            c->frozen = false;
        }
        break;
    case 1:
    case 5:
    case 2:
    case 3:
        /* Rising edge (re)triggers: counting restarts from the initial count.
           Modes 2/3: GATE low stops counting with OUT high. */
        if (rising) {
            if (c->count == 0)
                break;
            c->started = true;
            c->frozen = false;
            c->load_ns = now;
        } else if (c->mode == 2 || c->mode == 3) {
            c->frozen_d = c->started ? chan_elapsed(c, now) : 0;
            c->frozen = true;
        }
        break;
    }
    chan_channel_changed(pit, idx, now);
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8254 *pit = opaque;
    int64_t now = clock_ns();
    uint8_t v = pit->port61 & 0x0f;
    if ((now / REFRESH_PERIOD_NS) & 1)
        v |= 0x10;
    if (chan_out(&pit->ch[2], now))
        v |= 0x20;
    return v;
}

static void port61_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct i8254 *pit = opaque;
    pit->port61 = value & 0x0f;
    chan_set_gate(pit, 2, value & 1, clock_ns());
}

static const struct io_ops pit_ops = { pit_read, pit_write, 1, 1 };
static const struct io_ops port61_ops = { port61_read, port61_write, 1, 1 };

/**
 * Create the 8254 at 0x40-0x43 and port 0x61; channel 0's OUT drives @irq0.
 * Power-on: no counts programmed, GATE0/1 high, GATE2 low. Returns NULL if
 * the ports are taken or memory is short.
 */
struct i8254 *i8254_create(struct bus *bus, struct irq_line irq0)
{
    struct i8254 *pit = calloc(1, sizeof *pit);
    if (!pit)
        return NULL;
    pit->irq0 = irq0;
    qtimer_init(&pit->timer, pit0_timer_cb, pit);
    for (int i = 0; i < 3; i++) {
        pit->ch[i].gate = i != 2;
        pit->ch[i].mode = 3;
        pit->ch[i].rw_mode = RW_WORD;
        pit->ch[i].waiting_count = true;
    }
    struct io_region r0 = { .base = 0x40, .size_bytes = 4, .ops = &pit_ops, .opaque = pit, .name = "pit" };
    struct io_region r1 = { .base = 0x61, .size_bytes = 1, .ops = &port61_ops, .opaque = pit, .name = "port61" };
    if (io_space_add(&bus->pio, &r0) < 0) {
        free(pit);
        return NULL;
    }
    if (io_space_add(&bus->pio, &r1) < 0) {
        io_space_remove(&bus->pio, 0x40);
        free(pit);
        return NULL;
    }
    return pit;
}
