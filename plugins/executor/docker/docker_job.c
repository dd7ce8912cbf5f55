/* A job's life on its monitor thread: the image, create, start, then the blocking wait with
 * the job's deadline (SIGTERM, then SIGKILL after kill_grace), cancel, a daemon that goes away
 * and comes back, and the final state from the container's inspect. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"

/* How often a monitor whose daemon went away asks whether it is back. */
#define DAEMON_RETRY_MS 250

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sets the job's state and message and wakes its waiters. */
static void set_state(struct dk_job *job, uint32_t state, const char *message)
{
    struct lp_docker *d = job->owner;
    pthread_mutex_lock(&d->lock);
    job->status.state = state;
    if (message != NULL)
        snprintf(job->status.message, sizeof job->status.message, "%s", message);
    if (state != LP_JOB_PENDING && state != LP_JOB_RUNNING && job->status.finished_ns == 0)
        job->status.finished_ns = real_ns();
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
}

/* Fits a failure's line into the status message (256 bytes). An engine's reason is a chain of
 * Go errors, "context: context: cause", often naming a long reference twice, so cutting the end
 * off would drop the cause, the part that says what went wrong: a line too long keeps its
 * first clause (up to the first ": "), then "... " and as much of its end as fits. */
static void fit_message(char *dst, size_t cap, const char *text)
{
    static const char gap[] = "... ";
    size_t len = strlen(text);
    if (len < cap) {
        memcpy(dst, text, len + 1);
        return;
    }
    const char *colon = strstr(text, ": ");
    size_t head = colon ? (size_t)(colon - text) + 2 : 0;
    if (head > cap / 2)
        head = cap / 2;
    size_t tail = cap - 1 - head - (sizeof gap - 1);
    /* Never start the tail inside a UTF-8 sequence. */
    while (tail > 0 && ((unsigned char)text[len - tail] & 0xC0) == 0x80)
        tail--;
    memcpy(dst, text, head);
    memcpy(dst + head, gap, sizeof gap - 1);
    memcpy(dst + head + sizeof gap - 1, text + len - tail, tail + 1);
}

/* The whole line goes to the log; the status gets it fitted to its size. */
static void set_failed(struct dk_job *job, const char *fmt, const char *why)
{
    char text[1400], fitted[sizeof job->status.message];
    snprintf(text, sizeof text, fmt, why);
    job->owner->host->log(job->owner->host, LP_LOG_WARN, "job %s: %s", job->name, text);
    fit_message(fitted, sizeof fitted, text);
    set_state(job, LP_JOB_FAILED, fitted);
}

/* The curl abort check of the pending phase: release, destroy or cancel. */
static int pending_aborted(void *arg)
{
    struct dk_job *job = arg;
    pthread_mutex_lock(&job->owner->lock);
    int stop = job->stop_requested || job->cancel_requested;
    pthread_mutex_unlock(&job->owner->lock);
    return stop;
}

/* The abort check of the wait: release or destroy, or a cancel the loop has not seen yet (it
 * has to plan the SIGKILL after the grace). */
static int wait_aborted(void *arg)
{
    struct dk_job *job = arg;
    pthread_mutex_lock(&job->owner->lock);
    int stop = job->stop_requested || (job->cancel_requested && !job->cancel_seen);
    pthread_mutex_unlock(&job->owner->lock);
    return stop;
}

