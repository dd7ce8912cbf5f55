/* What the importer asks of the store's layout (store.c); not for other callers. */
#ifndef LP_IMAGE_STORE_INTERNAL_H
#define LP_IMAGE_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "image/store.h"

/* True when the image with this config digest is published (meta written). */
bool lp_image_store_has(const struct lp_image_store *s, const char *digest);

/* Makes a fresh private directory under tmp/ (path written to out). */
int lp_image_store_mktemp(const struct lp_image_store *s, char *out, size_t len);

/* Moves staged_rootfs into place and writes meta; *cached when another import won the race
 * (staged_rootfs is then removed). */
int lp_image_store_publish(const struct lp_image_store *s, const char *staged_rootfs,
                           const char *digest, const char *manifest_digest, const void *config,
                           size_t config_len, const struct lp_image_unpack_stats *stats,
                           bool *cached, char *err, size_t errlen);

/* Points a normalised name at digest (atomically replacing what it pointed at). */
int lp_image_store_set_ref(const struct lp_image_store *s, const char *name, const char *digest,
                           char *err, size_t errlen);

#endif
