/*
 * frontend/monitor.c - the command engine shared by the debugger (-debug),
 * the human monitor (-monitor stdio, QEMU's HMP) and QMP's
 * human-monitor-command; the inspection commands; the HMP stdio front and
 * QEMU's mux (Ctrl-A c) between serial console and monitor.
 *
 * Commands (both dialects; see "help"):
 *   info registers | regs          vcpu dump (QEMU's "RAX=... RIP=..." layout)
 *   x/FMT ADDR, x /FMT ADDR        virtual memory, gdb/HMP format: [count]
 *                                  [x d u o t c s i a] [b h w g]; x/Ni disassembles
 *   xp/FMT ADDR                    physical memory (gpa_read)
 *   disas [ADDR] [N]               N (10) instructions, Capstone (util/disas.h)
 *   pagewalk ADDR                  every paging level (SDM Vol. 3A 4.5 Tables
 *                                  4-15..4-20 bit names), final gpa
 *   tlb                            the vCPU's software TLB
 *   info status | stop | cont | c  run state (QEMU: "VM status: running/paused")
 *   info devices                   PIO and MMIO regions of the bus
 *   info irq                       the vCPU's pending-event view (limited, see below)
 *   trace on|off                   toggle -d exec
 *   system_reset | quit | q | help
 *   + debugger.c: continue step next until finish break delete watch info breakpoints
 *
 * Output formats follow QEMU's HMP memory_dump(): "ADDR: 0x.. 0x.." with 16
 * bytes per line (8 for 'c'), address as 16 hex digits.
 *
 * Decided: "info irq" prints what the vCPU interface exposes (no interrupt
 * controller state: the board keeps its LAPIC/PIC private and has no dump
 * functions yet); it says so.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/debugger_priv.h"
#include "frontend/frontend.h"
#include "frontend/monitor.h"
#include "util/disas.h"
#include "util/log.h"

#define EFER_LMA (1ull << 10)
#define CR0_PE   1ull

static struct machine *mon_machine;

void monitor_set_machine(struct machine *m)
{
    mon_machine = m;
}

struct vcpu *monitor_cpu(void)
{
    struct machine *m = mainloop_machine();
    if (!m)
        m = mon_machine;
    return (m && m->ncpus > 0) ? m->cpus[0] : NULL;
}

static struct machine *machine_of(void)
{
    struct machine *m = mainloop_machine();
    return m ? m : mon_machine;
}

uint64_t monitor_pc(struct vcpu *v)
{
    struct vcpu_regs_x86 r;
    v->ops->get_regs(v, &r);
    uint64_t lin = r.seg_base[1] + r.rip;
    return monitor_code_bits(v) == 64 ? lin : (lin & 0xffffffffu);
}

int monitor_code_bits(struct vcpu *v)
{
    struct vcpu_regs_x86 r;
    v->ops->get_regs(v, &r);
    /* Compatibility mode (LMA with CS.L=0) cannot be told from the register view. */
    if (r.efer & EFER_LMA)
        return 64;
    return (r.cr0 & CR0_PE) ? 32 : 16;
}

/* ---------------------------------------------------------------- expressions */

static const char *const gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                           "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

static int reg_value(struct vcpu *v, const char *name, uint64_t *out)
{
    struct vcpu_regs_x86 r;
    v->ops->get_regs(v, &r);
    for (int i = 0; i < 16; i++)
        if (!strcasecmp(name, gpr_names[i])) {
            *out = r.gpr[i];
            return 0;
        }
    if (!strcasecmp(name, "rip")) { *out = r.rip; return 0; }
    if (!strcasecmp(name, "pc")) { *out = monitor_pc(v); return 0; }
    if (!strcasecmp(name, "sp")) { *out = r.gpr[4]; return 0; }
    if (!strcasecmp(name, "fp")) { *out = r.gpr[5]; return 0; }
    if (!strcasecmp(name, "eflags") || !strcasecmp(name, "rflags")) { *out = r.rflags; return 0; }
    if (!strcasecmp(name, "cr0")) { *out = r.cr0; return 0; }
    if (!strcasecmp(name, "cr2")) { *out = r.cr2; return 0; }
    if (!strcasecmp(name, "cr3")) { *out = r.cr3; return 0; }
    if (!strcasecmp(name, "cr4")) { *out = r.cr4; return 0; }
    return -1;
}

