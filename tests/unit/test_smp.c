/*
 * tests/unit/test_smp.c - SMP on the x86 interpreter: several real vCPUs with
 * real local APICs (devices/lapic.c) on one bus and one guest RAM, as the pc
 * board wires them. The BSP runs guest code that writes the ICR through the
 * APIC page; the APs run what the start-up IPI points them at.
 *
 * Oracles:
 *  - Intel SDM Vol. 3A "Multiple-Processor (MP) Initialization" (9.4): APs
 *    wait for SIPI after reset/INIT, the BSP runs; a SIPI with vector VV
 *    starts the AP in real mode at CS = VV00h, IP = 0 (10.6.1 Start-Up); a
 *    second SIPI, or one to a running CPU, is ignored; in wait-for-SIPI,
 *    NMI and INTR are held;
 *  - SDM Vol. 3A Table 9-1: INIT keeps the SSE registers, MXCSR and the
 *    other MSRs, CR0.CD/NW (note 2), clears EFER and returns to real mode;
 *  - SDM Vol. 3A 10.4.1/10.4.6: every CPU sees its own APIC at 0xFEE00000,
 *    whose ID register holds the initial APIC ID, which CPUID.01H:EBX[31:24]
 *    reports too (a second module, cpuid.c, must agree);
 *  - self-modifying code across CPUs: a store by one CPU to code another one
 *    has executed must be seen when the other one runs it again (SDM Vol. 3A
 *    8.1.3 "Handling Self- and Cross-Modifying Code").
 *
 * Guest code bytes were assembled with GNU as (the source is in comments).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/x86/x86.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

#define NCPU_MAX 3
#define GDT_GPA  0x800ull
#define BSP_CODE 0x20000ull
#define AP_CODE  0x8000ull          /* SIPI vector 0x08 */
#define COUNTER  0x9000ull

struct smp_env {
    struct guest_mem mem;
    struct bus bus;
    int n;
    struct vcpu *v[NCPU_MAX];
    struct lapic *apic[NCPU_MAX];
};

static struct smp_env e;

/** Build @n vCPUs + APICs as boot/pc.c does (APIC ID = vCPU index), then reset them. */
static void smp_init(int n)
{
    memset(&e, 0, sizeof(e));
    cr_assert_eq(guest_mem_init_pc(&e.mem, 16ull << 20, 0xC0000000ull, NULL), 0);
    bus_init(&e.bus);
    e.n = n;
    for (int i = 0; i < n; i++) {
        e.v[i] = x86_vcpu_create(i, X86_CPU_QEMU64, &e.mem, &e.bus);
        cr_assert_not_null(e.v[i]);
        e.apic[i] = lapic_create(&e.bus, (uint32_t)i, e.v[i]->pins, NULL);
        cr_assert_not_null(e.apic[i]);
        e.v[i]->intc = lapic_port(e.apic[i]);
    }
    lapic_set_cluster(e.apic, n);
    for (int i = 0; i < n; i++)
        e.v[i]->ops->reset(e.v[i]);     /* as machine_reset: BSP-ness from IA32_APIC_BASE */
    /* GDT: null, 0x08 flat code32, 0x10 flat data. */
    uint64_t gdt[3] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
    gpa_write(&e.mem, GDT_GPA, gdt, sizeof(gdt));
}

static void smp_fini(void)
{
    lapic_set_cluster(NULL, 0);
    for (int i = 0; i < e.n; i++)
        e.v[i]->ops->destroy(e.v[i]);
    bus_destroy(&e.bus);
    guest_mem_destroy(&e.mem);
}

static struct x86_cpu *cpu(int i) { return x86_cpu_of(e.v[i]); }

/** Put vCPU @i in flat 32-bit protected mode at @eip (paging off), running. */
static void run_prot32_at(int i, uint32_t eip)
{
    x86_vcpu_setup_prot32_entry(e.v[i], eip, 0, 0, GDT_GPA, 23, 0x08, 0x10);
    cpu(i)->wait_for_sipi = false;      /* a test shortcut: as if started */
}

static void put(uint64_t gpa, const void *bytes, size_t len)
{
    cr_assert_eq(gpa_write(&e.mem, gpa, bytes, len), 0);
}

static uint16_t rd16(uint64_t gpa)
{
    uint16_t v = 0;
    gpa_read(&e.mem, gpa, &v, 2);
    return v;
}

/* BSP: ICR_HI = APIC 1; INIT (assert, edge); SIPI 0x08; SIPI 0x08; hlt.
 *   movl $0x01000000, 0xfee00310; movl $0x4500, 0xfee00300
 *   movl $0x4608, 0xfee00300 (twice); hlt */
static const uint8_t bsp_init_sipi_sipi[] = {
    0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x01,
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x00, 0x45, 0x00, 0x00,
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x08, 0x46, 0x00, 0x00,
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x08, 0x46, 0x00, 0x00,
    0xf4,
};
/* AP trampoline, 16-bit: lock incw 0x9000; mov %cs,%ax; mov %ax,0x9002;
 * mov $0x12345678,%ebx; hlt */
