/*
 * cpu/x86/ops_sse4.c - the 0F 38 and 0F 3A maps (legacy encodings):
 * SSSE3 (PSHUFB, PHADD/PHSUB[S]W/D, PMADDUBSW, PSIGN*, PMULHRSW, PABS*,
 * PALIGNR, MMX and XMM forms), SSE4.1 (PBLENDVB/BLENDVPS/BLENDVPD, PTEST,
 * PMOVSX/ZX, PMULDQ, PCMPEQQ, MOVNTDQA, PACKUSDW, PMIN/PMAX S/U B/W/D,
 * PMULLD, PHMINPOSUW, ROUND*, BLENDPS/PD, PBLENDW, PEXTR*, EXTRACTPS,
 * PINSR*, INSERTPS, DPPS/DPPD, MPSADBW) and SSE4.2's PCMPGTQ.
 * Not here: 0F 38 F0/F1/F6 (MOVBE/CRC32/ADCX, integer helper), 0F 38 82
 * (INVPCID, system helper); PCMPESTRI/ISTRI/ESTRM/ISTRM (0F 3A 60-63) are in
 * ops_sse42.c and AES-NI/PCLMULQDQ in ops_aes.c (registered from here).
 * SDM Vol. 2 instruction pages. Integer lanes in C; FP (ROUND*, DPPS/DPPD)
 * on the host under the guest MXCSR (see sse_priv.h).
 */
#include "cpu/x86/sse_priv.h"

typedef long long v2di __attribute__((vector_size(16)));

static inline int16_t sat16(int v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v; }

#define BIN(name, T, F, expr)                                                       \
    static void name(union x86_xmm *d, const union x86_xmm *s, unsigned n)          \
    {                                                                               \
        for (unsigned i = 0; i < n / sizeof(T); i++) {                              \
            T a = d->F[i], b = s->F[i];                                             \
            (void)a;                                                                \
            d->F[i] = (T)(expr);                                                    \
        }                                                                           \
    }

/* ---------------------------------------------------------------- SSSE3 */

static void pshufb(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    union x86_xmm r = *d;
    for (unsigned i = 0; i < n; i++)
        r.u8[i] = (s->u8[i] & 0x80) ? 0 : d->u8[s->u8[i] & (n - 1)];
    memcpy(d->u8, r.u8, n);
}

/* Horizontal pairs: kind 0 add, 1 add saturating, 2 sub, 3 sub saturating; @dw: dwords. */
static void hpair(union x86_xmm *d, const union x86_xmm *s, unsigned n, int kind, bool dw)
{
    union x86_xmm r = *d;
    unsigned lanes = n / (dw ? 4 : 2), half = lanes / 2;
    for (unsigned i = 0; i < lanes; i++) {
        const union x86_xmm *src = i < half ? d : s;
        unsigned k = (i % half) * 2;
        if (dw) {
            uint32_t a = src->u32[k], b = src->u32[k + 1];
            r.u32[i] = kind >= 2 ? a - b : a + b;
        } else {
            int a = src->s16[k], b = src->s16[k + 1];
            int v = kind >= 2 ? a - b : a + b;
            r.s16[i] = (kind & 1) ? sat16(v) : (int16_t)v;
        }
    }
    memcpy(d->u8, r.u8, n);
}
#define HP(name, kind, dw) \
    static void name(union x86_xmm *d, const union x86_xmm *s, unsigned n) { hpair(d, s, n, kind, dw); }
HP(phaddw, 0, false)
HP(phaddsw, 1, false)
HP(phsubw, 2, false)
HP(phsubsw, 3, false)
HP(phaddd, 0, true)
HP(phsubd, 2, true)

static void pmaddubsw(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    for (unsigned i = 0; i < n / 2; i++)
        d->s16[i] = sat16(d->u8[2 * i] * s->s8[2 * i] + d->u8[2 * i + 1] * s->s8[2 * i + 1]);
}