/* One term: number, $register or symbol. */
static int eval_term(struct vcpu *v, const char *s, size_t len, uint64_t *out, FILE *o)
{
    char tok[256];
    if (len == 0 || len >= sizeof(tok)) {
        fprintf(o, "bad address expression\n");
        return -1;
    }
    memcpy(tok, s, len);
    tok[len] = 0;
    if (tok[0] == '$' || tok[0] == '%') {
        if (!v || reg_value(v, tok + 1, out)) {
            fprintf(o, "unknown register '%s'\n", tok);
            return -1;
        }
        return 0;
    }
    if (isdigit((unsigned char)tok[0])) {
        char *end;
        errno = 0;
        *out = strtoull(tok, &end, 0);
        if (errno || *end) {
            fprintf(o, "bad number '%s'\n", tok);
            return -1;
        }
        return 0;
    }
    if (symbols_lookup(tok, out))
        return 0;
    fprintf(o, "no symbol '%s' (load symbols with -debug-symbols FILE)\n", tok);
    return -1;
}

int monitor_eval(const char *expr, uint64_t *out_val, FILE *o)
{
    struct vcpu *v = monitor_cpu();
    while (isspace((unsigned char)*expr))
        expr++;
    if (*expr == '*')
        expr++;
    uint64_t acc = 0;
    int sign = 1;
    const char *p = expr;
    bool any = false;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "+- \t");
        /* A leading '-' or a '+'/'-' between terms. */
        if (n == 0) {
            if (*p == '+' || *p == '-') {
                sign = *p == '-' ? -1 : 1;
                p++;
                continue;
            }
        }
        uint64_t t;
        if (eval_term(v, p, n, &t, o))
            return -1;
        acc = sign > 0 ? acc + t : acc - t;
        sign = 1;
        any = true;
        p += n;
    }
    if (!any) {
        fprintf(o, "missing address\n");
        return -1;
    }
    *out_val = acc;
    return 0;
}

/* ---------------------------------------------------------------- memory and disassembly */

size_t monitor_disas(struct vcpu *v, uint64_t addr, size_t count, FILE *out)
{
    int bits = monitor_code_bits(v);
    uint64_t pc = monitor_pc(v);
    size_t done = 0;
    for (; done < count; done++) {
        uint8_t buf[16];
        size_t got = 0;
        while (got < 15 && v->ops->read_virt(v, addr + got, buf + got, 1) == 0)
            got++;
        if (!got) {
            fprintf(out, "Cannot access memory at address 0x%" PRIx64 "\n", addr);
            break;
        }
        char sym[160], text[256];
        char *line = NULL;
        size_t line_len = 0;
        FILE *ms = open_memstream(&line, &line_len);
        size_t len = disas_x86_length(buf, got, bits);
        size_t n = ms ? disas_x86_print(ms, buf, got, addr, bits, 1) : 0;
        if (ms)
            fclose(ms);
        /* disas_x86_print writes "0xADDR:  text": keep the text. */
        const char *t = (n && line) ? strstr(line, ":  ") : NULL;
        snprintf(text, sizeof(text), "%s", t ? t + 3 : "(bad)");
        text[strcspn(text, "\n")] = 0;
        free(line);
        bool has_sym = symbols_describe(addr, sym, sizeof(sym));
        fprintf(out, "%s0x%016" PRIx64 "%s%s%s:  %s\n", addr == pc ? "=> " : "   ", addr,
                has_sym ? " <" : "", has_sym ? sym : "", has_sym ? ">" : "", text);
        if (!n || !len)
            break;
        addr += len;
    }
    return done;
}

