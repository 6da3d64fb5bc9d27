/*
 * cpu/x86/ops_fast.c - specialised handlers for the hottest instruction
 * forms, chosen once when a block is built (x86_fast_lookup, called by
 * block.c) instead of the generic group handlers of x86_exec_table.
 *
 * Forms: ALU (ADD OR AND SUB XOR CMP), TEST, MOV, LEA, MOVZX/MOVSX/MOVSXD,
 * SHL/SHR/SAR/ROL/ROR by immediate, IMUL, CMOVcc, SETcc; in 64-bit mode also
 * Jcc, JMP/CALL rel, RET, PUSH/POP r64.
 *
 * Each specialised handler is one (operation, operand size, operand form)
 * of an instruction the generic handler also implements, with everything
 * known at decode time hoisted out: no switch on the opcode, /digit or size
 * at run time, no LOCK check (LOCK-prefixed instructions keep the generic
 * handler), and an inline 64-bit-mode memory path:
 *
 *   EA   = base + (index << scale) + disp   (or next RIP + disp), 64-bit
 *   lin  = EA (+ FS/GS base)                (SDM Vol. 3A 3.4.4, Vol. 1 3.3.7.1)
 *   host = lin + TLB addend, if the TLB tag of the access kind equals the
 *          page of lin and the access does not cross the page.
 *
 * The canonical-address check of 64-bit mode is folded into the TLB compare:
 * an entry is only ever filled for a page whose address passed the check
 * (x86_linear runs before every translation), so a tag hit proves lin is
 * canonical; flag bits folded into tags (MMIO, code page, watchpoint) make
 * those pages miss. On a miss, or any case the fast path does not cover,
 * the handler calls the generic handler of the same instruction before it
 * has changed anything, so faults, MMIO, SMC, watchpoints, #GP/#SS for
 * non-canonical addresses and flags all behave exactly as in the generic
 * code: these handlers are a pure optimisation of it, checked by the same
 * differential tests against the host CPU (tests/unit/test_alu_diff.c runs
 * every instruction through the block builder, so through this file).
 *
 * Only blocks decoded in 64-bit mode use the memory and branch forms (the
 * block's code mode is fixed, DESIGN "keyed by ... the mode bits that
 * change decoding"); register-only ALU forms are mode independent.
 * Operand sizes 4 and 8 are specialised; 8/16-bit forms stay generic.
 * Rotates keep the other four flags, so they materialise the old ones
 * (inline when the previous state is a rotate or a logic instruction).
 *
 * Flags are recorded lazily exactly as the generic handlers record them
 * (cpu->cc: op, size, res, src1, src2; flags.c).
 */
#include <string.h>

#include "cpu/x86/block.h"
#include "cpu/x86/ops_int.h"

#define PAGE_OFF(x) ((x) & (GUEST_PAGE_SIZE - 1))

/* ---------------------------------------------------------------- helpers */

/** The generic handler: every fast handler's way out (nothing changed yet). */
static noinline void slow(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_exec_lookup(insn)(cpu, insn);
}

static forceinline uint64_t szmask(unsigned size)
{
    return size == 8 ? ~0ull : 0xffffffffull;
}

/** Register read at 4/8 bytes. */
static forceinline uint64_t rget(const struct x86_cpu *cpu, unsigned r, unsigned size)
{
    return size == 8 ? cpu->gpr[r] : (uint32_t)cpu->gpr[r];
}

/** Register write at 4/8 bytes (4 zero-extends, SDM Vol. 1 3.4.1.1). */
static forceinline void rset(struct x86_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    cpu->gpr[r] = size == 8 ? v : (uint32_t)v;
}

/** Effective address in 64-bit mode with a 64-bit address size (SDM Vol. 2A 2.2.1). */
static forceinline uint64_t ea64(const struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t ea = (uint64_t)(int64_t)insn->disp;
    if (likely(insn->base < 16))
        ea += cpu->gpr[insn->base];
    else if (insn->base == X86_REG_RIP)
        ea += cpu->next_rip;
    if (insn->index != X86_REG_NONE)
        ea += cpu->gpr[insn->index & 15] << (insn->scale & 3);
    return ea;
}

/** Linear address in 64-bit mode: only FS and GS have a base (SDM Vol. 1 3.3.7.1). */
static forceinline gva_t lin64(const struct x86_cpu *cpu, const struct x86_insn *insn)
{
    gva_t lin = ea64(cpu, insn);
    if (unlikely(insn->seg >= X86_FS))
        lin += cpu->seg[insn->seg].base;
    return lin;
}

static forceinline uint64_t host_load(uintptr_t p, unsigned size)
{
    if (size == 8) {
        uint64_t v;
        memcpy(&v, (const void *)p, 8);
        return v;
    }
    uint32_t v;
    memcpy(&v, (const void *)p, 4);
    return v;
}

static forceinline void host_store(uintptr_t p, uint64_t v, unsigned size)
{
    if (size == 8) {
        memcpy((void *)p, &v, 8);
    } else {
        uint32_t t = (uint32_t)v;
        memcpy((void *)p, &t, 4);
    }
}

/**
 * Host address of @size bytes at @lin for a read (@write false) or a write,
 * or 0 if the TLB fast path does not cover it (see the header).
 */
