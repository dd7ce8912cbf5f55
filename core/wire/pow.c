/* PoW challenge and submission codecs (layouts in pow.h). */
#include "wire/pow.h"

#include <stdlib.h>
#include <string.h>

#include "wire/codec.h"

static const uint32_t lp_challenge_fields[] = {0, 8};
static const uint32_t lp_submission_fields[] = {0, 9};

static int lp_challenge_write(struct lp_ww *w, const void *obj)
{
    const struct lp_wire_pow_challenge *c = obj;
    if (c->window_end_ms < c->window_start_ms) {
        lp_ww_fail(w, "pow_challenge.window_end", "ends before window_start");
        return -1;
    }
    lp_ww_array(w, lp_challenge_fields[LP_POW_CHALLENGE_VERSION]);
    lp_ww_uint(w, LP_POW_CHALLENGE_VERSION);
    lp_ww_bin(w, c->issuer, LP_WIRE_ADDR_LEN);
    lp_ww_bin(w, c->provider, LP_WIRE_ADDR_LEN);
    lp_ww_uint(w, c->round);
    lp_ww_bin(w, c->challenge, 32);
    lp_ww_u256(w, &c->target);
    lp_ww_uint(w, c->window_start_ms);
    lp_ww_uint(w, c->window_end_ms);
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
    lp_rd_fixbin(r, &f[1], "pow_challenge.issuer", c->issuer, LP_WIRE_ADDR_LEN);
    lp_rd_fixbin(r, &f[2], "pow_challenge.provider", c->provider, LP_WIRE_ADDR_LEN);
    c->round = lp_rd_uint(r, &f[3], "pow_challenge.round", UINT64_MAX);
    lp_rd_fixbin(r, &f[4], "pow_challenge.challenge", c->challenge, 32);
    lp_rd_u256(r, &f[5], "pow_challenge.target", &c->target);
    c->window_start_ms = lp_rd_uint(r, &f[6], "pow_challenge.window_start", UINT64_MAX);
    c->window_end_ms = lp_rd_uint(r, &f[7], "pow_challenge.window_end", UINT64_MAX);
    if (!r->failed && c->window_end_ms < c->window_start_ms)
        lp_rd_fail(r, "pow_challenge.window_end", "ends before window_start");
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
    lp_ww_array(w, lp_submission_fields[LP_POW_SUBMISSION_VERSION]);
    lp_ww_uint(w, LP_POW_SUBMISSION_VERSION);
    lp_ww_bin(w, s->miner, LP_WIRE_ADDR_LEN);
    lp_ww_str(w, "pow_submission.node_id", s->node_id, LP_WIRE_MAX_NODE_ID);
    lp_ww_uint(w, s->round);
    lp_ww_bin(w, s->challenge, 32);
    lp_ww_u256(w, &s->nonce);
    lp_ww_uint(w, s->hashes);
    lp_ww_uint(w, s->window_ms);
    lp_ww_uint(w, s->created_at_ms);
    return w->failed ? -1 : 0;
}

static int lp_submission_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_wire_pow_submission *s = obj;
    uint32_t version;
    const msgpack_object *f = lp_rd_versioned(r, root, "pow_submission", lp_submission_fields,
                                              LP_POW_SUBMISSION_VERSION, &version);
    if (f == NULL)
        return -1;
    lp_rd_fixbin(r, &f[1], "pow_submission.miner", s->miner, LP_WIRE_ADDR_LEN);
    s->node_id = lp_rd_str(r, &f[2], "pow_submission.node_id", LP_WIRE_MAX_NODE_ID);
    s->round = lp_rd_uint(r, &f[3], "pow_submission.round", UINT64_MAX);
    lp_rd_fixbin(r, &f[4], "pow_submission.challenge", s->challenge, 32);
    lp_rd_u256(r, &f[5], "pow_submission.nonce", &s->nonce);
    s->hashes = lp_rd_uint(r, &f[6], "pow_submission.hashes", UINT64_MAX);
    s->window_ms = lp_rd_uint(r, &f[7], "pow_submission.window_ms", UINT64_MAX);
    s->created_at_ms = lp_rd_uint(r, &f[8], "pow_submission.created_at", UINT64_MAX);
    return r->failed ? -1 : 0;
}

void lp_pow_submission_free(struct lp_wire_pow_submission *s)
{
    if (s == NULL)
        return;
    free(s->node_id);
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
