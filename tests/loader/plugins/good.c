/* executor_good.so: a correct plugin with a schema covering every flag, used by the loader
 * and configuration tests. Built again under other names (TEST_PLUGIN_NAME) as the good copy
 * that a broken copy earlier on the search path must not hide. */
#include "test_ops.h"

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME good
#endif

struct good_config {
    const char *endpoint;
    const char *token;
    uint64_t timeout_ms;
    int64_t retries;
    bool verbose;
    uint64_t max_output;
    struct lp_str_list tags;
};

static const struct lp_cfg_field good_schema[] = {
    LP_CFG_FIELD(struct good_config, endpoint, LP_CFG_STRING, LP_CFG_REQUIRED, NULL,
                 "where the daemon listens"),
    LP_CFG_FIELD(struct good_config, token, LP_CFG_STRING, LP_CFG_SECRET, "\"\"", "API token"),
    LP_CFG_FIELD(struct good_config, timeout_ms, LP_CFG_DURATION, 0, "\"30s\"", "call timeout"),
    LP_CFG_FIELD(struct good_config, retries, LP_CFG_INT, 0, "3", "attempts"),
    LP_CFG_FIELD(struct good_config, verbose, LP_CFG_BOOL, 0, "false", "chatty logs"),
    LP_CFG_FIELD(struct good_config, max_output, LP_CFG_SIZE, 0, "\"1G\"", "output cap"),
    LP_CFG_FIELD(struct good_config, tags, LP_CFG_STRING_LIST, 0, "[\"a\", \"b\"]", "labels"),
    LP_CFG_END,
};

static const struct lp_executor_ops good_ops = {.life = TEST_LIFECYCLE, TEST_EXECUTOR_REQUIRED};

/* One more expansion step, so LP_PLUGIN_DEFINE sees the name TEST_PLUGIN_NAME stands for. */
#define DEFINE_GOOD(name)                                                                          \
    LP_PLUGIN_DEFINE(executor, name, "1.2.3", "a correct test plugin", "MIT", good_ops,            \
                     good_schema, struct good_config, LP_CAP_THREADSAFE)
DEFINE_GOOD(TEST_PLUGIN_NAME)
