/*
 * testroms/x86_64/pcid.S - process-context identifiers and INVPCID (Intel
 * SDM Vol. 3A 4.10.1 "Process-Context Identifiers", 4.10.4.1 "Operations
 * that Invalidate TLBs and Paging-Structure Caches", 2.5 CR3/CR4; Vol. 2A
 * INVPCID; Vol. 2B MOV-Control Registers). tests/system/20-testroms.t runs
 * it with -cpu max. Each part runs only when CPUID advertises its feature
 * (else the ROM prints "skip: ..." and checks that the feature is refused).
 *  - PCID (CPUID.01H:ECX[17]): without it, setting CR4.PCIDE is #GP(0).
 *    With it: MOV to CR4 setting PCIDE while CR3[11:0] != 0 is #GP(0)
 *    (Vol. 2B; 4.10.1) and leaves CR4 unchanged; with CR3[11:0] = 0 it
 *    works. With PCIDE=0, CR3 bit 63 is reserved (Table 4-12: bits
 *    63:MAXPHYADDR), so MOV to CR3 with it is #GP(0). With PCIDE=1 bits 11:0
 *    of CR3 are the PCID and bit 63 of a MOV to CR3 source is the no-flush
 *    hint, which is not stored: reading CR3 gives bit 63 = 0 (4.10.4.1,
 *    Table 4-13). MOV to CR3 with bit 63 = 0 invalidates the new PCID's
 *    non-global translations (4.10.4.1): after changing a PTE, switching to
 *    PCID 2 (no-flush) and back to PCID 1 (flush) gives the new translation.
 *    INVLPG with PCIDE=1 invalidates the page (all PCIDs, globals too).
 *    Clearing CR4.PCIDE invalidates all TLB entries, global ones included
 *    (4.10.4.1), so a changed global PTE is seen afterwards.
 *  - INVPCID (CPUID.07H:EBX[10]): without it, #UD. With it (Vol. 2A
 *    INVPCID, 64-bit mode exceptions): #GP(0) for type > 3 (the register is
 *    64 bits wide in 64-bit mode, so 1 << 32 is type > 3 too), for any of
 *    descriptor bits 63:12 set, for type 0 with a non-canonical address in
 *    bits 127:64, for types 0 and 1 with a non-zero PCID while CR4.PCIDE=0
 *    (types 2 and 3 then work), and at CPL3; a register r/m operand and the
 *    encoding without the 66 prefix are #UD (66 0F 38 82 /r with a memory
 *    operand only; 0F 38 82 is not defined), and so is a LOCK prefix.
 *    Each type invalidates what 4.10.4.1 says: after a PTE change, type 0
 *    (address + current PCID), type 1 (current PCID), type 3 (all but
 *    globals) make a non-global translation new, type 2 (all) a global
 *    one; type 0 also with PCIDE=0.
 * A PTE change followed by the invalidation and the read happen with no
 * check in between (a CHECK's own accesses could evict the entry).
 */
#include "rom.h"

#define HI      0x40000000          /* pt_hi area: page HI + 0x1000 is pt_hi[1] */
#define VA      (HI + 0x1000)
#define PHYS_A  0x3c2000
#define PHYS_B  0x3c3000
#define PTE_G   0x100
#define CR4_PGE   (1 << 7)
#define CR4_PCIDE (1 << 17)
#define NOFLUSH   (1 << 63)

/* Point VA's PTE at physical @phys with extra bits @g (clobbers nothing). */
.macro SET_PTE phys:req, g=0
    movq $(\phys | PTE_P | PTE_RW | PTE_US | \g), pt_hi + 8(%rip)
.endm

/* desc := { lo, hi } (the INVPCID descriptor; clobbers RAX). */
.macro DESC lo:req, hi:req
    movabsq $(\lo), %rax
    movq %rax, desc(%rip)
    movabsq $(\hi), %rax
    movq %rax, desc + 8(%rip)
.endm

/* Run INVPCID type @type (in RAX) on desc and record vector/error in the
 * slot checked right after (clobbers RAX, RCX). */
