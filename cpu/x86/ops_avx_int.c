/*
 * cpu/x86/ops_avx_int.c - AVX (128-bit) and AVX2 (256-bit) integer SIMD:
 * VEX forms of the SSE2/SSSE3/SSE4.1 integer ops (0F 60-76, 0F D1-FE,
 * 0F 70-73, 0F 38 00-41), VPTEST/VTESTPS/PD, VPMOVSX/ZX, VMOVNTDQA,
 * VPBLENDW/VPBLENDVB/VPBLENDD, VPALIGNR, VMPSADBW, VPEXTRB/W/D/Q, VEXTRACTPS,
 * VPINSRB/D/Q, VINSERTPS, the AVX2 variable shifts VPSLLV/VPSRLV/VPSRAV,
 * VMASKMOVPS/PD, VPMASKMOVD/Q and the gathers (SDM Vol. 2 instruction
 * pages; Vol. 1 14.7-14.8 for the AVX2 promotion to 256 bits).
 *
 * 256-bit integer forms are AVX2: #UD when the model lacks it. Lane ops
 * are the legacy lane functions applied per 128-bit lane, the destination
 * initialised from VEX.vvvv.
 */
#include "cpu/x86/avx_priv.h"

static inline bool is_mem(const struct x86_insn *insn)
{
    return insn->flags & X86_INSN_MEM;
}

/** avx_check + #UD for a 256-bit integer form without AVX2. */
static void int_check(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->vex_l && !avx2_enabled(cpu))
        x86_raise(cpu, X86_EXC_UD);
    avx_check(cpu);
}

/**
 * reg = fn(vvvv, rm) per lane. @unary: only rm is a source (vvvv must be
 * 1111b); @count: rm is an xmm/m128 shift count applied to every lane.
 */
static void int_lanes(struct x86_cpu *cpu, const struct x86_insn *insn, simd_fn fn, bool unary,
                      bool count)
{
    int_check(cpu, insn);
    if (unary)
        avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn);
    struct x86_ymm a, b;
    avx_read_rm(cpu, insn, &b, count ? 16 : vl, 0);
    if (count)
        b.l[1] = b.l[0];
    avx_get(cpu, insn->vex_v, &a);
    for (unsigned l = 0; l < vl / 16; l++)
        fn(&a.l[l], &b.l[l], 16);
    avx_put(cpu, insn->reg, &a, vl);
}

/** 66 0F 60-6D, 74-76, D1-FE: the SSE2 integer ops. */
static void op_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    simd_fn fn = sse_int_lane_fn(op);
    if (!fn || insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    bool count = op == 0xd1 || op == 0xd2 || op == 0xd3 || op == 0xe1 || op == 0xe2 ||
                 op == 0xf1 || op == 0xf2 || op == 0xf3;
    int_lanes(cpu, insn, fn, false, count);
}

/** 66 0F 38 00-41: SSSE3/SSE4.1 integer ops (PABS* unary; PHMINPOSUW 128-bit unary). */
static void op_38_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    simd_fn fn = sse4_38_lane_fn(op);
    if (!fn || insn->mprefix != X86_PFX_66 || (op == 0x41 && insn->vex_l)) {
        x86_op_ud(cpu, insn);
        return;
    }
    bool unary = (op >= 0x1c && op <= 0x1e) || op == 0x41;
    int_lanes(cpu, insn, fn, unary, false);
}

