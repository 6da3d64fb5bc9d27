/*
 * devices/pc_reset.c - the PC's two reset sources outside the keyboard
 * controller:
 *  - Reset Control Register at I/O 0xCF9 (Intel ICH9 datasheet 13.7.5 "RST_CNT";
 *    PIIX3/4 "RC"): bit 1 SYS_RST selects hard (1) or soft (0) reset, bit 2
 *    RST_CPU requests it on a 0 -> 1 write, bit 3 FULL_RST. Bits 1 and 3 read
 *    back; bit 2 reads 0. Both kinds become MACHINE_REQ_RESET (we have no
 *    INIT-only reset). The ACPI FADT's RESET_REG names this port (value 0x06).
 *  - System Control Port A at I/O 0x92 ("fast A20 and init", PS/2; ICH9 13.7.x
 *    "PORT92"): bit 0 INIT_NOW, a 0 -> 1 transition resets the machine; bit 1
 *    ALT_A20_GATE is stored and read back (qtemu does not mask A20).
 *
 * Decided: 0xCF9 is a 1-byte region, so a PCI host bridge must not claim
 * 0xCF8-0xCFB as one 4-byte region; it should map 0xCF8 (4 bytes, dword
 * CONFIG_ADDRESS) only if this device is absent, or split as QEMU does.
 */
#include <errno.h>
#include <stdlib.h>

#include "devices/bus.h"
#include "util/log.h"

#define RST_CNT_SYS_RST  0x02
#define RST_CNT_RST_CPU  0x04
#define RST_CNT_FULL_RST 0x08
#define PORT92_INIT_NOW  0x01
#define PORT92_A20       0x02

/** State of both registers. */
struct pc_reset {
    struct bus *bus;
    uint8_t rst_cnt;
    uint8_t port92;
};

static uint64_t cf9_read(void *opaque, uint64_t off, unsigned size)
{
    struct pc_reset *s = opaque;
    return s->rst_cnt & (RST_CNT_SYS_RST | RST_CNT_FULL_RST);
}

static void cf9_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct pc_reset *s = opaque;
    uint8_t v = value;
    if ((v & RST_CNT_RST_CPU) && !(s->rst_cnt & RST_CNT_RST_CPU)) {
        qlog(LOG_CPU_RESET, "pc-reset: 0xCF9 <- 0x%02x: %s reset", v,
             (v & (RST_CNT_SYS_RST | RST_CNT_FULL_RST)) ? "hard" : "soft");
        bus_request(s->bus, MACHINE_REQ_RESET, 0);
        v &= ~RST_CNT_RST_CPU;   /* self-clearing: the reset happens */
    }
    s->rst_cnt = v & (RST_CNT_SYS_RST | RST_CNT_FULL_RST);
}

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
    struct pc_reset *s = opaque;
    return s->port92 & PORT92_A20;
}

static void port92_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct pc_reset *s = opaque;
    uint8_t v = value;
    if ((v & PORT92_INIT_NOW) && !(s->port92 & PORT92_INIT_NOW)) {
        qlog(LOG_CPU_RESET, "pc-reset: port 0x92 fast reset");
        bus_request(s->bus, MACHINE_REQ_RESET, 0);
        v &= ~PORT92_INIT_NOW;
    }
    if (!(v & PORT92_A20))
        qlog(LOG_UNIMP, "pc-reset: A20 gate disabled via port 0x92 (not emulated)");
    s->port92 = v & PORT92_A20;
}

static const struct io_ops cf9_ops = { cf9_read, cf9_write, 1, 1 };
static const struct io_ops port92_ops = { port92_read, port92_write, 1, 1 };

/**
 * Map 0xCF9 and 0x92. Power-on: RST_CNT = 0, port 0x92 = A20 enabled.
 * Returns 0, -ENOMEM, or io_space_add()'s error.
 */
int pc_reset_ctrl_create(struct bus *bus)
{
    struct pc_reset *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->bus = bus;
    s->port92 = PORT92_A20;
    struct io_region r1 = { .base = 0xcf9, .size_bytes = 1, .ops = &cf9_ops, .opaque = s, .name = "reset-control" };
    struct io_region r2 = { .base = 0x92, .size_bytes = 1, .ops = &port92_ops, .opaque = s, .name = "port92" };
    int rc = io_space_add(&bus->pio, &r1);
    if (rc < 0) {
        free(s);
        return rc;
    }
    rc = io_space_add(&bus->pio, &r2);
    if (rc < 0) {
        io_space_remove(&bus->pio, 0xcf9);
        free(s);
        return rc;
    }
    return 0;
}
