/*
 * testroms/x86_64/legacy.S - exceptions of instructions that exist only
 * outside 64-bit mode, run in compatibility mode (IA-32e mode with a 32-bit
 * code segment, SDM Vol. 3A 2.2 / 5.2.1, entered with lib.S run_compat32;
 * exceptions go through the 64-bit IDT, Vol. 3A 6.14):
 *  - INTO (Vol. 2A INT n/INTO/INT3/INT1): with OF=1 raises #OF (vector 4)
 *    as a trap, saved RIP = the instruction after INTO; with OF=0 it does
 *    nothing. (64-bit mode: #UD, checked by exceptions.S.)
 *  - BOUND r32, m32&32 (Vol. 2A BOUND, 62 /r "Compat/Leg Mode: Valid"):
 *    the signed index must satisfy lower <= index <= upper (both bounds
 *    inclusive), else #BR (vector 5), a fault: saved RIP = the BOUND.
 */
#include "rom.h"


    .text
    .code64
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    movl $compat, %edi              /* lib.S: call it in compatibility mode */
    call run_compat32
    movl res_into0(%rip), %eax
    CHECK "INTO with OF=0: no exception", 0xffffffff
    movl res_into1(%rip), %eax
    CHECK "INTO with OF=1: #OF", 4
    movl res_into1 + 8(%rip), %eax
    CHECK "INTO: saved RIP after INTO (trap)", into_next
    movl res_bound0(%rip), %eax
    CHECK "BOUND within bounds: no exception", 0xffffffff
    movl res_bound1(%rip), %eax
    CHECK "BOUND above the upper bound: #BR", 5
    movl res_bound1 + 8(%rip), %eax
    CHECK "BOUND: saved RIP of the BOUND (fault)", bound_insn
    movl res_bound2(%rip), %eax
    CHECK "BOUND below the lower bound: #BR", 5

    POP_CALLEE_SAVED
    ret

/* ------------------------------------------------ compatibility mode */
    .code32
compat:
    movl $0x7fffffff, %eax
    addl $0, %eax                   /* OF=0 */
    TRY32 res_into0, into
    movl $0x7fffffff, %eax
    addl $1, %eax                   /* OF=1 */
    EXPECT_EXC32 1f
    into
into_next:
    nop
1:  DISARM32
    SAVE_EXC32 res_into1
    movl $15, %eax
    TRY32 res_bound0, bound %eax, bounds
    movl $25, %eax
    EXPECT_EXC32 1f
bound_insn:
    bound %eax, bounds
1:  DISARM32
    SAVE_EXC32 res_bound1
    movl $9, %eax
    TRY32 res_bound2, bound %eax, bounds
    ret                             /* to run_compat32: back to 64-bit mode */
    .code64


    .data
    .balign 8
res_into0:  .long -1, -1, 0, 0      /* vector, error code, RIP (low halves) */
res_into1:  .long -1, -1, 0, 0
res_bound0: .long -1, -1, 0, 0
res_bound1: .long -1, -1, 0, 0
res_bound2: .long -1, -1, 0, 0
bounds:     .long 10, 20            /* BOUND: lower, upper (signed, inclusive) */
