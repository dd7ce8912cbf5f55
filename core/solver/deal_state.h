/* Deal states as Lilypad numbers them (pkg/data/enums.go), the same values as enum
 * lp_deal_state in api/lilypad/verifier.h. Repeated here because verifier.h and wire/pow.h both
 * define struct lp_pow_submission, so no file can include verifier.h and wire/object.h at once;
 * store_sqlite.c checks at compile time that the two lists agree. */
#ifndef LP_SOLVER_DEAL_STATE_H
#define LP_SOLVER_DEAL_STATE_H

enum lp_ds {
    LP_DS_NEGOTIATING = 0,
    LP_DS_AGREED = 1,
    LP_DS_RESULTS_SUBMITTED = 2,
    LP_DS_RESULTS_ACCEPTED = 3,
    LP_DS_RESULTS_CHECKED = 4,
    LP_DS_MEDIATION_ACCEPTED = 5,
    LP_DS_MEDIATION_REJECTED = 6,
    LP_DS_TIMEOUT_SUBMIT_RESULTS = 7,
    LP_DS_TIMEOUT_JUDGE_RESULTS = 8,
    LP_DS_TIMEOUT_MEDIATE_RESULTS = 9,
    LP_DS_JOB_OFFER_CANCELLED = 10,
    LP_DS_JOB_TIMED_OUT = 11,
    LP_DS_UPLOADING = 12,
    LP_DS_DOWNLOADING = 13,
    LP_DS_TIMEOUT_MATCH = 14,
    LP_DS_TIMEOUT_EXECUTION = 15,
    LP_DS_TIMEOUT_DOWNLOAD = 16,
};

#endif
