/*
 * tests/unit/test_decode.c - unit tests of the x86 decoder (cpu/x86/decode.c).
 *
 * Two kinds of oracle:
 *  - hand-written encodings whose length and fields are stated by the Intel
 *    SDM (Vol. 2A chapter 2 tables, the instruction pages, Appendix A);
 *  - a corpus assembled by the GNU assembler (inline asm below, never
 *    executed: it lives in .rodata), one instruction per entry, in 64-, 32-
 *    and 16-bit code. gas encodes each instruction independently of us, and
 *    records its length; the decoder must agree on every one.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/x86/decode.h"

/* Decode a byte list in @mode with @avail = the list's length. */
#define DEC(mode, insn, ...) \
    ({ static const uint8_t b_[] = { __VA_ARGS__ }; x86_decode(b_, sizeof(b_), (mode), (insn)); })

/* ------------------------------------------------------------ ModRM / SIB */

Test(decode, mov_rax_rsp_disp32)
{
    /* 48 8B /r: MOV r64, r/m64; ModRM 84 = mod 10 reg 000 rm 100 (SIB), SIB 24 = base RSP, no index */
    struct x86_insn i;
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x48, 0x8b, 0x84, 0x24, 0x10, 0x01, 0x00, 0x00), 8);
    cr_expect_eq(i.len, 8);
    cr_expect_eq(i.op, X86_OP(X86_MAP_PRIMARY, 0x8b));
    cr_expect_eq(i.opsize, 8);
    cr_expect_eq(i.addrsize, 8);
    cr_expect_eq(i.reg, X86_RAX);
    cr_expect_eq(i.base, X86_RSP);
    cr_expect_eq(i.index, X86_REG_NONE);
    cr_expect_eq(i.disp, 0x110);
    cr_expect_eq(i.seg, X86_SS, "RSP-based operands default to SS (SDM Vol. 1 3.7.4)");
    cr_expect(i.flags & X86_INSN_MODRM);
    cr_expect(i.flags & X86_INSN_MEM);
    cr_expect(i.flags & X86_INSN_REX);
    cr_expect_eq(i.rex, 0x48);
}

Test(decode, rip_relative_and_32bit_absolute)
{
    struct x86_insn i;
    /* SDM Vol. 2A 2.2.1.6: mod=00 rm=101 is RIP+disp32 in 64-bit mode */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 7);
    cr_expect_eq(i.base, X86_REG_RIP);
    cr_expect_eq(i.index, X86_REG_NONE);
    cr_expect_eq(i.disp, 0x12345678);
    cr_expect_eq(i.seg, X86_DS);
    /* ... and a plain disp32 in 32-bit mode (Table 2-2) */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), 6);
    cr_expect_eq(i.base, X86_REG_NONE);
    cr_expect_eq(i.disp, 0x12345678);
    cr_expect_eq(i.opsize, 4);
    /* with 67 in 64-bit mode: still RIP-relative (EIP), address size 4 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x67, 0x8b, 0x05, 0xfc, 0xff, 0xff, 0xff), 7);
    cr_expect_eq(i.base, X86_REG_RIP);
    cr_expect_eq(i.addrsize, 4);
    cr_expect_eq(i.disp, -4);
}

Test(decode, sib_forms)
{
    struct x86_insn i;
    /* SIB base=101 with mod=00: no base, disp32 (Table 2-3 note) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12), 7);
    cr_expect_eq(i.base, X86_REG_NONE);
    cr_expect_eq(i.index, X86_REG_NONE);
    cr_expect_eq(i.disp, 0x12345678);
    /* [rcx*4 + disp32] */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x8b, 0x04, 0x8d, 0x00, 0x01, 0x00, 0x00), 7);
    cr_expect_eq(i.base, X86_REG_NONE);
    cr_expect_eq(i.index, X86_RCX);
    cr_expect_eq(i.scale, 2);
    cr_expect_eq(i.disp, 0x100);
    /* REX.X makes index 100b = R12 (a real index) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x4a, 0x8b, 0x04, 0xe0), 4);
    cr_expect_eq(i.index, X86_R12);
    cr_expect_eq(i.scale, 3);
    cr_expect_eq(i.base, X86_RAX);
    /* REX.B + rm=101 mod=01: [r13 + disp8], DS not SS (only rBP/rSP imply SS) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x41, 0x8b, 0x45, 0x08), 4);
    cr_expect_eq(i.base, X86_R13);
    cr_expect_eq(i.disp, 8);
    cr_expect_eq(i.seg, X86_DS);
    /* [rbp - 8] -> SS */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x8b, 0x45, 0xf8), 3);
    cr_expect_eq(i.base, X86_RBP);
    cr_expect_eq(i.disp, -8);
    cr_expect_eq(i.seg, X86_SS);
    /* register form: REX.B extends rm, REX.R extends reg */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x4d, 0x89, 0xc8), 3);   /* mov r8, r9 */
    cr_expect_eq(i.rm, X86_R8);
    cr_expect_eq(i.reg, X86_R9);
    cr_expect_not(i.flags & X86_INSN_MEM);
}

