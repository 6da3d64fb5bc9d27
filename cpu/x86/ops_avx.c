/*
 * cpu/x86/ops_avx.c - VEX registration and AVX data movement: VMOVUPS/UPD/
 * APS/APD/SS/SD, VMOVLPS/HPS/LPD/HPD/HLPS/LHPS, VMOVSLDUP/SHDUP/DDUP,
 * VMOVNTPS/PD/DQ, VMOVD/VMOVQ, VMOVDQA/DQU, VLDDQU, VMOVMSKPS/PD,
 * VPMOVMSKB, VPINSRW/VPEXTRW, VMASKMOVDQU, VZEROUPPER/VZEROALL,
 * VLDMXCSR/VSTMXCSR (SDM Vol. 2 instruction pages, VEX forms).
 *
 * CPUID features implemented by the VEX files (cpuid.c advertises them on
 * -cpu max; see there for the table):
 *   AVX   1.ECX[28]  ops_avx.c, ops_avx_fp.c, ops_avx_int.c (128-bit
 *                    integer), ops_avx_perm.c (F128 permutes, broadcasts)
 *   AVX2  7.EBX[5]   ops_avx_int.c (256-bit integer, variable shifts,
 *                    gathers), ops_avx_perm.c (VPERMD/Q/PS/PD, I128 ops)
 *   FMA   1.ECX[12]  ops_fma.c;  F16C 1.ECX[29] ops_f16c.c
 *   SSE4.2 (VPCMPxSTRx) ops_sse42.c; AES, PCLMULQDQ ops_aes.c
 *   BMI1/BMI2        ops_bmi.c
 */
#include "cpu/x86/avx_priv.h"

void avx_read_rm(struct x86_cpu *cpu, const struct x86_insn *insn, struct x86_ymm *out,
                 unsigned size, unsigned align)
{
    if (!(insn->flags & X86_INSN_MEM)) {
        avx_get(cpu, insn->rm, out);
        return;
    }
    if (size > 32)
        size = 32;
    gva_t lin = sse_mem_addr(cpu, insn, size, MMU_READ, align > 1 ? align : 1);
    memset(out, 0, sizeof(*out));
    x86_read_bytes(cpu, lin, out->l[0].u8, size);
}

void avx_write_mem(struct x86_cpu *cpu, const struct x86_insn *insn, const struct x86_ymm *v,
                   unsigned size, unsigned align)
{
    if (size > 32)
        size = 32;
    gva_t lin = sse_mem_addr(cpu, insn, size, MMU_WRITE, align > 1 ? align : 1);
    x86_write_bytes(cpu, lin, v->l[0].u8, size);
}

static inline bool is_mem(const struct x86_insn *insn)
{
    return insn->flags & X86_INSN_MEM;
}

/* ---------------------------------------------------------------- whole-register moves */

/** 0F 10 / 0F 28 / 66 0F 6F / F3 0F 6F / F2 0F F0: full-vector loads (@align: aligned forms). */
static void vmov_load(struct x86_cpu *cpu, const struct x86_insn *insn, bool align)
{
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn);
    struct x86_ymm v;
    avx_read_rm(cpu, insn, &v, vl, align ? vl : 0);
    avx_put(cpu, insn->reg, &v, vl);
}

/** 0F 11 / 0F 29 / 66 0F 7F / F3 0F 7F / 0F 2B / 66 0F E7: full-vector stores. */
static void vmov_store(struct x86_cpu *cpu, const struct x86_insn *insn, bool align)
{
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn);
    struct x86_ymm v;
    avx_get(cpu, insn->reg, &v);
    if (is_mem(insn))
        avx_write_mem(cpu, insn, &v, vl, align ? vl : 0);
    else
        avx_put(cpu, insn->rm, &v, vl);
}

/** VMOVSS/VMOVSD (F3/F2 0F 10/11): memory forms move 4/8 bytes; register forms merge with vvvv. */
static void vmov_scalar(struct x86_cpu *cpu, const struct x86_insn *insn, bool store)
{
    avx_check(cpu);
    unsigned sz = insn->mprefix == X86_PFX_F3 ? 4 : 8;
    struct x86_ymm v;
    if (is_mem(insn)) {
        avx_no_vvvv(cpu, insn);
        if (store) {
            avx_get(cpu, insn->reg, &v);
            avx_write_mem(cpu, insn, &v, sz, 0);
        } else {
            avx_read_rm(cpu, insn, &v, sz, 0);
            avx_put128(cpu, insn->reg, &v.l[0]);
        }
        return;
    }
    /* VMOVSS xmm1, xmm2, xmm3: xmm1 = xmm2[127:sz*8] : xmm3[sz*8-1:0] (store form: rm <- reg). */
    unsigned dst = store ? insn->rm : insn->reg, src = store ? insn->reg : insn->rm;
    union x86_xmm r = cpu->xmm[insn->vex_v];
    memcpy(r.u8, cpu->xmm[src & 15].u8, sz);
    avx_put128(cpu, dst, &r);
}

