/*
 * cpu/x86/ops_avx_fp.c - AVX floating point: VEX forms of the SSE/SSE2/
 * SSE3/SSE4.1 FP arithmetic (0F 51-5F, 7C, 7D, D0), logic (0F 54-57),
 * unpacks (0F 14/15), VSHUFPS/PD (0F C6), VCMPccPS/PD/SS/SD with all 32
 * predicates (0F C2), V(U)COMISS/SD (0F 2E/2F), scalar/integer
 * conversions (0F 2A/2C/2D), packed conversions (0F 5A/5B/E6), VROUND*
 * (0F 3A 08-0B), VDPPS/VDPPD (0F 3A 40/41), VBLENDPS/PD (0F 3A 0C/0D) and
 * VBLENDVPS/PD (0F 3A 4A/4B). SDM Vol. 2 instruction pages, VEX forms.
 *
 * Arithmetic reuses the legacy lane functions (host SSE instructions under
 * the guest MXCSR, see sse_priv.h) per 128-bit lane with the destination
 * initialised from VEX.vvvv. The 32-predicate compare is plain C (SDM Vol. 2
 * CMPPS Table 3-1): the legacy host instruction only knows predicates 0-7.
 */
#include "cpu/x86/avx_priv.h"

typedef long long v2di __attribute__((vector_size(16)));

/** Run @fn on each of the @vl / 16 lanes of @a (destination-initialised) and @b under the guest MXCSR. */
static void fp_lanes(struct x86_cpu *cpu, sse_host_fn fn, unsigned vl, struct x86_ymm *a,
                     const struct x86_ymm *b)
{
    struct x86_ymm r = *a;
    uint32_t saved = sse_fp_begin(cpu);
    for (unsigned l = 0; l < vl / 16; l++)
        fn(&r.l[l], &b->l[l]);
    sse_fp_end(cpu, saved);
    *a = r;
}

/** True for the packed ops whose only source is ModRM.rm (VEX.vvvv must be 1111b). */
static bool fp_unary(uint8_t op, unsigned pfx)
{
    if (pfx >= X86_PFX_F3 && op != 0x5b && op != 0xe6)
        return false;                  /* scalar forms take vvvv */
    return op == 0x51 || op == 0x52 || op == 0x53 || op == 0x5a || op == 0x5b || op == 0xe6;
}

/** Conversions whose 256-bit form changes the element width (0F 5A/E6 packed). */
static void fp_cvt_cross(struct x86_cpu *cpu, const struct x86_insn *insn, sse_host_fn fn, bool widen)
{
    unsigned vl = avx_vl(insn);
    struct x86_ymm s, r;
    memset(&r, 0, sizeof(r));
    if (widen) {                        /* 2 or 4 source elements in 8 or 16 bytes -> vl bytes */
        avx_read_rm(cpu, insn, &s, vl / 2, 0);
        struct x86_ymm b;
        memset(&b, 0, sizeof(b));
        b.l[0].u64[0] = s.l[0].u64[0];
        b.l[1].u64[0] = s.l[0].u64[1];
        fp_lanes(cpu, fn, vl, &r, &b);
    } else {                            /* vl bytes -> 8 or 16 bytes */
        avx_read_rm(cpu, insn, &s, vl, 0);
        fp_lanes(cpu, fn, vl, &r, &s);
        r.l[0].u64[1] = vl == 32 ? r.l[1].u64[0] : 0;
    }
    avx_put(cpu, insn->reg, &r, widen ? vl : 16);
}