static forceinline uintptr_t tlb_host(struct x86_cpu *cpu, gva_t lin, unsigned size, bool write)
{
    const struct tlb_entry *e = &cpu->tlb[cpu->cpl == 3].e[tlb_index(lin)];
    uint64_t tag = write ? e->tag_write : e->tag_read;
    if (likely(tag == (lin & GUEST_PAGE_MASK) && PAGE_OFF(lin) <= GUEST_PAGE_SIZE - size))
        return (uintptr_t)(lin + e->addend);
    return 0;
}

/* ---------------------------------------------------------------- ALU */

enum { F_ADD, F_OR, F_ADC, F_SBB, F_AND, F_SUB, F_XOR, F_CMP, F_TEST };

/**
 * ALU @op on @a, @b at @size bytes: records the lazy flags as ops_alu.c
 * does and returns the result. ADC/SBB are never specialised.
 */
static forceinline uint64_t alu(struct x86_cpu *cpu, unsigned op, unsigned size, uint64_t a,
                                uint64_t b)
{
    uint64_t m = szmask(size), r;
    a &= m;
    b &= m;
    switch (op) {
    case F_ADD:
        r = (a + b) & m;
        cpu->cc.op = CC_OP_ADD;
        break;
    case F_SUB:
    case F_CMP:
        r = (a - b) & m;
        cpu->cc.op = CC_OP_SUB;
        break;
    case F_OR:
        r = a | b;
        cpu->cc.op = CC_OP_LOGIC;
        break;
    case F_XOR:
        r = a ^ b;
        cpu->cc.op = CC_OP_LOGIC;
        break;
    default: /* AND, TEST */
        r = a & b;
        cpu->cc.op = CC_OP_LOGIC;
        break;
    }
    cpu->cc.size = (uint8_t)size;
    cpu->cc.res = r;
    cpu->cc.src1 = a;
    cpu->cc.src2 = b;
    return r;
}

static forceinline bool alu_writes(unsigned op)
{
    return op != F_CMP && op != F_TEST;
}

/* Forms. */
enum {
    FM_RM_REG,   /* r/m register = r/m op reg       (01 09 21 29 31 39 85, mod 3) */
    FM_REG_RM,   /* reg = reg op r/m register       (03 0B 23 2B 33 3B, mod 3) */
    FM_RM_IMM,   /* r/m register = r/m op imm       (81 83 F7/0, mod 3) */
    FM_RAX_IMM,  /* rAX = rAX op imm                (05 0D 25 2D 35 3D A9) */
    FM_REG_MEM,  /* reg = reg op [mem]              (03 .. 3B, 85 as TEST [mem], reg) */
    FM_MEM_REG,  /* [mem] = [mem] op reg            (01 .. 39) */
    FM_MEM_IMM,  /* [mem] = [mem] op imm            (81 83 F7/0) */
};

static forceinline void alu_form(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned op,
                                 unsigned size, unsigned form)
{
    switch (form) {
    case FM_RM_REG: {
        uint64_t r = alu(cpu, op, size, cpu->gpr[insn->rm], cpu->gpr[insn->reg]);
        if (alu_writes(op))
            rset(cpu, insn->rm, size, r);
        return;
    }
    case FM_REG_RM: {
        uint64_t r = alu(cpu, op, size, cpu->gpr[insn->reg], cpu->gpr[insn->rm]);
        if (alu_writes(op))
            rset(cpu, insn->reg, size, r);
        return;
    }
    case FM_RM_IMM: {
        uint64_t r = alu(cpu, op, size, cpu->gpr[insn->rm], insn->imm);
        if (alu_writes(op))
            rset(cpu, insn->rm, size, r);
        return;
    }
    case FM_RAX_IMM: {
        uint64_t r = alu(cpu, op, size, cpu->gpr[X86_RAX], insn->imm);
        if (alu_writes(op))
            rset(cpu, X86_RAX, size, r);
        return;
    }
    case FM_REG_MEM: {
        uintptr_t h = tlb_host(cpu, lin64(cpu, insn), size, false);
        if (unlikely(!h)) {
            slow(cpu, insn);
            return;
        }
        uint64_t b = host_load(h, size);
        /* TEST [mem], reg and CMP reg, [mem]: operand order as the generic code. */
        uint64_t r = op == F_TEST ? alu(cpu, op, size, b, cpu->gpr[insn->reg])
                                  : alu(cpu, op, size, cpu->gpr[insn->reg], b);
        if (alu_writes(op))
            rset(cpu, insn->reg, size, r);
        return;
    }
    case FM_MEM_REG:
    case FM_MEM_IMM: {
        bool w = alu_writes(op);
        uintptr_t h = tlb_host(cpu, lin64(cpu, insn), size, w);
        if (unlikely(!h)) {
            slow(cpu, insn);
            return;
        }
        uint64_t b = form == FM_MEM_REG ? cpu->gpr[insn->reg] : insn->imm;
        uint64_t r = alu(cpu, op, size, host_load(h, size), b);
        if (w)
            host_store(h, r, size);
        return;
    }
    }
}

#define ALU_FN(op, form, size) fast_alu_##op##_##form##_##size
#define DEF_ALU(opname, op, form, size)                                                     \
    static void ALU_FN(opname, form, size)(struct x86_cpu *cpu, const struct x86_insn *insn) \
    {                                                                                       \
        alu_form(cpu, insn, op, size, form);                                                \
    }
