/*
 * testroms/x86_64/exceptions.S - exception and interrupt delivery in 64-bit
 * mode. What each check relies on (Intel SDM):
 *  - Vol. 3A 6.5 and 6.15 (Table 6-1): faults (#DE, #UD, #GP, #SS, #PF, #NP)
 *    save the RIP of the faulting instruction, leaving its registers
 *    unchanged; traps (#BP from INT3 / INT 3) save the RIP of the next one.
 *  - Vol. 2A DIV/IDIV: divide by 0 and quotient overflow raise #DE.
 *    Vol. 2A UD, INTO ("#UD if in 64-bit mode"), LOCK ("#UD if the
 *    destination is not memory").
 *  - Vol. 3A 6.15 Interrupt 13/12: a non-canonical address raises #GP(0), or
 *    #SS(0) when the reference uses SS (RBP as base).
 *  - Vol. 3A 4.7 (page-fault error code: P bit 0, W/R bit 1, U/S bit 2, I/D
 *    bit 4 only when NXE or SMEP is on) and CR2 = the linear address;
 *    4.6.1: a CPL0 write to a read-only page faults only when CR0.WP=1.
 *  - Vol. 3A 6.12.1.1 / Vol. 2A INT n: INT n from CPL3 through a gate with
 *    DPL < CPL raises #GP with error code vector*8+2 (IDT bit); a gate whose
 *    P=0 raises #NP with the same form of error code (6.15 Interrupt 11).
 *    The error code's bits 15:3 hold the gate's index, i.e. the vector
 *    (6.13, Figure 6-6), also in 64-bit mode where gates are 16 bytes;
 *    QEMU TCG reports vector*16+2 there, which is not what the SDM says.
 *  - Vol. 3A 6.15 Interrupt 8 / Table 6-5: a contributory exception (#NP)
 *    while delivering a contributory one (#GP) becomes #DF with error 0,
 *    and so does a #PF while delivering a #PF (frame push to a not-present
 *    stack page); CR2 then holds the second fault's address.
 *  - Vol. 3A 6.14.2: in IA-32e mode RSP is aligned down to 16 bytes before
 *    the frame is pushed and SS:RSP is always pushed; 6.14.5: IST1 from the
 *    TSS replaces RSP for a gate with IST=1; 6.14.4: an interrupt from CPL3
 *    switches to TSS.RSP0 and loads SS with a NULL selector.
 *  - Vol. 3A 6.12.1.3: an interrupt gate clears IF, a trap gate does not;
 *    IRETQ restores RFLAGS, RSP, CS and SS (Vol. 2A IRET), and nulls DS/ES
 *    whose DPL is below the new CPL when returning to CPL3.
 *  - Vol. 3A Table 6-1 / 6.15 Interrupt 13: CLI at CPL3 with IOPL=0 is #GP(0)
 *    (Vol. 2A CLI).
 */
#include "rom.h"

#define PG_NP    0x300000           /* made not present */
#define PG_SUP   0x301000           /* supervisor-only (U/S=0) */
#define PG_RO    0x302000           /* read-only (R/W=0) */
#define PG_STK   0x303000           /* not-present stack for the nested #PF */
#define PTE_OF(va) (pt_low + (((va) - 0x200000) >> 12) * 8)

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

    /* Mask both 8259s: the trap/interrupt gate checks run with IF=1. */
    MASK_8259

/* --------------------------------------------------------------- #DE */
    movq $0x1234, %rax
    xorl %edx, %edx
    xorl %ecx, %ecx
    EXPECT_EXC 1f
de1: divq %rcx
1:  DISARM
    CHECK_REG exc_vec(%rip), "div by 0: #DE", 0
    CHECK_REG exc_rip(%rip), "div by 0: RIP of the DIV", de1
    CHECK "div by 0: RAX unchanged", 0x1234
    CHECK_REG exc_cs(%rip), "div by 0: saved CS", SEL_KCODE
    CHECK_REG exc_ss(%rip), "div by 0: saved SS (pushed in 64-bit mode)", SEL_KDATA

    movq $0x8000000000000000, %rax
    movq $-1, %rdx
    movq $-1, %rcx
    EXPECT_EXC 1f
