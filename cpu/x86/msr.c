/*
 * cpu/x86/msr.c - model-specific registers (RDMSR/WRMSR) and the TSC.
 *
 * Follows SDM Vol. 4 ch. 2 (architectural MSRs, Table 2-2) and Vol. 3A
 * 2.2.1 (EFER), 5.8.8 (SYSCALL/SYSENTER MSRs), 11.12.2 (IA32_PAT), 17.17
 * (time-stamp counter). Only MSRs that exist on the CPU we advertise are
 * implemented; every other index returns false, which the caller turns into
 * #GP(0) - what Linux's rdmsr_safe/wrmsr_safe probes expect.
 *
 * Decided:
 *  - IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range 800H-8FFH belong
 *    to the interrupt controller (cpu->vcpu.intc.msr_read/msr_write).
 *  - IA32_BIOS_SIGN_ID (8BH) reads microcode revision 0 and accepts any
 *    write (the "write 0, CPUID, read" protocol of SDM Vol. 3A 9.11.7.1).
 *  - IA32_PLATFORM_ID (17H) reads 0; IA32_FEATURE_CONTROL (3AH) reads
 *    "locked, VMX off"; both are read-only (#GP on write).
 *  - IA32_MISC_ENABLE keeps what the guest writes (fast strings bit 0 at
 *    reset); none of its bits change behaviour here.
 *  - IA32_ARCH_CAPABILITIES (10AH) reports the "not affected" bits for the
 *    speculative-execution issues an interpreter does not have (RDCL_NO,
 *    SSB_NO, MDS_NO, TAA_NO, ...), so Linux enables no PTI / buffer clearing.
 *  - IA32_DEBUGCTL reads 0 and accepts only 0 (LBR/BTF not implemented).
 *  - The TSC counts at X86_TSC_HZ on the virtual clock (clock_ns), so it is
 *    invariant and deterministic under -icount; WRMSR TSC sets tsc_offset.
 */
#include <inttypes.h>

#include "cpu/x86/sys.h"
#include "util/clock.h"
#include "util/log.h"

#define MSR_IA32_PLATFORM_ID     0x17
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_BIOS_SIGN_ID    0x8b
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define MSR_IA32_DEBUGCTL        0x1d9
#define MSR_X2APIC_FIRST         0x800
#define MSR_X2APIC_LAST          0x8ff

/* IA32_ARCH_CAPABILITIES bits (SDM Vol. 4 Table 2-2; Linux msr-index.h names). */
#define ARCH_CAP_RDCL_NO               (1ull << 0)
#define ARCH_CAP_SKIP_VMENTRY_L1DFLUSH (1ull << 3)
#define ARCH_CAP_SSB_NO                (1ull << 4)
#define ARCH_CAP_MDS_NO                (1ull << 5)
#define ARCH_CAP_PSCHANGE_MC_NO        (1ull << 6)
#define ARCH_CAP_TAA_NO                (1ull << 8)
#define ARCH_CAP_SBDR_SSDP_NO          (1ull << 13)
#define ARCH_CAP_FBSDP_NO              (1ull << 14)
#define ARCH_CAP_PSDP_NO               (1ull << 15)
#define ARCH_CAP_BHI_NO                (1ull << 20)
#define ARCH_CAP_PBRSB_NO              (1ull << 24)
#define ARCH_CAP_GDS_NO                (1ull << 26)
#define ARCH_CAP_RFDS_NO               (1ull << 27)

static const uint64_t arch_capabilities =
    ARCH_CAP_RDCL_NO | ARCH_CAP_SKIP_VMENTRY_L1DFLUSH | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO |
    ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO |
    ARCH_CAP_PSDP_NO | ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO | ARCH_CAP_GDS_NO | ARCH_CAP_RFDS_NO;

/* ---------------------------------------------------------------- TSC */

/* The TSC without tsc_offset: virtual ns scaled to X86_TSC_HZ. */
static uint64_t tsc_raw(void)
{
    int64_t ns = clock_ns();
    if (ns < 0)
        ns = 0;
    return (uint64_t)((unsigned __int128)(uint64_t)ns * X86_TSC_HZ / 1000000000ull);
}

uint64_t x86_rdtsc(struct x86_cpu *cpu)
{
    return tsc_raw() + (uint64_t)cpu->tsc_offset;
}

/* ---------------------------------------------------------------- EFER */

bool x86_write_efer(struct x86_cpu *cpu, uint64_t value)
{
    uint64_t valid = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA;
    if (x86_has_feature(cpu, X86_FEAT_NX))
        valid |= X86_EFER_NXE;
    if (value & ~valid)
        return false;
    /* LME cannot change while paging is enabled (SDM Vol. 3A 9.8.5). */
    if ((cpu->cr0 & X86_CR0_PG) && ((value ^ cpu->efer) & X86_EFER_LME))
        return false;
    /* LMA is read-only: it follows CR0.PG && EFER.LME. */
    uint64_t nv = (value & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA);
    if ((nv ^ cpu->efer) & X86_EFER_NXE)
        x86_tlb_flush(cpu, false);
    cpu->efer = nv;
    cpu->exit_block = true;
    return true;
}

/* ---------------------------------------------------------------- PAT */

