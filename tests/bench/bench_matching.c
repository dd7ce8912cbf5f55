/* Matching throughput and latency: OFFERS open resource offers (default 10,000) with a mixed
 * fleet (0-8 GPUs, 8-80 GiB VRAM, 2-64 cores, 4-512 GiB RAM, random prices), JOBS job offers
 * (default 200,000) with random requirements, 10% of them fixed-price, one thread. Each matched
 * offer is replaced by a fresh one (not timed) so the index stays at OFFERS. The same kind of
 * jobs run against a plain scan of every offer, for scale.
 *
 *   build/bench/bench_matching [OFFERS [JOBS]]
 *
 * Target: >= 100,000 job offers/s on one core with p99 < 1 ms at 100,000 offers. Only the
 * matcher's public API is used, so the same source builds against an older matcher for a
 * before/after comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "solver/matcher.h"

#define N_SCAN 2000
#define GIB    (1024ull * 1024ull * 1024ull)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static uint64_t ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static const uint64_t vram_choices[] = {8 * GIB, 16 * GIB, 24 * GIB, 40 * GIB, 80 * GIB};
static struct lp_gpu gpu_pool[8];

static void random_offer(struct lp_resource_offer *r, uint32_t i)
{
    memset(r, 0, sizeof *r);
    r->provider[0] = (uint8_t)(i >> 8);
    r->provider[1] = (uint8_t)i;
    r->cpu_millicores = (2 + rnd(63)) * 1000;
    r->ram_bytes = (4 + rnd(509)) * GIB;
    r->disk_bytes = (50 + rnd(2000)) * GIB;
    size_t g = rnd(4) == 0 ? 0 : 1 + rnd(8);
    uint64_t v = vram_choices[rnd(5)];
    for (size_t k = 0; k < g; k++)
        gpu_pool[k].vram_bytes = v;
    r->gpus = gpu_pool;
    r->n_gpus = g;
    lp_wei_from_u64(&r->min_price, 1 + rnd(1000));
    r->created_at_ms = 1700000000000ull + i;
}

static void random_job(struct lp_job_offer *j)
{
    memset(j, 0, sizeof *j);
    j->module.repo = (char *)"https://example.org/m";
    j->resources.cpu_millicores = (1 + rnd(16)) * 1000;
    j->resources.ram_bytes = (1 + rnd(64)) * GIB;
    j->resources.disk_bytes = (1 + rnd(100)) * GIB;
    j->resources.gpus = rnd(3) == 0 ? 0 : (uint32_t)(1 + rnd(4));
    j->resources.vram_bytes = j->resources.gpus ? vram_choices[rnd(4)] : 0;
    lp_wei_from_u64(&j->max_price, 200 + rnd(1000));
    j->mode = rnd(10) == 0 ? LP_PRICE_FIXED : LP_PRICE_MARKET;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The rules a full scan checks (resources and price), written out here so the benchmark does
 * not depend on the matcher's own helper. */
static int scan_fits(const struct lp_match_offer *o, const struct lp_job_offer *j)
{
    const struct lp_job_resources *r = &j->resources;
    return lp_wei_cmp(&o->min_price, &j->max_price) <= 0 &&
           o->cpu_millicores >= r->cpu_millicores && o->ram_bytes >= r->ram_bytes &&
           o->disk_bytes >= r->disk_bytes && o->gpus >= r->gpus &&
           (r->gpus == 0 || o->vram_desc[r->gpus - 1] >= r->vram_bytes);
}

static void id_of(uint32_t i, uint8_t id[32])
{
    memset(id, 0, 32);
    memcpy(id, &i, sizeof i);
}

