/*
 * boot/acpi.c - the ACPI tables of the pc board, built by qtemu (no BIOS).
 *
 * Follows the ACPI 6.4 specification: 5.2.5 RSDP, 5.2.6 table header,
 * 5.2.7 RSDT, 5.2.8 XSDT, 5.2.9 FADT (revision 6), 5.2.10 FACS, 5.2.11.1
 * DSDT, 5.2.12 MADT (revision 4, as in ACPI 6.0), 5.2.3.2 Generic Address Structure; the
 * HPET table follows the IA-PC HPET specification 1.0a, 3.2.4.
 *
 * Decided (following what QEMU's pc machine presents to Linux):
 *  - Layout inside the area given (0xE0000 on pc, marked reserved in e820):
 *    RSDP at the start (16-byte aligned, so Linux's legacy scan of
 *    0xE0000-0xFFFFF finds it even without boot_params.acpi_rsdp_addr),
 *    FACS 64-byte aligned, then RSDT, XSDT, FADT, DSDT, MADT, HPET.
 *  - FADT: not hardware-reduced (we have the 8259/8254/RTC/i8042); SMI_CMD = 0
 *    so the OS sees the platform already in ACPI mode; PM1a event (4 bytes),
 *    PM1a control (2 bytes) and the 24-bit PM timer at the ACPI PM block of
 *    devices/bus.h; SCI on IRQ 9; no GPE block; reset register I/O 0xCF9,
 *    value 0x06; C2/C3 disabled by latency (0xFFF / 0x3E9) as QEMU does.
 *  - DSDT: \_SB.COM1 (PNP0501, I/O 0x3F8/8, IRQ 4), \_SB.HPET (PNP0103,
 *    0xFED00000/0x400) and \_S5 = {SLP_TYP_S5, SLP_TYP_S5, 0, 0} so a
 *    poweroff writes the value the PM block turns into a power-off request.
 *  - MADT: local APIC at 0xFEE00000, PCAT_COMPAT, one enabled Processor Local
 *    APIC per CPU (UID = APIC ID = index), I/O APIC id 0 at 0xFEC00000 GSI 0,
 *    ISA overrides IRQ0 -> GSI2 and IRQ9 -> GSI9 (level, active high), local
 *    APIC NMI on LINT1 for all processors.
 */
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/board_virtio.h"
#include "boot/machine.h"
#include "boot/x86_boot.h"
#include "devices/bus.h"
#include "util/compiler.h"
#include "util/log.h"

/* The ACPI PM block (ACPI_PM_BASE, ACPI_PM_*_OFFSET/_LEN, ACPI_SLP_TYP_S5) is
 * defined by the devices layer in devices/bus.h; the FADT and \_S5 follow it. */
#define ACPI_SCI_IRQ     9

#define PC_LAPIC_BASE    ((uint32_t)LAPIC_DEFAULT_BASE)
#define PC_IOAPIC_BASE   ((uint32_t)IOAPIC_DEFAULT_BASE)
#define PC_HPET_BASE     0xFED00000u   /* == HPET_DEFAULT_BASE; a literal for the static _CRS bytes */
_Static_assert(PC_HPET_BASE == HPET_DEFAULT_BASE, "HPET base");
#define PC_RESET_PORT    0xCF9
#define PC_RESET_VALUE   0x06
#define PC_COM1_BASE     0x3F8
#define PC_COM1_IRQ      4

#define ACPI_OEM_ID      "QTEMU "
#define ACPI_OEM_TABLE   "QTEMUPC "
#define ACPI_CREATOR     "QTMU"

/* FADT Flags (ACPI 6.4 Table 5.10). */
#define FADT_WBINVD          (1u << 0)
#define FADT_PROC_C1         (1u << 2)
#define FADT_SLP_BUTTON      (1u << 5)   /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP   (1u << 10)
/* IAPC_BOOT_ARCH (Table 5.11). */
#define IAPC_LEGACY_DEVICES  (1u << 0)
#define IAPC_8042            (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)

#define HDR_LEN 36
#define FADT_LEN 276
#define FACS_LEN 64

/** The table area being filled (host copy, written to the guest at the end). */
struct acpi_area {
    uint8_t *buf;
    uint64_t size;
    uint64_t used;
    uint64_t base_gpa;
    bool overflow;
};

/** Reserve @len bytes aligned to @align; returns the offset (or 0 with overflow set). */
static uint64_t area_alloc(struct acpi_area *a, uint64_t len, uint64_t align)
{
    uint64_t off = (a->used + align - 1) & ~(align - 1);
    if (off > a->size || len > a->size - off) {
        a->overflow = true;
        return 0;
    }
    a->used = off + len;
    return off;
}

