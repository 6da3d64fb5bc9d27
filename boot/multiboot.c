/*
 * boot/multiboot.c - the Multiboot v1 loader (`-kernel` of a kernel with a
 * Multiboot header), as QEMU's hw/i386/multiboot.c + its multiboot option
 * ROM present it to the kernel.
 *
 * Follows the Multiboot Specification version 0.6.96: 3.1 "OS image format"
 * (header magic 0x1BADB002 longword-aligned within the first 8192 bytes,
 * flags, checksum; the a.out kludge address fields when flags bit 16 is
 * set), 3.2 "Machine state" (done by the caller: EAX = 0x2BADB002, EBX = the
 * info structure, 32-bit protected mode, paging off, flat CS/DS, A20 on,
 * IF = 0), 3.3 "Boot information format". ELF per the System V gABI.
 *
 * Decided (compared with QEMU 7.2, which is the reference for "kernels
 * written for QEMU"):
 *  - Loader order as QEMU's x86_load_linux: bzImage first, then Multiboot,
 *    then PVH; so an ELF with both a Multiboot header and a PVH note boots
 *    through Multiboot (boot/realmode.c picks).
 *  - ELF32 EM_386 images are loaded by their PT_LOAD program headers at
 *    p_paddr (QEMU's load_elf does the same), entry e_entry. ELF64
 *    EM_X86_64 images are accepted too and entered in 32-bit protected mode
 *    at e_entry, which must be below 4 GiB, like every segment (GRUB does
 *    this; QEMU refuses them with "Cannot load x86-64 image, give a 32bit
 *    one" unless the a.out kludge is used).
 *  - With flags bit 16 the a.out kludge fields win even for ELF files (3.1.3):
 *    the file from offset (header offset - (header_addr - load_addr)) is
 *    copied to load_addr up to load_end_addr (0: end of file), then zeros up
 *    to bss_end_addr (0: none); entry at entry_addr.
 *  - Every byte of the kernel must lie in e820 RAM at or above 1 MiB and
 *    below 4 GiB (below 1 MiB are the IVT, BIOS data area, these structures
 *    and the mini-BIOS).
 *  - Header flag bits 0 (page-align modules: always done) and 1 (memory
 *    info: always given) are honoured; bit 2 (video mode) is ignored as in
 *    QEMU ("multiboot knows VBE. we don't."): the info flags do not claim a
 *    video mode. Other unknown bits 3-15 are logged under LOG_UNIMP and
 *    ignored, as QEMU ignores them (the spec says a loader should refuse).
 *  - Info flags set: 0 (mem_lower/mem_upper), 2 (cmdline), 3 (mods), 6
 *    (mmap), 9 (boot_loader_name "qtemu"). QEMU also sets bit 1 with boot
 *    device 0x8000FFFF; qtemu has no BIOS disk, so it does not claim one.
 *  - mem_lower = KiB of the e820 RAM entry at 0; mem_upper = KiB of the RAM
 *    entry starting at 1 MiB (to the first hole), as the spec defines them.
 *  - The command line is "KERNEL_PATH CMDLINE" (QEMU's "%s %s": a trailing
 *    space when -append is empty). Modules come from -initrd as QEMU parses
 *    it (get_opt_value: "," separates, ",," is a literal comma); each
 *    module's string is its whole entry ("file args"), the file name is the
 *    part before the first space. Modules are page-aligned, one after the
 *    other, from the first page after the kernel, in the e820 RAM entry
 *    holding the kernel. Module files are read at every (re)load.
 *  - The info structure, memory map and module list live at MB_INFO_GPA..
 *    (0x9000) and the strings at MB_STRINGS_GPA (0x20000) (boot/firmware.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/firmware.h"
#include "boot/x86_boot.h"
#include "util/compiler.h"
#include "util/log.h"

/* Multiboot header flags (3.1.2). */
#define MB_HF_PAGE_ALIGN  (1u << 0)
#define MB_HF_MEMORY_INFO (1u << 1)
#define MB_HF_VIDEO_MODE  (1u << 2)
#define MB_HF_AOUT_KLUDGE (1u << 16)
#define MB_HF_KNOWN       (MB_HF_PAGE_ALIGN | MB_HF_MEMORY_INFO | MB_HF_VIDEO_MODE)

/* multiboot_info offsets and flags (3.3). */
#define MBI_FLAGS        0
#define MBI_MEM_LOWER    4
#define MBI_MEM_UPPER    8
#define MBI_CMDLINE      16
#define MBI_MODS_COUNT   20
#define MBI_MODS_ADDR    24
#define MBI_MMAP_LENGTH  44
#define MBI_MMAP_ADDR    48
#define MBI_LOADER_NAME  64
#define MBI_SIZE         88
#define MBI_F_MEMORY     (1u << 0)
#define MBI_F_CMDLINE    (1u << 2)
#define MBI_F_MODS       (1u << 3)
#define MBI_F_MMAP       (1u << 6)
#define MBI_F_LOADER     (1u << 9)
#define MB_MOD_SIZE      16
#define MB_MMAP_ENTRY    24     /* size field (4) + 20 bytes */

/* ELF (gABI). */
#define EI_CLASS     4
#define EI_DATA      5
#define ELFCLASS32   1
#define ELFCLASS64   2
#define ELFDATA2LSB  1
#define PT_LOAD      1
#define EM_386       3
#define EM_X86_64    62

#define MB_LOW_LIMIT 0x100000ull
#define MB_4G        (1ull << 32)
#define MB_MAX_MODULE_BYTES (1ull << 31)

static void set_err(char *err, size_t err_len, const char *fmt, ...) qt_printf(3, 4);
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

bool multiboot_find_header(const uint8_t *image, size_t len, struct multiboot_header *out)
{
    size_t limit = len < MULTIBOOT_SEARCH ? len : MULTIBOOT_SEARCH;
    for (size_t i = 0; i + 12 <= limit; i += 4) {
        if (boot_rd32(image + i) != MULTIBOOT_HEADER_MAGIC)
            continue;
        uint32_t flags = boot_rd32(image + i + 4);
        if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + boot_rd32(image + i + 8)) != 0)
            continue;
        if ((flags & MB_HF_AOUT_KLUDGE) && i + 32 > len)
            continue;   /* address fields cut off: not a usable header */
        memset(out, 0, sizeof(*out));
        out->offset = (uint32_t)i;
        out->flags = flags;
        if (flags & MB_HF_AOUT_KLUDGE) {
            out->header_addr = boot_rd32(image + i + 12);
            out->load_addr = boot_rd32(image + i + 16);
            out->load_end_addr = boot_rd32(image + i + 20);
            out->bss_end_addr = boot_rd32(image + i + 24);
            out->entry_addr = boot_rd32(image + i + 28);
        }
        return true;
    }
    return false;
}

/** True if [@addr, @addr + @size) is inside one e820 RAM entry, >= 1 MiB and < 4 GiB. */
static bool range_ok(struct guest_mem *mem, const struct e820_entry *e820, int n, uint64_t addr,
                     uint64_t size)
{
    if (addr < MB_LOW_LIMIT || addr >= MB_4G || size > MB_4G - addr)
        return false;
    if (size == 0)
        return true;
    uint64_t end = x86_e820_ram_end(e820, n, addr);
    return end >= addr + size && gpa_map(mem, addr, size) != NULL;
}

/** Copy @filesz bytes of @src to @gpa and zero up to @memsz (the caller checked the range). */
static int load_segment(struct guest_mem *mem, uint64_t gpa, const uint8_t *src, uint64_t filesz,
                        uint64_t memsz)
{
    if (filesz && gpa_write(mem, gpa, src, filesz))
        return -1;
    uint8_t *p = memsz > filesz ? gpa_map(mem, gpa + filesz, memsz - filesz) : NULL;
    if (memsz > filesz) {
        if (!p)
            return -1;
        memset(p, 0, memsz - filesz);
        gpa_note_write(mem, gpa + filesz, memsz - filesz);
    }
    return 0;
}

/** Load with the a.out kludge address fields (3.1.3). */
static int load_aout(struct guest_mem *mem, const uint8_t *img, size_t len,
                     const struct multiboot_header *h, const struct e820_entry *e820, int n,
                     struct multiboot_load *out, char *err, size_t err_len)
{
    if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset) {
        set_err(err, err_len, "multiboot: header_addr %#x and load_addr %#x do not fit the file",
                h->header_addr, h->load_addr);
        return -1;
    }
    uint64_t text_off = h->offset - (h->header_addr - h->load_addr);
    uint64_t load_size;
    if (h->load_end_addr) {
        if (h->load_end_addr < h->load_addr) {
            set_err(err, err_len, "multiboot: load_end_addr %#x below load_addr %#x",
                    h->load_end_addr, h->load_addr);
            return -1;
        }
        load_size = (uint64_t)h->load_end_addr - h->load_addr;
        if (load_size > len - text_off) {
            set_err(err, err_len, "multiboot: truncated kernel (load_end_addr needs %llu bytes, "
                    "the file has %llu)", (unsigned long long)(text_off + load_size),
                    (unsigned long long)len);
            return -1;
        }
    } else {
        load_size = len - text_off;
    }
    uint64_t mem_size = load_size;
    if (h->bss_end_addr) {
        if (h->bss_end_addr < h->load_addr + load_size) {
            set_err(err, err_len, "multiboot: bss_end_addr %#x below the end of the loaded image",
                    h->bss_end_addr);
            return -1;
        }
        mem_size = (uint64_t)h->bss_end_addr - h->load_addr;
    }
    if (!range_ok(mem, e820, n, h->load_addr, mem_size)) {
        set_err(err, err_len, "multiboot: kernel at %#x..%#llx is not in RAM at or above 1 MiB "
                "(RAM too small?)", h->load_addr, (unsigned long long)(h->load_addr + mem_size));
        return -1;
    }
    if (load_segment(mem, h->load_addr, img + text_off, load_size, mem_size)) {
        set_err(err, err_len, "multiboot: could not write the kernel to RAM");
        return -1;
    }
    out->entry = h->entry_addr;
    out->kernel_start = h->load_addr;
    out->kernel_end = h->load_addr + mem_size;
    return 0;
}

/** Load the PT_LOAD segments of an ELF32 (EM_386) or ELF64 (EM_X86_64) image. */
static int load_elf(struct guest_mem *mem, const uint8_t *img, size_t len,
                    const struct e820_entry *e820, int n, struct multiboot_load *out, char *err,
                    size_t err_len)
{
    if (len < 52 || memcmp(img, "\x7f" "ELF", 4) != 0) {
        set_err(err, err_len, "multiboot: not an ELF file and no a.out kludge (header flags bit 16)");
        return -1;
    }
    bool is64 = img[EI_CLASS] == ELFCLASS64;
    if ((img[EI_CLASS] != ELFCLASS32 && !is64) || img[EI_DATA] != ELFDATA2LSB) {
        set_err(err, err_len, "multiboot: not a little-endian ELF32/ELF64 file");
        return -1;
    }
    unsigned em = boot_rd16(img + 18);
    if (em != (is64 ? EM_X86_64 : EM_386)) {
        set_err(err, err_len, "multiboot: ELF%d for machine %u, not %s", is64 ? 64 : 32, em,
                is64 ? "EM_X86_64" : "EM_386");
        return -1;
    }
    if (is64 && len < 64) {
        set_err(err, err_len, "multiboot: truncated ELF64 header");
        return -1;
    }
    uint64_t entry = is64 ? boot_rd64(img + 24) : boot_rd32(img + 24);
    uint64_t phoff = is64 ? boot_rd64(img + 32) : boot_rd32(img + 28);
    unsigned phentsize = boot_rd16(img + (is64 ? 54 : 42));
    unsigned phnum = boot_rd16(img + (is64 ? 56 : 44));
    unsigned want = is64 ? 56 : 32;
    if (phnum == 0 || phentsize < want || phoff > len || (uint64_t)phnum * phentsize > len - phoff) {
        set_err(err, err_len, "multiboot: bad or truncated ELF program headers");
        return -1;
    }
    if (entry >= MB_4G) {
        set_err(err, err_len, "multiboot: ELF entry point %#llx is above 4 GiB (32-bit entry)",
                (unsigned long long)entry);
        return -1;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        if (boot_rd32(ph) != PT_LOAD)
            continue;
        uint64_t off, paddr, filesz, memsz;
        if (is64) {
            off = boot_rd64(ph + 8);
            paddr = boot_rd64(ph + 24);
            filesz = boot_rd64(ph + 32);
            memsz = boot_rd64(ph + 40);
        } else {
            off = boot_rd32(ph + 4);
            paddr = boot_rd32(ph + 12);
            filesz = boot_rd32(ph + 16);
            memsz = boot_rd32(ph + 20);
        }
        if (memsz == 0)
            continue;
        if (filesz > memsz || off > len || filesz > len - off) {
            set_err(err, err_len, "multiboot: ELF segment %u lies outside the file", i);
            return -1;
        }
        if (!range_ok(mem, e820, n, paddr, memsz)) {
            set_err(err, err_len, "multiboot: ELF segment %u at %#llx..%#llx is not in RAM at or "
                    "above 1 MiB and below 4 GiB (RAM too small?)", i, (unsigned long long)paddr,
                    (unsigned long long)(paddr + memsz));
            return -1;
        }
        if (load_segment(mem, paddr, img + off, filesz, memsz)) {
            set_err(err, err_len, "multiboot: could not write ELF segment %u to RAM", i);
            return -1;
        }
        lo = MIN(lo, paddr);
        hi = MAX(hi, paddr + memsz);
    }
    if (hi == 0) {
        set_err(err, err_len, "multiboot: the ELF file has no loadable segment");
        return -1;
    }
    out->entry = (uint32_t)entry;
    out->kernel_start = lo;
    out->kernel_end = hi;
    return 0;
}

/**
 * Next entry of a QEMU option-style list (util/cutils.c get_opt_value):
 * copy up to the next single ',' into @buf (",," becomes ','), return the
 * position after it, or NULL at the end. -1 in *@too_long if @buf is short.
 */
static const char *next_module(const char *p, char *buf, size_t buf_len, bool *too_long)
{
    size_t n = 0;
    *too_long = false;
    for (;;) {
        if (*p == ',' && p[1] == ',') {
            p += 2;
        } else if (*p == ',' || *p == '\0') {
            break;
        } else {
            p++;
            if (n + 1 < buf_len)
                buf[n] = p[-1];
            n++;
            continue;
        }
        if (n + 1 < buf_len)
            buf[n] = ',';
        n++;
    }
    if (n >= buf_len) {
        *too_long = true;
        n = buf_len - 1;
    }
    buf[n] = '\0';
    return *p == ',' ? p + 1 : NULL;
}

/** Read a whole module file into a malloc'd buffer. 0 or -1 with @err. */
static int read_module(const char *path, uint8_t **out, size_t *out_len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, err_len, "multiboot: could not open module '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
        if (len == cap) {
            if (cap >= MB_MAX_MODULE_BYTES) {
                set_err(err, err_len, "multiboot: module '%s' is too large", path);
                goto fail;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf) {
        set_err(err, err_len, "multiboot: out of memory reading module '%s'", path);
        fclose(f);
        return -1;
    }
    if (ferror(f)) {
        set_err(err, err_len, "multiboot: could not read module '%s': %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    *out = buf;
    *out_len = len;
    return 0;
fail:
    free(buf);
    fclose(f);
    return -1;
}

/** Append NUL-terminated @s to the string area; returns its gpa or 0 if full. */
static uint32_t put_string(struct guest_mem *mem, uint64_t *used, const char *s)
{
    size_t n = strlen(s) + 1;
    if (n > MB_STRINGS_MAX - *used)
        return 0;
    uint64_t gpa = MB_STRINGS_GPA + *used;
    if (gpa_write(mem, gpa, s, n))
        return 0;
    *used += n;
    return (uint32_t)gpa;
}

int multiboot_load(struct guest_mem *mem, const uint8_t *image, size_t len, const char *kernel_path,
                   const char *cmdline, const char *modules, const struct e820_entry *e820,
                   int e820_count, struct multiboot_load *out, char *err, size_t err_len)
{
    struct multiboot_header h;
    memset(out, 0, sizeof(*out));
    if (!multiboot_find_header(image, len, &h)) {
        set_err(err, err_len, "multiboot: no valid header in the first 8192 bytes");
        return -1;
    }
    if (h.flags & 0xffffu & ~MB_HF_KNOWN)
        qlog(LOG_UNIMP, "multiboot: header flags %#x request features qtemu does not know; ignored",
             h.flags & 0xffffu & ~MB_HF_KNOWN);
    if (h.flags & MB_HF_VIDEO_MODE)
        qlog(LOG_UNIMP, "multiboot: the kernel asks for a video mode; qtemu has no VBE (ignored)");
    int rc = (h.flags & MB_HF_AOUT_KLUDGE)
                 ? load_aout(mem, image, len, &h, e820, e820_count, out, err, err_len)
                 : load_elf(mem, image, len, e820, e820_count, out, err, err_len);
    if (rc)
        return -1;

    uint8_t mbi[MBI_SIZE];
    memset(mbi, 0, sizeof(mbi));
    uint32_t flags = MBI_F_MEMORY | MBI_F_CMDLINE | MBI_F_MODS | MBI_F_MMAP | MBI_F_LOADER;

    /* Memory (3.3: mem_lower from 0, mem_upper from 1 MiB to the first hole) and mmap. */
    uint8_t mmap[PC_E820_MAX * MB_MMAP_ENTRY];
    int nmap = 0;
    for (int i = 0; i < e820_count && nmap < PC_E820_MAX; i++) {
        uint8_t *e = mmap + nmap++ * MB_MMAP_ENTRY;
        boot_wr32(e, 20);
        boot_wr64(e + 4, e820[i].addr);
        boot_wr64(e + 12, e820[i].size);
        boot_wr32(e + 20, e820[i].type);
        if (e820[i].type == E820_RAM && e820[i].addr == 0)
            boot_wr32(mbi + MBI_MEM_LOWER, (uint32_t)(MIN(e820[i].size, 0xA0000ull) >> 10));
        if (e820[i].type == E820_RAM && e820[i].addr == MB_LOW_LIMIT)
            boot_wr32(mbi + MBI_MEM_UPPER, (uint32_t)MIN(e820[i].size >> 10, 0xFFFFFFFFull));
    }
    if (gpa_write(mem, MB_MMAP_GPA, mmap, (uint64_t)nmap * MB_MMAP_ENTRY)) {
        set_err(err, err_len, "multiboot: low memory is not RAM");
        return -1;
    }
    boot_wr32(mbi + MBI_MMAP_LENGTH, (uint32_t)(nmap * MB_MMAP_ENTRY));
    boot_wr32(mbi + MBI_MMAP_ADDR, (uint32_t)MB_MMAP_GPA);

    /* Command line: "KERNEL_PATH CMDLINE", as QEMU builds it. */
    uint64_t used = 0;
    size_t kl = strlen(kernel_path) + 1 + strlen(cmdline) + 1;
    char *kcmd = malloc(kl);
    if (!kcmd) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    snprintf(kcmd, kl, "%s %s", kernel_path, cmdline);
    uint32_t kcmd_gpa = put_string(mem, &used, kcmd);
    free(kcmd);
    if (!kcmd_gpa) {
        set_err(err, err_len, "multiboot: command line too long (at most %llu bytes)",
                (unsigned long long)MB_STRINGS_MAX - 1);
        return -1;
    }
    boot_wr32(mbi + MBI_CMDLINE, kcmd_gpa);

    /* Modules, page-aligned after the kernel in the kernel's RAM entry. */
    uint64_t ram_end = x86_e820_ram_end(e820, e820_count, out->kernel_start);
    ram_end = MIN(ram_end, MB_4G);
    uint64_t next = (out->kernel_end + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    int nmods = 0;
    for (const char *p = modules && *modules ? modules : NULL; p;) {
        char entry[4096];
        bool too_long;
        p = next_module(p, entry, sizeof(entry), &too_long);
        if (too_long) {
            set_err(err, err_len, "multiboot: module entry too long (at most %zu bytes)",
                    sizeof(entry) - 1);
            return -1;
        }
        if (nmods >= MB_MAX_MODULES) {
            set_err(err, err_len, "multiboot: more than %d modules", MB_MAX_MODULES);
            return -1;
        }
        uint32_t str_gpa = put_string(mem, &used, entry);
        if (!str_gpa) {
            set_err(err, err_len, "multiboot: module command lines too long (at most %llu bytes in all)",
                    (unsigned long long)MB_STRINGS_MAX);
            return -1;
        }
        char *space = strchr(entry, ' ');
        if (space)
            *space = '\0';
        uint8_t *data;
        size_t dlen;
        if (read_module(entry, &data, &dlen, err, err_len))
            return -1;
        if (next >= ram_end || dlen > ram_end - next || !gpa_map(mem, next, dlen ? dlen : 1)) {
            set_err(err, err_len, "multiboot: RAM too small for module '%s' (%zu bytes at %#llx)",
                    entry, dlen, (unsigned long long)next);
            free(data);
            return -1;
        }
        int wrc = dlen ? gpa_write(mem, next, data, dlen) : 0;
        free(data);
        uint8_t mod[MB_MOD_SIZE];
        boot_wr32(mod, (uint32_t)next);
        boot_wr32(mod + 4, (uint32_t)(next + dlen));
        boot_wr32(mod + 8, str_gpa);
        boot_wr32(mod + 12, 0);
        if (wrc || gpa_write(mem, MB_MODS_GPA + (uint64_t)nmods * MB_MOD_SIZE, mod, sizeof(mod))) {
            set_err(err, err_len, "multiboot: could not write module '%s' to RAM", entry);
            return -1;
        }
        nmods++;
        next = (next + dlen + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    }
    boot_wr32(mbi + MBI_MODS_COUNT, (uint32_t)nmods);
    boot_wr32(mbi + MBI_MODS_ADDR, (uint32_t)MB_MODS_GPA);

    static const char loader[] = "qtemu";
    if (gpa_write(mem, MB_LOADER_NAME_GPA, loader, sizeof(loader))) {
        set_err(err, err_len, "multiboot: low memory is not RAM");
        return -1;
    }
    boot_wr32(mbi + MBI_LOADER_NAME, (uint32_t)MB_LOADER_NAME_GPA);
    boot_wr32(mbi + MBI_FLAGS, flags);
    if (gpa_write(mem, MB_INFO_GPA, mbi, sizeof(mbi))) {
        set_err(err, err_len, "multiboot: low memory is not RAM");
        return -1;
    }
    out->info_gpa = (uint32_t)MB_INFO_GPA;
    out->nmods = nmods;
    return 0;
}
