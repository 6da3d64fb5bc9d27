/*
 * tests/unit/x86_int_harness.h - shared fixture for the integer-instruction
 * tests (test_alu_diff.c, test_flags.c, test_x86_string.c): weak stubs for
 * helpers other parts own, a handler table, hand-built struct x86_insn for
 * register forms, and a fault catcher.
 */
#ifndef QTEMU_TESTS_X86_INT_HARNESS_H
#define QTEMU_TESTS_X86_INT_HARNESS_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/x86/x86.h"

/* ---- weak stubs (the real excp.c / ops_system.c win once linked in) ---- */

__attribute__((weak)) qt_noreturn void x86_raise_err(struct x86_cpu *cpu, int vector, uint32_t ec)
{
    cpu->exc_vector = vector;
    cpu->exc_error = ec;
    cpu->exc_has_error = true;
    longjmp(*cpu->fault_jmp, 1);
}
__attribute__((weak)) qt_noreturn void x86_raise(struct x86_cpu *cpu, int vector)
{
    cpu->exc_vector = vector;
    cpu->exc_has_error = false;
    longjmp(*cpu->fault_jmp, 1);
}
__attribute__((weak)) qt_noreturn void x86_raise_pf(struct x86_cpu *cpu, gva_t gva, uint32_t ec)
{
    cpu->cr2 = gva;
    x86_raise_err(cpu, X86_EXC_PF, ec);
}
__attribute__((weak)) qt_noreturn void x86_raise_gp0(struct x86_cpu *cpu)
{
    x86_raise_err(cpu, X86_EXC_GP, 0);
}
__attribute__((weak)) uint32_t x86_io_in(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
    return 0xffffffffu;
}
__attribute__((weak)) void x86_io_out(struct x86_cpu *cpu, uint16_t port, uint32_t v, unsigned size)
{
}
__attribute__((weak)) void x86_op_callf_m(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise(cpu, X86_EXC_UD);
}
__attribute__((weak)) void x86_op_jmpf_m(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise(cpu, X86_EXC_UD);
}

/* ---- handler table ---- */

static x86_exec_fn h_table[X86_OP_COUNT];

static inline void h_init_table(void)
{
    if (h_table[X86_OP(0, 0)])
        return;
    x86_ops_alu_init(h_table);
    x86_ops_branch_init(h_table);
    x86_ops_string_init(h_table);
}

/** Register-form instruction: ModRM mod = 3 with reg/rm (REX added for regs >= 8). */
static inline struct x86_insn h_insn(unsigned map, unsigned byte, unsigned opsize, unsigned reg,
                                     unsigned rm)
{
    struct x86_insn i;
    memset(&i, 0, sizeof(i));
    i.op = X86_OP(map, byte);
    i.flags = X86_INSN_MODRM;
    i.opsize = (uint8_t)opsize;
    i.addrsize = 8;
    i.modrm = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
    i.reg = (uint8_t)reg;
    i.rm = (uint8_t)rm;
    i.seg = X86_DS;
    i.base = X86_REG_NONE;
    i.index = X86_REG_NONE;
    if (opsize == 8 || reg >= 8 || rm >= 8) {
        i.rex = (uint8_t)(0x40 | (opsize == 8 ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0));
        i.flags |= X86_INSN_REX;
    }
    if (opsize == 2)
        i.flags |= X86_INSN_OPSIZE;
    return i;
}

/** Run @insn on @cpu; returns the exception vector raised, or -1. */
static inline int h_exec(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    jmp_buf jb;
    h_init_table();
    cpu->fault_jmp = &jb;
    cpu->exc_vector = -1;
    cpu->next_rip = cpu->rip + (insn->len ? insn->len : 3);
    if (setjmp(jb) == 0) {
        x86_exec_fn fn = h_table[insn->op];
        if (!fn)
            return 255;
        fn(cpu, insn);
        cpu->fault_jmp = NULL;
        return -1;
    }
    cpu->fault_jmp = NULL;
    return cpu->exc_vector;
}

/* ---- random numbers: xorshift64*, seed printed so a failure repeats ---- */

static uint64_t h_rng_state;

static inline void h_seed(const char *who)
{
    const char *env = getenv("QTEMU_TEST_SEED");
    h_rng_state = env ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
    if (!h_rng_state)
        h_rng_state = 1;
    fprintf(stderr, "%s: seed %#llx (QTEMU_TEST_SEED to repeat)\n", who,
            (unsigned long long)h_rng_state);
}

static inline uint64_t h_rand(void)
{
    h_rng_state ^= h_rng_state >> 12;
    h_rng_state ^= h_rng_state << 25;
    h_rng_state ^= h_rng_state >> 27;
    return h_rng_state * 0x2545f4914f6cdd1dull;
}

/** Random operand biased to the edges (0, 1, -1, sign bit, max positive, small). */
static inline uint64_t h_operand(unsigned size)
{
    uint64_t m = x86_size_mask(size), sb = 1ull << (size * 8 - 1);
    switch (h_rand() % 10) {
    case 0: return 0;
    case 1: return 1;
    case 2: return m;
    case 3: return sb;
    case 4: return sb - 1;
    case 5: return h_rand() & 0x1f;
    case 6: return (sb + (h_rand() & 3) - 2) & m;
    default: return h_rand();
    }
}

#endif
