/*
 * tests/unit/test_x87_diff.c - x87 handlers (D8-DF) against the host CPU
 * (see fpu_harness.h). Random stack contents (QNaN/SNaN, infinities,
 * denormals, unnormals, signed zeros, huge/small exponents), random TOP,
 * random empty registers (stack underflow/overflow paths), random FCW
 * precision and rounding control with masked exceptions. Compared: FCW,
 * FSW (C0-C3, TOP, exception and SF bits), the abridged tag word, every
 * non-empty register, the arithmetic flags (FCOMI/FUCOMI), the GPRs
 * (FNSTSW AX) and the memory buffer (stores). FIP/FDP/FOP are not compared
 * (the host's are the stub's addresses).
 */
#include <criterion/criterion.h>

#include "tests/unit/fpu_harness.h"

struct xform {
    const char *name;
    uint8_t op, modrm;     /* modrm: register form base (C0..FF) or /digit (0..7) for memory */
    bool mem, sti;         /* memory form; register form takes +i (0..7) */
};

static const struct xform xforms[] = {
#define ARITH(op_, n0, n1, n2, n3, n4, n5, n6, n7)                                    \
    { n0, op_, 0xc0, false, true }, { n1, op_, 0xc8, false, true }, { n2, op_, 0xd0, false, true }, \
    { n3, op_, 0xd8, false, true }, { n4, op_, 0xe0, false, true }, { n5, op_, 0xe8, false, true }, \
    { n6, op_, 0xf0, false, true }, { n7, op_, 0xf8, false, true }
    ARITH(0xd8, "fadd st,sti", "fmul st,sti", "fcom sti", "fcomp sti", "fsub st,sti", "fsubr st,sti",
          "fdiv st,sti", "fdivr st,sti"),
    ARITH(0xdc, "fadd sti,st", "fmul sti,st", "fcom2 sti", "fcomp3 sti", "fsubr sti,st", "fsub sti,st",
          "fdivr sti,st", "fdiv sti,st"),
    { "faddp", 0xde, 0xc0, false, true }, { "fmulp", 0xde, 0xc8, false, true },
    { "fsubrp", 0xde, 0xe0, false, true }, { "fsubp", 0xde, 0xe8, false, true },
    { "fdivrp", 0xde, 0xf0, false, true }, { "fdivp", 0xde, 0xf8, false, true },
    { "fcompp", 0xde, 0xd9, false, false },
    { "fcmovb", 0xda, 0xc0, false, true }, { "fcmove", 0xda, 0xc8, false, true },
    { "fcmovbe", 0xda, 0xd0, false, true }, { "fcmovu", 0xda, 0xd8, false, true },
    { "fucompp", 0xda, 0xe9, false, false },
    { "fcmovnb", 0xdb, 0xc0, false, true }, { "fcmovne", 0xdb, 0xc8, false, true },
    { "fcmovnbe", 0xdb, 0xd0, false, true }, { "fcmovnu", 0xdb, 0xd8, false, true },
    { "fucomi", 0xdb, 0xe8, false, true }, { "fcomi", 0xdb, 0xf0, false, true },
    { "fucomip", 0xdf, 0xe8, false, true }, { "fcomip", 0xdf, 0xf0, false, true },
    { "ffree", 0xdd, 0xc0, false, true }, { "fst sti", 0xdd, 0xd0, false, true },
    { "fstp sti", 0xdd, 0xd8, false, true }, { "fucom", 0xdd, 0xe0, false, true },
    { "fucomp", 0xdd, 0xe8, false, true },
    { "fld sti", 0xd9, 0xc0, false, true }, { "fxch", 0xd9, 0xc8, false, true },
    { "fnop", 0xd9, 0xd0, false, false },
    { "fchs", 0xd9, 0xe0, false, false }, { "fabs", 0xd9, 0xe1, false, false },
    { "ftst", 0xd9, 0xe4, false, false }, { "fxam", 0xd9, 0xe5, false, false },
    { "fld1", 0xd9, 0xe8, false, false }, { "fldl2t", 0xd9, 0xe9, false, false },
    { "fldl2e", 0xd9, 0xea, false, false }, { "fldpi", 0xd9, 0xeb, false, false },
    { "fldlg2", 0xd9, 0xec, false, false }, { "fldln2", 0xd9, 0xed, false, false },
    { "fldz", 0xd9, 0xee, false, false },
    { "f2xm1", 0xd9, 0xf0, false, false }, { "fyl2x", 0xd9, 0xf1, false, false },
    { "fptan", 0xd9, 0xf2, false, false }, { "fpatan", 0xd9, 0xf3, false, false },
    { "fxtract", 0xd9, 0xf4, false, false }, { "fprem1", 0xd9, 0xf5, false, false },
    { "fdecstp", 0xd9, 0xf6, false, false }, { "fincstp", 0xd9, 0xf7, false, false },
    { "fprem", 0xd9, 0xf8, false, false }, { "fyl2xp1", 0xd9, 0xf9, false, false },
    { "fsqrt", 0xd9, 0xfa, false, false }, { "fsincos", 0xd9, 0xfb, false, false },
    { "frndint", 0xd9, 0xfc, false, false }, { "fscale", 0xd9, 0xfd, false, false },
    { "fsin", 0xd9, 0xfe, false, false }, { "fcos", 0xd9, 0xff, false, false },
    { "fnclex", 0xdb, 0xe2, false, false }, { "fninit", 0xdb, 0xe3, false, false },
    { "fnstsw ax", 0xdf, 0xe0, false, false },
    /* memory forms */
#define ARITHM(op_, t)                                                                        \
    { "fadd " t, op_, 0, true, false }, { "fmul " t, op_, 1, true, false },                    \
    { "fcom " t, op_, 2, true, false }, { "fcomp " t, op_, 3, true, false },                   \
    { "fsub " t, op_, 4, true, false }, { "fsubr " t, op_, 5, true, false },                   \
    { "fdiv " t, op_, 6, true, false }, { "fdivr " t, op_, 7, true, false }
    ARITHM(0xd8, "m32fp"), ARITHM(0xda, "m32int"), ARITHM(0xdc, "m64fp"), ARITHM(0xde, "m16int"),
    { "fld m32", 0xd9, 0, true, false }, { "fst m32", 0xd9, 2, true, false },
    { "fstp m32", 0xd9, 3, true, false }, { "fldcw", 0xd9, 5, true, false },
    { "fnstcw", 0xd9, 7, true, false },
    { "fild m32", 0xdb, 0, true, false }, { "fisttp m32", 0xdb, 1, true, false },
    { "fist m32", 0xdb, 2, true, false }, { "fistp m32", 0xdb, 3, true, false },
    { "fld m80", 0xdb, 5, true, false }, { "fstp m80", 0xdb, 7, true, false },
    { "fld m64", 0xdd, 0, true, false }, { "fisttp m64", 0xdd, 1, true, false },
    { "fst m64", 0xdd, 2, true, false }, { "fstp m64", 0xdd, 3, true, false },
    { "fnstsw m16", 0xdd, 7, true, false },
    { "fild m16", 0xdf, 0, true, false }, { "fisttp m16", 0xdf, 1, true, false },
    { "fist m16", 0xdf, 2, true, false }, { "fistp m16", 0xdf, 3, true, false },
    { "fbld", 0xdf, 4, true, false }, { "fild m64", 0xdf, 5, true, false },
    { "fbstp", 0xdf, 6, true, false }, { "fistp m64", 0xdf, 7, true, false },
};

