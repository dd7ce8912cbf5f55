/* The solver renders the module a job offer names, with the offer's inputs, and refuses the
 * offer when its spec is anything else: the module (repo@commit, or a bundle's hash) is what
 * the blocklist and the providers' allow lists judge, so it must be what runs. Resolutions and
 * renderings are cached (module/module_cache.h): a post for a module seen before costs a hash
 * and a lookup. */
#include <stdio.h>
#include <string.h>

#include "module/bundle.h"
#include "solver/solver_impl.h"

struct fetch_ctx {
    struct lp_solver *s;
};

/* A bundle from the file store (the caller's ownership is checked before the cache is asked,
 * for every post). */
static int fetch_bundle(void *ctx, const uint8_t keccak[LP_KECCAK256_LEN], uint8_t **data,
                        size_t *len, struct lp_module_error *err)
{
    struct fetch_ctx *f = ctx;
    struct lp_store_error e;
    if (f->s->store->ops->file_read(f->s->store, keccak, data, len, &e) != LP_STORE_OK) {
        lp_module_errorf(err, "bundle", "%s", e.message);
        return -1;
    }
    return 0;
}

int lp_solver_module_check(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           const struct lp_job_offer *job, struct lp_solver_status *st)
{
    if (!s->modules)
        return 0;
    struct lp_module_error me = {{0}};
    if (lp_module_is_bundle(job->module.repo)) {
        uint8_t keccak[LP_KECCAK256_LEN];
        struct lp_store_error e;
        if (lp_module_bundle_parse(job->module.repo, job->module.commit, keccak, &me) != 0) {
            lp_solver_status_set(st, 400,
                                 "name a bundle as bundle:0x<keccak> with that keccak "
                                 "as its commit",
                                 "%s", me.message);
            lp_solver_count(s, &s->metrics.rejected, 1);
            return -1;
        }
        if (s->store->ops->file_owned(s->store, keccak, caller, &e) != LP_STORE_OK) {
            lp_solver_status_set(st, 400, "upload the module bundle with POST /api/v1/files first",
                                 "module %s: no file with that keccak uploaded by this address",
                                 job->module.repo);
            lp_solver_count(s, &s->metrics.rejected, 1);
            return -1;
        }
    }
    struct fetch_ctx f = {s};
    int rc = lp_module_cache_check(s->modules, job, fetch_bundle, &f, NULL, &me);
    if (rc == 0)
        return 0;
    if (rc == LP_MODULE_CHECK_MISMATCH)
        lp_solver_status_set(st, 403,
                             "post the spec the module renders with these inputs (lilypad run "
                             "does); the solver and providers render it themselves",
                             "%s", me.message);
    else
        lp_solver_status_set(st, 400,
                             "the solver renders every job offer's module itself: name one it "
                             "can fetch (https:// or a bundle uploaded first)",
                             "%s", me.message);
    lp_solver_count(s, &s->metrics.rejected, 1);
    return -1;
}
