/*
 * frontend/main.c - qtemu's entry point: parse options, build the machine,
 * run it, exit with QEMU's status conventions. Only the frontend exits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "frontend/frontend.h"
#include "frontend/monitor.h"
#include "util/clock.h"
#include "util/log.h"

int main(int argc, char **argv)
{
    struct qtemu_options opts;
    int rc = qtemu_parse_options(argc, argv, &opts);
    if (rc)
        return rc > 0 ? 0 : 1;
    if (opts.log_path && log_set_file(opts.log_path)) {
        error_report("-D %s: cannot open log file", opts.log_path);
        return 1;
    }
    if (opts.icount_shift >= 0)
        clock_set_icount(opts.icount_shift);

    char err[512];
    struct chardev *serial = frontend_chardev_open(opts.serial, err, sizeof(err));
    if (!serial) {
        error_report("%s", err);
        return 1;
    }
    opts.machine.serial = serial;

    struct machine m;
    if (machine_create(&m, &opts.machine, err, sizeof(err))) {
        frontend_term_restore();
        error_report("%s", err);
        return 1;
    }
    /* -debug / -monitor / symbols (frontend/debugger.c); before the gdbstub, whose hook wins. */
    if (debugger_setup(&m, &opts, err, sizeof(err))) {
        frontend_term_restore();
        error_report("%s", err);
        machine_destroy(&m);
        return 1;
    }
    /* -S: hold the vCPUs until gdb, QMP 'cont' or the monitor resumes. */
    if (opts.start_paused)
        mainloop_pause();
    /* Started after any debugger/monitor hook so gdb owns debug stops (gdbstub.c). */
    if ((opts.gdb && gdbstub_start(&m, opts.gdb, err, sizeof(err))) ||
        (opts.qmp && qmp_start(&m, &opts, opts.qmp, err, sizeof(err)))) {
        frontend_term_restore();
        error_report("%s", err);
        machine_destroy(&m);
        return 1;
    }
    rc = qtemu_main_loop(&m, &opts);
    frontend_chardev_flush();
    frontend_term_restore();
    machine_destroy(&m);
    return rc;
}
