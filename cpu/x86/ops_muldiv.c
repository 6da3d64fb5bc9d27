/*
 * cpu/x86/ops_muldiv.c - MUL, IMUL (one-, two- and three-operand: F6/F7 /4 /5,
 * 0F AF, 69, 6B), DIV and IDIV (F6/F7 /6 /7), SDM Vol. 2A/2B.
 *
 * DIV/IDIV raise #DE for a zero divisor and for a quotient that does not fit
 * the destination (SDM Vol. 2A DIV "Protected Mode Exceptions") before
 * changing any register. Their flags are undefined; we leave them unchanged.
 * MUL/IMUL: CF = OF as defined; SF, ZF, PF from the low half, AF = 0
 * (flags.c policy).
 */
#include "cpu/x86/ops_int.h"

/** MUL (unsigned) or IMUL (signed) one-operand: rDX:rAX = rAX * src. */
static void mul1(struct x86_cpu *cpu, unsigned size, uint64_t src, bool sign)
{
    uint64_t m = x86_size_mask(size);
    unsigned bits = size * 8;
    uint64_t a = cpu->gpr[X86_RAX] & m;
    uint64_t lo, hi;
    bool ovf;
    src &= m;
    if (size == 8) {
        if (sign) {
            __int128 p = (__int128)(int64_t)a * (int64_t)src;
            lo = (uint64_t)p;
            hi = (uint64_t)(p >> 64);
            ovf = (__int128)(int64_t)lo != p;
        } else {
            unsigned __int128 p = (unsigned __int128)a * src;
            lo = (uint64_t)p;
            hi = (uint64_t)(p >> 64);
            ovf = hi != 0;
        }
    } else {
        uint64_t p;
        if (sign) {
            int64_t sp = (int64_t)x86_sext(a, bits) * (int64_t)x86_sext(src, bits);
            p = (uint64_t)sp;
            ovf = (int64_t)x86_sext(p & m, bits) != sp;
        } else {
            p = a * src;
            ovf = (p >> bits) != 0;
        }
        lo = p & m;
        hi = (p >> bits) & m;
    }
    if (size == 1) {
        cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | (hi << 8) | lo;
    } else {
        x86_reg_write(cpu, X86_RAX, size, false, lo);
        x86_reg_write(cpu, X86_RDX, size, false, hi);
    }
    if (sign)
        x86_set_cc(cpu, CC_OP_IMUL, size, lo, ovf, 0);
    else
        x86_set_cc(cpu, CC_OP_MUL, size, lo, hi, 0);
}

/** DIV (unsigned) or IDIV (signed): rAX = rDX:rAX / src, rDX = remainder. */
static void div1(struct x86_cpu *cpu, unsigned size, uint64_t src, bool sign)
{
    uint64_t m = x86_size_mask(size);
    unsigned bits = size * 8;
    uint64_t q, r;
    src &= m;
    if (src == 0)
        x86_raise(cpu, X86_EXC_DE);
    if (size == 8) {
        uint64_t hi = cpu->gpr[X86_RDX], lo = cpu->gpr[X86_RAX];
        if (!sign) {
            if (hi >= src)
                x86_raise(cpu, X86_EXC_DE);
            unsigned __int128 n = ((unsigned __int128)hi << 64) | lo;
            q = (uint64_t)(n / src);
            r = (uint64_t)(n % src);
        } else {
            __int128 n = (__int128)(((unsigned __int128)hi << 64) | lo);
            int64_t d = (int64_t)src;
            __int128 sq;
            if (d == -1) {
                /* avoid host overflow on INT128_MIN / -1 */
                if (n > ((__int128)1 << 63) || n < -(((__int128)1 << 63) - 1))
                    x86_raise(cpu, X86_EXC_DE);
                sq = -n;
                r = 0;
            } else {
                sq = n / d;
                r = (uint64_t)(int64_t)(n % d);
            }
            if (sq > INT64_MAX || sq < INT64_MIN)
                x86_raise(cpu, X86_EXC_DE);
            q = (uint64_t)(int64_t)sq;
        }
    } else {
        uint64_t n;
        if (size == 1)
            n = cpu->gpr[X86_RAX] & 0xffff;
        else
            n = ((cpu->gpr[X86_RDX] & m) << bits) | (cpu->gpr[X86_RAX] & m);
        if (!sign) {
            q = n / src;
            r = n % src;
            if (q > m)
                x86_raise(cpu, X86_EXC_DE);
        } else {
            int64_t sn = (int64_t)x86_sext(n, bits * 2), sd = (int64_t)x86_sext(src, bits);
            if (sd == -1 && sn == INT64_MIN)   /* host would trap too */
                x86_raise(cpu, X86_EXC_DE);
            int64_t sq = sn / sd, sr = sn % sd;
            int64_t lim = (int64_t)1 << (bits - 1);
            if (sq >= lim || sq < -lim)
                x86_raise(cpu, X86_EXC_DE);
            q = (uint64_t)sq & m;
            r = (uint64_t)sr & m;
        }
    }
    if (size == 1) {
        cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | ((r & 0xff) << 8) | (q & 0xff);
    } else {
        x86_reg_write(cpu, X86_RAX, size, false, q);
        x86_reg_write(cpu, X86_RDX, size, false, r);
    }
}

/** Group 3 /4 MUL, /5 IMUL, /6 DIV, /7 IDIV (called from ops_alu.c's group 3). */
void x86_op_grp3_muldiv(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn), size = insn->opsize;
    uint64_t src = x86_op_rm_read(cpu, insn, size);
    if (d < 6)
        mul1(cpu, size, src, d == 5);
    else
        div1(cpu, size, src, d == 7);
}

/** Truncated signed product of @a and @b at @size bytes; *ovf = it did not fit. */
static uint64_t imul_trunc(uint64_t a, uint64_t b, unsigned size, bool *ovf)
{
    unsigned bits = size * 8;
    uint64_t m = x86_size_mask(size);
    if (size == 8) {
        __int128 p = (__int128)(int64_t)a * (int64_t)b;
        *ovf = (__int128)(int64_t)p != p;
        return (uint64_t)p;
    }
    int64_t p = (int64_t)x86_sext(a & m, bits) * (int64_t)x86_sext(b & m, bits);
    *ovf = (int64_t)x86_sext((uint64_t)p & m, bits) != p;
    return (uint64_t)p & m;
}

/** IMUL Gv, Ev (0F AF), IMUL Gv, Ev, Iz (69), IMUL Gv, Ev, Ib (6B). */
static void op_imul_n(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize;
    uint64_t b = x86_op_rm_read(cpu, insn, size);
    uint64_t a = insn->op == X86_OP(X86_MAP_0F, 0xaf) ? x86_greg_read(cpu, insn, size)
                                                       : x86_imm_sx(insn);
    bool ovf;
    uint64_t r = imul_trunc(a, b, size, &ovf);
    x86_greg_write(cpu, insn, size, r);
    x86_set_cc(cpu, CC_OP_IMUL, size, r, ovf, 0);
}

/** Register the multi-operand IMUL forms (group 3 is registered by ops_alu.c). */
void x86_ops_muldiv_init(x86_exec_fn *table)
{
    table[X86_OP(X86_MAP_0F, 0xaf)] = op_imul_n;
    table[X86_OP(X86_MAP_PRIMARY, 0x69)] = op_imul_n;
    table[X86_OP(X86_MAP_PRIMARY, 0x6b)] = op_imul_n;
}
