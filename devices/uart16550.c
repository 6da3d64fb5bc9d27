/*
 * devices/uart16550.c - 16550A UART, after the TI/National PC16550D datasheet
 * (SNLS378C): section 8.6 "Register Descriptions" (8.6.1 LCR, 8.6.2 LSR,
 * 8.6.3 FCR, 8.6.4 IIR table 9 "Interrupt Control Functions", 8.6.5 IER,
 * 8.6.6 MCR incl. loopback, 8.6.7 MSR, 8.6.8 SCR), 8.5 divisor latches, and
 * 8.4 "FIFO interrupt mode operation" (trigger levels, character timeout).
 *
 * Decided (QEMU's hw/char/serial.c is the behavioural reference):
 *  - Transmission is instant: a THR write goes straight to the chardev, LSR
 *    THRE and TEMT read as 1 again at once, and a THRE interrupt becomes
 *    pending right after the write (Linux's 8250 driver relies on it).
 *  - The THRE interrupt is also made pending when IER.ETBEI goes 0 -> 1 while
 *    THR is empty (the datasheet's "THRE interrupt on enable"; Linux's
 *    UART_BUG_THRE probe checks it), and is cleared by reading IIR when it is
 *    the reported source, or by writing THR (table 9).
 *  - Modem inputs outside loopback: CTS, DSR, DCD asserted, RI not (MSR =
 *    0xB0): a null-modem cable with the other side ready.
 *  - In loopback (MCR.LOOP) transmitted bytes come back into the receiver,
 *    MSR[7:4] show OUT2/OUT1/DTR/RTS as DCD/RI/DSR/CTS (8.6.6), and host
 *    input is held off (can_receive reports 0).
 *  - The IRQ output is the pending interrupt gated by MCR.OUT2, as PC boards
 *    wire it; it is a level (irq_set) and only driven on change.
 *  - Character timeout (IIR 0x0C): 4 character times after the last byte was
 *    received or read, with the character time from the divisor (115200 /
 *    divisor baud) and LCR's word length, parity and stop bits; armed on the
 *    virtual clock.
 *  - No parity/framing errors or breaks ever arrive from the host.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

/* Register offsets (datasheet table 8 "Summary of Registers"). */
enum {
    UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
    UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_ERBFI 0x01   /* received data available */
#define IER_ETBEI 0x02   /* THR empty */
#define IER_ELSI  0x04   /* receiver line status */
#define IER_EDSSI 0x08   /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_CTI    0x0C
#define IIR_FIFO   0xC0

#define FCR_FE       0x01
#define FCR_RFR      0x02   /* RCVR FIFO reset */
#define FCR_XFR      0x04   /* XMIT FIFO reset */

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_PE   0x04
#define LSR_FE   0x08
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_INT_ANY (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
#define MSR_ANY_DELTA 0x0F

#define UART_FIFO_LEN 16
#define UART_INPUT_HZ 115200u   /* 1.8432 MHz / 16 */

/** One 16550A. */
struct uart16550 {
    uint16_t iobase;
    struct irq_line irq;
    struct chardev *chr;
    uint16_t divisor;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    bool thr_ipending;        /* THRE interrupt pending (IIR 0x02) */
    bool timeout_ipending;    /* character timeout pending (IIR 0x0C) */
    int irq_level;            /* last level driven on @irq */
    uint8_t rx[UART_FIFO_LEN];
    unsigned rx_head, rx_count;
    struct qtimer timeout_timer;
};

static unsigned rx_capacity(const struct uart16550 *s)
{
    return (s->fcr & FCR_FE) ? UART_FIFO_LEN : 1;
}

/* Trigger level in bytes from FCR[7:6] (datasheet 8.6.3): 1, 4, 8, 14. */
static unsigned rx_trigger(const struct uart16550 *s)
{
    static const uint8_t levels[4] = { 1, 4, 8, 14 };
    return levels[s->fcr >> 6];
}

/* Interrupt identification by priority (table 9): RLS > RDA/CTI > THRE > MS. */
static uint8_t uart_iir_id(const struct uart16550 *s)
{
    if ((s->ier & IER_ELSI) && (s->lsr & LSR_INT_ANY))
        return IIR_RLSI;
    if ((s->ier & IER_ERBFI) && s->timeout_ipending)
        return IIR_CTI;
    if ((s->ier & IER_ERBFI) && (s->lsr & LSR_DR) &&
        (!(s->fcr & FCR_FE) || s->rx_count >= rx_trigger(s)))
        return IIR_RDI;
    if ((s->ier & IER_ETBEI) && s->thr_ipending)
        return IIR_THRI;
    if ((s->ier & IER_EDSSI) && (s->msr & MSR_ANY_DELTA))
        return IIR_MSI;
    return IIR_NO_INT;
}

static void uart_update_irq(struct uart16550 *s)
{
    int level = uart_iir_id(s) != IIR_NO_INT && (s->mcr & MCR_OUT2);
    if (level != s->irq_level) {
        s->irq_level = level;
        irq_set(&s->irq, level);
    }
}

/* Nanoseconds per character at the current divisor and line format. */
static int64_t uart_char_ns(const struct uart16550 *s)
{
    unsigned data_bits = 5 + (s->lcr & 3);
    unsigned bits = 1 + data_bits + ((s->lcr & 0x08) ? 1 : 0) + ((s->lcr & 0x04) ? 2 : 1);
    unsigned divisor = s->divisor ? s->divisor : 1;
    return (int64_t)bits * divisor * 1000000000ll / UART_INPUT_HZ;
}

static void uart_arm_timeout(struct uart16550 *s)
{
    if ((s->fcr & FCR_FE) && s->rx_count)
        qtimer_mod(&s->timeout_timer, clock_ns() + 4 * uart_char_ns(s));
    else
        qtimer_del(&s->timeout_timer);
}

static void uart_timeout_cb(void *opaque)
{
    struct uart16550 *s = opaque;
    if ((s->fcr & FCR_FE) && s->rx_count) {
        s->timeout_ipending = true;
        uart_update_irq(s);
    }
}

static void rx_flush(struct uart16550 *s)
{
    s->rx_head = s->rx_count = 0;
    s->lsr &= ~LSR_DR;
    s->timeout_ipending = false;
    qtimer_del(&s->timeout_timer);
}

/* One character arrives at the receiver (host input or loopback). */
static void uart_rx_byte(struct uart16550 *s, uint8_t byte)
{
    unsigned cap = rx_capacity(s);
    if (s->rx_count >= cap) {
        s->lsr |= LSR_OE;
        if (!(s->fcr & FCR_FE)) {
            /* 8.6.2: the new character overwrites the unread RBR. */
            s->rx[s->rx_head] = byte;
        }
        /* FIFO mode: the shift register's character is lost. */
    } else {
        s->rx[(s->rx_head + s->rx_count) % UART_FIFO_LEN] = byte;
        s->rx_count++;
    }
    s->lsr |= LSR_DR;
    s->timeout_ipending = false;
    uart_arm_timeout(s);
}

/* Modem status inputs: from MCR in loopback, else fixed (see header). */
static void uart_update_msr(struct uart16550 *s)
{
    uint8_t lines;
    if (s->mcr & MCR_LOOP) {
        lines = ((s->mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
                ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
    } else {
        lines = MSR_CTS | MSR_DSR | MSR_DCD;
    }
    uint8_t old = s->msr & 0xF0;
    uint8_t delta = 0;
    if ((old ^ lines) & MSR_CTS)
        delta |= MSR_DCTS;
    if ((old ^ lines) & MSR_DSR)
        delta |= MSR_DDSR;
    if ((old & MSR_RI) && !(lines & MSR_RI))
        delta |= MSR_TERI;   /* trailing edge only */
    if ((old ^ lines) & MSR_DCD)
        delta |= MSR_DDCD;
    s->msr = lines | (s->msr & MSR_ANY_DELTA) | delta;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
    struct uart16550 *s = opaque;
    uint8_t v = 0;

    switch (offset & 7) {
    case UART_RBR_THR:
        if (s->lcr & LCR_DLAB) {
            v = s->divisor & 0xff;
            break;
        }
        if (s->rx_count) {
            v = s->rx[s->rx_head];
            s->rx_head = (s->rx_head + 1) % UART_FIFO_LEN;
            s->rx_count--;
        }
        if (!s->rx_count)
            s->lsr &= ~LSR_DR;
        s->timeout_ipending = false;
        uart_arm_timeout(s);
        uart_update_irq(s);
        break;
    case UART_IER:
        v = (s->lcr & LCR_DLAB) ? s->divisor >> 8 : s->ier;
        break;
    case UART_IIR_FCR: {
        uint8_t id = uart_iir_id(s);
        v = id | ((s->fcr & FCR_FE) ? IIR_FIFO : 0);
        if (id == IIR_THRI) {
            s->thr_ipending = false;
            uart_update_irq(s);
        }
        break;
    }
    case UART_LCR:
        v = s->lcr;
        break;
    case UART_MCR:
        v = s->mcr;
        break;
    case UART_LSR:
        v = s->lsr;
        /* 8.6.2: OE, PE, FE, BI are reset by reading LSR. */
        s->lsr &= ~LSR_INT_ANY;
        uart_update_irq(s);
        break;
    case UART_MSR:
        v = s->msr;
        s->msr &= ~MSR_ANY_DELTA;
        uart_update_irq(s);
        break;
    case UART_SCR:
        v = s->scr;
        break;
    }
    return v;
}

static void uart_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct uart16550 *s = opaque;
    uint8_t v = value & 0xff;

    switch (offset & 7) {
    case UART_RBR_THR:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0xff00) | v;
            uart_arm_timeout(s);
            break;
        }
        s->thr_ipending = false;
        if (s->mcr & MCR_LOOP)
            uart_rx_byte(s, v);
        else if (s->chr && s->chr->write)
            s->chr->write(s->chr, &v, 1);
        /* Transmitted at once: THR and the shift register are empty again. */
        s->lsr |= LSR_THRE | LSR_TEMT;
        s->thr_ipending = true;
        uart_update_irq(s);
        break;
    case UART_IER:
        if (s->lcr & LCR_DLAB) {
            s->divisor = (s->divisor & 0x00ff) | (uint16_t)v << 8;
            uart_arm_timeout(s);
            break;
        }
        if ((v & IER_ETBEI) && !(s->ier & IER_ETBEI) && (s->lsr & LSR_THRE))
            s->thr_ipending = true;
        s->ier = v & 0x0F;   /* bits 7:4 are always 0 */
        uart_update_irq(s);
        break;
    case UART_IIR_FCR:
        if ((v ^ s->fcr) & FCR_FE) {
            /* Changing FIFO enable clears both FIFOs (8.6.3 bit 0). */
            rx_flush(s);
        }
        if (v & FCR_RFR)
            rx_flush(s);
        /* FCR_XFR: the transmitter is always empty; nothing to clear. */
        s->fcr = v & (FCR_FE | 0x08 | 0xC0);
        if (!(s->fcr & FCR_FE))
            s->fcr = 0;   /* bits 3, 7:6 only take effect with FIFOs on */
        uart_update_irq(s);
        break;
    case UART_LCR:
        s->lcr = v;
        break;
    case UART_MCR:
        s->mcr = v & 0x1F;
        uart_update_msr(s);
        uart_update_irq(s);
        break;
    case UART_LSR:
        /* Factory test only (8.6.2 note); writes ignored as in QEMU. */
        qlog(LOG_GUEST_ERRORS, "uart16550@0x%x: write 0x%02x to LSR ignored", s->iobase, v);
        break;
    case UART_MSR:
        break;   /* read-only */
    case UART_SCR:
        s->scr = v;
        break;
    }
}

static const struct io_ops uart_ops = {
    .read = uart_read, .write = uart_write, .min_access = 1, .max_access = 1,
};

static int uart_can_receive(void *opaque)
{
    struct uart16550 *s = opaque;
    if (s->mcr & MCR_LOOP)
        return 0;
    unsigned cap = rx_capacity(s);
    return s->rx_count < cap ? (int)(cap - s->rx_count) : 0;
}

static void uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart16550 *s = opaque;
    if (s->mcr & MCR_LOOP)
        return;
    for (size_t i = 0; i < len; i++)
        uart_rx_byte(s, buf[i]);
    uart_update_irq(s);
}

