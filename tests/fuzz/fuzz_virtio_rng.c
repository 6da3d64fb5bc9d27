/*
 * tests/fuzz/fuzz_virtio_rng.c - libFuzzer target for the virtio entropy
 * device (devices/virtio_rng.c, virtio 1.2 5.4) behind the virtio core:
 * the input is a driver program (tests/fuzz/virtio_fuzz.h) of descriptor
 * chains, notifications, ring pokes and resets on the request queue.
 * Seeds: tests/fuzz/regress/fuzz_virtio_rng (made by tests/fuzz/mkseeds.py).
 *
 * Build and run: `make fuzz` (MODE=fuzz), or after `make MODE=fuzz fuzz-build`
 *   build/fuzz/fuzz/fuzz_virtio_rng -max_total_time=60 tests/fuzz/regress/fuzz_virtio_rng
 */
#include "tests/fuzz/virtio_fuzz.h"

static struct vfuzz_driver drv;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!drv.vdev) {
        vfuzz_ram_init();
        drv.vdev = virtio_rng_create(&vfuzz_mem);
        if (!drv.vdev)
            abort();
    }
    vfuzz_run(&drv, data, size);
    return 0;
}
