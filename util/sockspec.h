/*
 * util/sockspec.h - listening sockets from QEMU-style chardev specs, for the
 * gdbstub (-gdb) and QMP (-qmp) servers.
 *
 * Spellings (QEMU's socket chardev, docs "Character device options"):
 *   tcp:[HOST]:PORT[,server[=on]][,nowait|wait=off|wait=on|...]
 *   unix:PATH[,server[=on]][,nowait|wait=off|...]
 * Decided:
 *  - an empty HOST binds 127.0.0.1 (QEMU binds every interface; a debugger or
 *    QMP port gives full control of the guest, so qtemu listens on loopback
 *    unless told "0.0.0.0" explicitly);
 *  - we never block start-up waiting for a client ("wait" is accepted and
 *    ignored; use -S to hold the guest until gdb or QMP says cont);
 *  - a stale unix socket file at PATH is unlinked before bind, as QEMU does.
 */
#ifndef QTEMU_UTIL_SOCKSPEC_H
#define QTEMU_UTIL_SOCKSPEC_H

#include <stddef.h>

/**
 * Create a non-blocking, close-on-exec listening socket for @spec.
 * Returns the fd, or -1 with one line in @err (unknown scheme, bad port,
 * bind/listen failure with strerror). @what names the option ("-gdb") in
 * messages.
 */
int sockspec_listen(const char *what, const char *spec, char *err, size_t err_len);

/** Accept one client on @listen_fd: non-blocking, close-on-exec. fd or -1. */
int sockspec_accept(int listen_fd);

#endif
