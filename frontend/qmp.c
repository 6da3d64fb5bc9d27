/*
 * frontend/qmp.c - a QMP server (QEMU Machine Protocol, QEMU's
 * docs/interop/qmp-spec: greeting, capabilities negotiation, commands,
 * asynchronous events) on a unix or TCP socket, JSON through jansson.
 *
 * Protocol, as QEMU:
 *  - on connect the server sends {"QMP": {"version": ..., "capabilities": []}};
 *  - the client must send qmp_capabilities first: anything else gets
 *    {"error": {"class": "CommandNotFound", ...}} (qmp-spec 2.4 / 4.
 *    "Capabilities negotiation"); events are only sent after it;
 *  - a command is {"execute": NAME, "arguments": {...}, "id": ANY}; the reply
 *    is {"return": ...} or {"error": {"class", "desc"}} with the same "id";
 *  - malformed JSON gets {"error": {"class": "GenericError", ...}} and the
 *    session goes on; an unknown command gets CommandNotFound;
 *  - events {"event", "data", "timestamp": {"seconds", "microseconds"}} (host
 *    wall clock) for STOP, RESUME, RESET, SHUTDOWN (data: "guest", "reason"
 *    with QEMU's ShutdownCause names) and POWERDOWN, in the order they happen.
 *
 * Commands: qmp_capabilities, query-status, query-version, query-commands,
 * stop, cont, system_reset, system_powerdown, quit, query-cpus-fast,
 * query-memdev, memsave (guest-virtual through the vCPU's page tables),
 * pmemsave (guest-physical), human-monitor-command (the shared command
 * engine, frontend/monitor.h).
 *
 * Decided:
 *  - integer literals in [2^63, 2^64) (QMP's uint64 arguments, e.g. a kernel
 *    address for memsave) are accepted although jansson's integers are int64:
 *    they are carried as their two's-complement negative value;
 *  - messages are split by bracket depth (strings and escapes honoured) as
 *    QEMU's JSON streamer does; a message over 1 MiB is an error and the
 *    input is dropped up to the next top-level value;
 *  - one client per server; a second connection is closed at once;
 *  - query-status says "prelaunch" while paused by -S before the first
 *    resume, "paused" when stopped later, "running" otherwise (QEMU's
 *    RunState names; the "debug" state of a gdb stop is reported as "paused");
 *  - system_reset follows -no-reboot like a guest reset (QEMU's reboot
 *    action): with -no-reboot qtemu shuts down with reason
 *    host-qmp-system-reset;
 *  - memsave/pmemsave refuse ranges that are not mapped / not RAM with
 *    GenericError instead of writing a partial file.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/monitor.h"
#include "util/log.h"
#include "util/sockspec.h"

#define QMP_MSG_MAX (1u << 20)

/** A QMP server with at most one client. */
struct qmp {
    struct machine *m;
    const struct qtemu_options *opts;
    int listen_fd, fd;
    bool negotiated;             /* qmp_capabilities done: command mode */
    bool ever_resumed;           /* for "prelaunch" */
    bool host_reset;             /* system_reset pending: RESET/SHUTDOWN not by the guest */
    bool allow_files;            /* memsave/pmemsave may write files (off in the fuzzer) */
    /* input splitter */
    char *in;
    size_t in_len, in_cap;
    size_t scan;                 /* bytes of in[] already scanned */
    int depth;
    bool in_str, esc, skipping;
    size_t msg_start;
    /* output */
    char *out;
    size_t out_len, out_cap;
    void (*sink)(struct qmp *q, const char *buf, size_t len);
};

/* ---------------------------------------------------------------- output */

static void out_append(struct qmp *q, const char *buf, size_t len)
{
    if (q->out_len + len > q->out_cap) {
        size_t cap = q->out_cap ? q->out_cap : 4096;
        while (cap < q->out_len + len)
            cap *= 2;
        char *n = realloc(q->out, cap);
        if (!n)
            return;
        q->out = n;
        q->out_cap = cap;
    }
    memcpy(q->out + q->out_len, buf, len);
    q->out_len += len;
}

static void sock_flush(struct qmp *q)
{
    size_t done = 0;
    while (q->fd >= 0 && done < q->out_len) {
        ssize_t n = write(q->fd, q->out + done, q->out_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    memmove(q->out, q->out + done, q->out_len - done);
    q->out_len -= done;
    if (q->fd >= 0)
        mainloop_set_fd_events(q->fd, POLLIN | (q->out_len ? POLLOUT : 0));
}

/* Before qtemu exits: give the client up to @ms to take what is queued. */
static void sock_flush_wait(struct qmp *q, int ms)
{
    sock_flush(q);
    while (q->fd >= 0 && q->out_len && ms > 0) {
        struct pollfd p = { .fd = q->fd, .events = POLLOUT };
        if (poll(&p, 1, 50) < 0)
            break;
        ms -= 50;
        sock_flush(q);
    }
}

static void sock_sink(struct qmp *q, const char *buf, size_t len)
{
    out_append(q, buf, len);
    sock_flush(q);
}

/* Send @obj (reference stolen) as one line. */
static void send_json(struct qmp *q, json_t *obj)
{
    if (!obj)
        return;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(obj);
    if (!s)
        return;
    q->sink(q, s, strlen(s));
    q->sink(q, "\r\n", 2);
    free(s);
}

static json_t *error_obj(const char *cls, const char *fmt, ...) qt_printf(2, 3);
static json_t *error_obj(const char *cls, const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    return json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);
}

static void send_event(struct qmp *q, const char *name, json_t *data)
{
    if (q->fd < 0 && q->sink == sock_sink) {
        json_decref(data);
        return;
    }
    if (!q->negotiated) {           /* events only in command mode (qmp-spec 4) */
        json_decref(data);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    json_t *ev = json_pack("{s:s,s:{s:I,s:I}}", "event", name, "timestamp", "seconds",
                           (json_int_t)tv.tv_sec, "microseconds", (json_int_t)tv.tv_usec);
    if (ev && data)
        json_object_set_new(ev, "data", data);
    else
        json_decref(data);
    send_json(q, ev);
}

/* ---------------------------------------------------------------- argument helpers */

/* Fetch a required/optional integer argument; false with *err set. */
static bool arg_int(json_t *args, const char *name, bool required, json_int_t *v, json_t **err)
{
    json_t *a = args ? json_object_get(args, name) : NULL;
    if (!a) {
        if (required)
            *err = error_obj("GenericError", "Parameter '%s' is missing", name);
        return !required;
    }
    if (!json_is_integer(a)) {
        *err = error_obj("GenericError", "Invalid parameter type for '%s', expected: integer", name);
        return false;
    }
    *v = json_integer_value(a);
    return true;
}

static bool arg_str(json_t *args, const char *name, const char **v, json_t **err)
{
    json_t *a = args ? json_object_get(args, name) : NULL;
    if (!a) {
        *err = error_obj("GenericError", "Parameter '%s' is missing", name);
        return false;
    }
    if (!json_is_string(a)) {
        *err = error_obj("GenericError", "Invalid parameter type for '%s', expected: string", name);
        return false;
    }
    *v = json_string_value(a);
    return true;
}

/* Reject arguments a command does not take (QEMU: "Parameter 'x' is unexpected"). */
static bool args_only(json_t *args, const char *const *allowed, json_t **err)
{
    const char *key;
    json_t *val;
    json_object_foreach(args, key, val) {
        bool ok = false;
        for (const char *const *k = allowed; k && *k; k++)
            if (!strcmp(key, *k))
                ok = true;
        if (!ok) {
            *err = error_obj("GenericError", "Parameter '%s' is unexpected", key);
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- commands */

static json_t *cmd_query_status(struct qmp *q)
{
    bool running = !mainloop_paused();
    const char *st = running ? "running" : q->ever_resumed ? "paused" : "prelaunch";
    return json_pack("{s:b,s:b,s:s}", "running", running, "singlestep", 0, "status", st);
}

static json_t *cmd_query_version(void)
{
    int major = 0, minor = 0, micro = 0;
    sscanf(QTEMU_VERSION, "%d.%d.%d", &major, &minor, &micro);
    return json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "major", major, "minor", minor, "micro",
                     micro, "package", "qtemu " QTEMU_VERSION);
}

static json_t *cmd_query_cpus_fast(struct qmp *q)
{
    json_t *list = json_array();
    for (int i = 0; q->m && i < q->m->ncpus; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/machine/unattached/device[%d]", i);
        json_array_append_new(list, json_pack("{s:i,s:s,s:I,s:{s:i,s:i,s:i,s:i},s:s}",
            "cpu-index", i, "qom-path", path, "thread-id", (json_int_t)getpid(),
            "props", "node-id", 0, "socket-id", i, "core-id", 0, "thread-id", 0,
            "target", "x86_64"));
    }
    return list;
}

static json_t *cmd_query_memdev(struct qmp *q)
{
    const char *id = q->opts && q->opts->memdev_id ? q->opts->memdev_id : "pc.ram";
    bool share = q->opts && q->opts->memdev_id && q->opts->memdev_share;
    uint64_t size = q->m ? q->m->mem.backing_bytes : 0;
    return json_pack("[{s:s,s:I,s:b,s:b,s:b,s:b,s:[],s:s}]", "id", id, "size", (json_int_t)size,
                     "merge", 0, "dump", 1, "prealloc", 0, "share", share, "host-nodes",
                     "policy", "default");
}

/* memsave / pmemsave: copy [val, val+size) to @filename, 64 KiB at a time. */
static json_t *cmd_memsave(struct qmp *q, json_t *args, bool physical, json_t **err)
{
    static const char *const vkeys[] = { "val", "size", "filename", "cpu-index", NULL };
    static const char *const pkeys[] = { "val", "size", "filename", NULL };
    json_int_t val, size, cpu = 0;
    const char *file;
    if (!args_only(args, physical ? pkeys : vkeys, err) || !arg_int(args, "val", true, &val, err) ||
        !arg_int(args, "size", true, &size, err) || !arg_str(args, "filename", &file, err) ||
        (!physical && !arg_int(args, "cpu-index", false, &cpu, err)))
        return NULL;
    if (!q->m || cpu < 0 || cpu >= q->m->ncpus) {
        *err = error_obj("GenericError", "Parameter 'cpu-index' expects a CPU number");
        return NULL;
    }
    if (size < 0) {       /* sizes of 2^63 and more cannot be meant */
        *err = error_obj("GenericError", "Parameter 'size' expects a non-negative number");
        return NULL;
    }
    if (!q->allow_files) {
        *err = error_obj("GenericError", "writing files is disabled");
        return NULL;
    }
    FILE *f = fopen(file, "wb");
    if (!f) {
        *err = error_obj("GenericError", "Could not open '%s': %s", file, strerror(errno));
        return NULL;
    }
    struct vcpu *v = q->m->cpus[cpu];
    static uint8_t buf[65536];
    uint64_t addr = (uint64_t)val, left = (uint64_t)size;
    while (left) {
        uint64_t n = left < sizeof(buf) ? left : sizeof(buf);
        int rc = physical ? gpa_read(&q->m->mem, addr, buf, n) : v->ops->read_virt(v, addr, buf, n);
        if (rc) {
            fclose(f);
            *err = error_obj("GenericError", "Invalid addr 0x%016llx/size %lld specified",
                             (unsigned long long)val, (long long)size);
            return NULL;
        }
        if (fwrite(buf, 1, n, f) != n) {
            fclose(f);
            *err = error_obj("GenericError", "writing memory to '%s' failed", file);
            return NULL;
        }
        addr += n;
        left -= n;
    }
    if (fclose(f)) {
        *err = error_obj("GenericError", "writing memory to '%s' failed", file);
        return NULL;
    }
    return json_object();
}

static json_t *cmd_hmp(struct qmp *q, json_t *args, json_t **err)
{
    static const char *const keys[] = { "command-line", "cpu-index", NULL };
    const char *line;
    json_int_t cpu = 0;
    if (!args_only(args, keys, err) || !arg_str(args, "command-line", &line, err) ||
        !arg_int(args, "cpu-index", false, &cpu, err))
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&text, &len);
    if (!mf) {
        *err = error_obj("GenericError", "out of memory");
        return NULL;
    }
    monitor_exec(line, mf);   /* errors are part of the text, as in QEMU */
    fclose(mf);
    json_t *r = json_stringn(text ? text : "", len);
    free(text);
    return r;
}

static const char *const command_names[] = {
    "qmp_capabilities", "query-status", "query-version", "query-commands", "stop", "cont",
    "system_reset", "system_powerdown", "quit", "query-cpus-fast", "query-memdev", "memsave",
    "pmemsave", "human-monitor-command", NULL
};

/* Run one command; returns the "return" value, or NULL with *err set. */
static json_t *run_command(struct qmp *q, const char *name, json_t *args, json_t **err,
                           bool *quit_after)
{
    static const char *const none[] = { NULL };
    if (!q->negotiated) {
        if (strcmp(name, "qmp_capabilities")) {
            *err = error_obj("CommandNotFound",
                             "Expecting capabilities negotiation with 'qmp_capabilities'");
            return NULL;
        }
        static const char *const cap_keys[] = { "enable", NULL };
        json_t *en = args ? json_object_get(args, "enable") : NULL;
        if (!args_only(args, cap_keys, err))
            return NULL;
        if (en && (!json_is_array(en) || json_array_size(en))) {
            *err = error_obj("GenericError", "Capability negotiation: no capabilities are offered");
            return NULL;
        }
        q->negotiated = true;
        return json_object();
    }
    bool known = false;
    for (const char *const *c = command_names; *c; c++)
        if (!strcmp(name, *c))
            known = true;
    if (!known) {
        *err = error_obj("CommandNotFound", "The command %s has not been found", name);
        return NULL;
    }
    if (!strcmp(name, "qmp_capabilities")) {
        *err = error_obj("CommandNotFound",
                         "Capabilities negotiation is already complete, command ignored");
        return NULL;
    }
    if (!strcmp(name, "memsave") || !strcmp(name, "pmemsave"))
        return cmd_memsave(q, args, name[0] == 'p', err);
    if (!strcmp(name, "human-monitor-command"))
        return cmd_hmp(q, args, err);
    if (!args_only(args, none, err))
        return NULL;
    if (!strcmp(name, "query-status"))
        return cmd_query_status(q);
    if (!strcmp(name, "query-version"))
        return cmd_query_version();
    if (!strcmp(name, "query-commands")) {
        json_t *l = json_array();
        for (const char *const *c = command_names; *c; c++)
            json_array_append_new(l, json_pack("{s:s}", "name", *c));
        return l;
    }
    if (!strcmp(name, "query-cpus-fast"))
        return cmd_query_cpus_fast(q);
    if (!strcmp(name, "query-memdev"))
        return cmd_query_memdev(q);
    if (!strcmp(name, "stop")) {
        mainloop_pause();
        return json_object();
    }
    if (!strcmp(name, "cont")) {
        mainloop_resume();
        return json_object();
    }
    if (!strcmp(name, "system_reset")) {
        if (q->m) {
            q->host_reset = true;
            bus_request(&q->m->bus, MACHINE_REQ_RESET, 0);
        }
        return json_object();
    }
    if (!strcmp(name, "system_powerdown")) {
        if (!q->m || machine_power_button(q->m)) {
            *err = error_obj("GenericError", "this machine has no ACPI power button");
            return NULL;
        }
        send_event(q, "POWERDOWN", NULL);
        return json_object();
    }
    /* quit */
    *quit_after = true;
    return json_object();
}

/*
 * jansson's integers are int64 (json_int_t); QMP's uint64 arguments (a
 * kernel address for memsave) go up to 2^64 - 1. Rewrite integer literals
 * in [2^63, 2^64) outside strings as their two's-complement negative value,
 * which the commands cast back to uint64. Returns a malloc'ed copy or NULL.
 */
static char *widen_uint64(const char *text, size_t len, size_t *out_len)
{
    char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (in_str) {
            in_str = !(c == '"' && !esc);
            esc = !esc && c == '\\';
            out[o++] = c;
            i++;
            continue;
        }
        if (c == '"') {
            in_str = true;
            esc = false;
            out[o++] = c;
            i++;
            continue;
        }
        bool starts_number = c >= '0' && c <= '9' &&
            (i == 0 || !strchr("-.+eE0123456789", text[i - 1]));
        if (starts_number) {
            size_t j = i;
            while (j < len && text[j] >= '0' && text[j] <= '9')
                j++;
            bool integer = j == len || !strchr(".eE", text[j]);
            if (integer && j - i >= 19 && j - i <= 20) {
                char digits[21];
                memcpy(digits, text + i, j - i);
                digits[j - i] = 0;
                errno = 0;
                unsigned long long v = strtoull(digits, NULL, 10);
                if (!errno && v > (unsigned long long)INT64_MAX) {
                    o += (size_t)sprintf(out + o, "-%llu", (unsigned long long)(-v));
                    i = j;
                    continue;
                }
            }
            memcpy(out + o, text + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        out[o++] = c;
        i++;
    }
    *out_len = o;
    return out;
}

/* Handle one complete JSON text. */
static void handle_message(struct qmp *q, const char *text, size_t len)
{
    json_error_t jerr;
    size_t wlen;
    char *wide = widen_uint64(text, len, &wlen);
    json_t *msg = wide ? json_loadb(wide, wlen, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!wide)
        snprintf(jerr.text, sizeof(jerr.text), "out of memory");
    free(wide);
    if (!msg) {
        send_json(q, error_obj("GenericError", "JSON parse error, %s", jerr.text));
        return;
    }
    json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
    json_t *reply = NULL, *err = NULL;
    bool quit = false;
    json_t *exec = json_is_object(msg) ? json_object_get(msg, "execute") : NULL;
    if (!exec && json_is_object(msg))
        exec = json_object_get(msg, "exec-oob");
    json_t *args = json_is_object(msg) ? json_object_get(msg, "arguments") : NULL;
    if (!json_is_object(msg)) {
        err = error_obj("GenericError", "QMP input must be a JSON object");
    } else if (!exec) {
        err = error_obj("GenericError", "QMP input lacks member 'execute'");
    } else if (!json_is_string(exec)) {
        err = error_obj("GenericError", "QMP input member 'execute' must be a string");
    } else if (args && !json_is_object(args)) {
        err = error_obj("GenericError", "QMP input member 'arguments' must be an object");
    } else {
        const char *key;
        json_t *val;
        json_object_foreach(msg, key, val) {
            if (strcmp(key, "execute") && strcmp(key, "exec-oob") && strcmp(key, "arguments") &&
                strcmp(key, "id") && !err)
                err = error_obj("GenericError", "QMP input member '%s' is unexpected", key);
        }
        if (!err)
            reply = run_command(q, json_string_value(exec), args, &err, &quit);
    }
    json_t *out = err ? err : json_pack("{s:o}", "return", reply ? reply : json_object());
    if (id && out)
        json_object_set(out, "id", id);
    send_json(q, out);
    json_decref(msg);
    if (quit) {
        send_event(q, "SHUTDOWN", json_pack("{s:b,s:s}", "guest", 0, "reason", "host-qmp-quit"));
        if (q->sink == sock_sink)
            sock_flush_wait(q, 1000);
        mainloop_request_exit(0);
    }
}

/**
 * Feed client bytes: split them into top-level JSON values by bracket depth
 * (strings and escapes honoured, as QEMU's JSON streamer) and handle each.
 * Stray non-blank bytes at the top level are reported as a parse error.
 */
static void qmp_feed(struct qmp *q, const char *buf, size_t len)
{
    if (!len)
        return;
    if (q->in_len + len > q->in_cap) {
        size_t cap = q->in_cap ? q->in_cap : 4096;
        while (cap < q->in_len + len)
            cap *= 2;
        char *n = realloc(q->in, cap);
        if (!n)
            return;
        q->in = n;
        q->in_cap = cap;
    }
    memcpy(q->in + q->in_len, buf, len);
    q->in_len += len;

    size_t i = q->scan;
    for (; i < q->in_len; i++) {
        char c = q->in[i];
        if (q->depth == 0 && !q->skipping) {
            if (c == '{' || c == '[') {
                q->msg_start = i;
                q->depth = 1;
                q->in_str = q->esc = false;
            } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                /* a stray token: report once, skip to the next blank or bracket */
                send_json(q, error_obj("GenericError", "JSON parse error, invalid token"));
                q->skipping = true;
            }
            continue;
        }
        if (q->skipping) {
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '{' || c == '[') {
                q->skipping = false;
                if (c == '{' || c == '[')
                    i--;           /* rescan as a message start */
            }
            continue;
        }
        if (q->in_str) {
            if (q->esc)
                q->esc = false;
            else if (c == '\\')
                q->esc = true;
            else if (c == '"')
                q->in_str = false;
        } else if (c == '"') {
            q->in_str = true;
        } else if (c == '{' || c == '[') {
            q->depth++;
        } else if (c == '}' || c == ']') {
            if (--q->depth == 0) {
                handle_message(q, q->in + q->msg_start, i + 1 - q->msg_start);
                if (q->fd < 0 && q->sink == sock_sink)
                    return;    /* connection closed meanwhile */
            }
        }
        if (q->depth > 0 && i + 1 - q->msg_start > QMP_MSG_MAX) {
            send_json(q, error_obj("GenericError", "JSON parse error, message too large"));
            q->depth = 0;
            q->skipping = true;
        }
    }
    /* Drop what is consumed: everything if no message is open. */
    size_t keep_from = q->depth > 0 ? q->msg_start : q->in_len;
    memmove(q->in, q->in + keep_from, q->in_len - keep_from);
    q->in_len -= keep_from;
    q->msg_start = 0;
    q->scan = q->in_len;
}

/* ---------------------------------------------------------------- main-loop glue */

static struct qmp *the_qmp;

static void client_close(struct qmp *q)
{
    if (q->fd < 0)
        return;
    mainloop_remove_fd(q->fd);
    close(q->fd);
    q->fd = -1;
    q->in_len = q->out_len = q->scan = 0;
    q->depth = 0;
    q->in_str = q->esc = q->skipping = false;
    q->negotiated = false;
}

static void client_ready(void *opaque, short revents)
{
    struct qmp *q = opaque;
    if (revents & POLLOUT)
        sock_flush(q);
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t n = read(q->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            client_close(q);
            return;
        }
        qmp_feed(q, buf, (size_t)n);
    }
}

static void send_greeting(struct qmp *q)
{
    send_json(q, json_pack("{s:{s:o,s:[]}}", "QMP", "version", cmd_query_version(),
                           "capabilities"));
}

static void listen_ready(void *opaque, short revents)
{
    struct qmp *q = opaque;
    int fd = sockspec_accept(q->listen_fd);
    if (fd < 0)
        return;
    if (q->fd >= 0 || mainloop_add_fd(fd, POLLIN, client_ready, q)) {
        close(fd);
        return;
    }
    q->fd = fd;
    q->negotiated = false;
    send_greeting(q);
}

/* Main-loop state changes -> events. */
static void event_hook(void *opaque, enum mainloop_event ev, bool guest, const char *reason)
{
    struct qmp *q = opaque;
    switch (ev) {
    case MAINLOOP_EV_STOP:
        send_event(q, "STOP", NULL);
        break;
    case MAINLOOP_EV_RESUME:
        q->ever_resumed = true;
        send_event(q, "RESUME", NULL);
        break;
    case MAINLOOP_EV_RESET:
    case MAINLOOP_EV_SHUTDOWN:
        if (q->host_reset) {
            guest = false;
            reason = "host-qmp-system-reset";
            q->host_reset = false;
        }
        send_event(q, ev == MAINLOOP_EV_RESET ? "RESET" : "SHUTDOWN",
                   json_pack("{s:b,s:s}", "guest", guest, "reason", reason ? reason : "none"));
        if (ev == MAINLOOP_EV_SHUTDOWN && q->sink == sock_sink)
            sock_flush_wait(q, 1000);
        break;
    }
}

int qmp_start(struct machine *m, const struct qtemu_options *opts, const char *spec, char *err,
              size_t err_len)
{
    int lfd = sockspec_listen("-qmp", spec, err, err_len);
    if (lfd < 0)
        return -1;
    struct qmp *q = calloc(1, sizeof(*q));
    if (!q) {
        close(lfd);
        snprintf(err, err_len, "-qmp: out of memory");
        return -1;
    }
    q->m = m;
    q->opts = opts;
    q->listen_fd = lfd;
    q->fd = -1;
    q->allow_files = true;
    q->ever_resumed = !mainloop_paused();
    q->sink = sock_sink;
    if (mainloop_add_fd(lfd, POLLIN, listen_ready, q) || mainloop_add_event_hook(event_hook, q)) {
        mainloop_remove_fd(lfd);
        close(lfd);
        free(q);
        snprintf(err, err_len, "-qmp: too many main-loop fds or listeners");
        return -1;
    }
    the_qmp = q;
    return 0;
}
