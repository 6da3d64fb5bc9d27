/*
 * tests/unit/test_excp.c - exception and interrupt delivery on a real vCPU
 * running real code in guest RAM (see sys_harness.h for the layout).
 *
 * Oracles: the stack frame layout of SDM Vol. 3A Figure 6-9 (IA-32e: SS,
 * RSP, RFLAGS, CS, RIP, error code; RSP aligned to 16; IST), Figure 6-4 /
 * 20.1.4 (real mode: FLAGS, CS, IP), the error-code formats of 6.13 and
 * 4.7 (#PF), Table 6-5 (#DF), the SYSCALL/SYSRET pseudo-code of SDM
 * Vol. 2B, and Vol. 3B 18.3.1.1 (RF = 1 pushed for an interrupt or NMI
 * arriving between iterations of a REP string instruction). Expected values are derived from those rules and the inputs the
 * test chose, never from qtemu's own output.
 */
#include <criterion/criterion.h>

#include "sys_harness.h"

/* ---------------------------------------------------------------- IA-32e delivery */

Test(excp, gp_frame_same_privilege)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* mov ax, 0x2b ; mov ss, ax  -> #GP(0x28): RPL 3 != CPL 0 (SDM Vol. 2B MOV). */
    static const uint8_t code[] = { 0x66, 0xb8, 0x2b, 0x00, 0x8e, 0xd0 };
    h_code(&e, H_KCODE, code, sizeof(code));
    e.cpu->gpr[X86_RSP] = 0x8008;   /* misaligned by 8: frame starts at 0x8000 */
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct x86_cpu *cpu = e.cpu;
    uint64_t top = 0x8000;          /* 0x8008 & ~0xf */
    cr_assert_eq(cpu->gpr[X86_RSP], top - 48);
    cr_assert_eq(h_r64(&e, top - 8), H_KDS, "SS");
    cr_assert_eq(h_r64(&e, top - 16), 0x8008, "old RSP");
    uint64_t fl = h_r64(&e, top - 24);
    cr_assert(fl & X86_FLAG_IF);
    cr_assert(fl & X86_FLAG_FIXED1);
    cr_assert_eq(h_r64(&e, top - 32), H_KCS, "CS");
    cr_assert_eq(h_r64(&e, top - 40), H_KCODE + 4, "RIP of the faulting MOV SS");
    cr_assert_eq(h_r64(&e, top - 48), 0x28, "error code = selector");
    cr_assert_eq(cpu->rip, h_handler(X86_EXC_GP) + 1);
    cr_assert_not(cpu->rflags & X86_FLAG_IF, "interrupt gate clears IF");
    cr_assert_eq(cpu->seg[X86_SS].sel, H_KDS, "SS unchanged: the faulting load did not happen");
    h_fini(&e);
}

Test(excp, pf_error_code_and_cr2)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* mov rax, 0x40000000 ; mov [rax], rbx  (1 GiB: PDPT entry 1 is not present) */
    static const uint8_t code[] = { 0x48, 0xb8, 0, 0, 0, 0x40, 0, 0, 0, 0, 0x48, 0x89, 0x18 };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct x86_cpu *cpu = e.cpu;
    cr_assert_eq(cpu->rip, h_handler(X86_EXC_PF) + 1);
    cr_assert_eq(cpu->cr2, 0x40000000);
    /* SDM Vol. 3A 4.7: P=0 (not present), W/R=1 (write), U/S=0 (CPL 0). */
    cr_assert_eq(h_r64(&e, 0x8000 - 48), 0x2);
    cr_assert_eq(h_r64(&e, 0x8000 - 40), H_KCODE + 10);
    h_fini(&e);
}

