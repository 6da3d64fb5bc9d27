/*
 * tests/unit/test_isa_ext_diff.c - SSE4.2 string compares (PCMPxSTRx),
 * AES-NI, PCLMULQDQ and F16C, legacy and VEX forms, against the host CPU
 * (the oracle; tests/unit/ymm_harness.h), plus spec known-answer tests
 * (FIPS-197 Appendix C.1 and the binary16 encodings of IEEE 754) and the
 * #UD/#GP rules the host cannot show without crashing the test.
 *
 * Every group checks at run time that the host has the feature (CPUID) and
 * skips otherwise. Inputs are random with a seed printed on stderr
 * (QTEMU_TEST_SEED repeats a run): string data from a small alphabet with
 * embedded nulls and signed/unsigned boundary values, explicit lengths
 * beyond +-16 and 64-bit values whose low half is small (REX.W / VEX.W
 * decides), every imm8, registers 0-15 (xmm0 included: the mask forms
 * write it), register and unaligned memory operands; F16C over every
 * binary16 value and singles around the binary16 range with every
 * rounding control and random MXCSR.RC/DAZ/FTZ (exceptions masked).
 */
#include <cpuid.h>
#include <criterion/criterion.h>

#include "tests/unit/ymm_harness.h"
#include "cpu/x86/sys.h"

static bool host_ecx1(unsigned bit)
{
    unsigned a, b, c, d;
    __cpuid_count(1, 0, a, b, c, d);
    return (c >> bit) & 1;
}
#define HOST_SSE42 host_ecx1(20)
#define HOST_AES host_ecx1(25)
#define HOST_PCLMUL host_ecx1(1)
#define HOST_AVX (host_ecx1(28) && host_ecx1(27))
#define HOST_F16C host_ecx1(29)

static void x_setup(void)
{
    setup();
    for (unsigned i = 0; i < X86_OP_COUNT; i++)
        v_table[i] = x86_op_ud;
    x86_ops_vex_init(v_table);
    h_prep = NULL;
    flag_ignore = 0;
}

/* ---------------------------------------------------------------- encoders */

/** Memory operand [rsi + disp8] or register @rm; @reg in ModRM.reg. */
static size_t enc_modrm(uint8_t *out, unsigned reg, unsigned rm, bool mem, uint8_t disp)
{
    if (mem) {
        out[0] = (uint8_t)(0x40 | ((reg & 7) << 3) | 6);
        out[1] = disp;
        return 2;
    }
    out[0] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
    return 1;
}

/** Legacy 66 [REX] 0F @map_byte @op /r [imm8]; @map_byte 0x38 or 0x3a. */
static size_t enc_legacy(uint8_t *out, unsigned map_byte, uint8_t op, unsigned reg, unsigned rm,
                         bool mem, uint8_t disp, bool w, bool has_imm, uint8_t imm)
{
    size_t n = 0;
    out[n++] = 0x66;
    unsigned rex = 0x40 | (w ? 8 : 0) | ((reg >> 3) << 2) | (mem ? 0 : (rm >> 3));
    if (rex != 0x40 || rnd() % 4 == 0)
        out[n++] = (uint8_t)rex;
    out[n++] = 0x0f;
    out[n++] = (uint8_t)map_byte;
    out[n++] = op;
    n += enc_modrm(out + n, reg, rm, mem, disp);
    if (has_imm)
        out[n++] = imm;
    return n;
}

/** VEX3 .66.@map (2 = 0F38, 3 = 0F3A) @op with @vvvv, L, W [imm8]. */
static size_t enc_vex(uint8_t *out, unsigned map, uint8_t op, unsigned reg, unsigned vvvv,
                      unsigned rm, bool mem, uint8_t disp, unsigned l, bool w, bool has_imm,
                      uint8_t imm)
{
    size_t n = 0;
    out[n++] = 0xc4;
    out[n++] = (uint8_t)((((reg >> 3) ^ 1) << 7) | (1 << 6) | (((mem ? 0 : rm >> 3) ^ 1) << 5) | map);
    out[n++] = (uint8_t)(((w ? 1u : 0u) << 7) | ((~vvvv & 15) << 3) | (l << 2) | 1);
    out[n++] = op;
    n += enc_modrm(out + n, reg, rm, mem, disp);
    if (has_imm)
        out[n++] = imm;
    return n;
}

