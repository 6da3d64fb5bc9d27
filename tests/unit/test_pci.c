/*
 * tests/unit/test_pci.c - the PCI host (devices/pci.c) and the virtio-pci
 * transport (devices/virtio_pci.c) through port I/O and MMIO only, as a
 * guest sees them. Oracles:
 *  - PCI Local Bus 3.0: 3.2.2.3.2 CONFIG_ADDRESS layout (bit 31 enable,
 *    device 15:11, register 7:2) and all-ones reads of absent functions;
 *    6.2.5.1 BAR sizing (write all ones, read back ~(size - 1) | type bits);
 *    6.7 capability list (status bit 4, pointer at 0x34, {id, next});
 *    6.8.2 MSI-X (capability layout, table entries, mask and pending bits);
 *  - virtio 1.2 4.1.2 IDs (0x1AF4, 0x1040 + device id, revision >= 1) and
 *    4.1.4 cfg_type values of the vendor capabilities;
 *  - SDM Vol. 3A 10.11 MSI address/data: the message must land in the IRR
 *    of a real local APIC model;
 *  - the reset control register must still answer byte writes at 0xCF9.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "devices/bus.h"
#include "devices/virtio.h"
#include "mmu/mmu.h"
#include "util/clock.h"

static struct bus b;
static struct guest_mem mem;
static struct pci_host *host;
static struct lapic *apic;
static int gsi_level[4];

static void gsi_sink(void *o, int line, int level) { gsi_level[line] = level; }
static void pins_sink(void *o, int line, int level) {}

static uint32_t cfg_addr(int dev, int reg) { return 0x80000000u | (uint32_t)dev << 11 | (uint32_t)reg; }
static uint32_t cfg_rd(int dev, int reg, unsigned size)
{
    io_space_write(&b.pio, 0xCF8, cfg_addr(dev, reg & ~3), 4);
    return (uint32_t)io_space_read(&b.pio, 0xCFC + (reg & 3), size);
}
static void cfg_wr(int dev, int reg, uint32_t v, unsigned size)
{
    io_space_write(&b.pio, 0xCF8, cfg_addr(dev, reg & ~3), 4);
    io_space_write(&b.pio, 0xCFC + (reg & 3), v, size);
}

static void setup(void)
{
    clock_set_manual(0);
    bus_init(&b);
    cr_assert_eq(guest_mem_init_pc(&mem, 1ull << 20, 0xC0000000ull, NULL), 0);
    cr_assert_eq(pc_reset_ctrl_create(&b), 0);
    apic = lapic_create(&b, 0, (struct irq_line){ pins_sink, NULL, 0 }, NULL);
    struct lapic *apics[1] = { apic };
    lapic_set_cluster(apics, 1);
    lapic_reg_write(apic, 0xf0, 0x1ff);            /* software-enable */
    struct irq_line intx[4];
    for (int i = 0; i < 4; i++)
        intx[i] = (struct irq_line){ gsi_sink, NULL, i };
    memset(gsi_level, 0, sizeof(gsi_level));
    host = pci_host_create(&b, intx);
    cr_assert_not_null(host);
}
static void teardown(void)
{
    lapic_set_cluster(NULL, 0);
    guest_mem_destroy(&mem);
}

TestSuite(pci, .init = setup, .fini = teardown);