BIN(psignb, int8_t, s8, b < 0 ? -a : b == 0 ? 0 : a)
BIN(psignw, int16_t, s16, b < 0 ? -a : b == 0 ? 0 : a)
BIN(psignd, int32_t, s32, b < 0 ? -(uint32_t)a : b == 0 ? 0 : a)
BIN(pmulhrsw, int16_t, s16, ((((int32_t)a * b) >> 14) + 1) >> 1)
BIN(pabsb, int8_t, s8, b < 0 ? -b : b)
BIN(pabsw, int16_t, s16, b < 0 ? -b : b)
BIN(pabsd, int32_t, s32, b < 0 ? -(uint32_t)b : (uint32_t)b)

/* ---------------------------------------------------------------- SSE4.1 / 4.2 integer */

BIN(pminsb, int8_t, s8, a < b ? a : b)
BIN(pminsd, int32_t, s32, a < b ? a : b)
BIN(pminuw, uint16_t, u16, a < b ? a : b)
BIN(pminud, uint32_t, u32, a < b ? a : b)
BIN(pmaxsb, int8_t, s8, a > b ? a : b)
BIN(pmaxsd, int32_t, s32, a > b ? a : b)
BIN(pmaxuw, uint16_t, u16, a > b ? a : b)
BIN(pmaxud, uint32_t, u32, a > b ? a : b)
BIN(pmulld, uint32_t, u32, a * b)
BIN(pcmpeqq, uint64_t, u64, a == b ? ~0ull : 0)
BIN(pcmpgtq, int64_t, s64, a > b ? -1 : 0)

static void pmuldq(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    for (unsigned i = 0; i < 2; i++)
        d->s64[i] = (int64_t)d->s32[2 * i] * s->s32[2 * i];
}

static void packusdw(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    union x86_xmm r;
    for (unsigned i = 0; i < 4; i++) {
        int32_t a = d->s32[i], b = s->s32[i];
        r.u16[i] = (uint16_t)(a < 0 ? 0 : a > 65535 ? 65535 : a);
        r.u16[4 + i] = (uint16_t)(b < 0 ? 0 : b > 65535 ? 65535 : b);
    }
    *d = r;
}

static void phminposuw(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    unsigned idx = 0;
    for (unsigned i = 1; i < 8; i++)
        if (s->u16[i] < s->u16[idx])
            idx = i;
    uint16_t m = s->u16[idx];
    memset(d, 0, sizeof(*d));
    d->u16[0] = m;
    d->u16[1] = (uint16_t)idx;
}

/* ---------------------------------------------------------------- 0F 38 dispatch */

struct op38 {
    simd_fn fn;
    bool mmx;           /* has an MMX (no prefix) form: SSSE3 */
};

static const struct op38 ops38[256] = {
    [0x00] = { pshufb, true }, [0x01] = { phaddw, true }, [0x02] = { phaddd, true },
    [0x03] = { phaddsw, true }, [0x04] = { pmaddubsw, true }, [0x05] = { phsubw, true },
    [0x06] = { phsubd, true }, [0x07] = { phsubsw, true }, [0x08] = { psignb, true },
    [0x09] = { psignw, true }, [0x0a] = { psignd, true }, [0x0b] = { pmulhrsw, true },
    [0x1c] = { pabsb, true }, [0x1d] = { pabsw, true }, [0x1e] = { pabsd, true },
    [0x28] = { pmuldq }, [0x29] = { pcmpeqq }, [0x2b] = { packusdw }, [0x37] = { pcmpgtq },
    [0x38] = { pminsb }, [0x39] = { pminsd }, [0x3a] = { pminuw }, [0x3b] = { pminud },
    [0x3c] = { pmaxsb }, [0x3d] = { pmaxsd }, [0x3e] = { pmaxuw }, [0x3f] = { pmaxud },
    [0x40] = { pmulld }, [0x41] = { phminposuw },
};

static void op_38_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    const struct op38 *o = &ops38[insn->op & 0xff];
    sse_int_exec(cpu, insn, o->fn, !o->mmx);
}

/**
 * The 66-only legacy forms: #UD without the 66 prefix (false), else the
 * SSE #UD/#NM checks (sse_check()) and true.
 */
static bool sse66_check(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66) {
        x86_op_ud(cpu, insn);
        return false;
    }
    sse_check(cpu);
    return true;
}

