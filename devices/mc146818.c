/*
 * devices/mc146818.c - MC146818A real-time clock and CMOS RAM at 0x70/0x71,
 * after the Motorola MC146818A datasheet: "Address Map" (figure 3: time,
 * alarm, registers A-D, 50 bytes of user RAM), "Time, Calendar and Alarm
 * Locations" (table 3: binary/BCD, 12/24-hour with bit 7 = PM, alarm
 * "don't care" codes 0xC0-0xFF), "Register A" (UIP, DV2-0, RS3-0 and table 5
 * periodic rates), "Register B" (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE),
 * "Register C" (IRQF, PF, AF, UF; cleared by reading), "Register D" (VRT),
 * "Update Cycle" (UIP is high for 244 us before the update) and
 * "Interrupts". The PC wiring: index port 0x70 (bit 7 = NMI disable),
 * data port 0x71, IRQ 8, 128 bytes of CMOS.
 *
 * Decided:
 *  - Time is the host's UTC (CLOCK_REALTIME) at creation plus elapsed virtual
 *    time (QEMU's default -rtc base=utc, with the virtual clock as the RTC's
 *    clock so that pausing the VM pauses its RTC).
 *  - Updates happen at whole seconds of that time; UIP reads 1 during the
 *    last 244 us of each second while SET = 0 and the divider runs
 *    (DV = 010). Other divider settings are stored and logged.
 *  - While SET = 1 the time registers hold what the guest writes; clearing
 *    SET makes the written date/time (with century byte 0x32) the new time.
 *    A time register written with SET = 0 changes the time at once (QEMU).
 *  - PF, UF, AF are set by qtimers only while their interrupt is enabled
 *    (PIE, UIE, AIE); with the interrupt disabled, PF and UF are computed on
 *    the next register C read from the time elapsed since the previous one
 *    (so polling drivers see them without the host being woken).
 *  - IRQ 8 is driven as a level equal to IRQF; reading C lowers it.
 *  - CMOS memory size fields as SeaBIOS and QEMU's pc_cmos_init fill them:
 *    0x15/0x16 base memory 640 KiB; 0x17/0x18 and 0x30/0x31 KiB above 1 MiB
 *    (max 65535); 0x34/0x35 64 KiB units above 16 MiB below 4 GiB; 0x5B-0x5D
 *    64 KiB units above 4 GiB. RAM below 4 GiB is split as QEMU's pc board
 *    does (all of it if < 3.5 GiB, else 3 GiB below and the rest above).
 *    Century in BCD at 0x32 (and 0x37, the IBM PS/2 location).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/bus.h"
#include "util/log.h"

#define RTC_SECONDS      0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES      0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS        0x04
#define RTC_HOURS_ALARM  0x05
#define RTC_DAY_OF_WEEK  0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH        0x08
#define RTC_YEAR         0x09
#define RTC_REG_A        0x0A
#define RTC_REG_B        0x0B
#define RTC_REG_C        0x0C
#define RTC_REG_D        0x0D
#define RTC_CENTURY      0x32
#define RTC_PS2_CENTURY  0x37

#define REG_A_UIP  0x80
#define REG_B_SET  0x80
#define REG_B_PIE  0x40
#define REG_B_AIE  0x20
#define REG_B_UIE  0x10
#define REG_B_DM   0x04   /* 1 = binary */
#define REG_B_24H  0x02
#define REG_C_IRQF 0x80
#define REG_C_PF   0x40
#define REG_C_AF   0x20
#define REG_C_UF   0x10
#define REG_D_VRT  0x80

#define NS_PER_S   1000000000ll
#define UIP_NS     244000ll
#define RTC_XTAL_HZ 32768ll

/** The RTC and its CMOS RAM. */
struct mc146818 {
    uint8_t cmos[128];
    uint8_t index;
    bool nmi_disabled;         /* port 0x70 bit 7 (no NMI source consumes it yet) */
    struct irq_line irq;
    int irq_level;
    int64_t offset_ns;         /* guest UTC ns = clock_ns() + offset_ns */
    int64_t last_c_read_ns;    /* virtual time of the last register C read */
    struct qtimer periodic_timer;
    struct qtimer update_timer;
};

static uint8_t to_bcd(int v) { return (uint8_t)(((v / 10) % 10) << 4 | (v % 10)); }
static int from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

static bool rtc_binary(const struct mc146818 *s) { return s->cmos[RTC_REG_B] & REG_B_DM; }

static uint8_t rtc_encode(const struct mc146818 *s, int v)
{
    return rtc_binary(s) ? (uint8_t)v : to_bcd(v);
}

static int rtc_decode(const struct mc146818 *s, uint8_t v)
{
    return rtc_binary(s) ? v : from_bcd(v);
}

