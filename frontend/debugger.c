/*
 * frontend/debugger.c - the built-in debugger (-debug): execution control
 * (continue, step, next, until, finish), numbered breakpoints and
 * watchpoints, the main loop's debug hook, Ctrl-A d, and the "(qtemu) "
 * prompt on the controlling terminal.
 *
 * Everything goes through the vCPU interface (cpu/vcpu.h): insert_bp /
 * remove_bp, set_single_step, insn_info, get_regs, read_virt. Commands are
 * parsed by the shared engine (frontend/monitor.c: monitor_exec), which calls
 * debugger_command() for the ones here.
 *
 * Decided:
 *  - The prompt runs on the main-loop thread from a prepoll callback while the
 *    machine is paused, and blocks reading the terminal: while it is shown,
 *    other main-loop sources (gdbstub, QMP sockets) wait. Stops arrive
 *    through the debug hook (VCPU_EXIT_DEBUG; the loop has paused already) or
 *    Ctrl-A d (debugger_request_stop: pause + prompt).
 *  - Terminal: the serial console's raw mode is switched to line mode for
 *    the prompt and back to raw on continue (frontend_term_line_mode()).
 *    libedit (line editing, history) when stdin is a tty; otherwise lines
 *    are read with read(2) from fd 0 (a pipe from a test), never through
 *    stdio buffers, so no input is swallowed. End of input at the prompt
 *    quits (status 0), as gdb does. With -serial stdio on a pipe the console
 *    reads stdin while the guest runs: drive -debug from a pipe with
 *    -serial file:PATH or none.
 *  - step N: single-step mode, N silent stops, report the last.
 *  - next: if insn_info says the instruction is a call, a temporary
 *    breakpoint at pc + length and continue, stopping there only once RSP is
 *    back at (or above) its value at the "next" (a recursive call hitting the
 *    same return address deeper in the stack is skipped); otherwise one step.
 *  - finish (heuristic, no unwind tables): the return address is read from
 *    [RSP] when the PC is at a function's first instruction (a symbol with
 *    offset 0) or at a RET, else from [RBP+8] when RBP looks like a frame
 *    pointer (RSP <= RBP < RSP + 1 MiB), else from [RSP]. A temporary
 *    breakpoint there stops once RSP is above its value at the "finish"
 *    (the frame was popped). Code without frame pointers that has pushed
 *    something gets a wrong answer: use "until ADDR" then.
 *  - until ADDR: temporary breakpoint at ADDR and continue (any other
 *    breakpoint or watchpoint also stops). "until" without ADDR is "next".
 *  - Temporary breakpoints never remove a user breakpoint at the same
 *    address. Any stop cancels the command in progress.
 *  - Breakpoint numbers count from 1 as in gdb and are never reused.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/debugger_priv.h"
#include "frontend/frontend.h"
#include "frontend/monitor.h"
#include "util/log.h"

#define DBG_MAX_POINTS 32
#define FRAME_MAX (1ull << 20)

enum run_mode { RUN_FREE, RUN_STEP, RUN_NEXT, RUN_FINISH, RUN_UNTIL };

struct dbg_point {
    int num;                 /* 0: slot free */
    enum vcpu_bp_kind kind;
    uint64_t addr, len;
};

static struct {
    struct machine *m;
    bool attached;           /* -debug: owns the terminal prompt */
    bool prompt_pending;     /* show the prompt at the next prepoll */
    bool at_prompt;
    enum run_mode mode;
    uint64_t steps_left;
    bool temp_set;
    uint64_t temp_addr;
    uint64_t sp_limit;       /* next/finish: stop at temp bp only once RSP >= / > this */
    struct dbg_point pts[DBG_MAX_POINTS];
    int next_num;
    /* terminal */
    EditLine *el;
    History *hist;
    char rbuf[4096];
    size_t rlen;
} dbg = { .next_num = 1 };

static struct vcpu *cpu0(void)
{
    return monitor_cpu();
}

static uint64_t reg_rsp(struct vcpu *v)
{
    struct vcpu_regs_x86 r;
    v->ops->get_regs(v, &r);
    return r.gpr[4];
}

