/*
 * frontend/gdbstub.c - a GDB remote serial protocol server (gdb's manual,
 * appendix E "GDB Remote Serial Protocol"), on the main loop's fds.
 *
 * What it speaks (everything through the vCPU interface, cpu/vcpu.h, so it
 * works the same on every backend):
 *  - packets $DATA#CS with '+'/'-' acks (a bad checksum gets '-', gdb
 *    resends), QStartNoAckMode, Ctrl-C (0x03 between packets) -> stop T02;
 *  - qSupported (PacketSize, qXfer:features:read+, swbreak+, hwbreak+,
 *    vContSupported+), qXfer:features:read:target.xml (E.4 "Target
 *    Descriptions"; i386:x86-64 with gdb's features org.gnu.gdb.i386.core,
 *    .sse, .segments and a qtemu feature for k_gs_base/CRx/EFER),
 *    qAttached, qC, qfThreadInfo/qsThreadInfo (thread N = vCPU N-1),
 *    H g/c, T, ?;
 *  - g/G/p/P in the fixed 64-bit layout (QEMU's numbering: 16 GPRs, rip,
 *    eflags, 6 selectors, st0-7, 8 x87 control registers, xmm0-15, mxcsr,
 *    fs_base, gs_base, k_gs_base, cr0, cr2, cr3, cr4, cr8, efer): the layout
 *    never changes when the guest switches modes;
 *  - m/M through the selected vCPU's page tables (read_virt/write_virt; a
 *    partly mapped range returns the readable prefix), or guest-physical
 *    with QEMU's Qqemu.PhyMemMode:1 (gpa_read/gpa_write: writes to code pages
 *    invalidate predecoded blocks either way);
 *  - Z0-Z4/z0-z4 on every vCPU (software and hardware breakpoints are the
 *    same thing in an emulator; no guest memory is patched, hence swbreak+);
 *  - c/C/s/S/vCont (c, C, s, S with optional thread ids: the first action
 *    decides; a step steps the named vCPU and the others stay stopped
 *    because everything runs on one thread anyway);
 *  - stop replies T05 with swbreak:, hwbreak:, watch:/rwatch:/awatch:ADDR;
 *  - D (remove everything gdb inserted, resume), k (qtemu exits 0, as QEMU).
 * Anything else gets the empty reply ("not supported"); malformed packets
 * get E01 (bad syntax), E14 (memory not accessible), E22 (bad argument);
 * the session goes on.
 *
 * Decided:
 *  - as QEMU, the guest stops when gdb connects (gdb expects a stopped target
 *    and asks '?'), and resumes when gdb detaches or the connection drops
 *    (breakpoints removed);
 *  - the main loop's debug hook is single (frontend/monitor.h documents the
 *    dispatcher): gdbstub_start() installs ours and remembers the previous
 *    owner (the built-in debugger/monitor, if it was installed first); stops
 *    while no gdb client is attached are passed to that previous hook, or the
 *    guest just resumes if there is none;
 *  - one client at a time; a second connection is refused (closed).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "util/log.h"
#include "util/sockspec.h"

#define GDB_PACKET_MAX 16384      /* largest packet we accept (data bytes) */
#define GDB_PACKET_SIZE 0x4000    /* PacketSize we announce: same bound */
#define GDB_MEM_MAX ((GDB_PACKET_SIZE - 32) / 2)   /* bytes one 'm' reply can carry */

/* Register numbers of our target description (QEMU's x86-64 order). */
enum {
    GR_RAX = 0, GR_RIP = 16, GR_EFLAGS = 17, GR_CS = 18, GR_ST0 = 24, GR_FCTRL = 32,
    GR_XMM0 = 40, GR_MXCSR = 56, GR_FS_BASE = 57, GR_GS_BASE, GR_K_GS_BASE, GR_CR0, GR_CR2,
    GR_CR3, GR_CR4, GR_CR8, GR_EFER, GR_COUNT
};

/* gdb's amd64 GPR order -> our gpr[] index (RAX RCX RDX RBX RSP RBP RSI RDI). */
static const int gdb_gpr_map[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };
/* gdb's selector order cs ss ds es fs gs -> seg_sel[] (ES CS SS DS FS GS). */
static const int gdb_seg_map[6] = { 1, 2, 3, 0, 4, 5 };

static const char target_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>i386:x86-64</architecture>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<flags id=\"i386_eflags\" size=\"4\">"
    "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
    "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
    "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
    "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
    "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
    "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>\n"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v8bf16\" type=\"bfloat16\" count=\"8\"/>"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\"><field name=\"v8_bfloat16\" type=\"v8bf16\"/>"
    "<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
    "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
    "<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
    "<field name=\"uint128\" type=\"uint128\"/></union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">"
    "<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
    "<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
    "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
    "<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
    "<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
    "</flags>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>\n"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.segments\">\n"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>\n"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "<feature name=\"org.qtemu.gdb.i386.sys\">\n"
    "<reg name=\"k_gs_base\" bitsize=\"64\" type=\"int\" group=\"system\" regnum=\"59\"/>\n"
    "<reg name=\"cr0\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "<reg name=\"cr4\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "<reg name=\"cr8\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "<reg name=\"efer\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "</feature>\n"
    "</target>\n";