de2: idivq %rcx                     /* INT64_MIN / -1 does not fit */
1:  DISARM
    CHECK_REG exc_vec(%rip), "idiv64 MIN/-1: #DE", 0
    CHECK_REG exc_rip(%rip), "idiv64 MIN/-1: RIP", de2

    movq $0x1000, %rax
    movb $0x10, %bl
    EXPECT_EXC 1f
de3: divb %bl                       /* 0x1000 / 0x10 = 0x100 > 0xff */
1:  DISARM
    CHECK_REG exc_vec(%rip), "div8 quotient overflow: #DE", 0
    CHECK_REG exc_rip(%rip), "div8 quotient overflow: RIP", de3
    CHECK "div8 quotient overflow: AX unchanged", 0x1000

/* --------------------------------------------------------------- #UD */
    EXPECT_EXC 1f
ud1: ud2
1:  DISARM
    CHECK_REG exc_vec(%rip), "ud2: #UD", 6
    CHECK_REG exc_rip(%rip), "ud2: RIP", ud1
    EXPECT_EXC 1f
ud2l: .byte 0xce                    /* INTO */
1:  DISARM
    CHECK_REG exc_vec(%rip), "into in 64-bit mode: #UD", 6
    CHECK_REG exc_rip(%rip), "into: RIP", ud2l
    EXPECT_EXC 1f
ud3: .byte 0xf0, 0x01, 0xc0         /* lock add %eax, %eax */
1:  DISARM
    CHECK_REG exc_vec(%rip), "lock with register destination: #UD", 6
    CHECK_REG exc_rip(%rip), "lock reg: RIP", ud3

/* --------------------------------------------------------------- #BP */
    movq %rsp, %rbx
    movq $0x5555, %rax
    stc
    EXPECT_EXC_RET
    int3
bp1:
    DISARM
    CHECK_FLAGS "int3: IRETQ restores CF", F_CF, F_CF
    CHECK_REG exc_vec(%rip), "int3: #BP", 3
    CHECK_REG exc_rip(%rip), "int3: saved RIP is the next instruction", bp1
    CHECK "int3: RAX preserved", 0x5555
    movq %rsp, %rax
    subq %rbx, %rax
    CHECK "int3: IRETQ restores RSP", 0
    clc
    EXPECT_EXC_RET
    int $3                          /* CD 03 */
bp2:
    DISARM
    CHECK_FLAGS "int 3: IRETQ restores CF=0", F_CF, 0
    CHECK_REG exc_vec(%rip), "int 3 (CD 03): #BP", 3
    CHECK_REG exc_rip(%rip), "int 3: saved RIP after the 2-byte instruction", bp2

/* ------------------------------------------------- non-canonical: #GP/#SS */
    movq $0x0000800000000000, %rbx
    movq $0x77, %rax
    EXPECT_EXC 1f
