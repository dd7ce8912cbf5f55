/* The provider's calls into its executor backend (api/lilypad/executor.h), each under the
 * backend's lock when the plugin is not thread-safe, with the plugin's error text in err. */
#ifndef LP_PROVIDER_EXEC_H
#define LP_PROVIDER_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include <lilypad/executor.h>

#include "loader/backend.h"
#include "provider/job_plan.h"

int lp_provider_exec_submit(struct lp_backend *b, const struct lp_job_plan *plan,
                            const char *inputs_dir, const char *outputs_dir, char handle[128],
                            char *err, size_t errlen);
/* 0 with *st filled; LP_EINVAL-like failures (unknown handle) return -1 with err. */
int lp_provider_exec_poll(struct lp_backend *b, const char *handle, struct lp_job_status *st,
                          char *err, size_t errlen);
int lp_provider_exec_cancel(struct lp_backend *b, const char *handle);
/* Writes the job's stdout and stderr to the two files. */
int lp_provider_exec_logs(struct lp_backend *b, const char *handle, const char *stdout_path,
                          const char *stderr_path, char *err, size_t errlen);
int lp_provider_exec_release(struct lp_backend *b, const char *handle);

#endif