/** The server and its one client. */
struct gdbstub {
    struct machine *m;
    int listen_fd, fd;             /* fd = -1 without a client */
    /* input state machine */
    enum { RX_IDLE, RX_DATA, RX_ESC, RX_CS1, RX_CS2 } rx;
    char pkt[GDB_PACKET_MAX + 1];
    size_t pkt_len;
    bool pkt_overlong;
    uint8_t sum, cs_hi;
    /* output */
    char *out;
    size_t out_len, out_cap;
    char *last;                    /* last packet sent, for '-' resends */
    size_t last_len;
    bool no_ack;
    bool phys_mem;                 /* Qqemu.PhyMemMode:1 */
    bool running;                  /* resumed by gdb: a stop reply is owed */
    int g_cpu, c_cpu;              /* vCPU index for register/memory and for step */
    void (*prev_hook)(void *opaque, struct vcpu *vcpu);
    void *prev_opaque;
    /* output sink: the socket, or a test buffer */
    void (*sink)(struct gdbstub *gs, const char *buf, size_t len);
};

static struct gdbstub *the_stub;

/* ---------------------------------------------------------------- output */

static void out_append(struct gdbstub *gs, const char *buf, size_t len)
{
    if (gs->out_len + len > gs->out_cap) {
        size_t cap = gs->out_cap ? gs->out_cap : 4096;
        while (cap < gs->out_len + len)
            cap *= 2;
        char *n = realloc(gs->out, cap);
        if (!n)
            return;            /* out of memory: drop; gdb times out and resends */
        gs->out = n;
        gs->out_cap = cap;
    }
    memcpy(gs->out + gs->out_len, buf, len);
    gs->out_len += len;
}

static void sock_flush(struct gdbstub *gs);

static void sock_sink(struct gdbstub *gs, const char *buf, size_t len)
{
    out_append(gs, buf, len);
    sock_flush(gs);
}

