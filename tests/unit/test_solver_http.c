/* The solver end to end in one process: the HTTP server on an ephemeral 127.0.0.1 port, driven
 * by the client library with separate keys for a job creator, two providers and a stranger. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include <lilypad/verifier.h>
#include "solver/http.h"
#include "solver/solver.h"
#include "solver_fixtures.h"
#include "wire/sigreq.h"

static char dir[256];
static struct lp_solver *solver;
static struct lp_solver_http *http;
static char base[64];
static struct lp_key kjc, kp1, kp2, kx;
static struct lp_client *jc, *p1, *p2, *stranger;

#define BLOCKED_REPO "https://example.org/evil-module"

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lp-solver-http-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char db[300], files[300], err[256];
    snprintf(db, sizeof db, "%s/solver.db", dir);
    snprintf(files, sizeof files, "%s/files", dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.match_timeout_ms = 800;
    cfg.execution_grace_ms = 0;
    cfg.tick_ms = 100;
    cfg.rate_limit = 0; /* the rate limit has its own solver below */
    cfg.max_file_bytes = 1 << 20;
    cfg.create_db = true;
    lp_key_generate(&kjc);
    lp_key_generate(&kp1);
    lp_key_generate(&kp2);
    lp_key_generate(&kx);
    /* Both providers may mediate; never the one whose result is challenged. */
    uint8_t mediators[2][20];
    memcpy(mediators[0], kp1.address, 20);
    memcpy(mediators[1], kp2.address, 20);
    cfg.mediators = (const uint8_t(*)[20])mediators;
    cfg.n_mediators = 2;
    struct lp_key ks;
    lp_key_generate(&ks);
    if (lp_solver_open(&cfg, &ks, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    lp_solver_block(solver, BLOCKED_REPO, "exfiltrates its inputs");
    snprintf(base, sizeof base, "http://127.0.0.1:%u", lp_solver_http_port(http));
    jc = lp_client_new(base, &kjc, 5000);
    p1 = lp_client_new(base, &kp1, 5000);
    p2 = lp_client_new(base, &kp2, 5000);
    stranger = lp_client_new(base, &kx, 5000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lp_client_free(jc);
    lp_client_free(p1);
    lp_client_free(p2);
    lp_client_free(stranger);
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void post_resource_offer(struct lp_client *c, const struct lp_key *k, uint64_t price,
                                uint8_t id[32])
{
    struct lp_wire_object o = {.kind = LP_WIRE_RESOURCE_OFFER};
    fix_res(&o.u.resource_offer, k->address, 8000, 32 * GIB, 100 * GIB, NULL, 0, price);
    struct lp_client_error err;
    if (lp_client_post_object(c, &o, NULL, id, NULL, &err) != 0)
        fail_msg("%s", err.message);
}

static int post_job(struct lp_client *c, const char *repo, uint64_t timeout_s,
                    const uint8_t *inputs, uint8_t id[32], struct lp_client_error *err)
{
    struct lp_wire_object o = {.kind = LP_WIRE_JOB_OFFER};
    fix_job(&o.u.job_offer, lp_client_address(c), 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    if (repo)
        o.u.job_offer.module.repo = (char *)repo;
    o.u.job_offer.timeout_s = timeout_s;
    return lp_client_post_object(c, &o, inputs, id, NULL, err);
}

static json_t *offer_view(struct lp_client *c, uint32_t kind, const uint8_t id[32])
{
    json_t *j = NULL;
    struct lp_client_error err;
    if (lp_client_get_offer(c, kind, id, &j, &err) != 0)
        fail_msg("%s", err.message);
    return j;
}

/* The deal of a job offer (fails the test if it has none). */
static void deal_of(const uint8_t job_id[32], uint8_t deal_id[32])
{
    json_t *j = offer_view(jc, LP_WIRE_JOB_OFFER, job_id);
    assert_int_equal(lp_client_json_id(j, "deal_id", deal_id), 0);
    json_decref(j);
}

static int deal_state(struct lp_client *c, const uint8_t deal_id[32])
{
    json_t *j = NULL;
    struct lp_client_error err;
    if (lp_client_get_deal(c, deal_id, &j, &err) != 0)
        fail_msg("%s", err.message);
    int st = (int)json_integer_value(json_object_get(j, "state"));
    json_decref(j);
    return st;
}

static int wait_deal_state(const uint8_t deal_id[32], int want, int ms)
{
    int st = -1;
    for (int t = 0; t < ms; t += 50) {
        st = deal_state(jc, deal_id);
        if (st == want)
            break;
        usleep(50000);
    }
    return st;
}

static void test_match_visible_to_parties_only(void **state)
{
    (void)state;
    uint8_t rid[32], jid[32], did[32];
    post_resource_offer(p1, &kp1, 10, rid);
    struct lp_client_error err;
    assert_int_equal(post_job(jc, NULL, 60, NULL, jid, &err), 0);
    deal_of(jid, did);
    assert_int_equal(deal_state(jc, did), LP_DEAL_AGREED);
    assert_int_equal(deal_state(p1, did), LP_DEAL_AGREED);

    json_t *j = NULL;
    assert_int_equal(lp_client_get_deal(stranger, did, &j, &err), -1);
    assert_int_equal(err.status, 403);
    assert_int_equal(lp_client_get_offer(stranger, LP_WIRE_JOB_OFFER, jid, &j, &err), -1);
    assert_int_equal(err.status, 403);
    assert_int_equal(lp_client_list_deals(stranger, false, &j, &err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "deals")), 0);
    json_decref(j);
    assert_int_equal(lp_client_list_deals(p1, false, &j, &err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "deals")), 1);
    json_decref(j);
    /* the provider may read the job offer behind its deal */
    json_decref(offer_view(p1, LP_WIRE_JOB_OFFER, jid));

    /* provider runs it: outputs, result; the creator downloads and accepts */
    assert_int_equal(lp_client_deal_action(p1, did, "agree", NULL, &err), 0);
    assert_int_equal(lp_client_put_outputs(p1, did, "moo", 3, &err), 0);
    struct lp_wire_object r = {.kind = LP_WIRE_RESULT};
    memcpy(r.u.result.deal_id, did, 32);
    memcpy(r.u.result.resource_provider, kp1.address, 20);
    r.u.result.cid = (char *)"bafkreiexample";
    r.u.result.error = (char *)"";
    r.u.result.created_at_ms = fix_now_ms();
    /* a result signed by another provider is refused */
    struct lp_wire_object forged = r;
    memcpy(forged.u.result.resource_provider, kp2.address, 20);
    assert_int_equal(lp_client_post_object(p2, &forged, NULL, NULL, NULL, &err), -1);
    assert_int_equal(err.status, 403);
    assert_int_equal(lp_client_post_object(p1, &r, NULL, NULL, NULL, &err), 0);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(lp_client_download(stranger, did, "outputs", &data, &len, &err), -1);
    assert_int_equal(err.status, 403);
    assert_int_equal(lp_client_download(jc, did, "outputs", &data, &len, &err), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "moo", 3);
    free(data);
    assert_int_equal(deal_state(jc, did), LP_DEAL_DOWNLOADING);
    assert_int_equal(lp_client_deal_action(p1, did, "accept", NULL, &err), -1); /* creator only */
    assert_int_equal(err.status, 403);
    assert_int_equal(lp_client_deal_action(jc, did, "accept", NULL, &err), 0);
    assert_int_equal(deal_state(p1, did), LP_DEAL_RESULTS_ACCEPTED);
}

/* Sends one request with the given headers through libcurl; returns the HTTP status. */
static long raw_get(const char *path, const struct lp_sigreq_headers *h)
{
    char url[256], l[6][200];
    snprintf(url, sizeof url, "%s%s", base, path);
    snprintf(l[0], sizeof l[0], "X-Lilypad-Address: %s", h->address);
    snprintf(l[1], sizeof l[1], "X-Lilypad-Timestamp: %s", h->timestamp);
    snprintf(l[2], sizeof l[2], "X-Lilypad-Nonce: %s", h->nonce);
    snprintf(l[3], sizeof l[3], "X-Lilypad-Signature: %s", h->signature);
    snprintf(l[4], sizeof l[4], "X-Lilypad-Version: %s", h->version);
    snprintf(l[5], sizeof l[5], "X-Lilypad-Body-Keccak: %s", h->body_keccak);
    struct curl_slist *hs = NULL;
    for (int i = 0; i < (h->address[0] ? 6 : 4); i++)
        hs = curl_slist_append(hs, l[i]);
    CURL *c = curl_easy_init();
    FILE *devnull = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    fclose(devnull);
    return status;
}

static void test_signed_requests(void **state)
{
    (void)state;
    struct lp_sigreq_headers h;
    struct lp_wire_error we;
    const char *path = "/api/v1/deals";
    const char *host = base + strlen("http://");
    assert_int_equal(lp_sigreq_sign(&kjc, "GET", host, path, NULL, 0, fix_now_ms(), NULL, &h, &we),
                     0);
    assert_int_equal(raw_get(path, &h), 200);
    assert_int_equal(raw_get(path, &h), 401); /* replayed */
    assert_int_equal(lp_sigreq_sign(&kjc, "GET", host, path, NULL, 0, fix_now_ms(), NULL, &h, &we),
                     0);
    h.signature[10] = h.signature[10] == 'a' ? 'b' : 'a';
    assert_int_equal(raw_get(path, &h), 401); /* bad signature */
    assert_int_equal(
        lp_sigreq_sign(&kjc, "GET", host, path, NULL, 0, fix_now_ms() - 120000, NULL, &h, &we), 0);
    assert_int_equal(raw_get(path, &h), 401); /* stale */
    assert_int_equal(lp_sigreq_sign(&kjc, "GET", host, "/api/v1/job_offers", NULL, 0, fix_now_ms(),
                                    NULL, &h, &we),
                     0);
    assert_int_equal(raw_get(path, &h), 401); /* signed for another path */
    assert_int_equal(
        lp_sigreq_sign(&kjc, "GET", "127.0.0.1:1", path, NULL, 0, fix_now_ms(), NULL, &h, &we), 0);
    assert_int_equal(raw_get(path, &h), 401); /* signed for another solver */
    struct lp_sigreq_headers none = {0};
    assert_int_equal(raw_get(path, &none), 400); /* no signature at all */
    memset(&h, 0, sizeof h);
    assert_int_equal(raw_get("/healthz", &h), 200);
}

static void test_blocklisted_module_refused(void **state)
{
    (void)state;
    uint8_t jid[32];
    struct lp_client_error err;
    assert_int_equal(post_job(jc, BLOCKED_REPO, 60, NULL, jid, &err), -1);
    assert_int_equal(err.status, 403);
    assert_non_null(strstr(err.message, "exfiltrates its inputs"));
    assert_non_null(strstr(err.message, "blocklist"));
}

static void test_events_only_own(void **state)
{
    (void)state;
    json_t *ev = NULL;
    uint64_t cur = 0;
    struct lp_client_error err;
    assert_int_equal(lp_client_events(jc, 0, 0, &ev, &cur, &err), 0);
    assert_true(json_array_size(ev) >= 3);
    /* every event is about one of the creator's own objects: it can read each of them */
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        const char *type = json_string_value(json_object_get(e, "type"));
        uint8_t id[32];
        assert_int_equal(lp_client_json_id(e, "id", id), 0);
        json_t *v = NULL;
        int rc = strncmp(type, "deal", 4) == 0
                     ? lp_client_get_deal(jc, id, &v, &err)
                     : lp_client_get_offer(jc, LP_WIRE_JOB_OFFER, id, &v, &err);
        assert_int_equal(rc, 0);
        json_decref(v);
    }
    json_decref(ev);
    /* the stranger's long-poll returns nothing, after waiting */
    uint64_t t0 = fix_now_ms(), scur = 0;
    assert_int_equal(lp_client_events(stranger, 0, 1, &ev, &scur, &err), 0);
    assert_int_equal(json_array_size(ev), 0);
    assert_true(fix_now_ms() - t0 >= 900);
    json_decref(ev);
    /* a long-poll wakes up when a new event for the caller arrives */
    uint8_t rid[32];
    post_resource_offer(p2, &kp2, 999, rid);
    uint64_t p2cur = 0;
    assert_int_equal(lp_client_events(p2, 0, 5, &ev, &p2cur, &err), 0);
    assert_int_equal(json_array_size(ev), 1);
    json_decref(ev);
    assert_int_equal(lp_client_cancel_offer(p2, LP_WIRE_RESOURCE_OFFER, rid, &err), 0);
}

static void test_cancel(void **state)
{
    (void)state;
    struct lp_client_error err;
    uint8_t jid[32], rid[32], did[32];
    /* unmatched job offer */
    assert_int_equal(post_job(jc, NULL, 60, NULL, jid, &err), 0);
    assert_int_equal(lp_client_cancel_offer(stranger, LP_WIRE_JOB_OFFER, jid, &err), -1);
    assert_int_equal(err.status, 403);
    assert_int_equal(lp_client_cancel_offer(jc, LP_WIRE_JOB_OFFER, jid, &err), 0);
    json_t *j = offer_view(jc, LP_WIRE_JOB_OFFER, jid);
    assert_int_equal(json_integer_value(json_object_get(j, "state")), LP_DEAL_JOB_OFFER_CANCELLED);
    json_decref(j);
    /* matched: the deal is cancelled and the provider hears of it */
    post_resource_offer(p1, &kp1, 10, rid);
    assert_int_equal(post_job(jc, NULL, 60, NULL, jid, &err), 0);
    deal_of(jid, did);
    assert_int_equal(lp_client_cancel_offer(jc, LP_WIRE_JOB_OFFER, jid, &err), 0);
    assert_int_equal(deal_state(p1, did), LP_DEAL_JOB_OFFER_CANCELLED);
}

static void test_timeouts(void **state)
{
    (void)state;
    struct lp_client_error err;
    uint8_t jid[32], rid[32], did[32];
    /* no provider: TimeoutMatch after 800 ms */
    assert_int_equal(post_job(jc, NULL, 60, NULL, jid, &err), 0);
    int st = -1;
    for (int t = 0; t < 3000 && st != LP_DEAL_TIMEOUT_MATCH; t += 100) {
        usleep(100000);
        json_t *j = offer_view(jc, LP_WIRE_JOB_OFFER, jid);
        st = (int)json_integer_value(json_object_get(j, "state"));
        json_decref(j);
    }
    assert_int_equal(st, LP_DEAL_TIMEOUT_MATCH);
    /* matched, but the provider never posts a result: TimeoutExecution after 1 s */
    post_resource_offer(p1, &kp1, 10, rid);
    assert_int_equal(post_job(jc, NULL, 1, NULL, jid, &err), 0);
    deal_of(jid, did);
    assert_int_equal(wait_deal_state(did, LP_DEAL_TIMEOUT_EXECUTION, 3000),
                     LP_DEAL_TIMEOUT_EXECUTION);
}

static void test_inputs_and_mediation(void **state)
{
    (void)state;
    struct lp_client_error err;
    uint8_t key[32], jid[32], r1[32], r2[32], did[32];
    assert_int_equal(lp_client_upload_file(jc, "input-tar", 9, key, &err), 0);
    /* another address cannot attach the creator's blob */
    assert_int_equal(post_job(stranger, NULL, 60, key, jid, &err), -1);
    assert_int_equal(err.status, 400);
    post_resource_offer(p1, &kp1, 10, r1);
    assert_int_equal(post_job(jc, NULL, 60, key, jid, &err), 0);
    deal_of(jid, did);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(lp_client_download(p1, did, "inputs", &data, &len, &err), 0);
    assert_int_equal(len, 9);
    free(data);
    assert_int_equal(lp_client_download(stranger, did, "inputs", &data, &len, &err), -1);
    assert_int_equal(err.status, 403);

    /* result, then challenge: the mediator must be another provider of the solver's set (p1 is
     * cheaper, and in the set, but its own result is challenged) */
    assert_int_equal(lp_client_put_outputs(p1, did, "out", 3, &err), 0);
    struct lp_wire_object r = {.kind = LP_WIRE_RESULT};
    memcpy(r.u.result.deal_id, did, 32);
    memcpy(r.u.result.resource_provider, kp1.address, 20);
    r.u.result.cid = (char *)"bafkreiexample";
    r.u.result.error = (char *)"";
    r.u.result.created_at_ms = fix_now_ms();
    uint8_t result_id[32];
    assert_int_equal(lp_client_post_object(p1, &r, NULL, result_id, NULL, &err), 0);
    post_resource_offer(p1, &kp1, 1, r1);
    post_resource_offer(p2, &kp2, 50, r2);
    struct lp_wire_object mr = {.kind = LP_WIRE_MEDIATION_REQUEST};
    memcpy(mr.u.mediation_request.deal_id, did, 32);
    memcpy(mr.u.mediation_request.result_id, result_id, 32);
    memcpy(mr.u.mediation_request.requester, kjc.address, 20);
    mr.u.mediation_request.reason = (char *)"output is wrong";
    mr.u.mediation_request.created_at_ms = fix_now_ms();
    uint8_t req_id[32];
    json_t *deal = NULL;
    assert_int_equal(lp_client_post_object(jc, &mr, NULL, req_id, NULL, &err), 0);
    assert_int_equal(lp_client_get_deal(p2, did, &deal, &err), 0); /* p2 is now a party */
    char p2addr[43];
    lp_address_to_checksum(kp2.address, p2addr);
    assert_string_equal(json_string_value(json_object_get(deal, "mediator")), p2addr);
    assert_int_equal(json_integer_value(json_object_get(deal, "state")), LP_DEAL_RESULTS_CHECKED);
    json_decref(deal);
    /* the mediator re-runs (reads the inputs) and rules */
    assert_int_equal(lp_client_download(p2, did, "inputs", &data, &len, &err), 0);
    free(data);
    struct lp_wire_object v = {.kind = LP_WIRE_MEDIATION_VERDICT};
    memcpy(v.u.mediation_verdict.request_id, req_id, 32);
    memcpy(v.u.mediation_verdict.deal_id, did, 32);
    memcpy(v.u.mediation_verdict.result_id, result_id, 32);
    memcpy(v.u.mediation_verdict.mediator, kp1.address, 20);
    v.u.mediation_verdict.verdict = 1;
    v.u.mediation_verdict.mediator_cid = (char *)"bafkreiother";
    v.u.mediation_verdict.reason = (char *)"outputs differ";
    v.u.mediation_verdict.created_at_ms = fix_now_ms();
    assert_int_equal(lp_client_post_object(p1, &v, NULL, NULL, NULL, &err), -1); /* not mediator */
    assert_int_equal(err.status, 403);
    memcpy(v.u.mediation_verdict.mediator, kp2.address, 20);
    assert_int_equal(lp_client_post_object(p2, &v, NULL, NULL, NULL, &err), 0);
    assert_int_equal(deal_state(jc, did), LP_DEAL_MEDIATION_REJECTED);
    assert_int_equal(lp_client_cancel_offer(p1, LP_WIRE_RESOURCE_OFFER, r1, &err), 0);
}

static void test_rate_and_offer_limits(void **state)
{
    (void)state;
    char db[300], files[300], err[256];
    snprintf(db, sizeof db, "%s/limits.db", dir);
    snprintf(files, sizeof files, "%s/limits-files", dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.rate_limit = 5;
    cfg.rate_window_ms = 60000;
    cfg.max_open_resource_offers = 1;
    cfg.create_db = true;
    struct lp_key ks;
    lp_key_generate(&ks);
    struct lp_solver *s2 = NULL;
    struct lp_solver_http *h2 = NULL;
    assert_int_equal(lp_solver_open(&cfg, &ks, &s2, err, sizeof err), 0);
    assert_int_equal(lp_solver_http_start(s2, "127.0.0.1:0", &h2, err, sizeof err), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lp_solver_http_port(h2));
    struct lp_client *c = lp_client_new(url, &kx, 5000);
    struct lp_client_error e;
    uint8_t rid[32];
    post_resource_offer(c, &kx, 10, rid);
    struct lp_wire_object o = {.kind = LP_WIRE_RESOURCE_OFFER};
    fix_res(&o.u.resource_offer, kx.address, 1000, GIB, GIB, NULL, 0, 10);
    assert_int_equal(lp_client_post_object(c, &o, NULL, NULL, NULL, &e), -1);
    assert_int_equal(e.status, 429);
    assert_non_null(strstr(e.message, "too many open resource offers"));
    int limited = 0;
    for (int i = 0; i < 10; i++) {
        json_t *j = NULL;
        if (lp_client_list_deals(c, false, &j, &e) != 0) {
            assert_int_equal(e.status, 429);
            assert_non_null(strstr(e.message, "rate limit"));
            assert_non_null(strstr(e.message, "hint"));
            limited++;
        }
        json_decref(j);
    }
    assert_true(limited >= 6);
    lp_client_free(c);
    lp_solver_interrupt(s2);
    lp_solver_http_stop(h2);
    lp_solver_close(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_visible_to_parties_only),
        cmocka_unit_test(test_signed_requests),
        cmocka_unit_test(test_blocklisted_module_refused),
        cmocka_unit_test(test_events_only_own),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_inputs_and_mediation),
        cmocka_unit_test(test_rate_and_offer_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
