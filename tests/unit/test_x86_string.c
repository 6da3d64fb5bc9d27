/*
 * tests/unit/test_x86_string.c - string instructions with REP, stack
 * instructions and near branches through the real memory path (mem.c) on a
 * flat 32-bit protected-mode vCPU without paging.
 *
 * Oracles: the SDM's operation sections (MOVS/STOS/CMPS with REP: rCX counts
 * down to 0, rSI/rDI step by the element size in the DF direction, REPE
 * stops at the first difference; PUSH stores below the old rSP; CALL pushes
 * the next RIP; RET Iw releases Iw bytes) and C's memmove/memset/memcmp for
 * the bytes.
 */
#include <criterion/criterion.h>

#include "tests/unit/x86_int_harness.h"

static struct guest_mem mem;
static struct bus bus;
static struct x86_cpu *cpu;

static void setup(void)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 4ull << 20, 3ull << 30, NULL), 0);
    bus_init(&bus);
    cpu = calloc(1, sizeof(*cpu));
    cpu->vcpu.mem = &mem;
    cpu->vcpu.bus = &bus;
    cpu->code_mode = X86_MODE_32;
    cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
    cpu->rflags = X86_FLAG_FIXED1;
    x86_set_arith_flags(cpu, 0);
    for (int s = 0; s < X86_SREG_COUNT; s++) {
        cpu->seg[s].limit = 0xffffffff;
        cpu->seg[s].attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 3 | X86_SEG_ATTR_DB | X86_SEG_ATTR_G;
    }
    cpu->seg[X86_CS].attr = X86_SEG_ATTR_P | X86_SEG_ATTR_S | 0xb | X86_SEG_ATTR_DB | X86_SEG_ATTR_G;
    x86_tlb_flush(cpu, false);
}

static void teardown(void)
{
    free(cpu);
    bus_destroy(&bus);
    guest_mem_destroy(&mem);
}

static uint8_t *host(gpa_t a, uint64_t n)
{
    uint8_t *p = gpa_map(&mem, a, n);
    cr_assert_not_null(p);
    return p;
}

static struct x86_insn str_insn(unsigned byte, unsigned size, unsigned rep_flag)
{
    struct x86_insn i;
    memset(&i, 0, sizeof(i));
    i.op = X86_OP(0, byte);
    i.opsize = (uint8_t)size;
    i.addrsize = 4;
    i.len = rep_flag ? 2 : 1;
    i.seg = X86_DS;
    i.flags = (uint16_t)rep_flag;
    if (rep_flag == X86_INSN_REP)
        i.mprefix = X86_PFX_F3;
    if (rep_flag == X86_INSN_REPNE)
        i.mprefix = X86_PFX_F2;
    return i;
}

/** Re-run @i while it asks to restart (next_rip == rip), as the run loop does. */
static void run_to_end(struct x86_insn *i)
{
    cpu->rip = 0x100;
    for (int n = 0; n < 10000; n++) {
        cr_assert_eq(h_exec(cpu, i), -1);
        if (cpu->next_rip != cpu->rip)
            return;
    }
    cr_assert_fail("REP never finished");
}

TestSuite(x86_string, .init = setup, .fini = teardown);

Test(x86_string, rep_movsb_forward_long_and_overlapping)
{
    uint8_t *src = host(0x10000, 20000), *ref = malloc(40000);
    for (int k = 0; k < 20000; k++)
        src[k] = (uint8_t)(k * 7 + 3);
    /* 10000 bytes 0x10000 -> 0x30123: crosses pages, more than one budget slice */
    cpu->gpr[X86_RSI] = 0x10000;
    cpu->gpr[X86_RDI] = 0x30123;
    cpu->gpr[X86_RCX] = 10000;
    struct x86_insn i = str_insn(0xa4, 1, X86_INSN_REP);
    run_to_end(&i);
    cr_assert_eq(memcmp(host(0x30123, 10000), src, 10000), 0);
    cr_assert_eq(cpu->gpr[X86_RCX], 0);
    cr_assert_eq(cpu->gpr[X86_RSI], 0x10000 + 10000);
    cr_assert_eq(cpu->gpr[X86_RDI], 0x30123 + 10000);
    /* overlapping forward copy, dst = src + 3: the element-by-element
     * semantics replicate the first 3 bytes (not memmove) */
    uint8_t *p = host(0x50000, 100);
    for (int k = 0; k < 100; k++)
        p[k] = (uint8_t)k;
    for (int k = 0; k < 100; k++)
        ref[k] = (uint8_t)k;
    for (int k = 0; k < 90; k++)
        ref[k + 3] = ref[k];
    cpu->gpr[X86_RSI] = 0x50000;
    cpu->gpr[X86_RDI] = 0x50003;
    cpu->gpr[X86_RCX] = 90;
    run_to_end(&i);
    cr_assert_eq(memcmp(p, ref, 100), 0);
    free(ref);
}

