/* executor_nullsubmit.so: a full ops table whose required submit() is NULL. */
#include "test_ops.h"

static const struct lp_executor_ops ops = {.life = TEST_LIFECYCLE, .poll = test_poll};
LP_PLUGIN_DEFINE(executor, nullsubmit, "0.0.1", "no submit", "MIT", ops, NULL, char, 0)
