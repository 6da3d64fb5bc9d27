/*
 * tests/unit/test_mc146818.c - devices/mc146818.c through ports 0x70/0x71.
 * Oracles: the host's own UTC clock (time(NULL) + gmtime_r) for the time the
 * RTC reports in BCD, binary and 12-hour formats; the MC146818A datasheet for
 * the register semantics (UIP during the 244 us before an update, periodic
 * rate 32768 / 2^(RS-1) Hz, register C cleared by reading, VRT = 1); the
 * Gregorian calendar for a leap-day rollover; and SeaBIOS's CMOS memory
 * field definitions (KiB above 1 MiB, 64 KiB units above 16 MiB / 4 GiB).
 */
#include <criterion/criterion.h>
#include <time.h>

#include "devices/bus.h"

static struct bus b;
static int irq_level, irq_rises;

static void irq_sink(void *opaque, int line, int level)
{
    if (level && !irq_level)
        irq_rises++;
    irq_level = level;
}

static uint8_t cmos_read(uint8_t idx)
{
    io_space_write(&b.pio, 0x70, idx, 1);
    return io_space_read(&b.pio, 0x71, 1);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
    io_space_write(&b.pio, 0x70, idx, 1);
    io_space_write(&b.pio, 0x71, v, 1);
}

static int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

static void create(uint64_t ram)
{
    bus_init(&b);
    irq_level = irq_rises = 0;
    struct irq_line l = { irq_sink, NULL, 8 };
    cr_assert_not_null(mc146818_create(&b, l, ram));
}

/* The RTC's date/time as epoch seconds, decoding with @dec. */
static time_t rtc_time(int (*dec)(uint8_t), bool h24)
{
    struct tm tm = {0};
    tm.tm_sec = dec(cmos_read(0));
    tm.tm_min = dec(cmos_read(2));
    uint8_t h = cmos_read(4);
    if (h24) {
        tm.tm_hour = dec(h);
    } else {
        tm.tm_hour = dec(h & 0x7f) % 12 + ((h & 0x80) ? 12 : 0);
    }
    tm.tm_mday = dec(cmos_read(7));
    tm.tm_mon = dec(cmos_read(8)) - 1;
    tm.tm_year = bcd(cmos_read(0x32)) * 100 + dec(cmos_read(9)) - 1900;
    return timegm(&tm);
}

static int bin(uint8_t v) { return v; }

Test(rtc, bcd_time_matches_host)
{
    create(64 << 20);
    cr_assert_eq(cmos_read(0x0b) & 0x06, 0x02, "BIOS default: BCD, 24-hour");
    time_t t0 = time(NULL);
    time_t r = rtc_time(bcd, true);
    time_t t1 = time(NULL);
    cr_assert(r >= t0 - 1 && r <= t1, "rtc %ld host %ld..%ld", (long)r, (long)t0, (long)t1);
    struct tm tm;
    gmtime_r(&r, &tm);
    cr_assert_eq(bcd(cmos_read(6)), tm.tm_wday + 1, "day of week 1 = Sunday");
}

Test(rtc, binary_and_12h_modes)
{
    create(64 << 20);
    cmos_write(0x0b, 0x06);   /* binary, 24h */
    time_t t0 = time(NULL);
    time_t r = rtc_time(bin, true);
    cr_assert(r >= t0 - 1 && r <= time(NULL));
    cmos_write(0x0b, 0x00);   /* BCD, 12h */
    r = rtc_time(bcd, false);
    cr_assert(r >= t0 - 1 && r <= time(NULL));
    uint8_t h = cmos_read(4);
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    int h12 = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
    if (cmos_read(0) != 0)   /* not racing an hour rollover */
        cr_assert_eq(h, (uint8_t)((h12 / 10) << 4 | (h12 % 10) | (tm.tm_hour >= 12 ? 0x80 : 0)));
}

