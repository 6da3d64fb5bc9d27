/*
 * boot/microvm.c - what makes the `microvm` board differ from `pc`: no PCI,
 * virtio devices on virtio-mmio (virtio 1.2 4.2) announced in the DSDT.
 *
 * Everything else (RAM layout, legacy devices, interrupt controllers,
 * loaders, e820, ACPI tables) is the pc board's code (pc.c), which calls
 * board_devices_create(); that comes here for each virtio device when
 * cfg.machine is "microvm".
 *
 * Decided, following QEMU's microvm (hw/i386/microvm.c, acpi-microvm.c):
 *  - virtio-mmio window n at MICROVM_VIRTIO_MMIO_BASE + n * 0x200
 *    (0xFEB00000, below the IOAPIC), interrupt on GSI 16 + n, level,
 *    active high; at most MICROVM_VIRTIO_MAX devices;
 *  - each is \_SB.VRnn with _HID "LNRO0005" (the ID Linux's virtio_mmio
 *    driver matches in ACPI), _UID n, _CCA 1 (cache coherent) and _CRS
 *    Memory32Fixed(ReadWrite, base, 0x200) + Interrupt(ResourceConsumer,
 *    Level, ActiveHigh, Exclusive) {gsi} (ACPI 6.4 6.4.3.4, 6.4.3.6);
 *  - unlike QEMU's microvm we keep the pc board's FADT and legacy devices
 *    (8259, PIT, RTC, i8042, PM block): the guest sees a PC without PCI.
 */
#include <stdio.h>
#include <string.h>

#include "boot/board_virtio.h"
#include "devices/bus.h"

int microvm_add_virtio(struct machine *m, struct board_devices *d, struct virtio_dev *vdev,
                       const struct irq_line *ioapic_pins, char *err, size_t err_len)
{
    if (d->nmmio >= MICROVM_VIRTIO_MAX) {
        snprintf(err, err_len, "microvm: at most %d virtio-mmio devices", MICROVM_VIRTIO_MAX);
        return -1;
    }
    uint64_t base = MICROVM_VIRTIO_MMIO_BASE + (uint64_t)d->nmmio * VIRTIO_MMIO_SIZE;
    uint32_t gsi = MICROVM_VIRTIO_GSI_BASE + (uint32_t)d->nmmio;
    int rc = virtio_mmio_create(&m->bus, base, ioapic_pins[gsi], vdev);
    if (rc) {
        snprintf(err, err_len, "microvm: virtio-mmio at %#llx: %s", (unsigned long long)base,
                 strerror(-rc));
        return -1;
    }
    d->mmio[d->nmmio++] = (struct board_mmio_dev){ base, gsi };
    return 0;
}

void microvm_dsdt(struct aml *sb, const struct board_devices *d)
{
    for (int i = 0; i < d->nmmio; i++) {
        struct aml dev = {0}, v = {0};
        static const uint8_t hid[] = { 0x0D, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0 };
        aml_bytes(&v, hid, sizeof(hid));                  /* StringPrefix "LNRO0005" */
        aml_name_decl(&dev, "_HID", &v);
        v.n = 0; aml_int(&v, (uint64_t)i); aml_name_decl(&dev, "_UID", &v);
        v.n = 0; aml_int(&v, 1); aml_name_decl(&dev, "_CCA", &v);
        uint32_t base = (uint32_t)d->mmio[i].base, gsi = d->mmio[i].gsi;
        const uint8_t crs[] = {
            0x86, 0x09, 0x00, 0x01,                       /* Memory32Fixed, read/write */
            (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)(base >> 16), (uint8_t)(base >> 24),
            (uint8_t)VIRTIO_MMIO_SIZE, (uint8_t)(VIRTIO_MMIO_SIZE >> 8), 0x00, 0x00,
            0x89, 0x06, 0x00, 0x01, 0x01,                 /* Extended Interrupt: consumer, level, high, exclusive; 1 entry */
            (uint8_t)gsi, (uint8_t)(gsi >> 8), (uint8_t)(gsi >> 16), (uint8_t)(gsi >> 24),
            0x79, 0x00,
        };
        v.n = 0; aml_buffer(&v, crs, sizeof(crs)); aml_name_decl(&dev, "_CRS", &v);
        char name[5];
        snprintf(name, sizeof(name), "VR%02d", i);
        aml_device(sb, name, &dev);
        if (dev.overflow || v.overflow)
            sb->overflow = true;
    }
}
