/* executor_reclaim.so: an ABI 1.2 executor that keeps its jobs in memory with the owner each
 * was submitted for, so the dispatch tests can check what reclaim() receives and what a core
 * of this version hands submit() (lp_job_spec.owner and job_id). */
#include <stdio.h>
#include <string.h>

#include "test_ops.h"

#define MAX_JOBS 8

struct reclaim_instance {
    size_t n;
    struct {
        char id[16];
        char owner[64];
        char job_id[80];
        bool removed;
    } jobs[MAX_JOBS];
};

static int reclaim_create(const struct lp_host *host, const void *config, void **instance)
{
    (void)host, (void)config;
    *instance = calloc(1, sizeof(struct reclaim_instance));
    return *instance ? LP_OK : LP_ERR;
}

static int reclaim_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                          const char *outputs_dir, const struct lp_job_limits *limits,
                          struct lp_job_handle *out)
{
    (void)inputs_dir, (void)outputs_dir, (void)limits;
    struct reclaim_instance *r = instance;
    if (r->n == MAX_JOBS || !LP_STRUCT_HAS(spec, struct lp_job_spec, job_id))
        return LP_EINVAL;
    snprintf(r->jobs[r->n].id, sizeof r->jobs[r->n].id, "job-%zu", r->n);
    snprintf(r->jobs[r->n].owner, sizeof r->jobs[r->n].owner, "%s", spec->owner ? spec->owner : "");
    snprintf(r->jobs[r->n].job_id, sizeof r->jobs[r->n].job_id, "%s",
             spec->job_id ? spec->job_id : "");
    snprintf(out->id, sizeof out->id, "%s", r->jobs[r->n].id);
    r->n++;
    return LP_OK;
}

/* Reports EXITED with the job's deal ID as its message: the test reads back what submit got. */
static int reclaim_poll(void *instance, const struct lp_job_handle *job, struct lp_job_status *out)
{
    struct reclaim_instance *r = instance;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->jobs[i].id, job->id) == 0 && !r->jobs[i].removed) {
            out->state = LP_JOB_EXITED;
            snprintf(out->message, sizeof out->message, "%s for %s", r->jobs[i].job_id,
                     r->jobs[i].owner);
            return LP_OK;
        }
    return LP_EINVAL;
}

static int reclaim_reclaim(void *instance, const char *owner, const struct lp_job_handle *keep,
                           size_t keep_count, size_t *removed)
{
    struct reclaim_instance *r = instance;
    for (size_t i = 0; i < r->n; i++) {
        if (r->jobs[i].removed || strcmp(r->jobs[i].owner, owner) != 0)
            continue;
        bool kept = false;
        for (size_t k = 0; k < keep_count; k++)
            kept = kept || strcmp(keep[k].id, r->jobs[i].id) == 0;
        if (!kept) {
            r->jobs[i].removed = true;
            (*removed)++;
        }
    }
    return LP_OK;
}

static const struct lp_executor_ops reclaim_ops = {
    .life = {.create = reclaim_create, .destroy = test_destroy, .last_error = test_last_error},
    .submit = reclaim_submit,
    .poll = reclaim_poll,
    .reclaim = reclaim_reclaim,
};

LP_PLUGIN_DEFINE(executor, reclaim, "0.0.1", "remembers owners for reclaim()", "MIT", reclaim_ops,
                 NULL, struct reclaim_instance, 0)