/*
 * x/FMT and xp/FMT (gdb "x/NFU", QEMU hmp memory_dump()). @phys selects
 * guest-physical addressing.
 */
static int cmd_examine(bool phys, const char *fmt, const char *args, FILE *o)
{
    struct vcpu *v = monitor_cpu();
    struct machine *m = machine_of();
    if (!v || !m) {
        fprintf(o, "no machine\n");
        return MONITOR_ERROR;
    }
    uint64_t count = 1;
    char format = 'x';
    unsigned size = 0;
    const char *f = fmt ? fmt : "";
    if (isdigit((unsigned char)*f)) {
        char *end;
        count = strtoull(f, &end, 10);
        f = end;
    }
    for (; *f; f++) {
        switch (*f) {
        case 'x': case 'd': case 'u': case 'o': case 't': case 'c': case 's': case 'i': case 'a':
            format = *f;
            break;
        case 'b': size = 1; break;
        case 'h': size = 2; break;
        case 'w': size = 4; break;
        case 'g': size = 8; break;
        default:
            fprintf(o, "invalid format '%c' (count, then x d u o t c s i a, then b h w g)\n", *f);
            return MONITOR_ERROR;
        }
    }
    if (count == 0 || count > 65536) {
        fprintf(o, "count must be 1..65536\n");
        return MONITOR_ERROR;
    }
    uint64_t addr;
    if (monitor_eval(args, &addr, o))
        return MONITOR_ERROR;

    if (format == 'i') {
        if (phys) {
            /* Disassemble physical memory: copy it out, then print. */
            uint8_t buf[16];
            int bits = monitor_code_bits(v);
            for (uint64_t i = 0; i < count; i++) {
                size_t got = 0;
                while (got < 15 && gpa_read(&m->mem, addr + got, buf + got, 1) == 0)
                    got++;
                if (!got || !disas_x86_print(o, buf, got, addr, bits, 1))
                    break;
                addr += disas_x86_length(buf, got, bits);
            }
        } else {
            monitor_disas(v, addr, count, o);
        }
        return MONITOR_OK;
    }
    if (format == 'c' || format == 's')
        size = 1;
    if (format == 'a')
        size = 8;
    if (!size)
        size = 4;

    if (format == 's') {
        for (uint64_t i = 0; i < count; i++) {
            fprintf(o, "0x%016" PRIx64 ": \"", addr);
            for (unsigned n = 0; n < 4096; n++) {
                uint8_t c;
                int rc = phys ? gpa_read(&m->mem, addr, &c, 1) : v->ops->read_virt(v, addr, &c, 1);
                if (rc) {
                    fprintf(o, "\" <cannot access 0x%" PRIx64 ">\n", addr);
                    return MONITOR_OK;
                }
                addr++;
                if (!c)
                    break;
                if (c == '"' || c == '\\')
                    fprintf(o, "\\%c", c);
                else if (isprint(c))
                    fputc(c, o);
                else
                    fprintf(o, "\\x%02x", c);
            }
            fprintf(o, "\"\n");
        }
        return MONITOR_OK;
    }

    unsigned line_bytes = format == 'c' ? 8 : 16;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t a = addr + i * size;
        if (i % (line_bytes / size) == 0)
            fprintf(o, "%s%016" PRIx64 ":", i ? "\n" : "", a);
        uint8_t b[8] = { 0 };
        int rc = phys ? gpa_read(&m->mem, a, b, size) : v->ops->read_virt(v, a, b, size);
        if (rc) {
            fprintf(o, "\nCannot access memory at address 0x%" PRIx64 "\n", a);
            return MONITOR_OK;
        }
        uint64_t val = 0;
        for (unsigned k = 0; k < size; k++)
            val |= (uint64_t)b[k] << (8 * k);
        int64_t sval = size == 8 ? (int64_t)val : (int64_t)(val << (64 - 8 * size)) >> (64 - 8 * size);
        switch (format) {
        case 'x': fprintf(o, " 0x%0*" PRIx64, (int)size * 2, val); break;
        case 'd': fprintf(o, " %" PRId64, sval); break;
        case 'u': fprintf(o, " %" PRIu64, val); break;
        case 'o': fprintf(o, " 0%" PRIo64, val); break;
        case 't': {
            fputc(' ', o);
            for (int bit = (int)size * 8 - 1; bit >= 0; bit--)
                fputc((val >> bit) & 1 ? '1' : '0', o);
            break;
        }
        case 'c':
            if (isprint((int)val))
                fprintf(o, " '%c'", (int)val);
            else
                fprintf(o, " '\\x%02x'", (unsigned)val);
            break;
        case 'a': {
            char sym[160];
            fprintf(o, " 0x%016" PRIx64, val);
            if (symbols_describe(val, sym, sizeof(sym)))
                fprintf(o, " <%s>", sym);
            break;
        }
        }
    }
    fprintf(o, "\n");
    return MONITOR_OK;
}

