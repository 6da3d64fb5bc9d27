/*
 * testroms/x86_64/callgate.S - call gates and inter-privilege far CALL /
 * JMP / RET in IA-32e mode (64-bit and compatibility mode):
 *  - SDM Vol. 3A 5.8.3.1 "IA-32e Mode Call Gates" (Figure 5-9): a 16-byte
 *    gate, type 0CH, offset 63:32 in bytes 11:8; the target code segment
 *    must be 64-bit (L=1, D=0) else #GP(CS selector); only 64-bit gates
 *    exist in IA-32e mode, a 16-bit gate (type 04H) gives #GP; pushes are
 *    8 bytes, the parameter count is not used ("Parameter copying is not
 *    performed"); a non-canonical target offset gives #GP.
 *  - SDM Vol. 3A 5.8.5 "Stack Switching" and Vol. 2A CALL "MORE-PRIVILEGE"
 *    (64-bit TSS): RSP := TSS.RSPn of the target DPL, SS := null selector
 *    with RPL = new CPL, then push old SS, old RSP, old CS, return RIP
 *    (8 bytes each); CS.RPL := CPL := code-segment DPL.
 *  - Vol. 2A CALL "SAME-PRIVILEGE" (CS:RIP pushed on the current stack,
 *    8 bytes each) and JMP "CALL-GATE" (no push, target DPL must equal CPL
 *    for a nonconforming segment, else #GP(code segment selector)).
 *  - Vol. 2A CALL fault list: gate DPL < CPL or RPL > gate DPL ->
 *    #GP(gate selector); gate not present -> #NP(gate selector); gate
 *    target not a code segment -> #GP(target selector); upper type field
 *    of a 64-bit gate not 0 -> #GP(gate selector).
 *  - SDM Vol. 3A 5.8.6 and Vol. 2B RET "RETURN-TO-OUTER-PRIVILEGE-LEVEL":
 *    RETF (REX.W, and with imm16) to an outer level pops RIP, CS, releases
 *    imm bytes, pops RSP, SS, releases imm bytes again on the new stack,
 *    and nulls DS/ES/FS/GS holding a data segment with DPL < new CPL.
 *  - Legacy 32-bit protected mode (left IA-32e mode through lib.S
 *    run_legacy32 as in modes.S, SDM Vol. 3A 10.8.5.4; 32-bit TSS, Vol.
 *    3A 8.2.1 Figure 8-2), Vol. 3A 5.8.5 and Figure 5-13: a 32-bit gate
 *    with parameter count 3 from CPL3 to CPL0 loads SS:ESP from
 *    TSS.SS0:ESP0 and pushes old SS, old ESP, the 3 parameter dwords in
 *    their original order, old CS, EIP (4 bytes each); a 16-bit gate
 *    (type 4) with count 2 pushes words and takes a 16-bit target offset;
 *    RETF imm to CPL3 releases imm bytes on both stacks and nulls FS
 *    holding a DPL0 data segment (5.8.6), keeping GS with DPL3. Vol. 2A
 *    CALL #TS/#SS on the TSS stack of the target level (a gate to DPL1
 *    code): SS1 null -> #TS(0); SS1 RPL 1 naming a DPL0 segment ->
 *    #TS(SS1); SS1 not present -> #SS(SS1).
 */
#include "rom.h"

/* Selectors of the ROM's own GDT (a copy of start.S's plus gates). */
#define G_K      0x58   /* 64-bit gate, DPL3 -> SEL_KCODE:gate_handler */
#define G_DPL0   0x68   /* 64-bit gate, DPL0 -> SEL_KCODE:gate_handler */
#define G_NP     0x78   /* 64-bit gate, DPL3, not present */
#define G_DATA   0x88   /* 64-bit gate, DPL3 -> SEL_UDATA (not code) */
#define G_UTYPE  0x98   /* 64-bit gate, DPL3, upper type field = 1 */
#define G_U      0xa8   /* 64-bit gate, DPL3 -> SEL_UCODE:user_gate */
#define G_16     0xb8   /* 16-bit gate (type 4), DPL3 */
#define G_C32    0xc8   /* 64-bit gate, DPL3 -> SEL_KCODE32 (not 64-bit) */
#define G_NC     0xd8   /* 64-bit gate, DPL3, non-canonical offset */
#define G_BACK   0xe8   /* 64-bit gate, DPL3 -> SEL_KCODE:back_to_kernel */
#define G_PARM   0xf8   /* 64-bit gate, DPL3 -> gate_handler, byte 4 = 3 */
#define G_KJ     0x108  /* 64-bit gate, DPL0 -> SEL_KCODE:k_jmp_target */
/* Legacy protected mode (8-byte descriptors). */
#define L_TSS    0x118  /* 32-bit TSS, tss32 */
#define L_G32    0x120  /* 32-bit gate, DPL3, count 3 -> SEL_KCODE32:lg_handler */
#define L_BACK   0x128  /* 32-bit gate, DPL3 -> SEL_KCODE32:lg_back */
#define L_G1     0x130  /* 32-bit gate, DPL3 -> L_CODE1:lg_handler */
#define L_CODE1  0x138  /* 32-bit code, DPL1 */
#define L_DATA1N 0x140  /* data, DPL1, not present */
#define L_G16    0x148  /* 16-bit gate, DPL3, count 2 -> SEL_KCODE32:LO(lo_handler) */
#define GDT_SIZE 0x150

