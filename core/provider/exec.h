/* The provider's use of its executor backend: a job plan turned into the executor's structs
 * (api/lilypad/executor.h) and the calls made through core/dispatch. */
#ifndef LP_PROVIDER_EXEC_H
#define LP_PROVIDER_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include <lilypad/executor.h>

#include "dispatch/executor.h"
#include "loader/backend.h"
#include "provider/job_plan.h"

/* Who submits a job and for which deal ("0x…" texts), for the executor's labels. */
struct lp_exec_owner {
    const char *owner;  /* the provider's address */
    const char *job_id; /* the deal ID */
};

/* Submits the plan with the given GPUs (plan->gpus of them; NULL when it asks for none).
 * 0 with the handle, or -1 with the reason in err. */
int lp_provider_exec_submit(struct lp_backend *b, const struct lp_job_plan *plan,
                            const struct lp_gpu_device *gpus, const struct lp_exec_owner *who,
                            const char *inputs_dir, const char *outputs_dir, char handle[128],
                            char *err, size_t errlen);
/* Removes the jobs an earlier run of `owner` left with the executor, except the `n_keep`
 * handles in keep. Returns how many it removed; 0 when the executor cannot tell (an older
 * plugin), -1 with err on failure. */
long lp_provider_exec_reclaim(struct lp_backend *b, const char *owner, const char (*keep)[128],
                              size_t n_keep, char *err, size_t errlen);
/* Waits up to timeout_ms for the job to end; 0 with *st filled, -1 when the executor no longer
 * knows the job (err says why). */
int lp_provider_exec_wait(struct lp_backend *b, const char *handle, uint64_t timeout_ms,
                          struct lp_job_status *st, char *err, size_t errlen);
int lp_provider_exec_cancel(struct lp_backend *b, const char *handle);
/* Writes the job's stdout and stderr to the two files; a failed write leaves its errno. */
int lp_provider_exec_logs(struct lp_backend *b, const char *handle, const char *stdout_path,
                          const char *stderr_path, char *err, size_t errlen);
int lp_provider_exec_release(struct lp_backend *b, const char *handle);

#endif
