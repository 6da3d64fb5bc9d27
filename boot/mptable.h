/*
 * boot/mptable.h - private to boot/: the Intel MultiProcessor Specification
 * 1.4 tables (MP floating pointer + MP configuration table) the pc board
 * writes for guests that do not use ACPI (Linux with acpi=off).
 */
#ifndef QTEMU_BOOT_MPTABLE_H
#define QTEMU_BOOT_MPTABLE_H

#include <stdint.h>

#include "mmu/mmu.h"

/** Where the pc board puts them: BIOS ROM area, scanned by MP spec 4 / Linux. */
#define PC_MPTABLE_GPA 0xF0000ull

/**
 * Write the MP floating pointer at @gpa (16-byte aligned, inside
 * 0xF0000-0xFFFFF so the MP spec 1.4 section 4 scan finds it) followed by
 * the configuration table for @ncpus processors (APIC ID = index, the BSP
 * is 0), the ISA bus, the IOAPIC at IOAPIC_DEFAULT_BASE (ID 0) with ISA IRQ
 * n on INTIN n except IRQ0 on INTIN2, ExtINT on the BSP's LINT0 and NMI on
 * every LINT1 - the same machine the MADT describes. Returns the bytes
 * written, or 0 if @ncpus is out of 1..255, @gpa is misaligned or the
 * range is not RAM.
 */
uint64_t pc_build_mptable(struct guest_mem *mem, uint64_t gpa, int ncpus);

#endif
