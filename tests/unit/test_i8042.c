/*
 * tests/unit/test_i8042.c - devices/i8042.c driven as Linux's i8042 driver
 * does (drivers/input/serio/i8042.c: i8042_command() polls status bit 0
 * before reading 0x60). Oracle: the IBM PC/AT keyboard controller reference
 * (self-test 0xAA -> 0x55, interface tests -> 0x00, command byte 0x20/0x60,
 * output-port bit 0 = system reset, pulse command 0xFE) and the PS/2
 * keyboard protocol (ACK 0xFA, BAT 0xAA, ID 0xAB 0x83).
 */
#include <criterion/criterion.h>

#include "devices/bus.h"

static struct bus b;
static int irq1, irq12;

static void sink(void *opaque, int line, int level) { *(line == 1 ? &irq1 : &irq12) = level; }
static uint8_t in8(uint16_t p) { return io_space_read(&b.pio, p, 1); }
static void out8(uint16_t p, uint8_t v) { io_space_write(&b.pio, p, v, 1); }

static int read_data(void)
{
    if (!(in8(0x64) & 0x01))
        return -1;
    return in8(0x60);
}

static void setup(void)
{
    bus_init(&b);
    irq1 = irq12 = 0;
    struct irq_line l1 = { sink, NULL, 1 }, l12 = { sink, NULL, 12 };
    cr_assert_not_null(i8042_create(&b, l1, l12));
}

TestSuite(kbc, .init = setup);

Test(kbc, self_test_and_interface_tests)
{
    cr_assert_eq(in8(0x64) & 0x01, 0, "output buffer empty at reset");
    out8(0x64, 0xaa);
    cr_assert_eq(read_data(), 0x55);
    cr_assert_eq(in8(0x64) & 0x04, 0x04, "SYS flag after self-test");
    out8(0x64, 0xab);
    cr_assert_eq(read_data(), 0x00);
    out8(0x64, 0xa9);
    cr_assert_eq(read_data(), 0x00);
    cr_assert_eq(read_data(), -1);
}

Test(kbc, command_byte_roundtrip_and_irq)
{
    out8(0x64, 0x20);
    int ctr = read_data();
    cr_assert_eq(ctr & 0x03, 0x03);
    out8(0x64, 0x60);
    out8(0x60, 0x00);             /* IRQs off */
    out8(0x64, 0x20);
    cr_assert_eq(irq1, 0, "KBD_INT off: no IRQ1");
    cr_assert_eq(read_data(), 0x00);
    out8(0x64, 0x60);
    out8(0x60, 0x01);
    out8(0x64, 0x20);
    cr_assert_eq(irq1, 1, "KBD_INT on: IRQ1 while OBF");
    cr_assert_eq(read_data(), 0x01);
    cr_assert_eq(irq1, 0);
    out8(0x64, 0xa7);             /* disable AUX: CTR bit 5 */
    out8(0x64, 0x20);
    cr_assert_eq(read_data() & 0x20, 0x20);
    out8(0x64, 0xa8);
    out8(0x64, 0x20);
    cr_assert_eq(read_data() & 0x20, 0x00);
}

Test(kbc, keyboard_reset_and_id)
{
    out8(0x60, 0xff);
    cr_assert_eq(read_data(), 0xfa);
    cr_assert_eq(read_data(), 0xaa);
    out8(0x64, 0x60);
    out8(0x60, 0x01);             /* no translation */
    out8(0x60, 0xf2);
    cr_assert_eq(read_data(), 0xfa);
    cr_assert_eq(read_data(), 0xab);
    cr_assert_eq(read_data(), 0x83);
    out8(0x60, 0xed);
    cr_assert_eq(read_data(), 0xfa);
    out8(0x60, 0x07);
    cr_assert_eq(read_data(), 0xfa);
    cr_assert_eq(read_data(), -1);
}

Test(kbc, aux_loop_and_mouse)
{
    out8(0x64, 0xd3);
    out8(0x60, 0x5a);
    cr_assert_eq(in8(0x64) & 0x21, 0x21, "AUX data in the output buffer");
    cr_assert_eq(irq12, 1);
    cr_assert_eq(read_data(), 0x5a);
    cr_assert_eq(irq12, 0);
    out8(0x64, 0xd4);
    out8(0x60, 0xf2);
    cr_assert_eq(read_data(), 0xfa);
    cr_assert_eq(read_data(), 0x00);
}

static int kicks;
static void kick(void *o) { kicks++; }

Test(kbc, reset_requests)
{
    b.kick = kick;
    out8(0x64, 0xfe);
    cr_assert_eq(b.request, MACHINE_REQ_RESET);
    cr_assert_eq(kicks, 1);
    b.request = MACHINE_REQ_NONE;
    out8(0x64, 0xff);             /* pulse nothing: no reset */
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
    out8(0x64, 0xd1);
    out8(0x60, 0x03);             /* bit 0 = 1: no reset */
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
    out8(0x64, 0xd1);
    out8(0x60, 0x02);             /* bit 0 = 0: reset */
    cr_assert_eq(b.request, MACHINE_REQ_RESET);
}
