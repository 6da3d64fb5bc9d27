/*
 * testroms/x86_64/pm16.S - 16-bit protected mode and the instructions that
 * exist only outside 64-bit mode. From 64-bit mode the ROM goes to legacy
 * 32-bit protected mode (lib.S run_legacy32) and runs code in a 16-bit code
 * segment (D=0) on 16-bit data/stack segments (B=0), then reports from
 * 64-bit mode. Checked against:
 *  - SDM Vol. 1 3.6 / Vol. 2A 2.1.5 Table 2-1: 16-bit operand and address
 *    size from CS.D=0; [BX+SI], [BX+DI+disp], [BP+SI] (default segment SS),
 *    [disp16] forms; the 16-bit effective address wraps at 64 KiB; an
 *    address-size prefix (67) gives 32-bit addressing without the wrap.
 *  - SDM Vol. 3A 5.3: every byte of an instruction fetched must be within
 *    the CS limit, else #GP(0) at that instruction.
 *  - SDM Vol. 3A 3.4.5 / 5.3 "Limit Checking": expand-up segments allow
 *    offsets 0..limit (every byte of an access); expand-down with B=0 allows
 *    limit+1..FFFFH, with B=1 limit+1..FFFFFFFFH; a violation through DS/ES
 *    is #GP(0), through SS (BP-based address, PUSH) #SS(0) (6.15).
 *  - SDM Vol. 2B PUSH/POP/PUSHA/POPA, ENTER/LEAVE, RET imm16, Vol. 1 6.2:
 *    the stack-address size is SS.B (SP wraps from 0 to FFFEH, also on an
 *    expand-down B=0 stack); 66 PUSH (imm, Sreg) in 16-bit code moves SP
 *    by 4, 66 CALL/RET rel32 push/pop EIP as a doubleword.
 *  - 16-bit address size for string instructions (SI/DI wrap, a word at
 *    FFFFH faults), XLAT, LOOP/JCXZ (CX, not ECX), JMP r16 (IP = low 16
 *    bits), LSS m16:16 and 66 LDS m16:32; LIDT with a 16-bit operand size
 *    loads a 24-bit base (Vol. 2A LGDT/LIDT).
 *  - SDM Vol. 3A 6.12.1 and Figure 6-4: a 16-bit interrupt gate (type 6) or
 *    trap gate (type 7) pushes FLAGS, CS, IP as words; an interrupt gate
 *    clears IF, a trap gate does not (6.12.1.3); a 32-bit gate (type E)
 *    pushes doublewords even from 16-bit code, a 16-bit gate to a 32-bit
 *    code segment pushes words; INTO (trap: IP after it) and BOUND (#BR,
 *    fault) through 16-bit gates; 6.13: the error code is
 *    pushed as a word or doubleword "depending on the default interrupt,
 *    trap, or task gate size"; a fault's saved IP is the faulting
 *    instruction; IRET with the 16/32-bit operand size pops the frame.
 *  - SDM Vol. 2A CALL/JMP, Vol. 2B RET (far): the operand size (66) decides
 *    ptr16:16 vs ptr16:32 and whether CS:IP are pushed/popped as words or
 *    doublewords, between 16- and 32-bit code segments; a far JMP whose
 *    offset is beyond the new CS limit is #GP(0).
 *  - SDM Vol. 2A ARPL: raises the destination RPL to the source RPL and sets
 *    ZF, else clears ZF; 16-bit operand only; #GP(0) for a memory
 *    destination in a non-writable segment.
 *  - SDM Vol. 2A LAR / LSL (tables of valid system types in protected mode
 *    and IA-32e mode), VERR / VERW: ZF and the destination (unchanged when
 *    ZF=0); LAR returns bits 23:8 of the second doubleword (19:16 undefined,
 *    not checked), only 15:8 with a 16-bit operand size; LSL the byte
 *    granular limit, truncated to 16 bits with a 16-bit operand size.
 */
#include "rom.h"

#define AREA      0x300000          /* base of the 16-bit data segments */
#define IDT_OFF   0x9000            /* legacy IDT at AREA + IDT_OFF */
#define IDT_VECS  0x44
#define GATE13_32 0x9400            /* 8-byte gate images for vector 13 */
#define GATE13_16 0x9408
#define R_RESUME  0x9410            /* word: IP the 16-bit handlers resume at */
#define R_UNEXP   0x9414            /* dword: vector of an unexpected exception */
#define R_DONE    0x9418            /* word: 600DH when the 16-bit code ran through */
#define R_BACK32  0x941c            /* dword: 32-bit code after the far JMP back */
#define R_EFER    0x9420            /* dword: EFER in legacy protected mode */
#define R_CR0     0x9424
#define TBL       0x2000            /* 16-bit addressing pattern table */
#define S(n)      (0x8000+(n)*16)   /* result slots, 16 bytes each */
#define STACK16   0x7000
#define AREA_ARPL 0x3000          /* ARPL memory operand */

/* Selectors: start.S's GDT (copied, 0x00-0x57) + these. */
#define S_CODE16   0x58             /* 16-bit code, base blob16, limit FFFFH */
#define S_CODE32B  0x60             /* 32-bit code, base blob16, limit FFFFH */
#define S_DATA16   0x68             /* data RW, base AREA, limit FFFFH, B=0 */
#define S_DATA16B  0x70             /* data RW, base AREA+1000H, limit FFFFH, B=0 */
#define S_SMALL    0x78             /* data RW, base AREA, limit 0FFFH, B=0 */
#define S_DOWN16   0x80             /* expand-down RW, base AREA, limit 0FFFH, B=0 */
#define S_DOWN32   0x88             /* expand-down RW, base AREA, limit 0FFFH, B=1 */
#define S_TSS16    0x90             /* type 1: available 16-bit TSS, limit 2BH */
#define S_LDT      0x98             /* type 2: LDT, limit 17H */
#define S_TSS16B   0xa0             /* type 3: busy 16-bit TSS, limit 2BH */
#define S_CGATE16  0xa8             /* type 4: 16-bit call gate, DPL3 */
#define S_TGATE    0xb0             /* type 5: task gate */
#define S_IGATE16  0xb8             /* type 6: 16-bit interrupt gate */
#define S_TSS32    0xc0             /* type 9: available 32-bit TSS, limit 67H */
#define S_CGATE32  0xc8             /* type C: 32-bit call gate */
#define S_RES8     0xd0             /* type 8: reserved */
#define S_CONF     0xd8             /* conforming readable code, DPL0, G=1 D=1 */
#define S_XONLY    0xe0             /* execute-only code, DPL0 */
#define S_RODATA   0xe8             /* read-only data, DPL0, limit 1234H */
#define S_DATA3    0xf0             /* data RW, DPL3, G=1 B=1 AVL=1 */
#define S_CODE16S  0xf8             /* 16-bit code, base blob16, limit lim_code+2 */
#define GDT_END    0x100

#define OFF16(x)   ((x)-blob16)   /* offset inside S_CODE16 / S_CODE32B */

/* 8-byte segment descriptor (SDM Vol. 3A Figure 3-8); flags = G D/B L AVL. */
.macro SEGD base:req, limit:req, access:req, flags:req
    .word (\limit) & 0xffff
    .word (\base) & 0xffff
    .byte ((\base) >> 16) & 0xff
    .byte \access
    .byte (((\limit) >> 16) & 0xf) | ((\flags) << 4)
    .byte ((\base) >> 24) & 0xff
