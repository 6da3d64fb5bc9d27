/*
 * cpu/x86/decode.c - the x86 instruction decoder (see decode.h for the contract).
 *
 * Follows the Intel SDM Vol. 2A chapter 2 (instruction format):
 *   2.1.1  legacy prefixes (any order, repeated; the last of a group wins),
 *   2.1.5  ModRM/SIB (Tables 2-1 16-bit, 2-2 32-bit, 2-3 SIB),
 *   2.2.1  REX (only when it immediately precedes the opcode or escape),
 *   2.2.1.6 RIP-relative addressing, 2.2.1.2 / 2.2.1.5 operand size in 64-bit
 *          mode (REX.W beats 66; d64/f64 opcodes),
 *   2.3    VEX (C4/C5; in 16/32-bit mode only when the next byte has mod = 11b),
 *   2.3.11 the 15-byte limit (#GP(0)).
 * and Vol. 2D Appendix A for the opcode maps (decode_tables.inc).
 *
 * Decisions where the SDM leaves room or where Intel and AMD differ (we
 * follow Intel throughout):
 *  - near Jcc/JMP/CALL/RET/LOOP/JrCXZ are f64: a 66 prefix in 64-bit mode is
 *    ignored (Jz is rel32);
 *  - AMD-only encodings (3DNow! 0F 0F, FEMMS, SSE4a 66/F2 0F 78/79, XOP 8F
 *    /1-7) and SALC (D6) are UD;
 *  - in 64-bit mode ES/CS/SS/DS overrides are ignored (SDM Vol. 1 3.3.7.1):
 *    seg keeps its default and X86_INSN_SEGOVR is not set; FS/GS work;
 *  - LOCK is checked here (SDM Vol. 2A "LOCK": listed read-modify-write
 *    instructions with a memory destination only; else UD);
 *  - only a few validity checks that depend on ModRM are done here (memory-only
 *    operands with mod = 11b, undefined group /digits); everything else about
 *    validity (CPL, CR4 bits, CPUID features, x87 reserved forms, mandatory-prefix
 *    combinations) is the interpreter's job, which raises #UD for opcodes it
 *    does not implement.
 */
#include <string.h>

#include "cpu/x86/decode.h"
#include "util/compiler.h"

/* Attribute bits of one opcode-map entry (decode_tables.inc). */
enum dec_attr {
    IMM_NONE = 0,
    IMM_B = 1,        /* Ib / Jb: 1 byte, sign-extended */
    IMM_BZ = 2,       /* Ib zero-extended (IN/OUT port, INT n, AAM/AAD base) */
    IMM_WZ = 3,       /* Iw zero-extended (RET Iw, far RET Iw) */
    IMM_Z = 4,        /* Iz / Jz: 2 bytes if opsize 2, else 4; sign-extended */
    IMM_V = 5,        /* Iv: opsize bytes (MOV r,imm64 with REX.W) */
    IMM_WB = 6,       /* ENTER Iw,Ib: imm = Iw zero-extended, imm2 = Ib */
    IMM_AP = 7,       /* Ap: offset (opsize 2 or 4) + 16-bit selector */
    IMM_O = 8,        /* Ob/Ov moffs: addrsize bytes, zero-extended */
    IMM_MASK = 0xf,

    A_MODRM = 1u << 4,   /* has a ModRM byte */
    A_BYTE = 1u << 5,    /* operand size 8 bits (b) */
    A_D64 = 1u << 6,     /* d64: default 64-bit operand size in 64-bit mode */
    A_F64 = 1u << 7,     /* f64: forced 64-bit operand size in 64-bit mode */
    A_I64 = 1u << 8,     /* i64: invalid in 64-bit mode */
    A_UD = 1u << 9,      /* undefined */
    A_BR = 1u << 10,     /* control transfer (X86_INSN_BRANCH) */
    A_END = 1u << 11,    /* must end the block (X86_INSN_ENDS_BLOCK) */
    A_REGOP = 1u << 12,  /* register in opcode bits 2:0 (+r) */
    A_MODREG = 1u << 13, /* ModRM.mod ignored: always register form (MOV CR/DR) */
    A_VEXOK = 1u << 14,  /* 0F-map opcode that has a VEX form */
    A_PFX = 1u << 15,    /* prefix or escape byte (never a final opcode) */
    A_OK = 1u << 16,     /* defined, no other attribute */
    A_O64 = 1u << 17,    /* o64: valid only in 64-bit mode (SYSCALL/SYSRET on Intel) */
};

