/*
 * tests/unit/test_decode_capstone.c - differential test of the x86 decoder's
 * instruction lengths against Capstone 4 (an independent decoder, LLVM's
 * tables).
 *
 * For each byte string both decoders decode one instruction; whenever both
 * accept it the lengths must agree. Capstone 4.0.2 has known gaps and bugs;
 * each disagreement category we attribute to Capstone is checked against the
 * Intel SDM and listed in allow_listed() with the SDM's verdict. Any other
 * mismatch fails the test and is printed as hex.
 *
 * Inputs: (1) a sweep of every opcode of every map (primary, 0F, 0F 38, 0F 3A,
 * VEX C5/C4 maps 1-3) under several prefixes and ModRM/SIB bytes; (2) at
 * least 200k random byte strings per mode from a seeded PRNG (seed printed;
 * set QTEMU_DECODE_SEED to replay).
 */
/* Capstone's x86.h also names an "enum x86_insn": rename it away from ours. */
#define x86_insn capstone_x86_insn
#include <capstone/capstone.h>
#undef x86_insn
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86/decode.h"
#include "util/compiler.h"

/** Counters of one run (one mode). */
struct diff_stats {
    unsigned long cases, agree, both_invalid, only_ours, only_capstone, allowed, mismatch;
};

/* xorshift64* PRNG: deterministic per seed. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Skip the legacy prefixes and REX at the start of @b; returns the opcode offset. */
static size_t skip_prefixes(const uint8_t *b, size_t n, enum x86_code_mode mode)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = b[i];
        if (c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x64 || c == 0x65 ||
            c == 0x66 || c == 0x67 || c == 0xf0 || c == 0xf2 || c == 0xf3 ||
            (mode == X86_MODE_64 && (c & 0xf0) == 0x40))
            i++;
        else
            break;
    }
    return i;
}

/*
 * Disagreements that are Capstone 4.0.2's fault. Each entry states the
 * SDM's verdict. @ours / @cs are the two lengths.
 */