static bool user_bp_at(uint64_t addr)
{
    for (int i = 0; i < DBG_MAX_POINTS; i++)
        if (dbg.pts[i].num && (dbg.pts[i].kind == VCPU_BP_SW || dbg.pts[i].kind == VCPU_BP_HW) &&
            dbg.pts[i].addr == addr)
            return true;
    return false;
}

static void clear_temp(struct vcpu *v)
{
    if (dbg.temp_set && !user_bp_at(dbg.temp_addr))
        v->ops->remove_bp(v, VCPU_BP_SW, dbg.temp_addr, 1);
    dbg.temp_set = false;
}

void debugger_cancel_run(void)
{
    struct vcpu *v = cpu0();
    if (!v)
        return;
    clear_temp(v);
    v->ops->set_single_step(v, false);
    dbg.mode = RUN_FREE;
    dbg.steps_left = 0;
}

static int set_temp(struct vcpu *v, uint64_t addr, FILE *o)
{
    int rc = v->ops->insert_bp(v, VCPU_BP_SW, addr, 1);
    if (rc) {
        fprintf(o, "cannot set a temporary breakpoint at 0x%" PRIx64 ": %s\n", addr, strerror(-rc));
        return -1;
    }
    dbg.temp_set = true;
    dbg.temp_addr = addr;
    return 0;
}

/* ---------------------------------------------------------------- reporting */

static void print_where(struct vcpu *v, FILE *o)
{
    monitor_disas(v, monitor_pc(v), 1, o);
}

static struct dbg_point *find_point(enum vcpu_bp_kind kind, uint64_t addr, bool watch)
{
    for (int i = 0; i < DBG_MAX_POINTS; i++) {
        struct dbg_point *p = &dbg.pts[i];
        if (!p->num)
            continue;
        if (!watch && (p->kind == VCPU_BP_SW || p->kind == VCPU_BP_HW) && p->addr == addr)
            return p;
        if (watch && p->kind == kind && addr >= p->addr && addr < p->addr + p->len)
            return p;
    }
    return NULL;
}

/* Decide whether a VCPU_EXIT_DEBUG ends the command in progress; report it if so. */
void debugger_hook(void *opaque, struct vcpu *v)
{
    const struct vcpu_debug_event *ev = &v->debug_event;
    FILE *o = stdout;

    if (ev->reason == VCPU_DEBUG_STEP && dbg.mode == RUN_STEP && dbg.steps_left > 1) {
        dbg.steps_left--;
        mainloop_resume();
        return;
    }
    if (ev->reason == VCPU_DEBUG_BREAKPOINT && dbg.temp_set && ev->addr == dbg.temp_addr &&
        !user_bp_at(ev->addr)) {
        uint64_t sp = reg_rsp(v);
        bool deeper = (dbg.mode == RUN_NEXT && sp < dbg.sp_limit) ||
                      (dbg.mode == RUN_FINISH && sp <= dbg.sp_limit);
        if (deeper) {
            mainloop_resume();   /* a recursive activation: keep going */
            return;
        }
        debugger_cancel_run();
        print_where(v, o);
    } else {
        debugger_cancel_run();
        char sym[160];
        switch (ev->reason) {
        case VCPU_DEBUG_BREAKPOINT: {
            struct dbg_point *p = find_point(ev->kind, ev->addr, false);
            fprintf(o, "\nBreakpoint %d, 0x%016" PRIx64, p ? p->num : 0, ev->addr);
            if (symbols_describe(ev->addr, sym, sizeof(sym)))
                fprintf(o, " in %s", sym);
            fprintf(o, "\n");
            break;
        }
        case VCPU_DEBUG_WATCHPOINT: {
            struct dbg_point *p = find_point(ev->kind, ev->addr, true);
            static const char *const what[] = { "", "", "write", "read", "access" };
            fprintf(o, "\nWatchpoint %d: %s of 0x%016" PRIx64 "\n", p ? p->num : 0,
                    what[ev->kind <= VCPU_WP_ACCESS ? ev->kind : 0], ev->addr);
            break;
        }
        case VCPU_DEBUG_STEP:
            break;
        }
        print_where(v, o);
    }
    fflush(o);
    if (dbg.attached)
        dbg.prompt_pending = true;
    else
        fputs("(qemu) ", o);   /* HMP front: the monitor's prompt again */
    fflush(o);
}

