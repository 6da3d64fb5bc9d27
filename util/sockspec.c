/*
 * util/sockspec.c - listening sockets from QEMU-style specs (see sockspec.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sockspec.h"

static const char *const known_opts[] = { "server", "server=on", "nowait", "wait=off", "wait=on",
                                          "wait", "server=off", "ipv4", "ipv4=on", NULL };

/* Check the ",opt" list after the address; false with a message if unknown. */
static int check_opts(const char *what, const char *opts, char *err, size_t err_len)
{
    while (opts && *opts) {
        size_t n = strcspn(opts, ",");
        int ok = 0;
        for (const char *const *k = known_opts; *k; k++)
            if (strlen(*k) == n && !strncmp(opts, *k, n))
                ok = 1;
        if (n == strlen("server=off") && !strncmp(opts, "server=off", n)) {
            snprintf(err, err_len, "%s: client mode (server=off) is not supported", what);
            return -1;
        }
        if (!ok) {
            snprintf(err, err_len, "%s: unknown socket option '%.*s'", what, (int)n, opts);
            return -1;
        }
        opts += n;
        if (*opts == ',')
            opts++;
    }
    return 0;
}

static int listen_unix(const char *what, const char *path, size_t len, char *err, size_t err_len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (len == 0 || len >= sizeof(sa.sun_path)) {
        snprintf(err, err_len, "%s: unix socket path empty or longer than %zu bytes", what,
                 sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "%s: socket: %s", what, strerror(errno));
        return -1;
    }
    unlink(sa.sun_path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        snprintf(err, err_len, "%s: cannot listen on %s: %s", what, sa.sun_path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int listen_tcp(const char *what, const char *addr, size_t len, char *err, size_t err_len)
{
    const char *colon = memrchr(addr, ':', len);
    if (!colon) {
        snprintf(err, err_len, "%s: expected tcp:[HOST]:PORT", what);
        return -1;
    }
    char host[256], port[16];
    size_t hlen = (size_t)(colon - addr), plen = len - hlen - 1;
    if (hlen >= sizeof(host) || plen == 0 || plen >= sizeof(port)) {
        snprintf(err, err_len, "%s: bad host or port", what);
        return -1;
    }
    memcpy(host, addr, hlen);
    host[hlen] = 0;
    memcpy(port, colon + 1, plen);
    port[plen] = 0;
    char *end;
    long pn = strtol(port, &end, 10);
    if (*end || pn < 0 || pn > 65535) {
        snprintf(err, err_len, "%s: bad port '%s'", what, port);
        return -1;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res;
    int rc = getaddrinfo(hlen ? host : "127.0.0.1", port, &hints, &res);
    if (rc) {
        snprintf(err, err_len, "%s: %s: %s", what, host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, err_len, "%s: cannot listen on %s:%s: %s", what, hlen ? host : "127.0.0.1",
                 port, strerror(e));
    return fd;
}

int sockspec_listen(const char *what, const char *spec, char *err, size_t err_len)
{
    const char *addr;
    int is_unix;
    if (!strncmp(spec, "tcp:", 4)) {
        addr = spec + 4;
        is_unix = 0;
    } else if (!strncmp(spec, "unix:", 5)) {
        addr = spec + 5;
        is_unix = 1;
    } else {
        snprintf(err, err_len, "%s %s: expected tcp:[HOST]:PORT or unix:PATH", what, spec);
        return -1;
    }
    size_t len = strcspn(addr, ",");
    const char *opts = addr[len] == ',' ? addr + len + 1 : NULL;
    if (check_opts(what, opts, err, err_len))
        return -1;
    return is_unix ? listen_unix(what, addr, len, err, err_len)
                   : listen_tcp(what, addr, len, err, err_len);
}

int sockspec_accept(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* fails harmlessly on unix */
    }
    return fd;
}
