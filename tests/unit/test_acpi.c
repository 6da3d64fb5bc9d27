/*
 * tests/unit/test_acpi.c - the ACPI tables of the pc board (boot/acpi.c, boot/aml.c).
 *
 * Oracles: the ACPI 6.4 specification's structural rules (signatures,
 * lengths, checksums, RSDP discovery by scanning 0xE0000-0xFFFFF on 16-byte
 * boundaries, MADT subtable formats, AML encoding of Name/Package), the
 * device layer's PM-block defines in devices/bus.h, and - when Debian's
 * acpica-tools is installed - Intel's iasl disassembler, which decodes the
 * tables independently of our code.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/aml.h"
#include "boot/machine.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

struct tables {
    struct guest_mem mem;
    uint64_t rsdp;
};

static void build(struct tables *t, int ncpus)
{
    cr_assert_eq(guest_mem_init_pc(&t->mem, 16ull << 20, 0xC0000000ull, NULL), 0);
    t->rsdp = acpi_build_tables(&t->mem, 0xE0000, 0x20000, ncpus);
    cr_assert_neq(t->rsdp, 0);
}

/** A table at @gpa with a valid header (signature @sig, checksum 0); returns it. */
static uint8_t *table(struct tables *t, uint64_t gpa, const char *sig)
{
    uint8_t *h = gpa_map(&t->mem, gpa, 36);
    cr_assert_not_null(h, "table %s at %#llx not in RAM", sig, (unsigned long long)gpa);
    cr_assert_eq(memcmp(h, sig, 4), 0, "signature at %#llx is %.4s, want %s",
                 (unsigned long long)gpa, (char *)h, sig);
    uint32_t len = rd32(h + 4);
    cr_assert_geq(len, 36);
    uint8_t *b = gpa_map(&t->mem, gpa, len);
    cr_assert_not_null(b);
    cr_assert_eq(sum(b, len), 0, "%s checksum", sig);
    return b;
}

/** Find the table with @sig through RSDP -> XSDT. */
static uint8_t *find(struct tables *t, const char *sig, uint64_t *gpa_out)
{
    uint8_t *r = gpa_map(&t->mem, t->rsdp, 36);
    uint8_t *x = table(t, rd64(r + 24), "XSDT");
    uint32_t n = (rd32(x + 4) - 36) / 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t gpa = rd64(x + 36 + 8 * i);
        uint8_t *h = gpa_map(&t->mem, gpa, 4);
        if (h && memcmp(h, sig, 4) == 0) {
            if (gpa_out)
                *gpa_out = gpa;
            return table(t, gpa, sig);
        }
    }
    cr_assert_fail("%s not in the XSDT", sig);
    return NULL;
}

Test(acpi, rsdp_found_by_bios_area_scan)
{
    struct tables t;
    build(&t, 1);
    /* ACPI 6.4 5.2.5.1: scan 0xE0000-0xFFFFF on 16-byte boundaries for "RSD PTR ". */
    uint64_t found = 0;
    for (uint64_t a = 0xE0000; a < 0x100000; a += 16) {
        uint8_t *p = gpa_map(&t.mem, a, 8);
        if (memcmp(p, "RSD PTR ", 8) == 0 && sum(p, 20) == 0) {
            found = a;
            break;
        }
    }
    cr_assert_eq(found, t.rsdp);
    uint8_t *r = gpa_map(&t.mem, t.rsdp, 36);
    cr_assert_eq(r[15], 2, "revision 2 (ACPI 2.0+)");
    cr_assert_eq(rd32(r + 20), 36, "length");
    cr_assert_eq(sum(r, 36), 0, "extended checksum");
    uint8_t *rsdt = table(&t, rd32(r + 16), "RSDT");
    uint8_t *xsdt = table(&t, rd64(r + 24), "XSDT");
    uint32_t n = (rd32(xsdt + 4) - 36) / 8;
    cr_assert_eq(rd32(xsdt + 4), 36 + 8 * n);
    cr_assert_eq(rd32(rsdt + 4), 36 + 4 * n);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(rd64(xsdt + 36 + 8 * i), rd32(rsdt + 36 + 4 * i), "RSDT/XSDT entry %u", i);
    guest_mem_destroy(&t.mem);
}

Test(acpi, xsdt_entries_are_valid_tables)
{
    struct tables t;
    build(&t, 2);
    const char *want[] = { "FACP", "APIC", "HPET" };
    for (size_t i = 0; i < 3; i++)
        find(&t, want[i], NULL);
    guest_mem_destroy(&t.mem);
}

