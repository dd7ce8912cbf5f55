/* Proof-of-work rounds: each provider asks for its challenge in the current round, mines it,
 * and submits the shares it finds (nonces below its own share target) in batches, and the
 * round's solution (a nonce below the round's target) once. Everything is checked by hashing
 * once per nonce (core/pow); the solution is recorded through the verifier backend
 * (pow_new_round / pow_submit), as LilypadPow.submitWork does, with the work the shares proved.
 *
 * Hash rate is what verified shares prove, never a count a provider claims: a share of
 * difficulty D = 2^256 / share_target proves D hashes on average, so the work credited in a
 * round is shares x D (duplicates count once). Each provider's share target is set per round
 * from what it proved the round before (pool-style variable difficulty), so every provider
 * sends about pow_shares shares per window whatever its speed; the estimate's error is about
 * 1 / sqrt(shares).
 *
 * Rounds come from the clock (round = now / round_ms), so a restarted solver issues the same
 * challenge again; the challenge is keccak256(round ‖ window_start ‖ provider), each a
 * fixed-width big-endian field (Lilypad's: keccak over timestamp, window start, sender and node
 * id). The per-provider state here is what the leaderboard shows; the ledger keeps the record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lilypad/verifier.h>

#include "crypto/keccak.h"
#include "dispatch/verifier.h"
#include "host/host.h"
#include "pow/pow.h"
#include "pow/uint256.h"
#include "solver/solver_impl.h"
#include "util/hex.h"

/* Lilypad's targetDifficulty 555460709263765739036470010701196062214039696708679004195670928130048
 * = 0x149a6a3 << 204: about 2.08e8 hashes per solution. */
static void effective_target(const struct lp_solver *s, uint8_t t[32])
{
    static const uint8_t zero[32];
    if (memcmp(s->cfg.pow_target, zero, 32) != 0) {
        memcpy(t, s->cfg.pow_target, 32);
        return;
    }
    memset(t, 0, 32);
    t[3] = 0x14;
    t[4] = 0x9a;
    t[5] = 0x6a;
    t[6] = 0x30;
}

static void be64(uint8_t out[32], uint64_t v)
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}

static void derive_challenge(uint64_t round, uint64_t window_start_ms,
                             const uint8_t provider[LP_WIRE_ADDR_LEN], uint8_t out[32])
{
    uint8_t buf[32 + 32 + LP_WIRE_ADDR_LEN];
    be64(buf, round);
    be64(buf + 32, window_start_ms);
    memcpy(buf + 64, provider, LP_WIRE_ADDR_LEN);
    lp_keccak256(buf, sizeof buf, out);
}

/* pow_lock held. */
static struct lp_pow_miner *miner_of(struct lp_solver *s, const uint8_t provider[LP_WIRE_ADDR_LEN],
                                     bool create)
{
    for (struct lp_pow_miner *m = s->miners; m; m = m->next) {
        if (memcmp(m->provider, provider, LP_WIRE_ADDR_LEN) == 0)
            return m;
    }
    if (!create)
        return NULL;
    struct lp_pow_miner *m = calloc(1, sizeof *m);
    if (m) {
        memcpy(m->provider, provider, LP_WIRE_ADDR_LEN);
        m->next = s->miners;
        s->miners = m;
    }
    return m;
}

void lp_solver_pow_free(struct lp_solver *s)
{
    while (s->miners) {
        struct lp_pow_miner *m = s->miners;
        s->miners = m->next;
        free(m->shares);
        free(m);
    }
}

/* Records through the verifier backend; LP_OK when there is none or it keeps no PoW records
 * (an ABI 1.0 plugin without the op). The solver issues rounds; a submission is the miner's. */
static int verifier_new_round(struct lp_solver *s, const struct lp_pow_round *r, char *why,
                              size_t cap)
{
    struct lp_backend *b = s->cfg.verifier;
    if (!b)
        return LP_OK;
    struct lp_call call;
    lp_call_init(&call, lp_solver_address(s), NULL, 0);
    struct lp_plugin_error pe;
    int rc = lp_verifier_pow_new_round(b, &call, r, &pe);
    if (rc == LP_ENOTSUP)
        return LP_OK;
    if (rc != LP_OK)
        snprintf(why, cap, "%s", pe.message);
    return rc;
}