#define DEF_ALU_SIZES(opname, op, form) DEF_ALU(opname, op, form, 4) DEF_ALU(opname, op, form, 8)
#define DEF_ALU_FORMS(opname, op)                 \
    DEF_ALU_SIZES(opname, op, FM_RM_REG)          \
    DEF_ALU_SIZES(opname, op, FM_REG_RM)          \
    DEF_ALU_SIZES(opname, op, FM_RM_IMM)          \
    DEF_ALU_SIZES(opname, op, FM_RAX_IMM)         \
    DEF_ALU_SIZES(opname, op, FM_REG_MEM)         \
    DEF_ALU_SIZES(opname, op, FM_MEM_REG)         \
    DEF_ALU_SIZES(opname, op, FM_MEM_IMM)
DEF_ALU_FORMS(add, F_ADD)
DEF_ALU_FORMS(or, F_OR)
DEF_ALU_FORMS(and, F_AND)
DEF_ALU_FORMS(sub, F_SUB)
DEF_ALU_FORMS(xor, F_XOR)
DEF_ALU_FORMS(cmp, F_CMP)
DEF_ALU_FORMS(test, F_TEST)

#define ALU_ROW(opname, form) { ALU_FN(opname, form, 4), ALU_FN(opname, form, 8) }
#define ALU_TABLE(form)                                                                     \
    { ALU_ROW(add, form), ALU_ROW(or, form), { NULL, NULL }, { NULL, NULL },               \
      ALU_ROW(and, form), ALU_ROW(sub, form), ALU_ROW(xor, form), ALU_ROW(cmp, form),      \
      ALU_ROW(test, form) }
/* [form][op][size 4/8] */
static const x86_exec_fn alu_fns[7][9][2] = {
    ALU_TABLE(FM_RM_REG), ALU_TABLE(FM_REG_RM), ALU_TABLE(FM_RM_IMM), ALU_TABLE(FM_RAX_IMM),
    ALU_TABLE(FM_REG_MEM), ALU_TABLE(FM_MEM_REG), ALU_TABLE(FM_MEM_IMM),
};

/* ---------------------------------------------------------------- MOV, LEA, MOVZX/MOVSX */

enum { MV_RM_REG, MV_REG_RM, MV_REG_MEM, MV_MEM_REG, MV_RM_IMM, MV_MEM_IMM, MV_LEA };

static forceinline void mov_form(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                                 unsigned form)
{
    switch (form) {
    case MV_RM_REG:
        rset(cpu, insn->rm, size, cpu->gpr[insn->reg]);
        return;
    case MV_REG_RM:
        rset(cpu, insn->reg, size, cpu->gpr[insn->rm]);
        return;
    case MV_RM_IMM:
        rset(cpu, insn->rm, size, insn->imm);
        return;
    case MV_LEA:
        rset(cpu, insn->reg, size, ea64(cpu, insn));
        return;
    case MV_REG_MEM: {
        uintptr_t h = tlb_host(cpu, lin64(cpu, insn), size, false);
        if (unlikely(!h)) {
            slow(cpu, insn);
            return;
        }
        rset(cpu, insn->reg, size, host_load(h, size));
        return;
    }
    default: {   /* MV_MEM_REG, MV_MEM_IMM */
        uintptr_t h = tlb_host(cpu, lin64(cpu, insn), size, true);
        if (unlikely(!h)) {
            slow(cpu, insn);
            return;
        }
        host_store(h, form == MV_MEM_REG ? cpu->gpr[insn->reg] : insn->imm, size);
        return;
    }
    }
}

#define MOV_FN(form, size) fast_mov_##form##_##size
#define DEF_MOV(form, size)                                                            \
    static void MOV_FN(form, size)(struct x86_cpu *cpu, const struct x86_insn *insn)   \
    {                                                                                  \
        mov_form(cpu, insn, size, form);                                               \
    }
#define DEF_MOV_SIZES(form) DEF_MOV(form, 4) DEF_MOV(form, 8)
DEF_MOV_SIZES(MV_RM_REG)
DEF_MOV_SIZES(MV_REG_RM)
DEF_MOV_SIZES(MV_REG_MEM)
DEF_MOV_SIZES(MV_MEM_REG)
DEF_MOV_SIZES(MV_RM_IMM)
DEF_MOV_SIZES(MV_MEM_IMM)
DEF_MOV_SIZES(MV_LEA)
static const x86_exec_fn mov_fns[7][2] = {
    { MOV_FN(MV_RM_REG, 4), MOV_FN(MV_RM_REG, 8) },   { MOV_FN(MV_REG_RM, 4), MOV_FN(MV_REG_RM, 8) },
    { MOV_FN(MV_REG_MEM, 4), MOV_FN(MV_REG_MEM, 8) }, { MOV_FN(MV_MEM_REG, 4), MOV_FN(MV_MEM_REG, 8) },
    { MOV_FN(MV_RM_IMM, 4), MOV_FN(MV_RM_IMM, 8) },   { MOV_FN(MV_MEM_IMM, 4), MOV_FN(MV_MEM_IMM, 8) },
    { MOV_FN(MV_LEA, 4), MOV_FN(MV_LEA, 8) },
};

