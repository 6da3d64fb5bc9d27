/*
 * testroms/x86_64/alu.S - integer arithmetic and flags, in 64-bit mode.
 *
 * Every expected value below was worked out by hand from the instruction's
 * "Operation" and "Flags Affected" sections in the Intel SDM Vol. 2
 * (ADD, ADC, SUB, SBB, INC, DEC, NEG, AND, XOR, SAL/SAR/SHL/SHR, ROL/RCL,
 * SHLD, MUL, IMUL, DIV, IDIV, BSF, BSR, BT/BTS/BTR/BTC, SETcc, CMOVcc,
 * CMPXCHG, XADD, MOVSX, CQO, BSWAP) and the flag definitions of SDM Vol. 1
 * 3.4.3.1 (CF, PF = even parity of the low byte, AF = carry/borrow out of
 * bit 3, ZF, SF, OF = signed overflow), plus the 64-bit mode register rules
 * of SDM Vol. 1 3.4.1.1 (32-bit results zero-extend, 8/16-bit results leave
 * the rest of the register alone). Flags an instruction leaves "undefined"
 * are masked out of the comparison.
 */
#include "rom.h"

#define SHIFT_FLAGS (F_CF | F_PF | F_ZF | F_SF | F_OF)   /* AF undefined */
#define LOGIC_FLAGS (F_CF | F_PF | F_ZF | F_SF | F_OF)   /* AF undefined */

    .text
    .globl test_main
test_main:                          /* tests/system/63-debugger.t steps through */
    pushq %rbx                      /* these first instructions: keep them */
    pushq %rbp

/* ------------------------------------------------------------ ADD / SUB */
    movq $0, %rax
    movb $0x7f, %al
    addb $1, %al                    /* 127 + 1: signed overflow, carry from bit 3 */
    CHECK_FLAGS "add8 0x7f+1 flags (OF SF AF)", F_ARITH, F_OF | F_SF | F_AF
    CHECK "add8 0x7f+1 result", 0x80

    movb $0xff, %al
    addb $1, %al                    /* 255 + 1 = 0 carry out */
    CHECK_FLAGS "add8 0xff+1 flags (CF PF AF ZF)", F_ARITH, F_CF | F_PF | F_AF | F_ZF
    CHECK "add8 0xff+1 result", 0

    movq $0x0100, %rax
    addw $0x0200, %ax               /* PF looks at the low byte only (0x00) */
    CHECK_FLAGS "add16 0x100+0x200 flags (PF)", F_ARITH, F_PF

    movl $0, %eax
    subl $1, %eax                   /* 0 - 1: borrow, AF borrow, low byte 0xff */
    CHECK_FLAGS "sub32 0-1 flags (CF PF AF SF)", F_ARITH, F_CF | F_PF | F_AF | F_SF
    CHECK "sub32 0-1 result zero-extended", 0xffffffff

    movq $0x80, %rax
    subb $1, %al                    /* -128 - 1 overflows to 127 */
    CHECK_FLAGS "sub8 0x80-1 flags (OF AF)", F_ARITH, F_OF | F_AF
    CHECK "sub8 0x80-1 result", 0x7f

    movq $0x8000000000000000, %rax
    movq $1, %rbx
    cmpq %rbx, %rax                 /* INT64_MIN - 1 */
    CHECK_FLAGS "cmp64 MIN-1 flags (OF AF PF)", F_ARITH, F_OF | F_AF | F_PF
    CHECK "cmp64 leaves the operand", 0x8000000000000000

