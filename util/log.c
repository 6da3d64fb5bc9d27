/*
 * util/log.c - QEMU-style "-d item,..." log channels, "-D file", error_report().
 *
 * Item names follow QEMU's qemu_log_items[] (util/log.c in QEMU): int,
 * cpu_reset, guest_errors, unimp, in_asm, exec, cpu, mmu; plus "ioport"
 * (QEMU's historical name for unassigned port accesses), "all" (every item,
 * as QEMU accepts) and "help" (list the items on stdout).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

uint32_t log_mask;

static FILE *log_stream;   /* NULL means stderr */

/** One "-d" item: its QEMU name, the channel bits, a one-line help text. */
struct log_item {
    const char *name;
    uint32_t mask;
    const char *help;
};

static const struct log_item log_items[] = {
    { "in_asm",       LOG_IN_ASM,       "show target assembly code for each compiled TB" },
    { "int",          LOG_INT,          "show interrupts/exceptions in short format" },
    { "exec",         LOG_EXEC,         "show trace before each executed TB (lots of logs)" },
    { "cpu",          LOG_CPU,          "show CPU registers before entering a TB (lots of logs)" },
    { "mmu",          LOG_MMU,          "log MMU-related activities" },
    { "cpu_reset",    LOG_CPU_RESET,    "show CPU state before CPU resets" },
    { "unimp",        LOG_UNIMP,        "log unimplemented functionality" },
    { "guest_errors", LOG_GUEST_ERRORS, "log when the guest OS does something invalid (eg accessing a\n"
                                        "non-existent register)" },
    { "ioport",       LOG_IOPORT,       "show accesses to unassigned I/O ports and MMIO" },
};

static void log_print_help(void)
{
    printf("Log items (comma separated):\n");
    for (size_t i = 0; i < ARRAY_SIZE(log_items); i++)
        printf("%-15s %s\n", log_items[i].name, log_items[i].help);
    printf("%-15s %s\n", "all", "every item above");
}

int log_parse_items(const char *items, const char **bad_item, size_t *bad_len)
{
    uint32_t mask = 0;
    const char *p = items ? items : "";

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool found = false;

        if (len == 0) {
            /* QEMU ignores empty items ("int,,mmu"). */
        } else if (len == 4 && !strncmp(p, "help", 4)) {
            log_print_help();
            found = true;
        } else if (len == 3 && !strncmp(p, "all", 3)) {
            for (size_t i = 0; i < ARRAY_SIZE(log_items); i++)
                mask |= log_items[i].mask;
            found = true;
        } else {
            for (size_t i = 0; i < ARRAY_SIZE(log_items); i++) {
                if (strlen(log_items[i].name) == len && !strncmp(p, log_items[i].name, len)) {
                    mask |= log_items[i].mask;
                    found = true;
                    break;
                }
            }
        }
        if (len && !found) {
            if (bad_item)
                *bad_item = p;
            if (bad_len)
                *bad_len = len;
            return -1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    log_mask = mask;
    return 0;
}

int log_set_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    /* Line-buffered so a crash or kill leaves whole lines behind. */
    setvbuf(f, NULL, _IOLBF, 0);
    if (log_stream)
        fclose(log_stream);
    log_stream = f;
    return 0;
}

FILE *log_file(void)
{
    return log_stream ? log_stream : stderr;
}

void qlog(uint32_t mask, const char *fmt, ...)
{
    if (!(log_mask & mask))
        return;
    FILE *out = log_file();
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = MIN((size_t)n, sizeof buf - 1);
    fwrite(buf, 1, len, out);
    if (len == 0 || buf[len - 1] != '\n')
        fputc('\n', out);
}

void error_report(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = MIN((size_t)n, sizeof buf - 1);
    while (len && buf[len - 1] == '\n')
        len--;
    /* One fprintf: the line reaches stderr in one piece. */
    fprintf(stderr, "qtemu: %.*s\n", (int)len, buf);
}