.macro TRY_INVPCID type:req
    movabsq $(\type), %rax
    leaq desc(%rip), %rcx
    EXPECT_EXC 1f
    invpcid (%rcx), %rax
1:  DISARM
.endm

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    movq %cr3, %r12                 /* R12 = CR3 with PCID 0 (pml4) */
    movq %cr4, %r13                 /* R13 = CR4 at entry */
    movq $0xaaaa, PHYS_A
    movq $0xbbbb, PHYS_B

    movl $1, %eax
    cpuid
    movl %ecx, feat1c(%rip)
    movl $7, %eax
    xorl %ecx, %ecx
    cpuid
    movl %ebx, feat7b(%rip)

/* ---------------------------------------------------------------- PCID */
    testl $(1 << 17), feat1c(%rip)
    jnz pcid_yes
    PRINT "skip: PCID not advertised (CPUID.01H:ECX[17]=0)"
    movq %r13, %rax
    orq $CR4_PCIDE, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "no PCID: setting CR4.PCIDE is #GP", 13
    CHECK_REG exc_err(%rip), "no PCID: #GP error code 0", 0
    jmp pcid_done
pcid_yes:
    PRINT "PCID advertised (CPUID.01H:ECX[17]=1)"
    /* CR3[11:0] != 0 (PWT, bit 3): setting PCIDE is #GP(0). */
    movq %r12, %rax
    orq $0x8, %rax
    movq %rax, %cr3
    movq %r13, %rax
    orq $CR4_PCIDE, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR3[11:0]=8: setting CR4.PCIDE is #GP", 13
    CHECK_REG exc_err(%rip), "PCIDE with CR3[11:0]!=0: error code 0", 0
    CHECK_MASKED %cr4, "PCIDE with CR3[11:0]!=0: CR4.PCIDE still 0", CR4_PCIDE, 0
    movq %r12, %cr3

    /* PCIDE=0: CR3 bit 63 is reserved. */
    movq %r12, %rax
    btsq $63, %rax
    EXPECT_EXC 1f
    movq %rax, %cr3
1:  DISARM
    CHECK_REG exc_vec(%rip), "PCIDE=0: MOV CR3 with bit 63 is #GP", 13
    CHECK_REG exc_err(%rip), "PCIDE=0 CR3 bit 63: error code 0", 0

    /* CR3[11:0] = 0: PCIDE can be set. */
    movq %r13, %rax
    orq $CR4_PCIDE, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR3[11:0]=0: setting CR4.PCIDE works", -1
    CHECK_MASKED %cr4, "CR4.PCIDE reads 1", CR4_PCIDE, CR4_PCIDE

    /* PCID 5 with the no-flush bit: bit 63 is not stored. */
    movq %r12, %rax
    orq $5, %rax
    btsq $63, %rax
    movq %rax, %cr3
    movq %cr3, %rax
    subq %r12, %rax
    CHECK "MOV CR3 PCID 5 | bit 63: CR3 reads PCID 5, bit 63 = 0", 5
    movq %r12, %rax
    orq $0xfff, %rax
    movq %rax, %cr3
    movq %cr3, %rax
    subq %r12, %rax
    CHECK "MOV CR3 PCID 0xfff (bit 63 = 0): CR3 reads PCID 0xfff", 0xfff

    /* MOV CR3 without bit 63 flushes the new PCID's entries. */
    movq %r12, %rbx
    orq $1, %rbx                    /* RBX = CR3 with PCID 1 */
    movq %r12, %rbp
    orq $2, %rbp
    btsq $63, %rbp                  /* RBP = PCID 2, no flush */
    movq %rbx, %cr3
    SET_PTE PHYS_A
    invlpg VA
    movq VA, %r8
    SET_PTE PHYS_B
    movq %rbp, %cr3
    movq %rbx, %cr3
    movq VA, %r9
    movq %r8, %rax
    CHECK "PCID 1: read through the PTE (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PTE changed, PCID 2 (no flush), PCID 1 (flush): B", 0xbbbb

    /* INVLPG with PCIDE=1, non-global and global. */
    SET_PTE PHYS_A
    invlpg VA
    movq VA, %r8
    SET_PTE PHYS_B
    invlpg VA
    movq VA, %r9
    movq %r8, %rax
    CHECK "PCIDE=1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PCIDE=1: PTE changed, INVLPG: B", 0xbbbb
    movq %cr4, %rax
    orq $CR4_PGE, %rax
    movq %rax, %cr4
    SET_PTE PHYS_A, PTE_G
    invlpg VA
    movq VA, %r8
    SET_PTE PHYS_B, PTE_G
    invlpg VA
    movq VA, %r9
    movq %r8, %rax
    CHECK "PCIDE=1 PGE=1 G=1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PCIDE=1: global PTE changed, INVLPG: B", 0xbbbb

    /* Clearing PCIDE flushes global translations too. */
    SET_PTE PHYS_A, PTE_G
    invlpg VA
    movq %r12, %cr3                 /* PCID 0: PCIDE may be cleared */
    movq VA, %r8
    SET_PTE PHYS_B, PTE_G
    movq %cr4, %rax
    andq $~CR4_PCIDE, %rax
    movq %rax, %cr4
    movq VA, %r9
    movq %r8, %rax
    CHECK "G=1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "global PTE changed, CR4.PCIDE cleared: B", 0xbbbb
    movq %r13, %cr4
    movq %r12, %cr3
