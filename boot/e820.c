/*
 * boot/e820.c - the pc board's BIOS-style memory map (INT 15h E820h; ACPI 6.4
 * ch. 15 "System Address Map Interfaces", Table 15.312 address range types).
 *
 * Decided (what QEMU + SeaBIOS show Linux, minus the BIOS ROM, which we do
 * not have):
 *   [0, 0x9FC00)             RAM (conventional memory)
 *   [0x9FC00, 0xA0000)       reserved (where a BIOS keeps its EBDA)
 *   [0xE0000, 0x100000)      reserved (our ACPI tables live at 0xE0000)
 *   [0x100000, low_top)      RAM, low_top = min(RAM, 3 GiB)
 *   [0xFEFFC000, 0xFF000000) reserved (QEMU reserves it for KVM's TSS/EPT page)
 *   [4 GiB, 4 GiB + rest)    RAM above the PCI hole
 * The VGA window 0xA0000-0xDFFFF is left out of the map (a hole), as on PCs.
 * The LAPIC, IOAPIC and HPET are described by ACPI, not by e820 (as in QEMU).
 */
#include "boot/machine.h"
#include "boot/x86_boot.h"
#include "mmu/mmu.h"

/** Append one entry if there is room; returns false when full. */
static bool add(struct e820_entry *out, int max, int *n, uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0)
        return true;
    if (*n >= max)
        return false;
    out[*n] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
    (*n)++;
    return true;
}

int pc_build_e820(uint64_t ram_bytes, struct e820_entry *out, int max)
{
    ram_bytes = (ram_bytes + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK;
    uint64_t low = ram_bytes < PC_LOW_RAM_LIMIT ? ram_bytes : PC_LOW_RAM_LIMIT;
    uint64_t high = ram_bytes - low;
    int n = 0;
    bool ok = add(out, max, &n, 0, low < 0x9FC00 ? low : 0x9FC00, E820_RAM);
    ok = ok && add(out, max, &n, 0x9FC00, 0x400, E820_RESERVED);
    ok = ok && add(out, max, &n, 0xE0000, 0x20000, E820_RESERVED);
    if (low > 0x100000)
        ok = ok && add(out, max, &n, 0x100000, low - 0x100000, E820_RAM);
    ok = ok && add(out, max, &n, 0xFEFFC000, 0x4000, E820_RESERVED);
    if (high)
        ok = ok && add(out, max, &n, 1ull << 32, high, E820_RAM);
    return ok ? n : 0;
}
