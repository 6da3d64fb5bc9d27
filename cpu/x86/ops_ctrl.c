/*
 * cpu/x86/ops_ctrl.c - control and debug registers and the 0F 01 group:
 * MOV CRn/DRn, CLTS, LMSW/SMSW, LGDT/LIDT/SGDT/SIDT, INVLPG, INVPCID,
 * SWAPGS, RDTSCP, and the CPUID-gated encodings of Group 7 that we do not
 * advertise (MONITOR/MWAIT, CLAC/STAC, XGETBV/XSETBV, RDPKRU/WRPKRU: #UD).
 *
 * Follows SDM Vol. 3A 2.5 (CR0/CR3/CR4 bits and their checks), 4.1.1-4.1.2
 * (paging-mode changes), 4.10.4 (what flushes the TLB), 9.8.5 (enabling
 * IA-32e mode), 17.2 (debug registers), and the Vol. 2 pseudo-code of each
 * instruction.
 *
 * PCIDs (SDM Vol. 3A 4.10.1, advertised by the max model with INVPCID):
 * with CR4.PCIDE=1, CR3[11:0] is the current PCID and bit 63 of a MOV to
 * CR3 source is the "no flush" hint, never stored (CR3 reads return bit 63
 * as 0, Vol. 2B MOV-Control Registers); CR4.PCIDE can be set only with
 * EFER.LMA=1 and CR3[11:0]=0, and CR0.PG cannot be cleared while it is 1.
 * INVPCID (Vol. 2A) reads its 128-bit descriptor and checks the type, the
 * reserved bits 63:12, a non-zero PCID for types 0/1 with PCIDE=0 and, for
 * type 0, a canonical address.
 *
 * Decided:
 *  - The TLB is not tagged by PCID: every CR3 write flushes non-global
 *    entries (even with CR4.PCIDE and bit 63 set), which is always safe
 *    (4.10.4.1: bit 63 only means the CPU is not *required* to invalidate).
 *    So the TLB only ever holds the current PCID's entries and the global
 *    ones; INVPCID type 0 flushes that page for every PCID (globals too),
 *    types 1 and 3 flush every non-global entry, type 2 everything, all of
 *    which 4.10.4.1 allows ("may invalidate ... as well"). A PCID-tagged
 *    TLB was considered and not built: mmu/tlb.c's two direct-mapped
 *    arrays are indexed directly by mem.c, ops_fast.c, ops_string.c and
 *    block.c, so tagging means a PCID compare on every fast path or
 *    swapping whole arrays on CR3 writes (as costly as the flush it saves),
 *    and Linux runs here without page-table isolation (cpuid.c), so it
 *    writes CR3 only on real address-space switches. Measured with the
 *    cloud kernel and -cpu max: host CPU time to the init marker was the
 *    same with PCID/INVPCID advertised as without (17.5-18.4 s both).
 *  - MAXPHYADDR is 40 (CPUID 0x80000008): CR3 bits 63:40 are reserved in
 *    IA-32e mode.
 *  - Debug registers (SDM Vol. 3B 18.2): writes to DR0-DR3/DR7 re-decode
 *    the breakpoints (x86_dr_update, cpu.c, which implements them); DR7.GD
 *    makes any MOV DR a #DB fault (dr_index).
 */
#include <inttypes.h>
#include <string.h>

#include "cpu/x86/sys.h"
#include "util/log.h"

#define X86_MAXPHYADDR 40

/* ---------------------------------------------------------------- CR0 / CR3 / CR4 */

