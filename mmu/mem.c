/*
 * mmu/mem.c - guest RAM: the host mapping, checked guest-physical access for
 * devices/loaders (gpa_map, gpa_read, gpa_write) and the code-page bitmap.
 *
 * Layout (PC, like QEMU's pc machine): slot 0 is [0, min(ram, low_limit)),
 * slot 1 holds the rest of RAM from 4 GiB up. Both slots live in ONE host
 * mapping (anonymous, MAP_NORESERVE, 2 MiB aligned so transparent huge pages
 * can back it, DESIGN "Guest memory"), or a MAP_SHARED mapping of a file for
 * memory-backend-file,share=on.
 *
 * Decided:
 *  - ram_bytes is rounded up and low_limit down to 4 KiB pages, so every slot
 *    boundary is page aligned (a TLB entry never spans two slots).
 *  - Accesses that span two slots are allowed when the slots are contiguous in
 *    guest-physical space (slot 0 ending exactly at 4 GiB); otherwise the gap
 *    makes them fail with -EFAULT.
 *  - Code tracking: gpa_note_write()/gpa_write() clear a page's code bit and
 *    then call the code_write hook once per page (so the hook runs once per
 *    "became code" -> "was written" transition). The CPU re-marks the page
 *    when it decodes from it again (x86_fetch_code).
 *  - All range checks are overflow-safe: a range whose end wraps past 2^64 is
 *    never RAM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mmu/mmu.h"

#define HUGE_ALIGN (2ull << 20)   /* THP size on x86-64 hosts */
#define GPA_4G     (1ull << 32)

static uint64_t round_up_page(uint64_t v)
{
    return (v + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
}

/* Map @bytes of anonymous memory aligned to HUGE_ALIGN. NULL on failure. */
static uint8_t *map_anon_aligned(uint64_t bytes)
{
    uint64_t len = bytes + HUGE_ALIGN;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)p + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1);
    uint64_t head = start - (uintptr_t)p;
    if (head)
        munmap(p, head);
    uint64_t tail = len - head - bytes;
    if (tail)
        munmap((uint8_t *)start + bytes, tail);
    return (uint8_t *)start;
}

static int add_slot(struct guest_mem *mem, gpa_t gpa, uint64_t size, uint8_t *host)
{
    if (!size)
        return 0;
    if (mem->nslots >= GUEST_MEM_MAX_SLOTS)
        return -ENOSPC;
    uint64_t pages = size >> GUEST_PAGE_SHIFT;
    uint8_t *bm = calloc((pages + 7) / 8, 1);
    if (!bm)
        return -ENOMEM;
    struct mem_slot *s = &mem->slots[mem->nslots++];
    s->gpa = gpa;
    s->size_bytes = size;
    s->host = host;
    s->code_bitmap = bm;
    return 0;
}

