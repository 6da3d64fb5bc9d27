/*
 * boot/board_netfs.h - private to boot/: the network, console and 9p virtio
 * backends a board builds from machine_config.devices (board_netfs.c).
 */
#ifndef QTEMU_BOOT_BOARD_NETFS_H
#define QTEMU_BOOT_BOARD_NETFS_H

#include <stdbool.h>
#include <stddef.h>

#include "boot/machine.h"

/**
 * Build the backend for @c if its model is "virtio-net", "virtio-9p" or
 * "virtio-serial". Fields used (filled by frontend/netfs_opts.c):
 *  - virtio-net:    file = the -netdev user option list ("id=n0,hostfwd=..."),
 *                   props may hold mac=;
 *  - virtio-9p:     file = the exported directory, readonly, props hold
 *                   mount_tag= and security_model=;
 *  - virtio-serial: props may hold chardev=ID of a registered chardev
 *                   (chardev_find); without it the console has no backend.
 * Returns the device; NULL with *@mine false if the model is someone else's;
 * NULL with *@mine true and one line in @err on failure.
 */
struct virtio_dev *board_netfs_backend(struct machine *m, const struct machine_device_config *c,
                                       bool *mine, char *err, size_t err_len);

#endif
