/*
 * cpu/vcpu.h - the one interface the rest of qtemu sees of a virtual CPU.
 *
 * Owns: struct vcpu (backend-independent), its ops table, exit reasons, and
 * the register view used by the frontend, debugger and gdbstub. Backends
 * (x86 interpreter today; JIT and KVM later) implement the ops. Nothing
 * outside cpu/ includes a guest-core header.
 */
#ifndef QTEMU_CPU_VCPU_H
#define QTEMU_CPU_VCPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/bus.h"
#include "mmu/mmu.h"

/** Why vcpu_run() returned. */
enum vcpu_exit {
    VCPU_EXIT_BUDGET = 0,   /* ran its instruction budget, or was kicked */
    VCPU_EXIT_HALT,         /* HLT with nothing pending: main loop may sleep */
    VCPU_EXIT_SHUTDOWN,     /* triple fault / shutdown cycle: machine resets */
    VCPU_EXIT_DEBUG,        /* breakpoint, watchpoint or single-step finished */
    VCPU_EXIT_INTERNAL,     /* emulator limitation; see last_error */
};

/** Bits of vcpu.attention (STYLE 2): polled at block boundaries. */
enum vcpu_attention {
    VCPU_ATTN_KICK  = 1u << 0,   /* return to the main loop */
    VCPU_ATTN_IRQ   = 1u << 1,   /* an interrupt pin changed */
    VCPU_ATTN_FLUSH = 1u << 2,   /* code invalidated / TLB flush requested */
};

/** Register view for the frontend, debugger and gdbstub (x86-64 layout). */
struct vcpu_regs_x86 {
    uint64_t gpr[16];        /* RAX RCX RDX RBX RSP RBP RSI RDI R8..R15 */
    uint64_t rip, rflags;
    uint16_t seg_sel[6];     /* ES CS SS DS FS GS */
    uint64_t seg_base[6];
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t fs_base, gs_base, kernel_gs_base;
    /* Added for the gdbstub's target description (get_regs fills them;
     * set_regs writes back the x87/SSE state). */
    uint32_t seg_limit[6];   /* byte-granular limits, ES CS SS DS FS GS */
    uint16_t seg_attr[6];    /* descriptor attributes: type|S|DPL|P in 7:0, AVL|L|D/B|G in 15:12 */
    uint8_t st[8][10];       /* x87 ST(0)..ST(7) (stack order), 80-bit extended, little-endian */
    uint16_t fcw, fsw, ftw;  /* control, status (with TOP), full (2-bit) tag word */
    uint16_t fop;            /* last x87 opcode (11 bits) */
    uint64_t fip, fdp;       /* last x87 instruction / data pointer offsets */
    uint16_t fcs, fds;       /* and their selectors */
    uint8_t xmm[16][16];     /* XMM0..XMM15, little-endian */
    uint32_t mxcsr;
};

/** Breakpoint and watchpoint kinds; the numbers match gdb's Z0..Z4 packets. */
enum vcpu_bp_kind {
    VCPU_BP_SW = 0,          /* software breakpoint (no guest memory is patched) */
    VCPU_BP_HW = 1,          /* hardware breakpoint: same effect in an emulator */
    VCPU_WP_WRITE = 2,
    VCPU_WP_READ = 3,
    VCPU_WP_ACCESS = 4,
};

/** Why vcpu_run() returned VCPU_EXIT_DEBUG (valid until the next run). */
struct vcpu_debug_event {
    enum { VCPU_DEBUG_STEP, VCPU_DEBUG_BREAKPOINT, VCPU_DEBUG_WATCHPOINT } reason;
    enum vcpu_bp_kind kind;  /* for breakpoints/watchpoints: which kind hit */
    gva_t addr;              /* breakpoint address, or the watched data address accessed */
};

/** What the debugger needs to know about one instruction (from the CPU's decoder). */
struct vcpu_insn_info {
    unsigned len_bytes;
    bool is_call;            /* "next" steps over these */
    bool is_branch;
};

struct vcpu;

