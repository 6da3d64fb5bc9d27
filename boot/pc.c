/*
 * boot/pc.c - the `pc` board: an x86-64 PC without firmware.
 *
 * Builds guest RAM (low RAM up to 3 GiB, the rest from 4 GiB), the legacy
 * ISA devices, the interrupt controllers and the vCPUs; writes the e820 map
 * and the ACPI tables; loads the kernel (bzImage 64-bit entry or PVH ELF,
 * see bzimage.c / pvh.c) and sets the boot vCPU's entry state.
 *
 * Wiring (as QEMU's pc/q35 machines and the MADT in acpi.c describe it):
 *   8259 pair INTR  -> BSP LAPIC LINT0 (ExtINT, virtual wire)
 *   ISA IRQ n       -> 8259 input n and IOAPIC pin n, except IRQ0 -> pin 2
 *                      (the "split" fan-out below)
 *   8254 PIT        -> ISA IRQ0;   RTC (mc146818) -> IRQ8
 *   COM1 16550 0x3F8 -> IRQ4;      i8042 -> IRQ1 / IRQ12
 *   ACPI PM block (ACPI_PM_BASE) SCI -> IRQ9
 *   HPET 0xFED00000 with legacy replacement onto the same ISA inputs
 *   IOAPIC 0xFEC00000, LAPIC 0xFEE00000 (APIC ID = vCPU index)
 *   MADT (ACPI) and MP spec 1.4 tables at 0xF0000 list every vCPU
 *   reset control 0xCF9 / port 0x92; isa-debug-exit on request
 *
 * Decided: a reset reloads the kernel, initrd, zero page and ACPI tables from
 * the bytes kept in memory and resets the vCPUs; device models have no reset
 * entry point in devices/bus.h yet, so they keep their state (Linux
 * reprograms them). Application processors stay in their reset state:
 * the x86 core parks every vCPU whose APIC lacks IA32_APIC_BASE.BSP in
 * wait-for-SIPI (no firmware does it), and the guest starts them with
 * INIT-SIPI-SIPI through its local APIC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/board_virtio.h"
#include "boot/firmware.h"
#include "boot/machine.h"
#include "boot/mptable.h"
#include "boot/x86_boot.h"
#include "cpu/vcpu.h"
#include "devices/bus.h"
#include "util/compiler.h"
#include "util/log.h"

#define PC_ISA_IRQS     16
#define PC_IOAPIC_PINS  24
#define PC_COM1_IOBASE  0x3F8
#define PC_COM1_IRQ     4
#define PC_MAX_IMAGE    (1ull << 31)    /* refuse kernel/initrd files over 2 GiB */

/** One ISA IRQ fanned out to the 8259 input and the IOAPIC pin. */
struct pc_split {
    struct irq_line pic;
    struct irq_line ioapic;
};

/** The pc board's private state (struct machine.board). */
struct pc_board {
    uint8_t *kernel;
    size_t kernel_len;
    uint8_t *initrd;
    size_t initrd_len;
    char *cmdline;

    struct e820_entry e820[PC_E820_MAX];
    int e820_count;
    uint64_t rsdp_gpa;
    struct boot_info boot;

    struct i8259 *pic;
    struct ioapic *ioapic;
    struct lapic *apics[MACHINE_MAX_CPUS];
    struct irq_line lint0;              /* BSP LAPIC LINT0, target of the 8259's INTR */
    struct pc_split split[PC_ISA_IRQS];
    struct irq_line isa_irq[PC_ISA_IRQS];   /* lines devices drive: -> split[n] */
    struct irq_line pic_pins[PC_ISA_IRQS];
    struct irq_line ioapic_pins[PC_IOAPIC_PINS];
    struct acpi_pm *acpi_pm;            /* for machine_power_button() */
};

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

/** irq_line sink: drive both halves of an ISA IRQ split. */
static void split_set_level(void *opaque, int line, int level)
{
    struct pc_board *b = opaque;
    if (line < 0 || line >= PC_ISA_IRQS)
        return;
    irq_set(&b->split[line].pic, level);
    irq_set(&b->split[line].ioapic, level);
}

