/*
 * util/pollsrc.h - host file descriptors and callbacks the main loop waits on.
 *
 * Owns: the list of "poll sources" (a backend such as libslirp, a socket
 * chardev) and the poll set the main loop builds each time it sleeps.
 *
 * A source has two callbacks, modelled on glib's GSource and libslirp's
 * slirp_pollfds_fill/slirp_pollfds_poll pair:
 *  - prepare: add the fds it wants watched to the poll set with
 *    poll_set_add() (remembering the returned indexes) and optionally lower
 *    the timeout (nanoseconds) if it needs to run sooner;
 *  - dispatch: after poll() returns, read each fd's revents through
 *    poll_set_revents() and act on them. @poll_error is true if poll() failed.
 * Every source is prepared and dispatched on every wait, whether or not one
 * of its fds fired (libslirp expects that pairing).
 *
 * Callbacks run on the main-loop thread, never from a vCPU handler, so a
 * source may touch device state (raise IRQs, fill virtqueues) directly.
 */
#ifndef QTEMU_UTIL_POLLSRC_H
#define QTEMU_UTIL_POLLSRC_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The fds of one wait; grows as needed. Zero-initialise before first use. */
struct poll_set {
    struct pollfd *fds;
    size_t count, capacity;
};

/** Empty @ps (keeps its storage). */
void poll_set_reset(struct poll_set *ps);

/** Free @ps's storage. */
void poll_set_free(struct poll_set *ps);

/**
 * Watch @fd for @events (POLLIN, POLLOUT, POLLPRI). Returns the index to pass
 * to poll_set_revents(), or -1 if @fd is negative or memory ran out (the fd is
 * then simply not watched this time).
 */
int poll_set_add(struct poll_set *ps, int fd, short events);

/** revents of entry @idx after the poll; 0 for an invalid index. */
short poll_set_revents(const struct poll_set *ps, int idx);

/** A source of events for the main loop. Embed it in the owner. */
struct poll_source {
    void (*prepare)(void *opaque, struct poll_set *ps, int64_t *timeout_ns);
    void (*dispatch)(void *opaque, const struct poll_set *ps, bool poll_error);
    void *opaque;
    struct poll_source *next;   /* list link, owned by pollsrc.c */
};

/** Register @src (not already registered). */
void poll_source_add(struct poll_source *src);

/** Unregister @src; harmless if it is not registered. */
void poll_source_remove(struct poll_source *src);

/**
 * One wait of the main loop: let every source add fds to @ps (which may
 * already hold the caller's own fds) and lower @timeout_ns, poll() for at
 * most that long (rounded up to whole ms; capped at 1 s; <= 0 means do not
 * block), then dispatch every source. Returns poll()'s result (number of
 * ready fds, 0 on timeout, -1 on error other than EINTR, which counts as 0).
 */
int poll_sources_wait(struct poll_set *ps, int64_t timeout_ns);

#endif