/* ---------------------------------------------------------------- string data */

/** One string element: nulls, a small alphabet (so sets and substrings match), boundaries. */
static uint16_t str_elem(bool words)
{
    static const uint16_t edge[] = { 0x7f, 0x80, 0xff, 0x01, 0x7fff, 0x8000, 0xffff, 0x0100, 0xff00 };
    switch (rnd() % 8) {
    case 0: return 0;
    case 1: case 2: case 3: return (uint16_t)('a' + rnd() % 4);
    case 4: return edge[rnd() % (words ? 9 : 4)];
    default: return (uint16_t)rnd();
    }
}

/** Fill 16 bytes with string data; sometimes no null at all, sometimes a prefix of @other. */
static void str_fill(uint8_t *p, bool words, const uint8_t *other)
{
    unsigned n = words ? 8 : 16;
    for (unsigned i = 0; i < n; i++) {
        uint16_t v = str_elem(words);
        if (rnd() % 3 == 0 && v == 0)
            v = 'b';
        if (words)
            memcpy(p + 2 * i, &v, 2);
        else
            p[i] = (uint8_t)v;
    }
    if (other && rnd() % 4 == 0) {
        unsigned at = (unsigned)(rnd() % 16), len = (unsigned)(rnd() % 6);
        for (unsigned i = 0; i < len && at + i < 16; i++)
            p[at + i] = other[i];
    }
}

/** An explicit-length register value: small +-, beyond +-16, huge, 64-bit with a small low half. */
static uint64_t str_len_value(void)
{
    switch (rnd() % 8) {
    case 0: case 1: case 2: return (uint64_t)(int64_t)((int)(rnd() % 41) - 20);
    case 3: return (uint64_t)(int64_t)(int32_t)(uint32_t)rnd();
    case 4: return 0x80000000u | (rnd() & ~0xffffffffull);
    case 5: return (rnd() << 32) | (rnd() % 20);                 /* low half small, high bits set */
    case 6: return (uint64_t)(int64_t)(-(int64_t)(rnd() % 20)) ^ (rnd() << 40);
    default: return rnd();
    }
}

static struct {
    uint8_t op, imm;
    bool mem;
} str_case;

/** h_prep hook: string data in memory too (rsi + disp). */
static uint8_t str_disp;
static void str_prep(void)
{
    if (str_case.mem)
        str_fill(tmem + 64 + str_disp, str_case.imm & 1, NULL);
}

/** One PCMPxSTRx case, legacy or VEX. */
static bool str_one(bool vex, uint8_t op, uint8_t imm, int verbose)
{
    bool words = imm & 1, mem = rnd() % 3 == 0, w = rnd() & 1;
    unsigned reg = rnd() % 16, rm = rnd() % 16;
    str_disp = (uint8_t)(rnd() % 48);
    str_case.op = op;
    str_case.imm = imm;
    str_case.mem = mem;
    y_rnd_state();
    for (unsigned i = 0; i < 16; i++)
        str_fill(ys.in + 160 + 16 * i, words, i ? ys.in + 160 + 16 * (i - 1) : NULL);
    ys.gpr_in[X86_RAX] = str_len_value();
    ys.gpr_in[X86_RDX] = str_len_value();
    uint8_t b[16];
    size_t n = vex ? enc_vex(b, 3, op, reg, 0, rm, mem, str_disp, 0, w, true, imm)
                   : enc_legacy(b, 0x3a, op, reg, rm, mem, str_disp, w, true, imm);
    h_prep = str_prep;
    static const char *names[2][4] = { { "pcmpestrm", "pcmpestri", "pcmpistrm", "pcmpistri" },
                                       { "vpcmpestrm", "vpcmpestri", "vpcmpistrm", "vpcmpistri" } };
    bool ok = y_run_case(b, n, names[vex][op & 3], verbose);
    if (!ok && verbose)
        fprintf(stderr, "  imm8 %02x rax %016llx rdx %016llx\n", imm,
                (unsigned long long)ys.gpr_in[X86_RAX], (unsigned long long)ys.gpr_in[X86_RDX]);
    h_prep = NULL;
    return ok;
}

