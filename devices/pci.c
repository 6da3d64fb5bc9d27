/*
 * devices/pci.c - the PCI host bridge: configuration mechanism #1, BAR
 * assignment and mapping, INTx routing and MSI-X (devices/pci.h).
 *
 * Follows the PCI Local Bus Specification 3.0:
 *  - 3.2.2.3.2 configuration mechanism #1: CONFIG_ADDRESS at 0xCF8 (dword
 *    accesses only; bit 31 enable, bus 23:16, device 15:11, function 10:8,
 *    register 7:2) and CONFIG_DATA at 0xCFC-0xCFF (byte, word, dword);
 *  - 6.1 type 0 header, 6.2.5 BARs, 6.7 capabilities, 6.8.2 MSI-X.
 *
 * Decided:
 *  - the host bridge at 00:00.0 is an Intel 82441FX (440FX, 8086:1237,
 *    class 0x060000), as QEMU's pc machine; one bus (0), no functions > 0,
 *    no PCI Express extended space (no MCFG: Linux uses mechanism #1);
 *  - 0xCF8-0xCFB is one 4-byte region. The reset control register at 0xCF9
 *    (devices/pc_reset.c) lives inside it, so the host takes that region
 *    over and forwards byte accesses at 0xCF9 to it (as QEMU, where the
 *    PIIX reset register overlaps the config address register); other
 *    non-dword accesses to 0xCF8-0xCFB read all ones / are dropped;
 *  - there is no firmware: BARs are assigned at device creation, bottom up
 *    from PCI_MMIO_WINDOW_BASE / PCI_IO_WINDOW_BASE, naturally aligned, with
 *    I/O and memory decoding enabled. Linux keeps assignments that lie in
 *    the host bridge's _CRS windows (boot/acpi.c);
 *  - a BAR is mapped while its decode bit is set and its address is not the
 *    sizing pattern; a clash with another region leaves it unmapped (logged);
 *  - INTx: slot S pin P (0 = INTA) -> line (S + P) & 3 -> GSI 16 + line,
 *    shared lines are a wired OR (a count of asserted functions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "util/log.h"

#define CONFIG_ADDRESS_PORT 0xCF8
#define CONFIG_DATA_PORT    0xCFC
#define RESET_CONTROL_PORT  0xCF9
#define MSIX_PBA_OFFSET     0x800
#define MSIX_BAR_SIZE       0x1000

/** The host bridge and bus 0. */
struct pci_host {
    struct bus *bus;
    uint32_t config_address;
    struct pci_device bridge;
    struct pci_device *slots[PCI_SLOTS];
    struct irq_line intx[4];
    int intx_count[4];                 /* asserted functions per line */
    uint64_t mmio_next, io_next;
    struct io_region reset_ctl;        /* the 0xCF9 region we took over, if any */
    bool have_reset_ctl;
};

/* ---------------------------------------------------------------- config helpers */

void pci_set_config(struct pci_device *d, uint32_t offset, uint32_t value, unsigned len)
{
    for (unsigned i = 0; i < len && offset + i < PCI_CONFIG_SIZE; i++)
        d->config[offset + i] = (uint8_t)(value >> (8 * i));
}

uint32_t pci_get_config(const struct pci_device *d, uint32_t offset, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len && offset + i < PCI_CONFIG_SIZE; i++)
        v |= (uint32_t)d->config[offset + i] << (8 * i);
    return v;
}

void pci_set_wmask(struct pci_device *d, uint32_t offset, uint32_t mask, unsigned len)
{
    for (unsigned i = 0; i < len && offset + i < PCI_CONFIG_SIZE; i++)
        d->wmask[offset + i] = (uint8_t)(mask >> (8 * i));
}

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
                     uint32_t class_code, uint8_t revision)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    pci_set_config(d, PCI_VENDOR_ID, vendor, 2);
    pci_set_config(d, PCI_DEVICE_ID, device, 2);
    pci_set_config(d, PCI_REVISION_ID, revision, 1);
    pci_set_config(d, PCI_CLASS_PROG, class_code, 3);
    pci_set_config(d, PCI_HEADER_TYPE, 0, 1);
    pci_set_config(d, PCI_INTERRUPT_PIN, 1, 1);          /* INTA# */
    pci_set_wmask(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
              PCI_COMMAND_INTX_DISABLE, 2);
    pci_set_wmask(d, 0x0C, 0xFF, 1);                          /* cache line size */
    pci_set_wmask(d, 0x0D, 0xFF, 1);                          /* latency timer */
    pci_set_wmask(d, PCI_INTERRUPT_LINE, 0xFF, 1);
    for (int i = 0; i < PCI_NUM_BARS; i++)
        d->bar[i].mapped_at = PCI_BAR_UNMAPPED;
    d->cap_next = 0x40;
}

