/*
 * tests/unit/test_i8259.c - devices/i8259.c programmed as Linux's
 * init_8259A() does (arch/x86/kernel/i8259.c: ICW1 0x11, ICW2 0x20/0x28,
 * ICW3 0x04/0x02, ICW4 0x01). Oracle: the 8259A datasheet (vector = ICW2
 * T7-T3 + IR, IR0 highest priority in fully nested mode, EOI semantics, OCW3
 * register reads, poll word format, rotation) and the ELCR's level semantics.
 */
#include <criterion/criterion.h>

#include "devices/bus.h"

static struct bus b;
static struct i8259 *pic;
static int intr;

static void intr_sink(void *opaque, int line, int level) { intr = level; }
static uint8_t in8(uint16_t p) { return io_space_read(&b.pio, p, 1); }
static void out8(uint16_t p, uint8_t v) { io_space_write(&b.pio, p, v, 1); }

static void raise_irq(int n) { struct irq_line l = i8259_irq(pic, n); irq_set(&l, 1); }
static void lower_irq(int n) { struct irq_line l = i8259_irq(pic, n); irq_set(&l, 0); }
static void pulse_irq(int n) { struct irq_line l = i8259_irq(pic, n); irq_pulse(&l); }

static void linux_init(void)
{
    out8(0x21, 0xff);          /* mask all */
    out8(0xa1, 0xff);
    out8(0x20, 0x11);          /* ICW1: edge, cascade, ICW4 */
    out8(0x21, 0x20);          /* ICW2: vectors 0x20.. */
    out8(0x21, 0x04);          /* ICW3: slave on IR2 */
    out8(0x21, 0x01);          /* ICW4: 8086, normal EOI */
    out8(0xa0, 0x11);
    out8(0xa1, 0x28);
    out8(0xa1, 0x02);
    out8(0xa1, 0x01);
    out8(0x21, 0x00);          /* unmask all */
    out8(0xa1, 0x00);
}

static void setup(void)
{
    bus_init(&b);
    intr = 0;
    struct irq_line out = { intr_sink, NULL, CPU_PIN_INTR };
    pic = i8259_create(&b, out);
    cr_assert_not_null(pic);
    linux_init();
}

TestSuite(pic, .init = setup);

Test(pic, probe_imr_readback)
{
    out8(0x21, 0xff);
    cr_assert_eq(in8(0x21), 0xff);
    out8(0x21, 0xfb);
    cr_assert_eq(in8(0x21), 0xfb);
}

Test(pic, irq_to_vector_and_eoi)
{
    cr_assert_eq(intr, 0);
    pulse_irq(4);
    cr_assert_eq(intr, 1);
    out8(0x20, 0x0a);          /* OCW3: read IRR */
    cr_assert_eq(in8(0x20), 0x10);
    cr_assert_eq(i8259_inta(pic), 0x24);
    cr_assert_eq(intr, 0);
    cr_assert_eq(in8(0x20), 0x00, "IRR cleared by INTA (edge)");
    out8(0x20, 0x0b);          /* OCW3: read ISR */
    cr_assert_eq(in8(0x20), 0x10);
    out8(0x20, 0x20);          /* non-specific EOI */
    cr_assert_eq(in8(0x20), 0x00);
}

Test(pic, masking)
{
    out8(0x21, 0x01);
    pulse_irq(0);
    cr_assert_eq(intr, 0, "masked");
    out8(0x21, 0x00);
    cr_assert_eq(intr, 1, "IRR kept while masked, delivered on unmask");
    cr_assert_eq(i8259_inta(pic), 0x20);
}

Test(pic, fully_nested_priority)
{
    pulse_irq(5);
    pulse_irq(3);
    cr_assert_eq(i8259_inta(pic), 0x23, "IR3 beats IR5");
    cr_assert_eq(intr, 0, "IR5 blocked while IR3 in service");
    pulse_irq(1);
    cr_assert_eq(intr, 1, "IR1 preempts IR3");
    cr_assert_eq(i8259_inta(pic), 0x21);
    out8(0x20, 0x20);          /* EOI clears the highest ISR bit: IR1 */
    out8(0x20, 0x0b);
    cr_assert_eq(in8(0x20), 0x08);
    cr_assert_eq(intr, 0);
    out8(0x20, 0x63);          /* specific EOI IR3 */
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_inta(pic), 0x25);
}

Test(pic, cascade_slave_irq)
{
    pulse_irq(12);
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_inta(pic), 0x2c);
    out8(0xa0, 0x0b);
    cr_assert_eq(in8(0xa0), 0x10);
    out8(0x20, 0x0b);
    cr_assert_eq(in8(0x20), 0x04, "master has IR2 in service");
    pulse_irq(3);
    cr_assert_eq(intr, 0, "IR3 ranks below the IR2 in service");
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    cr_assert_eq(i8259_inta(pic), 0x23);
    out8(0x20, 0x20);
    pulse_irq(8);
    cr_assert_eq(i8259_inta(pic), 0x28, "IRQ8 (RTC) -> vector 0x28");
}

Test(pic, spurious_irq7)
{
    raise_irq(6);
    cr_assert_eq(intr, 1);
    out8(0x21, 0x40);          /* request masked before INTA */
    cr_assert_eq(intr, 0);
    cr_assert_eq(i8259_inta(pic), 0x27);
    out8(0x20, 0x0b);
    cr_assert_eq(in8(0x20), 0x00, "spurious IR7 not put in service");
    lower_irq(6);
}

Test(pic, level_triggered_via_elcr)
{
    out8(0x4d1, 0x08);         /* IRQ11 level */
    cr_assert_eq(in8(0x4d1), 0x08);
    out8(0x4d0, 0x07);         /* IRQ0-2 can't be level */
    cr_assert_eq(in8(0x4d0), 0x00);
    raise_irq(11);
    cr_assert_eq(i8259_inta(pic), 0x2b);
    out8(0xa0, 0x20);
    out8(0x20, 0x20);
    cr_assert_eq(intr, 1, "line still high: requests again after EOI");
    lower_irq(11);
    cr_assert_eq(intr, 0);
    /* Edge: holding the line high does not re-request. */
    raise_irq(5);
    cr_assert_eq(i8259_inta(pic), 0x25);
    out8(0x20, 0x20);
    cr_assert_eq(intr, 0);
    lower_irq(5);
}

Test(pic, poll_mode)
{
    pulse_irq(6);
    out8(0x20, 0x0c);          /* OCW3 poll */
    cr_assert_eq(in8(0x20), 0x86, "poll word: I=1, W2-W0 = 6");
    out8(0x20, 0x0c);
    cr_assert_eq(in8(0x20), 0x00, "nothing pending (IR6 in service)");
}

Test(pic, rotation)
{
    out8(0x20, 0xc4);          /* set priority: IR4 lowest -> IR5 highest */
    pulse_irq(3);
    pulse_irq(6);
    cr_assert_eq(i8259_inta(pic), 0x26);
    out8(0x20, 0xa0);          /* rotate on non-specific EOI: IR6 lowest */
    cr_assert_eq(i8259_inta(pic), 0x23);
}
