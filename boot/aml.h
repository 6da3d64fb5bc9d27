/*
 * boot/aml.h - private to boot/: a tiny ACPI Machine Language (AML) encoder
 * for the few objects qtemu's DSDT needs (ACPI 6.4 ch. 20 "ACPI Machine
 * Language (AML) Specification": 20.2.4 PkgLength, 20.2.2 NameString,
 * 20.2.3 data objects, 20.2.5 Scope/Device/Name/Package/Buffer).
 *
 * An aml buffer is fixed-size; overflow sets a sticky flag instead of writing
 * past the end, and the table builder checks it once at the end.
 */
#ifndef QTEMU_BOOT_AML_H
#define QTEMU_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX 8192   /* the pc DSDT's PCI0 _PRT alone is ~1.7 KiB */

/** A growing AML byte string (a TermList or an object's contents). */
struct aml {
    uint8_t b[AML_MAX];
    size_t n;
    bool overflow;
};

/** Append raw bytes. */
void aml_bytes(struct aml *a, const void *p, size_t len);

/** Append a 4-character NameSeg or a name path ("\\_SB_", "_HID", "\\_S5_"). */
void aml_name(struct aml *a, const char *path);

/** Append an Integer as the shortest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix. */
void aml_int(struct aml *a, uint64_t v);

/** Append an EISA ID ("PNP0501") as a DWordConst (ACPI 6.4 19.6.35 EISAID macro). */
void aml_eisaid(struct aml *a, const char *id);

/** Append NameOp @name followed by the encoded object already in @value. */
void aml_name_decl(struct aml *a, const char *name, const struct aml *value);

/** Append ScopeOp PkgLength @name @body. */
void aml_scope(struct aml *a, const char *name, const struct aml *body);

/** Append DeviceOp (ExtOpPrefix 0x82) PkgLength @name @body. */
void aml_device(struct aml *a, const char *name, const struct aml *body);

/** Append PackageOp PkgLength NumElements(@count) @elements. */
void aml_package(struct aml *a, unsigned count, const struct aml *elements);

/** Append BufferOp PkgLength BufferSize @data (a resource template, e.g.). */
void aml_buffer(struct aml *a, const uint8_t *data, size_t len);

#endif