/**
 * sse66_check(), then the xmm/m128 source (16-byte aligned) into @s.
 * Returns the destination XMM register (ModRM.reg), or NULL after #UD.
 */
static union x86_xmm *sse66_operands(struct x86_cpu *cpu, const struct x86_insn *insn,
                                     union x86_xmm *s)
{
    if (!sse66_check(cpu, insn))
        return NULL;
    sse_read_rm(cpu, insn, s, 16, true);
    return &cpu->xmm[insn->reg & 15];
}

/** 66 0F 38 10/14/15: PBLENDVB, BLENDVPS, BLENDVPD (mask = XMM0 sign bits). */
static void op_blendv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    union x86_xmm s, *d = sse66_operands(cpu, insn, &s);
    if (!d)
        return;
    unsigned sz = (insn->op & 0xff) == 0x10 ? 1 : (insn->op & 0xff) == 0x14 ? 4 : 8;
    const union x86_xmm m = cpu->xmm[0];
    for (unsigned i = 0; i < 16; i += sz)
        if (m.u8[i + sz - 1] & 0x80)
            memcpy(&d->u8[i], &s.u8[i], sz);
}

/** 66 0F 38 17: PTEST: ZF = (dst AND src) == 0, CF = (NOT dst AND src) == 0; others 0. */
static void op_ptest(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    union x86_xmm s, *d = sse66_operands(cpu, insn, &s);
    if (!d)
        return;
    bool zf = !((d->u64[0] & s.u64[0]) | (d->u64[1] & s.u64[1]));
    bool cf = !((~d->u64[0] & s.u64[0]) | (~d->u64[1] & s.u64[1]));
    x86_set_arith_flags(cpu, (zf ? X86_FLAG_ZF : 0) | (cf ? X86_FLAG_CF : 0));
}

/** 66 0F 38 20-25 / 30-35: PMOVSX / PMOVZX (source m64/m32/m16, no alignment). */
static void op_pmovx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t from[6] = { 1, 1, 1, 2, 2, 4 }, to[6] = { 2, 4, 8, 4, 8, 8 };
    unsigned k = (insn->op & 0xf);
    if (insn->mprefix != X86_PFX_66 || k > 5) {
        x86_op_ud(cpu, insn);
        return;
    }
    bool sx = (insn->op & 0xf0) == 0x20;
    unsigned fs = from[k], ts = to[k], cnt = 16 / ts;
    sse_check(cpu);
    union x86_xmm s, r;
    sse_read_rm(cpu, insn, &s, fs * cnt, false);
    for (unsigned i = 0; i < cnt; i++) {
        uint64_t v = 0;
        memcpy(&v, &s.u8[i * fs], fs);
        if (sx && (v >> (fs * 8 - 1)) & 1)
            v |= ~0ull << (fs * 8);
        memcpy(&r.u8[i * ts], &v, ts);
    }
    cpu->xmm[insn->reg & 15] = r;
}

/** 66 0F 38 2A: MOVNTDQA xmm, m128 (aligned, memory only). */
static void op_movntdqa(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (insn->mprefix != X86_PFX_66 || !(insn->flags & X86_INSN_MEM)) {
        x86_op_ud(cpu, insn);
        return;
    }
    sse_check(cpu);
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, 16, true);
    cpu->xmm[insn->reg & 15] = s;
}

/* ---------------------------------------------------------------- 0F 3A: FP on the host */