static uint8_t rtc_encode_hour(const struct mc146818 *s, int hour)
{
    if (s->cmos[RTC_REG_B] & REG_B_24H)
        return rtc_encode(s, hour);
    int h12 = hour % 12 ? hour % 12 : 12;
    return rtc_encode(s, h12) | (hour >= 12 ? 0x80 : 0);
}

static int rtc_decode_hour(const struct mc146818 *s, uint8_t v)
{
    if (s->cmos[RTC_REG_B] & REG_B_24H)
        return rtc_decode(s, v & 0x7f);
    int h = rtc_decode(s, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

static int64_t rtc_now_ns(const struct mc146818 *s)
{
    return clock_ns() + s->offset_ns;
}

/* Fill the time/calendar registers 0,2,4,6,7,8,9 and the century from @secs. */
static void rtc_fill_time(struct mc146818 *s, int64_t secs)
{
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    s->cmos[RTC_SECONDS] = rtc_encode(s, tm.tm_sec);
    s->cmos[RTC_MINUTES] = rtc_encode(s, tm.tm_min);
    s->cmos[RTC_HOURS] = rtc_encode_hour(s, tm.tm_hour);
    s->cmos[RTC_DAY_OF_WEEK] = rtc_encode(s, tm.tm_wday + 1);   /* 1 = Sunday */
    s->cmos[RTC_DAY_OF_MONTH] = rtc_encode(s, tm.tm_mday);
    s->cmos[RTC_MONTH] = rtc_encode(s, tm.tm_mon + 1);
    int year = tm.tm_year + 1900;
    s->cmos[RTC_YEAR] = rtc_encode(s, year % 100);
    s->cmos[RTC_CENTURY] = to_bcd(year / 100);
    s->cmos[RTC_PS2_CENTURY] = s->cmos[RTC_CENTURY];
}

/* The date/time held in the registers, as seconds since the epoch, or -1. */
static int64_t rtc_held_secs(const struct mc146818 *s)
{
    struct tm tm = {0};
    tm.tm_sec = rtc_decode(s, s->cmos[RTC_SECONDS]);
    tm.tm_min = rtc_decode(s, s->cmos[RTC_MINUTES]);
    tm.tm_hour = rtc_decode_hour(s, s->cmos[RTC_HOURS]);
    tm.tm_mday = rtc_decode(s, s->cmos[RTC_DAY_OF_MONTH]);
    tm.tm_mon = rtc_decode(s, s->cmos[RTC_MONTH]) - 1;
    int century = from_bcd(s->cmos[RTC_CENTURY]);
    if (century < 19 || century > 99)
        century = 20;
    tm.tm_year = century * 100 + rtc_decode(s, s->cmos[RTC_YEAR]) - 1900;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

/* Make the date/time held in the registers the RTC's current time. */
static void rtc_take_time(struct mc146818 *s)
{
    int64_t t = rtc_held_secs(s);
    if (t < 0) {
        qlog(LOG_GUEST_ERRORS, "mc146818: invalid date/time written; time unchanged");
        return;
    }
    s->offset_ns = t * NS_PER_S - clock_ns();
}

/* IRQF = PF.PIE + AF.AIE + UF.UIE (register C description); IRQ 8 follows it. */
static void rtc_update_irq(struct mc146818 *s)
{
    uint8_t c = s->cmos[RTC_REG_C], b = s->cmos[RTC_REG_B];
    /* The flag bits line up with their enables in register B. */
    bool irqf = (c & b & (REG_C_PF | REG_C_AF | REG_C_UF)) != 0;
    s->cmos[RTC_REG_C] = irqf ? (c | REG_C_IRQF) : (c & ~REG_C_IRQF);
    int level = irqf;
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set(&s->irq, level);
    }
}

/* Periodic interrupt period in 32.768 kHz cycles from RS3-0 (table 5); 0 = off. */
static int64_t rtc_period_cycles(const struct mc146818 *s)
{
    int rs = s->cmos[RTC_REG_A] & 0x0f;
    if (rs == 0)
        return 0;
    if (rs <= 2)
        rs += 7;   /* 256 Hz and 128 Hz: the same as RS = 8, 9 */
    return 1ll << (rs - 1);
}

static bool rtc_running(const struct mc146818 *s)
{
    return ((s->cmos[RTC_REG_A] >> 4) & 7) == 2 && !(s->cmos[RTC_REG_B] & REG_B_SET);
}

static int64_t cycles_at(int64_t ns) { return (int64_t)((__int128)ns * RTC_XTAL_HZ / NS_PER_S); }

static int64_t ns_at_cycles(int64_t cycles)
{
    return (int64_t)(((__int128)cycles * NS_PER_S + RTC_XTAL_HZ - 1) / RTC_XTAL_HZ);
}

static void rtc_arm_periodic(struct mc146818 *s)
{
    int64_t period = rtc_period_cycles(s);
    if (!(s->cmos[RTC_REG_B] & REG_B_PIE) || !period) {
        qtimer_del(&s->periodic_timer);
        return;
    }
    int64_t now = clock_ns();
    int64_t next = (cycles_at(now) / period + 1) * period;
    qtimer_mod(&s->periodic_timer, ns_at_cycles(next));
}

static void rtc_periodic_cb(void *opaque)
{
    struct mc146818 *s = opaque;
    s->cmos[RTC_REG_C] |= REG_C_PF;
    rtc_update_irq(s);
    rtc_arm_periodic(s);
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & 0xc0) == 0xc0 || alarm == now;
}

static void rtc_arm_update(struct mc146818 *s)
{
    if (!(s->cmos[RTC_REG_B] & (REG_B_UIE | REG_B_AIE)) || !rtc_running(s)) {
        qtimer_del(&s->update_timer);
        return;
    }
    int64_t g = rtc_now_ns(s);
    int64_t next_sec = g / NS_PER_S + 1;
    qtimer_mod(&s->update_timer, next_sec * NS_PER_S - s->offset_ns);
}

/* End of an update cycle: UF, and AF if the alarm matches the new time. */
static void rtc_update_cb(void *opaque)
{
    struct mc146818 *s = opaque;
    if (rtc_running(s)) {
        rtc_fill_time(s, rtc_now_ns(s) / NS_PER_S);
        s->cmos[RTC_REG_C] |= REG_C_UF;
        if (alarm_field_matches(s->cmos[RTC_SECONDS_ALARM], s->cmos[RTC_SECONDS]) &&
            alarm_field_matches(s->cmos[RTC_MINUTES_ALARM], s->cmos[RTC_MINUTES]) &&
            alarm_field_matches(s->cmos[RTC_HOURS_ALARM], s->cmos[RTC_HOURS]))
            s->cmos[RTC_REG_C] |= REG_C_AF;
        rtc_update_irq(s);
    }
    rtc_arm_update(s);
}

static uint8_t rtc_read_reg(struct mc146818 *s, uint8_t idx)
{
    switch (idx) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
        if (rtc_running(s))
            rtc_fill_time(s, rtc_now_ns(s) / NS_PER_S);
        return s->cmos[idx];
    case RTC_REG_A: {
        uint8_t a = s->cmos[RTC_REG_A] & ~REG_A_UIP;
        if (rtc_running(s)) {
            int64_t g = rtc_now_ns(s);
            int64_t sub = ((g % NS_PER_S) + NS_PER_S) % NS_PER_S;
            if (sub >= NS_PER_S - UIP_NS)
                a |= REG_A_UIP;
        }
        return a;
    }
    case RTC_REG_C: {
        int64_t now = clock_ns();
        /* Flags whose interrupt is off are computed from elapsed time. */
        int64_t period = rtc_period_cycles(s);
        if (period && !(s->cmos[RTC_REG_B] & REG_B_PIE) &&
            cycles_at(now) / period != cycles_at(s->last_c_read_ns) / period)
            s->cmos[RTC_REG_C] |= REG_C_PF;
        if (rtc_running(s) && !(s->cmos[RTC_REG_B] & REG_B_UIE) &&
            (now + s->offset_ns) / NS_PER_S != (s->last_c_read_ns + s->offset_ns) / NS_PER_S)
            s->cmos[RTC_REG_C] |= REG_C_UF;
        s->last_c_read_ns = now;
        rtc_update_irq(s);
        uint8_t c = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        rtc_update_irq(s);
        return c;
    }
    case RTC_REG_D:
        return REG_D_VRT;
    default:
        return s->cmos[idx];
    }
}