/* FLDCW operand: random precision/rounding control, exceptions masked (the host must not trap). */
static void prep_fldcw(void)
{
    uint16_t cw = (uint16_t)(0x3f | rnd());
    memcpy(tmem + 64, &cw, 2);
}

Test(x87_diff, all_forms, .init = setup, .fini = teardown)
{
    unsigned total_bad = 0;
    fprintf(stderr, "%-16s %6s %6s\n", "form", "cases", "bad");
    for (size_t fi = 0; fi < ARRAY_SIZE(xforms); fi++) {
        const struct xform *f = &xforms[fi];
        unsigned bad = 0, cases = 300;
        for (unsigned c = 0; c < cases; c++) {
            uint8_t bytes[4];
            size_t n = 0;
            bytes[n++] = f->op;
            if (f->mem) {
                bytes[n++] = (uint8_t)(0x40 | (f->modrm << 3) | 6);   /* [rsi+0] */
                bytes[n++] = 0;
            } else {
                bytes[n++] = (uint8_t)(f->modrm + (f->sti ? rnd() % 8 : 0));
            }
            /* Mostly full stacks; sometimes empties (underflow) or a full stack (overflow). */
            unsigned r = rnd() % 8, nempty = r < 4 ? 0 : r < 6 ? 1 + rnd() % 6 : 7 + rnd() % 2;
            h_rnd_state(&hs, nempty);
            h_prep = (f->op == 0xd9 && f->mem && f->modrm == 5) ? prep_fldcw : NULL;
            if (!run_case(bytes, n, f->name, bad < 2))
                bad++;
        }
        fprintf(stderr, "%-16s %6u %6u\n", f->name, cases, bad);
        total_bad += bad;
    }
    cr_assert_eq(total_bad, 0, "%u mismatching cases (see stderr)", total_bad);
}