void x86_write_cr0(struct x86_cpu *cpu, uint64_t value)
{
    const uint64_t valid = X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_ET |
                           X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | X86_CR0_NW | X86_CR0_CD |
                           X86_CR0_PG;
    if (value >> 32)
        x86_raise_gp0(cpu);
    value = (value & valid) | X86_CR0_ET;   /* reserved bits 31:0 are ignored; ET is fixed */
    if ((value & X86_CR0_PG) && !(value & X86_CR0_PE))
        x86_raise_gp0(cpu);
    if ((value & X86_CR0_NW) && !(value & X86_CR0_CD))
        x86_raise_gp0(cpu);
    uint64_t old = cpu->cr0;
    uint64_t efer = cpu->efer;
    if (!(old & X86_CR0_PG) && (value & X86_CR0_PG) && (efer & X86_EFER_LME)) {
        /* Activating IA-32e mode (SDM Vol. 3A 9.8.5). */
        if (!(cpu->cr4 & X86_CR4_PAE) || (cpu->seg[X86_CS].attr & X86_SEG_ATTR_L))
            x86_raise_gp0(cpu);
        efer |= X86_EFER_LMA;
    }
    if ((old & X86_CR0_PG) && !(value & X86_CR0_PG)) {
        /* Vol. 2B MOV-Control Registers: not in 64-bit mode, nor with PCIDE=1. */
        if (cpu->code_mode == X86_MODE_64 || (cpu->cr4 & X86_CR4_PCIDE))
            x86_raise_gp0(cpu);
        efer &= ~X86_EFER_LMA;
    }
    cpu->cr0 = value;
    cpu->efer = efer;
    if ((old ^ value) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
        x86_tlb_flush(cpu, false);
    x86_update_mode(cpu);
}

void x86_write_cr3(struct x86_cpu *cpu, uint64_t value)
{
    if (x86_long_mode(cpu)) {
        /* With PCIDE=1 bit 63 is the "no flush" hint, not stored (4.10.4.1);
         * we flush anyway (see header). With PCIDE=0 it is reserved. */
        if (cpu->cr4 & X86_CR4_PCIDE)
            value &= ~(1ull << 63);
        if (value >> X86_MAXPHYADDR)
            x86_raise_gp0(cpu);
    } else {
        value = (uint32_t)value;
    }
    cpu->cr3 = value;
    x86_tlb_flush(cpu, true);
    cpu->exit_block = true;
}

/* CR4 bits this model lets the guest set: the baseline plus CPUID-gated ones. */
static uint64_t cr4_valid(struct x86_cpu *cpu)
{
    uint64_t v = X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE |
                 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    static const struct { unsigned feat; uint64_t bit; } gated[] = {
        { X86_FEAT_MCE, X86_CR4_MCE },         { X86_FEAT_LA57, X86_CR4_LA57 },
        { X86_FEAT_FSGSBASE, X86_CR4_FSGSBASE }, { X86_FEAT_PCID, X86_CR4_PCIDE },
        { X86_FEAT_XSAVE, X86_CR4_OSXSAVE },   { X86_FEAT_SMEP, X86_CR4_SMEP },
        { X86_FEAT_SMAP, X86_CR4_SMAP },       { X86_FEAT_UMIP, X86_CR4_UMIP },
        { X86_FEAT_PKU, X86_CR4_PKE },
    };
    for (size_t i = 0; i < ARRAY_SIZE(gated); i++)
        if (x86_has_feature(cpu, gated[i].feat))
            v |= gated[i].bit;
    return v;
}

void x86_write_cr4(struct x86_cpu *cpu, uint64_t value)
{
    uint64_t old = cpu->cr4;
    bool lma = x86_long_mode(cpu);
    if (value & ~cr4_valid(cpu))
        x86_raise_gp0(cpu);
    if (lma && !(value & X86_CR4_PAE))
        x86_raise_gp0(cpu);
    if (lma && ((value ^ old) & X86_CR4_LA57))
        x86_raise_gp0(cpu);
    /* 4.10.1: PCIDE can go 0 -> 1 only in IA-32e mode with CR3[11:0] = 0. */
    if ((value & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) && (!lma || (cpu->cr3 & 0xfff)))
        x86_raise_gp0(cpu);
    cpu->cr4 = value;
    if ((old ^ value) & (X86_CR4_PGE | X86_CR4_PAE | X86_CR4_PSE | X86_CR4_LA57 | X86_CR4_PCIDE |
                         X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE))
        x86_tlb_flush(cpu, false);
    cpu->exit_block = true;
}

/* ---------------------------------------------------------------- MOV CR / DR */

static void require_cpl0(struct x86_cpu *cpu)
{
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
}

/* MOV CR/DR operand size: 64 in 64-bit mode, else 32 (SDM Vol. 2B MOV-Control Registers). */
static unsigned crdr_size(const struct x86_cpu *cpu)
{
    return cpu->code_mode == X86_MODE_64 ? 8 : 4;
}

/** 0F 20: MOV r, CRn. */
void x86_op_mov_from_cr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    uint64_t v;
    switch (insn->reg) {
    case 0: v = cpu->cr0; break;
    case 2: v = cpu->cr2; break;
    case 3: v = cpu->cr3; break;
    case 4: v = cpu->cr4; break;
    case 8:
        v = cpu->vcpu.intc.tpr_read ? cpu->vcpu.intc.tpr_read(cpu->vcpu.intc.opaque) & 0xf : 0;
        break;
    default: x86_raise(cpu, X86_EXC_UD);
    }
    x86_reg_write(cpu, insn->rm & 15, crdr_size(cpu), false, v);
}

