/*
 * tests/unit/test_isa_debug_exit.c - devices/isa_debug_exit.c. Oracle: QEMU's
 * documented isa-debug-exit contract: writing V exits with (V << 1) | 1.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "devices/bus.h"

Test(debug_exit, status_is_value_shifted_or_one)
{
    struct bus b;
    bus_init(&b);
    cr_assert_eq(isa_debug_exit_create(&b, 0xf4, 4), 0);
    io_space_write(&b.pio, 0xf4, 0, 1);
    cr_assert_eq(b.request, MACHINE_REQ_EXIT);
    cr_assert_eq(b.exit_status, 1);
    io_space_write(&b.pio, 0xf4, 0x10, 1);
    cr_assert_eq(b.exit_status, 0x21);
    io_space_write(&b.pio, 0xf4, 0x1234, 4);
    cr_assert_eq(b.exit_status, 0x2469, "a dword write reaches the device whole");
    cr_assert_eq(isa_debug_exit_create(&b, 0xf6, 2), -EEXIST, "overlap rejected");
    cr_assert_eq(isa_debug_exit_create(&b, 0x501, 0), -EINVAL);
    bus_destroy(&b);
}