/* FNINIT state (SDM Vol. 1 Table 8-1 / Vol. 3A Table 9-1) and x86_fpu_reset. */
Test(x87_diff, fninit_and_reset, .init = setup, .fini = teardown)
{
    memset(cpu, 0xa5, sizeof(*cpu));
    x86_fpu_reset(cpu);
    cr_assert_eq(cpu->fcw, 0x037f);
    cr_assert_eq(cpu->fsw, 0);
    cr_assert_eq(cpu->ftw, 0xffff, "all empty");
    cr_assert_eq(cpu->mxcsr, 0x1f80);
}

/* #NM when CR0.TS or CR0.EM; FWAIT #NM only with MP and TS; pending unmasked -> #MF. */
Test(x87_diff, nm_and_mf, .init = setup, .fini = teardown)
{
    static const uint8_t fadd[] = { 0xd8, 0xc1 }, fwait[] = { 0x9b }, fnclex[] = { 0xdb, 0xe2 };
    static const uint8_t fdiv[] = { 0xd8, 0xf1 };
    memset(cpu, 0, sizeof(*cpu));
    h_rnd_state(&hs, 0);
    h_cpu_load(cpu, &hs);
    cpu->cr0 |= X86_CR0_TS;
    cr_assert_eq(h_emu_run(cpu, fadd, 2), X86_EXC_NM);
    cr_assert_eq(h_emu_run(cpu, fwait, 1), X86_EXC_NM);
    cpu->cr0 &= ~(X86_CR0_TS | X86_CR0_MP);
    cpu->cr0 |= X86_CR0_EM;
    cr_assert_eq(h_emu_run(cpu, fadd, 2), X86_EXC_NM);
    cr_assert_eq(h_emu_run(cpu, fwait, 1), -1, "FWAIT ignores EM");
    cpu->cr0 &= ~X86_CR0_EM;
    /* Unmasked divide by zero: ZE + ES + B, destination kept, then #MF on the next FWAIT. */
    x86_fpu_reset(cpu);
    cpu->fcw = 0x037f & ~0x4;
    union x86_fpreg one = { .f = 1.0L }, zero = { .f = 0.0L };
    cpu->fsw = 6u << 11;
    cpu->st[6] = one;
    cpu->st[7] = zero;
    cpu->ftw = (uint16_t)~(0xfu << 12) | (1u << 14);   /* R6 valid, R7 zero */
    cr_assert_eq(h_emu_run(cpu, fdiv, 2), -1);
    cr_assert(cpu->fsw & 0x4, "ZE");
    cr_assert(cpu->fsw & 0x80, "ES");
    cr_assert(cpu->st[6].f == 1.0L, "destination unchanged");
    cr_assert_eq(h_emu_run(cpu, fwait, 1), X86_EXC_MF);
    cr_assert_eq(h_emu_run(cpu, fnclex, 2), -1, "non-waiting form does not fault");
    cr_assert_eq(h_emu_run(cpu, fwait, 1), -1);
}

