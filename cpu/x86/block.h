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
 *
 * Chaining (DESIGN "Blocks chain directly to their successors"): a block
 * remembers up to two successors (fall-through and taken branch) by pointer,
 * and a small direct-mapped jump cache indexed by linear RIP catches
 * indirect branches and returns. A link or jump-cache entry is followed
 * only if its linear RIP, its key (CPL and code mode: what selects the TLB
 * and the decoding) and its generation all match. The generation
 * (x86_block_cache.gen) is bumped on every TLB flush (the linear ->
 * guest-physical translation or exec permission may change), on every
 * block invalidation or cache flush (the target may be a zombie) and before
 * zombies are freed, so a stale pointer is never followed. Interrupts and
 * the attention word are still polled at every block boundary (cpu.c).
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

/** A cached successor of a block (see "Chaining" above). */
struct x86_block_link {
    struct x86_block *to;
    gva_t lin;                    /* linear RIP the successor starts at */
    uint64_t gen;                 /* x86_block_cache.gen when linked */
    uint32_t key;                 /* x86_chain_key() when linked */
};

/** A predecoded guest basic block. */
struct x86_block {
    gpa_t pc_gpa;                 /* guest-physical address of the first instruction */
    uint8_t code_mode;            /* enum x86_code_mode it was decoded in */
    bool valid;                   /* false once invalidated (SMC) */
    bool chainable;               /* cached (not the scratch block): may be linked */
    uint16_t n_insns;
    uint16_t len_bytes;
    uint64_t exec_count;          /* for the JIT's hotness threshold later */
    struct x86_block *hash_next;  /* lookup chain */
    struct x86_block *page_next;  /* chain of blocks in the same page bucket */
    struct x86_block_link link[2];/* successors: [0] first seen, [1] the others */
    struct x86_binsn insns[];
};

#define X86_BCACHE_HASH_BITS 16
#define X86_BCACHE_HASH_SIZE (1u << X86_BCACHE_HASH_BITS)
#define X86_BCACHE_PAGE_BITS 14
#define X86_BCACHE_PAGE_SIZE (1u << X86_BCACHE_PAGE_BITS)
#define X86_BCACHE_JC_BITS 12
#define X86_BCACHE_JC_SIZE (1u << X86_BCACHE_JC_BITS)

/** One jump-cache entry: linear RIP + key + generation -> block. */
struct x86_jc_entry {
    gva_t lin;
    uint64_t gen;
    struct x86_block *to;
    uint64_t key;
};

/** The cache proper: lookup hash, per-page chains, zombies awaiting free, jump cache. */
struct x86_block_cache {
    uint64_t gen;                   /* chaining generation (see "Chaining") */
    struct x86_block *hash[X86_BCACHE_HASH_SIZE];
    struct x86_block *pages[X86_BCACHE_PAGE_SIZE];
    struct x86_block *zombies;      /* linked by hash_next */
    size_t nblocks;
    bool flush_pending;
    /* Scratch block for an instruction that crosses a page boundary. */
    struct x86_block *scratch;
    struct x86_jc_entry jc[X86_BCACHE_JC_SIZE];
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

/**
 * The chaining key of the current state: CPL (selects the TLB, so exec
 * permission) and code mode (selects the decoding).
 */
static inline uint32_t x86_chain_key(const struct x86_cpu *cpu)
{
    return (uint32_t)cpu->cpl | ((uint32_t)cpu->code_mode << 2);
}

/** Linear address of CS:RIP (wraps at 4 GiB outside 64-bit mode). */
static inline gva_t x86_chain_lin(const struct x86_cpu *cpu)
{
    gva_t lin = cpu->seg[X86_CS].base + cpu->rip;
    return cpu->code_mode == X86_MODE_64 ? lin : (lin & 0xffffffffu);
}

/** Jump-cache index of a linear RIP. */
static inline unsigned x86_jc_index(gva_t lin)
{
    return (unsigned)((lin ^ (lin >> X86_BCACHE_JC_BITS) ^ (lin >> 24)) & (X86_BCACHE_JC_SIZE - 1));
}

/** Slow half of x86_block_next(): jump cache miss, lookup, and linking. */
struct x86_block *x86_block_next_slow(struct x86_cpu *cpu, struct x86_block *prev, gva_t lin,
                                      uint32_t key);

/**
 * The block at the current CS:RIP, like x86_block_lookup(), but first
 * through @prev's links (@prev: the block that just ended normally and led
 * here, or NULL) and the jump cache; links @prev to the result. The caller
 * must pass NULL after anything that may have freed blocks
 * (x86_bcache_collect) or changed state without a generation bump.
 */
static inline struct x86_block *x86_block_next(struct x86_cpu *cpu, struct x86_block *prev)
{
    const struct x86_block_cache *bc = cpu->bcache;
    gva_t lin = x86_chain_lin(cpu);
    uint32_t key = x86_chain_key(cpu);
    if (prev) {
        const struct x86_block_link *l = prev->link;
        if (likely(l[0].lin == lin && l[0].gen == bc->gen && l[0].key == key))
            return l[0].to;
        if (likely(l[1].lin == lin && l[1].gen == bc->gen && l[1].key == key))
            return l[1].to;
    }
    return x86_block_next_slow(cpu, prev, lin, key);
}

/**
 * Forget every link and jump-cache entry (bump the generation): the
 * linear -> physical translation or exec permission of code may have
 * changed. Called by x86_tlb_flush / x86_tlb_flush_page.
 */
static inline void x86_bcache_unchain(struct x86_cpu *cpu)
{
    if (cpu->bcache)
        cpu->bcache->gen++;
}

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

/**
 * The handler to predecode for @insn in a block of code mode @mode
 * (enum x86_code_mode): a specialised handler of ops_fast.c for the hottest
 * forms (ALU/TEST/MOV/LEA/MOVZX/MOVSX/shifts at 32/64 bits; Jcc, JMP, CALL,
 * RET, PUSH, POP in 64-bit mode), else x86_exec_lookup(@insn). The result
 * behaves exactly like the generic handler.
 */
x86_exec_fn x86_fast_lookup(const struct x86_insn *insn, unsigned mode);

#endif
