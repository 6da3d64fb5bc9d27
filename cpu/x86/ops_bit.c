/*
 * cpu/x86/ops_bit.c - bit instructions: BT BTS BTR BTC (0F A3 AB B3 BB, group 8
 * 0F BA), BSF BSR TZCNT LZCNT (0F BC BD), POPCNT (F3 0F B8), BSWAP (0F C8+r),
 * MOVBE and CRC32 (0F 38 F0/F1), ADCX/ADOX (0F 38 F6) and group 9 (0F C7:
 * CMPXCHG8B/16B, RDRAND, RDSEED, RDPID). SDM Vol. 2A/2B, each instruction.
 *
 * BT* with a register bit offset and a memory operand address the bit string
 * at EA + (offset SAR log2(width)) * width/8 (the offset is signed and not
 * masked); with an immediate or a register operand the offset is taken
 * modulo the operand width (SDM Vol. 2A BT, Table 3-2).
 *
 * Undefined flags (policy, checked against the Intel host by
 * tests/unit/test_alu_diff.c): BT* change only CF. BSF/BSR set ZF, clear
 * CF/OF/SF/AF, set PF from the index found (from 0 for a zero source; as Intel
 * does), and leave the destination unchanged for a zero source
 * (32-bit destinations are then still not zero-extended). TZCNT/LZCNT are
 * always available (qtemu's models advertise BMI1/ABM); they clear
 * OF/SF/AF/PF. BSWAP of a 16-bit register clears it (as Intel does).
 * RDRAND/RDSEED use the host's getrandom(); CF = 0 when it cannot answer.
 */
#include <sys/random.h>

#include "cpu/x86/ops_int.h"

/* ---------------------------------------------------------------- BT* */

enum { BT_BT = 0, BT_BTS = 1, BT_BTR = 2, BT_BTC = 3 };

/** Common BT* body: @kind, @offset (signed when @reg_offset && memory). */
static void bt_common(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned kind,
                      uint64_t offset, bool reg_offset)
{
    unsigned size = insn->opsize, bits = size * 8;
    if (kind == BT_BT)
        x86_no_lock(cpu, insn);
    else
        x86_lock_mem_only(cpu, insn);

    uint64_t v, nv;
    unsigned bit;
    gva_t lin = 0;
    if (x86_rm_is_reg(insn)) {
        bit = offset & (bits - 1);
        v = x86_reg_read(cpu, insn->rm, size, x86_has_rex(insn));
    } else {
        uint64_t ea = x86_ea(cpu, insn);
        if (reg_offset) {
            int64_t so = (int64_t)x86_sext(offset, bits);
            int64_t words = so >> __builtin_ctz(bits);   /* arithmetic: floor */
            ea += (uint64_t)(words * (int64_t)size);
            bit = (uint64_t)so & (bits - 1);
        } else {
            bit = offset & (bits - 1);
        }
        ea &= x86_size_mask(insn->addrsize);
        lin = x86_linear(cpu, insn->seg, ea, size, kind == BT_BT ? MMU_READ : MMU_WRITE);
        v = x86_read_sized(cpu, lin, size);
    }
    bool cf = (v >> bit) & 1;
    switch (kind) {
    case BT_BTS: nv = v | (1ull << bit); break;
    case BT_BTR: nv = v & ~(1ull << bit); break;
    case BT_BTC: nv = v ^ (1ull << bit); break;
    default:     nv = v; break;
    }
    if (kind != BT_BT) {
        if (x86_rm_is_reg(insn))
            x86_reg_write(cpu, insn->rm, size, x86_has_rex(insn), nv);
        else
            x86_write_sized(cpu, lin, nv, size);
    }
    uint64_t f = x86_arith_flags(cpu) & ~X86_FLAG_CF;
    x86_set_eflags_cc(cpu, f | (cf ? X86_FLAG_CF : 0));
}

/** BT/BTS/BTR/BTC Ev, Gv (0F A3 / AB / B3 / BB). */
static void op_bt_reg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned kind = ((insn->op & 0xff) >> 3) & 3;   /* A3:0 AB:1 B3:2 BB:3 */
    bt_common(cpu, insn, kind, x86_greg_read(cpu, insn, insn->opsize), true);
}

/** Group 8 (0F BA): /4 BT, /5 BTS, /6 BTR, /7 BTC Ev, Ib; /0-/3 #UD. */
static void op_grp8(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (d < 4)
        x86_raise(cpu, X86_EXC_UD);
    bt_common(cpu, insn, d - 4, insn->imm & 0xff, false);
}

/* ---------------------------------------------------------------- bit scans */

