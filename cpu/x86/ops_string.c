/*
 * cpu/x86/ops_string.c - string instructions MOVS CMPS STOS LODS SCAS INS OUTS
 * (A4-A7, AA-AF, 6C-6F) with REP/REPE/REPNE (SDM Vol. 2B, "REP/REPE/REPZ/
 * REPNE/REPNZ", Vol. 1 7.3.9).
 *
 * Addressing: source DS:rSI (segment override allowed), destination ES:rDI
 * (never overridden); rSI/rDI/rCX are used and updated at the address size
 * (SI/ESI/RSI; a 32-bit update zero-extends). DF selects the direction.
 *
 * Restartable REP: every element is completed (registers updated) before the
 * next one starts, so a fault mid-string leaves rCX/rSI/rDI describing the
 * remaining work with RIP at the instruction (SDM Vol. 1 7.3.9.2). One call
 * runs at most STRING_BUDGET elements; if work remains next_rip = rip so the
 * run loop re-executes it (and may take an interrupt in between, as hardware
 * does between iterations, with RF = 1 in the pushed image: str_yield).
 *
 * Fast path: REP MOVS / REP STOS with DF = 0 move whole runs that stay in one
 * page on each side directly between host pointers when both pages have fast
 * software-TLB entries (RAM; the write tag excludes code pages, so
 * self-modifying stores still take mem.c's slow path). A chunk cannot fault,
 * so it is a valid intermediate state of the element loop. Overlapping MOVS
 * where the destination is just above the source is cut at the distance so
 * the result equals the element-by-element forward copy.
 *
 * Debug: an element that hits a data or I/O breakpoint ends the call after
 * its iteration (str_debug_stop), so the #DB trap sees the registers of the
 * next iteration and RIP at the instruction when elements remain.
 */
#include <string.h>

#include "cpu/x86/ops_int.h"

#define STRING_BUDGET 4096u

/** Per-instruction addressing context. */
struct str_ctx {
    unsigned size;   /* element size */
    unsigned as;     /* address size */
    uint64_t am;     /* address-size mask */
    int64_t step;    /* +size or -size (DF) */
    bool rep;
};

static inline void str_ctx_init(struct x86_cpu *cpu, const struct x86_insn *insn, struct str_ctx *c)
{
    c->size = insn->opsize;
    c->as = insn->addrsize;
    c->am = x86_size_mask(c->as);
    c->step = (cpu->rflags & X86_FLAG_DF) ? -(int64_t)c->size : (int64_t)c->size;
    c->rep = insn->flags & (X86_INSN_REP | X86_INSN_REPNE);
}

/** Advance index register @reg by @delta at the address size. */
static inline void str_adv(struct x86_cpu *cpu, const struct str_ctx *c, unsigned reg, int64_t delta)
{
    x86_reg_write(cpu, reg, c->as, false, cpu->gpr[reg] + (uint64_t)delta);
}

static inline uint64_t str_count(const struct x86_cpu *cpu, const struct str_ctx *c)
{
    return cpu->gpr[X86_RCX] & c->am;
}

static inline void str_set_count(struct x86_cpu *cpu, const struct str_ctx *c, uint64_t n)
{
    x86_reg_write(cpu, X86_RCX, c->as, false, n);
}

/** One element done: decrement the count, and rCX too under REP (SDM Vol. 2B REP). */
static inline void str_retire(struct x86_cpu *cpu, const struct str_ctx *c, uint64_t *count)
{
    (*count)--;
    if (c->rep)
        str_set_count(cpu, c, *count);
}

/**
 * Stop between iterations with elements left: re-execute the instruction
 * (restartable REP). RF is set so that an NMI or external interrupt taken
 * before the next slice pushes RF = 1 (SDM Vol. 3B 18.3.1.1: "for any
 * interrupt arriving after any iteration of a repeated string instruction
 * but the last iteration, the value pushed for RF is 1"); the run loop
 * clears it again before the next slice unless an instruction breakpoint
 * needs it (cpu.c).
 */
