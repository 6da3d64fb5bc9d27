/*
 * testroms/x86_64/task.S - hardware task switching in legacy 32-bit
 * protected mode (paging off). Leaves long mode as modes.S does (lib.S
 * run_legacy32, SDM Vol. 3A 10.8.5.4), runs with its own GDT/IDT/TSSs, records results in res32, comes
 * back to 64-bit mode and checks them.
 *  - SDM Vol. 3A 7.2.1 (32-bit TSS layout: link 0, EIP 20H, EFLAGS 24H,
 *    EAX..EDI 28H-44H, ES CS SS DS FS GS 48H-5CH), 7.2.2 (busy flag: type 9
 *    available, 0BH busy), 7.2.5 (task gates in the GDT and the IDT).
 *  - SDM Vol. 3A 7.3 (the switch saves the old task's state with EIP of the
 *    next instruction for JMP/CALL/INT n and of the faulting instruction for
 *    a fault, loads the new one; CR0.TS is set on every task switch) and
 *    Table 7-2: JMP clears the old busy flag, sets the new one, leaves NT
 *    (of the old task's saved image and of the new task) and the link alone; CALL / interrupt keep the old busy flag, write the old
 *    TSS selector into the new TSS's link field and set NT in the new task;
 *    IRET clears the old busy flag and NT in the saved EFLAGS image.
 *  - SDM Vol. 3A 6.12.2: an exception through a task gate pushes its error
 *    code on the new task's stack (#GP(selector); #DF with error code 0).
 *  - SDM Vol. 3A Table 7-1 / Vol. 2A JMP, CALL, IRET: TSS limit below 67H ->
 *    #TS(new TSS); JMP to a busy TSS -> #GP(TSS); CALL to a not-present TSS
 *    -> #NP(TSS); IRET with NT=1 whose link names an available (not busy)
 *    TSS -> #TS(link); a bad DS in the new TSS -> #TS(DS) raised after the
 *    commit point, in the new task (TR = new TSS, pushed EIP = its EIP:
 *    7.3 step 14, "the first instruction of the new task appears not to have
 *    been executed").
 *  - SDM Vol. 3A 7.6 (16-bit TSS: IP 0EH, FLAGS 10H, AX 12H, ES CS SS DS
 *    22H-28H, LDT 2AH; limit below 2BH -> #TS), with CALL and IRET back.
 *  - SDM Vol. 3A 7.2.1 "Debug trap (T) flag", Vol. 3B 18.2.3 (DR6.BT) and
 *    18.3.1.6: a JMP to a TSS whose T flag (bit 0 of the word at 64H) is
 *    set raises #DB in the new task before its first instruction: DR6.BT
 *    set, pushed EIP = the new task's EIP, TR = the new TSS, exactly one #DB
 *    and the first instruction sees it already delivered.
 *  - IA-32e mode (SDM Vol. 3A 7.7, Vol. 2A JMP / INT n / IRET): far JMP to
 *    a TSS -> #GP(selector); a task gate in the IDT -> #GP(vector * 8 + 2,
 *    6.13: the index field of an IDT error code is the vector); IRET with
 *    NT=1 -> #GP(0).
 * QEMU 7.2 (TCG), run on this ROM as a cross-check, fails three checks where it
 * departs from the SDM: it reports the 64-bit IDT error code as vector * 16
 * + 2, loses the arithmetic flags of a task resumed by a JMP (lazy flags not
 * reset after the switch), and pushes the EIP of the JMP instead of the new
 * task's EIP for a fault after the commit point.
 */
#include "rom.h"

/* Legacy GDT (gdt32): 0x08/0x10 match rom.h's SEL_KCODE/SEL_KDATA. */
#define S_CODE64  0x08
#define S_DATA    0x10
#define S_CODE32  0x18
#define S_TMAIN   0x20
#define S_TA      0x28
#define S_TB      0x30
#define S_TSMALL  0x38              /* limit 60H < 67H */
#define S_TNP     0x40              /* P = 0 */
#define S_GATEB   0x48              /* task gate -> S_TB */
#define S_TEXC    0x50
#define S_TINT    0x58
#define S_TDF     0x60
#define S_TBAD    0x68              /* DS = 0x7f8 (beyond the GDT limit) */
#define S_T16     0x70              /* 16-bit TSS (type 1) */
#define S_C16     0x78              /* 32-bit code, base = task16_entry */
#define S_T16SMALL 0x80             /* 16-bit TSS, limit 2AH < 2BH */
#define S_TT      0x88              /* TSS with the debug trap flag T = 1 */
#define GDT32_LIMIT 0x8f
#define BAD_SEL   0x7f8

#define TSS_SIZE  0x68
#define R(n)      (res32 + 4 * (n))