/* Each PAT entry must be UC(0), WC(1), WT(4), WP(5), WB(6) or UC-(7) (SDM Vol. 3A 11.12.2). */
static bool pat_valid(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- RDMSR / WRMSR */

static bool intc_owns(uint32_t msr)
{
    return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
           (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

bool x86_msr_read(struct x86_cpu *cpu, uint32_t msr, uint64_t *value)
{
    switch (msr) {
    case MSR_IA32_TSC: *value = x86_rdtsc(cpu); return true;
    case MSR_IA32_PLATFORM_ID: *value = 0; return true;
    case MSR_IA32_FEATURE_CONTROL: *value = 1; return true;   /* locked, VMX disabled */
    case MSR_IA32_BIOS_SIGN_ID: *value = 0; return true;
    case MSR_IA32_SYSENTER_CS: *value = cpu->sysenter_cs; return true;
    case MSR_IA32_SYSENTER_ESP: *value = cpu->sysenter_esp; return true;
    case MSR_IA32_SYSENTER_EIP: *value = cpu->sysenter_eip; return true;
    case MSR_IA32_MISC_ENABLE: *value = cpu->misc_enable; return true;
    case MSR_IA32_DEBUGCTL: *value = 0; return true;
    case MSR_IA32_PAT: *value = cpu->pat; return true;
    case MSR_EFER: *value = cpu->efer; return true;
    case MSR_STAR: *value = cpu->star; return true;
    case MSR_LSTAR: *value = cpu->lstar; return true;
    case MSR_CSTAR: *value = cpu->cstar; return true;
    case MSR_SFMASK: *value = cpu->sfmask; return true;
    case MSR_FS_BASE: *value = cpu->seg[X86_FS].base; return true;
    case MSR_GS_BASE: *value = cpu->seg[X86_GS].base; return true;
    case MSR_KERNEL_GS_BASE: *value = cpu->kernel_gs_base; return true;
    case MSR_IA32_ARCH_CAPABILITIES:
        if (!x86_has_feature(cpu, X86_FEAT_ARCH_CAP))
            break;
        *value = arch_capabilities;
        return true;
    case MSR_TSC_AUX:
        if (!x86_has_feature(cpu, X86_FEAT_RDTSCP) && !x86_has_feature(cpu, X86_FEAT_RDPID))
            break;
        *value = cpu->tsc_aux;
        return true;
    default:
        if (intc_owns(msr)) {
            const struct intc_port *ic = &cpu->vcpu.intc;
            if (ic->msr_read && ic->msr_read(ic->opaque, msr, value))
                return true;
            return false;
        }
        break;
    }
    qlog(LOG_UNIMP, "x86: RDMSR 0x%" PRIx32 " (not implemented) -> #GP", msr);
    return false;
}

bool x86_msr_write(struct x86_cpu *cpu, uint32_t msr, uint64_t value)
{
    switch (msr) {
    case MSR_IA32_TSC:
        cpu->tsc_offset = (int64_t)(value - tsc_raw());
        return true;
    case MSR_IA32_BIOS_SIGN_ID:
        return true;
    case MSR_IA32_SYSENTER_CS:
        cpu->sysenter_cs = value & 0xffffffffull;
        return true;
    case MSR_IA32_SYSENTER_ESP:
        if (!x86_is_canonical(cpu, value))
            return false;
        cpu->sysenter_esp = value;
        return true;
    case MSR_IA32_SYSENTER_EIP:
        if (!x86_is_canonical(cpu, value))
            return false;
        cpu->sysenter_eip = value;
        return true;
    case MSR_IA32_MISC_ENABLE:
        cpu->misc_enable = value;
        return true;
    case MSR_IA32_DEBUGCTL:
        if (value == 0)
            return true;
        qlog(LOG_UNIMP, "x86: IA32_DEBUGCTL = 0x%" PRIx64 " (LBR/BTF not implemented) -> #GP",
             value);
        return false;
    case MSR_IA32_PAT:
        if (!pat_valid(value))
            return false;
        cpu->pat = value;
        return true;
    case MSR_EFER:
        return x86_write_efer(cpu, value);
    case MSR_STAR:
        cpu->star = value;
        return true;
    case MSR_LSTAR:
    case MSR_CSTAR:
        if (!x86_is_canonical(cpu, value))
            return false;
        if (msr == MSR_LSTAR)
            cpu->lstar = value;
        else
            cpu->cstar = value;
        return true;
    case MSR_SFMASK:
        if (value >> 32)
            return false;
        cpu->sfmask = value;
        return true;
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
        if (!x86_is_canonical(cpu, value))
            return false;
        if (msr == MSR_FS_BASE)
            cpu->seg[X86_FS].base = value;
        else if (msr == MSR_GS_BASE)
            cpu->seg[X86_GS].base = value;
        else
            cpu->kernel_gs_base = value;
        return true;
    case MSR_TSC_AUX:
        if (!(x86_has_feature(cpu, X86_FEAT_RDTSCP) || x86_has_feature(cpu, X86_FEAT_RDPID)) ||
            (value >> 32))
            return false;
        cpu->tsc_aux = value;
        return true;
    case MSR_IA32_PLATFORM_ID:
    case MSR_IA32_FEATURE_CONTROL:
    case MSR_IA32_ARCH_CAPABILITIES:
        return false;   /* read-only */
    default:
        if (intc_owns(msr)) {
            const struct intc_port *ic = &cpu->vcpu.intc;
            return ic->msr_write && ic->msr_write(ic->opaque, msr, value);
        }
        break;
    }
    qlog(LOG_UNIMP, "x86: WRMSR 0x%" PRIx32 " = 0x%" PRIx64 " (not implemented) -> #GP", msr, value);
    return false;
}
