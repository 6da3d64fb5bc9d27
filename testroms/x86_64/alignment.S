/*
 * testroms/x86_64/alignment.S - alignment check, #AC (vector 17). Intel
 * SDM Vol. 3A 6.15 "Interrupt 17-Alignment Check Exception (#AC)" and 2.5
 * (CR0.AM), Vol. 1 3.4.3.3 (EFLAGS.AC):
 *  - with CR0.AM=1, EFLAGS.AC=1 and CPL=3, a data access whose address is
 *    not a multiple of its size (word at an odd address, doubleword not a
 *    multiple of 4, quadword not a multiple of 8) raises #AC with error
 *    code 0, a fault (saved RIP = the access, memory unchanged);
 *  - aligned accesses do not; nor do unaligned ones at CPL3 with AC=0 or
 *    with CR0.AM=0, nor any at CPL0 (alignment checking applies only at
 *    CPL3; with SMAP off AC=1 at CPL0 has no other effect).
 */
#include "rom.h"

#define CR0_AM  0x40000
#define F_AC    0x40000
#define BUF     0x3d0000            /* user-accessible data */

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    MASK_8259
    movq $0x1122334455667788, %rax
    movq %rax, BUF
    movq %rax, BUF + 8

    /* CPL0, AM=1, AC=1: no alignment checking. */
    movq %cr0, %rax
    orq $CR0_AM, %rax
    movq %rax, %cr0
    pushq $(0x002 | F_AC)
    popfq
    EXPECT_EXC 1f
    movl BUF + 1, %eax
1:  DISARM
    pushq $0x002
    popfq
    CHECK_REG exc_vec(%rip), "CPL0, AM=1 AC=1: unaligned load, no #AC", -1

    /* CPL3 with AC=1 (AM=1). */
    leaq user_ac1(%rip), %rdi
    movq $(0x002 | F_AC), %rsi
    call run_user
    CHECK_REG r_w(%rip), "CPL3 AM=1 AC=1: word at odd address: #AC", 17
    CHECK_REG r_w+8(%rip), "#AC: error code 0", 0
    CHECK_REG r_w+16(%rip), "#AC: RIP of the access (fault)", ac_w
    CHECK_REG r_d(%rip), "CPL3: dword at address 2 mod 4: #AC", 17
    CHECK_REG r_q(%rip), "CPL3: qword at address 4 mod 8: #AC", 17
    CHECK_REG r_st(%rip), "CPL3: unaligned qword store: #AC", 17
    CHECK_REG BUF + 8, "#AC store: memory unchanged", 0x1122334455667788
    CHECK_REG r_ok(%rip), "CPL3: aligned qword: no #AC", -1
    CHECK_REG r_b(%rip), "CPL3: byte access: no #AC", -1

    /* CPL3 with AC=0. */
    leaq user_ac0(%rip), %rdi
    movq $0x002, %rsi
    call run_user
    CHECK_REG r_ac0(%rip), "CPL3 AM=1 AC=0: unaligned qword: no #AC", -1

    /* CPL3 with AC=1 but AM=0. */
    movq %cr0, %rax
    andq $~CR0_AM, %rax
    movq %rax, %cr0
    leaq user_am0(%rip), %rdi
    movq $(0x002 | F_AC), %rsi
    call run_user
    CHECK_REG r_am0(%rip), "CPL3 AM=0 AC=1: unaligned qword: no #AC", -1

    POP_CALLEE_SAVED
    ret

/* CPL3 code. The exception record and result slots are user pages (U=1). */
user_ac1:
    movq $BUF, %rbx
    EXPECT_EXC 1f
ac_w: movw 1(%rbx), %ax
1:  DISARM
    SAVE_EXC r_w
    TRY r_d, movl 2(%rbx), %eax
    TRY r_q, movq 4(%rbx), %rax
    TRY r_st, movq %rbx, 9(%rbx)
    TRY r_ok, movq 8(%rbx), %rax
    TRY r_b, movb 3(%rbx), %al
    int $USER_RET_VEC
    ud2
user_ac0:
    movq $BUF, %rbx
    TRY r_ac0, movq 3(%rbx), %rax
    int $USER_RET_VEC
    ud2
user_am0:
    movq $BUF, %rbx
    TRY r_am0, movq 3(%rbx), %rax
    int $USER_RET_VEC
    ud2

    .data
    .balign 8
r_w:   .fill 3, 8, -1
r_d:   .fill 3, 8, -1
r_q:   .fill 3, 8, -1
r_st:  .fill 3, 8, -1
r_ok:  .fill 3, 8, -1
r_b:   .fill 3, 8, -1
r_ac0: .fill 3, 8, -1
r_am0: .fill 3, 8, -1
