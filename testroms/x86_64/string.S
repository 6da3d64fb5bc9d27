/*
 * testroms/x86_64/string.S - string instructions with REP (Intel SDM
 * Vol. 2B MOVS/MOVSB, STOS, CMPS, SCAS, LODS and "REP/REPE/REPZ/REPNE/
 * REPNZ"):
 *  - each iteration moves one element and steps RSI/RDI by +size (DF=0) or
 *    -size (DF=1) and decrements RCX; RCX=0 means no iteration at all;
 *  - elements are processed one after the other, so an overlapping forward
 *    MOVSB replicates the first byte (the Operation section is a loop);
 *  - REPE/REPNE stop after the element that ends the condition, with RCX,
 *    RSI, RDI stepped past it and the flags of that comparison (CMP flags
 *    per Vol. 1 3.4.3.1);
 *  - a fault in the middle is taken with the registers reflecting the
 *    progress made (the "REP" page: the string operation can be resumed
 *    after the handler returns; Vol. 3A 6.5: the fault's RIP is the string
 *    instruction): elements before the faulting one are done, RSI/RDI point
 *    at the faulting element, RCX counts what is left; re-executing the
 *    instruction after mapping the page completes the operation.
 */
#include "rom.h"

#define PTE_OF(va) (pt_low + (((va) - 0x200000) >> 12) * 8)
#define SRC      0x390000
#define DST      0x3a0000
#define NP       0x3a1000           /* made not present for the fault tests */
#define DST2     0x3a2000

    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    cld

    /* SRC: bytes 0x00..0xff repeated over two pages. */
    movq $SRC, %rdi
    xorl %eax, %eax
1:  stosb
    incb %al
    cmpq $SRC + 0x2000, %rdi
    jb 1b

/* ------------------------------------------------------ MOVSB DF=0/1 */
    movq $SRC + 0x10, %rsi
    movq $DST, %rdi
    movq $16, %rcx
    rep movsb
    CHECK_REG %rcx, "rep movsb DF=0: RCX=0", 0
    CHECK_REG %rsi, "rep movsb DF=0: RSI advanced 16", SRC+0x20
    CHECK_REG %rdi, "rep movsb DF=0: RDI advanced 16", DST+0x10
    CHECK_REG DST, "rep movsb DF=0: bytes 0..7", 0x1716151413121110
    CHECK_REG DST+8, "rep movsb DF=0: bytes 8..15", 0x1f1e1d1c1b1a1918

    std
    movq $SRC + 0x4f, %rsi
    movq $DST + 0x2f, %rdi
    movq $16, %rcx
    rep movsb
    cld
    CHECK_REG %rcx, "rep movsb DF=1: RCX=0", 0
    CHECK_REG %rsi, "rep movsb DF=1: RSI stepped back 16", SRC+0x3f
    CHECK_REG %rdi, "rep movsb DF=1: RDI stepped back 16", DST+0x1f
    CHECK_REG DST+0x20, "rep movsb DF=1: bytes 0..7", 0x4746454443424140
    CHECK_REG DST+0x28, "rep movsb DF=1: bytes 8..15", 0x4f4e4d4c4b4a4948

    movq $DST + 0x100, %rdi
    movb $0x41, (%rdi)
    movq $0, 1(%rdi)
    movq %rdi, %rsi
    incq %rdi
    movq $8, %rcx
    rep movsb                       /* overlapping: dst = src + 1 */
    CHECK_REG DST+0x101, "overlapping forward movsb replicates byte 0", 0x4141414141414141

    movq $0, %rcx
    movq $SRC, %rsi
    movq $DST + 0x200, %rdi
    movq $0x5a5a, (%rdi)
    movq $0x7f, %rax
    addb $1, %al                    /* OF SF AF, known flags */
    rep movsb                       /* RCX = 0: nothing */
    CHECK_FLAGS "rep movsb RCX=0 leaves flags", F_ARITH, F_OF|F_SF|F_AF
    CHECK_REG %rsi, "rep movsb RCX=0: RSI unchanged", SRC
    CHECK_REG %rdi, "rep movsb RCX=0: RDI unchanged", DST+0x200
    CHECK_REG DST+0x200, "rep movsb RCX=0: memory unchanged", 0x5a5a

    movsq                           /* no REP: exactly one qword */
    CHECK_REG %rdi, "movsq: RDI + 8", DST+0x208
    CHECK_REG DST+0x200, "movsq: one qword copied", 0x0706050403020100

