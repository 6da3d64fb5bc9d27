/*
 * testroms/x86_64/irq2.S - I/O APIC routing, NMI and the MOV SS interrupt
 * shadow (irq.S covers the local APIC timer, the 8259 and STI; sti.S the
 * STI/POPF/IRET windows).
 *  - 82093AA I/O APIC datasheet 3.0 (IOREGSEL at FEC00000H, IOWIN at
 *    FEC00010H; register 01H version: bits 23:16 maximum redirection
 *    entry, 17H for 24 pins), 3.2.4 redirection table (vector 7:0,
 *    delivery mode 10:8, polarity 13, Remote IRR 14 (read-only), trigger
 *    mode 15, mask 16, destination 63:56): the PC's PIT (ISA IRQ0) arrives
 *    on pin 2 (ACPI MADT interrupt source override, as on every PC);
 *    a masked pin delivers nothing; a level-triggered pin sets Remote IRR
 *    when its interrupt is accepted, is not delivered again while Remote IRR
 *    is 1 (even with the input still asserted), and the local APIC's EOI
 *    for that vector (SDM Vol. 3A 11.8.5, EOI broadcast to the I/O APICs)
 *    clears Remote IRR so a still-asserted input is delivered again.
 *    Level source: COM1 (ISA IRQ4, pin 4) with its THRE interrupt enabled
 *    and MCR.OUT2, which gates the UART's IRQ output on PC boards (PC16550D
 *    datasheet 8.6.6/8.6.3).
 *  - NMI: SDM Vol. 3A 11.6.1 (ICR delivery mode 100B = NMI, destination
 *    shorthand 01B = self) delivers vector 2 regardless of EFLAGS.IF
 *    (6.8.1); 6.7.1 "Handling Multiple NMIs": while an NMI handler runs,
 *    further NMIs are blocked until the next IRET, then delivered.
 *  - MOV SS shadow: SDM Vol. 3A 6.8.3: after MOV SS the processor inhibits
 *    interrupts until the boundary after the next instruction, so an
 *    interrupt is never taken right after a MOV SS. A periodic local APIC
 *    timer interrupts a loop of "MOV SS; NOP" pairs; the handler checks
 *    that the saved RIP never points at one of the NOPs.
 *  - TSC-deadline timer mode (11.5.4.1) only when CPUID.01H:ECX[24] says so
 *    (otherwise "skip").
 */
#include "rom.h"

#define APIC_TPR   0x80
#define APIC_EOI   0xb0
#define APIC_SVR   0xf0
#define APIC_IRR2  0x220            /* IRR bits 95:64 */
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVTT  0x320
#define APIC_TICR  0x380
#define APIC_TDCR  0x3e0
#define VEC_PIT    0x40             /* default stub: recorded, no EOI */
#define VEC_LVL    0x41             /* lvl_isr */
#define VEC_WAKE   0x51             /* wake-up timer (default stub) */
#define VEC_SHADOW 0x52             /* shadow_isr */
#define RTE_MASK   0x10000
#define RTE_LEVEL  0x8000
#define RTE_RIRR   0x4000
#define COM1_IER   (COM1 + 1)
#define COM1_MCR   (COM1 + 4)

/* With an exception expected (EXPECT_EXC_RET): STI and HLT until the
 * recording stub has taken it (other handlers may wake HLT first). */
.macro HLT_UNTIL_TAKEN
    sti
77: hlt
    cmpq $0, exc_armed(%rip)
    jne 77b
    cli
.endm

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    MASK_8259                      /* 8259s masked: IRQs only via the I/O APIC */
    call map_apic                   /* lib.S: UC pages at FEC00000, FEE00000 */
    movl $APIC, %ebx                /* RBX = local APIC, RBP = I/O APIC */
    movl $IOAPIC, %ebp
    movl $0x1ff, APIC_SVR(%rbx)
    movl $0, APIC_TPR(%rbx)
    movl $0xb, APIC_TDCR(%rbx)      /* divide by 1 */

/* --------------------------------------------------------- I/O APIC id */
    movl $1, (%rbp)
    movl 0x10(%rbp), %eax
    shrl $16, %eax
    andl $0xff, %eax
    CHECK "I/O APIC version: maximum redirection entry 17H (24 pins)", 0x17

