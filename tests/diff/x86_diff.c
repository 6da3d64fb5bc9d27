/*
 * tests/diff/x86_diff.c - differential test of qtemu's x86 interpreter
 * against the host CPU, one instruction form at a time.
 *
 * Forms are enumerated from the decoder and the handler tables rather than
 * written by hand: every opcode of the four legacy maps (primary, 0F, 0F 38,
 * 0F 3A) and the three VEX maps, crossed with the mandatory prefix (none,
 * 66, F3, F2 / VEX.pp), REX.W / VEX.W, VEX.L, the ModRM form (register, or
 * memory [disp32]) and, for group opcodes, the /digit (x87 register forms
 * whose r/m is an opcode extension also per r/m). A candidate is a form when
 * x86_decode() accepts it in 64-bit mode and the handler table
 * (x86_exec_table / x86_vex_table) has a handler other than x86_op_ud.
 * Control transfers (X86_INSN_BRANCH), system/serialising instructions
 * (X86_INSN_ENDS_BLOCK) and the encodings in policy.inc's skip_rules are
 * not run; the table lists them with the reason.
 *
 * Each case: random ModRM reg/rm registers (REX.R/B, VEX.R/B/vvvv), random
 * immediates, random GPRs (edge-biased), random incoming arithmetic flags
 * and DF, random x87 stack (values, TOP, tags, control word), MXCSR, YMM
 * registers (integer and float lanes with specials), and a random data
 * page; the memory operand sits at a random (mostly aligned) offset of the
 * data page, sometimes across its end (#PF on both sides). The host runs it
 * in a sandboxed child (native.c), qtemu in its interpreter
 * (qtemu_side.c); then compared: the exception vector; without one, the 16
 * GPRs, RFLAGS (CF PF AF ZF SF OF DF, minus the undefined-flag policy of
 * policy.inc), FCW, FSW, abridged FTW, ST0-7, MXCSR, YMM0-15 and the data
 * page; with one, that qtemu left registers and memory unchanged (precise
 * faults).
 *
 * A first probe of 4 cases per form sorts out encodings the host rejects
 * (#UD on every probe): qtemu must reject them too, and they get no more
 * cases. The rest get the requested cases per form.
 *
 * Usage: x86_diff [-n cases-per-form] [-t min-total-cases] [-s seed]
 *                 [-f name-filter] [-o table-file] [-v]
 * Exit status 0 when no case mismatched, 1 otherwise, 77 when the host
 * cannot run the native side (not x86-64 Linux, addresses taken).
 */
#include <cpuid.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/x86/x86.h"
#include "tests/diff/diff.h"
#include "util/disas.h"

#include "tests/diff/policy.inc"
#include "tests/diff/known.inc"

/* ---------------------------------------------------------------- random numbers */

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/** An integer biased to the edges at @size bytes, upper bits sometimes garbage. */
static uint64_t rnd_int(void)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned size = sizes[rndn(4)];
    uint64_t m = x86_size_mask(size), sb = 1ull << (size * 8 - 1), v;
    switch (rndn(10)) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = m; break;
    case 3: v = sb; break;
    case 4: v = sb - 1; break;
    case 5: v = rnd() & 0x3f; break;
    case 6: v = (sb + rndn(5) - 2) & m; break;
    default: return rnd();
    }
    return rndn(3) == 0 ? (rnd() & ~m) | v : v;
}

static uint32_t rnd_f32(void)
{
    static const uint32_t sp[] = { 0, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40000000,
                                   0x3dcccccd, 0x7149f2ca, 0x8ccbcccc, 0x7f800000, 0xff800000,
                                   0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0x00000001,
                                   0x007fffff, 0x80400000, 0x7f7fffff, 0x00800000, 0x4f000000,
                                   0xcf000000, 0x5f000000, 0x3effffff, 0x3f000000, 0x4b000001 };
    switch (rndn(4)) {
    case 0: return sp[rndn(sizeof(sp) / sizeof(sp[0]))];
    case 1: {
        float f = (float)((int)rndn(2001) - 1000) / (float)(1 + rndn(8));
        uint32_t u;
        memcpy(&u, &f, 4);
        return u;
    }
    default: return (uint32_t)rnd();
    }
}

static uint64_t rnd_f64(void)
{
    static const uint64_t sp[] = { 0, 0x8000000000000000ull, 0x3ff0000000000000ull,
                                   0xbff0000000000000ull, 0x3ff8000000000000ull,
                                   0x7ff0000000000000ull, 0xfff0000000000000ull,
                                   0x7ff8000000000000ull, 0xfff8000000000000ull,
                                   0x7ff0000000000001ull, 0x7ff4000000000000ull, 1,
                                   0x000fffffffffffffull, 0x0010000000000000ull,
                                   0x7fefffffffffffffull, 0x41e0000000000000ull,
                                   0xc1e0000000000000ull, 0x43e0000000000000ull,
                                   0xc3e0000000000000ull, 0x3fdfffffffffffffull,
                                   0x3fe0000000000000ull, 0x4330000000000001ull };
    switch (rndn(4)) {
    case 0: return sp[rndn(sizeof(sp) / sizeof(sp[0]))];
    case 1: {
        double d = (double)((int)rndn(200001) - 100000) / (double)(1 + rndn(16));
        uint64_t u;
        memcpy(&u, &d, 8);
        return u;
    }
    default: return rnd();
    }
}

/** Fill @n bytes (multiple of 8) with a mix of integer, float and double lanes. */
static void rnd_lanes(uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i + 8 <= n; i += 8) {
        uint64_t v;
        switch (rndn(4)) {
        case 0: v = rnd_f64(); break;
        case 1: v = rnd_f32() | ((uint64_t)rnd_f32() << 32); break;
        case 2: v = rnd_int(); break;
        default: v = rnd(); break;
        }
        memcpy(p + i, &v, 8);
    }
}

