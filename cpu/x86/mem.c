/*
 * cpu/x86/mem.c - the x86 memory-access path: effective addresses,
 * segmentation, the software-TLB fast path, the page-walk slow path, and
 * guest-physical RAM/MMIO access.
 *
 * Fast path (DESIGN "MMU", STYLE 3): tlb = cpu->tlb[CPL == 3], entry =
 * tlb->e[tlb_index(lin)]; if the tag of the access kind equals the page of
 * @lin and the access does not cross the page, host = lin + addend. Anything
 * else - a miss, a flag bit folded into the tag (MMIO, code page), a
 * page-crossing access - goes to the slow path, which walks the guest page
 * tables (mmu/x86_walk.c), refills the entry and performs the access through
 * x86_phys_read/x86_phys_write.
 *
 * Entry fill rules:
 *  - tag_read / tag_exec: the page if that access is allowed now;
 *  - tag_write: the page only if writes are allowed now AND the leaf's dirty
 *    bit is set, so the first write goes slow and sets D (SDM Vol. 3A 4.8);
 *    TLB_FLAG_CODE is folded in while the page holds cached code, so stores
 *    go slow and reach gpa_note_write (self-modifying code);
 *  - TLB_FLAG_MMIO in every tag for pages that are not RAM.
 *  - TLB_FLAG_WATCH in the read and write tags of pages that hold a debugger
 *    watchpoint or an armed DR0-DR3 data breakpoint (SDM Vol. 3B 18.3.1.2):
 *    their accesses go slow and x86_check_watch (cpu.c) records the hit; with
 *    none armed (cpu->watch_any false) nothing is checked and no tag changes.
 *  - With CR4.SMAP, supervisor tags of user pages stay invalid: whether such
 *    an access is allowed depends on RFLAGS.AC, which STAC/CLAC change
 *    without a TLB flush, so every such access is checked by a walk.
 *
 * Precise faults: an access that crosses a page boundary translates both
 * pages (raising #PF if either fails) before any byte is stored; multi-part
 * stores (x86_write_bytes) probe the whole range first.
 *
 * The system code must flush (x86_tlb_flush) on CR3 writes (keep_global), on
 * CR0.PG/WP, CR4.PAE/PGE/PSE/SMEP/SMAP/LA57 and EFER.NXE changes (all), and
 * the vCPU must start with flushed TLBs (a zeroed entry would map page 0).
 *
 * Decided: code-page protection only reaches this vCPU's TLBs; with several
 * vCPUs a store from another vCPU through a fast write entry filled before
 * the page became code is not seen (single-vCPU boot is the target today).
 */
#include <string.h>

#include "cpu/x86/block.h"
#include "cpu/x86/x86.h"
#include "cpu/x86/sys.h"
#include "util/log.h"

#define PAGE_OFF(x) ((x) & (GUEST_PAGE_SIZE - 1))

/* ---------------------------------------------------------------- helpers */

/** TLB to use for normal (explicit) accesses: [1] at CPL 3, else [0]. */
static forceinline unsigned mmu_index(const struct x86_cpu *cpu)
{
    return cpu->cpl == 3;
}

/** Linear addresses wrap at 4 GiB outside IA-32e mode. */
static forceinline gva_t lin_wrap(const struct x86_cpu *cpu, gva_t lin)
{
    return (cpu->efer & X86_EFER_LMA) ? lin : (uint32_t)lin;
}

static forceinline bool fits_page(gva_t lin, unsigned size)
{
    return PAGE_OFF(lin) <= GUEST_PAGE_SIZE - size;
}

static forceinline uint64_t load_host(const void *p, unsigned size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    case 8: { uint64_t v; memcpy(&v, p, 8); return v; }
    default: { uint64_t v = 0; memcpy(&v, p, size); return v; }
    }
}

static forceinline void store_host(void *p, uint64_t v, unsigned size)
{
    switch (size) {
    case 1: *(uint8_t *)p = (uint8_t)v; break;
    case 2: { uint16_t t = (uint16_t)v; memcpy(p, &t, 2); break; }
    case 4: { uint32_t t = (uint32_t)v; memcpy(p, &t, 4); break; }
    case 8: memcpy(p, &v, 8); break;
    default: memcpy(p, &v, size); break;
    }
}

