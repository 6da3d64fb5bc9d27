/*
 * testroms/x86_64/singlestep.S - debug exceptions (#DB, vector 1) from
 * EFLAGS.TF and from debug registers (Intel SDM Vol. 3A chapter 18):
 *  - 18.3.1.4 "Single-Step Exception Condition": with TF=1 a trap-class
 *    #DB follows each instruction; the instruction that sets TF (POPFQ)
 *    is not followed by one, the instruction that clears it is (TF is
 *    sampled at the start of the instruction); saved RIP = the next
 *    instruction; DR6.BS (bit 14) is set (18.2.3). Delivery through an
 *    interrupt gate clears TF (6.12.1.3), so the handler is not stepped.
 *  - 6.8.3 "Masking Exceptions and Interrupts When Switching Stacks": the
 *    single-step trap after MOV SS is suppressed; the next instruction's
 *    boundary is the first one with a #DB (one #DB, not two).
 *  - 18.3.1.1 "Instruction-Breakpoint Exception Condition" and 18.2.4
 *    (DR7 L0, R/W0 = 00, LEN0 = 00): an execution breakpoint at DR0 is a
 *    fault taken before the instruction runs (saved RIP = DR0, DR6.B0 = 1);
 *    returning with RFLAGS.RF = 1 (18.3.1.1, Vol. 1 3.4.3.3) lets the
 *    instruction run once without a new #DB, and RF is cleared after it.
 */
#include "rom.h"

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    call db_init                    /* lib.S: vector 1 records into db_* */
    movw %ss, %cx

/* -------------------------------------------------------- single-step */
    pushq $(0x002 | F_TF)
    popfq                           /* sets TF: no #DB after it */
s0: nop
s1: movl $1, %eax
s2: movw %cx, %ss                   /* #DB after MOV SS suppressed */
s3: nop
s4: pushq $0x002
s5: popfq                           /* clears TF: #DB after it */
s6: nop
    nop
    movq db_count(%rip), %rax
    CHECK "TF: #DB count (after s0 s1 s3 s4 s5, none after POPF/MOV SS)", 5
    CHECK_REG db_rip+0(%rip), "TF: first #DB after the instruction after POPFQ", s1
    CHECK_REG db_rip+8(%rip), "TF: second #DB", s2
    CHECK_REG db_rip+16(%rip), "TF: after MOV SS: #DB only after the next instruction", s4
    CHECK_REG db_rip+24(%rip), "TF: fourth #DB", s5
    CHECK_REG db_rip+32(%rip), "TF: POPFQ clearing TF is still followed by #DB", s6
    CHECK_MASKED db_dr6(%rip), "TF: DR6.BS set", 0x4000, 0x4000
    CHECK_REG db_tf(%rip), "TF: handler runs with TF=0", 0

/* ------------------------------------------- execution breakpoint, RF */
    call db_reset
    movq $0, db_setrf(%rip)
    xorl %eax, %eax
    movq %rax, %dr6
    leaq bp_insn(%rip), %rax
    movq %rax, %dr0
    movq $0x401, %rax               /* DR7: L0, R/W0 = LEN0 = 00; bit 10 reads as 1 */
    movq %rax, %dr7
    movq $1, db_setrf(%rip)         /* the handler returns with RF=1 */
    xorl %ebx, %ebx
bp_insn:
    incl %ebx
    pushfq
    popq %rax
    movq %rax, after_rf(%rip)
    xorl %eax, %eax
    movq %rax, %dr7
    movl %ebx, %eax
    CHECK "DR0 breakpoint: instruction ran once after the #DB", 1
    CHECK_REG db_count(%rip), "DR0 breakpoint: one #DB (RF=1 suppresses the second)", 1
    CHECK_REG db_rip(%rip), "DR0 breakpoint: fault, saved RIP = DR0", bp_insn
    CHECK_MASKED db_dr6(%rip), "DR0 breakpoint: DR6.B0 set, BS clear", 0x400f, 1
    CHECK_MASKED after_rf(%rip), "RF cleared after the instruction completes", F_RF, 0

    POP_CALLEE_SAVED
    ret

    .data
    .balign 8
after_rf: .quad 0
