/*
 * frontend/options.c - QEMU-style command-line options.
 *
 * Spellings follow qemu-system-x86_64: -kernel, -initrd, -append, -m,
 * -M/-machine, -cpu, -smp, -nographic, -serial, -no-reboot, -accel, -d, -D,
 * -device isa-debug-exit[,iobase=,iosize=], -icount shift=N, -display none,
 * --help, --version. Both "-opt" and "--opt" are accepted, as QEMU does.
 * An unknown or malformed option prints one line naming it and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "frontend/netfs_opts.h"
#include "util/log.h"

static void usage(void)
{
    printf("usage: qtemu [options]\n"
           "\n"
           "qtemu " QTEMU_VERSION " - an x86-64 system emulator (software interpreter)\n"
           "\n"
           "  -kernel FILE        Linux bzImage, an ELF vmlinux with a PVH entry note, a Multiboot\n"
           "                      kernel (-initrd \"mod args,mod2\" = modules) or a 512-byte boot sector\n"
           "  -initrd FILE        initial ramdisk\n"
           "  -append CMDLINE     kernel command line\n"
           "  -m SIZE             guest RAM (default 128M; suffixes K, M, G, T; plain number = MiB)\n"
           "  -M, -machine TYPE   board: pc (default) or microvm (virtio-mmio, no PCI)\n"
           "  -cpu MODEL          qemu64 (default) or max (everything implemented)\n"
           "  -smp [cpus=]N[,maxcpus=N][,sockets=S][,dies=D][,cores=C][,threads=T]\n"
           "                      vCPUs (1..8; topology checked as QEMU does, guest sees N packages)\n"
           "  -nographic          no display; serial on stdio\n"
           "  -display none       no display\n"
           "  -serial DEV         stdio | file:PATH | none (default stdio)\n"
           "  -no-reboot          exit instead of rebooting when the guest resets\n"
           "  -accel tcg          software emulation (the only accelerator today)\n"
           "  -device isa-debug-exit[,iobase=0xf4][,iosize=0x04]\n"
           "                      a write of V to iobase exits with status (V << 1) | 1\n"
           "  -device pc-testdev  QEMU's test device (scratch ports 0xe0/0xe8, IRQ lines 0x2000+n,\n"
           "                      64 KiB MMIO at 0xff000000)\n"
           "  -fw_cfg [name=]NAME,file=PATH|string=STR   a read-only fw_cfg file (fw_cfg is at 0x510)\n"
           "  -icount shift=N     deterministic virtual time: 2^N ns per instruction\n"
           "  -debug              built-in debugger: start paused at a (qtemu) prompt; Ctrl-A d stops\n"
           "  -debug-symbols FILE symbols for the debugger: ELF with .symtab, or System.map\n"
           "                      (default: the -kernel file when it is an ELF with a .symtab)\n"
           "  -monitor DEV        human monitor (QEMU HMP): stdio or none (default none);\n"
           "                      with the console on stdio too, Ctrl-A c switches\n"
           "  -drive file=F,format=raw,if=virtio|none[,id=D][,readonly=on][,cache=..][,serial=S]\n"
           "                      raw disk image as virtio-blk (if=none: with -device ...,drive=D)\n"
           "  -device virtio-blk-pci|virtio-blk-device,drive=D   virtio-blk on PCI (pc) / MMIO (microvm)\n"
           "  -device virtio-rng-pci|virtio-rng-device           virtio entropy source\n"
           "  -netdev user,id=N[,hostfwd=tcp|udp:[haddr]:hport-[gaddr]:gport]  user networking (slirp)\n"
           "  -device virtio-net-pci,netdev=N[,mac=M]           virtio NIC on that netdev\n"
           "  -nic user[,hostfwd=...][,mac=M]                   both at once\n"
           "  -fsdev local,id=F,path=DIR,security_model=none|mapped-xattr[,readonly=on]\n"
           "  -device virtio-9p-pci,fsdev=F,mount_tag=TAG       share DIR over 9P2000.L\n"
           "  -virtfs local,path=DIR,mount_tag=TAG,security_model=none|mapped-xattr\n"
           "  -chardev pipe,id=C,path=P | file,id=C,path=P | null,id=C\n"
           "  -device virtio-serial-pci -device virtconsole,chardev=C   console on hvc0\n"
           "  -s                  gdb server on tcp::1234 (same as -gdb tcp::1234)\n"
           "  -gdb DEV            gdb server on tcp::PORT, tcp:HOST:PORT or unix:PATH[,server]\n"
           "  -S                  start with the vCPUs paused (gdb, QMP 'cont' or the monitor resume)\n"
           "  -qmp DEV            QMP server: unix:PATH,server,nowait or tcp:HOST:PORT,server,nowait\n"
           "  -object memory-backend-file,id=ID,size=SIZE,mem-path=FILE,share=on\n"
           "                      guest RAM in a shared file (with -machine memory-backend=ID)\n"
           "  -d ITEM[,...]       log items (-d help lists them)\n"
           "  -D FILE             write the log to FILE\n"
           "  -h, --help          this help\n"
           "  --version           version\n"
           "\n"
           "Console: Ctrl-A x quits, Ctrl-A h shows help, Ctrl-A d opens the debugger (-debug),\n"
           "Ctrl-A c switches to the monitor (-monitor stdio with the console on stdio).\n");
}

int qtemu_parse_size(const char *s, uint64_t default_unit, uint64_t *out_bytes)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    uint64_t unit = default_unit;
    if (*end) {
        switch (*end) {
        case 'b': case 'B': unit = 1; break;
        case 'k': case 'K': unit = 1ull << 10; break;
        case 'm': case 'M': unit = 1ull << 20; break;
        case 'g': case 'G': unit = 1ull << 30; break;
        case 't': case 'T': unit = 1ull << 40; break;
        default: return -1;
        }
        if (end[1])
            return -1;
    }
    double bytes = v * (double)unit;
    if (bytes >= 18446744073709551616.0)
        return -1;
    *out_bytes = (uint64_t)bytes;
    return 0;
}

/* Parse "key=value" parameters of a -device/-icount string. */
char *qemu_opt_get(const char *list, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = list; p && *p; ) {
        if (!strncmp(p, key, klen) && p[klen] == '=')
            return strndup(p + klen + 1, strcspn(p + klen + 1, ","));
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return NULL;
}