static const char *allow_listed(const uint8_t *b, size_t n, enum x86_code_mode mode,
                                const struct x86_insn *insn, int ours, int cs)
{
    size_t o = skip_prefixes(b, n, mode);
    bool vex = insn->flags & X86_INSN_VEX;

    /*
     * UD0 (0F FF) and UD1 (0F B9) take a ModRM byte: SDM Vol. 2B "UD":
     * "0F FF /r UD0 r32, r/m32" and "0F B9 /r UD1 r32, r/m32". Capstone 4
     * decodes both as two-byte instructions (ud0 / ud2b). Only the length can
     * differ, and only by the ModRM/SIB/displacement bytes.
     */
    if (!vex && o + 1 < n && b[o] == 0x0f && (b[o + 1] == 0xff || b[o + 1] == 0xb9) &&
        cs == (int)o + 2 && ours > cs)
        return "UD0/UD1 ModRM";

    /*
     * Near CALL/JMP/Jcc rel with a 66 prefix in 64-bit mode: SDM Vol. 2A
     * "JMP": "E9 cw JMP rel16 ... N.S. (not supported) in 64-bit mode",
     * "Jcc": "In 64-bit mode, operand size is fixed at 64 bits", CALL
     * likewise, and Appendix A marks E8/E9/0F 8x f64: Intel CPUs ignore 66
     * and read a rel32. Capstone 4 follows AMD (rel16), 2 bytes shorter.
     * Capstone 4 also reads a rel16 for 67 + REX.W + E8/E9 (e.g.
     * "67 48 e8 xx xx xx xx"), where no CPU does: the address size never
     * changes the size of a relative offset (SDM Vol. 2A 2.2.1.3, "CALL").
     */
    if (mode == X86_MODE_64 && !vex &&
        ((insn->flags & X86_INSN_OPSIZE) || ((insn->flags & X86_INSN_ADSIZE) && (insn->rex & 8))) &&
        (insn->op == X86_OP(X86_MAP_PRIMARY, 0xe8) || insn->op == X86_OP(X86_MAP_PRIMARY, 0xe9) ||
         (insn->op >= X86_OP(X86_MAP_0F, 0x80) && insn->op <= X86_OP(X86_MAP_0F, 0x8f))) &&
        ours == cs + 2)
        return "66/67+REX.W near branch in 64-bit mode (Intel: rel32)";

    /*
     * RET Iw (C2) with 66 and REX.W in 64-bit mode: SDM Vol. 2B "RET": the
     * operand is always "imm16" (C2 iw); Capstone 4 reads 4 bytes of
     * immediate when both 66 and REX.W are present (a table bug).
     */
    if (mode == X86_MODE_64 && insn->op == X86_OP(X86_MAP_PRIMARY, 0xc2) &&
        (insn->rex & 8) && (insn->flags & (X86_INSN_OPSIZE | X86_INSN_ADSIZE)) && cs == ours + 2)
        return "66/67 REX.W RET Iw (imm16 always)";

    /*
     * 66 followed (later in the prefix run) by F2/F3 on an opcode with an Iz
     * or Jz operand, e.g. "66 f3 68 iw" PUSH imm16 or "66 f3 e8 cw" in 32-bit
     * mode: SDM Vol. 2A 2.1.1 - prefixes may come in any order and 66 selects
     * the 16-bit operand size for non-SSE opcodes, so the immediate is 2
     * bytes. Capstone 4 drops the 66 for some opcodes (68, E8, E9) when an
     * F2/F3 follows it ("f3 66 68" it gets right), reading 4 bytes.
     */
    if (!vex && insn->opsize == 2 && insn->imm_size == 2 && cs == ours + 2) {
        bool seen66 = false;
        for (size_t i = 0; i < o; i++) {
            if (b[i] == 0x66)
                seen66 = true;
            else if (seen66 && (b[i] == 0xf2 || b[i] == 0xf3))
                return "66 before F2/F3 dropped by Capstone";
        }
    }
    return NULL;
}

/* Decode @b with both decoders and account the outcome in @st. */
static void compare_one(csh h, cs_insn *ci, const uint8_t *b, size_t n,
                        enum x86_code_mode mode, struct diff_stats *st)
{
    struct x86_insn insn;
    int ours = x86_decode(b, n, mode, &insn);
    const uint8_t *code = b;
    size_t size = n;
    uint64_t addr = 0x1000;
    bool cs_ok = cs_disasm_iter(h, &code, &size, &addr, ci);
    int cs = cs_ok ? (int)ci->size : -1;

    st->cases++;
    if (ours < 0 && !cs_ok) {
        st->both_invalid++;
    } else if (ours < 0) {
        st->only_capstone++;
        if (getenv("QTEMU_DECODE_ONLY_CAPSTONE")) {
            /* debugging aid: list encodings we reject (UD) but Capstone accepts */
            char hex[64] = "";
            for (int i = 0; i < cs && i < 16; i++)
                sprintf(hex + strlen(hex), "%02x ", b[i]);
            fprintf(stderr, "only-capstone %d-bit: %s(ours %d): %s %s\n",
                    16 << mode, hex, ours, ci->mnemonic, ci->op_str);
        }
    } else if (!cs_ok) {
        st->only_ours++;
        if (getenv("QTEMU_DECODE_ONLY_OURS")) {
            /* debugging aid: encodings we accept (interpreter decides) but Capstone rejects */
            char hex[64] = "";
            for (int i = 0; i < ours && i < 16; i++)
                sprintf(hex + strlen(hex), "%02x ", b[i]);
            fprintf(stderr, "only-ours %d-bit: op %d:%02x %s\n", 16 << mode,
                    insn.op >> 8, insn.op & 0xff, hex);
        }
    } else if (ours == cs) {
        st->agree++;
    } else if (allow_listed(b, n, mode, &insn, ours, cs)) {
        st->allowed++;
    } else {
        st->mismatch++;
        if (st->mismatch <= 40 || getenv("QTEMU_DECODE_VERBOSE")) {
            char hex[64] = "";
            for (size_t i = 0; i < (size_t)MAX(ours, cs) && i < n && i < 16; i++)
                sprintf(hex + strlen(hex), "%02x ", b[i]);
            fprintf(stderr, "mode %d: %s: ours %d capstone %d (%s %s)\n",
                    16 << mode, hex, ours, cs, ci->mnemonic, ci->op_str);
        }
    }
}


