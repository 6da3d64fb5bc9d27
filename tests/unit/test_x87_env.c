/*
 * tests/unit/test_x87_env.c - FNSTENV/FLDENV image layouts on a real vCPU
 * (SDM Vol. 1 8.1.10, Figures 8-9..8-12).
 *
 * The expected images are assembled here from the figures' field
 * positions (offset, bit range), not from qtemu's own output:
 *  - real mode, 16-bit (Figure 8-12): 0 FCW, 2 FSW, 4 FTW, 6 FIP[15:0],
 *    8 FIP[19:16] in bits 15:12 | 0 | FOP in bits 10:0, 10 FDP[15:0],
 *    12 FDP[19:16] in bits 15:12, bits 11:0 zero;
 *  - real mode, 32-bit (Figure 8-10): dwords at 0/4/8 FCW/FSW/FTW in bits
 *    15:0, 12 FIP[15:0], 16 0000 | FIP[31:16] in bits 27:12 | 0 | FOP,
 *    20 FDP[15:0], 24 0000 | FDP[31:16] in bits 27:12 | zero;
 *  - protected mode (Figures 8-9, 8-11): 28-byte FCW/FSW/FTW, FIP offset,
 *    FCS | FOP in bits 26:16, FDP offset, FDS; 14-byte FCW FSW FTW FIP
 *    FCS FDP FDS.
 * Fields marked Reserved in the figures are not compared.
 * Real-mode FIP/FDP are linear addresses (segment << 4) + offset.
 */
#include <criterion/criterion.h>

#include "sys_harness.h"

/* Expected image with a mask of the bytes the figure defines. */
struct img {
    uint8_t b[28], m[28];
};

static void put(struct img *x, unsigned off, unsigned bytes, uint32_t v)
{
    for (unsigned i = 0; i < bytes; i++) {
        x->b[off + i] = (uint8_t)(v >> (8 * i));
        x->m[off + i] = 0xff;
    }
}

static void check_img(struct sys_env *e, uint64_t gpa, const struct img *x, unsigned len)
{
    uint8_t got[28];
    gpa_read(&e->mem, gpa, got, len);
    for (unsigned i = 0; i < len; i++)
        cr_expect_eq(got[i] & x->m[i], x->b[i] & x->m[i], "byte %u: got %#x want %#x", i, got[i],
                     x->b[i]);
}

/* Real-mode vCPU (reset state, CS = 9876h, DS = 7654h) running @code at CS:0010. */
#define R_CS 0x9876u
#define R_DS 0x7654u
#define R_CODE ((R_CS << 4) + 0x10)
#define R_DATA (R_DS << 4)

static void real_init(struct sys_env *e, const uint8_t *code, size_t n)
{
    memset(e, 0, sizeof(*e));
    guest_mem_init_pc(&e->mem, 16ull << 20, 0xC0000000ull, NULL);
    bus_init(&e->bus);
    e->v = x86_vcpu_create(0, X86_CPU_QEMU64, &e->mem, &e->bus);
    struct x86_cpu *cpu = e->cpu = x86_cpu_of(e->v);
    cr_assert(!(cpu->cr0 & X86_CR0_PE));
    cpu->seg[X86_CS].sel = R_CS;
    cpu->seg[X86_CS].base = R_CS << 4;
    cpu->seg[X86_DS].sel = R_DS;
    cpu->seg[X86_DS].base = R_DS << 4;
    cpu->seg[X86_SS].sel = 0;
    cpu->seg[X86_SS].base = 0;
    cpu->gpr[X86_RSP] = 0x7000;
    cpu->rip = 0x10;
    cpu->rflags = X86_FLAG_FIXED1;
    float one = 1.0f;
    gpa_write(&e->mem, R_DATA + 0x40, &one, 4);
    h_code(e, R_CODE, code, n);
}

/* fninit ; fld dword [0040h] (at IP 0012h) ; fnstenv [0100h] ; hlt */
#define FLD_IP 0x12u
#define FIP_LIN ((R_CS << 4) + FLD_IP)          /* 0x98772 */
#define FDP_LIN (R_DATA + 0x40)                 /* 0x76580 */
#define FOP_FLD 0x106u                          /* D9 /0 modrm 06: (D9 & 7) << 8 | 06 */
#define FSW_AFTER 0x3800u                       /* TOP = 7 */
#define FTW_AFTER 0x3fffu                       /* R7 valid, others empty */

