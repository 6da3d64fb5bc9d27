/*
 * cpu/x86/task.c - hardware task switching (legacy protected mode only).
 *
 * Follows SDM Vol. 3A ch. 7 "Task Management": 7.2.1 (32-bit TSS layout),
 * 7.2.2 (TSS descriptor, busy flag), 7.2.5 (task gates), 7.3 (the task
 * switch steps 1-14 and the commit point), Table 7-1 (exception conditions
 * checked during a task switch), 7.4 / Table 7-2 (NT flag, previous-task
 * link, busy flag per source), 7.6 (16-bit TSS); 6.12.2 (interrupt tasks);
 * Table 6-6 (#TS conditions); Vol. 2A JMP / CALL / INT n / IRET pseudo-code
 * (TASK-GATE, TASK-STATE-SEGMENT, TASK-RETURN). In IA-32e mode there are no
 * task switches: far CALL/JMP to a TSS or task gate is #GP(selector) and a
 * task gate in the IDT is #GP (excp.c), IRET with NT = 1 is #GP(0) (excp.c).
 *
 * Decided:
 *  - Faults before the commit point (7.3 NOTES: an error in steps 1-11
 *    leaves "the processor ... returned to its state prior to the execution
 *    of the instruction that initiated the task switch"; Interrupt 14: a #PF
 *    while writing the old task's state, reading the GDT or reading the new
 *    TSS is not one of the cases that "occur in the context of the new
 *    task"). So everything is read and checked first (new TSS descriptor and
 *    image, old TSS limit), then every store target is probed for writing
 *    (old TSS dynamic fields, the new TSS's previous-task link, both busy
 *    bytes in the GDT): a #PF there is raised in the old task with nothing
 *    written - registers, TR, the old TSS and the busy bits all unchanged -
 *    and CR2 / the error code of the store. Only then is anything stored.
 *    Table 6-6's "stores to the old TSS encounter a fault condition" -> #TS
 *    is the segment-level check (old TSS limit below its dynamic fields);
 *    page faults stay #PF as Interrupt 14 lists them.
 *  - After the commit point (TR loaded) a fault is raised with cpu->rip =
 *    the new task's EIP and the new task's (partly loaded) state, as 7.3
 *    step 13 says. Segment registers are first loaded with their selectors
 *    and unusable caches (SS keeps DPL = new CS.RPL so CPL is the new one),
 *    then LDTR, CS, SS, DS, ES, FS, GS are qualified in that order (Table
 *    7-1's order is the P6 one and "model specific").
 *  - CR3 is loaded from a 32-bit TSS only when CR0.PG = 1 (7.3 step 12) and
 *    is never written to the old TSS (static field, 7.2.1); nor is LDTR.
 *  - 16-bit TSS (7.6): the upper halves of EIP and EFLAGS are lost (read
 *    as 0); GPRs load as 0xFFFF0000 | value ("modified and not
 *    maintained", as Bochs and QEMU do); FS and GS become null.
 *  - Debug trap flag T (bit 0 of the 32-bit TSS word at 64H, 7.2.1; Vol. 3B
 *    18.3.1.6): when a switch into such a task completes, cpu->task_trap is
 *    set and the run loop raises #DB with DR6.BT before the new task's first
 *    instruction (cpu.c). A fault after the commit point (step 13, or EIP
 *    beyond the CS limit) is delivered instead and the T trap is dropped.
 *  - Local breakpoint enables DR7.L0-L3 and LE are cleared on every task
 *    switch (SDM Vol. 3A 18.2.4).
 *  - Error codes of faults during an event's task switch carry EXT (6.13).
 */
#include <inttypes.h>

#include "cpu/x86/sys.h"
#include "util/log.h"

/* The state a task switch reads from a TSS (7.2.1 / 7.6). */
struct tss_state {
    uint32_t cr3, eip, eflags, gpr[8];
    uint16_t seg[X86_SREG_COUNT];   /* indexed by X86_ES.. (TSS order ES CS SS DS FS GS) */
    uint16_t ldt;
    bool trap;
};

