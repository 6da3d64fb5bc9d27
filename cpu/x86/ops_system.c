/*
 * cpu/x86/ops_system.c - privileged and system instructions: the handler
 * registration for every system opcode (this file, seg.c, excp.c, ops_far.c,
 * ops_io.c, ops_ctrl.c), and HLT, CLI/STI, PUSHF/POPF, CPUID, RDMSR/WRMSR,
 * RDTSC, RDPMC, SYSCALL/SYSRET, SYSENTER/SYSEXIT, INVD/WBINVD, UD0/UD1/UD2.
 *
 * Follows the SDM Vol. 2 pseudo-code of each instruction, SDM Vol. 3A 6.8.3
 * (the STI interrupt shadow) and Vol. 1 3.4.3 / Vol. 3A 2.3 (which RFLAGS
 * bits POPF may change at each CPL/IOPL).
 *
 * Decided:
 *  - SYSCALL/SYSRET follow Intel: #UD outside 64-bit mode (we report
 *    GenuineIntel), #GP(0) for SYSRET to a non-canonical RCX.
 *  - There are no performance counters: RDPMC always raises #GP(0).
 *  - VME/PVI are not implemented: in vm86 the IOPL-sensitive instructions
 *    (CLI, STI, PUSHF, POPF, INT n, IRET) raise #GP(0) when IOPL < 3.
 */
#include <inttypes.h>

#include "cpu/x86/sys.h"
#include "util/log.h"

/* ---------------------------------------------------------------- HLT / CLI / STI */

/** F4: HLT (CPL 0); the run loop wakes the CPU on an interrupt or NMI. */
static void op_hlt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
    cpu->halted = true;
    cpu->exit_block = true;
}

/* CLI/STI protection (SDM Vol. 2A CLI/STI Operation): #GP(0) when CPL > IOPL in protected or vm86 mode (no VME/PVI). */
static void check_iopl(struct x86_cpu *cpu)
{
    if (!(cpu->cr0 & X86_CR0_PE))
        return;
    if (cpu->cpl > x86_iopl(cpu))
        x86_raise_gp0(cpu);
}

/** FA: CLI. */
static void op_cli(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    check_iopl(cpu);
    cpu->rflags &= ~X86_FLAG_IF;
}

/** FB: STI; if IF was 0, interrupts stay blocked until the next instruction retires. */
static void op_sti(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    check_iopl(cpu);
    if (!(cpu->rflags & X86_FLAG_IF)) {
        cpu->rflags |= X86_FLAG_IF;
        cpu->intr_shadow = true;
        cpu->intr_shadow_rip = cpu->next_rip;
    }
    cpu->exit_block = true;
}

/* ---------------------------------------------------------------- PUSHF / POPF */

/** 9C: PUSHF/PUSHFD/PUSHFQ - the image has VM and RF clear. */
static void op_pushf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (x86_vm86(cpu) && x86_iopl(cpu) < 3)
        x86_raise_gp0(cpu);
    uint64_t v = x86_get_rflags(cpu) & ~(X86_FLAG_VM | X86_FLAG_RF);
    x86_push(cpu, v & x86_size_mask(insn->opsize), insn->opsize);
}

/**
 * 9D: POPF/POPFD/POPFQ (SDM Vol. 2B POPF): at CPL 0 everything but VM, VIF,
 * VIP may change; IOPL only at CPL 0; IF only when CPL <= IOPL; RF is
 * cleared (32/64-bit forms); a 16-bit POPF changes only bits 15:0.
 */
static void op_popf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    bool vm86 = x86_vm86(cpu);
    if (vm86 && x86_iopl(cpu) < 3)
        x86_raise_gp0(cpu);
    uint64_t v = x86_pop(cpu, size);
    uint64_t mask = 0x257fd5;   /* ID AC NT IOPL OF DF IF TF SF ZF AF PF CF */
    if (vm86) {
        mask &= ~X86_FLAG_IOPL;
    } else if ((cpu->cr0 & X86_CR0_PE) && cpu->cpl > 0) {
        mask &= ~X86_FLAG_IOPL;
        if (cpu->cpl > x86_iopl(cpu))
            mask &= ~X86_FLAG_IF;
    }
    uint64_t old = x86_get_rflags(cpu);
    if (size == 2)
        mask &= 0xffff;
    else
        old &= ~X86_FLAG_RF;
    x86_set_rflags(cpu, (old & ~mask) | (v & mask));
    cpu->exit_block = true;
}

/* ---------------------------------------------------------------- CPUID / MSR / TSC */

/** 0F A2: CPUID - EAX = leaf, ECX = subleaf; results zero-extend into RAX..RDX. */
static void op_cpuid(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint32_t out[4];
    x86_cpuid(cpu, (uint32_t)cpu->gpr[X86_RAX], (uint32_t)cpu->gpr[X86_RCX], out);
    cpu->gpr[X86_RAX] = out[0];
    cpu->gpr[X86_RBX] = out[1];
    cpu->gpr[X86_RCX] = out[2];
    cpu->gpr[X86_RDX] = out[3];
}

