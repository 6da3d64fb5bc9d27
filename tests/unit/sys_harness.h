/*
 * tests/unit/sys_harness.h - a real x86 vCPU on real guest RAM for the
 * system-architecture tests (test_excp.c, test_system.c).
 *
 * Long-mode environment (Linux-like layout):
 *   0x00800 GDT: 0x10 kernel code64, 0x18 kernel data, 0x23 user code32,
 *           0x2b user data, 0x33 user code64, 0x40 64-bit TSS (busy)
 *   0x01000 PML4, 0x2000 PDPT, 0x3000 PD: identity map of 0..16 MiB with
 *           2 MiB user-accessible pages; 1 GiB and up is not present
 *   0x04000 TSS (RSP0 = 0x90000, IST1 = 0xA0000)
 *   0x05000 IDT: 256 interrupt gates, DPL 0, handler v at 0x10000 + 16*v
 *           which is a HLT
 *   0x20000 kernel test code, 0x21000 user test code, RSP = 0x8000
 * Running until the HLT in a handler returns VCPU_EXIT_HALT.
 */
#ifndef QTEMU_TESTS_SYS_HARNESS_H
#define QTEMU_TESTS_SYS_HARNESS_H

#include <setjmp.h>
#include <string.h>

#include "cpu/x86/sys.h"
#include "cpu/x86/x86.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

#define H_GDT      0x800ull
#define H_PML4     0x1000ull
#define H_TSS      0x4000ull
#define H_IDT      0x5000ull
#define H_HANDLERS 0x10000ull
#define H_KCODE    0x20000ull
#define H_UCODE    0x21000ull
#define H_RSP0     0x90000ull
#define H_IST1     0xa0000ull

#define H_KCS 0x10
#define H_KDS 0x18
#define H_UCS32 0x23
#define H_UDS 0x2b
#define H_UCS 0x33
#define H_TR 0x40

struct sys_env {
    struct guest_mem mem;
    struct bus bus;
    struct vcpu *v;
    struct x86_cpu *cpu;
};

static inline void h_w64(struct sys_env *e, uint64_t gpa, uint64_t v)
{
    gpa_write(&e->mem, gpa, &v, 8);
}

static inline uint64_t h_r64(struct sys_env *e, uint64_t gpa)
{
    uint64_t v = 0;
    gpa_read(&e->mem, gpa, &v, 8);
    return v;
}

static inline uint16_t h_r16(struct sys_env *e, uint64_t gpa)
{
    uint16_t v = 0;
    gpa_read(&e->mem, gpa, &v, 2);
    return v;
}

static inline void h_code(struct sys_env *e, uint64_t gpa, const void *bytes, size_t n)
{
    gpa_write(&e->mem, gpa, bytes, n);
}

/* A 16-byte IA-32e interrupt/trap gate (SDM Vol. 3A Figure 6-8). */
static inline void h_gate64(struct sys_env *e, int vec, uint64_t target, unsigned dpl, unsigned ist,
                            unsigned type, bool present)
{
    uint64_t lo = (target & 0xffff) | ((uint64_t)H_KCS << 16) | ((uint64_t)(ist & 7) << 32) |
                  ((uint64_t)type << 40) | ((uint64_t)dpl << 45) | ((uint64_t)present << 47) |
                  ((target & 0xffff0000ull) << 32);
    h_w64(e, H_IDT + 16 * vec, lo);
    h_w64(e, H_IDT + 16 * vec + 8, target >> 32);
}

static inline uint64_t h_handler(int vec)
{
    return H_HANDLERS + 16 * (uint64_t)vec;
}

static inline void h_init_long(struct sys_env *e, enum x86_cpu_model model)
{
    memset(e, 0, sizeof(*e));
    guest_mem_init_pc(&e->mem, 16ull << 20, 0xC0000000ull, NULL);
    bus_init(&e->bus);
    e->v = x86_vcpu_create(0, model, &e->mem, &e->bus);
    e->cpu = x86_cpu_of(e->v);

    h_w64(e, H_PML4, 0x2000 | 7);
    h_w64(e, 0x2000, 0x3000 | 7);
    for (int i = 0; i < 8; i++)
        h_w64(e, 0x3000 + 8 * i, ((uint64_t)i << 21) | 0x87);

    uint64_t tss_lo = 0x67 | ((H_TSS & 0xffffff) << 16) | (0x8bull << 40) |
                      ((H_TSS >> 24) << 56);
    uint64_t gdt[10] = { 0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
                         0x00cffb000000ffffull, 0x00cff3000000ffffull, 0x00affb000000ffffull,
                         0, tss_lo, 0 };
    gpa_write(&e->mem, H_GDT, gdt, sizeof(gdt));
    x86_vcpu_setup_long_entry(e->v, H_KCODE, 0, H_PML4, H_GDT, sizeof(gdt) - 1);
    struct x86_cpu *cpu = e->cpu;
    cpu->tr = (struct x86_seg){ .sel = H_TR, .base = H_TSS, .limit = 0x67, .attr = 0x8b };
    h_w64(e, H_TSS + 4, H_RSP0);
    h_w64(e, H_TSS + 0x24, H_IST1);
    for (int v = 0; v < 256; v++) {
        h_gate64(e, v, h_handler(v), 0, 0, X86_DESC_INT, true);
        uint8_t hlt = 0xf4;
        h_code(e, h_handler(v), &hlt, 1);
    }
    cpu->idtr = (struct x86_dtr){ H_IDT, 256 * 16 - 1 };
    cpu->gpr[X86_RSP] = 0x8000;
    cpu->rflags = X86_FLAG_FIXED1 | X86_FLAG_IF;
}

/* Switch the vCPU to CPL 3 64-bit user mode at @rip with @rsp. */
static inline void h_enter_user(struct sys_env *e, uint64_t rip, uint64_t rsp)
{
    struct x86_cpu *cpu = e->cpu;
    x86_seg_from_desc(&cpu->seg[X86_CS], H_UCS, 0x00affb000000ffffull);
    x86_seg_from_desc(&cpu->seg[X86_SS], H_UDS, 0x00cff3000000ffffull);
    x86_update_mode(cpu);
    cpu->exit_block = false;
    cpu->rip = rip;
    cpu->gpr[X86_RSP] = rsp;
}

static inline enum vcpu_exit h_run(struct sys_env *e)
{
    return vcpu_run(e->v, 10000);
}

static inline void h_fini(struct sys_env *e)
{
    e->v->ops->destroy(e->v);
    bus_destroy(&e->bus);
    guest_mem_destroy(&e->mem);
}

/* Run @fn(cpu, arg) under a fault frame; returns -1 if it returned normally,
 * else the raised vector (error code in *err). */
static inline int h_try(struct x86_cpu *cpu, void (*fn)(struct x86_cpu *, void *), void *arg,
                        uint32_t *err)
{
    jmp_buf jb;
    jmp_buf *saved = cpu->fault_jmp;
    cpu->fault_jmp = &jb;
    if (setjmp(jb)) {
        cpu->fault_jmp = saved;
        if (err)
            *err = cpu->exc_error;
        return cpu->exc_vector;
    }
    fn(cpu, arg);
    cpu->fault_jmp = saved;
    return -1;
}

#endif
