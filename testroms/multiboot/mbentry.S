/*
 * testroms/multiboot/mbentry.S - Multiboot header and 32-bit entry of the
 * multiboot test kernel (mbtest.c).
 *
 * Multiboot Specification 0.6.96: 3.1.1 header (magic 0x1BADB002, flags,
 * checksum; with -DAOUT_KLUDGE flags bit 16 and the address fields of
 * 3.1.3, so a flat binary loads too), 3.2 machine state at entry (EAX =
 * 0x2BADB002, EBX = info, 32-bit protected mode, paging off; "the OS image
 * must create its own GDT", so we load one before touching segments).
 * IDT (SDM Vol. 3A 6.11): every vector to `unexpected`, vector 0x25 (ISA
 * IRQ5 once the 8259 is moved to 0x20) to `irq5_stub`.
 */
#define MB_MAGIC 0x1BADB002
#ifdef AOUT_KLUDGE
#define MB_FLAGS 0x00010003     /* page-align modules, memory info, a.out kludge */
#else
#define MB_FLAGS 0x00000003     /* page-align modules, memory info */
#endif

    .section .text.boot, "ax"
    .code32
    .balign 4
mb_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
    .long mb_header             /* header_addr */
    .long _start_image          /* load_addr */
    .long _edata                /* load_end_addr */
    .long _end                  /* bss_end_addr */
    .long _start                /* entry_addr */
#endif

    .globl _start
_start:
    cli
    cld
    movl %eax, mb_magic
    movl %ebx, mb_info
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  movl $0x10, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $stack_top, %esp

    /* IDT: 256 interrupt gates (type 0xE, P, DPL0), selector 0x08. */
    xorl %ecx, %ecx
2:  movl $unexpected, %eax
    cmpl $0x25, %ecx
    jne 3f
    movl $irq5_stub, %eax
3:  movw %ax, idt(,%ecx,8)
    movw $0x08, idt+2(,%ecx,8)
    movw $0x8e00, idt+4(,%ecx,8)
    shrl $16, %eax
    movw %ax, idt+6(,%ecx,8)
    incl %ecx
    cmpl $256, %ecx
    jb 2b
    lidt idt_desc

    pushl mb_info
    pushl mb_magic
    call mb_main
    /* mb_main returns the exit code for isa-debug-exit. */
    movw $0xf4, %dx
    outb %al, %dx
4:  hlt
    jmp 4b

irq5_stub:
    pushal
    call irq5_handler
    popal
    iret

unexpected:
    call unexpected_interrupt
5:  hlt
    jmp 5b

    .data
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08 flat 32-bit code */
    .quad 0x00cf92000000ffff    /* 0x10 flat data */
gdt_end:
    .balign 4
    .word 0
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
    .balign 4
    .word 0
idt_desc:
    .word 256 * 8 - 1
    .long idt
    .globl mb_magic, mb_info
mb_magic: .long 0
mb_info:  .long 0

    .bss
    .balign 4096
idt:
    .skip 256 * 8
    .skip 16384
stack_top:
