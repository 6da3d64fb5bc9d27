/*
 * tests/diff/native.c - the native side of the differential harness: runs
 * each case's instruction on the host CPU inside a forked child.
 *
 * The stub (generated machine code at DIFF_CODE, absolute [disp32]
 * addressing only, so it needs no stack):
 *   save the host's callee-saved GPRs and RSP, FXSAVE64 the host x87/SSE
 *   state; FXRSTOR64 the input image (x87, MXCSR); VMOVDQU the 16 input
 *   YMM registers; RSP = &in.rflags, POPFQ; load the 16 GPRs (RSP last);
 *   JMP to the instruction at DIFF_CODE + DIFF_INSN_OFF, which is followed
 *   by a JMP to the epilogue: store the 16 GPRs, PUSHFQ into out.rflags,
 *   FXSAVE64 + VMOVDQU the output image; then (also the fault recovery
 *   point) CLD, VZEROUPPER, FXRSTOR64 the host state, reload the host GPRs,
 *   RET.
 *
 * Sandbox: the child blocks every signal except SIGSEGV/SIGILL/SIGFPE/
 * SIGBUS/SIGTRAP, which it catches on an alternate stack (RSP holds a test
 * value when they hit): the handler records the hardware vector
 * (uc_mcontext REG_TRAPNO, which Linux fills from the exception) and resumes
 * at the recovery point. alarm() bounds the run; then seccomp strict mode
 * (only read/write/exit/rt_sigreturn) so a stray SYSCALL kills the child
 * instead of touching the host. Results go to shared memory.
 */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>
#include <linux/seccomp.h>

#include "tests/diff/diff.h"

/* STATE page layout */
#define ST_IN      (DIFF_STATE + 0x0)
#define ST_OUT     (DIFF_STATE + 0x800)
#define ST_HOSTGPR (DIFF_STATE + 0x1000)
#define ST_HOSTFX  (DIFF_STATE + 0x1100)
#define OFF_GPR(r)  ((uint64_t)offsetof(struct diff_state, gpr) + 8 * (r))
#define OFF_RFLAGS  ((uint64_t)offsetof(struct diff_state, rflags))
#define OFF_FX      ((uint64_t)offsetof(struct diff_state, fx))
#define OFF_YMM(i)  ((uint64_t)offsetof(struct diff_state, ymm) + 32 * (i))

static bool n_avx;
static uint32_t n_epilogue, n_recover;

/* ---------------------------------------------------------------- stub emitter */

struct emit {
    uint8_t *p;
    uint32_t off;
};

static void e8(struct emit *e, uint8_t b) { e->p[e->off++] = b; }
static void e32(struct emit *e, uint32_t v)
{
    memcpy(e->p + e->off, &v, 4);
    e->off += 4;
}

/** ModRM reg=@reg, rm=100 + SIB 0x25 + disp32: the absolute [@addr]. */
static void e_abs(struct emit *e, unsigned reg, uint64_t addr)
{
    e8(e, (uint8_t)(0x04 | ((reg & 7) << 3)));
    e8(e, 0x25);
    e32(e, (uint32_t)addr);
}

/** MOV r64, [addr] (@store: MOV [addr], r64). */
static void e_mov(struct emit *e, unsigned r, uint64_t addr, bool store)
{
    e8(e, (uint8_t)(0x48 | ((r >> 3) << 2)));
    e8(e, store ? 0x89 : 0x8b);
    e_abs(e, r, addr);
}

/** FXSAVE64 (/0) or FXRSTOR64 (/1) [addr]. */
static void e_fx(struct emit *e, unsigned digit, uint64_t addr)
{
    e8(e, 0x48);
    e8(e, 0x0f);
    e8(e, 0xae);
    e_abs(e, digit, addr);
}

