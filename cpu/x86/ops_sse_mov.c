/*
 * cpu/x86/ops_sse_mov.c - MMX/SSE/SSE2/SSE3 data movement and bitwise FP ops:
 * MOVUPS/MOVUPD/MOVSS/MOVSD (0F 10/11), MOVLPS/MOVHLPS/MOVLPD/MOVSLDUP/
 * MOVDDUP (0F 12/13), UNPCK[LH]P[SD] (0F 14/15), MOVHPS/MOVLHPS/MOVHPD/
 * MOVSHDUP (0F 16/17), MOVAP[SD] (0F 28/29), MOVNTP[SD] (0F 2B), MOVMSKP[SD]
 * (0F 50), AND/ANDN/OR/XOR P[SD] (0F 54-57), MOVD/MOVQ/MOVDQA/MOVDQU (0F 6E/
 * 6F/7E/7F/D6), EMMS (0F 77), FEMMS (0F 0E, #UD: no 3DNow!), MOVNTI (0F C3),
 * PINSRW/PEXTRW (0F C4/C5), SHUFP[SD] (0F C6), PMOVMSKB (0F D7), MOVNTQ/
 * MOVNTDQ (0F E7), LDDQU (F2 0F F0), MASKMOVQ/MASKMOVDQU (0F F7).
 * SDM Vol. 2 instruction pages; alignment per Vol. 1 11.6.8 (the non-U
 * packed forms with a memory operand need 16-byte alignment, #GP(0)).
 * Non-temporal hints are plain stores (no caches to bypass here).
 */
#include "cpu/x86/sse_priv.h"

static inline union x86_xmm *xreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    return &cpu->xmm[insn->reg & 15];
}

static inline bool is_mem(const struct x86_insn *insn)
{
    return insn->flags & X86_INSN_MEM;
}

/** 0F 10: MOVUPS / MOVUPD / MOVSS / MOVSD load forms. */
static void op_movu_load(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    sse_check(cpu);
    union x86_xmm s;
    switch (insn->mprefix) {
    case X86_PFX_NONE:
    case X86_PFX_66:
        sse_read_rm(cpu, insn, &s, 16, false);
        *xreg(cpu, insn) = s;
        break;
    case X86_PFX_F3:
        sse_read_rm(cpu, insn, &s, 4, false);
        if (is_mem(insn))
            *xreg(cpu, insn) = s;               /* zero-extends */
        else
            xreg(cpu, insn)->u32[0] = s.u32[0];
        break;
    default:
        sse_read_rm(cpu, insn, &s, 8, false);
        if (is_mem(insn))
            *xreg(cpu, insn) = s;
        else
            xreg(cpu, insn)->u64[0] = s.u64[0];
        break;
    }
}

/** 0F 11: MOVUPS / MOVUPD / MOVSS / MOVSD store forms. */
static void op_movu_store(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    sse_check(cpu);
    union x86_xmm v = *xreg(cpu, insn);
    unsigned size = insn->mprefix == X86_PFX_F3 ? 4 : insn->mprefix == X86_PFX_F2 ? 8 : 16;
    sse_write_rm(cpu, insn, &v, size, false);
}

/** 0F 28 / 0F 29: MOVAPS / MOVAPD (aligned). */
static void op_mova(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    if ((insn->op & 0xff) == 0x28) {
        union x86_xmm s;
        sse_read_rm(cpu, insn, &s, 16, true);
        *xreg(cpu, insn) = s;
    } else {
        union x86_xmm v = *xreg(cpu, insn);
        sse_write_rm(cpu, insn, &v, 16, true);
    }
}

/** 0F 2B: MOVNTPS / MOVNTPD m128, xmm (memory only, aligned). */
static void op_movntp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!is_mem(insn) || (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66)) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm v = *xreg(cpu, insn);
    sse_write_rm(cpu, insn, &v, 16, true);
}

/** 0F 12: MOVLPS m64 / MOVHLPS / MOVLPD m64 / MOVSLDUP (F3) / MOVDDUP (F2). */
static void op_0f12(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix == X86_PFX_66 && !is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s, *d = xreg(cpu, insn);
    switch (insn->mprefix) {
    case X86_PFX_NONE:
    case X86_PFX_66:
        if (is_mem(insn)) {
            sse_read_rm(cpu, insn, &s, 8, false);
            d->u64[0] = s.u64[0];
        } else {
            d->u64[0] = cpu->xmm[insn->rm & 15].u64[1];   /* MOVHLPS */
        }
        break;
    case X86_PFX_F3:                                    /* MOVSLDUP */
        sse_read_rm(cpu, insn, &s, 16, true);
        d->u32[0] = d->u32[1] = s.u32[0];
        d->u32[2] = d->u32[3] = s.u32[2];
        break;
    default:                                            /* MOVDDUP: m64 */
        sse_read_rm(cpu, insn, &s, 8, false);
        d->u64[0] = d->u64[1] = s.u64[0];
        break;
    }
}

