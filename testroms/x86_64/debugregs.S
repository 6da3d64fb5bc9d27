/*
 * testroms/x86_64/debugregs.S - debug-register breakpoints (Intel SDM
 * Vol. 3B chapter 18 "Debug, Branch Profile, TSC, and Intel RDT Features"):
 *  - 18.2.4/18.2.5 DR7 fields and breakpoint field recognition: Ln or Gn
 *    enables breakpoint n, neither disables it; LENn 11 = 4
 *    and 10 = 8 bytes, 00 = 1 byte; R/Wn 01 = data writes only, 11 = data
 *    reads or writes, 10 = I/O reads or writes (only with CR4.DE = 1); an
 *    access hits when any of its bytes lies in the range, an access just
 *    outside does not.
 *  - 18.3.1.2 data and I/O breakpoints are traps: the access completes, the
 *    saved RIP is the next instruction, DR6.Bn is set (18.2.3) and BS is not;
 *    two breakpoints hit by one instruction set both Bn. A repeated string
 *    instruction traps after the iteration that hit, with rCX/rSI/rDI of the
 *    following iteration and RIP at the instruction; the value pushed for RF
 *    is 1 for a trap after an iteration other than the last (18.3.1.1).
 *  - 18.3.1.1 instruction breakpoint: a fault (saved RIP = DRn, DR6.Bn);
 *    returning with RF = 1 in the IRETQ frame runs the instruction once
 *    without a new #DB. Fault-class exceptions push RF = 1 (18.3.1.1).
 *  - 18.3.1.3 general detect: with DR7.GD = 1 a MOV from a DR is a #DB fault
 *    (saved RIP = the MOV) with DR6.BD set; GD is clear in the handler.
 *  - 18.2.2 / MOV DR (Vol. 2B): with CR4.DE = 0 DR4 is an alias of DR6; with
 *    CR4.DE = 1 MOV from DR4 is #UD.
 * The #DB handler (lib.S db_handler) clears DR6 before returning (18.2.3
 * advises it), so each check sees only the bits its own #DB set.
 */
#include "rom.h"

#define DR7_ONE 0x400                 /* bit 10 reads as 1 */
/* DR7 fields for breakpoint n (18.2.4): Ln, R/Wn, LENn */
#define L(n)      (1 << ((n) * 2))
#define G(n)      (2 << ((n) * 2))
#define RW(n, v)  ((v) << (16 + (n) * 4))
#define LEN(n, v) ((v) << (18 + (n) * 4))
#define GD        0x2000
#define CR4_DE    0x8

/* ARM_BP n, addr, dr7: clear the #DB record (db_reset), DRn := the address
 * of the operand addr, DR7 := dr7 (clobbers RAX). */
.macro ARM_BP n:req, addr:req, dr7:req
    call db_reset
    leaq \addr, %rax
    movq %rax, %dr\n
    movq $\dr7, %rax
    movq %rax, %dr7
.endm

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    call db_init

/* ------------------------------------- write breakpoint, 1-byte write */
    ARM_BP 0, wvar(%rip), (DR7_ONE | L(0) | RW(0, 1) | LEN(0, 3))
    movb $0x5a, wvar+2(%rip)          /* one byte inside the 4-byte range */
w_next:
    call dr7_off
    CHECK_REG db_count(%rip), "write bp: one #DB for a 1-byte write inside a 4-byte range", 1
    CHECK_REG db_rip(%rip), "write bp: trap, saved RIP = next instruction", w_next
    CHECK_MASKED db_dr6(%rip), "write bp: DR6.B0 set, BS clear", 0x400f, 1
    movzbl wvar+2(%rip), %eax
    CHECK "write bp: the write completed before the trap", 0x5a

/* ------------------------------- enable bits: G0 alone enables, none not */
    call db_reset
    movq $(DR7_ONE | G(0) | RW(0, 1) | LEN(0, 3)), %rax
    movq %rax, %dr7
    movw $0x1234, wvar(%rip)          /* DR0 still = wvar */
    movq $(DR7_ONE | RW(0, 1) | LEN(0, 3)), %rax
    movq %rax, %dr7
    movw $0x4321, wvar(%rip)          /* L0 = G0 = 0: disabled */
    call dr7_off
    CHECK_REG db_count(%rip), "DR7.G0 alone enables; with L0 = G0 = 0 no #DB", 1

/* ---------------------------------- read/write breakpoint hit by a read */
    ARM_BP 1, rvar(%rip), (DR7_ONE | L(1) | RW(1, 3) | LEN(1, 3))
    movl rvar(%rip), %ebx
