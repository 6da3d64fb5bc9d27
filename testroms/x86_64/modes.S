/*
 * testroms/x86_64/modes.S - leaving long mode and coming back:
 * 64-bit mode -> compatibility mode -> 32-bit protected mode without
 * paging -> 16-bit protected mode -> real mode (INT n through the IVT, #DE)
 * -> 32-bit protected mode -> 64-bit mode.
 * The way out of IA-32e mode and back in is lib.S run_legacy32.
 *  - SDM Vol. 3A 10.8.5.4 "Switching Out of IA-32e Mode Operation": from
 *    compatibility mode, clearing CR0.PG makes the processor clear
 *    IA32_EFER.LMA (also 2.2.1: LMA = LME and PG); then LME can be cleared.
 *  - SDM Vol. 3A 10.9.2 "Switching Back to Real-Address Mode": jump to a
 *    code segment with a 64 KiB limit, load the data segments with 64 KiB
 *    descriptors, LIDT a real-mode IVT, clear CR0.PE, far jump.
 *  - SDM Vol. 3A 21.1.1 (real-address mode: linear = selector * 16 + offset)
 *    and 21.1.4 / 6.? "Interrupt and Exception Handling" in real mode: the
 *    IVT holds 4-byte offset:segment pointers; INT n pushes FLAGS, CS, IP
 *    (IP of the next instruction), clears IF and TF; a fault (#DE) pushes
 *    the IP of the faulting instruction; IRET pops them.
 *  - SDM Vol. 2A INC (opcode 40+rw/rd: INC r16/r32 outside 64-bit mode,
 *    where 40-4F are REX prefixes) and the default operand size of the
 *    code segment (Vol. 1 3.6: 16 bits in real mode).
 *  - SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode": back into long mode
 *    from protected mode with PAE set (EFER.LME, then CR0.PG, far jump).
 */
#include "rom.h"

#define EFER     0xc0000080
#define RM_BASE  0x4000             /* the real-mode blob is copied here */
#define RES      0x5800             /* results written by 16/32-bit code */
#define RM_SP    0x5ff0
#define RM(x)    ((x)-rm_start+RM_BASE)   /* no spaces: used in macro arguments */

/* Result slots (16-bit words unless noted). */
#define R_EFER32   (RES + 0x00)     /* dword: EFER after CR0.PG=0 */
#define R_CR0_32   (RES + 0x04)     /* dword */
#define R_INC32    (RES + 0x08)     /* dword: 0x40 in 32-bit mode */
#define R_CS16     (RES + 0x10)
#define R_SEGW     (RES + 0x12)
#define R_SP_BEFORE (RES + 0x14)
#define R_SP_IN    (RES + 0x16)
#define R_IP_PUSH  (RES + 0x18)
#define R_CS_PUSH  (RES + 0x1a)
#define R_FL_PUSH  (RES + 0x1c)
#define R_FL_IN    (RES + 0x1e)
#define R_FL_AFTER (RES + 0x20)
#define R_DE_IP    (RES + 0x22)
#define R_DE_AX    (RES + 0x24)
#define R_INC16    (RES + 0x28)     /* dword: 0x40 in real mode */
#define R_DONE16   (RES + 0x2c)

    .text
    .code64
    .globl test_main
test_main:
    MASK_8259                      /* mask the 8259s: real mode runs with IF=1 */

    movq $RES, %rdi                 /* results: all ones */
    movq $-1, %rax
    movl $16, %ecx
    rep stosq
    leaq rm_start(%rip), %rsi       /* copy the 16-bit blob below 64 KiB */
    movq $RM_BASE, %rdi
    movl $(rm_end - rm_start), %ecx
    rep movsb
    movw $RM(rm_int40), 0x40*4      /* IVT[0x40] = 0000:rm_int40 */
    movw $0, 0x40*4 + 2
    movw $RM(rm_de), 0              /* IVT[0] (#DE) = 0000:rm_de */
    movw $0, 2

    movl $pm_entry, %edi            /* compatibility mode -> legacy PM (lib.S) */
    call run_legacy32
    jmp lm_back

/* --------------------------------------------- legacy 32-bit PM */
    .code32
pm_entry:
    movl %esp, saved_esp32
    movl legacy_efer_pg0, %eax
    movl %eax, R_EFER32
    movl %cr0, %eax
    movl %eax, R_CR0_32
    movl $5, %eax
    .byte 0x40                      /* INC EAX in 32-bit mode */
    movl %eax, R_INC32
    ljmpl $SEL_KCODE16, $RM(rm_entry16)

/* --------------------------------------------- back from real mode */
pm_back:
    LOAD_DATA_SEGS SEL_KDATA
    movl saved_esp32, %esp
    ret                             /* to run_legacy32: back to 64-bit mode */

    .code64
