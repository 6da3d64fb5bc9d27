/*
 * cpu/x86/ops_xsave.c - the XSAVE feature set (SDM Vol. 1 ch. 13, Vol. 2
 * XSAVE/XRSTOR/XSAVEOPT/XSAVEC/XGETBV/XSETBV): XCR0, the XSAVE area in the
 * standard and compacted formats, and CPUID leaf 0DH's view of it.
 *
 * Supported state components: 0 x87, 1 SSE, 2 AVX (YMM upper halves at
 * standard offset 576, 256 bytes). XSAVES/XRSTORS (supervisor state,
 * IA32_XSS) and XGETBV with ECX = 1 (XINUSE) are not implemented and not
 * advertised (CPUID.(EAX=0DH,ECX=1):EAX = XSAVEOPT | XSAVEC).
 *
 * Decisions:
 *  - XINUSE (SDM Vol. 1 13.6) is computed from the state when needed: a
 *    component is "in use" unless it is in its initial configuration (x87:
 *    FCW 037FH, FSW 0, FTW all empty, FOP/FIP/FDP/FCS/FDS 0, ST0-7 zero;
 *    SSE: XMM0-15 zero and MXCSR 1F80H; AVX: upper halves zero). This is
 *    the most precise tracking the SDM allows.
 *  - XSAVEOPT behaves as XSAVE plus the init optimization (components not in
 *    use are not written); there is no modified optimization (allowed:
 *    "may", SDM Vol. 1 13.9).
 */
#include "cpu/x86/avx_priv.h"

#define XS_LEGACY   512
#define XS_HDR      512
#define XS_AVX_OFF  576
#define XS_AVX_SIZE 256

/** XCR0 bits this CPU supports for @cpu's model (SDM Vol. 1 13.3). */
uint64_t x86_xcr0_supported(struct x86_cpu *cpu)
{
    if (!x86_has_feature(cpu, X86_FEAT_XSAVE))
        return 0;
    uint64_t v = XCR0_X87 | XCR0_SSE;
    if (x86_has_feature(cpu, X86_FEAT_AVX))
        v |= XCR0_AVX;
    return v;
}

/** XINUSE as described above (bits 0..2). */
static uint64_t xinuse(struct x86_cpu *cpu)
{
    static const union x86_xmm zero;
    uint64_t v = 0;
    bool x87_init = cpu->fcw == 0x037f && cpu->fsw == 0 && cpu->ftw == 0xffff && cpu->fop == 0 &&
                    cpu->fip == 0 && cpu->fdp == 0 && cpu->fcs == 0 && cpu->fds == 0;
    for (unsigned i = 0; i < 8 && x87_init; i++)
        x87_init = cpu->st[i].raw.mant == 0 && cpu->st[i].raw.sign_exp == 0;
    if (!x87_init)
        v |= XCR0_X87;
    bool sse_init = cpu->mxcsr == 0x1f80;
    for (unsigned i = 0; i < 16 && sse_init; i++)
        sse_init = !memcmp(&cpu->xmm[i], &zero, 16);
    if (!sse_init)
        v |= XCR0_SSE;
    for (unsigned i = 0; i < 16; i++)
        if (memcmp(&cpu->ymmh[i], &zero, 16)) {
            v |= XCR0_AVX;
            break;
        }
    return v;
}

/**
 * Common checks (SDM Vol. 2 XSAVE "Protected Mode Exceptions"): #UD if
 * CR4.OSXSAVE = 0 or LOCK, #NM if CR0.TS, #GP(0) unless 64-byte aligned.
 * Returns the linear address of the @len-byte area.
 */
static gva_t xs_begin(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned len,
                      enum mmu_access access)
{
    if (!(cpu->cr4 & X86_CR4_OSXSAVE) || (insn->flags & X86_INSN_LOCK) ||
        !(insn->flags & X86_INSN_MEM))
        x86_raise(cpu, X86_EXC_UD);
    if (cpu->cr0 & X86_CR0_TS)
        x86_raise(cpu, X86_EXC_NM);
    return sse_mem_addr(cpu, insn, len, access, 64);
}

static uint64_t xs_rfbm(struct x86_cpu *cpu)
{
    uint64_t mask = (cpu->gpr[X86_RDX] << 32) | (uint32_t)cpu->gpr[X86_RAX];
    return mask & cpu->xcr0;
}

static unsigned xs_nxmm(struct x86_cpu *cpu)
{
    return cpu->code_mode == X86_MODE_64 ? 16 : 8;
}

/** Size of the standard-format area for the components in @xcr0 (CPUID.0DH.0:EBX/ECX). */
static unsigned xs_std_size(uint64_t xcr0)
{
    return (xcr0 & XCR0_AVX) ? XS_AVX_OFF + XS_AVX_SIZE : XS_AVX_OFF;
}

/**
 * XSAVE (/4) and XSAVEOPT (/6), standard format (SDM Vol. 1 13.7, 13.9).
 * @opt: skip components not in use (init optimization).
 */
