/* Attacks on, and accidents to, the solver's storage: a database corrupted on disk, one that
 * went missing (or is an empty file), a store that fails while the solver runs, and a solver
 * filled with finished offers, deals, events and uploads. A corrupt or missing database must
 * refuse to start with one line and a hint (a missing one is created only on request); a
 * failing store must make /healthz answer 503 with the reason; what finished must be deleted
 * after the retention, by the solver's own timer, while what is open stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <lilypad/verifier.h>
#include <sqlite3.h>

#include "../unit/solver_fixtures.h"
#include "client/client.h"
#include "solver/store.h"
#include "solver_attack.h"
#include "util/hex.h"

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/lp-sec-store-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* lp_solver_open on db (files beside it); the error line in err. */
static int open_solver(const char *db, bool create, struct lp_solver **s, char *err, size_t cap)
{
    char files[128];
    snprintf(files, sizeof files, "%s/files", tmp);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.create_db = create;
    struct lp_key k;
    lp_key_generate(&k);
    return lp_solver_open(&cfg, &k, s, err, cap);
}

/* A database with a few hundred offers (many pages), written through the store, then some of
 * its pages overwritten (the first page, the header, stays intact). */
static void test_corrupt_database_refused(void **state)
{
    (void)state;
    char db[128], files[128], err[512];
    snprintf(db, sizeof db, "%s/corrupt.db", tmp);
    snprintf(files, sizeof files, "%s/files", tmp);
    struct lp_store *st = NULL;
    struct lp_store_error e;
    assert_int_equal(lp_store_sqlite_open(db, files, true, &st, &e), LP_STORE_OK);
    static uint8_t env[600];
    memset(env, 0x5a, sizeof env);
    for (int i = 0; i < 300; i++) {
        struct lp_store_offer o = {.kind = LP_WIRE_RESOURCE_OFFER, .state = LP_DEAL_NEGOTIATING};
        o.id[0] = (uint8_t)i;
        o.id[1] = (uint8_t)(i >> 8);
        o.owner[0] = 7;
        o.envelope = env;
        o.envelope_len = sizeof env;
        assert_int_equal(st->ops->offer_insert(st, &o, NULL, 0, 1000, &e), LP_STORE_OK);
    }
    st->ops->close(st); /* checkpoints the WAL into the file */
    struct stat sb;
    assert_int_equal(stat(db, &sb), 0);
    assert_true(sb.st_size > 20 * 4096);
    FILE *f = fopen(db, "r+b");
    uint8_t junk[4096];
    memset(junk, 0xEE, sizeof junk);
    for (long page = 3; page * 4096 < sb.st_size; page += 5) {
        fseek(f, page * 4096 + 100, SEEK_SET);
        fwrite(junk, 1, 200, f);
    }
    fclose(f);

    struct lp_solver *s = NULL;
    int rc = open_solver(db, false, &s, err, sizeof err);
    if (rc == 0) {
        lp_solver_close(s);
        fail_msg("a corrupt database was opened");
    }
    fprintf(stderr, "refused: %s\n", err);
    assert_non_null(strstr(err, "corrupt"));
    assert_non_null(strstr(err, "hint"));
    assert_null(strchr(err, '\n'));
}

static void test_missing_database_refused(void **state)
{
    (void)state;
    char db[128], err[512];
    snprintf(db, sizeof db, "%s/never-created.db", tmp);
    struct lp_solver *s = NULL;
    int rc = open_solver(db, false, &s, err, sizeof err);
    struct stat sb;
    bool created = stat(db, &sb) == 0;
    if (rc == 0)
        lp_solver_close(s);
    assert_int_equal(rc, -1);
    assert_false(created);
    assert_non_null(strstr(err, "does not exist"));
    assert_non_null(strstr(err, "--init"));

    /* An empty file where the database was (a truncated copy, a failed restore). */
    snprintf(db, sizeof db, "%s/empty.db", tmp);
    FILE *f = fopen(db, "w");
    fclose(f);
    rc = open_solver(db, false, &s, err, sizeof err);
    if (rc == 0)
        lp_solver_close(s);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "--init"));

    /* Asked for, a new one is created. */
    snprintf(db, sizeof db, "%s/new.db", tmp);
    assert_int_equal(open_solver(db, true, &s, err, sizeof err), 0);
    lp_solver_close(s);
}