static void op_0f10(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix >= X86_PFX_F3)
        vmov_scalar(cpu, insn, false);
    else
        vmov_load(cpu, insn, false);
}

static void op_0f11(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix >= X86_PFX_F3)
        vmov_scalar(cpu, insn, true);
    else
        vmov_store(cpu, insn, false);
}

static void op_0f28(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix > X86_PFX_66)
        x86_op_ud(cpu, insn);
    else
        vmov_load(cpu, insn, true);
}

static void op_0f29(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix > X86_PFX_66)
        x86_op_ud(cpu, insn);
    else
        vmov_store(cpu, insn, true);
}

/** 0F 2B VMOVNTPS/PD, 66 0F E7 VMOVNTDQ: aligned stores, memory only. */
static void op_movnt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool ok = (insn->op & 0xff) == 0x2b ? insn->mprefix <= X86_PFX_66 : insn->mprefix == X86_PFX_66;
    if (!ok || !is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    vmov_store(cpu, insn, true);
}

static void op_0f6f(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix == X86_PFX_66 || insn->mprefix == X86_PFX_F3)
        vmov_load(cpu, insn, insn->mprefix == X86_PFX_66);
    else
        x86_op_ud(cpu, insn);
}

static void op_0f7f(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix == X86_PFX_66 || insn->mprefix == X86_PFX_F3)
        vmov_store(cpu, insn, insn->mprefix == X86_PFX_66);
    else
        x86_op_ud(cpu, insn);
}

/** F2 0F F0: VLDDQU (memory only, no alignment). */
static void op_lddqu(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_F2 || !is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    vmov_load(cpu, insn, false);
}

/* ---------------------------------------------------------------- half-register moves */

/** 0F 12: VMOVLPS/VMOVHLPS, 66: VMOVLPD, F3: VMOVSLDUP, F2: VMOVDDUP. */
static void op_0f12(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    avx_check(cpu);
    struct x86_ymm s;
    unsigned vl = avx_vl(insn);
    switch (insn->mprefix) {
    case X86_PFX_NONE:
    case X86_PFX_66: {
        if (insn->vex_l || (insn->mprefix == X86_PFX_66 && !is_mem(insn)))
            x86_raise(cpu, X86_EXC_UD);
        union x86_xmm r = cpu->xmm[insn->vex_v];
        if (is_mem(insn)) {
            avx_read_rm(cpu, insn, &s, 8, 0);
            r.u64[0] = s.l[0].u64[0];
        } else {
            r.u64[0] = cpu->xmm[insn->rm & 15].u64[1];   /* VMOVHLPS */
        }
        avx_put128(cpu, insn->reg, &r);
        return;
    }
    case X86_PFX_F3: {                                     /* VMOVSLDUP */
        avx_no_vvvv(cpu, insn);
        avx_read_rm(cpu, insn, &s, vl, 0);
        for (unsigned l = 0; l < 2; l++)
            for (unsigned i = 0; i < 4; i += 2)
                s.l[l].u32[i + 1] = s.l[l].u32[i];
        avx_put(cpu, insn->reg, &s, vl);
        return;
    }
    default: {                                             /* VMOVDDUP */
        avx_no_vvvv(cpu, insn);
        avx_read_rm(cpu, insn, &s, vl == 16 ? 8 : 32, 0);
        for (unsigned l = 0; l < 2; l++)
            s.l[l].u64[1] = s.l[l].u64[0];
        avx_put(cpu, insn->reg, &s, vl);
        return;
    }
    }
}