/* ---------------------------------------------------------------- commands */

static int cmd_break(struct vcpu *v, enum vcpu_bp_kind kind, const char *args, FILE *o)
{
    uint64_t addr, len = 1;
    char a[256] = "", l[64] = "", k[8] = "";
    int n = sscanf(args, "%255s %63s %7s", a, l, k);
    if (n < 1) {
        fprintf(o, "%s: address required\n", kind == VCPU_BP_SW ? "break" : "watch");
        return MONITOR_ERROR;
    }
    if (monitor_eval(a, &addr, o))
        return MONITOR_ERROR;
    if (kind != VCPU_BP_SW) {
        if (n >= 2) {
            char *end;
            len = strtoull(l, &end, 0);
            if (*end || len == 0 || len > 4096) {
                fprintf(o, "watch: LEN must be 1..4096\n");
                return MONITOR_ERROR;
            }
        } else {
            len = 8;
        }
        if (n >= 3) {
            if (!strcmp(k, "w"))
                kind = VCPU_WP_WRITE;
            else if (!strcmp(k, "r"))
                kind = VCPU_WP_READ;
            else if (!strcmp(k, "rw") || !strcmp(k, "a"))
                kind = VCPU_WP_ACCESS;
            else {
                fprintf(o, "watch: kind is r, w or rw\n");
                return MONITOR_ERROR;
            }
        }
    }
    int slot = -1;
    for (int i = 0; i < DBG_MAX_POINTS && slot < 0; i++)
        if (!dbg.pts[i].num)
            slot = i;
    if (slot < 0) {
        fprintf(o, "too many breakpoints/watchpoints (%d)\n", DBG_MAX_POINTS);
        return MONITOR_ERROR;
    }
    int rc = v->ops->insert_bp(v, kind, addr, len);
    if (rc) {
        fprintf(o, "cannot insert: %s\n", strerror(-rc));
        return MONITOR_ERROR;
    }
    dbg.pts[slot] = (struct dbg_point){ dbg.next_num++, kind, addr, len };
    char sym[160];
    bool has = symbols_describe(addr, sym, sizeof(sym));
    if (kind == VCPU_BP_SW)
        fprintf(o, "Breakpoint %d at 0x%016" PRIx64 "%s%s%s\n", dbg.pts[slot].num, addr,
                has ? " <" : "", has ? sym : "", has ? ">" : "");
    else
        fprintf(o, "Watchpoint %d: 0x%016" PRIx64 " len %" PRIu64 " %s\n", dbg.pts[slot].num, addr,
                len, kind == VCPU_WP_WRITE ? "w" : kind == VCPU_WP_READ ? "r" : "rw");
    return MONITOR_OK;
}

static int cmd_delete(struct vcpu *v, const char *args, FILE *o)
{
    if (!args[0]) {
        for (int i = 0; i < DBG_MAX_POINTS; i++) {
            struct dbg_point *p = &dbg.pts[i];
            if (p->num)
                v->ops->remove_bp(v, p->kind, p->addr, p->len);
            p->num = 0;
        }
        return MONITOR_OK;
    }
    char *end;
    long num = strtol(args, &end, 10);
    if (*end || num <= 0) {
        fprintf(o, "delete: breakpoint number expected\n");
        return MONITOR_ERROR;
    }
    for (int i = 0; i < DBG_MAX_POINTS; i++) {
        struct dbg_point *p = &dbg.pts[i];
        if (p->num == num) {
            p->num = 0;
            /* Keep it inserted if it is also the running temporary breakpoint. */
            if (!(dbg.temp_set && p->kind == VCPU_BP_SW && p->addr == dbg.temp_addr &&
                  !user_bp_at(p->addr)))
                v->ops->remove_bp(v, p->kind, p->addr, p->len);
            return MONITOR_OK;
        }
    }
    fprintf(o, "No breakpoint number %ld.\n", num);
    return MONITOR_ERROR;
}

