/*
 * tests/unit/test_alu_diff.c - differential test of the integer handlers
 * against the host CPU (x86-64, Intel).
 *
 * For each instruction form and operand size, random operands (biased to
 * edge values) and random incoming arithmetic flags: the host runs the
 * instruction through inline asm (popfq before, pushfq after), our handler
 * runs on a zeroed struct x86_cpu with the same register operands, and the
 * result registers and the flags are compared. Flags the SDM defines must
 * match; flags it calls undefined but flags.c's policy claims to match
 * (shift OF/AF, MUL SF/ZF/PF, BT/BSF preserved flags, ...) are checked too,
 * and the remaining undefined flags are only counted (column "undef").
 * The claimed undefined flags are Intel's values: on a host of another
 * vendor (an AMD EPYC computes e.g. IMUL's SF/ZF/PF differently) they are
 * only counted, and only the flags the SDM defines are checked.
 * Prints the seed and a coverage table. QTEMU_TEST_SEED=<n> repeats a run.
 */
#include <criterion/criterion.h>
#include <cpuid.h>

#include "tests/unit/x86_int_harness.h"

#define CASES 3000
#define ARITH X86_FLAGS_ARITH
#define FCF X86_FLAG_CF
#define FPF X86_FLAG_PF
#define FAF X86_FLAG_AF
#define FZF X86_FLAG_ZF
#define FSF X86_FLAG_SF
#define FOF X86_FLAG_OF

static struct x86_cpu cpu_s;
static struct x86_cpu *cpu = &cpu_s;

/* ---------------------------------------------------------------- report */

struct stat_row {
    char name[24];
    unsigned cases, bad_result, bad_flags, undef_diff;
};
static struct stat_row rows[128];
static unsigned nrows;
static char first_fail[256];

static struct stat_row *row(const char *name, unsigned size)
{
    char n[24];
    snprintf(n, sizeof(n), "%s/%u", name, size * 8);
    for (unsigned i = 0; i < nrows; i++)
        if (!strcmp(rows[i].name, n))
            return &rows[i];
    struct stat_row *r = &rows[nrows < 127 ? nrows++ : 127];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", n);
    return r;
}

/** Record one case: @checked flags must match, @info flags are counted only. */
static void check(const char *name, unsigned size, bool res_ok, uint64_t hf, uint64_t ef,
                  uint64_t checked, uint64_t info, uint64_t a, uint64_t b)
{
    struct stat_row *r = row(name, size);
    r->cases++;
    bool fbad = ((hf ^ ef) & checked) != 0;
    if (!res_ok)
        r->bad_result++;
    if (fbad)
        r->bad_flags++;
    if ((hf ^ ef) & info & ~checked)
        r->undef_diff++;
    if ((!res_ok || fbad) && !first_fail[0])
        snprintf(first_fail, sizeof(first_fail),
                 "%s/%u a=%#llx b=%#llx: result %s, flags host %#llx emu %#llx (checked %#llx)",
                 name, size * 8, (unsigned long long)a, (unsigned long long)b,
                 res_ok ? "ok" : "DIFFERS", (unsigned long long)(hf & ARITH),
                 (unsigned long long)(ef & ARITH), (unsigned long long)checked);
}

static void report_and_assert(void)
{
    unsigned bad = 0;
    fprintf(stderr, "%-22s %7s %7s %7s %7s\n", "form", "cases", "res!=", "flags!=", "undef");
    for (unsigned i = 0; i < nrows; i++) {
        fprintf(stderr, "%-22s %7u %7u %7u %7u\n", rows[i].name, rows[i].cases,
                rows[i].bad_result, rows[i].bad_flags, rows[i].undef_diff);
        bad += rows[i].bad_result + rows[i].bad_flags;
    }
    cr_assert_eq(bad, 0, "%u mismatches; first: %s", bad, first_fail);
    nrows = 0;
    first_fail[0] = 0;
}

/** Whether the host CPU is Intel's: only then is it the oracle for the
 *  SDM-undefined flags whose Intel values flags.c's policy claims. */
static bool host_is_intel(void)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;   /* "GenuineIntel" */
}

/** @claim (undefined flags qtemu sets as Intel does) where the host is Intel, else none. */
static uint64_t claimed(uint64_t claim)
{
    static int intel = -1;
    if (intel < 0)
        intel = host_is_intel();
    return intel ? claim : 0;
}

/* ---------------------------------------------------------------- host asm */

/* The asm pushes below RSP: step over the red zone first (lea keeps flags). */
#define PRE  "lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define POST "\n\tpushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"