/* ---------------------------------------------------------------- physical */

static uint64_t mmio_read(struct x86_cpu *cpu, gpa_t gpa, unsigned size)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    bool pow2 = (size & (size - 1)) == 0;
    if (pow2 && gpa + (size - 1) >= gpa && !guest_mem_slot(mem, gpa) &&
        !guest_mem_slot(mem, gpa + size - 1)) {
        if (!cpu->vcpu.bus)
            return x86_size_mask(size);   /* open bus */
        return io_space_read(&cpu->vcpu.bus->mmio, gpa, size);
    }
    /* Odd size, or a mix of RAM and MMIO: byte by byte. */
    uint64_t v = 0;
    for (unsigned k = 0; k < size; k++)
        v |= x86_phys_read(cpu, gpa + k, 1) << (8 * k);
    return v;
}

uint64_t x86_phys_read(struct x86_cpu *cpu, gpa_t gpa, unsigned size)
{
    if (unlikely(size == 0 || size > 8)) {
        qlog(LOG_GUEST_ERRORS, "x86_phys_read: bad size %u at 0x%llx", size,
             (unsigned long long)gpa);
        return 0;
    }
    uint8_t *h = gpa_map(cpu->vcpu.mem, gpa, size);
    if (likely(h))
        return load_host(h, size);
    return mmio_read(cpu, gpa, size);
}

static void mmio_write(struct x86_cpu *cpu, gpa_t gpa, uint64_t value, unsigned size)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    bool pow2 = (size & (size - 1)) == 0;
    if (pow2 && gpa + (size - 1) >= gpa && !guest_mem_slot(mem, gpa) &&
        !guest_mem_slot(mem, gpa + size - 1)) {
        if (cpu->vcpu.bus)
            io_space_write(&cpu->vcpu.bus->mmio, gpa, value & x86_size_mask(size), size);
        return;
    }
    for (unsigned k = 0; k < size; k++)
        x86_phys_write(cpu, gpa + k, (value >> (8 * k)) & 0xff, 1);
}

void x86_phys_write(struct x86_cpu *cpu, gpa_t gpa, uint64_t value, unsigned size)
{
    if (unlikely(size == 0 || size > 8)) {
        qlog(LOG_GUEST_ERRORS, "x86_phys_write: bad size %u at 0x%llx", size,
             (unsigned long long)gpa);
        return;
    }
    struct guest_mem *mem = cpu->vcpu.mem;
    uint8_t *h = gpa_map(mem, gpa, size);
    if (likely(h)) {
        store_host(h, value, size);
        gpa_note_write(mem, gpa, size);   /* after the store: blocks re-decode new bytes */
        return;
    }
    mmio_write(cpu, gpa, value, size);
}

/* Copy @n bytes between @buf and guest-physical @gpa (one page at most). */
static void phys_copy(struct x86_cpu *cpu, gpa_t gpa, uint8_t *buf, unsigned n, bool write)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    uint8_t *h = gpa_map(mem, gpa, n);
    if (h) {
        if (write) {
            memcpy(h, buf, n);
            gpa_note_write(mem, gpa, n);
        } else {
            memcpy(buf, h, n);
        }
        return;
    }
    for (unsigned k = 0; k < n; k++) {
        if (write)
            x86_phys_write(cpu, gpa + k, buf[k], 1);
        else
            buf[k] = (uint8_t)x86_phys_read(cpu, gpa + k, 1);
    }
}

/* ---------------------------------------------------------------- slow path */

