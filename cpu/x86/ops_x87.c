/*
 * cpu/x86/ops_x87.c - the x87 FPU: escape opcodes D8-DF and FWAIT (9B),
 * SDM Vol. 1 ch. 8 (state, tags, exceptions) and Vol. 2 F* pages.
 *
 * Decisions:
 *  - Arithmetic runs the same host x87 instruction on copies of the
 *    operands: a tiny host stack (at most three entries, loaded with FLD
 *    m80, stored with FSTP m80, neither of which converts or raises) under a
 *    host control word = guest FCW precision and rounding control with every
 *    exception masked. The host status word's exception bits are ORed into
 *    the guest FSW, and C0..C3 are taken from the host (so FPREM quotient
 *    bits, FXAM classes, FCOM results, C1 round-up are bit-exact).
 *  - Memory operands are first converted to 80 bits on the host (FLD m32/m64
 *    raise #IA on SNaN and #D on denormals exactly like the arithmetic form).
 *  - Stack faults (SDM Vol. 1 8.5.1.1): IE|SF, C1 = 1 on overflow, 0 on
 *    underflow. Masked: the QNaN floating-point indefinite is used/stored.
 *  - Unmasked exceptions set ES and B. An unmasked pre-computation
 *    exception (#IA/#D/#Z) aborts the instruction: the destination and C1
 *    are not written and no post-computation flag (#O/#U/#P) is reported
 *    (SDM Vol. 1 8.5). For unmasked #O/#U on a register destination the
 *    host runs the operation with the guest's OM/UM, so the stored result
 *    carries the hardware's exponent-bias adjustment (SDM Vol. 1 8.5.3,
 *    8.5.4). A store to memory (FST/FIST/FISTTP/FBSTP m) writes nothing and
 *    does not pop when it raises an unmasked exception other than #P, and
 *    then cannot #PF (checked on the host). #MF is
 *    delivered at the next waiting x87/MMX instruction, whatever CR0.NE
 *    (the legacy FERR#/IRQ13 path is not modelled).
 *  - Reserved encodings raise #UD before the pending-exception (#MF) check;
 *    the no-wait forms (FNCLEX, FNINIT, FNSTSW, FNSTCW, FNSTENV, FNSAVE and
 *    the 8087/287 leftovers FNENI/FNDISI/FNSETPM) never raise #MF.
 *  - Where the SDM leaves C1 undefined or silent, qtemu follows Intel
 *    hardware as measured by tests/diff (FFREE clears C1, FCMOVcc and
 *    FCOMI leave it; the undocumented aliases DF C8+i = FXCH, DF D0+i /
 *    DF D8+i = FSTP, D9 D8+i = FSTP without stack-underflow check).
 *  - FNSTENV/FLDENV/FNSAVE/FRSTOR use the protected-mode layouts when
 *    CR0.PE = 1 and RFLAGS.VM = 0, else the real-mode layouts (SDM Vol. 1
 *    8.1.10, Figures 8-9..8-12). FIP/FCS and FDP/FDS are kept internally as
 *    offset + selector (what FXSAVE stores); the real-mode image holds the
 *    linear addresses (selector << 4) + offset, truncated to 20 bits in the
 *    16-bit format and to 32 in the 32-bit one, and the real-mode 16-bit
 *    image also carries FOP. Loading a real-mode image sets FIP/FDP to those
 *    linear addresses with FCS = FDS = 0, so a store/load/store round trip is
 *    exact. Reserved high halves of the 32-bit image are stored as 0xffff.
 */
#include "cpu/x86/sse_priv.h"

/* ---------------------------------------------------------------- stack and tags */

static inline unsigned x87_top(struct x86_cpu *cpu) { return (cpu->fsw >> FSW_TOP_SHIFT) & 7; }
static inline void x87_set_top(struct x86_cpu *cpu, unsigned top)
{
    cpu->fsw = (uint16_t)((cpu->fsw & ~FSW_TOP) | ((top & 7) << FSW_TOP_SHIFT));
}
static inline unsigned st_phys(struct x86_cpu *cpu, unsigned i) { return (x87_top(cpu) + i) & 7; }
static inline unsigned tag_of(struct x86_cpu *cpu, unsigned phys) { return (cpu->ftw >> (2 * phys)) & 3; }
static inline void set_tag(struct x86_cpu *cpu, unsigned phys, unsigned tag)
{
    cpu->ftw = (uint16_t)((cpu->ftw & ~(3u << (2 * phys))) | (tag << (2 * phys)));
}

/** Tag class of a register's contents (SDM Vol. 1 8.1.7): valid, zero or special. */
static unsigned classify(const union x86_fpreg *r)
{
    unsigned exp = r->raw.sign_exp & 0x7fff;
    if (exp == 0x7fff)
        return FTAG_SPECIAL;
    if (exp == 0)
        return r->raw.mant == 0 ? FTAG_ZERO : FTAG_SPECIAL;
    return (r->raw.mant >> 63) ? FTAG_VALID : FTAG_SPECIAL;   /* unnormal */
}

uint16_t x87_full_tag(struct x86_cpu *cpu, unsigned phys)
{
    return (uint16_t)classify(&cpu->st[phys & 7]);
}

/** The QNaN floating-point indefinite (SDM Vol. 1 Table 4-3). */
static union x86_fpreg fp_indefinite(void)
{
    union x86_fpreg r;
    memset(&r, 0, sizeof(r));
    r.raw.mant = 0xc000000000000000ull;
    r.raw.sign_exp = 0xffff;
    return r;
}

static inline union x86_fpreg fpreg_of(long double f)
{
    union x86_fpreg r;
    memset(&r, 0, sizeof(r));
    r.f = f;
    return r;
}

/** Write ST(i) and its tag. */
static void st_write(struct x86_cpu *cpu, unsigned i, union x86_fpreg v)
{
    unsigned p = st_phys(cpu, i);
    memset(cpu->st[p].bytes + 10, 0, 6);
    memcpy(cpu->st[p].bytes, v.bytes, 10);
    set_tag(cpu, p, classify(&cpu->st[p]));
}

/**
 * Record exceptions @sw (FSW exception bits) and C0..C3 (@cmask of @sw).
 * Returns true if the destination must not be written (an unmasked
 * pre-computation exception: #IA, #D, #Z).
 */
static bool x87_flags(struct x86_cpu *cpu, uint16_t sw, uint16_t cmask)
{
    const uint16_t pre = FSW_IE | FSW_DE | FSW_ZE;
    uint16_t exc = sw & 0x3f;
    uint16_t unmasked = exc & ~cpu->fcw & 0x3f;
    if (unmasked & pre) {
        /* Aborted before the computation: no result, no #O/#U/#P and C1 = 0
         * where the instruction writes C1 (as the hardware); compares still
         * report "unordered" in C3/C2/C0. */
        sw &= (uint16_t)~FSW_C1;
        exc &= pre;
    }
    cpu->fsw = (uint16_t)((cpu->fsw & ~cmask) | (sw & cmask) | exc);
    if (unmasked)
        cpu->fsw |= FSW_ES | FSW_B;
    return (unmasked & pre) != 0;
}

#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/**
 * Stack fault (SDM Vol. 1 8.5.1.1): IE|SF, C1 = @overflow. Returns true if
 * the instruction must stop (IM unmasked).
 */
static bool stack_fault(struct x86_cpu *cpu, bool overflow)
{
    cpu->fsw = (uint16_t)((cpu->fsw & ~FSW_C1) | FSW_IE | FSW_SF | (overflow ? FSW_C1 : 0));
    if (!(cpu->fcw & FSW_IE)) {
        cpu->fsw |= FSW_ES | FSW_B;
        return true;
    }
    return false;
}