static csh open_cs(enum x86_code_mode mode)
{
    csh h;
    cs_mode m = mode == X86_MODE_16 ? CS_MODE_16 : mode == X86_MODE_32 ? CS_MODE_32 : CS_MODE_64;
    cr_assert_eq(cs_open(CS_ARCH_X86, m, &h), CS_ERR_OK);
    return h;
}

static void print_stats(const char *what, enum x86_code_mode mode, const struct diff_stats *st)
{
    printf("decode vs capstone [%s, %d-bit]: %lu cases, %lu agree, %lu both-invalid, "
           "%lu only-ours, %lu only-capstone, %lu allow-listed, %lu mismatch\n",
           what, 16 << mode, st->cases, st->agree, st->both_invalid, st->only_ours,
           st->only_capstone, st->allowed, st->mismatch);
}

/* Fill @b[from..16) with pseudo-random bytes. */
static void fill_random(uint8_t *b, size_t from)
{
    for (size_t i = from; i < 16; i++)
        b[i] = (uint8_t)rng_next();
}

/* Sweep every opcode of every map with several prefix sets and ModRM/SIB bytes. */
static void sweep(enum x86_code_mode mode, struct diff_stats *st)
{
    static const uint8_t modrms[] = { 0x00, 0x04, 0x05, 0x0c, 0x44, 0x45, 0x84, 0x85,
                                      0xc0, 0xc8, 0xd1, 0xf8, 0x3f, 0x7c, 0xbc, 0x06 };
    static const uint8_t sibs[] = { 0x24, 0x25, 0x65, 0xe5 };
    static const uint8_t pfx_sets[][3] = {
        { 0 }, { 1, 0x66 }, { 1, 0x67 }, { 1, 0xf3 }, { 1, 0xf2 }, { 2, 0x66, 0x67 },
        { 1, 0x48 }, { 1, 0x41 }, { 2, 0x66, 0x48 },
    };
    static const uint8_t escapes[][3] = { { 0 }, { 1, 0x0f }, { 2, 0x0f, 0x38 }, { 2, 0x0f, 0x3a } };
    csh h = open_cs(mode);
    cs_insn *ci = cs_malloc(h);

    for (size_t p = 0; p < sizeof(pfx_sets) / sizeof(pfx_sets[0]); p++) {
        if (mode != X86_MODE_64 && (pfx_sets[p][1] & 0xf0) == 0x40 && pfx_sets[p][0] == 1)
            continue;
        for (size_t e = 0; e < 4; e++) {
            for (unsigned op = 0; op < 256; op++) {
                for (size_t m = 0; m < sizeof(modrms); m++) {
                    for (size_t s = 0; s < sizeof(sibs); s++) {
                        uint8_t b[16];
                        size_t n = 0;
                        for (unsigned i = 0; i < pfx_sets[p][0]; i++)
                            b[n++] = pfx_sets[p][1 + i];
                        for (unsigned i = 0; i < escapes[e][0]; i++)
                            b[n++] = escapes[e][1 + i];
                        b[n++] = (uint8_t)op;
                        b[n++] = modrms[m];
                        b[n++] = sibs[s];
                        /* distinctive, non-prefix filler for displacement/immediates */
                        for (uint8_t f = 0x11; n < 16; f += 0x11)
                            b[n++] = f;
                        compare_one(h, ci, b, 15, mode, st);
                    }
                }
            }
        }
    }
    /* VEX: C5 (map 0F) and C4 maps 1-3, all opcodes, both L, a few pp/vvvv. */
    for (unsigned map = 1; map <= 3; map++) {
        for (unsigned pp = 0; pp < 4; pp++) {
            for (unsigned op = 0; op < 256; op++) {
                for (size_t m = 0; m < sizeof(modrms); m++) {
                    for (unsigned w = 0; w < 2; w++) {
                        uint8_t b[16] = { 0xc4, (uint8_t)(0xe0 | map), (uint8_t)(w << 7 | 0x78 | pp | (m & 1) << 2),
                                          (uint8_t)op, modrms[m], 0x24 };
                        for (size_t n = 6, f = 0x11; n < 16; n++, f += 0x11)
                            b[n] = (uint8_t)f;
                        compare_one(h, ci, b, 15, mode, st);
                        if (map == 1 && w == 0) {
                            uint8_t c[16] = { 0xc5, (uint8_t)(0xf8 | pp | (m & 1) << 2), (uint8_t)op,
                                              modrms[m], 0x24 };
                            for (size_t n = 5, f = 0x11; n < 16; n++, f += 0x11)
                                c[n] = (uint8_t)f;
                            compare_one(h, ci, c, 15, mode, st);
                        }
                    }
                }
            }
        }
    }
    cs_free(ci, 1);
    cs_close(&h);
}

