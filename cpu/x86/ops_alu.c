/*
 * cpu/x86/ops_alu.c - integer arithmetic and logic: ADD OR ADC SBB AND SUB
 * XOR CMP (00-3D, group 1 80-83), TEST (84 85 A8 A9, F6/F7 /0 /1), INC/DEC
 * (40-4F, FE, FF /0 /1), NOT/NEG (F6/F7 /2 /3), group 4/5 dispatch (FE, FF),
 * CMPXCHG, XADD, the flag instructions CMC CLC STC CLD STD and the BCD
 * adjusts DAA DAS AAA AAS AAM AAD (SDM Vol. 2A/2B, each instruction's page).
 *
 * x86_ops_alu_init() also calls the initialisers of the other integer files
 * (shift, mul/div, bit, mov, stack), so the run loop needs one call.
 *
 * LOCK (SDM Vol. 2A "LOCK"): accepted on the memory-destination forms of the
 * lockable instructions; any other use raises #UD. With one vCPU a plain
 * read-modify-write is atomic.
 *
 * Undefined flags: DAA/DAS leave OF = 0; AAA/AAS set ZF/SF/PF from the final
 * AL and OF = 0; AAM/AAD clear CF/OF/AF (the values Intel hardware gives
 * for these are not checkable on a 64-bit host).
 */
#include "cpu/x86/ops_int.h"

/* ---------------------------------------------------------------- core ALU */

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/**
 * Compute ALU operation @op (the /digit order of group 1) on @a, @b at
 * @size bytes into a lazy-flags record @cc (committed by the caller after any
 * store succeeded). Returns the result (unused for CMP).
 */
static forceinline uint64_t alu_compute(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a,
                                        uint64_t b, struct x86_cc *cc)
{
    uint64_t m = x86_size_mask(size), r;
    a &= m;
    b &= m;
    cc->size = (uint8_t)size;
    cc->src1 = a;
    cc->src2 = b;
    cc->aux = 0;
    switch (op) {
    case ALU_ADD: r = a + b; cc->op = CC_OP_ADD; break;
    case ALU_OR:  r = a | b; cc->op = CC_OP_LOGIC; break;
    case ALU_ADC: cc->aux = x86_get_cf(cpu); r = a + b + cc->aux; cc->op = CC_OP_ADC; break;
    case ALU_SBB: cc->aux = x86_get_cf(cpu); r = a - b - cc->aux; cc->op = CC_OP_SBB; break;
    case ALU_AND: r = a & b; cc->op = CC_OP_LOGIC; break;
    case ALU_XOR: r = a ^ b; cc->op = CC_OP_LOGIC; break;
    default:      r = a - b; cc->op = CC_OP_SUB; break;   /* SUB, CMP */
    }
    r &= m;
    cc->res = r;
    return r;
}

/** Apply ALU @op to an r/m destination and source @b (RMW unless CMP). */
static forceinline void alu_rm(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned op,
                               unsigned size, uint64_t b)
{
    struct x86_cc cc;
    if (op == ALU_CMP) {
        x86_no_lock(cpu, insn);
        uint64_t a = x86_op_rm_read(cpu, insn, size);
        alu_compute(cpu, op, size, a, b, &cc);
        cpu->cc = cc;
        return;
    }
    x86_lock_mem_only(cpu, insn);
    gva_t lin = 0;
    uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
    uint64_t r = alu_compute(cpu, op, size, a, b, &cc);
    x86_rmw_end(cpu, insn, size, lin, r);
    cpu->cc = cc;
}