/* Result slots. */
#define R_UNEXP        0
#define R_VEC          1
#define R_ERR          2
#define R_FEIP         3
#define R_FTR          4
/* pre-commit faults */
#define R_TS_SMALL_V   5
#define R_TS_SMALL_E   6
#define R_GP_BUSY_V    7
#define R_GP_BUSY_E    8
#define R_NP_V         9
#define R_NP_E         10
#define R_IRET_V       11
#define R_IRET_E       12
#define R_FAULT_TR     13
/* JMP to task A */
#define R_A_EAX        14
#define R_A_FL         15
#define R_A_TR         16
#define R_A_TS         17
#define R_A_MAIN_TYPE  18
#define R_A_A_TYPE     19
#define R_A_LINK       20
#define R_A_ESP        21
#define R_M_EIP        22
#define R_M_FL         23
#define R_M_EAX        24
#define R_M_ECX        25
#define R_M_EBX        26
#define R_M_ESP        27
#define R_M_EBP        28
#define R_M_ESI        29
#define R_M_EDI        30
#define R_M_ES         31
#define R_M_CS         32
#define R_M_SS         33
#define R_MAIN_ESP     34
#define R_BACK_EAX     35
#define R_BACK_EDI     36
#define R_BACK_FL      37
#define R_BACK_MTYPE   38
#define R_BACK_ATYPE   39
#define R_A_SAVED_EIP  40
#define R_BACK_TR      41
/* CALL through a task gate to task B, IRET back */
#define R_B_FL         42
#define R_B_LINK       43
#define R_B_TR         44
#define R_B_MTYPE      45
#define R_B_BTYPE      46
#define R_B_MAIN_EIP   47
#define R_C_FL         48
#define R_C_TR         49
#define R_C_BTYPE      50
#define R_C_MTYPE      51
#define R_C_B_SAVED_FL 52
#define R_C_B_SAVED_EIP 53
/* INT 0x40 through a task gate */
#define R_I_FL         54
#define R_I_LINK       55
#define R_I_ESP        56
#define R_I_MAIN_EIP   57
#define R_I_TR         58
#define R_I_BACK_TYPE  59
#define R_I_BACK_FL    60
/* #GP through a task gate */
#define R_E_ERR        61
#define R_E_ESP        62
#define R_E_MAIN_EIP   63
#define R_E_FL         64
#define R_E_BACK_DS    65
/* #DF through a task gate */
#define R_D_ERR        66
#define R_D_ESP        67
#define R_D_TR         68
#define R_D_LINK       69
/* post-commit #TS */
#define R_P_V          70
#define R_P_E          71
#define R_P_EIP        72
#define R_P_TR         73
#define R_DONE         74
/* 16-bit TSS */
#define R_S_EAX        75
#define R_S_FL         76
#define R_S_LINK       77
#define R_S_TR         78
#define R_S_TYPE       79
#define R_S_BACK_IP    80
#define R_S_BACK_FL    81
#define R_S_BACK_TYPE  82
#define R_S_BACK_TR    83
#define R_S_SMALL_V    84
#define R_S_SMALL_E    85
/* TSS T flag */
#define R_T_COUNT      86
#define R_T_DR6        87
#define R_T_EIP        88
#define R_T_TR         89
#define R_T_AT_ENTRY   90
#define R_T_BACK_TR    91
#define R_COUNT        92

/* TRY_TASK vslot, eslot, insn...: arm the legacy-mode recorder (resume32,
 * R_VEC = -1), run the instruction, which must fault (else `unexpected`),
 * then copy R_VEC and R_ERR to the result slots vslot and eslot (clobbers
 * EAX). */
.macro TRY_TASK vslot:req, eslot:req, insn:vararg
    movl $.Ltry_task\@, resume32
    movl $-1, R(R_VEC)
    \insn
    jmp unexpected
.Ltry_task\@:
    movl R(R_VEC), %eax
    movl %eax, R(\vslot)
    movl R(R_ERR), %eax
    movl %eax, R(\eslot)
.endm

/* Results of the legacy-mode code, checked in 64-bit mode. */
#define RES(n) (res32 + 4 * (n))(%rip)
/* CHECK_RES n, "desc", expected: CHECK the dword res32[n]. CHECK_RES_AT n,
 * "desc", label: CHECK that res32[n] is the address of label (1 = yes).
 * Clobber RAX (and RDX). */
.macro CHECK_RES n:req, desc:req, exp:req
    movl RES(\n), %eax
    CHECK "\desc", \exp
.endm
.macro CHECK_RES_AT n:req, desc:req, label:req
    movl RES(\n), %eax
    leaq \label(%rip), %rdx
    cmpq %rdx, %rax
    sete %al
    movzbl %al, %eax
    CHECK "\desc", 1
.endm

    .text
    .code64
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

    /* IA-32e mode has no task switches (SDM Vol. 3A 7.7; Vol. 2A JMP,
     * INT n, IRET): far JMP to a TSS -> #GP(TSS selector); a task gate
     * (type 5) in the IDT -> #GP(vector * 8 + 2); IRET with NT=1 -> #GP(0). */
    EXPECT_EXC 1f
lm_jmp_tss:
    ljmpl *far_tss(%rip)
1:  DISARM
    CHECK_REG exc_vec(%rip), "IA-32e: far JMP to a TSS: #GP", 13
    CHECK_REG exc_err(%rip), "... error code = TSS selector", SEL_TSS
    CHECK_REG exc_rip(%rip), "... RIP of the JMP", lm_jmp_tss
    movq $(SEL_TSS << 16) | (0x85 << 40), %rax
    movq %rax, idt + 0x41 * 16(%rip)
    movq $0, idt + 0x41 * 16 + 8(%rip)
    EXPECT_EXC 1f
    int $0x41
