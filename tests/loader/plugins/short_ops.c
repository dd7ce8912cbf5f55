/* executor_shortops.so: a working executor whose ops table ends after poll() (as a plugin of
 * an older minor's would), with nothing of its own past it. The core must report cancel(),
 * logs() and the rest as unsupported without reading beyond the table: under AddressSanitizer
 * a read past it is a global-buffer-overflow. */
#include <stdio.h>
#include <string.h>

#include "test_ops.h"

static int shortops_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                           const char *outputs_dir, const struct lp_job_limits *limits,
                           struct lp_job_handle *out)
{
    (void)instance, (void)spec, (void)inputs_dir, (void)outputs_dir, (void)limits;
    snprintf(out->id, sizeof out->id, "job-1");
    return LP_OK;
}

static int shortops_poll(void *instance, const struct lp_job_handle *job, struct lp_job_status *out)
{
    (void)instance;
    if (strcmp(job->id, "job-1") != 0)
        return LP_EINVAL;
    out->state = LP_JOB_EXITED;
    out->exit_code = 7;
    return LP_OK;
}

struct short_ops {
    struct lp_lifecycle_ops life;
    int (*submit)(void *, const struct lp_job_spec *, const char *, const char *,
                  const struct lp_job_limits *, struct lp_job_handle *);
    int (*poll)(void *, const struct lp_job_handle *, struct lp_job_status *);
};
_Static_assert(offsetof(struct short_ops, poll) == offsetof(struct lp_executor_ops, poll),
               "same layout as the prefix of lp_executor_ops");

static const struct short_ops ops = {
    .life = TEST_LIFECYCLE, .submit = shortops_submit, .poll = shortops_poll};
static const struct lp_plugin desc = {
    .magic = LP_PLUGIN_MAGIC,
    .abi_major = LP_ABI_MAJOR,
    .abi_minor = 0,
    .struct_size = sizeof(struct lp_plugin),
    .concern = LP_CONCERN_EXECUTOR,
    .name = "shortops",
    .version = "0.0.1",
    .caps = LP_CAP_THREADSAFE,
    .ops = &ops,
    .ops_size = sizeof(ops),
};

LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void);
LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void)
{
    return &desc;
}
