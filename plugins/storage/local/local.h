/* storage/local internals: the instance, the block store on disk and the DAG walks. */
#ifndef LP_STORAGE_LOCAL_H
#define LP_STORAGE_LOCAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <lilypad/storage.h>

#include "cid/cid.h"
#include "cid/importer.h"

struct lp_storage_local_config {
    const char *root;
    int64_t cid_version;
    bool raw_leaves;
};

struct lp_storage_local {
    const struct lp_host *host;
    char root[PATH_MAX];
    struct lp_cid_options opt;
};

/* Records the calling thread's error for last_error() and returns rc. */
int lp_local_fail(struct lp_storage_local *s, int rc, const char *fmt, ...) LP_PRINTF(3, 4);

/*
 * One put, get, pin or stat call: the instance, the core's call context, and how far the call
 * got. Long calls report their progress through lp_local_progress, which asks the host whether
 * the call was cancelled every LP_LOCAL_POLL_BYTES bytes or LP_LOCAL_POLL_ITEMS blocks and
 * directory entries, whichever comes first (and on the first call, so a call cancelled before
 * it started does no work).
 */
#define LP_LOCAL_POLL_BYTES (4u << 20)
#define LP_LOCAL_POLL_ITEMS 256u

struct lp_local_op {
    struct lp_storage_local *s;
    const struct lp_call *call; /* NULL: only the process-wide flag */
    uint64_t bytes;             /* block bytes stored (put) or read (get, pin, stat) so far */
    uint64_t items;             /* blocks and directory entries so far */
    uint64_t poll_bytes;        /* poll again once bytes reaches this */
    uint64_t poll_items;        /* ... or items reaches this */
    bool cancelled;             /* the host said so; the call stopped there */
};

void lp_local_op_init(struct lp_local_op *op, struct lp_storage_local *s,
                      const struct lp_call *call);
/* Counts one more item of `bytes` bytes; LP_OK, or LP_ERR with "cancelled after N bytes"
 * recorded once the host says the call is cancelled. */
int lp_local_progress(struct lp_local_op *op, uint64_t bytes);

/* Block store: <root>/blocks/<cid>, written through <root>/tmp and rename(2). */
int lp_local_put_block(struct lp_storage_local *s, const struct lp_cidb *cid, const uint8_t *block,
                       size_t len);
/* Reads and verifies a block: LP_OK with a malloc'd buffer, or LP_ERR with the reason recorded
 * (missing, corrupt, unreadable). */
int lp_local_get_block(struct lp_storage_local *s, const struct lp_cidb *cid, uint8_t **block,
                       size_t *len);
/* Pin set: <root>/pins/<cid>, an empty file created atomically. */
int lp_local_pin_mark(struct lp_storage_local *s, const struct lp_cidb *cid);
bool lp_local_is_pinned(struct lp_storage_local *s, const struct lp_cidb *cid);
/* Makes root, root/blocks, root/pins and root/tmp. */
int lp_local_prepare(struct lp_storage_local *s);
/* Flushes the store's file system so a put that returned survives a crash. */
void lp_local_sync(struct lp_storage_local *s);

/* DAG walks, reporting progress to op (and stopping when it is cancelled). dest NULL: verify
 * every block only (pin). */
int lp_local_restore(struct lp_local_op *op, const struct lp_cidb *cid, const char *dest);
int lp_local_verify(struct lp_local_op *op, const struct lp_cidb *cid);
int lp_local_stat(struct lp_local_op *op, const struct lp_cidb *cid, struct lp_storage_stat *out);

#endif
