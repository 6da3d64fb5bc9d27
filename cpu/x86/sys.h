/*
 * cpu/x86/sys.h - private helpers shared by the system-architecture files
 * (seg.c, excp.c, ops_far.c, task.c, ops_system.c, ops_io.c, msr.c, cpuid.c).
 *
 * Owns: segment-descriptor decoding (SDM Vol. 3A 3.4.5, 5.8.3 gate
 * descriptors, 7.2.2 TSS descriptors), descriptor-table fetches through the
 * implicit-supervisor accessors, canonical-address checks (SDM Vol. 1 3.3.7.1),
 * the CPUID feature-bit names used for #UD decisions, and the handler
 * prototypes x86_ops_system_init() registers.
 *
 * Nothing here is visible outside cpu/x86.
 */
#ifndef QTEMU_CPU_X86_SYS_H
#define QTEMU_CPU_X86_SYS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/x86/x86.h"

/* ---------------------------------------------------------------- descriptors */

/* Descriptor type field values with S = 0 (SDM Vol. 3A Table 3-2). */
#define X86_DESC_TSS16_AVAIL 0x1
#define X86_DESC_LDT         0x2
#define X86_DESC_TSS16_BUSY  0x3
#define X86_DESC_CALL16      0x4
#define X86_DESC_TASK        0x5
#define X86_DESC_INT16       0x6
#define X86_DESC_TRAP16      0x7
#define X86_DESC_TSS_AVAIL   0x9
#define X86_DESC_TSS_BUSY    0xb
#define X86_DESC_CALL        0xc
#define X86_DESC_INT         0xe
#define X86_DESC_TRAP        0xf

/* Code/data type bits with S = 1 (SDM Vol. 3A Table 3-1). */
#define X86_TYPE_ACCESSED 0x1   /* A */
#define X86_TYPE_WR       0x2   /* data: writable; code: readable */
#define X86_TYPE_EC       0x4   /* data: expand-down; code: conforming */
#define X86_TYPE_CODE     0x8

/** Packed attribute word (struct x86_seg.attr layout) of a raw 8-byte descriptor. */
static inline uint16_t x86_desc_attr(uint64_t d)
{
    return (uint16_t)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 12));
}

/** Base address bits 31:0 of a raw descriptor. */
static inline uint32_t x86_desc_base(uint64_t d)
{
    return (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000));
}

/** Byte-granular limit of a raw descriptor (G applied: limit << 12 | 0xfff). */
static inline uint32_t x86_desc_limit(uint64_t d)
{
    uint32_t lim = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    if (d & (1ull << 55))
        lim = (lim << 12) | 0xfff;
    return lim;
}

/** Fill a segment cache from selector @sel and raw descriptor @d (32-bit base). */
static inline void x86_seg_from_desc(struct x86_seg *s, uint16_t sel, uint64_t d)
{
    s->sel = sel;
    s->base = x86_desc_base(d);
    s->limit = x86_desc_limit(d);
    s->attr = x86_desc_attr(d);
}

/** True if @attr is a code segment (S = 1, type bit 3). */
static inline bool x86_attr_is_code(uint16_t attr)
{
    return (attr & X86_SEG_ATTR_S) && (attr & X86_TYPE_CODE);
}

/** True if @attr is a data segment (S = 1, type bit 3 clear). */
static inline bool x86_attr_is_data(uint16_t attr)
{
    return (attr & X86_SEG_ATTR_S) && !(attr & X86_TYPE_CODE);
}

/**
 * Fetch the 8-byte descriptor for selector @sel from the GDT or LDT (TI bit),
 * SDM Vol. 3A 3.4.2. Returns false if the selector's index lies beyond the
 * table limit (or TI=1 with an unusable LDTR); the caller raises the fault
 * its instruction specifies. *@addr receives the descriptor's linear address.
 * May raise #PF from the table access itself.
 */
bool x86_fetch_desc(struct x86_cpu *cpu, uint16_t sel, uint64_t *desc, uint64_t *addr);