/** An 80-bit x87 value: from the double pool, or a special encoding. */
static void rnd_f80(uint8_t *out)
{
    uint64_t mant;
    uint16_t se;
    switch (rndn(12)) {
    case 0: mant = rnd() >> 1; se = (uint16_t)(rnd() & 0x7fff); break;    /* unnormal */
    case 1: mant = rnd() >> 1; se = (uint16_t)(rnd() & 0x8000); break;    /* denormal */
    case 2: mant = 1ull << 63 | (rnd() >> 1); se = 0x7fff; break;         /* NaN / inf */
    case 3: mant = rnd(); se = (uint16_t)rnd(); break;
    default: {
        uint64_t u = rnd_f64();
        double d;
        memcpy(&d, &u, 8);
        long double ld = d;
        if (rndn(4) == 0)
            ld *= 1.0L + (long double)rnd() / 18446744073709551616.0L;  /* bits beyond double */
        uint8_t b[16];
        memset(b, 0, sizeof(b));
        memcpy(b, &ld, 10);
        memcpy(&mant, b, 8);
        memcpy(&se, b + 8, 2);
        break;
    }
    }
    memcpy(out, &mant, 8);
    memcpy(out + 8, &se, 2);
}

/* ---------------------------------------------------------------- forms */

struct form {
    uint8_t vex, map, op, pfx;     /* pfx: legacy 0/0x66/0xF3/0xF2; VEX: pp 0..3 */
    uint8_t w, l, mem, has_modrm;
    int8_t digit, rmfix;           /* -1: random */
    uint8_t opsize;                /* from the decoder */
    bool host_invalid;             /* every probe case was #UD on the host */
    const struct uflag_rule *uf;
    char name[80];
    unsigned long cases, faults, ud, mism, known;
    char first[640];
    const struct known_rule *first_known;
};

static struct form *forms;
static unsigned nforms, cap_forms;
static unsigned long n_nohandler, n_branch, n_system, n_invalid;
static unsigned long skip_count[sizeof(skip_rules) / sizeof(skip_rules[0])];

static bool enc_match(const struct enc_match *m, const struct form *f)
{
    if (m->map == 0xff)
        return true;   /* every encoding */
    if (m->vex != f->vex || m->map != f->map || f->op < m->lo || f->op > m->hi)
        return false;
    if (m->digit >= 0 && (f->digit < 0 || f->digit != m->digit))
        return false;
    if (m->pfx >= 0 && m->pfx != f->pfx)
        return false;
    return true;
}

static bool is_group(const struct form *f)
{
    static const uint8_t g0[] = { 0x80, 0x81, 0x83, 0x8f, 0xc0, 0xc1, 0xc6, 0xc7, 0xd0, 0xd1,
                                  0xd2, 0xd3, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
                                  0xf6, 0xf7, 0xfe, 0xff };
    static const uint8_t g1[] = { 0x00, 0x01, 0x0d, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
                                  0x1f, 0x71, 0x72, 0x73, 0xae, 0xba, 0xb9, 0xc7 };
    if (f->vex)
        return (f->map == 1 && (f->op == 0x71 || f->op == 0x72 || f->op == 0x73 || f->op == 0xae)) ||
               (f->map == 2 && f->op == 0xf3);
    if (f->map == 0)
        return memchr(g0, f->op, sizeof(g0)) != NULL;
    if (f->map == 1)
        return memchr(g1, f->op, sizeof(g1)) != NULL;
    return false;
}

/** x87 register forms whose r/m field is an opcode extension (SDM Vol. 2D A.4.2). */
static bool x87_rm_ext(uint8_t op, int digit)
{
    return (op == 0xd9 && digit >= 4) || (op == 0xda && digit == 5) ||
           (op == 0xdb && digit == 4) || (op == 0xde && digit == 3) || (op == 0xdf && digit == 4);
}

/** Case layout chosen per case. */
struct draw {
    unsigned reg, rm, vvvv;
    bool rex, c5;
    uint32_t mem_off;
};

/** Encode @f with @d into @out (immediate bytes random, 8 of them). Returns bytes written. */
static unsigned encode(const struct form *f, const struct draw *d, uint8_t *out, bool random_imm)
{
    unsigned n = 0;
    unsigned reg = f->digit >= 0 ? (unsigned)f->digit | (d->reg & 8) : d->reg;
    unsigned rm = f->rmfix >= 0 ? (unsigned)f->rmfix | (d->rm & 8) : d->rm;
    if (f->vex) {
        unsigned R = reg >> 3, B = rm >> 3;
        if (d->c5 && f->map == 1 && !f->w && !B) {
            out[n++] = 0xc5;
            out[n++] = (uint8_t)((R ? 0 : 0x80) | ((~d->vvvv & 15) << 3) | (f->l << 2) | f->pfx);
        } else {
            out[n++] = 0xc4;
            out[n++] = (uint8_t)((R ? 0 : 0x80) | 0x40 | (B ? 0 : 0x20) | f->map);
            out[n++] = (uint8_t)((f->w << 7) | ((~d->vvvv & 15) << 3) | (f->l << 2) | f->pfx);
        }
    } else {
        if (f->pfx)
            out[n++] = f->pfx;
        unsigned rex = 0x40 | (f->w << 3) | ((reg >> 3) << 2) | (rm >> 3);
        if (rex != 0x40 || d->rex)
            out[n++] = (uint8_t)rex;
        if (f->map >= 1)
            out[n++] = 0x0f;
        if (f->map == 2)
            out[n++] = 0x38;
        if (f->map == 3)
            out[n++] = 0x3a;
    }
    out[n++] = f->op;
    if (f->has_modrm) {
        if (f->mem) {
            out[n++] = (uint8_t)(0x04 | ((reg & 7) << 3));
            out[n++] = 0x25;
            uint32_t a = (uint32_t)(DIFF_DATA + d->mem_off);
            memcpy(out + n, &a, 4);
            n += 4;
        } else {
            out[n++] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
        }
    } else if (!f->vex && f->map == 0 && (f->op & 0xf0) != 0 && f->rmfix < 0) {
        /* opcode-embedded registers (+r) take REX.B from d->rm above */
    }
    for (unsigned i = 0; i < 8; i++)
        out[n++] = random_imm ? (uint8_t)rnd() : 0;
    return n;
}