static void sock_flush(struct gdbstub *gs)
{
    size_t done = 0;
    while (gs->fd >= 0 && done < gs->out_len) {
        ssize_t n = write(gs->fd, gs->out + done, gs->out_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    memmove(gs->out, gs->out + done, gs->out_len - done);
    gs->out_len -= done;
    if (gs->fd >= 0)
        mainloop_set_fd_events(gs->fd, POLLIN | (gs->out_len ? POLLOUT : 0));
}

/** Frame @data as $data#cs and send it (and keep it for a resend). */
static void send_packet(struct gdbstub *gs, const char *data, size_t len)
{
    char *p = malloc(len + 5);     /* '$' data '#' 2 digits, and snprintf's NUL */
    if (!p)
        return;
    uint8_t sum = 0;
    p[0] = '$';
    for (size_t i = 0; i < len; i++) {
        p[1 + i] = data[i];
        sum += (uint8_t)data[i];
    }
    snprintf(p + 1 + len, 4, "#%02x", sum);
    free(gs->last);
    gs->last = p;
    gs->last_len = len + 4;
    gs->sink(gs, p, len + 4);
}

static void send_str(struct gdbstub *gs, const char *s)
{
    send_packet(gs, s, strlen(s));
}

/* ---------------------------------------------------------------- helpers */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse a hex number at *p (at least one digit, at most 16). */
static bool parse_hex(const char **p, uint64_t *v)
{
    uint64_t x = 0;
    int n = 0;
    while (hexval(**p) >= 0) {
        if (++n > 16)
            return false;
        x = x << 4 | (uint64_t)hexval(**p);
        (*p)++;
    }
    *v = x;
    return n > 0;
}

static void put_hex_bytes(char *dst, const uint8_t *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = hex[src[i] >> 4];
        dst[2 * i + 1] = hex[src[i] & 15];
    }
}

/* Decode 2*@n hex digits into @dst; false on a non-hex digit or short input. */
static bool get_hex_bytes(uint8_t *dst, const char *src, size_t src_len, size_t n)
{
    if (src_len < 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(src[2 * i]), lo = hexval(src[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static struct vcpu *cpu_of(struct gdbstub *gs, int idx)
{
    if (!gs->m || gs->m->ncpus < 1)
        return NULL;
    if (idx < 0 || idx >= gs->m->ncpus)
        idx = 0;
    return gs->m->cpus[idx];
}

/* Thread id (gdb: 1-based, -1 all, 0 any) -> vCPU index, or -2 if no such thread. */
static int thread_to_cpu(struct gdbstub *gs, int64_t tid)
{
    if (tid == -1 || tid == 0)
        return 0;
    if (tid < 1 || !gs->m || tid > gs->m->ncpus)
        return -2;
    return (int)tid - 1;
}

/* Parse a thread id: hex, or "-1". */
static bool parse_tid(const char **p, int64_t *tid)
{
    if (**p == '-' && (*p)[1] == '1') {
        *p += 2;
        *tid = -1;
        return true;
    }
    uint64_t v;
    if (!parse_hex(p, &v) || v > 0x7fffffff)
        return false;
    *tid = (int64_t)v;
    return true;
}

/* ---------------------------------------------------------------- registers */

/* Register @n as target-order bytes into @buf; returns its size or 0 if no such register. */
static size_t reg_get(const struct vcpu_regs_x86 *r, int n, uint8_t *buf)
{
    uint64_t v;
    size_t sz = 8;
    if (n < 16) {
        v = r->gpr[gdb_gpr_map[n]];
    } else if (n == GR_RIP) {
        v = r->rip;
    } else if (n == GR_EFLAGS) {
        v = r->rflags;
        sz = 4;
    } else if (n < GR_ST0) {
        v = r->seg_sel[gdb_seg_map[n - GR_CS]];
        sz = 4;
    } else if (n < GR_FCTRL) {
        memcpy(buf, r->st[n - GR_ST0], 10);
        return 10;
    } else if (n < GR_XMM0) {
        switch (n - GR_FCTRL) {
        case 0: v = r->fcw; break;
        case 1: v = r->fsw; break;
        case 2: v = r->ftw; break;
        case 3: v = r->fcs; break;
        case 4: v = (uint32_t)r->fip; break;
        case 5: v = r->fds; break;
        case 6: v = (uint32_t)r->fdp; break;
        default: v = r->fop; break;
        }
        sz = 4;
    } else if (n < GR_MXCSR) {
        memcpy(buf, r->xmm[n - GR_XMM0], 16);
        return 16;
    } else if (n == GR_MXCSR) {
        v = r->mxcsr;
        sz = 4;
    } else {
        switch (n) {
        case GR_FS_BASE: v = r->fs_base; break;
        case GR_GS_BASE: v = r->gs_base; break;
        case GR_K_GS_BASE: v = r->kernel_gs_base; break;
        case GR_CR0: v = r->cr0; break;
        case GR_CR2: v = r->cr2; break;
        case GR_CR3: v = r->cr3; break;
        case GR_CR4: v = r->cr4; break;
        case GR_CR8: v = r->cr8; break;
        case GR_EFER: v = r->efer; break;
        default: return 0;
        }
    }
    for (size_t i = 0; i < sz; i++)
        buf[i] = (uint8_t)(v >> (8 * i));
    return sz;
}

/* Size of register @n in bytes (0: none). */
static size_t reg_size(int n)
{
    struct vcpu_regs_x86 r = {0};
    uint8_t buf[16];
    return n >= 0 && n < GR_COUNT ? reg_get(&r, n, buf) : 0;
}

/*
 * Set register @n from @buf. Selectors and control registers are read-only
 * through the vCPU interface (set_regs ignores them): writes to them are
 * accepted and have no effect, as the interface documents.
 */
static void reg_set(struct vcpu_regs_x86 *r, int n, const uint8_t *buf)
{
    size_t sz = reg_size(n);
    uint64_t v = 0;
    if (sz <= 8)
        for (size_t i = 0; i < sz; i++)
            v |= (uint64_t)buf[i] << (8 * i);
    if (n < 16)
        r->gpr[gdb_gpr_map[n]] = v;
    else if (n == GR_RIP)
        r->rip = v;
    else if (n == GR_EFLAGS)
        r->rflags = (uint32_t)v;
    else if (n < GR_ST0)
        r->seg_sel[gdb_seg_map[n - GR_CS]] = (uint16_t)v;
    else if (n < GR_FCTRL)
        memcpy(r->st[n - GR_ST0], buf, 10);
    else if (n < GR_XMM0) {
        switch (n - GR_FCTRL) {
        case 0: r->fcw = (uint16_t)v; break;
        case 1: r->fsw = (uint16_t)v; break;
        case 2: r->ftw = (uint16_t)v; break;
        case 3: r->fcs = (uint16_t)v; break;
        case 4: r->fip = (uint32_t)v; break;
        case 5: r->fds = (uint16_t)v; break;
        case 6: r->fdp = (uint32_t)v; break;
        default: r->fop = (uint16_t)v; break;
        }
    } else if (n < GR_MXCSR)
        memcpy(r->xmm[n - GR_XMM0], buf, 16);
    else if (n == GR_MXCSR)
        r->mxcsr = (uint32_t)v;
    else if (n == GR_FS_BASE)
        r->fs_base = v;
    else if (n == GR_GS_BASE)
        r->gs_base = v;
    else if (n == GR_K_GS_BASE)
        r->kernel_gs_base = v;
}

/* @v's registers into @r (zeroed first: a backend may leave fields alone). */
static void regs_of(struct vcpu *v, struct vcpu_regs_x86 *r)
{
    memset(r, 0, sizeof(*r));
    v->ops->get_regs(v, r);
}

/* The g-thread's vCPU with its registers in @r, or NULL after replying E01. */
static struct vcpu *g_cpu_regs(struct gdbstub *gs, struct vcpu_regs_x86 *r)
{
    struct vcpu *v = cpu_of(gs, gs->g_cpu);
    if (!v) {
        send_str(gs, "E01");
        return NULL;
    }
    regs_of(v, r);
    return v;
}

static void cmd_read_regs(struct gdbstub *gs)
{
    struct vcpu_regs_x86 r;
    struct vcpu *v = g_cpu_regs(gs, &r);
    if (!v)
        return;
    char out[2 * 16 * GR_COUNT + 1];
    size_t len = 0;
    for (int n = 0; n < GR_COUNT; n++) {
        uint8_t buf[16];
        size_t sz = reg_get(&r, n, buf);
        put_hex_bytes(out + len, buf, sz);
        len += 2 * sz;
    }
    send_packet(gs, out, len);
}

static void cmd_write_regs(struct gdbstub *gs, const char *p, size_t len)
{
    struct vcpu_regs_x86 r;
    struct vcpu *v = g_cpu_regs(gs, &r);
    if (!v)
        return;
    size_t off = 0;
    /* gdb may send fewer registers than we describe: set the prefix it sent. */
    for (int n = 0; n < GR_COUNT && off < len; n++) {
        uint8_t buf[16];
        size_t sz = reg_size(n);
        if (!get_hex_bytes(buf, p + off, len - off, sz)) {
            send_str(gs, "E01");
            return;
        }
        reg_set(&r, n, buf);
        off += 2 * sz;
    }
    v->ops->set_regs(v, &r);
    send_str(gs, "OK");
}

static void cmd_read_reg(struct gdbstub *gs, const char *p)
{
    uint64_t n;
    struct vcpu *v = cpu_of(gs, gs->g_cpu);
    if (!parse_hex(&p, &n) || *p || !v) {
        send_str(gs, "E01");
        return;
    }
    if (n >= GR_COUNT) {
        send_str(gs, "E22");
        return;
    }
    struct vcpu_regs_x86 r;
    regs_of(v, &r);
    uint8_t buf[16];
    size_t sz = reg_get(&r, (int)n, buf);
    char out[33];
    put_hex_bytes(out, buf, sz);
    send_packet(gs, out, 2 * sz);
}

static void cmd_write_reg(struct gdbstub *gs, const char *p, size_t len)
{
    const char *start = p;
    uint64_t n;
    struct vcpu *v = cpu_of(gs, gs->g_cpu);
    if (!parse_hex(&p, &n) || *p != '=' || !v) {
        send_str(gs, "E01");
        return;
    }
    p++;
    if (n >= GR_COUNT) {
        send_str(gs, "E22");
        return;
    }
    size_t sz = reg_size((int)n);
    uint8_t buf[16];
    if (!get_hex_bytes(buf, p, len - (size_t)(p - start), sz)) {
        send_str(gs, "E01");
        return;
    }
    struct vcpu_regs_x86 r;
    regs_of(v, &r);
    reg_set(&r, (int)n, buf);
    v->ops->set_regs(v, &r);
    send_str(gs, "OK");
}

/* ---------------------------------------------------------------- memory */

/* Read up to @len bytes at @addr page by page; returns how many were readable. */
static uint64_t mem_read(struct gdbstub *gs, uint64_t addr, uint8_t *buf, uint64_t len)
{
    struct vcpu *v = cpu_of(gs, gs->g_cpu);
    uint64_t done = 0;
    while (done < len) {
        uint64_t a = addr + done;
        uint64_t chunk = GUEST_PAGE_SIZE - (a & (GUEST_PAGE_SIZE - 1));
        if (chunk > len - done)
            chunk = len - done;
        int rc;
        if (gs->phys_mem)
            rc = gpa_read(&gs->m->mem, a, buf + done, chunk);
        else
            rc = v ? v->ops->read_virt(v, a, buf + done, chunk) : -EFAULT;
        if (rc)
            break;
        done += chunk;
    }
    return done;
}

static void cmd_read_mem(struct gdbstub *gs, const char *p)
{
    uint64_t addr, len;
    if (!parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &len) || *p) {
        send_str(gs, "E01");
        return;
    }
    if (len > GDB_MEM_MAX)
        len = GDB_MEM_MAX;    /* a shorter reply is allowed */
    uint8_t buf[GDB_MEM_MAX];
    uint64_t got = mem_read(gs, addr, buf, len);
    if (!got && len) {
        send_str(gs, "E14");
        return;
    }
    char out[2 * GDB_MEM_MAX];
    put_hex_bytes(out, buf, got);
    send_packet(gs, out, 2 * got);
}

static void cmd_write_mem(struct gdbstub *gs, const char *p, size_t plen)
{
    const char *start = p;
    uint64_t addr, len;
    if (!parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &len) || *p++ != ':' ||
        len > GDB_PACKET_MAX / 2) {
        send_str(gs, "E01");
        return;
    }
    uint8_t buf[GDB_PACKET_MAX / 2];
    if (!get_hex_bytes(buf, p, plen - (size_t)(p - start), len)) {
        send_str(gs, "E01");
        return;
    }
    struct vcpu *v = cpu_of(gs, gs->g_cpu);
    int rc;
    if (!len)
        rc = 0;
    else if (gs->phys_mem)
        rc = gpa_write(&gs->m->mem, addr, buf, len);
    else
        rc = v ? v->ops->write_virt(v, addr, buf, len) : -EFAULT;
    send_str(gs, rc ? "E14" : "OK");
}

/* ---------------------------------------------------------------- breakpoints */

static void cmd_breakpoint(struct gdbstub *gs, bool insert, const char *p)
{
    uint64_t type, addr, kind;
    if (!parse_hex(&p, &type) || *p++ != ',' || !parse_hex(&p, &addr) || *p++ != ',' ||
        !parse_hex(&p, &kind)) {
        send_str(gs, "E01");
        return;
    }
    /* conditions/commands after ';' (Z0 "cond_list") are not supported. */
    if (*p) {
        send_str(gs, "");
        return;
    }
    if (type > VCPU_WP_ACCESS) {
        send_str(gs, "");           /* unsupported type: empty reply */
        return;
    }
    uint64_t len = type <= VCPU_BP_HW ? 1 : kind;
    int rc = 0;
    for (int i = 0; gs->m && i < gs->m->ncpus; i++) {
        struct vcpu *v = gs->m->cpus[i];
        int r = insert ? v->ops->insert_bp(v, (enum vcpu_bp_kind)type, addr, len)
                       : v->ops->remove_bp(v, (enum vcpu_bp_kind)type, addr, len);
        if (r && !rc)
            rc = r;
    }
    if (rc == -ENOSPC)
        send_str(gs, "E28");
    else if (rc == -ENOENT)
        send_str(gs, "E02");
    else if (rc)
        send_str(gs, "E22");
    else
        send_str(gs, "OK");
}

/* ---------------------------------------------------------------- run control */

static void stop_reply(struct gdbstub *gs, struct vcpu *v, int sig)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "T%02xthread:%02x;", sig, v ? v->index + 1 : 1);
    if (v && sig == 5) {
        const struct vcpu_debug_event *ev = &v->debug_event;
        if (ev->reason == VCPU_DEBUG_BREAKPOINT)
            snprintf(buf + n, sizeof(buf) - (size_t)n, "%s",
                     ev->kind == VCPU_BP_SW ? "swbreak:;" : "hwbreak:;");
        else if (ev->reason == VCPU_DEBUG_WATCHPOINT)
            snprintf(buf + n, sizeof(buf) - (size_t)n, "%s:%llx;",
                     ev->kind == VCPU_WP_READ ? "rwatch" :
                     ev->kind == VCPU_WP_ACCESS ? "awatch" : "watch",
                     (unsigned long long)ev->addr);
    }
    send_str(gs, buf);
}

static void resume(struct gdbstub *gs, bool step, int cpu)
{
    if (step) {
        struct vcpu *v = cpu_of(gs, cpu);
        if (v)
            v->ops->set_single_step(v, true);
    }
    gs->running = true;
    mainloop_resume();
}

/* c [addr] / s [addr]: an address resumes there. */
static void cmd_continue(struct gdbstub *gs, const char *p, bool step, bool has_sig)
{
    uint64_t addr;
    if (has_sig) {          /* C sig[;addr] / S sig[;addr]: the signal is ignored */
        uint64_t sig;
        if (!parse_hex(&p, &sig)) {
            send_str(gs, "E01");
            return;
        }
        if (*p == ';')
            p++;
    }
    if (*p) {
        if (!parse_hex(&p, &addr) || *p) {
            send_str(gs, "E01");
            return;
        }
        struct vcpu *v = cpu_of(gs, gs->c_cpu);
        if (v) {
            struct vcpu_regs_x86 r;
            regs_of(v, &r);
            r.rip = addr;
            v->ops->set_regs(v, &r);
        }
    }
    resume(gs, step, gs->c_cpu);
}

/* vCont;ACTION[:TID][;ACTION[:TID]]...: the first action that applies decides. */
static void cmd_vcont(struct gdbstub *gs, const char *p)
{
    while (*p == ';') {
        p++;
        char act = *p++;
        if (act == 'C' || act == 'S') {
            uint64_t sig;
            if (!parse_hex(&p, &sig)) {
                send_str(gs, "E01");
                return;
            }
            act = act == 'C' ? 'c' : 's';
        }
        if (act != 'c' && act != 's') {
            send_str(gs, "E01");        /* 't' (stop) and 'r' (range step) unsupported */
            return;
        }
        int cpu = gs->c_cpu;
        if (*p == ':') {
            p++;
            int64_t tid;
            if (!parse_tid(&p, &tid) || (cpu = thread_to_cpu(gs, tid)) < 0) {
                send_str(gs, "E22");
                return;
            }
        }
        if (*p && *p != ';') {
            send_str(gs, "E01");
            return;
        }
        resume(gs, act == 's', cpu);
        return;
    }
    send_str(gs, "E01");
}

static void cmd_detach(struct gdbstub *gs)
{
    for (int i = 0; gs->m && i < gs->m->ncpus; i++) {
        gs->m->cpus[i]->ops->remove_all_bp(gs->m->cpus[i]);
        gs->m->cpus[i]->ops->set_single_step(gs->m->cpus[i], false);
    }
    gs->running = false;
    gs->phys_mem = false;
    mainloop_resume();
}

/* ---------------------------------------------------------------- queries */

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void cmd_xfer_features(struct gdbstub *gs, const char *p)
{
    static const char annex[] = "target.xml:";
    if (strncmp(p, annex, strlen(annex))) {
        send_str(gs, "E00");      /* unknown annex */
        return;
    }
    p += strlen(annex);
    uint64_t off, len;
    if (!parse_hex(&p, &off) || *p++ != ',' || !parse_hex(&p, &len) || *p) {
        send_str(gs, "E01");
        return;
    }
    size_t total = sizeof(target_xml) - 1;
    if (off > total) {
        send_str(gs, "E22");
        return;
    }
    if (len > GDB_PACKET_SIZE / 2 - 8)
        len = GDB_PACKET_SIZE / 2 - 8;
    size_t n = total - off < len ? total - off : len;
    char out[GDB_PACKET_SIZE + 2];
    size_t o = 0;
    out[o++] = off + n < total ? 'm' : 'l';
    for (size_t i = 0; i < n; i++) {        /* binary data: escape $ # } * (E.1) */
        char c = target_xml[off + i];
        if (c == '$' || c == '#' || c == '}' || c == '*') {
            out[o++] = '}';
            out[o++] = (char)(c ^ 0x20);
        } else {
            out[o++] = c;
        }
    }
    send_packet(gs, out, o);
}

static void cmd_query(struct gdbstub *gs, const char *p)
{
    if (!strncmp(p, "qSupported", 10)) {
        char buf[128];
        snprintf(buf, sizeof(buf), "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
                 "vContSupported+;QStartNoAckMode+", GDB_PACKET_SIZE);
        send_str(gs, buf);
    } else if (!strncmp(p, "qXfer:features:read:", 20)) {
        cmd_xfer_features(gs, p + 20);
    } else if (!strcmp(p, "qAttached") || !strncmp(p, "qAttached:", 10)) {
        send_str(gs, "1");
    } else if (!strcmp(p, "qC")) {
        char buf[16];
        snprintf(buf, sizeof(buf), "QC%02x", gs->g_cpu + 1);
        send_str(gs, buf);
    } else if (!strcmp(p, "qfThreadInfo")) {
        char buf[8 + 3 * MACHINE_MAX_CPUS];
        size_t o = 0;
        buf[o++] = 'm';
        for (int i = 0; gs->m && i < gs->m->ncpus; i++)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%02x", i ? "," : "", i + 1);
        send_packet(gs, buf, o);
    } else if (!strcmp(p, "qsThreadInfo")) {
        send_str(gs, "l");
    } else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
        const char *q = p + 17;
        int64_t tid;
        int cpu;
        if (!parse_tid(&q, &tid) || *q || (cpu = thread_to_cpu(gs, tid)) < 0) {
            send_str(gs, "E22");
            return;
        }
        char text[32], hex[64];
        int n = snprintf(text, sizeof(text), "vCPU %d", cpu);
        put_hex_bytes(hex, (const uint8_t *)text, (size_t)n);
        send_packet(gs, hex, 2 * (size_t)n);
    } else if (!strcmp(p, "qqemu.PhyMemMode")) {
        send_str(gs, gs->phys_mem ? "1" : "0");
    } else if (!strcmp(p, "qSymbol::")) {
        send_str(gs, "OK");
    } else {
        send_str(gs, "");
    }
}