1:  DISARM
    CHECK_REG exc_vec(%rip), "IA-32e: INT through a task gate: #GP", 13
    CHECK_REG exc_err(%rip), "... error code = IDT vector 41H", (0x41*8+2)
    movq %rsp, %rbx
    pushq $SEL_KDATA
    pushq %rbx
    pushq $0x2
    pushq $SEL_KCODE
    leaq 2f(%rip), %rax
    pushq %rax
    pushfq
    orq $0x4000, (%rsp)
    popfq
    EXPECT_EXC 1f
    iretq
2:  jmp 3f
1:  DISARM
    pushfq
    andq $~0x4000, (%rsp)
    popfq
3:  movq %rbx, %rsp
    CHECK_REG exc_vec(%rip), "IA-32e: IRET with NT=1: #GP", 13
    CHECK_REG exc_err(%rip), "... error code 0", 0

    leaq res32(%rip), %rdi          /* results: all ones, R_UNEXP = 0 */
    movq $-1, %rax
    movl $R_COUNT, %ecx
    rep stosl
    movl $0, res32(%rip)

    movl $pm_entry, %edi            /* lib.S: legacy protected mode and back */
    call run_legacy32               /* (it reloads start.S's GDT and IDT) */
    jmp lm_back

/* --------------------------------------------- legacy PM (run_legacy32) */
    .code32
pm_entry:
    movl %esp, pm_saved_esp
    call build_tables
    lgdtl gdt32_desc
    lidtl idt32_desc
    ljmpl $S_CODE32, $pm32
pm32:
    LOAD_DATA_SEGS S_DATA, 1
    movl $stack_main_top, %esp
    movw $S_TMAIN, %ax
    ltr %ax

    /* ---------------- faults before the commit point (interrupt gates) */
    /* limit 60H < 67H: #TS(new TSS) */
    TRY_TASK R_TS_SMALL_V, R_TS_SMALL_E, ljmpl $S_TSMALL, $0

    /* JMP to the running (busy) TSS: #GP(TSS) */
    TRY_TASK R_GP_BUSY_V, R_GP_BUSY_E, ljmpl $S_TMAIN, $0

    /* CALL to a not-present TSS: #NP(TSS) */
    TRY_TASK R_NP_V, R_NP_E, lcall $S_TNP, $0
    movl R(R_FTR), %eax
    movl %eax, R(R_FAULT_TR)        /* still the old task */

    /* IRET, NT=1, link = available TSS A: #TS(link) */
    movl $S_TA, tss_main
    pushl $0x4002
    popfl
    TRY_TASK R_IRET_V, R_IRET_E, iretl
    movl $0, tss_main

    /* ---------------- JMP to TSS A (not nested) */
    clts
    movl %esp, R(R_MAIN_ESP)
    pushl $0x4003                   /* EFLAGS = NT | CF | bit 1 */
    popfl
    movl $0x11111111, %eax
    movl $0x22222222, %ebx
    movl $0x33333333, %ecx
    movl $0x44444444, %edx
    movl $0x55555555, %esi
    movl $0x66666666, %edi
    movl $0x77777777, %ebp
    ljmpl $S_TA, $0x12345678        /* the offset is ignored */
after_jmp_a:
    pushfl
    movl %eax, R(R_BACK_EAX)
    movl %edi, R(R_BACK_EDI)
    popl %eax
    movl %eax, R(R_BACK_FL)
    movzbl gdt32 + S_TMAIN + 5, %eax
    movl %eax, R(R_BACK_MTYPE)
    movzbl gdt32 + S_TA + 5, %eax
    movl %eax, R(R_BACK_ATYPE)
    movl tss_a + 0x20, %eax
    movl %eax, R(R_A_SAVED_EIP)
    str %eax
    movl %eax, R(R_BACK_TR)

    /* ---------------- JMP to a TSS with T = 1: #DB before its first insn */
    xorl %eax, %eax
    movl %eax, %dr6
    movl %eax, R(R_T_COUNT)
    movl %eax, R(R_T_DR6)
    ljmpl $S_TT, $0
after_jmp_t:
    str %eax
    movl %eax, R(R_T_BACK_TR)

    /* ---------------- CALL through task gate -> TSS B, IRET back */
    pushl $0x2
    popfl
    lcall $S_GATEB, $0
after_call_b:
    pushfl
    popl %eax
    movl %eax, R(R_C_FL)
    str %eax
    movl %eax, R(R_C_TR)
    movzbl gdt32 + S_TB + 5, %eax
    movl %eax, R(R_C_BTYPE)
    movzbl gdt32 + S_TMAIN + 5, %eax
    movl %eax, R(R_C_MTYPE)
    movl tss_b + 0x24, %eax
    movl %eax, R(R_C_B_SAVED_FL)
    movl tss_b + 0x20, %eax
    movl %eax, R(R_C_B_SAVED_EIP)

    /* ---------------- INT 0x40 through an IDT task gate */
    int $0x40