/* Low-memory blob for the 16-bit gate (16-bit IP/SP); as in modes.S. */
#define LO_BASE  0x4000
#define LO_R     0x5c00             /* results (dwords) */
#define LO_SP    0x5800             /* CPL3 stack for the 16-bit gate call */
#define LO(x)    ((x)-lo_start+LO_BASE)

#define EFER     0xc0000080

#define ATTR_GATE64  0x8c   /* P, DPL0, type C */
#define ATTR_DPL3    0x60

/* LG_TRY slot, insn...: in legacy protected mode, run the instruction with
 * the legacy exception stubs armed (lg_resume = just after it, lg_vec and
 * lg_err = -1) and copy vector and error code to the quadwords slot and
 * slot + 8 (low dwords; clobbers EAX). */
.macro LG_TRY slot:req, insn:vararg
    movl $.Llg_try\@, lg_resume
    movl $-1, lg_vec
    movl $-1, lg_err
    \insn
.Llg_try\@:
    movl lg_vec, %eax
    movl %eax, \slot
    movl lg_err, %eax
    movl %eax, \slot + 8
.endm

/* GATE off, target, sel, attr, dword3: write a 16-byte gate at cg_gdt+off. */
.macro GATE off:req, target:req, sel:req, attr:req, dw3=0
    movl $\off, %edi
    leaq \target, %rsi
    movl $\sel, %edx
    movl $\attr, %ecx
    movl $\dw3, %r8d
    call make_gate
.endm

/* GATE8 off, target, sel, hi: 8-byte legacy gate at cg_gdt+off; hi =
 * attribute byte << 8 | parameter count (Vol. 3A Figure 5-8). */
.macro GATE8 off:req, target:req, sel:req, hi:req
    movl $\off, %edi
    movl $\target, %esi
    movl $\sel, %edx
    movl $\hi, %ecx
    call make_gate8
.endm

    .text
    .code64
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    movq %rsp, saved_ksp(%rip)

    /* Own GDT: start.S's descriptors (0x00..0x57), then the gates. */
    leaq gdt(%rip), %rsi
    leaq cg_gdt(%rip), %rdi
    movl $(0x58 / 8), %ecx
    rep movsq
    GATE G_K, gate_handler(%rip), SEL_KCODE, ATTR_GATE64|ATTR_DPL3
    GATE G_DPL0, gate_handler(%rip), SEL_KCODE, ATTR_GATE64
    GATE G_NP, gate_handler(%rip), SEL_KCODE, (ATTR_GATE64|ATTR_DPL3) & 0x7f
    GATE G_DATA, gate_handler(%rip), SEL_UDATA, ATTR_GATE64|ATTR_DPL3
    GATE G_UTYPE, gate_handler(%rip), SEL_KCODE, ATTR_GATE64|ATTR_DPL3, 0x100
    GATE G_U, user_gate(%rip), SEL_UCODE, ATTR_GATE64|ATTR_DPL3
    GATE G_16, gate_handler(%rip), SEL_KCODE, 0x84|ATTR_DPL3
    GATE G_C32, gate_handler(%rip), SEL_KCODE32, ATTR_GATE64|ATTR_DPL3
    GATE G_NC, gate_handler(%rip), SEL_KCODE, ATTR_GATE64|ATTR_DPL3
    movl $0x8000, cg_gdt + G_NC + 8(%rip)   /* offset 63:32: bit 47 set */
    GATE G_BACK, back_to_kernel(%rip), SEL_KCODE, ATTR_GATE64|ATTR_DPL3
    GATE G_PARM, gate_handler(%rip), SEL_KCODE, ATTR_GATE64|ATTR_DPL3
    GATE G_KJ, k_jmp_target(%rip), SEL_KCODE, ATTR_GATE64
    movb $3, cg_gdt + G_PARM + 4(%rip)  /* legacy parameter-count position */
    lgdt cg_gdt_desc(%rip)

