/*
 * testroms/x86_64/paging.S - 4-level paging (Intel SDM Vol. 3A chapter 4).
 *  - 4.8 "Accessed and Dirty Flags": every paging-structure entry used in a
 *    translation gets A=1; a write sets D=1 in the entry that maps the page
 *    (PTE, or the PDE of a 2 MiB page), not in non-leaf entries (bit 6 is
 *    ignored there, Table 4-17).
 *  - 4.10.4.1 INVLPG and MOV to CR3 invalidate the TLB entries, so a changed
 *    PTE takes effect afterwards; a new CR3 selects other tables.
 *  - 4.5 (Tables 4-15..4-20): a PDE with PS=1 maps a 2 MiB page (offset =
 *    linear[20:0]); its bits 20:13 are reserved; with IA32_EFER.NXE=0 bit 63
 *    (XD) is reserved; reserved bits set give #PF with RSVD (bit 3) = 1.
 *  - 4.6.2: with NXE=1 an instruction fetch from a page whose XD is 1 in any
 *    paging-structure entry faults; 4.7: its error code has P and I/D set
 *    (I/D is set for fetches when NXE=1), CR2 = the fetch address.
 */
#include "rom.h"

#define PTE_OF(va) (pt_low + (((va) - 0x200000) >> 12) * 8)
#define PG_AD    0x310000           /* A/D test page (4 KiB) */
#define PG_MOV   0x320000           /* remapped page */
#define PHYS_A   0x330000
#define PHYS_B   0x331000
#define PHYS_C   0x340000
#define PHYS_D   0x341000
#define PG_NX    0x350000           /* XD page */
#define PG_NP    0x360000           /* not present */
#define HI       0x40000000         /* pt_hi / pd_hi area */
#define BIG_PA   0x800000           /* 2 MiB-aligned physical area */
#define EFER     0xc0000080

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

/* ------------------------------------------------- accessed / dirty bits */
    andq $~(PTE_A | PTE_D), PTE_OF(PG_AD)(%rip)
    andq $~PTE_A, pd_ident + 8(%rip)        /* PDE -> pt_low */
    andq $~PTE_A, pdpt(%rip)
    andq $~PTE_A, pml4(%rip)
    movq %cr3, %rax
    movq %rax, %cr3                         /* flush: the next access walks */
    movq PG_AD, %rax                        /* read */
    CHECK_MASKED PTE_OF(PG_AD)(%rip), "read: PTE A=1, D=0", (PTE_A | PTE_D), PTE_A
    CHECK_MASKED pd_ident + 8(%rip), "read: PDE A=1", PTE_A, PTE_A
    CHECK_MASKED pdpt(%rip), "read: PDPTE A=1", PTE_A, PTE_A
    CHECK_MASKED pml4(%rip), "read: PML4E A=1", PTE_A, PTE_A
    movq $1, PG_AD                          /* write (TLB may hold D=0) */
    CHECK_MASKED PTE_OF(PG_AD)(%rip), "write after read: PTE D=1", (PTE_A | PTE_D), (PTE_A | PTE_D)
    CHECK_MASKED pd_ident + 8(%rip), "write: non-leaf PDE bit 6 stays 0", PTE_D, 0

    andq $~(PTE_A | PTE_D), PTE_OF(PG_AD)(%rip)
    invlpg PG_AD
    movq $2, PG_AD + 8                      /* write first */
    CHECK_MASKED PTE_OF(PG_AD)(%rip), "first access a write: PTE A=1 D=1", (PTE_A | PTE_D), (PTE_A | PTE_D)

    andq $~(PTE_A | PTE_D), pd_ident + 3*8(%rip)   /* 2 MiB page 0x600000 */
    invlpg 0x600000
    movq 0x600000, %rax
    CHECK_MASKED pd_ident + 3*8(%rip), "2 MiB page read: PDE A=1, D=0", (PTE_A | PTE_D), PTE_A
    movq $3, 0x7ffff8
    CHECK_MASKED pd_ident + 3*8(%rip), "2 MiB page write: PDE D=1", (PTE_A | PTE_D), (PTE_A | PTE_D)