Test(decode, modrm16_forms)
{
    /* SDM Vol. 2A Table 2-1 */
    struct x86_insn i;
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x8b, 0x42, 0xfe), 3);          /* mov ax,[bp+si-2] */
    cr_expect_eq(i.base, X86_RBP);
    cr_expect_eq(i.index, X86_RSI);
    cr_expect_eq(i.scale, 0);
    cr_expect_eq(i.disp, -2);
    cr_expect_eq(i.seg, X86_SS);
    cr_expect_eq(i.opsize, 2);
    cr_expect_eq(i.addrsize, 2);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x8b, 0x06, 0x34, 0x12), 4);    /* mov ax,[0x1234] */
    cr_expect_eq(i.base, X86_REG_NONE);
    cr_expect_eq(i.index, X86_REG_NONE);
    cr_expect_eq(i.disp, 0x1234);
    cr_expect_eq(i.seg, X86_DS);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x8b, 0x01), 2);                /* mov ax,[bx+di] */
    cr_expect_eq(i.base, X86_RBX);
    cr_expect_eq(i.index, X86_RDI);
    cr_expect_eq(i.seg, X86_DS);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x8b, 0x86, 0x00, 0x80), 4);    /* mov ax,[bp-0x8000] */
    cr_expect_eq(i.base, X86_RBP);
    cr_expect_eq(i.disp, -0x8000);
    cr_expect_eq(i.seg, X86_SS);
    /* 66 67 in 16-bit mode: 32-bit operand and address forms */
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x66, 0x67, 0x8b, 0x04, 0x24), 5);
    cr_expect_eq(i.opsize, 4);
    cr_expect_eq(i.addrsize, 4);
    cr_expect_eq(i.base, X86_RSP);
    /* 67 in 32-bit mode: 16-bit forms */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x67, 0x8b, 0x46, 0x02), 4);    /* mov eax,[bp+2] */
    cr_expect_eq(i.base, X86_RBP);
    cr_expect_eq(i.addrsize, 2);
}

/* ------------------------------------------------------------ prefixes */

Test(decode, crc32_mandatory_prefix)
{
    struct x86_insn i;
    /* 66 F2 0F 38 F1 /r: CRC32 r32, r/m16 (SDM Vol. 2A CRC32) */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc1), 6);
    cr_expect_eq(i.op, X86_OP(X86_MAP_0F38, 0xf1));
    cr_expect_eq(i.mprefix, X86_PFX_F2);
    cr_expect_eq(i.opsize, 2);
    cr_expect(i.flags & X86_INSN_OPSIZE);
    cr_expect(i.flags & X86_INSN_REPNE);
    /* F2 REX.W 0F 38 F1 /r: CRC32 r64, r/m64 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1), 6);
    cr_expect_eq(i.opsize, 8);
    cr_expect_eq(i.mprefix, X86_PFX_F2);
}

Test(decode, rep_and_mprefix_last_wins)
{
    struct x86_insn i;
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xf2, 0xf3, 0xa4), 3);
    cr_expect(i.flags & X86_INSN_REP);
    cr_expect_not(i.flags & X86_INSN_REPNE);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xf3, 0xf2, 0xa4), 3);
    cr_expect(i.flags & X86_INSN_REPNE);
    cr_expect_not(i.flags & X86_INSN_REP);
    /* F3 0F 10 = MOVSS even with 66 present; 66 alone = MOVUPD */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xf3, 0x66, 0x0f, 0x10, 0xc1), 5);
    cr_expect_eq(i.mprefix, X86_PFX_F3);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x66, 0x0f, 0x10, 0xc1), 4);
    cr_expect_eq(i.mprefix, X86_PFX_66);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x0f, 0x10, 0xc1), 3);
    cr_expect_eq(i.mprefix, X86_PFX_NONE);
}

Test(decode, segment_override_last_wins)
{
    struct x86_insn i;
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x2e, 0x64, 0x8b, 0x00), 4);
    cr_expect_eq(i.seg, X86_FS);
    cr_expect(i.flags & X86_INSN_SEGOVR);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x64, 0x26, 0x8b, 0x45, 0x00), 5);
    cr_expect_eq(i.seg, X86_ES, "override replaces the SS default of EBP");
    /* 64-bit mode: CS/DS/ES/SS overrides are ignored, FS/GS are not */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x64, 0x2e, 0x8b, 0x00), 4);
    cr_expect_eq(i.seg, X86_FS);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), 9);
    cr_expect_eq(i.seg, X86_GS);
    /* non-ModRM memory operands get the override too (MOVS source) */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x26, 0xa5), 2);
    cr_expect_eq(i.seg, X86_ES);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xa5), 1);
    cr_expect_eq(i.seg, X86_DS);
}

Test(decode, rex_rules)
{
    struct x86_insn i;
    /* REX followed by a legacy prefix is ignored (SDM Vol. 2A 2.2.1) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x48, 0x66, 0x89, 0xc0), 4);
    cr_expect_eq(i.opsize, 2);
    cr_expect_not(i.flags & X86_INSN_REX);
    cr_expect_eq(i.rex, 0);
    /* REX.W beats 66 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x66, 0x48, 0x89, 0xc0), 4);
    cr_expect_eq(i.opsize, 8);
    /* plain REX (40) still marks byte registers as SPL..DIL */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x40, 0x88, 0xe6), 3);
    cr_expect(i.flags & X86_INSN_REX);
    cr_expect_eq(i.opsize, 1);
    cr_expect(i.flags & X86_INSN_BYTEOP);
    /* 40-4F are INC/DEC outside 64-bit mode, register in the opcode */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x4b), 1);
    cr_expect_eq(i.op, X86_OP(X86_MAP_PRIMARY, 0x4b));
    cr_expect_eq(i.rm, X86_RBX);
    /* +r register with REX.B */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x41, 0x57), 2);          /* push r15 */
    cr_expect_eq(i.rm, X86_R15);
    cr_expect_eq(i.opsize, 8);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x49, 0x0f, 0xc9), 3);    /* bswap r9 */
    cr_expect_eq(i.rm, X86_R9);
    cr_expect_eq(i.opsize, 8);
}

