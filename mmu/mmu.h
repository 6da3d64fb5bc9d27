/*
 * mmu/mmu.h - the one public header of mmu/: guest-physical memory, the
 * software TLB and the page-table walkers.
 *
 * Owns:
 *  - guest RAM: host mmap regions ("slots"), each {gpa, size, host pointer},
 *    asked to use transparent huge pages (MADV_HUGEPAGE), optionally backed by
 *    a shared file (memory-backend-file,share=on);
 *  - checked guest-physical access for devices and loaders (gpa_read,
 *    gpa_write, gpa_map): they fail cleanly (-EFAULT / NULL) on anything the
 *    guest does not own as RAM. Guest-controlled numbers never index host
 *    memory unchecked;
 *  - the code-page bitmap: one bit per 4 KiB RAM page that holds predecoded or
 *    translated code. Writes to such a page (CPU stores through the TLB slow
 *    path, or DMA through gpa_write) call the code_write hook, which
 *    invalidates the blocks on that page (self-modifying code);
 *  - the software TLB type (per vCPU, direct-mapped, separate read/write/exec
 *    tags, host addend) - STYLE practice 3;
 *  - the x86 page-table walker (SDM Vol. 3A ch. 4: 32-bit, PAE, 4-level,
 *    5-level paging), setting accessed/dirty bits as the architecture does.
 */
#ifndef QTEMU_MMU_MMU_H
#define QTEMU_MMU_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

typedef uint64_t gpa_t;   /* guest-physical address */
typedef uint64_t gva_t;   /* guest-virtual (linear) address */

#define GUEST_PAGE_SHIFT 12
#define GUEST_PAGE_SIZE  (1ull << GUEST_PAGE_SHIFT)
#define GUEST_PAGE_MASK  (~(GUEST_PAGE_SIZE - 1))

/* ---------------------------------------------------------------- guest RAM */

#define GUEST_MEM_MAX_SLOTS 8

/** One contiguous piece of guest RAM. */
struct mem_slot {
    gpa_t gpa;
    uint64_t size_bytes;
    uint8_t *host;          /* host mapping of gpa .. gpa + size_bytes */
    uint8_t *code_bitmap;   /* 1 bit per guest page: page holds cached code */
};

/** The guest-physical address space as seen by CPUs and DMA. */
struct guest_mem {
    struct mem_slot slots[GUEST_MEM_MAX_SLOTS];
    int nslots;
    uint8_t *backing;       /* the whole host mapping (slots point into it) */
    uint64_t backing_bytes;
    int backing_fd;         /* -1 for anonymous RAM */
    /* Called when a write hits a page whose code bit is set; gpa_note_write()
     * clears the bit first, then calls the hook once for that page, which
     * invalidates the page's blocks. Installed by the CPU backend. */
    void (*code_write)(void *opaque, gpa_t page_gpa);
    void *code_write_opaque;
};

/**
 * Allocate @ram_bytes of guest RAM laid out as on a PC: [0, min(ram, @low_limit))
 * and the rest from 4 GiB up. If @mem_path is non-NULL the RAM is a shared
 * mapping of that file (created/truncated to size). Returns 0 or -errno.
 */
int guest_mem_init_pc(struct guest_mem *mem, uint64_t ram_bytes, uint64_t low_limit,
                      const char *mem_path);

/** Unmap guest RAM. */
void guest_mem_destroy(struct guest_mem *mem);

/** The slot holding @gpa, or NULL if @gpa is not RAM. */
static inline struct mem_slot *guest_mem_slot(struct guest_mem *mem, gpa_t gpa)
{
    for (int i = 0; i < mem->nslots; i++) {
        struct mem_slot *s = &mem->slots[i];
        if (gpa - s->gpa < s->size_bytes)
            return s;
    }
    return NULL;
}

/**
 * Host pointer to @len bytes of RAM at @gpa, or NULL if any byte of the range
 * is not RAM (or the range crosses slots). For reads only: a caller that
 * writes through it must call gpa_note_write() for code-page tracking.
 */
