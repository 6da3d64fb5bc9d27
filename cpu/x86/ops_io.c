/*
 * cpu/x86/ops_io.c - port I/O: the I/O protection check and IN/OUT
 * (E4-E7, EC-EF). INS/OUTS live in ops_string.c and use x86_io_in/out too.
 *
 * Follows SDM Vol. 1 19.5 (I/O privilege level, I/O permission bit map in
 * the TSS at the 16-bit offset stored at TSS+102) and the Vol. 2A IN / OUT
 * pseudo-code. Accesses reach the devices through io_space_read/write on
 * the bus's port-I/O space (devices/bus.h), which never fails. An access
 * that passed the permission check is matched against the armed DR0-DR3 I/O
 * breakpoints (SDM Vol. 3B 18.3.1.2, cpu.c x86_check_io_bp).
 */
#include "cpu/x86/sys.h"
#include "devices/bus.h"

/*
 * The I/O permission check: allowed in real mode and when CPL <= IOPL in
 * protected mode; otherwise (and always in vm86) every bit of the TSS I/O
 * bitmap covering [port, port + size) must be 0. A 16-bit TSS, a TSS too
 * small to hold the bitmap offset, or a bitmap beyond the TSS limit deny.
 */
static void io_check(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
    if (!(cpu->cr0 & X86_CR0_PE))
        return;
    if (!(cpu->rflags & X86_FLAG_VM) && cpu->cpl <= x86_iopl(cpu))
        return;
    unsigned type = X86_SEG_ATTR_TYPE(cpu->tr.attr);
    if (!(cpu->tr.attr & X86_SEG_ATTR_P) || (type != X86_DESC_TSS_AVAIL && type != X86_DESC_TSS_BUSY) ||
        cpu->tr.limit < 103)
        x86_raise_gp0(cpu);
    bool lm = x86_long_mode(cpu);
    uint64_t base = cpu->tr.base;
    uint64_t a = base + 102;
    uint32_t map = (uint32_t)x86_read_sys(cpu, lm ? a : (uint32_t)a, 2);
    uint32_t off = map + port / 8;
    if (off + 1 > cpu->tr.limit)
        x86_raise_gp0(cpu);
    a = base + off;
    uint32_t bits = (uint32_t)x86_read_sys(cpu, lm ? a : (uint32_t)a, 2);
    uint32_t want = ((1u << size) - 1) << (port & 7);
    if (bits & want)
        x86_raise_gp0(cpu);
}

uint32_t x86_io_in(struct x86_cpu *cpu, uint16_t port, unsigned size)
{
    io_check(cpu, port, size);
    struct bus *bus = cpu->vcpu.bus;
    if (unlikely(cpu->dr_io_bps))
        x86_check_io_bp(cpu, port, size);   /* I/O breakpoint: #DB trap after the insn */
    if (!bus)
        return (uint32_t)x86_size_mask(size);
    return (uint32_t)(io_space_read(&bus->pio, port, size) & x86_size_mask(size));
}

void x86_io_out(struct x86_cpu *cpu, uint16_t port, uint32_t value, unsigned size)
{
    io_check(cpu, port, size);
    if (unlikely(cpu->dr_io_bps))
        x86_check_io_bp(cpu, port, size);
    struct bus *bus = cpu->vcpu.bus;
    if (!bus)
        return;
    io_space_write(&bus->pio, port, value & x86_size_mask(size), size);
    /* A device may have raised an IRQ or a machine request: leave the block
     * so the run loop notices at once. */
    cpu->exit_block = true;
}

static unsigned io_size(const struct x86_insn *insn)
{
    if (insn->flags & X86_INSN_BYTEOP)
        return 1;
    return insn->opsize == 2 ? 2 : 4;
}

/* E4/E5 take the port from imm8, EC/ED from DX. */
static uint16_t io_port(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned b = insn->op & 0xff;
    if (b == 0xe4 || b == 0xe5 || b == 0xe6 || b == 0xe7)
        return (uint16_t)(insn->imm & 0xff);
    return (uint16_t)cpu->gpr[X86_RDX];
}

/** E4 E5 EC ED: IN AL/AX/EAX, imm8/DX (EAX zero-extends into RAX). */
void x86_op_in(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = io_size(insn);
    uint32_t v = x86_io_in(cpu, io_port(cpu, insn), size);
    x86_reg_write(cpu, X86_RAX, size, false, v);
}

/** E6 E7 EE EF: OUT imm8/DX, AL/AX/EAX. */
void x86_op_out(struct x86_cpu *cpu, const struct x86_insn *insn)
{
    unsigned size = io_size(insn);
    x86_io_out(cpu, io_port(cpu, insn), (uint32_t)cpu->gpr[X86_RAX], size);
}
