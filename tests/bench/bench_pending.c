/* The solver with job offers waiting that no provider takes: for each PENDING count (default
 * 1,000 and 10,000), PENDING job offers needing 64 GiB of RAM wait in the queue (from 100
 * creators), then, one thread:
 *  - resource offers/s: 200 resource offers of 32 GiB are posted (none of the waiting jobs fits
 *    them, so each is indexed for the jobs to come);
 *  - job offers/s: 200 job offers that fit those resource offers are posted (each is matched at
 *    once, a deal is signed and stored).
 * Envelopes are signed outside the timed part; the times are the solver's (lp_solver_post_*:
 * signature check, store transaction, queue and index work, deal signing), SQLite on /tmp.
 *
 *   build/bench/bench_pending [PENDING...]
 *
 * Only the solver's public API is used, so the same source builds against an older solver for
 * a before/after comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/random.h"
#include "solver/solver.h"
#include "wire/object.h"

#define GIB      (1024ull * 1024ull * 1024ull)
#define N_POSTS  200
#define CREATORS 100

static uint64_t ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct signed_obj {
    uint8_t *env;
    size_t len;
};

static struct signed_obj sign(const struct lp_key *k, struct lp_wire_object *obj)
{
    struct signed_obj s = {0};
    struct lp_wire_error we;
    if (lp_wire_sign(k, obj, &s.env, &s.len, NULL, &we) != 0) {
        fprintf(stderr, "bench_pending: sign: %s\n", we.message);
        exit(1);
    }
    return s;
}

static struct signed_obj job(const struct lp_key *k, uint64_t ram)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_JOB_OFFER;
    struct lp_job_offer *j = &obj.u.job_offer;
    memcpy(j->job_creator, k->address, 20);
    j->module.repo = (char *)"https://example.org/lilypad-module-bench";
    j->module.commit = (char *)"0123456789abcdef0123456789abcdef01234567";
    j->module.spec = (char *)"{}";
    j->resources.cpu_millicores = 1000;
    j->resources.ram_bytes = ram;
    j->resources.disk_bytes = GIB;
    lp_wei_from_u64(&j->max_price, 100);
    lp_wei_from_u64(&j->payment_collateral, 1);
    j->timeout_s = 60;
    j->created_at_ms = now_ms();
    lp_random_bytes(j->nonce, sizeof j->nonce);
    return sign(k, &obj);
}

static struct signed_obj offer(const struct lp_key *k)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_RESOURCE_OFFER;
    struct lp_resource_offer *r = &obj.u.resource_offer;
    memcpy(r->provider, k->address, 20);
    r->cpu_millicores = 8000;
    r->ram_bytes = 32 * GIB;
    r->disk_bytes = 100 * GIB;
    lp_wei_from_u64(&r->min_price, 10);
    r->created_at_ms = now_ms();
    lp_random_bytes(r->nonce, sizeof r->nonce);
    return sign(k, &obj);
}

struct row {
    long pending;
    double offers_per_s, offer_p50, offer_p99, jobs_per_s, job_p50, job_p99;
};

static void stats(uint64_t *lat, size_t n, double *per_s, double *p50, double *p99)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lat[i];
    qsort(lat, n, sizeof *lat, cmp_u64);
    *per_s = total ? (double)n * 1e9 / (double)total : 0;
    *p50 = (double)lat[n / 2] / 1e6;
    *p99 = (double)lat[(size_t)((double)n * 0.99)] / 1e6;
}

static int run(long pending, struct row *out)
{
    char dir[] = "/tmp/lp-bench-pending-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char db[128], files[128], err[256];
    snprintf(db, sizeof db, "%s/solver.db", dir);
    snprintf(files, sizeof files, "%s/files", dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.rate_limit = 0;
    cfg.match_timeout_ms = 3600 * 1000;
    cfg.max_pending_jobs = (uint64_t)pending + 2 * N_POSTS;
    cfg.max_open_job_offers = (uint64_t)pending + N_POSTS;
    cfg.max_open_resource_offers = 10 * N_POSTS;
    struct lp_key sk, provider, creators[CREATORS];
    lp_key_generate(&sk);
    lp_key_generate(&provider);
    for (int i = 0; i < CREATORS; i++)
        lp_key_generate(&creators[i]);
    struct lp_solver *s = NULL;
    if (lp_solver_open(&cfg, &sk, &s, err, sizeof err) != 0) {
        fprintf(stderr, "bench_pending: %s\n", err);
        return -1;
    }
    uint8_t id[32];
    for (long i = 0; i < pending; i++) {
        struct signed_obj j = job(&creators[i % CREATORS], 64 * GIB);
        struct lp_solver_status st = {0};
        lp_solver_post_job_offer(s, creators[i % CREATORS].address, j.env, j.len, NULL, id, &st);
        free(j.env);
        if (st.http != 200) {
            fprintf(stderr, "bench_pending: queueing job %ld: %d %s\n", i, st.http, st.error);
            return -1;
        }
    }
    static uint64_t lat_o[N_POSTS], lat_j[N_POSTS];
    int bad = 0;
    /* Each envelope is signed just before its post (not timed): a slow solver must not make
     * them older than the solver's clock skew allows. */
    for (int i = 0; i < N_POSTS; i++) {
        struct signed_obj o = offer(&provider);
        struct lp_solver_status st = {0};
        uint64_t t0 = ns();
        lp_solver_post_resource_offer(s, provider.address, o.env, o.len, id, &st);
        lat_o[i] = ns() - t0;
        bad += st.http != 200;
        free(o.env);
    }
    for (int i = 0; i < N_POSTS; i++) {
        struct signed_obj j = job(&creators[i % CREATORS], GIB);
        struct lp_solver_status st = {0};
        uint64_t t0 = ns();
        lp_solver_post_job_offer(s, creators[i % CREATORS].address, j.env, j.len, NULL, id, &st);
        lat_j[i] = ns() - t0;
        bad += st.http != 200;
        free(j.env);
    }
    struct lp_solver_metrics m;
    lp_solver_get_metrics(s, &m);
    if (bad || m.pending_jobs != (size_t)pending || m.deals != N_POSTS) {
        fprintf(stderr, "bench_pending: %d posts refused, %zu pending, %llu deals\n", bad,
                m.pending_jobs, (unsigned long long)m.deals);
        return -1;
    }
    lp_solver_close(s);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_pending: could not remove %s\n", dir);
    out->pending = pending;
    stats(lat_o, N_POSTS, &out->offers_per_s, &out->offer_p50, &out->offer_p99);
    stats(lat_j, N_POSTS, &out->jobs_per_s, &out->job_p50, &out->job_p99);
    return 0;
}