static inline void str_yield(struct x86_cpu *cpu)
{
    cpu->next_rip = cpu->rip;
    cpu->rflags |= X86_FLAG_RF;
}

/** Budget used up with elements left: re-execute the instruction. */
static inline void str_yield_if_unfinished(struct x86_cpu *cpu, const struct str_ctx *c, uint64_t count)
{
    if (c->rep && count)
        str_yield(cpu);
}

/**
 * An element hit a data or I/O breakpoint (cpu.c records it in dr_hits) or a
 * debugger watchpoint: stop after this iteration, so the #DB trap comes
 * between iterations with rCX/rSI/rDI of the next one (SDM Vol. 3B 18.3.1.2).
 */
static inline bool str_debug_stop(const struct x86_cpu *cpu)
{
    return unlikely(cpu->dr_hits | cpu->dbg_hit);
}

/** Linear address of source element (seg:rSI). */
static inline gva_t src_lin(struct x86_cpu *cpu, const struct x86_insn *insn, const struct str_ctx *c,
                            unsigned len)
{
    return x86_linear(cpu, insn->seg, cpu->gpr[X86_RSI] & c->am, len, MMU_READ);
}

/** Linear address of destination element (ES:rDI). */
static inline gva_t dst_lin(struct x86_cpu *cpu, const struct str_ctx *c, unsigned len,
                            enum mmu_access acc)
{
    return x86_linear(cpu, X86_ES, cpu->gpr[X86_RDI] & c->am, len, acc);
}

/**
 * Bytes (a multiple of @size) of a forward run starting at offset @off that
 * stay inside one page and do not wrap the address size.
 */
static inline uint64_t run_room(gva_t lin, uint64_t off, uint64_t am)
{
    uint64_t page = GUEST_PAGE_SIZE - (lin & (GUEST_PAGE_SIZE - 1));
    uint64_t wrap = am - off + 1;   /* 0 when am is ~0 and off is 0: no limit */
    if (wrap && wrap < page)
        return wrap;
    return page;
}

/**
 * Host pointer for linear @lin if the software TLB has a fast (RAM, not code
 * for writes) entry for its page and access kind, else NULL (STYLE 3).
 */
static inline uint8_t *tlb_host(struct x86_cpu *cpu, gva_t lin, bool write)
{
    const struct tlb_entry *e = &cpu->tlb[cpu->cpl == 3].e[tlb_index(lin)];
    uint64_t tag = write ? e->tag_write : e->tag_read;
    if (tag != (lin & GUEST_PAGE_MASK))
        return NULL;
    return (uint8_t *)(uintptr_t)(lin + e->addend);
}

/**
 * Fast path for REP MOVS/STOS with DF = 0: when both pages are RAM with fast
 * TLB entries, copy the run that stays inside both pages directly between host
 * pointers. Returns the number of elements done (0 = use the element loop,
 * which also fills the TLB for the next call).
 */
static uint64_t fast_chunk(struct x86_cpu *cpu, const struct x86_insn *insn, const struct str_ctx *c,
                           uint64_t count, bool movs)
{
    uint64_t doff = cpu->gpr[X86_RDI] & c->am;
    gva_t dl = x86_linear(cpu, X86_ES, doff, c->size, MMU_WRITE);
    uint64_t room = run_room(dl, doff, c->am);
    uint8_t *dh = tlb_host(cpu, dl, true), *sh = NULL;
    if (!dh)
        return 0;
    gva_t sl = 0;
    uint64_t soff = 0;
    if (movs) {
        soff = cpu->gpr[X86_RSI] & c->am;
        sl = x86_linear(cpu, insn->seg, soff, c->size, MMU_READ);
        sh = tlb_host(cpu, sl, false);
        if (!sh)
            return 0;
        room = MIN(room, run_room(sl, soff, c->am));
        uint64_t dist = dl - sl;   /* destination just above the source: cut at the distance */
        if (dl > sl && dist < room)
            room = dist;
    }
    uint64_t n = MIN(count, room / c->size);
    if (n < 2)
        return 0;
    size_t bytes = (size_t)(n * c->size);
    /* segment limit checks for the whole run (no-ops in 64-bit mode) */
    if (!x86_long64(cpu)) {
        x86_linear(cpu, X86_ES, doff, (unsigned)bytes, MMU_WRITE);
        if (movs)
            x86_linear(cpu, insn->seg, soff, (unsigned)bytes, MMU_READ);
    }
    if (movs) {
        memmove(dh, sh, bytes);
    } else if (c->size == 1) {
        memset(dh, (int)(cpu->gpr[X86_RAX] & 0xff), bytes);
    } else {
        uint64_t v = cpu->gpr[X86_RAX];
        for (size_t i = 0; i < bytes; i += c->size)
            memcpy(dh + i, &v, c->size);
    }
    if (movs)
        str_adv(cpu, c, X86_RSI, (int64_t)bytes);
    str_adv(cpu, c, X86_RDI, (int64_t)bytes);
    return n;
}

