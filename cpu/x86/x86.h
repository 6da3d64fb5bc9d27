/*
 * cpu/x86/x86.h - x86-64 guest core: the per-vCPU state and the internal
 * interfaces between the core's files (private to cpu/).
 *
 * File map (one instruction group per file, STYLE 14):
 *   decode.c/h      decoder (opcode maps, ModRM/SIB, prefixes)
 *   cpu.c           vCPU object, reset, run loop, interrupt acceptance
 *   block.c         predecoded block cache keyed by guest-physical RIP + mode
 *   mem.c           segmentation, software-TLB fast path, slow path, MMIO
 *   flags.c         lazy arithmetic flags (CC_OP + operands, like QEMU TCG)
 *   excp.c          exception/interrupt delivery (IVT, IDT, IST, #DF, triple fault)
 *   seg.c           segment register loads and descriptor checks
 *   cpuid.c msr.c   CPUID leaves per model, RDMSR/WRMSR
 *   ops_alu.c       integer arithmetic/logic/shift/bit/mov/stack
 *   ops_branch.c    near jumps, calls, returns, loops, Jcc/SETcc/CMOVcc users
 *   ops_string.c    MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS with REP
 *   ops_system.c    privileged and system instructions (CR/DR/MSR/descriptor
 *                   tables/INT/IRET/SYSCALL/far transfers/port I/O/HLT/CPUID)
 *   ops_x87.c       x87 FPU
 *   ops_sse.c       SSE/SSE2/SSE3/SSSE3/SSE4, FXSAVE/FXRSTOR, fences
 *
 * Conventions every handler follows:
 *  - Before a handler runs, cpu->rip is the instruction's address and
 *    cpu->next_rip = rip + len. A handler that transfers control writes
 *    cpu->next_rip; it never writes cpu->rip. The run loop commits
 *    rip = next_rip after the handler returns.
 *  - Faults are precise: a handler reads all its memory operands and performs
 *    every check that can fault before it writes any register; a store that
 *    can fault comes before register updates (PUSH writes memory, then RSP).
 *    Raising an exception longjmps out of the handler (x86_raise*), so guest
 *    state is that before the instruction (SDM Vol. 3A 6.5 "fault").
 *  - A handler that changes state the current block was decoded under (CS,
 *    CR0/CR3/CR4/EFER, CPL, IF for the interrupt window, code bytes) sets
 *    cpu->exit_block so the loop leaves the block after it.
 */
#ifndef QTEMU_CPU_X86_X86_H
#define QTEMU_CPU_X86_X86_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/vcpu.h"
#include "cpu/x86/decode.h"
#include "mmu/mmu.h"
#include "util/compiler.h"

/* ---------------------------------------------------------------- constants */

/* Exception vectors (SDM Vol. 3A Table 6-1). */
enum x86_exception {
    X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3, X86_EXC_OF = 4,
    X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7, X86_EXC_DF = 8, X86_EXC_TS = 10,
    X86_EXC_NP = 11, X86_EXC_SS = 12, X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16,
    X86_EXC_AC = 17, X86_EXC_MC = 18, X86_EXC_XM = 19, X86_EXC_VE = 20, X86_EXC_CP = 21,
};

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define X86_FLAG_CF   (1ull << 0)
#define X86_FLAG_FIXED1 (1ull << 1)
#define X86_FLAG_PF   (1ull << 2)
#define X86_FLAG_AF   (1ull << 4)
#define X86_FLAG_ZF   (1ull << 6)
#define X86_FLAG_SF   (1ull << 7)
#define X86_FLAG_TF   (1ull << 8)
#define X86_FLAG_IF   (1ull << 9)
#define X86_FLAG_DF   (1ull << 10)
#define X86_FLAG_OF   (1ull << 11)
#define X86_FLAG_IOPL (3ull << 12)
#define X86_FLAG_NT   (1ull << 14)
#define X86_FLAG_RF   (1ull << 16)
#define X86_FLAG_VM   (1ull << 17)
#define X86_FLAG_AC   (1ull << 18)
#define X86_FLAG_VIF  (1ull << 19)
#define X86_FLAG_VIP  (1ull << 20)
#define X86_FLAG_ID   (1ull << 21)
#define X86_FLAGS_ARITH (X86_FLAG_CF | X86_FLAG_PF | X86_FLAG_AF | X86_FLAG_ZF | X86_FLAG_SF | X86_FLAG_OF)

/* Control register bits (SDM Vol. 3A 2.5). */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_VME (1ull << 0)
#define X86_CR4_PVI (1ull << 1)
#define X86_CR4_TSD (1ull << 2)
#define X86_CR4_DE  (1ull << 3)
#define X86_CR4_PSE (1ull << 4)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_MCE (1ull << 6)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_PCE (1ull << 8)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP (1ull << 11)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_PCIDE (1ull << 17)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_CR4_PKE (1ull << 22)
/* DR6 / DR7 bits (SDM Vol. 3B 18.2.3, 18.2.4). */
#define X86_DR6_BD  (1ull << 13)   /* general detect */
#define X86_DR6_BS  (1ull << 14)   /* single step */
#define X86_DR6_BT  (1ull << 15)   /* task switch (TSS T flag) */
#define X86_DR7_GD  (1ull << 13)   /* general detect enable */
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* MSR numbers (SDM Vol. 4). */
#define MSR_IA32_TSC            0x10
#define MSR_IA32_APIC_BASE      0x1b
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_PAT            0x277
#define MSR_IA32_TSC_DEADLINE   0x6e0
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SFMASK              0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103

/* ---------------------------------------------------------------- state */

/**
 * A segment register with its hidden descriptor cache (SDM Vol. 3A 3.4.3).
 * @attr packs descriptor bits 40..47 (type, S, DPL, P) in bits 0..7 and bits
 * 52..55 (AVL, L, D/B, G) in bits 12..15, like VMX access rights.
 * @limit is the byte-granular limit after applying G.
 */
struct x86_seg {
    uint64_t base;
    uint32_t limit;
    uint16_t sel;
    uint16_t attr;
};
#define X86_SEG_ATTR_TYPE(a) ((a) & 0xf)
#define X86_SEG_ATTR_S       0x0010u
#define X86_SEG_ATTR_DPL(a)  (((a) >> 5) & 3)
#define X86_SEG_ATTR_P       0x0080u
#define X86_SEG_ATTR_L       0x2000u
#define X86_SEG_ATTR_DB      0x4000u
#define X86_SEG_ATTR_G       0x8000u

/** Descriptor-table register (GDTR/IDTR). */
struct x86_dtr {
    uint64_t base;
    uint16_t limit;
};

/** An x87 register: host long double (80-bit extended on x86-64 hosts). */
union x86_fpreg {
    long double f;
    struct {
        uint64_t mant;       /* MMX registers alias the significand */
        uint16_t sign_exp;
    } raw;
    uint8_t bytes[16];
};

/** An XMM register in every view SSE needs. */
union x86_xmm {
    uint8_t u8[16];
    uint16_t u16[8];
    uint32_t u32[4];
    uint64_t u64[2];
    int8_t s8[16];
    int16_t s16[8];
    int32_t s32[4];
    int64_t s64[2];
    float f32[4];
    double f64[2];
};

/**
 * Lazy arithmetic flags (DESIGN "Flags are lazy"): the last flag-setting
 * operation's kind, size and operands; CF/PF/AF/ZF/SF/OF are computed only when
 * read. CC_OP_EFLAGS means they are already materialised in cc.src1.
 */
enum x86_cc_op {
    CC_OP_EFLAGS = 0,  /* src1 holds the six flags as RFLAGS bits */
    CC_OP_ADD,         /* res = src1 + src2 */
    CC_OP_ADC,         /* res = src1 + src2 + carry_in (carry_in in cc.aux) */
    CC_OP_SUB,         /* res = src1 - src2 (also CMP, NEG with src1 = 0) */
    CC_OP_SBB,         /* res = src1 - src2 - borrow_in (cc.aux) */
    CC_OP_LOGIC,       /* AND/OR/XOR/TEST: CF=OF=0, AF=0 */
    CC_OP_INC,         /* res = src1 + 1, CF preserved in cc.aux */
    CC_OP_DEC,         /* res = src1 - 1, CF preserved in cc.aux */
    CC_OP_SHL,         /* src1 = value shifted by (count - 1), res = result */
    CC_OP_SHR,
    CC_OP_SAR,
    CC_OP_MUL,         /* src1 = high half (CF=OF= src1 != 0) */
    CC_OP_IMUL,        /* src1 = 1 if the product overflowed */
    CC_OP_COUNT
};