/**
 * MOVZX/MOVSX Gv, Eb/Ew (0F B6 B7 BE BF) and MOVSXD Gq, Ed (63 with REX.W),
 * source of @ssize bytes, sign-extended if @sx, into a 4/8-byte register.
 */
static forceinline void movx(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned ssize,
                             bool sx, unsigned size, bool mem)
{
    uint64_t v;
    if (mem) {
        gva_t lin = lin64(cpu, insn);
        const struct tlb_entry *e = &cpu->tlb[cpu->cpl == 3].e[tlb_index(lin)];
        if (unlikely(e->tag_read != (lin & GUEST_PAGE_MASK) ||
                     PAGE_OFF(lin) > GUEST_PAGE_SIZE - ssize)) {
            slow(cpu, insn);
            return;
        }
        const void *p = (const void *)(uintptr_t)(lin + e->addend);
        if (ssize == 1) {
            v = *(const uint8_t *)p;
        } else if (ssize == 2) {
            uint16_t t;
            memcpy(&t, p, 2);
            v = t;
        } else {
            uint32_t t;
            memcpy(&t, p, 4);
            v = t;
        }
    } else {
        /* Byte sources are only specialised when they are not AH..BH. */
        v = cpu->gpr[insn->rm] & x86_size_mask(ssize);
    }
    if (sx)
        v = x86_sext(v, ssize * 8);
    rset(cpu, insn->reg, size, v);
}

#define MOVX_FN(ss, sx, size, mem) fast_movx_##ss##_##sx##_##size##_##mem
#define DEF_MOVX(ss, sx, size, mem)                                                          \
    static void MOVX_FN(ss, sx, size, mem)(struct x86_cpu *cpu, const struct x86_insn *insn) \
    {                                                                                        \
        movx(cpu, insn, ss, sx, size, mem);                                                  \
    }
#define DEF_MOVX_ALL(ss, sx) \
    DEF_MOVX(ss, sx, 4, 0) DEF_MOVX(ss, sx, 4, 1) DEF_MOVX(ss, sx, 8, 0) DEF_MOVX(ss, sx, 8, 1)
DEF_MOVX_ALL(1, 0)
DEF_MOVX_ALL(2, 0)
DEF_MOVX_ALL(1, 1)
DEF_MOVX_ALL(2, 1)
DEF_MOVX(4, 1, 8, 0)
DEF_MOVX(4, 1, 8, 1)
#define MOVX_ROW(ss, sx) \
    { { MOVX_FN(ss, sx, 4, 0), MOVX_FN(ss, sx, 4, 1) }, { MOVX_FN(ss, sx, 8, 0), MOVX_FN(ss, sx, 8, 1) } }
/* [0F B6 B7 BE BF][size 4/8][mem] */
static const x86_exec_fn movx_fns[4][2][2] = {
    MOVX_ROW(1, 0), MOVX_ROW(2, 0), MOVX_ROW(1, 1), MOVX_ROW(2, 1),
};

/* ---------------------------------------------------------------- shifts by immediate */