/** MOVS (A4 A5) and STOS (AA AB). */
static void op_movs_stos(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    struct str_ctx c;
    str_ctx_init(cpu, insn, &c);
    bool movs = (insn->op & 0xff) <= 0xa5;
    uint64_t count = c.rep ? str_count(cpu, &c) : 1;
    unsigned budget = STRING_BUDGET;

    while (count && budget) {
        if (c.rep && c.step > 0 && count >= 2) {
            uint64_t n = fast_chunk(cpu, insn, &c, count, movs);
            if (n) {
                count -= n;
                str_set_count(cpu, &c, count);
                budget = budget > n ? budget - (unsigned)n : 0;
                continue;
            }
        }
        uint64_t v = movs ? x86_read_sized(cpu, src_lin(cpu, insn, &c, c.size), c.size)
                          : cpu->gpr[X86_RAX];
        x86_write_sized(cpu, dst_lin(cpu, &c, c.size, MMU_WRITE), v, c.size);
        if (movs)
            str_adv(cpu, &c, X86_RSI, c.step);
        str_adv(cpu, &c, X86_RDI, c.step);
        str_retire(cpu, &c, &count);
        budget--;
        if (str_debug_stop(cpu))
            break;
    }
    str_yield_if_unfinished(cpu, &c, count);
}

/** LODS (AC AD): rAX = [seg:rSI]. */
static void op_lods(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    struct str_ctx c;
    str_ctx_init(cpu, insn, &c);
    uint64_t count = c.rep ? str_count(cpu, &c) : 1;
    unsigned budget = STRING_BUDGET;
    while (count && budget) {
        uint64_t v = x86_read_sized(cpu, src_lin(cpu, insn, &c, c.size), c.size);
        x86_reg_write(cpu, X86_RAX, c.size, false, v);
        str_adv(cpu, &c, X86_RSI, c.step);
        str_retire(cpu, &c, &count);
        budget--;
        if (str_debug_stop(cpu))
            break;
    }
    str_yield_if_unfinished(cpu, &c, count);
}

/**
 * CMPS (A6 A7: flags of [seg:rSI] - ES:[rDI]) and SCAS (AE AF: rAX - ES:[rDI]).
 * F3 = REPE (stop when ZF = 0), F2 = REPNE (stop when ZF = 1).
 */
