/*
 * frontend/frontend.h - the one public header of frontend/: option parsing,
 * chardevs and the main loop (used by frontend/main.c and the tests).
 */
#ifndef QTEMU_FRONTEND_FRONTEND_H
#define QTEMU_FRONTEND_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>

#include "boot/machine.h"
#include "devices/bus.h"

#define QTEMU_VERSION "0.1.0"

/** Everything the command line says (QEMU spellings). */
struct qtemu_options {
    struct machine_config machine;
    const char *serial;          /* chardev spec for COM1 */
    const char *log_items;       /* -d */
    const char *log_path;        /* -D */
    bool no_reboot;
    bool nographic;
    bool debug;                  /* -debug: built-in debugger, guest starts paused */
    const char *debug_symbols;   /* -debug-symbols FILE (ELF symtab or System.map), or NULL */
    const char *monitor;         /* -monitor DEV: "stdio", "none" (default NULL = none) */
    int icount_shift;            /* -1 when -icount is not given */
    const char *gdb;             /* -gdb DEV / -s (tcp::1234), or NULL */
    bool start_paused;           /* -S */
    const char *qmp;             /* -qmp DEV, or NULL */
    const char *memdev_id;       /* -object memory-backend-file,id=ID used as RAM, or NULL */
    bool memdev_share;           /* its share=on (always true when memdev_id is set) */
};

/**
 * Parse argv into @opts. Returns 0 to go on, 1 if --help/--version was
 * handled (exit 0), or -1 after printing one error line naming the bad
 * option (exit 1).
 */
int qtemu_parse_options(int argc, char **argv, struct qtemu_options *opts);

/*
 * -drive and the virtio -device models (frontend/virtio_opts.c): reset the
 * collected drives/devices (start of qtemu_parse_options); parse one -drive
 * (0, or -1 after one error line); parse one -device if it names a virtio
 * model (0, -1 after an error line, 1 = not a virtio model); at the end,
 * match drives to devices and check them against -M, filling
 * opts->machine.devices (0 or -1 after an error line).
 */
void qtemu_virtio_opts_reset(void);
int qtemu_parse_drive(const char *arg);
int qtemu_parse_virtio_device(const char *arg);
int qtemu_virtio_opts_finish(struct qtemu_options *opts);

/**
 * QEMU-style option lists "key=value,key=value" (-device, -drive, -netdev...):
 * the value of @key in @list (malloc'd; the caller frees it), or NULL when
 * @key is absent.
 */
char *qemu_opt_get(const char *list, const char *key);

/**
 * The first key in @list that is not one of the NULL-terminated @keys (its
 * length in *len), or NULL when every key is known.
 */
const char *qemu_opt_unknown(const char *list, const char *const *keys, size_t *len);

/** Parse a size like 512M, 2G, 1048576 (default unit MiB as in QEMU's -m). 0 or -1. */
int qtemu_parse_size(const char *s, uint64_t default_unit, uint64_t *out_bytes);

/** Open the backend for -serial SPEC; NULL with one line in @err on failure. */
struct chardev *frontend_chardev_open(const char *spec, char *err, size_t err_len);
void frontend_chardev_flush(void);
void frontend_term_restore(void);
/**
 * Switch a raw-mode console terminal to line mode (@line: the saved cooked
 * settings, for the debugger prompt) or back to raw mode. No-op when stdin
 * is not a terminal in raw mode.
 */
void frontend_term_line_mode(bool line);

enum frontend_input { FRONTEND_INPUT_NONE, FRONTEND_INPUT_QUIT };
/** fd to poll for console input, or -1. */
int frontend_stdin_fd(void);
/** Read what stdin has and feed the device; FRONTEND_INPUT_QUIT on Ctrl-A x. */
enum frontend_input frontend_stdin_ready(void);
/** True if input is buffered waiting for the device to accept it. */
bool frontend_stdin_pending(void);
/** Offer buffered input to the device again. */
void frontend_stdin_retry(void);

/* ---------------------------------------------------------------- main-loop services */