/** irq_line sink for the 8259's INTR output: forward to the BSP's LINT0 once it exists. */
static void pic_intr_set_level(void *opaque, int line, int level)
{
    struct pc_board *b = opaque;
    irq_set(&b->lint0, level);
}

/** LAPIC EOI broadcast -> IOAPIC remote IRR (lapic_eoi_fn). */
static void pc_eoi_to_ioapic(void *opaque, uint8_t vector)
{
    ioapic_eoi(opaque, vector);
}

/**
 * Read the whole file at @path (a kernel or initrd, named by @what) into a
 * malloc'd buffer. Returns 0, or -1 with one line in @err.
 */
static int read_image(const char *what, const char *path, uint8_t **out, size_t *out_len,
                      char *err, size_t err_len)
{
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, err_len, "could not open %s '%s': %s", what, path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        set_err(err, err_len, "could not read %s '%s': %s", what, path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        set_err(err, err_len, "could not read %s '%s': %s", what, path, strerror(EISDIR));
        close(fd);
        return -1;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > PC_MAX_IMAGE) {
        set_err(err, err_len, "%s '%s' is too large (%lld bytes)", what, path,
                (long long)st.st_size);
        close(fd);
        return -1;
    }
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 1 << 20;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    if (!buf)
        goto nomem;
    for (;;) {
        if (len == cap) {
            if (cap >= PC_MAX_IMAGE) {
                set_err(err, err_len, "%s '%s' is too large", what, path);
                goto fail;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                goto nomem;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            set_err(err, err_len, "could not read %s '%s': %s", what, path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (len == 0) {
        set_err(err, err_len, "%s '%s' is empty", what, path);
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = len;
    return 0;

nomem:
    set_err(err, err_len, "out of memory reading %s '%s'", what, path);
fail:
    free(buf);
    close(fd);
    return -1;
}

/**
 * (Re)write the firmware tables and the kernel into RAM and set the boot
 * vCPU's entry state. Used by machine_create and machine_reset.
 */
static int pc_load(struct machine *m, char *err, size_t err_len)
{
    struct pc_board *b = m->board;
    b->rsdp_gpa = acpi_build_tables_devs(&m->mem, X86_ACPI_BASE_GPA, X86_ACPI_SIZE, m->ncpus,
                                         m->devs);
    if (!b->rsdp_gpa) {
        set_err(err, err_len, "could not build the ACPI tables (RAM too small?)");
        return -1;
    }
    /* MP spec 1.4 tables for guests without ACPI (acpi=off), boot/mptable.c. */
    if (!pc_build_mptable(&m->mem, PC_MPTABLE_GPA, m->ncpus)) {
        set_err(err, err_len, "could not write the MP tables (RAM too small?)");
        return -1;
    }
    /* Multiboot kernels and boot sectors (boot/realmode.c); 0 = not one of those. */
    int fw = pc_boot_firmware_kernel(m, b->kernel, b->kernel_len, b->e820, b->e820_count, err,
                                     err_len);
    if (fw)
        return fw < 0 ? -1 : 0;
    if (x86_load_kernel(&m->mem, b->kernel, b->kernel_len, b->initrd, b->initrd_len, b->cmdline,
                        b->e820, b->e820_count, b->rsdp_gpa, &b->boot, err, err_len))
        return -1;
    struct vcpu *bsp = m->cpus[0];
    if (b->boot.long_mode_entry) {
        x86_vcpu_setup_long_entry(bsp, b->boot.entry_gpa, b->boot.boot_params_gpa, b->boot.cr3,
                                  b->boot.gdt_gpa, b->boot.gdt_limit);
    } else {
        x86_vcpu_setup_prot32_entry(bsp, (uint32_t)b->boot.entry_gpa, 0,
                                    (uint32_t)b->boot.boot_params_gpa, b->boot.gdt_gpa,
                                    b->boot.gdt_limit, b->boot.code_sel, b->boot.data_sel);
    }
    return 0;
}

/** Create and wire the devices of the board (see the header comment). */
static int pc_create_devices(struct machine *m, char *err, size_t err_len)
{
    struct pc_board *b = m->board;
    const struct machine_config *cfg = &m->cfg;
    struct bus *bus = &m->bus;

    b->pic = i8259_create(bus, (struct irq_line){ pic_intr_set_level, b, 0 });
    if (!b->pic)
        goto fail;
    for (int i = 0; i < m->ncpus; i++) {
        struct vcpu *v = m->cpus[i];
        b->apics[i] = lapic_create(bus, (uint32_t)i, v->pins, i == 0 ? b->pic : NULL);
        if (!b->apics[i])
            goto fail;
        v->intc = lapic_port(b->apics[i]);
    }
    lapic_set_cluster(b->apics, m->ncpus);
    b->lint0 = lapic_lint(b->apics[0], 0);

    b->ioapic = ioapic_create(bus, IOAPIC_DEFAULT_BASE);
    if (!b->ioapic)
        goto fail;
    for (int i = 0; i < m->ncpus; i++)
        lapic_set_eoi_hook(b->apics[i], pc_eoi_to_ioapic, b->ioapic);
    for (int p = 0; p < PC_IOAPIC_PINS; p++)
        b->ioapic_pins[p] = ioapic_irq(b->ioapic, p);
    for (int n = 0; n < PC_ISA_IRQS; n++) {
        b->pic_pins[n] = i8259_irq(b->pic, n);
        b->split[n].pic = b->pic_pins[n];
        b->split[n].ioapic = b->ioapic_pins[n == 0 ? 2 : n];   /* MADT: IRQ0 -> GSI2 */
        b->isa_irq[n] = (struct irq_line){ split_set_level, b, n };
    }

    if (!i8254_create(bus, b->isa_irq[0]) ||
        !mc146818_create(bus, b->isa_irq[8], cfg->ram_bytes) ||
        !uart16550_create(bus, PC_COM1_IOBASE, b->isa_irq[PC_COM1_IRQ], cfg->serial) ||
        !i8042_create(bus, b->isa_irq[1], b->isa_irq[12]) ||
        pc_reset_ctrl_create(bus) < 0 ||
        !(b->acpi_pm = acpi_pm_create(bus, ACPI_PM_BASE, b->isa_irq[9])) ||
        !hpet_create(bus, HPET_DEFAULT_BASE, b->ioapic_pins, b->pic_pins))
        goto fail;
    if (cfg->debug_exit) {
        uint16_t base = cfg->debug_exit_iobase ? cfg->debug_exit_iobase : 0x501;
        uint8_t size = cfg->debug_exit_iosize ? cfg->debug_exit_iosize : 2;
        if (isa_debug_exit_create(bus, base, size) < 0) {
            set_err(err, err_len, "isa-debug-exit: I/O ports %#x+%u overlap another device",
                    base, size);
            return -1;
        }
    }
    /* fw_cfg always, pc-testdev on request (boot/firmware_devices.c). */
    if (pc_firmware_devices_create(m, b->isa_irq, b->e820, b->e820_count, err, err_len))
        return -1;
    return 0;

fail:
    set_err(err, err_len, "could not create the pc board's devices (out of memory or port clash)");
    return -1;
}

int machine_create(struct machine *m, const struct machine_config *cfg, char *err, size_t err_len)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    if (cfg->machine && strcmp(cfg->machine, "pc") != 0 && strcmp(cfg->machine, "microvm") != 0) {
        set_err(err, err_len, "unsupported machine '%s' (this build has: pc, microvm)", cfg->machine);
        return -1;
    }
    int smp = cfg->smp > 0 ? cfg->smp : 1;
    if (smp > MACHINE_MAX_CPUS) {
        set_err(err, err_len, "-smp %d: at most %d CPUs", cfg->smp, MACHINE_MAX_CPUS);
        return -1;
    }
    if (!cfg->kernel_path || !*cfg->kernel_path) {
        set_err(err, err_len, "no kernel given (use -kernel FILE)");
        return -1;
    }
    if (cfg->ram_bytes < (2ull << 20)) {
        set_err(err, err_len, "RAM size %llu bytes is too small (at least 2 MiB)",
                (unsigned long long)cfg->ram_bytes);
        return -1;
    }

    struct pc_board *b = calloc(1, sizeof(*b));
    if (!b) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    m->board = b;
    m->mem.backing_fd = -1;
    if (read_image("kernel", cfg->kernel_path, &b->kernel, &b->kernel_len, err, err_len))
        goto fail_board;
    /* For a Multiboot kernel -initrd lists modules; multiboot.c reads them. */
    if (cfg->initrd_path && !pc_kernel_is_multiboot(b->kernel, b->kernel_len) &&
        read_image("initrd", cfg->initrd_path, &b->initrd, &b->initrd_len, err, err_len))
        goto fail_board;
    b->cmdline = strdup(cfg->cmdline ? cfg->cmdline : "");
    if (!b->cmdline) {
        set_err(err, err_len, "out of memory");
        goto fail_board;
    }

    int rc = guest_mem_init_pc(&m->mem, cfg->ram_bytes, PC_LOW_RAM_LIMIT, cfg->mem_path);
    if (rc) {
        set_err(err, err_len, "could not allocate %llu MiB of guest RAM%s%s: %s",
                (unsigned long long)(cfg->ram_bytes >> 20), cfg->mem_path ? " in " : "",
                cfg->mem_path ? cfg->mem_path : "", strerror(-rc));
        m->mem.nslots = 0;
        goto fail_board;
    }
    b->e820_count = pc_build_e820(cfg->ram_bytes, b->e820, PC_E820_MAX);
    bus_init(&m->bus);

    for (int i = 0; i < smp; i++) {
        m->cpus[i] = x86_vcpu_create(i, cfg->cpu_model, &m->mem, &m->bus);
        if (!m->cpus[i]) {
            set_err(err, err_len, "out of memory creating vCPU %d", i);
            goto fail_all;
        }
        m->ncpus = i + 1;
    }
    /* PCI host + virtio devices (pc), or virtio-mmio (microvm): boot/board_virtio.c */
    if (pc_create_devices(m, err, err_len) ||
        board_devices_create(m, b->ioapic_pins, err, err_len) || pc_load(m, err, err_len))
        goto fail_all;
    return 0;

fail_all:
    machine_destroy(m);
    return -1;
fail_board:
    free(b->kernel);
    free(b->initrd);
    free(b->cmdline);
    free(b);
    m->board = NULL;
    if (m->mem.nslots)
        guest_mem_destroy(&m->mem);
    return -1;
}

int machine_reset(struct machine *m, char *err, size_t err_len)
{
    if (!m->board || m->ncpus < 1) {
        set_err(err, err_len, "machine was not created");
        return -1;
    }
    for (int i = 0; i < m->ncpus; i++)
        m->cpus[i]->ops->reset(m->cpus[i]);
    m->bus.request = MACHINE_REQ_NONE;
    board_devices_reset(m);
    return pc_load(m, err, err_len);
}

void machine_destroy(struct machine *m)
{
    for (int i = 0; i < m->ncpus; i++) {
        if (m->cpus[i])
            m->cpus[i]->ops->destroy(m->cpus[i]);
        m->cpus[i] = NULL;
    }
    m->ncpus = 0;
    struct pc_board *b = m->board;
    if (b) {
        lapic_set_cluster(NULL, 0);
        bus_destroy(&m->bus);
        free(b->kernel);
        free(b->initrd);
        free(b->cmdline);
        /*
         * Device models have no destroy entry point yet, so they stay
         * allocated, and a timer of theirs may still call into the IRQ
         * fan-out that lives in the board struct: keep it (leaked on
         * purpose) once devices exist, rather than leave them a dangling
         * pointer.
         */
        if (!b->pic)
            free(b);
        m->board = NULL;
        guest_mem_destroy(&m->mem);
    }
}

/** Press the ACPI power button of the pc board (QMP system_powerdown). */
int machine_power_button(struct machine *m)
{
    struct pc_board *b = m ? m->board : NULL;
    if (!b || !b->acpi_pm)
        return -1;
    acpi_pm_power_button(b->acpi_pm);
    return 0;
}
