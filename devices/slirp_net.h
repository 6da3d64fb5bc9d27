/*
 * devices/slirp_net.h - user-mode networking backend (-netdev user) on
 * libslirp. Private to devices/ and the frontend's option parser.
 *
 * The guest network is QEMU's default: 10.0.2.0/24, gateway/host 10.0.2.2,
 * DNS 10.0.2.3, DHCP handing out 10.0.2.15 onwards. Frames are Ethernet II
 * without the virtio-net header. Port forwards follow QEMU's
 * "hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport".
 */
#ifndef QTEMU_DEVICES_SLIRP_NET_H
#define QTEMU_DEVICES_SLIRP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLIRP_NET_MAX_FWD 16

/** One host-to-guest port forward. Addresses in host byte order; 0 = default. */
struct slirp_hostfwd {
    bool udp;
    uint32_t host_addr;     /* 0: INADDR_ANY */
    uint16_t host_port;
    uint32_t guest_addr;    /* 0: the first DHCP address, 10.0.2.15 */
    uint16_t guest_port;
};

/** Options of one -netdev user. */
struct slirp_net_config {
    char id[32];
    bool restrict_;         /* restrict=on: the guest cannot reach the outside */
    int nfwd;
    struct slirp_hostfwd fwd[SLIRP_NET_MAX_FWD];
};

/**
 * Parse the value of one hostfwd= option into @out. Returns 0, or -1 with one
 * line in @err saying what is malformed (protocol, address, port 1..65535).
 */
int slirp_hostfwd_parse(const char *spec, struct slirp_hostfwd *out, char *err, size_t err_len);

/**
 * Parse a -netdev user option list without the leading "user" (e.g.
 * "id=n0,hostfwd=tcp::2222-:22,restrict=off") into @cfg. Unknown keys and
 * malformed rules fail with one line in @err. Returns 0 or -1.
 */
int slirp_net_parse_opts(const char *opts, struct slirp_net_config *cfg, char *err, size_t err_len);

/** Called with each frame slirp sends to the guest (from the main loop). */
typedef void slirp_net_rx_fn(void *opaque, const uint8_t *frame, size_t len);

struct slirp_net;

/**
 * Start a slirp stack for @cfg, register its fds and timers with the main
 * loop (util/pollsrc.h, util/clock.h) and set up the port forwards. Frames
 * for the guest go to @rx (may be NULL until slirp_net_set_rx). Returns NULL
 * with one line in @err on failure (e.g. "hostfwd tcp::2222: could not bind").
 */
struct slirp_net *slirp_net_create(const struct slirp_net_config *cfg, char *err, size_t err_len);

/** Set the receiver of frames for the guest (the NIC). */
void slirp_net_set_rx(struct slirp_net *n, slirp_net_rx_fn *rx, void *opaque);

/** Hand one Ethernet frame from the guest to slirp. Oversized or empty frames are dropped. */
void slirp_net_send(struct slirp_net *n, const uint8_t *frame, size_t len);

/** Stop the stack, close its sockets, unregister from the main loop. NULL is fine. */
void slirp_net_destroy(struct slirp_net *n);

#endif
