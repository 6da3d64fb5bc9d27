/*
 * cpu/x86/ops_sse_fp.c - SSE/SSE2/SSE3 floating point: arithmetic (0F 51-53,
 * 58-5F), conversions (0F 2A, 2C, 2D, 5A, 5B, E6), compares (0F C2 CMPccPS/
 * PD/SS/SD, 0F 2E/2F UCOMIS/COMIS), horizontal and alternating ops (0F 7C,
 * 7D, D0). SDM Vol. 2 instruction pages, Vol. 1 11.5 (exceptions).
 *
 * Every operation executes the same host instruction on copies of the
 * operands under the guest's MXCSR (see sse_priv.h for why), so NaN
 * propagation, rounding, DAZ/FTZ, the integer indefinite value
 * (0x80000000 / 0x8000000000000000) and the flags are bit-exact.
 */
#include "cpu/x86/sse_priv.h"

typedef long long v2di __attribute__((vector_size(16)));

#define HOST(name, ins)                                                   \
    static void name(union x86_xmm *d, const union x86_xmm *s)            \
    {                                                                     \
        v2di a, b;                                                        \
        memcpy(&a, d, 16);                                                \
        memcpy(&b, s, 16);                                                \
        __asm__ volatile(ins " %1, %0" : "+x"(a) : "x"(b));               \
        memcpy(d, &a, 16);                                                \
    }

#define HOST4(op) HOST(op##ps, #op "ps") HOST(op##pd, #op "pd") HOST(op##ss, #op "ss") HOST(op##sd, #op "sd")
HOST4(add)
HOST4(mul)
HOST4(sub)
HOST4(div)
HOST4(min)
HOST4(max)
HOST4(sqrt)
HOST(rsqrtps, "rsqrtps")
HOST(rsqrtss, "rsqrtss")
HOST(rcpps, "rcpps")
HOST(rcpss, "rcpss")
HOST(cvtps2pd, "cvtps2pd")
HOST(cvtpd2ps, "cvtpd2ps")
HOST(cvtss2sd, "cvtss2sd")
HOST(cvtsd2ss, "cvtsd2ss")
HOST(cvtdq2ps, "cvtdq2ps")
HOST(cvtps2dq, "cvtps2dq")
HOST(cvttps2dq, "cvttps2dq")
HOST(cvttpd2dq, "cvttpd2dq")
HOST(cvtpd2dq, "cvtpd2dq")
HOST(cvtdq2pd, "cvtdq2pd")
HOST(haddpd, "haddpd")
HOST(haddps, "haddps")
HOST(hsubpd, "hsubpd")
HOST(hsubps, "hsubps")
HOST(addsubpd, "addsubpd")
HOST(addsubps, "addsubps")

/* CMPccPS/PD/SS/SD with the eight legacy predicates (imm8[2:0]). */
#define HOSTCMP(p)                                                                     \
    HOST(cmpps_##p, "cmpps $" #p ",") HOST(cmppd_##p, "cmppd $" #p ",")                \
    HOST(cmpss_##p, "cmpss $" #p ",") HOST(cmpsd_##p, "cmpsd $" #p ",")
HOSTCMP(0) HOSTCMP(1) HOSTCMP(2) HOSTCMP(3) HOSTCMP(4) HOSTCMP(5) HOSTCMP(6) HOSTCMP(7)
#define CMPROW(p) { cmpps_##p, cmppd_##p, cmpss_##p, cmpsd_##p }
static const sse_host_fn cmp_fns[8][4] = {
    CMPROW(0), CMPROW(1), CMPROW(2), CMPROW(3), CMPROW(4), CMPROW(5), CMPROW(6), CMPROW(7),
};

struct fp_op {
    sse_host_fn fn;
    uint8_t size;       /* memory operand bytes: 16 = packed (aligned), 8/4 = scalar/half */
};

#define ROW4(op) { { op##ps, 16 }, { op##pd, 16 }, { op##ss, 4 }, { op##sd, 8 } }
static const struct fp_op fp_ops[256][4] = {
    [0x51] = ROW4(sqrt),
    [0x52] = { { rsqrtps, 16 }, { 0 }, { rsqrtss, 4 }, { 0 } },
    [0x53] = { { rcpps, 16 }, { 0 }, { rcpss, 4 }, { 0 } },
    [0x58] = ROW4(add),
    [0x59] = ROW4(mul),
    [0x5a] = { { cvtps2pd, 8 }, { cvtpd2ps, 16 }, { cvtss2sd, 4 }, { cvtsd2ss, 8 } },
    [0x5b] = { { cvtdq2ps, 16 }, { cvtps2dq, 16 }, { cvttps2dq, 16 }, { 0 } },
    [0x5c] = ROW4(sub),
    [0x5d] = ROW4(min),
    [0x5e] = ROW4(div),
    [0x5f] = ROW4(max),
    [0x7c] = { { 0 }, { haddpd, 16 }, { 0 }, { haddps, 16 } },
    [0x7d] = { { 0 }, { hsubpd, 16 }, { 0 }, { hsubps, 16 } },
    [0xd0] = { { 0 }, { addsubpd, 16 }, { 0 }, { addsubps, 16 } },
    [0xe6] = { { 0 }, { cvttpd2dq, 16 }, { cvtdq2pd, 8 }, { cvtpd2dq, 16 } },
};

/** Packed/scalar FP ops of the table above: xmm, xmm/mN. */
static void op_fp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    const struct fp_op *o = &fp_ops[insn->op & 0xff][insn->mprefix & 3];
    if (!o->fn) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, o->size, o->size == 16);
    sse_fp_run(cpu, o->fn, &cpu->xmm[insn->reg & 15], &s);
}