/** Backend operations. Every backend implements all of them. */
struct vcpu_ops {
    /** Run up to @budget_insns instructions. */
    enum vcpu_exit (*run)(struct vcpu *vcpu, uint64_t budget_insns);
    /** Architectural reset (power-on or INIT). */
    void (*reset)(struct vcpu *vcpu);
    void (*get_regs)(struct vcpu *vcpu, struct vcpu_regs_x86 *regs);
    void (*set_regs)(struct vcpu *vcpu, const struct vcpu_regs_x86 *regs);
    /** Read/write guest-virtual memory through the current page tables. 0 or -EFAULT. */
    int (*read_virt)(struct vcpu *vcpu, gva_t gva, void *buf, uint64_t len);
    int (*write_virt)(struct vcpu *vcpu, gva_t gva, const void *buf, uint64_t len);
    /** Print a one-screen state dump (registers, mode) for -d cpu / errors. */
    void (*dump)(struct vcpu *vcpu, FILE *out);
    /**
     * Insert a breakpoint (execution at @addr) or watchpoint ([@addr,
     * @addr+@len) accessed). Returns 0, -ENOSPC when the table is full,
     * -EINVAL for a bad kind/length. Inserting an existing one is a no-op.
     */
    int (*insert_bp)(struct vcpu *vcpu, enum vcpu_bp_kind kind, gva_t addr, uint64_t len);
    /** Remove a breakpoint/watchpoint. Returns 0 or -ENOENT. */
    int (*remove_bp)(struct vcpu *vcpu, enum vcpu_bp_kind kind, gva_t addr, uint64_t len);
    /** Remove every breakpoint and watchpoint. */
    void (*remove_all_bp)(struct vcpu *vcpu);
    /**
     * Single-step mode: run() executes exactly one instruction (delivering a
     * pending interrupt counts as none) and returns VCPU_EXIT_DEBUG/STEP.
     */
    void (*set_single_step)(struct vcpu *vcpu, bool on);
    /** Decode the instruction at guest-virtual @pc. 0, or -EFAULT / -EINVAL (undecodable). */
    int (*insn_info)(struct vcpu *vcpu, gva_t pc, struct vcpu_insn_info *out);
    /**
     * Translate @gva with the current page tables (no fault, no A/D update).
     * 0 and *gpa, or -EFAULT if not mapped.
     */
    int (*translate)(struct vcpu *vcpu, gva_t gva, gpa_t *gpa);
    /** Print the valid software-TLB entries (debugger "tlb" command). */
    void (*dump_tlb)(struct vcpu *vcpu, FILE *out);
    void (*destroy)(struct vcpu *vcpu);
};

/** A virtual CPU. Backends embed it as the first member of their state. */
struct vcpu {
    const struct vcpu_ops *ops;
    int index;
    _Atomic uint32_t attention;
    struct irq_line pins;          /* CPU_PIN_* inputs, driven by the interrupt controller */
    struct intc_port intc;         /* installed by the board */
    struct guest_mem *mem;
    struct bus *bus;
    uint64_t insns_retired;
    char last_error[160];          /* set with VCPU_EXIT_INTERNAL */
    struct vcpu_debug_event debug_event;  /* set with VCPU_EXIT_DEBUG */
};

/** Run @vcpu for at most @budget_insns instructions. */
static inline enum vcpu_exit vcpu_run(struct vcpu *vcpu, uint64_t budget_insns)
{
    return vcpu->ops->run(vcpu, budget_insns);
}

/** Ask @vcpu to return to the main loop at its next block boundary. */
static inline void vcpu_kick(struct vcpu *vcpu)
{
    atomic_fetch_or_explicit(&vcpu->attention, VCPU_ATTN_KICK, memory_order_relaxed);
}

/** CPU models for -cpu. */
enum x86_cpu_model {
    X86_CPU_QEMU64 = 0,     /* QEMU's qemu64 baseline */
    X86_CPU_MAX,            /* everything implemented */
};

/**
 * Create an x86-64 interpreter vCPU with index @index on @mem and @bus.
 * The board installs vcpu->intc afterwards. Returns NULL on allocation failure.
 */
struct vcpu *x86_vcpu_create(int index, enum x86_cpu_model model, struct guest_mem *mem,
                             struct bus *bus);

/**
 * Entry state for the Linux boot protocol's 64-bit entry (boot.rst "64-bit
 * BOOT PROTOCOL"): long mode, flat 4 GiB segments (__BOOT_CS 0x10 /
 * __BOOT_DS 0x18 in a GDT at @gdt_gpa built by the loader), identity-mapped
 * page tables at @cr3, RSI = @boot_params_gpa, RIP = @entry_gpa, IF = 0.
 */
void x86_vcpu_setup_long_entry(struct vcpu *vcpu, uint64_t entry_gpa, uint64_t boot_params_gpa,
                               uint64_t cr3, uint64_t gdt_gpa, uint16_t gdt_limit);

/**
 * Entry state for 32-bit protected mode without paging (PVH entry, multiboot):
 * flat CS/DS of a GDT at @gdt_gpa (selectors @cs, @ds), EIP = @entry_gpa,
 * EBX = @ebx, EAX = @eax.
 */
void x86_vcpu_setup_prot32_entry(struct vcpu *vcpu, uint32_t entry_gpa, uint32_t eax, uint32_t ebx,
                                 uint64_t gdt_gpa, uint16_t gdt_limit, uint16_t cs, uint16_t ds);

/**
 * Entry state for real-address mode (SDM Vol. 3A 20.1), as a PC BIOS leaves
 * it for a boot sector: CS:IP = @cs:@ip, SS:SP = @ss:@sp, DS = ES = FS = GS
 * = 0, IDTR = the IVT at 0 (limit 0x3FF), EDX = @edx (DL = boot drive),
 * other GPRs unchanged, IF = @intr_enabled, paging and protection off.
 */
void x86_vcpu_setup_real_entry(struct vcpu *vcpu, uint16_t cs, uint16_t ip, uint16_t ss, uint16_t sp,
                               uint32_t edx, bool intr_enabled);

#endif
