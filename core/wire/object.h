/* Any protocol object, tagged by its kind, and the sign/open pair used by clients and servers:
 * lp_wire_sign encodes an object and seals it with the author's key; lp_wire_open verifies the
 * envelope, decodes the payload strictly and requires the signer to be the object's author:
 *   job offer -> job_creator, resource offer -> provider, deal -> solver,
 *   result -> resource_provider, mediation request -> requester, verdict -> mediator,
 *   PoW challenge -> issuer, PoW submission -> miner. */
#ifndef LP_WIRE_OBJECT_H
#define LP_WIRE_OBJECT_H

#include "wire/deal.h"
#include "wire/envelope.h"
#include "wire/mediation.h"
#include "wire/offers.h"
#include "wire/pow.h"

struct lp_wire_object {
    uint32_t kind; /* enum lp_wire_kind */
    union {
        struct lp_job_offer job_offer;
        struct lp_resource_offer resource_offer;
        struct lp_deal deal;
        struct lp_result result;
        struct lp_mediation_request mediation_request;
        struct lp_mediation_verdict mediation_verdict;
        struct lp_wire_pow_challenge pow_challenge;
        struct lp_wire_pow_submission pow_submission;
    } u;
};

int lp_wire_object_encode(const struct lp_wire_object *obj, uint8_t **out, size_t *out_len,
                          struct lp_wire_error *err);
int lp_wire_object_decode(uint32_t kind, const uint8_t *data, size_t len,
                          struct lp_wire_object *obj, struct lp_wire_error *err);
void lp_wire_object_free(struct lp_wire_object *obj);
/* The address that must sign the object (points into obj). */
const uint8_t *lp_wire_object_author(const struct lp_wire_object *obj);

/* Encodes obj and seals it with key, which must be the object's author. id may be NULL. */
int lp_wire_sign(const struct lp_key *key, const struct lp_wire_object *obj, uint8_t **out,
                 size_t *out_len, uint8_t id[LP_WIRE_ID_LEN], struct lp_wire_error *err);
/* Verifies and decodes; on success obj must be released with lp_wire_object_free. env may be
 * NULL; when given it receives the envelope (its payload points into data). */
int lp_wire_open(const uint8_t *data, size_t len, struct lp_wire_object *obj,
                 struct lp_envelope *env, struct lp_wire_error *err);

#endif
