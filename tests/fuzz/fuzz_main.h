/*
 * tests/fuzz/fuzz_main.h - what the libFuzzer targets (tests/fuzz/fuzz_*.c)
 * share outside the virtio harness: the main() of a build without libFuzzer
 * (-DFUZZ_STANDALONE), which runs the files named on the command line once
 * each, and the one-vCPU machine the frontend targets (QMP, RSP) talk to.
 *
 * Header-only: each target is one translation unit linked against libqtemu.a.
 */
#ifndef QTEMU_TESTS_FUZZ_FUZZ_MAIN_H
#define QTEMU_TESTS_FUZZ_FUZZ_MAIN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot/machine.h"

/**
 * A machine with one X86_CPU_MAX vCPU on 16 MiB of guest RAM (PC layout,
 * paging off); aborts if it cannot be built.
 */
static inline void fuzz_machine_one_cpu(struct machine *m)
{
    if (guest_mem_init_pc(&m->mem, 16ull << 20, 0xC0000000ull, NULL))
        abort();
    bus_init(&m->bus);
    m->cpus[0] = x86_vcpu_create(0, X86_CPU_MAX, &m->mem, &m->bus);
    if (!m->cpus[0])
        abort();
    m->ncpus = 1;
}

/* libFuzzer's entry point runs the targets' own function; this main() is for builds without it. */
#ifdef FUZZ_STANDALONE
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv)
{
    static uint8_t buf[1 << 20];
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        if (!fp)
            continue;
        size_t n = fread(buf, 1, sizeof(buf), fp);
        fclose(fp);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif

#endif
