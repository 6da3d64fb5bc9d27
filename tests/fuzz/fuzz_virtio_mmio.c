/*
 * tests/fuzz/fuzz_virtio_mmio.c - libFuzzer target for the virtio-mmio
 * transport, version 2 (devices/virtio_mmio.c, virtio 1.2 4.2.2): three
 * windows - virtio-blk on a 64 KiB memfd, virtio-rng, virtio-console on a
 * null chardev - at VFUZZ_MMIO_BASE + n * 0x200, driven only through
 * register accesses with random values:
 *
 *   op % 3 == 0  register write: dev, offset byte, size byte, le32 value
 *                (le64 for 8-byte accesses). Offset byte bit 7 clear:
 *                register (byte & 0x7F) * 4 (0x000..0x1FC); set: device
 *                configuration 0x100 + (byte & 0x7F). Sizes {4, 4, 4, 1, 2, 8}
 *                [size % 6]: mostly the 32-bit accesses 4.2.2.2 requires.
 *            1   register read: dev, offset byte, size byte
 *            2   RAM poke: le32 address, length byte, bytes
 *
 * Each input starts with RAM zeroed and every device reset through Status = 0.
 * Seeds: tests/fuzz/regress/fuzz_virtio_mmio (tests/fuzz/mkseeds.py): the
 * 4.2.3 initialisation sequence and one valid request per device.
 *
 * Build and run: `make fuzz` (MODE=fuzz), or after `make MODE=fuzz fuzz-build`
 *   build/fuzz/fuzz/fuzz_virtio_mmio -max_total_time=60 tests/fuzz/regress/fuzz_virtio_mmio
 */
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/virtio_fuzz.h"

#define NDEV 3
#define VFUZZ_MMIO_BASE 0xD0000000ull

static struct bus bus;
static bool ready;
static int irq_level[NDEV];

static void irq_set_level(void *opaque, int line, int level)
{
    irq_level[line % NDEV] = level;
}

static void null_write(struct chardev *chr, const uint8_t *buf, size_t len) {}
static struct chardev chr = { .write = null_write };

static void setup(void)
{
    vfuzz_ram_init();
    bus_init(&bus);
    int fd = memfd_create("fuzz-disk", 0);
    if (fd < 0 || ftruncate(fd, 64 << 10))
        abort();
    char path[64], err[256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct virtio_dev *dev[NDEV] = {
        virtio_blk_create(&vfuzz_mem, path, false, "fuzz", err, sizeof(err)),
        virtio_rng_create(&vfuzz_mem),
        virtio_console_create(&vfuzz_mem, &chr),
    };
    for (unsigned i = 0; i < NDEV; i++) {
        struct irq_line irq = { irq_set_level, NULL, (int)i };
        if (!dev[i] || virtio_mmio_create(&bus, VFUZZ_MMIO_BASE + 0x200 * i, irq, dev[i]))
            abort();
    }
    ready = true;
}

static const unsigned sizes[] = { 4, 4, 4, 1, 2, 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    memset(vfuzz_ram(), 0, VFUZZ_RAM_BYTES);
    for (unsigned i = 0; i < NDEV; i++) {
        uint64_t b = VFUZZ_MMIO_BASE + 0x200 * i;
        io_space_write(&bus.mmio, b + 0x070, 0, 4);     /* Status = 0: reset */
        io_space_write(&bus.mmio, b + 0x014, 0, 4);     /* DeviceFeaturesSel */
        io_space_write(&bus.mmio, b + 0x024, 0, 4);     /* DriverFeaturesSel */
    }
    struct vfuzz_in in = { data, size };
    while (in.n) {
        unsigned op = vfuzz_u8(&in) % 3;
        if (op == 2) {
            vfuzz_poke(&in);
            continue;
        }
        unsigned dev = vfuzz_u8(&in) % NDEV;
        uint8_t ob = vfuzz_u8(&in);
        uint64_t off = (ob & 0x80) ? 0x100u + (ob & 0x7F) : (ob & 0x7Fu) * 4;
        uint64_t addr = VFUZZ_MMIO_BASE + 0x200 * dev + off;
        unsigned sz = sizes[vfuzz_u8(&in) % 6];
        vfuzz_access(&bus.mmio, &in, addr, sz, op == 0);
    }
    static const uint32_t seed_rings[] = { 0x12000, 0x32000, 0x42000 };     /* used rings of the seeds */
    vfuzz_trace_used(seed_rings, 3);
    return 0;
}
