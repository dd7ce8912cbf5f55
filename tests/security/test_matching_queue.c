/* Attacks on the solver's queue of job offers waiting for a provider:
 *  - fresh keys fill the network-wide queue so that every other job offer is refused (503);
 *  - a flood queued first makes a later creator's job wait behind all of it;
 *  - a pile of jobs no provider can take makes every new resource offer pay one match attempt
 *    per waiting job, under the lock every post takes;
 *  - a stale offer in the index (cancelled while it was being posted) fails every booking.
 * Each test posts the attack through the solver's C API and checks what must happen instead. */
#include "matching_fixtures.h"

#define FLOOD_KEYS 16

/* Sixteen fresh keys each post job offers until the solver stops them; the queue is full.
 * A creator with no job waiting must still get its one job offer in, and the addresses with
 * the most waiting jobs are the ones that give way. */
static void test_flood_of_fresh_keys_cannot_shut_out_a_creator(void **state)
{
    (void)state;
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.rate_limit = 0;
    cfg.max_pending_jobs = 64;
    cfg.max_open_job_offers = 8;
    struct lp_solver *s = mf_open(&cfg);
    struct lp_key flood[FLOOD_KEYS];
    int accepted = 0;
    for (int k = 0; k < FLOOD_KEYS; k++) {
        lp_key_generate(&flood[k]);
        /* Jobs no provider takes (there is none): they wait until the match timeout. */
        for (int i = 0; i < 8; i++)
            accepted += mf_post_job(s, &flood[k], 1000, GIB, 100, NULL) == 200;
    }
    struct lp_solver_metrics m;
    lp_solver_get_metrics(s, &m);
    assert_int_equal(m.pending_jobs, 64); /* full */
    assert_true(accepted >= 64);

    struct lp_key honest;
    lp_key_generate(&honest);
    uint8_t job[32];
    assert_int_equal(mf_post_job(s, &honest, 1000, GIB, 100, job), 200);
    int st = -1;
    mf_job_deal(s, &honest, job, &st, NULL);
    assert_int_equal(st, LP_DEAL_NEGOTIATING);
    lp_solver_get_metrics(s, &m);
    assert_int_equal(m.pending_jobs, 64); /* a flooder's newest job made room */

    /* A second job of the same creator still gets in while others have more. */
    assert_int_equal(mf_post_job(s, &honest, 1000, GIB, 100, NULL), 200);
    mf_close(s);
}

/* When the queue is full of single jobs from distinct addresses, nobody is evicted: a job
 * offer from yet another address is refused (503), and every waiting job is still waiting. */
static void test_no_address_with_one_job_is_evicted(void **state)
{
    (void)state;
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.rate_limit = 0;
    cfg.max_pending_jobs = 32;
    struct lp_solver *s = mf_open(&cfg);
    struct lp_key keys[32];
    uint8_t jobs[32][32];
    for (int k = 0; k < 32; k++) {
        lp_key_generate(&keys[k]);
        assert_int_equal(mf_post_job(s, &keys[k], 1000, GIB, 100, jobs[k]), 200);
    }
    struct lp_key late;
    lp_key_generate(&late);
    assert_int_equal(mf_post_job(s, &late, 1000, GIB, 100, NULL), 503);
    for (int k = 0; k < 32; k++) {
        int st = -1;
        mf_job_deal(s, &keys[k], jobs[k], &st, NULL);
        assert_int_equal(st, LP_DEAL_NEGOTIATING);
    }
    mf_close(s);
}

/* Sixteen keys queue 20 jobs each before a creator posts one. Providers then come one offer
 * at a time: the creator's job must be served within one round over the addresses (17
 * offers), not after the whole flood (321). */
static void test_flood_queued_first_does_not_delay_a_later_creator(void **state)
{
    (void)state;
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.rate_limit = 0;
    cfg.max_open_resource_offers = 1000;
    struct lp_solver *s = mf_open(&cfg);
    struct lp_key flood[FLOOD_KEYS], honest, provider;
    for (int k = 0; k < FLOOD_KEYS; k++) {
        lp_key_generate(&flood[k]);
        for (int i = 0; i < 20; i++)
            assert_int_equal(mf_post_job(s, &flood[k], 1000, GIB, 100, NULL), 200);
    }
    lp_key_generate(&honest);
    lp_key_generate(&provider);
    uint8_t job[32];
    assert_int_equal(mf_post_job(s, &honest, 1000, GIB, 100, job), 200);
    int served_at = 0;
    for (int offer = 1; offer <= FLOOD_KEYS + 1 && !served_at; offer++) {
        assert_int_equal(mf_post_offer(s, &provider, 10, NULL), 200);
        if (mf_job_deal(s, &honest, job, NULL, NULL))
            served_at = offer;
    }
    if (!served_at)
        fail_msg("the creator's job was not matched by the first %d resource offers",
                 FLOOD_KEYS + 1);
    mf_close(s);
}

