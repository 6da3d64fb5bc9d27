/*
 * cpu/x86/ops_int.h - helpers shared by the integer instruction files
 * (ops_alu.c, ops_shift.c, ops_muldiv.c, ops_bit.c, ops_mov.c, ops_stack.c,
 * ops_branch.c, ops_string.c). Private to those files.
 *
 * Operand access: register operands are handled inline (the hot case); memory
 * operands go through mem.c. A read-modify-write memory operand computes its
 * linear address once with write intent, reads, and writes the result back
 * before any register or flag changes, so a fault leaves the guest state as
 * before the instruction (SDM Vol. 3A 6.5).
 */
#ifndef QTEMU_CPU_X86_OPS_INT_H
#define QTEMU_CPU_X86_OPS_INT_H

#include "cpu/x86/x86.h"
#include "util/log.h"

/* Sub-initialisers called from x86_ops_alu_init(). */
void x86_ops_shift_init(x86_exec_fn *table);
void x86_ops_muldiv_init(x86_exec_fn *table);
void x86_ops_bit_init(x86_exec_fn *table);
void x86_ops_mov_init(x86_exec_fn *table);
void x86_ops_stack_init(x86_exec_fn *table);

/* Group 5 (FF) near CALL/JMP indirect, implemented in ops_branch.c. */
void x86_op_call_near_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
void x86_op_jmp_near_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
/* Group 5 PUSH r/m (FF /6), implemented in ops_stack.c. */
void x86_op_push_rm(struct x86_cpu *cpu, const struct x86_insn *insn);
/* Group 3 (F6/F7) /4../7 (MUL IMUL DIV IDIV), implemented in ops_muldiv.c. */
void x86_op_grp3_muldiv(struct x86_cpu *cpu, const struct x86_insn *insn);

/** Sign-extend the low @bits bits of @v to 64 bits (bits 1..64). */
static inline uint64_t x86_sext(uint64_t v, unsigned bits)
{
    if (bits >= 64 || bits == 0)
        return v;
    unsigned sh = 64 - bits;
    return (uint64_t)((int64_t)(v << sh) >> sh);
}

/** The first immediate sign-extended from its encoded size (SDM Vol. 2A 2.2.1.5). */
static inline uint64_t x86_imm_sx(const struct x86_insn *insn)
{
    return x86_sext(insn->imm, insn->imm_size * 8u);
}

/** True if LOCK (F0) is present. */
static inline bool x86_has_lock(const struct x86_insn *insn)
{
    return insn->flags & X86_INSN_LOCK;
}

/** #UD if LOCK is present: for instructions that are not lockable (SDM Vol. 2A LOCK). */
static inline void x86_no_lock(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (unlikely(insn->flags & X86_INSN_LOCK))
        x86_raise(cpu, X86_EXC_UD);
}

/** #UD if LOCK is present and the destination is not memory (lockable RMW forms). */
static inline void x86_lock_mem_only(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (unlikely((insn->flags & (X86_INSN_LOCK | X86_INSN_MEM)) == X86_INSN_LOCK))
        x86_raise(cpu, X86_EXC_UD);
}

/** True if the ModRM r/m operand is a register (mod == 3). */
static inline bool x86_rm_is_reg(const struct x86_insn *insn)
{
    return !(insn->flags & X86_INSN_MEM);
}

/** ModRM.reg operand (general register) at @size bytes. */
static inline uint64_t x86_greg_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    return x86_reg_read(cpu, insn->reg, size, x86_has_rex(insn));
}

static inline void x86_greg_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                                  uint64_t v)
{
    x86_reg_write(cpu, insn->reg, size, x86_has_rex(insn), v);
}

/** ModRM r/m operand read (register inline, memory through mem.c). */
static inline uint64_t x86_op_rm_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    if (x86_rm_is_reg(insn))
        return x86_reg_read(cpu, insn->rm, size, x86_has_rex(insn));
    return x86_mem_read(cpu, insn, size);
}

/** ModRM r/m operand write. */
static inline void x86_op_rm_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                                   uint64_t v)
{
    if (x86_rm_is_reg(insn))
        x86_reg_write(cpu, insn->rm, size, x86_has_rex(insn), v);
    else
        x86_mem_write(cpu, insn, size, v);
}

/**
 * A read-modify-write r/m operand: x86_rmw_begin() reads it (for memory it
 * computes the linear address with write intent once, into *lin) and
 * x86_rmw_end() stores the result to the same place.
 */
static inline uint64_t x86_rmw_begin(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                                     gva_t *lin)
{
    if (x86_rm_is_reg(insn))
        return x86_reg_read(cpu, insn->rm, size, x86_has_rex(insn));
    *lin = x86_mem_linear(cpu, insn, size, MMU_WRITE);
    return x86_read_sized(cpu, *lin, size);
}

static inline void x86_rmw_end(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                               gva_t lin, uint64_t v)
{
    if (x86_rm_is_reg(insn))
        x86_reg_write(cpu, insn->rm, size, x86_has_rex(insn), v);
    else
        x86_write_sized(cpu, lin, v, size);
}

/** Record flags that are already known (rare ops: rotates, BT, BSF, ...). */
static inline void x86_set_eflags_cc(struct x86_cpu *cpu, uint64_t flags)
{
    x86_set_arith_flags(cpu, flags);
}

/** Even parity of the low byte as PF. */
static inline uint64_t x86_pf_of(uint64_t v)
{
    return __builtin_parity((unsigned)(v & 0xff)) ? 0 : X86_FLAG_PF;
}

/** ZF/SF/PF of @v at @size bytes. */
static inline uint64_t x86_zsp_of(uint64_t v, unsigned size)
{
    uint64_t f = x86_pf_of(v);
    if ((v & x86_size_mask(size)) == 0)
        f |= X86_FLAG_ZF;
    if ((v >> (size * 8 - 1)) & 1)
        f |= X86_FLAG_SF;
    return f;
}

/** True in 64-bit mode. */
static inline bool x86_long64(const struct x86_cpu *cpu)
{
    return cpu->code_mode == X86_MODE_64;
}

/** Canonical check for a 48-bit (or 57-bit with CR4.LA57) linear address. */
static inline bool x86_is_canonical(const struct x86_cpu *cpu, uint64_t a)
{
    unsigned bits = (cpu->cr4 & X86_CR4_LA57) ? 57 : 48;
    return x86_sext(a, bits) == a;
}

#endif
