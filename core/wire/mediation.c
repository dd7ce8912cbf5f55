/* Mediation request and verdict codecs (layouts in mediation.h). */
#include "wire/mediation.h"

#include <stdlib.h>
#include <string.h>

#include "wire/codec.h"
#include "wire/deal.h"

static const uint32_t lp_request_fields[] = {0, 7};
static const uint32_t lp_verdict_fields[] = {0, 9};

static int lp_request_write(struct lp_ww *w, const void *obj)
{
    const struct lp_mediation_request *m = obj;
    lp_ww_array(w, lp_request_fields[LP_MEDIATION_REQUEST_VERSION]);
    lp_ww_uint(w, LP_MEDIATION_REQUEST_VERSION);
    lp_ww_bin(w, m->deal_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, m->result_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, m->requester, LP_WIRE_ADDR_LEN);
    lp_ww_str(w, "mediation_request.reason", m->reason, LP_WIRE_MAX_REASON);
    lp_ww_uint(w, m->created_at_ms);
    lp_ww_bin(w, m->nonce, LP_WIRE_NONCE_LEN);
    return w->failed ? -1 : 0;
}

static int lp_request_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_mediation_request *m = obj;
    uint32_t version;
    const msgpack_object *f = lp_rd_versioned(r, root, "mediation_request", lp_request_fields,
                                              LP_MEDIATION_REQUEST_VERSION, &version);
    if (f == NULL)
        return -1;
    lp_rd_fixbin(r, &f[1], "mediation_request.deal_id", m->deal_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[2], "mediation_request.result_id", m->result_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[3], "mediation_request.requester", m->requester, LP_WIRE_ADDR_LEN);
    m->reason = lp_rd_str(r, &f[4], "mediation_request.reason", LP_WIRE_MAX_REASON);
    m->created_at_ms = lp_rd_uint(r, &f[5], "mediation_request.created_at", UINT64_MAX);
    lp_rd_fixbin(r, &f[6], "mediation_request.nonce", m->nonce, LP_WIRE_NONCE_LEN);
    return r->failed ? -1 : 0;
}

void lp_mediation_request_free(struct lp_mediation_request *m)
{
    if (m == NULL)
        return;
    free(m->reason);
    memset(m, 0, sizeof(*m));
}

static void lp_request_free_any(void *m)
{
    lp_mediation_request_free(m);
}

static const struct lp_wire_codec lp_request_codec = {
    "mediation_request", sizeof(struct lp_mediation_request), lp_request_write, lp_request_read,
    lp_request_free_any};

int lp_mediation_request_encode(const struct lp_mediation_request *m, uint8_t **out,
                                size_t *out_len, struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_request_codec, m, out, out_len, err);
}

int lp_mediation_request_decode(const uint8_t *data, size_t len, struct lp_mediation_request *m,
                                struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_request_codec, data, len, m, err);
}

static int lp_verdict_write(struct lp_ww *w, const void *obj)
{
    const struct lp_mediation_verdict *v = obj;
    if (v->verdict > LP_VERDICT_REJECTED) {
        lp_ww_fail(w, "mediation_verdict.verdict", "unknown verdict %u (0 accepted, 1 rejected)",
                   v->verdict);
        return -1;
    }
    lp_ww_array(w, lp_verdict_fields[LP_MEDIATION_VERDICT_VERSION]);
    lp_ww_uint(w, LP_MEDIATION_VERDICT_VERSION);
    lp_ww_bin(w, v->request_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, v->deal_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, v->result_id, LP_WIRE_ID_LEN);
    lp_ww_bin(w, v->mediator, LP_WIRE_ADDR_LEN);
    lp_ww_uint(w, v->verdict);
    lp_ww_str(w, "mediation_verdict.mediator_cid", v->mediator_cid, LP_WIRE_MAX_CID);
    lp_ww_str(w, "mediation_verdict.reason", v->reason, LP_WIRE_MAX_REASON);
    lp_ww_uint(w, v->created_at_ms);
    return w->failed ? -1 : 0;
}

static int lp_verdict_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_mediation_verdict *v = obj;
    uint32_t version;
    const msgpack_object *f = lp_rd_versioned(r, root, "mediation_verdict", lp_verdict_fields,
                                              LP_MEDIATION_VERDICT_VERSION, &version);
    if (f == NULL)
        return -1;
    lp_rd_fixbin(r, &f[1], "mediation_verdict.request_id", v->request_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[2], "mediation_verdict.deal_id", v->deal_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[3], "mediation_verdict.result_id", v->result_id, LP_WIRE_ID_LEN);
    lp_rd_fixbin(r, &f[4], "mediation_verdict.mediator", v->mediator, LP_WIRE_ADDR_LEN);
    v->verdict = (uint32_t)lp_rd_uint(r, &f[5], "mediation_verdict.verdict", LP_VERDICT_REJECTED);
    v->mediator_cid = lp_rd_str(r, &f[6], "mediation_verdict.mediator_cid", LP_WIRE_MAX_CID);
    v->reason = lp_rd_str(r, &f[7], "mediation_verdict.reason", LP_WIRE_MAX_REASON);
    v->created_at_ms = lp_rd_uint(r, &f[8], "mediation_verdict.created_at", UINT64_MAX);
    return r->failed ? -1 : 0;
}

void lp_mediation_verdict_free(struct lp_mediation_verdict *v)
{
    if (v == NULL)
        return;
    free(v->mediator_cid);
    free(v->reason);
    memset(v, 0, sizeof(*v));
}

static void lp_verdict_free_any(void *v)
{
    lp_mediation_verdict_free(v);
}

static const struct lp_wire_codec lp_verdict_codec = {
    "mediation_verdict", sizeof(struct lp_mediation_verdict), lp_verdict_write, lp_verdict_read,
    lp_verdict_free_any};

int lp_mediation_verdict_encode(const struct lp_mediation_verdict *v, uint8_t **out,
                                size_t *out_len, struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_verdict_codec, v, out, out_len, err);
}

int lp_mediation_verdict_decode(const uint8_t *data, size_t len, struct lp_mediation_verdict *v,
                                struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_verdict_codec, data, len, v, err);
}
