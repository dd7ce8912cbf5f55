/* Streaming balanced-tree file import (see importer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cid/dagpb.h"
#include "cid/importer.h"
#include "cid/unixfs.h"

/* 174^12 chunks of 256 KiB is far beyond any file system's limit. */
#define MAX_LEVELS 12
/* Largest internal node: 174 links of at most 2+1+2+36+2+1+10 bytes plus its UnixFS Data. */
#define NODE_BUF_MAX (LP_CID_MAX_LINKS * 64 + 16 + LP_CID_MAX_LINKS * 11)

struct level {
    struct lp_cid_node links[LP_CID_MAX_LINKS];
    size_t n;
};

struct lp_cid_file {
    struct lp_cid_options opt;
    lp_cid_block_fn block_fn;
    void *arg;
    /* header space | chunk | trailer space, so a dag-pb leaf is encoded in place */
    uint8_t *buf;
    size_t fill;
    uint64_t chunks;
    struct level levels[MAX_LEVELS];
    size_t top; /* number of levels in use */
    uint8_t node[NODE_BUF_MAX];
    struct lp_dagpb_link plinks[LP_CID_MAX_LINKS];
    uint64_t sizes[LP_CID_MAX_LINKS];
    char err[160];
};

void lp_cid_options_default(struct lp_cid_options *opt, uint8_t cid_version)
{
    opt->cid_version = cid_version;
    opt->raw_leaves = cid_version == 1;
    opt->include_hidden = false;
}

struct lp_cid_file *lp_cid_file_new(const struct lp_cid_options *opt, lp_cid_block_fn block_fn,
                                    void *arg)
{
    struct lp_cid_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->buf = malloc(LP_UNIXFS_LEAF_HDR_MAX + LP_CID_CHUNK_SIZE + LP_UNIXFS_LEAF_TRAILER_MAX);
    if (!f->buf) {
        free(f);
        return NULL;
    }
    f->opt = *opt;
    f->block_fn = block_fn;
    f->arg = arg;
    return f;
}

void lp_cid_file_free(struct lp_cid_file *f)
{
    if (!f)
        return;
    free(f->buf);
    free(f);
}

const char *lp_cid_file_error(const struct lp_cid_file *f)
{
    return f->err;
}

static int emit(struct lp_cid_file *f, const struct lp_cidb *cid, const uint8_t *block, size_t len)
{
    if (f->block_fn && f->block_fn(f->arg, cid, block, len) < 0) {
        snprintf(f->err, sizeof(f->err), "block callback failed");
        return -1;
    }
    return 0;
}

static int push_link(struct lp_cid_file *f, size_t level, const struct lp_cid_node *node);

/* Encodes the pending links of `level` as one internal node and hands it to the level above. */
static int close_level(struct lp_cid_file *f, size_t level, struct lp_cid_node *out)
{
    struct level *lv = &f->levels[level];
    uint64_t total = 0, tsize_sum = 0;
    for (size_t i = 0; i < lv->n; i++) {
        f->plinks[i] = (struct lp_dagpb_link){
            .cid = lv->links[i].cid, .name = "", .name_len = 0, .tsize = lv->links[i].tsize};
        f->sizes[i] = lv->links[i].filesize;
        total += lv->links[i].filesize;
        tsize_sum += lv->links[i].tsize;
    }
    uint8_t data[16 + LP_CID_MAX_LINKS * 11];
    size_t dlen = lp_unixfs_encode_file_node(total, f->sizes, lv->n, data);
    size_t blen = lp_dagpb_encode(f->plinks, lv->n, data, dlen, true, f->node, sizeof(f->node));
    lp_cid_of_block(f->opt.cid_version, LP_CID_CODEC_DAG_PB, f->node, blen, &out->cid);
    out->tsize = blen + tsize_sum;
    out->filesize = total;
    lv->n = 0;
    return emit(f, &out->cid, f->node, blen);
}

