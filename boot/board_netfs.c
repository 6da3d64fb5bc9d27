/*
 * boot/board_netfs.c - virtio-net, virtio-9p and virtio-console backends
 * for the boards (see boot/board_netfs.h). The transport (virtio-pci on pc,
 * virtio-mmio on microvm) is board_virtio.c's business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/board_netfs.h"
#include "devices/bus.h"

/* Value of @key in the comma list @list (malloc'd), or NULL. */
static char *prop(const char *list, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = list; p && *p; ) {
        if (!strncmp(p, key, klen) && p[klen] == '=')
            return strndup(p + klen + 1, strcspn(p + klen + 1, ","));
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return NULL;
}

struct virtio_dev *board_netfs_backend(struct machine *m, const struct machine_device_config *c,
                                       bool *mine, char *err, size_t err_len)
{
    struct virtio_dev *v = NULL;
    *mine = true;
    if (!strcmp(c->model, "virtio-net")) {
        char *mac = prop(c->props, "mac");
        v = virtio_net_create(&m->mem, mac, c->file, err, err_len);   /* NULL: no netdev */
        free(mac);
    } else if (!strcmp(c->model, "virtio-9p")) {
        char *tag = prop(c->props, "mount_tag"), *sm = prop(c->props, "security_model");
        if (!c->file)
            snprintf(err, err_len, "virtio-9p without an fsdev path");
        else
            v = virtio_9p_create(&m->mem, c->file, sm, tag, c->readonly, err, err_len);
        free(tag);
        free(sm);
    } else if (!strcmp(c->model, "virtio-serial")) {
        char *id = prop(c->props, "chardev");
        struct chardev *chr = id ? chardev_find(id) : NULL;
        if (id && !chr)
            snprintf(err, err_len, "virtconsole: chardev '%s' not found", id);
        else if (!(v = virtio_console_create(&m->mem, chr)))
            snprintf(err, err_len, "virtio-serial: out of memory");
        free(id);
    } else {
        *mine = false;
    }
    return v;
}
