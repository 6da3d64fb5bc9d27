/*
 * tests/fuzz/fuzz_x86.c - libFuzzer target: random bytes run as guest code
 * on the x86 interpreter, in real mode, 32-bit protected mode and 64-bit
 * long mode, under ASan/UBSan (`make fuzz`).
 *
 * Input layout: byte 0 selects the mode (low 2 bits) and whether the IDT
 * has valid gates (bit 2); bytes 1..128 seed the general registers (as far
 * as the input reaches); the rest is the code, placed at gpa/gva 0x1000.
 * Guest RAM is 2 MiB with nothing mapped above it: every stray access takes
 * the architectural fault path (#PF/#GP, unmapped MMIO reads all-ones).
 * Each input gets a fresh vCPU (the block cache and TLB start empty), and the
 * run stops after 5000 instructions, a halt, or a
 * triple fault. The property checked is the DESIGN's: no guest input may
 * crash, hang or corrupt the host (ASan/UBSan report anything else).
 */
#include <stdint.h>
#include <string.h>

#include "cpu/vcpu.h"
#include "cpu/x86/x86.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

#define RAM_BYTES   (2u << 20)
#define CODE_GPA    0x1000u
#define CODE_MAX    0x1000u
#define HANDLER_GPA 0x4000u
#define IDT_GPA     0x5000u
#define GDT_GPA     0x6000u
#define PML4_GPA    0x7000u
#define PDPT_GPA    0x8000u
#define PD_GPA      0x9000u

static struct guest_mem mem;
static struct bus bus;
static bool ready;

static void put64(uint64_t gpa, uint64_t v) { gpa_write(&mem, gpa, &v, 8); }

static void setup_tables(unsigned mode, bool valid_idt)
{
    /* GDT: null, 0x08 32-bit code, 0x10 64-bit code, 0x18 data. */
    put64(GDT_GPA + 0x08, 0x00cf9b000000ffffull);
    put64(GDT_GPA + 0x10, 0x00af9b000000ffffull);
    put64(GDT_GPA + 0x18, 0x00cf93000000ffffull);
    /* Identity map of the first 2 MiB with one large page (user-accessible). */
    put64(PML4_GPA, PDPT_GPA | 0x7);
    put64(PDPT_GPA, PD_GPA | 0x7);
    put64(PD_GPA, 0x0 | 0x87);
    uint8_t hlt_loop[] = { 0xf4, 0xeb, 0xfd };   /* hlt; jmp $-1 */
    gpa_write(&mem, HANDLER_GPA, hlt_loop, sizeof(hlt_loop));
    if (!valid_idt)
        return;
    for (unsigned v = 0; v < 256; v++) {
        if (mode == 2) {
            /* 64-bit interrupt gate, CS 0x10, DPL 3. */
            uint64_t lo = (HANDLER_GPA & 0xffff) | (0x10ull << 16) | (0xeeull << 40) |
                          ((uint64_t)(HANDLER_GPA >> 16) << 48);
            put64(IDT_GPA + v * 16, lo);
            put64(IDT_GPA + v * 16 + 8, 0);
        } else if (mode == 1) {
            uint64_t lo = (HANDLER_GPA & 0xffff) | (0x08ull << 16) | (0xeeull << 40) |
                          ((uint64_t)(HANDLER_GPA >> 16) << 48);
            put64(IDT_GPA + v * 8, lo);
        } else {
            uint32_t ivt = HANDLER_GPA;   /* 0000:4000 */
            gpa_write(&mem, v * 4, &ivt, 4);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (guest_mem_init_pc(&mem, RAM_BYTES, RAM_BYTES, NULL))
            return 0;
        bus_init(&bus);
        ready = true;
    }
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 3;
    if (mode == 3)
        mode = 2;
    bool valid_idt = data[0] & 4;
    data++;
    size--;

    /* Fresh RAM contents (through gpa_write, so code tracking stays exact). */
    static uint8_t zero[RAM_BYTES];
    mem.code_write = NULL;
    gpa_write(&mem, 0, zero, RAM_BYTES);

    struct vcpu *v = x86_vcpu_create(0, X86_CPU_MAX, &mem, &bus);
    if (!v)
        return 0;
    setup_tables(mode, valid_idt);

    struct vcpu_regs_x86 regs;
    v->ops->get_regs(v, &regs);
    size_t nregs = size < 128 ? size / 8 : 16;
    memcpy(regs.gpr, data, nregs * 8);
    data += nregs * 8;
    size -= nregs * 8;
    size_t code_len = size < CODE_MAX ? size : CODE_MAX;
    gpa_write(&mem, CODE_GPA, data, code_len);

    if (mode == 2) {
        x86_vcpu_setup_long_entry(v, CODE_GPA, 0, PML4_GPA, GDT_GPA, 0x1f);
    } else if (mode == 1) {
        x86_vcpu_setup_prot32_entry(v, CODE_GPA, 0, 0, GDT_GPA, 0x1f, 0x08, 0x18);
    }
    struct x86_cpu *cpu = x86_cpu_of(v);
    memcpy(cpu->gpr, regs.gpr, sizeof(cpu->gpr));
    if (mode == 0) {
        /* Real mode at 0000:1000 with the IVT at 0. */
        cpu->seg[X86_CS].sel = 0;
        cpu->seg[X86_CS].base = 0;
        cpu->rip = CODE_GPA;
        cpu->idtr = (struct x86_dtr){ 0, 0x3ff };
    } else {
        cpu->idtr = (struct x86_dtr){ IDT_GPA, valid_idt ? (mode == 2 ? 0xfff : 0x7ff) : 0 };
    }

    for (int slice = 0; slice < 1; slice++) {
        enum vcpu_exit e = vcpu_run(v, 5000);
        if (e != VCPU_EXIT_BUDGET)
            break;
    }
    v->ops->destroy(v);
    return 0;
}