static int verifier_submit(struct lp_solver *s, const struct lp_pow_submission *sub, char *why,
                           size_t cap)
{
    struct lp_backend *b = s->cfg.verifier;
    if (!b)
        return LP_OK;
    struct lp_call call;
    lp_call_init(&call, sub->provider, NULL, 0);
    struct lp_plugin_error pe;
    int rc = lp_verifier_pow_submit(b, &call, sub, &pe);
    if (rc == LP_ENOTSUP)
        return LP_OK;
    if (rc != LP_OK)
        snprintf(why, cap, "%s", pe.message);
    return rc;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char *text = malloc(2 * n + 3);
    if (!text)
        return json_null();
    lp_hex_encode_0x(p, n, text);
    json_t *j = json_string(text);
    free(text);
    return j;
}

/* The difficulty of a provider's shares in a new round (pow_lock held): the work it proved the
 * round before, spread over pow_shares shares, moving at most 16x per round; a provider with no
 * history starts 16 times easier than the round's target. */
static double next_share_difficulty(const struct lp_solver *s, const struct lp_pow_miner *m,
                                    const uint8_t round_target[32])
{
    double round_difficulty = lp_u256_difficulty(round_target);
    double d = m->share_difficulty > 0 ? m->share_difficulty : round_difficulty / 16.0;
    if (m->last_round_credited + 1 == m->round && m->last_window_ms > 0) {
        uint64_t window = s->cfg.pow_window_ms ? s->cfg.pow_window_ms : s->cfg.pow_round_ms;
        double want = m->last_credited / (double)m->last_window_ms * (double)window /
                      (double)s->cfg.pow_shares;
        d = want > d * 16.0 ? d * 16.0 : want < d / 16.0 ? d / 16.0 : want;
    }
    return d < 1.0 ? 1.0 : d;
}

/* A new round for the miner (pow_lock held): what the last round proved moves to last_*. */
static void start_round(struct lp_solver *s, struct lp_pow_miner *m,
                        const struct lp_wire_pow_challenge *c, const uint8_t round_target[32])
{
    if (m->issued && m->n_shares > 0) {
        m->last_credited = m->credited;
        m->last_shares = m->n_shares;
        m->last_round_credited = m->round;
        uint64_t end = m->window_end_ms;
        m->last_window_ms = end > m->window_start_ms ? end - m->window_start_ms : 1;
    }
    m->issued = true;
    m->solved = false;
    m->round = c->round;
    memcpy(m->challenge, c->challenge, 32);
    m->window_start_ms = c->window_start_ms;
    m->window_end_ms = c->window_end_ms;
    m->n_shares = 0;
    m->credited = 0;
    m->share_difficulty = next_share_difficulty(s, m, round_target);
    lp_u256_target_for(m->share_difficulty, m->share_target);
}

