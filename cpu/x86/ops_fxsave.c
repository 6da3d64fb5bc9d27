/*
 * cpu/x86/ops_fxsave.c - the 0F AE group: FXSAVE /0, FXRSTOR /1, LDMXCSR /2,
 * STMXCSR /3, XSAVE/XRSTOR/XSAVEOPT /4 /5 /6 (handed to ops_xsave.c),
 * CLFLUSH /7, LFENCE/MFENCE/SFENCE (mod = 3, /5 /6 /7: no-ops in a
 * sequentially consistent interpreter), and F3 0F AE mod = 3 /0../3
 * RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE.
 *
 * FXSAVE image per SDM Vol. 1 10.5.1, Table 10-2 (32-bit format) and
 * Table 10-3/10-4 ("64-bit" format with REX.W: FPU IP/DP as 64-bit offsets).
 * Decisions: CLFLUSH only checks segmentation (no page-walk probe: a probe
 * read could have side effects on MMIO); bytes 464..511 (software area)
 * and, outside 64-bit mode, XMM8-15 are left untouched by FXSAVE.
 */
#include "cpu/x86/sse_priv.h"

#define FXSAVE_SIZE 512
#define FXSAVE_XMM_OFF 160

/** #NM/#UD checks shared by FXSAVE and FXRSTOR (SDM Vol. 2 FXSAVE "Protected Mode Exceptions"). */
static void fx_check(struct x86_cpu *cpu)
{
    if (cpu->cr0 & (X86_CR0_TS | X86_CR0_EM))
        x86_raise(cpu, X86_EXC_NM);
}

static unsigned fx_nxmm(struct x86_cpu *cpu)
{
    return cpu->code_mode == X86_MODE_64 ? 16 : 8;
}

void x86_fx_image(struct x86_cpu *cpu, uint8_t *img, bool rex_w)
{
    unsigned top = (cpu->fsw >> FSW_TOP_SHIFT) & 7;
    uint8_t abridged = 0;
    for (unsigned i = 0; i < 8; i++)
        if (((cpu->ftw >> (2 * i)) & 3) != FTAG_EMPTY)
            abridged |= 1u << i;
    memcpy(img + 0, &cpu->fcw, 2);
    memcpy(img + 2, &cpu->fsw, 2);
    img[4] = abridged;
    img[5] = 0;
    uint16_t fop = cpu->fop & 0x7ff;
    memcpy(img + 6, &fop, 2);
    if (rex_w) {
        memcpy(img + 8, &cpu->fip, 8);
        memcpy(img + 16, &cpu->fdp, 8);
    } else {
        uint32_t ip = (uint32_t)cpu->fip, dp = (uint32_t)cpu->fdp;
        memcpy(img + 8, &ip, 4);
        memcpy(img + 12, &cpu->fcs, 2);
        memset(img + 14, 0, 2);
        memcpy(img + 16, &dp, 4);
        memcpy(img + 20, &cpu->fds, 2);
        memset(img + 22, 0, 2);
    }
    uint32_t mask = MXCSR_MASK;
    memcpy(img + 24, &cpu->mxcsr, 4);
    memcpy(img + 28, &mask, 4);
    for (unsigned i = 0; i < 8; i++) {
        uint8_t *slot = img + 32 + 16 * i;
        memset(slot, 0, 16);
        memcpy(slot, cpu->st[(top + i) & 7].bytes, 10);
    }
    for (unsigned i = 0; i < fx_nxmm(cpu); i++)
        memcpy(img + FXSAVE_XMM_OFF + 16 * i, cpu->xmm[i].u8, 16);
}

static void op_fxsave(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    fx_check(cpu);
    unsigned len = FXSAVE_XMM_OFF + 16 * fx_nxmm(cpu);
    gva_t lin = sse_mem_addr(cpu, insn, FXSAVE_SIZE, MMU_WRITE, 16);
    uint8_t img[FXSAVE_SIZE];
    x86_fx_image(cpu, img, insn->rex & 8);
    x86_probe_write(cpu, lin, len);
    x86_write_bytes(cpu, lin, img, len);
}

static void op_fxrstor(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    fx_check(cpu);
    unsigned len = FXSAVE_XMM_OFF + 16 * fx_nxmm(cpu);
    gva_t lin = sse_mem_addr(cpu, insn, FXSAVE_SIZE, MMU_READ, 16);
    uint8_t img[FXSAVE_SIZE];
    x86_read_bytes(cpu, lin, img, len);
    uint32_t mxcsr;
    memcpy(&mxcsr, img + 24, 4);
    if (mxcsr & ~MXCSR_MASK)
        x86_raise_gp0(cpu);
    /* All checks done: commit. */
    cpu->mxcsr = mxcsr;
    x86_fx_load_x87(cpu, img, insn->rex & 8);
    for (unsigned i = 0; i < fx_nxmm(cpu); i++)
        memcpy(cpu->xmm[i].u8, img + FXSAVE_XMM_OFF + 16 * i, 16);
}

