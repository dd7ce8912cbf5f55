/*
 * Turning content into a UnixFS DAG exactly as `ipfs add` does with kubo's default settings:
 * fixed 256 KiB chunks, balanced layout with at most 174 links per node, leaves either dag-pb
 * (CIDv0 and the default) or raw (CIDv1 with raw leaves), directories as plain dag-pb
 * directory nodes with links sorted by name, symlinks as UnixFS Symlink nodes.
 *
 * Files are streamed: one chunk is held at a time and the tree is built bottom-up, keeping per
 * level only the links that still wait for their parent (at most 174 each), so memory does not
 * grow with the file. Every block is handed to a callback (to be stored, or ignored when only
 * the CID is wanted) in an order where children always come before their parent.
 */
#ifndef LP_CID_IMPORTER_H
#define LP_CID_IMPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cid/cid.h"

#define LP_CID_CHUNK_SIZE 262144 /* kubo "size-262144" */
#define LP_CID_MAX_LINKS  174    /* boxo helpers.DefaultLinksPerBlock */
/* kubo switches a directory to a HAMT shard once the estimated size of its links (name bytes +
 * binary CID bytes, summed) reaches Import.UnixFSHAMTDirectorySizeThreshold = 256 KiB. */
#define LP_CID_HAMT_THRESHOLD 262144

struct lp_cid_options {
    uint8_t cid_version; /* 0 or 1 */
    bool raw_leaves;     /* leaves as raw blocks (CIDv1, codec raw) instead of dag-pb */
    bool include_hidden; /* directories: include entries whose name starts with '.' */
};

/* kubo's defaults for a CID version: v0 -> dag-pb leaves, v1 -> raw leaves. */
void lp_cid_options_default(struct lp_cid_options *opt, uint8_t cid_version);

/* Receives every block; returns 0, or -1 to abort the import. */
typedef int (*lp_cid_block_fn)(void *arg, const struct lp_cidb *cid, const uint8_t *block,
                               size_t len);

/* A finished DAG (or sub-DAG). */
struct lp_cid_node {
    struct lp_cidb cid;
    uint64_t tsize;    /* bytes of all its blocks: what a parent link's Tsize holds */
    uint64_t filesize; /* bytes of content (for a directory: of all files below it) */
};

struct lp_cid_file;

/* A streaming file import; block_fn may be NULL (CID only). NULL on out of memory. */
struct lp_cid_file *lp_cid_file_new(const struct lp_cid_options *opt, lp_cid_block_fn block_fn,
                                    void *arg);
/* Zero-copy input: where the next bytes go, and how many fit before the chunk is full. */
uint8_t *lp_cid_file_space(struct lp_cid_file *f, size_t *avail);
/* n bytes were written at lp_cid_file_space(); a full chunk is encoded at once. */
int lp_cid_file_advance(struct lp_cid_file *f, size_t n);
/* Copying input of any length. */
int lp_cid_file_write(struct lp_cid_file *f, const void *data, size_t len);
/* Encodes what is left and the upper levels; *root is the file's DAG. */
int lp_cid_file_finish(struct lp_cid_file *f, struct lp_cid_node *root);
/* Why the last call failed ("block callback failed" when block_fn returned -1). */
const char *lp_cid_file_error(const struct lp_cid_file *f);
void lp_cid_file_free(struct lp_cid_file *f);

/* Reads fd to its end and imports it. Returns 0, or -1 with one line in err. */
int lp_cid_import_fd(int fd, const struct lp_cid_options *opt, lp_cid_block_fn block_fn, void *arg,
                     struct lp_cid_node *root, char *err, size_t errlen);

/* Imports a file, a symlink (as a Symlink node, not followed, like `ipfs add`) or a directory
 * tree. Other file types, directories too large for a plain node (kubo would shard them) and
 * unreadable entries are errors naming the path. *is_dir (may be NULL) tells whether the root
 * is a directory. */
int lp_cid_import_path(const char *path, const struct lp_cid_options *opt, lp_cid_block_fn block_fn,
                       void *arg, struct lp_cid_node *root, bool *is_dir, char *err, size_t errlen);

#endif