Test(excp, user_int80_iretq_round_trip)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* Gate 0x80: DPL 3, handler reads the pushed SS and RSP, then IRETQ. */
    h_gate64(&e, 0x80, 0x30000, 3, 0, X86_DESC_INT, true);
    static const uint8_t handler[] = {
        0x48, 0x8b, 0x5c, 0x24, 0x20,   /* mov rbx, [rsp+0x20]  (SS)  */
        0x48, 0x8b, 0x4c, 0x24, 0x18,   /* mov rcx, [rsp+0x18]  (RSP) */
        0x48, 0x8b, 0x74, 0x24, 0x08,   /* mov rsi, [rsp+0x08]  (CS)  */
        0x48, 0x89, 0xe7,               /* mov rdi, rsp */
        0x48, 0xcf,                     /* iretq */
    };
    h_code(&e, 0x30000, handler, sizeof(handler));
    static const uint8_t user[] = {
        0xcd, 0x80,                     /* int 0x80 */
        0x48, 0x89, 0xe2,               /* mov rdx, rsp */
        0x0f, 0x0b,                     /* ud2 */
    };
    h_code(&e, H_UCODE, user, sizeof(user));
    h_enter_user(&e, H_UCODE, 0x9008);
    cr_assert_eq(e.cpu->cpl, 3);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct x86_cpu *cpu = e.cpu;
    /* Inside the INT 0x80 handler (Figure 6-9, privilege change). */
    cr_assert_eq(cpu->gpr[X86_RBX], H_UDS, "pushed SS");
    cr_assert_eq(cpu->gpr[X86_RCX], 0x9008, "pushed RSP");
    cr_assert_eq(cpu->gpr[X86_RSI], H_UCS, "pushed CS");
    cr_assert_eq(cpu->gpr[X86_RDI], H_RSP0 - 40, "RSP0 from the TSS, 5 slots, no error code");
    /* Back in user mode after IRETQ: RSP restored. */
    cr_assert_eq(cpu->gpr[X86_RDX], 0x9008);
    /* Then #UD at CPL 3 -> CPL 0: frame on RSP0 again. */
    cr_assert_eq(cpu->rip, h_handler(X86_EXC_UD) + 1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->gpr[X86_RSP], H_RSP0 - 40);
    cr_assert_eq(h_r64(&e, H_RSP0 - 40), H_UCODE + 5, "RIP of UD2");
    cr_assert_eq(h_r64(&e, H_RSP0 - 32), H_UCS);
    cr_assert(h_r64(&e, H_RSP0 - 24) & X86_FLAG_IF, "IRETQ restored IF");
    cr_assert_eq(h_r64(&e, H_RSP0 - 16), 0x9008);
    cr_assert_eq(h_r64(&e, H_RSP0 - 8), H_UDS);
    /* SDM Vol. 3A 6.14.4: SS = null selector with RPL = new CPL. */
    cr_assert_eq(cpu->seg[X86_SS].sel & 0xfffc, 0);
    h_fini(&e);
}

Test(excp, int_n_gate_dpl_check)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    static const uint8_t user[] = { 0xcd, 0x81 };   /* int 0x81: gate DPL 0 < CPL 3 */
    h_code(&e, H_UCODE, user, sizeof(user));
    h_enter_user(&e, H_UCODE, 0x9000);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_GP) + 1);
    /* SDM Vol. 3A 6.13: IDT bit (1) set, EXT = 0 for INT n: 0x81 * 8 + 2. */
    cr_assert_eq(h_r64(&e, H_RSP0 - 48), 0x81 * 8 + 2);
    cr_assert_eq(h_r64(&e, H_RSP0 - 40), H_UCODE, "fault: RIP of the INT itself");
    h_fini(&e);
}

Test(excp, ist_stack_for_int3)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    h_gate64(&e, X86_EXC_BP, h_handler(X86_EXC_BP), 3, 1, X86_DESC_TRAP, true);
    static const uint8_t code[] = { 0xcc };
    h_code(&e, H_KCODE, code, sizeof(code));
    e.cpu->gpr[X86_RSP] = 0x8008;
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct x86_cpu *cpu = e.cpu;
    cr_assert_eq(cpu->gpr[X86_RSP], H_IST1 - 40, "IST1 even without a privilege change");
    cr_assert_eq(h_r64(&e, H_IST1 - 40), H_KCODE + 1, "INT3 is a trap");
    cr_assert_eq(h_r64(&e, H_IST1 - 16), 0x8008);
    cr_assert(cpu->rflags & X86_FLAG_IF, "trap gate keeps IF");
    h_fini(&e);
}

