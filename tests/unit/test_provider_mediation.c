/* Mediation end to end in one process: an in-process solver, provider A runs a job, the job
 * creator challenges the result, provider B is booked as mediator, re-runs the job under the real
 * embedded plugins, posts a signed verdict (accepted when its outputs' CID equals A's) and records
 * it through its verifier/ledger. Needs /usr/bin/bwrap and busybox-static. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cid/cid.h"
#include "cid/importer.h"
#include "client/client.h"
#include "config/config.h"
#include "crypto/keccak.h"
#include "crypto/keyfile.h"
#include "crypto/random.h"
#include "image/fs_tree.h"
#include "image/store.h"
#include "provider/journal.h"
#include "provider/policy.h"
#include "provider/provider.h"
#include "provider/settings.h"
#include "util/tarball.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "util/hex.h"
#include "wire/mediation.h"
#include "wire/object.h"
#include "dispatch/verifier.h"
#include "loader/backend.h"
#include <lilypad/verifier.h>

#include "provider_fixtures.h"

static int group_setup(void **state)
{
    (void)state;
    return provider_fixture_setup("test_provider_mediation", "/tmp/lp-test-med-XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    return provider_fixture_teardown();
}

/* The deal's state at the solver, waiting up to 20 s for one in `want` (a bit mask). */
static int wait_state(const uint8_t deal_id[32], unsigned want)
{
    int st = -1;
    for (int i = 0; i < 1000; i++) {
        json_t *v = NULL;
        struct lp_client_error e;
        assert_int_equal(lp_client_get_deal(creator, deal_id, &v, &e), 0);
        st = (int)json_integer_value(json_object_get(v, "state"));
        json_decref(v);
        if (want & (1u << st))
            return st;
        usleep(20000);
    }
    return st;
}

static void challenge(const uint8_t deal_id[32])
{
    json_t *v = NULL;
    struct lp_client_error e;
    assert_int_equal(lp_client_get_deal(creator, deal_id, &v, &e), 0);
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_MEDIATION_REQUEST;
    struct lp_mediation_request *m = &obj.u.mediation_request;
    memcpy(m->deal_id, deal_id, 32);
    assert_int_equal(lp_client_json_id(v, "result_id", m->result_id), 0);
    json_decref(v);
    memcpy(m->requester, creator_key.address, 20);
    m->reason = (char *)"I do not believe this output";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->created_at_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    lp_random_bytes(m->nonce, sizeof m->nonce);
    if (lp_client_post_object(creator, &obj, NULL, NULL, NULL, &e) != 0)
        fail_msg("challenge: %s", e.message);
}

/* The verdict envelope of a deal, opened. */
static void verdict_of(const uint8_t deal_id[32], struct lp_wire_object *out, uint8_t mediator[20])
{
    json_t *v = NULL;
    struct lp_client_error e;
    assert_int_equal(lp_client_get_deal(creator, deal_id, &v, &e), 0);
    const char *hex = json_string_value(json_object_get(v, "verdict"));
    assert_non_null(hex);
    assert_int_equal(lp_address_parse(json_string_value(json_object_get(v, "mediator")), mediator),
                     0);
    uint8_t buf[8192];
    size_t len;
    assert_int_equal(lp_hex_decode_var(hex, buf, sizeof buf, &len), 0);
    struct lp_wire_error we;
    assert_int_equal(lp_wire_open(buf, len, out, NULL, &we), 0);
    assert_int_equal(out->kind, LP_WIRE_MEDIATION_VERDICT);
    json_decref(v);
}

/* What the mediator's verifier recorded about the deal. */
static uint32_t ledger_state(const char *cfg_path, const uint8_t deal_id[32])
{
    struct lp_config *cfg;
    struct lp_backend *b;
    char err[1024];
    assert_int_equal(lp_config_load_file(cfg_path, &cfg, err, sizeof err), 0);
    if (lp_backend_open(cfg, "verifier", NULL, &b, err, sizeof err) != 0)
        fail_msg("verifier: %s", err);
    struct lp_deal_record dr;
    struct lp_plugin_error pe;
    int rc = lp_verifier_read_deal(b, NULL, deal_id, &dr, &pe);
    lp_backend_close(b);
    lp_config_free(cfg);
    return rc == LP_OK ? dr.state : 0xffffffffu;
}

/* The address of the provider of configuration n (make_config's counter), as "0x..." text
 * (may be NULL) and bytes. */
