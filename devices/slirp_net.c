/*
 * devices/slirp_net.c - -netdev user: glue between a NIC model and libslirp.
 *
 * Follows QEMU's net/slirp.c: the same default network (10.0.2.0/24, host
 * 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15, IPv6 fec0::/64), timers on the
 * virtual clock (SlirpCb.timer_mod takes milliseconds), and the fds slirp
 * wants are polled by the main loop through a poll source: slirp_pollfds_fill
 * before each wait, slirp_pollfds_poll after it.
 *
 * Decided: 127.0.0.1 on the host is reachable as 10.0.2.2 (QEMU's default,
 * restrict=off); frames for the guest are handed to the NIC synchronously and
 * the NIC may drop them (TCP retransmits, as libslirp documents).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slirp/libslirp.h>

#include "devices/slirp_net.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/pollsrc.h"

struct slirp_net {
    Slirp *slirp;
    struct slirp_net_config cfg;
    slirp_net_rx_fn *rx;
    void *rx_opaque;
    struct poll_source src;
    struct poll_set *cur_ps;    /* valid between prepare and dispatch */
};

struct slirp_net_timer {
    struct qtimer t;
    struct slirp_net *n;
    SlirpTimerId id;
    void *cb_opaque;
};

/* ---------------------------------------------------------------- hostfwd */