Test(excp, double_fault_and_triple_fault)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* #UD -> gate 6 not present -> #NP(6*8+2+EXT) -> gate 11 not present ->
     * #NP while delivering #NP: contributory + contributory = #DF. */
    h_gate64(&e, X86_EXC_UD, h_handler(X86_EXC_UD), 0, 0, X86_DESC_INT, false);
    h_gate64(&e, X86_EXC_NP, h_handler(X86_EXC_NP), 0, 0, X86_DESC_INT, false);
    static const uint8_t code[] = { 0x0f, 0x0b };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_DF) + 1);
    cr_assert_eq(h_r64(&e, 0x8000 - 48), 0, "#DF error code is 0");
    cr_assert_eq(h_r64(&e, 0x8000 - 40), H_KCODE);
    cr_assert_eq(e.cpu->exc_nesting, 0);
    h_fini(&e);

    h_init_long(&e, X86_CPU_QEMU64);
    h_gate64(&e, X86_EXC_UD, h_handler(X86_EXC_UD), 0, 0, X86_DESC_INT, false);
    h_gate64(&e, X86_EXC_NP, h_handler(X86_EXC_NP), 0, 0, X86_DESC_INT, false);
    h_gate64(&e, X86_EXC_DF, h_handler(X86_EXC_DF), 0, 0, X86_DESC_INT, false);
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_SHUTDOWN);
    h_fini(&e);
}

Test(excp, benign_then_contributory_is_serial)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* #UD with gate 6 not present: #NP delivered normally (Table 6-5 row "benign"). */
    h_gate64(&e, X86_EXC_UD, h_handler(X86_EXC_UD), 0, 0, X86_DESC_INT, false);
    static const uint8_t code[] = { 0x0f, 0x0b };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_NP) + 1);
    /* Error code: index 6 in the IDT (bit 1), EXT = 1 (during an exception). */
    cr_assert_eq(h_r64(&e, 0x8000 - 48), 6 * 8 + 2 + 1);
    h_fini(&e);
}

/* ---------------------------------------------------------------- RF and REP */

/* Interrupt controller stub: nothing the first time the CPU asks (so the REP
 * instruction starts), then vector 0x40 (or, in NMI mode, an NMI raised
 * instead of answering). */
struct rep_intc {
    struct x86_cpu *cpu;
    int calls;
    bool nmi;
};

static int rep_inta(void *opaque)
{
    struct rep_intc *c = opaque;
    if (c->calls++ == 0)
        return -1;
    if (c->nmi) {
        c->cpu->nmi_pending = true;
        c->cpu->intr_pin = false;
        return -1;
    }
    c->cpu->intr_pin = false;
    return 0x40;
}

/*
 * SDM Vol. 3B 18.3.1.1: "For any interrupt arriving after any iteration of a
 * repeated string instruction but the last iteration, the value pushed for RF
 * is 1." An external interrupt (and an NMI) taken between iterations of a long
 * REP STOSB pushes RF = 1, RIP = the REP instruction, and rCX of the
 * remaining work; no instruction breakpoint is armed.
 */
