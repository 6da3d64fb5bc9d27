/*
 * tests/unit/test_task.c - task switching corner cases of cpu/x86/task.c that
 * the task.S test ROM does not reach: faults after the commit point for CS,
 * SS and the LDT (SDM Vol. 3A 7.3 step 13, Table 7-1, Table 6-6), a
 * virtual-8086 task (EFLAGS.VM = 1 in the new TSS), task-gate checks of far
 * JMP (Vol. 2A JMP "TASK-GATE"), IRET's link checks (Vol. 2A IRET
 * "TASK-RETURN"), CR3 untouched with paging off (7.3 step 12), DR7 local
 * enables cleared (Vol. 3A 18.2.4), the TSS T flag (7.2.1: task_trap
 * pending, DR6 untouched until the #DB), and page faults before the commit
 * point (7.3 NOTES: an error in steps 1-11 returns the processor to its
 * state before the instruction; Interrupt 14: a #PF writing the old task's
 * state is not raised in the new task): the #PF is raised in the old task
 * and the switch leaves no partial trace (old busy bit, old TSS image).
 * Expected values from the SDM.
 */
#include <criterion/criterion.h>

#include "sys_harness.h"

/* Legacy protected-mode layout (paging off). */
#define T_GDT     0x800ull
#define T_OLD_TSS 0x4000ull
#define T_NEW_TSS 0x4100ull
#define T_LDT     0x6000ull

#define S_CODE    0x08
#define S_DATA    0x10
#define S_UCODE   0x18
#define S_UDATA   0x20
#define S_OLD     0x28
#define S_NEW     0x30
#define S_LDTD    0x38
#define S_GATE    0x40
#define S_DATA_NP 0x48
#define S_CODE_NP 0x50
#define S_GATE_NP 0x58
#define S_GATE3   0x60     /* task gate -> the busy old TSS */

static uint64_t sys_desc(uint64_t base, uint32_t limit, unsigned access)
{
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | ((uint64_t)access << 40) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((base >> 24) << 56);
}

static uint64_t task_gate(uint16_t tss_sel, unsigned access)
{
    return ((uint64_t)tss_sel << 16) | ((uint64_t)access << 40);
}

static void w32(struct sys_env *e, uint64_t gpa, uint32_t v)
{
    gpa_write(&e->mem, gpa, &v, 4);
}

static uint32_t r32(struct sys_env *e, uint64_t gpa)
{
    uint32_t v = 0;
    gpa_read(&e->mem, gpa, &v, 4);
    return v;
}

/* The new task: flat CPL 0, EIP 0x21000, ESP 0x9000, EAX 0xa5a5. */
static void new_tss(struct sys_env *e)
{
    uint8_t zero[0x68] = { 0 };
    gpa_write(&e->mem, T_NEW_TSS, zero, sizeof(zero));
    w32(e, T_NEW_TSS + 0x20, 0x21000);
    w32(e, T_NEW_TSS + 0x24, 0x2);
    w32(e, T_NEW_TSS + 0x28, 0xa5a5);
    w32(e, T_NEW_TSS + 0x38, 0x9000);
    w32(e, T_NEW_TSS + 0x48, S_DATA);
    w32(e, T_NEW_TSS + 0x4c, S_CODE);
    w32(e, T_NEW_TSS + 0x50, S_DATA);
    w32(e, T_NEW_TSS + 0x54, S_DATA);
    w32(e, T_NEW_TSS + 0x58, S_DATA);
    w32(e, T_NEW_TSS + 0x5c, S_DATA);
}

