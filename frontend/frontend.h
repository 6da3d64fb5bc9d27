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
    int icount_shift;            /* -1 when -icount is not given */
};

/**
 * Parse argv into @opts. Returns 0 to go on, 1 if --help/--version was
 * handled (exit 0), or -1 after printing one error line naming the bad
 * option (exit 1).
 */
int qtemu_parse_options(int argc, char **argv, struct qtemu_options *opts);

/** Parse a size like 512M, 2G, 1048576 (default unit MiB as in QEMU's -m). 0 or -1. */
int qtemu_parse_size(const char *s, uint64_t default_unit, uint64_t *out_bytes);

/** Open the backend for -serial SPEC; NULL with one line in @err on failure. */
struct chardev *frontend_chardev_open(const char *spec, char *err, size_t err_len);
void frontend_chardev_flush(void);
void frontend_term_restore(void);

enum frontend_input { FRONTEND_INPUT_NONE, FRONTEND_INPUT_QUIT };
/** fd to poll for console input, or -1. */
int frontend_stdin_fd(void);
/** Read what stdin has and feed the device; FRONTEND_INPUT_QUIT on Ctrl-A x. */
enum frontend_input frontend_stdin_ready(void);
/** True if input is buffered waiting for the device to accept it. */
bool frontend_stdin_pending(void);
/** Offer buffered input to the device again. */
void frontend_stdin_retry(void);

/**
 * Run the machine until it powers off, exits through isa-debug-exit, resets
 * with -no-reboot, the user quits, or an internal error. Returns the process
 * exit status (QEMU's conventions).
 */
int qtemu_main_loop(struct machine *m, const struct qtemu_options *opts);

#endif
