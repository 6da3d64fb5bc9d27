/*
 * tests/unit/test_pcid.c - PCID and INVPCID rules the test ROM (which runs
 * in 64-bit mode only) cannot reach: CR4.PCIDE outside IA-32e mode, CR0.PG
 * with PCIDE=1 in compatibility mode, the 32-bit INVPCID register operand
 * outside 64-bit mode, and which CPU model advertises the features.
 *
 * Oracles: SDM Vol. 3A 4.10.1 (PCIDE only with IA32_EFER.LMA = 1 and
 * CR3[11:0] = 0), Vol. 2B MOV-Control Registers (#GP(0) clearing CR0.PG
 * while CR4.PCIDE = 1; CR3 bit 63 with PCIDE=1 is not stored), Vol. 2A
 * INVPCID ("Outside 64-bit mode, the register operand is always 32 bits";
 * #GP(0) if the type is > 3), applied to inputs this test chose.
 */
#include <criterion/criterion.h>

#include "tests/unit/sys_harness.h"

#define DESC_GPA  0x6000ull
#define SEL_CODE32 0x38   /* 32-bit DPL0 code segment added in slot 7 */

struct cr_arg { uint64_t value; int which; };

static void do_write_cr(struct x86_cpu *cpu, void *p)
{
    struct cr_arg *a = p;
    switch (a->which) {
    case 0: x86_write_cr0(cpu, a->value); break;
    case 3: x86_write_cr3(cpu, a->value); break;
    default: x86_write_cr4(cpu, a->value); break;
    }
}

/* Write CR@which; -1 if that worked, else the vector (error code must be 0). */
static int try_cr(struct x86_cpu *cpu, int which, uint64_t value)
{
    struct cr_arg a = { value, which };
    uint32_t err = 0;
    int vec = h_try(cpu, do_write_cr, &a, &err);
    if (vec >= 0)
        cr_assert_eq(err, 0, "#GP(0)");
    return vec;
}

/* 32-bit protected mode without paging on the max model. */
static void prot32_max(struct sys_env *e)
{
    memset(e, 0, sizeof(*e));
    guest_mem_init_pc(&e->mem, 16ull << 20, 0xC0000000ull, NULL);
    bus_init(&e->bus);
    e->v = x86_vcpu_create(0, X86_CPU_MAX, &e->mem, &e->bus);
    e->cpu = x86_cpu_of(e->v);
    uint64_t gdt[3] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
    gpa_write(&e->mem, H_GDT, gdt, sizeof(gdt));
    x86_vcpu_setup_prot32_entry(e->v, 0x20000, 0, 0, H_GDT, sizeof(gdt) - 1, 0x08, 0x10);
    e->cpu->gpr[X86_RSP] = 0x8000;
    /* IA-32e page tables for the activation below (2 MiB identity pages). */
    h_w64(e, H_PML4, 0x2000 | 7);
    h_w64(e, 0x2000, 0x3000 | 7);
    h_w64(e, 0x3000, 0x87);
}

Test(pcid, advertised_by_max_only)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    cr_assert_not(x86_has_feature(e.cpu, X86_FEAT_PCID));
    cr_assert_not(x86_has_feature(e.cpu, X86_FEAT_INVPCID));
    cr_assert_eq(try_cr(e.cpu, 4, e.cpu->cr4 | X86_CR4_PCIDE), X86_EXC_GP,
                 "PCIDE is reserved without CPUID.01H:ECX.PCID");
    h_fini(&e);
    h_init_long(&e, X86_CPU_MAX);
    cr_assert(x86_has_feature(e.cpu, X86_FEAT_PCID));
    cr_assert(x86_has_feature(e.cpu, X86_FEAT_INVPCID));
    h_fini(&e);
}

