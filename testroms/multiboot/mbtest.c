/*
 * testroms/multiboot/mbtest.c - a Multiboot v1 test kernel written the way
 * kernels for QEMU are: it trusts only the Multiboot Specification 0.6.96,
 * QEMU's docs/specs/fw_cfg.rst, QEMU's pc-testdev and the 8259A datasheet,
 * and checks what the boot loader and the board hand it against numbers
 * the test script computed on the host and passed on the command line:
 *
 *   ram=BYTES cpus=N mods=N m0=SIZE:CKSUM ... fwfile=NAME fwlen=N fwcrc=CKSUM
 *
 * (CKSUM = POSIX cksum(1) CRC of the bytes). It prints its command line,
 * boot loader name and module strings on COM1 for the script to compare,
 * one "ok N what" / "FAIL N what ..." line per check, and exits through
 * isa-debug-exit (port 0xf4) with 0 if every check passed, else the number
 * of the first failing check. The same kernel runs under QEMU (SeaBIOS +
 * multiboot.bin), which is how tests/system/21-multiboot.t cross-checks it.
 */
#include <stdint.h>

#define COM1 0x3f8

extern void irq5_stub(void);

/* ---------------------------------------------------------------- port I/O, libc bits */

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }

void *memset(void *d, int c, unsigned n)
{
    uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned n)
{
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        ;
    outb(COM1, (uint8_t)c);
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void puthex(uint64_t v)
{
    puts("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        unsigned d = (unsigned)(v >> i) & 15;
        if (d || started || i == 0) {
            putc("0123456789abcdef"[d]);
            started = 1;
        }
    }
}

static void putdec(uint32_t v)
{
    char b[12];
    int n = 0;
    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc(b[--n]);
}

/* ---------------------------------------------------------------- checks */

static uint32_t check_no, first_fail;

static void check(int cond, const char *what, uint64_t got, uint64_t want)
{
    check_no++;
    if (cond) {
        puts("ok ");
        putdec(check_no);
        puts(" ");
        puts(what);
        puts("\n");
        return;
    }
    puts("FAIL ");
    putdec(check_no);
    puts(" ");
    puts(what);
    puts(": got ");
    puthex(got);
    puts(" expected ");
    puthex(want);
    puts("\n");
    if (!first_fail)
        first_fail = check_no;
}

#define CHECK_EQ(what, got, want) do { uint64_t g_ = (got), w_ = (want); check(g_ == w_, what, g_, w_); } while (0)

void unexpected_interrupt(void)
{
    puts("FAIL unexpected interrupt or exception\n");
    outb(0xf4, 122);
}

/* POSIX cksum(1): CRC-32 with polynomial 0x04C11DB7, MSB first, length appended, inverted. */
static uint32_t crc_byte(uint32_t crc, uint8_t b)
{
    crc ^= (uint32_t)b << 24;
    for (int i = 0; i < 8; i++)
        crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    return crc;
}

static uint32_t cksum(const uint8_t *p, uint32_t len)
{
    uint32_t crc = 0;
    for (uint32_t i = 0; i < len; i++)
        crc = crc_byte(crc, p[i]);
    for (uint32_t n = len; n; n >>= 8)
        crc = crc_byte(crc, (uint8_t)n);
    return ~crc;
}

/* ---------------------------------------------------------------- command line */

static const char *cmdline;

/** Parse a decimal or 0x-hex number at *@pp, advancing it. */
static uint64_t parse_num(const char **pp)
{
    const char *q = *pp;
    uint64_t v = 0;
    unsigned base = 10;
    if (q[0] == '0' && q[1] == 'x')
        base = 16, q += 2;
    for (;; q++) {
        unsigned d;
        if (*q >= '0' && *q <= '9')
            d = (unsigned)(*q - '0');
        else if (base == 16 && *q >= 'a' && *q <= 'f')
            d = (unsigned)(*q - 'a' + 10);
        else
            break;
        v = v * base + d;
    }
    *pp = q;
    return v;
}

/** Value of "key=" in the command line (after the kernel path) as a number; @def if absent. */
static uint64_t arg_num(const char *key, uint64_t def)
{
    const char *p = cmdline;
    while (*p && *p != ' ')
        p++;   /* the first word is the kernel path */
    while (*p) {
        while (*p == ' ')
            p++;
        const char *k = key;
        const char *q = p;
        while (*k && *q == *k)
            k++, q++;
        if (!*k && *q == '=') {
            q++;
            uint64_t v = parse_num(&q);
            return v;
        }
        while (*p && *p != ' ')
            p++;
    }
    return def;
}

/** Copy the value of "key=" (up to a space or ':') into @buf; 0 if absent. */
static int arg_str(const char *key, char *buf, int len)
{
    const char *p = cmdline;
    while (*p && *p != ' ')
        p++;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *k = key;
        const char *q = p;
        while (*k && *q == *k)
            k++, q++;
        if (!*k && *q == '=') {
            int n = 0;
            for (q++; *q && *q != ' ' && n + 1 < len; q++)
                buf[n++] = *q;
            buf[n] = 0;
            return 1;
        }
        while (*p && *p != ' ')
            p++;
    }
    return 0;
}

/* ---------------------------------------------------------------- fw_cfg */

#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA  0x514

static void fw_select(uint16_t key) { outw(FW_CFG_SEL, key); }

static void fw_read(void *buf, uint32_t len)
{
    uint8_t *p = buf;
    while (len--)
        *p++ = inb(FW_CFG_DATA);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t bswap32(uint32_t v)
{
    return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

/** fw_cfg.rst "Guest-side DMA Interface": select @key and read @len bytes to @buf. Returns control. */
static uint32_t fw_dma_read(uint16_t key, void *buf, uint32_t len)
{
    static volatile struct { uint32_t control, length; uint32_t addr_hi, addr_lo; } __attribute__((aligned(16))) acc;
    acc.control = bswap32((uint32_t)key << 16 | 0x08 | 0x02);   /* select + read */
    acc.length = bswap32(len);
    acc.addr_hi = 0;
    acc.addr_lo = bswap32((uint32_t)(uintptr_t)buf);
    outl(FW_CFG_DMA, 0);                                       /* high half (big-endian) */
    outl(FW_CFG_DMA + 4, bswap32((uint32_t)(uintptr_t)&acc));  /* low half: go */
    return bswap32(acc.control);
}

/** Find file @name in the directory; returns its key and size, or 0. */
static uint16_t fw_find(const char *name, uint32_t *size)
{
    uint8_t cnt[4];
    fw_select(0x19);
    fw_read(cnt, 4);
    uint32_t n = be32(cnt);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[64];
        fw_read(e, 64);
        e[63] = 0;
        if (streq((const char *)e + 8, name)) {
            *size = be32(e);
            return (uint16_t)(e[4] << 8 | e[5]);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- IRQ */

static volatile uint32_t irq5_count;

void irq5_handler(void)
{
    irq5_count++;
    outb(0x20, 0x20);   /* non-specific EOI (8259A OCW2) */
}

static void pic_remap(void)
{
    /* 8259A ICW1-ICW4: vectors 0x20/0x28, cascade on IRQ2, 8086 mode. */
    outb(0x20, 0x11); outb(0xa0, 0x11);
    outb(0x21, 0x20); outb(0xa1, 0x28);
    outb(0x21, 0x04); outb(0xa1, 0x02);
    outb(0x21, 0x01); outb(0xa1, 0x01);
    outb(0x21, 0xdf);   /* OCW1: only IRQ5 */
    outb(0xa1, 0xff);
}

static void wait_irq(uint32_t want)
{
    for (int i = 0; i < 1000000 && irq5_count < want; i++)
        __asm__ volatile("sti; nop; cli");
}

/* ---------------------------------------------------------------- main */

static uint8_t filebuf[65536];

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};

struct mb_mod { uint32_t start, end, string, reserved; };

uint32_t mb_main(uint32_t magic, const struct mb_info *mbi)
{
    /* COM1: 115200 8N1 (8250: DLAB, divisor 1, 8N1, FIFO off). */
    outb(COM1 + 1, 0); outb(COM1 + 3, 0x80); outb(COM1, 1); outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03); outb(COM1 + 2, 0);
    puts("mbtest: multiboot test kernel\n");

    CHECK_EQ("EAX = 0x2BADB002 at entry (3.2)", magic, 0x2BADB002u);
    uint32_t need = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 6 | 1u << 9;
    CHECK_EQ("info flags: mem, cmdline, mods, mmap, loader name", mbi->flags & need, need);
    if (first_fail)
        return first_fail;
    cmdline = (const char *)(uintptr_t)mbi->cmdline;
    puts("cmdline: ");
    puts(cmdline);
    puts("\nloader: ");
    puts((const char *)(uintptr_t)mbi->boot_loader_name);
    puts("\n");

    /* Memory: mmap well-formed; mem_lower / mem_upper agree with it; RAM adds up to -m. */
    uint64_t ram = arg_num("ram", 0);
    uint64_t low_ram = 0, upper_ram = 0, above_1m = 0, prev_end = 0;
    int sorted = 1, sizes_ok = 1, nmap = 0;
    for (uint32_t off = 0; off < mbi->mmap_length;) {
        const uint8_t *e = (const uint8_t *)(uintptr_t)(mbi->mmap_addr + off);
        uint32_t size = *(const uint32_t *)e;
        uint64_t base = *(const uint64_t *)(e + 4), len = *(const uint64_t *)(e + 12);
        uint32_t type = *(const uint32_t *)(e + 20);
        if (size < 20)
            sizes_ok = 0;
        if (base < prev_end)
            sorted = 0;
        prev_end = base + len;
        if (type == 1 && base == 0)
            low_ram = len;
        if (type == 1 && base == 0x100000)
            upper_ram = len;
        if (type == 1 && base >= 0x100000)
            above_1m += len;
        nmap++;
        off += size + 4;
    }
    check(nmap >= 2 && sizes_ok, "mmap entries have size >= 20", (uint64_t)nmap, 2);
    check(sorted, "mmap sorted, no overlaps", 0, 1);
    CHECK_EQ("mem_lower = KiB of the RAM range at 0 (3.3)", mbi->mem_lower, low_ram >> 10);
    check(mbi->mem_lower >= 512 && mbi->mem_lower <= 640, "mem_lower in 512..640 KiB",
          mbi->mem_lower, 639);
    CHECK_EQ("mem_upper = KiB of the RAM range at 1 MiB (3.3)", mbi->mem_upper, upper_ram >> 10);
    /* Firmware may keep a little for itself (SeaBIOS reserves the top 128 KiB). */
    check(above_1m <= ram - 0x100000 && above_1m + 0x40000 >= ram - 0x100000,
          "mmap RAM above 1 MiB = -m - 1 MiB, less at most 256 KiB", above_1m, ram - 0x100000);

    /* Modules: count, page alignment, length and cksum against the host. */
    uint32_t nmods = (uint32_t)arg_num("mods", 0);
    CHECK_EQ("mods_count", mbi->mods_count, nmods);
    const struct mb_mod *mods = (const struct mb_mod *)(uintptr_t)mbi->mods_addr;
    for (uint32_t i = 0; i < mbi->mods_count && i < nmods && i < 8; i++) {
        char key[3] = { 'm', (char)('0' + i), 0 }, val[40];
        uint64_t want_len = 0, want_crc = 0;
        if (arg_str(key, val, sizeof(val))) {
            const char *q = val;
            want_len = parse_num(&q);
            if (*q == ':')
                q++;
            want_crc = parse_num(&q);
        }
        puts("module: ");
        puts((const char *)(uintptr_t)mods[i].string);
        puts("\n");
        CHECK_EQ("module start page-aligned", mods[i].start & 0xfff, 0);
        CHECK_EQ("module length", mods[i].end - mods[i].start, want_len);
        CHECK_EQ("module cksum", cksum((const uint8_t *)(uintptr_t)mods[i].start,
                                        mods[i].end - mods[i].start), want_crc);
        check(mods[i].start >= 0x100000, "module above 1 MiB", mods[i].start, 0x100000);
    }

    /* Firmware state (SeaBIOS pit_setup): 8254 read-back status of channel 0 =
     * lobyte/hibyte, mode 2, binary (datasheet "Read-Back Command"). */
    outb(0x43, 0xe2);
    CHECK_EQ("PIT channel 0 programmed by the firmware (mode 2, 16-bit)", inb(0x40) & 0x3f, 0x34);

    /* fw_cfg (docs/specs/fw_cfg.rst). */
    uint8_t sig[4];
    fw_select(0x0000);
    fw_read(sig, 4);
    CHECK_EQ("fw_cfg signature QEMU", *(uint32_t *)sig, 0x554d4551u);
    uint32_t id;
    fw_select(0x0001);
    fw_read(&id, 4);
    CHECK_EQ("fw_cfg ID: traditional interface", id & 1, 1);
    uint16_t ncpu;
    fw_select(0x0005);
    fw_read(&ncpu, 2);
    CHECK_EQ("fw_cfg NB_CPUS", ncpu, arg_num("cpus", 1));
    uint64_t ramsz;
    fw_select(0x0003);
    fw_read(&ramsz, 8);
    CHECK_EQ("fw_cfg RAM_SIZE", ramsz, ram);
    uint32_t e820_size = 0;
    uint16_t e820_key = fw_find("etc/e820", &e820_size);
    check(e820_key >= 0x20, "fw_cfg file etc/e820 listed", e820_key, 0x20);
    CHECK_EQ("etc/e820 size is a multiple of 20", e820_size % 20, 0);
    if (e820_key && e820_size <= sizeof(filebuf)) {
        fw_select(e820_key);
        fw_read(filebuf, e820_size);
        uint64_t fw_ram = 0;
        for (uint32_t o = 0; o + 20 <= e820_size; o += 20)
            if (*(uint32_t *)(filebuf + o + 16) == 1)
                fw_ram += *(uint64_t *)(filebuf + o + 8);
        check(fw_ram <= ram && fw_ram + 0x100000 >= ram, "etc/e820 RAM within 1 MiB of -m",
              fw_ram, ram);
    }
    char fwname[56];
    if (arg_str("fwfile", fwname, sizeof(fwname))) {
        uint32_t fsize = 0;
        uint16_t fkey = fw_find(fwname, &fsize);
        check(fkey >= 0x20, "fw_cfg file from -fw_cfg listed", fkey, 0x20);
        CHECK_EQ("its size", fsize, arg_num("fwlen", 0));
        if (fkey && fsize <= sizeof(filebuf)) {
            memset(filebuf, 0xAA, fsize + 16);
            if (id & 2) {
                CHECK_EQ("DMA address register reads \"QEMU\"", inl(FW_CFG_DMA), 0x554d4551u);
                CHECK_EQ("... and \" CFG\"", inl(FW_CFG_DMA + 4), 0x47464320u);
                CHECK_EQ("fw_cfg DMA read: control 0 (done)", fw_dma_read(fkey, filebuf, fsize + 16), 0);
                uint32_t zeros = 0;
                for (int i = 0; i < 16; i++)
                    zeros += filebuf[fsize + i] == 0;
                CHECK_EQ("DMA read past the end fills zeros", zeros, 16);
            } else {
                fw_select(fkey);
                fw_read(filebuf, fsize);
            }
            CHECK_EQ("its cksum", cksum(filebuf, fsize), arg_num("fwcrc", 0));
        }
    }

    /* pc-testdev (QEMU hw/misc/pc-testdev.c). */
    if (arg_num("testdev", 0)) {
        outl(0xe0, 0x12345678);
        CHECK_EQ("pc-testdev 0xe0 reads back", inl(0xe0), 0x12345678);
        outb(0xe1, 0xab);
        CHECK_EQ("byte write merges into the register", inl(0xe0), 0x1234ab78);
        CHECK_EQ("16-bit read of the upper half", inw(0xe2), 0x1234);
        outl(0xe8, 0xcafebabe);
        CHECK_EQ("0xe8 (byte-wise) is the same register", inl(0xe0), 0xcafebabe);
        CHECK_EQ("byte read at 0xeb", inb(0xeb), 0xca);
        volatile uint32_t *iomem = (volatile uint32_t *)0xff000000u;
        iomem[0x40] = 0xdeadbeef;
        ((volatile uint8_t *)iomem)[0x101] = 0x11;
        CHECK_EQ("iomem at 0xff000000 reads back", iomem[0x40], 0xdead11ef);

        pic_remap();
        outb(0x2005, 1);
        wait_irq(1);
        CHECK_EQ("IRQ5 raised through port 0x2005 arrives at vector 0x25", irq5_count, 1);
        outb(0x2005, 0);
        wait_irq(2);
        CHECK_EQ("no interrupt when the line falls (edge-triggered)", irq5_count, 1);
        outb(0x2005, 1);
        wait_irq(2);
        CHECK_EQ("a new rising edge interrupts again", irq5_count, 2);
        outb(0x2005, 0);
    }

    puts(first_fail ? "DONE: failed\n" : "DONE: all checks passed\n");
    return first_fail;
}
