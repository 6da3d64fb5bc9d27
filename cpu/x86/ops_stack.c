/*
 * cpu/x86/ops_stack.c - general-register stack instructions: PUSH/POP r
 * (50-5F), PUSH imm (68 6A), PUSHA/POPA (60 61, 16/32-bit modes), POP r/m
 * (8F /0), PUSH r/m (FF /6), ENTER (C8) and LEAVE (C9). SDM Vol. 2B.
 *
 * In 64-bit mode these default to 64-bit operands (66 selects 16; a 32-bit
 * size cannot be encoded, SDM Vol. 1 3.6.1). The multi-access instructions
 * (PUSHA, POPA, ENTER, LEAVE, POP r/m) are made precise by restoring RSP/RBP
 * if anything in them faults.
 */
#include "cpu/x86/ops_int.h"

/** Operand size of a stack instruction: 64-bit mode promotes 32 to 64. */
static inline unsigned stack_opsize(const struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    if (x86_long64(cpu) && size == 4)
        size = 8;
    return size;
}

/** Write @value to RSP at the stack address size (SP, ESP or RSP; like x86_push). */
static inline void set_sp(struct x86_cpu *cpu, uint64_t value)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~mask) | (value & mask);
}

typedef void (*guarded_fn)(struct x86_cpu *cpu, const struct x86_insn *insn);

/**
 * Run @fn with RSP and RBP restored if it faults (x86_raise longjmps through
 * here and on to the run loop with the same value).
 */
static void run_guarded(struct x86_cpu *cpu, const struct x86_insn *insn, guarded_fn fn)
{
    jmp_buf local;
    jmp_buf *volatile outer = cpu->fault_jmp;
    const uint64_t rsp = cpu->gpr[X86_RSP], rbp = cpu->gpr[X86_RBP];
    int v = setjmp(local);
    if (v) {
        cpu->fault_jmp = outer;
        cpu->gpr[X86_RSP] = rsp;
        cpu->gpr[X86_RBP] = rbp;
        longjmp(*outer, v);
    }
    cpu->fault_jmp = &local;
    fn(cpu, insn);
    cpu->fault_jmp = outer;
}

/** PUSH r (50+r). PUSH rSP pushes the value before the push. */
static void op_push_r(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = stack_opsize(cpu, insn);
    x86_push(cpu, x86_reg_read(cpu, insn->rm, size, false), size);
}

/** POP r (58+r). POP rSP loads the popped value into rSP. */
static void op_pop_r(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = stack_opsize(cpu, insn);
    uint64_t v = x86_pop(cpu, size);
    x86_reg_write(cpu, insn->rm, size, false, v);
}

/** PUSH Iz (68) / PUSH Ib (6A, sign-extended). */
static void op_push_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = stack_opsize(cpu, insn);
    x86_push(cpu, x86_imm_sx(insn) & x86_size_mask(size), size);
}

/** PUSH r/m (FF /6). */
void x86_op_push_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = stack_opsize(cpu, insn);
    x86_push(cpu, x86_op_rm_read(cpu, insn, size), size);
}

static void pop_rm_body(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = stack_opsize(cpu, insn);
    uint64_t v = x86_pop(cpu, size);
    /* the EA is computed after RSP is incremented (SDM Vol. 2B POP) */
    x86_op_rm_write(cpu, insn, size, v);
}

/** POP r/m (8F /0); other /digits (XOP on AMD) #UD. */
static void op_pop_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_modrm_digit(insn) != 0)
        x86_raise(cpu, X86_EXC_UD);
    if (x86_rm_is_reg(insn))
        pop_rm_body(cpu, insn);
    else
        run_guarded(cpu, insn, pop_rm_body);
}

static void pusha_body(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize == 2 ? 2 : 4;
    uint64_t sp = cpu->gpr[X86_RSP];
    for (unsigned r = 0; r < 8; r++)
        x86_push(cpu, r == X86_RSP ? sp : cpu->gpr[r], size);
}