static int cmd_info_breakpoints(FILE *o)
{
    bool any = false;
    for (int i = 0; i < DBG_MAX_POINTS; i++) {
        const struct dbg_point *p = &dbg.pts[i];
        if (!p->num)
            continue;
        if (!any)
            fprintf(o, "Num  Type        Address             What\n");
        any = true;
        char sym[160] = "";
        symbols_describe(p->addr, sym, sizeof(sym));
        if (p->kind == VCPU_BP_SW || p->kind == VCPU_BP_HW)
            fprintf(o, "%-4d breakpoint  0x%016" PRIx64 "  %s\n", p->num, p->addr, sym);
        else
            fprintf(o, "%-4d %-11s 0x%016" PRIx64 "  len %" PRIu64 " %s\n", p->num,
                    p->kind == VCPU_WP_WRITE ? "watchpoint" : p->kind == VCPU_WP_READ ? "read-watch" : "acc-watch",
                    p->addr, p->len, sym);
    }
    if (!any)
        fprintf(o, "No breakpoints or watchpoints.\n");
    return MONITOR_OK;
}

static int resume(void)
{
    mainloop_resume();
    return MONITOR_RESUMED;
}

static int cmd_step(struct vcpu *v, const char *args, FILE *o)
{
    uint64_t n = 1;
    if (args[0]) {
        char *end;
        n = strtoull(args, &end, 0);
        if (*end || n == 0) {
            fprintf(o, "step: N must be a positive number\n");
            return MONITOR_ERROR;
        }
    }
    debugger_cancel_run();
    dbg.mode = RUN_STEP;
    dbg.steps_left = n;
    v->ops->set_single_step(v, true);
    return resume();
}

static int cmd_next(struct vcpu *v, FILE *o)
{
    uint64_t pc = monitor_pc(v);
    struct vcpu_insn_info info;
    if (v->ops->insn_info(v, pc, &info) || !info.is_call)
        return cmd_step(v, "", o);
    debugger_cancel_run();
    if (set_temp(v, pc + info.len_bytes, o))
        return MONITOR_ERROR;
    dbg.mode = RUN_NEXT;
    dbg.sp_limit = reg_rsp(v);
    return resume();
}

static int cmd_finish(struct vcpu *v, FILE *o)
{
    struct vcpu_regs_x86 r;
    v->ops->get_regs(v, &r);
    uint64_t pc = monitor_pc(v), rsp = r.gpr[4], rbp = r.gpr[5];
    char sym[160];
    bool at_entry = symbols_describe(pc, sym, sizeof(sym)) && !strchr(sym, '+');
    uint8_t op = 0;
    v->ops->read_virt(v, pc, &op, 1);
    bool at_ret = op == 0xc3 || op == 0xc2;
    uint64_t slot = rsp;
    if (!at_entry && !at_ret && rbp >= rsp && rbp - rsp < FRAME_MAX)
        slot = rbp + 8;
    uint64_t ret = 0;
    int bytes = monitor_code_bits(v) == 64 ? 8 : 4;
    if (v->ops->read_virt(v, slot, &ret, (uint64_t)bytes)) {
        fprintf(o, "finish: cannot read the return address at 0x%" PRIx64 "\n", slot);
        return MONITOR_ERROR;
    }
    debugger_cancel_run();
    fprintf(o, "Run till exit: return address 0x%016" PRIx64 " (from [%s])\n", ret,
            slot == rsp ? "RSP" : "RBP+8");
    if (set_temp(v, ret, o))
        return MONITOR_ERROR;
    dbg.mode = RUN_FINISH;
    dbg.sp_limit = rsp;
    return resume();
}