#define HOSTI(name, ins, imm)                                                       \
    static void name(union x86_xmm *d, const union x86_xmm *s)                      \
    {                                                                               \
        v2di a, b;                                                                  \
        memcpy(&a, d, 16);                                                          \
        memcpy(&b, s, 16);                                                          \
        __asm__ volatile(ins " $" #imm ", %1, %0" : "+x"(a) : "x"(b));            \
        memcpy(d, &a, 16);                                                          \
    }
#define ROUND4(i) HOSTI(roundps_##i, "roundps", i) HOSTI(roundpd_##i, "roundpd", i) \
                  HOSTI(roundss_##i, "roundss", i) HOSTI(roundsd_##i, "roundsd", i)
ROUND4(0) ROUND4(1) ROUND4(2) ROUND4(3) ROUND4(4) ROUND4(5) ROUND4(6) ROUND4(7)
ROUND4(8) ROUND4(9) ROUND4(10) ROUND4(11) ROUND4(12) ROUND4(13) ROUND4(14) ROUND4(15)
#define RROW(i) { roundps_##i, roundpd_##i, roundss_##i, roundsd_##i }
static const sse_host_fn round_fns[16][4] = {
    RROW(0), RROW(1), RROW(2), RROW(3), RROW(4), RROW(5), RROW(6), RROW(7),
    RROW(8), RROW(9), RROW(10), RROW(11), RROW(12), RROW(13), RROW(14), RROW(15),
};

/** 66 0F 3A 08-0B: ROUNDPS/PD/SS/SD xmm, xmm/mN, imm8 (imm8[3:0] used). */
static void op_round(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const uint8_t size[4] = { 16, 16, 4, 8 };
    if (!sse66_check(cpu, insn))
        return;
    unsigned k = insn->op & 3;
    union x86_xmm s;
    sse_read_rm(cpu, insn, &s, size[k], size[k] == 16);
    sse_fp_run(cpu, round_fns[insn->imm & 15][k], &cpu->xmm[insn->reg & 15], &s);
}

/* DPPS / DPPD with every imm8 (the host instruction needs a constant). */
static void host_dp(bool pd, unsigned imm, union x86_xmm *d, const union x86_xmm *s)
{
    v2di a, b;
    memcpy(&a, d, 16);
    memcpy(&b, s, 16);
    if (pd) {
        switch (imm & 0x33) {
#define X(i) case i: __asm__ volatile("dppd $" #i ", %1, %0" : "+x"(a) : "x"(b)); break;
        X(0) X(1) X(2) X(3) X(16) X(17) X(18) X(19) X(32) X(33) X(34) X(35) X(48) X(49) X(50) X(51)
#undef X
        }
    } else {
        switch (imm & 0xff) {
#define X(i) case i: __asm__ volatile("dpps $" #i ", %1, %0" : "+x"(a) : "x"(b)); break;
        X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) X(44) X(45) X(46) X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) X(57) X(58) X(59) X(60) X(61) X(62) X(63) X(64) X(65) X(66) X(67) X(68) X(69) X(70) X(71) X(72) X(73) X(74) X(75) X(76) X(77) X(78) X(79) X(80) X(81) X(82) X(83) X(84) X(85) X(86) X(87) X(88) X(89) X(90) X(91) X(92) X(93) X(94) X(95) X(96) X(97) X(98) X(99) X(100) X(101) X(102) X(103) X(104) X(105) X(106) X(107) X(108) X(109) X(110) X(111) X(112) X(113) X(114) X(115) X(116) X(117) X(118) X(119) X(120) X(121) X(122) X(123) X(124) X(125) X(126) X(127) X(128) X(129) X(130) X(131) X(132) X(133) X(134) X(135) X(136) X(137) X(138) X(139) X(140) X(141) X(142) X(143) X(144) X(145) X(146) X(147) X(148) X(149) X(150) X(151) X(152) X(153) X(154) X(155) X(156) X(157) X(158) X(159) X(160) X(161) X(162) X(163) X(164) X(165) X(166) X(167) X(168) X(169) X(170) X(171) X(172) X(173) X(174) X(175) X(176) X(177) X(178) X(179) X(180) X(181) X(182) X(183) X(184) X(185) X(186) X(187) X(188) X(189) X(190) X(191) X(192) X(193) X(194) X(195) X(196) X(197) X(198) X(199) X(200) X(201) X(202) X(203) X(204) X(205) X(206) X(207) X(208) X(209) X(210) X(211) X(212) X(213) X(214) X(215) X(216) X(217) X(218) X(219) X(220) X(221) X(222) X(223) X(224) X(225) X(226) X(227) X(228) X(229) X(230) X(231) X(232) X(233) X(234) X(235) X(236) X(237) X(238) X(239) X(240) X(241) X(242) X(243) X(244) X(245) X(246) X(247) X(248) X(249) X(250) X(251) X(252) X(253) X(254) X(255)
#undef X
        }
    }
    memcpy(d, &a, 16);
}