/* ------------------------------------------------------------ ADC / SBB */
    movq $-1, %rax
    stc
    adcq $0, %rax                   /* -1 + 0 + 1 */
    CHECK_FLAGS "adc64 -1+0+CF flags (CF PF AF ZF)", F_ARITH, F_CF | F_PF | F_AF | F_ZF
    CHECK "adc64 -1+0+CF result", 0

    movq $0, %rax
    movb $0xff, %bl
    stc
    adcb %bl, %al                   /* 0 + 0xff + 1 = 0x100: src + CF wraps */
    CHECK_FLAGS "adc8 0+0xff+CF flags (CF PF AF ZF)", F_ARITH, F_CF | F_PF | F_AF | F_ZF
    CHECK "adc8 0+0xff+CF result", 0

    movb $0x7f, %al
    stc
    adcb $0, %al                    /* 127 + 0 + 1 overflows */
    CHECK_FLAGS "adc8 0x7f+0+CF flags (OF SF AF)", F_ARITH, F_OF | F_SF | F_AF
    CHECK "adc8 0x7f+0+CF result", 0x80

    movq $0, %rax
    movb $0xff, %bl
    stc
    sbbb %bl, %al                   /* 0 - 0xff - 1 = -0x100: borrow although src+CF wraps */
    CHECK_FLAGS "sbb8 0-0xff-CF flags (CF PF AF ZF)", F_ARITH, F_CF | F_PF | F_AF | F_ZF
    CHECK "sbb8 0-0xff-CF result", 0

    movq $0x80, %rax
    clc
    sbbb $0, %al                    /* CF=0: plain 0x80 - 0 */
    CHECK_FLAGS "sbb8 0x80-0-0 flags (SF)", F_ARITH, F_SF
    stc
    sbbb $0, %al                    /* 0x80 - 0 - 1 = 0x7f overflows */
    CHECK_FLAGS "sbb8 0x80-0-CF flags (OF AF)", F_ARITH, F_OF | F_AF
    CHECK "sbb8 0x80-0-CF result", 0x7f

    /* 128-bit add with carry propagation: 0xffff...ffff:0xffff...ffff + 1 */
    movq $-1, %rax
    movq $-1, %rdx
    addq $1, %rax
    adcq $0, %rdx
    CHECK_FLAGS "add128 carry chain flags (CF PF AF ZF)", F_ARITH, F_CF | F_PF | F_AF | F_ZF
    CHECK_REG %rdx, "add128 high word", 0

/* --------------------------------------------------- INC / DEC / NEG */
    movq $0xff, %rax
    stc
    incb %al                        /* INC leaves CF alone */
    CHECK_FLAGS "inc8 0xff flags (CF kept, PF AF ZF)", F_ARITH, F_CF | F_PF | F_AF | F_ZF
    movq $0x80, %rax
    clc
    decb %al
    CHECK_FLAGS "dec8 0x80 flags (OF AF, CF kept 0)", F_ARITH, F_OF | F_AF
    CHECK "dec8 0x80 result", 0x7f
    movq $0x80, %rax
    negb %al                        /* NEG -128 = -128, CF = (src != 0) */
    CHECK_FLAGS "neg8 0x80 flags (CF SF OF)", F_ARITH, F_CF | F_SF | F_OF
    CHECK "neg8 0x80 result", 0x80
    movq $0, %rax
    stc
    negq %rax                       /* NEG 0: CF = 0 */
    CHECK_FLAGS "neg64 0 flags (PF ZF)", F_ARITH, F_PF | F_ZF

/* ------------------------------------------------------------- logic */
    movl $0xf0, %eax
    stc
    andl $0x0f, %eax                /* AND clears CF and OF */
    CHECK_FLAGS "and32 0xf0&0x0f flags (PF ZF)", LOGIC_FLAGS, F_PF | F_ZF
    movq $-1, %rax
    xorq $1, %rax
    CHECK_FLAGS "xor64 -1^1 flags (SF; low byte 0xfe odd parity)", LOGIC_FLAGS, F_SF
    CHECK "xor64 -1^1 result", 0xfffffffffffffffe

