/*
 * tests/unit/test_x86_mem.c - cpu/x86/mem.c: segmentation, the software-TLB
 * fast path, the walk slow path, MMIO, code pages, stack.
 *
 * A calloc'd struct x86_cpu in 64-bit mode with 4-level paging over a small
 * guest_mem. Oracles: the host CPU (LEA for effective addresses, its own
 * little-endian loads of the same bytes), the SDM (#PF error codes of
 * Vol. 3A 4.7, D-bit rules of 4.8, segment checks of 5.3, canonical #GP/#SS
 * of Vol. 1 3.3.7.1), and a bus region that records what it was asked.
 * A cached translation surviving a page-table edit until INVLPG is what the
 * SDM allows (4.10.2) and is how a hit is told from a walk.
 */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86/x86.h"

/* ---- weak stubs for the exception helpers (excp.c wins once linked) ---- */

__attribute__((weak)) qt_noreturn void x86_raise_err(struct x86_cpu *cpu, int vector, uint32_t ec)
{
    cpu->exc_vector = vector;
    cpu->exc_error = ec;
    cpu->exc_has_error = true;
    longjmp(*cpu->fault_jmp, 1);
}

__attribute__((weak)) qt_noreturn void x86_raise_pf(struct x86_cpu *cpu, gva_t gva, uint32_t ec)
{
    cpu->cr2 = gva;
    x86_raise_err(cpu, X86_EXC_PF, ec);
}

__attribute__((weak)) qt_noreturn void x86_raise_gp0(struct x86_cpu *cpu)
{
    x86_raise_err(cpu, X86_EXC_GP, 0);
}

/* ---- fixture ---- */

#define EC_P  0x01u   /* SDM Vol. 3A Figure 4-12 */
#define EC_WR 0x02u
#define EC_US 0x04u

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_A  (1ull << 5)
#define PTE_D  (1ull << 6)

#define PML4 0x1000ull

static struct guest_mem mem;
static struct bus bus;
static struct x86_cpu *cpu;
static gpa_t next_table;

static void setup(void)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 4ull << 20, 3ull << 30, NULL), 0);
    bus_init(&bus);
    cpu = calloc(1, sizeof(*cpu));
    cr_assert_not_null(cpu);
    cpu->vcpu.mem = &mem;
    cpu->vcpu.bus = &bus;
    cpu->code_mode = X86_MODE_64;
    cpu->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
    cpu->cr4 = X86_CR4_PAE;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    cpu->cr3 = PML4;
    cpu->rflags = X86_FLAG_FIXED1;
    x86_tlb_flush(cpu, false);
    next_table = 0x2000;
}

static void teardown(void)
{
    free(cpu);
    bus_destroy(&bus);
    guest_mem_destroy(&mem);
}

static uint64_t *pte_ptr(gpa_t table, unsigned idx)
{
    return (uint64_t *)gpa_map(&mem, table + idx * 8ull, 8);
}

/* Map 4 KiB page @gva -> @gpa with leaf flags @flags (upper levels P|RW|US). */
static uint64_t *map_page(gva_t gva, gpa_t gpa, uint64_t flags)
{
    gpa_t table = PML4;
    for (int level = 4; level > 1; level--) {
        uint64_t *e = pte_ptr(table, (gva >> (12 + 9 * (level - 1))) & 511);
        if (!(*e & PTE_P)) {
            *e = next_table | PTE_P | PTE_RW | PTE_US;
            next_table += 0x1000;
        }
        table = *e & 0xffffffffff000ull;
    }
    uint64_t *pte = pte_ptr(table, (gva >> 12) & 511);
    *pte = gpa | flags;
    return pte;
}

/* Run @body; true if it raised, with the vector in cpu->exc_vector. */
#define RAISES(body) ({                              \
        jmp_buf jb_;                                 \
        cpu->fault_jmp = &jb_;                       \
        cpu->exc_vector = -1;                        \
        bool raised_ = false;                        \
        if (setjmp(jb_) == 0) { body; }              \
        else raised_ = true;                         \
        cpu->fault_jmp = NULL;                       \
        raised_; })

TestSuite(x86_mem, .init = setup, .fini = teardown);