static void form_name(struct form *f)
{
    static const char *pp[] = { "", "66 ", "F3 ", "F2 " };
    const char *p = f->vex ? pp[f->pfx] : f->pfx == 0x66 ? "66 " : f->pfx == 0xf3 ? "F3 " :
                                             f->pfx == 0xf2 ? "F2 " : "";
    static const char *mp[] = { "", "0F ", "0F38 ", "0F3A " };
    char dig[16] = "";
    if (f->digit >= 0 && f->rmfix >= 0)
        snprintf(dig, sizeof(dig), " /%d,%d", f->digit, f->rmfix);
    else if (f->digit >= 0)
        snprintf(dig, sizeof(dig), " /%d", f->digit);
    char enc[40];
    if (f->vex)
        snprintf(enc, sizeof(enc), "VEX.L%u.%s%sW%u %02X%s", f->l, p, mp[f->map], f->w, f->op, dig);
    else
        snprintf(enc, sizeof(enc), "%s%s%s%02X%s", p, f->w ? "W1 " : "", mp[f->map], f->op, dig);

    /* Mnemonic from Capstone for a sample encoding. */
    struct draw d = { 1, 2, 3, false, false, 0x100 };
    uint8_t b[32];
    unsigned n = encode(f, &d, b, false);
    char mnem[64] = "?";
    char *buf = NULL;
    size_t sz = 0;
    FILE *ms = open_memstream(&buf, &sz);
    if (ms) {
        disas_x86_print(ms, b, n, 0, 64, 1);
        fclose(ms);
        char *s = buf ? strstr(buf, ":  ") : NULL;
        if (s) {
            s += 3;
            size_t k = strcspn(s, " \n");
            snprintf(mnem, sizeof(mnem), "%.*s", (int)k, s);
        }
        free(buf);
    }
    snprintf(f->name, sizeof(f->name), "%-30s %-4s %s", enc, f->has_modrm ? (f->mem ? "mem" : "reg") : "-",
             mnem);
}

static void add_candidate(struct form *f)
{
    struct draw d = { 1, 2, 0, false, false, 0x100 };
    uint8_t b[32];
    unsigned n = encode(f, &d, b, false);
    uint16_t flags = 0;
    bool has_handler = false;
    uint8_t opsize = 0;
    int len = qside_decode(b, n, &flags, &has_handler, &opsize);
    if (len < 0) {
        n_invalid++;
        return;
    }
    if (!has_handler) {
        n_nohandler++;
        return;
    }
    if (flags & X86_INSN_BRANCH) {
        n_branch++;
        return;
    }
    if (flags & X86_INSN_ENDS_BLOCK) {
        n_system++;
        return;
    }
    for (unsigned i = 0; i < sizeof(skip_rules) / sizeof(skip_rules[0]); i++) {
        const struct skip_rule *r = &skip_rules[i];
        if (enc_match(&r->m, f) && (r->mod < 0 || !f->has_modrm || (r->mod == 3) == !f->mem)) {
            skip_count[i]++;
            return;
        }
    }
    f->opsize = opsize;
    f->uf = NULL;
    for (unsigned i = 0; i < sizeof(uflag_rules) / sizeof(uflag_rules[0]); i++)
        if (enc_match(&uflag_rules[i].m, f)) {
            f->uf = &uflag_rules[i];
            break;
        }
    if (nforms == cap_forms) {
        cap_forms = cap_forms ? cap_forms * 2 : 1024;
        forms = realloc(forms, cap_forms * sizeof(*forms));
        if (!forms) {
            fprintf(stderr, "x86-diff: out of memory\n");
            exit(2);
        }
    }
    form_name(f);
    forms[nforms++] = *f;
}

static bool legacy_prefix_byte(uint8_t b)
{
    return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
           b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || (b & 0xf0) == 0x40 ||
           b == 0x0f || b == 0xc4 || b == 0xc5 || b == 0x62 || b == 0x8f;
}

