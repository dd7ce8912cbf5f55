/* executor_badmagic.so: the descriptor's magic is wrong (someone else's struct). */
#include "test_ops.h"

static const struct lp_executor_ops ops = {.life = TEST_LIFECYCLE, TEST_EXECUTOR_REQUIRED};
static const struct lp_plugin desc = {
    .magic = 0xDEADBEEFu,
    .abi_major = LP_ABI_MAJOR,
    .abi_minor = LP_ABI_MINOR,
    .struct_size = sizeof(struct lp_plugin),
    .concern = LP_CONCERN_EXECUTOR,
    .name = "badmagic",
    .ops = &ops,
    .ops_size = sizeof(ops),
};

LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void);
LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void)
{
    return &desc;
}