Test(x86_string, rep_movsd_backward_df1)
{
    uint32_t *src = (uint32_t *)host(0x20000, 64);
    for (int k = 0; k < 16; k++)
        src[k] = 0x11110000u + k;
    cpu->rflags |= X86_FLAG_DF;
    /* DF = 1: start at the last element, step -4 */
    cpu->gpr[X86_RSI] = 0x20000 + 15 * 4;
    cpu->gpr[X86_RDI] = 0x21000 + 15 * 4;
    cpu->gpr[X86_RCX] = 16;
    struct x86_insn i = str_insn(0xa5, 4, X86_INSN_REP);
    run_to_end(&i);
    cr_assert_eq(memcmp(host(0x21000, 64), src, 64), 0);
    cr_assert_eq(cpu->gpr[X86_RSI], 0x20000 - 4);
    cr_assert_eq(cpu->gpr[X86_RDI], 0x21000 - 4);
}

Test(x86_string, rep_stosb_both_directions_and_rcx_zero)
{
    uint8_t *d = host(0x40000, 9000);
    memset(d, 0xee, 9000);
    cpu->gpr[X86_RAX] = 0x12345678;
    cpu->gpr[X86_RDI] = 0x40001;
    cpu->gpr[X86_RCX] = 8190;
    struct x86_insn i = str_insn(0xaa, 1, X86_INSN_REP);
    run_to_end(&i);
    cr_assert_eq(d[0], 0xee);
    for (int k = 1; k <= 8190; k++)
        cr_assert_eq(d[k], 0x78, "byte %d", k);
    cr_assert_eq(d[8191], 0xee);
    cpu->rflags |= X86_FLAG_DF;
    cpu->gpr[X86_RDI] = 0x40010;
    cpu->gpr[X86_RCX] = 4;
    cpu->gpr[X86_RAX] = 0x55;
    run_to_end(&i);
    cr_assert(d[0x10] == 0x55 && d[0xd] == 0x55 && d[0xc] == 0x78);
    cr_assert_eq(cpu->gpr[X86_RDI], 0x4000c);
    /* RCX = 0: nothing happens, not even the first element */
    cpu->gpr[X86_RCX] = 0;
    cpu->gpr[X86_RDI] = 0x40000;
    run_to_end(&i);
    cr_assert_eq(d[0], 0xee);
    cr_assert_eq(cpu->gpr[X86_RDI], 0x40000);
}

Test(x86_string, repe_cmpsb_stops_at_difference)
{
    uint8_t *a = host(0x60000, 32), *b = host(0x61000, 32);
    memcpy(a, "abcdefghij", 10);
    memcpy(b, "abcdeXghij", 10);
    cpu->gpr[X86_RSI] = 0x60000;
    cpu->gpr[X86_RDI] = 0x61000;
    cpu->gpr[X86_RCX] = 10;
    struct x86_insn i = str_insn(0xa6, 1, X86_INSN_REP);
    run_to_end(&i);
    /* stopped after comparing 'f' with 'X' (6 elements), ZF = 0, 'f' > 'X' */
    cr_assert_eq(cpu->gpr[X86_RCX], 4);
    cr_assert_eq(cpu->gpr[X86_RSI], 0x60006);
    cr_assert(!x86_cond(cpu, 4));
    cr_assert(x86_cond(cpu, 7));
    /* REPNE SCASB finds the NUL terminator */
    memcpy(a, "hello\0zzz", 10);
    cpu->gpr[X86_RDI] = 0x60000;
    cpu->gpr[X86_RCX] = 0xffffffff;
    cpu->gpr[X86_RAX] = 0;
    struct x86_insn s = str_insn(0xae, 1, X86_INSN_REPNE);
    run_to_end(&s);
    cr_assert_eq(cpu->gpr[X86_RDI], 0x60006);
    cr_assert_eq(cpu->gpr[X86_RCX], 0xffffffffu - 6);
    cr_assert(x86_cond(cpu, 4));
}

