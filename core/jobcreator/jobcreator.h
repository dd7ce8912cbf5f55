/* The job creator (`lilypad run`): one job from module reference to verified results.
 *
 *   resolve + render the module (core/module) -> pack and upload --inputs (bundle.h)
 *   -> sign and post the job offer (core/wire, core/client) -> follow the deal through the
 *   solver's event long-poll, reporting every state (progress.h) -> when results are
 *   submitted: check the provider's signed result, download the outputs, verify them against
 *   the result's CID and the stdout/stderr digests (verify.h) -> accept -> report.
 *
 * The outcome is a success only when the job ran, exited 0, and its results verified; a
 * provider error, a non-zero exit, a timeout, a cancel or a mismatch are failures with the
 * reason in one line (how the job ended comes from the result's termination: outcome.h); Lilypad's
 * CLI reported some failures as successes, this one never does. The wait never goes silent:
 * every state change and a heartbeat reach the progress stream, and it ends when the deal reaches a
 * terminal state (the solver's timeouts guarantee one) or the solver is unreachable for
 * `unreachable_s`. */
#ifndef LP_JOBCREATOR_JOBCREATOR_H
#define LP_JOBCREATOR_JOBCREATOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "jobcreator/progress.h"
#include "module/template.h"
#include "wire/offers.h"
#include "wire/wire.h"

enum lp_jc_outcome {
    LP_JC_SUCCEEDED = 0,
    LP_JC_JOB_FAILED,  /* exited non-zero, was killed (out of memory, a signal), could not run */
    LP_JC_TIMED_OUT,   /* a solver timeout (match, execution, download, total), or the provider
                          stopped the job at its execution timeout (--timeout) */
    LP_JC_CANCELLED,   /* the offer or deal was cancelled, or the provider stopped the job */
    LP_JC_UNVERIFIED,  /* results do not match the signed result (CID, digests, signature) */
    LP_JC_LOCAL_ERROR, /* module, inputs, key, solver refused the offer or is unreachable */
};

/* Called on the downloaded blob before anything checks it; tests use it to tamper. */
typedef void (*lp_jc_blob_hook)(void *arg, uint8_t *data, size_t len);

struct lp_jc_request {
    const char *module;    /* reference as typed */
    const char *cache_dir; /* module cache; NULL = default */
    const struct lp_template_input *inputs;
    size_t n_inputs;
    const char *inputs_dir; /* NULL: no input files */
    bool has_target;
    uint8_t target[LP_WIRE_ADDR_LEN];
    /* mediators the job offer names, sorted and unique; none: the solver's configured ones */
    uint8_t mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    size_t n_mediators;
    const char *output_dir;   /* NULL: results_root/<deal id> */
    const char *results_root; /* NULL: the data folder's "results" (util/data_home.h) */
    const char *solver_url;
    const struct lp_key *key;
    uint64_t timeout_s;     /* 0: the module's; else the job's execution timeout */
    uint64_t max_price_wei; /* 0: LP_JC_DEFAULT_MAX_PRICE */
    unsigned unreachable_s; /* give up after the solver fails this long; 0 = 30 */
    /* Most content unpacked from a result (its outputs are unpacked before they can be
     * verified); 0: LP_JC_DEFAULT_MAX_RESULTS. Never more than the downloaded blob's size. */
    uint64_t max_results_bytes;
    struct lp_progress *progress;
    lp_jc_blob_hook blob_hook;
    void *hook_arg;
};

/* Lilypad's job-creator default: market price with a 1 LP (1e18 wei) instruction price cap,
 * which any provider at Lilypad's default price meets. Payment collateral: 2 LP, as Lilypad. */
#define LP_JC_DEFAULT_MAX_PRICE          1000000000000000000ull
#define LP_JC_DEFAULT_PAYMENT_COLLATERAL 2000000000000000000ull
#define LP_JC_DEFAULT_MAX_RESULTS        (4ull << 30)

/* Times (monotonic ms since the request started) at which each step finished; 0 = not reached.
 * The devnet benchmark reads them. */
struct lp_jc_timings {
    uint64_t rendered, posted, matched, results_submitted, downloaded, verified, accepted;
};

struct lp_jc_result {
    enum lp_jc_outcome outcome;
    char reason[768];
    int deal_state; /* last known, -1 before a deal exists */
    char state_name[48];
    uint8_t job_offer_id[LP_WIRE_ID_LEN];
    bool has_deal;
    uint8_t deal_id[LP_WIRE_ID_LEN];
    bool has_result;
    int32_t exit_code;
    uint32_t termination; /* enum lp_termination of the signed result; 0 for version 1 */
    char cid[160];
    char output_dir[PATH_MAX]; /* "" when nothing was downloaded */
    char *stdout_text;         /* malloc'd, NUL-terminated, NULL when none */
    size_t stdout_len;
    char *stderr_text;
    size_t stderr_len;
    struct lp_jc_timings t;
};

/* Runs the job. Returns 0 when outcome is LP_JC_SUCCEEDED, -1 otherwise (res filled either
 * way; release it with lp_jc_result_free). */
int lp_jc_run(const struct lp_jc_request *req, struct lp_jc_result *res);
void lp_jc_result_free(struct lp_jc_result *res);

const char *lp_jc_outcome_name(enum lp_jc_outcome o);

#endif