/** 0F 16: MOVHPS m64 / MOVLHPS / MOVHPD m64 / MOVSHDUP (F3). */
static void op_0f16(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((insn->mprefix == X86_PFX_66 && !is_mem(insn)) || insn->mprefix == X86_PFX_F2) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s, *d = xreg(cpu, insn);
    if (insn->mprefix == X86_PFX_F3) {
        sse_read_rm(cpu, insn, &s, 16, true);
        d->u32[0] = d->u32[1] = s.u32[1];
        d->u32[2] = d->u32[3] = s.u32[3];
    } else if (is_mem(insn)) {
        sse_read_rm(cpu, insn, &s, 8, false);
        d->u64[1] = s.u64[0];
    } else {
        d->u64[1] = cpu->xmm[insn->rm & 15].u64[0];      /* MOVLHPS */
    }
}

/** 0F 13 / 0F 17: MOVLPS/MOVLPD m64, xmm and MOVHPS/MOVHPD m64, xmm. */
static void op_movlh_store(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!is_mem(insn) || (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66)) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm v = { .u64 = { xreg(cpu, insn)->u64[(insn->op & 0xff) == 0x17], 0 } };
    sse_write_rm(cpu, insn, &v, 8, false);
}

/** 0F 14 / 0F 15: UNPCKLPS/UNPCKLPD and UNPCKHPS/UNPCKHPD. */
static void op_unpckp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s, *d = xreg(cpu, insn), r;
    sse_read_rm(cpu, insn, &s, 16, true);
    bool high = (insn->op & 0xff) == 0x15;
    if (insn->mprefix == X86_PFX_66) {
        r.u64[0] = d->u64[high];
        r.u64[1] = s.u64[high];
    } else {
        unsigned b = high ? 2 : 0;
        r.u32[0] = d->u32[b];
        r.u32[1] = s.u32[b];
        r.u32[2] = d->u32[b + 1];
        r.u32[3] = s.u32[b + 1];
    }
    *d = r;
}

/** 0F 50: MOVMSKPS / MOVMSKPD r32, xmm (register only). */
static void op_movmskp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (is_mem(insn) || (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66)) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    const union x86_xmm *s = &cpu->xmm[insn->rm & 15];
    uint32_t m = 0;
    if (insn->mprefix == X86_PFX_66)
        m = (unsigned)(s->u64[0] >> 63) | (unsigned)(s->u64[1] >> 63) << 1;
    else
        for (unsigned i = 0; i < 4; i++)
            m |= (s->u32[i] >> 31) << i;
    x86_reg_write(cpu, insn->reg, 8, true, m);
}

/** 0F 54-57: ANDPS/ANDPD, ANDNPS/ANDNPD, ORPS/ORPD, XORPS/XORPD (no FP exceptions). */
static void op_logicp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s, *d = xreg(cpu, insn);
    sse_read_rm(cpu, insn, &s, 16, true);
    for (unsigned i = 0; i < 2; i++) {
        switch (insn->op & 0xff) {
        case 0x54: d->u64[i] &= s.u64[i]; break;
        case 0x55: d->u64[i] = ~d->u64[i] & s.u64[i]; break;
        case 0x56: d->u64[i] |= s.u64[i]; break;
        default: d->u64[i] ^= s.u64[i]; break;
        }
    }
}

/** 0F C6: SHUFPS / SHUFPD xmm, xmm/m128, imm8. */
static void op_shufp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s, *d = xreg(cpu, insn), r;
    unsigned imm = (uint8_t)insn->imm;
    sse_read_rm(cpu, insn, &s, 16, true);
    if (insn->mprefix == X86_PFX_66) {
        r.u64[0] = d->u64[imm & 1];
        r.u64[1] = s.u64[(imm >> 1) & 1];
    } else {
        r.u32[0] = d->u32[imm & 3];
        r.u32[1] = d->u32[(imm >> 2) & 3];
        r.u32[2] = s.u32[(imm >> 4) & 3];
        r.u32[3] = s.u32[(imm >> 6) & 3];
    }
    *d = r;
}

/** 0F 6E: MOVD/MOVQ mm|xmm, r/m32 (r/m64 with REX.W). */
static void op_movd_load(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = (insn->rex & 8) ? 8 : 4;
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        uint64_t v = x86_rm_read(cpu, insn, size);
        *xreg(cpu, insn) = (union x86_xmm){ .u64 = { v, 0 } };
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        uint64_t v = x86_rm_read(cpu, insn, size);
        mmx_enter(cpu);
        mmx_write(cpu, insn->reg, v);
    } else {
        x86_op_ud(cpu, insn);
    }
}