static void rep_interrupted(bool nmi)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    static const uint8_t code[] = { 0xf3, 0xaa, 0xf4 };   /* rep stosb ; hlt */
    h_code(&e, H_KCODE, code, sizeof(code));
    struct x86_cpu *cpu = e.cpu;
    struct rep_intc c = { cpu, 0, nmi };
    cpu->vcpu.intc.inta = rep_inta;
    cpu->vcpu.intc.opaque = &c;
    cpu->intr_pin = true;
    cpu->gpr[X86_RDI] = 0x200000;
    cpu->gpr[X86_RCX] = 1000000;
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    int vec = nmi ? X86_EXC_NMI : 0x40;
    cr_assert_eq(cpu->rip, h_handler(vec) + 1, "handler of vector %d reached", vec);
    uint64_t top = 0x8000;
    cr_assert_eq(h_r64(&e, top - 40), H_KCODE, "RIP = the REP instruction");
    uint64_t fl = h_r64(&e, top - 24);
    cr_assert(fl & X86_FLAG_RF, "RF = 1 in the pushed RFLAGS (flags 0x%llx)", (unsigned long long)fl);
    cr_assert(cpu->gpr[X86_RCX] > 0 && cpu->gpr[X86_RCX] < 1000000, "taken mid-string");
    cr_assert_not(cpu->rflags & X86_FLAG_RF, "the interrupt gate clears RF");
    h_fini(&e);
}

Test(excp, rf_pushed_for_interrupt_between_rep_iterations)
{
    rep_interrupted(false);
}

Test(excp, rf_pushed_for_nmi_between_rep_iterations)
{
    rep_interrupted(true);
}

/* ---------------------------------------------------------------- real mode */

Test(excp, real_mode_int_and_iret)
{
    struct sys_env e;
    memset(&e, 0, sizeof(e));
    guest_mem_init_pc(&e.mem, 16ull << 20, 0xC0000000ull, NULL);
    bus_init(&e.bus);
    e.v = x86_vcpu_create(0, X86_CPU_QEMU64, &e.mem, &e.bus);
    struct x86_cpu *cpu = e.cpu = x86_cpu_of(e.v);
    cpu->seg[X86_CS].sel = 0;
    cpu->seg[X86_CS].base = 0;
    cpu->seg[X86_SS].sel = 0;
    cpu->seg[X86_SS].base = 0;
    cpu->rip = 0x7c00;
    cpu->gpr[X86_RSP] = 0x7000;
    cpu->rflags = X86_FLAG_FIXED1 | X86_FLAG_IF;
    cpu->idtr = (struct x86_dtr){ 0, 0x3ff };
    uint32_t ivt = (0x1234u << 16) | 0x0010;   /* CS:IP = 1234:0010 -> 0x12350 */
    gpa_write(&e.mem, 0x10 * 4, &ivt, 4);
    static const uint8_t code[] = { 0xcd, 0x10, 0xf4 };   /* int 0x10 ; hlt */
    h_code(&e, 0x7c00, code, sizeof(code));
    static const uint8_t handler[] = { 0x8c, 0xc8,   /* mov ax, cs */
                                       0x89, 0xe3,   /* mov bx, sp */
                                       0xcf };       /* iret */
    h_code(&e, 0x12350, handler, sizeof(handler));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    /* In the handler: CS = 0x1234, SP = 0x7000 - 6. */
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xffff, 0x1234);
    cr_assert_eq(cpu->gpr[X86_RBX] & 0xffff, 0x6ffa);
    /* Frame (SDM Vol. 3A 20.1.4): FLAGS at SP+4, CS at SP+2, IP at SP. */
    cr_assert_eq(h_r16(&e, 0x6ffa), 0x7c02);
    cr_assert_eq(h_r16(&e, 0x6ffc), 0);
    cr_assert(h_r16(&e, 0x6ffe) & X86_FLAG_IF);
    /* After IRET: back at the HLT with the old stack and IF. */
    cr_assert_eq(cpu->rip, 0x7c03);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x7000);
    cr_assert_eq(cpu->seg[X86_CS].sel, 0);
    cr_assert(cpu->rflags & X86_FLAG_IF);
    h_fini(&e);
}

/* ---------------------------------------------------------------- SYSCALL / SYSRET */

static void setup_syscall(struct sys_env *e)
{
    struct x86_cpu *cpu = e->cpu;
    cpu->efer |= X86_EFER_SCE;
    cpu->star = (0x23ull << 48) | (0x10ull << 32);   /* Linux: __USER32_CS, __KERNEL_CS */
    cpu->lstar = 0x31000;
    cpu->sfmask = 0x47700;                           /* TF DF IF NT AC, as Linux */
}

