/*
 * tests/unit/test_fw_cfg.c - devices/fw_cfg.c against QEMU's
 * docs/specs/fw_cfg.rst: signature and ID, selector/data semantics (offset
 * reset on select, zeros past the end), the big-endian file directory
 * sorted by name, and the DMA interface (big-endian descriptor, select,
 * read, skip, zero fill, write refused, error on non-RAM, control written
 * back). The guest side is built here byte by byte from the spec's struct
 * layouts, not from the device's code.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/bus.h"
#include "mmu/mmu.h"

struct env {
    struct bus bus;
    struct guest_mem mem;
    struct fw_cfg *fw;
};

static void setup(struct env *e)
{
    bus_init(&e->bus);
    memset(&e->mem, 0, sizeof(e->mem));
    e->mem.backing_fd = -1;
    cr_assert_eq(guest_mem_init_pc(&e->mem, 4ull << 20, 0xC0000000ull, NULL), 0);
    e->fw = fw_cfg_create(&e->bus, &e->mem, FW_CFG_IO_BASE, true);
    cr_assert_not_null(e->fw);
}

static void teardown(struct env *e)
{
    guest_mem_destroy(&e->mem);
    bus_destroy(&e->bus);
}

static void sel(struct env *e, uint16_t key) { io_space_write(&e->bus.pio, 0x510, key, 2); }
static uint8_t rd(struct env *e) { return (uint8_t)io_space_read(&e->bus.pio, 0x511, 1); }
static void rdn(struct env *e, void *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = rd(e);
}
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void put_be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

Test(fw_cfg, signature_id_and_reads_past_end)
{
    struct env e;
    setup(&e);
    char sig[5] = {0};
    sel(&e, 0x0000);
    rdn(&e, sig, 4);
    cr_assert_str_eq(sig, "QEMU");
    cr_assert_eq(rd(&e), 0, "past the end reads 0");
    sel(&e, 0x0000);
    cr_assert_eq(rd(&e), 'Q', "selecting resets the offset");
    sel(&e, 0x4000);    /* write-channel bit: same item */
    cr_assert_eq(rd(&e), 'Q');
    uint8_t id[4];
    sel(&e, 0x0001);
    rdn(&e, id, 4);
    cr_assert_eq(id[0], 3, "traditional + DMA");
    sel(&e, 0x1234);
    cr_assert_eq(rd(&e), 0, "unknown key reads 0");
    cr_assert_eq(io_space_read(&e.bus.pio, 0x514, 4), 0x554d4551, "DMA register: \"QEMU\"");
    cr_assert_eq(io_space_read(&e.bus.pio, 0x518, 4), 0x47464320, "... \" CFG\"");
    teardown(&e);
}

Test(fw_cfg, items_little_endian_and_directory_sorted)
{
    struct env e;
    setup(&e);
    uint8_t ram[8] = { 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0 };   /* 128 MiB, LE */
    cr_assert_eq(fw_cfg_add_bytes(e.fw, FW_CFG_RAM_SIZE, ram, 8), 0);
    cr_assert_eq(fw_cfg_add_file(e.fw, "opt/zeta", "zz", 2), 0);
    cr_assert_eq(fw_cfg_add_file(e.fw, "etc/e820", "0123456789012345678901234567890123456789", 40), 0);
    cr_assert_eq(fw_cfg_add_file(e.fw, "bootorder", "", 0), 0);
    cr_assert_eq(fw_cfg_add_file(e.fw, "opt/zeta", "x", 1), -EEXIST);
    cr_assert_eq(fw_cfg_add_bytes(e.fw, 0x20, "x", 1), -EINVAL, "file keys are not raw items");
    uint64_t v = 0;
    sel(&e, FW_CFG_RAM_SIZE);
    rdn(&e, &v, 8);
    cr_assert_eq(v, 128ull << 20);

    uint8_t cnt[4];
    sel(&e, FW_CFG_FILE_DIR);
    rdn(&e, cnt, 4);
    cr_assert_eq(be32(cnt), 3);
    const char *want[] = { "bootorder", "etc/e820", "opt/zeta" };
    uint32_t want_size[] = { 0, 40, 2 };
    for (int i = 0; i < 3; i++) {
        uint8_t ent[64];
        rdn(&e, ent, 64);
        cr_assert_eq(be32(ent), want_size[i]);
        cr_assert_eq(ent[4] << 8 | ent[5], 0x20 + i, "keys follow name order");
        cr_assert_str_eq((char *)ent + 8, want[i]);
    }
    cr_assert_eq(fw_cfg_file_key(e.fw, "opt/zeta"), 0x22);
    sel(&e, 0x22);
    cr_assert_eq(rd(&e), 'z');
    teardown(&e);
}