Test(x86_string, lods_and_16bit_address_wrap)
{
    uint8_t *p = host(0x70000, 0x10000);
    p[0xffff] = 0xab;
    p[0] = 0xcd;
    cpu->gpr[X86_RSI] = 0xdead0000 | 0xffff;
    struct x86_insn i = str_insn(0xac, 1, 0);
    i.addrsize = 2;
    cpu->seg[X86_DS].base = 0x70000;
    cr_assert_eq(h_exec(cpu, &i), -1);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0xab);
    /* SI wraps to 0 within the 16-bit address size; the upper bits are kept */
    cr_assert_eq(cpu->gpr[X86_RSI], 0xdead0000);
    cr_assert_eq(h_exec(cpu, &i), -1);
    cr_assert_eq(cpu->gpr[X86_RAX] & 0xff, 0xcd);
}

Test(x86_string, push_pop_call_ret)
{
    cpu->gpr[X86_RSP] = 0x80000;
    cpu->gpr[X86_RBX] = 0xcafebabe;
    struct x86_insn push = h_insn(0, 0x53, 4, 0, X86_RBX);
    push.flags = 0;
    cr_assert_eq(h_exec(cpu, &push), -1);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x80000 - 4);
    cr_assert_eq(*(uint32_t *)host(0x80000 - 4, 4), 0xcafebabe);
    struct x86_insn pop = h_insn(0, 0x59, 4, 0, X86_RCX);
    pop.flags = 0;
    cr_assert_eq(h_exec(cpu, &pop), -1);
    cr_assert_eq(cpu->gpr[X86_RCX], 0xcafebabe);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x80000);

    /* CALL rel32 at 0x1000 (len 5) to +0x100: pushes 0x1005, goes to 0x1105 */
    struct x86_insn call = h_insn(0, 0xe8, 4, 0, 0);
    call.flags = 0;
    call.len = 5;
    call.imm = 0x100;
    call.imm_size = 4;
    cpu->rip = 0x1000;
    cr_assert_eq(h_exec(cpu, &call), -1);
    cr_assert_eq(cpu->next_rip, 0x1105);
    cr_assert_eq(*(uint32_t *)host(0x80000 - 4, 4), 0x1005);
    /* RET 8: back to 0x1005 and release 8 more bytes */
    struct x86_insn ret = h_insn(0, 0xc2, 4, 0, 0);
    ret.flags = 0;
    ret.imm = 8;
    cpu->rip = 0x1105;
    cr_assert_eq(h_exec(cpu, &ret), -1);
    cr_assert_eq(cpu->next_rip, 0x1005);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x80000 + 8);

    /* a branch beyond the CS limit is #GP(0) before anything is pushed */
    cpu->seg[X86_CS].limit = 0xffff;
    cpu->rip = 0x1000;
    call.imm = 0x20000;
    uint64_t sp = cpu->gpr[X86_RSP];
    cr_assert_eq(h_exec(cpu, &call), X86_EXC_GP);
    cr_assert_eq(cpu->gpr[X86_RSP], sp);
}

Test(x86_string, enter_leave_nested)
{
    /* ENTER 16, 2 with EBP = 0x9000 holding a saved frame pointer chain */
    cpu->gpr[X86_RSP] = 0x8800;
    cpu->gpr[X86_RBP] = 0x9000;
    *(uint32_t *)host(0x9000 - 4, 4) = 0x12345678;   /* the level-1 display entry */
    struct x86_insn enter = h_insn(0, 0xc8, 4, 0, 0);
    enter.flags = 0;
    enter.imm = 16;
    enter.imm2 = 2;
    cr_assert_eq(h_exec(cpu, &enter), -1);
    /* SDM ENTER: push EBP; frame = ESP; push [EBP-4]; push frame; EBP = frame; ESP -= 16 */
    uint32_t frame = 0x8800 - 4;
    cr_assert_eq(*(uint32_t *)host(0x8800 - 4, 4), 0x9000);
    cr_assert_eq(*(uint32_t *)host(0x8800 - 8, 4), 0x12345678);
    cr_assert_eq(*(uint32_t *)host(0x8800 - 12, 4), frame);
    cr_assert_eq(cpu->gpr[X86_RBP], frame);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x8800 - 12 - 16);
    struct x86_insn leave = h_insn(0, 0xc9, 4, 0, 0);
    leave.flags = 0;
    cr_assert_eq(h_exec(cpu, &leave), -1);
    cr_assert_eq(cpu->gpr[X86_RBP], 0x9000);
    cr_assert_eq(cpu->gpr[X86_RSP], 0x8800);
}