static void cmd_set(struct gdbstub *gs, const char *p)
{
    if (!strcmp(p, "QStartNoAckMode")) {
        send_str(gs, "OK");
        gs->no_ack = true;
    } else if (!strncmp(p, "Qqemu.PhyMemMode:", 17)) {
        if (!strcmp(p + 17, "1") || !strcmp(p + 17, "0")) {
            gs->phys_mem = p[17] == '1';
            send_str(gs, "OK");
        } else {
            send_str(gs, "E22");
        }
    } else {
        send_str(gs, "");
    }
}

/* ---------------------------------------------------------------- dispatch */

static void handle_packet(struct gdbstub *gs, const char *p, size_t len)
{
    if (!len) {
        send_str(gs, "");
        return;
    }
    if (gs->running && p[0] != 'k') {
        /* gdb does not send packets while the target runs (only Ctrl-C). */
        send_str(gs, "E01");
        return;
    }
    switch (p[0]) {
    case '?':
        stop_reply(gs, cpu_of(gs, gs->g_cpu), 5);
        break;
    case 'g':
        if (len != 1)
            send_str(gs, "E01");
        else
            cmd_read_regs(gs);
        break;
    case 'G':
        cmd_write_regs(gs, p + 1, len - 1);
        break;
    case 'p':
        cmd_read_reg(gs, p + 1);
        break;
    case 'P':
        cmd_write_reg(gs, p + 1, len - 1);
        break;
    case 'm':
        cmd_read_mem(gs, p + 1);
        break;
    case 'M':
        cmd_write_mem(gs, p + 1, len - 1);
        break;
    case 'Z':
    case 'z':
        cmd_breakpoint(gs, p[0] == 'Z', p + 1);
        break;
    case 'c':
    case 's':
        cmd_continue(gs, p + 1, p[0] == 's', false);
        break;
    case 'C':
    case 'S':
        cmd_continue(gs, p + 1, p[0] == 'S', true);
        break;
    case 'H': {
        const char *q = p + 2;
        int64_t tid;
        int cpu;
        if (len < 3 || (p[1] != 'g' && p[1] != 'c') || !parse_tid(&q, &tid) || *q) {
            send_str(gs, "E01");
        } else if ((cpu = thread_to_cpu(gs, tid)) < 0) {
            send_str(gs, "E22");
        } else {
            if (p[1] == 'g')
                gs->g_cpu = cpu;
            else
                gs->c_cpu = cpu;
            send_str(gs, "OK");
        }
        break;
    }
    case 'T': {
        const char *q = p + 1;
        int64_t tid;
        send_str(gs, parse_tid(&q, &tid) && !*q && thread_to_cpu(gs, tid) >= 0 ? "OK" : "E22");
        break;
    }
    case 'D':
        send_str(gs, "OK");
        cmd_detach(gs);
        break;
    case 'k':
        qlog(LOG_GUEST_ERRORS, "gdbstub: kill request: exiting");
        mainloop_request_exit(0);
        break;
    case 'q':
        cmd_query(gs, p);
        break;
    case 'Q':
        cmd_set(gs, p);
        break;
    case 'v':
        if (!strcmp(p, "vCont?"))
            send_str(gs, "vCont;c;C;s;S");
        else if (!strncmp(p, "vCont;", 6))
            cmd_vcont(gs, p + 5);
        else
            send_str(gs, "");       /* vMustReplyEmpty, vKill, vFile...: unsupported */
        break;
    default:
        send_str(gs, "");
        break;
    }
}