.endm

/* 64-bit side: a dword / word / byte result in AREA. */
.macro CHK32 off:req, desc:req, exp:req
    movl AREA + (\off), %eax
    CHECK "\desc", \exp
.endm
.macro CHK16 off:req, desc:req, exp:req
    movzwl AREA + (\off), %eax
    CHECK "\desc", \exp
.endm
/* LAR result: bits 19:16 are undefined (Vol. 2A LAR), not compared. */
.macro CHK_LAR off:req, desc:req, exp:req
    movl AREA+(\off), %eax
    andl $0xfff0ffff, %eax
    CHECK "\desc", \exp
.endm
.macro CHK8 off:req, desc:req, exp:req
    movzbl AREA + (\off), %eax
    CHECK "\desc", \exp
.endm
/* Exception slot written by h16_exc: +0 SP at entry, +2 error code, +4 IP,
 * +6 CS, +8 FLAGS, +10 vector (FFFFH: no exception). */
.macro CHK_EXC slot:req, desc:req, vec:req, err:req
    CHK16 (\slot)+10, "\desc: vector", \vec
    .if \vec != 0xffff
    CHK16 (\slot)+2, "\desc: error code (word)", \err
    .endif
.endm

    .text
    .code64
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED
    MASK_8259                      /* mask the 8259s: INT tests run with IF=1 */

    movq $AREA, %rdi                /* AREA: 0 below the results, all ones from 8000H */
    xorl %eax, %eax
    movl $0x8000 / 8, %ecx
    rep stosq
    movq $-1, %rax
    movl $0x9000 / 8, %ecx
    rep stosq
    movl $0, AREA + R_UNEXP - 4     /* (slot before R_UNEXP unused) */
    movl $-1, AREA + R_UNEXP
    movq $AREA + TBL, %rdi          /* table: word at TBL + 2k = A000H + k */
    movl $0xa000, %eax
    movl $64, %ecx
1:  stosw
    incl %eax
    decl %ecx
    jnz 1b
    movw $0x5a5a, AREA + 0x0010     /* reached by the wrapped [BX+SI] */
    movw $0xc3c3, AREA + 0xfffe     /* reached by [BX-2], BX=0 */
    movw $0x7e7e, AREA + 0x1000 + TBL + 0x10    /* [BP+SI] through SS=S_DATA16B */
    movw $0x0028, AREA + 0x3000     /* ARPL memory operand (RPL 0) */

    leaq gdt(%rip), %rsi            /* pgdt = start.S's GDT + the test entries */
    leaq pgdt(%rip), %rdi
    movl $S_CODE16, %ecx
    rep movsb

/* ---------------------------------------------- LAR / LSL in IA-32e mode */
    lgdt pgdt_desc64(%rip)
    movl $0xdeadbeef, %eax
    movw $S_TSS16, %cx
    lar %cx, %eax
    CHECK_FLAGS "IA-32e LAR, type 1 (16-bit TSS): invalid, ZF=0", F_ZF, 0
    CHECK "IA-32e LAR, invalid type: destination unchanged", 0xdeadbeef
    movw $S_LDT, %cx
    lar %cx, %eax
    CHECK_FLAGS "IA-32e LAR, type 2 (LDT): invalid (SDM LAR table), ZF=0", F_ZF, 0
    movw $S_CGATE16, %cx
    lar %cx, %eax
    CHECK_FLAGS "IA-32e LAR, type 4 (16-bit call gate): invalid, ZF=0", F_ZF, 0
    movw $S_TGATE, %cx
    lar %cx, %eax
    CHECK_FLAGS "IA-32e LAR, type 5 (task gate): invalid, ZF=0", F_ZF, 0
    movw $S_TSS32, %cx
    lar %cx, %eax
    CHECK_FLAGS "IA-32e LAR, type 9 (64-bit TSS): ZF=1", F_ZF, F_ZF
    andl $0xfff0ffff, %eax
    CHECK "IA-32e LAR, type 9: access rights", 0x8900
    movw $S_CGATE32, %cx
    lar %cx, %eax
    CHECK_FLAGS "IA-32e LAR, type C (64-bit call gate): ZF=1", F_ZF, F_ZF
    andl $0xfff0ffff, %eax
    CHECK "IA-32e LAR, type C: access rights", 0x8c00
    movl $0xdeadbeef, %eax
    movw $S_TSS16, %cx
    lsl %cx, %eax
    CHECK_FLAGS "IA-32e LSL, type 1 (16-bit TSS): invalid, ZF=0", F_ZF, 0
    movw $S_LDT, %cx
    lsl %cx, %eax
    CHECK_FLAGS "IA-32e LSL, type 2 (LDT): ZF=1", F_ZF, F_ZF
    CHECK "IA-32e LSL, LDT limit", 0x17
    movw $S_CGATE32, %cx
    lsl %cx, %eax
    CHECK_FLAGS "IA-32e LSL, type C (call gate): invalid, ZF=0", F_ZF, 0
    lgdt gdt_desc(%rip)