Test(isa_ext_diff, sse42_strings, .init = x_setup, .fini = teardown)
{
    if (!HOST_SSE42) {
        fprintf(stderr, "host lacks SSE4.2: skipped\n");
        return;
    }
    unsigned bad = 0, total = 0;
    for (unsigned op = 0x60; op <= 0x63; op++)
        for (unsigned imm = 0; imm < 256; imm++)
            for (unsigned k = 0; k < 6; k++, total++)
                if (!str_one(false, (uint8_t)op, (uint8_t)imm, bad < 3))
                    bad++;
    fprintf(stderr, "sse42 legacy: %u cases, %u bad\n", total, bad);
    cr_assert_eq(bad, 0, "%u mismatching PCMPxSTRx cases (see stderr)", bad);
}

Test(isa_ext_diff, sse42_strings_vex, .init = x_setup, .fini = teardown)
{
    if (!HOST_SSE42 || !HOST_AVX) {
        fprintf(stderr, "host lacks SSE4.2/AVX: skipped\n");
        return;
    }
    unsigned bad = 0, total = 0;
    for (unsigned op = 0x60; op <= 0x63; op++)
        for (unsigned imm = 0; imm < 128; imm++)
            for (unsigned k = 0; k < 3; k++, total++)
                if (!str_one(true, (uint8_t)op, (uint8_t)(imm | (rnd() & 0x80)), bad < 3))
                    bad++;
    fprintf(stderr, "sse42 vex: %u cases, %u bad\n", total, bad);
    cr_assert_eq(bad, 0, "%u mismatching VPCMPxSTRx cases (see stderr)", bad);
}

/* ---------------------------------------------------------------- AES-NI, PCLMULQDQ */

struct aes_form {
    const char *name;
    uint8_t map, op;        /* map 2 = 0F38, 3 = 0F3A */
    bool imm, unary, clmul;
};
static const struct aes_form aes_forms[] = {
    { "aesimc", 2, 0xdb, false, true, false },
    { "aesenc", 2, 0xdc, false, false, false },
    { "aesenclast", 2, 0xdd, false, false, false },
    { "aesdec", 2, 0xde, false, false, false },
    { "aesdeclast", 2, 0xdf, false, false, false },
    { "aeskeygenassist", 3, 0xdf, true, true, false },
    { "pclmulqdq", 3, 0x44, true, false, true },
};

Test(isa_ext_diff, aes_clmul, .init = x_setup, .fini = teardown)
{
    unsigned bad = 0, skipped = 0;
    for (size_t fi = 0; fi < ARRAY_SIZE(aes_forms); fi++) {
        const struct aes_form *f = &aes_forms[fi];
        bool have = f->clmul ? HOST_PCLMUL : HOST_AES;
        for (unsigned vex = 0; vex < 2; vex++) {
            if (!have || (vex && !HOST_AVX)) {
                skipped++;
                continue;
            }
            unsigned fbad = 0;
            for (unsigned c = 0; c < 600; c++) {
                bool mem = c % 3 == 2;
                unsigned reg = rnd() % 16, rm = rnd() % 16, vvvv = f->unary ? 0 : rnd() % 16;
                /* the legacy forms need 16-byte alignment: rsi + 0 or + 16 */
                uint8_t disp = vex ? (uint8_t)(rnd() % 48) : (uint8_t)(16 * (rnd() % 3));
                uint8_t imm = (uint8_t)rnd();
                if (f->clmul && c % 2)
                    imm = (uint8_t)(rnd() & 0x11);        /* only imm8[0] and imm8[4] matter */
                uint8_t b[16];
                size_t n = vex ? enc_vex(b, f->map, f->op, reg, vvvv, rm, mem, disp, 0, rnd() & 1, f->imm, imm)
                               : enc_legacy(b, f->map == 2 ? 0x38 : 0x3a, f->op, reg, rm, mem, disp,
                                            rnd() & 1, f->imm, imm);
                y_rnd_state();
                if (!y_run_case(b, n, f->name, fbad < 2))
                    fbad++;
            }
            if (fbad)
                fprintf(stderr, "%s%-16s bad %u / 600\n", vex ? "v" : "", f->name, fbad);
            bad += fbad;
        }
    }
    fprintf(stderr, "aes/clmul: %zu forms x 2 encodings, %u skipped (host lacks them)\n",
            ARRAY_SIZE(aes_forms), skipped);
    cr_assert_eq(bad, 0, "%u mismatching AES/CLMUL cases", bad);
}

