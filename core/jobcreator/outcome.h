/* What a provider's signed result says about the job: the job creator's outcome and its reason
 * line. Decided from the result's termination (version 2): timed_out is a timeout, cancelled a
 * cancel, oom_killed and not_run are failures, exited is judged by its exit code. A version 1
 * result says nothing about how the job ended, so it is judged by its exit code alone. The
 * provider's error text is shown after the reason, never searched for meaning. */
#ifndef LP_JOBCREATOR_OUTCOME_H
#define LP_JOBCREATOR_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "jobcreator/jobcreator.h"
#include "wire/deal.h"

/* has_outputs: whether the provider delivered outputs for the deal. LP_JC_SUCCEEDED only for a
 * job that exited 0 (or a version 1 result with exit code 0), with outputs and no error. */
enum lp_jc_outcome lp_jc_result_outcome(const struct lp_result *r, bool has_outputs, char *reason,
                                        size_t cap);

#endif