int main(int argc, char **argv)
{
    long n_offers = argc > 1 ? atol(argv[1]) : 10000, n_jobs = argc > 2 ? atol(argv[2]) : 200000;
    if (n_offers < 1 || n_offers > 10000000 || n_jobs < 100 || n_jobs > 100000000) {
        fprintf(stderr, "usage: bench_matching [OFFERS 1..10000000 [JOBS 100..100000000]]\n");
        return 2;
    }
    const uint32_t N_OFFERS = (uint32_t)n_offers, N_JOBS = (uint32_t)n_jobs;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    for (size_t k = 0; k < 8; k++) {
        gpu_pool[k].vendor = (char *)"nvidia";
        gpu_pool[k].model = (char *)"bench";
    }
    uint32_t next = 0;
    for (; next < N_OFFERS; next++) {
        struct lp_resource_offer r;
        random_offer(&r, next);
        uint8_t id[32];
        id_of(next, id);
        lp_matcher_add(m, id, &r);
    }
    uint64_t *lat = malloc(N_JOBS * sizeof *lat), *lat_fixed = malloc(N_JOBS * sizeof *lat);
    uint64_t total = 0, matched = 0, t_add = 0;
    size_t n_fixed = 0;
    for (uint32_t i = 0; i < N_JOBS; i++) {
        struct lp_job_offer j;
        random_job(&j);
        struct lp_match_job mj = {.offer = &j, .module_ref = "https://example.org/m@00"};
        uint64_t t0 = ns();
        int rc = lp_matcher_match(m, &mj, NULL, NULL, NULL, NULL, 0);
        uint64_t dt = ns() - t0;
        lat[i] = dt;
        total += dt;
        if (j.mode == LP_PRICE_FIXED)
            lat_fixed[n_fixed++] = dt;
        if (rc == LP_MATCH_OK) {
            matched++;
            struct lp_resource_offer r;
            random_offer(&r, next);
            uint8_t id[32];
            id_of(next++, id);
            uint64_t a0 = ns();
            lp_matcher_add(m, id, &r);
            t_add += ns() - a0;
        }
    }
    qsort(lat, N_JOBS, sizeof *lat, cmp_u64);
    qsort(lat_fixed, n_fixed, sizeof *lat_fixed, cmp_u64);

    /* Baseline: the same kind of jobs against a linear scan of every offer (no index). */
    struct lp_match_offer *flat = calloc(N_OFFERS, sizeof *flat);
    uint64_t vd[8];
    for (uint32_t i = 0; i < N_OFFERS; i++) {
        struct lp_resource_offer r;
        random_offer(&r, i);
        flat[i].cpu_millicores = r.cpu_millicores;
        flat[i].ram_bytes = r.ram_bytes;
        flat[i].disk_bytes = r.disk_bytes;
        flat[i].gpus = (uint32_t)r.n_gpus;
        flat[i].min_price = r.min_price;
        flat[i].vram_desc = malloc(8 * sizeof *vd);
        for (size_t k = 0; k < r.n_gpus; k++)
            flat[i].vram_desc[k] = r.gpus[k].vram_bytes;
    }
    uint64_t scan_total = 0;
    volatile size_t sink = 0;
    for (int i = 0; i < N_SCAN; i++) {
        struct lp_job_offer j;
        random_job(&j);
        uint64_t t0 = ns();
        size_t best = N_OFFERS;
        for (size_t k = 0; k < N_OFFERS; k++) {
            if (scan_fits(&flat[k], &j) &&
                (best == N_OFFERS || lp_wei_cmp(&flat[k].min_price, &flat[best].min_price) < 0))
                best = k;
        }
        scan_total += ns() - t0;
        sink += best;
    }

    double per_s = total ? (double)N_JOBS * 1e9 / (double)total : 0;
    double scan_per_s = scan_total ? (double)N_SCAN * 1e9 / (double)scan_total : 0;
    double p99 = (double)lat[(size_t)(N_JOBS * 0.99)] / 1e3;
    printf("matching: %u open resource offers, %u job offers (%zu fixed-price), one thread\n",
           N_OFFERS, N_JOBS, n_fixed);
    printf("| %-36s | %14s | %10s | %10s | %10s | %14s |\n", "engine", "job offers/s", "p50 us",
           "p99 us", "max us", "fixed p99 us");
    printf("|%.38s|%.16s|%.12s|%.12s|%.12s|%.16s|\n", "--------------------------------------",
           "----------------", "------------", "------------", "------------", "----------------");
    printf("| %-36s | %14.0f | %10.2f | %10.2f | %10.2f | %14.2f |\n", "indexed", per_s,
           (double)lat[N_JOBS / 2] / 1e3, p99, (double)lat[N_JOBS - 1] / 1e3,
           n_fixed ? (double)lat_fixed[(size_t)((double)n_fixed * 0.99)] / 1e3 : 0.0);
    printf("| %-36s | %14.0f | %10s | %10s | %10s | %14s |\n",
           "linear scan of all offers (baseline)", scan_per_s, "-", "-", "-", "-");
    printf("matched %llu of %u (%.1f%%); re-adding an offer: %.2f us on average\n",
           (unsigned long long)matched, N_JOBS, 100.0 * (double)matched / N_JOBS,
           matched ? (double)t_add / (double)matched / 1e3 : 0.0);
    printf("target at 100,000 offers: >= 100,000 job offers/s, p99 < 1000 us: %s\n",
           per_s >= 100000 && p99 < 1000 ? "met" : "NOT met");
    for (uint32_t i = 0; i < N_OFFERS; i++)
        free(flat[i].vram_desc);
    free(flat);
    free(lat);
    free(lat_fixed);
    lp_matcher_free(m);
    return (int)(sink & 0);
}