/** 00-3D forms: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / rAX,Iz. */
static void op_alu(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned byte = insn->op & 0xff, op = byte >> 3, size = insn->opsize;
    struct x86_cc cc;
    switch (byte & 7) {
    case 0:
    case 1:
        alu_rm(cpu, insn, op, size, x86_greg_read(cpu, insn, size));
        return;
    case 2:
    case 3: {
        x86_no_lock(cpu, insn);
        uint64_t b = x86_op_rm_read(cpu, insn, size);
        uint64_t a = x86_greg_read(cpu, insn, size);
        uint64_t r = alu_compute(cpu, op, size, a, b, &cc);
        if (op != ALU_CMP)
            x86_greg_write(cpu, insn, size, r);
        cpu->cc = cc;
        return;
    }
    default: {
        x86_no_lock(cpu, insn);
        uint64_t a = x86_reg_read(cpu, X86_RAX, size, false);
        uint64_t r = alu_compute(cpu, op, size, a, x86_imm_sx(insn), &cc);
        if (op != ALU_CMP)
            x86_reg_write(cpu, X86_RAX, size, false, r);
        cpu->cc = cc;
        return;
    }
    }
}

/** Group 1 (80 81 82 83): ALU r/m, imm (SDM Vol. 2 Table A-6). 82 is #UD in 64-bit mode. */
static void op_grp1(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if ((insn->op & 0xff) == 0x82 && x86_long64(cpu))
        x86_raise(cpu, X86_EXC_UD);
    alu_rm(cpu, insn, x86_modrm_digit(insn), insn->opsize, x86_imm_sx(insn));
}

/** TEST r/m, reg (84 85) and TEST AL/rAX, imm (A8 A9). */
static void op_test(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize;
    uint64_t a, b;
    if ((insn->op & 0xff) >= 0xa8) {
        a = x86_reg_read(cpu, X86_RAX, size, false);
        b = x86_imm_sx(insn);
    } else {
        a = x86_op_rm_read(cpu, insn, size);
        b = x86_greg_read(cpu, insn, size);
    }
    uint64_t r = (a & b) & x86_size_mask(size);
    x86_set_cc(cpu, CC_OP_LOGIC, size, r, r, 0);
}

/* ---------------------------------------------------------------- INC/DEC */

static forceinline void incdec_commit(struct x86_cpu *cpu, bool dec, unsigned size, uint64_t a,
                                      uint64_t r, unsigned cf)
{
    x86_set_cc(cpu, dec ? CC_OP_DEC : CC_OP_INC, size, r, a, 1);
    cpu->cc.aux = cf;
}

/** INC/DEC r/m (FE/FF /0 /1): CF is preserved (SDM Vol. 2A INC, DEC). */
static void incdec_rm(struct x86_cpu *cpu, const struct x86_insn *insn, bool dec)
{
    x86_lock_mem_only(cpu, insn);
    unsigned size = insn->opsize;
    unsigned cf = x86_get_cf(cpu);
    gva_t lin = 0;
    uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
    uint64_t r = (dec ? a - 1 : a + 1) & x86_size_mask(size);
    x86_rmw_end(cpu, insn, size, lin, r);
    incdec_commit(cpu, dec, size, a, r, cf);
}

/** 40-4F: INC/DEC r16/r32 (16/32-bit modes; REX prefixes in 64-bit mode). */
static void op_incdec_r(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned size = insn->opsize, reg = insn->op & 7;
    bool dec = insn->op & 8;
    unsigned cf = x86_get_cf(cpu);
    uint64_t a = x86_reg_read(cpu, reg, size, false);
    uint64_t r = (dec ? a - 1 : a + 1) & x86_size_mask(size);
    x86_reg_write(cpu, reg, size, false, r);
    incdec_commit(cpu, dec, size, a, r, cf);
}

/** Group 4 (FE): /0 INC Eb, /1 DEC Eb, others #UD. */
static void op_grp4(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (d > 1)
        x86_raise(cpu, X86_EXC_UD);
    incdec_rm(cpu, insn, d == 1);
}

/** Group 5 (FF): INC DEC CALL CALLF JMP JMPF PUSH (SDM Vol. 2 Table A-6). */
static void op_grp5(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn);
    if (d <= 1) {
        incdec_rm(cpu, insn, d == 1);
        return;
    }
    x86_no_lock(cpu, insn);
    switch (d) {
    case 2: x86_op_call_near_rm(cpu, insn); return;
    case 4: x86_op_jmp_near_rm(cpu, insn); return;
    case 6: x86_op_push_rm(cpu, insn); return;
    case 3:
    case 5:
        if (x86_rm_is_reg(insn))
            x86_raise(cpu, X86_EXC_UD);
        if (d == 3)
            x86_op_callf_m(cpu, insn);
        else
            x86_op_jmpf_m(cpu, insn);
        return;
    default:
        x86_raise(cpu, X86_EXC_UD);
    }
}