uint8_t *gpa_map(struct guest_mem *mem, gpa_t gpa, uint64_t len);

/** Copy @len bytes from guest RAM. Returns 0 or -EFAULT (nothing copied). */
int gpa_read(struct guest_mem *mem, gpa_t gpa, void *buf, uint64_t len);

/** Copy @len bytes into guest RAM, invalidating cached code. 0 or -EFAULT. */
int gpa_write(struct guest_mem *mem, gpa_t gpa, const void *buf, uint64_t len);

/** Tell the code tracker that [gpa, gpa+len) was written by other means. */
void gpa_note_write(struct guest_mem *mem, gpa_t gpa, uint64_t len);

/** Mark the page holding @gpa as holding cached code. False if not RAM. */
bool gpa_mark_code(struct guest_mem *mem, gpa_t gpa);

/** True if the page holding @gpa is marked as code. */
static inline bool gpa_is_code(struct guest_mem *mem, gpa_t gpa)
{
    struct mem_slot *s = guest_mem_slot(mem, gpa);
    if (!s)
        return false;
    uint64_t pfn = (gpa - s->gpa) >> GUEST_PAGE_SHIFT;
    return (s->code_bitmap[pfn >> 3] >> (pfn & 7)) & 1;
}

/* ---------------------------------------------------------------- soft TLB */

#define TLB_BITS     10
#define TLB_ENTRIES  (1u << TLB_BITS)

/*
 * Tag = page-aligned gva when the access kind is allowed and fast; flag bits
 * folded into the low bits make the fast-path compare fail (STYLE 3):
 */
#define TLB_INVALID  ((uint64_t)-1)
#define TLB_FLAG_MMIO  0x1ull     /* page is MMIO: always slow path */
#define TLB_FLAG_CODE  0x2ull     /* write tag only: page holds code, go slow */
#define TLB_FLAG_WATCH 0x4ull     /* read/write tags: a debugger watchpoint is on the page */
#define TLB_FLAG_CHECK 0x8ull     /* read/write tags: every access is checked (alignment, #AC) */

/**
 * One TLB entry: 32 bytes (power of two, static-asserted).
 * host = gva + addend for RAM pages.
 */
struct tlb_entry {
    uint64_t tag_read;
    uint64_t tag_write;
    uint64_t tag_exec;
    uintptr_t addend;       /* host pointer minus gva, for RAM */
};
_Static_assert(sizeof(struct tlb_entry) == 32, "TLB entry must be 32 bytes");

/** Slow-path side data for each entry. */
struct tlb_entry_info {
    gpa_t page_gpa;         /* guest-physical page of this translation */
    gva_t page_gva;         /* the 4 KiB linear page this entry maps */
    bool global;            /* PTE.G with CR4.PGE: survives CR3 writes */
    uint8_t page_shift;     /* 12, 21, 22 or 30: for INVLPG of large pages */
};

/**
 * A direct-mapped TLB. x86 uses one per privilege class (index 0 supervisor,
 * 1 user) so CPL changes need no flush (like QEMU's MMU indexes).
 */
struct tlb {
    struct tlb_entry e[TLB_ENTRIES];
    struct tlb_entry_info info[TLB_ENTRIES];
    bool has_large;         /* some entry came from a large page (INVLPG flushes all) */
};

/** Index of @gva in a TLB. */
static inline unsigned tlb_index(gva_t gva)
{
    return (gva >> GUEST_PAGE_SHIFT) & (TLB_ENTRIES - 1);
}

/** Invalidate every entry; with @keep_global, entries marked global survive. */
void tlb_flush(struct tlb *tlb, bool keep_global);

/** Invalidate translations of the page holding @gva (INVLPG semantics). */
void tlb_flush_page(struct tlb *tlb, gva_t gva);

/** Drop the write fast path of every entry mapping @page_gpa (new code page). */
void tlb_protect_code_page(struct tlb *tlb, gpa_t page_gpa);

/* ---------------------------------------------------------------- x86 walker */

/** Access kinds for the walker. */
enum mmu_access {
    MMU_READ = 0,
    MMU_WRITE = 1,
    MMU_EXEC = 2,
};