/* ---------------------------------------------------------------- pagewalk */

static void print_walk_step(void *opaque, const struct x86_walk_step *st)
{
    FILE *o = opaque;
    fprintf(o, "%-4s table 0x%010" PRIx64 " index %3u entry@0x%010" PRIx64, st->name,
            (uint64_t)st->table_gpa, st->index, (uint64_t)st->entry_gpa);
    if (st->not_ram) {
        fprintf(o, " not RAM\n");
        return;
    }
    uint64_t e = st->entry;
    fprintf(o, " = 0x%0*" PRIx64, (int)st->width * 2, e);
    /* Bit names: SDM Vol. 3A Tables 4-14..4-20 (PS only at PD/PDPT level, G and PAT on leaves). */
    static const struct { uint64_t bit; const char *name; } bits[] = {
        { 1ull << 0, "P" }, { 1ull << 1, "RW" }, { 1ull << 2, "US" }, { 1ull << 3, "PWT" },
        { 1ull << 4, "PCD" }, { 1ull << 5, "A" }, { 1ull << 6, "D" }, { 1ull << 7, "PS" },
        { 1ull << 8, "G" }, { 1ull << 63, "NX" },
    };
    fprintf(o, " [");
    bool first = true;
    for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
        uint64_t b = bits[i].bit;
        if (b == (1ull << 63) && st->width == 4)
            continue;
        if (b == (1ull << 7) && st->level == 1)
            continue;   /* bit 7 of a PTE is PAT, not PS */
        if (e & b) {
            fprintf(o, "%s%s", first ? "" : " ", bits[i].name);
            first = false;
        }
    }
    if (st->level == 1 && (e & (1ull << 7)))
        fprintf(o, "%sPAT", first ? "" : " ");
    fprintf(o, "]%s%s\n", (e & 1) ? "" : " not present", st->leaf && (e & 1) ? " leaf" : "");
}

static int cmd_pagewalk(const char *args, FILE *o)
{
    struct vcpu *v = monitor_cpu();
    struct machine *m = machine_of();
    if (!v || !m)
        return MONITOR_ERROR;
    uint64_t gva;
    if (monitor_eval(args, &gva, o))
        return MONITOR_ERROR;
    struct vcpu_regs_x86 r;
    v->ops->get_regs(v, &r);
    struct x86_paging_ctx ctx = { r.cr0, r.cr3, r.cr4, r.efer, false, true, false };
    fprintf(o, "pagewalk 0x%016" PRIx64 ": CR0=0x%" PRIx64 " CR3=0x%" PRIx64 " CR4=0x%" PRIx64
               " EFER=0x%" PRIx64 "\n", gva, r.cr0, r.cr3, r.cr4, r.efer);
    if (!(r.cr0 & (1ull << 31)))
        fprintf(o, "paging disabled (CR0.PG=0): linear = physical\n");
    gpa_t gpa;
    if (x86_walk_trace(&m->mem, &ctx, gva, print_walk_step, o, &gpa)) {
        fprintf(o, "no translation (page fault)\n");
        return MONITOR_OK;
    }
    fprintf(o, "gpa 0x%010" PRIx64 "\n", (uint64_t)gpa);
    return MONITOR_OK;
}