/* ------------------------------------------------ PIT through pin 2 */
    movl $(VEC_PIT | RTE_MASK), %edi
    movl $2, %esi
    call rte_write
    movb $0x34, %al                 /* 8254 counter 0, lo/hi, mode 2 */
    outb %al, $0x43
    movb $0xa9, %al                 /* 1193: about 1 ms */
    outb %al, $0x40
    movb $0x04, %al
    outb %al, $0x40
    call wake_in_5ms                /* masked: the wake-up timer comes first */
    EXPECT_EXC_RET
    HLT_UNTIL_TAKEN
    movl $0, APIC_EOI(%rbx)
    CHECK_REG exc_vec(%rip), "pin 2 masked: PIT interrupt not delivered", VEC_WAKE
    movl $VEC_PIT, %edi             /* unmask: edge, fixed, physical, APIC 0 */
    movl $2, %esi
    call rte_write
    EXPECT_EXC_RET
    sti
    hlt
    cli
    DISARM
    movl $0, APIC_EOI(%rbx)
    CHECK_REG exc_vec(%rip), "PIT (ISA IRQ0) -> I/O APIC pin 2 -> vector 40H", VEC_PIT
    movl $(VEC_PIT | RTE_MASK), %edi
    movl $2, %esi
    call rte_write
    movb $0x30, %al                 /* counter 0 mode 0, never reloaded: quiet */
    outb %al, $0x43

/* ------------------------------------ level-triggered pin 4 (COM1) */
    SET_GATE VEC_LVL, lvl_isr(%rip), GATE_INT
    movl $(VEC_LVL | RTE_LEVEL | RTE_MASK), %edi
    movl $4, %esi
    call rte_write
    movb $0x02, %al                 /* IER.ETBEI: THR empty -> interrupt */
    movw $COM1_IER, %dx
    outb %al, %dx
    movb $0x08, %al                 /* MCR.OUT2: IRQ output enabled: pin asserted */
    movw $COM1_MCR, %dx
    outb %al, %dx
    movq $0, lvl_count(%rip)
    movl $(VEC_LVL | RTE_LEVEL), %edi      /* unmask */
    movl $4, %esi
    call rte_write
    call wake_in_5ms
    EXPECT_EXC_RET
    HLT_UNTIL_TAKEN                 /* lvl_isr (no EOI), then the wake-up */
    movl $4, %esi
    call rte_read
    movl %eax, r_rte1(%rip)
    movl APIC_IRR2(%rbx), %eax
    movl %eax, r_irr1(%rip)
    movq lvl_count(%rip), %rax
    movq %rax, r_cnt1(%rip)
    movl $0, APIC_EOI(%rbx)         /* EOI for the wake-up (highest in service) */
    call wake_in_5ms
    EXPECT_EXC_RET
    movl $0, APIC_EOI(%rbx)         /* EOI for VEC_LVL: Remote IRR cleared */
    HLT_UNTIL_TAKEN                 /* still asserted: lvl_isr again */
    movl $0, APIC_EOI(%rbx)
    movq lvl_count(%rip), %rax
    movq %rax, r_cnt2(%rip)
    movb $0x00, %al                 /* OUT2 = 0: input deasserted */
    movw $COM1_MCR, %dx
    outb %al, %dx
    movl $0, APIC_EOI(%rbx)         /* EOI for the second VEC_LVL */
    movl $4, %esi
    call rte_read
    movl %eax, r_rte2(%rip)
    call wake_in_5ms
    EXPECT_EXC_RET
    HLT_UNTIL_TAKEN
    movl $0, APIC_EOI(%rbx)
    movq lvl_count(%rip), %rax
    movq %rax, r_cnt3(%rip)
    movl $(VEC_LVL | RTE_LEVEL | RTE_MASK), %edi
    movl $4, %esi
    call rte_write
    movb $0x00, %al
    movw $COM1_IER, %dx
    outb %al, %dx

    CHECK_REG r_cnt1(%rip), "level pin 4 asserted: delivered once (no EOI yet)", 1
    movl r_rte1(%rip), %eax
    andl $RTE_RIRR, %eax
    CHECK "level pin delivered: Remote IRR = 1", RTE_RIRR
    movl r_irr1(%rip), %eax
    andl $(1 << (VEC_LVL - 64)), %eax
    CHECK "Remote IRR = 1: no second message to the local APIC", 0
    CHECK_REG r_cnt2(%rip), "EOI with the input still asserted: delivered again", 2
    movl r_rte2(%rip), %eax
    andl $RTE_RIRR, %eax
    CHECK "input deasserted and EOI: Remote IRR = 0", 0
    CHECK_REG r_cnt3(%rip), "deasserted: no further delivery", 2

