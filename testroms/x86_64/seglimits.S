/*
 * testroms/x86_64/seglimits.S - segment limit checks. They apply in
 * compatibility mode exactly as in 32-bit protected mode (Intel SDM Vol. 3A
 * 5.2.1 / 3.4.5, "In compatibility mode, segmentation functions just as it
 * does in legacy protected mode"), so the checks run there, with exceptions
 * delivered through the 64-bit IDT:
 *  - 5.3 "Limit Checking": an expand-up segment allows offsets 0..limit;
 *    every byte of a multi-byte access must be inside (a doubleword at
 *    limit-3 is fine, at limit-2 it is not); with G=1 the limit is scaled
 *    by 4 KiB and the low 12 bits read as ones (3.4.5: limit 0, G=1 ->
 *    0FFFH); an expand-down segment allows limit+1 .. FFFFFFFFH (B=1).
 *  - 6.15 Interrupt 13 / Interrupt 12: a violation through DS/ES is #GP(0);
 *    through SS (explicit SS: reference or a PUSH below the limit) #SS(0);
 *    faults leave EIP at the faulting instruction.
 *  - Vol. 2A JMP: a near jump whose target is beyond the CS limit is #GP(0),
 *    with EIP still at the JMP.
 *  - 5.3.1 / 3.2.4: in 64-bit mode no limit checks are done on DS/ES/SS.
 *  - Vol. 2A LSL: returns the byte-granular limit (scaled when G=1).
 */
#include "rom.h"

#define SEL_LIM    0x58             /* data RW, limit 0FFFH, G=0, B=1 */
#define SEL_DOWN   0x60             /* expand-down RW, limit 0FFFH, B=1 */
#define SEL_GRAN   0x68             /* data RW, limit 0, G=1 */
#define SEL_LCODE  0x70             /* 32-bit code, G=1, limit: cs_page only */

/* 64-bit side: check a slot's vector and error code. */
.macro CHECK_SLOT slot:req, desc:req, vec:req, err:req
    movl \slot(%rip), %eax
    CHECK "\desc: vector", \vec
    movl \slot + 4(%rip), %eax
    CHECK "\desc: error code", \err