static void enumerate(void)
{
    static const uint8_t lpfx[] = { 0, 0x66, 0xf3, 0xf2 };
    for (unsigned vex = 0; vex <= 1; vex++)
        for (unsigned map = vex; map <= 3; map++)
            for (unsigned op = 0; op < 256; op++) {
                if (!vex && map == 0 && legacy_prefix_byte((uint8_t)op) && op != 0x8f)
                    continue;
                if (!vex && map == 1 && (op == 0x38 || op == 0x3a))
                    continue;
                for (unsigned pi = 0; pi < 4; pi++) {
                    if (!vex && map == 0 && pi >= 2)
                        continue;   /* F3/F2 on one-byte opcodes: REP, string ops only */
                    for (unsigned w = 0; w <= 1; w++) {
                        if (!vex && map == 0 && w && pi == 1)
                            continue;   /* 66 + REX.W = REX.W */
                        for (unsigned l = 0; l <= vex; l++) {
                            struct form f;
                            memset(&f, 0, sizeof(f));
                            f.vex = (uint8_t)vex, f.map = (uint8_t)map, f.op = (uint8_t)op;
                            f.pfx = vex ? (uint8_t)pi : lpfx[pi];
                            f.w = (uint8_t)w, f.l = (uint8_t)l;
                            f.digit = f.rmfix = -1;
                            /* Does it take ModRM? Decode with and without (a group
                             * opcode with /0, which every group defines). */
                            f.digit = is_group(&f) ? 0 : -1;
                            struct draw d = { 1, 2, 0, false, false, 0x100 };
                            uint8_t b[32];
                            uint16_t fl;
                            bool hh;
                            uint8_t os;
                            f.has_modrm = 1;
                            f.mem = 0;
                            unsigned n = encode(&f, &d, b, false);
                            int len_reg = qside_decode(b, n, &fl, &hh, &os);
                            bool modrm = len_reg >= 0 && (fl & X86_INSN_MODRM);
                            f.mem = 1;
                            n = encode(&f, &d, b, false);
                            int len_mem = qside_decode(b, n, &fl, &hh, &os);
                            if (len_mem >= 0 && (fl & X86_INSN_MODRM))
                                modrm = true;
                            f.digit = -1;
                            if (!modrm) {
                                f.has_modrm = 0;
                                f.mem = 0;
                                add_candidate(&f);
                                continue;
                            }
                            bool grp = is_group(&f);
                            for (int dg = grp ? 0 : -1; dg < (grp ? 8 : 0); dg++)
                                for (unsigned mem = 0; mem <= 1; mem++) {
                                    f.digit = (int8_t)dg;
                                    f.mem = (uint8_t)mem;
                                    if (!vex && map == 0 && !mem && x87_rm_ext(f.op, dg)) {
                                        for (int rm = 0; rm < 8; rm++) {
                                            f.rmfix = (int8_t)rm;
                                            add_candidate(&f);
                                        }
                                        f.rmfix = -1;
                                    } else {
                                        add_candidate(&f);
                                    }
                                }
                        }
                    }
                }
            }
}

/* ---------------------------------------------------------------- cases */

static void gen_state(struct diff_state *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned r = 0; r < 16; r++)
        s->gpr[r] = rnd_int();
    s->gpr[X86_RSP] = rndn(16) == 0 ? DIFF_DATA + 4 : DIFF_DATA + 0x800 + 8 * (rndn(64)) - 256;
    s->rflags = X86_FLAG_FIXED1 | X86_FLAG_IF | (rnd() & X86_FLAGS_ARITH) |
                (rndn(4) == 0 ? X86_FLAG_DF : 0);

    uint16_t fcw = 0x037f;
    if (rndn(4) == 0)
        fcw = (uint16_t)((fcw & ~0x0f00) | (rnd() & 0x0f00));
    if (rndn(8) == 0)
        fcw &= (uint16_t)~(rnd() & 0x3f);
    uint16_t fsw = (uint16_t)((rndn(8) << 11) | (rnd() & 0x4700));  /* TOP, C0-C3 */
    if (rndn(8) == 0)
        fsw |= (uint16_t)(rnd() & 0x7f);
    if (fsw & ~fcw & 0x3f)
        fsw |= 0x8080;   /* ES and B follow the unmasked pending exceptions */
    uint8_t ftw = 0;
    for (unsigned i = 0; i < 8; i++)
        if (rndn(4) != 0)
            ftw |= (uint8_t)(1u << i);
    memcpy(s->fx + FX_FCW, &fcw, 2);
    memcpy(s->fx + FX_FSW, &fsw, 2);
    s->fx[FX_FTW] = ftw;
    for (unsigned i = 0; i < 8; i++)
        rnd_f80(s->fx + FX_ST(i));
    uint32_t mxcsr = 0x1f80;
    if (rndn(4) == 0)
        mxcsr = (mxcsr & ~0xe040u) | (uint32_t)(rnd() & 0xe040);
    if (rndn(8) == 0)
        mxcsr &= ~(uint32_t)(rnd() & 0x1f80);
    if (rndn(4) == 0)
        mxcsr |= (uint32_t)(rnd() & 0x3f);
    memcpy(s->fx + FX_MXCSR, &mxcsr, 4);
    uint32_t mxmask = 0xffff;
    memcpy(s->fx + FX_MXCSR_MASK, &mxmask, 4);
    for (unsigned i = 0; i < 16; i++)
        rnd_lanes(s->ymm[i], 32);
}

static void gen_case(const struct form *f, struct diff_case *c, const uint8_t *background)
{
    struct draw d;
    d.reg = rndn(16);
    d.rm = rndn(16);
    d.vvvv = rndn(4) == 0 ? 0 : rndn(16);
    d.rex = rndn(2);
    d.c5 = rndn(2);
    switch (rndn(16)) {
    case 0: d.mem_off = DIFF_PAGE - 1 - rndn(16); break;             /* crosses the page end */
    case 1: case 2: d.mem_off = rndn(DIFF_PAGE - 64); break;          /* unaligned */
    case 3: case 4: d.mem_off = rndn((DIFF_PAGE - 64) / 8) * 8; break;
    default: d.mem_off = rndn((DIFF_PAGE - 64) / 32) * 32; break;
    }
    uint8_t b[40];
    unsigned n = encode(f, &d, b, true);
    uint16_t fl;
    bool hh;
    uint8_t os;
    int len = qside_decode(b, n, &fl, &hh, &os);
    if (len <= 0)   /* qtemu rejects it (it will raise #UD): the host's length from Capstone */
        len = (int)disas_x86_length(b, n, 64);
    if (len <= 0)
        len = (int)n - 8;
    c->len = (uint8_t)len;
    memcpy(c->bytes, b, c->len);
    gen_state(&c->in);
    memcpy(c->data, background, DIFF_PAGE);
    if (f->mem && d.mem_off <= DIFF_PAGE - 32)
        rnd_lanes(c->data + (d.mem_off & ~7u), 32);
    /* Implicit pointers into the data page. */
    if (!f->vex && f->map == 0 && (f->op == 0xc8 || f->op == 0xc9))   /* ENTER, LEAVE: RBP */
        c->in.gpr[X86_RBP] = DIFF_DATA + 0x900 + 8 * rndn(32);
    if (!f->vex && f->map == 0 && f->op == 0xd7)                       /* XLAT: RBX */
        c->in.gpr[X86_RBX] = DIFF_DATA + rndn(DIFF_PAGE - 256);
    if (f->map == 1 && f->op == 0xf7)                                  /* MASKMOV*: RDI */
        c->in.gpr[X86_RDI] = DIFF_DATA + rndn(DIFF_PAGE - 32);
}