enum { SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

/**
 * SHL/SHR/SAR of a 4/8-byte register by an immediate count (C1 /4 /5 /7 Ib,
 * D1 /4 /5 /7): the lazy record of ops_shift.c; a masked count of 0 only
 * rewrites the register (zero-extending a 32-bit one) and keeps the flags.
 */
static forceinline void shift_imm(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned op,
                                  unsigned size, bool one)
{
    unsigned count = one ? 1 : (unsigned)(insn->imm & (size == 8 ? 0x3f : 0x1f));
    uint64_t m = szmask(size);
    uint64_t a = cpu->gpr[insn->rm] & m, r, s1;
    if (!one && unlikely(count == 0)) {
        rset(cpu, insn->rm, size, a);
        return;
    }
    switch (op) {
    case SH_SHL:
        s1 = a << (count - 1);
        r = (a << count) & m;
        cpu->cc.op = CC_OP_SHL;
        break;
    case SH_SHR:
        s1 = a >> (count - 1);
        r = a >> count;
        cpu->cc.op = CC_OP_SHR;
        break;
    default: {
        int64_t s = size == 8 ? (int64_t)a : (int64_t)(int32_t)a;
        s1 = (uint64_t)(s >> (count - 1));
        r = (uint64_t)(s >> count) & m;
        cpu->cc.op = CC_OP_SAR;
        break;
    }
    }
    rset(cpu, insn->rm, size, r);
    cpu->cc.size = (uint8_t)size;
    cpu->cc.aux = 0;
    cpu->cc.src1 = s1;
    cpu->cc.src2 = count;
    cpu->cc.res = r;
}

#define SH_FN(op, size, one) fast_shift_##op##_##size##_##one
#define DEF_SH(op, size, one)                                                           \
    static void SH_FN(op, size, one)(struct x86_cpu *cpu, const struct x86_insn *insn)  \
    {                                                                                   \
        shift_imm(cpu, insn, op, size, one);                                            \
    }
#define DEF_SH_ALL(op) DEF_SH(op, 4, 0) DEF_SH(op, 4, 1) DEF_SH(op, 8, 0) DEF_SH(op, 8, 1)
DEF_SH_ALL(SH_SHL)
DEF_SH_ALL(SH_SHR)
DEF_SH_ALL(SH_SAR)
#define SH_ROW(op) { { SH_FN(op, 4, 0), SH_FN(op, 4, 1) }, { SH_FN(op, 8, 0), SH_FN(op, 8, 1) } }
/* [SHL SHR SAR][size 4/8][count 1] */
static const x86_exec_fn shift_fns[3][2][2] = { SH_ROW(SH_SHL), SH_ROW(SH_SHR), SH_ROW(SH_SAR) };

/**
 * The six arithmetic flags as RFLAGS bits, with the states rotates usually
 * follow (another rotate: materialised; a logic instruction) inline.
 */
static forceinline uint64_t arith_flags(struct x86_cpu *cpu)
{
    const struct x86_cc *c = &cpu->cc;
    if (c->op == CC_OP_EFLAGS)
        return c->src1 & X86_FLAGS_ARITH;
    if (c->op == CC_OP_LOGIC && c->size) {
        unsigned sh = 64 - c->size * 8u;
        int64_t res = (int64_t)(c->res << sh);
        return x86_pf_of(c->res) | (res == 0 ? X86_FLAG_ZF : 0) | (res < 0 ? X86_FLAG_SF : 0);
    }
    return x86_arith_flags(cpu);
}

enum { RO_ROL = 0, RO_ROR = 1 };

/**
 * ROL/ROR of a 4/8-byte register by an immediate count (C1 /0 /1 Ib, D1 /0
 * /1), as ops_shift.c: only CF and OF change (SDM Vol. 2B RCL/RCL/ROL/ROR
 * "Flags Affected"; OF from the count-1 formula for every count, the
 * project's undefined-flag policy); a masked count of 0 changes no flags.
 */
static forceinline void rotate_imm(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned op,
                                   unsigned size, bool one)
{
    unsigned bits = size * 8;
    unsigned count = one ? 1 : (unsigned)(insn->imm & (size == 8 ? 0x3f : 0x1f));
    uint64_t a = rget(cpu, insn->rm, size), r;
    if (!one && unlikely(count == 0)) {
        rset(cpu, insn->rm, size, a);
        return;
    }
    uint64_t f = arith_flags(cpu) & ~(X86_FLAG_CF | X86_FLAG_OF);
    bool cf, of;
    if (op == RO_ROL) {
        r = ((a << count) | (a >> (bits - count))) & szmask(size);
        cf = r & 1;
        of = ((r >> (bits - 1)) & 1) ^ cf;
    } else {
        r = ((a >> count) | (a << (bits - count))) & szmask(size);
        cf = (r >> (bits - 1)) & 1;
        of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
    }
    rset(cpu, insn->rm, size, r);
    cpu->cc.op = CC_OP_EFLAGS;
    cpu->cc.size = 8;
    cpu->cc.res = 0;
    cpu->cc.src2 = count;
    cpu->cc.aux = 0;
    cpu->cc.src1 = f | (cf ? X86_FLAG_CF : 0) | (of ? X86_FLAG_OF : 0);
}

#define RO_FN(op, size, one) fast_rotate_##op##_##size##_##one
#define DEF_RO(op, size, one)                                                           \
    static void RO_FN(op, size, one)(struct x86_cpu *cpu, const struct x86_insn *insn)  \
    {                                                                                   \
        rotate_imm(cpu, insn, op, size, one);                                           \
    }
DEF_RO(RO_ROL, 4, 0) DEF_RO(RO_ROL, 4, 1) DEF_RO(RO_ROL, 8, 0) DEF_RO(RO_ROL, 8, 1)
DEF_RO(RO_ROR, 4, 0) DEF_RO(RO_ROR, 4, 1) DEF_RO(RO_ROR, 8, 0) DEF_RO(RO_ROR, 8, 1)
/* [ROL ROR][size 4/8][count 1] */
static const x86_exec_fn rotate_fns[2][2][2] = {
    { { RO_FN(RO_ROL, 4, 0), RO_FN(RO_ROL, 4, 1) }, { RO_FN(RO_ROL, 8, 0), RO_FN(RO_ROL, 8, 1) } },
    { { RO_FN(RO_ROR, 4, 0), RO_FN(RO_ROR, 4, 1) }, { RO_FN(RO_ROR, 8, 0), RO_FN(RO_ROR, 8, 1) } },
};

/* ---------------------------------------------------------------- Jcc, JMP, CALL, RET, PUSH, POP */

/**
 * Condition @cc (SDM Vol. 2 Appendix B.1.4.7) with the lazy states of CMP/SUB
 * and the logic instructions inline; everything else through x86_cond.
 */
static forceinline bool cond(struct x86_cpu *cpu, unsigned cc)
{
    const struct x86_cc *c = &cpu->cc;
    unsigned base = cc >> 1;
    if (c->op == CC_OP_SUB && (base == 1 || base == 2 || base == 3 || base == 6 || base == 7)) {
        unsigned sh = 64 - c->size * 8u;
        uint64_t a = c->src1 << sh, b = c->src2 << sh;   /* compare at full width */
        bool r;
        switch (base) {
        case 1: r = a < b; break;
        case 2: r = a == b; break;
        case 3: r = a <= b; break;
        case 6: r = (int64_t)a < (int64_t)b; break;
        default: r = (int64_t)a <= (int64_t)b; break;
        }
        return r ^ (cc & 1);
    }
    if (c->op == CC_OP_LOGIC && (base == 2 || base == 4)) {
        unsigned sh = 64 - c->size * 8u;
        int64_t res = (int64_t)(c->res << sh);
        return (base == 2 ? res == 0 : res < 0) ^ (cc & 1);
    }
    return x86_cond(cpu, cc);
}

/** Near branch target in 64-bit mode: #GP(0) (through the generic handler) if not canonical. */
static forceinline bool canonical(const struct x86_cpu *cpu, uint64_t t)
{
    return x86_is_canonical(cpu, t);
}

#define JCC_FN(cc) fast_jcc_##cc
#define DEF_JCC(cc)                                                                      \
    static void JCC_FN(cc)(struct x86_cpu *cpu, const struct x86_insn *insn)             \
    {                                                                                    \
        if (cond(cpu, cc)) {                                                             \
            uint64_t t = cpu->next_rip + insn->imm;                                      \
            if (unlikely(!canonical(cpu, t))) {                                          \
                slow(cpu, insn);                                                         \
                return;                                                                  \
            }                                                                            \
            cpu->next_rip = t;                                                           \
        }                                                                                \
    }
DEF_JCC(0) DEF_JCC(1) DEF_JCC(2) DEF_JCC(3) DEF_JCC(4) DEF_JCC(5) DEF_JCC(6) DEF_JCC(7)
DEF_JCC(8) DEF_JCC(9) DEF_JCC(10) DEF_JCC(11) DEF_JCC(12) DEF_JCC(13) DEF_JCC(14) DEF_JCC(15)
static const x86_exec_fn jcc_fns[16] = {
    JCC_FN(0), JCC_FN(1), JCC_FN(2),  JCC_FN(3),  JCC_FN(4),  JCC_FN(5),  JCC_FN(6),  JCC_FN(7),
    JCC_FN(8), JCC_FN(9), JCC_FN(10), JCC_FN(11), JCC_FN(12), JCC_FN(13), JCC_FN(14), JCC_FN(15),
};

/** JMP rel8/rel32 (EB E9) in 64-bit mode. */
static void fast_jmp_rel(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t t = cpu->next_rip + insn->imm;
    if (unlikely(!canonical(cpu, t))) {
        slow(cpu, insn);
        return;
    }
    cpu->next_rip = t;
}

/** Push 8 bytes in 64-bit mode (SS base ignored); false: fast path not taken, nothing changed. */
static forceinline bool push64(struct x86_cpu *cpu, uint64_t v)
{
    uint64_t sp = cpu->gpr[X86_RSP] - 8;
    uintptr_t h = tlb_host(cpu, sp, 8, true);
    if (unlikely(!h))
        return false;
    host_store(h, v, 8);
    cpu->gpr[X86_RSP] = sp;
    return true;
}

/** CALL rel32 (E8) in 64-bit mode: target checked before the push, as the generic code. */
static void fast_call_rel(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t t = cpu->next_rip + insn->imm;
    if (unlikely(!canonical(cpu, t)) || unlikely(!push64(cpu, cpu->next_rip))) {
        slow(cpu, insn);
        return;
    }
    cpu->next_rip = t;
}

/** RET (C3) in 64-bit mode. */
static void fast_ret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t sp = cpu->gpr[X86_RSP];
    uintptr_t h = tlb_host(cpu, sp, 8, false);
    if (unlikely(!h)) {
        slow(cpu, insn);
        return;
    }
    uint64_t t = host_load(h, 8);
    if (unlikely(!canonical(cpu, t))) {
        slow(cpu, insn);
        return;
    }
    cpu->gpr[X86_RSP] = sp + 8;
    cpu->next_rip = t;
}

