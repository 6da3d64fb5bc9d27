/*
 * tests/unit/test_system.c - CPUID, MSRs, control registers, segment loads,
 * far transfers, POPF/STI rules and port-I/O protection on a real vCPU.
 *
 * Oracles: the host CPU's own CPUID bit positions for the features every
 * x86-64 CPU has; the SDM's stated values and rules (Vol. 2A CPUID leaf
 * layouts, Vol. 3A 2.5 CR checks, 9.8.5 IA-32e activation, 5.5-5.7 segment
 * privilege checks, 7.2.4 TSS busy bit, Vol. 1 19.5 I/O bitmap, Vol. 2B
 * POPF), applied to inputs this test chose.
 */
#include <cpuid.h>

#include <criterion/criterion.h>

#include "sys_harness.h"

/* ---------------------------------------------------------------- CPUID */

static void cpuid_of(struct sys_env *e, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    x86_cpuid(e->cpu, leaf, sub, r);
}

Test(cpuid, vendor_and_max_leaves)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    uint32_t r[4];
    cpuid_of(&e, 0, 0, r);
    char vendor[13] = { 0 };
    memcpy(vendor, &r[1], 4);       /* EBX, EDX, ECX (SDM Vol. 2A CPUID leaf 0) */
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    cr_assert_str_eq(vendor, "GenuineIntel");
    cr_assert_geq(r[0], 0x16u, "leaves 7, 0x15 and 0x16 are implemented");
    cpuid_of(&e, 0x80000000, 0, r);
    cr_assert_geq(r[0], 0x80000008u);
    h_fini(&e);
}

Test(cpuid, baseline_bits_match_host_positions)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    unsigned a, b, c, d;
    cr_assert(__get_cpuid(1, &a, &b, &c, &d));
    /* FPU TSC MSR PAE CX8 CMOV MMX FXSR SSE SSE2 PSE PGE PAT: all x86-64 CPUs. */
    uint32_t mask1 = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) |
                     (1u << 13) | (1u << 15) | (1u << 16) | (1u << 23) | (1u << 24) |
                     (1u << 25) | (1u << 26);
    uint32_t r[4];
    cpuid_of(&e, 1, 0, r);
    cr_assert_eq(r[3] & mask1, d & mask1);
    cr_assert(r[2] & (1u << 31), "hypervisor bit");
    cr_assert_eq(r[1] >> 24, 0, "initial APIC ID = vCPU index 0");
    cr_assert_eq((r[1] >> 8) & 0xff, 8, "CLFLUSH line 64 bytes");
    cr_assert(__get_cpuid(0x80000001, &a, &b, &c, &d));
    uint32_t mask81 = (1u << 11) | (1u << 20) | (1u << 29);   /* SYSCALL NX LM */
    cpuid_of(&e, 0x80000001, 0, r);
    cr_assert_eq(r[3] & mask81, d & mask81);
    h_fini(&e);
}

Test(cpuid, tsc_leaves_hypervisor_brand_address_sizes)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    uint32_t r[4];
    cpuid_of(&e, 0x15, 0, r);
    cr_assert_neq(r[0], 0);
    /* TSC Hz = ECX * EBX / EAX (SDM Vol. 2A CPUID leaf 15H). */
    cr_assert_eq((uint64_t)r[2] * r[1] / r[0], X86_TSC_HZ);
    cpuid_of(&e, 0x16, 0, r);
    cr_assert_eq((uint64_t)r[0] * 1000000, X86_TSC_HZ);
    cpuid_of(&e, 0x40000000, 0, r);
    char sig[13] = { 0 };
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    cr_assert_str_eq(sig, "qtemuqtemuqt");
    char brand[49] = { 0 };
    for (uint32_t l = 0; l < 3; l++) {
        cpuid_of(&e, 0x80000002 + l, 0, r);
        memcpy(brand + 16 * l, r, 16);
    }
    cr_assert_str_eq(brand, "qtemu x86-64 CPU");
    cpuid_of(&e, 0x80000008, 0, r);
    cr_assert_eq(r[0] & 0xff, 40);
    cr_assert_eq((r[0] >> 8) & 0xff, 48);
    cpuid_of(&e, 7, 0, r);
    cr_assert_eq(r[1] & (1u << 7), 0, "qemu64: no SMEP");
    h_fini(&e);

    h_init_long(&e, X86_CPU_MAX);
    cpuid_of(&e, 7, 0, r);
    cr_assert(r[2] & (1u << 16), "max: LA57");
    cpuid_of(&e, 0x80000008, 0, r);
    cr_assert_eq((r[0] >> 8) & 0xff, 57);
    h_fini(&e);
}