/* ------------------------------------------------ CPL0 */
    /* RPL 3 > gate DPL 0: #GP(gate selector). */
    TRY r_rpl, lcall *p_dpl0_rpl3(%rip)
    CHECK_REG r_rpl(%rip), "CPL0: gate RPL 3 > gate DPL 0: #GP", 13
    CHECK_REG r_rpl+8(%rip), "CPL0: gate RPL > DPL: error code = gate selector", G_DPL0

    /* CALL through a gate to the same privilege: no stack switch. */
    movq %rsp, %r12
    lcall *p_k(%rip)
k_ret0:
    movq %rsp, %rax
    subq %r12, %rax
    CHECK "CPL0 gate CALL + RETF: RSP restored", 0
    movq h_rsp(%rip), %rax
    subq %r12, %rax
    CHECK "CPL0 gate CALL: same stack, RSP - 16 (two 8-byte pushes)", -16
    CHECK_REG h_rip(%rip), "CPL0 gate CALL: pushed RIP = next instruction", k_ret0
    CHECK_REG h_cs(%rip), "CPL0 gate CALL: pushed CS", SEL_KCODE
    CHECK_REG h_curcs(%rip), "CPL0 gate CALL: handler CS = gate selector", SEL_KCODE
    CHECK_REG h_curss(%rip), "CPL0 gate CALL: SS unchanged", SEL_KDATA

    /* JMP through a gate to the same privilege. */
    movq %rsp, %r12
    ljmp *p_k_jmp(%rip)
    /* not reached: the gate ignores the pointer's offset */
    movq $0, %rax
    CHECK "CPL0 JMP through gate: reached the gate's target", 1
k_jmp_back:
    CHECK_REG h_jmp(%rip), "CPL0 JMP through gate: reached the gate's target", 1

/* ------------------------------------------------ to CPL3 (64-bit) with RETF imm */
    leaq k_after_user(%rip), %rax
    movq %rax, k_resume(%rip)
    leaq user_stack_top(%rip), %rax
    subq $64, %rax
    pushq $(SEL_UDATA | 3)          /* SS */
    pushq %rax                      /* RSP */
    pushq $0x5a5a                   /* 16 bytes released by imm */
    pushq $0x5a5a
    pushq $(SEL_UCODE | 3)          /* CS */
    leaq user64(%rip), %rax
    pushq %rax                      /* RIP */
    lretq $16
k_after_user:
    CHECK_REG u_rsp0(%rip), "RETF imm16 to CPL3: RSP = popped RSP + imm", (user_stack_top-48)
    CHECK_REG u_cs0(%rip), "RETF to CPL3: CS", SEL_UCODE|3
    CHECK_REG u_ss0(%rip), "RETF to CPL3: SS", SEL_UDATA|3
    CHECK_REG u_ds0(%rip), "RETF to CPL3: DS (DPL0 data) nulled", 0
    CHECK_REG u_es0(%rip), "RETF to CPL3: ES nulled", 0
    CHECK_REG u_fs0(%rip), "RETF to CPL3: FS nulled", 0
    CHECK_REG u_gs0(%rip), "RETF to CPL3: GS nulled", 0

    CHECK_REG h_curcs(%rip), "CPL3 gate CALL: handler CS = gate CS | 0 (CPL0)", SEL_KCODE
    CHECK_REG h_curss(%rip), "CPL3 gate CALL: SS = null selector, RPL 0", 0
    CHECK_REG h_rsp(%rip), "CPL3 gate CALL: RSP = TSS.RSP0 - 32", (rsp0_stack_top-32)
    CHECK_REG h_rip(%rip), "CPL3 gate CALL: [RSP] = return RIP", u_ret1
    CHECK_REG h_cs(%rip), "CPL3 gate CALL: [RSP+8] = old CS", SEL_UCODE|3
    CHECK_REG h_oldrsp(%rip), "CPL3 gate CALL: [RSP+16] = old RSP", (user_stack_top-48)
    CHECK_REG h_oldss(%rip), "CPL3 gate CALL: [RSP+24] = old SS", SEL_UDATA|3
    CHECK_REG u_rsp1(%rip), "RETF from gate handler: old RSP back", (user_stack_top-48)
    CHECK_REG u_cs1(%rip), "RETF from gate handler: CPL3 CS", SEL_UCODE|3
    CHECK_REG u_ss1(%rip), "RETF from gate handler: SS", SEL_UDATA|3

    CHECK_REG r_dpl(%rip), "CPL3: gate DPL0 < CPL: #GP", 13
    CHECK_REG r_dpl+8(%rip), "gate DPL < CPL: error code = gate selector", G_DPL0
    CHECK_REG r_np(%rip), "CPL3: gate not present: #NP", 11
    CHECK_REG r_np+8(%rip), "gate not present: error code = gate selector", G_NP
    CHECK_REG r_data(%rip), "CPL3: gate to a data segment: #GP", 13
    CHECK_REG r_data+8(%rip), "gate to data: error code = target selector", SEL_UDATA
    CHECK_REG r_utype(%rip), "CPL3: 64-bit gate with upper type 1: #GP", 13
    CHECK_REG r_utype+8(%rip), "upper type: error code = gate selector", G_UTYPE
    CHECK_REG r_g16(%rip), "CPL3: 16-bit gate (type 4) in IA-32e mode: #GP", 13
    CHECK_REG r_g16+8(%rip), "16-bit gate: error code = gate selector", G_16
    CHECK_REG r_c32(%rip), "CPL3: gate to 32-bit code segment: #GP", 13
    CHECK_REG r_c32+8(%rip), "gate to 32-bit code: error code = target selector", SEL_KCODE32
    CHECK_REG r_nc(%rip), "CPL3: gate with non-canonical offset: #GP", 13
    CHECK_REG r_nc+8(%rip), "non-canonical gate offset: error code 0", 0
    CHECK_REG r_jmpk(%rip), "CPL3: JMP through gate to DPL0 code: #GP", 13
    CHECK_REG r_jmpk+8(%rip), "JMP to inner level: error code = target selector", SEL_KCODE

    CHECK_REG u_jmp(%rip), "CPL3 JMP through gate to CPL3 code: arrived", 1
    CHECK_REG u_jmp_rsp(%rip), "CPL3 JMP through gate: RSP unchanged", (user_stack_top-48)
    CHECK_REG u_jmp_cs(%rip), "CPL3 JMP through gate: CS = target | CPL", SEL_UCODE|3
    CHECK_REG ug_rsp(%rip), "CPL3 CALL through gate to CPL3: RSP - 16, same stack", (user_stack_top-64)
    CHECK_REG ug_rip(%rip), "CPL3 same-level gate CALL: pushed RIP", u_ret2
    CHECK_REG ug_cs(%rip), "CPL3 same-level gate CALL: pushed CS (8 bytes)", SEL_UCODE|3
    CHECK_REG u_rsp2(%rip), "same-level RETF: RSP restored", (user_stack_top-48)

