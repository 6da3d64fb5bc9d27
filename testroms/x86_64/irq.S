/*
 * testroms/x86_64/irq.S - external interrupts: local APIC timer, 8259+8254,
 * HLT and the STI interrupt shadow.
 *  - SDM Vol. 3A 11.4.4 (IA32_APIC_BASE: base FEE00000H, EN bit 11, BSP bit
 *    8), 11.4.8 (version register: 1xH for an integrated APIC), 11.4.3
 *    (SVR bit 8 software-enables the APIC), 11.5.4 (timer: divide config,
 *    initial count, current count counts down to 0; one-shot and periodic
 *    modes in LVT timer bits 18:17; mask bit 16), 11.8.4 (an accepted
 *    interrupt sits in IRR until the processor can take it), 11.8.5 (EOI),
 *    11.5.1 (LVT LINT0 with delivery mode ExtINT: the 8259 supplies the
 *    vector).
 *  - SDM Vol. 2B STI: "If IF = 0, maskable hardware interrupts remain
 *    inhibited on the instruction boundary following an execution of STI",
 *    so for "STI; HLT" with an interrupt pending HLT runs and the interrupt
 *    wakes it (the interrupt window itself is checked by sti.S).
 *    HLT: an interrupt resumes execution; the saved RIP is the instruction
 *    after HLT (Vol. 3A 6.5: interrupts are taken between instructions).
 *  - 8259A datasheet (ICW1-ICW4, OCW1 mask, non-specific EOI) and 8254
 *    datasheet (counter 0, mode 2): IRQ0 arrives as ICW2 base + 0.
 */
#include "rom.h"

#define APIC_VER   0x30
#define APIC_TPR   0x80
#define APIC_EOI   0xb0
#define APIC_SVR   0xf0
#define APIC_IRR1  0x210            /* IRR bits 63:32 */
#define APIC_LVTT  0x320
#define APIC_LINT0 0x350
#define APIC_TICR  0x380
#define APIC_TCCR  0x390
#define APIC_TDCR  0x3e0
#define VEC        0x30             /* default stub: recorded, no EOI */
#define VEC_TICK   0x31             /* tick_isr: counts and EOIs */

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    MASK_8259                      /* 8259s masked until the PIC test */

    call map_apic                   /* lib.S: APIC page at FEE00000, UC */
    movl $APIC, %ebx                /* RBX = APIC base (zero-extended) */

    movl $0x1b, %ecx
    rdmsr
    andl $0xfffff900, %eax
    CHECK "IA32_APIC_BASE: base FEE00000, EN, BSP", 0xfee00900
    movl APIC_VER(%rbx), %eax
    andl $0xf0, %eax
    CHECK "APIC version register: integrated APIC (1xH)", 0x10
    movl $0x1ff, APIC_SVR(%rbx)     /* enable, spurious vector FF */
    movl $0, APIC_TPR(%rbx)
    movl $0xb, APIC_TDCR(%rbx)      /* divide by 1 */

    SET_GATE VEC_TICK, tick_isr(%rip), GATE_INT

/* ------------------------------------------------- one-shot timer + HLT */
    movl $VEC, APIC_LVTT(%rbx)
    EXPECT_EXC_RET
    movl $100000, APIC_TICR(%rbx)
    sti
    hlt
a_after:
    cli
    DISARM
    CHECK_REG exc_vec(%rip), "one-shot APIC timer: vector delivered", VEC
    CHECK_REG exc_rip(%rip), "interrupt wakes HLT: saved RIP after HLT", a_after
    movl APIC_TCCR(%rbx), %eax
    CHECK "one-shot timer: current count stays 0", 0
    movl $0, APIC_EOI(%rbx)

/* -------------------------------------------------------- masked LVT */
    movl $(VEC | 0x10000), APIC_LVTT(%rbx)
    movl $2000, APIC_TICR(%rbx)
    call wait_count_zero
    EXPECT_EXC_RET
    sti
    nop
    nop
    cli
    DISARM
    CHECK_REG exc_vec(%rip), "masked LVT timer: no interrupt", -1