/** BSF/BSR (0F BC/BD) and with F3 TZCNT/LZCNT. */
static void op_bitscan(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize, bits = size * 8;
    bool rev = (insn->op & 0xff) == 0xbd;
    uint64_t src = x86_op_rm_read(cpu, insn, size) & x86_size_mask(size);
    uint64_t f = x86_arith_flags(cpu);

    if (insn->mprefix == X86_PFX_F3) {
        /* TZCNT/LZCNT (SDM Vol. 2B): CF = source is zero, ZF = result is zero */
        unsigned n;
        if (src == 0)
            n = bits;
        else if (rev)
            n = __builtin_clzll(src) - (64 - bits);
        else
            n = __builtin_ctzll(src);
        x86_greg_write(cpu, insn, size, n);
        f = 0;
        if (src == 0)
            f |= X86_FLAG_CF;
        if (n == 0)
            f |= X86_FLAG_ZF;
        x86_set_eflags_cc(cpu, f);
        return;
    }
    (void)f;
    if (src == 0) {
        x86_set_eflags_cc(cpu, X86_FLAG_ZF | X86_FLAG_PF);
        return;
    }
    unsigned idx = rev ? 63 - __builtin_clzll(src) : __builtin_ctzll(src);
    x86_greg_write(cpu, insn, size, idx);
    x86_set_eflags_cc(cpu, x86_pf_of(idx));
}

/** POPCNT Gv, Ev (F3 0F B8): all six flags cleared, ZF = source is zero. Without F3: #UD. */
static void op_popcnt(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (insn->mprefix != X86_PFX_F3)
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize;
    uint64_t src = x86_op_rm_read(cpu, insn, size) & x86_size_mask(size);
    x86_greg_write(cpu, insn, size, (uint64_t)__builtin_popcountll(src));
    x86_set_eflags_cc(cpu, src == 0 ? X86_FLAG_ZF : 0);
}

/** BSWAP r32/r64 (0F C8+rd); 16-bit operand size clears the low word. */
static void op_bswap(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize, reg = insn->rm;
    uint64_t v = cpu->gpr[reg];
    if (size == 8)
        cpu->gpr[reg] = __builtin_bswap64(v);
    else if (size == 4)
        cpu->gpr[reg] = __builtin_bswap32((uint32_t)v);
    else
        cpu->gpr[reg] = v & ~0xffffull;
}

/* ---------------------------------------------------------------- 0F 38 F0/F1, F6 */

/** CRC32C (polynomial 11EDC6F41h, bit-reflected) of @len bytes of @v into @crc. */
static uint32_t crc32c(uint32_t crc, uint64_t v, unsigned len)
{
    for (unsigned i = 0; i < len; i++) {
        crc ^= (uint8_t)(v >> (8 * i));
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return crc;
}

/**
 * 0F 38 F0/F1: MOVBE Gv, Mv / Mv, Gv (no F2; memory operand only) and with F2
 * CRC32 Gd/q, Eb / Ev (SDM Vol. 2A CRC32, 2B MOVBE).
 */
static void op_movbe_crc32(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    bool f1 = (insn->op & 0xff) == 0xf1;
    if (insn->flags & X86_INSN_REPNE) {
        unsigned ssize = f1 ? insn->opsize : 1;
        if (!f1 && insn->opsize == 2)
            ssize = 1;
        unsigned dsize = (insn->rex & 8) ? 8 : 4;
        uint64_t src = x86_op_rm_read(cpu, insn, ssize);
        uint32_t crc = (uint32_t)cpu->gpr[insn->reg];
        x86_reg_write(cpu, insn->reg, dsize, false, crc32c(crc, src, ssize));
        return;
    }
    if (x86_rm_is_reg(insn) || insn->mprefix == X86_PFX_F3)
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize;
    if (size == 1)
        x86_raise(cpu, X86_EXC_UD);
    if (!f1) {
        uint64_t v = x86_mem_read(cpu, insn, size);
        v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v)
                                                         : __builtin_bswap16((uint16_t)v);
        x86_greg_write(cpu, insn, size, v);
    } else {
        uint64_t v = x86_greg_read(cpu, insn, size);
        v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v)
                                                         : __builtin_bswap16((uint16_t)v);
        x86_mem_write(cpu, insn, size, v);
    }
}

/** ADCX (66 0F 38 F6: carry in/out through CF) and ADOX (F3: through OF). */
static void op_adcx_adox(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    bool ox = insn->mprefix == X86_PFX_F3;
    if (!ox && insn->mprefix != X86_PFX_66)
        x86_raise(cpu, X86_EXC_UD);   /* no-prefix 0F 38 F6 is WRSSD (CET): not implemented */
    unsigned size = (insn->rex & 8) ? 8 : 4;
    uint64_t m = x86_size_mask(size);
    uint64_t f = x86_arith_flags(cpu);
    uint64_t flag = ox ? X86_FLAG_OF : X86_FLAG_CF;
    uint64_t a = x86_reg_read(cpu, insn->reg, size, false);
    uint64_t b = x86_op_rm_read(cpu, insn, size) & m;
    uint64_t cin = (f & flag) ? 1 : 0;
    uint64_t r = (a + b + cin) & m;
    bool cout = r < a || (cin && r == a);
    x86_reg_write(cpu, insn->reg, size, false, r);
    x86_set_eflags_cc(cpu, (f & ~flag) | (cout ? flag : 0));
}

/* ---------------------------------------------------------------- group 9 */

