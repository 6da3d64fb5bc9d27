/*
 * testroms/x86_64/lib.S - the test ROMs' tiny library: COM1 output (16550
 * polled THR: wait for LSR bit 5 "THRE", PC16550D datasheet 8.6.2), hex
 * print, the check bookkeeping behind rom.h's CHECK, exit through
 * isa-debug-exit (a write of V makes qtemu exit with (V << 1) | 1),
 * run_compat32 (a call into compatibility mode), run_legacy32 (a trip out of
 * IA-32e mode into legacy protected mode),
 * user_call / run_user (a trip to CPL3 and back), and a recording #DB
 * handler (db_init, db_reset, db_handler), and map_apic.
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
    leaq .Lok(%rip), %rdi
    cmpq %rdx, %rsi
    je 1f
    cmpq $0, first_fail(%rip)
    jne 3f
    movq check_num(%rip), %rax
    movq %rax, first_fail(%rip)
3:  incq fail_count(%rip)
    leaq .Lfail(%rip), %rdi
1:  call puts_nonl                  /* "ok " or "FAIL " */
    movq check_num(%rip), %rdi
    call putdec
    movl $' ', %edi
    call putc
    movq (%rsp), %rdi
    call puts_nonl
    cmpq %rdx, %rsi
    je 2f
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

/*
 * run_compat32(rdi = address of 32-bit code, below 4 GiB): call the code in
 * compatibility mode (IA-32e mode with a 32-bit code segment, SDM Vol. 3A
 * 5.2.1) at CPL0 and come back to 64-bit mode. Entered by a far return to
 * CS = SEL_KCODE32, then a 32-bit CALL on the caller's stack, DS/ES/SS =
 * SEL_KDATA, IF as the caller had it; exceptions go through the 64-bit IDT
 * (the EXPECT_EXC32 recorder works). The code returns with a 32-bit RET on
 * that stack (CS may be any 32-bit code segment with base 0 by then); it may
 * change GDTR and IDTR (both reloaded from start.S's tables) and every
 * register but ESP. Back in 64-bit mode (far jump to SEL_KCODE): IF = 0,
 * DS/ES/FS/GS/SS = SEL_KDATA, RSP as before.
 * Preserves rbx, rbp, r12-r15 (SysV callee-saved); clobbers the rest.
 */
    .globl run_compat32
run_compat32:
    PUSH_CALLEE_SAVED
    movq %rsp, compat_saved_rsp(%rip)
    movl %edi, compat_fn(%rip)
    pushq $SEL_KCODE32              /* to compatibility mode */
    leaq 1f(%rip), %rax
    pushq %rax
    lretq
    .code32
1:  call *compat_fn
    cli
    lgdtl gdt_desc                  /* start.S's GDT: SEL_KCODE for the way back */
    ljmpl $SEL_KCODE, $2f
    .code64
2:  LOAD_DATA_SEGS SEL_KDATA, 1
    movq compat_saved_rsp(%rip), %rsp
    lidt idt_desc(%rip)
    POP_CALLEE_SAVED
    ret

/*
 * run_legacy32(rdi = address of 32-bit code): leave IA-32e mode, call the
 * code in legacy 32-bit protected mode, come back to 64-bit mode.
 * SDM Vol. 3A 10.8.5.4 "Switching Out of IA-32e Mode Operation": from
 * compatibility mode (run_compat32), CR0.PG = 0 clears IA32_EFER.LMA, then
 * EFER.LME = 0; back in as 10.8.5 "Initializing IA-32e Mode" (CR4.PAE and
 * CR3 stay set: EFER.LME, CR0.PG, then run_compat32's far jump to a 64-bit
 * code segment).
 * The code is entered by a 32-bit CALL at CPL0 with paging off (linear =
 * physical), CS = SEL_KCODE32, DS/ES/FS/GS/SS = SEL_KDATA, IF = 0, on the
 * caller's stack, with the 64-bit IDT still loaded (it is no use outside
 * IA-32e mode: the code must LIDT its own before anything can fault). It
 * returns with a 32-bit RET on that stack, SS flat again; it may change the
 * GDT (reloaded here), IDT (reloaded) and every register but ESP.
 * legacy_efer_pg0 (dword) holds IA32_EFER as read right after CR0.PG = 0.
 * Preserves rbx, rbp, r12-r15 (SysV callee-saved); clobbers the rest.
 */
    .globl run_legacy32
