/*
 * util/pollsrc.c - poll sources for the main loop (see util/pollsrc.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "util/pollsrc.h"

static struct poll_source *sources;

void poll_set_reset(struct poll_set *ps)
{
    ps->count = 0;
}

void poll_set_free(struct poll_set *ps)
{
    free(ps->fds);
    ps->fds = NULL;
    ps->count = ps->capacity = 0;
}

int poll_set_add(struct poll_set *ps, int fd, short events)
{
    if (fd < 0)
        return -1;
    if (ps->count == ps->capacity) {
        size_t cap = ps->capacity ? ps->capacity * 2 : 16;
        struct pollfd *n = realloc(ps->fds, cap * sizeof(*n));
        if (!n)
            return -1;
        ps->fds = n;
        ps->capacity = cap;
    }
    ps->fds[ps->count] = (struct pollfd){ .fd = fd, .events = events };
    return (int)ps->count++;
}

short poll_set_revents(const struct poll_set *ps, int idx)
{
    if (idx < 0 || (size_t)idx >= ps->count)
        return 0;
    return ps->fds[idx].revents;
}

void poll_source_add(struct poll_source *src)
{
    src->next = sources;
    sources = src;
}

void poll_source_remove(struct poll_source *src)
{
    for (struct poll_source **p = &sources; *p; p = &(*p)->next) {
        if (*p == src) {
            *p = src->next;
            src->next = NULL;
            return;
        }
    }
}

int poll_sources_wait(struct poll_set *ps, int64_t timeout_ns)
{
    for (struct poll_source *s = sources; s; s = s->next)
        if (s->prepare)
            s->prepare(s->opaque, ps, &timeout_ns);
    int timeout_ms;
    if (timeout_ns <= 0)
        timeout_ms = 0;
    else if (timeout_ns >= 1000000000ll)
        timeout_ms = 1000;
    else
        timeout_ms = (int)((timeout_ns + 999999) / 1000000);
    for (size_t i = 0; i < ps->count; i++)
        ps->fds[i].revents = 0;
    int rc = poll(ps->fds, ps->count, timeout_ms);
    bool error = false;
    if (rc < 0) {
        if (errno == EINTR)
            rc = 0;
        else
            error = true;
        for (size_t i = 0; i < ps->count; i++)
            ps->fds[i].revents = 0;
    }
    /* Dispatch may add/remove sources (a backend closing itself): walk safely. */
    struct poll_source *s = sources;
    while (s) {
        struct poll_source *next = s->next;
        if (s->dispatch)
            s->dispatch(s->opaque, ps, error);
        s = next;
    }
    return rc;
}