static void init_legacy(struct sys_env *e)
{
    memset(e, 0, sizeof(*e));
    guest_mem_init_pc(&e->mem, 16ull << 20, 0xC0000000ull, NULL);
    bus_init(&e->bus);
    e->v = x86_vcpu_create(0, X86_CPU_QEMU64, &e->mem, &e->bus);
    struct x86_cpu *cpu = e->cpu = x86_cpu_of(e->v);
    uint64_t gdt[13] = {
        0,
        0x00cf9b000000ffffull,                    /* 0x08 code32 DPL0 */
        0x00cf93000000ffffull,                    /* 0x10 data DPL0 */
        0x00cffb000000ffffull,                    /* 0x18 code32 DPL3 */
        0x00cff3000000ffffull,                    /* 0x20 data DPL3 */
        sys_desc(T_OLD_TSS, 0x67, 0x8b),          /* 0x28 old TSS, busy */
        sys_desc(T_NEW_TSS, 0x67, 0x89),          /* 0x30 new TSS, available */
        sys_desc(T_LDT, 0xf, 0x82),               /* 0x38 LDT */
        task_gate(S_NEW, 0x85),                   /* 0x40 task gate -> new TSS */
        0x00cf13000000ffffull,                    /* 0x48 data, not present */
        0x00cf1b000000ffffull,                    /* 0x50 code, not present */
        task_gate(S_NEW, 0x05),                   /* 0x58 task gate, not present */
        task_gate(S_OLD, 0x85),                   /* 0x60 task gate -> busy old TSS */
    };
    gpa_write(&e->mem, T_GDT, gdt, sizeof(gdt));
    cpu->gdtr = (struct x86_dtr){ T_GDT, sizeof(gdt) - 1 };
    cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
    cpu->efer = 0;
    x86_seg_from_desc(&cpu->seg[X86_CS], S_CODE, gdt[1]);
    for (int s = 0; s < X86_SREG_COUNT; s++)
        if (s != X86_CS)
            x86_seg_from_desc(&cpu->seg[s], S_DATA, gdt[2]);
    x86_seg_from_desc(&cpu->tr, S_OLD, gdt[5]);
    cpu->ldtr = (struct x86_seg){ 0 };
    cpu->rflags = X86_FLAG_FIXED1;
    x86_update_mode(cpu);
    cpu->exit_block = false;
    cpu->rip = 0x20000;
    cpu->next_rip = 0x20007;
    cpu->gpr[X86_RSP] = 0x8000;
    new_tss(e);
}

static uint64_t gdt_desc(struct sys_env *e, uint16_t sel)
{
    return h_r64(e, T_GDT + (sel & 0xfff8));
}

struct far_arg {
    struct sys_env *e;
    uint16_t sel;
    bool call;
};

static void do_far(struct x86_cpu *cpu, void *p)
{
    struct far_arg *a = p;
    x86_task_far(cpu, a->sel, gdt_desc(a->e, a->sel), a->call);
}

static void do_iret(struct x86_cpu *cpu, void *p)
{
    x86_task_iret(cpu);
}

static int far(struct sys_env *e, uint16_t sel, bool call, uint32_t *err)
{
    struct far_arg a = { e, sel, call };
    return h_try(e->cpu, do_far, &a, err);
}

Test(task, jmp_switch_and_dr7_cr3)
{
    struct sys_env e;
    init_legacy(&e);
    struct x86_cpu *cpu = e.cpu;
    cpu->cr3 = 0x123000;
    w32(&e, T_NEW_TSS + 0x1c, 0x456000);     /* CR3 field: not loaded with CR0.PG = 0 */
    cpu->dr[7] = 0x3ff;
    cpu->gpr[X86_RAX] = 0x1111;
    cr_assert_eq(far(&e, S_NEW, false, NULL), -1);
    cr_assert_eq(cpu->tr.sel, S_NEW);
    cr_assert_eq(cpu->rip, 0x21000);
    cr_assert_eq(cpu->next_rip, 0x21000);
    cr_assert_eq(cpu->gpr[X86_RAX], 0xa5a5);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x9000);
    cr_assert_eq(cpu->cr3, 0x123000);
    cr_assert_eq(cpu->dr[7], 0x3ff & ~0x155ull);          /* L0-L3, LE cleared; G kept */
    cr_assert(cpu->cr0 & X86_CR0_TS);
    cr_assert_eq(r32(&e, T_OLD_TSS + 0x20), 0x20007);     /* EIP of the next instruction */
    cr_assert_eq(r32(&e, T_OLD_TSS + 0x28), 0x1111);
    cr_assert_eq(r32(&e, T_OLD_TSS + 0x1c), 0);            /* CR3 is a static field */
    cr_assert_eq((gdt_desc(&e, S_OLD) >> 40) & 0xff, 0x89);
    cr_assert_eq((gdt_desc(&e, S_NEW) >> 40) & 0xff, 0x8b);
    h_fini(&e);
}

