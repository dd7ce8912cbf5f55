/* Attacks on the proof-of-work leaderboard: what it shows must come from shares the solver
 * verified by hashing, never from counts a provider claims.
 *   - a submission claiming 1.8e19 hashes in 1 ms (which used to top the leaderboard, shown as
 *     a negative count) credits nothing beyond its verified shares;
 *   - a share that does not meet the provider's share target refuses the whole submission;
 *   - the same shares sent again are credited once;
 *   - shares mined on another provider's challenge are refused;
 *   - honest shares are credited about the work done (within the estimate's error).
 * An in-process solver with an easy round target on loopback, and hand-made signed
 * submissions. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "client/client.h"
#include "image/fs_tree.h"
#include "pow/pow.h"
#include "pow/uint256.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "util/hex.h"
#include "wire/object.h"

static char tmp[64], url[64];
static struct lp_solver *solver;
static struct lp_solver_http *http;

static int group_setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-sec-pow-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    struct lp_solver_config sc;
    lp_solver_config_defaults(&sc);
    sc.create_db = true; /* a new database in the test's own folder */
    static char db[128], files[128];
    snprintf(db, sizeof db, "%s/solver.db", tmp);
    snprintf(files, sizeof files, "%s/files", tmp);
    mkdir(files, 0700);
    sc.db_path = db;
    sc.files_dir = files;
    /* Rounds of a minute whose windows stay open two: a round boundary during the test cannot
     * close the window on a challenge already fetched. */
    sc.pow_round_ms = 60000;
    sc.pow_window_ms = 120000;
    sc.pow_target[1] = 0x10; /* round difficulty 4096; a new provider's shares: 256 */
    sc.pow_shares = 1024;    /* up to 8192 shares a round are credited */
    sc.rate_limit = 0;
    struct lp_key skey;
    lp_key_generate(&skey);
    char err[512];
    if (lp_solver_open(&sc, &skey, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0) {
        fprintf(stderr, "security_pow: solver: %s\n", err);
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
    lp_fs_remove_tree(tmp);
    return 0;
}

struct miner {
    struct lp_key key;
    struct lp_client *client;
    uint64_t round;
    uint8_t challenge[32], target[32], share_target[32];
};

static void hex32(json_t *j, const char *key, uint8_t out[32])
{
    const char *s = json_string_value(json_object_get(j, key));
    assert_non_null(s);
    assert_int_equal(lp_hex_decode_fixed(s, out, 32), 0);
}

static void miner_init(struct miner *m)
{
    lp_key_generate(&m->key);
    m->client = lp_client_new(url, &m->key, 10000);
    json_t *ch = NULL;
    struct lp_client_error e;
    assert_int_equal(
        lp_client_request_json(m->client, "GET", "/api/v1/pow/challenge", NULL, 0, &ch, &e), 0);
    m->round = (uint64_t)json_integer_value(json_object_get(ch, "round"));
    hex32(ch, "challenge", m->challenge);
    hex32(ch, "target", m->target);
    if (json_object_get(ch, "share_target") != NULL)
        hex32(ch, "share_target", m->share_target);
    else
        memcpy(m->share_target, m->target, 32);
    json_decref(ch);
}

/* Posts a submission; 0 with *credited set from the answer, or -1 with e filled. */
static int submit(struct miner *m, const uint8_t challenge[32], const struct lp_u256 *shares,
                  size_t n, const uint8_t *solution, uint64_t claimed_hashes, uint64_t window_ms,
                  double *credited, struct lp_client_error *e)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_POW_SUBMISSION;
    struct lp_wire_pow_submission *s = &obj.u.pow_submission;
    memcpy(s->miner, m->key.address, 20);
    s->node_id = (char *)"attacker";
    s->round = m->round;
    memcpy(s->challenge, challenge, 32);
    s->has_solution = solution != NULL;
    if (solution)
        memcpy(s->nonce.be, solution, 32);
    s->hashes = claimed_hashes;
    s->window_ms = window_ms;
    static uint64_t created = 1;
    s->created_at_ms = created++; /* a fresh object (ID) each time, as a replay would make */
    s->shares = (struct lp_u256 *)shares;
    s->n_shares = n;
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    assert_int_equal(lp_wire_sign(&m->key, &obj, &env, &len, NULL, &we), 0);
    json_t *answer = NULL;
    int rc =
        lp_client_request_json(m->client, "POST", "/api/v1/pow/submissions", env, len, &answer, e);
    free(env);
    if (rc == 0 && credited)
        *credited = json_real_value(json_object_get(answer, "credited_hashes"));
    json_decref(answer);
    return rc;
}

