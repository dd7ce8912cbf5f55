/* Proof-of-work rounds, with LilypadPow's rules: one live challenge per provider (a newer round
 * supersedes the older), one valid submission per challenge, submissions only inside the
 * window, and a nonce valid when keccak256(challenge || nonce) read big-endian is below the
 * target. Checking costs one hash; the provider's own hash count is recorded as reported.
 * Anyone may issue a round (the solver does, as itself); only the provider a submission names
 * may make it. */
#include "ledger.h"

#include <stdio.h>
#include <string.h>

#include "crypto/keccak.h"
#include "util/hex.h"

#define NS_PER_S UINT64_C(1000000000)

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

struct stored_round {
    bool found;
    uint8_t challenge[32];
    uint8_t target[32];
    uint64_t window_end_s;
};

static int load_round(struct lp_ledger *l, uint64_t round, const uint8_t provider[20],
                      struct stored_round *out)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "SELECT challenge, target, window_end_s FROM pow_rounds"
                          " WHERE round = ?1 AND provider = ?2",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_int64(st, 1, (int64_t)round);
    sqlite3_bind_blob(st, 2, provider, 20, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    memset(out, 0, sizeof(*out));
    if (rc == SQLITE_ROW) {
        out->found = true;
        if (sqlite3_column_bytes(st, 0) == 32)
            memcpy(out->challenge, sqlite3_column_blob(st, 0), 32);
        if (sqlite3_column_bytes(st, 1) == 32)
            memcpy(out->target, sqlite3_column_blob(st, 1), 32);
        out->window_end_s = (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return lp_ledger_sql_fail(l, "read pow round");
    return LP_OK;
}

/* The provider's newest round number, or -1 when it has none. */
static int latest_round(struct lp_ledger *l, const uint8_t provider[20], int64_t *out)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l, "SELECT max(round) FROM pow_rounds WHERE provider = ?1", &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, provider, 20, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *out = -1;
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? LP_OK : lp_ledger_sql_fail(l, "read latest pow round");
}

static int new_round_body(struct lp_ledger *l, const struct lp_pow_round *r, const char *who)
{
    struct stored_round old;
    if (load_round(l, r->round, r->provider, &old) != LP_OK)
        return LP_ERR;
    if (old.found) {
        /* A retried call after a lost reply is harmless; a second, different challenge for
         * the same round is not. */
        if (memcmp(old.challenge, r->challenge, 32) == 0 &&
            memcmp(old.target, r->target, 32) == 0 && old.window_end_s == r->window_end_s)
            return LP_OK;
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_new_round refused: the round exists "
                              "with another challenge, target or window",
                              (unsigned long long)r->round, who);
    }
    int64_t latest;
    if (latest_round(l, r->provider, &latest) != LP_OK)
        return LP_ERR;
    if (latest >= 0 && (uint64_t)latest > r->round)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_new_round refused: round %lld is "
                              "newer; rounds only increase",
                              (unsigned long long)r->round, who, (long long)latest);
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "INSERT INTO pow_rounds (round, provider, challenge, target,"
                          " window_end_s, created_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_int64(st, 1, (int64_t)r->round);
    sqlite3_bind_blob(st, 2, r->provider, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, r->challenge, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, r->target, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)r->window_end_s);
    sqlite3_bind_int64(st, 6, (int64_t)lp_ledger_now_ns(l));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? LP_OK : lp_ledger_sql_fail(l, "insert pow round");
}

int lp_ledger_pow_new_round(struct lp_ledger *l, const struct lp_pow_round *r)
{
    char who[43];
    lp_hex_encode_0x(r->provider, 20, who);
    if (r->struct_size < sizeof(*r))
        return lp_ledger_fail(l, LP_EINVAL, "pow_new_round: struct_size %u < %zu", r->struct_size,
                              sizeof(*r));
    /* SQLite stores signed 64-bit integers. */
    if (r->round > (uint64_t)INT64_MAX || r->window_end_s > (uint64_t)INT64_MAX / NS_PER_S)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_new_round refused: round number or "
                              "window end out of range",
                              (unsigned long long)r->round, who);
    if (all_zero(r->provider, 20))
        return lp_ledger_fail(l, LP_EINVAL, "pow round %llu: pow_new_round refused: no provider",
                              (unsigned long long)r->round);
    if (all_zero(r->target, 32))
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_new_round refused: a zero target "
                              "admits no nonce",
                              (unsigned long long)r->round, who);
    if (lp_ledger_begin(l) != LP_OK)
        return LP_ERR;
    int rc = new_round_body(l, r, who);
    if (rc != LP_OK) {
        lp_ledger_rollback(l);
        return rc;
    }
    return lp_ledger_commit(l);
}