/* ---------------------------------------------- legacy protected mode */
    movl $pm32_main, %edi
    call run_legacy32
    PRINT "back in 64-bit mode"

    CHK32 R_UNEXP, "no unexpected exception in legacy mode", 0xffffffff
    CHK32 R_EFER, "legacy protected mode: EFER.LMA=0, LME=0", 0
    CHK32 R_CR0, "legacy protected mode: CR0.PG=0, PE=1", 1
    CHK16 R_DONE, "16-bit code ran to the end", 0x600d
    CHK32 R_BACK32, "JMP ptr16:32 (66 EA) from 16-bit code to 32-bit code", 0x3232

    /* 16-bit addressing */
    CHK16 S(0), "[BX+SI] (BX=2000H SI=10H)", 0xa008
    CHK16 S(0)+2, "[BX+DI+4] (DI=20H)", 0xa012
    CHK16 S(0)+4, "[BP+SI]: default segment SS (base AREA+1000H)", 0x7e7e
    CHK16 S(0)+6, "[BP+SI] with DS: override", 0xa018
    CHK16 S(0)+8, "[BX+SI] wraps: FFF0H+20H = 0010H", 0x5a5a
    CHK16 S(0)+10, "[BX-2] with BX=0 wraps to FFFEH", 0xc3c3
    CHK16 S(0)+12, "LEA [BX+SI] wraps to 16 bits", 0x0010
    CHK16 S(0)+14, "[disp16] (moffs form)", 0xa001
    CHK_EXC S(1), "67 [EBX+ESI] = 10010H beyond limit FFFFH: #GP(0)", 13, 0
    CHK16 S(1)+4, "67 [EBX+ESI] #GP: IP = the faulting instruction", OFF16(f_a32)
    CHK16 S(1)+6, "16-bit gate frame: CS", S_CODE16
    /* limits, expand-up limit 0FFFH via ES */
    CHK_EXC S(2), "ES limit 0FFFH: word at 0FFEH", 0xffff, 0
    CHK_EXC S(3), "ES limit 0FFFH: word at 0FFFH (crosses)", 13, 0
    CHK_EXC S(4), "ES limit 0FFFH: [BX+SI] = 1000H", 13, 0
    CHK_EXC S(5), "ES limit 0FFFH: [BX+SI] = FFFFH+2 wraps to 0001H", 0xffff, 0
    CHK_EXC S(6), "SS limit 0FFFH: [BP+SI] = 1000H: #SS(0)", 12, 0
    CHK16 S(6), "#SS through a 16-bit gate: 8 bytes pushed (FLAGS CS IP error)", 0x0f00-8
    CHK16 S(6)+4, "#SS: IP = the faulting instruction", OFF16(f_ss)
    /* expand-down, B=0 and B=1 */
    CHK_EXC S(7), "expand-down B=0 limit 0FFFH: byte at 0FFFH", 13, 0
    CHK_EXC S(8), "expand-down B=0: byte at 1000H", 0xffff, 0
    CHK_EXC S(9), "expand-down B=0: byte at FFFFH", 0xffff, 0
    CHK_EXC S(10), "expand-down B=0: word at FFFFH (upper bound FFFFH)", 13, 0
    CHK_EXC S(11), "expand-down B=1: word at FFFFH", 0xffff, 0
    /* 16-bit stack */
    CHK16 S(12), "PUSH imm16 with SP=0: SP wraps to FFFEH", 0xfffe
    CHK16 S(12)+2, "PUSH imm16 with SP=0: stored at SS:FFFEH", 0x1234
    CHK16 S(12)+4, "POP with SP=FFFEH: SP wraps to 0", 0
    CHK16 S(12)+6, "POP with SP=FFFEH: value", 0x1234
    CHK16 S(12)+8, "66 PUSH imm32 in 16-bit code: SP - 4", 0x00fc
    CHK32 S(12)+10, "66 PUSH imm32: doubleword stored", 0x89abcdef
    CHK16 S(13), "66 POP r32: SP + 4", 0x0100
    CHK32 S(13)+2, "66 POP r32: value", 0x89abcdef
    CHK16 S(13)+6, "PUSH r16: SP - 2", 0x00fe
    CHK_EXC S(14), "66 PUSH with SP=2 (FFFEH..10001H): #SS(0)", 12, 0
    CHK16 S(14), "#SS frame pushed from SP=2 wraps: SP=FFFAH", 0xfffa
    CHK16 S(14)+4, "66 PUSH #SS: IP = the PUSH", OFF16(f_push)
    CHK16 S(13)+8, "SP unchanged after the faulting PUSH", 2
    /* interrupts through 16-bit gates */
    CHK16 S(15), "INT 40H (16-bit interrupt gate): SP - 6", (STACK16-6)
    CHK16 S(15)+2, "16-bit gate: pushed IP = next instruction", OFF16(after_int40)
    CHK16 S(15)+4, "16-bit gate: pushed CS", S_CODE16
    CHK16 S(15)+6, "16-bit gate: pushed FLAGS (IF=1)", 0x0202
    CHK16 S(15)+8, "16-bit interrupt gate: handler runs with IF=0", 0x0002
    CHK16 S(15)+10, "16-bit IRET: FLAGS restored (IF=1)", 0x0202
    CHK16 S(15)+12, "16-bit IRET: SP restored", (STACK16)
    CHK16 S(16), "INT 41H (16-bit trap gate): SP - 6", (STACK16-6)
    CHK16 S(16)+2, "16-bit trap gate: pushed IP", OFF16(after_int41)
    CHK16 S(16)+6, "16-bit trap gate: pushed FLAGS", 0x0202
    CHK16 S(16)+8, "16-bit trap gate: handler runs with IF=1", 0x0202
    CHK16 S(17), "INT 42H (32-bit gate) from 16-bit code: SP - 12", (STACK16-12)
    CHK32 S(17)+2, "32-bit gate: EIP doubleword", OFF16(after_int42)
    CHK16 S(17)+6, "32-bit gate: CS", S_CODE16
    CHK32 S(17)+8, "32-bit gate: EFLAGS doubleword (RF ignored)", 0x0202
    CHK16 S(17)+12, "32-bit interrupt gate: handler runs with IF=0", 0
    CHK16 S(17)+14, "IRETD back to 16-bit code: SP restored", (STACK16)
    CHK16 S(18), "#GP through a 32-bit gate from 16-bit code: SP - 16", (STACK16-16)
    CHK16 S(18)+2, "32-bit gate #GP: error code (low word)", 0
    CHK32 S(18)+4, "32-bit gate #GP: EIP = the faulting instruction", OFF16(f_gp32)
    CHK16 S(18)+8, "32-bit gate #GP: CS", S_CODE16
    CHK32 S(18)+10, "32-bit gate #GP: EFLAGS (RF ignored)", 0x0002
    /* far transfers */
    CHK16 S(19), "CALL ptr16:16 to 32-bit code: SP - 4", (STACK16-4)
    CHK16 S(19)+2, "CALL ptr16:16: pushed IP", OFF16(after_callw32)
    CHK16 S(19)+4, "CALL ptr16:16: pushed CS", S_CODE16
    CHK16 S(19)+6, "66 RETF (16-bit) from 32-bit code: SP restored", (STACK16)
    CHK16 S(20), "66 CALL ptr16:32 from 16-bit code: SP - 8", (STACK16-8)
    CHK32 S(20)+2, "66 CALL ptr16:32: pushed EIP doubleword", OFF16(after_calll32)
    CHK16 S(20)+6, "66 CALL ptr16:32: pushed CS (low word)", S_CODE16
    CHK16 S(20)+8, "RETF (32-bit) to 16-bit code: SP restored", (STACK16)
    CHK16 S(21), "66 CALL ptr16:16 from 32-bit code to 16-bit: SP - 4", (STACK16-4-4)
    CHK16 S(21)+2, "66 CALL ptr16:16 from 32-bit: pushed IP", OFF16(after_c16w)
    CHK16 S(21)+4, "66 CALL ptr16:16 from 32-bit: pushed CS", S_CODE32B
    CHK16 S(21)+6, "CALL ptr16:32 from 32-bit code to 16-bit: SP - 8", (STACK16-4-8)
    CHK32 S(21)+8, "CALL ptr16:32 from 32-bit: pushed EIP", OFF16(after_c16l)
    CHK16 S(21)+12, "66 RETF in 16-bit code back to 32-bit: SP restored", (STACK16-4)
    CHK_EXC S(22), "66 JMP ptr16:32 offset 12345H beyond CS limit FFFFH: #GP(0)", 13, 0
    CHK16 S(22)+4, "far JMP #GP: IP = the JMP", OFF16(f_jmp)
    CHK16 S(38), "66 CALL rel32 in 16-bit code: SP - 4", (STACK16-4)
    CHK32 S(38)+2, "66 CALL rel32: return EIP pushed as a doubleword", OFF16(after_near32)
    CHK16 S(38)+6, "66 RET: SP + 4", (STACK16)
    CHK32 S(39)+10, "LIDT o16: base[31:24] = 0 (24-bit base)", (AREA+IDT_OFF)
    CHK16 S(39)+8, "LIDT o16: limit", (IDT_VECS*8-1)
    CHK16 S(41), "16-bit gate to a 32-bit code segment: SP - 6", (STACK16-6)
    CHK16 S(41)+2, "16-bit gate to 32-bit code: IP word", OFF16(after_int43)
    CHK16 S(41)+4, "16-bit gate to 32-bit code: CS word", S_CODE16
    CHK16 S(42)+10, "INTO with OF=1 through a 16-bit gate: vector 4", 4
    CHK16 S(42), "INTO: 6 bytes pushed", (STACK16-6)
    CHK16 S(42)+4, "INTO (trap): IP = next instruction", OFF16(after_into)
    CHK16 S(43)+10, "BOUND 30H outside [10H,20H]: #BR", 5
    CHK16 S(43)+4, "BOUND #BR (fault): IP = the BOUND", OFF16(f_bound)
    CHK16 S(44)+10, "BOUND 20H inside [10H,20H] (upper bound inclusive)", 0xffff
    CHK16 S(45), "REP MOVSB: SI wraps FFFFH -> 0001H", 0x0001
    CHK16 S(45)+2, "REP MOVSB: DI", 0x4002
    CHK16 S(45)+4, "REP MOVSB across the wrap: bytes at FFFFH, 0000H", 0x2211
    CHK32 S(45)+6, "REP MOVSB: ECX = 0", 0
    CHK_EXC S(46), "LODSW at SI=FFFFH (limit FFFFH): #GP(0)", 13, 0
    CHK8 S(45)+10, "LOOP with ECX=10001H: CX -> 0, not taken", 1
    CHK32 S(45)+12, "LOOP: only CX decremented", 0x10000
    CHK8 S(47), "JCXZ with ECX=10000H: taken", 0
    CHK8 S(47)+1, "JMP r/m16: IP = AX[15:0]", 0
    CHK16 S(47)+2, "RET imm16: SP + 2 + 4", (STACK16+4)
    CHK16 S(47)+4, "RETF imm16 (16-bit): SP + 4 + 4", (STACK16)
    CHK16 S(47)+6, "66 PUSH DS in 16-bit code: SP - 4", (STACK16-4)
    CHK16 S(47)+8, "66 PUSH DS: selector in the low word", S_DATA16
    CHK16 S(48), "ENTER 8,0: SP", (STACK16-2-8)
    CHK16 S(48)+2, "ENTER 8,0: BP = frame", (STACK16-2)
    CHK16 S(48)+4, "ENTER: old BP pushed", 0x1234
    CHK16 S(48)+6, "LEAVE: SP", (STACK16)
    CHK16 S(48)+8, "LEAVE: BP restored", 0x1234
    CHK16 S(48)+10, "ENTER 4,1: SP", (STACK16-4-4)
    CHK16 S(48)+12, "ENTER 4,1: BP = frame", (STACK16-2)
    CHK16 S(48)+14, "ENTER 4,1: frame pointer pushed", (STACK16-2)
    CHK16 S(49), "PUSHA with SP=4: SP wraps to FFF4H", 0xfff4
    CHK16 S(49)+2, "PUSHA: original SP stored at FFFAH", 4
    CHK16 S(49)+4, "PUSHA: AX stored at 0002H", 0xaaaa
    CHK16 S(49)+6, "POPA: SP back to 4", 4
    CHK16 S(49)+8, "expand-down B=0 stack: PUSH with SP=0 -> FFFEH", 0xfffe
    CHK16 S(49)+10, "expand-down B=0 stack: value", 0x4321
    CHK8 S(49)+12, "XLAT: BX=FFFFH + AL=2 wraps to 0001H", 0x99
    CHK16 S(51), "LSS m16:16: SP", 0x6000
    CHK16 S(51)+2, "LSS m16:16: SS", S_DATA16
    CHK32 S(51)+4, "66 LDS m16:32: EBX", 0x12345
    CHK16 S(51)+8, "66 LDS m16:32: DS (selector after the dword)", S_DATA16B
    CHK_EXC S(52), "instruction crossing the CS limit: #GP(0)", 13, 0
    CHK16 S(52)+4, "CS limit #GP: IP = the crossing instruction (NOP before it ran)", OFF16(lim_code)+1
    CHK16 S(52)+6, "CS limit #GP: CS", S_CODE16S
    /* ARPL */
    CHK16 S(23), "ARPL RPL 1 < 3: destination RPL raised", 0x0013
    CHK8 S(23)+2, "ARPL adjusting: ZF=1", 1
    CHK16 S(23)+4, "ARPL RPL 3 >= 1: destination unchanged", 0x0013
    CHK8 S(23)+6, "ARPL not adjusting: ZF=0", 0
    CHK32 S(23)+8, "66 ARPL: still 16-bit, EAX[31:16] kept", 0xabcd0012
    CHK16 AREA_ARPL, "ARPL on memory: RPL raised", 0x002b
    CHK8 S(24), "ARPL on memory: ZF=1", 1
    CHK_EXC S(25), "ARPL to a read-only data segment: #GP(0)", 13, 0
    /* LAR / LSL / VERR / VERW in legacy protected mode */
    CHK_LAR S(26), "LAR type 1 (16-bit TSS)", 0x8100
    CHK8 S(26)+4, "LAR type 1: ZF=1", 1
    CHK_LAR S(26)+8, "LAR type 2 (LDT)", 0x8200
    CHK8 S(26)+12, "LAR type 2: ZF=1", 1
    CHK_LAR S(27), "LAR type 3 (busy 16-bit TSS)", 0x8300
    CHK8 S(27)+4, "LAR type 3: ZF=1", 1
    CHK_LAR S(27)+8, "LAR type 4 (16-bit call gate, DPL3)", 0xe400
    CHK8 S(27)+12, "LAR type 4: ZF=1", 1
    CHK_LAR S(28), "LAR type 5 (task gate)", 0x8500
    CHK8 S(28)+4, "LAR type 5: ZF=1", 1
    CHK32 S(28)+8, "LAR type 6 (16-bit interrupt gate): unchanged", 0xdeadbeef
    CHK8 S(28)+12, "LAR type 6: ZF=0", 0
    CHK_LAR S(29), "LAR type 9 (32-bit TSS)", 0x8900
    CHK8 S(29)+4, "LAR type 9: ZF=1", 1
    CHK_LAR S(29)+8, "LAR type C (32-bit call gate)", 0x8c00
    CHK8 S(29)+12, "LAR type C: ZF=1", 1
    CHK32 S(30), "LAR type 8 (reserved): unchanged", 0xdeadbeef
    CHK8 S(30)+4, "LAR type 8: ZF=0", 0
    CHK_LAR S(30)+8, "LAR conforming code with RPL 3: G D/B P DPL S type", 0x00c09e00
    CHK8 S(30)+12, "LAR conforming code, RPL > DPL: ZF=1", 1
    CHK32 S(31), "LAR data DPL0 with RPL 3: unchanged", 0xdeadbeef
    CHK8 S(31)+4, "LAR data, RPL 3 > DPL 0: ZF=0", 0
    CHK_LAR S(31)+8, "LAR data DPL3: G B AVL P DPL S type", 0x00d0f200
    CHK8 S(31)+12, "LAR data DPL3: ZF=1", 1
    CHK32 S(32), "LAR r16: only bits 15:8, EAX[31:16] kept", 0xdead8900
    CHK8 S(32)+4, "LAR null selector: ZF=0", 0
    CHK8 S(32)+5, "LAR selector beyond the GDT limit: ZF=0", 0
    CHK32 S(33), "LSL type 1 (16-bit TSS)", 0x2b
    CHK8 S(33)+4, "LSL type 1: ZF=1", 1
    CHK32 S(33)+8, "LSL type 3 (busy 16-bit TSS)", 0x2b
    CHK8 S(33)+12, "LSL type 3: ZF=1", 1
    CHK32 S(34), "LSL type 4 (call gate): unchanged", 0xdeadbeef
    CHK8 S(34)+4, "LSL type 4: ZF=0", 0
    CHK32 S(34)+8, "LSL type 5 (task gate): unchanged", 0xdeadbeef
    CHK8 S(34)+12, "LSL type 5: ZF=0", 0
    CHK32 S(35), "LSL type 2 (LDT)", 0x17
    CHK8 S(35)+4, "LSL type 2: ZF=1", 1
    CHK32 S(35)+8, "66 LSL G=1 limit FFFFFH: FFFFFFFFH", 0xffffffff
    CHK32 S(36), "LSL r16 G=1: truncated to FFFFH, EAX[31:16] kept", 0xdeadffff
    CHK32 S(36)+4, "LSL expand-up limit 0FFFH", 0x0fff
    CHK8 S(37), "VERR execute-only code: ZF=0", 0
    CHK8 S(37)+1, "VERR readable conforming code, RPL 3: ZF=1", 1
    CHK8 S(37)+2, "VERW code: ZF=0", 0
    CHK8 S(37)+3, "VERR read-only data: ZF=1", 1
    CHK8 S(37)+4, "VERW read-only data: ZF=0", 0
    CHK8 S(37)+5, "VERW writable data: ZF=1", 1
    CHK8 S(37)+6, "VERR system descriptor (TSS): ZF=0", 0
    CHK8 S(37)+7, "VERW null selector: ZF=0", 0
    CHK8 S(37)+8, "VERR data DPL0 with RPL 3: ZF=0", 0
    CHK8 S(37)+9, "VERW data DPL3 at CPL0: ZF=1", 1

    POP_CALLEE_SAVED
    ret