/* A host FNSAVE image (108 bytes, 32-bit protected-mode format) of a random state at tmem+64. */
static void prep_fnsave_image(void)
{
    static const uint8_t fnsave[] = { 0xdd, 0x76, 0x00 };       /* fnsave [rsi] */
    struct hstate saved = hs, tmp;
    h_rnd_state(&tmp, rnd() % 9);
    hstub_build(fnsave, sizeof(fnsave))(&tmp);
    hs = saved;
}

/* FRSTOR / FLDENV of host-made images: compared through the whole state (run_case). */
Test(x87_diff, frstor_fldenv, .init = setup, .fini = teardown)
{
    static const uint8_t frstor[] = { 0xdd, 0x66, 0x00 }, fldenv[] = { 0xd9, 0x66, 0x00 };
    unsigned bad = 0;
    h_prep = prep_fnsave_image;
    for (unsigned c = 0; c < 200; c++) {
        h_rnd_state(&hs, rnd() % 9);
        if (!run_case(c & 1 ? fldenv : frstor, 3, c & 1 ? "fldenv" : "frstor", bad < 2))
            bad++;
    }
    h_prep = NULL;
    cr_assert_eq(bad, 0);
}

/*
 * FNSAVE / FNSTENV: the stored image (except FIP/FCS/FOP/FDP/FDS, bytes
 * 12..27, which are the host stub's own) and the state left behind
 * (FNSAVE reinitialises, FNSTENV masks all exceptions).
 */
Test(x87_diff, fnsave_fnstenv, .init = setup, .fini = teardown)
{
    static const uint8_t fnsave[] = { 0xdd, 0x76, 0x00 }, fnstenv[] = { 0xd9, 0x76, 0x00 };
    uint8_t host_mem[128], img[416];
    for (unsigned c = 0; c < 200; c++) {
        bool save = c & 1;
        const uint8_t *b = save ? fnsave : fnstenv;
        unsigned len = save ? 108 : 28;
        h_rnd_state(&hs, rnd() % 9);
        memset(tmem, 0x5a, sizeof(tmem));
        hstub_build(b, 3)(&hs);
        memcpy(host_mem, tmem + 64, len);
        memset(tmem, 0x5a, sizeof(tmem));
        memset(cpu, 0, sizeof(*cpu));
        h_cpu_load(cpu, &hs);
        cr_assert_eq(h_emu_run(cpu, b, 3), -1);
        cr_assert(memcmp(tmem + 64, host_mem, 12) == 0, "%s header: emu %08x %08x %08x host %08x %08x %08x",
                  save ? "fnsave" : "fnstenv", ((uint32_t *)(tmem + 64))[0], ((uint32_t *)(tmem + 64))[1],
                  ((uint32_t *)(tmem + 64))[2], ((uint32_t *)host_mem)[0], ((uint32_t *)host_mem)[1],
                  ((uint32_t *)host_mem)[2]);
        cr_assert(memcmp(tmem + 64 + 28, host_mem + 28, len - 28) == 0, "registers");
        h_cpu_image(cpu, img);
        cr_assert(memcmp(img, hs.fx_out, 5) == 0, "state after: emu %04x %04x %02x host %04x %04x %02x",
                  *(uint16_t *)img, *(uint16_t *)(img + 2), img[4], *(uint16_t *)hs.fx_out,
                  *(uint16_t *)(hs.fx_out + 2), hs.fx_out[4]);
    }
}