static int healthz_body(const struct atk_solver *a, char *body, size_t cap)
{
    int fd = atk_connect(a, NULL);
    char req[128];
    snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", a->host);
    int st = 0;
    if (fd >= 0 && atk_send_all(fd, req, strlen(req)) == 0)
        st = atk_read_answer(fd, 3000u * ATK_SLOW, body, cap);
    if (fd >= 0)
        close(fd);
    return st;
}

/* The store breaks under a running solver (here: a table dropped behind its back). */
static void test_failing_store_reported(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, NULL), 0);
    char body[1024];
    int before = healthz_body(&a, body, sizeof body);
    char db[128];
    snprintf(db, sizeof db, "%s/solver.db", a.dir);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_busy_timeout(raw, 5000);
    assert_int_equal(sqlite3_exec(raw, "DROP TABLE events", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    /* A write now fails... */
    char url[64];
    snprintf(url, sizeof url, "http://%s", a.host);
    struct lp_key k;
    lp_key_generate(&k);
    struct lp_client *c = lp_client_new(url, &k, 5000 * ATK_SLOW);
    struct lp_wire_object o = {.kind = LP_WIRE_RESOURCE_OFFER};
    fix_res(&o.u.resource_offer, k.address, 1000, GIB, GIB, NULL, 0, 10);
    struct lp_client_error e = {0};
    int posted = lp_client_post_object(c, &o, NULL, NULL, NULL, &e);
    lp_client_free(c);
    /* ... and /healthz says so. */
    int after = healthz_body(&a, body, sizeof body);
    atk_stop(&a);
    assert_int_equal(before, 200);
    assert_int_equal(posted, -1);
    assert_int_equal(e.status, 500);
    assert_int_equal(after, 503);
    assert_non_null(strstr(body, "failing"));
    assert_non_null(strstr(body, "events"));
}

static void gc_config(struct lp_solver_config *c)
{
    c->retention_ms = 1500;
    c->gc_interval_ms = 200;
    c->execution_grace_ms = 0;
}

static void blob_file(const struct atk_solver *a, const uint8_t keccak[32], char *out, size_t cap)
{
    char hex[65];
    lp_hex_encode(keccak, 32, hex);
    snprintf(out, cap, "%s/files/%s", a->dir, hex);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int offer_status(struct lp_client *c, uint32_t kind, const uint8_t id[32])
{
    json_t *j = NULL;
    struct lp_client_error e = {0};
    int rc = lp_client_get_offer(c, kind, id, &j, &e);
    json_decref(j);
    return rc == 0 ? 200 : (int)e.status;
}

/* Finished offers and deals, old events and unreferenced uploads go after the retention. */
static void test_finished_records_are_deleted(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, gc_config), 0);
    char url[64];
    snprintf(url, sizeof url, "http://%s", a.host);
    struct lp_key kc, kp;
    lp_key_generate(&kc);
    lp_key_generate(&kp);
    struct lp_client *jc = lp_client_new(url, &kc, 5000 * ATK_SLOW);
    struct lp_client *rp = lp_client_new(url, &kp, 5000 * ATK_SLOW);
    struct lp_client_error e = {0};
    /* A deal, cancelled by its creator: final. */
    uint8_t used[32], unused[32], kept[32], rid[32], jid[32], cancelled[32], open_jid[32];
    assert_int_equal(lp_client_upload_file(jc, "inputs of the deal", 18, used, &e), 0);
    struct lp_wire_object r = {.kind = LP_WIRE_RESOURCE_OFFER};
    fix_res(&r.u.resource_offer, kp.address, 8000, 32 * GIB, 100 * GIB, NULL, 0, 1);
    assert_int_equal(lp_client_post_object(rp, &r, NULL, rid, NULL, &e), 0);
    struct lp_wire_object j = {.kind = LP_WIRE_JOB_OFFER};
    fix_job(&j.u.job_offer, kc.address, 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    assert_int_equal(lp_client_post_object(jc, &j, used, jid, NULL, &e), 0);
    json_t *view = NULL;
    uint8_t did[32];
    assert_int_equal(lp_client_get_offer(jc, LP_WIRE_JOB_OFFER, jid, &view, &e), 0);
    assert_int_equal(lp_client_json_id(view, "deal_id", did), 0);
    json_decref(view);
    assert_int_equal(lp_client_deal_action(jc, did, "cancel", NULL, &e), 0);
    /* A resource offer withdrawn without a deal. */
    fix_res(&r.u.resource_offer, kp.address, 8000, 32 * GIB, 100 * GIB, NULL, 0, 1);
    assert_int_equal(lp_client_post_object(rp, &r, NULL, cancelled, NULL, &e), 0);
    assert_int_equal(lp_client_cancel_offer(rp, LP_WIRE_RESOURCE_OFFER, cancelled, &e), 0);
    /* An upload nothing names. */
    assert_int_equal(lp_client_upload_file(jc, "never used", 10, unused, &e), 0);
    /* An open job offer (it asks for a GPU nobody offers) and the upload it names: kept. */
    assert_int_equal(lp_client_upload_file(jc, "inputs of the open offer", 24, kept, &e), 0);
    fix_job(&j.u.job_offer, kc.address, 1000, 1, GIB, GIB, GIB, 100, LP_PRICE_MARKET);
    j.u.job_offer.timeout_s = 600;
    assert_int_equal(lp_client_post_object(jc, &j, kept, open_jid, NULL, &e), 0);
    char used_path[256], unused_path[256], kept_path[256];
    blob_file(&a, used, used_path, sizeof used_path);
    blob_file(&a, unused, unused_path, sizeof unused_path);
    blob_file(&a, kept, kept_path, sizeof kept_path);
    assert_true(exists(used_path) && exists(unused_path) && exists(kept_path));

    /* The solver's timer does the rest: wait (bounded) for the deal and the last events (the
     * open offer's, posted last) to go. */
    uint64_t deadline = atk_mono_ms() + 20000u * ATK_SLOW;
    int deal_status = 200;
    size_t events_left = 1;
    while ((deal_status == 200 || events_left > 0) && atk_mono_ms() < deadline) {
        usleep(200000);
        json_t *d = NULL;
        deal_status = lp_client_get_deal(jc, did, &d, &e) == 0 ? 200 : (int)e.status;
        json_decref(d);
        uint64_t after = 0;
        if (lp_client_events(jc, 0, 0, &d, &after, &e) == 0)
            events_left = json_array_size(d);
        json_decref(d);
    }
    int job = offer_status(jc, LP_WIRE_JOB_OFFER, jid);
    int res = offer_status(rp, LP_WIRE_RESOURCE_OFFER, rid);
    int withdrawn = offer_status(rp, LP_WIRE_RESOURCE_OFFER, cancelled);
    int open_job = offer_status(jc, LP_WIRE_JOB_OFFER, open_jid);
    json_t *events = NULL;
    uint64_t next = 0;
    assert_int_equal(lp_client_events(jc, 0, 0, &events, &next, &e), 0);
    size_t n_events = json_array_size(events);
    char *left = n_events ? json_dumps(events, JSON_COMPACT) : NULL;
    json_decref(events);
    bool used_gone = !exists(used_path), unused_gone = !exists(unused_path);
    bool kept_there = exists(kept_path);
    lp_client_free(jc);
    lp_client_free(rp);
    atk_stop(&a);
    assert_int_equal(deal_status, 404);
    assert_int_equal(job, 404);
    assert_int_equal(res, 404);
    assert_int_equal(withdrawn, 404);
    if (n_events != 0)
        fail_msg("%zu events were not deleted: %s", n_events, left ? left : "?");
    assert_true(used_gone);
    assert_true(unused_gone);
    assert_int_equal(open_job, 200);
    assert_true(kept_there);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_database_refused),
        cmocka_unit_test(test_missing_database_refused),
        cmocka_unit_test(test_failing_store_reported),
        cmocka_unit_test(test_finished_records_are_deleted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
