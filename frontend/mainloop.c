/*
 * frontend/mainloop.c - the main loop: runs the vCPUs in slices, fires
 * expired timers, polls host fds (console input, sockets of the gdbstub /
 * QMP / network backends), and acts on machine requests.
 *
 * Decided:
 *  - one host thread runs every vCPU round-robin, QEMU_SLICE_INSNS at a time;
 *  - when every vCPU is halted (or the machine is paused) the loop sleeps in
 *    poll() until the next timer deadline or an fd event: an idle guest
 *    costs no host CPU;
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
#include "util/pollsrc.h"

#define QEMU_SLICE_INSNS 200000
/* With -icount, timers fire at slice ends: shorter slices, finer virtual time. */
#define ICOUNT_SLICE_INSNS 20000

static struct {
    struct pollfd pfd[MAINLOOP_MAX_FDS];
    struct {
        void (*ready)(void *opaque, short revents);
        void *opaque;
    } src[MAINLOOP_MAX_FDS];
    int nfds;
    struct {
        void (*cb)(void *opaque, int64_t *timeout_ns);
        void *opaque;
    } prepoll[8];
    int nprepoll;
    bool paused;
    bool exit_requested;
    int exit_status;
    void (*debug_hook)(void *opaque, struct vcpu *vcpu);
    void *debug_opaque;
    struct machine *machine;
    struct {
        void (*cb)(void *opaque, enum mainloop_event ev, bool guest, const char *reason);
        void *opaque;
    } ev_hook[4];
    int nev_hooks;
} ml;

/* Tell the event listeners (QMP) about a state change. */
static void emit_event(enum mainloop_event ev, bool guest, const char *reason)
{
    for (int i = 0; i < ml.nev_hooks; i++)
        ml.ev_hook[i].cb(ml.ev_hook[i].opaque, ev, guest, reason);
}

int mainloop_add_event_hook(void (*cb)(void *opaque, enum mainloop_event ev, bool guest,
                                       const char *reason), void *opaque)
{
    if (ml.nev_hooks == (int)ARRAY_SIZE(ml.ev_hook))
        return -ENOSPC;
    ml.ev_hook[ml.nev_hooks].cb = cb;
    ml.ev_hook[ml.nev_hooks].opaque = opaque;
    ml.nev_hooks++;
    return 0;
}

void mainloop_get_debug_hook(void (**hook)(void *opaque, struct vcpu *vcpu), void **opaque)
{
    *hook = ml.debug_hook;
    *opaque = ml.debug_opaque;
}

int mainloop_add_fd(int fd, short events, void (*ready)(void *opaque, short revents), void *opaque)
{
    for (int i = 0; i < ml.nfds; i++) {
        if (ml.pfd[i].fd == fd) {
            ml.pfd[i].events = events;
            ml.src[i].ready = ready;
            ml.src[i].opaque = opaque;
            return 0;
        }
    }
    if (ml.nfds == MAINLOOP_MAX_FDS)
        return -ENOSPC;
    ml.pfd[ml.nfds] = (struct pollfd){ .fd = fd, .events = events };
    ml.src[ml.nfds].ready = ready;
    ml.src[ml.nfds].opaque = opaque;
    ml.nfds++;
    return 0;
}

int mainloop_set_fd_events(int fd, short events)
{
    for (int i = 0; i < ml.nfds; i++) {
        if (ml.pfd[i].fd == fd) {
            ml.pfd[i].events = events;
            return 0;
        }
    }
    return -ENOENT;
}

void mainloop_remove_fd(int fd)
{
    for (int i = 0; i < ml.nfds; i++) {
        if (ml.pfd[i].fd == fd) {
            ml.nfds--;
            ml.pfd[i] = ml.pfd[ml.nfds];
            ml.src[i] = ml.src[ml.nfds];
            return;
        }
    }
}

int mainloop_add_prepoll(void (*cb)(void *opaque, int64_t *timeout_ns), void *opaque)
{
    if (ml.nprepoll == (int)ARRAY_SIZE(ml.prepoll))
        return -ENOSPC;
    ml.prepoll[ml.nprepoll].cb = cb;
    ml.prepoll[ml.nprepoll].opaque = opaque;
    ml.nprepoll++;
    return 0;
}

void mainloop_pause(void)
{
    if (!ml.paused) {
        ml.paused = true;
        clock_set_paused(true);
        if (ml.machine)
            for (int i = 0; i < ml.machine->ncpus; i++)
                vcpu_kick(ml.machine->cpus[i]);
        emit_event(MAINLOOP_EV_STOP, false, NULL);
    }
}

void mainloop_resume(void)
{
    if (ml.paused) {
        ml.paused = false;
        clock_set_paused(false);
        emit_event(MAINLOOP_EV_RESUME, false, NULL);
    }
}

bool mainloop_paused(void)
{
    return ml.paused;
}

void mainloop_request_exit(int status)
{
    ml.exit_requested = true;
    ml.exit_status = status;
    if (ml.machine)
        for (int i = 0; i < ml.machine->ncpus; i++)
            vcpu_kick(ml.machine->cpus[i]);
}