/* The final state from the stopped container. */
static void finish(struct dk_job *job)
{
    struct lp_docker *d = job->owner;
    struct dk_state st;
    char err[300];
    int found = dk_container_inspect(d, job->id, &st, err, sizeof err);
    pthread_mutex_lock(&d->lock);
    bool cancelled = job->cancel_requested, timed_out = job->timed_out;
    pthread_mutex_unlock(&d->lock);
    if (found != 0) {
        set_failed(job, "the container is gone before its state could be read: %s",
                   found == 1 ? "removed outside lilypad" : err);
        return;
    }
    pthread_mutex_lock(&d->lock);
    if (st.started_ns != 0)
        job->status.started_ns = st.started_ns;
    if (st.finished_ns != 0)
        job->status.finished_ns = st.finished_ns;
    /* Podman stamps StartedAt once runc's start has returned, and FinishedAt from the exit
     * file conmon wrote: a job that ends within that moment finishes "before" it started. */
    if (job->status.finished_ns != 0 && job->status.finished_ns < job->status.started_ns)
        job->status.finished_ns = job->status.started_ns;
    job->status.exit_code = st.exit_code;
    pthread_mutex_unlock(&d->lock);
    char text[sizeof job->status.message] = "";
    uint32_t state = LP_JOB_EXITED;
    if (cancelled) {
        state = LP_JOB_CANCELLED;
        snprintf(text, sizeof text, "cancelled");
    } else if (timed_out) {
        state = LP_JOB_TIMED_OUT;
        snprintf(text, sizeof text, "timed out after %llu ms", (unsigned long long)job->timeout_ms);
    } else if (st.oom_killed) {
        uint64_t limit = st.memory_limit ? st.memory_limit : job->memory_limit;
        snprintf(text, sizeof text, "killed: out of memory (limit %llu MiB)",
                 (unsigned long long)(limit >> 20));
    } else if (st.exit_code != 0 && st.error[0] != '\0')
        snprintf(text, sizeof text, "%s", st.error); /* the runtime's own failure */
    pthread_mutex_lock(&d->lock);
    job->status.oom_killed = st.oom_killed ? 1 : 0;
    pthread_mutex_unlock(&d->lock);
    set_state(job, state, text);
}

/* The daemon went away mid-job: wait up to daemon_wait for it to answer again. 0 when it is
 * back (the caller looks at the container), -1 when it is not or the job was released. */
static int await_daemon(struct dk_job *job, const char *why)
{
    struct lp_docker *d = job->owner;
    d->host->log(d->host, LP_LOG_WARN, "job %s: %s; waiting up to %llu ms for the daemon",
                 job->name, why, (unsigned long long)d->cfg.daemon_wait);
    uint64_t until = mono_ms() + d->cfg.daemon_wait;
    do {
        usleep(DAEMON_RETRY_MS * 1000);
        pthread_mutex_lock(&d->lock);
        bool stop = job->stop_requested;
        pthread_mutex_unlock(&d->lock);
        if (stop)
            return -1;
        struct dk_request rq = {
            .method = "GET", .path = "/_ping", .timeout_ms = 2000, .unversioned = true};
        struct dk_response r;
        char err[300];
        int rc = dk_call(&d->engine, &rq, &r, err, sizeof err);
        long status = r.status;
        dk_response_free(&r);
        if (rc == 0 && status == 200)
            return 0;
    } while (mono_ms() < until);
    return -1;
}

/* Waits for the running container, enforcing the deadline and the cancel's grace. */
static void follow(struct dk_job *job, uint64_t deadline_ms)
{
    struct lp_docker *d = job->owner;
    char err[400];
    for (;;) {
        uint64_t now = mono_ms();
        pthread_mutex_lock(&d->lock);
        if (job->stop_requested) {
            pthread_mutex_unlock(&d->lock);
            return;
        }
        job->cancel_seen = job->cancel_requested;
        bool send_term = deadline_ms != 0 && now >= deadline_ms && job->term_at_ms == 0;
        if (send_term) {
            job->timed_out = true;
            job->term_at_ms = now;
        }
        bool send_kill =
            job->term_at_ms != 0 && !job->kill_sent && now >= job->term_at_ms + d->cfg.kill_grace;
        if (send_kill)
            job->kill_sent = true;
        uint64_t until = 0; /* 0: no limit */
        if (job->term_at_ms == 0 && deadline_ms != 0)
            until = deadline_ms;
        else if (job->term_at_ms != 0 && !job->kill_sent)
            until = job->term_at_ms + d->cfg.kill_grace;
        pthread_mutex_unlock(&d->lock);
        if (send_term && dk_container_kill(d, job->id, "SIGTERM", err, sizeof err) != 0)
            d->host->log(d->host, LP_LOG_WARN, "job %s: SIGTERM: %s", job->name, err);
        if (send_kill && dk_container_kill(d, job->id, "SIGKILL", err, sizeof err) != 0)
            d->host->log(d->host, LP_LOG_WARN, "job %s: SIGKILL: %s", job->name, err);
        now = mono_ms();
        uint64_t wait_ms = until == 0 ? 0 : (until > now ? until - now : 1);
        int rc = dk_container_wait(d, job->id, wait_ms, wait_aborted, job, err, sizeof err);
        if (rc == 0) {
            finish(job);
            return;
        }
        if (rc > 0)
            continue; /* a deadline, a grace or a cancel: plan again */
        /* The connection broke: the daemon died or restarted. */
        char why[sizeof err];
        snprintf(why, sizeof why, "%s", err);
        if (await_daemon(job, why) != 0) {
            set_failed(job, "docker daemon went away while the job ran: %s", why);
            return;
        }
        struct dk_state st;
        int found = dk_container_inspect(d, job->id, &st, err, sizeof err);
        if (found == 1) {
            set_failed(job,
                       "docker daemon went away while the job ran: after it came back, the "
                       "container was gone (%s)",
                       why);
            return;
        }
        if (found < 0) {
            set_failed(job, "docker daemon went away while the job ran: %s", err);
            return;
        }
        /* Back, with the container: running (the engine kept it) or stopped (the engine's
         * shutdown killed it): the loop waits again or finish() reads its exit. */
        d->host->log(d->host, LP_LOG_INFO, "job %s: the daemon is back; container %s", job->name,
                     st.status);
    }
}

