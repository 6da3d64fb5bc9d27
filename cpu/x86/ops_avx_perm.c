/*
 * cpu/x86/ops_avx_perm.c - AVX/AVX2 broadcasts and cross-lane permutes:
 * VBROADCASTSS/SD/F128, VPBROADCASTB/W/D/Q/I128, VPERMILPS/PD (vector and
 * imm8 controls), VPERM2F128/VPERM2I128, VINSERTF128/I128,
 * VEXTRACTF128/I128, VPERMD/VPERMPS, VPERMQ/VPERMPD (SDM Vol. 2
 * instruction pages). F128 forms are AVX, I128/PERMD/Q and the register
 * source broadcasts are AVX2.
 */
#include "cpu/x86/avx_priv.h"

static inline bool is_mem(const struct x86_insn *insn)
{
    return insn->flags & X86_INSN_MEM;
}

/** Element @i of @esz bytes of @v (as raw bytes). */
static inline uint8_t *elem(struct x86_ymm *v, unsigned i, unsigned esz)
{
    return (uint8_t *)v + i * esz;
}

/**
 * 0F 38 18/19/1A VBROADCASTSS/SD/F128, 58/59/5A VPBROADCASTD/Q/I128,
 * 78/79 VPBROADCASTB/W: replicate the first element of the source.
 */