/* x OP= y at size: x, y full 64-bit registers, host semantics for the upper bits */
#define DEF_BIN(name, mn)                                                                        \
    static void host_##name(unsigned size, uint64_t *x, uint64_t *y, uint64_t *f)                \
    {                                                                                            \
        uint64_t xv = *x, yv = *y, fv = *f;                                                      \
        switch (size) {                                                                          \
        case 1: asm volatile(PRE mn "b %b[y], %b[x]" POST : [x] "+q"(xv), [y] "+q"(yv), [f] "+r"(fv) :: "cc"); break; \
        case 2: asm volatile(PRE mn "w %w[y], %w[x]" POST : [x] "+r"(xv), [y] "+r"(yv), [f] "+r"(fv) :: "cc"); break; \
        case 4: asm volatile(PRE mn "l %k[y], %k[x]" POST : [x] "+r"(xv), [y] "+r"(yv), [f] "+r"(fv) :: "cc"); break; \
        default: asm volatile(PRE mn "q %q[y], %q[x]" POST : [x] "+r"(xv), [y] "+r"(yv), [f] "+r"(fv) :: "cc"); break; \
        }                                                                                        \
        *x = xv; *y = yv; *f = fv;                                                               \
    }
/* same for instructions without a byte form */
#define DEF_BIN16(name, mn)                                                                      \
    static void host_##name(unsigned size, uint64_t *x, uint64_t *y, uint64_t *f)                \
    {                                                                                            \
        uint64_t xv = *x, yv = *y, fv = *f;                                                      \
        switch (size) {                                                                          \
        case 2: asm volatile(PRE mn "w %w[y], %w[x]" POST : [x] "+r"(xv), [y] "+r"(yv), [f] "+r"(fv) :: "cc"); break; \
        case 4: asm volatile(PRE mn "l %k[y], %k[x]" POST : [x] "+r"(xv), [y] "+r"(yv), [f] "+r"(fv) :: "cc"); break; \
        default: asm volatile(PRE mn "q %q[y], %q[x]" POST : [x] "+r"(xv), [y] "+r"(yv), [f] "+r"(fv) :: "cc"); break; \
        }                                                                                        \
        *x = xv; *y = yv; *f = fv;                                                               \
    }
#define DEF_UN(name, mn)                                                                         \
    static void host_##name(unsigned size, uint64_t *x, uint64_t *f)                             \
    {                                                                                            \
        uint64_t xv = *x, fv = *f;                                                               \
        switch (size) {                                                                          \
        case 1: asm volatile(PRE mn "b %b[x]" POST : [x] "+q"(xv), [f] "+r"(fv) :: "cc"); break; \
        case 2: asm volatile(PRE mn "w %w[x]" POST : [x] "+r"(xv), [f] "+r"(fv) :: "cc"); break; \
        case 4: asm volatile(PRE mn "l %k[x]" POST : [x] "+r"(xv), [f] "+r"(fv) :: "cc"); break; \
        default: asm volatile(PRE mn "q %q[x]" POST : [x] "+r"(xv), [f] "+r"(fv) :: "cc"); break; \
        }                                                                                        \
        *x = xv; *f = fv;                                                                        \
    }
/* x = x SHIFT cl */
#define DEF_SHC(name, mn)                                                                        \
    static void host_##name(unsigned size, uint64_t *x, uint64_t c, uint64_t *f)                 \
    {                                                                                            \
        uint64_t xv = *x, fv = *f;                                                               \
        switch (size) {                                                                          \
        case 1: asm volatile(PRE mn "b %%cl, %b[x]" POST : [x] "+q"(xv), [f] "+r"(fv) : "c"(c) : "cc"); break; \
        case 2: asm volatile(PRE mn "w %%cl, %w[x]" POST : [x] "+r"(xv), [f] "+r"(fv) : "c"(c) : "cc"); break; \
        case 4: asm volatile(PRE mn "l %%cl, %k[x]" POST : [x] "+r"(xv), [f] "+r"(fv) : "c"(c) : "cc"); break; \
        default: asm volatile(PRE mn "q %%cl, %q[x]" POST : [x] "+r"(xv), [f] "+r"(fv) : "c"(c) : "cc"); break; \
        }                                                                                        \
        *x = xv; *f = fv;                                                                        \
    }
/* x = x:y double shift by cl */
#define DEF_SHD(name, mn)                                                                        \
    static void host_##name(unsigned size, uint64_t *x, uint64_t y, uint64_t c, uint64_t *f)     \
    {                                                                                            \
        uint64_t xv = *x, fv = *f;                                                               \
        switch (size) {                                                                          \
        case 2: asm volatile(PRE mn "w %%cl, %w[y], %w[x]" POST : [x] "+r"(xv), [f] "+r"(fv) : [y] "r"(y), "c"(c) : "cc"); break; \
        case 4: asm volatile(PRE mn "l %%cl, %k[y], %k[x]" POST : [x] "+r"(xv), [f] "+r"(fv) : [y] "r"(y), "c"(c) : "cc"); break; \
        default: asm volatile(PRE mn "q %%cl, %q[y], %q[x]" POST : [x] "+r"(xv), [f] "+r"(fv) : [y] "r"(y), "c"(c) : "cc"); break; \
        }                                                                                        \
        *x = xv; *f = fv;                                                                        \
    }