void x86_fx_load_x87(struct x86_cpu *cpu, const uint8_t *img, bool rex_w)
{
    memcpy(&cpu->fcw, img + 0, 2);
    cpu->fcw = x87_fcw_value(cpu->fcw);
    memcpy(&cpu->fsw, img + 2, 2);
    /* FSW.ES and FSW.B follow the loaded flags and masks: set iff an
     * exception flag is unmasked (behaviour of the hardware, checked on
     * the host by test_avx_diff's XRSTOR forms). */
    if (cpu->fsw & ~cpu->fcw & 0x3f)
        cpu->fsw |= FSW_ES | FSW_B;
    else
        cpu->fsw &= (uint16_t)~(FSW_ES | FSW_B);
    memcpy(&cpu->fop, img + 6, 2);
    cpu->fop &= 0x7ff;
    if (rex_w) {
        memcpy(&cpu->fip, img + 8, 8);
        memcpy(&cpu->fdp, img + 16, 8);
    } else {
        uint32_t ip, dp;
        memcpy(&ip, img + 8, 4);
        memcpy(&cpu->fcs, img + 12, 2);
        memcpy(&dp, img + 16, 4);
        memcpy(&cpu->fds, img + 20, 2);
        cpu->fip = ip;
        cpu->fdp = dp;
    }
    unsigned top = (cpu->fsw >> FSW_TOP_SHIFT) & 7;
    for (unsigned i = 0; i < 8; i++) {
        union x86_fpreg *r = &cpu->st[(top + i) & 7];
        memset(r->bytes, 0, sizeof(r->bytes));
        memcpy(r->bytes, img + 32 + 16 * i, 10);
    }
    uint16_t ftw = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned tag = (img[4] >> i) & 1 ? x87_full_tag(cpu, i) : FTAG_EMPTY;
        ftw |= (uint16_t)(tag << (2 * i));
    }
    cpu->ftw = ftw;
}

/** LDMXCSR m32 / STMXCSR m32 (SDM Vol. 2 LDMXCSR: #GP(0) on reserved bits). */
static void op_ldmxcsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    sse_check(cpu);
    uint32_t v = (uint32_t)x86_mem_read(cpu, insn, 4);
    if (v & ~MXCSR_MASK)
        x86_raise_gp0(cpu);
    cpu->mxcsr = v;
}

static void op_stmxcsr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    sse_check(cpu);
    x86_mem_write(cpu, insn, 4, cpu->mxcsr);
}

/** F3 0F AE mod=3 /0../3: RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE (SDM Vol. 2). */
static void op_fsgsbase(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned digit = x86_modrm_digit(insn);
    if (digit > 3 || cpu->code_mode != X86_MODE_64 || !(cpu->cr4 & X86_CR4_FSGSBASE)) {
        x86_op_ud(cpu, insn);
        return;
    }
    unsigned size = (insn->rex & 8) ? 8 : 4;
    int sreg = (digit & 1) ? X86_GS : X86_FS;
    if (digit < 2) {
        x86_reg_write(cpu, insn->rm, size, true, cpu->seg[sreg].base);
    } else {
        uint64_t v = x86_reg_read(cpu, insn->rm, size, true);
        if ((uint64_t)((int64_t)(v << 16) >> 16) != v)     /* 48-bit canonical check */
            if (!(cpu->cr4 & X86_CR4_LA57) || (uint64_t)((int64_t)(v << 7) >> 7) != v)
                x86_raise_gp0(cpu);
        cpu->seg[sreg].base = v;
    }
}

/** The 0F AE group dispatcher. */
static void op_0fae(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned digit = x86_modrm_digit(insn);
    bool mem = insn->flags & X86_INSN_MEM;
    if (!mem) {
        if (insn->mprefix == X86_PFX_F3) {
            op_fsgsbase(cpu, insn);
            return;
        }
        if (insn->mprefix == X86_PFX_NONE && digit >= 5)
            return;                                 /* LFENCE / MFENCE / SFENCE */
        x86_op_ud(cpu, insn);
        return;
    }
    if (insn->mprefix != X86_PFX_NONE) {
        x86_op_ud(cpu, insn);                       /* CLFLUSHOPT/CLWB/PTWRITE...: not advertised */
        return;
    }
    switch (digit) {
    case 0: op_fxsave(cpu, insn); return;
    case 1: op_fxrstor(cpu, insn); return;
    case 2: op_ldmxcsr(cpu, insn); return;
    case 3: op_stmxcsr(cpu, insn); return;
    case 7:                                         /* CLFLUSH: segmentation check only */
        (void)x86_mem_linear(cpu, insn, 1, MMU_READ);
        return;
    default:                                        /* XSAVE / XRSTOR / XSAVEOPT: ops_xsave.c */
        x86_op_xsave_group(cpu, insn);
        return;
    }
}

void x86_ops_fxsave_init(x86_exec_fn *table)
{
    table[X86_OP(X86_MAP_0F, 0xae)] = op_0fae;
}