/* st_get results: 0 = stop (unmasked stack fault), 1 = value, 2 = masked underflow. */
enum { ST_STOP = 0, ST_OK = 1, ST_UNDERFLOW = 2 };

/**
 * Read ST(i) into @out. On an empty register: stack underflow; returns
 * ST_STOP if the instruction must stop, else ST_UNDERFLOW with *out =
 * indefinite (an arithmetic result is then the indefinite itself, whatever
 * the other operand, SDM Vol. 1 8.5.1.1).
 */
static int st_get(struct x86_cpu *cpu, unsigned i, union x86_fpreg *out)
{
    unsigned p = st_phys(cpu, i);
    if (tag_of(cpu, p) == FTAG_EMPTY) {
        if (stack_fault(cpu, false))
            return ST_STOP;
        *out = fp_indefinite();
        return ST_UNDERFLOW;
    }
    *out = cpu->st[p];
    return ST_OK;
}

/**
 * A compare stopped by an unmasked stack fault or #IA: Intel hardware still
 * reports "unordered" (C3 C2 C0 = 111) although the SDM's FCOM/FUCOM/FTST
 * tables footnote that the flags are not set (measured by tests/diff).
 */
static void cmp_unordered(struct x86_cpu *cpu)
{
    cpu->fsw |= FSW_C0 | FSW_C2 | FSW_C3;
}

/** Read ST(i) and ST(j); false = stop; *uf = a masked underflow happened. */
static bool st_get2(struct x86_cpu *cpu, unsigned i, union x86_fpreg *x, unsigned j,
                    union x86_fpreg *y, bool *uf)
{
    int a = st_get(cpu, i, x);
    if (!a)
        return false;
    int b = st_get(cpu, j, y);
    if (!b)
        return false;
    *uf = a == ST_UNDERFLOW || b == ST_UNDERFLOW;
    return true;
}

static void x87_pop(struct x86_cpu *cpu)
{
    set_tag(cpu, x87_top(cpu), FTAG_EMPTY);
    x87_set_top(cpu, x87_top(cpu) + 1);
}

/**
 * Push @v. On overflow (ST(7) not empty): masked -> push the indefinite,
 * unmasked -> no change. Returns false if nothing was pushed.
 */
static bool x87_push(struct x86_cpu *cpu, union x86_fpreg v)
{
    unsigned p = (x87_top(cpu) - 1) & 7;
    if (tag_of(cpu, p) != FTAG_EMPTY) {
        if (stack_fault(cpu, true))
            return false;
        v = fp_indefinite();
    }
    x87_set_top(cpu, p);
    st_write(cpu, 0, v);
    return true;
}

/** True if pushing would overflow, handling the fault; returns true to stop. */
static bool push_would_fail(struct x86_cpu *cpu)
{
    unsigned p = (x87_top(cpu) - 1) & 7;
    return tag_of(cpu, p) != FTAG_EMPTY && !(cpu->fcw & FSW_IE);
}

/* ---------------------------------------------------------------- host execution */

enum hx_op {
    HX_ADD, HX_MUL, HX_COM, HX_COMP_UNUSED, HX_SUB, HX_SUBR, HX_DIV, HX_DIVR,   /* = ModRM /digit */
    HX_UCOM, HX_TST, HX_XAM, HX_SQRT, HX_RNDINT, HX_F2XM1, HX_SIN, HX_COS,
    HX_SCALE, HX_PREM, HX_PREM1, HX_PATAN, HX_YL2X, HX_YL2XP1, HX_PTAN, HX_SINCOS,
    HX_XTRACT,
    HX_LD1, HX_LDL2T, HX_LDL2E, HX_LDPI, HX_LDLG2, HX_LDLN2,
    HX_LDF32, HX_LDF64, HX_STF32, HX_STF64, HX_IST16, HX_IST32, HX_IST64,
    HX_ISTT16, HX_ISTT32, HX_ISTT64, HX_BLD, HX_BSTP,
};

/**
 * Host control word for an operation: the guest's precision and rounding
 * control; every exception masked, except overflow and underflow when the
 * guest unmasks them and @arith (an arithmetic op with a register
 * destination, or FST m32/m64): the host then leaves the bias-adjusted
 * result of SDM Vol. 1 8.5.3/8.5.4 in a register destination, signals #U
 * for a tiny exact result as the guest's unmasked #U must, and only records
 * the exception (no trap is taken: ES is cleared with FNCLEX before the
 * next waiting instruction).
 */
static inline uint16_t host_cw(const struct x86_cpu *cpu, bool arith)
{
    uint16_t cw = (uint16_t)((cpu->fcw & 0x0f00) | 0x7f);
    if (arith)
        cw &= (uint16_t)~(~cpu->fcw & (FSW_OE | FSW_UE));
    return cw;
}

/**
 * Run host operation @k with ST0 = *a, ST1 = *b (80-bit), results in *a
 * (and *b for two-result ops; memory images in @m). Returns the host FSW.
 * Host control word: guest PC/RC, all exceptions masked.
 */
static noinline uint16_t hx(struct x86_cpu *cpu, enum hx_op k, long double *a, long double *b,
                            void *m)
{
    uint16_t cw = host_cw(cpu, k < HX_LDF32 || k == HX_STF32 || k == HX_STF64), saved, sw = 0;
    __asm__ volatile("fnstcw %0" : "=m"(saved));
    /* Condition codes start as the guest's, so bits an instruction leaves unchanged stay so. */
    uint32_t env[7] = { cw, cpu->fsw & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3), 0xffff, 0, 0, 0, 0 };
    __asm__ volatile("fldenv %0" : : "m"(env));
#define A2(ins) __asm__ volatile("fldt %2\n\tfldt %0\n\t" ins "\n\tfnstsw %1\n\tfnclex\n\tfstpt %0\n\tfstp %%st(0)" \
                                 : "+m"(*a), "=m"(sw) : "m"(*b) : "st", "st(1)")
#define A1(ins) __asm__ volatile("fldt %0\n\t" ins "\n\tfnstsw %1\n\tfnclex\n\tfstpt %0" : "+m"(*a), "=m"(sw) : : "st")
#define AP(ins) __asm__ volatile("fldt %2\n\tfldt %0\n\t" ins "\n\tfnstsw %1\n\tfnclex\n\tfstpt %0" \
                                 : "+m"(*a), "=m"(sw) : "m"(*b) : "st", "st(1)")