/* ------------------------------------------------ to CPL3 compatibility mode */
    leaq k_after_compat(%rip), %rax
    movq %rax, k_resume(%rip)
    movq $0, h_rsp(%rip)
    pushq $(SEL_UDATA | 3)
    leaq user_stack_top(%rip), %rax
    subq $128, %rax
    pushq %rax
    pushq $(SEL_UCODE32 | 3)
    leaq compat_user(%rip), %rax
    pushq %rax
    lretq
k_after_compat:
    CHECK_REG c_hcs(%rip), "compat CPL3 gate CALL: handler CS (64-bit, CPL0)", SEL_KCODE
    CHECK_REG c_hrsp(%rip), "compat gate CALL: RSP = RSP0 - 32 (no parameters copied)", (rsp0_stack_top-32)
    CHECK_REG c_hrip(%rip), "compat gate CALL: [RSP] = return EIP (8 bytes)", c_ret1
    CHECK_REG c_hcs_old(%rip), "compat gate CALL: [RSP+8] = old CS (8 bytes)", SEL_UCODE32|3
    CHECK_REG c_hrsp_old(%rip), "compat gate CALL: [RSP+16] = old ESP", (user_stack_top-128)
    CHECK_REG c_hss_old(%rip), "compat gate CALL: [RSP+24] = old SS", SEL_UDATA|3
    CHECK_REG c_esp(%rip), "compat: RETF (REX.W) back to compat: ESP restored", (user_stack_top-128)
    CHECK_REG c_cs(%rip), "compat: RETF back: CS", SEL_UCODE32|3
    CHECK_REG c_g16(%rip), "compat: 16-bit gate (type 4) in IA-32e mode: #GP", 13
    CHECK_REG c_g16+8(%rip), "compat: 16-bit gate: error code = gate selector", G_16

/* ------------------------------------------------ legacy protected mode */
    GATE8 L_G32, lg_handler, SEL_KCODE32, 0xec03
    GATE8 L_BACK, lg_back, SEL_KCODE32, 0xec00
    GATE8 L_G1, lg_handler, L_CODE1, 0xec00
    GATE8 L_G16, LO(lo_handler), SEL_KCODE32, 0xe402
    movq $0x00cfba000000ffff, %rax  /* 32-bit code, DPL1 */
    movq %rax, cg_gdt + L_CODE1(%rip)
    movq $0x00cf32000000ffff, %rax  /* data, DPL1, P=0 */
    movq %rax, cg_gdt + L_DATA1N(%rip)
    leaq tss32(%rip), %rsi          /* TSS descriptor: limit 103, type 9 */
    movl %esi, %eax
    shll $16, %eax
    orl $103, %eax
    movl %eax, cg_gdt + L_TSS(%rip)
    movl %esi, %eax
    andl $0xff000000, %eax
    movl %esi, %edx
    shrl $16, %edx
    andl $0xff, %edx
    orl %edx, %eax
    orl $0x8900, %eax
    movl %eax, cg_gdt + L_TSS + 4(%rip)
    leaq lg_stack0_top(%rip), %rax
    movl %eax, tss32 + 4(%rip)      /* ESP0 */
    movl $SEL_KDATA, tss32 + 8(%rip)    /* SS0 */
    leaq lg_stack1_top(%rip), %rax
    movl %eax, tss32 + 12(%rip)     /* ESP1 */
    movw $104, tss32 + 102(%rip)
    /* Legacy IDT: vectors 10-13, 32-bit interrupt gates, DPL0. */
    leaq lg_idt(%rip), %rdi
    leaq lg_exc_stubs(%rip), %rsi
    movl $10, %ecx