static const uint8_t ap_trampoline[] = {
    0xf0, 0xff, 0x06, 0x00, 0x90, 0x8c, 0xc8, 0xa3, 0x02, 0x90,
    0x66, 0xbb, 0x78, 0x56, 0x34, 0x12, 0xf4,
};
/* movl $0x4609, 0xfee00300 (SIPI vector 9 to the ICR_HI destination); hlt */
static const uint8_t send_sipi9[] = { 0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x09, 0x46, 0x00, 0x00, 0xf4 };
/* movl $0x4500, 0xfee00300 (INIT to the ICR_HI destination); hlt */
static const uint8_t send_init[] = { 0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, 0x00, 0x45, 0x00, 0x00, 0xf4 };

Test(smp, reset_bsp_runs_aps_wait_for_sipi)
{
    smp_init(3);
    cr_assert_not(cpu(0)->wait_for_sipi);
    cr_assert_not(cpu(0)->halted);
    for (int i = 1; i < 3; i++) {
        cr_assert(cpu(i)->wait_for_sipi, "AP %d", i);
        uint64_t before = e.v[i]->insns_retired;
        cr_assert_eq(vcpu_run(e.v[i], 1000), VCPU_EXIT_HALT, "a waiting AP counts as halted");
        cr_assert_eq(e.v[i]->insns_retired, before, "and executes nothing");
    }
    /* NMI to a waiting AP is held (9.4): still waiting, nothing delivered. */
    lapic_deliver(e.apic[1], 0, 4 /* NMI */, false);
    cr_assert_eq(vcpu_run(e.v[1], 1000), VCPU_EXIT_HALT);
    cr_assert(cpu(1)->wait_for_sipi);
    smp_fini();
}

Test(smp, init_sipi_sipi_starts_ap_in_real_mode_once)
{
    smp_init(2);
    put(BSP_CODE, bsp_init_sipi_sipi, sizeof(bsp_init_sipi_sipi));
    put(AP_CODE, ap_trampoline, sizeof(ap_trampoline));
    run_prot32_at(0, BSP_CODE);
    cr_assert_eq(vcpu_run(e.v[0], 1000), VCPU_EXIT_HALT);
    cr_assert_eq(e.v[0]->insns_retired, 5);

    cr_assert_eq(vcpu_run(e.v[1], 1000), VCPU_EXIT_HALT);
    struct x86_cpu *ap = cpu(1);
    cr_assert_eq(rd16(COUNTER), 1, "the trampoline ran exactly once (second SIPI ignored)");
    cr_assert_eq(rd16(COUNTER + 2), 0x0800, "CS = VV00h");
    cr_assert_eq(ap->seg[X86_CS].sel, 0x0800);
    cr_assert_eq(ap->seg[X86_CS].base, 0x8000, "CS.base = VV000h");
    cr_assert_eq(ap->rip, sizeof(ap_trampoline), "IP started at 0, now after the HLT");
    cr_assert_eq(ap->code_mode, X86_MODE_16);
    cr_assert_eq((uint32_t)ap->gpr[X86_RBX], 0x12345678);
    cr_assert_not(ap->wait_for_sipi);

    /* A SIPI to a CPU that is not waiting is ignored. */
    put(BSP_CODE, send_sipi9, sizeof(send_sipi9));
    put(0x9000ull + 0x100, ap_trampoline, 1);   /* anything at vector 9's page */
    run_prot32_at(0, BSP_CODE);
    cr_assert_eq(vcpu_run(e.v[0], 1000), VCPU_EXIT_HALT);
    cr_assert_eq(vcpu_run(e.v[1], 1000), VCPU_EXIT_HALT);
    cr_assert_eq(ap->seg[X86_CS].sel, 0x0800, "not restarted");
    cr_assert_eq(rd16(COUNTER), 1);
    smp_fini();
}

Test(smp, init_keeps_sse_msrs_and_cache_bits)
{
    smp_init(2);
    struct x86_cpu *ap = cpu(1);
    run_prot32_at(1, BSP_CODE);
    /* State an INIT must keep (Table 9-1) and must reset. */
    memset(ap->xmm[3].u8, 0x5a, 16);
    ap->mxcsr = 0x1f00;
    ap->lstar = 0xffffffff81000000ull;
    ap->pat = 0x0007010600070106ull;
    ap->cr0 = X86_CR0_PE | X86_CR0_ET;          /* CD = NW = 0 */
    ap->efer = X86_EFER_SCE;
    ap->gpr[X86_RAX] = 0xdead;

    put(BSP_CODE, bsp_init_sipi_sipi, 20);      /* ICR_HI, INIT ... */
    static const uint8_t hlt = 0xf4;
    put(BSP_CODE + 20, &hlt, 1);
    run_prot32_at(0, BSP_CODE);
    cr_assert_eq(vcpu_run(e.v[0], 1000), VCPU_EXIT_HALT);
    cr_assert_eq(vcpu_run(e.v[1], 1000), VCPU_EXIT_HALT);

    cr_assert(ap->wait_for_sipi, "INIT: the AP waits for SIPI");
    uint8_t want[16];
    memset(want, 0x5a, 16);
    cr_assert_arr_eq(ap->xmm[3].u8, want, 16, "XMM kept");
    cr_assert_eq(ap->mxcsr, 0x1f00, "MXCSR kept");
    cr_assert_eq(ap->lstar, 0xffffffff81000000ull, "MSRs kept");
    cr_assert_eq(ap->pat, 0x0007010600070106ull);
    cr_assert_eq(ap->cr0, X86_CR0_ET, "CR0: CD/NW unchanged (0), bit 4 set, rest cleared");
    cr_assert_eq(ap->efer, 0);
    cr_assert_eq(ap->gpr[X86_RAX], 0);
    cr_assert_eq(ap->seg[X86_CS].sel, 0xf000);
    smp_fini();
}