const char *qemu_opt_unknown(const char *list, const char *const *keys, size_t *len)
{
    for (const char *p = list; p && *p; ) {
        size_t n = strcspn(p, "=,");
        bool ok = false;
        for (const char *const *k = keys; *k; k++)
            if (strlen(*k) == n && !strncmp(p, *k, n))
                ok = true;
        if (!ok) {
            *len = n;
            return p;
        }
        p = strchr(p, ',');
        if (p)
            p++;
    }
    return NULL;
}

/* Value of @key copied into @buf (truncated to @len - 1 bytes), or NULL. */
static const char *param_value(const char *list, const char *key, char *buf, size_t len)
{
    char *v = qemu_opt_get(list, key);
    if (!v)
        return NULL;
    snprintf(buf, len, "%s", v);
    free(v);
    return buf;
}

static bool params_known(const char *list, const char *const *keys, const char **bad)
{
    size_t len;
    *bad = qemu_opt_unknown(list, keys, &len);
    return *bad == NULL;
}

static int parse_device(const char *arg, struct qtemu_options *o)
{
    const char *comma = strchr(arg, ',');
    size_t nlen = comma ? (size_t)(comma - arg) : strlen(arg);
    if (nlen == strlen("isa-debug-exit") && !strncmp(arg, "isa-debug-exit", nlen)) {
        static const char *const keys[] = { "iobase", "iosize", NULL };
        const char *bad;
        if (comma && !params_known(comma + 1, keys, &bad)) {
            error_report("-device %s: unknown property '%.*s'", arg, (int)strcspn(bad, "=,"), bad);
            return -1;
        }
        char buf[32];
        o->machine.debug_exit = true;
        o->machine.debug_exit_iobase = 0xf4;
        o->machine.debug_exit_iosize = 4;
        if (comma && param_value(comma + 1, "iobase", buf, sizeof(buf))) {
            char *end;
            unsigned long v = strtoul(buf, &end, 0);
            if (*end || v > 0xffff) {
                error_report("-device %s: iobase must be a port number (0..0xffff)", arg);
                return -1;
            }
            o->machine.debug_exit_iobase = (uint16_t)v;
        }
        if (comma && param_value(comma + 1, "iosize", buf, sizeof(buf))) {
            char *end;
            unsigned long v = strtoul(buf, &end, 0);
            if (*end || (v != 1 && v != 2 && v != 4)) {
                error_report("-device %s: iosize must be 1, 2 or 4", arg);
                return -1;
            }
            o->machine.debug_exit_iosize = (uint8_t)v;
        }
        return 0;
    }
    if (!strcmp(arg, "pc-testdev")) {       /* QEMU's test device: devices/pc_testdev.c */
        o->machine.pc_testdev = true;
        return 0;
    }
    if (!strcmp(arg, "help")) {
        printf("Devices: isa-debug-exit pc-testdev virtio-blk-pci virtio-blk-device virtio-rng-pci virtio-rng-device\n");
        exit(0);
    }
    int vrc = qtemu_parse_virtio_device(arg);   /* frontend/virtio_opts.c */
    if (vrc <= 0)
        return vrc;
    vrc = qtemu_parse_netfs_device(arg);        /* frontend/netfs_opts.c: net, 9p, console */
    if (vrc <= 0)
        return vrc;
    error_report("-device %s: '%.*s' is not a valid device model name", arg, (int)nlen, arg);
    return -1;
}