1:  leaq (%rsi), %rax
    movl %eax, %edx
    andl $0xffff, %edx
    orl $(SEL_KCODE32 << 16), %edx
    movl %edx, (%rdi,%rcx,8)
    andl $0xffff0000, %eax
    orl $0x8e00, %eax
    movl %eax, 4(%rdi,%rcx,8)
    addq $16, %rsi
    incl %ecx
    cmpl $14, %ecx
    jb 1b
    leaq lo_start(%rip), %rsi       /* 16-bit-gate blob below 64 KiB */
    movq $LO_BASE, %rdi
    movl $(lo_end - lo_start), %ecx
    rep movsb
    movq $LO_R, %rdi
    movq $-1, %rax
    movl $8, %ecx
    rep stosq

    movl $lg_entry, %edi            /* lib.S: legacy protected mode and back */
    call run_legacy32                /* (it reloads start.S's GDT and IDT) */
    andb $~2, gdt + SEL_TSS + 5(%rip)   /* busy -> available, then LTR */
    movw $SEL_TSS, %ax
    ltr %ax

    CHECK_REG L_hesp(%rip), "32-bit gate CPL3->0: ESP = TSS.ESP0 - 28 (7 dwords)", (lg_stack0_top-28)
    CHECK_REG L_hss(%rip), "32-bit gate: SS = TSS.SS0", SEL_KDATA
    CHECK_REG L_hcs(%rip), "32-bit gate: CS = gate CS, RPL 0", SEL_KCODE32
    CHECK_REG L_frame(%rip), "32-bit gate: [ESP] = return EIP", lg_ret1
    CHECK_REG L_frame+8(%rip), "32-bit gate: [ESP+4] = old CS", SEL_UCODE32|3
    CHECK_REG L_frame+16(%rip), "32-bit gate: [ESP+8] = parameter 3 (pushed last)", 0xaaaa0003
    CHECK_REG L_frame+24(%rip), "32-bit gate: [ESP+12] = parameter 2", 0xaaaa0002
    CHECK_REG L_frame+32(%rip), "32-bit gate: [ESP+16] = parameter 1", 0xaaaa0001
    CHECK_REG L_frame+40(%rip), "32-bit gate: [ESP+20] = old ESP", (lg_ustack_top-12)
    CHECK_REG L_frame+48(%rip), "32-bit gate: [ESP+24] = old SS", SEL_UDATA|3
    CHECK_REG L_esp_after(%rip), "RETF 12 to CPL3: ESP = old ESP + 12", lg_ustack_top
    CHECK_REG L_fs(%rip), "RETF to CPL3: FS (DPL0 data) nulled", 0
    CHECK_REG L_gs(%rip), "RETF to CPL3: GS (DPL3 data) kept", SEL_UDATA|3
    CHECK_REG L_ts0(%rip), "gate to DPL1, TSS.SS1 null: #TS", 10
    CHECK_REG L_ts0+8(%rip), "TSS.SS1 null: error code 0", 0
    CHECK_REG L_ts1(%rip), "TSS.SS1 = DPL0 segment with RPL 1: #TS", 10
    CHECK_REG L_ts1+8(%rip), "SS DPL != new CPL: error code = SS1", SEL_KDATA
    CHECK_REG L_ssnp(%rip), "TSS.SS1 not present: #SS", 12
    CHECK_REG L_ssnp+8(%rip), "SS1 not present: error code = SS1", L_DATA1N
    CHECK_REG L_cpl1(%rip), "#TS/#SS left CPL3 (resumed at CPL3)", SEL_UCODE32|3
    movl LO_R + 0, %eax
    CHECK "16-bit gate: caller SP", (LO_SP-4)
    movl LO_R + 8, %eax
    CHECK "16-bit gate: ESP = TSS.ESP0 - 12 (6 words)", (lg_stack0_top-12)
    movl LO_R + 12, %eax
    CHECK "16-bit gate: [SP] = IP, [SP+2] = CS", (LO(lo_ret) | ((SEL_UCODE32|3) << 16))
    movl LO_R + 16, %eax
    CHECK "16-bit gate: [SP+4] = parameter 2, [SP+6] = parameter 1", 0xbb01bb02
    movl LO_R + 20, %eax
    CHECK "16-bit gate: [SP+8] = old SP, [SP+10] = old SS", ((LO_SP-4) | ((SEL_UDATA|3) << 16))
    movl LO_R + 4, %eax
    CHECK "RETF 4 (16-bit) to CPL3: SP = old SP + 4", LO_SP
    CHECK_REG L_done(%rip), "legacy CPL3 code ran to the end", 1

    lgdt gdt_desc(%rip)
    movq saved_ksp(%rip), %rsp
    POP_CALLEE_SAVED
    ret

