/*
 * tests/unit/test_uart16550.c - devices/uart16550.c driven through the port
 * bus as a CPU would. Oracle: the PC16550D datasheet's stated register
 * values (reset LSR = 0x60, IIR codes of table 9 and their priority, FIFO
 * trigger levels of FCR[7:6], loopback wiring of MCR to MSR in 8.6.6) and
 * the probes Linux's 8250 autoconfig() performs (drivers/tty/serial/8250/
 * 8250_port.c) with the answers it requires.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/bus.h"

#define COM1 0x3f8

static struct bus b;
static struct chardev chr;
static uint8_t out[64];
static size_t nout;
static int irq_level;
static int irq_changes;

static void chr_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len && nout < sizeof out; i++)
        out[nout++] = buf[i];
}

static void irq_sink(void *opaque, int line, int level)
{
    if (level != irq_level)
        irq_changes++;
    irq_level = level;
}

static uint8_t in8(uint16_t port) { return io_space_read(&b.pio, port, 1); }
static void out8(uint16_t port, uint8_t v) { io_space_write(&b.pio, port, v, 1); }

static void setup(void)
{
    bus_init(&b);
    clock_set_manual(0);
    memset(&chr, 0, sizeof chr);
    chr.write = chr_write;
    nout = 0;
    irq_level = 0;
    irq_changes = 0;
    struct irq_line irq = { irq_sink, NULL, 4 };
    cr_assert_not_null(uart16550_create(&b, COM1, irq, &chr));
}

TestSuite(uart, .init = setup);

Test(uart, reset_values)
{
    cr_assert_eq(in8(COM1 + 5), 0x60, "LSR after reset: THRE|TEMT");
    cr_assert_eq(in8(COM1 + 2), 0x01, "IIR after reset: no interrupt");
    cr_assert_eq(in8(COM1 + 1), 0x00);
    cr_assert_eq(in8(COM1 + 4), 0x00);
}

Test(uart, linux_existence_and_scratch_test)
{
    out8(COM1 + 1, 0);
    cr_assert_eq(in8(COM1 + 1) & 0x0f, 0);
    out8(COM1 + 1, 0x0f);
    cr_assert_eq(in8(COM1 + 1) & 0x0f, 0x0f);
    out8(COM1 + 1, 0);
    out8(COM1 + 7, 0xa5);
    cr_assert_eq(in8(COM1 + 7), 0xa5);
    out8(COM1 + 7, 0x5a);
    cr_assert_eq(in8(COM1 + 7), 0x5a);
}

Test(uart, loopback_msr_and_echo)
{
    /* autoconfig(): MCR = LOOP | OUT2 | RTS must give MSR[7:4] = DCD|CTS = 0x9. */
    out8(COM1 + 4, 0x10 | 0x0a);
    cr_assert_eq(in8(COM1 + 6) & 0xf0, 0x90);
    out8(COM1 + 4, 0x10 | 0x05);  /* DTR | OUT1 -> DSR | RI */
    cr_assert_eq(in8(COM1 + 6) & 0xf0, 0x60);
    out8(COM1, 'Q');
    cr_assert_eq(nout, 0, "loopback must not reach the line");
    cr_assert_eq(in8(COM1 + 5) & 0x01, 0x01, "DR after loopback TX");
    cr_assert_eq(in8(COM1), 'Q');
    cr_assert_eq(in8(COM1 + 5) & 0x01, 0);
    out8(COM1 + 4, 0x0b);  /* leave loopback: DTR RTS OUT2 */
    out8(COM1, 'x');
    cr_assert_eq(nout, 1);
    cr_assert_eq(out[0], 'x');
    cr_assert_eq(in8(COM1 + 6) & 0xb0, 0xb0, "CTS DSR DCD asserted on the line");
}

Test(uart, divisor_latch)
{
    out8(COM1 + 3, 0x80);
    out8(COM1 + 0, 0x0c);
    out8(COM1 + 1, 0x01);
    cr_assert_eq(in8(COM1 + 0), 0x0c);
    cr_assert_eq(in8(COM1 + 1), 0x01);
    out8(COM1 + 3, 0x03);
    cr_assert_eq(in8(COM1 + 1), 0x00, "IER unaffected by DLM writes");
    cr_assert_eq(nout, 0, "DLL writes are not transmitted");
    out8(COM1 + 3, 0x83);
    cr_assert_eq(in8(COM1 + 0) | in8(COM1 + 1) << 8, 0x10c);
    cr_assert_eq(in8(COM1 + 3), 0x83);
}

Test(uart, fifo_detect_as_16550a)
{
    out8(COM1 + 2, 0x01);
    cr_assert_eq(in8(COM1 + 2) >> 6, 3, "IIR[7:6] = 11 with FIFOs enabled");
    /* 16750 test: IIR bit 5 must stay 0 (no 64-byte FIFO). */
    out8(COM1 + 3, 0x80);
    out8(COM1 + 2, 0x21);
    cr_assert_eq(in8(COM1 + 2) >> 5, 6);
    out8(COM1 + 3, 0);
    out8(COM1 + 2, 0x00);
    cr_assert_eq(in8(COM1 + 2) >> 6, 0);
}

