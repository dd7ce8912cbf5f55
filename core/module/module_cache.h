/* The job spec a job offer runs, as this node renders it: the solver and every provider resolve
 * the module the offer names (repo, commit) themselves, render it with the offer's inputs and
 * compare the result with the spec the offer carries, which is only the job creator's claim.
 * So a module's identity (what allow, deny and block lists name) and the code that runs are
 * one: an offer naming an allowed repo@commit but carrying another spec is refused.
 *
 * Where the module comes from:
 *   https://HOST/... or file:///...  a git repository at the full commit (module/git_resolve.h,
 *                                    with its clone cache: a commit already cloned is read
 *                                    without a fetch)
 *   bundle:0x<keccak>                a bundle (module/bundle.h) fetched through the caller's
 *                                    callback and checked against its name
 * Anything else is refused.
 *
 * Cached, so posting many offers for one module costs one resolution and one rendering per
 * distinct inputs: templates by module ID, rendered specs by module ID + inputs (keccak256 of
 * both), in one LRU bounded by entries and bytes. A git module that fails to resolve is
 * remembered as failed for LP_MODULE_CACHE_FAIL_MS, so a flood of offers naming an unreachable
 * repository does not fetch it once each. Thread-safe: the lock is held only to look up and
 * insert; resolving and rendering run outside it (two threads may resolve one module at once;
 * the clone cache's lock file serialises their fetches). */
#ifndef LP_MODULE_MODULE_CACHE_H
#define LP_MODULE_MODULE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keccak.h"
#include "module/reference.h"
#include "wire/offers.h"

#define LP_MODULE_CACHE_FAIL_MS   30000u
#define LP_MODULE_CACHE_ENTRIES   4096u
#define LP_MODULE_CACHE_MAX_BYTES (64u * 1024u * 1024u)

/* What lp_module_cache_check returns besides 0. */
enum lp_module_check_rc {
    LP_MODULE_CHECK_UNRESOLVED = -1, /* the module could not be fetched or rendered */
    LP_MODULE_CHECK_MISMATCH = -2,   /* the offer's spec is not the module's rendering */
};

/* Fetches a bundle's bytes (*data malloc'd): the solver from its file store, a provider from
 * the solver. The bytes are checked against keccak by the cache, not by the callback. */
typedef int (*lp_module_bundle_fetch_fn)(void *ctx, const uint8_t keccak[LP_KECCAK256_LEN],
                                         uint8_t **data, size_t *len, struct lp_module_error *err);

struct lp_module_cache;

/* git_cache_dir: where git modules are cloned (NULL: lp_module_cache_dir()). NULL when out of
 * memory. */
struct lp_module_cache *lp_module_cache_new(const char *git_cache_dir);
void lp_module_cache_free(struct lp_module_cache *c);

/* Renders offer's module with its inputs (or takes the rendering from the cache) and compares
 * it with offer->module.spec. 0 when equal, with *spec (may be NULL; malloc'd) the canonical
 * spec; else an lp_module_check_rc with one line in err: for a mismatch it names the first byte
 * where the two differ and shows both sides there. fetch may be NULL (bundles are then
 * refused). */
int lp_module_cache_check(struct lp_module_cache *c, const struct lp_job_offer *offer,
                          lp_module_bundle_fetch_fn fetch, void *fetch_ctx, char **spec,
                          struct lp_module_error *err);

struct lp_module_cache_stats {
    uint64_t hits, misses, resolutions, renders, entries, bytes;
};
void lp_module_cache_get_stats(struct lp_module_cache *c, struct lp_module_cache_stats *out);

#endif
