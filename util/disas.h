/*
 * util/disas.h - disassembly for -d in_asm, the debugger and decoder
 * cross-checks, through Capstone.
 *
 * Capstone's headers declare `enum x86_insn`, which clashes with our
 * decoder's `struct x86_insn`, so Capstone is included only by util/disas.c
 * and everything else uses this small wrapper.
 */
#ifndef QTEMU_UTIL_DISAS_H
#define QTEMU_UTIL_DISAS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/**
 * Print up to @max_insns instructions of x86 code (@bits = 16, 32 or 64)
 * from @code (@len bytes, guest address @addr), one per line as
 * "0xADDR:  mnemonic operands". Returns the number of instructions printed
 * (0 if Capstone is unavailable or rejects the first byte).
 */
size_t disas_x86_print(FILE *out, const uint8_t *code, size_t len, uint64_t addr, int bits,
                       size_t max_insns);

/**
 * Length in bytes of the first x86 instruction at @code according to
 * Capstone, or 0 if Capstone rejects it.
 */
size_t disas_x86_length(const uint8_t *code, size_t len, int bits);

#endif