static int push_link(struct lp_cid_file *f, size_t level, const struct lp_cid_node *node)
{
    if (level >= MAX_LEVELS) {
        snprintf(f->err, sizeof(f->err), "file too large for the DAG depth limit");
        return -1;
    }
    if (level >= f->top)
        f->top = level + 1;
    struct level *lv = &f->levels[level];
    lv->links[lv->n++] = *node;
    /* A full node is final whatever comes next: encode it now and keep only its link. */
    if (lv->n == LP_CID_MAX_LINKS) {
        struct lp_cid_node parent;
        if (close_level(f, level, &parent) < 0)
            return -1;
        return push_link(f, level + 1, &parent);
    }
    return 0;
}

static int flush_chunk(struct lp_cid_file *f)
{
    uint8_t *chunk = f->buf + LP_UNIXFS_LEAF_HDR_MAX;
    size_t n = f->fill;
    struct lp_cid_node leaf;
    if (f->opt.raw_leaves) {
        lp_cid_of_block(1, LP_CID_CODEC_RAW, chunk, n, &leaf.cid);
        leaf.tsize = n;
        if (emit(f, &leaf.cid, chunk, n) < 0)
            return -1;
    } else {
        size_t h = lp_unixfs_leaf_header(chunk, n);
        size_t t = lp_unixfs_leaf_trailer(chunk + n, n);
        const uint8_t *block = chunk - h;
        lp_cid_of_block(f->opt.cid_version, LP_CID_CODEC_DAG_PB, block, h + n + t, &leaf.cid);
        leaf.tsize = h + n + t;
        if (emit(f, &leaf.cid, block, h + n + t) < 0)
            return -1;
    }
    leaf.filesize = n;
    f->fill = 0;
    f->chunks++;
    return push_link(f, 0, &leaf);
}

uint8_t *lp_cid_file_space(struct lp_cid_file *f, size_t *avail)
{
    *avail = LP_CID_CHUNK_SIZE - f->fill;
    return f->buf + LP_UNIXFS_LEAF_HDR_MAX + f->fill;
}

int lp_cid_file_advance(struct lp_cid_file *f, size_t n)
{
    f->fill += n;
    if (f->fill == LP_CID_CHUNK_SIZE)
        return flush_chunk(f);
    return 0;
}

int lp_cid_file_write(struct lp_cid_file *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        size_t avail;
        uint8_t *dst = lp_cid_file_space(f, &avail);
        size_t n = len < avail ? len : avail;
        memcpy(dst, p, n);
        p += n;
        len -= n;
        if (lp_cid_file_advance(f, n) < 0)
            return -1;
    }
    return 0;
}

int lp_cid_file_finish(struct lp_cid_file *f, struct lp_cid_node *root)
{
    /* An empty file is one empty chunk; otherwise only a partial last chunk is left. */
    if ((f->fill > 0 || f->chunks == 0) && flush_chunk(f) < 0)
        return -1;
    /* Below the top, every partial group becomes a node (even a group of one link: the
     * balanced layout keeps all leaves at the same depth). The top level's single link is the
     * root; several links there get one more node above them. */
    for (size_t level = 0; level + 1 < f->top; level++) {
        if (f->levels[level].n == 0)
            continue;
        struct lp_cid_node parent;
        if (close_level(f, level, &parent) < 0 || push_link(f, level + 1, &parent) < 0)
            return -1;
    }
    struct level *top = &f->levels[f->top - 1];
    if (top->n == 1) {
        *root = top->links[0];
        top->n = 0;
        return 0;
    }
    return close_level(f, f->top - 1, root);
}

int lp_cid_import_fd(int fd, const struct lp_cid_options *opt, lp_cid_block_fn block_fn, void *arg,
                     struct lp_cid_node *root, char *err, size_t errlen)
{
    struct lp_cid_file *f = lp_cid_file_new(opt, block_fn, arg);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        size_t avail;
        uint8_t *dst = lp_cid_file_space(f, &avail);
        ssize_t n = read(fd, dst, avail);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "read failed: %s", strerror(errno));
            lp_cid_file_free(f);
            return -1;
        }
        if (n == 0)
            break;
        if (lp_cid_file_advance(f, (size_t)n) < 0) {
            snprintf(err, errlen, "%s", lp_cid_file_error(f));
            lp_cid_file_free(f);
            return -1;
        }
    }
    int rc = lp_cid_file_finish(f, root);
    if (rc < 0)
        snprintf(err, errlen, "%s", lp_cid_file_error(f));
    lp_cid_file_free(f);
    return rc;
}