/** Run one instruction on the qtemu side only (state already in cpu); returns the vector or -1. */
static int emu_only(const uint8_t *b, size_t n)
{
    struct x86_insn insn;
    int len = x86_decode(b, n, X86_MODE_64, &insn);
    if (len < 0)
        return 100 + len;
    cpu->rip = 0x1000;
    cpu->next_rip = cpu->rip + (uint64_t)len;
    h_fault = -1;
    x86_exec_fn volatile fn = (insn.flags & X86_INSN_VEX) ? v_table[insn.op] : h_table[insn.op];
    if (setjmp(h_jmp) == 0)
        fn(cpu, &insn);
    return h_fault;
}

static void emu_fresh_cpu(void)
{
    y_rnd_state();
    memset(cpu, 0, sizeof(*cpu));
    y_cpu_load(cpu);
}

static void put_hex(union x86_xmm *x, const char *hex)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        x->u8[i] = (uint8_t)v;
    }
}

/*
 * FIPS-197 Appendix C.1 (AES-128): key 000102..0f, plaintext 0011..ff,
 * ciphertext 69c4e0d86a7b0430d8cdb78070b4c55a, run entirely in qtemu:
 * the key schedule through AESKEYGENASSIST (Intel's AES-NI white paper
 * expansion: broadcast dword 3, XOR with the shifted previous key), ten
 * rounds AESENC/AESENCLAST, then back with AESIMC'd keys and AESDEC/
 * AESDECLAST. The oracle is the FIPS-197 text, not the host.
 */
Test(isa_ext_diff, aes128_fips197_c1, .init = x_setup, .fini = teardown)
{
    static const uint8_t rcon[10] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36 };
    union x86_xmm keys[11], ct;
    emu_fresh_cpu();
    put_hex(&keys[0], "000102030405060708090a0b0c0d0e0f");
    for (unsigned r = 0; r < 10; r++) {
        /* aeskeygenassist xmm1, xmm2, rcon */
        uint8_t kg[] = { 0x66, 0x0f, 0x3a, 0xdf, 0xca, rcon[r] };
        cpu->xmm[2] = keys[r];
        cr_assert_eq(emu_only(kg, sizeof(kg)), -1);
        uint32_t t = cpu->xmm[1].u32[3];
        union x86_xmm k = keys[r];
        for (unsigned i = 0; i < 4; i++) {
            t ^= k.u32[i];
            keys[r + 1].u32[i] = t;
        }
        /* keys[r+1].u32[i] = k[i] ^ k[i-1] ^ ... ^ k[0] ^ RotWord(SubWord(k[3])) ^ rcon */
    }
    union x86_xmm expect_k10;
    put_hex(&expect_k10, "13111d7fe3944a17f307a78b4d2b30c5");   /* FIPS-197 A.1, w[40..43] */
    cr_assert_eq(memcmp(&keys[10], &expect_k10, 16), 0, "AES-128 round key 10");

    put_hex(&cpu->xmm[0], "00112233445566778899aabbccddeeff");
    for (unsigned i = 0; i < 16; i++)
        cpu->xmm[0].u8[i] ^= keys[0].u8[i];
    for (unsigned r = 1; r <= 10; r++) {
        uint8_t enc[] = { 0x66, 0x0f, 0x38, (uint8_t)(r == 10 ? 0xdd : 0xdc), 0xc1 };   /* aesenc[last] xmm0, xmm1 */
        cpu->xmm[1] = keys[r];
        cr_assert_eq(emu_only(enc, sizeof(enc)), -1);
    }
    put_hex(&ct, "69c4e0d86a7b0430d8cdb78070b4c55a");
    cr_assert_eq(memcmp(&cpu->xmm[0], &ct, 16), 0, "FIPS-197 C.1 ciphertext");

    /* Equivalent inverse cipher (FIPS-197 5.3.5): AESIMC on round keys 1..9. */
    for (unsigned i = 0; i < 16; i++)
        cpu->xmm[0].u8[i] ^= keys[10].u8[i];
    for (int r = 9; r >= 0; r--) {
        if (r) {
            uint8_t imc[] = { 0xc4, 0xe2, 0x79, 0xdb, 0xca };   /* vaesimc xmm1, xmm2 */
            cpu->xmm[2] = keys[r];
            cr_assert_eq(emu_only(imc, sizeof(imc)), -1);
        } else {
            cpu->xmm[1] = keys[0];
        }
        uint8_t dec[] = { 0xc4, 0xe2, 0x79, (uint8_t)(r ? 0xde : 0xdf), 0xc1 };   /* vaesdec[last] xmm0, xmm0, xmm1 */
        cr_assert_eq(emu_only(dec, sizeof(dec)), -1);
    }
    union x86_xmm pt;
    put_hex(&pt, "00112233445566778899aabbccddeeff");
    cr_assert_eq(memcmp(&cpu->xmm[0], &pt, 16), 0, "FIPS-197 C.1 decryption");
}

