/* Matcher rules (one test per rule), selection under both price modes, providers' liveness and
 * reliability, the index against a full scan under churn, and no double booking when several
 * threads match at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "solver/matcher.h"
#include "solver_fixtures.h"

static const uint8_t JC[20] = {0xaa};
static const uint8_t P1[20] = {0x01};
static const uint8_t P2[20] = {0x02};

static uint8_t next_id[32];

static const uint8_t *new_id(void)
{
    for (int i = 31; i >= 0 && ++next_id[i] == 0; i--)
        ;
    return next_id;
}

/* One offer: 4 cores, 16 GiB RAM, 100 GiB disk, 2 GPUs of 24 GiB, price 10. */
static void add_std(struct lp_matcher *m, const uint8_t prov[20], uint64_t price, uint8_t id[32])
{
    struct lp_gpu g[2] = {{(char *)"nvidia", (char *)"A", 24 * GIB},
                          {(char *)"nvidia", (char *)"A", 24 * GIB}};
    struct lp_resource_offer r;
    fix_res(&r, prov, 4000, 16 * GIB, 100 * GIB, g, 2, price);
    memcpy(id, new_id(), 32);
    assert_int_equal(lp_matcher_add(m, id, &r), 0);
}

static int match(struct lp_matcher *m, struct lp_job_offer *j, struct lp_match_result *res,
                 char *why)
{
    struct lp_match_job mj = {.offer = j, .module_ref = FIX_REPO "@" FIX_COMMIT};
    return lp_matcher_match(m, &mj, NULL, NULL, res, why, 256);
}

static void expect_none(uint64_t cpu, uint32_t gpus, uint64_t vram, uint64_t ram, uint64_t disk,
                        uint64_t price, const char *rule)
{
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t id[32];
    add_std(m, P1, 10, id);
    struct lp_job_offer j;
    fix_job(&j, JC, cpu, gpus, vram, ram, disk, price, LP_PRICE_MARKET);
    char why[256] = "";
    assert_int_equal(match(m, &j, NULL, why), LP_MATCH_NONE);
    assert_int_equal(lp_matcher_size(m), 1);
    /* the offer-level check names the rule */
    struct lp_gpu g[2] = {{(char *)"n", (char *)"A", 24 * GIB},
                          {(char *)"n", (char *)"A", 24 * GIB}};
    uint64_t vd[2] = {24 * GIB, 24 * GIB};
    struct lp_match_offer o = {.cpu_millicores = 4000,
                               .ram_bytes = 16 * GIB,
                               .disk_bytes = 100 * GIB,
                               .gpus = 2,
                               .vram_desc = vd};
    (void)g;
    lp_wei_from_u64(&o.min_price, 10);
    struct lp_match_job mj = {.offer = &j, .module_ref = FIX_REPO "@" FIX_COMMIT};
    assert_false(lp_matcher_fits(&o, 0, &mj, why, sizeof why));
    assert_non_null(strstr(why, rule));
    lp_matcher_free(m);
}

static void test_each_constraint(void **state)
{
    (void)state;
    expect_none(4001, 0, 0, 0, 0, 100, "cpu");
    expect_none(0, 0, 0, 16 * GIB + 1, 0, 100, "ram");
    expect_none(0, 0, 0, 0, 100 * GIB + 1, 100, "disk");
    expect_none(0, 3, 0, 0, 0, 100, "gpus");
    expect_none(0, 1, 24 * GIB + 1, 0, 0, 100, "vram");
    expect_none(0, 0, 0, 0, 0, 9, "price");
}

static void test_fits_exactly(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t id[32];
    add_std(m, P1, 10, id);
    struct lp_job_offer j;
    fix_job(&j, JC, 4000, 2, 24 * GIB, 16 * GIB, 100 * GIB, 10, LP_PRICE_MARKET);
    struct lp_match_result res;
    assert_int_equal(match(m, &j, &res, NULL), LP_MATCH_OK);
    assert_memory_equal(res.offer.id, id, 32);
    assert_int_equal(lp_matcher_size(m), 0);
    /* booked: a second identical job finds nothing */
    assert_int_equal(match(m, &j, NULL, NULL), LP_MATCH_NONE);
    lp_match_offer_release(&res.offer);
    lp_matcher_free(m);
}

