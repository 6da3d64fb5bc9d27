/*
 * testroms/x86_64/rom.h - shared definitions for the bare-metal x86-64 test
 * ROMs (included by start.S, lib.S and every ROM; GNU as, AT&T syntax).
 *
 * Environment a ROM's test_main runs in (set up by start.S):
 *  - 64-bit mode, CPL0, interrupts off (IF=0), DF=0, CR0.WP=1, EFER.NXE=0.
 *  - GDT selectors below; TSS loaded (RSP0 = rsp0_stack_top, IST1 =
 *    ist1_stack_top, no I/O bitmap).
 *  - Paging (4-level): virtual 0..1 GiB identity-mapped, U/S=1 R/W=1, with
 *    2 MiB pages except 0x200000..0x3FFFFF, which uses the 4 KiB page table
 *    `pt_low` (entry i maps 0x200000 + i*4096, P|RW|US) so tests can change
 *    single pages. Virtual 1 GiB..1 GiB+2 MiB (0x40000000) goes through the
 *    4 KiB table `pt_hi`, all entries not present at start (alias area).
 *    The ROM itself lies in 1..2 MiB (the linker script asserts it).
 *  - IDT: 256 interrupt gates, DPL0, no IST, each to a stub that records the
 *    exception in exc_* (below) and resumes. Change one with set_gate.
 *
 * Expected exceptions: EXPECT_EXC label arms the handler once; when the
 * exception comes it records vector, error code, the saved frame, CR2 and the
 * 16-byte-aligned frame top, disarms, and returns to `label` (or to the saved
 * RIP when label is 0), all GPRs preserved. An exception while not armed is
 * reported on COM1 and ends the ROM with failure code EXIT_UNEXPECTED.
 *
 * Other modes: lib.S run_compat32 calls 32-bit code in compatibility mode,
 * run_legacy32 in legacy protected mode (paging off), and both come back
 * to 64-bit mode; lib.S run_user runs code at
 * CPL3 until it executes int $USER_RET_VEC, user_call is the same with any
 * way into user mode (see their comments).
 *
 * Verdict: CHECK compares %rax with an expected value (computed by hand from
 * the SDM) and prints "ok N desc" or "FAIL N desc: got .. expected ..". When
 * test_main returns, the ROM writes 0 to isa-debug-exit (port 0xf4) if every
 * check passed, else the number of the first failing check (at most 120).
 */
#ifndef TESTROMS_X86_64_ROM_H
#define TESTROMS_X86_64_ROM_H

/* GDT selectors (start.S). SYSCALL/SYSRET layout: STAR[47:32] = SEL_KCODE,
 * STAR[63:48] = SEL_UCODE32 (SYSRET: CS = +16, SS = +8). */
#define SEL_KCODE    0x08   /* 64-bit code, DPL0 */
#define SEL_KDATA    0x10   /* data, DPL0 */
#define SEL_UCODE32  0x18   /* 32-bit code, DPL3 */
#define SEL_UDATA    0x20   /* data, DPL3 */
#define SEL_UCODE    0x28   /* 64-bit code, DPL3 */
#define SEL_KCODE32  0x30   /* 32-bit code, DPL0 */
#define SEL_KCODE16  0x38   /* 16-bit code, DPL0, base 0, limit 0xFFFF */
#define SEL_KDATA16  0x40   /* 16-bit data, DPL0, base 0, limit 0xFFFF */
#define SEL_TSS      0x48   /* 64-bit TSS (16 bytes) */

/* Local APIC and I/O APIC MMIO bases (SDM Vol. 3A 11.4.1; the I/O APIC's
 * default address); lib.S map_apic maps both, uncached. */
#define APIC         0xfee00000
#define IOAPIC       0xfec00000

/* Port numbers. */
#define COM1         0x3f8
#define DEBUG_EXIT   0xf4

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define F_CF 0x001
#define F_PF 0x004
#define F_AF 0x010
#define F_ZF 0x040
#define F_SF 0x080
#define F_TF 0x100
#define F_IF 0x200
#define F_DF 0x400
#define F_OF 0x800
#define F_RF 0x10000
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Page-table entry bits (SDM Vol. 3A 4.5, Table 4-19/4-20). */
#define PTE_P   0x001
#define PTE_RW  0x002
#define PTE_US  0x004
#define PTE_A   0x020
#define PTE_D   0x040
#define PTE_PS  0x080
#define PTE_NX  0x8000000000000000

