/*
 * tests/unit/ymm_harness.h - the YMM extension of fpu_harness.h (moved here
 * from test_avx_diff.c so that other differential tests share it): the host
 * stub XRSTORs (RFBM = x87|SSE|AVX) an input XSAVE image, runs the
 * instruction bytes and XSAVEs the result, so YMM upper halves travel too.
 * qtemu runs VEX instructions from v_table (x86_ops_vex_init) and legacy
 * ones from h_table, on a vCPU of the max model with CR4.OSXSAVE and
 * XCR0 = 7. y_run_case compares XMM + upper YMM halves, MXCSR, the x87
 * image, the GPRs, the arithmetic flags minus flag_ignore, and memory.
 */
#ifndef QTEMU_TESTS_YMM_HARNESS_H
#define QTEMU_TESTS_YMM_HARNESS_H

#include "tests/unit/fpu_harness.h"

/* ---------------------------------------------------------------- YMM host stub */

#define XS_SIZE 1024
struct ystate {
    uint8_t in[XS_SIZE] __attribute__((aligned(64)));
    uint8_t out[XS_SIZE] __attribute__((aligned(64)));
    uint8_t host[XS_SIZE] __attribute__((aligned(64)));
    uint64_t gpr_in[16], gpr_out[16];
    uint64_t flags_in, flags_out;
};
static struct ystate ys;
static x86_exec_fn v_table[X86_OP_COUNT];

/* mov eax, 7; xor edx, edx */
static void emit_rfbm7(void)
{
    emit((uint8_t[]){ 0xb8, 7, 0, 0, 0, 0x31, 0xd2 }, 7);
}

/* xsave64 / xrstor64 [rdi + disp32] */
static void emit_xs(bool restore, uint32_t disp)
{
    emit_rfbm7();
    emit((uint8_t[]){ 0x48, 0x0f, 0xae, restore ? 0xaf : 0xa7 }, 4);
    emit32(disp);
}

/** The host stub for @insn with XSAVE images (RFBM = 7), see stub_build(). */
static hstub_fn ystub_build(const uint8_t *insn, size_t n)
{
    static const struct stub_layout l = {
        offsetof(struct ystate, host), offsetof(struct ystate, in), offsetof(struct ystate, out),
        offsetof(struct ystate, gpr_in), offsetof(struct ystate, gpr_out),
        offsetof(struct ystate, flags_in), offsetof(struct ystate, flags_out),
    };
    return stub_build(insn, n, &l, emit_xs);
}

/** Random input: the fpu_harness state plus random upper halves. */
static void y_rnd_state(void)
{
    h_rnd_state(&hs, 0);
    memset(&ys, 0, sizeof(ys));
    memcpy(ys.in, hs.fx_in, 512);
    uint64_t bv = 7;
    memcpy(ys.in + 512, &bv, 8);
    for (unsigned i = 0; i < 16; i++)
        rnd_xmm(ys.in + 576 + 16 * i);
    memcpy(ys.gpr_in, hs.gpr_in, sizeof(ys.gpr_in));
    ys.flags_in = hs.flags_in;
}

static void y_cpu_load(struct x86_cpu *c)
{
    memcpy(hs.fx_in, ys.in, 512);
    memcpy(hs.gpr_in, ys.gpr_in, sizeof(hs.gpr_in));
    hs.flags_in = ys.flags_in;
    h_cpu_load(c, &hs);
    for (unsigned i = 0; i < 16; i++)
        memcpy(c->ymmh[i].u8, ys.in + 576 + 16 * i, 16);
    c->model = X86_CPU_MAX;
    c->cr4 |= X86_CR4_OSXSAVE;
    c->xcr0 = 7;
}

static uint64_t flag_ignore;    /* arithmetic flags the SDM leaves undefined for the current form */
/* Bytes of tmem holding a model-specific value the host need not share with
 * qtemu's CPU model (e.g. MXCSR_MASK in an XSAVE image): not compared. */
static size_t mem_model_off, mem_model_len;