/* ---------------------------------------------------------------- group 3 */

/** Group 3 (F6/F7): /0 /1 TEST, /2 NOT, /3 NEG, /4../7 MUL IMUL DIV IDIV. */
static void op_grp3(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned d = x86_modrm_digit(insn), size = insn->opsize;
    uint64_t m = x86_size_mask(size);
    gva_t lin = 0;
    switch (d) {
    case 0:
    case 1: {   /* /1 is an undocumented alias of TEST on Intel and AMD */
        x86_no_lock(cpu, insn);
        uint64_t r = x86_op_rm_read(cpu, insn, size) & x86_imm_sx(insn) & m;
        x86_set_cc(cpu, CC_OP_LOGIC, size, r, r, 0);
        return;
    }
    case 2: {   /* NOT: no flags */
        x86_lock_mem_only(cpu, insn);
        uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
        x86_rmw_end(cpu, insn, size, lin, ~a & m);
        return;
    }
    case 3: {   /* NEG: flags of 0 - src; CF = src != 0 */
        x86_lock_mem_only(cpu, insn);
        uint64_t a = x86_rmw_begin(cpu, insn, size, &lin);
        uint64_t r = (0 - a) & m;
        x86_rmw_end(cpu, insn, size, lin, r);
        x86_set_cc(cpu, CC_OP_SUB, size, r, 0, a);
        return;
    }
    default:
        x86_no_lock(cpu, insn);
        x86_op_grp3_muldiv(cpu, insn);
        return;
    }
}

/* ---------------------------------------------------------------- CMPXCHG, XADD */

/**
 * CMPXCHG r/m, reg (0F B0/B1, SDM Vol. 2A): compare rAX with the destination;
 * equal: ZF=1, dest = reg; else ZF=0, rAX = dest. Flags as CMP rAX, dest.
 * A memory destination is always written (the old value on failure). For a
 * register destination only the register that changes is written (Intel:
 * with 32-bit operands a failing compare zero-extends RAX, not the dest).
 */
static void op_cmpxchg(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_lock_mem_only(cpu, insn);
    unsigned size = insn->opsize;
    uint64_t m = x86_size_mask(size);
    gva_t lin = 0;
    uint64_t dest = x86_rmw_begin(cpu, insn, size, &lin);
    uint64_t acc = x86_reg_read(cpu, X86_RAX, size, false);
    uint64_t src = x86_greg_read(cpu, insn, size);
    bool eq = acc == dest;
    if (eq) {
        x86_rmw_end(cpu, insn, size, lin, src);
    } else {
        if (!x86_rm_is_reg(insn))
            x86_write_sized(cpu, lin, dest, size);
        x86_reg_write(cpu, X86_RAX, size, false, dest);
    }
    x86_set_cc(cpu, CC_OP_SUB, size, (acc - dest) & m, acc, dest);
}

/** XADD r/m, reg (0F C0/C1): TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. Flags of the ADD. */
static void op_xadd(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_lock_mem_only(cpu, insn);
    unsigned size = insn->opsize;
    uint64_t m = x86_size_mask(size);
    gva_t lin = 0;
    uint64_t dest = x86_rmw_begin(cpu, insn, size, &lin);
    uint64_t src = x86_greg_read(cpu, insn, size);
    uint64_t r = (src + dest) & m;
    if (x86_rm_is_reg(insn)) {
        x86_greg_write(cpu, insn, size, dest);
        x86_rmw_end(cpu, insn, size, lin, r);
    } else {
        x86_rmw_end(cpu, insn, size, lin, r);
        x86_greg_write(cpu, insn, size, dest);
    }
    x86_set_cc(cpu, CC_OP_ADD, size, r, dest, src);
}

/* ---------------------------------------------------------------- flag instructions */