static void config_address(int n, char text[43], uint8_t addr[20])
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/provider%d.key", tmp, n);
    struct lp_key k;
    if (lp_keyfile_load(path, NULL, 0, &k, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (text)
        lp_address_to_checksum(k.address, text);
    memcpy(addr, k.address, 20);
}

/* Runs a job on provider A, challenges it as the job creator, and lets provider B mediate:
 * the job offer names B as its only mediator, and A trusts only B (provider.mediators).
 * `script` decides whether a re-run gives the same outputs; returns the verdict and checks
 * everything else. */
static uint32_t mediate(const char *script, int want_state)
{
    char cfg_a[256], cfg_b[256], b_addr[43], extra[128];
    make_config(cfg_b, sizeof cfg_b, NULL);
    config_address(cfg_counter, b_addr, job_mediators[0]);
    n_job_mediators = 1;
    snprintf(extra, sizeof extra, "mediators = [\"%s\"];", b_addr);
    make_config(cfg_a, sizeof cfg_a, extra);
    struct prov_thread a, b;
    start_provider(&a, cfg_a, true);
    wait_offer(&a);
    uint8_t job[32], deal[32];
    post_job(script, job);
    deal_of(job, deal);
    join_provider(&a); /* --once: back after the result is posted */
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_int_equal(st, 2 /* RESULTS_SUBMITTED */);

    start_provider(&b, cfg_b, false);
    wait_offer(&b);
    challenge(deal);
    int end = wait_state(deal, (1u << 5) | (1u << 6));
    assert_int_equal(end, want_state);
    lp_provider_stop(b.p);
    join_provider(&b);

    struct lp_wire_object v;
    uint8_t mediator[20];
    verdict_of(deal, &v, mediator);
    assert_memory_equal(v.u.mediation_verdict.mediator, mediator, 20);
    assert_memory_equal(v.u.mediation_verdict.deal_id, deal, 32);
    assert_true(strncmp(v.u.mediation_verdict.mediator_cid, "Qm", 2) == 0);
    uint32_t verdict = v.u.mediation_verdict.verdict;
    if (verdict == LP_VERDICT_ACCEPTED)
        assert_string_equal(v.u.mediation_verdict.mediator_cid, r.cid);
    else
        assert_string_not_equal(v.u.mediation_verdict.mediator_cid, r.cid);
    /* The verdict is recorded through the mediator's verifier (its own ledger caught up from
     * the agreement). */
    assert_int_equal(ledger_state(cfg_b, deal), (uint32_t)want_state);
    lp_wire_object_free(&v);
    lp_result_free(&r);
    n_job_mediators = 0;
    return verdict;
}

static void test_mediation_same_outputs_accepted(void **state)
{
    (void)state;
    assert_int_equal(mediate("echo deterministic; echo 42 > /outputs/answer", 5),
                     LP_VERDICT_ACCEPTED);
}

static void test_mediation_different_outputs_rejected(void **state)
{
    (void)state;
    /* A fresh random number on each run: the mediator's outputs cannot match. */
    assert_int_equal(mediate("head -c 16 /dev/urandom | od -An -tx1 > /outputs/random", 6),
                     LP_VERDICT_REJECTED);
}

/* A provider that trusts only B refuses, before running anything, a deal whose job offer names
 * another mediator: its failed result says why. */
static void test_untrusted_mediators_refused(void **state)
{
    (void)state;
    char cfg_a[256], cfg_b[256], b_addr[43], extra[128];
    uint8_t b[20];
    make_config(cfg_b, sizeof cfg_b, NULL);
    config_address(cfg_counter, b_addr, b);
    snprintf(extra, sizeof extra, "mediators = [\"%s\"];", b_addr);
    make_config(cfg_a, sizeof cfg_a, extra);
    memset(job_mediators[0], 0x77, 20); /* nobody A knows */
    n_job_mediators = 1;
    struct prov_thread a;
    start_provider(&a, cfg_a, true);
    wait_offer(&a);
    uint8_t job[32], deal[32];
    post_job("echo never runs > /outputs/x", job);
    deal_of(job, deal);
    join_provider(&a);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_non_null(r.error);
    if (!strstr(r.error, "provider.mediators"))
        fail_msg("the refusal does not name provider.mediators: %s", r.error);
    lp_result_free(&r);
    n_job_mediators = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mediation_same_outputs_accepted),
        cmocka_unit_test(test_mediation_different_outputs_rejected),
        cmocka_unit_test(test_untrusted_mediators_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