static void op_broadcast(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    unsigned esz;
    bool avx2 = op >= 0x58;
    switch (op) {
    case 0x18: case 0x58: esz = 4; break;
    case 0x19: case 0x59: esz = 8; break;
    case 0x1a: case 0x5a: esz = 16; break;
    case 0x78: esz = 1; break;
    default: esz = 2; break;
    }
    bool bad = insn->mprefix != X86_PFX_66 || (insn->rex & 8) ||
               ((op == 0x19 || op == 0x1a || op == 0x5a) && !insn->vex_l) ||
               (esz == 16 && !is_mem(insn)) || (!is_mem(insn) && !avx2_enabled(cpu)) ||
               (avx2 && !avx2_enabled(cpu));
    if (bad) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn);
    struct x86_ymm s, r;
    avx_read_rm(cpu, insn, &s, esz, 0);
    for (unsigned i = 0; i < vl / esz; i++)
        memcpy(elem(&r, i, esz), &s, esz);
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 38 0C/0D: VPERMILPS/PD with a vector control (per lane). */
static void op_permil_var(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || (insn->rex & 8)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    bool pd = insn->op & 1;
    unsigned vl = avx_vl(insn);
    struct x86_ymm a, c, r;
    avx_read_rm(cpu, insn, &c, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    for (unsigned l = 0; l < vl / 16; l++) {
        if (pd)
            for (unsigned i = 0; i < 2; i++)
                r.l[l].u64[i] = a.l[l].u64[(c.l[l].u64[i] >> 1) & 1];
        else
            for (unsigned i = 0; i < 4; i++)
                r.l[l].u32[i] = a.l[l].u32[c.l[l].u32[i] & 3];
    }
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 3A 04/05: VPERMILPS/PD with imm8 (PD: two bits per lane). */
static void op_permil_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || (insn->rex & 8)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    bool pd = insn->op & 1;
    unsigned vl = avx_vl(insn), imm = (uint8_t)insn->imm;
    struct x86_ymm a, r;
    avx_read_rm(cpu, insn, &a, vl, 0);
    for (unsigned l = 0; l < vl / 16; l++) {
        if (pd)
            for (unsigned i = 0; i < 2; i++)
                r.l[l].u64[i] = a.l[l].u64[(imm >> (2 * l + i)) & 1];
        else
            for (unsigned i = 0; i < 4; i++)
                r.l[l].u32[i] = a.l[l].u32[(imm >> (2 * i)) & 3];
    }
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 3A 06 VPERM2F128 / 46 VPERM2I128 (VEX.256 only). */
static void op_perm2x128(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool i128 = (insn->op & 0xff) == 0x46;
    if (insn->mprefix != X86_PFX_66 || !insn->vex_l || (insn->rex & 8) || (i128 && !avx2_enabled(cpu))) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned imm = (uint8_t)insn->imm;
    struct x86_ymm a, b, r;
    avx_read_rm(cpu, insn, &b, 32, 0);
    avx_get(cpu, insn->vex_v, &a);
    for (unsigned l = 0; l < 2; l++) {
        unsigned sel = imm >> (4 * l);
        union x86_xmm v = (sel & 2) ? b.l[sel & 1] : a.l[sel & 1];
        if (sel & 8)
            memset(&v, 0, sizeof(v));
        r.l[l] = v;
    }
    avx_put(cpu, insn->reg, &r, 32);
}

/** 66 0F 3A 18 VINSERTF128 / 38 VINSERTI128 ymm1, ymm2, xmm3/m128, imm8 (VEX.256). */
static void op_insert128(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool i128 = (insn->op & 0xff) == 0x38;
    if (insn->mprefix != X86_PFX_66 || !insn->vex_l || (insn->rex & 8) || (i128 && !avx2_enabled(cpu))) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    struct x86_ymm a, b;
    avx_read_rm(cpu, insn, &b, 16, 0);
    avx_get(cpu, insn->vex_v, &a);
    a.l[insn->imm & 1] = b.l[0];
    avx_put(cpu, insn->reg, &a, 32);
}

/** 66 0F 3A 19 VEXTRACTF128 / 39 VEXTRACTI128 xmm1/m128, ymm2, imm8 (VEX.256). */
static void op_extract128(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool i128 = (insn->op & 0xff) == 0x39;
    if (insn->mprefix != X86_PFX_66 || !insn->vex_l || (insn->rex & 8) || (i128 && !avx2_enabled(cpu))) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    struct x86_ymm a, r;
    avx_get(cpu, insn->reg, &a);
    memset(&r, 0, sizeof(r));
    r.l[0] = a.l[insn->imm & 1];
    if (is_mem(insn))
        avx_write_mem(cpu, insn, &r, 16, 0);
    else
        avx_put128(cpu, insn->rm, &r.l[0]);
}

/** 66 0F 38 36 VPERMD / 16 VPERMPS ymm1, ymm2 (indices), ymm3/m256 (AVX2, VEX.256). */
static void op_permd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || !insn->vex_l || (insn->rex & 8) || !avx2_enabled(cpu)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    struct x86_ymm idx, s, r;
    avx_read_rm(cpu, insn, &s, 32, 0);
    avx_get(cpu, insn->vex_v, &idx);
    for (unsigned i = 0; i < 8; i++) {
        uint32_t k = idx.l[i / 4].u32[i % 4] & 7;
        r.l[i / 4].u32[i % 4] = s.l[k / 4].u32[k % 4];
    }
    avx_put(cpu, insn->reg, &r, 32);
}

/** 66 0F 3A 00 VPERMQ / 01 VPERMPD ymm1, ymm2/m256, imm8 (AVX2, VEX.256.W1). */
static void op_permq(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || !insn->vex_l || !(insn->rex & 8) || !avx2_enabled(cpu)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    unsigned imm = (uint8_t)insn->imm;
    struct x86_ymm s, r;
    avx_read_rm(cpu, insn, &s, 32, 0);
    for (unsigned i = 0; i < 4; i++) {
        unsigned k = (imm >> (2 * i)) & 3;
        r.l[i / 2].u64[i % 2] = s.l[k / 2].u64[k % 2];
    }
    avx_put(cpu, insn->reg, &r, 32);
}

void x86_ops_avx_perm_init(x86_exec_fn *vex)
{
    static const uint8_t bc[] = { 0x18, 0x19, 0x1a, 0x58, 0x59, 0x5a, 0x78, 0x79 };
    for (size_t i = 0; i < sizeof(bc); i++)
        vex[X86_OP(X86_MAP_0F38, bc[i])] = op_broadcast;
    vex[X86_OP(X86_MAP_0F38, 0x0c)] = op_permil_var;
    vex[X86_OP(X86_MAP_0F38, 0x0d)] = op_permil_var;
    vex[X86_OP(X86_MAP_0F3A, 0x04)] = op_permil_imm;
    vex[X86_OP(X86_MAP_0F3A, 0x05)] = op_permil_imm;
    vex[X86_OP(X86_MAP_0F3A, 0x06)] = op_perm2x128;
    vex[X86_OP(X86_MAP_0F3A, 0x46)] = op_perm2x128;
    vex[X86_OP(X86_MAP_0F3A, 0x18)] = op_insert128;
    vex[X86_OP(X86_MAP_0F3A, 0x38)] = op_insert128;
    vex[X86_OP(X86_MAP_0F3A, 0x19)] = op_extract128;
    vex[X86_OP(X86_MAP_0F3A, 0x39)] = op_extract128;
    vex[X86_OP(X86_MAP_0F38, 0x36)] = op_permd;
    vex[X86_OP(X86_MAP_0F38, 0x16)] = op_permd;
    vex[X86_OP(X86_MAP_0F3A, 0x00)] = op_permq;
    vex[X86_OP(X86_MAP_0F3A, 0x01)] = op_permq;
}
