/*
 * cpu/x86/ops_bmi.c - BMI1 and BMI2: the VEX-encoded general-register
 * instructions (SDM Vol. 2 instruction pages): ANDN, BLSR/BLSMSK/BLSI
 * (VEX 0F 38 F3 /1 /2 /3), BEXTR (BMI1); BZHI, PDEP, PEXT, MULX, SARX,
 * SHLX, SHRX, RORX (BMI2). TZCNT (BMI1's legacy-encoded member) lives in
 * ops_bit.c.
 *
 * Operand size is 64 with VEX.W in 64-bit mode, else 32 (a 32-bit
 * destination is zero-extended). VEX.L = 1 is #UD. These instructions do
 * not touch SSE/AVX state, so CR4.OSXSAVE and XCR0 do not matter.
 * Undefined flags (AF and PF where the SDM says "undefined") are given the
 * values of CC_OP_LOGIC (AF = 0, PF from the result).
 */
#include "cpu/x86/avx_priv.h"

/** @v's low @bits bits sign-extended. */
static int64_t sext_bits(uint64_t v, unsigned bits)
{
    return bits >= 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static unsigned bmi_size(const struct x86_insn *insn)
{
    return insn->opsize == 8 ? 8 : 4;
}

/** #UD unless the model has @feat and VEX.L = 0. */
static void bmi_check(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned feat)
{
    if (!x86_has_feature(cpu, feat) || insn->vex_l)
        x86_raise(cpu, X86_EXC_UD);
}

static uint64_t vreg(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    return cpu->gpr[insn->vex_v & 15] & x86_size_mask(size);
}

/** Flags of a logical result: ZF, SF (PF from the result, AF = 0) with explicit CF and OF = 0. */
static void set_logic_flags(struct x86_cpu *cpu, uint64_t res, unsigned size, bool cf)
{
    uint64_t m = x86_size_mask(size);
    uint64_t f = 0;
    if ((res & m) == 0)
        f |= X86_FLAG_ZF;
    if ((res >> (size * 8 - 1)) & 1)
        f |= X86_FLAG_SF;
    if (!__builtin_parity((unsigned)(res & 0xff)))
        f |= X86_FLAG_PF;
    if (cf)
        f |= X86_FLAG_CF;
    x86_set_arith_flags(cpu, f);
}

/** VEX.0F38 F2: ANDN r, vvvv, r/m = ~vvvv & r/m. */
static void op_andn(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE) {
        x86_op_ud(cpu, insn);
        return;
    }
    bmi_check(cpu, insn, X86_FEAT_BMI1);
    unsigned sz = bmi_size(insn);
    uint64_t r = ~vreg(cpu, insn, sz) & x86_rm_read(cpu, insn, sz) & x86_size_mask(sz);
    x86_reg_write(cpu, insn->reg, sz, true, r);
    set_logic_flags(cpu, r, sz, false);
}

/** VEX.0F38 F3 /1 BLSR, /2 BLSMSK, /3 BLSI: destination VEX.vvvv. */
static void op_grp17(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (insn->mprefix != X86_PFX_NONE || d < 1 || d > 3) {
        x86_op_ud(cpu, insn);
        return;
    }
    bmi_check(cpu, insn, X86_FEAT_BMI1);
    unsigned sz = bmi_size(insn);
    uint64_t m = x86_size_mask(sz), s = x86_rm_read(cpu, insn, sz), r;
    bool cf;
    switch (d) {
    case 1: r = s & (s - 1); cf = s == 0; break;            /* BLSR */
    case 2: r = s ^ (s - 1); cf = s == 0; break;            /* BLSMSK */
    default: r = s & (0 - s); cf = s != 0; break;           /* BLSI */
    }
    r &= m;
    x86_reg_write(cpu, insn->vex_v & 15, sz, true, r);
    set_logic_flags(cpu, r, sz, cf);
}

