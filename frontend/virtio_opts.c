/*
 * frontend/virtio_opts.c - the -drive option and the virtio -device models,
 * in QEMU's spellings:
 *
 *   -drive file=F[,format=raw][,if=virtio|none][,id=D][,readonly=on|off]
 *          [,cache=writeback|writethrough|none|directsync|unsafe][,serial=S]
 *   -device virtio-blk-pci,drive=D[,serial=S]     (-M pc)
 *   -device virtio-blk-device,drive=D[,serial=S]  (-M microvm: virtio-mmio)
 *   -device virtio-rng-pci | virtio-rng-device
 *
 * Drives are collected while parsing and matched to devices at the end
 * (qtemu_virtio_opts_finish), because -M and -device may come in any order.
 * if=virtio drives become virtio-blk on the board's own transport (PCI on
 * pc, MMIO on microvm), as QEMU does. Every mistake is one line naming it:
 * an unknown property, format=qcow2, a drive id not found or used twice, a
 * transport the machine does not have.
 *
 * Decided: cache= is accepted and ignored: qtemu always writes through the
 * host page cache and turns the guest's FLUSH into fdatasync (which is what
 * QEMU's default cache=writeback does). The models table below is where the
 * other virtio backends (net, console, 9p) add their names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "util/log.h"

#define MAX_DRIVES MACHINE_MAX_DEVICES

/** A parsed -drive. */
struct drive_opt {
    const char *file, *id, *serial;
    bool readonly;
    bool if_virtio;       /* else if=none: waits for a -device drive= */
    bool used;
};

/** A -device of a virtio model, before drives are resolved. */
struct vdev_opt {
    const char *model;    /* "virtio-blk" */
    const char *spelled;  /* "virtio-blk-pci", for messages */
    bool mmio;
    bool auto_transport;  /* if=virtio: whatever the machine has */
    const char *drive_id; /* drive=, or NULL */
    int drive;            /* index into drives once resolved, -1 if none */
    const char *serial;
    const char *props;
};

static struct drive_opt drives[MAX_DRIVES];
static int ndrives;
static struct vdev_opt vdevs[MACHINE_MAX_DEVICES];
static int nvdevs;

/** The virtio device models -device knows, and the properties each takes. */
static const struct {
    const char *model;
    const char *const keys[6];
    bool needs_drive;
} models[] = {
    { "virtio-blk", { "drive", "serial", "id", NULL }, true },
    { "virtio-rng", { "id", NULL }, false },
};

static int parse_bool(const char *what, const char *v, bool *out)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
        return 0;
    }
    error_report("%s: '%s' is not on or off", what, v);
    return -1;
}

void qtemu_virtio_opts_reset(void)
{
    ndrives = 0;
    nvdevs = 0;
}

int qtemu_parse_drive(const char *arg)
{
    static const char *const keys[] = { "file", "format", "if", "id", "readonly", "cache",
                                        "serial", "media", "index", NULL };
    size_t blen;
    const char *bad = qemu_opt_unknown(arg, keys, &blen);
    if (bad) {
        error_report("-drive %s: unknown property '%.*s'", arg, (int)blen, bad);
        return -1;
    }
    if (ndrives == MAX_DRIVES) {
        error_report("-drive %s: at most %d drives", arg, MAX_DRIVES);
        return -1;
    }
    struct drive_opt d = { .file = qemu_opt_get(arg, "file"), .id = qemu_opt_get(arg, "id"),
                           .serial = qemu_opt_get(arg, "serial") };
    if (!d.file || !*d.file) {
        error_report("-drive %s: file= is required (a raw image)", arg);
        return -1;
    }
    char *v = qemu_opt_get(arg, "format");
    if (v && strcmp(v, "raw")) {
        error_report("-drive %s: format=%s is not supported (only raw)", arg, v);
        return -1;
    }
    free(v);
    v = qemu_opt_get(arg, "if");
    if (!v || !strcmp(v, "virtio")) {
        d.if_virtio = true;
    } else if (strcmp(v, "none")) {
        error_report("-drive %s: if=%s is not supported (use if=virtio, or if=none with -device)",
                     arg, v);
        return -1;
    }
    free(v);
    if (!d.if_virtio && !d.id) {
        error_report("-drive %s: if=none needs id= (for -device ...,drive=ID)", arg);
        return -1;
    }
    v = qemu_opt_get(arg, "readonly");
    if (v && parse_bool("-drive readonly", v, &d.readonly))
        return -1;
    free(v);
    v = qemu_opt_get(arg, "media");
    if (v && strcmp(v, "disk")) {
        error_report("-drive %s: media=%s is not supported (only disk)", arg, v);
        return -1;
    }
    free(v);
    v = qemu_opt_get(arg, "cache");
    if (v && strcmp(v, "writeback") && strcmp(v, "writethrough") && strcmp(v, "none") &&
        strcmp(v, "directsync") && strcmp(v, "unsafe")) {
        error_report("-drive %s: cache=%s is not one of writeback, writethrough, none, directsync, unsafe",
                     arg, v);
        return -1;
    }
    free(v);
    for (int i = 0; i < ndrives; i++) {
        if (d.id && drives[i].id && !strcmp(d.id, drives[i].id)) {
            error_report("-drive %s: duplicate drive id '%s'", arg, d.id);
            return -1;
        }
    }
    if (d.if_virtio) {
        if (nvdevs == MACHINE_MAX_DEVICES) {
            error_report("-drive %s: at most %d virtio devices", arg, MACHINE_MAX_DEVICES);
            return -1;
        }
        vdevs[nvdevs++] = (struct vdev_opt){ .model = "virtio-blk", .spelled = "-drive if=virtio",
                                             .auto_transport = true, .drive = ndrives,
                                             .props = "" };
        d.used = true;
    }
    drives[ndrives++] = d;
    return 0;
}

int qtemu_parse_virtio_device(const char *arg)
{
    size_t nlen = strcspn(arg, ",");
    const char *props = arg[nlen] ? arg + nlen + 1 : "";
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        size_t mlen = strlen(models[i].model);
        if (nlen <= mlen || strncmp(arg, models[i].model, mlen) || arg[mlen] != '-')
            continue;
        const char *suffix = arg + mlen + 1;
        size_t slen = nlen - mlen - 1;
        bool mmio;
        if (slen == 3 && !strncmp(suffix, "pci", 3))
            mmio = false;
        else if (slen == 6 && !strncmp(suffix, "device", 6))
            mmio = true;
        else
            continue;
        size_t blen;
        const char *bad = qemu_opt_unknown(props, models[i].keys, &blen);
        if (bad) {
            error_report("-device %.*s: unknown property '%.*s'", (int)nlen, arg, (int)blen, bad);
            return -1;
        }
        if (nvdevs == MACHINE_MAX_DEVICES) {
            error_report("-device %.*s: at most %d virtio devices", (int)nlen, arg, MACHINE_MAX_DEVICES);
            return -1;
        }
        struct vdev_opt d = { .model = models[i].model, .spelled = strndup(arg, nlen), .mmio = mmio,
                              .drive_id = qemu_opt_get(props, "drive"), .drive = -1,
                              .serial = qemu_opt_get(props, "serial"), .props = strdup(props) };
        if (models[i].needs_drive && !d.drive_id) {
            error_report("-device %s: drive= is required", d.spelled);
            return -1;
        }
        vdevs[nvdevs++] = d;
        return 0;
    }
    return 1;
}

int qtemu_virtio_opts_finish(struct qtemu_options *o)
{
    struct machine_config *mc = &o->machine;
    bool microvm = mc->machine && !strcmp(mc->machine, "microvm");
    mc->ndevices = 0;
    for (int i = 0; i < nvdevs; i++) {
        struct vdev_opt *d = &vdevs[i];
        if (d->auto_transport) {
            d->mmio = microvm;
        } else if (d->mmio && !microvm) {
            error_report("-device %s needs -M microvm (virtio-mmio); on pc use %s-pci",
                         d->spelled, d->model);
            return -1;
        } else if (!d->mmio && microvm) {
            error_report("-device %s needs -M pc (microvm has no PCI); use %s-device",
                         d->spelled, d->model);
            return -1;
        }
        if (d->drive_id) {
            int found = -1;
            for (int k = 0; k < ndrives; k++)
                if (drives[k].id && !strcmp(drives[k].id, d->drive_id))
                    found = k;
            if (found < 0) {
                error_report("-device %s: drive '%s' not found", d->spelled, d->drive_id);
                return -1;
            }
            if (drives[found].used) {
                error_report("-device %s: drive '%s' is already in use", d->spelled, d->drive_id);
                return -1;
            }
            drives[found].used = true;
            d->drive = found;
        }
        struct machine_device_config *c = &mc->devices[mc->ndevices++];
        *c = (struct machine_device_config){ .model = d->model, .mmio = d->mmio, .props = d->props };
        if (d->drive >= 0) {
            c->file = drives[d->drive].file;
            c->readonly = drives[d->drive].readonly;
            c->serial = d->serial ? d->serial : drives[d->drive].serial;
        }
    }
    return 0;
}
