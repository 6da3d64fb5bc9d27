/*
 * cpu/x86/cpuid.c - CPUID for the qtemu CPU models (SDM Vol. 2A CPUID,
 * Tables 3-8 .. 3-20) and the feature test every #UD decision uses.
 *
 * Decided:
 *  - Vendor "GenuineIntel", family 6 model 15 stepping 11 (the signature of
 *    QEMU's core2duo model, which Linux treats without model quirks; model
 *    >= 15 keeps PAT and sets CONSTANT_TSC in Linux's early_init_intel).
 *    Intel rather than qemu64's AMD because Linux then takes the TSC and
 *    APIC-timer frequency from leaves 0x15/0x16 (no PIT calibration) and
 *    needs no AMD family-specific MSRs.
 *  - Leaf 0x15: EAX=1, EBX=2, ECX=1 GHz: a 1 GHz crystal (the LAPIC timer's
 *    input clock in devices/lapic.c, which Linux sets lapic_timer_period
 *    from) and TSC = 2 * crystal = X86_TSC_HZ. Leaf 0x16: base/max 2000 MHz.
 *  - HYPERVISOR bit set with leaf 0x40000000 = { max 0x40000000,
 *    "qtemuqtemuqt" }, no paravirtual features. Linux matches no hypervisor
 *    it knows and, seeing the bit, skips the early microcode loader.
 *  - IA32_ARCH_CAPABILITIES is advertised on both models (msr.c returns the
 *    "not affected" bits), so Linux enables neither page-table isolation nor
 *    the MDS/TAA buffer clearing, which an interpreter has no reason to pay.
 *  - Leaf 0xD (XSAVE) comes from ops_xsave.c (x87|SSE|AVX, XSAVEOPT, XSAVEC).
 *  - Leaves we do not implement (2 cache descriptors, 4 cache parameters,
 *    6 thermal, 0xA PMU, 0xB topology) return zeros, except leaf
 *    2 AL = 1 as the SDM requires. Basic leaves above the maximum return the
 *    highest basic leaf's data, as Intel CPUs do; 0x40000001.. return zeros.
 *  - Brand string "qtemu x86-64 CPU". Address sizes: 40 physical bits, 48
 *    virtual (57 with LA57 on the max model).
 *
 * Feature table: each advertised bit and the file that implements it. A bit
 * is listed only when that implementation exists today (checked when this
 * file was last changed); "max" marks bits only the max model advertises.
 *
 *   bit                 implemented by
 *   1.EDX FPU           ops_x87.c
 *   1.EDX DE            ops_ctrl.c (CR4.DE, DR4/DR5 #UD)
 *   1.EDX PSE PSE36     mmu/x86_walk.c
 *   1.EDX TSC           ops_system.c, msr.c (RDTSC, IA32_TSC)
 *   1.EDX MSR           ops_system.c, msr.c
 *   1.EDX PAE PGE       mmu/x86_walk.c, mem.c (global TLB entries)
 *   1.EDX CX8           ops_bit.c (CMPXCHG8B)
 *   1.EDX APIC          devices/lapic.c
 *   1.EDX SEP           ops_system.c (SYSENTER/SYSEXIT), msr.c
 *   1.EDX CMOV          ops_mov.c, ops_x87.c (FCMOVcc/FCOMI)
 *   1.EDX PAT           msr.c (IA32_PAT; memory types are not modelled)
 *   1.EDX CLFSH         ops_fxsave.c (CLFLUSH as a read-access no-op)
 *   1.EDX MMX           ops_sse_int.c
 *   1.EDX FXSR          ops_fxsave.c
 *   1.EDX SSE SSE2      ops_sse*.c
 *   1.ECX SSE3          ops_sse_fp.c, ops_sse_mov.c
 *   1.ECX SSSE3 (max)   ops_sse4.c (0F 38 / 0F 3A maps)
 *   1.ECX CX16          ops_bit.c (CMPXCHG16B)
 *   1.ECX PCID (max)    ops_ctrl.c (CR4.PCIDE, CR3 PCID and no-flush bit; untagged TLB)
 *   1.ECX SSE4.1 (max)  ops_sse4.c
 *   1.ECX SSE4.2 (max)  ops_sse4.c (PCMPGTQ), ops_sse42.c (PCMPxSTRx), ops_bit.c (CRC32)
 *   1.ECX AES PCLMULQDQ (max) ops_aes.c
 *   1.ECX F16C (max)    ops_f16c.c
 *   1.ECX POPCNT (max)  ops_bit.c
 *   1.ECX FMA (max)     ops_fma.c
 *   1.ECX XSAVE (max)   ops_xsave.c (XSAVE/XRSTOR/XSAVEOPT/XSAVEC, XGETBV/XSETBV, leaf 0DH)
 *   1.ECX OSXSAVE       (this file: reflects CR4.OSXSAVE)
 *   1.ECX AVX (max)     ops_avx.c ops_avx_fp.c ops_avx_int.c ops_avx_perm.c
 *   7.EBX BMI1 BMI2 (max) ops_bmi.c (TZCNT: ops_bit.c)
 *   7.EBX AVX2 (max)    ops_avx_int.c ops_avx_perm.c
 *   1.ECX MOVBE (max)   ops_bit.c
 *   1.ECX RDRAND (max)  ops_bit.c
 *   1.ECX HYPERVISOR    (this file)
 *   7.EBX FSGSBASE (max) ops_fxsave.c (RD/WRFSBASE/GSBASE), ops_ctrl.c (CR4 bit)
 *   7.EBX SMEP SMAP (max) mmu/x86_walk.c, mem.c, ops_ctrl.c (CLAC/STAC)
 *   7.EBX INVPCID (max) ops_ctrl.c
 *   7.EBX RDSEED ADX (max) ops_bit.c
 *   7.ECX LA57 (max)    mmu/x86_walk.c, mem.c (57-bit canonical checks)
 *   7.ECX RDPID (max)   ops_bit.c
 *   7.EDX ARCH_CAP      msr.c (IA32_ARCH_CAPABILITIES)
 *   81.EDX SYSCALL      ops_system.c, msr.c
 *   81.EDX NX           mmu/x86_walk.c, msr.c (EFER.NXE)
 *   81.EDX PDPE1GB (max) mmu/x86_walk.c
 *   81.EDX RDTSCP (max) ops_ctrl.c, msr.c (IA32_TSC_AUX)
 *   81.EDX LM           everything
 *   81.ECX LAHF_LM      ops_mov.c (LAHF/SAHF in 64-bit mode)
 *   81.ECX ABM (max)    ops_bit.c (LZCNT)
 *   81.ECX PREFETCHW (max) ops_mov.c (0F 0D as a hint NOP)
 *   80000007.EDX[8]     invariant TSC: x86_rdtsc follows the virtual clock
 *
 * Not advertised (not implemented yet): VME, MCE/MCA, MTRR, SS, HTT,
 * VAES, VPCLMULQDQ (the VEX.256 forms), XSAVES, x2APIC,
 * TSC-deadline, MONITOR/MWAIT, ERMS, UMIP, PKU, SPEC_CTRL/IBRS/STIBP.
 */
