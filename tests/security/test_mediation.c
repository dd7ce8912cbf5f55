/* Attacks on mediation, each played through the solver's C API (the HTTP layer only maps
 * requests onto these calls):
 *   - a job creator who also posts a resource offer, with its own key, and challenges the
 *     provider's honest result: it is never booked as the mediator of its own challenge, even
 *     when the solver's configured set lists it; a real mediator of the set is booked and its
 *     verdict makes the honest result stand;
 *   - the same job creator naming itself as a mediator in its job offer: refused at post (400);
 *   - a challenge nobody may mediate (no set in the job offer, none configured, or only the
 *     deal's parties): refused (409) and the deal can still be accepted;
 *   - verdicts signed by anyone but the booked mediator (the job creator, the provider, a
 *     member of the set that was not booked): refused, and the deal keeps waiting for the
 *     booked mediator's verdict. */
#include "matching_fixtures.h"

#include "wire/mediation.h"
#include "wire/mediators.h"

/* The parties: a job creator (who also posts resource offers: the attacker), the provider whose
 * result it challenges, and two honest mediators. */
static struct lp_key creator, provider, med_a, med_b;

static int setup(void **state)
{
    (void)state;
    lp_key_generate(&creator);
    lp_key_generate(&provider);
    lp_key_generate(&med_a);
    lp_key_generate(&med_b);
    return 0;
}