uint8_t pci_add_capability(struct pci_device *d, uint8_t cap_id, uint8_t len)
{
    unsigned off = (d->cap_next + 3u) & ~3u;
    if (len < 2 || off + len > PCI_CONFIG_SIZE)
        return 0;
    d->config[off] = cap_id;
    d->config[off + 1] = d->config[PCI_CAPABILITY_LIST];  /* prepend: list order is free */
    d->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
    pci_set_config(d, PCI_STATUS, pci_get_config(d, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, 2);
    d->cap_next = (uint8_t)(off + len < PCI_CONFIG_SIZE ? off + len : 0xFF);
    return (uint8_t)off;
}

/* ---------------------------------------------------------------- BARs */

/** The address BAR @i decodes now, or PCI_BAR_UNMAPPED if it should not be mapped. */
static uint64_t bar_address(const struct pci_device *d, int i)
{
    const struct pci_bar *b = &d->bar[i];
    uint16_t cmd = (uint16_t)pci_get_config(d, PCI_COMMAND, 2);
    uint64_t addr;
    if (b->io) {
        if (!(cmd & PCI_COMMAND_IO))
            return PCI_BAR_UNMAPPED;
        addr = pci_get_config(d, PCI_BAR0 + 4 * i, 4) & ~3u;
        if (addr + b->size > 0x10000)
            return PCI_BAR_UNMAPPED;
    } else {
        if (!(cmd & PCI_COMMAND_MEMORY))
            return PCI_BAR_UNMAPPED;
        addr = pci_get_config(d, PCI_BAR0 + 4 * i, 4) & ~0xFu;
        if (b->mem64)
            addr |= (uint64_t)pci_get_config(d, PCI_BAR0 + 4 * (i + 1), 4) << 32;
        /* All ones left by sizing, or past the physical address width. */
        if (addr + b->size < addr || addr + b->size > (1ull << 40) ||
            addr == (~(b->size - 1) & (b->mem64 ? ~0ull : 0xFFFFFFFFull) & ~0xFull))
            return PCI_BAR_UNMAPPED;
    }
    if (addr == 0)
        return PCI_BAR_UNMAPPED;
    return addr;
}

/** Bring the bus mappings of @d's BARs in line with its config space. */
static void update_mappings(struct pci_device *d)
{
    struct bus *bus = d->host->bus;
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &d->bar[i];
        if (!b->size)
            continue;
        struct io_space *space = b->io ? &bus->pio : &bus->mmio;
        uint64_t want = bar_address(d, i);
        if (want == b->mapped_at)
            continue;
        if (b->mapped_at != PCI_BAR_UNMAPPED)
            io_space_remove(space, b->mapped_at);
        b->mapped_at = PCI_BAR_UNMAPPED;
        if (want == PCI_BAR_UNMAPPED)
            continue;
        struct io_region r = { .base = want, .size_bytes = b->size, .ops = b->ops,
                               .opaque = b->opaque, .name = b->name };
        if (io_space_add(space, &r) == 0)
            b->mapped_at = want;
        else
            qlog(LOG_GUEST_ERRORS, "pci %s: BAR%d at %#llx clashes with another region; not mapped",
                 d->name, i, (unsigned long long)want);
    }
}

