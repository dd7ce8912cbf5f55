/* Deals (a job offer matched with a resource offer) and results (what the provider ran).
 *
 * Deal, version 1: msgpack array of 10 fields (signed by the solver)
 *   0 version            uint = 1
 *   1 job_offer_id       bin 32
 *   2 resource_offer_id  bin 32
 *   3 job_creator        bin 20
 *   4 resource_provider  bin 20
 *   5 solver             bin 20 (the envelope signer)
 *   6 mediators          array (<=16) of bin 20, no duplicates, order kept (selection by index)
 *   7 timeouts           array [execution_s, download_s, judge_s, mediation_s] (uint, <=604800)
 *   8 price              array [agreed_price, payment_collateral, results_collateral,
 *                               mediation_fee] (wei, bin 32 each)
 *   9 created_at         uint, unix ms
 *
 * Result, version 1: msgpack array of 10 fields (signed by the resource provider)
 *   0 version            uint = 1
 *   1 deal_id            bin 32
 *   2 resource_provider  bin 20 (the envelope signer)
 *   3 cid                str <= 128 (CID of the outputs; may be empty when error is set)
 *   4 exit_code          int, -2^31 .. 2^31-1 (negative: killed by signal -exit_code)
 *   5 error              str <= 1024 ("" when the job ran)
 *   6 stdout             array [keccak256 bin 32, size uint]
 *   7 stderr             array [keccak256 bin 32, size uint]
 *   8 instruction_count  uint
 *   9 created_at         uint, unix ms */
#ifndef LP_WIRE_DEAL_H
#define LP_WIRE_DEAL_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_DEAL_VERSION        1
#define LP_RESULT_VERSION      1
#define LP_WIRE_MAX_MEDIATORS  16
#define LP_WIRE_MAX_CID        128
#define LP_WIRE_MAX_REASON     1024
#define LP_WIRE_MAX_DURATION_S 604800u

struct lp_deal_timeouts {
    uint64_t execution_s;
    uint64_t download_s;
    uint64_t judge_s;
    uint64_t mediation_s;
};

struct lp_deal {
    uint8_t job_offer_id[LP_WIRE_ID_LEN];
    uint8_t resource_offer_id[LP_WIRE_ID_LEN];
    uint8_t job_creator[LP_WIRE_ADDR_LEN];
    uint8_t resource_provider[LP_WIRE_ADDR_LEN];
    uint8_t solver[LP_WIRE_ADDR_LEN];
    uint8_t mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    size_t n_mediators;
    struct lp_deal_timeouts timeouts;
    struct lp_u256 agreed_price;
    struct lp_u256 payment_collateral;
    struct lp_u256 results_collateral;
    struct lp_u256 mediation_fee;
    uint64_t created_at_ms;
};

struct lp_output_digest {
    uint8_t keccak[LP_WIRE_ID_LEN];
    uint64_t size;
};

struct lp_result {
    uint8_t deal_id[LP_WIRE_ID_LEN];
    uint8_t resource_provider[LP_WIRE_ADDR_LEN];
    char *cid;
    int32_t exit_code;
    char *error;
    struct lp_output_digest stdout_digest;
    struct lp_output_digest stderr_digest;
    uint64_t instruction_count;
    uint64_t created_at_ms;
};

int lp_deal_encode(const struct lp_deal *d, uint8_t **out, size_t *out_len,
                   struct lp_wire_error *err);
int lp_deal_decode(const uint8_t *data, size_t len, struct lp_deal *d, struct lp_wire_error *err);
void lp_deal_free(struct lp_deal *d); /* nothing to release today; kept for symmetry */

int lp_result_encode(const struct lp_result *r, uint8_t **out, size_t *out_len,
                     struct lp_wire_error *err);
int lp_result_decode(const uint8_t *data, size_t len, struct lp_result *r,
                     struct lp_wire_error *err);
void lp_result_free(struct lp_result *r);

#endif
