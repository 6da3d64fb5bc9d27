/*
 * tests/unit/fpu_harness.h - differential harness for the x87/MMX/SSE
 * handlers: the host CPU is the oracle.
 *
 * One instruction (given as bytes) runs twice on the same input state:
 *  - on the host, inside a small generated stub: FXRSTOR64 the input image,
 *    load RAX RCX RDX RBX RSI R8..R11 and RFLAGS, run the bytes, save RFLAGS
 *    and the GPRs, FXSAVE64 the output image;
 *  - in qtemu: x86_decode + the handler registered by x86_ops_sse_init /
 *    x86_ops_x87_init, on a struct x86_cpu loaded from the same image.
 * The comparison uses the host's FXSAVE layout (SDM Vol. 1 Table 10-2).
 *
 * Memory operands address a flat host buffer through RSI (the stubs of the
 * mem.c interface below map linear address = host address, bounds-checked),
 * so both sides touch the very same bytes. Exceptions in qtemu longjmp to
 * the harness (x86_raise stub) and are reported as a vector.
 * Test encodings must not use RSP, RBP or RDI.
 */
#ifndef QTEMU_TESTS_FPU_HARNESS_H
#define QTEMU_TESTS_FPU_HARNESS_H

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/x86/x86.h"
#include "util/log.h"
#include "util/compiler.h"

/* ---------------------------------------------------------------- host state image */

/** Registers the host stub loads/stores; offsets are baked into the stub. */
struct hstate {
    uint8_t fx_in[512] __attribute__((aligned(16)));
    uint8_t fx_out[512] __attribute__((aligned(16)));
    uint8_t fx_host[512] __attribute__((aligned(16)));   /* the harness's own x87/SSE state */
    uint64_t gpr_in[16];      /* indexed by register number */
    uint64_t gpr_out[16];
    uint64_t flags_in, flags_out;
};

#define HS_GPRS_USED ((1u << X86_RAX) | (1u << X86_RCX) | (1u << X86_RDX) | (1u << X86_RBX) | \
                      (1u << X86_RSI) | (1u << X86_R8) | (1u << X86_R9) | (1u << X86_R10) |   \
                      (1u << X86_R11))

/* ---------------------------------------------------------------- flat memory */

static uint8_t tmem[4096] __attribute__((aligned(64)));

static bool tmem_ok(uint64_t lin, uint64_t len)
{
    uint64_t base = (uintptr_t)tmem;
    return lin >= base && len <= sizeof(tmem) && lin - base <= sizeof(tmem) - len;
}

static int h_fault;          /* vector raised in qtemu, -1 if none */
static jmp_buf h_jmp;