Test(task, far_jmp_gate_checks)
{
    struct sys_env e;
    init_legacy(&e);
    uint32_t err = 0;
    /* Gate not present: #NP(gate selector). */
    cr_assert_eq(far(&e, S_GATE_NP, false, &err), X86_EXC_NP);
    cr_assert_eq(err, S_GATE_NP);
    /* Gate to a busy TSS: #GP(TSS selector). */
    cr_assert_eq(far(&e, S_GATE3, false, &err), X86_EXC_GP);
    cr_assert_eq(err, S_OLD);
    /* RPL 3 > gate DPL 0: #GP(gate selector). */
    cr_assert_eq(far(&e, S_GATE | 3, true, &err), X86_EXC_GP);
    cr_assert_eq(err, S_GATE);
    cr_assert_eq(e.cpu->tr.sel, S_OLD);
    /* Through the gate: TR is the TSS, not the gate. */
    cr_assert_eq(far(&e, S_GATE, true, NULL), -1);
    cr_assert_eq(e.cpu->tr.sel, S_NEW);
    cr_assert(e.cpu->rflags & X86_FLAG_NT);
    cr_assert_eq(h_r16(&e, T_NEW_TSS), S_OLD);
    h_fini(&e);
}

Test(task, cs_not_present_after_commit)
{
    struct sys_env e;
    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x4c, S_CODE_NP);
    uint32_t err = 0;
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_NP);
    cr_assert_eq(err, S_CODE_NP);
    /* Raised in the new task: TR, EIP and registers are the new task's. */
    cr_assert_eq(e.cpu->tr.sel, S_NEW);
    cr_assert_eq(e.cpu->rip, 0x21000);
    cr_assert_eq(e.cpu->gpr[X86_RAX], 0xa5a5);
    cr_assert_eq(e.cpu->seg[X86_CS].sel, S_CODE_NP);
    h_fini(&e);
}

Test(task, ss_checks_after_commit)
{
    struct sys_env e;
    init_legacy(&e);
    uint32_t err = 0;
    w32(&e, T_NEW_TSS + 0x50, S_UDATA | 3);   /* SS RPL/DPL 3 with CS at CPL 0: #TS(SS) */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_TS);
    cr_assert_eq(err, S_UDATA);
    h_fini(&e);

    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x50, S_DATA_NP);     /* not present: #SS(SS) */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_SS);
    cr_assert_eq(err, S_DATA_NP);
    h_fini(&e);

    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x50, 0);             /* null SS: #TS(0) */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_TS);
    cr_assert_eq(err, 0);
    h_fini(&e);

    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x54, S_DATA_NP);     /* DS not present: #NP(DS) */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_NP);
    cr_assert_eq(err, S_DATA_NP);
    h_fini(&e);
}

Test(task, ldt_checks_after_commit)
{
    struct sys_env e;
    uint32_t err = 0;
    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x60, S_DATA);        /* not an LDT descriptor: #TS(LDT) */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_TS);
    cr_assert_eq(err, S_DATA);
    h_fini(&e);

    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x60, S_LDTD | 4);    /* TI = 1: #TS(LDT) */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_TS);
    cr_assert_eq(err, S_LDTD | 4);
    h_fini(&e);

    /* A good LDT: CS from it (index 1 of the LDT, TI = 1). */
    init_legacy(&e);
    h_w64(&e, T_LDT + 8, 0x00cf9b000000ffffull);
    w32(&e, T_NEW_TSS + 0x60, S_LDTD);
    w32(&e, T_NEW_TSS + 0x4c, 0x8 | 4);
    cr_assert_eq(far(&e, S_NEW, false, NULL), -1);
    cr_assert_eq(e.cpu->ldtr.sel, S_LDTD);
    cr_assert_eq(e.cpu->ldtr.base, T_LDT);
    cr_assert_eq(e.cpu->seg[X86_CS].sel, 0xc);
    h_fini(&e);
}