int guest_mem_init_pc(struct guest_mem *mem, uint64_t ram_bytes, uint64_t low_limit,
                      const char *mem_path)
{
    memset(mem, 0, sizeof(*mem));
    mem->backing_fd = -1;
    if (!ram_bytes || !low_limit)
        return -EINVAL;
    /* Slot 1 starts at 4 GiB: RAM beyond 2^64 - 4 GiB cannot be placed. */
    if (ram_bytes > (UINT64_MAX - GPA_4G) / 2)
        return -EINVAL;
    ram_bytes = round_up_page(ram_bytes);
    low_limit &= GUEST_PAGE_MASK;
    if (low_limit > GPA_4G)
        low_limit = GPA_4G;
    if (!low_limit)
        return -EINVAL;
    if ((uint64_t)(size_t)ram_bytes != ram_bytes)
        return -ENOMEM;

    uint8_t *host;
    if (mem_path) {
        int fd = open(mem_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return -errno;
        if (ftruncate(fd, (off_t)ram_bytes) < 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        host = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (host == MAP_FAILED) {
            int e = -errno;
            close(fd);
            return e;
        }
        mem->backing_fd = fd;
    } else {
        host = map_anon_aligned(ram_bytes);
        if (!host)
            return -ENOMEM;
    }
    /* Best effort: THP may be disabled on the host (or unsupported for files). */
    (void)madvise(host, ram_bytes, MADV_HUGEPAGE);
    mem->backing = host;
    mem->backing_bytes = ram_bytes;

    uint64_t low = MIN(ram_bytes, low_limit);
    int err = add_slot(mem, 0, low, host);
    if (!err)
        err = add_slot(mem, GPA_4G, ram_bytes - low, host + low);
    if (err) {
        guest_mem_destroy(mem);
        return err;
    }
    return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
    for (int i = 0; i < mem->nslots; i++)
        free(mem->slots[i].code_bitmap);
    if (mem->backing)
        munmap(mem->backing, mem->backing_bytes);
    if (mem->backing_fd >= 0)
        close(mem->backing_fd);
    memset(mem, 0, sizeof(*mem));
    mem->backing_fd = -1;
}

uint8_t *gpa_map(struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    struct mem_slot *s = guest_mem_slot(mem, gpa);
    if (!s)
        return NULL;
    uint64_t off = gpa - s->gpa;
    if (len > s->size_bytes - off)
        return NULL;
    return s->host + off;
}

/*
 * Walk [gpa, gpa + len) slot by slot. With @buf == NULL only checks that the
 * whole range is RAM. Returns 0 or -EFAULT.
 */
static int range_copy(struct guest_mem *mem, gpa_t gpa, uint8_t *buf, uint64_t len, bool to_guest)
{
    while (len) {
        struct mem_slot *s = guest_mem_slot(mem, gpa);
        if (!s)
            return -EFAULT;
        uint64_t off = gpa - s->gpa;
        uint64_t chunk = MIN(len, s->size_bytes - off);
        if (buf) {
            if (to_guest)
                memcpy(s->host + off, buf, chunk);
            else
                memcpy(buf, s->host + off, chunk);
            buf += chunk;
        }
        len -= chunk;
        gpa += chunk;   /* may wrap to 0 only when len is now 0 */
        if (len && gpa == 0)
            return -EFAULT;
    }
    return 0;
}

static bool range_valid(struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    if (len && gpa + (len - 1) < gpa)
        return false;   /* wraps past 2^64 */
    return range_copy(mem, gpa, NULL, len, false) == 0;
}

int gpa_read(struct guest_mem *mem, gpa_t gpa, void *buf, uint64_t len)
{
    if (!range_valid(mem, gpa, len))
        return -EFAULT;
    return range_copy(mem, gpa, buf, len, false);
}

int gpa_write(struct guest_mem *mem, gpa_t gpa, const void *buf, uint64_t len)
{
    if (!range_valid(mem, gpa, len))
        return -EFAULT;
    range_copy(mem, gpa, (uint8_t *)buf, len, true);
    gpa_note_write(mem, gpa, len);
    return 0;
}

void gpa_note_write(struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
    if (!len)
        return;
    gpa_t first = gpa & GUEST_PAGE_MASK;
    gpa_t last = (len - 1 > UINT64_MAX - gpa) ? GUEST_PAGE_MASK : ((gpa + len - 1) & GUEST_PAGE_MASK);
    for (gpa_t page = first;; page += GUEST_PAGE_SIZE) {
        struct mem_slot *s = guest_mem_slot(mem, page);
        if (s) {
            uint64_t pfn = (page - s->gpa) >> GUEST_PAGE_SHIFT;
            uint8_t bit = (uint8_t)(1u << (pfn & 7));
            if (unlikely(s->code_bitmap[pfn >> 3] & bit)) {
                s->code_bitmap[pfn >> 3] &= (uint8_t)~bit;
                if (mem->code_write)
                    mem->code_write(mem->code_write_opaque, page);
            }
        }
        if (page == last)
            break;
    }
}

bool gpa_mark_code(struct guest_mem *mem, gpa_t gpa)
{
    struct mem_slot *s = guest_mem_slot(mem, gpa);
    if (!s)
        return false;
    uint64_t pfn = (gpa - s->gpa) >> GUEST_PAGE_SHIFT;
    s->code_bitmap[pfn >> 3] |= (uint8_t)(1u << (pfn & 7));
    return true;
}
