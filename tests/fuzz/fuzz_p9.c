/*
 * tests/fuzz/fuzz_p9.c - libFuzzer target for the 9P2000.L server
 * (devices/p9.c): the input is a stream of T-messages, each cut at its own
 * size[4] field, fed to one server exporting a scratch directory. It checks
 * that no input crashes the parser or escapes the export (ASan/UBSan catch
 * memory errors; the scratch directory lives under /tmp).
 *
 * Build and run (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_p9.c devices/p9.c util/log.c -o build/fuzz_p9
 *   build/fuzz_p9 -max_total_time=60
 * Without clang's libFuzzer, -DFUZZ_STANDALONE gives a main() that runs the
 * files named on the command line once each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/p9.h"
#include "tests/fuzz/fuzz_main.h"

static struct p9_server *srv;
static uint8_t resp[P9_MAX_MSIZE];

static void setup(void)
{
    static char root[] = "/tmp/qtemu-fuzz-p9-XXXXXX";
    if (!mkdtemp(root))
        abort();
    char err[256];
    srv = p9_server_create(root, P9_SM_MAPPED_XATTR, false, err, sizeof(err));
    if (!srv)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        setup();
    /* Every input starts from a negotiated session with fid 0 at the root. */
    static const uint8_t version[] = { 21, 0, 0, 0, 100, 0xff, 0xff, 0, 0, 1, 0,
                                       8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L' };
    static const uint8_t attach[] = { 23, 0, 0, 0, 104, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                      0, 0, 0, 0, 0, 0, 0, 0 };
    p9_server_handle(srv, version, sizeof(version), resp, sizeof(resp));
    p9_server_handle(srv, attach, sizeof(attach), resp, sizeof(resp));
    while (size >= 4) {
        uint32_t n = data[0] | data[1] << 8 | data[2] << 16 | (uint32_t)data[3] << 24;
        size_t len = n < 7 || n > size ? size : n;
        size_t cap = 11 + (size_t)(data[0] * 131u) % (sizeof(resp) - 11);
        size_t r = p9_server_handle(srv, data, len, resp, cap);
        if (r > cap)
            abort();
        data += len;
        size -= len;
    }
    return 0;
}