/** CMC F5, CLC F8, STC F9, CLD FC, STD FD (SDM Vol. 2A). */
static void op_flagop(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    unsigned byte = insn->op & 0xff;
    if (byte == 0xfc) {
        cpu->rflags &= ~X86_FLAG_DF;
        return;
    }
    if (byte == 0xfd) {
        cpu->rflags |= X86_FLAG_DF;
        return;
    }
    uint64_t f = x86_arith_flags(cpu);
    if (byte == 0xf5)
        f ^= X86_FLAG_CF;
    else if (byte == 0xf8)
        f &= ~X86_FLAG_CF;
    else
        f |= X86_FLAG_CF;
    x86_set_arith_flags(cpu, f);
}

/* ---------------------------------------------------------------- BCD (32-bit modes) */

/** DAA 27 / DAS 2F / AAA 37 / AAS 3F (SDM Vol. 2A pseudo-code); #UD in 64-bit mode. */
static void op_bcd_adjust(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_long64(cpu))
        x86_raise(cpu, X86_EXC_UD);
    uint64_t f = x86_arith_flags(cpu);
    bool cf = f & X86_FLAG_CF, af = f & X86_FLAG_AF;
    unsigned al = cpu->gpr[X86_RAX] & 0xff, ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
    unsigned old_al = al;
    bool ncf = false, naf = false;

    switch (insn->op & 0xff) {
    case 0x27:  /* DAA */
        if ((al & 0xf) > 9 || af) {
            ncf = cf || al + 6 > 0xff;
            al = (al + 6) & 0xff;
            naf = true;
        }
        if (old_al > 0x99 || cf) {
            al = (al + 0x60) & 0xff;
            ncf = true;
        }
        break;
    case 0x2f:  /* DAS */
        if ((al & 0xf) > 9 || af) {
            ncf = cf || al < 6;
            al = (al - 6) & 0xff;
            naf = true;
        }
        if (old_al > 0x99 || cf) {
            al = (al - 0x60) & 0xff;
            ncf = true;
        }
        break;
    case 0x37:  /* AAA */
        if ((al & 0xf) > 9 || af) {
            unsigned ax = ((ah << 8) | al) + 0x106;
            al = ax & 0xff;
            ah = (ax >> 8) & 0xff;
            naf = ncf = true;
        }
        al &= 0xf;
        break;
    default:    /* 0x3f AAS */
        if ((al & 0xf) > 9 || af) {
            unsigned ax = (((ah << 8) | al) - 6) & 0xffff;
            al = ax & 0xff;
            ah = ((ax >> 8) - 1) & 0xff;
            naf = ncf = true;
        }
        al &= 0xf;
        break;
    }
    cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | (ah << 8) | al;
    uint64_t nf = x86_zsp_of(al, 1) | (ncf ? X86_FLAG_CF : 0) | (naf ? X86_FLAG_AF : 0);
    x86_set_arith_flags(cpu, nf);
}

/** AAM Ib (D4): AH = AL / imm, AL = AL % imm; #DE if imm = 0. AAD Ib (D5). */
static void op_aam_aad(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    if (x86_long64(cpu))
        x86_raise(cpu, X86_EXC_UD);
    unsigned imm = insn->imm & 0xff;
    unsigned al = cpu->gpr[X86_RAX] & 0xff, ah = (cpu->gpr[X86_RAX] >> 8) & 0xff;
    if ((insn->op & 0xff) == 0xd4) {
        if (imm == 0)
            x86_raise(cpu, X86_EXC_DE);
        ah = al / imm;
        al = al % imm;
    } else {
        al = (al + ah * imm) & 0xff;
        ah = 0;
    }
    cpu->gpr[X86_RAX] = (cpu->gpr[X86_RAX] & ~0xffffull) | (ah << 8) | al;
    x86_set_cc(cpu, CC_OP_LOGIC, 1, al, al, 0);
}

/* ---------------------------------------------------------------- registration */

/** Register the integer handlers of this file and of the other integer files. */
/**
 * BOUND r16/r32, m16&16 / m32&32 (62 /r; invalid in 64-bit mode, where 62 is
 * the EVEX escape and the decoder already returns #UD): #BR when the signed
 * index is below the first bound or above the second (SDM Vol. 2A BOUND).
 * A register operand is #UD.
 */