/*
 * make_gate(edi = offset in cg_gdt, rsi = target, edx = selector,
 *           ecx = attribute byte, r8d = dword 3): 16-byte gate (Figure 5-9).
 */
make_gate:
    leaq cg_gdt(%rip), %rax
    addq %rax, %rdi
    shll $8, %ecx                   /* byte 4 = 0, byte 5 = attributes */
    call write_gate                 /* start.S */
    movl %r8d, 12(%rdi)
    ret

/* make_gate8(edi = offset in cg_gdt, esi = target, edx = selector, ecx = hi). */
make_gate8:
    leaq cg_gdt(%rip), %rax
    addq %rdi, %rax
    movw %si, (%rax)
    movw %dx, 2(%rax)
    movw %cx, 4(%rax)
    shrl $16, %esi
    movw %si, 6(%rax)
    ret

/* CPL0 target of most gates: record the state and the frame, RETF (REX.W). */
gate_handler:
    movq %rsp, h_rsp(%rip)
    movq $0, %rax
    movw %cs, %ax
    movq %rax, h_curcs(%rip)
    movw %ss, %ax
    movq %rax, h_curss(%rip)
    movq (%rsp), %rax
    movq %rax, h_rip(%rip)
    movq 8(%rsp), %rax
    movq %rax, h_cs(%rip)
    movq h_curcs(%rip), %rax
    cmpq h_cs(%rip), %rax
    je 1f                           /* same level: no SS:RSP pushed */
    movq 16(%rsp), %rax
    movq %rax, h_oldrsp(%rip)
    movq 24(%rsp), %rax
    movq %rax, h_oldss(%rip)
1:  lretq

/* CPL0 target of the JMP through G_K. */
k_jmp_target:
    movq $1, h_jmp(%rip)
    jmp k_jmp_back

/* CPL0 target of G_BACK: back to test_main's stack. */
back_to_kernel:
    movq saved_ksp(%rip), %rsp
    subq $64, %rsp                  /* keep test_main's saved registers */
    LOAD_DATA_SEGS SEL_KDATA
    jmp *k_resume(%rip)

/* ------------------------------------------------ CPL3, 64-bit */
user64:
    movq %rsp, u_rsp0(%rip)
    movq $0, %rax
    movw %cs, %ax
    movq %rax, u_cs0(%rip)
    movw %ss, %ax
    movq %rax, u_ss0(%rip)
    movw %ds, %ax
    movq %rax, u_ds0(%rip)
    movw %es, %ax
    movq %rax, u_es0(%rip)
    movw %fs, %ax
    movq %rax, u_fs0(%rip)
    movw %gs, %ax
    movq %rax, u_gs0(%rip)

    /* CALL through G_K: CPL3 -> CPL0 with a stack switch. */
    lcall *p_k(%rip)
u_ret1:
    movq %rsp, u_rsp1(%rip)
    movq $0, %rax
    movw %cs, %ax
    movq %rax, u_cs1(%rip)
    movw %ss, %ax
    movq %rax, u_ss1(%rip)

    TRY r_dpl, lcall *p_dpl0(%rip)
    TRY r_np, lcall *p_np(%rip)
    TRY r_data, lcall *p_data(%rip)
    TRY r_utype, lcall *p_utype(%rip)
    TRY r_g16, lcall *p_g16(%rip)
    TRY r_c32, lcall *p_c32(%rip)
    TRY r_nc, lcall *p_nc(%rip)
    TRY r_jmpk, ljmp *p_k(%rip)

    /* JMP through G_U to CPL3 code. */
    ljmp *p_u(%rip)
u_jmp_back:
    /* CALL through G_U at CPL3: same level. */
    lcall *p_u(%rip)
u_ret2:
    movq %rsp, u_rsp2(%rip)
    lcall *p_back(%rip)