/* ---------------------------------------------- 32-bit legacy mode (flat) */
    .code32
pm32_main:
    movl %esp, pm32_esp
    movl $0xc0000080, %ecx
    rdmsr
    andl $0x500, %eax
    movl %eax, AREA + R_EFER
    movl %cr0, %eax
    andl $0x80000001, %eax
    movl %eax, AREA + R_CR0

    movl $blob16, %eax              /* bases of S_CODE16 and S_CODE32B */
    movl $pgdt + S_CODE16, %edi
    call set_base
    movl $pgdt + S_CODE32B, %edi
    call set_base
    movl $pgdt + S_CODE16S, %edi
    call set_base
    movw $OFF16(lim_code)+2, pgdt + S_CODE16S
    lgdtl pgdt_desc32

    /* IDT: vectors 0..IDT_VECS-1 -> 32-bit interrupt gates to unexp stubs. */
    xorl %ebx, %ebx
1:  leal unexp_stubs(,%ebx,8), %eax
    movl $SEL_KCODE32, %edx
    movl $0x8e, %ecx
    call mkgate
    movl %eax, AREA + IDT_OFF(,%ebx,8)
    movl %edx, AREA + IDT_OFF + 4(,%ebx,8)
    incl %ebx
    cmpl $IDT_VECS, %ebx
    jb 1b