/* ------------------------------------------- 64-bit mode register rules */
    movq $-1, %rax
    addl $0, %eax
    CHECK "32-bit result zero-extends into RAX", 0xffffffff
    movq $-1, %rax
    addw $1, %ax
    CHECK "16-bit result keeps RAX[63:16]", 0xffffffffffff0000
    movq $0x1122334455667788, %rax
    movb $0xaa, %ah
    CHECK "mov to AH keeps the rest", 0x112233445566aa88
    movq $0x1122334455667788, %rsi
    movb $0xaa, %sil                /* REX: SIL, not DH */
    CHECK_REG %rsi, "mov to SIL (REX) keeps the rest", 0x11223344556677aa

/* ------------------------------------------------------------ shifts */
    movq $0x81, %rax
    shlb $1, %al                    /* CF = old bit 7; OF = MSB(result) ^ CF */
    CHECK_FLAGS "shl8 0x81,1 flags (CF OF)", SHIFT_FLAGS, F_CF | F_OF
    CHECK "shl8 0x81,1 result", 0x02
    movq $0x81, %rax
    shrb $1, %al                    /* OF = MSB of the original operand */
    CHECK_FLAGS "shr8 0x81,1 flags (CF OF)", SHIFT_FLAGS, F_CF | F_OF
    CHECK "shr8 0x81,1 result", 0x40
    movq $0x81, %rax
    sarb $1, %al                    /* OF = 0 for 1-bit SAR */
    CHECK_FLAGS "sar8 0x81,1 flags (CF PF SF)", SHIFT_FLAGS, F_CF | F_PF | F_SF
    CHECK "sar8 0x81,1 result", 0xc0
    movq $1, %rax
    movb $33, %cl
    shll %cl, %eax                  /* 32-bit count masked to 5 bits: 1 */
    CHECK "shl32 by 33 shifts by 1", 2
    movq $1, %rax
    movb $65, %cl
    shlq %cl, %rax                  /* 64-bit count masked to 6 bits: 1 */
    CHECK "shl64 by 65 shifts by 1", 2
    movq $0x8000000000000000, %rax
    movb $63, %cl
    sarq %cl, %rax
    CHECK "sar64 MIN by 63", 0xffffffffffffffff
    /* Count 0 (after masking): flags unaffected. */
    movq $0x80, %rax
    addb %al, %al                   /* CF ZF OF PF set */
    movq $0x1234, %rbx
    movb $64, %cl
    shlq %cl, %rbx                  /* 64 & 63 = 0 */
    CHECK_FLAGS "shl64 count 0 leaves flags", F_ARITH, F_CF | F_PF | F_ZF | F_OF
    CHECK_REG %rbx, "shl64 count 0 leaves operand", 0x1234
    movq $0x80, %rax
    rolb $1, %al                    /* CF = LSB(result), OF = MSB(result) ^ CF */
    CHECK_FLAGS "rol8 0x80,1 flags (CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "rol8 0x80,1 result", 0x01
    movq $0x80, %rax
    clc
    rclb $1, %al                    /* 9-bit rotate: CF <- 1, bit0 <- old CF 0 */
    CHECK_FLAGS "rcl8 0x80,1 CF=0 flags (CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "rcl8 0x80,1 CF=0 result", 0x00
    movq $0x01, %rax
    stc
    rcrb $1, %al                    /* CF <- 1, bit7 <- 1; OF = MSB ^ MSB-1 of result */
    CHECK_FLAGS "rcr8 0x01,1 CF=1 flags (CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "rcr8 0x01,1 CF=1 result", 0x80
    movq $0x123456789abcdef0, %rax
    movq $0xf000000000000000, %rbx
    shldq $4, %rbx, %rax            /* CF = last bit out = old bit 60 = 1 */
    CHECK_FLAGS "shld64 4 CF", F_CF, F_CF
    CHECK "shld64 4 result", 0x23456789abcdef0f
    movq $0x123456789abcdef0, %rax
    movq $0x000000000000000f, %rbx
    shrdq $8, %rbx, %rax            /* CF = old bit 7 = 1 */
    CHECK_FLAGS "shrd64 8 CF", F_CF, F_CF
    CHECK "shrd64 8 result", 0x0f123456789abcde