static void op_xsave(struct x86_cpu *cpu, const struct x86_insn *insn, bool opt)
{
    uint64_t rfbm = xs_rfbm(cpu);
    unsigned len = xs_std_size(rfbm);
    gva_t lin = xs_begin(cpu, insn, len, MMU_WRITE);
    uint64_t inuse = xinuse(cpu);
    uint64_t save = opt ? rfbm & inuse : rfbm;
    bool w = insn->rex & 8;
    uint8_t img[XS_LEGACY];
    x86_fx_image(cpu, img, w);
    uint64_t bv;
    x86_read_bytes(cpu, lin + XS_HDR, &bv, 8);
    bv = (bv & ~rfbm) | (inuse & rfbm);
    /* Probe the whole area first so that a #PF leaves memory unchanged. */
    x86_probe_write(cpu, lin, len);
    if (save & XCR0_X87) {
        x86_write_bytes(cpu, lin, img, 24);
        x86_write_bytes(cpu, lin + 32, img + 32, 128);
    }
    if (rfbm & (XCR0_SSE | XCR0_AVX))
        x86_write_bytes(cpu, lin + 24, img + 24, 8);          /* MXCSR, MXCSR_MASK */
    if (save & XCR0_SSE)
        x86_write_bytes(cpu, lin + 160, img + 160, 16 * xs_nxmm(cpu));
    if (save & XCR0_AVX)
        for (unsigned i = 0; i < xs_nxmm(cpu); i++)
            x86_write_bytes(cpu, lin + XS_AVX_OFF + 16 * i, cpu->ymmh[i].u8, 16);
    x86_write_bytes(cpu, lin + XS_HDR, &bv, 8);
}

/**
 * XSAVEC (0F C7 /4), compacted format (SDM Vol. 1 13.10): XCOMP_BV =
 * RFBM | 1 << 63, XSTATE_BV = XINUSE & RFBM, only components in use are
 * written; the AVX component is the first of the extended region (576).
 */
void x86_op_xsavec(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t rfbm = xs_rfbm(cpu);
    unsigned len = XS_AVX_OFF + ((rfbm & XCR0_AVX) ? XS_AVX_SIZE : 0);
    gva_t lin = xs_begin(cpu, insn, len, MMU_WRITE);
    uint64_t save = rfbm & xinuse(cpu);
    bool w = insn->rex & 8;
    uint8_t img[XS_LEGACY];
    x86_fx_image(cpu, img, w);
    x86_probe_write(cpu, lin, len);
    if (save & XCR0_X87) {
        x86_write_bytes(cpu, lin, img, 24);
        x86_write_bytes(cpu, lin + 32, img + 32, 128);
    }
    if (save & XCR0_SSE) {
        x86_write_bytes(cpu, lin + 24, img + 24, 8);
        x86_write_bytes(cpu, lin + 160, img + 160, 16 * xs_nxmm(cpu));
    }
    if (save & XCR0_AVX)
        for (unsigned i = 0; i < xs_nxmm(cpu); i++)
            x86_write_bytes(cpu, lin + XS_AVX_OFF + 16 * i, cpu->ymmh[i].u8, 16);
    /* XSTATE_BV and XCOMP_BV only: the rest of the header is left as it is (checked on the host). */
    uint64_t hdr[2] = { save, rfbm | (1ull << 63) };
    x86_write_bytes(cpu, lin + XS_HDR, hdr, sizeof(hdr));
}

/**
 * XRSTOR (/5), standard and compacted forms (SDM Vol. 1 13.8). Every check
 * (header, MXCSR) and every read happens before any state changes.
 */