Test(decode, fifteen_byte_limit)
{
    struct x86_insn i;
    uint8_t b[32];
    /* 14 prefixes + NOP = 15 bytes: legal */
    memset(b, 0x66, sizeof(b));
    b[14] = 0x90;
    cr_expect_eq(x86_decode(b, sizeof(b), X86_MODE_32, &i), 15);
    /* 15 prefixes + NOP = 16 bytes: #GP (SDM Vol. 2A 2.3.11) */
    b[14] = 0x66;
    b[15] = 0x90;
    cr_expect_eq(x86_decode(b, sizeof(b), X86_MODE_32, &i), X86_DECODE_GP);
    /* ... also when only 15 bytes are readable */
    cr_expect_eq(x86_decode(b, 15, X86_MODE_32, &i), X86_DECODE_GP);
    /* fewer than 15 readable and incomplete: SHORT */
    cr_expect_eq(x86_decode(b, 14, X86_MODE_32, &i), X86_DECODE_SHORT);
    /* a 16-byte instruction by immediates: 4 prefixes + 48 C7 84 24 disp32 imm32 = 16 */
    static const uint8_t big[] = { 0x66, 0x66, 0x66, 0x66, 0x48, 0xc7, 0x84, 0x24,
                                   1, 0, 0, 0, 2, 0, 0, 0 };
    cr_expect_eq(x86_decode(big, sizeof(big), X86_MODE_64, &i), X86_DECODE_GP);
    cr_expect_eq(x86_decode(big + 1, sizeof(big) - 1, X86_MODE_64, &i), 15);
}

Test(decode, truncated_input_is_short)
{
    static const uint8_t b[] = { 0x48, 0x8b, 0x84, 0x24, 0x10, 0x01, 0x00, 0x00 };
    struct x86_insn i;
    for (size_t n = 0; n < sizeof(b); n++)
        cr_expect_eq(x86_decode(b, n, X86_MODE_64, &i), X86_DECODE_SHORT, "avail %zu", n);
    cr_expect_eq(x86_decode(b, sizeof(b), X86_MODE_64, &i), 8);
    static const uint8_t v[] = { 0xc4, 0xe2, 0x7d, 0x58, 0xc1 };
    for (size_t n = 0; n < sizeof(v); n++)
        cr_expect_eq(x86_decode(v, n, X86_MODE_64, &i), X86_DECODE_SHORT, "vex avail %zu", n);
}

Test(decode, invalid_in_64bit_mode)
{
    /* SDM Vol. 2D Table A-2 "i64" entries */
    static const uint8_t ops[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f,
                                   0x37, 0x3f, 0x60, 0x61, 0xce, 0xd4, 0xd5 };
    struct x86_insn i;
    for (size_t k = 0; k < sizeof(ops); k++) {
        uint8_t b[8] = { ops[k], 0x0a, 0, 0, 0, 0, 0, 0 };
        cr_expect_eq(x86_decode(b, sizeof(b), X86_MODE_64, &i), X86_DECODE_UD, "op %02x", ops[k]);
        cr_expect_gt(x86_decode(b, sizeof(b), X86_MODE_32, &i), 0, "op %02x valid in 32-bit", ops[k]);
    }
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x82, 0xc0, 0x01), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_32, &i, 0x82, 0xc0, 0x01), 3);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xea, 0, 0, 0, 0, 0x10, 0), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x9a, 0, 0, 0, 0, 0x10, 0), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x62, 0x00), X86_DECODE_UD);
    /* o64: SYSCALL/SYSRET are #UD outside 64-bit mode (SDM Vol. 2B SYSCALL, Intel) */
    cr_expect_eq(DEC(X86_MODE_32, &i, 0x0f, 0x05), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x0f, 0x05), 2);
    /* undefined encodings */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x0f, 0x04), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x8d, 0xc0), X86_DECODE_UD);   /* LEA with a register */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xff, 0xf8), X86_DECODE_UD);   /* FF /7 */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x8e, 0xc8), X86_DECODE_UD);   /* MOV CS, r */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x0f, 0x38, 0xff, 0xc0), X86_DECODE_UD);
}

Test(decode, lock_prefix_rules)
{
    /* SDM Vol. 2A "LOCK": #UD unless a listed RMW instruction with a memory destination */
    struct x86_insn i;
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x01, 0x08), 3);              /* lock add [rax], ecx */
    cr_expect(i.flags & X86_INSN_LOCK);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x48, 0x0f, 0xb1, 0x0a), 5);  /* lock cmpxchg [rdx], rcx */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x0f, 0xc7, 0x0f), 4);        /* lock cmpxchg8b [rdi] */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x83, 0x00, 0x01), 4);        /* lock add dword [rax], 1 */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x0f, 0xba, 0x28, 0x01), 5);  /* lock bts dword [rax], 1 */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x03, 0x08), X86_DECODE_UD);  /* add ecx, [rax]: reg dest */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x01, 0xc8), X86_DECODE_UD);  /* add eax, ecx */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x83, 0x38, 0x01), X86_DECODE_UD); /* cmp */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x89, 0x08), X86_DECODE_UD);  /* mov */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x0f, 0xba, 0x20, 0x01), X86_DECODE_UD); /* bt */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xf0, 0x90), X86_DECODE_UD);
}

/* ------------------------------------------------------------ immediates */