Test(x86_mem, tlb_hit_after_miss_until_invlpg)
{
    uint8_t *host = gpa_map(&mem, 0x100000, 0x2000);
    memcpy(host + 0x10, "\x11\x22\x33\x44", 4);
    memcpy(host + 0x1010, "\x55\x66\x77\x88", 4);
    uint64_t *pte = map_page(0x400000, 0x100000, PTE_P | PTE_RW);
    cr_assert_eq(x86_read32(cpu, 0x400010), 0x44332211u);
    cr_assert(*pte & PTE_A, "the miss walked the tables");
    /* Retarget the PTE without INVLPG: the TLB still holds the old translation. */
    *pte = 0x101000 | PTE_P | PTE_RW;
    cr_assert_eq(x86_read32(cpu, 0x400010), 0x44332211u, "second read did not hit the TLB");
    x86_tlb_flush_page(cpu, 0x400abc);
    cr_assert_eq(x86_read32(cpu, 0x400010), 0x88776655u);
}

Test(x86_mem, dirty_bit_only_on_first_write)
{
    uint64_t *pte = map_page(0x400000, 0x100000, PTE_P | PTE_RW);
    (void)x86_read64(cpu, 0x400000);
    cr_assert_eq(*pte & (PTE_A | PTE_D), PTE_A, "a read sets A, not D");
    x86_write16(cpu, 0x400008, 0xbeef);
    cr_assert(*pte & PTE_D, "first write sets D");
    cr_assert_eq(*(uint16_t *)gpa_map(&mem, 0x100008, 2), 0xbeef);
    /* Later writes use the cached dirty translation: no second walk. */
    *pte &= ~PTE_D;
    x86_write16(cpu, 0x40000a, 0x1234);
    cr_assert(!(*pte & PTE_D), "a walk happened on the second write");
    cr_assert_eq(*(uint16_t *)gpa_map(&mem, 0x10000a, 2), 0x1234);
}

Test(x86_mem, read_only_page_faults_with_sdm_error_code)
{
    map_page(0x400000, 0x100000, PTE_P);
    cr_assert_eq(x86_read8(cpu, 0x400000), 0);
    cr_assert(RAISES(x86_write8(cpu, 0x400001, 1)));
    cr_assert_eq(cpu->exc_vector, X86_EXC_PF);
    cr_assert_eq(cpu->exc_error, EC_P | EC_WR);
    cr_assert_eq(cpu->cr2, 0x400001);
    /* CR0.WP = 0 (after the flush CR0 writes do): supervisor may write. */
    cpu->cr0 &= ~X86_CR0_WP;
    x86_tlb_flush(cpu, false);
    x86_write8(cpu, 0x400001, 0x7f);
    cr_assert_eq(*gpa_map(&mem, 0x100001, 1), 0x7f);
}

Test(x86_mem, user_and_supervisor_tlbs)
{
    map_page(0x400000, 0x100000, PTE_P | PTE_RW);            /* supervisor page */
    map_page(0x401000, 0x101000, PTE_P | PTE_RW | PTE_US);   /* user page */
    *gpa_map(&mem, 0x100000, 1) = 0x5a;
    cr_assert_eq(x86_read8(cpu, 0x400000), 0x5a);           /* fills supervisor TLB */
    cpu->cpl = 3;
    cr_assert(RAISES(x86_read8(cpu, 0x400000)), "user read of supervisor page");
    cr_assert_eq(cpu->exc_error, EC_P | EC_US);
    /* An implicit supervisor access (descriptor tables) at CPL 3 is allowed. */
    cr_assert_eq(x86_read_sys(cpu, 0x400000, 1), 0x5a);
    x86_write8(cpu, 0x401000, 3);
    cr_assert_eq(*gpa_map(&mem, 0x101000, 1), 3);
    cr_assert(RAISES(x86_write8(cpu, 0x402000, 3)));
    cr_assert_eq(cpu->exc_error, EC_WR | EC_US, "not present, user write");
}