/* Refill entry @i of @tlb for @page from a successful walk. */
static void tlb_fill(struct x86_cpu *cpu, struct tlb *tlb, unsigned i, gva_t page,
                     const struct x86_paging_ctx *ctx, const struct x86_walk_result *r,
                     bool supervisor_tlb)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    gpa_t page_gpa = r->gpa & GUEST_PAGE_MASK;
    struct mem_slot *s = guest_mem_slot(mem, page_gpa);
    uint64_t flags = 0, code = 0;
    uintptr_t addend = 0;
    if (s) {
        addend = (uintptr_t)(s->host + (page_gpa - s->gpa)) - (uintptr_t)page;
        uint64_t pfn = (page_gpa - s->gpa) >> GUEST_PAGE_SHIFT;
        if ((s->code_bitmap[pfn >> 3] >> (pfn & 7)) & 1)
            code = TLB_FLAG_CODE;
    } else {
        flags = TLB_FLAG_MMIO;
    }
    bool smap_slow = supervisor_tlb && r->user && (ctx->cr4 & X86_CR4_SMAP);
    uint64_t watch = (cpu->watch_any && x86_page_has_watch(cpu, page)) ? TLB_FLAG_WATCH : 0;
    if (cpu->ac_check && !supervisor_tlb)
        watch |= TLB_FLAG_CHECK;   /* alignment checking: every user access goes slow */
    struct tlb_entry *e = &tlb->e[i];
    e->tag_read = (!smap_slow && x86_walk_permits(ctx, r, MMU_READ)) ? page | flags | watch
                                                                      : TLB_INVALID;
    e->tag_write = (!smap_slow && r->dirty && x86_walk_permits(ctx, r, MMU_WRITE))
                       ? page | flags | code | watch : TLB_INVALID;
    e->tag_exec = x86_walk_permits(ctx, r, MMU_EXEC) ? page | flags : TLB_INVALID;
    e->addend = addend;
    struct tlb_entry_info *info = &tlb->info[i];
    info->page_gpa = page_gpa;
    info->page_gva = page;
    info->global = r->global;
    info->page_shift = r->page_shift;
    if (r->page_shift > GUEST_PAGE_SHIFT)
        tlb->has_large = true;
}

/*
 * Guest-physical address of @lin for @access through TLB @idx (an entry whose
 * tag matches up to the flag bits is used without a walk), else walk, raise
 * #PF on failure, and refill the entry.
 */
static gpa_t translate(struct x86_cpu *cpu, gva_t lin, enum mmu_access access, unsigned idx,
                       bool implicit)
{
    struct tlb *tlb = &cpu->tlb[idx];
    unsigned i = tlb_index(lin);
    gva_t page = lin & GUEST_PAGE_MASK;
    const struct tlb_entry *e = &tlb->e[i];
    uint64_t tag = access == MMU_READ ? e->tag_read
                 : access == MMU_WRITE ? e->tag_write : e->tag_exec;
    if (tag != TLB_INVALID && (tag & GUEST_PAGE_MASK) == page)
        return tlb->info[i].page_gpa | PAGE_OFF(lin);

    struct x86_paging_ctx ctx = {
        .cr0 = cpu->cr0, .cr3 = cpu->cr3, .cr4 = cpu->cr4, .efer = cpu->efer,
        .user = cpu->cpl == 3,
        .implicit_supervisor = implicit,
        .ac = (cpu->rflags & X86_FLAG_AC) != 0,
        .no_page1gb = !x86_has_feature(cpu, X86_FEAT_PDPE1GB),
    };
    struct x86_walk_result r;
    uint32_t err;
    if (!x86_walk(cpu->vcpu.mem, &ctx, lin, access, &r, &err)) {
        if (log_enabled(LOG_MMU))
            qlog(LOG_MMU, "#PF lin=0x%llx access=%d err=0x%x", (unsigned long long)lin,
                 (int)access, err);
        x86_raise_pf(cpu, lin, err);
    }
    tlb_fill(cpu, tlb, i, page, &ctx, &r, idx == 0);
    return r.gpa;
}

/*
 * Alignment check (SDM Vol. 3A 6.15, Interrupt 17): with CR0.AM, RFLAGS.AC
 * and CPL 3, a misaligned 2/4/8-byte data access raises #AC(0). Reached only
 * through the slow path (user TLB entries carry TLB_FLAG_CHECK while
 * cpu->ac_check holds); implicit supervisor accesses (idx 0) are exempt.
 */
static forceinline void alignment_check(struct x86_cpu *cpu, gva_t lin, unsigned size, unsigned idx)
{
    if (unlikely(cpu->ac_check) && idx == 1 && size <= 8 && (lin & (size - 1)))
        x86_raise_err(cpu, X86_EXC_AC, 0);
}

