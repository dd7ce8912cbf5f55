/* executor/bacalhau: runs lilypad jobs on a Bacalhau cluster through its v1 orchestrator API
 * (README.md): submit is a PUT of a batch job, poll and wait read the job and its executions,
 * a completed job's results are downloaded once and unpacked into the outputs folder, cancel
 * and the client-side deadline stop the job on the cluster, reclaim stops what an earlier run
 * of the same provider left running. Not thread-safe: the core serialises the calls. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "bacalhau.h"

static const struct lp_cfg_field bacalhau_schema[] = {
    LP_CFG_FIELD(struct bac_config, api, LP_CFG_STRING, 0, "\"http://127.0.0.1:1234\"",
                 "the orchestrator's API (bacalhau serve --orchestrator listens on port 1234)"),
    LP_CFG_FIELD(struct bac_config, token, LP_CFG_STRING, LP_CFG_SECRET, "\"\"",
                 "API key sent as Authorization: Bearer; empty: none"),
    {.key = "namespace",
     .type = LP_CFG_STRING,
     .default_value = "\"default\"",
     .offset = offsetof(struct bac_config, namespace_),
     .description = "Bacalhau namespace the jobs run in"},
    LP_CFG_FIELD(struct bac_config, poll_interval, LP_CFG_DURATION, 0, "\"1s\"",
                 "time between two status requests for one job"),
    LP_CFG_FIELD(struct bac_config, result_host_rewrite, LP_CFG_BOOL, 0, "true",
                 "download results from the api's host rather than the compute node's own name"),
    LP_CFG_FIELD(struct bac_config, max_result_size, LP_CFG_SIZE, 0, "\"10G\"",
                 "cap of one job's results when its limits set no disk size (0: none)"),
    LP_CFG_FIELD(struct bac_config, default_timeout, LP_CFG_DURATION, 0, "\"1h\"",
                 "timeout of a job whose limits set none (0: none)"),
    LP_CFG_FIELD(struct bac_config, gpus, LP_CFG_STRING, 0, "\"none\"",
                 "the GPUs the cluster's compute nodes have: nvidia, amd or none (the API "
                 "cannot tell; jobs asking for GPUs are refused with none)"),
    LP_CFG_FIELD(struct bac_config, unreachable_grace, LP_CFG_DURATION, 0, "\"30s\"",
                 "how long the orchestrator may be unreachable before its running jobs fail"),
    LP_CFG_FIELD(struct bac_config, request_timeout, LP_CFG_DURATION, 0, "\"30s\"",
                 "limit of one request to the orchestrator"),
    LP_CFG_END,
};

struct bac_job {
    struct bac_job *next;
    char id[128];
    char outputs[PATH_MAX];
    uint64_t submitted_ns; /* monotonic */
    uint64_t timeout_ms;   /* 0: none */
    uint64_t max_result;   /* bytes; 0: no cap */
    uint64_t last_refresh_ns;
    uint64_t unreachable_since_ns; /* 0: the last request got an answer */
    bool done;
    struct lp_job_status status;
    char *out_text, *err_text;
    size_t out_len, err_len;
};

struct bacalhau {
    const struct lp_host *host;
    struct bac_config cfg;
    struct bac_api api;
    struct bac_job *jobs;
    char error[512];
};

/* ---- errors and log lines: the token is scrubbed from both ------------------------------- */
static void set_error(struct bacalhau *b, const char *fmt, ...) LP_PRINTF(2, 3);
static void set_error(struct bacalhau *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof b->error, fmt, ap);
    va_end(ap);
    bac_api_scrub(&b->api, b->error);
    b->host->log(b->host, LP_LOG_ERROR, "%s", b->error);
}

static void log_line(struct bacalhau *b, int level, const char *fmt, ...) LP_PRINTF(3, 4);
static void log_line(struct bacalhau *b, int level, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    bac_api_scrub(&b->api, text);
    b->host->log(b->host, level, "%s", text);
}