static struct lp_solver *open_with(const struct lp_key *const *mediators, size_t n)
{
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true;
    cfg.rate_limit = 0;
    static uint8_t set[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    for (size_t i = 0; i < n; i++)
        memcpy(set[i], mediators[i]->address, LP_WIRE_ADDR_LEN);
    cfg.mediators = (const uint8_t(*)[LP_WIRE_ADDR_LEN])set;
    cfg.n_mediators = n;
    return mf_open(&cfg);
}

static uint64_t now_ms(void)
{
    return fix_now_ms();
}

static int post_signed(struct lp_solver *s, const struct lp_key *k, struct lp_wire_object *obj,
                       const uint8_t deal[32], uint8_t id[32], struct lp_solver_status *st)
{
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    if (lp_wire_sign(k, obj, &env, &len, id, &we) != 0)
        fail_msg("sign: %s", we.message);
    memset(st, 0, sizeof *st);
    int rc;
    if (obj->kind == LP_WIRE_RESULT)
        rc = lp_solver_post_result(s, k->address, deal, env, len, st);
    else if (obj->kind == LP_WIRE_MEDIATION_REQUEST)
        rc = lp_solver_challenge(s, k->address, deal, env, len, st);
    else
        rc = lp_solver_post_verdict(s, k->address, deal, env, len, st);
    free(env);
    return rc;
}

static int deal_state(struct lp_solver *s, const uint8_t deal[32], uint8_t mediator[20],
                      bool *has_mediator)
{
    json_t *v = NULL;
    struct lp_solver_status st = {0};
    if (lp_solver_view_deal(s, creator.address, deal, &v, &st) != 0)
        fail_msg("deal view: %s", st.error);
    int state = (int)json_integer_value(json_object_get(v, "state"));
    const char *m = json_string_value(json_object_get(v, "mediator"));
    if (has_mediator)
        *has_mediator = m != NULL;
    if (m && mediator)
        for (int i = 0; i < 20; i++) {
            unsigned byte = 0;
            sscanf(m + 2 + 2 * i, "%2x", &byte);
            mediator[i] = (uint8_t)byte;
        }
    json_decref(v);
    return state;
}

/* A job of `creator` (naming `named` mediators, sorted by the caller) matched with provider's
 * offer, and provider's honest result posted; returns the deal's ID through deal and the
 * result's through result. */
static void honest_result(struct lp_solver *s, const struct lp_key *const *named, size_t n_named,
                          uint8_t deal[32], uint8_t result[32])
{
    uint8_t offer[32], job[32];
    assert_int_equal(mf_post_offer(s, &provider, 10, offer), 200);
    struct lp_job_offer j;
    fix_job(&j, creator.address, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    for (size_t i = 0; i < n_named; i++)
        memcpy(j.mediators[i], named[i]->address, LP_WIRE_ADDR_LEN);
    j.n_mediators = n_named;
    lp_mediators_sort(j.mediators, n_named);
    assert_int_equal(mf_post_job_offer(s, &creator, &j, job), 200);
    int state = -1;
    assert_true(mf_job_deal(s, &creator, job, &state, deal));
    uint8_t p[20];
    mf_deal_provider(s, &creator, deal, p);
    assert_memory_equal(p, provider.address, 20);

    struct lp_solver_status st = {0};
    static const uint8_t outputs[] = "the honest outputs";
    struct lp_solver_blob blob = {.data = outputs, .len = sizeof outputs};
    if (lp_solver_put_outputs(s, provider.address, deal, &blob, &st) != 0)
        fail_msg("outputs: %s", st.error);
    struct lp_wire_object r = {.kind = LP_WIRE_RESULT};
    memcpy(r.u.result.deal_id, deal, 32);
    memcpy(r.u.result.resource_provider, provider.address, 20);
    r.u.result.cid = (char *)"bafkreihonest";
    r.u.result.error = (char *)"";
    r.u.result.created_at_ms = now_ms();
    if (post_signed(s, &provider, &r, deal, result, &st) != 0)
        fail_msg("result: %s", st.error);
}

/* The job creator challenges; returns the solver's status and the request's ID. */
static int challenge(struct lp_solver *s, const uint8_t deal[32], const uint8_t result[32],
                     uint8_t request[32], struct lp_solver_status *st)
{
    struct lp_wire_object m = {.kind = LP_WIRE_MEDIATION_REQUEST};
    memcpy(m.u.mediation_request.deal_id, deal, 32);
    memcpy(m.u.mediation_request.result_id, result, 32);
    memcpy(m.u.mediation_request.requester, creator.address, 20);
    m.u.mediation_request.reason = (char *)"I want my money back";
    m.u.mediation_request.created_at_ms = now_ms();
    lp_random_bytes(m.u.mediation_request.nonce, sizeof m.u.mediation_request.nonce);
    post_signed(s, &creator, &m, deal, request, st);
    return st->http;
}

/* A verdict on the deal signed by k; returns the solver's HTTP status. */
static int verdict(struct lp_solver *s, const struct lp_key *k, const uint8_t deal[32],
                   const uint8_t result[32], const uint8_t request[32], uint32_t what)
{
    struct lp_wire_object v = {.kind = LP_WIRE_MEDIATION_VERDICT};
    memcpy(v.u.mediation_verdict.request_id, request, 32);
    memcpy(v.u.mediation_verdict.deal_id, deal, 32);
    memcpy(v.u.mediation_verdict.result_id, result, 32);
    memcpy(v.u.mediation_verdict.mediator, k->address, 20);
    v.u.mediation_verdict.verdict = what;
    v.u.mediation_verdict.mediator_cid = (char *)"bafkreiwhatever";
    v.u.mediation_verdict.reason = (char *)"my ruling";
    v.u.mediation_verdict.created_at_ms = now_ms();
    struct lp_solver_status st;
    post_signed(s, k, &v, deal, NULL, &st);
    return st.http;
}

/* The attack: the job creator offers resources with its own key, cheaper than anyone, and is
 * even listed in the solver's set; it challenges the honest result. The solver books the real
 * mediator, refuses the creator's own "rejected" verdict, and the real mediator's verdict
 * makes the result stand. The provider, also listed and offering again, is never booked. */
static void test_creator_offering_resources_is_never_its_own_mediator(void **state)
{
    (void)state;
    const struct lp_key *set[] = {&creator, &provider, &med_a};
    struct lp_solver *s = open_with(set, 3);
    uint8_t deal[32], result[32], request[32], mediator[20];
    honest_result(s, NULL, 0, deal, result);
    assert_int_equal(mf_post_offer(s, &creator, 1, NULL), 200);  /* the cheapest offer */
    assert_int_equal(mf_post_offer(s, &provider, 2, NULL), 200); /* the next cheapest */
    assert_int_equal(mf_post_offer(s, &med_a, 50, NULL), 200);
    struct lp_solver_status st;
    assert_int_equal(challenge(s, deal, result, request, &st), 200);
    bool booked = false;
    assert_int_equal(deal_state(s, deal, mediator, &booked), LP_DEAL_RESULTS_CHECKED);
    assert_true(booked);
    assert_memory_not_equal(mediator, creator.address, 20);
    assert_memory_not_equal(mediator, provider.address, 20);
    assert_memory_equal(mediator, med_a.address, 20);
    /* the creator's own ruling is not a verdict */
    assert_int_equal(verdict(s, &creator, deal, result, request, LP_VERDICT_REJECTED), 403);
    assert_int_equal(deal_state(s, deal, NULL, NULL), LP_DEAL_RESULTS_CHECKED);
    /* the real mediator re-ran the job and the honest result stands */
    assert_int_equal(verdict(s, &med_a, deal, result, request, LP_VERDICT_ACCEPTED), 200);
    assert_int_equal(deal_state(s, deal, NULL, NULL), LP_DEAL_MEDIATION_ACCEPTED);
    mf_close(s);
}

/* The same attack through the job offer's own set: no solver set, the offer names the real
 * mediator, and the creator's cheaper offer is still never booked. */
static void test_named_set_excludes_other_offers(void **state)
{
    (void)state;
    struct lp_solver *s = open_with(NULL, 0);
    const struct lp_key *named[] = {&med_b};
    uint8_t deal[32], result[32], request[32], mediator[20];
    honest_result(s, named, 1, deal, result);
    assert_int_equal(mf_post_offer(s, &creator, 1, NULL), 200);
    assert_int_equal(mf_post_offer(s, &med_a, 2, NULL), 200); /* honest, but not in the set */
    struct lp_solver_status st;
    assert_int_equal(challenge(s, deal, result, request, &st), 200);
    bool booked = true;
    /* no member of the set has an offer yet: nobody is booked */
    assert_int_equal(deal_state(s, deal, mediator, &booked), LP_DEAL_RESULTS_CHECKED);
    assert_false(booked);
    /* the member offers: the timeout pass's next booking attempt takes it */
    assert_int_equal(mf_post_offer(s, &med_b, 50, NULL), 200);
    for (int i = 0; i < 600 && !booked; i++) { /* the pass runs every second; up to 60 s */
        usleep(100000);
        assert_int_equal(deal_state(s, deal, mediator, &booked), LP_DEAL_RESULTS_CHECKED);
    }
    assert_true(booked);
    assert_memory_equal(mediator, med_b.address, 20);
    assert_int_equal(verdict(s, &creator, deal, result, request, LP_VERDICT_REJECTED), 403);
    assert_int_equal(verdict(s, &med_b, deal, result, request, LP_VERDICT_ACCEPTED), 200);
    assert_int_equal(deal_state(s, deal, NULL, NULL), LP_DEAL_MEDIATION_ACCEPTED);
    mf_close(s);
}

/* A job offer naming its own creator as a mediator is refused when it is posted. */
static void test_creator_naming_itself_refused(void **state)
{
    (void)state;
    struct lp_solver *s = open_with(NULL, 0);
    struct lp_job_offer j;
    fix_job(&j, creator.address, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    memcpy(j.mediators[0], creator.address, 20);
    memcpy(j.mediators[1], med_a.address, 20);
    j.n_mediators = 2;
    lp_mediators_sort(j.mediators, 2);
    assert_int_equal(mf_post_job_offer(s, &creator, &j, NULL), 400);
    /* the same offer without itself is taken */
    memcpy(j.mediators[0], med_a.address, 20);
    j.n_mediators = 1;
    assert_int_equal(mf_post_job_offer(s, &creator, &j, NULL), 200);
    mf_close(s);
}

/* No set at all, or one of only the deal's parties: the challenge is refused with one line,
 * nobody is booked (the creator's own offer least of all) and the result can still be
 * accepted. */
static void test_challenge_without_mediators_refused(void **state)
{
    (void)state;
    struct lp_solver *s = open_with(NULL, 0);
    uint8_t deal[32], result[32], request[32];
    honest_result(s, NULL, 0, deal, result);
    assert_int_equal(mf_post_offer(s, &creator, 1, NULL), 200);
    assert_int_equal(mf_post_offer(s, &med_a, 2, NULL), 200);
    struct lp_solver_status st;
    assert_int_equal(challenge(s, deal, result, request, &st), 409);
    assert_non_null(strstr(st.error, "no mediators"));
    assert_non_null(strstr(st.hint, "solver.mediators"));
    bool booked = true;
    assert_int_equal(deal_state(s, deal, NULL, &booked), LP_DEAL_RESULTS_SUBMITTED);
    assert_false(booked);
    struct lp_solver_status ast = {0};
    assert_int_equal(lp_solver_deal_action(s, creator.address, deal, "accept", &ast), 0);
    mf_close(s);

    const struct lp_key *parties[] = {&creator, &provider};
    s = open_with(parties, 2);
    honest_result(s, NULL, 0, deal, result);
    assert_int_equal(mf_post_offer(s, &creator, 1, NULL), 200);
    assert_int_equal(challenge(s, deal, result, request, &st), 409);
    assert_non_null(strstr(st.error, "parties"));
    assert_int_equal(deal_state(s, deal, NULL, &booked), LP_DEAL_RESULTS_SUBMITTED);
    assert_false(booked);
    mf_close(s);
}

/* With two mediators in the set, only the booked one's verdict counts: the job creator's, the
 * provider's and the other member's are refused, in either direction. */
static void test_only_the_booked_mediator_rules(void **state)
{
    (void)state;
    const struct lp_key *set[] = {&med_a, &med_b};
    struct lp_solver *s = open_with(set, 2);
    uint8_t deal[32], result[32], request[32], mediator[20];
    honest_result(s, NULL, 0, deal, result);
    assert_int_equal(mf_post_offer(s, &creator, 1, NULL), 200);
    assert_int_equal(mf_post_offer(s, &med_a, 50, NULL), 200);
    assert_int_equal(mf_post_offer(s, &med_b, 50, NULL), 200);
    struct lp_solver_status st;
    assert_int_equal(challenge(s, deal, result, request, &st), 200);
    bool booked = false;
    deal_state(s, deal, mediator, &booked);
    assert_true(booked);
    bool a = memcmp(mediator, med_a.address, 20) == 0;
    assert_true(a || memcmp(mediator, med_b.address, 20) == 0);
    const struct lp_key *chosen = a ? &med_a : &med_b, *other = a ? &med_b : &med_a;
    const struct lp_key *impostors[] = {&creator, &provider, other};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(verdict(s, impostors[i], deal, result, request, LP_VERDICT_REJECTED), 403);
        assert_int_equal(verdict(s, impostors[i], deal, result, request, LP_VERDICT_ACCEPTED), 403);
        assert_int_equal(deal_state(s, deal, NULL, NULL), LP_DEAL_RESULTS_CHECKED);
    }
    assert_int_equal(verdict(s, chosen, deal, result, request, LP_VERDICT_ACCEPTED), 200);
    assert_int_equal(deal_state(s, deal, NULL, NULL), LP_DEAL_MEDIATION_ACCEPTED);
    /* and once ruled, nobody rules again */
    assert_int_equal(verdict(s, chosen, deal, result, request, LP_VERDICT_REJECTED), 409);
    mf_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creator_offering_resources_is_never_its_own_mediator),
        cmocka_unit_test(test_named_set_excludes_other_offers),
        cmocka_unit_test(test_creator_naming_itself_refused),
        cmocka_unit_test(test_challenge_without_mediators_refused),
        cmocka_unit_test(test_only_the_booked_mediator_rules),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