static int assign_bars(struct pci_host *h, struct pci_device *d)
{
    for (int i = 0; i < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &d->bar[i];
        if (!b->size)
            continue;
        if ((b->size & (b->size - 1)) || (b->mem64 && i == PCI_NUM_BARS - 1))
            return -EINVAL;
        if (b->io) {
            if (b->size < 4 || b->size > 256)
                return -EINVAL;
            uint64_t a = (h->io_next + b->size - 1) & ~(b->size - 1);
            if (a + b->size - 1 > PCI_IO_WINDOW_END)
                return -ENOSPC;
            h->io_next = a + b->size;
            pci_set_config(d, PCI_BAR0 + 4 * i, (uint32_t)a | 1, 4);
            pci_set_wmask(d, PCI_BAR0 + 4 * i, ~(uint32_t)(b->size - 1) & ~3u, 4);
        } else {
            uint64_t size = b->size < 16 ? 16 : b->size;
            b->size = size;
            uint64_t a = (h->mmio_next + size - 1) & ~(size - 1);
            if (a + size - 1 > PCI_MMIO_WINDOW_END)
                return -ENOSPC;
            h->mmio_next = a + size;
            pci_set_config(d, PCI_BAR0 + 4 * i, (uint32_t)a | (b->mem64 ? 0x4 : 0), 4);
            pci_set_wmask(d, PCI_BAR0 + 4 * i, ~(uint32_t)(size - 1) & ~0xFu, 4);
            if (b->mem64) {
                pci_set_config(d, PCI_BAR0 + 4 * (i + 1), 0, 4);
                pci_set_wmask(d, PCI_BAR0 + 4 * (i + 1), 0xFFFFFFFFu, 4);
                i++;
            }
        }
    }
    uint16_t cmd = (uint16_t)pci_get_config(d, PCI_COMMAND, 2);
    pci_set_config(d, PCI_COMMAND, cmd | PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    return 0;
}

/* ---------------------------------------------------------------- INTx */

static void intx_update(struct pci_device *d, bool level)
{
    struct pci_host *h = d->host;
    int line = ((d->devfn >> 3) + d->config[PCI_INTERRUPT_PIN] - 1) & 3;
    if (level == d->intx_level)
        return;
    d->intx_level = level;
    h->intx_count[line] += level ? 1 : -1;
    irq_set(&h->intx[line], h->intx_count[line] > 0);
}

void pci_set_irq(struct pci_device *d, int level)
{
    uint16_t status = (uint16_t)pci_get_config(d, PCI_STATUS, 2);
    pci_set_config(d, PCI_STATUS, level ? status | PCI_STATUS_INTERRUPT
                                        : status & ~PCI_STATUS_INTERRUPT, 2);
    bool disabled = pci_get_config(d, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
    if (d->host)
        intx_update(d, level && !disabled);
}

/* ---------------------------------------------------------------- MSI-X */

static uint16_t msix_control(const struct pci_device *d)
{
    return (uint16_t)pci_get_config(d, d->msix.cap + 2, 2);
}

bool pci_msix_enabled(const struct pci_device *d)
{
    return d->msix.nvec && (msix_control(d) & 0x8000);
}

static bool msix_masked(const struct pci_device *d, unsigned v)
{
    return (msix_control(d) & 0x4000) || (d->msix.table[16 * v + 12] & 1);
}

static void msix_send(struct pci_device *d, unsigned v)
{
    const uint8_t *e = &d->msix.table[16 * v];
    uint64_t addr = 0;
    uint32_t data = 0;
    for (int k = 7; k >= 0; k--)
        addr = addr << 8 | e[k];
    for (int k = 3; k >= 0; k--)
        data = data << 8 | e[8 + k];
    lapic_send_msi(addr, data);
}

void pci_msix_notify(struct pci_device *d, unsigned vector)
{
    if (vector >= d->msix.nvec) {
        qlog(LOG_GUEST_ERRORS, "pci %s: MSI-X vector %u beyond table size %u",
             d->name, vector, d->msix.nvec);
        return;
    }
    if (!pci_msix_enabled(d))
        return;
    if (msix_masked(d, vector)) {
        d->msix.pba |= 1ull << vector;
        return;
    }
    msix_send(d, vector);
}

/** Deliver pending vectors that are no longer masked (6.8.2.9). */
static void msix_flush_pending(struct pci_device *d)
{
    if (!pci_msix_enabled(d))
        return;
    for (unsigned v = 0; v < d->msix.nvec; v++) {
        if ((d->msix.pba >> v & 1) && !msix_masked(d, v)) {
            d->msix.pba &= ~(1ull << v);
            msix_send(d, v);
        }
    }
}

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_device *d = opaque;
    uint64_t v = 0;
    if (off + size <= 16ull * d->msix.nvec) {
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)d->msix.table[off + i] << (8 * i);
    } else if (off >= MSIX_PBA_OFFSET && off + size <= MSIX_PBA_OFFSET + 8) {
        v = d->msix.pba >> (8 * (off - MSIX_PBA_OFFSET));
    }
    return v;
}