struct x86_cc {
    uint64_t res, src1, src2, aux;
    uint8_t op;        /* enum x86_cc_op */
    uint8_t size;      /* operand size in bytes */
};

struct x86_block_cache;

/**
 * The whole architectural state of one x86-64 vCPU plus the interpreter's
 * bookkeeping. One struct per vCPU; it can be saved and restored as a unit
 * (pointers - bcache, the vcpu's mem/bus - are rebuilt on restore).
 */
struct x86_cpu {
    struct vcpu vcpu;               /* must be first */

    /* General state */
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t next_rip;              /* see conventions above */
    uint64_t rflags;                /* all bits except X86_FLAGS_ARITH (those are in cc) */
    struct x86_cc cc;

    /* Segmentation and descriptor tables */
    struct x86_seg seg[X86_SREG_COUNT];
    struct x86_seg ldtr, tr;
    struct x86_dtr gdtr, idtr;

    /* Control, debug and extended control registers */
    uint64_t cr0, cr2, cr3, cr4, efer, xcr0;
    uint64_t dr[8];
    uint8_t cpl;                    /* current privilege level (= CS.DPL / SS.DPL) */
    uint8_t code_mode;              /* enum x86_code_mode, from CS.L/CS.D/EFER.LMA/CR0.PE */
    bool a20_enabled;

    /* MSRs the core owns */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat, tsc_aux, misc_enable;
    int64_t tsc_offset;             /* TSC = clock-derived count + tsc_offset */
    uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];

    /* x87 FPU (SDM Vol. 1 ch. 8) */
    union x86_fpreg st[8];          /* physical registers R0..R7; ST(i) = st[(top + i) & 7] */
    uint16_t fcw, fsw, ftw;         /* control, status (TOP in fsw bits 11..13), full tag word */
    uint16_t fop;
    uint64_t fip, fdp;
    uint16_t fcs, fds;

    /* SSE (SDM Vol. 1 ch. 10-12) */
    union x86_xmm xmm[16];
    uint32_t mxcsr;
    /* AVX (SDM Vol. 1 14.1): YMMi = ymmh[i]:xmm[i]. Legacy SSE leaves ymmh
     * unchanged, VEX.128 zeroes it (SDM Vol. 1 14.1.2). */
    union x86_xmm ymmh[16];

    /* Interrupt and event state */
    bool halted;
    bool intr_pin;                  /* INTR level from the interrupt controller */
    bool nmi_pending;
    bool nmi_blocked;               /* from NMI delivery until the next IRET */
    bool init_pending;
    int sipi_vector;                /* -1 if none pending */
    bool wait_for_sipi;             /* AP after INIT */
    uint64_t intr_shadow_rip;       /* STI/MOV SS shadow: no interrupt before this RIP retires */
    bool intr_shadow;

    /* Fault unwinding: x86_raise* longjmp here (one mechanism for all faults). */
    jmp_buf *fault_jmp;
    int exc_vector;                 /* pending exception recorded by x86_raise* */
    uint32_t exc_error;
    bool exc_has_error;
    int exc_nesting;                /* for #DF / triple fault (SDM Vol. 3A Table 6-5) */
    bool shutdown_requested;        /* triple fault: the run loop returns VCPU_EXIT_SHUTDOWN */

    /* Software TLB: [0] supervisor, [1] user (CPL 3) */
    struct tlb tlb[2];

    /* Debugging: breakpoints/watchpoints/single-step (cpu.c, mem.c) */