/** CMPXCHG8B m64 / CMPXCHG16B m128 (REX.W): only ZF changes. */
static void cmpxchg8b16b(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_lock_mem_only(cpu, insn);
    bool w16 = insn->rex & 8;
    unsigned half = w16 ? 8 : 4;
    gva_t lin;
    uint64_t lo, hi;
    if (w16) {
        lin = x86_mem_linear(cpu, insn, 8, MMU_WRITE);
        if (lin & 15)
            x86_raise_gp0(cpu);
        x86_probe_write(cpu, lin, 16);
        lo = x86_read64(cpu, lin);
        hi = x86_read64(cpu, lin + 8);
    } else {
        lin = x86_mem_linear(cpu, insn, 8, MMU_WRITE);
        x86_probe_write(cpu, lin, 8);
        uint64_t v = x86_read64(cpu, lin);
        lo = (uint32_t)v;
        hi = v >> 32;
    }
    uint64_t m = x86_size_mask(half);
    bool eq = lo == (cpu->gpr[X86_RAX] & m) && hi == (cpu->gpr[X86_RDX] & m);
    uint64_t nlo = eq ? cpu->gpr[X86_RBX] & m : lo, nhi = eq ? cpu->gpr[X86_RCX] & m : hi;
    if (w16) {
        x86_write64(cpu, lin, nlo);
        x86_write64(cpu, lin + 8, nhi);
    } else {
        x86_write64(cpu, lin, nlo | (nhi << 32));
    }
    if (!eq) {
        x86_reg_write(cpu, X86_RAX, half, false, lo);
        x86_reg_write(cpu, X86_RDX, half, false, hi);
    }
    uint64_t f = x86_arith_flags(cpu) & ~X86_FLAG_ZF;
    x86_set_eflags_cc(cpu, f | (eq ? X86_FLAG_ZF : 0));
}

/** RDRAND/RDSEED r (0F C7 /6 /7, mod = 3): CF = 1 when a value is returned. */
static void rdrand(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    uint64_t v = 0;
    bool ok = getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v);
    x86_reg_write(cpu, insn->rm, size, false, ok ? v : 0);
    x86_set_eflags_cc(cpu, ok ? X86_FLAG_CF : 0);
}

/** Group 9 (0F C7): /1 CMPXCHG8B/16B, /6 RDRAND, /7 RDSEED or (F3) RDPID. */
static void op_grp9(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    bool mem = !x86_rm_is_reg(insn);
    if (d == 1 && mem) {    /* no mandatory prefix: 66/F2/F3 are ignored, as on hardware */
        cmpxchg8b16b(cpu, insn);
        return;
    }
    x86_no_lock(cpu, insn);
    if (mem && d == 4 && insn->mprefix == X86_PFX_NONE) {
        x86_op_xsavec(cpu, insn);           /* XSAVEC (ops_xsave.c) */
        return;
    }
    if (!mem && d == 7 && insn->mprefix == X86_PFX_F3) {
        /* RDPID: TSC_AUX into r64 (64-bit mode) or r32 */
        x86_reg_write(cpu, insn->rm, x86_long64(cpu) ? 8 : 4, false, (uint32_t)cpu->tsc_aux);
        return;
    }
    if (!mem && (d == 6 || d == 7) && insn->mprefix != X86_PFX_F3 && insn->mprefix != X86_PFX_F2) {
        rdrand(cpu, insn);
        return;
    }
    qlog(LOG_UNIMP, "x86: 0F C7 /%u (mod %u, prefix %u) not implemented at %#llx", d,
         x86_modrm_mod(insn), insn->mprefix, (unsigned long long)cpu->rip);
    x86_raise(cpu, X86_EXC_UD);
}

/** Register the bit instructions. */
void x86_ops_bit_init(x86_exec_fn *table)
{
    table[X86_OP(X86_MAP_0F, 0xa3)] = op_bt_reg;
    table[X86_OP(X86_MAP_0F, 0xab)] = op_bt_reg;
    table[X86_OP(X86_MAP_0F, 0xb3)] = op_bt_reg;
    table[X86_OP(X86_MAP_0F, 0xbb)] = op_bt_reg;
    table[X86_OP(X86_MAP_0F, 0xba)] = op_grp8;
    table[X86_OP(X86_MAP_0F, 0xbc)] = op_bitscan;
    table[X86_OP(X86_MAP_0F, 0xbd)] = op_bitscan;
    table[X86_OP(X86_MAP_0F, 0xb8)] = op_popcnt;
    for (unsigned r = 0; r < 8; r++)
        table[X86_OP(X86_MAP_0F, 0xc8 + r)] = op_bswap;
    table[X86_OP(X86_MAP_0F38, 0xf0)] = op_movbe_crc32;
    table[X86_OP(X86_MAP_0F38, 0xf1)] = op_movbe_crc32;
    table[X86_OP(X86_MAP_0F38, 0xf6)] = op_adcx_adox;
    table[X86_OP(X86_MAP_0F, 0xc7)] = op_grp9;
}
