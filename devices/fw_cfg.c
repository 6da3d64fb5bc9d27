/*
 * devices/fw_cfg.c - QEMU's firmware configuration device (fw_cfg), the
 * channel through which QEMU hands firmware and bare-metal test kernels
 * their configuration.
 *
 * Follows QEMU's docs/specs/fw_cfg.rst ("Guest-side Hardware Interface",
 * "Guest-side DMA Interface") and, where the text is silent, QEMU's
 * hw/nvram/fw_cfg.c:
 *  - x86 I/O ports: selector at @iobase (0x510, 16-bit little-endian write),
 *    data at @iobase + 1 (0x511, 8-bit). As in QEMU's combined region, a
 *    byte read of either port reads data, a 16-bit write selects, a byte
 *    write is a (no-op) data write. Selecting resets the data offset;
 *    reads past the end of an item return 0.
 *  - selector bits: 15 = architecture-specific item, 14 = write channel
 *    (ignored since QEMU 2.4), 13:0 = index.
 *  - DMA (when enabled, ID bit 1): a big-endian 64-bit address register at
 *    @iobase + 4 (0x514..0x51B); a write to its low half (offset 4) starts
 *    the operation on the FWCfgDmaAccess { be32 control; be32 length; be64
 *    address; } at that guest-physical address. Control bits: 0 error,
 *    1 read, 2 skip, 3 select (index in bits 31:16), 4 write. Reads past
 *    the end of an item fill zeros (as QEMU); writes are refused with the
 *    error bit (every item here is read-only, as QEMU's are unless marked).
 *    On completion the control field is written back as 0 (done) or 1
 *    (error). Reading the address register returns "QEMU CFG".
 *    The guest is untrusted: the descriptor and the buffer are accessed only
 *    through gpa_read/gpa_write, an address that is not RAM sets the error
 *    bit (or, if the descriptor itself cannot be read, is logged under
 *    LOG_GUEST_ERRORS and dropped, since there is nowhere to report it).
 *  - files (keys from FW_CFG_FILE_FIRST = 0x20) are kept sorted by name and
 *    renumbered on insertion, as QEMU does, and listed in the file
 *    directory (key 0x19: be32 count, then 64-byte entries { be32 size;
 *    be16 select; be16 reserved; char name[56]; }).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "mmu/mmu.h"
#include "util/log.h"

#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL    0x8000
#define FW_CFG_INDEX_MASK    0x3fff
#define FW_CFG_FILE_FIRST    0x20
#define FW_CFG_MAX_FILES     64
#define FW_CFG_DIR_ENTRY     64

#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10
#define FW_CFG_DMA_ACCESS_LEN 16
#define FW_CFG_DMA_CHUNK      4096

static const uint8_t dma_signature[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

/** One item: a selector key and a private copy of its bytes. */
struct fw_cfg_item {
    uint16_t key;             /* index | FW_CFG_ARCH_LOCAL */
    uint8_t *data;
    uint32_t len;
    char name[FW_CFG_FILE_NAME_MAX];   /* files only, else "" */
};

struct fw_cfg {
    struct guest_mem *mem;
    bool dma_enabled;
    struct fw_cfg_item *items;
    size_t count, capacity;
    int nfiles;
    uint16_t cur_key;
    uint32_t cur_offset;
    uint8_t dma_addr[8];      /* the address register, big-endian byte order */
};

static uint16_t key_norm(uint16_t key)
{
    return key & (FW_CFG_INDEX_MASK | FW_CFG_ARCH_LOCAL);
}

static struct fw_cfg_item *find_item(struct fw_cfg *s, uint16_t key)
{
    key = key_norm(key);
    for (size_t i = 0; i < s->count; i++)
        if (s->items[i].key == key)
            return &s->items[i];
    return NULL;
}

/** Insert or replace the item @key with a copy of @data. 0 or -ENOMEM. */
static int set_item(struct fw_cfg *s, uint16_t key, const void *data, size_t len, const char *name)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, data, len);
    struct fw_cfg_item *it = find_item(s, key);
    if (!it) {
        if (s->count == s->capacity) {
            size_t cap = s->capacity ? s->capacity * 2 : 32;
            struct fw_cfg_item *n = realloc(s->items, cap * sizeof(*n));
            if (!n) {
                free(copy);
                return -ENOMEM;
            }
            s->items = n;
            s->capacity = cap;
        }
        it = &s->items[s->count++];
        it->key = key_norm(key);
    } else {
        free(it->data);
    }
    it->data = copy;
    it->len = (uint32_t)len;
    snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
    return 0;
}

int fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, const void *data, size_t len)
{
    if (!s || (key_norm(key) & FW_CFG_INDEX_MASK) >= FW_CFG_FILE_FIRST ||
        key_norm(key) == FW_CFG_FILE_DIR || len > UINT32_MAX)
        return -EINVAL;
    return set_item(s, key, data, len, NULL);
}