static void op_cmps_scas(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    struct str_ctx c;
    str_ctx_init(cpu, insn, &c);
    bool cmps = (insn->op & 0xff) <= 0xa7;
    bool repne = insn->flags & X86_INSN_REPNE;
    /* with both prefixes the last one wins; mprefix tells which */
    if ((insn->flags & X86_INSN_REP) && (insn->flags & X86_INSN_REPNE))
        repne = insn->mprefix == X86_PFX_F2;
    uint64_t m = x86_size_mask(c.size);
    uint64_t count = c.rep ? str_count(cpu, &c) : 1;
    unsigned budget = STRING_BUDGET;
    bool stop = false;

    while (count && budget) {
        uint64_t a = cmps ? x86_read_sized(cpu, src_lin(cpu, insn, &c, c.size), c.size)
                          : cpu->gpr[X86_RAX] & m;
        uint64_t b = x86_read_sized(cpu, dst_lin(cpu, &c, c.size, MMU_READ), c.size);
        if (cmps)
            str_adv(cpu, &c, X86_RSI, c.step);
        str_adv(cpu, &c, X86_RDI, c.step);
        str_retire(cpu, &c, &count);
        x86_set_cc(cpu, CC_OP_SUB, c.size, (a - b) & m, a, b);
        budget--;
        if (c.rep && ((a == b) == repne)) {
            stop = true;
            break;
        }
        if (str_debug_stop(cpu))
            break;
    }
    if (c.rep && count && !stop)
        str_yield(cpu);
}

/** INS (6C 6D): ES:[rDI] = port DX. The destination is probed before the port is read. */
static void op_ins(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    struct str_ctx c;
    str_ctx_init(cpu, insn, &c);
    uint64_t count = c.rep ? str_count(cpu, &c) : 1;
    unsigned budget = STRING_BUDGET;
    uint16_t port = (uint16_t)cpu->gpr[X86_RDX];
    while (count && budget) {
        gva_t lin = dst_lin(cpu, &c, c.size, MMU_WRITE);
        x86_probe_write(cpu, lin, c.size);
        uint64_t v = x86_io_in(cpu, port, c.size);
        x86_write_sized(cpu, lin, v, c.size);
        str_adv(cpu, &c, X86_RDI, c.step);
        str_retire(cpu, &c, &count);
        budget--;
        if (str_debug_stop(cpu))
            break;
    }
    str_yield_if_unfinished(cpu, &c, count);
}

/** OUTS (6E 6F): port DX = [seg:rSI]. */
static void op_outs(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_no_lock(cpu, insn);
    struct str_ctx c;
    str_ctx_init(cpu, insn, &c);
    uint64_t count = c.rep ? str_count(cpu, &c) : 1;
    unsigned budget = STRING_BUDGET;
    uint16_t port = (uint16_t)cpu->gpr[X86_RDX];
    while (count && budget) {
        uint64_t v = x86_read_sized(cpu, src_lin(cpu, insn, &c, c.size), c.size);
        x86_io_out(cpu, port, (uint32_t)v, c.size);
        str_adv(cpu, &c, X86_RSI, c.step);
        str_retire(cpu, &c, &count);
        budget--;
        if (str_debug_stop(cpu))
            break;
    }
    str_yield_if_unfinished(cpu, &c, count);
}

/** Register the string instructions. */
void x86_ops_string_init(x86_exec_fn *table)
{
    table[X86_OP(X86_MAP_PRIMARY, 0xa4)] = op_movs_stos;
    table[X86_OP(X86_MAP_PRIMARY, 0xa5)] = op_movs_stos;
    table[X86_OP(X86_MAP_PRIMARY, 0xaa)] = op_movs_stos;
    table[X86_OP(X86_MAP_PRIMARY, 0xab)] = op_movs_stos;
    table[X86_OP(X86_MAP_PRIMARY, 0xac)] = op_lods;
    table[X86_OP(X86_MAP_PRIMARY, 0xad)] = op_lods;
    table[X86_OP(X86_MAP_PRIMARY, 0xa6)] = op_cmps_scas;
    table[X86_OP(X86_MAP_PRIMARY, 0xa7)] = op_cmps_scas;
    table[X86_OP(X86_MAP_PRIMARY, 0xae)] = op_cmps_scas;
    table[X86_OP(X86_MAP_PRIMARY, 0xaf)] = op_cmps_scas;
    table[X86_OP(X86_MAP_PRIMARY, 0x6c)] = op_ins;
    table[X86_OP(X86_MAP_PRIMARY, 0x6d)] = op_ins;
    table[X86_OP(X86_MAP_PRIMARY, 0x6e)] = op_outs;
    table[X86_OP(X86_MAP_PRIMARY, 0x6f)] = op_outs;
}