/* Hashes nonces from *next on until `want` shares below the miner's share target are found;
 * returns how many hashes that took. */
static uint64_t mine_shares(const struct miner *m, struct lp_u256 *out, size_t want, uint64_t *next)
{
    uint64_t hashes = 0;
    size_t found = 0;
    while (found < want) {
        uint8_t nonce[32] = {0};
        for (int i = 0; i < 8; i++)
            nonce[31 - i] = (uint8_t)(*next >> (8 * i));
        (*next)++;
        hashes++;
        if (lp_pow_verify(m->challenge, nonce, m->share_target, NULL))
            memcpy(out[found++].be, nonce, 32);
    }
    return hashes;
}

static json_t *leaderboard_row(const struct miner *m)
{
    struct lp_client *c = lp_client_new(url, &m->key, 10000);
    json_t *lb = NULL;
    struct lp_client_error e;
    assert_int_equal(lp_client_request_json(c, "GET", "/api/v1/leaderboard", NULL, 0, &lb, &e), 0);
    lp_client_free(c);
    char addr[43];
    lp_address_to_checksum(m->key.address, addr);
    json_t *rows = json_object_get(lb, "providers"), *row = NULL;
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(rows, i), "provider")), addr) ==
            0)
            row = json_incref(json_array_get(rows, i));
    json_decref(lb);
    assert_non_null(row);
    return row;
}