static void rtc_write_reg(struct mc146818 *s, uint8_t idx, uint8_t v)
{
    switch (idx) {
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
        if (!(s->cmos[RTC_REG_B] & REG_B_SET)) {
            rtc_fill_time(s, rtc_now_ns(s) / NS_PER_S);
            s->cmos[idx] = v;
            rtc_take_time(s);
        } else {
            s->cmos[idx] = v;
        }
        rtc_arm_update(s);
        break;
    case RTC_REG_A: {
        uint8_t dv = (v >> 4) & 7;
        if (dv != 2)
            qlog(LOG_UNIMP, "mc146818: divider DV=%u: clock treated as stopped", dv);
        s->cmos[RTC_REG_A] = v & ~REG_A_UIP;
        rtc_arm_periodic(s);
        rtc_arm_update(s);
        break;
    }
    case RTC_REG_B: {
        uint8_t old = s->cmos[RTC_REG_B];
        int64_t held = -1;
        if ((old & REG_B_SET) && ((old ^ v) & (REG_B_DM | REG_B_24H)))
            held = rtc_held_secs(s);   /* decode in the old data mode */
        s->cmos[RTC_REG_B] = v;
        if (held >= 0)
            rtc_fill_time(s, held);    /* re-encode in the new one */
        if (!(old & REG_B_SET) && (v & REG_B_SET))
            rtc_fill_time(s, rtc_now_ns(s) / NS_PER_S);   /* freeze */
        if ((old & REG_B_SET) && !(v & REG_B_SET))
            rtc_take_time(s);
        rtc_update_irq(s);
        rtc_arm_periodic(s);
        rtc_arm_update(s);
        break;
    }
    case RTC_REG_C:
    case RTC_REG_D:
        qlog(LOG_GUEST_ERRORS, "mc146818: write 0x%02x to read-only register %c", v, 'A' + idx - 10);
        break;
    default:
        s->cmos[idx] = v;
        break;
    }
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct mc146818 *s = opaque;
    if (off == 0)
        return 0xff;   /* the index register is write-only on PCs */
    return rtc_read_reg(s, s->index);
}

