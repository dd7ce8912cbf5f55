/* executor/process: the embedded default executor. Runs a module's image from the local image
 * store (core/image) under bubblewrap: no network, no capabilities, its own PID/IPC/UTS/user
 * namespaces, read-only /inputs, writable /outputs, cgroup or rlimit limits (README.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/executor.h>

#include "wait_deadline.h"

#include "image/fs_tree.h"
#include "process.h"

static const struct lp_cfg_field process_schema[] = {
    LP_CFG_FIELD(struct lp_process_config, bwrap, LP_CFG_STRING, 0, "\"/usr/bin/bwrap\"",
                 "path of bubblewrap (Debian package bubblewrap)"),
    LP_CFG_FIELD(struct lp_process_config, image_store, LP_CFG_STRING, 0, "\"\"",
                 "image store directory; empty: <data directory>/images"),
    LP_CFG_FIELD(struct lp_process_config, work_dir, LP_CFG_STRING, 0, "\"\"",
                 "per-job directories (rootfs copy, logs); empty: <data directory>/jobs"),
    LP_CFG_FIELD(struct lp_process_config, default_timeout, LP_CFG_DURATION, 0, "\"1h\"",
                 "wall-clock limit of a job whose limits set none"),
    LP_CFG_FIELD(struct lp_process_config, kill_grace, LP_CFG_DURATION, 0, "\"5s\"",
                 "time between SIGTERM and SIGKILL on timeout or cancel (needs a cgroup)"),
    LP_CFG_FIELD(struct lp_process_config, rootfs, LP_CFG_STRING, 0, "\"auto\"",
                 "writable root: auto, overlay (root only), copy, or readonly"),
    LP_CFG_FIELD(struct lp_process_config, cgroup, LP_CFG_STRING, 0, "\"auto\"",
                 "auto: cgroup v2, else v1, else rlimits; none: rlimits only"),
    LP_CFG_FIELD(struct lp_process_config, default_max_pids, LP_CFG_INT, 0, "1024",
                 "process limit of a job whose limits set none (0: no limit)"),
    LP_CFG_FIELD(struct lp_process_config, network, LP_CFG_STRING, 0, "\"egress\"",
                 "what a job asking for network gets: egress (outbound only, through "
                 "slirp4netns; never this machine or its local networks) or none"),
    LP_CFG_FIELD(struct lp_process_config, slirp4netns, LP_CFG_STRING, 0,
                 "\"/usr/bin/slirp4netns\"",
                 "path of slirp4netns (Debian package slirp4netns), for network = egress"),
    LP_CFG_FIELD(struct lp_process_config, nft, LP_CFG_STRING, 0, "\"/usr/sbin/nft\"",
                 "path of nft (Debian package nftables): the firewall of a job's network"),
    LP_CFG_FIELD(struct lp_process_config, default_memory, LP_CFG_SIZE, 0, "\"4G\"",
                 "memory limit of a job whose limits set none (0: no limit)"),
    LP_CFG_FIELD(struct lp_process_config, default_disk, LP_CFG_SIZE, 0, "\"1G\"",
                 "/outputs cap of a job whose limits set none (0: no cap)"),
    LP_CFG_END,
};

/* ---- errors ----------------------------------------------------------------------------
 * The plugin is LP_CAP_THREADSAFE: the core reads last_error() right after a failed call, on
 * the thread that made it, while other threads may be failing other calls. So each thread
 * keeps its own last failure; one buffer for all instances is enough, as a thread makes one
 * call at a time. */
static _Thread_local char thread_error[512];

static void set_error_v(const char *fmt, va_list ap)
{
    vsnprintf(thread_error, sizeof thread_error, fmt, ap);
}

/* Records the failure without logging it (the caller's own mistakes: an unknown handle). */
static void note_error(const char *fmt, ...) LP_PRINTF(1, 2);
static void note_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error_v(fmt, ap);
    va_end(ap);
}

/* The log gets the full line; last_error(), which the caller may pass on, gets it without the
 * host's paths. */
