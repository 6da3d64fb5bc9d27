/*
 * util/clock.c - the virtual clock and the timer queue (see util/clock.h).
 *
 * Virtual time has three sources, chosen at start-up:
 *  - host (default): CLOCK_MONOTONIC minus the start instant minus the total
 *    time spent paused (QEMU's QEMU_CLOCK_VIRTUAL without -icount);
 *  - icount: retired instructions << shift (deterministic, -icount shift=N);
 *  - manual (tests only): whatever clock_set_manual() last set.
 *
 * The timer queue is a singly-linked list sorted by deadline (ties keep
 * insertion order, so two timers armed for the same instant fire in the order
 * they were armed). Few timers are ever armed at once on a PC (PIT, RTC,
 * LAPIC, HPET comparators), so O(n) insertion is fine.
 *
 * Not thread-safe: the queue and the clock state are touched from the main
 * loop and from device handlers, which the machine runs under one lock.
 */
#include <time.h>

#include "util/clock.h"

enum clock_mode { CLOCK_MODE_HOST, CLOCK_MODE_ICOUNT, CLOCK_MODE_MANUAL };

static enum clock_mode mode = CLOCK_MODE_HOST;
static bool started;
static int64_t host_start_ns;     /* CLOCK_MONOTONIC at first use */
static int64_t paused_total_ns;   /* host time spent paused so far */
static int64_t paused_since_ns;   /* host time the current pause began */
static bool paused;
static int icount_shift;
static uint64_t icount_insns;
static int64_t manual_ns;

static struct qtimer *timer_head;

/* Most callbacks one qtimer_run_expired() call runs. */
#define QTIMER_MAX_RUN 10000

static int64_t host_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void clock_start(void)
{
    if (!started) {
        started = true;
        host_start_ns = host_monotonic_ns();
    }
}

int64_t clock_ns(void)
{
    switch (mode) {
    case CLOCK_MODE_ICOUNT: {
        uint64_t ns = icount_insns << icount_shift;
        return ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ns;
    }
    case CLOCK_MODE_MANUAL:
        return manual_ns;
    case CLOCK_MODE_HOST:
    default:
        clock_start();
        int64_t now = paused ? paused_since_ns : host_monotonic_ns();
        return now - host_start_ns - paused_total_ns;
    }
}

void clock_set_paused(bool pause)
{
    clock_start();
    if (pause == paused)
        return;
    int64_t now = host_monotonic_ns();
    if (pause)
        paused_since_ns = now;
    else
        paused_total_ns += now - paused_since_ns;
    paused = pause;
}

void clock_set_icount(int shift)
{
    if (shift < 0)
        shift = 0;
    if (shift > 30)
        shift = 30;      /* QEMU caps -icount shift at 10; be generous but sane */
    mode = CLOCK_MODE_ICOUNT;
    icount_shift = shift;
}

bool clock_icount_enabled(void)
{
    return mode == CLOCK_MODE_ICOUNT;
}

void clock_add_insns(uint64_t n)
{
    icount_insns += n;
}

void clock_icount_warp_to(int64_t deadline_ns)
{
    if (mode != CLOCK_MODE_ICOUNT || deadline_ns <= clock_ns())
        return;
    /* Round up so that clock_ns() >= deadline_ns afterwards. */
    uint64_t insns = ((uint64_t)deadline_ns + (1ull << icount_shift) - 1) >> icount_shift;
    if (insns > icount_insns)
        icount_insns = insns;
}

void clock_set_manual(int64_t ns)
{
    if (ns < 0) {
        mode = CLOCK_MODE_HOST;
        return;
    }
    mode = CLOCK_MODE_MANUAL;
    manual_ns = ns;
}

/* ---------------------------------------------------------------- timers */

void qtimer_init(struct qtimer *t, void (*cb)(void *), void *opaque)
{
    t->deadline_ns = 0;
    t->cb = cb;
    t->opaque = opaque;
    t->next = NULL;
    t->armed = false;
}

/* Unlink @t from the queue if it is there. */
static void timer_unlink(struct qtimer *t)
{
    for (struct qtimer **pp = &timer_head; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->next = NULL;
    t->armed = false;
}

void qtimer_mod(struct qtimer *t, int64_t deadline_ns)
{
    if (t->armed)
        timer_unlink(t);
    struct qtimer **pp = &timer_head;
    while (*pp && (*pp)->deadline_ns <= deadline_ns)
        pp = &(*pp)->next;
    t->deadline_ns = deadline_ns;
    t->next = *pp;
    *pp = t;
    t->armed = true;
}

void qtimer_del(struct qtimer *t)
{
    if (t->armed)
        timer_unlink(t);
}

int64_t qtimer_next_deadline(void)
{
    return timer_head ? timer_head->deadline_ns : INT64_MAX;
}

/*
 * Pop the head while it is due, then call it: the callback sees its timer
 * disarmed and may re-arm or delete any timer, itself included. The current
 * time is sampled once. A periodic timer that fell behind (re-armed at
 * deadline + period, still <= now) catches up here; a cap bounds the work per
 * call so a guest programming a zero period cannot hang the main loop.
 */
int qtimer_run_expired(void)
{
    int64_t now = clock_ns();
    int ran = 0;
    while (timer_head && timer_head->deadline_ns <= now && ran < QTIMER_MAX_RUN) {
        struct qtimer *t = timer_head;
        timer_head = t->next;
        t->next = NULL;
        t->armed = false;
        ran++;
        if (t->cb)
            t->cb(t->opaque);
    }
    return ran;
}
