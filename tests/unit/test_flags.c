/*
 * tests/unit/test_flags.c - lazy-flag corner cases (cpu/x86/flags.c) and the
 * BCD adjusts, which a 64-bit host cannot execute.
 *
 * Oracles: the SDM's stated values (Vol. 1 3.4.3 flag definitions, the
 * worked examples on the DAA/DAS/AAM/AAD pages of Vol. 2A), and the host CPU
 * for the lazy-vs-materialised round trips.
 */
#include <criterion/criterion.h>

#include "tests/unit/x86_int_harness.h"

static struct x86_cpu cpu_s;
static struct x86_cpu *cpu = &cpu_s;

static void reset32(void)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->code_mode = X86_MODE_32;
    cpu->rflags = X86_FLAG_FIXED1;
    x86_set_arith_flags(cpu, 0);
}

/** Run a register-form ALU op "op rm=RAX, reg=RDX" at @size. */
static void alu(unsigned byte, unsigned size, uint64_t a, uint64_t b)
{
    cpu->gpr[X86_RAX] = a;
    cpu->gpr[X86_RDX] = b;
    struct x86_insn i = h_insn(0, byte, size, X86_RDX, X86_RAX);
    cr_assert_eq(h_exec(cpu, &i), -1);
}

Test(flags, inc_dec_preserve_cf)
{
    reset32();
    x86_set_arith_flags(cpu, X86_FLAG_CF);
    struct x86_insn inc = h_insn(0, 0xfe, 1, 0, X86_RAX);
    cpu->gpr[X86_RAX] = 0xff;
    h_exec(cpu, &inc);   /* 0xff + 1 = 0: ZF, AF set; CF kept at 1 (SDM INC) */
    uint64_t f = x86_arith_flags(cpu);
    cr_assert(f & X86_FLAG_CF);
    cr_assert(f & X86_FLAG_ZF);
    cr_assert(f & X86_FLAG_AF);
    cr_assert(!(f & X86_FLAG_OF));
    x86_set_arith_flags(cpu, 0);
    struct x86_insn dec = h_insn(0, 0xff, 2, 1, X86_RAX);
    cpu->gpr[X86_RAX] = 0x8000;
    h_exec(cpu, &dec);   /* 0x8000 - 1 = 0x7fff: OF (sign change), AF; CF stays 0 */
    f = x86_arith_flags(cpu);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xffff, 0x7fff);
    cr_assert(!(f & X86_FLAG_CF));
    cr_assert(f & X86_FLAG_OF);
    cr_assert(f & X86_FLAG_AF);
    cr_assert(!x86_cond(cpu, 2), "JB after DEC sees the preserved CF = 0");
}

Test(flags, adc_sbb_with_carry_in)
{
    reset32();
    x86_set_arith_flags(cpu, X86_FLAG_CF);
    alu(0x11, 4, 0xffffffff, 0);   /* ADC: 0xffffffff + 0 + 1 = 0, CF = 1, ZF = 1 */
    cr_assert_eq(cpu->gpr[X86_RAX], 0);
    cr_assert_eq(x86_get_cf(cpu), 1);
    cr_assert(x86_cond(cpu, 4));
    x86_set_arith_flags(cpu, X86_FLAG_CF);
    alu(0x19, 1, 0x00, 0xff);      /* SBB: 0 - 0xff - 1 = 0 (mod 256), borrow */
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0);
    cr_assert_eq(x86_get_cf(cpu), 1);
    x86_set_arith_flags(cpu, X86_FLAG_CF);
    alu(0x19, 2, 0x8000, 0x0000);  /* SBB 0x8000 - 0 - 1 = 0x7fff: OF */
    cr_assert(x86_arith_flags(cpu) & X86_FLAG_OF);
    cr_assert(x86_cond(cpu, 0));
}