int main(int argc, char **argv)
{
    long counts[16] = {1000, 10000};
    int n = 2;
    if (argc > 1) {
        n = 0;
        for (int i = 1; i < argc && n < 16; i++) {
            counts[n] = atol(argv[i]);
            if (counts[n] < 0 || counts[n] > 1000000) {
                fprintf(stderr, "usage: bench_pending [PENDING 0..1000000]...\n");
                return 2;
            }
            n++;
        }
    }
    printf("solver with unmatchable job offers waiting: %d resource offers, then %d job offers "
           "(matched at once), one thread\n",
           N_POSTS, N_POSTS);
    printf("| %8s | %18s | %9s | %9s | %14s | %9s | %9s |\n", "pending", "resource offers/s",
           "p50 ms", "p99 ms", "job offers/s", "p50 ms", "p99 ms");
    printf("|----------|--------------------|-----------|-----------|----------------|-----------|"
           "-----------|\n");
    for (int i = 0; i < n; i++) {
        struct row r;
        if (run(counts[i], &r) != 0)
            return 1;
        printf("| %8ld | %18.0f | %9.2f | %9.2f | %14.0f | %9.2f | %9.2f |\n", r.pending,
               r.offers_per_s, r.offer_p50, r.offer_p99, r.jobs_per_s, r.job_p50, r.job_p99);
        fflush(stdout);
    }
    return 0;
}