Test(decode, immediates)
{
    struct x86_insn i;
    /* MOV r64, imm64 (REX.W B8+r io) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x49, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 10);
    cr_expect_eq(i.imm, 0x1122334455667788ull);
    cr_expect_eq(i.rm, X86_R11);
    cr_expect_eq(i.imm_size, 8);
    /* Iz sign-extended to 64 at opsize 8 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x48, 0x05, 0x00, 0x00, 0x00, 0x80), 6);
    cr_expect_eq(i.imm, 0xffffffff80000000ull);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x66, 0x05, 0x34, 0x92), 4);
    cr_expect_eq(i.imm_size, 2);
    cr_expect_eq((uint16_t)i.imm, 0x9234);
    /* 83 /0 ib sign-extended */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x83, 0xc0, 0xff), 3);
    cr_expect_eq(i.imm, UINT64_MAX);
    /* RET imm16 zero-extended; ENTER */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xc2, 0xfe, 0xff), 3);
    cr_expect_eq(i.imm, 0xfffe);
    cr_expect(i.flags & X86_INSN_BRANCH);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xc8, 0x10, 0x80, 0x01), 4);
    cr_expect_eq(i.imm, 0x8010);
    cr_expect_eq(i.imm2, 1);
    cr_expect_eq(i.opsize, 8);
    /* IN/INT imm8 zero-extended */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xe4, 0x80), 2);
    cr_expect_eq(i.imm, 0x80);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xcd, 0x80), 2);
    cr_expect_eq(i.imm, 0x80);
    cr_expect(i.flags & X86_INSN_BRANCH);
    /* Grp 3: only /0 /1 (TEST) have an immediate */
    cr_expect_eq(DEC(X86_MODE_32, &i, 0xf6, 0xc0, 0x7f), 3);
    cr_expect_eq(DEC(X86_MODE_32, &i, 0xf6, 0xd0), 2);              /* NOT al */
    cr_expect_eq(DEC(X86_MODE_32, &i, 0xf7, 0xc0, 1, 2, 3, 4), 6);
    cr_expect_eq(DEC(X86_MODE_16, &i, 0xf7, 0xc0, 1, 2), 4);
    cr_expect_eq(DEC(X86_MODE_32, &i, 0xf7, 0xe1), 2);              /* MUL ecx */
    /* far pointers */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xea, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00), 7);
    cr_expect_eq(i.imm, 0x12345678);
    cr_expect_eq(i.imm2, 8);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0xea, 0x5b, 0xe0, 0x00, 0xf0), 5);  /* jmp f000:e05b */
    cr_expect_eq(i.imm, 0xe05b);
    cr_expect_eq(i.imm2, 0xf000);
    cr_expect(i.flags & X86_INSN_BRANCH);
    /* Jb / Jz sign-extended */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xeb, 0xfe), 2);
    cr_expect_eq((int64_t)i.imm, -2);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x0f, 0x85, 0xfa, 0xff, 0xff, 0xff), 6);
    cr_expect_eq((int64_t)i.imm, -6);
    cr_expect(i.flags & X86_INSN_BRANCH);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0xe8, 0x00, 0x80), 3);
    cr_expect_eq((int64_t)i.imm, -0x8000);
}

Test(decode, moffs_with_address_size)
{
    struct x86_insn i;
    /* A1: MOV rAX, moffs; the offset is addrsize bytes (SDM Vol. 2A MOV note) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xa1, 1, 2, 3, 4, 5, 6, 7, 0x88), 9);
    cr_expect_eq(i.imm, 0x8807060504030201ull);
    cr_expect_eq(i.opsize, 4);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x67, 0xa1, 1, 2, 3, 0x84), 6);
    cr_expect_eq(i.imm, 0x84030201ull, "zero-extended");
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xa3, 1, 2, 3, 4), 5);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x67, 0xa0, 0x34, 0x92), 4);
    cr_expect_eq(i.imm, 0x9234);
    cr_expect_eq(i.opsize, 1);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x64, 0xa1, 0x10, 0x00), 4);
    cr_expect_eq(i.seg, X86_FS);
}

/* ------------------------------------------------------------ sizes and flags */

Test(decode, default_64_operand_size)
{
    struct x86_insn i;
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x50), 1);
    cr_expect_eq(i.opsize, 8);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x66, 0x50), 2);
    cr_expect_eq(i.opsize, 2);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x68, 1, 2, 3, 4), 5);        /* push imm32 (sext to 64) */
    cr_expect_eq(i.opsize, 8);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xff, 0xd0), 2);              /* call rax */
    cr_expect_eq(i.opsize, 8);
    cr_expect(i.flags & X86_INSN_BRANCH);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xff, 0x30), 2);              /* push [rax] */
    cr_expect_eq(i.opsize, 8);
    cr_expect_not(i.flags & X86_INSN_BRANCH);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xff, 0x00), 2);              /* inc dword [rax] */
    cr_expect_eq(i.opsize, 4);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x9c), 1);                    /* pushfq */
    cr_expect_eq(i.opsize, 8);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0x50), 1);
    cr_expect_eq(i.opsize, 4);
    cr_assert_eq(DEC(X86_MODE_16, &i, 0x50), 1);
    cr_expect_eq(i.opsize, 2);
    /* MOV CR: f64, ModRM.mod ignored (register form whatever mod says) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x0f, 0x22, 0xd8), 3);        /* mov cr3, rax */
    cr_expect_eq(i.opsize, 8);
    cr_expect_eq(i.reg, 3);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x0f, 0x20, 0x05), 3, "mod=00 rm=101: no disp32");
    cr_expect_not(i.flags & X86_INSN_MEM);
    cr_assert_eq(DEC(X86_MODE_64, &i, 0x44, 0x0f, 0x20, 0xc0), 4);  /* mov rax, cr8 */
    cr_expect_eq(i.reg, 8);
}