Test(flags, sub_borrow_and_signed_conditions_by_size)
{
    reset32();
    alu(0x39, 2, 0x0001, 0x0002);  /* CMP 1, 2: below, less */
    cr_assert(x86_cond(cpu, 2));   /* B */
    cr_assert(x86_cond(cpu, 12));  /* L */
    cr_assert(!x86_cond(cpu, 7));  /* A */
    alu(0x38, 1, 0x80, 0x01);      /* CMP -128, 1 at 8 bits: above, less, OF */
    cr_assert(x86_cond(cpu, 7));
    cr_assert(x86_cond(cpu, 0));
    cr_assert(x86_cond(cpu, 12), "-128 < 1 although -128 - 1 overflows (SF != OF)");
    cr_assert(!x86_cond(cpu, 8), "SF = 0: the wrapped result 0x7f");
    alu(0x39, 4, 0x12340000, 0x12340000);
    cr_assert(x86_cond(cpu, 4) && x86_cond(cpu, 6) && x86_cond(cpu, 13) && x86_cond(cpu, 14));
}

Test(flags, set_rflags_round_trip)
{
    reset32();
    uint64_t v = X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_ZF | X86_FLAG_OF | X86_FLAG_IF | X86_FLAG_DF
                 | (1ull << 3) | (1ull << 5) | (1ull << 15) | (1ull << 40);
    x86_set_rflags(cpu, v);
    uint64_t r = x86_get_rflags(cpu);
    /* reserved bits 3, 5, 15, 22..63 read 0, bit 1 reads 1 (SDM Vol. 1 Figure 3-8) */
    cr_assert_eq(r, X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_ZF | X86_FLAG_OF | X86_FLAG_IF
                    | X86_FLAG_DF | X86_FLAG_FIXED1);
    /* every combination of the six survives a lazy -> materialised round trip */
    for (uint64_t bits = 0; bits < 64; bits++) {
        static const uint64_t fl[6] = {X86_FLAG_CF, X86_FLAG_PF, X86_FLAG_AF, X86_FLAG_ZF,
                                       X86_FLAG_SF, X86_FLAG_OF};
        uint64_t f = 0;
        for (int k = 0; k < 6; k++)
            if (bits & (1u << k))
                f |= fl[k];
        x86_set_arith_flags(cpu, f);
        cr_assert_eq(x86_arith_flags(cpu), f);
        cr_assert_eq(x86_get_cf(cpu), !!(f & X86_FLAG_CF));
    }
}

Test(flags, lahf_sahf)
{
    reset32();
    x86_set_arith_flags(cpu, X86_FLAG_OF | X86_FLAG_SF | X86_FLAG_CF);
    struct x86_insn lahf = h_insn(0, 0x9f, 1, 0, 0);
    h_exec(cpu, &lahf);
    /* AH = SF:ZF:0:AF:0:PF:1:CF */
    cr_assert_eq((cpu->gpr[X86_RAX] >> 8) & 0xff, 0x83);
    cpu->gpr[X86_RAX] = 0x4400;    /* ZF | PF */
    struct x86_insn sahf = h_insn(0, 0x9e, 1, 0, 0);
    h_exec(cpu, &sahf);
    cr_assert_eq(x86_arith_flags(cpu), X86_FLAG_OF | X86_FLAG_ZF | X86_FLAG_PF, "OF kept");
}

/* SDM Vol. 2A DAA example: ADD AL,BL with AL=79H BL=35H gives AEH; DAA -> 14H, CF=1 AF=1 */
Test(flags, daa_sdm_example)
{
    reset32();
    alu(0x00, 1, 0x79, 0x35);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0xae);
    struct x86_insn daa = h_insn(0, 0x27, 1, 0, 0);
    cr_assert_eq(h_exec(cpu, &daa), -1);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0x14);
    uint64_t f = x86_arith_flags(cpu);
    cr_assert(f & X86_FLAG_CF);
    cr_assert(f & X86_FLAG_AF);
    cr_assert(!(f & X86_FLAG_ZF) && !(f & X86_FLAG_SF));
    cr_assert(f & X86_FLAG_PF);   /* 0x14 has two bits set */
}

