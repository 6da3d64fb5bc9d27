/*
 * devices/p9.c - 9P2000.L server over a host directory (see devices/p9.h).
 *
 * Follows the Linux 9P2000.L protocol as fs/9p + net/9p use it (message
 * numbers and layouts from include/net/9p/9p.h; semantics from QEMU's
 * hw/9pfs/9p.c and hw/9pfs/9p-local.c where the protocol text is silent).
 *
 * Decided:
 *  - a fid holds its path relative to the export root ("" is the root) with
 *    every component checked (no '/', no NUL, not "." or ".."); ".." in
 *    Twalk pops a component and stops at the root. Host access always goes
 *    through a directory fd opened beneath the root without following
 *    symlinks, plus one final name used with AT_SYMLINK_NOFOLLOW/O_NOFOLLOW,
 *    so neither ".." nor a symlink planted by the guest or the host escapes;
 *  - renames fix the paths of other fids under the renamed name (as QEMU's
 *    v9fs_fix_fid_paths does);
 *  - Tlock/Tgetlock succeed without locking (QEMU does the same);
 *    extended attributes (Txattrwalk/Txattrcreate) are not offered:
 *    EOPNOTSUPP;
 *  - security_model=none refuses to create host character/block devices
 *    (EPERM); FIFOs and sockets are created. mapped-xattr stores them as
 *    regular files described by user.virtfs.mode/rdev;
 *  - at most P9_MAX_FIDS fids per server (EMFILE beyond), so a guest cannot
 *    exhaust host memory or file descriptors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#ifdef __has_include
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

#include "devices/p9.h"
#include "util/log.h"

/* Message types (Linux include/net/9p/9p.h, enum p9_msg_t). */
enum {
    P9_RLERROR = 7,
    P9_TSTATFS = 8, P9_TLOPEN = 12, P9_TLCREATE = 14, P9_TSYMLINK = 16, P9_TMKNOD = 18,
    P9_TRENAME = 20, P9_TREADLINK = 22, P9_TGETATTR = 24, P9_TSETATTR = 26,
    P9_TXATTRWALK = 30, P9_TXATTRCREATE = 32, P9_TREADDIR = 40, P9_TFSYNC = 50,
    P9_TLOCK = 52, P9_TGETLOCK = 54, P9_TLINK = 70, P9_TMKDIR = 72, P9_TRENAMEAT = 74,
    P9_TUNLINKAT = 76, P9_TVERSION = 100, P9_TAUTH = 102, P9_TATTACH = 104,
    P9_TFLUSH = 108, P9_TWALK = 110, P9_TREAD = 116, P9_TWRITE = 118, P9_TCLUNK = 120,
    P9_TREMOVE = 122,
};

#define P9_NOFID        0xffffffffu
#define P9_MAXWELEM     16
#define P9_QTDIR        0x80
#define P9_QTSYMLINK    0x02
#define P9_QTFILE       0x00
#define P9_HDR          7           /* size[4] type[1] tag[2] */
#define P9_GETATTR_BASIC 0x000007ffull
#define P9_MAX_FIDS     8192
#define P9_FID_BUCKETS  256

/* Tsetattr valid bits (include/net/9p/9p.h P9_ATTR_*). */
#define P9_ATTR_MODE      0x001
#define P9_ATTR_UID       0x002
#define P9_ATTR_GID       0x004
#define P9_ATTR_SIZE      0x008
#define P9_ATTR_ATIME     0x010
#define P9_ATTR_MTIME     0x020
#define P9_ATTR_ATIME_SET 0x080
#define P9_ATTR_MTIME_SET 0x100

/* Tlopen/Tlcreate flags (P9_DOTL_*), the Linux generic open(2) encoding. */
#define P9_DOTL_ACCMODE   000000003
#define P9_DOTL_CREATE    000000100
#define P9_DOTL_EXCL      000000200
#define P9_DOTL_TRUNC     000001000
#define P9_DOTL_APPEND    000002000
#define P9_DOTL_DSYNC     000010000
#define P9_DOTL_DIRECTORY 000200000
#define P9_DOTL_SYNC      004000000
#define P9_DOTL_AT_REMOVEDIR 0x200

/* mapped-xattr host modes (QEMU SM_LOCAL_MODE_BITS / SM_LOCAL_DIR_MODE_BITS). */
#define SM_LOCAL_MODE_BITS     0600
#define SM_LOCAL_DIR_MODE_BITS 0700

struct p9_fid {
    uint32_t fid;
    char *path;             /* relative to the root; "" is the root */
    int fd;                 /* open file (Tlopen/Tlcreate), or -1 */
    bool dir;               /* fd is a directory */
    uint32_t uid;           /* attach credentials, used for creation */
    struct p9_fid *next;
};

struct p9_server {
    int root_fd;            /* O_PATH | O_DIRECTORY */
    enum p9_security_model sm;
    bool readonly;
    uint32_t msize;
    struct p9_fid *fids[P9_FID_BUCKETS];
    int nfids;
};

/* ---------------------------------------------------------------- wire format */

