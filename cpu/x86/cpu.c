/*
 * cpu/x86/cpu.c - the x86-64 interpreter vCPU: object, reset, run loop,
 * interrupt acceptance, boot entry states, and the vcpu_ops the rest of
 * qtemu sees (cpu/vcpu.h).
 *
 * Run loop: look up the predecoded block at CS:RIP, run its handlers back to
 * back (no decoding), commit RIP after each, leave the block early when a
 * handler sets exit_block. Interrupts, NMIs and the attention word are
 * polled at block boundaries (STYLE 2). Faults longjmp back here from
 * anywhere (x86_raise*), with guest state as before the faulting
 * instruction, and are delivered by x86_handle_exception (excp.c).
 *
 * The CS limit is checked on instruction fetch outside 64-bit mode (SDM
 * Vol. 3A 5.3): a block that does not fit below the limit runs only the
 * instructions that do; the first one that crosses it raises #GP(0).
 *
 * Decided: interrupt recognition happens only at block boundaries. Blocks
 * are at most X86_BLOCK_MAX_INSNS long and REP string instructions yield
 * every few thousand iterations, so the latency is bounded. STI and MOV SS
 * end their block; when an interrupt is waiting, the next block is cut to
 * the one shadowed instruction, so the interrupt arrives right after it.
 *
 * SMP (SDM Vol. 3A 9.4 "Multiple-Processor (MP) Initialization", 10.6.1):
 *  - the BSP is the vCPU whose APIC reports IA32_APIC_BASE.BSP (vCPU 0
 *    before the board installs the APIC); every other vCPU comes out of
 *    reset in the wait-for-SIPI state (halted; INTR, NMI blocked), which is
 *    where a BIOS would park the APs: there is no firmware;
 *  - CPU_PIN_INIT latches an INIT; the run loop performs it at the next
 *    block boundary: the Table 9-1 INIT state, which differs from reset in
 *    keeping x87/SSE/AVX state, MXCSR, XCR0, CR0.CD/NW, the TSC, the MTRRs
 *    and the other MSRs; an AP then waits for SIPI, the BSP restarts at the
 *    reset vector. A SIPI with vector VV starts a waiting AP in real mode at
 *    CS = VV00h (base VV000h), IP = 0 (9.4.4.1); a SIPI that finds the CPU
 *    not waiting is ignored, as is the second one of INIT-SIPI-SIPI;
 *  - self-modifying code across vCPUs: each vCPU has its own block cache
 *    and TLB, the code-page bitmap is per guest_mem; its hook points at the
 *    group of vCPUs sharing that memory and fans out (see x86_smc_group);
 *  - the run loop sets bus_current_cpu() for the slice, so the banked local
 *    APIC page reaches this vCPU's APIC.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/x86/block.h"
#include "cpu/x86/x86.h"
#include "util/clock.h"
#include "util/log.h"

void x86_op_ud(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (log_enabled(LOG_UNIMP)) {
        qlog(LOG_UNIMP, "x86: #UD for opcode map %u byte 0x%02x (mprefix %u, /%u) at rip 0x%" PRIx64,
             insn->op >> 8, insn->op & 0xff, insn->mprefix, x86_modrm_digit(insn), cpu->rip);
    }
    x86_raise(cpu, X86_EXC_UD);
}

/* ---------------------------------------------------------------- reset */

static void seg_set(struct x86_seg *s, uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr)
{
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->attr = attr;
}

/*
 * Is this the bootstrap processor? The APIC's IA32_APIC_BASE.BSP says (SDM
 * Vol. 3A 10.4.4); before the board installs the APIC, vCPU 0 is.
 */
static bool x86_is_bsp(struct x86_cpu *cpu)
{
    struct vcpu *v = &cpu->vcpu;
    uint64_t base;
    if (v->intc.msr_read && v->intc.msr_read(v->intc.opaque, MSR_IA32_APIC_BASE, &base))
        return (base & (1ull << 8)) != 0;
    return v->index == 0;
}

/** Power-on / INIT state, SDM Vol. 3A 9.1.1 Table 9-1. */
static void x86_reset(struct vcpu *v)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    memset(cpu->gpr, 0, sizeof(cpu->gpr));
    cpu->gpr[X86_RDX] = 0x00000600;   /* family 6 signature, as QEMU's qemu64 */
    cpu->rip = 0xfff0;
    cpu->next_rip = cpu->rip;
    cpu->rflags = X86_FLAG_FIXED1;
    memset(&cpu->cc, 0, sizeof(cpu->cc));
    cpu->cc.op = CC_OP_EFLAGS;
    /* Data segments: present, read/write, accessed (0x93). */
    for (int i = 0; i < X86_SREG_COUNT; i++)
        seg_set(&cpu->seg[i], 0, 0, 0xffff, 0x93);
    seg_set(&cpu->seg[X86_CS], 0xf000, 0xffff0000, 0xffff, 0x9b);
    seg_set(&cpu->ldtr, 0, 0, 0xffff, 0x82);
    seg_set(&cpu->tr, 0, 0, 0xffff, 0x8b);
    cpu->gdtr = (struct x86_dtr){ 0, 0xffff };
    cpu->idtr = (struct x86_dtr){ 0, 0xffff };
    cpu->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
    cpu->efer = 0;
    cpu->xcr0 = 1;
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xffff0ff0;
    cpu->dr[7] = 0x400;
    cpu->dr_hits = 0;
    cpu->task_trap = false;
    x86_dr_update(cpu);
    cpu->cpl = 0;
    cpu->code_mode = X86_MODE_16;
    cpu->a20_enabled = true;
    cpu->star = cpu->lstar = cpu->cstar = cpu->sfmask = cpu->kernel_gs_base = 0;
    cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
    cpu->pat = 0x0007040600070406ull;
    cpu->tsc_aux = 0;
    cpu->misc_enable = 1;   /* fast strings, as QEMU */
    cpu->tsc_offset = 0;
    cpu->halted = false;
    cpu->nmi_pending = cpu->nmi_blocked = cpu->init_pending = false;
    cpu->sipi_vector = -1;
    /* No firmware: the APs go straight to wait-for-SIPI (9.4, see header). */
    cpu->wait_for_sipi = !x86_is_bsp(cpu);   /* SDM Vol. 3A 9.4.1-9.4.2 BSP/AP roles */
    cpu->halted = cpu->wait_for_sipi;
    cpu->intr_shadow = false;
    cpu->exc_nesting = 0;
    cpu->shutdown_requested = false;
    x86_fpu_reset(cpu);
    x86_tlb_flush(cpu, false);
    if (log_enabled(LOG_CPU_RESET)) {
        qlog(LOG_CPU_RESET, "CPU %d reset%s", v->index, cpu->wait_for_sipi ? " (wait for SIPI)" : "");
        v->ops->dump(v, log_file());
    }
}

/** State an INIT leaves unchanged (SDM Vol. 3A Table 9-1, "INIT: Unchanged"). */
struct x86_init_kept {
    union x86_fpreg st[8];
    uint16_t fcw, fsw, ftw, fop, fcs, fds;
    uint64_t fip, fdp;
    union x86_xmm xmm[16], ymmh[16];
    uint32_t mxcsr;
    uint64_t xcr0, cr0_cache;
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat, tsc_aux, misc_enable;
    int64_t tsc_offset;
    uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];
};

/*
 * INIT (SDM Vol. 3A 9.1.1 Table 9-1 and its note 2): the reset state except
 * for x87/SSE/AVX registers, MXCSR, the TSC, the MTRRs and "all other MSRs",
 * and CR0.CD/NW; XCR0 too (KVM: "XCR0 is reset to 1 by RESET but not INIT").
 * EFER is cleared (the CPU is back in real mode). The local APIC did its own
 * INIT when it accepted the message (devices/lapic.c).
 */