static void test_market_takes_cheapest_fixed_takes_oldest(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t old_dear[32], new_cheap[32];
    add_std(m, P1, 50, old_dear);
    add_std(m, P2, 5, new_cheap);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 1, GIB, GIB, GIB, 100, LP_PRICE_MARKET);
    struct lp_match_result res;
    assert_int_equal(match(m, &j, &res, NULL), LP_MATCH_OK);
    assert_memory_equal(res.offer.id, new_cheap, 32);
    uint64_t price = 0;
    lp_wei_to_u64(&res.price, &price);
    assert_int_equal(price, 5); /* market: the offer's price */
    lp_match_offer_release(&res.offer);

    add_std(m, P2, 5, new_cheap); /* newer and cheaper than old_dear */
    fix_job(&j, JC, 1000, 1, GIB, GIB, GIB, 100, LP_PRICE_FIXED);
    assert_int_equal(match(m, &j, &res, NULL), LP_MATCH_OK);
    assert_memory_equal(res.offer.id, old_dear, 32);
    lp_wei_to_u64(&res.price, &price);
    assert_int_equal(price, 100); /* fixed: the job's price */
    lp_match_offer_release(&res.offer);
    lp_matcher_free(m);
}

static void test_target_and_exclude(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t a[32], b[32];
    add_std(m, P1, 1, a);
    add_std(m, P2, 50, b);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    j.has_target = 1;
    memcpy(j.target, P2, 20);
    struct lp_match_result res;
    assert_int_equal(match(m, &j, &res, NULL), LP_MATCH_OK);
    assert_memory_equal(res.offer.provider, P2, 20); /* not the cheaper P1 */
    lp_match_offer_release(&res.offer);
    assert_int_equal(match(m, &j, NULL, NULL), LP_MATCH_NONE); /* P2 has nothing left */

    j.has_target = 0;
    struct lp_match_job mj = {.offer = &j, .module_ref = "x@y", .exclude = P1};
    assert_int_equal(lp_matcher_match(m, &mj, NULL, NULL, NULL, NULL, 0), LP_MATCH_NONE);
    lp_matcher_free(m);
}

static void test_module_allowlist(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    char *mods[] = {(char *)"https://a/b@1111111111111111111111111111111111111111",
                    (char *)FIX_REPO "@" FIX_COMMIT};
    struct lp_resource_offer r;
    fix_res(&r, P1, 4000, GIB, GIB, NULL, 0, 1);
    r.module_policy = LP_MODULES_ALLOWLIST;
    r.modules = mods;
    r.n_modules = 2;
    assert_int_equal(lp_matcher_add(m, new_id(), &r), 0);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, 0, 0, 10, LP_PRICE_MARKET);
    struct lp_match_job other = {.offer = &j, .module_ref = "https://c/d@22"};
    char why[256];
    assert_int_equal(lp_matcher_match(m, &other, NULL, NULL, NULL, why, sizeof why), LP_MATCH_NONE);
    assert_int_equal(match(m, &j, NULL, NULL), LP_MATCH_OK);
    lp_matcher_free(m);
}

static int block_cowsay(void *ctx, const char *repo, const char *ref, char *reason, size_t cap)
{
    (void)ctx;
    (void)ref;
    if (strcmp(repo, FIX_REPO) == 0) {
        snprintf(reason, cap, "mines crypto");
        return 1;
    }
    return 0;
}

static void test_blocklist(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(block_cowsay, NULL);
    uint8_t id[32];
    add_std(m, P1, 1, id);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, 0, 0, 10, LP_PRICE_MARKET);
    char why[256] = "";
    assert_int_equal(match(m, &j, NULL, why), LP_MATCH_BLOCKED);
    assert_non_null(strstr(why, "mines crypto"));
    assert_int_equal(lp_matcher_size(m), 1);
    lp_matcher_free(m);
}

static int refuse(void *ctx, const struct lp_match_offer *o, const struct lp_u256 *p)
{
    (void)ctx;
    (void)o;
    (void)p;
    return -1;
}

