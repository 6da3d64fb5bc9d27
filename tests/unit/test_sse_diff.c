/*
 * tests/unit/test_sse_diff.c - MMX/SSE/SSE2/SSE3/SSSE3/SSE4 handlers against
 * the host CPU (see fpu_harness.h). For every form: random registers
 * (xmm0-15 via REX, mm0-7, GPRs), random edge-case inputs (NaNs, infinities,
 * denormals, signed zeros, integer-conversion boundaries), random MXCSR
 * rounding/DAZ/FTZ with masked exceptions, register and memory operands.
 * Compared: all XMM registers, MXCSR, the MMX/x87 image (TOP, tags, FSW),
 * the used GPRs, the arithmetic flags and the memory buffer.
 * Plus: #GP on misaligned aligned-form operands, #XM/#UD on unmasked
 * exceptions (SDM Vol. 1 11.5.1), FXSAVE against the host's FXSAVE image,
 * FXRSTOR round trip, LDMXCSR reserved bits (#GP).
 */
#include <criterion/criterion.h>
#include <time.h>

#include "tests/unit/fpu_harness.h"

enum { C_X = 'x', C_M = 'm', C_G = 'g' };
#define F_MEM 0x01       /* memory operand allowed */
#define F_MEMONLY 0x02
#define F_IMM 0x04
#define F_W 0x08         /* REX.W */
#define F_DIGIT 0x10     /* reg field is the /digit in .digit */
#define F_IMM3 0x20      /* imm8 restricted to 0..7 */

struct form {
    const char *name;
    uint8_t pfx, map, op;   /* map: 0 = 0F, 0x38, 0x3a */
    char regc, rmc;
    uint8_t flags, digit;
};

#define XX(n, p, o) { n, p, 0, o, C_X, C_X, F_MEM, 0 }
#define MM(n, o) { n, 0, 0, o, C_M, C_M, F_MEM, 0 }

