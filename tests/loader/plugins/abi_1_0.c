/* executor_abi10.so: a working executor built against the frozen ABI 1.0 headers
 * (tests/abi/v1_0), as a plugin shipped before 1.1 was. It must keep loading and working
 * through the 1.1 core: its shorter ops table (no describe, logs_from, wait), its shorter job
 * status (no peak memory, CPU time or OOM flag) and its 1.0 logs() that always starts at byte 0.
 * Jobs "run" in memory: each exits 0 at once with a fixed stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lilypad/executor.h>

_Static_assert(LP_ABI_MAJOR == 1 && LP_ABI_MINOR == 0, "built against the frozen 1.0 headers");
_Static_assert(sizeof(struct lp_job_status) == 288, "the 1.0 job status");

#define ABI10_STDOUT "line one from a 1.0 plugin\nline two\n"

struct abi10 {
    int jobs;
    char last_error[128];
};

static int abi10_create(const struct lp_host *host, const void *config, void **instance)
{
    (void)host, (void)config;
    *instance = calloc(1, sizeof(struct abi10));
    return *instance ? LP_OK : LP_ERR;
}

static void abi10_destroy(void *instance)
{
    free(instance);
}

static const char *abi10_last_error(void *instance)
{
    return ((struct abi10 *)instance)->last_error;
}

static int abi10_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                        const char *outputs_dir, const struct lp_job_limits *limits,
                        struct lp_job_handle *out)
{
    struct abi10 *a = instance;
    (void)inputs_dir, (void)outputs_dir;
    if (spec == NULL || spec->image == NULL || limits == NULL || limits->struct_size < 48) {
        snprintf(a->last_error, sizeof a->last_error, "no image or no 1.0 limits");
        return LP_EINVAL;
    }
    snprintf(out->id, sizeof out->id, "abi10-%d", ++a->jobs);
    return LP_OK;
}

static int abi10_poll(void *instance, const struct lp_job_handle *job, struct lp_job_status *out)
{
    struct abi10 *a = instance;
    if (strncmp(job->id, "abi10-", 6) != 0) {
        snprintf(a->last_error, sizeof a->last_error, "no job %.40s", job->id);
        return LP_EINVAL;
    }
    /* A 1.0 plugin writes its own, shorter struct and says so. */
    struct lp_job_status st = {.struct_size = sizeof st, .state = LP_JOB_EXITED, .exit_code = 0};
    snprintf(st.message, sizeof st.message, "ran in memory");
    memcpy(out, &st, sizeof st);
    return LP_OK;
}

static int abi10_logs(void *instance, const struct lp_job_handle *job, int stream,
                      lp_write_fn write, void *arg)
{
    (void)instance, (void)job;
    const char *text = stream == LP_STREAM_STDOUT ? ABI10_STDOUT : "";
    /* In two pieces, as a real plugin reading a file in blocks would. */
    size_t half = strlen(text) / 2;
    if (write(arg, text, half) != 0)
        return LP_OK;
    write(arg, text + half, strlen(text) - half);
    return LP_OK;
}

static int abi10_release(void *instance, const struct lp_job_handle *job)
{
    (void)instance, (void)job;
    return LP_OK;
}

static const struct lp_executor_ops ops = {
    .life = {.create = abi10_create, .destroy = abi10_destroy, .last_error = abi10_last_error},
    .submit = abi10_submit,
    .poll = abi10_poll,
    .logs = abi10_logs,
    .release = abi10_release,
};
LP_PLUGIN_DEFINE(executor, abi10, "1.0.0", "an executor built against ABI 1.0", "MIT", ops, NULL,
                 char, 0)
