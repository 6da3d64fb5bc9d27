/*
 * cpu/x86/ops_sse_int.c - MMX and SSE2 integer SIMD arithmetic (0F 60-76,
 * 0F D1-FE, shift groups 0F 71-73, PSHUFW/PSHUFD/PSHUFHW/PSHUFLW 0F 70).
 *
 * Each operation is one lane function over the low 8 (MMX) or 16 (XMM)
 * bytes, shared by both encodings (SDM Vol. 2 instruction pages; Vol. 1 9.4
 * for MMX, 11.4 for SSE2). Pure C, no host SIMD: the differential test
 * compares these against the host instructions.
 */
#include "cpu/x86/sse_priv.h"

/* ---------------------------------------------------------------- saturation */

static inline int8_t sat_s8(int v) { return v > 127 ? 127 : v < -128 ? -128 : (int8_t)v; }
static inline uint8_t sat_u8(int v) { return v > 255 ? 255 : v < 0 ? 0 : (uint8_t)v; }
static inline int16_t sat_s16(int v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v; }
static inline uint16_t sat_u16(int v) { return v > 65535 ? 65535 : v < 0 ? 0 : (uint16_t)v; }

/* Element-wise binary operation on field F (type T) of every lane. */
#define BIN(name, T, F, expr)                                                       \
    static void name(union x86_xmm *d, const union x86_xmm *s, unsigned n)          \
    {                                                                               \
        for (unsigned i = 0; i < n / sizeof(T); i++) {                              \
            T a = d->F[i], b = s->F[i];                                             \
            d->F[i] = (T)(expr);                                                    \
        }                                                                           \
    }

BIN(paddb, uint8_t, u8, a + b)
BIN(paddw, uint16_t, u16, a + b)
BIN(paddd, uint32_t, u32, a + b)
BIN(paddq, uint64_t, u64, a + b)
BIN(psubb, uint8_t, u8, a - b)
BIN(psubw, uint16_t, u16, a - b)
BIN(psubd, uint32_t, u32, a - b)
BIN(psubq, uint64_t, u64, a - b)
BIN(paddsb, int8_t, s8, sat_s8(a + b))
BIN(paddsw, int16_t, s16, sat_s16(a + b))
BIN(paddusb, uint8_t, u8, sat_u8(a + b))
BIN(paddusw, uint16_t, u16, sat_u16(a + b))
BIN(psubsb, int8_t, s8, sat_s8(a - b))
BIN(psubsw, int16_t, s16, sat_s16(a - b))
BIN(psubusb, uint8_t, u8, sat_u8(a - b))
BIN(psubusw, uint16_t, u16, sat_u16(a - b))
BIN(pcmpeqb, uint8_t, u8, a == b ? 0xff : 0)
BIN(pcmpeqw, uint16_t, u16, a == b ? 0xffff : 0)
BIN(pcmpeqd, uint32_t, u32, a == b ? 0xffffffffu : 0)
BIN(pcmpgtb, int8_t, s8, a > b ? -1 : 0)
BIN(pcmpgtw, int16_t, s16, a > b ? -1 : 0)
BIN(pcmpgtd, int32_t, s32, a > b ? -1 : 0)
BIN(pminub, uint8_t, u8, a < b ? a : b)
BIN(pmaxub, uint8_t, u8, a > b ? a : b)
BIN(pminsw, int16_t, s16, a < b ? a : b)
BIN(pmaxsw, int16_t, s16, a > b ? a : b)
BIN(pavgb, uint8_t, u8, ((unsigned)a + b + 1) >> 1)
BIN(pavgw, uint16_t, u16, ((unsigned)a + b + 1) >> 1)
BIN(pmullw, uint16_t, u16, (uint32_t)a * b)
BIN(pmulhw, int16_t, s16, ((int32_t)a * b) >> 16)
BIN(pmulhuw, uint16_t, u16, ((uint32_t)a * b) >> 16)
BIN(pand, uint64_t, u64, a & b)
BIN(pandn, uint64_t, u64, ~a & b)
BIN(por, uint64_t, u64, a | b)
BIN(pxor, uint64_t, u64, a ^ b)

static void pmuludq(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    for (unsigned i = 0; i < n / 8; i++)
        d->u64[i] = (uint64_t)d->u32[2 * i] * s->u32[2 * i];
}