Test(decode, block_flags)
{
    struct x86_insn i;
    cr_assert_gt(DEC(X86_MODE_64, &i, 0xf4), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* HLT */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0xfb), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* STI */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x0f, 0x30), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* WRMSR */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x0f, 0x01, 0x38), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* INVLPG [rax] */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x8e, 0xd0), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* MOV SS, ax */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x9d), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* POPF */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x0f, 0xa2), 0);
    cr_expect(i.flags & X86_INSN_ENDS_BLOCK);                       /* CPUID */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x0f, 0x05), 0);
    cr_expect(i.flags & X86_INSN_BRANCH);                           /* SYSCALL */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x48, 0xcf), 0);
    cr_expect(i.flags & X86_INSN_BRANCH);                           /* IRETQ */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x0f, 0x0b), 0);
    cr_expect(i.flags & X86_INSN_BRANCH);                           /* UD2 */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0xe2, 0xfe), 0);
    cr_expect(i.flags & X86_INSN_BRANCH);                           /* LOOP */
    cr_assert_gt(DEC(X86_MODE_64, &i, 0x89, 0xc0), 0);
    cr_expect_not(i.flags & (X86_INSN_BRANCH | X86_INSN_ENDS_BLOCK));
    cr_assert_gt(DEC(X86_MODE_64, &i, 0xf3, 0x90), 0);              /* PAUSE */
    cr_expect_not(i.flags & X86_INSN_BRANCH);
}

Test(decode, vex)
{
    struct x86_insn i;
    /* C5 F5 FE C2: VEX.256.66.0F.WIG FE /r VPADDD ymm0, ymm1, ymm2 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xc5, 0xf5, 0xfe, 0xc2), 4);
    cr_expect(i.flags & X86_INSN_VEX);
    cr_expect_eq(i.op, X86_OP(X86_MAP_0F, 0xfe));
    cr_expect_eq(i.mprefix, X86_PFX_66);
    cr_expect_eq(i.vex_v, 1);
    cr_expect_eq(i.vex_l, 1);
    cr_expect_eq(i.reg, 0);
    cr_expect_eq(i.rm, 2);
    /* C4 42 7D 58 C9: VEX.256.66.0F38.W0 58 /r VPBROADCASTD ymm9, xmm9 (R and B set) */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xc4, 0x42, 0x7d, 0x58, 0xc9), 5);
    cr_expect_eq(i.op, X86_OP(X86_MAP_0F38, 0x58));
    cr_expect_eq(i.reg, 9);
    cr_expect_eq(i.rm, 9);
    cr_expect_eq(i.vex_v, 0);
    /* VEX.0F3A has an Ib: C4 E3 75 0F C2 04 VPALIGNR ymm0, ymm1, ymm2, 4 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xc4, 0xe3, 0x75, 0x0f, 0xc2, 0x04), 6);
    cr_expect_eq(i.imm, 4);
    /* ANDN rax, rbx, [rcx]: VEX.LZ.0F38.W1 F2 /r -> opsize 8 */
    cr_assert_eq(DEC(X86_MODE_64, &i, 0xc4, 0xe2, 0xe0, 0xf2, 0x01), 5);
    cr_expect_eq(i.opsize, 8);
    cr_expect_eq(i.vex_v, X86_RBX);
    /* 32-bit mode: C5 with mod != 11b is LDS; with mod = 11b it is VEX */
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xc5, 0x35, 0x78, 0x56, 0x34, 0x12), 6);
    cr_expect_eq(i.op, X86_OP(X86_MAP_PRIMARY, 0xc5));
    cr_expect_not(i.flags & X86_INSN_VEX);
    cr_assert_eq(DEC(X86_MODE_32, &i, 0xc5, 0xf5, 0xfe, 0xc2), 4);
    cr_expect(i.flags & X86_INSN_VEX);
    /* prefixes 66/F2/F3/REX before VEX are #UD (SDM Vol. 2A 2.3.2) */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x66, 0xc5, 0xf5, 0xfe, 0xc2), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0x48, 0xc5, 0xf5, 0xfe, 0xc2), X86_DECODE_UD);
    /* VEX.mmmmm = 0 or > 3 is reserved */
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xc4, 0xe0, 0x75, 0xfe, 0xc2), X86_DECODE_UD);
    cr_expect_eq(DEC(X86_MODE_64, &i, 0xc4, 0xe4, 0x75, 0xfe, 0xc2), X86_DECODE_UD);
}

/* ------------------------------------------------------------ gas corpus */

/*
 * INSN assembles one instruction into .rodata.qtemu_dc_code and records its
 * length (as gas computed it) into .rodata.qtemu_dc_len. Each mode's corpus is
 * delimited by global labels. Never executed.
 */