static const struct form forms[] = {
    /* data movement */
    XX("movups", 0, 0x10), XX("movupd", 0x66, 0x10), XX("movss", 0xf3, 0x10), XX("movsd", 0xf2, 0x10),
    XX("movups st", 0, 0x11), XX("movupd st", 0x66, 0x11), XX("movss st", 0xf3, 0x11), XX("movsd st", 0xf2, 0x11),
    { "movhlps", 0, 0, 0x12, C_X, C_X, 0, 0 }, { "movlps", 0, 0, 0x12, C_X, C_X, F_MEMONLY, 0 },
    { "movlpd", 0x66, 0, 0x12, C_X, C_X, F_MEMONLY, 0 }, XX("movsldup", 0xf3, 0x12), XX("movddup", 0xf2, 0x12),
    { "movlps st", 0, 0, 0x13, C_X, C_X, F_MEMONLY, 0 }, { "movlpd st", 0x66, 0, 0x13, C_X, C_X, F_MEMONLY, 0 },
    XX("unpcklps", 0, 0x14), XX("unpcklpd", 0x66, 0x14), XX("unpckhps", 0, 0x15), XX("unpckhpd", 0x66, 0x15),
    { "movlhps", 0, 0, 0x16, C_X, C_X, 0, 0 }, { "movhps", 0, 0, 0x16, C_X, C_X, F_MEMONLY, 0 },
    { "movhpd", 0x66, 0, 0x16, C_X, C_X, F_MEMONLY, 0 }, XX("movshdup", 0xf3, 0x16),
    { "movhps st", 0, 0, 0x17, C_X, C_X, F_MEMONLY, 0 }, { "movhpd st", 0x66, 0, 0x17, C_X, C_X, F_MEMONLY, 0 },
    XX("movaps", 0, 0x28), XX("movapd", 0x66, 0x28), XX("movaps st", 0, 0x29), XX("movapd st", 0x66, 0x29),
    { "movntps", 0, 0, 0x2b, C_X, C_X, F_MEMONLY, 0 }, { "movntpd", 0x66, 0, 0x2b, C_X, C_X, F_MEMONLY, 0 },
    { "movmskps", 0, 0, 0x50, C_G, C_X, 0, 0 }, { "movmskpd", 0x66, 0, 0x50, C_G, C_X, 0, 0 },
    XX("andps", 0, 0x54), XX("andpd", 0x66, 0x54), XX("andnps", 0, 0x55), XX("andnpd", 0x66, 0x55),
    XX("orps", 0, 0x56), XX("orpd", 0x66, 0x56), XX("xorps", 0, 0x57), XX("xorpd", 0x66, 0x57),
    { "movd x,r32", 0x66, 0, 0x6e, C_X, C_G, F_MEM, 0 }, { "movq x,r64", 0x66, 0, 0x6e, C_X, C_G, F_MEM | F_W, 0 },
    { "movd mm,r32", 0, 0, 0x6e, C_M, C_G, F_MEM, 0 }, { "movq mm,r64", 0, 0, 0x6e, C_M, C_G, F_MEM | F_W, 0 },
    MM("movq mm,mm", 0x6f), XX("movdqa", 0x66, 0x6f), XX("movdqu", 0xf3, 0x6f),
    { "movd r32,x", 0x66, 0, 0x7e, C_X, C_G, F_MEM, 0 }, { "movq r64,x", 0x66, 0, 0x7e, C_X, C_G, F_MEM | F_W, 0 },
    { "movd r32,mm", 0, 0, 0x7e, C_M, C_G, F_MEM, 0 }, { "movq r64,mm", 0, 0, 0x7e, C_M, C_G, F_MEM | F_W, 0 },
    XX("movq x,x/m64", 0xf3, 0x7e),
    MM("movq mm st", 0x7f), XX("movdqa st", 0x66, 0x7f), XX("movdqu st", 0xf3, 0x7f),
    XX("movq x st", 0x66, 0xd6), { "movq2dq", 0xf3, 0, 0xd6, C_X, C_M, 0, 0 },
    { "movdq2q", 0xf2, 0, 0xd6, C_M, C_X, 0, 0 },
    { "movnti", 0, 0, 0xc3, C_G, C_X, F_MEMONLY, 0 }, { "movnti64", 0, 0, 0xc3, C_G, C_X, F_MEMONLY | F_W, 0 },
    { "pinsrw x", 0x66, 0, 0xc4, C_X, C_G, F_MEM | F_IMM, 0 }, { "pinsrw mm", 0, 0, 0xc4, C_M, C_G, F_MEM | F_IMM, 0 },
    { "pextrw x", 0x66, 0, 0xc5, C_G, C_X, F_IMM, 0 }, { "pextrw mm", 0, 0, 0xc5, C_G, C_M, F_IMM, 0 },
    { "shufps", 0, 0, 0xc6, C_X, C_X, F_MEM | F_IMM, 0 }, { "shufpd", 0x66, 0, 0xc6, C_X, C_X, F_MEM | F_IMM, 0 },
    { "pmovmskb x", 0x66, 0, 0xd7, C_G, C_X, 0, 0 }, { "pmovmskb mm", 0, 0, 0xd7, C_G, C_M, 0, 0 },
    { "movntq", 0, 0, 0xe7, C_M, C_M, F_MEMONLY, 0 }, { "movntdq", 0x66, 0, 0xe7, C_X, C_X, F_MEMONLY, 0 },
    { "lddqu", 0xf2, 0, 0xf0, C_X, C_X, F_MEMONLY, 0 },
    /* integer SIMD, both MMX and SSE2 forms */
#define INT2(n, o) MM(n, o), XX(n, 0x66, o)
    INT2("punpcklbw", 0x60), INT2("punpcklwd", 0x61), INT2("punpckldq", 0x62), INT2("packsswb", 0x63),
    INT2("pcmpgtb", 0x64), INT2("pcmpgtw", 0x65), INT2("pcmpgtd", 0x66), INT2("packuswb", 0x67),
    INT2("punpckhbw", 0x68), INT2("punpckhwd", 0x69), INT2("punpckhdq", 0x6a), INT2("packssdw", 0x6b),
    XX("punpcklqdq", 0x66, 0x6c), XX("punpckhqdq", 0x66, 0x6d),
    INT2("pcmpeqb", 0x74), INT2("pcmpeqw", 0x75), INT2("pcmpeqd", 0x76),
    INT2("psrlw", 0xd1), INT2("psrld", 0xd2), INT2("psrlq", 0xd3), INT2("paddq", 0xd4), INT2("pmullw", 0xd5),
    INT2("psubusb", 0xd8), INT2("psubusw", 0xd9), INT2("pminub", 0xda), INT2("pand", 0xdb),
    INT2("paddusb", 0xdc), INT2("paddusw", 0xdd), INT2("pmaxub", 0xde), INT2("pandn", 0xdf),
    INT2("pavgb", 0xe0), INT2("psraw", 0xe1), INT2("psrad", 0xe2), INT2("pavgw", 0xe3),
    INT2("pmulhuw", 0xe4), INT2("pmulhw", 0xe5), INT2("psubsb", 0xe8), INT2("psubsw", 0xe9),
    INT2("pminsw", 0xea), INT2("por", 0xeb), INT2("paddsb", 0xec), INT2("paddsw", 0xed),
    INT2("pmaxsw", 0xee), INT2("pxor", 0xef), INT2("psllw", 0xf1), INT2("pslld", 0xf2), INT2("psllq", 0xf3),
    INT2("pmuludq", 0xf4), INT2("pmaddwd", 0xf5), INT2("psadbw", 0xf6), INT2("psubb", 0xf8),
    INT2("psubw", 0xf9), INT2("psubd", 0xfa), INT2("psubq", 0xfb), INT2("paddb", 0xfc), INT2("paddw", 0xfd),
    INT2("paddd", 0xfe),
    { "pshufw", 0, 0, 0x70, C_M, C_M, F_MEM | F_IMM, 0 }, { "pshufd", 0x66, 0, 0x70, C_X, C_X, F_MEM | F_IMM, 0 },
    { "pshufhw", 0xf3, 0, 0x70, C_X, C_X, F_MEM | F_IMM, 0 }, { "pshuflw", 0xf2, 0, 0x70, C_X, C_X, F_MEM | F_IMM, 0 },
#define SHI(n, o, d) { n " mm,imm", 0, 0, o, C_M, C_M, F_IMM | F_DIGIT, d }, { n " x,imm", 0x66, 0, o, C_X, C_X, F_IMM | F_DIGIT, d }
    SHI("psrlw", 0x71, 2), SHI("psraw", 0x71, 4), SHI("psllw", 0x71, 6),
    SHI("psrld", 0x72, 2), SHI("psrad", 0x72, 4), SHI("pslld", 0x72, 6),
    SHI("psrlq", 0x73, 2), SHI("psllq", 0x73, 6),
    { "psrldq", 0x66, 0, 0x73, C_X, C_X, F_IMM | F_DIGIT, 3 }, { "pslldq", 0x66, 0, 0x73, C_X, C_X, F_IMM | F_DIGIT, 7 },
    /* floating point */
#define FP4(n, o) XX(n "ps", 0, o), XX(n "pd", 0x66, o), XX(n "ss", 0xf3, o), XX(n "sd", 0xf2, o)
    FP4("sqrt", 0x51), FP4("add", 0x58), FP4("mul", 0x59), FP4("sub", 0x5c), FP4("min", 0x5d),
    FP4("div", 0x5e), FP4("max", 0x5f),
    XX("rsqrtps", 0, 0x52), XX("rsqrtss", 0xf3, 0x52), XX("rcpps", 0, 0x53), XX("rcpss", 0xf3, 0x53),
    XX("cvtps2pd", 0, 0x5a), XX("cvtpd2ps", 0x66, 0x5a), XX("cvtss2sd", 0xf3, 0x5a), XX("cvtsd2ss", 0xf2, 0x5a),
    XX("cvtdq2ps", 0, 0x5b), XX("cvtps2dq", 0x66, 0x5b), XX("cvttps2dq", 0xf3, 0x5b),
    XX("haddpd", 0x66, 0x7c), XX("haddps", 0xf2, 0x7c), XX("hsubpd", 0x66, 0x7d), XX("hsubps", 0xf2, 0x7d),
    XX("addsubpd", 0x66, 0xd0), XX("addsubps", 0xf2, 0xd0),
    XX("cvttpd2dq", 0x66, 0xe6), XX("cvtdq2pd", 0xf3, 0xe6), XX("cvtpd2dq", 0xf2, 0xe6),
    { "cmpps", 0, 0, 0xc2, C_X, C_X, F_MEM | F_IMM | F_IMM3, 0 }, { "cmppd", 0x66, 0, 0xc2, C_X, C_X, F_MEM | F_IMM | F_IMM3, 0 },
    { "cmpss", 0xf3, 0, 0xc2, C_X, C_X, F_MEM | F_IMM | F_IMM3, 0 }, { "cmpsd", 0xf2, 0, 0xc2, C_X, C_X, F_MEM | F_IMM | F_IMM3, 0 },
    XX("ucomiss", 0, 0x2e), XX("ucomisd", 0x66, 0x2e), XX("comiss", 0, 0x2f), XX("comisd", 0x66, 0x2f),
    { "cvtpi2ps", 0, 0, 0x2a, C_X, C_M, F_MEM, 0 }, { "cvtpi2pd", 0x66, 0, 0x2a, C_X, C_M, F_MEM, 0 },
    { "cvtsi2ss", 0xf3, 0, 0x2a, C_X, C_G, F_MEM, 0 }, { "cvtsi2ss q", 0xf3, 0, 0x2a, C_X, C_G, F_MEM | F_W, 0 },
    { "cvtsi2sd", 0xf2, 0, 0x2a, C_X, C_G, F_MEM, 0 }, { "cvtsi2sd q", 0xf2, 0, 0x2a, C_X, C_G, F_MEM | F_W, 0 },
    { "cvttps2pi", 0, 0, 0x2c, C_M, C_X, F_MEM, 0 }, { "cvttpd2pi", 0x66, 0, 0x2c, C_M, C_X, F_MEM, 0 },
    { "cvttss2si", 0xf3, 0, 0x2c, C_G, C_X, F_MEM, 0 }, { "cvttss2si q", 0xf3, 0, 0x2c, C_G, C_X, F_MEM | F_W, 0 },
    { "cvttsd2si", 0xf2, 0, 0x2c, C_G, C_X, F_MEM, 0 }, { "cvttsd2si q", 0xf2, 0, 0x2c, C_G, C_X, F_MEM | F_W, 0 },
    { "cvtps2pi", 0, 0, 0x2d, C_M, C_X, F_MEM, 0 }, { "cvtpd2pi", 0x66, 0, 0x2d, C_M, C_X, F_MEM, 0 },
    { "cvtss2si", 0xf3, 0, 0x2d, C_G, C_X, F_MEM, 0 }, { "cvtss2si q", 0xf3, 0, 0x2d, C_G, C_X, F_MEM | F_W, 0 },
    { "cvtsd2si", 0xf2, 0, 0x2d, C_G, C_X, F_MEM, 0 }, { "cvtsd2si q", 0xf2, 0, 0x2d, C_G, C_X, F_MEM | F_W, 0 },
#include "tests/unit/sse4_forms.inc"
};

