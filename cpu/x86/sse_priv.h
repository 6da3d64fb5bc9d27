/*
 * cpu/x86/sse_priv.h - helpers shared by the x87/MMX/SSE instruction files
 * (ops_x87.c, ops_sse*.c, ops_fxsave.c). Private to those files.
 *
 * Owns: the device-not-available / invalid-opcode checks of SDM Vol. 3A 13.x
 * and Vol. 2 "exceptions" tables for SSE and MMX, operand access for
 * XMM/MMX registers and memory, the MMX<->x87 state transition, and the
 * MXCSR-controlled host execution wrapper for SSE floating point.
 *
 * Floating point decision (documented here once): the host is x86-64, so
 * SSE floating-point operations run the very same host instruction with a
 * temporary host MXCSR = guest MXCSR with all exceptions masked and flags
 * cleared (rounding, DAZ and FTZ thus honoured bit-exactly); the flags the
 * host raised are ORed into the guest MXCSR and unmasked ones raise #XM
 * (or #UD if CR4.OSXMMEXCPT = 0), SDM Vol. 1 11.5, Vol. 3A 6.15 "#XM".
 */
#ifndef QTEMU_CPU_X86_SSE_PRIV_H
#define QTEMU_CPU_X86_SSE_PRIV_H

#include <string.h>

#include "cpu/x86/x86.h"
#include "util/log.h"

/* MXCSR fields (SDM Vol. 1 10.2.3). */
#define MXCSR_IE   0x0001u
#define MXCSR_FLAGS 0x003fu          /* IE DE ZE OE UE PE */
#define MXCSR_DAZ  0x0040u
#define MXCSR_MASKS 0x1f80u          /* IM DM ZM OM UM PM */
#define MXCSR_UM   0x0800u          /* underflow mask */
#define MXCSR_RC_SHIFT 13
#define MXCSR_FZ   0x8000u
/** Bits of MXCSR we support (MXCSR_MASK in the FXSAVE image, DAZ included). */
#define MXCSR_MASK 0xffffu

/* x87 FSW bits (SDM Vol. 1 8.1.3). */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP_SHIFT 11
#define FSW_TOP 0x3800u
#define FSW_C3 0x4000u
#define FSW_B  0x8000u

/* Tag word encoding per register (2 bits, SDM Vol. 1 8.1.7). */
#define FTAG_VALID 0u
#define FTAG_ZERO 1u
#define FTAG_SPECIAL 2u
#define FTAG_EMPTY 3u

/**
 * SSE availability check (SDM Vol. 2 "SIMD Floating-Point Exceptions" /
 * "Other Exceptions" tables, Vol. 3A 13.1): #UD if CR0.EM = 1 or
 * CR4.OSFXSR = 0, #NM if CR0.TS = 1.
 */
static inline void sse_check(struct x86_cpu *cpu)
{
    if ((cpu->cr0 & X86_CR0_EM) || !(cpu->cr4 & X86_CR4_OSFXSR))
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cr0 & X86_CR0_TS)
        x86_raise(cpu, X86_EXC_NM);
}

/**
 * MMX availability (mmx_check) and x87 transition (SDM Vol. 1 9.5, Vol. 2 MMX exception
 * table): #UD if CR0.EM, #NM if CR0.TS, #MF if an unmasked x87 exception is
 * pending (FSW.ES). Then TOP = 0 and every tag becomes valid.
 */
void mmx_enter(struct x86_cpu *cpu);

/** Linear address of a memory operand of @size bytes; #GP(0) if @align and it is not @align-aligned. */
gva_t sse_mem_addr(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                   enum mmu_access access, unsigned align);

/**
 * Source operand xmm/m128 (ModRM.rm) into @out. @align16: the aligned legacy
 * SSE forms (#GP(0) on a misaligned address, SDM Vol. 1 11.6.8). Memory forms
 * read @size bytes (16, 8 or 4) into the low bytes; the rest is zeroed.
 */
void sse_read_rm(struct x86_cpu *cpu, const struct x86_insn *insn, union x86_xmm *out,
                 unsigned size, bool align16);

/** Store @size bytes of @v to the memory operand or the low part of xmm ModRM.rm register. */
void sse_write_rm(struct x86_cpu *cpu, const struct x86_insn *insn, const union x86_xmm *v,
                  unsigned size, bool align16);

/** MMX source mm/m64 (ModRM.rm & 7 or 8 bytes of memory) as a 64-bit value. */
uint64_t mmx_read_rm(struct x86_cpu *cpu, const struct x86_insn *insn);

/** Write MMX register @i (0..7): significand = @v, sign/exponent = all ones (SDM Vol. 1 9.5.1). */
static inline void mmx_write(struct x86_cpu *cpu, unsigned i, uint64_t v)
{
    cpu->st[i & 7].raw.mant = v;
    cpu->st[i & 7].raw.sign_exp = 0xffff;
}

static inline uint64_t mmx_reg(struct x86_cpu *cpu, unsigned i)
{
    return cpu->st[i & 7].raw.mant;
}

/** A host SSE operation: @d = op(@d, @s), run under the host MXCSR set by sse_fp_run. */
typedef void (*sse_host_fn)(union x86_xmm *d, const union x86_xmm *s);

/**
 * Run @fn on copies of @d/@s with the host MXCSR derived from the guest MXCSR
 * (exceptions masked). Collects the raised flags into cpu->mxcsr; if one is
 * unmasked, raises #XM (#UD if CR4.OSXMMEXCPT = 0) without changing @d
 * (SDM Vol. 1 11.5.1). Otherwise @d receives the result.
 */