static void test_failed_commit_puts_offer_back(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t id[32];
    add_std(m, P1, 1, id);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, 0, 0, 10, LP_PRICE_MARKET);
    struct lp_match_job mj = {.offer = &j, .module_ref = "x@y"};
    assert_int_equal(lp_matcher_match(m, &mj, refuse, NULL, NULL, NULL, 0), LP_MATCH_COMMIT_FAILED);
    assert_true(lp_matcher_contains(m, id));
    assert_int_equal(lp_matcher_remove(m, id), 0);
    assert_int_equal(lp_matcher_remove(m, id), 1);
    lp_matcher_free(m);
}

/* Job requirements on the provider: reliability and results collateral; providers a job
 * excludes. */
static void test_provider_requirements(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    lp_matcher_set_default_reliability(m, 500);
    uint8_t cheap[32], dear[32];
    add_std(m, P1, 1, cheap); /* results collateral 2 (fix_res) */
    add_std(m, P2, 50, dear);
    lp_matcher_set_reliability(m, P2, 900);
    assert_int_equal(lp_matcher_reliability(m, P1), 500);
    assert_int_equal(lp_matcher_reliability(m, P2), 900);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    j.min_reliability = 600;
    struct lp_match_result res;
    char why[256];
    assert_int_equal(match(m, &j, &res, NULL), LP_MATCH_OK);
    assert_memory_equal(res.offer.id, dear, 32); /* not the cheaper, unproven P1 */
    lp_match_offer_release(&res.offer);
    assert_int_equal(match(m, &j, NULL, why), LP_MATCH_NONE);

    add_std(m, P2, 50, dear);
    j.min_reliability = 0;
    lp_wei_from_u64(&j.min_results_collateral, 3);
    assert_int_equal(match(m, &j, NULL, NULL), LP_MATCH_NONE); /* both put up 2 */
    lp_wei_from_u64(&j.min_results_collateral, 2);
    const uint8_t excluded[2][20] = {{0x01}, {0x09}};
    struct lp_match_job mj = {
        .offer = &j, .module_ref = "x@y", .excluded = excluded, .n_excluded = 2};
    assert_int_equal(lp_matcher_match(m, &mj, NULL, NULL, &res, why, sizeof why), LP_MATCH_OK);
    assert_memory_equal(res.offer.provider, P2, 20); /* P1 is excluded */
    lp_match_offer_release(&res.offer);

    /* the rule names */
    struct lp_match_offer o;
    struct lp_resource_offer r;
    fix_res(&r, P1, 4000, GIB, GIB, NULL, 0, 1);
    assert_int_equal(lp_match_offer_from(cheap, &r, &o), 0);
    j.min_reliability = 700;
    assert_false(lp_matcher_fits(&o, 500, &mj, why, sizeof why));
    assert_non_null(strstr(why, "reliability"));
    j.min_reliability = 0;
    lp_wei_from_u64(&j.min_results_collateral, 5);
    assert_false(lp_matcher_fits(&o, 500, &mj, why, sizeof why));
    assert_non_null(strstr(why, "collateral"));
    lp_wei_from_u64(&j.min_results_collateral, 0);
    assert_false(lp_matcher_fits(&o, 500, &mj, why, sizeof why));
    assert_non_null(strstr(why, "excluded"));
    lp_match_offer_release(&o);
    lp_matcher_free(m);
}

/* A suspended provider's offers are not matched, not even by a job that targets it; they come
 * back (and are listed) when it is live again, and can be cancelled meanwhile. */
static void test_suspended_provider(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t a[32], b[32], c[32];
    add_std(m, P1, 1, a);
    add_std(m, P1, 2, b);
    add_std(m, P2, 50, c);
    lp_matcher_set_live(m, P1, false, NULL, 0, NULL);
    assert_int_equal(lp_matcher_size(m), 1);
    assert_int_equal(lp_matcher_suspended(m), 2);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    j.has_target = 1;
    memcpy(j.target, P1, 20);
    assert_int_equal(match(m, &j, NULL, NULL), LP_MATCH_NONE);
    j.has_target = 0;
    struct lp_match_offer got;
    assert_int_equal(lp_matcher_get(m, a, &got, NULL), 1); /* not matchable */
    assert_int_equal(lp_matcher_remove(m, b), 0);          /* cancel while suspended */
    assert_int_equal(lp_matcher_suspended(m), 1);
    /* an offer added while its provider is suspended waits too */
    uint8_t d[32];
    add_std(m, P1, 3, d);
    assert_int_equal(lp_matcher_suspended(m), 2);
    uint8_t back[4][32];
    size_t n = 0;
    lp_matcher_set_live(m, P1, true, back, 4, &n);
    assert_int_equal(n, 2);
    assert_true((memcmp(back[0], a, 32) == 0 && memcmp(back[1], d, 32) == 0) ||
                (memcmp(back[0], d, 32) == 0 && memcmp(back[1], a, 32) == 0));
    assert_int_equal(lp_matcher_size(m), 3);
    assert_int_equal(lp_matcher_suspended(m), 0);
    uint32_t rel = 1;
    assert_int_equal(lp_matcher_get(m, a, &got, &rel), 0);
    assert_int_equal(rel, 0); /* the default */
    lp_match_offer_release(&got);
    struct lp_match_result res;
    assert_int_equal(match(m, &j, &res, NULL), LP_MATCH_OK);
    assert_memory_equal(res.offer.id, a, 32);
    lp_match_offer_release(&res.offer);
    lp_matcher_free(m);
}

