/*
 * tests/unit/test_pc.c - the pc board (boot/pc.c, boot/e820.c).
 *
 * The vCPU is replaced by a fake defined here (x86_vcpu_create and the two
 * entry-state setters), so the test sees exactly which entry state the board
 * asks for; pc.o is the only archive member that references them, so the
 * real cpu/x86 objects are not linked in. Device constructors that are not
 * written yet are weak stubs (the real ones win once they exist in the
 * library and something pulls them in).
 *
 * Oracles: error wording the frontend contract asks for (strerror texts from
 * libc), the kernel file's own header (pref_address), the mmu's RAM slots
 * for the e820 map, and the ACPI RSDP signature.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/machine.h"
#include "boot/x86_boot.h"
#include "devices/bus.h"

/* ---------------------------------------------------------------- fake vCPU */

struct fake_vcpu {
    struct vcpu v;
    int resets;
    int long_entries, prot32_entries;
    uint64_t entry, params, cr3, gdt;
    uint16_t gdt_limit;
};

static void fake_reset(struct vcpu *v) { ((struct fake_vcpu *)v)->resets++; }
static void fake_destroy(struct vcpu *v) { free(v); }
static const struct vcpu_ops fake_ops = { .reset = fake_reset, .destroy = fake_destroy };

struct vcpu *x86_vcpu_create(int index, enum x86_cpu_model model, struct guest_mem *mem,
                             struct bus *bus)
{
    struct fake_vcpu *f = calloc(1, sizeof(*f));
    f->v.ops = &fake_ops;
    f->v.index = index;
    f->v.mem = mem;
    f->v.bus = bus;
    return &f->v;
}

void x86_vcpu_setup_long_entry(struct vcpu *v, uint64_t entry_gpa, uint64_t boot_params_gpa,
                               uint64_t cr3, uint64_t gdt_gpa, uint16_t gdt_limit)
{
    struct fake_vcpu *f = (struct fake_vcpu *)v;
    f->long_entries++;
    f->entry = entry_gpa;
    f->params = boot_params_gpa;
    f->cr3 = cr3;
    f->gdt = gdt_gpa;
    f->gdt_limit = gdt_limit;
}

void x86_vcpu_setup_prot32_entry(struct vcpu *v, uint32_t entry_gpa, uint32_t eax, uint32_t ebx,
                                 uint64_t gdt_gpa, uint16_t gdt_limit, uint16_t cs, uint16_t ds)
{
    struct fake_vcpu *f = (struct fake_vcpu *)v;
    f->prot32_entries++;
    f->entry = entry_gpa;
    f->params = ebx;
    f->gdt = gdt_gpa;
}

/* Real-mode entry (boot sectors, boot/realmode.c): counted like the others. */
void x86_vcpu_setup_real_entry(struct vcpu *v, uint16_t cs, uint16_t ip, uint16_t ss, uint16_t sp,
                               uint32_t edx, bool intr_enabled)
{
    struct fake_vcpu *f = (struct fake_vcpu *)v;
    f->entry = (uint64_t)cs << 4 | ip;
}

/* ---------------------------------------------------------------- weak device stubs */

static int stub_dummy;
__attribute__((weak)) struct i8254 *i8254_create(struct bus *bus, struct irq_line irq0)
{ return (struct i8254 *)&stub_dummy; }
__attribute__((weak)) struct mc146818 *mc146818_create(struct bus *bus, struct irq_line irq8,
                                                       uint64_t ram_bytes)
{ return (struct mc146818 *)&stub_dummy; }
__attribute__((weak)) struct i8042 *i8042_create(struct bus *bus, struct irq_line irq1,
                                                 struct irq_line irq12)
{ return (struct i8042 *)&stub_dummy; }
__attribute__((weak)) int pc_reset_ctrl_create(struct bus *bus) { return 0; }
__attribute__((weak)) struct acpi_pm *acpi_pm_create(struct bus *bus, uint16_t pm_base,
                                                     struct irq_line sci)
{ return (struct acpi_pm *)&stub_dummy; }
__attribute__((weak)) int isa_debug_exit_create(struct bus *bus, uint16_t iobase, uint8_t iosize)
{ return 0; }

/* ---------------------------------------------------------------- helpers */

static const char *real_kernel_path(void)
{
    static const char *const paths[] = {
        "/tmp/kfetch/x/boot/vmlinuz-6.1.0-56-cloud-amd64",
        ".cache/guest/vmlinuz-cloud",
    };
    for (size_t i = 0; i < 2; i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

/** Write @len bytes to a new temp file; returns its path (static buffer per slot). */
static const char *temp_file(int slot, const void *data, size_t len)
{
    static char names[4][64];
    snprintf(names[slot], sizeof(names[slot]), "/tmp/qtemu_pc_%d_XXXXXX", slot);
    int fd = mkstemp(names[slot]);
    cr_assert_geq(fd, 0);
    if (len)
        cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return names[slot];
}

static struct machine_config config(const char *kernel, const char *initrd)
{
    return (struct machine_config){
        .machine = "pc", .smp = 1, .ram_bytes = 256ull << 20,
        .kernel_path = kernel, .initrd_path = initrd, .cmdline = "console=ttyS0",
    };
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ---------------------------------------------------------------- file errors */

Test(pc, missing_kernel)
{
    struct machine m;
    char err[256];
    struct machine_config cfg = config("/nonexistent/vmlinuz", NULL);
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    char want[256];
    snprintf(want, sizeof(want), "could not open kernel '/nonexistent/vmlinuz': %s", strerror(ENOENT));
    cr_assert_str_eq(err, want);
}

Test(pc, empty_kernel_and_directory)
{
    struct machine m;
    char err[256], want[256];
    const char *empty = temp_file(0, "", 0);
    struct machine_config cfg = config(empty, NULL);
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "kernel '%s' is empty", empty);
    cr_assert_str_eq(err, want);
    unlink(empty);

    cfg = config("/tmp", NULL);
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "could not read kernel '/tmp': %s", strerror(EISDIR));
    cr_assert_str_eq(err, want);
}

Test(pc, random_kernel_and_missing_initrd)
{
    uint8_t junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    const char *k = temp_file(1, junk, sizeof(junk));
    struct machine m;
    char err[256];
    struct machine_config cfg = config(k, "/nonexistent/initrd");
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    cr_assert(strstr(err, "could not open initrd '/nonexistent/initrd'"), "%s", err);
    cfg = config(k, NULL);
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    cr_assert(strstr(err, "not a bzImage or ELF"), "%s", err);
    unlink(k);
}

Test(pc, bad_config)
{
    struct machine m;
    char err[256];
    struct machine_config cfg = config("/nonexistent", NULL);
    cfg.machine = "virt";
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    cr_assert(strstr(err, "unsupported machine 'virt'"), "%s", err);
    cfg = config("/nonexistent", NULL);
    cfg.smp = MACHINE_MAX_CPUS + 1;
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), -1);
    cr_assert(strstr(err, "-smp"), "%s", err);
}

/* ---------------------------------------------------------------- real kernel */

Test(pc, boots_real_kernel_and_resets)
{
    const char *kpath = real_kernel_path();
    if (!kpath)
        cr_skip_test("no Debian kernel on this host");
    uint8_t initrd[3000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i ^ 0x5A);
    const char *ipath = temp_file(2, initrd, sizeof(initrd));
    struct machine m;
    char err[256];
    struct machine_config cfg = config(kpath, ipath);
    cfg.smp = 2;
    cr_assert_eq(machine_create(&m, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(m.ncpus, 2);

    /* The kernel file's own pref_address (boot.rst, offset 0x258) + 0x200. */
    FILE *f = fopen(kpath, "rb");
    uint8_t hdr[0x270];
    cr_assert_eq(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    fclose(f);
    uint64_t pref = rd64(hdr + 0x258);

    struct fake_vcpu *bsp = (struct fake_vcpu *)m.cpus[0], *ap = (struct fake_vcpu *)m.cpus[1];
    cr_assert_eq(bsp->long_entries, 1);
    cr_assert_eq(bsp->entry, pref + 0x200);
    cr_assert_eq(ap->long_entries + ap->prot32_entries, 0, "APs wait for SIPI");
    cr_assert_neq(bsp->v.intc.inta, NULL, "LAPIC installed as the interrupt port");

    uint8_t *bp = gpa_map(&m.mem, bsp->params, 4096);
    cr_assert_not_null(bp);
    uint8_t *rsdp = gpa_map(&m.mem, rd64(bp + 0x70), 8);
    cr_assert_not_null(rsdp);
    cr_assert_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
    cr_assert_eq(memcmp(gpa_map(&m.mem, rd32(bp + 0x218), sizeof(initrd)), initrd, sizeof(initrd)), 0);

    /* e820 RAM entries lie inside the mmu's RAM slots; the ACPI area is not RAM. */
    int n = bp[0x1E8];
    cr_assert_gt(n, 0);
    for (int i = 0; i < n; i++) {
        const uint8_t *e = bp + 0x2D0 + 20 * i;
        uint64_t addr = rd64(e), size = rd64(e + 8);
        if (rd32(e + 16) == E820_RAM) {
            cr_assert_not_null(gpa_map(&m.mem, addr, size), "e820 RAM %#llx+%#llx",
                               (unsigned long long)addr, (unsigned long long)size);
            cr_assert(rd64(bp + 0x70) < addr || rd64(bp + 0x70) >= addr + size,
                      "RSDP inside usable RAM");
        }
    }

    /* Reset: the kernel bytes come back, and every vCPU was reset. */
    uint8_t *kern = gpa_map(&m.mem, pref, 4096);
    uint8_t saved[64];
    memcpy(saved, kern, sizeof(saved));
    memset(kern, 0xF4, 4096);
    memset(bp, 0, 4096);
    cr_assert_eq(machine_reset(&m, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(kern, saved, sizeof(saved)), 0);
    cr_assert_eq(rd32(bp + 0x21C), sizeof(initrd), "zero page rebuilt");
    cr_assert_eq(bsp->resets, 1);
    cr_assert_eq(ap->resets, 1);
    cr_assert_eq(bsp->long_entries, 2);
    machine_destroy(&m);
    unlink(ipath);
}

/* ---------------------------------------------------------------- e820 */

Test(pc, e820_matches_ram_slots)
{
    const uint64_t sizes[] = { 64ull << 20, 3ull << 30, 5ull << 30 };
    for (size_t s = 0; s < 3; s++) {
        struct guest_mem mem;
        cr_assert_eq(guest_mem_init_pc(&mem, sizes[s], PC_LOW_RAM_LIMIT, NULL), 0);
        struct e820_entry e[PC_E820_MAX];
        int n = pc_build_e820(sizes[s], e, PC_E820_MAX);
        cr_assert_gt(n, 0);
        uint64_t ram = 0;
        for (int i = 0; i < n; i++) {
            if (i)
                cr_assert_geq(e[i].addr, e[i - 1].addr + e[i - 1].size, "sorted, no overlap");
            if (e[i].type == E820_RAM) {
                cr_assert_not_null(gpa_map(&mem, e[i].addr, e[i].size));
                ram += e[i].size;
            }
        }
        /* Everything but the EBDA and the 0xA0000-0xFFFFF window is usable. */
        cr_assert_eq(ram, sizes[s] - (0x100000 - 0x9FC00));
        guest_mem_destroy(&mem);
    }
}
