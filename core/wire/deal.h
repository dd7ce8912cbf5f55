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
 * Result, version 2: msgpack array of 11 fields (signed by the resource provider)
 *   0 version            uint = 2 (version 1: fields 0-9 only, version = 1)
 *   1 deal_id            bin 32
 *   2 resource_provider  bin 20 (the envelope signer)
 *   3 cid                str <= 128 (CID of the outputs; may be empty when error is set)
 *   4 exit_code          int, -2^31 .. 2^31-1 (negative: killed by signal -exit_code)
 *   5 error              str <= 1024 ("" when the job ran; text for people, never parsed)
 *   6 stdout             array [keccak256 bin 32, size uint]
 *   7 stderr             array [keccak256 bin 32, size uint]
 *   8 instruction_count  uint
 *   9 created_at         uint, unix ms
 *  10 termination        uint <= 5, how the job ended (enum lp_termination):
 *                          0 unknown    the provider cannot say (it restarted after the run)
 *                          1 exited     ran to its end; exit_code is its status
 *                          2 timed_out  stopped at the deal's execution timeout
 *                          3 oom_killed killed for going over its memory
 *                          4 cancelled  stopped because the deal was cancelled or the provider
 *                                       shut down
 *                          5 not_run    never ran to an exit: refused, could not start, or the
 *                                       sandbox failed (error says why)
 * A version 1 result decodes with termination 0 (unknown): readers then go by exit_code alone.
 * The decoded struct keeps its version, so re-encoding it gives back the same bytes (and ID);
 * new results are written as version 2. */
#ifndef LP_WIRE_DEAL_H
#define LP_WIRE_DEAL_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_DEAL_VERSION        1
#define LP_RESULT_VERSION      2
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

enum lp_termination {
    LP_TERMINATION_UNKNOWN = 0,
    LP_TERMINATION_EXITED = 1,
    LP_TERMINATION_TIMED_OUT = 2,
    LP_TERMINATION_OOM_KILLED = 3,
    LP_TERMINATION_CANCELLED = 4,
    LP_TERMINATION_NOT_RUN = 5,
};
#define LP_TERMINATION_MAX LP_TERMINATION_NOT_RUN

/* "exited", "timed_out", ... as in the layout above; "unknown" for 0 and anything else. */
const char *lp_termination_name(uint32_t termination);

struct lp_result {
    uint32_t version; /* 0 (when building one): LP_RESULT_VERSION; decoded: the version read */
    uint8_t deal_id[LP_WIRE_ID_LEN];
    uint8_t resource_provider[LP_WIRE_ADDR_LEN];
    char *cid;
    int32_t exit_code;
    char *error;
    struct lp_output_digest stdout_digest;
    struct lp_output_digest stderr_digest;
    uint64_t instruction_count;
    uint64_t created_at_ms;
    uint32_t termination; /* enum lp_termination; version 1 has none (UNKNOWN) */
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