Test(uart, thre_interrupt_and_out2_gating)
{
    out8(COM1 + 4, 0x00);          /* OUT2 low: line never raised */
    out8(COM1 + 1, 0x02);
    cr_assert_eq(in8(COM1 + 2) & 0x0f, 0x02, "THRE pending on enable");
    cr_assert_eq(irq_level, 0);
    out8(COM1 + 1, 0x00);
    out8(COM1 + 4, 0x08);          /* OUT2 */
    out8(COM1 + 1, 0x02);
    cr_assert_eq(irq_level, 1);
    cr_assert_eq(in8(COM1 + 2) & 0x0f, 0x02);
    cr_assert_eq(irq_level, 0, "reading IIR clears THRE");
    cr_assert_eq(in8(COM1 + 2) & 0x0f, 0x01);
    out8(COM1, 'a');
    cr_assert_eq(irq_level, 1, "THRE again after a write");
    cr_assert_eq(in8(COM1 + 5) & 0x60, 0x60);
    /* Linux's UART_BUG_THRE probe: IER 0 then THRI must re-assert. */
    out8(COM1 + 1, 0);
    out8(COM1 + 1, 0x02);
    cr_assert_eq(in8(COM1 + 2) & 0x01, 0);
}

Test(uart, iir_priority_sequence)
{
    /* Loopback, non-FIFO: two bytes cause an overrun (8.6.2 OE). */
    out8(COM1 + 4, 0x10 | 0x08);
    in8(COM1 + 6);                 /* clear deltas from the MCR change */
    out8(COM1, 1);
    out8(COM1, 2);
    out8(COM1 + 4, 0x10 | 0x08 | 0x02);   /* RTS -> CTS change: DCTS */
    out8(COM1 + 1, 0x0f);
    cr_assert_eq(in8(COM1 + 2), 0x06, "RLS first");
    cr_assert_eq(in8(COM1 + 5) & 0x03, 0x03, "OE and DR");
    cr_assert_eq(in8(COM1 + 2), 0x04, "then RDA");
    cr_assert_eq(in8(COM1), 2, "overrun overwrote RBR");
    cr_assert_eq(in8(COM1 + 2), 0x02, "then THRE");
    cr_assert_eq(in8(COM1 + 2), 0x00, "then modem status");
    cr_assert_eq(in8(COM1 + 6) & 0x01, 0x01, "DCTS");
    cr_assert_eq(in8(COM1 + 2), 0x01, "then nothing");
}

Test(uart, fifo_trigger_level_and_timeout)
{
    out8(COM1 + 3, 0x80);
    out8(COM1 + 0, 1);             /* 115200 baud */
    out8(COM1 + 1, 0);
    out8(COM1 + 3, 0x03);          /* 8N1: 10 bits per character */
    out8(COM1 + 2, 0x41 | 0x06);   /* FIFO on, reset, trigger 4 bytes */
    out8(COM1 + 4, 0x08);
    out8(COM1 + 1, 0x01);
    cr_assert_eq(chr.can_receive(chr.opaque), 16);
    const uint8_t three[3] = { 'a', 'b', 'c' };
    chr.receive(chr.opaque, three, 3);
    cr_assert_eq(in8(COM1 + 5) & 1, 1);
    cr_assert_eq(in8(COM1 + 2), 0xc1, "below the trigger level: no RDA yet");
    cr_assert_eq(irq_level, 0);
    const uint8_t d = 'd';
    chr.receive(chr.opaque, &d, 1);
    cr_assert_eq(in8(COM1 + 2), 0xc4, "trigger level reached");
    cr_assert_eq(irq_level, 1);
    cr_assert_eq(in8(COM1), 'a');
    cr_assert_eq(in8(COM1 + 2), 0xc1, "three left, below trigger");
    /* Character timeout: 4 character times = 4 * 10 / 115200 s ~ 347 us. */
    clock_set_manual(300000);
    qtimer_run_expired();
    cr_assert_eq(in8(COM1 + 2), 0xc1);
    clock_set_manual(400000);
    qtimer_run_expired();
    cr_assert_eq(in8(COM1 + 2), 0xcc, "character timeout");
    cr_assert_eq(in8(COM1), 'b');
    cr_assert_eq(in8(COM1), 'c');
    cr_assert_eq(in8(COM1), 'd');
    cr_assert_eq(in8(COM1 + 5) & 1, 0);
    cr_assert_eq(in8(COM1 + 2), 0xc1);
    cr_assert_eq(irq_level, 0);
    /* FIFO full -> can_receive 0; one more overruns. */
    uint8_t many[16];
    memset(many, 'z', sizeof many);
    chr.receive(chr.opaque, many, 16);
    cr_assert_eq(chr.can_receive(chr.opaque), 0);
    chr.receive(chr.opaque, many, 1);
    cr_assert_eq(in8(COM1 + 5) & 0x03, 0x03);
}