int lp_solver_pow_challenge(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                            json_t **out, struct lp_solver_status *st)
{
    if (s->cfg.pow_round_ms == 0) {
        lp_solver_status_set(st, 404, "set solver.pow_round to a duration",
                             "this solver runs no proof-of-work rounds");
        return -1;
    }
    uint64_t now = lp_solver_now_ms();
    uint64_t round = now / s->cfg.pow_round_ms;
    uint64_t window = s->cfg.pow_window_ms ? s->cfg.pow_window_ms : s->cfg.pow_round_ms;
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_POW_CHALLENGE;
    struct lp_wire_pow_challenge *c = &obj.u.pow_challenge;
    memcpy(c->issuer, s->key.address, LP_WIRE_ADDR_LEN);
    memcpy(c->provider, caller, LP_WIRE_ADDR_LEN);
    c->round = round;
    c->window_start_ms = round * s->cfg.pow_round_ms;
    c->window_end_ms = c->window_start_ms + window;
    derive_challenge(round, c->window_start_ms, caller, c->challenge);
    effective_target(s, c->target.be);

    pthread_mutex_lock(&s->pow_lock);
    struct lp_pow_miner *m = miner_of(s, caller, true);
    bool fresh = m && !(m->issued && m->round == round);
    pthread_mutex_unlock(&s->pow_lock);
    if (!m) {
        lp_solver_status_set(st, 500, "retry later", "out of memory");
        return -1;
    }
    if (fresh) {
        struct lp_pow_round r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.round = round;
        memcpy(r.provider, caller, LP_WIRE_ADDR_LEN);
        memcpy(r.challenge, c->challenge, 32);
        memcpy(r.target, c->target.be, 32);
        r.window_end_s = (c->window_end_ms + 999) / 1000;
        char why[256] = "";
        if (verifier_new_round(s, &r, why, sizeof why) != LP_OK) {
            lp_solver_status_set(st, 500, "see the solver's log", "recording the round: %s", why);
            return -1;
        }
    }
    pthread_mutex_lock(&s->pow_lock);
    if (!(m->issued && m->round == round))
        start_round(s, m, c, c->target.be);
    memcpy(c->share_target.be, m->share_target, 32);
    double difficulty = m->share_difficulty;
    pthread_mutex_unlock(&s->pow_lock);
    uint8_t *env = NULL;
    size_t env_len = 0;
    struct lp_wire_error we;
    if (lp_wire_sign(&s->key, &obj, &env, &env_len, NULL, &we) != 0) {
        lp_solver_status_set(st, 500, "see the solver's log", "signing the challenge: %s",
                             we.message);
        return -1;
    }
    json_t *j = json_object();
    json_object_set_new(j, "round", json_integer((json_int_t)round));
    json_object_set_new(j, "challenge", hex_json(c->challenge, 32));
    json_object_set_new(j, "target", hex_json(c->target.be, 32));
    json_object_set_new(j, "share_target", hex_json(c->share_target.be, 32));
    json_object_set_new(j, "share_difficulty", json_real(difficulty));
    json_object_set_new(j, "window_start", json_integer((json_int_t)c->window_start_ms));
    json_object_set_new(j, "window_end", json_integer((json_int_t)c->window_end_ms));
    json_object_set_new(j, "envelope", hex_json(env, env_len));
    free(env);
    *out = j;
    st->http = 200;
    return 0;
}

/* Adds a share nonce to the round's sorted set (pow_lock held): false when it is already
 * there, or the set is full. */
static bool remember_share(struct lp_pow_miner *m, const uint8_t nonce[32], size_t cap)
{
    size_t lo = 0, hi = m->n_shares;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(m->shares[mid], nonce, 32);
        if (c == 0)
            return false;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (m->n_shares >= cap)
        return false;
    if (m->n_shares == m->cap_shares) {
        size_t ncap = m->cap_shares ? m->cap_shares * 2 : 64;
        void *grown = realloc(m->shares, ncap * sizeof *m->shares);
        if (!grown)
            return false;
        m->shares = grown;
        m->cap_shares = ncap;
    }
    memmove(m->shares[lo + 1], m->shares[lo], (m->n_shares - lo) * sizeof *m->shares);
    memcpy(m->shares[lo], nonce, 32);
    m->n_shares++;
    return true;
}

int lp_solver_pow_submit(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                         const uint8_t *body, size_t len, json_t **out, struct lp_solver_status *st)
{
    struct lp_wire_object obj;
    struct lp_envelope env;
    if (!lp_solver_open_envelope(body, len, LP_WIRE_POW_SUBMISSION, caller, &obj, &env, st))
        return -1;
    int rc = -1;
    const struct lp_wire_pow_submission *sub = &obj.u.pow_submission;
    uint8_t target[32];
    effective_target(s, target);
    uint64_t now = lp_solver_now_ms();
    if (!sub->has_solution && sub->n_shares == 0) {
        lp_solver_status_set(st, 400, "send shares, the round's solution, or both",
                             "round %llu: the submission carries nothing",
                             (unsigned long long)sub->round);
        goto out;
    }
    pthread_mutex_lock(&s->pow_lock);
    struct lp_pow_miner *m = miner_of(s, caller, false);
    if (!m || !m->issued || m->round != sub->round) {
        pthread_mutex_unlock(&s->pow_lock);
        lp_solver_status_set(st, 404, "GET /api/v1/pow/challenge for the current round",
                             "round %llu: no challenge of yours is open in it",
                             (unsigned long long)sub->round);
        goto out;
    }
    if (memcmp(m->challenge, sub->challenge, 32) != 0) {
        m->refused++;
        pthread_mutex_unlock(&s->pow_lock);
        lp_solver_status_set(st, 400, "mine the challenge the solver issued",
                             "round %llu: the submission names another challenge",
                             (unsigned long long)sub->round);
        goto out;
    }
    if (now > m->window_end_ms) {
        m->refused++;
        pthread_mutex_unlock(&s->pow_lock);
        lp_solver_status_set(
            st, 409, "get the next round's challenge", "round %llu: the window closed %llu ms ago",
            (unsigned long long)sub->round, (unsigned long long)(now - m->window_end_ms));
        goto out;
    }
    if (sub->has_solution && m->solved) {
        pthread_mutex_unlock(&s->pow_lock);
        lp_solver_status_set(st, 409, "one solution per round; send shares without one",
                             "round %llu: already solved", (unsigned long long)sub->round);
        goto out;
    }
    uint8_t challenge[32], share_target[32];
    memcpy(challenge, m->challenge, 32);
    memcpy(share_target, m->share_target, 32);
    double difficulty = m->share_difficulty;
    pthread_mutex_unlock(&s->pow_lock);

    /* Everything is checked by hashing, before anything is credited: one bad share or a bad
     * solution refuses the whole submission. */
    if (sub->has_solution && !lp_pow_verify(challenge, sub->nonce.be, target, NULL)) {
        pthread_mutex_lock(&s->pow_lock);
        m->refused++;
        pthread_mutex_unlock(&s->pow_lock);
        lp_solver_status_set(st, 400, "submit a nonce whose keccak256(challenge || nonce) < target",
                             "round %llu: the nonce does not meet the target",
                             (unsigned long long)sub->round);
        goto out;
    }
    for (size_t i = 0; i < sub->n_shares; i++) {
        if (!lp_pow_verify(challenge, sub->shares[i].be, share_target, NULL)) {
            pthread_mutex_lock(&s->pow_lock);
            m->refused++;
            pthread_mutex_unlock(&s->pow_lock);
            lp_solver_status_set(st, 400,
                                 "a share's keccak256(challenge || nonce) is below your "
                                 "share target (GET /api/v1/pow/challenge)",
                                 "round %llu: share %zu does not meet the share target",
                                 (unsigned long long)sub->round, i);
            goto out;
        }
    }
    /* Credit: each new share proves `difficulty` hashes; a version 1 solution, which has no
     * shares, proves the round's. Duplicates of shares already credited this round count
     * nothing; a provider sending far more shares than asked is capped (its next round's
     * difficulty rises to match). */
    size_t cap = (size_t)s->cfg.pow_shares * 8;
    pthread_mutex_lock(&s->pow_lock);
    if (sub->has_solution && m->solved) {
        pthread_mutex_unlock(&s->pow_lock);
        lp_solver_status_set(st, 409, "one solution per round; send shares without one",
                             "round %llu: already solved", (unsigned long long)sub->round);
        goto out;
    }
    size_t fresh = 0, repeated = 0, over = 0;
    for (size_t i = 0; i < sub->n_shares; i++) {
        if (remember_share(m, sub->shares[i].be, cap))
            fresh++;
        else if (m->n_shares >= cap)
            over++;
        else
            repeated++;
    }
    double credit = (double)fresh * difficulty;
    if (sub->version < 2 && sub->has_solution && remember_share(m, sub->nonce.be, cap))
        credit += lp_u256_difficulty(target);
    m->credited += credit;
    m->shares_total += fresh;
    if (sub->has_solution)
        m->solved = true; /* claimed before recording: a concurrent second solution is refused */
    double round_work = m->credited;
    uint64_t window_start = m->window_start_ms;
    pthread_mutex_unlock(&s->pow_lock);
    if (sub->has_solution) {
        struct lp_pow_submission rec;
        memset(&rec, 0, sizeof rec);
        rec.struct_size = sizeof rec;
        rec.round = sub->round;
        memcpy(rec.provider, caller, LP_WIRE_ADDR_LEN);
        memcpy(rec.nonce, sub->nonce.be, 32);
        /* What the shares proved so far, not what the miner claims. */
        rec.hashes_counted = round_work >= 1.8e19 ? UINT64_MAX : (uint64_t)round_work;
        rec.window_ms = now > window_start ? now - window_start : 1;
        char why[256] = "";
        if (verifier_submit(s, &rec, why, sizeof why) != LP_OK) {
            pthread_mutex_lock(&s->pow_lock);
            m->solved = false;
            m->refused++;
            pthread_mutex_unlock(&s->pow_lock);
            lp_solver_status_set(st, 409, "see the verifier's reason", "round %llu: %s",
                                 (unsigned long long)sub->round, why);
            goto out;
        }
        pthread_mutex_lock(&s->pow_lock);
        m->accepted++;
        pthread_mutex_unlock(&s->pow_lock);
    }
    pthread_mutex_lock(&s->pow_lock);
    uint64_t total = m->accepted;
    pthread_mutex_unlock(&s->pow_lock);
    *out =
        json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:f}", "accepted", 1, "round", (json_int_t)sub->round,
                  "accepted_total", (json_int_t)total, "shares", (json_int_t)fresh, "repeated",
                  (json_int_t)repeated, "over_cap", (json_int_t)over, "credited_hashes", credit);
    st->http = 200;
    rc = 0;
