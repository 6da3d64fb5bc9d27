/*
 * cpu/x86/ops_far.c - far JMP / CALL / RET (EA, 9A, FF /3, FF /5, CA, CB).
 *
 * Follows the SDM Vol. 2A CALL / JMP and Vol. 2B RET pseudo-code (direct
 * code-segment targets, return to the same or an outer privilege level) and
 * SDM Vol. 3A 5.8 (privilege checks for control transfers).
 *
 * Call gates (SDM Vol. 3A 5.8.3-5.8.5, Vol. 2A CALL/JMP "CALL-GATE",
 * "MORE-PRIVILEGE", "SAME-PRIVILEGE"): 16/32-bit gates (types 4/C) outside
 * IA-32e mode, with the TSS stack switch (16- or 32-bit TSS by TR type) and
 * the parameter copy; in IA-32e mode only the 16-byte 64-bit gate (type C,
 * upper type field 0, Vol. 3A 5.8.3.1) to a 64-bit code segment, 8-byte
 * pushes, no parameter copy, SS := null selector with RPL = new CPL.
 * RETF to an outer level pops SS:rSP and nulls data segments the new CPL
 * may not use (Vol. 3A 5.8.6).
 *
 * TSS descriptors and task gates go to x86_task_far (task.c: task switch,
 * #GP in IA-32e mode).
 *
 * Decided: every check of a transfer (stack
 * limits, canonical addresses, page faults on the new stack) happens before
 * any register changes: new-stack slots are written first, then CS/SS/rSP
 * are committed. The new-stack writes of a privilege-raising gate call use
 * supervisor access (the new CPL is < 3), like interrupt delivery in excp.c.
 */
#include <inttypes.h>

#include "cpu/x86/sys.h"
#include "util/log.h"

/* Push CS and the return offset (@size bytes each) on the current stack. */
static void push_far_return(struct x86_cpu *cpu, uint16_t cs, uint64_t ret, unsigned size)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP];
    gva_t lin_cs = x86_linear(cpu, X86_SS, (rsp - size) & mask, size, MMU_WRITE);
    gva_t lin_ip = x86_linear(cpu, X86_SS, (rsp - 2 * size) & mask, size, MMU_WRITE);
    x86_write_sized(cpu, lin_cs, cs, size);
    x86_write_sized(cpu, lin_ip, ret & x86_size_mask(size), size);
    cpu->gpr[X86_RSP] = (rsp & ~mask) | ((rsp - 2 * size) & mask);
}

/* ---------------------------------------------------------------- call gates */

/* Read @size bytes at @off of the current TSS; #TS(TR) beyond its limit. */
static uint64_t tss_read(struct x86_cpu *cpu, uint32_t off, unsigned size)
{
    if (!(cpu->tr.attr & X86_SEG_ATTR_P) || off + size - 1 > cpu->tr.limit)
        x86_raise_err(cpu, X86_EXC_TS, cpu->tr.sel & 0xfffc);
    uint64_t a = cpu->tr.base + off;
    return x86_read_sys(cpu, x86_long_mode(cpu) ? a : (uint32_t)a, size);
}

/*
 * New stack of a gate call to inner privilege @new_cpl (SDM Vol. 2A CALL
 * "MORE-PRIVILEGE", Vol. 3A 5.8.5): SS:ESP from the 16- or 32-bit TSS, or
 * RSP0-2 from the 64-bit TSS with SS := null selector (RPL = new CPL) in
 * IA-32e mode. Checks NewSS with #TS(NewSS) / #SS(NewSS); fills *@ss, *@sp
 * and *@ss_err (the NewSS error code for later #SS).
 */
static void inner_stack(struct x86_cpu *cpu, unsigned new_cpl, struct x86_seg *ss, uint64_t *sp,
                        uint32_t *ss_err)
{
    if (x86_long_mode(cpu)) {
        *sp = tss_read(cpu, 4 + new_cpl * 8, 8);
        ss->sel = (uint16_t)new_cpl;
        ss->base = 0;
        ss->limit = 0xffffffff;
        ss->attr = 0x3 | X86_SEG_ATTR_S | (uint16_t)(new_cpl << 5) | X86_SEG_ATTR_P |
                   X86_SEG_ATTR_DB | X86_SEG_ATTR_G;
        *ss_err = 0;
        return;
    }
    uint16_t new_ss;
    if (cpu->tr.attr & 0x8) {           /* 32-bit TSS (type 9/B) */
        *sp = tss_read(cpu, 4 + new_cpl * 8, 4);
        new_ss = (uint16_t)tss_read(cpu, 8 + new_cpl * 8, 2);
    } else {                            /* 16-bit TSS (type 1/3) */
        *sp = tss_read(cpu, 2 + new_cpl * 4, 2);
        new_ss = (uint16_t)tss_read(cpu, 4 + new_cpl * 4, 2);
    }
    uint32_t err = new_ss & 0xfffc;
    uint64_t d, addr;
    if (!err || (new_ss & 3) != new_cpl || !x86_fetch_desc(cpu, new_ss, &d, &addr))
        x86_raise_err(cpu, X86_EXC_TS, err);
    uint16_t attr = x86_desc_attr(d);
    if (!x86_attr_is_data(attr) || !(attr & X86_TYPE_WR) || X86_SEG_ATTR_DPL(attr) != new_cpl)
        x86_raise_err(cpu, X86_EXC_TS, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_SS, err);
    x86_desc_set_accessed(cpu, addr, &d);
    x86_seg_from_desc(ss, new_ss, d);
    *ss_err = err;
}

/*
 * Far CALL (@call) or JMP through the call gate @gsel (low 8 bytes @g),
 * SDM Vol. 2A CALL / JMP "CALL-GATE" and Vol. 3A 5.8.3-5.8.5. The offset of
 * the far pointer is ignored; the gate supplies CS:rIP.
 */
static void call_gate(struct x86_cpu *cpu, uint16_t gsel, uint64_t g, bool call)
{
    uint32_t gerr = gsel & 0xfffc;
    bool lm = x86_long_mode(cpu);
    unsigned gsize = lm ? 8 : (((g >> 40) & 0xf) == X86_DESC_CALL ? 4 : 2);
    uint64_t target = (g & 0xffff) | ((g >> 32) & 0xffff0000ull);
    if (lm) {
        /* 16-byte gate (Vol. 3A Figure 5-9): upper half in the table, its
         * type field (bits 12:8 of the highest dword) zero. */
        uint64_t lo, hi, addr;
        if (!x86_fetch_desc16(cpu, gsel, &lo, &hi, &addr))
            x86_raise_err(cpu, X86_EXC_GP, gerr);
        if ((hi >> 40) & 0x1f)
            x86_raise_err(cpu, X86_EXC_GP, gerr);
        target |= (hi & 0xffffffffull) << 32;
    } else if (gsize == 2) {
        target &= 0xffff;
    }
    unsigned gdpl = (g >> 45) & 3, cpl = cpu->cpl;
    if (gdpl < cpl || (gsel & 3u) > gdpl)
        x86_raise_err(cpu, X86_EXC_GP, gerr);
    if (!(g & (1ull << 47)))
        x86_raise_err(cpu, X86_EXC_NP, gerr);

    uint16_t csel = (uint16_t)(g >> 16);
    uint32_t cerr = csel & 0xfffc;
    uint64_t cd, caddr;
    if (!cerr)
        x86_raise_gp0(cpu);
    if (!x86_fetch_desc(cpu, csel, &cd, &caddr))
        x86_raise_err(cpu, X86_EXC_GP, cerr);
    uint16_t cattr = x86_desc_attr(cd);
    unsigned cdpl = X86_SEG_ATTR_DPL(cattr);
    bool conforming = cattr & X86_TYPE_EC;
    if (!x86_attr_is_code(cattr))
        x86_raise_err(cpu, X86_EXC_GP, cerr);
    /* CALL may go inward (DPL <= CPL); JMP only to the same level. */
    if ((call || conforming) ? cdpl > cpl : cdpl != cpl)
        x86_raise_err(cpu, X86_EXC_GP, cerr);
    if (lm && (!(cattr & X86_SEG_ATTR_L) || (cattr & X86_SEG_ATTR_DB)))
        x86_raise_err(cpu, X86_EXC_GP, cerr);
    if (!(cattr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, cerr);

    bool inner = call && !conforming && cdpl < cpl;
    unsigned new_cpl = inner ? cdpl : cpl;
    uint16_t old_cs = cpu->seg[X86_CS].sel;
    uint64_t old_ip = cpu->next_rip;

    if (inner) {
        struct x86_seg ss;
        uint64_t sp;
        uint32_t ss_err;
        inner_stack(cpu, new_cpl, &ss, &sp, &ss_err);
        uint64_t old_sp = cpu->gpr[X86_RSP];
        /* Parameter count[4:0] words/dwords (none for a 64-bit gate). */
        unsigned count = lm ? 0 : (g >> 32) & 0x1f;
        unsigned n = 4 + count;
        uint64_t vals[4 + 31];
        gva_t lin[4 + 31];
        uint64_t mask = lm ? ~0ull : (ss.attr & X86_SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
        for (unsigned i = 0; i < n; i++) {
            uint64_t off = (sp - gsize * (i + 1)) & mask;
            if (lm) {
                if (!x86_is_canonical(cpu, off) || !x86_is_canonical(cpu, off + 7))
                    x86_raise_err(cpu, X86_EXC_SS, ss_err);
                lin[i] = off;
            } else {
                lin[i] = x86_legacy_stack_lin(cpu, &ss, off, gsize, ss_err);
            }
        }
        if (lm ? !x86_is_canonical(cpu, target) : target > x86_desc_limit(cd))
            x86_raise_gp0(cpu);
        /* New stack, top down (Vol. 3A Figure 5-13): caller's SS, rSP, the
         * parameters in their original order, caller's CS, rIP. */
        vals[0] = cpu->seg[X86_SS].sel;
        vals[1] = old_sp & x86_size_mask(gsize);
        uint64_t omask = x86_size_mask(x86_stack_size(cpu));
        for (unsigned i = 0; i < count; i++) {
            uint64_t off = (old_sp + (count - 1 - i) * gsize) & omask;
            vals[2 + i] = x86_read_sized(cpu, x86_linear(cpu, X86_SS, off, gsize, MMU_READ), gsize);
        }
        vals[n - 2] = old_cs;
        vals[n - 1] = old_ip & x86_size_mask(gsize);
        for (unsigned i = 0; i < n; i++)
            x86_write_sys(cpu, lin[i], vals[i], gsize);
        /* Commit. */
        cpu->seg[X86_SS] = ss;
        uint64_t new_sp = (sp & ~mask) | ((sp - gsize * n) & mask);
        cpu->gpr[X86_RSP] = mask == 0xffffffffull ? (uint32_t)new_sp : new_sp;
    } else if (call && lm) {
        /* SAME-PRIVILEGE, 64-bit gate: two 8-byte pushes on the current
         * stack as a 64-bit stack (the target is 64-bit code). */
        uint64_t rsp = cpu->gpr[X86_RSP];
        if (!x86_is_canonical(cpu, rsp - 16) || !x86_is_canonical(cpu, rsp - 1))
            x86_raise_err(cpu, X86_EXC_SS, 0);
        if (!x86_is_canonical(cpu, target))
            x86_raise_gp0(cpu);
        x86_write_sized(cpu, rsp - 8, old_cs, 8);
        x86_write_sized(cpu, rsp - 16, old_ip, 8);
        cpu->gpr[X86_RSP] = rsp - 16;
    } else {
        if (lm ? !x86_is_canonical(cpu, target) : target > x86_desc_limit(cd))
            x86_raise_gp0(cpu);
        if (call)
            push_far_return(cpu, old_cs, old_ip, gsize);
    }
    x86_desc_set_accessed(cpu, caddr, &cd);
    x86_seg_from_desc(&cpu->seg[X86_CS], (uint16_t)(cerr | new_cpl), cd);
    cpu->next_rip = target;
    x86_update_mode(cpu);
}

/* Far JMP (@call = false) or CALL to @sel:@off with operand size @size. */
static void far_transfer(struct x86_cpu *cpu, uint16_t sel, uint64_t off, unsigned size, bool call)
{
    off &= x86_size_mask(size);
    if (!x86_protected(cpu)) {
        /* Real or virtual-8086 mode. */
        if (off > cpu->seg[X86_CS].limit)
            x86_raise_gp0(cpu);
        if (call)
            push_far_return(cpu, cpu->seg[X86_CS].sel, cpu->next_rip, size);
        x86_load_seg(cpu, X86_CS, sel);
        cpu->next_rip = off;
        cpu->exit_block = true;
        return;
    }

    uint32_t err = sel & 0xfffc;
    uint64_t d, addr;
    if (!err)
        x86_raise_gp0(cpu);
    if (!x86_fetch_desc(cpu, sel, &d, &addr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(d);
    if (!(attr & X86_SEG_ATTR_S)) {
        unsigned type = X86_SEG_ATTR_TYPE(attr);
        /* IA-32e mode: only code segments and 64-bit call gates (no task
         * switching; type 4 is reserved), SDM Vol. 3A 5.8.3.1 / Vol. 2A CALL. */
        if (x86_long_mode(cpu) && type != X86_DESC_CALL)
            x86_raise_err(cpu, X86_EXC_GP, err);
        switch (type) {
        case X86_DESC_CALL16:
        case X86_DESC_CALL:
            call_gate(cpu, sel, d, call);
            return;
        case X86_DESC_TSS16_AVAIL:
        case X86_DESC_TSS16_BUSY:
        case X86_DESC_TASK:
        case X86_DESC_TSS_AVAIL:
        case X86_DESC_TSS_BUSY:
            x86_task_far(cpu, sel, d, call);   /* task switch: task.c */
            return;
        default:
            x86_raise_err(cpu, X86_EXC_GP, err);
        }
    }
    if (!(attr & X86_TYPE_CODE))
        x86_raise_err(cpu, X86_EXC_GP, err);
    bool target64 = x86_long_mode(cpu) && (attr & X86_SEG_ATTR_L);
    if (target64 && (attr & X86_SEG_ATTR_DB))
        x86_raise_err(cpu, X86_EXC_GP, err);
    unsigned dpl = X86_SEG_ATTR_DPL(attr), cpl = cpu->cpl;
    if ((attr & X86_TYPE_EC) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    if (!target64)
        off &= 0xffffffffu;     /* "IF target mode = Compatibility mode" */
    if (target64 ? !x86_is_canonical(cpu, off) : off > x86_desc_limit(d))
        x86_raise_gp0(cpu);
    if (call)
        push_far_return(cpu, cpu->seg[X86_CS].sel, cpu->next_rip, size);
    x86_desc_set_accessed(cpu, addr, &d);
    x86_seg_from_desc(&cpu->seg[X86_CS], (uint16_t)((sel & 0xfffc) | cpl), d);
    cpu->next_rip = off;
    x86_update_mode(cpu);
}

/** EA: JMP ptr16:16 / ptr16:32 (offset in imm, selector in imm2). */
void x86_op_jmpf_ptr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->code_mode == X86_MODE_64)
        x86_raise(cpu, X86_EXC_UD);
    far_transfer(cpu, insn->imm2, insn->imm, insn->opsize, false);
}

/** 9A: CALL ptr16:16 / ptr16:32. */
void x86_op_callf_ptr(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->code_mode == X86_MODE_64)
        x86_raise(cpu, X86_EXC_UD);
    far_transfer(cpu, insn->imm2, insn->imm, insn->opsize, true);
}

/* Read an m16:16 / m16:32 / m16:64 far pointer operand. */
static void read_far_ptr(struct x86_cpu *cpu, const struct x86_insn *insn, uint16_t *sel,
                         uint64_t *off)
{
    if (!(insn->flags & X86_INSN_MEM))
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize;
    uint64_t ea = x86_ea(cpu, insn);
    *off = x86_read_sized(cpu, x86_linear(cpu, insn->seg, ea, size, MMU_READ), size);
    uint64_t ea_sel = (ea + size) & x86_size_mask(insn->addrsize);
    *sel = (uint16_t)x86_read_sized(cpu, x86_linear(cpu, insn->seg, ea_sel, 2, MMU_READ), 2);
}

void x86_op_callf_m(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t sel;
    uint64_t off;
    read_far_ptr(cpu, insn, &sel, &off);
    far_transfer(cpu, sel, off, insn->opsize, true);
}

void x86_op_jmpf_m(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint16_t sel;
    uint64_t off;
    read_far_ptr(cpu, insn, &sel, &off);
    far_transfer(cpu, sel, off, insn->opsize, false);
}

/* ---------------------------------------------------------------- RETF */

static uint64_t stack_peek(struct x86_cpu *cpu, uint64_t k, unsigned size)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    gva_t lin = x86_linear(cpu, X86_SS, (cpu->gpr[X86_RSP] + k) & mask, size, MMU_READ);
    return x86_read_sized(cpu, lin, size);
}

static void stack_release(struct x86_cpu *cpu, uint64_t bytes)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP];
    cpu->gpr[X86_RSP] = (rsp & ~mask) | ((rsp + bytes) & mask);
}

/** CB: RETF; CA iw: RETF imm16 (SDM Vol. 2B RET, far return). */
void x86_op_retf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t imm = (insn->op == X86_OP(X86_MAP_PRIMARY, 0xca)) ? (insn->imm & 0xffff) : 0;
    uint64_t ip = stack_peek(cpu, 0, size);
    uint16_t cs = (uint16_t)stack_peek(cpu, size, size);
    cpu->exit_block = true;

    if (!x86_protected(cpu)) {
        if (ip > cpu->seg[X86_CS].limit)
            x86_raise_gp0(cpu);
        stack_release(cpu, 2 * size + imm);
        x86_load_seg(cpu, X86_CS, cs);
        cpu->next_rip = ip;
        return;
    }

    uint32_t err = cs & 0xfffc;
    uint64_t d, addr;
    if (!err)
        x86_raise_gp0(cpu);
    if (!x86_fetch_desc(cpu, cs, &d, &addr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(d);
    unsigned rpl = cs & 3, dpl = X86_SEG_ATTR_DPL(attr), cpl = cpu->cpl;
    if (!x86_attr_is_code(attr) || rpl < cpl)
        x86_raise_err(cpu, X86_EXC_GP, err);
    if ((attr & X86_TYPE_EC) ? dpl > rpl : dpl != rpl)
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    bool target64 = x86_long_mode(cpu) && (attr & X86_SEG_ATTR_L);
    if (target64 && (attr & X86_SEG_ATTR_DB))
        x86_raise_err(cpu, X86_EXC_GP, err);

    bool outer = rpl > cpl;
    struct x86_seg ss;
    uint64_t new_sp = 0;
    if (outer) {
        new_sp = stack_peek(cpu, 2 * size + imm, size);
        uint16_t ssel = (uint16_t)stack_peek(cpu, 3 * size + imm, size);
        x86_check_ret_ss(cpu, ssel, rpl, target64, &ss);
    }
    if (target64 ? !x86_is_canonical(cpu, ip) : ip > x86_desc_limit(d))
        x86_raise_gp0(cpu);
    x86_desc_set_accessed(cpu, addr, &d);

    x86_seg_from_desc(&cpu->seg[X86_CS], cs, d);
    if (outer) {
        cpu->seg[X86_SS] = ss;
        if (target64)
            cpu->gpr[X86_RSP] = new_sp + imm;
        else if (ss.attr & X86_SEG_ATTR_DB)
            cpu->gpr[X86_RSP] = (uint32_t)(new_sp + imm);
        else
            cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | ((new_sp + imm) & 0xffff);
        x86_scrub_data_segs(cpu, rpl);
    } else {
        stack_release(cpu, 2 * size + imm);
    }
    cpu->next_rip = ip;
    x86_update_mode(cpu);
}
