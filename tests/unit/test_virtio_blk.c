/*
 * tests/unit/test_virtio_blk.c - virtio-blk (devices/virtio_blk.c) on a
 * temporary raw image, driven through the virtio-mmio transport's registers
 * (devices/virtio_mmio.c) as Linux's virtio_mmio driver does (virtio 1.2
 * 4.2.3.1 initialisation, 4.2.3.2 queue setup, 4.2.3.3 notification).
 *
 * Oracles: the virtio 1.2 spec (4.2.2 register values, 5.2.4 config layout,
 * 5.2.6 request format and status codes) and the host file itself, read
 * and written with pread/pwrite behind the device's back.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/bus.h"
#include "devices/virtio.h"
#include "tests/unit/virtq_harness.h"

#define BASE   0xFEB00000ull
#define QSIZE  16
#define SECTORS 64
#define REQ    (H_DATA)            /* request header */
#define BUF    (H_DATA + 0x1000)   /* data */
#define STATUS (H_DATA + 0x3000)

static struct bus bus;
static struct guest_mem mem;
static struct virtio_dev *blk;
static char path[64];
static int fd;
static int irq_level, irq_rises;
static uint16_t avail;

static void irq_sink(void *o, int line, int level)
{
    if (level && !irq_level)
        irq_rises++;
    irq_level = level;
}

static uint32_t rd(uint64_t off) { return (uint32_t)io_space_read(&bus.mmio, BASE + off, 4); }
static void wr(uint64_t off, uint32_t v) { io_space_write(&bus.mmio, BASE + off, v, 4); }

static void make_device(bool readonly, const char *serial)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 1ull << 20, 0xC0000000ull, NULL), 0);
    bus_init(&bus);
    strcpy(path, "/tmp/qtemu-blk-XXXXXX");
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    uint8_t sec[512];
    for (int s = 0; s < SECTORS; s++) {
        memset(sec, 0x40 + s, sizeof(sec));
        cr_assert_eq(pwrite(fd, sec, 512, s * 512), 512);
    }
    char err[256] = "";
    blk = virtio_blk_create(&mem, path, readonly, serial, err, sizeof(err));
    cr_assert(blk, "%s", err);
    cr_assert_eq(virtio_mmio_create(&bus, BASE, (struct irq_line){ irq_sink, NULL, 0 }, blk), 0);
    irq_level = irq_rises = 0;
    avail = 0;

    /* 4.2.3.1: magic, version, device id, then the status dance. */
    cr_assert_eq(rd(0x000), 0x74726976u);
    cr_assert_eq(rd(0x004), 2u);
    cr_assert_eq(rd(0x008), 2u, "device id 2 = block");
    wr(0x070, 0);
    wr(0x070, 1);
    wr(0x070, 1 | 2);
    wr(0x014, 1);
    cr_assert(rd(0x010) & 1, "VERSION_1 offered");
    wr(0x014, 0);
    uint32_t lo = rd(0x010);
    wr(0x024, 0);
    wr(0x020, lo & ~((1u << 28) | (1u << 29)));          /* no indirect/event idx */
    wr(0x024, 1);
    wr(0x020, 1);
    wr(0x070, 1 | 2 | 8);
    cr_assert(rd(0x070) & 8, "FEATURES_OK kept");
    /* 4.2.3.2 queue 0. */
    wr(0x030, 0);
    cr_assert(rd(0x034) >= QSIZE);
    cr_assert_eq(rd(0x044), 0u);
    wr(0x038, QSIZE);
    wr(0x080, (uint32_t)H_DESC);  wr(0x084, 0);
    wr(0x090, (uint32_t)H_AVAIL); wr(0x094, 0);
    wr(0x0A0, (uint32_t)H_USED);  wr(0x0A4, 0);
    wr(0x044, 1);
    cr_assert_eq(rd(0x044), 1u);
    wr(0x070, 1 | 2 | 8 | 4);
}