lm_back:
    PRINT "back in 64-bit mode"

    movl $EFER, %ecx
    rdmsr
    andl $0x500, %eax
    CHECK "64-bit again: EFER.LME and EFER.LMA set", 0x500
    movl R_EFER32, %eax
    andl $0x500, %eax
    CHECK "after CR0.PG=0 in compatibility mode: LMA=0, LME=1", 0x100
    movl R_CR0_32, %eax
    andl $0x80000001, %eax
    CHECK "32-bit protected mode: CR0.PG=0, PE=1", 1
    movl R_INC32, %eax
    CHECK "32-bit mode: opcode 0x40 is INC EAX", 6
    movzwl R_CS16, %eax
    CHECK "real mode: CS after the far jump", 0
    movzwl R_SEGW, %eax
    CHECK "real mode: ES=0x500:0x10 reaches linear 0x5010", 0x1234
    movzwl R_SP_BEFORE, %eax
    CHECK "real mode: SP before INT", RM_SP
    movzwl R_SP_IN, %eax
    CHECK "real mode INT: 6 bytes pushed (FLAGS CS IP)", (RM_SP-6)
    movzwl R_IP_PUSH, %eax
    CHECK "real mode INT 0x40: pushed IP = next instruction", RM(rm_after_int)
    movzwl R_CS_PUSH, %eax
    CHECK "real mode INT 0x40: pushed CS", 0
    movzwl R_FL_PUSH, %eax
    CHECK "real mode INT 0x40: pushed FLAGS (IF=1)", 0x0202
    movzwl R_FL_IN, %eax
    CHECK "real mode INT 0x40: handler runs with IF=0 TF=0", 0x0002
    movzwl R_FL_AFTER, %eax
    CHECK "real mode IRET: FLAGS restored (IF=1)", 0x0202
    movzwl R_DE_IP, %eax
    CHECK "real mode #DE: pushed IP = the DIV", RM(rm_div)
    movzwl R_DE_AX, %eax
    CHECK "real mode #DE: AX unchanged", 0x1000
    movl R_INC16, %eax
    CHECK "real mode: opcode 0x40 is INC AX (16-bit, wraps)", 0x10000
    movzwl R_DONE16, %eax
    CHECK "real mode code ran to the end", 0x600d

    ret

    .data
    .balign 8
saved_esp32: .quad 0

/* ------------------------------------------------ 16-bit blob (copied) */
    .text
    .balign 16
rm_start:
    .code16
rm_entry16:                         /* 16-bit protected mode, CS base 0 */
    movw $SEL_KDATA16, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    lidtw RM(rm_idtr)
    movl %cr0, %eax
    andl $~1, %eax                  /* CR0.PE = 0 */
    movl %eax, %cr0
    ljmpw $0, $RM(rm_real)
rm_real:
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %ss
    movw $RM_SP, %sp
    movw %cs, R_CS16
    movw $0x0500, %ax
    movw %ax, %es
    movw $0x1234, %es:0x10          /* 0x500 * 16 + 0x10 = 0x5010 */
    movw 0x5010, %ax
    movw %ax, R_SEGW

    movw %sp, R_SP_BEFORE
    pushw $0x0202
    popfw                           /* IF=1 (8259s masked) */
    int $0x40
rm_after_int:
    pushfw
    popw %ax
    movw %ax, R_FL_AFTER
    cli

    movw $0x1000, %ax
    xorb %bl, %bl
rm_div:
    divb %bl                        /* #DE; the handler skips the 2 bytes */
    movw %ax, R_DE_AX

    movl $0x1ffff, %eax
    .byte 0x40                      /* INC AX */
    movl %eax, R_INC16
    movw $0x600d, R_DONE16

    movl %cr0, %eax                 /* back to protected mode */
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $SEL_KCODE32, $pm_back

rm_int40:
    movw %sp, R_SP_IN
    pushw %bp
    movw %sp, %bp
    movw 2(%bp), %ax
    movw %ax, R_IP_PUSH
    movw 4(%bp), %ax
    movw %ax, R_CS_PUSH
    movw 6(%bp), %ax
    movw %ax, R_FL_PUSH
    pushfw
    popw %ax
    movw %ax, R_FL_IN
    popw %bp
    iretw

rm_de:
    pushw %bp
    movw %sp, %bp
    pushw %ax
    movw 2(%bp), %ax
    movw %ax, R_DE_IP
    addw $2, 2(%bp)                 /* skip DIV BL (F6 F3) */
    popw %ax
    popw %bp
    iretw

    .balign 8
rm_idtr:
    .word 0x3ff
    .long 0
rm_end:
    .code64