/** VMOVDQU ymm, [addr] / [addr], ymm; or MOVDQU xmm without AVX. */
static void e_vec(struct emit *e, unsigned i, uint64_t addr, bool store)
{
    if (n_avx) {
        e8(e, 0xc4);
        e8(e, (uint8_t)((i < 8 ? 0x80 : 0) | 0x60 | 0x01));
        e8(e, 0x7e);     /* W0 vvvv=1111 L1 pp=F3 */
    } else {
        e8(e, 0xf3);
        if (i >= 8)
            e8(e, 0x44);
        e8(e, 0x0f);
    }
    e8(e, store ? 0x7f : 0x6f);
    e_abs(e, i, addr);
}

static void e_jmp(struct emit *e, uint32_t target)
{
    e8(e, 0xe9);
    e32(e, target - (e->off + 4));
}

static const unsigned host_saved[] = { 3, 4, 5, 12, 13, 14, 15 };   /* RBX RSP RBP R12-R15 */

static void build_stub(uint8_t *code)
{
    struct emit e = { code, 0 };
    memset(code, 0xcc, DIFF_PAGE);
    for (unsigned k = 0; k < sizeof(host_saved) / sizeof(host_saved[0]); k++)
        e_mov(&e, host_saved[k], ST_HOSTGPR + 8 * host_saved[k], true);
    e_fx(&e, 0, ST_HOSTFX);
    e_fx(&e, 1, ST_IN + OFF_FX);
    for (unsigned i = 0; i < 16; i++)
        e_vec(&e, i, ST_IN + OFF_YMM(i), false);
    e8(&e, 0x48), e8(&e, 0xc7), e8(&e, 0xc4), e32(&e, (uint32_t)(ST_IN + OFF_RFLAGS)); /* mov rsp, imm */
    e8(&e, 0x9d);                                                                       /* popfq */
    for (unsigned r = 0; r < 16; r++)
        if (r != 4)
            e_mov(&e, r, ST_IN + OFF_GPR(r), false);
    e_mov(&e, 4, ST_IN + OFF_GPR(4), false);
    e_jmp(&e, DIFF_INSN_OFF);

    e.off = n_epilogue = 0x900;
    for (unsigned r = 0; r < 16; r++)
        e_mov(&e, r, ST_OUT + OFF_GPR(r), true);
    e8(&e, 0x48), e8(&e, 0xc7), e8(&e, 0xc4), e32(&e, (uint32_t)(ST_OUT + OFF_RFLAGS + 8));
    e8(&e, 0x9c);                                                                       /* pushfq */
    e_fx(&e, 0, ST_OUT + OFF_FX);
    for (unsigned i = 0; i < 16; i++)
        e_vec(&e, i, ST_OUT + OFF_YMM(i), true);

    n_recover = e.off;
    e8(&e, 0xfc);                                   /* cld */
    if (n_avx)
        e8(&e, 0xc5), e8(&e, 0xf8), e8(&e, 0x77);   /* vzeroupper */
    e_fx(&e, 1, ST_HOSTFX);
    for (unsigned k = 0; k < sizeof(host_saved) / sizeof(host_saved[0]); k++)
        e_mov(&e, host_saved[k], ST_HOSTGPR + 8 * host_saved[k], false);
    e8(&e, 0xc3);                                   /* ret */
}

int native_init(bool *have_avx)
{
    unsigned a, b, c, d;
    n_avx = false;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && (c & bit_AVX)) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        n_avx = (lo & 6) == 6;
    }
    *have_avx = n_avx;
    void *p = mmap((void *)DIFF_CODE, DIFF_PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)DIFF_CODE)
        return p == MAP_FAILED ? -errno : -EEXIST;
    p = mmap((void *)DIFF_DATA, DIFF_PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)DIFF_DATA)
        return p == MAP_FAILED ? -errno : -EEXIST;
    p = mmap((void *)DIFF_STATE, DIFF_STATE_SZ, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)DIFF_STATE)
        return p == MAP_FAILED ? -errno : -EEXIST;
    build_stub((uint8_t *)DIFF_CODE);
    return 0;
}

/* ---------------------------------------------------------------- the child */