/** 0F 22: MOV CRn, r. */
void x86_op_mov_to_cr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    uint64_t v = cpu->gpr[insn->rm & 15] & x86_size_mask(crdr_size(cpu));
    switch (insn->reg) {
    case 0: x86_write_cr0(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3: x86_write_cr3(cpu, v); break;
    case 4: x86_write_cr4(cpu, v); break;
    case 8:
        if (v & ~0xfull)
            x86_raise_gp0(cpu);
        if (cpu->vcpu.intc.tpr_write)
            cpu->vcpu.intc.tpr_write(cpu->vcpu.intc.opaque, (uint8_t)v);
        break;
    default: x86_raise(cpu, X86_EXC_UD);
    }
    cpu->exit_block = true;
}

/*
 * DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); DR8-15 do not exist (SDM
 * Vol. 3B 18.2.2). Then general detect (18.3.1.3): with DR7.GD set, any MOV
 * to or from a DR is a #DB fault with DR6.BD set and GD cleared for the
 * handler. Order as the MOV DR exception list: #GP (CPL), #UD, #DB.
 */
static unsigned dr_index(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned n = insn->reg;
    if (n > 7)
        x86_raise(cpu, X86_EXC_UD);
    if (n == 4 || n == 5) {
        if (cpu->cr4 & X86_CR4_DE)
            x86_raise(cpu, X86_EXC_UD);
        n += 2;
    }
    if (cpu->dr[7] & X86_DR7_GD) {
        cpu->dr[7] &= ~X86_DR7_GD;
        cpu->dr[6] |= X86_DR6_BD;
        x86_raise(cpu, X86_EXC_DB);
    }
    return n;
}

/** 0F 21: MOV r, DRn. */
void x86_op_mov_from_dr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    unsigned n = dr_index(cpu, insn);
    uint64_t v = cpu->dr[n];
    if (n == 6)
        v = (uint32_t)(v | 0xffff0ff0u);
    else if (n == 7)
        v = (uint32_t)(v | 0x400u);
    x86_reg_write(cpu, insn->rm & 15, crdr_size(cpu), false, v);
}

/** 0F 23: MOV DRn, r. */
void x86_op_mov_to_dr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    unsigned n = dr_index(cpu, insn);
    uint64_t v = cpu->gpr[insn->rm & 15] & x86_size_mask(crdr_size(cpu));
    if (n >= 6 && (v >> 32))
        x86_raise_gp0(cpu);
    if (n == 6) {
        v |= 0xffff0ff0u;
    } else if (n == 7) {
        v = (v | 0x400) & ~0xd800ull;   /* bits 11, 12, 14, 15 read as 0 */
    }
    cpu->dr[n] = v;
    if (n != 6) {
        x86_dr_update(cpu);             /* breakpoints armed or moved (cpu.c) */
        cpu->exit_block = true;         /* the run loop's debug mode may change */
    }
}

/** 0F 06: CLTS. */
void x86_op_clts(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    cpu->cr0 &= ~X86_CR0_TS;
}

/**
 * 66 0F 38 82: INVPCID r32/r64, m128 (SDM Vol. 2A INVPCID, Vol. 3A 4.10.4.1).
 * The register operand is 64-bit in 64-bit mode, else 32-bit; the descriptor
 * holds the PCID in bits 11:0 (63:12 reserved) and a linear address in
 * 127:64. What is flushed is explained in the header.
 */
