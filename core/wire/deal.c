/* Deal and result codecs (layouts in deal.h). */
#include "wire/deal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/codec.h"

static const uint32_t lp_deal_fields[] = {0, 10};
static const uint32_t lp_result_fields[] = {0, 10, 11};

/* ---- deal --------------------------------------------------------------------------------- */

static int lp_deal_write(struct lp_ww *w, const void *obj)
{
    const struct lp_deal *d = obj;
    if (d->n_mediators > LP_WIRE_MAX_MEDIATORS) {
        lp_ww_fail(w, "deal.mediators", "more than %d mediators", LP_WIRE_MAX_MEDIATORS);
        return -1;
    }
    for (size_t i = 0; i < d->n_mediators; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(d->mediators[i], d->mediators[j], LP_WIRE_ADDR_LEN) == 0) {
                lp_ww_fail(w, "deal.mediators", "mediator %zu repeats mediator %zu", i, j);
                return -1;
            }
    const uint64_t t[4] = {d->timeouts.execution_s, d->timeouts.download_s, d->timeouts.judge_s,
                           d->timeouts.mediation_s};
    for (int i = 0; i < 4; i++)
        if (t[i] > LP_WIRE_MAX_DURATION_S) {
            lp_ww_fail(w, "deal.timeouts", "timeout %d is over %u seconds", i,
                       LP_WIRE_MAX_DURATION_S);
            return -1;
        }
    lp_ww_array(w, lp_deal_fields[LP_DEAL_VERSION]);
    lp_ww_uint(w, LP_DEAL_VERSION);
    lp_ww_bin(w, d->job_offer_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, d->resource_offer_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, d->job_creator, LP_WIRE_ADDR_LEN);
    lp_ww_bin(w, d->resource_provider, LP_WIRE_ADDR_LEN);
    lp_ww_bin(w, d->solver, LP_WIRE_ADDR_LEN);
    lp_ww_array(w, (uint32_t)d->n_mediators);
    for (size_t i = 0; i < d->n_mediators; i++)
        lp_ww_bin(w, d->mediators[i], LP_WIRE_ADDR_LEN);
    lp_ww_array(w, 4);
    for (int i = 0; i < 4; i++)
        lp_ww_uint(w, t[i]);
    lp_ww_array(w, 4);
    lp_ww_u256(w, &d->agreed_price);
    lp_ww_u256(w, &d->payment_collateral);
    lp_ww_u256(w, &d->results_collateral);
    lp_ww_u256(w, &d->mediation_fee);
    lp_ww_uint(w, d->created_at_ms);
    return w->failed ? -1 : 0;
}

static int lp_deal_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_deal *d = obj;
    uint32_t version, n;
    const msgpack_object *f =
        lp_rd_versioned(r, root, "deal", lp_deal_fields, LP_DEAL_VERSION, &version);
    if (f == NULL)
        return -1;
    lp_rd_fixbin(r, &f[1], "deal.job_offer_id", d->job_offer_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[2], "deal.resource_offer_id", d->resource_offer_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[3], "deal.job_creator", d->job_creator, LP_WIRE_ADDR_LEN);
    lp_rd_fixbin(r, &f[4], "deal.resource_provider", d->resource_provider, LP_WIRE_ADDR_LEN);
    lp_rd_fixbin(r, &f[5], "deal.solver", d->solver, LP_WIRE_ADDR_LEN);
    const msgpack_object *m =
        lp_rd_array_max(r, &f[6], "deal.mediators", LP_WIRE_MAX_MEDIATORS, &n);
    if (m == NULL && r->failed)
        return -1;
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char path[32];
        snprintf(path, sizeof(path), "deal.mediators[%u]", i);
        lp_rd_fixbin(r, &m[i], path, d->mediators[i], LP_WIRE_ADDR_LEN);
        for (uint32_t j = 0; j < i && !r->failed; j++)
            if (memcmp(d->mediators[i], d->mediators[j], LP_WIRE_ADDR_LEN) == 0)
                lp_rd_fail(r, path, "repeats mediator %u", j);
    }
    d->n_mediators = n;
    const msgpack_object *t = lp_rd_array(r, &f[7], "deal.timeouts", 4);
    if (t == NULL)
        return -1;
    d->timeouts.execution_s =
        lp_rd_uint(r, &t[0], "deal.timeouts.execution_s", LP_WIRE_MAX_DURATION_S);
    d->timeouts.download_s =
        lp_rd_uint(r, &t[1], "deal.timeouts.download_s", LP_WIRE_MAX_DURATION_S);
    d->timeouts.judge_s = lp_rd_uint(r, &t[2], "deal.timeouts.judge_s", LP_WIRE_MAX_DURATION_S);
    d->timeouts.mediation_s =
        lp_rd_uint(r, &t[3], "deal.timeouts.mediation_s", LP_WIRE_MAX_DURATION_S);
    const msgpack_object *p = lp_rd_array(r, &f[8], "deal.price", 4);
    if (p == NULL)
        return -1;
    lp_rd_u256(r, &p[0], "deal.price.agreed_price", &d->agreed_price);
    lp_rd_u256(r, &p[1], "deal.price.payment_collateral", &d->payment_collateral);
    lp_rd_u256(r, &p[2], "deal.price.results_collateral", &d->results_collateral);
    lp_rd_u256(r, &p[3], "deal.price.mediation_fee", &d->mediation_fee);
    d->created_at_ms = lp_rd_uint(r, &f[9], "deal.created_at", UINT64_MAX);
    return r->failed ? -1 : 0;
}

void lp_deal_free(struct lp_deal *d)
{
    (void)d;
}

static void lp_deal_free_any(void *d)
{
    lp_deal_free(d);
}