void lp_proc_set_error(const struct lp_process *p, const char *fmt, ...)
{
    char full[sizeof thread_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(full, sizeof full, fmt, ap);
    va_end(ap);
    p->host->log(p->host, LP_LOG_ERROR, "%s", full);
    lp_proc_neutral_text(p, NULL, full, thread_error, sizeof thread_error);
}

static const char *process_last_error(void *instance)
{
    (void)instance;
    return thread_error[0] ? thread_error : "no error";
}

static int process_probe(const struct lp_host *host, const void *config, char *reason,
                         size_t reason_len)
{
    (void)host;
    const struct lp_process_config *cfg = config;
    if (access(cfg->bwrap, X_OK) != 0) {
        snprintf(reason, reason_len,
                 "bubblewrap not found at %s (apt-get install bubblewrap, or set bwrap)",
                 cfg->bwrap);
        return LP_EUNAVAILABLE;
    }
    reason[0] = '\0';
    return LP_OK;
}

/* "<data_dir>/<leaf>" when the host has a data directory (ABI 1.1), so the plugin keeps its
 * files where the rest of the program looks for them; -1 when it has none. */
static int under_data_dir(const struct lp_host *host, const char *leaf, char *out, size_t len)
{
    const char *dir = LP_HOST_HAS(host, data_dir) ? host->data_dir(host) : NULL;
    if (dir == NULL || *dir == '\0')
        return -1;
    int n = snprintf(out, len, "%s/%s", dir, leaf);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int process_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct lp_process_config *cfg = config;
    static const char *const rootfs_modes[] = {"readonly", "copy", "overlay"};
    int mode = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(cfg->rootfs, rootfs_modes[i]) == 0)
            mode = i;
    if (mode < 0 && strcmp(cfg->rootfs, "auto") != 0) {
        host->log(host, LP_LOG_ERROR, "rootfs = \"%s\": expected auto, overlay, copy or readonly",
                  cfg->rootfs);
        return LP_EINVAL;
    }
    if (strcmp(cfg->cgroup, "auto") != 0 && strcmp(cfg->cgroup, "none") != 0) {
        host->log(host, LP_LOG_ERROR, "cgroup = \"%s\": expected auto or none", cfg->cgroup);
        return LP_EINVAL;
    }
    if (strcmp(cfg->network, "egress") != 0 && strcmp(cfg->network, "none") != 0) {
        host->log(host, LP_LOG_ERROR, "network = \"%s\": expected egress or none", cfg->network);
        return LP_EINVAL;
    }
    struct lp_process *p = calloc(1, sizeof *p);
    if (p == NULL)
        return LP_ERR;
    p->host = host;
    p->cfg = *cfg;
    char err[512], store_dir[PATH_MAX];
    /* An empty image_store with no data directory from the host is left to the image store's
     * own default. */
    if (cfg->image_store[0] != '\0' ||
        under_data_dir(host, "images", store_dir, sizeof store_dir) != 0)
        snprintf(store_dir, sizeof store_dir, "%s", cfg->image_store);
    if (lp_image_store_open(&p->store, store_dir, err, sizeof err) != 0) {
        host->log(host, LP_LOG_ERROR, "%s", err);
        free(p);
        return LP_EINVAL;
    }
    if (cfg->work_dir[0] != '\0')
        snprintf(p->work_dir, sizeof p->work_dir, "%s", cfg->work_dir);
    else if (under_data_dir(host, "jobs", p->work_dir, sizeof p->work_dir) != 0) {
        host->log(host, LP_LOG_ERROR,
                  "no work_dir: set it, or LILYPAD_HOME or HOME for the data directory");
        free(p);
        return LP_EINVAL;
    }
    if (lp_fs_mkdir_p(p->work_dir, 0700) != 0) {
        host->log(host, LP_LOG_ERROR, "work_dir %s: %s", p->work_dir, strerror(errno));
        free(p);
        return LP_EINVAL;
    }
    if (mode < 0)
        mode = lp_proc_overlay_works(p->work_dir) ? LP_ROOTFS_OVERLAY : LP_ROOTFS_COPY;
    else if (mode == LP_ROOTFS_OVERLAY && !lp_proc_overlay_works(p->work_dir)) {
        host->log(host, LP_LOG_ERROR,
                  "rootfs = \"overlay\" but overlayfs cannot be mounted here "
                  "(needs root); use auto or copy");
        free(p);
        return LP_EUNAVAILABLE;
    }
    p->rootfs_mode = (enum lp_rootfs_mode)mode;
    /* wait() times out on the monotonic clock: a wall-clock step must not stretch or cut it. */
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&p->changed, &attr) != 0) {
        host->log(host, LP_LOG_ERROR, "cannot make a monotonic condition variable");
        free(p);
        return LP_ERR;
    }
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&p->lock, NULL);
    int orphans = lp_proc_kill_orphans(cfg->bwrap, p->work_dir, NULL);
    if (orphans > 0)
        host->log(host, LP_LOG_WARN,
                  "killed %d sandbox%s of jobs in %s left running by a process that died", orphans,
                  orphans == 1 ? "" : "es", p->work_dir);
    if (strcmp(cfg->cgroup, "none") != 0) {
        int killed = 0, removed = lp_proc_cgroup_sweep(&killed);
        if (removed > 0)
            host->log(host, LP_LOG_WARN,
                      "removed %d job cgroup%s left by a process that died, and killed the %d "
                      "process%s still running in them",
                      removed, removed == 1 ? "" : "s", killed, killed == 1 ? "" : "es");
    }
    lp_proc_net_setup(p);
    lp_proc_describe_init(p);
    host->log(host, LP_LOG_INFO, "images in %s, jobs in %s, rootfs by %s; %s", p->store.dir,
              p->work_dir, rootfs_modes[mode], p->info.runtime);
    *instance = p;
    return LP_OK;
}