/** 0F C2: CMPPS/CMPPD/CMPSS/CMPSD xmm, xmm/mN, imm8 (predicate imm8[2:0]). */
static void op_cmp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t size[4] = { 16, 16, 4, 8 };
    unsigned p = insn->mprefix & 3;
    sse_check(cpu);
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, size[p], size[p] == 16);
    sse_fp_run(cpu, cmp_fns[insn->imm & 7][p], &cpu->xmm[insn->reg & 15], &s);
}

/** 0F 2E / 0F 2F: UCOMISS/UCOMISD, COMISS/COMISD -> ZF, PF, CF; OF = SF = AF = 0. */
static void op_comis(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_NONE && insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    bool dbl = insn->mprefix == X86_PFX_66, ordered = (insn->op & 0xff) == 0x2f;
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, dbl ? 8 : 4, false);
    v2di a, b;
    memcpy(&a, &cpu->xmm[insn->reg & 15], 16);
    memcpy(&b, &s, 16);
    bool zf, pf, cf;
    uint32_t saved = sse_fp_begin(cpu);
    if (dbl && ordered)
        __asm__ volatile("comisd %[b], %[a]" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : [a] "x"(a), [b] "x"(b));
    else if (dbl)
        __asm__ volatile("ucomisd %[b], %[a]" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : [a] "x"(a), [b] "x"(b));
    else if (ordered)
        __asm__ volatile("comiss %[b], %[a]" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : [a] "x"(a), [b] "x"(b));
    else
        __asm__ volatile("ucomiss %[b], %[a]" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : [a] "x"(a), [b] "x"(b));
    sse_fp_end(cpu, saved);
    x86_set_arith_flags(cpu, (zf ? X86_FLAG_ZF : 0) | (pf ? X86_FLAG_PF : 0) | (cf ? X86_FLAG_CF : 0));
}

/*
 * Scalar to/from integer conversions through general registers, run on the
 * host between sse_fp_begin/sse_fp_end.
 */
static uint64_t host_cvt_to_int(bool dbl, bool trunc, bool q, const union x86_xmm *s)
{
    v2di a;
    uint64_t r;
    memcpy(&a, s, 16);
    switch ((dbl << 2) | (trunc << 1) | q) {
    case 0: __asm__ volatile("cvtss2si %1, %k0" : "=r"(r) : "x"(a)); r = (uint32_t)r; break;
    case 1: __asm__ volatile("cvtss2si %1, %q0" : "=r"(r) : "x"(a)); break;
    case 2: __asm__ volatile("cvttss2si %1, %k0" : "=r"(r) : "x"(a)); r = (uint32_t)r; break;
    case 3: __asm__ volatile("cvttss2si %1, %q0" : "=r"(r) : "x"(a)); break;
    case 4: __asm__ volatile("cvtsd2si %1, %k0" : "=r"(r) : "x"(a)); r = (uint32_t)r; break;
    case 5: __asm__ volatile("cvtsd2si %1, %q0" : "=r"(r) : "x"(a)); break;
    case 6: __asm__ volatile("cvttsd2si %1, %k0" : "=r"(r) : "x"(a)); r = (uint32_t)r; break;
    default: __asm__ volatile("cvttsd2si %1, %q0" : "=r"(r) : "x"(a)); break;
    }
    return r;
}

static void host_cvt_from_int(bool dbl, bool q, uint64_t v, union x86_xmm *d)
{
    v2di a;
    memcpy(&a, d, 16);
    switch ((dbl << 1) | q) {
    case 0: __asm__ volatile("cvtsi2ssl %k1, %0" : "+x"(a) : "r"(v)); break;
    case 1: __asm__ volatile("cvtsi2ssq %q1, %0" : "+x"(a) : "r"(v)); break;
    case 2: __asm__ volatile("cvtsi2sdl %k1, %0" : "+x"(a) : "r"(v)); break;
    default: __asm__ volatile("cvtsi2sdq %q1, %0" : "+x"(a) : "r"(v)); break;
    }
    memcpy(d, &a, 16);
}