#include "cpu/x86/decode_tables.inc"

/** The x86 architectural maximum instruction length (SDM Vol. 2A 2.3.11). */
#define X86_MAX_INSN_LEN 15

/** Decoder cursor: bytes, how many are readable, the current position. */
struct dec_cursor {
    const uint8_t *bytes;
    size_t avail;
    size_t pos;
};

/*
 * Make sure @n more bytes can be read at the cursor. Returns 0, or the
 * error: X86_DECODE_GP when the instruction would exceed 15 bytes (whatever
 * @avail is), X86_DECODE_SHORT when the bytes are simply not there yet.
 */
static forceinline int need(const struct dec_cursor *c, size_t n)
{
    if (unlikely(c->pos + n > X86_MAX_INSN_LEN))
        return X86_DECODE_GP;
    if (unlikely(c->pos + n > c->avail))
        return X86_DECODE_SHORT;
    return 0;
}

/* Little-endian load of @n (1, 2, 4, 8) bytes at the cursor; caller checked need(). */
static uint64_t load_le(struct dec_cursor *c, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
    c->pos += n;
    return v;
}

/* Sign-extend the low @n bytes of @v to 64 bits. */
static uint64_t sext(uint64_t v, unsigned n)
{
    unsigned sh = 64 - 8 * n;
    return n >= 8 ? v : (uint64_t)((int64_t)(v << sh) >> sh);
}

/*
 * Decode ModRM (+SIB, +displacement) into @out. @rex_b/@rex_x/@rex_r are the
 * REX (or VEX) extension bits. SDM Vol. 2A Tables 2-1 (16-bit), 2-2/2-3
 * (32/64-bit), 2.2.1.6 (RIP-relative). @seg_ovr is the effective segment
 * override or -1. Returns 0 or an error.
 */
static int decode_modrm(struct dec_cursor *c, enum x86_code_mode mode, uint32_t attr,
                        int seg_ovr, struct x86_insn *out)
{
    int err = need(c, 1);
    if (err)
        return err;
    uint8_t modrm = c->bytes[c->pos++];
    unsigned rex = out->rex;
    unsigned mod = modrm >> 6, rm = modrm & 7;

    out->flags |= X86_INSN_MODRM;
    out->modrm = modrm;
    out->reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) << 1));
    out->rm = (uint8_t)(rm | ((rex & 1) << 3));

    if (mod == 3 || (attr & A_MODREG))
        return 0;

    out->flags |= X86_INSN_MEM;
    uint8_t dflt = X86_DS;
    unsigned disp_size = 0;

    if (out->addrsize == 2) {
        /* SDM Table 2-1: 16-bit addressing forms. */
        static const uint8_t base16[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
                                           X86_RSI, X86_RDI, X86_RBP, X86_RBX };
        static const uint8_t index16[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
                                            X86_REG_NONE, X86_REG_NONE,
                                            X86_REG_NONE, X86_REG_NONE };
        out->base = base16[rm];
        out->index = index16[rm];
        out->scale = 0;
        if (mod == 0 && rm == 6) {
            out->base = X86_REG_NONE;
            disp_size = 2;
        } else {
            disp_size = mod == 1 ? 1 : mod == 2 ? 2 : 0;
        }
        if (out->base == X86_RBP)
            dflt = X86_SS;
    } else {
        /* SDM Tables 2-2 and 2-3: 32/64-bit addressing forms. */
        out->scale = 0;
        out->index = X86_REG_NONE;
        if (rm == 4) {
            err = need(c, 1);
            if (err)
                return err;
            uint8_t sib = c->bytes[c->pos++];
            unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
            unsigned b = sib & 7;
            out->scale = sib >> 6;
            out->index = idx == 4 ? X86_REG_NONE : (uint8_t)idx;
            if (b == 5 && mod == 0) {
                out->base = X86_REG_NONE;
                disp_size = 4;
            } else {
                out->base = (uint8_t)(b | ((rex & 1) << 3));
            }
        } else if (rm == 5 && mod == 0) {
            out->base = mode == X86_MODE_64 ? X86_REG_RIP : X86_REG_NONE;
            disp_size = 4;
        } else {
            out->base = (uint8_t)(rm | ((rex & 1) << 3));
        }
        if (mod == 1)
            disp_size = 1;
        else if (mod == 2)
            disp_size = 4;
        if (out->base == X86_RSP || out->base == X86_RBP)
            dflt = X86_SS;
    }

    if (disp_size) {
        err = need(c, disp_size);
        if (err)
            return err;
        out->disp = (int32_t)sext(load_le(c, disp_size), disp_size);
    }
    out->seg = seg_ovr >= 0 ? (uint8_t)seg_ovr : dflt;
    return 0;
}