static void msix_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct pci_device *d = opaque;
    if (off + size > 16ull * d->msix.nvec) {
        if (off < MSIX_PBA_OFFSET)
            qlog(LOG_GUEST_ERRORS, "pci %s: MSI-X write beyond the table at %#llx",
                 d->name, (unsigned long long)off);
        return;   /* the PBA is read-only */
    }
    for (unsigned i = 0; i < size; i++)
        d->msix.table[off + i] = (uint8_t)(value >> (8 * i));
    msix_flush_pending(d);
}

static const struct io_ops msix_ops = { msix_read, msix_write, 4, 8 };

int pci_msix_init(struct pci_device *d, unsigned nvec, int bar)
{
    if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_NUM_BARS || d->bar[bar].size)
        return -EINVAL;
    uint8_t cap = pci_add_capability(d, PCI_CAP_ID_MSIX, 12);
    if (!cap)
        return -EINVAL;
    d->msix.nvec = nvec;
    d->msix.cap = cap;
    d->msix.bar = bar;
    pci_set_config(d, cap + 2, nvec - 1, 2);              /* Message Control: table size */
    pci_set_wmask(d, cap + 2, 0xC000, 2);                     /* MSI-X Enable, Function Mask */
    pci_set_config(d, cap + 4, 0 | (uint32_t)bar, 4);     /* Table offset 0, BIR */
    pci_set_config(d, cap + 8, MSIX_PBA_OFFSET | (uint32_t)bar, 4);
    for (unsigned v = 0; v < nvec; v++)
        d->msix.table[16 * v + 12] = 1;                   /* vectors start masked */
    d->bar[bar] = (struct pci_bar){ .size = MSIX_BAR_SIZE, .ops = &msix_ops, .opaque = d,
                                    .name = "msix", .mapped_at = PCI_BAR_UNMAPPED };
    return 0;
}

/* ---------------------------------------------------------------- config access */

static struct pci_device *lookup(struct pci_host *h, uint32_t addr)
{
    if (((addr >> 16) & 0xFF) != 0 || ((addr >> 8) & 7) != 0)
        return NULL;            /* bus 0, function 0 only */
    return h->slots[(addr >> 11) & 31];
}

static uint32_t config_read(struct pci_host *h, unsigned off, unsigned size)
{
    struct pci_device *d = lookup(h, h->config_address);
    if (!d)
        return 0xFFFFFFFFu;
    unsigned reg = (h->config_address & 0xFC) + off;
    if (d->config_read)
        d->config_read(d, reg, size);
    return pci_get_config(d, reg, size);
}

static void config_write(struct pci_host *h, unsigned off, uint32_t value, unsigned size)
{
    struct pci_device *d = lookup(h, h->config_address);
    if (!d)
        return;
    unsigned reg = (h->config_address & 0xFC) + off;
    bool msix_ctl_touched = d->msix.nvec && reg < d->msix.cap + 4u && reg + size > d->msix.cap + 2u;
    for (unsigned i = 0; i < size && reg + i < PCI_CONFIG_SIZE; i++) {
        uint8_t m = d->wmask[reg + i];
        d->config[reg + i] = (uint8_t)((d->config[reg + i] & ~m) | ((value >> (8 * i)) & m));
    }
    if (reg < PCI_BAR0 + 24 && reg + size > PCI_COMMAND)
        update_mappings(d);
    if (reg <= PCI_COMMAND + 1 && reg + size > PCI_COMMAND + 1) {
        /* INTX_DISABLE changed: re-evaluate the pin. */
        bool st = pci_get_config(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT;
        pci_set_irq(d, st);
    }
    if (msix_ctl_touched)
        msix_flush_pending(d);
    if (d->config_written)
        d->config_written(d, reg, size);
}

static uint64_t addr_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_host *h = opaque;
    if (off == 0 && size == 4)
        return h->config_address;
    if (off == 1 && size == 1 && h->have_reset_ctl)
        return h->reset_ctl.ops->read(h->reset_ctl.opaque, 0, 1);
    return 0xFFFFFFFFu;
}