gp1: movq (%rbx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "non-canonical load: #GP", 13
    CHECK_REG exc_err(%rip), "non-canonical load: error code 0", 0
    CHECK_REG exc_rip(%rip), "non-canonical load: RIP", gp1
    CHECK "non-canonical load: RAX unchanged", 0x77
    movq $0xffff7fffffffffff, %rbx
    EXPECT_EXC 1f
gp2: movq %rax, (%rbx)
1:  DISARM
    CHECK_REG exc_vec(%rip), "non-canonical store (0xffff7fff...): #GP", 13
    CHECK_REG exc_err(%rip), "non-canonical store: error code 0", 0
    movq %rbp, %r12
    movq $0x8000000000000000, %rbp
    EXPECT_EXC 1f
ss1: movq 8(%rbp), %rax
1:  DISARM
    movq %r12, %rbp
    CHECK_REG exc_vec(%rip), "non-canonical via RBP: #SS", 12
    CHECK_REG exc_err(%rip), "non-canonical via RBP: error code 0", 0
    CHECK_REG exc_rip(%rip), "non-canonical via RBP: RIP", ss1

/* --------------------------------------------------------------- #PF */
    andq $~PTE_P, PTE_OF(PG_NP)(%rip)
    invlpg PG_NP
    movq $0x99, %rax
    EXPECT_EXC 1f
pf1: movq PG_NP + 8, %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "read not-present: #PF", 14
    CHECK_REG exc_err(%rip), "read not-present: error code 0", 0
    CHECK_REG exc_cr2(%rip), "read not-present: CR2", PG_NP + 8
    CHECK_REG exc_rip(%rip), "read not-present: RIP", pf1
    CHECK "read not-present: RAX unchanged", 0x99
    EXPECT_EXC 1f
pf2: movq $1, PG_NP + 0x10
1:  DISARM
    CHECK_REG exc_vec(%rip), "write not-present: #PF", 14
    CHECK_REG exc_err(%rip), "write not-present: error code 2 (W)", 2
    CHECK_REG exc_cr2(%rip), "write not-present: CR2", PG_NP + 0x10
    movq $PG_NP + 0x20, %rax
    EXPECT_EXC 1f
    jmp *%rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "fetch not-present: #PF", 14
    CHECK_REG exc_err(%rip), "fetch not-present, NXE=0: error code 0 (no I/D)", 0
    CHECK_REG exc_cr2(%rip), "fetch not-present: CR2", PG_NP + 0x20
    CHECK_REG exc_rip(%rip), "fetch not-present: RIP = target", PG_NP + 0x20
    orq $PTE_P, PTE_OF(PG_NP)(%rip)
    invlpg PG_NP
    movq $0xabcd, PG_NP + 8
    movq PG_NP + 8, %rax
    CHECK "page present again: store/load", 0xabcd

    /* Read-only page, CR0.WP=1 (set by start.S, set again here). */
    movq $0x1122, PG_RO
    andq $~PTE_RW, PTE_OF(PG_RO)(%rip)
    invlpg PG_RO
    movq %cr0, %rax
    orq $0x10000, %rax
    movq %rax, %cr0
    movq PG_RO, %rax
    CHECK "read-only page: read works", 0x1122
    EXPECT_EXC 1f
pf3: movq $0x3344, PG_RO
1:  DISARM
    CHECK_REG exc_vec(%rip), "CPL0 write to read-only page, WP=1: #PF", 14
    CHECK_REG exc_err(%rip), "WP=1 write: error code 3 (P W)", 3
    CHECK_REG exc_cr2(%rip), "WP=1 write: CR2", PG_RO
    CHECK_REG exc_rip(%rip), "WP=1 write: RIP", pf3
    CHECK_REG PG_RO, "WP=1 write: memory unchanged", 0x1122
    movq %cr0, %rax
    andq $~0x10000, %rax
    movq %rax, %cr0                 /* WP=0: CPL0 may write any page */
    movq $0x5566, PG_RO
    CHECK_REG PG_RO, "CPL0 write to read-only page, WP=0: succeeds", 0x5566
    movq %cr0, %rax
    orq $0x10000, %rax
    movq %rax, %cr0

/* ------------------------------------------------------- #NP and #DF */
    SET_GATE 0x94, 0, (GATE_INT & 0x7f) /* P=0 */
    EXPECT_EXC 1f
np1: int $0x94
1:  DISARM
    CHECK_REG exc_vec(%rip), "INT to a not-present gate: #NP", 11
    CHECK_REG exc_err(%rip), "not-present gate: error code vector*8+2", (0x94*8+2)
    CHECK_REG exc_rip(%rip), "not-present gate: RIP of the INT", np1

    SET_GATE 13, 0, (GATE_INT & 0x7f) /* #GP's own gate not present */
    movq $0x0000800000000000, %rbx
    EXPECT_EXC 1f
    movq (%rbx), %rax               /* #GP, then #NP delivering it: #DF */
1:  DISARM
    SET_GATE 13, 0, GATE_INT
    CHECK_REG exc_vec(%rip), "#GP with its gate not present: #DF", 8
    CHECK_REG exc_err(%rip), "#DF: error code 0", 0

    /* #PF while pushing the #PF frame (stack page not present): #DF,
     * delivered on IST1 (Table 6-5: page fault then page fault). */
    SET_GATE 8, 0, GATE_INT, 1
    andq $~PTE_P, PTE_OF(PG_STK)(%rip)
    invlpg PG_STK
    EXPECT_EXC 1f
    movq %rsp, %r12
    movq $PG_STK + 0x800, %rsp
    movq (%rsp), %rax               /* #PF; pushing its frame faults again */
1:  movq %r12, %rsp
    DISARM
    orq $PTE_P, PTE_OF(PG_STK)(%rip)
    invlpg PG_STK
    SET_GATE 8, 0, GATE_INT
    CHECK_REG exc_vec(%rip), "#PF while pushing the #PF frame: #DF", 8
    CHECK_REG exc_err(%rip), "nested #PF -> #DF: error code 0", 0
    CHECK_MASKED exc_cr2(%rip), "nested #PF -> #DF: CR2 in the stack page (second fault)", ~0xfff, PG_STK
    CHECK_REG exc_frame_top(%rip), "nested #PF -> #DF: frame on IST1", ist1_stack_top

/* ------------------------------------------------- stacks: IST, alignment */
    SET_GATE 0x90, 0, GATE_INT, 1    /* IST1 */
    movq %rsp, %rbx
    EXPECT_EXC_RET
    int $0x90
    DISARM
    CHECK_REG exc_vec(%rip), "IST1 gate: vector", 0x90
    CHECK_REG exc_frame_top(%rip), "IST1 gate: frame pushed below TSS.IST1", ist1_stack_top
    movq exc_rsp(%rip), %rax
    subq %rbx, %rax
    CHECK "IST1 gate: saved RSP equals RSP before INT", 0
    leaq ist1_stack_top - 8(%rip), %rax
    movq %rax, tss + 36(%rip)       /* misaligned IST1 */
    EXPECT_EXC_RET
    int $0x90
    DISARM
    leaq ist1_stack_top(%rip), %rax
    movq %rax, tss + 36(%rip)
    CHECK_REG exc_frame_top(%rip), "IST1 = top-8: RSP aligned down to 16", (ist1_stack_top-16)

    subq $8, %rsp                   /* misaligned current stack, no IST */
    movq %rsp, %rbx
    EXPECT_EXC_RET
    int $0x91
    DISARM
    addq $8, %rsp
    movq %rbx, %rax
    andq $-16, %rax
    subq exc_frame_top(%rip), %rax
    CHECK "no IST, RSP=8 mod 16: frame top = RSP aligned down", 0
    movq exc_rsp(%rip), %rax
    subq %rbx, %rax
    CHECK "no IST: saved RSP is the unaligned RSP", 0
    CHECK_REG exc_ss(%rip), "no IST: saved SS", SEL_KDATA
    movq %rsp, %rax
    subq %rbx, %rax
    CHECK "IRETQ restored the unaligned RSP (+8 after add)", 8

/* ------------------------------------------------ interrupt vs trap gate */
    SET_GATE 0x92, flags_handler(%rip), GATE_INT
    SET_GATE 0x93, flags_handler(%rip), GATE_TRAP
    sti
    int $0x92
    CHECK_FLAGS "IRETQ restores IF=1", F_IF, F_IF
    cli
    CHECK_REG flags_seen(%rip), "interrupt gate clears IF (RFLAGS in handler)", 0x002
    sti
    int $0x93
    cli
    CHECK_REG flags_seen(%rip), "trap gate keeps IF", 0x202

/* ------------------------------------------------------------- CPL3 */
    SET_GATE 0x80, 0, (GATE_INT | GATE_DPL3)
    andq $~PTE_US, PTE_OF(PG_SUP)(%rip)
    invlpg PG_SUP
    leaq user_code(%rip), %rdi
    movl $2, %esi
    call run_user
    orq $PTE_US, PTE_OF(PG_SUP)(%rip)
    invlpg PG_SUP
    orq $PTE_RW, PTE_OF(PG_RO)(%rip)
    invlpg PG_RO

    CHECK_REG u_cs(%rip), "CPL3: CS after IRETQ", SEL_UCODE | 3
    CHECK_REG u_ss(%rip), "CPL3: SS after IRETQ", SEL_UDATA | 3
    CHECK_REG u_ds(%rip), "CPL3: IRETQ nulled DS (DPL0 < CPL3)", 0
    CHECK_REG user_ret_ss(%rip), "CPL3 -> CPL0 interrupt loads SS with NULL", 0
    CHECK_REG slot0+0(%rip), "CPL3 int 0x80 through DPL3 gate: vector", 0x80
    CHECK_REG slot0+16(%rip), "CPL3 int 0x80: saved CS", SEL_UCODE | 3
    CHECK_REG slot0+24(%rip), "CPL3 int 0x80: frame on TSS.RSP0", rsp0_stack_top
    CHECK_REG slot0+32(%rip), "CPL3 int 0x80: saved SS", SEL_UDATA | 3
    CHECK_REG slot1+0(%rip), "CPL3 int 0x81 through DPL0 gate: #GP", 13
    CHECK_REG slot1+8(%rip), "DPL0 gate: error code vector*8+2", (0x81*8+2)
    CHECK_REG slot1+16(%rip), "DPL0 gate: saved CS", SEL_UCODE | 3
    CHECK_REG slot2+0(%rip), "CPL3 cli (IOPL 0): #GP", 13
    CHECK_REG slot2+8(%rip), "CPL3 cli: error code 0", 0
    CHECK_REG slot3+0(%rip), "CPL3 read of supervisor page: #PF", 14
    CHECK_REG slot3+8(%rip), "CPL3 supervisor read: error code 5 (P U)", 5
    CHECK_REG slot3+40(%rip), "CPL3 supervisor read: CR2", PG_SUP
    CHECK_REG slot4+0(%rip), "CPL3 write to read-only page: #PF", 14
    CHECK_REG slot4+8(%rip), "CPL3 read-only write: error code 7 (P W U)", 7
    CHECK_REG slot4+40(%rip), "CPL3 read-only write: CR2", PG_RO + 8
    CHECK_REG u_done(%rip), "CPL3 code ran to the end", 1

    POP_CALLEE_SAVED
    ret

/* Records RFLAGS as seen inside the handler (interrupt vs trap gate). */
flags_handler:
    pushfq
    popq flags_seen(%rip)
    andq $0x202, flags_seen(%rip)
    iretq

/* Copy the exception record into a result slot (runs at CPL3). */
.macro SAVE_FRAME slot
    movq exc_vec(%rip), %rax
    movq %rax, \slot+0(%rip)
    movq exc_err(%rip), %rax
    movq %rax, \slot+8(%rip)
    movq exc_cs(%rip), %rax
    movq %rax, \slot+16(%rip)
    movq exc_frame_top(%rip), %rax
    movq %rax, \slot+24(%rip)
    movq exc_ss(%rip), %rax
    movq %rax, \slot+32(%rip)
    movq exc_cr2(%rip), %rax
    movq %rax, \slot+40(%rip)
.endm

user_code:
    movq %cs, %rax
    movq %rax, u_cs(%rip)
    movq %ss, %rax
    movq %rax, u_ss(%rip)
    movq %ds, %rax
    movq %rax, u_ds(%rip)
    EXPECT_EXC_RET
    int $0x80
    DISARM
    SAVE_FRAME slot0
    EXPECT_EXC 1f
    int $0x81
1:  DISARM
    SAVE_FRAME slot1
    EXPECT_EXC 1f
    cli
1:  DISARM
    SAVE_FRAME slot2
    EXPECT_EXC 1f
    movq PG_SUP, %rax
1:  DISARM
    SAVE_FRAME slot3
    EXPECT_EXC 1f
    movq %rax, PG_RO + 8
1:  DISARM
    SAVE_FRAME slot4
    movq $1, u_done(%rip)
    int $USER_RET_VEC
    ud2

    .data
    .balign 8
flags_seen: .quad -1
u_cs:       .quad -1
u_ss:       .quad -1
u_ds:       .quad -1
u_done:     .quad 0
slot0:      .fill 6, 8, -1
slot1:      .fill 6, 8, -1
slot2:      .fill 6, 8, -1
slot3:      .fill 6, 8, -1
slot4:      .fill 6, 8, -1