Test(pci, config_address_and_host_bridge)
{
    io_space_write(&b.pio, 0xCF8, 0x80001234u, 4);
    cr_assert_eq(io_space_read(&b.pio, 0xCF8, 4), 0x80001234u, "CONFIG_ADDRESS reads back (bits 1:0 = 0)");
    io_space_write(&b.pio, 0xCFB, 0x01, 1);        /* Linux's pci_check_type1 does this */
    cr_assert_eq(io_space_read(&b.pio, 0xCF8, 4), 0x80001234u, "byte writes leave it alone");
    cr_assert_eq(cfg_rd(0, 0, 4), 0x12378086u, "00:00.0 is the 440FX");
    cr_assert_eq(cfg_rd(0, 0x0A, 2), 0x0600u, "class: host bridge");
    cr_assert_eq(cfg_rd(5, 0, 4), 0xFFFFFFFFu, "absent slot");
    io_space_write(&b.pio, 0xCF8, 0x80000100u, 4);  /* function 1 */
    cr_assert_eq(io_space_read(&b.pio, 0xCFC, 4), 0xFFFFFFFFu);
    io_space_write(&b.pio, 0xCF8, 0x00000000u, 4);  /* enable bit clear */
    cr_assert_eq(io_space_read(&b.pio, 0xCFC, 4), 0xFFFFFFFFu);
}

Test(pci, reset_control_still_at_0xcf9)
{
    io_space_write(&b.pio, 0xCF9, 0x02, 1);
    cr_assert_eq(io_space_read(&b.pio, 0xCF9, 1), 0x02, "SYS_RST reads back");
    cr_assert_eq(b.request, MACHINE_REQ_NONE);
    io_space_write(&b.pio, 0xCF9, 0x06, 1);
    cr_assert_eq(b.request, MACHINE_REQ_RESET);
}

/** Find capability @id in slot @dev's list; 0 if absent. Bounded walk. */
static int find_cap(int dev, int id, int start)
{
    int p = start ? cfg_rd(dev, start + 1, 1) : cfg_rd(dev, 0x34, 1);
    for (int n = 0; p && n < 48; n++) {
        if ((int)cfg_rd(dev, p, 1) == id)
            return p;
        p = cfg_rd(dev, p + 1, 1);
    }
    return 0;
}

Test(pci, virtio_rng_function)
{
    struct virtio_dev *rng = virtio_rng_create(&mem);
    cr_assert_eq(virtio_pci_create(host, -1, rng), 0);
    int dev = 1;
    cr_assert_eq(cfg_rd(dev, 0, 2), 0x1AF4u);
    cr_assert_eq(cfg_rd(dev, 2, 2), 0x1040u + 4, "0x1040 + VIRTIO_ID_RNG");
    cr_assert_geq(cfg_rd(dev, 8, 1), 1u, "revision >= 1 (modern)");
    cr_assert(cfg_rd(dev, 6, 2) & 0x10, "capability list");
    /* The four vendor capabilities, cfg_type 1..4. */
    int seen = 0;
    for (int p = find_cap(dev, 0x09, 0); p; p = find_cap(dev, 0x09, p)) {
        int type = cfg_rd(dev, p + 3, 1);
        cr_assert(type >= 1 && type <= 5, "cfg_type %d", type);
        cr_assert_eq(cfg_rd(dev, p + 4, 1), 0u, "in BAR0");
        if (type == 5) {
            /* 4.1.4.9: the PCI configuration access window into BAR0. */
            cr_assert_eq(cfg_rd(dev, p + 2, 1), 20u, "cap_len");
            cfg_wr(dev, p + 8, 0x12, 4);           /* num_queues */
            cfg_wr(dev, p + 12, 2, 4);
            cr_assert_eq(cfg_rd(dev, p + 16, 2), 1u, "num_queues through the window");
            cfg_wr(dev, p + 8, 0x00, 4);           /* device_feature_select = 1 */
            cfg_wr(dev, p + 12, 4, 4);
            cfg_wr(dev, p + 16, 1, 4);
            cfg_wr(dev, p + 8, 0x04, 4);
            cr_assert_eq(cfg_rd(dev, p + 16, 4), 1u, "VERSION_1 (bit 32) through the window");
        }
        seen |= 1 << type;
    }
    cr_assert_eq(seen, 0x3E & ~(1 << 4), "common, notify, ISR, PCI cfg (no device cfg for rng)");
    /* BAR0 sizing (6.2.5.1). */
    uint32_t bar0 = cfg_rd(dev, 0x10, 4);
    cr_assert_geq(bar0, (uint32_t)PCI_MMIO_WINDOW_BASE, "assigned from the window");
    cr_assert_eq(bar0 & 0xF, 0u, "32-bit memory, not prefetchable");
    cfg_wr(dev, 4, 0, 2);                          /* decode off */
    cfg_wr(dev, 0x10, 0xFFFFFFFFu, 4);
    uint32_t mask = cfg_rd(dev, 0x10, 4);
    cr_assert_eq(mask, ~(0x4000u - 1), "16 KiB BAR");
    cr_assert_eq(io_space_find(&b.mmio, bar0), NULL, "unmapped while decode is off");
    cfg_wr(dev, 0x10, bar0 + 0x100000, 4);         /* move it */
    cfg_wr(dev, 4, 2, 2);
    cr_assert_not_null(io_space_find(&b.mmio, bar0 + 0x100000));
    cr_assert_null(io_space_find(&b.mmio, bar0));
    /* num_queues in the common configuration at BAR0 + 0x12. */
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x100000 + 0x12, 2), 1u);
}