Test(x86_mem, cross_page_access)
{
    /* Two virtually adjacent pages on physically distant frames. */
    map_page(0x400000, 0x105000, PTE_P | PTE_RW);
    map_page(0x401000, 0x102000, PTE_P | PTE_RW);
    uint8_t bytes[8] = {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87};
    memcpy(gpa_map(&mem, 0x105ffd, 3), bytes, 3);
    memcpy(gpa_map(&mem, 0x102000, 5), bytes + 3, 5);
    uint64_t host_view;
    memcpy(&host_view, bytes, 8);       /* the host's own little-endian load */
    cr_assert_eq(x86_read64(cpu, 0x400ffd), host_view);
    x86_write32(cpu, 0x400ffe, 0x01020304);
    cr_assert_eq(*gpa_map(&mem, 0x105ffe, 1), 0x04);
    cr_assert_eq(*gpa_map(&mem, 0x105fff, 1), 0x03);
    cr_assert_eq(*gpa_map(&mem, 0x102000, 1), 0x02);
    cr_assert_eq(*gpa_map(&mem, 0x102001, 1), 0x01);
}

Test(x86_mem, cross_page_store_fault_writes_nothing)
{
    map_page(0x400000, 0x105000, PTE_P | PTE_RW | PTE_D | PTE_A);
    map_page(0x401000, 0x102000, PTE_RW);                    /* not present */
    memset(gpa_map(&mem, 0x105ff0, 16), 0xcc, 16);
    (void)x86_read8(cpu, 0x400ff0);                          /* first page in the TLB */
    cr_assert(RAISES(x86_write64(cpu, 0x400ffc, 0x1122334455667788ull)));
    cr_assert_eq(cpu->exc_vector, X86_EXC_PF);
    cr_assert_eq(cpu->exc_error, EC_WR);
    cr_assert(cpu->cr2 >= 0x401000 && cpu->cr2 < 0x401004, "CR2 on the second page");
    for (int i = 0; i < 16; i++)
        cr_assert_eq(*gpa_map(&mem, 0x105ff0 + i, 1), 0xcc, "byte %d of page 1 written", i);
    /* Same for a multi-part store. */
    uint8_t buf[32] = {0};
    cr_assert(RAISES(x86_write_bytes(cpu, 0x400ff0, buf, 32)));
    cr_assert_eq(*gpa_map(&mem, 0x105ff0, 1), 0xcc);
}

struct hook_log { int calls; gpa_t page; uint8_t byte_seen; };
static struct hook_log hlog;

static void code_hook(void *opaque, gpa_t page)
{
    (void)opaque;
    hlog.calls++;
    hlog.page = page;
}

Test(x86_mem, store_to_code_page_calls_hook)
{
    mem.code_write = code_hook;
    hlog = (struct hook_log){0};
    map_page(0x400000, 0x103000, PTE_P | PTE_RW);
    /* Fill a fast write entry first, then the page becomes code. */
    x86_write8(cpu, 0x400100, 0x90);
    cr_assert_eq(hlog.calls, 0);
    uint8_t insn[4];
    gpa_t gpa;
    unsigned n = x86_fetch_code(cpu, 0x400100, insn, 4, &gpa);
    cr_assert_eq(n, 4);
    cr_assert_eq(gpa, 0x103100);
    cr_assert_eq(insn[0], 0x90);
    cr_assert(gpa_is_code(&mem, 0x103000));
    x86_write8(cpu, 0x400100, 0xcc);
    cr_assert_eq(hlog.calls, 1, "store to a code page missed the hook");
    cr_assert_eq(hlog.page, 0x103000);
    cr_assert_eq(*gpa_map(&mem, 0x103100, 1), 0xcc, "the store must still land");
    /* Once the hook has run the page is data again: no more calls. */
    x86_write8(cpu, 0x400101, 0xcc);
    cr_assert_eq(hlog.calls, 1);
    /* Fetch stops at the end of the page. */
    n = x86_fetch_code(cpu, 0x400ffe, insn, 4, &gpa);
    cr_assert_eq(n, 2);
}

Test(x86_mem, fetch_from_nx_page_faults)
{
    map_page(0x400000, 0x103000, PTE_P | PTE_RW | (1ull << 63));
    uint8_t b;
    gpa_t gpa;
    cr_assert(RAISES(x86_fetch_code(cpu, 0x400000, &b, 1, &gpa)));
    cr_assert_eq(cpu->exc_error, EC_P | 0x10u, "P + I/D (SDM 4.7)");
}