/* Carry-less multiplication identities that need no oracle but algebra. */
Test(isa_ext_diff, pclmul_algebra, .init = x_setup, .fini = teardown)
{
    emu_fresh_cpu();
    /* pclmulqdq xmm0, xmm1, 0x11: high halves; (x^63) * (x^63) = x^126 */
    uint8_t b[] = { 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x11 };
    cpu->xmm[0].u64[1] = 1ull << 63;
    cpu->xmm[1].u64[1] = 1ull << 63;
    cr_assert_eq(emu_only(b, sizeof(b)), -1);
    cr_assert_eq(cpu->xmm[0].u64[0], 0);
    cr_assert_eq(cpu->xmm[0].u64[1], 1ull << 62);
    /* (x + 1)^2 = x^2 + 1 over GF(2): 3 clmul 3 = 5, no carries */
    b[5] = 0x00;
    cpu->xmm[0].u64[0] = 3;
    cpu->xmm[1].u64[0] = 3;
    cr_assert_eq(emu_only(b, sizeof(b)), -1);
    cr_assert_eq(cpu->xmm[0].u64[0], 5);
    cr_assert_eq(cpu->xmm[0].u64[1], 0);
}

/* #UD/#GP rules (SDM exception tables) the host stub cannot exercise without a signal. */
Test(isa_ext_diff, faults, .init = x_setup, .fini = teardown)
{
    /* Legacy AESENC with a misaligned m128: #GP(0); PCMPISTRI with the same address: fine. */
    uint8_t aesenc_m[] = { 0x66, 0x0f, 0x38, 0xdc, 0x46, 0x01 };            /* aesenc xmm0, [rsi+1] */
    uint8_t pcmpistri_m[] = { 0x66, 0x0f, 0x3a, 0x63, 0x46, 0x01, 0x0c };   /* pcmpistri xmm0, [rsi+1], 0x0c */
    emu_fresh_cpu();
    cr_assert_eq(emu_only(aesenc_m, sizeof(aesenc_m)), X86_EXC_GP);
    emu_fresh_cpu();
    cr_assert_eq(emu_only(pcmpistri_m, sizeof(pcmpistri_m)), -1);
    /* VEX.L = 1 (VAES / VPCLMULQDQ 256, not advertised), VEX.vvvv != 1111b on unary forms,
     * VEX.W1 on F16C: #UD. */
    static const uint8_t ud[][7] = {
        { 0xc4, 0xe2, 0x7d, 0xdc, 0xc1 },          /* vaesenc ymm0, ymm0, ymm1 */
        { 0xc4, 0xe3, 0x7d, 0x44, 0xc1, 0x00 },    /* vpclmulqdq ymm0, ymm0, ymm1, 0 */
        { 0xc4, 0xe2, 0x71, 0xdb, 0xc2 },          /* vaesimc xmm0, xmm2 with vvvv = xmm1 */
        { 0xc4, 0xe3, 0x7d, 0x63, 0xc1, 0x00 },    /* vpcmpistri with L = 1 */
        { 0xc4, 0xe3, 0x71, 0x61, 0xc1, 0x00 },    /* vpcmpestri with vvvv = xmm1 */
        { 0xc4, 0xe2, 0xf9, 0x13, 0xc1 },          /* vcvtph2ps with W = 1 */
        { 0xc4, 0xe3, 0x71, 0x1d, 0xc1, 0x00 },    /* vcvtps2ph with vvvv = xmm1 */
    };
    static const size_t udn[] = { 5, 6, 5, 6, 6, 5, 6 };
    for (size_t i = 0; i < ARRAY_SIZE(ud); i++) {
        emu_fresh_cpu();
        cr_assert_eq(emu_only(ud[i], udn[i]), X86_EXC_UD, "case %zu", i);
    }
    /* The qemu64 model advertises none of these: every form is #UD there. */
    static const uint8_t plain[][7] = {
        { 0x66, 0x0f, 0x3a, 0x63, 0xc1, 0x0c },    /* pcmpistri */
        { 0x66, 0x0f, 0x38, 0xdc, 0xc1 },          /* aesenc */
        { 0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00 },    /* pclmulqdq */
        { 0xc4, 0xe2, 0x79, 0x13, 0xc1 },          /* vcvtph2ps */
    };
    static const size_t pn[] = { 6, 5, 6, 5 };
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
        emu_fresh_cpu();
        cpu->model = X86_CPU_QEMU64;
        memset(cpu->cpuid_features, 0, sizeof(cpu->cpuid_features));
        cr_assert_eq(emu_only(plain[i], pn[i]), X86_EXC_UD, "qemu64 case %zu", i);
    }
    /* VCVTPS2PH with an unmasked overflow: #XM, destination unchanged, OE|PE in MXCSR. */
    emu_fresh_cpu();
    cpu->mxcsr = 0x1f80 & ~0x0400u;       /* OM = 0 */
    memset(&cpu->xmm[1], 0, 16);
    cpu->xmm[1].u32[0] = 0x47800000;      /* 65536.0f overflows binary16; the rest 0.0 */
    cpu->xmm[2].u64[0] = 0x1234;
    uint8_t cvt[] = { 0xc4, 0xe3, 0x79, 0x1d, 0xca, 0x00 };   /* vcvtps2ph xmm2, xmm1, 0 */
    cr_assert_eq(emu_only(cvt, sizeof(cvt)), X86_EXC_XM);
    cr_assert_eq(cpu->xmm[2].u64[0], 0x1234);
    cr_assert_eq(cpu->mxcsr & 0x3f, 0x28);
}