/*
 * -fw_cfg [name=]NAME,file=PATH | -fw_cfg [name=]NAME,string=STR (QEMU's
 * docs/specs/fw_cfg.rst "Externally Provided Items"): a read-only fw_cfg
 * file for the guest. Names should start with "opt/" (QEMU warns otherwise;
 * so do we). The strings stay owned by argv (copied when they need cutting).
 */
static int parse_fw_cfg(const char *arg, struct qtemu_options *o)
{
    if (o->machine.n_fw_cfg_files >= MACHINE_MAX_FW_CFG_FILES) {
        error_report("-fw_cfg %s: at most %d -fw_cfg items", arg, MACHINE_MAX_FW_CFG_FILES);
        return -1;
    }
    const char *rest = arg;
    if (!strncmp(rest, "name=", 5))
        rest += 5;
    size_t nlen = strcspn(rest, ",");
    char *name = strndup(rest, nlen);
    const char *file = NULL, *string = NULL;
    for (const char *p = rest[nlen] ? rest + nlen + 1 : NULL; p && *p;) {
        const char *next = strchr(p, ',');
        size_t len = next ? (size_t)(next - p) : strlen(p);
        if (!strncmp(p, "file=", 5))
            file = strndup(p + 5, len - 5);
        else if (!strncmp(p, "string=", 7))
            string = strndup(p + 7, len - 7);
        else {
            error_report("-fw_cfg %s: unknown parameter '%.*s' (use file= or string=)", arg, (int)len, p);
            return -1;
        }
        p = next ? next + 1 : NULL;
    }
    if (!name || !*name || nlen >= 56) {
        error_report("-fw_cfg %s: the name must be 1 to 55 characters", arg);
        return -1;
    }
    if ((file != NULL) == (string != NULL)) {
        error_report("-fw_cfg %s: give exactly one of file= and string=", arg);
        return -1;
    }
    if (strncmp(name, "opt/", 4))
        fprintf(stderr, "qtemu: warning: -fw_cfg name=%s: externally provided fw_cfg items should "
                "be prefixed with \"opt/\"\n", name);
    o->machine.fw_cfg_files[o->machine.n_fw_cfg_files++] =
        (struct machine_fw_cfg_file){ name, file, string };
    return 0;
}

