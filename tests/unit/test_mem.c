/*
 * tests/unit/test_mem.c - mmu/mem.c: guest RAM layout, checked gpa access,
 * code-page tracking.
 *
 * Oracles: the contract in mmu/mmu.h (PC layout: [0, min(ram, low_limit))
 * and the rest at 4 GiB; gpa_* fail with -EFAULT / NULL and copy nothing on
 * any byte outside RAM; the code_write hook fires for written code pages) and
 * the bytes we put in ourselves.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmu/mmu.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static struct guest_mem mem;

static void teardown(void)
{
    guest_mem_destroy(&mem);
}

Test(mem, pc_layout_splits_at_low_limit, .fini = teardown)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 8 * MiB, 6 * MiB, NULL), 0);
    cr_assert_eq(mem.nslots, 2);
    cr_assert_eq(mem.slots[0].gpa, 0);
    cr_assert_eq(mem.slots[0].size_bytes, 6 * MiB);
    cr_assert_eq(mem.slots[1].gpa, 4 * GiB);
    cr_assert_eq(mem.slots[1].size_bytes, 2 * MiB);
    cr_assert_not_null(gpa_map(&mem, 6 * MiB - 1, 1));
    cr_assert_null(gpa_map(&mem, 6 * MiB, 1), "gap between low RAM and 4 GiB");
    cr_assert_not_null(gpa_map(&mem, 4 * GiB + 2 * MiB - 1, 1));
    cr_assert_null(gpa_map(&mem, 4 * GiB + 2 * MiB, 1));
    /* Both slots are one host mapping: slot 1 follows slot 0's bytes. */
    cr_assert_eq(mem.slots[1].host, mem.slots[0].host + 6 * MiB);
}

Test(mem, small_ram_is_one_slot, .fini = teardown)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 4 * MiB, 3 * GiB, NULL), 0);
    cr_assert_eq(mem.nslots, 1);
    cr_assert_eq(mem.slots[0].size_bytes, 4 * MiB);
}

Test(mem, bad_sizes_fail_cleanly)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 0, 3 * GiB, NULL), -EINVAL);
    cr_assert_eq(guest_mem_init_pc(&mem, UINT64_MAX, 3 * GiB, NULL), -EINVAL);
    guest_mem_destroy(&mem);   /* safe after a failed init */
}

Test(mem, read_write_bounds, .fini = teardown)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 1 * MiB, 3 * GiB, NULL), 0);
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];

    /* The last byte of RAM is writable and readable. */
    cr_assert_eq(gpa_write(&mem, MiB - 1, buf, 1), 0);
    cr_assert_eq(gpa_read(&mem, MiB - 1, out, 1), 0);
    cr_assert_eq(out[0], 1);
    cr_assert_eq(mem.slots[0].host[MiB - 1], 1);

    /* A range crossing the end fails and writes nothing. */
    memset(mem.slots[0].host + MiB - 4, 0xaa, 4);
    cr_assert_eq(gpa_write(&mem, MiB - 4, buf, 8), -EFAULT);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(mem.slots[0].host[MiB - 4 + i], 0xaa, "partial write at byte %d", i);
    memset(out, 0x55, sizeof out);
    cr_assert_eq(gpa_read(&mem, MiB - 4, out, 8), -EFAULT);
    cr_assert_eq(out[0], 0x55, "failed read copied bytes");
    cr_assert_null(gpa_map(&mem, MiB - 4, 8));
    cr_assert_not_null(gpa_map(&mem, MiB - 8, 8));

    /* Ranges that wrap past 2^64 never alias low RAM. */
    cr_assert_eq(gpa_read(&mem, UINT64_MAX, out, 2), -EFAULT);
    cr_assert_eq(gpa_write(&mem, UINT64_MAX - 3, buf, 8), -EFAULT);
    cr_assert_eq(mem.slots[0].host[0], 0, "wrapped write reached gpa 0");
    cr_assert_null(gpa_map(&mem, UINT64_MAX, 2));
    cr_assert_null(gpa_map(&mem, 0x10, UINT64_MAX));

    /* Zero-length accesses inside RAM succeed. */
    cr_assert_eq(gpa_read(&mem, 0, out, 0), 0);
}

Test(mem, access_across_contiguous_slots, .fini = teardown)
{
    /* low_limit = 4 GiB with 4 GiB + 4 KiB of RAM: slots touch at 4 GiB. */
    cr_assert_eq(guest_mem_init_pc(&mem, 4 * GiB + 4096, 4 * GiB, NULL), 0);
    cr_assert_eq(mem.nslots, 2);
    uint8_t buf[4] = {9, 8, 7, 6}, out[4] = {0};
    cr_assert_eq(gpa_write(&mem, 4 * GiB - 2, buf, 4), 0);
    cr_assert_eq(gpa_read(&mem, 4 * GiB - 2, out, 4), 0);
    cr_assert_arr_eq(out, buf, 4);
    cr_assert_null(gpa_map(&mem, 4 * GiB - 2, 4), "gpa_map never crosses slots");
}

struct hook_log {
    gpa_t pages[8];
    int n;
};

static void hook(void *opaque, gpa_t page)
{
    struct hook_log *l = opaque;
    if (l->n < 8)
        l->pages[l->n] = page;
    l->n++;
}

Test(mem, code_write_hook, .fini = teardown)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 1 * MiB, 3 * GiB, NULL), 0);
    struct hook_log log = {0};
    mem.code_write = hook;
    mem.code_write_opaque = &log;

    cr_assert(gpa_mark_code(&mem, 0x3123));
    cr_assert(gpa_is_code(&mem, 0x3000));
    cr_assert(!gpa_is_code(&mem, 0x4000));
    cr_assert(!gpa_mark_code(&mem, 2 * MiB), "not RAM");

    uint8_t buf[16] = {0};
    cr_assert_eq(gpa_write(&mem, 0x2000, buf, 16), 0);
    cr_assert_eq(log.n, 0, "write to a data page fired the hook");

    /* A write that crosses from page 2 into page 3 fires once, for page 3. */
    cr_assert_eq(gpa_write(&mem, 0x2ffc, buf, 8), 0);
    cr_assert_eq(log.n, 1);
    cr_assert_eq(log.pages[0], 0x3000);
    cr_assert(!gpa_is_code(&mem, 0x3000), "bit cleared before the hook");

    /* Not code any more: no second call. */
    cr_assert_eq(gpa_write(&mem, 0x3000, buf, 1), 0);
    cr_assert_eq(log.n, 1);

    /* gpa_note_write covers writes made through gpa_map. */
    gpa_mark_code(&mem, 0x5000);
    gpa_mark_code(&mem, 0x6000);
    gpa_note_write(&mem, 0x5800, 0x1000);
    cr_assert_eq(log.n, 3);
    cr_assert_eq(log.pages[1], 0x5000);
    cr_assert_eq(log.pages[2], 0x6000);

    /* The data still lands. */
    uint8_t v = 0x5a;
    gpa_mark_code(&mem, 0x7000);
    cr_assert_eq(gpa_write(&mem, 0x7001, &v, 1), 0);
    cr_assert_eq(mem.slots[0].host[0x7001], 0x5a);
    cr_assert_eq(log.n, 4);
}

Test(mem, file_backed_ram_is_shared)
{
    char path[] = "/tmp/qtemu-test-mem-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(guest_mem_init_pc(&mem, 2 * MiB, 1 * MiB, path), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((uint64_t)st.st_size, 2 * MiB, "file truncated to the RAM size");
    uint32_t v = 0xdeadbeef;
    cr_assert_eq(gpa_write(&mem, 4 * GiB + 16, &v, 4), 0);   /* slot 1 = file offset 1 MiB */
    guest_mem_destroy(&mem);

    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    uint32_t got = 0;
    fseek(f, (long)(MiB + 16), SEEK_SET);
    cr_assert_eq(fread(&got, 4, 1, f), 1);
    fclose(f);
    unlink(path);
    cr_assert_eq(got, 0xdeadbeef, "store reached the backing file");
}

Test(mem, bad_mem_path_is_an_error)
{
    cr_assert_eq(guest_mem_init_pc(&mem, 2 * MiB, 1 * MiB, "/nonexistent-dir/x"), -ENOENT);
}