/* implicit rDX:rAX with operand y */
#define DEF_MD(name, mn)                                                                         \
    static void host_##name(unsigned size, uint64_t *a, uint64_t *d, uint64_t y, uint64_t *f)    \
    {                                                                                            \
        uint64_t av = *a, dv = *d, fv = *f;                                                      \
        switch (size) {                                                                          \
        case 1: asm volatile(PRE mn "b %b[y]" POST : "+a"(av), "+d"(dv), [f] "+r"(fv) : [y] "q"(y) : "cc"); break; \
        case 2: asm volatile(PRE mn "w %w[y]" POST : "+a"(av), "+d"(dv), [f] "+r"(fv) : [y] "r"(y) : "cc"); break; \
        case 4: asm volatile(PRE mn "l %k[y]" POST : "+a"(av), "+d"(dv), [f] "+r"(fv) : [y] "r"(y) : "cc"); break; \
        default: asm volatile(PRE mn "q %q[y]" POST : "+a"(av), "+d"(dv), [f] "+r"(fv) : [y] "r"(y) : "cc"); break; \
        }                                                                                        \
        *a = av; *d = dv; *f = fv;                                                               \
    }

DEF_BIN(add, "add") DEF_BIN(or, "or") DEF_BIN(adc, "adc") DEF_BIN(sbb, "sbb")
DEF_BIN(and, "and") DEF_BIN(sub, "sub") DEF_BIN(xor, "xor") DEF_BIN(cmp, "cmp")
DEF_BIN(test, "test") DEF_BIN(xadd, "xadd") DEF_BIN(xchg, "xchg")
DEF_BIN16(imul2, "imul") DEF_BIN16(bsf, "bsf") DEF_BIN16(bsr, "bsr") DEF_BIN16(tzcnt, "tzcnt")
DEF_BIN16(lzcnt, "lzcnt") DEF_BIN16(popcnt, "popcnt") DEF_BIN16(bt, "bt") DEF_BIN16(bts, "bts")
DEF_BIN16(btr, "btr") DEF_BIN16(btc, "btc")
DEF_UN(inc, "inc") DEF_UN(dec, "dec") DEF_UN(neg, "neg") DEF_UN(not, "not")
DEF_SHC(rol, "rol") DEF_SHC(ror, "ror") DEF_SHC(rcl, "rcl") DEF_SHC(rcr, "rcr")
DEF_SHC(shl, "shl") DEF_SHC(shr, "shr") DEF_SHC(sar, "sar")
DEF_SHD(shld, "shld") DEF_SHD(shrd, "shrd")
DEF_MD(mul, "mul") DEF_MD(imul1, "imul") DEF_MD(div, "div") DEF_MD(idiv, "idiv")

typedef void (*host_bin_fn)(unsigned, uint64_t *, uint64_t *, uint64_t *);
typedef void (*host_un_fn)(unsigned, uint64_t *, uint64_t *);
typedef void (*host_sh_fn)(unsigned, uint64_t *, uint64_t, uint64_t *);

static const unsigned sizes[4] = {1, 2, 4, 8};

static uint64_t rand_flags(void)
{
    return (h_rand() & ARITH) | X86_FLAG_FIXED1;
}

/** Fresh emulator state: 64-bit mode, flat segments, @flags as the arithmetic flags. */
static void emu_reset(uint64_t flags)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->code_mode = X86_MODE_64;
    cpu->rflags = X86_FLAG_FIXED1;
    cpu->seg[X86_CS].limit = 0xffffffff;
    x86_set_arith_flags(cpu, flags);
}

/* ---------------------------------------------------------------- ALU */

Test(alu_diff, binary_alu_and_test_xadd_xchg)
{
    h_seed("alu_diff.binary");
    static const struct { const char *name; host_bin_fn host; unsigned map, byte; uint64_t flags; bool wr; } f[] = {
        {"add", host_add, 0, 0x00, ARITH, true},   {"or", host_or, 0, 0x08, ARITH, true},
        {"adc", host_adc, 0, 0x10, ARITH, true},   {"sbb", host_sbb, 0, 0x18, ARITH, true},
        {"and", host_and, 0, 0x20, ARITH, true},   {"sub", host_sub, 0, 0x28, ARITH, true},
        {"xor", host_xor, 0, 0x30, ARITH, true},   {"cmp", host_cmp, 0, 0x38, ARITH, true},
        {"test", host_test, 0, 0x84, ARITH, true}, {"xadd", host_xadd, 1, 0xc0, ARITH, true},
        {"xchg", host_xchg, 0, 0x86, ARITH, true},
    };
    for (unsigned k = 0; k < ARRAY_SIZE(f); k++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s];
                uint64_t a = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t b = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t fl = rand_flags();
                uint64_t hx = a, hy = b, hf = fl;
                f[k].host(size, &hx, &hy, &hf);
                emu_reset(fl);
                cpu->gpr[X86_RAX] = a;   /* r/m = RAX (AL), reg = RDX (DL) */
                cpu->gpr[X86_RDX] = b;
                struct x86_insn i = h_insn(f[k].map, f[k].byte + (size > 1), size, X86_RDX, X86_RAX);
                int v = h_exec(cpu, &i);
                bool ok = v < 0 && cpu->gpr[X86_RAX] == hx && cpu->gpr[X86_RDX] == hy;
                check(f[k].name, size, ok, hf, x86_get_rflags(cpu), f[k].flags, ARITH, a, b);
            }
    report_and_assert();
}

