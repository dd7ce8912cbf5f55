/* Mediation: a job creator challenges a result; a mediator re-runs the job and rules.
 *
 * Mediation request, version 1: msgpack array of 7 fields (signed by the requester)
 *   0 version     uint = 1
 *   1 deal_id     bin 32
 *   2 result_id   bin 32 (ID of the challenged result)
 *   3 requester   bin 20 (the deal's job creator; the envelope signer)
 *   4 reason      str <= 1024
 *   5 created_at  uint, unix ms
 *   6 nonce       bin 16
 *
 * Mediation verdict, version 1: msgpack array of 9 fields (signed by the mediator)
 *   0 version       uint = 1
 *   1 request_id    bin 32 (ID of the mediation request)
 *   2 deal_id       bin 32
 *   3 result_id     bin 32
 *   4 mediator      bin 20 (the envelope signer)
 *   5 verdict       uint: 0 result accepted (provider was right), 1 result rejected
 *   6 mediator_cid  str <= 128 (CID of the mediator's own outputs, "" if none)
 *   7 reason        str <= 1024
 *   8 created_at    uint, unix ms */
#ifndef LP_WIRE_MEDIATION_H
#define LP_WIRE_MEDIATION_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_MEDIATION_REQUEST_VERSION 1
#define LP_MEDIATION_VERDICT_VERSION 1

enum lp_verdict { LP_VERDICT_ACCEPTED = 0, LP_VERDICT_REJECTED = 1 };

struct lp_mediation_request {
    uint8_t deal_id[LP_WIRE_ID_LEN];
    uint8_t result_id[LP_WIRE_ID_LEN];
    uint8_t requester[LP_WIRE_ADDR_LEN];
    char *reason;
    uint64_t created_at_ms;
    uint8_t nonce[LP_WIRE_NONCE_LEN];
};

struct lp_mediation_verdict {
    uint8_t request_id[LP_WIRE_ID_LEN];
    uint8_t deal_id[LP_WIRE_ID_LEN];
    uint8_t result_id[LP_WIRE_ID_LEN];
    uint8_t mediator[LP_WIRE_ADDR_LEN];
    uint32_t verdict; /* enum lp_verdict */
    char *mediator_cid;
    char *reason;
    uint64_t created_at_ms;
};

int lp_mediation_request_encode(const struct lp_mediation_request *m, uint8_t **out,
                                size_t *out_len, struct lp_wire_error *err);
int lp_mediation_request_decode(const uint8_t *data, size_t len, struct lp_mediation_request *m,
                                struct lp_wire_error *err);
void lp_mediation_request_free(struct lp_mediation_request *m);

int lp_mediation_verdict_encode(const struct lp_mediation_verdict *v, uint8_t **out,
                                size_t *out_len, struct lp_wire_error *err);
int lp_mediation_verdict_decode(const uint8_t *data, size_t len, struct lp_mediation_verdict *v,
                                struct lp_wire_error *err);
void lp_mediation_verdict_free(struct lp_mediation_verdict *v);

#endif
