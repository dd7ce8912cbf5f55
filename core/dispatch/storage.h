/* The core's calls into its storage backend (api/lilypad/storage.h), with the dispatch rules
 * of dispatch.h. `call` (may be NULL) carries the acting party and a cancellation token to
 * plugins with the 1.1 ops; a 1.0 plugin gets the 1.0 op and only the process-wide flag. */
#ifndef LP_DISPATCH_STORAGE_H
#define LP_DISPATCH_STORAGE_H

#include <lilypad/storage.h>

#include "dispatch/dispatch.h"
#include "loader/backend.h"

int lp_storage_put(struct lp_backend *b, const struct lp_call *call, const char *path,
                   struct lp_cid *out, struct lp_plugin_error *err);
int lp_storage_get(struct lp_backend *b, const struct lp_call *call, const struct lp_cid *cid,
                   const char *dest, struct lp_plugin_error *err);
int lp_storage_pin(struct lp_backend *b, const struct lp_call *call, const struct lp_cid *cid,
                   struct lp_plugin_error *err);
int lp_storage_stat(struct lp_backend *b, const struct lp_call *call, const struct lp_cid *cid,
                    struct lp_storage_stat *out, struct lp_plugin_error *err);

#endif