r_next:
    call dr7_off
    CHECK_REG db_count(%rip), "R/W=11 bp: a read hits", 1
    CHECK_REG db_rip(%rip), "R/W=11 bp: saved RIP = next instruction", r_next
    CHECK_MASKED db_dr6(%rip), "R/W=11 bp: DR6.B1 set", 0x400f, 2

/* ----------------------------- write-only breakpoint not hit by a read */
    ARM_BP 1, rvar(%rip), (DR7_ONE | L(1) | RW(1, 1) | LEN(1, 3))
    movl rvar(%rip), %ebx
    movw rvar+2(%rip), %bx
    call dr7_off
    CHECK_REG db_count(%rip), "R/W=01 bp: reads do not hit", 0

/* ------------------------------------------- 8-byte length, misses */
    ARM_BP 2, qvar(%rip), (DR7_ONE | L(2) | RW(2, 3) | LEN(2, 2))
    movb qvar-1(%rip), %al            /* just below: miss */
    movb qvar+8(%rip), %al            /* just above: miss */
    movw qvar-2(%rip), %ax            /* ends just below: miss */
    movb qvar+7(%rip), %al            /* last byte of the 8: hit */
q_next:
    call dr7_off
    CHECK_REG db_count(%rip), "LEN=10 (8 bytes): only the access to byte 7 hits", 1
    CHECK_REG db_rip(%rip), "LEN=10: saved RIP after the hitting access", q_next
    CHECK_MASKED db_dr6(%rip), "LEN=10: DR6.B2 set", 0x400f, 4

    ARM_BP 3, rvar(%rip), (DR7_ONE | L(3) | RW(3, 3) | LEN(3, 3))
    movb rvar+4(%rip), %al            /* one past the 4-byte range */
    movb rvar-1(%rip), %al            /* one before it */
    movl rvar-4(%rip), %eax           /* the dword just below */
    call dr7_off
    CHECK_REG db_count(%rip), "LEN=11: accesses just outside the range do not hit", 0

    /* Overlap from below: an 8-byte read starting 4 bytes before hits. */
    ARM_BP 3, rvar(%rip), (DR7_ONE | L(3) | RW(3, 3) | LEN(3, 3))
    movq rvar-4(%rip), %rax
    call dr7_off
    CHECK_REG db_count(%rip), "LEN=11: a read overlapping the range's first bytes hits", 1
    CHECK_MASKED db_dr6(%rip), "overlap: DR6.B3 set", 0x400f, 8

/* ------------------------------------ two breakpoints, one instruction */
    call db_reset
    leaq pvar(%rip), %rax
    movq %rax, %dr0
    addq $4, %rax
    movq %rax, %dr1
    movq $(DR7_ONE | L(0) | RW(0, 3) | LEN(0, 3) | L(1) | RW(1, 1) | LEN(1, 3)), %rax
    movq %rax, %dr7
    movq $-1, pvar(%rip)              /* 8-byte write covers both ranges */
p_next:
    call dr7_off
    CHECK_REG db_count(%rip), "two bps hit by one write: one #DB", 1
    CHECK_REG db_rip(%rip), "two bps: saved RIP = next instruction", p_next
    CHECK_MASKED db_dr6(%rip), "two bps: DR6.B0 and B1 set", 0x400f, 3

/* ---------------------------------- instruction breakpoint, RF in IRETQ */
    call db_reset
    movq $1, db_setrf(%rip)
    leaq i_insn(%rip), %rax
    movq %rax, %dr2
    movq $(DR7_ONE | L(2)), %rax      /* R/W2 = LEN2 = 00 */
    movq %rax, %dr7
    xorl %ebx, %ebx
i_insn:
    incl %ebx
    call dr7_off
    movq $0, db_setrf(%rip)
    movl %ebx, %eax
    CHECK "insn bp: the instruction ran once", 1
    CHECK_REG db_count(%rip), "insn bp: one #DB (RF=1 in the IRETQ frame suppresses a second)", 1
    CHECK_REG db_rip(%rip), "insn bp: fault, saved RIP = DR2", i_insn
    CHECK_MASKED db_dr6(%rip), "insn bp: DR6.B2 set", 0x400f, 4

/* ----------------------------------------------------- general detect */
    call db_reset
    movq $(DR7_ONE | GD), %rax
    movq %rax, %dr7
g_insn:
    movq %dr0, %rbx                   /* #DB fault: GD set */
    CHECK_REG db_count(%rip), "DR7.GD: MOV from DR0 raises one #DB", 1
    CHECK_REG db_rip(%rip), "DR7.GD: fault, saved RIP = the MOV", g_insn
    CHECK_MASKED db_dr6(%rip), "DR7.GD: DR6.BD set", 0x2000, 0x2000
    CHECK_MASKED db_dr7(%rip), "DR7.GD: GD clear in the handler", GD, 0
    CHECK_MASKED db_rflags(%rip), "DR7.GD: fault-class #DB pushes RF=1", F_RF, F_RF
    call dr7_off

