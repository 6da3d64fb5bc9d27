/*
 * tests/unit/test_p9.c - the 9P2000.L server (devices/p9.c) against the host
 * file system: what the server reports is checked with the host's own
 * stat/readdir/readlink, and what the client changes is checked on the host.
 * Message layouts follow Linux include/net/9p/9p.h.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "devices/p9.h"

/* ---------------------------------------------------------------- a tiny client */

struct msg {
    uint8_t b[65536];
    size_t n;
};

static void put(struct msg *m, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void puts9(struct msg *m, const char *s)
{
    size_t n = strlen(s);
    put(m, n, 2);
    memcpy(m->b + m->n, s, n);
    m->n += n;
}

static void begin(struct msg *m, uint8_t type)
{
    m->n = 0;
    put(m, 0, 4);
    put(m, type, 1);
    put(m, 1, 2);   /* tag */
}

static void finish(struct msg *m)
{
    for (int i = 0; i < 4; i++)
        m->b[i] = (uint8_t)(m->n >> (8 * i));
}

static uint8_t resp[P9_MAX_MSIZE];
static size_t resp_len, rpos;

static uint64_t get(int n)
{
    uint64_t v = 0;
    cr_assert(rpos + n <= resp_len, "response too short");
    for (int i = 0; i < n; i++)
        v |= (uint64_t)resp[rpos + i] << (8 * i);
    rpos += n;
    return v;
}

/* Send @m; return the R-type (7 = Rlerror) and leave the reader after the header. */
static int rpc(struct p9_server *s, struct msg *m)
{
    finish(m);
    resp_len = p9_server_handle(s, m->b, m->n, resp, sizeof(resp));
    cr_assert_geq(resp_len, 7);
    rpos = 0;
    cr_assert_eq(get(4), resp_len, "size field matches the length");
    int type = (int)get(1);
    get(2);
    return type;
}

/* Rlerror's errno, or 0 if the reply has type @want. */
static int rpc_err(struct p9_server *s, struct msg *m, int want)
{
    int t = rpc(s, m);
    if (t == 7)
        return (int)get(4);
    cr_assert_eq(t, want, "reply type %d, wanted %d", t, want);
    return 0;
}

static char root[256];
static struct p9_server *srv;

static void mkroot(void)
{
    snprintf(root, sizeof(root), "/tmp/qtemu-p9-XXXXXX");
    cr_assert(mkdtemp(root));
}

static void rmroot(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

static char *hp(const char *rel)   /* host path of @rel under the export */
{
    static char buf[4][512];
    static int i;
    i = (i + 1) & 3;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", root, rel);
    return buf[i];
}

static void host_write(const char *rel, const char *data)
{
    FILE *f = fopen(hp(rel), "w");
    cr_assert(f);
    fputs(data, f);
    fclose(f);
}

static void start(enum p9_security_model sm)
{
    mkroot();
    char err[256];
    srv = p9_server_create(root, sm, false, err, sizeof(err));
    cr_assert(srv, "%s", err);
    struct msg m;
    begin(&m, 100);
    put(&m, 131072, 4);
    puts9(&m, "9P2000.L");
    cr_assert_eq(rpc(srv, &m), 101);
    cr_assert_eq(get(4), 131072);
    begin(&m, 104);          /* Tattach fid 0 */
    put(&m, 0, 4);
    put(&m, 0xffffffff, 4);
    puts9(&m, "root");
    puts9(&m, "");
    put(&m, 0, 4);
    cr_assert_eq(rpc(srv, &m), 105);
}

static void stop(void)
{
    p9_server_destroy(srv);
    srv = NULL;
    rmroot();
}

/* Twalk @fid -> @newfid through @n names; returns errno or 0 (full walk). */
static int walk(uint32_t fid, uint32_t newfid, int n, const char **names, int *nqid)
{
    struct msg m;
    begin(&m, 110);
    put(&m, fid, 4);
    put(&m, newfid, 4);
    put(&m, n, 2);
    for (int i = 0; i < n; i++)
        puts9(&m, names[i]);
    int e = rpc_err(srv, &m, 111);
    if (e)
        return e;
    *nqid = (int)get(2);
    return 0;
}

static int walk1(uint32_t fid, uint32_t newfid, const char *name)
{
    int nq;
    int e = walk(fid, newfid, 1, &name, &nq);
    return e ? e : nq == 1 ? 0 : ENOENT;
}

static void clunk(uint32_t fid)
{
    struct msg m;
    begin(&m, 120);
    put(&m, fid, 4);
    cr_assert_eq(rpc_err(srv, &m, 121), 0);
}

static int lopen(uint32_t fid, uint32_t flags)
{
    struct msg m;
    begin(&m, 12);
    put(&m, fid, 4);
    put(&m, flags, 4);
    return rpc_err(srv, &m, 13);
}

struct attr {
    uint8_t qtype;
    uint64_t qpath;
    uint32_t mode, uid, gid;
    uint64_t nlink, size;
};

static int getattr(uint32_t fid, struct attr *a)
{
    struct msg m;
    begin(&m, 24);
    put(&m, fid, 4);
    put(&m, 0x7ff, 8);
    int e = rpc_err(srv, &m, 25);
    if (e)
        return e;
    get(8);
    a->qtype = (uint8_t)get(1);
    get(4);
    a->qpath = get(8);
    a->mode = (uint32_t)get(4);
    a->uid = (uint32_t)get(4);
    a->gid = (uint32_t)get(4);
    a->nlink = get(8);
    get(8);
    a->size = get(8);
    return 0;
}

/* ---------------------------------------------------------------- tests */

Test(p9, getattr_and_read_match_the_host)
{
    start(P9_SM_NONE);
    host_write("hello.txt", "hello from the host\n");
    cr_assert_eq(walk1(0, 1, "hello.txt"), 0);
    struct attr a;
    cr_assert_eq(getattr(1, &a), 0);
    struct stat st;
    cr_assert_eq(lstat(hp("hello.txt"), &st), 0);
    cr_assert_eq(a.qpath, st.st_ino);
    cr_assert_eq(a.mode, st.st_mode);
    cr_assert_eq(a.uid, st.st_uid);
    cr_assert_eq(a.size, (uint64_t)st.st_size);
    cr_assert_eq(a.qtype, 0);

    cr_assert_eq(lopen(1, O_RDONLY), 0);
    struct msg m;
    begin(&m, 116);
    put(&m, 1, 4);
    put(&m, 6, 8);
    put(&m, 100, 4);
    cr_assert_eq(rpc(srv, &m), 117);
    uint32_t n = (uint32_t)get(4);
    cr_assert_eq(n, strlen("hello from the host\n") - 6);
    cr_assert(!memcmp(resp + rpos, "from the host\n", n));
    clunk(1);
    stop();
}

Test(p9, create_write_rename_unlink_are_seen_by_the_host)
{
    start(P9_SM_NONE);
    cr_assert_eq(walk1(0, 1, ""), EINVAL, "an empty name is not a walk");
    int nq;
    cr_assert_eq(walk(0, 1, 0, NULL, &nq), 0);   /* clone the root */
    struct msg m;
    begin(&m, 72);                               /* Tmkdir sub 0755 */
    put(&m, 0, 4);
    puts9(&m, "sub");
    put(&m, 0755, 4);
    put(&m, 0, 4);
    cr_assert_eq(rpc_err(srv, &m, 73), 0);
    struct stat st;
    cr_assert_eq(stat(hp("sub"), &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0755);

    cr_assert_eq(walk1(0, 2, "sub"), 0);
    begin(&m, 14);                               /* Tlcreate sub/new.txt */
    put(&m, 2, 4);
    puts9(&m, "new.txt");
    put(&m, O_RDWR, 4);
    put(&m, 0640, 4);
    put(&m, 0, 4);
    cr_assert_eq(rpc_err(srv, &m, 15), 0);
    begin(&m, 118);                              /* Twrite */
    put(&m, 2, 4);
    put(&m, 0, 8);
    put(&m, 5, 4);
    memcpy(m.b + m.n, "guest", 5);
    m.n += 5;
    cr_assert_eq(rpc(srv, &m), 119);
    cr_assert_eq(get(4), 5);
    clunk(2);
    char buf[16] = { 0 };
    int fd = open(hp("sub/new.txt"), O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(read(fd, buf, sizeof(buf)), 5);
    close(fd);
    cr_assert_str_eq(buf, "guest");
    cr_assert_eq(stat(hp("sub/new.txt"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0640);

    /* Trenameat sub/new.txt -> moved.txt at the root; a fid on it follows. */
    const char *path[] = { "sub", "new.txt" };
    cr_assert_eq(walk(0, 3, 2, path, &nq), 0);
    begin(&m, 74);
    put(&m, 1, 4);       /* fid 1 is a clone of the root; walk it to sub */
    puts9(&m, "x");
    put(&m, 0, 4);
    puts9(&m, "y");
    cr_assert_eq(rpc_err(srv, &m, 75), ENOENT, "renaming a missing name fails as the host says");
    cr_assert_eq(walk1(0, 4, "sub"), 0);
    begin(&m, 74);
    put(&m, 4, 4);
    puts9(&m, "new.txt");
    put(&m, 0, 4);
    puts9(&m, "moved.txt");
    cr_assert_eq(rpc_err(srv, &m, 75), 0);
    cr_assert_neq(access(hp("sub/new.txt"), F_OK), 0);
    cr_assert_eq(access(hp("moved.txt"), F_OK), 0);
    struct attr a;
    cr_assert_eq(getattr(3, &a), 0, "the fid walked to the old name follows the rename");
    cr_assert_eq(a.size, 5);

    begin(&m, 76);                               /* Tunlinkat moved.txt */
    put(&m, 0, 4);
    puts9(&m, "moved.txt");
    put(&m, 0, 4);
    cr_assert_eq(rpc_err(srv, &m, 77), 0);
    cr_assert_neq(access(hp("moved.txt"), F_OK), 0);
    begin(&m, 76);                               /* Tunlinkat sub (AT_REMOVEDIR) */
    put(&m, 0, 4);
    puts9(&m, "sub");
    put(&m, 0x200, 4);
    cr_assert_eq(rpc_err(srv, &m, 77), 0);
    cr_assert_neq(access(hp("sub"), F_OK), 0);
    stop();
}

Test(p9, readdir_lists_what_the_host_has)
{
    start(P9_SM_NONE);
    host_write("a", "1");
    host_write("bb", "2");
    cr_assert_eq(mkdir(hp("dir"), 0700), 0);
    cr_assert_eq(symlink("a", hp("ln")), 0);
    int nq;
    cr_assert_eq(walk(0, 1, 0, NULL, &nq), 0);
    cr_assert_eq(lopen(1, O_RDONLY | O_DIRECTORY), 0);

    /* Host oracle: names and inode numbers from readdir(3). */
    char want[64][256];
    uint64_t want_ino[64];
    int nwant = 0;
    DIR *d = opendir(root);
    struct dirent *de;
    while ((de = readdir(d)) && nwant < 64) {
        snprintf(want[nwant], sizeof(want[0]), "%s", de->d_name);
        want_ino[nwant++] = de->d_ino;
    }
    closedir(d);

    int seen = 0;
    uint64_t off = 0;
    for (int round = 0; round < 20; round++) {
        struct msg m;
        begin(&m, 40);
        put(&m, 1, 4);
        put(&m, off, 8);
        put(&m, 64, 4);          /* small count: forces several rounds */
        cr_assert_eq(rpc(srv, &m), 41);
        uint32_t count = (uint32_t)get(4);
        if (!count)
            break;
        size_t end = rpos + count;
        while (rpos < end) {
            get(1);
            get(4);
            uint64_t ino = get(8);
            off = get(8);
            get(1);
            size_t n = (size_t)get(2);
            char name[64] = { 0 };
            memcpy(name, resp + rpos, n);
            rpos += n;
            bool found = false;
            for (int i = 0; i < nwant; i++)
                if (!strcmp(want[i], name) && want_ino[i] == ino)
                    found = true;
            cr_assert(found, "entry %s not on the host", name);
            seen++;
        }
    }
    cr_assert_eq(seen, nwant, "every host entry once (%d of %d)", seen, nwant);
    clunk(1);
    stop();
}

Test(p9, dotdot_and_symlinks_never_leave_the_export)
{
    start(P9_SM_NONE);
    cr_assert_eq(mkdir(hp("d"), 0755), 0);
    cr_assert_eq(symlink("/etc", hp("esc")), 0);
    cr_assert_eq(symlink("..", hp("d/up")), 0);
    struct attr ra, a;
    cr_assert_eq(getattr(0, &ra), 0);

    /* ".." at the root is the root. */
    const char *up[] = { "..", "..", ".." };
    int nq;
    cr_assert_eq(walk(0, 1, 3, up, &nq), 0);
    cr_assert_eq(getattr(1, &a), 0);
    cr_assert_eq(a.qpath, ra.qpath);
    cr_assert_eq(a.qpath, (uint64_t)({ struct stat st; stat(root, &st); st.st_ino; }));

    /* A host symlink to /etc: walking through it stops; opening it is ELOOP. */
    const char *thru[] = { "esc", "passwd" };
    cr_assert_eq(walk(0, 2, 2, thru, &nq), 0);
    cr_assert_eq(nq, 1, "only the symlink itself is walked");
    cr_assert_eq(walk1(0, 3, "esc"), 0);
    cr_assert_eq(getattr(3, &a), 0);
    cr_assert_eq(a.qtype, 0x02, "a symlink qid");
    cr_assert_eq(lopen(3, O_RDONLY), ELOOP);
    struct msg m;
    begin(&m, 14);                       /* create inside the symlinked dir */
    put(&m, 3, 4);
    puts9(&m, "owned");
    put(&m, O_RDWR, 4);
    put(&m, 0644, 4);
    put(&m, 0, 4);
    cr_assert_neq(rpc_err(srv, &m, 15), 0);
    cr_assert_neq(access("/etc/owned", F_OK), 0);

    /* Names with '/' or "..": rejected before the host sees them. */
    begin(&m, 14);
    put(&m, 0, 4);
    puts9(&m, "../escape");
    put(&m, O_RDWR, 4);
    put(&m, 0644, 4);
    put(&m, 0, 4);
    cr_assert_eq(rpc_err(srv, &m, 15), EINVAL);
    cr_assert_eq(walk1(0, 4, "d/../.."), EINVAL);
    begin(&m, 74);
    put(&m, 0, 4);
    puts9(&m, "d");
    put(&m, 0, 4);
    puts9(&m, "..");
    cr_assert_eq(rpc_err(srv, &m, 75), EINVAL);

    /* d/up -> "..": walking "d","up","x" stops at the link. */
    const char *viaup[] = { "d", "up", "d" };
    cr_assert_eq(walk(0, 5, 3, viaup, &nq), 0);
    cr_assert_eq(nq, 2);
    stop();
}

Test(p9, mapped_xattr_keeps_guest_credentials_in_xattrs)
{
    start(P9_SM_MAPPED_XATTR);
    struct msg m;
    int nq;
    cr_assert_eq(walk(0, 1, 0, NULL, &nq), 0);
    begin(&m, 14);                               /* Tlcreate f 0640 gid 4321 */
    put(&m, 1, 4);
    puts9(&m, "f");
    put(&m, O_RDWR, 4);
    put(&m, 0640, 4);
    put(&m, 4321, 4);
    cr_assert_eq(rpc_err(srv, &m, 15), 0);
    struct stat st;
    cr_assert_eq(lstat(hp("f"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "host file is 0600 (QEMU SM_LOCAL_MODE_BITS)");
    uint8_t b[4];
    cr_assert_eq(getxattr(hp("f"), "user.virtfs.gid", b, 4), 4);
    cr_assert_eq(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24, 4321);
    cr_assert_eq(getxattr(hp("f"), "user.virtfs.mode", b, 4), 4);
    cr_assert_eq(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24, S_IFREG | 0640);

    struct attr a;
    cr_assert_eq(walk1(0, 2, "f"), 0);
    cr_assert_eq(getattr(2, &a), 0);
    cr_assert_eq(a.mode, S_IFREG | 0640);
    cr_assert_eq(a.gid, 4321);

    begin(&m, 26);                               /* Tsetattr mode 0444, uid 777 */
    put(&m, 2, 4);
    put(&m, 0x1 | 0x2, 4);
    put(&m, S_IFREG | 0444, 4);
    put(&m, 777, 4);
    put(&m, 0, 4);
    for (int i = 0; i < 5; i++)
        put(&m, 0, 8);
    cr_assert_eq(rpc_err(srv, &m, 27), 0);
    cr_assert_eq(getattr(2, &a), 0);
    cr_assert_eq(a.mode, S_IFREG | 0444);
    cr_assert_eq(a.uid, 777);
    cr_assert_eq(lstat(hp("f"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "the host mode is untouched");

    begin(&m, 16);                               /* Tsymlink s -> /etc/passwd */
    put(&m, 0, 4);
    puts9(&m, "s");
    puts9(&m, "/etc/passwd");
    put(&m, 0, 4);
    cr_assert_eq(rpc_err(srv, &m, 17), 0);
    cr_assert_eq(lstat(hp("s"), &st), 0);
    cr_assert(S_ISREG(st.st_mode), "a mapped symlink is a regular host file");
    cr_assert_eq(walk1(0, 3, "s"), 0);
    cr_assert_eq(getattr(3, &a), 0);
    cr_assert(S_ISLNK(a.mode));
    begin(&m, 22);
    put(&m, 3, 4);
    cr_assert_eq(rpc(srv, &m), 23);
    size_t n = (size_t)get(2);
    cr_assert_eq(n, strlen("/etc/passwd"));
    cr_assert(!memcmp(resp + rpos, "/etc/passwd", n));
    stop();
}

Test(p9, malformed_requests_get_rlerror)
{
    start(P9_SM_NONE);
    struct msg m;
    /* Truncated Twalk: says 3 names, carries one. */
    begin(&m, 110);
    put(&m, 0, 4);
    put(&m, 1, 4);
    put(&m, 3, 2);
    puts9(&m, "x");
    cr_assert_eq(rpc_err(srv, &m, 111), EINVAL);
    /* A string length running past the message. */
    begin(&m, 14);
    put(&m, 0, 4);
    put(&m, 60000, 2);
    cr_assert_eq(rpc_err(srv, &m, 15), EINVAL);
    /* Twrite claiming more data than sent. */
    begin(&m, 118);
    put(&m, 0, 4);
    put(&m, 0, 8);
    put(&m, 1000, 4);
    cr_assert_eq(rpc_err(srv, &m, 119), EINVAL);
    /* Unknown fid, unknown message type, size field larger than the buffer. */
    begin(&m, 24);
    put(&m, 99, 4);
    put(&m, 0, 8);
    cr_assert_eq(rpc_err(srv, &m, 25), ENOENT);
    begin(&m, 200);
    cr_assert_eq(rpc_err(srv, &m, 201), EOPNOTSUPP);
    uint8_t bad[7] = { 0xff, 0xff, 0, 0, 24, 1, 0 };
    resp_len = p9_server_handle(srv, bad, sizeof(bad), resp, sizeof(resp));
    cr_assert_eq(resp[4], 7);
    /* A response buffer too small for a reply gets nothing written past it. */
    cr_assert_eq(p9_server_handle(srv, bad, sizeof(bad), resp, 10), 0);
    /* Random garbage after valid headers never crashes. */
    srand(1);
    for (int i = 0; i < 20000; i++) {
        uint8_t buf[64];
        size_t len = 7 + (size_t)(rand() % 57);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)rand();
        buf[0] = (uint8_t)len;
        buf[1] = buf[2] = buf[3] = 0;
        static const uint8_t types[] = { 8, 12, 14, 16, 18, 20, 22, 24, 26, 40, 50, 52, 54,
                                         70, 72, 74, 76, 104, 110, 116, 118, 120 };
        buf[4] = types[rand() % (int)sizeof(types)];
        size_t n = p9_server_handle(srv, buf, len, resp, 4096);
        cr_assert_geq(n, 7);
        cr_assert_leq(n, 4096);
    }
    stop();
}