static void pmaddwd(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    for (unsigned i = 0; i < n / 4; i++) {
        uint32_t lo = (uint32_t)((int32_t)d->s16[2 * i] * s->s16[2 * i]);
        uint32_t hi = (uint32_t)((int32_t)d->s16[2 * i + 1] * s->s16[2 * i + 1]);
        d->u32[i] = lo + hi;   /* wraps for 0x8000 * 0x8000 * 2, as the SDM says */
    }
}

static void psadbw(union x86_xmm *d, const union x86_xmm *s, unsigned n)
{
    for (unsigned g = 0; g < n / 8; g++) {
        unsigned sum = 0;
        for (unsigned i = 0; i < 8; i++) {
            int diff = (int)d->u8[g * 8 + i] - s->u8[g * 8 + i];
            sum += diff < 0 ? -diff : diff;
        }
        d->u64[g] = sum;
    }
}

/* ---------------------------------------------------------------- packs and unpacks */

/*
 * Narrow the field F lanes of @d, then of @s, with saturation (@sat) into
 * the field T lanes of the result: @d's go to the low half, @s's to the high.
 */
#define PACK(name, T, F, sat)                                                       \
    static void name(union x86_xmm *d, const union x86_xmm *s, unsigned n)          \
    {                                                                               \
        union x86_xmm r = *d;                                                       \
        unsigned h = n / sizeof(d->F[0]);                                           \
        for (unsigned i = 0; i < h; i++) {                                          \
            r.T[i] = sat(d->F[i]);                                                  \
            r.T[h + i] = sat(s->F[i]);                                              \
        }                                                                           \
        memcpy(d->u8, r.u8, n);                                                     \
    }
PACK(packsswb, s8, s16, sat_s8)
PACK(packuswb, u8, s16, sat_u8)
PACK(packssdw, s16, s32, sat_s16)

/* Interleave lanes of @sz bytes from the low (@high = 0) or high half. */
static void unpack(union x86_xmm *d, const union x86_xmm *s, unsigned n, unsigned sz, bool high)
{
    union x86_xmm r;
    unsigned lanes = n / sz, half = lanes / 2, base = high ? half : 0;
    for (unsigned i = 0; i < half; i++) {
        memcpy(&r.u8[(2 * i) * sz], &d->u8[(base + i) * sz], sz);
        memcpy(&r.u8[(2 * i + 1) * sz], &s->u8[(base + i) * sz], sz);
    }
    memcpy(d->u8, r.u8, n);
}

#define UNPACK(name, sz, high) \
    static void name(union x86_xmm *d, const union x86_xmm *s, unsigned n) { unpack(d, s, n, sz, high); }
UNPACK(punpcklbw, 1, false)
UNPACK(punpcklwd, 2, false)
UNPACK(punpckldq, 4, false)
UNPACK(punpcklqdq, 8, false)
UNPACK(punpckhbw, 1, true)
UNPACK(punpckhwd, 2, true)
UNPACK(punpckhdq, 4, true)
UNPACK(punpckhqdq, 8, true)

/* ---------------------------------------------------------------- shifts */

/* Shift every lane of @sz bytes by @count: kind 0 = logical right, 1 = arithmetic right, 2 = left. */
static void shift_lanes(union x86_xmm *d, unsigned n, unsigned sz, int kind, uint64_t count)
{
    unsigned bits = sz * 8;
    for (unsigned i = 0; i < n / sz; i++) {
        uint64_t v = 0;
        memcpy(&v, &d->u8[i * sz], sz);
        if (kind == 1) {
            int64_t sv = (int64_t)(v << (64 - bits)) >> (64 - bits);
            v = (uint64_t)(sv >> (count >= bits ? bits - 1 : count));
        } else if (count >= bits) {
            v = 0;
        } else {
            v = kind == 0 ? v >> count : v << count;
        }
        memcpy(&d->u8[i * sz], &v, sz);
    }
}

#define SHIFT(name, sz, kind) \
    static void name(union x86_xmm *d, const union x86_xmm *s, unsigned n) { shift_lanes(d, n, sz, kind, s->u64[0]); }
SHIFT(psrlw, 2, 0)
SHIFT(psrld, 4, 0)
SHIFT(psrlq, 8, 0)
SHIFT(psraw, 2, 1)
SHIFT(psrad, 4, 1)
SHIFT(psllw, 2, 2)
SHIFT(pslld, 4, 2)
SHIFT(psllq, 8, 2)