after_int40:
    pushfl
    popl %eax
    movl %eax, R(R_I_BACK_FL)
    movzbl gdt32 + S_TINT + 5, %eax
    movl %eax, R(R_I_BACK_TYPE)

    /* ---------------- #GP(selector) through an IDT task gate */
    movl $((S_TEXC << 16)), idt32 + 13 * 8
    movl $0x8500, idt32 + 13 * 8 + 4
    movl $BAD_SEL, %eax
gp_insn:
    movw %ax, %ds                   /* beyond the GDT limit: #GP(0x7f8) */
    jmp unexpected
gp_resume:
    movw %ds, %ax
    movzwl %ax, %eax
    movl %eax, R(R_E_BACK_DS)

    /* ---------------- #DF through an IDT task gate */
    movl $0x0e00, idt32 + 13 * 8 + 4    /* #GP: interrupt gate with P = 0 */
    movl $BAD_SEL, %eax
df_insn:
    movw %ax, %ds                   /* #GP, then #NP(IDT 13) while delivering: #DF */
    jmp unexpected
df_resume:

    /* ---------------- 16-bit TSS: CALL, IRET back; limit 2AH -> #TS */
    pushl $0x2
    popfl
    lcall $S_T16, $0
after_call16:
    movzwl tss16 + 0x0e, %eax
    movl %eax, R(R_S_BACK_IP)
    movzwl tss16 + 0x10, %eax
    movl %eax, R(R_S_BACK_FL)
    movzbl gdt32 + S_T16 + 5, %eax
    movl %eax, R(R_S_BACK_TYPE)
    str %eax
    movl %eax, R(R_S_BACK_TR)
    TRY_TASK R_S_SMALL_V, R_S_SMALL_E, ljmpl $S_T16SMALL, $0

    /* ---------------- post-commit fault: bad DS in the new TSS */
    movl $post_resume, resume32
    movl $-1, R(R_VEC)
    ljmpl $S_TBAD, $0
    jmp unexpected
post_resume:
    movl $S_DATA, %eax              /* running as task TBAD now */
    movw %ax, %ds
    movw %ax, %es
    movl R(R_VEC), %eax
    movl %eax, R(R_P_V)
    movl R(R_ERR), %eax
    movl %eax, R(R_P_E)
    movl R(R_FEIP), %eax
    movl %eax, R(R_P_EIP)
    movl R(R_FTR), %eax
    movl %eax, R(R_P_TR)
    movl $0x600d, R(R_DONE)
    jmp back_to_long

/* --------------------------------------------- task bodies */
task_a_entry:
    movl %eax, R(R_A_EAX)
    pushfl
    popl %eax
    movl %eax, R(R_A_FL)
    str %eax
    movl %eax, R(R_A_TR)
    movl %cr0, %eax
    andl $8, %eax
    movl %eax, R(R_A_TS)
    movzbl gdt32 + S_TMAIN + 5, %eax
    movl %eax, R(R_A_MAIN_TYPE)
    movzbl gdt32 + S_TA + 5, %eax
    movl %eax, R(R_A_A_TYPE)
    movl tss_a, %eax
    movl %eax, R(R_A_LINK)
    movl %esp, R(R_A_ESP)
    movl tss_main + 0x20, %eax
    movl %eax, R(R_M_EIP)
    movl tss_main + 0x24, %eax
    movl %eax, R(R_M_FL)
    movl tss_main + 0x28, %eax
    movl %eax, R(R_M_EAX)
    movl tss_main + 0x2c, %eax
    movl %eax, R(R_M_ECX)
    movl tss_main + 0x34, %eax
    movl %eax, R(R_M_EBX)
    movl tss_main + 0x38, %eax
    movl %eax, R(R_M_ESP)
    movl tss_main + 0x3c, %eax
    movl %eax, R(R_M_EBP)
    movl tss_main + 0x40, %eax
    movl %eax, R(R_M_ESI)
    movl tss_main + 0x44, %eax
    movl %eax, R(R_M_EDI)
    movzwl tss_main + 0x48, %eax
    movl %eax, R(R_M_ES)
    movzwl tss_main + 0x4c, %eax
    movl %eax, R(R_M_CS)
    movzwl tss_main + 0x50, %eax
    movl %eax, R(R_M_SS)
    movl $0xaaaa, %eax
    movl $0xbbbb, %edi
    ljmpl $S_TMAIN, $0
task_a_after_jmp:
    jmp unexpected

task_b_entry:
    pushfl
    popl %eax
    movl %eax, R(R_B_FL)
    movl tss_b, %eax
    movl %eax, R(R_B_LINK)
    str %eax
    movl %eax, R(R_B_TR)
    movzbl gdt32 + S_TMAIN + 5, %eax
    movl %eax, R(R_B_MTYPE)
    movzbl gdt32 + S_TB + 5, %eax
    movl %eax, R(R_B_BTYPE)
    movl tss_main + 0x20, %eax
    movl %eax, R(R_B_MAIN_EIP)
    iretl
task_b_after_iret:
    jmp unexpected

task_int_entry:
    pushfl
    popl %eax
    movl %eax, R(R_I_FL)
    movl tss_int, %eax
    movl %eax, R(R_I_LINK)
    movl %esp, R(R_I_ESP)
    movl tss_main + 0x20, %eax
    movl %eax, R(R_I_MAIN_EIP)
    str %eax
    movl %eax, R(R_I_TR)
    iretl
    jmp unexpected