/** 0F 32: RDMSR ECX -> EDX:EAX; #GP(0) at CPL > 0 or for an MSR that does not exist. */
static void op_rdmsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
    uint64_t v;
    if (!x86_msr_read(cpu, (uint32_t)cpu->gpr[X86_RCX], &v))
        x86_raise_gp0(cpu);
    cpu->gpr[X86_RAX] = (uint32_t)v;
    cpu->gpr[X86_RDX] = v >> 32;
}

/** 0F 30: WRMSR EDX:EAX -> MSR[ECX]; #GP(0) on CPL > 0, unknown MSR or invalid value. */
static void op_wrmsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
    uint64_t v = (uint32_t)cpu->gpr[X86_RAX] | (cpu->gpr[X86_RDX] << 32);
    if (!x86_msr_write(cpu, (uint32_t)cpu->gpr[X86_RCX], v))
        x86_raise_gp0(cpu);
    cpu->exit_block = true;
}

/** 0F 31: RDTSC; #GP(0) with CR4.TSD at CPL > 0. */
static void op_rdtsc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl != 0 && (cpu->cr0 & X86_CR0_PE))
        x86_raise_gp0(cpu);
    uint64_t tsc = x86_rdtsc(cpu);
    cpu->gpr[X86_RAX] = (uint32_t)tsc;
    cpu->gpr[X86_RDX] = tsc >> 32;
}

/** 0F 33: RDPMC - no performance counters are implemented. */
static void op_rdpmc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise_gp0(cpu);
}

/* ---------------------------------------------------------------- SYSCALL / SYSRET */

/** 0F 05: SYSCALL (SDM Vol. 2B): RCX = next RIP, R11 = RFLAGS, CS/SS from STAR[47:32]. */
static void op_syscall(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(cpu->efer & X86_EFER_SCE) || cpu->code_mode != X86_MODE_64)
        x86_raise(cpu, X86_EXC_UD);
    uint64_t rflags = x86_get_rflags(cpu) & ~X86_FLAG_RF;
    uint16_t sel = (uint16_t)(cpu->star >> 32);
    cpu->gpr[X86_RCX] = cpu->next_rip;
    cpu->gpr[X86_R11] = rflags;
    x86_seg_load_flat(cpu, X86_CS, sel & 0xfffc, 0, true, true);
    x86_seg_load_flat(cpu, X86_SS, (uint16_t)(sel + 8), 0, false, false);
    x86_set_rflags(cpu, rflags & ~cpu->sfmask);
    cpu->next_rip = cpu->lstar;
    x86_update_mode(cpu);
}

/** 0F 07: SYSRET (REX.W: to 64-bit mode, CS = STAR[63:48] + 16; else compat, CS = STAR[63:48]). */
static void op_sysret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(cpu->efer & X86_EFER_SCE) || cpu->code_mode != X86_MODE_64)
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
    bool to64 = insn->opsize == 8;
    uint64_t rip = cpu->gpr[X86_RCX];
    if (to64 && !x86_is_canonical(cpu, rip))
        x86_raise_gp0(cpu);
    if (!to64)
        rip = (uint32_t)rip;
    uint16_t sel = (uint16_t)(cpu->star >> 48);
    x86_seg_load_flat(cpu, X86_CS, (uint16_t)((to64 ? sel + 16 : sel) | 3), 3, true, to64);
    x86_seg_load_flat(cpu, X86_SS, (uint16_t)((sel + 8) | 3), 3, false, false);
    x86_set_rflags(cpu, (cpu->gpr[X86_R11] & 0x3c7fd7) | X86_FLAG_FIXED1);
    cpu->next_rip = rip;
    x86_update_mode(cpu);
}

/* ---------------------------------------------------------------- SYSENTER / SYSEXIT */

/** 0F 34: SYSENTER (SDM Vol. 2B): CS/SS/RSP/RIP from the IA32_SYSENTER_* MSRs, CPL 0. */
static void op_sysenter(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(cpu->cr0 & X86_CR0_PE) || (cpu->sysenter_cs & 0xfffc) == 0)
        x86_raise_gp0(cpu);
    bool lm = x86_long_mode(cpu);
    uint16_t cs = (uint16_t)cpu->sysenter_cs;
    x86_set_rflags(cpu, x86_get_rflags(cpu) & ~(X86_FLAG_VM | X86_FLAG_IF | X86_FLAG_RF));
    x86_seg_load_flat(cpu, X86_CS, cs & 0xfffc, 0, true, lm);
    x86_seg_load_flat(cpu, X86_SS, (uint16_t)((cs + 8) & 0xfffc), 0, false, false);
    cpu->gpr[X86_RSP] = lm ? cpu->sysenter_esp : (uint32_t)cpu->sysenter_esp;
    cpu->next_rip = lm ? cpu->sysenter_eip : (uint32_t)cpu->sysenter_eip;
    x86_update_mode(cpu);
}

