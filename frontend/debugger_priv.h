/*
 * frontend/debugger_priv.h - what frontend/monitor.c (command engine,
 * inspection commands, HMP front) and frontend/debugger.c (execution
 * control, breakpoints, the debug hook, the -debug prompt) share. Private to
 * frontend/.
 */
#ifndef QTEMU_FRONTEND_DEBUGGER_PRIV_H
#define QTEMU_FRONTEND_DEBUGGER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "boot/machine.h"
#include "cpu/vcpu.h"

/** Tell the engine which machine to use before the main loop runs it. */
void monitor_set_machine(struct machine *m);

/** The vCPU commands act on (the first one), or NULL without a machine. */
struct vcpu *monitor_cpu(void);

/**
 * Evaluate an address expression: a number (C syntax: 0x hex, decimal), a
 * register ($rip $pc $rsp $sp $rax .. $r15 $cr3), a symbol, optionally
 * "*" in front (gdb's "break *ADDR") and "+N"/"-N" terms after. 0 or -1
 * (with a message on @out).
 */
int monitor_eval(const char *expr, uint64_t *out_val, FILE *out);

/** Linear address of CS:RIP of @v (CS base added; 32 bits outside 64-bit mode). */
uint64_t monitor_pc(struct vcpu *v);

/** Disassembly width for @v's current mode: 64 with EFER.LMA, 32 with CR0.PE, else 16. */
int monitor_code_bits(struct vcpu *v);

/**
 * Print "0xADDR <sym+off>:  mnemonic operands" for @count instructions of
 * virtual memory at @addr (a "=> " marker on the one at the PC). Returns the
 * number printed.
 */
size_t monitor_disas(struct vcpu *v, uint64_t addr, size_t count, FILE *out);

/**
 * Debugger commands of debugger.c (continue/step/next/until/finish/break/
 * delete/watch/info breakpoints). Returns an enum monitor_status, or
 * DEBUGGER_NOT_MINE if @verb is not one of them.
 */
#define DEBUGGER_NOT_MINE 100
int debugger_command(const char *verb, const char *args, FILE *out);

/** Cancel any step/next/finish/until in progress (HMP "stop", reset). */
void debugger_cancel_run(void);

/** The debug hook (installed by debugger_attach() or monitor_open()). */
void debugger_hook(void *opaque, struct vcpu *vcpu);

#endif
