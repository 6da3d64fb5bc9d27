/*
 * tests/fuzz/fuzz_qmp.c - libFuzzer target for the QMP server's input
 * splitter and command dispatch (frontend/qmp.c, included here so the static
 * functions are reachable and instrumented). The input is a raw byte stream
 * from a client; the first byte chooses whether capabilities are already
 * negotiated. Commands run against a real x86 vCPU on 16 MiB of guest RAM
 * with file writes (memsave/pmemsave) disabled. Checks: no crash
 * (ASan/UBSan), and every line the server sends is valid JSON.
 *
 * Build and run: make fuzz (MODE=fuzz, clang). -DFUZZ_STANDALONE gives a
 * main() that runs the files named on the command line once each.
 */
#include "frontend/qmp.c"
#include "tests/fuzz/fuzz_main.h"

static struct machine fm;
static struct qmp fq;

static void check_sink(struct qmp *q, const char *buf, size_t len)
{
    (void)q;
    if (len == 2 && buf[0] == '\r' && buf[1] == '\n')
        return;
    json_error_t e;
    json_t *j = json_loadb(buf, len, 0, &e);
    if (!j || !json_is_object(j))
        abort();
    json_decref(j);
}

static void setup(void)
{
    fuzz_machine_one_cpu(&fm);
    fq.m = &fm;
    fq.fd = -1;
    fq.listen_fd = -1;
    fq.allow_files = false;
    fq.sink = check_sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fm.ncpus)
        setup();
    fq.negotiated = size && (data[0] & 1);
    fq.in_len = fq.scan = fq.msg_start = 0;
    fq.depth = 0;
    fq.in_str = fq.esc = fq.skipping = false;
    qmp_feed(&fq, (const char *)data, size);
    fm.bus.request = MACHINE_REQ_NONE;
    return 0;
}