#include <string.h>

#include "cpu/x86/sys.h"

#define BIT(n) (1u << (n))

/* Baseline (both models). */
static const uint32_t base_features[X86_FW_COUNT] = {
    [X86_FW_1_EDX] = BIT(0) /* FPU */ | BIT(2) /* DE */ | BIT(3) /* PSE */ | BIT(4) /* TSC */ |
                     BIT(5) /* MSR */ | BIT(6) /* PAE */ | BIT(8) /* CX8 */ | BIT(9) /* APIC */ |
                     BIT(11) /* SEP */ | BIT(13) /* PGE */ | BIT(15) /* CMOV */ |
                     BIT(16) /* PAT */ | BIT(17) /* PSE36 */ | BIT(19) /* CLFSH */ |
                     BIT(23) /* MMX */ | BIT(24) /* FXSR */ | BIT(25) /* SSE */ | BIT(26) /* SSE2 */,
    [X86_FW_1_ECX] = BIT(0) /* SSE3 */ | BIT(13) /* CX16 */ | BIT(31) /* HYPERVISOR */,
    [X86_FW_81_EDX] = BIT(11) /* SYSCALL */ | BIT(20) /* NX */ | BIT(29) /* LM */,
    [X86_FW_81_ECX] = BIT(0) /* LAHF_LM */,
    [X86_FW_7_EDX] = BIT(29) /* ARCH_CAPABILITIES */,
};

/* Added by the max model. */
static const uint32_t max_features[X86_FW_COUNT] = {
    [X86_FW_1_ECX] = BIT(1) /* PCLMULQDQ */ | BIT(9) /* SSSE3 */ | BIT(12) /* FMA */ |
                     BIT(17) /* PCID */ | BIT(19) /* SSE4.1 */ | BIT(20) /* SSE4.2 */ |
                     BIT(22) /* MOVBE */ | BIT(23) /* POPCNT */ | BIT(25) /* AES */ |
                     BIT(26) /* XSAVE */ | BIT(28) /* AVX */ | BIT(29) /* F16C */ |
                     BIT(30) /* RDRAND */,
    [X86_FW_81_EDX] = BIT(26) /* PDPE1GB */ | BIT(27) /* RDTSCP */,
    [X86_FW_81_ECX] = BIT(5) /* ABM (LZCNT) */ | BIT(8) /* PREFETCHW */,
    [X86_FW_7_EBX] = BIT(0) /* FSGSBASE */ | BIT(3) /* BMI1 */ | BIT(5) /* AVX2 */ |
                     BIT(7) /* SMEP */ | BIT(8) /* BMI2 */ | BIT(10) /* INVPCID */ |
                     BIT(18) /* RDSEED */ | BIT(19) /* ADX */ | BIT(20) /* SMAP */,
    [X86_FW_7_ECX] = BIT(16) /* LA57 */ | BIT(22) /* RDPID */,
};

#define CPUID_MAX_BASIC    0x16u
#define CPUID_MAX_EXT      0x80000008u
#define CPUID_HV_BASE      0x40000000u

