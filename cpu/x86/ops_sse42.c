/*
 * cpu/x86/ops_sse42.c - SSE4.2 packed string compares: PCMPESTRM (66 0F 3A
 * 60), PCMPESTRI (61), PCMPISTRM (62), PCMPISTRI (63) and their VEX.128
 * forms VPCMPxSTRx (SDM Vol. 2B PCMPESTRI .. PCMPISTRM and Vol. 2B 4.1
 * "Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI /
 * PCMPISTRM").
 *
 * The imm8 control byte:
 *   [1:0] source format: 00 unsigned bytes, 01 unsigned words, 10 signed
 *         bytes, 11 signed words (4.1.2);
 *   [3:2] aggregation: 00 equal any, 01 ranges, 10 equal each, 11 equal
 *         ordered (4.1.4), with the valid/invalid overrides of Table 4-7;
 *   [5:4] polarity: 00/10 IntRes2 = IntRes1, 01 all bits negated, 11 bits
 *         of valid xmm2/m128 elements negated (4.1.5);
 *   [6]   output: index of the least (0) / most (1) significant set bit of
 *         IntRes2 into ECX (16 or 8 if none), or for the mask forms a bit
 *         mask (0) / byte or word mask (1) into XMM0 (4.1.6).
 * Lengths: explicit forms take |EAX| (src1) and |EDX| (src2), or RAX/RDX
 * with REX.W / VEX.W1 in 64-bit mode, saturated to 16 (bytes) or 8 (words);
 * implicit forms stop at the first null element.
 * Flags (4.1.7 and the instruction pages): CF = IntRes2 != 0, ZF = src2
 * shorter than a full register (|EDX| < 16/8, or a null in xmm2/m128),
 * SF = the same for src1, OF = IntRes2[0], AF = PF = 0.
 * The memory operand needs no alignment in either encoding (SDM Vol. 1
 * 12.10.3; checked against the host by tests/unit/test_isa_ext_diff.c).
 *
 * The legacy forms are #UD unless the model advertises SSE4.2
 * (CPUID.1:ECX[20]); the VEX forms need AVX state, VEX.L = 0 and
 * VEX.vvvv = 1111b.
 */
#include "cpu/x86/avx_priv.h"

/** Result of one string compare, before it is written to ECX / XMM0 / RFLAGS. */
struct pcmpstr_result {
    uint32_t intres2;   /* one bit per element (16 or 8 used) */
    unsigned ub;        /* element count: 16 (bytes) or 8 (words) */
    bool zf, sf;
};

/** Element @i of @v in the imm8[1:0] format, sign- or zero-extended. */
static int32_t pcmpstr_elem(const union x86_xmm *v, unsigned i, unsigned fmt)
{
    switch (fmt & 3) {
    case 0: return v->u8[i];
    case 1: return v->u16[i];
    case 2: return v->s8[i];
    default: return v->s16[i];
    }
}

/** Explicit length: |@v| (32 or 64 bits wide) saturated to @ub (SDM PCMPESTRI "Description"). */
static unsigned pcmpstr_len_explicit(uint64_t v, bool wide, unsigned ub)
{
    int64_t s = wide ? (int64_t)v : (int64_t)(int32_t)(uint32_t)v;
    uint64_t mag = s < 0 ? 0 - (uint64_t)s : (uint64_t)s;
    return mag > ub ? ub : (unsigned)mag;
}

/** Implicit length: index of the first null element of @v, or @ub. */
static unsigned pcmpstr_len_implicit(const union x86_xmm *v, bool words, unsigned ub)
{
    for (unsigned i = 0; i < ub; i++)
        if ((words ? v->u16[i] : v->u8[i]) == 0)
            return i;
    return ub;
}

/**
 * The compare, aggregation and polarity steps (SDM Vol. 2B 4.1.3-4.1.5):
 * @a = xmm1 with @la valid elements, @b = xmm2/m128 with @lb valid elements.
 * Returns IntRes2.
 */
static uint32_t pcmpstr_core(const union x86_xmm *a, unsigned la, const union x86_xmm *b,
                             unsigned lb, unsigned imm, unsigned ub)
{
    unsigned fmt = imm & 3, agg = (imm >> 2) & 3, pol = (imm >> 4) & 3;
    uint32_t res1 = 0;
    switch (agg) {
    case 0:     /* equal any: b[j] equals some valid a[i] (invalid pairs are false) */
        for (unsigned j = 0; j < lb; j++)
            for (unsigned i = 0; i < la; i++)
                if (pcmpstr_elem(b, j, fmt) == pcmpstr_elem(a, i, fmt)) {
                    res1 |= 1u << j;
                    break;
                }
        break;
    case 1:     /* ranges: a[i] <= b[j] <= a[i+1] for some valid pair (i even) */
        for (unsigned j = 0; j < lb; j++) {
            int32_t v = pcmpstr_elem(b, j, fmt);
            for (unsigned i = 0; i + 1 < ub; i += 2) {
                bool lo = i < la && v >= pcmpstr_elem(a, i, fmt);
                bool hi = i + 1 < la && v <= pcmpstr_elem(a, i + 1, fmt);
                if (lo && hi) {
                    res1 |= 1u << j;
                    break;
                }
            }
        }
        break;
    case 2:     /* equal each: both invalid -> true, one invalid -> false */
        for (unsigned i = 0; i < ub; i++) {
            bool r;
            if (i >= la && i >= lb)
                r = true;
            else if (i >= la || i >= lb)
                r = false;
            else
                r = pcmpstr_elem(a, i, fmt) == pcmpstr_elem(b, i, fmt);
            res1 |= (uint32_t)r << i;
        }
        break;
    default:    /* equal ordered: substring a found at b[j]; invalid a[i] -> true */
        for (unsigned j = 0; j < ub; j++) {
            bool r = true;
            for (unsigned i = 0, k = j; i < ub - j && r; i++, k++) {
                if (i >= la)
                    break;                       /* a[i] invalid: true for the rest */
                if (k >= lb)
                    r = false;                   /* a valid, b invalid */
                else
                    r = pcmpstr_elem(a, i, fmt) == pcmpstr_elem(b, k, fmt);
            }
            res1 |= (uint32_t)r << j;
        }
        break;
    }
    uint32_t all = (1u << ub) - 1;
    switch (pol) {
    case 1:
        return ~res1 & all;
    case 3:
        return res1 ^ ((1u << lb) - 1);          /* negate the valid b elements only */
    default:
        return res1;
    }
}