struct rd {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static uint64_t rd_n(struct rd *r, int n)
{
    if (r->bad || r->len - r->off < (size_t)n) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[r->off + i] << (8 * i);
    r->off += n;
    return v;
}
#define rd8(r)  ((uint8_t)rd_n(r, 1))
#define rd16(r) ((uint16_t)rd_n(r, 2))
#define rd32(r) ((uint32_t)rd_n(r, 4))
#define rd64(r) (rd_n(r, 8))

/* A 9P string s[2+n], copied NUL-terminated into @buf; bad if it holds a NUL or does not fit. */
static const char *rd_str(struct rd *r, char *buf, size_t cap)
{
    uint16_t n = rd16(r);
    if (r->bad || r->len - r->off < n || n >= cap || memchr(r->p + r->off, 0, n)) {
        r->bad = true;
        return NULL;
    }
    memcpy(buf, r->p + r->off, n);
    buf[n] = 0;
    r->off += n;
    return buf;
}

struct wr {
    uint8_t *p;
    size_t cap, len;
    bool over;
};

static void wr_n(struct wr *w, uint64_t v, int n)
{
    if (w->over || w->cap - w->len < (size_t)n) {
        w->over = true;
        return;
    }
    for (int i = 0; i < n; i++)
        w->p[w->len + i] = (uint8_t)(v >> (8 * i));
    w->len += n;
}
#define wr8(w, v)  wr_n(w, v, 1)
#define wr16(w, v) wr_n(w, v, 2)
#define wr32(w, v) wr_n(w, v, 4)
#define wr64(w, v) wr_n(w, v, 8)

static void wr_str(struct wr *w, const char *s)
{
    size_t n = strlen(s);
    if (n > 0xffff || w->over || w->cap - w->len < 2 + n) {
        w->over = true;
        return;
    }
    wr16(w, n);
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

struct qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
};

static void wr_qid(struct wr *w, const struct qid *q)
{
    wr8(w, q->type);
    wr32(w, q->version);
    wr64(w, q->path);
}

/* ---------------------------------------------------------------- fids */

static struct p9_fid *fid_get(struct p9_server *s, uint32_t fid)
{
    for (struct p9_fid *f = s->fids[fid % P9_FID_BUCKETS]; f; f = f->next)
        if (f->fid == fid)
            return f;
    return NULL;
}

static struct p9_fid *fid_new(struct p9_server *s, uint32_t fid, const char *path, int *err)
{
    if (fid == P9_NOFID || fid_get(s, fid)) {
        *err = EINVAL;
        return NULL;
    }
    if (s->nfids >= P9_MAX_FIDS) {
        *err = EMFILE;
        return NULL;
    }
    struct p9_fid *f = calloc(1, sizeof(*f));
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        *err = ENOMEM;
        return NULL;
    }
    f->fid = fid;
    f->path = p;
    f->fd = -1;
    f->next = s->fids[fid % P9_FID_BUCKETS];
    s->fids[fid % P9_FID_BUCKETS] = f;
    s->nfids++;
    return f;
}

static void fid_close(struct p9_fid *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->dir = false;
}

static void fid_free(struct p9_server *s, uint32_t fid)
{
    for (struct p9_fid **pp = &s->fids[fid % P9_FID_BUCKETS]; *pp; pp = &(*pp)->next) {
        if ((*pp)->fid == fid) {
            struct p9_fid *f = *pp;
            *pp = f->next;
            fid_close(f);
            free(f->path);
            free(f);
            s->nfids--;
            return;
        }
    }
}

void p9_server_reset(struct p9_server *s)
{
    for (int b = 0; b < P9_FID_BUCKETS; b++) {
        while (s->fids[b])
            fid_free(s, s->fids[b]->fid);
    }
}

/* Replace the path prefix @from by @to in every fid (after a rename). */
static void fids_renamed(struct p9_server *s, const char *from, const char *to)
{
    size_t fl = strlen(from);
    for (int b = 0; b < P9_FID_BUCKETS; b++) {
        for (struct p9_fid *f = s->fids[b]; f; f = f->next) {
            if (strncmp(f->path, from, fl) || (f->path[fl] && f->path[fl] != '/'))
                continue;
            size_t n = strlen(to) + strlen(f->path + fl) + 1;
            char *np = malloc(n);
            if (!np)
                continue;
            snprintf(np, n, "%s%s", to, f->path + fl);
            free(f->path);
            f->path = np;
        }
    }
}

/* ---------------------------------------------------------------- confined host access */

/* A name the guest may create or look up: one component, not "." or "..". */
static int check_name(const char *name)
{
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return EINVAL;
    if (strlen(name) > NAME_MAX)
        return ENAMETOOLONG;
    return 0;
}

/* "@dir/@name" (or @name at the root) into a new string; NULL on ENOMEM/too long. */
static char *path_join(const char *dir, const char *name, int *err)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    if (n > PATH_MAX) {
        *err = ENAMETOOLONG;
        return NULL;
    }
    char *p = malloc(n);
    if (!p) {
        *err = ENOMEM;
        return NULL;
    }
    /* n was computed from both lengths above: plain copies cannot overflow. */
    size_t dlen = strlen(dir), nlen = strlen(name);
    char *q = p;
    if (dlen) {
        memcpy(q, dir, dlen);
        q += dlen;
        *q++ = '/';
    }
    memcpy(q, name, nlen + 1);
    return p;
}

/* Component-wise fallback: open directory @rel beneath the root, O_NOFOLLOW at every step. */
static int open_dir_walk(struct p9_server *s, const char *rel)
{
    int fd = openat(s->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    const char *p = rel;
    while (fd >= 0 && *p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char comp[NAME_MAX + 1];
        if (n == 0 || n > NAME_MAX) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = 0;
        int nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = nfd;
        p += n + (slash ? 1 : 0);
    }
    return fd;
}

/*
 * Open directory @rel ("" = root) beneath the root, following no symlink.
 * Returns an O_PATH fd or -errno.
 */
static int open_dir_beneath(struct p9_server *s, const char *rel)
{
#if defined(HAVE_OPENAT2_H) && defined(SYS_openat2)
    static bool no_openat2;
    if (!no_openat2) {
        struct open_how how = {
            .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, s->root_fd, rel[0] ? rel : ".", &how, sizeof(how));
        if (fd >= 0)
            return fd;
        if (errno != ENOSYS)
            return -errno;
        no_openat2 = true;
    }
#endif
    int fd = open_dir_walk(s, rel);
    return fd >= 0 ? fd : -errno;
}

/*
 * Split @rel into an fd for its parent directory and its last component.
 * For the root itself the directory is the root and the name ".".
 * Returns the dirfd (caller closes) or -errno; *name points into @rel.
 */
static int open_parent(struct p9_server *s, const char *rel, const char **name)
{
    if (!rel[0]) {
        *name = ".";
        return open_dir_beneath(s, "");
    }
    const char *slash = strrchr(rel, '/');
    if (!slash) {
        *name = rel;
        return open_dir_beneath(s, "");
    }
    size_t n = (size_t)(slash - rel);
    char *dir = strndup(rel, n);
    if (!dir)
        return -ENOMEM;
    int fd = open_dir_beneath(s, dir);
    free(dir);
    *name = slash + 1;
    return fd;
}

/* /proc/self/fd/N/NAME for the *xattr calls, which have no *at() form. */
static void proc_path(char *buf, size_t cap, int dirfd, const char *name)
{
    snprintf(buf, cap, "/proc/self/fd/%d/%s", dirfd, name);
}

static void xattr_get32(int dirfd, const char *name, const char *attr, uint32_t *v)
{
    char p[PATH_MAX + 64];
    uint8_t b[4];
    proc_path(p, sizeof(p), dirfd, name);
    if (lgetxattr(p, attr, b, 4) == 4)
        *v = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static int xattr_set(int dirfd, const char *name, const char *attr, uint64_t v, int n)
{
    char p[PATH_MAX + 64];
    uint8_t b[8];
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    proc_path(p, sizeof(p), dirfd, name);
    return lsetxattr(p, attr, b, (size_t)n, 0) ? -errno : 0;
}

/* lstat of @name in @dirfd, with the mapped-xattr overrides applied. 0 or -errno. */
static int do_stat(struct p9_server *s, int dirfd, const char *name, struct stat *st)
{
    if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW))
        return -errno;
    if (s->sm == P9_SM_MAPPED_XATTR && !S_ISLNK(st->st_mode)) {
        uint32_t uid = st->st_uid, gid = st->st_gid, mode = st->st_mode;
        xattr_get32(dirfd, name, "user.virtfs.uid", &uid);
        xattr_get32(dirfd, name, "user.virtfs.gid", &gid);
        xattr_get32(dirfd, name, "user.virtfs.mode", &mode);
        char p[PATH_MAX + 64];
        uint8_t b[8];
        proc_path(p, sizeof(p), dirfd, name);
        if (lgetxattr(p, "user.virtfs.rdev", b, 8) == 8) {
            uint64_t r = 0;
            for (int i = 0; i < 8; i++)
                r |= (uint64_t)b[i] << (8 * i);
            st->st_rdev = r;
        }
        /* The host's file type wins for directories (what the host really has). */
        if (S_ISDIR(st->st_mode))
            mode = (mode & 07777) | S_IFDIR;
        st->st_uid = uid;
        st->st_gid = gid;
        st->st_mode = mode;
    }
    return 0;
}