static const char *bacalhau_last_error(void *instance)
{
    struct bacalhau *b = instance;
    return b->error[0] ? b->error : "no error";
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool valid_api(const char *api)
{
    return strncmp(api, "http://", 7) == 0 || strncmp(api, "https://", 8) == 0;
}

/* ---- probe, create, destroy --------------------------------------------------------------- */
static int bacalhau_probe(const struct lp_host *host, const void *config, char *reason,
                          size_t reason_len)
{
    (void)host;
    const struct bac_config *cfg = config;
    if (!valid_api(cfg->api)) {
        snprintf(reason, reason_len, "api \"%.200s\" is not an http:// or https:// URL", cfg->api);
        return LP_EUNAVAILABLE;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct bac_api api;
    /* A probe answers quickly: a slow orchestrator is as good as absent at start-up. */
    bac_api_init(&api, cfg->api, cfg->token, 3000);
    struct bac_reply r;
    bac_api_call(&api, "GET", "/api/v1/agent/alive", NULL, &r);
    char why[512];
    bac_reply_describe(&r, why, sizeof why);
    bac_api_scrub(&api, why);
    int rc = LP_OK;
    if (r.status == 401 || r.status == 403) {
        snprintf(reason, reason_len,
                 "bacalhau at %s refused this client: %s (hint: set executor.bacalhau.token to an "
                 "API key the orchestrator accepts)",
                 api.base, why);
        rc = LP_EUNAVAILABLE;
    } else if (r.status != 200) {
        snprintf(reason, reason_len,
                 "bacalhau not reachable at %s: %s (hint: start the orchestrator with `bacalhau "
                 "serve --orchestrator`, or set executor.bacalhau.api)",
                 api.base, why);
        rc = LP_EUNAVAILABLE;
    } else {
        reason[0] = '\0';
    }
    bac_reply_free(&r);
    return rc;
}

static int bacalhau_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct bac_config *cfg = config;
    if (!valid_api(cfg->api)) {
        host->log(host, LP_LOG_ERROR, "api = \"%.200s\": expected an http:// or https:// URL",
                  cfg->api);
        return LP_EINVAL;
    }
    if (strcmp(cfg->gpus, "nvidia") != 0 && strcmp(cfg->gpus, "amd") != 0 &&
        strcmp(cfg->gpus, "none") != 0) {
        host->log(host, LP_LOG_ERROR, "gpus = \"%.40s\": expected nvidia, amd or none", cfg->gpus);
        return LP_EINVAL;
    }
    if (cfg->namespace_[0] == '\0') {
        host->log(host, LP_LOG_ERROR, "namespace is empty: name one (Bacalhau's is \"default\")");
        return LP_EINVAL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        host->log(host, LP_LOG_ERROR, "libcurl failed to initialise");
        return LP_ERR;
    }
    struct bacalhau *b = calloc(1, sizeof *b);
    if (b == NULL)
        return LP_ERR;
    b->host = host;
    b->cfg = *cfg;
    if (b->cfg.poll_interval == 0)
        b->cfg.poll_interval = 1000;
    bac_api_init(&b->api, cfg->api, cfg->token, cfg->request_timeout);
    log_line(b, LP_LOG_INFO, "jobs go to the Bacalhau orchestrator at %s (namespace %s%s)",
             b->api.base, cfg->namespace_, cfg->token[0] ? ", with an API token" : "");
    *instance = b;
    return LP_OK;
}

static void job_free(struct bac_job *job)
{
    if (job == NULL)
        return;
    free(job->out_text);
    free(job->err_text);
    free(job);
}

static void bacalhau_destroy(void *instance)
{
    struct bacalhau *b = instance;
    while (b->jobs != NULL) {
        struct bac_job *next = b->jobs->next;
        job_free(b->jobs);
        b->jobs = next;
    }
    free(b);
}

static struct bac_job *find(struct bacalhau *b, const struct lp_job_handle *h)
{
    for (struct bac_job *j = b->jobs; h != NULL && j != NULL; j = j->next)
        if (strncmp(j->id, h->id, sizeof h->id) == 0)
            return j;
    return NULL;
}

static int unknown(struct bacalhau *b, const struct lp_job_handle *h)
{
    snprintf(b->error, sizeof b->error, "no job \"%.64s\" (released or never submitted)",
             h ? h->id : "");
    return LP_EINVAL;
}

/* ---- stopping a job on the cluster -------------------------------------------------------- */
/* DELETE /jobs/{id}?reason=…: 0, or -1 with why (unreachable set when nothing was sent). */
static int stop_on_cluster(struct bacalhau *b, const char *id, const char *reason, char *why,
                           size_t why_len, bool *unreachable)
{
    char esc_id[400], esc_reason[400], path[900];
    bac_url_escape(id, esc_id, sizeof esc_id);
    bac_url_escape(reason, esc_reason, sizeof esc_reason);
    snprintf(path, sizeof path, "/api/v1/orchestrator/jobs/%s?reason=%s", esc_id, esc_reason);
    struct bac_reply r;
    bac_api_call(&b->api, "DELETE", path, NULL, &r);
    if (unreachable != NULL)
        *unreachable = r.unreachable;
    int rc = r.status >= 200 && r.status < 300 ? 0 : -1;
    if (rc != 0) {
        bac_reply_describe(&r, why, why_len);
        bac_api_scrub(&b->api, why);
    }
    bac_reply_free(&r);
    return rc;
}

/* ---- status -------------------------------------------------------------------------------- */
static void finish(struct bac_job *job, uint32_t state, const char *fmt, ...) LP_PRINTF(3, 4);
static void finish(struct bac_job *job, uint32_t state, const char *fmt, ...)
{
    job->status.state = state;
    job->done = true;
    job->status.finished_ns = real_ns();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->status.message, sizeof job->status.message, fmt, ap);
    va_end(ap);
}