/** Bring up queue 0 of the function in slot 1 through its common config. */
static uint64_t bring_up(uint64_t bar0)
{
    io_space_write(&b.mmio, bar0 + 0x14, 1 | 2, 1);
    io_space_write(&b.mmio, bar0 + 0x08, 1, 4);
    io_space_write(&b.mmio, bar0 + 0x0C, 1, 4);    /* VERSION_1 */
    io_space_write(&b.mmio, bar0 + 0x14, 1 | 2 | 8, 1);
    cr_assert(io_space_read(&b.mmio, bar0 + 0x14, 1) & 8);
    io_space_write(&b.mmio, bar0 + 0x16, 0, 2);
    io_space_write(&b.mmio, bar0 + 0x18, 8, 2);
    io_space_write(&b.mmio, bar0 + 0x20, 0x10000, 4);   /* two-part 64-bit writes */
    io_space_write(&b.mmio, bar0 + 0x24, 0, 4);
    io_space_write(&b.mmio, bar0 + 0x28, 0x11000, 8);
    io_space_write(&b.mmio, bar0 + 0x30, 0x12000, 8);
    io_space_write(&b.mmio, bar0 + 0x1C, 1, 2);
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x1C, 2), 1u, "queue enabled");
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x20, 8), 0x10000u);
    io_space_write(&b.mmio, bar0 + 0x14, 1 | 2 | 8 | 4, 1);
    return bar0;
}

/** Post one 16-byte writable buffer on the rng queue and notify. */
static void kick_rng(uint64_t bar0, uint16_t idx)
{
    uint8_t d[16] = {0};
    d[1] = 0x20;                                    /* addr 0x2000 */
    d[8] = 16;                                      /* len */
    d[12] = 2;                                      /* WRITE */
    gpa_write(&mem, 0x10000, d, 16);
    uint8_t head[2] = {0, 0}, nidx[2] = { (uint8_t)(idx + 1), 0 };
    gpa_write(&mem, 0x11004 + 2 * (idx % 8), head, 2);
    gpa_write(&mem, 0x11002, nidx, 2);
    uint32_t notify_off = (uint32_t)io_space_read(&b.mmio, bar0 + 0x1E, 2);
    io_space_write(&b.mmio, bar0 + 0x3000 + 4 * notify_off, 0, 2);
}