.endm

    .text
    .code64
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

    /* gdt2 = start.S's GDT + the test descriptors; SEL_LCODE built here:
     * base 0, G=1, limit = cs_page >> 12 (covers cs_page..cs_page+FFFH). */
    leaq gdt(%rip), %rsi
    leaq gdt2(%rip), %rdi
    movl $SEL_LIM, %ecx
    rep movsb
    leaq cs_page(%rip), %rax
    shrq $12, %rax
    movq %rax, %rcx
    andq $0xffff, %rax              /* limit 15:0 */
    shrq $16, %rcx
    andq $0xf, %rcx
    shlq $48, %rcx                  /* limit 19:16 */
    orq %rcx, %rax
    movabsq $0x00c09a0000000000, %rcx   /* P DPL0 code exec/read, G=1 D=1 */
    orq %rcx, %rax
    movq %rax, gdt2 + SEL_LCODE(%rip)
    lgdt gdt2_desc(%rip)

    movw $SEL_GRAN, %cx
    lsl %cx, %eax
    CHECK "LSL, limit 0 with G=1: 0FFFH", 0xfff
    movw $SEL_LIM, %cx
    lsl %cx, %eax
    CHECK "LSL, limit 0FFFH with G=0", 0xfff
    movw $SEL_KDATA, %cx
    lsl %cx, %eax
    CHECK "LSL, flat data (limit FFFFFH, G=1): FFFFFFFFH", 0xffffffff

    /* 64-bit mode: no limit check. */
    movw $SEL_LIM, %ax
    movw %ax, %es
    movq $0x1234, 0x3f0000
    movq %es:0x3f0000, %rax
    CHECK "64-bit mode: ES limit 0FFFH not checked", 0x1234
    movw $SEL_KDATA, %ax
    movw %ax, %es

    movl $compat, %edi              /* lib.S; it reloads start.S's GDT after */
    call run_compat32
    PRINT "back in 64-bit mode"

    CHECK_SLOT r_up0, "expand-up ES: dword at limit-3 (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_up1, "expand-up ES: dword at limit-2 (crosses): #GP(0)", 13, 0
    movl r_up1 + 8(%rip), %eax
    CHECK "expand-up #GP: EIP of the access", up1_insn
    CHECK_SLOT r_up2, "expand-up ES: word at limit-1 (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_up3, "expand-up ES: byte at limit+1: #GP(0)", 13, 0
    CHECK_SLOT r_up4, "expand-up ES: byte write at limit (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_g0, "G=1 limit 0: dword at 0FFCH (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_g1, "G=1 limit 0: dword at 0FFDH: #GP(0)", 13, 0
    CHECK_SLOT r_dn0, "expand-down ES: byte at limit: #GP(0)", 13, 0
    CHECK_SLOT r_dn1, "expand-down ES: byte at limit+1 (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_dn2, "expand-down ES: dword at limit-2 (partly below): #GP(0)", 13, 0
    CHECK_SLOT r_ss0, "SS limit 0FFFH: SS: load at 1000H: #SS(0)", 12, 0
    CHECK_SLOT r_ss1, "SS limit 0FFFH: PUSH to 1000H: #SS(0)", 12, 0
    CHECK_SLOT r_ss2, "SS limit 0FFFH: PUSH to 0FFCH (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_cs0, "near JMP within the CS limit (no exception)", 0xffffffff, 0xffffffff
    CHECK_SLOT r_cs1, "near JMP beyond the CS limit: #GP(0)", 13, 0
    movl r_cs1 + 8(%rip), %eax
    CHECK "CS limit #GP: EIP of the JMP", cs_jmp
    movl r_done(%rip), %eax
    CHECK "32-bit code ran to the end", 0x600d

    POP_CALLEE_SAVED
    ret

/* ------------------------------------------------ compatibility mode */
    .code32
compat:
    movw $SEL_LIM, %ax
    movw %ax, %es
    TRY32 r_up0, movl %es:0xffc, %eax
    EXPECT_EXC32 1f
up1_insn:
    movl %es:0xffd, %eax
1:  DISARM32
    SAVE_EXC32 r_up1
    TRY32 r_up2, movw %es:0xffe, %ax
    TRY32 r_up3, movb %es:0x1000, %al
    TRY32 r_up4, movb %al, %es:0xfff

    movw $SEL_GRAN, %ax
    movw %ax, %es
    TRY32 r_g0, movl %es:0xffc, %eax
    TRY32 r_g1, movl %es:0xffd, %eax

    movw $SEL_DOWN, %ax
    movw %ax, %es
    TRY32 r_dn0, movb %es:0xfff, %al
    TRY32 r_dn1, movb %es:0x1000, %al
    TRY32 r_dn2, movl %es:0xffe, %eax
    movw $SEL_KDATA, %ax
    movw %ax, %es

    movl %esp, %ebp
    movw $SEL_LIM, %ax
    movw %ax, %ss
    TRY32 r_ss0, movl %ss:0x1000, %eax
    movl $0x1004, %esp
    TRY32 r_ss1, pushl %eax
    movl $0x1000, %esp
    TRY32 r_ss2, pushl %eax
    movw $SEL_KDATA, %ax
    movw %ax, %ss
    movl %ebp, %esp

    ljmpl $SEL_LCODE, $cs_page

    .balign 4096
cs_page:                            /* runs with CS limit = end of this page */
    leal 3f, %eax
    EXPECT_EXC32 3f
    jmp *%eax
3:  DISARM32
    SAVE_EXC32 r_cs0
    leal cs_page + 0x1000, %eax
    EXPECT_EXC32 2f
cs_jmp:
    jmp *%eax
2:  DISARM32
    SAVE_EXC32 r_cs1
    movl $0x600d, r_done
    ljmpl $SEL_KCODE32, $compat_ret
    .balign 4096
    ud2                             /* beyond the limit */
compat_ret:
    ret                             /* to run_compat32: back to 64-bit mode */
    .code64

    .data
    .balign 8
r_up0: .long -1, -1, 0
r_up1: .long -1, -1, 0
r_up2: .long -1, -1, 0
r_up3: .long -1, -1, 0
r_up4: .long -1, -1, 0
r_g0:  .long -1, -1, 0
r_g1:  .long -1, -1, 0
r_dn0: .long -1, -1, 0
r_dn1: .long -1, -1, 0
r_dn2: .long -1, -1, 0
r_ss0: .long -1, -1, 0
r_ss1: .long -1, -1, 0
r_ss2: .long -1, -1, 0
r_cs0: .long -1, -1, 0
r_cs1: .long -1, -1, 0
r_done: .long 0
    .balign 8
gdt2:
    .fill SEL_LIM, 1, 0
    .quad 0x0040920000000fff        /* 0x58 data RW, limit 0FFFH, G=0, B=1 */
    .quad 0x0040960000000fff        /* 0x60 expand-down RW, limit 0FFFH, B=1 */
    .quad 0x00c0920000000000        /* 0x68 data RW, limit 0, G=1 */
    .quad 0                         /* 0x70 SEL_LCODE (built at run time) */
gdt2_end:
    PSEUDO_DESC gdt2_desc, gdt2, (gdt2_end - gdt2 - 1)
