/* PoW challenge and submission codecs (layouts in pow.h). */
#include "wire/pow.h"

#include <stdlib.h>
#include <string.h>

#include "wire/codec.h"

static const uint32_t lp_challenge_fields[] = {0, 8, 9};
static const uint32_t lp_submission_fields[] = {0, 9, 10};

static int lp_challenge_write(struct lp_ww *w, const void *obj)
{
    const struct lp_wire_pow_challenge *c = obj;
    uint32_t version = c->version ? c->version : LP_POW_CHALLENGE_VERSION;
    if (version > LP_POW_CHALLENGE_VERSION) {
        lp_ww_fail(w, "pow_challenge.version", "unknown version %u (this build writes 1..%u)",
                   version, LP_POW_CHALLENGE_VERSION);
        return -1;
    }
    if (c->window_end_ms < c->window_start_ms) {
        lp_ww_fail(w, "pow_challenge.window_end", "ends before window_start");
        return -1;
    }
    lp_ww_array(w, lp_challenge_fields[version]);
    lp_ww_uint(w, version);
    lp_ww_bin(w, c->issuer, LP_WIRE_ADDR_LEN);
    lp_ww_bin(w, c->provider, LP_WIRE_ADDR_LEN);
    lp_ww_uint(w, c->round);
    lp_ww_bin(w, c->challenge, 32);
    lp_ww_u256(w, &c->target);
    lp_ww_uint(w, c->window_start_ms);
    lp_ww_uint(w, c->window_end_ms);
    if (version >= 2)
        lp_ww_u256(w, &c->share_target);
    return w->failed ? -1 : 0;
}

static int lp_challenge_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_wire_pow_challenge *c = obj;
    uint32_t version;
    const msgpack_object *f = lp_rd_versioned(r, root, "pow_challenge", lp_challenge_fields,
                                              LP_POW_CHALLENGE_VERSION, &version);
    if (f == NULL)
        return -1;
    c->version = version;
    lp_rd_fixbin(r, &f[1], "pow_challenge.issuer", c->issuer, LP_WIRE_ADDR_LEN);
    lp_rd_fixbin(r, &f[2], "pow_challenge.provider", c->provider, LP_WIRE_ADDR_LEN);
    c->round = lp_rd_uint(r, &f[3], "pow_challenge.round", UINT64_MAX);
    lp_rd_fixbin(r, &f[4], "pow_challenge.challenge", c->challenge, 32);
    lp_rd_u256(r, &f[5], "pow_challenge.target", &c->target);
    c->window_start_ms = lp_rd_uint(r, &f[6], "pow_challenge.window_start", UINT64_MAX);
    c->window_end_ms = lp_rd_uint(r, &f[7], "pow_challenge.window_end", UINT64_MAX);
    if (!r->failed && c->window_end_ms < c->window_start_ms)
        lp_rd_fail(r, "pow_challenge.window_end", "ends before window_start");
    if (version >= 2)
        lp_rd_u256(r, &f[8], "pow_challenge.share_target", &c->share_target);
    return r->failed ? -1 : 0;
}

void lp_pow_challenge_free(struct lp_wire_pow_challenge *c)
{
    (void)c;
}

static void lp_challenge_free_any(void *c)
{
    lp_pow_challenge_free(c);
}

static const struct lp_wire_codec lp_challenge_codec = {
    "pow_challenge", sizeof(struct lp_wire_pow_challenge), lp_challenge_write, lp_challenge_read,
    lp_challenge_free_any};

int lp_pow_challenge_encode(const struct lp_wire_pow_challenge *c, uint8_t **out, size_t *out_len,
                            struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_challenge_codec, c, out, out_len, err);
}

int lp_pow_challenge_decode(const uint8_t *data, size_t len, struct lp_wire_pow_challenge *c,
                            struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_challenge_codec, data, len, c, err);
}

static int lp_submission_write(struct lp_ww *w, const void *obj)
{
    const struct lp_wire_pow_submission *s = obj;
    uint32_t version = s->version ? s->version : LP_POW_SUBMISSION_VERSION;
    if (version > LP_POW_SUBMISSION_VERSION) {
        lp_ww_fail(w, "pow_submission.version", "unknown version %u (this build writes 1..%u)",
                   version, LP_POW_SUBMISSION_VERSION);
        return -1;
    }
    if (version < 2 && (s->n_shares > 0 || !s->has_solution)) {
        lp_ww_fail(w, "pow_submission.shares",
                   "version 1 carries exactly one solution and no shares (write version 2)");
        return -1;
    }
    if (s->n_shares > LP_WIRE_MAX_POW_SHARES) {
        lp_ww_fail(w, "pow_submission.shares", "more than %d shares", LP_WIRE_MAX_POW_SHARES);
        return -1;
    }
    lp_ww_array(w, lp_submission_fields[version]);
    lp_ww_uint(w, version);
    lp_ww_bin(w, s->miner, LP_WIRE_ADDR_LEN);
    lp_ww_str(w, "pow_submission.node_id", s->node_id, LP_WIRE_MAX_NODE_ID);
    lp_ww_uint(w, s->round);
    lp_ww_bin(w, s->challenge, 32);
    lp_ww_u256(w, &s->nonce);
    lp_ww_uint(w, s->hashes);
    lp_ww_uint(w, s->window_ms);
    lp_ww_uint(w, s->created_at_ms);
    if (version >= 2) {
        lp_ww_array(w, 2);
        lp_ww_uint(w, s->has_solution ? 1 : 0);
        lp_ww_array(w, (uint32_t)s->n_shares);
        for (size_t i = 0; i < s->n_shares; i++)
            lp_ww_u256(w, &s->shares[i]);
    }
    return w->failed ? -1 : 0;
}

