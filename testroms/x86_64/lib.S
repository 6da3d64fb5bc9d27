/*
 * testroms/x86_64/lib.S - the test ROMs' tiny library: COM1 output (16550
 * polled THR: wait for LSR bit 5 "THRE", PC16550D datasheet 8.6.2), hex
 * print, the check bookkeeping behind rom.h's CHECK, and exit through
 * isa-debug-exit (a write of V makes qtemu exit with (V << 1) | 1).
 *
 * Every function preserves all registers except where noted (RFLAGS is
 * clobbered); they run at CPL0 (port I/O).
 */
#include "rom.h"

    .text
    .code64

/* serial_init: 115200 8N1, FIFOs on, interrupts off. */
    .globl serial_init
serial_init:
    pushq %rax
    pushq %rdx
    movw $COM1 + 1, %dx
    xorl %eax, %eax
    outb %al, %dx                   /* IER = 0 */
    movw $COM1 + 3, %dx
    movb $0x80, %al
    outb %al, %dx                   /* LCR.DLAB */
    movw $COM1, %dx
    movb $1, %al
    outb %al, %dx                   /* DLL = 1 */
    movw $COM1 + 1, %dx
    xorl %eax, %eax
    outb %al, %dx                   /* DLM = 0 */
    movw $COM1 + 3, %dx
    movb $0x03, %al
    outb %al, %dx                   /* 8N1, DLAB = 0 */
    movw $COM1 + 2, %dx
    movb $0x07, %al
    outb %al, %dx                   /* FCR: enable + clear FIFOs */
    popq %rdx
    popq %rax
    ret

/* putc(dil) */
    .globl putc
putc:
    pushq %rax
    pushq %rcx
    pushq %rdx
    movl $100000, %ecx              /* don't hang on a broken LSR */
    movw $COM1 + 5, %dx
1:  inb %dx, %al
    testb $0x20, %al
    jnz 2f
    pause
    decl %ecx
    jnz 1b
2:  movw $COM1, %dx
    movl %edi, %eax
    outb %al, %dx
    popq %rdx
    popq %rcx
    popq %rax
    ret

/* puts_nonl(rdi = NUL-terminated string) */
    .globl puts_nonl
puts_nonl:
    pushq %rdi
    pushq %rsi
    movq %rdi, %rsi
1:  movzbl (%rsi), %edi
    testl %edi, %edi
    jz 2f
    call putc
    incq %rsi
    jmp 1b
2:  popq %rsi
    popq %rdi
    ret

/* puts(rdi): the string as given (PRINT appends the newline itself). */
    .globl puts
puts:
    jmp puts_nonl

/* puthex(rdi): "0x" and 16 hex digits. */
    .globl puthex
puthex:
    pushq %rdi
    pushq %rsi
    pushq %rcx
    movq %rdi, %rsi
    movl $'0', %edi
    call putc
    movl $'x', %edi
    call putc
    movl $16, %ecx
1:  rolq $4, %rsi
    movl %esi, %edi
    andl $15, %edi
    cmpl $10, %edi
    jb 2f
    addl $'a' - '0' - 10, %edi
2:  addl $'0', %edi
    call putc
    decl %ecx
    jnz 1b
    popq %rcx
    popq %rsi
    popq %rdi
    ret

/* putdec(rdi): unsigned decimal. */
    .globl putdec
putdec:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rdi
    movq %rdi, %rax
    subq $32, %rsp
    leaq 31(%rsp), %rcx
    movb $0, (%rcx)
    movl $10, %edi
1:  xorl %edx, %edx
    divq %rdi
    addb $'0', %dl
    decq %rcx
    movb %dl, (%rcx)
    testq %rax, %rax
    jnz 1b
    movq %rcx, %rdi
    call puts_nonl
    addq $32, %rsp
    popq %rdi
    popq %rdx
    popq %rcx
    popq %rax
    ret

/*
 * check_eq(rdi = description, rsi = got, rdx = expected): count the check,
 * print "ok N desc" or "FAIL N desc: got G expected E", remember the first
 * failing check's number.
 */
    .globl check_eq
check_eq:
    pushq %rax
    pushq %rdi
    incq check_num(%rip)
    cmpq %rdx, %rsi
    jne 1f
    leaq .Lok(%rip), %rdi
    call puts_nonl
    movq check_num(%rip), %rdi
    call putdec
    movl $' ', %edi
    call putc
    movq (%rsp), %rdi
    call puts_nonl
    jmp 2f
1:  cmpq $0, first_fail(%rip)
    jne 3f
    movq check_num(%rip), %rax
    movq %rax, first_fail(%rip)
3:  incq fail_count(%rip)
    leaq .Lfail(%rip), %rdi
    call puts_nonl
    movq check_num(%rip), %rdi
    call putdec
    movl $' ', %edi
    call putc
    movq (%rsp), %rdi
    call puts_nonl
    leaq .Lgot(%rip), %rdi
    call puts_nonl
    movq %rsi, %rdi
    call puthex
    leaq .Lexp(%rip), %rdi
    call puts_nonl
    movq %rdx, %rdi
    call puthex
2:  movl $'\n', %edi
    call putc
    popq %rdi
    popq %rax
    ret

/* finish: report and exit with the verdict. Does not return. */
    .globl finish
finish:
    leaq stack_top(%rip), %rsp
    leaq .Ldone(%rip), %rdi
    call puts_nonl
    movq check_num(%rip), %rdi
    call putdec
    leaq .Lchecks(%rip), %rdi
    call puts_nonl
    movq fail_count(%rip), %rdi
    call putdec
    leaq .Lfailed(%rip), %rdi
    call puts_nonl
    movl $EXIT_NO_CHECKS, %edi
    cmpq $0, check_num(%rip)
    je exit
    movq first_fail(%rip), %rdi
    cmpq $120, %rdi
    jbe exit
    movl $120, %edi
    /* fall through */

/* exit(edi = code): write it to isa-debug-exit. Does not return. */
    .globl exit
exit:
    movl %edi, %eax
    movw $DEBUG_EXIT, %dx
    outl %eax, %dx
    cli
1:  hlt
    jmp 1b

    .section .rodata.str, "a"
.Lok:     .asciz "ok "
.Lfail:   .asciz "FAIL "
.Lgot:    .asciz ": got "
.Lexp:    .asciz " expected "
.Ldone:   .asciz "DONE: "
.Lchecks: .asciz " checks, "
.Lfailed: .asciz " failed\n"

    .data
    .balign 8
    .globl check_num, first_fail, fail_count
check_num:  .quad 0
first_fail: .quad 0
fail_count: .quad 0