/** Power-on state (datasheet table 11 "UART Reset Configuration"). */
static void uart_reset(struct uart16550 *s)
{
    s->ier = 0;
    s->lcr = 0;
    s->mcr = 0;
    s->fcr = 0;
    s->scr = 0;
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = 0;
    uart_update_msr(s);
    s->msr &= ~MSR_ANY_DELTA;   /* no deltas at reset */
    s->thr_ipending = false;
    rx_flush(s);
    s->irq_level = 0;
    irq_set(&s->irq, 0);
}

/**
 * Create a 16550A at @iobase (8 ports) raising @irq, talking to @chr (may be
 * NULL: output dropped, no input). Registers itself as @chr's receiver.
 * Returns NULL if the ports are taken or memory is short.
 */
struct uart16550 *uart16550_create(struct bus *bus, uint16_t iobase, struct irq_line irq,
                                   struct chardev *chr)
{
    struct uart16550 *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->iobase = iobase;
    s->irq = irq;
    s->chr = chr;
    qtimer_init(&s->timeout_timer, uart_timeout_cb, s);
    struct io_region r = { .base = iobase, .size_bytes = 8, .ops = &uart_ops, .opaque = s,
                           .name = "uart16550" };
    if (io_space_add(&bus->pio, &r) < 0) {
        free(s);
        return NULL;
    }
    uart_reset(s);
    if (chr) {
        chr->opaque = s;
        chr->can_receive = uart_can_receive;
        chr->receive = uart_receive;
    }
    return s;
}
