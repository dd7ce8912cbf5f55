/* executor/docker: runs jobs as containers through the Docker Engine API, or Podman's
 * Docker-compatible service, over a unix socket (README.md). This file: the descriptor, the
 * configuration, the lifecycle and the executor ops; the job's life is in docker_job.c. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <lilypad/executor.h>

#include "wait_deadline.h"

#include "docker.h"

static const struct lp_cfg_field docker_schema[] = {
    LP_CFG_FIELD(struct lp_docker_config, socket, LP_CFG_STRING, 0, "\"/var/run/docker.sock\"",
                 "the engine's unix socket (Podman: /run/podman/podman.sock); left at the "
                 "default, DOCKER_HOST=unix://PATH wins"),
    LP_CFG_FIELD(struct lp_docker_config, registry, LP_CFG_STRING, 0, "\"\"",
                 "the registry the credentials are for (\"\": every pull)"),
    LP_CFG_FIELD(struct lp_docker_config, registry_username, LP_CFG_STRING, 0, "\"\"",
                 "registry user name (\"\": anonymous pulls)"),
    LP_CFG_FIELD(struct lp_docker_config, registry_password, LP_CFG_STRING, LP_CFG_SECRET, "\"\"",
                 "registry password or token"),
    LP_CFG_FIELD(struct lp_docker_config, pull, LP_CFG_STRING, 0, "\"missing\"",
                 "when to pull images: missing, always or never"),
    LP_CFG_FIELD(struct lp_docker_config, image_archives, LP_CFG_STRING, 0, "\"\"",
                 "folder of image archives (docker save / OCI tar, named <image>.tar with / : @ "
                 "as _) loaded when an image is absent and cannot be pulled"),
    LP_CFG_FIELD(struct lp_docker_config, gpu, LP_CFG_STRING, 0, "\"auto\"",
                 "how GPUs are attached: nvidia, amd, none, or auto (the top-level gpu setting)"),
    LP_CFG_FIELD(struct lp_docker_config, default_timeout, LP_CFG_DURATION, 0, "\"1h\"",
                 "wall-clock limit of a job whose limits set none (0: none)"),
    LP_CFG_FIELD(struct lp_docker_config, kill_grace, LP_CFG_DURATION, 0, "\"5s\"",
                 "time between SIGTERM and SIGKILL on timeout or cancel"),
    LP_CFG_FIELD(struct lp_docker_config, default_max_pids, LP_CFG_INT, 0, "1024",
                 "process limit of a job whose limits set none (0: no limit)"),
    LP_CFG_FIELD(struct lp_docker_config, default_memory, LP_CFG_SIZE, 0, "\"4G\"",
                 "memory limit of a job whose limits set none (0: no limit)"),
    LP_CFG_FIELD(struct lp_docker_config, daemon_wait, LP_CFG_DURATION, 0, "\"60s\"",
                 "how long a running job waits for a daemon that went away to come back"),
    LP_CFG_END,
};

/* ---- errors ------------------------------------------------------------------------------
 * LP_CAP_THREADSAFE: the core reads last_error() on the thread that made the failed call,
 * while other threads fail other calls, so each thread keeps its own. */
static _Thread_local char thread_error[512];

static void note_error(const char *fmt, ...) LP_PRINTF(1, 2);
static void note_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_error, sizeof thread_error, fmt, ap);
    va_end(ap);
}

void dk_set_error(const struct lp_docker *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_error, sizeof thread_error, fmt, ap);
    va_end(ap);
    d->host->log(d->host, LP_LOG_ERROR, "%s", thread_error);
}

static const char *docker_last_error(void *instance)
{
    (void)instance;
    return thread_error[0] ? thread_error : "no error";
}