/* SDM Vol. 2A DAS example: SUB AL,BL with AL=35H BL=47H gives EEH; DAS -> 88H, CF=1 AF=1 */
Test(flags, das_sdm_example)
{
    reset32();
    alu(0x28, 1, 0x35, 0x47);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0xee);
    struct x86_insn das = h_insn(0, 0x2f, 1, 0, 0);
    cr_assert_eq(h_exec(cpu, &das), -1);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0x88);
    uint64_t f = x86_arith_flags(cpu);
    cr_assert(f & X86_FLAG_CF);
    cr_assert(f & X86_FLAG_AF);
    cr_assert(f & X86_FLAG_SF);
}

Test(flags, aaa_aas_aam_aad)
{
    reset32();
    /* AAA after 8 + 5 (ASCII arithmetic): AL = 0DH -> AX = 0103H, CF = AF = 1 */
    cpu->gpr[X86_RAX] = 0x000d;
    struct x86_insn aaa = h_insn(0, 0x37, 1, 0, 0);
    h_exec(cpu, &aaa);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xffff, 0x0103);
    cr_assert_eq(x86_get_cf(cpu), 1);
    /* AAS after 3 - 5: AL = FEH, AH = 1 -> AH = 0, AL = 8 (borrow), CF = 1 */
    x86_set_arith_flags(cpu, X86_FLAG_AF);
    cpu->gpr[X86_RAX] = 0x01fe;
    struct x86_insn aas = h_insn(0, 0x3f, 1, 0, 0);
    h_exec(cpu, &aas);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xffff, 0x0008);
    cr_assert_eq(x86_get_cf(cpu), 1);
    /* AAM (base 10): AL = 3FH (63) -> AH = 6, AL = 3; AAD: back to 63 */
    cpu->gpr[X86_RAX] = 0x003f;
    struct x86_insn aam = h_insn(0, 0xd4, 1, 0, 0);
    aam.imm = 10;
    h_exec(cpu, &aam);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xffff, 0x0603);
    struct x86_insn aad = h_insn(0, 0xd5, 1, 0, 0);
    aad.imm = 10;
    h_exec(cpu, &aad);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xffff, 0x003f);
    aam.imm = 0;
    cr_assert_eq(h_exec(cpu, &aam), X86_EXC_DE, "AAM 0 raises #DE");
    cpu->code_mode = X86_MODE_64;
    cr_assert_eq(h_exec(cpu, &aaa), X86_EXC_UD, "BCD adjusts are #UD in 64-bit mode");
}

Test(flags, divide_errors_and_lock_rules)
{
    reset32();
    cpu->gpr[X86_RAX] = 5;
    cpu->gpr[X86_RDX] = 0;
    cpu->gpr[X86_RBX] = 0;
    struct x86_insn div = h_insn(0, 0xf7, 4, 6, X86_RBX);
    cr_assert_eq(h_exec(cpu, &div), X86_EXC_DE, "divide by zero");
    cpu->gpr[X86_RDX] = 1;
    cpu->gpr[X86_RBX] = 1;   /* 2^32 + 5 over 1 does not fit in 32 bits */
    cr_assert_eq(h_exec(cpu, &div), X86_EXC_DE, "quotient overflow");
    cr_assert_eq(cpu->gpr[X86_RAX], 5, "no register changed");
    struct x86_insn idiv = h_insn(0, 0xf7, 4, 7, X86_RBX);
    cpu->gpr[X86_RAX] = 0;
    cpu->gpr[X86_RDX] = 0x80000000;   /* INT64_MIN / -1 must not trap the host */
    cpu->gpr[X86_RBX] = 0xffffffff;
    cr_assert_eq(h_exec(cpu, &idiv), X86_EXC_DE);
    /* LOCK on a register destination: #UD (SDM Vol. 2A LOCK) */
    struct x86_insn add = h_insn(0, 0x01, 4, X86_RDX, X86_RAX);
    add.flags |= X86_INSN_LOCK;
    cr_assert_eq(h_exec(cpu, &add), X86_EXC_UD);
}