__asm__(
    ".macro INSN args:vararg\n"
    ".pushsection .rodata.qtemu_dc_code,\"a\"\n"
    "9990: \\args\n"
    "9991:\n"
    ".popsection\n"
    ".pushsection .rodata.qtemu_dc_len,\"a\"\n"
    ".byte 9991b-9990b\n"
    ".popsection\n"
    ".endm\n"
    ".macro CORPUS_MARK name\n"
    ".pushsection .rodata.qtemu_dc_code,\"a\"\n"
    ".globl qtemu_dc_code_\\name\n"
    "qtemu_dc_code_\\name:\n"
    ".popsection\n"
    ".pushsection .rodata.qtemu_dc_len,\"a\"\n"
    ".globl qtemu_dc_len_\\name\n"
    "qtemu_dc_len_\\name:\n"
    ".popsection\n"
    ".endm\n"

    "CORPUS_MARK b64\n"
    ".code64\n"
    "INSN movq 0x110(%rsp), %rax\n"
    "INSN movq 0x12345678(%rip), %r11\n"
    "INSN movl %fs:0x28, %eax\n"
    "INSN movabsq $0x1122334455667788, %r9\n"
    "INSN movabsb 0x1122334455667788, %al\n"
    "INSN addr32 movabsl 0x11223344, %eax\n"
    "INSN leaq (%r12,%r13,8), %rdx\n"
    "INSN leaq 0x80(%r13), %rdx\n"
    "INSN leaq -0x80(%rbp,%rcx,2), %rdx\n"
    "INSN movl 0x12345678(,%rax,4), %ecx\n"
    "INSN addq $-1, 8(%rsp)\n"
    "INSN addq $0x12345, 8(%rsp)\n"
    "INSN addw $0x1234, (%rax)\n"
    "INSN andb $0x7f, (%rax,%rbx)\n"
    "INSN testl $0x12345678, 0x100(%rax)\n"
    "INSN testb $1, %sil\n"
    "INSN notq %r15\n"
    "INSN imulq $1000, %rcx, %rdx\n"
    "INSN imull $10, (%rsi), %edx\n"
    "INSN shlq $3, %rax\n"
    "INSN sarl %cl, 4(%rdi)\n"
    "INSN pushq $0x1000\n"
    "INSN pushq $1\n"
    "INSN pushw $0x1234\n"
    "INSN popq %r12\n"
    "INSN pushq (%rax)\n"
    "INSN call *%rax\n"
    "INSN call *0x10(%rax)\n"
    "INSN jmp *(%rip)\n"
    "INSN ljmp *(%rax)\n"
    "INSN lcall *(%rax)\n"
    "INSN jmp .+0x1000\n"
    "INSN jmp .+5\n"
    "INSN call .+0x1000\n"
    "INSN jne .+0x1000\n"
    "INSN je .+0x10\n"
    "INSN loop .+0x10\n"
    "INSN jrcxz .+0x10\n"
    "INSN ret\n"
    "INSN ret $16\n"
    "INSN lretq\n"
    "INSN iretq\n"
    "INSN enter $0x100, $1\n"
    "INSN leave\n"
    "INSN int $0x80\n"
    "INSN int3\n"
    "INSN syscall\n"
    "INSN sysretq\n"
    "INSN swapgs\n"
    "INSN rdtscp\n"
    "INSN hlt\n"
    "INSN cli\n"
    "INSN sti\n"
    "INSN pause\n"
    "INSN cpuid\n"
    "INSN rdmsr\n"
    "INSN wrmsr\n"
    "INSN xsetbv\n"
    "INSN movq %cr3, %rax\n"
    "INSN movq %rax, %cr4\n"
    "INSN movq %r8, %cr8\n"
    "INSN movq %dr7, %rax\n"
    "INSN lgdt (%rax)\n"
    "INSN lidt 0x10(%rip)\n"
    "INSN ltr %ax\n"
    "INSN lldt %ax\n"
    "INSN invlpg (%rdi)\n"
    "INSN invpcid (%rax), %rbx\n"
    "INSN wbinvd\n"
    "INSN movw %ax, %ss\n"
    "INSN movl %ds, %eax\n"
    "INSN lss (%rax), %esp\n"
    "INSN movzbl (%rax), %ecx\n"
    "INSN movswq %ax, %rcx\n"
    "INSN movslq (%rax), %rcx\n"
    "INSN cmovneq %rax, %rcx\n"
    "INSN setb %r9b\n"
    "INSN btsq $63, (%rax)\n"
    "INSN bsrq %rax, %rcx\n"
    "INSN tzcntq %rax, %rcx\n"
    "INSN lzcntl %eax, %ecx\n"
    "INSN popcntq (%rax), %rcx\n"
    "INSN shldq $4, %rax, (%rcx)\n"
    "INSN shrdl %cl, %eax, %ecx\n"
    "INSN lock cmpxchgq %rcx, (%rdx)\n"
    "INSN lock cmpxchg16b (%rdi)\n"
    "INSN lock xaddl %eax, (%rdx)\n"
    "INSN xchgq %rax, %r8\n"
    "INSN bswapq %r10\n"
    "INSN rep movsb\n"
    "INSN rep stosq\n"
    "INSN repne scasb\n"
    "INSN lodsw\n"
    "INSN inb $0x60, %al\n"
    "INSN outl %eax, %dx\n"
    "INSN xlat\n"
    "INSN rdrand %rax\n"
    "INSN crc32q (%rax), %rcx\n"
    "INSN crc32w %ax, %ecx\n"
    "INSN movbe (%rax), %ecx\n"
    "INSN adcx %rax, %rcx\n"
    "INSN fxsave (%rax)\n"
    "INSN fxrstor64 (%rax)\n"
    "INSN xsaveopt (%rax)\n"
    "INSN xrstor (%rdi)\n"
    "INSN ldmxcsr 4(%rsp)\n"
    "INSN lfence\n"
    "INSN mfence\n"
    "INSN sfence\n"
    "INSN clflush (%rax)\n"
    "INSN prefetcht0 (%rax)\n"
    "INSN prefetchw (%rax)\n"
    "INSN nopw 0x0(%rax,%rax,1)\n"
    "INSN nopl 0x0(%rax)\n"
    "INSN endbr64\n"
    "INSN ud2\n"
    "INSN fninit\n"
    "INSN fldl 8(%rsp)\n"
    "INSN fstp %st(1)\n"
    "INSN fnstsw %ax\n"
    "INSN movdqa (%rax), %xmm0\n"
    "INSN movdqu %xmm9, 0x10(%rsp)\n"
    "INSN movups %xmm1, %xmm2\n"
    "INSN movss (%rax), %xmm1\n"
    "INSN movsd %xmm2, %xmm3\n"
    "INSN movq %rax, %xmm0\n"
    "INSN movd %xmm0, %eax\n"
    "INSN pxor %xmm0, %xmm0\n"
    "INSN pshufd $0x1b, %xmm1, %xmm2\n"
    "INSN psrldq $8, %xmm1\n"
    "INSN pcmpeqb (%rdi), %xmm1\n"
    "INSN pmovmskb %xmm1, %eax\n"
    "INSN pshufb %xmm1, %xmm2\n"
    "INSN palignr $4, %xmm1, %xmm2\n"
    "INSN pcmpistri $0x1a, (%rax), %xmm1\n"
    "INSN pextrq $1, %xmm1, %rax\n"
    "INSN pinsrd $2, %eax, %xmm1\n"
    "INSN aesenc %xmm1, %xmm2\n"
    "INSN pclmulqdq $0x11, %xmm1, %xmm2\n"
    "INSN sha256rnds2 %xmm1, %xmm2\n"
    "INSN cvtsi2sdq %rax, %xmm1\n"
    "INSN ucomisd %xmm1, %xmm2\n"
    "INSN cmpltps %xmm1, %xmm2\n"
    "INSN shufps $0x44, %xmm1, %xmm2\n"
    "INSN movq %mm0, %mm1\n"
    "INSN emms\n"
    "INSN vpaddd %ymm2, %ymm1, %ymm0\n"
    "INSN vpxor %ymm12, %ymm13, %ymm14\n"
    "INSN vmovdqu (%rax), %ymm0\n"
    "INSN vmovdqu %ymm8, 0x20(%rsp,%rcx,4)\n"
    "INSN vpbroadcastd %xmm9, %ymm9\n"
    "INSN vpermq $0x4e, %ymm1, %ymm2\n"
    "INSN vpalignr $4, %ymm2, %ymm1, %ymm0\n"
    "INSN vinserti128 $1, %xmm1, %ymm2, %ymm3\n"
    "INSN vfmadd231ps %ymm1, %ymm2, %ymm3\n"
    "INSN vzeroupper\n"
    "INSN vpshufb 0x100(%rip), %ymm1, %ymm2\n"
    "INSN vpcmpeqb (%rdi), %ymm1, %ymm2\n"
    "INSN vpmovmskb %ymm1, %eax\n"
    "INSN vldmxcsr (%rax)\n"
    "INSN andn %rbx, %rcx, %rax\n"
    "INSN bextr %rbx, (%rcx), %rax\n"
    "INSN shlx %rbx, %rcx, %rax\n"
    "INSN rorx $7, %rcx, %rax\n"
    "INSN pdep %r9, %r10, %r11\n"
    "INSN mulx (%rax), %rbx, %rcx\n"
    "INSN blsr %rax, %rcx\n"
    "INSN xbegin .+0x100\n"
    "INSN xabort $1\n"
    "CORPUS_MARK e64\n"

    "CORPUS_MARK b32\n"
    ".code32\n"
    "INSN movl 0x110(%esp), %eax\n"
    "INSN movl 0x12345678, %eax\n"
    "INSN movl 0x12345678, %ecx\n"
    "INSN movw 0x1234, %ax\n"
    "INSN addr16 movl (%bp,%si), %eax\n"
    "INSN addr16 movl 0x10(%bp), %eax\n"
    "INSN addr16 movl 0x1234(%bx,%di), %eax\n"
    "INSN addr16 movl 0x1234, %eax\n"
    "INSN leal 4(%eax,%ebx,2), %ecx\n"
    "INSN pushl $0x12345678\n"
    "INSN pushw $0x1234\n"
    "INSN pushl %es\n"
    "INSN popl %ds\n"
    "INSN pusha\n"
    "INSN popa\n"
    "INSN daa\n"
    "INSN aam $10\n"
    "INSN incl %ecx\n"
    "INSN decw %dx\n"
    "INSN into\n"
    "INSN bound %eax, (%ecx)\n"
    "INSN arpl %ax, (%ecx)\n"
    "INSN ljmp $0x10, $0x100000\n"
    "INSN lcall $0x10, $0x100000\n"
    "INSN ljmpw $0x10, $0x1000\n"
    "INSN les (%eax), %ecx\n"
    "INSN lds (%eax), %ecx\n"
    "INSN call .+0x1000\n"
    "INSN jmp .+0x1000\n"
    "INSN jne .+0x1000\n"
    "INSN movl %cr0, %eax\n"
    "INSN movl %eax, %cr0\n"
    "INSN lgdt (%eax)\n"
    "INSN sysenter\n"
    "INSN sysexit\n"
    "INSN ret $4\n"
    "INSN enter $8, $0\n"
    "INSN addl $0x12345678, 0x100(%ebp)\n"
    "INSN testw $0x1234, (%eax)\n"
    "INSN movb $1, %es:(%edi)\n"
    "INSN movl $0x12345678, %eax\n"
    "INSN movw $0x1234, %ax\n"
    "INSN rep movsl\n"
    "INSN movdqa %xmm1, (%eax)\n"
    "INSN vpaddd %xmm2, %xmm1, %xmm0\n"
    "INSN vpaddd (%eax), %ymm1, %ymm0\n"
    "INSN vpbroadcastb %xmm1, %ymm2\n"
    "INSN vpalignr $4, %ymm2, %ymm1, %ymm0\n"
    "INSN andn %ebx, %ecx, %eax\n"
    "INSN crc32b %al, %ecx\n"
    "INSN fldt (%eax)\n"
    "INSN cmpxchg8b (%esi)\n"
    "CORPUS_MARK e32\n"

    "CORPUS_MARK b16\n"
    ".code16\n"
    "INSN movw (%bp,%si), %ax\n"
    "INSN movw -2(%bp,%si), %ax\n"
    "INSN movw 0x1234, %ax\n"
    "INSN movw 0x1234(%bx), %ax\n"
    "INSN movl %eax, (%bx)\n"
    "INSN movl 4(%esp), %eax\n"
    "INSN movw $0x1234, %ax\n"
    "INSN movl $0x12345678, %eax\n"
    "INSN movw %ax, %ds\n"
    "INSN ljmp $0xf000, $0xe05b\n"
    "INSN ljmpl $0x8, $0x100000\n"
    "INSN lcall $0xf000, $0x1234\n"
    "INSN call .+0x100\n"
    "INSN jmp .+0x100\n"
    "INSN je .+0x100\n"
    "INSN int $0x10\n"
    "INSN iret\n"
    "INSN lret $2\n"
    "INSN pushw $0x1234\n"
    "INSN pushl $0x12345678\n"
    "INSN pushf\n"
    "INSN lgdtl (%si)\n"
    "INSN movl %cr0, %eax\n"
    "INSN addw $0x1234, 0x10(%bx,%di)\n"
    "INSN addl $0x12345678, 0x10(%bx,%di)\n"
    "INSN outb %al, $0x80\n"
    "INSN rep stosw\n"
    "INSN les (%bx), %ax\n"
    "INSN movb 0x1234, %al\n"
    "INSN addr32 movb 0x12345678, %al\n"
    "INSN fnstsw (%bx)\n"
    "CORPUS_MARK e16\n"
    ".code64\n");