/* ---------------------------------------------------------------- comparison */

static int verbose;

/* The host's CPUID vendor string; the Intel values of SDM-undefined flags
 * (policy "cmp") are compared only when it is "GenuineIntel": another
 * vendor's CPU is no oracle for them (an AMD EPYC computes IMUL's SF/ZF/PF
 * and BSF's flags differently), so there every undefined flag is masked. */
static char host_vendor[13];
static bool host_intel;

static void probe_host_vendor(void)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    memcpy(host_vendor, &b, 4);
    memcpy(host_vendor + 4, &d, 4);
    memcpy(host_vendor + 8, &c, 4);
    host_intel = !strcmp(host_vendor, "GenuineIntel");
}

/** The undefined flags of @u not compared on this host. */
static uint64_t uflag_masked(const struct uflag_rule *u)
{
    return host_intel ? u->masked : u->undef;
}

/** Masked count of a shift/rotate case (for the undefined-flag conditions). */
static unsigned shift_count(const struct form *f, const struct diff_case *c)
{
    unsigned cnt;
    if (f->map == 0 && (f->op == 0xd0 || f->op == 0xd1))
        cnt = 1;
    else if ((f->map == 0 && (f->op == 0xd2 || f->op == 0xd3)) ||
             (f->map == 1 && (f->op == 0xa5 || f->op == 0xad)))
        cnt = (unsigned)c->in.gpr[X86_RCX] & 0xff;
    else
        cnt = c->bytes[c->len - 1];
    return cnt & (f->opsize == 8 ? 0x3f : 0x1f);
}

/** Flags not compared for this case, and whether the destination is undefined. */
static uint64_t policy_mask(const struct form *f, const struct diff_case *c, bool *dest_undef)
{
    *dest_undef = false;
    const struct uflag_rule *u = f->uf;
    if (!u)
        return 0;
    unsigned cnt;
    switch (u->when) {
    case UW_SHIFT:
        cnt = shift_count(f, c);
        return uflag_masked(u) & ((cnt > 1 ? X86_FLAG_OF : 0) | (cnt ? X86_FLAG_AF : 0));
    case UW_ROT:
        cnt = shift_count(f, c);
        return cnt > 1 ? uflag_masked(u) & X86_FLAG_OF : 0;
    case UW_SHXD:
        cnt = shift_count(f, c);
        if (cnt > f->opsize * 8u) {
            *dest_undef = true;
            return X86_FLAGS_ARITH;
        }
        return uflag_masked(u) & ((cnt > 1 ? X86_FLAG_OF : 0) | (cnt ? X86_FLAG_AF : 0));
    default:
        return uflag_masked(u);
    }
}

#define CMP_FLAGS (X86_FLAGS_ARITH | X86_FLAG_DF)

/** FSW bits not compared for @f: C0/C2/C3 unless the instruction defines them (policy.inc). */
static uint16_t fsw_undef(const struct form *f)
{
    if (f->vex || f->map != 0 || f->op < 0xd8 || f->op > 0xdf)
        return 0;
    int d = f->digit, rm = f->rmfix;
    bool reg = f->has_modrm && !f->mem;
    switch (f->op) {
    case 0xd8: if (d == 2 || d == 3) return 0; break;                 /* FCOM, FCOMP */
    case 0xdc: if (d == 2 || d == 3) return 0; break;                 /* FCOM m64 / aliases */
    case 0xda:
        if (!reg && (d == 2 || d == 3))
            return 0;                                                  /* FICOM m32 */
        if (reg && d == 5 && rm == 1)
            return 0;                                                  /* FUCOMPP */
        break;
    case 0xde:
        if (!reg && (d == 2 || d == 3))
            return 0;                                                  /* FICOM m16 */
        if (reg && (d == 2 || (d == 3 && rm == 1)))
            return 0;                                                  /* FCOMP5, FCOMPP */
        break;
    case 0xdd: if (reg && (d == 4 || d == 5)) return 0; break;         /* FUCOM, FUCOMP */
    case 0xdb: case 0xdf: if (reg && (d == 5 || d == 6)) return 0; break;   /* FCOMI: C0/C2/C3 unchanged */
    case 0xd9:
        if (reg && d == 4 && (rm == 4 || rm == 5)) return 0;          /* FTST, FXAM */
        if (reg && ((d == 7 && rm == 0) || (d == 6 && rm == 5))) return 0;  /* FPREM, FPREM1 */
        if (reg && ((d == 6 && rm == 2) || (d == 7 && (rm == 3 || rm == 6 || rm == 7))))
            return 0x4100;                                             /* FPTAN..FCOS: C2 defined */
        break;
    }
    return FSW_C023;
}