run_legacy32:
    movl %edi, legacy_fn(%rip)
    leaq legacy_trip(%rip), %rdi
    jmp run_compat32
    .code32
legacy_trip:                        /* compatibility mode, CPL0 */
    movl %cr0, %eax
    andl $0x7fffffff, %eax          /* CR0.PG = 0: EFER.LMA = 0 */
    movl %eax, %cr0
    movl $0xc0000080, %ecx          /* IA32_EFER */
    rdmsr
    movl %eax, legacy_efer_pg0      /* for modes.S: LMA = 0, LME still 1 */
    andl $~0x100, %eax              /* EFER.LME = 0: legacy protected mode */
    wrmsr
    LOAD_DATA_SEGS SEL_KDATA, 1
    call *legacy_fn
    cli
    lgdtl gdt_desc                  /* start.S's GDT: flat SEL_KDATA, SEL_KCODE32 */
    LOAD_DATA_SEGS SEL_KDATA
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x100, %eax                /* EFER.LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000000, %eax           /* CR0.PG: IA-32e mode again (compatibility mode) */
    movl %eax, %cr0
    ret                             /* to run_compat32: far jump to 64-bit mode */
    .code64

/*
 * user_call(rdi = launcher): a trip to CPL3 and back (one at a time: the
 * kernel RSP is kept in one place). Saves rbx, rbp, r12-r15 and RSP, points
 * IDT vector USER_RET_VEC (0x82) at user_return_int (interrupt gate, DPL3, so
 * CPL3 code may INT to it), then jumps to the launcher with rsi, rdx, rcx and
 * r8-r11 as the caller passed them: CPL0 code that enters user mode the way
 * the test needs (IRETQ, SYSRET, SYSEXIT, far RET).
 * The way back: the user code executes `int $USER_RET_VEC` (user_return_int
 * records the interrupt frame's CS and RIP in user_ret_cs / user_ret_rip
 * and SS as found in the handler in user_ret_ss: an interrupt from CPL3
 * loads a NULL SS, SDM Vol. 3A 6.14.4), or CPL0 code (a SYSCALL or SYSENTER
 * target) jumps to user_return. Both reload DS/ES/SS with SEL_KDATA and the
 * saved RSP and return from user_call with RFLAGS as the way back left it
 * (IF = 0 after the interrupt gate); FS/GS are left as they are.
 * Preserves rbx, rbp, r12-r15; clobbers the rest.
 */
    .globl user_call, user_return, user_return_int
user_call:
    PUSH_CALLEE_SAVED
    movq %rsp, user_ksp(%rip)
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    SET_GATE USER_RET_VEC, user_return_int(%rip), (GATE_INT | GATE_DPL3)
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    jmp *%rdi

user_return_int:
    movq (%rsp), %rax
    movq %rax, user_ret_rip(%rip)
    movq 8(%rsp), %rax
    movq %rax, user_ret_cs(%rip)
    movq %ss, %rax
    movq %rax, user_ret_ss(%rip)
user_return:
    LOAD_DATA_SEGS SEL_KDATA
    movq user_ksp(%rip), %rsp
    POP_CALLEE_SAVED
    ret

/*
 * run_user(rdi = entry, rsi = RFLAGS): user_call with an IRETQ into 64-bit
 * code at CPL3: RIP = rdi, CS = SEL_UCODE | 3, RFLAGS = rsi (2: IF = 0),
 * RSP = user_stack_top (4 KiB here in lib.S), SS = SEL_UDATA | 3. The user
 * code comes back with `int $USER_RET_VEC`. Registers as user_call.
 */
    .globl run_user
run_user:
    movq %rdi, %rdx
    leaq 1f(%rip), %rdi
    jmp user_call
1:  pushq $(SEL_UDATA | 3)
    leaq user_stack_top(%rip), %rax
    pushq %rax
    pushq %rsi
    pushq $(SEL_UCODE | 3)
    pushq %rdx
    iretq