static const uint8_t gprs[] = { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSI, X86_R8, X86_R9, X86_R10, X86_R11 };

static unsigned pick(char c, bool is_rm_mem)
{
    switch (c) {
    case C_X: return rnd() % 16;
    case C_M: return rnd() % 8;
    default: {
        unsigned r;
        do
            r = gprs[rnd() % sizeof(gprs)];
        while (r == X86_RSI);   /* keep the memory base intact */
        return r;
    }
    }
}

/** Encode @f with random registers; memory operand = [rsi + 0] if @mem. */
static size_t encode(const struct form *f, bool mem, uint8_t *out)
{
    size_t n = 0;
    unsigned reg = (f->flags & F_DIGIT) ? f->digit : pick(f->regc, false);
    unsigned rm = mem ? X86_RSI : pick(f->rmc, false);
    if (f->pfx)
        out[n++] = f->pfx;
    uint8_t rex = 0x40 | ((f->flags & F_W) ? 8 : 0) | ((reg >> 3) << 2) | (rm >> 3);
    if (rex != 0x40)
        out[n++] = rex;
    out[n++] = 0x0f;
    if (f->map)
        out[n++] = f->map;
    out[n++] = f->op;
    if (mem) {
        out[n++] = (uint8_t)(0x40 | ((reg & 7) << 3) | 6);
        out[n++] = 0;
    } else {
        out[n++] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
    }
    if (f->flags & F_IMM)
        out[n++] = (f->flags & F_IMM3) ? (uint8_t)(rnd() % 8) : (uint8_t)rnd();
    return n;
}

