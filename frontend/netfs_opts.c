/*
 * frontend/netfs_opts.c - network, 9p and virtio-console options in QEMU's
 * spellings:
 *
 *   -netdev user,id=N[,hostfwd=tcp|udp:[haddr]:hport-[gaddr]:gport]...[,restrict=on|off]
 *   -device virtio-net-pci,netdev=N[,mac=52:54:00:xx:xx:xx]      (-device ...-device on microvm)
 *   -nic user[,hostfwd=...][,mac=M][,model=virtio-net-pci]      (both at once)
 *   -fsdev local,id=F,path=DIR,security_model=none|mapped-xattr[,readonly=on]
 *   -device virtio-9p-pci,fsdev=F,mount_tag=TAG
 *   -virtfs local,path=DIR,mount_tag=TAG,security_model=...[,readonly=on]
 *   -chardev pipe,id=C,path=P    (P.in read, P.out written: QEMU's pipe chardev)
 *   -chardev file,id=C,path=P | -chardev null,id=C
 *   -device virtio-serial-pci [-device virtconsole[,chardev=C]]
 *
 * References are resolved at the end (any order on the command line); every
 * mistake is one line naming it (an unknown property, a missing id, a netdev
 * used twice, a virtconsole without a virtio-serial, a security_model other
 * than none/mapped-xattr).
 *
 * Decided: virtio-serial is the single-port virtio console (see
 * devices/virtio_console.c): at most one virtconsole per virtio-serial,
 * attached to the most recent virtio-serial before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/netfs_opts.h"
#include "util/log.h"

#define MAX_ITEMS 8

static struct netdev_opt { char *id; char *opts; bool used; } netdevs[MAX_ITEMS];
static int nnetdevs;
static struct fsdev_opt { char *id, *path, *sm; bool readonly, used; } fsdevs[MAX_ITEMS];
static int nfsdevs;
static struct dev_opt {
    const char *model;      /* virtio-net, virtio-9p, virtio-serial */
    bool mmio;
    char *ref;              /* netdev= / fsdev= id, or NULL */
    char *props;            /* what the board reads: mac=, mount_tag=, chardev= */
    char *file;             /* resolved: netdev options / 9p path */
    bool readonly;
    bool resolved;
    bool has_console;
} devs[MAX_ITEMS];
static int ndevs;

static bool check_keys(const char *what, const char *arg, const char *list,
                       const char *const *keys)
{
    size_t n;
    const char *bad = qemu_opt_unknown(list, keys, &n);
    if (bad) {
        error_report("%s %s: unknown property '%.*s'", what, arg, (int)n, bad);
        return false;
    }
    return true;
}

static int add_dev(struct dev_opt d)
{
    if (ndevs == MAX_ITEMS) {
        error_report("at most %d network/9p/console devices", MAX_ITEMS);
        return -1;
    }
    devs[ndevs++] = d;
    return 0;
}