static int docker_probe(const struct lp_host *host, const void *config, char *reason,
                        size_t reason_len)
{
    (void)host;
    const struct lp_docker_config *cfg = config;
    struct dk_engine e = {0};
    if (dk_engine_socket(cfg->socket, e.socket, sizeof e.socket, reason, reason_len) != 0)
        return LP_EUNAVAILABLE;
    struct dk_request rq = {
        .method = "GET", .path = "/_ping", .timeout_ms = 5000, .unversioned = true};
    struct dk_response r;
    if (dk_call(&e, &rq, &r, reason, reason_len) != 0)
        return LP_EUNAVAILABLE;
    int api = dk_parse_api_version(r.api_version);
    long status = r.status;
    dk_response_free(&r);
    if (status != 200 || api < 0) {
        snprintf(reason, reason_len,
                 "%s answered /_ping with HTTP %ld and no Api-Version: not a Docker engine",
                 e.socket, status);
        return LP_EUNAVAILABLE;
    }
    if (api < DK_API_OLDEST) {
        snprintf(reason, reason_len, "the engine at %s speaks API 1.%d, older than 1.%d", e.socket,
                 api, DK_API_OLDEST);
        return LP_EUNAVAILABLE;
    }
    reason[0] = '\0';
    return LP_OK;
}

static bool one_of(const char *value, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++)
        if (strcmp(value, *allowed) == 0)
            return true;
    return false;
}

static int docker_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct lp_docker_config *cfg = config;
    static const char *const pulls[] = {"missing", "always", "never", NULL};
    static const char *const gpus[] = {"auto", "nvidia", "amd", "none", NULL};
    if (!one_of(cfg->pull, pulls)) {
        host->log(host, LP_LOG_ERROR, "pull = \"%s\": expected missing, always or never",
                  cfg->pull);
        return LP_EINVAL;
    }
    if (!one_of(cfg->gpu, gpus)) {
        host->log(host, LP_LOG_ERROR, "gpu = \"%s\": expected auto, nvidia, amd or none", cfg->gpu);
        return LP_EINVAL;
    }
    if (cfg->registry_password[0] != '\0' && cfg->registry_username[0] == '\0') {
        host->log(host, LP_LOG_ERROR, "registry_password is set without registry_username");
        return LP_EINVAL;
    }
    struct lp_docker *d = calloc(1, sizeof *d);
    if (d == NULL)
        return LP_ERR;
    d->host = host;
    d->cfg = *cfg;
    char err[512];
    if (dk_engine_socket(cfg->socket, d->engine.socket, sizeof d->engine.socket, err, sizeof err) !=
        0) {
        host->log(host, LP_LOG_ERROR, "%s", err);
        free(d);
        return LP_EINVAL;
    }
    /* The plugin's own setting wins; auto follows the top-level gpu setting, and where that
     * is auto too, each GPU's vendor decides. */
    d->gpu = cfg->gpu;
    if (strcmp(d->gpu, "auto") == 0 && host->gpu_vendor != NULL) {
        const char *top = host->gpu_vendor(host);
        if (top != NULL && one_of(top, gpus))
            d->gpu = strcmp(top, "nvidia") == 0 ? "nvidia"
                     : strcmp(top, "amd") == 0  ? "amd"
                     : strcmp(top, "none") == 0 ? "none"
                                                : "auto";
    }
    pthread_mutex_init(&d->engine.lock, NULL);
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->changed, &attr);
    pthread_condattr_destroy(&attr);
    /* A daemon that is down now may be up by the first job: that job says so if not. */
    if (dk_engine_connect(&d->engine, err, sizeof err) == LP_OK)
        host->log(host, LP_LOG_INFO, "%s at %s", d->engine.runtime, d->engine.socket);
    else
        host->log(host, LP_LOG_WARN, "%s", err);
    *instance = d;
    return LP_OK;
}

/* Caller holds d->lock and has unlinked the job: wakes its waiters (they return "released")
 * and returns once none is left. */
static void drain_waiters(struct lp_docker *d, struct dk_job *job)
{
    job->released = true;
    job->stop_requested = true;
    pthread_cond_broadcast(&d->changed);
    while (job->waiters > 0)
        pthread_cond_wait(&d->changed, &d->lock);
}

