/*
 * devices/virtio_blk.c - virtio-blk on a raw image file (virtio 1.2 5.2).
 *
 * Follows 5.2.3 feature bits, 5.2.4 device configuration layout, 5.2.6
 * device operation (struct virtio_blk_req: le32 type, le32 reserved, le64
 * sector, data, u8 status) and 5.2.6.2 device requirements.
 *
 * Offered features: SEG_MAX, BLK_SIZE (512), FLUSH, DISCARD, WRITE_ZEROES,
 * and RO for readonly=on. One request queue of 256 entries.
 *
 * Decided:
 *  - sectors are 512 bytes (5.2.6: "sector" is always in 512-byte units);
 *    the image size must be a multiple of 512 (rejected at creation);
 *  - a request that runs past the capacity, or whose data is not a multiple
 *    of 512 bytes, completes with VIRTIO_BLK_S_IOERR; so does a write to a
 *    read-only device (5.2.6.2: "device MUST ... fail" writes when RO);
 *  - a chain without a writable status byte, or with a short header, cannot
 *    be answered: the chain is returned with 0 bytes written (logged);
 *  - IN reads straight into guest RAM (gpa_map + pread + gpa_note_write),
 *    OUT writes straight from it (pwrite); short reads past EOF cannot happen
 *    because the capacity is the file size at creation;
 *  - FLUSH is fdatasync(2): data the guest flushed survives a host crash;
 *  - DISCARD punches holes (fallocate PUNCH_HOLE|KEEP_SIZE); WRITE_ZEROES
 *    uses ZERO_RANGE (falling back to writing zeros, or PUNCH_HOLE when the
 *    unmap flag allows it); segments are checked like reads and writes;
 *  - GET_ID returns the serial (at most 20 bytes, NUL-padded if shorter).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio.h"
#include "util/log.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_ID_BYTES       20

#define SECTOR           512ull
#define QUEUE_SIZE       256
#define SEG_MAX          (QUEUE_SIZE - 2)
#define MAX_DISCARD_SECTORS  (1u << 22)          /* 2 GiB per segment */
#define MAX_DISCARD_SEG      32
#define CONFIG_LEN       60                      /* up to write_zeroes_may_unmap + unused1[3] */

/** One virtio-blk device. */
struct virtio_blk {
    struct virtio_dev vdev;
    int fd;
    bool readonly;
    uint64_t sectors;
    char serial[VIRTIO_BLK_ID_BYTES];
    uint8_t config[CONFIG_LEN];
    struct virtq_elem elem;
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/** Is [sector, sector + bytes/512) inside the disk? */
static bool in_range(const struct virtio_blk *s, uint64_t sector, uint64_t bytes)
{
    uint64_t n = bytes / SECTOR;
    return sector <= s->sectors && n <= s->sectors - sector;
}

/** Transfer between the chain's data buffers and the image. Returns a status. */
static uint8_t do_rw(struct virtio_blk *s, const struct virtq_elem *e, bool write, uint64_t sector,
                     uint32_t *written)
{
    /* Data: for OUT the readable buffers after the 16-byte header; for IN the
     * writable buffers before the final status byte. */
    uint64_t total = write ? e->out_len - 16 : e->in_len - 1;
    if (total % SECTOR || !in_range(s, sector, total)) {
        qlog(LOG_GUEST_ERRORS, "virtio-blk: %s of %llu bytes at sector %llu outside the disk (%llu sectors)",
             write ? "write" : "read", (unsigned long long)total, (unsigned long long)sector,
             (unsigned long long)s->sectors);
        return VIRTIO_BLK_S_IOERR;
    }
    if (write && s->readonly)
        return VIRTIO_BLK_S_IOERR;
    const struct virtq_buf *bufs = write ? e->out : e->in;
    unsigned n = write ? e->n_out : e->n_in;
    uint64_t skip = write ? 16 : 0, done = 0;
    off_t pos = (off_t)(sector * SECTOR);
    for (unsigned i = 0; i < n && done < total; i++) {
        uint64_t gpa = bufs[i].gpa, len = bufs[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        gpa += skip;
        len -= skip;
        skip = 0;
        if (len > total - done)
            len = total - done;
        uint8_t *host = gpa_map(s->vdev.mem, gpa, len);
        if (!host)
            return VIRTIO_BLK_S_IOERR;
        uint64_t k = 0;
        while (k < len) {
            ssize_t r = write ? pwrite(s->fd, host + k, len - k, pos)
                              : pread(s->fd, host + k, len - k, pos);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                qlog(LOG_GUEST_ERRORS, "virtio-blk: host %s failed at %lld: %s",
                     write ? "pwrite" : "pread", (long long)pos, r < 0 ? strerror(errno) : "EOF");
                return VIRTIO_BLK_S_IOERR;
            }
            k += (uint64_t)r;
            pos += r;
        }
        if (!write) {
            gpa_note_write(s->vdev.mem, gpa, len);
            *written += (uint32_t)len;
        }
        done += len;
    }
    return VIRTIO_BLK_S_OK;
}

/** DISCARD / WRITE_ZEROES: segments of {le64 sector, le32 num_sectors, le32 flags}. */
static uint8_t do_discard(struct virtio_blk *s, const struct virtq_elem *e, bool zeroes)
{
    uint64_t bytes = e->out_len - 16;
    if (bytes == 0 || bytes % 16 || bytes / 16 > MAX_DISCARD_SEG)
        return VIRTIO_BLK_S_IOERR;
    if (s->readonly)
        return VIRTIO_BLK_S_IOERR;
    for (uint64_t off = 16; off < e->out_len; off += 16) {
        uint8_t seg[16];
        if (virtq_elem_read(&s->vdev, e, off, seg, 16) != 16)
            return VIRTIO_BLK_S_IOERR;
        uint64_t sector = 0;
        for (int k = 7; k >= 0; k--)
            sector = sector << 8 | seg[k];
        uint32_t num = (uint32_t)seg[8] | (uint32_t)seg[9] << 8 | (uint32_t)seg[10] << 16 |
                       (uint32_t)seg[11] << 24;
        uint32_t flags = (uint32_t)seg[12] | (uint32_t)seg[13] << 8 | (uint32_t)seg[14] << 16 |
                         (uint32_t)seg[15] << 24;
        /* 5.2.6.2: only the unmap flag exists, and only for WRITE_ZEROES. */
        if ((flags & ~1u) || (!zeroes && flags) || num > MAX_DISCARD_SECTORS ||
            !in_range(s, sector, (uint64_t)num * SECTOR))
            return VIRTIO_BLK_S_IOERR;
        off_t pos = (off_t)(sector * SECTOR), len = (off_t)num * (off_t)SECTOR;
        if (!len)
            continue;
        if (!zeroes) {
            if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos, len) < 0 &&
                errno != EOPNOTSUPP)
                return VIRTIO_BLK_S_IOERR;
            continue;
        }
        int mode = (flags & 1) ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;
        if (fallocate(s->fd, mode, pos, len) == 0)
            continue;
        static const uint8_t zero[65536];
        while (len > 0) {
            size_t n = len > (off_t)sizeof(zero) ? sizeof(zero) : (size_t)len;
            ssize_t r = pwrite(s->fd, zero, n, pos);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return VIRTIO_BLK_S_IOERR;
            pos += r;
            len -= r;
        }
    }
    return VIRTIO_BLK_S_OK;
}

/** Handle one request; returns the bytes written into the chain (status included). */
static uint32_t handle_request(struct virtio_blk *s, const struct virtq_elem *e)
{
    uint8_t hdr[16];
    if (e->n_in == 0 || e->out_len < 16 || virtq_elem_read(&s->vdev, e, 0, hdr, 16) != 16) {
        qlog(LOG_GUEST_ERRORS, "virtio-blk: request without header or status byte");
        return 0;
    }
    uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                    (uint32_t)hdr[3] << 24;
    uint64_t sector = 0;
    for (int k = 15; k >= 8; k--)
        sector = sector << 8 | hdr[k];
    uint32_t written = 0;
    uint8_t status;
    switch (type) {
    case VIRTIO_BLK_T_IN:
        status = do_rw(s, e, false, sector, &written);
        break;
    case VIRTIO_BLK_T_OUT:
        status = do_rw(s, e, true, sector, &written);
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = fdatasync(s->fd) == 0 || s->readonly ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t n = e->in_len - 1 < VIRTIO_BLK_ID_BYTES ? e->in_len - 1 : VIRTIO_BLK_ID_BYTES;
        written = (uint32_t)virtq_elem_write(&s->vdev, e, 0, s->serial, n);
        status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = do_discard(s, e, type == VIRTIO_BLK_T_WRITE_ZEROES);
        break;
    default:
        qlog(LOG_UNIMP, "virtio-blk: request type %u not supported", type);
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    /* The status is the last byte of the last writable buffer. */
    if (virtq_elem_write(&s->vdev, e, e->in_len - 1, &status, 1) != 1)
        return written;
    return written + 1;
}

static void blk_queue_notify(struct virtio_dev *vdev, unsigned q)
{
    struct virtio_blk *s = vdev->opaque;
    bool any = false;
    int rc;
    while ((rc = virtqueue_pop(vdev, q, &s->elem)) == 1) {
        uint32_t written = handle_request(s, &s->elem);
        if (virtqueue_push(vdev, q, &s->elem, written))
            return;
        any = true;
    }
    if (any)
        virtqueue_notify(vdev, q);
}

static const struct virtio_device_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = 0x018000,          /* mass storage, other */
    .queue_notify = blk_queue_notify,
};

struct virtio_dev *virtio_blk_create(struct guest_mem *mem, const char *path, bool readonly,
                                     const char *serial, char *err, size_t err_len)
{
    int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "could not open disk image '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "disk image '%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size % SECTOR) {
        snprintf(err, err_len, "disk image '%s' size %lld is not a multiple of 512 bytes", path,
                 (long long)st.st_size);
        close(fd);
        return NULL;
    }
    struct virtio_blk *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_len, "out of memory");
        close(fd);
        return NULL;
    }
    s->fd = fd;
    s->readonly = readonly;
    s->sectors = (uint64_t)st.st_size / SECTOR;
    if (serial)
        memcpy(s->serial, serial, strnlen(serial, sizeof(s->serial)));

    uint8_t *c = s->config;
    put_le(c + 0, s->sectors, 8);                  /* capacity */
    put_le(c + 12, SEG_MAX, 4);                    /* seg_max */
    put_le(c + 20, SECTOR, 4);                     /* blk_size */
    put_le(c + 36, MAX_DISCARD_SECTORS, 4);        /* max_discard_sectors */
    put_le(c + 40, MAX_DISCARD_SEG, 4);            /* max_discard_seg */
    put_le(c + 44, 1, 4);                          /* discard_sector_alignment */
    put_le(c + 48, MAX_DISCARD_SECTORS, 4);        /* max_write_zeroes_sectors */
    put_le(c + 52, MAX_DISCARD_SEG, 4);            /* max_write_zeroes_seg */
    c[56] = 1;                                     /* write_zeroes_may_unmap */
    uint64_t features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                        (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD) |
                        (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
    if (readonly)
        features |= 1ull << VIRTIO_BLK_F_RO;
    if (virtio_dev_init(&s->vdev, &blk_ops, s, mem, 1, QUEUE_SIZE, features, s->config, CONFIG_LEN)) {
        snprintf(err, err_len, "virtio-blk: internal error");
        close(fd);
        free(s);
        return NULL;
    }
    return &s->vdev;
}