out:
    lp_wire_object_free(&obj);
    return rc;
}

/* Hashes per second the shares proved (pow_lock held): the last round that had shares, over
 * its window; a provider in its first round is shown from that round so far. */
static double rate_of(const struct lp_pow_miner *m, uint64_t now)
{
    if (m->last_window_ms > 0)
        return m->last_credited * 1000.0 / (double)m->last_window_ms;
    if (m->issued && m->n_shares > 0 && now > m->window_start_ms)
        return m->credited * 1000.0 / (double)(now - m->window_start_ms);
    return 0.0;
}

json_t *lp_solver_pow_leaderboard(struct lp_solver *s)
{
    uint8_t target[32];
    effective_target(s, target);
    uint64_t now = lp_solver_now_ms();
    json_t *arr = json_array();
    pthread_mutex_lock(&s->pow_lock);
    for (const struct lp_pow_miner *m = s->miners; m; m = m->next) {
        char addr[43];
        lp_address_to_checksum(m->provider, addr);
        /* Counts that may pass 2^53 go out as reals: JSON readers take integers that large
         * wrong or negative. */
        json_array_append_new(
            arr,
            json_pack("{s:s,s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:f}", "provider", addr, "accepted",
                      (json_int_t)m->accepted, "refused", (json_int_t)m->refused, "last_round",
                      (json_int_t)m->last_round_credited, "hashrate", rate_of(m, now), "hashes",
                      m->last_credited, "window_ms", (json_int_t)m->last_window_ms, "shares",
                      (json_int_t)m->shares_total, "share_difficulty", m->share_difficulty));
    }
    pthread_mutex_unlock(&s->pow_lock);
    json_t *j = json_object();
    json_object_set_new(j, "round_ms", json_integer((json_int_t)s->cfg.pow_round_ms));
    json_object_set_new(j, "window_ms", json_integer((json_int_t)s->cfg.pow_window_ms));
    json_object_set_new(j, "target", hex_json(target, 32));
    json_object_set_new(j, "providers", arr);
    return j;
}

char *lp_solver_pow_metrics(struct lp_solver *s)
{
    size_t cap = 256, n = 0;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    n = (size_t)snprintf(text, cap,
                         "# TYPE lilypad_solver_pow_accepted_total counter\n"
                         "# TYPE lilypad_solver_pow_hashrate gauge\n");
    uint64_t now = lp_solver_now_ms();
    pthread_mutex_lock(&s->pow_lock);
    for (const struct lp_pow_miner *m = s->miners; m; m = m->next) {
        char addr[43], line[300];
        lp_address_to_checksum(m->provider, addr);
        int k = snprintf(line, sizeof line,
                         "lilypad_solver_pow_accepted_total{provider=\"%s\"} %llu\n"
                         "lilypad_solver_pow_hashrate{provider=\"%s\"} %.0f\n",
                         addr, (unsigned long long)m->accepted, addr, rate_of(m, now));
        if (k < 0)
            continue;
        if (n + (size_t)k + 1 > cap) {
            size_t ncap = (n + (size_t)k + 1) * 2;
            char *p = realloc(text, ncap);
            if (!p)
                break;
            text = p;
            cap = ncap;
        }
        memcpy(text + n, line, (size_t)k + 1);
        n += (size_t)k;
    }
    pthread_mutex_unlock(&s->pow_lock);
    return text;
}
