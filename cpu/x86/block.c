/*
 * cpu/x86/block.c - predecoded block cache (see block.h for the design).
 *
 * Lookup: CS:RIP -> linear -> guest-physical through the exec tag of the
 * software TLB (slow path: x86_fetch_code, which walks the page tables and
 * may raise #PF), then a hash table keyed by (gpa, code mode).
 *
 * Build: the bytes come straight from guest RAM through gpa_map (no copy);
 * each instruction is decoded once and its handler chosen from
 * x86_exec_table, so the hot loop never decodes (DESIGN "decode once,
 * execute many").
 *
 * Decided: when the cache holds more than X86_BCACHE_MAX_BLOCKS blocks it is
 * flushed wholesale at the next safe point (simple, and rare: Linux boots
 * with ~20-40k distinct blocks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86/block.h"
#include "util/disas.h"
#include "util/log.h"

#define X86_BCACHE_MAX_BLOCKS 200000

x86_exec_fn x86_exec_table[X86_OP_COUNT];
x86_exec_fn x86_vex_table[X86_OP_COUNT];

static inline unsigned hash_index(gpa_t gpa, unsigned mode)
{
    uint64_t h = (gpa ^ ((uint64_t)mode << 62)) * 0x9E3779B97F4A7C15ull;
    return (unsigned)(h >> (64 - X86_BCACHE_HASH_BITS));
}

static inline unsigned page_index(gpa_t gpa)
{
    return (unsigned)((gpa >> GUEST_PAGE_SHIFT) & (X86_BCACHE_PAGE_SIZE - 1));
}

static void fill_exec_table(void)
{
    static bool done;
    if (done)
        return;
    x86_ops_alu_init(x86_exec_table);
    x86_ops_branch_init(x86_exec_table);
    x86_ops_string_init(x86_exec_table);
    x86_ops_system_init(x86_exec_table);
    x86_ops_x87_init(x86_exec_table);
    x86_ops_sse_init(x86_exec_table);
    x86_ops_vex_init(x86_vex_table);
    for (unsigned i = 0; i < X86_OP_COUNT; i++) {
        if (!x86_exec_table[i])
            x86_exec_table[i] = x86_op_ud;
        if (!x86_vex_table[i])
            x86_vex_table[i] = x86_op_ud;
    }
    done = true;
}

int x86_bcache_init(struct x86_cpu *cpu)
{
    fill_exec_table();
    struct x86_block_cache *bc = calloc(1, sizeof(*bc));
    if (!bc)
        return -ENOMEM;
    bc->scratch = calloc(1, sizeof(struct x86_block) + sizeof(struct x86_binsn));
    if (!bc->scratch) {
        free(bc);
        return -ENOMEM;
    }
    bc->gen = 1;                    /* zeroed links and jump-cache entries never match */
    cpu->bcache = bc;
    return 0;
}

static void free_chain(struct x86_block *b)
{
    while (b) {
        struct x86_block *next = b->hash_next;
        free(b);
        b = next;
    }
}

void x86_bcache_destroy(struct x86_cpu *cpu)
{
    struct x86_block_cache *bc = cpu->bcache;
    if (!bc)
        return;
    for (unsigned i = 0; i < X86_BCACHE_HASH_SIZE; i++)
        free_chain(bc->hash[i]);
    free_chain(bc->zombies);
    free(bc->scratch);
    free(bc);
    cpu->bcache = NULL;
}

/* Unlink @b from its hash chain and its page chain; it becomes a zombie. */
static void unlink_block(struct x86_block_cache *bc, struct x86_block *b)
{
    struct x86_block **pp = &bc->hash[hash_index(b->pc_gpa, b->code_mode)];
    for (; *pp; pp = &(*pp)->hash_next) {
        if (*pp == b) {
            *pp = b->hash_next;
            break;
        }
    }
    b->valid = false;
    b->hash_next = bc->zombies;
    bc->zombies = b;
    bc->nblocks--;
}

void x86_bcache_invalidate_page(struct x86_cpu *cpu, gpa_t page_gpa)
{
    struct x86_block_cache *bc = cpu->bcache;
    page_gpa &= GUEST_PAGE_MASK;
    struct x86_block **pp = &bc->pages[page_index(page_gpa)];
    while (*pp) {
        struct x86_block *b = *pp;
        if ((b->pc_gpa & GUEST_PAGE_MASK) == page_gpa) {
            *pp = b->page_next;
            unlink_block(bc, b);
        } else {
            pp = &b->page_next;
        }
    }
    bc->gen++;                      /* links to them must not be followed */
    /* The running block may be one of them: stop after this instruction. */
    cpu->exit_block = true;
}