/** 0F 7E: MOVD/MOVQ r/m32|64, mm|xmm; F3 0F 7E: MOVQ xmm, xmm/m64. */
static void op_movd_store(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = (insn->rex & 8) ? 8 : 4;
    if (insn->mprefix == X86_PFX_F3) {
        sse_check(cpu);
        union x86_xmm s;
        sse_read_rm(cpu, insn, &s, 8, false);
        *xreg(cpu, insn) = (union x86_xmm){ .u64 = { s.u64[0], 0 } };
    } else if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        x86_rm_write(cpu, insn, size, xreg(cpu, insn)->u64[0] & x86_size_mask(size));
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        x86_rm_write(cpu, insn, size, mmx_reg(cpu, insn->reg) & x86_size_mask(size));
        mmx_enter(cpu);
    } else {
        x86_op_ud(cpu, insn);
    }
}

/** 0F 6F: MOVQ mm, mm/m64; 66: MOVDQA xmm, xmm/m128; F3: MOVDQU. */
static void op_movdq_load(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        uint64_t v = mmx_read_rm(cpu, insn);
        mmx_enter(cpu);
        mmx_write(cpu, insn->reg, v);
        return;
    }
    if (insn->mprefix == X86_PFX_F2) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, 16, insn->mprefix == X86_PFX_66);
    *xreg(cpu, insn) = s;
}

/** 0F 7F: MOVQ mm/m64, mm; 66: MOVDQA xmm/m128, xmm; F3: MOVDQU. */
static void op_movdq_store(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        uint64_t v = mmx_reg(cpu, insn->reg);
        if (is_mem(insn))
            x86_write64(cpu, x86_mem_linear(cpu, insn, 8, MMU_WRITE), v);
        mmx_enter(cpu);
        if (!is_mem(insn))
            mmx_write(cpu, insn->rm, v);
        return;
    }
    if (insn->mprefix == X86_PFX_F2) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm v = *xreg(cpu, insn);
    sse_write_rm(cpu, insn, &v, 16, insn->mprefix == X86_PFX_66);
}

/** 0F D6: 66 MOVQ xmm/m64, xmm; F3 MOVQ2DQ xmm, mm; F2 MOVDQ2Q mm, xmm. */
static void op_0fd6(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    switch (insn->mprefix) {
    case X86_PFX_66: {
        sse_check(cpu);
        uint64_t v = xreg(cpu, insn)->u64[0];
        if (is_mem(insn))
            x86_write64(cpu, x86_mem_linear(cpu, insn, 8, MMU_WRITE), v);
        else
            cpu->xmm[insn->rm & 15] = (union x86_xmm){ .u64 = { v, 0 } };
        return;
    }
    case X86_PFX_F3:
        if (is_mem(insn))
            break;
        sse_check(cpu);
        mmx_enter(cpu);
        *xreg(cpu, insn) = (union x86_xmm){ .u64 = { mmx_reg(cpu, insn->rm), 0 } };
        return;
    case X86_PFX_F2:
        if (is_mem(insn))
            break;
        sse_check(cpu);
        mmx_enter(cpu);
        mmx_write(cpu, insn->reg, cpu->xmm[insn->rm & 15].u64[0]);
        return;
    default:
        break;
    }
    x86_op_ud(cpu, insn);
}

/** 0F 77: EMMS: TOP = 0 and every x87 register empty (SDM Vol. 2 EMMS, Vol. 1 Table 9-2). */
static void op_emms(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE) {
        x86_op_ud(cpu, insn);
        return;
    }
    mmx_enter(cpu);
    cpu->ftw = 0xffff;
}

/** 0F C3: MOVNTI m32/m64, r32/r64 (memory only). */
static void op_movnti(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!is_mem(insn) || insn->mprefix != X86_PFX_NONE) {
        x86_op_ud(cpu, insn);
        return;
    }
    unsigned size = (insn->rex & 8) ? 8 : 4;
    x86_mem_write(cpu, insn, size, x86_reg_read(cpu, insn->reg, size, true));
}

/** 0F C4: PINSRW mm|xmm, r32/m16, imm8. */
static void op_pinsrw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned imm = (uint8_t)insn->imm;
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        uint16_t v = (uint16_t)x86_rm_read(cpu, insn, 2);
        xreg(cpu, insn)->u16[imm & 7] = v;
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        uint16_t v = (uint16_t)x86_rm_read(cpu, insn, 2);
        mmx_enter(cpu);
        union x86_xmm d = { .u64 = { mmx_reg(cpu, insn->reg), 0 } };
        d.u16[imm & 3] = v;
        mmx_write(cpu, insn->reg, d.u64[0]);
    } else {
        x86_op_ud(cpu, insn);
    }
}

