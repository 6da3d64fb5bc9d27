/*
 * cpu/x86/avx_priv.h - helpers shared by the VEX instruction files
 * (ops_avx.c, ops_avx_fp.c, ops_avx_int.c, ops_avx_perm.c, ops_fma.c,
 * ops_bmi.c) and the XSAVE file. Private to those files.
 *
 * YMM registers are cpu->xmm[i] (bits 127:0) + cpu->ymmh[i] (bits 255:128).
 * A VEX instruction with a register destination writes all 256 bits: the
 * 128-bit forms (VEX.L = 0) zero bits 255:128 (SDM Vol. 1 14.1.2; there is
 * no state above 255 here). Legacy SSE never touches ymmh.
 *
 * VEX forms reuse the lane functions of the legacy files: a VEX op is the
 * legacy op applied to each 128-bit lane with the destination initialised
 * from the first source (VEX.vvvv), which makes it non-destructive.
 *
 * Exceptions (SDM Vol. 2A 2.8, Table 2-21 ff.): #UD if CR4.OSXSAVE = 0 or
 * XCR0[2:1] != 11b (a VEX prefix with 66/F2/F3/REX/LOCK is rejected by
 * the decoder), #NM if CR0.TS = 1. CR0.EM does not apply to VEX. Memory
 * operands need no alignment except for the explicitly aligned moves
 * (VMOVAPS/APD/DQA, VMOVNTx: 16 or 32 bytes, #GP(0)).
 */
#ifndef QTEMU_CPU_X86_AVX_PRIV_H
#define QTEMU_CPU_X86_AVX_PRIV_H

#include "cpu/x86/sse_priv.h"
#include "cpu/x86/sys.h"

/* XCR0 / XSAVE state-component bits (SDM Vol. 1 13.1). */
#define XCR0_X87 0x1ull
#define XCR0_SSE 0x2ull
#define XCR0_AVX 0x4ull

/** A YMM value as two 128-bit lanes (lane 0 = bits 127:0). */
struct x86_ymm {
    union x86_xmm l[2];
};

/** AVX state check (see above). */
static inline void avx_check(struct x86_cpu *cpu)
{
    if (unlikely(!(cpu->cr4 & X86_CR4_OSXSAVE) || (cpu->xcr0 & 6) != 6))
        x86_raise(cpu, X86_EXC_UD);
    if (unlikely(cpu->cr0 & X86_CR0_TS))
        x86_raise(cpu, X86_EXC_NM);
}

/** True if this vCPU's model advertises AVX2 (CPUID.(EAX=7,ECX=0):EBX[5]). */
static inline bool avx2_enabled(struct x86_cpu *cpu)
{
    return x86_has_feature(cpu, X86_FEAT_AVX2);
}

/** avx_check() plus #UD unless the model has @feature (FMA, F16C, AVX2, AES, ...). */
static inline void avx_check_feat(struct x86_cpu *cpu, unsigned feature)
{
    if (unlikely(!x86_has_feature(cpu, feature)))
        x86_raise(cpu, X86_EXC_UD);
    avx_check(cpu);
}

/** Vector length in bytes of a VEX instruction: 16 (L = 0) or 32. */
static inline unsigned avx_vl(const struct x86_insn *insn)
{
    return insn->vex_l ? 32 : 16;
}

/** #UD unless VEX.vvvv = 1111b (instructions without a vvvv operand). */
static inline void avx_no_vvvv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (unlikely(insn->vex_v != 0))
        x86_raise(cpu, X86_EXC_UD);
}

/** #UD if VEX.L = 1 (128-bit-only instructions). */
static inline void avx_l0(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (unlikely(insn->vex_l))
        x86_raise(cpu, X86_EXC_UD);
}

/** Read YMM register @reg (0..15). */
static inline void avx_get(struct x86_cpu *cpu, unsigned reg, struct x86_ymm *out)
{
    out->l[0] = cpu->xmm[reg & 15];
    out->l[1] = cpu->ymmh[reg & 15];
}

/** Write YMM register @reg: @vl = 16 writes lane 0 and zeroes bits 255:128. */
static inline void avx_put(struct x86_cpu *cpu, unsigned reg, const struct x86_ymm *v, unsigned vl)
{
    cpu->xmm[reg & 15] = v->l[0];
    if (vl == 32)
        cpu->ymmh[reg & 15] = v->l[1];
    else
        memset(&cpu->ymmh[reg & 15], 0, 16);
}

/** Write a 128-bit result to XMM @reg, zeroing bits 255:128 (VEX.128). */
static inline void avx_put128(struct x86_cpu *cpu, unsigned reg, const union x86_xmm *v)
{
    cpu->xmm[reg & 15] = *v;
    memset(&cpu->ymmh[reg & 15], 0, 16);
}

/**
 * ModRM.rm source: a register gives the whole YMM; memory reads @size
 * bytes (1..32) into the low bytes and zeroes the rest. @align: required
 * alignment in bytes (0 or 1 = none), #GP(0) otherwise.
 */
void avx_read_rm(struct x86_cpu *cpu, const struct x86_insn *insn, struct x86_ymm *out,
                 unsigned size, unsigned align);

/** Store the low @size bytes of @v to the memory operand (@align as above). */
void avx_write_mem(struct x86_cpu *cpu, const struct x86_insn *insn, const struct x86_ymm *v,
                   unsigned size, unsigned align);

/* Registration of the VEX files (called by x86_ops_vex_init in ops_avx.c). */
void x86_ops_avx_fp_init(x86_exec_fn *vex);
void x86_ops_avx_int_init(x86_exec_fn *vex);
void x86_ops_avx_perm_init(x86_exec_fn *vex);
void x86_ops_fma_init(x86_exec_fn *vex);
void x86_ops_bmi_init(x86_exec_fn *vex);
/** VEX forms of ops_sse42.c (VPCMPxSTRx), ops_aes.c (VAES*, VPCLMULQDQ), ops_f16c.c. */
void x86_ops_sse42_vex_init(x86_exec_fn *vex);
void x86_ops_aes_vex_init(x86_exec_fn *vex);
void x86_ops_f16c_vex_init(x86_exec_fn *vex);

#endif