/* ---------------------------------------------------------------- MSRs */

Test(msr, efer_rules)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    struct x86_cpu *cpu = e.cpu;
    uint64_t efer = cpu->efer;
    /* Reserved bits (SDM Vol. 4 Table 2-2: only SCE, LME, LMA, NXE). */
    cr_assert_not(x86_msr_write(cpu, MSR_EFER, efer | (1ull << 1)));
    cr_assert_not(x86_msr_write(cpu, MSR_EFER, efer | (1ull << 12)));
    cr_assert_eq(cpu->efer, efer);
    /* LME cannot change while CR0.PG = 1. */
    cr_assert_not(x86_msr_write(cpu, MSR_EFER, efer & ~X86_EFER_LME));
    /* LMA is read-only: a write without it keeps it. */
    cr_assert(x86_msr_write(cpu, MSR_EFER, (efer & ~X86_EFER_LMA) | X86_EFER_SCE | X86_EFER_NXE));
    cr_assert_eq(cpu->efer, efer | X86_EFER_SCE | X86_EFER_NXE);
    uint64_t v;
    cr_assert(x86_msr_read(cpu, MSR_EFER, &v));
    cr_assert_eq(v, cpu->efer);
    h_fini(&e);
}

Test(msr, pat_bases_unknown_tsc)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    struct x86_cpu *cpu = e.cpu;
    uint64_t v;
    /* PAT types 2, 3 and > 7 are reserved (SDM Vol. 3A Table 11-10). */
    cr_assert(x86_msr_write(cpu, MSR_IA32_PAT, 0x0007040600070406ull));
    cr_assert_not(x86_msr_write(cpu, MSR_IA32_PAT, 0x0007040600070402ull));
    cr_assert_not(x86_msr_write(cpu, MSR_IA32_PAT, 0x0807040600070406ull));
    cr_assert(x86_msr_read(cpu, MSR_IA32_PAT, &v));
    cr_assert_eq(v, 0x0007040600070406ull);
    /* FS/GS base: canonical only; the segment base follows. */
    cr_assert_not(x86_msr_write(cpu, MSR_FS_BASE, 0x0000800000000000ull));
    cr_assert(x86_msr_write(cpu, MSR_FS_BASE, 0xffff800000001000ull));
    cr_assert_eq(cpu->seg[X86_FS].base, 0xffff800000001000ull);
    cr_assert(x86_msr_write(cpu, MSR_KERNEL_GS_BASE, 0x1234000));
    cr_assert_not(x86_msr_write(cpu, MSR_LSTAR, 0x00ff000000000000ull));
    /* Unknown MSRs do not exist. */
    cr_assert_not(x86_msr_read(cpu, 0x12345, &v));
    cr_assert_not(x86_msr_write(cpu, 0x12345, 0));
    /* TSC write then read: the TSC keeps counting from the written value. */
    cr_assert(x86_msr_write(cpu, MSR_IA32_TSC, 1000000000000ull));
    cr_assert(x86_msr_read(cpu, MSR_IA32_TSC, &v));
    cr_assert_geq(v, 1000000000000ull);
    cr_assert_lt(v, 1000000000000ull + 10 * X86_TSC_HZ);
    /* Microcode revision protocol (SDM Vol. 3A 9.11.7.1): write 0, read. */
    cr_assert(x86_msr_write(cpu, 0x8b, 0));
    cr_assert(x86_msr_read(cpu, 0x8b, &v));
    h_fini(&e);
}