.macro GATE vec:req, off:req, sel:req, attr:req
    movl \off, %eax
    movl $\sel, %edx
    movl $\attr, %ecx
    call mkgate
    movl %eax, AREA + IDT_OFF + (\vec) * 8
    movl %edx, AREA + IDT_OFF + (\vec) * 8 + 4
.endm
    GATE 12, $OFF16(h16_ss), S_CODE16, 0x86     /* 16-bit interrupt gate */
    GATE 13, $OFF16(h16_gp), S_CODE16, 0x86
    GATE 0x40, $OFF16(h16_int), S_CODE16, 0x86
    GATE 0x41, $OFF16(h16_int), S_CODE16, 0x87  /* 16-bit trap gate */
    GATE 0x42, $h32_int, SEL_KCODE32, 0x8e      /* 32-bit interrupt gate */
    GATE 0x43, $OFF16(h32b_int), S_CODE32B, 0x86    /* 16-bit gate, 32-bit code */
    GATE 4, $OFF16(h16_of), S_CODE16, 0x86
    GATE 5, $OFF16(h16_br), S_CODE16, 0x86
    movl AREA + IDT_OFF + 13 * 8, %eax          /* vector 13 images */
    movl %eax, AREA + GATE13_16
    movl AREA + IDT_OFF + 13 * 8 + 4, %eax
    movl %eax, AREA + GATE13_16 + 4
    movl $h32_gp, %eax
    movl $SEL_KCODE32, %edx
    movl $0x8e, %ecx
    call mkgate
    movl %eax, AREA + GATE13_32
    movl %edx, AREA + GATE13_32 + 4
    lidtl idt_pd

    ljmpl $S_CODE16, $OFF16(pm16_entry)

pm32_back:                          /* from 16-bit code: 66 JMP ptr16:32 */
    LOAD_DATA_SEGS SEL_KDATA
    movl pm32_esp, %esp
    movl $0x3232, AREA + R_BACK32
    ret

/* set_base(eax = base, edi = descriptor): write the 32-bit base fields. */
set_base:
    pushl %eax
    movw %ax, 2(%edi)
    shrl $16, %eax
    movb %al, 4(%edi)
    movb %ah, 7(%edi)
    popl %eax
    ret

/* mkgate(eax = offset, edx = selector, ecx = P|DPL|type byte) -> edx:eax,
 * an 8-byte interrupt/trap gate (SDM Vol. 3A Figure 6-2). */
mkgate:
    pushl %ebx
    movl %eax, %ebx
    andl $0xffff, %eax
    shll $16, %edx
    orl %edx, %eax                  /* low: selector:offset 15..0 */
    movl %ebx, %edx
    andl $0xffff0000, %edx
    shll $8, %ecx
    orl %ecx, %edx                  /* high: offset 31..16, P DPL type */
    popl %ebx
    ret

/* #GP through a 32-bit gate, taken in 16-bit code (SS = S_DATA16, B=0:
 * the stack is addressed by SP; ESP[31:16] are 0). DS = S_DATA16. */
h32_gp:
    movw %sp, S(18)
    movl (%esp), %eax
    movw %ax, S(18) + 2
    movl 4(%esp), %eax
    movl %eax, S(18) + 4
    movl 8(%esp), %eax
    movw %ax, S(18) + 8
    movl 12(%esp), %eax
    andl $~0x10000, %eax
    movl %eax, S(18) + 10
    movzwl R_RESUME, %eax
    movl %eax, 4(%esp)
    addl $4, %esp                   /* drop the error code */
    iretl

/* INT 42H through a 32-bit interrupt gate from 16-bit code. */
h32_int:
    movw %sp, S(17)
    movl (%esp), %eax
    movl %eax, S(17) + 2
    movl 4(%esp), %eax
    movw %ax, S(17) + 6
    movl 8(%esp), %eax
    andl $~0x10000, %eax
    movl %eax, S(17) + 8
    pushfl
    popl %eax
    andl $F_IF, %eax
    movw %ax, S(17) + 12
    iretl

/* Unexpected exception: record the vector, go back to 64-bit mode. */
    .balign 8
unexp_stubs:
    .set vec, 0
    .rept IDT_VECS
    .balign 8
    movb $vec, %al
    jmp unexp32
    .set vec, vec + 1
    .endr