static int compare_u256(const void *a, const void *b)
{
    return memcmp(((const struct lp_u256 *)a)->be, ((const struct lp_u256 *)b)->be, 32);
}

/* [has_solution, [nonce ...]]: the nonces distinct, so a batch cannot count one share twice. */
static void read_shares(struct lp_rd *r, const msgpack_object *o, struct lp_wire_pow_submission *s)
{
    uint32_t n = 0;
    const msgpack_object *pair = lp_rd_array_max(r, o, "pow_submission.shares", 2, &n);
    if (pair == NULL || n != 2) {
        if (!r->failed)
            lp_rd_fail(r, "pow_submission.shares", "expected [has_solution, [nonces]]");
        return;
    }
    s->has_solution = lp_rd_uint(r, &pair[0], "pow_submission.shares.has_solution", 1) == 1;
    const msgpack_object *items =
        lp_rd_array_max(r, &pair[1], "pow_submission.shares.nonces", LP_WIRE_MAX_POW_SHARES, &n);
    if (r->failed || n == 0)
        return;
    s->shares = calloc(n, sizeof *s->shares);
    if (s->shares == NULL) {
        lp_rd_fail(r, "pow_submission.shares", "out of memory");
        return;
    }
    s->n_shares = n;
    for (uint32_t i = 0; i < n && !r->failed; i++)
        lp_rd_u256(r, &items[i], "pow_submission.shares.nonces[]", &s->shares[i]);
    if (r->failed)
        return;
    /* Distinct: sorted copy, neighbours compared (n log n for the 1,024 a batch may hold). */
    struct lp_u256 *sorted = malloc(n * sizeof *sorted);
    if (sorted == NULL) {
        lp_rd_fail(r, "pow_submission.shares", "out of memory");
        return;
    }
    memcpy(sorted, s->shares, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_u256);
    for (uint32_t i = 1; i < n; i++)
        if (memcmp(sorted[i - 1].be, sorted[i].be, 32) == 0) {
            lp_rd_fail(r, "pow_submission.shares.nonces", "a share is listed twice");
            break;
        }
    free(sorted);
}

static int lp_submission_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_wire_pow_submission *s = obj;
    uint32_t version;
    const msgpack_object *f = lp_rd_versioned(r, root, "pow_submission", lp_submission_fields,
                                              LP_POW_SUBMISSION_VERSION, &version);
    if (f == NULL)
        return -1;
    s->version = version;
    s->has_solution = version < 2;
    lp_rd_fixbin(r, &f[1], "pow_submission.miner", s->miner, LP_WIRE_ADDR_LEN);
    s->node_id = lp_rd_str(r, &f[2], "pow_submission.node_id", LP_WIRE_MAX_NODE_ID);
    s->round = lp_rd_uint(r, &f[3], "pow_submission.round", UINT64_MAX);
    lp_rd_fixbin(r, &f[4], "pow_submission.challenge", s->challenge, 32);
    lp_rd_u256(r, &f[5], "pow_submission.nonce", &s->nonce);
    s->hashes = lp_rd_uint(r, &f[6], "pow_submission.hashes", UINT64_MAX);
    s->window_ms = lp_rd_uint(r, &f[7], "pow_submission.window_ms", UINT64_MAX);
    s->created_at_ms = lp_rd_uint(r, &f[8], "pow_submission.created_at", UINT64_MAX);
    if (version >= 2 && !r->failed)
        read_shares(r, &f[9], s);
    return r->failed ? -1 : 0;
}

void lp_pow_submission_free(struct lp_wire_pow_submission *s)
{
    if (s == NULL)
        return;
    free(s->node_id);
    free(s->shares);
    memset(s, 0, sizeof(*s));
}

static void lp_submission_free_any(void *s)
{
    lp_pow_submission_free(s);
}

static const struct lp_wire_codec lp_submission_codec = {
    "pow_submission", sizeof(struct lp_wire_pow_submission), lp_submission_write,
    lp_submission_read, lp_submission_free_any};

int lp_pow_submission_encode(const struct lp_wire_pow_submission *s, uint8_t **out, size_t *out_len,
                             struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_submission_codec, s, out, out_len, err);
}

int lp_pow_submission_decode(const uint8_t *data, size_t len, struct lp_wire_pow_submission *s,
                             struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_submission_codec, data, len, s, err);
}
