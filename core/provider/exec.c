/* Executor backend calls for the provider. */
#include "provider/exec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void set_handle(struct lp_job_handle *h, const char *id)
{
    memset(h, 0, sizeof *h);
    snprintf(h->id, sizeof h->id, "%s", id);
}

static void plugin_error(struct lp_backend *b, const char *what, int rc, char *err, size_t errlen)
{
    const char *msg = lp_backend_last_error(b);
    snprintf(err, errlen, "executor %s: %s (rc %d)", what, msg && *msg ? msg : "failed", rc);
}

int lp_provider_exec_submit(struct lp_backend *b, const struct lp_job_plan *plan,
                            const char *inputs_dir, const char *outputs_dir, char handle[128],
                            char *err, size_t errlen)
{
    const struct lp_executor_ops *ops = lp_backend_ops(b);
    struct lp_job_spec spec = {
        .struct_size = sizeof spec,
        .image = plan->image,
        .entrypoint = (const char *const *)plan->argv,
        .entrypoint_count = plan->argc,
        .env = (const char *const *)plan->env,
        .env_count = plan->n_env,
        .workdir = plan->workdir,
    };
    struct lp_job_limits limits = {
        .struct_size = sizeof limits,
        .cpu_millicores =
            plan->cpu_millicores > UINT32_MAX ? UINT32_MAX : (uint32_t)plan->cpu_millicores,
        .gpus = plan->gpus,
        .memory_bytes = plan->ram_bytes,
        .disk_bytes = plan->disk_bytes,
        .timeout_ms = plan->timeout_s * 1000u,
        .network = plan->network,
    };
    struct lp_job_handle h;
    memset(&h, 0, sizeof h);
    lp_backend_lock(b);
    int rc = ops->submit(lp_backend_instance(b), &spec, inputs_dir, outputs_dir, &limits, &h);
    if (rc != LP_OK)
        plugin_error(b, "submit", rc, err, errlen);
    lp_backend_unlock(b);
    if (rc != LP_OK)
        return -1;
    h.id[sizeof h.id - 1] = '\0';
    snprintf(handle, 128, "%s", h.id);
    return 0;
}

int lp_provider_exec_poll(struct lp_backend *b, const char *handle, struct lp_job_status *st,
                          char *err, size_t errlen)
{
    const struct lp_executor_ops *ops = lp_backend_ops(b);
    struct lp_job_handle h;
    set_handle(&h, handle);
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
    lp_backend_lock(b);
    int rc = ops->poll(lp_backend_instance(b), &h, st);
    if (rc != LP_OK)
        plugin_error(b, "poll", rc, err, errlen);
    lp_backend_unlock(b);
    st->message[sizeof st->message - 1] = '\0';
    return rc == LP_OK ? 0 : -1;
}

int lp_provider_exec_cancel(struct lp_backend *b, const char *handle)
{
    const struct lp_executor_ops *ops = lp_backend_ops(b);
    if (!LP_BACKEND_HAS_OP(b, struct lp_executor_ops, cancel))
        return -1;
    struct lp_job_handle h;
    set_handle(&h, handle);
    lp_backend_lock(b);
    int rc = ops->cancel(lp_backend_instance(b), &h);
    lp_backend_unlock(b);
    return rc == LP_OK ? 0 : -1;
}

struct sink {
    FILE *f;
    int failed;
};

static int to_file(void *arg, const void *data, size_t len)
{
    struct sink *s = arg;
    if (fwrite(data, 1, len, s->f) != len)
        s->failed = 1;
    return s->failed;
}

int lp_provider_exec_logs(struct lp_backend *b, const char *handle, const char *stdout_path,
                          const char *stderr_path, char *err, size_t errlen)
{
    const struct lp_executor_ops *ops = lp_backend_ops(b);
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
        int rc = LP_OK;
        if (LP_BACKEND_HAS_OP(b, struct lp_executor_ops, logs)) {
            lp_backend_lock(b);
            rc = ops->logs(lp_backend_instance(b), &h, streams[i], to_file, &s);
            if (rc != LP_OK)
                plugin_error(b, "logs", rc, err, errlen);
            lp_backend_unlock(b);
        }
        if (fclose(s.f) != 0)
            s.failed = 1;
        if (rc != LP_OK)
            return -1;
        if (s.failed) {
            snprintf(err, errlen, "logs: writing %s failed", paths[i]);
            return -1;
        }
    }
    return 0;
}

int lp_provider_exec_release(struct lp_backend *b, const char *handle)
{
    const struct lp_executor_ops *ops = lp_backend_ops(b);
    if (!LP_BACKEND_HAS_OP(b, struct lp_executor_ops, release))
        return 0;
    struct lp_job_handle h;
    set_handle(&h, handle);
    lp_backend_lock(b);
    int rc = ops->release(lp_backend_instance(b), &h);
    lp_backend_unlock(b);
    return rc == LP_OK ? 0 : -1;
}
