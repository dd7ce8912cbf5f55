/*
 * Storage concern: content-addressed result storage (local, ipfs, filecoin).
 * CIDs travel as their canonical string form ("Qm..." for v0, "bafk..."/"bafy..." for v1).
 */
#ifndef LILYPAD_STORAGE_H
#define LILYPAD_STORAGE_H

#include <lilypad/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LP_CID_MAX 128

struct lp_cid {
    char str[LP_CID_MAX];
};

struct lp_storage_stat {
    uint32_t struct_size;
    uint64_t size_bytes; /* total size of the content */
    uint32_t is_directory;
    uint32_t pinned;
    char detail[128]; /* backend-specific: "deal 1234 active", ... */
};

struct lp_storage_ops {
    struct lp_lifecycle_ops life;

    /* Store a file or a directory tree; the CID is kubo's for the same content. */
    int (*put)(void *instance, const char *path, struct lp_cid *out);
    /* Fetch content to dest (a file, or a directory created for a tree), verified by CID. */
    int (*get)(void *instance, const struct lp_cid *cid, const char *dest);
    int (*pin)(void *instance, const struct lp_cid *cid);
    int (*stat)(void *instance, const struct lp_cid *cid, struct lp_storage_stat *out);
};

#ifdef __cplusplus
}
#endif

#endif /* LILYPAD_STORAGE_H */