/** 0F 51-5F, 7C, 7D, D0, 5A, 5B, E6: packed/scalar arithmetic and conversions. */
static void op_fp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    unsigned size;
    sse_host_fn fn = sse_fp_lane_fn(op, insn->mprefix, &size);
    if (!fn) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    bool scalar = size < 16 && insn->mprefix >= X86_PFX_F3 && op != 0xe6;
    if (fp_unary(op, insn->mprefix))
        avx_no_vvvv(cpu, insn);
    if ((op == 0x5a && insn->mprefix <= X86_PFX_66) || op == 0xe6) {
        bool widen = (op == 0x5a && insn->mprefix == X86_PFX_NONE) || (op == 0xe6 && insn->mprefix == X86_PFX_F3);
        fp_cvt_cross(cpu, insn, fn, widen);
        return;
    }
    struct x86_ymm a, b;
    if (scalar) {
        avx_read_rm(cpu, insn, &b, size, 0);
        a.l[0] = cpu->xmm[insn->vex_v];
        fp_lanes(cpu, fn, 16, &a, &b);
        avx_put128(cpu, insn->reg, &a.l[0]);
        return;
    }
    unsigned vl = avx_vl(insn);
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    fp_lanes(cpu, fn, vl, &a, &b);
    avx_put(cpu, insn->reg, &a, vl);
}

/** Integer-lane ops in the FP domain: logic 54-57, unpacks 14/15 (AVX at 256 bits). */
static void op_fp_bitwise(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t int_op[2][8] = {
        /* 14    15    .. .. .. .. .. ..  / 54 55 56 57 */
        { 0x62, 0x6a, 0xdb, 0xdf, 0xeb, 0xef },          /* PS: unpckl/h = dword forms */
        { 0x6c, 0x6d, 0xdb, 0xdf, 0xeb, 0xef },          /* PD: qword forms */
    };
    uint8_t op = insn->op & 0xff;
    if (insn->mprefix > X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    unsigned k = op <= 0x15 ? op - 0x14 : op - 0x54 + 2;
    simd_fn fn = sse_int_lane_fn(int_op[insn->mprefix][k]);
    avx_check(cpu);
    unsigned vl = avx_vl(insn);
    struct x86_ymm a, b;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    for (unsigned l = 0; l < vl / 16; l++)
        fn(&a.l[l], &b.l[l], 16);
    avx_put(cpu, insn->reg, &a, vl);
}

/** 0F C6: VSHUFPS / VSHUFPD with imm8 (per lane; SHUFPD uses imm8[3:2] for lane 1). */
static void op_shufp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix > X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned vl = avx_vl(insn), imm = (uint8_t)insn->imm;
    struct x86_ymm a, b, r;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    for (unsigned l = 0; l < 2; l++) {
        if (insn->mprefix == X86_PFX_NONE) {
            r.l[l].u32[0] = a.l[l].u32[imm & 3];
            r.l[l].u32[1] = a.l[l].u32[(imm >> 2) & 3];
            r.l[l].u32[2] = b.l[l].u32[(imm >> 4) & 3];
            r.l[l].u32[3] = b.l[l].u32[(imm >> 6) & 3];
        } else {
            unsigned sel = imm >> (2 * l);
            r.l[l].u64[0] = a.l[l].u64[sel & 1];
            r.l[l].u64[1] = b.l[l].u64[(sel >> 1) & 1];
        }
    }
    avx_put(cpu, insn->reg, &r, vl);
}

/* ---------------------------------------------------------------- compares */

/* Relation bits: which outcomes make a predicate true (SDM Vol. 2 CMPPS Table 3-1). */
#define MXCSR_DE 0x0002u   /* denormal-operand flag (SDM Vol. 1 10.2.3) */
#define R_EQ 1u
#define R_LT 2u
#define R_GT 4u
#define R_UN 8u
static const uint8_t pred_rel[16] = {
    R_EQ, R_LT, R_LT | R_EQ, R_UN, R_LT | R_GT | R_UN, R_EQ | R_GT | R_UN, R_GT | R_UN,
    R_EQ | R_LT | R_GT, R_EQ | R_UN, R_LT | R_UN, R_LT | R_EQ | R_UN, 0, R_LT | R_GT,
    R_GT | R_EQ, R_GT, R_EQ | R_LT | R_GT | R_UN,
};
/* Predicates 0-15 that signal on QNaN operands (the _S / _OS / _US ones); 16-31 invert. */
#define PRED_SIGNALING 0x6666u

