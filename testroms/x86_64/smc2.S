/*
 * testroms/x86_64/smc2.S - self-modifying code across pages and code
 * modified by a device's DMA (smc.S covers the same-page cases).
 *  - Intel SDM Vol. 3A 11.6 "Self-Modifying Code": a write to a code
 *    location invalidates the cached code, checked by physical address,
 *    whichever linear address (4.10.2) the write used; on P6 and later even
 *    an already prefetched next instruction is invalidated. Applied to an
 *    instruction that straddles a page boundary (MOV r32, imm32 with the
 *    opcode in one page and the immediate in the next): patching either
 *    page, remapping the second page (PTE change + INVLPG, 4.10.4.1) and
 *    writing the second page through another linear alias must all be seen
 *    by the next execution; a store at the end of one page that rewrites
 *    the first instruction of the next page is seen when execution falls
 *    through into it.
 *  - DMA: QEMU's fw_cfg DMA interface (QEMU docs/specs/fw_cfg.rst,
 *    "Guest-side DMA Interface"): an FWCfgDmaAccess { be32 control; be32
 *    length; be64 address } whose big-endian physical address is written to
 *    ports 0x514 (high half) and 0x518 (low half, starts the transfer);
 *    control = select (bit 3) | read (bit 1) | key << 16; on completion the
 *    device clears control (bit 0 = error). Key 0 (FW_CFG_SIGNATURE) reads
 *    "QEMU"; key 1 (FW_CFG_ID) bit 1 says DMA is supported. The ROM DMAs
 *    "QEMU" over the immediate of an already executed MOV; after a
 *    serializing CPUID (Vol. 3A 9.1.3 "Handling Cross-Modifying Code",
 *    which also covers other bus agents) the next execution must return
 *    the new value 0x554D4551.
 */
#include "rom.h"

#define PTE_OF(va) (pt_low + (((va) - 0x200000) >> 12) * 8)
#define HI       0x40000000
#define CODE_N   0x3e0000           /* straddling MOV: opcode at +0xFFE */
#define CODE_N1  0x3e1000
#define PHYS_X   0x3e2000           /* alternative second page */
#define CODE2_N  0x3e4000           /* fall-through test */
#define CODE2_N1 0x3e5000
#define DMA_CODE 0x3e8000
#define DESC     0x3e9000
#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA_HI 0x514
#define FW_CFG_DMA_LO 0x518

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

/* ------------------------------------------- straddling the boundary */
    /* CODE_N+FFE: B8 44 | 33 22 11 C3  = mov $0x11223344, %eax; ret */
    movw $0x44b8, CODE_N + 0xffe
    movl $0xc3112233, CODE_N1
    movq $CODE_N + 0xffe, %rbx
    call *%rbx
    CHECK "straddling MOV: first run", 0x11223344
    call *%rbx
    CHECK "straddling MOV: second run (cached)", 0x11223344
    movb $0x99, CODE_N1 + 1
    call *%rbx
    CHECK "patch in the second page", 0x11993344
    movb $0x55, CODE_N + 0xfff
    call *%rbx
    CHECK "patch in the first page", 0x11993355
    movl $0xc3556677, PHYS_X
    movq $(PHYS_X | PTE_P | PTE_RW | PTE_US), PTE_OF(CODE_N1)(%rip)
    invlpg CODE_N1
    call *%rbx
    CHECK "second page remapped (PTE + INVLPG)", 0x55667755
    movq $(PHYS_X | PTE_P | PTE_RW | PTE_US), pt_hi(%rip)
    invlpg HI
    movb $0xaa, HI + 1
    call *%rbx
    CHECK "second page written through another linear alias", 0x55aa7755
    movq $0, pt_hi(%rip)
    invlpg HI
    movq $(CODE_N1 | PTE_P | PTE_RW | PTE_US), PTE_OF(CODE_N1)(%rip)
    invlpg CODE_N1
    call *%rbx
    CHECK "second page mapped back", 0x11993355

/* --------------------------------- store, then fall into the next page */
    /* CODE2_N+FFA: C6 07 C3 (movb $0xc3, (%rdi)), 90 90 90;
     * CODE2_N1: B8 01 00 00 00 C3 (mov $1, %eax; ret). */
    movl $0x90c307c6, CODE2_N + 0xffa
    movw $0x9090, CODE2_N + 0xffe
    movl $0x000001b8, CODE2_N1
    movw $0xc300, CODE2_N1 + 4
    movq $CODE2_N1 + 0x10, %rdi     /* first run: store elsewhere */
    xorl %eax, %eax
    movq $CODE2_N + 0xffa, %rbx
    call *%rbx
    CHECK "fall-through: next page's MOV ran", 1
    movq $CODE2_N1, %rdi            /* now the store turns B8 into RET */
    xorl %eax, %eax
    call *%rbx
    CHECK "fall-through: store to the next page's first byte is seen", 0

/* ---------------------------------------------------- DMA into code */
    movw $1, %ax                    /* FW_CFG_ID */
    movw $FW_CFG_SEL, %dx
    outw %ax, %dx
    movw $FW_CFG_DATA, %dx
    inb %dx, %al
    movzbl %al, %eax
    andl $2, %eax
    CHECK "fw_cfg ID: DMA interface advertised (bit 1)", 2

    movl $0x000000b8, DMA_CODE      /* mov $0, %eax; ret */
    movw $0xc300, DMA_CODE + 4
    movq $DMA_CODE, %rbx
    call *%rbx
    CHECK "DMA target code: before", 0
    call *%rbx
    movl $0x0000000a, %eax          /* key 0 << 16 | select | read */
    bswap %eax
    movl %eax, DESC
    movl $4, %eax
    bswap %eax
    movl %eax, DESC + 4
    movq $DMA_CODE + 1, %rax
    bswap %rax
    movq %rax, DESC + 8
    xorl %eax, %eax
    movw $FW_CFG_DMA_HI, %dx
    outl %eax, %dx
    movl $DESC, %eax
    bswap %eax
    movw $FW_CFG_DMA_LO, %dx
    outl %eax, %dx
    movl DESC, %eax
    CHECK "fw_cfg DMA: control cleared (done, no error)", 0
    movl DMA_CODE + 1, %eax
    CHECK "fw_cfg DMA: 'QEMU' landed in the code page", 0x554d4551
    xorl %eax, %eax
    cpuid                           /* serializing; clobbers RBX */
    movq $DMA_CODE, %rbx
    call *%rbx
    CHECK "code rewritten by DMA: next execution sees it", 0x554d4551

    POP_CALLEE_SAVED
    ret