/* Ctrl-C from gdb: stop the guest and report SIGINT. */
static void interrupt(struct gdbstub *gs)
{
    if (!gs->running) {
        return;                     /* already stopped: gdb will ask '?' if it cares */
    }
    gs->running = false;
    mainloop_pause();
    stop_reply(gs, cpu_of(gs, gs->c_cpu), 2);
}

/**
 * Feed bytes from the client into the packet state machine (E.1: $data#cs,
 * '}' escapes, acks). Complete packets are acknowledged and handled.
 */
static void rsp_feed(struct gdbstub *gs, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        switch (gs->rx) {
        case RX_IDLE:
            if (c == '$') {
                gs->rx = RX_DATA;
                gs->pkt_len = 0;
                gs->pkt_overlong = false;
                gs->sum = 0;
            } else if (c == 0x03) {
                interrupt(gs);
            } else if (c == '-' && !gs->no_ack && gs->last) {
                gs->sink(gs, gs->last, gs->last_len);
            }
            /* '+' and garbage between packets are ignored */
            break;
        case RX_DATA:
        case RX_ESC:
            if (c == '#' && gs->rx == RX_DATA) {
                gs->rx = RX_CS1;
                break;
            }
            gs->sum += c;
            if (gs->rx == RX_DATA && c == '}') {
                gs->rx = RX_ESC;
                break;
            }
            if (gs->rx == RX_ESC) {
                c ^= 0x20;
                gs->rx = RX_DATA;
            }
            if (gs->pkt_len < GDB_PACKET_MAX)
                gs->pkt[gs->pkt_len++] = (char)c;
            else
                gs->pkt_overlong = true;
            break;
        case RX_CS1:
            if (hexval(c) < 0) {
                gs->rx = RX_IDLE;
                if (!gs->no_ack)
                    gs->sink(gs, "-", 1);
                break;
            }
            gs->cs_hi = (uint8_t)hexval(c);
            gs->rx = RX_CS2;
            break;
        case RX_CS2: {
            gs->rx = RX_IDLE;
            int lo = hexval(c);
            if (lo < 0 || (uint8_t)(gs->cs_hi << 4 | lo) != gs->sum) {
                if (!gs->no_ack)
                    gs->sink(gs, "-", 1);
                break;
            }
            if (!gs->no_ack)
                gs->sink(gs, "+", 1);
            if (gs->pkt_overlong) {
                send_str(gs, "E01");
                break;
            }
            gs->pkt[gs->pkt_len] = 0;
            /* Embedded NULs (from escapes) would truncate string parsing:
             * treat such packets as malformed. */
            if (memchr(gs->pkt, 0, gs->pkt_len)) {
                send_str(gs, "E01");
                break;
            }
            handle_packet(gs, gs->pkt, gs->pkt_len);
            break;
        }
        }
    }
}