Test(alu_diff, group1_imm_forms)
{
    h_seed("alu_diff.group1");
    static const host_bin_fn hosts[8] = {host_add, host_or, host_adc, host_sbb,
                                         host_and, host_sub, host_xor, host_cmp};
    static const char *names[8] = {"add83", "or83", "adc83", "sbb83", "and83", "sub83", "xor83", "cmp83"};
    for (unsigned d = 0; d < 8; d++)
        for (unsigned s = 1; s < 4; s++)
            for (unsigned n = 0; n < CASES / 2; n++) {
                unsigned size = sizes[s];
                uint64_t a = h_operand(size), imm8 = h_rand() & 0xff;
                uint64_t fl = rand_flags();
                /* SDM: 83 /d uses the sign-extended imm8 as the source */
                uint64_t hx = a, hy = (uint64_t)(int64_t)(int8_t)imm8, hf = fl;
                hosts[d](size, &hx, &hy, &hf);
                emu_reset(fl);
                cpu->gpr[X86_RBX] = a;
                struct x86_insn i = h_insn(0, 0x83, size, d, X86_RBX);
                i.imm = (uint64_t)(int64_t)(int8_t)imm8;
                i.imm_size = 1;
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RBX] == hx;
                check(names[d], size, ok, hf, x86_get_rflags(cpu), ARITH, ARITH, a, imm8);
            }
    report_and_assert();
}

Test(alu_diff, unary_inc_dec_neg_not)
{
    h_seed("alu_diff.unary");
    static const struct { const char *name; host_un_fn host; unsigned byte, digit; } f[] = {
        {"inc", host_inc, 0xfe, 0}, {"dec", host_dec, 0xfe, 1},
        {"not", host_not, 0xf6, 2}, {"neg", host_neg, 0xf6, 3},
    };
    for (unsigned k = 0; k < ARRAY_SIZE(f); k++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s];
                uint64_t a = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t fl = rand_flags();
                uint64_t hx = a, hf = fl;
                f[k].host(size, &hx, &hf);
                emu_reset(fl);
                cpu->gpr[X86_RSI] = a;
                struct x86_insn i = h_insn(0, f[k].byte + (size > 1), size, f[k].digit, X86_RSI);
                i.flags |= X86_INSN_REX;   /* SIL, not DH */
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RSI] == hx;
                check(f[k].name, size, ok, hf, x86_get_rflags(cpu), ARITH, ARITH, a, 0);
            }
    report_and_assert();
}

/* ---------------------------------------------------------------- shifts */

Test(alu_diff, shifts_and_rotates)
{
    h_seed("alu_diff.shift");
    static const host_sh_fn hosts[8] = {host_rol, host_ror, host_rcl, host_rcr,
                                        host_shl, host_shr, host_shl, host_sar};
    static const char *names[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
    for (unsigned d = 0; d < 8; d++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s], bits = size * 8;
                uint64_t a = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                unsigned form = n % 3;            /* D3 (CL), C1 (imm8), D1 (1) */
                uint64_t cnt = form == 2 ? 1 : (n & 4) ? h_rand() & 0xff : h_rand() % (bits + 3);
                uint64_t fl = rand_flags();
                uint64_t hx = a, hf = fl;
                hosts[d](size, &hx, cnt, &hf);   /* the SDM masks CL and imm8 alike */
                emu_reset(fl);
                cpu->gpr[X86_RAX] = a;
                cpu->gpr[X86_RCX] = 0x1234567800ull | cnt;
                unsigned byte = (form == 0 ? 0xd2 : form == 1 ? 0xc0 : 0xd0) + (size > 1);
                struct x86_insn i = h_insn(0, byte, size, d, X86_RAX);
                if (form == 1) {
                    i.imm = cnt;
                    i.imm_size = 1;
                }
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RAX] == hx;
                unsigned mc = cnt & (size == 8 ? 63 : 31);
                uint64_t def;
                if (mc == 0)
                    def = ARITH;   /* nothing changes */
                else if (d < 4)
                    def = FCF | FPF | FAF | FZF | FSF | (mc == 1 ? FOF : 0);
                else
                    def = FCF | FPF | FZF | FSF | (mc == 1 ? FOF : 0);
                if (d >= 4 && d != 7 && mc >= bits)
                    def &= ~FCF;   /* SHL/SHR by >= width: CF undefined */
                check(names[d], size, ok, hf, x86_get_rflags(cpu), def, ARITH, a, cnt);
            }
    report_and_assert();
}

