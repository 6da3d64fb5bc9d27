/*
 * cpu/x86/seg.c - segment registers: descriptor fetch and checks, segment
 * loads in every mode, the mode/CPL bookkeeping, and the instructions that
 * only move selectors around.
 *
 * Follows SDM Vol. 3A ch. 3 (3.4 selectors, 3.4.5 descriptors, 3.5 system
 * descriptor tables), ch. 5 (5.5-5.8 privilege checks on data/stack
 * segment loads) and the Vol. 2 pseudo-code of MOV/POP Sreg, LDS/LES/LSS/
 * LFS/LGS, LAR, LSL, VERR/VERW, SLDT/STR/LLDT/LTR.
 *
 * Decided:
 *  - Real mode segment loads change only the selector and base (the cached
 *    limit and attributes survive, as on hardware: "unreal mode"); the cached
 *    DPL is forced to 0. Virtual-8086 loads set a 64 KiB DPL-3 segment.
 *  - CPL is SS.DPL of the segment cache in protected mode (it equals CS.RPL
 *    except while running conforming code), 0 in real mode, 3 in vm86
 *    (SDM Vol. 3A 5.5).
 *  - Loading a null selector into DS/ES/FS/GS clears the base as Intel CPUs
 *    do (we report GenuineIntel; Linux's X86_BUG_NULL_SEG is AMD-only).
 *  - ARPL (63 outside 64-bit mode) lives with MOVSXD in ops_mov.c.
 *  - LAR/LSL accept the system types of the SDM Vol. 2A tables (LAR "Segment
 *    and Gate Types", LSL "Segment and Gate Descriptor Types"), which differ
 *    between legacy and IA-32e mode: in IA-32e mode LAR takes only 64-bit
 *    TSSs and call gates (not the LDT), LSL the LDT and 64-bit TSSs.
 *    Kept deliberately: the LSL table ("Segment and Gate Descriptor Types")
 *    has, for type 0 in IA-32e mode, the name "Upper 8 byte of a 16-Byte
 *    descriptor" and Valid "Yes" (protected mode: "Reserved", "No"). qtemu
 *    does not follow that row: a selector naming the upper half of a system
 *    descriptor gets ZF = 0, as in Bochs and QEMU. That half holds base
 *    63:32 and zero / reserved bits (SDM Vol. 3A 7.2.3), not a limit, so
 *    following the row would only hand software base bits as a "limit".
 */
#include <inttypes.h>

#include "cpu/x86/sys.h"
#include "util/log.h"

/* ---------------------------------------------------------------- descriptor tables */

static bool desc_table(struct x86_cpu *cpu, uint16_t sel, uint64_t *base, uint32_t *limit)
{
    if (sel & 4) {
        /* LDT: unusable after LLDT with a null selector (attr P clear). */
        if (!(cpu->ldtr.attr & X86_SEG_ATTR_P))
            return false;
        *base = cpu->ldtr.base;
        *limit = cpu->ldtr.limit;
    } else {
        *base = cpu->gdtr.base;
        *limit = cpu->gdtr.limit;
    }
    return true;
}

static uint64_t table_addr(struct x86_cpu *cpu, uint64_t base, uint32_t off)
{
    uint64_t a = base + off;
    return x86_long_mode(cpu) ? a : (uint32_t)a;
}

bool x86_fetch_desc(struct x86_cpu *cpu, uint16_t sel, uint64_t *desc, uint64_t *addr)
{
    uint64_t base;
    uint32_t limit;
    uint32_t off = sel & 0xfff8u;
    if (!desc_table(cpu, sel, &base, &limit) || off + 7 > limit)
        return false;
    *addr = table_addr(cpu, base, off);
    *desc = x86_read_sys(cpu, *addr, 8);
    return true;
}

bool x86_fetch_desc16(struct x86_cpu *cpu, uint16_t sel, uint64_t *desc, uint64_t *hi,
                      uint64_t *addr)
{
    uint64_t base;
    uint32_t limit;
    uint32_t off = sel & 0xfff8u;
    if (!desc_table(cpu, sel, &base, &limit) || off + 15 > limit)
        return false;
    *addr = table_addr(cpu, base, off);
    *desc = x86_read_sys(cpu, *addr, 8);
    *hi = x86_read_sys(cpu, table_addr(cpu, base, off + 8), 8);
    return true;
}

void x86_desc_set_accessed(struct x86_cpu *cpu, uint64_t addr, uint64_t *desc)
{
    if (*desc & (1ull << 40))
        return;
    *desc |= 1ull << 40;
    x86_write_sys(cpu, addr + 5, (*desc >> 40) & 0xff, 1);
}

/* ---------------------------------------------------------------- mode */

void x86_update_mode(struct x86_cpu *cpu)
{
    if (!(cpu->cr0 & X86_CR0_PE)) {
        cpu->cpl = 0;
        cpu->code_mode = X86_MODE_16;
    } else if (cpu->rflags & X86_FLAG_VM) {
        cpu->cpl = 3;
        cpu->code_mode = X86_MODE_16;
    } else {
        uint16_t cs = cpu->seg[X86_CS].attr;
        cpu->cpl = X86_SEG_ATTR_DPL(cpu->seg[X86_SS].attr);
        if (x86_long_mode(cpu) && (cs & X86_SEG_ATTR_L))
            cpu->code_mode = X86_MODE_64;
        else
            cpu->code_mode = (cs & X86_SEG_ATTR_DB) ? X86_MODE_32 : X86_MODE_16;
    }
    cpu->exit_block = true;
}

void x86_seg_load_flat(struct x86_cpu *cpu, int sreg, uint16_t sel, unsigned dpl, bool code,
                       bool long64)
{
    struct x86_seg *s = &cpu->seg[sreg];
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    /* Code: execute/read, accessed (0xB); data: read/write, accessed (0x3). */
    uint16_t attr = (code ? 0xb : 0x3) | X86_SEG_ATTR_S | (uint16_t)(dpl << 5) | X86_SEG_ATTR_P |
                    X86_SEG_ATTR_G;
    if (code && long64)
        attr |= X86_SEG_ATTR_L;
    else
        attr |= X86_SEG_ATTR_DB;
    s->attr = attr;
}

void x86_scrub_data_segs(struct x86_cpu *cpu, unsigned new_cpl)
{
    static const int regs[4] = { X86_ES, X86_FS, X86_GS, X86_DS };
    for (int i = 0; i < 4; i++) {
        struct x86_seg *s = &cpu->seg[regs[i]];
        if ((regs[i] == X86_FS || regs[i] == X86_GS) && (s->sel & 0xfffc) == 0)
            continue;
        bool conforming_code = x86_attr_is_code(s->attr) && (s->attr & X86_TYPE_EC);
        if (!conforming_code && X86_SEG_ATTR_DPL(s->attr) < new_cpl) {
            s->sel = 0;
            s->base = 0;
            s->limit = 0;
            s->attr = 0;
        }
    }
}

void x86_check_ret_ss(struct x86_cpu *cpu, uint16_t sel, unsigned rpl, bool target64,
                      struct x86_seg *out)
{
    if ((sel & 0xfffc) == 0) {
        if (!target64 || rpl == 3)
            x86_raise_gp0(cpu);
        out->sel = sel;
        out->base = 0;
        out->limit = 0xffffffff;
        out->attr = 0x3 | X86_SEG_ATTR_S | (uint16_t)(rpl << 5) | X86_SEG_ATTR_P |
                    X86_SEG_ATTR_DB | X86_SEG_ATTR_G;
        return;
    }
    uint64_t d, addr;
    uint32_t err = sel & 0xfffc;
    if ((sel & 3) != rpl || !x86_fetch_desc(cpu, sel, &d, &addr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(d);
    if (!x86_attr_is_data(attr) || !(attr & X86_TYPE_WR) || X86_SEG_ATTR_DPL(attr) != rpl)
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_SS, err);
    x86_desc_set_accessed(cpu, addr, &d);
    x86_seg_from_desc(out, sel, d);
}

/* ---------------------------------------------------------------- x86_load_seg */

/* CS loads outside far transfers (only reachable through internal callers):
 * the same-privilege code-segment rules of JMP far (SDM Vol. 2A JMP). */
static void load_cs_same_pl(struct x86_cpu *cpu, uint16_t sel)
{
    uint64_t d, addr;
    uint32_t err = sel & 0xfffc;
    if (!err)
        x86_raise_gp0(cpu);
    if (!x86_fetch_desc(cpu, sel, &d, &addr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(d);
    unsigned dpl = X86_SEG_ATTR_DPL(attr);
    if (!x86_attr_is_code(attr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if ((attr & X86_TYPE_EC) ? dpl > cpu->cpl : ((sel & 3) > cpu->cpl || dpl != cpu->cpl))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    x86_desc_set_accessed(cpu, addr, &d);
    x86_seg_from_desc(&cpu->seg[X86_CS], (uint16_t)((sel & 0xfffc) | cpu->cpl), d);
    x86_update_mode(cpu);
}

void x86_load_seg(struct x86_cpu *cpu, int sreg, uint16_t sel)
{
    if (sreg < 0 || sreg >= X86_SREG_COUNT)
        x86_raise(cpu, X86_EXC_UD);
    struct x86_seg *s = &cpu->seg[sreg];

    if (!(cpu->cr0 & X86_CR0_PE)) {
        /* Real mode (SDM Vol. 3A 20.1.1): base = selector * 16. */
        s->sel = sel;
        s->base = (uint64_t)sel << 4;
        s->attr &= (uint16_t)~0x60u;
        if (sreg == X86_CS)
            x86_update_mode(cpu);
        return;
    }
    if (cpu->rflags & X86_FLAG_VM) {
        /* Virtual-8086 mode (SDM Vol. 3A 20.2.1). */
        s->sel = sel;
        s->base = (uint64_t)sel << 4;
        s->limit = 0xffff;
        s->attr = (sreg == X86_CS ? 0xfb : 0xf3);
        return;
    }
    if (sreg == X86_CS) {
        load_cs_same_pl(cpu, sel);
        return;
    }

    unsigned cpl = cpu->cpl, rpl = sel & 3;
    uint32_t err = sel & 0xfffc;
    if (err == 0) {
        if (sreg == X86_SS) {
            /* Null SS: only in 64-bit mode at CPL < 3 with RPL = CPL (SDM Vol. 2B MOV). */
            if (cpu->code_mode != X86_MODE_64 || cpl == 3 || rpl != cpl)
                x86_raise_gp0(cpu);
            s->sel = sel;
            s->base = 0;
            s->limit = 0xffffffff;
            s->attr = 0x3 | X86_SEG_ATTR_S | (uint16_t)(cpl << 5) | X86_SEG_ATTR_P |
                      X86_SEG_ATTR_DB | X86_SEG_ATTR_G;
            return;
        }
        s->sel = sel;
        s->base = 0;
        s->limit = 0;
        s->attr = 0;
        return;
    }

    uint64_t d, addr;
    if (!x86_fetch_desc(cpu, sel, &d, &addr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(d);
    unsigned dpl = X86_SEG_ATTR_DPL(attr);
    if (sreg == X86_SS) {
        /* SDM Vol. 3A 5.7: RPL = CPL, writable data, DPL = CPL. */
        if (rpl != cpl || !x86_attr_is_data(attr) || !(attr & X86_TYPE_WR) || dpl != cpl)
            x86_raise_err(cpu, X86_EXC_GP, err);
        if (!(attr & X86_SEG_ATTR_P))
            x86_raise_err(cpu, X86_EXC_SS, err);
    } else {
        /* SDM Vol. 3A 5.6: data or readable code; privilege unless conforming. */
        if (!(attr & X86_SEG_ATTR_S))
            x86_raise_err(cpu, X86_EXC_GP, err);
        bool code = attr & X86_TYPE_CODE;
        if (code && !(attr & X86_TYPE_WR))
            x86_raise_err(cpu, X86_EXC_GP, err);
        if ((!code || !(attr & X86_TYPE_EC)) && (rpl > dpl || cpl > dpl))
            x86_raise_err(cpu, X86_EXC_GP, err);
        if (!(attr & X86_SEG_ATTR_P))
            x86_raise_err(cpu, X86_EXC_NP, err);
    }
    x86_desc_set_accessed(cpu, addr, &d);
    x86_seg_from_desc(s, sel, d);
}

/* ---------------------------------------------------------------- MOV / PUSH / POP Sreg */

static void set_shadow(struct x86_cpu *cpu)
{
    /* MOV SS / POP SS inhibit interrupts until the next instruction retires
     * (SDM Vol. 3A 6.8.3). */
    cpu->intr_shadow = true;
    cpu->intr_shadow_rip = cpu->next_rip;
    cpu->exit_block = true;
}

/** 8C: MOV r/m16, Sreg (register destinations zero-extend to the operand size). */
void x86_op_mov_rm_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sreg = insn->reg & 7;
    if (sreg >= X86_SREG_COUNT)
        x86_raise(cpu, X86_EXC_UD);
    uint16_t sel = cpu->seg[sreg].sel;
    if (insn->flags & X86_INSN_MEM)
        x86_mem_write(cpu, insn, 2, sel);
    else
        x86_reg_write(cpu, insn->rm & 15, insn->opsize, false, sel);
}

/** 8E: MOV Sreg, r/m16 (CS is #UD). */
void x86_op_mov_sreg_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned sreg = insn->reg & 7;
    if (sreg >= X86_SREG_COUNT || sreg == X86_CS)
        x86_raise(cpu, X86_EXC_UD);
    uint16_t sel = (uint16_t)x86_rm_read(cpu, insn, 2);
    x86_load_seg(cpu, (int)sreg, sel);
    if (sreg == X86_SS)
        set_shadow(cpu);
}

static int sreg_of_opcode(uint16_t op)
{
    switch (op) {
    case X86_OP(X86_MAP_PRIMARY, 0x06): case X86_OP(X86_MAP_PRIMARY, 0x07): return X86_ES;
    case X86_OP(X86_MAP_PRIMARY, 0x0e): return X86_CS;
    case X86_OP(X86_MAP_PRIMARY, 0x16): case X86_OP(X86_MAP_PRIMARY, 0x17): return X86_SS;
    case X86_OP(X86_MAP_PRIMARY, 0x1e): case X86_OP(X86_MAP_PRIMARY, 0x1f): return X86_DS;
    case X86_OP(X86_MAP_0F, 0xa0): case X86_OP(X86_MAP_0F, 0xa1): return X86_FS;
    case X86_OP(X86_MAP_0F, 0xa8): case X86_OP(X86_MAP_0F, 0xa9): return X86_GS;
    default: return -1;
    }
}

/** 06 0E 16 1E 0F A0 0F A8: PUSH Sreg (zero-extended to the operand size). */
void x86_op_push_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    int sreg = sreg_of_opcode(insn->op);
    if (sreg < 0 || (cpu->code_mode == X86_MODE_64 && sreg != X86_FS && sreg != X86_GS))
        x86_raise(cpu, X86_EXC_UD);
    x86_push(cpu, cpu->seg[sreg].sel, insn->opsize);
}

/** 07 17 1F 0F A1 0F A9: POP Sreg; RSP changes only after the load succeeded. */
void x86_op_pop_sreg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    int sreg = sreg_of_opcode(insn->op);
    if (sreg < 0 || sreg == X86_CS ||
        (cpu->code_mode == X86_MODE_64 && sreg != X86_FS && sreg != X86_GS))
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize;
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP];
    gva_t lin = x86_linear(cpu, X86_SS, rsp & mask, size, MMU_READ);
    uint16_t sel = (uint16_t)x86_read_sized(cpu, lin, size);
    x86_load_seg(cpu, sreg, sel);
    cpu->gpr[X86_RSP] = (rsp & ~mask) | ((rsp + size) & mask);
    if (sreg == X86_SS)
        set_shadow(cpu);
}

/** C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS: load a far pointer Mp. */
void x86_op_load_far_ptr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    int sreg;
    switch (insn->op) {
    case X86_OP(X86_MAP_PRIMARY, 0xc4): sreg = X86_ES; break;
    case X86_OP(X86_MAP_PRIMARY, 0xc5): sreg = X86_DS; break;
    case X86_OP(X86_MAP_0F, 0xb2): sreg = X86_SS; break;
    case X86_OP(X86_MAP_0F, 0xb4): sreg = X86_FS; break;
    case X86_OP(X86_MAP_0F, 0xb5): sreg = X86_GS; break;
    default: x86_raise(cpu, X86_EXC_UD);
    }
    if (!(insn->flags & X86_INSN_MEM) || (insn->flags & X86_INSN_VEX) ||
        (insn->op >> 8 == X86_MAP_PRIMARY && cpu->code_mode == X86_MODE_64))
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize;
    uint64_t ea = x86_ea(cpu, insn);
    gva_t lin_off = x86_linear(cpu, insn->seg, ea, size, MMU_READ);
    uint64_t off = x86_read_sized(cpu, lin_off, size);
    uint64_t ea_sel = (ea + size) & x86_size_mask(insn->addrsize);
    gva_t lin_sel = x86_linear(cpu, insn->seg, ea_sel, 2, MMU_READ);
    uint16_t sel = (uint16_t)x86_read_sized(cpu, lin_sel, 2);
    x86_load_seg(cpu, sreg, sel);
    x86_reg_write(cpu, insn->reg & 15, size, false, off);
    if (sreg == X86_SS)
        set_shadow(cpu);
}

/* ---------------------------------------------------------------- LAR / LSL / VERR / VERW */

static void set_zf(struct x86_cpu *cpu, bool zf)
{
    uint64_t f = x86_arith_flags(cpu) & ~X86_FLAG_ZF;
    x86_set_arith_flags(cpu, f | (zf ? X86_FLAG_ZF : 0));
}

/*
 * Common lookup for LAR/LSL/VERR/VERW: the descriptor of @sel if it passes
 * the privilege rule (conforming code: always; otherwise DPL >= CPL and
 * DPL >= RPL) and, for system descriptors, @sys_ok(type) holds.
 */
static bool probe_desc(struct x86_cpu *cpu, uint16_t sel, bool (*sys_ok)(struct x86_cpu *, unsigned),
                       uint64_t *desc)
{
    uint64_t addr;
    if ((sel & 0xfffc) == 0 || !x86_fetch_desc(cpu, sel, desc, &addr))
        return false;
    uint16_t attr = x86_desc_attr(*desc);
    unsigned dpl = X86_SEG_ATTR_DPL(attr);
    if (attr & X86_SEG_ATTR_S) {
        bool conforming = (attr & X86_TYPE_CODE) && (attr & X86_TYPE_EC);
        if (!conforming && (dpl < cpu->cpl || dpl < (sel & 3u)))
            return false;
        return true;
    }
    if (!sys_ok || !sys_ok(cpu, X86_SEG_ATTR_TYPE(attr)))
        return false;
    return dpl >= cpu->cpl && dpl >= (sel & 3u);
}

/* SDM Vol. 2A LAR: system types valid in legacy mode 1,2,3,4,5,9,B,C; IA-32e 9,B,C. */
static bool lar_sys_ok(struct x86_cpu *cpu, unsigned type)
{
    if (x86_long_mode(cpu))
        return type == 9 || type == 0xb || type == 0xc;
    return type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9 ||
           type == 0xb || type == 0xc;
}

/* SDM Vol. 2A LSL: 1,2,3,9,B in legacy mode; 2,9,B in IA-32e mode. */
static bool lsl_sys_ok(struct x86_cpu *cpu, unsigned type)
{
    if (x86_long_mode(cpu))
        return type == 2 || type == 9 || type == 0xb;
    return type == 1 || type == 2 || type == 3 || type == 9 || type == 0xb;
}

static void require_protected(struct x86_cpu *cpu)
{
    if (!x86_protected(cpu))
        x86_raise(cpu, X86_EXC_UD);
}

/** 0F 02: LAR Gv, Ew - access rights (descriptor bits 63:32 & 00F0FF00H). */
void x86_op_lar(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_protected(cpu);
    uint16_t sel = (uint16_t)x86_rm_read(cpu, insn, 2);
    uint64_t d;
    if (!probe_desc(cpu, sel, lar_sys_ok, &d)) {
        set_zf(cpu, false);
        return;
    }
    uint32_t ar = (uint32_t)(d >> 32) & (insn->opsize == 2 ? 0xff00u : 0x00f0ff00u);
    x86_reg_write(cpu, insn->reg & 15, insn->opsize, false, ar);
    set_zf(cpu, true);
}

/** 0F 03: LSL Gv, Ew - byte-granular segment limit. */
void x86_op_lsl(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_protected(cpu);
    uint16_t sel = (uint16_t)x86_rm_read(cpu, insn, 2);
    uint64_t d;
    if (!probe_desc(cpu, sel, lsl_sys_ok, &d)) {
        set_zf(cpu, false);
        return;
    }
    x86_reg_write(cpu, insn->reg & 15, insn->opsize, false, x86_desc_limit(d));
    set_zf(cpu, true);
}

static void verr_verw(struct x86_cpu *cpu, const struct x86_insn *insn, bool write)
{
    uint16_t sel = (uint16_t)x86_rm_read(cpu, insn, 2);
    uint64_t d;
    bool ok = probe_desc(cpu, sel, NULL, &d);
    if (ok) {
        uint16_t attr = x86_desc_attr(d);
        if (write)
            ok = x86_attr_is_data(attr) && (attr & X86_TYPE_WR);
        else
            ok = x86_attr_is_data(attr) || (attr & X86_TYPE_WR);
    }
    set_zf(cpu, ok);
}

/* ---------------------------------------------------------------- SLDT / STR / LLDT / LTR */

static void store_sel(struct x86_cpu *cpu, const struct x86_insn *insn, uint16_t sel)
{
    if ((cpu->cr4 & X86_CR4_UMIP) && cpu->cpl > 0)
        x86_raise_gp0(cpu);
    if (insn->flags & X86_INSN_MEM)
        x86_mem_write(cpu, insn, 2, sel);
    else
        x86_reg_write(cpu, insn->rm & 15, insn->opsize, false, sel);
}

/* Load LDTR or TR from a GDT system descriptor (SDM Vol. 2A LLDT/LTR). */
static void load_system_seg(struct x86_cpu *cpu, const struct x86_insn *insn, bool tr)
{
    if (cpu->cpl != 0)
        x86_raise_gp0(cpu);
    uint16_t sel = (uint16_t)x86_rm_read(cpu, insn, 2);
    uint32_t err = sel & 0xfffc;
    if (err == 0) {
        if (tr)
            x86_raise_gp0(cpu);
        cpu->ldtr = (struct x86_seg){ .sel = sel };
        return;
    }
    if (sel & 4)
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint64_t d, hi = 0, addr;
    bool lm = x86_long_mode(cpu);
    if (!(lm ? x86_fetch_desc16(cpu, sel, &d, &hi, &addr) : x86_fetch_desc(cpu, sel, &d, &addr)))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(d);
    unsigned type = X86_SEG_ATTR_TYPE(attr);
    bool type_ok;
    if (tr)
        type_ok = type == X86_DESC_TSS_AVAIL || (!lm && type == X86_DESC_TSS16_AVAIL);
    else
        type_ok = type == X86_DESC_LDT;
    if ((attr & X86_SEG_ATTR_S) || !type_ok || (lm && ((hi >> 40) & 0x1f) != 0))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    if (lm && !x86_is_canonical(cpu, x86_desc_base(d) | ((hi & 0xffffffffull) << 32)))
        x86_raise_err(cpu, X86_EXC_GP, err);
    struct x86_seg s;
    x86_seg_from_desc(&s, sel, d);
    if (lm)
        s.base |= (hi & 0xffffffffull) << 32;
    if (tr) {
        /* Mark the TSS busy in the GDT (SDM Vol. 3A 7.2.4). */
        d |= 2ull << 40;
        x86_write_sys(cpu, addr + 5, (d >> 40) & 0xff, 1);
        s.attr |= 2;
        cpu->tr = s;
    } else {
        cpu->ldtr = s;
    }
}

/** 0F 00: Group 6 - SLDT, STR, LLDT, LTR, VERR, VERW. */
void x86_op_grp6(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    require_protected(cpu);
    switch (x86_modrm_digit(insn)) {
    case 0: store_sel(cpu, insn, cpu->ldtr.sel); break;
    case 1: store_sel(cpu, insn, cpu->tr.sel); break;
    case 2: load_system_seg(cpu, insn, false); break;
    case 3: load_system_seg(cpu, insn, true); break;
    case 4: verr_verw(cpu, insn, false); break;
    case 5: verr_verw(cpu, insn, true); break;
    default: x86_raise(cpu, X86_EXC_UD);
    }
}
