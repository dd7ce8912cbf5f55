#include "dispatch/executor.h"

#include <string.h>
#include <time.h>

#include "dispatch/call.h"

typedef int (*describe_fn)(void *, struct lp_executor_info *);
typedef int (*submit_fn)(void *, const struct lp_job_spec *, const char *, const char *,
                         const struct lp_job_limits *, struct lp_job_handle *);
typedef int (*poll_fn)(void *, const struct lp_job_handle *, struct lp_job_status *);
typedef int (*wait_fn)(void *, const struct lp_job_handle *, uint64_t, struct lp_job_status *);
typedef int (*job_fn)(void *, const struct lp_job_handle *);
typedef int (*logs_fn)(void *, const struct lp_job_handle *, int, lp_write_fn, void *);
typedef int (*reclaim_fn)(void *, const char *, const struct lp_job_handle *, size_t, size_t *);
typedef int (*logs_from_fn)(void *, const struct lp_job_handle *, int, uint64_t, lp_write_fn,
                            void *, uint64_t *);

/* A non-thread-safe plugin's wait() holds the instance lock; slices this long keep cancel()
 * and the other jobs' calls waiting no longer than that. */
#define WAIT_SLICE_MS 100

bool lp_job_state_done(uint32_t state)
{
    return state == LP_JOB_EXITED || state == LP_JOB_FAILED || state == LP_JOB_CANCELLED ||
           state == LP_JOB_TIMED_OUT;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int lp_executor_describe(struct lp_backend *b, struct lp_executor_info *out,
                         struct lp_plugin_error *err)
{
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    describe_fn describe;
    LP_BACKEND_OP(b, struct lp_executor_ops, describe, describe);
    if (describe == NULL)
        return lp_dispatch_unsupported(b, "describe", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "describe", NULL);
    int rc;
    do
        rc = describe(lp_dispatch_instance(&d), out);
    while (lp_dispatch_again(&d, rc));
    out->struct_size = sizeof *out;
    out->runtime[sizeof out->runtime - 1] = '\0';
    return lp_dispatch_end(&d, rc, err);
}

int lp_executor_submit(struct lp_backend *b, const struct lp_job_spec *spec, const char *inputs_dir,
                       const char *outputs_dir, const struct lp_job_limits *limits,
                       struct lp_job_handle *out, struct lp_plugin_error *err)
{
    submit_fn submit;
    LP_BACKEND_OP(b, struct lp_executor_ops, submit, submit);
    if (submit == NULL)
        return lp_dispatch_unsupported(b, "submit", err);
    if (limits != NULL && limits->gpus > 0 && limits->gpu_devices == NULL)
        return lp_dispatch_fail(b, "submit", LP_EINVAL, err,
                                "%u GPUs asked for but none named (the core's own mistake)",
                                limits->gpus);
    memset(out, 0, sizeof *out);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "submit", NULL);
    int rc;
    do
        rc = submit(lp_dispatch_instance(&d), spec, inputs_dir, outputs_dir, limits, out);
    while (lp_dispatch_again(&d, rc));
    out->id[sizeof out->id - 1] = '\0';
    if (rc == LP_OK && out->id[0] == '\0') {
        rc = LP_ERR;
        snprintf(d.text, sizeof d.text, "succeeded but returned no job handle");
    }
    return lp_dispatch_end(&d, rc, err);
}

/* What the plugin wrote, as this core's struct: members past the size it reports stay zero,
 * strings end, and a state outside the enum becomes FAILED rather than "running forever". */
static void status_prepare(struct lp_job_status *st)
{
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
}

static void status_settle(struct lp_job_status *st)
{
    uint32_t size = st->struct_size;
    if (size != 0 && size < sizeof *st)
        memset((unsigned char *)st + size, 0, sizeof *st - size);
    st->struct_size = sizeof *st;
    st->message[sizeof st->message - 1] = '\0';
    if (st->state > LP_JOB_TIMED_OUT) {
        snprintf(st->message, sizeof st->message, "the executor reported unknown state %u",
                 st->state);
        st->state = LP_JOB_FAILED;
    }
}

int lp_executor_poll(struct lp_backend *b, const struct lp_job_handle *job,
                     struct lp_job_status *out, struct lp_plugin_error *err)
{
    poll_fn poll;
    LP_BACKEND_OP(b, struct lp_executor_ops, poll, poll);
    status_prepare(out);
    if (poll == NULL)
        return lp_dispatch_unsupported(b, "poll", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "poll", NULL);
    int rc;
    do
        rc = poll(lp_dispatch_instance(&d), job, out);
    while (lp_dispatch_again(&d, rc));
    status_settle(out);
    return lp_dispatch_end(&d, rc, err);
}

static int wait_once(struct lp_backend *b, wait_fn wait, const struct lp_job_handle *job,
                     uint64_t timeout_ms, struct lp_job_status *out, struct lp_plugin_error *err)
{
    status_prepare(out);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "wait", NULL);
    int rc;
    do
        rc = wait(lp_dispatch_instance(&d), job, timeout_ms, out);
    while (lp_dispatch_again(&d, rc));
    status_settle(out);
    return lp_dispatch_end(&d, rc, err);
}

