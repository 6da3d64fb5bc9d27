/*
 * devices/i8042.c - the 8042 keyboard controller at 0x60/0x64 with a
 * keyboard and a mouse that answer commands but never send input. Reference:
 * the IBM PC/AT Technical Reference "Keyboard Controller" (status register,
 * controller commands 20h-FFh, output port), the IBM PS/2 "Keyboard and
 * Auxiliary Device Controller" (AUX commands A7-A9, D3, D4) and QEMU's
 * hw/input/pckbd.c + ps2.c for the exact replies Linux's i8042, atkbd and
 * psmouse drivers expect.
 *
 * Status register (port 0x64 read): bit 0 OBF, 1 IBF (always 0: commands
 * complete at once), 2 SYS (set by self-test or the command byte), 3 A2
 * (last write was a command), 4 keyboard not inhibited, 5 AUX_OBF.
 *
 * Decided:
 *  - Bytes waiting to be read sit in one FIFO (16 entries) tagged keyboard
 *    or AUX; the head is in the output buffer. IRQ 1 = OBF && !AUX &&
 *    command-byte bit 0; IRQ 12 = OBF && AUX && bit 1; levels, as QEMU.
 *  - Controller replies (command byte, self-test, port tests) go to the
 *    output buffer as keyboard-side data.
 *  - Reset: output-port write (D1h) with bit 0 = 0, or a pulse command
 *    F0h-FFh with bit 0 = 0 (FEh is the classic one) -> MACHINE_REQ_RESET.
 *    Output-port bit 1 (A20) is stored; A20 masking is not emulated.
 *  - Keyboard: FFh -> FA AA; F2h -> FA AB 83 (41 with translation on, as
 *    QEMU); EDh/F0h/F3h take an argument (FA after each; F0h 00 reports the
 *    set); F4h/F5h/F6h -> FA; EEh -> EE; anything else -> FE (resend).
 *  - Mouse (via D4h): FFh -> FA AA 00; F2h -> FA 00; E9h -> FA 00 02 64;
 *    E8h/F3h take an argument; E6h/E7h/EAh/F0h/F4h/F5h/F6h -> FA; else FE.
 *  - D3h (write AUX output buffer) echoes its byte as AUX data, which is
 *    how Linux's i8042_check_aux() loop test finds the AUX port.
 */
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

#define STAT_OBF      0x01
#define STAT_SYS      0x04
#define STAT_CMD      0x08
#define STAT_UNLOCKED 0x10
#define STAT_AUX_OBF  0x20

#define MODE_KBD_INT   0x01
#define MODE_AUX_INT   0x02
#define MODE_SYS       0x04
#define MODE_DIS_KBD   0x10
#define MODE_DIS_AUX   0x20
#define MODE_TRANSLATE 0x40

#define OUT_RESET 0x01   /* 0 = hold the CPU in reset */
#define OUT_A20   0x02

#define QUEUE_LEN 16

/** One queued output byte. */
struct kbc_byte {
    uint8_t data;
    bool aux;
};

/** The controller with its keyboard and mouse. */
struct i8042 {
    struct bus *bus;
    struct irq_line irq1, irq12;
    int irq1_level, irq12_level;
    uint8_t status, mode, outport;
    uint8_t obuf;                  /* output buffer (valid when STAT_OBF) */
    struct kbc_byte q[QUEUE_LEN];
    unsigned q_head, q_count;
    uint8_t pending_cmd;           /* controller command awaiting its data byte */
    uint8_t kbd_pending;           /* keyboard command awaiting its argument */
    uint8_t aux_pending;           /* mouse command awaiting its argument */
    uint8_t scancode_set;
};

static void kbc_update_irq(struct i8042 *s)
{
    int l1 = 0, l12 = 0;
    if (s->status & STAT_OBF) {
        if (s->status & STAT_AUX_OBF)
            l12 = (s->mode & MODE_AUX_INT) != 0;
        else
            l1 = (s->mode & MODE_KBD_INT) != 0;
    }
    if (l1 != s->irq1_level) {
        s->irq1_level = l1;
        irq_set(&s->irq1, l1);
    }
    if (l12 != s->irq12_level) {
        s->irq12_level = l12;
        irq_set(&s->irq12, l12);
    }
}

/* Move the next queued byte into the empty output buffer. */
static void kbc_refill(struct i8042 *s)
{
    if ((s->status & STAT_OBF) || !s->q_count)
        return;
    struct kbc_byte b = s->q[s->q_head];
    s->q_head = (s->q_head + 1) % QUEUE_LEN;
    s->q_count--;
    s->obuf = b.data;
    s->status |= STAT_OBF;
    if (b.aux)
        s->status |= STAT_AUX_OBF;
    else
        s->status &= ~STAT_AUX_OBF;
}

static void kbc_queue(struct i8042 *s, uint8_t data, bool aux)
{
    if (s->q_count >= QUEUE_LEN) {
        qlog(LOG_GUEST_ERRORS, "i8042: output queue full, byte 0x%02x dropped", data);
        return;
    }
    s->q[(s->q_head + s->q_count) % QUEUE_LEN] = (struct kbc_byte){ data, aux };
    s->q_count++;
    kbc_refill(s);
    kbc_update_irq(s);
}

static void kbc_set_outport(struct i8042 *s, uint8_t v)
{
    s->outport = v;
    if (!(v & OUT_A20))
        qlog(LOG_UNIMP, "i8042: A20 gate disabled (not emulated)");
    if (!(v & OUT_RESET)) {
        qlog(LOG_CPU_RESET, "i8042: reset via output port");
        bus_request(s->bus, MACHINE_REQ_RESET, 0);
        s->outport |= OUT_RESET;
    }
}

static void kbd_write(struct i8042 *s, uint8_t v)
{
    if (s->kbd_pending) {
        uint8_t cmd = s->kbd_pending;
        s->kbd_pending = 0;
        kbc_queue(s, 0xfa, false);
        if (cmd == 0xf0) {
            if (v == 0)
                kbc_queue(s, (s->mode & MODE_TRANSLATE) ? (s->scancode_set == 1 ? 0x43 :
                              s->scancode_set == 3 ? 0x3f : 0x41) : s->scancode_set, false);
            else if (v <= 3)
                s->scancode_set = v;
        }
        return;
    }
    switch (v) {
    case 0xff:   /* reset and self-test */
        s->scancode_set = 2;
        kbc_queue(s, 0xfa, false);
        kbc_queue(s, 0xaa, false);
        break;
    case 0xf2:   /* read ID */
        kbc_queue(s, 0xfa, false);
        kbc_queue(s, 0xab, false);
        kbc_queue(s, (s->mode & MODE_TRANSLATE) ? 0x41 : 0x83, false);
        break;
    case 0xed:   /* set LEDs */
    case 0xf0:   /* get/set scan code set */
    case 0xf3:   /* set typematic rate */
        s->kbd_pending = v;
        kbc_queue(s, 0xfa, false);
        break;
    case 0xee:   /* echo */
        kbc_queue(s, 0xee, false);
        break;
    case 0xf4:   /* enable scanning */
    case 0xf5:   /* disable scanning */
    case 0xf6:   /* set defaults */
        kbc_queue(s, 0xfa, false);
        break;
    default:
        kbc_queue(s, 0xfe, false);
        break;
    }
}

static void aux_write(struct i8042 *s, uint8_t v)
{
    if (s->aux_pending) {
        s->aux_pending = 0;
        kbc_queue(s, 0xfa, true);
        return;
    }
    switch (v) {
    case 0xff:   /* reset */
        kbc_queue(s, 0xfa, true);
        kbc_queue(s, 0xaa, true);
        kbc_queue(s, 0x00, true);
        break;
    case 0xf2:   /* get device ID: standard PS/2 mouse */
        kbc_queue(s, 0xfa, true);
        kbc_queue(s, 0x00, true);
        break;
    case 0xe9:   /* status request: defaults (resolution 2, 100 samples/s) */
        kbc_queue(s, 0xfa, true);
        kbc_queue(s, 0x00, true);
        kbc_queue(s, 0x02, true);
        kbc_queue(s, 0x64, true);
        break;
    case 0xe8:   /* set resolution */
    case 0xf3:   /* set sample rate */
        s->aux_pending = v;
        kbc_queue(s, 0xfa, true);
        break;
    case 0xe6: case 0xe7: case 0xea: case 0xf0: case 0xf4: case 0xf5: case 0xf6:
        kbc_queue(s, 0xfa, true);
        break;
    default:
        kbc_queue(s, 0xfe, true);
        break;
    }
}

static void kbc_command(struct i8042 *s, uint8_t cmd)
{
    switch (cmd) {
    case 0x20:   /* read command byte */
        kbc_queue(s, s->mode, false);
        break;
    case 0x60:   /* write command byte */
    case 0xd1:   /* write output port */
    case 0xd2:   /* write keyboard output buffer */
    case 0xd3:   /* write AUX output buffer */
    case 0xd4:   /* write to AUX device */
        s->pending_cmd = cmd;
        break;
    case 0xa7:
        s->mode |= MODE_DIS_AUX;
        break;
    case 0xa8:
        s->mode &= ~MODE_DIS_AUX;
        break;
    case 0xa9:   /* AUX interface test: 00 = no error */
    case 0xab:   /* keyboard interface test */
        kbc_queue(s, 0x00, false);
        break;
    case 0xaa:   /* controller self-test */
        s->status |= STAT_SYS;
        kbc_queue(s, 0x55, false);
        break;
    case 0xad:
        s->mode |= MODE_DIS_KBD;
        break;
    case 0xae:
        s->mode &= ~MODE_DIS_KBD;
        break;
    case 0xc0:   /* read input port: keyboard not inhibited */
        kbc_queue(s, 0x80, false);
        break;
    case 0xd0:   /* read output port */
        kbc_queue(s, s->outport, false);
        break;
    case 0xdd:   /* A20 off */
        kbc_set_outport(s, s->outport & ~OUT_A20);
        break;
    case 0xdf:   /* A20 on */
        kbc_set_outport(s, s->outport | OUT_A20);
        break;
    case 0xe0:   /* read test inputs */
        kbc_queue(s, 0x00, false);
        break;
    default:
        if (cmd >= 0xf0) {
            /* Pulse output port bits 3-0 low for 6 us where cmd has a 0. */
            if (!(cmd & 1)) {
                qlog(LOG_CPU_RESET, "i8042: reset pulse (command 0x%02x)", cmd);
                bus_request(s->bus, MACHINE_REQ_RESET, 0);
            }
        } else {
            qlog(LOG_UNIMP, "i8042: controller command 0x%02x not implemented", cmd);
        }
        break;
    }
    kbc_update_irq(s);
}

static void kbc_data(struct i8042 *s, uint8_t v)
{
    uint8_t cmd = s->pending_cmd;
    s->pending_cmd = 0;
    switch (cmd) {
    case 0x60:
        s->mode = v;
        if (v & MODE_SYS)
            s->status |= STAT_SYS;
        else
            s->status &= ~STAT_SYS;
        break;
    case 0xd1:
        kbc_set_outport(s, v);
        break;
    case 0xd2:
        kbc_queue(s, v, false);
        break;
    case 0xd3:
        kbc_queue(s, v, true);
        break;
    case 0xd4:
        aux_write(s, v);
        break;
    default:
        /* Data for the keyboard re-enables its interface (QEMU). */
        s->mode &= ~MODE_DIS_KBD;
        kbd_write(s, v);
        break;
    }
    kbc_update_irq(s);
}

/* Port 0x60 read: the output buffer (the last byte again if it is empty). */
static uint64_t kbc_data_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8042 *s = opaque;
    uint8_t v = s->obuf;
    s->status &= ~(STAT_OBF | STAT_AUX_OBF);
    /* Drop IRQ1/IRQ12 before the next queued byte is loaded, so it raises a
     * fresh edge (the IOAPIC pins are edge-triggered): as QEMU's i8042 does. */
    kbc_update_irq(s);
    kbc_refill(s);
    kbc_update_irq(s);
    return v;
}

static void kbc_data_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct i8042 *s = opaque;
    s->status &= ~STAT_CMD;
    kbc_data(s, value);
}

/* Port 0x64 read: the status register. */
static uint64_t kbc_status_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8042 *s = opaque;
    return s->status;
}

static void kbc_cmd_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct i8042 *s = opaque;
    s->status |= STAT_CMD;
    kbc_command(s, value);
}

static const struct io_ops kbc_data_ops = { kbc_data_read, kbc_data_write, 1, 1 };
static const struct io_ops kbc_cmd_ops = { kbc_status_read, kbc_cmd_write, 1, 1 };

/**
 * Create the controller on ports 0x60 (data) and 0x64 (status/command), two
 * 1-port regions since 0x61 between them is the PIT's port B. Power-on:
 * command byte 0x03 (both IRQs on), status A2 | unlocked, output port with
 * RESET and A20 high. Returns NULL if a port is taken or memory is short.
 */
struct i8042 *i8042_create(struct bus *bus, struct irq_line irq1, struct irq_line irq12)
{
    struct i8042 *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->bus = bus;
    s->irq1 = irq1;
    s->irq12 = irq12;
    s->mode = MODE_KBD_INT | MODE_AUX_INT;
    s->status = STAT_CMD | STAT_UNLOCKED;
    s->outport = OUT_RESET | OUT_A20 | 0xcc;
    s->scancode_set = 2;
    struct io_region r1 = { .base = 0x60, .size_bytes = 1, .ops = &kbc_data_ops, .opaque = s, .name = "i8042-data" };
    struct io_region r2 = { .base = 0x64, .size_bytes = 1, .ops = &kbc_cmd_ops, .opaque = s, .name = "i8042-cmd" };
    if (io_space_add(&bus->pio, &r1) < 0) {
        free(s);
        return NULL;
    }
    if (io_space_add(&bus->pio, &r2) < 0) {
        io_space_remove(&bus->pio, 0x60);
        free(s);
        return NULL;
    }
    return s;
}
