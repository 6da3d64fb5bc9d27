/*
 * frontend/mainloop.c - the main loop: runs the vCPUs in slices, fires
 * expired timers, polls console input, and acts on machine requests.
 *
 * Decided:
 *  - one host thread runs every vCPU round-robin, QEMU_SLICE_INSNS at a time;
 *  - when every vCPU is halted the loop sleeps in poll() until the next timer
 *    deadline or console input: a halted guest costs no host CPU;
 *  - exit statuses follow QEMU: guest power-off 0; reset with -no-reboot 0;
 *    isa-debug-exit (V << 1) | 1; Ctrl-A x 0; an emulator-internal error 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "frontend/frontend.h"
#include "util/clock.h"
#include "util/log.h"

#define QEMU_SLICE_INSNS 200000

static void kick_all(void *opaque)
{
    struct machine *m = opaque;
    for (int i = 0; i < m->ncpus; i++)
        vcpu_kick(m->cpus[i]);
}

/* Wait for console input or the next timer, at most @max_ns. */
static enum frontend_input wait_events(int64_t max_ns)
{
    struct pollfd pfd = { .fd = frontend_stdin_fd(), .events = POLLIN };
    int timeout_ms;
    if (max_ns <= 0)
        timeout_ms = 0;
    else if (max_ns >= 1000000000ll)
        timeout_ms = 1000;
    else
        timeout_ms = (int)((max_ns + 999999) / 1000000);
    int rc = poll(&pfd, pfd.fd >= 0 ? 1 : 0, timeout_ms);
    if (rc > 0 && (pfd.revents & (POLLIN | POLLHUP)))
        return frontend_stdin_ready();
    return FRONTEND_INPUT_NONE;
}

int qtemu_main_loop(struct machine *m, const struct qtemu_options *opts)
{
    m->bus.kick = kick_all;
    m->bus.kick_opaque = m;
    uint64_t slices = 0;

    for (;;) {
        bool all_halted = true;
        for (int i = 0; i < m->ncpus; i++) {
            struct vcpu *v = m->cpus[i];
            enum vcpu_exit e = vcpu_run(v, QEMU_SLICE_INSNS);
            switch (e) {
            case VCPU_EXIT_HALT:
                break;
            case VCPU_EXIT_SHUTDOWN:
                qlog(LOG_GUEST_ERRORS, "vCPU %d: triple fault", v->index);
                if (log_enabled(LOG_GUEST_ERRORS))
                    v->ops->dump(v, log_file());
                bus_request(&m->bus, MACHINE_REQ_RESET, 0);
                all_halted = false;
                break;
            case VCPU_EXIT_INTERNAL:
                frontend_chardev_flush();
                error_report("vCPU %d: %s", v->index, v->last_error);
                v->ops->dump(v, stderr);
                return 1;
            default:
                all_halted = false;
                break;
            }
        }

        switch (m->bus.request) {
        case MACHINE_REQ_NONE:
            break;
        case MACHINE_REQ_POWEROFF:
            frontend_chardev_flush();
            return 0;
        case MACHINE_REQ_EXIT:
            frontend_chardev_flush();
            return m->bus.exit_status;
        case MACHINE_REQ_RESET: {
            m->bus.request = MACHINE_REQ_NONE;
            if (opts->no_reboot) {
                frontend_chardev_flush();
                return 0;
            }
            char err[256];
            if (machine_reset(m, err, sizeof(err))) {
                frontend_chardev_flush();
                error_report("reset failed: %s", err);
                return 1;
            }
            continue;
        }
        }

        qtimer_run_expired();
        if (frontend_stdin_pending())
            frontend_stdin_retry();

        enum frontend_input in;
        if (all_halted) {
            frontend_chardev_flush();
            int64_t next = qtimer_next_deadline();
            int64_t wait = next == INT64_MAX ? 1000000000ll : next - clock_ns();
            if (frontend_stdin_pending() && wait > 1000000)
                wait = 1000000;
            in = wait_events(wait);
            qtimer_run_expired();
        } else if ((++slices & 7) == 0) {
            frontend_chardev_flush();
            in = wait_events(0);
        } else {
            in = FRONTEND_INPUT_NONE;
        }
        if (in == FRONTEND_INPUT_QUIT)
            return 0;
    }
}
