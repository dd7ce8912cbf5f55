/* Builders of job and resource offers shared by the solver, matcher and client tests. */
#ifndef LP_TEST_SOLVER_FIXTURES_H
#define LP_TEST_SOLVER_FIXTURES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/random.h"
#include "wire/offers.h"

#define FIX_REPO   "https://example.org/lilypad-module-cowsay"
#define FIX_COMMIT "0123456789abcdef0123456789abcdef01234567"
#define GIB        (1024ull * 1024ull * 1024ull)

static inline uint64_t fix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A job offer; strings point to static text (do not lp_job_offer_free it). */
static inline void fix_job(struct lp_job_offer *j, const uint8_t creator[20], uint64_t cpu,
                           uint32_t gpus, uint64_t vram, uint64_t ram, uint64_t disk,
                           uint64_t max_price, uint32_t mode)
{
    memset(j, 0, sizeof *j);
    memcpy(j->job_creator, creator, 20);
    j->module.repo = (char *)FIX_REPO;
    j->module.commit = (char *)FIX_COMMIT;
    j->module.spec = (char *)"{}";
    j->resources.cpu_millicores = cpu;
    j->resources.gpus = gpus;
    j->resources.vram_bytes = vram;
    j->resources.ram_bytes = ram;
    j->resources.disk_bytes = disk;
    lp_wei_from_u64(&j->max_price, max_price);
    lp_wei_from_u64(&j->payment_collateral, 1);
    j->timeout_s = 60;
    j->mode = mode;
    j->created_at_ms = fix_now_ms();
    lp_random_bytes(j->nonce, sizeof j->nonce);
}

/* A resource offer with n_gpus GPUs of vram bytes each; gpus/modules point to the caller's
 * arrays (do not lp_resource_offer_free it). */
static inline void fix_res(struct lp_resource_offer *r, const uint8_t provider[20], uint64_t cpu,
                           uint64_t ram, uint64_t disk, struct lp_gpu *gpus, size_t n_gpus,
                           uint64_t min_price)
{
    memset(r, 0, sizeof *r);
    memcpy(r->provider, provider, 20);
    r->cpu_millicores = cpu;
    r->ram_bytes = ram;
    r->disk_bytes = disk;
    r->gpus = gpus;
    r->n_gpus = n_gpus;
    lp_wei_from_u64(&r->min_price, min_price);
    lp_wei_from_u64(&r->results_collateral, 2);
    lp_wei_from_u64(&r->mediation_fee, 3);
    r->module_policy = 0;
    r->created_at_ms = fix_now_ms();
    lp_random_bytes(r->nonce, sizeof r->nonce);
}

#endif
