/* PoW rounds end to end in one process: an in-process solver with short rounds and an easy
 * target records through verifier/ledger; a provider mining with hashrate/cpu gets its
 * challenge, finds a nonce and has it accepted and recorded; a hand-made submission with a
 * tampered nonce is refused, a valid one is accepted once and its duplicate refused; the
 * leaderboard and /metrics show the counts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "client/client.h"
#include "config/config.h"
#include "crypto/keyfile.h"
#include "image/fs_tree.h"
#include "loader/backend.h"
#include "pow/pow.h"
#include "provider/provider.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "util/hex.h"
#include "wire/object.h"

static char tmp[64], url[64], ledger[128];
static struct lp_config *vcfg;
static struct lp_backend *verifier;
static struct lp_solver *solver;
static struct lp_solver_http *http;

static int group_setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-test-pow-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    char text[512], err[1024];
    snprintf(ledger, sizeof ledger, "%s/ledger.sqlite", tmp);
    snprintf(text, sizeof text, "verifier: { ledger: { path = \"%s\"; }; };\n", ledger);
    if (lp_config_load_string(text, "test", &vcfg, err, sizeof err) != 0 ||
        lp_backend_open(vcfg, "verifier", NULL, &verifier, err, sizeof err) != 0) {
        fprintf(stderr, "test_solver_pow: verifier: %s\n", err);
        return -1;
    }
    struct lp_solver_config sc;
    lp_solver_config_defaults(&sc);
    sc.create_db = true; /* a new network: its database is created here */
    static char db[128], files[128];
    snprintf(db, sizeof db, "%s/solver.db", tmp);
    snprintf(files, sizeof files, "%s/files", tmp);
    mkdir(files, 0700);
    sc.db_path = db;
    sc.files_dir = files;
    sc.pow_round_ms = 4000;
    sc.pow_window_ms = 4000;
    sc.pow_target[0] = 0x10; /* 1 hash in 16 wins */
    sc.verifier = verifier;
    struct lp_key skey;
    lp_key_generate(&skey);
    if (lp_solver_open(&sc, &skey, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0) {
        fprintf(stderr, "test_solver_pow: solver: %s\n", err);
        return -1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lp_solver_http_port(http));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    lp_backend_close(verifier);
    lp_config_free(vcfg);
    lp_fs_remove_tree(tmp);
    return 0;
}

