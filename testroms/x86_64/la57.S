/*
 * testroms/x86_64/la57.S - 5-level paging (Intel SDM Vol. 3A 4.5 "4-Level
 * Paging and 5-Level Paging", CPUID.(EAX=07H,ECX=0):ECX[16] LA57). Tested
 * only when CPUID advertises LA57 ("skip" otherwise); 20-testroms.t runs it
 * with -cpu max.
 *  - Vol. 2B MOV to CR4 / Vol. 3A 4.1.1: CR4.LA57 cannot be changed while
 *    IA32_EFER.LMA = 1: #GP(0). So the ROM leaves IA-32e mode the way
 *    modes.S does (compatibility mode through lib.S run_compat32, CR0.PG=0:
 *    SDM 10.8.5.4), sets CR4.LA57 and CR3 = a PML5 table, sets CR0.PG again
 *    (10.8.5) and far jumps to 64-bit code; and the same way back to
 *    4-level paging.
 *  - 4.5.1 / Table 4-12: with LA57, CR3 points at the PML5 table indexed
 *    by linear bits 56:48; each PML5E references a PML4 table. Accessed
 *    flag set in the PML5E used (4.8).
 *  - Vol. 1 3.3.7.1 "Canonical Addressing": with 57-bit linear addresses
 *    bits 63:57 must equal bit 56. 0001_0000_0000_0000H (non-canonical with
 *    48 bits: #GP(0) under 4-level paging) and FF00_0000_0000_0000H are
 *    canonical and translate through PML5 entries 1 and 256;
 *    0100_0000_0000_0000H is not canonical: #GP(0); 00FF_FFFF_FFFF_F000H
 *    is canonical and walks to a not-present PML5E: #PF, CR2 = it.
 *  - CPUID.80000008H:EAX[15:8] (linear address bits) is 57 (Vol. 2A CPUID).
 */
#include "rom.h"

#define EFER     0xc0000080
#define CR4_LA57 0x1000
#define PHYS     0x800000           /* 2 MiB-aligned target of the new mappings */
#define VA_LO    0x0001000000000000
#define VA_NEG   0xff00000000000000
#define VA_BAD   0x0100000000000000
#define VA_NP    0x00fffffffffff000

    .text
    .code64
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

    movq %cr4, %rax
    orq $CR4_LA57, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "changing CR4.LA57 with EFER.LMA=1: #GP", 13
    CHECK_REG exc_err(%rip), "CR4.LA57 in IA-32e mode: error code 0", 0

    movl $7, %eax
    xorl %ecx, %ecx
    cpuid
    testl $(1 << 16), %ecx
    jnz 1f
    PRINT "skip: LA57 not advertised (CPUID.07H:ECX[16]=0)"
    jmp done
1:  movl $0x80000008, %eax
    cpuid
    shrl $8, %eax
    andl $0xff, %eax
    CHECK "CPUID.80000008H: 57 linear address bits", 57

    /* PML5[0] -> the usual PML4; PML5[1] and PML5[256] -> alt_pml4, which
     * maps its first 2 MiB to PHYS. */
    leaq pml4 + 7(%rip), %rax
    movq %rax, pml5(%rip)
    leaq alt_pml4 + 7(%rip), %rax
    movq %rax, pml5 + 1*8(%rip)
    movq %rax, pml5 + 256*8(%rip)
    leaq alt_pdpt + 7(%rip), %rax
    movq %rax, alt_pml4(%rip)
    leaq alt_pd + 7(%rip), %rax
    movq %rax, alt_pdpt(%rip)
    movq $(PHYS | PTE_P | PTE_RW | PTE_US | PTE_PS), alt_pd(%rip)
    movq $0x5757, PHYS + 0x10
    movq $0x5858, PHYS + 0x18

    leaq pml5(%rip), %rax
    movq %rax, new_cr3(%rip)
    movq $CR4_LA57, cr4_or(%rip)
    movq $-1, cr4_and(%rip)
    movl $switch_paging, %edi
    call run_compat32
    PRINT "64-bit mode with 5-level paging"
    CHECK_MASKED %cr4, "CR4.LA57 = 1", CR4_LA57, CR4_LA57
    movl $EFER, %ecx
    rdmsr
    andl $0x400, %eax
    CHECK "IA-32e mode active again (EFER.LMA)", 0x400
    movabsq $VA_LO, %rbx
    movq 0x10(%rbx), %rax
    CHECK "0001_0000_0000_0010H -> PML5[1] -> PHYS+10H", 0x5757
    movabsq $VA_NEG, %rbx
    movq 0x18(%rbx), %rax
    CHECK "FF00_0000_0000_0018H -> PML5[256] -> PHYS+18H", 0x5858
    movq $0x5959, 0x20(%rbx)
    movq PHYS + 0x20, %rax
    CHECK "store through PML5[256] lands in PHYS", 0x5959
    CHECK_MASKED pml5 + 8(%rip), "PML5E used by the walk: A=1", PTE_A, PTE_A
    movabsq $VA_BAD, %rbx
    EXPECT_EXC 1f
    movq (%rbx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "0100_0000_0000_0000H (bit 56 != 63:57): #GP", 13
    CHECK_REG exc_err(%rip), "57-bit non-canonical: error code 0", 0
    movabsq $VA_NP, %rbx
    EXPECT_EXC 1f
    movq (%rbx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "00FF_FFFF_FFFF_F000H: canonical, PML5E not present: #PF", 14
    CHECK_REG exc_err(%rip), "not-present PML5E: error code 0", 0
    CHECK_REG exc_cr2(%rip), "not-present PML5E: CR2", VA_NP

    /* Back to 4-level paging. */
    leaq pml4(%rip), %rax
    movq %rax, new_cr3(%rip)
    movq $0, cr4_or(%rip)
    movq $~CR4_LA57, cr4_and(%rip)
    movl $switch_paging, %edi
    call run_compat32
    PRINT "64-bit mode with 4-level paging again"
    CHECK_MASKED %cr4, "CR4.LA57 = 0", CR4_LA57, 0
    movabsq $VA_LO, %rbx
    EXPECT_EXC 1f
    movq 0x10(%rbx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "4-level again: 0001_0000_0000_0010H is non-canonical: #GP", 13
    movq PHYS + 0x10, %rax
    CHECK "4-level again: identity map works", 0x5757

done:
    POP_CALLEE_SAVED
    ret

/*
 * switch_paging (32-bit code, called in compatibility mode by lib.S
 * run_compat32, which far jumps back to 64-bit code after it): leave IA-32e
 * mode, set CR4 = (CR4 AND cr4_and) OR cr4_or and CR3 = new_cr3 with paging
 * off, re-enable paging (EFER.LME is still 1: compatibility mode again).
 */
    .code32
switch_paging:
    movl %cr0, %eax
    andl $0x7fffffff, %eax          /* CR0.PG = 0: EFER.LMA = 0 */
    movl %eax, %cr0
    movl %cr4, %eax
    andl cr4_and, %eax
    orl cr4_or, %eax
    movl %eax, %cr4
    movl new_cr3, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80000000, %eax           /* EFER.LME still 1: IA-32e mode again */
    movl %eax, %cr0
    ret
    .code64

    .data
    .balign 8
new_cr3:   .quad 0
cr4_or:    .quad 0
cr4_and:   .quad -1

    .bss
    .balign 4096
pml5:     .skip 4096
alt_pml4: .skip 4096
alt_pdpt: .skip 4096
alt_pd:   .skip 4096
