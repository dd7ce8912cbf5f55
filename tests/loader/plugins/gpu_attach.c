/* executor_gpuattach.so: an executor for tests, never installed. It runs nothing: describe()
 * says it attaches the GPUs of the vendor its configuration names (attach = "nvidia", "amd" or
 * "none"), and submit() writes what the core handed it into the job's outputs folder, where
 * the delivered result carries it back to the test:
 *   gpus.txt       the uuid of each lp_job_limits.gpu_devices entry, one a line, in order;
 *   gpu_count.txt  lp_job_limits.gpus.
 * Every job then reports EXITED with exit code 0 at once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_ops.h"

#define GPUATTACH_MAX_JOBS 16

struct gpuattach_config {
    const char *attach;
};

static const struct lp_cfg_field gpuattach_schema[] = {
    LP_CFG_FIELD(struct gpuattach_config, attach, LP_CFG_STRING, 0, "\"none\"",
                 "GPUs describe() claims it attaches: \"nvidia\", \"amd\" or \"none\""),
    LP_CFG_END,
};

struct gpuattach {
    uint32_t attach; /* LP_EXEC_ATTACH_* */
    char attach_name[16];
    uint32_t next_job;
    bool live[GPUATTACH_MAX_JOBS];
    char error[256];
};

static int gpuattach_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct gpuattach_config *c = config;
    *instance = NULL;
    uint32_t attach;
    if (strcmp(c->attach, "nvidia") == 0)
        attach = LP_EXEC_ATTACH_NVIDIA;
    else if (strcmp(c->attach, "amd") == 0)
        attach = LP_EXEC_ATTACH_AMD;
    else if (strcmp(c->attach, "none") == 0)
        attach = 0;
    else {
        host->log(host, LP_LOG_ERROR,
                  "executor.gpuattach.attach: \"%s\"; hint: \"nvidia\", \"amd\" or \"none\"",
                  c->attach);
        return LP_EINVAL;
    }
    struct gpuattach *g = calloc(1, sizeof *g);
    if (!g)
        return LP_ERR;
    g->attach = attach;
    snprintf(g->attach_name, sizeof g->attach_name, "%s", c->attach);
    *instance = g;
    return LP_OK;
}

static const char *gpuattach_last_error(void *instance)
{
    return ((struct gpuattach *)instance)->error;
}

static int gpuattach_describe(void *instance, struct lp_executor_info *out)
{
    const struct gpuattach *g = instance;
    out->attach = g->attach;
    out->enforces = 0;
    snprintf(out->runtime, sizeof out->runtime, "gpuattach test executor (attach = \"%s\")",
             g->attach_name);
    return LP_OK;
}

/* Writes text to outputs_dir/name; LP_ERR with the reason kept for last_error(). */
static int record(struct gpuattach *g, const char *outputs_dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outputs_dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        snprintf(g->error, sizeof g->error, "cannot write %s: %s", path, strerror(errno));
        return LP_ERR;
    }
    return LP_OK;
}

static int gpuattach_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                            const char *outputs_dir, const struct lp_job_limits *limits,
                            struct lp_job_handle *out)
{
    (void)spec, (void)inputs_dir;
    struct gpuattach *g = instance;
    if (g->next_job == GPUATTACH_MAX_JOBS) {
        snprintf(g->error, sizeof g->error, "more than %d jobs", GPUATTACH_MAX_JOBS);
        return LP_ERR;
    }
    char uuids[64 * 64] = "", count[32];
    size_t used = 0;
    for (uint32_t i = 0; limits->gpu_devices && i < limits->gpus; i++)
        used += (size_t)snprintf(uuids + used, sizeof uuids - used, "%s\n",
                                 limits->gpu_devices[i].uuid);
    snprintf(count, sizeof count, "%u\n", limits->gpus);
    if (used >= sizeof uuids) {
        snprintf(g->error, sizeof g->error, "%u GPUs are more than it records", limits->gpus);
        return LP_ERR;
    }
    if (record(g, outputs_dir, "gpus.txt", uuids) != LP_OK ||
        record(g, outputs_dir, "gpu_count.txt", count) != LP_OK)
        return LP_ERR;
    g->live[g->next_job] = true;
    snprintf(out->id, sizeof out->id, "gpuattach-%u", g->next_job++);
    return LP_OK;
}

/* The job's index, or -1 (with the reason kept) for a handle this instance never gave out. */
static int job_index(struct gpuattach *g, const struct lp_job_handle *job)
{
    unsigned n;
    char tail;
    if (sscanf(job->id, "gpuattach-%u%c", &n, &tail) == 1 && n < g->next_job && g->live[n])
        return (int)n;
    snprintf(g->error, sizeof g->error, "no job %.128s", job->id);
    return -1;
}

static int gpuattach_poll(void *instance, const struct lp_job_handle *job,
                          struct lp_job_status *out)
{
    if (job_index(instance, job) < 0)
        return LP_EINVAL;
    out->state = LP_JOB_EXITED;
    out->exit_code = 0;
    return LP_OK;
}

static int gpuattach_release(void *instance, const struct lp_job_handle *job)
{
    struct gpuattach *g = instance;
    int n = job_index(g, job);
    if (n < 0)
        return LP_EINVAL;
    g->live[n] = false;
    return LP_OK;
}

static const struct lp_executor_ops gpuattach_ops = {
    .life = {.create = gpuattach_create,
             .destroy = test_destroy,
             .last_error = gpuattach_last_error},
    .submit = gpuattach_submit,
    .poll = gpuattach_poll,
    .release = gpuattach_release,
    .describe = gpuattach_describe,
};

LP_PLUGIN_DEFINE(executor, gpuattach, "0.0.1",
                 "for tests: claims the GPUs its configuration names and records those it gets",
                 "MIT", gpuattach_ops, gpuattach_schema, struct gpuattach_config, 0)