static struct qid stat_qid(const struct stat *st)
{
    struct qid q = { .path = st->st_ino };
    q.type = S_ISDIR(st->st_mode) ? P9_QTDIR : S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
    /* QEMU's stat_to_qid: mtime ^ (size << 8). */
    q.version = (uint32_t)(st->st_mtime ^ (st->st_size << 8));
    return q;
}

static int path_stat(struct p9_server *s, const char *rel, struct stat *st)
{
    const char *name;
    int dfd = open_parent(s, rel, &name);
    if (dfd < 0)
        return dfd;
    int rc = do_stat(s, dfd, name, st);
    close(dfd);
    return rc;
}

/* After creating @name in @dirfd: apply the guest's credentials as the model says. */
static int post_create(struct p9_server *s, int dirfd, const char *name, uint32_t uid,
                       uint32_t gid, uint32_t mode, uint64_t rdev)
{
    if (s->sm == P9_SM_MAPPED_XATTR) {
        int rc = xattr_set(dirfd, name, "user.virtfs.uid", uid, 4);
        if (!rc)
            rc = xattr_set(dirfd, name, "user.virtfs.gid", gid, 4);
        if (!rc)
            rc = xattr_set(dirfd, name, "user.virtfs.mode", mode, 4);
        if (!rc && rdev)
            rc = xattr_set(dirfd, name, "user.virtfs.rdev", rdev, 8);
        return rc;
    }
    /* none: ownership as the host allows; the mode as asked (umask-free). */
    if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)) {
        /* ignored, as QEMU's security_model=none does */
    }
    if ((mode & S_IFMT) != S_IFLNK)
        fchmodat(dirfd, name, mode & 07777, 0);
    return 0;
}

/* ---------------------------------------------------------------- handlers */

struct req {
    struct p9_server *s;
    struct rd r;
    struct wr w;
};

/*
 * The fid @fid a request names, once all the request's fields are read:
 * NULL with *@err = EINVAL if the message was short, ENOENT if there is no
 * such fid.
 */
static struct p9_fid *req_fid(struct req *q, uint32_t fid, int *err)
{
    struct p9_fid *f = q->r.bad ? NULL : fid_get(q->s, fid);
    if (!f)
        *err = q->r.bad ? EINVAL : ENOENT;
    return f;
}

static int h_version(struct req *q)
{
    char ver[32];
    uint32_t msize = rd32(&q->r);
    const char *v = rd_str(&q->r, ver, sizeof(ver));
    if (q->r.bad)
        return EINVAL;
    p9_server_reset(q->s);
    if (msize > P9_MAX_MSIZE)
        msize = P9_MAX_MSIZE;
    if (msize < 4096) {
        qlog(LOG_GUEST_ERRORS, "9p: Tversion msize %u below 4096", msize);
        return EINVAL;
    }
    q->s->msize = msize;
    wr32(&q->w, msize);
    wr_str(&q->w, !strncmp(v, "9P2000.L", 8) ? "9P2000.L" : "unknown");
    return 0;
}

static int h_attach(struct req *q)
{
    char uname[256], aname[256];
    uint32_t fid = rd32(&q->r);
    (void)rd32(&q->r);              /* afid: no authentication */
    rd_str(&q->r, uname, sizeof(uname));
    rd_str(&q->r, aname, sizeof(aname));
    uint32_t n_uname = rd32(&q->r);
    if (q->r.bad)
        return EINVAL;
    struct stat st;
    int rc = path_stat(q->s, "", &st);
    if (rc)
        return -rc;
    int err;
    struct p9_fid *f = fid_new(q->s, fid, "", &err);
    if (!f)
        return err;
    f->uid = n_uname == P9_NOFID ? 0 : n_uname;
    struct qid qd = stat_qid(&st);
    wr_qid(&q->w, &qd);
    return 0;
}

static int h_walk(struct req *q)
{
    uint32_t fid = rd32(&q->r), newfid = rd32(&q->r);
    uint16_t nwname = rd16(&q->r);
    if (q->r.bad || nwname > P9_MAXWELEM)
        return EINVAL;
    struct p9_fid *f = fid_get(q->s, fid);
    if (!f)
        return ENOENT;
    if (newfid != fid && fid_get(q->s, newfid))
        return EINVAL;
    /* Parse every name first: a malformed message walks nothing. */
    char names[P9_MAXWELEM][NAME_MAX + 1];
    for (int i = 0; i < nwname; i++)
        if (!rd_str(&q->r, names[i], sizeof(names[i])))
            return EINVAL;
    char *path = strdup(f->path);
    if (!path)
        return ENOMEM;
    struct qid qids[P9_MAXWELEM];
    int n = 0, err = 0;
    for (int i = 0; i < nwname; i++) {
        const char *name = names[i];
        if (i > 0 && qids[i - 1].type != P9_QTDIR) {
            err = ENOTDIR;      /* the client resolves symlinks; we never follow one */
            break;
        }
        char *np;
        if (!strcmp(name, "..")) {
            char *slash = strrchr(path, '/');
            np = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
            if (!np)
                err = ENOMEM;
        } else if (!strcmp(name, ".")) {
            np = strdup(path);
            if (!np)
                err = ENOMEM;
        } else {
            err = check_name(name);
            np = err ? NULL : path_join(path, name, &err);
        }
        if (err)
            break;
        struct stat st;
        int rc = path_stat(q->s, np, &st);
        if (rc) {
            free(np);
            err = -rc;
            break;
        }
        free(path);
        path = np;
        qids[n++] = stat_qid(&st);
    }
    if (n == 0 && nwname > 0) {
        free(path);
        return err ? err : ENOENT;
    }
    if (n == nwname) {
        if (newfid == fid) {
            free(f->path);
            f->path = path;
            path = NULL;
        } else {
            struct p9_fid *nf = fid_new(q->s, newfid, path, &err);
            if (!nf) {
                free(path);
                return err;
            }
            nf->uid = f->uid;
        }
    }
    free(path);
    wr16(&q->w, n);
    for (int i = 0; i < n; i++)
        wr_qid(&q->w, &qids[i]);
    return 0;
}

static int open_flags(uint32_t f, bool readonly, int *out)
{
    int acc = f & P9_DOTL_ACCMODE;
    if (acc == 3)
        return EINVAL;
    if (readonly && (acc != O_RDONLY || (f & (P9_DOTL_TRUNC | P9_DOTL_CREATE | P9_DOTL_APPEND))))
        return EROFS;
    int fl = acc | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_LARGEFILE;
    if (f & P9_DOTL_TRUNC)
        fl |= O_TRUNC;
    if (f & P9_DOTL_APPEND)
        fl |= O_APPEND;
    if (f & P9_DOTL_DSYNC)
        fl |= O_DSYNC;
    if (f & P9_DOTL_SYNC)
        fl |= O_SYNC;
    if (f & P9_DOTL_DIRECTORY)
        fl |= O_DIRECTORY;
    if (f & P9_DOTL_EXCL)
        fl |= O_EXCL;
    *out = fl;
    return 0;
}

static int h_lopen(struct req *q)
{
    uint32_t fid = rd32(&q->r), flags = rd32(&q->r);
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    if (f->fd >= 0)
        return EBADF;
    int fl;
    err = open_flags(flags & ~(P9_DOTL_CREATE | P9_DOTL_EXCL), q->s->readonly, &fl);
    if (err)
        return err;
    const char *name;
    int dfd = open_parent(q->s, f->path, &name);
    if (dfd < 0)
        return -dfd;
    struct stat st;
    int rc = do_stat(q->s, dfd, name, &st);
    if (!rc && S_ISLNK(st.st_mode))
        rc = -ELOOP;
    if (!rc && S_ISDIR(st.st_mode))
        fl = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = -1;
    if (!rc) {
        fd = openat(dfd, name, fl);
        if (fd < 0)
            rc = -errno;
    }
    close(dfd);
    if (rc)
        return -rc;
    f->fd = fd;
    f->dir = S_ISDIR(st.st_mode);
    struct qid qd = stat_qid(&st);
    wr_qid(&q->w, &qd);
    wr32(&q->w, 0);     /* iounit 0: the client uses msize - P9_IOHDRSZ */
    return 0;
}

/* Open a directory fid's directory for a create; checks the fid. */
static int dir_of_fid(struct req *q, uint32_t dfid, struct p9_fid **out)
{
    struct p9_fid *d = fid_get(q->s, dfid);
    if (!d)
        return -ENOENT;
    if (q->s->readonly)
        return -EROFS;
    *out = d;
    return open_dir_beneath(q->s, d->path);
}

/*
 * For a request that makes or removes @name in directory fid @dfid, once all
 * its fields are read: the directory, opened (as dir_of_fid()), or -EINVAL
 * if the message was short, or the error of a bad @name (check_name()).
 */
static int dir_for_name(struct req *q, uint32_t dfid, const char *name, struct p9_fid **out)
{
    if (q->r.bad)
        return -EINVAL;
    int err = check_name(name);
    if (err)
        return -err;
    return dir_of_fid(q, dfid, out);
}

static int reply_new_qid(struct req *q, int dfd, const char *name)
{
    struct stat st;
    int rc = do_stat(q->s, dfd, name, &st);
    if (rc)
        return -rc;
    struct qid qd = stat_qid(&st);
    wr_qid(&q->w, &qd);
    return 0;
}

/*
 * After making @name (a node of type and mode @mode) in @dfd: give it the
 * guest's credentials (post_create()) and reply with its qid; if either
 * fails, remove it again. Returns 0 or -errno.
 */
static int created(struct req *q, int dfd, const char *name, uint32_t uid, uint32_t gid,
                   uint32_t mode, uint64_t rdev)
{
    int rc = post_create(q->s, dfd, name, uid, gid, mode, rdev);
    if (!rc)
        rc = reply_new_qid(q, dfd, name);
    if (rc)
        unlinkat(dfd, name, S_ISDIR(mode) ? AT_REMOVEDIR : 0);
    return rc;
}

static int h_lcreate(struct req *q)
{
    char name[NAME_MAX + 2];
    uint32_t fid = rd32(&q->r);
    rd_str(&q->r, name, sizeof(name));
    uint32_t flags = rd32(&q->r), mode = rd32(&q->r), gid = rd32(&q->r);
    struct p9_fid *f;
    int dfd = dir_for_name(q, fid, name, &f);
    if (dfd < 0)
        return -dfd;
    if (f->fd >= 0) {
        close(dfd);
        return EBADF;
    }
    int fl, err = open_flags(flags, false, &fl);
    char *np = err ? NULL : path_join(f->path, name, &err);
    if (err) {
        close(dfd);
        return err;
    }
    mode_t hmode = q->s->sm == P9_SM_MAPPED_XATTR ? SM_LOCAL_MODE_BITS : (mode & 07777);
    int fd = openat(dfd, name, fl | O_CREAT | O_EXCL, hmode);
    if (fd < 0) {
        err = errno;
        close(dfd);
        free(np);
        return err;
    }
    int rc = created(q, dfd, name, f->uid, gid, (mode & 07777) | S_IFREG, 0);
    if (rc) {
        close(fd);
        close(dfd);
        free(np);
        return -rc;
    }
    wr32(&q->w, 0);
    close(dfd);
    free(f->path);
    f->path = np;
    f->fd = fd;
    f->dir = false;
    return 0;
}

static int h_mkdir(struct req *q)
{
    char name[NAME_MAX + 2];
    uint32_t dfid = rd32(&q->r);
    rd_str(&q->r, name, sizeof(name));
    uint32_t mode = rd32(&q->r), gid = rd32(&q->r);
    struct p9_fid *d;
    int dfd = dir_for_name(q, dfid, name, &d);
    if (dfd < 0)
        return -dfd;
    mode_t hmode = q->s->sm == P9_SM_MAPPED_XATTR ? SM_LOCAL_DIR_MODE_BITS : (mode & 07777);
    int rc = mkdirat(dfd, name, hmode) ? -errno : 0;
    if (!rc)
        rc = created(q, dfd, name, d->uid, gid, (mode & 07777) | S_IFDIR, 0);
    close(dfd);
    return -rc;
}

static int h_symlink(struct req *q)
{
    char name[NAME_MAX + 2], *target = malloc(PATH_MAX);
    if (!target)
        return ENOMEM;
    uint32_t dfid = rd32(&q->r);
    rd_str(&q->r, name, sizeof(name));
    rd_str(&q->r, target, PATH_MAX);
    uint32_t gid = rd32(&q->r);
    struct p9_fid *d = NULL;
    int dfd = dir_for_name(q, dfid, name, &d);
    if (dfd < 0) {
        free(target);
        return -dfd;
    }
    int rc = 0;
    if (q->s->sm == P9_SM_MAPPED_XATTR) {
        /* QEMU's mapped symlink: a regular file holding the target. */
        int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                        SM_LOCAL_MODE_BITS);
        if (fd < 0) {
            rc = -errno;
        } else {
            size_t n = strlen(target);
            if (write(fd, target, n) != (ssize_t)n)
                rc = -EIO;
            close(fd);
        }
    } else if (symlinkat(target, dfd, name)) {
        rc = -errno;
    }
    if (!rc)
        rc = created(q, dfd, name, d->uid, gid, S_IFLNK | 0777, 0);
    close(dfd);
    free(target);
    return -rc;
}

static int h_mknod(struct req *q)
{
    char name[NAME_MAX + 2];
    uint32_t dfid = rd32(&q->r);
    rd_str(&q->r, name, sizeof(name));
    uint32_t mode = rd32(&q->r), major = rd32(&q->r), minor = rd32(&q->r), gid = rd32(&q->r);
    if (q->r.bad)
        return EINVAL;
    int err = check_name(name);
    if (err)
        return err;
    uint32_t type = mode & S_IFMT;
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
        type != S_IFBLK)
        return EINVAL;
    struct p9_fid *d;
    int dfd = dir_of_fid(q, dfid, &d);
    if (dfd < 0)
        return -dfd;
    int rc = 0;
    uint64_t rdev = makedev(major, minor);
    if (q->s->sm == P9_SM_MAPPED_XATTR) {
        if (mknodat(dfd, name, S_IFREG | SM_LOCAL_MODE_BITS, 0))
            rc = -errno;
    } else if (type == S_IFCHR || type == S_IFBLK) {
        qlog(LOG_GUEST_ERRORS, "9p: refusing to create a host device node (security_model=none)");
        rc = -EPERM;
    } else if (mknodat(dfd, name, type | (mode & 07777), 0)) {
        rc = -errno;
    }
    if (!rc)
        rc = created(q, dfd, name, d->uid, gid, mode, rdev);
    close(dfd);
    return -rc;
}

static int h_readlink(struct req *q)
{
    uint32_t fid = rd32(&q->r);
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    const char *name;
    int dfd = open_parent(q->s, f->path, &name);
    if (dfd < 0)
        return -dfd;
    char buf[PATH_MAX + 1];
    ssize_t n = -1;
    struct stat st, host;
    int rc = do_stat(q->s, dfd, name, &st);
    if (!rc && !S_ISLNK(st.st_mode))
        rc = -EINVAL;
    if (!rc && fstatat(dfd, name, &host, AT_SYMLINK_NOFOLLOW))
        rc = -errno;
    if (!rc && !S_ISLNK(host.st_mode)) {
        /* mapped-xattr symlink: the target is the file's content */
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        n = fd < 0 ? -1 : read(fd, buf, PATH_MAX);
        if (n < 0)
            rc = -errno;
        if (fd >= 0)
            close(fd);
    } else if (!rc) {
        n = readlinkat(dfd, name, buf, PATH_MAX);
        if (n < 0)
            rc = -errno;
    }
    close(dfd);
    if (rc)
        return -rc;
    buf[n] = 0;
    if (memchr(buf, 0, (size_t)n))
        return EINVAL;
    wr_str(&q->w, buf);
    return 0;
}

static int h_getattr(struct req *q)
{
    uint32_t fid = rd32(&q->r);
    rd64(&q->r);                    /* request_mask: we always answer the basic set */
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    struct stat st;
    int rc = path_stat(q->s, f->path, &st);
    if (rc)
        return -rc;
    struct qid qd = stat_qid(&st);
    wr64(&q->w, P9_GETATTR_BASIC);
    wr_qid(&q->w, &qd);
    wr32(&q->w, st.st_mode);
    wr32(&q->w, st.st_uid);
    wr32(&q->w, st.st_gid);
    wr64(&q->w, st.st_nlink);
    wr64(&q->w, st.st_rdev);
    wr64(&q->w, st.st_size);
    wr64(&q->w, st.st_blksize);
    wr64(&q->w, st.st_blocks);
    wr64(&q->w, st.st_atim.tv_sec);
    wr64(&q->w, st.st_atim.tv_nsec);
    wr64(&q->w, st.st_mtim.tv_sec);
    wr64(&q->w, st.st_mtim.tv_nsec);
    wr64(&q->w, st.st_ctim.tv_sec);
    wr64(&q->w, st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++)     /* btime sec/nsec, gen, data_version: not given */
        wr64(&q->w, 0);
    return 0;
}

static int h_setattr(struct req *q)
{
    uint32_t fid = rd32(&q->r), valid = rd32(&q->r), mode = rd32(&q->r);
    uint32_t uid = rd32(&q->r), gid = rd32(&q->r);
    uint64_t size = rd64(&q->r);
    uint64_t as = rd64(&q->r), ans = rd64(&q->r), ms = rd64(&q->r), mns = rd64(&q->r);
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    if (q->s->readonly)
        return EROFS;
    const char *name;
    int dfd = open_parent(q->s, f->path, &name);
    if (dfd < 0)
        return -dfd;
    struct stat st;
    int rc = do_stat(q->s, dfd, name, &st);
    bool mapped = q->s->sm == P9_SM_MAPPED_XATTR;
    if (!rc && (valid & P9_ATTR_MODE)) {
        if (mapped)
            rc = xattr_set(dfd, name, "user.virtfs.mode", (st.st_mode & S_IFMT) | (mode & 07777), 4);
        else if (fchmodat(dfd, name, mode & 07777, 0))
            rc = -errno;
    }
    if (!rc && (valid & (P9_ATTR_UID | P9_ATTR_GID))) {
        uid_t u = (valid & P9_ATTR_UID) ? uid : (uid_t)-1;
        gid_t g = (valid & P9_ATTR_GID) ? gid : (gid_t)-1;
        if (mapped) {
            if (u != (uid_t)-1)
                rc = xattr_set(dfd, name, "user.virtfs.uid", u, 4);
            if (!rc && g != (gid_t)-1)
                rc = xattr_set(dfd, name, "user.virtfs.gid", g, 4);
        } else if (fchownat(dfd, name, u, g, AT_SYMLINK_NOFOLLOW)) {
            rc = -errno;
        }
    }
    if (!rc && (valid & P9_ATTR_SIZE)) {
        if (size > (uint64_t)INT64_MAX) {
            rc = -EFBIG;
        } else if (f->fd >= 0 && !f->dir) {
            if (ftruncate(f->fd, (off_t)size))
                rc = -errno;
        } else {
            int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
            if (fd < 0 || ftruncate(fd, (off_t)size))
                rc = -errno;
            if (fd >= 0)
                close(fd);
        }
    }
    if (!rc && (valid & (P9_ATTR_ATIME | P9_ATTR_MTIME))) {
        struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
        if (valid & P9_ATTR_ATIME) {
            ts[0].tv_nsec = UTIME_NOW;
            if (valid & P9_ATTR_ATIME_SET) {
                ts[0].tv_sec = (time_t)as;
                ts[0].tv_nsec = ans < 1000000000 ? (long)ans : 0;
            }
        }
        if (valid & P9_ATTR_MTIME) {
            ts[1].tv_nsec = UTIME_NOW;
            if (valid & P9_ATTR_MTIME_SET) {
                ts[1].tv_sec = (time_t)ms;
                ts[1].tv_nsec = mns < 1000000000 ? (long)mns : 0;
            }
        }
        if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW))
            rc = -errno;
    }
    close(dfd);
    return -rc;
}

/* Tread, Treaddir and Twrite's fid[4] offset[8] count[4], checked by req_io(). */
struct io_args {
    struct p9_fid *f;       /* open, on a directory for Treaddir only */
    off_t off;
    uint32_t count;         /* Tread/Treaddir: clamped to the room in the reply
                             * after its count[4] */
};

/*
 * Parse and check the start of a Tread (@dir false), Treaddir (@dir true)
 * or Twrite (@data: count bytes of data follow). Returns 0, or EINVAL
 * (short message, offset above INT64_MAX, fewer than count bytes of data),
 * ENOENT (no such fid) or EBADF (not open, or the wrong kind of file).
 */
static int req_io(struct req *q, bool dir, bool data, struct io_args *a)
{
    uint32_t fid = rd32(&q->r);
    uint64_t off = rd64(&q->r);
    uint32_t count = rd32(&q->r);
    if (off > (uint64_t)INT64_MAX || (data && !q->r.bad && q->r.len - q->r.off < count))
        return EINVAL;
    int err;
    a->f = req_fid(q, fid, &err);
    if (!a->f)
        return err;
    if (a->f->fd < 0 || a->f->dir != dir)
        return EBADF;
    a->off = (off_t)off;
    a->count = count;
    size_t room = q->w.cap - q->w.len - 4;
    if (!data && count > room)
        a->count = (uint32_t)room;
    return 0;
}

static int h_read(struct req *q)
{
    struct io_args a;
    int err = req_io(q, false, false, &a);
    if (err)
        return err;
    ssize_t n = pread(a.f->fd, q->w.p + q->w.len + 4, a.count, a.off);
    if (n < 0)
        return errno;
    wr32(&q->w, (uint32_t)n);
    q->w.len += (size_t)n;
    return 0;
}

static int h_write(struct req *q)
{
    struct io_args a;
    int err = req_io(q, false, true, &a);
    if (err)
        return err;
    ssize_t n = pwrite(a.f->fd, q->r.p + q->r.off, a.count, a.off);
    if (n < 0)
        return errno;
    wr32(&q->w, (uint32_t)n);
    return 0;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int h_readdir(struct req *q)
{
    struct io_args a;
    int err = req_io(q, true, false, &a);
    if (err)
        return err;
    if (lseek(a.f->fd, a.off, SEEK_SET) < 0)
        return errno;
    size_t bufsz = a.count < 512 ? 512 : a.count;
    uint8_t *buf = malloc(bufsz);
    if (!buf)
        return ENOMEM;
    long n = syscall(SYS_getdents64, a.f->fd, buf, bufsz);
    if (n < 0) {
        free(buf);
        return errno;
    }
    size_t count_at = q->w.len;
    wr32(&q->w, 0);
    size_t start = q->w.len, end = start + a.count;
    for (long pos = 0; pos < n;) {
        struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + pos);
        size_t nl = strlen(d->d_name);
        size_t need = 13 + 8 + 1 + 2 + nl;
        if (q->w.len + need > end)
            break;
        struct qid qd = { .path = d->d_ino,
                          .type = d->d_type == DT_DIR ? P9_QTDIR
                                  : d->d_type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE };
        wr_qid(&q->w, &qd);
        wr64(&q->w, (uint64_t)d->d_off);
        wr8(&q->w, d->d_type);
        wr_str(&q->w, d->d_name);
        pos += d->d_reclen;
    }
    free(buf);
    uint32_t got = (uint32_t)(q->w.len - start);
    for (int i = 0; i < 4; i++)
        q->w.p[count_at + i] = (uint8_t)(got >> (8 * i));
    return 0;
}

static int h_clunk(struct req *q, bool remove)
{
    uint32_t fid = rd32(&q->r);
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    int rc = 0;
    if (remove) {
        const char *name;
        struct stat st;
        int dfd = q->s->readonly ? -EROFS : f->path[0] ? open_parent(q->s, f->path, &name) : -EBUSY;
        if (dfd < 0) {
            rc = dfd;
        } else {
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) ||
                unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0))
                rc = -errno;
            close(dfd);
        }
    }
    fid_free(q->s, fid);     /* Tremove clunks even when the remove fails */
    return -rc;
}

static int h_statfs(struct req *q)
{
    uint32_t fid = rd32(&q->r);
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    struct statfs sf;
    if (fstatfs(q->s->root_fd, &sf))
        return errno;
    uint64_t fsid;
    memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
    wr32(&q->w, (uint32_t)sf.f_type);
    wr32(&q->w, (uint32_t)sf.f_bsize);
    wr64(&q->w, sf.f_blocks);
    wr64(&q->w, sf.f_bfree);
    wr64(&q->w, sf.f_bavail);
    wr64(&q->w, sf.f_files);
    wr64(&q->w, sf.f_ffree);
    wr64(&q->w, fsid);
    wr32(&q->w, (uint32_t)sf.f_namelen);
    return 0;
}

static int h_fsync(struct req *q)
{
    uint32_t fid = rd32(&q->r), datasync = rd32(&q->r);
    int err;
    struct p9_fid *f = req_fid(q, fid, &err);
    if (!f)
        return err;
    if (f->fd < 0)
        return EBADF;
    if (datasync ? fdatasync(f->fd) : fsync(f->fd))
        return errno;
    return 0;
}

static int h_lock(struct req *q, bool get)
{
    char client[256];
    uint32_t fid = rd32(&q->r);
    uint8_t type = rd8(&q->r);
    if (!get)
        (void)rd32(&q->r);      /* flags */
    uint64_t start = rd64(&q->r), length = rd64(&q->r);
    uint32_t proc = rd32(&q->r);
    rd_str(&q->r, client, sizeof(client));
    if (q->r.bad)
        return EINVAL;
    if (!fid_get(q->s, fid))
        return ENOENT;
    (void)type;
    if (!get) {
        wr8(&q->w, 0);          /* P9_LOCK_SUCCESS */
        return 0;
    }
    wr8(&q->w, 2);              /* P9_LOCK_TYPE_UNLCK: nobody holds it */
    wr64(&q->w, start);
    wr64(&q->w, length);
    wr32(&q->w, proc);
    wr_str(&q->w, client);
    return 0;
}

static int h_link(struct req *q)
{
    char name[NAME_MAX + 2];
    uint32_t dfid = rd32(&q->r), fid = rd32(&q->r);
    rd_str(&q->r, name, sizeof(name));
    if (q->r.bad)
        return EINVAL;
    int err = check_name(name);
    if (err)
        return err;
    struct p9_fid *f = fid_get(q->s, fid), *d;
    if (!f)
        return ENOENT;
    if (!f->path[0])
        return EPERM;
    int dfd = dir_of_fid(q, dfid, &d);
    if (dfd < 0)
        return -dfd;
    const char *oname;
    int ofd = open_parent(q->s, f->path, &oname);
    int rc = ofd < 0 ? ofd : linkat(ofd, oname, dfd, name, 0) ? -errno : 0;
    if (ofd >= 0)
        close(ofd);
    close(dfd);
    return -rc;
}

/* Rename @odir/@oname to @ndir/@nname (directory fids), fixing fid paths. */
static int do_rename(struct req *q, struct p9_fid *od, const char *oname, struct p9_fid *nd,
                     const char *nname)
{
    int err = check_name(oname);
    if (!err)
        err = check_name(nname);
    if (err)
        return err;
    if (q->s->readonly)
        return EROFS;
    char *from = path_join(od->path, oname, &err);
    char *to = from ? path_join(nd->path, nname, &err) : NULL;
    if (!to) {
        free(from);
        return err;
    }
    int ofd = open_dir_beneath(q->s, od->path);
    int nfd = ofd < 0 ? ofd : open_dir_beneath(q->s, nd->path);
    int rc = nfd < 0 ? nfd : renameat(ofd, oname, nfd, nname) ? -errno : 0;
    if (ofd >= 0)
        close(ofd);
    if (nfd >= 0)
        close(nfd);
    if (!rc)
        fids_renamed(q->s, from, to);
    free(from);
    free(to);
    return -rc;
}

static int h_renameat(struct req *q)
{
    char oname[NAME_MAX + 2], nname[NAME_MAX + 2];
    uint32_t ofid = rd32(&q->r);
    rd_str(&q->r, oname, sizeof(oname));
    uint32_t nfid = rd32(&q->r);
    rd_str(&q->r, nname, sizeof(nname));
    if (q->r.bad)
        return EINVAL;
    struct p9_fid *od = fid_get(q->s, ofid), *nd = fid_get(q->s, nfid);
    if (!od || !nd)
        return ENOENT;
    return do_rename(q, od, oname, nd, nname);
}