/** 66/F3/F2 0F 70: VPSHUFD / VPSHUFHW / VPSHUFLW ymm1, ymm2/m, imm8. */
static void op_pshuf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix == X86_PFX_NONE) {
        x86_op_ud(cpu, insn);
        return;
    }
    int_check(cpu, insn);
    avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn), imm = (uint8_t)insn->imm;
    struct x86_ymm s, r;
    avx_read_rm(cpu, insn, &s, vl, 0);
    r = s;
    for (unsigned l = 0; l < 2; l++)
        for (unsigned i = 0; i < 4; i++) {
            unsigned sel = (imm >> (2 * i)) & 3;
            if (insn->mprefix == X86_PFX_66)
                r.l[l].u32[i] = s.l[l].u32[sel];
            else if (insn->mprefix == X86_PFX_F3)
                r.l[l].u16[4 + i] = s.l[l].u16[4 + sel];
            else
                r.l[l].u16[i] = s.l[l].u16[sel];
        }
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 71/72/73 (register only): shifts by imm8, destination VEX.vvvv, source ModRM.rm. */
static void op_shift_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const int8_t kind[3][8] = {
        { -1, -1, 0, -1, 1, -1, 2, -1 },
        { -1, -1, 0, -1, 1, -1, 2, -1 },
        { -1, -1, 0, 3, -1, -1, 2, 4 },
    };
    unsigned grp = (insn->op & 0xff) - 0x71;
    int k = kind[grp][x86_modrm_digit(insn)];
    if (is_mem(insn) || k < 0 || insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    int_check(cpu, insn);
    unsigned vl = avx_vl(insn), count = (uint8_t)insn->imm;
    struct x86_ymm d;
    avx_get(cpu, insn->rm, &d);
    for (unsigned l = 0; l < vl / 16; l++) {
        if (k >= 3) {                            /* VPSRLDQ / VPSLLDQ: bytes within each lane */
            union x86_xmm r = { .u64 = { 0, 0 } };
            for (unsigned i = 0; i < 16 && count < 16; i++) {
                int src = k == 3 ? (int)(i + count) : (int)i - (int)count;
                if (src >= 0 && src < 16)
                    r.u8[i] = d.l[l].u8[src];
            }
            d.l[l] = r;
        } else {
            sse_shift_lanes(&d.l[l], grp == 0 ? 2 : grp == 1 ? 4 : 8, k, count);
        }
    }
    avx_put(cpu, insn->vex_v, &d, vl);
}

/** 66 0F 38 17 VPTEST; 0E/0F VTESTPS/PD: ZF/CF from AND / ANDN of the sign bits or all bits. */
static void op_test(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || (insn->rex & 8 && (insn->op & 0xff) != 0x17)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    uint8_t op = insn->op & 0xff;
    unsigned vl = avx_vl(insn);
    struct x86_ymm a, b;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->reg, &a);
    uint64_t mask = op == 0x17 ? ~0ull : op == 0x0e ? 0x8000000080000000ull : 0x8000000000000000ull;
    uint64_t and_ = 0, andn = 0;
    for (unsigned i = 0; i < vl / 8; i++) {
        uint64_t x = a.l[i / 2].u64[i % 2], y = b.l[i / 2].u64[i % 2];
        and_ |= x & y & mask;
        andn |= ~x & y & mask;
    }
    x86_set_arith_flags(cpu, (and_ ? 0 : X86_FLAG_ZF) | (andn ? 0 : X86_FLAG_CF));
}

/** 66 0F 38 20-25 / 30-35: VPMOVSX / VPMOVZX (source half/quarter/eighth of vl). */
static void op_pmovx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t from[6] = { 1, 1, 1, 2, 2, 4 }, to[6] = { 2, 4, 8, 4, 8, 8 };
    uint8_t op = insn->op & 0xff;
    unsigned k = op & 15;
    if (insn->mprefix != X86_PFX_66 || k > 5) {
        x86_op_ud(cpu, insn);
        return;
    }
    int_check(cpu, insn);
    avx_no_vvvv(cpu, insn);
    bool sx = op < 0x30;
    unsigned vl = avx_vl(insn), n = vl / to[k];
    struct x86_ymm s, r;
    avx_read_rm(cpu, insn, &s, n * from[k], 0);
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = 0;
        memcpy(&v, s.l[0].u8 + i * from[k], from[k]);
        if (sx) {
            unsigned sh = 64 - 8 * from[k];
            v = (uint64_t)((int64_t)(v << sh) >> sh);
        }
        unsigned off = i * to[k];
        memcpy(r.l[off / 16].u8 + off % 16, &v, to[k]);
    }
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 38 2A: VMOVNTDQA (memory, aligned to vl). */
static void op_movntdqa(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || !is_mem(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    int_check(cpu, insn);
    avx_no_vvvv(cpu, insn);
    unsigned vl = avx_vl(insn);
    struct x86_ymm s;
    avx_read_rm(cpu, insn, &s, vl, vl);
    avx_put(cpu, insn->reg, &s, vl);
}

/** 66 0F 38 45/46/47: VPSRLVD/Q, VPSRAVD, VPSLLVD/Q (AVX2): per-element counts. */
static void op_shiftv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    bool q = insn->rex & 8;
    if (insn->mprefix != X86_PFX_66 || !avx2_enabled(cpu) || (op == 0x46 && q)) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned vl = avx_vl(insn), esz = q ? 8 : 4, bits = esz * 8;
    struct x86_ymm a, b;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    for (unsigned i = 0; i < vl / esz; i++) {
        unsigned l = i * esz / 16, k = (i * esz % 16) / esz;
        uint64_t v = q ? a.l[l].u64[k] : a.l[l].u32[k];
        uint64_t c = q ? b.l[l].u64[k] : b.l[l].u32[k];
        if (op == 0x46)
            v = (uint32_t)((int32_t)(uint32_t)v >> (c > 31 ? 31 : c));
        else if (c >= bits)
            v = 0;
        else
            v = op == 0x45 ? v >> c : v << c;
        if (q)
            a.l[l].u64[k] = v;
        else
            a.l[l].u32[k] = (uint32_t)v;
    }
    avx_put(cpu, insn->reg, &a, vl);
}