task_exc_entry:
    movl (%esp), %eax
    movl %eax, R(R_E_ERR)
    movl %esp, R(R_E_ESP)
    movl tss_main + 0x20, %eax
    movl %eax, R(R_E_MAIN_EIP)
    pushfl
    popl %eax
    movl %eax, R(R_E_FL)
    movl $gp_resume, tss_main + 0x20
    addl $4, %esp
    iretl
    jmp unexpected

task_df_entry:
    movl (%esp), %eax
    movl %eax, R(R_D_ERR)
    movl %esp, R(R_D_ESP)
    str %eax
    movl %eax, R(R_D_TR)
    movl tss_df, %eax
    movl %eax, R(R_D_LINK)
    movl $df_resume, tss_main + 0x20
    addl $4, %esp
    iretl
    jmp unexpected

task_t_entry:                       /* #DB (DR6.BT) comes before this */
    movl R(R_T_COUNT), %eax
    movl %eax, R(R_T_AT_ENTRY)
    ljmpl $S_TMAIN, $0
    jmp unexpected

/* Runs with CS base = task16_entry (S_C16): only relative jumps. */
task16_entry:
    movl %eax, R(R_S_EAX)
    movl $stack_b_top, %esp
    pushfl
    popl %eax
    movl %eax, R(R_S_FL)
    movzwl tss16, %eax
    movl %eax, R(R_S_LINK)
    str %eax
    movl %eax, R(R_S_TR)
    movzbl gdt32 + S_T16 + 5, %eax
    movl %eax, R(R_S_TYPE)
    iretl
task16_after_iret:
    jmp unexpected

/* --------------------------------------------- interrupt-gate handlers */
fault_ts:
    pushl %eax
    movl $10, %eax
    jmp fault_common
fault_np:
    pushl %eax
    movl $11, %eax
    jmp fault_common
fault_ss:
    pushl %eax
    movl $12, %eax
    jmp fault_common
fault_gp:
    pushl %eax
    movl $13, %eax
fault_common:                       /* [esp] eax, err, EIP, CS, EFLAGS */
    pushl %eax
    movl $S_DATA, %eax
    movw %ax, %ds
    popl %eax
    movl %eax, R(R_VEC)
    movl 4(%esp), %eax
    movl %eax, R(R_ERR)
    movl 8(%esp), %eax
    movl %eax, R(R_FEIP)
    str %eax
    movl %eax, R(R_FTR)
    movl resume32, %eax
    movl %eax, 8(%esp)
    movl $unexpected, resume32      /* a second fault ends the legacy part */
    andl $~0x4000, 16(%esp)         /* NT = 0 in the EFLAGS image */
    popl %eax
    addl $4, %esp
    iretl

fault_db:                           /* [esp] EIP, CS, EFLAGS (trap: no error code) */
    pushl %eax
    incl R(R_T_COUNT)
    movl %dr6, %eax
    movl %eax, R(R_T_DR6)
    movl 4(%esp), %eax
    movl %eax, R(R_T_EIP)
    str %eax
    movl %eax, R(R_T_TR)
    popl %eax
    iretl

unexp_handler:
unexpected:
    movl $S_DATA, %eax
    movw %ax, %ds
    movl $1, R(R_UNEXP)
    jmp back_to_long

/* --------------------------------------------- tables */
/* mk_tss_desc: EDI = GDT slot, ESI = base, ECX = limit (< 64K), EDX = access byte. */
mk_tss_desc:
    movl %esi, %eax
    shll $16, %eax
    movw %cx, %ax
    movl %eax, (%edi)
    movl %esi, %eax
    andl $0xff000000, %eax
    movl %esi, %ebx
    shrl $16, %ebx
    andl $0xff, %ebx
    orl %ebx, %eax
    shll $8, %edx
    orl %edx, %eax
    movl %eax, 4(%edi)
    ret

/* init_tss: EDI = TSS, ESI = EIP, EDX = ESP. Flat CPL0 task, EFLAGS = 2. */
init_tss:
    pushl %edi
    pushl %ecx
    xorl %eax, %eax
    movl $(TSS_SIZE / 4), %ecx
    rep stosl
    popl %ecx
    popl %edi
    movl %esi, 0x20(%edi)
    movl $2, 0x24(%edi)
    movl %edx, 0x38(%edi)
    movl $S_DATA, 0x48(%edi)
    movl $S_CODE32, 0x4c(%edi)
    movl $S_DATA, 0x50(%edi)
    movl $S_DATA, 0x54(%edi)
    movl $S_DATA, 0x58(%edi)
    movl $S_DATA, 0x5c(%edi)
    movl $(TSS_SIZE << 16), 0x64(%edi)   /* I/O map base beyond the limit */
    ret

/* TSS_DESC slot, tss, limit, access */
.macro TSS_DESC slot, tss, limit, access
    movl $(gdt32 + \slot), %edi
    movl $\tss, %esi
    movl $\limit, %ecx
    movl $\access, %edx
    call mk_tss_desc
