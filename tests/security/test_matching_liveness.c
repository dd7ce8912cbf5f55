/* Attacks with resource offers whose provider is not there to run the jobs:
 *  - a price-0 offer from a fresh key wins every job (the cheapest offer wins) and then never
 *    runs it: the deal must be matched again, with another provider, once the start deadline
 *    passes, and the key's reliability must show it;
 *  - the same offer from a key that then goes quiet: offers of a provider that stopped proving
 *    it is there (its event long-poll) must stop winning jobs, and come back when it returns;
 *  - a job creator that wants a proven provider: a job offer's minimum reliability and
 *    minimum results collateral keep such offers away from its job.
 * Times are short here (a 1 s start deadline, a 2 s liveness window, a 50 ms tick); waits poll
 * with bounds of tens of seconds so slow sanitizer builds pass too. */
#include <pthread.h>

#include "matching_fixtures.h"

static struct lp_solver *open_fast(uint64_t start_timeout_ms, uint64_t liveness_ms)
{
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.rate_limit = 0;
    cfg.tick_ms = 50;
    cfg.match_timeout_ms = 120000;
    cfg.start_timeout_ms = start_timeout_ms;
    cfg.offer_liveness_ms = liveness_ms;
    return mf_open(&cfg);
}

/* Waits (up to 30 s) until the job's deal is with want; false if it never is. */
static bool wait_provider(struct lp_solver *s, const struct lp_key *creator, const uint8_t job[32],
                          const uint8_t want[20])
{
    for (int i = 0; i < 600; i++) {
        uint8_t deal[32], who[20];
        if (mf_job_deal(s, creator, job, NULL, deal)) {
            mf_deal_provider(s, creator, deal, who);
            if (memcmp(who, want, 20) == 0)
                return true;
        }
        usleep(50000);
    }
    return false;
}

/* A provider that keeps its event long-poll open and agrees to its deals, as the real one
 * does. */
struct poller {
    struct lp_solver *s;
    const struct lp_key *k;
    pthread_t th;
    volatile int stop;
};

static void agree_to_new_deals(struct lp_solver *s, const struct lp_key *k)
{
    json_t *v = NULL;
    struct lp_solver_status st = {0};
    if (lp_solver_view_deals(s, k->address, true, &v, &st) != 0)
        return;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(v, "deals"), i, d)
    {
        const char *id = json_string_value(json_object_get(d, "id"));
        json_t *h = json_object_get(d, "history");
        if (!id || json_integer_value(json_object_get(d, "state")) != LP_DEAL_AGREED ||
            json_array_size(h) > 1)
            continue; /* agreed already (a second history line) */
        uint8_t deal[32];
        for (int b = 0; b < 32; b++) {
            unsigned byte = 0;
            sscanf(id + 2 + 2 * b, "%2x", &byte);
            deal[b] = (uint8_t)byte;
        }
        lp_solver_deal_action(s, k->address, deal, "agree", &st);
    }
    json_decref(v);
}

static void *poll_main(void *arg)
{
    struct poller *p = arg;
    while (!__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
        json_t *out = NULL;
        struct lp_solver_status st = {0};
        if (lp_solver_events(p->s, p->k->address, 0, 200, &out, &st) == 0)
            json_decref(out);
        agree_to_new_deals(p->s, p->k);
        usleep(20000);
    }
    return NULL;
}

static void poller_start(struct poller *p, struct lp_solver *s, const struct lp_key *k)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->k = k;
    assert_int_equal(pthread_create(&p->th, NULL, poll_main, p), 0);
}

static void poller_stop(struct poller *p)
{
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
    pthread_join(p->th, NULL);
}

static json_t *provider_view(struct lp_solver *s, const uint8_t addr[20])
{
    json_t *v = lp_solver_providers_view(s);
    char want[43];
    lp_address_to_checksum(addr, want);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "providers"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "provider")), want) == 0) {
            json_incref(p);
            json_decref(v);
            return p;
        }
    }
    json_decref(v);
    return NULL;
}