/* ------------------------------------------------------------- STOS/LODS */
    movq $DST + 0x300, %rdi
    movb $0xcc, %al
    movq $8, %rcx
    rep stosb
    CHECK_REG DST+0x300, "rep stosb DF=0", 0xcccccccccccccccc
    std
    movq $DST + 0x317, %rdi
    movb $0xdd, %al
    movq $8, %rcx
    rep stosb
    cld
    CHECK_REG %rdi, "rep stosb DF=1: RDI", DST+0x30f
    CHECK_REG DST+0x310, "rep stosb DF=1", 0xdddddddddddddddd
    movq $0x0123456789abcdef, %rax
    movq $DST + 0x320, %rdi
    movq $2, %rcx
    rep stosq
    CHECK_REG DST+0x328, "rep stosq", 0x0123456789abcdef
    CHECK_REG %rdi, "rep stosq: RDI + 16", DST+0x330
    movl $0xffffffff, %eax
    movq $DST + 0x330, %rdi
    movq $0, (%rdi)
    stosw
    CHECK_REG DST+0x330, "stosw writes 2 bytes", 0xffff
    movq $SRC + 0x12, %rsi
    movq $-1, %rax
    lodsb
    CHECK "lodsb: AL loaded, rest of RAX kept", 0xffffffffffffff12
    CHECK_REG %rsi, "lodsb: RSI + 1", SRC+0x13
    lodsl
    CHECK "lodsd: zero-extends into RAX", 0x16151413

/* ------------------------------------------------------ CMPS / SCAS */
    leaq str1(%rip), %rsi
    leaq str2(%rip), %rdi
    movq $6, %rcx
    repe cmpsb                      /* "abcdef" vs "abcXef": stop after 'd'/'X' */
    CHECK_FLAGS "repe cmpsb mismatch: flags of 'd'-'X' (AF PF)", F_ARITH, F_AF|F_PF
    CHECK_REG %rcx, "repe cmpsb: RCX after 4 elements", 2
    leaq str1 + 4(%rip), %rax
    subq %rsi, %rax
    CHECK "repe cmpsb: RSI past the mismatch", 0
    leaq str2 + 4(%rip), %rax
    subq %rdi, %rax
    CHECK "repe cmpsb: RDI past the mismatch", 0

    leaq str1(%rip), %rsi
    leaq str1(%rip), %rdi
    movq $6, %rcx
    repe cmpsb
    CHECK_FLAGS "repe cmpsb equal strings: ZF=1", F_ZF, F_ZF
    CHECK_REG %rcx, "repe cmpsb equal strings: RCX=0", 0

    std
    leaq str1 + 5(%rip), %rsi
    leaq str2 + 5(%rip), %rdi
    movq $6, %rcx
    repe cmpsb                      /* backwards: f=f e=e d!=X */
    cld
    CHECK_REG %rcx, "repe cmpsb DF=1: RCX", 3
    leaq str1 + 2(%rip), %rax
    subq %rsi, %rax
    CHECK "repe cmpsb DF=1: RSI", 0

    leaq str1(%rip), %rdi
    movb $'e', %al
    movq $6, %rcx
    repne scasb
    CHECK_FLAGS "repne scasb found: ZF=1", F_ZF, F_ZF
    CHECK_REG %rcx, "repne scasb: RCX after 5 elements", 1
    leaq str1 + 5(%rip), %rax
    subq %rdi, %rax
    CHECK "repne scasb: RDI past the match", 0
    leaq str1(%rip), %rdi
    movb $'z', %al
    movq $6, %rcx
    repne scasb
    CHECK_FLAGS "repne scasb not found: ZF=0", F_ZF, 0
    CHECK_REG %rcx, "repne scasb not found: RCX=0", 0

/* ------------------------------------- faults in the middle, then resume */
    andq $~PTE_P, PTE_OF(NP)(%rip)
    invlpg NP

    /* Destination runs into the not-present page. */
    movq $0, NP - 0x10
    movq $0, NP - 0x8
    movq $SRC + 0x40, %rsi
    movq $NP - 0x10, %rdi
    movq $32, %rcx
    EXPECT_EXC 1f
rf1: rep movsb
    jmp 2f