/*
 * -object memory-backend-file,id=ID,size=SIZE,mem-path=FILE,share=on (QEMU's
 * qom/object memory backends). Only one backend, only share=on: a private
 * file mapping would hide guest writes from other processes, which is the
 * point of the option. The path stays owned by argv.
 */
static int parse_object(const char *arg, struct qtemu_options *o, uint64_t *size_out)
{
    const char *comma = strchr(arg, ',');
    size_t nlen = comma ? (size_t)(comma - arg) : strlen(arg);
    if (!(nlen == strlen("memory-backend-file") && !strncmp(arg, "memory-backend-file", nlen))) {
        error_report("-object %s: unsupported object type '%.*s' (supported: memory-backend-file)",
                     arg, (int)nlen, arg);
        return -1;
    }
    static const char *const keys[] = { "id", "size", "mem-path", "share", NULL };
    const char *bad;
    if (comma && !params_known(comma + 1, keys, &bad)) {
        error_report("-object %s: unknown property '%.*s'", arg, (int)strcspn(bad, "=,"), bad);
        return -1;
    }
    char id[128], size[64], path[4096], share[16];
    if (!comma || !param_value(comma + 1, "id", id, sizeof(id)) || !id[0] ||
        !param_value(comma + 1, "size", size, sizeof(size)) ||
        !param_value(comma + 1, "mem-path", path, sizeof(path)) || !path[0]) {
        error_report("-object %s: id=, size= and mem-path= are required", arg);
        return -1;
    }
    if (o->memdev_id) {
        error_report("-object %s: only one memory backend is supported", arg);
        return -1;
    }
    uint64_t bytes;
    if (qtemu_parse_size(size, 1, &bytes) || bytes < (1ull << 20) || bytes > (1ull << 40) ||
        (bytes & (GUEST_PAGE_SIZE - 1))) {
        error_report("-object %s: size must be 1M..1T and a multiple of 4 KiB", arg);
        return -1;
    }
    if (!param_value(comma + 1, "share", share, sizeof(share)) ||
        (strcmp(share, "on") && strcmp(share, "true") && strcmp(share, "yes"))) {
        error_report("-object %s: only share=on is supported (the file is mapped MAP_SHARED)", arg);
        return -1;
    }
    o->memdev_id = strdup(id);
    o->machine.mem_path = strdup(path);
    o->memdev_share = true;
    if (!o->memdev_id || !o->machine.mem_path)
        return -1;
    *size_out = bytes;
    return 0;
}

/*
 * -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,clusters=1][,cores=C][,threads=T],
 * with QEMU 7.2's rules (hw/core/machine-smp.c, smp_parse, pc machines of
 * 6.2 and later): every given number is >= 1; missing ones are derived from
 * maxcpus (= cpus by default) preferring cores over sockets, then threads;
 * cpus defaults to maxcpus; the product sockets*dies*cores*threads must
 * equal maxcpus and maxcpus >= cpus. Decided: no CPU hotplug, so maxcpus
 * must equal cpus; the topology is validated but not shown to the guest,
 * which sees cpus single-threaded packages (CPUID has no topology leaves),
 * as with "-smp N". Sets o->machine.smp, or prints one line and returns -1.
 */