/* The price-0 key wins the job, never agrees, and loses it to the honest provider. */
static void test_offer_that_never_starts_loses_the_job(void **state)
{
    (void)state;
    struct lp_solver *s = open_fast(1000, 0);
    struct lp_key cheat, honest, creator;
    lp_key_generate(&cheat);
    lp_key_generate(&honest);
    lp_key_generate(&creator);
    struct poller hp;
    poller_start(&hp, s, &honest);
    assert_int_equal(mf_post_offer(s, &cheat, 0, NULL), 200);
    assert_int_equal(mf_post_offer(s, &honest, 10, NULL), 200);
    uint8_t job[32], deal[32], who[20];
    assert_int_equal(mf_post_job(s, &creator, 1000, GIB, 100, job), 200);
    assert_true(mf_job_deal(s, &creator, job, NULL, deal));
    mf_deal_provider(s, &creator, deal, who);
    assert_memory_equal(who, cheat.address, 20); /* the cheapest offer won */
    /* The cheat does nothing; the job must end up with the honest provider. */
    if (!wait_provider(s, &creator, job, honest.address))
        fail_msg("the job stayed with the provider that never started it");
    /* The first deal ended, and says why. */
    json_t *v = NULL;
    struct lp_solver_status st = {0};
    assert_int_equal(lp_solver_view_deal(s, creator.address, deal, &v, &st), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "state")),
                     LP_DEAL_TIMEOUT_SUBMIT_RESULTS);
    json_decref(v);
    /* The honest provider agrees in time: that deal stays. */
    uint8_t deal2[32];
    assert_true(mf_job_deal(s, &creator, job, NULL, deal2));
    usleep(1500 * 1000);
    uint8_t again[32];
    assert_true(mf_job_deal(s, &creator, job, NULL, again));
    assert_memory_equal(again, deal2, 32);

    /* Reliability: the cheat did not start one job, the honest provider started one. */
    json_t *c = provider_view(s, cheat.address), *h = provider_view(s, honest.address);
    assert_non_null(c);
    assert_non_null(h);
    assert_int_equal(json_integer_value(json_object_get(c, "not_started")), 1);
    assert_int_equal(json_integer_value(json_object_get(h, "started")), 1);
    assert_true(json_integer_value(json_object_get(c, "reliability")) < 500);
    assert_true(json_integer_value(json_object_get(h, "reliability")) > 500);
    json_decref(c);
    json_decref(h);
    char *metrics = lp_solver_providers_metrics(s);
    assert_non_null(strstr(metrics, "lilypad_solver_deals_unmatched_total 1"));
    free(metrics);

    /* The cheat posts again: the same job never goes back to it (it is not waiting any more),
     * and a job that asks for a proven provider skips it. */
    assert_int_equal(mf_post_offer(s, &cheat, 0, NULL), 200);
    struct lp_job_offer j;
    fix_job(&j, creator.address, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    j.min_reliability = 400;
    uint8_t job2[32];
    assert_int_equal(mf_post_job_offer(s, &creator, &j, job2), 200);
    assert_false(mf_job_deal(s, &creator, job2, NULL, NULL)); /* only the cheat is open */
    assert_int_equal(mf_post_offer(s, &honest, 10, NULL), 200);
    assert_true(wait_provider(s, &creator, job2, honest.address));
    poller_stop(&hp);
    mf_close(s);
}

/* A job matched to a provider that does not start it is never matched to that provider
 * again, even when its offer is the only one. */
static void test_job_is_not_matched_back_to_who_let_it_down(void **state)
{
    (void)state;
    struct lp_solver *s = open_fast(1000, 0);
    struct lp_key cheat, creator;
    lp_key_generate(&cheat);
    lp_key_generate(&creator);
    assert_int_equal(mf_post_offer(s, &cheat, 0, NULL), 200);
    uint8_t job[32], deal[32];
    assert_int_equal(mf_post_job(s, &creator, 1000, GIB, 100, job), 200);
    assert_true(mf_job_deal(s, &creator, job, NULL, deal));
    assert_int_equal(mf_post_offer(s, &cheat, 0, NULL), 200); /* a second offer waits */
    int st = -1;
    for (int i = 0; i < 600 && st != LP_DEAL_NEGOTIATING; i++) {
        mf_job_deal(s, &creator, job, &st, NULL);
        usleep(50000);
    }
    assert_int_equal(st, LP_DEAL_NEGOTIATING); /* back in the queue ... */
    usleep(500 * 1000);
    assert_false(mf_job_deal(s, &creator, job, NULL, NULL)); /* ... and not on the cheat's */
    mf_close(s);
}