/** 0F C5: PEXTRW r32, mm|xmm, imm8 (register source only). */
static void op_pextrw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned imm = (uint8_t)insn->imm;
    if (is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        x86_reg_write(cpu, insn->reg, 8, true, cpu->xmm[insn->rm & 15].u16[imm & 7]);
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_enter(cpu);
        x86_reg_write(cpu, insn->reg, 8, true, (mmx_reg(cpu, insn->rm) >> (16 * (imm & 3))) & 0xffff);
    } else {
        x86_op_ud(cpu, insn);
    }
}

/** 0F D7: PMOVMSKB r32, mm|xmm. */
static void op_pmovmskb(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    union x86_xmm s;
    unsigned n;
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        s = cpu->xmm[insn->rm & 15];
        n = 16;
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_enter(cpu);
        s.u64[0] = mmx_reg(cpu, insn->rm);
        n = 8;
    } else {
        x86_op_ud(cpu, insn);
        return;
    }
    uint32_t m = 0;
    for (unsigned i = 0; i < n; i++)
        m |= (uint32_t)(s.u8[i] >> 7) << i;
    x86_reg_write(cpu, insn->reg, 8, true, m);
}

/** 0F E7: MOVNTQ m64, mm; 66: MOVNTDQ m128, xmm (aligned). */
static void op_movnt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        union x86_xmm v = *xreg(cpu, insn);
        sse_write_rm(cpu, insn, &v, 16, true);
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        x86_write64(cpu, x86_mem_linear(cpu, insn, 8, MMU_WRITE), mmx_reg(cpu, insn->reg));
        mmx_enter(cpu);
    } else {
        x86_op_ud(cpu, insn);
    }
}

/** F2 0F F0: LDDQU xmm, m128 (unaligned, memory only). */
static void op_lddqu(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!is_mem(insn) || insn->mprefix != X86_PFX_F2) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, 16, false);
    *xreg(cpu, insn) = s;
}

/**
 * 0F F7: MASKMOVQ mm, mm / 66 MASKMOVDQU xmm, xmm: store the bytes of reg
 * whose mask byte (rm) has bit 7 set to DS:rDI (segment overridable).
 */
static void op_maskmov(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (is_mem(insn) || (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66)) {
        x86_op_ud(cpu, insn);
        return;
    }
    union x86_xmm v, m;
    unsigned n;
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        v = *xreg(cpu, insn);
        m = cpu->xmm[insn->rm & 15];
        n = 16;
    } else {
        mmx_check(cpu);
        v.u64[0] = mmx_reg(cpu, insn->reg);
        m.u64[0] = mmx_reg(cpu, insn->rm);
        n = 8;
    }
    int seg = (insn->flags & X86_INSN_SEGOVR) ? insn->seg : X86_DS;
    uint64_t off = cpu->gpr[X86_RDI] & x86_size_mask(insn->addrsize);
    bool any = false;
    for (unsigned i = 0; i < n; i++)
        any |= (m.u8[i] & 0x80) != 0;
    if (any) {
        gva_t lin = x86_linear(cpu, seg, off, n, MMU_WRITE);
        x86_probe_write(cpu, lin, n);
        for (unsigned i = 0; i < n; i++)
            if (m.u8[i] & 0x80)
                x86_write8(cpu, lin + i, v.u8[i]);
    }
    if (n == 8)
        mmx_enter(cpu);
}

/** 0F 0E: FEMMS is AMD 3DNow!, not provided. */
static void op_femms(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise(cpu, X86_EXC_UD);
}

void x86_ops_sse_mov_init(x86_exec_fn *table)
{
#define T(b, fn) table[X86_OP(X86_MAP_0F, b)] = fn
    T(0x0e, op_femms);
    T(0x10, op_movu_load);
    T(0x11, op_movu_store);
    T(0x12, op_0f12);
    T(0x13, op_movlh_store);
    T(0x14, op_unpckp);
    T(0x15, op_unpckp);
    T(0x16, op_0f16);
    T(0x17, op_movlh_store);
    T(0x28, op_mova);
    T(0x29, op_mova);
    T(0x2b, op_movntp);
    T(0x50, op_movmskp);
    T(0x54, op_logicp);
    T(0x55, op_logicp);
    T(0x56, op_logicp);
    T(0x57, op_logicp);
    T(0x6e, op_movd_load);
    T(0x6f, op_movdq_load);
    T(0x77, op_emms);
    T(0x7e, op_movd_store);
    T(0x7f, op_movdq_store);
    T(0xc3, op_movnti);
    T(0xc4, op_pinsrw);
    T(0xc5, op_pextrw);
    T(0xc6, op_shufp);
    T(0xd6, op_0fd6);
    T(0xd7, op_pmovmskb);
    T(0xe7, op_movnt);
    T(0xf0, op_lddqu);
    T(0xf7, op_maskmov);
#undef T
}
