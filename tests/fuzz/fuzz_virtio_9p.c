/*
 * tests/fuzz/fuzz_virtio_9p.c - libFuzzer target for the virtio 9P
 * transport (devices/virtio_9p.c) and the 9P2000.L server behind it
 * (devices/p9.c), exporting a scratch directory the target creates under
 * /tmp (mapped-xattr security model, as a guest mount would use). The
 * input is a driver program (tests/fuzz/virtio_fuzz.h) on the request queue:
 * each chain carries T-messages in its readable buffers and room for the
 * R-message in its writable ones.
 *
 * Confinement: p9.c resolves every path below the export root (openat2
 * RESOLVE_BENEATH or its equivalent); the target checks after each input
 * that nothing appeared next to the scratch directory (a sibling sentinel
 * directory stays empty) and that the sentinel file outside the export is
 * unchanged, aborting otherwise. The export is emptied now and then so the
 * fuzzer cannot fill /tmp.
 * Seeds: tests/fuzz/regress/fuzz_virtio_9p (tests/fuzz/mkseeds.py).
 *
 * Build and run: `make fuzz` (MODE=fuzz), or after `make MODE=fuzz fuzz-build`
 *   build/fuzz/fuzz/fuzz_virtio_9p -max_total_time=60 tests/fuzz/regress/fuzz_virtio_9p
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/virtio_fuzz.h"

static struct vfuzz_driver drv;
static char top[] = "/tmp/qtemu-fuzz-9p-XXXXXX";   /* holds export/ and outside/ */
static char export_dir[64], outside_dir[64];
static unsigned runs;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (ftw->level == 0)
        return 0;               /* keep the export root itself */
    chmod(path, 0700);
    remove(path);
    return 0;
}

static void empty_export(void)
{
    nftw(export_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
    empty_export();
    rmdir(export_dir);
    unlink(outside_dir);
    char f[96];
    snprintf(f, sizeof(f), "%s/sentinel", outside_dir);
    unlink(f);
    rmdir(outside_dir);
    rmdir(top);
}

/* The directory outside the export must still hold exactly the sentinel. */
static void check_confined(void)
{
    DIR *dir = opendir(outside_dir);
    if (!dir)
        abort();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(dir);
    DIR *t = opendir(top);
    int m = 0;
    while (t && (e = readdir(t)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            m++;
    if (t)
        closedir(t);
    if (n != 1 || m != 2) {
        fprintf(stderr, "fuzz_virtio_9p: the server wrote outside its export\n");
        abort();
    }
}

static void setup(void)
{
    if (!mkdtemp(top))
        abort();
    snprintf(export_dir, sizeof(export_dir), "%s/export", top);
    snprintf(outside_dir, sizeof(outside_dir), "%s/outside", top);
    char f[96];
    snprintf(f, sizeof(f), "%s/sentinel", outside_dir);
    if (mkdir(export_dir, 0700) || mkdir(outside_dir, 0700))
        abort();
    int fd = open(f, O_CREAT | O_WRONLY, 0600);
    if (fd < 0)
        abort();
    close(fd);
    atexit(cleanup);
    char err[256];
    vfuzz_ram_init();
    drv.vdev = virtio_9p_create(&vfuzz_mem, export_dir, "mapped-xattr", "fuzz", false,
                                err, sizeof(err));
    if (!drv.vdev) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!drv.vdev)
        setup();
    vfuzz_run(&drv, data, size);
    /* Each input starts from a fresh session (reset clunks every fid). */
    virtio_reset(drv.vdev);
    check_confined();
    if (++runs % 256 == 0)
        empty_export();
    return 0;
}