static void teardown(void)
{
    close(fd);
    unlink(path);
    bus_destroy(&bus);
    guest_mem_destroy(&mem);
}

/** Submit a request (header + optional data + status) and return the status byte. */
static int submit(uint32_t type, uint64_t sector, uint32_t data_len, bool data_is_write_by_device)
{
    uint8_t hdr[16] = {0};
    for (int k = 0; k < 4; k++)
        hdr[k] = (uint8_t)(type >> (8 * k));
    for (int k = 0; k < 8; k++)
        hdr[8 + k] = (uint8_t)(sector >> (8 * k));
    gpa_write(&mem, REQ, hdr, 16);
    uint8_t st = 0xEE;
    gpa_write(&mem, STATUS, &st, 1);
    unsigned n = 0;
    h_desc(&mem, n, REQ, 16, VIRTQ_DESC_F_NEXT, n + 1); n++;
    if (data_len) {
        h_desc(&mem, n, BUF, data_len, VIRTQ_DESC_F_NEXT | (data_is_write_by_device ? VIRTQ_DESC_F_WRITE : 0), n + 1);
        n++;
    }
    h_desc(&mem, n, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
    h_avail(&mem, QSIZE, avail, 0);
    avail++;
    wr(0x050, 0);                                   /* QueueNotify */
    cr_assert_eq(h_r16(&mem, H_USED + 2), avail, "request completed in the used ring");
    cr_assert(irq_level, "interrupt raised");
    cr_assert_eq(rd(0x060) & 1, 1u, "InterruptStatus: used buffer");
    wr(0x064, 1);
    cr_assert(!irq_level, "InterruptACK lowers the line");
    gpa_read(&mem, STATUS, &st, 1);
    return st;
}

TestSuite(virtio_blk, .fini = teardown);

Test(virtio_blk, config_space)
{
    make_device(false, "SER123");
    uint64_t cap = rd(0x100) | (uint64_t)rd(0x104) << 32;
    cr_assert_eq(cap, SECTORS, "capacity in 512-byte sectors");
    cr_assert_eq(rd(0x100 + 20), 512u, "blk_size");
    wr(0x014, 0);
    cr_assert_eq(rd(0x010) & (1u << 5), 0u, "not RO");
    cr_assert(rd(0x010) & (1u << 9), "FLUSH");
}

Test(virtio_blk, read_and_write_hit_the_file)
{
    make_device(false, NULL);
    cr_assert_eq(submit(0, 3, 1024, true), 0);      /* IN: sectors 3, 4 */
    uint8_t b[1024];
    gpa_read(&mem, BUF, b, 1024);
    cr_assert_eq(b[0], 0x43);
    cr_assert_eq(b[1023], 0x44);
    cr_assert_eq(h_r32(&mem, H_USED + 8), 1025, "used len = data + status");
    memset(b, 0xA5, 512);
    gpa_write(&mem, BUF, b, 512);
    cr_assert_eq(submit(1, 10, 512, false), 0);     /* OUT: sector 10 */
    uint8_t f[512];
    cr_assert_eq(pread(fd, f, 512, 10 * 512), 512);
    cr_assert_eq(memcmp(f, b, 512), 0);
    cr_assert_eq(pread(fd, f, 1, 11 * 512), 1);
    cr_assert_eq(f[0], 0x40 + 11, "neighbour untouched");
    cr_assert_eq(submit(4, 0, 0, false), 0, "FLUSH ok");
}

Test(virtio_blk, out_of_range_is_ioerr)
{
    make_device(false, NULL);
    cr_assert_eq(submit(0, SECTORS - 1, 1024, true), 1, "read past the end");
    cr_assert_eq(submit(1, SECTORS, 512, false), 1, "write past the end");
    cr_assert_eq(submit(0, ~0ull, 512, true), 1, "sector overflow");
    cr_assert_eq(submit(0, 0, 100, true), 1, "not a multiple of 512");
    cr_assert_eq(submit(0, SECTORS - 1, 512, true), 0, "last sector is fine");
    cr_assert_eq(submit(99, 0, 0, false), 2, "unknown type -> UNSUPP");
}

Test(virtio_blk, readonly)
{
    make_device(true, NULL);
    wr(0x014, 0);
    cr_assert(rd(0x010) & (1u << 5), "VIRTIO_BLK_F_RO offered");
    uint8_t z[512] = {0};
    gpa_write(&mem, BUF, z, 512);
    cr_assert_eq(submit(1, 0, 512, false), 1, "write to RO -> IOERR");
    uint8_t f[1];
    cr_assert_eq(pread(fd, f, 1, 0), 1);
    cr_assert_eq(f[0], 0x40, "file unchanged");
    cr_assert_eq(submit(0, 0, 512, true), 0, "reads still work");
}

Test(virtio_blk, get_id)
{
    make_device(false, "qtemu-serial-0001");
    cr_assert_eq(submit(8, 0, 20, true), 0);
    char id[21] = {0};
    gpa_read(&mem, BUF, id, 20);
    cr_assert_str_eq(id, "qtemu-serial-0001");
}

static void put_seg(uint64_t sector, uint32_t num, uint32_t flags)
{
    uint8_t s[16];
    for (int k = 0; k < 8; k++)
        s[k] = (uint8_t)(sector >> (8 * k));
    for (int k = 0; k < 4; k++) {
        s[8 + k] = (uint8_t)(num >> (8 * k));
        s[12 + k] = (uint8_t)(flags >> (8 * k));
    }
    gpa_write(&mem, BUF, s, 16);
}

Test(virtio_blk, write_zeroes_and_discard)
{
    make_device(false, NULL);
    put_seg(5, 2, 0);
    cr_assert_eq(submit(13, 0, 16, false), 0, "WRITE_ZEROES");
    uint8_t f[1536];
    cr_assert_eq(pread(fd, f, sizeof(f), 5 * 512), (ssize_t)sizeof(f));
    for (int i = 0; i < 1024; i++)
        cr_assert_eq(f[i], 0, "byte %d not zero", i);
    cr_assert_eq(f[1024], 0x40 + 7);
    put_seg(20, 8, 0);
    cr_assert_eq(submit(11, 0, 16, false), 0, "DISCARD");
    cr_assert_eq(pread(fd, f, 8, 20 * 512 + 100), 8);
    put_seg(SECTORS - 1, 2, 0);
    cr_assert_eq(submit(13, 0, 16, false), 1, "range past the end");
    put_seg(0, 1, 2);
    cr_assert_eq(submit(13, 0, 16, false), 1, "unknown flag");
}

Test(virtio_blk, missing_status_byte_is_not_fatal)
{
    make_device(false, NULL);
    h_desc(&mem, 0, REQ, 16, 0, 0);                /* header only, nothing writable */
    h_avail(&mem, QSIZE, avail, 0);
    avail++;
    wr(0x050, 0);
    cr_assert_eq(h_r16(&mem, H_USED + 2), 1, "returned");
    cr_assert_eq(h_r32(&mem, H_USED + 8), 0, "nothing written");
    cr_assert_eq(rd(0x070) & 0x40, 0u, "no NEEDS_RESET for a request-level error");
}

Test(virtio_blk, bad_image)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 1ull << 20, 0xC0000000ull, NULL), 0);
    bus_init(&bus);
    strcpy(path, "/tmp/qtemu-blk-XXXXXX");
    fd = mkstemp(path);
    cr_assert_eq(write(fd, "abc", 3), 3);
    char err[256] = "";
    cr_assert_null(virtio_blk_create(&mem, path, false, NULL, err, sizeof(err)));
    cr_assert(strstr(err, "multiple of 512"), "%s", err);
    cr_assert_null(virtio_blk_create(&mem, "/nonexistent/x.img", false, NULL, err, sizeof(err)));
    cr_assert(strstr(err, "could not open"), "%s", err);
}