Test(alu_diff, shld_shrd)
{
    h_seed("alu_diff.shxd");
    for (unsigned right = 0; right < 2; right++)
        for (unsigned s = 1; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s], bits = size * 8;
                uint64_t a = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t b = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t cnt = h_rand() % (bits + 2);
                unsigned mc = cnt & (size == 8 ? 63 : 31);
                if (mc > bits)
                    continue;   /* 16-bit with count 17..31: result undefined */
                uint64_t fl = rand_flags();
                uint64_t hx = a, hf = fl;
                (right ? host_shrd : host_shld)(size, &hx, b, cnt, &hf);
                emu_reset(fl);
                cpu->gpr[X86_RBX] = a;
                cpu->gpr[X86_RDX] = b;
                cpu->gpr[X86_RCX] = cnt;
                struct x86_insn i = h_insn(1, right ? 0xad : 0xa5, size, X86_RDX, X86_RBX);
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RBX] == hx;
                uint64_t def = mc == 0 ? ARITH : FCF | FPF | FZF | FSF | (mc == 1 ? FOF : 0);
                check(right ? "shrd" : "shld", size, ok, hf, x86_get_rflags(cpu), def, ARITH, a, cnt);
            }
    report_and_assert();
}

/* ---------------------------------------------------------------- mul/div */

Test(alu_diff, mul_imul_div_idiv)
{
    h_seed("alu_diff.muldiv");
    for (unsigned d = 4; d < 8; d++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s], bits = size * 8;
                uint64_t m = x86_size_mask(size);
                uint64_t ra = h_operand(size) | (h_rand() & ~m), rd = h_rand(), y = h_operand(size);
                if (d >= 6) {
                    if ((y & m) == 0)
                        y = 7;
                    if (d == 6) {   /* DIV: high part < divisor */
                        uint64_t hi = size == 1 ? (ra >> 8) & 0xff : rd & m;
                        hi %= (y & m);
                        if (size == 1)
                            ra = (ra & ~0xff00ull) | (hi << 8);
                        else
                            rd = (rd & ~m) | hi;
                    } else {        /* IDIV: sign-extended dividend; skip MIN / -1 */
                        uint64_t lo = ra & m;
                        uint64_t hi = ((lo >> (bits - 1)) & 1) ? m : 0;
                        if (size == 1)
                            ra = (ra & ~0xff00ull) | ((hi & 0xff) << 8);
                        else
                            rd = (rd & ~m) | hi;
                        if ((y & m) == m && lo == (1ull << (bits - 1)))
                            y = 3;
                    }
                }
                uint64_t fl = rand_flags();
                uint64_t ha = ra, hd = rd, hf = fl;
                switch (d) {
                case 4: host_mul(size, &ha, &hd, y, &hf); break;
                case 5: host_imul1(size, &ha, &hd, y, &hf); break;
                case 6: host_div(size, &ha, &hd, y, &hf); break;
                default: host_idiv(size, &ha, &hd, y, &hf); break;
                }
                emu_reset(fl);
                cpu->gpr[X86_RAX] = ra;
                cpu->gpr[X86_RDX] = rd;
                cpu->gpr[X86_RBX] = y;
                struct x86_insn i = h_insn(0, size > 1 ? 0xf7 : 0xf6, size, d, X86_RBX);
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RAX] == ha && cpu->gpr[X86_RDX] == hd;
                static const char *nm[4] = {"mul", "imul1", "div", "idiv"};
                uint64_t def = d < 6 ? FCF | FOF | claimed(FSF | FZF | FPF | FAF) : 0;
                check(nm[d - 4], size, ok, hf, x86_get_rflags(cpu), def, ARITH, ra, y);
            }
    report_and_assert();
}

Test(alu_diff, imul_two_and_three_operand)
{
    h_seed("alu_diff.imul");
    for (unsigned form = 0; form < 3; form++)
        for (unsigned s = 1; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s];
                uint64_t a = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t b = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                uint64_t imm = form == 1 ? (uint64_t)(int64_t)(int32_t)h_rand()
                                         : (uint64_t)(int64_t)(int8_t)h_rand();
                if (form == 1 && size == 2)
                    imm = (uint64_t)(int64_t)(int16_t)imm;
                uint64_t fl = rand_flags();
                /* SDM: IMUL r, r/m, imm = r/m * sign-extended imm, same flags as 2-operand */
                uint64_t m = x86_size_mask(size);
                uint64_t hx = form ? (a & ~m) | (imm & m) : a, hy = b, hf = fl;
                host_imul2(size, &hx, &hy, &hf);
                emu_reset(fl);
                cpu->gpr[X86_RCX] = a;
                cpu->gpr[X86_RBX] = b;
                struct x86_insn i = h_insn(form ? 0 : 1, form == 0 ? 0xaf : form == 1 ? 0x69 : 0x6b,
                                           size, X86_RCX, X86_RBX);
                i.imm = imm;
                i.imm_size = form == 1 ? (size == 2 ? 2 : 4) : 1;
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RCX] == hx && cpu->gpr[X86_RBX] == b;
                static const char *nm[3] = {"imul2", "imul69", "imul6b"};
                check(nm[form], size, ok, hf, x86_get_rflags(cpu), FCF | FOF | claimed(ARITH),
                      ARITH, a, b);
            }
    report_and_assert();
}