/**
 * Run one PCMPxSTRx: operands from ModRM.reg and ModRM.rm (16 bytes of
 * memory, unaligned), lengths per @explicit_len.
 */
static struct pcmpstr_result pcmpstr_run(struct x86_cpu *cpu, const struct x86_insn *insn,
                                         bool explicit_len)
{
    unsigned imm = (uint8_t)insn->imm;
    bool words = imm & 1;
    struct pcmpstr_result r = { .ub = words ? 8 : 16 };
    union x86_xmm b;
    const union x86_xmm *a = &cpu->xmm[insn->reg & 15];
    sse_read_rm(cpu, insn, &b, 16, false);
    unsigned la, lb;
    if (explicit_len) {
        bool wide = cpu->code_mode == X86_MODE_64 && (insn->rex & 8);
        la = pcmpstr_len_explicit(cpu->gpr[X86_RAX], wide, r.ub);
        lb = pcmpstr_len_explicit(cpu->gpr[X86_RDX], wide, r.ub);
    } else {
        la = pcmpstr_len_implicit(a, words, r.ub);
        lb = pcmpstr_len_implicit(&b, words, r.ub);
    }
    r.intres2 = pcmpstr_core(a, la, &b, lb, imm, r.ub);
    r.zf = lb < r.ub;
    r.sf = la < r.ub;
    return r;
}

/** Write the arithmetic flags of @r (SDM PCMPESTRI "Flags Affected"). */
static void pcmpstr_flags(struct x86_cpu *cpu, const struct pcmpstr_result *r)
{
    uint64_t f = 0;
    if (r->intres2)
        f |= X86_FLAG_CF;
    if (r->zf)
        f |= X86_FLAG_ZF;
    if (r->sf)
        f |= X86_FLAG_SF;
    if (r->intres2 & 1)
        f |= X86_FLAG_OF;
    x86_set_arith_flags(cpu, f);
}

/** XMM0 value of the mask forms (imm8[6]: expanded byte/word mask, else zero-extended bits). */
static void pcmpstr_mask(const struct pcmpstr_result *r, unsigned imm, union x86_xmm *out)
{
    memset(out, 0, sizeof(*out));
    if (!(imm & 0x40)) {
        out->u16[0] = (uint16_t)r->intres2;
        return;
    }
    for (unsigned i = 0; i < r->ub; i++)
        if ((r->intres2 >> i) & 1) {
            if (r->ub == 8)
                out->u16[i] = 0xffff;
            else
                out->u8[i] = 0xff;
        }
}

/** ECX value of the index forms (imm8[6]: most significant set bit, else least). */
static uint32_t pcmpstr_index(const struct pcmpstr_result *r, unsigned imm)
{
    if (!r->intres2)
        return r->ub;
    if (imm & 0x40)
        return 31u - (unsigned)__builtin_clz(r->intres2);
    return (unsigned)__builtin_ctz(r->intres2);
}

/** Shared body: @vex selects the VEX.128 form (XMM0 bits 255:128 zeroed by the mask forms). */
static void pcmpstr_exec(struct x86_cpu *cpu, const struct x86_insn *insn, bool vex)
{
    unsigned op = insn->op & 0xff, imm = (uint8_t)insn->imm;
    bool explicit_len = op < 0x62, index = op & 1;
    struct pcmpstr_result r = pcmpstr_run(cpu, insn, explicit_len);
    if (index) {
        x86_reg_write(cpu, X86_RCX, 4, false, pcmpstr_index(&r, imm));
    } else {
        union x86_xmm m;
        pcmpstr_mask(&r, imm, &m);
        if (vex)
            avx_put128(cpu, 0, &m);
        else
            cpu->xmm[0] = m;
    }
    pcmpstr_flags(cpu, &r);
}

/** 66 0F 3A 60-63: PCMPESTRM, PCMPESTRI, PCMPISTRM, PCMPISTRI xmm1, xmm2/m128, imm8. */
static void op_pcmpstr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || !x86_has_feature(cpu, X86_FEAT_SSE42)) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    pcmpstr_exec(cpu, insn, false);
}

/** VEX.128.66.0F3A 60-63: VPCMPESTRM, VPCMPESTRI, VPCMPISTRM, VPCMPISTRI. */
static void op_vpcmpstr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check_feat(cpu, X86_FEAT_SSE42);
    avx_no_vvvv(cpu, insn);
    avx_l0(cpu, insn);
    pcmpstr_exec(cpu, insn, true);
}

void x86_ops_sse42_init(x86_exec_fn *table)
{
    for (unsigned b = 0x60; b <= 0x63; b++)
        table[X86_OP(X86_MAP_0F3A, b)] = op_pcmpstr;
}

void x86_ops_sse42_vex_init(x86_exec_fn *vex)
{
    for (unsigned b = 0x60; b <= 0x63; b++)
        vex[X86_OP(X86_MAP_0F3A, b)] = op_vpcmpstr;
}
