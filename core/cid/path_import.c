/* Importing files, symlinks and directory trees (see importer.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cid/dagpb.h"
#include "cid/importer.h"
#include "cid/unixfs.h"

/* Deeper trees than this are refused rather than risking the stack. */
#define MAX_DEPTH 256

struct import_ctx {
    const struct lp_cid_options *opt;
    lp_cid_block_fn block_fn;
    void *arg;
    char *err;
    size_t errlen;
};

static int import_any(struct import_ctx *c, const char *path, const struct stat *st, int depth,
                      struct lp_cid_node *out);

static int emit(struct import_ctx *c, const char *path, const struct lp_cidb *cid,
                const uint8_t *block, size_t len)
{
    if (c->block_fn && c->block_fn(c->arg, cid, block, len) < 0) {
        snprintf(c->err, c->errlen, "%s: storing a block failed", path);
        return -1;
    }
    return 0;
}

static int import_file(struct import_ctx *c, const char *path, struct lp_cid_node *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(c->err, c->errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char why[200];
    int rc = lp_cid_import_fd(fd, c->opt, c->block_fn, c->arg, out, why, sizeof(why));
    close(fd);
    if (rc < 0)
        snprintf(c->err, c->errlen, "%s: %s", path, why);
    return rc;
}

static int import_symlink(struct import_ctx *c, const char *path, const struct stat *st,
                          struct lp_cid_node *out)
{
    size_t cap = (size_t)st->st_size + 1 > 4096 ? (size_t)st->st_size + 1 : 4096;
    char *target = malloc(cap);
    uint8_t *data = malloc(cap + 16);
    uint8_t *block = malloc(cap + 32);
    int rc = -1;
    if (!target || !data || !block) {
        snprintf(c->err, c->errlen, "%s: out of memory", path);
        goto done;
    }
    ssize_t n = readlink(path, target, cap);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(c->err, c->errlen, "%s: cannot read the link: %s", path,
                 n < 0 ? strerror(errno) : "target changed while reading");
        goto done;
    }
    size_t dlen = lp_unixfs_encode_symlink(target, (size_t)n, data);
    size_t blen = lp_dagpb_encode(NULL, 0, data, dlen, true, block, cap + 32);
    lp_cid_of_block(c->opt->cid_version, LP_CID_CODEC_DAG_PB, block, blen, &out->cid);
    out->tsize = blen;
    out->filesize = 0;
    rc = emit(c, path, &out->cid, block, blen);
done:
    free(target);
    free(data);
    free(block);
    return rc;
}

struct entry {
    char *name;
    struct lp_cid_node node;
};

/* Bytewise order, as Go compares the link names kubo sorts by. */
static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int read_entries(struct import_ctx *c, const char *path, struct entry **out, size_t *count)
{
    DIR *d = opendir(path);
    if (!d) {
        snprintf(c->err, c->errlen, "%s: cannot open the directory: %s", path, strerror(errno));
        return -1;
    }
    struct entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (name[0] == '.' && !c->opt->include_hidden)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct entry *p = realloc(v, ncap * sizeof(*p));
            if (!p)
                goto oom;
            v = p;
            cap = ncap;
        }
        v[n].name = strdup(name);
        if (!v[n].name)
            goto oom;
        n++;
        errno = 0;
    }
    if (errno) {
        snprintf(c->err, c->errlen, "%s: cannot list the directory: %s", path, strerror(errno));
        goto fail;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), entry_cmp);
    *out = v;
    *count = n;
    return 0;
oom:
    snprintf(c->err, c->errlen, "%s: out of memory", path);
fail:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    return -1;
}