/**
 * Same for a 16-byte system descriptor in IA-32e mode (LDT/TSS/call gate,
 * SDM Vol. 3A Figure 7-4): *@hi receives the upper 8 bytes. Both halves must
 * be within the table limit.
 */
bool x86_fetch_desc16(struct x86_cpu *cpu, uint16_t sel, uint64_t *desc, uint64_t *hi,
                      uint64_t *addr);

/** Set the accessed bit (type bit 0) of the descriptor at @addr if clear in @desc. */
void x86_desc_set_accessed(struct x86_cpu *cpu, uint64_t addr, uint64_t *desc);

/* ---------------------------------------------------------------- modes */

/** True in protected mode (CR0.PE) and not in virtual-8086 mode. */
static inline bool x86_protected(const struct x86_cpu *cpu)
{
    return (cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & X86_FLAG_VM);
}

/** True in virtual-8086 mode (CR0.PE and RFLAGS.VM). */
static inline bool x86_vm86(const struct x86_cpu *cpu)
{
    return (cpu->cr0 & X86_CR0_PE) && (cpu->rflags & X86_FLAG_VM);
}

/** True in IA-32e mode (EFER.LMA). */
static inline bool x86_long_mode(const struct x86_cpu *cpu)
{
    return cpu->efer & X86_EFER_LMA;
}

/** Current RFLAGS.IOPL (0..3). */
static inline unsigned x86_iopl(const struct x86_cpu *cpu)
{
    return (cpu->rflags >> 12) & 3;
}

/**
 * Canonical-address check (SDM Vol. 1 3.3.7.1): bits 63..47 (or 63..56 with
 * CR4.LA57) all equal.
 */
static inline bool x86_is_canonical(const struct x86_cpu *cpu, uint64_t addr)
{
    int bits = (cpu->cr4 & X86_CR4_LA57) ? 57 : 48;
    int64_t s = (int64_t)(addr << (64 - bits)) >> (64 - bits);
    return (uint64_t)s == addr;
}

/** Load the flat 64/32-bit segment caches SYSCALL/SYSENTER-style (SDM Vol. 2B SYSCALL). */
void x86_seg_load_flat(struct x86_cpu *cpu, int sreg, uint16_t sel, unsigned dpl, bool code,
                       bool long64);

/**
 * Return-to-outer-privilege data-segment scrub (SDM Vol. 2A IRET/RET
 * pseudo-code, "FOR each SegReg in (ES, FS, GS, and DS)"): a data or
 * nonconforming-code segment with DPL < new CPL is nulled. Null FS/GS
 * selectors are left alone (their base may be an MSR-loaded value).
 */
void x86_scrub_data_segs(struct x86_cpu *cpu, unsigned new_cpl);

/**
 * Validate SS selector @sel for a return to privilege @rpl (IRET/RETF to
 * an outer level, SDM Vol. 2A IRET "RETURN-TO-OUTER-PRIVILEGE-LEVEL"):
 * raises #GP(sel) / #SS(sel) on failure; a null selector is accepted only
 * when @target64 (returning to 64-bit mode) and @rpl != 3. Fills *@out.
 */
void x86_check_ret_ss(struct x86_cpu *cpu, uint16_t sel, unsigned rpl, bool target64,
                      struct x86_seg *out);

/* ---------------------------------------------------------------- features */

/* CPUID feature words stored in cpu->cpuid_features[] (see cpuid.c). */
enum x86_feature_word {
    X86_FW_1_EDX = 0,
    X86_FW_1_ECX,
    X86_FW_81_EDX,      /* CPUID.80000001H:EDX */
    X86_FW_81_ECX,      /* CPUID.80000001H:ECX */
    X86_FW_7_EBX,       /* CPUID.(EAX=07H,ECX=0):EBX */
    X86_FW_7_ECX,
    X86_FW_7_EDX,
    X86_FW_COUNT,
};
#define X86_FEATURE(word, bit) ((unsigned)(word) * 32u + (bit))

