/*
 * tests/unit/test_avx_diff.c - XSAVE family, AVX, AVX2, FMA and BMI1/BMI2
 * against the host CPU (the oracle), extending fpu_harness.h to YMM state
 * (tests/unit/ymm_harness.h): the host stub XRSTORs (RFBM = x87|SSE|AVX) an input XSAVE image, runs the
 * instruction bytes and XSAVEs the result, so YMM upper halves travel too.
 *
 * Forms the host lacks are skipped (CPUID checked at run time). Each VEX
 * form runs with random registers (0-15, both L where defined), random
 * edge-case data (NaN, infinities, denormals, integer boundaries), random
 * MXCSR rounding/DAZ/FTZ (exceptions masked), register and memory operands.
 * Compared: XMM + upper YMM halves, MXCSR, x87 image, GPRs, arithmetic
 * flags (minus the SDM-undefined ones per form) and the memory buffer.
 */
#include <cpuid.h>
#include <criterion/criterion.h>

#include "cpu/x86/sse_priv.h"
#include "tests/unit/ymm_harness.h"

static void op_xsavec_only(struct x86_cpu *c, const struct x86_insn *insn)
{
    if ((insn->flags & X86_INSN_MEM) && x86_modrm_digit(insn) == 4)
        x86_op_xsavec(c, insn);
    else
        x86_op_ud(c, insn);
}

static void y_setup(void)
{
    setup();
    h_table[X86_OP(X86_MAP_0F, 0xc7)] = op_xsavec_only;
    for (unsigned i = 0; i < X86_OP_COUNT; i++)
        v_table[i] = x86_op_ud;
    x86_ops_vex_init(v_table);
    h_prep = NULL;
    flag_ignore = 0;
}

/* ---------------------------------------------------------------- VEX forms */

enum { K_X = 'x', K_G = 'g', K_N = 'n' };   /* operand kinds: vector, GPR, none (vvvv = 1111b) */
#define V_MEM 0x01
#define V_MEMONLY 0x02
#define V_REGONLY 0x04
#define V_IMM 0x08
#define V_L0 0x10       /* VEX.128 only (L = 1 is #UD or undefined) */
#define V_L1 0x20       /* VEX.256 only */
#define V_DIGIT 0x40
#define V_ALIGN 0x80    /* aligned form: memory operand at an aligned address */
#define V_IMM4 0x100    /* imm8[7:4] is a register (is4) */
#define V_W1 0x200
#define V_LIG 0x400     /* scalar: L ignored, test both */

struct vform {
    const char *name;
    uint8_t map, pp, op;       /* map 1 = 0F, 2 = 0F38, 3 = 0F3A; pp 0 none 1 66 2 F3 3 F2 */
    char reg, vvvv, rm;
    uint16_t flags;
    uint8_t digit;
    uint8_t need;              /* host feature: 0 AVX, 1 AVX2, 2 FMA, 3 BMI1, 4 BMI2 */
    uint64_t undef_flags;
};

#define N_AVX 0
#define N_AVX2 1
#define N_FMA 2
#define N_BMI1 3
#define N_BMI2 4

#define VF(n, m, p, o, r, v, rm, f) { n, m, p, o, r, v, rm, f, 0, N_AVX, 0 }
#define VI(n, m, p, o, f) { n, m, p, o, K_X, K_X, K_X, (f) | V_MEM, 0, N_AVX2, 0 }
#define P3(n, o) VF(n "ps", 1, 0, o, K_X, K_X, K_X, V_MEM), VF(n "pd", 1, 1, o, K_X, K_X, K_X, V_MEM), \
                 VF(n "ss", 1, 2, o, K_X, K_X, K_X, V_MEM | V_LIG), VF(n "sd", 1, 3, o, K_X, K_X, K_X, V_MEM | V_LIG)