static int import_dir(struct import_ctx *c, const char *path, int depth, struct lp_cid_node *out)
{
    if (depth >= MAX_DEPTH) {
        snprintf(c->err, c->errlen, "%s: directories nested deeper than %d levels", path,
                 MAX_DEPTH);
        return -1;
    }
    struct entry *ents = NULL;
    size_t n = 0;
    if (read_entries(c, path, &ents, &n) < 0)
        return -1;
    int rc = -1;
    struct lp_dagpb_link *links = NULL;
    uint8_t *block = NULL;
    char *child = NULL;
    size_t plen = strlen(path);
    uint64_t estimate = 0, tsize_sum = 0, content = 0;
    for (size_t i = 0; i < n; i++) {
        free(child);
        child = malloc(plen + strlen(ents[i].name) + 2);
        if (!child) {
            snprintf(c->err, c->errlen, "%s: out of memory", path);
            goto done;
        }
        sprintf(child, "%s%s%s", path, plen && path[plen - 1] == '/' ? "" : "/", ents[i].name);
        struct stat st;
        if (lstat(child, &st) < 0) {
            snprintf(c->err, c->errlen, "%s: %s", child, strerror(errno));
            goto done;
        }
        if (import_any(c, child, &st, depth + 1, &ents[i].node) < 0)
            goto done;
        estimate += strlen(ents[i].name) + lp_cid_bytes_len(&ents[i].node.cid);
        tsize_sum += ents[i].node.tsize;
        content += ents[i].node.filesize;
        if (estimate >= LP_CID_HAMT_THRESHOLD) {
            snprintf(c->err, c->errlen,
                     "%s: directory too large for a plain UnixFS node (kubo would shard it as a "
                     "HAMT, which is not supported): split it into subdirectories",
                     path);
            goto done;
        }
    }
    links = calloc(n ? n : 1, sizeof(*links));
    if (!links) {
        snprintf(c->err, c->errlen, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        links[i] = (struct lp_dagpb_link){.cid = ents[i].node.cid,
                                          .name = ents[i].name,
                                          .name_len = strlen(ents[i].name),
                                          .tsize = ents[i].node.tsize};
    uint8_t data[2];
    size_t dlen = lp_unixfs_encode_directory(data);
    size_t cap = lp_dagpb_encoded_len(links, n, dlen);
    block = malloc(cap);
    if (!block) {
        snprintf(c->err, c->errlen, "%s: out of memory", path);
        goto done;
    }
    size_t blen = lp_dagpb_encode(links, n, data, dlen, true, block, cap);
    lp_cid_of_block(c->opt->cid_version, LP_CID_CODEC_DAG_PB, block, blen, &out->cid);
    out->tsize = blen + tsize_sum;
    out->filesize = content;
    rc = emit(c, path, &out->cid, block, blen);
done:
    free(child);
    free(block);
    free(links);
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    return rc;
}

static const char *type_name(mode_t m)
{
    if (S_ISFIFO(m))
        return "a named pipe";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    return "a special file";
}

static int import_any(struct import_ctx *c, const char *path, const struct stat *st, int depth,
                      struct lp_cid_node *out)
{
    if (S_ISREG(st->st_mode))
        return import_file(c, path, out);
    if (S_ISDIR(st->st_mode))
        return import_dir(c, path, depth, out);
    if (S_ISLNK(st->st_mode))
        return import_symlink(c, path, st, out);
    snprintf(c->err, c->errlen,
             "%s: is %s; only regular files, directories and symlinks can be added", path,
             type_name(st->st_mode));
    return -1;
}

int lp_cid_import_path(const char *path, const struct lp_cid_options *opt, lp_cid_block_fn block_fn,
                       void *arg, struct lp_cid_node *root, bool *is_dir, char *err, size_t errlen)
{
    struct import_ctx c = {
        .opt = opt, .block_fn = block_fn, .arg = arg, .err = err, .errlen = errlen};
    if (opt->cid_version > 1) {
        snprintf(err, errlen, "CID version %u: expected 0 or 1", opt->cid_version);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (is_dir)
        *is_dir = S_ISDIR(st.st_mode);
    return import_any(&c, path, &st, 0, root);
}
