/*
 * boot/firmware_devices.c - the QEMU interfaces of the pc board that test
 * kernels written for QEMU probe: fw_cfg (always present, as on QEMU's pc)
 * and pc-testdev (-device pc-testdev).
 *
 * fw_cfg contents, following what QEMU's pc board puts there
 * (hw/i386/fw_cfg.c fw_cfg_arch_create, hw/nvram/fw_cfg.c):
 *   0x0000 signature "QEMU", 0x0001 ID (traditional + DMA), built in;
 *   0x0002 UUID (16 zero bytes: no -uuid), 0x0003 RAM_SIZE (u64 LE, bytes),
 *   0x0004 NOGRAPHIC (u16: 1, qtemu has no display), 0x0005 NB_CPUS (u16),
 *   0x000f MAX_CPUS (u16, = NB_CPUS: no CPU hotplug);
 *   files "etc/e820" (the board's e820 map as QEMU's struct e820_entry:
 *   u64 address, u64 length, u32 type, little-endian, 20 bytes each),
 *   "bootorder" (empty: no bootindex properties) and every
 *   -fw_cfg name=,file=|string= (QEMU: "string" items hold the string
 *   without its NUL).
 * QEMU's kernel keys (0x07-0x18: the -kernel image for its option ROMs),
 * ACPI table-loader files and SMBIOS are not provided: qtemu loads the
 * kernel and builds ACPI itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/firmware.h"
#include "boot/x86_boot.h"

#define FW_CFG_USER_FILE_MAX (16u << 20)   /* refuse -fw_cfg files over 16 MiB */

/** Read a -fw_cfg file=PATH into a malloc'd buffer. 0 or -1 with @err. */
static int read_host_file(const char *path, uint8_t **out, size_t *out_len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "-fw_cfg: cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
        if (len == cap) {
            if (cap >= FW_CFG_USER_FILE_MAX) {
                snprintf(err, err_len, "-fw_cfg: '%s' is larger than 16 MiB", path);
                free(buf);
                fclose(f);
                return -1;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    bool bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, err_len, "-fw_cfg: cannot read '%s'", path);
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int pc_firmware_devices_create(struct machine *m, const struct irq_line *isa_irq,
                               const struct e820_entry *e820, int e820_count, char *err,
                               size_t err_len)
{
    struct fw_cfg *fw = fw_cfg_create(&m->bus, &m->mem, FW_CFG_IO_BASE, true);
    if (!fw) {
        snprintf(err, err_len, "fw_cfg: could not create it at ports %#x (clash or out of memory)",
                 FW_CFG_IO_BASE);
        return -1;
    }
    uint8_t u64[8], u16[2], uuid[16];
    memset(uuid, 0, sizeof(uuid));
    int rc = fw_cfg_add_bytes(fw, FW_CFG_UUID, uuid, sizeof(uuid));
    boot_wr64(u64, m->cfg.ram_bytes);
    rc = rc ? rc : fw_cfg_add_bytes(fw, FW_CFG_RAM_SIZE, u64, 8);
    boot_wr16(u16, 1);
    rc = rc ? rc : fw_cfg_add_bytes(fw, FW_CFG_NOGRAPHIC, u16, 2);
    boot_wr16(u16, (uint16_t)m->ncpus);
    rc = rc ? rc : fw_cfg_add_bytes(fw, FW_CFG_NB_CPUS, u16, 2);
    rc = rc ? rc : fw_cfg_add_bytes(fw, FW_CFG_MAX_CPUS, u16, 2);
    uint8_t map[PC_E820_MAX * 20];
    int n = MIN(e820_count, PC_E820_MAX);
    for (int i = 0; i < n; i++) {
        boot_wr64(map + i * 20, e820[i].addr);
        boot_wr64(map + i * 20 + 8, e820[i].size);
        boot_wr32(map + i * 20 + 16, e820[i].type);
    }
    rc = rc ? rc : fw_cfg_add_file(fw, "etc/e820", map, (size_t)n * 20);
    rc = rc ? rc : fw_cfg_add_file(fw, "bootorder", "", 0);
    if (rc) {
        snprintf(err, err_len, "fw_cfg: out of memory");
        return -1;
    }
    for (int i = 0; i < m->cfg.n_fw_cfg_files; i++) {
        const struct machine_fw_cfg_file *f = &m->cfg.fw_cfg_files[i];
        uint8_t *data = NULL;
        size_t len = 0;
        if (f->file) {
            if (read_host_file(f->file, &data, &len, err, err_len))
                return -1;
            rc = fw_cfg_add_file(fw, f->name, data, len);
            free(data);
        } else {
            rc = fw_cfg_add_file(fw, f->name, f->string ? f->string : "",
                                 f->string ? strlen(f->string) : 0);
        }
        if (rc) {
            snprintf(err, err_len, "-fw_cfg name=%s: %s", f->name,
                     rc == -EEXIST ? "a file with that name exists already"
                     : rc == -ENOSPC ? "too many fw_cfg files"
                     : rc == -EINVAL ? "name must be 1 to 55 bytes" : "out of memory");
            return -1;
        }
    }
    if (m->cfg.pc_testdev && pc_testdev_create(&m->bus, isa_irq) < 0) {
        snprintf(err, err_len, "pc-testdev: its ports 0xe0-0xeb/0x2000-0x2017 or MMIO 0xff000000 "
                 "clash with another device");
        return -1;
    }
    return 0;
}