Test(smp, each_cpu_sees_its_own_apic_page)
{
    smp_init(3);
    /* movl 0xfee00020,%eax; movl %eax,%esi; movl $1,%eax; cpuid; hlt */
    static const uint8_t code[] = { 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0x89, 0xc6, 0xb8, 0x01,
                                    0x00, 0x00, 0x00, 0x0f, 0xa2, 0xf4 };
    put(BSP_CODE, code, sizeof(code));
    for (int i = 0; i < 3; i++) {
        run_prot32_at(i, BSP_CODE);
        cr_assert_eq(vcpu_run(e.v[i], 1000), VCPU_EXIT_HALT);
        uint32_t id_reg = (uint32_t)cpu(i)->gpr[X86_RSI], ebx = (uint32_t)cpu(i)->gpr[X86_RBX];
        cr_assert_eq(id_reg >> 24, (uint32_t)i, "CPU %d reads APIC ID %u", i, id_reg >> 24);
        cr_assert_eq(ebx >> 24, id_reg >> 24, "CPUID.01H:EBX[31:24] = APIC ID (CPU %d)", i);
    }
    /* Outside any vCPU (DMA, timers) the page still answers: the mapping APIC. */
    cr_assert_eq(bus_current_cpu(), -1, "run loop restored 'no CPU'");
    cr_assert_eq((uint32_t)io_space_read(&e.bus.mmio, LAPIC_DEFAULT_BASE + 0x20, 4) >> 24, 0);
    smp_fini();
}

Test(smp, init_via_apic_bus_without_sipi_parks_cpu)
{
    smp_init(2);
    run_prot32_at(1, BSP_CODE + 0x100);
    static const uint8_t spin[] = { 0xeb, 0xfe };   /* jmp . */
    put(BSP_CODE + 0x100, spin, sizeof(spin));
    cr_assert_eq(vcpu_run(e.v[1], 100), VCPU_EXIT_BUDGET, "AP running");
    static const uint8_t icr_hi[] = { 0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x01 };
    put(BSP_CODE, icr_hi, sizeof(icr_hi));
    put(BSP_CODE + sizeof(icr_hi), send_init, sizeof(send_init));
    run_prot32_at(0, BSP_CODE);
    cr_assert_eq(vcpu_run(e.v[0], 1000), VCPU_EXIT_HALT);
    uint64_t before = e.v[1]->insns_retired;
    cr_assert_eq(vcpu_run(e.v[1], 100), VCPU_EXIT_HALT, "INIT stops it");
    cr_assert_eq(e.v[1]->insns_retired, before);
    cr_assert(cpu(1)->wait_for_sipi);
    smp_fini();
}

Test(smp, code_written_by_one_cpu_is_seen_by_another)
{
    smp_init(2);
    /* CPU 1 runs "movl $1,%eax; hlt" at 0x30000. CPU 0 runs
     * "movb $1,0x30001; hlt; movb $2,0x30001; hlt": its first store fills a
     * fast write TLB entry while the page is plain data; the second one,
     * after CPU 1 executed the page, must go slow and reach CPU 1's blocks. */
    static const uint8_t target[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 };
    static const uint8_t writer[] = { 0xc6, 0x05, 0x01, 0x00, 0x03, 0x00, 0x01, 0xf4,
                                      0xc6, 0x05, 0x01, 0x00, 0x03, 0x00, 0x02, 0xf4 };
    put(0x30000, target, sizeof(target));
    put(BSP_CODE, writer, sizeof(writer));
    run_prot32_at(0, BSP_CODE);
    cr_assert_eq(vcpu_run(e.v[0], 100), VCPU_EXIT_HALT);
    run_prot32_at(1, 0x30000);
    cr_assert_eq(vcpu_run(e.v[1], 100), VCPU_EXIT_HALT);
    cr_assert_eq((uint32_t)cpu(1)->gpr[X86_RAX], 1);
    cpu(0)->halted = false;                     /* resume after the HLT, TLB intact */
    cr_assert_eq(vcpu_run(e.v[0], 100), VCPU_EXIT_HALT);
    cr_assert_eq(cpu(0)->rip, BSP_CODE + sizeof(writer));
    run_prot32_at(1, 0x30000);                  /* same address again */
    cr_assert_eq(vcpu_run(e.v[1], 100), VCPU_EXIT_HALT);
    cr_assert_eq((uint32_t)cpu(1)->gpr[X86_RAX], 2, "stale block or TLB code protection");
    smp_fini();
}