static int submission_exists(struct lp_ledger *l, uint64_t round, const uint8_t provider[20],
                             bool *exists)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l, "SELECT 1 FROM pow_submissions WHERE round = ?1 AND provider = ?2",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_int64(st, 1, (int64_t)round);
    sqlite3_bind_blob(st, 2, provider, 20, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    *exists = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? LP_OK
                                                 : lp_ledger_sql_fail(l, "read pow submission");
}

static int submit_body(struct lp_ledger *l, const struct lp_pow_submission *s, const char *who)
{
    unsigned long long round = (unsigned long long)s->round;
    struct stored_round r;
    if (load_round(l, s->round, s->provider, &r) != LP_OK)
        return LP_ERR;
    if (!r.found)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: unknown round "
                              "(no challenge issued to this provider)",
                              round, who);
    bool dup = false;
    if (submission_exists(l, s->round, s->provider, &dup) != LP_OK)
        return LP_ERR;
    if (dup)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: already submitted "
                              "(one proof per challenge)",
                              round, who);
    uint64_t now_ns = lp_ledger_now_ns(l);
    if (now_ns > r.window_end_s * NS_PER_S)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: the window closed at "
                              "%llu s, now %llu s",
                              round, who, (unsigned long long)r.window_end_s,
                              (unsigned long long)(now_ns / NS_PER_S));
    int64_t latest;
    if (latest_round(l, s->provider, &latest) != LP_OK)
        return LP_ERR;
    if (latest > (int64_t)s->round)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: superseded by round "
                              "%lld",
                              round, who, (long long)latest);

    uint8_t input[64], digest[LP_KECCAK256_LEN];
    memcpy(input, r.challenge, 32);
    memcpy(input + 32, s->nonce, 32);
    lp_keccak256(input, sizeof(input), digest);
    /* Big-endian uint256 comparison is byte-wise lexicographic order. */
    if (memcmp(digest, r.target, 32) >= 0) {
        char d[67], t[67];
        lp_hex_encode_0x(digest, 32, d);
        lp_hex_encode_0x(r.target, 32, t);
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: keccak256(challenge || "
                              "nonce) = %s is not below the target %s",
                              round, who, d, t);
    }
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "INSERT INTO pow_submissions (round, provider, nonce, digest,"
                          " hashes_counted, window_ms, submitted_ns)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_int64(st, 1, (int64_t)s->round);
    sqlite3_bind_blob(st, 2, s->provider, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, s->nonce, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, digest, 32, SQLITE_STATIC);
    /* Counts past 2^63 would wrap negative; clamp (no real window gets near). */
    sqlite3_bind_int64(
        st, 5, s->hashes_counted > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)s->hashes_counted);
    sqlite3_bind_int64(st, 6,
                       s->window_ms > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)s->window_ms);
    sqlite3_bind_int64(st, 7, (int64_t)now_ns);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? LP_OK : lp_ledger_sql_fail(l, "insert pow submission");
}

int lp_ledger_pow_submit(struct lp_ledger *l, const uint8_t *actor,
                         const struct lp_pow_submission *s)
{
    char who[43];
    lp_hex_encode_0x(s->provider, 20, who);
    if (s->struct_size < sizeof(*s))
        return lp_ledger_fail(l, LP_EINVAL, "pow_submit: struct_size %u < %zu", s->struct_size,
                              sizeof(*s));
    if (actor != NULL && memcmp(actor, s->provider, 20) != 0) {
        char a[43];
        lp_hex_encode_0x(actor, 20, a);
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: %s is not the "
                              "submitting provider %s",
                              (unsigned long long)s->round, who, a, who);
    }
    if (s->round > (uint64_t)INT64_MAX)
        return lp_ledger_fail(l, LP_EINVAL,
                              "pow round %llu for %s: pow_submit refused: unknown round",
                              (unsigned long long)s->round, who);
    if (lp_ledger_begin(l) != LP_OK)
        return LP_ERR;
    int rc = submit_body(l, s, who);
    if (rc != LP_OK) {
        lp_ledger_rollback(l);
        return rc;
    }
    if (l->host != NULL && LP_HOST_HAS(l->host, metric_add))
        l->host->metric_add(l->host, "pow_valid_submissions", 1);
    return lp_ledger_commit(l);
}