static int parse_smp(const char *arg, struct qtemu_options *o)
{
    static const char *const names[] = { "cpus", "maxcpus", "sockets", "dies", "clusters",
                                         "cores", "threads" };
    enum { CPUS, MAXCPUS, SOCKETS, DIES, CLUSTERS, CORES, THREADS, NKEYS };
    long val[NKEYS] = { 0 };
    const char *p = arg;
    for (int first = 1; *p; first = 0) {
        size_t n = strcspn(p, ",");
        size_t klen = strcspn(p, "=,");
        int key = -1;
        const char *v = p;
        if (klen < n) {                           /* key=value */
            for (int k = 0; k < NKEYS; k++)
                if (strlen(names[k]) == klen && !strncmp(p, names[k], klen))
                    key = k;
            if (key < 0) {
                error_report("-smp %s: unknown parameter '%.*s'", arg, (int)klen, p);
                return -1;
            }
            v = p + klen + 1;
        } else if (first) {
            key = CPUS;                           /* implied key of the first item */
        } else {
            error_report("-smp %s: '%.*s' is not key=value", arg, (int)n, p);
            return -1;
        }
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (end == v || (end != p + n) || errno || x < 1 || x > 4096) {
            error_report("-smp %s: %s must be a number >= 1", arg, names[key]);
            return -1;
        }
        val[key] = x;
        p += n;
        if (*p == ',')
            p++;
    }
    if (val[CLUSTERS] > 1) {
        error_report("-smp %s: clusters not supported by this machine's CPU topology", arg);
        return -1;
    }
    long cpus = val[CPUS], maxcpus = val[MAXCPUS], sockets = val[SOCKETS];
    long dies = val[DIES] ? val[DIES] : 1, cores = val[CORES], threads = val[THREADS];
    if (!cpus && !maxcpus) {
        sockets = sockets ? sockets : 1;
        cores = cores ? cores : 1;
        threads = threads ? threads : 1;
    } else {
        maxcpus = maxcpus ? maxcpus : cpus;
        if (!cores) {                             /* prefer cores over sockets (QEMU >= 6.2) */
            sockets = sockets ? sockets : 1;
            threads = threads ? threads : 1;
            cores = maxcpus / (sockets * dies * threads);
        } else if (!sockets) {
            threads = threads ? threads : 1;
            sockets = maxcpus / (dies * cores * threads);
        }
        if (!threads)
            threads = maxcpus / (sockets * dies * cores);
    }
    long product = sockets * dies * cores * threads;
    maxcpus = maxcpus ? maxcpus : product;
    cpus = cpus ? cpus : maxcpus;
    if (product != maxcpus) {
        error_report("-smp %s: invalid CPU topology: product of the hierarchy must match maxcpus: "
                     "sockets (%ld) * dies (%ld) * cores (%ld) * threads (%ld) != maxcpus (%ld)",
                     arg, sockets, dies, cores, threads, maxcpus);
        return -1;
    }
    if (maxcpus < cpus) {
        error_report("-smp %s: invalid CPU topology: maxcpus must be equal to or greater than smp",
                     arg);
        return -1;
    }
    if (maxcpus > MACHINE_MAX_CPUS) {
        error_report("-smp %s: invalid SMP CPUs %ld: at most %d CPUs", arg, maxcpus,
                     MACHINE_MAX_CPUS);
        return -1;
    }
    if (maxcpus != cpus) {
        error_report("-smp %s: maxcpus (%ld) must equal cpus (%ld): CPU hotplug is not supported",
                     arg, maxcpus, cpus);
        return -1;
    }
    o->machine.smp = (int)cpus;
    return 0;
}