/**
 * Register @fd with the main loop: when poll() reports any of @events,
 * ready(opaque, revents) runs on the main-loop thread. At most
 * MAINLOOP_MAX_FDS sources. Returns 0 or -ENOSPC. Used by the gdbstub, QMP,
 * monitor sockets and network backends.
 */
#define MAINLOOP_MAX_FDS 64
int mainloop_add_fd(int fd, short events, void (*ready)(void *opaque, short revents), void *opaque);
/** Change the events polled for @fd (e.g. add POLLOUT). 0 or -ENOENT. */
int mainloop_set_fd_events(int fd, short events);
/** Unregister @fd. */
void mainloop_remove_fd(int fd);
/**
 * A callback run before every poll(): it may lower *timeout_ns (slirp's
 * timers) and (re)register fds. At most 8.
 */
int mainloop_add_prepoll(void (*cb)(void *opaque, int64_t *timeout_ns), void *opaque);

/**
 * Pause/resume the vCPUs (debugger stop, gdb, QMP stop, -S). While paused the
 * loop keeps serving fds and virtual time stands still. Both are idempotent.
 */
void mainloop_pause(void);
void mainloop_resume(void);
bool mainloop_paused(void);
/** Make qtemu_main_loop() return @status at its next iteration (QMP quit, gdb kill). */
void mainloop_request_exit(int status);
/**
 * Hook called when a vCPU returns VCPU_EXIT_DEBUG (breakpoint, watchpoint,
 * single-step). The loop pauses first; the hook (gdbstub or debugger)
 * reports the stop and later calls mainloop_resume().
 */
void mainloop_set_debug_hook(void (*hook)(void *opaque, struct vcpu *vcpu), void *opaque);
/** The machine being run (for services that need the vCPUs/RAM), or NULL. */
struct machine *mainloop_machine(void);

/* ---------------------------------------------------------------- gdbstub, QMP */

/**
 * Start the GDB remote-serial-protocol server (frontend/gdbstub.c) on @spec:
 * "tcp::PORT", "tcp:HOST:PORT" or "unix:PATH[,server][,nowait]" (QEMU's -gdb
 * spellings; -s is "tcp::1234"). Listens without blocking; installs the main
 * loop's debug hook. Returns 0, or -1 with one line in @err (bad spec,
 * address in use, ...).
 */
int gdbstub_start(struct machine *m, const char *spec, char *err, size_t err_len);

/**
 * Start a QMP server (frontend/qmp.c) on @spec: "unix:PATH,server[,nowait]"
 * or "tcp:[HOST]:PORT,server[,nowait]" (QEMU's -qmp). @opts names the memory
 * backend for query-memdev. Returns 0, or -1 with one line in @err.
 */
int qmp_start(struct machine *m, const struct qtemu_options *opts, const char *spec, char *err,
              size_t err_len);

/** Why the machine state changed (for QMP events; frontend/mainloop.c emits them). */
enum mainloop_event {
    MAINLOOP_EV_STOP,            /* vCPUs paused */
    MAINLOOP_EV_RESUME,          /* vCPUs resumed */
    MAINLOOP_EV_RESET,           /* machine reset (guest- or host-requested) */
    MAINLOOP_EV_SHUTDOWN,        /* guest powered off / reset with -no-reboot: qtemu exits */
};

/**
 * Register @cb to hear about state changes: @guest is true when the guest
 * caused it (its own power-off/reset), @reason is QEMU's ShutdownCause
 * spelling ("guest-shutdown", "guest-reset", ...) or NULL for STOP/RESUME.
 * At most 4 listeners. 0 or -ENOSPC.
 */
int mainloop_add_event_hook(void (*cb)(void *opaque, enum mainloop_event ev, bool guest,
                                       const char *reason), void *opaque);

/** The current debug hook and its opaque (so a second user can chain to it). */
void mainloop_get_debug_hook(void (**hook)(void *opaque, struct vcpu *vcpu), void **opaque);

/**
 * Run the machine until it powers off, exits through isa-debug-exit, resets
 * with -no-reboot, the user quits, or an internal error. Returns the process
 * exit status (QEMU's conventions).
 */
int qtemu_main_loop(struct machine *m, const struct qtemu_options *opts);

#endif