void x86_op_invpcid(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!x86_has_feature(cpu, X86_FEAT_INVPCID) || insn->mprefix != X86_PFX_66 ||
        !(insn->flags & X86_INSN_MEM) || (cpu->rflags & X86_FLAG_VM))
        x86_raise(cpu, X86_EXC_UD);   /* not recognised in virtual-8086 mode */
    require_cpl0(cpu);
    uint64_t type = cpu->gpr[insn->reg & 15];
    if (cpu->code_mode != X86_MODE_64)
        type = (uint32_t)type;
    uint8_t raw[16];
    x86_read_bytes(cpu, x86_mem_linear(cpu, insn, 16, MMU_READ), raw, 16);
    uint64_t desc_lo, lin;
    memcpy(&desc_lo, raw, 8);
    memcpy(&lin, raw + 8, 8);
    unsigned pcid = desc_lo & 0xfff;
    if (type > 3 || (desc_lo >> 12))
        x86_raise_gp0(cpu);
    if (type <= 1 && pcid != 0 && !(cpu->cr4 & X86_CR4_PCIDE))
        x86_raise_gp0(cpu);
    switch (type) {
    case 0:   /* individual address: the full 64 bits, even outside 64-bit mode */
        if (!x86_is_canonical(cpu, lin))
            x86_raise_gp0(cpu);
        x86_tlb_flush_page(cpu, lin);
        break;
    case 1:   /* single context */
    case 3:   /* all contexts, except global translations */
        x86_tlb_flush(cpu, true);
        break;
    default:  /* 2: all contexts, global translations included */
        x86_tlb_flush(cpu, false);
        break;
    }
    cpu->exit_block = true;
}

/* ---------------------------------------------------------------- Group 7 */

/* Linear addresses of the limit and base parts of a pseudo-descriptor operand. */
static void dtr_operand(struct x86_cpu *cpu, const struct x86_insn *insn, enum mmu_access acc,
                        gva_t *lin_limit, gva_t *lin_base, unsigned *base_size)
{
    if (!(insn->flags & X86_INSN_MEM))
        x86_raise(cpu, X86_EXC_UD);
    *base_size = cpu->code_mode == X86_MODE_64 ? 8 : 4;
    uint64_t ea = x86_ea(cpu, insn);
    *lin_limit = x86_linear(cpu, insn->seg, ea, 2, acc);
    *lin_base = x86_linear(cpu, insn->seg, (ea + 2) & x86_size_mask(insn->addrsize), *base_size,
                           acc);
}

/* SGDT / SIDT (SDM Vol. 2B): 2-byte limit then a 4- or 8-byte base. */
static void store_dtr(struct x86_cpu *cpu, const struct x86_insn *insn, const struct x86_dtr *dtr)
{
    if ((cpu->cr4 & X86_CR4_UMIP) && cpu->cpl > 0)
        x86_raise_gp0(cpu);
    gva_t ll, lb;
    unsigned bs;
    dtr_operand(cpu, insn, MMU_WRITE, &ll, &lb, &bs);
    x86_probe_write(cpu, ll, 2);
    x86_probe_write(cpu, lb, bs);
    x86_write_sized(cpu, ll, dtr->limit, 2);
    x86_write_sized(cpu, lb, bs == 8 ? dtr->base : (uint32_t)dtr->base, bs);
}

/* LGDT / LIDT: 16-bit operand size loads a 24-bit base outside 64-bit mode. */
static void load_dtr(struct x86_cpu *cpu, const struct x86_insn *insn, struct x86_dtr *dtr)
{
    require_cpl0(cpu);
    gva_t ll, lb;
    unsigned bs;
    dtr_operand(cpu, insn, MMU_READ, &ll, &lb, &bs);
    uint16_t limit = (uint16_t)x86_read_sized(cpu, ll, 2);
    uint64_t base = x86_read_sized(cpu, lb, bs);
    if (bs == 4 && insn->opsize == 2)
        base &= 0xffffff;
    dtr->limit = limit;
    dtr->base = base;
}

static void op_smsw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((cpu->cr4 & X86_CR4_UMIP) && cpu->cpl > 0)
        x86_raise_gp0(cpu);
    if (insn->flags & X86_INSN_MEM)
        x86_mem_write(cpu, insn, 2, cpu->cr0 & 0xffff);
    else
        x86_reg_write(cpu, insn->rm & 15, insn->opsize, false, cpu->cr0);
}