/**
 * Compare one pair of @dbl-precision values given as raw bits: returns the
 * predicate result and ORs MXCSR flags (IE, DE) into *flags. DAZ from @mxcsr.
 */
static bool cmp_elem(uint64_t x, uint64_t y, bool dbl, unsigned pred, uint32_t mxcsr, uint32_t *flags)
{
    unsigned mbits = dbl ? 52 : 23, ebits = dbl ? 11 : 8;
    uint64_t mmask = (1ull << mbits) - 1, emax = (1ull << ebits) - 1;
    uint64_t ex = (x >> mbits) & emax, ey = (y >> mbits) & emax;
    bool nx = ex == emax && (x & mmask), ny = ey == emax && (y & mmask);
    bool sx = nx && !((x >> (mbits - 1)) & 1), sy = ny && !((y >> (mbits - 1)) & 1);
    bool signaling = ((PRED_SIGNALING >> (pred & 15)) & 1) ^ (pred >> 4);
    unsigned rel;
    if (nx || ny) {
        if (sx || sy || signaling)
            *flags |= MXCSR_IE;
        rel = R_UN;
    } else {
        bool dx = ex == 0 && (x & mmask), dy = ey == 0 && (y & mmask);
        if (dx || dy) {
            if (mxcsr & MXCSR_DAZ) {
                if (dx)
                    x &= ~mmask;
                if (dy)
                    y &= ~mmask;
            } else {
                *flags |= MXCSR_DE;
            }
        }
        double a, b;
        if (dbl) {
            memcpy(&a, &x, 8);
            memcpy(&b, &y, 8);
        } else {
            uint32_t x32 = (uint32_t)x, y32 = (uint32_t)y;
            float fa, fb;
            memcpy(&fa, &x32, 4);
            memcpy(&fb, &y32, 4);
            a = fa;
            b = fb;
        }
        rel = a == b ? R_EQ : a < b ? R_LT : R_GT;
    }
    return (pred_rel[pred & 15] & rel) != 0;
}

/**
 * Raise #XM/#UD for unmasked @flags or merge them into MXCSR (SDM Vol. 1
 * 11.5.1); called before any destination is written.
 */
static void fp_flags_commit(struct x86_cpu *cpu, uint32_t flags)
{
    uint32_t unmasked = flags & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
    cpu->mxcsr |= flags;
    if (unmasked) {
        if (cpu->cr4 & X86_CR4_OSXMMEXCPT)
            x86_raise(cpu, X86_EXC_XM);
        x86_raise(cpu, X86_EXC_UD);
    }
}

/** 0F C2: VCMPPS/PD/SS/SD xmm1, xmm2, xmm3/m, imm8 (predicate imm8[4:0]). */
static void op_cmp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    avx_check(cpu);
    unsigned pred = insn->imm & 31, pfx = insn->mprefix;
    bool dbl = pfx == X86_PFX_66 || pfx == X86_PFX_F2, scalar = pfx >= X86_PFX_F3;
    unsigned vl = scalar ? 16 : avx_vl(insn), esz = dbl ? 8 : 4;
    struct x86_ymm a, b, r;
    avx_read_rm(cpu, insn, &b, scalar ? esz : vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    r = a;
    uint32_t flags = 0;
    unsigned n = scalar ? 1 : vl / esz;
    for (unsigned i = 0; i < n; i++) {
        unsigned l = i * esz / 16, k = (i * esz % 16) / esz;
        uint64_t x = dbl ? a.l[l].u64[k] : a.l[l].u32[k], y = dbl ? b.l[l].u64[k] : b.l[l].u32[k];
        bool t = cmp_elem(x, y, dbl, pred, cpu->mxcsr, &flags);
        if (dbl)
            r.l[l].u64[k] = t ? ~0ull : 0;
        else
            r.l[l].u32[k] = t ? ~0u : 0;
    }
    fp_flags_commit(cpu, flags);
    avx_put(cpu, insn->reg, &r, vl);
}