void x86_bcache_flush(struct x86_cpu *cpu)
{
    struct x86_block_cache *bc = cpu->bcache;
    for (unsigned i = 0; i < X86_BCACHE_HASH_SIZE; i++) {
        struct x86_block *b = bc->hash[i];
        while (b) {
            struct x86_block *next = b->hash_next;
            b->valid = false;
            b->hash_next = bc->zombies;
            bc->zombies = b;
            b = next;
        }
        bc->hash[i] = NULL;
    }
    memset(bc->pages, 0, sizeof(bc->pages));
    bc->nblocks = 0;
    bc->gen++;
    cpu->exit_block = true;
}

void x86_bcache_collect(struct x86_cpu *cpu)
{
    struct x86_block_cache *bc = cpu->bcache;
    if (bc->flush_pending) {
        bc->flush_pending = false;
        x86_bcache_flush(cpu);
    }
    if (bc->zombies)
        bc->gen++;                  /* belt and braces: nothing may point at them */
    free_chain(bc->zombies);
    bc->zombies = NULL;
}

static void log_in_asm(const struct x86_block *b, gva_t lin, const uint8_t *bytes)
{
    static const int bits[3] = { 16, 32, 64 };
    FILE *f = log_file();
    fprintf(f, "IN: gva 0x%016llx gpa 0x%llx insns %u\n", (unsigned long long)lin,
            (unsigned long long)b->pc_gpa, b->n_insns);
    if (disas_x86_print(f, bytes, b->len_bytes, lin, bits[b->code_mode], b->n_insns) == 0)
        fprintf(f, "  (capstone could not disassemble)\n");
    fprintf(f, "\n");
}

/* Handlers for bytes the decoder rejected. */
static void op_decode_gp(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_raise_gp0(cpu);
}

static void set_undecodable(struct x86_binsn *bi, int err)
{
    memset(&bi->insn, 0, sizeof(bi->insn));
    bi->insn.len = 1;
    bi->insn.flags = X86_INSN_ENDS_BLOCK;
    bi->fn = err == X86_DECODE_GP ? op_decode_gp : x86_op_ud;
}

/*
 * One instruction straddling two pages: fetch up to 15 bytes across the
 * boundary (the second page's fetch may raise #PF with CR2 in that page, as
 * on hardware) and decode into the scratch block, which is never cached.
 */
static struct x86_block *build_cross_page(struct x86_cpu *cpu, gva_t lin, gpa_t gpa,
                                          unsigned mode, const uint8_t *first, unsigned avail)
{
    struct x86_block *b = cpu->bcache->scratch;
    uint8_t buf[15];
    memcpy(buf, first, avail);
    gpa_t gpa2;
    unsigned got = avail;
    while (got < sizeof(buf)) {
        unsigned n = x86_fetch_code(cpu, lin + got, buf + got, sizeof(buf) - got, &gpa2);
        if (n == 0)
            break;
        got += n;
    }
    b->pc_gpa = gpa;
    b->code_mode = (uint8_t)mode;
    b->valid = true;
    b->chainable = false;
    b->n_insns = 1;
    int len = x86_decode(buf, got, (enum x86_code_mode)mode, &b->insns[0].insn);
    if (len < 0) {
        set_undecodable(&b->insns[0], len == X86_DECODE_SHORT ? X86_DECODE_GP : len);
    } else {
        b->insns[0].fn = x86_exec_lookup(&b->insns[0].insn);
    }
    b->len_bytes = b->insns[0].insn.len;
    return b;
}

static struct x86_block *build_block(struct x86_cpu *cpu, gva_t lin, unsigned mode)
{
    struct x86_block_cache *bc = cpu->bcache;
    uint8_t first_byte;
    gpa_t gpa;
    /* Walks, checks exec permission, marks the page as code (SMC tracking). */
    x86_fetch_code(cpu, lin, &first_byte, 1, &gpa);

    unsigned off = lin & (GUEST_PAGE_SIZE - 1);
    unsigned avail = GUEST_PAGE_SIZE - off;
    const uint8_t *bytes = gpa_map(cpu->vcpu.mem, gpa, avail);
    uint8_t mmio_buf[16];
    bool cacheable = true;
    if (!bytes) {
        /* Code outside RAM (MMIO/ROM window): decode one instruction, uncached. */
        unsigned n = x86_fetch_code(cpu, lin, mmio_buf, MIN(avail, 15u), &gpa);
        bytes = mmio_buf;
        avail = n;
        cacheable = false;
    }

