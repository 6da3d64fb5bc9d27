/*
 * tests/unit/test_pc_testdev.c - devices/pc_testdev.c against QEMU's
 * hw/misc/pc-testdev.c behaviour: the scratch register at 0xE0 and its
 * byte-implemented twin at 0xE8 are one little-endian 32-bit register;
 * 0x2000 + n drives ISA IRQ n to !!value; 0xFF000000 is a 64 KiB buffer.
 */
#include <criterion/criterion.h>

#include "devices/bus.h"

static int levels[16], changes[16];

static void sink(void *opaque, int line, int level)
{
    levels[line] = level;
    changes[line]++;
}

static void make(struct bus *b)
{
    bus_init(b);
    struct irq_line irq[16];
    for (int i = 0; i < 16; i++) {
        irq[i] = (struct irq_line){ sink, NULL, i };
        levels[i] = changes[i] = 0;
    }
    cr_assert_eq(pc_testdev_create(b, irq), 0);
}

Test(pc_testdev, scratch_register_merges_partial_writes)
{
    struct bus b;
    make(&b);
    io_space_write(&b.pio, 0xe0, 0x12345678, 4);
    cr_assert_eq(io_space_read(&b.pio, 0xe0, 4), 0x12345678);
    io_space_write(&b.pio, 0xe2, 0xbeef, 2);
    cr_assert_eq(io_space_read(&b.pio, 0xe0, 4), 0xbeef5678);
    cr_assert_eq(io_space_read(&b.pio, 0xe1, 1), 0x56);
    io_space_write(&b.pio, 0xe8, 0xcafebabe, 4);   /* same register, byte-wise */
    cr_assert_eq(io_space_read(&b.pio, 0xe0, 4), 0xcafebabe);
    cr_assert_eq(io_space_read(&b.pio, 0xea, 2), 0xcafe);
    io_space_write(&b.pio, 0xe4, 0x1000, 4);       /* flush-page: accepted, no effect */
    cr_assert_eq(io_space_read(&b.pio, 0xe0, 4), 0xcafebabe);
    bus_destroy(&b);
}

Test(pc_testdev, irq_ports_drive_isa_lines)
{
    struct bus b;
    make(&b);
    io_space_write(&b.pio, 0x2005, 1, 1);
    cr_assert_eq(levels[5], 1);
    io_space_write(&b.pio, 0x2005, 0x80, 1);       /* any non-zero value is "high" */
    cr_assert_eq(levels[5], 1);
    io_space_write(&b.pio, 0x2005, 0, 1);
    cr_assert_eq(levels[5], 0);
    io_space_write(&b.pio, 0x200f, 1, 1);
    cr_assert_eq(levels[15], 1);
    io_space_write(&b.pio, 0x2010, 1, 1);          /* 16..23: no ISA line, ignored */
    io_space_write(&b.pio, 0x2017, 1, 1);
    int total = 0;
    for (int i = 0; i < 16; i++)
        total += changes[i];
    cr_assert_eq(total, 4);
    bus_destroy(&b);
}

Test(pc_testdev, iomem_is_a_buffer)
{
    struct bus b;
    make(&b);
    io_space_write(&b.mmio, PC_TESTDEV_IOMEM_BASE + 0x10, 0x1122334455667788ull, 8);
    cr_assert_eq(io_space_read(&b.mmio, PC_TESTDEV_IOMEM_BASE + 0x10, 8), 0x1122334455667788ull);
    cr_assert_eq(io_space_read(&b.mmio, PC_TESTDEV_IOMEM_BASE + 0x13, 1), 0x55);
    io_space_write(&b.mmio, PC_TESTDEV_IOMEM_BASE + 0xfffc, 0xa5a5a5a5, 4);
    cr_assert_eq(io_space_read(&b.mmio, PC_TESTDEV_IOMEM_BASE + 0xfffc, 4), 0xa5a5a5a5);
    cr_assert_eq(io_space_read(&b.mmio, PC_TESTDEV_IOMEM_BASE + 0x10000, 4), 0xffffffff,
                 "beyond the 64 KiB window: unmapped");
    bus_destroy(&b);
}

Test(pc_testdev, clash_is_refused)
{
    struct bus b;
    make(&b);
    struct irq_line irq[16] = {0};
    cr_assert_eq(pc_testdev_create(&b, irq), -1);
    bus_destroy(&b);
}