/* 1,000 job offers no provider can take (each needs 64 GiB of RAM) wait in the queue. Each new
 * resource offer must find that none of them fits with a lookup, not by trying to match every
 * waiting job (the solver's match-attempt counter may move by one at most). */
static void test_unmatchable_jobs_do_not_tax_every_resource_offer(void **state)
{
    (void)state;
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.rate_limit = 0;
    cfg.max_pending_jobs = 2000;
    cfg.max_open_resource_offers = 1000;
    struct lp_solver *s = mf_open(&cfg);
    struct lp_key keys[10], provider;
    for (int k = 0; k < 10; k++) {
        lp_key_generate(&keys[k]);
        for (int i = 0; i < 100; i++)
            assert_int_equal(mf_post_job(s, &keys[k], 1000, 64 * GIB, 100, NULL), 200);
    }
    lp_key_generate(&provider);
    struct lp_solver_metrics before, after;
    lp_solver_get_metrics(s, &before);
    assert_int_equal(before.pending_jobs, 1000);
    for (int i = 0; i < 20; i++)
        assert_int_equal(mf_post_offer(s, &provider, 10, NULL), 200); /* 32 GiB each */
    lp_solver_get_metrics(s, &after);
    assert_int_equal(after.pending_jobs, 1000);
    assert_int_equal(after.open_resource_offers, 20);
    if (after.matches - before.matches > 20)
        fail_msg("20 resource offers cost %llu match attempts against 1,000 waiting jobs",
                 (unsigned long long)(after.matches - before.matches));
    mf_close(s);
}

/* A cheap offer that is no longer open in the store but still in the index (a cancel racing
 * its post) makes every booking of it fail: jobs must not keep failing on it while a real
 * offer is open. Made here by cancelling it in the store behind the solver's back. */
static void test_stale_offer_does_not_block_matching(void **state)
{
    (void)state;
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.rate_limit = 0;
    struct lp_solver *s = mf_open(&cfg);
    struct lp_key stale, real, creator;
    lp_key_generate(&stale);
    lp_key_generate(&real);
    lp_key_generate(&creator);
    uint8_t stale_id[32];
    assert_int_equal(mf_post_offer(s, &stale, 0, stale_id), 200);
    assert_int_equal(mf_post_offer(s, &real, 10, NULL), 200);
    struct lp_store *store = lp_solver_store(s);
    struct lp_store_error e;
    assert_int_equal(store->ops->offer_set_state(store, LP_WIRE_RESOURCE_OFFER, stale_id,
                                                 LP_DEAL_NEGOTIATING, LP_DEAL_JOB_OFFER_CANCELLED,
                                                 NULL, 0, fix_now_ms(), &e),
                     LP_STORE_OK);
    for (int i = 0; i < 3; i++) {
        uint8_t job[32], deal[32], who[20];
        assert_int_equal(mf_post_job(s, &creator, 1000, GIB, 100, job), 200);
        if (i == 0) {
            assert_true(mf_job_deal(s, &creator, job, NULL, deal));
            mf_deal_provider(s, &creator, deal, who);
            assert_memory_equal(who, real.address, 20);
            assert_int_equal(mf_post_offer(s, &real, 10, NULL), 200);
        }
    }
    struct lp_solver_metrics m;
    lp_solver_get_metrics(s, &m);
    assert_int_equal(m.deals, 2); /* the real offers, one each */
    mf_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood_of_fresh_keys_cannot_shut_out_a_creator),
        cmocka_unit_test(test_no_address_with_one_job_is_evicted),
        cmocka_unit_test(test_flood_queued_first_does_not_delay_a_later_creator),
        cmocka_unit_test(test_unmatchable_jobs_do_not_tax_every_resource_offer),
        cmocka_unit_test(test_stale_offer_does_not_block_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