/* ---------------------------------------------------------------- info */

static void dump_space(const struct io_space *s, FILE *o)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct io_region *r = &s->regions[i];
        fprintf(o, "  %-6s 0x%08" PRIx64 "-0x%08" PRIx64 "  %s\n", s->name ? s->name : "", r->base,
                r->base + r->size_bytes - 1, r->name ? r->name : "?");
    }
}

static int cmd_info(const char *args, FILE *o)
{
    struct vcpu *v = monitor_cpu();
    struct machine *m = machine_of();
    char what[32] = "";
    sscanf(args, "%31s", what);
    if (!v || !m) {
        fprintf(o, "no machine\n");
        return MONITOR_ERROR;
    }
    if (!strcmp(what, "registers") || !strcmp(what, "reg") || !strcmp(what, "r")) {
        v->ops->dump(v, o);
        return MONITOR_OK;
    }
    if (!strcmp(what, "status")) {
        fprintf(o, "VM status: %s\n", mainloop_paused() ? "paused" : "running");
        return MONITOR_OK;
    }
    if (!strcmp(what, "devices") || !strcmp(what, "mtree")) {
        fprintf(o, "I/O ports:\n");
        dump_space(&m->bus.pio, o);
        fprintf(o, "MMIO:\n");
        dump_space(&m->bus.mmio, o);
        fprintf(o, "RAM:\n");
        for (int i = 0; i < m->mem.nslots; i++)
            fprintf(o, "  ram    0x%08" PRIx64 "-0x%08" PRIx64 "\n", (uint64_t)m->mem.slots[i].gpa,
                    (uint64_t)(m->mem.slots[i].gpa + m->mem.slots[i].size_bytes - 1));
        return MONITOR_OK;
    }
    if (!strcmp(what, "irq") || !strcmp(what, "pic") || !strcmp(what, "lapic")) {
        struct vcpu_regs_x86 r;
        v->ops->get_regs(v, &r);
        fprintf(o, "CPU %d: RFLAGS.IF=%d TPR(CR8)=%" PRIu64 " attention=0x%x\n", v->index,
                (int)((r.rflags >> 9) & 1), r.cr8,
                (unsigned)atomic_load_explicit(&v->attention, memory_order_relaxed));
        fprintf(o, "(interrupt controller state is private to the board: not shown)\n");
        return MONITOR_OK;
    }
    if (!strcmp(what, "breakpoints") || !strcmp(what, "break") || !strcmp(what, "b") ||
        !strcmp(what, "watchpoints"))
        return debugger_command("info-breakpoints", "", o);
    if (!strcmp(what, "tlb"))  {
        v->ops->dump_tlb(v, o);
        return MONITOR_OK;
    }
    if (!strcmp(what, "version")) {
        fprintf(o, "qtemu " QTEMU_VERSION "\n");
        return MONITOR_OK;
    }
    fprintf(o, "info: unknown item '%s' (registers status devices irq breakpoints tlb version)\n", what);
    return MONITOR_ERROR;
}

static void cmd_help(FILE *o)
{
    fprintf(o,
            "Inspection:\n"
            "  info registers | regs        registers of CPU 0\n"
            "  x/FMT ADDR, x /FMT ADDR      virtual memory; FMT = [count][x d u o t c s i a][b h w g]\n"
            "  xp/FMT ADDR                  physical memory\n"
            "  disas [ADDR] [N]             disassemble N (10) instructions at ADDR ($pc)\n"
            "  pagewalk ADDR                page-table walk, every level\n"
            "  tlb | info tlb               software TLB entries\n"
            "  info status|devices|irq|breakpoints|version\n"
            "Execution:\n"
            "  stop | cont, c, continue     pause / resume the guest\n"
            "  step [N], s, si              execute N (1) instructions\n"
            "  next, n                      step over calls\n"
            "  until ADDR | finish          run to ADDR / until the current function returns\n"
            "  break ADDR|SYMBOL, b         breakpoint; delete N; watch ADDR LEN [r|w|rw]\n"
            "  trace on|off                 log each executed block (-d exec)\n"
            "  system_reset | quit, q | help\n"
            "ADDR: number (0x.. hex), $reg ($rip $pc $rsp $rax .. $cr3), symbol, with +N/-N\n");
}