Test(acpi, fadt)
{
    struct tables t;
    build(&t, 1);
    uint8_t *f = find(&t, "FACP", NULL);
    cr_assert_geq(f[8], 5, "FADT revision");
    cr_assert_geq(rd32(f + 4), 268);
    /* PM block where the device layer puts it (devices/bus.h). */
    cr_assert_eq(rd32(f + 56), ACPI_PM_BASE, "PM1a_EVT_BLK");
    cr_assert_eq(rd32(f + 64), ACPI_PM_BASE + ACPI_PM_CNT_OFFSET, "PM1a_CNT_BLK");
    cr_assert_eq(rd32(f + 76), ACPI_PM_BASE + ACPI_PM_TMR_OFFSET, "PM_TMR_BLK");
    cr_assert_eq(f[88], ACPI_PM_EVT_LEN);
    cr_assert_eq(f[89], ACPI_PM_CNT_LEN);
    cr_assert_eq(f[91], ACPI_PM_TMR_LEN);
    /* X_ blocks: System I/O GAS with the same addresses and len*8 bits. */
    cr_assert_eq(f[148], 1);
    cr_assert_eq(f[149], ACPI_PM_EVT_LEN * 8);
    cr_assert_eq(rd64(f + 152), ACPI_PM_BASE);
    cr_assert_eq(f[172], 1);
    cr_assert_eq(rd64(f + 176), ACPI_PM_BASE + ACPI_PM_CNT_OFFSET);
    cr_assert_eq(f[208], 1);
    cr_assert_eq(rd64(f + 212), ACPI_PM_BASE + ACPI_PM_TMR_OFFSET);
    cr_assert_eq(rd16(f + 46), 9, "SCI_INT");
    uint32_t flags = rd32(f + 112);
    cr_assert_eq(flags & (1u << 20), 0, "not HW_REDUCED_ACPI");
    cr_assert(flags & (1u << 10), "RESET_REG_SUP");
    cr_assert(rd16(f + 109) & 2, "IAPC_BOOT_ARCH: 8042");
    cr_assert_eq(f[116], 1, "reset register in system I/O");
    cr_assert_eq(rd64(f + 120), 0xCF9);
    cr_assert_eq(f[128], 0x06, "RESET_VALUE");
    /* DSDT and FACS, both 32- and 64-bit pointers agree. */
    cr_assert_eq(rd64(f + 140), rd32(f + 40));
    table(&t, rd64(f + 140), "DSDT");
    cr_assert_eq(rd64(f + 132), rd32(f + 36));
    uint8_t *facs = gpa_map(&t.mem, rd32(f + 36), 64);
    cr_assert_eq(memcmp(facs, "FACS", 4), 0);
    cr_assert_eq(rd32(facs + 4), 64);
    cr_assert_eq(rd32(f + 36) % 64, 0, "FACS 64-byte aligned");
    guest_mem_destroy(&t.mem);
}

Test(acpi, madt)
{
    const int ncpus = 3;
    struct tables t;
    build(&t, ncpus);
    uint8_t *m = find(&t, "APIC", NULL);
    uint32_t len = rd32(m + 4);
    cr_assert_eq(rd32(m + 36), 0xFEE00000u, "local APIC address");
    cr_assert(rd32(m + 40) & 1, "PCAT_COMPAT");
    int lapics = 0, ioapics = 0, nmis = 0;
    bool irq0 = false, irq9 = false;
    uint8_t seen_ids[256] = {0};
    for (uint32_t off = 44; off < len;) {
        uint8_t type = m[off], l = m[off + 1];
        cr_assert_geq(l, 2, "subtable length");
        cr_assert_leq(off + l, len, "subtable past the end");
        switch (type) {
        case 0:
            cr_assert_eq(l, 8);
            cr_assert(rd32(m + off + 4) & 1, "processor enabled");
            cr_assert_eq(seen_ids[m[off + 3]]++, 0, "duplicate APIC ID");
            lapics++;
            break;
        case 1:
            cr_assert_eq(l, 12);
            cr_assert_eq(rd32(m + off + 4), 0xFEC00000u);
            cr_assert_eq(rd32(m + off + 8), 0, "GSI base");
            ioapics++;
            break;
        case 2:
            cr_assert_eq(l, 10);
            cr_assert_eq(m[off + 2], 0, "ISA bus");
            if (m[off + 3] == 0) {
                cr_assert_eq(rd32(m + off + 4), 2, "IRQ0 -> GSI2");
                irq0 = true;
            } else if (m[off + 3] == 9) {
                cr_assert_eq(rd32(m + off + 4), 9);
                cr_assert_eq(rd16(m + off + 8) & 3, 1, "SCI active high");
                cr_assert_eq((rd16(m + off + 8) >> 2) & 3, 3, "SCI level");
                irq9 = true;
            }
            break;
        case 4:
            cr_assert_eq(l, 6);
            cr_assert_eq(m[off + 5], 1, "LINT1");
            nmis++;
            break;
        }
        off += l;
    }
    cr_assert_eq(lapics, ncpus);
    cr_assert_eq(ioapics, 1);
    cr_assert_eq(nmis, 1);
    cr_assert(irq0 && irq9);
    guest_mem_destroy(&t.mem);
}

