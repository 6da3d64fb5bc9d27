/*
 * devices/p9.h - a 9P2000.L file server over a host directory, transport
 * independent (virtio-9p carries its messages). Private to devices/ and tests.
 *
 * Protocol: 9P2000 (Plan 9 manual section 5) with the Linux 9P2000.L
 * extensions as the Linux client (net/9p, fs/9p) and QEMU's hw/9pfs speak
 * them; message layouts and numbers as in Linux include/net/9p/9p.h.
 */
#ifndef QTEMU_DEVICES_P9_H
#define QTEMU_DEVICES_P9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** How guest credentials map onto the host (QEMU's -fsdev security_model). */
enum p9_security_model {
    /** Files carry the host's ownership and mode as they are; chown is
     *  attempted and its failure ignored on create (QEMU's "none"). */
    P9_SM_NONE,
    /** Files are created 0600/0700 owned by qtemu's user; the guest's uid,
     *  gid, mode and rdev live in the user.virtfs.{uid,gid,mode,rdev}
     *  extended attributes (little-endian, QEMU's layout); symlinks and
     *  device nodes are regular files whose user.virtfs.mode says what they
     *  are (QEMU's "mapped-xattr"). */
    P9_SM_MAPPED_XATTR,
};

/** Largest msize the server negotiates (bytes). */
#define P9_MAX_MSIZE (512u * 1024)
/** Smallest message buffer the server can answer into (an Rlerror). */
#define P9_MIN_RESPONSE 11

struct p9_server;

/**
 * Serve the directory @root (must exist and be a directory). Every path the
 * guest names stays beneath it: names are single components, ".." stops at
 * the root, and no symlink is ever followed on the host (openat2
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or a component-wise O_NOFOLLOW walk
 * where openat2 is missing). Returns NULL with one line in @err on failure.
 */
struct p9_server *p9_server_create(const char *root, enum p9_security_model sm, bool readonly,
                                   char *err, size_t err_len);

/**
 * Handle one T-message of @req_len bytes and write the R-message (an Rlerror
 * for any failure or malformed request) into @resp, at most @resp_cap bytes.
 * Returns the response length (0 only if @resp_cap < P9_MIN_RESPONSE). Never
 * trusts a length or count inside @req.
 */
size_t p9_server_handle(struct p9_server *s, const uint8_t *req, size_t req_len,
                        uint8_t *resp, size_t resp_cap);

/** Negotiated msize (0 before Tversion). */
uint32_t p9_server_msize(const struct p9_server *s);

/** Forget every fid and close their files (Tversion, device reset). */
void p9_server_reset(struct p9_server *s);

/** Free the server. NULL is fine. */
void p9_server_destroy(struct p9_server *s);

/** Parse "none" / "mapped-xattr" / "mapped". Returns 0 or -1. */
int p9_security_model_parse(const char *name, enum p9_security_model *out);

#endif