.endm
.macro TSS_INIT tss, eip, esp
    movl $\tss, %edi
    movl $\eip, %esi
    movl $\esp, %edx
    call init_tss
.endm

build_tables:
    movl $S_DATA, %eax              /* flat data (CPL0, still the old GDT) */
    movw %ax, %ds
    movw %ax, %es
    TSS_DESC S_TMAIN, tss_main, 0x67, 0x89
    TSS_DESC S_TA, tss_a, 0x67, 0x89
    TSS_DESC S_TB, tss_b, 0x67, 0x89
    TSS_DESC S_TSMALL, tss_small, 0x60, 0x89
    TSS_DESC S_TNP, tss_small, 0x67, 0x09
    TSS_DESC S_TEXC, tss_exc, 0x67, 0x89
    TSS_DESC S_TINT, tss_int, 0x67, 0x89
    TSS_DESC S_TDF, tss_df, 0x67, 0x89
    TSS_DESC S_TBAD, tss_bad, 0x67, 0x89
    TSS_DESC S_T16, tss16, 0x2b, 0x81
    TSS_DESC S_T16SMALL, tss16, 0x2a, 0x81
    TSS_DESC S_TT, tss_t, 0x67, 0x89
    TSS_DESC S_C16, task16_entry, 0xffff, 0x9b
    orl $0x00400000, gdt32 + S_C16 + 4  /* D = 1 */
    movl $0x0003, tss16 + 0x10      /* FLAGS: CF */
    movw $0x1616, tss16 + 0x12      /* AX */
    movw $S_DATA, tss16 + 0x22      /* ES */
    movw $S_C16, tss16 + 0x24       /* CS (IP = 0) */
    movw $S_DATA, tss16 + 0x26      /* SS */
    movw $S_DATA, tss16 + 0x28      /* DS */
    TSS_INIT tss_main, 0, 0
    TSS_INIT tss_a, task_a_entry, stack_a_top
    movl $0x0802, tss_a + 0x24      /* EFLAGS: OF */
    movl $0xa0a0a0a0, tss_a + 0x28  /* EAX */
    TSS_INIT tss_b, task_b_entry, stack_b_top
    TSS_INIT tss_small, unexpected, stack_b_top
    TSS_INIT tss_exc, task_exc_entry, stack_exc_top
    TSS_INIT tss_int, task_int_entry, stack_int_top
    TSS_INIT tss_df, task_df_entry, stack_df_top
    TSS_INIT tss_bad, bad_task_entry, stack_bad_top
    TSS_INIT tss_t, task_t_entry, stack_a_top
    orl $1, tss_t + 0x64            /* T: debug trap on a switch to this task */
    movl $BAD_SEL, tss_bad + 0x54   /* DS */
    /* IDT: every vector -> unexp_handler, then the ones under test. */
    movl $idt32, %edi
    movl $0x41, %ecx
1:  movl $unexp_handler, %eax
    andl $0xffff, %eax
    orl $(S_CODE32 << 16), %eax
    movl %eax, (%edi)
    movl $unexp_handler, %eax
    andl $0xffff0000, %eax
    orl $0x8e00, %eax
    movl %eax, 4(%edi)
    addl $8, %edi
    loop 1b
.macro INT_GATE vec, handler
    movl $\handler, %eax
    andl $0xffff, %eax
    orl $(S_CODE32 << 16), %eax
    movl %eax, idt32 + \vec * 8
    movl $\handler, %eax
    andl $0xffff0000, %eax
    orl $0x8e00, %eax
    movl %eax, idt32 + \vec * 8 + 4
.endm
    INT_GATE 1, fault_db
    INT_GATE 10, fault_ts
    INT_GATE 11, fault_np
    INT_GATE 12, fault_ss
    INT_GATE 13, fault_gp
    movl $(S_TINT << 16), idt32 + 0x40 * 8      /* task gate, P, DPL0 */
    movl $0x8500, idt32 + 0x40 * 8 + 4
    movl $(S_TDF << 16), idt32 + 8 * 8
    movl $0x8500, idt32 + 8 * 8 + 4
    ret

bad_task_entry:                     /* never runs: DS is bad */
    jmp unexpected

/* --------------------------------------------- back: PM -> long mode */
back_to_long:
    cli
    LOAD_DATA_SEGS S_DATA
    movl pm_saved_esp, %esp
    clts
    ret                             /* from pm_entry, to run_legacy32 */

    .code64
