/* The core's calls into its executor backend (api/lilypad/executor.h), with the dispatch
 * rules of dispatch.h. Each returns an enum lp_rc; on failure err says why in one line. */
#ifndef LP_DISPATCH_EXECUTOR_H
#define LP_DISPATCH_EXECUTOR_H

#include <lilypad/executor.h>

#include "dispatch/dispatch.h"
#include "loader/backend.h"

/* What the executor can attach and enforce. A plugin without describe() (ABI 1.0) is
 * LP_ENOTSUP with *out zeroed: nothing is known, so nothing is assumed either way. */
int lp_executor_describe(struct lp_backend *b, struct lp_executor_info *out,
                         struct lp_plugin_error *err);
int lp_executor_submit(struct lp_backend *b, const struct lp_job_spec *spec, const char *inputs_dir,
                       const char *outputs_dir, const struct lp_job_limits *limits,
                       struct lp_job_handle *out, struct lp_plugin_error *err);
/* *out is filled as this core's struct; members an older plugin did not write are zero. */
int lp_executor_poll(struct lp_backend *b, const struct lp_job_handle *job,
                     struct lp_job_status *out, struct lp_plugin_error *err);
/* Returns when the job is done or timeout_ms has passed (*out says which). Uses the plugin's
 * wait() (in short slices when the plugin is not thread-safe, so other calls get their turn),
 * else polls with a back-off that starts at 2 ms and grows to 250 ms. */
int lp_executor_wait(struct lp_backend *b, const struct lp_job_handle *job, uint64_t timeout_ms,
                     struct lp_job_status *out, struct lp_plugin_error *err);
int lp_executor_cancel(struct lp_backend *b, const struct lp_job_handle *job,
                       struct lp_plugin_error *err);
/* The stream's bytes from `offset` on; *next_offset (may be NULL) gets the offset after the
 * last byte delivered. A 1.0 plugin without logs_from() is read from the start with the first
 * `offset` bytes skipped. */
int lp_executor_logs(struct lp_backend *b, const struct lp_job_handle *job, int stream,
                     uint64_t offset, lp_write_fn write, void *arg, uint64_t *next_offset,
                     struct lp_plugin_error *err);
int lp_executor_release(struct lp_backend *b, const struct lp_job_handle *job,
                        struct lp_plugin_error *err);

/* Removes what earlier runs of `owner` left behind, except the jobs in keep; *removed gets the
 * count. A plugin without reclaim() (ABI 1.1 and older) is LP_ENOTSUP. */
int lp_executor_reclaim(struct lp_backend *b, const char *owner, const struct lp_job_handle *keep,
                        size_t keep_count, size_t *removed, struct lp_plugin_error *err);

/* True when the job has ended (EXITED, FAILED, CANCELLED, TIMED_OUT). */
bool lp_job_state_done(uint32_t state);

#endif