/**
 * 66 0F 38 2C-2F VMASKMOVPS/PD (AVX), 8C/8E VPMASKMOVD/Q (AVX2): loads
 * zero masked-off elements, stores leave them untouched; masked-off
 * elements never fault (SDM Vol. 2 VMASKMOV "no faults for masked-off").
 */
static void op_maskmov(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    bool pint = op >= 0x8c;
    if (insn->mprefix != X86_PFX_66 || !is_mem(insn) || (pint && !avx2_enabled(cpu)) ||
        (!pint && (insn->rex & 8))) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    bool store = pint ? op == 0x8e : op >= 0x2e;
    bool q = pint ? (insn->rex & 8) != 0 : (op & 1) != 0;
    unsigned vl = avx_vl(insn), esz = q ? 8 : 4;
    struct x86_ymm m, v;
    avx_get(cpu, insn->vex_v, &m);
    enum mmu_access acc = store ? MMU_WRITE : MMU_READ;
    uint64_t ea = x86_ea(cpu, insn);
    bool on[8];
    gva_t lin[8];
    /* Translate (segment checks) every active element first: no partial effects. */
    for (unsigned i = 0; i < vl / esz; i++) {
        unsigned l = i * esz / 16, k = (i * esz % 16) / esz;
        on[i] = q ? m.l[l].u64[k] >> 63 : m.l[l].u32[k] >> 31;
        if (on[i])
            lin[i] = x86_linear(cpu, insn->seg, (ea + i * esz) & x86_size_mask(insn->addrsize), esz, acc);
    }
    if (store) {
        avx_get(cpu, insn->reg, &v);
        const uint8_t *vb = (const uint8_t *)&v;
        for (unsigned i = 0; i < vl / esz; i++)
            if (on[i])
                x86_probe_write(cpu, lin[i], esz);
        for (unsigned i = 0; i < vl / esz; i++)
            if (on[i])
                x86_write_bytes(cpu, lin[i], vb + i * esz, esz);
        return;
    }
    struct x86_ymm r;
    memset(&r, 0, sizeof(r));
    uint8_t *rb = (uint8_t *)&r;
    for (unsigned i = 0; i < vl / esz; i++)
        if (on[i])
            x86_read_bytes(cpu, lin[i], rb + i * esz, esz);
    avx_put(cpu, insn->reg, &r, vl);
}

/**
 * 66 0F 38 90-93: VPGATHERDD/DQ, VPGATHERQD/QQ, VGATHERDPS/DPD, VGATHERQPS/PD
 * (AVX2, SDM Vol. 2 VPGATHERDD). VSIB: the index is the vector register
 * insn->index; the mask is VEX.vvvv. Elements are loaded in order and each
 * clears its mask element, so a fault leaves the completed elements done
 * and the mask telling where to resume; at the end the mask is all zero.
 * #UD if any two of destination, index and mask registers are the same.
 */
