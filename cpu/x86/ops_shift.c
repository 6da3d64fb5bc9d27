/*
 * cpu/x86/ops_shift.c - shifts and rotates: group 2 (C0 C1 D0 D1 D2 D3:
 * ROL ROR RCL RCR SHL SHR SAL SAR, SDM Vol. 2B "RCL/RCR/ROL/ROR",
 * "SAL/SAR/SHL/SHR") and the double shifts SHLD/SHRD (0F A4 A5 AC AD).
 *
 * Count: masked to 5 bits (6 with a 64-bit operand). A masked count of 0
 * changes no flags (the destination is still written, which for a 32-bit
 * register zero-extends it, as Intel hardware does). RCL/RCR of 8/16-bit
 * operands rotate by count mod 9/17.
 *
 * Undefined flags (policy, matched against the Intel host in
 * tests/unit/test_alu_diff.c): OF for counts > 1 uses the count-1 formulas;
 * AF after shifts is 0; CF for SHL/SHR by >= the operand width is the last
 * bit the 64-bit shift would shift out. Rotates change only CF and OF.
 * SHLD/SHRD of 16-bit operands by counts 17..31 (result undefined) shift
 * the 48-bit value dest:src:dest.
 */
#include "cpu/x86/ops_int.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

/**
 * Perform group-2 operation @op on @a (@size bytes) by masked @count (>0).
 * Returns the result; fills *cc with the new lazy flags record.
 */