/* ---------------------------------------------------------------- main-loop glue */

static void client_close(struct gdbstub *gs)
{
    if (gs->fd < 0)
        return;
    mainloop_remove_fd(gs->fd);
    close(gs->fd);
    gs->fd = -1;
    gs->out_len = 0;
    gs->rx = RX_IDLE;
    gs->no_ack = false;
    /* As QEMU: a vanished debugger must not leave the guest stopped. */
    cmd_detach(gs);
}

static void client_ready(void *opaque, short revents)
{
    struct gdbstub *gs = opaque;
    if (revents & POLLOUT)
        sock_flush(gs);
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        uint8_t buf[4096];
        ssize_t n = read(gs->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            client_close(gs);
            return;
        }
        rsp_feed(gs, buf, (size_t)n);
    }
}

static void listen_ready(void *opaque, short revents)
{
    struct gdbstub *gs = opaque;
    int fd = sockspec_accept(gs->listen_fd);
    if (fd < 0)
        return;
    if (gs->fd >= 0) {              /* one debugger at a time */
        close(fd);
        return;
    }
    if (mainloop_add_fd(fd, POLLIN, client_ready, gs)) {
        close(fd);
        return;
    }
    gs->fd = fd;
    gs->rx = RX_IDLE;
    gs->no_ack = false;
    gs->phys_mem = false;
    gs->g_cpu = gs->c_cpu = 0;
    gs->running = false;
    mainloop_pause();               /* gdb expects a stopped target (QEMU does the same) */
}