static int parse_port(const char *s, size_t len, uint16_t *out)
{
    if (len == 0 || len > 5)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static int parse_addr(const char *s, size_t len, uint32_t *out)
{
    char buf[INET_ADDRSTRLEN];
    if (len == 0) {
        *out = 0;
        return 0;
    }
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

int slirp_hostfwd_parse(const char *spec, struct slirp_hostfwd *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    const char *p = spec;
    const char *c1 = strchr(p, ':');
    if (!c1)
        goto bad;
    size_t plen = (size_t)(c1 - p);
    if (plen == 3 && !strncmp(p, "udp", 3))
        out->udp = true;
    else if (!(plen == 0 || (plen == 3 && !strncmp(p, "tcp", 3)))) {
        snprintf(err, err_len, "hostfwd=%s: protocol must be tcp or udp", spec);
        return -1;
    }
    p = c1 + 1;
    const char *c2 = strchr(p, ':');
    const char *dash = strchr(p, '-');
    if (!c2 || !dash || c2 > dash)
        goto bad;
    if (parse_addr(p, (size_t)(c2 - p), &out->host_addr)) {
        snprintf(err, err_len, "hostfwd=%s: bad host address '%.*s'", spec, (int)(c2 - p), p);
        return -1;
    }
    if (parse_port(c2 + 1, (size_t)(dash - c2 - 1), &out->host_port)) {
        snprintf(err, err_len, "hostfwd=%s: bad host port (1..65535)", spec);
        return -1;
    }
    p = dash + 1;
    const char *c3 = strchr(p, ':');
    if (!c3)
        goto bad;
    if (parse_addr(p, (size_t)(c3 - p), &out->guest_addr)) {
        snprintf(err, err_len, "hostfwd=%s: bad guest address '%.*s'", spec, (int)(c3 - p), p);
        return -1;
    }
    if (parse_port(c3 + 1, strlen(c3 + 1), &out->guest_port)) {
        snprintf(err, err_len, "hostfwd=%s: bad guest port (1..65535)", spec);
        return -1;
    }
    return 0;
bad:
    snprintf(err, err_len,
             "hostfwd=%s: expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport", spec);
    return -1;
}

/* ---------------------------------------------------------------- callbacks */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct slirp_net *n = opaque;
    if (n->rx)
        n->rx(n->rx_opaque, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    qlog(LOG_GUEST_ERRORS, "slirp: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return clock_ns();
}

static void timer_fire(void *opaque)
{
    struct slirp_net_timer *t = opaque;
    slirp_handle_timer(t->n->slirp, t->id, t->cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct slirp_net_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->n = opaque;
    t->id = id;
    t->cb_opaque = cb_opaque;
    qtimer_init(&t->t, timer_fire, t);
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct slirp_net_timer *t = timer;
    if (!t)
        return;
    qtimer_del(&t->t);
    free(t);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    struct slirp_net_timer *t = timer;
    if (t)
        qtimer_mod(&t->t, expire_ms * 1000000);
}

static void cb_register_poll_fd(int fd, void *opaque) {}
static void cb_unregister_poll_fd(int fd, void *opaque) {}
static void cb_notify(void *opaque) {}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---------------------------------------------------------------- main loop */

static int add_poll(int fd, int events, void *opaque)
{
    struct slirp_net *n = opaque;
    short ev = 0;
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    return poll_set_add(n->cur_ps, fd, ev);
}

static int get_revents(int idx, void *opaque)
{
    struct slirp_net *n = opaque;
    short rev = poll_set_revents(n->cur_ps, idx);
    int r = 0;
    if (rev & POLLIN)
        r |= SLIRP_POLL_IN;
    if (rev & POLLOUT)
        r |= SLIRP_POLL_OUT;
    if (rev & POLLPRI)
        r |= SLIRP_POLL_PRI;
    if (rev & POLLERR)
        r |= SLIRP_POLL_ERR;
    if (rev & POLLHUP)
        r |= SLIRP_POLL_HUP;
    return r;
}

static void src_prepare(void *opaque, struct poll_set *ps, int64_t *timeout_ns)
{
    struct slirp_net *n = opaque;
    uint32_t ms = UINT32_MAX;
    n->cur_ps = ps;
    slirp_pollfds_fill(n->slirp, &ms, add_poll, n);
    if (ms != UINT32_MAX && (int64_t)ms * 1000000 < *timeout_ns)
        *timeout_ns = (int64_t)ms * 1000000;
}

static void src_dispatch(void *opaque, const struct poll_set *ps, bool poll_error)
{
    struct slirp_net *n = opaque;
    n->cur_ps = (struct poll_set *)ps;
    slirp_pollfds_poll(n->slirp, poll_error, get_revents, n);
    n->cur_ps = NULL;
}

/* ---------------------------------------------------------------- lifecycle */

struct slirp_net *slirp_net_create(const struct slirp_net_config *cfg, char *err, size_t err_len)
{
    struct slirp_net *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, err_len, "-netdev user: out of memory");
        return NULL;
    }
    n->cfg = *cfg;

    SlirpConfig sc = { .version = 4 };
    sc.restricted = cfg->restrict_;
    sc.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
    inet_pton(AF_INET, "10.0.2.15", &sc.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
    sc.in6_enabled = true;
    inet_pton(AF_INET6, "fec0::", &sc.vprefix_addr6);
    sc.vprefix_len = 64;
    inet_pton(AF_INET6, "fec0::2", &sc.vhost6);
    inet_pton(AF_INET6, "fec0::3", &sc.vnameserver6);
    sc.vhostname = "qtemu";

    n->slirp = slirp_new(&sc, &slirp_callbacks, n);
    if (!n->slirp) {
        snprintf(err, err_len, "-netdev user,id=%s: libslirp failed to start", cfg->id);
        free(n);
        return NULL;
    }
    for (int i = 0; i < cfg->nfwd && i < SLIRP_NET_MAX_FWD; i++) {
        const struct slirp_hostfwd *f = &cfg->fwd[i];
        struct in_addr host = { htonl(f->host_addr) };
        struct in_addr guest = { htonl(f->guest_addr ? f->guest_addr : 0x0a00020f) };
        if (slirp_add_hostfwd(n->slirp, f->udp, host, f->host_port, guest, f->guest_port) < 0) {
            snprintf(err, err_len, "-netdev user,id=%s: could not set up hostfwd %s:%u-:%u "
                     "(host port in use?)", cfg->id, f->udp ? "udp" : "tcp", f->host_port,
                     f->guest_port);
            slirp_cleanup(n->slirp);
            free(n);
            return NULL;
        }
    }
    n->src.prepare = src_prepare;
    n->src.dispatch = src_dispatch;
    n->src.opaque = n;
    poll_source_add(&n->src);
    return n;
}

void slirp_net_set_rx(struct slirp_net *n, slirp_net_rx_fn *rx, void *opaque)
{
    n->rx = rx;
    n->rx_opaque = opaque;
}

void slirp_net_send(struct slirp_net *n, const uint8_t *frame, size_t len)
{
    /* 14-byte Ethernet header at least; at most a 64 KiB frame (GSO is not offered). */
    if (len < 14 || len > 65536) {
        qlog(LOG_GUEST_ERRORS, "net: dropping a %zu-byte frame", len);
        return;
    }
    slirp_input(n->slirp, frame, (int)len);
}

void slirp_net_destroy(struct slirp_net *n)
{
    if (!n)
        return;
    poll_source_remove(&n->src);
    slirp_cleanup(n->slirp);
    free(n);
}

/* ---------------------------------------------------------------- -netdev user options */

int slirp_net_parse_opts(const char *opts, struct slirp_net_config *cfg, char *err, size_t err_len)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->id, sizeof(cfg->id), "user");
    for (const char *p = opts ? opts : ""; *p; ) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        char val[256];
        size_t vlen = eq ? n - klen - 1 : 0;
        if (vlen >= sizeof(val)) {
            snprintf(err, err_len, "-netdev user: value of '%.*s' too long", (int)klen, p);
            return -1;
        }
        if (eq)
            memcpy(val, eq + 1, vlen);
        val[vlen] = 0;
        if (klen == 2 && !strncmp(p, "id", 2)) {
            if (vlen >= sizeof(cfg->id)) {
                snprintf(err, err_len, "-netdev user: id '%s' longer than %zu characters", val,
                         sizeof(cfg->id) - 1);
                return -1;
            }
            memcpy(cfg->id, val, vlen + 1);
        } else if (klen == 7 && !strncmp(p, "hostfwd", 7)) {
            if (cfg->nfwd == SLIRP_NET_MAX_FWD) {
                snprintf(err, err_len, "-netdev user: at most %d hostfwd rules", SLIRP_NET_MAX_FWD);
                return -1;
            }
            if (slirp_hostfwd_parse(val, &cfg->fwd[cfg->nfwd], err, err_len))
                return -1;
            cfg->nfwd++;
        } else if (klen == 8 && !strncmp(p, "restrict", 8)) {
            if (!strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true"))
                cfg->restrict_ = true;
            else if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false"))
                cfg->restrict_ = false;
            else {
                snprintf(err, err_len, "-netdev user: restrict=%s is not on or off", val);
                return -1;
            }
        } else if (klen) {
            snprintf(err, err_len, "-netdev user: unknown property '%.*s' (supported: id, "
                     "hostfwd, restrict)", (int)klen, p);
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int netdev_user_check(const char *opts, char *err, size_t err_len)
{
    struct slirp_net_config cfg;
    return slirp_net_parse_opts(opts, &cfg, err, err_len);
}
