/* executor_wrongconcern.so: declares the storage concern in an executor's file name. */
#include "test_ops.h"

static const struct lp_storage_ops ops = {.life = TEST_LIFECYCLE, TEST_STORAGE_REQUIRED};
LP_PLUGIN_DEFINE(storage, wrongconcern, "0.0.1", "wrong concern", "MIT", ops, NULL, char, 0)