/* ---------------------------------------------------------------- dispatcher */

int monitor_exec(const char *cmdline, FILE *o)
{
    while (isspace((unsigned char)*cmdline))
        cmdline++;
    char line[1024];
    snprintf(line, sizeof(line), "%s", cmdline);
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#')
        return MONITOR_OK;

    /* Verb: up to a space or '/' (x/8xb); the format follows the '/'. */
    char verb[32];
    size_t vl = strcspn(line, " \t/");
    if (vl >= sizeof(verb)) {
        fprintf(o, "unknown command: '%s' (try help)\n", line);
        return MONITOR_ERROR;
    }
    memcpy(verb, line, vl);
    verb[vl] = 0;
    char *args = line + vl;
    const char *fmt = NULL;
    while (isspace((unsigned char)*args))
        args++;
    if (*args == '/') {
        fmt = ++args;
        size_t fl = strcspn(args, " \t");
        args += fl;
        if (*args)
            *args++ = 0;
        while (isspace((unsigned char)*args))
            args++;
    }
    size_t al = strlen(args);
    while (al && isspace((unsigned char)args[al - 1]))
        args[--al] = 0;

    struct machine *m = machine_of();
    if (!strcmp(verb, "help") || !strcmp(verb, "h") || !strcmp(verb, "?")) {
        cmd_help(o);
        return MONITOR_OK;
    }
    if (!strcmp(verb, "quit") || !strcmp(verb, "q")) {
        mainloop_request_exit(0);
        return MONITOR_QUIT;
    }
    if (!m || !monitor_cpu()) {
        fprintf(o, "no machine\n");
        return MONITOR_ERROR;
    }
    if (!strcmp(verb, "x") || !strcmp(verb, "xp"))
        return cmd_examine(verb[1] == 'p', fmt, args, o);
    if (fmt) {
        fprintf(o, "%s: does not take a /FMT\n", verb);
        return MONITOR_ERROR;
    }
    if (!strcmp(verb, "info") || !strcmp(verb, "i"))
        return cmd_info(args, o);
    if (!strcmp(verb, "regs") || !strcmp(verb, "registers"))
        return cmd_info("registers", o);
    if (!strcmp(verb, "tlb"))
        return cmd_info("tlb", o);
    if (!strcmp(verb, "pagewalk") || !strcmp(verb, "pw"))
        return cmd_pagewalk(args, o);
    if (!strcmp(verb, "disas") || !strcmp(verb, "disassemble")) {
        struct vcpu *v = monitor_cpu();
        uint64_t addr = monitor_pc(v), n = 10;
        char a1[256] = "", a2[64] = "";
        if (sscanf(args, "%255s %63s", a1, a2) >= 1 && monitor_eval(a1, &addr, o))
            return MONITOR_ERROR;
        if (a2[0]) {
            char *end;
            n = strtoull(a2, &end, 0);
            if (*end || n == 0 || n > 10000) {
                fprintf(o, "disas: N must be 1..10000\n");
                return MONITOR_ERROR;
            }
        }
        monitor_disas(v, addr, n, o);
        return MONITOR_OK;
    }
    if (!strcmp(verb, "stop")) {
        debugger_cancel_run();
        mainloop_pause();
        return MONITOR_OK;
    }
    if (!strcmp(verb, "system_reset")) {
        debugger_cancel_run();
        bus_request(&m->bus, MACHINE_REQ_RESET, 0);
        return MONITOR_OK;
    }
    if (!strcmp(verb, "trace")) {
        if (!strcmp(args, "on"))
            log_mask |= LOG_EXEC;
        else if (!strcmp(args, "off"))
            log_mask &= ~(uint32_t)LOG_EXEC;
        else if (args[0]) {
            fprintf(o, "trace: on or off\n");
            return MONITOR_ERROR;
        }
        fprintf(o, "trace (-d exec) is %s\n", (log_mask & LOG_EXEC) ? "on" : "off");
        return MONITOR_OK;
    }
    int rc = debugger_command(verb, args, o);
    if (rc != DEBUGGER_NOT_MINE)
        return rc;
    fprintf(o, "unknown command: '%s' (try help)\n", verb);
    return MONITOR_ERROR;
}