#define X86_MAX_DEBUG_POINTS 32
    struct x86_debug_point {
        gva_t addr;
        uint64_t len;
        uint8_t kind;               /* enum vcpu_bp_kind */
    } dbg_points[X86_MAX_DEBUG_POINTS];
    int n_dbg_points;
    int n_watch;                    /* how many of them are watchpoints */
    bool dbg_single_step;
    bool dbg_active;                /* any of the above: the run loop checks per instruction */
    bool dbg_hit;                   /* a watchpoint fired during this instruction */
    bool dbg_skip_bp;               /* resume: do not stop at a breakpoint on the first insn */
    bool ac_check;                  /* CPL 3 && CR0.AM && RFLAGS.AC: alignment checks on
                                     * (user TLB entries carry TLB_FLAG_CHECK), cpu.c */
    /* Architectural debug registers (SDM Vol. 3B 18.2), DR7 decoded by
     * x86_dr_update (cpu.c): bit n = DRn enabled (DR7 Ln or Gn) with that R/W. */
    uint8_t dr_insn_bps;            /* R/W = 00: instruction breakpoints (run loop steps) */
    uint8_t dr_data_bps;            /* R/W = 01 / 11: data breakpoints (TLB_FLAG_WATCH pages) */
    uint8_t dr_io_bps;              /* R/W = 10: I/O breakpoints (only with CR4.DE) */
    uint8_t dr_hits;                /* B0-B3 of data / I/O breakpoints hit by the current
                                     * instruction: #DB trap once it completes */
    uint64_t dr_hit_rip;            /* RIP of the instruction that recorded dr_hits */
    bool task_trap;                 /* a task switch loaded a TSS with T = 1: #DB (DR6.BT)
                                     * before the new task's first instruction (cpu.c) */
    bool watch_any;                 /* n_watch || dr_data_bps: slow-path accesses are checked */

    /* Interpreter */
    struct x86_block_cache *bcache;
    bool exit_block;                /* handler: leave the current block after this insn */
    enum x86_cpu_model model;
    uint64_t cpuid_features[8];     /* cached CPUID bits per model, see cpuid.c */
};

static inline struct x86_cpu *x86_cpu_of(struct vcpu *v) { return (struct x86_cpu *)v; }

/* ---------------------------------------------------------------- handlers */

/** An instruction handler: executes one decoded instruction. */
typedef void (*x86_exec_fn)(struct x86_cpu *cpu, const struct x86_insn *insn);

/*
 * Each instruction-group file fills in the handlers for the opcodes it owns
 * (table indexed by insn.op). A handler for a group opcode dispatches on
 * ModRM /digit and on insn.mprefix itself; for an encoding it does not
 * implement it raises #UD (and logs LOG_UNIMP when the encoding is valid).
 */
void x86_ops_alu_init(x86_exec_fn *table);
void x86_ops_branch_init(x86_exec_fn *table);
void x86_ops_string_init(x86_exec_fn *table);
void x86_ops_system_init(x86_exec_fn *table);
void x86_ops_x87_init(x86_exec_fn *table);
void x86_ops_sse_init(x86_exec_fn *table);
/** VEX-encoded instructions (AVX, AVX2, FMA, F16C, BMI1/2, VEX AES/PCLMUL): their own table. */
void x86_ops_vex_init(x86_exec_fn *vex_table);
/** 0F C7 /4 with a memory operand: XSAVEC (ops_xsave.c; #UD unless CR4.OSXSAVE). */
void x86_op_xsavec(struct x86_cpu *cpu, const struct x86_insn *insn);

/** Handler for every opcode nobody registered: #UD (+ LOG_UNIMP). */
void x86_op_ud(struct x86_cpu *cpu, const struct x86_insn *insn);

/* ---------------------------------------------------------------- flags (flags.c) */

/** Record a flag-setting operation (lazy). */
static inline void x86_set_cc(struct x86_cpu *cpu, enum x86_cc_op op, unsigned size,
                              uint64_t res, uint64_t src1, uint64_t src2)
{
    cpu->cc.op = (uint8_t)op;
    cpu->cc.size = (uint8_t)size;
    cpu->cc.res = res;
    cpu->cc.src1 = src1;
    cpu->cc.src2 = src2;
}

/** The six arithmetic flags as RFLAGS bits, computed from the lazy state. */
uint64_t x86_arith_flags(struct x86_cpu *cpu);

/** Full RFLAGS value (bit 1 always set). */
uint64_t x86_get_rflags(struct x86_cpu *cpu);

/**
 * Set all of RFLAGS to @value (arithmetic flags are materialised). The caller
 * applies the privilege rules of POPF/IRET (which bits may change).
 */
void x86_set_rflags(struct x86_cpu *cpu, uint64_t value);

/** Set only the arithmetic flags from @value's RFLAGS bits (SAHF, POPF helper). */
void x86_set_arith_flags(struct x86_cpu *cpu, uint64_t value);

/** True if condition code @cc (0..15, SDM Vol. 2 Appendix B.1) holds. */
bool x86_cond(struct x86_cpu *cpu, unsigned cc);

/** CF as 0/1. */
unsigned x86_get_cf(struct x86_cpu *cpu);

/* ---------------------------------------------------------------- registers */

/** Mask of @size bytes (1, 2, 4, 8). */
static inline uint64_t x86_size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/**
 * Read general register @reg (0..15) at @size bytes. For size 1 without REX,
 * registers 4..7 are AH, CH, DH, BH (SDM Vol. 2A 3.1.1.1).
 */