/* ---------------------------------------------------------------- F16C */

static uint32_t f16_case_val;
static bool f16_case_mem;

/** A single near the binary16 range: ties, carries, tiny, huge, specials. */
static uint32_t f32_for_half(void)
{
    uint32_t sign = (uint32_t)(rnd() & 1) << 31;
    switch (rnd() % 8) {
    case 0: return f32_special[rnd() % ARRAY_SIZE(f32_special)];
    case 1: return sign | (uint32_t)(127 - 25 + rnd() % 12) << 23 | ((uint32_t)rnd() & 0x7fffff);   /* half denormals */
    case 2: return sign | (uint32_t)(127 + 14 + rnd() % 3) << 23 | ((uint32_t)rnd() & 0x7fffff);    /* overflow edge */
    case 3: return sign | (uint32_t)(127 - 15 + rnd() % 31) << 23 | (((uint32_t)rnd() & 0x3ff) << 13) | 0x1000; /* ties */
    case 4: return sign | (uint32_t)(127 - 15 + rnd() % 31) << 23 | 0x7fe000 | ((uint32_t)rnd() & 0x1fff);    /* carries */
    case 5: return sign | ((uint32_t)rnd() & 0x7fffff);                                                    /* single denormals */
    default: return sign | (uint32_t)(127 - 30 + rnd() % 50) << 23 | ((uint32_t)rnd() & 0x7fffff);
    }
}

static void f16_prep_mem(void)
{
    for (unsigned i = 0; i < 16; i++)
        memcpy(tmem + 64 + 2 * i, &(uint16_t){ (uint16_t)(f16_case_val + i) }, 2);
}