unexp32:
    movl $SEL_KDATA, %ecx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %ss
    movzbl %al, %eax
    movl %eax, AREA + R_UNEXP
    movl pm32_esp, %esp
    ret

/* ---------------------------------------------- 16-bit blob (S_CODE16) */
    .balign 16
blob16:
    .code16

/* TRY16 slot, insn: arm the 16-bit handlers (resume after insn, record in
 * slot), run insn. */
.macro TRY16 slot:req, insn:vararg
    movw $OFF16(88f), R_RESUME
    movw $(\slot), %di
    \insn
88:
.endm

pm16_entry:
    movw $S_DATA16, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $STACK16, %esp

/* 16-bit addressing forms (Vol. 2A Table 2-1). */
    movw $TBL, %bx
    movw $0x10, %si
    movw $0x20, %di
    movw (%bx,%si), %ax
    movw %ax, S(0)
    movw 4(%bx,%di), %ax
    movw %ax, S(0) + 2
    movw $TBL, %bp
    movw $S_DATA16B, %ax            /* SS base AREA+1000H: [BP+SI] uses SS */
    movw %ax, %ss
    movw (%bp,%si), %ax
    movw %ax, S(0) + 4
    movw %ds:0x20(%bp,%si), %ax
    movw %ax, S(0) + 6
    movw $S_DATA16, %ax
    movw %ax, %ss
    movw $0xfff0, %bx
    movw $0x20, %si
    movw (%bx,%si), %ax
    movw %ax, S(0) + 8
    xorw %bx, %bx
    movw -2(%bx), %ax
    movw %ax, S(0) + 10
    movw $0xfff0, %bx
    leaw (%bx,%si), %ax
    movw %ax, S(0) + 12
    movw TBL + 2, %ax
    movw %ax, S(0) + 14
    movl $0xfff0, %ebx
    movl $0x20, %esi
    TRY16 S(1), f_a32: addr32 movw (%ebx,%esi), %ax

/* Limits: expand-up 0FFFH through ES. */
    movw $S_SMALL, %ax
    movw %ax, %es
    TRY16 S(2), movw %es:0x0ffe, %ax
    TRY16 S(3), movw %es:0x0fff, %ax
    movw $0x0ff0, %bx
    movw $0x0010, %si
    TRY16 S(4), movb %es:(%bx,%si), %al
    movw $0xffff, %bx
    movw $0x0002, %si
    TRY16 S(5), movb %es:(%bx,%si), %al
    /* SS limit 0FFFH: BP-based access beyond it. */
    movw $0x0f00, %sp
    movw $S_SMALL, %ax
    movw %ax, %ss
    movw $0x0ff0, %bp
    movw $0x0010, %si
    TRY16 S(6), f_ss: movw (%bp,%si), %ax
    movw $S_DATA16, %ax
    movw %ax, %ss
    movl $STACK16, %esp
/* Expand-down, B=0 (offsets 1000H..FFFFH) and B=1 (1000H..FFFFFFFFH). */
    movw $S_DOWN16, %ax
    movw %ax, %es
    TRY16 S(7), movb %es:0x0fff, %al
    TRY16 S(8), movb %es:0x1000, %al
    TRY16 S(9), movb %es:0xffff, %al
    TRY16 S(10), movw %es:0xffff, %ax
    movw $S_DOWN32, %ax
    movw %ax, %es
    TRY16 S(11), movw %es:0xffff, %ax
    movw $S_DATA16, %ax
    movw %ax, %es

/* 16-bit stack: SP wraps; 66 PUSH moves SP by 4. */
    xorl %esp, %esp
    pushw $0x1234
    movw %sp, S(12)
    movw %ss:0xfffe, %ax
    movw %ax, S(12) + 2
    popw %ax
    movw %sp, S(12) + 4
    movw %ax, S(12) + 6
    movl $0x100, %esp
    pushl $0x89abcdef
    movw %sp, S(12) + 8
    movl %ss:0xfc, %eax
    movl %eax, S(12) + 10
    xorl %eax, %eax
    popl %eax
    movw %sp, S(13)
    movl %eax, S(13) + 2
    pushw %ax
    movw %sp, S(13) + 6
    movl $2, %esp
    TRY16 S(14), f_push: pushl $0x11223344
    movw %sp, S(13) + 8
    movl $STACK16, %esp

/* INT n through 16-bit interrupt and trap gates, and a 32-bit gate. */
    pushw $0x0202
    popfw                           /* IF=1 (8259s masked) */
    movw $S(15), %di
    int $0x40
after_int40:
    pushfw
    popw %ax
    movw %ax, S(15) + 10
    movw %sp, S(15) + 12
    movw $S(16), %di
    int $0x41
after_int41:
    int $0x42
after_int42:
    movw %sp, S(17) + 14
    cli

/* #GP through a 32-bit gate from 16-bit code: error code as a doubleword. */
    movl GATE13_32, %eax
    movl %eax, IDT_OFF + 13 * 8
    movl GATE13_32 + 4, %eax
    movl %eax, IDT_OFF + 13 * 8 + 4
    movw $S_SMALL, %ax
    movw %ax, %es
    movw $OFF16(gp32_resume), R_RESUME
    pushw $0x0002
    popfw
f_gp32:
    movw %es:0x1000, %ax
gp32_resume:
    movl GATE13_16, %eax
    movl %eax, IDT_OFF + 13 * 8
    movl GATE13_16 + 4, %eax
    movl %eax, IDT_OFF + 13 * 8 + 4
    movw $S_DATA16, %ax
    movw %ax, %es

/* Far CALL/RETF/JMP between 16- and 32-bit code. */
    lcallw $S_CODE32B, $OFF16(f32w)
after_callw32:
    movw %sp, S(19) + 6
    lcalll $SEL_KCODE32, $f32l
after_calll32:
    movw %sp, S(20) + 8
    lcallw $S_CODE32B, $OFF16(c32_calls16)
    TRY16 S(22), f_jmp: ljmpl $S_CODE16, $0x12345

/* Near CALL/RET with 66 in 16-bit code: EIP pushed/popped as a doubleword. */
    calll near32
after_near32:
    movw %sp, S(38)+6
/* LIDT with a 16-bit operand size: 24-bit base, high byte zeroed (Vol. 2A LGDT/LIDT). */
    movw $IDT_VECS*8-1, S(39)
    movl $0xff000000+AREA+IDT_OFF, S(39)+2
    lidtw S(39)
    sidtl S(39)+8
    movw $IDT_VECS*8-1, S(39)+16
    movl $AREA+IDT_OFF, S(39)+18
    lidtl S(39)+16

/* A 16-bit gate to a 32-bit code segment: the frame size follows the gate. */
    int $0x43
after_int43:
/* INTO (trap) and BOUND (fault) through 16-bit gates (Vol. 2A INTO, BOUND). */
    movb $0x7f, %al
    addb $1, %al                    /* OF=1 */
    movw $OFF16(after_into), R_RESUME
    movw $S(42), %di
    into
after_into:
    movw $0x10, 0x4100
    movw $0x20, 0x4102
    movw $0x4100, %si
    movw $0x30, %ax
    TRY16 S(43), f_bound: boundw %ax, (%si)
    movw $0x20, %ax
    TRY16 S(44), boundw %ax, (%si)