/** 0F 16: VMOVHPS/VMOVLHPS, 66: VMOVHPD, F3: VMOVSHDUP. */
static void op_0f16(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    avx_check(cpu);
    struct x86_ymm s;
    unsigned vl = avx_vl(insn);
    if (insn->mprefix == X86_PFX_F3) {                     /* VMOVSHDUP */
        avx_no_vvvv(cpu, insn);
        avx_read_rm(cpu, insn, &s, vl, 0);
        for (unsigned l = 0; l < 2; l++)
            for (unsigned i = 0; i < 4; i += 2)
                s.l[l].u32[i] = s.l[l].u32[i + 1];
        avx_put(cpu, insn->reg, &s, vl);
        return;
    }
    if (insn->mprefix == X86_PFX_F2 || insn->vex_l || (insn->mprefix == X86_PFX_66 && !is_mem(insn)))
        x86_raise(cpu, X86_EXC_UD);
    union x86_xmm r = cpu->xmm[insn->vex_v];
    if (is_mem(insn)) {
        avx_read_rm(cpu, insn, &s, 8, 0);
        r.u64[1] = s.l[0].u64[0];
    } else {
        r.u64[1] = cpu->xmm[insn->rm & 15].u64[0];         /* VMOVLHPS */
    }
    avx_put128(cpu, insn->reg, &r);
}

/** 0F 13 / 0F 17 (none, 66): VMOVLPS/LPD/HPS/HPD m64, xmm. */
static void op_movlh_store(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix > X86_PFX_66 || !is_mem(insn) || insn->vex_l) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    struct x86_ymm v = { { cpu->xmm[insn->reg & 15] } };
    if ((insn->op & 0xff) == 0x17)
        v.l[0].u64[0] = v.l[0].u64[1];
    avx_write_mem(cpu, insn, &v, 8, 0);
}

/* ---------------------------------------------------------------- GPR <-> XMM */

/** 66 0F 6E: VMOVD/VMOVQ xmm, r/m32/64 (VEX.W selects 64 in 64-bit mode). */
static void op_movd_load(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || insn->vex_l) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    unsigned sz = (insn->opsize == 8) ? 8 : 4;
    union x86_xmm r = { .u64 = { x86_rm_read(cpu, insn, sz), 0 } };
    avx_put128(cpu, insn->reg, &r);
}

/** 66 0F 7E: VMOVD/VMOVQ r/m, xmm; F3 0F 7E: VMOVQ xmm, xmm/m64. */
static void op_0f7e(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->vex_l || (insn->mprefix != X86_PFX_66 && insn->mprefix != X86_PFX_F3)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    if (insn->mprefix == X86_PFX_F3) {
        struct x86_ymm s;
        avx_read_rm(cpu, insn, &s, 8, 0);
        union x86_xmm r = { .u64 = { s.l[0].u64[0], 0 } };
        avx_put128(cpu, insn->reg, &r);
        return;
    }
    unsigned sz = (insn->opsize == 8) ? 8 : 4;
    uint64_t v = cpu->xmm[insn->reg & 15].u64[0];
    if (is_mem(insn))
        x86_mem_write(cpu, insn, sz, v);
    else
        x86_reg_write(cpu, insn->rm, sz == 8 ? 8 : 4, true, v);
}

/** 66 0F D6: VMOVQ xmm/m64, xmm (a register destination gets its bits 255:64 zeroed). */
static void op_movq_store(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->vex_l || insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    struct x86_ymm v = { { { .u64 = { cpu->xmm[insn->reg & 15].u64[0], 0 } } } };
    if (is_mem(insn))
        avx_write_mem(cpu, insn, &v, 8, 0);
    else
        avx_put128(cpu, insn->rm, &v.l[0]);
}

/** 0F 50: VMOVMSKPS/PD r32/64, xmm/ymm (register source only). */
static void op_movmskp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (is_mem(insn) || insn->mprefix > X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    struct x86_ymm s;
    avx_get(cpu, insn->rm, &s);
    unsigned n = avx_vl(insn) / 16, r = 0, k = 0;
    for (unsigned l = 0; l < n; l++) {
        if (insn->mprefix == X86_PFX_66)
            for (unsigned i = 0; i < 2; i++)
                r |= (unsigned)(s.l[l].u64[i] >> 63) << k++;
        else
            for (unsigned i = 0; i < 4; i++)
                r |= (s.l[l].u32[i] >> 31) << k++;
    }
    cpu->gpr[insn->reg & 15] = r;
}

/** 66 0F D7: VPMOVMSKB r32/64, xmm/ymm (256-bit form: AVX2). */
static void op_pmovmskb(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (is_mem(insn) || insn->mprefix != X86_PFX_66 || (insn->vex_l && !avx2_enabled(cpu))) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    struct x86_ymm s;
    avx_get(cpu, insn->rm, &s);
    uint32_t r = 0;
    for (unsigned i = 0; i < avx_vl(insn); i++)
        r |= (uint32_t)(s.l[i / 16].u8[i % 16] >> 7) << i;
    cpu->gpr[insn->reg & 15] = r;
}

