/* executor/process: the embedded default executor. Runs a module's image from the local image
 * store (core/image) under bubblewrap: no network, no capabilities, its own PID/IPC/UTS/user
 * namespaces, read-only /inputs, writable /outputs, cgroup or rlimit limits (README.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lilypad/executor.h>

#include "image/fs_tree.h"
#include "process.h"

static const struct lp_cfg_field process_schema[] = {
    LP_CFG_FIELD(struct lp_process_config, bwrap, LP_CFG_STRING, 0, "\"/usr/bin/bwrap\"",
                 "path of bubblewrap (Debian package bubblewrap)"),
    LP_CFG_FIELD(struct lp_process_config, image_store, LP_CFG_STRING, 0, "\"\"",
                 "image store directory; empty: $LILYPAD_HOME/images"),
    LP_CFG_FIELD(struct lp_process_config, work_dir, LP_CFG_STRING, 0, "\"\"",
                 "per-job directories (rootfs copy, logs); empty: $LILYPAD_HOME/jobs"),
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
    LP_CFG_END,
};

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

static int default_work_dir(char *out, size_t len)
{
    const char *home = getenv("LILYPAD_HOME");
    if (home != NULL && *home)
        return snprintf(out, len, "%s/jobs", home) < (int)len ? 0 : -1;
    if ((home = getenv("XDG_DATA_HOME")) != NULL && *home)
        return snprintf(out, len, "%s/lilypad/jobs", home) < (int)len ? 0 : -1;
    if ((home = getenv("HOME")) != NULL && *home)
        return snprintf(out, len, "%s/.local/share/lilypad/jobs", home) < (int)len ? 0 : -1;
    return -1;
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
    struct lp_process *p = calloc(1, sizeof *p);
    if (p == NULL)
        return LP_ERR;
    p->host = host;
    p->cfg = *cfg;
    char err[512];
    if (lp_image_store_open(&p->store, cfg->image_store, err, sizeof err) != 0) {
        host->log(host, LP_LOG_ERROR, "%s", err);
        free(p);
        return LP_EINVAL;
    }
    if (cfg->work_dir[0] != '\0')
        snprintf(p->work_dir, sizeof p->work_dir, "%s", cfg->work_dir);
    else if (default_work_dir(p->work_dir, sizeof p->work_dir) != 0) {
        host->log(host, LP_LOG_ERROR, "no work_dir: set it, or LILYPAD_HOME or HOME");
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
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    snprintf(p->last_error, sizeof p->last_error, "no error");
    host->log(host, LP_LOG_INFO, "images in %s, jobs in %s, rootfs by %s", p->store.dir,
              p->work_dir, rootfs_modes[mode]);
    *instance = p;
    return LP_OK;
}

static void process_destroy(void *instance)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *jobs = p->jobs;
    p->jobs = NULL;
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

static const char *process_last_error(void *instance)
{
    struct lp_process *p = instance;
    return p->last_error;
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

static int unknown(struct lp_process *p, const struct lp_job_handle *h)
{
    snprintf(p->last_error, sizeof p->last_error, "no job \"%.64s\" (released or never submitted)",
             h ? h->id : "");
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

static int process_poll(void *instance, const struct lp_job_handle *h, struct lp_job_status *out)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *job = find(p, h);
    if (job == NULL) {
        int rc = unknown(p, h);
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
    /* Copy no more than the caller's struct holds. */
    uint32_t size =
        out->struct_size && out->struct_size < sizeof *out ? out->struct_size : sizeof *out;
    struct lp_job_status st = job->status;
    pthread_mutex_unlock(&p->lock);
    st.struct_size = size;
    memcpy(out, &st, size);
    return LP_OK;
}

static int process_cancel(void *instance, const struct lp_job_handle *h)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *job = find(p, h);
    int rc = job ? LP_OK : unknown(p, h);
    pthread_mutex_unlock(&p->lock);
    if (job != NULL)
        lp_proc_job_cancel(job);
    return rc;
}

static int process_logs(void *instance, const struct lp_job_handle *h, int stream,
                        lp_write_fn write_fn, void *arg)
{
    struct lp_process *p = instance;
    if (stream != LP_STREAM_STDOUT && stream != LP_STREAM_STDERR) {
        snprintf(p->last_error, sizeof p->last_error, "logs: unknown stream %d", stream);
        return LP_EINVAL;
    }
    char path[PATH_MAX + 16];
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job *job = find(p, h);
    if (job == NULL) {
        int rc = unknown(p, h);
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
    snprintf(path, sizeof path, "%s/%s", job->dir,
             stream == LP_STREAM_STDOUT ? "stdout" : "stderr");
    /* Open under the lock: release() cannot remove the file between lookup and open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    pthread_mutex_unlock(&p->lock);
    if (fd < 0)
        return LP_OK; /* not started yet: no output */
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write_fn(arg, buf, (size_t)n) != 0)
            break;
    close(fd);
    return n < 0 ? LP_ERR : LP_OK;
}

static int process_release(void *instance, const struct lp_job_handle *h)
{
    struct lp_process *p = instance;
    pthread_mutex_lock(&p->lock);
    struct lp_proc_job **pp = &p->jobs;
    while (*pp != NULL && strncmp((*pp)->id, h->id, sizeof h->id) != 0)
        pp = &(*pp)->next;
    struct lp_proc_job *job = *pp;
    if (job != NULL)
        *pp = job->next;
    int rc = job ? LP_OK : unknown(p, h);
    pthread_mutex_unlock(&p->lock);
    lp_proc_job_free(job); /* cancels a running job first */
    return rc;
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
};

LP_PLUGIN_DEFINE(executor, process, "0.1.0",
                 "runs module images from the local image store under bubblewrap: no network, "
                 "cgroup or rlimit limits, read-only /inputs, writable /outputs",
                 "MIT", process_ops, process_schema, struct lp_process_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_CANCEL)