/* ---------------------------------------------------------------- dispatch */

void sse_int_exec(struct x86_cpu *cpu, const struct x86_insn *insn, simd_fn fn, bool xmm_only)
{
    if (insn->mprefix == X86_PFX_66) {
        sse_check(cpu);
        union x86_xmm s;
        sse_read_rm(cpu, insn, &s, 16, true);
        fn(&cpu->xmm[insn->reg & 15], &s, 16);
        return;
    }
    if (insn->mprefix != X86_PFX_NONE || xmm_only) {
        x86_op_ud(cpu, insn);
        return;
    }
    mmx_check(cpu);
    union x86_xmm s = { .u64 = { mmx_read_rm(cpu, insn), 0 } };
    union x86_xmm d = { .u64 = { mmx_reg(cpu, insn->reg), 0 } };
    mmx_enter(cpu);
    fn(&d, &s, 8);
    mmx_write(cpu, insn->reg, d.u64[0]);
}

struct int_op {
    simd_fn fn;
    bool xmm_only;
};

static const struct int_op int_ops[256] = {
    [0x60] = { punpcklbw }, [0x61] = { punpcklwd }, [0x62] = { punpckldq },
    [0x63] = { packsswb }, [0x64] = { pcmpgtb }, [0x65] = { pcmpgtw }, [0x66] = { pcmpgtd },
    [0x67] = { packuswb }, [0x68] = { punpckhbw }, [0x69] = { punpckhwd },
    [0x6a] = { punpckhdq }, [0x6b] = { packssdw },
    [0x6c] = { punpcklqdq, true }, [0x6d] = { punpckhqdq, true },
    [0x74] = { pcmpeqb }, [0x75] = { pcmpeqw }, [0x76] = { pcmpeqd },
    [0xd1] = { psrlw }, [0xd2] = { psrld }, [0xd3] = { psrlq }, [0xd4] = { paddq },
    [0xd5] = { pmullw }, [0xd8] = { psubusb }, [0xd9] = { psubusw }, [0xda] = { pminub },
    [0xdb] = { pand }, [0xdc] = { paddusb }, [0xdd] = { paddusw }, [0xde] = { pmaxub },
    [0xdf] = { pandn },
    [0xe0] = { pavgb }, [0xe1] = { psraw }, [0xe2] = { psrad }, [0xe3] = { pavgw },
    [0xe4] = { pmulhuw }, [0xe5] = { pmulhw }, [0xe8] = { psubsb }, [0xe9] = { psubsw },
    [0xea] = { pminsw }, [0xeb] = { por }, [0xec] = { paddsb }, [0xed] = { paddsw },
    [0xee] = { pmaxsw }, [0xef] = { pxor },
    [0xf1] = { psllw }, [0xf2] = { pslld }, [0xf3] = { psllq }, [0xf4] = { pmuludq },
    [0xf5] = { pmaddwd }, [0xf6] = { psadbw }, [0xf8] = { psubb }, [0xf9] = { psubw },
    [0xfa] = { psubd }, [0xfb] = { psubq }, [0xfc] = { paddb }, [0xfd] = { paddw },
    [0xfe] = { paddd },
};

/** The 0F xx integer SIMD ops of the table above. */
static void op_int(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned op = insn->op & 0xff;
    const struct int_op *o = &int_ops[op];
    if (op <= 0x62 && insn->mprefix == X86_PFX_NONE && (insn->flags & X86_INSN_MEM)) {
        /* MMX PUNPCKLBW/WD/DQ mm, mm/m32: the memory operand is 32 bits
         * (SDM Vol. 2B PUNPCKLBW...), so only those 4 bytes are read. */
        mmx_check(cpu);
        union x86_xmm s = { .u64 = { x86_mem_read(cpu, insn, 4), 0 } };
        union x86_xmm d = { .u64 = { mmx_reg(cpu, insn->reg), 0 } };
        mmx_enter(cpu);
        o->fn(&d, &s, 8);
        mmx_write(cpu, insn->reg, d.u64[0]);
        return;
    }
    sse_int_exec(cpu, insn, o->fn, o->xmm_only);
}