/* String instructions: SI/DI wrap at 64 KiB; a word at FFFFH is beyond the limit. */
    movb $0x11, 0xffff
    movb $0x22, 0x0000
    movw $0xffff, %si
    movw $0x4000, %di
    movl $2, %ecx
    cld
    rep movsb
    movw %si, S(45)
    movw %di, S(45)+2
    movw 0x4000, %ax
    movw %ax, S(45)+4
    movl %ecx, S(45)+6
    movw $0xffff, %si
    TRY16 S(46), lodsw
/* LOOP / JCXZ use CX with a 16-bit address size (Vol. 2A LOOPcc, Jcc). */
    movl $0x10001, %ecx
    movb $0, S(45)+10
    loop 1f
    movb $1, S(45)+10               /* not taken: CX 1 -> 0 */
1:  movl %ecx, S(45)+12
    movb $0, S(47)
    jcxz 1f                         /* ECX = 10000H: CX = 0, taken */
    movb $1, S(47)
1:
/* Near JMP r/m16: IP = the low 16 bits (Vol. 2A JMP). */
    movl $0xabcd0000+OFF16(1f), %eax
    movb $0, S(47)+1
    jmp *%ax
    movb $1, S(47)+1
1:
/* RET imm16 / RETF imm16 with a 16-bit stack; 66 PUSH DS. */
    call near_ret4
    movw %sp, S(47)+2
    movl $STACK16, %esp
    pushw $1
    pushw $2
    lcallw $S_CODE16, $OFF16(far_ret4)
    movw %sp, S(47)+4
    pushl %ds
    movw %sp, S(47)+6
    popl %eax
    movw %ax, S(47)+8
/* ENTER / LEAVE with a 16-bit stack (Vol. 2A ENTER, LEAVE). */
    movw $0x1234, %bp
    enterw $8, $0
    movw %sp, S(48)
    movw %bp, S(48)+2
    movw %ss:0x6ffe, %ax
    movw %ax, S(48)+4
    leavew
    movw %sp, S(48)+6
    movw %bp, S(48)+8
    enterw $4, $1
    movw %sp, S(48)+10
    movw %bp, S(48)+12
    movw %ss:0x6ffc, %ax
    movw %ax, S(48)+14
    leavew
    movl $STACK16, %esp

/* PUSHA with SP=4 wraps (8 words: AX at 0002H ... DI at FFF4H); POPA. */
    movl $4, %esp
    movw $0xaaaa, %ax
    pushaw
    movw %sp, S(49)
    movw %ss:0xfffa, %ax
    movw %ax, S(49)+2
    movw %ss:0x0002, %ax
    movw %ax, S(49)+4
    popaw
    movw %sp, S(49)+6
/* Expand-down stack with B=0: SP 0 -> FFFEH is inside 1000H..FFFFH. */
    movw $S_DOWN16, %ax
    xorl %esp, %esp
    movw %ax, %ss
    pushw $0x4321
    movw %sp, S(49)+8
    popw %ax
    movw %ax, S(49)+10
    movw $S_DATA16, %ax
    movw %ax, %ss
    movl $STACK16, %esp
/* XLAT: [BX + AL] with a 16-bit address wraps. */
    movb $0x99, 0x0001
    movw $0xffff, %bx
    movb $2, %al
    xlat
    movb %al, S(49)+12
/* LSS m16:16 and 66 LDS m16:32 (Vol. 2A LDS/LES/LFS/LGS/LSS). */
    movw $0x6000, S(50)
    movw $S_DATA16, S(50)+2
    movl $0x00012345, S(50)+4
    movw $S_DATA16B, S(50)+8
    lssw S(50), %sp
    movw %sp, S(51)
    movw %ss, S(51)+2
    ldsl S(50)+4, %ebx              /* DS = S_DATA16B: results below go through ES */
    movl %ebx, %es:S(51)+4
    movw %ds, %es:S(51)+8
    movw $S_DATA16, %ax
    movw %ax, %ds
    movw %ax, %ss
    movl $STACK16, %esp

/* CS limit on instruction fetch (Vol. 3A 5.3): a 3-byte MOV whose last
 * byte is beyond the limit faults, after the NOP before it ran. */
    movw $OFF16(lim_back), R_RESUME
    movw $S(52), %di
    ljmpw $S_CODE16S, $OFF16(lim_code)
after_lim:

/* ARPL (Vol. 2A ARPL). */
    movw $0x0011, %ax
    movw $0x0003, %bx
    arpl %bx, %ax
    setz S(23) + 2
    movw %ax, S(23)
    movw $0x0001, %bx
    arpl %bx, %ax
    setz S(23) + 6
    movw %ax, S(23) + 4
    movl $0xabcd0010, %eax
    movw $0x0002, %bx
    .byte 0x66, 0x63, 0xd8          /* 66 ARPL AX, BX */
    movl %eax, S(23) + 8
    movw $0x0003, %bx
    movw $AREA_ARPL, %si
    arpl %bx, (%si)
    setz S(24)
    movw $S_RODATA, %ax
    movw %ax, %es
    movw $0x0100, %si
    TRY16 S(25), arpl %bx, %es:(%si)
    movw $S_DATA16, %ax
    movw %ax, %es

/* LAR / LSL (16-bit code, 66 = 32-bit operand size). */
.macro LARL slot:req, sel:req, insn=lar
    movl $0xdeadbeef, %eax
    movw $(\sel), %cx
    \insn %cx, %eax
    setz \slot+4
    movl %eax, \slot
.endm
    LARL S(26), S_TSS16
    LARL S(26)+8, S_LDT
    LARL S(27), S_TSS16B
    LARL S(27)+8, S_CGATE16
    LARL S(28), S_TGATE
    LARL S(28)+8, S_IGATE16
    LARL S(29), S_TSS32
    LARL S(29)+8, S_CGATE32
    LARL S(30), S_RES8
    LARL S(30)+8, S_CONF|3
    LARL S(31), S_DATA16|3
    LARL S(31)+8, S_DATA3
    movl $0xdeadbeef, %eax
    movw $S_TSS32, %cx
    lar %cx, %ax
    movl %eax, S(32)
    xorw %cx, %cx
    lar %cx, %eax
    setz S(32) + 4
    movw $GDT_END, %cx
    lar %cx, %eax
    setz S(32) + 5
    LARL S(33), S_TSS16, lsl
    LARL S(33)+8, S_TSS16B, lsl
    LARL S(34), S_CGATE16, lsl
    LARL S(34)+8, S_TGATE, lsl
    LARL S(35), S_LDT, lsl
    movw $S_DATA3, %cx
    lsl %cx, %eax
    movl %eax, S(35) + 8
    movl $0xdeadbeef, %eax
    lsl %cx, %ax
    movl %eax, S(36)
    movw $S_SMALL, %cx
    lsl %cx, %eax
    movl %eax, S(36) + 4
/* VERR / VERW. */
    movw $S_XONLY, %cx
    verr %cx
    setz S(37)
    movw $S_CONF | 3, %cx
    verr %cx
    setz S(37) + 1
    verw %cx
    setz S(37) + 2
    movw $S_RODATA, %cx
    verr %cx
    setz S(37) + 3
    verw %cx
    setz S(37) + 4
    movw $S_DATA16, %cx
    verw %cx
    setz S(37) + 5
    movw $S_TSS32, %cx
    verr %cx
    setz S(37) + 6
    xorw %cx, %cx
    verw %cx
    setz S(37) + 7
    movw $S_DATA16 | 3, %cx
    verr %cx
    setz S(37) + 8
    movw $S_DATA3, %cx
    verw %cx
    setz S(37) + 9

    movw $0x600d, R_DONE
    ljmpl $SEL_KCODE32, $pm32_back

