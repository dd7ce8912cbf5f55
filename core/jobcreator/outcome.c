/* The outcome of a signed result (outcome.h). */
#include "jobcreator/outcome.h"

#include <stdio.h>

/* The outcome for a job that ran to an exit, or whose end the result does not say. */
static enum lp_jc_outcome by_exit_code(const struct lp_result *r, bool has_outputs, char *what,
                                       size_t cap)
{
    bool has_error = r->error && r->error[0];
    if (!has_outputs) {
        snprintf(what, cap, "%s",
                 r->termination == LP_TERMINATION_EXITED
                     ? "the job ran but the provider delivered no outputs"
                     : "the provider could not run the job");
    } else if (r->exit_code < 0) {
        snprintf(what, cap, "the job was killed by signal %d", -r->exit_code);
    } else if (r->exit_code > 0) {
        snprintf(what, cap, "the job exited with status %d", r->exit_code);
    } else if (has_error) {
        /* exit 0 yet an error: the layout says error is "" when the job ran, so the provider
         * is saying something went wrong; success would be a guess */
        snprintf(what, cap, "the provider reported an error");
    } else {
        what[0] = '\0';
        return LP_JC_SUCCEEDED;
    }
    return LP_JC_JOB_FAILED;
}

enum lp_jc_outcome lp_jc_result_outcome(const struct lp_result *r, bool has_outputs, char *reason,
                                        size_t cap)
{
    char what[128];
    enum lp_jc_outcome o;
    switch (r->termination) {
    case LP_TERMINATION_TIMED_OUT:
        o = LP_JC_TIMED_OUT;
        snprintf(what, sizeof what, "the job timed out on the provider");
        break;
    case LP_TERMINATION_OOM_KILLED:
        o = LP_JC_JOB_FAILED;
        snprintf(what, sizeof what, "the job was killed: out of memory");
        break;
    case LP_TERMINATION_CANCELLED:
        o = LP_JC_CANCELLED;
        snprintf(what, sizeof what, "the job was cancelled on the provider");
        break;
    case LP_TERMINATION_NOT_RUN:
        o = LP_JC_JOB_FAILED;
        snprintf(what, sizeof what, "the provider could not run the job");
        break;
    default: /* EXITED, and UNKNOWN (version 1) */
        o = by_exit_code(r, has_outputs, what, sizeof what);
        break;
    }
    const char *error = r->error && r->error[0] ? r->error : NULL;
    if (o == LP_JC_SUCCEEDED) {
        if (cap)
            reason[0] = '\0';
    } else if (error) {
        snprintf(reason, cap, "%s: %s", what, error);
    } else if (!has_outputs) {
        snprintf(reason, cap, "%s (no reason given, and no outputs)", what);
    } else {
        snprintf(reason, cap, "%s", what);
    }
    return o;
}
