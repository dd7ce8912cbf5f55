/* executor_abimajor.so: ABI major one ahead of the core's. */
#include "test_ops.h"

static const struct lp_executor_ops ops = {.life = TEST_LIFECYCLE, TEST_EXECUTOR_REQUIRED};
static const struct lp_plugin desc = {
    .magic = LP_PLUGIN_MAGIC,
    .abi_minor = LP_ABI_MINOR,
    .abi_major = LP_ABI_MAJOR + 1,
    .struct_size = sizeof(struct lp_plugin),
    .concern = LP_CONCERN_EXECUTOR,
    .name = "abimajor",
    .version = "0.0.1",
    .ops = &ops,
    .ops_size = sizeof(ops),
};

LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void);
LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void)
{
    return &desc;
}