/** 0F 35: SYSEXIT (REX.W: to 64-bit mode, CS = SYSENTER_CS + 32; else + 16). */
static void op_sysexit(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(cpu->cr0 & X86_CR0_PE) || cpu->cpl != 0 || (cpu->sysenter_cs & 0xfffc) == 0)
        x86_raise_gp0(cpu);
    bool to64 = insn->opsize == 8;
    uint64_t rip = cpu->gpr[X86_RDX], rsp = cpu->gpr[X86_RCX];
    if (to64 && (!x86_is_canonical(cpu, rip) || !x86_is_canonical(cpu, rsp)))
        x86_raise_gp0(cpu);
    if (!to64) {
        rip = (uint32_t)rip;
        rsp = (uint32_t)rsp;
    }
    uint16_t cs = (uint16_t)cpu->sysenter_cs;
    x86_seg_load_flat(cpu, X86_CS, (uint16_t)((cs + (to64 ? 32 : 16)) | 3), 3, true, to64);
    x86_seg_load_flat(cpu, X86_SS, (uint16_t)((cs + (to64 ? 40 : 24)) | 3), 3, false, false);
    cpu->gpr[X86_RSP] = rsp;
    cpu->next_rip = rip;
    x86_update_mode(cpu);
}

/* ---------------------------------------------------------------- misc */

/** 0F 08 INVD, 0F 09 WBINVD: no caches to manage; CPL 0 only. */
static void op_invd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
}

/** 0F 0B UD2, 0F B9 UD1, 0F FF UD0: the architecturally undefined opcodes. */
static void op_ud(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise(cpu, X86_EXC_UD);
}

/* ---------------------------------------------------------------- registration */

void x86_ops_system_init(x86_exec_fn *table)
{
#define P(b) X86_OP(X86_MAP_PRIMARY, b)
#define T(b) X86_OP(X86_MAP_0F, b)
    /* seg.c */
    table[P(0x06)] = table[P(0x0e)] = table[P(0x16)] = table[P(0x1e)] = x86_op_push_sreg;
    table[T(0xa0)] = table[T(0xa8)] = x86_op_push_sreg;
    table[P(0x07)] = table[P(0x17)] = table[P(0x1f)] = x86_op_pop_sreg;
    table[T(0xa1)] = table[T(0xa9)] = x86_op_pop_sreg;
    table[P(0x8c)] = x86_op_mov_rm_sreg;
    table[P(0x8e)] = x86_op_mov_sreg_rm;
    table[P(0xc4)] = table[P(0xc5)] = x86_op_load_far_ptr;
    table[T(0xb2)] = table[T(0xb4)] = table[T(0xb5)] = x86_op_load_far_ptr;
    table[T(0x00)] = x86_op_grp6;
    table[T(0x02)] = x86_op_lar;
    table[T(0x03)] = x86_op_lsl;
    /* excp.c */
    table[P(0xcc)] = x86_op_int3;
    table[P(0xcd)] = x86_op_int_imm;
    table[P(0xce)] = x86_op_into;
    table[P(0xf1)] = x86_op_int1;
    table[P(0xcf)] = x86_op_iret;
    /* ops_far.c */
    table[P(0xea)] = x86_op_jmpf_ptr;
    table[P(0x9a)] = x86_op_callf_ptr;
    table[P(0xca)] = table[P(0xcb)] = x86_op_retf;
    /* ops_io.c */
    table[P(0xe4)] = table[P(0xe5)] = table[P(0xec)] = table[P(0xed)] = x86_op_in;
    table[P(0xe6)] = table[P(0xe7)] = table[P(0xee)] = table[P(0xef)] = x86_op_out;
    /* ops_ctrl.c */
    table[T(0x01)] = x86_op_grp7;
    table[T(0x20)] = x86_op_mov_from_cr;
    table[T(0x22)] = x86_op_mov_to_cr;
    table[T(0x21)] = x86_op_mov_from_dr;
    table[T(0x23)] = x86_op_mov_to_dr;
    table[T(0x06)] = x86_op_clts;
    table[X86_OP(X86_MAP_0F38, 0x82)] = x86_op_invpcid;
    /* this file */
    table[P(0xf4)] = op_hlt;
    table[P(0xfa)] = op_cli;
    table[P(0xfb)] = op_sti;
    table[P(0x9c)] = op_pushf;
    table[P(0x9d)] = op_popf;
    table[T(0xa2)] = op_cpuid;
    table[T(0x30)] = op_wrmsr;
    table[T(0x31)] = op_rdtsc;
    table[T(0x32)] = op_rdmsr;
    table[T(0x33)] = op_rdpmc;
    table[T(0x05)] = op_syscall;
    table[T(0x07)] = op_sysret;
    table[T(0x34)] = op_sysenter;
    table[T(0x35)] = op_sysexit;
    table[T(0x08)] = table[T(0x09)] = op_invd;
    table[T(0x0b)] = table[T(0xb9)] = table[T(0xff)] = op_ud;
#undef P
#undef T
}