static const struct vform vforms[] = {
    /* moves */
    VF("vmovups", 1, 0, 0x10, K_X, K_N, K_X, V_MEM), VF("vmovupd", 1, 1, 0x10, K_X, K_N, K_X, V_MEM),
    VF("vmovss ld", 1, 2, 0x10, K_X, K_N, K_X, V_MEMONLY | V_LIG), VF("vmovsd ld", 1, 3, 0x10, K_X, K_N, K_X, V_MEMONLY | V_LIG),
    VF("vmovss rr", 1, 2, 0x10, K_X, K_X, K_X, V_REGONLY | V_LIG), VF("vmovsd rr", 1, 3, 0x10, K_X, K_X, K_X, V_REGONLY | V_LIG),
    VF("vmovups st", 1, 0, 0x11, K_X, K_N, K_X, V_MEM), VF("vmovss st", 1, 2, 0x11, K_X, K_N, K_X, V_MEMONLY | V_LIG),
    VF("vmovsd st rr", 1, 3, 0x11, K_X, K_X, K_X, V_REGONLY | V_LIG),
    VF("vmovlps", 1, 0, 0x12, K_X, K_X, K_X, V_MEMONLY | V_L0), VF("vmovhlps", 1, 0, 0x12, K_X, K_X, K_X, V_REGONLY | V_L0),
    VF("vmovlpd", 1, 1, 0x12, K_X, K_X, K_X, V_MEMONLY | V_L0), VF("vmovsldup", 1, 2, 0x12, K_X, K_N, K_X, V_MEM),
    VF("vmovddup", 1, 3, 0x12, K_X, K_N, K_X, V_MEM), VF("vmovlps st", 1, 0, 0x13, K_X, K_N, K_X, V_MEMONLY | V_L0),
    VF("vmovhps", 1, 0, 0x16, K_X, K_X, K_X, V_MEMONLY | V_L0), VF("vmovlhps", 1, 0, 0x16, K_X, K_X, K_X, V_REGONLY | V_L0),
    VF("vmovhpd", 1, 1, 0x16, K_X, K_X, K_X, V_MEMONLY | V_L0), VF("vmovshdup", 1, 2, 0x16, K_X, K_N, K_X, V_MEM),
    VF("vmovhps st", 1, 0, 0x17, K_X, K_N, K_X, V_MEMONLY | V_L0),
    VF("vmovaps", 1, 0, 0x28, K_X, K_N, K_X, V_MEM | V_ALIGN), VF("vmovapd st", 1, 1, 0x29, K_X, K_N, K_X, V_MEM | V_ALIGN),
    VF("vmovntps", 1, 0, 0x2b, K_X, K_N, K_X, V_MEMONLY | V_ALIGN),
    VF("vmovmskps", 1, 0, 0x50, K_G, K_N, K_X, V_REGONLY), VF("vmovmskpd", 1, 1, 0x50, K_G, K_N, K_X, V_REGONLY),
    VF("vmovd x,r", 1, 1, 0x6e, K_X, K_N, K_G, V_MEM | V_L0), { "vmovq x,r", 1, 1, 0x6e, K_X, K_N, K_G, V_MEM | V_L0 | V_W1, 0, N_AVX, 0 },
    VF("vmovd r,x", 1, 1, 0x7e, K_X, K_N, K_G, V_MEM | V_L0), { "vmovq r,x", 1, 1, 0x7e, K_X, K_N, K_G, V_MEM | V_L0 | V_W1, 0, N_AVX, 0 },
    VF("vmovq x,x/m", 1, 2, 0x7e, K_X, K_N, K_X, V_MEM | V_L0), VF("vmovq st", 1, 1, 0xd6, K_X, K_N, K_X, V_MEM | V_L0),
    VF("vmovdqa", 1, 1, 0x6f, K_X, K_N, K_X, V_MEM | V_ALIGN), VF("vmovdqu", 1, 2, 0x6f, K_X, K_N, K_X, V_MEM),
    VF("vmovdqa st", 1, 1, 0x7f, K_X, K_N, K_X, V_MEM | V_ALIGN), VF("vmovdqu st", 1, 2, 0x7f, K_X, K_N, K_X, V_MEM),
    VF("vmovntdq", 1, 1, 0xe7, K_X, K_N, K_X, V_MEMONLY | V_ALIGN), VF("vlddqu", 1, 3, 0xf0, K_X, K_N, K_X, V_MEMONLY),
    { "vpmovmskb", 1, 1, 0xd7, K_G, K_N, K_X, V_REGONLY, 0, N_AVX2, 0 },
    VF("vpinsrw", 1, 1, 0xc4, K_X, K_X, K_G, V_MEM | V_IMM | V_L0), VF("vpextrw", 1, 1, 0xc5, K_G, K_N, K_X, V_REGONLY | V_IMM | V_L0),
    /* FP */
    VF("vsqrtps", 1, 0, 0x51, K_X, K_N, K_X, V_MEM), VF("vsqrtpd", 1, 1, 0x51, K_X, K_N, K_X, V_MEM),
    VF("vsqrtss", 1, 2, 0x51, K_X, K_X, K_X, V_MEM | V_LIG), VF("vsqrtsd", 1, 3, 0x51, K_X, K_X, K_X, V_MEM | V_LIG),
    P3("vadd", 0x58), P3("vmul", 0x59), P3("vsub", 0x5c), P3("vmin", 0x5d), P3("vdiv", 0x5e),
    P3("vmax", 0x5f),
    VF("vrsqrtps", 1, 0, 0x52, K_X, K_N, K_X, V_MEM), VF("vrsqrtss", 1, 2, 0x52, K_X, K_X, K_X, V_MEM | V_LIG),
    VF("vrcpps", 1, 0, 0x53, K_X, K_N, K_X, V_MEM), VF("vrcpss", 1, 2, 0x53, K_X, K_X, K_X, V_MEM | V_LIG),
    VF("vcvtps2pd", 1, 0, 0x5a, K_X, K_N, K_X, V_MEM), VF("vcvtpd2ps", 1, 1, 0x5a, K_X, K_N, K_X, V_MEM),
    VF("vcvtss2sd", 1, 2, 0x5a, K_X, K_X, K_X, V_MEM | V_LIG), VF("vcvtsd2ss", 1, 3, 0x5a, K_X, K_X, K_X, V_MEM | V_LIG),
    VF("vcvtdq2ps", 1, 0, 0x5b, K_X, K_N, K_X, V_MEM), VF("vcvtps2dq", 1, 1, 0x5b, K_X, K_N, K_X, V_MEM),
    VF("vcvttps2dq", 1, 2, 0x5b, K_X, K_N, K_X, V_MEM),
    VF("vcvttpd2dq", 1, 1, 0xe6, K_X, K_N, K_X, V_MEM), VF("vcvtdq2pd", 1, 2, 0xe6, K_X, K_N, K_X, V_MEM),
    VF("vcvtpd2dq", 1, 3, 0xe6, K_X, K_N, K_X, V_MEM),
    VF("vhaddpd", 1, 1, 0x7c, K_X, K_X, K_X, V_MEM), VF("vhaddps", 1, 3, 0x7c, K_X, K_X, K_X, V_MEM),
    VF("vhsubpd", 1, 1, 0x7d, K_X, K_X, K_X, V_MEM), VF("vaddsubps", 1, 3, 0xd0, K_X, K_X, K_X, V_MEM),
    VF("vandps", 1, 0, 0x54, K_X, K_X, K_X, V_MEM), VF("vandnpd", 1, 1, 0x55, K_X, K_X, K_X, V_MEM),
    VF("vorps", 1, 0, 0x56, K_X, K_X, K_X, V_MEM), VF("vxorpd", 1, 1, 0x57, K_X, K_X, K_X, V_MEM),
    VF("vunpcklps", 1, 0, 0x14, K_X, K_X, K_X, V_MEM), VF("vunpckhpd", 1, 1, 0x15, K_X, K_X, K_X, V_MEM),
    VF("vshufps", 1, 0, 0xc6, K_X, K_X, K_X, V_MEM | V_IMM), VF("vshufpd", 1, 1, 0xc6, K_X, K_X, K_X, V_MEM | V_IMM),
    VF("vcmpps", 1, 0, 0xc2, K_X, K_X, K_X, V_MEM | V_IMM), VF("vcmppd", 1, 1, 0xc2, K_X, K_X, K_X, V_MEM | V_IMM),
    VF("vcmpss", 1, 2, 0xc2, K_X, K_X, K_X, V_MEM | V_IMM | V_LIG), VF("vcmpsd", 1, 3, 0xc2, K_X, K_X, K_X, V_MEM | V_IMM | V_LIG),
    VF("vucomiss", 1, 0, 0x2e, K_X, K_N, K_X, V_MEM | V_LIG), VF("vcomisd", 1, 1, 0x2f, K_X, K_N, K_X, V_MEM | V_LIG),
    VF("vcvtsi2ss", 1, 2, 0x2a, K_X, K_X, K_G, V_MEM | V_LIG), { "vcvtsi2sd q", 1, 3, 0x2a, K_X, K_X, K_G, V_MEM | V_LIG | V_W1, 0, N_AVX, 0 },
    VF("vcvttss2si", 1, 2, 0x2c, K_G, K_N, K_X, V_MEM | V_LIG), { "vcvtsd2si q", 1, 3, 0x2d, K_G, K_N, K_X, V_MEM | V_LIG | V_W1, 0, N_AVX, 0 },
    VF("vroundps", 3, 1, 0x08, K_X, K_N, K_X, V_MEM | V_IMM), VF("vroundsd", 3, 1, 0x0b, K_X, K_X, K_X, V_MEM | V_IMM | V_LIG),
    VF("vdpps", 3, 1, 0x40, K_X, K_X, K_X, V_MEM | V_IMM), VF("vdppd", 3, 1, 0x41, K_X, K_X, K_X, V_MEM | V_IMM | V_L0),
    VF("vblendps", 3, 1, 0x0c, K_X, K_X, K_X, V_MEM | V_IMM), VF("vblendpd", 3, 1, 0x0d, K_X, K_X, K_X, V_MEM | V_IMM),
    VF("vblendvps", 3, 1, 0x4a, K_X, K_X, K_X, V_MEM | V_IMM4), VF("vblendvpd", 3, 1, 0x4b, K_X, K_X, K_X, V_MEM | V_IMM4),
    /* integer (AVX at 128 bits, AVX2 at 256) */
    VI("vpunpcklbw", 1, 1, 0x60, 0), VI("vpacksswb", 1, 1, 0x63, 0), VI("vpcmpgtd", 1, 1, 0x66, 0),
    VI("vpackuswb", 1, 1, 0x67, 0), VI("vpunpckhdq", 1, 1, 0x6a, 0), VI("vpackssdw", 1, 1, 0x6b, 0),
    VI("vpunpcklqdq", 1, 1, 0x6c, 0), VI("vpcmpeqb", 1, 1, 0x74, 0), VI("vpcmpeqd", 1, 1, 0x76, 0),
    VI("vpsrlw", 1, 1, 0xd1, 0), VI("vpsrlq", 1, 1, 0xd3, 0), VI("vpaddq", 1, 1, 0xd4, 0), VI("vpmullw", 1, 1, 0xd5, 0),
    VI("vpsubusb", 1, 1, 0xd8, 0), VI("vpminub", 1, 1, 0xda, 0), VI("vpand", 1, 1, 0xdb, 0), VI("vpandn", 1, 1, 0xdf, 0),
    VI("vpavgb", 1, 1, 0xe0, 0), VI("vpsraw", 1, 1, 0xe1, 0), VI("vpsrad", 1, 1, 0xe2, 0), VI("vpmulhuw", 1, 1, 0xe4, 0),
    VI("vpsubsw", 1, 1, 0xe9, 0), VI("vpor", 1, 1, 0xeb, 0), VI("vpmaxsw", 1, 1, 0xee, 0), VI("vpxor", 1, 1, 0xef, 0),
    VI("vpslld", 1, 1, 0xf2, 0), VI("vpsllq", 1, 1, 0xf3, 0), VI("vpmuludq", 1, 1, 0xf4, 0), VI("vpmaddwd", 1, 1, 0xf5, 0),
    VI("vpsadbw", 1, 1, 0xf6, 0), VI("vpsubb", 1, 1, 0xf8, 0), VI("vpsubq", 1, 1, 0xfb, 0), VI("vpaddd", 1, 1, 0xfe, 0),
    { "vpshufd", 1, 1, 0x70, K_X, K_N, K_X, V_MEM | V_IMM, 0, N_AVX2, 0 },
    { "vpshufhw", 1, 2, 0x70, K_X, K_N, K_X, V_MEM | V_IMM, 0, N_AVX2, 0 },
    { "vpshuflw", 1, 3, 0x70, K_X, K_N, K_X, V_MEM | V_IMM, 0, N_AVX2, 0 },
    { "vpsrlw i", 1, 1, 0x71, K_X, K_X, K_X, V_REGONLY | V_IMM | V_DIGIT, 2, N_AVX2, 0 },
    { "vpsraw i", 1, 1, 0x71, K_X, K_X, K_X, V_REGONLY | V_IMM | V_DIGIT, 4, N_AVX2, 0 },
    { "vpslld i", 1, 1, 0x72, K_X, K_X, K_X, V_REGONLY | V_IMM | V_DIGIT, 6, N_AVX2, 0 },
    { "vpsrlq i", 1, 1, 0x73, K_X, K_X, K_X, V_REGONLY | V_IMM | V_DIGIT, 2, N_AVX2, 0 },
    { "vpsrldq i", 1, 1, 0x73, K_X, K_X, K_X, V_REGONLY | V_IMM | V_DIGIT, 3, N_AVX2, 0 },
    { "vpslldq i", 1, 1, 0x73, K_X, K_X, K_X, V_REGONLY | V_IMM | V_DIGIT, 7, N_AVX2, 0 },
    VI("vpshufb", 2, 1, 0x00, 0), VI("vphaddw", 2, 1, 0x01, 0), VI("vphsubsw", 2, 1, 0x07, 0),
    VI("vpmaddubsw", 2, 1, 0x04, 0), VI("vpsignb", 2, 1, 0x08, 0), VI("vpmulhrsw", 2, 1, 0x0b, 0),
    { "vpabsb", 2, 1, 0x1c, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 }, { "vpabsd", 2, 1, 0x1e, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    VI("vpmuldq", 2, 1, 0x28, 0), VI("vpcmpeqq", 2, 1, 0x29, 0), VI("vpackusdw", 2, 1, 0x2b, 0),
    VI("vpcmpgtq", 2, 1, 0x37, 0), VI("vpminsb", 2, 1, 0x38, 0), VI("vpminud", 2, 1, 0x3b, 0),
    VI("vpmaxsd", 2, 1, 0x3d, 0), VI("vpmaxuw", 2, 1, 0x3e, 0), VI("vpmulld", 2, 1, 0x40, 0),
    { "vphminposuw", 2, 1, 0x41, K_X, K_N, K_X, V_MEM | V_L0, 0, N_AVX, 0 },
    { "vptest", 2, 1, 0x17, K_X, K_N, K_X, V_MEM, 0, N_AVX, X86_FLAG_PF | X86_FLAG_AF },
    { "vtestps", 2, 1, 0x0e, K_X, K_N, K_X, V_MEM, 0, N_AVX, 0 },
    { "vtestpd", 2, 1, 0x0f, K_X, K_N, K_X, V_MEM, 0, N_AVX, 0 },
    { "vpmovsxbw", 2, 1, 0x20, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 }, { "vpmovsxbq", 2, 1, 0x22, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vpmovsxdq", 2, 1, 0x25, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 }, { "vpmovzxbd", 2, 1, 0x31, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vpmovzxwq", 2, 1, 0x34, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vmovntdqa", 2, 1, 0x2a, K_X, K_N, K_X, V_MEMONLY | V_ALIGN, 0, N_AVX2, 0 },
    VI("vpsrlvd", 2, 1, 0x45, 0), { "vpsrlvq", 2, 1, 0x45, K_X, K_X, K_X, V_MEM | V_W1, 0, N_AVX2, 0 },
    VI("vpsravd", 2, 1, 0x46, 0), VI("vpsllvd", 2, 1, 0x47, 0), { "vpsllvq", 2, 1, 0x47, K_X, K_X, K_X, V_MEM | V_W1, 0, N_AVX2, 0 },
    { "vmaskmovps", 2, 1, 0x2c, K_X, K_X, K_X, V_MEMONLY, 0, N_AVX, 0 },
    { "vmaskmovpd st", 2, 1, 0x2f, K_X, K_X, K_X, V_MEMONLY, 0, N_AVX, 0 },
    { "vpmaskmovd", 2, 1, 0x8c, K_X, K_X, K_X, V_MEMONLY, 0, N_AVX2, 0 },
    { "vpmaskmovq st", 2, 1, 0x8e, K_X, K_X, K_X, V_MEMONLY | V_W1, 0, N_AVX2, 0 },
    VI("vpblendw", 3, 1, 0x0e, V_IMM), VI("vpalignr", 3, 1, 0x0f, V_IMM), VI("vmpsadbw", 3, 1, 0x42, V_IMM),
    VI("vpblendd", 3, 1, 0x02, V_IMM), VI("vpblendvb", 3, 1, 0x4c, V_IMM4),
    { "vpextrb", 3, 1, 0x14, K_X, K_N, K_G, V_MEM | V_IMM | V_L0, 0, N_AVX, 0 },
    { "vpextrd", 3, 1, 0x16, K_X, K_N, K_G, V_MEM | V_IMM | V_L0, 0, N_AVX, 0 },
    { "vpextrq", 3, 1, 0x16, K_X, K_N, K_G, V_MEM | V_IMM | V_L0 | V_W1, 0, N_AVX, 0 },
    { "vextractps", 3, 1, 0x17, K_X, K_N, K_G, V_MEM | V_IMM | V_L0, 0, N_AVX, 0 },
    { "vpinsrb", 3, 1, 0x20, K_X, K_X, K_G, V_MEM | V_IMM | V_L0, 0, N_AVX, 0 },
    { "vinsertps", 3, 1, 0x21, K_X, K_X, K_X, V_MEM | V_IMM | V_L0, 0, N_AVX, 0 },
    { "vpinsrq", 3, 1, 0x22, K_X, K_X, K_G, V_MEM | V_IMM | V_L0 | V_W1, 0, N_AVX, 0 },
    /* broadcasts and permutes */
    { "vbroadcastss", 2, 1, 0x18, K_X, K_N, K_X, V_MEMONLY, 0, N_AVX, 0 },
    { "vbroadcastss r", 2, 1, 0x18, K_X, K_N, K_X, V_REGONLY, 0, N_AVX2, 0 },
    { "vbroadcastsd", 2, 1, 0x19, K_X, K_N, K_X, V_MEM | V_L1, 0, N_AVX2, 0 },
    { "vbroadcastf128", 2, 1, 0x1a, K_X, K_N, K_X, V_MEMONLY | V_L1, 0, N_AVX, 0 },
    { "vpbroadcastb", 2, 1, 0x78, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vpbroadcastw", 2, 1, 0x79, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vpbroadcastd", 2, 1, 0x58, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vpbroadcastq", 2, 1, 0x59, K_X, K_N, K_X, V_MEM, 0, N_AVX2, 0 },
    { "vbroadcasti128", 2, 1, 0x5a, K_X, K_N, K_X, V_MEMONLY | V_L1, 0, N_AVX2, 0 },
    VF("vpermilps v", 2, 1, 0x0c, K_X, K_X, K_X, V_MEM), VF("vpermilpd v", 2, 1, 0x0d, K_X, K_X, K_X, V_MEM),
    VF("vpermilps i", 3, 1, 0x04, K_X, K_N, K_X, V_MEM | V_IMM), VF("vpermilpd i", 3, 1, 0x05, K_X, K_N, K_X, V_MEM | V_IMM),
    VF("vperm2f128", 3, 1, 0x06, K_X, K_X, K_X, V_MEM | V_IMM | V_L1),
    { "vperm2i128", 3, 1, 0x46, K_X, K_X, K_X, V_MEM | V_IMM | V_L1, 0, N_AVX2, 0 },
    VF("vinsertf128", 3, 1, 0x18, K_X, K_X, K_X, V_MEM | V_IMM | V_L1),
    VF("vextractf128", 3, 1, 0x19, K_X, K_N, K_X, V_MEM | V_IMM | V_L1),
    { "vinserti128", 3, 1, 0x38, K_X, K_X, K_X, V_MEM | V_IMM | V_L1, 0, N_AVX2, 0 },
    { "vextracti128", 3, 1, 0x39, K_X, K_N, K_X, V_MEM | V_IMM | V_L1, 0, N_AVX2, 0 },
    { "vpermd", 2, 1, 0x36, K_X, K_X, K_X, V_MEM | V_L1, 0, N_AVX2, 0 },
    { "vpermps", 2, 1, 0x16, K_X, K_X, K_X, V_MEM | V_L1, 0, N_AVX2, 0 },
    { "vpermq", 3, 1, 0x00, K_X, K_N, K_X, V_MEM | V_IMM | V_L1 | V_W1, 0, N_AVX2, 0 },
    { "vpermpd", 3, 1, 0x01, K_X, K_N, K_X, V_MEM | V_IMM | V_L1 | V_W1, 0, N_AVX2, 0 },
    /* FMA */
#define FMA(n, o) { n "ps", 2, 1, o, K_X, K_X, K_X, V_MEM, 0, N_FMA, 0 }, { n "pd", 2, 1, o, K_X, K_X, K_X, V_MEM | V_W1, 0, N_FMA, 0 }
#define FMAS(n, o) { n "ss", 2, 1, o, K_X, K_X, K_X, V_MEM | V_LIG, 0, N_FMA, 0 }, { n "sd", 2, 1, o, K_X, K_X, K_X, V_MEM | V_LIG | V_W1, 0, N_FMA, 0 }
    FMA("vfmadd132", 0x98), FMA("vfmadd213", 0xa8), FMA("vfmadd231", 0xb8), FMA("vfmsub132", 0x9a),
    FMA("vfnmadd213", 0xac), FMA("vfnmsub231", 0xbe), FMA("vfmaddsub132", 0x96), FMA("vfmsubadd231", 0xb7),
    FMAS("vfmadd132", 0x99), FMAS("vfmsub213", 0xab), FMAS("vfnmadd231", 0xbd), FMAS("vfnmsub132", 0x9f),
    /* BMI1 / BMI2 (GPR operands; L = 0) */
#define BMI(n, m, p, o, r, v, rm, f, need, undef) { n, m, p, o, r, v, rm, V_MEM | V_L0 | (f), 0, need, undef }
    BMI("andn", 2, 0, 0xf2, K_G, K_G, K_G, 0, N_BMI1, X86_FLAG_AF | X86_FLAG_PF),
    BMI("andn q", 2, 0, 0xf2, K_G, K_G, K_G, V_W1, N_BMI1, X86_FLAG_AF | X86_FLAG_PF),
    { "blsr", 2, 0, 0xf3, K_G, K_G, K_G, V_MEM | V_L0 | V_DIGIT, 1, N_BMI1, X86_FLAG_AF | X86_FLAG_PF },
    { "blsmsk q", 2, 0, 0xf3, K_G, K_G, K_G, V_MEM | V_L0 | V_DIGIT | V_W1, 2, N_BMI1, X86_FLAG_AF | X86_FLAG_PF | X86_FLAG_ZF },
    { "blsi", 2, 0, 0xf3, K_G, K_G, K_G, V_MEM | V_L0 | V_DIGIT, 3, N_BMI1, X86_FLAG_AF | X86_FLAG_PF },
    BMI("bextr", 2, 0, 0xf7, K_G, K_G, K_G, 0, N_BMI1, X86_FLAG_AF | X86_FLAG_PF | X86_FLAG_SF),
    BMI("bextr q", 2, 0, 0xf7, K_G, K_G, K_G, V_W1, N_BMI1, X86_FLAG_AF | X86_FLAG_PF | X86_FLAG_SF),
    BMI("bzhi", 2, 0, 0xf5, K_G, K_G, K_G, 0, N_BMI2, X86_FLAG_AF | X86_FLAG_PF),
    BMI("bzhi q", 2, 0, 0xf5, K_G, K_G, K_G, V_W1, N_BMI2, X86_FLAG_AF | X86_FLAG_PF),
    BMI("pext", 2, 2, 0xf5, K_G, K_G, K_G, 0, N_BMI2, 0), BMI("pdep q", 2, 3, 0xf5, K_G, K_G, K_G, V_W1, N_BMI2, 0),
    BMI("mulx", 2, 3, 0xf6, K_G, K_G, K_G, 0, N_BMI2, 0), BMI("mulx q", 2, 3, 0xf6, K_G, K_G, K_G, V_W1, N_BMI2, 0),
    BMI("shlx", 2, 1, 0xf7, K_G, K_G, K_G, 0, N_BMI2, 0), BMI("sarx q", 2, 2, 0xf7, K_G, K_G, K_G, V_W1, N_BMI2, 0),
    BMI("shrx", 2, 3, 0xf7, K_G, K_G, K_G, 0, N_BMI2, 0),
    BMI("rorx", 3, 3, 0xf0, K_G, K_N, K_G, V_IMM, N_BMI2, 0), BMI("rorx q", 3, 3, 0xf0, K_G, K_N, K_G, V_IMM | V_W1, N_BMI2, 0),
};

static bool host_has(unsigned need)
{
    unsigned a, b, c, d;
    __cpuid_count(1, 0, a, b, c, d);
    bool avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    __cpuid_count(7, 0, a, b, c, d);
    switch (need) {
    case N_AVX: return avx;
    case N_AVX2: return avx && ((b >> 5) & 1);
    case N_FMA: return fma;
    case N_BMI1: return (b >> 3) & 1;
    default: return (b >> 8) & 1;
    }
}

static const uint8_t vgprs[] = { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_R8, X86_R9, X86_R10, X86_R11 };

static unsigned vpick(char k)
{
    if (k == K_G)
        return vgprs[rnd() % sizeof(vgprs)];
    if (k == K_N)
        return 0;
    return rnd() % 16;
}

/** Encode a 3-byte VEX form; memory operand = [rsi + disp8]. */
static size_t vencode(const struct vform *f, bool mem, unsigned l, uint8_t *out)
{
    size_t n = 0;
    unsigned reg = (f->flags & V_DIGIT) ? f->digit : vpick(f->reg);
    unsigned vvvv = vpick(f->vvvv);
    unsigned rm = mem ? X86_RSI : vpick(f->rm);
    unsigned w = (f->flags & V_W1) ? 1 : 0;
    out[n++] = 0xc4;
    out[n++] = (uint8_t)((((reg >> 3) ^ 1) << 7) | (1 << 6) | (((rm >> 3) ^ 1) << 5) | f->map);
    out[n++] = (uint8_t)((w << 7) | ((~vvvv & 15) << 3) | (l << 2) | f->pp);
    out[n++] = f->op;
    if (mem) {
        out[n++] = (uint8_t)(0x40 | ((reg & 7) << 3) | 6);
        out[n++] = (f->flags & V_ALIGN) ? 0 : (uint8_t)(rnd() % 3 == 0 ? 0 : rnd() % 64);
    } else {
        out[n++] = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
    }
    if (f->flags & V_IMM)
        out[n++] = (uint8_t)rnd();
    else if (f->flags & V_IMM4)
        out[n++] = (uint8_t)((rnd() % 16) << 4);
    return n;
}

Test(avx_diff, all_forms, .init = y_setup, .fini = teardown)
{
    unsigned total_bad = 0, skipped = 0;
    for (size_t fi = 0; fi < ARRAY_SIZE(vforms); fi++) {
        const struct vform *f = &vforms[fi];
        if (!host_has(f->need)) {
            skipped++;
            continue;
        }
        flag_ignore = f->undef_flags;
        if (getenv("QTEMU_TEST_VERBOSE"))
            fprintf(stderr, "form %s\n", f->name);
        unsigned bad = 0;
        for (unsigned c = 0; c < 120; c++) {
            bool mem = (f->flags & V_MEMONLY) ? true : (f->flags & V_REGONLY) ? false
                     : (f->flags & V_MEM) ? c % 3 == 2 : false;
            unsigned l = (f->flags & V_L0) ? 0 : (f->flags & V_L1) ? 1 : c & 1;
            uint8_t bytes[16];
            size_t n = vencode(f, mem, l, bytes);
            y_rnd_state();
            if (!y_run_case(bytes, n, f->name, bad < 2))
                bad++;
        }
        if (bad)
            fprintf(stderr, "%-16s bad %u / 120\n", f->name, bad);
        total_bad += bad;
    }
    fprintf(stderr, "avx_diff: %zu forms, %u skipped (host lacks them)\n", ARRAY_SIZE(vforms), skipped);
    cr_assert_eq(total_bad, 0, "%u mismatching cases (see stderr)", total_bad);
}

/* ---------------------------------------------------------------- XSAVE family */

static uint8_t xrstor_hdr_kind;
static void prep_xsave_area(void)
{
    /* A valid XSAVE image at tmem + 64 for XRSTOR: random data, valid MXCSR,
     * a header in the standard (0) or compacted (1) form. */
    uint8_t *a = tmem + 128;            /* [rsi + 0x40], 64-byte aligned */
    uint32_t mxcsr = 0x1f80 | (uint32_t)(rnd() & 0x6040);
    memcpy(a + 24, &mxcsr, 4);
    memset(a + 512, 0, 64);
    uint64_t bv = rnd() & 7;
    memcpy(a + 512, &bv, 8);
    if (xrstor_hdr_kind) {
        uint64_t comp = (1ull << 63) | 7;
        memcpy(a + 520, &comp, 8);
    }
    /* Sane x87 tags: an abridged tag of all-empty avoids comparing garbage. */
    a[4] = 0;
}

Test(avx_diff, xsave_forms, .init = y_setup, .fini = teardown)
{
    /* xsave / xsaveopt / xsavec / xrstor [rsi+64] with REX.W (the 64-bit x87 layout) and without. */
    static const struct { const char *name; uint8_t b[6]; size_t n; bool rstor; } xs[] = {
        { "xsave64", { 0x48, 0x0f, 0xae, 0x66, 0x40 }, 5, false },
        { "xsave", { 0x0f, 0xae, 0x66, 0x40 }, 4, false },
        { "xsaveopt64", { 0x48, 0x0f, 0xae, 0x76, 0x40 }, 5, false },
        { "xsavec64", { 0x48, 0x0f, 0xc7, 0x66, 0x40 }, 5, false },
        { "xrstor64", { 0x48, 0x0f, 0xae, 0x6e, 0x40 }, 5, true },
        { "xrstor", { 0x0f, 0xae, 0x6e, 0x40 }, 4, true },
    };
    /* MXCSR_MASK (image bytes 28-31) says which MXCSR bits the CPU supports:
     * qtemu's models report 0xFFFF as Intel CPUs do (SDM Vol. 1 11.6.6); an
     * AMD host reports 0x2FFFF (its MM bit). Compare it only when the host
     * agrees with the model. */
    uint8_t fx[512] __attribute__((aligned(16)));
    __asm__ volatile("fxsave64 %0" : "=m"(fx));
    uint32_t host_mask;
    memcpy(&host_mask, fx + 28, 4);
    if (host_mask != MXCSR_MASK) {
        fprintf(stderr, "host MXCSR_MASK %#x != model %#x: not compared\n", host_mask, MXCSR_MASK);
        mem_model_off = 128 + 28;
        mem_model_len = 4;
    }
    unsigned total_bad = 0;
    for (size_t k = 0; k < ARRAY_SIZE(xs); k++) {
        unsigned bad = 0;
        for (unsigned c = 0; c < 200; c++) {
            y_rnd_state();
            unsigned mask = rnd() % 8;
            if (mask == 0 || c % 2)
                mask = 7;
            ys.gpr_in[X86_RAX] = mask | (rnd() & ~0xffull);   /* only bits 0-2 of XCR0 exist */
            ys.gpr_in[X86_RAX] &= 0xffffffff00000007ull;
            ys.gpr_in[X86_RDX] = 0;
            xrstor_hdr_kind = (uint8_t)(rnd() & 1);
            h_prep = xs[k].rstor ? prep_xsave_area : NULL;
            if (!y_run_case(xs[k].b, xs[k].n, xs[k].name, bad < 2))
                bad++;
        }
        if (bad)
            fprintf(stderr, "%-12s bad %u / 200\n", xs[k].name, bad);
        total_bad += bad;
    }
    h_prep = NULL;
    mem_model_len = 0;
    cr_assert_eq(total_bad, 0, "%u mismatching cases", total_bad);
}

Test(avx_diff, xsave_faults, .init = y_setup, .fini = teardown)
{
    struct x86_insn insn;
    /* Misaligned (rsi + 8): #GP(0); CR4.OSXSAVE = 0: #UD; CR0.TS: #NM. */
    static const uint8_t mis[] = { 0x0f, 0xae, 0x66, 0x08 };
    y_rnd_state();
    memset(cpu, 0, sizeof(*cpu));
    y_cpu_load(cpu);
    cr_assert_eq(x86_decode(mis, sizeof(mis), X86_MODE_64, &insn), 4);
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        h_table[insn.op](cpu, &insn);
    cr_assert_eq(h_fault, X86_EXC_GP);
    cpu->cr4 &= ~X86_CR4_OSXSAVE;
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        h_table[insn.op](cpu, &insn);
    cr_assert_eq(h_fault, X86_EXC_UD);
    /* VEX instructions: #UD without OSXSAVE or with XCR0.AVX = 0, #NM with CR0.TS. */
    static const uint8_t vaddps[] = { 0xc5, 0xf4, 0x58, 0xc2 };   /* vaddps ymm0, ymm1, ymm2 */
    cr_assert_eq(x86_decode(vaddps, sizeof(vaddps), X86_MODE_64, &insn), 4);
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        v_table[insn.op](cpu, &insn);
    cr_assert_eq(h_fault, X86_EXC_UD);
    cpu->cr4 |= X86_CR4_OSXSAVE;
    cpu->xcr0 = 3;
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        v_table[insn.op](cpu, &insn);
    cr_assert_eq(h_fault, X86_EXC_UD);
    cpu->xcr0 = 7;
    cpu->cr0 |= X86_CR0_TS;
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        v_table[insn.op](cpu, &insn);
    cr_assert_eq(h_fault, X86_EXC_NM);
    /* The qemu64 model has no AVX2: a 256-bit integer op is #UD there. */
    cpu->cr0 &= ~X86_CR0_TS;
    memset(cpu->cpuid_features, 0, sizeof(cpu->cpuid_features));
    cpu->model = X86_CPU_QEMU64;
    static const uint8_t vpaddd[] = { 0xc5, 0xf5, 0xfe, 0xc2 };   /* vpaddd ymm0, ymm1, ymm2 */
    cr_assert_eq(x86_decode(vpaddd, sizeof(vpaddd), X86_MODE_64, &insn), 4);
    h_fault = -1;
    if (setjmp(h_jmp) == 0)
        v_table[insn.op](cpu, &insn);
    cr_assert_eq(h_fault, X86_EXC_UD);
}

/* Legacy SSE keeps the upper halves; VEX.128 zeroes them; VZEROUPPER/VZEROALL (vs host). */
Test(avx_diff, upper_halves, .init = y_setup, .fini = teardown)
{
    static const struct { const char *name; uint8_t b[5]; size_t n; } cases[] = {
        { "addps (legacy)", { 0x0f, 0x58, 0xc1 }, 3 },
        { "paddd (legacy)", { 0x66, 0x0f, 0xfe, 0xd3 }, 4 },
        { "vaddps xmm", { 0xc5, 0xf0, 0x58, 0xc2 }, 4 },
        { "vzeroupper", { 0xc5, 0xf8, 0x77 }, 3 },
        { "vzeroall", { 0xc5, 0xfc, 0x77 }, 3 },
    };
    for (size_t k = 0; k < ARRAY_SIZE(cases); k++)
        for (unsigned c = 0; c < 20; c++) {
            y_rnd_state();
            cr_assert(y_run_case(cases[k].b, cases[k].n, cases[k].name, 1), "%s", cases[k].name);
        }
}

/* Gathers: indices into tmem, random masks; mask and destination after completion. */
static void gather_prep(void) {}
Test(avx_diff, gathers, .init = y_setup, .fini = teardown)
{
    if (!host_has(N_AVX2))
        return;
    /* op, W, L: vpgatherdd/dq/qd/qq, vgatherdps/dpd... via 0F38 90-93 */
    unsigned bad = 0;
    for (unsigned c = 0; c < 400; c++) {
        unsigned op = 0x90 + rnd() % 4, w = rnd() & 1, l = rnd() & 1;
        unsigned dst = rnd() % 16, idx, msk;
        do
            idx = rnd() % 16;
        while (idx == dst);
        do
            msk = rnd() % 16;
        while (msk == dst || msk == idx);
        unsigned scale = rnd() % 4;
        uint8_t b[7] = { 0xc4, (uint8_t)((((dst >> 3) ^ 1) << 7) | (((idx >> 3) ^ 1) << 6) | (1 << 5) | 2),
                         (uint8_t)((w << 7) | ((~msk & 15) << 3) | (l << 2) | 1), (uint8_t)op,
                         (uint8_t)(0x44 | ((dst & 7) << 3)), (uint8_t)((scale << 6) | ((idx & 7) << 3) | 6), 0x40 };
        y_rnd_state();
        /* small indices (0..63 elements scaled) so every address stays inside tmem */
        for (unsigned i = 0; i < 8; i++) {
            uint32_t v = (uint32_t)(rnd() % 48);
            if (op & 1) {
                uint64_t q = v;
                if (i < 4)
                    memcpy((i < 2 ? ys.in + 160 + 16 * idx : ys.in + 576 + 16 * idx) + 8 * (i % 2), &q, 8);
            } else {
                memcpy((i < 4 ? ys.in + 160 + 16 * idx : ys.in + 576 + 16 * idx) + 4 * (i % 4), &v, 4);
            }
        }
        h_prep = gather_prep;
        if (!y_run_case(b, sizeof(b), "gather", bad < 2))
            bad++;
    }
    h_prep = NULL;
    cr_assert_eq(bad, 0, "%u bad gathers", bad);
}
