/* hashrate_probefail.so: loads fine, but its probe finds no device. */
#include <stdio.h>

#include "test_ops.h"

static int probefail_probe(const struct lp_host *host, const void *config, char *reason,
                           size_t reason_len)
{
    (void)host;
    (void)config;
    snprintf(reason, reason_len, "no test device (probe says so)");
    return LP_EUNAVAILABLE;
}

static const struct lp_hashrate_ops ops = {
    .life = {.probe = probefail_probe,
             .create = test_create,
             .destroy = test_destroy,
             .last_error = test_last_error},
    TEST_HASHRATE_REQUIRED,
};
LP_PLUGIN_DEFINE(hashrate, probefail, "0.0.1", "probe fails", "MIT", ops, NULL, char, 0)