/* ---------------------------------------------------------------- NMI */
    SET_GATE 2, nmi_isr(%rip), GATE_INT
    movq $0, nmi_count(%rip)
    cli
    movl $0, APIC_ICR_HI(%rbx)
    movl $0x40400, APIC_ICR_LO(%rbx)        /* self, delivery mode NMI */
    movl $10000000, %ecx            /* delivery is asynchronous: wait (bounded) */
1:  cmpq $2, nmi_count(%rip)
    jae 2f
    pause
    decl %ecx
    jnz 1b
2:  CHECK_REG nmi_count(%rip), "self NMI with IF=0: two NMIs (second sent by the handler)", 2
    CHECK_REG nmi_inner(%rip), "NMI sent inside the NMI handler: blocked until IRET", 1
    pushfq
    popq %rax
    andq $F_IF, %rax
    CHECK "NMIs taken with IF=0", 0

/* ------------------------------------------------------- MOV SS shadow */
    SET_GATE VEC_SHADOW, shadow_isr(%rip), GATE_INT
    movq $0, sh_count(%rip)
    movq $0, sh_bad(%rip)
    movl $(VEC_SHADOW | 0x20000), APIC_LVTT(%rbx)   /* periodic */
    movl $20000, APIC_TICR(%rbx)
    movw %ss, %cx
    movl $2000000, %r8d             /* bound */
    sti
1:  .rept 16
    movw %cx, %ss
    nop
    .endr
    cmpq $50, sh_count(%rip)
    jae 2f
    decl %r8d
    jnz 1b
2:  cli
    movl $(VEC_SHADOW | RTE_MASK), APIC_LVTT(%rbx)
    movl $0, APIC_TICR(%rbx)
    movq sh_count(%rip), %rax
    cmpq $50, %rax
    setae %al
    movzbl %al, %eax
    CHECK "MOV SS loop: 50 timer interrupts taken", 1
    CHECK_REG sh_bad(%rip), "MOV SS shadow: never interrupted right after MOV SS", 0

/* ---------------------------------------------------------- TSC deadline */
    movl $1, %eax
    cpuid
    movl $APIC, %ebx
    testl $(1 << 24), %ecx
    jnz 1f
    PRINT "skip: TSC-deadline timer not advertised (CPUID.01H:ECX[24]=0)"
    jmp 2f
1:  PRINT "skip: TSC-deadline advertised but not tested by this ROM yet"
2:

    POP_CALLEE_SAVED
    ret

/* rte_write(edi = low dword, esi = pin): high dword 0 (APIC ID 0). */
rte_write:
    leal 0x11(,%rsi,2), %eax
    movl %eax, (%rbp)
    movl $0, 0x10(%rbp)
    decl %eax
    movl %eax, (%rbp)
    movl %edi, 0x10(%rbp)
    ret

/* rte_read(esi = pin): EAX = low dword. */
rte_read:
    leal 0x10(,%rsi,2), %eax
    movl %eax, (%rbp)
    movl 0x10(%rbp), %eax
    ret

/* One-shot local APIC timer, VEC_WAKE, 5 ms at the 1 GHz timer clock
 * (CPUID 15H) - only a wake-up; its exact length does not matter. */
wake_in_5ms:
    movl $VEC_WAKE, APIC_LVTT(%rbx)
    movl $5000000, APIC_TICR(%rbx)
    ret

lvl_isr:
    incq lvl_count(%rip)
    iretq

nmi_isr:
    pushq %rax
    incq nmi_count(%rip)
    cmpq $1, nmi_count(%rip)
    jne 1f
    movl $APIC, %eax
    movl $0x40400, APIC_ICR_LO(%rax)        /* second NMI: must wait for IRET */
    pushq %rcx
    movl $100000, %ecx              /* plenty of instruction boundaries */
2:  pause
    decl %ecx
    jnz 2b
    popq %rcx
    movq nmi_count(%rip), %rax
    movq %rax, nmi_inner(%rip)
1:  popq %rax
    iretq

shadow_isr:
    pushq %rax
    incq sh_count(%rip)
    movq 8(%rsp), %rax              /* saved RIP */
    cmpb $0x90, (%rax)              /* at a NOP = right after a MOV SS */
    jne 1f
    incq sh_bad(%rip)
1:  movl $APIC, %eax
    movl $0, APIC_EOI(%rax)
    popq %rax
    iretq

    .data
    .balign 8
lvl_count: .quad 0
r_cnt1:    .quad -1
r_cnt2:    .quad -1
r_cnt3:    .quad -1
r_rte1:    .quad 0
r_rte2:    .quad 0
r_irr1:    .quad 0
nmi_count: .quad 0
nmi_inner: .quad -1
sh_count:  .quad 0
sh_bad:    .quad 0