static noinline uint64_t read_slow(struct x86_cpu *cpu, gva_t lin, unsigned size, unsigned idx,
                                   bool implicit)
{
    alignment_check(cpu, lin, size, idx);
    if (unlikely(cpu->watch_any))
        x86_check_watch(cpu, lin, size, false);
    if (fits_page(lin, size))
        return x86_phys_read(cpu, translate(cpu, lin, MMU_READ, idx, implicit), size);
    unsigned n1 = (unsigned)(GUEST_PAGE_SIZE - PAGE_OFF(lin));
    gpa_t g1 = translate(cpu, lin, MMU_READ, idx, implicit);
    gpa_t g2 = translate(cpu, lin_wrap(cpu, lin + n1), MMU_READ, idx, implicit);
    uint64_t lo = x86_phys_read(cpu, g1, n1);
    uint64_t hi = x86_phys_read(cpu, g2, size - n1);
    return lo | (hi << (8 * n1));
}

/* After a slow store to a code page: re-enable the fast path once the code is gone. */
static void refresh_code_tag(struct x86_cpu *cpu, unsigned idx, gva_t lin, gpa_t gpa)
{
    struct tlb_entry *e = &cpu->tlb[idx].e[tlb_index(lin)];
    gva_t page = lin & GUEST_PAGE_MASK;
    if (e->tag_write == (page | TLB_FLAG_CODE) && !gpa_is_code(cpu->vcpu.mem, gpa) && !cpu->watch_any)
        e->tag_write = page;
}

static noinline void write_slow(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size,
                                unsigned idx, bool implicit)
{
    alignment_check(cpu, lin, size, idx);
    if (unlikely(cpu->watch_any))
        x86_check_watch(cpu, lin, size, true);
    if (fits_page(lin, size)) {
        gpa_t gpa = translate(cpu, lin, MMU_WRITE, idx, implicit);
        x86_phys_write(cpu, gpa, value, size);
        refresh_code_tag(cpu, idx, lin, gpa);
        return;
    }
    unsigned n1 = (unsigned)(GUEST_PAGE_SIZE - PAGE_OFF(lin));
    gva_t lin2 = lin_wrap(cpu, lin + n1);
    /* Both pages before any byte is stored (precise #PF). */
    gpa_t g1 = translate(cpu, lin, MMU_WRITE, idx, implicit);
    gpa_t g2 = translate(cpu, lin2, MMU_WRITE, idx, implicit);
    x86_phys_write(cpu, g1, value, n1);
    x86_phys_write(cpu, g2, value >> (8 * n1), size - n1);
}

/* ---------------------------------------------------------------- fast path */

static forceinline uint64_t mem_read(struct x86_cpu *cpu, gva_t lin, unsigned size, unsigned idx,
                                     bool implicit)
{
    const struct tlb_entry *e = &cpu->tlb[idx].e[tlb_index(lin)];
    if (likely(e->tag_read == (lin & GUEST_PAGE_MASK) && fits_page(lin, size)))
        return load_host((const void *)(uintptr_t)(lin + e->addend), size);
    return read_slow(cpu, lin, size, idx, implicit);
}

static forceinline void mem_write(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size,
                                  unsigned idx, bool implicit)
{
    const struct tlb_entry *e = &cpu->tlb[idx].e[tlb_index(lin)];
    if (likely(e->tag_write == (lin & GUEST_PAGE_MASK) && fits_page(lin, size))) {
        store_host((void *)(uintptr_t)(lin + e->addend), value, size);
        return;
    }
    write_slow(cpu, lin, value, size, idx, implicit);
}

uint8_t x86_read8(struct x86_cpu *cpu, gva_t lin)
{
    return (uint8_t)mem_read(cpu, lin, 1, mmu_index(cpu), false);
}

uint16_t x86_read16(struct x86_cpu *cpu, gva_t lin)
{
    return (uint16_t)mem_read(cpu, lin, 2, mmu_index(cpu), false);
}

uint32_t x86_read32(struct x86_cpu *cpu, gva_t lin)
{
    return (uint32_t)mem_read(cpu, lin, 4, mmu_index(cpu), false);
}

uint64_t x86_read64(struct x86_cpu *cpu, gva_t lin)
{
    return mem_read(cpu, lin, 8, mmu_index(cpu), false);
}

void x86_write8(struct x86_cpu *cpu, gva_t lin, uint8_t value)
{
    mem_write(cpu, lin, value, 1, mmu_index(cpu), false);
}

void x86_write16(struct x86_cpu *cpu, gva_t lin, uint16_t value)
{
    mem_write(cpu, lin, value, 2, mmu_index(cpu), false);
}