/* CPL3 target of G_U: reached by JMP (u_jmp = 0) or by CALL. */
user_gate:
    cmpq $0, u_jmp(%rip)
    jne 1f
    movq $1, u_jmp(%rip)
    movq %rsp, u_jmp_rsp(%rip)
    movq $0, %rax
    movw %cs, %ax
    movq %rax, u_jmp_cs(%rip)
    jmp u_jmp_back
1:  movq %rsp, ug_rsp(%rip)
    movq (%rsp), %rax
    movq %rax, ug_rip(%rip)
    movq 8(%rsp), %rax
    movq %rax, ug_cs(%rip)
    lretq

/* ------------------------------------------------ CPL3, compatibility mode */
    .code32
compat_user:
    movl $(SEL_UDATA | 3), %eax
    movw %ax, %ds
    movw %ax, %es
    pushl $0x11111111               /* would-be parameters (not copied) */
    pushl $0x22222222
    pushl $0x33333333
    addl $12, %esp
    lcall $(G_PARM | 3), $0
c_ret1:
    movl %esp, c_esp
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, c_cs
    movl h_rsp, %eax
    movl %eax, c_hrsp
    movl h_curcs, %eax
    movl %eax, c_hcs
    movl h_rip, %eax
    movl %eax, c_hrip
    movl h_cs, %eax
    movl %eax, c_hcs_old
    movl h_oldrsp, %eax
    movl %eax, c_hrsp_old
    movl h_oldss, %eax
    movl %eax, c_hss_old
    EXPECT_EXC32 1f
    lcall $(G_16 | 3), $0
1:  DISARM32
    SAVE_EXC32 c_g16, 8
    lcall $(G_BACK | 3), $0
    .code64

/* ------------------------------------------------ legacy protected mode code */
    .code32
lg_entry:                           /* legacy PM, CPL0 (called by run_legacy32) */
    movl %esp, lg_saved_esp
    movl $lg_kstack_top, %esp
    lidt lg_idt_desc
    movw $L_TSS, %ax
    ltr %ax
    movl $(SEL_UDATA | 3), %eax     /* DPL3: kept by the RETF to CPL3 */
    movw %ax, %gs
    pushl $(SEL_UDATA | 3)
    pushl $lg_ustack_top
    pushl $(SEL_UCODE32 | 3)
    pushl $lg_user
    lret

lg_user:                            /* CPL3, 32-bit protected mode */
    movl $(SEL_UDATA | 3), %eax
    movw %ax, %ds
    movw %ax, %es
    pushl $0xaaaa0001
    pushl $0xaaaa0002
    pushl $0xaaaa0003
    lcall $(L_G32 | 3), $0
lg_ret1:
    movl %esp, L_esp_after
    movw %fs, %ax
    movzwl %ax, %eax
    movl %eax, L_fs
    movw %gs, %ax
    movzwl %ax, %eax
    movl %eax, L_gs
    /* TSS.SS1 (paging is off: CPL3 can write the TSS directly). */
    movl $0, tss32 + 16
    LG_TRY L_ts0, lcall $(L_G1 | 3), $0
    movl $(SEL_KDATA | 1), tss32 + 16
    LG_TRY L_ts1, lcall $(L_G1 | 3), $0
    movl $(L_DATA1N | 1), tss32 + 16
    LG_TRY L_ssnp, lcall $(L_G1 | 3), $0
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, L_cpl1
    ljmpl $(SEL_UCODE32 | 3), $LO(lo_user)
lg_after16:
    movl $1, L_done
    lcall $(L_BACK | 3), $0

lg_handler:                         /* CPL0 through L_G32 */
    movl %esp, L_hesp
    movw %ss, %ax
    movzwl %ax, %eax
    movl %eax, L_hss
    movw %cs, %ax
    movzwl %ax, %eax
    movl %eax, L_hcs
    xorl %ecx, %ecx
1:  movl (%esp,%ecx,4), %eax
    movl %eax, L_frame(,%ecx,8)
    incl %ecx
    cmpl $7, %ecx
    jb 1b
    movl $SEL_KDATA, %eax           /* DPL0: nulled by the RETF to CPL3 */
    movw %ax, %fs
    lret $12

lg_back:                            /* CPL0 through L_BACK: back to long mode */
    LOAD_DATA_SEGS SEL_KDATA
    movl lg_saved_esp, %esp
    ret                             /* from lg_entry, to run_legacy32 */

/* Legacy exception stubs (16 bytes each, vectors 10-13, all with an error
 * code): record vector and error code, resume at lg_resume (at CPL3). */
    .balign 16
lg_exc_stubs:
    .set vec, 10
    .rept 4
    .balign 16
    movl $vec, lg_vec
    jmp lg_exc_common
    .set vec, vec + 1
    .endr