/* ---------------------------------------------------------------- control registers */

struct cr_arg { uint64_t value; int which; };

static void do_write_cr(struct x86_cpu *cpu, void *p)
{
    struct cr_arg *a = p;
    if (a->which == 0)
        x86_write_cr0(cpu, a->value);
    else
        x86_write_cr4(cpu, a->value);
}

static int try_cr(struct x86_cpu *cpu, int which, uint64_t value)
{
    struct cr_arg a = { value, which };
    uint32_t err;
    return h_try(cpu, do_write_cr, &a, &err);
}

static void prot32_env(struct sys_env *e)
{
    memset(e, 0, sizeof(*e));
    guest_mem_init_pc(&e->mem, 16ull << 20, 0xC0000000ull, NULL);
    bus_init(&e->bus);
    e->v = x86_vcpu_create(0, X86_CPU_QEMU64, &e->mem, &e->bus);
    e->cpu = x86_cpu_of(e->v);
    uint64_t gdt[8] = {
        0,
        0x00cf9b000000ffffull,   /* 0x08 code32 DPL0 */
        0x00cf93000000ffffull,   /* 0x10 data DPL0 */
        0x00cff3000000ffffull,   /* 0x18 data DPL3 */
        0x00cf13000000ffffull,   /* 0x20 data, not present */
        0x00cf98000000ffffull,   /* 0x28 execute-only code */
        0x00cf92000000ffffull,   /* 0x30 data, accessed bit clear */
        0x00af9b000000ffffull,   /* 0x38 code64 */
    };
    gpa_write(&e->mem, H_GDT, gdt, sizeof(gdt));
    x86_vcpu_setup_prot32_entry(e->v, 0x20000, 0, 0, H_GDT, sizeof(gdt) - 1, 0x08, 0x10);
    e->cpu->gpr[X86_RSP] = 0x8000;
}

Test(cr, long_mode_activation_and_checks)
{
    struct sys_env e;
    prot32_env(&e);
    struct x86_cpu *cpu = e.cpu;
    cpu->cr3 = H_PML4;
    cpu->efer = X86_EFER_LME;
    /* PG with LME but without PAE: #GP(0) (SDM Vol. 3A 9.8.5). */
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 | X86_CR0_PG), X86_EXC_GP);
    cr_assert_not(cpu->efer & X86_EFER_LMA);
    cr_assert_eq(try_cr(cpu, 4, X86_CR4_PAE), -1);
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 | X86_CR0_PG), -1);
    cr_assert(cpu->efer & X86_EFER_LMA, "CR0.PG with EFER.LME sets EFER.LMA");
    cr_assert_eq(cpu->code_mode, X86_MODE_32, "compatibility mode until a 64-bit CS is loaded");
    /* PAE cannot be cleared while LMA = 1. */
    cr_assert_eq(try_cr(cpu, 4, 0), X86_EXC_GP);
    /* PG without PE, NW without CD: #GP(0) (SDM Vol. 3A 2.5). */
    cr_assert_eq(try_cr(cpu, 0, X86_CR0_PG), X86_EXC_GP);
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 | X86_CR0_NW), X86_EXC_GP);
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 | (1ull << 32)), X86_EXC_GP);
    /* Leaving paging from compatibility mode clears LMA. */
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 & ~X86_CR0_PG), -1);
    cr_assert_not(cpu->efer & X86_EFER_LMA);
    h_fini(&e);
}

