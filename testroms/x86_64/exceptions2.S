/*
 * testroms/x86_64/exceptions2.S - the exceptions exceptions.S does not
 * reach, each with its error code and saved RIP (Intel SDM Vol. 3A 6.15
 * "Exception and Interrupt Reference", Table 6-1):
 *  - #DB (1) from INT1/ICEBP (F1): trap-class, saved RIP = the next
 *    instruction (Vol. 2A INT n/INTO/INT3/INT1, Vol. 3A 6.15 Interrupt 1).
 *  - #NM (7): Vol. 3A 2.5 (CR0.EM, CR0.MP, CR0.TS) and Table 2-2 "Action
 *    Taken By x87 FPU Instructions for Different Combinations of EM, MP,
 *    and TS" and, for SSE, Vol. 3A "System Programming for Instruction Set
 *    Extensions", table "Action Taken for Combinations of OSFXSR,
 *    OSXMMEXCPT, SSE, ..., EM, MP, and TS": an x87 instruction with TS=1 or EM=1 is
 *    #NM; an SSE instruction with TS=1 is #NM, with EM=1 #UD; WAIT/FWAIT is
 *    #NM only when MP=1 and TS=1; CLTS clears TS (Vol. 2A CLTS).
 *  - #MF (16): Vol. 1 8.6 / 8.7 "x87 FPU Exception Synchronization": with
 *    CR0.NE=1 an unmasked x87 exception (divide by zero, FCW.ZM=0) sets
 *    FSW.ZE and FSW.ES and is reported at the next waiting x87 instruction
 *    (FWAIT here; RIP = the FWAIT), not at the FDIV; FNCLEX clears it.
 *  - #XM (19): Vol. 1 11.5.1, Vol. 3A 6.15 Interrupt 19 and 2.5
 *    (CR4.OSXMMEXCPT): an unmasked SIMD floating-point exception (DIVSS by zero,
 *    MXCSR.ZM=0) raises #XM with CR4.OSXMMEXCPT=1 and #UD without; MXCSR.ZE
 *    is set and the destination is unchanged (fault); SSE instructions are
 *    #UD with CR4.OSFXSR=0 (Vol. 3A 2.5 CR4.OSFXSR).
 *  - Segment-register loads in 64-bit mode (Vol. 2A MOV "Protected Mode
 *    Exceptions" for MOV Sreg, Vol. 3A 5.4.1 and 6.13 error codes =
 *    selector with TI/EXT): MOV DS of a not-present data segment is
 *    #NP(selector); MOV SS of a not-present one #SS(selector); MOV SS of a
 *    read-only data segment, of one whose RPL != CPL, MOV DS of an
 *    execute-only code segment and of a selector beyond the GDT limit are
 *    #GP(selector); the register keeps its old value (fault).
 *  - LTR (Vol. 2A LTR): a selector naming a non-TSS descriptor or a busy TSS
 *    is #GP(selector).
 * Not here: #OF and #BR (legacy.S, compatibility mode), #AC (alignment.S),
 * #DB from EFLAGS.TF (singlestep.S), #TS (in IA-32e mode only reachable
 * through 32-bit task and call-gate checks), #MC, #VE, #CP.
 */
#include "rom.h"

#define CR0_MP  0x02
#define CR0_EM  0x04
#define CR0_TS  0x08
#define CR0_NE  0x20
#define CR4_OSFXSR     0x200
#define CR4_OSXMMEXCPT 0x400
#define F_OF_BIT 0x800

/* GDT selectors added to a copy of start.S's GDT (gdt2 below). */
#define SEL_NP     0x58             /* data, P=0 */
#define SEL_RO     0x60             /* read-only data, DPL0 */
#define SEL_XO     0x68             /* execute-only code */
#define SEL_LIMIT  0x100            /* beyond the GDT limit */

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

/* ---------------------------------------------------------- #DB: INT1 */
    EXPECT_EXC_RET
    .byte 0xf1                      /* INT1 / ICEBP */
db1:
    DISARM
    CHECK_REG exc_vec(%rip), "INT1 (F1): #DB", 1
    CHECK_REG exc_rip(%rip), "INT1: saved RIP is the next instruction (trap)", db1

/* --------------------------------------------------------------- #NM */
    movq %cr0, %r12                 /* original CR0 */
    movq %r12, %rax
    andq $~(CR0_EM | CR0_TS), %rax
    orq $(CR0_MP | CR0_NE), %rax
    movq %rax, %cr0
    movq %cr4, %rax
    orq $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
    movq %rax, %cr4
    fninit
    movq %cr0, %rax
    orq $CR0_TS, %rax
    movq %rax, %cr0
    EXPECT_EXC 1f