/** 0F 2A: CVTPI2PS, CVTPI2PD (66), CVTSI2SS (F3), CVTSI2SD (F2). */
static void op_cvt_from_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    union x86_xmm *d = &cpu->xmm[insn->reg & 15];
    if (insn->mprefix == X86_PFX_F3 || insn->mprefix == X86_PFX_F2) {
        bool q = insn->rex & 8, dbl = insn->mprefix == X86_PFX_F2;
        sse_check(cpu);
        uint64_t v = x86_rm_read(cpu, insn, q ? 8 : 4);
        union x86_xmm r = *d;
        uint32_t saved = sse_fp_begin(cpu);
        host_cvt_from_int(dbl, q, v, &r);
        sse_fp_end(cpu, saved);
        *d = r;
        return;
    }
    /* MMX source: CVTPI2PS / CVTPI2PD. Only the MMX-register form is an x87
     * transition with the #MF check (SDM Vol. 2A CVTPI2PS/CVTPI2PD). */
    sse_check(cpu);
    if (!(insn->flags & X86_INSN_MEM))
        mmx_check(cpu);
    union x86_xmm s = { .u64 = { mmx_read_rm(cpu, insn), 0 } };
    if (!(insn->flags & X86_INSN_MEM))
        mmx_enter(cpu);
    if (insn->mprefix == X86_PFX_66) {
        sse_fp_run(cpu, cvtdq2pd, d, &s);
    } else {
        union x86_xmm r = s;
        sse_fp_run(cpu, cvtdq2ps, &r, &s);
        d->u64[0] = r.u64[0];
    }
}

/** 0F 2C / 0F 2D: CVT(T)PS2PI, CVT(T)PD2PI (66), CVT(T)SS2SI (F3), CVT(T)SD2SI (F2). */
static void op_cvt_to_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    bool trunc = (insn->op & 0xff) == 0x2c;
    union x86_xmm s;
    if (insn->mprefix == X86_PFX_F3 || insn->mprefix == X86_PFX_F2) {
        bool q = insn->rex & 8, dbl = insn->mprefix == X86_PFX_F2;
        sse_check(cpu);
        sse_read_rm(cpu, insn, &s, dbl ? 8 : 4, false);
        uint32_t saved = sse_fp_begin(cpu);
        uint64_t r = host_cvt_to_int(dbl, trunc, q, &s);
        sse_fp_end(cpu, saved);
        x86_reg_write(cpu, insn->reg, 8, true, r);
        return;
    }
    sse_check(cpu);
    mmx_check(cpu);
    bool pd = insn->mprefix == X86_PFX_66;
    sse_read_rm(cpu, insn, &s, pd ? 16 : 8, pd);
    if (!pd)
        s.u64[1] = 0;       /* only two singles take part */
    union x86_xmm r = s;
    sse_fp_run(cpu, pd ? (trunc ? cvttpd2dq : cvtpd2dq) : (trunc ? cvttps2dq : cvtps2dq), &r, &s);
    mmx_enter(cpu);
    mmx_write(cpu, insn->reg, r.u64[0]);
}

sse_host_fn sse_fp_lane_fn(uint8_t opcode, unsigned mprefix, unsigned *size)
{
    const struct fp_op *o = &fp_ops[opcode][mprefix & 3];
    *size = o->size;
    return o->fn;
}

uint64_t sse_cvt_to_int(struct x86_cpu *cpu, bool dbl, bool trunc, bool q, const union x86_xmm *s)
{
    uint32_t saved = sse_fp_begin(cpu);
    uint64_t r = host_cvt_to_int(dbl, trunc, q, s);
    sse_fp_end(cpu, saved);
    return r;
}

void sse_cvt_from_int(struct x86_cpu *cpu, bool dbl, bool q, uint64_t v, union x86_xmm *d)
{
    union x86_xmm r = *d;
    uint32_t saved = sse_fp_begin(cpu);
    host_cvt_from_int(dbl, q, v, &r);
    sse_fp_end(cpu, saved);
    *d = r;
}

void x86_ops_sse_fp_init(x86_exec_fn *table)
{
    for (unsigned b = 0; b < 256; b++)
        for (unsigned p = 0; p < 4; p++)
            if (fp_ops[b][p].fn)
                table[X86_OP(X86_MAP_0F, b)] = op_fp;
    table[X86_OP(X86_MAP_0F, 0xc2)] = op_cmp;
    table[X86_OP(X86_MAP_0F, 0x2e)] = op_comis;
    table[X86_OP(X86_MAP_0F, 0x2f)] = op_comis;
    table[X86_OP(X86_MAP_0F, 0x2a)] = op_cvt_from_int;
    table[X86_OP(X86_MAP_0F, 0x2c)] = op_cvt_to_int;
    table[X86_OP(X86_MAP_0F, 0x2d)] = op_cvt_to_int;
}