/* The cheat's offer lapses once it stops polling; the honest provider, polling, gets the job;
 * when the cheat polls again its offer is back. */
static void test_offers_of_a_quiet_provider_lapse(void **state)
{
    (void)state;
    struct lp_solver *s = open_fast(0, 2000);
    struct lp_key cheat, honest, creator;
    lp_key_generate(&cheat);
    lp_key_generate(&honest);
    lp_key_generate(&creator);
    struct poller hp;
    poller_start(&hp, s, &honest);
    assert_int_equal(mf_post_offer(s, &cheat, 0, NULL), 200);
    assert_int_equal(mf_post_offer(s, &honest, 10, NULL), 200);
    /* Past the cheat's liveness (2 s after its offer), while the honest provider polls. */
    struct lp_solver_metrics m;
    for (int i = 0; i < 600; i++) {
        lp_solver_get_metrics(s, &m);
        if (m.open_resource_offers == 1)
            break;
        usleep(50000);
    }
    assert_int_equal(m.open_resource_offers, 1);
    uint8_t job[32];
    assert_int_equal(mf_post_job(s, &creator, 1000, GIB, 100, job), 200);
    assert_true(wait_provider(s, &creator, job, honest.address));
    json_t *c = provider_view(s, cheat.address);
    assert_non_null(c);
    assert_false(json_is_true(json_object_get(c, "live")));
    json_decref(c);

    /* The cheat polls once: its offer is matchable again, and a new job takes it (cheapest). */
    json_t *out = NULL;
    struct lp_solver_status st = {0};
    assert_int_equal(lp_solver_events(s, cheat.address, 0, 0, &out, &st), 0);
    json_decref(out);
    uint8_t job2[32];
    assert_int_equal(mf_post_job(s, &creator, 1000, GIB, 100, job2), 200);
    assert_true(wait_provider(s, &creator, job2, cheat.address));
    poller_stop(&hp);
    mf_close(s);
}

/* A creator that asks for results collateral is not matched to offers that put up less. */
static void test_min_results_collateral_keeps_bare_offers_away(void **state)
{
    (void)state;
    struct lp_solver *s = open_fast(0, 0);
    struct lp_key cheat, honest, creator;
    lp_key_generate(&cheat);
    lp_key_generate(&honest);
    lp_key_generate(&creator);
    struct lp_resource_offer r;
    fix_res(&r, cheat.address, 8000, 32 * GIB, 100 * GIB, NULL, 0, 0);
    lp_wei_from_u64(&r.results_collateral, 0);
    assert_int_equal(mf_post_resource_offer(s, &cheat, &r, NULL), 200);
    fix_res(&r, honest.address, 8000, 32 * GIB, 100 * GIB, NULL, 0, 10);
    lp_wei_from_u64(&r.results_collateral, 50);
    assert_int_equal(mf_post_resource_offer(s, &honest, &r, NULL), 200);
    struct lp_job_offer j;
    fix_job(&j, creator.address, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    lp_wei_from_u64(&j.min_results_collateral, 20);
    uint8_t job[32];
    assert_int_equal(mf_post_job_offer(s, &creator, &j, job), 200);
    assert_true(wait_provider(s, &creator, job, honest.address));
    mf_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_that_never_starts_loses_the_job),
        cmocka_unit_test(test_job_is_not_matched_back_to_who_let_it_down),
        cmocka_unit_test(test_offers_of_a_quiet_provider_lapse),
        cmocka_unit_test(test_min_results_collateral_keeps_bare_offers_away),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
