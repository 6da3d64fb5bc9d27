/*
 * testroms/x86_64/syscall.S - SYSCALL/SYSRET (Intel SDM Vol. 2B SYSCALL and
 * SYSRET "Operation", Vol. 3A 5.8.8 "Fast System Calls in 64-Bit Mode"):
 *  - SYSCALL: RCX := RIP of the next instruction, R11 := RFLAGS,
 *    RFLAGS := RFLAGS AND NOT IA32_FMASK, RIP := IA32_LSTAR,
 *    CS := IA32_STAR[47:32] (RPL 0), SS := IA32_STAR[47:32] + 8; RSP is not
 *    changed; #UD when IA32_EFER.SCE = 0.
 *  - SYSRET with REX.W: RIP := RCX, RFLAGS := (R11 AND 3C7FD7H) OR 2,
 *    CS := IA32_STAR[63:48] + 16 (RPL 3), SS := IA32_STAR[63:48] + 8
 *    (RPL 3); without REX.W it returns to compatibility mode with
 *    CS := IA32_STAR[63:48] (RPL 3), RIP := ECX. #GP(0) if CPL != 0, and
 *    #GP(0) (taken at CPL0) if RCX is not canonical.
 * GDT layout (rom.h): STAR[47:32] = 0x08, STAR[63:48] = 0x18, so user CS is
 * 0x2B (64-bit), 0x1B (32-bit) and user SS is 0x23.
 */
#include "rom.h"

#define EFER   0xc0000080
#define STAR   0xc0000081
#define LSTAR  0xc0000082
#define FMASK  0xc0000084
#define USER_FLAGS (2 | F_CF | F_DF)
#define SF_MASK    (F_DF | F_IF | F_TF)

.macro WRMSR64 msr, lo, hi
    movl $\msr, %ecx
    movl $\lo, %eax
    movl $\hi, %edx
    wrmsr
.endm

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    movq %rsp, saved_ksp(%rip)

    SET_GATE 0x83, fixup_cpl0(%rip), (GATE_INT | GATE_DPL3)

    /* SYSCALL with EFER.SCE = 0: #UD. */
    EXPECT_EXC 1f
    syscall
1:  DISARM
    CHECK_REG exc_vec(%rip), "syscall with EFER.SCE=0: #UD", 6

    movl $EFER, %ecx
    rdmsr
    orl $1, %eax                    /* SCE */
    wrmsr
    WRMSR64 STAR, 0, (SEL_UCODE32 << 16) | SEL_KCODE
    leaq syscall_entry(%rip), %rax
    movq %rax, %rdx
    shrq $32, %rdx
    movl $LSTAR, %ecx
    wrmsr
    WRMSR64 FMASK, SF_MASK, 0

    /* SYSRET with a non-canonical RCX: #GP(0) at CPL0. */
    movq $0x0000800000000000, %rcx
    movq $2, %r11
    EXPECT_EXC 1f
sr_nc: sysretq
1:  DISARM
    movq %cs, %rax                  /* if the #GP came at CPL3 (not per */
    testb $3, %al                   /* the SDM), get back to CPL0 so the */
    jz sr_nc_done                   /* checks can still print */
    int $0x83
sr_nc_done:
    CHECK_REG exc_vec(%rip), "sysret with non-canonical RCX: #GP", 13
    CHECK_REG exc_err(%rip), "sysret non-canonical: error code 0", 0
    CHECK_REG exc_cs(%rip), "sysret non-canonical: taken at CPL0 (saved CS)", SEL_KCODE
    CHECK_REG exc_rip(%rip), "sysret non-canonical: RIP of the SYSRET", sr_nc

    /* To CPL3 with SYSRET; back by SYSCALL with RAX = 1. */
    leaq to_user64(%rip), %rdi
    call user_call
    CHECK_REG u_cs(%rip), "sysretq: CS = STAR[63:48]+16 | 3", SEL_UCODE|3
    CHECK_REG u_ss(%rip), "sysretq: SS = STAR[63:48]+8 | 3", SEL_UDATA|3
    CHECK_REG u_flags(%rip), "sysretq: RFLAGS from R11", 2|F_CF|F_ZF
    CHECK_REG u_rsp(%rip), "sysretq: RSP unchanged", user_stack_top
    CHECK_REG k_cs(%rip), "syscall: CS = STAR[47:32]", SEL_KCODE
    CHECK_REG k_ss(%rip), "syscall: SS = STAR[47:32]+8", SEL_KDATA
    CHECK_REG k_rcx(%rip), "syscall: RCX = next RIP", after_syscall
    CHECK_REG k_r11(%rip), "syscall: R11 = user RFLAGS", USER_FLAGS
    CHECK_REG k_flags(%rip), "syscall: RFLAGS masked by FMASK (CF kept, DF cleared)", 2|F_CF
    CHECK_REG k_rsp_delta(%rip), "syscall: RSP unchanged", 0
    CHECK_REG k_rax(%rip), "syscall: RAX passed through", 0x1234
    CHECK_REG u_flags2(%rip), "sysretq back: RFLAGS restored from R11 (CF DF)", USER_FLAGS
    CHECK_REG u_rbx(%rip), "after syscall round trip: RBX preserved", 0xfeedf00d
    CHECK_REG u_sysret(%rip), "sysret at CPL3: #GP", 13
    CHECK_REG u_sysret + 8(%rip), "sysret at CPL3: error code 0", 0
    CHECK_REG u_done(%rip), "user code reached the end", 1

    /* SYSRET without REX.W: compatibility mode; back by int $USER_RET_VEC. */
    leaq to_compat_user(%rip), %rdi
    call user_call
    CHECK_REG u32_cs(%rip), "sysretl: CS = STAR[63:48] | 3 (compatibility mode)", SEL_UCODE32|3
    CHECK_REG u32_ss(%rip), "sysretl: SS = STAR[63:48]+8 | 3", SEL_UDATA|3
    CHECK_REG u32_eip(%rip), "sysretl: RIP = ECX (32-bit code runs)", compat_user
    CHECK_REG user_ret_cs(%rip), "int from compatibility mode: saved CS", SEL_UCODE32|3

    movl $EFER, %ecx
    rdmsr
    andl $~1, %eax
    wrmsr
    movq saved_ksp(%rip), %rsp
    POP_CALLEE_SAVED
    ret