/** 66 0F C4: VPINSRW xmm1, xmm2, r32/m16, imm8 (VEX.128). */
static void op_pinsrw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || insn->vex_l) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    uint16_t v = (uint16_t)x86_rm_read(cpu, insn, is_mem(insn) ? 2 : 4);
    union x86_xmm r = cpu->xmm[insn->vex_v];
    r.u16[insn->imm & 7] = v;
    avx_put128(cpu, insn->reg, &r);
}

/** 66 0F C5: VPEXTRW r32/64, xmm, imm8 (VEX.128, register source). */
static void op_pextrw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || insn->vex_l || is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    cpu->gpr[insn->reg & 15] = cpu->xmm[insn->rm & 15].u16[insn->imm & 7];
}

/** 66 0F F7: VMASKMOVDQU xmm1, xmm2: byte-masked store to DS:rDI (SDM Vol. 2 MASKMOVDQU). */
static void op_maskmovdqu(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || insn->vex_l || is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    const union x86_xmm *d = &cpu->xmm[insn->reg & 15], *m = &cpu->xmm[insn->rm & 15];
    uint64_t addr = cpu->gpr[X86_RDI] & x86_size_mask(insn->addrsize);
    int seg = (insn->flags & X86_INSN_SEGOVR) ? insn->seg : X86_DS;
    gva_t lin = x86_linear(cpu, seg, addr, 16, MMU_WRITE);
    for (unsigned i = 0; i < 16; i++)
        if (m->u8[i] & 0x80)
            x86_probe_write(cpu, lin + i, 1);
    for (unsigned i = 0; i < 16; i++)
        if (m->u8[i] & 0x80)
            x86_write8(cpu, lin + i, d->u8[i]);
}

/** 0F 77: VZEROUPPER (VEX.L = 0) / VZEROALL (VEX.L = 1); XMM/YMM8-15 only in 64-bit mode. */
static void op_vzero(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    /* VEX.vvvv is reserved and must be 1111b, else #UD (SDM Vol. 2C VZEROUPPER/VZEROALL). */
    if (insn->mprefix != X86_PFX_NONE || insn->vex_v != 0) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned n = cpu->code_mode == X86_MODE_64 ? 16 : 8;
    for (unsigned i = 0; i < n; i++) {
        memset(&cpu->ymmh[i], 0, 16);
        if (insn->vex_l)
            memset(&cpu->xmm[i], 0, 16);
    }
}

/** 0F AE /2 /3 (memory, VEX.L = 0): VLDMXCSR / VSTMXCSR. */
static void op_0fae(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned digit = x86_modrm_digit(insn);
    if (!is_mem(insn) || insn->mprefix != X86_PFX_NONE || insn->vex_l || (digit != 2 && digit != 3)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    if (digit == 3) {
        x86_mem_write(cpu, insn, 4, cpu->mxcsr);
        return;
    }
    uint32_t v = (uint32_t)x86_mem_read(cpu, insn, 4);
    if (v & ~MXCSR_MASK)
        x86_raise_gp0(cpu);
    cpu->mxcsr = v;
}

void x86_ops_vex_init(x86_exec_fn *vex)
{
#define T(b, fn) vex[X86_OP(X86_MAP_0F, b)] = fn
    T(0x10, op_0f10); T(0x11, op_0f11); T(0x12, op_0f12); T(0x13, op_movlh_store);
    T(0x16, op_0f16); T(0x17, op_movlh_store); T(0x28, op_0f28); T(0x29, op_0f29);
    T(0x2b, op_movnt); T(0xe7, op_movnt); T(0x50, op_movmskp); T(0x6e, op_movd_load);
    T(0x6f, op_0f6f); T(0x7e, op_0f7e); T(0x7f, op_0f7f); T(0x77, op_vzero);
    T(0xae, op_0fae); T(0xc4, op_pinsrw); T(0xc5, op_pextrw); T(0xd6, op_movq_store);
    T(0xd7, op_pmovmskb); T(0xf0, op_lddqu); T(0xf7, op_maskmovdqu);
#undef T
    x86_ops_avx_fp_init(vex);
    x86_ops_avx_int_init(vex);
    x86_ops_avx_perm_init(vex);
    x86_ops_fma_init(vex);
    x86_ops_bmi_init(vex);
    x86_ops_sse42_vex_init(vex);
    x86_ops_aes_vex_init(vex);
    x86_ops_f16c_vex_init(vex);
}