/* Jobs outlive the instance: destroy stops following them but leaves their containers, which a
 * restarted provider adopts (by handle) or removes (reclaim). */
static void docker_destroy(void *instance)
{
    struct lp_docker *d = instance;
    pthread_mutex_lock(&d->lock);
    struct dk_job *jobs = d->jobs;
    d->jobs = NULL;
    for (struct dk_job *j = jobs; j != NULL; j = j->next)
        drain_waiters(d, j);
    pthread_mutex_unlock(&d->lock);
    while (jobs != NULL) {
        struct dk_job *next = jobs->next;
        dk_job_free(jobs);
        jobs = next;
    }
    pthread_cond_destroy(&d->changed);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->engine.lock);
    free(d);
}

/* Caller holds d->lock. */
static struct dk_job *find_locked(struct lp_docker *d, const char *name)
{
    for (struct dk_job *j = d->jobs; j != NULL; j = j->next)
        if (strcmp(j->name, name) == 0)
            return j;
    return NULL;
}

static bool handle_name_ok(const struct lp_job_handle *h)
{
    if (h == NULL || memchr(h->id, '\0', sizeof h->id) == NULL ||
        strncmp(h->id, "lilypad-", 8) != 0 || strlen(h->id) >= sizeof(((struct dk_job *)0)->name))
        return false;
    for (const char *p = h->id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/*
 * The job of a handle, with d->lock held; NULL (lock not held, error noted) when there is none.
 * A handle this instance does not know may be a job an earlier run of the provider submitted
 * (its container still carries our labels): it is adopted, so a restarted provider can follow,
 * read and release the jobs it kept through reclaim().
 */
static struct dk_job *find(struct lp_docker *d, const struct lp_job_handle *h, int *rc)
{
    if (!handle_name_ok(h)) {
        note_error("no job \"%.64s\" (not a handle of this plugin)", h ? h->id : "");
        *rc = LP_EINVAL;
        return NULL;
    }
    pthread_mutex_lock(&d->lock);
    struct dk_job *job = find_locked(d, h->id);
    if (job != NULL)
        return job;
    pthread_mutex_unlock(&d->lock);
    char err[400];
    int connected = dk_engine_connect(&d->engine, err, sizeof err);
    struct dk_state st;
    int found = connected == LP_OK ? dk_container_inspect(d, h->id, &st, err, sizeof err) : -1;
    if (found != 0 || !st.ours) {
        if (found < 0) {
            note_error("%s", err);
            *rc = connected == LP_OK ? LP_ERR : connected;
        } else {
            note_error("no job \"%.64s\" (released or never submitted)", h->id);
            *rc = LP_EINVAL;
        }
        return NULL;
    }
    struct dk_job *adopted = calloc(1, sizeof *adopted);
    if (adopted == NULL) {
        note_error("out of memory");
        *rc = LP_ERR;
        return NULL;
    }
    adopted->owner = d;
    snprintf(adopted->name, sizeof adopted->name, "%s", h->id);
    snprintf(adopted->id, sizeof adopted->id, "%s", h->id);
    adopted->status.struct_size = sizeof adopted->status;
    pthread_mutex_lock(&d->lock);
    job = find_locked(d, h->id);
    if (job != NULL) { /* another thread adopted it meanwhile */
        free(adopted);
        return job;
    }
    if (dk_job_adopt(adopted, &st) != 0) {
        pthread_mutex_unlock(&d->lock);
        free(adopted);
        note_error("cannot start a thread to follow job %s", h->id);
        *rc = LP_ERR;
        return NULL;
    }
    adopted->next = d->jobs;
    d->jobs = adopted;
    d->host->log(d->host, LP_LOG_INFO, "following job %s, left by an earlier run", h->id);
    return adopted;
}

static int job_name(char *out, size_t cap)
{
    unsigned char r[12];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    int n = snprintf(out, cap, "lilypad-");
    for (size_t i = 0; i < sizeof r; i++)
        n += snprintf(out + n, cap - (size_t)n, "%02x", r[i]);
    return 0;
}

static int docker_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                         const char *outputs_dir, const struct lp_job_limits *limits,
                         struct lp_job_handle *out)
{
    struct lp_docker *d = instance;
    if (spec == NULL || spec->image == NULL || spec->image[0] == '\0' || limits == NULL) {
        note_error("submit: a job needs an image and limits");
        return LP_EINVAL;
    }
    for (size_t i = 0; i < spec->env_count; i++)
        if (spec->env[i] == NULL || strchr(spec->env[i], '=') == NULL) {
            note_error("submit: env entry %zu \"%.64s\" is not KEY=VALUE", i,
                       spec->env[i] ? spec->env[i] : "(null)");
            return LP_EINVAL;
        }
    char err[512];
    int rc = dk_engine_connect(&d->engine, err, sizeof err);
    if (rc != LP_OK) {
        dk_set_error(d, "%s", err);
        return rc;
    }
    if (limits->network && !d->engine.has_network) {
        note_error("the job asks for network, but the %s at %s has no default network "
                   "(bridge) to give it",
                   d->engine.podman ? "podman service" : "docker daemon", d->engine.socket);
        return LP_ENOTSUP;
    }
    struct dk_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        note_error("out of memory");
        return LP_ERR;
    }
    job->owner = d;
    job->status.struct_size = sizeof job->status;
    job->status.state = LP_JOB_PENDING;
    job->timeout_ms = limits->timeout_ms ? limits->timeout_ms : d->cfg.default_timeout;
    job->memory_limit = limits->memory_bytes ? limits->memory_bytes : d->cfg.default_memory;
    if (snprintf(job->image, sizeof job->image, "%s", spec->image) >= (int)sizeof job->image) {
        free(job);
        note_error("submit: image name longer than %zu bytes", sizeof job->image - 1);
        return LP_EINVAL;
    }
    if (job_name(job->name, sizeof job->name) != 0) {
        free(job);
        note_error("submit: no random bytes for the job's name: %s", strerror(errno));
        return LP_ERR;
    }
    if (dk_container_body(d, spec, inputs_dir, outputs_dir, limits, job->timeout_ms,
                          &job->create_body, err, sizeof err) != 0) {
        free(job);
        note_error("submit: %s", err);
        return LP_EINVAL;
    }
    pthread_mutex_lock(&d->lock);
    if (dk_job_launch(job) != 0) {
        pthread_mutex_unlock(&d->lock);
        dk_job_free(job);
        note_error("submit: cannot start the job's thread");
        return LP_ERR;
    }
    job->next = d->jobs;
    d->jobs = job;
    pthread_mutex_unlock(&d->lock);
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", job->name);
    return LP_OK;
}

