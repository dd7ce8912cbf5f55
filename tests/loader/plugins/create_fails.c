/* storage_createfail.so: probe passes, create() fails and logs why through the host. */
#include "test_ops.h"

static int createfail_create(const struct lp_host *host, const void *config, void **instance)
{
    (void)config;
    *instance = NULL;
    host->log(host, LP_LOG_ERROR, "cannot open /nonexistent/store: No such file or directory");
    return LP_ERR;
}

static const struct lp_storage_ops ops = {
    .life = {.create = createfail_create, .destroy = test_destroy, .last_error = test_last_error},
    TEST_STORAGE_REQUIRED,
};
LP_PLUGIN_DEFINE(storage, createfail, "0.0.1", "create fails", "MIT", ops, NULL, char, 0)