lm_back:
    andb $~2, gdt + SEL_TSS + 5(%rip)   /* the 64-bit TSS is marked busy: LTR again */
    movw $SEL_TSS, %ax
    ltr %ax
    PRINT "back in 64-bit mode"

    CHECK_RES R_UNEXP, "no unexpected event in legacy mode", 0
    CHECK_RES R_DONE, "legacy-mode part ran to the end", 0x600d

    CHECK_RES R_TS_SMALL_V, "JMP to a TSS with limit 60H: #TS", 10
    CHECK_RES R_TS_SMALL_E, "... error code = new TSS selector", S_TSMALL
    CHECK_RES R_GP_BUSY_V, "JMP to the busy current TSS: #GP", 13
    CHECK_RES R_GP_BUSY_E, "... error code = TSS selector", S_TMAIN
    CHECK_RES R_NP_V, "CALL to a not-present TSS: #NP", 11
    CHECK_RES R_NP_E, "... error code = TSS selector", S_TNP
    CHECK_RES R_FAULT_TR, "... raised in the old task (TR unchanged)", S_TMAIN
    CHECK_RES R_IRET_V, "IRET NT=1 with link -> available TSS: #TS", 10
    CHECK_RES R_IRET_E, "... error code = link selector", S_TA

    CHECK_RES R_A_EAX, "JMP task A: EAX loaded from its TSS", 0xa0a0a0a0
    CHECK_RES R_A_FL, "JMP task A: EFLAGS from its TSS, NT=0", 0x0802
    CHECK_RES R_A_TR, "JMP task A: TR = TSS A", S_TA
    CHECK_RES R_A_TS, "JMP task A: CR0.TS set by the switch", 8
    CHECK_RES R_A_MAIN_TYPE, "JMP task A: old TSS descriptor not busy (89H)", 0x89
    CHECK_RES R_A_A_TYPE, "JMP task A: new TSS descriptor busy (8BH)", 0x8b
    CHECK_RES R_A_LINK, "JMP task A: link field not written", 0
    CHECK_RES R_A_ESP, "JMP task A: ESP from its TSS", stack_a_top
    CHECK_RES_AT R_M_EIP, "old TSS: EIP = instruction after the JMP", after_jmp_a
    CHECK_RES R_M_FL, "old TSS: EFLAGS saved, NT unchanged by JMP (Table 7-2)", 0x4003
    CHECK_RES R_M_EAX, "old TSS: EAX", 0x11111111
    CHECK_RES R_M_ECX, "old TSS: ECX", 0x33333333
    CHECK_RES R_M_EBX, "old TSS: EBX", 0x22222222
    movl RES(R_M_ESP), %eax
    movl RES(R_MAIN_ESP), %edx
    subl %edx, %eax
    CHECK "old TSS: ESP", 0
    CHECK_RES R_M_EBP, "old TSS: EBP", 0x77777777
    CHECK_RES R_M_ESI, "old TSS: ESI", 0x55555555
    CHECK_RES R_M_EDI, "old TSS: EDI", 0x66666666
    CHECK_RES R_M_ES, "old TSS: ES", S_DATA
    CHECK_RES R_M_CS, "old TSS: CS", S_CODE32
    CHECK_RES R_M_SS, "old TSS: SS", S_DATA
    CHECK_RES R_BACK_EAX, "JMP back: EAX restored from the old TSS", 0x11111111
    CHECK_RES R_BACK_EDI, "JMP back: EDI restored", 0x66666666
    CHECK_RES R_BACK_FL, "JMP back: EFLAGS restored (NT from the TSS)", 0x4003
    CHECK_RES R_BACK_MTYPE, "JMP back: main TSS busy again", 0x8b
    CHECK_RES R_BACK_ATYPE, "JMP back: TSS A not busy", 0x89
    CHECK_RES R_BACK_TR, "JMP back: TR = main TSS", S_TMAIN
    CHECK_RES_AT R_A_SAVED_EIP, "TSS A: saved EIP = after its JMP", task_a_after_jmp

    CHECK_RES R_T_COUNT, "JMP to a TSS with T = 1: one #DB", 1
    CHECK_RES R_T_AT_ENTRY, "... delivered before the new task's first instruction", 1
    movl RES(R_T_DR6), %eax
    shrl $15, %eax
    andl $1, %eax
    CHECK "... DR6.BT set", 1
    CHECK_RES_AT R_T_EIP, "... pushed EIP = the new task's first instruction", task_t_entry
    CHECK_RES R_T_TR, "... raised in the new task (TR = its TSS)", S_TT
    CHECK_RES R_T_BACK_TR, "... and JMP back to the main task", S_TMAIN

    CHECK_RES R_B_FL, "CALL gate -> task B: EFLAGS.NT set", 0x4002
    CHECK_RES R_B_LINK, "CALL gate -> task B: link = caller's TSS", S_TMAIN
    CHECK_RES R_B_TR, "CALL gate -> task B: TR = TSS B (not the gate)", S_TB
    CHECK_RES R_B_MTYPE, "CALL: caller's TSS stays busy", 0x8b
    CHECK_RES R_B_BTYPE, "CALL: TSS B busy", 0x8b
    CHECK_RES_AT R_B_MAIN_EIP, "CALL: caller's saved EIP = after the CALL", after_call_b
    CHECK_RES R_C_FL, "IRET back: caller's EFLAGS (NT=0) restored", 0x2
    CHECK_RES R_C_TR, "IRET back: TR = main TSS", S_TMAIN
    CHECK_RES R_C_BTYPE, "IRET back: TSS B no longer busy", 0x89
    CHECK_RES R_C_MTYPE, "IRET back: main TSS still busy", 0x8b
    CHECK_RES R_C_B_SAVED_FL, "IRET: NT cleared in task B's saved EFLAGS", 0x2
    CHECK_RES_AT R_C_B_SAVED_EIP, "IRET: task B's saved EIP = after its IRET", task_b_after_iret

    CHECK_RES R_I_FL, "INT 0x40 task gate: NT set in the new task", 0x4002
    CHECK_RES R_I_LINK, "INT 0x40 task gate: link = interrupted TSS", S_TMAIN
    CHECK_RES R_I_TR, "INT 0x40 task gate: TR", S_TINT
    CHECK_RES R_I_ESP, "INT 0x40 task gate: nothing pushed", stack_int_top
    CHECK_RES_AT R_I_MAIN_EIP, "INT 0x40: saved EIP = next instruction", after_int40
    CHECK_RES R_I_BACK_FL, "INT 0x40 IRET back: EFLAGS", 0x2
    CHECK_RES R_I_BACK_TYPE, "INT 0x40 IRET back: handler TSS not busy", 0x89

    CHECK_RES R_E_ERR, "#GP task gate: error code on the new stack", BAD_SEL
    CHECK_RES R_E_ESP, "#GP task gate: 4-byte push", (stack_exc_top-4)
    CHECK_RES_AT R_E_MAIN_EIP, "#GP task gate: saved EIP = faulting instruction", gp_insn
    CHECK_RES R_E_FL, "#GP task gate: NT set", 0x4002
    CHECK_RES R_E_BACK_DS, "#GP task gate: DS restored (load never happened)", S_DATA

    CHECK_RES R_D_ERR, "#DF task gate: error code 0", 0
    CHECK_RES R_D_ESP, "#DF task gate: pushed on the #DF task's stack", (stack_df_top-4)
    CHECK_RES R_D_TR, "#DF task gate: TR", S_TDF
    CHECK_RES R_D_LINK, "#DF task gate: link", S_TMAIN

    CHECK_RES R_P_V, "bad DS in new TSS: #TS", 10
    CHECK_RES R_P_E, "... error code = DS selector", BAD_SEL
    CHECK_RES R_P_TR, "... raised in the new task (TR = new TSS)", S_TBAD
    CHECK_RES_AT R_P_EIP, "... pushed EIP = new task's first instruction", bad_task_entry

    movl RES(R_S_EAX), %eax
    andl $0xffff, %eax
    CHECK "16-bit TSS: AX loaded", 0x1616
    movl RES(R_S_FL), %eax
    andl $0xffff, %eax
    CHECK "16-bit TSS: FLAGS loaded, NT set by CALL", 0x4003
    CHECK_RES R_S_LINK, "16-bit TSS: link = caller", S_TMAIN
    CHECK_RES R_S_TR, "16-bit TSS: TR", S_T16
    CHECK_RES R_S_TYPE, "16-bit TSS: busy (83H)", 0x83
    CHECK_RES R_S_BACK_IP, "16-bit TSS: IRET saves IP (after the IRET)", (task16_after_iret-task16_entry)
    CHECK_RES R_S_BACK_FL, "16-bit TSS: IRET saves FLAGS with NT cleared", 0x0003
    CHECK_RES R_S_BACK_TYPE, "16-bit TSS: not busy after IRET (81H)", 0x81
    CHECK_RES R_S_BACK_TR, "16-bit TSS: IRET back to the main TSS", S_TMAIN
    CHECK_RES R_S_SMALL_V, "16-bit TSS with limit 2AH: #TS", 10
    CHECK_RES R_S_SMALL_E, "... error code = TSS selector", S_T16SMALL

    POP_CALLEE_SAVED
    ret