static void nap_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int lp_executor_wait(struct lp_backend *b, const struct lp_job_handle *job, uint64_t timeout_ms,
                     struct lp_job_status *out, struct lp_plugin_error *err)
{
    wait_fn wait;
    LP_BACKEND_OP(b, struct lp_executor_ops, wait, wait);
    uint64_t end = mono_ms() + timeout_ms;
    if (wait != NULL && !b->serialise)
        return wait_once(b, wait, job, timeout_ms, out, err);
    /* Short jobs are the common case on a devnet: poll every 2 ms at first, then back off to
     * 250 ms so a long job costs nothing. */
    uint64_t delay = 2;
    for (;;) {
        uint64_t now = mono_ms();
        uint64_t left = end > now ? end - now : 0;
        int rc = wait != NULL ? wait_once(b, wait, job, left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS,
                                          out, err)
                              : lp_executor_poll(b, job, out, err);
        if (rc != LP_OK || lp_job_state_done(out->state) || left == 0 || lp_host_cancel_requested())
            return rc;
        if (wait == NULL) {
            nap_ms(delay < left ? delay : left);
            delay = delay * 3 / 2 + 1 > 250 ? 250 : delay * 3 / 2 + 1;
        }
    }
}

int lp_executor_cancel(struct lp_backend *b, const struct lp_job_handle *job,
                       struct lp_plugin_error *err)
{
    job_fn cancel;
    LP_BACKEND_OP(b, struct lp_executor_ops, cancel, cancel);
    if (cancel == NULL)
        return lp_dispatch_unsupported(b, "cancel", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "cancel", NULL);
    int rc;
    do
        rc = cancel(lp_dispatch_instance(&d), job);
    while (lp_dispatch_again(&d, rc));
    return lp_dispatch_end(&d, rc, err);
}

int lp_executor_release(struct lp_backend *b, const struct lp_job_handle *job,
                        struct lp_plugin_error *err)
{
    job_fn release;
    LP_BACKEND_OP(b, struct lp_executor_ops, release, release);
    if (release == NULL)
        return lp_dispatch_unsupported(b, "release", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "release", NULL);
    int rc;
    do
        rc = release(lp_dispatch_instance(&d), job);
    while (lp_dispatch_again(&d, rc));
    return lp_dispatch_end(&d, rc, err);
}

int lp_executor_reclaim(struct lp_backend *b, const char *owner, const struct lp_job_handle *keep,
                        size_t keep_count, size_t *removed, struct lp_plugin_error *err)
{
    *removed = 0;
    reclaim_fn reclaim;
    LP_BACKEND_OP(b, struct lp_executor_ops, reclaim, reclaim);
    if (reclaim == NULL)
        return lp_dispatch_unsupported(b, "reclaim", err);
    if (owner == NULL || owner[0] == '\0')
        return lp_dispatch_fail(b, "reclaim", LP_EINVAL, err,
                                "no owner given (the core's own mistake)");
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "reclaim", NULL);
    int rc;
    do
        rc = reclaim(lp_dispatch_instance(&d), owner, keep, keep_count, removed);
    while (lp_dispatch_again(&d, rc));
    return lp_dispatch_end(&d, rc, err);
}

/* A 1.0 plugin's logs() always starts at byte 0: drop the first `skip` bytes on the way. */
struct skip_sink {
    uint64_t skip, delivered;
    lp_write_fn write;
    void *arg;
    bool stopped;
};

static int skip_write(void *arg, const void *data, size_t len)
{
    struct skip_sink *s = arg;
    const unsigned char *p = data;
    if (s->skip >= len) {
        s->skip -= len;
        return 0;
    }
    p += s->skip;
    len -= (size_t)s->skip;
    s->skip = 0;
    s->delivered += len;
    if (s->write(s->arg, p, len) != 0) {
        s->stopped = true;
        return 1;
    }
    return 0;
}

int lp_executor_logs(struct lp_backend *b, const struct lp_job_handle *job, int stream,
                     uint64_t offset, lp_write_fn write, void *arg, uint64_t *next_offset,
                     struct lp_plugin_error *err)
{
    logs_from_fn logs_from;
    logs_fn logs;
    LP_BACKEND_OP(b, struct lp_executor_ops, logs_from, logs_from);
    LP_BACKEND_OP(b, struct lp_executor_ops, logs, logs);
    if (next_offset != NULL)
        *next_offset = offset;
    if (logs_from == NULL && logs == NULL)
        return lp_dispatch_unsupported(b, "logs", err);
    struct lp_dispatch d;
    int rc;
    if (logs_from != NULL) {
        uint64_t next = offset;
        lp_dispatch_begin(&d, b, "logs", NULL);
        do
            rc = logs_from(lp_dispatch_instance(&d), job, stream, offset, write, arg, &next);
        while (lp_dispatch_again(&d, rc));
        if (rc == LP_OK && next_offset != NULL)
            *next_offset = next < offset ? offset : next;
        return lp_dispatch_end(&d, rc, err);
    }
    /* A retried logs() call starts over from byte 0: skip what earlier attempts delivered. */
    struct skip_sink sink = {.write = write, .arg = arg};
    lp_dispatch_begin(&d, b, "logs", NULL);
    do {
        sink.skip = offset + sink.delivered;
        rc = logs(lp_dispatch_instance(&d), job, stream, skip_write, &sink);
    } while (!sink.stopped && lp_dispatch_again(&d, rc));
    if (rc == LP_OK && next_offset != NULL)
        *next_offset = offset + sink.delivered;
    return lp_dispatch_end(&d, rc, err);
}