static void op_xrstor(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t rfbm = xs_rfbm(cpu);
    gva_t lin = xs_begin(cpu, insn, XS_AVX_OFF, MMU_READ);
    uint64_t hdr[8];
    x86_read_bytes(cpu, lin + XS_HDR, hdr, sizeof(hdr));
    uint64_t bv = hdr[0], comp = hdr[1];
    bool compacted = comp >> 63;
    if (!compacted) {
        /* 13.8.1: #GP if XSTATE_BV has a bit outside XCR0 or bytes 23:8 are not 0. */
        if ((bv & ~cpu->xcr0) || comp || hdr[2])
            x86_raise_gp0(cpu);
    } else {
        /* 13.8.1: compacted: XCOMP_BV[62:0] within XCR0, XSTATE_BV within it,
         * bytes 63:16 zero. */
        uint64_t c = comp & ~(1ull << 63);
        if ((c & ~cpu->xcr0) || (bv & ~c))
            x86_raise_gp0(cpu);
        for (unsigned i = 2; i < 8; i++)
            if (hdr[i])
                x86_raise_gp0(cpu);
    }
    uint8_t img[XS_LEGACY];
    x86_read_bytes(cpu, lin, img, 160);
    unsigned n = xs_nxmm(cpu);
    union x86_xmm xmm[16], ymmh[16];
    if ((rfbm & XCR0_SSE) && (bv & XCR0_SSE))
        x86_read_bytes(cpu, lin + 160, xmm, 16 * n);
    if ((rfbm & XCR0_AVX) && (bv & XCR0_AVX)) {
        /* Standard: offset 576; compacted: AVX is the first extended component. */
        x86_read_bytes(cpu, lin + XS_AVX_OFF, ymmh, 16 * n);
    }
    uint32_t mxcsr;
    memcpy(&mxcsr, img + 24, 4);
    bool load_mxcsr = compacted ? ((rfbm & bv & XCR0_SSE) != 0)
                                : ((rfbm & (XCR0_SSE | XCR0_AVX)) != 0);
    if (load_mxcsr && (mxcsr & ~MXCSR_MASK))
        x86_raise_gp0(cpu);

    /* Commit. */
    if (rfbm & XCR0_X87) {
        if (bv & XCR0_X87) {
            x86_fx_load_x87(cpu, img, insn->rex & 8);
        } else {
            uint32_t keep = cpu->mxcsr;  /* x86_fpu_reset resets MXCSR too */
            x86_fpu_reset(cpu);
            for (unsigned i = 0; i < 8; i++)
                memset(cpu->st[i].bytes, 0, sizeof(cpu->st[i].bytes));
            cpu->mxcsr = keep;
        }
    }
    if (rfbm & XCR0_SSE) {
        for (unsigned i = 0; i < n; i++)
            cpu->xmm[i] = (bv & XCR0_SSE) ? xmm[i] : (union x86_xmm){ .u64 = { 0, 0 } };
    }
    if (load_mxcsr)
        cpu->mxcsr = mxcsr;
    else if (compacted && (rfbm & XCR0_SSE))
        cpu->mxcsr = 0x1f80;
    if (rfbm & XCR0_AVX) {
        for (unsigned i = 0; i < n; i++)
            cpu->ymmh[i] = (bv & XCR0_AVX) ? ymmh[i] : (union x86_xmm){ .u64 = { 0, 0 } };
    }
}

void x86_op_xsave_group(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    switch (x86_modrm_digit(insn)) {
    case 4: op_xsave(cpu, insn, false); return;
    case 5: op_xrstor(cpu, insn); return;
    case 6: op_xsave(cpu, insn, true); return;
    default: x86_raise(cpu, X86_EXC_UD);
    }
}

void x86_op_xgetbv(struct x86_cpu *cpu)
{
    if (!(cpu->cr4 & X86_CR4_OSXSAVE))
        x86_raise(cpu, X86_EXC_UD);
    if ((uint32_t)cpu->gpr[X86_RCX] != 0)          /* XCR1 (XINUSE) is not advertised */
        x86_raise_gp0(cpu);
    cpu->gpr[X86_RAX] = (uint32_t)cpu->xcr0;
    cpu->gpr[X86_RDX] = (uint32_t)(cpu->xcr0 >> 32);
}

void x86_op_xsetbv(struct x86_cpu *cpu)
{
    if (!(cpu->cr4 & X86_CR4_OSXSAVE))
        x86_raise(cpu, X86_EXC_UD);
    uint64_t v = (cpu->gpr[X86_RDX] << 32) | (uint32_t)cpu->gpr[X86_RAX];
    /* SDM Vol. 2 XSETBV: #GP(0) if CPL > 0, ECX != 0, a reserved/unsupported
     * bit is set, bit 0 clear, or AVX without SSE (Vol. 1 13.3). */
    if (cpu->cpl != 0 || (uint32_t)cpu->gpr[X86_RCX] != 0 || (v & ~x86_xcr0_supported(cpu)) ||
        !(v & XCR0_X87) || ((v & XCR0_AVX) && !(v & XCR0_SSE)))
        x86_raise_gp0(cpu);
    cpu->xcr0 = v;
    cpu->exit_block = true;
}

void x86_cpuid_xsave_leaf(struct x86_cpu *cpu, uint32_t subleaf, uint32_t out[4])
{
    uint64_t sup = x86_xcr0_supported(cpu);
    out[0] = out[1] = out[2] = out[3] = 0;
    if (!sup)
        return;
    switch (subleaf) {
    case 0:   /* supported XCR0 bits, size for XCR0 now, size for everything */
        out[0] = (uint32_t)sup;
        out[1] = xs_std_size(cpu->xcr0);
        out[2] = xs_std_size(sup);
        out[3] = (uint32_t)(sup >> 32);
        break;
    case 1:   /* EAX: XSAVEOPT (bit 0), XSAVEC (bit 1); EBX: compacted size of XCR0 */
        out[0] = 3;
        out[1] = XS_AVX_OFF + ((cpu->xcr0 & XCR0_AVX) ? XS_AVX_SIZE : 0);
        break;
    case 2:   /* AVX: size, standard offset; user state, no 64-byte alignment */
        if (sup & XCR0_AVX) {
            out[0] = XS_AVX_SIZE;
            out[1] = XS_AVX_OFF;
        }
        break;
    default:
        break;
    }
}