Test(isa_ext_diff, f16c_vcvtph2ps_all_halves, .init = x_setup, .fini = teardown)
{
    if (!HOST_F16C || !HOST_AVX) {
        fprintf(stderr, "host lacks F16C: skipped\n");
        return;
    }
    unsigned bad = 0;
    /* Every binary16 value, eight per case (VEX.256), register and memory sources. */
    for (uint32_t base = 0; base < 0x10000; base += 8) {
        f16_case_mem = (base / 8) % 4 == 3;
        f16_case_val = base;
        unsigned reg = rnd() % 16, rm = rnd() % 16;
        uint8_t b[16];
        /* VEX.256 covers the eight values; every 16th group also the VEX.128 form */
        for (unsigned l = (base / 8) % 16 == 5 ? 0 : 1; l < 2; l++) {
            size_t n = enc_vex(b, 2, 0x13, reg, 0, rm, f16_case_mem, 0, l, false, false, 0);
            y_rnd_state();
            if (!f16_case_mem)
                for (unsigned i = 0; i < 8; i++)
                    memcpy(ys.in + 160 + 16 * rm + 2 * i, &(uint16_t){ (uint16_t)(base + i) }, 2);
            h_prep = f16_case_mem ? f16_prep_mem : NULL;
            if (!y_run_case(b, n, "vcvtph2ps", bad < 3))
                bad++;
        }
    }
    h_prep = NULL;
    cr_assert_eq(bad, 0, "%u mismatching VCVTPH2PS cases", bad);
}

Test(isa_ext_diff, f16c_vcvtps2ph, .init = x_setup, .fini = teardown)
{
    if (!HOST_F16C || !HOST_AVX) {
        fprintf(stderr, "host lacks F16C: skipped\n");
        return;
    }
    unsigned bad = 0;
    for (unsigned c = 0; c < 8000; c++) {
        bool mem = c % 4 == 3;
        unsigned reg = rnd() % 16, rm = rnd() % 16, l = c & 1;
        uint8_t imm = (uint8_t)(c % 8);
        if (c % 5 == 0)
            imm |= (uint8_t)(rnd() & 0xf8);                  /* imm8[7:3] ignored */
        uint8_t b[16];
        size_t n = enc_vex(b, 3, 0x1d, reg, 0, rm, mem, (uint8_t)(rnd() % 32), l, false, true, imm);
        y_rnd_state();
        for (unsigned i = 0; i < 4; i++) {
            memcpy(ys.in + 160 + 16 * reg + 4 * i, &(uint32_t){ f32_for_half() }, 4);
            memcpy(ys.in + 576 + 16 * reg + 4 * i, &(uint32_t){ f32_for_half() }, 4);
        }
        h_prep = NULL;
        if (!y_run_case(b, n, "vcvtps2ph", bad < 3))
            bad++;
    }
    cr_assert_eq(bad, 0, "%u mismatching VCVTPS2PH cases", bad);
}

/* IEEE 754 binary16 encodings, independent of the host: round to nearest even. */
Test(isa_ext_diff, f16c_known_values, .init = x_setup, .fini = teardown)
{
    static const struct { uint32_t f; uint16_t h; } kv[] = {
        { 0x3f800000, 0x3c00 },     /* 1.0 */
        { 0xc0000000, 0xc000 },     /* -2.0 */
        { 0x477fe000, 0x7bff },     /* 65504, the largest finite half */
        { 0x477ff000, 0x7c00 },     /* 65520 rounds to infinity (ties-to-even) */
        { 0x38800000, 0x0400 },     /* 2^-14, smallest normal */
        { 0x33800000, 0x0001 },     /* 2^-24, smallest denormal */
        { 0x33000000, 0x0000 },     /* 2^-25 ties to even: zero */
        { 0x7fc00001, 0x7e00 },     /* quiet NaN, low payload bits dropped */
        { 0x7f800001, 0x7e00 },     /* signalling NaN quieted */
    };
    uint8_t cvt[] = { 0xc4, 0xe3, 0x79, 0x1d, 0xca, 0x00 };   /* vcvtps2ph xmm2, xmm1, 0 */
    for (size_t i = 0; i < ARRAY_SIZE(kv); i++) {
        emu_fresh_cpu();
        cpu->mxcsr = 0x1f80;
        cpu->xmm[1].u32[0] = kv[i].f;
        cr_assert_eq(emu_only(cvt, sizeof(cvt)), -1);
        cr_assert_eq(cpu->xmm[2].u16[0], kv[i].h, "%08x -> %04x, want %04x", kv[i].f,
                     cpu->xmm[2].u16[0], kv[i].h);
    }
}