/* Caller holds p->lock and has unlinked the job: wakes its waiters, which return "released",
 * and returns once none is left, so the job can be freed under nobody's feet. */
static void drain_waiters(struct lp_process *p, struct lp_proc_job *job)
{
    job->released = true;
    pthread_cond_broadcast(&p->changed);
    while (job->waiters > 0)
        pthread_cond_wait(&p->changed, &p->lock);
}

static void process_destroy(void *instance)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *jobs = p->jobs;
    p->jobs = NULL;
    for (struct lp_proc_job *j = jobs; j != NULL; j = j->next)
        drain_waiters(p, j);
    pthread_mutex_unlock(&p->lock);
    while (jobs != NULL) {
        struct lp_proc_job *next = jobs->next;
        lp_proc_job_free(jobs);
        jobs = next;
    }
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Caller holds p->lock. */
static struct lp_proc_job *find(struct lp_process *p, const struct lp_job_handle *h)
{
    if (h == NULL)
        return NULL;
    for (struct lp_proc_job *j = p->jobs; j != NULL; j = j->next)
        if (strncmp(j->id, h->id, sizeof h->id) == 0)
            return j;
    return NULL;
}

static int unknown(const struct lp_job_handle *h)
{
    note_error("no job \"%.64s\" (released or never submitted)", h ? h->id : "");
    return LP_EINVAL;
}

static int process_submit(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                          const char *outputs_dir, const struct lp_job_limits *limits,
                          struct lp_job_handle *out)
{
    struct lp_process *p = instance;
    struct lp_proc_job *job;
    int rc = lp_proc_job_start(p, spec, inputs_dir, outputs_dir, limits, &job);
    if (rc != LP_OK)
        return rc;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", job->id);
    return LP_OK;
}

/* The job's status into the caller's struct (lp_job_status_fill: no more than its struct_size
 * says, which must reach at least the ABI 1.0 members). Caller holds p->lock. */
static int copy_status(const struct lp_proc_job *job, struct lp_job_status *out)
{
    if (lp_job_status_fill(out, &job->status))
        return LP_OK;
    note_error("job status struct_size %u is smaller than the ABI 1.0 struct (%zu bytes)",
               out ? out->struct_size : 0u, LP_JOB_STATUS_SIZE_1_0);
    return LP_EINVAL;
}

static int process_poll(void *instance, const struct lp_job_handle *h, struct lp_job_status *out)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *job = find(p, h);
    int rc = job ? copy_status(job, out) : unknown(h);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static bool running(const struct lp_proc_job *job)
{
    return job->status.state == LP_JOB_PENDING || job->status.state == LP_JOB_RUNNING;
}

/* How often a waiter looks at host->cancelled(), which has no way to wake it. */
#define WAIT_CANCEL_CHECK_MS 250

/*
 * Sleeps on the instance's condition variable, which the monitor threads broadcast whenever a
 * job changes state, until this job has ended, timeout_ms has passed, or the host asks the
 * process to stop; then fills *out as poll() does (a job still RUNNING means the time ran out).
 * Runs concurrently with every other op: the job stays allocated while it is waited on (its
 * `waiters` count), and a release() meanwhile makes this return LP_EINVAL, "released while
 * waited on".
 */
