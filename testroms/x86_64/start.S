/*
 * testroms/x86_64/start.S - common start-up for the x86-64 test ROMs.
 *
 * Entered through the PVH boot ABI (Xen's docs/misc/pvh.pandoc): 32-bit
 * protected mode, paging off, flat CS/DS, EBX = hvm_start_info, no stack.
 * Switches to 64-bit mode the way SDM Vol. 3A 10.8.5 "Initializing IA-32e
 * Mode" describes (CR4.PAE, CR3 = PML4, EFER.LME, CR0.PG, then a far jump to
 * a 64-bit code segment), loads the IDT (SDM Vol. 3A 6.14) and the 64-bit TSS
 * (SDM Vol. 3A 8.7), and calls the ROM's test_main. See rom.h for the
 * environment test_main sees.
 */
#include "rom.h"

/* ---------------------------------------------------------- PVH ELF note */
    .section .note.Xen, "a"
    .balign 4
    .long 4                 /* namesz */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start32

/* ------------------------------------------------------------ 32-bit entry */
    .section .text.boot, "ax"
    .code32
    .globl _start32
_start32:
    cli
    cld
    movl %ebx, start_info_pa
    lgdtl gdt_desc
    LOAD_DATA_SEGS SEL_KDATA
    movl $stack_top, %esp

    movl %cr4, %eax
    orl $0x20, %eax                 /* CR4.PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx          /* IA32_EFER */
    rdmsr
    orl $0x100, %eax                /* EFER.LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax           /* CR0.PG | CR0.WP | CR0.PE */
    movl %eax, %cr0
    ljmpl $SEL_KCODE, $start64

/* ------------------------------------------------------------ 64-bit entry */
    .text
    .code64
start64:
    LOAD_DATA_SEGS SEL_KDATA, 1
    leaq stack_top(%rip), %rsp
    xorl %ebp, %ebp

    /* TSS descriptor (SDM Vol. 3A 8.2.3, Figure 8-4): limit 103, type 9. */
    leaq tss(%rip), %rax
    leaq gdt(%rip), %rdi
    addq $SEL_TSS, %rdi
    movw $103, (%rdi)
    movw %ax, 2(%rdi)
    movq %rax, %rdx
    shrq $16, %rdx
    movb %dl, 4(%rdi)
    movb $0x89, 5(%rdi)             /* P, DPL0, type 9 (available 64-bit TSS) */
    movb $0, 6(%rdi)
    shrq $8, %rdx
    movb %dl, 7(%rdi)
    shrq $8, %rdx
    movl %edx, 8(%rdi)
    movl $0, 12(%rdi)
    leaq rsp0_stack_top(%rip), %rax
    movq %rax, tss+4(%rip)          /* RSP0 */
    leaq ist1_stack_top(%rip), %rax
    movq %rax, tss+36(%rip)         /* IST1 */
    movw $104, tss+102(%rip)        /* I/O map base beyond the limit: no bitmap */
    lgdt gdt_desc(%rip)
    movw $SEL_TSS, %ax
    ltr %ax

    /* IDT: every vector to its stub, interrupt gate, DPL0, no IST. */
    xorl %ebx, %ebx
1:  movl %ebx, %edi
    xorl %esi, %esi
    movl $GATE_INT, %edx
    xorl %ecx, %ecx
    call set_gate
    incl %ebx
    cmpl $256, %ebx
    jb 1b
    lidt idt_desc(%rip)

    call serial_init
    PRINT "qtemu test ROM: long mode up"
    call test_main
    jmp finish

/*
 * set_gate(edi = vector, rsi = handler or 0 for the default stub,
 *          edx = attribute byte (P|DPL|type), ecx = IST index 0..7).
 * Writes a 16-byte IDT gate (SDM Vol. 3A 6.14.1, Figure 6-8), CS =
 * SEL_KCODE, through write_gate.
 */
    .globl set_gate
set_gate:
    pushq %rax
    pushq %rdi
    pushq %rdx
    pushq %rcx
    movl %edi, %eax
    testq %rsi, %rsi
    jnz 1f
    leaq exc_stubs(%rip), %rsi
    shlq $4, %rax
    addq %rax, %rsi
    movl %edi, %eax
1:  shlq $4, %rax
    leaq idt(%rip), %rdi
    addq %rax, %rdi
    andl $7, %ecx                   /* byte 4: IST */
    movb %dl, %ch                   /* byte 5: attributes */
    movl $SEL_KCODE, %edx
    call write_gate
    popq %rcx
    popq %rdx
    popq %rdi
    popq %rax
    ret

/*
 * write_gate(rdi = address of a 16-byte gate descriptor, rsi = offset,
 *            dx = selector, cl = byte 4, ch = byte 5 (P|DPL|type)):
 * the IA-32e gate layout shared by interrupt/trap gates (SDM Vol. 3A
 * Figure 6-8; byte 4 holds the IST) and call gates (Figure 5-9): offset
 * 15:0, selector, bytes 4 and 5, offset 31:16, offset 63:32, dword 3 = 0.
 * Preserves every register.
 */
    .globl write_gate
write_gate:
    pushq %rax
    movw %si, (%rdi)
    movw %dx, 2(%rdi)
    movw %cx, 4(%rdi)
    movq %rsi, %rax
    shrq $16, %rax
    movw %ax, 6(%rdi)
    shrq $16, %rax
    movl %eax, 8(%rdi)
    movl $0, 12(%rdi)
    popq %rax
    ret

/*
 * Exception stubs: 16 bytes each. Vectors without an error code push 0 so
 * the frame is uniform (SDM Vol. 3A Table 6-1 names the vectors with one:
 * 8, 10-14, 17, 21, 29, 30).
 */
    .balign 16
    .globl exc_stubs
