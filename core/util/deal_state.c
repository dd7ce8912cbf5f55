#include "util/deal_state.h"

#include <lilypad/verifier.h>

static const char *const names[] = {
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

const char *lp_deal_state_name(uint32_t state)
{
    return state < sizeof names / sizeof names[0] && names[state] ? names[state] : "Unknown";
}

uint32_t lp_deal_state_count(void)
{
    return (uint32_t)(sizeof names / sizeof names[0]);
}

bool lp_deal_state_active(uint32_t state)
{
    switch (state) {
    case LP_DEAL_NEGOTIATING:
    case LP_DEAL_AGREED:
    case LP_DEAL_RESULTS_SUBMITTED:
    case LP_DEAL_RESULTS_CHECKED:
    case LP_DEAL_UPLOADING:
    case LP_DEAL_DOWNLOADING:
        return true;
    default:
        return false;
    }
}

bool lp_deal_state_terminal(uint32_t state)
{
    return !lp_deal_state_active(state);
}