void x86_write32(struct x86_cpu *cpu, gva_t lin, uint32_t value)
{
    mem_write(cpu, lin, value, 4, mmu_index(cpu), false);
}

void x86_write64(struct x86_cpu *cpu, gva_t lin, uint64_t value)
{
    mem_write(cpu, lin, value, 8, mmu_index(cpu), false);
}

/* Sized access with the size switch hoisted so each arm inlines a constant size. */
static forceinline uint64_t read_sized(struct x86_cpu *cpu, gva_t lin, unsigned size, unsigned idx,
                                       bool implicit)
{
    switch (size) {
    case 1: return mem_read(cpu, lin, 1, idx, implicit);
    case 2: return mem_read(cpu, lin, 2, idx, implicit);
    case 4: return mem_read(cpu, lin, 4, idx, implicit);
    case 8: return mem_read(cpu, lin, 8, idx, implicit);
    default:
        if (size == 0 || size > 8)
            return 0;
        return read_slow(cpu, lin, size, idx, implicit);
    }
}

static forceinline void write_sized(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size,
                                    unsigned idx, bool implicit)
{
    switch (size) {
    case 1: mem_write(cpu, lin, value, 1, idx, implicit); break;
    case 2: mem_write(cpu, lin, value, 2, idx, implicit); break;
    case 4: mem_write(cpu, lin, value, 4, idx, implicit); break;
    case 8: mem_write(cpu, lin, value, 8, idx, implicit); break;
    default:
        if (size && size <= 8)
            write_slow(cpu, lin, value, size, idx, implicit);
        break;
    }
}

uint64_t x86_read_sized(struct x86_cpu *cpu, gva_t lin, unsigned size)
{
    return read_sized(cpu, lin, size, mmu_index(cpu), false);
}

void x86_write_sized(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size)
{
    write_sized(cpu, lin, value, size, mmu_index(cpu), false);
}

uint64_t x86_read_sys(struct x86_cpu *cpu, gva_t lin, unsigned size)
{
    return read_sized(cpu, lin, size, 0, true);
}

void x86_write_sys(struct x86_cpu *cpu, gva_t lin, uint64_t value, unsigned size)
{
    write_sized(cpu, lin, value, size, 0, true);
}

void x86_probe_write_sys(struct x86_cpu *cpu, gva_t lin, unsigned len)
{
    while (len) {
        unsigned n = (unsigned)MIN((uint64_t)len, GUEST_PAGE_SIZE - PAGE_OFF(lin));
        translate(cpu, lin, MMU_WRITE, 0, true);
        len -= n;
        lin = lin_wrap(cpu, lin + n);
    }
}

void x86_probe_write(struct x86_cpu *cpu, gva_t lin, unsigned len)
{
    unsigned idx = mmu_index(cpu);
    while (len) {
        unsigned n = (unsigned)MIN((uint64_t)len, GUEST_PAGE_SIZE - PAGE_OFF(lin));
        if (cpu->tlb[idx].e[tlb_index(lin)].tag_write != (lin & GUEST_PAGE_MASK))
            translate(cpu, lin, MMU_WRITE, idx, false);
        len -= n;
        lin = lin_wrap(cpu, lin + n);
    }
}

void x86_read_bytes(struct x86_cpu *cpu, gva_t lin, void *buf, unsigned len)
{
    if (unlikely(cpu->watch_any))
        x86_check_watch(cpu, lin, len, false);
    unsigned idx = mmu_index(cpu);
    uint8_t *p = buf;
    while (len) {
        unsigned n = (unsigned)MIN((uint64_t)len, GUEST_PAGE_SIZE - PAGE_OFF(lin));
        phys_copy(cpu, translate(cpu, lin, MMU_READ, idx, false), p, n, false);
        p += n;
        len -= n;
        lin = lin_wrap(cpu, lin + n);
    }
}