/* -------------------------------------------------------- MUL / IMUL */
    movq $-1, %rax
    movq $2, %rbx
    mulq %rbx
    CHECK_FLAGS "mul64 (2^64-1)*2 flags (CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "mul64 low", 0xfffffffffffffffe
    CHECK_REG %rdx, "mul64 high", 1
    movq $0x10, %rax
    movb $0x10, %bl
    mulb %bl
    CHECK_FLAGS "mul8 16*16 flags (AH != 0: CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "mul8 16*16 AX", 0x0100
    movq $0x0f, %rax
    movb $0x0f, %bl
    mulb %bl
    CHECK_FLAGS "mul8 15*15 flags (AH = 0)", F_CF | F_OF, 0
    CHECK "mul8 15*15 AX", 0x00e1
    movq $0x80, %rax
    movb $2, %bl
    imulb %bl                       /* -128*2 = -256: AX != sign-extended AL */
    CHECK_FLAGS "imul8 -128*2 flags (CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "imul8 -128*2 AX", 0xff00
    movq $-1, %rax
    movq $-1, %rbx
    imulq %rbx, %rax
    CHECK_FLAGS "imul64 -1*-1 flags", F_CF | F_OF, 0
    CHECK "imul64 -1*-1", 1
    movl $0x10000, %eax
    imull $0x10000, %eax, %eax      /* 2^32 truncated to 32 bits */
    CHECK_FLAGS "imul32 2^16*2^16 flags (CF OF)", F_CF | F_OF, F_CF | F_OF
    CHECK "imul32 2^16*2^16 truncated", 0
    movq $-3, %rax
    movq $5, %rbx
    imulq %rbx                      /* one-operand: RDX:RAX = -15 */
    CHECK "imul64 1-op -3*5 low", 0xfffffffffffffff1
    CHECK_REG %rdx, "imul64 1-op -3*5 high (sign)", 0xffffffffffffffff
    CHECK_FLAGS "imul64 1-op -3*5 flags", F_CF | F_OF, 0

/* -------------------------------------------------------- DIV / IDIV */
    movq $1, %rdx
    movq $0, %rax
    movq $2, %rbx
    divq %rbx                       /* 2^64 / 2 */
    CHECK "div64 2^64/2 quotient", 0x8000000000000000
    CHECK_REG %rdx, "div64 2^64/2 remainder", 0
    movq $0x0107, %rax
    movb $0x10, %bl
    divb %bl                        /* 263 / 16 = 16 r 7 */
    CHECK "div8 263/16 AX (AH=rem AL=quot)", 0x0710
    movq $-7, %rax
    cltd                            /* EDX:EAX = -7 */
    movl $2, %ebx
    idivl %ebx                      /* truncates toward zero: -3 r -1 */
    CHECK "idiv32 -7/2 quotient (zero-extended)", 0xfffffffd
    CHECK_REG %rdx, "idiv32 -7/2 remainder (zero-extended)", 0xffffffff
    movq $-7, %rax
    cqto
    CHECK_REG %rdx, "cqo -7 sign-extends", 0xffffffffffffffff
    movq $-2, %rbx
    idivq %rbx                      /* -7 / -2 = 3 r -1 */
    CHECK "idiv64 -7/-2 quotient", 3
    CHECK_REG %rdx, "idiv64 -7/-2 remainder", 0xffffffffffffffff

/* ---------------------------------------------------------- BSF / BSR */
    movq $0xf0, %rbx
    bsfq %rbx, %rax
    CHECK_FLAGS "bsf 0xf0 ZF=0", F_ZF, 0
    CHECK "bsf 0xf0", 4
    bsrq %rbx, %rax
    CHECK "bsr 0xf0", 7
    movq $0x8000000000000000, %rbx
    bsrq %rbx, %rax
    CHECK "bsr bit 63", 63
    movq $0, %rbx
    bsfq %rbx, %rax
    CHECK_FLAGS "bsf 0 sets ZF", F_ZF, F_ZF
    movq $0x10000, %rbx
    bsfw %bx, %ax                   /* 16-bit source is 0 */
    CHECK_FLAGS "bsf16 of low word 0 sets ZF", F_ZF, F_ZF

