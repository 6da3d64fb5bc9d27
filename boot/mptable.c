/*
 * boot/mptable.c - Intel MultiProcessor Specification 1.4 tables for the pc
 * board (MP spec 1.4 chapter 4 "MP Configuration Table", 4.1 MP Floating
 * Pointer Structure, 4.2 MP Configuration Table Header, 4.3 Base MP
 * Configuration Table Entries). Linux reads them when it does not use ACPI
 * (acpi=off: arch/x86/kernel/mpparse.c), so "-smp N" also works there.
 *
 * Decided (as SeaBIOS's src/fw/mptable.c does for QEMU):
 *  - the floating pointer says "configuration table present" (feature byte
 *    1 = 0) and virtual wire mode (IMCRP = 0): the 8259 reaches the BSP
 *    through LINT0 ExtINT, as the LAPIC model's reset state has it;
 *  - processor entries: APIC ID = vCPU index, version 0x14 (devices/lapic.c),
 *    BSP flag on 0, signature family 6 model 15 stepping 11 and the CPUID.1
 *    EDX bits FPU|TSC|MSR|PAE|CX8|APIC|CMOV (what every qemu64 has);
 *  - one ISA bus (ID 0); no PCI bus entries: with acpi=off PCI INTx routing
 *    is not described (limitation; ACPI's _PRT describes it);
 *  - IOAPIC ID 0, version 0x11 (devices/ioapic.c), ISA IRQ n -> INTIN n with
 *    IRQ0 -> INTIN2 and no entry for IRQ2 (the MADT's override), flags
 *    "conforms to the bus"; ExtINT -> BSP LINT0, NMI -> all LINT1.
 */
#include <stdbool.h>
#include <string.h>

#include "boot/mptable.h"
#include "devices/bus.h"

#define MP_SPEC_REV        4        /* 1.4 */
#define MP_APIC_VERSION    0x14
#define MP_IOAPIC_VERSION  0x11
#define MP_CPU_SIGNATURE   0x000006fbu
#define MP_CPU_FEATURES    ((1u << 0) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | \
                            (1u << 9) | (1u << 15))

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINTR = 3, MP_LINTR = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }

/* Two's-complement checksum byte making the sum of @len bytes zero. */
static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

/* An I/O (type 3) or local (type 4) interrupt assignment entry, 8 bytes (4.3.4/4.3.5). */
static uint8_t *put_intr(uint8_t *e, uint8_t type, uint8_t irqtype, uint8_t src_irq,
                         uint8_t dst_id, uint8_t dst_pin)
{
    e[0] = type;
    e[1] = irqtype;
    wr16(e + 2, 0);             /* polarity/trigger: conform to the bus */
    e[4] = 0;                   /* source bus: ISA */
    e[5] = src_irq;
    e[6] = dst_id;
    e[7] = dst_pin;
    return e + 8;
}

uint64_t pc_build_mptable(struct guest_mem *mem, uint64_t gpa, int ncpus)
{
    if (ncpus < 1 || ncpus > 255 || (gpa & 15))
        return 0;
    /* processors, ISA bus, IOAPIC, 15 ISA interrupts, 2 local interrupts */
    enum { N_ISA = 15, N_LOCAL = 2 };
    size_t cfg_len = 44 + 20u * (size_t)ncpus + 8 + 8 + 8u * (N_ISA + N_LOCAL);
    size_t total = 16 + cfg_len;
    uint8_t buf[16 + 44 + 20 * 255 + 8 + 8 + 8 * (N_ISA + N_LOCAL)];
    memset(buf, 0, total);

    /* 4.1 MP Floating Pointer Structure */
    uint8_t *fp = buf;
    memcpy(fp, "_MP_", 4);
    wr32(fp + 4, (uint32_t)(gpa + 16));    /* configuration table follows it */
    fp[8] = 1;                             /* length in 16-byte paragraphs */
    fp[9] = MP_SPEC_REV;
    fp[11] = 0;                            /* feature 1: table present, no default config */
    fp[12] = 0;                            /* feature 2: IMCRP = 0, virtual wire mode */
    fp[10] = checksum(fp, 16);

    /* 4.2 MP Configuration Table Header */
    uint8_t *t = buf + 16;
    memcpy(t, "PCMP", 4);
    wr16(t + 4, (uint16_t)cfg_len);
    t[6] = MP_SPEC_REV;
    memcpy(t + 8, "QTEMU   ", 8);          /* OEM ID */
    memcpy(t + 16, "QTEMUPC     ", 12);    /* product ID */
    wr16(t + 34, (uint16_t)(ncpus + 2 + N_ISA + N_LOCAL));   /* entry count */
    wr32(t + 36, (uint32_t)LAPIC_DEFAULT_BASE);

    uint8_t *e = t + 44;
    for (int i = 0; i < ncpus; i++, e += 20) {   /* 4.3.1 Processor Entries */
        e[0] = MP_PROCESSOR;
        e[1] = (uint8_t)i;                 /* local APIC ID */
        e[2] = MP_APIC_VERSION;
        e[3] = 1 | (i == 0 ? 2 : 0);       /* EN, BP */
        wr32(e + 4, MP_CPU_SIGNATURE);
        wr32(e + 8, MP_CPU_FEATURES);
    }
    e[0] = MP_BUS;                         /* 4.3.2 Bus Entries */
    e[1] = 0;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    e[0] = MP_IOAPIC;                      /* 4.3.3 I/O APIC Entries */
    e[1] = 0;
    e[2] = MP_IOAPIC_VERSION;
    e[3] = 1;                              /* EN */
    wr32(e + 4, (uint32_t)IOAPIC_DEFAULT_BASE);
    e += 8;
    for (int irq = 0; irq < 16; irq++) {   /* 4.3.4 I/O Interrupt Assignment Entries */
        if (irq == 2)
            continue;                      /* INTIN2 is IRQ0's (cascade is not routed) */
        e = put_intr(e, MP_IOINTR, MP_INT, (uint8_t)irq, 0, (uint8_t)(irq == 0 ? 2 : irq));
    }
    e = put_intr(e, MP_LINTR, MP_EXTINT, 0, 0, 0);       /* 4.3.5: 8259 -> BSP LINT0 */
    e = put_intr(e, MP_LINTR, MP_NMI, 0, 0xff, 1);       /* NMI -> every LINT1 */
    t[7] = checksum(t, cfg_len);

    if ((size_t)(e - buf) != total || gpa_write(mem, gpa, buf, total))
        return 0;
    return total;
}
