/*
 * testroms/x86_64/sti.S - when a pending maskable interrupt is taken once
 * IF becomes 1. The local APIC timer (SDM Vol. 3A 11.5.4) expires while
 * IF=0, so its vector waits in IRR (11.8.4); then IF is set by:
 *  - STI: SDM Vol. 2B STI, "If IF = 0, maskable hardware interrupts remain
 *    inhibited on the instruction boundary following an execution of STI":
 *    the instruction after STI runs, and the interrupt is taken at the next
 *    boundary (Vol. 3A 6.9 "Priority Among Simultaneous Exceptions and
 *    Interrupts": pending interrupts are serviced at instruction
 *    boundaries), i.e. before the instruction after that one;
 *  - POPFQ and IRETQ: no such inhibition (only STI, MOV SS and POP SS
 *    create one: Vol. 3A 6.8.1 "Masking Maskable Hardware Interrupts",
 *    6.8.3, Vol. 2B POPF/IRET), so the interrupt is
 *    taken before the next instruction.
 * The saved RIP (Vol. 3A 6.5, interrupts are taken between instructions)
 * says at which boundary it happened. In every case IF goes back to 0 a few
 * instructions later (CLI), with no jump in between.
 */
#include "rom.h"

#define APIC_TPR   0x80
#define APIC_EOI   0xb0
#define APIC_SVR   0xf0
#define APIC_IRR1  0x210
#define APIC_LVTT  0x320
#define APIC_TICR  0x380
#define APIC_TDCR  0x3e0
#define VEC        0x30

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    MASK_8259
    call map_apic                   /* lib.S: APIC page at FEE00000, UC */
    movl $APIC, %ebx
    movl $0x1ff, APIC_SVR(%rbx)
    movl $0, APIC_TPR(%rbx)
    movl $0xb, APIC_TDCR(%rbx)
    movl $VEC, APIC_LVTT(%rbx)      /* one-shot */

/* ----------------------------------------------------------------- STI */
    call make_pending
    CHECK "timer expired with IF=0: vector pending in IRR", 1<<(VEC-32)
    EXPECT_EXC_RET
    xorl %eax, %eax
    sti
    movl $1, %eax                   /* shadow: runs first */
a_after:
    nop
    nop
    cli
    DISARM
    movl $0, APIC_EOI(%rbx)
    CHECK "STI: the instruction after STI ran", 1
    CHECK_REG exc_vec(%rip), "STI; MOV; NOP; NOP; CLI: interrupt taken", VEC
    CHECK_REG exc_rip(%rip), "STI: taken right after the shadow instruction", a_after

/* --------------------------------------------------------------- POPFQ */
    call make_pending
    EXPECT_EXC_RET
    pushq $0x202
    popfq
b_after:
    nop
    nop
    cli
    DISARM
    movl $0, APIC_EOI(%rbx)
    CHECK_REG exc_vec(%rip), "POPFQ setting IF: interrupt taken", VEC
    CHECK_REG exc_rip(%rip), "POPFQ: taken right after POPFQ (no shadow)", b_after

/* --------------------------------------------------------------- IRETQ */
    call make_pending
    EXPECT_EXC_RET
    movq %rsp, %rax
    pushq $SEL_KDATA
    pushq %rax
    pushq $0x202
    pushq $SEL_KCODE
    leaq c_after(%rip), %rax
    pushq %rax
    iretq
c_after:
    nop
    nop
    cli
    DISARM
    movl $0, APIC_EOI(%rbx)
    CHECK_REG exc_vec(%rip), "IRETQ setting IF: interrupt taken", VEC
    CHECK_REG exc_rip(%rip), "IRETQ: taken before the first instruction at the target", c_after

    POP_CALLEE_SAVED
    ret

/* Arm the one-shot timer with IF=0 and wait (bounded) until its vector is
 * pending in IRR. Returns RAX = IRR bit of VEC. */
make_pending:
    cli
    movl $2000, APIC_TICR(%rbx)
    movl $10000000, %ecx
1:  movl APIC_IRR1(%rbx), %eax
    andl $(1 << (VEC - 32)), %eax
    jnz 2f
    pause
    decl %ecx
    jnz 1b
2:  ret