static void x86_init(struct x86_cpu *cpu)
{
    struct x86_init_kept k;
    memcpy(k.st, cpu->st, sizeof(k.st));
    k.fcw = cpu->fcw; k.fsw = cpu->fsw; k.ftw = cpu->ftw; k.fop = cpu->fop;
    k.fcs = cpu->fcs; k.fds = cpu->fds; k.fip = cpu->fip; k.fdp = cpu->fdp;
    memcpy(k.xmm, cpu->xmm, sizeof(k.xmm));
    memcpy(k.ymmh, cpu->ymmh, sizeof(k.ymmh));
    k.mxcsr = cpu->mxcsr;
    k.xcr0 = cpu->xcr0;
    k.cr0_cache = cpu->cr0 & (X86_CR0_CD | X86_CR0_NW);
    k.star = cpu->star; k.lstar = cpu->lstar; k.cstar = cpu->cstar; k.sfmask = cpu->sfmask;
    k.kernel_gs_base = cpu->kernel_gs_base;
    k.sysenter_cs = cpu->sysenter_cs; k.sysenter_esp = cpu->sysenter_esp;
    k.sysenter_eip = cpu->sysenter_eip;
    k.pat = cpu->pat; k.tsc_aux = cpu->tsc_aux; k.misc_enable = cpu->misc_enable;
    k.tsc_offset = cpu->tsc_offset;
    k.mtrr_def_type = cpu->mtrr_def_type;
    memcpy(k.mtrr_fixed, cpu->mtrr_fixed, sizeof(k.mtrr_fixed));
    memcpy(k.mtrr_var, cpu->mtrr_var, sizeof(k.mtrr_var));

    x86_reset(&cpu->vcpu);

    memcpy(cpu->st, k.st, sizeof(k.st));
    cpu->fcw = k.fcw; cpu->fsw = k.fsw; cpu->ftw = k.ftw; cpu->fop = k.fop;
    cpu->fcs = k.fcs; cpu->fds = k.fds; cpu->fip = k.fip; cpu->fdp = k.fdp;
    memcpy(cpu->xmm, k.xmm, sizeof(k.xmm));
    memcpy(cpu->ymmh, k.ymmh, sizeof(k.ymmh));
    cpu->mxcsr = k.mxcsr;
    cpu->xcr0 = k.xcr0;
    cpu->cr0 = (cpu->cr0 & ~(X86_CR0_CD | X86_CR0_NW)) | k.cr0_cache;
    cpu->star = k.star; cpu->lstar = k.lstar; cpu->cstar = k.cstar; cpu->sfmask = k.sfmask;
    cpu->kernel_gs_base = k.kernel_gs_base;
    cpu->sysenter_cs = k.sysenter_cs; cpu->sysenter_esp = k.sysenter_esp;
    cpu->sysenter_eip = k.sysenter_eip;
    cpu->pat = k.pat; cpu->tsc_aux = k.tsc_aux; cpu->misc_enable = k.misc_enable;
    cpu->tsc_offset = k.tsc_offset;
    cpu->mtrr_def_type = k.mtrr_def_type;
    memcpy(cpu->mtrr_fixed, k.mtrr_fixed, sizeof(k.mtrr_fixed));
    memcpy(cpu->mtrr_var, k.mtrr_var, sizeof(k.mtrr_var));
}

/*
 * Act on a latched INIT and/or SIPI (header: SMP). The pin handler clears a
 * latched SIPI when an INIT arrives, so a SIPI seen together with an INIT
 * came after it and applies to the wait-for-SIPI state the INIT enters.
 */
static void x86_take_init_sipi(struct x86_cpu *cpu)
{
    if (cpu->init_pending) {
        int sipi = cpu->sipi_vector;
        qlog(LOG_INT, "x86: CPU %d INIT", cpu->vcpu.index);
        x86_init(cpu);
        cpu->sipi_vector = sipi;
    }
    if (cpu->sipi_vector >= 0) {
        unsigned vv = (unsigned)cpu->sipi_vector & 0xff;
        cpu->sipi_vector = -1;
        if (!cpu->wait_for_sipi)
            return;                       /* not waiting: ignored, e.g. the second SIPI */
        qlog(LOG_INT, "x86: CPU %d SIPI vector 0x%02x: start at %04x:0000", cpu->vcpu.index, vv,
             vv << 8);
        /* Real mode at VV00:0000, i.e. physical VV000h (SDM Vol. 3A 10.6.1 "Start-Up"). */
        seg_set(&cpu->seg[X86_CS], (uint16_t)(vv << 8), (uint64_t)vv << 12, 0xffff, 0x9b);
        cpu->rip = cpu->next_rip = 0;
        cpu->wait_for_sipi = false;
        cpu->halted = false;
    }
}

/* ---------------------------------------------------------------- entry states */

void x86_vcpu_setup_long_entry(struct vcpu *v, uint64_t entry_gpa, uint64_t boot_params_gpa,
                               uint64_t cr3, uint64_t gdt_gpa, uint16_t gdt_limit)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    /* Flat segments as the boot protocol requires: __BOOT_CS 0x10, __BOOT_DS 0x18. */
    seg_set(&cpu->seg[X86_CS], 0x10, 0, 0xffffffff,
            0x9b | X86_SEG_ATTR_L | X86_SEG_ATTR_G);
    for (int s = 0; s < X86_SREG_COUNT; s++)
        if (s != X86_CS)
            seg_set(&cpu->seg[s], 0x18, 0, 0xffffffff, 0x93 | X86_SEG_ATTR_DB | X86_SEG_ATTR_G);
    cpu->gdtr = (struct x86_dtr){ gdt_gpa, gdt_limit };
    cpu->idtr = (struct x86_dtr){ 0, 0 };
    cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    cpu->cr4 = X86_CR4_PAE;
    cpu->cr3 = cr3;
    cpu->efer = X86_EFER_LME | X86_EFER_LMA;
    cpu->cpl = 0;
    cpu->code_mode = X86_MODE_64;
    cpu->rflags = X86_FLAG_FIXED1;
    cpu->gpr[X86_RSI] = boot_params_gpa;
    cpu->rip = entry_gpa;
    cpu->halted = false;
    x86_tlb_flush(cpu, false);
}

void x86_vcpu_setup_prot32_entry(struct vcpu *v, uint32_t entry_gpa, uint32_t eax, uint32_t ebx,
                                 uint64_t gdt_gpa, uint16_t gdt_limit, uint16_t cs, uint16_t ds)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    seg_set(&cpu->seg[X86_CS], cs, 0, 0xffffffff, 0x9b | X86_SEG_ATTR_DB | X86_SEG_ATTR_G);
    for (int s = 0; s < X86_SREG_COUNT; s++)
        if (s != X86_CS)
            seg_set(&cpu->seg[s], ds, 0, 0xffffffff, 0x93 | X86_SEG_ATTR_DB | X86_SEG_ATTR_G);
    cpu->gdtr = (struct x86_dtr){ gdt_gpa, gdt_limit };
    cpu->idtr = (struct x86_dtr){ 0, 0 };
    cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
    cpu->cr4 = 0;
    cpu->cr3 = 0;
    cpu->efer = 0;
    cpu->cpl = 0;
    cpu->code_mode = X86_MODE_32;
    cpu->rflags = X86_FLAG_FIXED1;
    cpu->gpr[X86_RAX] = eax;
    cpu->gpr[X86_RBX] = ebx;
    cpu->rip = entry_gpa;
    cpu->halted = false;
    x86_tlb_flush(cpu, false);
}