/** Rebuild the file directory (key 0x19) from the file items. */
static int rebuild_dir(struct fw_cfg *s)
{
    size_t len = 4 + (size_t)s->nfiles * FW_CFG_DIR_ENTRY;
    uint8_t *dir = calloc(1, len);
    if (!dir)
        return -ENOMEM;
    dir[0] = (uint8_t)(s->nfiles >> 24);
    dir[1] = (uint8_t)(s->nfiles >> 16);
    dir[2] = (uint8_t)(s->nfiles >> 8);
    dir[3] = (uint8_t)s->nfiles;
    for (int f = 0; f < s->nfiles; f++) {
        const struct fw_cfg_item *it = find_item(s, (uint16_t)(FW_CFG_FILE_FIRST + f));
        uint8_t *e = dir + 4 + (size_t)f * FW_CFG_DIR_ENTRY;
        if (!it)
            continue;
        e[0] = (uint8_t)(it->len >> 24);
        e[1] = (uint8_t)(it->len >> 16);
        e[2] = (uint8_t)(it->len >> 8);
        e[3] = (uint8_t)it->len;
        e[4] = (uint8_t)(it->key >> 8);
        e[5] = (uint8_t)it->key;
        memcpy(e + 8, it->name, strnlen(it->name, FW_CFG_FILE_NAME_MAX - 1));
    }
    int rc = set_item(s, FW_CFG_FILE_DIR, dir, len, NULL);
    free(dir);
    return rc;
}

int fw_cfg_add_file(struct fw_cfg *s, const char *name, const void *data, size_t len)
{
    if (!s || !name || !*name || strlen(name) >= FW_CFG_FILE_NAME_MAX || len > UINT32_MAX)
        return -EINVAL;
    /* File keys 0x20.. in name order: find the slot, shift later files up. */
    int pos = 0;
    for (; pos < s->nfiles; pos++) {
        struct fw_cfg_item *it = find_item(s, (uint16_t)(FW_CFG_FILE_FIRST + pos));
        int c = it ? strcmp(name, it->name) : 1;
        if (c == 0)
            return -EEXIST;
        if (c < 0)
            break;
    }
    if (s->nfiles >= FW_CFG_MAX_FILES)
        return -ENOSPC;
    for (int f = s->nfiles - 1; f >= pos; f--) {
        struct fw_cfg_item *it = find_item(s, (uint16_t)(FW_CFG_FILE_FIRST + f));
        if (it)
            it->key = (uint16_t)(FW_CFG_FILE_FIRST + f + 1);
    }
    int rc = set_item(s, (uint16_t)(FW_CFG_FILE_FIRST + pos), data, len, name);
    if (rc) {
        for (int f = pos; f < s->nfiles; f++) {
            struct fw_cfg_item *it = find_item(s, (uint16_t)(FW_CFG_FILE_FIRST + f + 1));
            if (it)
                it->key = (uint16_t)(FW_CFG_FILE_FIRST + f);
        }
        return rc;
    }
    s->nfiles++;
    return rebuild_dir(s);
}

int fw_cfg_file_key(struct fw_cfg *s, const char *name)
{
    for (int f = 0; s && name && f < s->nfiles; f++) {
        struct fw_cfg_item *it = find_item(s, (uint16_t)(FW_CFG_FILE_FIRST + f));
        if (it && !strcmp(it->name, name))
            return it->key;
    }
    return -ENOENT;
}

/* ---------------------------------------------------------------- traditional interface */

static void select_key(struct fw_cfg *s, uint16_t key)
{
    s->cur_key = key;
    s->cur_offset = 0;
}

static uint8_t read_data_byte(struct fw_cfg *s)
{
    struct fw_cfg_item *it = find_item(s, s->cur_key);
    if (!it || s->cur_offset >= it->len)
        return 0;
    return it->data[s->cur_offset++];
}

static uint64_t ctl_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fw_cfg *s = opaque;
    if (size != 1) {
        qlog(LOG_GUEST_ERRORS, "fw_cfg: %u-byte read of port %#x (the data port is 8-bit)",
             size, (unsigned)(FW_CFG_IO_BASE + offset));
        return 0;
    }
    return read_data_byte(s);
}

static void ctl_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct fw_cfg *s = opaque;
    if (size == 2 && offset == 0) {
        select_key(s, (uint16_t)value);
    } else if (size == 1) {
        /* Data-port writes have been no-ops since QEMU 2.4. */
        qlog(LOG_GUEST_ERRORS, "fw_cfg: data-port write ignored (use the DMA interface)");
    } else {
        qlog(LOG_GUEST_ERRORS, "fw_cfg: %u-byte write at +%u ignored", size, (unsigned)offset);
    }
}

static const struct io_ops ctl_ops = {
    .read = ctl_read, .write = ctl_write, .min_access = 1, .max_access = 2,
};

/* ---------------------------------------------------------------- DMA interface */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/**
 * Run the FWCfgDmaAccess at @desc_gpa (fw_cfg.rst "Guest-side DMA
 * Interface") and write the resulting control word back.
 */
static void dma_run(struct fw_cfg *s, uint64_t desc_gpa)
{
    uint8_t d[FW_CFG_DMA_ACCESS_LEN];
    if (gpa_read(s->mem, desc_gpa, d, sizeof(d))) {
        qlog(LOG_GUEST_ERRORS, "fw_cfg: DMA descriptor at %#llx is not RAM",
             (unsigned long long)desc_gpa);
        return;
    }
    uint32_t control = be32(d);
    uint32_t length = be32(d + 4);
    uint64_t addr = (uint64_t)be32(d + 8) << 32 | be32(d + 12);
    uint32_t result = 0;

    if (control & FW_CFG_DMA_CTL_SELECT)
        select_key(s, (uint16_t)(control >> 16));
    bool read = control & FW_CFG_DMA_CTL_READ;
    bool write = !read && (control & FW_CFG_DMA_CTL_WRITE);
    bool skip = !read && !write && (control & FW_CFG_DMA_CTL_SKIP);

    if (write) {
        qlog(LOG_GUEST_ERRORS, "fw_cfg: DMA write to read-only item %#x", s->cur_key);
        result = FW_CFG_DMA_CTL_ERROR;
    } else if (read || skip) {
        struct fw_cfg_item *it = find_item(s, s->cur_key);
        uint8_t zeros[FW_CFG_DMA_CHUNK];
        memset(zeros, 0, sizeof(zeros));
        while (length > 0) {
            uint32_t avail = it && s->cur_offset < it->len ? it->len - s->cur_offset : 0;
            uint32_t len;
            const uint8_t *src;
            if (avail) {
                len = length < avail ? length : avail;
                src = it->data + s->cur_offset;
            } else {
                len = length < sizeof(zeros) ? length : (uint32_t)sizeof(zeros);
                src = zeros;      /* past the end: zeros, offset stays */
            }
            if (read && gpa_write(s->mem, addr, src, len)) {
                qlog(LOG_GUEST_ERRORS, "fw_cfg: DMA read into %#llx+%u: not RAM",
                     (unsigned long long)addr, len);
                result = FW_CFG_DMA_CTL_ERROR;
                break;
            }
            if (avail)
                s->cur_offset += len;
            addr += len;
            length -= len;
        }
    }
    uint8_t ctl[4] = { (uint8_t)(result >> 24), (uint8_t)(result >> 16), (uint8_t)(result >> 8),
                       (uint8_t)result };
    if (gpa_write(s->mem, desc_gpa, ctl, sizeof(ctl)))
        qlog(LOG_GUEST_ERRORS, "fw_cfg: cannot write the DMA control word back");
}

static uint64_t dma_read(void *opaque, uint64_t offset, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size && offset + i < 8; i++)
        v |= (uint64_t)dma_signature[offset + i] << (8 * i);
    return v;
}

static void dma_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct fw_cfg *s = opaque;
    if (offset >= 8 || size > 8 - offset)
        return;
    /* The register is big-endian: byte k of the access is register byte offset + k. */
    for (unsigned i = 0; i < size; i++)
        s->dma_addr[offset + i] = (uint8_t)(value >> (8 * i));
    if (offset + size != 8)
        return;   /* only a write that ends the low half (offset 4) triggers */
    uint64_t gpa = (uint64_t)be32(s->dma_addr) << 32 | be32(s->dma_addr + 4);
    memset(s->dma_addr, 0, sizeof(s->dma_addr));   /* 0 after an operation */
    dma_run(s, gpa);
}

static const struct io_ops dma_ops = {
    .read = dma_read, .write = dma_write, .min_access = 1, .max_access = 4,
};

/* ---------------------------------------------------------------- creation */

struct fw_cfg *fw_cfg_create(struct bus *bus, struct guest_mem *mem, uint16_t iobase, bool dma)
{
    struct fw_cfg *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->mem = mem;
    s->dma_enabled = dma && mem;
    uint32_t id = 1u | (s->dma_enabled ? 2u : 0u);
    uint8_t idb[4] = { (uint8_t)id, 0, 0, 0 };
    uint8_t dir[4] = { 0, 0, 0, 0 };
    if (set_item(s, FW_CFG_SIGNATURE, "QEMU", 4, NULL) || set_item(s, FW_CFG_ID, idb, 4, NULL) ||
        set_item(s, FW_CFG_FILE_DIR, dir, 4, NULL))
        goto fail;
    const struct io_region ctl = { iobase, 2, &ctl_ops, s, "fw_cfg" };
    if (io_space_add(&bus->pio, &ctl) < 0)
        goto fail;
    if (s->dma_enabled) {
        const struct io_region dr = { (uint64_t)iobase + 4, 8, &dma_ops, s, "fw_cfg-dma" };
        if (io_space_add(&bus->pio, &dr) < 0) {
            io_space_remove(&bus->pio, iobase);
            goto fail;
        }
    }
    return s;

fail:
    for (size_t i = 0; i < s->count; i++)
        free(s->items[i].data);
    free(s->items);
    free(s);
    return NULL;
}