Test(cr, cr4_reserved_and_gated_bits)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    struct x86_cpu *cpu = e.cpu;
    cr_assert_eq(try_cr(cpu, 4, cpu->cr4 | (1ull << 25)), X86_EXC_GP);
    cr_assert_eq(try_cr(cpu, 4, cpu->cr4 | X86_CR4_SMEP), X86_EXC_GP, "SMEP not advertised");
    cr_assert_eq(try_cr(cpu, 4, cpu->cr4 | X86_CR4_PGE | X86_CR4_OSFXSR), -1);
    /* Clearing PG in 64-bit mode: #GP(0). */
    cr_assert_eq(try_cr(cpu, 0, cpu->cr0 & ~X86_CR0_PG), X86_EXC_GP);
    h_fini(&e);
    h_init_long(&e, X86_CPU_MAX);
    cr_assert_eq(try_cr(e.cpu, 4, e.cpu->cr4 | X86_CR4_SMEP), -1);
    cr_assert_eq(try_cr(e.cpu, 4, e.cpu->cr4 | X86_CR4_LA57), X86_EXC_GP,
                 "LA57 cannot change while LMA = 1");
    h_fini(&e);
}

/* ---------------------------------------------------------------- segment loads */

struct seg_arg { int sreg; uint16_t sel; };

static void do_load(struct x86_cpu *cpu, void *p)
{
    struct seg_arg *a = p;
    x86_load_seg(cpu, a->sreg, a->sel);
}

static int try_load(struct x86_cpu *cpu, int sreg, uint16_t sel, uint32_t *err)
{
    struct seg_arg a = { sreg, sel };
    return h_try(cpu, do_load, &a, err);
}

Test(seg, protected_mode_load_checks)
{
    struct sys_env e;
    prot32_env(&e);
    struct x86_cpu *cpu = e.cpu;
    uint32_t err = 0;
    /* DS with a DPL 3 data segment at CPL 0: allowed (DPL >= CPL, RPL). */
    cr_assert_eq(try_load(cpu, X86_DS, 0x18, &err), -1);
    cr_assert_eq(cpu->seg[X86_DS].sel, 0x18);
    /* SS: DPL must equal CPL -> #GP(selector). */
    cr_assert_eq(try_load(cpu, X86_SS, 0x18, &err), X86_EXC_GP);
    cr_assert_eq(err, 0x18);
    /* SS null outside 64-bit mode: #GP(0). */
    cr_assert_eq(try_load(cpu, X86_SS, 0, &err), X86_EXC_GP);
    cr_assert_eq(err, 0);
    /* Not present: #NP(selector). */
    cr_assert_eq(try_load(cpu, X86_DS, 0x20, &err), X86_EXC_NP);
    cr_assert_eq(err, 0x20);
    /* Execute-only code into DS: #GP(selector). */
    cr_assert_eq(try_load(cpu, X86_ES, 0x2b, &err), X86_EXC_GP);
    cr_assert_eq(err, 0x28);
    /* Beyond the GDT limit: #GP(selector with RPL cleared). */
    cr_assert_eq(try_load(cpu, X86_FS, 0x43, &err), X86_EXC_GP);
    cr_assert_eq(err, 0x40);
    /* Null into GS is fine; using it would fault later. */
    cr_assert_eq(try_load(cpu, X86_GS, 0, &err), -1);
    /* The accessed bit is set in the GDT on a successful load (SDM Vol. 3A 3.4.5.1). */
    cr_assert_eq(try_load(cpu, X86_ES, 0x30, &err), -1);
    uint8_t type;
    gpa_read(&e.mem, H_GDT + 0x30 + 5, &type, 1);
    cr_assert_eq(type, 0x93);
    h_fini(&e);
}