Test(sse_diff, all_forms, .init = setup, .fini = teardown)
{
    unsigned total_bad = 0;
    fprintf(stderr, "%-16s %6s %6s\n", "form", "cases", "bad");
    for (size_t fi = 0; fi < ARRAY_SIZE(forms); fi++) {
        const struct form *f = &forms[fi];
        unsigned cases = 0, bad = 0;
        for (unsigned c = 0; c < 160; c++) {
            bool mem;
            if (f->flags & F_MEMONLY)
                mem = true;
            else if (f->flags & F_MEM)
                mem = c % 4 == 3;
            else
                mem = false;
            uint8_t bytes[16];
            size_t n = encode(f, mem, bytes);
            h_rnd_state(&hs, 0);
            cases++;
            if (!run_case(bytes, n, f->name, bad < 2))
                bad++;
        }
        fprintf(stderr, "%-16s %6u %6u\n", f->name, cases, bad);
        total_bad += bad;
    }
    cr_assert_eq(total_bad, 0, "%u mismatching cases (see stderr)", total_bad);
}

Test(sse_diff, emms_and_mmx_state, .init = setup, .fini = teardown)
{
    static const uint8_t emms[] = { 0x0f, 0x77 };
    static const uint8_t paddb_mm[] = { 0x0f, 0xfc, 0xc1 };
    for (unsigned c = 0; c < 50; c++) {
        h_rnd_state(&hs, rnd() % 8);
        cr_assert(run_case(paddb_mm, sizeof(paddb_mm), "paddb mm", 1));
        h_rnd_state(&hs, rnd() % 8);
        cr_assert(run_case(emms, sizeof(emms), "emms", 1));
    }
}