1:  DISARM
    CHECK_REG exc_vec(%rip), "movsb into not-present page: #PF", 14
    CHECK_REG exc_err(%rip), "movsb into not-present page: write (2)", 2
    CHECK_REG exc_cr2(%rip), "movsb into not-present page: CR2", NP
    CHECK_REG exc_rip(%rip), "movsb fault: RIP of the REP MOVSB", rf1
    CHECK_REG %rcx, "movsb fault: RCX = 16 left", 16
    CHECK_REG %rsi, "movsb fault: RSI = faulting element", SRC+0x50
    CHECK_REG %rdi, "movsb fault: RDI = faulting element", NP
    CHECK_REG (NP-0x10), "movsb fault: bytes before the fault done (0..7)", 0x4746454443424140
    CHECK_REG (NP-0x8), "movsb fault: bytes before the fault done (8..15)", 0x4f4e4d4c4b4a4948
    orq $PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    jmp rf1                         /* re-execute with the registers as they are */
2:  CHECK_REG %rcx, "movsb resumed: RCX=0", 0
    CHECK_REG %rdi, "movsb resumed: RDI = end", NP+0x10
    CHECK_REG NP, "movsb resumed: bytes 16..23", 0x5756555453525150
    CHECK_REG NP+8, "movsb resumed: bytes 24..31", 0x5f5e5d5c5b5a5958
    CHECK_REG exc_count(%rip), "movsb resumed without faulting again (1 exception so far)", 1

    /* Source runs into the not-present page (read fault). */
    andq $~PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    movq $NP - 8, %rsi
    movq $DST + 0x400, %rdi
    movq $24, %rcx
    EXPECT_EXC 1f
rf2: rep movsb
    jmp 2f
1:  DISARM
    CHECK_REG exc_vec(%rip), "movsb from not-present page: #PF", 14
    CHECK_REG exc_err(%rip), "movsb from not-present page: read (0)", 0
    CHECK_REG exc_cr2(%rip), "movsb from not-present page: CR2", NP
    CHECK_REG %rcx, "movsb read fault: RCX = 16 left", 16
    CHECK_REG %rsi, "movsb read fault: RSI = faulting element", NP
    CHECK_REG %rdi, "movsb read fault: RDI", DST+0x408
    orq $PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    jmp rf2
2:  CHECK_REG %rcx, "movsb (read fault) resumed: RCX=0", 0
    CHECK_REG %rsi, "movsb (read fault) resumed: RSI = end", NP+0x10

    /* DF=1: destination runs down into the not-present page. */
    andq $~PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    movq $SRC + 0x1f, %rsi
    movq $DST2 + 0x8, %rdi
    movq $32, %rcx
    std
    EXPECT_EXC 1f
rf3: rep movsb
    jmp 2f
1:  DISARM
    CHECK_REG exc_vec(%rip), "movsb DF=1 into not-present page: #PF", 14
    CHECK_REG exc_cr2(%rip), "movsb DF=1: CR2 = last byte of that page", NP+0xfff
    CHECK_REG %rcx, "movsb DF=1 fault: RCX = 23 left (9 done)", 23
    CHECK_REG %rsi, "movsb DF=1 fault: RSI", SRC+0x16
    CHECK_REG %rdi, "movsb DF=1 fault: RDI", NP+0xfff
    CHECK_FLAGS "movsb DF=1 fault: DF still 1", F_DF, F_DF
    orq $PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    jmp rf3
2:  cld
    CHECK_REG %rcx, "movsb DF=1 resumed: RCX=0", 0
    CHECK_REG %rdi, "movsb DF=1 resumed: RDI", DST2+0x8-32
    CHECK_REG NP+0xff8, "movsb DF=1 resumed: bytes", 0x161514131211100f
    CHECK_REG DST2, "movsb DF=1: bytes before the fault", 0x1e1d1c1b1a191817

    /* STOSQ into the not-present page. */
    andq $~PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    movq $NP - 0x20, %rdi
    movq $8, %rcx
    movq $0x1122334455667788, %rax
    EXPECT_EXC 1f
rf4: rep stosq
    jmp 2f
1:  DISARM
    CHECK_REG exc_vec(%rip), "stosq into not-present page: #PF", 14
    CHECK_REG %rcx, "stosq fault: RCX = 4 left", 4
    CHECK_REG %rdi, "stosq fault: RDI = faulting element", NP
    CHECK_REG (NP-8), "stosq fault: last qword before the page", 0x1122334455667788
    orq $PTE_P, PTE_OF(NP)(%rip)
    invlpg NP
    jmp rf4
2:  CHECK_REG %rcx, "stosq resumed: RCX=0", 0
    CHECK_REG NP+0x18, "stosq resumed: last qword", 0x1122334455667788

    POP_CALLEE_SAVED
    ret

    .section .rodata
str1: .ascii "abcdef"
str2: .ascii "abcXef"