/* ---------------------------------------------------------------- bits */

static bool host_has(unsigned leaf, unsigned reg, unsigned bit)
{
    unsigned r[4];
    if (!__get_cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3]))
        return false;
    return (r[reg] >> bit) & 1;
}

Test(alu_diff, bit_scan_count_test)
{
    h_seed("alu_diff.bits");
    bool has_popcnt = host_has(1, 2, 23), has_lzcnt = host_has(0x80000001, 2, 5),
         has_bmi1 = host_has(7, 1, 3);
    static const struct { const char *name; host_bin_fn host; unsigned byte, pfx; uint64_t def, claim; } f[] = {
        {"bsf", host_bsf, 0xbc, 0, FZF, ARITH},          {"bsr", host_bsr, 0xbd, 0, FZF, ARITH},
        {"tzcnt", host_tzcnt, 0xbc, X86_PFX_F3, FZF | FCF, ARITH},
        {"lzcnt", host_lzcnt, 0xbd, X86_PFX_F3, FZF | FCF, ARITH},
        {"popcnt", host_popcnt, 0xb8, X86_PFX_F3, ARITH, ARITH},
        {"bt", host_bt, 0xa3, 0, FCF | FZF, ARITH},    {"bts", host_bts, 0xab, 0, FCF | FZF, ARITH},
        {"btr", host_btr, 0xb3, 0, FCF | FZF, ARITH},  {"btc", host_btc, 0xbb, 0, FCF | FZF, ARITH},
    };
    for (unsigned k = 0; k < ARRAY_SIZE(f); k++) {
        if ((k == 2 && !has_bmi1) || (k == 3 && !has_lzcnt) || (k == 4 && !has_popcnt)) {
            fprintf(stderr, "host lacks %s: skipped\n", f[k].name);
            continue;
        }
        for (unsigned s = 1; s < 4; s++)
            for (unsigned n = 0; n < CASES; n++) {
                unsigned size = sizes[s];
                uint64_t a = h_rand(), b = h_operand(size) | (h_rand() & ~x86_size_mask(size));
                if (k < 5 && (n & 1))
                    b &= h_rand() & h_rand();   /* sparse sources */
                uint64_t fl = rand_flags();
                uint64_t hx = a, hy = b, hf = fl;
                f[k].host(size, &hx, &hy, &hf);
                emu_reset(fl);
                uint64_t ex, ey;
                struct x86_insn i;
                if (k < 5) {   /* dest reg = RCX, source r/m = RBX */
                    cpu->gpr[X86_RCX] = a;
                    cpu->gpr[X86_RBX] = b;
                    i = h_insn(1, f[k].byte, size, X86_RCX, X86_RBX);
                } else {       /* BT r/m = RCX (bit string), reg = RBX (offset) */
                    cpu->gpr[X86_RCX] = a;
                    cpu->gpr[X86_RBX] = b;
                    i = h_insn(1, f[k].byte, size, X86_RBX, X86_RCX);
                }
                i.mprefix = (uint8_t)f[k].pfx;
                if (f[k].pfx == X86_PFX_F3)
                    i.flags |= X86_INSN_REP;
                bool ok = h_exec(cpu, &i) < 0;
                ex = cpu->gpr[X86_RCX];
                ey = cpu->gpr[X86_RBX];
                ok = ok && (k < 5 ? (ex == hx && ey == hy) : (ex == hx && ey == hy));
                check(f[k].name, size, ok, hf, x86_get_rflags(cpu), f[k].def | claimed(f[k].claim), ARITH, a, b);
            }
    }
    /* group 8: BT* r/m, imm8 against the host register form with the same offset */
    static const host_bin_fn g8[4] = {host_bt, host_bts, host_btr, host_btc};
    for (unsigned d = 4; d < 8; d++)
        for (unsigned s = 1; s < 4; s++)
            for (unsigned n = 0; n < CASES / 2; n++) {
                unsigned size = sizes[s];
                uint64_t a = h_rand(), imm = h_rand() & 0xff;
                uint64_t fl = rand_flags();
                uint64_t hx = a, hy = imm & (size * 8 - 1), hf = fl;
                g8[d - 4](size, &hx, &hy, &hf);
                emu_reset(fl);
                cpu->gpr[X86_RDI] = a;
                struct x86_insn i = h_insn(1, 0xba, size, d, X86_RDI);
                i.imm = imm;
                i.imm_size = 1;
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RDI] == hx;
                check("bt_grp8", size, ok, hf, x86_get_rflags(cpu), ARITH, ARITH, a, imm);
            }
    report_and_assert();
}

