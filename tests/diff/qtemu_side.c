/*
 * tests/diff/qtemu_side.c - the qtemu side of the differential harness: a
 * real vCPU (-cpu max) on real guest RAM, in the state of a Linux user
 * process: 64-bit mode, CPL 3 (CS 0x33, SS 0x2b as on Linux), CR0 with
 * PE/MP/ET/NE/WP/AM/PG, CR4 with PAE/OSFXSR/OSXMMEXCPT/OSXSAVE, XCR0 =
 * x87|SSE|AVX, EFER LME/LMA/NXE/SCE.
 *
 * Page tables (4-level, SDM Vol. 3A 4.5) at guest-physical 0x1000..0x4fff map
 * exactly two 4 KiB user pages 1:1: DIFF_CODE and DIFF_DATA; everything else
 * is not present, as in the native child (where only those two pages and
 * the state page, which the instruction never addresses, exist).
 *
 * One case = load the state image into struct x86_cpu, write the code bytes
 * (followed by UD2) and the data page through gpa_write (which invalidates
 * cached blocks of the code page: SMC path), then execute exactly one
 * instruction the way the run loop's single-step path does
 * (x86_block_lookup + the first predecoded handler) under our own fault
 * frame, so an exception is reported as its vector instead of delivered.
 */
#include <errno.h>
#include <setjmp.h>
#include <string.h>

#include "cpu/x86/block.h"
#include "cpu/x86/sys.h"
#include "cpu/x86/x86.h"
#include "devices/bus.h"
#include "mmu/mmu.h"
#include "tests/diff/diff.h"

static struct guest_mem q_mem;
static struct bus q_bus;
static struct vcpu *q_v;
static struct x86_cpu *q_cpu;

static void w64(uint64_t gpa, uint64_t v)
{
    gpa_write(&q_mem, gpa, &v, 8);
}

int qside_init(void)
{
    int rc = guest_mem_init_pc(&q_mem, 16ull << 20, 0xC0000000ull, NULL);
    if (rc)
        return rc;
    bus_init(&q_bus);
    q_v = x86_vcpu_create(0, X86_CPU_MAX, &q_mem, &q_bus);
    if (!q_v)
        return -ENOMEM;
    q_cpu = x86_cpu_of(q_v);
    /* PML4[0] -> PDPT[0] -> PD[3] -> PT: entries 0 (CODE) and 0x10 (DATA). */
    w64(0x1000, 0x2000 | 7);
    w64(0x2000, 0x3000 | 7);
    w64(0x3000 + 8 * (DIFF_CODE >> 21), 0x4000 | 7);
    w64(0x4000 + 8 * ((DIFF_CODE >> 12) & 511), DIFF_CODE | 7);
    w64(0x4000 + 8 * ((DIFF_DATA >> 12) & 511), DIFF_DATA | 7);
    x86_vcpu_setup_long_entry(q_v, DIFF_CODE, 0, 0x1000, 0x800, 0x4f);

    struct x86_cpu *cpu = q_cpu;
    x86_seg_from_desc(&cpu->seg[X86_CS], 0x33, 0x00affb000000ffffull);
    x86_seg_from_desc(&cpu->seg[X86_SS], 0x2b, 0x00cff3000000ffffull);
    x86_seg_from_desc(&cpu->seg[X86_DS], 0, 0x00cff3000000ffffull);
    x86_seg_from_desc(&cpu->seg[X86_ES], 0, 0x00cff3000000ffffull);
    x86_seg_from_desc(&cpu->seg[X86_FS], 0, 0x00cff3000000ffffull);
    x86_seg_from_desc(&cpu->seg[X86_GS], 0, 0x00cff3000000ffffull);
    cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM |
               X86_CR0_PG;
    cpu->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_OSXSAVE;
    cpu->xcr0 = 7;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | X86_EFER_SCE;
    x86_update_mode(cpu);
    cpu->exit_block = false;
    x86_tlb_flush(cpu, false);
    return cpu->cpl == 3 && cpu->code_mode == X86_MODE_64 ? 0 : -EINVAL;
}

void qside_fini(void)
{
    if (q_v)
        q_v->ops->destroy(q_v);
    bus_destroy(&q_bus);
    guest_mem_destroy(&q_mem);
}

void qside_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    x86_cpuid(q_cpu, leaf, sub, out);
}

int qside_decode(const uint8_t *bytes, unsigned n, uint16_t *flags, bool *has_handler,
                 uint8_t *opsize)
{
    struct x86_insn insn;
    int len = x86_decode(bytes, n, X86_MODE_64, &insn);
    if (len < 0)
        return len;
    *flags = insn.flags;
    *opsize = insn.opsize;
    x86_exec_fn fn = x86_exec_lookup(&insn);
    *has_handler = fn && fn != x86_op_ud;
    return len;
}

/* x87 tag of an 80-bit value (SDM Vol. 1 8.1.7): 0 valid, 1 zero, 2 special. */
static unsigned fp_tag(const uint8_t *v)
{
    uint64_t mant;
    uint16_t se;
    memcpy(&mant, v, 8);
    memcpy(&se, v + 8, 2);
    unsigned exp = se & 0x7fff;
    if (exp == 0x7fff)
        return 2;
    if (exp == 0)
        return mant ? 2 : 1;
    return (mant >> 63) ? 0 : 2;
}

static void load_state(struct x86_cpu *cpu, const struct diff_state *s)
{
    memcpy(cpu->gpr, s->gpr, sizeof(cpu->gpr));
    x86_set_rflags(cpu, s->rflags);
    uint16_t fcw, fsw;
    uint32_t mxcsr;
    memcpy(&fcw, s->fx + FX_FCW, 2);
    memcpy(&fsw, s->fx + FX_FSW, 2);
    memcpy(&mxcsr, s->fx + FX_MXCSR, 4);
    cpu->fcw = fcw;
    cpu->fsw = fsw;
    cpu->mxcsr = mxcsr;
    cpu->fop = 0;
    cpu->fip = cpu->fdp = 0;
    cpu->fcs = cpu->fds = 0;
    unsigned top = (fsw >> 11) & 7;
    uint8_t atw = s->fx[FX_FTW];
    uint16_t ftw = 0;
    for (unsigned i = 0; i < 8; i++) {   /* i = stack index */
        unsigned phys = (top + i) & 7;
        memset(&cpu->st[phys], 0, sizeof(cpu->st[phys]));
        memcpy(cpu->st[phys].bytes, s->fx + FX_ST(i), 10);
        unsigned tag = (atw >> phys) & 1 ? fp_tag(s->fx + FX_ST(i)) : 3;
        ftw |= (uint16_t)(tag << (2 * phys));
    }
    cpu->ftw = ftw;
    for (unsigned i = 0; i < 16; i++) {
        memcpy(cpu->xmm[i].u8, s->ymm[i], 16);
        memcpy(cpu->ymmh[i].u8, s->ymm[i] + 16, 16);
    }
}

static void save_state(struct x86_cpu *cpu, struct diff_state *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->gpr, cpu->gpr, sizeof(cpu->gpr));
    s->rflags = x86_get_rflags(cpu);
    memcpy(s->fx + FX_FCW, &cpu->fcw, 2);
    memcpy(s->fx + FX_FSW, &cpu->fsw, 2);
    memcpy(s->fx + FX_MXCSR, &cpu->mxcsr, 4);
    unsigned top = (cpu->fsw >> 11) & 7;
    uint8_t atw = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((cpu->ftw >> (2 * p)) & 3) != 3)
            atw |= (uint8_t)(1u << p);
    s->fx[FX_FTW] = atw;
    for (unsigned i = 0; i < 8; i++)
        memcpy(s->fx + FX_ST(i), cpu->st[(top + i) & 7].bytes, 10);
    for (unsigned i = 0; i < 16; i++) {
        memcpy(s->ymm[i], cpu->xmm[i].u8, 16);
        memcpy(s->ymm[i] + 16, cpu->ymmh[i].u8, 16);
    }
}

void qside_run(const struct diff_case *c, struct diff_result *r)
{
    struct x86_cpu *cpu = q_cpu;
    uint8_t code[32];
    memset(code, 0, sizeof(code));
    memcpy(code, c->bytes, c->len);
    code[c->len] = 0x0f;                 /* UD2 after it ends the block */
    code[c->len + 1] = 0x0b;
    gpa_write(&q_mem, DIFF_CODE + DIFF_INSN_OFF, code, c->len + 2u);
    gpa_write(&q_mem, DIFF_DATA, c->data, DIFF_PAGE);
    load_state(cpu, &c->in);
    cpu->rip = DIFF_CODE + DIFF_INSN_OFF;
    cpu->exc_nesting = 0;
    cpu->exit_block = false;

    jmp_buf jb;
    cpu->fault_jmp = &jb;
    cpu->exc_vector = -1;
    r->vec = -1;
    r->err = 0;
    if (setjmp(jb) == 0) {
        struct x86_block *b = x86_block_lookup(cpu);
        const struct x86_binsn *bi = b->insns;
        cpu->next_rip = cpu->rip + bi->insn.len;
        bi->fn(cpu, &bi->insn);
        cpu->rip = cpu->next_rip;
    } else {
        r->vec = cpu->exc_vector;
        r->err = cpu->exc_error;
        cpu->exc_nesting = 0;
    }
    cpu->fault_jmp = NULL;
    cpu->exit_block = false;
    x86_bcache_collect(cpu);
    save_state(cpu, &r->out);
    gpa_read(&q_mem, DIFF_DATA, r->data, DIFF_PAGE);
}