static double number(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* The attack as it was first made: a version 1 submission (one solution, no shares) claiming
 * 1.8e19 hashes in 1 ms. The solution is verified and credited as the one share it is. */
static void test_claimed_hashes_v1(void **state)
{
    (void)state;
    struct miner m;
    miner_init(&m);
    uint8_t solution[32] = {0};
    while (!lp_pow_verify(m.challenge, solution, m.target, NULL))
        lp_u256_add_u64(solution, 1);
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_POW_SUBMISSION;
    struct lp_wire_pow_submission *s = &obj.u.pow_submission;
    s->version = 1;
    memcpy(s->miner, m.key.address, 20);
    s->node_id = (char *)"attacker";
    s->round = m.round;
    memcpy(s->challenge, m.challenge, 32);
    s->has_solution = true;
    memcpy(s->nonce.be, solution, 32);
    s->hashes = 18000000000000000000ull;
    s->window_ms = 1;
    s->created_at_ms = 1;
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    assert_int_equal(lp_wire_sign(&m.key, &obj, &env, &len, NULL, &we), 0);
    struct lp_client_error e;
    assert_int_equal(
        lp_client_request_json(m.client, "POST", "/api/v1/pow/submissions", env, len, NULL, &e), 0);
    free(env);
    json_t *row = leaderboard_row(&m);
    assert_true(number(row, "hashrate") >= 0 && number(row, "hashrate") < 1e9);
    assert_true(number(row, "hashes") >= 0 && number(row, "hashes") < 1e9);
    json_decref(row);
    lp_client_free(m.client);
}

static void test_claimed_hashes_are_not_believed(void **state)
{
    (void)state;
    struct miner m;
    miner_init(&m);
    /* A real solution and one real share, claiming 1.8e19 hashes in 1 ms. */
    uint8_t solution[32] = {0};
    while (!lp_pow_verify(m.challenge, solution, m.target, NULL))
        lp_u256_add_u64(solution, 1);
    struct lp_u256 share;
    uint64_t next = 1u << 30;
    mine_shares(&m, &share, 1, &next);
    double credited = -1;
    struct lp_client_error e;
    assert_int_equal(
        submit(&m, m.challenge, &share, 1, solution, 18000000000000000000ull, 1, &credited, &e), 0);
    double difficulty = lp_u256_difficulty(m.share_target);
    assert_true(fabs(credited - difficulty) < 1e-6 * difficulty); /* one share's worth */
    json_t *row = leaderboard_row(&m);
    /* Nothing on the leaderboard comes near the claim, and nothing is negative. */
    assert_true(number(row, "hashrate") >= 0 && number(row, "hashrate") < 1e9);
    assert_true(number(row, "hashes") >= 0 && number(row, "hashes") < 1e9);
    assert_int_equal((long)number(row, "accepted"), 1);
    json_decref(row);
    lp_client_free(m.client);
}

static void test_bad_share_refuses_the_submission(void **state)
{
    (void)state;
    struct miner m;
    miner_init(&m);
    struct lp_u256 shares[4];
    uint64_t next = 1;
    mine_shares(&m, shares, 3, &next);
    /* the fourth: a nonce whose hash does not meet the share target */
    uint8_t bad[32] = {0};
    bad[0] = 0x77;
    while (lp_pow_verify(m.challenge, bad, m.share_target, NULL))
        lp_u256_add_u64(bad, 1);
    memcpy(shares[3].be, bad, 32);
    struct lp_client_error e;
    assert_int_equal(submit(&m, m.challenge, shares, 4, NULL, 0, 1000, NULL, &e), -1);
    assert_int_equal(e.status, 400);
    assert_non_null(strstr(e.message, "does not meet the share target"));
    /* Nothing of it was credited: the three good ones still count as new. */
    double credited = 0;
    assert_int_equal(submit(&m, m.challenge, shares, 3, NULL, 0, 1000, &credited, &e), 0);
    assert_true(credited > 2.5 * lp_u256_difficulty(m.share_target));
    lp_client_free(m.client);
}

static void test_replayed_shares_count_once(void **state)
{
    (void)state;
    struct miner m;
    miner_init(&m);
    struct lp_u256 shares[16];
    uint64_t next = 1u << 20;
    mine_shares(&m, shares, 16, &next);
    double first = 0, again = -1, overlap = -1;
    struct lp_client_error e;
    assert_int_equal(submit(&m, m.challenge, shares, 16, NULL, 0, 1000, &first, &e), 0);
    assert_true(first > 15.5 * lp_u256_difficulty(m.share_target));
    assert_int_equal(submit(&m, m.challenge, shares, 16, NULL, 0, 1000, &again, &e), 0);
    assert_true(again == 0);
    /* half old, half new: only the new half counts */
    mine_shares(&m, shares, 8, &next);
    assert_int_equal(submit(&m, m.challenge, shares, 16, NULL, 0, 1000, &overlap, &e), 0);
    double d = lp_u256_difficulty(m.share_target);
    assert_true(overlap > 7.5 * d && overlap < 8.5 * d);
    lp_client_free(m.client);
}

static void test_shares_of_another_providers_challenge(void **state)
{
    (void)state;
    struct miner victim, thief;
    miner_init(&victim);
    miner_init(&thief);
    struct lp_u256 shares[8];
    uint64_t next = 1;
    mine_shares(&victim, shares, 8, &next);
    struct lp_client_error e;
    /* as its own challenge: refused; and against its own challenge they are not shares */
    assert_int_equal(submit(&thief, victim.challenge, shares, 8, NULL, 0, 1000, NULL, &e), -1);
    assert_int_equal(e.status, 400);
    assert_non_null(strstr(e.message, "another challenge"));
    assert_int_equal(submit(&thief, thief.challenge, shares, 8, NULL, 0, 1000, NULL, &e), -1);
    assert_int_equal(e.status, 400);
    lp_client_free(victim.client);
    lp_client_free(thief.client);
}

static void test_honest_work_is_credited(void **state)
{
    (void)state;
    struct miner m;
    miner_init(&m);
    /* About 1,500 shares of difficulty 256: credited work within 12% of the hashes done (the
     * estimate's error is about 1 / sqrt(shares), 2.6% here; 12% is over four of those). */
    uint64_t next = 1ull << 40, hashes = 0;
    double credited = 0;
    struct lp_u256 batch[LP_WIRE_MAX_POW_SHARES];
    for (int b = 0; b < 3; b++) {
        hashes += mine_shares(&m, batch, 500, &next);
        double c = 0;
        struct lp_client_error e;
        if (submit(&m, m.challenge, batch, 500, NULL, 0, 1000, &c, &e) != 0)
            fail_msg("batch %d: %s", b, e.message);
        credited += c;
    }
    double ratio = credited / (double)hashes;
    if (ratio < 0.88 || ratio > 1.12)
        fail_msg("credited %.0f hashes for %llu done (ratio %.3f)", credited,
                 (unsigned long long)hashes, ratio);
    lp_client_free(m.client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claimed_hashes_v1),
        cmocka_unit_test(test_claimed_hashes_are_not_believed),
        cmocka_unit_test(test_bad_share_refuses_the_submission),
        cmocka_unit_test(test_replayed_shares_count_once),
        cmocka_unit_test(test_shares_of_another_providers_challenge),
        cmocka_unit_test(test_honest_work_is_credited),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
