/*
 * cpu/x86/ops_mov.c - data movement without arithmetic: MOV (88-8B, A0-A3,
 * B0-BF, C6/C7 /0), LEA (8D), MOVZX/MOVSX (0F B6 B7 BE BF), MOVSXD (63 in
 * 64-bit mode) and ARPL (63 elsewhere), CBW/CWDE/CDQE and CWD/CDQ/CQO
 * (98 99), SAHF/LAHF (9E 9F), XLAT (D7), XCHG (86 87 90-97, F3 90 PAUSE),
 * CMOVcc (0F 40-4F), SETcc (0F 90-9F) and the ModRM NOP/hint space (0F 0D,
 * 0F 18-1F). SDM Vol. 2A/2B.
 */
#include "cpu/x86/ops_int.h"

/** MOV Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev (88-8B). */
static void op_mov_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize;
    if ((insn->op & 0xff) <= 0x89)
        x86_op_rm_write(cpu, insn, size, x86_greg_read(cpu, insn, size));
    else
        x86_greg_write(cpu, insn, size, x86_op_rm_read(cpu, insn, size));
}

/** MOV AL/rAX, moffs (A0 A1) and moffs, AL/rAX (A2 A3): offset in insn->imm. */
static void op_mov_moffs(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize;
    uint64_t off = insn->imm & x86_size_mask(insn->addrsize);
    bool store = (insn->op & 0xff) >= 0xa2;
    gva_t lin = x86_linear(cpu, insn->seg, off, size, store ? MMU_WRITE : MMU_READ);
    if (store)
        x86_write_sized(cpu, lin, x86_reg_read(cpu, X86_RAX, size, false), size);
    else
        x86_reg_write(cpu, X86_RAX, size, false, x86_read_sized(cpu, lin, size));
}

/** MOV r8, imm8 (B0+r) and MOV r, imm16/32/64 (B8+r). */
static void op_mov_imm_r(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    x86_reg_write(cpu, insn->rm, insn->opsize, x86_has_rex(insn), insn->imm);
}

/** C6/C7: /0 MOV Eb/Ev, Ib/Iz; C6 F8 XABORT and C7 F8 XBEGIN (RTM) are #UD. */
static void op_mov_imm_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_modrm_digit(insn) != 0) {
        if (insn->modrm == 0xf8)
            qlog(LOG_UNIMP, "x86: RTM (XABORT/XBEGIN) not implemented");
        x86_raise(cpu, X86_EXC_UD);
    }
    x86_op_rm_write(cpu, insn, insn->opsize, x86_imm_sx(insn));
}

/** LEA Gv, M (8D): the effective address at operand size; register operand #UD. */
static void op_lea(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_rm_is_reg(insn))
        x86_raise(cpu, X86_EXC_UD);
    x86_greg_write(cpu, insn, insn->opsize, x86_ea(cpu, insn));
}

/** MOVZX/MOVSX Gv, Eb/Ew (0F B6 B7 BE BF). */
static void op_movx(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned byte = insn->op & 0xff;
    unsigned ssize = (byte & 1) ? 2 : 1;
    uint64_t v = x86_op_rm_read(cpu, insn, ssize);
    if (byte >= 0xbe)
        v = x86_sext(v, ssize * 8);
    x86_greg_write(cpu, insn, insn->opsize, v);
}

/**
 * ARPL Ew, Gw (63 outside 64-bit mode, SDM Vol. 2A ARPL): if the RPL field
 * (bits 1:0) of the destination selector is below the source's, raise it to
 * the source's and set ZF, else clear ZF; no other flag changes. Always 16-bit
 * (an operand-size prefix does not widen it; a register destination keeps its
 * upper bits). Not recognised in real-address and virtual-8086 mode (#UD).
 * A memory destination is checked for writing even when nothing is stored
 * (#GP(0) "If the destination is located in a non-writable segment").
 */
static void op_arpl(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & X86_FLAG_VM))
        x86_raise(cpu, X86_EXC_UD);
    gva_t lin = 0;
    uint64_t dest = x86_rmw_begin(cpu, insn, 2, &lin);
    uint64_t src = x86_reg_read(cpu, insn->reg, 2, false);
    uint64_t f = x86_arith_flags(cpu) & ~X86_FLAG_ZF;
    if ((dest & 3) < (src & 3)) {
        x86_rmw_end(cpu, insn, 2, lin, (dest & ~3ull) | (src & 3));
        f |= X86_FLAG_ZF;
    }
    x86_set_arith_flags(cpu, f);
}

/** 63: MOVSXD Gv, Ed in 64-bit mode (without REX.W a plain 32/16-bit move); ARPL elsewhere. */
static void op_movsxd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (!x86_long64(cpu)) {
        op_arpl(cpu, insn);
        return;
    }
    unsigned size = insn->opsize;
    uint64_t v = x86_op_rm_read(cpu, insn, size == 2 ? 2 : 4);
    if (size == 8)
        v = x86_sext(v, 32);
    x86_greg_write(cpu, insn, size, v);
}

/** CBW/CWDE/CDQE (98) and CWD/CDQ/CQO (99). */
static void op_cbw_cwd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize;
    if ((insn->op & 0xff) == 0x98) {
        uint64_t v = x86_sext(cpu->gpr[X86_RAX], size * 4);
        x86_reg_write(cpu, X86_RAX, size, false, v);
    } else {
        uint64_t a = cpu->gpr[X86_RAX] & x86_size_mask(size);
        uint64_t d = (a >> (size * 8 - 1)) & 1 ? ~0ull : 0;
        x86_reg_write(cpu, X86_RDX, size, false, d);
    }
}