void mainloop_set_debug_hook(void (*hook)(void *opaque, struct vcpu *vcpu), void *opaque)
{
    ml.debug_hook = hook;
    ml.debug_opaque = opaque;
}

struct machine *mainloop_machine(void)
{
    return ml.machine;
}

static void kick_all(void *opaque)
{
    struct machine *m = opaque;
    for (int i = 0; i < m->ncpus; i++)
        vcpu_kick(m->cpus[i]);
}

/*
 * Wait for console input, a registered fd or the next timer, at most @max_ns.
 * Returns FRONTEND_INPUT_QUIT when the user pressed Ctrl-A x.
 */
static enum frontend_input wait_events(int64_t max_ns)
{
    for (int i = 0; i < ml.nprepoll; i++)
        ml.prepoll[i].cb(ml.prepoll[i].opaque, &max_ns);

    struct pollfd pfd[MAINLOOP_MAX_FDS + 1];
    int n = ml.nfds;
    memcpy(pfd, ml.pfd, sizeof(pfd[0]) * (size_t)n);
    int stdin_fd = frontend_stdin_fd();
    if (stdin_fd >= 0)
        pfd[n++] = (struct pollfd){ .fd = stdin_fd, .events = POLLIN };

    /*
     * Device backends (libslirp) register through util/pollsrc.h, which
     * devices/ may call: they add their fds and lower the timeout, poll() runs
     * once for everything (same ms rounding and 1 s cap), and they are
     * dispatched after it even on a timeout (slirp's TCP timers need that).
     */
    static struct poll_set ps;
    poll_set_reset(&ps);
    for (int i = 0; i < n; i++)
        poll_set_add(&ps, pfd[i].fd, pfd[i].events);
    int rc = poll_sources_wait(&ps, max_ns);
    for (int i = 0; i < n; i++)
        pfd[i].revents = poll_set_revents(&ps, i);
    if (rc <= 0)
        return FRONTEND_INPUT_NONE;

    enum frontend_input in = FRONTEND_INPUT_NONE;
    if (stdin_fd >= 0 && (pfd[n - 1].revents & (POLLIN | POLLHUP)))
        in = frontend_stdin_ready();
    /* Sources may add/remove fds from their callbacks: dispatch from the copy. */
    int nsrc = ml.nfds;
    for (int i = 0; i < nsrc && i < n; i++) {
        if (!pfd[i].revents)
            continue;
        for (int j = 0; j < ml.nfds; j++) {
            if (ml.pfd[j].fd == pfd[i].fd) {
                ml.src[j].ready(ml.src[j].opaque, pfd[i].revents);
                break;
            }
        }
    }
    return in;
}

int qtemu_main_loop(struct machine *m, const struct qtemu_options *opts)
{
    m->bus.kick = kick_all;
    m->bus.kick_opaque = m;
    ml.machine = m;
    uint64_t slices = 0;

    for (;;) {
        if (ml.exit_requested) {
            frontend_chardev_flush();
            return ml.exit_status;
        }
        bool all_halted = true;
        for (int i = 0; i < m->ncpus && !ml.paused; i++) {
            struct vcpu *v = m->cpus[i];
            uint64_t before = v->insns_retired;
            enum vcpu_exit e = vcpu_run(v, clock_icount_enabled() ? ICOUNT_SLICE_INSNS
                                                                  : QEMU_SLICE_INSNS);
            if (clock_icount_enabled())
                clock_add_insns(v->insns_retired - before);
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
            case VCPU_EXIT_DEBUG:
                mainloop_pause();
                if (ml.debug_hook)
                    ml.debug_hook(ml.debug_opaque, v);
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
            emit_event(MAINLOOP_EV_SHUTDOWN, true, "guest-shutdown");
            return 0;
        case MACHINE_REQ_EXIT:
            frontend_chardev_flush();
            return m->bus.exit_status;
        case MACHINE_REQ_RESET: {
            m->bus.request = MACHINE_REQ_NONE;
            if (opts->no_reboot) {
                frontend_chardev_flush();
                emit_event(MAINLOOP_EV_SHUTDOWN, true, "guest-reset");
                return 0;
            }
            emit_event(MAINLOOP_EV_RESET, true, "guest-reset");
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
        /* A vCPU that halted earlier in this round may have been woken since
         * by another one (an IPI sets its attention word): no sleep then. */
        for (int i = 0; i < m->ncpus && all_halted; i++)
            if (atomic_load_explicit(&m->cpus[i]->attention, memory_order_relaxed))
                all_halted = false;
        if (all_halted || ml.paused) {
            frontend_chardev_flush();
            int64_t next = ml.paused ? INT64_MAX : qtimer_next_deadline();
            if (clock_icount_enabled() && !ml.paused && next != INT64_MAX) {
                /* Deterministic time: an idle guest jumps to its next timer. */
                clock_icount_warp_to(next);
                next = clock_ns();
            }
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
