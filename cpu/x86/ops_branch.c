/*
 * cpu/x86/ops_branch.c - near control transfers: Jcc (70-7F, 0F 80-8F),
 * JMP rel (E9 EB), CALL rel (E8), RET near (C2 C3), LOOP/LOOPE/LOOPNE/JrCXZ
 * (E0-E3) and the near indirect forms of group 5 (FF /2 CALL, FF /4 JMP).
 * SDM Vol. 2A "Jcc", "JMP", "CALL", "LOOP/LOOPcc", Vol. 2B "RET".
 *
 * Target rule: next_rip + rel (or the absolute target) truncated to the
 * operand size (16: IP wraps; 32: EIP). Outside 64-bit mode a target beyond
 * the CS limit raises #GP(0); in 64-bit mode a non-canonical target raises
 * #GP(0). Both are raised at the branch, before anything changes (CALL
 * checks before it pushes; RET restores RSP if its target is rejected).
 * Handlers write cpu->next_rip only.
 */
#include "cpu/x86/ops_int.h"

/** Branch operand size: 64-bit mode forces 64 (Intel ignores 66 on near branches). */
static inline unsigned branch_opsize(const struct x86_cpu *cpu, const struct x86_insn *insn)
{
    return x86_long64(cpu) ? 8 : (insn->opsize == 2 ? 2 : 4);
}

/** Truncate and check a near-branch target (SDM Vol. 2A JMP "Operation"); #GP(0) if bad. */
static inline uint64_t branch_target(struct x86_cpu *cpu, uint64_t target, unsigned size)
{
    if (size == 8) {
        if (unlikely(!x86_is_canonical(cpu, target)))
            x86_raise_gp0(cpu);
        return target;
    }
    target &= x86_size_mask(size);
    if (unlikely(target > cpu->seg[X86_CS].limit))
        x86_raise_gp0(cpu);
    return target;
}

/** Relative target of a Jcc/JMP/CALL/LOOP: next_rip + sign-extended displacement. */
static inline uint64_t rel_target(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    return branch_target(cpu, cpu->next_rip + x86_imm_sx(insn), size);
}

/** Jcc rel8 / rel16/32 (70-7F, 0F 80-8F). */
static void op_jcc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_cond(cpu, insn->op & 0xf))
        cpu->next_rip = rel_target(cpu, insn, branch_opsize(cpu, insn));
}

/** JMP rel8 / rel16/32 (EB E9). */
static void op_jmp_rel(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    cpu->next_rip = rel_target(cpu, insn, branch_opsize(cpu, insn));
}

/** CALL rel16/32 (E8): push the return address, then branch. */
static void op_call_rel(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = branch_opsize(cpu, insn);
    uint64_t t = rel_target(cpu, insn, size);
    x86_push(cpu, cpu->next_rip & x86_size_mask(size), size);
    cpu->next_rip = t;
}

/** CALL r/m (FF /2). */
void x86_op_call_near_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = branch_opsize(cpu, insn);
    uint64_t t = branch_target(cpu, x86_op_rm_read(cpu, insn, size), size);
    x86_push(cpu, cpu->next_rip & x86_size_mask(size), size);
    cpu->next_rip = t;
}

/** JMP r/m (FF /4). */
void x86_op_jmp_near_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = branch_opsize(cpu, insn);
    cpu->next_rip = branch_target(cpu, x86_op_rm_read(cpu, insn, size), size);
}

/** RET (C3) and RET Iw (C2): pop the target, then release Iw bytes. */
static void op_ret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = branch_opsize(cpu, insn);
    uint64_t rsp = cpu->gpr[X86_RSP];
    uint64_t t = x86_pop(cpu, size);
    bool ok = size == 8 ? x86_is_canonical(cpu, t) : t <= cpu->seg[X86_CS].limit;
    if (unlikely(!ok)) {
        cpu->gpr[X86_RSP] = rsp;
        x86_raise_gp0(cpu);
    }
    if ((insn->op & 0xff) == 0xc2) {
        uint64_t mask = x86_size_mask(x86_stack_size(cpu));
        uint64_t nsp = cpu->gpr[X86_RSP] + (insn->imm & 0xffff);
        cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~mask) | (nsp & mask);
    }
    cpu->next_rip = t;
}

/**
 * LOOPNE (E0), LOOPE (E1), LOOP (E2): decrement the count register (CX, ECX
 * or RCX by address size) without touching flags and branch if it is not
 * zero (and ZF matches). JrCXZ (E3): branch if the count register is zero.
 */
static void op_loop(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned byte = insn->op & 0xff, as = insn->addrsize;
    uint64_t am = x86_size_mask(as);
    uint64_t count = cpu->gpr[X86_RCX] & am;
    bool take;
    if (byte == 0xe3) {
        take = count == 0;
    } else {
        count = (count - 1) & am;
        take = count != 0;
        if (byte == 0xe0)
            take = take && !x86_cond(cpu, 4);
        else if (byte == 0xe1)
            take = take && x86_cond(cpu, 4);
    }
    uint64_t t = take ? rel_target(cpu, insn, branch_opsize(cpu, insn)) : 0;
    if (byte != 0xe3)
        x86_reg_write(cpu, X86_RCX, as, false, count);
    if (take)
        cpu->next_rip = t;
}

/** Register the near-branch handlers. */
void x86_ops_branch_init(x86_exec_fn *table)
{
    for (unsigned c = 0; c < 16; c++) {
        table[X86_OP(X86_MAP_PRIMARY, 0x70 + c)] = op_jcc;
        table[X86_OP(X86_MAP_0F, 0x80 + c)] = op_jcc;
    }
    table[X86_OP(X86_MAP_PRIMARY, 0xeb)] = op_jmp_rel;
    table[X86_OP(X86_MAP_PRIMARY, 0xe9)] = op_jmp_rel;
    table[X86_OP(X86_MAP_PRIMARY, 0xe8)] = op_call_rel;
    table[X86_OP(X86_MAP_PRIMARY, 0xc2)] = op_ret;
    table[X86_OP(X86_MAP_PRIMARY, 0xc3)] = op_ret;
    for (unsigned b = 0xe0; b <= 0xe3; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_loop;
}