lg_exc_common:
    popl lg_err
    pushl %eax
    movl lg_resume, %eax
    movl %eax, 4(%esp)
    popl %eax
    iret

/* 16-bit gate blob (copied to LO_BASE; CS bases are 0). */
    .balign 16
lo_start:
lo_user:                            /* CPL3 */
    movl %esp, %ebp
    movl $LO_SP, %esp
    pushw $0xbb01
    pushw $0xbb02
    movl %esp, LO_R + 0
    lcall $(L_G16 | 3), $0
lo_ret:
    movl %esp, LO_R + 4
    movl %ebp, %esp
    ljmpl $(SEL_UCODE32 | 3), $lg_after16
lo_handler:                         /* CPL0 through L_G16 */
    movl %esp, LO_R + 8
    movl (%esp), %eax
    movl %eax, LO_R + 12
    movl 4(%esp), %eax
    movl %eax, LO_R + 16
    movl 8(%esp), %eax
    movl %eax, LO_R + 20
    lretw $4
lo_end:
    .code64

/* ------------------------------------------------------------------ data */
    .data
    .balign 16
cg_gdt:
    .fill GDT_SIZE, 1, 0
    PSEUDO_DESC cg_gdt_desc, cg_gdt, (GDT_SIZE - 1)

/* m16:32 far pointers (offset ignored for gates). */
p_k:         .long 0
             .word G_K | 3
p_k_jmp:     .long 0
             .word G_KJ
p_dpl0:      .long 0
             .word G_DPL0 | 3
p_dpl0_rpl3: .long 0
             .word G_DPL0 | 3
p_np:        .long 0
             .word G_NP | 3
p_data:      .long 0
             .word G_DATA | 3
p_utype:     .long 0
             .word G_UTYPE | 3
p_g16:       .long 0
             .word G_16 | 3
p_c32:       .long 0
             .word G_C32 | 3
p_nc:        .long 0
             .word G_NC | 3
p_u:         .long 0
             .word G_U | 3
p_back:      .long 0
             .word G_BACK | 3

    .balign 8
saved_ksp:  .quad 0
k_resume:   .quad 0
h_rsp:      .quad 0
h_curcs:    .quad 0
h_curss:    .quad 0
h_rip:      .quad 0
h_cs:       .quad 0
h_oldrsp:   .quad 0
h_oldss:    .quad 0
h_jmp:      .quad 0
r_rpl:      .quad 0, 0, 0          /* vector, error code, RIP (rom.h TRY) */
r_dpl:      .quad 0, 0, 0
r_np:       .quad 0, 0, 0
r_data:     .quad 0, 0, 0
r_utype:    .quad 0, 0, 0
r_g16:      .quad 0, 0, 0
r_c32:      .quad 0, 0, 0
r_nc:       .quad 0, 0, 0
r_jmpk:     .quad 0, 0, 0
u_rsp0:     .quad 0
u_cs0:      .quad 0
u_ss0:      .quad 0
u_ds0:      .quad -1
u_es0:      .quad -1
u_fs0:      .quad -1
u_gs0:      .quad -1
u_rsp1:     .quad 0
u_cs1:      .quad 0
u_ss1:      .quad 0
u_jmp:      .quad 0
u_jmp_rsp:  .quad 0
u_jmp_cs:   .quad 0
ug_rsp:     .quad 0
ug_rip:     .quad 0
ug_cs:      .quad 0
u_rsp2:     .quad 0
c_esp:      .quad 0
c_cs:       .quad 0
c_hrsp:     .quad 0
c_hcs:      .quad 0
c_hrip:     .quad 0
c_hcs_old:  .quad 0
c_hrsp_old: .quad 0
c_hss_old:  .quad 0
c_g16:      .quad 0, 0, 0
lg_saved_esp: .quad 0
lg_resume:  .quad 0
lg_vec:     .quad -1
lg_err:     .quad -1
L_hesp:     .quad 0
L_hss:      .quad 0
L_hcs:      .quad 0
L_frame:    .fill 7, 8, 0
L_esp_after: .quad 0
L_fs:       .long -1, 0             /* low halves written by 32-bit code */
L_gs:       .long -1, 0
L_ts0:      .quad 0, 0
L_ts1:      .quad 0, 0
L_ssnp:     .quad 0, 0
L_cpl1:     .quad 0
L_done:     .quad 0
    .balign 16
tss32:      .fill 104, 1, 0
    .balign 8
lg_idt:     .fill 14, 8, 0
    .word 0, 0, 0
lg_idt_desc:
    .word 14 * 8 - 1
    .long lg_idt

    .bss
    .balign 4096
    .skip 4096
user_stack_top:
    .skip 4096
lg_ustack_top:
    .skip 4096
lg_stack0_top:
    .skip 4096
lg_stack1_top:
    .skip 4096
lg_kstack_top:
