/*
 * devices/i8259.c - the PC's two cascaded 8259A PICs, after Intel's 8259A
 * datasheet (231468-003): "Interrupt Sequence" (INTA cycles), "Programming
 * the 8259A" (ICW1-ICW4, figure 7 initialization flow; OCW1-OCW3, figure 8),
 * "Fully Nested Mode", "End of Interrupt", "Automatic Rotation", "Specific
 * Rotation", "Special Mask Mode", "Poll Command", "Edge and Level Triggered
 * Modes", "Reading the 8259A Status", "Cascade Mode"; plus the PIIX/ICH
 * edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Decided (QEMU's hw/intc/i8259.c is the behavioural reference):
 *  - The slave's INT output is wired to the master's IR2, which follows it as
 *    a level (so a slave request that goes away does not leave a stale
 *    request on the master); the master's INT drives @intr_out as a level,
 *    driven only on change.
 *  - An input is level-triggered if its ELCR bit or ICW1.LTIM is set; the
 *    ELCR can not make IRQ0/1/2/8/13 level-triggered (masks 0xF8/0xDE, as on
 *    PIIX). Edge inputs latch IRR on a rising edge; level inputs follow the
 *    line and are not cleared by INTA.
 *  - i8259_inta() with no request pending returns the spurious vector
 *    (base + 7 of the chip that had nothing), as the hardware does when the
 *    request went away before INTA; IR7/IR15 is then not set in ISR.
 *  - ICW3 is checked only for the expected wiring (master 0x04, slave 2);
 *    other values are logged and the fixed PC wiring is kept.
 *  - Poll mode (OCW3 P=1) acknowledges on the next read of either port of
 *    that chip; polling the master does not cascade into the slave.
 */
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

/** One 8259A. */
struct pic_chip {
    uint8_t last_irr;      /* input levels seen, for edge detection */
    uint8_t irr, imr, isr;
    uint8_t priority_add;  /* lowest-priority IR + 1: rotation */
    uint8_t irq_base;      /* ICW2 T7-T3 */
    uint8_t elcr, elcr_mask;
    uint8_t init_state;    /* 0 ready, 1 expects ICW2, 2 ICW3, 3 ICW4 */
    bool read_isr;         /* OCW3 RR/RIS: read ISR (else IRR) */
    bool poll;
    bool special_mask;
    bool auto_eoi, rotate_on_auto_eoi;
    bool special_fully_nested;
    bool init4, single_mode, ltim;
    bool master;
};

/** The cascaded pair. */
struct i8259 {
    struct pic_chip chip[2];   /* [0] master, [1] slave */
    struct irq_line intr_out;
    int intr_level;
};

/* Level-sensitive inputs: ELCR or LTIM; the master's IR2 always follows the
   slave's INT level (the cascade is a wire, not an edge source). */
static uint8_t level_mask(const struct pic_chip *c)
{
    return (c->ltim ? 0xff : c->elcr) | (c->master ? 0x04 : 0);
}

/* Priority (0 = highest) of the best bit in @mask after rotation; 8 if none. */
static int get_priority(const struct pic_chip *c, uint8_t mask)
{
    if (!mask)
        return 8;
    int p = 0;
    while (!(mask & (1u << ((p + c->priority_add) & 7))))
        p++;
    return p;
}

/* The IR this chip would present on INTA, or -1 (fully nested mode rules). */
static int pic_get_irq(const struct pic_chip *c)
{
    int prio = get_priority(c, c->irr & ~c->imr);
    if (prio == 8)
        return -1;
    uint8_t mask = c->isr;
    if (c->special_mask)
        mask &= ~c->imr;
    if (c->special_fully_nested && c->master)
        mask &= ~(1u << 2);
    int cur = get_priority(c, mask);
    return prio < cur ? (prio + c->priority_add) & 7 : -1;
}

static void chip_set_input(struct i8259 *pic, int idx, int irq, int level);

/* Recompute both INT outputs: slave -> master IR2 -> intr_out. */
static void pic_update(struct i8259 *pic)
{
    struct pic_chip *slave = &pic->chip[1];
    chip_set_input(pic, 0, 2, pic_get_irq(slave) >= 0);
    int level = pic_get_irq(&pic->chip[0]) >= 0;
    if (level != pic->intr_level) {
        pic->intr_level = level;
        irq_set(&pic->intr_out, level);
    }
}

/* Latch an input level into IRR (datasheet "Edge and Level Triggered Modes"). */
static void chip_set_input(struct i8259 *pic, int idx, int irq, int level)
{
    struct pic_chip *c = &pic->chip[idx];
    uint8_t mask = 1u << irq;
    if (level_mask(c) & mask) {
        if (level) {
            c->irr |= mask;
            c->last_irr |= mask;
        } else {
            c->irr &= ~mask;
            c->last_irr &= ~mask;
        }
    } else if (level) {
        if (!(c->last_irr & mask))
            c->irr |= mask;
        c->last_irr |= mask;
    } else {
        c->last_irr &= ~mask;
    }
}

static void pic_set_irq(void *opaque, int line, int level)
{
    struct i8259 *pic = opaque;
    if (line < 0 || line > 15)
        return;
    if (line == 2) {
        /* IR2 of the master is the cascade input, not an ISA line. */
        qlog(LOG_GUEST_ERRORS, "i8259: ISA IRQ2 is the cascade; routed to IRQ9");
        line = 9;
    }
    chip_set_input(pic, line >> 3, line & 7, level);
    pic_update(pic);
}

/* INTA for @irq on chip @c: set ISR (unless AEOI), clear an edge IRR bit. */
static void pic_intack(struct pic_chip *c, int irq)
{
    if (c->auto_eoi) {
        if (c->rotate_on_auto_eoi)
            c->priority_add = (irq + 1) & 7;
    } else {
        c->isr |= 1u << irq;
    }
    if (!(level_mask(c) & (1u << irq)))
        c->irr &= ~(1u << irq);
}

/**
 * The INTA cycle (datasheet "Interrupt Sequence"): returns the vector
 * (ICW2 base + IR) of the highest-priority pending request, cascading to the
 * slave on IR2; base + 7 if the request vanished (spurious IRQ7 / IRQ15).
 */
int i8259_inta(struct i8259 *pic)
{
    struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
    int vector;
    int irq = pic_get_irq(m);
    if (irq >= 0) {
        if (irq == 2) {
            int irq2 = pic_get_irq(s);
            if (irq2 >= 0) {
                pic_intack(s, irq2);
                vector = s->irq_base + irq2;
            } else {
                vector = s->irq_base + 7;   /* spurious on the slave */
            }
        } else {
            vector = m->irq_base + irq;
        }
        pic_intack(m, irq);
    } else {
        vector = m->irq_base + 7;           /* spurious on the master */
    }
    pic_update(pic);
    if (log_enabled(LOG_INT))
        qlog(LOG_INT, "i8259: INTA -> vector 0x%02x", vector);
    return vector & 0xff;
}

/* ICW1 (datasheet "Initialization Command Words"): reset the chip's state. */
static void chip_icw1(struct pic_chip *c, uint8_t v)
{
    c->last_irr = 0;
    c->irr &= c->elcr;
    c->imr = 0;
    c->isr = 0;
    c->priority_add = 0;
    c->read_isr = false;
    c->poll = false;
    c->special_mask = false;
    c->auto_eoi = false;
    c->rotate_on_auto_eoi = false;
    c->special_fully_nested = false;
    c->init4 = v & 1;
    c->single_mode = v & 2;
    c->ltim = v & 8;
    c->init_state = 1;
    if (v & 2)
        qlog(LOG_UNIMP, "i8259: single mode (ICW1.SNGL) on a cascaded PC pair");
}

static void chip_write(struct i8259 *pic, int idx, uint64_t port, uint8_t v)
{
    struct pic_chip *c = &pic->chip[idx];
    if (port == 0) {
        if (v & 0x10) {
            chip_icw1(c, v);
        } else if (v & 0x08) {
            /* OCW3 */
            if (v & 0x04)
                c->poll = true;
            if (v & 0x02)
                c->read_isr = v & 1;
            if (v & 0x40)
                c->special_mask = (v >> 5) & 1;
        } else {
            /* OCW2: R SL EOI */
            int cmd = v >> 5, prio, irq;
            switch (cmd) {
            case 0:   /* rotate in AEOI mode: clear */
            case 4:   /* rotate in AEOI mode: set */
                c->rotate_on_auto_eoi = cmd >> 2;
                break;
            case 1:   /* non-specific EOI */
            case 5:   /* rotate on non-specific EOI */
                prio = get_priority(c, c->isr);
                if (prio != 8) {
                    irq = (prio + c->priority_add) & 7;
                    c->isr &= ~(1u << irq);
                    if (cmd == 5)
                        c->priority_add = (irq + 1) & 7;
                }
                break;
            case 3:   /* specific EOI */
                c->isr &= ~(1u << (v & 7));
                break;
            case 6:   /* set priority */
                c->priority_add = ((v & 7) + 1) & 7;
                break;
            case 7:   /* rotate on specific EOI */
                irq = v & 7;
                c->isr &= ~(1u << irq);
                c->priority_add = (irq + 1) & 7;
                break;
            default:  /* 2: no operation */
                break;
            }
        }
    } else {
        switch (c->init_state) {
        case 0:   /* OCW1 */
            c->imr = v;
            break;
        case 1:   /* ICW2 */
            c->irq_base = v & 0xf8;
            c->init_state = c->single_mode ? (c->init4 ? 3 : 0) : 2;
            break;
        case 2:   /* ICW3 */
            if ((idx == 0 && v != 0x04) || (idx == 1 && v != 0x02))
                qlog(LOG_UNIMP, "i8259: ICW3 0x%02x on %s ignored (PC wiring fixed)",
                     v, idx ? "slave" : "master");
            c->init_state = c->init4 ? 3 : 0;
            break;
        case 3:   /* ICW4 */
            if (!(v & 1))
                qlog(LOG_UNIMP, "i8259: ICW4 8080/8085 mode not supported");
            c->special_fully_nested = (v >> 4) & 1;
            c->auto_eoi = (v >> 1) & 1;
            c->init_state = 0;
            break;
        }
    }
    pic_update(pic);
}

static uint8_t chip_read(struct i8259 *pic, int idx, uint64_t port)
{
    struct pic_chip *c = &pic->chip[idx];
    uint8_t v;
    if (c->poll) {
        /* Poll command: the read is the INTA; bit 7 = request, bits 2:0 = IR. */
        int irq = pic_get_irq(c);
        if (irq >= 0) {
            pic_intack(c, irq);
            v = 0x80 | irq;
        } else {
            v = 0;
        }
        c->poll = false;
        pic_update(pic);
    } else if (port == 0) {
        v = c->read_isr ? c->isr : c->irr;
    } else {
        v = c->imr;
    }
    return v;
}

static uint64_t master_read(void *opaque, uint64_t off, unsigned size)
{
    return chip_read(opaque, 0, off & 1);
}

static void master_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    chip_write(opaque, 0, off & 1, v);
}

static uint64_t slave_read(void *opaque, uint64_t off, unsigned size)
{
    return chip_read(opaque, 1, off & 1);
}

static void slave_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    chip_write(opaque, 1, off & 1, v);
}

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8259 *pic = opaque;
    return pic->chip[off & 1].elcr;
}

static void elcr_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    struct i8259 *pic = opaque;
    struct pic_chip *c = &pic->chip[off & 1];
    c->elcr = v & c->elcr_mask;
    pic_update(pic);
}

static const struct io_ops master_ops = { master_read, master_write, 1, 1 };
static const struct io_ops slave_ops = { slave_read, slave_write, 1, 1 };
static const struct io_ops elcr_ops = { elcr_read, elcr_write, 1, 1 };

/**
 * Create the 8259A pair at 0x20/0x21 and 0xA0/0xA1 with the ELCR at
 * 0x4D0/0x4D1. The master's INT drives @intr_out. Returns NULL if a port is
 * taken or memory is short.
 */
struct i8259 *i8259_create(struct bus *bus, struct irq_line intr_out)
{
    struct i8259 *pic = calloc(1, sizeof *pic);
    if (!pic)
        return NULL;
    pic->intr_out = intr_out;
    pic->chip[0].master = true;
    pic->chip[0].elcr_mask = 0xf8;
    pic->chip[1].elcr_mask = 0xde;
    struct io_region regs[3] = {
        { .base = 0x20, .size_bytes = 2, .ops = &master_ops, .opaque = pic, .name = "pic-master" },
        { .base = 0xa0, .size_bytes = 2, .ops = &slave_ops, .opaque = pic, .name = "pic-slave" },
        { .base = 0x4d0, .size_bytes = 2, .ops = &elcr_ops, .opaque = pic, .name = "elcr" },
    };
    for (int i = 0; i < 3; i++) {
        if (io_space_add(&bus->pio, &regs[i]) < 0) {
            while (i--)
                io_space_remove(&bus->pio, regs[i].base);
            free(pic);
            return NULL;
        }
    }
    return pic;
}

/** Input line @line (0..15) of the pair, for devices to drive. */
struct irq_line i8259_irq(struct i8259 *pic, int line)
{
    struct irq_line l = { pic_set_irq, pic, line };
    return l;
}