/* Defined EFLAGS bits a TSS image may set (SDM Vol. 1 3.4.3). */
#define EFLAGS_DEFINED 0x3f7fd5ull

static bool tss_is32(unsigned type)
{
    return (type & 8) != 0;
}

/* Minimum TSS limit: 67H for a 32-bit TSS, 2BH for a 16-bit one (Table 7-1). */
static uint32_t tss_min_limit(unsigned type)
{
    return tss_is32(type) ? 0x67 : 0x2b;
}

static void read_tss(struct x86_cpu *cpu, uint32_t base, bool is32, struct tss_state *t)
{
    if (is32) {
        t->cr3 = (uint32_t)x86_read_sys(cpu, base + 0x1c, 4);
        t->eip = (uint32_t)x86_read_sys(cpu, base + 0x20, 4);
        t->eflags = (uint32_t)x86_read_sys(cpu, base + 0x24, 4);
        for (int i = 0; i < 8; i++)
            t->gpr[i] = (uint32_t)x86_read_sys(cpu, base + 0x28 + 4 * (uint32_t)i, 4);
        for (int i = 0; i < X86_SREG_COUNT; i++)
            t->seg[i] = (uint16_t)x86_read_sys(cpu, base + 0x48 + 4 * (uint32_t)i, 2);
        t->ldt = (uint16_t)x86_read_sys(cpu, base + 0x60, 2);
        t->trap = x86_read_sys(cpu, base + 0x64, 2) & 1;
    } else {
        t->cr3 = 0;
        t->eip = (uint32_t)x86_read_sys(cpu, base + 0x0e, 2);
        t->eflags = (uint32_t)x86_read_sys(cpu, base + 0x10, 2);
        for (int i = 0; i < 8; i++)
            t->gpr[i] = 0xffff0000u | (uint32_t)x86_read_sys(cpu, base + 0x12 + 2 * (uint32_t)i, 2);
        for (int i = 0; i < 4; i++)   /* ES CS SS DS */
            t->seg[i] = (uint16_t)x86_read_sys(cpu, base + 0x22 + 2 * (uint32_t)i, 2);
        t->seg[X86_FS] = t->seg[X86_GS] = 0;
        t->ldt = (uint16_t)x86_read_sys(cpu, base + 0x2a, 2);
        t->trap = false;
    }
}

/* Save the dynamic fields of the current task into the TSS in TR (7.2.1). */
static void save_tss(struct x86_cpu *cpu, uint32_t eip, uint32_t eflags)
{
    uint32_t base = (uint32_t)cpu->tr.base;
    if (tss_is32(X86_SEG_ATTR_TYPE(cpu->tr.attr))) {
        x86_write_sys(cpu, base + 0x20, eip, 4);
        x86_write_sys(cpu, base + 0x24, eflags, 4);
        for (int i = 0; i < 8; i++)
            x86_write_sys(cpu, base + 0x28 + 4 * (uint32_t)i, (uint32_t)cpu->gpr[i], 4);
        for (int i = 0; i < X86_SREG_COUNT; i++)
            x86_write_sys(cpu, base + 0x48 + 4 * (uint32_t)i, cpu->seg[i].sel, 2);
    } else {
        x86_write_sys(cpu, base + 0x0e, eip & 0xffff, 2);
        x86_write_sys(cpu, base + 0x10, eflags & 0xffff, 2);
        for (int i = 0; i < 8; i++)
            x86_write_sys(cpu, base + 0x12 + 2 * (uint32_t)i, cpu->gpr[i] & 0xffff, 2);
        for (int i = 0; i < 4; i++)
            x86_write_sys(cpu, base + 0x22 + 2 * (uint32_t)i, cpu->seg[i].sel, 2);
    }
}

