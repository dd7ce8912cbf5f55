/* Job offer -> job plan, through the module job spec parser. */
#include "provider/job_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/job_spec.h"

static char **steal(char ***from, size_t *count, size_t *out_count)
{
    char **v = *from;
    *out_count = *count;
    *from = NULL;
    *count = 0;
    return v;
}

int lp_job_plan_from_offer(const struct lp_job_offer *offer, struct lp_job_plan *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *text = offer->module.spec ? offer->module.spec : "";
    struct lp_module_spec spec;
    struct lp_module_error merr;
    memset(&spec, 0, sizeof spec);
    if (lp_module_spec_parse(offer->module.repo, text, strlen(text), &spec, NULL, &merr) != 0) {
        snprintf(err, errlen, "%s", merr.message);
        return -1;
    }
    out->image = spec.image;
    spec.image = NULL;
    out->argv = steal(&spec.entrypoint, &spec.n_entrypoint, &out->argc);
    out->env = steal(&spec.env, &spec.n_env, &out->n_env);
    out->workdir = spec.working_dir;
    spec.working_dir = NULL;
    out->network = spec.network;
    if (spec.network)
        out->domains = steal(&spec.domains, &spec.n_domains, &out->n_domains);
    out->cpu_millicores = offer->resources.cpu_millicores;
    out->ram_bytes = offer->resources.ram_bytes;
    out->disk_bytes = offer->resources.disk_bytes;
    out->gpus = offer->resources.gpus;
    out->timeout_s = offer->timeout_s ? offer->timeout_s : spec.timeout_s;
    lp_module_spec_free(&spec);
    if (!out->image || !out->image[0]) {
        snprintf(err, errlen, "module %s: job spec names no image", offer->module.repo);
        lp_job_plan_free(out);
        return -1;
    }
    return 0;
}

static void free_vec(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void lp_job_plan_free(struct lp_job_plan *p)
{
    free(p->image);
    free_vec(p->argv, p->argc);
    free_vec(p->env, p->n_env);
    free_vec(p->domains, p->n_domains);
    free(p->workdir);
    memset(p, 0, sizeof *p);
}

/* "1500 millicores" or "64.0 MiB" */
static void amount(uint64_t v, bool bytes, char *out, size_t cap)
{
    if (bytes)
        snprintf(out, cap, "%.1f MiB", (double)v / (1024.0 * 1024.0));
    else
        snprintf(out, cap, "%llu millicores", (unsigned long long)v);
}

static int over(const char *what, uint64_t asked, uint64_t max, bool bytes, char *err,
                size_t errlen)
{
    char a[48], m[48];
    amount(asked, bytes, a, sizeof a);
    amount(max, bytes, m, sizeof m);
    snprintf(err, errlen,
             "refused by the provider: the job asks for %s of %s, this provider gives a job at "
             "most %s (what its resource offer advertises; hint: ask for less, or target "
             "another provider)",
             a, what, m);
    return -1;
}

int lp_job_plan_apply_limits(struct lp_job_plan *plan, const struct lp_job_limit_policy *policy,
                             char *err, size_t errlen)
{
    if (plan->cpu_millicores > policy->max_cpu)
        return over("CPU", plan->cpu_millicores, policy->max_cpu, false, err, errlen);
    if (plan->ram_bytes > policy->max_ram)
        return over("memory", plan->ram_bytes, policy->max_ram, true, err, errlen);
    if (plan->disk_bytes > policy->max_disk)
        return over("disk", plan->disk_bytes, policy->max_disk, true, err, errlen);
    if (!plan->cpu_millicores)
        plan->cpu_millicores = policy->def_cpu;
    if (!plan->ram_bytes)
        plan->ram_bytes = policy->def_ram;
    if (!plan->disk_bytes)
        plan->disk_bytes = policy->def_disk;
    plan->max_pids = policy->pids;
    return 0;
}
