/*
 * tests/unit/test_acpi_pm.c - devices/acpi_pm.c. Oracle: ACPI 6.4 4.8.3:
 * the PM timer runs at 3.579545 MHz and is 24 bits wide, TMR_STS is set when
 * bit 23 toggles and cleared by writing 1, SLP_EN with the \_S5 SLP_TYP
 * enters soft-off; SLP_EN reads as 0.
 */
#include <criterion/criterion.h>

#include "devices/bus.h"

static struct bus b;
static int sci;

static void sink(void *o, int line, int level) { sci = level; }

static void setup(void)
{
    bus_init(&b);
    clock_set_manual(0);
    sci = 0;
    struct irq_line l = { sink, NULL, 9 };
    cr_assert_not_null(acpi_pm_create(&b, ACPI_PM_BASE, l));
}

TestSuite(acpi_pm, .init = setup);

static uint32_t tmr(void) { return io_space_read(&b.pio, ACPI_PM_BASE + ACPI_PM_TMR_OFFSET, 4); }

Test(acpi_pm, timer_frequency_and_width)
{
    cr_assert_eq(tmr(), 0);
    clock_set_manual(1000000000);
    cr_assert_eq(tmr(), 3579545, "one second of 3.579545 MHz");
    clock_set_manual(10000000);
    cr_assert_eq(tmr(), 35795);
    /* 2^24 ticks = 4.687 s: wraps at 24 bits. */
    clock_set_manual(5000000000ll);
    cr_assert_eq(tmr(), (uint32_t)(5ll * 3579545 % (1 << 24)));
    cr_assert_eq(tmr() >> 24, 0);
}

Test(acpi_pm, tmr_sts_and_sci)
{
    uint16_t sts = io_space_read(&b.pio, ACPI_PM_BASE, 2);
    cr_assert_eq(sts & 1, 0);
    io_space_write(&b.pio, ACPI_PM_BASE + 2, 0x0001, 2);   /* TMR_EN */
    /* Bit 23 toggles after 2^23 ticks = 2.343 s. */
    clock_set_manual(2343000000ll);
    qtimer_run_expired();
    cr_assert_eq(sci, 0);
    clock_set_manual(2344000000ll);
    qtimer_run_expired();
    cr_assert_eq(sci, 1);
    cr_assert_eq(io_space_read(&b.pio, ACPI_PM_BASE, 2) & 1, 1);
    io_space_write(&b.pio, ACPI_PM_BASE, 0x0001, 2);       /* write 1 to clear */
    cr_assert_eq(io_space_read(&b.pio, ACPI_PM_BASE, 2) & 1, 0);
    cr_assert_eq(sci, 0);
}

Test(acpi_pm, s5_powers_off)
{
    uint16_t cnt = io_space_read(&b.pio, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, 2);
    cr_assert_eq(cnt & 1, 1, "SCI_EN: always in ACPI mode");
    /* Linux acpi_hw_legacy_sleep: write SLP_TYP, then SLP_TYP | SLP_EN. */
    uint16_t typ = ACPI_SLP_TYP_S5 << 10;
    io_space_write(&b.pio, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, cnt | typ, 2);
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
    io_space_write(&b.pio, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, cnt | typ | 0x2000, 2);
    cr_assert_eq(b.request, MACHINE_REQ_POWEROFF);
    cr_assert_eq(io_space_read(&b.pio, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, 2) & 0x2000, 0);
}

Test(acpi_pm, other_sleep_types_ignored)
{
    io_space_write(&b.pio, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, (1 << 10) | 0x2000 | 1, 2);
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
}
