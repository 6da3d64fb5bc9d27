/*
 * cpu/x86/block.h - the predecoded block cache of the x86 interpreter
 * (private to cpu/x86; the JIT will consume the same blocks later).
 *
 * A block is one guest basic block, decoded once: an array of
 * {handler, decoded instruction}. It is keyed by the guest-physical address
 * of its first byte plus the code mode (CS.L/CS.D), so the same code reached
 * through two virtual aliases shares one block and a CR3 switch costs
 * nothing. Blocks never cross a 4 KiB guest page; they end at a branch, an
 * instruction the decoder flags X86_INSN_ENDS_BLOCK, or after
 * X86_BLOCK_MAX_INSNS (STYLE 6).
 *
 * Self-modifying code: every page a block was decoded from is marked in the
 * guest_mem code bitmap; a write to it (CPU store through the TLB slow path,
 * or DMA via gpa_write) calls x86_bcache_invalidate_page(), which unlinks the
 * page's blocks. Unlinked blocks are freed only at the next safe point
 * (x86_bcache_collect), because the block being executed may be among them.
 */
#ifndef QTEMU_CPU_X86_BLOCK_H
#define QTEMU_CPU_X86_BLOCK_H

#include "cpu/x86/x86.h"

#define X86_BLOCK_MAX_INSNS 64

/** One predecoded instruction: the handler chosen at decode time plus operands. */
struct x86_binsn {
    x86_exec_fn fn;
    struct x86_insn insn;
};

/** A predecoded guest basic block. */
struct x86_block {
    gpa_t pc_gpa;                 /* guest-physical address of the first instruction */
    uint8_t code_mode;            /* enum x86_code_mode it was decoded in */
    bool valid;                   /* false once invalidated (SMC) */
    uint16_t n_insns;
    uint16_t len_bytes;
    uint64_t exec_count;          /* for the JIT's hotness threshold later */
    struct x86_block *hash_next;  /* lookup chain */
    struct x86_block *page_next;  /* chain of blocks in the same page bucket */
    struct x86_binsn insns[];
};

/** Allocate the cache. Returns 0 or -ENOMEM. */
int x86_bcache_init(struct x86_cpu *cpu);

/** Free the cache and every block. */
void x86_bcache_destroy(struct x86_cpu *cpu);

/**
 * The block starting at the current CS:RIP, decoding it on a miss. Raises
 * #PF (instruction fetch) through x86_raise_pf if RIP is not executable.
 * Never returns NULL: undecodable bytes become a block whose handler raises
 * #UD / #GP at the right RIP. Instructions that cross a page boundary get a
 * one-instruction uncached block (decoded each time).
 */
struct x86_block *x86_block_lookup(struct x86_cpu *cpu);

/** Invalidate every block decoded from the guest page at @page_gpa. */
void x86_bcache_invalidate_page(struct x86_cpu *cpu, gpa_t page_gpa);

/** Invalidate every block (e.g. after a mode-independent global change). */
void x86_bcache_flush(struct x86_cpu *cpu);

/** Free blocks invalidated earlier: call only when no block is executing. */
void x86_bcache_collect(struct x86_cpu *cpu);

/** The handler table (filled once from every instruction group's init). */
extern x86_exec_fn x86_exec_table[X86_OP_COUNT];

/** Handlers of VEX-encoded instructions, same index (filled by x86_ops_vex_init). */
extern x86_exec_fn x86_vex_table[X86_OP_COUNT];

/** The handler of a decoded instruction: VEX encodings have their own table. */
static inline x86_exec_fn x86_exec_lookup(const struct x86_insn *insn)
{
    return (insn->flags & X86_INSN_VEX) ? x86_vex_table[insn->op] : x86_exec_table[insn->op];
}

#endif