static void addr_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct pci_host *h = opaque;
    if (off == 0 && size == 4)
        h->config_address = (uint32_t)value & 0x80FFFFFCu;
    else if (off == 1 && size == 1 && h->have_reset_ctl)
        h->reset_ctl.ops->write(h->reset_ctl.opaque, 0, value, 1);
}

static uint64_t data_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_host *h = opaque;
    if (!(h->config_address & 0x80000000u) || (off & (size - 1)))
        return 0xFFFFFFFFu;
    return config_read(h, (unsigned)off, size);
}

static void data_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    struct pci_host *h = opaque;
    if (!(h->config_address & 0x80000000u) || (off & (size - 1)))
        return;
    config_write(h, (unsigned)off, (uint32_t)value, size);
}

static const struct io_ops addr_ops = { addr_read, addr_write, 1, 4 };
static const struct io_ops data_ops = { data_read, data_write, 1, 4 };

int pci_device_register(struct pci_host *h, struct pci_device *d, int slot)
{
    if (slot < 0) {
        for (slot = 1; slot < PCI_SLOTS && h->slots[slot]; slot++)
            ;
        if (slot == PCI_SLOTS)
            return -ENOSPC;
    }
    if (slot < 1 || slot >= PCI_SLOTS)
        return -EINVAL;
    if (h->slots[slot])
        return -EBUSY;
    d->host = h;
    d->devfn = (uint8_t)(slot << 3);
    uint64_t mmio_save = h->mmio_next, io_save = h->io_next;
    int rc = assign_bars(h, d);
    if (rc) {
        h->mmio_next = mmio_save;
        h->io_next = io_save;
        return rc;
    }
    pci_set_config(d, PCI_INTERRUPT_LINE,
                   PCI_INTX_GSI_BASE + ((slot + d->config[PCI_INTERRUPT_PIN] - 1) & 3), 1);
    h->slots[slot] = d;
    update_mappings(d);
    return 0;
}

struct pci_host *pci_host_create(struct bus *bus, const struct irq_line intx[4])
{
    struct pci_host *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->bus = bus;
    for (int i = 0; i < 4; i++)
        h->intx[i] = intx ? intx[i] : (struct irq_line){0};
    h->mmio_next = PCI_MMIO_WINDOW_BASE;
    h->io_next = PCI_IO_WINDOW_BASE;

    const struct io_region *rc = io_space_find(&bus->pio, RESET_CONTROL_PORT);
    if (rc) {
        if (rc->base != RESET_CONTROL_PORT || rc->size_bytes != 1) {
            free(h);
            return NULL;
        }
        h->reset_ctl = *rc;
        h->have_reset_ctl = true;
        io_space_remove(&bus->pio, RESET_CONTROL_PORT);
    }
    struct io_region ra = { .base = CONFIG_ADDRESS_PORT, .size_bytes = 4, .ops = &addr_ops,
                            .opaque = h, .name = "pci-conf-addr" };
    struct io_region rd = { .base = CONFIG_DATA_PORT, .size_bytes = 4, .ops = &data_ops,
                            .opaque = h, .name = "pci-conf-data" };
    if (io_space_add(&bus->pio, &ra)) {
        if (h->have_reset_ctl)
            io_space_add(&bus->pio, &h->reset_ctl);
        free(h);
        return NULL;
    }
    if (io_space_add(&bus->pio, &rd)) {
        io_space_remove(&bus->pio, CONFIG_ADDRESS_PORT);
        if (h->have_reset_ctl)
            io_space_add(&bus->pio, &h->reset_ctl);
        free(h);
        return NULL;
    }

    /* 00:00.0: Intel 82441FX PMC (440FX) host bridge, class 06/00/00. */
    struct pci_device *br = &h->bridge;
    pci_device_init(br, "i440fx", 0x8086, 0x1237, 0x060000, 0x02);
    pci_set_config(br, PCI_INTERRUPT_PIN, 0, 1);
    pci_set_config(br, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    br->host = h;
    h->slots[0] = br;
    return h;
}
