/*
 * Verifier concern: records agreements, results, judgements and proof-of-work rounds where
 * every party can check them (ledger: SQLite on one machine; arbitrum: our contracts on
 * chain). Both backends have the same semantics. Identifiers are 32-byte keccak256 IDs,
 * addresses 20 bytes, amounts big-endian uint256. Required ops: record_agreement,
 * record_result and read_deal, in either form.
 *
 * ABI 1.1 appends the *_v2 forms of every op: the same operation with the call context
 * (struct lp_call): the acting party's address, which a backend checks against the deal (only
 * the job creator accepts or challenges, only the provider records its result, only the booked
 * mediator rules) and signs with, and a cancellation token for a call that waits on a chain. A
 * 1.1 plugin implements the *_v2 forms only; the core uses the 1.0 forms for 1.0 plugins.
 */
#ifndef LILYPAD_VERIFIER_H
#define LILYPAD_VERIFIER_H

#include <lilypad/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deal states, numbered as in Lilypad's pkg/data/enums.go. */
enum lp_deal_state {
    LP_DEAL_NEGOTIATING = 0,
    LP_DEAL_AGREED = 1,
    LP_DEAL_RESULTS_SUBMITTED = 2,
    LP_DEAL_RESULTS_ACCEPTED = 3,
    LP_DEAL_RESULTS_CHECKED = 4,
    LP_DEAL_MEDIATION_ACCEPTED = 5,
    LP_DEAL_MEDIATION_REJECTED = 6,
    LP_DEAL_TIMEOUT_SUBMIT_RESULTS = 7,
    LP_DEAL_TIMEOUT_JUDGE_RESULTS = 8,
    LP_DEAL_TIMEOUT_MEDIATE_RESULTS = 9,
    LP_DEAL_JOB_OFFER_CANCELLED = 10,
    LP_DEAL_JOB_TIMED_OUT = 11,
    LP_DEAL_UPLOADING = 12,
    LP_DEAL_DOWNLOADING = 13,
    LP_DEAL_TIMEOUT_MATCH = 14,
    LP_DEAL_TIMEOUT_EXECUTION = 15,
    LP_DEAL_TIMEOUT_DOWNLOAD = 16,
};

struct lp_agreement {
    uint32_t struct_size;
    uint8_t deal_id[32];
    uint8_t job_creator[20];
    uint8_t resource_provider[20];
    uint8_t mediator[20]; /* all zero: none chosen yet */
    uint8_t price[32];    /* agreed payment, wei */
    uint8_t payment_collateral[32];
    uint8_t results_collateral[32];
    uint64_t execution_timeout_s;
    uint64_t judge_timeout_s;
};

struct lp_result_record {
    uint32_t struct_size;
    uint8_t deal_id[32];
    uint8_t result_id[32];
    char cid[128]; /* storage CID of the outputs */
    uint64_t instruction_count;
    int32_t exit_code;
};

struct lp_deal_record {
    uint32_t struct_size;
    uint32_t state; /* enum lp_deal_state */
    uint8_t deal_id[32];
    uint8_t result_id[32]; /* zero until a result is recorded */
    uint8_t mediator[20];
    char cid[128];
    uint64_t updated_s; /* realtime of the last change */
};

struct lp_pow_round {
    uint32_t struct_size;
    uint64_t round; /* monotonically increasing round number */
    uint8_t provider[20];
    uint8_t challenge[32];
    uint8_t target[32];    /* big-endian uint256 */
    uint64_t window_end_s; /* submissions after this are refused */
};

struct lp_pow_submission {
    uint32_t struct_size;
    uint64_t round;
    uint8_t provider[20];
    uint8_t nonce[32];       /* big-endian uint256 */
    uint64_t hashes_counted; /* the work the provider's verified shares prove so far this
                                round (the solver's credit, never the provider's own count) */
    uint64_t window_ms;
};

struct lp_verifier_ops {
    struct lp_lifecycle_ops life;

    int (*record_agreement)(void *instance, const struct lp_agreement *agreement);
    int (*record_result)(void *instance, const struct lp_result_record *result);
    int (*accept_result)(void *instance, const uint8_t deal_id[32]);
    /* The job creator disputes the result; mediator is the provider chosen to re-run it. */
    int (*challenge_result)(void *instance, const uint8_t deal_id[32], const uint8_t mediator[20]);
    int (*mediation_verdict)(void *instance, const uint8_t deal_id[32], bool result_accepted);
    int (*cancel_deal)(void *instance, const uint8_t deal_id[32], uint32_t terminal_state);
    int (*read_deal)(void *instance, const uint8_t deal_id[32], struct lp_deal_record *out);

    /* Proof of work: a round's challenge for one provider, and a provider's submission. The
     * backend checks the submission by hashing once and refuses it with LP_EINVAL when the
     * digest is not below the target or the window has closed. */
    int (*pow_new_round)(void *instance, const struct lp_pow_round *round);
    int (*pow_submit)(void *instance, const struct lp_pow_submission *submission);

    /* ---- ABI 1.1 ---- */
    int (*record_agreement_v2)(void *instance, const struct lp_call *call,
                               const struct lp_agreement *agreement);
    int (*record_result_v2)(void *instance, const struct lp_call *call,
                            const struct lp_result_record *result);
    int (*accept_result_v2)(void *instance, const struct lp_call *call, const uint8_t deal_id[32]);
    int (*challenge_result_v2)(void *instance, const struct lp_call *call,
                               const uint8_t deal_id[32], const uint8_t mediator[20]);
    int (*mediation_verdict_v2)(void *instance, const struct lp_call *call,
                                const uint8_t deal_id[32], bool result_accepted);
    int (*cancel_deal_v2)(void *instance, const struct lp_call *call, const uint8_t deal_id[32],
                          uint32_t terminal_state);
    int (*read_deal_v2)(void *instance, const struct lp_call *call, const uint8_t deal_id[32],
                        struct lp_deal_record *out);
    int (*pow_new_round_v2)(void *instance, const struct lp_call *call,
                            const struct lp_pow_round *round);
    int (*pow_submit_v2)(void *instance, const struct lp_call *call,
                         const struct lp_pow_submission *submission);
};

#ifdef __cplusplus
}
#endif

#endif /* LILYPAD_VERIFIER_H */
