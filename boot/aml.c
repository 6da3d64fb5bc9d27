/*
 * boot/aml.c - the tiny AML encoder behind qtemu's DSDT (see boot/aml.h).
 * ACPI 6.4 ch. 20 (AML grammar) and 19.6.35 (EISAID).
 */
#include <string.h>

#include "boot/aml.h"

#define AML_ZERO_OP      0x00
#define AML_ONE_OP       0x01
#define AML_NAME_OP      0x08
#define AML_BYTE_PREFIX  0x0A
#define AML_WORD_PREFIX  0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP     0x10
#define AML_BUFFER_OP    0x11
#define AML_PACKAGE_OP   0x12
#define AML_EXT_PREFIX   0x5B
#define AML_DEVICE_OP    0x82   /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR    '\\'
#define AML_DUAL_PREFIX  0x2E

void aml_bytes(struct aml *a, const void *p, size_t len)
{
    if (a->overflow || len > AML_MAX - a->n) {
        a->overflow = true;
        return;
    }
    memcpy(a->b + a->n, p, len);
    a->n += len;
}

static void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

/**
 * PkgLength (ACPI 6.4 20.2.4) for a body of @body_len bytes: the encoded
 * length counts itself. 1 byte up to 63, else a lead byte with the count of
 * following bytes in bits 7:6 and the low nibble in bits 3:0.
 */
static void aml_pkglen(struct aml *a, size_t body_len)
{
    size_t total;
    if (body_len + 1 < 0x40) {
        aml_byte(a, (uint8_t)(body_len + 1));
        return;
    }
    int extra;
    if (body_len + 2 < 0x1000) {
        extra = 1;
    } else if (body_len + 3 < 0x100000) {
        extra = 2;
    } else {
        extra = 3;
    }
    total = body_len + 1 + (size_t)extra;
    if (total >= 0x10000000) {
        a->overflow = true;
        return;
    }
    aml_byte(a, (uint8_t)((extra << 6) | (total & 0xF)));
    for (int i = 0; i < extra; i++)
        aml_byte(a, (uint8_t)(total >> (4 + 8 * i)));
}

void aml_name(struct aml *a, const char *path)
{
    /* NameString = [RootChar | ParentPrefix*] NamePath; NamePath = NameSeg | DualNamePath. */
    if (*path == AML_ROOT_CHAR) {
        aml_byte(a, AML_ROOT_CHAR);
        path++;
    }
    size_t len = strlen(path);
    if (len == 8) {
        aml_byte(a, AML_DUAL_PREFIX);
    } else if (len != 4) {
        a->overflow = true;   /* only 1- and 2-segment paths are used */
        return;
    }
    aml_bytes(a, path, len);
}

void aml_int(struct aml *a, uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    if (v == 0) {
        aml_byte(a, AML_ZERO_OP);
    } else if (v == 1) {
        aml_byte(a, AML_ONE_OP);
    } else if (v <= 0xFF) {
        aml_byte(a, AML_BYTE_PREFIX);
        aml_bytes(a, le, 1);
    } else if (v <= 0xFFFF) {
        aml_byte(a, AML_WORD_PREFIX);
        aml_bytes(a, le, 2);
    } else if (v <= 0xFFFFFFFF) {
        aml_byte(a, AML_DWORD_PREFIX);
        aml_bytes(a, le, 4);
    } else {
        aml_byte(a, AML_QWORD_PREFIX);
        aml_bytes(a, le, 8);
    }
}

void aml_eisaid(struct aml *a, const char *id)
{
    /* Three letters packed 5 bits each ('A' = 1), then four hex digits; big-endian bytes. */
    if (strlen(id) != 7) {
        a->overflow = true;
        return;
    }
    uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1F) << 10 | ((id[1] - 0x40) & 0x1F) << 5 |
                                 ((id[2] - 0x40) & 0x1F));
    uint16_t product = 0;
    for (int i = 3; i < 7; i++) {
        char c = id[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
        product = (uint16_t)(product << 4 | d);
    }
    uint8_t b[5] = { AML_DWORD_PREFIX, (uint8_t)(vendor >> 8), (uint8_t)vendor,
                     (uint8_t)(product >> 8), (uint8_t)product };
    aml_bytes(a, b, sizeof(b));
}

void aml_name_decl(struct aml *a, const char *name, const struct aml *value)
{
    aml_byte(a, AML_NAME_OP);
    aml_name(a, name);
    if (value->overflow)
        a->overflow = true;
    aml_bytes(a, value->b, value->n);
}

/** Emit @op (1 or 2 bytes), PkgLength, then @name and @body (or @prefix bytes and @body). */
static void aml_pkg_named(struct aml *a, const uint8_t *op, size_t op_len, const char *name,
                          const struct aml *body)
{
    struct aml nm = {0};
    aml_name(&nm, name);
    if (nm.overflow || body->overflow)
        a->overflow = true;
    aml_bytes(a, op, op_len);
    aml_pkglen(a, nm.n + body->n);
    aml_bytes(a, nm.b, nm.n);
    aml_bytes(a, body->b, body->n);
}

void aml_scope(struct aml *a, const char *name, const struct aml *body)
{
    static const uint8_t op[] = { AML_SCOPE_OP };
    aml_pkg_named(a, op, sizeof(op), name, body);
}

void aml_device(struct aml *a, const char *name, const struct aml *body)
{
    static const uint8_t op[] = { AML_EXT_PREFIX, AML_DEVICE_OP };
    aml_pkg_named(a, op, sizeof(op), name, body);
}

void aml_package(struct aml *a, unsigned count, const struct aml *elements)
{
    if (elements->overflow || count > 0xFF)
        a->overflow = true;
    aml_byte(a, AML_PACKAGE_OP);
    aml_pkglen(a, 1 + elements->n);
    aml_byte(a, (uint8_t)count);
    aml_bytes(a, elements->b, elements->n);
}

void aml_buffer(struct aml *a, const uint8_t *data, size_t len)
{
    struct aml size = {0};
    aml_int(&size, len);
    aml_byte(a, AML_BUFFER_OP);
    aml_pkglen(a, size.n + len);
    aml_bytes(a, size.b, size.n);
    aml_bytes(a, data, len);
}
