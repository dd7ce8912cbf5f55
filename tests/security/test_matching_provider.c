/* The liveness the solver asks of providers is what the real provider already does: its main
 * loop's signed event long-poll. A real provider (core/provider, the embedded plugins, its own
 * thread) and a key that posted one offer and went quiet run against a solver whose offers
 * lapse after 1.5 s without liveness: after several windows the quiet key's offer is held back
 * while the provider's stays matchable, and the providers view says which is live. The
 * attack it guards: offers of a provider that is gone keep winning jobs nobody will run.
 * Needs /usr/bin/bwrap (the process executor the provider opens). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* solver_fixtures first: its parameters would shadow provider_fixtures' globals */
#include "../unit/solver_fixtures.h"

#include "../unit/provider_fixtures.h"
#include "../unit/skip_reason.h"

static int post_quiet_offer(const struct lp_key *k)
{
    struct lp_wire_object obj = {.kind = LP_WIRE_RESOURCE_OFFER};
    fix_res(&obj.u.resource_offer, k->address, 8000, 32 * GIB, 100 * GIB, NULL, 0, 0);
    uint8_t *env = NULL, id[32];
    size_t len = 0;
    struct lp_wire_error we;
    assert_int_equal(lp_wire_sign(k, &obj, &env, &len, NULL, &we), 0);
    struct lp_solver_status st = {0};
    lp_solver_post_resource_offer(solver, k->address, env, len, id, &st);
    free(env);
    return st.http;
}

/* The providers view's "live" for addr: 1, 0, or -1 when it is not listed. */
static int live_in_view(const uint8_t addr[20])
{
    json_t *v = lp_solver_providers_view(solver);
    char want[43];
    lp_address_to_checksum(addr, want);
    int live = -1;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "providers"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "provider")), want) == 0)
            live = json_is_true(json_object_get(p, "live"));
    }
    json_decref(v);
    return live;
}

static void test_provider_long_poll_keeps_its_offers_live(void **state)
{
    (void)state;
    if (access("/usr/bin/bwrap", X_OK) != 0)
        lp_skip_because("/usr/bin/bwrap is missing (scripts/install-deps.sh installs it)");
    snprintf(tmp, sizeof tmp, "/tmp/lp-sec-liveness-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    struct lp_solver_config sc;
    lp_solver_config_defaults(&sc);
    sc.create_db = true; /* a new database in the test's own folder */
    static char db[128], files[128];
    snprintf(db, sizeof db, "%s/solver.db", tmp);
    snprintf(files, sizeof files, "%s/solver-files", tmp);
    sc.db_path = db;
    sc.files_dir = files;
    sc.tick_ms = 100;
    sc.rate_limit = 0;
    sc.offer_liveness_ms = 1500;
    struct lp_key skey, quiet;
    lp_key_generate(&skey);
    lp_key_generate(&quiet);
    char err[512];
    if (lp_solver_open(&sc, &skey, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0)
        fail_msg("solver: %s", err);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lp_solver_http_port(http));

    char cfg[256];
    make_config(cfg, sizeof cfg, NULL); /* poll_wait = "1s", as a real configuration may */
    struct prov_thread t;
    start_provider(&t, cfg, false);
    wait_offer(&t);
    assert_int_equal(post_quiet_offer(&quiet), 200);

    /* Four liveness windows: the quiet key's offer lapses, the provider's never does. */
    struct lp_solver_metrics m;
    int lapsed_at = -1;
    for (int i = 0; i < 60; i++) {
        usleep(100 * 1000);
        lp_solver_get_metrics(solver, &m);
        if (m.open_resource_offers == 1 && lapsed_at < 0)
            lapsed_at = i;
    }
    if (lapsed_at < 0)
        fail_msg("the quiet key's offer was still matchable 6 s after it went quiet");
    lp_solver_get_metrics(solver, &m);
    assert_int_equal(m.open_resource_offers, 1); /* the provider's: it long-polls */
    assert_int_equal(live_in_view(lp_provider_address(t.p)), 1);
    assert_int_equal(live_in_view(quiet.address), 0);

    lp_provider_stop(t.p);
    join_provider(&t);
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    lp_fs_remove_tree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_long_poll_keeps_its_offers_live),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