/* Aligned forms with a misaligned memory operand: #GP(0) (SDM Vol. 1 11.6.8). */
Test(sse_diff, misaligned_gp, .init = setup, .fini = teardown)
{
    static const uint8_t movaps[] = { 0x0f, 0x28, 0x46, 0x04 };         /* movaps xmm0,[rsi+4] */
    static const uint8_t movdqa_st[] = { 0x66, 0x0f, 0x7f, 0x46, 0x08 }; /* movdqa [rsi+8],xmm0 */
    static const uint8_t paddb[] = { 0x66, 0x0f, 0xfc, 0x46, 0x01 };     /* paddb xmm0,[rsi+1] */
    static const uint8_t movdqu[] = { 0xf3, 0x0f, 0x6f, 0x46, 0x01 };    /* movdqu: no check */
    static const uint8_t addss[] = { 0xf3, 0x0f, 0x58, 0x46, 0x01 };     /* scalar: no check */
    const struct { const uint8_t *b; size_t n; int vec; } t[] = {
        { movaps, sizeof(movaps), X86_EXC_GP }, { movdqa_st, sizeof(movdqa_st), X86_EXC_GP },
        { paddb, sizeof(paddb), X86_EXC_GP }, { movdqu, sizeof(movdqu), -1 }, { addss, sizeof(addss), -1 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        h_rnd_state(&hs, 0);
        memset(cpu, 0, sizeof(*cpu));
        h_cpu_load(cpu, &hs);
        union x86_xmm before = cpu->xmm[0];
        int v = h_emu_run(cpu, t[i].b, t[i].n);
        cr_assert_eq(v, t[i].vec, "case %zu: vector %d", i, v);
        if (v >= 0)
            cr_assert(memcmp(&before, &cpu->xmm[0], 16) == 0, "no partial write on fault");
    }
}

/* Unmasked SIMD exception: #XM with CR4.OSXMMEXCPT, #UD without; flag set, destination kept. */
Test(sse_diff, unmasked_xm, .init = setup, .fini = teardown)
{
    static const uint8_t divss[] = { 0xf3, 0x0f, 0x5e, 0xc1 };   /* divss xmm0, xmm1 */
    for (int os = 0; os < 2; os++) {
        memset(cpu, 0, sizeof(*cpu));
        h_rnd_state(&hs, 0);
        h_cpu_load(cpu, &hs);
        if (!os)
            cpu->cr4 &= ~X86_CR4_OSXMMEXCPT;
        cpu->mxcsr = 0x1f80 & ~0x0200;    /* ZM clear: divide-by-zero unmasked */
        cpu->xmm[0].f32[0] = 1.0f;
        cpu->xmm[1].f32[0] = 0.0f;
        int v = h_emu_run(cpu, divss, sizeof(divss));
        cr_assert_eq(v, os ? X86_EXC_XM : X86_EXC_UD);
        cr_assert(cpu->mxcsr & 0x4, "ZE flag set");
        cr_assert(cpu->xmm[0].f32[0] == 1.0f, "destination unchanged");
    }
}

/* SSE with CR4.OSFXSR = 0 -> #UD; CR0.TS -> #NM (SDM Vol. 3A 13.1.3/13.4). */
Test(sse_diff, availability_faults, .init = setup, .fini = teardown)
{
    static const uint8_t addps[] = { 0x0f, 0x58, 0xc1 };
    memset(cpu, 0, sizeof(*cpu));
    h_rnd_state(&hs, 0);
    h_cpu_load(cpu, &hs);
    cpu->cr4 &= ~X86_CR4_OSFXSR;
    cr_assert_eq(h_emu_run(cpu, addps, sizeof(addps)), X86_EXC_UD);
    cpu->cr4 |= X86_CR4_OSFXSR;
    cpu->cr0 |= X86_CR0_TS;
    cr_assert_eq(h_emu_run(cpu, addps, sizeof(addps)), X86_EXC_NM);
}

/* FXSAVE64 image vs the host's FXSAVE of the same state; FXRSTOR round trip; LDMXCSR #GP. */
Test(sse_diff, fxsave_fxrstor, .init = setup, .fini = teardown)
{
    static const uint8_t fxsave64[] = { 0x48, 0x0f, 0xae, 0x46, 0x00 };  /* fxsave64 [rsi] */
    static const uint8_t fxrstor64[] = { 0x48, 0x0f, 0xae, 0x4e, 0x00 }; /* fxrstor64 [rsi] */
    static const uint8_t fxsave64_mis[] = { 0x48, 0x0f, 0xae, 0x46, 0x08 };
    static const uint8_t ldmxcsr[] = { 0x0f, 0xae, 0x56, 0x00 };         /* ldmxcsr [rsi] */
    for (unsigned c = 0; c < 200; c++) {
        h_rnd_state(&hs, rnd() % 9);
        memset(cpu, 0, sizeof(*cpu));
        h_cpu_load(cpu, &hs);
        memset(tmem, 0xcc, sizeof(tmem));
        cr_assert_eq(h_emu_run(cpu, fxsave64, sizeof(fxsave64)), -1);
        /* Host: the input image restored then saved = the host's canonical FXSAVE of that state. */
        static const uint8_t nop[] = { 0x90 };
        hstub_build(nop, 1)(&hs);
        const uint8_t *img = tmem + 64, *ho = hs.fx_out;
        cr_assert(memcmp(img, ho, 6) == 0, "FCW/FSW/FTW");
        /* MXCSR_MASK is model-specific (SDM Vol. 1 11.6.6): qtemu's models
         * report Intel's 0xFFFF; an AMD host reports 0x2FFFF (its MM bit),
         * so the host is the oracle for it only where it agrees. */
        uint32_t emu_mask = *(uint32_t *)(img + 28), host_mask = *(uint32_t *)(ho + 28);
        cr_assert(memcmp(img + 24, ho + 24, 4) == 0, "MXCSR %08x vs host %08x",
                  *(uint32_t *)(img + 24), *(uint32_t *)(ho + 24));
        cr_assert(emu_mask == 0xffff && (host_mask == 0xffff || host_mask == 0x2ffff),
                  "MXCSR_MASK %08x (host %08x): want 0000ffff, all of MXCSR but MM", emu_mask,
                  host_mask);
        for (unsigned i = 0; i < 8; i++)
            cr_assert(memcmp(img + 32 + 16 * i, ho + 32 + 16 * i, 10) == 0, "ST%u", i);
        cr_assert(memcmp(img + 160, ho + 160, 256) == 0, "XMM");
        /* Round trip through FXRSTOR into a clean vCPU. */
        struct x86_cpu *c2 = calloc(1, sizeof(*c2));
        h_cpu_load(c2, &hs);
        memset(c2->xmm, 0, sizeof(c2->xmm));
        memset(c2->st, 0, sizeof(c2->st));
        c2->fcw = c2->fsw = 0;
        c2->ftw = 0xffff;
        cr_assert_eq(h_emu_run(c2, fxrstor64, sizeof(fxrstor64)), -1);
        cr_assert(memcmp(c2->xmm, cpu->xmm, sizeof(c2->xmm)) == 0);
        cr_assert_eq(c2->fcw, cpu->fcw);
        cr_assert_eq(c2->fsw, cpu->fsw);
        cr_assert_eq(c2->ftw, cpu->ftw, "full tag word rebuilt: %04x vs %04x", c2->ftw, cpu->ftw);
        cr_assert_eq(c2->mxcsr, cpu->mxcsr);
        free(c2);
    }
    cr_assert_eq(h_emu_run(cpu, fxsave64_mis, sizeof(fxsave64_mis)), X86_EXC_GP, "16-byte alignment");
    /* MXCSR reserved bits: FXRSTOR and LDMXCSR raise #GP(0). */
    uint32_t bad = 0x00011f80;
    memcpy(tmem + 64 + 24, &bad, 4);
    cr_assert_eq(h_emu_run(cpu, fxrstor64, sizeof(fxrstor64)), X86_EXC_GP);
    memcpy(tmem + 64, &bad, 4);
    cr_assert_eq(h_emu_run(cpu, ldmxcsr, sizeof(ldmxcsr)), X86_EXC_GP);
    uint32_t good = 0x9fc0;
    memcpy(tmem + 64, &good, 4);
    cr_assert_eq(h_emu_run(cpu, ldmxcsr, sizeof(ldmxcsr)), -1);
    cr_assert_eq(cpu->mxcsr, good);
}