/* Linear address of the type byte of the GDT descriptor of @sel. */
static gva_t busy_byte(const struct x86_cpu *cpu, uint16_t sel)
{
    return (uint32_t)(cpu->gdtr.base + (sel & 0xfff8u) + 5);
}

/*
 * Probe every store of steps 7-10 for writing before the first one, so that
 * a #PF on any of them leaves memory as well as registers unchanged (see
 * "Decided" above).
 */
static void probe_stores(struct x86_cpu *cpu, uint16_t sel, uint32_t new_base,
                         enum x86_task_source src)
{
    uint32_t old = (uint32_t)cpu->tr.base;
    if (tss_is32(X86_SEG_ATTR_TYPE(cpu->tr.attr)))
        x86_probe_write_sys(cpu, old + 0x20, 0x60 - 0x20);   /* EIP .. GS */
    else
        x86_probe_write_sys(cpu, old + 0x0e, 0x2a - 0x0e);   /* IP .. DS */
    if (src == X86_TASK_CALL || src == X86_TASK_INT)
        x86_probe_write_sys(cpu, new_base, 2);               /* previous-task link */
    if (src == X86_TASK_JMP || src == X86_TASK_IRET)
        x86_probe_write_sys(cpu, busy_byte(cpu, cpu->tr.sel), 1);
    if (src != X86_TASK_IRET)
        x86_probe_write_sys(cpu, busy_byte(cpu, sel), 1);
}

/* Set or clear the busy bit (type bit 1) of the GDT TSS descriptor of @sel. */
static void set_busy(struct x86_cpu *cpu, uint16_t sel, bool busy)
{
    gva_t a = busy_byte(cpu, sel);
    uint8_t b = (uint8_t)x86_read_sys(cpu, a, 1);
    b = busy ? (uint8_t)(b | 2) : (uint8_t)(b & ~2u);
    x86_write_sys(cpu, a, b, 1);
}

/* ---------------------------------------------------------------- step 13 */