static int h_rename(struct req *q)
{
    char nname[NAME_MAX + 2];
    uint32_t fid = rd32(&q->r), dfid = rd32(&q->r);
    rd_str(&q->r, nname, sizeof(nname));
    if (q->r.bad)
        return EINVAL;
    struct p9_fid *f = fid_get(q->s, fid), *nd = fid_get(q->s, dfid);
    if (!f || !nd)
        return ENOENT;
    if (!f->path[0])
        return EBUSY;
    /* The parent of @f as a temporary fid-like path. */
    char *slash = strrchr(f->path, '/');
    struct p9_fid parent = { .path = slash ? strndup(f->path, (size_t)(slash - f->path)) : strdup("") };
    if (!parent.path)
        return ENOMEM;
    char *oname = strdup(slash ? slash + 1 : f->path);
    int rc = oname ? do_rename(q, &parent, oname, nd, nname) : ENOMEM;
    free(oname);
    free(parent.path);
    return rc;
}

static int h_unlinkat(struct req *q)
{
    char name[NAME_MAX + 2];
    uint32_t dfid = rd32(&q->r);
    rd_str(&q->r, name, sizeof(name));
    uint32_t flags = rd32(&q->r);
    struct p9_fid *d;
    int dfd = dir_for_name(q, dfid, name, &d);
    if (dfd < 0)
        return -dfd;
    int rc = unlinkat(dfd, name, (flags & P9_DOTL_AT_REMOVEDIR) ? AT_REMOVEDIR : 0) ? errno : 0;
    close(dfd);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */

size_t p9_server_handle(struct p9_server *s, const uint8_t *req, size_t req_len,
                        uint8_t *resp, size_t resp_cap)
{
    if (resp_cap < P9_MIN_RESPONSE)
        return 0;
    struct req q = { .s = s, .r = { .p = req, .len = req_len } };
    uint32_t size = rd32(&q.r);
    uint8_t type = rd8(&q.r);
    uint16_t tag = rd16(&q.r);
    if (q.r.bad)
        tag = 0xffff;
    if (s->msize && resp_cap > s->msize)
        resp_cap = s->msize;
    q.w = (struct wr){ .p = resp, .cap = resp_cap, .len = P9_HDR };
    int err;
    if (q.r.bad || size < P9_HDR || size > req_len) {
        qlog(LOG_GUEST_ERRORS, "9p: malformed message header (size %u of %zu bytes)", size, req_len);
        err = EINVAL;
    } else {
        q.r.len = size;     /* ignore trailing bytes beyond the message */
        if (type != P9_TVERSION && !s->msize)
            err = EPROTO;
        else switch (type) {
        case P9_TVERSION:     err = h_version(&q); break;
        case P9_TATTACH:      err = h_attach(&q); break;
        case P9_TWALK:        err = h_walk(&q); break;
        case P9_TLOPEN:       err = h_lopen(&q); break;
        case P9_TLCREATE:     err = h_lcreate(&q); break;
        case P9_TMKDIR:       err = h_mkdir(&q); break;
        case P9_TSYMLINK:     err = h_symlink(&q); break;
        case P9_TMKNOD:       err = h_mknod(&q); break;
        case P9_TREADLINK:    err = h_readlink(&q); break;
        case P9_TGETATTR:     err = h_getattr(&q); break;
        case P9_TSETATTR:     err = h_setattr(&q); break;
        case P9_TREAD:        err = h_read(&q); break;
        case P9_TWRITE:       err = h_write(&q); break;
        case P9_TREADDIR:     err = h_readdir(&q); break;
        case P9_TCLUNK:       err = h_clunk(&q, false); break;
        case P9_TREMOVE:      err = h_clunk(&q, true); break;
        case P9_TSTATFS:      err = h_statfs(&q); break;
        case P9_TFSYNC:       err = h_fsync(&q); break;
        case P9_TLOCK:        err = h_lock(&q, false); break;
        case P9_TGETLOCK:     err = h_lock(&q, true); break;
        case P9_TLINK:        err = h_link(&q); break;
        case P9_TRENAME:      err = h_rename(&q); break;
        case P9_TRENAMEAT:    err = h_renameat(&q); break;
        case P9_TUNLINKAT:    err = h_unlinkat(&q); break;
        case P9_TFLUSH:       err = 0; break;       /* requests complete synchronously */
        case P9_TXATTRWALK:
        case P9_TXATTRCREATE:
        case P9_TAUTH:        err = EOPNOTSUPP; break;
        default:
            qlog(LOG_UNIMP, "9p: message type %u not supported", type);
            err = EOPNOTSUPP;
            break;
        }
    }
    if (!err && q.w.over)
        err = EMSGSIZE;
    if (err) {
        q.w.len = P9_HDR;
        q.w.over = false;
        wr32(&q.w, (uint32_t)err);
        type = P9_RLERROR - 1;
    }
    size_t len = q.w.len;
    for (int i = 0; i < 4; i++)
        resp[i] = (uint8_t)(len >> (8 * i));
    resp[4] = (uint8_t)(type + 1);
    resp[5] = (uint8_t)tag;
    resp[6] = (uint8_t)(tag >> 8);
    return len;
}

uint32_t p9_server_msize(const struct p9_server *s)
{
    return s->msize;
}

int p9_security_model_parse(const char *name, enum p9_security_model *out)
{
    if (!strcmp(name, "none")) {
        *out = P9_SM_NONE;
        return 0;
    }
    if (!strcmp(name, "mapped-xattr") || !strcmp(name, "mapped")) {
        *out = P9_SM_MAPPED_XATTR;
        return 0;
    }
    return -1;
}

struct p9_server *p9_server_create(const char *root, enum p9_security_model sm, bool readonly,
                                   char *err, size_t err_len)
{
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "9p export '%s': %s", root, strerror(errno));
        return NULL;
    }
    struct p9_server *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        snprintf(err, err_len, "9p export '%s': out of memory", root);
        return NULL;
    }
    s->root_fd = fd;
    s->sm = sm;
    s->readonly = readonly;
    return s;
}

void p9_server_destroy(struct p9_server *s)
{
    if (!s)
        return;
    p9_server_reset(s);
    close(s->root_fd);
    free(s);
}
