/*
 * cpu/x86/ops_sse.c - SSE family: registration and shared operand helpers.
 *
 * CPUID feature bits and their implementation status (cpuid.c reads this
 * table to decide what to advertise; "full" = every legacy (non-VEX)
 * encoding of the extension is implemented and differentially tested):
 *
 *   feature            CPUID bit           status
 *   FPU                1.EDX[0]            full (ops_x87.c)
 *   MMX                1.EDX[23]           full (integer ops share the SSE2 code)
 *   FXSR               1.EDX[24]           full (ops_fxsave.c)
 *   SSE                1.EDX[25]           full
 *   SSE2               1.EDX[26]           full
 *   CLFSH              1.EDX[19]           full (CLFLUSH = read-access no-op)
 *   SSE3               1.ECX[0]            full
 *   SSSE3              1.ECX[9]            full
 *   SSE4.1             1.ECX[19]           full
 *   SSE4.2             1.ECX[20]           NOT (PCMPGTQ only, no PCMPxSTRx; CRC32 is the integer helper's)
 *   POPCNT             1.ECX[23]           not ours (integer helper)
 *   XSAVE/OSXSAVE/AVX  1.ECX[26..28]       NOT (XSAVE* -> #UD)
 *   FSGSBASE           7.0.EBX[0]          full (RD/WR FS/GS BASE, #UD unless CR4.FSGSBASE)
 *   CMOV (FCMOVcc/FCOMI) 1.EDX[15]         x87 part full
 *
 * File map for this group: ops_sse.c (this), ops_sse_mov.c (data movement,
 * MOVMSK, PMOVMSKB, PINSRW/PEXTRW, shuffles of whole registers),
 * ops_sse_int.c (MMX/SSE2 integer arithmetic), ops_sse_fp.c (packed/scalar
 * float arithmetic, compares, conversions), ops_sse4.c (0F 38 / 0F 3A maps:
 * SSSE3, SSE4.1, SSE4.2), ops_fxsave.c (0F AE group).
 */
#include "cpu/x86/sse_priv.h"

void mmx_check(struct x86_cpu *cpu)
{
    if (cpu->cr0 & X86_CR0_EM)
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cr0 & X86_CR0_TS)
        x86_raise(cpu, X86_EXC_NM);
    if (cpu->fsw & FSW_ES)
        x86_raise(cpu, X86_EXC_MF);
}

void mmx_enter(struct x86_cpu *cpu)
{
    mmx_check(cpu);
    cpu->fsw &= ~FSW_TOP;
    cpu->ftw = 0;   /* all valid */
}

gva_t sse_mem_addr(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                   enum mmu_access access, unsigned align)
{
    gva_t lin = x86_mem_linear(cpu, insn, size, access);
    if (align > 1 && (lin & (align - 1)))
        x86_raise_gp0(cpu);
    return lin;
}

void sse_read_rm(struct x86_cpu *cpu, const struct x86_insn *insn, union x86_xmm *out,
                 unsigned size, bool align16)
{
    if (!(insn->flags & X86_INSN_MEM)) {
        *out = cpu->xmm[insn->rm & 15];
        return;
    }
    if (size > 16)
        size = 16;
    gva_t lin = sse_mem_addr(cpu, insn, size, MMU_READ, align16 ? 16 : 1);
    memset(out, 0, sizeof(*out));
    x86_read_bytes(cpu, lin, out->u8, size);
}

void sse_write_rm(struct x86_cpu *cpu, const struct x86_insn *insn, const union x86_xmm *v,
                  unsigned size, bool align16)
{
    if (size > 16)
        size = 16;
    if (!(insn->flags & X86_INSN_MEM)) {
        memcpy(cpu->xmm[insn->rm & 15].u8, v->u8, size);
        return;
    }
    gva_t lin = sse_mem_addr(cpu, insn, size, MMU_WRITE, align16 ? 16 : 1);
    x86_write_bytes(cpu, lin, v->u8, size);
}

uint64_t mmx_read_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(insn->flags & X86_INSN_MEM))
        return mmx_reg(cpu, insn->rm);
    gva_t lin = x86_mem_linear(cpu, insn, 8, MMU_READ);
    return x86_read64(cpu, lin);
}

/*
 * The host runs with every exception masked. An unmasked underflow is
 * signalled for every tiny result, exact or not, while a masked one needs
 * tiny and inexact (SDM Vol. 1 11.5.2.3 / 4.9.1.5): when the guest unmasks
 * #U the host runs with FZ = 1, which flushes every tiny result and then
 * sets UE (and PE) (SDM Vol. 1 10.2.3.3), so UE reports exactly the
 * tininess the guest's unmasked #U needs. A result that is not tiny is the
 * same with FZ = 0 or 1, and a tiny one is discarded by the #XM.
 */
uint32_t sse_fp_begin(struct x86_cpu *cpu)
{
    uint32_t saved = host_getcsr();
    uint32_t csr = (cpu->mxcsr & (MXCSR_DAZ | MXCSR_FZ | (3u << MXCSR_RC_SHIFT))) | MXCSR_MASKS;
    if (!(cpu->mxcsr & MXCSR_UM))
        csr |= MXCSR_FZ;
    host_setcsr(csr);
    return saved;
}

void sse_fp_end(struct x86_cpu *cpu, uint32_t saved)
{
    uint32_t flags = host_getcsr() & MXCSR_FLAGS;
    host_setcsr(saved);
    uint32_t unmasked = flags & ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
    cpu->mxcsr |= flags;
    if (unlikely(unmasked)) {
        if (cpu->cr4 & X86_CR4_OSXMMEXCPT)
            x86_raise(cpu, X86_EXC_XM);
        x86_raise(cpu, X86_EXC_UD);
    }
}

void sse_fp_run(struct x86_cpu *cpu, sse_host_fn fn, union x86_xmm *d, const union x86_xmm *s)
{
    union x86_xmm a = *d, b = *s;
    uint32_t saved = sse_fp_begin(cpu);
    fn(&a, &b);
    sse_fp_end(cpu, saved);
    *d = a;
}

void x86_ops_sse_init(x86_exec_fn *table)
{
    x86_ops_sse_mov_init(table);
    x86_ops_sse_int_init(table);
    x86_ops_sse_fp_init(table);
    x86_ops_sse4_init(table);
    x86_ops_fxsave_init(table);
}