/** Sum of @len bytes, mod 256. */
static uint8_t acpi_sum(const uint8_t *p, uint64_t len)
{
    uint8_t s = 0;
    for (uint64_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/** Fill the 36-byte System Description Table Header (5.2.6); checksum set later. */
static void put_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    boot_wr32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE, 8);
    boot_wr32(t + 24, 1);                    /* OEM revision */
    memcpy(t + 28, ACPI_CREATOR, 4);
    boot_wr32(t + 32, 1);                    /* creator revision */
}

/** Set the header checksum so the whole table sums to 0. */
static void fix_checksum(uint8_t *t)
{
    uint32_t len = boot_rd32(t + 4);
    t[9] = 0;
    t[9] = (uint8_t)(0 - acpi_sum(t, len));
}

/** Generic Address Structure (5.2.3.2): 12 bytes. */
static void put_gas(uint8_t *p, uint8_t space, uint8_t bit_width, uint8_t access, uint64_t addr)
{
    p[0] = space;        /* 0 system memory, 1 system I/O */
    p[1] = bit_width;
    p[2] = 0;            /* bit offset */
    p[3] = access;       /* 0 undefined, 1 byte, 2 word, 3 dword, 4 qword */
    boot_wr64(p + 4, addr);
}

/** Build the DSDT's AML body (everything after the header) into @a. */
static void build_dsdt_aml(struct aml *out, const struct board_devices *devs)
{
    struct aml sb = {0}, dev = {0}, v = {0};

    /* \_SB.COM1: PNP0501, IO(Decode16, 0x3F8, 0x3F8, 0, 8), IRQNoFlags(){4} (6.4.2.5, 6.4.2.1). */
    static const uint8_t com1_crs[] = {
        0x47, 0x01, PC_COM1_BASE & 0xFF, PC_COM1_BASE >> 8, PC_COM1_BASE & 0xFF,
        PC_COM1_BASE >> 8, 0x00, 0x08,
        0x22, 1u << PC_COM1_IRQ, 0x00,
        0x79, 0x00,
    };
    v.n = 0; aml_eisaid(&v, "PNP0501"); aml_name_decl(&dev, "_HID", &v);
    v.n = 0; aml_int(&v, 0); aml_name_decl(&dev, "_UID", &v);
    v.n = 0; aml_buffer(&v, com1_crs, sizeof(com1_crs)); aml_name_decl(&dev, "_CRS", &v);
    aml_device(&sb, "COM1", &dev);

    /* \_SB.HPET: PNP0103, Memory32Fixed(ReadOnly, 0xFED00000, 0x400) (6.4.3.4). */
    static const uint8_t hpet_crs[] = {
        0x86, 0x09, 0x00, 0x00,
        PC_HPET_BASE & 0xFF, (PC_HPET_BASE >> 8) & 0xFF, (PC_HPET_BASE >> 16) & 0xFF, PC_HPET_BASE >> 24,
        0x00, 0x04, 0x00, 0x00,
        0x79, 0x00,
    };
    dev.n = 0;
    v.n = 0; aml_eisaid(&v, "PNP0103"); aml_name_decl(&dev, "_HID", &v);
    v.n = 0; aml_int(&v, 0); aml_name_decl(&dev, "_UID", &v);
    v.n = 0; aml_buffer(&v, hpet_crs, sizeof(hpet_crs)); aml_name_decl(&dev, "_CRS", &v);
    aml_device(&sb, "HPET", &dev);

    board_devices_dsdt(&sb, devs);      /* \_SB.PCI0 or the virtio-mmio devices (board_virtio.c) */
    aml_scope(out, "\\_SB_", &sb);

    /* \_S5: Package {PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved} (7.4.2). */
    struct aml el = {0};
    aml_int(&el, ACPI_SLP_TYP_S5);
    aml_int(&el, ACPI_SLP_TYP_S5);
    aml_int(&el, 0);
    aml_int(&el, 0);
    v.n = 0;
    aml_package(&v, 4, &el);
    aml_name_decl(out, "\\_S5_", &v);
}

