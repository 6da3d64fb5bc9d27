/*
 * tests/unit/test_clock.c - util/clock.c: virtual time sources and the timer
 * queue. Oracles: util/clock.h's contract (deadline order, callbacks may
 * re-arm or delete timers, icount ns = insns << shift) and the host's
 * CLOCK_MONOTONIC for the default source.
 */
#include <criterion/criterion.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

static int order[16];
static int norder;

struct tst {
    struct qtimer t;
    int id;
    int64_t period;     /* re-arm period, 0 = one shot */
    int remaining;      /* re-arms left */
    struct qtimer *victim;  /* timer to delete from the callback */
};

static void cb(void *opaque)
{
    struct tst *s = opaque;
    if (norder < 16)
        order[norder++] = s->id;
    if (s->victim)
        qtimer_del(s->victim);
    if (s->period && s->remaining-- > 0)
        qtimer_mod(&s->t, s->t.deadline_ns + s->period);
}

static void setup(void) { norder = 0; clock_set_manual(0); }
static void teardown(void) { clock_set_manual(-1); }

TestSuite(clock, .init = setup, .fini = teardown);

Test(clock, runs_in_deadline_order)
{
    struct tst a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
    qtimer_init(&a.t, cb, &a);
    qtimer_init(&b.t, cb, &b);
    qtimer_init(&c.t, cb, &c);
    qtimer_mod(&a.t, 300);
    qtimer_mod(&b.t, 100);
    qtimer_mod(&c.t, 200);
    cr_assert_eq(qtimer_next_deadline(), 100);
    qtimer_mod(&b.t, 400);              /* re-arm moves it, no duplicate */
    cr_assert_eq(qtimer_next_deadline(), 200);
    clock_set_manual(250);
    cr_assert_eq(qtimer_run_expired(), 1);
    cr_assert_eq(order[0], 3);
    clock_set_manual(1000);
    cr_assert_eq(qtimer_run_expired(), 2);
    cr_assert_eq(order[1], 1);
    cr_assert_eq(order[2], 2);
    cr_assert_eq(qtimer_next_deadline(), INT64_MAX);
    cr_assert(!a.t.armed && !b.t.armed && !c.t.armed);
}

Test(clock, callback_rearms_itself)
{
    struct tst p = { .id = 7, .period = 100, .remaining = 3 };
    qtimer_init(&p.t, cb, &p);
    qtimer_mod(&p.t, 100);
    clock_set_manual(150);
    cr_assert_eq(qtimer_run_expired(), 1);
    cr_assert(p.t.armed);
    cr_assert_eq(qtimer_next_deadline(), 200);
    /* Fell behind: catches up on every period <= now, no more. */
    clock_set_manual(450);
    cr_assert_eq(qtimer_run_expired(), 3);
    cr_assert(!p.t.armed);  /* remaining exhausted */
    qtimer_del(&p.t);       /* harmless when not armed */
}

Test(clock, callback_deletes_other_timer)
{
    struct tst b = { .id = 2 };
    struct tst a = { .id = 1, .victim = &b.t };
    qtimer_init(&a.t, cb, &a);
    qtimer_init(&b.t, cb, &b);
    qtimer_mod(&a.t, 10);
    qtimer_mod(&b.t, 20);
    clock_set_manual(100);
    cr_assert_eq(qtimer_run_expired(), 1);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(qtimer_next_deadline(), INT64_MAX);
}

Test(clock, equal_deadlines_fire_in_arm_order)
{
    struct tst a = { .id = 1 }, b = { .id = 2 };
    qtimer_init(&a.t, cb, &a);
    qtimer_init(&b.t, cb, &b);
    qtimer_mod(&a.t, 50);
    qtimer_mod(&b.t, 50);
    clock_set_manual(50);
    cr_assert_eq(qtimer_run_expired(), 2);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 2);
}

static void spin_cb(void *opaque) { qtimer_mod(opaque, clock_ns()); }

Test(clock, zero_period_cannot_hang)
{
    struct qtimer t;
    qtimer_init(&t, spin_cb, &t);
    qtimer_mod(&t, 0);
    int n = qtimer_run_expired();
    cr_assert_gt(n, 0);
    qtimer_del(&t);
}

Test(clock, host_time_tracks_monotonic_and_pauses)
{
    clock_set_manual(-1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t v0 = clock_ns();
    usleep(20000);
    int64_t v1 = clock_ns();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t host = (t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec);
    cr_assert_geq(v1 - v0, 20000000);
    cr_assert_leq(v1 - v0, host);
    clock_set_paused(true);
    int64_t p0 = clock_ns();
    usleep(20000);
    cr_assert_eq(clock_ns(), p0, "time must stand still while paused");
    clock_set_paused(false);
    int64_t p1 = clock_ns();
    cr_assert_lt(p1 - p0, 15000000, "paused time must not be counted");
}

Test(clock, icount_is_insns_shifted)
{
    clock_set_icount(3);
    cr_assert(clock_icount_enabled());
    int64_t base = clock_ns();
    clock_add_insns(1000);
    cr_assert_eq(clock_ns() - base, 1000 << 3);
    clock_set_manual(0);
    cr_assert(!clock_icount_enabled());
}