/* LMSW: loads CR0[3:0]; can set PE but never clear it (SDM Vol. 2A LMSW). */
static void op_lmsw(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_cpl0(cpu);
    uint64_t src = x86_rm_read(cpu, insn, 2);
    uint64_t v = (cpu->cr0 & ~0xeull) | (src & 0xf);
    x86_write_cr0(cpu, v);
}

static void op_invlpg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(insn->flags & X86_INSN_MEM))
        x86_raise(cpu, X86_EXC_UD);
    require_cpl0(cpu);
    uint64_t ea = x86_ea(cpu, insn);
    unsigned seg = insn->seg < X86_SREG_COUNT ? insn->seg : X86_DS;
    gva_t lin;
    if (cpu->code_mode == X86_MODE_64)
        lin = ea + ((seg == X86_FS || seg == X86_GS) ? cpu->seg[seg].base : 0);
    else
        lin = (uint32_t)(cpu->seg[seg].base + ea);
    x86_tlb_flush_page(cpu, lin);
    cpu->exit_block = true;
}

static void op_swapgs(struct x86_cpu *cpu)
{
    if (cpu->code_mode != X86_MODE_64)
        x86_raise(cpu, X86_EXC_UD);
    require_cpl0(cpu);
    uint64_t t = cpu->seg[X86_GS].base;
    cpu->seg[X86_GS].base = cpu->kernel_gs_base;
    cpu->kernel_gs_base = t;
}

static void op_rdtscp(struct x86_cpu *cpu)
{
    if (!x86_has_feature(cpu, X86_FEAT_RDTSCP))
        x86_raise(cpu, X86_EXC_UD);
    if ((cpu->cr4 & X86_CR4_TSD) && cpu->cpl != 0 && (cpu->cr0 & X86_CR0_PE))
        x86_raise_gp0(cpu);
    uint64_t tsc = x86_rdtsc(cpu);
    cpu->gpr[X86_RAX] = (uint32_t)tsc;
    cpu->gpr[X86_RDX] = tsc >> 32;
    cpu->gpr[X86_RCX] = (uint32_t)cpu->tsc_aux;
}

/** 0F 01: Group 7. */
void x86_op_grp7(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned digit = x86_modrm_digit(insn);
    if (insn->flags & X86_INSN_MEM) {
        switch (digit) {
        case 0: store_dtr(cpu, insn, &cpu->gdtr); return;
        case 1: store_dtr(cpu, insn, &cpu->idtr); return;
        case 2: load_dtr(cpu, insn, &cpu->gdtr); return;
        case 3: load_dtr(cpu, insn, &cpu->idtr); return;
        case 4: op_smsw(cpu, insn); return;
        case 6: op_lmsw(cpu, insn); return;
        case 7: op_invlpg(cpu, insn); return;
        default: x86_raise(cpu, X86_EXC_UD);
        }
    }
    switch (insn->modrm) {
    case 0xc8: case 0xc9:   /* MONITOR / MWAIT */
        if (!x86_has_feature(cpu, X86_FEAT_MONITOR))
            x86_raise(cpu, X86_EXC_UD);
        require_cpl0(cpu);
        return;   /* MWAIT as a NOP: the run loop polls interrupts anyway */
    case 0xca: case 0xcb:   /* CLAC / STAC */
        if (!x86_has_feature(cpu, X86_FEAT_SMAP) || cpu->code_mode == X86_MODE_16)
            x86_raise(cpu, X86_EXC_UD);
        require_cpl0(cpu);
        if (insn->modrm == 0xca)
            cpu->rflags &= ~X86_FLAG_AC;
        else
            cpu->rflags |= X86_FLAG_AC;
        return;
    case 0xd0:              /* XGETBV (ops_xsave.c) */
        x86_op_xgetbv(cpu);
        return;
    case 0xd1:              /* XSETBV (ops_xsave.c) */
        x86_op_xsetbv(cpu);
        return;
    case 0xf8:
        op_swapgs(cpu);
        return;
    case 0xf9:
        op_rdtscp(cpu);
        return;
    default:
        break;
    }
    if (digit == 4) {
        op_smsw(cpu, insn);
        return;
    }
    if (digit == 6) {
        op_lmsw(cpu, insn);
        return;
    }
    /* VMX/SVM, ENCLS, RDPKRU/WRPKRU, SERIALIZE, CLZERO, ...: not advertised. */
    x86_raise(cpu, X86_EXC_UD);
}
