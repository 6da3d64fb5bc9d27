/*
 * testroms/x86_64/sysregs.S - system registers and MSRs a 64-bit kernel
 * relies on:
 *  - FS/GS bases (SDM Vol. 3A 3.4.4 "Segment Loading Instructions in IA-32e
 *    Mode" and 2.2.1 / Table 2-2 IA32_FS_BASE C0000100H, IA32_GS_BASE
 *    C0000101H, IA32_KERNEL_GS_BASE C0000102H): FS:/GS: overrides add the
 *    MSR base; MOV to FS loads the base from the descriptor (32 bits);
 *    SWAPGS (Vol. 2B) exchanges GS.base with IA32_KERNEL_GS_BASE.
 *  - WRMSR (Vol. 2B): #GP(0) for a non-canonical FS/GS/KERNEL_GS base or
 *    LSTAR, for reserved bits (IA32_EFER bit 1), and (Vol. 3A 10.8.5 /
 *    2.2.1) for changing EFER.LME while CR0.PG=1; RDMSR: #GP(0) for an
 *    unimplemented MSR.
 *  - MOV to CR0/CR4 (Vol. 2B MOV-Move to/from Control Registers): #GP(0)
 *    for PG=1 with PE=0, NW=1 with CD=0, bits 63:32 set, a reserved CR4 bit,
 *    or clearing CR4.PAE while IA-32e mode is active.
 *  - CMPXCHG16B (Vol. 2A CMPXCHG8B/CMPXCHG16B): compares RDX:RAX, stores
 *    RCX:RBX, ZF; #GP(0) if the operand is not 16-byte aligned; #UD when
 *    CPUID.01H:ECX.CX16 = 0.
 *  - CPUID (Vol. 2A): 80000001H EDX bit 29 (Intel 64) is 1 on a CPU that
 *    runs this code; RDTSC (Vol. 3B 18.17): the TSC increments.
 */
#include "rom.h"

#define EFER            0xc0000080
#define LSTAR           0xc0000082
#define FS_BASE         0xc0000100
#define GS_BASE         0xc0000101
#define KERNEL_GS_BASE  0xc0000102


    .text
    .globl test_main
test_main:
    PUSH_CALLEE_SAVED

/* ------------------------------------------------------- FS / GS bases */
    leaq fsbuf(%rip), %rbx
    WRMSR_REG FS_BASE, %rbx
    movq %fs:8, %rax
    CHECK "FS_BASE MSR: %fs:8 reads fsbuf[1]", 0xf5f5f5f5f5f5f5f5
    RDMSR_RAX FS_BASE
    subq %rbx, %rax
    CHECK "FS_BASE reads back", 0
    leaq gsbuf(%rip), %rbx
    WRMSR_REG GS_BASE, %rbx
    leaq kgsbuf(%rip), %r12
    WRMSR_REG KERNEL_GS_BASE, %r12
    movq %gs:0, %rax
    CHECK "GS_BASE MSR: %gs:0 reads gsbuf", 0x6565656565656565
    swapgs
    movq %gs:0, %rax
    CHECK "after SWAPGS: %gs:0 reads kgsbuf", 0x4b4b4b4b4b4b4b4b
    RDMSR_RAX GS_BASE
    subq %r12, %rax
    CHECK "after SWAPGS: GS_BASE = old KERNEL_GS_BASE", 0
    RDMSR_RAX KERNEL_GS_BASE
    subq %rbx, %rax
    CHECK "after SWAPGS: KERNEL_GS_BASE = old GS_BASE", 0
    swapgs
    movq %gs:0, %rax
    CHECK "SWAPGS twice: back to gsbuf", 0x6565656565656565
    movq $2, %rcx
    movq %gs:-8(,%rcx,8), %rax      /* base + index*scale + disp = gsbuf + 8 */
    CHECK "%gs:-8(,%rcx,8) with RCX=2 reads gsbuf[1]", 0x7777777777777777
    movl $SEL_KDATA, %eax
    movw %ax, %fs                   /* loads FS.base from the descriptor: 0 */
    RDMSR_RAX FS_BASE
    CHECK "MOV to FS in 64-bit mode loads base 0 from the GDT", 0

    /* Bits 63:56 differ: non-canonical for 48- and 57-bit linear addresses
     * (with 5-level paging support the MSR check may use 57 bits). */
    movq $0x8000000000000000, %rbx
    EXPECT_EXC 1f
    WRMSR_REG FS_BASE, %rbx
1:  DISARM
    CHECK_REG exc_vec(%rip), "WRMSR FS_BASE non-canonical: #GP", 13
    CHECK_REG exc_err(%rip), "WRMSR FS_BASE non-canonical: error 0", 0
    EXPECT_EXC 1f
    WRMSR_REG LSTAR, %rbx
1:  DISARM
    CHECK_REG exc_vec(%rip), "WRMSR LSTAR non-canonical: #GP", 13

/* ------------------------------------------------------------ MSR faults */
    EXPECT_EXC 1f
    movl $0xdead0000, %ecx
    rdmsr
1:  DISARM
    CHECK_REG exc_vec(%rip), "RDMSR of an unimplemented MSR: #GP", 13
    CHECK_REG exc_err(%rip), "RDMSR unimplemented: error 0", 0
    movl $EFER, %ecx
    rdmsr
    movl %eax, %ebx
    orl $2, %eax                    /* reserved bit 1 */
    EXPECT_EXC 1f
    wrmsr