pcid_done:

/* ------------------------------------------------------------- INVPCID */
    testl $(1 << 10), feat7b(%rip)
    jnz invpcid_yes
    PRINT "skip: INVPCID not advertised (CPUID.07H:EBX[10]=0)"
    DESC 0, 0
    TRY_INVPCID 2
    CHECK_REG exc_vec(%rip), "no INVPCID: INVPCID is #UD", 6
    jmp invpcid_done
invpcid_yes:
    PRINT "INVPCID advertised (CPUID.07H:EBX[10]=1)"
    DESC 0, 0
    TRY_INVPCID 4
    CHECK_REG exc_vec(%rip), "INVPCID type 4: #GP", 13
    CHECK_REG exc_err(%rip), "INVPCID type 4: error code 0", 0
    TRY_INVPCID 0x100000000
    CHECK_REG exc_vec(%rip), "INVPCID type 1<<32 (64-bit register): #GP", 13
    DESC 0x1000, 0
    TRY_INVPCID 1
    CHECK_REG exc_vec(%rip), "INVPCID descriptor bit 12 set: #GP", 13
    CHECK_REG exc_err(%rip), "INVPCID reserved bit: error code 0", 0
    DESC 0x8000000000000000, 0
    TRY_INVPCID 3
    CHECK_REG exc_vec(%rip), "INVPCID type 3, descriptor bit 63 set: #GP", 13
    DESC 0, 0x0000800000000000
    TRY_INVPCID 0
    CHECK_REG exc_vec(%rip), "INVPCID type 0, non-canonical address: #GP", 13
    CHECK_REG exc_err(%rip), "INVPCID non-canonical: error code 0", 0
    DESC 0, 0x0000800000000000
    TRY_INVPCID 1
    CHECK_REG exc_vec(%rip), "INVPCID type 1 ignores the address: no fault", -1
    DESC 0, 0xffff800000000000
    TRY_INVPCID 0
    CHECK_REG exc_vec(%rip), "INVPCID type 0, canonical high address: no fault", -1
    /* PCIDE=0 here: types 0/1 need PCID 0, types 2/3 do not. */
    DESC 1, VA
    TRY_INVPCID 0
    CHECK_REG exc_vec(%rip), "PCIDE=0, type 0, PCID 1: #GP", 13
    CHECK_REG exc_err(%rip), "PCIDE=0 PCID 1: error code 0", 0
    TRY_INVPCID 1
    CHECK_REG exc_vec(%rip), "PCIDE=0, type 1, PCID 1: #GP", 13
    TRY_INVPCID 2
    CHECK_REG exc_vec(%rip), "PCIDE=0, type 2, PCID 1: no fault", -1
    TRY_INVPCID 3
    CHECK_REG exc_vec(%rip), "PCIDE=0, type 3, PCID 1: no fault", -1
    /* Register r/m operand (66 0F 38 82 C1) and no 66 prefix (0F 38 82 01). */
    xorl %eax, %eax
    leaq desc(%rip), %rcx
    EXPECT_EXC 1f
    .byte 0x66, 0x0f, 0x38, 0x82, 0xc1
