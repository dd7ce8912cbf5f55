/* verifier_missingdep.so: links against libmissingdep_gone.so, which is not on any library
 * path, so dlopen itself fails. */
#include "test_ops.h"

int missingdep_gone_answer(void); /* from libmissingdep_gone.so */

static int missingdep_create(const struct lp_host *host, const void *config, void **instance)
{
    (void)host;
    (void)config;
    *instance = malloc((size_t)missingdep_gone_answer());
    return LP_OK;
}

static const struct lp_verifier_ops ops = {
    .life = {.create = missingdep_create, .destroy = test_destroy, .last_error = test_last_error},
    TEST_VERIFIER_REQUIRED,
};
LP_PLUGIN_DEFINE(verifier, missingdep, "0.0.1", "missing dependency", "MIT", ops, NULL, char, 0)