static uint64_t shift_compute(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a,
                              unsigned count, struct x86_cc *cc)
{
    unsigned bits = size * 8;
    uint64_t m = x86_size_mask(size), sb = 1ull << (bits - 1);
    uint64_t r;
    a &= m;
    cc->size = (uint8_t)size;
    cc->aux = 0;
    cc->src2 = count;

    switch (op) {
    case SH_SHL:
    case SH_SAL:
        cc->src1 = count > 64 ? 0 : a << (count - 1);
        r = count >= 64 ? 0 : (a << count) & m;
        cc->op = CC_OP_SHL;
        break;
    case SH_SHR:
        cc->src1 = a >> (count - 1);
        r = count >= 64 ? 0 : a >> count;
        cc->op = CC_OP_SHR;
        break;
    case SH_SAR: {
        int64_t s = (int64_t)x86_sext(a, bits);
        cc->src1 = (uint64_t)(s >> (count - 1));
        r = (uint64_t)(s >> (count >= 64 ? 63 : count)) & m;
        cc->op = CC_OP_SAR;
        break;
    }
    default: {
        /* Rotates: CF and OF only (SDM Vol. 2B RCL/RCR/ROL/ROR "Flags Affected"). */
        uint64_t f = x86_arith_flags(cpu) & ~(X86_FLAG_CF | X86_FLAG_OF);
        bool cf;
        switch (op) {
        case SH_ROL: {
            unsigned c = count % bits;
            r = c ? ((a << c) | (a >> (bits - c))) & m : a;
            cf = r & 1;
            if (!!(r & sb) ^ cf)
                f |= X86_FLAG_OF;
            break;
        }
        case SH_ROR: {
            unsigned c = count % bits;
            r = c ? ((a >> c) | (a << (bits - c))) & m : a;
            cf = r & sb;
            if (((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1)
                f |= X86_FLAG_OF;
            break;
        }
        case SH_RCL: {
            unsigned c = count % (bits + 1);
            unsigned cin = x86_get_cf(cpu);
            r = a;
            cf = cin;
            /* (bits+1)-bit rotate through CF, one bit at a time is too slow
             * for 64; compose it from shifts instead. */
            if (c) {
                uint64_t lo = c >= 2 ? a >> (bits + 1 - c) : 0;       /* bits moved around */
                uint64_t hi = c < bits ? (a << c) : 0;
                r = (hi | ((uint64_t)cin << (c - 1)) | lo) & m;
                cf = (a >> (bits - c)) & 1;
            }
            if (!!(r & sb) ^ cf)
                f |= X86_FLAG_OF;
            break;
        }
        default: {  /* RCR */
            unsigned c = count % (bits + 1);
            unsigned cin = x86_get_cf(cpu);
            r = a;
            cf = cin;
            if (c) {
                uint64_t lo = c < bits ? a >> c : 0;
                uint64_t hi = c >= 2 ? a << (bits + 1 - c) : 0;
                r = (lo | ((uint64_t)cin << (bits - c)) | hi) & m;
                cf = (a >> (c - 1)) & 1;
            }
            if (((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1)
                f |= X86_FLAG_OF;
            break;
        }
        }
        if (cf)
            f |= X86_FLAG_CF;
        cc->op = CC_OP_EFLAGS;
        cc->src1 = f;
        cc->res = 0;
        cc->size = 8;
        return r;
    }
    }
    cc->res = r;
    return r;
}

/** Group 2: C0/C1 (count Ib), D0/D1 (count 1), D2/D3 (count CL). */
static void op_grp2(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned byte = insn->op & 0xff, size = insn->opsize;
    unsigned count;
    if (byte <= 0xc1)
        count = insn->imm & 0xff;
    else if (byte <= 0xd1)
        count = 1;
    else
        count = cpu->gpr[X86_RCX] & 0xff;
    count &= size == 8 ? 0x3f : 0x1f;

    gva_t lin = 0;
    uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
    if (count == 0) {
        x86_rmw_end(cpu, insn, size, lin, a);
        return;
    }
    struct x86_cc cc;
    uint64_t r = shift_compute(cpu, x86_modrm_digit(insn), size, a, count, &cc);
    x86_rmw_end(cpu, insn, size, lin, r);
    cpu->cc = cc;
}

/**
 * SHLD r/m, reg, Ib/CL (0F A4/A5) and SHRD (0F AC/AD), SDM Vol. 2B: the
 * destination is shifted, the vacated bits filled from the register source.
 */
static void op_shxd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned byte = insn->op & 0xff, size = insn->opsize, bits = size * 8;
    bool right = byte >= 0xac;
    unsigned count = (byte & 1) ? cpu->gpr[X86_RCX] & 0xff : insn->imm & 0xff;
    count &= size == 8 ? 0x3f : 0x1f;
    uint64_t m = x86_size_mask(size), sb = 1ull << (bits - 1);

    gva_t lin = 0;
    uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
    uint64_t b = x86_greg_read(cpu, insn, size);
    if (count == 0) {
        x86_rmw_end(cpu, insn, size, lin, a);
        return;
    }
    uint64_t r;
    bool cf;
    if (size == 2 && count > 16) {
        /* undefined result: shift the 48-bit dest:src:dest */
        uint64_t w = right ? (a | (b << 16) | (a << 32)) : ((a << 32) | (b << 16) | a);
        if (right) {
            r = (w >> count) & m;
            cf = (w >> (count - 1)) & 1;
        } else {
            r = (w >> (32 - count)) & m;
            cf = (w >> (48 - count)) & 1;
        }
    } else if (!right) {
        r = ((a << count) | (count == bits ? b : b >> (bits - count))) & m;
        if (count == bits)
            r = b;
        cf = (a >> (bits - count)) & 1;
    } else {
        r = ((count == bits ? 0 : a >> count) | (b << (bits - count))) & m;
        cf = (a >> (count - 1)) & 1;
    }
    x86_rmw_end(cpu, insn, size, lin, r);
    if (right)
        x86_set_cc(cpu, CC_OP_SHR, size, r, (a & sb) | cf, count);
    else
        x86_set_cc(cpu, CC_OP_SHL, size, r, cf ? sb : 0, count);
}

/** Register group 2 and SHLD/SHRD. */
void x86_ops_shift_init(x86_exec_fn *table)
{
    static const uint8_t g2[] = {0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3};
    for (unsigned i = 0; i < ARRAY_SIZE(g2); i++)
        table[X86_OP(X86_MAP_PRIMARY, g2[i])] = op_grp2;
    table[X86_OP(X86_MAP_0F, 0xa4)] = op_shxd;
    table[X86_OP(X86_MAP_0F, 0xa5)] = op_shxd;
    table[X86_OP(X86_MAP_0F, 0xac)] = op_shxd;
    table[X86_OP(X86_MAP_0F, 0xad)] = op_shxd;
}