1:  DISARM
    CHECK_REG exc_vec(%rip), "INVPCID with a register operand: #UD", 6
    EXPECT_EXC 1f
    .byte 0x0f, 0x38, 0x82, 0x01
1:  DISARM
    CHECK_REG exc_vec(%rip), "0F 38 82 without the 66 prefix: #UD", 6
    movl $2, %eax
    EXPECT_EXC 1f
    .byte 0xf0, 0x66, 0x0f, 0x38, 0x82, 0x01
1:  DISARM
    CHECK_REG exc_vec(%rip), "LOCK INVPCID: #UD", 6
    /* CPL3. */
    leaq user_invpcid(%rip), %rdi
    movl $2, %esi
    call run_user
    CHECK_REG r_user(%rip), "INVPCID at CPL3: #GP", 13
    CHECK_REG r_user + 8(%rip), "INVPCID at CPL3: error code 0", 0

    /* Type 0 with PCIDE=0 (PCID 0). */
    DESC 0, VA
    leaq desc(%rip), %rcx
    xorl %edx, %edx
    SET_PTE PHYS_A
    invlpg VA
    movq VA, %r8
    SET_PTE PHYS_B
    invpcid (%rcx), %rdx
    movq VA, %r9
    movq %r8, %rax
    CHECK "PCIDE=0: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PCIDE=0: PTE changed, INVPCID type 0: B", 0xbbbb

    testl $(1 << 17), feat1c(%rip)
    jnz 1f
    PRINT "skip: INVPCID with PCIDE=1 (PCID not advertised)"
    jmp invpcid_done
1:  movq %r13, %rax
    orq $(CR4_PCIDE | CR4_PGE), %rax
    movq %rax, %cr4
    movq %r12, %rbx
    orq $1, %rbx
    movq %rbx, %cr3                 /* PCID 1 */
    DESC 1, VA
    leaq desc(%rip), %rcx
.irp type, 0, 1, 3
    SET_PTE PHYS_A
    invlpg VA
    movq VA, %r8
    SET_PTE PHYS_B
    movl $\type, %edx
    invpcid (%rcx), %rdx
    movq VA, %r9
    movq %r8, %rax
    CHECK "PCID 1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PCID 1: PTE changed, INVPCID type \type: B", 0xbbbb
.endr
    SET_PTE PHYS_A, PTE_G
    invlpg VA
    movq VA, %r8
    SET_PTE PHYS_B, PTE_G
    movl $2, %edx
    invpcid (%rcx), %rdx
    movq VA, %r9
    movq %r8, %rax
    CHECK "PCID 1, G=1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PCID 1: global PTE changed, INVPCID type 2: B", 0xbbbb
    /* PCIDE=1: types 0 and 1 accept a non-zero PCID. */
    DESC 7, VA
    TRY_INVPCID 0
    CHECK_REG exc_vec(%rip), "PCIDE=1, type 0, PCID 7: no fault", -1
    TRY_INVPCID 1
    CHECK_REG exc_vec(%rip), "PCIDE=1, type 1, PCID 7: no fault", -1
    movq %r12, %cr3
    movq %r13, %cr4
invpcid_done:
    movq $0, pt_hi + 8(%rip)
    movq %r12, %cr3

    POP_CALLEE_SAVED
    ret

/* CPL3 code (the exception record and result slot are user pages). */
user_invpcid:
    leaq desc(%rip), %rcx
    movq $0, (%rcx)
    movq $0, 8(%rcx)
    movl $2, %eax
    TRY r_user, invpcid (%rcx), %rax
    int $USER_RET_VEC
    ud2

    .data
    .balign 16
desc:      .quad 0, 0
r_user:    .fill 3, 8, -1
feat1c:    .long 0
feat7b:    .long 0