__attribute__((weak)) qt_noreturn void x86_raise(struct x86_cpu *cpu, int vector)
{
    h_fault = vector;
    longjmp(h_jmp, 1);
}
__attribute__((weak)) qt_noreturn void x86_raise_err(struct x86_cpu *cpu, int vector, uint32_t e)
{
    x86_raise(cpu, vector);
}
__attribute__((weak)) qt_noreturn void x86_raise_gp0(struct x86_cpu *cpu)
{
    x86_raise(cpu, X86_EXC_GP);
}
__attribute__((weak)) qt_noreturn void x86_raise_pf(struct x86_cpu *cpu, gva_t gva, uint32_t e)
{
    x86_raise(cpu, X86_EXC_PF);
}
__attribute__((weak)) void x86_op_ud(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise(cpu, X86_EXC_UD);
}
__attribute__((weak)) uint64_t x86_ea(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t ea = (uint64_t)(int64_t)insn->disp;
    if (insn->base < 16)
        ea += cpu->gpr[insn->base];
    if (insn->index < 16)
        ea += cpu->gpr[insn->index] << insn->scale;
    return ea;
}
static void tmem_check(struct x86_cpu *cpu, uint64_t lin, uint64_t len)
{
    if (!tmem_ok(lin, len))
        x86_raise(cpu, X86_EXC_PF);
}
__attribute__((weak)) gva_t x86_linear(struct x86_cpu *cpu, int sreg, uint64_t off, unsigned size,
                                       enum mmu_access access)
{
    tmem_check(cpu, off, size);
    return off;
}
__attribute__((weak)) gva_t x86_mem_linear(struct x86_cpu *cpu, const struct x86_insn *insn,
                                           unsigned size, enum mmu_access access)
{
    return x86_linear(cpu, insn->seg, x86_ea(cpu, insn), size, access);
}
__attribute__((weak)) void x86_read_bytes(struct x86_cpu *cpu, gva_t lin, void *buf, unsigned len)
{
    tmem_check(cpu, lin, len);
    memcpy(buf, (void *)(uintptr_t)lin, len);
}
__attribute__((weak)) void x86_write_bytes(struct x86_cpu *cpu, gva_t lin, const void *buf, unsigned len)
{
    tmem_check(cpu, lin, len);
    memcpy((void *)(uintptr_t)lin, buf, len);
}
__attribute__((weak)) void x86_probe_write(struct x86_cpu *cpu, gva_t lin, unsigned len)
{
    tmem_check(cpu, lin, len);
}
__attribute__((weak)) uint64_t x86_read_sized(struct x86_cpu *cpu, gva_t lin, unsigned size)
{
    uint64_t v = 0;
    x86_read_bytes(cpu, lin, &v, size);
    return v;
}
__attribute__((weak)) void x86_write_sized(struct x86_cpu *cpu, gva_t lin, uint64_t v, unsigned size)
{
    x86_write_bytes(cpu, lin, &v, size);
}
__attribute__((weak)) uint64_t x86_read64(struct x86_cpu *cpu, gva_t lin) { return x86_read_sized(cpu, lin, 8); }
__attribute__((weak)) void x86_write64(struct x86_cpu *cpu, gva_t lin, uint64_t v) { x86_write_sized(cpu, lin, v, 8); }
__attribute__((weak)) void x86_write8(struct x86_cpu *cpu, gva_t lin, uint8_t v) { x86_write_sized(cpu, lin, v, 1); }
__attribute__((weak)) uint64_t x86_mem_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    return x86_read_sized(cpu, x86_mem_linear(cpu, insn, size, MMU_READ), size);
}
__attribute__((weak)) void x86_mem_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                                         uint64_t v)
{
    x86_write_sized(cpu, x86_mem_linear(cpu, insn, size, MMU_WRITE), v, size);
}
__attribute__((weak)) uint64_t x86_rm_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    if (insn->flags & X86_INSN_MEM)
        return x86_mem_read(cpu, insn, size);
    return x86_reg_read(cpu, insn->rm, size, x86_has_rex(insn));
}
__attribute__((weak)) void x86_rm_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                                        uint64_t v)
{
    if (insn->flags & X86_INSN_MEM)
        x86_mem_write(cpu, insn, size, v);
    else
        x86_reg_write(cpu, insn->rm, size, x86_has_rex(insn), v);
}
__attribute__((weak)) uint32_t log_mask;
__attribute__((weak)) void qlog(uint32_t mask, const char *fmt, ...) { (void)mask; (void)fmt; }

/* ---------------------------------------------------------------- host stub */

typedef void (*hstub_fn)(struct hstate *s);

static uint8_t *h_code;
static size_t h_len;

static void emit(const void *b, size_t n)
{
    memcpy(h_code + h_len, b, n);
    h_len += n;
}
static void emit32(uint32_t v) { emit(&v, 4); }

/* mov r64, [rdi+disp32] (@load) or mov [rdi+disp32], r64 */
static void emit_mov_rdi(unsigned reg, uint32_t disp, bool load)
{
    uint8_t b[3] = { (uint8_t)(0x48 | ((reg >> 3) << 2)), load ? 0x8b : 0x89,
                     (uint8_t)(0x80 | ((reg & 7) << 3) | 7) };
    emit(b, 3);
    emit32(disp);
}