/* Random byte strings; a quarter of them start with a prefix/escape to reach deeper maps. */
static void random_run(enum x86_code_mode mode, unsigned long count, struct diff_stats *st)
{
    static const uint8_t starts[] = { 0x0f, 0x66, 0x67, 0xf2, 0xf3, 0x48, 0x41, 0xc4, 0xc5, 0x64, 0xf0 };
    csh h = open_cs(mode);
    cs_insn *ci = cs_malloc(h);

    for (unsigned long i = 0; i < count; i++) {
        uint8_t b[16];
        fill_random(b, 0);
        if ((b[15] & 3) == 0)
            b[0] = starts[b[14] % sizeof(starts)];
        if ((b[15] & 12) == 0 && b[0] == 0x0f)
            b[1] = (b[13] & 1) ? 0x38 : 0x3a;
        compare_one(h, ci, b, 15, mode, st);
    }
    cs_free(ci, 1);
    cs_close(&h);
}

static uint64_t get_seed(void)
{
    const char *env = getenv("QTEMU_DECODE_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ull;
    printf("decode vs capstone: seed 0x%" PRIx64 " (QTEMU_DECODE_SEED to replay)\n", seed);
    return seed ? seed : 1;
}

Test(decode_capstone, opcode_sweep)
{
    for (int mode = X86_MODE_16; mode <= X86_MODE_64; mode++) {
        struct diff_stats st = { 0 };
        sweep((enum x86_code_mode)mode, &st);
        print_stats("sweep", (enum x86_code_mode)mode, &st);
        cr_expect_eq(st.mismatch, 0, "%lu length mismatches in %d-bit mode", st.mismatch, 16 << mode);
        cr_expect_gt(st.agree, st.cases / 4, "suspiciously few agreeing cases");
    }
}

Test(decode_capstone, random_bytes)
{
    rng_state = get_seed();
    for (int mode = X86_MODE_16; mode <= X86_MODE_64; mode++) {
        struct diff_stats st = { 0 };
        /* QTEMU_DECODE_CASES: random strings per mode (make check-long: 400000, 3 modes). */
        const char *nenv = getenv("QTEMU_DECODE_CASES");
        unsigned long ncases = nenv ? strtoul(nenv, NULL, 0) : 200000;
        random_run((enum x86_code_mode)mode, ncases ? ncases : 200000, &st);
        print_stats("random", (enum x86_code_mode)mode, &st);
        cr_expect_eq(st.mismatch, 0, "%lu length mismatches in %d-bit mode", st.mismatch, 16 << mode);
        cr_expect_gt(st.agree, st.cases / 2, "suspiciously few agreeing cases");
    }
}
