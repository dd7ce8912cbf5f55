/* Minimal working ops shared by the deliberately broken test plugins: each broken plugin
 * breaks exactly one thing and is otherwise well-formed, so the loader's verdict can only
 * come from that one thing. */
#ifndef LP_TEST_OPS_H
#define LP_TEST_OPS_H

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>
#include <stdlib.h>

static inline int test_create(const struct lp_host *host, const void *config, void **instance)
{
    (void)host;
    (void)config;
    *instance = malloc(1);
    return *instance ? LP_OK : LP_ERR;
}

static inline void test_destroy(void *instance)
{
    free(instance);
}

static inline const char *test_last_error(void *instance)
{
    (void)instance;
    return "";
}

#define TEST_LIFECYCLE                                                                             \
    {                                                                                              \
        .create = test_create, .destroy = test_destroy, .last_error = test_last_error              \
    }

#endif