nm1: fld1
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0.TS=1: FLD1 is #NM", 7
    CHECK_REG exc_rip(%rip), "TS=1 FLD1: RIP of the FLD1", nm1
    EXPECT_EXC 1f
nm2: addps %xmm1, %xmm0
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0.TS=1: ADDPS is #NM", 7
    CHECK_REG exc_rip(%rip), "TS=1 ADDPS: RIP", nm2
    EXPECT_EXC 1f
    fwait
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0.TS=1 MP=1: FWAIT is #NM", 7
    movq %cr0, %rax
    andq $~CR0_MP, %rax
    movq %rax, %cr0
    EXPECT_EXC 1f
    fwait
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0.TS=1 MP=0: FWAIT runs (no #NM)", -1
    clts
    CHECK_MASKED %cr0, "CLTS clears CR0.TS", CR0_TS, 0
    fld1
    addps %xmm1, %xmm0
    fstp %st(0)
    movq %cr0, %rax
    orq $CR0_EM, %rax
    movq %rax, %cr0
    EXPECT_EXC 1f
    fldz
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0.EM=1: FLDZ is #NM", 7
    EXPECT_EXC 1f
    addps %xmm1, %xmm0
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0.EM=1: ADDPS is #UD", 6
    movq %cr0, %rax
    andq $~CR0_EM, %rax
    orq $CR0_MP, %rax
    movq %rax, %cr0

/* --------------------------------------------------------------- #MF */
    fninit
    movw $0x037b, fcw(%rip)         /* default 037FH with ZM (bit 2) clear */
    fldcw fcw(%rip)
    fld1
    fdivs fzero(%rip)               /* 1.0 / 0.0: ZE, unmasked: ES */
    EXPECT_EXC 1f
    fnstsw %ax                      /* non-waiting: no #MF */
1:  DISARM
    movzwl %ax, %eax
    andl $0x84, %eax
    CHECK "unmasked x87 divide by zero: FSW.ES and FSW.ZE set", 0x84
    CHECK_REG exc_vec(%rip), "FNSTSW with an exception pending: no #MF", -1
    EXPECT_EXC 1f
mf1: fwait
1:  DISARM
    CHECK_REG exc_vec(%rip), "FWAIT with an unmasked exception pending: #MF", 16
    CHECK_REG exc_err(%rip), "#MF: no error code (stub pushes 0)", 0
    CHECK_REG exc_rip(%rip), "#MF: RIP of the FWAIT", mf1
    fnclex
    EXPECT_EXC 1f
    fwait
1:  DISARM
    CHECK_REG exc_vec(%rip), "after FNCLEX: FWAIT runs", -1
    fninit

/* --------------------------------------------------------------- #XM */
    movl $0x1d80, mxcsr(%rip)       /* default 1F80H with ZM (bit 9) clear */
    ldmxcsr mxcsr(%rip)
    movl $0x3f800000, fone(%rip)    /* 1.0f */
    movl $0, fzero(%rip)
    movss fone(%rip), %xmm0
    movss fzero(%rip), %xmm1
    EXPECT_EXC 1f
xm1: divss %xmm1, %xmm0
1:  DISARM
    CHECK_REG exc_vec(%rip), "unmasked DIVSS by zero, OSXMMEXCPT=1: #XM", 19
    CHECK_REG exc_rip(%rip), "#XM: RIP of the DIVSS", xm1
    movd %xmm0, %eax
    CHECK "#XM: destination unchanged (1.0f)", 0x3f800000
    stmxcsr mxcsr(%rip)
    movl mxcsr(%rip), %eax
    andl $4, %eax
    CHECK "#XM: MXCSR.ZE set", 4
    movl $0x1d80, mxcsr(%rip)
    ldmxcsr mxcsr(%rip)
    movq %cr4, %rax
    andq $~CR4_OSXMMEXCPT, %rax
    movq %rax, %cr4
    EXPECT_EXC 1f
    divss %xmm1, %xmm0
1:  DISARM
    CHECK_REG exc_vec(%rip), "unmasked DIVSS by zero, OSXMMEXCPT=0: #UD", 6
    movl $0x1f80, mxcsr(%rip)
    ldmxcsr mxcsr(%rip)
    movq %cr4, %rax
    andq $~CR4_OSFXSR, %rax
    movq %rax, %cr4
    EXPECT_EXC 1f
    addps %xmm1, %xmm0
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR4.OSFXSR=0: ADDPS is #UD", 6
    movq %r12, %cr0

/* ------------------------------------------------ segment-register loads */
    leaq gdt(%rip), %rsi            /* gdt2 = start.S's GDT + test entries */
    leaq gdt2(%rip), %rdi
    movl $SEL_NP, %ecx
    rep movsb
    sgdt old_gdtr(%rip)
    lgdt gdt2_desc(%rip)

    movw $SEL_NP, %ax
    EXPECT_EXC 1f
np1: movw %ax, %ds
1:  DISARM
    CHECK_REG exc_vec(%rip), "MOV DS, not-present data segment: #NP", 11
    CHECK_REG exc_err(%rip), "MOV DS not present: error code = selector", SEL_NP
    CHECK_REG exc_rip(%rip), "MOV DS not present: RIP of the MOV", np1
    movw %ds, %ax
    movzwl %ax, %eax
    CHECK "MOV DS not present: DS unchanged", SEL_KDATA
    movw $SEL_NP, %ax
    EXPECT_EXC 1f
    movw %ax, %ss
1:  DISARM
    CHECK_REG exc_vec(%rip), "MOV SS, not-present data segment: #SS", 12
    CHECK_REG exc_err(%rip), "MOV SS not present: error code = selector", SEL_NP
    movw $SEL_RO, %ax
    EXPECT_EXC 1f
    movw %ax, %ss
1:  DISARM
    CHECK_REG exc_vec(%rip), "MOV SS, read-only data segment: #GP", 13
    CHECK_REG exc_err(%rip), "MOV SS read-only: error code = selector", SEL_RO
    movw $SEL_RO, %ax
    movw %ax, %es                   /* fine for ES */
    movw %es, %ax
    movzwl %ax, %eax
    CHECK "MOV ES, read-only data segment: loads", SEL_RO
    movw $SEL_KDATA, %ax
    movw %ax, %es
    movw $(SEL_KDATA | 3), %ax
    EXPECT_EXC 1f
    movw %ax, %ss
1:  DISARM
    CHECK_REG exc_vec(%rip), "MOV SS with RPL 3 at CPL0: #GP", 13
    CHECK_REG exc_err(%rip), "MOV SS RPL != CPL: error code = selector index", SEL_KDATA
    movw $SEL_XO, %ax
    EXPECT_EXC 1f
    movw %ax, %ds
1:  DISARM
    CHECK_REG exc_vec(%rip), "MOV DS, execute-only code segment: #GP", 13
    CHECK_REG exc_err(%rip), "MOV DS execute-only: error code = selector", SEL_XO
    movw $SEL_LIMIT, %ax
    EXPECT_EXC 1f
    movw %ax, %fs
1:  DISARM
    CHECK_REG exc_vec(%rip), "MOV FS, selector beyond the GDT limit: #GP", 13
    CHECK_REG exc_err(%rip), "beyond the limit: error code = selector", SEL_LIMIT

    movw $SEL_KDATA, %ax
    EXPECT_EXC 1f
    ltr %ax
1:  DISARM
    CHECK_REG exc_vec(%rip), "LTR of a data segment: #GP", 13
    CHECK_REG exc_err(%rip), "LTR data segment: error code = selector", SEL_KDATA
    movw $SEL_TSS, %ax
    EXPECT_EXC 1f
    ltr %ax
1:  DISARM
    CHECK_REG exc_vec(%rip), "LTR of the busy TSS: #GP", 13
    CHECK_REG exc_err(%rip), "LTR busy TSS: error code = selector", SEL_TSS
    lgdt old_gdtr(%rip)

    POP_CALLEE_SAVED
    ret

    .data
    .balign 8
fcw:        .word 0
    .balign 4
mxcsr:      .long 0
fone:       .long 0
fzero:      .long 0
    .balign 8
old_gdtr:   .word 0
            .quad 0
    .balign 8
gdt2:
    .fill SEL_NP, 1, 0
    .quad 0x00cf12000000ffff        /* 0x58 data RW, P=0 */
    .quad 0x00cf90000000ffff        /* 0x60 data read-only, DPL0 */
    .quad 0x00cf98000000ffff        /* 0x68 code execute-only, DPL0 */
gdt2_end:
    PSEUDO_DESC gdt2_desc, gdt2, (gdt2_end - gdt2 - 1)