extern const uint8_t qtemu_dc_code_b64[], qtemu_dc_code_e64[], qtemu_dc_len_b64[], qtemu_dc_len_e64[];
extern const uint8_t qtemu_dc_code_b32[], qtemu_dc_code_e32[], qtemu_dc_len_b32[], qtemu_dc_len_e32[];
extern const uint8_t qtemu_dc_code_b16[], qtemu_dc_code_e16[], qtemu_dc_len_b16[], qtemu_dc_len_e16[];

/* Decode every corpus instruction; lengths must match gas's. */
static void check_corpus(enum x86_code_mode mode, const uint8_t *code, const uint8_t *code_end,
                         const uint8_t *lens, const uint8_t *lens_end)
{
    size_t count = (size_t)(lens_end - lens), off = 0;
    cr_assert_gt(count, 20);
    for (size_t k = 0; k < count; k++) {
        struct x86_insn insn;
        size_t avail = (size_t)(code_end - code) - off;
        int len = x86_decode(code + off, avail, mode, &insn);
        cr_expect_eq(len, lens[k], "%d-bit corpus entry %zu (bytes %02x %02x %02x %02x): "
                     "decoder %d, gas %d", 16 << mode, k, code[off], code[off + 1],
                     code[off + 2], code[off + 3], len, lens[k]);
        off += lens[k];
    }
    cr_expect_eq(off, (size_t)(code_end - code));
}

Test(decode, gas_corpus_64)
{
    check_corpus(X86_MODE_64, qtemu_dc_code_b64, qtemu_dc_code_e64, qtemu_dc_len_b64, qtemu_dc_len_e64);
}

Test(decode, gas_corpus_32)
{
    check_corpus(X86_MODE_32, qtemu_dc_code_b32, qtemu_dc_code_e32, qtemu_dc_len_b32, qtemu_dc_len_e32);
}

Test(decode, gas_corpus_16)
{
    check_corpus(X86_MODE_16, qtemu_dc_code_b16, qtemu_dc_code_e16, qtemu_dc_len_b16, qtemu_dc_len_e16);
}

/* ------------------------------------------------------------ robustness */

Test(decode, never_reads_past_avail)
{
    /*
     * Decode random bytes placed at the very end of a buffer followed by a
     * guard: the decoder must return the same result whatever the guard
     * holds (it never looks at it), and never more than avail.
     */
    uint64_t s = 0x1234567;
    uint8_t buf[32];
    for (int iter = 0; iter < 200000; iter++) {
        for (int k = 0; k < 32; k++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            buf[k] = (uint8_t)s;
        }
        size_t avail = (size_t)(s >> 40) % 16;
        enum x86_code_mode mode = (enum x86_code_mode)((s >> 50) % 3);
        struct x86_insn a, b;
        int ra = x86_decode(buf, avail, mode, &a);
        memset(buf + avail, 0xc4, sizeof(buf) - avail);
        int rb = x86_decode(buf, avail, mode, &b);
        cr_assert_eq(ra, rb);
        cr_assert(ra < 0 || (size_t)ra <= avail);
        cr_assert(ra >= X86_DECODE_GP && ra <= 15);
        if (ra > 0)
            cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
    }
}