static void set_stream(char **text, size_t *len, char *take, size_t take_len)
{
    free(*text);
    *text = take;
    *len = take_len;
}

/* Joins the distinct non-empty texts with "; ". */
static void join_messages(char *out, size_t cap, const char *const *texts, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (texts[i] == NULL || texts[i][0] == '\0')
            continue;
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen = seen || (texts[k] != NULL && strcmp(texts[k], texts[i]) == 0);
        if (seen)
            continue;
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", len ? "; " : "", texts[i]);
    }
}

static bool says_timeout(const char *text)
{
    return strcasestr(text, "timed out") != NULL || strcasestr(text, "timeout") != NULL ||
           strcasestr(text, "deadline exceeded") != NULL;
}

/* An orchestrator that does not answer: the job keeps its last state for the grace period,
 * then fails with how long and why. Returns true when the job ended. */
static bool unreachable(struct bacalhau *b, struct bac_job *job, const struct bac_reply *r,
                        uint64_t now)
{
    if (job->unreachable_since_ns == 0)
        job->unreachable_since_ns = now;
    uint64_t gone_ms = (now - job->unreachable_since_ns) / 1000000u;
    char why[300];
    bac_reply_describe(r, why, sizeof why);
    bac_api_scrub(&b->api, why);
    if (gone_ms < b->cfg.unreachable_grace) {
        log_line(b, LP_LOG_DEBUG, "job %s: orchestrator did not answer (%s); retrying", job->id,
                 why);
        return false;
    }
    finish(job, LP_JOB_FAILED, "bacalhau orchestrator at %s unreachable for %llu s: %s",
           b->api.base, (unsigned long long)((gone_ms + 500) / 1000), why);
    log_line(b, LP_LOG_WARN, "job %s: %s", job->id, job->status.message);
    return true;
}

/* Transient answers: no answer at all, and a gateway or an overloaded orchestrator. */
static bool transient(const struct bac_reply *r)
{
    return r->status == 0 || r->status == 502 || r->status == 503 || r->status == 504;
}

/* The job completed: results into the outputs folder (once), then EXITED. Returns false when
 * the orchestrator did not answer and the job stays as it was. */