#define A0(ins) __asm__ volatile(ins "\n\tfnstsw %1\n\tfstpt %0" : "=m"(*a), "=m"(sw) : : "st")
    switch (k) {
    case HX_ADD: A2("fadd %%st(1), %%st"); break;
    case HX_MUL: A2("fmul %%st(1), %%st"); break;
    case HX_SUB: A2("fsub %%st(1), %%st"); break;
    case HX_SUBR: A2("fsubr %%st(1), %%st"); break;
    case HX_DIV: A2("fdiv %%st(1), %%st"); break;
    case HX_DIVR: A2("fdivr %%st(1), %%st"); break;
    case HX_COM: case HX_COMP_UNUSED: A2("fcom %%st(1)"); break;
    case HX_UCOM: A2("fucom %%st(1)"); break;
    case HX_TST: A1("ftst"); break;
    case HX_XAM: A1("fxam"); break;
    case HX_SQRT: A1("fsqrt"); break;
    case HX_RNDINT: A1("frndint"); break;
    case HX_F2XM1: A1("f2xm1"); break;
    case HX_SIN: A1("fsin"); break;
    case HX_COS: A1("fcos"); break;
    case HX_SCALE: A2("fscale"); break;
    case HX_PREM: A2("fprem"); break;
    case HX_PREM1: A2("fprem1"); break;
    case HX_PATAN: AP("fpatan"); break;     /* ST1 = atan(ST1/ST0), pop: result in *a */
    case HX_YL2X: AP("fyl2x"); break;
    case HX_YL2XP1: AP("fyl2xp1"); break;
    case HX_PTAN:
        __asm__ volatile("fldt %0\n\tfptan\n\tfnstsw %2\n\tfnclex\n\tfstpt %1\n\tfstpt %0" : "+m"(*a), "=m"(*b), "=m"(sw) : : "st", "st(1)");
        break;
    case HX_SINCOS:
        __asm__ volatile("fldt %0\n\tfsincos\n\tfnstsw %2\n\tfnclex\n\tfstpt %1\n\tfstpt %0" : "+m"(*a), "=m"(*b), "=m"(sw) : : "st", "st(1)");
        break;
    case HX_XTRACT:
        __asm__ volatile("fldt %0\n\tfxtract\n\tfnstsw %2\n\tfnclex\n\tfstpt %1\n\tfstpt %0" : "+m"(*a), "=m"(*b), "=m"(sw) : : "st", "st(1)");
        break;
    case HX_LD1: A0("fld1"); break;
    case HX_LDL2T: A0("fldl2t"); break;
    case HX_LDL2E: A0("fldl2e"); break;
    case HX_LDPI: A0("fldpi"); break;
    case HX_LDLG2: A0("fldlg2"); break;
    case HX_LDLN2: A0("fldln2"); break;
    case HX_LDF32: __asm__ volatile("flds %2\n\tfnstsw %1\n\tfstpt %0" : "=m"(*a), "=m"(sw) : "m"(*(float *)m) : "st"); break;
    case HX_LDF64: __asm__ volatile("fldl %2\n\tfnstsw %1\n\tfstpt %0" : "=m"(*a), "=m"(sw) : "m"(*(double *)m) : "st"); break;
    /* FST (no pop) then pop after FNCLEX: with an unmasked #U/#O the host neither stores nor pops. */
    case HX_STF32: __asm__ volatile("fldt %2\n\tfsts %0\n\tfnstsw %1\n\tfnclex\n\tfstp %%st(0)" : "=m"(*(float *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_STF64: __asm__ volatile("fldt %2\n\tfstl %0\n\tfnstsw %1\n\tfnclex\n\tfstp %%st(0)" : "=m"(*(double *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_IST16: __asm__ volatile("fldt %2\n\tfistps %0\n\tfnstsw %1" : "=m"(*(int16_t *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_IST32: __asm__ volatile("fldt %2\n\tfistpl %0\n\tfnstsw %1" : "=m"(*(int32_t *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_IST64: __asm__ volatile("fldt %2\n\tfistpll %0\n\tfnstsw %1" : "=m"(*(int64_t *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_ISTT16: __asm__ volatile("fldt %2\n\tfisttps %0\n\tfnstsw %1" : "=m"(*(int16_t *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_ISTT32: __asm__ volatile("fldt %2\n\tfisttpl %0\n\tfnstsw %1" : "=m"(*(int32_t *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_ISTT64: __asm__ volatile("fldt %2\n\tfisttpll %0\n\tfnstsw %1" : "=m"(*(int64_t *)m), "=m"(sw) : "m"(*a) : "st"); break;
    case HX_BLD: __asm__ volatile("fbld %2\n\tfnstsw %1\n\tfstpt %0" : "=m"(*a), "=m"(sw) : "m"(*(char(*)[10])m) : "st"); break;
    case HX_BSTP: __asm__ volatile("fldt %2\n\tfbstp %0\n\tfnstsw %1" : "=m"(*(char(*)[10])m), "=m"(sw) : "m"(*a) : "st"); break;
    }
#undef A2
#undef A1
#undef AP
#undef A0
    __asm__ volatile("fnclex\n\tfldcw %0" : : "m"(saved));
    return sw & (uint16_t)~(FSW_SF | FSW_ES | FSW_B | FSW_TOP);
}

/**
 * ST(0) op memory operand on the host, with the real memory-operand form
 * (so operand checks happen in the hardware's order: NaN before denormal).
 * @kind: 0 = m32fp, 1 = m32int, 2 = m64fp, 3 = m16int; @d: /digit (FCOM/FCOMP
 * both run FCOM). Result in *a; returns the host FSW (as hx()).
 */
static noinline uint16_t hx_mem(struct x86_cpu *cpu, unsigned kind, unsigned d, long double *a,
                                const uint64_t *m)
{
    uint16_t cw = host_cw(cpu, true), saved, sw = 0;
    uint32_t env[7] = { cw, cpu->fsw & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3), 0xffff, 0, 0, 0, 0 };
    __asm__ volatile("fnstcw %0" : "=m"(saved));
    __asm__ volatile("fldenv %0" : : "m"(env));
#define M1(ins) __asm__ volatile("fldt %0\n\t" ins " %2\n\tfnstsw %1\n\tfnclex\n\tfstpt %0" \
                                 : "+m"(*a), "=m"(sw) : "m"(*m) : "st")
#define MROW(pre, sfx)                                                            \
    switch (d) {                                                                  \
    case 0: M1(pre "add" sfx); break;                                             \
    case 1: M1(pre "mul" sfx); break;                                             \
    case 2: case 3: M1(pre "com" sfx); break;                                     \
    case 4: M1(pre "sub" sfx); break;                                             \
    case 5: M1(pre "subr" sfx); break;                                            \
    case 6: M1(pre "div" sfx); break;                                             \
    default: M1(pre "divr" sfx); break;                                           \
    }
    switch (kind) {
    case 0: MROW("f", "s"); break;
    case 1: MROW("fi", "l"); break;
    case 2: MROW("f", "l"); break;
    default: MROW("fi", "s"); break;
    }
#undef MROW
#undef M1
    __asm__ volatile("fnclex\n\tfldcw %0" : : "m"(saved));
    return sw & (uint16_t)~(FSW_SF | FSW_ES | FSW_B | FSW_TOP);
}

/* ---------------------------------------------------------------- checks, pointers */

void x87_check_wait(struct x86_cpu *cpu)
{
    if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
        x86_raise(cpu, X86_EXC_NM);
    if (cpu->fsw & FSW_ES)
        x86_raise(cpu, X86_EXC_MF);
}

static void x87_check_nowait(struct x86_cpu *cpu)
{
    if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
        x86_raise(cpu, X86_EXC_NM);
}

/** Record FIP/FCS/FOP (and FDP/FDS for memory forms), SDM Vol. 1 8.1.8-8.1.9. */
static void x87_set_pointers(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    cpu->fip = cpu->rip;
    cpu->fcs = cpu->seg[X86_CS].sel;
    cpu->fop = (uint16_t)((((insn->op & 0xff) & 7) << 8) | insn->modrm);
    if (insn->flags & X86_INSN_MEM) {
        cpu->fdp = x86_ea(cpu, insn);
        cpu->fds = cpu->seg[insn->seg].sel;
    }
}

void x86_fpu_reset(struct x86_cpu *cpu)
{
    cpu->fcw = 0x037f;
    cpu->fsw = 0;
    cpu->ftw = 0xffff;
    cpu->fop = 0;
    cpu->fip = cpu->fdp = 0;
    cpu->fcs = cpu->fds = 0;
    cpu->mxcsr = 0x1f80;
}

/* ---------------------------------------------------------------- arithmetic */

/**
 * Arithmetic /digit @d (0 FADD, 1 FMUL, 2 FCOM, 3 FCOMP, 4 FSUB, 5 FSUBR,
 * 6 FDIV, 7 FDIVR) of @x (destination side) and @y; result to ST(@dst).
 */
static void arith(struct x86_cpu *cpu, unsigned d, union x86_fpreg x, union x86_fpreg y,
                  unsigned dst, unsigned pops, bool uf)
{
    long double a = x.f, b = y.f;
    if (uf) {                       /* masked stack underflow: unordered / indefinite */
        if (d == 2 || d == 3)
            cpu->fsw = (uint16_t)((cpu->fsw & ~FSW_CC) | FSW_C0 | FSW_C2 | FSW_C3);
        else
            st_write(cpu, dst, fp_indefinite());
        while (pops--)
            x87_pop(cpu);
        return;
    }
    if (d == 2 || d == 3) {
        uint16_t sw = hx(cpu, HX_COM, &a, &b, NULL);
        if (x87_flags(cpu, sw, FSW_CC))
            return;
        cpu->fsw &= ~FSW_C1;
        while (pops--)
            x87_pop(cpu);
        return;
    }
    uint16_t sw = hx(cpu, (enum hx_op)d, &a, &b, NULL);
    if (x87_flags(cpu, sw, FSW_CC))
        return;
    st_write(cpu, dst, fpreg_of(a));
    while (pops--)
        x87_pop(cpu);
}

/** D8 / DA / DC / DE memory forms: ST(0) op m32fp / m32int / m64fp / m16int. */
static void arith_mem(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned kind)
{
    static const uint8_t size[4] = { 4, 4, 8, 2 };
    unsigned d = x86_modrm_digit(insn);
    uint64_t raw = x86_mem_read(cpu, insn, size[kind]);
    union x86_fpreg x;
    int r = st_get(cpu, 0, &x);
    if (!r) {
        if (d == 2 || d == 3)
            cmp_unordered(cpu);
        return;
    }
    if (r == ST_UNDERFLOW) {
        arith(cpu, d, x, x, 0, d == 3, true);
        return;
    }
    long double a = x.f;
    uint16_t sw = hx_mem(cpu, kind, d, &a, &raw);
    if (x87_flags(cpu, sw, FSW_CC))
        return;
    if (d != 2 && d != 3)
        st_write(cpu, 0, fpreg_of(a));
    else if (d == 3)
        x87_pop(cpu);
}

/** ST(0) op ST(@i) (op /digit @d as in arith()), result to ST(0), then @pops pops. */
static void arith_st0(struct x86_cpu *cpu, unsigned d, unsigned i, unsigned pops)
{
    union x86_fpreg x, y;
    bool uf;
    if (!st_get2(cpu, 0, &x, i, &y, &uf)) {
        if (d == 2 || d == 3)
            cmp_unordered(cpu);
        return;
    }
    arith(cpu, d, x, y, 0, pops, uf);
}

/* ---------------------------------------------------------------- D8 */

static void op_d8(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x87_check_wait(cpu);
    x87_set_pointers(cpu, insn);
    if (insn->flags & X86_INSN_MEM) {
        arith_mem(cpu, insn, 0);
        return;
    }
    unsigned d = x86_modrm_digit(insn);
    arith_st0(cpu, d, insn->modrm & 7, d == 3);
}

/* DC and DE register forms: ST(i) = ST(i) op ST(0); SUB/SUBR and DIV/DIVR swap meaning. */
static void arith_sti(struct x86_cpu *cpu, const struct x86_insn *insn, bool pop)
{
    static const uint8_t map[8] = { 0, 1, 2, 3, 5, 4, 7, 6 };
    unsigned d = map[x86_modrm_digit(insn)], i = insn->modrm & 7;
    union x86_fpreg x, y;
    bool uf;
    if (!st_get2(cpu, i, &x, 0, &y, &uf)) {
        if (d == 2 || d == 3)
            cmp_unordered(cpu);
        return;
    }
    if (d == 2 || d == 3) {        /* DC D0/D8 (aliases of FCOM/FCOMP): compare ST(0) with ST(i) */
        arith(cpu, d, y, x, 0, d == 3, uf);
        return;
    }
    arith(cpu, d, x, y, i, pop, uf);
}

static void op_dc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x87_check_wait(cpu);
    x87_set_pointers(cpu, insn);
    if (insn->flags & X86_INSN_MEM)
        arith_mem(cpu, insn, 2);
    else
        arith_sti(cpu, insn, false);
}

static void op_de(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x87_check_wait(cpu);
    x87_set_pointers(cpu, insn);
    if (insn->flags & X86_INSN_MEM) {
        arith_mem(cpu, insn, 3);
        return;
    }
    unsigned d = x86_modrm_digit(insn);
    if (d == 3) {                   /* DE D9: FCOMPP; other DE D8+i: #UD */
        if ((insn->modrm & 7) != 1)
            x86_op_ud(cpu, insn);
        else
            arith_st0(cpu, 2, 1, 2);
        return;
    }
    if (d == 2) {                   /* DE D0+i: FCOMP alias */
        arith_st0(cpu, 2, insn->modrm & 7, 1);
        return;
    }
    arith_sti(cpu, insn, true);
}

/* ---------------------------------------------------------------- compare into EFLAGS, FCMOV */

/** FCOMI/FUCOMI(P) (DB/DF E8+i, F0+i): ZF=C3, PF=C2, CF=C0 (SDM Vol. 2 FCOMI). */
static void fcomi(struct x86_cpu *cpu, const struct x86_insn *insn, bool unordered, bool pop)
{
    union x86_fpreg x, y;
    if (!st_get(cpu, 0, &x) || !st_get(cpu, insn->modrm & 7, &y)) {
        x86_set_arith_flags(cpu, X86_FLAG_ZF | X86_FLAG_PF | X86_FLAG_CF);
        return;
    }
    long double a = x.f, b = y.f;
    uint16_t sw = hx(cpu, unordered ? HX_UCOM : HX_COM, &a, &b, NULL);
    /* The SDM says C1 = 0 and, for an unmasked #IA, EFLAGS not set; Intel
     * hardware leaves C1 unchanged and sets ZF PF CF = unordered anyway
     * (measured by tests/diff). */
    bool stop = x87_flags(cpu, sw, 0);
    x86_set_arith_flags(cpu, ((sw & FSW_C3) ? X86_FLAG_ZF : 0) | ((sw & FSW_C2) ? X86_FLAG_PF : 0) |
                                 ((sw & FSW_C0) ? X86_FLAG_CF : 0));
    if (pop && !stop)
        x87_pop(cpu);
}

/** FUCOM ST(@i) then @pops pops (DD E0+i/E8+i FUCOM/FUCOMP, DA E9 FUCOMPP). */
static void fucom(struct x86_cpu *cpu, unsigned i, unsigned pops)
{
    union x86_fpreg x, y;
    if (!st_get(cpu, 0, &x) || !st_get(cpu, i, &y)) {
        cmp_unordered(cpu);
        return;
    }
    long double a = x.f, b = y.f;
    uint16_t sw = hx(cpu, HX_UCOM, &a, &b, NULL);
    if (x87_flags(cpu, sw, FSW_CC))
        return;
    cpu->fsw &= ~FSW_C1;
    while (pops--)
        x87_pop(cpu);
}

/** FCMOVcc (DA/DB C0-DF): condition /digit 0 B, 1 E, 2 BE, 3 U; @neg for DB. */
static void fcmov(struct x86_cpu *cpu, const struct x86_insn *insn, bool neg)
{
    static const uint8_t cc[4] = { 2, 4, 6, 10 };   /* B, E, BE, P (SDM Vol. 2 Table B-1) */
    unsigned d = x86_modrm_digit(insn);
    union x86_fpreg y, x;
    bool uf;
    if (!st_get2(cpu, 0, &x, insn->modrm & 7, &y, &uf))
        return;
    /* C1 = 0 only on stack underflow (SDM Vol. 2A FCMOVcc): else unchanged. */
    if (uf)
        st_write(cpu, 0, fp_indefinite());      /* either operand empty: indefinite */
    else if (x86_cond(cpu, cc[d] | (neg ? 1 : 0)))
        st_write(cpu, 0, y);
    else
        st_write(cpu, 0, x);    /* an underflowed ST(0) becomes the indefinite */
}

static void op_da(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x87_check_wait(cpu);
    x87_set_pointers(cpu, insn);
    if (insn->flags & X86_INSN_MEM) {
        arith_mem(cpu, insn, 1);
        return;
    }
    if (x86_modrm_digit(insn) < 4) {
        fcmov(cpu, insn, false);
        return;
    }
    if (insn->modrm == 0xe9) {      /* FUCOMPP */
        fucom(cpu, 1, 2);
        return;
    }
    x86_op_ud(cpu, insn);
}

/* ---------------------------------------------------------------- loads and stores */

/**
 * Push a value loaded from memory (FLD/FILD/FBLD) with the conversion's host
 * FSW @sw. A full stack is checked first: then the conversion's own flags
 * are not reported (as the hardware does).
 */
static void push_loaded(struct x86_cpu *cpu, long double v, uint16_t sw)
{
    if (tag_of(cpu, (x87_top(cpu) - 1) & 7) != FTAG_EMPTY) {
        if (!stack_fault(cpu, true))
            x87_push(cpu, fp_indefinite());
        return;
    }
    /* An unmasked #D still loads (the normalised value), only #IA stops. */
    x87_flags(cpu, sw, FSW_C1);
    if (sw & FSW_IE & ~cpu->fcw)
        return;
    cpu->fsw &= ~FSW_C1;
    x87_push(cpu, fpreg_of(v));
}

/**
 * Store ST(0) to memory as @hk (HX_STF32/64, HX_IST*, HX_ISTT*, HX_BSTP) of
 * @size bytes, or m80 raw (@hk < 0); pop if @pop. Masked stack underflow
 * stores the indefinite of the destination format. An unmasked exception
 * (stack underflow, #IA, #O, #U; not #P) leaves memory unchanged and the
 * stack unpopped (SDM Vol. 1 8.5), so it cannot fault on the destination;
 * otherwise the write (which may #PF) happens before any FPU state changes
 * (but FIP/FDP/FOP, recorded first).
 */
static void store_st0(struct x86_cpu *cpu, const struct x86_insn *insn, int hk, unsigned size, bool pop)
{
    x87_set_pointers(cpu, insn);
    gva_t lin = x86_mem_linear(cpu, insn, size, MMU_WRITE);
    unsigned p = st_phys(cpu, 0);
    bool empty = tag_of(cpu, p) == FTAG_EMPTY;
    if (empty && !(cpu->fcw & FSW_IE)) {
        stack_fault(cpu, false);
        return;
    }
    union x86_fpreg x = empty ? fp_indefinite() : cpu->st[p];
    uint8_t buf[10] = { 0 };
    uint16_t sw = 0;
    if (hk < 0) {
        memcpy(buf, x.bytes, 10);
    } else {
        long double a = x.f, b = 0;
        sw = hx(cpu, (enum hx_op)hk, &a, &b, buf);
    }
    const uint16_t nostore = FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE;
    if (!empty && (sw & nostore & ~cpu->fcw)) {
        /* Unmasked #IA/#O/#U: nothing stored, no pop, #P not reported, C1 = 0
         * (an unmasked #P alone still stores, SDM Vol. 1 8.5.6). */
        cpu->fsw = (uint16_t)((cpu->fsw & ~FSW_C1) | (sw & nostore) | FSW_ES | FSW_B);
        return;
    }
    x86_probe_write(cpu, lin, size);
    x86_write_bytes(cpu, lin, buf, size);
    if (empty)
        stack_fault(cpu, false);
    else
        x87_flags(cpu, sw, FSW_CC);
    if (pop)
        x87_pop(cpu);
}

static void op_d9(struct x86_cpu *cpu, const struct x86_insn *insn);
static void op_db(struct x86_cpu *cpu, const struct x86_insn *insn);
static void op_dd(struct x86_cpu *cpu, const struct x86_insn *insn);
static void op_df(struct x86_cpu *cpu, const struct x86_insn *insn);

/* ---------------------------------------------------------------- environment */

/** Real-address or virtual-8086 mode: the FNSTENV/FNSAVE images use the
 *  real-mode layouts (SDM Vol. 1 8.1.10, Figures 8-10 and 8-12). */
static bool env_real_layout(const struct x86_cpu *cpu)
{
    return !(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & X86_FLAG_VM);
}

/** FNSTENV/FNSAVE image header: 28 bytes (32-bit) or 14 bytes (16-bit operand size). */
static unsigned env_store(struct x86_cpu *cpu, uint8_t *buf, bool o32)
{
    uint16_t ftw = cpu->ftw;
    /* Recompute non-empty tags from contents (SDM Vol. 1 8.1.7). */
    for (unsigned i = 0; i < 8; i++)
        if (tag_of(cpu, i) != FTAG_EMPTY)
            ftw = (uint16_t)((ftw & ~(3u << (2 * i))) | (classify(&cpu->st[i]) << (2 * i)));
    uint32_t fop = cpu->fop & 0x7ff;
    if (env_real_layout(cpu)) {
        /* Linear addresses (Figures 8-10, 8-12): FIP[15:0] in one field and
         * FIP[31:16] (20-bit: FIP[19:16]) from bit 12 of the opcode field. */
        uint32_t ip = ((uint32_t)cpu->fcs << 4) + (uint32_t)cpu->fip;
        uint32_t dp = ((uint32_t)cpu->fds << 4) + (uint32_t)cpu->fdp;
        if (o32) {
            uint32_t w[7] = {
                0xffff0000u | cpu->fcw, 0xffff0000u | cpu->fsw, 0xffff0000u | ftw,
                0xffff0000u | (ip & 0xffff), ((ip >> 16) << 12) | fop,
                0xffff0000u | (dp & 0xffff), (dp >> 16) << 12,
            };
            memcpy(buf, w, 28);
            return 28;
        }
        uint16_t w[7] = { cpu->fcw, cpu->fsw, ftw, (uint16_t)ip, (uint16_t)(((ip >> 16) & 0xf) << 12 | fop),
                          (uint16_t)dp, (uint16_t)(((dp >> 16) & 0xf) << 12) };
        memcpy(buf, w, 14);
        return 14;
    }
    if (o32) {
        uint32_t w[7] = {
            0xffff0000u | cpu->fcw, 0xffff0000u | cpu->fsw, 0xffff0000u | ftw,
            (uint32_t)cpu->fip, cpu->fcs | (fop << 16),
            (uint32_t)cpu->fdp, 0xffff0000u | cpu->fds,
        };
        memcpy(buf, w, 28);
        return 28;
    }
    uint16_t w[7] = { cpu->fcw, cpu->fsw, ftw, (uint16_t)cpu->fip, cpu->fcs, (uint16_t)cpu->fdp, cpu->fds };
    memcpy(buf, w, 14);
    return 14;
}

static void env_load(struct x86_cpu *cpu, const uint8_t *buf, bool o32)
{
    uint16_t fcw, fsw, ftw;
    bool real = env_real_layout(cpu);
    if (o32) {
        uint32_t w[7];
        memcpy(w, buf, 28);
        fcw = (uint16_t)w[0];
        fsw = (uint16_t)w[1];
        ftw = (uint16_t)w[2];
        if (real) {
            cpu->fip = (w[3] & 0xffff) | (((w[4] >> 12) & 0xffff) << 16);
            cpu->fop = (uint16_t)(w[4] & 0x7ff);
            cpu->fdp = (w[5] & 0xffff) | (((w[6] >> 12) & 0xffff) << 16);
            cpu->fcs = cpu->fds = 0;
        } else {
            cpu->fip = w[3];
            cpu->fcs = (uint16_t)w[4];
            cpu->fop = (uint16_t)((w[4] >> 16) & 0x7ff);
            cpu->fdp = w[5];
            cpu->fds = (uint16_t)w[6];
        }
    } else {
        uint16_t w[7];
        memcpy(w, buf, 14);
        fcw = w[0];
        fsw = w[1];
        ftw = w[2];
        if (real) {
            cpu->fip = w[3] | ((uint32_t)(w[4] >> 12) << 16);
            cpu->fop = (uint16_t)(w[4] & 0x7ff);
            cpu->fdp = w[5] | ((uint32_t)(w[6] >> 12) << 16);
            cpu->fcs = cpu->fds = 0;
        } else {
            cpu->fip = w[3];
            cpu->fcs = w[4];
            cpu->fdp = w[5];
            cpu->fds = w[6];
        }
    }
    fcw = x87_fcw_value(fcw);
    cpu->fcw = fcw;
    cpu->fsw = fsw;
    cpu->ftw = ftw;
    /* ES/B follow the loaded exception bits against the loaded masks. */
    if (fsw & 0x3f & ~fcw)
        cpu->fsw |= FSW_ES | FSW_B;
    else
        cpu->fsw &= ~(FSW_ES | FSW_B);
    for (unsigned i = 0; i < 8; i++)
        if (tag_of(cpu, i) != FTAG_EMPTY)
            set_tag(cpu, i, classify(&cpu->st[i]));
}

static void fninit(struct x86_cpu *cpu)
{
    uint32_t mxcsr = cpu->mxcsr;
    x86_fpu_reset(cpu);
    cpu->mxcsr = mxcsr;
}

/** FNSTENV / FLDENV / FNSAVE / FRSTOR. */
static void env_op(struct x86_cpu *cpu, const struct x86_insn *insn, bool save, bool full)
{
    bool o32 = insn->opsize != 2;
    uint8_t buf[108];
    unsigned hdr = o32 ? 28 : 14, len = hdr + (full ? 80 : 0);
    if (save) {
        gva_t lin = x86_mem_linear(cpu, insn, len, MMU_WRITE);
        env_store(cpu, buf, o32);
        for (unsigned i = 0; full && i < 8; i++)
            memcpy(buf + hdr + 10 * i, cpu->st[st_phys(cpu, i)].bytes, 10);
        x86_probe_write(cpu, lin, len);
        x86_write_bytes(cpu, lin, buf, len);
        if (full)
            fninit(cpu);
        else
            cpu->fcw |= 0x3f;       /* FNSTENV masks all exceptions */
    } else {
        gva_t lin = x86_mem_linear(cpu, insn, len, MMU_READ);
        x86_read_bytes(cpu, lin, buf, len);
        uint16_t fsw = o32 ? (uint16_t)(buf[4] | buf[5] << 8) : (uint16_t)(buf[2] | buf[3] << 8);
        unsigned top = (fsw >> FSW_TOP_SHIFT) & 7;
        for (unsigned i = 0; full && i < 8; i++) {
            union x86_fpreg *r = &cpu->st[(top + i) & 7];
            memset(r->bytes, 0, sizeof(r->bytes));
            memcpy(r->bytes, buf + hdr + 10 * i, 10);
        }
        env_load(cpu, buf, o32);
    }
}

/* ---------------------------------------------------------------- register moves, FLD/FILD m */

/** FXCH ST(@i) (D9 C8+i and the undocumented DD C8+i, DF C8+i). */
static void fxch(struct x86_cpu *cpu, unsigned i)
{
    union x86_fpreg x, y;
    if (!st_get(cpu, 0, &x) || !st_get(cpu, i, &y))
        return;
    cpu->fsw &= ~FSW_C1;
    st_write(cpu, 0, y);
    st_write(cpu, i, x);
}

/** FST/FSTP ST(@i) (DD D0+i/D8+i and the undocumented DF D0+i/D8+i). */
static void fst_sti(struct x86_cpu *cpu, unsigned i, bool pop)
{
    union x86_fpreg x;
    if (!st_get(cpu, 0, &x))
        return;
    cpu->fsw &= ~FSW_C1;
    st_write(cpu, i, x);
    if (pop)
        x87_pop(cpu);
}

/** FFREE ST(@i) (DD C0+i; C0-C3 undefined, hardware: C1 = 0), and FFREEP's first half. */
static void ffree(struct x86_cpu *cpu, unsigned i)
{
    cpu->fsw &= ~FSW_C1;
    set_tag(cpu, st_phys(cpu, i), FTAG_EMPTY);
}

/** FLD m32fp / m64fp (@op HX_LDF32 / HX_LDF64, @size bytes). */
static void fld_mem(struct x86_cpu *cpu, const struct x86_insn *insn, enum hx_op op, unsigned size)
{
    uint64_t raw = x86_mem_read(cpu, insn, size);
    uint32_t raw32 = (uint32_t)raw;
    x87_set_pointers(cpu, insn);
    long double a = 0, b = 0;
    uint16_t sw = hx(cpu, op, &a, &b, size == 4 ? (void *)&raw32 : (void *)&raw);
    push_loaded(cpu, a, sw);
}

/** FILD m16int / m32int / m64int (@size 2, 4, 8 bytes): every value converts exactly. */
static void fild(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    uint64_t raw = x86_mem_read(cpu, insn, size);
    int64_t v = size == 2 ? (int16_t)raw : size == 4 ? (int32_t)raw : (int64_t)raw;
    x87_set_pointers(cpu, insn);
    push_loaded(cpu, (long double)v, 0);
}

/* ---------------------------------------------------------------- D9 */

static void d9_reg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned m = insn->modrm, i = m & 7;
    union x86_fpreg x, y;
    long double a, b;
    uint16_t sw;

    if (m >= 0xc0 && m <= 0xc7) {                       /* FLD ST(i) */
        int r = st_get(cpu, i, &x);                     /* underflow before overflow */
        if (!r)
            return;
        if (r == ST_UNDERFLOW) {                        /* masked: push the indefinite, C1 = 0 */
            x87_set_top(cpu, x87_top(cpu) - 1);
            st_write(cpu, 0, x);
            return;
        }
        if (push_would_fail(cpu)) {
            stack_fault(cpu, true);
            return;
        }
        cpu->fsw &= ~FSW_C1;
        x87_push(cpu, x);
        return;
    }
    if (m >= 0xc8 && m <= 0xcf) {                       /* FXCH ST(i) */
        fxch(cpu, i);
        return;
    }
    if (m == 0xd0)                                      /* FNOP */
        return;
    if (m >= 0xd8 && m <= 0xdf) {                       /* FSTP1 alias: FSTP ST(i) */
        /* Undocumented; Intel hardware signals no stack underflow: an empty
         * ST(0) just pops, leaving ST(i) alone (measured by tests/diff). */
        unsigned p = st_phys(cpu, 0);
        if (tag_of(cpu, p) != FTAG_EMPTY)
            st_write(cpu, i, cpu->st[p]);
        cpu->fsw &= ~FSW_C1;
        x87_pop(cpu);
        return;
    }
    switch (m) {
    case 0xe0:                                          /* FCHS */
    case 0xe1: {                                        /* FABS */
        int r = st_get(cpu, 0, &x);
        if (!r)
            return;
        cpu->fsw &= ~FSW_C1;
        if (r == ST_UNDERFLOW)
            ;                                           /* stays the indefinite */
        else if (m == 0xe0)
            x.raw.sign_exp ^= 0x8000;
        else
            x.raw.sign_exp &= 0x7fff;
        st_write(cpu, 0, x);
        return;
    }
    case 0xe4:                                          /* FTST */
        if (!st_get(cpu, 0, &x)) {
            cmp_unordered(cpu);
            return;
        }
        a = x.f;
        sw = hx(cpu, HX_TST, &a, &b, NULL);
        x87_flags(cpu, sw, FSW_CC);
        cpu->fsw &= ~FSW_C1;
        return;
    case 0xe5: {                                        /* FXAM (no exceptions) */
        unsigned p = st_phys(cpu, 0);
        uint16_t c;
        if (tag_of(cpu, p) == FTAG_EMPTY) {
            c = FSW_C3 | FSW_C0;
        } else {
            a = cpu->st[p].f;
            c = hx(cpu, HX_XAM, &a, &b, NULL) & (FSW_C0 | FSW_C2 | FSW_C3);
        }
        if (cpu->st[p].raw.sign_exp & 0x8000)
            c |= FSW_C1;
        cpu->fsw = (uint16_t)((cpu->fsw & ~FSW_CC) | c);
        return;
    }
    case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee: {
        static const uint8_t k[7] = { HX_LD1, HX_LDL2T, HX_LDL2E, HX_LDPI, HX_LDLG2, HX_LDLN2, 0 };
        a = 0;
        sw = 0;
        if (m != 0xee)                                  /* FLDZ is plain +0.0 */
            sw = hx(cpu, (enum hx_op)k[m - 0xe8], &a, &b, NULL);
        push_loaded(cpu, a, sw & 0x3f);
        return;
    }
    case 0xf6:                                          /* FDECSTP */
        cpu->fsw &= ~FSW_C1;
        x87_set_top(cpu, x87_top(cpu) - 1);
        return;
    case 0xf7:                                          /* FINCSTP */
        cpu->fsw &= ~FSW_C1;
        x87_set_top(cpu, x87_top(cpu) + 1);
        return;
    case 0xf0: case 0xfa: case 0xfc: case 0xfe: case 0xff: {   /* one-operand in place */
        enum hx_op op = m == 0xf0 ? HX_F2XM1 : m == 0xfa ? HX_SQRT : m == 0xfc ? HX_RNDINT
                        : m == 0xfe ? HX_SIN : HX_COS;
        if (op == HX_SIN || op == HX_COS)
            cpu->fsw &= ~FSW_C2;                        /* C2 = 0 unless out of range */
        if (!st_get(cpu, 0, &x))
            return;
        a = x.f;
        sw = hx(cpu, op, &a, &b, NULL);
        if (x87_flags(cpu, sw, FSW_CC))
            return;
        st_write(cpu, 0, fpreg_of(a));
        return;
    }
    case 0xf5: case 0xf8: case 0xfd: {                  /* FPREM1, FPREM, FSCALE: ST0 op ST1 */
        enum hx_op op = m == 0xf5 ? HX_PREM1 : m == 0xf8 ? HX_PREM : HX_SCALE;
        bool uf;
        if (op != HX_SCALE)
            cpu->fsw &= ~FSW_C2;                        /* C2 = 0: no partial remainder */
        if (!st_get2(cpu, 0, &x, 1, &y, &uf))
            return;
        if (uf) {
            st_write(cpu, 0, fp_indefinite());
            return;
        }
        a = x.f;
        b = y.f;
        uint16_t cc = cpu->fsw & (FSW_C0 | FSW_C3);
        sw = hx(cpu, op, &a, &b, NULL);
        if (x87_flags(cpu, sw, FSW_CC)) {
            if (op != HX_SCALE)                         /* aborted: no quotient bits */
                cpu->fsw = (uint16_t)((cpu->fsw & ~(FSW_C0 | FSW_C2 | FSW_C3)) | cc);
            return;
        }
        st_write(cpu, 0, fpreg_of(a));
        return;
    }
    case 0xf1: case 0xf3: case 0xf9: {                  /* FYL2X, FPATAN, FYL2XP1: ST1 = f(ST1, ST0), pop */
        enum hx_op op = m == 0xf1 ? HX_YL2X : m == 0xf3 ? HX_PATAN : HX_YL2XP1;
        bool uf;
        if (!st_get2(cpu, 0, &x, 1, &y, &uf))
            return;
        if (uf) {
            st_write(cpu, 1, fp_indefinite());
            x87_pop(cpu);
            return;
        }
        a = x.f;
        b = y.f;
        sw = hx(cpu, op, &a, &b, NULL);
        if (x87_flags(cpu, sw, FSW_CC))
            return;
        st_write(cpu, 1, fpreg_of(a));
        x87_pop(cpu);
        return;
    }
    case 0xf2: case 0xf4: case 0xfb: {                  /* FPTAN, FXTRACT, FSINCOS: two results */
        enum hx_op op = m == 0xf2 ? HX_PTAN : m == 0xf4 ? HX_XTRACT : HX_SINCOS;
        if (op != HX_XTRACT)
            cpu->fsw &= ~FSW_C2;                        /* C2 = 0 unless out of range */
        int r = st_get(cpu, 0, &x);                     /* underflow before overflow */
        if (!r)
            return;
        bool full = tag_of(cpu, (x87_top(cpu) - 1) & 7) != FTAG_EMPTY;
        if (r == ST_OK && full && stack_fault(cpu, true))
            return;
        if (r == ST_UNDERFLOW || full) {                /* masked stack fault: both indefinite */
            st_write(cpu, 0, fp_indefinite());
            x87_set_top(cpu, x87_top(cpu) - 1);
            st_write(cpu, 0, fp_indefinite());
            return;
        }
        a = x.f;
        unsigned exp = x.raw.sign_exp & 0x7fff;
        if (op != HX_XTRACT && classify(&x) == FTAG_VALID && exp >= 0x3fff + 63) {
            cpu->fsw = (uint16_t)((cpu->fsw & ~FSW_C1) | FSW_C2);   /* out of range: unchanged */
            return;
        }
        b = 0;
        sw = hx(cpu, op, &a, &b, NULL);
        if (x87_flags(cpu, sw, FSW_CC))
            return;
        st_write(cpu, 0, fpreg_of(a));
        x87_push(cpu, fpreg_of(b));
        return;
    }
    default:
        x86_op_ud(cpu, insn);
    }
}

static void op_d9(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (!(insn->flags & X86_INSN_MEM)) {
        x87_check_wait(cpu);
        x87_set_pointers(cpu, insn);
        d9_reg(cpu, insn);
        return;
    }
    switch (d) {
    case 0:                                             /* FLD m32fp */
        x87_check_wait(cpu);
        fld_mem(cpu, insn, HX_LDF32, 4);
        return;
    case 2:
    case 3:                                             /* FST/FSTP m32fp */
        x87_check_wait(cpu);
        store_st0(cpu, insn, HX_STF32, 4, d == 3);
        return;
    case 4:                                             /* FLDENV */
        x87_check_nowait(cpu);
        env_op(cpu, insn, false, false);
        return;
    case 5: {                                           /* FLDCW m16 */
        x87_check_wait(cpu);
        uint16_t cw = x87_fcw_value((uint16_t)x86_mem_read(cpu, insn, 2));
        cpu->fcw = cw;
        if (cpu->fsw & 0x3f & ~cw)
            cpu->fsw |= FSW_ES | FSW_B;
        else
            cpu->fsw &= ~(FSW_ES | FSW_B);
        return;
    }
    case 6:                                             /* FNSTENV */
        x87_check_nowait(cpu);
        env_op(cpu, insn, true, false);
        return;
    case 7:                                             /* FNSTCW m16 */
        x87_check_nowait(cpu);
        x86_mem_write(cpu, insn, 2, cpu->fcw);
        return;
    default:
        x86_op_ud(cpu, insn);
    }
}

/* ---------------------------------------------------------------- DB */

static void op_db(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (!(insn->flags & X86_INSN_MEM)) {
        unsigned m = insn->modrm;
        if (m >= 0xe0 && m <= 0xe4) {                   /* FNENI FNDISI FNCLEX FNINIT FNSETPM */
            x87_check_nowait(cpu);
            if (m == 0xe2)
                cpu->fsw &= ~(0x3f | FSW_SF | FSW_ES | FSW_B);
            else if (m == 0xe3)
                fninit(cpu);
            return;                                     /* E0/E1/E4: 8087/287 no-ops */
        }
        x87_check_wait(cpu);
        x87_set_pointers(cpu, insn);
        if (d < 4)
            fcmov(cpu, insn, true);
        else if (d == 5)
            fcomi(cpu, insn, true, false);
        else if (d == 6)
            fcomi(cpu, insn, false, false);
        else
            x86_op_ud(cpu, insn);
        return;
    }
    x87_check_wait(cpu);
    switch (d) {
    case 0: fild(cpu, insn, 4); return;                 /* FILD m32int */
    case 1: store_st0(cpu, insn, HX_ISTT32, 4, true); return;
    case 2: store_st0(cpu, insn, HX_IST32, 4, false); return;
    case 3: store_st0(cpu, insn, HX_IST32, 4, true); return;
    case 5: {                                           /* FLD m80fp */
        union x86_fpreg r;
        memset(&r, 0, sizeof(r));
        x86_read_bytes(cpu, x86_mem_linear(cpu, insn, 10, MMU_READ), r.bytes, 10);
        x87_set_pointers(cpu, insn);
        if (push_would_fail(cpu)) {
            stack_fault(cpu, true);
            return;
        }
        cpu->fsw &= ~FSW_C1;
        x87_push(cpu, r);
        return;
    }
    case 7: store_st0(cpu, insn, -1, 10, true); return;
    default: x86_op_ud(cpu, insn);
    }
}

/* ---------------------------------------------------------------- DD */

static void op_dd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn), i = insn->modrm & 7;
    if (!(insn->flags & X86_INSN_MEM)) {
        x87_check_wait(cpu);
        x87_set_pointers(cpu, insn);
        switch (d) {
        case 0:                                         /* FFREE ST(i) */
            ffree(cpu, i);
            return;
        case 1:                                         /* FXCH alias */
            fxch(cpu, i);
            return;
        case 2:
        case 3:                                         /* FST / FSTP ST(i) */
            fst_sti(cpu, i, d == 3);
            return;
        case 4:
        case 5:                                         /* FUCOM / FUCOMP ST(i) */
            fucom(cpu, i, d == 5);
            return;
        default:
            x86_op_ud(cpu, insn);
            return;
        }
    }
    switch (d) {
    case 0:                                             /* FLD m64fp */
        x87_check_wait(cpu);
        fld_mem(cpu, insn, HX_LDF64, 8);
        return;
    case 1: x87_check_wait(cpu); store_st0(cpu, insn, HX_ISTT64, 8, true); return;
    case 2:
    case 3: x87_check_wait(cpu); store_st0(cpu, insn, HX_STF64, 8, d == 3); return;
    case 4: x87_check_nowait(cpu); env_op(cpu, insn, false, true); return;   /* FRSTOR */
    case 6: x87_check_nowait(cpu); env_op(cpu, insn, true, true); return;    /* FNSAVE */
    case 7: x87_check_nowait(cpu); x86_mem_write(cpu, insn, 2, cpu->fsw); return;  /* FNSTSW m16 */
    default: x86_op_ud(cpu, insn);
    }
}

/* ---------------------------------------------------------------- DF */

static void op_df(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (!(insn->flags & X86_INSN_MEM)) {
        if (insn->modrm == 0xe0) {                      /* FNSTSW AX */
            x87_check_nowait(cpu);
            x86_reg_write(cpu, X86_RAX, 2, false, cpu->fsw);
            return;
        }
        x87_check_wait(cpu);
        x87_set_pointers(cpu, insn);
        if (d == 5)
            fcomi(cpu, insn, true, true);
        else if (d == 6)
            fcomi(cpu, insn, false, true);
        else if (d == 0) {                              /* FFREEP (undocumented alias) */
            ffree(cpu, insn->modrm & 7);
            x87_pop(cpu);
        } else if (d == 1)                              /* DF C8+i: FXCH alias (undocumented) */
            fxch(cpu, insn->modrm & 7);
        else if (d == 2 || d == 3)                      /* DF D0+i / D8+i: FSTP alias (undocumented) */
            fst_sti(cpu, insn->modrm & 7, true);
        else
            x86_op_ud(cpu, insn);
        return;
    }
    x87_check_wait(cpu);
    switch (d) {
    case 0: fild(cpu, insn, 2); return;                 /* FILD m16int */
    case 5: fild(cpu, insn, 8); return;                 /* FILD m64int */
    case 1: store_st0(cpu, insn, HX_ISTT16, 2, true); return;
    case 2: store_st0(cpu, insn, HX_IST16, 2, false); return;
    case 3: store_st0(cpu, insn, HX_IST16, 2, true); return;
    case 4: {                                           /* FBLD m80bcd */
        uint8_t bcd[10];
        x86_read_bytes(cpu, x86_mem_linear(cpu, insn, 10, MMU_READ), bcd, 10);
        x87_set_pointers(cpu, insn);
        long double a = 0, b = 0;
        uint16_t sw = hx(cpu, HX_BLD, &a, &b, bcd);
        push_loaded(cpu, a, sw);
        return;
    }
    case 6: store_st0(cpu, insn, HX_BSTP, 10, true); return;
    case 7: store_st0(cpu, insn, HX_IST64, 8, true); return;
    default: x86_op_ud(cpu, insn);
    }
}

/**
 * Reserved x87 encodings (blank in the SDM Vol. 2 Tables A-7..A-22 and not
 * an alias the hardware executes): #UD, checked before #NM/#MF.
 */
static bool x87_reserved(const struct x86_insn *insn)
{
    unsigned op = insn->op & 0xff, m = insn->modrm, d = x86_modrm_digit(insn);
    if (insn->flags & X86_INSN_MEM) {
        switch (op) {
        case 0xd9: return d == 1;
        case 0xdb: return d == 4 || d == 6;
        case 0xdd: return d == 5;
        default: return false;
        }
    }
    switch (op) {
    case 0xd9:
        return (m >= 0xd1 && m <= 0xd7) || m == 0xe2 || m == 0xe3 || m == 0xe6 || m == 0xe7 ||
               m == 0xef;
    case 0xda: return d >= 4 && m != 0xe9;
    case 0xdb: return (d == 4 && m > 0xe4) || d == 7;
    case 0xdd: return d >= 6;
    case 0xde: return d == 3 && m != 0xd9;
    case 0xdf: return (d == 4 && m != 0xe0) || d == 7;
    default: return false;
    }
}

/** D8-DF: #UD for a reserved encoding, else the opcode's handler. */
static void op_esc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    static void (*const esc[8])(struct x86_cpu *, const struct x86_insn *) = {
        op_d8, op_d9, op_da, op_db, op_dc, op_dd, op_de, op_df,
    };
    if (x87_reserved(insn)) {
        x86_op_ud(cpu, insn);
        return;
    }
    esc[(insn->op & 0xff) - 0xd8](cpu, insn);
}

/** 9B: FWAIT/WAIT: #NM if CR0.MP and CR0.TS; #MF if an unmasked exception is pending. */
static void op_fwait(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
        x86_raise(cpu, X86_EXC_NM);
    if (cpu->fsw & FSW_ES)
        x86_raise(cpu, X86_EXC_MF);
}

void x86_ops_x87_init(x86_exec_fn *table)
{
    table[X86_OP(X86_MAP_PRIMARY, 0xd8)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xd9)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xda)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xdb)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xdc)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xdd)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xde)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0xdf)] = op_esc;
    table[X86_OP(X86_MAP_PRIMARY, 0x9b)] = op_fwait;
}
