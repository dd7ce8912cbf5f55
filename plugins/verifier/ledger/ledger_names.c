/* Deal state names and the terminal set, as Lilypad's pkg/data/enums.go defines them, so the
 * ledger's messages and event log read like the rest of the network's. */
#include "ledger.h"

static const char *const state_names[] = {
    [LP_DEAL_NEGOTIATING] = "DealNegotiating",
    [LP_DEAL_AGREED] = "DealAgreed",
    [LP_DEAL_RESULTS_SUBMITTED] = "ResultsSubmitted",
    [LP_DEAL_RESULTS_ACCEPTED] = "ResultsAccepted",
    [LP_DEAL_RESULTS_CHECKED] = "ResultsChecked",
    [LP_DEAL_MEDIATION_ACCEPTED] = "MediationAccepted",
    [LP_DEAL_MEDIATION_REJECTED] = "MediationRejected",
    [LP_DEAL_TIMEOUT_SUBMIT_RESULTS] = "TimeoutSubmitResults",
    [LP_DEAL_TIMEOUT_JUDGE_RESULTS] = "TimeoutJudgeResults",
    [LP_DEAL_TIMEOUT_MEDIATE_RESULTS] = "TimeoutMediateResults",
    [LP_DEAL_JOB_OFFER_CANCELLED] = "JobOfferCancelled",
    [LP_DEAL_JOB_TIMED_OUT] = "JobTimedOut",
    [LP_DEAL_UPLOADING] = "Uploading",
    [LP_DEAL_DOWNLOADING] = "Downloading",
    [LP_DEAL_TIMEOUT_MATCH] = "TimeoutMatch",
    [LP_DEAL_TIMEOUT_EXECUTION] = "TimeoutExecution",
    [LP_DEAL_TIMEOUT_DOWNLOAD] = "TimeoutDownload",
};

const char *lp_ledger_state_name(uint32_t state)
{
    if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state] != NULL)
        return state_names[state];
    return "unknown";
}

bool lp_ledger_state_is_terminal(uint32_t state)
{
    switch (state) {
    case LP_DEAL_RESULTS_ACCEPTED:
    case LP_DEAL_MEDIATION_ACCEPTED:
    case LP_DEAL_MEDIATION_REJECTED:
    case LP_DEAL_TIMEOUT_SUBMIT_RESULTS:
    case LP_DEAL_TIMEOUT_JUDGE_RESULTS:
    case LP_DEAL_TIMEOUT_MEDIATE_RESULTS:
    case LP_DEAL_JOB_OFFER_CANCELLED:
    case LP_DEAL_JOB_TIMED_OUT:
    case LP_DEAL_TIMEOUT_MATCH:
    case LP_DEAL_TIMEOUT_EXECUTION:
    case LP_DEAL_TIMEOUT_DOWNLOAD:
        return true;
    default:
        return false;
    }
}