static void real16_expected(struct img *x)
{
    memset(x, 0, sizeof(*x));
    put(x, 0, 2, 0x037f);
    put(x, 2, 2, FSW_AFTER);
    put(x, 4, 2, FTW_AFTER);
    put(x, 6, 2, FIP_LIN & 0xffff);
    put(x, 8, 2, ((FIP_LIN >> 16) & 0xf) << 12 | FOP_FLD);
    put(x, 10, 2, FDP_LIN & 0xffff);
    put(x, 12, 2, ((FDP_LIN >> 16) & 0xf) << 12);
}

static void real32_expected(struct img *x)
{
    memset(x, 0, sizeof(*x));
    put(x, 0, 2, 0x037f);
    put(x, 4, 2, FSW_AFTER);
    put(x, 8, 2, FTW_AFTER);
    put(x, 12, 2, FIP_LIN & 0xffff);
    put(x, 16, 4, (FIP_LIN >> 16) << 12 | FOP_FLD);
    put(x, 20, 2, FDP_LIN & 0xffff);
    put(x, 24, 4, (FDP_LIN >> 16) << 12);
}

Test(x87_env, real_fnstenv16)
{
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0x06, 0x40, 0x00, 0xd9, 0x36, 0x00, 0x01, 0xf4 };
    struct sys_env e;
    real_init(&e, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct img x;
    real16_expected(&x);
    cr_assert_eq(x.b[8], 0x06);                  /* sanity of the hand layout: 9106h, 7000h */
    cr_assert_eq(x.b[9], 0x91);
    cr_assert_eq(x.b[13], 0x70);
    check_img(&e, R_DATA + 0x100, &x, 14);
    h_fini(&e);
}

Test(x87_env, real_fnstenv32)
{
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0x06, 0x40, 0x00,
                                    0x66, 0xd9, 0x36, 0x00, 0x01, 0xf4 };
    struct sys_env e;
    real_init(&e, code, sizeof(code));
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    struct img x;
    real32_expected(&x);
    check_img(&e, R_DATA + 0x100, &x, 28);
    h_fini(&e);
}

/* FNSTENV [100h] -> FNINIT -> FLDENV [100h] -> FNSTENV [200h]: same bytes, same state. */
static void real_round_trip(bool o32)
{
    uint8_t code[64];
    size_t n = 0;
    const uint8_t head[] = { 0xdb, 0xe3, 0xd9, 0x06, 0x40, 0x00 };
    memcpy(code, head, sizeof(head));
    n = sizeof(head);
#define EMIT(...) do { const uint8_t t_[] = { __VA_ARGS__ }; if (o32) code[n++] = 0x66; \
                       memcpy(code + n, t_, sizeof(t_)); n += sizeof(t_); } while (0)
    EMIT(0xd9, 0x36, 0x00, 0x01);               /* fnstenv [0100h] */
    code[n++] = 0xdb; code[n++] = 0xe3;         /* fninit */
    EMIT(0xd9, 0x26, 0x00, 0x01);               /* fldenv [0100h] */
    EMIT(0xd9, 0x36, 0x00, 0x02);               /* fnstenv [0200h] */
#undef EMIT
    code[n++] = 0xf4;
    struct sys_env e;
    real_init(&e, code, n);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    unsigned len = o32 ? 28 : 14;
    struct img x;
    if (o32)
        real32_expected(&x);
    else
        real16_expected(&x);
    check_img(&e, R_DATA + 0x100, &x, len);
    check_img(&e, R_DATA + 0x200, &x, len);
    uint8_t a[28], b[28];
    gpa_read(&e.mem, R_DATA + 0x100, a, len);
    gpa_read(&e.mem, R_DATA + 0x200, b, len);
    cr_expect_arr_eq(a, b, len);
    struct x86_cpu *cpu = e.cpu;
    cr_expect_eq(cpu->fop, FOP_FLD);
    cr_expect_eq(cpu->fcw, 0x037f);
    cr_expect_eq(cpu->fsw, FSW_AFTER);
    /* Linear FIP/FDP with no selector: (0 << 4) + linear = the same image again. */
    cr_expect_eq(((uint32_t)cpu->fcs << 4) + (uint32_t)cpu->fip, FIP_LIN);
    cr_expect_eq(((uint32_t)cpu->fds << 4) + (uint32_t)cpu->fdp, FDP_LIN);
    h_fini(&e);
}

Test(x87_env, real_round_trip16) { real_round_trip(false); }
Test(x87_env, real_round_trip32) { real_round_trip(true); }