void sse_fp_run(struct x86_cpu *cpu, sse_host_fn fn, union x86_xmm *d, const union x86_xmm *s);

/** Host MXCSR save/load around host FP work. */
static inline uint32_t host_getcsr(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
static inline void host_setcsr(uint32_t v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

/**
 * Begin/end a host SSE computation on behalf of the guest: begin returns the
 * saved host MXCSR; end restores it, merges the raised flags into the guest
 * MXCSR and raises #XM/#UD for unmasked ones (before the caller writes any
 * destination).
 */
uint32_t sse_fp_begin(struct x86_cpu *cpu);
void sse_fp_end(struct x86_cpu *cpu, uint32_t saved);

/**
 * An integer SIMD operation on the low @n bytes (8 = MMX, 16 = XMM) of
 * @d and @s: @d = op(@d, @s). Lanes beyond @n are left untouched.
 */
typedef void (*simd_fn)(union x86_xmm *d, const union x86_xmm *s, unsigned n);

/**
 * Execute a two-operand integer SIMD instruction: no prefix = MMX form
 * (mm, mm/m64), 66 = SSE2 form (xmm, xmm/m128, 16-byte aligned memory).
 * F3/F2 or (@xmm_only and no prefix) raise #UD.
 */
void sse_int_exec(struct x86_cpu *cpu, const struct x86_insn *insn, simd_fn fn, bool xmm_only);

/** #UD/#NM checks of an MMX instruction without the state transition (that is mmx_enter). */
void mmx_check(struct x86_cpu *cpu);

/*
 * Lane functions of the legacy files, shared with their VEX forms (ops_avx*.c):
 * each returns NULL where the legacy table has no entry.
 */
/** 0F-map MMX/SSE2 integer op @opcode (ops_sse_int.c int_ops). */
simd_fn sse_int_lane_fn(uint8_t opcode);
/** Shift the 16 bytes of @d by @count: @elem-byte elements, @kind 0 SRL, 1 SRA, 2 SLL. */
void sse_shift_lanes(union x86_xmm *d, unsigned elem, int kind, uint64_t count);
/** 0F-map FP op @opcode with mandatory prefix @mprefix; *size = memory operand bytes. */
sse_host_fn sse_fp_lane_fn(uint8_t opcode, unsigned mprefix, unsigned *size);
/** CVT(T)SS/SD2SI (@dbl, @trunc, 64-bit @q) of @s's low element under the guest MXCSR (may raise #XM). */
uint64_t sse_cvt_to_int(struct x86_cpu *cpu, bool dbl, bool trunc, bool q, const union x86_xmm *s);
/** CVTSI2SS/SD of @v into @d's low element under the guest MXCSR (may raise #XM). */
void sse_cvt_from_int(struct x86_cpu *cpu, bool dbl, bool q, uint64_t v, union x86_xmm *d);
/** 0F 38-map integer op @opcode (ops_sse4.c ops38). */
simd_fn sse4_38_lane_fn(uint8_t opcode);
/** ROUNDPS/PD/SS/SD (@kind 0..3) with imm8[3:0] = @imm, run by sse_fp_run. */
sse_host_fn sse4_round_fn(unsigned imm, unsigned kind);
/** DPPS (@pd false) / DPPD on the host; call between sse_fp_begin/sse_fp_end. */
void sse4_dp(bool pd, unsigned imm, union x86_xmm *d, const union x86_xmm *s);

/* Registration of the per-group files (called by x86_ops_sse_init). */
void x86_ops_sse_mov_init(x86_exec_fn *table);
void x86_ops_sse_int_init(x86_exec_fn *table);
void x86_ops_sse_fp_init(x86_exec_fn *table);
void x86_ops_sse4_init(x86_exec_fn *table);
/** SSE4.2 PCMPxSTRx (ops_sse42.c) and AES-NI/PCLMULQDQ (ops_aes.c), legacy encodings. */
void x86_ops_sse42_init(x86_exec_fn *table);
void x86_ops_aes_init(x86_exec_fn *table);
void x86_ops_fxsave_init(x86_exec_fn *table);

/**
 * The FCW value the hardware keeps for a loaded @cw: bit 6 reads as 1, bits
 * 7 and 13..15 as 0 (reserved, SDM Vol. 1 Figure 8-6; checked on the host).
 */
static inline uint16_t x87_fcw_value(uint16_t cw)
{
    return (uint16_t)((cw & 0x1f3f) | 0x40);
}

/**
 * The FXSAVE image (SDM Vol. 1 Table 10-2; @rex_w: the 64-bit layout of
 * Table 10-4) of the current state into @img (512 bytes; bytes 464..511
 * untouched, XMM8-15 only in 64-bit mode). Also the legacy region of XSAVE.
 */
void x86_fx_image(struct x86_cpu *cpu, uint8_t *img, bool rex_w);

/** Load the x87 part (FCW..FDS, ST0-7, tags; not MXCSR/XMM) of an FXSAVE image. */
void x86_fx_load_x87(struct x86_cpu *cpu, const uint8_t *img, bool rex_w);

/** 0F AE /4 /5 /6 with a memory operand: XSAVE, XRSTOR, XSAVEOPT (ops_xsave.c). */
void x86_op_xsave_group(struct x86_cpu *cpu, const struct x86_insn *insn);

/** x87 abridged/full tag helpers shared with FXSAVE (ops_x87.c). */
uint16_t x87_full_tag(struct x86_cpu *cpu, unsigned phys);
/** Check before any waiting x87 instruction: #NM (CR0.EM/TS) and pending #MF. */
void x87_check_wait(struct x86_cpu *cpu);

#endif