/*
 * Per-/digit adjustments of group opcodes (SDM Vol. 2D Table A-6) once the
 * ModRM byte is known, plus the memory-only operand checks (mod = 11b is UD
 * for LEA, LES/LDS/LSS/LFS/LGS, BOUND, far indirect CALL/JMP). Returns the
 * updated attribute, or A_UD.
 */
static uint32_t group_attr(uint16_t op, uint32_t attr, uint8_t modrm, enum x86_code_mode mode)
{
    unsigned digit = (modrm >> 3) & 7, mod = modrm >> 6;

    switch (op) {
    case X86_OP(X86_MAP_PRIMARY, 0x8f):      /* Grp 1A: only POP Ev (XOP is AMD) */
        return digit == 0 ? attr : A_UD;
    case X86_OP(X86_MAP_PRIMARY, 0xc6):      /* Grp 11: MOV Eb,Ib / XABORT Ib */
        return digit == 0 || modrm == 0xf8 ? attr : A_UD;
    case X86_OP(X86_MAP_PRIMARY, 0xc7):      /* Grp 11: MOV Ev,Iz / XBEGIN Jz */
        if (modrm == 0xf8)
            return attr | A_BR;
        return digit == 0 ? attr : A_UD;
    case X86_OP(X86_MAP_PRIMARY, 0xf6):      /* Grp 3: TEST Eb,Ib for /0 /1 */
        return digit < 2 ? attr | IMM_B : attr;
    case X86_OP(X86_MAP_PRIMARY, 0xf7):      /* Grp 3: TEST Ev,Iz for /0 /1 */
        return digit < 2 ? attr | IMM_Z : attr;
    case X86_OP(X86_MAP_PRIMARY, 0xfe):      /* Grp 4: INC/DEC Eb only */
        return digit < 2 ? attr : A_UD;
    case X86_OP(X86_MAP_PRIMARY, 0xff):      /* Grp 5 */
        switch (digit) {
        case 0: case 1: return attr;                        /* INC/DEC Ev */
        case 2: case 4: return attr | A_F64 | A_BR;         /* near CALL/JMP Ev f64 */
        case 3: case 5: return mod == 3 ? A_UD : attr | A_BR; /* far CALL/JMP Mp */
        case 6: return attr | A_D64;                        /* PUSH Ev d64 */
        default: return A_UD;
        }
    case X86_OP(X86_MAP_PRIMARY, 0x8d):      /* LEA Gv,M */
    case X86_OP(X86_MAP_PRIMARY, 0xc4):      /* LES (non-VEX here) */
    case X86_OP(X86_MAP_PRIMARY, 0xc5):      /* LDS */
    case X86_OP(X86_MAP_0F, 0xb2):           /* LSS */
    case X86_OP(X86_MAP_0F, 0xb4):           /* LFS */
    case X86_OP(X86_MAP_0F, 0xb5):           /* LGS */
        return mod == 3 ? A_UD : attr;
    case X86_OP(X86_MAP_PRIMARY, 0x62):      /* BOUND: mod=11b would be EVEX (unsupported) */
        return mod == 3 ? A_UD : attr;
    case X86_OP(X86_MAP_PRIMARY, 0x8c):      /* MOV Ev,Sw: Sreg 6/7 are reserved */
        return digit > 5 ? A_UD : attr;
    case X86_OP(X86_MAP_PRIMARY, 0x8e):      /* MOV Sw,Ew: CS and 6/7 not allowed */
        return digit > 5 || digit == X86_CS ? A_UD : attr;
    case X86_OP(X86_MAP_0F, 0x00):           /* Grp 6: /6 /7 undefined */
        return digit > 5 ? A_UD : attr;
    case X86_OP(X86_MAP_0F, 0xba):           /* Grp 8: only BT BTS BTR BTC */
        return digit < 4 ? A_UD : attr;
    default:
        (void)mode;
        return attr;
    }
}