/* Booking one given offer: only while it fits the job; a failed commit puts it back. */
static void test_book_given_offer(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t a[32];
    add_std(m, P1, 10, a);
    struct lp_job_offer j;
    fix_job(&j, JC, 1000, 0, 0, GIB, GIB, 5, LP_PRICE_MARKET);
    struct lp_match_job mj = {.offer = &j, .module_ref = "x@y"};
    assert_int_equal(lp_matcher_book(m, a, &mj, NULL, NULL), LP_MATCH_NONE); /* too dear */
    lp_wei_from_u64(&j.max_price, 20);
    assert_int_equal(lp_matcher_book(m, a, &mj, refuse, NULL), LP_MATCH_COMMIT_FAILED);
    assert_true(lp_matcher_contains(m, a));
    assert_int_equal(lp_matcher_book(m, a, &mj, NULL, NULL), LP_MATCH_OK);
    assert_false(lp_matcher_contains(m, a));
    assert_int_equal(lp_matcher_book(m, a, &mj, NULL, NULL), LP_MATCH_NONE);
    lp_matcher_free(m);
}

/* The index against a full scan of the same offers: thousands of random offers added and
 * removed (blocks split and merge), random jobs of both price modes; every match must pick
 * exactly the offer the rules pick from a scan. */
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

#define REF_N 6000

static void test_index_agrees_with_a_full_scan(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    static struct lp_match_offer ref[REF_N];
    static bool open[REF_N];
    memset(open, 0, sizeof open);
    struct lp_gpu gpus[4];
    for (int k = 0; k < 4; k++) {
        gpus[k].vendor = (char *)"nvidia";
        gpus[k].model = (char *)"t";
    }
    for (int round = 0; round < 40000; round++) {
        uint32_t i = (uint32_t)rnd(REF_N);
        uint8_t id[32] = {0};
        memcpy(id, &i, sizeof i);
        if (rnd(3) != 0) { /* add or remove offer i */
            if (open[i]) {
                assert_int_equal(lp_matcher_remove(m, id), 0);
                lp_match_offer_release(&ref[i]);
                open[i] = false;
                continue;
            }
            size_t g = rnd(3);
            for (size_t k = 0; k < g; k++)
                gpus[k].vram_bytes = (8 + 8 * rnd(4)) * GIB;
            struct lp_resource_offer r;
            uint8_t prov[20] = {(uint8_t)rnd(50)};
            fix_res(&r, prov, (1 + rnd(8)) * 1000, (1 + rnd(32)) * GIB, (1 + rnd(64)) * GIB, gpus,
                    g, rnd(100));
            r.created_at_ms = 1000 + rnd(100000); /* ties and reorderings on purpose */
            assert_int_equal(lp_matcher_add(m, id, &r), 0);
            assert_int_equal(lp_match_offer_from(id, &r, &ref[i]), 0);
            open[i] = true;
            continue;
        }
        struct lp_job_offer j;
        uint32_t jg = (uint32_t)rnd(3);
        fix_job(&j, JC, (1 + rnd(8)) * 1000, jg, jg ? (8 + 8 * rnd(4)) * GIB : 0,
                (1 + rnd(32)) * GIB, (1 + rnd(64)) * GIB, rnd(100),
                rnd(4) == 0 ? LP_PRICE_FIXED : LP_PRICE_MARKET);
        struct lp_match_job mj = {.offer = &j, .module_ref = "x@y"};
        int want = -1;
        for (int k = 0; k < REF_N; k++) {
            if (!open[k] || !lp_matcher_fits(&ref[k], 0, &mj, NULL, 0))
                continue;
            if (want < 0) {
                want = k;
                continue;
            }
            const struct lp_match_offer *a = &ref[k], *b = &ref[want];
            int c = j.mode == LP_PRICE_FIXED ? 0 : lp_wei_cmp(&a->min_price, &b->min_price);
            if (c == 0 && a->created_at_ms != b->created_at_ms)
                c = a->created_at_ms < b->created_at_ms ? -1 : 1;
            if (c == 0)
                c = memcmp(a->id, b->id, 32);
            if (c < 0)
                want = k;
        }
        struct lp_match_result res;
        int rc = lp_matcher_match(m, &mj, NULL, NULL, &res, NULL, 0);
        if (want < 0) {
            assert_int_equal(rc, LP_MATCH_NONE);
            continue;
        }
        assert_int_equal(rc, LP_MATCH_OK);
        assert_memory_equal(res.offer.id, ref[want].id, 32);
        lp_match_offer_release(&res.offer);
        lp_match_offer_release(&ref[want]);
        open[want] = false;
    }
    size_t left = 0;
    for (int k = 0; k < REF_N; k++) {
        left += open[k];
        lp_match_offer_release(&ref[k]);
    }
    assert_int_equal(lp_matcher_size(m), left);
    lp_matcher_free(m);
}

/* ---- concurrency: no offer is booked twice ---------------------------------------------- */

#define N_OFFERS  2000
#define N_THREADS 4

struct booked {
    pthread_mutex_t lock;
    int count[N_OFFERS];
    int total;
};

static int record(void *ctx, const struct lp_match_offer *o, const struct lp_u256 *p)
{
    (void)p;
    struct booked *b = ctx;
    int idx = (o->id[30] << 8) | o->id[31];
    pthread_mutex_lock(&b->lock);
    b->count[idx]++;
    b->total++;
    pthread_mutex_unlock(&b->lock);
    return 0;
}

struct worker {
    struct lp_matcher *m;
    struct booked *b;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct lp_job_offer j;
    fix_job(&j, JC, 500, 0, 0, GIB, GIB, 1000, LP_PRICE_MARKET);
    struct lp_match_job mj = {.offer = &j, .module_ref = "x@y"};
    for (int i = 0; i < N_OFFERS; i++)
        lp_matcher_match(w->m, &mj, record, w->b, NULL, NULL, 0);
    return NULL;
}

static void test_no_double_booking(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    for (int i = 0; i < N_OFFERS; i++) {
        struct lp_resource_offer r;
        fix_res(&r, P1, 1000, 2 * GIB, 2 * GIB, NULL, 0, (uint64_t)(i % 97));
        uint8_t id[32] = {0};
        id[30] = (uint8_t)(i >> 8);
        id[31] = (uint8_t)i;
        assert_int_equal(lp_matcher_add(m, id, &r), 0);
    }
    static struct booked b;
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.lock, NULL);
    pthread_t t[N_THREADS];
    struct worker w = {m, &b};
    for (int i = 0; i < N_THREADS; i++)
        pthread_create(&t[i], NULL, work, &w);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(b.total, N_OFFERS);
    for (int i = 0; i < N_OFFERS; i++)
        assert_int_equal(b.count[i], 1);
    assert_int_equal(lp_matcher_size(m), 0);
    pthread_mutex_destroy(&b.lock);
    lp_matcher_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_constraint),
        cmocka_unit_test(test_fits_exactly),
        cmocka_unit_test(test_market_takes_cheapest_fixed_takes_oldest),
        cmocka_unit_test(test_target_and_exclude),
        cmocka_unit_test(test_provider_requirements),
        cmocka_unit_test(test_suspended_provider),
        cmocka_unit_test(test_book_given_offer),
        cmocka_unit_test(test_index_agrees_with_a_full_scan),
        cmocka_unit_test(test_module_allowlist),
        cmocka_unit_test(test_blocklist),
        cmocka_unit_test(test_failed_commit_puts_offer_back),
        cmocka_unit_test(test_no_double_booking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
