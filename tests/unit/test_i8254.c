/*
 * tests/unit/test_i8254.c - devices/i8254.c on a manually driven virtual
 * clock. Oracle: the 82C54 datasheet: the counter decrements once per CLK of
 * 1.193182 MHz (so after t ns, floor(t * 1.193182e-3) ticks have elapsed),
 * mode 2 produces one OUT rising edge every N CLKs, mode 0 OUT goes high
 * after N CLKs, the Status Byte layout (OUT, NULL COUNT, RW, M, BCD), and
 * the PC's port 0x61 (OUT2 in bit 5, GATE2 in bit 0, refresh toggle bit 4).
 */
#include <criterion/criterion.h>

#include "devices/bus.h"

static struct bus b;
static int edges, level;

static void irq_sink(void *opaque, int line, int l)
{
    if (l && !level)
        edges++;
    level = l;
}

static uint8_t in8(uint16_t p) { return io_space_read(&b.pio, p, 1); }
static void out8(uint16_t p, uint8_t v) { io_space_write(&b.pio, p, v, 1); }

/* LSB then MSB, in that order (operand evaluation order is unspecified in C). */
static unsigned in16_lsb_msb(uint16_t p)
{
    unsigned lo = in8(p);
    unsigned hi = in8(p);
    return lo | hi << 8;
}

/* Ticks elapsed after @ns, from the datasheet's CLK rate. */
static int64_t ticks_at(int64_t ns) { return ns * 1193182 / 1000000000; }

static void run_until(int64_t ns, int64_t step)
{
    for (int64_t t = 0; t <= ns; t += step) {
        clock_set_manual(t);
        qtimer_run_expired();
    }
}

static void setup(void)
{
    bus_init(&b);
    clock_set_manual(0);
    edges = level = 0;
    struct irq_line l = { irq_sink, NULL, 0 };
    cr_assert_not_null(i8254_create(&b, l));
}

TestSuite(pit, .init = setup);

Test(pit, mode2_rate_as_linux_programs_it)
{
    /* Linux init_pit_timer(periodic): 0x34, LATCH = 1193 (HZ=1000) LSB, MSB. */
    out8(0x43, 0x34);
    out8(0x40, 1193 & 0xff);
    out8(0x40, 1193 >> 8);
    run_until(100000000, 50000);   /* 100 ms in 50 us steps */
    /* 100 ms = 119318 ticks -> floor(119318 / 1193) = 100 edges. */
    cr_assert_eq(edges, ticks_at(100000000) / 1193);
}

Test(pit, mode2_counter_read)
{
    out8(0x43, 0x34);
    out8(0x40, 1193 & 0xff);
    out8(0x40, 1193 >> 8);
    clock_set_manual(500000);
    out8(0x43, 0x00);             /* counter latch, channel 0 */
    clock_set_manual(700000);     /* latched value must not move */
    unsigned v = in16_lsb_msb(0x40);
    cr_assert_eq(v, 1193 - ticks_at(500000) % 1193);
    /* Unlatched read now follows the clock. */
    v = in16_lsb_msb(0x40);
    cr_assert_eq(v, 1193 - ticks_at(700000) % 1193);
}

Test(pit, control_word_stops_the_counter)
{
    out8(0x43, 0x34);
    out8(0x40, 0x00);
    out8(0x40, 0x10);             /* 4096 */
    run_until(10000000, 100000);
    int seen = edges;
    cr_assert_gt(seen, 0);
    out8(0x43, 0x30);             /* Linux's clockevent shutdown: mode 0, no count */
    run_until(30000000, 100000);
    cr_assert_eq(edges, seen, "no IRQ0 while waiting for a count");
}

Test(pit, mode0_oneshot_on_channel2_via_port61)
{
    /* pit_calibrate_tsc(): gate on, speaker off, mode 0 LSB/MSB on ch2. */
    out8(0x61, (in8(0x61) & ~0x02) | 0x01);
    out8(0x43, 0xb0);
    out8(0x42, 11932 & 0xff);
    out8(0x42, 11932 >> 8);
    clock_set_manual(9990000);
    cr_assert_eq(in8(0x61) & 0x20, 0, "OUT2 low before N ticks");
    clock_set_manual(10000838);   /* ticks_at = 11933 >= 11932 */
    cr_assert_eq(in8(0x61) & 0x21, 0x21, "OUT2 high after N ticks, gate readback");
}

Test(pit, mode0_gate_low_pauses)
{
    out8(0x61, 0x01);
    out8(0x43, 0xb0);
    out8(0x42, 0xff);
    out8(0x42, 0xff);
    clock_set_manual(1000000);
    out8(0x61, 0x00);             /* gate low: stop */
    clock_set_manual(5000000);
    out8(0x43, 0x80);
    unsigned v = in16_lsb_msb(0x42);
    cr_assert_eq(v, 0xffff - ticks_at(1000000));
}

Test(pit, readback_status_and_count)
{
    out8(0x43, 0x34);             /* ch0, LSB/MSB, mode 2, binary */
    out8(0x43, 0xe2);             /* read-back status only, ch0 */
    cr_assert_eq(in8(0x40), 0x80 | 0x40 | 0x30 | 0x04, "after control word: OUT high, NULL COUNT");
    out8(0x40, 100);
    out8(0x40, 0);
    clock_set_manual(20000);      /* 23 ticks */
    out8(0x43, 0xc2);             /* read-back count + status, ch0 */
    uint8_t st = in8(0x40);
    cr_assert_eq(st, 0x80 | 0x30 | 0x04, "status: OUT=1, RW=11, M=010, BCD=0");
    unsigned v = in16_lsb_msb(0x40);
    cr_assert_eq(v, 100 - ticks_at(20000));
}

Test(pit, bcd_counting)
{
    out8(0x43, 0x31);             /* ch0, LSB/MSB, mode 0, BCD */
    out8(0x40, 0x00);
    out8(0x40, 0x10);             /* 1000 decimal */
    clock_set_manual(83811);      /* 100 ticks */
    cr_assert_eq(ticks_at(83811), 100);
    out8(0x43, 0x00);
    unsigned v = in16_lsb_msb(0x40);
    cr_assert_eq(v, 0x0900);
}

Test(pit, mode0_irq_level_follows_out)
{
    out8(0x43, 0x30);
    out8(0x40, 100);
    out8(0x40, 0);
    run_until(80000, 1000);       /* 95 ticks */
    cr_assert_eq(level, 0);
    run_until(90000, 1000);       /* 107 ticks */
    cr_assert_eq(level, 1);
    cr_assert_eq(edges, 1);
}

Test(pit, refresh_toggle)
{
    clock_set_manual(0);
    uint8_t a = in8(0x61) & 0x10;
    clock_set_manual(15085);
    uint8_t c = in8(0x61) & 0x10;
    cr_assert_neq(a, c, "bit 4 toggles every refresh period");
}