/** PUSHA/PUSHAD (60): AX CX DX BX (original SP) BP SI DI; #UD in 64-bit mode. */
static void op_pusha(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_long64(cpu))
        x86_raise(cpu, X86_EXC_UD);
    run_guarded(cpu, insn, pusha_body);
}

/** POPA/POPAD (61): DI SI BP (skip SP) BX DX CX AX; #UD in 64-bit mode. */
static void op_popa(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_long64(cpu))
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize == 2 ? 2 : 4;
    uint64_t sp = cpu->gpr[X86_RSP], mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t vals[8];
    /* read everything first: a fault leaves every register unchanged */
    for (unsigned i = 0; i < 8; i++) {
        gva_t lin = x86_linear(cpu, X86_SS, (sp + i * size) & mask, size, MMU_READ);
        vals[7 - i] = x86_read_sized(cpu, lin, size);
    }
    for (unsigned r = 0; r < 8; r++)
        if (r != X86_RSP)
            x86_reg_write(cpu, r, size, false, vals[r]);
    set_sp(cpu, sp + 8 * size);
}

static void enter_body(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = stack_opsize(cpu, insn);
    unsigned level = insn->imm2 & 31;
    uint64_t alloc = insn->imm & 0xffff;
    unsigned ss = x86_stack_size(cpu);
    uint64_t smask = x86_size_mask(ss);

    x86_push(cpu, cpu->gpr[X86_RBP] & x86_size_mask(size), size);
    uint64_t frame = cpu->gpr[X86_RSP] & smask;
    if (level > 0) {
        uint64_t bp = cpu->gpr[X86_RBP];
        for (unsigned i = 1; i < level; i++) {
            bp = (bp - size) & smask;
            gva_t lin = x86_linear(cpu, X86_SS, bp, size, MMU_READ);
            x86_push(cpu, x86_read_sized(cpu, lin, size), size);
        }
        x86_push(cpu, frame, size);
    }
    uint64_t nsp = (cpu->gpr[X86_RSP] - alloc) & smask;
    /* the final RSP must be writable (SDM: #SS/#PF if it is not) */
    gva_t lin = x86_linear(cpu, X86_SS, nsp, size, MMU_WRITE);
    if (alloc)
        x86_probe_write(cpu, lin, size);
    x86_reg_write(cpu, X86_RBP, size == 2 ? 2 : (ss == 8 ? 8 : 4), false, frame);
    set_sp(cpu, nsp);
}

/** ENTER Iw, Ib (C8): make a stack frame with nesting level Ib mod 32. */
static void op_enter(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    run_guarded(cpu, insn, enter_body);
}

static void leave_body(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = stack_opsize(cpu, insn);
    set_sp(cpu, cpu->gpr[X86_RBP]);
    uint64_t v = x86_pop(cpu, size);
    x86_reg_write(cpu, X86_RBP, size, false, v);
}

/** LEAVE (C9): rSP = rBP; pop rBP. */
static void op_leave(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    run_guarded(cpu, insn, leave_body);
}

/** Register the stack handlers. */
void x86_ops_stack_init(x86_exec_fn *table)
{
    for (unsigned r = 0; r < 8; r++) {
        table[X86_OP(X86_MAP_PRIMARY, 0x50 + r)] = op_push_r;
        table[X86_OP(X86_MAP_PRIMARY, 0x58 + r)] = op_pop_r;
    }
    table[X86_OP(X86_MAP_PRIMARY, 0x68)] = op_push_imm;
    table[X86_OP(X86_MAP_PRIMARY, 0x6a)] = op_push_imm;
    table[X86_OP(X86_MAP_PRIMARY, 0x60)] = op_pusha;
    table[X86_OP(X86_MAP_PRIMARY, 0x61)] = op_popa;
    table[X86_OP(X86_MAP_PRIMARY, 0x8f)] = op_pop_rm;
    table[X86_OP(X86_MAP_PRIMARY, 0xc8)] = op_enter;
    table[X86_OP(X86_MAP_PRIMARY, 0xc9)] = op_leave;
}
