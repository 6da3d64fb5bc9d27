/*
 * frontend/monitor.h - the command engine shared by the built-in debugger
 * (-debug, prompt "(qtemu) "), the human monitor (-monitor stdio, prompt
 * "(qemu) ", QEMU's HMP) and QMP's human-monitor-command.
 *
 * One engine, two dialects: every command is available from every front,
 * QEMU HMP spellings ("info registers", "x /8xb ADDR", "xp /4wx ADDR",
 * "stop", "cont", "c", "info status", "system_reset", "quit", "help") and
 * gdb-like debugger spellings ("continue", "step [N]", "next", "until ADDR",
 * "finish", "break ADDR|SYMBOL", "delete N", "info breakpoints",
 * "watch ADDR LEN [r|w|rw]", "regs", "x/FMT ADDR", "disas [ADDR] [N]",
 * "pagewalk ADDR", "tlb", "info irq", "info devices", "trace on|off").
 *
 * The debug hook of the main loop is single (mainloop_set_debug_hook): the
 * last one installed wins. Dispatch, decided here: frontend/main.c calls
 * debugger_setup() (which installs the debugger's hook for -debug or
 * -monitor stdio) before gdbstub_start(), so with -s/-gdb the gdbstub owns
 * every debug stop; otherwise the debugger reports stops (to its prompt for
 * -debug, to the monitor's stdout for -monitor).
 *
 * Threading: everything runs on the main-loop thread (commands are executed
 * from fd callbacks or the debug hook), so no locking.
 */
#ifndef QTEMU_FRONTEND_MONITOR_H
#define QTEMU_FRONTEND_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "boot/machine.h"

/** monitor_exec() return values. */
enum monitor_status {
    MONITOR_OK = 0,           /* command ran (it may have printed an error for a bad address) */
    MONITOR_ERROR = -1,       /* unknown command or bad arguments; message written to @out */
    MONITOR_RESUMED = 1,      /* command resumed the guest (cont, step, next, ...) */
    MONITOR_QUIT = 2,         /* "quit": mainloop_request_exit(0) was called */
};

/**
 * Run one debugger/monitor command line (no trailing newline needed) on the
 * machine of the main loop (mainloop_machine()), writing its output to @out
 * (a terminal, or open_memstream() for QMP human-monitor-command). An empty
 * line does nothing. Commands that resume the guest (cont/continue/c, step,
 * next, until, finish) return MONITOR_RESUMED after calling
 * mainloop_resume(); the next stop is reported by the debugger's debug hook
 * to the debugger's terminal (not to @out). Returns an enum monitor_status.
 */
int monitor_exec(const char *cmdline, FILE *out);

/**
 * Load symbols for breakpoints and symbol+offset display from @path: an ELF
 * file with a .symtab (vmlinux, test ROM) or a System.map ("ADDR TYPE NAME"
 * lines). Replaces any symbols loaded before. Returns the number of symbols
 * loaded (>= 1) or -1 with one line in @err.
 */
int symbols_load(const char *path, char *err, size_t err_len);

/**
 * Look up a symbol by name. Returns true and *addr, or false if unknown or
 * no symbols are loaded.
 */
bool symbols_lookup(const char *name, uint64_t *addr);

/**
 * Name the function/object containing @addr: writes "name" or "name+0xOFF"
 * into @buf (NUL-terminated, truncated to @len) and returns true, or returns
 * false (buf untouched) when no symbol at or below @addr is known within
 * 1 MiB or its size says @addr lies beyond it.
 */
bool symbols_describe(uint64_t addr, char *buf, size_t len);

/** Forget all symbols. */
void symbols_clear(void);

/* ---------------------------------------------------------------- debugger front (-debug) */

struct qtemu_options;

/**
 * Set up what the command line asked for, after machine_create() and before
 * the gdbstub (whose debug hook then wins): symbols (-debug-symbols FILE,
 * else the -kernel file when it is an ELF with a .symtab; silently none
 * otherwise), -debug (debugger_attach, paused at the prompt) and -monitor
 * (monitor_open). -debug with -monitor stdio is refused: both want the
 * terminal. Returns 0, or -1 with one line in @err.
 */
int debugger_setup(struct machine *m, const struct qtemu_options *opts, char *err, size_t err_len);

/**
 * Start the built-in debugger on the controlling terminal (stdin/stdout):
 * installs the main loop's debug hook and, if @start_paused, pauses the
 * machine and shows the "(qtemu) " prompt before the first instruction.
 * Uses libedit (line editing, history) when stdin is a tty, plain line
 * reads when it is a pipe. @m is the machine the main loop will run (it is
 * not registered with the main loop yet at start-up). Returns 0, or -1 if
 * the main loop's prepoll table is full.
 */
int debugger_attach(struct machine *m, bool start_paused);

/**
 * Stop the guest and open the debugger prompt (Ctrl-A d on the console).
 * Safe to call from the console input path: the stop takes effect at the
 * next main-loop iteration. Does nothing if the debugger is not attached.
 */
void debugger_request_stop(void);

/** True if the debugger is attached and owns the terminal right now (prompt shown). */
bool debugger_active(void);

/* ---------------------------------------------------------------- human monitor (-monitor) */

/**
 * Start the human monitor on @spec ("stdio" or "none"; QEMU's -monitor).
 * "stdio" prints QEMU's banner and the "(qemu) " prompt and reads commands
 * from stdin through the main loop. With @serial_on_stdio (the serial
 * console is on stdio too, QEMU's "mon:stdio" multiplexing, the -nographic
 * default) stdin starts on the serial console and Ctrl-A c switches between
 * the console and the monitor. Returns 0, or -1 with one line in @err for
 * an unsupported spec ("stdio", "none" and "mon:stdio" are supported).
 */
int monitor_open(struct machine *m, const char *spec, bool serial_on_stdio, char *err,
                 size_t err_len);

/**
 * Ctrl-A c on a multiplexed stdio (QEMU's mux chardev): switch stdin between
 * the serial console and the monitor. Returns true if input now goes to the
 * monitor. Does nothing (returns false) without a multiplexed monitor.
 */
bool monitor_mux_toggle(void);

/** True if stdin input currently belongs to the monitor (mux focus on the monitor). */
bool monitor_mux_focus(void);

/**
 * Feed one byte typed while the monitor has the mux focus (the chardev's raw
 * stdin path calls this instead of queueing the byte for the UART). The
 * monitor echoes, handles backspace and runs the line at CR/LF.
 */
void monitor_mux_byte(uint8_t b);

#endif
