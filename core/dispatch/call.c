#include "dispatch/call.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

/* Back-off sleeps are cut into slices this long so a cancelled call stops waiting soon. */
#define SLEEP_SLICE_MS 20

static void lock(struct lp_backend *b)
{
    if (b->serialise)
        pthread_mutex_lock(&b->lock);
}

static void unlock(struct lp_backend *b)
{
    if (b->serialise)
        pthread_mutex_unlock(&b->lock);
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void lp_dispatch_begin(struct lp_dispatch *d, struct lp_backend *b, const char *op,
                       const struct lp_call *call)
{
    memset(d, 0, sizeof *d);
    d->b = b;
    d->op = op;
    d->call = call;
    d->attempt = 1;
    d->delay_ms = b->retry.first_delay_ms;
    lock(b);
    lp_host_capture_begin(&d->capture, &b->host.host);
}

void *lp_dispatch_instance(const struct lp_dispatch *d)
{
    return d->b->instance;
}

/* The failure's text, read right after the call on the calling thread (api/README.md: a
 * thread-safe plugin keeps last_error() per thread; for the others the lock is still held). */
static void capture_text(struct lp_dispatch *d, int rc)
{
    const struct lp_lifecycle_ops *life = lp_plugin_lifecycle(&d->b->plugin);
    const char *text = life && life->last_error ? life->last_error(d->b->instance) : NULL;
    if (text == NULL || *text == '\0')
        text = d->capture.text;
    if (*text == '\0') {
        snprintf(d->text, sizeof d->text, "failed with rc %d and gave no reason", rc);
        return;
    }
    /* One line: a plugin's text ends at its first newline. */
    snprintf(d->text, sizeof d->text, "%.*s", (int)strcspn(text, "\r\n"), text);
}

bool lp_dispatch_again(struct lp_dispatch *d, int rc)
{
    if (rc == LP_OK)
        return false;
    capture_text(d, rc);
    if (rc != LP_RETRY || d->attempt >= d->b->retry.attempts || lp_call_cancelled(d->call))
        return false;
    lp_debug("%s: %s: transient failure (%s); attempt %u of %u in %llu ms", d->b->label, d->op,
             d->text, d->attempt + 1, d->b->retry.attempts, (unsigned long long)d->delay_ms);
    unlock(d->b);
    for (uint64_t slept = 0; slept < d->delay_ms && !lp_call_cancelled(d->call);
         slept += SLEEP_SLICE_MS)
        sleep_ms(d->delay_ms - slept < SLEEP_SLICE_MS ? d->delay_ms - slept : SLEEP_SLICE_MS);
    lock(d->b);
    if (lp_call_cancelled(d->call))
        return false;
    d->attempt++;
    d->delay_ms =
        d->delay_ms * 2 > d->b->retry.max_delay_ms ? d->b->retry.max_delay_ms : d->delay_ms * 2;
    d->capture.text[0] = '\0';
    return true;
}

int lp_dispatch_end(struct lp_dispatch *d, int rc, struct lp_plugin_error *err)
{
    lp_host_capture_end(&d->capture);
    unlock(d->b);
    if (rc == LP_OK || err == NULL)
        return rc;
    err->rc = rc;
    if (rc == LP_RETRY && lp_call_cancelled(d->call))
        snprintf(err->message, sizeof err->message, "%s: %s: cancelled while retrying: %s",
                 d->b->label, d->op, d->text);
    else if (rc == LP_RETRY && d->attempt > 1)
        snprintf(err->message, sizeof err->message, "%s: %s: still failing after %u attempts: %s",
                 d->b->label, d->op, d->attempt, d->text);
    else
        snprintf(err->message, sizeof err->message, "%s: %s: %s", d->b->label, d->op, d->text);
    return rc;
}

int lp_dispatch_unsupported(struct lp_backend *b, const char *op, struct lp_plugin_error *err)
{
    if (err != NULL) {
        err->rc = LP_ENOTSUP;
        snprintf(err->message, sizeof err->message,
                 "%s: %s: not supported by this plugin (version %s, ABI %u.%u)", b->label, op,
                 b->plugin.desc->version ? b->plugin.desc->version : "?", b->plugin.desc->abi_major,
                 b->plugin.desc->abi_minor);
    }
    return LP_ENOTSUP;
}

int lp_dispatch_fail(struct lp_backend *b, const char *op, int rc, struct lp_plugin_error *err,
                     const char *fmt, ...)
{
    if (err != NULL) {
        err->rc = rc;
        int n = snprintf(err->message, sizeof err->message, "%s: %s: ", b->label, op);
        if (n > 0 && (size_t)n < sizeof err->message) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}