/** 66 0F 3A 40/41: DPPS / DPPD xmm, xmm/m128, imm8. */
static void op_dp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    union x86_xmm s, *d = sse66_operands(cpu, insn, &s);
    if (!d)
        return;
    union x86_xmm r = *d;
    uint32_t saved = sse_fp_begin(cpu);
    host_dp((insn->op & 0xff) == 0x41, (uint8_t)insn->imm, &r, &s);
    sse_fp_end(cpu, saved);
    cpu->xmm[insn->reg & 15] = r;
}

/* ---------------------------------------------------------------- 0F 3A: integer */

/** (dst:src) >> @imm bytes over @n-byte operands, low @n bytes kept (PALIGNR). */
static void palignr(union x86_xmm *d, const union x86_xmm *s, unsigned n, unsigned imm)
{
    uint8_t cat[32];
    memcpy(cat, s->u8, n);
    memcpy(cat + n, d->u8, n);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = i + imm;
        d->u8[i] = k < 2 * n ? cat[k] : 0;
    }
}

/** 0F 3A 0F: PALIGNR mm, mm/m64, imm8 / 66: xmm, xmm/m128, imm8. */
static void op_palignr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned imm = (uint8_t)insn->imm;
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        union x86_xmm s;
        sse_read_rm(cpu, insn, &s, 16, true);
        palignr(&cpu->xmm[insn->reg & 15], &s, 16, imm);
    } else if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        union x86_xmm s = { .u64 = { mmx_read_rm(cpu, insn), 0 } };
        union x86_xmm d = { .u64 = { mmx_reg(cpu, insn->reg), 0 } };
        mmx_enter(cpu);
        palignr(&d, &s, 8, imm);
        mmx_write(cpu, insn->reg, d.u64[0]);
    } else {
        x86_op_ud(cpu, insn);
    }
}

/** 66 0F 3A 0C/0D/0E: BLENDPS, BLENDPD, PBLENDW with imm8 lane mask. */
static void op_blend_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    union x86_xmm s, *d = sse66_operands(cpu, insn, &s);
    if (!d)
        return;
    unsigned op = insn->op & 0xff, imm = (uint8_t)insn->imm;
    unsigned sz = op == 0x0c ? 4 : op == 0x0d ? 8 : 2;
    for (unsigned i = 0; i < 16 / sz; i++)
        if ((imm >> i) & 1)
            memcpy(&d->u8[i * sz], &s.u8[i * sz], sz);
}

/** 66 0F 3A 14-17: PEXTRB, PEXTRW, PEXTRD/PEXTRQ, EXTRACTPS -> r/m. */
static void op_pextr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!sse66_check(cpu, insn))
        return;
    unsigned op = insn->op & 0xff, imm = (uint8_t)insn->imm;
    const union x86_xmm *s = &cpu->xmm[insn->reg & 15];
    unsigned sz;
    uint64_t v;
    switch (op) {
    case 0x14: sz = 1; v = s->u8[imm & 15]; break;
    case 0x15: sz = 2; v = s->u16[imm & 7]; break;
    case 0x16:
        if (insn->rex & 8) {
            sz = 8;
            v = s->u64[imm & 1];
        } else {
            sz = 4;
            v = s->u32[imm & 3];
        }
        break;
    default: sz = 4; v = s->u32[imm & 3]; break;
    }
    if (insn->flags & X86_INSN_MEM)
        x86_mem_write(cpu, insn, sz, v);
    else
        x86_reg_write(cpu, insn->rm, sz == 8 ? 8 : 4, true, v);   /* zero-extended */
}