/* An MMIO register file that records the last access. */
struct mmio_dev { uint64_t last_off; unsigned last_size; int reads, writes; uint64_t written; };

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    struct mmio_dev *d = opaque;
    d->last_off = off;
    d->last_size = size;
    d->reads++;
    return 0xa0a0a0a000000000ull | off;
}

static void dev_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct mmio_dev *d = opaque;
    d->last_off = off;
    d->last_size = size;
    d->writes++;
    d->written = value;
}

static const struct io_ops dev_ops = { .read = dev_read, .write = dev_write };

Test(x86_mem, mmio_goes_to_the_bus)
{
    struct mmio_dev dev = {0};
    struct io_region reg = { .base = 0xfee00000, .size_bytes = 0x1000, .ops = &dev_ops,
                             .opaque = &dev, .name = "test" };
    cr_assert_eq(io_space_add(&bus.mmio, &reg), 0);
    map_page(0x7000000, 0xfee00000, PTE_P | PTE_RW | PTE_A | PTE_D);
    cr_assert_eq(x86_read32(cpu, 0x7000030), 0x30u);
    cr_assert_eq(dev.last_off, 0x30);
    cr_assert_eq(dev.last_size, 4);
    cr_assert_eq(x86_read32(cpu, 0x7000030), 0x30u);
    cr_assert_eq(dev.reads, 2, "MMIO must never be served from the TLB fast path");
    x86_write32(cpu, 0x70000b0, 0);
    cr_assert_eq(dev.writes, 1);
    cr_assert_eq(dev.last_off, 0xb0);
    x86_write16(cpu, 0x70000b2, 0xabcd);
    cr_assert_eq(dev.writes, 2);
    cr_assert_eq(dev.written, 0xabcd);
    cr_assert_eq(dev.last_size, 2);
    /* Physical access straight to the bus. */
    cr_assert_eq(x86_phys_read(cpu, 0xfee00008, 8), 0xa0a0a0a000000008ull);
}

Test(x86_mem, effective_address_matches_host_lea)
{
    struct x86_insn insn = { .base = X86_RBX, .index = X86_RSI, .scale = 3, .disp = -8,
                             .addrsize = 4, .seg = X86_DS, .flags = X86_INSN_MEM };
    uint64_t rbx = 0x12345678fffffff0ull, rsi = 0x3;
    cpu->gpr[X86_RBX] = rbx;
    cpu->gpr[X86_RSI] = rsi;
    uint32_t host32;
    __asm__("leal -8(%1,%2,8), %0" : "=r"(host32) : "r"(rbx), "r"(rsi));
    cr_assert_eq(x86_ea(cpu, &insn), host32);
    insn.addrsize = 8;
    uint64_t host64;
    __asm__("leaq -8(%1,%2,8), %0" : "=r"(host64) : "r"(rbx), "r"(rsi));
    cr_assert_eq(x86_ea(cpu, &insn), host64);
    /* RIP-relative: from the next instruction. */
    insn.base = X86_REG_RIP;
    insn.index = X86_REG_NONE;
    insn.disp = 0x100;
    cpu->next_rip = 0xffffffff81000010ull;
    cr_assert_eq(x86_ea(cpu, &insn), 0xffffffff81000110ull);
}

Test(x86_mem, long_mode_segmentation)
{
    cpu->seg[X86_FS].base = 0x10000;
    cpu->seg[X86_DS].base = 0x99999;   /* ignored in 64-bit mode */
    cr_assert_eq(x86_linear(cpu, X86_FS, 0x20, 4, MMU_READ), 0x10020);
    cr_assert_eq(x86_linear(cpu, X86_DS, 0x20, 4, MMU_READ), 0x20);
    cr_assert(RAISES(x86_linear(cpu, X86_DS, 0x0000800000000000ull, 1, MMU_READ)));
    cr_assert_eq(cpu->exc_vector, X86_EXC_GP);
    cr_assert_eq(cpu->exc_error, 0);
    cr_assert(RAISES(x86_linear(cpu, X86_SS, 0x00007ffffffffffcull, 8, MMU_WRITE)),
              "last byte non-canonical");
    cr_assert_eq(cpu->exc_vector, X86_EXC_SS);
    cr_assert_eq(x86_linear(cpu, X86_DS, 0xffff800000000000ull, 8, MMU_READ),
                 0xffff800000000000ull);
    /* With LA57, 57-bit canonical addresses are fine. */
    cpu->cr4 |= X86_CR4_LA57;
    cr_assert_eq(x86_linear(cpu, X86_DS, 0x0000800000000000ull, 1, MMU_READ),
                 0x0000800000000000ull);
}