/* user_call launchers: SYSRET to 64-bit and to compatibility mode. */
to_user64:
    leaq user64(%rip), %rcx
    movq $(2 | F_CF | F_ZF), %r11
    leaq user_stack_top(%rip), %rsp
    sysretq
to_compat_user:
    movl $compat_user, %ecx
    movq $0xffffffff00000000, %rax
    orq %rax, %rcx                  /* RIP := ECX: upper half ignored */
    movq $2, %r11
    leaq user_stack_top(%rip), %rsp
    sysretl

/* SYSCALL entry: RSP is still the user's. RAX=1 means "done". */
syscall_entry:
    pushfq                          /* first: CMP below changes flags */
    popq k_flags(%rip)
    cmpq $1, %rax
    je 1f
    movq %rax, k_rax(%rip)
    movq %rcx, k_rcx(%rip)
    movq %r11, k_r11(%rip)
    movq %cs, %rdx
    movq %rdx, k_cs(%rip)
    movq %ss, %rdx
    movq %rdx, k_ss(%rip)
    movq %rsp, %rdx
    subq %rbp, %rdx                 /* user put its RSP in RBP */
    movq %rdx, k_rsp_delta(%rip)
    sysretq
1:  jmp user_return

fixup_cpl0:                         /* int $0x83 from CPL3 */
    movq saved_ksp(%rip), %rsp
    LOAD_DATA_SEGS SEL_KDATA
    jmp sr_nc_done

/* CPL3, 64-bit. */
user64:
    pushfq
    popq u_flags(%rip)
    movq %cs, %rax
    movq %rax, u_cs(%rip)
    movq %ss, %rax
    movq %rax, u_ss(%rip)
    movq %rsp, u_rsp(%rip)
    movq $0xfeedf00d, %rbx
    movq %rsp, %rbp
    movq $0x1234, %rax
    pushq $USER_FLAGS
    popfq
    syscall
after_syscall:
    pushfq
    popq u_flags2(%rip)
    cld
    movq %rbx, u_rbx(%rip)
    TRY u_sysret, sysretq           /* CPL3: #GP(0) */
    movq $1, u_done(%rip)
    movq $1, %rax
    syscall
    ud2

/* CPL3, compatibility mode (32-bit code below 4 GiB). */
    .code32
compat_user:
    call 1f
1:  popl %eax
    subl $(1b - compat_user), %eax
    movl %eax, u32_eip
    movw %cs, u32_cs
    movw %ss, u32_ss
    int $USER_RET_VEC
    ud2
    .code64

    .data
    .balign 8
saved_ksp:    .quad 0
u_cs:         .quad -1
u_ss:         .quad -1
u_flags:      .quad -1
u_flags2:     .quad -1
u_rsp:        .quad -1
u_rbx:        .quad -1
u_done:       .quad 0
u_sysret:     .quad -1, -1, 0      /* vector, error code, RIP (rom.h TRY) */
k_cs:         .quad -1
k_ss:         .quad -1
k_rcx:        .quad -1
k_r11:        .quad -1
k_flags:      .quad -1
k_rsp_delta:  .quad -1
k_rax:        .quad -1
u32_cs:       .quad 0
u32_ss:       .quad 0
u32_eip:      .quad 0