/*
 * #DB recorder (SDM Vol. 3B 18.2.3 DR6, 18.3 debug exceptions).
 * db_init: point IDT vector 1 at db_handler (interrupt gate, DPL0), clear
 * DR6 and the record (db_reset). Clobbers rax, rcx, rdx, rsi, rdi.
 * db_reset: clear the record: db_count, db_rip[0..7], db_dr6 := 0.
 * db_handler: counts the #DB in db_count; keeps the saved RIP of the first
 * 8 in db_rip[]; of the last one keeps the saved RFLAGS (db_rflags), DR6,
 * DR7 (as read in the handler), RCX/RSI/RDI at the exception and RFLAGS.TF
 * inside the handler (db_tf: 0 when the gate cleared TF); clears DR6 (18.2.3
 * advises it, so each check sees only its own bits); with db_setrf != 0
 * sets RF in the saved RFLAGS, so the IRETQ resumes without an instruction
 * breakpoint hit (18.3.1.1). Preserves every register.
 */
    .globl db_init, db_reset, db_handler
db_init:
    SET_GATE 1, db_handler(%rip), GATE_INT
    xorl %eax, %eax
    movq %rax, %dr6
    /* fall through */
db_reset:
    pushq %rcx
    pushq %rdx
    movq $0, db_count(%rip)
    movq $0, db_dr6(%rip)
    leaq db_rip(%rip), %rdx
    movl $8, %ecx
1:  movq $0, -8(%rdx, %rcx, 8)
    decl %ecx
    jnz 1b
    popq %rdx
    popq %rcx
    ret

/* Frame after the three pushes: RIP 24, CS 32, RFLAGS 40. */
db_handler:
    pushq %rax
    pushq %rcx
    pushq %rdx
    movq %rcx, db_rcx(%rip)
    movq %rsi, db_rsi(%rip)
    movq %rdi, db_rdi(%rip)
    movq db_count(%rip), %rcx
    cmpq $8, %rcx
    jae 1f
    leaq db_rip(%rip), %rax
    movq 24(%rsp), %rdx
    movq %rdx, (%rax, %rcx, 8)
1:  incq db_count(%rip)
    movq 40(%rsp), %rax
    movq %rax, db_rflags(%rip)
    movq %dr6, %rax
    movq %rax, db_dr6(%rip)
    movq %dr7, %rax
    movq %rax, db_dr7(%rip)
    xorl %eax, %eax
    movq %rax, %dr6
    pushfq
    popq %rax
    andq $F_TF, %rax
    movq %rax, db_tf(%rip)
    cmpq $0, db_setrf(%rip)
    je 2f
    orq $F_RF, 40(%rsp)
2:  popq %rdx
    popq %rcx
    popq %rax
    iretq

/*
 * map_apic: map the 1 GiB at 3 GiB through pd_apic (PDPT[3]): 2 MiB pages at
 * IOAPIC (FEC00000H) and APIC (FEE00000H), identity, P RW PWT PCD PS
 * (uncached: SDM Vol. 3A 11.4.1 wants the APIC page UC), the rest not
 * present; reloads CR3. Clobbers RAX.
 */
    .globl map_apic
map_apic:
    leaq pd_apic + 7(%rip), %rax
    movq %rax, pdpt + 3*8(%rip)
    movl $(IOAPIC | 0x9b), %eax     /* P RW PWT PCD PS */
    movq %rax, pd_apic + 502*8(%rip)
    movl $(APIC | 0x9b), %eax
    movq %rax, pd_apic + 503*8(%rip)
    movq %cr3, %rax
    movq %rax, %cr3
    ret

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
compat_saved_rsp: .quad 0
compat_fn:  .quad 0
legacy_fn:  .quad 0
    .globl legacy_efer_pg0
legacy_efer_pg0: .quad 0
user_ksp:   .quad 0
    .globl user_ret_cs, user_ret_rip, user_ret_ss
user_ret_cs:  .quad -1
user_ret_rip: .quad -1
user_ret_ss:  .quad -1
    .globl db_count, db_dr6, db_dr7, db_rflags, db_tf, db_rcx, db_rsi, db_rdi
    .globl db_setrf, db_rip
db_count:  .quad 0
db_dr6:    .quad 0
db_dr7:    .quad 0
db_rflags: .quad 0
db_tf:     .quad -1
db_rcx:    .quad 0
db_rsi:    .quad 0
db_rdi:    .quad 0
db_setrf:  .quad 0
db_rip:    .fill 8, 8, 0

    .bss
    .balign 16
    .skip 4096
    .globl user_stack_top
user_stack_top:
    .balign 4096
pd_apic:
    .skip 4096