static volatile int32_t c_vec;
static volatile uint32_t c_err;
static uint8_t c_altstack[65536] __attribute__((aligned(64)));

static void c_handler(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    c_vec = (int32_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    c_err = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];
    /* The registers at the fault (the architectural state before the
     * faulting instruction) become the case's output. */
    static const int map[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI,
                                 REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13,
                                 REG_R14, REG_R15 };
    struct diff_state *out = (struct diff_state *)ST_OUT;
    for (unsigned r = 0; r < 16; r++)
        out->gpr[r] = (uint64_t)uc->uc_mcontext.gregs[map[r]];
    out->rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(DIFF_CODE + n_recover);
    /* The interrupted state's RFLAGS may hold DF/AC: the recovery path runs
     * CLD; clear AC and TF here so it cannot trap again. */
    uc->uc_mcontext.gregs[REG_EFL] &= ~(greg_t)((1 << 18) | (1 << 8));
}

struct shared_hdr {
    volatile unsigned done;
};

static void child_exit(int code)
{
    syscall(SYS_exit, code);   /* exit, not exit_group: seccomp strict allows only exit */
    for (;;)
        ;
}

static void child_main(const struct diff_case *cases, struct diff_result *res, unsigned n,
                       struct shared_hdr *hdr)
{
    stack_t ss = { .ss_sp = c_altstack, .ss_size = sizeof(c_altstack), .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = c_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    static const int caught[] = { SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP };
    sigset_t block;
    sigfillset(&block);
    for (unsigned i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
        sigaction(caught[i], &sa, NULL);
        sigdelset(&block, caught[i]);
    }
    sigdelset(&block, SIGALRM);   /* default action: terminate (the time limit) */
    sigprocmask(SIG_SETMASK, &block, NULL);
    alarm(60);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
        child_exit(3);

    uint8_t *code = (uint8_t *)DIFF_CODE;
    struct diff_state *in = (struct diff_state *)ST_IN, *out = (struct diff_state *)ST_OUT;
    void (*stub)(void) = (void (*)(void))DIFF_CODE;
    for (unsigned k = 0; k < n; k++) {
        const struct diff_case *c = &cases[k];
        struct diff_result *r = &res[k];
        r->vec = DIFF_VEC_CRASH;
        hdr->done = k;
        memcpy(code + DIFF_INSN_OFF, c->bytes, c->len);
        struct emit e = { code, DIFF_INSN_OFF + c->len };
        e_jmp(&e, n_epilogue);
        memcpy(in, &c->in, sizeof(*in));
        memset(out, 0, sizeof(*out));
        memcpy((void *)DIFF_DATA, c->data, DIFF_PAGE);
        c_vec = -1;
        c_err = 0;
        stub();
        r->vec = c_vec;
        r->err = c_err;
        memcpy(&r->out, out, sizeof(*out));
        memcpy(r->data, (void *)DIFF_DATA, DIFF_PAGE);
    }
    hdr->done = n;
    child_exit(0);
}

unsigned native_run(const struct diff_case *cases, struct diff_result *res, unsigned n)
{
    struct shared_hdr *hdr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                  -1, 0);
    size_t rsz = (size_t)n * sizeof(*res);
    struct diff_result *sres = mmap(NULL, rsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                    -1, 0);
    if (hdr == MAP_FAILED || sres == MAP_FAILED) {
        fprintf(stderr, "x86-diff: mmap: %s\n", strerror(errno));
        return 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child_main(cases, sres, n, hdr);
    int status = 0;
    unsigned done = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid)
        done = hdr->done;
    if (pid < 0)
        fprintf(stderr, "x86-diff: fork: %s\n", strerror(errno));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "x86-diff: native child died (status %#x) on case %u of %u\n", status,
                done, n);
    memcpy(res, sres, (size_t)(done < n ? done + 1 : n) * sizeof(*res));
    if (done < n)
        res[done].vec = DIFF_VEC_CRASH;
    munmap(sres, rsz);
    munmap(hdr, 4096);
    return done;
}
