/*
 * util/clock.h - the one virtual clock (nanoseconds) and the one timer queue.
 *
 * Owns: virtual time and the list of pending timers. Devices arm timers here;
 * the main loop runs expired ones and sleeps until the next deadline when all
 * vCPUs are halted.
 *
 * Decided: by default virtual time follows the host's CLOCK_MONOTONIC (as
 * QEMU's QEMU_CLOCK_VIRTUAL without -icount), offset so that it starts at 0
 * and stops while the VM is paused. With clock_set_icount(shift) it is instead
 * derived from retired instructions: ns = insns << shift, so a run repeats
 * exactly (-icount shift=N).
 */
#ifndef QTEMU_UTIL_CLOCK_H
#define QTEMU_UTIL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/** A timer on the virtual clock. Embed it in the owning device. */
struct qtimer {
    int64_t deadline_ns;          /* absolute virtual time; valid while armed */
    void (*cb)(void *opaque);     /* runs from the main loop, never from a vCPU handler */
    void *opaque;
    struct qtimer *next;          /* queue link, sorted by deadline */
    bool armed;
};

/** Current virtual time in ns since machine start. */
int64_t clock_ns(void);

/** Pause or resume virtual time (debugger stop, -S). */
void clock_set_paused(bool paused);

/** Switch to deterministic time: 1 instruction = 2^shift ns. */
void clock_set_icount(int shift);

/** True when -icount is active. */
bool clock_icount_enabled(void);

/** Account @n retired guest instructions (only matters with -icount). */
void clock_add_insns(uint64_t n);

/**
 * With -icount, when every vCPU is idle, jump virtual time forward to
 * @deadline_ns (the next timer) as QEMU's icount "warp" does, so a halted
 * guest still sees its timers fire. No effect in the other modes or when
 * @deadline_ns is not in the future.
 */
void clock_icount_warp_to(int64_t deadline_ns);

/**
 * Test hook: freeze virtual time at @ns (>= 0); later calls move it. A negative
 * @ns returns to host time. Unit tests use it to make timer devices
 * deterministic; the emulator itself never calls it.
 */
void clock_set_manual(int64_t ns);

/** Initialise a timer; it is not armed. */
void qtimer_init(struct qtimer *t, void (*cb)(void *), void *opaque);

/** Arm (or re-arm) @t to fire at absolute virtual time @deadline_ns. */
void qtimer_mod(struct qtimer *t, int64_t deadline_ns);

/** Disarm @t; harmless if not armed. */
void qtimer_del(struct qtimer *t);

/** Earliest armed deadline, or INT64_MAX if none. */
int64_t qtimer_next_deadline(void);

/** Run every timer whose deadline is <= clock_ns(). Returns how many ran. */
int qtimer_run_expired(void);

#endif