void x86_write_bytes(struct x86_cpu *cpu, gva_t lin, const void *buf, unsigned len)
{
    x86_probe_write(cpu, lin, len);    /* all pages writable before the first byte */
    if (unlikely(cpu->watch_any))
        x86_check_watch(cpu, lin, len, true);
    unsigned idx = mmu_index(cpu);
    const uint8_t *p = buf;
    while (len) {
        unsigned n = (unsigned)MIN((uint64_t)len, GUEST_PAGE_SIZE - PAGE_OFF(lin));
        gpa_t gpa = translate(cpu, lin, MMU_WRITE, idx, false);
        phys_copy(cpu, gpa, (uint8_t *)p, n, true);
        refresh_code_tag(cpu, idx, lin, gpa);
        p += n;
        len -= n;
        lin = lin_wrap(cpu, lin + n);
    }
}

/* ---------------------------------------------------------------- segmentation */

uint64_t x86_ea(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    uint64_t ea = (uint64_t)(int64_t)insn->disp;
    if (insn->base == X86_REG_RIP)
        ea += cpu->next_rip;
    else if (insn->base != X86_REG_NONE)
        ea += cpu->gpr[insn->base & 15];
    if (insn->index != X86_REG_NONE)
        ea += cpu->gpr[insn->index & 15] << (insn->scale & 3);
    return ea & x86_size_mask(insn->addrsize);
}

static qt_noreturn noinline __attribute__((cold)) void seg_fault(struct x86_cpu *cpu, int sreg)
{
    if (sreg == X86_SS)
        x86_raise_err(cpu, X86_EXC_SS, 0);
    x86_raise_gp0(cpu);
}

/* Canonical: bits 63..47 (or 63..56 with CR4.LA57) all equal (SDM Vol. 1 3.3.7.1). */
static forceinline bool is_canonical(const struct x86_cpu *cpu, gva_t lin)
{
    unsigned shift = (cpu->cr4 & X86_CR4_LA57) ? 7 : 16;
    return (gva_t)((int64_t)(lin << shift) >> shift) == lin;
}

/* Protected/real/vm86-mode segmentation (SDM Vol. 3A 3.4.5, 5.3, 5.4.1). */
static noinline gva_t linear_legacy(struct x86_cpu *cpu, int sreg, uint64_t offset, unsigned size,
                                    enum mmu_access access)
{
    if (unlikely(sreg < 0 || sreg >= X86_SREG_COUNT))
        x86_raise_gp0(cpu);
    const struct x86_seg *s = &cpu->seg[sreg];
    bool expand_down = false;
    if ((cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & X86_FLAG_VM)) {
        unsigned attr = s->attr;
        unsigned type = X86_SEG_ATTR_TYPE(attr);
        /* Null selector / not-present cache (5.4.1): unusable. */
        if (!(attr & X86_SEG_ATTR_P) || !(attr & X86_SEG_ATTR_S))
            seg_fault(cpu, sreg);
        if (type & 8) {                 /* code segment: execute, maybe read */
            if (access == MMU_WRITE || (access == MMU_READ && !(type & 2)))
                seg_fault(cpu, sreg);
        } else {                        /* data segment: read, maybe write */
            if (access == MMU_WRITE && !(type & 2))
                seg_fault(cpu, sreg);
            expand_down = type & 4;
        }
    }
    uint64_t last = offset + size - 1;
    if (unlikely(last < offset))
        seg_fault(cpu, sreg);
    if (expand_down) {
        /* Valid offsets: limit + 1 .. 0xFFFF or 0xFFFFFFFF (B flag). */
        uint64_t upper = (s->attr & X86_SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
        if (offset <= s->limit || last > upper)
            seg_fault(cpu, sreg);
    } else if (last > s->limit) {
        seg_fault(cpu, sreg);
    }
    return (uint32_t)(s->base + offset);
}

gva_t x86_linear(struct x86_cpu *cpu, int sreg, uint64_t offset, unsigned size,
                 enum mmu_access access)
{
    if (likely(cpu->code_mode == X86_MODE_64)) {
        gva_t lin = offset;
        if (sreg == X86_FS || sreg == X86_GS)
            lin += cpu->seg[sreg].base;
        if (unlikely(!is_canonical(cpu, lin) || !is_canonical(cpu, lin + (size ? size - 1 : 0))))
            seg_fault(cpu, sreg);
        return lin;
    }
    return linear_legacy(cpu, sreg, offset, size, access);
}

/* ---------------------------------------------------------------- operands */

gva_t x86_mem_linear(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size,
                     enum mmu_access access)
{
    return x86_linear(cpu, insn->seg, x86_ea(cpu, insn), size, access);
}

uint64_t x86_mem_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    gva_t lin = x86_linear(cpu, insn->seg, x86_ea(cpu, insn), size, MMU_READ);
    return read_sized(cpu, lin, size, mmu_index(cpu), false);
}