/* Qualify the new task's LDT selector (Table 7-1: #TS(LDT) for every failure). */
static void load_ldt(struct x86_cpu *cpu, uint16_t sel, uint32_t ext)
{
    uint32_t err = (sel & 0xfffcu) | ext;
    if ((sel & 0xfffc) == 0)
        return;                                  /* LDTR stays unusable */
    uint64_t d, addr;
    if ((sel & 4) || !x86_fetch_desc(cpu, sel, &d, &addr))
        x86_raise_err(cpu, X86_EXC_TS, err);
    uint16_t attr = x86_desc_attr(d);
    if ((attr & X86_SEG_ATTR_S) || X86_SEG_ATTR_TYPE(attr) != X86_DESC_LDT ||
        !(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_TS, err);
    x86_seg_from_desc(&cpu->ldtr, sel, d);
}

/*
 * Qualify and load segment register @sreg with @sel for a task at @cpl
 * (Table 7-1, Table 6-6): #TS(sel) for a bad selector or descriptor, #NP
 * (#SS for SS) for a not-present one.
 */
static void load_task_seg(struct x86_cpu *cpu, int sreg, uint16_t sel, unsigned cpl, uint32_t ext)
{
    uint32_t err = (sel & 0xfffcu) | ext;
    if ((sel & 0xfffc) == 0) {
        if (sreg == X86_CS || sreg == X86_SS)
            x86_raise_err(cpu, X86_EXC_TS, err);
        cpu->seg[sreg] = (struct x86_seg){ .sel = sel };
        return;
    }
    uint64_t d, addr;
    if (!x86_fetch_desc(cpu, sel, &d, &addr))
        x86_raise_err(cpu, X86_EXC_TS, err);
    uint16_t attr = x86_desc_attr(d);
    unsigned dpl = X86_SEG_ATTR_DPL(attr), rpl = sel & 3u;
    if (!(attr & X86_SEG_ATTR_S))
        x86_raise_err(cpu, X86_EXC_TS, err);
    bool code = attr & X86_TYPE_CODE, conforming = code && (attr & X86_TYPE_EC);
    int np = X86_EXC_NP;
    if (sreg == X86_CS) {
        if (!code || (conforming ? dpl > rpl : dpl != rpl))
            x86_raise_err(cpu, X86_EXC_TS, err);
    } else if (sreg == X86_SS) {
        if (code || !(attr & X86_TYPE_WR) || rpl != cpl || dpl != cpl)
            x86_raise_err(cpu, X86_EXC_TS, err);
        np = X86_EXC_SS;
    } else {
        if (code && !(attr & X86_TYPE_WR))
            x86_raise_err(cpu, X86_EXC_TS, err);
        if (!conforming && (dpl < cpl || dpl < rpl))
            x86_raise_err(cpu, X86_EXC_TS, err);
    }
    if (!(attr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, np, err);
    x86_desc_set_accessed(cpu, addr, &d);
    x86_seg_from_desc(&cpu->seg[sreg], sel, d);
}

/* ---------------------------------------------------------------- the switch */

/*
 * SWITCH-TASKS to the TSS selected by @sel with GDT descriptor @desc (already
 * checked present and available/busy as @src requires), SDM Vol. 3A 7.3
 * steps 3-13. @ret_eip is the EIP saved for the old task.
 */
static void switch_tasks(struct x86_cpu *cpu, uint16_t sel, uint64_t desc,
                         enum x86_task_source src, uint32_t ext, uint64_t ret_eip)
{
    uint32_t tss_err = (sel & 0xfffcu) | ext;
    uint16_t attr = x86_desc_attr(desc);
    unsigned type = X86_SEG_ATTR_TYPE(attr);
    bool new32 = tss_is32(type);
    uint32_t base = x86_desc_base(desc), limit = x86_desc_limit(desc);

    /* Step 3: limit (Table 7-1: #TS(new TSS)). */
    if (limit < tss_min_limit(type))
        x86_raise_err(cpu, X86_EXC_TS, tss_err);
    /* The old TSS must hold its dynamic fields (Table 6-6: stores to the old
     * TSS fault -> #TS with the old TSS selector). */
    unsigned old_type = X86_SEG_ATTR_TYPE(cpu->tr.attr);
    if (!(cpu->tr.attr & X86_SEG_ATTR_P) || (cpu->tr.attr & X86_SEG_ATTR_S) ||
        (old_type != X86_DESC_TSS_BUSY && old_type != X86_DESC_TSS16_BUSY &&
         old_type != X86_DESC_TSS_AVAIL && old_type != X86_DESC_TSS16_AVAIL) ||
        cpu->tr.limit < (tss_is32(old_type) ? 0x5fu : 0x29u))
        x86_raise_err(cpu, X86_EXC_TS, (cpu->tr.sel & 0xfffcu) | ext);

    /* Step 5: everything from the new TSS is read before anything changes. */
    struct tss_state t;
    read_tss(cpu, base, new32, &t);
    probe_stores(cpu, sel, base, src);

    /* Steps 6-8: save the old task (NT cleared in the image for IRET). */
    uint32_t old_eflags = (uint32_t)x86_get_rflags(cpu);
    if (src == X86_TASK_IRET)
        old_eflags &= ~(uint32_t)X86_FLAG_NT;
    save_tss(cpu, (uint32_t)ret_eip, old_eflags);
    /* Table 7-2: CALL / interrupt link the new task back to the old one. */
    if (src == X86_TASK_CALL || src == X86_TASK_INT)
        x86_write_sys(cpu, base, cpu->tr.sel, 2);
    if (src == X86_TASK_JMP || src == X86_TASK_IRET)
        set_busy(cpu, cpu->tr.sel, false);
    if (src != X86_TASK_IRET)
        set_busy(cpu, sel, true);

    /* Step 11: commit point - TR now names the new task. */
    x86_seg_from_desc(&cpu->tr, sel, desc);
    cpu->tr.attr |= 2;                                 /* busy */
    cpu->cr0 |= X86_CR0_TS;                            /* 7.3: set on every switch */
    cpu->dr[7] &= ~0x155ull;                           /* L0-L3, LE (18.2.4) */
    x86_dr_update(cpu);                                /* re-arm what G0-G3 keep (cpu.c) */

    /* Step 12: registers. */
    if (new32 && (cpu->cr0 & X86_CR0_PG))
        x86_write_cr3(cpu, t.cr3);
    uint64_t eflags = (t.eflags & EFLAGS_DEFINED) | X86_FLAG_FIXED1;
    if (src == X86_TASK_CALL || src == X86_TASK_INT)
        eflags |= X86_FLAG_NT;
    x86_set_rflags(cpu, eflags);
    for (int i = 0; i < 8; i++)
        cpu->gpr[i] = t.gpr[i];
    cpu->rip = cpu->next_rip = t.eip;
    cpu->ldtr = (struct x86_seg){ .sel = t.ldt };

    if (eflags & X86_FLAG_VM) {
        /* Virtual-8086 task (SDM Vol. 3A 20.2.1): no descriptor checks. */
        for (int i = 0; i < X86_SREG_COUNT; i++) {
            struct x86_seg *s = &cpu->seg[i];
            s->sel = t.seg[i];
            s->base = (uint64_t)t.seg[i] << 4;
            s->limit = 0xffff;
            s->attr = i == X86_CS ? 0xfb : 0xf3;
        }
        x86_update_mode(cpu);
        load_ldt(cpu, t.ldt, ext);
    } else {
        unsigned cpl = t.seg[X86_CS] & 3u;
        for (int i = 0; i < X86_SREG_COUNT; i++)
            cpu->seg[i] = (struct x86_seg){ .sel = t.seg[i] };
        cpu->seg[X86_SS].attr = (uint16_t)(cpl << 5);  /* CPL = new CS.RPL meanwhile */
        x86_update_mode(cpu);

        /* Step 13: qualify the descriptors in the new task's context. */
        load_ldt(cpu, t.ldt, ext);
        load_task_seg(cpu, X86_CS, t.seg[X86_CS], cpl, ext);
        load_task_seg(cpu, X86_SS, t.seg[X86_SS], cpl, ext);
        static const int data[4] = { X86_DS, X86_ES, X86_FS, X86_GS };
        for (int i = 0; i < 4; i++)
            load_task_seg(cpu, data[i], t.seg[data[i]], cpl, ext);
        x86_update_mode(cpu);
    }
    if (t.eip > cpu->seg[X86_CS].limit)
        x86_raise_err(cpu, X86_EXC_GP, ext);
    if (t.trap)
        cpu->task_trap = true;          /* #DB (DR6.BT) before the first instruction (cpu.c) */
    cpu->exit_block = true;
}

/* Fetch the GDT TSS descriptor for @sel (TI = 0 and inside the GDT, S = 0). */
static bool fetch_tss_desc(struct x86_cpu *cpu, uint16_t sel, uint64_t *desc)
{
    uint64_t addr;
    if ((sel & 4) || (sel & 0xfffc) == 0 || !x86_fetch_desc(cpu, sel, desc, &addr))
        return false;
    return !(x86_desc_attr(*desc) & X86_SEG_ATTR_S);
}

static bool type_available(unsigned type)
{
    return type == X86_DESC_TSS_AVAIL || type == X86_DESC_TSS16_AVAIL;
}

/* ---------------------------------------------------------------- entry points */

void x86_task_far(struct x86_cpu *cpu, uint16_t sel, uint64_t desc, bool call)
{
    uint32_t err = sel & 0xfffcu;
    if (x86_long_mode(cpu))
        x86_raise_err(cpu, X86_EXC_GP, err);   /* no tasks in IA-32e mode (7.7) */
    uint16_t attr = x86_desc_attr(desc);
    unsigned type = X86_SEG_ATTR_TYPE(attr), dpl = X86_SEG_ATTR_DPL(attr);
    if (dpl < cpu->cpl || dpl < (sel & 3u))
        x86_raise_err(cpu, X86_EXC_GP, err);

    uint16_t tss_sel = sel;
    uint64_t tss_desc = desc;
    if (type == X86_DESC_TASK) {
        /* JMP / CALL "TASK-GATE" (SDM Vol. 2A). */
        if (!(attr & X86_SEG_ATTR_P))
            x86_raise_err(cpu, X86_EXC_NP, err);
        tss_sel = (uint16_t)(desc >> 16);
        if (!fetch_tss_desc(cpu, tss_sel, &tss_desc))
            x86_raise_err(cpu, X86_EXC_GP, tss_sel & 0xfffcu);
    } else if (sel & 4) {
        x86_raise_err(cpu, X86_EXC_GP, err);   /* a TSS descriptor must be in the GDT */
    }
    uint16_t tattr = x86_desc_attr(tss_desc);
    if (!type_available(X86_SEG_ATTR_TYPE(tattr)))
        x86_raise_err(cpu, X86_EXC_GP, tss_sel & 0xfffcu);   /* busy or not a TSS */
    if (!(tattr & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, tss_sel & 0xfffcu);
    switch_tasks(cpu, tss_sel, tss_desc, call ? X86_TASK_CALL : X86_TASK_JMP, 0, cpu->next_rip);
}

void x86_task_gate_event(struct x86_cpu *cpu, uint64_t gate, uint32_t ext, bool has_error,
                         uint32_t error_code, uint64_t return_rip)
{
    /* INT n "TASK-GATE" (SDM Vol. 2A); gate DPL and P checked by the caller. */
    uint16_t tss_sel = (uint16_t)(gate >> 16);
    uint32_t err = (tss_sel & 0xfffcu) | ext;
    uint64_t d;
    if (!fetch_tss_desc(cpu, tss_sel, &d) || !type_available(X86_SEG_ATTR_TYPE(x86_desc_attr(d))))
        x86_raise_err(cpu, X86_EXC_GP, err);
    if (!(x86_desc_attr(d) & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    switch_tasks(cpu, tss_sel, d, X86_TASK_INT, ext, return_rip);
    if (has_error) {
        /* 6.12.2: the error code goes on the new task's stack, sized by its TSS. */
        unsigned size = tss_is32(X86_SEG_ATTR_TYPE(cpu->tr.attr)) ? 4 : 2;
        x86_push(cpu, error_code, size);
    }
}

void x86_task_iret(struct x86_cpu *cpu)
{
    /* IRET "TASK-RETURN" (SDM Vol. 2A); Table 7-1: #TS for IRET. */
    if (!(cpu->tr.attr & X86_SEG_ATTR_P) || cpu->tr.limit < 1)
        x86_raise_err(cpu, X86_EXC_TS, cpu->tr.sel & 0xfffcu);
    uint16_t link = (uint16_t)x86_read_sys(cpu, (uint32_t)cpu->tr.base, 2);
    uint32_t err = link & 0xfffcu;
    uint64_t d;
    if (!fetch_tss_desc(cpu, link, &d))
        x86_raise_err(cpu, X86_EXC_TS, err);
    unsigned type = X86_SEG_ATTR_TYPE(x86_desc_attr(d));
    if (type != X86_DESC_TSS_BUSY && type != X86_DESC_TSS16_BUSY)
        x86_raise_err(cpu, X86_EXC_TS, err);
    if (!(x86_desc_attr(d) & X86_SEG_ATTR_P))
        x86_raise_err(cpu, X86_EXC_NP, err);
    switch_tasks(cpu, link, d, X86_TASK_IRET, 0, cpu->next_rip);
    cpu->nmi_blocked = false;
}
