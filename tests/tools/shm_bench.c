/*
 * tests/tools/shm_bench.c - how fast another process reads guest RAM through
 * a memory-backend-file mapping (DESIGN: "another process can read guest RAM
 * zero-copy"), next to a plain host memcpy of the same size in the same run.
 *
 * usage: shm_bench MEM_FILE [MIB] [ROUNDS]
 * Maps MEM_FILE read-only (MAP_SHARED), copies MIB (default 64) MiB from it
 * ROUNDS (default 9) times and the same amount between two host buffers,
 * and prints the medians and their ratio. Exit 1 on a bad argument or I/O
 * error.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MEM_FILE [MIB] [ROUNDS]\n", argv[0]);
        return 1;
    }
    size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 64;
    int rounds = argc > 3 ? atoi(argv[3]) : 9;
    if (mib == 0 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "bad size or rounds\n");
        return 1;
    }
    size_t len = mib << 20;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size < len) {
        fprintf(stderr, "%s: cannot open or smaller than %zu MiB\n", argv[1], mib);
        return 1;
    }
    const uint8_t *guest = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    uint8_t *dst = malloc(len), *src = malloc(len);
    if (guest == MAP_FAILED || !dst || !src) {
        fprintf(stderr, "mmap/malloc failed\n");
        return 1;
    }
    memset(src, 0x5a, len);
    memset(dst, 0, len);
    double *tg = calloc((size_t)rounds, sizeof(double)), *th = calloc((size_t)rounds, sizeof(double));
    uint64_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        memcpy(dst, guest, len);
        double t1 = now_s();
        sum += dst[r * 4096 % len];
        memcpy(dst, src, len);
        double t2 = now_s();
        sum += dst[r * 4096 % len];
        tg[r] = t1 - t0;
        th[r] = t2 - t1;
    }
    double mg = median(tg, rounds), mh = median(th, rounds);
    printf("shared guest RAM read: %zu MiB median %.2f ms (%.0f MiB/s)\n", mib, mg * 1e3, (double)mib / mg);
    printf("host memcpy:           %zu MiB median %.2f ms (%.0f MiB/s)\n", mib, mh * 1e3, (double)mib / mh);
    printf("ratio guest-read/host-memcpy: %.2f (checksum %llu)\n", mg / mh, (unsigned long long)sum);
    return 0;
}