void x86_vcpu_setup_real_entry(struct vcpu *v, uint16_t cs, uint16_t ip, uint16_t ss, uint16_t sp,
                               uint32_t edx, bool intr_enabled)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    /* Real-address mode (SDM Vol. 3A 20.1): base = selector << 4, 64 KiB limits. */
    seg_set(&cpu->seg[X86_CS], cs, (uint64_t)cs << 4, 0xffff, 0x9b);
    for (int s = 0; s < X86_SREG_COUNT; s++)
        if (s != X86_CS)
            seg_set(&cpu->seg[s], 0, 0, 0xffff, 0x93);
    seg_set(&cpu->seg[X86_SS], ss, (uint64_t)ss << 4, 0xffff, 0x93);
    cpu->gdtr = (struct x86_dtr){ 0, 0xffff };
    cpu->idtr = (struct x86_dtr){ 0, 0x3ff };   /* the IVT at 0 */
    cpu->cr0 = X86_CR0_ET;
    cpu->cr3 = cpu->cr4 = 0;
    cpu->efer = 0;
    cpu->cpl = 0;
    cpu->code_mode = X86_MODE_16;
    cpu->rflags = X86_FLAG_FIXED1 | (intr_enabled ? X86_FLAG_IF : 0);
    cpu->gpr[X86_RSP] = sp;
    cpu->gpr[X86_RDX] = edx;
    cpu->rip = ip;
    cpu->halted = false;
    x86_tlb_flush(cpu, false);
}

/* ---------------------------------------------------------------- pins and hooks */

static void x86_pin_set(void *opaque, int line, int level)
{
    struct x86_cpu *cpu = opaque;
    switch (line) {
    case CPU_PIN_INTR:
        cpu->intr_pin = level != 0;
        break;
    case CPU_PIN_NMI:
        if (level)
            cpu->nmi_pending = true;
        break;
    case CPU_PIN_INIT:
        if (level) {
            cpu->init_pending = true;
            cpu->sipi_vector = -1;        /* an earlier SIPI is superseded */
        }
        break;
    case CPU_PIN_SIPI:
        /* Only a CPU waiting for SIPI (or about to, INIT latched) takes it. */
        if (cpu->wait_for_sipi || cpu->init_pending)
            cpu->sipi_vector = level & 0xff;
        break;
    default:
        break;
    }
    atomic_fetch_or_explicit(&cpu->vcpu.attention, VCPU_ATTN_IRQ, memory_order_relaxed);
}

/*
 * The vCPUs sharing one guest_mem, for self-modifying code (header: SMP).
 * The guest_mem code_write hook's opaque; created by the first vCPU on that
 * memory, freed with the last one. Decided: members call into each other
 * directly, right while one host thread runs every vCPU; with a thread per
 * vCPU, invalidation becomes a request each vCPU serves at its next block
 * boundary (VCPU_ATTN_FLUSH) while the writer waits, like QEMU's
 * async_run_on_cpu for tb_flush.
 */
#define X86_SMC_GROUP_MAX 256
struct x86_smc_group {
    int n;
    struct x86_cpu *cpus[X86_SMC_GROUP_MAX];
};

/* A store hit a page holding predecoded code (SMC, DESIGN "MMU"): every vCPU drops its blocks. */
static void x86_code_write_hook(void *opaque, gpa_t page_gpa)
{
    struct x86_smc_group *g = opaque;
    if (!g->n)
        return;
    for (int i = 0; i < g->n; i++)
        x86_bcache_invalidate_page(g->cpus[i], page_gpa);
    struct mem_slot *s = guest_mem_slot(g->cpus[0]->vcpu.mem, page_gpa);
    if (s) {
        uint64_t pfn = (page_gpa - s->gpa) >> GUEST_PAGE_SHIFT;
        s->code_bitmap[pfn >> 3] &= (uint8_t)~(1u << (pfn & 7));
    }
}

void x86_code_page_marked(struct x86_cpu *cpu, gpa_t page_gpa)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    if (mem && mem->code_write == x86_code_write_hook) {
        struct x86_smc_group *g = mem->code_write_opaque;
        for (int i = 0; i < g->n; i++) {
            tlb_protect_code_page(&g->cpus[i]->tlb[0], page_gpa);
            tlb_protect_code_page(&g->cpus[i]->tlb[1], page_gpa);
        }
        return;
    }
    tlb_protect_code_page(&cpu->tlb[0], page_gpa);
    tlb_protect_code_page(&cpu->tlb[1], page_gpa);
}

/* Join the SMC group of @cpu's memory, installing the hook if it has none. 0 or -ENOMEM. */
static int x86_smc_join(struct x86_cpu *cpu)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    if (!mem)
        return 0;
    if (!mem->code_write) {
        struct x86_smc_group *g = calloc(1, sizeof(*g));
        if (!g)
            return -ENOMEM;
        mem->code_write = x86_code_write_hook;
        mem->code_write_opaque = g;
    }
    if (mem->code_write != x86_code_write_hook)
        return 0;                         /* someone else's hook (unit tests): leave it */
    struct x86_smc_group *g = mem->code_write_opaque;
    if (g->n == X86_SMC_GROUP_MAX)
        return -ENOSPC;
    g->cpus[g->n++] = cpu;
    return 0;
}

/* Leave the SMC group; the last member removes the hook. */
static void x86_smc_leave(struct x86_cpu *cpu)
{
    struct guest_mem *mem = cpu->vcpu.mem;
    if (!mem || mem->code_write != x86_code_write_hook)
        return;
    struct x86_smc_group *g = mem->code_write_opaque;
    for (int i = 0; i < g->n; i++) {
        if (g->cpus[i] == cpu) {
            g->cpus[i] = g->cpus[--g->n];
            break;
        }
    }
    if (!g->n) {
        mem->code_write = NULL;
        mem->code_write_opaque = NULL;
        free(g);
    }
}

static void x86_dump(struct vcpu *v, FILE *f);
static bool x86_at_breakpoint(struct x86_cpu *cpu);
static int x86_read_virt(struct vcpu *v, gva_t gva, void *buf, uint64_t len);
static int x86_insert_bp(struct vcpu *v, enum vcpu_bp_kind kind, gva_t addr, uint64_t len);
static int x86_remove_bp(struct vcpu *v, enum vcpu_bp_kind kind, gva_t addr, uint64_t len);
static void x86_remove_all_bp(struct vcpu *v);
static void x86_set_single_step(struct vcpu *v, bool on);
static int x86_insn_info(struct vcpu *v, gva_t pc, struct vcpu_insn_info *out);
static int x86_translate(struct vcpu *v, gva_t gva, gpa_t *gpa);
static void x86_dump_tlb(struct vcpu *v, FILE *f);

/* ---------------------------------------------------------------- architectural debug */