/** 66 0F 3A 20/21/22: PINSRB, INSERTPS, PINSRD/PINSRQ. */
static void op_pinsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!sse66_check(cpu, insn))
        return;
    unsigned op = insn->op & 0xff, imm = (uint8_t)insn->imm;
    union x86_xmm *d = &cpu->xmm[insn->reg & 15];
    if (op == 0x21) {                                   /* INSERTPS */
        uint32_t v;
        if (insn->flags & X86_INSN_MEM)
            v = (uint32_t)x86_mem_read(cpu, insn, 4);
        else
            v = cpu->xmm[insn->rm & 15].u32[imm >> 6];
        d->u32[(imm >> 4) & 3] = v;
        for (unsigned i = 0; i < 4; i++)
            if ((imm >> i) & 1)
                d->u32[i] = 0;
        return;
    }
    if (op == 0x20) {
        /* m8, or the low byte of r32 (never AH..BH) */
        d->u8[imm & 15] = (uint8_t)x86_rm_read(cpu, insn, (insn->flags & X86_INSN_MEM) ? 1 : 4);
        return;
    }
    if (insn->rex & 8)
        d->u64[imm & 1] = x86_rm_read(cpu, insn, 8);
    else
        d->u32[imm & 3] = (uint32_t)x86_rm_read(cpu, insn, 4);
}

/** 66 0F 3A 42: MPSADBW xmm, xmm/m128, imm8. */
static void op_mpsadbw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    union x86_xmm s, r, *d = sse66_operands(cpu, insn, &s);
    if (!d)
        return;
    unsigned imm = (uint8_t)insn->imm, so = (imm & 3) * 4, dof = ((imm >> 2) & 1) * 4;
    for (unsigned i = 0; i < 8; i++) {
        unsigned sum = 0;
        for (unsigned j = 0; j < 4; j++) {
            int diff = (int)d->u8[dof + i + j] - s.u8[so + j];
            sum += diff < 0 ? -diff : diff;
        }
        r.u16[i] = (uint16_t)sum;
    }
    *d = r;
}

simd_fn sse4_38_lane_fn(uint8_t opcode)
{
    return ops38[opcode].fn;
}

sse_host_fn sse4_round_fn(unsigned imm, unsigned kind)
{
    return round_fns[imm & 15][kind & 3];
}

void sse4_dp(bool pd, unsigned imm, union x86_xmm *d, const union x86_xmm *s)
{
    host_dp(pd, imm, d, s);
}

void x86_ops_sse4_init(x86_exec_fn *table)
{
    for (unsigned b = 0; b < 256; b++)
        if (ops38[b].fn)
            table[X86_OP(X86_MAP_0F38, b)] = op_38_int;
    table[X86_OP(X86_MAP_0F38, 0x10)] = op_blendv;
    table[X86_OP(X86_MAP_0F38, 0x14)] = op_blendv;
    table[X86_OP(X86_MAP_0F38, 0x15)] = op_blendv;
    table[X86_OP(X86_MAP_0F38, 0x17)] = op_ptest;
    for (unsigned b = 0x20; b <= 0x25; b++) {
        table[X86_OP(X86_MAP_0F38, b)] = op_pmovx;
        table[X86_OP(X86_MAP_0F38, b + 0x10)] = op_pmovx;
    }
    table[X86_OP(X86_MAP_0F38, 0x2a)] = op_movntdqa;
    for (unsigned b = 0x08; b <= 0x0b; b++)
        table[X86_OP(X86_MAP_0F3A, b)] = op_round;
    table[X86_OP(X86_MAP_0F3A, 0x0c)] = op_blend_imm;
    table[X86_OP(X86_MAP_0F3A, 0x0d)] = op_blend_imm;
    table[X86_OP(X86_MAP_0F3A, 0x0e)] = op_blend_imm;
    table[X86_OP(X86_MAP_0F3A, 0x0f)] = op_palignr;
    for (unsigned b = 0x14; b <= 0x17; b++)
        table[X86_OP(X86_MAP_0F3A, b)] = op_pextr;
    for (unsigned b = 0x20; b <= 0x22; b++)
        table[X86_OP(X86_MAP_0F3A, b)] = op_pinsr;
    table[X86_OP(X86_MAP_0F3A, 0x40)] = op_dp;
    table[X86_OP(X86_MAP_0F3A, 0x41)] = op_dp;
    table[X86_OP(X86_MAP_0F3A, 0x42)] = op_mpsadbw;
    x86_ops_sse42_init(table);     /* 0F 3A 60-63 */
    x86_ops_aes_init(table);       /* 0F 38 DB-DF, 0F 3A DF, 0F 3A 44 */
}