Test(pcid, pcide_needs_ia32e_mode_and_blocks_clearing_pg)
{
    struct sys_env e;
    prot32_max(&e);
    struct x86_cpu *cpu = e.cpu;
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PCIDE), X86_EXC_GP, "LMA = 0: PCIDE cannot be set");
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PAE | X86_CR4_PCIDE), X86_EXC_GP);
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PAE), -1);
    cpu->efer = X86_EFER_LME;
    cr_assert_eq(try_cr(cpu, 3, H_PML4 | 0x8), -1);
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 | X86_CR0_PG), -1);
    cr_assert(cpu->efer & X86_EFER_LMA);
    cr_assert_eq(cpu->code_mode, X86_MODE_32, "compatibility mode");
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PAE | X86_CR4_PCIDE), X86_EXC_GP, "CR3[11:0] = 8");
    cr_assert_eq(try_cr(cpu, 3, H_PML4), -1);
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PAE | X86_CR4_PCIDE), -1, "LMA = 1, CR3[11:0] = 0");
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 & ~X86_CR0_PG), X86_EXC_GP, "PCIDE = 1: PG stays");
    cr_assert(cpu->efer & X86_EFER_LMA);
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PAE), -1);
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 & ~X86_CR0_PG), -1, "PCIDE = 0: PG can be cleared");
    cr_assert_not(cpu->efer & X86_EFER_LMA);
    h_fini(&e);
}

Test(pcid, cr3_pcid_and_no_flush_bit)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_MAX);
    struct x86_cpu *cpu = e.cpu;
    cr_assert_eq(try_cr(cpu, 3, H_PML4 | (1ull << 63)), X86_EXC_GP, "PCIDE = 0: bit 63 reserved");
    cr_assert_eq(try_cr(cpu, 4, cpu->cr4 | X86_CR4_PCIDE), -1);
    cr_assert_eq(try_cr(cpu, 3, H_PML4 | 0x123 | (1ull << 63)), -1);
    cr_assert_eq(cpu->cr3, H_PML4 | 0x123, "bit 63 is not stored, the PCID is");
    cr_assert_eq(try_cr(cpu, 3, H_PML4 | (1ull << 40)), X86_EXC_GP, "beyond MAXPHYADDR");
    h_fini(&e);
}

/* INVPCID (%rcx/%ecx), %rax/%eax ; HLT, with type @rax and a zero descriptor. */
static void run_invpcid(struct sys_env *e, uint64_t rax)
{
    static const uint8_t code[] = { 0x66, 0x0f, 0x38, 0x82, 0x01, 0xf4 };
    h_code(e, H_KCODE, code, sizeof(code));
    h_w64(e, DESC_GPA, 0);
    h_w64(e, DESC_GPA + 8, 0);
    e->cpu->gpr[X86_RCX] = DESC_GPA;
    e->cpu->gpr[X86_RAX] = rax;
    cr_assert_eq(h_run(e), VCPU_EXIT_HALT);
}

Test(pcid, invpcid_register_operand_width)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_MAX);
    run_invpcid(&e, 0x100000002ull);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_GP) + 1, "64-bit mode: type 0x100000002 > 3");
    h_fini(&e);

    h_init_long(&e, X86_CPU_MAX);
    run_invpcid(&e, 2);
    cr_assert_eq(e.cpu->rip, H_KCODE + 6, "64-bit mode: type 2 works");
    h_fini(&e);

    /* Compatibility mode: a 32-bit DPL0 code segment in GDT slot 7. */
    h_init_long(&e, X86_CPU_MAX);
    h_w64(&e, H_GDT + SEL_CODE32, 0x00cf9b000000ffffull);
    x86_seg_from_desc(&e.cpu->seg[X86_CS], SEL_CODE32, 0x00cf9b000000ffffull);
    x86_update_mode(e.cpu);
    cr_assert_eq(e.cpu->code_mode, X86_MODE_32);
    run_invpcid(&e, 0x100000002ull);
    cr_assert_eq(e.cpu->rip, H_KCODE + 6, "compatibility mode: EAX = 2 is the type");
    h_fini(&e);

    h_init_long(&e, X86_CPU_MAX);
    x86_seg_from_desc(&e.cpu->seg[X86_CS], SEL_CODE32, 0x00cf9b000000ffffull);
    x86_update_mode(e.cpu);
    run_invpcid(&e, 4);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_GP) + 1, "compatibility mode: type 4");
    h_fini(&e);
}