Test(excp, syscall_sysret_registers)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    setup_syscall(&e);
    static const uint8_t kernel[] = {
        0x4d, 0x89, 0xd8,   /* mov r8, r11 */
        0x49, 0x89, 0xc9,   /* mov r9, rcx */
        0x9c,               /* pushfq */
        0x41, 0x5a,         /* pop r10 */
        0x8c, 0xcb,         /* mov bx, cs */
        0x8c, 0xd5,         /* mov bp, ss */
        0x48, 0x0f, 0x07,   /* sysretq */
    };
    h_code(&e, 0x31000, kernel, sizeof(kernel));
    static const uint8_t user[] = { 0x0f, 0x05, 0x0f, 0x0b };   /* syscall ; ud2 */
    h_code(&e, H_UCODE, user, sizeof(user));
    h_enter_user(&e, H_UCODE, 0x9000);
    uint64_t user_flags = X86_FLAG_FIXED1 | X86_FLAG_IF | X86_FLAG_DF | X86_FLAG_AC;
    x86_set_rflags(e.cpu, user_flags);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct x86_cpu *cpu = e.cpu;
    /* SDM Vol. 2B SYSCALL: RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~FMASK. */
    cr_assert_eq(cpu->gpr[X86_R9], H_UCODE + 2);
    cr_assert_eq(cpu->gpr[X86_R8], user_flags);
    cr_assert_eq(cpu->gpr[X86_R10], user_flags & ~0x47700ull);
    cr_assert_eq(cpu->gpr[X86_RBX] & 0xffff, 0x10, "CS = STAR[47:32]");
    cr_assert_eq(cpu->gpr[X86_RBP] & 0xffff, 0x18, "SS = STAR[47:32] + 8");
    /* SYSRET (REX.W): CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3,
     * RFLAGS = R11 & 3C7FD7H | 2; then UD2 at CPL 3, whose #UD frame has
     * RF = 1 (a fault-class exception, SDM Vol. 3B 18.3.1.1). */
    cr_assert_eq(cpu->rip, h_handler(X86_EXC_UD) + 1);
    cr_assert_eq(h_r64(&e, H_RSP0 - 40), H_UCODE + 2);
    cr_assert_eq(h_r64(&e, H_RSP0 - 32), 0x23 + 16);
    cr_assert_eq(h_r64(&e, H_RSP0 - 24), (user_flags & 0x3c7fd7) | 2 | X86_FLAG_RF);
    cr_assert_eq(h_r64(&e, H_RSP0 - 8), 0x23 + 8);
    h_fini(&e);
}

Test(excp, sysret_noncanonical_rcx_gp)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    setup_syscall(&e);
    /* mov rcx, 0x0000800000000000 ; sysretq -> #GP(0) at CPL 0 (Intel). */
    static const uint8_t code[] = { 0x48, 0xb9, 0, 0, 0, 0, 0, 0x80, 0, 0, 0x48, 0x0f, 0x07 };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_GP) + 1);
    cr_assert_eq(h_r64(&e, 0x8000 - 48), 0);
    cr_assert_eq(h_r64(&e, 0x8000 - 40), H_KCODE + 10);
    cr_assert_eq(h_r64(&e, 0x8000 - 32), H_KCS, "still CPL 0");
    h_fini(&e);
}

Test(excp, syscall_without_sce_is_ud)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    static const uint8_t code[] = { 0x0f, 0x05 };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_UD) + 1);
    h_fini(&e);
}

/* ---------------------------------------------------------------- MSR faults through the IDT */

Test(excp, rdmsr_unknown_delivers_gp0)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* mov ecx, 0x12345 ; rdmsr  (what Linux's rdmsr_safe probes rely on) */
    static const uint8_t code[] = { 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x32 };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_GP) + 1);
    cr_assert_eq(h_r64(&e, 0x8000 - 48), 0);
    cr_assert_eq(h_r64(&e, 0x8000 - 40), H_KCODE + 5, "RIP of RDMSR");
    h_fini(&e);
}
