/* The provider runs the job spec it renders itself from the module the job offer names, never
 * the spec the offer carries: that one is the job creator's claim, and an offer whose claim is
 * not the module's rendering is refused (even when a solver let it through). So the allow and
 * deny lists, which judge the module's repo and commit, judge the code that runs. Git modules
 * are cloned under work_dir/modules; bundles are downloaded from the solver and checked against
 * their hash (module/bundle.h); both are cached (module/module_cache.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/provider_impl.h"

int lp_provider_modules_open(struct lp_provider *p, char *err, size_t errlen)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/modules", p->rt.work_dir);
    p->modules = lp_module_cache_new(dir);
    if (!p->modules) {
        snprintf(err, errlen, "provider: out of memory");
        return -1;
    }
    return 0;
}

void lp_provider_modules_close(struct lp_provider *p)
{
    lp_module_cache_free(p->modules);
    p->modules = NULL;
}

struct fetch_ctx {
    struct lp_provider *p;
    const uint8_t *deal_id;
};

/* The deal's module bundle, from the solver (the cache checks its hash). */
static int fetch_bundle(void *ctx, const uint8_t keccak[LP_KECCAK256_LEN], uint8_t **data,
                        size_t *len, struct lp_module_error *err)
{
    (void)keccak;
    struct fetch_ctx *f = ctx;
    struct lp_client_error e;
    if (lp_client_download(f->p->client, f->deal_id, "module", data, len, &e) != 0) {
        lp_module_errorf(err, "bundle", "downloading it failed: %s", e.message);
        return -1;
    }
    return 0;
}

int lp_provider_module_check(struct lp_provider *p, const uint8_t deal_id[LP_WIRE_ID_LEN],
                             struct lp_job_offer *offer, char *err, size_t errlen)
{
    struct fetch_ctx f = {p, deal_id};
    struct lp_module_error me = {{0}};
    char *spec = NULL;
    if (lp_module_cache_check(p->modules, offer, fetch_bundle, &f, &spec, &me) != 0) {
        snprintf(err, errlen, "refused by the provider: %s", me.message);
        return -1;
    }
    free(offer->module.spec);
    offer->module.spec = spec; /* equal to the claim, but this is the copy we rendered */
    return 0;
}