/* IDT gate attribute byte: P | DPL | type (SDM Vol. 3A 6.14.1). */
#define GATE_INT   0x8e
#define GATE_TRAP  0x8f
#define GATE_DPL3  0x60

/* IDT vector of the way back from CPL3 (lib.S user_call / run_user). */
#define USER_RET_VEC 0x82

/* Exit codes besides "first failing check". */
#define EXIT_NO_CHECKS   121
#define EXIT_UNEXPECTED  122

#ifdef __ASSEMBLER__

/* CHECK "description", expected: compare %rax with the 64-bit constant.
 * Preserves every register and RFLAGS. */
.macro CHECK desc:req, exp:req
    pushfq
    pushq %rdi
    pushq %rsi
    pushq %rdx
    movq %rax, %rsi
    movabsq $(\exp), %rdx
    leaq .Lchk_str\@(%rip), %rdi
    call check_eq
    popq %rdx
    popq %rsi
    popq %rdi
    popfq
    .pushsection .rodata.str, "a"
.Lchk_str\@: .asciz "\desc"
    .popsection
.endm

/* CHECK_REG reg, "description", expected: like CHECK for another register
 * (or memory operand). Preserves every register and RFLAGS. */
.macro CHECK_REG src:req, desc:req, exp:req
    pushq %rax
    movq \src, %rax
    CHECK "\desc", \exp
    popq %rax
.endm

/* CHECK_MASKED src, "description", mask, expected: compare src & mask (src
 * a register, control register or memory operand; mask a sign-extended
 * 32-bit immediate). Clobbers RAX (left holding src & mask). */
.macro CHECK_MASKED src:req, desc:req, mask:req, exp:req
    movq \src, %rax
    andq $(\mask), %rax
    CHECK "\desc", \exp
.endm

/* CHECK_FLAGS "description", mask, expected: compare RFLAGS & mask.
 * Preserves every register and RFLAGS. */
.macro CHECK_FLAGS desc:req, mask:req, exp:req
    pushfq
    pushq %rax
    movq 8(%rsp), %rax
    andq $(\mask), %rax
    CHECK "\desc", \exp
    popq %rax
    popfq
.endm

/* EXPECT_EXC resume: clear the exception record (vector and error code read
 * as -1, RIP as 0) and arm the recorder once; the handler returns to
 * `resume` (an address). EXPECT_EXC_RET: the same, returning to the saved
 * RIP. DISARM after the resume point, in case nothing was raised.
 * Preserve registers and flags (also usable at CPL3: all pages are U=1). */
.macro EXPECT_EXC resume:req
    pushq %rax
    leaq \resume, %rax
    movq %rax, exc_resume(%rip)
    movq $-1, exc_vec(%rip)
    movq $-1, exc_err(%rip)
    movq $0, exc_rip(%rip)
    movq $1, exc_armed(%rip)
    popq %rax
.endm
.macro EXPECT_EXC_RET
    movq $0, exc_resume(%rip)
    movq $-1, exc_vec(%rip)
    movq $-1, exc_err(%rip)
    movq $0, exc_rip(%rip)
    movq $1, exc_armed(%rip)
.endm
.macro DISARM
    movq $0, exc_armed(%rip)
.endm
/* SAVE_EXC slot: copy exc_vec, exc_err and exc_rip to the quadwords at slot,
 * slot + 8, slot + 16 (clobbers RAX). TRY slot, insn...: EXPECT_EXC, the
 * instruction, DISARM, SAVE_EXC slot (clobbers RAX after the instruction). */
.macro SAVE_EXC slot:req
    movq exc_vec(%rip), %rax
    movq %rax, \slot(%rip)
    movq exc_err(%rip), %rax
    movq %rax, \slot + 8(%rip)
    movq exc_rip(%rip), %rax
    movq %rax, \slot + 16(%rip)
.endm
.macro TRY slot:req, insn:vararg
    EXPECT_EXC .Ltry_\@
    \insn
.Ltry_\@:
    DISARM
    SAVE_EXC \slot
.endm

