/*
 * tests/unit/test_pc_reset.c - devices/pc_reset.c. Oracle: ICH9 datasheet
 * RST_CNT (0xCF9: bit 2 RST_CPU triggers, bit 1 SYS_RST / bit 3 FULL_RST read
 * back) and System Control Port A (0x92: bit 0 fast reset, bit 1 A20).
 */
#include <criterion/criterion.h>

#include "devices/bus.h"

static struct bus b;

static void setup(void)
{
    bus_init(&b);
    cr_assert_eq(pc_reset_ctrl_create(&b), 0);
}

TestSuite(pc_reset, .init = setup);

Test(pc_reset, cf9)
{
    io_space_write(&b.pio, 0xcf9, 0x02, 1);   /* select hard reset, no trigger */
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
    cr_assert_eq(io_space_read(&b.pio, 0xcf9, 1), 0x02);
    io_space_write(&b.pio, 0xcf9, 0x06, 1);   /* FADT RESET_VALUE */
    cr_assert_eq(b.request, MACHINE_REQ_RESET);
    cr_assert_eq(io_space_read(&b.pio, 0xcf9, 1) & 0x04, 0, "RST_CPU reads 0");
}

Test(pc_reset, port92)
{
    cr_assert_eq(io_space_read(&b.pio, 0x92, 1), 0x02, "A20 enabled at power-on");
    io_space_write(&b.pio, 0x92, 0x00, 1);
    cr_assert_eq(io_space_read(&b.pio, 0x92, 1), 0x00);
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
    io_space_write(&b.pio, 0x92, 0x03, 1);
    cr_assert_eq(b.request, MACHINE_REQ_RESET);
    cr_assert_eq(io_space_read(&b.pio, 0x92, 1), 0x02);
}
