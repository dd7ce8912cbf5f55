/* executor_tooshort.so: an ops table that ends before poll(), which every executor must have;
 * the table really is that short, so reading poll() would read past it. */
#include "test_ops.h"

struct short_ops {
    struct lp_lifecycle_ops life;
    int (*submit)(void *, const struct lp_job_spec *, const char *, const char *,
                  const struct lp_job_limits *, struct lp_job_handle *);
};
_Static_assert(offsetof(struct short_ops, submit) == offsetof(struct lp_executor_ops, submit),
               "same layout as the prefix of lp_executor_ops");

static const struct short_ops ops = {.life = TEST_LIFECYCLE, .submit = test_submit};
static const struct lp_plugin desc = {
    .magic = LP_PLUGIN_MAGIC,
    .abi_major = LP_ABI_MAJOR,
    .abi_minor = LP_ABI_MINOR,
    .struct_size = sizeof(struct lp_plugin),
    .concern = LP_CONCERN_EXECUTOR,
    .name = "tooshort",
    .version = "0.0.1",
    .ops = &ops,
    .ops_size = sizeof(ops),
};

LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void);
LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void)
{
    return &desc;
}