Test(task, vm86_task)
{
    struct sys_env e;
    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x24, 0x20002);       /* EFLAGS.VM */
    w32(&e, T_NEW_TSS + 0x20, 0x100);
    w32(&e, T_NEW_TSS + 0x4c, 0x1234);        /* CS */
    w32(&e, T_NEW_TSS + 0x50, 0x2000);        /* SS */
    cr_assert_eq(far(&e, S_NEW, false, NULL), -1);
    struct x86_cpu *cpu = e.cpu;
    cr_assert(cpu->rflags & X86_FLAG_VM);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->code_mode, X86_MODE_16);
    cr_assert_eq(cpu->seg[X86_CS].base, 0x12340);
    cr_assert_eq(cpu->seg[X86_SS].base, 0x20000);
    cr_assert_eq(cpu->seg[X86_CS].limit, 0xffff);
    cr_assert_eq(cpu->rip, 0x100);
    h_fini(&e);
}

Test(task, iret_link_checks)
{
    struct sys_env e;
    uint32_t err = 0;
    init_legacy(&e);
    e.cpu->rflags |= X86_FLAG_NT;
    /* Null link: #TS(0). */
    cr_assert_eq(h_try(e.cpu, do_iret, NULL, &err), X86_EXC_TS);
    cr_assert_eq(err, 0);
    /* Link to a data segment: #TS(link). */
    gpa_write(&e.mem, T_OLD_TSS, &(uint16_t){ S_DATA }, 2);
    cr_assert_eq(h_try(e.cpu, do_iret, NULL, &err), X86_EXC_TS);
    cr_assert_eq(err, S_DATA);
    /* Link to a busy TSS: the switch happens, old busy bit cleared, NT kept
     * in the new task as its TSS says (0 here). */
    h_w64(&e, T_GDT + S_NEW, sys_desc(T_NEW_TSS, 0x67, 0x8b));
    gpa_write(&e.mem, T_OLD_TSS, &(uint16_t){ S_NEW }, 2);
    cr_assert_eq(h_try(e.cpu, do_iret, NULL, NULL), -1);
    cr_assert_eq(e.cpu->tr.sel, S_NEW);
    cr_assert_eq((gdt_desc(&e, S_OLD) >> 40) & 0xff, 0x89);
    cr_assert_eq((gdt_desc(&e, S_NEW) >> 40) & 0xff, 0x8b);
    cr_assert_not(e.cpu->rflags & X86_FLAG_NT);
    cr_assert_eq(r32(&e, T_OLD_TSS + 0x24) & X86_FLAG_NT, 0);
    h_fini(&e);
}

Test(task, old_tss_too_small)
{
    struct sys_env e;
    uint32_t err = 0;
    init_legacy(&e);
    e.cpu->tr.limit = 0x40;                   /* cannot hold EIP..GS */
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_TS);
    cr_assert_eq(err, S_OLD);
    cr_assert_eq((gdt_desc(&e, S_NEW) >> 40) & 0xff, 0x89);
    h_fini(&e);
}

Test(task, t_flag_sets_task_trap)
{
    struct sys_env e;
    init_legacy(&e);
    w32(&e, T_NEW_TSS + 0x64, 1);             /* T = 1 (7.2.1) */
    cr_assert_eq(far(&e, S_NEW, false, NULL), -1);
    cr_assert(e.cpu->task_trap, "#DB pending before the new task's first instruction");
    cr_assert_eq(e.cpu->rip, 0x21000);
    h_fini(&e);

    init_legacy(&e);                          /* T = 0: nothing pending */
    cr_assert_eq(far(&e, S_NEW, false, NULL), -1);
    cr_assert_not(e.cpu->task_trap);
    h_fini(&e);
}

/* 32-bit paging (CR0.PG, CR0.WP), identity map of the first 4 MiB with page
 * @ro_page read-only; the GDT moved so that S_NEW's descriptor (and those
 * after it) lie in that page while S_OLD's stays writable. */
#define T_PD      0x100000ull
#define T_PT      0x101000ull
#define T_GDT2    (0x1000ull - S_NEW)