/* The same for 32-bit code in compatibility mode (exceptions still go
 * through the 64-bit IDT and its recorder; absolute addresses: the ROM is
 * below 4 GiB). EXPECT_EXC32 resume: arm, returning to `resume`; DISARM32.
 * SAVE_EXC32 slot, stride=4: copy the low halves of exc_vec, exc_err and
 * exc_rip to the dwords at slot, slot + stride, slot + 2 * stride (clobbers
 * EAX). TRY32 slot, insn...: EXPECT_EXC32, the instruction, DISARM32,
 * SAVE_EXC32 slot (clobbers EAX after the instruction). */
.macro EXPECT_EXC32 resume:req
    movl $\resume, exc_resume
    movl $0, exc_resume + 4
    movl $-1, exc_vec
    movl $-1, exc_vec + 4
    movl $-1, exc_err
    movl $-1, exc_err + 4
    movl $0, exc_rip
    movl $0, exc_rip + 4
    movl $1, exc_armed
    movl $0, exc_armed + 4
.endm
.macro DISARM32
    movl $0, exc_armed
.endm
.macro SAVE_EXC32 slot:req, stride=4
    movl exc_vec, %eax
    movl %eax, \slot
    movl exc_err, %eax
    movl %eax, \slot + \stride
    movl exc_rip, %eax
    movl %eax, \slot + 2 * \stride
.endm
.macro TRY32 slot:req, insn:vararg
    EXPECT_EXC32 .Ltry32_\@
    \insn
.Ltry32_\@:
    DISARM32
    SAVE_EXC32 \slot
.endm

/* PUSH_CALLEE_SAVED / POP_CALLEE_SAVED: push RBX, RBP, R12-R15 (SysV
 * callee-saved) / pop them in reverse order. 48 bytes of stack. */
.macro PUSH_CALLEE_SAVED
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm
.macro POP_CALLEE_SAVED
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
.endm

/* LOAD_DATA_SEGS sel, fsgs=0: load DS, ES and SS (and FS, GS with fsgs=1)
 * with the selector, in that order. 32- or 64-bit code; clobbers EAX. */
.macro LOAD_DATA_SEGS sel:req, fsgs=0
    movl $(\sel), %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    .if \fsgs
    movw %ax, %fs
    movw %ax, %gs
    .endif
.endm

/* SET_GATE vector, handler, attr, ist=0: start.S set_gate with its
 * arguments; handler is an address operand such as isr(%rip), or 0 for the
 * default recording stub. Clobbers RDI, RSI, RDX, RCX. */
.macro SET_GATE vec:req, handler:req, attr:req, ist=0
    movl $(\vec), %edi
    .ifc \handler,0
    xorl %esi, %esi
    .else
    leaq \handler, %rsi
    .endif
    movl $(\attr), %edx
    movl $(\ist), %ecx
    call set_gate
.endm

/* MASK_8259: mask every IRQ line of both 8259As (OCW1 = FFH to the master's
 * port 21H and the slave's port A1H). Clobbers AL. */
.macro MASK_8259
    movb $0xff, %al
    outb %al, $0x21
    outb %al, $0xa1
.endm

/* WRMSR_REG msr, reg: write a 64-bit register to the MSR (clobbers RAX, RCX,
 * RDX). RDMSR_RAX msr: read the MSR into RAX, 64 bits (clobbers RCX, RDX). */
.macro WRMSR_REG msr:req, reg:req
    movq \reg, %rax
    movq \reg, %rdx
    shrq $32, %rdx
    movl $(\msr), %ecx
    wrmsr
.endm
.macro RDMSR_RAX msr:req
    movl $(\msr), %ecx
    rdmsr
    shlq $32, %rdx
    movl %eax, %eax
    orq %rdx, %rax
.endm

/* PSEUDO_DESC name, base, limit (data): an LGDT/LIDT operand (SDM Vol. 3A
 * 3.5.1 Figure 3-11): 16-bit limit then 64-bit base at `name`, placed so
 * that the base is 8-byte aligned. 32-bit code reads limit and base[31:0]. */
.macro PSEUDO_DESC name:req, base:req, limit:req
    .balign 8
    .word 0, 0, 0
\name:
    .word \limit
    .quad \base
.endm

/* PRINT "text": print a line (newline appended). Preserves everything. */
.macro PRINT text:req
    pushfq
    pushq %rdi
    leaq .Lprt_str\@(%rip), %rdi
    call puts
    popq %rdi
    popfq
    .pushsection .rodata.str, "a"
.Lprt_str\@: .asciz "\text\n"
    .popsection
.endm

#endif /* __ASSEMBLER__ */
#endif
