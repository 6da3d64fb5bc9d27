/*
 * devices/virtio_9p.c - virtio 9P transport (virtio 1.2 5 lists device ID 9,
 * "9P transport", without a device section; the layout here is Linux's
 * include/uapi/linux/virtio_9p.h and QEMU's hw/9pfs/virtio-9p-device.c):
 * one request queue; each chain carries one
 * T-message in its device-readable buffers and room for the R-message in its
 * device-writable ones. Feature VIRTIO_9P_MOUNT_TAG (bit 0): the config
 * space is le16 tag_len followed by the tag bytes (no NUL).
 *
 * The file server itself is devices/p9.c. Requests are served synchronously
 * in queue order (so Tflush never finds anything in flight).
 *
 * Decided: the mount tag is 1..31 bytes (QEMU's MAX_TAG_LEN 32 with room
 * for a NUL); a T-message larger than the negotiated msize (or than
 * P9_MAX_MSIZE before Tversion) is answered with Rlerror EMSGSIZE by the
 * server when it sees the truncated size; a chain whose writable part cannot
 * hold even an Rlerror is returned unanswered and logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/p9.h"
#include "devices/virtio.h"
#include "util/log.h"

#define QUEUE_SIZE            128
#define VIRTIO_9P_MOUNT_TAG   0
#define MAX_TAG_LEN           31

struct virtio_9p {
    struct virtio_dev vdev;
    struct p9_server *srv;
    struct virtq_elem elem;
    uint8_t config[2 + MAX_TAG_LEN];
    uint8_t req[P9_MAX_MSIZE];
    uint8_t resp[P9_MAX_MSIZE];
};

static void v9p_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_9p *s = vdev->opaque;
    bool any = false;
    while (virtqueue_pop(vdev, q, &s->elem) == 1) {
        size_t len = s->elem.out_len < sizeof(s->req) ? (size_t)s->elem.out_len : sizeof(s->req);
        len = virtq_elem_read(vdev, &s->elem, 0, s->req, len);
        size_t cap = s->elem.in_len < sizeof(s->resp) ? (size_t)s->elem.in_len : sizeof(s->resp);
        size_t n = p9_server_handle(s->srv, s->req, len, s->resp, cap);
        if (!n)
            qlog(LOG_GUEST_ERRORS, "virtio-9p: reply buffer of %zu bytes is too small", cap);
        size_t written = virtq_elem_write(vdev, &s->elem, 0, s->resp, n);
        if (virtqueue_push(vdev, q, &s->elem, (uint32_t)written))
            return;
        any = true;
    }
    if (any)
        virtqueue_notify(vdev, q);
}

static void v9p_reset(struct virtio_dev *vdev)
{
    struct virtio_9p *s = vdev->opaque;
    p9_server_reset(s->srv);
}

static const struct virtio_device_ops v9p_ops = {
    .name = "virtio-9p",
    .device_id = VIRTIO_ID_9P,
    .pci_class = 0x000200,          /* QEMU's virtio-9p-pci: class_id 0x0002 */
    .queue_notify = v9p_queue_notify,
    .reset = v9p_reset,
};

struct virtio_dev *virtio_9p_create(struct guest_mem *mem, const char *path,
                                    const char *security_model, const char *mount_tag,
                                    bool readonly, char *err, size_t err_len)
{
    enum p9_security_model sm = P9_SM_NONE;
    if (security_model && p9_security_model_parse(security_model, &sm)) {
        snprintf(err, err_len, "virtio-9p: security_model=%s is not none or mapped-xattr",
                 security_model);
        return NULL;
    }
    size_t tl = mount_tag ? strlen(mount_tag) : 0;
    if (tl == 0 || tl > MAX_TAG_LEN) {
        snprintf(err, err_len, "virtio-9p: mount_tag must be 1..%d characters", MAX_TAG_LEN);
        return NULL;
    }
    struct virtio_9p *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_len, "virtio-9p: out of memory");
        return NULL;
    }
    s->srv = p9_server_create(path, sm, readonly, err, err_len);
    if (!s->srv) {
        free(s);
        return NULL;
    }
    s->config[0] = (uint8_t)tl;
    s->config[1] = 0;
    memcpy(s->config + 2, mount_tag, tl);
    if (virtio_dev_init(&s->vdev, &v9p_ops, s, mem, 1, QUEUE_SIZE, 1ull << VIRTIO_9P_MOUNT_TAG,
                        s->config, (uint32_t)(2 + tl))) {
        p9_server_destroy(s->srv);
        free(s);
        snprintf(err, err_len, "virtio-9p: cannot initialise the device");
        return NULL;
    }
    return &s->vdev;
}