static void paging_with_ro_page(struct sys_env *e, uint64_t ro_page)
{
    struct x86_cpu *cpu = e->cpu;
    uint8_t gdt[13 * 8];
    gpa_read(&e->mem, T_GDT, gdt, sizeof(gdt));
    gpa_write(&e->mem, T_GDT2, gdt, sizeof(gdt));
    cpu->gdtr.base = T_GDT2;
    w32(e, T_PD, (uint32_t)T_PT | 3);
    for (uint32_t i = 0; i < 1024; i++)
        w32(e, T_PT + 4 * i, (i << 12) | ((i << 12) == ro_page ? 1u : 3u));
    cpu->cr3 = T_PD;
    cpu->cr0 |= X86_CR0_PG | X86_CR0_WP;
    x86_tlb_flush(cpu, false);
}

static uint64_t gdt2_desc(struct sys_env *e, uint16_t sel)
{
    return h_r64(e, T_GDT2 + (sel & 0xfff8));
}

Test(task, pf_on_new_busy_bit_leaves_old_task_intact)
{
    struct sys_env e;
    init_legacy(&e);
    paging_with_ro_page(&e, 0x1000);          /* S_NEW's descriptor: read-only */
    struct x86_cpu *cpu = e.cpu;
    cpu->gpr[X86_RAX] = 0x1111;
    uint32_t err = 0;
    cr_assert_eq(far(&e, S_NEW, false, &err), X86_EXC_PF);
    /* 4.7: P = 1 (protection), W/R = 1, U/S = 0 (implicit supervisor access). */
    cr_assert_eq(err, 3);
    cr_assert_eq(cpu->cr2, T_GDT2 + S_NEW + 5, "CR2 = the busy-bit byte");
    /* Old task's context: TR, registers, EIP unchanged... */
    cr_assert_eq(cpu->tr.sel, S_OLD);
    cr_assert_eq(cpu->rip, 0x20000);
    cr_assert_eq(cpu->gpr[X86_RAX], 0x1111);
    /* ...and the switch did not half happen: the running task's descriptor
     * is still busy and its TSS image was not written. */
    cr_assert_eq((gdt2_desc(&e, S_OLD) >> 40) & 0xff, 0x8b, "old TSS still busy");
    cr_assert_eq(r32(&e, T_OLD_TSS + 0x20), 0, "old TSS EIP not written");
    cr_assert_eq(r32(&e, T_OLD_TSS + 0x28), 0, "old TSS EAX not written");
    cr_assert_eq((gdt2_desc(&e, S_NEW) >> 40) & 0xff, 0x89);
    h_fini(&e);
}

Test(task, pf_on_link_leaves_old_tss_unwritten)
{
    struct sys_env e;
    init_legacy(&e);
    /* The new TSS page read-only: reading it works, the CALL's link store
     * faults (Table 7-2: CALL writes the previous-task link). */
    paging_with_ro_page(&e, T_NEW_TSS & ~0xfffull);
    /* ...but the old TSS is in that page too: move it to a writable one. */
    struct x86_cpu *cpu = e.cpu;
    uint64_t old2 = 0x7000;
    h_w64(&e, T_GDT2 + S_OLD, sys_desc(old2, 0x67, 0x8b));
    x86_seg_from_desc(&cpu->tr, S_OLD, gdt2_desc(&e, S_OLD));
    cpu->gpr[X86_RAX] = 0x1111;
    uint32_t err = 0;
    cr_assert_eq(far(&e, S_NEW, true, &err), X86_EXC_PF);
    cr_assert_eq(err, 3);
    cr_assert_eq(cpu->cr2, T_NEW_TSS, "CR2 = the link field");
    cr_assert_eq(cpu->tr.sel, S_OLD);
    cr_assert_eq(cpu->rip, 0x20000);
    cr_assert_eq(r32(&e, old2 + 0x20), 0, "old TSS EIP not written");
    cr_assert_eq(r32(&e, old2 + 0x28), 0, "old TSS EAX not written");
    cr_assert_eq((gdt2_desc(&e, S_NEW) >> 40) & 0xff, 0x89, "new TSS not marked busy");
    h_fini(&e);
}
