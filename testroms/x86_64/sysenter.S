/*
 * testroms/x86_64/sysenter.S - SYSENTER/SYSEXIT in IA-32e mode (Intel SDM
 * Vol. 2B SYSENTER and SYSEXIT "Operation", Vol. 3A 5.8.7 "Performing
 * Fast Calls to System Procedures with the SYSENTER and SYSEXIT
 * Instructions", 5.8.7.1 for IA-32e mode; MSRs IA32_SYSENTER_CS/ESP/EIP =
 * 174H/175H/176H, Vol. 4 Table 2-2):
 *  - the three MSRs read back what was written (ESP/EIP are 64-bit in
 *    IA-32e capable processors);
 *  - SYSENTER: #GP(0) if IA32_SYSENTER_CS[15:2] = 0; otherwise CS :=
 *    SYSENTER_CS AND FFFCH (64-bit code, CPL 0, since IA32_EFER.LMA = 1),
 *    SS := CS + 8, RSP := IA32_SYSENTER_ESP and RIP := IA32_SYSENTER_EIP
 *    (all 64 bits), RFLAGS.IF, VM and RF := 0; works from CPL3 64-bit and
 *    compatibility mode code and from CPL0;
 *  - SYSEXIT: #GP(0) if SYSENTER_CS[15:2] = 0 or CPL != 0; with REX.W
 *    (64-bit return) CS := (SYSENTER_CS + 32) OR 3, SS := (SYSENTER_CS +
 *    40) OR 3, RIP := RDX, RSP := RCX, #GP(0) if RDX or RCX is not
 *    canonical; without REX.W (return to compatibility mode) CS :=
 *    (SYSENTER_CS + 16) OR 3, SS := (SYSENTER_CS + 24) OR 3, RIP := EDX,
 *    RSP := ECX; RFLAGS is not changed by SYSEXIT.
 * With SYSENTER_CS = 08H and rom.h's GDT the 64-bit user CS is 2BH (SS
 * 33H), the 32-bit user CS 1BH (SS 23H).
 */
#include "rom.h"

#define SYSENTER_CS   0x174
#define SYSENTER_ESP  0x175
#define SYSENTER_EIP  0x176
#define HIGH_RSP      0x0000123456789000


    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    MASK_8259                      /* 8259s masked: user code runs with IF=1 */

/* ------------------------------------------------------------- MSRs */
    xorl %ebx, %ebx
    WRMSR_REG SYSENTER_CS, %rbx
    EXPECT_EXC 1f
se0: sysenter
1:  DISARM
    CHECK_REG exc_vec(%rip), "SYSENTER with SYSENTER_CS=0: #GP", 13
    CHECK_REG exc_err(%rip), "SYSENTER_CS=0: error code 0", 0
    CHECK_REG exc_rip(%rip), "SYSENTER_CS=0: RIP of the SYSENTER", se0
    movq $0x3, %rbx                 /* bits 15:2 still 0 */
    WRMSR_REG SYSENTER_CS, %rbx
    EXPECT_EXC 1f
    sysexitq
1:  DISARM
    CHECK_REG exc_vec(%rip), "SYSEXIT with SYSENTER_CS[15:2]=0: #GP", 13
    CHECK_REG exc_err(%rip), "SYSEXIT SYSENTER_CS=3: error code 0", 0

    movq $SEL_KCODE, %rbx
    WRMSR_REG SYSENTER_CS, %rbx
    movabsq $HIGH_RSP, %rbx
    WRMSR_REG SYSENTER_ESP, %rbx
    leaq entry_record(%rip), %rbx
    WRMSR_REG SYSENTER_EIP, %rbx
    RDMSR_RAX SYSENTER_CS
    CHECK "IA32_SYSENTER_CS reads back", SEL_KCODE
    RDMSR_RAX SYSENTER_ESP
    CHECK "IA32_SYSENTER_ESP reads back 64 bits", HIGH_RSP
    RDMSR_RAX SYSENTER_EIP
    leaq entry_record(%rip), %rcx
    subq %rcx, %rax
    CHECK "IA32_SYSENTER_EIP reads back", 0