1:  DISARM
    CHECK_REG exc_vec(%rip), "WRMSR EFER reserved bit 1: #GP", 13
    movl $EFER, %ecx
    movl %ebx, %eax
    andl $~0x100, %eax              /* clear LME with CR0.PG=1 */
    xorl %edx, %edx
    EXPECT_EXC 1f
    wrmsr
1:  DISARM
    CHECK_REG exc_vec(%rip), "WRMSR EFER.LME=0 while paging: #GP", 13
    RDMSR_RAX EFER
    andl $0x500, %eax
    CHECK "EFER.LME/LMA unchanged after the faulting WRMSR", 0x500

/* ------------------------------------------------------ CR0 / CR4 faults */
    movq %cr0, %rbx
    movq %rbx, %rax
    andq $~1, %rax                  /* PE=0, PG=1 */
    EXPECT_EXC 1f
    movq %rax, %cr0
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0 PG=1 PE=0: #GP", 13
    movq %rbx, %rax
    orq $0x20000000, %rax           /* NW=1 */
    andq $~0x40000000, %rax         /* CD=0 */
    EXPECT_EXC 1f
    movq %rax, %cr0
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0 NW=1 CD=0: #GP", 13
    movq %rbx, %rax
    btsq $32, %rax
    EXPECT_EXC 1f
    movq %rax, %cr0
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR0 bit 32 set: #GP", 13
    movq %cr0, %rax
    subq %rbx, %rax
    CHECK "CR0 unchanged by the faulting writes", 0

    movq %cr4, %rbx
    movq %rbx, %rax
    btsq $32, %rax
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "CR4 bit 32 set: #GP", 13
    movq %rbx, %rax
    andq $~0x20, %rax               /* PAE=0 in IA-32e mode */
    EXPECT_EXC 1f
    movq %rax, %cr4
1:  DISARM
    CHECK_REG exc_vec(%rip), "clear CR4.PAE in IA-32e mode: #GP", 13
    movq %cr4, %rax
    subq %rbx, %rax
    CHECK "CR4 unchanged by the faulting writes", 0

/* ------------------------------------------------------------ CMPXCHG16B */
    movl $1, %eax
    cpuid
    btl $13, %ecx
    jnc no_cx16
    movq $1, %rax
    movq $2, %rdx
    movq $3, %rbx
    movq $4, %rcx
    movq $1, cx16buf(%rip)
    movq $2, cx16buf+8(%rip)
    lock cmpxchg16b cx16buf(%rip)
    CHECK_FLAGS "cmpxchg16b equal: ZF=1", F_ZF, F_ZF
    CHECK_REG cx16buf(%rip), "cmpxchg16b equal: low = RBX", 3
    CHECK_REG cx16buf+8(%rip), "cmpxchg16b equal: high = RCX", 4
    movq $9, %rax
    cmpxchg16b cx16buf(%rip)
    CHECK_FLAGS "cmpxchg16b unequal: ZF=0", F_ZF, 0
    CHECK "cmpxchg16b unequal: RAX = low", 3
    CHECK_REG %rdx, "cmpxchg16b unequal: RDX = high", 4
    EXPECT_EXC 1f
    cmpxchg16b cx16buf+8(%rip)
1:  DISARM
    CHECK_REG exc_vec(%rip), "cmpxchg16b misaligned: #GP", 13
    CHECK_REG exc_err(%rip), "cmpxchg16b misaligned: error 0", 0
    jmp 2f
no_cx16:
    PRINT "CPUID.01H:ECX.CX16 = 0: cmpxchg16b must be #UD"
    EXPECT_EXC 1f
    cmpxchg16b cx16buf(%rip)
1:  DISARM
    CHECK_REG exc_vec(%rip), "cmpxchg16b without CX16: #UD", 6
2:

/* ----------------------------------------------------------- CPUID, TSC */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    setae %al
    movzbl %al, %eax
    CHECK "CPUID 80000000H: extended leaf 80000001H exists", 1
    movl $0x80000001, %eax
    cpuid
    movl %edx, %eax
    shrl $29, %eax
    andl $1, %eax
    CHECK "CPUID 80000001H: EDX.LM (Intel 64) = 1", 1
    rdtsc
    shlq $32, %rdx
    movl %eax, %eax
    orq %rdx, %rax
    movq %rax, %rbx
    movl $100000, %ecx
3:  decl %ecx
    jnz 3b
    rdtsc
    shlq $32, %rdx
    movl %eax, %eax
    orq %rdx, %rax
    cmpq %rbx, %rax
    seta %al
    movzbl %al, %eax
    CHECK "RDTSC increases across 100000 loop iterations", 1

    POP_CALLEE_SAVED
    ret

    .data
    .balign 16
fsbuf:   .quad 0xf0f0f0f0f0f0f0f0, 0xf5f5f5f5f5f5f5f5
gsbuf:   .quad 0x6565656565656565
         .rept 15
         .quad 0x7777777777777777
         .endr
kgsbuf:  .quad 0x4b4b4b4b4b4b4b4b
    .balign 16
cx16buf: .quad 0, 0, 0, 0