/*
 * Architectural debug registers (SDM Vol. 3B 18.2-18.3; Vol. 3A 6.8, Table 6-2).
 *
 * DR7 is decoded on every write (x86_dr_update) into three masks of enabled
 * (Ln or Gn) breakpoints by R/W: instruction (00), data write (01) and
 * read/write (11), I/O (10). Breakpoint ranges follow 18.2.5: LEN 00/01/11/10
 * = 1/2/4/8 bytes, the low address bits are masked to the length (the
 * processor enforces the alignment), and an access hits when any of its bytes
 * lies in the range.
 *
 *  - Instruction breakpoints: while any is armed the run loop executes one
 *    instruction at a time (x86_step_architectural); the #DB is a fault before
 *    the instruction unless RFLAGS.RF is set (18.3.1.1). RF is cleared at the
 *    start of each instruction after that check; a REP string instruction that
 *    yields mid-way sets it again so the next slice of iterations does not
 *    fault anew (the SDM pushes RF = 1 for events after such iterations).
 *  - Data breakpoints: pages holding an armed range carry TLB_FLAG_WATCH
 *    (mem.c), so the fast paths cost nothing otherwise; x86_check_watch
 *    records the hit in dr_hits and ends the block, and the #DB trap is
 *    delivered once the instruction completes (18.3.1.2), after the iteration
 *    for REP string instructions (ops_string.c stops there), with RF = 1 in
 *    the image when iterations remain.
 *  - I/O breakpoints (R/W = 10) only with CR4.DE = 1; with CR4.DE = 0 the
 *    SDM calls R/W = 10 undefined: qtemu never matches it (no #UD, no #GP).
 *  - General detect (DR7.GD, 18.3.1.3, ops_ctrl.c): MOV to or from a DR is a
 *    #DB fault with DR6.BD set and GD cleared.
 *  - Fault-class exceptions push RF = 1 (18.3.1.1), so an instruction
 *    breakpoint does not fire again when a faulting instruction restarts.
 *
 * Decided (DR6 policy; 18.2.3 lets B0-B3 be set or not for breakpoints
 * that are not enabled, and lets some #DBs clear B0-B3): B0-B3 are set only
 * for enabled breakpoints whose condition was met; a #DB reporting breakpoint
 * hits replaces B0-B3 with exactly those hits; BD, BS and BT are set and
 * never cleared by the processor (the handler clears them). A single-step
 * trap, data breakpoints and the task-switch trap of the same instruction
 * make one #DB (Table 6-2 class 4). Accesses made while delivering an
 * exception or an external interrupt report no data breakpoint (hits are
 * discarded); those of INT n / INT3 / INTO / INT1 frames do, after the
 * instruction.
 *
 *  - Task-switch trap (18.3.1.6; TSS T flag, Vol. 3A 7.2.1): task.c sets
 *    task_trap when a switch into a 32-bit TSS with T = 1 completes; the
 *    run loop delivers the #DB with DR6.BT set before the new task's first
 *    instruction, ahead of a pending NMI or INTR (Table 6-2: class 4 traps
 *    come before class 5/6 interrupts), also when the switch was made by
 *    delivering an event through a task gate.
 *  - REP string instructions stopped between iterations (ops_string.c) set
 *    RF: an NMI or external interrupt taken there pushes RF = 1, as 18.3.1.1
 *    requires for an interrupt arriving after any iteration but the last; the
 *    run loop clears RF again before the next slice when no instruction
 *    breakpoint or TF needs it.
 */

/* Exceptions raised through x86_raise* that are fault-class (SDM Vol. 3A
 * Table 6-1): all but NMI, #BP, #OF (traps), #DF and #MC (aborts). #DB is
 * raised only for general detect, a fault. */
static bool x86_exc_is_fault(int vector)
{
    return vector >= 0 && vector < 32 && vector != X86_EXC_NMI && vector != X86_EXC_BP &&
           vector != X86_EXC_OF && vector != X86_EXC_DF && vector != X86_EXC_MC;
}

/* Length in bytes of DR7 LENn (SDM Vol. 3B 18.2.5: 00 = 1, 01 = 2, 10 = 8, 11 = 4). */
static unsigned dr_len(uint64_t dr7, int i)
{
    static const unsigned len[4] = { 1, 2, 8, 4 };
    return len[(dr7 >> (18 + i * 4)) & 3];
}

/* Does [lin, lin + size) overlap the range of DRn (address masked to LENn)? */
static bool dr_range_hit(const struct x86_cpu *cpu, int i, uint64_t lin, uint64_t size)
{
    uint64_t len = dr_len(cpu->dr[7], i);
    uint64_t a = cpu->dr[i] & ~(len - 1);
    return a < lin + size && lin < a + len;
}

void x86_dr_update(struct x86_cpu *cpu)
{
    uint64_t dr7 = cpu->dr[7];
    uint8_t insn = 0, data = 0, io = 0;
    for (int i = 0; i < 4; i++) {
        if (!((dr7 >> (i * 2)) & 3))
            continue;
        switch ((dr7 >> (16 + i * 4)) & 3) {
        case 0: insn |= 1u << i; break;
        case 2: io |= 1u << i; break;
        default: data |= 1u << i; break;
        }
    }
    bool flush = data || cpu->dr_data_bps;   /* data pages may have changed: rebuild the tags */
    cpu->dr_insn_bps = insn;
    cpu->dr_data_bps = data;
    cpu->dr_io_bps = io;
    cpu->watch_any = cpu->n_watch || data;
    if (flush)
        x86_tlb_flush(cpu, false);
}

void x86_check_io_bp(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
    if (!(cpu->cr4 & X86_CR4_DE))
        return;
    uint8_t hits = 0;
    for (int i = 0; i < 4; i++)
        if (((cpu->dr_io_bps >> i) & 1) && dr_range_hit(cpu, i, port, size))
            hits |= 1u << i;
    if (hits) {
        cpu->dr_hits |= hits;
        cpu->dr_hit_rip = cpu->rip;
        cpu->exit_block = true;
    }
}

/* Data-breakpoint check of one access (slow path): record the DRn hit. */
static void dr_check_data(struct x86_cpu *cpu, gva_t lin, unsigned size, bool write)
{
    uint8_t hits = 0;
    for (int i = 0; i < 4; i++) {
        if (!((cpu->dr_data_bps >> i) & 1))
            continue;
        bool rw_any = ((cpu->dr[7] >> (16 + i * 4)) & 3) == 3;   /* 11: reads or writes */
        if ((write || rw_any) && dr_range_hit(cpu, i, lin, size))
            hits |= 1u << i;
    }
    if (hits) {
        cpu->dr_hits |= hits;
        cpu->dr_hit_rip = cpu->rip;
        cpu->exit_block = true;   /* the trap comes once this instruction completes */
    }
}

/*
 * Deliver the trap-class #DB of the instruction that just completed: data or
 * I/O breakpoint hits (dr_hits) and/or a single step (18.3.1.2, 18.3.1.4).
 */
static void x86_debug_trap(struct x86_cpu *cpu, bool single_step)
{
    uint8_t hits = cpu->dr_hits;
    cpu->dr_hits = 0;
    if (hits)
        cpu->dr[6] = (cpu->dr[6] & ~0xfull) | hits;
    if (single_step)
        cpu->dr[6] |= X86_DR6_BS;
    if (cpu->task_trap) {                 /* the instruction switched to a task with T = 1 */
        cpu->task_trap = false;
        cpu->dr[6] |= X86_DR6_BT;
    }
    /* A REP string instruction stopped after an iteration that was not its last
     * (it restarts at its own RIP): the image gets RF = 1 (18.3.1.1). */
    if (hits && cpu->rip == cpu->dr_hit_rip)
        cpu->rflags |= X86_FLAG_RF;
    if (hits)
        qlog(LOG_INT, "x86: #DB data/I-O breakpoint B=0x%x, trap at rip 0x%" PRIx64, hits, cpu->rip);
    x86_deliver_event(cpu, X86_EXC_DB, X86_EVT_EXCEPTION, false, 0, cpu->rip);
    cpu->dr_hits = 0;   /* stack accesses of the delivery itself report nothing */
}

/* Enabled DR0-DR3 instruction breakpoints (R/W = 00) at linear @pc, as B0-B3
 * bits. LENn is ignored for them (the SDM requires 00). */
static uint8_t x86_hw_insn_breakpoints(const struct x86_cpu *cpu, gva_t pc)
{
    uint8_t hits = 0;
    for (int i = 0; i < 4; i++)
        if (((cpu->dr_insn_bps >> i) & 1) && cpu->dr[i] == pc)
            hits |= 1u << i;
    return hits;
}

/* Instructions after which TF does not produce a single-step trap because
 * they deliver an event themselves (SDM Vol. 3A 18.3.1.4: INT n, INT3, INTO,
 * INT1, SYSCALL/SYSENTER clear TF on entry), and MOV SS / POP SS, whose trap
 * is delayed past the next instruction (Vol. 3A 6.8.3). */
static bool x86_no_step_trap(const struct x86_insn *insn)
{
    switch (insn->op) {
    case X86_OP(X86_MAP_PRIMARY, 0xcc):
    case X86_OP(X86_MAP_PRIMARY, 0xcd):
    case X86_OP(X86_MAP_PRIMARY, 0xce):
    case X86_OP(X86_MAP_PRIMARY, 0xf1):
    case X86_OP(X86_MAP_0F, 0x05):
    case X86_OP(X86_MAP_0F, 0x34):
    case X86_OP(X86_MAP_PRIMARY, 0x17):
        return true;
    case X86_OP(X86_MAP_PRIMARY, 0x8e):
        return x86_modrm_digit(insn) == X86_SS;
    default:
        return false;
    }
}

/*
 * CS limit on instruction fetch (SDM Vol. 3A 5.3; 6.15 Interrupt 13):
 * outside 64-bit mode every byte of an instruction must lie within the CS
 * limit, else #GP(0) with RIP at that instruction. Returns how many of @b's
 * first @n instructions lie wholly inside the limit; raises #GP(0) when the
 * first one does not. The run loop calls it only when the whole block does
 * not fit (rare: flat 32-bit code never gets here).
 */
static unsigned cs_limit_insns(struct x86_cpu *cpu, const struct x86_block *b, unsigned n)
{
    uint64_t end = cpu->rip;
    for (unsigned i = 0; i < n; i++) {
        end += b->insns[i].insn.len;
        if (end - 1 > cpu->seg[X86_CS].limit) {
            if (i == 0)
                x86_raise_gp0(cpu);
            return i;
        }
    }
    return n;
}

static inline bool block_beyond_cs_limit(const struct x86_cpu *cpu, const struct x86_block *b)
{
    return cpu->code_mode != X86_MODE_64 &&
           cpu->rip + b->len_bytes - 1 > cpu->seg[X86_CS].limit;
}

/*
 * Execute one instruction with the architectural debug features of SDM Vol.
 * 3B 18.3 (see the block comment above): an instruction breakpoint is a fault
 * taken before the instruction unless RFLAGS.RF is set; RF is cleared once
 * that check is done; TF set at the start of an instruction gives a
 * single-step trap (#DB with DR6.BS) after it completes, together with any
 * data / I/O breakpoint the instruction hit.
 */
static void x86_step_architectural(struct x86_cpu *cpu)
{
    gva_t pc = cpu->seg[X86_CS].base + cpu->rip;
    if (cpu->code_mode != X86_MODE_64)
        pc &= 0xffffffffu;
    uint8_t bp = (cpu->rflags & X86_FLAG_RF) ? 0 : x86_hw_insn_breakpoints(cpu, pc);
    if (bp) {
        cpu->dr[6] = (cpu->dr[6] & ~0xfull) | bp;
        qlog(LOG_INT, "x86: #DB instruction breakpoint B=0x%x at rip 0x%" PRIx64, bp, cpu->rip);
        x86_deliver_event(cpu, X86_EXC_DB, X86_EVT_EXCEPTION, false, 0, cpu->rip);
        cpu->dr_hits = 0;
        return;
    }
    cpu->rflags &= ~X86_FLAG_RF;
    bool tf = cpu->rflags & X86_FLAG_TF;
    uint64_t rip = cpu->rip;
    struct x86_block *b = x86_block_lookup(cpu);
    if (block_beyond_cs_limit(cpu, b))
        cs_limit_insns(cpu, b, 1);
    const struct x86_binsn *bi = b->insns;
    struct x86_insn insn = bi->insn;   /* the block may be invalidated by the insn */
    cpu->next_rip = cpu->rip + insn.len;
    bi->fn(cpu, &insn);
    cpu->rip = cpu->next_rip;
    cpu->exit_block = false;
    /* REP string instruction yielding mid-way: its next slice is no new
     * instruction for the breakpoint check. */
    if (cpu->rip == rip && (insn.flags & (X86_INSN_REP | X86_INSN_REPNE)))
        cpu->rflags |= X86_FLAG_RF;
    bool step = tf && !x86_no_step_trap(&insn);
    if (step || cpu->dr_hits)
        x86_debug_trap(cpu, step);
}

/* ---------------------------------------------------------------- run loop */

/*
 * The #DB trap of a task switch into a TSS with T = 1 (SDM Vol. 3A 7.2.1,
 * Vol. 3B 18.3.1.6): DR6.BT set, delivered before the new task's first
 * instruction with the saved RIP pointing at it.
 */
static void x86_task_switch_trap(struct x86_cpu *cpu)
{
    cpu->task_trap = false;
    cpu->dr[6] |= X86_DR6_BT;
    qlog(LOG_INT, "x86: #DB task switch trap (TSS T flag), TR 0x%x rip 0x%" PRIx64, cpu->tr.sel,
         cpu->rip);
    x86_deliver_event(cpu, X86_EXC_DB, X86_EVT_EXCEPTION, false, 0, cpu->rip);
    cpu->dr_hits = 0;
}

/* Deliver a pending NMI or external interrupt if the CPU accepts one now. */
static bool x86_take_interrupt(struct x86_cpu *cpu)
{
    if (cpu->wait_for_sipi)
        return false;                     /* wait-for-SIPI: INTR and NMI are held */
    if (cpu->intr_shadow) {
        if (cpu->rip == cpu->intr_shadow_rip)
            return false;
        cpu->intr_shadow = false;
    }
    if (cpu->nmi_pending && !cpu->nmi_blocked) {
        cpu->nmi_pending = false;
        cpu->nmi_blocked = true;
        cpu->halted = false;
        qlog(LOG_INT, "x86: CPU %d NMI at rip 0x%" PRIx64, cpu->vcpu.index, cpu->rip);
        x86_deliver_event(cpu, X86_EXC_NMI, X86_EVT_NMI, false, 0, cpu->rip);
        return true;
    }
    if (cpu->intr_pin && (cpu->rflags & X86_FLAG_IF)) {
        int vector = cpu->vcpu.intc.inta ? cpu->vcpu.intc.inta(cpu->vcpu.intc.opaque) : -1;
        if (vector < 0)
            return false;
        cpu->halted = false;
        if (log_enabled(LOG_INT))
            qlog(LOG_INT, "x86: CPU %d interrupt vector 0x%02x at rip 0x%" PRIx64 " cpl %u",
                 cpu->vcpu.index, vector, cpu->rip, cpu->cpl);
        x86_deliver_event(cpu, vector, X86_EVT_EXTINT, false, 0, cpu->rip);
        return true;
    }
    return false;
}

static enum vcpu_exit x86_run(struct vcpu *v, uint64_t budget_insns)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    jmp_buf jb;
    jmp_buf *saved = cpu->fault_jmp;
    volatile enum vcpu_exit exit = VCPU_EXIT_BUDGET;
    const uint64_t limit = v->insns_retired + (budget_insns ? budget_insns : 1);
    const int outer_cpu = bus_current_cpu();
    cpu->fault_jmp = &jb;
    bus_set_current_cpu(v->index);        /* banked APIC page: this vCPU's (bus.h) */
    cpu->exit_block = false;              /* may be left set by another vCPU's SMC invalidation */
    /* The block that just ended normally, for chaining (block.h); NULL after
     * anything unusual (fault, interrupt, attention, debug stop). */
    struct x86_block *prev = NULL;

    if (setjmp(jb)) {
        /* A handler (or delivery itself) raised: state is precise. */
        prev = NULL;
        cpu->exit_block = false;
        /* Fault-class exceptions push RF = 1 (SDM Vol. 3B 18.3.1.1); a faulting
         * instruction's breakpoint hits are void (it restarts). */
        if (x86_exc_is_fault(cpu->exc_vector))
            cpu->rflags |= X86_FLAG_RF;
        x86_handle_exception(cpu);
        cpu->dr_hits = 0;
        if (cpu->shutdown_requested) {
            cpu->shutdown_requested = false;
            exit = VCPU_EXIT_SHUTDOWN;
            goto out;
        }
    }

    while (v->insns_retired < limit) {
        if (unlikely(atomic_load_explicit(&v->attention, memory_order_relaxed))) {
            uint32_t a = atomic_exchange_explicit(&v->attention, 0, memory_order_relaxed);
            prev = NULL;                  /* collect may free it */
            x86_bcache_collect(cpu);
            if (unlikely(cpu->init_pending | (cpu->sipi_vector >= 0)))
                x86_take_init_sipi(cpu);
            if (a & VCPU_ATTN_KICK) {
                exit = VCPU_EXIT_BUDGET;
                goto out;
            }
        }
        if (unlikely(cpu->intr_pin | cpu->nmi_pending | cpu->task_trap)) {
            /* A pending task-switch trap (class 4) goes before NMI / INTR. */
            bool taken = cpu->task_trap;
            if (taken)
                x86_task_switch_trap(cpu);
            else
                taken = x86_take_interrupt(cpu);
            if (taken) {
                prev = NULL;
                cpu->dr_hits = 0;         /* frame pushes report no data breakpoint */
                /* The event itself went through a task gate to a T = 1 task. */
                if (cpu->task_trap)
                    x86_task_switch_trap(cpu);
            }
        }
        if (unlikely(cpu->halted)) {
            exit = VCPU_EXIT_HALT;
            goto out;
        }

        /* Alignment checking follows CPL, CR0.AM and RFLAGS.AC, all of which
         * change only at block boundaries (POPF/IRET/SYSRET/CR0 writes end
         * blocks); a change rebuilds the TLBs with or without TLB_FLAG_CHECK. */
        if (unlikely((cpu->cpl == 3 && (cpu->rflags & X86_FLAG_AC) && (cpu->cr0 & X86_CR0_AM))
                     != cpu->ac_check)) {
            cpu->ac_check = !cpu->ac_check;
            x86_tlb_flush(cpu, false);
            prev = NULL;
        }

        if (unlikely((cpu->rflags & (X86_FLAG_TF | X86_FLAG_RF)) || cpu->dr_insn_bps)) {
            if (!(cpu->rflags & X86_FLAG_TF) && !cpu->dr_insn_bps) {
                /* RF only suppresses instruction breakpoints, and none is
                 * armed: clear it now instead of after the instruction. */
                cpu->rflags &= ~X86_FLAG_RF;
            } else {
                /* TF or instruction breakpoints: one instruction at a time. */
                prev = NULL;
                x86_step_architectural(cpu);
                v->insns_retired++;
                if (unlikely(cpu->dbg_hit)) {
                    cpu->dbg_hit = false;
                    cpu->dbg_skip_bp = true;
                    exit = VCPU_EXIT_DEBUG;
                    goto out;
                }
                continue;
            }
        }

        if (unlikely(cpu->dbg_active)) {
            /* Debug mode: one instruction at a time, breakpoints checked first. */
            prev = NULL;
            if (x86_at_breakpoint(cpu)) {
                cpu->dbg_skip_bp = true;   /* resuming executes it */
                exit = VCPU_EXIT_DEBUG;
                goto out;
            }
            struct x86_block *b = x86_block_lookup(cpu);
            if (block_beyond_cs_limit(cpu, b))
                cs_limit_insns(cpu, b, 1);
            const struct x86_binsn *bi = b->insns;
            cpu->next_rip = cpu->rip + bi->insn.len;
            bi->fn(cpu, &bi->insn);
            cpu->rip = cpu->next_rip;
            cpu->exit_block = false;
            v->insns_retired++;
            if (unlikely(cpu->dr_hits))
                x86_debug_trap(cpu, false);
            if (cpu->dbg_hit || cpu->dbg_single_step) {
                if (!cpu->dbg_hit)
                    v->debug_event = (struct vcpu_debug_event){ VCPU_DEBUG_STEP, 0, cpu->rip };
                cpu->dbg_hit = false;
                cpu->dbg_skip_bp = true;
                exit = VCPU_EXIT_DEBUG;
                goto out;
            }
            continue;
        }

        struct x86_block *b = x86_block_next(cpu, prev);
        b->exec_count++;
        unsigned n = b->n_insns;
        prev = b->chainable ? b : NULL;
        /* STI/MOV SS shadow with an interrupt waiting: run only the shadowed
         * instruction, so the interrupt is taken right after it (SDM Vol. 2B
         * STI, Vol. 3A 6.8.3) rather than at the end of the next block. */
        if (unlikely(cpu->intr_shadow && (cpu->intr_pin | cpu->nmi_pending)))
            n = 1;
        if (unlikely(block_beyond_cs_limit(cpu, b))) {
            n = cs_limit_insns(cpu, b, n);
            prev = NULL;
        }
        if (unlikely(log_mask & (LOG_EXEC | LOG_CPU))) {
            qlog(LOG_EXEC, "Trace %d: rip 0x%016" PRIx64 " gpa 0x%" PRIx64 " cpl %u insns %u",
                 v->index, cpu->rip, b->pc_gpa, cpu->cpl, b->n_insns);
            if (log_enabled(LOG_CPU))
                x86_dump(v, log_file());
        }
        const struct x86_binsn *bi = b->insns;
        for (unsigned i = 0; i < n; i++, bi++) {
            const uint64_t fallthrough = cpu->rip + bi->insn.len;
            cpu->next_rip = fallthrough;
            bi->fn(cpu, &bi->insn);
            cpu->rip = cpu->next_rip;
            /* A taken branch, a REP restart (next_rip == rip) or an event
             * leaves the block, as does any handler that set exit_block. */
            if (unlikely(cpu->exit_block | (cpu->rip != fallthrough))) {
                if (cpu->exit_block)
                    prev = NULL;          /* state the block was built under may have changed */
                cpu->exit_block = false;
                n = i + 1;
                break;
            }
        }
        v->insns_retired += n;
        if (unlikely(cpu->dbg_hit | cpu->dr_hits)) {
            prev = NULL;
            if (cpu->dr_hits)
                x86_debug_trap(cpu, false);   /* data / I/O breakpoint: trap after the insn */
            if (!cpu->dbg_hit)
                continue;
            cpu->dbg_hit = false;
            cpu->dbg_skip_bp = true;
            exit = VCPU_EXIT_DEBUG;
            goto out;
        }
    }
out:
    cpu->fault_jmp = saved;
    bus_set_current_cpu(outer_cpu);
    x86_bcache_collect(cpu);
    return exit;
}

/* ---------------------------------------------------------------- register access */

static void x86_get_regs(struct vcpu *v, struct vcpu_regs_x86 *r)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    memcpy(r->gpr, cpu->gpr, sizeof(r->gpr));
    r->rip = cpu->rip;
    r->rflags = x86_get_rflags(cpu);
    for (int i = 0; i < X86_SREG_COUNT; i++) {
        r->seg_sel[i] = cpu->seg[i].sel;
        r->seg_base[i] = cpu->seg[i].base;
    }
    r->cr0 = cpu->cr0;
    r->cr2 = cpu->cr2;
    r->cr3 = cpu->cr3;
    r->cr4 = cpu->cr4;
    r->cr8 = v->intc.tpr_read ? v->intc.tpr_read(v->intc.opaque) : 0;
    r->efer = cpu->efer;
    r->fs_base = cpu->seg[X86_FS].base;
    r->gs_base = cpu->seg[X86_GS].base;
    r->kernel_gs_base = cpu->kernel_gs_base;
    for (int i = 0; i < X86_SREG_COUNT; i++) {
        r->seg_limit[i] = cpu->seg[i].limit;
        r->seg_attr[i] = cpu->seg[i].attr;
    }
    unsigned top = (cpu->fsw >> 11) & 7;
    for (int i = 0; i < 8; i++)
        memcpy(r->st[i], cpu->st[(top + i) & 7].bytes, 10);
    r->fcw = cpu->fcw;
    r->fsw = cpu->fsw;
    r->ftw = cpu->ftw;
    r->fop = cpu->fop;
    r->fip = cpu->fip;
    r->fdp = cpu->fdp;
    r->fcs = cpu->fcs;
    r->fds = cpu->fds;
    for (int i = 0; i < 16; i++)
        memcpy(r->xmm[i], cpu->xmm[i].u8, 16);
    r->mxcsr = cpu->mxcsr;
}

static void x86_set_regs(struct vcpu *v, const struct vcpu_regs_x86 *r)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    memcpy(cpu->gpr, r->gpr, sizeof(cpu->gpr));
    cpu->rip = r->rip;
    x86_set_rflags(cpu, r->rflags);
    cpu->seg[X86_FS].base = r->fs_base;
    cpu->seg[X86_GS].base = r->gs_base;
    cpu->kernel_gs_base = r->kernel_gs_base;
    cpu->fcw = r->fcw;
    cpu->fsw = r->fsw;
    cpu->ftw = r->ftw;
    cpu->fop = r->fop & 0x7ff;
    cpu->fip = r->fip;
    cpu->fdp = r->fdp;
    cpu->fcs = r->fcs;
    cpu->fds = r->fds;
    unsigned top = (cpu->fsw >> 11) & 7;
    for (int i = 0; i < 8; i++)
        memcpy(cpu->st[(top + i) & 7].bytes, r->st[i], 10);
    for (int i = 0; i < 16; i++)
        memcpy(cpu->xmm[i].u8, r->xmm[i], 16);
    cpu->mxcsr = r->mxcsr & 0xffff;   /* MXCSR_MASK: reserved bits 31:16 stay 0 */
}

/* Debug accesses: translate without faulting (a #PF becomes -EFAULT). */
static int x86_access_virt(struct vcpu *v, gva_t gva, void *buf, uint64_t len, bool write)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    uint8_t *p = buf;
    while (len) {
        gpa_t gpa = gva;
        if (cpu->cr0 & X86_CR0_PG) {
            struct x86_paging_ctx ctx = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer, false, true, false };
            struct x86_walk_result res;
            uint32_t err;
            if (!x86_walk(v->mem, &ctx, gva, MMU_READ, &res, &err))
                return -EFAULT;
            gpa = res.gpa;
        }
        uint64_t chunk = MIN(len, GUEST_PAGE_SIZE - (gva & (GUEST_PAGE_SIZE - 1)));
        int rc = write ? gpa_write(v->mem, gpa, p, chunk) : gpa_read(v->mem, gpa, p, chunk);
        if (rc)
            return rc;
        p += chunk;
        gva += chunk;
        len -= chunk;
    }
    return 0;
}

static int x86_read_virt(struct vcpu *v, gva_t gva, void *buf, uint64_t len)
{
    return x86_access_virt(v, gva, buf, len, false);
}

static int x86_write_virt(struct vcpu *v, gva_t gva, const void *buf, uint64_t len)
{
    return x86_access_virt(v, gva, (void *)buf, len, true);
}

static void x86_dump(struct vcpu *v, FILE *f)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    static const char *names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                     "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15" };
    static const char *snames[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    for (int i = 0; i < 16; i++)
        fprintf(f, "%-3s=%016" PRIx64 "%s", names[i], cpu->gpr[i], (i % 4 == 3) ? "\n" : " ");
    fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " CPL=%u mode=%u halted=%d\n", cpu->rip,
            x86_get_rflags(cpu), cpu->cpl, cpu->code_mode, cpu->halted);
    for (int i = 0; i < 6; i++)
        fprintf(f, "%s =%04x %016" PRIx64 " %08x %04x\n", snames[i], cpu->seg[i].sel,
                cpu->seg[i].base, cpu->seg[i].limit, cpu->seg[i].attr);
    fprintf(f, "TR =%04x %016" PRIx64 " GDT=%016" PRIx64 " %04x IDT=%016" PRIx64 " %04x\n",
            cpu->tr.sel, cpu->tr.base, cpu->gdtr.base, cpu->gdtr.limit, cpu->idtr.base,
            cpu->idtr.limit);
    fprintf(f, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64
               " EFER=%" PRIx64 "\n",
            cpu->cr0, cpu->cr2, cpu->cr3, cpu->cr4, cpu->efer);
}

static void x86_destroy(struct vcpu *v)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    x86_smc_leave(cpu);
    x86_bcache_destroy(cpu);
    free(cpu);
}

static const struct vcpu_ops x86_vcpu_ops = {
    .run = x86_run,
    .reset = x86_reset,
    .get_regs = x86_get_regs,
    .set_regs = x86_set_regs,
    .read_virt = x86_read_virt,
    .write_virt = x86_write_virt,
    .dump = x86_dump,
    .insert_bp = x86_insert_bp,
    .remove_bp = x86_remove_bp,
    .remove_all_bp = x86_remove_all_bp,
    .set_single_step = x86_set_single_step,
    .insn_info = x86_insn_info,
    .translate = x86_translate,
    .dump_tlb = x86_dump_tlb,
    .destroy = x86_destroy,
};

struct vcpu *x86_vcpu_create(int index, enum x86_cpu_model model, struct guest_mem *mem,
                             struct bus *bus)
{
    struct x86_cpu *cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
    if (!cpu)
        return NULL;
    memset(cpu, 0, sizeof(*cpu));
    cpu->vcpu.ops = &x86_vcpu_ops;
    cpu->vcpu.index = index;
    cpu->vcpu.mem = mem;
    cpu->vcpu.bus = bus;
    cpu->vcpu.pins = (struct irq_line){ x86_pin_set, cpu, 0 };
    cpu->model = model;
    if (x86_bcache_init(cpu)) {
        free(cpu);
        return NULL;
    }
    /* Self-modifying code reaches every vCPU on this memory (x86_smc_group). */
    if (x86_smc_join(cpu)) {
        x86_bcache_destroy(cpu);
        free(cpu);
        return NULL;
    }
    x86_reset(&cpu->vcpu);
    return &cpu->vcpu;
}

/* ---------------------------------------------------------------- debugging */

static bool is_watch(uint8_t kind)
{
    return kind == VCPU_WP_WRITE || kind == VCPU_WP_READ || kind == VCPU_WP_ACCESS;
}

static void dbg_update(struct x86_cpu *cpu)
{
    cpu->n_watch = 0;
    for (int i = 0; i < cpu->n_dbg_points; i++)
        cpu->n_watch += is_watch(cpu->dbg_points[i].kind);
    cpu->dbg_active = cpu->dbg_single_step || cpu->n_dbg_points > cpu->n_watch;
    cpu->watch_any = cpu->n_watch || cpu->dr_data_bps;
    /* Watch flags live in TLB tags: rebuild them. */
    x86_tlb_flush(cpu, false);
}

bool x86_page_has_watch(const struct x86_cpu *cpu, gva_t page)
{
    for (int i = 0; i < 4; i++)
        if (((cpu->dr_data_bps >> i) & 1) && dr_range_hit(cpu, i, page, GUEST_PAGE_SIZE))
            return true;
    for (int i = 0; i < cpu->n_dbg_points; i++) {
        const struct x86_debug_point *p = &cpu->dbg_points[i];
        if (is_watch(p->kind) && p->addr < page + GUEST_PAGE_SIZE && page < p->addr + p->len)
            return true;
    }
    return false;
}

void x86_check_watch(struct x86_cpu *cpu, gva_t lin, unsigned size, bool write)
{
    if (cpu->dr_data_bps)
        dr_check_data(cpu, lin, size, write);
    for (int i = 0; i < cpu->n_dbg_points; i++) {
        const struct x86_debug_point *p = &cpu->dbg_points[i];
        if (!is_watch(p->kind) || !(p->addr < lin + size && lin < p->addr + p->len))
            continue;
        if ((p->kind == VCPU_WP_WRITE && !write) || (p->kind == VCPU_WP_READ && write))
            continue;
        /* The access completes; the loop stops after this instruction retires. */
        cpu->vcpu.debug_event = (struct vcpu_debug_event){ VCPU_DEBUG_WATCHPOINT, p->kind,
                                                           MAX(lin, p->addr) };
        cpu->dbg_hit = true;
        cpu->exit_block = true;
        return;
    }
}

static int x86_insert_bp(struct vcpu *v, enum vcpu_bp_kind kind, gva_t addr, uint64_t len)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    if (kind > VCPU_WP_ACCESS || (is_watch(kind) && (len == 0 || len > GUEST_PAGE_SIZE)))
        return -EINVAL;
    if (!is_watch(kind))
        len = 1;
    for (int i = 0; i < cpu->n_dbg_points; i++) {
        struct x86_debug_point *p = &cpu->dbg_points[i];
        if (p->kind == kind && p->addr == addr && p->len == len)
            return 0;
    }
    if (cpu->n_dbg_points == X86_MAX_DEBUG_POINTS)
        return -ENOSPC;
    cpu->dbg_points[cpu->n_dbg_points++] = (struct x86_debug_point){ addr, len, (uint8_t)kind };
    dbg_update(cpu);
    return 0;
}

static int x86_remove_bp(struct vcpu *v, enum vcpu_bp_kind kind, gva_t addr, uint64_t len)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    if (!is_watch(kind))
        len = 1;
    for (int i = 0; i < cpu->n_dbg_points; i++) {
        struct x86_debug_point *p = &cpu->dbg_points[i];
        if (p->kind == kind && p->addr == addr && p->len == len) {
            *p = cpu->dbg_points[--cpu->n_dbg_points];
            dbg_update(cpu);
            return 0;
        }
    }
    return -ENOENT;
}

static void x86_remove_all_bp(struct vcpu *v)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    cpu->n_dbg_points = 0;
    dbg_update(cpu);
}

static void x86_set_single_step(struct vcpu *v, bool on)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    cpu->dbg_single_step = on;
    dbg_update(cpu);
}

/* Linear address of CS:RIP. */
static gva_t x86_pc_linear(const struct x86_cpu *cpu)
{
    gva_t lin = cpu->seg[X86_CS].base + cpu->rip;
    return cpu->code_mode == X86_MODE_64 ? lin : (lin & 0xffffffffu);
}

/* Breakpoint at the current instruction? (not on the first one after resuming) */
static bool x86_at_breakpoint(struct x86_cpu *cpu)
{
    if (cpu->dbg_skip_bp) {
        cpu->dbg_skip_bp = false;
        return false;
    }
    gva_t pc = x86_pc_linear(cpu);
    for (int i = 0; i < cpu->n_dbg_points; i++) {
        const struct x86_debug_point *p = &cpu->dbg_points[i];
        if (!is_watch(p->kind) && (p->addr == pc || p->addr == cpu->rip)) {
            cpu->vcpu.debug_event = (struct vcpu_debug_event){ VCPU_DEBUG_BREAKPOINT, p->kind, p->addr };
            return true;
        }
    }
    return false;
}

static int x86_translate(struct vcpu *v, gva_t gva, gpa_t *gpa)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    if (!(cpu->cr0 & X86_CR0_PG)) {
        *gpa = gva & 0xffffffffu;
        return 0;
    }
    struct x86_paging_ctx ctx = { cpu->cr0, cpu->cr3, cpu->cr4, cpu->efer, false, true, false };
    struct x86_walk_result res;
    uint32_t err;
    /* The walker sets A bits; a debugger peek doing so is acceptable (QEMU's
     * cpu_get_phys_page_debug does not) - documented limitation. */
    if (!x86_walk(v->mem, &ctx, gva, MMU_READ, &res, &err))
        return -EFAULT;
    *gpa = res.gpa;
    return 0;
}

static int x86_insn_info(struct vcpu *v, gva_t pc, struct vcpu_insn_info *out)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    uint8_t buf[15];
    size_t got = 0;
    /* Read as much of 15 bytes as is mapped. */
    while (got < sizeof(buf) && x86_read_virt(v, pc + got, buf + got, 1) == 0)
        got++;
    if (!got)
        return -EFAULT;
    struct x86_insn insn;
    int len = x86_decode(buf, got, (enum x86_code_mode)cpu->code_mode, &insn);
    if (len < 0)
        return -EINVAL;
    out->len_bytes = (unsigned)len;
    out->is_branch = (insn.flags & X86_INSN_BRANCH) != 0;
    unsigned op = insn.op;
    out->is_call = op == X86_OP(0, 0xe8) || op == X86_OP(0, 0x9a) ||
                   (op == X86_OP(0, 0xff) && (x86_modrm_digit(&insn) == 2 || x86_modrm_digit(&insn) == 3));
    return 0;
}

static void x86_dump_tlb(struct vcpu *v, FILE *f)
{
    struct x86_cpu *cpu = x86_cpu_of(v);
    for (int t = 0; t < 2; t++) {
        fprintf(f, "%s TLB:\n", t ? "user" : "supervisor");
        for (unsigned i = 0; i < TLB_ENTRIES; i++) {
            const struct tlb_entry *e = &cpu->tlb[t].e[i];
            if (e->tag_read == TLB_INVALID && e->tag_write == TLB_INVALID && e->tag_exec == TLB_INVALID)
                continue;
            const struct tlb_entry_info *in = &cpu->tlb[t].info[i];
            fprintf(f, "  [%4u] gva 0x%016" PRIx64 " -> gpa 0x%010" PRIx64 " %c%c%c%s%s 2^%u\n", i,
                    (uint64_t)in->page_gva, (uint64_t)in->page_gpa,
                    e->tag_read != TLB_INVALID ? 'r' : '-', e->tag_write != TLB_INVALID ? 'w' : '-',
                    e->tag_exec != TLB_INVALID ? 'x' : '-', in->global ? " global" : "",
                    ((e->tag_read | e->tag_write) & TLB_FLAG_MMIO) && e->tag_read != TLB_INVALID ? " mmio" : "",
                    in->page_shift);
        }
    }
}