/* ------------------------------------------------- STI; HLT, pending */
    /* STI; HLT with the interrupt already pending: HLT runs, then wakes.
     * Periodic mode so a wrong (pre-HLT) delivery does not hang forever. */
    movl $(VEC | 0x20000), APIC_LVTT(%rbx)
    movl $20000, APIC_TICR(%rbx)
    call wait_irr
    EXPECT_EXC_RET
    sti
    hlt
c_after:
    cli
    DISARM
    movl $(VEC | 0x10000), APIC_LVTT(%rbx)
    movl $0, APIC_TICR(%rbx)
    CHECK_REG exc_vec(%rip), "STI; HLT with a pending interrupt: delivered", VEC
    CHECK_REG exc_rip(%rip), "STI; HLT: saved RIP after HLT", c_after
    movl $0, APIC_EOI(%rbx)

/* ---------------------------------------------------- periodic timer */
    movq $0, ticks(%rip)
    movl $(VEC_TICK | 0x20000), APIC_LVTT(%rbx)
    movl $20000, APIC_TICR(%rbx)
    sti
1:  hlt
    cmpq $3, ticks(%rip)
    jb 1b
    cli
    movl $(VEC_TICK | 0x10000), APIC_LVTT(%rbx)
    movl $0, APIC_TICR(%rbx)
    movq ticks(%rip), %rax
    cmpq $3, %rax
    setae %al
    movzbl %al, %eax
    CHECK "periodic APIC timer: 3 interrupts", 1

/* ------------------------------------------- 8259 + 8254 through LINT0 */
    movl $0x700, APIC_LINT0(%rbx)   /* ExtINT, unmasked */
    movb $0x11, %al                 /* ICW1: edge, cascade, ICW4 */
    outb %al, $0x20
    outb %al, $0xa0
    movb $0x20, %al                 /* ICW2: vectors 20H / 28H */
    outb %al, $0x21
    movb $0x28, %al
    outb %al, $0xa1
    movb $0x04, %al                 /* ICW3 */
    outb %al, $0x21
    movb $0x02, %al
    outb %al, $0xa1
    movb $0x01, %al                 /* ICW4: 8086 mode */
    outb %al, $0x21
    outb %al, $0xa1
    movb $0xfe, %al                 /* OCW1: only IRQ0 */
    outb %al, $0x21
    movb $0xff, %al
    outb %al, $0xa1
    movb $0x34, %al                 /* counter 0, lo/hi, mode 2 */
    outb %al, $0x43
    movb $0xa9, %al                 /* 1193: about 1 ms */
    outb %al, $0x40
    movb $0x04, %al
    outb %al, $0x40
    EXPECT_EXC_RET
    sti
    hlt
    cli
    DISARM
    movb $0xff, %al
    outb %al, $0x21
    movb $0x20, %al                 /* non-specific EOI */
    outb %al, $0x20
    CHECK_REG exc_vec(%rip), "8254 counter 0 -> 8259 IRQ0 -> ExtINT: vector 20H", 0x20

    POP_CALLEE_SAVED
    ret

/* Spin (bounded) until the APIC timer's current count is 0. */
wait_count_zero:
    movl $10000000, %ecx
1:  cmpl $0, APIC_TCCR(%rbx)
    je 2f
    pause
    decl %ecx
    jnz 1b
2:  ret

/* Spin (bounded) until VEC is pending in IRR. */
wait_irr:
    movl $10000000, %ecx
1:  testl $(1 << (VEC - 32)), APIC_IRR1(%rbx)
    jnz 2f
    pause
    decl %ecx
    jnz 1b
2:  ret

tick_isr:
    incq ticks(%rip)
    pushq %rax
    movl $APIC, %eax
    movl $0, APIC_EOI(%rax)
    popq %rax
    iretq

    .data
    .balign 8
ticks: .quad 0
