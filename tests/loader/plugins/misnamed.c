/* executor_misnamed.so: its descriptor's name differs from its file name. */
#include "test_ops.h"

static const struct lp_executor_ops ops = {.life = TEST_LIFECYCLE, TEST_EXECUTOR_REQUIRED};
LP_PLUGIN_DEFINE(executor, othername, "0.0.1", "misnamed", "MIT", ops, NULL, char, 0)