/*
 * May @op (with ModRM already decoded into @insn) carry a LOCK prefix? SDM
 * Vol. 2A "LOCK": only ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B/16B DEC INC
 * NEG NOT OR SBB SUB XOR XADD XCHG, and only with a memory destination;
 * anything else is #UD.
 */
static bool lock_allowed(const struct x86_insn *insn)
{
    unsigned digit = (insn->modrm >> 3) & 7;

    if (!(insn->flags & X86_INSN_MEM))
        return false;
    switch (insn->op) {
    case 0x00: case 0x01: case 0x08: case 0x09: case 0x10: case 0x11: case 0x18: case 0x19:
    case 0x20: case 0x21: case 0x28: case 0x29: case 0x30: case 0x31:   /* ALU Eb,Gb / Ev,Gv */
    case 0x86: case 0x87:                                               /* XCHG */
        return true;
    case 0x80: case 0x81: case 0x82: case 0x83:                         /* Grp 1 except CMP */
        return digit != 7;
    case 0xf6: case 0xf7:                                               /* Grp 3 NOT NEG */
        return digit == 2 || digit == 3;
    case 0xfe: case 0xff:                                               /* Grp 4/5 INC DEC */
        return digit < 2;
    case X86_OP(X86_MAP_0F, 0xab): case X86_OP(X86_MAP_0F, 0xb3):       /* BTS BTR */
    case X86_OP(X86_MAP_0F, 0xbb):                                      /* BTC */
    case X86_OP(X86_MAP_0F, 0xb0): case X86_OP(X86_MAP_0F, 0xb1):       /* CMPXCHG */
    case X86_OP(X86_MAP_0F, 0xc0): case X86_OP(X86_MAP_0F, 0xc1):       /* XADD */
        return true;
    case X86_OP(X86_MAP_0F, 0xba):                                      /* Grp 8 BTS BTR BTC */
        return digit >= 5;
    case X86_OP(X86_MAP_0F, 0xc7):                                      /* Grp 9 CMPXCHG8B/16B */
        return digit == 1;
    default:
        return false;
    }
}

/*
 * Parse a VEX prefix at the cursor (SDM Vol. 2A 2.3.5-2.3.6): @b0 is C4 or
 * C5, already checked to be VEX (not LES/LDS). Fills map, mprefix, vex_v,
 * vex_l and out->rex (0x40 | W R X B). Returns the map or an error.
 */
static int decode_vex(struct dec_cursor *c, uint8_t b0, enum x86_code_mode mode,
                      struct x86_insn *out)
{
    unsigned r, x = 0, b = 0, w = 0, vvvv, l, pp, map;
    int err = need(c, b0 == 0xc5 ? 2 : 3);
    if (err)
        return err;
    uint8_t p1 = c->bytes[c->pos + 1];
    r = !(p1 & 0x80);
    if (b0 == 0xc5) {
        vvvv = (~p1 >> 3) & 15;
        l = (p1 >> 2) & 1;
        pp = p1 & 3;
        map = X86_MAP_0F;
        c->pos += 2;
    } else {
        uint8_t p2 = c->bytes[c->pos + 2];
        x = !(p1 & 0x40);
        b = !(p1 & 0x20);
        map = p1 & 0x1f;
        w = p2 >> 7;
        vvvv = (~p2 >> 3) & 15;
        l = (p2 >> 2) & 1;
        pp = p2 & 3;
        c->pos += 3;
        if (map < X86_MAP_0F || map > X86_MAP_0F3A)
            return X86_DECODE_UD;
    }
    if (mode != X86_MODE_64) {
        /* Outside 64-bit mode R/X are 1 by the mod=11b test; B and vvvv[3] are ignored. */
        r = x = b = 0;
        vvvv &= 7;
    }
    out->flags |= X86_INSN_VEX;
    out->rex = (uint8_t)(0x40 | w << 3 | r << 2 | x << 1 | b);
    out->vex_v = (uint8_t)vvvv;
    out->vex_l = (uint8_t)l;
    /* pp: 00 none, 01 66, 10 F3, 11 F2 - the same order as enum x86_mprefix. */
    out->mprefix = (uint8_t)pp;
    return (int)map;
}