#define X86_FEAT_FPU        X86_FEATURE(X86_FW_1_EDX, 0)
#define X86_FEAT_DE         X86_FEATURE(X86_FW_1_EDX, 2)
#define X86_FEAT_PSE        X86_FEATURE(X86_FW_1_EDX, 3)
#define X86_FEAT_TSC        X86_FEATURE(X86_FW_1_EDX, 4)
#define X86_FEAT_MSR        X86_FEATURE(X86_FW_1_EDX, 5)
#define X86_FEAT_PAE        X86_FEATURE(X86_FW_1_EDX, 6)
#define X86_FEAT_MCE        X86_FEATURE(X86_FW_1_EDX, 7)
#define X86_FEAT_CX8        X86_FEATURE(X86_FW_1_EDX, 8)
#define X86_FEAT_APIC       X86_FEATURE(X86_FW_1_EDX, 9)
#define X86_FEAT_SEP        X86_FEATURE(X86_FW_1_EDX, 11)
#define X86_FEAT_MTRR       X86_FEATURE(X86_FW_1_EDX, 12)
#define X86_FEAT_PGE        X86_FEATURE(X86_FW_1_EDX, 13)
#define X86_FEAT_MCA        X86_FEATURE(X86_FW_1_EDX, 14)
#define X86_FEAT_CMOV       X86_FEATURE(X86_FW_1_EDX, 15)
#define X86_FEAT_PAT        X86_FEATURE(X86_FW_1_EDX, 16)
#define X86_FEAT_PSE36      X86_FEATURE(X86_FW_1_EDX, 17)
#define X86_FEAT_CLFSH      X86_FEATURE(X86_FW_1_EDX, 19)
#define X86_FEAT_MMX        X86_FEATURE(X86_FW_1_EDX, 23)
#define X86_FEAT_FXSR       X86_FEATURE(X86_FW_1_EDX, 24)
#define X86_FEAT_SSE        X86_FEATURE(X86_FW_1_EDX, 25)
#define X86_FEAT_SSE2       X86_FEATURE(X86_FW_1_EDX, 26)
#define X86_FEAT_SSE3       X86_FEATURE(X86_FW_1_ECX, 0)
#define X86_FEAT_MONITOR    X86_FEATURE(X86_FW_1_ECX, 3)
#define X86_FEAT_SSSE3      X86_FEATURE(X86_FW_1_ECX, 9)
#define X86_FEAT_CX16       X86_FEATURE(X86_FW_1_ECX, 13)
#define X86_FEAT_PCID       X86_FEATURE(X86_FW_1_ECX, 17)
#define X86_FEAT_SSE41      X86_FEATURE(X86_FW_1_ECX, 19)
#define X86_FEAT_SSE42      X86_FEATURE(X86_FW_1_ECX, 20)
#define X86_FEAT_X2APIC     X86_FEATURE(X86_FW_1_ECX, 21)
#define X86_FEAT_MOVBE      X86_FEATURE(X86_FW_1_ECX, 22)
#define X86_FEAT_POPCNT     X86_FEATURE(X86_FW_1_ECX, 23)
#define X86_FEAT_TSC_DEADLINE X86_FEATURE(X86_FW_1_ECX, 24)
#define X86_FEAT_XSAVE      X86_FEATURE(X86_FW_1_ECX, 26)
#define X86_FEAT_OSXSAVE    X86_FEATURE(X86_FW_1_ECX, 27)
#define X86_FEAT_HYPERVISOR X86_FEATURE(X86_FW_1_ECX, 31)
#define X86_FEAT_PCLMULQDQ  X86_FEATURE(X86_FW_1_ECX, 1)
#define X86_FEAT_FMA        X86_FEATURE(X86_FW_1_ECX, 12)
#define X86_FEAT_AES        X86_FEATURE(X86_FW_1_ECX, 25)
#define X86_FEAT_AVX        X86_FEATURE(X86_FW_1_ECX, 28)
#define X86_FEAT_F16C       X86_FEATURE(X86_FW_1_ECX, 29)
#define X86_FEAT_AVX2       X86_FEATURE(X86_FW_7_EBX, 5)
#define X86_FEAT_SYSCALL    X86_FEATURE(X86_FW_81_EDX, 11)
#define X86_FEAT_NX         X86_FEATURE(X86_FW_81_EDX, 20)
#define X86_FEAT_PDPE1GB    X86_FEATURE(X86_FW_81_EDX, 26)
#define X86_FEAT_RDTSCP     X86_FEATURE(X86_FW_81_EDX, 27)
#define X86_FEAT_LM         X86_FEATURE(X86_FW_81_EDX, 29)
#define X86_FEAT_LAHF_LM    X86_FEATURE(X86_FW_81_ECX, 0)
#define X86_FEAT_ABM        X86_FEATURE(X86_FW_81_ECX, 5)
#define X86_FEAT_FSGSBASE   X86_FEATURE(X86_FW_7_EBX, 0)
#define X86_FEAT_BMI1       X86_FEATURE(X86_FW_7_EBX, 3)
#define X86_FEAT_SMEP       X86_FEATURE(X86_FW_7_EBX, 7)
#define X86_FEAT_BMI2       X86_FEATURE(X86_FW_7_EBX, 8)
#define X86_FEAT_ERMS       X86_FEATURE(X86_FW_7_EBX, 9)
#define X86_FEAT_INVPCID    X86_FEATURE(X86_FW_7_EBX, 10)
#define X86_FEAT_SMAP       X86_FEATURE(X86_FW_7_EBX, 20)
#define X86_FEAT_UMIP       X86_FEATURE(X86_FW_7_ECX, 2)
#define X86_FEAT_PKU        X86_FEATURE(X86_FW_7_ECX, 3)
#define X86_FEAT_LA57       X86_FEATURE(X86_FW_7_ECX, 16)
#define X86_FEAT_RDPID      X86_FEATURE(X86_FW_7_ECX, 22)
#define X86_FEAT_ARCH_CAP   X86_FEATURE(X86_FW_7_EDX, 29)