/** SAHF (9E): SF ZF AF PF CF = AH; LAHF (9F): AH = SF:ZF:0:AF:0:PF:1:CF. */
static void op_sahf_lahf(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    const uint64_t low5 = X86_FLAG_SF | X86_FLAG_ZF | X86_FLAG_AF | X86_FLAG_PF | X86_FLAG_CF;
    uint64_t f = x86_arith_flags(cpu);
    if ((insn->op & 0xff) == 0x9e) {
        uint64_t ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
        x86_set_arith_flags(cpu, (f & X86_FLAG_OF) | (ah & low5));
    } else {
        uint64_t ah = (f & low5) | X86_FLAG_FIXED1;
        cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xff00ull) | (ah << 8);
    }
}

/** XLAT (D7): AL = [seg:rBX + AL] with rBX at the address size. */
static void op_xlat(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    uint64_t off = (cpu->gpr[X86_RBX] + (cpu->gpr[X86_RAX] & 0xff)) & x86_size_mask(insn->addrsize);
    gva_t lin = x86_linear(cpu, insn->seg, off, 1, MMU_READ);
    x86_reg_write(cpu, X86_RAX, 1, false, x86_read8(cpu, lin));
}

/** XCHG Eb,Gb / Ev,Gv (86 87): the memory form is implicitly locked. */
static void op_xchg_rm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_lock_mem_only(cpu, insn);
    unsigned size = insn->opsize;
    gva_t lin = 0;
    uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
    uint64_t b = x86_greg_read(cpu, insn, size);
    x86_rmw_end(cpu, insn, size, lin, b);
    x86_greg_write(cpu, insn, size, a);
}

/** 90-97: XCHG rAX, r; 90 without REX.B is NOP (F3 90: PAUSE). */
static void op_xchg_ax(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize, reg = insn->rm;
    if (reg == X86_RAX)
        return;   /* NOP / PAUSE: no zero-extension of EAX in 64-bit mode */
    uint64_t a = x86_reg_read(cpu, X86_RAX, size, false);
    uint64_t b = x86_reg_read(cpu, reg, size, false);
    x86_reg_write(cpu, X86_RAX, size, false, b);
    x86_reg_write(cpu, reg, size, false, a);
}

/**
 * CMOVcc Gv, Ev (0F 40-4F): the source is read (and may fault) whatever the
 * condition; a 32-bit destination is zero-extended even when it is false.
 */
static void op_cmov(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize;
    uint64_t v = x86_op_rm_read(cpu, insn, size);
    if (x86_cond(cpu, insn->op & 0xf))
        x86_greg_write(cpu, insn, size, v);
    else if (size == 4)
        cpu->gpr[insn->reg] &= 0xffffffffull;
}

/** SETcc Eb (0F 90-9F). */
static void op_setcc(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    x86_op_rm_write(cpu, insn, 1, x86_cond(cpu, insn->op & 0xf) ? 1 : 0);
}

/**
 * 0F 0D (PREFETCHW group) and 0F 18-1F (PREFETCHh, reserved NOP, ENDBR, ...):
 * hints that do nothing; the memory operand is not accessed.
 */
static void op_hint_nop(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
}

/** Register the data-movement handlers. */
void x86_ops_mov_init(x86_exec_fn *table)
{
    for (unsigned b = 0x88; b <= 0x8b; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_mov_rm;
    for (unsigned b = 0xa0; b <= 0xa3; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_mov_moffs;
    for (unsigned b = 0xb0; b <= 0xbf; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_mov_imm_r;
    table[X86_OP(X86_MAP_PRIMARY, 0xc6)] = op_mov_imm_rm;
    table[X86_OP(X86_MAP_PRIMARY, 0xc7)] = op_mov_imm_rm;
    table[X86_OP(X86_MAP_PRIMARY, 0x8d)] = op_lea;
    table[X86_OP(X86_MAP_0F, 0xb6)] = op_movx;
    table[X86_OP(X86_MAP_0F, 0xb7)] = op_movx;
    table[X86_OP(X86_MAP_0F, 0xbe)] = op_movx;
    table[X86_OP(X86_MAP_0F, 0xbf)] = op_movx;
    table[X86_OP(X86_MAP_PRIMARY, 0x63)] = op_movsxd;
    table[X86_OP(X86_MAP_PRIMARY, 0x98)] = op_cbw_cwd;
    table[X86_OP(X86_MAP_PRIMARY, 0x99)] = op_cbw_cwd;
    table[X86_OP(X86_MAP_PRIMARY, 0x9e)] = op_sahf_lahf;
    table[X86_OP(X86_MAP_PRIMARY, 0x9f)] = op_sahf_lahf;
    table[X86_OP(X86_MAP_PRIMARY, 0xd7)] = op_xlat;
    table[X86_OP(X86_MAP_PRIMARY, 0x86)] = op_xchg_rm;
    table[X86_OP(X86_MAP_PRIMARY, 0x87)] = op_xchg_rm;
    for (unsigned b = 0x90; b <= 0x97; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_xchg_ax;
    for (unsigned c = 0; c < 16; c++) {
        table[X86_OP(X86_MAP_0F, 0x40 + c)] = op_cmov;
        table[X86_OP(X86_MAP_0F, 0x90 + c)] = op_setcc;
    }
    table[X86_OP(X86_MAP_0F, 0x0d)] = op_hint_nop;
    for (unsigned b = 0x18; b <= 0x1f; b++)
        table[X86_OP(X86_MAP_0F, b)] = op_hint_nop;
}