static void hexs(char *out, size_t n, const uint8_t *b, unsigned len)
{
    size_t k = 0;
    out[0] = 0;
    for (unsigned i = 0; i < len && k + 4 < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%02x%s", b[i], i + 1 < len ? " " : "");
}

static void hexv(char *out, size_t n, const uint8_t *b, unsigned len)
{
    size_t k = 0;
    out[0] = 0;
    for (unsigned i = len; i-- > 0 && k + 3 < n;)
        k += (size_t)snprintf(out + k, n - k, "%02x", b[i]);
}

/** Compare one case; on a mismatch write a description to @why. */
static bool compare(const struct form *f, const struct diff_case *c, const struct diff_result *h,
                    const struct diff_result *q, char *why, size_t wn)
{
    char bytes[64], a[80], b[80], i[80];
    hexs(bytes, sizeof(bytes), c->bytes, c->len);
    int k = snprintf(why, wn, "[%s] ", bytes);
    why += k;
    wn -= (size_t)k;
    if (h->vec == DIFF_VEC_CRASH) {
        snprintf(why, wn, "the native child died on this case");
        return true;
    }
    if (h->vec != q->vec) {
        snprintf(why, wn, "exception: host %d, qtemu %d (RFLAGS in %#" PRIx64 ")", h->vec, q->vec,
                 c->in.rflags);
        return true;
    }
    bool dest_undef = false;
    uint64_t fmask = CMP_FLAGS & ~policy_mask(f, c, &dest_undef);
    /* On a fault the host's GPRs/RFLAGS are those of the signal context and its
     * data page is what the faulting instruction left (partial stores); vector
     * registers are compared with the input (a faulting instruction writes none). */
    struct diff_state hfault;
    const struct diff_state *hs = &h->out;
    if (h->vec >= 0) {
        hfault = h->out;
        memcpy(hfault.ymm, c->in.ymm, sizeof(hfault.ymm));
        hs = &hfault;
    }
    const char *who = h->vec >= 0 ? "at the fault: " : "";
    unsigned skip_reg = 99;
    if (dest_undef && f->has_modrm && !f->mem) {
        /* SHLD/SHRD register destination: ModRM.rm + REX.B */
        unsigned p = 0, rexb = 0;
        while (c->bytes[p] == 0x66 || c->bytes[p] == 0xf3 || c->bytes[p] == 0xf2)
            p++;
        if ((c->bytes[p] & 0xf0) == 0x40)
            rexb = (c->bytes[p++] & 1) << 3;
        skip_reg = (c->bytes[p + 2] & 7) | rexb;   /* 0F op ModRM */
    }
    for (unsigned r = 0; r < 16; r++)
        if (r != skip_reg && hs->gpr[r] != q->out.gpr[r]) {
            snprintf(why, wn, "%sgpr%u in %#" PRIx64 " host %#" PRIx64 " qtemu %#" PRIx64, who, r,
                     c->in.gpr[r], hs->gpr[r], q->out.gpr[r]);
            return true;
        }
    if ((hs->rflags ^ q->out.rflags) & fmask) {
        snprintf(why, wn, "%sRFLAGS in %#" PRIx64 " host %#" PRIx64 " qtemu %#" PRIx64 " (diff %#" PRIx64 ")",
                 who, c->in.rflags, hs->rflags, q->out.rflags, (hs->rflags ^ q->out.rflags) & fmask);
        return true;
    }
    for (unsigned v = 0; v < 16; v++)
        if (memcmp(hs->ymm[v], q->out.ymm[v], 32)) {
            hexv(i, sizeof(i), c->in.ymm[v], 32);
            hexv(a, sizeof(a), hs->ymm[v], 32);
            hexv(b, sizeof(b), q->out.ymm[v], 32);
            snprintf(why, wn, "%symm%u in %s host %s qtemu %s (MXCSR in %#x)", who, v, i, a, b,
                     *(const uint32_t *)(c->in.fx + FX_MXCSR));
            return true;
        }
    if (!dest_undef && memcmp(h->data, q->data, DIFF_PAGE)) {
        const uint8_t *x = h->data;
        unsigned o = 0;
        while (o < DIFF_PAGE && x[o] == q->data[o])
            o++;
        unsigned o8 = o & ~7u;
        hexv(i, sizeof(i), c->data + o8, 8);
        hexv(a, sizeof(a), x + o8, 8);
        hexv(b, sizeof(b), q->data + o8, 8);
        snprintf(why, wn, "%smemory at data+%#x: in %s host %s qtemu %s", who, o8, i, a, b);
        return true;
    }
    if (h->vec >= 0)
        return false;
    static const struct { unsigned off, len; const char *name; } fx[] = {
        { FX_FCW, 2, "FCW" }, { FX_FSW, 2, "FSW" }, { FX_FTW, 1, "FTW" }, { FX_MXCSR, 4, "MXCSR" },
        { FX_ST(0), 10, "ST0" }, { FX_ST(1), 10, "ST1" }, { FX_ST(2), 10, "ST2" },
        { FX_ST(3), 10, "ST3" }, { FX_ST(4), 10, "ST4" }, { FX_ST(5), 10, "ST5" },
        { FX_ST(6), 10, "ST6" }, { FX_ST(7), 10, "ST7" },
    };
    uint16_t fswm = (uint16_t)~fsw_undef(f), hfsw, qfsw;
    memcpy(&hfsw, h->out.fx + FX_FSW, 2);
    memcpy(&qfsw, q->out.fx + FX_FSW, 2);
    for (unsigned j = 0; j < sizeof(fx) / sizeof(fx[0]); j++)
        if (j == 1 ? ((hfsw ^ qfsw) & fswm) != 0 :
                     memcmp(h->out.fx + fx[j].off, q->out.fx + fx[j].off, fx[j].len) != 0) {
            hexv(i, sizeof(i), c->in.fx + fx[j].off, fx[j].len);
            hexv(a, sizeof(a), h->out.fx + fx[j].off, fx[j].len);
            hexv(b, sizeof(b), q->out.fx + fx[j].off, fx[j].len);
            char ctx[64];
            uint16_t fcw, fsw;
            memcpy(&fcw, c->in.fx + FX_FCW, 2);
            memcpy(&fsw, c->in.fx + FX_FSW, 2);
            snprintf(ctx, sizeof(ctx), "FCW %#x FSW %#x FTW %#x", fcw, fsw, c->in.fx[FX_FTW]);
            snprintf(why, wn, "%s in %s host %s qtemu %s (%s)", fx[j].name, i, a, b, ctx);
            return true;
        }
    return false;
}

/* ---------------------------------------------------------------- known differences */

static unsigned long known_count[sizeof(known_rules) / sizeof(known_rules[0])];

/** The known.inc rule explaining mismatch @why of form @f, or NULL. */
static const struct known_rule *known_match(const struct form *f, const char *why)
{
    for (unsigned i = 0; i < sizeof(known_rules) / sizeof(known_rules[0]); i++) {
        const struct known_rule *r = &known_rules[i];
        if (!enc_match(&r->m, f) || !strstr(why, r->what))
            continue;
        if (r->mod >= 0 && f->has_modrm && (r->mod == 3) != !f->mem)
            continue;
        if (r->rm >= 0 && f->rmfix != r->rm)
            continue;
        if (r->cpuid_leaf) {
            uint32_t out[4];
            qside_cpuid(r->cpuid_leaf, r->cpuid_sub, out);
            if ((out[r->cpuid_reg] >> r->cpuid_bit) & 1)
                continue;   /* qtemu advertises it: a real mismatch */
        }
        known_count[i]++;
        return r;
    }
    return NULL;
}

/* ---------------------------------------------------------------- driver */

#define BATCH 384

struct job {
    unsigned form;
};

static uint8_t background[DIFF_PAGE];

/** Run @per_form cases for each form in @idx[0..n). */
static void run_cases(const unsigned *idx, unsigned n, unsigned per_form)
{
    static struct diff_case cases[BATCH];
    static struct diff_result hres[BATCH], qres;
    static unsigned who[BATCH];
    unsigned long total = (unsigned long)n * per_form, done = 0;
    unsigned fi = 0, left = per_form;
    while (done < total) {
        unsigned nb = 0;
        for (unsigned j = 0; j < DIFF_PAGE; j += 8) {
            uint64_t v = rnd();
            memcpy(background + j, &v, 8);
        }
        while (nb < BATCH && done + nb < total) {
            gen_case(&forms[idx[fi]], &cases[nb], background);
            who[nb++] = idx[fi];
            if (--left == 0) {
                fi++;
                left = per_form;
            }
        }
        unsigned ok = native_run(cases, hres, nb);
        unsigned upto = ok < nb ? ok + 1 : nb;
        for (unsigned k = 0; k < upto; k++) {
            struct form *f = &forms[who[k]];
            qside_run(&cases[k], &qres);
            char why[600];
            f->cases++;
            if (hres[k].vec >= 0 && hres[k].vec == qres.vec)
                f->faults++;
            if (hres[k].vec == X86_EXC_UD)
                f->ud++;
            if (compare(f, &cases[k], &hres[k], &qres, why, sizeof(why))) {
                const struct known_rule *kr = known_match(f, why);
                if (kr) {
                    if (!f->known)
                        f->first_known = kr;
                    f->known++;
                    if (verbose > 1)
                        printf("KNOWN %s: %s\n", f->name, why);
                    continue;
                }
                if (!f->mism)
                    snprintf(f->first, sizeof(f->first), "%s", why);
                if (verbose)
                    printf("MISMATCH %s: %s\n", f->name, why);
                f->mism++;
            }
        }
        /* If the child died, the cases after the fatal one are dropped (not counted). */
        done += nb;
    }
}

static const char *policy_text(const struct form *f, char *buf, size_t n)
{
    if (!f->uf)
        return "-";
    static const char *names[] = { "CF", "PF", "AF", "ZF", "SF", "OF" };
    static const uint64_t bits[] = { X86_FLAG_CF, X86_FLAG_PF, X86_FLAG_AF, X86_FLAG_ZF,
                                     X86_FLAG_SF, X86_FLAG_OF };
    size_t k = 0;
    buf[0] = 0;
    for (unsigned j = 0; j < 6; j++)
        if (f->uf->undef & bits[j])
            k += (size_t)snprintf(buf + k, n - k, "%s%s:%s", k ? "," : "", names[j],
                                  (uflag_masked(f->uf) & bits[j]) ? "masked" : "cmp");
    return buf;
}

static void print_report(FILE *out, uint64_t seed, unsigned per_form, bool have_avx)
{
    unsigned long cases = 0, mism = 0, valid = 0, inval = 0, inval_cases = 0, inval_mism = 0;
    for (unsigned i = 0; i < nforms; i++) {
        cases += forms[i].cases;
        mism += forms[i].mism;
        if (forms[i].host_invalid) {
            inval++;
            inval_cases += forms[i].cases;
            inval_mism += forms[i].mism;
        } else {
            valid++;
        }
    }
    fprintf(out, "x86 differential test vs the host CPU (tests/diff): seed %#" PRIx64
            " (-s to repeat), %u cases per form, host AVX %s\n", seed, per_form,
            have_avx ? "yes" : "no (YMM upper halves not compared)");
    fprintf(out, "host vendor %s: %s\n\n", host_vendor,
            host_intel ? "undefined flags with policy cmp are compared"
                       : "not Intel, so every SDM-undefined flag is masked (policy cmp needs an Intel host)");
    fprintf(out, "%-30s %-4s %-14s %8s %7s %6s %6s  %s\n", "form", "op", "mnemonic", "cases", "faults",
            "mism", "known", "undefined flags (SDM) : policy");
    for (unsigned i = 0; i < nforms; i++) {
        const struct form *f = &forms[i];
        if (f->host_invalid)
            continue;
        char pb[96];
        fprintf(out, "%-50s %8lu %7lu %6lu %6lu  %s%s\n", f->name, f->cases, f->faults, f->mism,
                f->known, policy_text(f, pb, sizeof(pb)), fsw_undef(f) ? " x87:C0C2C3 masked" : "");
    }
    fprintf(out, "\nEncodings the host rejects with #UD on every probe case (qtemu must agree):\n");
    for (unsigned i = 0; i < nforms; i++)
        if (forms[i].host_invalid && forms[i].mism)
            fprintf(out, "  %-50s %8lu cases %6lu mismatches\n", forms[i].name, forms[i].cases,
                    forms[i].mism);
    fprintf(out, "  %lu such encodings, %lu cases, %lu mismatches\n", inval, inval_cases, inval_mism);

    fprintf(out, "\nMismatches (first case of each form):\n");
    for (unsigned i = 0; i < nforms; i++)
        if (forms[i].mism)
            fprintf(out, "  %s: %lu/%lu: %s\n", forms[i].name, forms[i].mism, forms[i].cases,
                    forms[i].first);

    fprintf(out, "\nKnown differences (tests/diff/known.inc; counted, not failing):\n");
    for (unsigned i = 0; i < sizeof(known_rules) / sizeof(known_rules[0]); i++)
        if (known_count[i])
            fprintf(out, "  %6lu cases: %s\n", known_count[i], known_rules[i].verdict);

    fprintf(out, "\nUndefined-flags policy (SDM: the flags left undefined; cmp = qtemu matches the "
                 "host and it is compared, masked = not compared):\n");
    for (unsigned i = 0; i < sizeof(uflag_rules) / sizeof(uflag_rules[0]); i++) {
        const struct uflag_rule *u = &uflag_rules[i];
        struct form tmp = { 0 };
        tmp.uf = u;
        char pb[96];
        static const char *when[] = { "always", "AF if count!=0, OF if count>1",
                                      "OF if count>1", "AF/OF as shifts; all + result if count>size",
                                      "flags; destination if source is 0 (compared)" };
        fprintf(out, "  %-20s %-44s %-34s SDM %s\n", u->insn, policy_text(&tmp, pb, sizeof(pb)),
                when[u->when], u->sdm);
    }

    fprintf(out, "\nNot run (implemented but outside this harness):\n");
    fprintf(out, "  %lu encodings flagged X86_INSN_BRANCH (control transfers: need a harness that follows RIP)\n",
            n_branch);
    fprintf(out, "  %lu encodings flagged X86_INSN_ENDS_BLOCK (system/privileged/serialising: tests/unit/test_system.c)\n",
            n_system);
    for (unsigned i = 0; i < sizeof(skip_rules) / sizeof(skip_rules[0]); i++)
        if (skip_count[i])
            fprintf(out, "  %lu encodings %s: %s\n", skip_count[i], skip_rules[i].what, skip_rules[i].why);
    fprintf(out, "  %lu encodings decode but have no handler (qtemu raises #UD); %lu candidates the decoder rejects\n",
            n_nohandler, n_invalid);
    fprintf(out, "  not generated: LOCK, segment overrides, 67 (address size), SIB index/base forms "
                 "(address decoding is cross-checked by tests/unit/test_decode_capstone.c)\n");
    unsigned long known = 0;
    for (unsigned i = 0; i < nforms; i++)
        known += forms[i].known;
    fprintf(out, "\nTotal: %lu forms (%lu valid on the host, %lu rejected by it), %lu cases, "
            "%lu mismatches, %lu known differences\n", (unsigned long)nforms, valid, inval, cases,
            mism, known);
}

int main(int argc, char **argv)
{
    unsigned per_form = 64;
    unsigned long min_total = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
    const char *filter = NULL, *outpath = NULL;
    int opt;
    probe_host_vendor();
    while ((opt = getopt(argc, argv, "n:t:s:f:o:v")) != -1) {
        switch (opt) {
        case 'n': per_form = (unsigned)strtoul(optarg, NULL, 0); break;
        case 't': min_total = strtoul(optarg, NULL, 0); break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'f': filter = optarg; break;
        case 'o': outpath = optarg; break;
        case 'v': verbose++; break;
        default:
            fprintf(stderr, "usage: %s [-n cases-per-form] [-t min-total] [-s seed] [-f filter] [-o file] [-v]\n",
                    argv[0]);
            return 2;
        }
    }
    rng = seed ? seed : 1;
    bool have_avx = false;
    int rc = native_init(&have_avx);
    if (rc) {
        fprintf(stderr, "x86-diff: cannot set up the native side: %s (skipped)\n", strerror(-rc));
        return 77;
    }
    if (qside_init()) {
        fprintf(stderr, "x86-diff: cannot create the qtemu vCPU\n");
        return 2;
    }
    enumerate();
    if (filter) {
        unsigned k = 0;
        for (unsigned i = 0; i < nforms; i++)
            if (strstr(forms[i].name, filter))
                forms[k++] = forms[i];
        nforms = k;
    }

    /* Probe: 4 cases each; encodings the host always rejects get no more. */
    unsigned *idx = malloc(sizeof(unsigned) * (nforms ? nforms : 1));
    for (unsigned i = 0; i < nforms; i++)
        idx[i] = i;
    const unsigned probe = 4;
    run_cases(idx, nforms, probe);
    unsigned nvalid = 0;
    for (unsigned i = 0; i < nforms; i++) {
        forms[i].host_invalid = forms[i].cases > 0 && forms[i].ud == forms[i].cases;
        idx[nvalid] = i;
        nvalid += !forms[i].host_invalid;
    }
    unsigned rest = per_form > probe ? per_form - probe : 0;
    if (min_total && nvalid && (unsigned long)nvalid * (rest + probe) < min_total)
        rest = (unsigned)((min_total + nvalid - 1) / nvalid) - probe;
    run_cases(idx, nvalid, rest);

    print_report(stdout, seed, rest + probe, have_avx);
    if (outpath) {
        FILE *f = fopen(outpath, "w");
        if (f) {
            print_report(f, seed, rest + probe, have_avx);
            fclose(f);
        } else {
            fprintf(stderr, "x86-diff: %s: %s\n", outpath, strerror(errno));
        }
    }
    unsigned long mism = 0;
    for (unsigned i = 0; i < nforms; i++)
        mism += forms[i].mism;
    qside_fini();
    free(idx);
    return mism ? 1 : 0;
}