/**
 * 0F 71/72/73: shift by immediate groups (SDM Vol. 2 PSRLW/PSRAW/PSLLW,
 * PSRLDQ/PSLLDQ): only mod = 3; ModRM.rm is the destination.
 */
static void op_shift_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static const int8_t kind[3][8] = {
        /* 71 */ { -1, -1, 0, -1, 1, -1, 2, -1 },
        /* 72 */ { -1, -1, 0, -1, 1, -1, 2, -1 },
        /* 73 */ { -1, -1, 0, 3, -1, -1, 2, 4 },
    };
    unsigned grp = (insn->op & 0xff) - 0x71, digit = x86_modrm_digit(insn);
    int k = kind[grp][digit];
    bool xmm = insn->mprefix == X86_PFX_66;
    if ((insn->flags & X86_INSN_MEM) || k < 0 || (!xmm && insn->mprefix != X86_PFX_NONE) ||
        (k >= 3 && !xmm)) {
        x86_op_ud(cpu, insn);
        return;
    }
    unsigned count = (uint8_t)insn->imm;
    union x86_xmm d;
    if (xmm) {
        sse_check(cpu);
        d = cpu->xmm[insn->rm & 15];
    } else {
        mmx_enter(cpu);
        d = (union x86_xmm){ .u64 = { mmx_reg(cpu, insn->rm), 0 } };
    }
    unsigned n = xmm ? 16 : 8;
    if (k == 3 || k == 4) {                     /* PSRLDQ / PSLLDQ: bytes */
        union x86_xmm r = { .u64 = { 0, 0 } };
        if (count < 16) {
            for (unsigned i = 0; i < 16; i++) {
                int src = k == 3 ? (int)(i + count) : (int)i - (int)count;
                if (src >= 0 && src < 16)
                    r.u8[i] = d.u8[src];
            }
        }
        d = r;
    } else {
        shift_lanes(&d, n, grp == 0 ? 2 : grp == 1 ? 4 : 8, k, count);
    }
    if (xmm)
        cpu->xmm[insn->rm & 15] = d;
    else
        mmx_write(cpu, insn->rm, d.u64[0]);
}

/** 0F 70: PSHUFW (none), PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2) with imm8. */
static void op_pshuf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned imm = (uint8_t)insn->imm;
    union x86_xmm s, r;
    if (insn->mprefix == X86_PFX_NONE) {
        mmx_check(cpu);
        s.u64[0] = mmx_read_rm(cpu, insn);
        mmx_enter(cpu);
        for (unsigned i = 0; i < 4; i++)
            r.u16[i] = s.u16[(imm >> (2 * i)) & 3];
        mmx_write(cpu, insn->reg, r.u64[0]);
        return;
    }
    sse_check(cpu);
    sse_read_rm(cpu, insn, &s, 16, true);
    r = s;
    switch (insn->mprefix) {
    case X86_PFX_66:
        for (unsigned i = 0; i < 4; i++)
            r.u32[i] = s.u32[(imm >> (2 * i)) & 3];
        break;
    case X86_PFX_F3:
        for (unsigned i = 0; i < 4; i++)
            r.u16[4 + i] = s.u16[4 + ((imm >> (2 * i)) & 3)];
        break;
    default:
        for (unsigned i = 0; i < 4; i++)
            r.u16[i] = s.u16[(imm >> (2 * i)) & 3];
        break;
    }
    cpu->xmm[insn->reg & 15] = r;
}

simd_fn sse_int_lane_fn(uint8_t opcode)
{
    return int_ops[opcode].fn;
}

void sse_shift_lanes(union x86_xmm *d, unsigned elem, int kind, uint64_t count)
{
    shift_lanes(d, 16, elem, kind, count);
}

void x86_ops_sse_int_init(x86_exec_fn *table)
{
    for (unsigned b = 0; b < 256; b++)
        if (int_ops[b].fn)
            table[X86_OP(X86_MAP_0F, b)] = op_int;
    table[X86_OP(X86_MAP_0F, 0x70)] = op_pshuf;
    table[X86_OP(X86_MAP_0F, 0x71)] = op_shift_imm;
    table[X86_OP(X86_MAP_0F, 0x72)] = op_shift_imm;
    table[X86_OP(X86_MAP_0F, 0x73)] = op_shift_imm;
}