int debugger_command(const char *verb, const char *args, FILE *o)
{
    struct vcpu *v = cpu0();
    if (!v)
        return DEBUGGER_NOT_MINE;
    if (!strcmp(verb, "c") || !strcmp(verb, "cont") || !strcmp(verb, "continue")) {
        debugger_cancel_run();
        return resume();
    }
    if (!strcmp(verb, "s") || !strcmp(verb, "si") || !strcmp(verb, "step") ||
        !strcmp(verb, "stepi"))
        return cmd_step(v, args, o);
    if (!strcmp(verb, "n") || !strcmp(verb, "ni") || !strcmp(verb, "next") ||
        !strcmp(verb, "nexti"))
        return cmd_next(v, o);
    if (!strcmp(verb, "until") || !strcmp(verb, "u")) {
        if (!args[0])
            return cmd_next(v, o);
        uint64_t addr;
        if (monitor_eval(args, &addr, o))
            return MONITOR_ERROR;
        debugger_cancel_run();
        if (set_temp(v, addr, o))
            return MONITOR_ERROR;
        dbg.mode = RUN_UNTIL;
        return resume();
    }
    if (!strcmp(verb, "finish") || !strcmp(verb, "fin"))
        return cmd_finish(v, o);
    if (!strcmp(verb, "break") || !strcmp(verb, "b") || !strcmp(verb, "hbreak"))
        return cmd_break(v, VCPU_BP_SW, args, o);
    if (!strcmp(verb, "watch") || !strcmp(verb, "wa"))
        return cmd_break(v, VCPU_WP_WRITE, args, o);
    if (!strcmp(verb, "delete") || !strcmp(verb, "d"))
        return cmd_delete(v, args, o);
    if (!strcmp(verb, "info-breakpoints"))
        return cmd_info_breakpoints(o);
    return DEBUGGER_NOT_MINE;
}

/* ---------------------------------------------------------------- the prompt */

static const char *el_prompt(EditLine *e)
{
    return "(qtemu) ";
}

/*
 * Read one line from a non-tty stdin with read(2) (poll first: the console
 * may have set O_NONBLOCK). Returns the line without newline, or NULL at EOF.
 */
static const char *read_line_fd(void)
{
    for (;;) {
        char *nl = memchr(dbg.rbuf, '\n', dbg.rlen);
        if (nl) {
            static char line[sizeof(dbg.rbuf)];
            size_t n = (size_t)(nl - dbg.rbuf);
            memcpy(line, dbg.rbuf, n);
            line[n] = 0;
            memmove(dbg.rbuf, nl + 1, dbg.rlen - n - 1);
            dbg.rlen -= n + 1;
            return line;
        }
        if (dbg.rlen == sizeof(dbg.rbuf) - 1) {
            dbg.rbuf[dbg.rlen] = '\n';   /* overlong line: cut it */
            dbg.rlen++;
            continue;
        }
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return NULL;
        ssize_t n = read(STDIN_FILENO, dbg.rbuf + dbg.rlen, sizeof(dbg.rbuf) - 1 - dbg.rlen);
        if (n == 0) {
            if (dbg.rlen) {   /* last line without a newline */
                dbg.rbuf[dbg.rlen++] = '\n';
                continue;
            }
            return NULL;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return NULL;
        }
        dbg.rlen += (size_t)n;
    }
}

static void run_prompt(void)
{
    struct vcpu *v = cpu0();
    if (!v)
        return;
    dbg.at_prompt = true;
    frontend_chardev_flush();
    frontend_term_line_mode(true);
    bool tty = isatty(STDIN_FILENO);
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (tty && fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl & ~O_NONBLOCK);
    if (tty && !dbg.el) {
        dbg.el = el_init("qtemu", stdin, stdout, stderr);
        dbg.hist = history_init();
        if (dbg.el && dbg.hist) {
            HistEvent hev;
            history(dbg.hist, &hev, H_SETSIZE, 500);
            el_set(dbg.el, EL_PROMPT, el_prompt);
            el_set(dbg.el, EL_EDITOR, "emacs");
            el_set(dbg.el, EL_HIST, history, dbg.hist);
            el_set(dbg.el, EL_SIGNAL, 1);
        }
    }
    for (;;) {
        const char *line;
        char last[sizeof(dbg.rbuf)];
        if (tty && dbg.el) {
            int count;
            line = el_gets(dbg.el, &count);
            if (line && count > 1) {
                HistEvent hev;
                history(dbg.hist, &hev, H_ENTER, line);
            }
        } else {
            fputs("(qtemu) ", stdout);
            fflush(stdout);
            line = read_line_fd();
        }
        if (!line) {
            fputs("\n", stdout);
            mainloop_request_exit(0);
            break;
        }
        snprintf(last, sizeof(last), "%s", line);
        int rc = monitor_exec(last, stdout);
        fflush(stdout);
        if (rc == MONITOR_RESUMED || rc == MONITOR_QUIT)
            break;
        if (!mainloop_paused())
            break;   /* something else resumed the guest */
    }
    if (tty && fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl);
    frontend_term_line_mode(false);
    dbg.at_prompt = false;
}