/* --------------------------------------------------------- DR4 / DR5 */
    movq $0, %rax
    movq %rax, %dr6
    movq %cr4, %rax
    andq $~CR4_DE, %rax
    movq %rax, %cr4
    movq $0x1, %rax
    movq %rax, %dr5                   /* CR4.DE = 0: DR5 is DR7 */
    movq %dr7, %rax
    CHECK "CR4.DE=0: MOV to DR5 writes DR7", 0x401
    movq $0x400, %rax
    movq %rax, %dr7
    movq %dr4, %rax                   /* CR4.DE = 0: DR4 is DR6 */
    movq %dr6, %rbx
    cmpq %rax, %rbx
    sete %al
    movzbl %al, %eax
    CHECK "CR4.DE=0: MOV from DR4 reads DR6", 1
    movq %cr4, %rax
    orq $CR4_DE, %rax
    movq %rax, %cr4
    EXPECT_EXC dr4_done
    movq %dr4, %rax
dr4_done:
    DISARM
    CHECK_REG exc_vec(%rip), "CR4.DE=1: MOV from DR4 is #UD", 6
    CHECK_MASKED exc_rflags(%rip), "#UD is a fault: pushed RFLAGS.RF = 1", F_RF, F_RF

/* ------------------------------------------- I/O breakpoint (CR4.DE=1) */
    call db_reset
    movq $0x80, %rax
    movq %rax, %dr3
    movq $(DR7_ONE | L(3) | RW(3, 2)), %rax   /* LEN3 = 00: port 0x80 only */
    movq %rax, %dr7
    movb $0, %al
    outb %al, $0x81                   /* other port: no #DB */
    outb %al, $0x80
o_next:
    movw $0x7f, %dx
    xorl %eax, %eax
    outw %ax, %dx                     /* ports 7F-80: overlaps */
o_next2:
    call dr7_off
    CHECK_REG db_count(%rip), "I/O bp: OUT to port 80h and a word OUT at 7Fh hit, 81h not", 2
    CHECK_REG db_rip(%rip), "I/O bp: trap, saved RIP = next instruction", o_next
    CHECK_REG db_rip+8(%rip), "I/O bp: overlapping word OUT, saved RIP = next", o_next2
    CHECK_MASKED db_dr6(%rip), "I/O bp: DR6.B3 set", 0x400f, 8
    movq %cr4, %rax
    andq $~CR4_DE, %rax
    movq %rax, %cr4

/* ----------------------------------------------- REP MOVSB iteration */
    ARM_BP 0, dbuf+4(%rip), (DR7_ONE | L(0) | RW(0, 1)) /* LEN0 = 00: byte dbuf+4 */
    leaq sbuf(%rip), %rsi
    leaq dbuf(%rip), %rdi
    movl $16, %ecx
    cld
rep_insn:
    rep movsb
    movq %rcx, %rbx
    call dr7_off
    CHECK_REG db_count(%rip), "REP MOVSB: one #DB (one iteration writes the byte)", 1
    CHECK_REG db_rip(%rip), "REP MOVSB: saved RIP = the REP instruction", rep_insn
    CHECK_REG db_rcx(%rip), "REP MOVSB: RCX of the following iteration (16-5)", 11
    leaq sbuf+5(%rip), %rax
    subq db_rsi(%rip), %rax
    CHECK "REP MOVSB: RSI = sbuf+5", 0
    leaq dbuf+5(%rip), %rax
    subq db_rdi(%rip), %rax
    CHECK "REP MOVSB: RDI = dbuf+5", 0
    CHECK_MASKED db_rflags(%rip), "REP MOVSB: trap after a non-last iteration pushes RF=1", F_RF, F_RF
    movq %rbx, %rax
    CHECK "REP MOVSB: resumed and finished (RCX=0)", 0
    movq dbuf+8(%rip), %rax
    CHECK "REP MOVSB: all 16 bytes copied", 0x100f0e0d0c0b0a09

    POP_CALLEE_SAVED
    ret

/* Disarm every breakpoint. */
dr7_off:
    pushq %rax
    movq $DR7_ONE, %rax
    movq %rax, %dr7
    popq %rax
    ret

    .data
    /* Watched data, away from the handler's record. */
    .balign 64
    .quad 0
wvar:  .quad 0
    .quad 0
rvar:  .quad 0x1122334455667788
    .quad 0
qvar:  .quad 0
    .quad 0
pvar:  .quad 0
    .quad 0
sbuf:  .byte 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
    .quad 0
dbuf:  .fill 16, 1, 0
    .quad 0