static void set_seg(int sreg, uint64_t base, uint32_t limit, uint16_t attr)
{
    cpu->seg[sreg].base = base;
    cpu->seg[sreg].limit = limit;
    cpu->seg[sreg].attr = attr;
}

Test(x86_mem, protected_mode_segmentation)
{
    cpu->code_mode = X86_MODE_32;
    cpu->efer = 0;
    cpu->cr0 = X86_CR0_PE;
    /* Data read/write, present, S: type 3 (accessed RW). */
    set_seg(X86_DS, 0x1000, 0xfff, X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x3 | X86_SEG_ATTR_DB);
    cr_assert_eq(x86_linear(cpu, X86_DS, 0xffc, 4, MMU_WRITE), 0x1ffc);
    cr_assert(RAISES(x86_linear(cpu, X86_DS, 0xffd, 4, MMU_READ)), "past the limit");
    cr_assert_eq(cpu->exc_vector, X86_EXC_GP);
    /* Read-only data segment: writes #GP(0). */
    set_seg(X86_ES, 0, 0xffffffff, X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x1);
    cr_assert(RAISES(x86_linear(cpu, X86_ES, 0, 1, MMU_WRITE)));
    /* Execute-only code segment: reads #GP(0). */
    set_seg(X86_CS, 0, 0xffffffff, X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x9);
    cr_assert(RAISES(x86_linear(cpu, X86_CS, 0, 1, MMU_READ)));
    /* Expand-down stack, B=1: valid offsets are limit+1 .. 0xFFFFFFFF; #SS outside. */
    set_seg(X86_SS, 0, 0xfff, X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x7 | X86_SEG_ATTR_DB);
    cr_assert_eq(x86_linear(cpu, X86_SS, 0x1000, 4, MMU_WRITE), 0x1000);
    cr_assert(RAISES(x86_linear(cpu, X86_SS, 0xffe, 4, MMU_WRITE)));
    cr_assert_eq(cpu->exc_vector, X86_EXC_SS);
    /* Null (unusable) segment. */
    set_seg(X86_GS, 0, 0, 0);
    cr_assert(RAISES(x86_linear(cpu, X86_GS, 0, 1, MMU_READ)));
    cr_assert_eq(cpu->exc_vector, X86_EXC_GP);
    /* Base + offset wraps at 4 GiB. */
    set_seg(X86_FS, 0xfffff000, 0xffffffff, X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x3);
    cr_assert_eq(x86_linear(cpu, X86_FS, 0x2000, 4, MMU_READ), 0x1000);
}

Test(x86_mem, push_pop_64)
{
    map_page(0x600000, 0x104000, PTE_P | PTE_RW);
    cpu->gpr[X86_RSP] = 0x601000;
    x86_push(cpu, 0x1122334455667788ull, 8);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x600ff8);
    cr_assert_eq(*(uint64_t *)gpa_map(&mem, 0x104ff8, 8), 0x1122334455667788ull);
    x86_push(cpu, 0xabcd, 2);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x600ff6);
    cr_assert_eq(x86_pop(cpu, 2), 0xabcd);
    cr_assert_eq(x86_pop(cpu, 8), 0x1122334455667788ull);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x601000);
    /* A faulting push leaves RSP alone. */
    cpu->gpr[X86_RSP] = 0x600000;
    cr_assert(RAISES(x86_push(cpu, 1, 8)));
    cr_assert_eq(cpu->exc_vector, X86_EXC_PF);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x600000);
}

Test(x86_mem, push_16bit_stack_wraps_sp)
{
    cpu->code_mode = X86_MODE_16;
    cpu->efer = 0;
    cpu->cr0 = 0;                          /* real mode, no paging */
    x86_tlb_flush(cpu, false);
    set_seg(X86_SS, 0x20000, 0xffff, X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0x3);
    cpu->gpr[X86_RSP] = 0xdead0000;        /* only SP is used and changed */
    cr_assert_eq(x86_stack_size(cpu), 2);
    x86_push(cpu, 0x4321, 2);
    cr_assert_eq(cpu->gpr[X86_RSP], 0xdeadfffe);
    cr_assert_eq(*(uint16_t *)gpa_map(&mem, 0x2fffe, 2), 0x4321);
    cr_assert_eq(x86_pop(cpu, 2), 0x4321);
    cr_assert_eq(cpu->gpr[X86_RSP], 0xdead0000);
}

Test(x86_mem, rm_operand_register_or_memory)
{
    struct x86_insn insn = { .rm = X86_RSP, .flags = X86_INSN_MODRM };   /* mod == 3 */
    cpu->gpr[X86_RSP] = 0x1234;
    cpu->gpr[X86_RAX] = 0xff00;
    cr_assert_eq(x86_rm_read(cpu, &insn, 1), 0xff, "AH without REX");
    x86_rm_write(cpu, &insn, 4, 0xffffffff00000001ull);
    cr_assert_eq(cpu->gpr[X86_RSP], 1, "32-bit writes zero-extend");
    map_page(0x400000, 0x100000, PTE_P | PTE_RW);
    struct x86_insn m = { .base = X86_RBX, .index = X86_REG_NONE, .disp = 0x10, .addrsize = 8,
                          .seg = X86_DS, .flags = X86_INSN_MODRM | X86_INSN_MEM };
    cpu->gpr[X86_RBX] = 0x400000;
    x86_rm_write(cpu, &m, 8, 0x0102030405060708ull);
    cr_assert_eq(*(uint64_t *)gpa_map(&mem, 0x100010, 8), 0x0102030405060708ull);
    cr_assert_eq(x86_rm_read(cpu, &m, 2), 0x0708);
}

Test(x86_mem, bytes_and_probe)
{
    map_page(0x400000, 0x100000, PTE_P | PTE_RW);
    map_page(0x401000, 0x108000, PTE_P | PTE_RW);
    uint8_t src[100], dst[100];
    for (int i = 0; i < 100; i++)
        src[i] = (uint8_t)(i * 7 + 1);
    x86_write_bytes(cpu, 0x400fd0, src, 100);
    x86_read_bytes(cpu, 0x400fd0, dst, 100);
    cr_assert_arr_eq(src, dst, 100);
    cr_assert_eq(*gpa_map(&mem, 0x108000, 1), src[0x30]);
    x86_probe_write(cpu, 0x400000, 0x2000);
    cr_assert(RAISES(x86_probe_write(cpu, 0x401ff0, 0x20)));
    cr_assert_eq(cpu->cr2, 0x402000);
}

Test(x86_mem, invlpg_of_large_page_and_global_entries)
{
    /* 2 MiB page at gva 0x800000 -> gpa 0x200000, global (CR4.PGE). */
    cpu->cr4 |= X86_CR4_PGE;
    map_page(0x400000, 0x100000, PTE_P | PTE_RW);           /* builds the PD */
    uint64_t *pde = pte_ptr(0x3000, 4);                       /* PD: second table allocated */
    cr_assert_eq(*pte_ptr(0x3000, 2) & ~0xfffull, 0x4000, "fixture layout");
    *pde = 0x200000 | (1ull << 7) | (1ull << 8) | PTE_P | PTE_RW;
    *gpa_map(&mem, 0x200000, 1) = 1;
    *gpa_map(&mem, 0x3ff000, 1) = 2;
    cr_assert_eq(x86_read8(cpu, 0x800000), 1);
    cr_assert_eq(x86_read8(cpu, 0x9ff000), 2);
    /* Retarget the large page; a CR3 write keeps global entries (SDM 4.10.4.1). */
    *pde = 0x000000 | (1ull << 7) | (1ull << 8) | PTE_P | PTE_RW;
    x86_tlb_flush(cpu, true);
    cr_assert_eq(x86_read8(cpu, 0x9ff000), 2, "global entry dropped by a CR3 flush");
    /* INVLPG of any address in the 2 MiB page drops every piece of it. */
    x86_tlb_flush_page(cpu, 0x812345);
    *gpa_map(&mem, 0x1ff000, 1) = 3;
    cr_assert_eq(x86_read8(cpu, 0x9ff000), 3, "stale piece of a large page after INVLPG");
}