Test(alu_diff, bswap_cmpxchg)
{
    h_seed("alu_diff.misc");
    for (unsigned n = 0; n < CASES; n++) {
        uint64_t a = h_rand(), x4 = a, x8 = a;
        asm("bswap %k0" : "+r"(x4));
        asm("bswap %q0" : "+r"(x8));
        for (unsigned s = 2; s < 4; s++) {
            emu_reset(X86_FLAG_FIXED1);
            cpu->gpr[X86_R9] = a;
            struct x86_insn i = h_insn(1, 0xc9, sizes[s], 0, X86_R9);
            bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_R9] == (s == 2 ? x4 : x8);
            check("bswap", sizes[s], ok, 0, 0, 0, 0, a, 0);
        }
    }
    for (unsigned s = 0; s < 4; s++)
        for (unsigned n = 0; n < CASES; n++) {
            unsigned size = sizes[s];
            uint64_t m = x86_size_mask(size);
            uint64_t acc = h_operand(size) | (h_rand() & ~m), dst = h_rand(), src = h_rand();
            if (n & 1)
                dst = (dst & ~m) | (acc & m);   /* equal half the time */
            uint64_t fl = rand_flags();
            uint64_t ha = acc, hx = dst, hf = fl;
            switch (size) {
            case 1: asm volatile(PRE "cmpxchgb %b[y], %b[x]" POST : "+a"(ha), [x] "+q"(hx), [f] "+r"(hf) : [y] "q"(src) : "cc"); break;
            case 2: asm volatile(PRE "cmpxchgw %w[y], %w[x]" POST : "+a"(ha), [x] "+r"(hx), [f] "+r"(hf) : [y] "r"(src) : "cc"); break;
            case 4: asm volatile(PRE "cmpxchgl %k[y], %k[x]" POST : "+a"(ha), [x] "+r"(hx), [f] "+r"(hf) : [y] "r"(src) : "cc"); break;
            default: asm volatile(PRE "cmpxchgq %q[y], %q[x]" POST : "+a"(ha), [x] "+r"(hx), [f] "+r"(hf) : [y] "r"(src) : "cc"); break;
            }
            emu_reset(fl);
            cpu->gpr[X86_RAX] = acc;
            cpu->gpr[X86_RBX] = dst;
            cpu->gpr[X86_RDX] = src;
            struct x86_insn i = h_insn(1, size > 1 ? 0xb1 : 0xb0, size, X86_RDX, X86_RBX);
            bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RAX] == ha && cpu->gpr[X86_RBX] == hx;
            check("cmpxchg", size, ok, hf, x86_get_rflags(cpu), ARITH, ARITH, acc, dst);
        }
    report_and_assert();
}

/* ---------------------------------------------------------------- conditions */

#define CCS(X) X(o, 0) X(no, 1) X(b, 2) X(ae, 3) X(e, 4) X(ne, 5) X(be, 6) X(a, 7) \
               X(s, 8) X(ns, 9) X(p, 10) X(np, 11) X(l, 12) X(ge, 13) X(le, 14) X(g, 15)

/** Host SETcc with flags @f. */
static unsigned host_setcc(unsigned cc, uint64_t f)
{
    uint64_t x = 0;
    switch (cc) {
#define X(n, c) case c: asm volatile(PRE "set" #n " %b[x]" POST : [x] "+q"(x), [f] "+r"(f) :: "cc"); break;
        CCS(X)
#undef X
    }
    return (unsigned)(x & 0xff);
}

Test(alu_diff, conditions_setcc_cmovcc_jcc)
{
    h_seed("alu_diff.cond");
    for (unsigned n = 0; n < CASES * 2; n++) {
        unsigned cc = n & 15;
        unsigned size = sizes[(n >> 4) & 3];
        uint64_t a = h_operand(size), b = h_operand(size), fl = rand_flags();
        /* three lazy states: materialised flags, after CMP (fast path), after AND */
        for (unsigned st = 0; st < 3; st++) {
            uint64_t hf = fl, hx = a, hy = b;
            if (st == 1)
                host_cmp(size, &hx, &hy, &hf);
            else if (st == 2)
                host_and(size, &hx, &hy, &hf);
            unsigned want = host_setcc(cc, hf);

            emu_reset(fl);
            if (st) {
                cpu->gpr[X86_RAX] = a;
                cpu->gpr[X86_RDX] = b;
                struct x86_insn op = h_insn(0, st == 1 ? 0x39 : 0x21, size, X86_RDX, X86_RAX);
                if (size == 1)
                    op.op--;
                h_exec(cpu, &op);
            }
            static const char *stn[3] = {"setcc_eflags", "setcc_cmp", "setcc_and"};
            /* SETcc into BL */
            cpu->gpr[X86_RBX] = 0x5555;
            struct x86_insn i = h_insn(1, 0x90 + cc, 1, 0, X86_RBX);
            bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RBX] == (0x5500u | want);
            check(stn[st], size, ok, 0, 0, 0, 0, a, cc);
            /* CMOVcc r32: written when true, zero-extended even when false */
            cpu->gpr[X86_RCX] = 0xaaaaaaaa11111111ull;
            cpu->gpr[X86_RSI] = 0xbbbbbbbb22222222ull;
            i = h_insn(1, 0x40 + cc, 4, X86_RCX, X86_RSI);
            ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RCX] == (want ? 0x22222222ull : 0x11111111ull);
            check("cmovcc32", 4, ok, 0, 0, 0, 0, a, cc);
            /* Jcc rel8 at rip 0x1000, len 2, disp -0x10 */
            cpu->rip = 0x1000;
            i = h_insn(0, 0x70 + cc, 8, 0, 0);
            i.flags = 0;
            i.len = 2;
            i.imm = (uint64_t)-0x10;
            i.imm_size = 1;
            ok = h_exec(cpu, &i) < 0 && cpu->next_rip == (want ? 0x1002 - 0x10 : 0x1002);
            check("jcc", 8, ok, 0, 0, 0, 0, a, cc);
        }
    }
    report_and_assert();
}