Test(pci, intx_and_isr)
{
    struct virtio_dev *rng = virtio_rng_create(&mem);
    cr_assert_eq(virtio_pci_create(host, 2, rng), 0);
    cr_assert_eq(cfg_rd(2, 0x3D, 1), 1u, "INTA#");
    uint64_t bar0 = bring_up(cfg_rd(2, 0x10, 4) & ~0xFu);
    kick_rng(bar0, 0);
    int line = (2 + 0) & 3;                         /* the _PRT swizzle */
    cr_assert_eq(gsi_level[line], 1, "INTA of slot 2 on line %d", line);
    cr_assert(cfg_rd(2, 6, 2) & 0x08, "status.interrupt");
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x1000, 1), 1u, "ISR: queue interrupt");
    cr_assert_eq(gsi_level[line], 0, "reading ISR deasserts");
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x1000, 1), 0u, "and clears it");
    uint8_t got[16];
    gpa_read(&mem, 0x2000, got, 16);
    uint8_t zero[16] = {0};
    cr_assert_neq(memcmp(got, zero, 16), 0, "entropy written");
}

Test(pci, msix_delivers_to_the_apic)
{
    struct virtio_dev *rng = virtio_rng_create(&mem);
    cr_assert_eq(virtio_pci_create(host, -1, rng), 0);
    int cap = find_cap(1, 0x11, 0);
    cr_assert(cap, "MSI-X capability");
    uint16_t ctl = (uint16_t)cfg_rd(1, cap + 2, 2);
    cr_assert_eq((ctl & 0x7FF) + 1, 2u, "num_queues + 1 vectors");
    uint32_t table = cfg_rd(1, cap + 4, 4);
    int bir = table & 7;
    uint64_t tbase = (cfg_rd(1, 0x10 + 4 * bir, 4) & ~0xFu) + (table & ~7u);
    /* Vector 1: fixed delivery of vector 0x51 to APIC 0, unmasked. */
    io_space_write(&b.mmio, tbase + 16 + 0, 0xFEE00000u, 4);
    io_space_write(&b.mmio, tbase + 16 + 4, 0, 4);
    io_space_write(&b.mmio, tbase + 16 + 8, 0x51, 4);
    io_space_write(&b.mmio, tbase + 16 + 12, 0, 4);
    cfg_wr(1, cap + 2, 0x8000 | 0x4000, 2);        /* enable, function-masked */
    uint64_t bar0 = bring_up(cfg_rd(1, 0x10, 4) & ~0xFu);
    io_space_write(&b.mmio, bar0 + 0x1A, 1, 2);    /* queue 0 -> vector 1 */
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x1A, 2), 1u);
    io_space_write(&b.mmio, bar0 + 0x10, 7, 2);    /* config vector beyond the table */
    cr_assert_eq(io_space_read(&b.mmio, bar0 + 0x10, 2), 0xFFFFu, "refused: NO_VECTOR");
    kick_rng(bar0, 0);
    cr_assert_eq(lapic_reg_read(apic, 0x200 + (0x51 / 32) * 0x10) & (1u << (0x51 % 32)), 0u,
                 "masked: not delivered");
    uint32_t pba = cfg_rd(1, cap + 8, 4);
    uint64_t pbase = (cfg_rd(1, 0x10 + 4 * (pba & 7), 4) & ~0xFu) + (pba & ~7u);
    cr_assert_eq(io_space_read(&b.mmio, pbase, 4) & 2, 2u, "pending bit 1");
    cr_assert_eq(gsi_level[1], 0, "no INTx while MSI-X is enabled");
    cfg_wr(1, cap + 2, 0x8000, 2);                 /* unmask the function */
    cr_assert_neq(lapic_reg_read(apic, 0x200 + (0x51 / 32) * 0x10) & (1u << (0x51 % 32)), 0u,
                  "pending message delivered on unmask");
    cr_assert_eq(io_space_read(&b.mmio, pbase, 4) & 2, 0u, "pending bit cleared");
}

Test(pci, slots_fill_up)
{
    int n = 0;
    for (;;) {
        struct virtio_dev *rng = virtio_rng_create(&mem);
        if (virtio_pci_create(host, -1, rng))
            break;
        n++;
        cr_assert_leq(n, 31);
    }
    cr_assert_eq(n, 31, "slots 1..31");
    cr_assert_eq(virtio_pci_create(host, 3, virtio_rng_create(&mem)), -EBUSY);
}