/** 0F 2E/2F: VUCOMISS/SD, VCOMISS/SD: ZF PF CF from the host instruction; OF SF AF = 0. */
static void op_comis(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix > X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    bool dbl = insn->mprefix == X86_PFX_66, ordered = (insn->op & 0xff) == 0x2f;
    struct x86_ymm b;
    avx_read_rm(cpu, insn, &b, dbl ? 8 : 4, 0);
    v2di x, y;
    memcpy(&x, &cpu->xmm[insn->reg & 15], 16);
    memcpy(&y, &b.l[0], 16);
    uint64_t fl;
    uint32_t saved = sse_fp_begin(cpu);
    switch (dbl * 2 + ordered) {
    case 0: __asm__ volatile("ucomiss %1, %2\n\tpushfq\n\tpopq %0" : "=r"(fl) : "x"(y), "x"(x) : "cc"); break;
    case 1: __asm__ volatile("comiss %1, %2\n\tpushfq\n\tpopq %0" : "=r"(fl) : "x"(y), "x"(x) : "cc"); break;
    case 2: __asm__ volatile("ucomisd %1, %2\n\tpushfq\n\tpopq %0" : "=r"(fl) : "x"(y), "x"(x) : "cc"); break;
    default: __asm__ volatile("comisd %1, %2\n\tpushfq\n\tpopq %0" : "=r"(fl) : "x"(y), "x"(x) : "cc"); break;
    }
    sse_fp_end(cpu, saved);
    x86_set_arith_flags(cpu, fl & (X86_FLAG_ZF | X86_FLAG_PF | X86_FLAG_CF));
}

/** F3/F2 0F 2A: VCVTSI2SS/SD xmm1, xmm2, r/m32/64. */
static void op_cvt_from_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix < X86_PFX_F3) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    bool q = insn->opsize == 8;
    uint64_t v = x86_rm_read(cpu, insn, q ? 8 : 4);
    union x86_xmm r = cpu->xmm[insn->vex_v];
    sse_cvt_from_int(cpu, insn->mprefix == X86_PFX_F2, q, v, &r);
    avx_put128(cpu, insn->reg, &r);
}

/** F3/F2 0F 2C/2D: VCVT(T)SS2SI / VCVT(T)SD2SI r32/64, xmm/m. */
static void op_cvt_to_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix < X86_PFX_F3) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    bool dbl = insn->mprefix == X86_PFX_F2, q = insn->opsize == 8;
    struct x86_ymm s;
    avx_read_rm(cpu, insn, &s, dbl ? 8 : 4, 0);
    uint64_t r = sse_cvt_to_int(cpu, dbl, (insn->op & 0xff) == 0x2c, q, &s.l[0]);
    x86_reg_write(cpu, insn->reg, q ? 8 : 4, true, r);
}

/* ---------------------------------------------------------------- 0F 3A */

/** 66 0F 3A 08-0B: VROUNDPS/PD (unary, 128/256), VROUNDSS/SD (xmm1, xmm2, xmm3/m). */
static void op_round(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t size[4] = { 16, 16, 4, 8 };
    if (insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned k = insn->op & 3;
    sse_host_fn fn = sse4_round_fn((unsigned)insn->imm, k);
    struct x86_ymm a, b;
    if (k >= 2) {
        avx_read_rm(cpu, insn, &b, size[k], 0);
        a.l[0] = cpu->xmm[insn->vex_v];
        fp_lanes(cpu, fn, 16, &a, &b);
        avx_put128(cpu, insn->reg, &a.l[0]);
        return;
    }
    avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn);
    avx_read_rm(cpu, insn, &b, vl, 0);
    a = b;
    fp_lanes(cpu, fn, vl, &a, &b);
    avx_put(cpu, insn->reg, &a, vl);
}