static long count_rows(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;
    if (sqlite3_open_v2(ledger, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static int submit(struct lp_client *c, const struct lp_key *k, json_t *ch, const uint8_t nonce[32],
                  struct lp_client_error *e)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_POW_SUBMISSION;
    struct lp_wire_pow_submission *s = &obj.u.pow_submission;
    memcpy(s->miner, k->address, 20);
    s->node_id = (char *)"test";
    s->round = (uint64_t)json_integer_value(json_object_get(ch, "round"));
    assert_int_equal(
        lp_hex_decode_fixed(json_string_value(json_object_get(ch, "challenge")), s->challenge, 32),
        0);
    memcpy(s->nonce.be, nonce, 32);
    s->has_solution = true;
    s->hashes = 1000;
    s->window_ms = 1000;
    s->created_at_ms = 1;
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    assert_int_equal(lp_wire_sign(k, &obj, &env, &len, NULL, &we), 0);
    int rc = lp_client_request_json(c, "POST", "/api/v1/pow/submissions", env, len, NULL, e);
    free(env);
    return rc;
}

static void test_tampered_and_duplicate_refused(void **state)
{
    (void)state;
    struct lp_key k;
    lp_key_generate(&k);
    struct lp_client *c = lp_client_new(url, &k, 5000);
    json_t *ch = NULL;
    struct lp_client_error e;
    assert_int_equal(lp_client_request_json(c, "GET", "/api/v1/pow/challenge", NULL, 0, &ch, &e),
                     0);
    uint8_t challenge[32], target[32], nonce[32] = {0}, bad[32] = {0};
    assert_int_equal(
        lp_hex_decode_fixed(json_string_value(json_object_get(ch, "challenge")), challenge, 32), 0);
    assert_int_equal(
        lp_hex_decode_fixed(json_string_value(json_object_get(ch, "target")), target, 32), 0);
    assert_int_equal(target[0], 0x10);
    /* A winning nonce (1 in 16), and a losing one: the "tampered" submission. */
    while (!lp_pow_verify(challenge, nonce, target, NULL))
        nonce[31]++;
    while (lp_pow_verify(challenge, bad, target, NULL))
        bad[31]++;
    assert_int_equal(submit(c, &k, ch, bad, &e), -1);
    assert_int_equal(e.status, 400);
    assert_non_null(strstr(e.message, "does not meet the target"));
    if (submit(c, &k, ch, nonce, &e) != 0) {
        /* The round may have just ended (4 s rounds): then the refusal says so. */
        assert_int_equal(e.status, 409);
        json_decref(ch);
        lp_client_free(c);
        return;
    }
    assert_int_equal(submit(c, &k, ch, nonce, &e), -1);
    assert_int_equal(e.status, 409);
    json_decref(ch);
    lp_client_free(c);
}

static void *prov_main(void *arg)
{
    lp_provider_run(arg);
    return NULL;
}

static void test_provider_mines_and_is_recorded(void **state)
{
    (void)state;
    char key_path[128], cfg_path[128], text[2048], err[1024];
    snprintf(key_path, sizeof key_path, "%s/provider.key", tmp);
    struct lp_key key;
    lp_key_generate(&key);
    assert_int_equal(lp_keyfile_write_hex(key_path, &key, true, err, sizeof err), 0);
    snprintf(text, sizeof text,
             "gpu = \"none\";\n"
             "hashrate: { backend = \"cpu\"; cpu: { threads = 1; }; };\n"
             "executor: { process: { work_dir = \"%s/jobs\"; }; };\n"
             "storage: { local: { root = \"%s/storage\"; }; };\n"
             "verifier: { ledger: { path = \"%s/provider-ledger.sqlite\"; }; };\n"
             "provider: { solver = \"%s\"; key = \"%s\"; work_dir = \"%s/work\";\n"
             "  cpu = 1000; ram = \"256M\"; disk = \"256M\"; poll_wait = \"1s\";\n"
             "  mining_duty = 100; };\n",
             tmp, tmp, tmp, url, key_path, tmp);
    snprintf(cfg_path, sizeof cfg_path, "%s/provider.cfg", tmp);
    FILE *f = fopen(cfg_path, "w");
    fputs(text, f);
    fclose(f);
    struct lp_config *cfg;
    struct lp_provider *p;
    assert_int_equal(lp_config_load_file(cfg_path, &cfg, err, sizeof err), 0);
    if (lp_provider_open(cfg, NULL, &p, err, sizeof err) != 0)
        fail_msg("provider: %s", err);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, prov_main, p), 0);
    char addr[43];
    lp_address_to_checksum(key.address, addr);
    json_int_t accepted = 0;
    for (int i = 0; i < 300 && accepted < 1; i++) {
        usleep(50000);
        json_t *lb = NULL;
        struct lp_client_error e;
        struct lp_client *c = lp_client_new(url, &key, 5000);
        assert_int_equal(lp_client_request_json(c, "GET", "/api/v1/leaderboard", NULL, 0, &lb, &e),
                         0);
        lp_client_free(c);
        size_t k;
        json_t *row;
        json_array_foreach(json_object_get(lb, "providers"), k, row)
        {
            if (strcmp(json_string_value(json_object_get(row, "provider")), addr) == 0) {
                accepted = json_integer_value(json_object_get(row, "accepted"));
                if (accepted > 0)
                    assert_true(json_real_value(json_object_get(row, "hashrate")) > 0);
            }
        }
        json_decref(lb);
    }
    lp_provider_stop(p);
    pthread_join(th, NULL);
    lp_provider_close(p);
    lp_config_free(cfg);
    assert_true(accepted >= 1);
    /* Recorded through the verifier: the round issued to it and its submission. */
    char sql[256], hex[41];
    lp_hex_encode(key.address, 20, hex);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pow_submissions WHERE hex(provider) = upper('%s')", hex);
    assert_true(count_rows(sql) >= 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pow_rounds WHERE hex(provider) = upper('%s')",
             hex);
    assert_true(count_rows(sql) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tampered_and_duplicate_refused),
        cmocka_unit_test(test_provider_mines_and_is_recorded),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