static bool complete(struct bacalhau *b, struct bac_job *job, const struct bac_job_view *v,
                     uint64_t now)
{
    char esc[400], path[512], url[2048], fetch_url[2048], why[512] = "";
    bac_url_escape(job->id, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/v1/orchestrator/jobs/%s/results", esc);
    struct bac_reply r;
    bac_api_call(&b->api, "GET", path, NULL, &r);
    if (transient(&r)) {
        bool ended = unreachable(b, job, &r, now);
        bac_reply_free(&r);
        return ended;
    }
    job->unreachable_since_ns = 0;
    if (r.status != 200) {
        bac_reply_describe(&r, why, sizeof why);
        bac_api_scrub(&b->api, why);
        bac_reply_free(&r);
        finish(job, LP_JOB_FAILED, "completed, but its results could not be listed: %s", why);
        return true;
    }
    int rc = bac_decode_results(r.body, r.len, url, sizeof url, why, sizeof why);
    bac_reply_free(&r);
    if (rc != 0) {
        finish(job, LP_JOB_FAILED, "completed, but %s", why);
        return true;
    }
    if (!b->cfg.result_host_rewrite)
        snprintf(fetch_url, sizeof fetch_url, "%s", url);
    else if (bac_results_rewrite_host(url, b->api.base, fetch_url, sizeof fetch_url, why,
                                      sizeof why) != 0) {
        finish(job, LP_JOB_FAILED, "completed, but %s", why);
        return true;
    }
    struct bac_results res;
    if (bac_results_fetch(&b->api, fetch_url, job->outputs, job->max_result, &res, why,
                          sizeof why) != 0) {
        finish(job, LP_JOB_FAILED, "completed, but its results were refused: %s", why);
        log_line(b, LP_LOG_WARN, "job %s: %s (from %s)", job->id, job->status.message, fetch_url);
        return true;
    }
    const struct bac_exec_view *e = v->has_exec ? &v->exec : NULL;
    /* RunOutput holds what the node kept of the streams; the tarball holds them whole. */
    if (res.stdout_text != NULL && (e == NULL || e->stdout_truncated || e->stdout_len == 0)) {
        set_stream(&job->out_text, &job->out_len, res.stdout_text, res.stdout_len);
        res.stdout_text = NULL;
    }
    if (res.stderr_text != NULL && (e == NULL || e->stderr_truncated || e->stderr_len == 0)) {
        set_stream(&job->err_text, &job->err_len, res.stderr_text, res.stderr_len);
        res.stderr_text = NULL;
    }
    int exit_code = 0;
    if (e != NULL && e->has_run_output)
        exit_code = e->exit_code;
    else if (res.has_exit_code)
        exit_code = res.exit_code;
    log_line(b, LP_LOG_INFO,
             "job %s completed with exit code %d; %llu files, %llu bytes of results", job->id,
             exit_code, (unsigned long long)res.files, (unsigned long long)res.bytes);
    bac_results_free(&res);
    job->status.exit_code = exit_code;
    finish(job, LP_JOB_EXITED, "%s", "");
    return true;
}

/* Asks the orchestrator about the job, at most once per poll interval, and applies the
 * answer; applies the client-side deadline first. */
static void refresh(struct bacalhau *b, struct bac_job *job)
{
    if (job->done)
        return;
    uint64_t now = mono_ns();
    if (job->timeout_ms > 0 && now - job->submitted_ns >= job->timeout_ms * 1000000u) {
        char why[300] = "";
        bool ok = stop_on_cluster(b, job->id, "lilypad: the job's timeout passed", why, sizeof why,
                                  NULL) == 0;
        finish(job, LP_JOB_TIMED_OUT, "timed out after %.1f s%s%s",
               (double)job->timeout_ms / 1000.0,
               ok ? "; stopped on the cluster" : "; stopping it on the cluster failed: ",
               ok ? "" : why);
        log_line(b, LP_LOG_WARN, "job %s: %s", job->id, job->status.message);
        return;
    }
    if (job->last_refresh_ns != 0 && now - job->last_refresh_ns < b->cfg.poll_interval * 1000000u)
        return;
    job->last_refresh_ns = now;
    char esc[400], path[512], why[300];
    bac_url_escape(job->id, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/v1/orchestrator/jobs/%s?include=executions", esc);
    struct bac_reply r;
    bac_api_call(&b->api, "GET", path, NULL, &r);
    if (transient(&r)) {
        unreachable(b, job, &r, now);
        bac_reply_free(&r);
        return;
    }
    job->unreachable_since_ns = 0;
    if (r.status != 200) {
        bac_reply_describe(&r, why, sizeof why);
        bac_api_scrub(&b->api, why);
        bac_reply_free(&r);
        finish(job, LP_JOB_FAILED, "bacalhau orchestrator at %s: job %s: %s", b->api.base, job->id,
               why);
        log_line(b, LP_LOG_WARN, "%s", job->status.message);
        return;
    }
    struct bac_job_view v;
    int rc = bac_decode_job(r.body, r.len, &v, why, sizeof why);
    bac_reply_free(&r);
    if (rc != 0) {
        finish(job, LP_JOB_FAILED, "bacalhau orchestrator's reply about job %s: %s", job->id, why);
        log_line(b, LP_LOG_WARN, "%s", job->status.message);
        return;
    }
    const struct bac_exec_view *e = v.has_exec ? &v.exec : NULL;
    if (e != NULL && e->stdout_text != NULL) {
        set_stream(&job->out_text, &job->out_len, v.exec.stdout_text, v.exec.stdout_len);
        v.exec.stdout_text = NULL;
    }
    if (e != NULL && e->stderr_text != NULL) {
        set_stream(&job->err_text, &job->err_len, v.exec.stderr_text, v.exec.stderr_len);
        v.exec.stderr_text = NULL;
    }
    const char *texts[3] = {e ? e->error_msg : NULL, e ? e->compute_message : NULL,
                            v.state_message};
    char joined[sizeof job->status.message];
    switch (v.state) {
    case BAC_JOB_UNDEFINED:
    case BAC_JOB_PENDING:
    case BAC_JOB_QUEUED:
        job->status.state = LP_JOB_PENDING;
        break;
    case BAC_JOB_RUNNING:
        if (job->status.state != LP_JOB_RUNNING)
            log_line(b, LP_LOG_DEBUG, "job %s is running%s%s", job->id, e ? " as " : "",
                     e ? e->id : "");
        job->status.state = LP_JOB_RUNNING;
        if (job->status.started_ns == 0)
            job->status.started_ns = real_ns();
        break;
    case BAC_JOB_COMPLETED:
        if (job->status.started_ns == 0)
            job->status.started_ns = real_ns();
        complete(b, job, &v, now);
        break;
    case BAC_JOB_FAILED:
        join_messages(joined, sizeof joined, texts, 3);
        finish(job, says_timeout(joined) ? LP_JOB_TIMED_OUT : LP_JOB_FAILED, "%s",
               joined[0] ? joined : "bacalhau reports the job failed and gives no reason");
        log_line(b, LP_LOG_WARN, "job %s: %s", job->id, job->status.message);
        break;
    case BAC_JOB_STOPPED:
        join_messages(joined, sizeof joined, texts, 3);
        finish(job, says_timeout(joined) ? LP_JOB_TIMED_OUT : LP_JOB_CANCELLED, "%s",
               joined[0] ? joined : "stopped on the cluster");
        log_line(b, LP_LOG_INFO, "job %s: %s", job->id, job->status.message);
        break;
    }
    bac_job_view_free(&v);
}

static int copy_status(struct bacalhau *b, const struct bac_job *job, struct lp_job_status *out)
{
    if (lp_job_status_fill(out, &job->status))
        return LP_OK;
    snprintf(b->error, sizeof b->error,
             "job status struct_size %u is smaller than the ABI 1.0 struct (%zu bytes)",
             out ? out->struct_size : 0u, LP_JOB_STATUS_SIZE_1_0);
    return LP_EINVAL;
}

static int bacalhau_poll(void *instance, const struct lp_job_handle *h, struct lp_job_status *out)
{
    struct bacalhau *b = instance;
    struct bac_job *job = find(b, h);
    if (job == NULL)
        return unknown(b, h);
    refresh(b, job);
    return copy_status(b, job, out);
}

static void nap_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int bacalhau_wait(void *instance, const struct lp_job_handle *h, uint64_t timeout_ms,
                         struct lp_job_status *out)
{
    struct bacalhau *b = instance;
    struct bac_job *job = find(b, h);
    if (job == NULL)
        return unknown(b, h);
    const uint64_t forever_ms = UINT64_C(10) * 365 * 24 * 3600 * 1000;
    uint64_t end = mono_ns() + (timeout_ms < forever_ms ? timeout_ms : forever_ms) * 1000000u;
    for (;;) {
        refresh(b, job);
        uint64_t now = mono_ns();
        if (job->done || now >= end || b->host->cancelled(b->host))
            break;
        /* Sleep until the next status request is due, the job's deadline, or the end. */
        uint64_t next = job->last_refresh_ns + b->cfg.poll_interval * 1000000u;
        if (job->timeout_ms > 0 && job->submitted_ns + job->timeout_ms * 1000000u < next)
            next = job->submitted_ns + job->timeout_ms * 1000000u;
        if (next > end)
            next = end;
        /* At most a quarter second at a time, to notice host->cancelled(). */
        uint64_t nap = next > now ? next - now : 1000000u;
        nap_ns(nap < 250000000u ? nap : 250000000u);
    }
    return copy_status(b, job, out);
}

/* ---- submit -------------------------------------------------------------------------------- */
static int bacalhau_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                           const char *outputs_dir, const struct lp_job_limits *limits,
                           struct lp_job_handle *out)
{
    struct bacalhau *b = instance;
    struct lp_job_limits none = {.struct_size = sizeof none};
    if (limits == NULL)
        limits = &none;
    if (spec == NULL || outputs_dir == NULL || outputs_dir[0] != '/') {
        set_error(b, "submit: %s", spec == NULL ? "no job spec" : "outputs folder is not absolute");
        return LP_EINVAL;
    }
    if (strlen(outputs_dir) >= PATH_MAX - 40) {
        set_error(b, "submit: outputs folder path is too long");
        return LP_EINVAL;
    }
    if (limits->gpus > 0 && strcmp(b->cfg.gpus, "none") == 0) {
        set_error(b,
                  "the job asks for %u GPU%s but executor.bacalhau.gpus = \"none\" (set it to "
                  "nvidia or amd when the cluster's compute nodes have GPUs)",
                  limits->gpus, limits->gpus == 1 ? "" : "s");
        return LP_EUNAVAILABLE;
    }
    uint64_t timeout_ms = limits->timeout_ms > 0 ? limits->timeout_ms : b->cfg.default_timeout;
    char why[512];
    char *body = bac_job_build(&b->cfg, spec, inputs_dir, limits, timeout_ms, why, sizeof why);
    if (body == NULL) {
        set_error(b, "job not sent to bacalhau: %s", why);
        return LP_EINVAL;
    }
    struct bac_reply r;
    bac_api_call(&b->api, "PUT", "/api/v1/orchestrator/jobs", body, &r);
    free(body);
    char job_id[128];
    int rc = LP_OK;
    bac_reply_describe(&r, why, sizeof why);
    bac_api_scrub(&b->api, why);
    if (r.status == 0) {
        set_error(b, "bacalhau orchestrator at %s: submitting the job: %s", b->api.base, why);
        /* Nothing reached the server: the core may safely try again. */
        rc = r.unreachable ? LP_RETRY : LP_ERR;
    } else if (r.status == 401 || r.status == 403) {
        set_error(b,
                  "bacalhau orchestrator at %s refused this client: %s (hint: set "
                  "executor.bacalhau.token to an API key it accepts)",
                  b->api.base, why);
        rc = LP_EUNAVAILABLE;
    } else if (r.status == 400) {
        set_error(b, "bacalhau refused the job: %s", why);
        rc = LP_EINVAL;
    } else if (r.status != 200) {
        set_error(b, "bacalhau orchestrator at %s: submitting the job: %s", b->api.base, why);
        rc = LP_ERR;
    } else if (bac_decode_submit(r.body, r.len, job_id, sizeof job_id, why, sizeof why) != 0) {
        set_error(b, "bacalhau orchestrator at %s: submit reply: %s", b->api.base, why);
        rc = LP_ERR;
    }
    bac_reply_free(&r);
    if (rc != LP_OK)
        return rc;
    struct bac_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        set_error(b, "out of memory");
        char ignored[64];
        stop_on_cluster(b, job_id, "lilypad: out of memory", ignored, sizeof ignored, NULL);
        return LP_ERR;
    }
    snprintf(job->id, sizeof job->id, "%s", job_id);
    snprintf(job->outputs, sizeof job->outputs, "%s", outputs_dir);
    job->submitted_ns = mono_ns();
    job->timeout_ms = timeout_ms;
    job->max_result = b->cfg.max_result_size;
    if (limits->disk_bytes > 0 && (job->max_result == 0 || limits->disk_bytes < job->max_result))
        job->max_result = limits->disk_bytes;
    job->status.struct_size = sizeof job->status;
    job->status.state = LP_JOB_PENDING;
    job->next = b->jobs;
    b->jobs = job;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", job_id);
    log_line(b, LP_LOG_INFO, "submitted %s as bacalhau job %s", spec->image, job_id);
    return LP_OK;
}

