/*
 * devices/acpi_pm.c - the ACPI fixed-hardware PM block, after ACPI 6.4
 * section 4.8 "ACPI Hardware Model": 4.8.3.1 PM1 Event Grouping (PM1_STS
 * with write-1-to-clear bits TMR_STS, PWRBTN_STS, WAK_STS; PM1_EN),
 * 4.8.3.2 PM1 Control Grouping (SCI_EN, SLP_TYP, SLP_EN) and 4.8.3.3 Power
 * Management Timer (24-bit, 3.579545 MHz, TMR_STS on bit-23 toggles), and
 * 7.4.2 (\_Sx objects: the SLP_TYP value written for a sleep state).
 *
 * Layout (devices/bus.h): PM1a_EVT_BLK at ACPI_PM_BASE = 0x600 (PM1_STS +0,
 * PM1_EN +2), PM1a_CNT_BLK at +4 (2 bytes), PM_TMR_BLK at +8 (4 bytes). 0x600
 * is where QEMU's Q35 (ICH9 LPC) puts PMBASE; one 12-byte port region.
 *
 * Decided:
 *  - \_S5 is SLP_TYP = ACPI_SLP_TYP_S5 = 5: writing SLP_EN with SLP_TYP 5
 *    requests power off (MACHINE_REQ_POWEROFF). Any other SLP_TYP (S1-S4
 *    are not offered in our DSDT) is logged under LOG_UNIMP and ignored.
 *  - SCI_EN reads 1 from reset: the FADT has no SMI_CMD, so the platform is
 *    always in ACPI mode (ACPI 4.8.3.2.1 / 16.3.1 legacy/ACPI handoff).
 *  - The timer counts clock_ns() at 3579545 Hz, 24 bits (FADT TMR_VAL_EXT = 0).
 *    TMR_STS is computed from elapsed time when PM1_STS is read; with TMR_EN
 *    set a qtimer raises the SCI at the next bit-23 toggle.
 *  - SCI is a level: (PM1_STS & PM1_EN) != 0 for TMR, PWRBTN, GBL; WAK_STS
 *    never interrupts. Only driven on change.
 *  - Accesses of 1, 2 or 4 bytes at any offset are served from one sample of
 *    the registers (the timer is read once per access).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "util/log.h"

#define PM_TMR_HZ        3579545ll
#define NS_PER_S         1000000000ll

#define PM1_TMR_STS      0x0001
#define PM1_BM_STS       0x0010
#define PM1_GBL_STS      0x0020
#define PM1_PWRBTN_STS   0x0100
#define PM1_SLPBTN_STS   0x0200
#define PM1_RTC_STS      0x0400
#define PM1_WAK_STS      0x8000
#define PM1_EN_MASK      (PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_SLPBTN_STS | PM1_RTC_STS)

#define PM1_CNT_SCI_EN   0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN   0x2000

#define PM_REGION_LEN    (ACPI_PM_TMR_OFFSET + ACPI_PM_TMR_LEN)

_Static_assert(ACPI_PM_CNT_OFFSET + ACPI_PM_CNT_LEN <= ACPI_PM_TMR_OFFSET, "PM block layout");

/** The PM1a event/control registers and the PM timer. */
struct acpi_pm {
    struct bus *bus;
    struct irq_line sci;
    int sci_level;
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    int64_t tmr_seen_ticks;     /* timer value (untruncated) when TMR_STS was last evaluated */
    struct qtimer tmr_timer;
};

static int64_t pm_ticks(int64_t now)
{
    return now <= 0 ? 0 : (int64_t)((__int128)now * PM_TMR_HZ / NS_PER_S);
}

/* Latch TMR_STS if bit 23 toggled since the last evaluation. */
static void pm_sync_tmr_sts(struct acpi_pm *s, int64_t now)
{
    int64_t t = pm_ticks(now);
    if ((t >> 23) != (s->tmr_seen_ticks >> 23))
        s->pm1_sts |= PM1_TMR_STS;
    s->tmr_seen_ticks = t;
}

static void pm_update_sci(struct acpi_pm *s)
{
    int level = (s->pm1_sts & s->pm1_en & PM1_EN_MASK) != 0 && (s->pm1_cnt & PM1_CNT_SCI_EN);
    if (level != s->sci_level) {
        s->sci_level = level;
        irq_set(&s->sci, level);
    }
}

static void pm_arm_tmr(struct acpi_pm *s)
{
    if (!(s->pm1_en & PM1_TMR_STS)) {
        qtimer_del(&s->tmr_timer);
        return;
    }
    int64_t next = ((pm_ticks(clock_ns()) >> 23) + 1) << 23;
    int64_t ns = (int64_t)(((__int128)next * NS_PER_S + PM_TMR_HZ - 1) / PM_TMR_HZ);
    qtimer_mod(&s->tmr_timer, ns);
}

static void pm_tmr_cb(void *opaque)
{
    struct acpi_pm *s = opaque;
    pm_sync_tmr_sts(s, clock_ns());
    pm_update_sci(s);
    pm_arm_tmr(s);
}