/* FLDENV of a hand-made real-mode image, then FNSTENV gives it back. */
Test(x87_env, real_fldenv16_handmade)
{
    static const uint8_t code[] = { 0xd9, 0x26, 0x00, 0x01,   /* fldenv [0100h] */
                                    0xd9, 0x36, 0x00, 0x02,   /* fnstenv [0200h] */
                                    0xf4 };
    struct sys_env e;
    real_init(&e, code, sizeof(code));
    struct img x;
    memset(&x, 0, sizeof(x));
    put(&x, 0, 2, 0x037f);
    put(&x, 2, 2, 0x0000);
    put(&x, 4, 2, 0xffff);
    put(&x, 6, 2, 0xbcde);                       /* FIP = ABCDEh */
    put(&x, 8, 2, 0xa000 | 0x5a5);               /* FIP[19:16] = A, FOP = 5A5h */
    put(&x, 10, 2, 0x1234);                      /* FDP = 51234h */
    put(&x, 12, 2, 0x5000);
    gpa_write(&e.mem, R_DATA + 0x100, x.b, 14);
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    cr_expect_eq(e.cpu->fip, 0xabcde);
    cr_expect_eq(e.cpu->fop, 0x5a5);
    cr_expect_eq(e.cpu->fdp, 0x51234);
    check_img(&e, R_DATA + 0x200, &x, 14);
    h_fini(&e);
}

/* Protected (64-bit) mode: Figures 8-9 / 8-11, unchanged. */
Test(x87_env, protected_fnstenv)
{
    static const uint8_t code[] = {
        0xdb, 0xe3,                                     /* fninit */
        0xd9, 0x06,                                     /* fld dword [rsi] at 0x20002 */
        0xd9, 0xb6, 0x00, 0x01, 0x00, 0x00,             /* fnstenv [rsi+100h] */
        0x66, 0xd9, 0xb6, 0x00, 0x02, 0x00, 0x00,       /* o16 fnstenv [rsi+200h] */
        0xf4,
    };
    struct sys_env e;
    h_init_long(&e, X86_CPU_QEMU64);
    struct x86_cpu *cpu = e.cpu;
    cpu->cr0 &= ~(X86_CR0_EM | X86_CR0_TS);
    h_code(&e, H_KCODE, code, sizeof(code));
    float one = 1.0f;
    gpa_write(&e.mem, 0x30000, &one, 4);
    cpu->gpr[X86_RSI] = 0x30000;
    cr_assert_eq(h_run(&e), VCPU_EXIT_HALT);
    uint32_t fip = H_KCODE + 2, fdp = 0x30000;
    uint16_t fcs = H_KCS, fds = cpu->seg[X86_DS].sel;
    struct img x;
    memset(&x, 0, sizeof(x));
    put(&x, 0, 2, 0x037f);
    put(&x, 4, 2, FSW_AFTER);
    put(&x, 8, 2, FTW_AFTER);
    put(&x, 12, 4, fip);
    put(&x, 16, 2, fcs);
    put(&x, 18, 2, FOP_FLD);                     /* bits 26:16, bits 31:27 zero */
    put(&x, 20, 4, fdp);
    put(&x, 24, 2, fds);
    check_img(&e, 0x30100, &x, 28);
    memset(&x, 0, sizeof(x));
    put(&x, 0, 2, 0x037f);
    put(&x, 2, 2, FSW_AFTER);
    put(&x, 4, 2, FTW_AFTER);
    put(&x, 6, 2, fip & 0xffff);
    put(&x, 8, 2, fcs);
    put(&x, 10, 2, fdp & 0xffff);
    put(&x, 12, 2, fds);
    check_img(&e, 0x30200, &x, 14);
    h_fini(&e);
}

/* Virtual-8086 mode (CR0.PE = 1, RFLAGS.VM = 1) uses the real-mode layout too.
 * The closing HLT faults (#GP at CPL 3) with no IDT: the run ends in a
 * shutdown, after the image was written. */
Test(x87_env, vm86_fnstenv32)
{
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0x06, 0x40, 0x00,
                                    0x66, 0xd9, 0x36, 0x00, 0x01, 0xf4 };
    struct sys_env e;
    real_init(&e, code, sizeof(code));
    struct x86_cpu *cpu = e.cpu;
    cpu->cr0 |= X86_CR0_PE;
    cpu->cr0 &= ~(X86_CR0_EM | X86_CR0_TS);
    cpu->rflags |= X86_FLAG_VM | X86_FLAG_IOPL;
    for (int s = 0; s < X86_SREG_COUNT; s++)
        cpu->seg[s].attr = 0xf3;                 /* vm86 segments: present, DPL 3, data RW accessed */
    cpu->idtr = (struct x86_dtr){ 0, 0 };
    x86_update_mode(cpu);
    cr_assert_eq(cpu->cpl, 3);
    h_run(&e);
    struct img x;
    real32_expected(&x);
    check_img(&e, R_DATA + 0x100, &x, 28);
    h_fini(&e);
}
