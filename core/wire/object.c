/* Kind-tagged dispatch over the object families, and sign/open with the author check. */
#include "wire/object.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lp_wire_bad_kind(uint32_t kind, struct lp_wire_error *err)
{
    snprintf(err->message, sizeof(err->message), "envelope.kind: unknown kind %u", kind);
    return -1;
}

int lp_wire_object_encode(const struct lp_wire_object *obj, uint8_t **out, size_t *out_len,
                          struct lp_wire_error *err)
{
    switch (obj->kind) {
    case LP_WIRE_JOB_OFFER:
        return lp_job_offer_encode(&obj->u.job_offer, out, out_len, err);
    case LP_WIRE_RESOURCE_OFFER:
        return lp_resource_offer_encode(&obj->u.resource_offer, out, out_len, err);
    case LP_WIRE_DEAL:
        return lp_deal_encode(&obj->u.deal, out, out_len, err);
    case LP_WIRE_RESULT:
        return lp_result_encode(&obj->u.result, out, out_len, err);
    case LP_WIRE_MEDIATION_REQUEST:
        return lp_mediation_request_encode(&obj->u.mediation_request, out, out_len, err);
    case LP_WIRE_MEDIATION_VERDICT:
        return lp_mediation_verdict_encode(&obj->u.mediation_verdict, out, out_len, err);
    case LP_WIRE_POW_CHALLENGE:
        return lp_pow_challenge_encode(&obj->u.pow_challenge, out, out_len, err);
    case LP_WIRE_POW_SUBMISSION:
        return lp_pow_submission_encode(&obj->u.pow_submission, out, out_len, err);
    }
    return lp_wire_bad_kind(obj->kind, err);
}

int lp_wire_object_decode(uint32_t kind, const uint8_t *data, size_t len,
                          struct lp_wire_object *obj, struct lp_wire_error *err)
{
    memset(obj, 0, sizeof(*obj));
    obj->kind = kind;
    switch (kind) {
    case LP_WIRE_JOB_OFFER:
        return lp_job_offer_decode(data, len, &obj->u.job_offer, err);
    case LP_WIRE_RESOURCE_OFFER:
        return lp_resource_offer_decode(data, len, &obj->u.resource_offer, err);
    case LP_WIRE_DEAL:
        return lp_deal_decode(data, len, &obj->u.deal, err);
    case LP_WIRE_RESULT:
        return lp_result_decode(data, len, &obj->u.result, err);
    case LP_WIRE_MEDIATION_REQUEST:
        return lp_mediation_request_decode(data, len, &obj->u.mediation_request, err);
    case LP_WIRE_MEDIATION_VERDICT:
        return lp_mediation_verdict_decode(data, len, &obj->u.mediation_verdict, err);
    case LP_WIRE_POW_CHALLENGE:
        return lp_pow_challenge_decode(data, len, &obj->u.pow_challenge, err);
    case LP_WIRE_POW_SUBMISSION:
        return lp_pow_submission_decode(data, len, &obj->u.pow_submission, err);
    }
    obj->kind = 0;
    return lp_wire_bad_kind(kind, err);
}

void lp_wire_object_free(struct lp_wire_object *obj)
{
    if (obj == NULL)
        return;
    switch (obj->kind) {
    case LP_WIRE_JOB_OFFER:
        lp_job_offer_free(&obj->u.job_offer);
        break;
    case LP_WIRE_RESOURCE_OFFER:
        lp_resource_offer_free(&obj->u.resource_offer);
        break;
    case LP_WIRE_DEAL:
        lp_deal_free(&obj->u.deal);
        break;
    case LP_WIRE_RESULT:
        lp_result_free(&obj->u.result);
        break;
    case LP_WIRE_MEDIATION_REQUEST:
        lp_mediation_request_free(&obj->u.mediation_request);
        break;
    case LP_WIRE_MEDIATION_VERDICT:
        lp_mediation_verdict_free(&obj->u.mediation_verdict);
        break;
    case LP_WIRE_POW_CHALLENGE:
        lp_pow_challenge_free(&obj->u.pow_challenge);
        break;
    case LP_WIRE_POW_SUBMISSION:
        lp_pow_submission_free(&obj->u.pow_submission);
        break;
    }
    memset(obj, 0, sizeof(*obj));
}

const uint8_t *lp_wire_object_author(const struct lp_wire_object *obj)
{
    switch (obj->kind) {
    case LP_WIRE_JOB_OFFER:
        return obj->u.job_offer.job_creator;
    case LP_WIRE_RESOURCE_OFFER:
        return obj->u.resource_offer.provider;
    case LP_WIRE_DEAL:
        return obj->u.deal.solver;
    case LP_WIRE_RESULT:
        return obj->u.result.resource_provider;
    case LP_WIRE_MEDIATION_REQUEST:
        return obj->u.mediation_request.requester;
    case LP_WIRE_MEDIATION_VERDICT:
        return obj->u.mediation_verdict.mediator;
    case LP_WIRE_POW_CHALLENGE:
        return obj->u.pow_challenge.issuer;
    case LP_WIRE_POW_SUBMISSION:
        return obj->u.pow_submission.miner;
    }
    return NULL;
}

int lp_wire_sign(const struct lp_key *key, const struct lp_wire_object *obj, uint8_t **out,
                 size_t *out_len, uint8_t id[LP_WIRE_ID_LEN], struct lp_wire_error *err)
{
    const uint8_t *author = lp_wire_object_author(obj);
    if (author == NULL)
        return lp_wire_bad_kind(obj->kind, err);
    if (memcmp(author, key->address, LP_WIRE_ADDR_LEN) != 0) {
        snprintf(err->message, sizeof(err->message),
                 "%s: the signing key is not the object's author", lp_wire_kind_name(obj->kind));
        return -1;
    }
    uint8_t *payload = NULL;
    size_t payload_len = 0;
    if (lp_wire_object_encode(obj, &payload, &payload_len, err) != 0)
        return -1;
    int rc = lp_envelope_seal(key, obj->kind, payload, payload_len, out, out_len, id, err);
    free(payload);
    return rc;
}

int lp_wire_open(const uint8_t *data, size_t len, struct lp_wire_object *obj,
                 struct lp_envelope *env, struct lp_wire_error *err)
{
    struct lp_envelope local;
    if (env == NULL)
        env = &local;
    memset(obj, 0, sizeof(*obj));
    if (lp_envelope_open(data, len, env, err) != 0)
        return -1;
    if (lp_wire_object_decode(env->kind, env->payload, env->payload_len, obj, err) != 0)
        return -1;
    if (memcmp(lp_wire_object_author(obj), env->signer, LP_WIRE_ADDR_LEN) != 0) {
        snprintf(err->message, sizeof(err->message), "envelope.signer: not the %s's author field",
                 lp_wire_kind_name(env->kind));
        lp_wire_object_free(obj);
        return -1;
    }
    return 0;
}
