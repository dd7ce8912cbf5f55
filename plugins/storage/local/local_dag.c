/* Walking a stored DAG: rebuilding files and directories (get), checking that every block is
 * present and intact (pin), and sizing (stat). Every block is verified against its CID when it
 * is read, and the UnixFS sizes are cross-checked, so a damaged or forged store is reported and
 * never written out as if it were the content. Every block read is counted as progress, so a
 * cancelled call stops within a few MiB or a few hundred blocks. */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cid/dagpb.h"
#include "cid/unixfs.h"

#define MAX_FILE_DEPTH 32 /* 174^32 chunks: no real file is that deep */
#define MAX_DIR_DEPTH  256

struct node {
    uint8_t *block;
    size_t len;
    bool raw;
    struct lp_dagpb_node_view pb;
    struct lp_unixfs_view fs;
};

static void node_free(struct node *n)
{
    lp_unixfs_view_free(&n->fs);
    lp_dagpb_view_free(&n->pb);
    free(n->block);
}

static int node_load(struct lp_local_op *op, const struct lp_cidb *cid, struct node *n)
{
    struct lp_storage_local *s = op->s;
    memset(n, 0, sizeof(*n));
    if (lp_local_get_block(s, cid, &n->block, &n->len) != LP_OK)
        return LP_ERR;
    if (lp_local_progress(op, n->len) != LP_OK) {
        free(n->block);
        n->block = NULL;
        return LP_ERR;
    }
    if (cid->codec == LP_CID_CODEC_RAW) {
        n->raw = true;
        return LP_OK;
    }
    char text[LP_CID_STRING_MAX], err[160];
    lp_cid_format(cid, text);
    if (lp_dagpb_decode(n->block, n->len, &n->pb, err, sizeof(err)) < 0 ||
        (n->pb.has_data &&
         lp_unixfs_decode(n->pb.data, n->pb.data_len, &n->fs, err, sizeof(err)) < 0)) {
        node_free(n);
        return lp_local_fail(s, LP_ERR, "block %s is not a UnixFS node: %s", text, err);
    }
    if (!n->pb.has_data) {
        node_free(n);
        return lp_local_fail(s, LP_ERR, "block %s has no UnixFS data", text);
    }
    return LP_OK;
}

static int link_cid(struct lp_storage_local *s, const struct node *n, size_t i, struct lp_cidb *out)
{
    char err[160];
    if (lp_cid_from_bytes(n->pb.links[i].hash, n->pb.links[i].hash_len, out, err, sizeof(err)) < 0)
        return lp_local_fail(s, LP_ERR, "a link in the DAG holds a bad CID: %s", err);
    return LP_OK;
}

