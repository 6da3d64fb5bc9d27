/*
 * tests/fuzz/fuzz_virtio_net.c - libFuzzer target for virtio-net
 * (devices/virtio_net.c, virtio 1.2 5.1) on the real libslirp backend
 * (devices/slirp_net.c): the input is a driver program
 * (tests/fuzz/virtio_fuzz.h) on receiveq (0) and transmitq (1). Transmitted
 * chains (12-byte virtio_net_hdr + Ethernet frame) go into slirp, whose
 * synchronous answers (ARP, ICMP echo of 10.0.2.2, DHCP, NDP) come back
 * through the receive queue. The DEVICE op advances virtual time by a le16
 * number of milliseconds and runs the expired timers (slirp's TCP and
 * router-advertisement timers).
 *
 * No packet leaves the machine: the backend runs with restrict=on (libslirp
 * drops everything not for its own virtual hosts and opens no outbound
 * socket), and before anything runs the process moves into a new user and
 * network namespace (unshare(2)) where no interface is up, so even a slirp
 * bug could not reach the host's network; if the kernel refuses the
 * namespace the target says so once and relies on restrict=on.
 * Seeds: tests/fuzz/regress/fuzz_virtio_net (tests/fuzz/mkseeds.py).
 *
 * Build and run: `make fuzz` (MODE=fuzz), or after `make MODE=fuzz fuzz-build`
 *   build/fuzz/fuzz/fuzz_virtio_net -max_total_time=60 tests/fuzz/regress/fuzz_virtio_net
 */
#include <sched.h>

#include "tests/fuzz/virtio_fuzz.h"
#include "util/clock.h"

static struct vfuzz_driver drv;
static int64_t now_ns;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Before libFuzzer starts its threads: unshare(CLONE_NEWUSER) needs a single thread. */
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
        fprintf(stderr, "fuzz_virtio_net: no private network namespace (%m); "
                "relying on slirp restrict=on\n");
    return 0;
}

static void advance_time(struct vfuzz_driver *d, struct vfuzz_in *in)
{
    now_ns += (int64_t)vfuzz_u16(in) * 1000000;
    clock_set_manual(now_ns);
    qtimer_run_expired();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!drv.vdev) {
        char err[256];
        vfuzz_ram_init();
        clock_set_manual(0);
        drv.vdev = virtio_net_create(&vfuzz_mem, NULL, "id=fuzz,restrict=on", err, sizeof(err));
        if (!drv.vdev) {
            fprintf(stderr, "%s\n", err);
            abort();
        }
        drv.dev_op = advance_time;
    }
    vfuzz_run(&drv, data, size);
    return 0;
}
