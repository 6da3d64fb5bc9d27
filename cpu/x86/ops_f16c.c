/*
 * cpu/x86/ops_f16c.c - F16C (CPUID.1:ECX[29]): VCVTPH2PS (VEX.66.0F38.W0 13)
 * and VCVTPS2PH (VEX.66.0F3A.W0 1D), 128 and 256 bits (SDM Vol. 2C
 * VCVTPH2PS, VCVTPS2PH; formats of SDM Vol. 1 4.2.1 / IEEE 754 binary16).
 *
 * Done in integer C on the encodings, so the result never depends on
 * whether the host has F16C:
 *  - VCVTPH2PS is exact. Denormal halves become normal singles, MXCSR.DAZ
 *    is ignored and no DE is reported; a signalling NaN is quieted
 *    (fraction bit 9 set, payload kept in the top of the single's fraction)
 *    and raises IE.
 *  - VCVTPS2PH rounds with imm8[1:0] (RC encoding of SDM Vol. 1 Table 4-8)
 *    or, if imm8[2] = 1, MXCSR.RC. MXCSR.FTZ is ignored (tiny results
 *    become half denormals); single denormal inputs are zero under
 *    MXCSR.DAZ, else they raise DE. NaNs keep the top 10 fraction bits and
 *    are quieted (SNaN: IE); overflow gives infinity or the largest finite
 *    value by the rounding direction with OE and PE (SDM Vol. 1 4.9.1.4);
 *    tininess is detected after rounding, UE only when the tiny result is
 *    also inexact (exceptions masked, SDM Vol. 1 4.9.1.5); PE on any
 *    inexact result.
 * Flags of all elements are ORed into MXCSR; an unmasked one raises #XM
 * (#UD if CR4.OSXMMEXCPT = 0) with the destination unchanged
 * (SDM Vol. 1 11.5.1). Exceptions: #UD if VEX.W = 1 or VEX.vvvv != 1111b.
 */
#include "cpu/x86/avx_priv.h"

#define MXCSR_DE 0x02u
#define MXCSR_OE 0x08u
#define MXCSR_UE 0x10u
#define MXCSR_PE 0x20u

/** binary16 @h as binary32 bits (exact); sets IE in *@flags for a signalling NaN. */
static uint32_t f16_to_f32(uint16_t h, uint32_t *flags)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    unsigned exp = (h >> 10) & 0x1f;
    uint32_t frac = h & 0x3ff;
    if (exp == 0x1f) {
        if (frac && !(frac & 0x200))
            *flags |= MXCSR_IE;
        return sign | 0x7f800000u | (frac ? (frac | 0x200) << 13 : 0);
    }
    if (exp == 0) {
        if (!frac)
            return sign;
        /* denormal: value = frac * 2^-24; normalise */
        int e = -14;
        while (!(frac & 0x400)) {
            frac <<= 1;
            e--;
        }
        return sign | (uint32_t)(e + 127) << 23 | (frac & 0x3ff) << 13;
    }
    return sign | (exp - 15 + 127) << 23 | frac << 13;
}

/**
 * binary32 bits @f as binary16 with rounding control @rc (0 nearest-even,
 * 1 down, 2 up, 3 toward zero), @daz; ORs the raised MXCSR flags into *@flags.
 */