/** PUSH r64 (50+r): PUSH RSP pushes the value before the push. */
static void fast_push_r(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (unlikely(!push64(cpu, cpu->gpr[insn->rm])))
        slow(cpu, insn);
}

/** POP r64 (58+r): POP RSP loads the popped value into RSP. */
static void fast_pop_r(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t sp = cpu->gpr[X86_RSP];
    uintptr_t h = tlb_host(cpu, sp, 8, false);
    if (unlikely(!h)) {
        slow(cpu, insn);
        return;
    }
    uint64_t v = host_load(h, 8);
    cpu->gpr[X86_RSP] = sp + 8;
    cpu->gpr[insn->rm] = v;
}

/* ---------------------------------------------------------------- IMUL, CMOVcc, SETcc */

/**
 * IMUL Gv, Ev (0F AF) and IMUL Gv, Ev, Ib/Iz (6B 69) at 4/8 bytes, register
 * or memory source: the truncated signed product; the lazy record of
 * ops_muldiv.c (CC_OP_IMUL, src1 = 1 if the product did not fit).
 */
static forceinline void imul(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                             bool imm, bool mem)
{
    uint64_t b;
    if (mem) {
        uintptr_t h = tlb_host(cpu, lin64(cpu, insn), size, false);
        if (unlikely(!h)) {
            slow(cpu, insn);
            return;
        }
        b = host_load(h, size);
    } else {
        b = cpu->gpr[insn->rm];
    }
    uint64_t a = imm ? insn->imm : cpu->gpr[insn->reg], r;
    bool ovf;
    if (size == 8) {
        int64_t p;
        ovf = __builtin_mul_overflow((int64_t)a, (int64_t)b, &p);
        r = (uint64_t)p;
    } else {
        int32_t p;
        ovf = __builtin_mul_overflow((int32_t)a, (int32_t)b, &p);
        r = (uint32_t)p;
    }
    rset(cpu, insn->reg, size, r);
    cpu->cc.op = CC_OP_IMUL;
    cpu->cc.size = (uint8_t)size;
    cpu->cc.res = r;
    cpu->cc.src1 = ovf;
    cpu->cc.src2 = 0;
}

