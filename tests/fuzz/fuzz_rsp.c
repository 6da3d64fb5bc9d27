/*
 * tests/fuzz/fuzz_rsp.c - libFuzzer target for the gdbstub's remote serial
 * protocol parser and command handlers (frontend/gdbstub.c, included here so
 * the static functions are reachable and instrumented). The input is a raw
 * byte stream from a "debugger": packets, acks, Ctrl-C, garbage. The stub
 * talks to a real x86 vCPU on 16 MiB of guest RAM (paging off), so m/M/g/G/
 * p/P/Z/z reach the vCPU interface. Checks: no crash (ASan/UBSan), and
 * everything the stub sends is '+', '-' or a well-formed $data#cs packet
 * with a correct checksum.
 *
 * Build and run: make fuzz (MODE=fuzz, clang). Without libFuzzer,
 * -DFUZZ_STANDALONE gives a main() that runs the files named on the command
 * line once each.
 */
#include "frontend/gdbstub.c"
#include "tests/fuzz/fuzz_main.h"

static struct machine fm;
static struct gdbstub fgs;

/* Check the framing of everything the stub sends. */
static void check_sink(struct gdbstub *gs, const char *buf, size_t len)
{
    (void)gs;
    if (len == 1 && (buf[0] == '+' || buf[0] == '-'))
        return;
    if (len < 4 || buf[0] != '$' || buf[len - 3] != '#')
        abort();
    uint8_t sum = 0;
    for (size_t i = 1; i < len - 3; i++) {
        if (buf[i] == '$' || buf[i] == '#')
            abort();                 /* must have been escaped */
        sum += (uint8_t)buf[i];
    }
    if (hexval(buf[len - 2]) < 0 || hexval(buf[len - 1]) < 0 ||
        (uint8_t)(hexval(buf[len - 2]) << 4 | hexval(buf[len - 1])) != sum)
        abort();
}

static void setup(void)
{
    fuzz_machine_one_cpu(&fm);
    fgs.m = &fm;
    fgs.fd = -1;
    fgs.listen_fd = -1;
    fgs.sink = check_sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fm.ncpus)
        setup();
    fgs.rx = RX_IDLE;
    fgs.no_ack = size && (data[0] & 1);
    fgs.phys_mem = false;
    fgs.running = false;
    fgs.g_cpu = fgs.c_cpu = 0;
    free(fgs.last);
    fgs.last = NULL;
    rsp_feed(&fgs, data, size);
    fm.cpus[0]->ops->remove_all_bp(fm.cpus[0]);
    fm.cpus[0]->ops->set_single_step(fm.cpus[0], false);
    return 0;
}
