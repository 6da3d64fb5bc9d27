/*
 * frontend/chardev.c - character backends for -serial: stdio, file:PATH, none.
 *
 * stdio: when stdin is a terminal it is put in raw mode (like QEMU's
 * -nographic) and restored on every exit path (atexit, fatal signals). The
 * escape character is Ctrl-A as in QEMU: Ctrl-A x quits, Ctrl-A h prints
 * help, Ctrl-A Ctrl-A sends a Ctrl-A to the guest. Output is buffered and
 * flushed by the main loop after each vCPU slice.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/monitor.h"
#include "util/log.h"

static struct termios saved_tio;
static bool tio_saved;
static int saved_stdin_flags = -1;   /* file status flags before we set O_NONBLOCK */

/* Put the terminal and stdin's file status flags back as we found them: the
 * flags are shared with the parent shell, which must not inherit O_NONBLOCK. */
static void term_restore(void)
{
    if (tio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        tio_saved = false;
    }
    if (saved_stdin_flags >= 0) {
        fcntl(STDIN_FILENO, F_SETFL, saved_stdin_flags);
        saved_stdin_flags = -1;
    }
}

static void term_signal(int sig)
{
    term_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

void frontend_term_restore(void)
{
    term_restore();
}

/* Raw-mode settings applied by term_raw(), for frontend_term_line_mode(). */
static struct termios raw_tio;

void frontend_term_line_mode(bool line)
{
    if (tio_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, line ? &saved_tio : &raw_tio);
}

static void term_raw(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return;
    struct termios tio = saved_tio;
    /* Like QEMU's qemu_chr_set_echo_stdio(false): raw input, keep output processing. */
    tio.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    tio.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    tio.c_cflag &= ~(CSIZE | PARENB);
    tio.c_cflag |= CS8;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    raw_tio = tio;
    tio_saved = true;
    atexit(term_restore);
    signal(SIGTERM, term_signal);
    signal(SIGHUP, term_signal);
    signal(SIGQUIT, term_signal);
    signal(SIGSEGV, term_signal);
    signal(SIGABRT, term_signal);
    signal(SIGBUS, term_signal);
    tcsetattr(STDIN_FILENO, TCSANOW, &tio);
}

/* ---------------------------------------------------------------- output */

static void chr_stdio_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    fwrite(buf, 1, len, stdout);
}

static FILE *file_out;

static void chr_file_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
    if (file_out)
        fwrite(buf, 1, len, file_out);
}

static void chr_null_write(struct chardev *chr, const uint8_t *buf, size_t len)
{
}

void frontend_chardev_flush(void)
{
    fflush(stdout);
    if (file_out)
        fflush(file_out);
}

/* ---------------------------------------------------------------- input */

static struct {
    struct chardev *chr;      /* the backend stdin feeds, or NULL */
    bool escape;              /* previous byte was Ctrl-A */
    uint8_t pending[4096];    /* bytes the device could not take yet */
    size_t npending;
    bool eof;
} in;

static void push_to_device(void)
{
    struct chardev *c = in.chr;
    while (in.npending && c && c->receive) {
        int room = c->can_receive ? c->can_receive(c->opaque) : (int)in.npending;
        if (room <= 0)
            break;
        size_t n = MIN((size_t)room, in.npending);
        c->receive(c->opaque, in.pending, n);
        memmove(in.pending, in.pending + n, in.npending - n);
        in.npending -= n;
    }
}

static void queue_byte(uint8_t b)
{
    if (in.npending < sizeof(in.pending))
        in.pending[in.npending++] = b;
}

int frontend_stdin_fd(void)
{
    return (in.chr && !in.eof) ? STDIN_FILENO : -1;
}

bool frontend_stdin_pending(void)
{
    return in.npending != 0;
}

enum frontend_input frontend_stdin_ready(void)
{
    uint8_t buf[256];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n == 0) {
        in.eof = true;
        return FRONTEND_INPUT_NONE;
    }
    if (n < 0)
        return FRONTEND_INPUT_NONE;
    for (ssize_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        if (in.escape) {
            in.escape = false;
            switch (b) {
            case 'x':
                frontend_chardev_flush();
                fprintf(stderr, "\r\nQEMU: Terminated\r\n");
                return FRONTEND_INPUT_QUIT;
            case 'h':
                fprintf(stderr, "\r\nC-a h    print this help\r\nC-a x    exit emulator\r\n"
                                "C-a c    switch between console and monitor (-monitor with stdio)\r\n"
                                "C-a d    stop the guest in the built-in debugger (-debug)\r\n"
                                "C-a C-a  sends C-a\r\n");
                continue;
            case 0x01:
                if (monitor_mux_focus())
                    continue;
                queue_byte(0x01);
                continue;
            case 'd':   /* built-in debugger (frontend/debugger.c) */
                debugger_request_stop();
                continue;
            case 'c':   /* QEMU's mux: switch between serial console and monitor */
                monitor_mux_toggle();
                continue;
            default:
                continue;
            }
        }
        if (b == 0x01 && isatty(STDIN_FILENO)) {
            in.escape = true;
            continue;
        }
        if (monitor_mux_focus()) {
            monitor_mux_byte(b);
            continue;
        }
        queue_byte(b);
    }
    push_to_device();
    return FRONTEND_INPUT_NONE;
}

void frontend_stdin_retry(void)
{
    push_to_device();
}

/* ---------------------------------------------------------------- creation */

static struct chardev chr_backend;

struct chardev *frontend_chardev_open(const char *spec, char *err, size_t err_len)
{
    memset(&chr_backend, 0, sizeof(chr_backend));
    if (!strcmp(spec, "none") || !strcmp(spec, "null")) {
        chr_backend.write = chr_null_write;
        return &chr_backend;
    }
    if (!strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio")) {
        chr_backend.write = chr_stdio_write;
        in.chr = &chr_backend;
        int fl = fcntl(STDIN_FILENO, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK)) {
            saved_stdin_flags = fl;
            atexit(term_restore);
            fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
        }
        term_raw();
        return &chr_backend;
    }
    if (!strncmp(spec, "file:", 5)) {
        file_out = fopen(spec + 5, "w");
        if (!file_out) {
            snprintf(err, err_len, "-serial %s: could not open '%s': %s", spec, spec + 5,
                     strerror(errno));
            return NULL;
        }
        chr_backend.write = chr_file_write;
        return &chr_backend;
    }
    snprintf(err, err_len, "-serial %s: unsupported chardev (use stdio, file:PATH or none)", spec);
    return NULL;
}