/* Write a FWCfgDmaAccess at @gpa and start it with two 32-bit big-endian halves. */
static uint32_t dma(struct env *e, uint64_t gpa, uint32_t control, uint32_t length, uint64_t addr)
{
    uint8_t d[16];
    put_be32(d, control);
    put_be32(d + 4, length);
    put_be32(d + 8, (uint32_t)(addr >> 32));
    put_be32(d + 12, (uint32_t)addr);
    cr_assert_eq(gpa_write(&e->mem, gpa, d, 16), 0);
    uint8_t hi[4], lo[4];
    put_be32(hi, (uint32_t)(gpa >> 32));
    put_be32(lo, (uint32_t)gpa);
    /* An outl writes the bytes in memory order: the register is big-endian. */
    io_space_write(&e->bus.pio, 0x514, hi[0] | hi[1] << 8 | hi[2] << 16 | (uint32_t)hi[3] << 24, 4);
    io_space_write(&e->bus.pio, 0x518, lo[0] | lo[1] << 8 | lo[2] << 16 | (uint32_t)lo[3] << 24, 4);
    cr_assert_eq(gpa_read(&e->mem, gpa, d, 4), 0);
    return be32(d);
}

Test(fw_cfg, dma_select_read_skip_zero_fill_and_errors)
{
    struct env e;
    setup(&e);
    cr_assert_eq(fw_cfg_add_file(e.fw, "opt/data", "abcdefgh", 8), 0);
    int key = fw_cfg_file_key(e.fw, "opt/data");
    uint8_t buf[16];
    memset(buf, 0xee, sizeof(buf));
    cr_assert_eq(gpa_write(&e.mem, 0x3000, buf, sizeof(buf)), 0);
    /* select + skip 2, then read 10: "cdefgh" + 4 zeros. */
    cr_assert_eq(dma(&e, 0x1000, (uint32_t)key << 16 | 0x08 | 0x04, 2, 0), 0);
    cr_assert_eq(dma(&e, 0x1000, 0x02, 10, 0x3000), 0, "done: control 0");
    cr_assert_eq(gpa_read(&e.mem, 0x3000, buf, 16), 0);
    cr_assert_eq(memcmp(buf, "cdefgh\0\0\0\0", 10), 0);
    cr_assert_eq(buf[10], 0xee, "nothing beyond length");
    /* A port select resets the offset, whatever DMA did. */
    sel(&e, (uint16_t)key);
    cr_assert_eq(rd(&e), 'a');
    /* Write to a read-only item: error bit. */
    cr_assert_eq(dma(&e, 0x1000, (uint32_t)key << 16 | 0x08 | 0x10, 1, 0x3000), 1);
    /* Read into an address that is not RAM: error bit. */
    cr_assert_eq(dma(&e, 0x1000, (uint32_t)key << 16 | 0x08 | 0x02, 8, 0xF0000000ull), 1);
    /* Descriptor itself not RAM: dropped, nothing crashes. */
    io_space_write(&e.bus.pio, 0x514, 0, 4);
    io_space_write(&e.bus.pio, 0x518, 0x000000F0, 4);   /* be32 0xF0000000 */
    teardown(&e);
}