/** FADT revision 6 (5.2.9, Table 5.9): 276 bytes. */
static void build_fadt(uint8_t *t, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
    put_header(t, "FACP", FADT_LEN, 6);
    boot_wr32(t + 36, (uint32_t)facs_gpa);          /* FIRMWARE_CTRL */
    boot_wr32(t + 40, (uint32_t)dsdt_gpa);          /* DSDT */
    t[45] = 0;                                      /* Preferred_PM_Profile: unspecified */
    boot_wr16(t + 46, ACPI_SCI_IRQ);                /* SCI_INT */
    boot_wr32(t + 48, 0);                           /* SMI_CMD: none, always in ACPI mode */
    boot_wr32(t + 56, ACPI_PM_BASE);                /* PM1a_EVT_BLK */
    boot_wr32(t + 64, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET);  /* PM1a_CNT_BLK */
    boot_wr32(t + 76, ACPI_PM_BASE + ACPI_PM_TMR_OFFSET);   /* PM_TMR_BLK */
    t[88] = ACPI_PM_EVT_LEN;
    t[89] = ACPI_PM_CNT_LEN;
    t[91] = ACPI_PM_TMR_LEN;
    boot_wr16(t + 96, 0xFFF);                       /* P_LVL2_LAT > 100: no C2 */
    boot_wr16(t + 98, 0x3E9);                       /* P_LVL3_LAT > 1000: no C3 */
    t[108] = 0x32;                                  /* CENTURY: CMOS index */
    boot_wr16(t + 109, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
    boot_wr32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
    put_gas(t + 116, 1, 8, 1, PC_RESET_PORT);      /* RESET_REG */
    t[128] = PC_RESET_VALUE;
    t[131] = 0;                                     /* FADT minor version (6.0) */
    boot_wr64(t + 132, facs_gpa);                   /* X_FIRMWARE_CTRL */
    boot_wr64(t + 140, dsdt_gpa);                   /* X_DSDT */
    put_gas(t + 148, 1, ACPI_PM_EVT_LEN * 8, 0, ACPI_PM_BASE);
    put_gas(t + 172, 1, ACPI_PM_CNT_LEN * 8, 0, ACPI_PM_BASE + ACPI_PM_CNT_OFFSET);
    put_gas(t + 208, 1, ACPI_PM_TMR_LEN * 8, 0, ACPI_PM_BASE + ACPI_PM_TMR_OFFSET);
}

/** MADT (5.2.12) for @ncpus processors; returns its length. @t NULL: just size it. */
static uint32_t build_madt(uint8_t *t, int ncpus)
{
    uint32_t len = 44 + 8u * ncpus + 12 + 2 * 10 + 6;
    if (!t)
        return len;
    put_header(t, "APIC", len, 4);
    boot_wr32(t + 36, PC_LAPIC_BASE);
    boot_wr32(t + 40, 1);                           /* PCAT_COMPAT: 8259s present */
    uint8_t *e = t + 44;
    for (int i = 0; i < ncpus; i++, e += 8) {       /* Processor Local APIC (5.2.12.2) */
        e[0] = 0;
        e[1] = 8;
        e[2] = (uint8_t)i;                          /* ACPI Processor UID */
        e[3] = (uint8_t)i;                          /* APIC ID */
        boot_wr32(e + 4, 1);                        /* Enabled */
    }
    e[0] = 1;                                       /* I/O APIC (5.2.12.3) */
    e[1] = 12;
    e[2] = 0;                                       /* I/O APIC ID (QEMU uses 0) */
    e[3] = 0;
    boot_wr32(e + 4, PC_IOAPIC_BASE);
    boot_wr32(e + 8, 0);                            /* GSI base */
    e += 12;
    /* Interrupt Source Overrides (5.2.12.5); flags: polarity 1:0, trigger 3:2. */
    static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[2] = {
        { 0, 2, 0x0 },                              /* PIT: conforms to ISA (edge, high) */
        { ACPI_SCI_IRQ, ACPI_SCI_IRQ, 0xD },        /* SCI: level, active high */
    };
    for (int i = 0; i < 2; i++, e += 10) {
        e[0] = 2;
        e[1] = 10;
        e[2] = 0;                                   /* bus: ISA */
        e[3] = iso[i].irq;
        boot_wr32(e + 4, iso[i].gsi);
        boot_wr16(e + 8, iso[i].flags);
    }
    e[0] = 4;                                       /* Local APIC NMI (5.2.12.7) */
    e[1] = 6;
    e[2] = 0xFF;                                    /* all processors */
    boot_wr16(e + 3, 0);                            /* flags: conforms */
    e[5] = 1;                                       /* LINT1 */
    return len;
}

/** HPET description table (IA-PC HPET 1.0a, 3.2.4): 56 bytes. */
static void build_hpet(uint8_t *t)
{
    put_header(t, "HPET", 56, 1);
    /* Event Timer Block ID: vendor 0x8086, legacy-route capable, 64-bit, 3 comparators, rev 1. */
    boot_wr32(t + 36, 0x8086A201u);
    put_gas(t + 40, 0, 64, 0, PC_HPET_BASE);
    t[52] = 0;                                      /* HPET number */
    boot_wr16(t + 53, 0x80);                        /* main counter minimum clock tick */
    t[55] = 0;                                      /* no page protection */
}

uint64_t acpi_build_tables(struct guest_mem *mem, uint64_t base_gpa, uint64_t size_bytes, int ncpus)
{
    return acpi_build_tables_devs(mem, base_gpa, size_bytes, ncpus, NULL);
}

uint64_t acpi_build_tables_devs(struct guest_mem *mem, uint64_t base_gpa, uint64_t size_bytes,
                                int ncpus, const struct board_devices *devs)
{
    if (ncpus < 1 || ncpus > 255 || size_bytes < 4096 || (base_gpa & 15))
        return 0;
    if (size_bytes > 0x100000)
        size_bytes = 0x100000;
    struct acpi_area a = { .buf = calloc(1, size_bytes), .size = size_bytes, .base_gpa = base_gpa };
    if (!a.buf)
        return 0;

    struct aml *dsdt_aml = calloc(1, sizeof(*dsdt_aml));
    if (!dsdt_aml) {
        free(a.buf);
        return 0;
    }
    build_dsdt_aml(dsdt_aml, devs);

    enum { N_XSDT = 3 };   /* FADT, MADT, HPET */
    uint32_t madt_len = build_madt(NULL, ncpus);
    uint64_t rsdp = area_alloc(&a, 36, 16);
    uint64_t facs = area_alloc(&a, FACS_LEN, 64);
    uint64_t rsdt = area_alloc(&a, HDR_LEN + 4 * N_XSDT, 16);
    uint64_t xsdt = area_alloc(&a, HDR_LEN + 8 * N_XSDT, 16);
    uint64_t fadt = area_alloc(&a, FADT_LEN, 16);
    uint64_t dsdt = area_alloc(&a, HDR_LEN + dsdt_aml->n, 16);
    uint64_t madt = area_alloc(&a, madt_len, 16);
    uint64_t hpet = area_alloc(&a, 56, 16);
    if (a.overflow || dsdt_aml->overflow || base_gpa + a.used > (1ull << 32)) {
        qlog(LOG_GUEST_ERRORS, "acpi: tables do not fit in %#llx bytes at %#llx",
             (unsigned long long)size_bytes, (unsigned long long)base_gpa);
        free(dsdt_aml);
        free(a.buf);
        return 0;
    }
    uint8_t *b = a.buf;

    /* FACS (5.2.10): no checksum; version 2, no S4BIOS, no 64-bit wake support. */
    memcpy(b + facs, "FACS", 4);
    boot_wr32(b + facs + 4, FACS_LEN);
    b[facs + 32] = 2;

    /* DSDT: header + AML. Revision 2: integers are 64 bits (19.6.30). */
    put_header(b + dsdt, "DSDT", (uint32_t)(HDR_LEN + dsdt_aml->n), 2);
    memcpy(b + dsdt + HDR_LEN, dsdt_aml->b, dsdt_aml->n);
    fix_checksum(b + dsdt);

    build_fadt(b + fadt, base_gpa + facs, base_gpa + dsdt);
    fix_checksum(b + fadt);
    build_madt(b + madt, ncpus);
    fix_checksum(b + madt);
    build_hpet(b + hpet);
    fix_checksum(b + hpet);

    const uint64_t entries[N_XSDT] = { fadt, madt, hpet };
    put_header(b + rsdt, "RSDT", HDR_LEN + 4 * N_XSDT, 1);
    put_header(b + xsdt, "XSDT", HDR_LEN + 8 * N_XSDT, 1);
    for (int i = 0; i < N_XSDT; i++) {
        boot_wr32(b + rsdt + HDR_LEN + 4 * i, (uint32_t)(base_gpa + entries[i]));
        boot_wr64(b + xsdt + HDR_LEN + 8 * i, base_gpa + entries[i]);
    }
    fix_checksum(b + rsdt);
    fix_checksum(b + xsdt);

    /* RSDP (5.2.5.3): checksum over the first 20 bytes, extended over all 36. */
    uint8_t *r = b + rsdp;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, ACPI_OEM_ID, 6);
    r[15] = 2;
    boot_wr32(r + 16, (uint32_t)(base_gpa + rsdt));
    boot_wr32(r + 20, 36);
    boot_wr64(r + 24, base_gpa + xsdt);
    r[8] = (uint8_t)(0 - acpi_sum(r, 20));
    r[32] = (uint8_t)(0 - acpi_sum(r, 36));

    int rc = gpa_write(mem, base_gpa, b, a.used);
    free(dsdt_aml);
    free(a.buf);
    return rc ? 0 : base_gpa + rsdp;
}