/* The 12 register bytes as the guest sees them now. */
static void pm_snapshot(struct acpi_pm *s, uint8_t img[PM_REGION_LEN])
{
    int64_t now = clock_ns();
    pm_sync_tmr_sts(s, now);
    pm_update_sci(s);
    memset(img, 0, PM_REGION_LEN);
    img[0] = s->pm1_sts & 0xff;
    img[1] = s->pm1_sts >> 8;
    img[2] = s->pm1_en & 0xff;
    img[3] = s->pm1_en >> 8;
    uint16_t cnt = s->pm1_cnt & ~PM1_CNT_SLP_EN;   /* SLP_EN is write-only, reads 0 */
    img[ACPI_PM_CNT_OFFSET] = cnt & 0xff;
    img[ACPI_PM_CNT_OFFSET + 1] = cnt >> 8;
    uint32_t tmr = pm_ticks(now) & 0xffffff;
    for (int i = 0; i < 4; i++)
        img[ACPI_PM_TMR_OFFSET + i] = tmr >> (8 * i);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct acpi_pm *s = opaque;
    uint8_t img[PM_REGION_LEN];
    pm_snapshot(s, img);
    uint64_t v = 0;
    for (unsigned i = 0; i < size && off + i < PM_REGION_LEN; i++)
        v |= (uint64_t)img[off + i] << (8 * i);
    return v;
}

static void pm_cnt_written(struct acpi_pm *s, uint16_t v)
{
    /* SCI_EN is owned by hardware here (always ACPI mode); keep it set. */
    s->pm1_cnt = (v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
    if (v & PM1_CNT_SLP_EN) {
        unsigned typ = (v >> PM1_CNT_SLP_TYP_SHIFT) & 7;
        if (typ == ACPI_SLP_TYP_S5) {
            qlog(LOG_GUEST_ERRORS, "acpi-pm: S5 (soft off) requested");
            bus_request(s->bus, MACHINE_REQ_POWEROFF, 0);
        } else {
            qlog(LOG_UNIMP, "acpi-pm: sleep type %u not supported; ignored", typ);
        }
    }
}

static void pm_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct acpi_pm *s = opaque;
    uint8_t img[PM_REGION_LEN];
    pm_snapshot(s, img);
    uint8_t mask[PM_REGION_LEN] = {0};
    uint8_t val[PM_REGION_LEN] = {0};
    for (unsigned i = 0; i < size && off + i < PM_REGION_LEN; i++) {
        mask[off + i] = 0xff;
        val[off + i] = value >> (8 * i);
    }
    uint16_t sts_clear = val[0] | val[1] << 8;
    if (sts_clear)
        s->pm1_sts &= ~sts_clear;   /* write-1-to-clear */
    if (mask[2] | mask[3]) {
        uint16_t en = s->pm1_en;
        en = (en & ~(mask[2] | mask[3] << 8)) | ((val[2] | val[3] << 8) & (mask[2] | mask[3] << 8));
        s->pm1_en = en & PM1_EN_MASK;
        pm_arm_tmr(s);
    }
    if (mask[ACPI_PM_CNT_OFFSET] | mask[ACPI_PM_CNT_OFFSET + 1]) {
        uint16_t m = mask[ACPI_PM_CNT_OFFSET] | mask[ACPI_PM_CNT_OFFSET + 1] << 8;
        uint16_t v = val[ACPI_PM_CNT_OFFSET] | val[ACPI_PM_CNT_OFFSET + 1] << 8;
        pm_cnt_written(s, (s->pm1_cnt & ~m & ~PM1_CNT_SLP_EN) | (v & m));
    }
    for (unsigned i = ACPI_PM_TMR_OFFSET; i < PM_REGION_LEN; i++) {
        if (mask[i]) {
            qlog(LOG_GUEST_ERRORS, "acpi-pm: write to read-only PM_TMR ignored");
            break;
        }
    }
    pm_update_sci(s);
}

static const struct io_ops pm_ops = { pm_read, pm_write, 1, 4 };

/**
 * Press the fixed-feature power button (ACPI 6.4 4.8.2.2.1.1): set
 * PWRBTN_STS; with PWRBTN_EN set (the OS's button driver enables it) the SCI
 * is raised until the OS clears the status bit. Used by QMP system_powerdown.
 */
void acpi_pm_power_button(struct acpi_pm *s)
{
    if (!s)
        return;
    s->pm1_sts |= PM1_PWRBTN_STS;
    pm_update_sci(s);
}

/**
 * Create the PM block at @pm_base (normally ACPI_PM_BASE) with its SCI on
 * @sci. Returns NULL if the ports are taken or memory is short.
 */
struct acpi_pm *acpi_pm_create(struct bus *bus, uint16_t pm_base, struct irq_line sci)
{
    struct acpi_pm *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->bus = bus;
    s->sci = sci;
    s->pm1_cnt = PM1_CNT_SCI_EN;
    s->tmr_seen_ticks = pm_ticks(clock_ns());
    qtimer_init(&s->tmr_timer, pm_tmr_cb, s);
    struct io_region r = { .base = pm_base, .size_bytes = PM_REGION_LEN, .ops = &pm_ops,
                           .opaque = s, .name = "acpi-pm" };
    if (io_space_add(&bus->pio, &r) < 0) {
        free(s);
        return NULL;
    }
    return s;
}
