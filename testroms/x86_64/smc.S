/*
 * testroms/x86_64/smc.S - self-modifying code. Intel SDM Vol. 3A 11.6
 * "Self-Modifying Code": a write to a memory location that holds code
 * invalidates the cached copy (checked by physical address), and since the
 * P6 family a write that hits an already prefetched instruction invalidates
 * the prefetch queue (checked by linear address), so even the very next
 * instruction runs as written. The checks here:
 *  - patch an immediate and call the code again (a jump in between, the
 *    portable method SDM 11.6 recommends), by MOV, by REP MOVSB and by a
 *    locked RMW;
 *  - patch the immediate of the instruction that directly follows the store,
 *    in the same straight-line run (P6+ behaviour stated in 11.6);
 *  - a loop that increments the immediate of an instruction it already ran;
 *  - write the code through a second linear address (alias of the same
 *    physical page, SDM Vol. 3A 4.10.2) and call it through the first, and
 *    the reverse;
 *  - change the PTE under an executed code page (INVLPG, 4.10.4.1): the same
 *    linear address now runs the other physical page's code.
 */
#include "rom.h"

#define PTE_OF(va) (pt_low + (((va) - 0x200000) >> 12) * 8)
#define HI       0x40000000
#define PG_CODE  0x370000           /* remapped code page (linear) */
#define PHYS_A   0x380000
#define PHYS_B   0x381000

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

/* ---------------------------------------------- patch, then call again */
    call patch_a
    CHECK "patch_a before patching", 0x11111111
    movl $0x22222222, patch_a + 1(%rip)
    call patch_a
    CHECK "patch_a after MOV to its immediate", 0x22222222
    call patch_a
    CHECK "patch_a again (cached block)", 0x22222222

    leaq new_imm(%rip), %rsi
    leaq patch_a + 1(%rip), %rdi
    movl $4, %ecx
    rep movsb
    call patch_a
    CHECK "patch_a after REP MOVSB", 0x33333333

    lock incl patch_a + 1(%rip)
    call patch_a
    CHECK "patch_a after LOCK INC", 0x33333334

    /* Replace "mov $imm32, %eax" (B8 id) by "xor %eax,%eax; nop; nop; nop". */
    movl $0x9090c031, patch_a(%rip)         /* 31 C0 90 90 */
    movb $0x90, patch_a + 4(%rip)
    call patch_a
    CHECK "patch_a with different instructions (xor eax)", 0

/* ------------------------------------- the next instruction, same run */
    movl $0x55555555, 1f + 1(%rip)
1:  movl $0x44444444, %eax
    CHECK "store to the immediate of the next instruction", 0x55555555
    movb $0x90, 2f(%rip)                    /* turn "ud2" into "nop; ..." */
    movb $0x90, 2f + 1(%rip)
2:  ud2
    movl $1, %eax
    CHECK "store replacing the next instruction (ud2 -> nops)", 1

/* ------------------------------------- a loop patching its own immediate */
    xorl %ecx, %ecx
    movl $3, %edx
3:  addl $1, %ecx                           /* 83 C1 ib */
    incb 3b + 2(%rip)
    decl %edx
    jnz 3b
    movl %ecx, %eax
    CHECK "loop incrementing its own immediate: 1+2+3", 6
    movb $1, 3b + 2(%rip)

/* ------------------------------------------------ second linear alias */
    /* pt_hi[5] (HI + 0x5000) -> the physical page holding patch_b. */
    leaq patch_b(%rip), %rax
    andq $~0xfff, %rax
    orq $(PTE_P | PTE_RW | PTE_US), %rax
    movq %rax, pt_hi + 5*8(%rip)
    invlpg HI + 0x5000
    leaq patch_b(%rip), %rbx
    andq $0xfff, %rbx
    addq $HI + 0x5000, %rbx                 /* alias of patch_b */
    call patch_b
    CHECK "patch_b before patching", 0x66666666
    movl $0x77777777, 1(%rbx)               /* write through the alias */
    call patch_b
    CHECK "patch_b written via alias, called via identity", 0x77777777
    call *%rbx
    CHECK "patch_b called via alias", 0x77777777
    movl $0x88888888, patch_b + 1(%rip)     /* write via identity */
    call *%rbx
    CHECK "patch_b written via identity, called via alias", 0x88888888
    call patch_b
    CHECK "patch_b called via identity", 0x88888888
    movq $0, pt_hi + 5*8(%rip)
    invlpg HI + 0x5000

/* ----------------------------------------- remap an executed code page */
    /* PHYS_A: mov $0xa, %eax; ret   PHYS_B: mov $0xb, %eax; ret */
    movl $0x00000ab8, PHYS_A
    movl $0x0000c300, PHYS_A + 4
    movl $0x00000bb8, PHYS_B
    movl $0x0000c300, PHYS_B + 4
    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_CODE)(%rip)
    invlpg PG_CODE
    movq $PG_CODE, %rbx
    call *%rbx
    CHECK "code page -> PHYS_A", 0xa
    movq $(PHYS_B | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_CODE)(%rip)
    invlpg PG_CODE
    call *%rbx
    CHECK "after PTE change + INVLPG: same address runs PHYS_B", 0xb
    movl $0x00000cb8, PHYS_B                /* write via identity of PHYS_B */
    call *%rbx
    CHECK "PHYS_B patched via its identity mapping", 0xc
    movq $(PG_CODE | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_CODE)(%rip)
    invlpg PG_CODE

    POP_CALLEE_SAVED
    ret

    .section .rodata
new_imm: .long 0x33333333

    .section .text.smc, "ax"
    .balign 4096
patch_a:
    movl $0x11111111, %eax                  /* B8 id */
    ret
    .balign 64
patch_b:
    movl $0x66666666, %eax
    ret