static void rtc_io_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct mc146818 *s = opaque;
    if (off == 0) {
        s->index = value & 0x7f;
        s->nmi_disabled = value & 0x80;
    } else {
        rtc_write_reg(s, s->index, value);
    }
}

static const struct io_ops rtc_ops = { rtc_io_read, rtc_io_write, 1, 1 };

static void cmos_set_memory(struct mc146818 *s, uint64_t ram_bytes)
{
    uint64_t below_4g = ram_bytes >= 0xe0000000ull ? 0xc0000000ull : ram_bytes;
    uint64_t above_4g = ram_bytes - below_4g;
    s->cmos[0x15] = 640 & 0xff;
    s->cmos[0x16] = 640 >> 8;
    uint64_t ext_kb = below_4g > (1u << 20) ? below_4g / 1024 - 1024 : 0;
    if (ext_kb > 65535)
        ext_kb = 65535;
    s->cmos[0x17] = s->cmos[0x30] = ext_kb & 0xff;
    s->cmos[0x18] = s->cmos[0x31] = ext_kb >> 8;
    uint64_t above_16m = below_4g > (16u << 20) ? (below_4g - (16u << 20)) >> 16 : 0;
    if (above_16m > 65535)
        above_16m = 65535;
    s->cmos[0x34] = above_16m & 0xff;
    s->cmos[0x35] = above_16m >> 8;
    uint64_t hi = above_4g >> 16;
    if (hi > 0xffffff)
        hi = 0xffffff;
    s->cmos[0x5b] = hi & 0xff;
    s->cmos[0x5c] = (hi >> 8) & 0xff;
    s->cmos[0x5d] = (hi >> 16) & 0xff;
}

/**
 * Create the RTC/CMOS at 0x70/0x71 on @irq8 with the CMOS memory fields for
 * @ram_bytes of RAM. Register A = 0x26 (32.768 kHz, 1024 Hz rate), B = 0x02
 * (24-hour, BCD), as a PC BIOS leaves them. Returns NULL if the ports are
 * taken or memory is short.
 */
struct mc146818 *mc146818_create(struct bus *bus, struct irq_line irq8, uint64_t ram_bytes)
{
    struct mc146818 *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->irq = irq8;
    s->cmos[RTC_REG_A] = 0x26;
    s->cmos[RTC_REG_B] = REG_B_24H;
    s->cmos[RTC_REG_D] = REG_D_VRT;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* With -icount the phase of the seconds (UIP, update interrupts) must not
     * depend on when qtemu started: start on a whole second so a run repeats
     * instruction for instruction (only the date itself comes from the host). */
    int64_t start_ns = (int64_t)ts.tv_sec * NS_PER_S + (clock_icount_enabled() ? 0 : ts.tv_nsec);
    s->offset_ns = start_ns - clock_ns();
    s->last_c_read_ns = clock_ns();
    rtc_fill_time(s, rtc_now_ns(s) / NS_PER_S);
    cmos_set_memory(s, ram_bytes);
    qtimer_init(&s->periodic_timer, rtc_periodic_cb, s);
    qtimer_init(&s->update_timer, rtc_update_cb, s);
    struct io_region r = { .base = 0x70, .size_bytes = 2, .ops = &rtc_ops, .opaque = s, .name = "rtc" };
    if (io_space_add(&bus->pio, &r) < 0) {
        free(s);
        return NULL;
    }
    return s;
}