/** Paging controls the walker needs (a copy of the relevant CPU state). */
struct x86_paging_ctx {
    uint64_t cr0, cr3, cr4, efer;
    bool user;              /* CPL == 3 */
    bool implicit_supervisor; /* descriptor-table accesses: a supervisor-mode
                               * access whatever the CPL (SDM Vol. 3A 4.6.1) */
    bool ac;                /* RFLAGS.AC, for SMAP */
    bool no_page1gb;        /* CPUID.80000001H:EDX.Page1GB = 0: PDPTE.PS is reserved
                             * (SDM Vol. 3A 4.5.4); zero keeps 1 GiB pages allowed */
};

/** Result of a successful walk. */
struct x86_walk_result {
    gpa_t gpa;              /* translated address of the byte asked for */
    uint8_t page_shift;     /* 12, 21, 22 (32-bit paging 4 MiB) or 30 */
    bool writable, user, nx, global;  /* effective permissions of the page */
    bool dirty;             /* leaf D bit is set (after this walk) */
};

/**
 * Translate @gva for @access under @ctx (SDM Vol. 3A 4.3-4.6), setting A bits
 * on every level and D on the leaf for writes (only once the translation,
 * permissions included, succeeded). CR0.PG = 0 gives the identity with full
 * permissions. Reserved bits (above X86_MAXPHYADDR, XD without EFER.NXE, ...)
 * fault with P and RSVD set. On a fault returns false and
 * sets *pf_error to the #PF error code (P, W/R, U/S, RSVD, I/D bits of SDM
 * Vol. 3A 4.7); the caller raises #PF with CR2 = @gva. Paging-structure
 * entries that are not RAM read as not-present.
 */
bool x86_walk(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
              enum mmu_access access, struct x86_walk_result *out, uint32_t *pf_error);

/**
 * True if @access to a page with the effective permissions in @r is allowed
 * under @ctx (SDM Vol. 3A 4.6.1: U/S, R/W with CR0.WP, XD with EFER.NXE,
 * SMEP, SMAP with RFLAGS.AC and implicit accesses). The TLB uses it to decide
 * which tags of an entry may be filled.
 */
bool x86_walk_permits(const struct x86_paging_ctx *ctx, const struct x86_walk_result *r,
                      enum mmu_access access);

/** One paging-structure entry read by x86_walk_trace(). */
struct x86_walk_step {
    int level;              /* 5 PML5, 4 PML4, 3 PDPT, 2 PD, 1 PT (32-bit paging: 2 PD, 1 PT) */
    const char *name;       /* "PML4", "PDPT", "PD", "PT", ... */
    gpa_t table_gpa;        /* guest-physical address of the table */
    unsigned index;         /* entry index in the table */
    gpa_t entry_gpa;        /* table_gpa + index * width */
    unsigned width;         /* entry size: 8, or 4 for 32-bit paging */
    uint64_t entry;         /* the entry's value (0 if not_ram) */
    bool leaf;              /* maps a page (PT entry, or PS set at PD/PDPT level) */
    bool not_ram;           /* the entry's address is not guest RAM */
};

/**
 * Debugger page walk (the "pagewalk" command): walk the tables for @gva under
 * @ctx like x86_walk() (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4/5-level) but
 * read-only (no A/D updates, no permission checks), calling @cb for every
 * entry read, top level first. Returns 0 with *@gpa_out = the translation,
 * or -EFAULT when an entry is not present, not RAM or has a reserved bit
 * set, where x86_walk() would fault (the last step reported is that entry). With CR0.PG = 0 returns the identity and calls
 * @cb never.
 */
int x86_walk_trace(struct guest_mem *mem, const struct x86_paging_ctx *ctx, gva_t gva,
                   void (*cb)(void *opaque, const struct x86_walk_step *step), void *opaque,
                   gpa_t *gpa_out);

/** Physical-address width the walker implements (CPUID 0x80000008 EAX[7:0]). */
#define X86_MAXPHYADDR 40

#endif