static const struct lp_wire_codec lp_deal_codec = {"deal", sizeof(struct lp_deal), lp_deal_write,
                                                   lp_deal_read, lp_deal_free_any};

int lp_deal_encode(const struct lp_deal *d, uint8_t **out, size_t *out_len,
                   struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_deal_codec, d, out, out_len, err);
}

int lp_deal_decode(const uint8_t *data, size_t len, struct lp_deal *d, struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_deal_codec, data, len, d, err);
}

/* ---- result ------------------------------------------------------------------------------- */

const char *lp_termination_name(uint32_t termination)
{
    static const char *const names[] = {
        [LP_TERMINATION_UNKNOWN] = "unknown",     [LP_TERMINATION_EXITED] = "exited",
        [LP_TERMINATION_TIMED_OUT] = "timed_out", [LP_TERMINATION_OOM_KILLED] = "oom_killed",
        [LP_TERMINATION_CANCELLED] = "cancelled", [LP_TERMINATION_NOT_RUN] = "not_run",
    };
    return termination <= LP_TERMINATION_MAX ? names[termination] : "unknown";
}

static int lp_result_write(struct lp_ww *w, const void *obj)
{
    const struct lp_result *r = obj;
    uint32_t version = r->version ? r->version : LP_RESULT_VERSION;
    if (version > LP_RESULT_VERSION) {
        lp_ww_fail(w, "result.version", "unknown version %u (this build writes 1..%u)", version,
                   LP_RESULT_VERSION);
        return -1;
    }
    if (r->termination > LP_TERMINATION_MAX) {
        lp_ww_fail(w, "result.termination", "%u is not a termination (0..%u)", r->termination,
                   LP_TERMINATION_MAX);
        return -1;
    }
    if (version < 2 && r->termination != LP_TERMINATION_UNKNOWN) {
        lp_ww_fail(w, "result.termination", "version 1 has no termination field (write version 2)");
        return -1;
    }
    lp_ww_array(w, lp_result_fields[version]);
    lp_ww_uint(w, version);
    lp_ww_bin(w, r->deal_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, r->resource_provider, LP_WIRE_ADDR_LEN);
    lp_ww_str(w, "result.cid", r->cid, LP_WIRE_MAX_CID);
    lp_ww_int(w, r->exit_code);
    lp_ww_str(w, "result.error", r->error, LP_WIRE_MAX_REASON);
    lp_ww_array(w, 2);
    lp_ww_bin(w, r->stdout_digest.keccak, LP_WIRE_ID_LEN);
    lp_ww_uint(w, r->stdout_digest.size);
    lp_ww_array(w, 2);
    lp_ww_bin(w, r->stderr_digest.keccak, LP_WIRE_ID_LEN);
    lp_ww_uint(w, r->stderr_digest.size);
    lp_ww_uint(w, r->instruction_count);
    lp_ww_uint(w, r->created_at_ms);
    if (version >= 2)
        lp_ww_uint(w, r->termination);
    return w->failed ? -1 : 0;
}

static void lp_digest_read(struct lp_rd *r, const msgpack_object *o, const char *path,
                           struct lp_output_digest *d)
{
    const msgpack_object *f = lp_rd_array(r, o, path, 2);
    if (f == NULL)
        return;
    char p[48];
    snprintf(p, sizeof(p), "%s.keccak", path);
    lp_rd_fixbin(r, &f[0], p, d->keccak, LP_WIRE_ID_LEN);
    snprintf(p, sizeof(p), "%s.size", path);
    d->size = lp_rd_uint(r, &f[1], p, UINT64_MAX);
}

static int lp_result_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_result *res = obj;
    uint32_t version;
    const msgpack_object *f =
        lp_rd_versioned(r, root, "result", lp_result_fields, LP_RESULT_VERSION, &version);
    if (f == NULL)
        return -1;
    res->version = version;
    lp_rd_fixbin(r, &f[1], "result.deal_id", res->deal_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[2], "result.resource_provider", res->resource_provider, LP_WIRE_ADDR_LEN);
    res->cid = lp_rd_str(r, &f[3], "result.cid", LP_WIRE_MAX_CID);
    res->exit_code = (int32_t)lp_rd_int(r, &f[4], "result.exit_code", INT32_MIN, INT32_MAX);
    res->error = lp_rd_str(r, &f[5], "result.error", LP_WIRE_MAX_REASON);
    lp_digest_read(r, &f[6], "result.stdout", &res->stdout_digest);
    lp_digest_read(r, &f[7], "result.stderr", &res->stderr_digest);
    res->instruction_count = lp_rd_uint(r, &f[8], "result.instruction_count", UINT64_MAX);
    res->created_at_ms = lp_rd_uint(r, &f[9], "result.created_at", UINT64_MAX);
    res->termination =
        version >= 2 ? (uint32_t)lp_rd_uint(r, &f[10], "result.termination", LP_TERMINATION_MAX)
                     : LP_TERMINATION_UNKNOWN;
    return r->failed ? -1 : 0;
}

void lp_result_free(struct lp_result *r)
{
    if (r == NULL)
        return;
    free(r->cid);
    free(r->error);
    memset(r, 0, sizeof(*r));
}

static void lp_result_free_any(void *r)
{
    lp_result_free(r);
}

static const struct lp_wire_codec lp_result_codec = {
    "result", sizeof(struct lp_result), lp_result_write, lp_result_read, lp_result_free_any};

int lp_result_encode(const struct lp_result *r, uint8_t **out, size_t *out_len,
                     struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_result_codec, r, out, out_len, err);
}

int lp_result_decode(const uint8_t *data, size_t len, struct lp_result *r,
                     struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_result_codec, data, len, r, err);
}