/* --------------------------------------------- data */
    .data
    .balign 8
pm_saved_esp: .quad 0
far_tss: .long 0
    .word SEL_TSS
resume32: .long unexpected
res32: .fill R_COUNT, 4, 0

    .balign 8
gdt32:
    .quad 0
    .quad 0x00af9a000000ffff        /* 0x08 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x10 data */
    .quad 0x00cf9a000000ffff        /* 0x18 32-bit code */
    .fill 5, 8, 0                   /* 0x20-0x40 TSS descriptors (built) */
    .quad (S_TB << 16) | (0x85 << 40)   /* 0x48 task gate -> TSS B */
    .fill 8, 8, 0                   /* 0x50-0x88 */
gdt32_desc:
    .word GDT32_LIMIT
    .long gdt32

    .balign 8
idt32: .fill 0x41, 8, 0
idt32_desc:
    .word 0x41 * 8 - 1
    .long idt32

    .balign 16
tss_main:  .fill TSS_SIZE, 1, 0
tss_a:     .fill TSS_SIZE, 1, 0
tss_b:     .fill TSS_SIZE, 1, 0
tss_small: .fill TSS_SIZE, 1, 0
tss_exc:   .fill TSS_SIZE, 1, 0
tss_int:   .fill TSS_SIZE, 1, 0
tss_df:    .fill TSS_SIZE, 1, 0
tss_bad:   .fill TSS_SIZE, 1, 0
tss_t:     .fill TSS_SIZE, 1, 0
tss16:     .fill 0x2c, 1, 0

    .bss
    .balign 16
    .space 1024
stack_main_top:
    .space 1024
stack_a_top:
    .space 1024
stack_b_top:
    .space 1024
stack_exc_top:
    .space 1024
stack_int_top:
    .space 1024
stack_df_top:
    .space 1024
stack_bad_top:
