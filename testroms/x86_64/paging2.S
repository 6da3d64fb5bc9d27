/*
 * testroms/x86_64/paging2.S - paging features beyond paging.S (Intel SDM
 * Vol. 3A chapter 4). Each feature is tested only when CPUID advertises it
 * (the ROM prints "skip: ..." otherwise and checks that the feature is
 * refused as the SDM says), so the ROM is honest on every CPU model;
 * tests/system/20-testroms.t runs it with -cpu max.
 *  - SMEP (CPUID.07H:EBX[7]; 4.6.1 "Determination of Access Rights"): with
 *    CR4.SMEP=1 a supervisor-mode instruction fetch from a user-mode address
 *    (U/S=1 at every level) faults; 4.7: the #PF error code has P=1 and
 *    I/D=1 (I/D is reported when SMEP=1 even with NXE=0), CR2 = the address.
 *    Data reads of that page are not affected. With SMEP=0 the fetch works.
 *  - SMAP (CPUID.07H:EBX[20]; 4.6.1): with CR4.SMAP=1 and EFLAGS.AC=0 an
 *    explicit supervisor-mode data read or write of a user-mode address
 *    faults (error code P, +W for writes); with AC=1 it is allowed.
 *    Vol. 2A CLAC/STAC: clear/set EFLAGS.AC (bit 18); #UD when
 *    CPUID.07H:EBX.SMAP = 0.
 *  - Without the feature, setting the CR4 bit is #GP(0) (Vol. 2B MOV to
 *    CR4: "attempting to set any reserved bits in CR4").
 *  - Global pages (CPUID.01H:EDX[13]; 4.10.2.4 "Global Pages", 4.10.4.1):
 *    with CR4.PGE=1 a translation from a PTE with G=1 is not invalidated by
 *    MOV to CR3 (a changed PTE is not seen afterwards: the CPU may evict the
 *    entry at any time, but keeps it across CR3 loads); a non-global one
 *    is; INVLPG invalidates global translations too; changing CR4.PGE
 *    invalidates all TLB entries, global ones included; with PGE=0 the G bit
 *    is ignored and MOV to CR3 flushes everything.
 *  - 1-GByte pages (CPUID.80000001H:EDX[26]; 4.5.4, Table 4-16): a PDPTE
 *    with PS=1 maps 1 GiB, physical = PDPTE[51:30] | linear[29:0]; PDPTE
 *    bits 29:13 are reserved (#PF with RSVD); 4.8: A and D are set in the
 *    PDPTE. Without the feature, PS in a PDPTE is reserved (Table 4-16
 *    note), so the same access is a RSVD #PF.
 *  - PCID / INVPCID (CPUID.01H:ECX[17], CPUID.07H:EBX[10]; 4.10.1): without
 *    them CR4.PCIDE=1 is #GP(0) and INVPCID is #UD (Vol. 2A INVPCID "#UD If
 *    CPUID.(EAX=07H, ECX=0H):EBX.INVPCID = 0"). With them this ROM only
 *    checks that CR4.PCIDE can be set (CR3[11:0] = 0, IA-32e mode) and
 *    cleared, and that INVPCID type 2 with a zero descriptor does not
 *    fault; pcid.S tests both in depth.
 */
#include "rom.h"

#define PTE_OF(va) (pt_low + (((va) - 0x200000) >> 12) * 8)
#define PTE_G    0x100
#define USR_CODE 0x3c0000           /* user page (U/S=1) with code */
#define USR_DATA 0x3c1000           /* user page with data */
#define PHYS_A   0x3c2000
#define PHYS_B   0x3c3000
#define HI       0x40000000         /* pt_hi area */
#define GIG      0x80000000         /* PDPT[2]: the 1 GiB page */
#define BIGOFF   0x2345678          /* offset with bits 29:21 non-zero */
#define CR4_PGE   (1 << 7)
#define CR4_PCIDE (1 << 17)
#define CR4_SMEP  (1 << 20)
#define CR4_SMAP  (1 << 21)
#define F_AC      0x40000

/* Set / clear bits of CR4 (clobbers RAX). */
.macro CR4_OR bits
    movq %cr4, %rax
    orq $(\bits), %rax
    movq %rax, %cr4
.endm
.macro CR4_ANDN bits
    movq %cr4, %rax
    andq $~(\bits), %rax
    movq %rax, %cr4
.endm

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

    /* Features. */
    movl $7, %eax
    xorl %ecx, %ecx
    cpuid
    movl %ebx, feat7b(%rip)
    movl $1, %eax
    cpuid
    movl %ecx, feat1c(%rip)
    movl %edx, feat1d(%rip)
    movl $0x80000001, %eax
    cpuid
    movl %edx, feat81d(%rip)

    /* The ROM (0..2 MiB, PD entry 0) becomes supervisor-only, so SMEP and
     * SMAP can be on while it runs; 0x200000.. stays user (U/S=1). */
    andq $~PTE_US, pd_ident(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    /* USR_CODE: mov $0x5a, %eax; ret (B8 5A 00 00 00 C3). */
    movl $0x00005ab8, USR_CODE
    movw $0xc300, USR_CODE + 4
    movq $0x1234, USR_DATA

/* ---------------------------------------------------------------- SMEP */
    testl $(1 << 7), feat7b(%rip)
    jnz smep_yes
    PRINT "skip: SMEP not advertised (CPUID.07H:EBX[7]=0)"
    movq %cr4, %rbx
    movq %rbx, %rax
    orq $CR4_SMEP, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "no SMEP: setting CR4.SMEP is #GP", 13
    CHECK_REG exc_err(%rip), "no SMEP: #GP error code 0", 0
    jmp smep_done
smep_yes:
    movq $USR_CODE, %rax
    call *%rax
    CHECK "SMEP=0: CPL0 fetch from a user page works", 0x5a
    CR4_OR CR4_SMEP
    leaq 1f(%rip), %rbx
    movq $USR_CODE, %rax
    EXPECT_EXC 1f
    jmp *%rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "SMEP=1: CPL0 fetch from a user page: #PF", 14
    CHECK_REG exc_err(%rip), "SMEP fetch: error code 0x11 (P I/D)", 0x11
    CHECK_REG exc_cr2(%rip), "SMEP fetch: CR2", USR_CODE
    CHECK_REG exc_rip(%rip), "SMEP fetch: RIP = the target", USR_CODE
    movq USR_CODE, %rax
    movabsq $0xffffffffffff, %rcx
    andq %rcx, %rax
    CHECK "SMEP=1: data read of the user code page works", 0xc30000005ab8
    CR4_ANDN CR4_SMEP
    movq $USR_CODE, %rax
    call *%rax
    CHECK "SMEP cleared: the fetch works again", 0x5a
smep_done:

/* ---------------------------------------------------------------- SMAP */
    testl $(1 << 20), feat7b(%rip)
    jnz smap_yes
    PRINT "skip: SMAP not advertised (CPUID.07H:EBX[20]=0)"
    movq %cr4, %rax
    orq $CR4_SMAP, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "no SMAP: setting CR4.SMAP is #GP", 13
    EXPECT_EXC 1f
    stac
1:  DISARM
    CHECK_REG exc_vec(%rip), "no SMAP: STAC is #UD", 6
    jmp smap_done
smap_yes:
    CR4_OR CR4_SMAP
    clac
    CHECK_FLAGS "CLAC clears EFLAGS.AC", F_AC, 0
    movq $0x77, %rax
    EXPECT_EXC 1f
smap1: movq USR_DATA, %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "SMAP=1 AC=0: CPL0 read of a user page: #PF", 14
    CHECK_REG exc_err(%rip), "SMAP read: error code 1 (P)", 1
    CHECK_REG exc_cr2(%rip), "SMAP read: CR2", USR_DATA
    CHECK_REG exc_rip(%rip), "SMAP read: RIP of the load", smap1
    CHECK "SMAP read: RAX unchanged", 0x77
    EXPECT_EXC 1f
    movq $0x5678, USR_DATA + 8
1:  DISARM
    CHECK_REG exc_vec(%rip), "SMAP=1 AC=0: CPL0 write to a user page: #PF", 14
    CHECK_REG exc_err(%rip), "SMAP write: error code 3 (P W)", 3
    CHECK_REG exc_cr2(%rip), "SMAP write: CR2", USR_DATA + 8
    stac
    CHECK_FLAGS "STAC sets EFLAGS.AC", F_AC, F_AC
    movq USR_DATA, %rax
    CHECK "SMAP=1 AC=1: read allowed", 0x1234
    movq $0x5678, USR_DATA + 8
    clac
    CR4_ANDN CR4_SMAP
    movq USR_DATA + 8, %rax
    CHECK "SMAP=1 AC=1: write allowed", 0x5678
    movq USR_DATA, %rax
    CHECK "SMAP=0 AC=0: read allowed", 0x1234
smap_done:

/* -------------------------------------------------------- global pages */
    testl $(1 << 13), feat1d(%rip)
    jnz pge_yes
    PRINT "skip: global pages not advertised (CPUID.01H:EDX[13]=0)"
    jmp pge_done
pge_yes:
    movq $0xaaaa, PHYS_A
    movq $0xbbbb, PHYS_B
    CR4_OR CR4_PGE
    /* Global: survives MOV to CR3. Values collected first, checked later
     * (CHECK's own accesses must not disturb the TLB in between). */
    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US | PTE_G), pt_hi + 8(%rip)
    invlpg HI + 0x1000
    movq HI + 0x1000, %r8                   /* cache the translation */
    movq $(PHYS_B | PTE_P | PTE_RW | PTE_US | PTE_G), pt_hi + 8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    movq HI + 0x1000, %r9                   /* still A */
    invlpg HI + 0x1000
    movq HI + 0x1000, %r10                  /* B */
    movq %r8, %rax
    CHECK "PGE=1, G=1: first read through the PTE (page A)", 0xaaaa
    movq %r9, %rax
    CHECK "PGE=1, G=1: PTE changed, MOV CR3: translation kept (A)", 0xaaaa
    movq %r10, %rax
    CHECK "PGE=1, G=1: INVLPG drops the global translation (B)", 0xbbbb

    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US | PTE_G), pt_hi + 8(%rip)
    invlpg HI + 0x1000
    movq HI + 0x1000, %r8
    movq $(PHYS_B | PTE_P | PTE_RW | PTE_US | PTE_G), pt_hi + 8(%rip)
    CR4_ANDN CR4_PGE                        /* toggling PGE flushes all */
    CR4_OR CR4_PGE
    movq HI + 0x1000, %r9
    movq %r8, %rax
    CHECK "G=1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "G=1: PTE changed, CR4.PGE toggled: new translation (B)", 0xbbbb

    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US), pt_hi + 8(%rip)
    invlpg HI + 0x1000
    movq HI + 0x1000, %r8
    movq $(PHYS_B | PTE_P | PTE_RW | PTE_US), pt_hi + 8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    movq HI + 0x1000, %r9
    movq %r8, %rax
    CHECK "PGE=1, G=0: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PGE=1, G=0: PTE changed, MOV CR3: new translation (B)", 0xbbbb

    CR4_ANDN CR4_PGE
    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US | PTE_G), pt_hi + 8(%rip)
    invlpg HI + 0x1000
    movq HI + 0x1000, %r8
    movq $(PHYS_B | PTE_P | PTE_RW | PTE_US | PTE_G), pt_hi + 8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    movq HI + 0x1000, %r9
    movq %r8, %rax
    CHECK "PGE=0, G=1: read (A)", 0xaaaa
    movq %r9, %rax
    CHECK "PGE=0: G ignored, MOV CR3 flushes it (B)", 0xbbbb
    movq $0, pt_hi + 8(%rip)
    invlpg HI + 0x1000
pge_done:

/* ------------------------------------------------------- 1-GByte pages */
    movq $0x1111, BIGOFF
    movq $0x2222, PHYS_A + 0x10
    testl $(1 << 26), feat81d(%rip)
    jnz gig_yes
    PRINT "skip: 1-GByte pages not advertised (CPUID.80000001H:EDX[26]=0)"
    movq $(PTE_P | PTE_RW | PTE_US | PTE_PS), pdpt + 2*8(%rip)
    movl $GIG, %ebx
    EXPECT_EXC 1f
    movq BIGOFF(%rbx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "no Page1GB: PDPTE with PS=1: #PF", 14
    CHECK_REG exc_err(%rip), "no Page1GB: error code 9 (P RSVD)", 9
    jmp gig_end
gig_yes:
    movl $GIG, %ebx                         /* RBX = 2 GiB (zero-extended) */
    movq $(PTE_P | PTE_RW | PTE_US | PTE_PS), pdpt + 2*8(%rip)
    invlpg BIGOFF(%rbx)
    movq BIGOFF(%rbx), %rax
    CHECK "1 GiB page: linear 2G+0x2345678 -> physical 0x2345678", 0x1111
    movq PHYS_A + 0x10(%rbx), %rax
    CHECK "1 GiB page: a second offset", 0x2222
    movq $0x3333, PHYS_A + 0x18(%rbx)
    movq PHYS_A + 0x18, %rax
    CHECK "1 GiB page: store lands at the physical offset", 0x3333
    CHECK_MASKED pdpt + 2*8(%rip), "1 GiB page: PDPTE A=1 D=1 after read and write", (PTE_A | PTE_D), (PTE_A | PTE_D)
    movq $(PTE_P | PTE_RW | PTE_US | PTE_PS), pdpt + 2*8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    movq 8(%rbx), %rax
    CHECK_MASKED pdpt + 2*8(%rip), "1 GiB page: read only: PDPTE A=1 D=0", (PTE_A | PTE_D), PTE_A
    /* Bit 13 (reserved in a 1 GiB PDPTE, it would be PAT only at bit 12). */
    movq $(PTE_P | PTE_RW | PTE_US | PTE_PS | 0x2000), pdpt + 2*8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    EXPECT_EXC 1f
gig1: movq 0x40(%rbx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "1 GiB PDPTE with bit 13 set: #PF", 14
    CHECK_REG exc_err(%rip), "1 GiB reserved bit: error code 9 (P RSVD)", 9
    CHECK_REG exc_cr2(%rip), "1 GiB reserved bit: CR2", GIG + 0x40
    CHECK_REG exc_rip(%rip), "1 GiB reserved bit: RIP", gig1
gig_end:
    movq $0, pdpt + 2*8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3

/* ------------------------------------------------------- PCID / INVPCID */
    testl $(1 << 17), feat1c(%rip)
    jnz pcid_yes
    PRINT "skip: PCID not advertised (CPUID.01H:ECX[17]=0)"
    movq %cr4, %rax
    orq $CR4_PCIDE, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "no PCID: setting CR4.PCIDE is #GP", 13
    CHECK_REG exc_err(%rip), "no PCID: #GP error code 0", 0
    jmp pcid_done
pcid_yes:
    movq %cr4, %rbx
    movq %rbx, %rax
    orq $CR4_PCIDE, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "PCID: setting CR4.PCIDE with CR3[11:0]=0 works", -1
    CHECK_MASKED %cr4, "PCID: CR4.PCIDE reads 1", CR4_PCIDE, CR4_PCIDE
    movq %rbx, %cr4
    CHECK_MASKED %cr4, "PCID: CR4.PCIDE cleared", CR4_PCIDE, 0
pcid_done:
    testl $(1 << 10), feat7b(%rip)
    jnz invpcid_yes
    PRINT "skip: INVPCID not advertised (CPUID.07H:EBX[10]=0)"
    leaq invpcid_desc(%rip), %rcx
    xorl %eax, %eax
    EXPECT_EXC 1f
    invpcid (%rcx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "no INVPCID: INVPCID is #UD", 6
    jmp invpcid_done
invpcid_yes:
    leaq invpcid_desc(%rip), %rcx
    movl $2, %eax
    EXPECT_EXC 1f
    invpcid (%rcx), %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "INVPCID type 2, zero descriptor: no fault", -1
invpcid_done:

    orq $PTE_US, pd_ident(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    POP_CALLEE_SAVED
    ret

    .data
    .balign 16
invpcid_desc: .quad 0, 0
feat7b:  .long 0
feat1c:  .long 0
feat1d:  .long 0
feat81d: .long 0