static void dbg_prepoll(void *opaque, int64_t *timeout_ns)
{
    if (!dbg.prompt_pending || !mainloop_paused())
        return;
    dbg.prompt_pending = false;
    run_prompt();
    /* The guest may run again now: do not sleep in this poll. */
    *timeout_ns = 0;
}

int debugger_attach(struct machine *m, bool start_paused)
{
    dbg.m = m;
    dbg.attached = true;
    monitor_set_machine(m);
    mainloop_set_debug_hook(debugger_hook, NULL);
    if (mainloop_add_prepoll(dbg_prepoll, NULL))
        return -1;
    if (start_paused) {
        mainloop_pause();
        struct vcpu *v = m->ncpus ? m->cpus[0] : NULL;
        if (v) {
            printf("qtemu debugger: guest stopped before its first instruction ('help' lists commands)\n");
            /* monitor_cpu() falls back to the monitor's machine before the loop starts. */
            char sym[160];
            uint64_t pc = monitor_pc(v);
            printf("0x%016" PRIx64 "%s%s%s\n", pc, symbols_describe(pc, sym, sizeof(sym)) ? " <" : "",
                   symbols_describe(pc, sym, sizeof(sym)) ? sym : "",
                   symbols_describe(pc, sym, sizeof(sym)) ? ">" : "");
        }
        dbg.prompt_pending = true;
    }
    return 0;
}

void debugger_request_stop(void)
{
    if (!dbg.attached)
        return;
    debugger_cancel_run();
    mainloop_pause();
    struct vcpu *v = cpu0();
    if (v) {
        frontend_chardev_flush();
        printf("\r\nqtemu debugger: stopped\r\n");
        frontend_term_line_mode(true);
        print_where(v, stdout);
    }
    dbg.prompt_pending = true;
}

bool debugger_active(void)
{
    return dbg.at_prompt;
}

int debugger_setup(struct machine *m, const struct qtemu_options *opts, char *err, size_t err_len)
{
    monitor_set_machine(m);
    char why[256];
    if (opts->debug_symbols) {
        if (symbols_load(opts->debug_symbols, why, sizeof(why)) < 0) {
            snprintf(err, err_len, "-debug-symbols %s", why);
            return -1;
        }
    } else if (opts->machine.kernel_path && (opts->debug || opts->monitor)) {
        /* The kernel as a symbol source when it is an ELF with a symtab; a bzImage is not. */
        FILE *f = fopen(opts->machine.kernel_path, "rb");
        char magic[4] = { 0 };
        if (f) {
            if (fread(magic, 1, 4, f) != 4)
                magic[0] = 0;
            fclose(f);
        }
        if (!memcmp(magic, "\x7f" "ELF", 4))
            symbols_load(opts->machine.kernel_path, why, sizeof(why));
    }
    const char *mon = opts->monitor ? opts->monitor : "none";
    bool mon_stdio = strcmp(mon, "none") && strcmp(mon, "null");
    if (opts->debug && mon_stdio) {
        snprintf(err, err_len, "-debug and -monitor %s both want the terminal; use one", mon);
        return -1;
    }
    bool serial_stdio = opts->serial &&
                        (!strcmp(opts->serial, "stdio") || !strcmp(opts->serial, "mon:stdio"));
    if (monitor_open(m, mon, serial_stdio, err, err_len))
        return -1;
    if (opts->debug && debugger_attach(m, true)) {
        snprintf(err, err_len, "-debug: cannot register with the main loop");
        return -1;
    }
    return 0;
}