/* ---------------------------------------------- SYSENTER from CPL0 */
    /* entry_record saves RSP/CS/SS/RFLAGS, restores our RSP, returns to
     * ret_addr. RSP = HIGH_RSP is never used for a memory access. */
    movq %rsp, saved_ksp(%rip)
    leaq 1f(%rip), %rax
    movq %rax, ret_addr(%rip)
    pushq $(0x202 | F_CF)
    popfq                           /* IF=1 CF=1 before SYSENTER */
    sysenter
1:  cli
    CHECK_REG rec_rsp(%rip), "CPL0 SYSENTER: RSP = all 64 bits of SYSENTER_ESP", HIGH_RSP
    CHECK_REG rec_cs(%rip), "CPL0 SYSENTER: CS = SYSENTER_CS", SEL_KCODE
    CHECK_REG rec_ss(%rip), "CPL0 SYSENTER: SS = SYSENTER_CS + 8", SEL_KDATA
    CHECK_MASKED rec_flags(%rip), "CPL0 SYSENTER: IF cleared, CF kept", (F_IF | F_CF), F_CF

/* -------------------------------------------- SYSEXIT 64-bit and back */
    leaq kstack_top(%rip), %rbx
    WRMSR_REG SYSENTER_ESP, %rbx
    movq %rsp, saved_ksp(%rip)
    leaq 2f(%rip), %rax
    movq %rax, ret_addr(%rip)
    leaq ustack_top(%rip), %rcx
    leaq user64(%rip), %rdx
    sti                             /* SYSEXIT keeps RFLAGS: user runs with IF=1 */
sx64: sysexitq
2:  cli
    CHECK_REG u_cs(%rip), "SYSEXIT (REX.W): CS = (SYSENTER_CS + 32) | 3", SEL_UCODE | 3
    CHECK_REG u_ss(%rip), "SYSEXIT (REX.W): SS = (SYSENTER_CS + 40) | 3", (SEL_KCODE + 40) | 3
    leaq ustack_top(%rip), %rcx
    movq u_rsp(%rip), %rax
    subq %rcx, %rax
    CHECK "SYSEXIT (REX.W): RSP = RCX", 0
    CHECK_MASKED u_flags(%rip), "SYSEXIT: RFLAGS unchanged (IF=1 at CPL3)", F_IF, F_IF
    CHECK_REG u_exc(%rip), "SYSEXIT at CPL3: #GP", 13
    CHECK_REG u_exc + 8(%rip), "SYSEXIT at CPL3: error code 0", 0
    CHECK_REG rec_cs(%rip), "CPL3 SYSENTER: CS = SYSENTER_CS (CPL0)", SEL_KCODE
    CHECK_REG rec_ss(%rip), "CPL3 SYSENTER: SS = SYSENTER_CS + 8", SEL_KDATA
    leaq kstack_top(%rip), %rcx
    movq rec_rsp(%rip), %rax
    subq %rcx, %rax
    CHECK "CPL3 SYSENTER: RSP = SYSENTER_ESP", 0
    CHECK_MASKED rec_flags(%rip), "CPL3 SYSENTER: IF cleared", F_IF, 0

/* ------------------------------------ SYSEXIT to compatibility mode */
    movq %rsp, saved_ksp(%rip)
    leaq 3f(%rip), %rax
    movq %rax, ret_addr(%rip)
    movq $-1, u_cs(%rip)
    movq $-1, u_ss(%rip)
    movq $-1, rec_cs(%rip)
    movabsq $0xffffffff00000000, %rcx       /* upper halves must be ignored */
    leaq ustack_top(%rip), %rax
    orq %rax, %rcx
    movabsq $0xabcdef0100000000, %rdx
    leaq user32(%rip), %rax
    orq %rax, %rdx
    sysexit                         /* no REX.W */