/** 66 0F 3A 40/41: VDPPS (128/256, per lane), VDPPD (128 only). */
static void op_dp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool pd = (insn->op & 0xff) == 0x41;
    if (insn->mprefix != X86_PFX_66 || (pd && insn->vex_l)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned vl = avx_vl(insn);
    struct x86_ymm a, b;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    uint32_t saved = sse_fp_begin(cpu);
    for (unsigned l = 0; l < vl / 16; l++)
        sse4_dp(pd, (uint8_t)insn->imm, &a.l[l], &b.l[l]);
    sse_fp_end(cpu, saved);
    avx_put(cpu, insn->reg, &a, vl);
}

/** 66 0F 3A 0C/0D: VBLENDPS/PD imm8; 4A/4B: VBLENDVPS/PD with the mask register in imm8[7:4]. */
static void op_blend(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    bool var = op >= 0x4a, pd = op == 0x0d || op == 0x4b;
    if (insn->mprefix != X86_PFX_66 || (var && (insn->rex & 8))) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned vl = avx_vl(insn), esz = pd ? 8 : 4, imm = (uint8_t)insn->imm;
    struct x86_ymm a, b, m;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    unsigned mreg = imm >> 4;
    if (cpu->code_mode != X86_MODE_64)
        mreg &= 7;
    avx_get(cpu, mreg, &m);
    for (unsigned i = 0; i < vl / esz; i++) {
        unsigned l = i * esz / 16, k = (i * esz % 16) / esz;
        bool sel = var ? (pd ? m.l[l].u64[k] >> 63 : m.l[l].u32[k] >> 31) : (imm >> (i % 8)) & 1;
        if (sel) {
            if (pd)
                a.l[l].u64[k] = b.l[l].u64[k];
            else
                a.l[l].u32[k] = b.l[l].u32[k];
        }
    }
    avx_put(cpu, insn->reg, &a, vl);
}

void x86_ops_avx_fp_init(x86_exec_fn *vex)
{
    static const uint8_t fp[] = { 0x51, 0x52, 0x53, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e,
                                  0x5f, 0x7c, 0x7d, 0xd0, 0xe6 };
    for (size_t i = 0; i < sizeof(fp); i++)
        vex[X86_OP(X86_MAP_0F, fp[i])] = op_fp;
    static const uint8_t bw[] = { 0x14, 0x15, 0x54, 0x55, 0x56, 0x57 };
    for (size_t i = 0; i < sizeof(bw); i++)
        vex[X86_OP(X86_MAP_0F, bw[i])] = op_fp_bitwise;
    vex[X86_OP(X86_MAP_0F, 0xc6)] = op_shufp;
    vex[X86_OP(X86_MAP_0F, 0xc2)] = op_cmp;
    vex[X86_OP(X86_MAP_0F, 0x2e)] = op_comis;
    vex[X86_OP(X86_MAP_0F, 0x2f)] = op_comis;
    vex[X86_OP(X86_MAP_0F, 0x2a)] = op_cvt_from_int;
    vex[X86_OP(X86_MAP_0F, 0x2c)] = op_cvt_to_int;
    vex[X86_OP(X86_MAP_0F, 0x2d)] = op_cvt_to_int;
    for (unsigned b = 0x08; b <= 0x0b; b++)
        vex[X86_OP(X86_MAP_0F3A, b)] = op_round;
    vex[X86_OP(X86_MAP_0F3A, 0x40)] = op_dp;
    vex[X86_OP(X86_MAP_0F3A, 0x41)] = op_dp;
    vex[X86_OP(X86_MAP_0F3A, 0x0c)] = op_blend;
    vex[X86_OP(X86_MAP_0F3A, 0x0d)] = op_blend;
    vex[X86_OP(X86_MAP_0F3A, 0x4a)] = op_blend;
    vex[X86_OP(X86_MAP_0F3A, 0x4b)] = op_blend;
}
