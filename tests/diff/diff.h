/*
 * tests/diff/diff.h - the x86 differential harness (tests/diff/): one
 * instruction form at a time, random operands and random incoming flags, run
 * natively on the host CPU (in a forked, sandboxed child: native.c) and in
 * qtemu's interpreter (qtemu_side.c), all visible state compared (x86_diff.c).
 *
 * Both sides use the same linear addresses, so memory operands, RSP-based
 * accesses and faults line up:
 *   DIFF_CODE   one page: the native stub; the instruction sits at
 *               DIFF_CODE + DIFF_INSN_OFF on both sides
 *   DIFF_DATA   one page of data for memory operands (ModRM [disp32] with
 *               SIB base=101 no index) and the stack (RSP points into it);
 *               the pages around it are unmapped on both sides (#PF)
 *   DIFF_STATE  native only: input/output state images, host save area
 * qtemu maps DIFF_CODE and DIFF_DATA 1:1 (gva = gpa) with 4 KiB user pages
 * and runs at CPL 3 in 64-bit mode, like the native child (Linux user mode).
 */
#ifndef QTEMU_TESTS_DIFF_DIFF_H
#define QTEMU_TESTS_DIFF_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#define DIFF_CODE     0x00600000ull
#define DIFF_DATA     0x00610000ull
#define DIFF_STATE    0x00620000ull
#define DIFF_STATE_SZ 0x3000ull
#define DIFF_INSN_OFF 0x800u
#define DIFF_PAGE     4096u

/* FXSAVE64 image offsets (SDM Vol. 1 Table 10-2). */
#define FX_FCW   0
#define FX_FSW   2
#define FX_FTW   4      /* abridged: bit i = physical register i not empty */
#define FX_FOP   6
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST(i) (32 + 16 * (i))    /* ST(i) in stack order, 10 bytes */
#define FX_XMM(i) (160 + 16 * (i))

/**
 * One CPU state image, the format both sides read and write. Vector
 * registers live in @ymm (low 16 bytes = XMMi); the XMM area of @fx is
 * ignored. FOP/FIP/FDP in @fx are not compared (they hold host addresses
 * natively, and Intel deprecates FCS/FDS).
 */
struct diff_state {
    uint64_t gpr[16];          /* RAX..R15 in ModRM order */
    uint64_t rflags;
    uint64_t pad;
    uint8_t fx[512] __attribute__((aligned(16)));
    uint8_t ymm[16][32] __attribute__((aligned(32)));
};

/** One case: instruction bytes, input state, data page image. */
struct diff_case {
    uint8_t bytes[16];
    uint8_t len;
    struct diff_state in;
    uint8_t data[DIFF_PAGE];
};

/** One side's result of a case. @vec is the exception vector or -1. */
struct diff_result {
    int32_t vec;
    uint32_t err;
    struct diff_state out;
    uint8_t data[DIFF_PAGE];
};

/* ---- native.c ---- */

/**
 * Map DIFF_CODE/DATA/STATE in this process and build the stub. Returns 0, or
 * -errno (addresses taken, no AVX host...): the caller reports and skips.
 */
int native_init(bool *have_avx);

/**
 * Run @n cases in a forked child sandboxed with seccomp strict mode; fills
 * @res[0..n). Returns the number of cases that completed (n normally). A
 * child killed part-way (alarm, a forbidden syscall) leaves res[k].vec =
 * DIFF_VEC_CRASH for the case it died on and fewer completed cases.
 */
unsigned native_run(const struct diff_case *cases, struct diff_result *res, unsigned n);

#define DIFF_VEC_CRASH 1000    /* the native child died on this case */
#define DIFF_VEC_NOHANDLER 1001

/* ---- qtemu_side.c ---- */

/** Create the vCPU (-cpu max) and guest memory. 0 or -errno. */
int qside_init(void);
void qside_fini(void);

/** Run one case in qtemu's interpreter: exactly one instruction. */
void qside_run(const struct diff_case *c, struct diff_result *r);

/**
 * Decode @bytes in 64-bit mode. Returns the length or < 0 (x86_decode's
 * error); *flags = insn.flags, *has_handler = a handler other than #UD,
 * *opsize = the effective operand size in bytes.
 */
int qside_decode(const uint8_t *bytes, unsigned n, uint16_t *flags, bool *has_handler,
                 uint8_t *opsize);

/** CPUID leaf/subleaf of qtemu's -cpu max model (for the feature policy). */
void qside_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4]);

#endif
