/* Git modules through libgit2: one bare clone per repository URL in the module cache, fetched
 * only when the asked ref is not already there, the ref resolved to a full commit hash, and the
 * template read straight from that commit's tree (no checkout, so nothing in the repository is
 * ever written to disk as a working file).
 *
 * Cache: DIR/<16 hex of keccak256(url)>-<repo name>.git, where DIR is the data folder's
 * "modules" (util/data_home.h). Tags and full commit hashes already in the cache are
 * used without a fetch (a tag is taken as immutable, as Lilypad does); branches, HEAD, short
 * hashes not yet present and anything unknown trigger one fetch of all branches and tags.
 * A lock file beside the clone serialises resolutions of one repository (its creation, fetches
 * and reads) between processes and between threads of one process (a solver checking offers). */
#ifndef LP_MODULE_GIT_RESOLVE_H
#define LP_MODULE_GIT_RESOLVE_H

#include <stddef.h>

#include "module/reference.h"

#define LP_MODULE_COMMIT_HEX_MAX 64

/* Writes the module cache directory into out. Returns 0, or -1 with err set (no data folder). */
int lp_module_cache_dir(char *out, size_t out_len, struct lp_module_error *err);

/* Resolves loc (LP_MODULE_GIT) using cache_dir (NULL: lp_module_cache_dir). On success fills
 * commit (lowercase hex, NUL-terminated) and *text and *text_len (the malloc'd template). */
int lp_module_git_resolve(const char *reference, const struct lp_module_location *loc,
                          const char *cache_dir, char commit[LP_MODULE_COMMIT_HEX_MAX + 1],
                          char **text, size_t *text_len, struct lp_module_error *err);

#endif