static bool is_on(const char *v)
{
    return v && (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

int qtemu_parse_netdev(const char *arg)
{
    if (strncmp(arg, "user", 4) || (arg[4] && arg[4] != ',')) {
        error_report("-netdev %s: only the 'user' backend is supported", arg);
        return -1;
    }
    const char *opts = arg[4] ? arg + 5 : "";
    char *id = qemu_opt_get(opts, "id");
    if (!id || !*id) {
        error_report("-netdev %s: id= is required", arg);
        return -1;
    }
    char err[256];
    if (netdev_user_check(opts, err, sizeof(err))) {
        error_report("%s", err);
        return -1;
    }
    for (int i = 0; i < nnetdevs; i++) {
        if (!strcmp(netdevs[i].id, id)) {
            error_report("-netdev %s: duplicate id '%s'", arg, id);
            return -1;
        }
    }
    if (nnetdevs == MAX_ITEMS) {
        error_report("-netdev %s: at most %d netdevs", arg, MAX_ITEMS);
        return -1;
    }
    netdevs[nnetdevs++] = (struct netdev_opt){ id, strdup(opts), false };
    return 0;
}

int qtemu_parse_nic(const char *arg)
{
    if (strncmp(arg, "user", 4) || (arg[4] && arg[4] != ',')) {
        error_report("-nic %s: only 'user' networking is supported", arg);
        return -1;
    }
    const char *opts = arg[4] ? arg + 5 : "";
    static const char *const keys[] = { "id", "hostfwd", "restrict", "mac", "model", NULL };
    if (!check_keys("-nic", arg, opts, keys))
        return -1;
    char *model = qemu_opt_get(opts, "model");
    if (model && strcmp(model, "virtio-net-pci") && strcmp(model, "virtio")) {
        error_report("-nic %s: model=%s is not supported (virtio-net-pci)", arg, model);
        return -1;
    }
    free(model);
    /* The netdev part: everything but mac= and model=. */
    char *nd = calloc(1, strlen(opts) + 1), *mac = qemu_opt_get(opts, "mac");
    for (const char *p = opts; *p; ) {
        size_t n = strcspn(p, ",");
        if (strncmp(p, "mac=", 4) && strncmp(p, "model=", 6)) {
            if (*nd)
                strcat(nd, ",");
            strncat(nd, p, n);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    char err[256];
    if (netdev_user_check(nd, err, sizeof(err))) {
        error_report("%s", err);
        return -1;
    }
    char props[64] = "";
    if (mac)
        snprintf(props, sizeof(props), "mac=%s", mac);
    free(mac);
    return add_dev((struct dev_opt){ .model = "virtio-net", .props = strdup(props), .file = nd,
                                     .resolved = true });
}

static int parse_fs(const char *what, const char *arg, bool virtfs)
{
    if (strncmp(arg, "local,", 6)) {
        error_report("%s %s: only the 'local' fs driver is supported", what, arg);
        return -1;
    }
    const char *opts = arg + 6;
    static const char *const fkeys[] = { "id", "path", "security_model", "readonly", NULL };
    static const char *const vkeys[] = { "id", "path", "security_model", "readonly", "mount_tag",
                                         NULL };
    if (!check_keys(what, arg, opts, virtfs ? vkeys : fkeys))
        return -1;
    struct fsdev_opt f = { .id = qemu_opt_get(opts, "id"), .path = qemu_opt_get(opts, "path"),
                           .sm = qemu_opt_get(opts, "security_model") };
    char *ro = qemu_opt_get(opts, "readonly");
    f.readonly = is_on(ro);
    free(ro);
    if (!f.path || !*f.path) {
        error_report("%s %s: path= is required", what, arg);
        return -1;
    }
    struct stat st;
    if (stat(f.path, &st) || !S_ISDIR(st.st_mode)) {
        error_report("%s %s: '%s' is not a directory", what, arg, f.path);
        return -1;
    }
    if (!f.sm) {
        error_report("%s %s: security_model= is required (none or mapped-xattr)", what, arg);
        return -1;
    }
    if (strcmp(f.sm, "none") && strcmp(f.sm, "mapped-xattr") && strcmp(f.sm, "mapped")) {
        error_report("%s %s: security_model=%s is not supported (none, mapped-xattr)", what, arg,
                     f.sm);
        return -1;
    }
    if (virtfs) {
        char *tag = qemu_opt_get(opts, "mount_tag");
        if (!tag || !*tag) {
            error_report("%s %s: mount_tag= is required", what, arg);
            return -1;
        }
        char props[160];
        snprintf(props, sizeof(props), "mount_tag=%s,security_model=%s", tag, f.sm);
        free(tag);
        return add_dev((struct dev_opt){ .model = "virtio-9p", .props = strdup(props),
                                         .file = f.path, .readonly = f.readonly,
                                         .resolved = true });
    }
    if (!f.id || !*f.id) {
        error_report("%s %s: id= is required", what, arg);
        return -1;
    }
    for (int i = 0; i < nfsdevs; i++) {
        if (!strcmp(fsdevs[i].id, f.id)) {
            error_report("%s %s: duplicate id '%s'", what, arg, f.id);
            return -1;
        }
    }
    if (nfsdevs == MAX_ITEMS) {
        error_report("%s %s: at most %d fsdevs", what, arg, MAX_ITEMS);
        return -1;
    }
    fsdevs[nfsdevs++] = f;
    return 0;
}

int qtemu_parse_fsdev(const char *arg)
{
    return parse_fs("-fsdev", arg, false);
}

int qtemu_parse_virtfs(const char *arg)
{
    return parse_fs("-virtfs", arg, true);
}

/* ---------------------------------------------------------------- pipe/file chardevs */

/* Longest wait for a full output pipe before output is dropped. */
#define PIPE_STALL_MS 2000

struct pipe_chr {
    struct chardev chr;
    int in_fd, out_fd;
    uint8_t pending[4096];
    size_t npending;
};

static void pipe_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    struct pipe_chr *p = (struct pipe_chr *)chr;
    while (len && p->out_fd >= 0) {
        ssize_t n = write(p->out_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            /* The reader is behind: wait for room, as QEMU's blocking pipe
             * would, but at most PIPE_STALL_MS so a reader that went away
             * cannot hang the machine (the rest is then dropped). */
            struct pollfd pfd = { .fd = p->out_fd, .events = POLLOUT };
            if (poll(&pfd, 1, PIPE_STALL_MS) > 0)
                continue;
        }
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void pipe_push(struct pipe_chr *p)
{
    while (p->npending && p->chr.receive) {
        int room = p->chr.can_receive ? p->chr.can_receive(p->chr.opaque) : (int)p->npending;
        if (room <= 0)
            break;
        size_t n = (size_t)room < p->npending ? (size_t)room : p->npending;
        p->chr.receive(p->chr.opaque, p->pending, n);
        memmove(p->pending, p->pending + n, p->npending - n);
        p->npending -= n;
    }
    mainloop_set_fd_events(p->in_fd, p->npending ? 0 : POLLIN);
}

static void pipe_ready(void *opaque, short revents)
{
    struct pipe_chr *p = opaque;
    if (p->npending < sizeof(p->pending)) {
        ssize_t n = read(p->in_fd, p->pending + p->npending, sizeof(p->pending) - p->npending);
        if (n > 0)
            p->npending += (size_t)n;
    }
    pipe_push(p);
}

static void pipe_prepoll(void *opaque, int64_t *timeout_ns)
{
    struct pipe_chr *p = opaque;
    if (p->npending) {
        pipe_push(p);
        if (p->npending && *timeout_ns > 1000000)
            *timeout_ns = 1000000;     /* retry soon: the guest may add buffers */
    }
}

int qtemu_parse_chardev(const char *arg)
{
    size_t tlen = strcspn(arg, ",");
    const char *opts = arg[tlen] ? arg + tlen + 1 : "";
    static const char *const keys[] = { "id", "path", "mux", "signal", NULL };
    if (!check_keys("-chardev", arg, opts, keys))
        return -1;
    char *id = qemu_opt_get(opts, "id"), *path = qemu_opt_get(opts, "path");
    if (!id || !*id) {
        error_report("-chardev %s: id= is required", arg);
        return -1;
    }
    struct pipe_chr *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    p->in_fd = p->out_fd = -1;
    p->chr.write = pipe_write;
    if (tlen == 4 && !strncmp(arg, "null", 4)) {
        /* nothing to open */
    } else if ((tlen == 4 && !strncmp(arg, "pipe", 4)) || (tlen == 4 && !strncmp(arg, "file", 4))) {
        if (!path || !*path) {
            error_report("-chardev %s: path= is required", arg);
            return -1;
        }
        bool is_pipe = arg[0] == 'p';
        char in[4096], out[4096];
        snprintf(in, sizeof(in), "%s.in", path);
        snprintf(out, sizeof(out), "%s.out", path);
        if (is_pipe) {
            /* O_RDWR on the FIFOs: never EOF on input, never ENXIO on output. */
            p->in_fd = open(in, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            p->out_fd = open(out, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            if (p->in_fd < 0 || p->out_fd < 0) {
                error_report("-chardev %s: cannot open %s and %s: %s", arg, in, out,
                             strerror(errno));
                return -1;
            }
        } else {
            p->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (p->out_fd < 0) {
                error_report("-chardev %s: cannot open '%s': %s", arg, path, strerror(errno));
                return -1;
            }
        }
    } else {
        error_report("-chardev %s: backend '%.*s' is not supported (pipe, file, null)", arg,
                     (int)tlen, arg);
        return -1;
    }
    if (p->in_fd >= 0 && (mainloop_add_fd(p->in_fd, POLLIN, pipe_ready, p) ||
                          mainloop_add_prepoll(pipe_prepoll, p))) {
        error_report("-chardev %s: too many host fds", arg);
        return -1;
    }
    int rc = chardev_register(id, &p->chr);
    if (rc) {
        error_report("-chardev %s: %s", arg, rc == -EEXIST ? "duplicate id" : "cannot register");
        return -1;
    }
    free(path);
    return 0;
}

/* ---------------------------------------------------------------- -device */

int qtemu_parse_netfs_device(const char *arg)
{
    size_t nlen = strcspn(arg, ",");
    const char *props = arg[nlen] ? arg + nlen + 1 : "";
    static const struct {
        const char *name, *model;
        bool mmio;
        const char *const keys[5];
    } table[] = {
        { "virtio-net-pci", "virtio-net", false, { "netdev", "mac", "id", NULL } },
        { "virtio-net-device", "virtio-net", true, { "netdev", "mac", "id", NULL } },
        { "virtio-9p-pci", "virtio-9p", false, { "fsdev", "mount_tag", "id", NULL } },
        { "virtio-9p-device", "virtio-9p", true, { "fsdev", "mount_tag", "id", NULL } },
        { "virtio-serial-pci", "virtio-serial", false, { "id", NULL } },
        { "virtio-serial", "virtio-serial", false, { "id", NULL } },
        { "virtio-serial-device", "virtio-serial", true, { "id", NULL } },
        { "virtconsole", NULL, false, { "chardev", "id", "name", NULL } },
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strlen(table[i].name) != nlen || strncmp(arg, table[i].name, nlen))
            continue;
        if (!check_keys("-device", arg, props, table[i].keys))
            return -1;
        if (!table[i].model) {           /* virtconsole: attach to the last virtio-serial */
            struct dev_opt *s = NULL;
            for (int k = ndevs - 1; k >= 0 && !s; k--)
                if (!strcmp(devs[k].model, "virtio-serial"))
                    s = &devs[k];
            if (!s) {
                error_report("-device %s: needs a -device virtio-serial-pci before it", arg);
                return -1;
            }
            if (s->has_console) {
                error_report("-device %s: one virtconsole per virtio-serial (qtemu's "
                             "virtio-serial is the single-port console)", arg);
                return -1;
            }
            char *chr = qemu_opt_get(props, "chardev");
            if (chr) {
                char buf[128];
                snprintf(buf, sizeof(buf), "chardev=%s", chr);
                free(s->props);
                s->props = strdup(buf);
                free(chr);
            }
            s->has_console = true;
            return 0;
        }
        struct dev_opt d = { .model = table[i].model, .mmio = table[i].mmio };
        if (!strcmp(d.model, "virtio-net")) {
            d.ref = qemu_opt_get(props, "netdev");
            char *mac = qemu_opt_get(props, "mac");
            char buf[64] = "";
            if (mac)
                snprintf(buf, sizeof(buf), "mac=%s", mac);
            free(mac);
            d.props = strdup(buf);
            d.file = NULL;               /* QEMU: a NIC with no netdev sees no network */
            d.resolved = !d.ref;
        } else if (!strcmp(d.model, "virtio-9p")) {
            d.ref = qemu_opt_get(props, "fsdev");
            char *tag = qemu_opt_get(props, "mount_tag");
            if (!d.ref || !tag) {
                error_report("-device %s: fsdev= and mount_tag= are required", arg);
                return -1;
            }
            char buf[160];
            snprintf(buf, sizeof(buf), "mount_tag=%s", tag);
            free(tag);
            d.props = strdup(buf);
        } else {
            d.props = strdup("");
            d.resolved = true;
        }
        return add_dev(d);
    }
    return 1;
}

int qtemu_netfs_opts_finish(struct qtemu_options *o)
{
    struct machine_config *mc = &o->machine;
    for (int i = 0; i < ndevs; i++) {
        struct dev_opt *d = &devs[i];
        if (!d->resolved && !strcmp(d->model, "virtio-net")) {
            struct netdev_opt *n = NULL;
            for (int k = 0; k < nnetdevs; k++)
                if (!strcmp(netdevs[k].id, d->ref))
                    n = &netdevs[k];
            if (!n) {
                error_report("-device virtio-net: netdev '%s' not found (use -netdev user,id=%s)",
                             d->ref, d->ref);
                return -1;
            }
            if (n->used) {
                error_report("-device virtio-net: netdev '%s' is already in use", d->ref);
                return -1;
            }
            n->used = true;
            d->file = n->opts;
        } else if (!d->resolved && !strcmp(d->model, "virtio-9p")) {
            struct fsdev_opt *f = NULL;
            for (int k = 0; k < nfsdevs; k++)
                if (!strcmp(fsdevs[k].id, d->ref))
                    f = &fsdevs[k];
            if (!f) {
                error_report("-device virtio-9p: fsdev '%s' not found (use -fsdev local,id=%s,...)",
                             d->ref, d->ref);
                return -1;
            }
            if (f->used) {
                error_report("-device virtio-9p: fsdev '%s' is already in use", d->ref);
                return -1;
            }
            f->used = true;
            size_t n = strlen(d->props) + strlen(f->sm) + 32;
            char *p = malloc(n);
            snprintf(p, n, "%s,security_model=%s", d->props, f->sm);
            d->props = p;
            d->file = f->path;
            d->readonly = f->readonly;
        }
        if (mc->ndevices == MACHINE_MAX_DEVICES) {
            error_report("at most %d virtio devices", MACHINE_MAX_DEVICES);
            return -1;
        }
        struct machine_device_config *c = &mc->devices[mc->ndevices++];
        *c = (struct machine_device_config){ .model = d->model, .mmio = d->mmio, .file = d->file,
                                             .readonly = d->readonly, .props = d->props };
    }
    return 0;
}
