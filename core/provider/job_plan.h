/* What the provider runs for a deal, taken from the signed job offer: the module's rendered
 * spec (core/module/job_spec.h) reduced to image, argv, env, working directory, limits and
 * timeout; exec.c turns a plan into the executor's structs (api/lilypad/executor.h). */
#ifndef LP_PROVIDER_JOB_PLAN_H
#define LP_PROVIDER_JOB_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/offers.h"

struct lp_job_plan {
    char *image;
    char **argv; /* NULL: the image's entrypoint */
    size_t argc;
    char **env; /* "KEY=VALUE" */
    size_t n_env;
    char *workdir; /* NULL: the image's */
    uint64_t cpu_millicores, ram_bytes, disk_bytes;
    uint32_t max_pids; /* set by lp_job_plan_apply_limits */
    uint32_t gpus;
    uint64_t timeout_s;
    bool network;   /* the module's Network.Type is not "None" */
    char **domains; /* its Network.Domains: the only names it may reach; NULL: any */
    size_t n_domains;
};

/* Limits come from the offer's signed resources (what the deal matched on), the timeout is the
 * offer's timeout_s. -1 with one line in err when the spec is not a runnable job. */
int lp_job_plan_from_offer(const struct lp_job_offer *offer, struct lp_job_plan *out, char *err,
                           size_t errlen);
void lp_job_plan_free(struct lp_job_plan *p);

/* The limits every job runs under, whatever its module asks. The maximum is a slot's share of
 * what the provider offers (what its resource offer advertises, the only thing the solver's
 * matcher sees); the default is what a job that asks for 0 gets, never "no limit". */
struct lp_job_limit_policy {
    uint64_t max_cpu, max_ram, max_disk; /* millicores, bytes, bytes (/outputs) */
    uint64_t def_cpu, def_ram, def_disk;
    uint32_t pids; /* every job: the wire carries no ask for it */
};

/* Fills the plan's 0 asks with the defaults and sets its process limit. A job that asks for
 * more than the maximum is refused, not clamped: it would run with less than it was matched
 * on and fail in ways its job creator could not tell apart from its own bugs. -1 with one
 * line in err naming the resource, both amounts and a hint. */
int lp_job_plan_apply_limits(struct lp_job_plan *plan, const struct lp_job_limit_policy *policy,
                             char *err, size_t errlen);

#endif