/* ---- cancel, logs, release ----------------------------------------------------------------- */
static int bacalhau_cancel(void *instance, const struct lp_job_handle *h)
{
    struct bacalhau *b = instance;
    struct bac_job *job = find(b, h);
    if (job == NULL)
        return unknown(b, h);
    if (job->done)
        return LP_OK;
    char why[300];
    bool nothing_sent = false;
    if (stop_on_cluster(b, job->id, "lilypad: cancelled", why, sizeof why, &nothing_sent) != 0) {
        set_error(b, "bacalhau orchestrator at %s: stopping job %s: %s", b->api.base, job->id, why);
        return nothing_sent ? LP_RETRY : LP_ERR;
    }
    finish(job, LP_JOB_CANCELLED, "cancelled; stopped on the cluster");
    log_line(b, LP_LOG_INFO, "job %s cancelled", job->id);
    return LP_OK;
}

static int bacalhau_logs_from(void *instance, const struct lp_job_handle *h, int stream,
                              uint64_t offset, lp_write_fn write_fn, void *arg,
                              uint64_t *next_offset)
{
    struct bacalhau *b = instance;
    if (next_offset != NULL)
        *next_offset = offset;
    if (stream != LP_STREAM_STDOUT && stream != LP_STREAM_STDERR) {
        snprintf(b->error, sizeof b->error, "logs: unknown stream %d (1: stdout, 2: stderr)",
                 stream);
        return LP_EINVAL;
    }
    struct bac_job *job = find(b, h);
    if (job == NULL)
        return unknown(b, h);
    const char *text = stream == LP_STREAM_STDOUT ? job->out_text : job->err_text;
    size_t len = stream == LP_STREAM_STDOUT ? job->out_len : job->err_len;
    if (text == NULL || offset >= len)
        return LP_OK;
    /* Bacalhau hands the streams over only when the job ends: until then there is nothing. */
    size_t n = len - (size_t)offset;
    write_fn(arg, text + offset, n);
    if (next_offset != NULL)
        *next_offset = len;
    return LP_OK;
}