static void op_bound(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (!(insn->flags & X86_INSN_MEM) || x86_long64(cpu))
        x86_raise(cpu, X86_EXC_UD);
    unsigned size = insn->opsize == 2 ? 2 : 4;
    gva_t lin = x86_mem_linear(cpu, insn, size * 2, MMU_READ);
    uint64_t lo = x86_read_sized(cpu, lin, size);
    uint64_t hi = x86_read_sized(cpu, lin + size, size);
    uint64_t idx = x86_greg_read(cpu, insn, size);
    int64_t s_idx = size == 2 ? (int16_t)idx : (int32_t)idx;
    int64_t s_lo = size == 2 ? (int16_t)lo : (int32_t)lo;
    int64_t s_hi = size == 2 ? (int16_t)hi : (int32_t)hi;
    if (s_idx < s_lo || s_idx > s_hi)
        x86_raise(cpu, X86_EXC_BR);
}

void x86_ops_alu_init(x86_exec_fn *table)
{
    table[X86_OP(X86_MAP_PRIMARY, 0x62)] = op_bound;
    for (unsigned g = 0; g < 8; g++)
        for (unsigned f = 0; f < 6; f++)
            table[X86_OP(X86_MAP_PRIMARY, g * 8 + f)] = op_alu;
    for (unsigned b = 0x80; b <= 0x83; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_grp1;
    table[X86_OP(X86_MAP_PRIMARY, 0x84)] = op_test;
    table[X86_OP(X86_MAP_PRIMARY, 0x85)] = op_test;
    table[X86_OP(X86_MAP_PRIMARY, 0xa8)] = op_test;
    table[X86_OP(X86_MAP_PRIMARY, 0xa9)] = op_test;
    for (unsigned b = 0x40; b <= 0x4f; b++)
        table[X86_OP(X86_MAP_PRIMARY, b)] = op_incdec_r;
    table[X86_OP(X86_MAP_PRIMARY, 0xfe)] = op_grp4;
    table[X86_OP(X86_MAP_PRIMARY, 0xff)] = op_grp5;
    table[X86_OP(X86_MAP_PRIMARY, 0xf6)] = op_grp3;
    table[X86_OP(X86_MAP_PRIMARY, 0xf7)] = op_grp3;
    table[X86_OP(X86_MAP_0F, 0xb0)] = op_cmpxchg;
    table[X86_OP(X86_MAP_0F, 0xb1)] = op_cmpxchg;
    table[X86_OP(X86_MAP_0F, 0xc0)] = op_xadd;
    table[X86_OP(X86_MAP_0F, 0xc1)] = op_xadd;
    table[X86_OP(X86_MAP_PRIMARY, 0xf5)] = op_flagop;
    table[X86_OP(X86_MAP_PRIMARY, 0xf8)] = op_flagop;
    table[X86_OP(X86_MAP_PRIMARY, 0xf9)] = op_flagop;
    table[X86_OP(X86_MAP_PRIMARY, 0xfc)] = op_flagop;
    table[X86_OP(X86_MAP_PRIMARY, 0xfd)] = op_flagop;
    table[X86_OP(X86_MAP_PRIMARY, 0x27)] = op_bcd_adjust;
    table[X86_OP(X86_MAP_PRIMARY, 0x2f)] = op_bcd_adjust;
    table[X86_OP(X86_MAP_PRIMARY, 0x37)] = op_bcd_adjust;
    table[X86_OP(X86_MAP_PRIMARY, 0x3f)] = op_bcd_adjust;
    table[X86_OP(X86_MAP_PRIMARY, 0xd4)] = op_aam_aad;
    table[X86_OP(X86_MAP_PRIMARY, 0xd5)] = op_aam_aad;

    x86_ops_shift_init(table);
    x86_ops_muldiv_init(table);
    x86_ops_bit_init(table);
    x86_ops_mov_init(table);
    x86_ops_stack_init(table);
}