/* ---------------------------------------------------------------- handlers */

/* excp.c */
void x86_op_int3(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_int_imm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_into(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_int1(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_iret(struct x86_cpu *cpu, const struct x86_insn *insn);

/* seg.c */
void x86_op_mov_rm_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);   /* 8C */
void x86_op_mov_sreg_rm(struct x86_cpu *cpu, const struct x86_insn *insn);   /* 8E */
void x86_op_push_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);     /* 06 0E 16 1E 0F A0 0F A8 */
void x86_op_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *insn);      /* 07 17 1F 0F A1 0F A9 */
void x86_op_load_far_ptr(struct x86_cpu *cpu, const struct x86_insn *insn);  /* C4 C5 0F B2 B4 B5 */
void x86_op_grp6(struct x86_cpu *cpu, const struct x86_insn *insn);          /* 0F 00 */
void x86_op_lar(struct x86_cpu *cpu, const struct x86_insn *insn);           /* 0F 02 */
void x86_op_lsl(struct x86_cpu *cpu, const struct x86_insn *insn);           /* 0F 03 */

/* ops_far.c */
void x86_op_jmpf_ptr(struct x86_cpu *cpu, const struct x86_insn *insn);      /* EA */
void x86_op_callf_ptr(struct x86_cpu *cpu, const struct x86_insn *insn);     /* 9A */
void x86_op_retf(struct x86_cpu *cpu, const struct x86_insn *insn);          /* CA CB */

/* excp.c (stack slots shared with ops_far.c's gate calls) */
/**
 * Linear address of the @size-byte slot at offset @off of a legacy
 * (non-64-bit) stack whose segment cache is @ss, after the expand-up or
 * expand-down limit check of SDM Vol. 3A 5.3 (an expand-down stack's upper
 * bound is 0xFFFF or 0xFFFFFFFF by its B bit). Raises #SS(@err) when any
 * byte is outside the limit. Used by interrupt delivery (excp.c) and gate
 * calls (ops_far.c). */
gva_t x86_legacy_stack_lin(struct x86_cpu *cpu, const struct x86_seg *ss, uint64_t off,
                           unsigned size, uint32_t err);