Test(seg, lar_lsl)
{
    struct sys_env e;
    prot32_env(&e);
    static const uint8_t code[] = {
        0xb8, 0x08, 0x00, 0x00, 0x00,   /* mov eax, 8 */
        0x0f, 0x02, 0xd8,               /* lar ebx, eax */
        0x0f, 0x03, 0xc8,               /* lsl ecx, eax */
        0xf4,                           /* hlt */
    };
    h_code(&e, 0x20000, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    /* LAR: descriptor bits 63:32 masked with 00F0FF00H (SDM Vol. 2A LAR). */
    cr_assert_eq(e.cpu->gpr[X86_RBX], 0x00cf9b00u & 0x00f0ff00u);
    /* LSL: limit 0xFFFFF with G = 1 -> 0xFFFFFFFF. */
    cr_assert_eq(e.cpu->gpr[X86_RCX], 0xffffffffu);
    h_fini(&e);
}

/*
 * Run @code at 0000:7C00 in real-address mode with IVT[v] = 1000:v, each a
 * HLT; returns the vector taken (or -1 if the code's own HLT was reached).
 */
static int real_mode_vector(const uint8_t *code, size_t n)
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
    cpu->idtr = (struct x86_dtr){ 0, 0x3ff };
    for (uint32_t v = 0; v < 32; v++) {
        uint32_t ivt = (0x1000u << 16) | v;
        uint8_t hlt = 0xf4;
        gpa_write(&e.mem, v * 4, &ivt, 4);
        gpa_write(&e.mem, 0x10000 + v, &hlt, 1);
    }
    h_code(&e, 0x7c00, code, n);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    int vec = cpu->seg[X86_CS].sel == 0x1000 ? (int)cpu->rip - 1 : -1;
    h_fini(&e);
    return vec;
}

/* SDM Vol. 2A ARPL, LAR, LSL, VERR: "not recognized in real-address mode" (#UD). */
Test(seg, protection_insns_ud_in_real_mode)
{
    static const uint8_t arpl[] = { 0x63, 0xd8, 0xf4 };         /* arpl ax, bx */
    static const uint8_t lar[] = { 0x0f, 0x02, 0xc3, 0xf4 };    /* lar ax, bx */
    static const uint8_t lsl[] = { 0x0f, 0x03, 0xc3, 0xf4 };    /* lsl ax, bx */
    static const uint8_t verr[] = { 0x0f, 0x00, 0xe3, 0xf4 };   /* verr bx */
    static const uint8_t nop[] = { 0x90, 0xf4 };
    cr_assert_eq(real_mode_vector(nop, sizeof(nop)), -1);
    cr_assert_eq(real_mode_vector(arpl, sizeof(arpl)), X86_EXC_UD);
    cr_assert_eq(real_mode_vector(lar, sizeof(lar)), X86_EXC_UD);
    cr_assert_eq(real_mode_vector(lsl, sizeof(lsl)), X86_EXC_UD);
    cr_assert_eq(real_mode_vector(verr, sizeof(verr)), X86_EXC_UD);
}

/* ---------------------------------------------------------------- TR / LTR */

Test(seg, ltr_marks_tss_busy)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* Rewrite the TSS descriptor as available (type 9) and load it with LTR. */
    uint8_t type = 0x89;
    gpa_write(&e.mem, H_GDT + H_TR + 5, &type, 1);
    e.cpu->tr = (struct x86_seg){ 0 };
    static const uint8_t code[] = { 0x66, 0xb8, H_TR, 0x00,   /* mov ax, 0x40 */
                                    0x0f, 0x00, 0xd8,         /* ltr ax */
                                    0xf4 };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->rip, H_KCODE + sizeof(code), "no fault");
    cr_assert_eq(e.cpu->tr.base, H_TSS);
    cr_assert_eq(e.cpu->tr.limit, 0x67);
    gpa_read(&e.mem, H_GDT + H_TR + 5, &type, 1);
    cr_assert_eq(type, 0x8b, "busy bit set in the GDT (SDM Vol. 3A 7.2.4)");
    h_fini(&e);
}

/* ---------------------------------------------------------------- POPF / STI / I/O */