/* Look up the attribute of @byte in @map (legacy or VEX encoding). */
static uint32_t map_attr(unsigned map, uint8_t byte, bool vex)
{
    switch (map) {
    case X86_MAP_PRIMARY:
        return attr_primary[byte];
    case X86_MAP_0F: {
        uint32_t a = attr_0f[byte];
        if (vex)
            return (a & A_VEXOK) ? a : A_UD;
        return a;
    }
    case X86_MAP_0F38:
        if (vex)
            return A_MODRM;
        return attr_0f38[byte];
    case X86_MAP_0F3A:
        if (vex)
            return A_MODRM | IMM_B;
        return attr_0f3a[byte];
    default:
        return A_UD;
    }
}

int x86_decode(const uint8_t *bytes, size_t avail, enum x86_code_mode mode, struct x86_insn *out)
{
    struct dec_cursor c = { bytes, avail, 0 };
    int seg_ovr = -1;
    bool has66 = false, has67 = false, lock = false;
    uint8_t last_rep = 0;   /* 0, 0xF2 or 0xF3 */
    uint8_t rex = 0;
    int err;

    memset(out, 0, sizeof(*out));
    out->base = X86_REG_NONE;
    out->index = X86_REG_NONE;
    if (mode > X86_MODE_64)
        return X86_DECODE_UD;

    /* Legacy prefixes and REX (SDM Vol. 2A 2.1.1, 2.2.1). */
    uint8_t b;
    for (;;) {
        err = need(&c, 1);
        if (err)
            return err;
        b = bytes[c.pos];
        if (mode == X86_MODE_64 && (b & 0xf0) == 0x40) {
            rex = b;           /* counts only if the opcode follows directly */
            c.pos++;
            continue;
        }
        switch (b) {
        case 0x26: case 0x2e: case 0x36: case 0x3e:
            /* ES CS SS DS: null prefixes in 64-bit mode (SDM Vol. 1 3.3.7.1) */
            if (mode != X86_MODE_64)
                seg_ovr = (b >> 3) & 3;
            break;
        case 0x64: seg_ovr = X86_FS; break;
        case 0x65: seg_ovr = X86_GS; break;
        case 0x66: has66 = true; break;
        case 0x67: has67 = true; break;
        case 0xf0: lock = true; break;
        case 0xf2: case 0xf3: last_rep = b; break;
        default:
            goto prefixes_done;
        }
        rex = 0;               /* a REX followed by a legacy prefix is ignored */
        c.pos++;
    }
prefixes_done:;

    /* Address size: mode default, 67 toggles (SDM Vol. 2A Table 2-4 / Vol. 1 3.6). */
    static const uint8_t asz[3][2] = { { 2, 4 }, { 4, 2 }, { 8, 4 } };
    out->addrsize = asz[mode][has67];
    out->seg = seg_ovr >= 0 ? (uint8_t)seg_ovr : X86_DS;
    if (has66) out->flags |= X86_INSN_OPSIZE;
    if (has67) out->flags |= X86_INSN_ADSIZE;
    if (seg_ovr >= 0) out->flags |= X86_INSN_SEGOVR;
    if (lock) out->flags |= X86_INSN_LOCK;
    if (last_rep == 0xf3) out->flags |= X86_INSN_REP;
    if (last_rep == 0xf2) out->flags |= X86_INSN_REPNE;
    out->mprefix = last_rep == 0xf3 ? X86_PFX_F3 : last_rep == 0xf2 ? X86_PFX_F2
                 : has66 ? X86_PFX_66 : X86_PFX_NONE;
    if (rex) {
        out->rex = rex;
        out->flags |= X86_INSN_REX;
    }

    /* Opcode: escapes 0F / 0F 38 / 0F 3A, or VEX. */
    unsigned map = X86_MAP_PRIMARY;
    bool vex = false;
    c.pos++;                   /* b is the first opcode byte (checked by need above) */
    if (b == 0x0f) {
        err = need(&c, 1);
        if (err)
            return err;
        b = bytes[c.pos++];
        map = X86_MAP_0F;
        if (b == 0x38 || b == 0x3a) {
            map = b == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
            err = need(&c, 1);
            if (err)
                return err;
            b = bytes[c.pos++];
        }
    } else if (b == 0xc4 || b == 0xc5) {
        if (mode == X86_MODE_64) {
            vex = true;
        } else {
            err = need(&c, 1);
            if (err)
                return err;
            vex = bytes[c.pos] >= 0xc0;
        }
        if (vex) {
            /* SDM 2.3.2: 66/F2/F3/LOCK/REX before VEX are #UD. */
            if (has66 || last_rep || lock || rex)
                return X86_DECODE_UD;
            c.pos--;           /* decode_vex reads from the C4/C5 byte */
            int m = decode_vex(&c, b, mode, out);
            if (m < 0)
                return m;
            map = (unsigned)m;
            err = need(&c, 1);
            if (err)
                return err;
            b = bytes[c.pos++];
            rex = out->rex;
        }
    }
    out->op = X86_OP(map, b);

    uint32_t attr = map_attr(map, b, vex);
    if (attr == 0 || (attr & (A_UD | A_PFX)))
        return X86_DECODE_UD;
    if (mode == X86_MODE_64 ? (attr & A_I64) : (attr & A_O64))
        return X86_DECODE_UD;
    /* 0F 78/79 are VMREAD/VMWRITE only without 66/F2/F3 (those are AMD SSE4a). */
    if (!vex && (out->op == X86_OP(X86_MAP_0F, 0x78) || out->op == X86_OP(X86_MAP_0F, 0x79)) &&
        out->mprefix != X86_PFX_NONE)
        return X86_DECODE_UD;

    /* ModRM (+SIB, displacement) and per-/digit group attributes. */
    if (attr & A_MODRM) {
        err = decode_modrm(&c, mode, attr, seg_ovr, out);
        if (err)
            return err;
        attr = group_attr(out->op, attr, out->modrm, mode);
        if (attr & A_UD)
            return X86_DECODE_UD;
    } else if (attr & A_REGOP) {
        out->rm = (uint8_t)((b & 7) | ((rex & 1) << 3));
    }
    if (lock && !lock_allowed(out))
        return X86_DECODE_UD;

    /* Operand size (SDM Vol. 1 3.6, Vol. 2A 2.2.1.2; Appendix A d64/f64). */
    unsigned opsize;
    if (attr & A_BYTE) {
        opsize = 1;
        out->flags |= X86_INSN_BYTEOP;
    } else if (mode == X86_MODE_64) {
        if (attr & A_F64)
            opsize = 8;
        else if (rex & 8)
            opsize = 8;
        else if (attr & A_D64)
            opsize = has66 ? 2 : 8;
        else
            opsize = has66 ? 2 : 4;
    } else if (mode == X86_MODE_32) {
        opsize = has66 ? 2 : 4;
    } else {
        opsize = has66 ? 4 : 2;
    }
    out->opsize = (uint8_t)opsize;

    /* Immediates (see the rule in decode.h). */
    unsigned n;
    switch (attr & IMM_MASK) {
    case IMM_B:
    case IMM_BZ:
        if ((err = need(&c, 1)))
            return err;
        out->imm_size = 1;
        out->imm = load_le(&c, 1);
        if ((attr & IMM_MASK) == IMM_B)
            out->imm = sext(out->imm, 1);
        break;
    case IMM_WZ:
        if ((err = need(&c, 2)))
            return err;
        out->imm_size = 2;
        out->imm = load_le(&c, 2);
        break;
    case IMM_Z:
        n = opsize == 2 ? 2 : 4;
        if ((err = need(&c, n)))
            return err;
        out->imm_size = (uint8_t)n;
        out->imm = sext(load_le(&c, n), n);
        break;
    case IMM_V:
        n = opsize;
        if ((err = need(&c, n)))
            return err;
        out->imm_size = (uint8_t)n;
        out->imm = sext(load_le(&c, n), n);
        break;
    case IMM_WB:
        if ((err = need(&c, 3)))
            return err;
        out->imm_size = 2;
        out->imm = load_le(&c, 2);
        out->imm2 = (uint16_t)load_le(&c, 1);
        break;
    case IMM_AP:
        n = opsize == 2 ? 2 : 4;
        if ((err = need(&c, n + 2)))
            return err;
        out->imm_size = (uint8_t)n;
        out->imm = load_le(&c, n);
        out->imm2 = (uint16_t)load_le(&c, 2);
        break;
    case IMM_O:
        n = out->addrsize;
        if ((err = need(&c, n)))
            return err;
        out->imm_size = (uint8_t)n;
        out->imm = load_le(&c, n);
        break;
    default:
        break;
    }

    if (attr & A_BR)
        out->flags |= X86_INSN_BRANCH;
    if (attr & A_END)
        out->flags |= X86_INSN_ENDS_BLOCK;
    out->len = (uint8_t)c.pos;
    return (int)c.pos;
}