static void op_gather(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    if (insn->mprefix != X86_PFX_66 || !is_mem(insn) || !avx2_enabled(cpu) ||
        (insn->modrm & 7) != 4 || insn->addrsize == 2) {          /* VSIB needs a SIB byte */
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    /* VSIB: SIB.index 100b is a vector register too (the decoder reports "no index"). */
    unsigned idx = insn->index == X86_REG_NONE ? 4u | ((insn->rex & 2u) << 2) : insn->index & 15u;
    unsigned dst = insn->reg & 15, msk = insn->vex_v & 15;
    if (dst == msk || dst == idx || msk == idx)
        x86_raise(cpu, X86_EXC_UD);
    bool qidx = op & 1, qdata = insn->rex & 8;
    unsigned vl = avx_vl(insn), esz = qdata ? 8 : 4, isz = qidx ? 8 : 4;
    /* Element count: limited by the wider of data and index elements. */
    unsigned n = vl / (esz > isz ? esz : isz);
    struct x86_ymm d, m, ix;
    avx_get(cpu, dst, &d);
    avx_get(cpu, msk, &m);
    avx_get(cpu, idx, &ix);
    uint64_t base = insn->base == X86_REG_NONE ? 0 : insn->base == X86_REG_RIP ? cpu->next_rip
                                                                             : cpu->gpr[insn->base];
    for (unsigned i = 0; i < n; i++) {
        unsigned l = i * esz / 16, k = (i * esz % 16) / esz;
        bool on = qdata ? m.l[l].u64[k] >> 63 : m.l[l].u32[k] >> 31;
        if (!on)
            continue;
        int64_t iv = qidx ? ix.l[i / 2].s64[i % 2] : ix.l[i / 4].s32[i % 4];
        uint64_t ea = (base + ((uint64_t)iv << insn->scale) + (uint64_t)(int64_t)insn->disp) &
                      x86_size_mask(insn->addrsize);
        gva_t lin = x86_linear(cpu, insn->seg, ea, esz, MMU_READ);
        uint64_t v = x86_read_sized(cpu, lin, esz);
        if (qdata) {
            d.l[l].u64[k] = v;
            m.l[l].u64[k] = 0;
        } else {
            d.l[l].u32[k] = (uint32_t)v;
            m.l[l].u32[k] = 0;
        }
        /* Commit per element so a later fault keeps the progress (restartable). */
        avx_put(cpu, dst, &d, 32);
        avx_put(cpu, msk, &m, 32);
    }
    /* Completion: elements beyond n and the upper bits per vl are zeroed. */
    struct x86_ymm rd, rm;
    memset(&rd, 0, sizeof(rd));
    memset(&rm, 0, sizeof(rm));
    memcpy(rd.l[0].u8, d.l[0].u8, n * esz > 16 ? 16 : n * esz);
    if (n * esz > 16)
        memcpy(rd.l[1].u8, d.l[1].u8, n * esz - 16);
    avx_put(cpu, dst, &rd, vl);
    avx_put(cpu, msk, &rm, vl);
}

/** 66 0F 3A 0E: VPBLENDW (imm8 applies to each lane); 02: VPBLENDD (AVX2); 4C: VPBLENDVB. */
static void op_pblend(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    if (insn->mprefix != X86_PFX_66 || (op == 0x02 && (!avx2_enabled(cpu) || (insn->rex & 8))) ||
        (op == 0x4c && (insn->rex & 8))) {
        x86_op_ud(cpu, insn);
        return;
    }
    if (op != 0x02)
        int_check(cpu, insn);
    else
        avx_check(cpu);
    unsigned vl = avx_vl(insn), imm = (uint8_t)insn->imm;
    struct x86_ymm a, b, m;
    avx_read_rm(cpu, insn, &b, vl, 0);
    avx_get(cpu, insn->vex_v, &a);
    if (op == 0x4c)
        avx_get(cpu, (imm >> 4) & (cpu->code_mode == X86_MODE_64 ? 15 : 7), &m);
    for (unsigned l = 0; l < vl / 16; l++) {
        if (op == 0x0e) {
            for (unsigned i = 0; i < 8; i++)
                if ((imm >> i) & 1)
                    a.l[l].u16[i] = b.l[l].u16[i];
        } else if (op == 0x02) {
            for (unsigned i = 0; i < 4; i++)
                if ((imm >> (4 * l + i)) & 1)
                    a.l[l].u32[i] = b.l[l].u32[i];
        } else {
            for (unsigned i = 0; i < 16; i++)
                if (m.l[l].u8[i] & 0x80)
                    a.l[l].u8[i] = b.l[l].u8[i];
        }
    }
    avx_put(cpu, insn->reg, &a, vl);
}

/**
 * VEX.66 ymm1, ymm2 (VEX.vvvv), ymm3/m (any alignment): #UD without the 66
 * prefix (false); else int_check(), @a = the VEX.vvvv register and @b = the
 * r/m source, and true.
 */
static bool int66_sources(struct x86_cpu *cpu, const struct x86_insn *insn, struct x86_ymm *a,
                          struct x86_ymm *b)
{
    if (insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return false;
    }
    int_check(cpu, insn);
    avx_read_rm(cpu, insn, b, avx_vl(insn), 0);
    avx_get(cpu, insn->vex_v, a);
    return true;
}

/** 66 0F 3A 0F: VPALIGNR (per lane: (vvvv:rm) >> imm8 bytes). */
static void op_palignr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    struct x86_ymm a, b, r;
    if (!int66_sources(cpu, insn, &a, &b))
        return;
    unsigned vl = avx_vl(insn), imm = (uint8_t)insn->imm;
    for (unsigned l = 0; l < 2; l++) {
        uint8_t cat[32];
        memcpy(cat, b.l[l].u8, 16);
        memcpy(cat + 16, a.l[l].u8, 16);
        for (unsigned i = 0; i < 16; i++)
            r.l[l].u8[i] = imm + i < 32 ? cat[imm + i] : 0;
    }
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 3A 42: VMPSADBW (per lane; lane 1 uses imm8[5:3]). */
static void op_mpsadbw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    struct x86_ymm a, b, r;
    if (!int66_sources(cpu, insn, &a, &b))
        return;
    unsigned vl = avx_vl(insn), imm = (uint8_t)insn->imm;
    for (unsigned l = 0; l < 2; l++) {
        unsigned sel = imm >> (3 * l);
        unsigned aoff = ((sel >> 2) & 1) * 4, boff = (sel & 3) * 4;
        for (unsigned i = 0; i < 8; i++) {
            unsigned sum = 0;
            for (unsigned j = 0; j < 4; j++) {
                int dlt = (int)a.l[l].u8[aoff + i + j] - (int)b.l[l].u8[boff + j];
                sum += (unsigned)(dlt < 0 ? -dlt : dlt);
            }
            r.l[l].u16[i] = (uint16_t)sum;
        }
    }
    avx_put(cpu, insn->reg, &r, vl);
}