static int bacalhau_logs(void *instance, const struct lp_job_handle *h, int stream,
                         lp_write_fn write_fn, void *arg)
{
    return bacalhau_logs_from(instance, h, stream, 0, write_fn, arg, NULL);
}

static int bacalhau_release(void *instance, const struct lp_job_handle *h)
{
    struct bacalhau *b = instance;
    struct bac_job **pp = &b->jobs;
    while (*pp != NULL && (h == NULL || strncmp((*pp)->id, h->id, sizeof h->id) != 0))
        pp = &(*pp)->next;
    struct bac_job *job = *pp;
    if (job == NULL)
        return unknown(b, h);
    *pp = job->next;
    if (!job->done) {
        /* Still running on the cluster: stop it, or it would run on for nobody. */
        char why[300];
        if (stop_on_cluster(b, job->id, "lilypad: released", why, sizeof why, NULL) != 0)
            log_line(b, LP_LOG_WARN, "released job %s, but stopping it on the cluster failed: %s",
                     job->id, why);
    }
    job_free(job);
    return LP_OK;
}

/* ---- describe ------------------------------------------------------------------------------ */
static int bacalhau_describe(void *instance, struct lp_executor_info *out)
{
    struct bacalhau *b = instance;
    if (out == NULL || out->struct_size < sizeof out->struct_size) {
        snprintf(b->error, sizeof b->error, "describe: struct_size %u holds nothing",
                 out ? out->struct_size : 0u);
        return LP_EINVAL;
    }
    struct lp_executor_info info = {.struct_size = sizeof info};
    /* Whether the compute nodes have GPUs is not something this client can see: it says what
     * the operator configured. Network is Bacalhau's to give; egress-only is not promised. */
    info.attach = LP_EXEC_ATTACH_NETWORK;
    if (strcmp(b->cfg.gpus, "nvidia") == 0)
        info.attach |= LP_EXEC_ATTACH_NVIDIA;
    else if (strcmp(b->cfg.gpus, "amd") == 0)
        info.attach |= LP_EXEC_ATTACH_AMD;
    info.enforces = LP_EXEC_LIMIT_MEMORY | LP_EXEC_LIMIT_CPU | LP_EXEC_LIMIT_TIMEOUT;
    struct bac_reply r;
    char version[48] = "";
    bac_api_call(&b->api, "GET", "/api/v1/agent/version", NULL, &r);
    if (r.status != 200 || bac_decode_version(r.body, r.len, version, sizeof version) != 0)
        snprintf(version, sizeof version, "(version unknown)");
    bac_reply_free(&r);
    snprintf(info.runtime, sizeof info.runtime, "bacalhau %s at %.60s", version, b->api.base);
    size_t size = out->struct_size < sizeof info ? out->struct_size : sizeof info;
    memcpy(out, &info, size);
    out->struct_size = (uint32_t)size;
    return LP_OK;
}

