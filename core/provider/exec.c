/* Executor backend calls for the provider. */
#include "provider/exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static void set_handle(struct lp_job_handle *h, const char *id)
{
    memset(h, 0, sizeof *h);
    snprintf(h->id, sizeof h->id, "%s", id);
}

int lp_provider_exec_submit(struct lp_backend *b, const struct lp_job_plan *plan,
                            const struct lp_gpu_device *gpus, const struct lp_exec_owner *who,
                            const char *inputs_dir, const char *outputs_dir, char handle[128],
                            char *err, size_t errlen)
{
    struct lp_job_spec spec = {
        .struct_size = sizeof spec,
        .image = plan->image,
        .entrypoint = (const char *const *)plan->argv,
        .entrypoint_count = plan->argc,
        .env = (const char *const *)plan->env,
        .env_count = plan->n_env,
        .workdir = plan->workdir,
        .owner = who ? who->owner : NULL,
        .job_id = who ? who->job_id : NULL,
    };
    struct lp_job_limits limits = {
        .struct_size = sizeof limits,
        .cpu_millicores =
            plan->cpu_millicores > UINT32_MAX ? UINT32_MAX : (uint32_t)plan->cpu_millicores,
        .gpus = plan->gpus,
        .memory_bytes = plan->ram_bytes,
        .disk_bytes = plan->disk_bytes,
        .max_pids = plan->max_pids,
        .timeout_ms = plan->timeout_s * 1000u,
        .network = plan->network,
        .gpu_devices = plan->gpus ? gpus : NULL,
        .network_domains = (const char *const *)plan->domains,
        .network_domain_count = plan->n_domains,
    };
    struct lp_job_handle h;
    struct lp_plugin_error pe;
    if (lp_executor_submit(b, &spec, inputs_dir, outputs_dir, &limits, &h, &pe) != LP_OK) {
        snprintf(err, errlen, "%s", pe.message);
        return -1;
    }
    snprintf(handle, 128, "%s", h.id);
    return 0;
}

long lp_provider_exec_reclaim(struct lp_backend *b, const char *owner, const char (*keep)[128],
                              size_t n_keep, char *err, size_t errlen)
{
    struct lp_job_handle *handles = NULL;
    if (n_keep > 0) {
        handles = calloc(n_keep, sizeof *handles);
        if (handles == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n_keep; i++)
            snprintf(handles[i].id, sizeof handles[i].id, "%s", keep[i]);
    }
    size_t removed = 0;
    struct lp_plugin_error pe;
    int rc = lp_executor_reclaim(b, owner, handles, n_keep, &removed, &pe);
    free(handles);
    if (rc == LP_ENOTSUP)
        return 0;
    if (rc != LP_OK) {
        snprintf(err, errlen, "%s", pe.message);
        return -1;
    }
    return (long)removed;
}

int lp_provider_exec_wait(struct lp_backend *b, const char *handle, uint64_t timeout_ms,
                          struct lp_job_status *st, char *err, size_t errlen)
{
    struct lp_job_handle h;
    set_handle(&h, handle);
    struct lp_plugin_error pe;
    if (lp_executor_wait(b, &h, timeout_ms, st, &pe) != LP_OK) {
        snprintf(err, errlen, "%s", pe.message);
        return -1;
    }
    return 0;
}

int lp_provider_exec_cancel(struct lp_backend *b, const char *handle)
{
    struct lp_job_handle h;
    set_handle(&h, handle);
    struct lp_plugin_error pe;
    if (lp_executor_cancel(b, &h, &pe) != LP_OK) {
        lp_warn("provider: %s", pe.message);
        return -1;
    }
    return 0;
}

struct sink {
    FILE *f;
    int failed;
    int err_no; /* of the failed write */
};

static int to_file(void *arg, const void *data, size_t len)
{
    struct sink *s = arg;
    if (fwrite(data, 1, len, s->f) != len) {
        s->failed = 1;
        s->err_no = errno;
    }
    return s->failed;
}

int lp_provider_exec_logs(struct lp_backend *b, const char *handle, const char *stdout_path,
                          const char *stderr_path, char *err, size_t errlen)
{
    struct lp_job_handle h;
    set_handle(&h, handle);
    const char *paths[2] = {stdout_path, stderr_path};
    const int streams[2] = {LP_STREAM_STDOUT, LP_STREAM_STDERR};
    for (int i = 0; i < 2; i++) {
        struct sink s = {.f = fopen(paths[i], "wb")};
        if (!s.f) {
            snprintf(err, errlen, "logs: cannot write %s: %s", paths[i], strerror(errno));
            return -1;
        }
        struct lp_plugin_error pe;
        int rc = lp_executor_logs(b, &h, streams[i], 0, to_file, &s, NULL, &pe);
        /* An executor that keeps no logs leaves the files empty. */
        if (rc == LP_ENOTSUP)
            rc = LP_OK;
        else if (rc != LP_OK)
            snprintf(err, errlen, "%s", pe.message);
        if (fclose(s.f) != 0 && !s.failed) {
            s.failed = 1;
            s.err_no = errno;
        }
        if (rc != LP_OK)
            return -1;
        if (s.failed) {
            snprintf(err, errlen, "logs: writing %s failed: %s", paths[i], strerror(s.err_no));
            errno = s.err_no;
            return -1;
        }
    }
    return 0;
}

int lp_provider_exec_release(struct lp_backend *b, const char *handle)
{
    struct lp_job_handle h;
    set_handle(&h, handle);
    struct lp_plugin_error pe;
    int rc = lp_executor_release(b, &h, &pe);
    if (rc == LP_ENOTSUP)
        return 0;
    if (rc != LP_OK) {
        lp_warn("provider: %s", pe.message);
        return -1;
    }
    return 0;
}
