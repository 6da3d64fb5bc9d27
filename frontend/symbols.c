/*
 * frontend/symbols.c - guest symbols for the debugger: "break SYMBOL" and
 * symbol+offset in disassembly and stop reports.
 *
 * Sources:
 *  - an ELF file (ELF-64 or ELF-32, little-endian) with a SHT_SYMTAB section
 *    (System V gABI "Symbol Table"): a Linux vmlinux, a test ROM. Section,
 *    file and undefined symbols are skipped; functions, objects and untyped
 *    labels are kept. Every offset and size read from the file is checked
 *    against the file's length before use;
 *  - a System.map (the format of scripts/mksysmap / `nm -n`): lines
 *    "HEXADDR TYPE NAME"; lines that do not parse are skipped. Debian's
 *    linux-image packages ship a stub System.map whose only line is
 *    "ffffffffffffffff B The real System.map is in the linux-image-<ver>-dbg
 *    package": it parses to no usable symbol and is reported as such.
 *
 * Decided: the table is sorted by address; describe() picks the last symbol
 * at or below the address (preferring global over local, then functions, on
 * ties) and refuses when the symbol has a size the address lies beyond, or
 * when the distance exceeds 1 MiB (a sizeless label far away says nothing).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/monitor.h"

#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define SHT_SYMTAB 2
#define STT_NOTYPE 0
#define STT_OBJECT 1
#define STT_FUNC 2
#define STT_SECTION 3
#define STT_FILE 4
#define STB_LOCAL 0
#define SHN_UNDEF 0
#define SHN_ABS 0xfff1

#define DESCRIBE_MAX_DISTANCE (1ull << 20)

struct sym {
    uint64_t addr;
    uint64_t size;     /* 0 if unknown */
    char *name;
    uint8_t rank;      /* tie-break: higher wins (global function > global > local) */
};

static struct {
    struct sym *v;
    size_t n, cap;
} tab;

void symbols_clear(void)
{
    for (size_t i = 0; i < tab.n; i++)
        free(tab.v[i].name);
    free(tab.v);
    tab.v = NULL;
    tab.n = tab.cap = 0;
}

static int add_sym(uint64_t addr, uint64_t size, const char *name, size_t name_len, uint8_t rank)
{
    if (tab.n == tab.cap) {
        size_t cap = tab.cap ? tab.cap * 2 : 1024;
        struct sym *v = realloc(tab.v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        tab.v = v;
        tab.cap = cap;
    }
    char *s = strndup(name, name_len);
    if (!s)
        return -ENOMEM;
    tab.v[tab.n++] = (struct sym){ addr, size, s, rank };
    return 0;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (int)y->rank - (int)x->rank;   /* best first among equal addresses */
}

static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Load the SHT_SYMTAB of an ELF image (gABI ch. 4). 0 or -1 with @err. */
static int load_elf(const uint8_t *f, size_t len, char *err, size_t err_len)
{
    if (len < 52 || f[EI_DATA] != ELFDATA2LSB ||
        (f[EI_CLASS] != ELFCLASS32 && f[EI_CLASS] != ELFCLASS64)) {
        snprintf(err, err_len, "not a little-endian ELF32/ELF64 file");
        return -1;
    }
    bool is64 = f[EI_CLASS] == ELFCLASS64;
    if (is64 && len < 64) {
        snprintf(err, err_len, "truncated ELF header");
        return -1;
    }
    uint64_t shoff = is64 ? rd(f + 0x28, 8) : rd(f + 0x20, 4);
    unsigned shentsize = (unsigned)rd(f + (is64 ? 0x3a : 0x2e), 2);
    unsigned shnum = (unsigned)rd(f + (is64 ? 0x3c : 0x30), 2);
    if (shentsize < (is64 ? 64u : 40u) || shoff > len || (uint64_t)shnum * shentsize > len - shoff) {
        snprintf(err, err_len, "bad or truncated ELF section header table");
        return -1;
    }
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *sh = f + shoff + (uint64_t)i * shentsize;
        if (rd(sh + 4, 4) != SHT_SYMTAB)
            continue;
        uint64_t off = is64 ? rd(sh + 0x18, 8) : rd(sh + 0x10, 4);
        uint64_t size = is64 ? rd(sh + 0x20, 8) : rd(sh + 0x14, 4);
        unsigned link = (unsigned)rd(sh + (is64 ? 0x28 : 0x18), 4);
        uint64_t entsize = is64 ? rd(sh + 0x38, 8) : rd(sh + 0x24, 4);
        if (entsize < (is64 ? 24u : 16u) || off > len || size > len - off || link >= shnum) {
            snprintf(err, err_len, "bad .symtab section header");
            return -1;
        }
        const uint8_t *strsh = f + shoff + (uint64_t)link * shentsize;
        uint64_t stroff = is64 ? rd(strsh + 0x18, 8) : rd(strsh + 0x10, 4);
        uint64_t strsize = is64 ? rd(strsh + 0x20, 8) : rd(strsh + 0x14, 4);
        if (stroff > len || strsize > len - stroff) {
            snprintf(err, err_len, "bad string table for .symtab");
            return -1;
        }
        const char *strtab = (const char *)f + stroff;
        for (uint64_t e = 0; e + entsize <= size; e += entsize) {
            const uint8_t *s = f + off + e;
            uint32_t name = (uint32_t)rd(s, 4);
            uint8_t info = is64 ? s[4] : s[12];
            uint16_t shndx = (uint16_t)rd(s + (is64 ? 6 : 14), 2);
            uint64_t value = is64 ? rd(s + 8, 8) : rd(s + 4, 4);
            uint64_t ssize = is64 ? rd(s + 16, 8) : rd(s + 8, 4);
            unsigned type = info & 0xf, bind = info >> 4;
            if (type != STT_NOTYPE && type != STT_OBJECT && type != STT_FUNC)
                continue;
            if (shndx == SHN_UNDEF || name == 0 || name >= strsize)
                continue;
            size_t nlen = strnlen(strtab + name, strsize - name);
            if (nlen == 0 || nlen == strsize - name)
                continue;   /* empty or not NUL-terminated inside the table */
            (void)SHN_ABS;
            uint8_t rank = (uint8_t)((bind != STB_LOCAL) * 2 + (type == STT_FUNC));
            if (add_sym(value, ssize, strtab + name, nlen, rank)) {
                snprintf(err, err_len, "out of memory");
                return -1;
            }
        }
        return 0;
    }
    snprintf(err, err_len, "ELF file has no .symtab (stripped?)");
    return -1;
}

/* Load a System.map: "HEXADDR TYPE NAME" per line. */
static int load_map(const char *text, size_t len, char *err, size_t err_len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char line[512];
        size_t ll = MIN((size_t)(le - p), sizeof(line) - 1);
        memcpy(line, p, ll);
        line[ll] = 0;
        p = nl ? nl + 1 : end;

        char *q;
        errno = 0;
        uint64_t addr = strtoull(line, &q, 16);
        if (q == line || errno || *q != ' ')
            continue;
        q++;
        char type = *q;
        if (!type || q[1] != ' ')
            continue;
        const char *name = q + 2;
        size_t nlen = strcspn(name, " \t\r");
        if (!nlen || name[nlen])
            continue;   /* "The real System.map is in ..." has spaces: not a symbol */
        if (type == 'U' || type == 'w' || type == 'a' || type == 'A' || addr == UINT64_MAX)
            continue;
        uint8_t rank = (uint8_t)((type >= 'A' && type <= 'Z') * 2 + (type == 'T' || type == 't'));
        if (add_sym(addr, 0, name, nlen, rank)) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
    }
    return 0;
}

int symbols_load(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (1u << 20);
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, err_len, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);

    symbols_clear();
    char why[160] = "";
    int rc;
    if (len >= 4 && !memcmp(buf, "\x7f" "ELF", 4))
        rc = load_elf(buf, len, why, sizeof(why));
    else
        rc = load_map((const char *)buf, len, why, sizeof(why));
    free(buf);
    if (rc == 0 && tab.n == 0) {
        snprintf(why, sizeof(why), "no symbols found (a stub System.map? Debian's real one is in "
                                   "linux-image-<version>-dbg)");
        rc = -1;
    }
    if (rc) {
        symbols_clear();
        snprintf(err, err_len, "%s: %s", path, why);
        return -1;
    }
    qsort(tab.v, tab.n, sizeof(tab.v[0]), sym_cmp);
    return (int)MIN(tab.n, (size_t)INT32_MAX);
}

bool symbols_lookup(const char *name, uint64_t *addr)
{
    const struct sym *best = NULL;
    for (size_t i = 0; i < tab.n; i++)
        if (!strcmp(tab.v[i].name, name) && (!best || tab.v[i].rank > best->rank))
            best = &tab.v[i];
    if (!best)
        return false;
    *addr = best->addr;
    return true;
}

bool symbols_describe(uint64_t addr, char *buf, size_t len)
{
    /* Last entry with v[i].addr <= addr; among equal addresses the first is the best. */
    size_t lo = 0, hi = tab.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab.v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    size_t i = lo - 1;
    while (i > 0 && tab.v[i - 1].addr == tab.v[i].addr)
        i--;
    const struct sym *s = &tab.v[i];
    uint64_t off = addr - s->addr;
    if (off >= DESCRIBE_MAX_DISTANCE || (s->size && off >= s->size))
        return false;
    if (off)
        snprintf(buf, len, "%s+0x%" PRIx64, s->name, off);
    else
        snprintf(buf, len, "%s", s->name);
    return true;
}
