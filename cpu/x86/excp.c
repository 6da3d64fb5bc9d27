/*
 * cpu/x86/excp.c - exceptions and interrupts: raising (the one unwinding
 * mechanism), the #DF / triple-fault combination, delivery through the IVT
 * or IDT, and the instructions INT n / INT3 / INTO / INT1 / IRET.
 *
 * Follows SDM Vol. 3A ch. 6: 6.3-6.5 (sources, classes, restart), 6.10-6.12
 * (IDT, gates, stack switch in protected mode), 6.13 (error code: EXT, IDT,
 * TI bits), 6.14 (IA-32e mode: 16-byte gates, IST, 16-byte aligned 64-bit
 * frame with SS:RSP always pushed), Table 6-5 (#DF conditions), real mode
 * 20.1.4 (IVT); Vol. 2A INT n / IRET pseudo-code.
 *
 * Decided:
 *  - cpu->exc_nesting is 0 while no exception is being delivered, else
 *    1 + the vector of the contributory / #PF / #DF exception whose delivery
 *    is in progress (benign exceptions do not change it, like QEMU's
 *    old_exception). A fault while delivering #DF shuts the CPU down.
 *  - Task gates in a legacy IDT and IRET with NT=1 outside IA-32e mode go to
 *    task.c (task switch, 6.12.2); in IA-32e mode a task gate is
 *    #GP(vector * 8 + 2 + EXT) (6.14.1: not a valid 64-bit gate type) and
 *    IRET with NT=1 is #GP(0).
 *  - Stack frames are written with implicit-supervisor accesses when the
 *    handler runs at CPL < 3 (so a user-to-kernel switch is never checked
 *    against user permissions); SMAP is therefore not applied to them.
 *  - RF = 1 in the RFLAGS image pushed for fault-class exceptions (SDM
 *    Vol. 3B 18.3.1.1) is set by the run loop before x86_handle_exception
 *    (cpu.c); delivery itself pushes RFLAGS as it is.
 *  - The error code for a fault while delivering an event has EXT = 1 for
 *    exceptions, external interrupts, NMI and INT1, 0 for INT n/INT3/INTO.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "cpu/x86/sys.h"
#include "util/log.h"

/* ---------------------------------------------------------------- raising */

static qt_noreturn void unwind(struct x86_cpu *cpu)
{
    if (unlikely(!cpu->fault_jmp)) {
        /* Host bug: an instruction ran outside the run loop's setjmp. */
        error_report("x86: exception %d raised with no handler frame at rip 0x%" PRIx64,
                     cpu->exc_vector, cpu->rip);
        abort();
    }
    longjmp(*cpu->fault_jmp, 1);
}

void x86_raise(struct x86_cpu *cpu, int vector)
{
    cpu->exc_vector = vector;
    cpu->exc_error = 0;
    cpu->exc_has_error = false;
    unwind(cpu);
}

void x86_raise_err(struct x86_cpu *cpu, int vector, uint32_t error_code)
{
    cpu->exc_vector = vector;
    cpu->exc_error = error_code;
    cpu->exc_has_error = true;
    unwind(cpu);
}

void x86_raise_pf(struct x86_cpu *cpu, gva_t gva, uint32_t error_code)
{
    cpu->cr2 = gva;
    x86_raise_err(cpu, X86_EXC_PF, error_code);
}

void x86_raise_gp0(struct x86_cpu *cpu)
{
    x86_raise_err(cpu, X86_EXC_GP, 0);
}

/* ---------------------------------------------------------------- #DF combination */