/* Where a stub finds its data, as offsets from RDI (the state block it is called with). */
struct stub_layout {
    uint32_t host, in, out;         /* the harness's own x87/SSE(/AVX) image, input, output */
    uint32_t gpr_in, gpr_out;       /* uint64_t[16] indexed by register number */
    uint32_t flags_in, flags_out;
};

/*
 * Build the host stub for @insn (@n bytes) into an executable page: save the
 * harness's own state to @l->host and load @l->in (@emit_state emits the
 * save, or with @restore the load, of the image at [rdi + disp32]), load the
 * GPRs of HS_GPRS_USED and RFLAGS, run the instruction, store GPRs and
 * RFLAGS, save the result to @l->out and load @l->host again.
 */
static hstub_fn stub_build(const uint8_t *insn, size_t n, const struct stub_layout *l,
                           void (*emit_state)(bool restore, uint32_t disp))
{
    if (!h_code) {
        h_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (h_code == MAP_FAILED)
            abort();
    }
    h_len = 0;
    static const uint8_t prologue[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
    emit(prologue, sizeof(prologue));
    emit_state(false, l->host);
    emit_state(true, l->in);
    for (unsigned r = 0; r < 16; r++)
        if (HS_GPRS_USED & (1u << r))
            emit_mov_rdi(r, l->gpr_in + 8 * r, true);
    emit((uint8_t[]){ 0x57 }, 1);                                    /* push rdi */
    emit((uint8_t[]){ 0xff, 0xb7 }, 2);                              /* push [rdi+flags_in] */
    emit32(l->flags_in);
    emit((uint8_t[]){ 0x9d }, 1);                                    /* popfq */
    emit(insn, n);
    emit((uint8_t[]){ 0x9c, 0x48, 0x8b, 0x7c, 0x24, 0x08 }, 6);      /* pushfq; mov rdi,[rsp+8] */
    emit((uint8_t[]){ 0x8f, 0x87 }, 2);                              /* pop [rdi+flags_out] */
    emit32(l->flags_out);
    emit((uint8_t[]){ 0x48, 0x83, 0xc4, 0x08 }, 4);                  /* add rsp, 8 */
    for (unsigned r = 0; r < 16; r++)
        if (HS_GPRS_USED & (1u << r))
            emit_mov_rdi(r, l->gpr_out + 8 * r, false);
    emit_state(false, l->out);
    emit_state(true, l->host);
    static const uint8_t epilogue[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
    emit(epilogue, sizeof(epilogue));
    return (hstub_fn)(void *)h_code;
}

/* fxsave64 / fxrstor64 [rdi + disp32] */
static void emit_fx(bool restore, uint32_t disp)
{
    emit((uint8_t[]){ 0x48, 0x0f, 0xae, restore ? 0x8f : 0x87 }, 4);
    emit32(disp);
}

/** Build the host stub for @insn (@n bytes) into an executable page (FXSAVE images). */
static hstub_fn hstub_build(const uint8_t *insn, size_t n)
{
    static const struct stub_layout l = {
        offsetof(struct hstate, fx_host), offsetof(struct hstate, fx_in), offsetof(struct hstate, fx_out),
        offsetof(struct hstate, gpr_in), offsetof(struct hstate, gpr_out),
        offsetof(struct hstate, flags_in), offsetof(struct hstate, flags_out),
    };
    return stub_build(insn, n, &l, emit_fx);
}

/* ---------------------------------------------------------------- qtemu side */

static x86_exec_fn h_table[X86_OP_COUNT];

static void h_init_tables(void)
{
    for (unsigned i = 0; i < X86_OP_COUNT; i++)
        h_table[i] = x86_op_ud;
    x86_ops_sse_init(h_table);
    x86_ops_x87_init(h_table);
}

/** Tag class per SDM Vol. 1 8.1.7 (written independently of ops_x87.c). */
static unsigned h_tag_class(const uint8_t *r10)
{
    uint64_t mant;
    uint16_t se;
    memcpy(&mant, r10, 8);
    memcpy(&se, r10 + 8, 2);
    unsigned e = se & 0x7fff;
    if (e == 0x7fff)
        return 2;
    if (e == 0)
        return mant ? 2 : 1;
    return (mant >> 63) ? 0 : 2;
}

/** Load a fresh qtemu vCPU from the host input image and GPRs. */
static void h_cpu_load(struct x86_cpu *cpu, const struct hstate *s)
{
    const uint8_t *fx = s->fx_in;
    memcpy(&cpu->fcw, fx + 0, 2);
    memcpy(&cpu->fsw, fx + 2, 2);
    memcpy(&cpu->mxcsr, fx + 24, 4);
    unsigned top = (cpu->fsw >> 11) & 7;
    cpu->ftw = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned phys = (top + i) & 7;
        memset(cpu->st[phys].bytes, 0, 16);
        memcpy(cpu->st[phys].bytes, fx + 32 + 16 * i, 10);
    }
    for (unsigned p = 0; p < 8; p++) {
        unsigned tag = (fx[4] >> p) & 1 ? h_tag_class(cpu->st[p].bytes) : 3;
        cpu->ftw |= (uint16_t)(tag << (2 * p));
    }
    for (unsigned i = 0; i < 16; i++)
        memcpy(cpu->xmm[i].u8, fx + 160 + 16 * i, 16);
    for (unsigned r = 0; r < 16; r++)
        cpu->gpr[r] = s->gpr_in[r];
    cpu->rflags = (s->flags_in & ~X86_FLAGS_ARITH) | 2;
    x86_set_arith_flags(cpu, s->flags_in & X86_FLAGS_ARITH);
    cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_NE | X86_CR0_ET | X86_CR0_PG;
    cpu->cr4 = X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_PAE;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA;
    cpu->code_mode = X86_MODE_64;
}

/** Build qtemu's state as an FXSAVE64-layout image (fields the hardware defines). */
static void h_cpu_image(struct x86_cpu *cpu, uint8_t *fx)
{
    memset(fx, 0, 416);
    memcpy(fx + 0, &cpu->fcw, 2);
    memcpy(fx + 2, &cpu->fsw, 2);
    for (unsigned p = 0; p < 8; p++)
        if (((cpu->ftw >> (2 * p)) & 3) != 3)
            fx[4] |= 1u << p;
    memcpy(fx + 24, &cpu->mxcsr, 4);
    unsigned top = (cpu->fsw >> 11) & 7;
    for (unsigned i = 0; i < 8; i++)
        memcpy(fx + 32 + 16 * i, cpu->st[(top + i) & 7].bytes, 10);
    for (unsigned i = 0; i < 16; i++)
        memcpy(fx + 160 + 16 * i, cpu->xmm[i].u8, 16);
}

/** Run @insn in qtemu; returns the exception vector or -1. */
static int h_emu_run(struct x86_cpu *cpu, const uint8_t *bytes, size_t n)
{
    struct x86_insn insn;
    int len = x86_decode(bytes, n, X86_MODE_64, &insn);
    if (len < 0)
        return 100 + len;           /* decoder refused it */
    cpu->rip = 0x1000;
    cpu->next_rip = cpu->rip + (uint64_t)len;
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        h_table[insn.op](cpu, &insn);
    return h_fault;
}

/* ---------------------------------------------------------------- inputs */

static uint64_t h_rng;
static uint64_t rnd(void)
{
    /* xorshift64* */
    h_rng ^= h_rng >> 12;
    h_rng ^= h_rng << 25;
    h_rng ^= h_rng >> 27;
    return h_rng * 0x2545f4914f6cdd1dull;
}

static const uint32_t f32_special[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00001,
    0xff800123, 0x00000001, 0x807fffff, 0x00800000, 0x3f800000, 0xbf800000, 0x7f7fffff,
    0x4f000000, 0xcf000000, 0x4effffff, 0x5f000000, 0xdf000000, 0x3f000000, 0x40490fdb,
    0x477fff00, 0xc7000080, 0x3fc00000, 0x40200000,
};
static const uint64_t f64_special[] = {
    0, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff4000000000001ull, 0x0000000000000001ull,
    0x800fffffffffffffull, 0x0010000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
    0x7fefffffffffffffull, 0x41e0000000000000ull, 0xc1e0000000000000ull, 0x41dfffffffc00000ull,
    0xc1e0000000200000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull, 0x3fe0000000000000ull,
    0x400921fb54442d18ull, 0x3810000000000000ull, 0x47f0000000000000ull, 0x36a0000000000000ull,
};

/** A random 16-byte value biased towards FP and integer edge cases. */
static void rnd_xmm(uint8_t *out)
{
    unsigned mode = rnd() % 6;
    for (unsigned i = 0; i < 4; i++) {
        uint32_t v;
        switch (mode) {
        case 0: v = f32_special[rnd() % (sizeof(f32_special) / 4)]; break;
        case 1: v = (uint32_t)rnd(); break;
        case 2: { float f = (float)((int64_t)(rnd() % 2000001) - 1000000) / (float)(1 + rnd() % 1000); memcpy(&v, &f, 4); break; }
        case 3: v = (rnd() % 3) ? (uint32_t)rnd() : f32_special[rnd() % (sizeof(f32_special) / 4)]; break;
        default: v = 0; break;
        }
        memcpy(out + 4 * i, &v, 4);
    }
    if (mode >= 4) {
        for (unsigned i = 0; i < 2; i++) {
            uint64_t v;
            if (mode == 4) {
                v = f64_special[rnd() % (sizeof(f64_special) / 8)];
            } else {
                double d = (double)((int64_t)(rnd() % 2000001) - 1000000) / (double)(1 + rnd() % 1000);
                if (rnd() % 4 == 0)
                    d *= 1e300;
                memcpy(&v, &d, 8);
            }
            memcpy(out + 8 * i, &v, 8);
        }
    }
    if (rnd() % 8 == 0)
        for (unsigned i = 0; i < 16; i++)
            out[i] = (uint8_t[]){ 0x00, 0x7f, 0x80, 0xff, 0x01, 0xfe }[rnd() % 6];
}

/** A random 80-bit register value (specials, denormals, unnormals included). */
static void rnd_f80(uint8_t *out)
{
    uint64_t mant;
    uint16_t se;
    long double f;
    switch (rnd() % 8) {
    case 0: f = (long double)((int64_t)rnd() >> (rnd() % 64)); memcpy(&mant, &f, 8); memcpy(&se, (uint8_t *)&f + 8, 2); break;
    case 1: mant = 0; se = (rnd() & 1) ? 0x8000 : 0; break;                              /* +-0 */
    case 2: mant = 1ull << 63; se = 0x7fff | (uint16_t)((rnd() & 1) << 15); break;        /* inf */
    case 3: mant = (3ull << 62) | (rnd() >> 3); se = 0x7fff | (uint16_t)((rnd() & 1) << 15); break; /* QNaN */
    case 4: mant = (1ull << 63) | (rnd() >> 3) | 1; se = 0x7fff; break;                 /* SNaN */
    case 5: mant = rnd() >> 1; se = (uint16_t)(rnd() & 0x8000); break;                  /* denormal */
    case 6: mant = rnd() | (1ull << 63); se = (uint16_t)((0x3fff - 70 + rnd() % 140) | (rnd() & 0x8000)); break;
    default: mant = rnd() | (1ull << 63); se = (uint16_t)rnd(); if ((se & 0x7fff) == 0x7fff) se--; break;
    }
    memcpy(out, &mant, 8);
    memcpy(out + 8, &se, 2);
}

/** Random input state: XMM/x87/MMX registers, GPRs, flags; MXCSR/FCW with every exception masked. */
static void h_rnd_state(struct hstate *s, unsigned nempty)
{
    memset(s, 0, sizeof(*s));
    uint8_t *fx = s->fx_in;
    uint16_t fcw = (uint16_t)(0x3f | 0x40 | ((rnd() % 4) << 10) | ((rnd() % 4) << 8));
    if (rnd() % 4 == 0)
        fcw = 0x37f;
    unsigned top = rnd() % 8;
    uint16_t fsw = (uint16_t)(top << 11);
    memcpy(fx + 0, &fcw, 2);
    memcpy(fx + 2, &fsw, 2);
    fx[4] = 0xff;
    for (unsigned i = 0; i < 8; i++) {
        rnd_f80(fx + 32 + 16 * i);
        if (i >= 8 - nempty)
            fx[4] &= (uint8_t)~(1u << ((top + i) & 7));     /* ST(i) empty */
    }
    uint32_t mxcsr = 0x1f80 | (uint32_t)((rnd() % 4) << 13);
    if (rnd() % 4 == 0)
        mxcsr |= 0x0040;      /* DAZ */
    if (rnd() % 4 == 0)
        mxcsr |= 0x8000;      /* FTZ */
    memcpy(fx + 24, &mxcsr, 4);
    for (unsigned i = 0; i < 16; i++)
        rnd_xmm(fx + 160 + 16 * i);
    for (unsigned r = 0; r < 16; r++) {
        uint64_t v = rnd();
        switch (rnd() % 5) {
        case 0: v = (uint32_t)v; break;
        case 1: v = (uint64_t)(int64_t)(int32_t)v; break;
        case 2: v = (uint64_t)((int64_t)v >> (rnd() % 64)); break;
        default: break;
        }
        s->gpr_in[r] = v;
    }
    s->gpr_in[X86_RSI] = (uintptr_t)tmem + 64;
    s->flags_in = 0x202 | (rnd() & X86_FLAGS_ARITH);
}

/* ---------------------------------------------------------------- one differential case */

#include <time.h>

static struct x86_cpu *cpu;
static void (*h_prep)(void);    /* test hook: adjust tmem before a case runs */
static struct hstate hs;

static void print_bytes(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%02x ", b[i]);
}

/** Run one case; returns true on a match. */
static qt_unused bool run_case(const uint8_t *bytes, size_t n, const char *name, int verbose)
{
    uint8_t mem_in[sizeof(tmem)], mem_host[sizeof(tmem)], img[416];
    for (size_t i = 0; i < sizeof(tmem); i++)
        tmem[i] = (uint8_t)rnd();
    /* Some FP-looking memory data too. */
    rnd_xmm(tmem + 64);
    if (h_prep)
        h_prep();
    memcpy(mem_in, tmem, sizeof(tmem));

    hstub_build(bytes, n)(&hs);
    memcpy(mem_host, tmem, sizeof(tmem));
    memcpy(tmem, mem_in, sizeof(tmem));

    memset(cpu, 0, sizeof(*cpu));
    h_cpu_load(cpu, &hs);
    int fault = h_emu_run(cpu, bytes, n);
    h_cpu_image(cpu, img);

    bool ok = fault == -1;
    const uint8_t *ho = hs.fx_out;
    ok &= memcmp(img + 0, ho + 0, 5) == 0;               /* FCW FSW abridged FTW */
    ok &= memcmp(img + 24, ho + 24, 4) == 0;             /* MXCSR */
    for (unsigned i = 0; i < 8; i++) {
        unsigned top = (ho[3] >> 3) & 7;
        if ((ho[4] >> ((top + i) & 7)) & 1)
            ok &= memcmp(img + 32 + 16 * i, ho + 32 + 16 * i, 10) == 0;
    }
    ok &= memcmp(img + 160, ho + 160, 256) == 0;
    for (unsigned r = 0; r < 16; r++)
        if (HS_GPRS_USED & (1u << r))
            ok &= cpu->gpr[r] == hs.gpr_out[r];
    ok &= (x86_arith_flags(cpu) & X86_FLAGS_ARITH) == (hs.flags_out & X86_FLAGS_ARITH);
    ok &= memcmp(tmem, mem_host, sizeof(tmem)) == 0;
    if (!ok && verbose) {
        fprintf(stderr, "MISMATCH %-14s bytes ", name);
        print_bytes(bytes, n);
        fprintf(stderr, " fault=%d mxcsr in %08x host %08x emu %08x flags host %03llx emu %03llx\n",
                fault, *(uint32_t *)(hs.fx_in + 24), *(uint32_t *)(ho + 24), cpu->mxcsr,
                (unsigned long long)(hs.flags_out & X86_FLAGS_ARITH),
                (unsigned long long)(x86_arith_flags(cpu) & X86_FLAGS_ARITH));
        for (unsigned i = 0; i < 16; i++)
            if (memcmp(img + 160 + 16 * i, ho + 160 + 16 * i, 16)) {
                fprintf(stderr, "  xmm%u in ", i);
                print_bytes(hs.fx_in + 160 + 16 * i, 16);
                fprintf(stderr, "\n        host ");
                print_bytes(ho + 160 + 16 * i, 16);
                fprintf(stderr, "\n        emu  ");
                print_bytes(img + 160 + 16 * i, 16);
                fprintf(stderr, "\n");
            }
        for (unsigned r = 0; r < 16; r++)
            if ((HS_GPRS_USED & (1u << r)) && cpu->gpr[r] != hs.gpr_out[r])
                fprintf(stderr, "  gpr%u in %016llx host %016llx emu %016llx\n", r,
                        (unsigned long long)hs.gpr_in[r], (unsigned long long)hs.gpr_out[r],
                        (unsigned long long)cpu->gpr[r]);
        if (memcmp(img, ho, 5) || memcmp(img + 32, ho + 32, 128))
            fprintf(stderr, "  x87 fcw/fsw/tag host %04x %04x %02x emu %04x %04x %02x\n",
                    *(uint16_t *)ho, *(uint16_t *)(ho + 2), ho[4], *(uint16_t *)img,
                    *(uint16_t *)(img + 2), img[4]);
        for (unsigned i = 0; i < 8; i++)
            if (memcmp(img + 32 + 16 * i, ho + 32 + 16 * i, 10)) {
                fprintf(stderr, "  st%u in ", i);
                print_bytes(hs.fx_in + 32 + 16 * i, 10);
                fprintf(stderr, " host ");
                print_bytes(ho + 32 + 16 * i, 10);
                fprintf(stderr, " emu ");
                print_bytes(img + 32 + 16 * i, 10);
                fprintf(stderr, "\n");
            }
        if (memcmp(tmem, mem_host, sizeof(tmem)))
            for (unsigned i = 0; i < sizeof(tmem); i++)
                if (tmem[i] != mem_host[i])
                    fprintf(stderr, "  mem[%u] host %02x emu %02x\n", i, mem_host[i], tmem[i]);
    }
    return ok;
}

static void setup(void)
{
    cpu = calloc(1, sizeof(*cpu));
    h_init_tables();
    const char *env = getenv("QTEMU_TEST_SEED");
    h_rng = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u + 1;
    if (!h_rng)
        h_rng = 1;
    fprintf(stderr, "seed QTEMU_TEST_SEED=%llu\n", (unsigned long long)h_rng);
}

static void teardown(void)
{
    free(cpu);
}

#endif
