/*
 * testroms/bootsector/bootsect.S - a 512-byte PC boot sector that checks
 * the firmware state qtemu provides in place of a BIOS (boot/realmode.c),
 * using only what a BIOS is documented to provide (IBM PC/AT BIOS
 * conventions as in Ralf Brown's Interrupt List):
 *   - entry at 0000:7C00 with DL = 80h (first hard disk);
 *   - INT 10h AH=0Eh teletype (its output reaches COM1 on qtemu);
 *   - INT 12h conventional memory size;
 *   - INT 15h AX=E820h: first entry is RAM at 0 with 'SMAP' returned;
 *   - IRQ0 from the 8254 every 65536 / 1193182 s through the 8259 at
 *     vector 08h: counted by hooking INT 1Ch (the user timer tick the BIOS's
 *     INT 08h calls), and compared with the BIOS tick count at 0040:006C
 *     and with the RTC: the ticks counted during one RTC second must be
 *     9..20. 18.2 Hz gives 18 or 19 on an idle host; the window is wide
 *     because virtual time follows host time and a busy host (CI runs many
 *     emulators at once) delivers timer callbacks late, which merges ticks
 *     (as in QEMU without -icount). A wrong rate (Linux's 100 or 1000 Hz, a
 *     PIT left unprogrammed) still fails; check 7 reads the exact
 *     programming back: 8254 read-back status of channel 0 = mode 2 (rate
 *     generator, as SeaBIOS programs it), lobyte/hibyte, binary.
 * Prints "BS ok" or "BS FAIL n" and writes the verdict to isa-debug-exit
 * (port 0xF4): 0 when all passed, else the failing check's number.
 */
    .code16
    .text
    .globl _start
_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7c00, %sp
    mov %dl, drive
    sti

    mov $msg_hello, %si
    call print

    /* 1: DL = 80h at entry. */
    movb $1, check
    cmpb $0x80, drive
    jne fail

    /* 2: INT 12h returns 512..640 KiB. */
    movb $2, check
    int $0x12
    cmp $512, %ax
    jb fail
    cmp $640, %ax
    ja fail

    /* 3: INT 15h E820, EBX=0: CF clear, EAX='SMAP', ECX>=20, entry 0 = RAM at 0. */
    movb $3, check
    mov $0xe820, %eax
    mov $0x534d4150, %edx
    xor %ebx, %ebx
    mov $20, %ecx
    mov $e820buf, %di
    int $0x15
    jc fail
    cmp $0x534d4150, %eax
    jne fail
    cmp $20, %ecx
    jb fail
    cmpl $0, e820buf
    jne fail
    cmpl $0, e820buf+4
    jne fail
    cmpl $1, e820buf+16
    jne fail

    /* 4: hook INT 1Ch; ticks arrive and the BDA count follows them. */
    movb $4, check
    cli
    movw $tick, 0x1c*4
    movw $0, 0x1c*4+2
    sti
    mov ticks, %ax
1:  hlt
    cmp ticks, %ax
    je 1b

    /* 5: ticks during one RTC second (wait for the seconds to change twice). */
    movb $5, check
    call rtc_sec
    mov %al, %bl
2:  call rtc_sec
    cmp %al, %bl
    je 2b
    mov %al, %bl
    mov ticks, %cx
    mov 0x46c, %si
3:  call rtc_sec
    cmp %al, %bl
    je 3b
    mov ticks, %ax
    sub %cx, %ax
    cmp $9, %ax
    jb fail
    cmp $20, %ax
    ja fail
    /* 6: the BIOS tick count advanced by the same amount. */
    movb $6, check
    mov 0x46c, %dx
    sub %si, %dx
    sub %ax, %dx
    cmp $1, %dx
    jg fail
    cmp $-1, %dx
    jl fail

    /* 7: 8254 read-back (datasheet "Read-Back Command"): channel 0 status
     *    = RW lobyte/hibyte (11), mode 2 (010), binary: low 6 bits 110100b,
     *    as SeaBIOS's pit_setup leaves it. */
    movb $7, check
    mov $0xe2, %al
    out %al, $0x43
    in $0x40, %al
    and $0x3f, %al
    cmp $0x34, %al
    jne fail

    mov $msg_ok, %si
    call print
    xor %al, %al
    jmp done

fail:
    mov $msg_fail, %si
    call print
    mov check, %al
    add $'0', %al
    mov $0x0e, %ah
    int $0x10
    mov $'\n', %al
    int $0x10
    mov check, %al
done:
    out %al, $0xf4
4:  hlt
    jmp 4b

/* User timer tick (INT 1Ch, called by the BIOS's INT 08h). */
tick:
    incw %cs:ticks
    iret

/* AL = RTC seconds (MC146818 register 0), waiting out an update in progress. */
rtc_sec:
    mov $0x0a, %al
    out %al, $0x70
    in $0x71, %al
    test $0x80, %al
    jnz rtc_sec
    xor %al, %al
    out %al, $0x70
    in $0x71, %al
    ret

/* Print the NUL-terminated string at DS:SI with INT 10h AH=0Eh. */
print:
    lodsb
    test %al, %al
    jz 1f
    mov $0x0e, %ah
    int $0x10
    jmp print
1:  ret

msg_hello: .asciz "BS hello from 0000:7C00\n"
msg_ok:    .asciz "BS ok\n"
msg_fail:  .asciz "BS FAIL "
drive:     .byte 0
check:     .byte 0
ticks:     .word 0
e820buf:   .fill 20, 1, 0

    .org 510
    .byte 0x55, 0xaa