/* SDM Vol. 3A Table 6-4: contributory exceptions. */
static bool contributory(int v)
{
    return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

/* Vectors that push an error code in protected/long mode (SDM Vol. 3A Table 6-1). */
static bool pushes_error(int v)
{
    return v == X86_EXC_DF || (v >= X86_EXC_TS && v <= X86_EXC_PF) || v == X86_EXC_AC ||
           v == X86_EXC_CP;
}

void x86_handle_exception(struct x86_cpu *cpu)
{
    int vec = cpu->exc_vector;
    uint32_t err = cpu->exc_error;
    if (vec < 0 || vec > 31) {
        qlog(LOG_GUEST_ERRORS, "x86: bad exception vector %d", vec);
        vec = X86_EXC_GP;
        err = 0;
    }
    if (cpu->exc_nesting > 0) {
        int old = cpu->exc_nesting - 1;
        if (old == X86_EXC_DF) {
            qlog(LOG_INT | LOG_GUEST_ERRORS,
                 "x86: triple fault (exception %d while delivering #DF) at rip 0x%" PRIx64, vec,
                 cpu->rip);
            cpu->exc_nesting = 0;
            cpu->shutdown_requested = true;
            return;
        }
        if ((contributory(old) && contributory(vec)) ||
            (old == X86_EXC_PF && (contributory(vec) || vec == X86_EXC_PF))) {
            qlog(LOG_INT, "x86: #DF (exception %d while delivering %d)", vec, old);
            vec = X86_EXC_DF;
            err = 0;
        }
    }
    if (contributory(vec) || vec == X86_EXC_PF || vec == X86_EXC_DF)
        cpu->exc_nesting = vec + 1;
    if (log_enabled(LOG_INT))
        qlog(LOG_INT, "x86: exception %d err 0x%x at rip 0x%" PRIx64 " cpl %u cr2 0x%" PRIx64, vec,
             err, cpu->rip, cpu->cpl, cpu->cr2);
    x86_deliver_event(cpu, vec, X86_EVT_EXCEPTION, pushes_error(vec), err, cpu->rip);
    cpu->exc_nesting = 0;
}

/* ---------------------------------------------------------------- delivery helpers */

static void frame_write(struct x86_cpu *cpu, gva_t lin, uint64_t v, unsigned size,
                        unsigned new_cpl)
{
    if (new_cpl == 3)
        x86_write_sized(cpu, lin, v, size);
    else
        x86_write_sys(cpu, lin, v, size);
}

/* Linear address of a legacy-mode stack slot in segment cache @ss, with the
 * limit check (expand-up or expand-down, SDM Vol. 3A 5.3); #SS(@err).
 * Shared with the gate calls of ops_far.c (declared in sys.h). */
gva_t x86_legacy_stack_lin(struct x86_cpu *cpu, const struct x86_seg *ss, uint64_t off,
                           unsigned size, uint32_t err)
{
    uint64_t last = off + size - 1;
    if (X86_SEG_ATTR_TYPE(ss->attr) & X86_TYPE_EC) {
        uint64_t upper = (ss->attr & X86_SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
        if (off <= ss->limit || last > upper)
            x86_raise_err(cpu, X86_EXC_SS, err);
    } else if (last > ss->limit) {
        x86_raise_err(cpu, X86_EXC_SS, err);
    }
    return (uint32_t)(ss->base + off);
}

/* Fetch and check the code segment named by a gate (SDM Vol. 3A 6.12.1.1). */
static void gate_code_seg(struct x86_cpu *cpu, uint16_t sel, uint32_t ext, bool lm,
                          uint64_t *desc, uint64_t *addr)
{
    uint32_t err = (sel & 0xfffc) | ext;
    if ((sel & 0xfffc) == 0)
        x86_raise_err(cpu, X86_EXC_GP, ext);
    if (!x86_fetch_desc(cpu, sel, desc, addr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t attr = x86_desc_attr(*desc);
    if (!x86_attr_is_code(attr) || X86_SEG_ATTR_DPL(attr) > cpu->cpl)
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (lm && (!(attr & X86_SEG_ATTR_L) || (attr & X86_SEG_ATTR_DB)))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
}

/* Read @size bytes at @off of the current TSS, #TS(TR + EXT) beyond its limit. */
static uint64_t tss_read(struct x86_cpu *cpu, uint32_t off, unsigned size, uint32_t ext)
{
    if (!(cpu->tr.attr & X86_SEG_ATTR_P) || off + size - 1 > cpu->tr.limit)
        x86_raise_err(cpu, X86_EXC_TS, (cpu->tr.sel & 0xfffc) | ext);
    uint64_t a = cpu->tr.base + off;
    return x86_read_sys(cpu, x86_long_mode(cpu) ? a : (uint32_t)a, size);
}

static void finish_delivery(struct x86_cpu *cpu, uint64_t rflags, bool clear_if, uint64_t rip)
{
    rflags &= ~(X86_FLAG_TF | X86_FLAG_NT | X86_FLAG_RF | X86_FLAG_VM);
    if (clear_if)
        rflags &= ~X86_FLAG_IF;
    x86_set_rflags(cpu, rflags);
    cpu->rip = cpu->next_rip = rip;
    x86_update_mode(cpu);
}

/* ---------------------------------------------------------------- real mode */

/* SDM Vol. 3A 20.1.4: IVT entry = IP:CS; push FLAGS, CS, IP; clear IF, TF, AC, RF. */
static void deliver_real(struct x86_cpu *cpu, int vector, uint64_t return_rip)
{
    uint32_t off = (uint32_t)vector * 4;
    if (off + 3 > cpu->idtr.limit)
        x86_raise_err(cpu, X86_EXC_GP, (uint32_t)vector * 8 + 2);
    uint32_t ent = (uint32_t)x86_read_sys(cpu, (uint32_t)(cpu->idtr.base + off), 4);
    struct x86_seg *ss = &cpu->seg[X86_SS];
    uint64_t mask = (ss->attr & X86_SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
    uint64_t sp = cpu->gpr[X86_RSP];
    uint64_t flags = x86_get_rflags(cpu);
    uint16_t vals[3] = { (uint16_t)flags, cpu->seg[X86_CS].sel, (uint16_t)return_rip };
    for (int i = 0; i < 3; i++)
        x86_write_sized(cpu, (uint32_t)(ss->base + ((sp - 2 * (i + 1)) & mask)), vals[i], 2);
    cpu->gpr[X86_RSP] = (sp & ~mask) | ((sp - 6) & mask);
    cpu->seg[X86_CS].sel = (uint16_t)(ent >> 16);
    cpu->seg[X86_CS].base = (uint64_t)(ent >> 16) << 4;
    x86_set_rflags(cpu, flags & ~(X86_FLAG_IF | X86_FLAG_TF | X86_FLAG_AC | X86_FLAG_RF));
    cpu->rip = cpu->next_rip = ent & 0xffff;
    x86_update_mode(cpu);
}

/* ---------------------------------------------------------------- IA-32e mode */

/* SDM Vol. 3A 6.14: 16-byte gates, IST, 64-bit frame. */
static void deliver_long(struct x86_cpu *cpu, int vector, bool soft, uint32_t ext,
                         bool has_error, uint32_t error_code, uint64_t return_rip)
{
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    uint32_t off = (uint32_t)vector * 16;
    if (off + 15 > cpu->idtr.limit)
        x86_raise_err(cpu, X86_EXC_GP, idt_err);
    uint64_t lo = x86_read_sys(cpu, cpu->idtr.base + off, 8);
    uint64_t hi = x86_read_sys(cpu, cpu->idtr.base + off + 8, 8);
    unsigned type = (lo >> 40) & 0x1f;          /* includes S (must be 0) */
    if (type != X86_DESC_INT && type != X86_DESC_TRAP)
        x86_raise_err(cpu, X86_EXC_GP, idt_err);
    unsigned gate_dpl = (lo >> 45) & 3;
    if (soft && gate_dpl < cpu->cpl)
        x86_raise_err(cpu, X86_EXC_GP, idt_err);
    if (!(lo & (1ull << 47)))
        x86_raise_err(cpu, X86_EXC_NP, idt_err);
    uint16_t sel = (uint16_t)(lo >> 16);
    uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull) | (hi << 32);
    unsigned ist = (lo >> 32) & 7;

    uint64_t cdesc, caddr;
    gate_code_seg(cpu, sel, ext, true, &cdesc, &caddr);
    uint16_t cattr = x86_desc_attr(cdesc);
    unsigned new_cpl = (cattr & X86_TYPE_EC) ? cpu->cpl : X86_SEG_ATTR_DPL(cattr);

    uint64_t rsp;
    if (ist)
        rsp = tss_read(cpu, 0x24 + (ist - 1) * 8, 8, ext);
    else if (new_cpl != cpu->cpl)
        rsp = tss_read(cpu, 4 + new_cpl * 8, 8, ext);
    else
        rsp = cpu->gpr[X86_RSP];
    if (!x86_is_canonical(cpu, rsp))
        x86_raise_err(cpu, X86_EXC_SS, ext);
    if (!x86_is_canonical(cpu, target))
        x86_raise_err(cpu, X86_EXC_GP, ext);
    rsp &= ~0xfull;

    uint64_t rflags = x86_get_rflags(cpu);
    uint64_t frame[6] = { cpu->seg[X86_SS].sel, cpu->gpr[X86_RSP], rflags,
                          cpu->seg[X86_CS].sel, return_rip, error_code };
    unsigned n = has_error ? 6 : 5;
    if (!x86_is_canonical(cpu, rsp - 8 * n))
        x86_raise_err(cpu, X86_EXC_SS, ext);
    for (unsigned i = 0; i < n; i++)
        frame_write(cpu, rsp - 8 * (i + 1), frame[i], 8, new_cpl);
    x86_desc_set_accessed(cpu, caddr, &cdesc);

    /* Commit. */
    if (new_cpl != cpu->cpl) {
        /* SS = null selector with RPL = new CPL (SDM Vol. 3A 6.14.4). */
        struct x86_seg *ss = &cpu->seg[X86_SS];
        ss->sel = (uint16_t)new_cpl;
        ss->base = 0;
        ss->limit = 0xffffffff;
        ss->attr = 0x3 | X86_SEG_ATTR_S | (uint16_t)(new_cpl << 5) | X86_SEG_ATTR_P |
                   X86_SEG_ATTR_DB | X86_SEG_ATTR_G;
    }
    x86_seg_from_desc(&cpu->seg[X86_CS], (uint16_t)((sel & 0xfffc) | new_cpl), cdesc);
    cpu->gpr[X86_RSP] = rsp - 8 * n;
    finish_delivery(cpu, rflags, type == X86_DESC_INT, target);
}

/* ---------------------------------------------------------------- protected mode */

/* SDM Vol. 3A 6.12.1: 8-byte gates, TSS stack switch, vm86 frame. */
static void deliver_prot(struct x86_cpu *cpu, int vector, bool soft, uint32_t ext,
                         bool has_error, uint32_t error_code, uint64_t return_rip)
{
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    uint32_t off = (uint32_t)vector * 8;
    if (off + 7 > cpu->idtr.limit)
        x86_raise_err(cpu, X86_EXC_GP, idt_err);
    uint64_t lo = x86_read_sys(cpu, (uint32_t)(cpu->idtr.base + off), 8);
    unsigned type = (lo >> 40) & 0x1f;
    unsigned gsize = 0;
    switch (type) {
    case X86_DESC_INT16: case X86_DESC_TRAP16: gsize = 2; break;
    case X86_DESC_INT: case X86_DESC_TRAP: gsize = 4; break;
    case X86_DESC_TASK: break;
    default:
        x86_raise_err(cpu, X86_EXC_GP, idt_err);
    }
    unsigned gate_dpl = (lo >> 45) & 3;
    if (soft && gate_dpl < cpu->cpl)
        x86_raise_err(cpu, X86_EXC_GP, idt_err);
    if (!(lo & (1ull << 47)))
        x86_raise_err(cpu, X86_EXC_NP, idt_err);
    if (type == X86_DESC_TASK) {
        x86_task_gate_event(cpu, lo, ext, has_error, error_code, return_rip);   /* task.c */
        return;
    }
    uint16_t sel = (uint16_t)(lo >> 16);
    uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull);
    if (gsize == 2)
        target &= 0xffff;

    uint64_t cdesc, caddr;
    gate_code_seg(cpu, sel, ext, false, &cdesc, &caddr);
    uint16_t cattr = x86_desc_attr(cdesc);
    unsigned cdpl = X86_SEG_ATTR_DPL(cattr);
    bool vm86 = cpu->rflags & X86_FLAG_VM;
    bool inner = !(cattr & X86_TYPE_EC) && cdpl < cpu->cpl;
    if (vm86 && (!inner || cdpl != 0))
        x86_raise_err(cpu, X86_EXC_GP, (sel & 0xfffc) | ext);
    unsigned new_cpl = inner ? cdpl : cpu->cpl;
    if (target > x86_desc_limit(cdesc))
        x86_raise_err(cpu, X86_EXC_GP, ext);

    struct x86_seg ss = cpu->seg[X86_SS];
    uint64_t sp = cpu->gpr[X86_RSP];
    uint32_t ss_err = ext;
    if (inner) {
        bool tss32 = (cpu->tr.attr & 0x8) != 0;   /* type 9/B vs 1/3 */
        uint16_t new_ss;
        if (tss32) {
            sp = tss_read(cpu, 4 + new_cpl * 8, 4, ext);
            new_ss = (uint16_t)tss_read(cpu, 8 + new_cpl * 8, 2, ext);
        } else {
            sp = tss_read(cpu, 2 + new_cpl * 4, 2, ext);
            new_ss = (uint16_t)tss_read(cpu, 4 + new_cpl * 4, 2, ext);
        }
        uint32_t serr = (new_ss & 0xfffc) | ext;
        uint64_t sdesc, saddr;
        if ((new_ss & 0xfffc) == 0)
            x86_raise_err(cpu, X86_EXC_TS, ext);
        if ((new_ss & 3) != new_cpl || !x86_fetch_desc(cpu, new_ss, &sdesc, &saddr))
            x86_raise_err(cpu, X86_EXC_TS, serr);
        uint16_t sattr = x86_desc_attr(sdesc);
        if (!x86_attr_is_data(sattr) || !(sattr & X86_TYPE_WR) ||
            X86_SEG_ATTR_DPL(sattr) != new_cpl)
            x86_raise_err(cpu, X86_EXC_TS, serr);
        if (!(sattr & X86_SEG_ATTR_P))
            x86_raise_err(cpu, X86_EXC_SS, serr);
        x86_desc_set_accessed(cpu, saddr, &sdesc);
        x86_seg_from_desc(&ss, new_ss, sdesc);
        ss_err = serr;
    }

    uint64_t rflags = x86_get_rflags(cpu);
    uint64_t frame[10];
    unsigned n = 0;
    if (vm86) {
        frame[n++] = cpu->seg[X86_GS].sel;
        frame[n++] = cpu->seg[X86_FS].sel;
        frame[n++] = cpu->seg[X86_DS].sel;
        frame[n++] = cpu->seg[X86_ES].sel;
    }
    if (inner) {
        frame[n++] = cpu->seg[X86_SS].sel;
        frame[n++] = cpu->gpr[X86_RSP] & x86_size_mask(gsize);
    }
    frame[n++] = rflags & x86_size_mask(gsize);
    frame[n++] = cpu->seg[X86_CS].sel;
    frame[n++] = return_rip & x86_size_mask(gsize);
    if (has_error)
        frame[n++] = error_code & x86_size_mask(gsize);

    uint64_t mask = (ss.attr & X86_SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
    gva_t lin[10];
    for (unsigned i = 0; i < n; i++)
        lin[i] = x86_legacy_stack_lin(cpu, &ss, (sp - gsize * (i + 1)) & mask, gsize, ss_err);
    for (unsigned i = 0; i < n; i++)
        frame_write(cpu, lin[i], frame[i], gsize, new_cpl);
    x86_desc_set_accessed(cpu, caddr, &cdesc);

    /* Commit. */
    if (inner) {
        cpu->seg[X86_SS] = ss;
        if (vm86)
            for (int r = 0; r < X86_SREG_COUNT; r++)
                if (r != X86_CS && r != X86_SS)
                    cpu->seg[r] = (struct x86_seg){ 0 };
    }
    x86_seg_from_desc(&cpu->seg[X86_CS], (uint16_t)((sel & 0xfffc) | new_cpl), cdesc);
    cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~mask) | ((sp - gsize * n) & mask);
    if (inner && mask == 0xffffffffull)
        cpu->gpr[X86_RSP] = (uint32_t)cpu->gpr[X86_RSP];
    finish_delivery(cpu, rflags, !(type & 1), target);
}

/* ---------------------------------------------------------------- entry point */

void x86_deliver_event(struct x86_cpu *cpu, int vector, enum x86_event_kind kind,
                       bool has_error, uint32_t error_code, uint64_t return_rip)
{
    vector &= 0xff;
    bool soft = kind == X86_EVT_SOFTINT || kind == X86_EVT_SOFTEXC;
    uint32_t ext = soft ? 0 : 1;
    if (kind != X86_EVT_EXCEPTION)
        has_error = false;
    if (!(cpu->cr0 & X86_CR0_PE))
        deliver_real(cpu, vector, return_rip);
    else if (x86_long_mode(cpu))
        deliver_long(cpu, vector, soft, ext, has_error, error_code, return_rip);
    else
        deliver_prot(cpu, vector, soft, ext, has_error, error_code, return_rip);
    cpu->halted = false;
    cpu->intr_shadow = false;
    if (kind == X86_EVT_NMI)
        cpu->nmi_blocked = true;
    cpu->exit_block = true;
}

/* ---------------------------------------------------------------- INT n / INT3 / INTO / INT1 */

/** CC: INT3 - #BP as a software exception (gate DPL checked), trap: returns after INT3. */
void x86_op_int3(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_deliver_event(cpu, X86_EXC_BP, X86_EVT_SOFTEXC, false, 0, cpu->next_rip);
}

/** CD ib: INT n. In vm86 with IOPL < 3 it is #GP(0) (no VME, SDM Vol. 3A 20.3.3). */
void x86_op_int_imm(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (x86_vm86(cpu) && x86_iopl(cpu) < 3)
        x86_raise_gp0(cpu);
    x86_deliver_event(cpu, (int)(insn->imm & 0xff), X86_EVT_SOFTINT, false, 0, cpu->next_rip);
}

/** CE: INTO - #OF if RFLAGS.OF (invalid in 64-bit mode). */
void x86_op_into(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    if (cpu->code_mode == X86_MODE_64)
        x86_raise(cpu, X86_EXC_UD);
    if (x86_arith_flags(cpu) & X86_FLAG_OF)
        x86_deliver_event(cpu, X86_EXC_OF, X86_EVT_SOFTEXC, false, 0, cpu->next_rip);
}

/** F1: INT1 (ICEBP) - #DB without the gate DPL check. */
void x86_op_int1(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    x86_deliver_event(cpu, X86_EXC_DB, X86_EVT_ICEBP, false, 0, cpu->next_rip);
}

/* ---------------------------------------------------------------- IRET */

/* Read @size bytes at stack offset @k from the current RSP without popping. */
static uint64_t stack_peek(struct x86_cpu *cpu, uint64_t k, unsigned size)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    gva_t lin = x86_linear(cpu, X86_SS, (cpu->gpr[X86_RSP] + k) & mask, size, MMU_READ);
    return x86_read_sized(cpu, lin, size);
}

static void stack_release(struct x86_cpu *cpu, uint64_t bytes)
{
    uint64_t mask = x86_size_mask(x86_stack_size(cpu));
    uint64_t rsp = cpu->gpr[X86_RSP];
    cpu->gpr[X86_RSP] = (rsp & ~mask) | ((rsp + bytes) & mask);
}

/* SDM Vol. 2A IRET "REAL-ADDRESS-MODE" and vm86 with IOPL = 3. */
static void iret_real(struct x86_cpu *cpu, unsigned size, bool vm86)
{
    uint64_t ip = stack_peek(cpu, 0, size);
    uint16_t cs = (uint16_t)stack_peek(cpu, size, size);
    uint64_t fl = stack_peek(cpu, 2 * size, size);
    if (ip > cpu->seg[X86_CS].limit)
        x86_raise_gp0(cpu);
    uint64_t mask = 0x257fd5;   /* ID AC NT IOPL OF DF IF TF SF ZF AF PF CF */
    if (vm86)
        mask &= ~X86_FLAG_IOPL;
    if (size == 2)
        mask &= 0xffff;
    uint64_t old = x86_get_rflags(cpu);
    stack_release(cpu, 3 * size);
    x86_load_seg(cpu, X86_CS, cs);
    x86_set_rflags(cpu, (old & ~mask) | (fl & mask));
    cpu->next_rip = ip;
    cpu->nmi_blocked = false;
    x86_update_mode(cpu);
}

/* SDM Vol. 2A IRET "RETURN-TO-VIRTUAL-8086-MODE" (from CPL 0, 32-bit operand size). */
static void iret_to_vm86(struct x86_cpu *cpu, uint64_t ip, uint16_t cs, uint64_t fl)
{
    uint64_t esp = stack_peek(cpu, 12, 4);
    uint16_t sel[4], ss = (uint16_t)stack_peek(cpu, 16, 4);
    for (int i = 0; i < 4; i++)
        sel[i] = (uint16_t)stack_peek(cpu, 20 + 4 * i, 4);   /* ES DS FS GS */
    static const int order[4] = { X86_ES, X86_DS, X86_FS, X86_GS };
    x86_set_rflags(cpu, fl);
    for (int i = 0; i < 4; i++)
        x86_load_seg(cpu, order[i], sel[i]);
    x86_load_seg(cpu, X86_SS, ss);
    x86_load_seg(cpu, X86_CS, cs);
    cpu->gpr[X86_RSP] = (uint32_t)esp;
    cpu->next_rip = ip & 0xffff;
    cpu->nmi_blocked = false;
    x86_update_mode(cpu);
}

/* SDM Vol. 2A IRET "PROTECTED-MODE" and "IA-32e-MODE". */
static void iret_protected(struct x86_cpu *cpu, unsigned size)
{
    bool lm = x86_long_mode(cpu);
    if (cpu->rflags & X86_FLAG_NT) {
        if (lm)
            x86_raise_gp0(cpu);   /* IA-32e mode: no task return (Vol. 2A IRET) */
        x86_task_iret(cpu);       /* task.c */
        return;
    }
    uint64_t ip = stack_peek(cpu, 0, size);
    uint16_t cs = (uint16_t)stack_peek(cpu, size, size);
    uint64_t fl = stack_peek(cpu, 2 * size, size);
    unsigned cpl = cpu->cpl;
    if (size == 4 && !lm && (fl & X86_FLAG_VM) && cpl == 0) {
        iret_to_vm86(cpu, ip, cs, fl);
        return;
    }

    uint32_t err = cs & 0xfffc;
    uint64_t cdesc, caddr;
    if (!err)
        x86_raise_gp0(cpu);
    if (!x86_fetch_desc(cpu, cs, &cdesc, &caddr))
        x86_raise_err(cpu, X86_EXC_GP, err);
    uint16_t cattr = x86_desc_attr(cdesc);
    unsigned rpl = cs & 3, dpl = X86_SEG_ATTR_DPL(cattr);
    if (!x86_attr_is_code(cattr) || rpl < cpl)
        x86_raise_err(cpu, X86_EXC_GP, err);
    if ((cattr & X86_TYPE_EC) ? dpl > rpl : dpl != rpl)
        x86_raise_err(cpu, X86_EXC_GP, err);
    bool target64 = lm && (cattr & X86_SEG_ATTR_L);
    if (target64 && (cattr & X86_SEG_ATTR_DB))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(cattr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);

    bool outer = rpl != cpl || cpu->code_mode == X86_MODE_64;
    struct x86_seg ss;
    uint64_t new_sp = 0;
    if (outer) {
        new_sp = stack_peek(cpu, 3 * size, size);
        uint16_t ssel = (uint16_t)stack_peek(cpu, 4 * size, size);
        x86_check_ret_ss(cpu, ssel, rpl, target64, &ss);
    }
    if (target64 ? !x86_is_canonical(cpu, ip) : ip > x86_desc_limit(cdesc))
        x86_raise_gp0(cpu);
    x86_desc_set_accessed(cpu, caddr, &cdesc);

    /* Commit (SDM: which RFLAGS bits IRET may change at this CPL/IOPL). */
    uint64_t mask = X86_FLAGS_ARITH | X86_FLAG_TF | X86_FLAG_DF | X86_FLAG_NT | X86_FLAG_RF |
                    X86_FLAG_AC | X86_FLAG_ID;
    if (cpl == 0)
        mask |= X86_FLAG_IOPL | X86_FLAG_VIF | X86_FLAG_VIP;
    if (cpl <= x86_iopl(cpu))
        mask |= X86_FLAG_IF;
    if (size == 2)
        mask &= 0xffff;
    uint64_t old = x86_get_rflags(cpu);
    x86_seg_from_desc(&cpu->seg[X86_CS], cs, cdesc);
    if (outer) {
        cpu->seg[X86_SS] = ss;
        if (target64)
            cpu->gpr[X86_RSP] = new_sp;
        else if (ss.attr & X86_SEG_ATTR_DB)
            cpu->gpr[X86_RSP] = (uint32_t)new_sp;
        else
            cpu->gpr[X86_RSP] = (cpu->gpr[X86_RSP] & ~0xffffull) | (new_sp & 0xffff);
        if (rpl > cpl)
            x86_scrub_data_segs(cpu, rpl);
    } else {
        stack_release(cpu, 3 * size);
    }
    x86_set_rflags(cpu, (old & ~mask) | (fl & mask));
    cpu->next_rip = ip;
    cpu->nmi_blocked = false;
    x86_update_mode(cpu);
}

/** CF: IRET / IRETD / IRETQ (operand size 2 / 4 / 8). */
void x86_op_iret(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = insn->opsize;
    if (!(cpu->cr0 & X86_CR0_PE)) {
        iret_real(cpu, size, false);
    } else if (cpu->rflags & X86_FLAG_VM) {
        if (x86_iopl(cpu) < 3)
            x86_raise_gp0(cpu);
        iret_real(cpu, size, true);
    } else {
        iret_protected(cpu, size);
    }
    cpu->exit_block = true;
}
