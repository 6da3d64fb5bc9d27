/*
 * tests/unit/test_mptable.c - the MP spec 1.4 tables (boot/mptable.c) read
 * back from guest RAM and parsed as MP spec 1.4 chapter 4 lays them out
 * (4.1 floating pointer, 4.2 header, 4.3 entries with their fixed lengths:
 * processor 20 bytes, bus/IOAPIC/interrupt 8 bytes). Oracles: the spec's
 * checksum rule (all bytes sum to 0), its entry lengths and the entry count
 * in the header, and the machine the MADT describes (APIC ID = index, BSP
 * 0, IOAPIC at 0xFEC00000, IRQ0 on INTIN2). Linux parsing the same table
 * is tests/system/70-smp.t.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "boot/mptable.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

Test(mptable, layout_for_each_cpu_count)
{
    for (int ncpus = 1; ncpus <= 8; ncpus++) {
        struct guest_mem mem;
        cr_assert_eq(guest_mem_init_pc(&mem, 4ull << 20, 0xC0000000ull, NULL), 0);
        uint64_t len = pc_build_mptable(&mem, PC_MPTABLE_GPA, ncpus);
        cr_assert_gt(len, 16);
        const uint8_t *fp = gpa_map(&mem, PC_MPTABLE_GPA, 16);
        cr_assert_not_null(fp);
        cr_assert_eq(memcmp(fp, "_MP_", 4), 0);
        cr_assert_eq(fp[8], 1, "one paragraph");
        cr_assert_eq(fp[9], 4, "spec 1.4");
        cr_assert_eq(sum(fp, 16), 0, "floating pointer checksum");
        cr_assert_eq(fp[11], 0, "configuration table present");
        uint32_t tbl = rd32(fp + 4);
        cr_assert_geq(tbl, 0xF0000u);
        const uint8_t *t = gpa_map(&mem, tbl, 44);
        cr_assert_eq(memcmp(t, "PCMP", 4), 0);
        uint16_t tlen = rd16(t + 4);
        t = gpa_map(&mem, tbl, tlen);
        cr_assert_not_null(t);
        cr_assert_eq(sum(t, tlen), 0, "configuration table checksum");
        cr_assert_eq(rd32(t + 36), (uint32_t)LAPIC_DEFAULT_BASE);
        cr_assert_eq(16 + (uint64_t)tlen, len);

        /* Walk the entries by their spec lengths. */
        int count = rd16(t + 34), cpus = 0, bsps = 0, ioapics = 0, irq0_pin = -1, extint = 0;
        const uint8_t *e = t + 44, *end = t + tlen;
        for (int i = 0; i < count; i++) {
            cr_assert_lt(e, end, "entry %d past the table", i);
            switch (e[0]) {
            case 0:
                cr_assert_eq(e[1], cpus, "APIC ID = index");
                cr_assert(e[3] & 1, "enabled");
                bsps += (e[3] >> 1) & 1;
                if (e[3] & 2)
                    cr_assert_eq(e[1], 0, "BSP is APIC 0");
                cpus++;
                e += 20;
                break;
            case 1:
                cr_assert_eq(memcmp(e + 2, "ISA   ", 6), 0);
                e += 8;
                break;
            case 2:
                cr_assert_eq(rd32(e + 4), (uint32_t)IOAPIC_DEFAULT_BASE);
                ioapics++;
                e += 8;
                break;
            case 3:
                if (e[5] == 0)
                    irq0_pin = e[7];
                e += 8;
                break;
            case 4:
                extint += e[1] == 3 && e[6] == 0 && e[7] == 0;
                e += 8;
                break;
            default:
                cr_assert_fail("unknown entry type %u", e[0]);
            }
        }
        cr_assert_eq(e, end, "entry count and lengths cover the table exactly");
        cr_assert_eq(cpus, ncpus);
        cr_assert_eq(bsps, 1);
        cr_assert_eq(ioapics, 1);
        cr_assert_eq(irq0_pin, 2, "IRQ0 -> INTIN2 as the MADT override");
        cr_assert_eq(extint, 1, "8259 ExtINT on the BSP's LINT0");
        guest_mem_destroy(&mem);
    }
}

Test(mptable, refuses_bad_arguments)
{
    struct guest_mem mem;
    cr_assert_eq(guest_mem_init_pc(&mem, 4ull << 20, 0xC0000000ull, NULL), 0);
    cr_assert_eq(pc_build_mptable(&mem, PC_MPTABLE_GPA, 0), 0);
    cr_assert_eq(pc_build_mptable(&mem, PC_MPTABLE_GPA, 256), 0);
    cr_assert_eq(pc_build_mptable(&mem, PC_MPTABLE_GPA + 4, 2), 0, "misaligned");
    cr_assert_eq(pc_build_mptable(&mem, 0x10000000ull, 2), 0, "not RAM");
    guest_mem_destroy(&mem);
}