Test(flags, popf_at_cpl3_keeps_iopl_and_if)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    static const uint8_t user[] = {
        0x68, 0x03, 0x32, 0x00, 0x00,   /* push 0x3203: IOPL 3, IF, CF */
        0x9d,                           /* popfq */
        0x9c,                           /* pushfq */
        0x58,                           /* pop rax */
        0x0f, 0x0b,
    };
    h_code(&e, H_UCODE, user, sizeof(user));
    h_enter_user(&e, H_UCODE, 0x9000);
    x86_set_rflags(e.cpu, X86_FLAG_FIXED1);   /* IF = 0, IOPL = 0 */
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    /* SDM Vol. 2B POPF: at CPL 3 > IOPL neither IOPL nor IF change; CF does. */
    cr_assert_eq(e.cpu->gpr[X86_RAX], X86_FLAG_FIXED1 | X86_FLAG_CF);
    h_fini(&e);
}

Test(flags, sti_sets_interrupt_shadow)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    x86_set_rflags(e.cpu, X86_FLAG_FIXED1);
    static const uint8_t code[] = { 0xfb, 0x90, 0xf4 };   /* sti ; nop ; hlt */
    h_code(&e, H_KCODE, code, sizeof(code));
    vcpu_run(e.v, 1);
    cr_assert(e.cpu->rflags & X86_FLAG_IF);
    cr_assert(e.cpu->intr_shadow);
    cr_assert_eq(e.cpu->intr_shadow_rip, H_KCODE + 1);
    h_fini(&e);
}

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
    return 0x5a;
}

static void port_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
}

static const struct io_ops port_ops = { port_read, port_write, 1, 4 };

Test(io, tss_io_bitmap)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    struct io_region r = { .base = 0x80, .size_bytes = 2, .ops = &port_ops, .name = "test" };
    cr_assert_eq(io_space_add(&e.bus.pio, &r), 0);
    /* A TSS with a full bitmap at TSS + 0x68 (it does not fit below the IDT):
     * all ports denied except 0x80 (SDM Vol. 1 19.5.2). */
    const uint64_t tss = 0x60000;
    h_w64(&e, tss + 4, H_RSP0);
    uint16_t map = 0x68;
    gpa_write(&e.mem, tss + 102, &map, 2);
    static uint8_t bits[8193];
    memset(bits, 0xff, sizeof(bits));
    bits[0x80 / 8] &= (uint8_t)~(1u << (0x80 % 8));
    gpa_write(&e.mem, tss + 0x68, bits, sizeof(bits));
    e.cpu->tr.base = tss;
    e.cpu->tr.limit = 0x68 + 8192;
    static const uint8_t user[] = {
        0xe4, 0x80,        /* in al, 0x80 (allowed) */
        0x88, 0xc3,        /* mov bl, al */
        0xe4, 0x81,        /* in al, 0x81 (denied) */
        0x0f, 0x0b,
    };
    h_code(&e, H_UCODE, user, sizeof(user));
    h_enter_user(&e, H_UCODE, 0x9000);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_assert_eq(e.cpu->gpr[X86_RBX] & 0xff, 0x5a);
    cr_assert_eq(e.cpu->rip, h_handler(X86_EXC_GP) + 1);
    cr_assert_eq(h_r64(&e, H_RSP0 - 40), H_UCODE + 4);
    cr_assert_eq(h_r64(&e, H_RSP0 - 48), 0);
    h_fini(&e);
}

/* ---------------------------------------------------------------- SGDT */

Test(dtr, sgdt_layout_in_64bit_mode)
{
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    /* sgdt [0x6000] ; hlt  (0F 01 /0 with a disp32 absolute address via SIB) */
    static const uint8_t code[] = { 0x0f, 0x01, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, 0xf4 };
    h_code(&e, H_KCODE, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    /* SDM Vol. 2B SGDT: 2-byte limit, then the 8-byte base in 64-bit mode. */
    cr_assert_eq(h_r16(&e, 0x6000), 10 * 8 - 1);
    cr_assert_eq(h_r64(&e, 0x6002), H_GDT);
    h_fini(&e);
}
