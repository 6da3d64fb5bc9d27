/*
 * cpu/x86/ops_fma.c - FMA3: VFMADD/VFMSUB/VFNMADD/VFNMSUB/VFMADDSUB/VFMSUBADD
 * 132/213/231 PS/PD/SS/SD, 128/256 (VEX.66.0F38 96-BF, W selects double;
 * SDM Vol. 2 VFMADD132PS etc.).
 *
 * Each element is one fused multiply-add with a single rounding: C fma()/
 * fmaf() run between sse_fp_begin/sse_fp_end, so rounding, DAZ/FTZ (on a
 * host whose libm uses the FMA instruction) and the flags follow the guest
 * MXCSR. Negations are applied to the exact product/addend; NaN operands
 * are propagated as the hardware does (checked on the host): the first NaN
 * among the multiplicands a, b and the addend c of the form's a * b + c,
 * quieted, without the negation.
 */
#include <math.h>

#include "cpu/x86/avx_priv.h"

static bool nan32(uint32_t v) { return (v & 0x7f800000u) == 0x7f800000u && (v & 0x7fffffu); }
static bool nan64(uint64_t v)
{
    return (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull);
}

/** a * b + c with @neg_prod / @neg_add on element raw bits (@dbl), src order x1, x2, x3 for NaNs. */
static uint64_t fma_elem(bool dbl, uint64_t a, uint64_t b, uint64_t c, bool neg_prod, bool neg_add,
                         uint64_t x1, uint64_t x2, uint64_t x3)
{
    if (dbl) {
        double fa, fb, fc;
        memcpy(&fa, &a, 8);
        memcpy(&fb, &b, 8);
        memcpy(&fc, &c, 8);
        volatile double r = fma(neg_prod ? -fa : fa, fb, neg_add ? -fc : fc);
        uint64_t out;
        double rv = r;
        memcpy(&out, &rv, 8);
        if (nan64(x1) || nan64(x2) || nan64(x3))
            out = (nan64(x1) ? x1 : nan64(x2) ? x2 : x3) | 0x0008000000000000ull;
        return out;
    }
    uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b, c32 = (uint32_t)c;
    float fa, fb, fc;
    memcpy(&fa, &a32, 4);
    memcpy(&fb, &b32, 4);
    memcpy(&fc, &c32, 4);
    volatile float r = fmaf(neg_prod ? -fa : fa, fb, neg_add ? -fc : fc);
    float rv = r;
    uint32_t out;
    memcpy(&out, &rv, 4);
    if (nan32((uint32_t)x1) || nan32((uint32_t)x2) || nan32((uint32_t)x3))
        out = (uint32_t)(nan32((uint32_t)x1) ? x1 : nan32((uint32_t)x2) ? x2 : x3) | 0x00400000u;
    return out;
}

static void op_fma(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint8_t op = insn->op & 0xff;
    unsigned form = op >> 4, kind = op & 15;          /* form 9: 132, A: 213, B: 231 */
    if (insn->mprefix != X86_PFX_66 || kind < 6) {
        x86_op_ud(cpu, insn);
        return;
    }
    avx_check_feat(cpu, X86_FEAT_FMA);
    bool dbl = insn->rex & 8, scalar = kind >= 8 && (kind & 1);
    unsigned esz = dbl ? 8 : 4, vl = scalar ? 16 : avx_vl(insn);
    unsigned n = scalar ? 1 : vl / esz;
    struct x86_ymm x1, x2, x3, r;
    avx_get(cpu, insn->reg, &x1);
    avx_get(cpu, insn->vex_v, &x2);
    avx_read_rm(cpu, insn, &x3, scalar ? esz : vl, 0);
    r = x1;
    uint32_t saved = sse_fp_begin(cpu);
    for (unsigned i = 0; i < n; i++) {
        uint64_t e1 = 0, e2 = 0, e3 = 0;
        memcpy(&e1, (uint8_t *)&x1 + i * esz, esz);
        memcpy(&e2, (uint8_t *)&x2 + i * esz, esz);
        memcpy(&e3, (uint8_t *)&x3 + i * esz, esz);
        uint64_t a, b, c;
        switch (form) {
        case 9: a = e1; b = e3; c = e2; break;       /* 132: x1 * x3 + x2 */
        case 0xa: a = e2; b = e1; c = e3; break;     /* 213: x2 * x1 + x3 */
        default: a = e2; b = e3; c = e1; break;      /* 231: x2 * x3 + x1 */
        }
        bool neg_prod = false, neg_add;
        switch (kind) {
        case 6: neg_add = !(i & 1); break;           /* FMADDSUB: even lanes subtract */
        case 7: neg_add = i & 1; break;              /* FMSUBADD: odd lanes subtract */
        case 8: case 9: neg_add = false; break;      /* FMADD */
        case 0xa: case 0xb: neg_add = true; break;   /* FMSUB */
        case 0xc: case 0xd: neg_prod = true; neg_add = false; break;   /* FNMADD */
        default: neg_prod = true; neg_add = true; break;               /* FNMSUB */
        }
        uint64_t v = fma_elem(dbl, a, b, c, neg_prod, neg_add, a, b, c);
        memcpy((uint8_t *)&r + i * esz, &v, esz);
    }
    sse_fp_end(cpu, saved);
    avx_put(cpu, insn->reg, &r, vl);
}

void x86_ops_fma_init(x86_exec_fn *vex)
{
    for (unsigned b = 0x96; b <= 0xbf; b++)
        if ((b & 15) >= 6)
            vex[X86_OP(X86_MAP_0F38, b)] = op_fma;
}