static inline uint64_t x86_reg_read(struct x86_cpu *cpu, unsigned reg, unsigned size, bool rex)
{
    if (size == 1 && !rex && reg >= 4 && reg < 8)
        return (cpu->gpr[reg - 4] >> 8) & 0xff;
    return cpu->gpr[reg] & x86_size_mask(size);
}

/**
 * Write general register @reg at @size bytes: 8/16-bit writes merge, 32-bit
 * writes zero-extend to 64 (SDM Vol. 1 3.4.1.1).
 */
static inline void x86_reg_write(struct x86_cpu *cpu, unsigned reg, unsigned size, bool rex,
                                 uint64_t value)
{
    switch (size) {
    case 1:
        if (!rex && reg >= 4 && reg < 8)
            cpu->gpr[reg - 4] = (cpu->gpr[reg - 4] & ~0xff00ull) | ((value & 0xff) << 8);
        else
            cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffull) | (value & 0xff);
        break;
    case 2:
        cpu->gpr[reg] = (cpu->gpr[reg] & ~0xffffull) | (value & 0xffff);
        break;
    case 4:
        cpu->gpr[reg] = (uint32_t)value;
        break;
    default:
        cpu->gpr[reg] = value;
        break;
    }
}

/** True if the instruction has a REX prefix (selects SPL/BPL/SIL/DIL byte registers). */
static inline bool x86_has_rex(const struct x86_insn *insn)
{
    return insn->flags & X86_INSN_REX;
}

/* ---------------------------------------------------------------- memory (mem.c) */

/**
 * Effective address (offset within the segment) of @insn's memory operand:
 * base + (index << scale) + disp, RIP-relative from cpu->next_rip, truncated
 * to insn->addrsize (SDM Vol. 1 3.7.5).
 */
uint64_t x86_ea(struct x86_cpu *cpu, const struct x86_insn *insn);

/**
 * Segmentation (SDM Vol. 3A 3.4, 5.3): linear address of @size bytes at
 * @offset in segment @sreg for @access. In 64-bit mode only FS/GS bases apply
 * and the result must be canonical (#GP(0), or #SS(0) for SS); otherwise the
 * limit and type are checked (#GP(0) / #SS(0)).
 */
gva_t x86_linear(struct x86_cpu *cpu, int sreg, uint64_t offset, unsigned size,
                 enum mmu_access access);

/** Linear-address loads/stores through the TLB; may raise #PF. Any alignment. */
uint8_t  x86_read8(struct x86_cpu *cpu, gva_t lin);
uint16_t x86_read16(struct x86_cpu *cpu, gva_t lin);
uint32_t x86_read32(struct x86_cpu *cpu, gva_t lin);
uint64_t x86_read64(struct x86_cpu *cpu, gva_t lin);
void x86_write8(struct x86_cpu *cpu, gva_t lin, uint8_t value);
void x86_write16(struct x86_cpu *cpu, gva_t lin, uint16_t value);
void x86_write32(struct x86_cpu *cpu, gva_t lin, uint32_t value);
void x86_write64(struct x86_cpu *cpu, gva_t lin, uint64_t value);

/** Read @size (1,2,4,8) bytes at linear @lin. */
uint64_t x86_read_sized(struct x86_cpu *cpu, gva_t lin, unsigned size);
/** Write @size (1,2,4,8) bytes at linear @lin. */
void x86_write_sized(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size);

/**
 * Check that [@lin, @lin + @len) is writable now (fills the TLB), raising #PF
 * if not. Used before multi-part stores so that a fault leaves no partial write.
 */
void x86_probe_write(struct x86_cpu *cpu, gva_t lin, unsigned len);
/** x86_probe_write for an implicit supervisor-mode store (x86_write_sys). */
void x86_probe_write_sys(struct x86_cpu *cpu, gva_t lin, unsigned len);

/** Copy @len bytes from/to linear memory (FXSAVE, descriptors). May raise #PF. */
void x86_read_bytes(struct x86_cpu *cpu, gva_t lin, void *buf, unsigned len);
void x86_write_bytes(struct x86_cpu *cpu, gva_t lin, const void *buf, unsigned len);

/**
 * Implicit supervisor-mode accesses (GDT/LDT/IDT/TSS, SDM Vol. 3A 4.6.1):
 * checked as CPL 0 regardless of the current CPL.
 */