exc_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp exc_common
    .set vec, vec + 1
    .endr

/*
 * Common handler. Stack: [vector][error][RIP][CS][RFLAGS][RSP][SS].
 */
#define NSAVE 9
exc_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
#define FR(i) (NSAVE * 8 + (i) * 8)(%rsp)
    movq FR(0), %rax
    movq %rax, exc_vec(%rip)
    movq FR(1), %rax
    movq %rax, exc_err(%rip)
    movq FR(2), %rax
    movq %rax, exc_rip(%rip)
    movq FR(3), %rax
    movq %rax, exc_cs(%rip)
    movq FR(4), %rax
    movq %rax, exc_rflags(%rip)
    movq FR(5), %rax
    movq %rax, exc_rsp(%rip)
    movq FR(6), %rax
    movq %rax, exc_ss(%rip)
    leaq FR(7), %rax
    movq %rax, exc_frame_top(%rip)  /* RSP before the CPU pushed SS */
    movq %cr2, %rax
    movq %rax, exc_cr2(%rip)
    incq exc_count(%rip)
    cmpq $0, exc_armed(%rip)
    je exc_unexpected
    movq $0, exc_armed(%rip)
    movq exc_resume(%rip), %rax
    testq %rax, %rax
    jz 1f
    movq %rax, FR(2)
    movq $0, exc_resume(%rip)
1:  popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp
    iretq

exc_unexpected:
    leaq stack_top(%rip), %rsp
    leaq .Lunexp(%rip), %rdi
    call puts_nonl
    movq exc_vec(%rip), %rdi
    call puthex
    leaq .Lerr(%rip), %rdi
    call puts_nonl
    movq exc_err(%rip), %rdi
    call puthex
    leaq .Lrip(%rip), %rdi
    call puts_nonl
    movq exc_rip(%rip), %rdi
    call puthex
    leaq .Lcr2(%rip), %rdi
    call puts_nonl
    movq exc_cr2(%rip), %rdi
    call puthex
    movl $'\n', %edi
    call putc
    movl $EXIT_UNEXPECTED, %edi
    jmp exit

    .section .rodata.str, "a"
.Lunexp: .asciz "FAIL unexpected exception: vector "
.Lerr:   .asciz " error "
.Lrip:   .asciz " rip "
.Lcr2:   .asciz " cr2 "

/* ------------------------------------------------------------------- data */
    .data
    .balign 16
    .globl gdt
gdt:
    .quad 0                         /* 0x00 null */
    .quad 0x00af9a000000ffff        /* 0x08 64-bit code, DPL0 (L=1) */
    .quad 0x00cf92000000ffff        /* 0x10 data, DPL0 */
    .quad 0x00cffa000000ffff        /* 0x18 32-bit code, DPL3 (D=1) */
    .quad 0x00cff2000000ffff        /* 0x20 data, DPL3 */
    .quad 0x00affa000000ffff        /* 0x28 64-bit code, DPL3 */
    .quad 0x00cf9a000000ffff        /* 0x30 32-bit code, DPL0 */
    .quad 0x00009a000000ffff        /* 0x38 16-bit code, DPL0, limit 0xFFFF */
    .quad 0x000092000000ffff        /* 0x40 16-bit data, DPL0, limit 0xFFFF */
    .quad 0, 0                      /* 0x48 TSS (filled at start-up) */
gdt_end:
    .globl gdt_desc
    PSEUDO_DESC gdt_desc, gdt, (gdt_end - gdt - 1)

    .globl idt_desc
    PSEUDO_DESC idt_desc, idt, (256 * 16 - 1)

    .balign 16
    .globl tss
tss:
    .fill 104, 1, 0

    .globl start_info_pa
start_info_pa: .long 0

/* Exception record (see rom.h). */
    .balign 8
    .globl exc_vec, exc_err, exc_rip, exc_cs, exc_rflags, exc_rsp, exc_ss
    .globl exc_cr2, exc_frame_top, exc_count, exc_armed, exc_resume
exc_vec:       .quad -1
exc_err:       .quad -1
exc_rip:       .quad 0
exc_cs:        .quad 0
exc_rflags:    .quad 0
exc_rsp:       .quad 0
exc_ss:        .quad 0
exc_cr2:       .quad 0
exc_frame_top: .quad 0
exc_count:     .quad 0
exc_armed:     .quad 0
exc_resume:    .quad 0

/*
 * Page tables (SDM Vol. 3A 4.5, 4-level paging). All upper levels U/S=1,
 * R/W=1; PD entries are 2 MiB pages (PS=1) except entry 1 (pt_low).
 */
    .balign 4096
    .globl pml4, pdpt, pd_ident, pt_low, pd_hi, pt_hi
pml4:
    .quad pdpt + 7
    .fill 511, 8, 0
pdpt:
    .quad pd_ident + 7
    .quad pd_hi + 7
    .fill 510, 8, 0
pd_ident:
    .quad 0x87
    .quad pt_low + 7
    .set i, 2
    .rept 510
    .quad (i << 21) | 0x87
    .set i, i + 1
    .endr
pt_low:
    .set i, 0
    .rept 512
    .quad (0x200000 + (i << 12)) | 7
    .set i, i + 1
    .endr
pd_hi:
    .quad pt_hi + 7
    .fill 511, 8, 0
pt_hi:
    .fill 512, 8, 0

    .balign 4096
    .globl idt
idt:
    .fill 256 * 16, 1, 0

/* ----------------------------------------------------------------- stacks */
    .bss
    .balign 4096
    .skip 16384
    .globl stack_top
stack_top:
    .skip 8192
    .globl rsp0_stack_top
rsp0_stack_top:
    .skip 4096
    .globl ist1_stack_top
ist1_stack_top:
    .skip 64
