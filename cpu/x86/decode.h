/*
 * cpu/x86/decode.h - the x86 instruction decoder (private to cpu/, consumed by
 * the interpreter, later the JIT translator, and the debugger's length logic).
 *
 * Owns: prefix/REX/VEX parsing, the opcode maps (SDM Vol. 2 Appendix A, one
 * table per map in the manual's notation), ModRM/SIB/displacement decoding
 * (SDM Vol. 2A 2.1-2.2, Tables 2-1..2-3 for 16-bit and 32/64-bit forms),
 * immediates, and the compact descriptor struct x86_insn below.
 *
 * The decoder never reads past @avail bytes and never crashes on any input:
 * invalid encodings return X86_DECODE_UD (the caller raises #UD), an
 * instruction longer than 15 bytes returns X86_DECODE_GP (#GP(0), SDM Vol. 2A
 * 2.3.11), and too few bytes returns X86_DECODE_SHORT.
 *
 * Validity checked here: undefined opcode-map cells, i64/o64 opcodes,
 * undefined group /digits, memory-only operands with mod = 11b, MOV to CS,
 * LOCK on anything but a listed read-modify-write instruction with a memory
 * destination, 66/F2/F3/REX/LOCK before VEX. Everything else (CPL, CR/CPUID
 * features, mandatory-prefix combinations of SSE opcodes, x87 reserved forms)
 * is the interpreter's job; such encodings still decode with their correct
 * length.
 *
 * Operand semantics are the interpreter's business: the decoder only says
 * where operands are (ModRM reg/rm, memory operand parts, immediates) and
 * their effective sizes.
 */
#ifndef QTEMU_CPU_X86_DECODE_H
#define QTEMU_CPU_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Default code size: CS.D / CS.L (SDM Vol. 3A 3.4.5). */
enum x86_code_mode {
    X86_MODE_16 = 0,   /* real mode, vm86, 16-bit protected code segment */
    X86_MODE_32 = 1,   /* 32-bit protected or compatibility mode, CS.D=1 */
    X86_MODE_64 = 2,   /* 64-bit mode, CS.L=1 in IA-32e mode */
};

/* Opcode maps: insn.op = map << 8 | opcode byte. */
enum x86_opmap {
    X86_MAP_PRIMARY = 0,   /* one-byte opcodes */
    X86_MAP_0F = 1,        /* 0F xx */
    X86_MAP_0F38 = 2,      /* 0F 38 xx */
    X86_MAP_0F3A = 3,      /* 0F 3A xx */
    X86_MAP_COUNT = 4,
};
#define X86_OP(map, byte) ((uint16_t)(((map) << 8) | (byte)))
#define X86_OP_COUNT      (X86_MAP_COUNT * 256)

/* Register numbers (ModRM order, extended by REX). */
enum x86_gpr {
    X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
    X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};
#define X86_REG_NONE 0xff     /* no base / no index */
#define X86_REG_RIP  0xfe     /* RIP-relative base (64-bit mode, mod=00 rm=101) */

/* Segment registers (Sreg encoding, SDM Vol. 2A 3.1.1.1). */
enum x86_sreg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, X86_SREG_COUNT };

/* insn.flags */
#define X86_INSN_MODRM      0x0001u  /* has a ModRM byte */
#define X86_INSN_MEM        0x0002u  /* ModRM.mod != 3: rm is a memory operand */
#define X86_INSN_LOCK       0x0004u  /* F0 */
#define X86_INSN_REP        0x0008u  /* F3 (REP/REPE) */
#define X86_INSN_REPNE      0x0010u  /* F2 */
#define X86_INSN_OPSIZE     0x0020u  /* 66 present */
#define X86_INSN_ADSIZE     0x0040u  /* 67 present */
#define X86_INSN_SEGOVR     0x0080u  /* a segment override prefix is present */
#define X86_INSN_REX        0x0100u  /* a REX prefix is present (byte regs: SPL.. not AH..) */
#define X86_INSN_VEX        0x0200u  /* VEX-encoded (vvvv in insn.vex_v, L in vex_l) */
#define X86_INSN_BRANCH     0x0400u  /* may change RIP other than falling through: ends a block */
#define X86_INSN_ENDS_BLOCK 0x0800u  /* must end a block (mode/CR/flag-changing, serialising, HLT) */
#define X86_INSN_BYTEOP     0x1000u  /* operand size is 8 bits (opsize already says 1) */

/* Mandatory-prefix class for the 0F maps (SSE): which of 66/F3/F2 came last. */
enum x86_mprefix { X86_PFX_NONE = 0, X86_PFX_66 = 1, X86_PFX_F3 = 2, X86_PFX_F2 = 3 };

/**
 * One decoded instruction: the compact descriptor every consumer uses.
 * Sizes are in bytes. For memory operands the effective address is
 *   base + (index << scale) + disp   (base = X86_REG_RIP: next RIP + disp)
 * truncated to addrsize, in segment @seg.
 */
struct x86_insn {
    uint16_t op;          /* X86_OP(map, opcode byte) */
    uint16_t flags;       /* X86_INSN_* */
    uint8_t len;          /* total length, 1..15 */
    uint8_t opsize;       /* effective operand size: 1, 2, 4 or 8 */
    uint8_t addrsize;     /* effective address size: 2, 4 or 8 */
    uint8_t mprefix;      /* enum x86_mprefix */
    uint8_t modrm;        /* raw ModRM byte (if X86_INSN_MODRM) */
    uint8_t reg;          /* ModRM.reg + REX.R*8 (0..15); for group opcodes reg&7 is /digit */
    uint8_t rm;           /* ModRM.rm + REX.B*8 when mod == 3; or opcode-embedded register (+rb/+rw/+rd/+ro with REX.B) */
    uint8_t seg;          /* effective segment of the memory operand (enum x86_sreg) */
    uint8_t base;         /* X86_REG_NONE, X86_REG_RIP or 0..15 */
    uint8_t index;        /* X86_REG_NONE or 0..15 (never RSP) */
    uint8_t scale;        /* shift count 0..3 */
    uint8_t rex;          /* raw REX byte (0x40..0x4F) or 0 */
    uint8_t vex_v;        /* VEX.vvvv (inverted back to a register number) */
    uint8_t vex_l;        /* VEX.L */
    uint8_t imm_size;     /* bytes of the first immediate as encoded (0 if none) */
    uint8_t pad;
    int32_t disp;         /* displacement, sign-extended */
    uint64_t imm;         /* first immediate: see "Immediate rule" below */
    uint16_t imm2;        /* ENTER's Ib, or far pointer selector (EA/9A in 16/32-bit) */
};

/*
 * Immediate rule (what x86_decode() leaves in insn.imm / imm2 / imm_size):
 *  - every immediate is sign-extended from its encoded size (imm_size bytes)
 *    to 64 bits: Ib (incl. 83 /digit, 6A, 6B, C0/C1, 0F-map Ib such as
 *    PSHUFD/SHLD/BT Ib, all 0F 3A Ib), Iz (2 bytes at opsize 2, else 4;
 *    sign-extended to 64 for opsize 8), Iv of B8+r (opsize bytes; a full
 *    imm64 with REX.W), and relative branch displacements Jb/Jz;
 *  - zero-extended instead: Iw of RET/far RET (C2/CA); ENTER (C8): imm = Iw,
 *    imm2 = Ib; moffs of A0-A3 (addrsize bytes); far pointers Ap (EA/9A):
 *    imm = offset (imm_size = 2 or 4), imm2 = selector; the Ib of IN/OUT
 *    (E4-E7), INT n (CD) and AAM/AAD (D4/D5).
 * Consumers truncate imm to the operand size they use (imm & 0xff for an
 * unsigned Ib such as a shuffle control or a shift count).
 *
 * VEX: X86_INSN_VEX is set, op = X86_OP(VEX.mmmmm map, opcode), mprefix =
 * VEX.pp, vex_v = register number from ~VEX.vvvv (0..7 outside 64-bit
 * mode), vex_l = VEX.L, and rex = 0x40 | W<<3 | R<<2 | X<<1 | B (R/X/B are 0
 * outside 64-bit mode; W is kept as the opcode extension it is in every mode).
 * X86_INSN_REX is not set for VEX. Operand size 8 from VEX.W only in 64-bit
 * mode.
 *
 * Segments: seg = the last segment override, else SS for BP/SP/EBP/ESP/RBP/
 * RSP-based memory operands, else DS; also filled for non-ModRM memory
 * operands (string source, moffs, XLAT). In 64-bit mode the ES/CS/SS/DS
 * overrides are ignored (SDM Vol. 1 3.3.7.1): they neither change seg nor set
 * X86_INSN_SEGOVR.
 *
 * Block flags: X86_INSN_BRANCH for every control transfer (near/far
 * jumps, calls, returns, Jcc, LOOPcc, JrCXZ, INTn/INT3/INTO/INT1, IRET,
 * SYSCALL/SYSRET/SYSENTER/SYSEXIT, RSM, XBEGIN, UD0/UD1/UD2);
 * X86_INSN_ENDS_BLOCK for instructions that change state the block was
 * decoded or scheduled under (MOV/POP Sreg, LxS, CR/DR writes, 0F 00 and
 * 0F 01 groups, CLTS, WRMSR, CPUID, INVD/WBINVD, INVPCID/INVEPT/INVVPID,
 * GETSEC, POPF, CLI, STI, HLT).
 */

/** Return codes of x86_decode() below 0. */
enum x86_decode_err {
    X86_DECODE_UD = -1,      /* invalid opcode: raise #UD */
    X86_DECODE_SHORT = -2,   /* need more bytes than avail */
    X86_DECODE_GP = -3,      /* longer than 15 bytes: raise #GP(0) */
};

/**
 * Decode one instruction from @bytes (at most @avail readable bytes) in @mode.
 * Returns the length (1..15) and fills @out, or a negative enum x86_decode_err.
 */
int x86_decode(const uint8_t *bytes, size_t avail, enum x86_code_mode mode, struct x86_insn *out);

/** ModRM.mod, ModRM.reg & 7 (/digit) of a decoded instruction. */
static inline unsigned x86_modrm_mod(const struct x86_insn *i) { return i->modrm >> 6; }
static inline unsigned x86_modrm_digit(const struct x86_insn *i) { return (i->modrm >> 3) & 7; }

#endif