static int write_all(struct lp_storage_local *s, int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lp_local_fail(s, LP_ERR, "cannot write the output: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return LP_OK;
}

/* Streams a file DAG to fd (fd < 0: verify only); *size receives its content length. */
static int walk_file(struct lp_local_op *op, const struct lp_cidb *cid, int fd, int depth,
                     uint64_t *size)
{
    struct lp_storage_local *s = op->s;
    char text[LP_CID_STRING_MAX];
    lp_cid_format(cid, text);
    if (depth > MAX_FILE_DEPTH)
        return lp_local_fail(s, LP_ERR, "file DAG at %s is nested too deep", text);
    struct node n;
    if (node_load(op, cid, &n) != LP_OK)
        return LP_ERR;
    int rc = LP_OK;
    if (n.raw) {
        *size = n.len;
        rc = fd >= 0 ? write_all(s, fd, n.block, n.len) : LP_OK;
        node_free(&n);
        return rc;
    }
    if (n.fs.type != LP_UNIXFS_FILE && n.fs.type != LP_UNIXFS_RAW) {
        node_free(&n);
        return lp_local_fail(s, LP_ERR, "block %s: expected a file node inside a file", text);
    }
    uint64_t total = n.fs.data_len;
    if (fd >= 0 && n.fs.data_len)
        rc = write_all(s, fd, n.fs.data, n.fs.data_len);
    bool sizes_given = n.fs.nblocksizes == n.pb.nlinks;
    for (size_t i = 0; rc == LP_OK && i < n.pb.nlinks; i++) {
        struct lp_cidb child;
        uint64_t got = 0;
        rc = link_cid(s, &n, i, &child);
        if (rc == LP_OK)
            rc = walk_file(op, &child, fd, depth + 1, &got);
        if (rc == LP_OK && sizes_given && got != n.fs.blocksizes[i])
            rc = lp_local_fail(s, LP_ERR, "block %s: child %zu holds %llu bytes, not %llu", text, i,
                               (unsigned long long)got, (unsigned long long)n.fs.blocksizes[i]);
        total += got;
    }
    if (rc == LP_OK && n.fs.has_filesize && n.fs.filesize != total)
        rc = lp_local_fail(s, LP_ERR, "block %s: file size %llu but the blocks hold %llu", text,
                           (unsigned long long)n.fs.filesize, (unsigned long long)total);
    *size = total;
    node_free(&n);
    return rc;
}

/* A directory entry must be one plain path component. */
static bool safe_name(const uint8_t *name, size_t len)
{
    if (!name || len == 0 || len > 255)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    return memchr(name, '/', len) == NULL && memchr(name, '\0', len) == NULL;
}

static int walk(struct lp_local_op *op, const struct lp_cidb *cid, const char *dest, int depth,
                uint64_t *size);

static int walk_dir(struct lp_local_op *op, const struct lp_cidb *cid, struct node *n,
                    const char *dest, int depth, uint64_t *size)
{
    struct lp_storage_local *s = op->s;
    char text[LP_CID_STRING_MAX];
    lp_cid_format(cid, text);
    if (depth > MAX_DIR_DEPTH)
        return lp_local_fail(s, LP_ERR, "directory %s is nested too deep", text);
    if (dest && mkdir(dest, 0755) < 0)
        return lp_local_fail(s, LP_ERR, "cannot create %s: %s", dest, strerror(errno));
    *size = 0;
    for (size_t i = 0; i < n->pb.nlinks; i++) {
        const struct lp_dagpb_link_view *l = &n->pb.links[i];
        if (!safe_name(l->name, l->name_len))
            return lp_local_fail(s, LP_ERR, "directory %s has an unsafe entry name", text);
        /* kubo writes names sorted and unique; anything else is not a DAG we made. */
        if (i > 0) {
            const struct lp_dagpb_link_view *p = &n->pb.links[i - 1];
            size_t m = p->name_len < l->name_len ? p->name_len : l->name_len;
            int c = memcmp(p->name, l->name, m);
            if (c > 0 || (c == 0 && p->name_len >= l->name_len))
                return lp_local_fail(s, LP_ERR, "directory %s has unsorted or duplicate names",
                                     text);
        }
        struct lp_cidb child;
        if (link_cid(s, n, i, &child) != LP_OK)
            return LP_ERR;
        char path[PATH_MAX];
        if (dest && snprintf(path, sizeof(path), "%s/%.*s", dest, (int)l->name_len,
                             (const char *)l->name) >= (int)sizeof(path))
            return lp_local_fail(s, LP_ERR, "path too long under %s", dest);
        uint64_t got = 0;
        if (walk(op, &child, dest ? path : NULL, depth + 1, &got) != LP_OK)
            return LP_ERR;
        *size += got;
    }
    return LP_OK;
}

static int walk(struct lp_local_op *op, const struct lp_cidb *cid, const char *dest, int depth,
                uint64_t *size)
{
    struct lp_storage_local *s = op->s;
    struct node n;
    if (node_load(op, cid, &n) != LP_OK)
        return LP_ERR;
    char text[LP_CID_STRING_MAX];
    lp_cid_format(cid, text);
    int rc;
    if (n.raw || n.fs.type == LP_UNIXFS_FILE || n.fs.type == LP_UNIXFS_RAW) {
        node_free(&n); /* walk_file reloads it; the root block is small */
        int fd = -1;
        if (dest) {
            fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0)
                return lp_local_fail(s, LP_ERR, "cannot create %s: %s", dest, strerror(errno));
        }
        rc = walk_file(op, cid, fd, 0, size);
        if (fd >= 0 && close(fd) < 0 && rc == LP_OK)
            rc = lp_local_fail(s, LP_ERR, "cannot write %s: %s", dest, strerror(errno));
        return rc;
    }
    if (n.fs.type == LP_UNIXFS_DIRECTORY) {
        rc = walk_dir(op, cid, &n, dest, depth, size);
    } else if (n.fs.type == LP_UNIXFS_SYMLINK) {
        *size = 0;
        char target[PATH_MAX];
        if (n.fs.data_len == 0 || n.fs.data_len >= sizeof(target) ||
            memchr(n.fs.data, '\0', n.fs.data_len)) {
            rc = lp_local_fail(s, LP_ERR, "symlink %s has an invalid target", text);
        } else {
            memcpy(target, n.fs.data, n.fs.data_len);
            target[n.fs.data_len] = '\0';
            rc = LP_OK;
            if (dest && symlink(target, dest) < 0)
                rc =
                    lp_local_fail(s, LP_ERR, "cannot create symlink %s: %s", dest, strerror(errno));
        }
    } else if (n.fs.type == LP_UNIXFS_HAMT_SHARD) {
        rc = lp_local_fail(s, LP_ENOTSUP, "%s is a sharded (HAMT) directory, not supported", text);
    } else {
        rc = lp_local_fail(s, LP_ENOTSUP, "%s: UnixFS node type %u is not supported", text,
                           n.fs.type);
    }
    node_free(&n);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int lp_local_restore(struct lp_local_op *op, const struct lp_cidb *cid, const char *dest)
{
    struct lp_storage_local *s = op->s;
    struct stat st;
    if (lstat(dest, &st) == 0)
        return lp_local_fail(s, LP_EINVAL, "%s already exists; give a new path to get into", dest);
    /* Built beside dest and renamed into place: dest appears complete or not at all. */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.lp-get-%ld", dest, (long)getpid()) >= (int)sizeof(tmp))
        return lp_local_fail(s, LP_EINVAL, "%s: path too long", dest);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS); /* a leftover of a crashed get */
    uint64_t size = 0;
    /* A failure or a cancellation anywhere below removes the partial tree. */
    int rc = walk(op, cid, tmp, 0, &size);
    if (rc == LP_OK && rename(tmp, dest) < 0)
        rc = lp_local_fail(s, LP_ERR, "cannot move %s to %s: %s", tmp, dest, strerror(errno));
    if (rc != LP_OK)
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

int lp_local_verify(struct lp_local_op *op, const struct lp_cidb *cid)
{
    uint64_t size;
    return walk(op, cid, NULL, 0, &size);
}

int lp_local_stat(struct lp_local_op *op, const struct lp_cidb *cid, struct lp_storage_stat *out)
{
    struct lp_storage_local *s = op->s;
    struct node n;
    if (node_load(op, cid, &n) != LP_OK)
        return LP_ERR;
    bool dir = !n.raw && n.fs.type == LP_UNIXFS_DIRECTORY;
    uint64_t dag = n.len;
    for (size_t i = 0; i < n.pb.nlinks; i++)
        dag += n.pb.links[i].tsize;
    node_free(&n);
    uint64_t size = 0;
    /* A full walk: stat answers only for content that is entirely present and intact. */
    if (walk(op, cid, NULL, 0, &size) != LP_OK)
        return LP_ERR;
    uint32_t want = out->struct_size;
    struct lp_storage_stat st = {0};
    st.struct_size = sizeof(st);
    st.size_bytes = size;
    st.is_directory = dir;
    st.pinned = lp_local_is_pinned(s, cid);
    snprintf(st.detail, sizeof(st.detail), "local: %llu bytes of blocks in %s",
             (unsigned long long)dag, s->root);
    memcpy(out, &st, want && want < sizeof(st) ? want : sizeof(st));
    return LP_OK;
}