static void *monitor_main(void *arg)
{
    struct dk_job *job = arg;
    struct lp_docker *d = job->owner;
    char err[1024]; /* an engine's pull error can be long: set_failed fits it */
    if (!job->adopted) {
        if (dk_image_ensure(d, job->image, pending_aborted, job, err, sizeof err) != 0) {
            if (pending_aborted(job))
                set_state(job, LP_JOB_CANCELLED, "cancelled while the image was prepared");
            else
                set_failed(job, "%s", err);
            return NULL;
        }
        if (pending_aborted(job)) {
            set_state(job, LP_JOB_CANCELLED, "cancelled before it started");
            return NULL;
        }
        char id[sizeof job->id];
        if (dk_container_create(d, job->name, job->create_body, id, sizeof id, err, sizeof err) !=
            0) {
            set_failed(job, "%s", err);
            return NULL;
        }
        pthread_mutex_lock(&d->lock);
        snprintf(job->id, sizeof job->id, "%s", id);
        bool stop = job->stop_requested || job->cancel_requested;
        pthread_mutex_unlock(&d->lock);
        if (stop) {
            set_state(job, LP_JOB_CANCELLED, "cancelled before it started");
            return NULL;
        }
        if (dk_container_start(d, job->id, err, sizeof err) != 0) {
            set_failed(job, "the engine could not start the container: %s", err);
            return NULL;
        }
        pthread_mutex_lock(&d->lock);
        job->status.started_ns = real_ns();
        pthread_mutex_unlock(&d->lock);
        set_state(job, LP_JOB_RUNNING, NULL);
    }
    uint64_t deadline = 0;
    if (job->timeout_ms > 0) {
        uint64_t ran_ms = 0, now = real_ns();
        if (job->adopted && job->status.started_ns != 0 && now > job->status.started_ns)
            ran_ms = (now - job->status.started_ns) / 1000000;
        deadline = mono_ms() + (job->timeout_ms > ran_ms ? job->timeout_ms - ran_ms : 0) + 1;
    }
    follow(job, deadline);
    return NULL;
}

int dk_job_launch(struct dk_job *job)
{
    if (pthread_create(&job->monitor, NULL, monitor_main, job) != 0)
        return -1;
    job->monitor_running = true;
    return 0;
}

int dk_job_adopt(struct dk_job *job, const struct dk_state *st)
{
    job->adopted = true;
    job->timeout_ms = st->timeout_ms;
    job->memory_limit = st->memory_limit;
    job->status.started_ns = st->started_ns;
    job->status.state = LP_JOB_RUNNING;
    if (!st->running && st->started_ns == 0 && strcmp(st->status, "created") == 0) {
        /* Created by an earlier run that died before starting it: it never ran. */
        job->status.state = LP_JOB_FAILED;
        snprintf(job->status.message, sizeof job->status.message,
                 "the container was created but never started (its provider stopped)");
        return 0;
    }
    /* Running or stopped: the monitor waits (at once, when stopped) and reads the end. */
    return dk_job_launch(job);
}

void dk_job_free(struct dk_job *job)
{
    if (job == NULL)
        return;
    if (job->monitor_running)
        pthread_join(job->monitor, NULL);
    json_decref(job->create_body);
    free(job);
}