/* ------------------------------------------------------- BT family */
    movq $0x20, %rbx
    btq $5, %rbx
    CHECK_FLAGS "bt 0x20,5 CF=1", F_CF, F_CF
    btq $4, %rbx
    CHECK_FLAGS "bt 0x20,4 CF=0", F_CF, 0
    movq $0, %rax
    btsq $3, %rax
    CHECK_FLAGS "bts 3 old bit CF=0", F_CF, 0
    CHECK "bts 3 result", 8
    btrq $3, %rax
    CHECK_FLAGS "btr 3 old bit CF=1", F_CF, F_CF
    CHECK "btr 3 result", 0
    btcq $63, %rax
    CHECK "btc 63 result", 0x8000000000000000
    btq $127, %rax                  /* register operand: offset mod 64 = 63 */
    CHECK_FLAGS "bt reg imm 127 = bit 63", F_CF, F_CF
    /* Memory operand with a register offset addresses beyond the operand,
     * signed (SDM Vol. 2A BT: bit offset -2^63..2^63-1). */
    leaq bt_buf(%rip), %rbx
    movq $67, %rcx
    btq %rcx, (%rbx)                /* bit 3 of the qword at +8 */
    CHECK_FLAGS "bt mem, reg 67 (next qword)", F_CF, F_CF
    movq $-1, %rcx
    btq %rcx, (%rbx)                /* bit 7 of the byte at -1 */
    CHECK_FLAGS "bt mem, reg -1 (previous byte)", F_CF, F_CF
    movq $66, %rcx
    btsq %rcx, (%rbx)
    CHECK_FLAGS "bts mem, reg 66 old CF=0", F_CF, 0
    CHECK_REG 8(%rbx), "bts mem, reg 66 stored", 0x0c

/* -------------------------------------------------------------- SETcc */
    movl $3, %eax
    cmpl $5, %eax                   /* 3 - 5 */
    setl %al
    movzbl %al, %eax
    CHECK "setl after cmp 3,5", 1
    movl $3, %eax
    cmpl $5, %eax
    setb %al
    movzbl %al, %eax
    CHECK "setb after cmp 3,5", 1
    movl $-1, %eax
    cmpl $1, %eax                   /* -1 vs 1: signed less, unsigned above */
    setl %al
    setb %bl
    seta %cl
    setg %dl
    movzbl %al, %eax
    CHECK "setl after cmp -1,1", 1
    movzbl %bl, %eax
    CHECK "setb after cmp -1,1", 0
    movzbl %cl, %eax
    CHECK "seta after cmp -1,1", 1
    movzbl %dl, %eax
    CHECK "setg after cmp -1,1", 0
    movl $5, %eax
    cmpl $5, %eax
    setle %al
    setbe %bl
    setne %cl
    setge %dl
    movzbl %al, %eax
    CHECK "setle equal", 1
    movzbl %bl, %eax
    CHECK "setbe equal", 1
    movzbl %cl, %eax
    CHECK "setne equal", 0
    movzbl %dl, %eax
    CHECK "setge equal", 1
    movq $0x7f, %rax
    addb $1, %al                    /* OF SF, PF=0 */
    seto %bl
    sets %cl
    setp %dl
    movzbl %bl, %eax
    CHECK "seto after 0x7f+1", 1
    movzbl %cl, %eax
    CHECK "sets after 0x7f+1", 1
    movzbl %dl, %eax
    CHECK "setp after 0x7f+1", 0
    movq $0x80, %rax
    subb $1, %al                    /* OF=1 SF=0: jl taken (SF != OF) */
    setl %al
    movzbl %al, %eax
    CHECK "setl with OF=1 SF=0", 1