static int process_wait(void *instance, const struct lp_job_handle *h, uint64_t timeout_ms,
                        struct lp_job_status *out)
{
    struct lp_process *p = instance;
    struct timespec deadline = lp_monotonic_after(timeout_ms);
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *job = find(p, h);
    if (job == NULL) {
        int rc = unknown(h);
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
    job->waiters++;
    while (running(job) && !job->released && !p->host->cancelled(p->host)) {
        struct timespec now = lp_monotonic_after(0);
        if (!lp_timespec_before(&now, &deadline))
            break;
        struct timespec slice = lp_monotonic_after(WAIT_CANCEL_CHECK_MS);
        int e = pthread_cond_timedwait(&p->changed, &p->lock,
                                       lp_timespec_before(&slice, &deadline) ? &slice : &deadline);
        if (e != 0 && e != ETIMEDOUT && e != EINTR)
            break;
    }
    job->waiters--;
    int rc;
    if (job->released) {
        note_error("job \"%.64s\" was released while waited on", job->id);
        rc = LP_EINVAL;
        if (job->waiters == 0)
            pthread_cond_broadcast(&p->changed); /* release() waits for the last one out */
    } else {
        rc = copy_status(job, out);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static int process_cancel(void *instance, const struct lp_job_handle *h)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    /* Under the lock: a release() on another thread may free the job as soon as it is out. */
    struct lp_proc_job *job = find(p, h);
    int rc = job ? LP_OK : unknown(h);
    if (job != NULL)
        lp_proc_job_cancel_locked(job);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/*
 * The stream's bytes from `offset` up to its size when the call began (a job still writing
 * does not keep the call going), to write_fn; *next_offset receives the offset after the last
 * byte delivered. A job whose file does not exist yet has written nothing.
 */
static int read_stream(struct lp_process *p, const struct lp_job_handle *h, int stream,
                       uint64_t offset, lp_write_fn write_fn, void *arg, uint64_t *next_offset)
{
    *next_offset = offset;
    if (stream != LP_STREAM_STDOUT && stream != LP_STREAM_STDERR) {
        note_error("logs: unknown stream %d (1: stdout, 2: stderr)", stream);
        return LP_EINVAL;
    }
    char path[PATH_MAX + 16];
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *job = find(p, h);
    if (job == NULL) {
        int rc = unknown(h);
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
    snprintf(path, sizeof path, "%s/%s", job->dir,
             stream == LP_STREAM_STDOUT ? "stdout" : "stderr");
    /* Open under the lock: release() cannot remove the file between lookup and open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    pthread_mutex_unlock(&p->lock);
    if (fd < 0)
        return LP_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        note_error("logs: %s: %s", path, strerror(errno));
        close(fd);
        return LP_ERR;
    }
    uint64_t end = (uint64_t)st.st_size, at = offset;
    char buf[65536];
    int rc = LP_OK;
    while (at < end) {
        size_t want = end - at < sizeof buf ? (size_t)(end - at) : sizeof buf;
        ssize_t n = pread(fd, buf, want, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            note_error("logs: reading %s: %s", path, strerror(errno));
            rc = LP_ERR;
            break;
        }
        if (n == 0)
            break;
        at += (uint64_t)n;
        if (write_fn(arg, buf, (size_t)n) != 0)
            break; /* the receiver has these bytes and wants no more */
    }
    close(fd);
    *next_offset = at;
    return rc;
}

static int process_logs_from(void *instance, const struct lp_job_handle *h, int stream,
                             uint64_t offset, lp_write_fn write_fn, void *arg,
                             uint64_t *next_offset)
{
    uint64_t next;
    int rc = read_stream(instance, h, stream, offset, write_fn, arg, &next);
    if (next_offset != NULL)
        *next_offset = next;
    return rc;
}

static int process_logs(void *instance, const struct lp_job_handle *h, int stream,
                        lp_write_fn write_fn, void *arg)
{
    uint64_t next;
    return read_stream(instance, h, stream, 0, write_fn, arg, &next);
}

static int process_release(void *instance, const struct lp_job_handle *h)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job **pp = &p->jobs;
    while (*pp != NULL && strncmp((*pp)->id, h->id, sizeof h->id) != 0)
        pp = &(*pp)->next;
    struct lp_proc_job *job = *pp;
    if (job != NULL) {
        *pp = job->next;
        drain_waiters(p, job);
    }
    int rc = job ? LP_OK : unknown(h);
    pthread_mutex_unlock(&p->lock);
    lp_proc_job_free(job); /* cancels a running job first */
    return rc;
}

static int process_describe(void *instance, struct lp_executor_info *out)
{
    struct lp_process *p = instance;
    /* p->info never changes after create(): no lock. */
    if (out == NULL || out->struct_size < sizeof out->struct_size) {
        note_error("describe: struct_size %u holds nothing", out ? out->struct_size : 0u);
        return LP_EINVAL;
    }
    size_t size = out->struct_size < sizeof *out ? out->struct_size : sizeof *out;
    memcpy(out, &p->info, size);
    out->struct_size = (uint32_t)size;
    return LP_OK;
}

static const struct lp_executor_ops process_ops = {
    .life =
        {
            .probe = process_probe,
            .create = process_create,
            .destroy = process_destroy,
            .last_error = process_last_error,
        },
    .submit = process_submit,
    .poll = process_poll,
    .cancel = process_cancel,
    .logs = process_logs,
    .release = process_release,
    .describe = process_describe,
    .logs_from = process_logs_from,
    .wait = process_wait,
};

LP_PLUGIN_DEFINE(executor, process, "0.1.0",
                 "runs module images from the local image store under bubblewrap: no network, "
                 "cgroup or rlimit limits, read-only /inputs, writable /outputs",
                 "MIT", process_ops, process_schema, struct lp_process_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_CANCEL)