#define IMUL_FN(size, imm, mem) fast_imul_##size##_##imm##_##mem
#define DEF_IMUL(size, imm, mem)                                                            \
    static void IMUL_FN(size, imm, mem)(struct x86_cpu *cpu, const struct x86_insn *insn)   \
    {                                                                                       \
        imul(cpu, insn, size, imm, mem);                                                    \
    }
DEF_IMUL(4, 0, 0) DEF_IMUL(4, 0, 1) DEF_IMUL(4, 1, 0) DEF_IMUL(4, 1, 1)
DEF_IMUL(8, 0, 0) DEF_IMUL(8, 0, 1) DEF_IMUL(8, 1, 0) DEF_IMUL(8, 1, 1)
/* [size 4/8][imm][mem] */
static const x86_exec_fn imul_fns[2][2][2] = {
    { { IMUL_FN(4, 0, 0), IMUL_FN(4, 0, 1) }, { IMUL_FN(4, 1, 0), IMUL_FN(4, 1, 1) } },
    { { IMUL_FN(8, 0, 0), IMUL_FN(8, 0, 1) }, { IMUL_FN(8, 1, 0), IMUL_FN(8, 1, 1) } },
};

/**
 * CMOVcc Gv, Ev (0F 40-4F) with a register source at 4/8 bytes: a 32-bit
 * destination is zero-extended even when the condition is false (SDM Vol. 2A
 * CMOVcc, as ops_mov.c).
 */
static forceinline void cmov(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned cc,
                             unsigned size)
{
    if (cond(cpu, cc))
        rset(cpu, insn->reg, size, cpu->gpr[insn->rm]);
    else if (size == 4)
        cpu->gpr[insn->reg] &= 0xffffffffull;
}

/** SETcc Eb (0F 90-9F) on a byte register that is not AH..BH. */
static forceinline void setcc(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned cc)
{
    cpu->gpr[insn->rm] = (cpu->gpr[insn->rm] & ~0xffull) | (cond(cpu, cc) ? 1 : 0);
}

#define CC_FNS(cc)                                                                        \
    static void fast_cmov4_##cc(struct x86_cpu *cpu, const struct x86_insn *insn)        \
    {                                                                                     \
        cmov(cpu, insn, cc, 4);                                                           \
    }                                                                                     \
    static void fast_cmov8_##cc(struct x86_cpu *cpu, const struct x86_insn *insn)        \
    {                                                                                     \
        cmov(cpu, insn, cc, 8);                                                           \
    }                                                                                     \
    static void fast_setcc_##cc(struct x86_cpu *cpu, const struct x86_insn *insn)        \
    {                                                                                     \
        setcc(cpu, insn, cc);                                                             \
    }
CC_FNS(0) CC_FNS(1) CC_FNS(2) CC_FNS(3) CC_FNS(4) CC_FNS(5) CC_FNS(6) CC_FNS(7)
CC_FNS(8) CC_FNS(9) CC_FNS(10) CC_FNS(11) CC_FNS(12) CC_FNS(13) CC_FNS(14) CC_FNS(15)
#define CC_ROW(kind) { kind##_0, kind##_1, kind##_2, kind##_3, kind##_4, kind##_5, kind##_6,    \
                       kind##_7, kind##_8, kind##_9, kind##_10, kind##_11, kind##_12,           \
                       kind##_13, kind##_14, kind##_15 }
static const x86_exec_fn cmov_fns[2][16] = { CC_ROW(fast_cmov4), CC_ROW(fast_cmov8) };
static const x86_exec_fn setcc_fns[16] = CC_ROW(fast_setcc);

/* ---------------------------------------------------------------- selection */

/** True if the memory operand takes the fast EA path (64-bit address size, no VEX). */
static bool mem_ok(const struct x86_insn *insn, unsigned mode)
{
    return mode == X86_MODE_64 && insn->addrsize == 8;
}