3:  CHECK_REG u_cs(%rip), "SYSEXIT (no REX.W): CS = (SYSENTER_CS + 16) | 3", SEL_UCODE32 | 3
    CHECK_REG u_ss(%rip), "SYSEXIT (no REX.W): SS = (SYSENTER_CS + 24) | 3", SEL_UDATA | 3
    leaq ustack_top(%rip), %rcx
    movq u_rsp(%rip), %rax
    subq %rcx, %rax
    CHECK "SYSEXIT (no REX.W): ESP = ECX (upper half dropped)", 0
    CHECK_REG u_ran32(%rip), "compatibility-mode code at EIP = EDX ran", 0x32
    CHECK_REG rec_cs(%rip), "SYSENTER from compatibility mode: 64-bit CS", SEL_KCODE
    CHECK_REG rec_ss(%rip), "SYSENTER from compatibility mode: SS", SEL_KDATA

/* ------------------------------------------ SYSEXIT non-canonical */
    leaq ustack_top(%rip), %rcx
    movabsq $0x0000800000000000, %rdx
    EXPECT_EXC 1f
sx_nc: sysexitq
1:  DISARM
    CHECK_REG exc_vec(%rip), "SYSEXIT (REX.W) with non-canonical RDX: #GP", 13
    CHECK_REG exc_err(%rip), "non-canonical RDX: error code 0", 0
    CHECK_REG exc_rip(%rip), "non-canonical RDX: RIP of the SYSEXIT", sx_nc
    CHECK_REG exc_cs(%rip), "non-canonical RDX: taken at CPL0", SEL_KCODE
    movabsq $0xffff000000000000, %rcx
    leaq user64(%rip), %rdx
    EXPECT_EXC 1f
    sysexitq
1:  DISARM
    CHECK_REG exc_vec(%rip), "SYSEXIT (REX.W) with non-canonical RCX: #GP", 13
    CHECK_REG exc_cs(%rip), "non-canonical RCX: taken at CPL0", SEL_KCODE

    POP_CALLEE_SAVED
    ret

/*
 * SYSENTER target: record RSP, CS, SS, RFLAGS, then return to kernel mode
 * state: DS/ES/SS = KDATA, RSP = saved_ksp, jump to ret_addr.
 */
entry_record:
    movq %rsp, rec_rsp(%rip)
    movq saved_ksp(%rip), %rsp
    pushfq
    popq rec_flags(%rip)
    movq %cs, %rax
    movq %rax, rec_cs(%rip)
    movq %ss, %rax
    movq %rax, rec_ss(%rip)
    LOAD_DATA_SEGS SEL_KDATA
    jmp *ret_addr(%rip)

/* 64-bit user code (CPL3). */
user64:
    movq %cs, %rax
    movq %rax, u_cs(%rip)
    movq %ss, %rax
    movq %rax, u_ss(%rip)
    movq %rsp, u_rsp(%rip)
    pushfq
    popq u_flags(%rip)
    movl $(SEL_UDATA | 3), %eax     /* SS 33H is the 32-bit code descriptor: */
    movw %ax, %ss                   /* a valid SS for the IRETQ of the #GP */
    leaq ustack_top(%rip), %rcx
    leaq user64(%rip), %rdx
    TRY u_exc, sysexitq             /* CPL3: #GP(0) */
    sysenter
    ud2

/* Compatibility-mode user code (CPL3, 32-bit CS). */
    .code32
user32:
    movl %cs, %eax
    movl %eax, u_cs
    movl $0, u_cs + 4
    movl %ss, %eax
    movl %eax, u_ss
    movl $0, u_ss + 4
    movl %esp, u_rsp
    movl $0, u_rsp + 4
    movl $0x32, u_ran32
    sysenter
    ud2
    .code64

    .data
    .balign 8
saved_ksp: .quad 0
ret_addr:  .quad 0
rec_rsp:   .quad -1
rec_cs:    .quad -1
rec_ss:    .quad -1
rec_flags: .quad -1
u_cs:      .quad -1
u_ss:      .quad -1
u_rsp:     .quad -1
u_flags:   .quad -1
u_exc:     .quad -1, -1, 0     /* vector, error code, RIP (rom.h TRY) */
u_ran32:   .quad 0

    .bss
    .balign 16
    .skip 4096
ustack_top:
    .skip 4096
kstack_top:
