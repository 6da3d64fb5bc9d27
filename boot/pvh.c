/*
 * boot/pvh.c - the PVH boot path for an uncompressed ELF vmlinux.
 *
 * Follows Xen's PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h
 * and docs/misc/pvh.pandoc): the kernel advertises a 32-bit entry point in an
 * ELF note (name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY = 18); the loader puts
 * PT_LOAD segments at their physical addresses (p_paddr), builds a struct
 * hvm_start_info (version 1, with the e820 map as hvm_memmap_table_entry[]),
 * and enters in 32-bit protected mode, paging off, flat CS/DS, EBX = the
 * start_info address. ELF layout per the System V gABI (ELF-64 Object File
 * Format 1.5): Ehdr, Phdr, Nhdr.
 *
 * Decided: only ELF64 little-endian EM_X86_64 images are loaded. Every
 * segment must lie in RAM at or above 1 MiB (below that are the loader's own
 * structures, see boot/x86_boot.h). The initrd is the single module, placed
 * at the top of low RAM below 4 GiB. ELF files from other architectures get
 * a one-line error naming their e_machine.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/machine.h"
#include "boot/x86_boot.h"
#include "util/compiler.h"

#define EI_CLASS        4
#define EI_DATA         5
#define ELFCLASS64      2
#define ELFDATA2LSB     1
#define ELFDATA2MSB     2
#define PT_LOAD         1
#define PT_NOTE         4
#define EM_X86_64       62

#define EHDR64_SIZE     64
#define PHDR64_SIZE     56

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

/* struct hvm_start_info (start_info.h), version 1: 56 bytes. */
#define SI_MAGIC          0
#define SI_VERSION        4
#define SI_FLAGS          8
#define SI_NR_MODULES     12
#define SI_MODLIST_PADDR  16
#define SI_CMDLINE_PADDR  24
#define SI_RSDP_PADDR     32
#define SI_MEMMAP_PADDR   40
#define SI_MEMMAP_ENTRIES 48
#define SI_SIZE           56
#define MODLIST_ENTRY_SIZE 32   /* paddr, size, cmdline_paddr, reserved */
#define MEMMAP_ENTRY_SIZE  24   /* addr, size, type, reserved */

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

/** gABI name of an e_machine value, for error messages. */
static const char *em_name(unsigned em)
{
    switch (em) {
    case 3: return "EM_386";
    case 8: return "EM_MIPS";
    case 20: return "EM_PPC";
    case 21: return "EM_PPC64";
    case 22: return "EM_S390";
    case 40: return "EM_ARM";
    case 62: return "EM_X86_64";
    case 183: return "EM_AARCH64";
    case 243: return "EM_RISCV";
    case 258: return "EM_LOONGARCH";
    default: return NULL;
    }
}

/**
 * Scan one PT_NOTE segment's bytes for the Xen PHYS32_ENTRY note.
 * Returns true and sets *entry if found.
 */
static bool find_pvh_note(const uint8_t *p, uint64_t len, uint64_t *entry)
{
    uint64_t off = 0;
    while (off <= len && len - off >= 12) {
        uint32_t namesz = boot_rd32(p + off), descsz = boot_rd32(p + off + 4);
        uint32_t type = boot_rd32(p + off + 8);
        uint64_t name_off = off + 12;
        uint64_t desc_off = name_off + (((uint64_t)namesz + 3) & ~3ull);
        uint64_t next = desc_off + (((uint64_t)descsz + 3) & ~3ull);
        if (desc_off > len || next > len || desc_off + descsz > len)
            return false;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
            memcmp(p + name_off, "Xen", 4) == 0 && (descsz == 4 || descsz == 8)) {
            *entry = descsz == 4 ? boot_rd32(p + desc_off) : boot_rd64(p + desc_off);
            return true;
        }
        off = next;
    }
    return false;
}

int x86_load_pvh(struct guest_mem *mem, const uint8_t *k, size_t klen,
                 const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                 const struct e820_entry *e820, int e820_count, uint64_t rsdp_gpa,
                 struct boot_info *out, char *err, size_t err_len)
{
    if (klen < 20) {
        set_err(err, err_len, "truncated ELF (%zu bytes)", klen);
        return -1;
    }
    unsigned em = k[EI_DATA] == ELFDATA2MSB ? (unsigned)(k[18] << 8 | k[19]) : boot_rd16(k + 18);
    if (em != EM_X86_64) {
        const char *name = em_name(em);
        if (name)
            set_err(err, err_len, "ELF for %s, not x86-64", name);
        else
            set_err(err, err_len, "ELF for machine %u, not x86-64", em);
        return -1;
    }
    if (k[EI_CLASS] != ELFCLASS64 || k[EI_DATA] != ELFDATA2LSB) {
        set_err(err, err_len, "x86-64 ELF must be ELF64 little-endian");
        return -1;
    }
    if (klen < EHDR64_SIZE) {
        set_err(err, err_len, "truncated ELF (%zu bytes)", klen);
        return -1;
    }
    uint64_t phoff = boot_rd64(k + 32);
    unsigned phentsize = boot_rd16(k + 54), phnum = boot_rd16(k + 56);
    if (phentsize < PHDR64_SIZE || phnum == 0 || phoff > klen ||
        (uint64_t)phentsize * phnum > klen - phoff) {
        set_err(err, err_len, "truncated ELF (program headers beyond the end of the file)");
        return -1;
    }

    /* First pass: validate every segment and find the PVH note. */
    uint64_t entry = 0, kernel_lo = UINT64_MAX, kernel_end = 0;
    bool have_entry = false;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = k + phoff + (uint64_t)i * phentsize;
        uint32_t type = boot_rd32(ph);
        uint64_t off = boot_rd64(ph + 8), paddr = boot_rd64(ph + 24);
        uint64_t filesz = boot_rd64(ph + 32), memsz = boot_rd64(ph + 40);
        if (type != PT_LOAD && type != PT_NOTE)
            continue;
        if (off > klen || filesz > klen - off) {
            set_err(err, err_len, "truncated ELF (segment %u beyond the end of the file)", i);
            return -1;
        }
        if (type == PT_NOTE) {
            if (!have_entry)
                have_entry = find_pvh_note(k + off, filesz, &entry);
            continue;
        }
        if (filesz > memsz || paddr + memsz < paddr) {
            set_err(err, err_len, "bad ELF segment %u (p_filesz > p_memsz or wraps)", i);
            return -1;
        }
        if (memsz == 0)
            continue;
        if (paddr < 0x100000) {
            set_err(err, err_len, "ELF segment %u at %#llx is below 1 MiB", i,
                    (unsigned long long)paddr);
            return -1;
        }
        if (!gpa_map(mem, paddr, memsz)) {
            set_err(err, err_len, "RAM too small for this kernel (needs %llu MiB)",
                    (unsigned long long)((paddr + memsz + (1ull << 20) - 1) >> 20));
            return -1;
        }
        kernel_lo = MIN(kernel_lo, paddr);
        kernel_end = MAX(kernel_end, paddr + memsz);
    }
    if (!have_entry) {
        set_err(err, err_len,
                "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); build with CONFIG_PVH=y or use a bzImage");
        return -1;
    }
    if (kernel_end == 0) {
        set_err(err, err_len, "ELF kernel has no loadable segments");
        return -1;
    }
    if (entry >= (1ull << 32)) {
        set_err(err, err_len, "PVH entry point %#llx is above 4 GiB", (unsigned long long)entry);
        return -1;
    }

    /* Second pass: copy segments, zero their .bss parts. */
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = k + phoff + (uint64_t)i * phentsize;
        if (boot_rd32(ph) != PT_LOAD)
            continue;
        uint64_t off = boot_rd64(ph + 8), paddr = boot_rd64(ph + 24);
        uint64_t filesz = boot_rd64(ph + 32), memsz = boot_rd64(ph + 40);
        if (memsz == 0)
            continue;
        uint8_t *host = gpa_map(mem, paddr, memsz);
        if (!host)
            return -1;   /* checked above */
        memcpy(host, k + off, filesz);
        memset(host + filesz, 0, memsz - filesz);
        gpa_note_write(mem, paddr, memsz);
    }

    if (x86_boot_write_cmdline(mem, cmdline, X86_BOOT_CMDLINE_MAX, err, err_len))
        return -1;
    uint64_t initrd_gpa = x86_boot_place_initrd(mem, initrd, initrd_len, kernel_end,
                                                0xFFFFFFFFull, e820, e820_count, err, err_len);
    if (initrd_gpa == UINT64_MAX)
        return -1;

    /* hvm_start_info + modlist + memmap, all in the zero-page area. */
    uint8_t si[SI_SIZE] = {0};
    boot_wr32(si + SI_MAGIC, HVM_START_MAGIC);
    boot_wr32(si + SI_VERSION, 1);
    boot_wr64(si + SI_CMDLINE_PADDR, X86_BOOT_CMDLINE_GPA);
    boot_wr64(si + SI_RSDP_PADDR, rsdp_gpa);
    if (initrd_len) {
        uint8_t mod[MODLIST_ENTRY_SIZE] = {0};
        boot_wr64(mod, initrd_gpa);
        boot_wr64(mod + 8, initrd_len);
        if (gpa_write(mem, X86_PVH_MODLIST_GPA, mod, sizeof(mod)))
            goto no_low_ram;
        boot_wr32(si + SI_NR_MODULES, 1);
        boot_wr64(si + SI_MODLIST_PADDR, X86_PVH_MODLIST_GPA);
    }
    int n = e820_count < 0 ? 0 : MIN(e820_count, X86_PVH_MEMMAP_MAX);
    for (int i = 0; i < n; i++) {
        uint8_t e[MEMMAP_ENTRY_SIZE] = {0};
        boot_wr64(e, e820[i].addr);
        boot_wr64(e + 8, e820[i].size);
        boot_wr32(e + 16, e820[i].type);
        if (gpa_write(mem, X86_PVH_MEMMAP_GPA + (uint64_t)i * MEMMAP_ENTRY_SIZE, e, sizeof(e)))
            goto no_low_ram;
    }
    boot_wr64(si + SI_MEMMAP_PADDR, X86_PVH_MEMMAP_GPA);
    boot_wr32(si + SI_MEMMAP_ENTRIES, (uint32_t)n);
    if (gpa_write(mem, X86_BOOT_PARAMS_GPA, si, sizeof(si)) || x86_boot_write_gdt(mem))
        goto no_low_ram;

    *out = (struct boot_info){
        .long_mode_entry = false,
        .entry_gpa = entry,
        .boot_params_gpa = X86_BOOT_PARAMS_GPA,
        .gdt_gpa = X86_BOOT_GDT_GPA,
        .gdt_limit = X86_BOOT_GDT_LIMIT,
        .code_sel = X86_BOOT_CS32,
        .data_sel = X86_BOOT_DS,
        .kernel_gpa = kernel_lo,
        .kernel_end = kernel_end,
        .cmdline_gpa = X86_BOOT_CMDLINE_GPA,
        .initrd_gpa = initrd_gpa,
        .initrd_size = initrd_len,
    };
    return 0;

no_low_ram:
    set_err(err, err_len, "RAM too small for the boot structures below 1 MiB");
    return -1;
}