/* 16-bit handlers (16-bit gates). DI = result slot (see CHK_EXC). */
h16_int:                            /* INT 40H / 41H: slot +0 SP, +2 IP, +4 CS, +6 FLAGS, +8 FLAGS inside */
    movw %sp, (%di)
    pushw %bp
    movw %sp, %bp
    movw 2(%bp), %ax
    movw %ax, 2(%di)
    movw 4(%bp), %ax
    movw %ax, 4(%di)
    movw 6(%bp), %ax
    movw %ax, 6(%di)
    pushfw
    popw %ax
    movw %ax, 8(%di)
    popw %bp
    iretw
h16_of:
    movw $4, 10(%di)
    jmp h16_noerr
h16_br:
    movw $5, 10(%di)
h16_noerr:                          /* no error code: +0 SP, +4 IP, +6 CS, +8 FLAGS */
    movw %sp, (%di)
    pushw %bp
    movw %sp, %bp
    movw 2(%bp), %ax
    movw %ax, 4(%di)
    movw 4(%bp), %ax
    movw %ax, 6(%di)
    movw 6(%bp), %ax
    movw %ax, 8(%di)
    movw R_RESUME, %ax
    movw %ax, 2(%bp)
    popw %bp
    iretw
near_ret4:
    retw $4
far_ret4:
    lretw $4
h16_ss:
    movw $12, 10(%di)
    jmp h16_exc
h16_gp:
    movw $13, 10(%di)
h16_exc:
    movw %sp, (%di)
    pushw %bp
    movw %sp, %bp
    movw 2(%bp), %ax
    movw %ax, 2(%di)
    movw 4(%bp), %ax
    movw %ax, 4(%di)
    movw 6(%bp), %ax
    movw %ax, 6(%di)
    movw 8(%bp), %ax
    movw %ax, 8(%di)
    movw R_RESUME, %ax
    movw %ax, 4(%bp)
    popw %bp
    addw $2, %sp                    /* drop the error code */
    iretw

lim_back:                           /* in S_CODE16S, below its limit */
    ljmpw $S_CODE16, $OFF16(after_lim)
lim_code:
    nop
    movw $0x1111, %ax               /* bytes lim_code+1 .. +3; limit lim_code+2 */
    ljmpw $S_CODE16, $OFF16(after_lim)  /* only without the fault */
near32:
    movw %sp, S(38)
    movw %sp, %bp
    movl (%bp), %eax
    movl %eax, S(38)+2
    retl

/* Far call targets. */
f16w:                               /* 16-bit, called by 66 CALL ptr16:16 from 32-bit code */
    movw %sp, S(21)
    movw %sp, %bp
    movw (%bp), %ax
    movw %ax, S(21) + 2
    movw 2(%bp), %ax
    movw %ax, S(21) + 4
    lretw
f16l:                               /* 16-bit, called by CALL ptr16:32 from 32-bit code */
    movw %sp, S(21) + 6
    movw %sp, %bp
    movl (%bp), %eax
    movl %eax, S(21) + 8
    lretl

    .code32                         /* 32-bit code in S_CODE32B (base blob16) */
f32w:                               /* called by CALL ptr16:16 from 16-bit code */
    movw %sp, S(19)
    movzwl %sp, %ebp
    movw (%ebp), %ax
    movw %ax, S(19) + 2
    movw 2(%ebp), %ax
    movw %ax, S(19) + 4
    lretw
h32b_int:                           /* INT 43H: 16-bit gate, 32-bit code segment */
    movw %sp, S(41)
    movzwl %sp, %ebp
    movw (%ebp), %ax
    movw %ax, S(41)+2
    movw 2(%ebp), %ax
    movw %ax, S(41)+4
    movw 4(%ebp), %ax
    movw %ax, S(41)+6
    iretw
c32_calls16:                        /* 32-bit code calling 16-bit code both ways */
    lcallw $S_CODE16, $OFF16(f16w)
after_c16w:
    lcalll $S_CODE16, $OFF16(f16l)
after_c16l:
    movw %sp, S(21) + 12
    lretw
    .code16
blob16_end:
    .code32

/* 32-bit flat code (SEL_KCODE32) called by 66 CALL ptr16:32 from 16-bit code. */
f32l:
    movw %sp, S(20)
    movzwl %sp, %ebp
    movl (%ebp), %eax
    movl %eax, S(20) + 2
    movl 4(%ebp), %eax
    movw %ax, S(20) + 6
    lretl
    .code64

/* ---------------------------------------------- data */
    .data
    .balign 16
pgdt:
    .fill S_CODE16, 1, 0            /* start.S's GDT, copied at run time */
    SEGD 0, 0xffff, 0x9a, 0x0       /* S_CODE16 (base set at run time) */
    SEGD 0, 0xffff, 0x9a, 0x4       /* S_CODE32B */
    SEGD AREA, 0xffff, 0x92, 0x0    /* S_DATA16 */
    SEGD AREA + 0x1000, 0xffff, 0x92, 0x0   /* S_DATA16B */
    SEGD AREA, 0x0fff, 0x92, 0x0    /* S_SMALL */
    SEGD AREA, 0x0fff, 0x96, 0x0    /* S_DOWN16 */
    SEGD AREA, 0x0fff, 0x96, 0x4    /* S_DOWN32 */
    SEGD 0x5000, 0x2b, 0x81, 0x0    /* S_TSS16 */
    SEGD 0x5100, 0x17, 0x82, 0x0    /* S_LDT */
    SEGD 0x5000, 0x2b, 0x83, 0x0    /* S_TSS16B */
    SEGD 0, 0, 0xe4, 0x0            /* S_CGATE16 (gate: offset 0, selector 0) */
    SEGD 0, 0, 0x85, 0x0            /* S_TGATE */
    SEGD 0, 0, 0x86, 0x0            /* S_IGATE16 */
    SEGD 0x5200, 0x67, 0x89, 0x0    /* S_TSS32 */
    SEGD 0, 0, 0x8c, 0x0            /* S_CGATE32 */
    SEGD 0, 0xffff, 0x88, 0x0       /* S_RES8 */
    SEGD 0, 0xfffff, 0x9e, 0xc      /* S_CONF */
    SEGD 0, 0xffff, 0x98, 0x0       /* S_XONLY */
    SEGD 0, 0x1234, 0x90, 0x0       /* S_RODATA */
    SEGD 0, 0xfffff, 0xf2, 0xd      /* S_DATA3: G B AVL */
    SEGD 0, 0, 0x9a, 0x0            /* S_CODE16S (base and limit set at run time) */
pgdt_end:
    PSEUDO_DESC pgdt_desc64, pgdt, (GDT_END - 1)
    .word 0
pgdt_desc32:
    .word GDT_END - 1
    .long pgdt
    .word 0
idt_pd:
    .word IDT_VECS * 8 - 1
    .long AREA + IDT_OFF
    .balign 4
pm32_esp: .long 0
