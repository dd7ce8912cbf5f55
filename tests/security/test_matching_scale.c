/* Attacks on the cost of matching one job offer, counted in offers examined one by one
 * (lp_matcher_examined), not in time, so the result is the same on any machine and under
 * sanitizers:
 *  - cheap junk: 20,000 price-0 offers too small for any real job sit in front of the one
 *    offer that fits; every job would walk all of them in price order;
 *  - a large open market (100,000 offers of a mixed fleet): fixed-price jobs take the oldest
 *    fitting offer, which a price-ordered walk only finds by examining every offer it can
 *    afford.
 * Both must stay a handful of offers per job, with the same choice a full scan would make. */
#include "matching_fixtures.h"
#include "solver/matcher.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void id_of(uint32_t i, uint8_t id[32])
{
    memset(id, 0, 32);
    memcpy(id, &i, sizeof i);
}

static void test_cheap_junk_offers_do_not_slow_matching(void **state)
{
    (void)state;
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    uint8_t prov[20] = {0x51};
    for (uint32_t i = 0; i < 20000; i++) {
        struct lp_resource_offer r;
        prov[1] = (uint8_t)(i >> 8);
        prov[2] = (uint8_t)i;
        fix_res(&r, prov, 100, 64u << 20, GIB, NULL, 0, 0); /* 0.1 core, 64 MiB: fits nothing */
        uint8_t id[32];
        id_of(i, id);
        assert_int_equal(lp_matcher_add(m, id, &r), 0);
    }
    uint8_t real_prov[20] = {0x77}, real_id[32];
    struct lp_resource_offer r;
    fix_res(&r, real_prov, 16000, 64 * GIB, 500 * GIB, NULL, 0, 5);
    id_of(99999999, real_id);
    assert_int_equal(lp_matcher_add(m, real_id, &r), 0);
    uint8_t creator[20] = {0xcc};
    uint64_t before = lp_matcher_examined(m);
    for (int i = 0; i < 100; i++) {
        struct lp_job_offer j;
        fix_job(&j, creator, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
        struct lp_match_job mj = {.offer = &j, .module_ref = "x@y"};
        struct lp_match_result res;
        assert_int_equal(lp_matcher_match(m, &mj, NULL, NULL, &res, NULL, 0), LP_MATCH_OK);
        assert_memory_equal(res.offer.id, real_id, 32);
        lp_match_offer_release(&res.offer);
        assert_int_equal(lp_matcher_add(m, real_id, &r), 0); /* back for the next job */
    }
    uint64_t per_job = (lp_matcher_examined(m) - before) / 100;
    printf("junk in front: %llu offers examined per job\n", (unsigned long long)per_job);
    if (per_job > 64)
        fail_msg("each job examined %llu offers one by one (20,000 junk offers in front)",
                 (unsigned long long)per_job);
    lp_matcher_free(m);
}

static const uint64_t vram_choices[] = {8 * GIB, 16 * GIB, 24 * GIB, 40 * GIB, 80 * GIB};

static void random_offer(struct lp_resource_offer *r, struct lp_gpu *gpus, uint32_t i)
{
    uint8_t prov[20] = {0};
    prov[0] = (uint8_t)(i >> 16);
    prov[1] = (uint8_t)(i >> 8);
    prov[2] = (uint8_t)i;
    size_t g = rnd(4) == 0 ? 0 : 1 + rnd(8);
    uint64_t v = vram_choices[rnd(5)];
    for (size_t k = 0; k < g; k++) {
        gpus[k].vendor = (char *)"nvidia";
        gpus[k].model = (char *)"test";
        gpus[k].vram_bytes = v;
    }
    fix_res(r, prov, (2 + rnd(63)) * 1000, (4 + rnd(509)) * GIB, (50 + rnd(2000)) * GIB, gpus, g,
            1 + rnd(1000));
    r->created_at_ms = 1700000000000ull + i;
}

/* The oldest offer that fits, by examining every one: what the matcher must agree with. */
static const struct lp_match_offer *oldest_fit(struct lp_match_offer *all, size_t n,
                                               const struct lp_match_job *mj)
{
    const struct lp_match_offer *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (all[i].cpu_millicores && lp_matcher_fits(&all[i], 0, mj, NULL, 0) &&
            (!best || all[i].created_at_ms < best->created_at_ms))
            best = &all[i];
    return best;
}

static void test_fixed_price_jobs_in_a_large_market(void **state)
{
    (void)state;
    enum { N = 100000, JOBS = 300 };
    struct lp_matcher *m = lp_matcher_new(NULL, NULL);
    struct lp_match_offer *all = calloc(N, sizeof *all);
    assert_non_null(all);
    struct lp_gpu gpus[8];
    for (uint32_t i = 0; i < N; i++) {
        struct lp_resource_offer r;
        random_offer(&r, gpus, i);
        uint8_t id[32];
        id_of(i, id);
        assert_int_equal(lp_matcher_add(m, id, &r), 0);
        assert_int_equal(lp_match_offer_from(id, &r, &all[i]), 0);
    }
    uint8_t creator[20] = {0xcc};
    uint64_t before = lp_matcher_examined(m);
    int matched = 0;
    for (int i = 0; i < JOBS; i++) {
        struct lp_job_offer j;
        uint32_t g = rnd(3) == 0 ? 0 : (uint32_t)(1 + rnd(4));
        fix_job(&j, creator, (1 + rnd(16)) * 1000, g, g ? vram_choices[rnd(4)] : 0,
                (1 + rnd(64)) * GIB, (1 + rnd(100)) * GIB, 200 + rnd(1000), LP_PRICE_FIXED);
        struct lp_match_job mj = {.offer = &j, .module_ref = "x@y"};
        const struct lp_match_offer *want = oldest_fit(all, N, &mj);
        struct lp_match_result res;
        int rc = lp_matcher_match(m, &mj, NULL, NULL, &res, NULL, 0);
        if (!want) {
            assert_int_equal(rc, LP_MATCH_NONE);
            continue;
        }
        assert_int_equal(rc, LP_MATCH_OK);
        assert_memory_equal(res.offer.id, want->id, 32); /* the rule holds: oldest fitting */
        uint32_t idx;
        memcpy(&idx, res.offer.id, sizeof idx);
        lp_match_offer_release(&all[idx]); /* booked: gone from the reference too */
        lp_match_offer_release(&res.offer);
        matched++;
    }
    assert_true(matched > JOBS / 2);
    uint64_t per_job = (lp_matcher_examined(m) - before) / JOBS;
    printf("fixed price, %d offers: %llu offers examined per job\n", N,
           (unsigned long long)per_job);
    if (per_job > 200)
        fail_msg("each fixed-price job examined %llu of %d offers one by one",
                 (unsigned long long)per_job, N);
    for (uint32_t i = 0; i < N; i++)
        lp_match_offer_release(&all[i]);
    free(all);
    lp_matcher_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cheap_junk_offers_do_not_slow_matching),
        cmocka_unit_test(test_fixed_price_jobs_in_a_large_market),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