/* ---------------------------------------------- INVLPG / CR3 make PTE visible */
    movq $0xaaaa, PHYS_A
    movq $0xbbbb, PHYS_B
    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_MOV)(%rip)
    invlpg PG_MOV
    movq PG_MOV, %rax
    CHECK "PTE -> page A after INVLPG", 0xaaaa
    movq $(PHYS_B | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_MOV)(%rip)
    invlpg PG_MOV
    movq PG_MOV, %rax
    CHECK "PTE -> page B after INVLPG", 0xbbbb
    movq $0xb0b0, PG_MOV + 8                /* store through the new mapping */
    movq PHYS_B + 8, %rax
    CHECK "store lands in page B", 0xb0b0
    movq $(PHYS_A | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_MOV)(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    movq PG_MOV, %rax
    CHECK "PTE -> page A after MOV CR3", 0xaaaa
    movq $(PG_MOV | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_MOV)(%rip)
    invlpg PG_MOV

    /* Two address spaces differing at HI: pt_hi -> PHYS_D, alt -> PHYS_C. */
    movq $0xcccc, PHYS_C
    movq $0xdddd, PHYS_D
    movq $(PHYS_D | PTE_P | PTE_RW | PTE_US), pt_hi(%rip)
    invlpg HI
    leaq alt_pdpt + 7(%rip), %rax
    movq %rax, alt_pml4(%rip)
    movq pdpt(%rip), %rax
    movq %rax, alt_pdpt(%rip)               /* same low 1 GiB */
    leaq alt_pd + 7(%rip), %rax
    movq %rax, alt_pdpt + 8(%rip)
    leaq alt_pt + 7(%rip), %rax
    movq %rax, alt_pd(%rip)
    movq $(PHYS_C | PTE_P | PTE_RW | PTE_US), alt_pt(%rip)
    movq HI, %rax
    CHECK "CR3 = pml4: HI maps page D", 0xdddd
    movq %cr3, %rbx
    leaq alt_pml4(%rip), %rax
    movq %rax, %cr3
    movq HI, %rax
    CHECK "CR3 = alt_pml4: HI maps page C", 0xcccc
    movq %rbx, %cr3
    movq HI, %rax
    CHECK "CR3 back: HI maps page D", 0xdddd

/* ---------------------------------------------------------- 2 MiB pages */
    movq $(BIG_PA | PTE_P | PTE_RW | PTE_US | PTE_PS), pd_hi + 8(%rip)
    movq $0x1111, BIG_PA + 0x1238
    movq $0x2222, BIG_PA + 0x100008         /* bit 20 of the offset */
    movq HI + 0x200000 + 0x1238, %rax
    CHECK "2 MiB alias: offset 0x1238", 0x1111
    movq HI + 0x200000 + 0x100008, %rax
    CHECK "2 MiB alias: offset 0x100008 (bit 20)", 0x2222
    movq $0x3333, HI + 0x200000 + 0x1ffff8
    movq BIG_PA + 0x1ffff8, %rax
    CHECK "2 MiB alias: store at the last qword", 0x3333

    movq $(BIG_PA | PTE_P | PTE_RW | PTE_US | PTE_PS | 0x2000), pd_hi + 16(%rip)
    EXPECT_EXC 1f
rsv1: movq HI + 0x400000, %rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "2 MiB PDE with bit 13 set: #PF", 14
    CHECK_REG exc_err(%rip), "reserved bit 13: error code 9 (P RSVD)", 9
    CHECK_REG exc_cr2(%rip), "reserved bit 13: CR2", HI+0x400000
    movq $0, pd_hi + 16(%rip)
    invlpg HI + 0x400000

/* ---------------------------------------------------------------- NX */
    movq $0xe3ff, PG_NX                     /* jmp *%rbx, if ever executed */
    movabsq $(PG_NX | PTE_P | PTE_RW | PTE_US | PTE_NX), %rax
    movq %rax, PTE_OF(PG_NX)(%rip)
    invlpg PG_NX
    EXPECT_EXC 1f
    movq PG_NX, %rax                        /* NXE=0: bit 63 is reserved */
1:  DISARM
    CHECK_REG exc_vec(%rip), "NXE=0, XD set: #PF", 14
    CHECK_REG exc_err(%rip), "NXE=0, XD set: error code 9 (P RSVD)", 9

    movl $EFER, %ecx
    rdmsr
    orl $0x800, %eax                        /* EFER.NXE */
    wrmsr
    movq PG_NX, %rax
    CHECK "NXE=1: data read from an XD page works", 0xe3ff
    leaq 1f(%rip), %rbx
    movq $PG_NX, %rax
    EXPECT_EXC 1f
    jmp *%rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "fetch from XD page: #PF", 14
    CHECK_REG exc_err(%rip), "fetch from XD page: error code 0x11 (P I/D)", 0x11
    CHECK_REG exc_cr2(%rip), "fetch from XD page: CR2", PG_NX
    CHECK_REG exc_rip(%rip), "fetch from XD page: RIP", PG_NX

    /* XD in a non-leaf entry (PDE) covers every page below it. */
    movq $(PG_NX | PTE_P | PTE_RW | PTE_US), pt_hi + 8(%rip)   /* HI+0x1000 */
    btsq $63, pd_hi(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    leaq 1f(%rip), %rbx
    movq $HI + 0x1000, %rax
    EXPECT_EXC 1f
    jmp *%rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "fetch under XD PDE: #PF", 14
    CHECK_REG exc_err(%rip), "fetch under XD PDE: error code 0x11", 0x11
    btrq $63, pd_hi(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    leaq 1f(%rip), %rbx
    movq $HI + 0x1000, %rax
    EXPECT_EXC 1f
    jmp *%rax                               /* executes jmp *%rbx */
1:  DISARM
    CHECK_REG exc_vec(%rip), "XD cleared in PDE: page executes (no exception)", -1

    andq $~PTE_P, PTE_OF(PG_NP)(%rip)
    invlpg PG_NP
    movq $PG_NP, %rax
    EXPECT_EXC 1f
    jmp *%rax
1:  DISARM
    CHECK_REG exc_vec(%rip), "NXE=1 fetch from not-present page: #PF", 14
    CHECK_REG exc_err(%rip), "NXE=1 fetch not-present: error code 0x10 (I/D)", 0x10
    orq $PTE_P, PTE_OF(PG_NP)(%rip)
    invlpg PG_NP

    movl $EFER, %ecx
    rdmsr
    andl $~0x800, %eax
    wrmsr
    movq $(PG_NX | PTE_P | PTE_RW | PTE_US), PTE_OF(PG_NX)(%rip)
    invlpg PG_NX

    POP_CALLEE_SAVED
    ret

    .bss
    .balign 4096
alt_pml4: .skip 4096
alt_pdpt: .skip 4096
alt_pd:   .skip 4096
alt_pt:   .skip 4096