/* task.c (SDM Vol. 3A ch. 7; legacy protected mode only) */

/** What started a task switch (SDM Vol. 3A 7.3, Table 7-2: busy flag, NT, link). */
enum x86_task_source {
    X86_TASK_JMP,
    X86_TASK_CALL,
    X86_TASK_IRET,
    X86_TASK_INT,           /* exception or interrupt through a task gate */
};

/**
 * Far CALL (@call) or JMP to selector @sel whose descriptor @desc is a TSS
 * (available or busy) or a task gate: the Vol. 2A JMP/CALL TASK-GATE and
 * TASK-STATE-SEGMENT checks, then the task switch (EIP saved = next_rip).
 * #GP(@sel) in IA-32e mode.
 */
void x86_task_far(struct x86_cpu *cpu, uint16_t sel, uint64_t desc, bool call);

/**
 * Interrupt/exception through IDT task gate @gate (raw descriptor; its DPL
 * and P already checked), SDM Vol. 3A 6.12.2: switch to the gate's TSS
 * saving @return_rip, then push @error_code (4 bytes for a 32-bit TSS, 2 for
 * a 16-bit one) on the new task's stack if @has_error. @ext is the EXT bit.
 */
void x86_task_gate_event(struct x86_cpu *cpu, uint64_t gate, uint32_t ext, bool has_error,
                         uint32_t error_code, uint64_t return_rip);

/** IRET with EFLAGS.NT = 1 outside IA-32e mode: return to the previous-task link. */
void x86_task_iret(struct x86_cpu *cpu);

/* ops_io.c */
void x86_op_in(struct x86_cpu *cpu, const struct x86_insn *insn);            /* E4 E5 EC ED */
void x86_op_out(struct x86_cpu *cpu, const struct x86_insn *insn);           /* E6 E7 EE EF */

/* ops_ctrl.c */
void x86_op_grp7(struct x86_cpu *cpu, const struct x86_insn *insn);          /* 0F 01 */
void x86_op_mov_from_cr(struct x86_cpu *cpu, const struct x86_insn *insn);   /* 0F 20 */
void x86_op_mov_to_cr(struct x86_cpu *cpu, const struct x86_insn *insn);     /* 0F 22 */
void x86_op_mov_from_dr(struct x86_cpu *cpu, const struct x86_insn *insn);   /* 0F 21 */
void x86_op_mov_to_dr(struct x86_cpu *cpu, const struct x86_insn *insn);     /* 0F 23 */
void x86_op_clts(struct x86_cpu *cpu, const struct x86_insn *insn);          /* 0F 06 */
void x86_op_invpcid(struct x86_cpu *cpu, const struct x86_insn *insn);       /* 66 0F 38 82 */

/* cpuid.c */
/**
 * True if CPUID advertises @feature (an X86_FEAT_* index) for this vCPU's
 * model: instructions and CR4 bits that depend on a feature #UD / #GP when
 * it is not advertised, so the guest sees one consistent CPU.
 */
bool x86_has_feature(struct x86_cpu *cpu, unsigned feature);

/** XCR0 bits supported by this vCPU's model: 0 without XSAVE, else x87|SSE(|AVX) (ops_xsave.c). */
uint64_t x86_xcr0_supported(struct x86_cpu *cpu);
/** XGETBV / XSETBV (0F 01 D0 / D1, SDM Vol. 2): #UD/#GP rules included (ops_xsave.c). */
void x86_op_xgetbv(struct x86_cpu *cpu);
void x86_op_xsetbv(struct x86_cpu *cpu);
/** CPUID leaf 0DH sub-leaf @subleaf (SDM Vol. 2A Table 3-8), consistent with ops_xsave.c. */
void x86_cpuid_xsave_leaf(struct x86_cpu *cpu, uint32_t subleaf, uint32_t out[4]);
/** Fill cpu->cpuid_features for cpu->model (called lazily by x86_has_feature). */
void x86_cpuid_init_features(struct x86_cpu *cpu);

#endif