void x86_mem_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size, uint64_t value)
{
    gva_t lin = x86_linear(cpu, insn->seg, x86_ea(cpu, insn), size, MMU_WRITE);
    write_sized(cpu, lin, value, size, mmu_index(cpu), false);
}

uint64_t x86_rm_read(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size)
{
    if (!(insn->flags & X86_INSN_MEM))
        return x86_reg_read(cpu, insn->rm & 15, size, x86_has_rex(insn));
    return x86_mem_read(cpu, insn, size);
}

void x86_rm_write(struct x86_cpu *cpu, const struct x86_insn *insn, unsigned size, uint64_t value)
{
    if (!(insn->flags & X86_INSN_MEM)) {
        x86_reg_write(cpu, insn->rm & 15, size, x86_has_rex(insn), value);
        return;
    }
    x86_mem_write(cpu, insn, size, value);
}

/* ---------------------------------------------------------------- stack */

unsigned x86_stack_size(struct x86_cpu *cpu)
{
    if (cpu->code_mode == X86_MODE_64)
        return 8;
    return (cpu->seg[X86_SS].attr & X86_SEG_ATTR_DB) ? 4 : 2;
}

void x86_push(struct x86_cpu *cpu, uint64_t value, unsigned size)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP];
    uint64_t sp = (rsp - size) & mask;
    gva_t lin = x86_linear(cpu, X86_SS, sp, size, MMU_WRITE);
    write_sized(cpu, lin, value, size, mmu_index(cpu), false);
    cpu->gpr[X86_RSP] = (rsp & ~mask) | sp;
}

uint64_t x86_pop(struct x86_cpu *cpu, unsigned size)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP];
    uint64_t sp = rsp & mask;
    gva_t lin = x86_linear(cpu, X86_SS, sp, size, MMU_READ);
    uint64_t v = read_sized(cpu, lin, size, mmu_index(cpu), false);
    cpu->gpr[X86_RSP] = (rsp & ~mask) | ((sp + size) & mask);
    return v;
}

/* ---------------------------------------------------------------- code fetch */

unsigned x86_fetch_code(struct x86_cpu *cpu, gva_t lin, uint8_t *buf, unsigned len, gpa_t *gpa)
{
    unsigned idx = mmu_index(cpu);
    unsigned n = (unsigned)MIN((uint64_t)len, GUEST_PAGE_SIZE - PAGE_OFF(lin));
    struct tlb *tlb = &cpu->tlb[idx];
    unsigned i = tlb_index(lin);
    gpa_t g;
    if (likely(tlb->e[i].tag_exec == (lin & GUEST_PAGE_MASK)))
        g = tlb->info[i].page_gpa | PAGE_OFF(lin);
    else
        g = translate(cpu, lin, MMU_EXEC, idx, false);
    *gpa = g;

    struct guest_mem *mem = cpu->vcpu.mem;
    uint8_t *h = gpa_map(mem, g, n);
    if (likely(h)) {
        memcpy(buf, h, n);
        if (!gpa_is_code(mem, g) && gpa_mark_code(mem, g))
            x86_code_page_marked(cpu, g & GUEST_PAGE_MASK);   /* every vCPU's TLB */
    } else {
        for (unsigned k = 0; k < n; k++)   /* executing from MMIO (ROM-like devices) */
            buf[k] = (uint8_t)x86_phys_read(cpu, g + k, 1);
    }
    return n;
}

/* ---------------------------------------------------------------- flushes */

void x86_tlb_flush(struct x86_cpu *cpu, bool keep_global)
{
    tlb_flush(&cpu->tlb[0], keep_global);
    tlb_flush(&cpu->tlb[1], keep_global);
    x86_bcache_unchain(cpu);          /* block links assumed the old translations */
}

void x86_tlb_flush_page(struct x86_cpu *cpu, gva_t lin)
{
    tlb_flush_page(&cpu->tlb[0], lin);
    tlb_flush_page(&cpu->tlb[1], lin);
    x86_bcache_unchain(cpu);
}