/* ------------------------------------------------------------- CMOVcc */
    movq $1, %rax
    movq $2, %rbx
    cmpq %rax, %rax                 /* ZF=1 */
    cmovzq %rbx, %rax
    CHECK "cmovz taken", 2
    movq $1, %rax
    cmpq %rbx, %rax                 /* ZF=0 */
    cmovzq %rbx, %rax
    CHECK "cmovz not taken", 1
    movq $-1, %rax
    movl $7, %ecx
    cmpq $0, %rax                   /* ZF=0 */
    cmovzl %ecx, %eax               /* false, 32-bit: DEST[63:32] := 0 */
    CHECK "cmovz32 not taken clears RAX[63:32]", 0xffffffff
    movq $-1, %rax
    cmpq $-1, %rax
    cmovel %ecx, %eax
    CHECK "cmove32 taken", 7
    movl $10, %eax
    movl $20, %edx
    cmpl %edx, %eax                 /* 10 < 20 */
    cmovgl %edx, %eax
    CHECK "cmovg not taken", 10
    cmovll %edx, %eax
    CHECK "cmovl taken", 20

/* -------------------------------------------- CMPXCHG / XADD / misc */
    movq $5, cx_buf(%rip)
    movq $5, %rax
    movq $9, %rcx
    lock cmpxchgq %rcx, cx_buf(%rip)
    CHECK_FLAGS "cmpxchg equal ZF=1", F_ZF, F_ZF
    CHECK_REG cx_buf(%rip), "cmpxchg equal stores src", 9
    movq $4, %rax
    cmpxchgq %rcx, cx_buf(%rip)     /* 4 != 9: RAX := dest */
    CHECK_FLAGS "cmpxchg unequal ZF=0", F_ZF, 0
    CHECK "cmpxchg unequal loads RAX", 9
    movl $-1, %eax
    movq $-1, %rdx
    movl $0x7fffffff, %ebx
    cmpxchgl %ebx, %edx             /* equal: EDX := EBX (register dest, 32-bit) */
    CHECK_REG %rdx, "cmpxchg32 reg equal writes dest zero-extended", 0x7fffffff
    movq $10, cx_buf(%rip)
    movq $3, %rax
    lock xaddq %rax, cx_buf(%rip)
    CHECK "xadd old value", 10
    CHECK_REG cx_buf(%rip), "xadd sum", 13
    movq $0x80, %rbx
    movsbq %bl, %rax
    CHECK "movsx byte 0x80", 0xffffffffffffff80
    movq $-1, %rbx
    movzwl %bx, %eax
    CHECK "movzx word", 0xffff
    movl $0x80000000, %eax
    cltq
    CHECK "cdqe 0x80000000", 0xffffffff80000000
    movq $0x0102030405060708, %rax
    bswapq %rax
    CHECK "bswap64", 0x0807060504030201
    movl $0x01020304, %eax
    bswapl %eax
    CHECK "bswap32", 0x04030201

/* ---------------------------------------------------- PUSHF / POPF */
    pushq $(F_ARITH | 2)
    popfq
    CHECK_FLAGS "popf sets all arithmetic flags", F_ARITH, F_ARITH
    movq %rax, %rbx                 /* no flag change through MOV/LEA */
    leaq 1(%rbx), %rbx
    CHECK_FLAGS "mov/lea leave flags", F_ARITH, F_ARITH
    pushq $2
    popfq
    CHECK_FLAGS "popf clears all arithmetic flags", F_ARITH, 0
    movb $0xd5, %ah
    sahf                            /* SF ZF AF PF CF from AH */
    CHECK_FLAGS "sahf", F_ARITH, F_SF | F_ZF | F_AF | F_PF | F_CF
    movb $0, %ah
    lahf
    movzbl %ah, %eax
    CHECK "lahf (bit 1 reads 1)", 0xd7

    popq %rbp
    popq %rbx
    ret

    .data
    .balign 8
    .quad 0x8000000000000000        /* bit -1 of bt_buf */
bt_buf:
    .quad 0
    .quad 0x0000000000000008        /* bit 67 of bt_buf */
cx_buf:
    .quad 0
