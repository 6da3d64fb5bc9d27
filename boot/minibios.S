/*
 * boot/minibios.S - source of the mini-BIOS bytes in boot/realmode.c: the
 * real-mode interrupt handlers qtemu provides in place of a BIOS, placed at
 * FF00:0000 (physical 0xFF000, org 0). Not built by the GNUmakefile: the
 * bytes are in realmode.c, and tests/unit/test_multiboot.c assembles this
 * file (gcc -m32 -c; objcopy -O binary -j .text) and checks they agree.
 *
 * Header: nine 16-bit offsets (handlers, then where the board writes the
 * e820 entry count and table). Handlers (IBM PC/AT BIOS conventions, as
 * Ralf Brown's Interrupt List and SeaBIOS implement them):
 *   INT 08h  IRQ0: tick count at 0040:006C (+1, wraps at 0x1800B0 setting
 *            the midnight flag 0040:0070), calls INT 1Ch, EOI to the master
 *   INT 10h  AH=0Eh teletype: AL to COM1 (0x3F8) once THR is empty; other
 *            functions return unchanged
 *   INT 12h  AX = conventional memory in KiB (0040:0013)
 *   INT 15h  EAX=E820h, EDX='SMAP', ECX>=20: entry EBX to ES:DI, EBX =
 *            next (0 after the last), EAX='SMAP', ECX=20, CF=0;
 *            anything else: AH=86h, CF=1 (unsupported)
 *   default  IRET; IRQ1-7 / IRQ8-15 defaults send EOI first
 */
    .code16
    .text
hdr:
    .word int_default       /* +0  */
    .word int08             /* +2  */
    .word int10             /* +4  */
    .word int12             /* +6  */
    .word int15             /* +8  */
    .word irq_master        /* +10 */
    .word irq_slave         /* +12 */
    .word e820_count        /* +14 */
    .word e820_table        /* +16 */

int_default:
    iret

int08:
    push %ds
    push %ax
    mov $0x40, %ax
    mov %ax, %ds
    addw $1, 0x6c
    adcw $0, 0x6e
    cmpw $0x18, 0x6e
    jb 1f
    cmpw $0xb0, 0x6c
    jb 1f
    movw $0, 0x6c
    movw $0, 0x6e
    movb $1, 0x70
1:  int $0x1c
    mov $0x20, %al
    out %al, $0x20
    pop %ax
    pop %ds
    iret

int10:
    cmp $0x0e, %ah
    jne 3f
    push %ax
    push %cx
    push %dx
    mov $0x3fd, %dx
    mov $0xffff, %cx
1:  in %dx, %al
    test $0x20, %al
    jnz 2f
    loop 1b
2:  pop %dx
    pop %cx
    pop %ax
    push %dx
    mov $0x3f8, %dx
    out %al, %dx
    pop %dx
3:  iret

int12:
    push %ds
    push $0x40
    pop %ds
    mov 0x13, %ax
    pop %ds
    iret

int15:
    cmp $0xe820, %eax
    jne 8f
    cmp $0x534d4150, %edx
    jne 8f
    cmp $20, %ecx
    jb 8f
    cmp %cs:e820_count, %ebx
    jae 8f
    push %ds
    push %si
    push %di
    push %cx
    push %cs
    pop %ds
    imul $20, %bx, %si
    add $e820_table, %si
    mov $10, %cx
    cld
    rep movsw
    pop %cx
    pop %di
    pop %si
    pop %ds
    inc %ebx
    cmp %cs:e820_count, %ebx
    jb 1f
    xor %ebx, %ebx
1:  mov $0x534d4150, %eax
    mov $20, %ecx
    push %bp
    mov %sp, %bp
    andb $0xfe, 6(%bp)
    pop %bp
    iret
8:  mov $0x86, %ah
    push %bp
    mov %sp, %bp
    orb $1, 6(%bp)
    pop %bp
    iret

irq_master:
    push %ax
    mov $0x20, %al
    out %al, $0x20
    pop %ax
    iret

irq_slave:
    push %ax
    mov $0x20, %al
    out %al, $0xa0
    out %al, $0x20
    pop %ax
    iret

    .balign 4
e820_count:
    .long 0
e820_table:
