/*
 * cpu/x86/ops_far.c - far JMP / CALL / RET (EA, 9A, FF /3, FF /5, CA, CB).
 *
 * Follows the SDM Vol. 2A CALL / JMP and Vol. 2B RET pseudo-code (direct
 * code-segment targets, return to the same or an outer privilege level) and
 * SDM Vol. 3A 5.8 (privilege checks for control transfers).
 *
 * Decided: call gates as far CALL/JMP targets are not implemented
 * (LOG_UNIMP, #GP(selector)); Linux does not use them. TSS descriptors and
 * task gates go to x86_task_far (task.c: task switch, #GP in IA-32e mode).
 * Pushes of a far CALL compute both stack slots (limit, canonical) before
 * either is written, and RSP changes only after both stores.
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
    if (!(attr & X86_SEG_ATTR_S) && x86_task_far_type(X86_SEG_ATTR_TYPE(attr))) {
        x86_task_far(cpu, sel, d, call);   /* TSS or task gate: task.c */
        return;
    }
    if (!(attr & X86_SEG_ATTR_S)) {
        qlog(LOG_UNIMP, "x86: far %s through system descriptor type %u (sel 0x%x) not implemented",
             call ? "CALL" : "JMP", X86_SEG_ATTR_TYPE(attr), sel);
        x86_raise_err(cpu, X86_EXC_GP, err);
    }
    if (!(attr & X86_TYPE_CODE))
        x86_raise_err(cpu, X86_EXC_GP, err);
    unsigned dpl = X86_SEG_ATTR_DPL(attr), cpl = cpu->cpl;
    if ((attr & X86_TYPE_EC) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    bool target64 = x86_long_mode(cpu) && (attr & X86_SEG_ATTR_L);
    if (target64 && (attr & X86_SEG_ATTR_DB))
        x86_raise_err(cpu, X86_EXC_GP, err);
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