/** 66 0F 3A 14-17: VPEXTRB/W/D/Q r/m, xmm, imm8 and VEXTRACTPS (VEX.128). */
static void op_pextr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t esz[4] = { 1, 2, 4, 4 };
    uint8_t op = insn->op & 0xff;
    if (insn->mprefix != X86_PFX_66 || insn->vex_l) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    avx_no_vvvv(cpu, insn);
    unsigned sz = esz[op & 3];
    if (op == 0x16 && insn->opsize == 8)
        sz = 8;
    unsigned idx = (uint8_t)insn->imm & (16 / sz - 1);
    uint64_t v = 0;
    memcpy(&v, cpu->xmm[insn->reg & 15].u8 + idx * sz, sz);
    if (is_mem(insn))
        x86_mem_write(cpu, insn, sz, v);
    else
        x86_reg_write(cpu, insn->rm, sz == 8 ? 8 : 4, true, v);   /* zero-extended to r32/r64 */
}

/** 66 0F 3A 20/21/22: VPINSRB, VINSERTPS, VPINSRD/Q xmm1, xmm2, r/m, imm8 (VEX.128). */
static void op_pinsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    if (insn->mprefix != X86_PFX_66 || insn->vex_l) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check(cpu);
    unsigned imm = (uint8_t)insn->imm;
    union x86_xmm r = cpu->xmm[insn->vex_v];
    if (op == 0x21) {                              /* VINSERTPS */
        uint32_t v;
        if (is_mem(insn)) {
            v = (uint32_t)x86_mem_read(cpu, insn, 4);
        } else {
            v = cpu->xmm[insn->rm & 15].u32[(imm >> 6) & 3];
        }
        r.u32[(imm >> 4) & 3] = v;
        for (unsigned i = 0; i < 4; i++)
            if ((imm >> i) & 1)
                r.u32[i] = 0;
    } else {
        unsigned sz = op == 0x20 ? 1 : insn->opsize == 8 ? 8 : 4;
        uint64_t v = is_mem(insn) ? x86_mem_read(cpu, insn, sz)
                                  : x86_reg_read(cpu, insn->rm, sz == 8 ? 8 : 4, true);
        memcpy(r.u8 + (imm & (16 / sz - 1)) * sz, &v, sz);
    }
    avx_put128(cpu, insn->reg, &r);
}

