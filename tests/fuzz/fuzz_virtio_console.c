/*
 * tests/fuzz/fuzz_virtio_console.c - libFuzzer target for the single-port
 * virtio console (devices/virtio_console.c, virtio 1.2 5.3) on a null
 * chardev that discards output: the input is a driver program
 * (tests/fuzz/virtio_fuzz.h) on receiveq (0) and transmitq (1); its DEVICE
 * op is host input arriving on the chardev: a length byte and that many
 * bytes, offered as the main loop does (can_receive, then receive).
 * Seeds: tests/fuzz/regress/fuzz_virtio_console (tests/fuzz/mkseeds.py).
 *
 * Build and run: `make fuzz` (MODE=fuzz), or after `make MODE=fuzz fuzz-build`
 *   build/fuzz/fuzz/fuzz_virtio_console -max_total_time=60 tests/fuzz/regress/fuzz_virtio_console
 */
#include "tests/fuzz/virtio_fuzz.h"

static struct vfuzz_driver drv;
static size_t written;          /* bytes the device sent to the host */

static void null_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    written += len;
}

static struct chardev chr = { .write = null_write };

/* Host input: as frontend/mainloop.c does, offer no more than can_receive() says. */
static void host_input(struct vfuzz_driver *d, struct vfuzz_in *in)
{
    size_t n = vfuzz_u8(in);
    if (n > in->n)
        n = in->n;
    int room = chr.can_receive ? chr.can_receive(chr.opaque) : 0;
    if (room > 0 && chr.receive)
        chr.receive(chr.opaque, in->p, n < (size_t)room ? n : (size_t)room);
    in->p += n;
    in->n -= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!drv.vdev) {
        vfuzz_ram_init();
        drv.vdev = virtio_console_create(&vfuzz_mem, &chr);
        if (!drv.vdev)
            abort();
        drv.dev_op = host_input;
    }
    vfuzz_run(&drv, data, size);
    return 0;
}