Test(acpi, hpet)
{
    struct tables t;
    build(&t, 1);
    uint8_t *h = find(&t, "HPET", NULL);
    cr_assert_eq(rd32(h + 4), 56);
    cr_assert_eq(h[40], 0, "system memory");
    cr_assert_eq(rd64(h + 44), HPET_DEFAULT_BASE);
    uint32_t id = rd32(h + 36);
    cr_assert_eq(id >> 16, 0x8086, "vendor");
    cr_assert(id & (1u << 15), "legacy replacement capable");
    cr_assert_eq(((id >> 8) & 0x1F) + 1, 3, "3 comparators");
    guest_mem_destroy(&t.mem);
}

Test(acpi, dsdt_s5_package)
{
    struct tables t;
    build(&t, 1);
    uint8_t *f = find(&t, "FACP", NULL);
    uint8_t *d = table(&t, rd64(f + 140), "DSDT");
    uint32_t len = rd32(d + 4);
    cr_assert_geq(d[8], 2, "DSDT revision 2: 64-bit integers");
    /* ACPI 6.4 20.2: NameOp '\' "_S5_" PackageOp PkgLength NumElements(4)
     * then BytePrefix v, BytePrefix v, ZeroOp, ZeroOp. */
    cr_assert(ACPI_SLP_TYP_S5 > 1 && ACPI_SLP_TYP_S5 < 8, "SLP_TYP is 3 bits");
    const uint8_t want[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 8, 4,
                             0x0A, ACPI_SLP_TYP_S5, 0x0A, ACPI_SLP_TYP_S5, 0x00, 0x00 };
    cr_assert(memmem(d + 36, len - 36, want, sizeof(want)), "\\_S5 package not found");
    /* COM1's _HID: EisaId("PNP0501") = 0x0105D041 as a DWordConst. */
    const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x05, 0x01 };
    cr_assert(memmem(d + 36, len - 36, hid, sizeof(hid)), "PNP0501 _HID not found");
    guest_mem_destroy(&t.mem);
}

Test(acpi, aml_pkglength_encodings)
{
    /* ACPI 6.4 20.2.4: body 62 -> 1 byte (63); body 63 -> 2 bytes 0x41 0x04 (65). */
    struct aml a = {0}, body = {0};
    uint8_t zeros[100] = {0};
    aml_bytes(&body, zeros, 61);
    aml_package(&a, 0, &body);       /* body = NumElements + 61 = 62 bytes */
    cr_assert_eq(a.n, 1 + 1 + 62);
    cr_assert_eq(a.b[1], 63);
    a.n = 0;
    body.n = 0;
    aml_bytes(&body, zeros, 62);
    aml_package(&a, 0, &body);       /* 63-byte body: total 65 with a 2-byte PkgLength */
    cr_assert_eq(a.n, 1 + 2 + 63);
    cr_assert_eq(a.b[1], 0x40 | (65 & 0xF));
    cr_assert_eq(a.b[2], 65 >> 4);
    struct aml v = {0};
    aml_int(&v, 0x1234);
    const uint8_t w[] = { 0x0B, 0x34, 0x12 };
    cr_assert_eq(v.n, 3);
    cr_assert_eq(memcmp(v.b, w, 3), 0);
}

Test(acpi, bad_arguments)
{
    struct guest_mem mem;
    cr_assert_eq(guest_mem_init_pc(&mem, 1ull << 20, 0xC0000000ull, NULL), 0);
    cr_assert_eq(acpi_build_tables(&mem, 0xE0000, 0x20000, 0), 0, "no CPUs");
    cr_assert_eq(acpi_build_tables(&mem, 0xE0000, 256, 1), 0, "area too small");
    cr_assert_eq(acpi_build_tables(&mem, 0x200000, 0x20000, 1), 0, "not RAM");
    guest_mem_destroy(&mem);
}

/* ---------------------------------------------------------------- iasl as an independent oracle */

static bool have_iasl(void)
{
    return system("command -v iasl >/dev/null 2>&1") == 0;
}

/** Write @len bytes to DIR/NAME.dat, run `iasl -d`, return the .dsl text (malloc'd). */
static char *iasl_disassemble(const char *dir, const char *name, const uint8_t *b, size_t len)
{
    char path[512], cmd[1200];
    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1", dir, name, name);
    cr_assert_eq(system(cmd), 0, "iasl -d %s failed", name);
    snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    fclose(f);
    cr_assert_null(strstr(text, "Incorrect"), "iasl flags %s:\n%s", name, text);
    cr_assert_null(strstr(text, "Invalid"), "iasl flags %s:\n%s", name, text);
    return strdup(text);
}

/** True if the iasl listing has a line with field @field whose value starts with @value. */
static bool iasl_field(const char *text, const char *field, const char *value)
{
    for (const char *p = strstr(text, field); p; p = strstr(p + 1, field)) {
        const char *colon = strchr(p, ':');
        const char *eol = strchr(p, '\n');
        if (!colon || (eol && colon > eol))
            continue;
        colon++;
        while (*colon == ' ')
            colon++;
        if (strncmp(colon, value, strlen(value)) == 0)
            return true;
    }
    return false;
}

Test(acpi, iasl_disassembly)
{
    if (!have_iasl())
        cr_skip_test("iasl (acpica-tools) not installed");
    struct tables t;
    build(&t, 2);
    char dir[] = "/tmp/qtemu_acpi_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));

    uint8_t *f = find(&t, "FACP", NULL);
    char *fadt = iasl_disassemble(dir, "facp", f, rd32(f + 4));
    char pm[16];
    snprintf(pm, sizeof(pm), "%08X", ACPI_PM_BASE);
    cr_assert(iasl_field(fadt, "PM1A Event Block Address", pm), "%s", fadt);
    snprintf(pm, sizeof(pm), "%08X", ACPI_PM_BASE + ACPI_PM_CNT_OFFSET);
    cr_assert(iasl_field(fadt, "PM1A Control Block Address", pm), "%s", fadt);
    snprintf(pm, sizeof(pm), "%08X", ACPI_PM_BASE + ACPI_PM_TMR_OFFSET);
    cr_assert(iasl_field(fadt, "PM Timer Block Address", pm), "%s", fadt);
    cr_assert(iasl_field(fadt, "Hardware Reduced (V5)", "0"));
    cr_assert(iasl_field(fadt, "8042 Present on ports 60/64 (V2)", "1"));
    cr_assert(iasl_field(fadt, "Value to cause reset", "06"));

    uint8_t *d = table(&t, rd64(f + 140), "DSDT");
    char *dsdt = iasl_disassemble(dir, "dsdt", d, rd32(d + 4));
    char s5[64];
    snprintf(s5, sizeof(s5), "0x%02X, \n        0x%02X, \n        Zero, \n        Zero",
             ACPI_SLP_TYP_S5, ACPI_SLP_TYP_S5);
    cr_assert(strstr(dsdt, "Name (\\_S5, Package (0x04)"), "%s", dsdt);
    cr_assert(strstr(dsdt, s5), "%s", dsdt);
    cr_assert(strstr(dsdt, "EisaId (\"PNP0501\")"), "%s", dsdt);
    cr_assert(strstr(dsdt, "0x03F8,             // Range Minimum"), "%s", dsdt);
    cr_assert(strstr(dsdt, "IRQNoFlags ()\n                    {4}"), "%s", dsdt);
    cr_assert(strstr(dsdt, "EisaId (\"PNP0103\")"), "%s", dsdt);
    cr_assert(strstr(dsdt, "0xFED00000,         // Address Base"), "%s", dsdt);

    uint8_t *m = find(&t, "APIC", NULL);
    char *madt = iasl_disassemble(dir, "apic", m, rd32(m + 4));
    cr_assert(iasl_field(madt, "Local Apic Address", "FEE00000"));
    cr_assert(iasl_field(madt, "PC-AT Compatibility", "1"));
    cr_assert(iasl_field(madt, "Interrupt Input LINT", "01"));

    uint8_t *h = find(&t, "HPET", NULL);
    char *hpet = iasl_disassemble(dir, "hpet", h, rd32(h + 4));
    cr_assert(iasl_field(hpet, "Address", "00000000FED00000"), "%s", hpet);

    free(fadt);
    free(dsdt);
    free(madt);
    free(hpet);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    guest_mem_destroy(&t.mem);
}