Test(rtc, set_time_and_leap_day_rollover)
{
    clock_set_manual(0);
    create(64 << 20);
    cmos_write(0x0b, 0x82);   /* SET, BCD, 24h */
    cmos_write(0x00, 0x58);
    cmos_write(0x02, 0x59);
    cmos_write(0x04, 0x23);
    cmos_write(0x07, 0x29);
    cmos_write(0x08, 0x02);
    cmos_write(0x09, 0x24);
    cmos_write(0x32, 0x20);
    cr_assert_eq(cmos_read(0x00), 0x58, "SET holds the written value");
    cmos_write(0x0b, 0x02);
    clock_set_manual(3 * 1000000000ll);
    cr_assert_eq(cmos_read(0x00), 0x01);
    cr_assert_eq(cmos_read(0x02), 0x00);
    cr_assert_eq(cmos_read(0x04), 0x00);
    cr_assert_eq(cmos_read(0x07), 0x01, "2024 is a leap year: Feb 29 -> Mar 1");
    cr_assert_eq(cmos_read(0x08), 0x03);
    cr_assert_eq(cmos_read(0x06), 0x06, "2024-03-01 is a Friday (6)");
    /* UIP: high only in the last 244 us before each update. */
    clock_set_manual(3 * 1000000000ll + 999700000);
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0);
    clock_set_manual(3 * 1000000000ll + 999800000);
    cr_assert_eq(cmos_read(0x0a) & 0x80, 0x80);
    cr_assert_eq(cmos_read(0x0a) & 0x7f, 0x26);
}

Test(rtc, periodic_interrupt_rate)
{
    clock_set_manual(0);
    create(64 << 20);
    cmos_write(0x0a, 0x26);   /* RS = 6: 1024 Hz */
    cmos_write(0x0b, 0x42);   /* PIE */
    for (int64_t t = 0; t <= 1000000000; t += 50000) {
        clock_set_manual(t);
        qtimer_run_expired();
        if (irq_level) {
            uint8_t c = cmos_read(0x0c);
            cr_assert_eq(c & 0xc0, 0xc0, "IRQF and PF");
            cr_assert_eq(irq_level, 0, "reading C lowers IRQ 8");
        }
    }
    cr_assert_eq(irq_rises, 1024);
    cr_assert_eq(cmos_read(0x0c), 0, "C cleared by the read");
    cr_assert_eq(cmos_read(0x0d), 0x80, "VRT");
}

Test(rtc, update_ended_interrupt)
{
    clock_set_manual(0);
    create(64 << 20);
    cmos_write(0x0b, 0x82);
    cmos_write(0x00, 0x00);
    cmos_write(0x0b, 0x12);   /* UIE, clear SET at t = 0 */
    clock_set_manual(999999999);
    qtimer_run_expired();
    cr_assert_eq(irq_level, 0);
    clock_set_manual(1000000000);
    qtimer_run_expired();
    cr_assert_eq(irq_level, 1);
    cr_assert_eq(cmos_read(0x0c) & 0x90, 0x90);
    cr_assert_eq(irq_level, 0);
}

Test(rtc, cmos_memory_fields)
{
    create(512ull << 20);
    cr_assert_eq(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
    cr_assert_eq(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff, "capped at 65535 KiB");
    cr_assert_eq(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
    cr_assert_eq(cmos_read(0x34) | cmos_read(0x35) << 8, (512 - 16) * 16);
    cr_assert_eq(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 0);
    create(8ull << 30);
    cr_assert_eq(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16,
                 (int)((5ull << 30) >> 16), "8 GiB: 3 GiB below 4 GiB, 5 GiB above");
    create(12ull << 20);
    cr_assert_eq(cmos_read(0x17) | cmos_read(0x18) << 8, 11 * 1024);
    cr_assert_eq(cmos_read(0x34) | cmos_read(0x35) << 8, 0);
}

Test(rtc, nmi_bit_and_ram)
{
    create(64 << 20);
    io_space_write(&b.pio, 0x70, 0x80 | 0x40, 1);
    io_space_write(&b.pio, 0x71, 0x5a, 1);
    cr_assert_eq(cmos_read(0x40), 0x5a, "bit 7 of the index is the NMI mask, not address");
    cr_assert_eq(cmos_read(0x8d & 0x7f), 0x80);
}