void x86_ops_avx_int_init(x86_exec_fn *vex)
{
    for (unsigned b = 0; b < 256; b++) {
        if (sse_int_lane_fn((uint8_t)b))
            vex[X86_OP(X86_MAP_0F, b)] = op_int;
        if (sse4_38_lane_fn((uint8_t)b))
            vex[X86_OP(X86_MAP_0F38, b)] = op_38_int;
    }
    vex[X86_OP(X86_MAP_0F, 0x70)] = op_pshuf;
    vex[X86_OP(X86_MAP_0F, 0x71)] = op_shift_imm;
    vex[X86_OP(X86_MAP_0F, 0x72)] = op_shift_imm;
    vex[X86_OP(X86_MAP_0F, 0x73)] = op_shift_imm;
    vex[X86_OP(X86_MAP_0F38, 0x0e)] = op_test;
    vex[X86_OP(X86_MAP_0F38, 0x0f)] = op_test;
    vex[X86_OP(X86_MAP_0F38, 0x17)] = op_test;
    for (unsigned b = 0x20; b <= 0x25; b++) {
        vex[X86_OP(X86_MAP_0F38, b)] = op_pmovx;
        vex[X86_OP(X86_MAP_0F38, b + 0x10)] = op_pmovx;
    }
    vex[X86_OP(X86_MAP_0F38, 0x2a)] = op_movntdqa;
    vex[X86_OP(X86_MAP_0F38, 0x45)] = op_shiftv;
    vex[X86_OP(X86_MAP_0F38, 0x46)] = op_shiftv;
    vex[X86_OP(X86_MAP_0F38, 0x47)] = op_shiftv;
    for (unsigned b = 0x2c; b <= 0x2f; b++)
        vex[X86_OP(X86_MAP_0F38, b)] = op_maskmov;
    vex[X86_OP(X86_MAP_0F38, 0x8c)] = op_maskmov;
    vex[X86_OP(X86_MAP_0F38, 0x8e)] = op_maskmov;
    for (unsigned b = 0x90; b <= 0x93; b++)
        vex[X86_OP(X86_MAP_0F38, b)] = op_gather;
    vex[X86_OP(X86_MAP_0F3A, 0x02)] = op_pblend;
    vex[X86_OP(X86_MAP_0F3A, 0x0e)] = op_pblend;
    vex[X86_OP(X86_MAP_0F3A, 0x4c)] = op_pblend;
    vex[X86_OP(X86_MAP_0F3A, 0x0f)] = op_palignr;
    vex[X86_OP(X86_MAP_0F3A, 0x42)] = op_mpsadbw;
    for (unsigned b = 0x14; b <= 0x17; b++)
        vex[X86_OP(X86_MAP_0F3A, b)] = op_pextr;
    for (unsigned b = 0x20; b <= 0x22; b++)
        vex[X86_OP(X86_MAP_0F3A, b)] = op_pinsr;
}