/* The job's status into the caller's struct (lp_job_status_fill). Caller holds the lock. */
static int copy_status(const struct dk_job *job, struct lp_job_status *out)
{
    if (lp_job_status_fill(out, &job->status))
        return LP_OK;
    note_error("job status struct_size %u is smaller than the ABI 1.0 struct (%zu bytes)",
               out ? out->struct_size : 0u, LP_JOB_STATUS_SIZE_1_0);
    return LP_EINVAL;
}

static int docker_poll(void *instance, const struct lp_job_handle *h, struct lp_job_status *out)
{
    struct lp_docker *d = instance;
    int rc;
    struct dk_job *job = find(d, h, &rc);
    if (job == NULL)
        return rc;
    rc = copy_status(job, out);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static bool running(const struct dk_job *job)
{
    return job->status.state == LP_JOB_PENDING || job->status.state == LP_JOB_RUNNING;
}

/* How often a waiter looks at host->cancelled(), which cannot wake it. */
#define WAIT_CANCEL_CHECK_MS 250

/* Sleeps until the monitor thread says the job ended, the timeout passes, or the process
 * stops; a release() meanwhile makes it return LP_EINVAL. */
static int docker_wait(void *instance, const struct lp_job_handle *h, uint64_t timeout_ms,
                       struct lp_job_status *out)
{
    struct lp_docker *d = instance;
    struct timespec deadline = lp_monotonic_after(timeout_ms);
    int rc;
    struct dk_job *job = find(d, h, &rc);
    if (job == NULL)
        return rc;
    job->waiters++;
    while (running(job) && !job->released && !d->host->cancelled(d->host)) {
        struct timespec now = lp_monotonic_after(0);
        if (!lp_timespec_before(&now, &deadline))
            break;
        struct timespec slice = lp_monotonic_after(WAIT_CANCEL_CHECK_MS);
        int e = pthread_cond_timedwait(&d->changed, &d->lock,
                                       lp_timespec_before(&slice, &deadline) ? &slice : &deadline);
        if (e != 0 && e != ETIMEDOUT && e != EINTR)
            break;
    }
    job->waiters--;
    if (job->released) {
        note_error("job \"%.64s\" was released while waited on", job->name);
        rc = LP_EINVAL;
        pthread_cond_broadcast(&d->changed); /* release() waits for the last waiter */
    } else
        rc = copy_status(job, out);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int docker_cancel(void *instance, const struct lp_job_handle *h)
{
    struct lp_docker *d = instance;
    int rc;
    struct dk_job *job = find(d, h, &rc);
    if (job == NULL)
        return rc;
    bool term = false;
    char id[sizeof job->id];
    if (running(job) && !job->cancel_requested) {
        job->cancel_requested = true;
        /* Before the container starts, the monitor sees the flag and never starts it. */
        if (job->status.state == LP_JOB_RUNNING && job->term_at_ms == 0) {
            job->term_at_ms = mono_ms();
            term = true;
            snprintf(id, sizeof id, "%s", job->id);
        }
    }
    pthread_mutex_unlock(&d->lock);
    char err[400];
    if (term && dk_container_kill(d, id, "SIGTERM", err, sizeof err) != 0)
        d->host->log(d->host, LP_LOG_WARN, "cancel %s: SIGTERM: %s (SIGKILL follows)", h->id, err);
    return LP_OK;
}

struct log_sink {
    lp_write_fn write;
    void *arg;
};

static int log_write(void *arg, const void *data, size_t len)
{
    struct log_sink *s = arg;
    return s->write(s->arg, data, len);
}

/* logs_from fetches the whole log and skips `offset` bytes of the stream: the engine's since=
 * counts whole seconds of timestamps, which cannot address a byte of one stream. */
static int read_logs(struct lp_docker *d, const struct lp_job_handle *h, int stream,
                     uint64_t offset, lp_write_fn write_fn, void *arg, uint64_t *next_offset)
{
    *next_offset = offset;
    if (stream != LP_STREAM_STDOUT && stream != LP_STREAM_STDERR) {
        note_error("logs: unknown stream %d (1: stdout, 2: stderr)", stream);
        return LP_EINVAL;
    }
    int rc;
    struct dk_job *job = find(d, h, &rc);
    if (job == NULL)
        return rc;
    bool created = job->id[0] != '\0';
    pthread_mutex_unlock(&d->lock);
    if (!created)
        return LP_OK; /* PENDING: nothing written yet */
    struct log_sink sink = {.write = write_fn, .arg = arg};
    struct dk_frames frames;
    dk_frames_init(&frames, stream, offset, log_write, &sink);
    char err[400];
    rc = dk_container_logs(d, h->id, &frames, err, sizeof err);
    if (rc < 0) {
        note_error("%s", err);
        return LP_ERR;
    }
    *next_offset = frames.delivered > offset ? frames.delivered : offset;
    return LP_OK;
}

static int docker_logs_from(void *instance, const struct lp_job_handle *h, int stream,
                            uint64_t offset, lp_write_fn write_fn, void *arg, uint64_t *next_offset)
{
    uint64_t next;
    int rc = read_logs(instance, h, stream, offset, write_fn, arg, &next);
    if (next_offset != NULL)
        *next_offset = next;
    return rc;
}

static int docker_logs(void *instance, const struct lp_job_handle *h, int stream,
                       lp_write_fn write_fn, void *arg)
{
    uint64_t next;
    return read_logs(instance, h, stream, 0, write_fn, arg, &next);
}

static int docker_release(void *instance, const struct lp_job_handle *h)
{
    struct lp_docker *d = instance;
    int rc;
    struct dk_job *job = find(d, h, &rc);
    if (job == NULL)
        return rc;
    struct dk_job **pp = &d->jobs;
    while (*pp != job)
        pp = &(*pp)->next;
    *pp = job->next;
    drain_waiters(d, job);
    pthread_mutex_unlock(&d->lock);
    /* Kill first, so the monitor's wait returns at once; then remove by name, which also
     * catches a container the monitor created while this ran. */
    char err[400];
    dk_container_kill(d, job->name, "SIGKILL", err, sizeof err);
    dk_job_free(job);
    if (dk_container_remove(d, h->id, err, sizeof err) != 0) {
        dk_set_error(d, "release %s: removing its container: %s", h->id, err);
        return LP_ERR;
    }
    return LP_OK;
}

static int docker_describe(void *instance, struct lp_executor_info *out)
{
    struct lp_docker *d = instance;
    if (out == NULL || out->struct_size < sizeof out->struct_size) {
        note_error("describe: struct_size %u holds nothing", out ? out->struct_size : 0u);
        return LP_EINVAL;
    }
    char err[400];
    int rc = dk_engine_connect(&d->engine, err, sizeof err);
    if (rc != LP_OK) {
        note_error("%s", err);
        return rc;
    }
    struct lp_executor_info info = {.struct_size = sizeof info};
    info.attach = dk_gpu_attach(d) | (d->engine.has_network ? LP_EXEC_ATTACH_NETWORK : 0);
    /* No /outputs cap: bind mounts have no size limit, so LP_EXEC_LIMIT_DISK is not claimed. */
    info.enforces = LP_EXEC_LIMIT_TIMEOUT | (d->engine.memory_limit ? LP_EXEC_LIMIT_MEMORY : 0) |
                    (d->engine.cpu_limit ? LP_EXEC_LIMIT_CPU : 0) |
                    (d->engine.pids_limit ? LP_EXEC_LIMIT_PIDS : 0);
    snprintf(info.runtime, sizeof info.runtime, "%s", d->engine.runtime);
    size_t size = out->struct_size < sizeof info ? out->struct_size : sizeof info;
    memcpy(out, &info, size);
    out->struct_size = (uint32_t)size;
    return LP_OK;
}

static int docker_reclaim(void *instance, const char *owner, const struct lp_job_handle *keep,
                          size_t keep_count, size_t *removed)
{
    struct lp_docker *d = instance;
    *removed = 0;
    char err[512];
    int rc = dk_engine_connect(&d->engine, err, sizeof err);
    if (rc == LP_OK)
        rc = dk_reclaim(d, owner, keep, keep_count, removed, err, sizeof err);
    if (rc != LP_OK) {
        dk_set_error(d, "%s", err);
        return rc;
    }
    if (*removed > 0)
        d->host->log(d->host, LP_LOG_INFO, "removed %zu container%s left by an earlier run",
                     *removed, *removed == 1 ? "" : "s");
    return LP_OK;
}

static const struct lp_executor_ops docker_ops = {
    .life =
        {
            .probe = docker_probe,
            .create = docker_create,
            .destroy = docker_destroy,
            .last_error = docker_last_error,
        },
    .submit = docker_submit,
    .poll = docker_poll,
    .cancel = docker_cancel,
    .logs = docker_logs,
    .release = docker_release,
    .describe = docker_describe,
    .logs_from = docker_logs_from,
    .wait = docker_wait,
    .reclaim = docker_reclaim,
};

LP_PLUGIN_DEFINE(executor, docker, "0.1.0",
                 "runs jobs as containers through the Docker Engine API or Podman's "
                 "Docker-compatible service, over a unix socket",
                 "MIT", docker_ops, docker_schema, struct lp_docker_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_NETWORK)