/* ---- reclaim ------------------------------------------------------------------------------- */
struct reclaim_list {
    const char *owner;
    char (*ids)[128];
    size_t count, cap;
    bool oom;
};

static int reclaim_collect(void *arg, const char *job_id, int state, const char *label)
{
    struct reclaim_list *l = arg;
    /* The selector is the server's; the label is checked here too, so a server that ignores
     * the selector never gets another owner's jobs stopped. */
    if (label == NULL || strcmp(label, l->owner) != 0)
        return 0;
    if (state == BAC_JOB_COMPLETED || state == BAC_JOB_FAILED || state == BAC_JOB_STOPPED)
        return 0; /* ended: Bacalhau keeps its record, and nothing of it runs */
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char(*ids)[128] = realloc(l->ids, cap * sizeof *ids);
        if (ids == NULL) {
            l->oom = true;
            return 1;
        }
        l->ids = ids;
        l->cap = cap;
    }
    snprintf(l->ids[l->count++], 128, "%s", job_id);
    return 0;
}

static bool valid_label_value(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

static int bacalhau_reclaim(void *instance, const char *owner, const struct lp_job_handle *keep,
                            size_t keep_count, size_t *removed)
{
    struct bacalhau *b = instance;
    *removed = 0;
    if (owner == NULL || !valid_label_value(owner)) {
        set_error(b, "reclaim: owner \"%.80s\" is not a valid Bacalhau label value",
                  owner ? owner : "");
        return LP_EINVAL;
    }
    struct reclaim_list list = {.owner = owner};
    char token[512] = "", selector[200], esc_sel[400], esc_ns[200], esc_tok[1600];
    char path[2600], why[300];
    snprintf(selector, sizeof selector, "lilypad-owner=%s", owner);
    bac_url_escape(selector, esc_sel, sizeof esc_sel);
    bac_url_escape(b->cfg.namespace_, esc_ns, sizeof esc_ns);
    int rc = LP_OK;
    for (int page = 0; page < 1000; page++) {
        bac_url_escape(token, esc_tok, sizeof esc_tok);
        snprintf(path, sizeof path,
                 "/api/v1/orchestrator/jobs?namespace=%s&labels=%s&limit=100%s%s", esc_ns, esc_sel,
                 token[0] ? "&next_token=" : "", token[0] ? esc_tok : "");
        struct bac_reply r;
        bac_api_call(&b->api, "GET", path, NULL, &r);
        if (r.status != 200) {
            bac_reply_describe(&r, why, sizeof why);
            bac_api_scrub(&b->api, why);
            set_error(b, "bacalhau orchestrator at %s: listing the jobs of %s: %s", b->api.base,
                      owner, why);
            rc = r.status == 0 && r.unreachable && page == 0 ? LP_RETRY : LP_ERR;
            bac_reply_free(&r);
            break;
        }
        int d = bac_decode_list(r.body, r.len, "lilypad-owner", reclaim_collect, &list, token,
                                sizeof token, why, sizeof why);
        bac_reply_free(&r);
        if (d != 0 || list.oom) {
            set_error(b, "bacalhau orchestrator at %s: job list: %s", b->api.base,
                      list.oom ? "out of memory" : why);
            rc = LP_ERR;
            break;
        }
        if (token[0] == '\0')
            break;
    }
    for (size_t i = 0; rc == LP_OK && i < list.count; i++) {
        bool kept = false;
        for (size_t k = 0; k < keep_count && !kept; k++)
            kept = strncmp(keep[k].id, list.ids[i], sizeof keep[k].id) == 0;
        if (kept)
            continue;
        if (stop_on_cluster(b, list.ids[i], "lilypad: left by an earlier run of the provider", why,
                            sizeof why, NULL) == 0)
            (*removed)++;
        else
            log_line(b, LP_LOG_WARN, "reclaim: stopping job %s failed: %s", list.ids[i], why);
    }
    if (rc == LP_OK && *removed > 0)
        log_line(b, LP_LOG_INFO, "stopped %zu job%s an earlier run of %s left on the cluster",
                 *removed, *removed == 1 ? "" : "s", owner);
    free(list.ids);
    return rc;
}

static const struct lp_executor_ops bacalhau_ops = {
    .life =
        {
            .probe = bacalhau_probe,
            .create = bacalhau_create,
            .destroy = bacalhau_destroy,
            .last_error = bacalhau_last_error,
        },
    .submit = bacalhau_submit,
    .poll = bacalhau_poll,
    .cancel = bacalhau_cancel,
    .logs = bacalhau_logs,
    .release = bacalhau_release,
    .describe = bacalhau_describe,
    .logs_from = bacalhau_logs_from,
    .wait = bacalhau_wait,
    .reclaim = bacalhau_reclaim,
};

LP_PLUGIN_DEFINE(executor, bacalhau, "0.1.0",
                 "runs jobs on a Bacalhau cluster through its v1 orchestrator API (docker engine, "
                 "local publisher); results are downloaded and unpacked into the outputs folder",
                 "MIT", bacalhau_ops, bacalhau_schema, struct bac_config,
                 LP_CAP_MULTI_INSTANCE | LP_CAP_NETWORK)