uint64_t x86_read_sys(struct x86_cpu *cpu, gva_t lin, unsigned size);
void x86_write_sys(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size);

/** Load @size bytes of @insn's memory operand (segment + EA). */
uint64_t x86_mem_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size);
/** Store @size bytes to @insn's memory operand. */
void x86_mem_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size, uint64_t value);
/** Linear address of @insn's memory operand for @size bytes and @access. */
gva_t x86_mem_linear(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                     enum mmu_access access);

/** ModRM r/m operand: register (mod == 3) or memory, @size bytes. */
uint64_t x86_rm_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size);
void x86_rm_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size, uint64_t value);

/**
 * Stack: push/pop @size bytes through SS with the stack address size
 * (64-bit mode: 8; else SS.B ? 4 : 2). Push stores before RSP changes.
 */
void x86_push(struct x86_cpu *cpu, uint64_t value, unsigned size);
uint64_t x86_pop(struct x86_cpu *cpu, unsigned size);
/** Stack address size in bytes (2, 4 or 8). */
unsigned x86_stack_size(struct x86_cpu *cpu);

/**
 * Fetch up to @len code bytes at linear @lin for the decoder; stops at the
 * end of the page. Returns the number of bytes copied (>= 1) and the
 * guest-physical address of @lin in *gpa. Raises #PF if @lin is not
 * executable. Marks the page as code (SMC tracking).
 */
unsigned x86_fetch_code(struct x86_cpu *cpu, gva_t lin, uint8_t *buf, unsigned len, gpa_t *gpa);

/** Flush the TLBs: after CR3 writes (@keep_global), CR0/CR4 paging changes (all). */
void x86_tlb_flush(struct x86_cpu *cpu, bool keep_global);
/** INVLPG: flush the page of @lin in both TLBs. */
void x86_tlb_flush_page(struct x86_cpu *cpu, gva_t lin);
/**
 * The page at @page_gpa was just marked as code by @cpu: take away the fast
 * write path for it in the TLBs of every vCPU sharing @cpu's guest memory,
 * so a store from any of them invalidates the blocks (cpu.c, SMP and SMC).
 */
void x86_code_page_marked(struct x86_cpu *cpu, gpa_t page_gpa);

/**
 * Watchpoint check for an access of @size bytes at @lin (slow path only: pages
 * with watchpoints carry TLB_FLAG_WATCH so they never take the fast path).
 * Records cpu->vcpu.debug_event and sets dbg_hit/exit_block on a hit.
 */
void x86_check_watch(struct x86_cpu *cpu, gva_t lin, unsigned size, bool write);
/** True if a watchpoint or an armed DR0-DR3 data breakpoint overlaps the page at @page. */
bool x86_page_has_watch(const struct x86_cpu *cpu, gva_t page);
/**
 * Re-decode DR7 and DR0-DR3 after a write (SDM Vol. 3B 18.2.4): the armed
 * instruction / data / I/O breakpoint masks, and a TLB flush when the set of
 * data-breakpoint pages may have changed (cpu.c).
 */
void x86_dr_update(struct x86_cpu *cpu);
/**
 * I/O breakpoint check for an access of @size bytes at @port (SDM Vol. 3B
 * 18.3.1.2, R/W = 10 with CR4.DE): records the hit in dr_hits (cpu.c).
 */
void x86_check_io_bp(struct x86_cpu *cpu, uint16_t port, unsigned size);

/** Guest-physical MMIO/RAM access for the slow path (size 1..8). */
uint64_t x86_phys_read(struct x86_cpu *cpu, gpa_t gpa, unsigned size);
void x86_phys_write(struct x86_cpu *cpu, gpa_t gpa, uint64_t value, unsigned size);

/* ---------------------------------------------------------------- events (excp.c) */

/** Raise exception @vector without an error code; longjmps to the run loop. */
qt_noreturn void x86_raise(struct x86_cpu *cpu, int vector);
/** Raise exception @vector with @error_code (#DF, #TS, #NP, #SS, #GP, #PF, #AC). */
qt_noreturn void x86_raise_err(struct x86_cpu *cpu, int vector, uint32_t error_code);
/** Raise #PF for @gva with @error_code; sets CR2. */
qt_noreturn void x86_raise_pf(struct x86_cpu *cpu, gva_t gva, uint32_t error_code);
/** #GP(0): the most common one. */
qt_noreturn void x86_raise_gp0(struct x86_cpu *cpu);

