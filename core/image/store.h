/*
 * The local image store: images imported from docker-archive (`docker save`) or OCI
 * image-layout tarballs, unpacked once into a rootfs keyed by the image's config digest.
 *
 * Layout under the store directory (default: the data folder's "images", util/data_home.h):
 *   rootfs/<hex>/         the unpacked filesystem (read-only by convention)
 *   meta/<hex>.json       digest, manifest digest, size, import time
 *   meta/<hex>.config     the image configuration blob, as imported
 *   refs/<name>           "sha256:<hex>"; the name percent-encoded ("/" -> %2F)
 *   tmp/                  imports in progress and removals
 * An import unpacks into tmp/ and publishes with rename(2), so concurrent imports of the same
 * image are safe (the loser's copy is dropped); refs and meta are written to a temporary file
 * and renamed. A lock file (.lock, flock) orders publishing and removal against readers.
 */
#ifndef LP_IMAGE_STORE_H
#define LP_IMAGE_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/manifest.h"
#include "image/unpack.h"

struct lp_image_store {
    char dir[PATH_MAX];
};

/* The data folder's "images" (util/data_home.h). 0, or -1 with errno as lp_data_home leaves
 * it. */
int lp_image_store_default_dir(char *out, size_t len);

/* Opens (creating) the store at dir, or at the default when dir is NULL or "". */
int lp_image_store_open(struct lp_image_store *s, const char *dir, char *err, size_t errlen);

#define LP_IMAGE_MAX_PER_ARCHIVE 16
#define LP_IMAGE_MAX_NAMES       16

struct lp_image_imported {
    char digest[LP_IMAGE_DIGEST_LEN + 1]; /* config digest: the image's identity */
    char names[LP_IMAGE_MAX_NAMES][256];  /* normalised repo:tag names now pointing at it */
    size_t name_count;
    bool cached; /* the rootfs was already there: nothing unpacked */
    struct lp_image_unpack_stats stats;
};

struct lp_image_import_result {
    struct lp_image_imported images[LP_IMAGE_MAX_PER_ARCHIVE];
    size_t count;
};

/* Imports every image of a docker-archive or OCI-layout tarball (optionally compressed).
 * extra_name (may be NULL) is one more repo:tag to point at the image (the archive must hold
 * exactly one). Blob digests (OCI) and uncompressed layer digests (diff_ids) are checked. */
int lp_image_import(const struct lp_image_store *s, const char *file, const char *extra_name,
                    struct lp_image_import_result *out, char *err, size_t errlen);

/* What a job needs to run an image. Free with lp_image_info_free. */
struct lp_image_info {
    char digest[LP_IMAGE_DIGEST_LEN + 1];
    char manifest_digest[LP_IMAGE_DIGEST_LEN + 1]; /* "" for docker-archive imports */
    char rootfs[PATH_MAX];
    uint64_t size;    /* bytes of regular files */
    uint64_t entries; /* entries unpacked */
    int64_t imported; /* unix seconds */
    struct lp_image_config config;
};
void lp_image_info_free(struct lp_image_info *info);

/*
 * Finds an image by "repo:tag" (":latest" implied; "docker.io/library/" ignored),
 * "name@sha256:<hex>" or "sha256:<hex>" (config or manifest digest), or a unique prefix of
 * at least 12 hex digits of the config digest.
 */
int lp_image_resolve(const struct lp_image_store *s, const char *ref, struct lp_image_info *out,
                     char *err, size_t errlen);

/* Calls fn once per name (name NULL for an image no name points at), sorted by name. */
typedef void (*lp_image_list_fn)(void *arg, const char *name, const struct lp_image_info *info);
int lp_image_list(const struct lp_image_store *s, lp_image_list_fn fn, void *arg, char *err,
                  size_t errlen);

/* Removes a name; the image itself goes with its last name, or at once when ref is a digest
 * (taking every name pointing at it along). */
int lp_image_remove(const struct lp_image_store *s, const char *ref, char *err, size_t errlen);

/* "busybox" -> "busybox:latest", "docker.io/library/x:1" -> "x:1"; -1 if not a valid name. */
int lp_image_normalize_name(const char *name, char *out, size_t len);

#endif