/* Family 6, model 15 (0x0f), stepping 11: EAX of leaf 1 (SDM Figure 3-6). */
#define CPUID_SIGNATURE    0x000006fbu

void x86_cpuid_init_features(struct x86_cpu *cpu)
{
    for (int w = 0; w < X86_FW_COUNT; w++) {
        uint32_t v = base_features[w];
        if (cpu->model == X86_CPU_MAX)
            v |= max_features[w];
        cpu->cpuid_features[w] = v;
    }
}

bool x86_has_feature(struct x86_cpu *cpu, unsigned feature)
{
    /* FPU is in every model, so a zero word 0 means "not initialised yet". */
    if (unlikely(!(cpu->cpuid_features[X86_FW_1_EDX] & 1)))
        x86_cpuid_init_features(cpu);
    unsigned w = feature / 32, b = feature % 32;
    if (w >= X86_FW_COUNT)
        return false;
    return (cpu->cpuid_features[w] >> b) & 1;
}

/* Four ASCII characters as a little-endian register value. */
static uint32_t str4(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
           (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24;
}

static void basic_leaf(struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    switch (leaf) {
    case 0:
        out[0] = CPUID_MAX_BASIC;
        out[1] = str4("Genu");
        out[3] = str4("ineI");
        out[2] = str4("ntel");
        break;
    case 1:
        out[0] = CPUID_SIGNATURE;
        /* EBX: brand index 0, CLFLUSH line 8 * 8 = 64 bytes, 1 logical
         * processor, initial APIC ID = vCPU index. */
        out[1] = (8u << 8) | (1u << 16) | ((uint32_t)(cpu->vcpu.index & 0xff) << 24);
        out[2] = (uint32_t)cpu->cpuid_features[X86_FW_1_ECX];
        if (cpu->cr4 & X86_CR4_OSXSAVE)
            out[2] |= BIT(27);
        out[3] = (uint32_t)cpu->cpuid_features[X86_FW_1_EDX];
        break;
    case 2:
        out[0] = 1;   /* AL = 1: one iteration; all descriptors null */
        break;
    case 7:
        if (subleaf == 0) {
            out[0] = 0;   /* max subleaf */
            out[1] = (uint32_t)cpu->cpuid_features[X86_FW_7_EBX];
            out[2] = (uint32_t)cpu->cpuid_features[X86_FW_7_ECX];
            out[3] = (uint32_t)cpu->cpuid_features[X86_FW_7_EDX];
        }
        break;
    case 0xd:
        x86_cpuid_xsave_leaf(cpu, subleaf, out);
        break;
    case 0x15:
        /* TSC / crystal = EBX / EAX, crystal Hz in ECX (SDM Table 3-8, leaf 15H). */
        out[0] = 1;
        out[1] = (uint32_t)(X86_TSC_HZ / 1000000000ull);
        out[2] = 1000000000u;
        break;
    case 0x16:
        out[0] = (uint32_t)(X86_TSC_HZ / 1000000ull);   /* base MHz */
        out[1] = (uint32_t)(X86_TSC_HZ / 1000000ull);   /* max MHz */
        out[2] = 1000;                                  /* bus (reference) MHz */
        break;
    default:
        break;
    }
}

static void ext_leaf(struct x86_cpu *cpu, uint32_t leaf, uint32_t out[4])
{
    static const char brand[48] = "qtemu x86-64 CPU";
    switch (leaf) {
    case 0x80000000:
        out[0] = CPUID_MAX_EXT;
        break;
    case 0x80000001:
        out[2] = (uint32_t)cpu->cpuid_features[X86_FW_81_ECX];
        out[3] = (uint32_t)cpu->cpuid_features[X86_FW_81_EDX];
        break;
    case 0x80000002: case 0x80000003: case 0x80000004: {
        const char *p = brand + (leaf - 0x80000002) * 16;
        for (int i = 0; i < 4; i++)
            out[i] = str4(p + 4 * i);
        break;
    }
    case 0x80000007:
        out[3] = BIT(8);   /* invariant TSC */
        break;
    case 0x80000008: {
        bool la57 = (cpu->cpuid_features[X86_FW_7_ECX] >> 16) & 1;
        out[0] = 40u | ((la57 ? 57u : 48u) << 8);
        break;
    }
    default:
        break;
    }
}

void x86_cpuid(struct x86_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)x86_has_feature(cpu, X86_FEAT_FPU);   /* initialise the feature words */
    memset(out, 0, 4 * sizeof(uint32_t));
    if (leaf >= CPUID_HV_BASE && leaf < 0x50000000u) {
        if (leaf == CPUID_HV_BASE) {
            out[0] = CPUID_HV_BASE;
            out[1] = str4("qtem");
            out[2] = str4("uqte");
            out[3] = str4("muqt");
        }
        return;
    }
    if (leaf >= 0x80000000u && leaf <= CPUID_MAX_EXT) {
        ext_leaf(cpu, leaf, out);
        return;
    }
    if (leaf > CPUID_MAX_BASIC)
        leaf = CPUID_MAX_BASIC;   /* Intel: invalid leaves return the highest basic leaf */
    basic_leaf(cpu, leaf, subleaf, out);
}