/* ---------------------------------------------------------------- HMP front (-monitor) */

static struct {
    bool open;
    bool mux;            /* serial console shares stdio: Ctrl-A c switches */
    bool focus;          /* mux: input goes to the monitor */
    char line[1024];
    size_t len;
} hmp;

static void hmp_prompt(void)
{
    fputs("(qemu) ", stdout);
    fflush(stdout);
}

static void hmp_run_line(void)
{
    hmp.line[hmp.len] = 0;
    hmp.len = 0;
    int rc = monitor_exec(hmp.line, stdout);
    if (rc != MONITOR_QUIT)
        hmp_prompt();
    else
        fflush(stdout);
}

static void hmp_stdin_ready(void *opaque, short revents)
{
    char buf[512];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        /* EOF: the monitor goes away, the guest keeps running (QEMU does the same). */
        mainloop_remove_fd(STDIN_FILENO);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < n && buf[i + 1] == '\n')
                i++;
            hmp_run_line();
        } else if (hmp.len + 1 < sizeof(hmp.line)) {
            hmp.line[hmp.len++] = c;
        }
    }
}

int monitor_open(struct machine *m, const char *spec, bool serial_on_stdio, char *err,
                 size_t err_len)
{
    mon_machine = m;
    if (!strcmp(spec, "none") || !strcmp(spec, "null"))
        return 0;
    bool mux = !strcmp(spec, "mon:stdio") || serial_on_stdio;
    if (strcmp(spec, "stdio") && strcmp(spec, "mon:stdio")) {
        snprintf(err, err_len, "-monitor %s: unsupported (use stdio or none)", spec);
        return -1;
    }
    hmp.open = true;
    hmp.mux = mux;
    mainloop_set_debug_hook(debugger_hook, NULL);
    printf("QEMU %s monitor - type 'help' for more information\n", QTEMU_VERSION);
    if (mux) {
        /* stdin belongs to the serial console until Ctrl-A c. */
        fflush(stdout);
        return 0;
    }
    hmp_prompt();
    if (mainloop_add_fd(STDIN_FILENO, POLLIN, hmp_stdin_ready, NULL)) {
        snprintf(err, err_len, "-monitor %s: too many main-loop sources", spec);
        return -1;
    }
    return 0;
}

bool monitor_mux_toggle(void)
{
    if (!hmp.open || !hmp.mux)
        return false;
    hmp.focus = !hmp.focus;
    if (hmp.focus) {
        fputs("\r\n", stdout);
        hmp_prompt();
    }
    return hmp.focus;
}

bool monitor_mux_focus(void)
{
    return hmp.open && hmp.mux && hmp.focus;
}

void monitor_mux_byte(uint8_t b)
{
    /* Raw terminal: echo ourselves, handle erase, run at CR/LF. */
    if (b == '\r' || b == '\n') {
        fputs("\r\n", stdout);
        hmp_run_line();
        return;
    }
    if (b == 0x7f || b == 0x08) {
        if (hmp.len) {
            hmp.len--;
            fputs("\b \b", stdout);
        }
    } else if (b >= 0x20 && hmp.len + 1 < sizeof(hmp.line)) {
        hmp.line[hmp.len++] = (char)b;
        fputc(b, stdout);
    }
    fflush(stdout);
}