/* The main loop's debug hook: a vCPU stopped on a breakpoint/watchpoint/step. */
static void debug_hook(void *opaque, struct vcpu *v)
{
    struct gdbstub *gs = opaque;
    v->ops->set_single_step(v, false);
    if (gs->fd >= 0) {
        gs->running = false;
        gs->g_cpu = gs->c_cpu = v->index;
        stop_reply(gs, v, 5);
        return;
    }
    if (gs->prev_hook)
        gs->prev_hook(gs->prev_opaque, v);
    else
        mainloop_resume();
}

int gdbstub_start(struct machine *m, const char *spec, char *err, size_t err_len)
{
    if (the_stub) {
        snprintf(err, err_len, "-gdb %s: only one gdb server", spec);
        return -1;
    }
    int lfd = sockspec_listen("-gdb", spec, err, err_len);
    if (lfd < 0)
        return -1;
    struct gdbstub *gs = calloc(1, sizeof(*gs));
    if (!gs) {
        close(lfd);
        snprintf(err, err_len, "-gdb: out of memory");
        return -1;
    }
    gs->m = m;
    gs->listen_fd = lfd;
    gs->fd = -1;
    gs->sink = sock_sink;
    if (mainloop_add_fd(lfd, POLLIN, listen_ready, gs)) {
        close(lfd);
        free(gs);
        snprintf(err, err_len, "-gdb: too many main-loop fds");
        return -1;
    }
    mainloop_get_debug_hook(&gs->prev_hook, &gs->prev_opaque);
    mainloop_set_debug_hook(debug_hook, gs);
    the_stub = gs;
    return 0;
}
