/*
 * tests/fuzz/fuzz_virtio_pci.c - libFuzzer target for the virtio-pci
 * transport (devices/virtio_pci.c, virtio 1.2 4.1) and the PCI host bridge
 * under it (devices/pci.c: configuration mechanism #1, BAR moves, MSI-X per
 * PCI Local Bus 3.0 6.8.2): three functions - virtio-blk on a 64 KiB memfd
 * (slot 1), virtio-rng (slot 2), virtio-console on a null chardev (slot 3) -
 * driven only through guest-visible accesses with random values:
 *
 *   op % 5 == 0  config write: dev, reg, size (1/2/4), le32 value (dev mod 3)
 *                (0xCF8 address then 0xCFC + (reg & 3), as a driver does)
 *            1   config read:  dev, reg, size
 *            2   BAR write: dev, region byte, size (1/2/4/8), le64 value.
 *                region bit 7 clear: BAR0 at {common, ISR, device, notify}
 *                [region & 3] * 0x1000 + offset byte; set: BAR1 (MSI-X
 *                table/PBA) at le16 offset % 0x1000. The BAR address is
 *                read from config space, so BAR moves by the input count.
 *            3   BAR read: same operands without the value
 *            4   RAM poke: le32 address, length byte, bytes (rings and
 *                buffers for the notifications to find)
 *
 * Each input starts from the power-on state as far as the guest can see
 * it: RAM zeroed, every function's config space written back to its
 * initial values, MSI-X vectors masked, device status 0 (reset).
 * Seeds: tests/fuzz/regress/fuzz_virtio_pci (tests/fuzz/mkseeds.py): a
 * Linux-like bring-up with MSI-X and one valid request per device.
 *
 * Build and run: `make fuzz` (MODE=fuzz), or after `make MODE=fuzz fuzz-build`
 *   build/fuzz/fuzz/fuzz_virtio_pci -max_total_time=60 tests/fuzz/regress/fuzz_virtio_pci
 */
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/virtio_fuzz.h"

#define NDEV 3

static struct bus bus;
static struct pci_host *host;
static uint8_t initial_cfg[NDEV][256];
static int intx_level[4];

static void intx_set(void *opaque, int line, int level)
{
    intx_level[line & 3] = level;
}

static void null_write(struct chardev *chr, const uint8_t *buf, size_t len) {}
static struct chardev chr = { .write = null_write };

static void cfg_addr(unsigned dev, unsigned reg)
{
    io_space_write(&bus.pio, 0xCF8, 0x80000000u | (dev + 1) << 11 | (reg & 0xFC), 4);
}

static uint32_t cfg_read(unsigned dev, unsigned reg, unsigned size)
{
    cfg_addr(dev, reg);
    return (uint32_t)io_space_read(&bus.pio, 0xCFC + (reg & 3), size);
}

static void cfg_write(unsigned dev, unsigned reg, uint32_t v, unsigned size)
{
    cfg_addr(dev, reg);
    io_space_write(&bus.pio, 0xCFC + (reg & 3), v, size);
}

/* Memory BAR @bar's address as the guest programmed it (32-bit BARs only here). */
static uint64_t bar_addr(unsigned dev, unsigned bar)
{
    return cfg_read(dev, 0x10 + 4 * bar, 4) & ~0xFull;
}

static void setup(void)
{
    vfuzz_ram_init();
    bus_init(&bus);
    struct irq_line intx[4];
    for (int i = 0; i < 4; i++)
        intx[i] = (struct irq_line){ intx_set, NULL, i };
    host = pci_host_create(&bus, intx);
    int fd = memfd_create("fuzz-disk", 0);
    if (!host || fd < 0 || ftruncate(fd, 64 << 10))
        abort();
    char path[64], err[256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct virtio_dev *dev[NDEV] = {
        virtio_blk_create(&vfuzz_mem, path, false, "fuzz", err, sizeof(err)),
        virtio_rng_create(&vfuzz_mem),
        virtio_console_create(&vfuzz_mem, &chr),
    };
    for (unsigned i = 0; i < NDEV; i++)
        if (!dev[i] || virtio_pci_create(host, (int)i + 1, dev[i]))
            abort();
    for (unsigned i = 0; i < NDEV; i++)
        for (unsigned r = 0; r < 256; r += 4)
            vfuzz_put32(initial_cfg[i] + r, cfg_read(i, r, 4));
}

/* Back to what the guest saw at power-on. */
static void restore(void)
{
    memset(vfuzz_ram(), 0, VFUZZ_RAM_BYTES);
    for (unsigned i = 0; i < NDEV; i++)
        cfg_write(i, 0x04, 0, 2);                    /* decoding off while BARs move */
    for (unsigned i = 0; i < NDEV; i++) {
        for (unsigned r = 0x08; r < 256; r += 4)
            cfg_write(i, r, vfuzz_le32(initial_cfg[i] + r), 4);
        cfg_write(i, 0x04, vfuzz_le16(initial_cfg[i] + 4), 2);
        uint64_t msix = bar_addr(i, 1);
        for (unsigned v = 0; v < 4; v++)
            for (unsigned k = 0; k < 4; k++)
                io_space_write(&bus.mmio, msix + 16 * v + 4 * k, k == 3, 4);
        uint64_t b0 = bar_addr(i, 0);
        io_space_write(&bus.mmio, b0 + 0x14, 0, 1);      /* device_status = 0: reset */
        io_space_write(&bus.mmio, b0 + 0x00, 0, 4);      /* device_feature_select */
        io_space_write(&bus.mmio, b0 + 0x08, 0, 4);      /* driver_feature_select */
        io_space_read(&bus.mmio, b0 + 0x1000, 1);        /* ISR: read clears */
    }
}

static const unsigned sizes[] = { 1, 2, 4, 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!host)
        setup();
    restore();
    struct vfuzz_in in = { data, size };
    while (in.n) {
        unsigned op = vfuzz_u8(&in) % 5;
        unsigned dev = op < 4 ? vfuzz_u8(&in) % NDEV : 0;
        if (op <= 1) {
            unsigned reg = vfuzz_u8(&in);
            unsigned sz = sizes[vfuzz_u8(&in) % 3];
            if (op == 0)
                cfg_write(dev, reg, vfuzz_u32(&in), sz);
            else
                cfg_read(dev, reg, sz);
        } else if (op <= 3) {
            uint8_t region = vfuzz_u8(&in);
            uint64_t addr;
            if (region & 0x80)
                addr = bar_addr(dev, 1) + vfuzz_u16(&in) % 0x1000;
            else
                addr = bar_addr(dev, 0) + (region & 3) * 0x1000u + vfuzz_u8(&in);
            unsigned sz = sizes[vfuzz_u8(&in) % 4];
            vfuzz_access(&bus.mmio, &in, addr, sz, op == 2);
        } else {
            vfuzz_poke(&in);
        }
    }
    static const uint32_t seed_rings[] = { 0x12000, 0x32000, 0x42000 };     /* used rings of the seeds */
    vfuzz_trace_used(seed_rings, 3);
    return 0;
}
