/*
 * tests/fuzz/fuzz_virtqueue.c - libFuzzer target for the virtio core's split
 * virtqueue (devices/virtio.c) behind the virtio-blk backend
 * (devices/virtio_blk.c).
 *
 * Input: a 16-byte control block, then bytes copied into guest RAM from
 * 0x10000 (descriptor table, rings and buffers all come from the fuzzer):
 *   [0]     negotiated features: bit 0 INDIRECT_DESC, bit 1 EVENT_IDX
 *   [1]     log2 of the Queue Size (mod 9: 1..256)
 *   [2]     number of notifications to deliver (mod 8, at least 1)
 *   [3]     bit 0: take desc/avail/used addresses from [4..15] (else fixed)
 *   [4..15] 3 x le32 ring addresses
 * The disk is a 64 KiB memfd. Whatever the input, the device must not
 * touch memory outside guest RAM or crash: ASan/UBSan report it.
 *
 * Build and run: `make fuzz` (MODE=fuzz, every tests/fuzz/fuzz_*.c), or
 *   build/fuzz/fuzz/fuzz_virtqueue -max_total_time=60 (after make MODE=fuzz fuzz-build).
 * Shares its guest RAM and helpers with the per-device targets
 * (tests/fuzz/virtio_fuzz.h) but keeps its own raw input format, so its
 * corpora stay valid.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "tests/fuzz/virtio_fuzz.h"

#define RAM_BYTES  VFUZZ_RAM_BYTES
#define RING_BASE  0x10000u
#define DISK_BYTES (64u << 10)

static struct virtio_dev *blk;

static void setup(void)
{
    vfuzz_ram_init();
    int fd = memfd_create("fuzz-disk", 0);
    if (fd < 0 || ftruncate(fd, DISK_BYTES))
        abort();
    char path[64], err[256];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    blk = virtio_blk_create(&vfuzz_mem, path, false, "fuzz", err, sizeof(err));
    if (!blk) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!blk)
        setup();
    if (size < 16)
        return 0;
    uint8_t *ram = vfuzz_ram() + RING_BASE;
    size_t n = size - 16;
    if (n > RAM_BYTES - RING_BASE)
        n = RAM_BYTES - RING_BASE;
    memset(ram, 0, 0x30000);
    memcpy(ram, data + 16, n);

    virtio_set_status(blk, 0);
    virtio_set_status(blk, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << 9);   /* + FLUSH */
    if (data[0] & 1)
        f |= 1ull << VIRTIO_F_RING_INDIRECT_DESC;
    if (data[0] & 2)
        f |= 1ull << VIRTIO_F_RING_EVENT_IDX;
    virtio_write_guest_features(blk, 0, (uint32_t)f);
    virtio_write_guest_features(blk, 1, (uint32_t)(f >> 32));
    virtio_set_status(blk, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);

    struct virtqueue *vq = &blk->vq[0];
    vq->size = (uint16_t)(1u << (data[1] % 9));
    if (vq->size > vq->max_size)
        vq->size = vq->max_size;
    if (data[3] & 1) {
        vq->desc_gpa = vfuzz_le32(data + 4);
        vq->avail_gpa = vfuzz_le32(data + 8);
        vq->used_gpa = vfuzz_le32(data + 12);
    } else {
        vq->desc_gpa = RING_BASE;
        vq->avail_gpa = RING_BASE + 0x1000 * 4;
        vq->used_gpa = RING_BASE + 0x1000 * 5;
    }
    if (!virtqueue_check_layout(blk, 0))
        return 0;
    vq->ready = true;
    virtio_set_status(blk, blk->status | VIRTIO_STATUS_DRIVER_OK);
    int kicks = (data[2] & 7) + 1;
    for (int i = 0; i < kicks; i++)
        blk->ops->queue_notify(blk, 0);
    return 0;
}