static uint16_t f32_to_f16(uint32_t f, unsigned rc, bool daz, uint32_t *flags)
{
    uint16_t sign = (uint16_t)((f >> 16) & 0x8000);
    unsigned exp = (f >> 23) & 0xff;
    uint32_t frac = f & 0x7fffff;
    if (exp == 0xff) {
        if (!frac)
            return sign | 0x7c00;
        if (!(frac & 0x400000))
            *flags |= MXCSR_IE;
        return (uint16_t)(sign | 0x7c00 | 0x200 | (frac >> 13));
    }
    if (exp == 0) {
        if (!frac)
            return sign;
        if (daz)
            return sign;
        *flags |= MXCSR_DE;
    }
    /* value = m * 2^(e - 23) with a 24-bit significand m */
    int e = exp ? (int)exp - 127 : -126;
    uint32_t m = exp ? frac | 0x800000 : frac;
    /* bits to drop: 13 for a normal half, more below 2^-14 (half denormals) */
    unsigned sh = 13 + (e < -14 ? (unsigned)(-14 - e) : 0);
    uint32_t q, rem, halfway;
    if (sh >= 32) {
        q = 0;
        rem = m;
        halfway = ~0u;             /* m < 2^24 is far below half of 2^sh */
    } else {
        q = m >> sh;
        rem = m & ((1u << sh) - 1);
        halfway = 1u << (sh - 1);
    }
    bool neg = sign != 0, inexact = rem != 0, up;
    switch (rc & 3) {
    case 0: up = rem > halfway || (rem == halfway && (q & 1)); break;
    case 1: up = inexact && neg; break;
    case 2: up = inexact && !neg; break;
    default: up = false; break;
    }
    q += up;
    if (e < -14) {
        /* Tiny after rounding: rounding to 11 bits with an unbounded
         * exponent stays below 2^-14 (only e = -15 can carry up to it). */
        bool tiny = true;
        if (e == -15) {
            uint32_t r13 = m & 0x1fff, q13 = m >> 13, h13 = 0x1000;
            bool up13;
            switch (rc & 3) {
            case 0: up13 = r13 > h13 || (r13 == h13 && (q13 & 1)); break;
            case 1: up13 = r13 && neg; break;
            case 2: up13 = r13 && !neg; break;
            default: up13 = false; break;
            }
            tiny = q13 + up13 < 0x800;
        }
        if (inexact)
            *flags |= MXCSR_PE | (tiny ? MXCSR_UE : 0);
        return (uint16_t)(sign | q);      /* q = 0x400 is the smallest normal */
    }
    uint32_t bits = ((uint32_t)(e + 15) << 10) + q - 0x400;
    if (bits >= 0x7c00) {
        /* overflow after rounding (IEEE 754 7.4) */
        *flags |= MXCSR_OE | MXCSR_PE;
        bool to_inf = (rc & 3) == 0 || ((rc & 3) == 1 && neg) || ((rc & 3) == 2 && !neg);
        return (uint16_t)(sign | (to_inf ? 0x7c00 : 0x7bff));
    }
    if (inexact)
        *flags |= MXCSR_PE;
    return (uint16_t)(sign | bits);
}

/** Merge @flags into MXCSR; #XM (or #UD without CR4.OSXMMEXCPT) if one is unmasked. */
static void f16c_flags(struct x86_cpu *cpu, uint32_t flags)
{
    uint32_t unmasked = flags & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
    cpu->mxcsr |= flags;
    if (unlikely(unmasked)) {
        if (cpu->cr4 & X86_CR4_OSXMMEXCPT)
            x86_raise(cpu, X86_EXC_XM);
        x86_raise(cpu, X86_EXC_UD);
    }
}

/** Common checks: F16C, AVX state, 66 prefix, VEX.W0, vvvv = 1111b. */
static void f16c_check(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || (insn->rex & 8))
        x86_raise(cpu, X86_EXC_UD);
    avx_check_feat(cpu, X86_FEAT_F16C);
    avx_no_vvvv(cpu, insn);
}

/** VEX.66.0F38.W0 13: VCVTPH2PS xmm1, xmm2/m64 | ymm1, xmm2/m128. */
static void op_vcvtph2ps(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    f16c_check(cpu, insn);
    unsigned vl = avx_vl(insn), n = vl / 4;
    struct x86_ymm s, r;
    avx_read_rm(cpu, insn, &s, n * 2, 0);
    uint32_t flags = 0;
    for (unsigned i = 0; i < n; i++)
        r.l[i / 4].u32[i % 4] = f16_to_f32(s.l[0].u16[i], &flags);
    f16c_flags(cpu, flags);
    avx_put(cpu, insn->reg, &r, vl);
}

/** VEX.66.0F3A.W0 1D: VCVTPS2PH xmm1/m64, xmm2, imm8 | xmm1/m128, ymm2, imm8. */
static void op_vcvtps2ph(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    f16c_check(cpu, insn);
    unsigned imm = (uint8_t)insn->imm, vl = avx_vl(insn), n = vl / 4;
    unsigned rc = (imm & 4) ? (cpu->mxcsr >> MXCSR_RC_SHIFT) & 3 : imm & 3;
    bool daz = cpu->mxcsr & MXCSR_DAZ;
    struct x86_ymm s, r;
    avx_get(cpu, insn->reg, &s);
    memset(&r, 0, sizeof(r));
    uint32_t flags = 0;
    for (unsigned i = 0; i < n; i++)
        r.l[0].u16[i] = f32_to_f16(s.l[i / 4].u32[i % 4], rc, daz, &flags);
    f16c_flags(cpu, flags);
    if (insn->flags & X86_INSN_MEM)
        avx_write_mem(cpu, insn, &r, n * 2, 0);
    else
        avx_put(cpu, insn->rm, &r, 16);   /* bits 255:(n * 16) zeroed */
}

void x86_ops_f16c_vex_init(x86_exec_fn *vex)
{
    vex[X86_OP(X86_MAP_0F38, 0x13)] = op_vcvtph2ps;
    vex[X86_OP(X86_MAP_0F3A, 0x1d)] = op_vcvtps2ph;
}
