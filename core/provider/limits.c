/* The limits every job runs under (job_plan.h): a slot's share of what is offered is the most a
 * job gets, and what its offer advertises; a job that asks for nothing gets the configured
 * default, never "no limit". */
#include <stdio.h>

#include "provider/provider_impl.h"
#include "util/log.h"

static uint64_t default_of(const char *key, uint64_t want, uint64_t max, const char *unit)
{
    if (!want)
        return max;
    if (want > max) {
        lp_warn("provider: %s %llu%s is more than a job may get (its slot's share, %llu%s); "
                "jobs asking for none get %llu%s",
                key, (unsigned long long)want, unit, (unsigned long long)max, unit,
                (unsigned long long)max, unit);
        return max;
    }
    return want;
}

void lp_provider_limits_init(struct lp_provider *p)
{
    const struct lp_provider_settings *s = p->s;
    /* A job's /outputs larger than the largest result it may leave could never be delivered:
     * offering it would match jobs this provider must then fail. */
    if (p->offer_disk > s->max_result) {
        lp_info("provider: disk offered per slot capped at max_result (%llu MiB): a job's "
                "outputs cannot be larger than the result that carries them",
                (unsigned long long)(s->max_result >> 20));
        p->offer_disk = s->max_result;
    }
    struct lp_job_limit_policy *l = &p->limits;
    l->max_cpu = p->offer_cpu;
    l->max_ram = p->offer_ram;
    l->max_disk = p->offer_disk;
    l->def_cpu = default_of("job_cpu", (uint64_t)s->job_cpu, l->max_cpu, " millicores");
    l->def_ram = default_of("job_ram", s->job_ram, l->max_ram, " bytes");
    l->def_disk = default_of("job_disk", s->job_disk, l->max_disk, " bytes");
    l->pids = (uint32_t)s->job_pids;
    lp_debug("provider: job limits: at most %llu millicores, %llu MiB RAM, %llu MiB disk; "
             "defaults %llu millicores, %llu MiB RAM, %llu MiB disk; %u processes; results up "
             "to %llu MiB",
             (unsigned long long)l->max_cpu, (unsigned long long)(l->max_ram >> 20),
             (unsigned long long)(l->max_disk >> 20), (unsigned long long)l->def_cpu,
             (unsigned long long)(l->def_ram >> 20), (unsigned long long)(l->def_disk >> 20),
             l->pids, (unsigned long long)(s->max_result >> 20));
}
