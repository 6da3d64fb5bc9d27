/*
 * util/disas.c - Capstone wrapper (see disas.h). Handles are opened lazily
 * once per mode and kept for the life of the process.
 */
#include <capstone/capstone.h>

#include "util/disas.h"

static csh handle_for(int bits)
{
    static csh handles[3];
    static int state[3];   /* 0 untried, 1 ok, -1 failed */
    int i = bits == 16 ? 0 : bits == 32 ? 1 : 2;
    if (state[i] == 0) {
        cs_mode mode = i == 0 ? CS_MODE_16 : i == 1 ? CS_MODE_32 : CS_MODE_64;
        state[i] = cs_open(CS_ARCH_X86, mode, &handles[i]) == CS_ERR_OK ? 1 : -1;
    }
    return state[i] == 1 ? handles[i] : 0;
}

size_t disas_x86_print(FILE *out, const uint8_t *code, size_t len, uint64_t addr, int bits,
                       size_t max_insns)
{
    csh h = handle_for(bits);
    if (!h)
        return 0;
    cs_insn *insn;
    size_t n = cs_disasm(h, code, len, addr, max_insns, &insn);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "0x%016llx:  %s %s\n", (unsigned long long)insn[i].address,
                insn[i].mnemonic, insn[i].op_str);
    if (n)
        cs_free(insn, n);
    return n;
}

size_t disas_x86_length(const uint8_t *code, size_t len, int bits)
{
    csh h = handle_for(bits);
    if (!h)
        return 0;
    cs_insn *insn;
    size_t n = cs_disasm(h, code, len, 0, 1, &insn);
    size_t size = n ? insn[0].size : 0;
    if (n)
        cs_free(insn, n);
    return size;
}
