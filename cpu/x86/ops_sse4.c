/*
 * cpu/x86/ops_sse4.c - the 0F 38 and 0F 3A maps: SSSE3, SSE4.1, SSE4.2.
 */
#include "cpu/x86/sse_priv.h"

void x86_ops_sse4_init(x86_exec_fn *table)
{
    (void)table;
}
