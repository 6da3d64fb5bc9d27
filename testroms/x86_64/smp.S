/*
 * testroms/x86_64/smp.S - multiprocessor start-up through the local APIC
 * (run with -smp 2, tests/system/20-testroms.t).
 *  - SDM Vol. 3A "Multiple-Processor (MP) Initialization" (9.4; 8.4 in
 *    older editions): after reset only the BSP runs; an AP waits for a
 *    start-up IPI. The BSP's typical sequence (9.4.4.1) is INIT IPI, then
 *    SIPI, SIPI; an AP that is already running ignores the second SIPI.
 *  - SDM Vol. 3A 11.6.1 (10.6.1 in older editions), ICR: delivery mode 101
 *    INIT, 110 Start-Up with the vector VV naming the 4 KiB page VV000H
 *    where the AP starts in real mode with CS = VV00H, IP = 0; destination
 *    APIC ID in ICR bits 63:56 (written first, to 0x310).
 *  - SDM Vol. 3A 11.4.4: IA32_APIC_BASE.BSP (bit 8) is set on the BSP only;
 *    11.4.6: the APIC ID register bits 31:24; CPUID.01H:EBX[31:24] is the
 *    initial APIC ID of the CPU executing it (SDM Vol. 2A CPUID).
 * The AP trampoline (below, copied to 0x8000 = SIPI vector 08h) counts its
 * starts with LOCK INC, stores CS and its CPUID initial APIC ID, then halts
 * with interrupts off. With -smp 1 checks 4-10 fail (no AP answers); QEMU
 * 7.2 (-accel tcg -smp 2) passes all of them.
 */
#include "rom.h"

#define APIC_ID    0x20
#define APIC_ICRLO 0x300
#define APIC_ICRHI 0x310
#define TRAMP      0x8000           /* SIPI vector 0x08 */
#define MAILBOX    0x9000           /* +0 start count, +2 CS, +4 APIC ID */
#define WAIT_LOOPS 3000000          /* spins that give the AP several time slices */

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

    call map_apic                   /* lib.S: APIC page at FEE00000, UC */
    movl $APIC, %ebx

    movl $0x1b, %ecx
    rdmsr
    andl $0x100, %eax
    CHECK "IA32_APIC_BASE.BSP set on the CPU running the ROM", 0x100
    movl APIC_ID(%rbx), %eax
    shrl $24, %eax
    CHECK "BSP reads APIC ID 0 from its APIC page", 0
    movl $1, %eax
    cpuid
    movl %ebx, %eax
    shrl $24, %eax
    CHECK "BSP CPUID.01H:EBX[31:24] = 0", 0
    movl $APIC, %ebx

    /* Trampoline to 0x8000, mailbox cleared. */
    leaq ap_tramp(%rip), %rsi
    movl $TRAMP, %edi
    movl $(ap_tramp_end - ap_tramp), %ecx
    cld
    rep movsb
    movq $0, MAILBOX
    movq $0, MAILBOX + 8

    /* INIT, SIPI, SIPI to APIC 1 (9.4.4.1). */
    movl $(1 << 24), APIC_ICRHI(%rbx)
    movl $0x00004500, APIC_ICRLO(%rbx)          /* INIT, assert, edge */
    movl $0x00004608, APIC_ICRLO(%rbx)          /* Start-Up, vector 08h */
    call wait_for_ap
    movl $0x00004608, APIC_ICRLO(%rbx)          /* second SIPI */
    call spin
    movzwl MAILBOX, %eax
    CHECK "INIT-SIPI-SIPI: the AP ran the trampoline exactly once", 1
    movzwl MAILBOX + 2, %eax
    CHECK "AP started with CS = VV00h (vector 08h)", 0x0800
    movzwl MAILBOX + 4, %eax
    CHECK "AP's CPUID.01H:EBX[31:24] = 1", 1
    movl APIC_ICRLO(%rbx), %eax
    andl $0x1000, %eax
    CHECK "ICR delivery status idle after sending", 0

    /* A SIPI to an AP that is running (here: halted after its trampoline,
     * not in wait-for-SIPI) is ignored. */
    movl $0x00004608, APIC_ICRLO(%rbx)
    call spin
    movzwl MAILBOX, %eax
    CHECK "SIPI without INIT: ignored", 1

    /* INIT puts it back into wait-for-SIPI; one SIPI restarts it. */
    movl $0x00004500, APIC_ICRLO(%rbx)
    call spin
    movzwl MAILBOX, %eax
    CHECK "INIT alone does not restart the AP", 1
    movl $0x00004608, APIC_ICRLO(%rbx)
    call wait_for_ap2
    movzwl MAILBOX, %eax
    CHECK "INIT then one SIPI: the AP runs the trampoline again", 2

    POP_CALLEE_SAVED
    ret

/* Spin until the start count is nonzero (bounded), giving the AP time. */
wait_for_ap:
    movl $WAIT_LOOPS, %ecx
1:  cmpw $0, MAILBOX
    jne 2f
    pause
    decl %ecx
    jnz 1b
2:  ret
wait_for_ap2:
    movl $WAIT_LOOPS, %ecx
1:  cmpw $2, MAILBOX
    jae 2f
    pause
    decl %ecx
    jnz 1b
2:  ret
/* Spin a fixed time: lets a (wrongly) started AP run before we look. */
spin:
    movl $WAIT_LOOPS, %ecx
1:  pause
    decl %ecx
    jnz 1b
    ret

/* The AP's real-mode entry, position independent (absolute data addresses
 * only), copied to TRAMP. DS = 0 after INIT (SDM Table 9-1). */
    .code16
ap_tramp:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    lock incw MAILBOX
    movw %cs, %ax
    movw %ax, MAILBOX + 2
    movl $1, %eax
    cpuid
    shrl $24, %ebx
    movw %bx, MAILBOX + 4
1:  hlt
    jmp 1b
ap_tramp_end:
    .code64