/** What kind of event is being delivered (affects privilege checks and pushes). */
enum x86_event_kind {
    X86_EVT_EXCEPTION = 0,   /* fault/trap from the CPU */
    X86_EVT_EXTINT,          /* external interrupt (INTR) */
    X86_EVT_NMI,
    X86_EVT_SOFTINT,         /* INT n: gate DPL checked against CPL */
    X86_EVT_SOFTEXC,         /* INT3 / INTO: DPL checked too, vector 3/4 */
    X86_EVT_ICEBP,           /* INT1 (F1) */
};

/**
 * Deliver event @vector through the IVT (real mode) or IDT (protected/long
 * mode, SDM Vol. 3A 6.12, 6.14; IST and stack switching included). The
 * pushed return address is @return_rip. On success cpu->rip and
 * cpu->next_rip are the handler's entry. Faults during delivery raise (the
 * run loop combines them into #DF / triple fault per SDM Vol. 3A Table 6-5).
 */
void x86_deliver_event(struct x86_cpu *cpu, int vector, enum x86_event_kind kind,
                       bool has_error, uint32_t error_code, uint64_t return_rip);

/**
 * Deliver the exception recorded in cpu->exc_* (by x86_raise*) after the run
 * loop caught the longjmp: combines with an exception already being delivered
 * per SDM Vol. 3A Table 6-5 (benign / contributory / page fault -> #DF; a
 * fault while delivering #DF -> triple fault: sets shutdown_requested).
 * Delivery itself may raise again (longjmp to the run loop, which calls this
 * again with exc_nesting > 0). Resets exc_nesting to 0 once delivered.
 */
void x86_handle_exception(struct x86_cpu *cpu);

/* ---------------------------------------------------------------- system (ops_system.c, seg.c, msr.c, cpuid.c) */

/**
 * Load segment register @sreg with selector @sel following the protected-mode
 * rules (SDM Vol. 3A 5.5-5.6, Vol. 2 MOV/POP Sreg): #GP/#SS/#NP with the
 * selector as error code. In real/vm86 mode base = sel << 4.
 */
void x86_load_seg(struct x86_cpu *cpu, int sreg, uint16_t sel);

/** Recompute cpu->code_mode and cpu->cpl after CS, CR0 or EFER changed; sets exit_block. */
void x86_update_mode(struct x86_cpu *cpu);

/** Far transfers for FF /3 and FF /5 (memory operand m16:16/32/64). */
void x86_op_callf_m(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_jmpf_m(struct x86_cpu *cpu, const struct x86_insn *insn);

/**
 * Port I/O with the protection check (IOPL vs CPL, then the TSS I/O
 * permission bitmap, SDM Vol. 1 19.5): #GP(0) if denied.
 */
uint32_t x86_io_in(struct x86_cpu *cpu, uint16_t port, unsigned size);
void x86_io_out(struct x86_cpu *cpu, uint16_t port, uint32_t value, unsigned size);

/** CPUID leaf @leaf/@subleaf for this vCPU's model (cpuid.c). */
void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/** RDMSR/WRMSR; false means the MSR does not exist or the value is invalid (-> #GP(0)). */
bool x86_msr_read(struct x86_cpu *cpu, uint32_t msr, uint64_t *value);
bool x86_msr_write(struct x86_cpu *cpu, uint32_t msr, uint64_t value);

/** Current TSC value (virtual clock based, plus tsc_offset). */
uint64_t x86_rdtsc(struct x86_cpu *cpu);

/** TSC frequency advertised to the guest (CPUID 0x15/0x16 and the kernel's calibration). */
#define X86_TSC_HZ 2000000000ull

/** Set CR0/CR3/CR4/EFER with the architectural checks; #GP(0) on invalid values. */
void x86_write_cr0(struct x86_cpu *cpu, uint64_t value);
void x86_write_cr3(struct x86_cpu *cpu, uint64_t value);
void x86_write_cr4(struct x86_cpu *cpu, uint64_t value);
bool x86_write_efer(struct x86_cpu *cpu, uint64_t value);

/* ---------------------------------------------------------------- FPU/SSE (ops_x87.c, ops_sse.c) */

/** FNINIT/reset state of x87 and SSE (SDM Vol. 1 8.1.x, Table 9-1). */
void x86_fpu_reset(struct x86_cpu *cpu);

#endif