/** VEX.0F38 F5: BZHI (none), PEXT (F3), PDEP (F2). */
static void op_f5(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sz = bmi_size(insn), bits = sz * 8;
    uint64_t m = x86_size_mask(sz);
    if (insn->mprefix == X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    bmi_check(cpu, insn, X86_FEAT_BMI2);
    uint64_t src = x86_rm_read(cpu, insn, sz);
    if (insn->mprefix == X86_PFX_NONE) {                    /* BZHI r, r/m, vvvv */
        unsigned n = vreg(cpu, insn, sz) & 0xff;
        uint64_t r = n < bits ? src & ((1ull << n) - 1) & m : src;
        x86_reg_write(cpu, insn->reg, sz, true, r);
        set_logic_flags(cpu, r, sz, n > bits - 1);
        return;
    }
    uint64_t v = vreg(cpu, insn, sz), mask = src, r = 0;
    if (insn->mprefix == X86_PFX_F3) {                      /* PEXT r, vvvv, r/m(mask) */
        unsigned k = 0;
        for (unsigned i = 0; i < bits; i++)
            if ((mask >> i) & 1)
                r |= ((v >> i) & 1) << k++;
    } else {                                                /* PDEP r, vvvv, r/m(mask) */
        unsigned k = 0;
        for (unsigned i = 0; i < bits; i++)
            if ((mask >> i) & 1)
                r |= ((v >> k++) & 1) << i;
    }
    x86_reg_write(cpu, insn->reg, sz, true, r & m);
}

/** VEX.F2.0F38 F6: MULX r(high), vvvv(low), r/m: unsigned rDX * r/m, no flags. */
static void op_mulx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_F2) {
        x86_op_ud(cpu, insn);
        return;
    }
    bmi_check(cpu, insn, X86_FEAT_BMI2);
    unsigned sz = bmi_size(insn);
    uint64_t s = x86_rm_read(cpu, insn, sz), lo, hi;
    if (sz == 8) {
        unsigned __int128 p = (unsigned __int128)cpu->gpr[X86_RDX] * s;
        lo = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        uint64_t p = (uint64_t)(uint32_t)cpu->gpr[X86_RDX] * (uint32_t)s;
        lo = (uint32_t)p;
        hi = p >> 32;
    }
    /* SDM: if the two destinations are the same register, it gets the high half. */
    x86_reg_write(cpu, insn->vex_v & 15, sz, true, lo);
    x86_reg_write(cpu, insn->reg, sz, true, hi);
}

/** VEX.0F38 F7: BEXTR (none, BMI1), SHLX (66), SARX (F3), SHRX (F2) r, r/m, vvvv. */
static void op_f7(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sz = bmi_size(insn), bits = sz * 8;
    uint64_t m = x86_size_mask(sz);
    bmi_check(cpu, insn, insn->mprefix == X86_PFX_NONE ? X86_FEAT_BMI1 : X86_FEAT_BMI2);
    uint64_t src = x86_rm_read(cpu, insn, sz), ctl = vreg(cpu, insn, sz);
    if (insn->mprefix == X86_PFX_NONE) {
        unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff;
        uint64_t r = start < bits ? src >> start : 0;
        if (len < 64)
            r &= (1ull << len) - 1;
        r &= m;
        x86_reg_write(cpu, insn->reg, sz, true, r);
        set_logic_flags(cpu, r, sz, false);
        return;
    }
    unsigned c = ctl & (bits - 1);
    uint64_t r;
    switch (insn->mprefix) {
    case X86_PFX_66: r = src << c; break;
    case X86_PFX_F3: r = (uint64_t)(sext_bits(src, bits) >> c); break;
    default: r = src >> c; break;
    }
    x86_reg_write(cpu, insn->reg, sz, true, r & m);
}

/** VEX.F2.0F3A F0: RORX r, r/m, imm8 (no flags). */
static void op_rorx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    /* VEX.vvvv is reserved and must be 1111b, else #UD (SDM Vol. 2B RORX). */
    if (insn->mprefix != X86_PFX_F2 || insn->vex_v != 0) {
        x86_op_ud(cpu, insn);
        return;
    }
    bmi_check(cpu, insn, X86_FEAT_BMI2);
    unsigned sz = bmi_size(insn), bits = sz * 8, c = (unsigned)insn->imm & (bits - 1);
    uint64_t s = x86_rm_read(cpu, insn, sz), m = x86_size_mask(sz);
    uint64_t r = c ? ((s >> c) | (s << (bits - c))) & m : s;
    x86_reg_write(cpu, insn->reg, sz, true, r);
}

void x86_ops_bmi_init(x86_exec_fn *vex)
{
    vex[X86_OP(X86_MAP_0F38, 0xf2)] = op_andn;
    vex[X86_OP(X86_MAP_0F38, 0xf3)] = op_grp17;
    vex[X86_OP(X86_MAP_0F38, 0xf5)] = op_f5;
    vex[X86_OP(X86_MAP_0F38, 0xf6)] = op_mulx;
    vex[X86_OP(X86_MAP_0F38, 0xf7)] = op_f7;
    vex[X86_OP(X86_MAP_0F3A, 0xf0)] = op_rorx;
}