/** One case: returns true on a match. */
static bool y_run_case(const uint8_t *bytes, size_t n, const char *name, int verbose)
{
    uint8_t mem_in[sizeof(tmem)], mem_host[sizeof(tmem)], img[416];
    for (size_t i = 0; i < sizeof(tmem); i++)
        tmem[i] = (uint8_t)rnd();
    rnd_xmm(tmem + 64);
    rnd_xmm(tmem + 80);
    if (h_prep)
        h_prep();
    memcpy(mem_in, tmem, sizeof(tmem));
    ystub_build(bytes, n)((struct hstate *)(void *)&ys);
    memcpy(mem_host, tmem, sizeof(tmem));
    memcpy(tmem, mem_in, sizeof(tmem));

    memset(cpu, 0, sizeof(*cpu));
    y_cpu_load(cpu);
    struct x86_insn insn;
    int len = x86_decode(bytes, n, X86_MODE_64, &insn);
    int fault = -1;
    if (len < 0) {
        fault = 100 + len;
    } else {
        cpu->rip = 0x1000;
        cpu->next_rip = cpu->rip + (uint64_t)len;
        h_fault = -1;
        x86_exec_fn volatile fn = (insn.flags & X86_INSN_VEX) ? v_table[insn.op] : h_table[insn.op];
        if (setjmp(h_jmp) == 0)
            fn(cpu, &insn);
        fault = h_fault;
    }
    h_cpu_image(cpu, img);
    const uint8_t *ho = ys.out;
    bool ok = fault == -1;
    ok &= memcmp(img + 0, ho + 0, 5) == 0;
    ok &= memcmp(img + 24, ho + 24, 4) == 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned top = (ho[3] >> 3) & 7;
        if ((ho[4] >> ((top + i) & 7)) & 1)
            ok &= memcmp(img + 32 + 16 * i, ho + 32 + 16 * i, 10) == 0;
    }
    ok &= memcmp(img + 160, ho + 160, 256) == 0;
    for (unsigned i = 0; i < 16; i++)
        ok &= memcmp(cpu->ymmh[i].u8, ho + 576 + 16 * i, 16) == 0;
    for (unsigned r = 0; r < 16; r++)
        if (HS_GPRS_USED & (1u << r))
            ok &= cpu->gpr[r] == ys.gpr_out[r];
    uint64_t fm = X86_FLAGS_ARITH & ~flag_ignore;
    ok &= (x86_arith_flags(cpu) & fm) == (ys.flags_out & fm);
    if (mem_model_len)
        memcpy(tmem + mem_model_off, mem_host + mem_model_off, mem_model_len);
    ok &= memcmp(tmem, mem_host, sizeof(tmem)) == 0;
    if (!ok && verbose) {
        fprintf(stderr, "MISMATCH %-16s bytes ", name);
        print_bytes(bytes, n);
        fprintf(stderr, " fault=%d mxcsr in %08x host %08x emu %08x flags host %03llx emu %03llx\n",
                fault, *(uint32_t *)(ys.in + 24), *(uint32_t *)(ho + 24), cpu->mxcsr,
                (unsigned long long)(ys.flags_out & X86_FLAGS_ARITH),
                (unsigned long long)(x86_arith_flags(cpu) & X86_FLAGS_ARITH));
        for (unsigned i = 0; i < 16; i++)
            if (memcmp(img + 160 + 16 * i, ho + 160 + 16 * i, 16) ||
                memcmp(cpu->ymmh[i].u8, ho + 576 + 16 * i, 16)) {
                fprintf(stderr, "  ymm%u in   ", i);
                print_bytes(ys.in + 576 + 16 * i, 16);
                print_bytes(ys.in + 160 + 16 * i, 16);
                fprintf(stderr, "\n        host ");
                print_bytes(ho + 576 + 16 * i, 16);
                print_bytes(ho + 160 + 16 * i, 16);
                fprintf(stderr, "\n        emu  ");
                print_bytes(cpu->ymmh[i].u8, 16);
                print_bytes(img + 160 + 16 * i, 16);
                fprintf(stderr, "\n");
            }
        for (unsigned r = 0; r < 16; r++)
            if ((HS_GPRS_USED & (1u << r)) && cpu->gpr[r] != ys.gpr_out[r])
                fprintf(stderr, "  gpr%u in %016llx host %016llx emu %016llx\n", r,
                        (unsigned long long)ys.gpr_in[r], (unsigned long long)ys.gpr_out[r],
                        (unsigned long long)cpu->gpr[r]);
        if (memcmp(img, ho, 5))
            fprintf(stderr, "  x87 fcw/fsw/tag host %04x %04x %02x emu %04x %04x %02x\n",
                    *(const uint16_t *)ho, *(const uint16_t *)(ho + 2), ho[4], *(uint16_t *)img,
                    *(uint16_t *)(img + 2), img[4]);
        unsigned shown = 0;
        for (unsigned i = 0; i < sizeof(tmem) && shown < 16; i++)
            if (tmem[i] != mem_host[i]) {
                fprintf(stderr, "  mem[%u] host %02x emu %02x\n", i, mem_host[i], tmem[i]);
                shown++;
            }
    }
    return ok;
}

#endif