/* ---------------------------------------------------------------- moves */

Test(alu_diff, sign_and_zero_extension)
{
    h_seed("alu_diff.ext");
    for (unsigned n = 0; n < CASES; n++) {
        uint64_t a = h_rand(), d = h_rand();
        uint64_t h;
        /* CBW CWDE CDQE / CWD CDQ CQO */
        uint64_t ra, rd;
        for (unsigned s = 1; s < 4; s++) {
            ra = a;
            rd = d;
            switch (s) {
            case 1: asm("cbw" : "+a"(ra)); break;
            case 2: asm("cwde" : "+a"(ra)); break;
            default: asm("cdqe" : "+a"(ra)); break;
            }
            emu_reset(X86_FLAG_FIXED1);
            cpu->gpr[X86_RAX] = a;
            struct x86_insn i = h_insn(0, 0x98, sizes[s], 0, 0);
            bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RAX] == ra;
            check("cbw/cwde/cdqe", sizes[s], ok, 0, 0, 0, 0, a, 0);
            ra = a;
            switch (s) {
            case 1: asm("cwd" : "+a"(ra), "+d"(rd)); break;
            case 2: asm("cdq" : "+a"(ra), "+d"(rd)); break;
            default: asm("cqo" : "+a"(ra), "+d"(rd)); break;
            }
            emu_reset(X86_FLAG_FIXED1);
            cpu->gpr[X86_RAX] = a;
            cpu->gpr[X86_RDX] = d;
            i = h_insn(0, 0x99, sizes[s], 0, 0);
            ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RDX] == rd && cpu->gpr[X86_RAX] == a;
            check("cwd/cdq/cqo", sizes[s], ok, 0, 0, 0, 0, a, 0);
        }
        /* MOVZX/MOVSX r16/32/64 <- r/m8/16, MOVSXD */
        static const struct { const char *name; unsigned map, byte; } mx[] = {
            {"movzx8", 1, 0xb6}, {"movzx16", 1, 0xb7}, {"movsx8", 1, 0xbe}, {"movsx16", 1, 0xbf},
            {"movsxd", 0, 0x63},
        };
        for (unsigned k = 0; k < ARRAY_SIZE(mx); k++)
            for (unsigned s = 1; s < 4; s++) {
                if ((k == 1 || k == 3) && s == 1)
                    continue;
                if (k == 4 && s != 3)
                    continue;
                h = d;
                switch (k * 4 + s) {
                case 1: asm("movzbw %b1, %w0" : "+r"(h) : "q"(a)); break;
                case 2: asm("movzbl %b1, %k0" : "+r"(h) : "q"(a)); break;
                case 3: asm("movzbq %b1, %q0" : "+r"(h) : "q"(a)); break;
                case 6: asm("movzwl %w1, %k0" : "+r"(h) : "r"(a)); break;
                case 7: asm("movzwq %w1, %q0" : "+r"(h) : "r"(a)); break;
                case 9: asm("movsbw %b1, %w0" : "+r"(h) : "q"(a)); break;
                case 10: asm("movsbl %b1, %k0" : "+r"(h) : "q"(a)); break;
                case 11: asm("movsbq %b1, %q0" : "+r"(h) : "q"(a)); break;
                case 14: asm("movswl %w1, %k0" : "+r"(h) : "r"(a)); break;
                case 15: asm("movswq %w1, %q0" : "+r"(h) : "r"(a)); break;
                default: asm("movslq %k1, %q0" : "+r"(h) : "r"(a)); break;
                }
                emu_reset(X86_FLAG_FIXED1);
                cpu->gpr[X86_RDX] = d;
                cpu->gpr[X86_R10] = a;
                struct x86_insn i = h_insn(mx[k].map, mx[k].byte, sizes[s], X86_RDX, X86_R10);
                bool ok = h_exec(cpu, &i) < 0 && cpu->gpr[X86_RDX] == h;
                check(mx[k].name, sizes[s], ok, 0, 0, 0, 0, a, d);
            }
    }
    report_and_assert();
}
