/*
 * util/log.h - diagnostics: QEMU-style "-d item,item" log channels and "-D file".
 *
 * Owns: the log mask, the log file, and error_report() for one-line user-facing
 * errors. Library code never exits; it logs and returns an error, and the
 * frontend decides what to do (STYLE practice 13).
 *
 * Channel names follow QEMU's -d items: int, cpu_reset, guest_errors, unimp,
 * in_asm, exec, cpu, mmu, pcall? (only those listed in log_items[] exist).
 */
#ifndef QTEMU_UTIL_LOG_H
#define QTEMU_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/compiler.h"

enum log_channel {
    LOG_INT          = 1u << 0,  /* interrupts and exceptions as they are delivered */
    LOG_CPU_RESET    = 1u << 1,  /* vCPU state at reset */
    LOG_GUEST_ERRORS = 1u << 2,  /* guest did something architecturally wrong */
    LOG_UNIMP        = 1u << 3,  /* guest used something qtemu does not implement */
    LOG_IN_ASM       = 1u << 4,  /* each new translation block, disassembled (Capstone) */
    LOG_EXEC         = 1u << 5,  /* each block as it executes */
    LOG_CPU          = 1u << 6,  /* registers before each block */
    LOG_MMU          = 1u << 7,  /* page walks and TLB flushes */
    LOG_IOPORT       = 1u << 8,  /* unhandled port and MMIO accesses */
};

/** Enabled channel bits; read directly in hot paths via log_enabled(). */
extern uint32_t log_mask;

/** True if any of the channel bits in @mask is enabled. */
static inline bool log_enabled(uint32_t mask) { return unlikely(log_mask & mask); }

/**
 * Parse a QEMU-style comma-separated item list ("int,guest_errors") into
 * log_mask. "help" prints the list to stdout. Returns 0, or -1 with
 * *bad_item pointing at the first unknown item inside @items.
 */
int log_parse_items(const char *items, const char **bad_item, size_t *bad_len);

/** Redirect log output to @path (-D). Returns 0 or -errno. */
int log_set_file(const char *path);

/** The stream logs go to (stderr unless -D was given). */
FILE *log_file(void);

/** Write one log line (a newline is added if missing) if @mask is enabled. */
void qlog(uint32_t mask, const char *fmt, ...) qt_printf(2, 3);

/** Print "qtemu: <msg>" as one line on stderr: the user-facing error format. */
void error_report(const char *fmt, ...) qt_printf(1, 2);

#endif