    struct x86_binsn tmp[X86_BLOCK_MAX_INSNS];
    unsigned n = 0, pos = 0;
    while (n < X86_BLOCK_MAX_INSNS && pos < avail) {
        struct x86_binsn *bi = &tmp[n];
        int len = x86_decode(bytes + pos, avail - pos, (enum x86_code_mode)mode, &bi->insn);
        if (len == X86_DECODE_SHORT) {
            if (n == 0)
                return build_cross_page(cpu, lin, gpa, mode, bytes, avail);
            break;   /* the next block starts with the straddling instruction */
        }
        if (len < 0) {
            set_undecodable(bi, len);
            n++;
            break;
        }
        bi->fn = x86_fast_lookup(&bi->insn, mode);
        n++;
        pos += (unsigned)len;
        if (bi->insn.flags & (X86_INSN_BRANCH | X86_INSN_ENDS_BLOCK))
            break;
        if (!cacheable)
            break;
    }

    struct x86_block *b;
    if (!cacheable) {
        b = bc->scratch;
        b->n_insns = 1;
        b->insns[0] = tmp[0];
    } else {
        b = malloc(sizeof(*b) + n * sizeof(struct x86_binsn));
        if (!b) {
            /* Out of host memory: run it uncached rather than fail the guest. */
            b = bc->scratch;
            n = 1;
            cacheable = false;
        }
        b->n_insns = (uint16_t)n;
        memcpy(b->insns, tmp, n * sizeof(struct x86_binsn));
    }
    b->pc_gpa = gpa;
    b->code_mode = (uint8_t)mode;
    b->valid = true;
    b->chainable = cacheable;
    memset(b->link, 0, sizeof(b->link));
    b->exec_count = 0;
    b->len_bytes = 0;
    for (unsigned i = 0; i < b->n_insns; i++)
        b->len_bytes += b->insns[i].insn.len;

    if (cacheable) {
        unsigned h = hash_index(gpa, mode);
        b->hash_next = bc->hash[h];
        bc->hash[h] = b;
        unsigned p = page_index(gpa);
        b->page_next = bc->pages[p];
        bc->pages[p] = b;
        if (++bc->nblocks > X86_BCACHE_MAX_BLOCKS)
            bc->flush_pending = true;
    }
    if (log_enabled(LOG_IN_ASM))
        log_in_asm(b, lin, bytes);
    return b;
}

struct x86_block *x86_block_lookup(struct x86_cpu *cpu)
{
    struct x86_block_cache *bc = cpu->bcache;
    unsigned mode = cpu->code_mode;
    gva_t lin = cpu->seg[X86_CS].base + cpu->rip;
    if (mode != X86_MODE_64)
        lin &= 0xffffffffu;

    /* Exec translation through the TLB fast path. */
    struct tlb *tlb = &cpu->tlb[cpu->cpl == 3];
    unsigned ti = tlb_index(lin);
    gpa_t gpa;
    if (likely(tlb->e[ti].tag_exec == (lin & GUEST_PAGE_MASK))) {
        gpa = tlb->info[ti].page_gpa | (lin & (GUEST_PAGE_SIZE - 1));
    } else {
        uint8_t b;
        x86_fetch_code(cpu, lin, &b, 1, &gpa);
    }

    for (struct x86_block *b = bc->hash[hash_index(gpa, mode)]; b; b = b->hash_next)
        if (b->pc_gpa == gpa && b->code_mode == mode)
            return b;
    return build_block(cpu, lin, mode);
}

struct x86_block *x86_block_next_slow(struct x86_cpu *cpu, struct x86_block *prev, gva_t lin,
                                      uint32_t key)
{
    struct x86_block_cache *bc = cpu->bcache;
    struct x86_jc_entry *e = &bc->jc[x86_jc_index(lin)];
    struct x86_block *b;
    if (e->lin == lin && e->gen == bc->gen && e->key == key) {
        b = e->to;
    } else {
        b = x86_block_lookup(cpu);
        /* Translation may have raised (#PF: longjmp, nothing cached) or
         * flushed the TLB (bumping gen): read gen only now. */
        if (!b->chainable)
            return b;
        *e = (struct x86_jc_entry){ lin, bc->gen, b, key };
    }
    if (prev && prev->chainable) {
        /* Slot 0 keeps the first successor seen (usually the fall-through
         * or the loop's back edge); slot 1 takes the others. */
        unsigned k = prev->link[0].gen != bc->gen ? 0 : 1;
        prev->link[k] = (struct x86_block_link){ b, lin, bc->gen, key };
    }
    return b;
}