int qtemu_parse_options(int argc, char **argv, struct qtemu_options *o)
{
    memset(o, 0, sizeof(*o));
    qtemu_virtio_opts_reset();
    o->machine.machine = "pc";
    o->machine.cpu_model = X86_CPU_QEMU64;
    o->machine.smp = 1;
    o->machine.ram_bytes = 128ull << 20;
    o->machine.cmdline = "";
    o->serial = "stdio";
    o->icount_shift = -1;
    char *machine_memdev = NULL;     /* -machine memory-backend=ID */
    uint64_t object_size = 0;        /* size= of the memory-backend-file object */
    bool ram_given = false;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (opt[0] != '-') {
            error_report("%s: invalid option (a disk image is not supported yet; use -kernel)", opt);
            return -1;
        }
        if (opt[1] == '-')
            opt++;   /* --opt == -opt */
        const char *name = opt + 1;

        if (!strcmp(name, "h") || !strcmp(name, "help")) {
            usage();
            return 1;
        }
        if (!strcmp(name, "version")) {
            printf("qtemu version " QTEMU_VERSION "\n");
            return 1;
        }
        if (!strcmp(name, "nographic")) { o->nographic = true; continue; }
        if (!strcmp(name, "no-reboot")) { o->no_reboot = true; continue; }
        if (!strcmp(name, "debug")) { o->debug = true; continue; }
        if (!strcmp(name, "debug-symbols") || !strcmp(name, "monitor")) {
            if (i + 1 >= argc) {
                error_report("%s: requires an argument", argv[i]);
                return -1;
            }
            if (!strcmp(name, "monitor"))
                o->monitor = argv[++i];
            else
                o->debug_symbols = argv[++i];
            continue;
        }
        if (!strcmp(name, "s")) { o->gdb = "tcp::1234"; continue; }
        if (!strcmp(name, "S")) { o->start_paused = true; continue; }

        /* Everything else takes an argument. */
        static const char *const with_arg[] = { "kernel", "initrd", "append", "m", "M", "machine",
            "cpu", "smp", "serial", "accel", "d", "D", "device", "icount", "display",
            "gdb", "qmp", "object", "drive", "netdev", "nic", "fsdev", "virtfs", "chardev",
            "fw_cfg", NULL };
        bool known = false;
        for (const char *const *k = with_arg; *k; k++)
            if (!strcmp(name, *k))
                known = true;
        if (!known) {
            error_report("%s: invalid option", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            error_report("%s: requires an argument", argv[i]);
            return -1;
        }
        const char *arg = argv[++i];

        if (!strcmp(name, "kernel")) {
            o->machine.kernel_path = arg;
        } else if (!strcmp(name, "initrd")) {
            o->machine.initrd_path = arg;
        } else if (!strcmp(name, "append")) {
            o->machine.cmdline = arg;
        } else if (!strcmp(name, "m")) {
            const char *v = arg;
            char buf[64];
            if (!strncmp(arg, "size=", 5))
                v = param_value(arg, "size", buf, sizeof(buf));
            uint64_t bytes;
            if (qtemu_parse_size(v, 1ull << 20, &bytes) || bytes < (1ull << 20)) {
                error_report("-m %s: invalid RAM size (examples: 512M, 2G)", arg);
                return -1;
            }
            if (bytes > (1ull << 40)) {
                error_report("-m %s: RAM size above the 1 TiB limit", arg);
                return -1;
            }
            o->machine.ram_bytes = bytes & ~(GUEST_PAGE_SIZE - 1);
            ram_given = true;
        } else if (!strcmp(name, "M") || !strcmp(name, "machine")) {
            char buf[32];
            const char *type = arg;
            if (!strncmp(arg, "type=", 5))
                type = param_value(arg, "type", buf, sizeof(buf));
            else if (strcspn(arg, "=") < strcspn(arg, ","))
                type = o->machine.machine;      /* only properties: keep the type */
            else if (strchr(arg, ','))
                type = strndup(arg, strcspn(arg, ","));
            if (!strcmp(type, "help")) {
                printf("Supported machines are:\npc                   Standard PC (default)\n"
                       "microvm              microvm (virtio-mmio devices, no PCI)\n");
                return 1;
            }
            if (strcmp(type, "pc") && strcmp(type, "microvm")) {
                error_report("-machine %s: unsupported machine type (supported: pc, microvm)", arg);
                return -1;
            }
            o->machine.machine = strcmp(type, "microvm") ? "pc" : "microvm";
            char be[128];
            if (param_value(arg, "memory-backend", be, sizeof(be)))
                machine_memdev = strdup(be);
        } else if (!strcmp(name, "gdb")) {
            o->gdb = arg;
        } else if (!strcmp(name, "qmp")) {
            o->qmp = arg;
        } else if (!strcmp(name, "object")) {
            if (parse_object(arg, o, &object_size))
                return -1;
        } else if (!strcmp(name, "cpu")) {
            if (!strcmp(arg, "qemu64"))
                o->machine.cpu_model = X86_CPU_QEMU64;
            else if (!strcmp(arg, "max") || !strcmp(arg, "host"))
                o->machine.cpu_model = X86_CPU_MAX;
            else if (!strcmp(arg, "help")) {
                printf("x86 qemu64\nx86 max\n");
                return 1;
            } else {
                error_report("-cpu %s: unknown CPU model (supported: qemu64, max)", arg);
                return -1;
            }
        } else if (!strcmp(name, "smp")) {
            if (parse_smp(arg, o))
                return -1;
        } else if (!strcmp(name, "serial")) {
            o->serial = arg;
        } else if (!strcmp(name, "accel")) {
            if (!strcmp(arg, "tcg") || !strncmp(arg, "tcg,", 4))
                continue;
            if (!strcmp(arg, "kvm") || !strncmp(arg, "kvm,", 4)) {
                error_report("-accel %s: the KVM backend is not implemented yet (use -accel tcg)", arg);
                return -1;
            }
            error_report("-accel %s: unknown accelerator (supported: tcg)", arg);
            return -1;
        } else if (!strcmp(name, "d")) {
            const char *bad;
            size_t bad_len;
            if (log_parse_items(arg, &bad, &bad_len)) {
                error_report("-d %s: unknown log item '%.*s' (-d help lists them)", arg, (int)bad_len, bad);
                return -1;
            }
            if (!strcmp(arg, "help"))
                return 1;
            o->log_items = arg;
        } else if (!strcmp(name, "D")) {
            o->log_path = arg;
        } else if (!strcmp(name, "drive")) {
            if (qtemu_parse_drive(arg))
                return -1;
        } else if (!strcmp(name, "device")) {
            if (parse_device(arg, o))
                return -1;
        } else if (!strcmp(name, "fw_cfg")) {
            if (parse_fw_cfg(arg, o))
                return -1;
        } else if (!strcmp(name, "netdev")) {       /* frontend/netfs_opts.c */
            if (qtemu_parse_netdev(arg))
                return -1;
        } else if (!strcmp(name, "nic")) {
            if (qtemu_parse_nic(arg))
                return -1;
        } else if (!strcmp(name, "fsdev")) {
            if (qtemu_parse_fsdev(arg))
                return -1;
        } else if (!strcmp(name, "virtfs")) {
            if (qtemu_parse_virtfs(arg))
                return -1;
        } else if (!strcmp(name, "chardev")) {
            if (qtemu_parse_chardev(arg))
                return -1;
        } else if (!strcmp(name, "icount")) {
            char buf[32];
            const char *v = arg;
            if (strchr(arg, '='))
                v = param_value(arg, "shift", buf, sizeof(buf));
            char *end;
            long s = v ? strtol(v, &end, 10) : -1;
            if (!v || end == v || *end || s < 0 || s > 10) {
                error_report("-icount %s: expected shift=N with N in 0..10", arg);
                return -1;
            }
            o->icount_shift = (int)s;
        } else if (!strcmp(name, "display")) {
            if (strcmp(arg, "none")) {
                error_report("-display %s: only 'none' is supported (qtemu has no graphical display)", arg);
                return -1;
            }
        }
    }
    if (!o->machine.kernel_path) {
        error_report("no kernel given: use -kernel FILE (see --help)");
        return -1;
    }
    if (qtemu_virtio_opts_finish(o))    /* -drive/-device virtio-*: match drives, check the machine */
        return -1;
    if (qtemu_netfs_opts_finish(o))     /* -netdev/-fsdev/-virtfs/virtconsole references */
        return -1;
    /* Guest RAM from a memory backend (QEMU: -machine memory-backend=ID). */
    if (machine_memdev) {
        if (!o->memdev_id || strcmp(machine_memdev, o->memdev_id)) {
            error_report("-machine memory-backend=%s: no -object memory-backend-file with that id",
                         machine_memdev);
            return -1;
        }
        if (ram_given && o->machine.ram_bytes != object_size) {
            error_report("-machine memory-backend=%s: its size must equal -m (or omit -m)",
                         machine_memdev);
            return -1;
        }
        o->machine.ram_bytes = object_size;
    } else if (o->memdev_id) {
        error_report("-object memory-backend-file,id=%s: not used; add -machine memory-backend=%s",
                     o->memdev_id, o->memdev_id);
        return -1;
    }
    return 0;
}