x86_exec_fn x86_fast_lookup(const struct x86_insn *insn, unsigned mode)
{
    x86_exec_fn generic = x86_exec_lookup(insn);
    unsigned f = insn->flags;
    if (f & (X86_INSN_VEX | X86_INSN_LOCK))
        return generic;
    unsigned map = insn->op >> 8, byte = insn->op & 0xff, size = insn->opsize;
    bool mem = f & X86_INSN_MEM;
    bool sz48 = size == 4 || size == 8;
    unsigned si = size == 8;
    unsigned digit = x86_modrm_digit(insn);

    if (map == X86_MAP_PRIMARY) {
        /* ALU 00-3D (not ADC/SBB: they read CF), forms 1 3 5. */
        if (byte < 0x40 && (byte & 7) <= 5 && (byte & 1) && sz48) {
            unsigned op = byte >> 3;
            if (op == F_ADC || op == F_SBB)
                return generic;
            switch (byte & 7) {
            case 1:
                if (!mem)
                    return alu_fns[FM_RM_REG][op][si];
                return mem_ok(insn, mode) ? alu_fns[FM_MEM_REG][op][si] : generic;
            case 3:
                if (!mem)
                    return alu_fns[FM_REG_RM][op][si];
                return mem_ok(insn, mode) ? alu_fns[FM_REG_MEM][op][si] : generic;
            default:
                return alu_fns[FM_RAX_IMM][op][si];
            }
        }
        /* Group 1 81/83 (82 is #UD in 64-bit mode: generic). */
        if ((byte == 0x81 || byte == 0x83) && sz48) {
            if (digit == F_ADC || digit == F_SBB)
                return generic;
            if (!mem)
                return alu_fns[FM_RM_IMM][digit][si];
            return mem_ok(insn, mode) ? alu_fns[FM_MEM_IMM][digit][si] : generic;
        }
        /* TEST 85 (Ev, Gv), A9 (rAX, Iz), F7 /0 (Ev, Iz). */
        if (byte == 0x85 && sz48) {
            if (!mem)
                return alu_fns[FM_RM_REG][F_TEST][si];
            return mem_ok(insn, mode) ? alu_fns[FM_REG_MEM][F_TEST][si] : generic;
        }
        if (byte == 0xa9 && sz48)
            return alu_fns[FM_RAX_IMM][F_TEST][si];
        if (byte == 0xf7 && digit == 0 && sz48) {
            if (!mem)
                return alu_fns[FM_RM_IMM][F_TEST][si];
            return mem_ok(insn, mode) ? alu_fns[FM_MEM_IMM][F_TEST][si] : generic;
        }
        /* MOV 89 8B, C7 /0, LEA 8D. */
        if ((byte == 0x89 || byte == 0x8b) && sz48) {
            if (!mem)
                return mov_fns[byte == 0x89 ? MV_RM_REG : MV_REG_RM][si];
            if (!mem_ok(insn, mode))
                return generic;
            return mov_fns[byte == 0x89 ? MV_MEM_REG : MV_REG_MEM][si];
        }
        if (byte == 0xc7 && digit == 0 && sz48) {
            if (!mem)
                return mov_fns[MV_RM_IMM][si];
            return mem_ok(insn, mode) ? mov_fns[MV_MEM_IMM][si] : generic;
        }
        if (byte == 0x8d && mem && sz48 && mem_ok(insn, mode))
            return mov_fns[MV_LEA][si];
        /* MOVSXD Gq, Ed (63 with REX.W) in 64-bit mode. */
        /* IMUL Gv, Ev, Iz / Ib. */
        if ((byte == 0x69 || byte == 0x6b) && sz48) {
            if (mem && !mem_ok(insn, mode))
                return generic;
            return imul_fns[si][1][mem];
        }
        if (byte == 0x63 && mode == X86_MODE_64 && size == 8) {
            if (!mem)
                return MOVX_FN(4, 1, 8, 0);
            return mem_ok(insn, mode) ? MOVX_FN(4, 1, 8, 1) : generic;
        }
        /* Shifts by immediate / by 1 on a register. */
        if ((byte == 0xc1 || byte == 0xd1) && !mem && sz48 &&
            (digit == SH_SHL || digit == SH_SHR || digit == SH_SAR)) {
            unsigned k = digit == SH_SHL ? 0 : digit == SH_SHR ? 1 : 2;
            return shift_fns[k][si][byte == 0xd1];
        }
        if ((byte == 0xc1 || byte == 0xd1) && !mem && sz48 && digit <= 1)
            return rotate_fns[digit][si][byte == 0xd1];
        if (mode != X86_MODE_64)
            return generic;
        /* 64-bit mode control transfers and stack operations. */
        if (byte >= 0x70 && byte <= 0x7f)
            return jcc_fns[byte & 15];
        if (byte == 0xeb || byte == 0xe9)
            return fast_jmp_rel;
        if (byte == 0xe8)
            return fast_call_rel;
        if (byte == 0xc3)
            return fast_ret;
        if (byte >= 0x50 && byte <= 0x57 && size != 2)
            return fast_push_r;
        if (byte >= 0x58 && byte <= 0x5f && size != 2)
            return fast_pop_r;
        return generic;
    }
    if (map == X86_MAP_0F) {
        if (byte >= 0x80 && byte <= 0x8f && mode == X86_MODE_64)
            return jcc_fns[byte & 15];
        if (byte == 0xaf && sz48) {
            if (mem && !mem_ok(insn, mode))
                return generic;
            return imul_fns[si][0][mem];
        }
        if (byte >= 0x40 && byte <= 0x4f && sz48 && !mem)
            return cmov_fns[si][byte & 15];
        if (byte >= 0x90 && byte <= 0x9f && !mem && ((f & X86_INSN_REX) || insn->rm < 4))
            return setcc_fns[byte & 15];
        /* MOVZX/MOVSX: a byte register source must not be AH..BH. */
        if ((byte == 0xb6 || byte == 0xb7 || byte == 0xbe || byte == 0xbf) && sz48) {
            bool bytesrc = !(byte & 1);
            if (!mem && bytesrc && !(f & X86_INSN_REX) && insn->rm >= 4)
                return generic;
            if (mem && !mem_ok(insn, mode))
                return generic;
            unsigned k = (byte & 1) | ((byte >= 0xbe) << 1);
            return movx_fns[k][si][mem];
        }
    }
    return generic;
}
