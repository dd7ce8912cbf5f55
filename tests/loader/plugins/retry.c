/* storage_retry.so: a storage plugin that fails on purpose, for the dispatch layer's tests.
 * put() fails its first `fail_times` calls the way `mode` says:
 *   retry   LP_RETRY with a reason in last_error()  (the core retries with back-off)
 *   log     LP_ERR, no last_error(), the reason only logged at error level
 *   silent  LP_ERR and no reason at all
 * and then succeeds. Each put() sleeps `hold_ms` and records how many calls were inside at
 * once; stat() reports "calls=N max_inside=M". It is not LP_CAP_THREADSAFE, so the core must
 * never let two calls in at once. With fail_create, create() fails but hands back an instance
 * that explains why, which the core must read and then destroy (LeakSanitizer checks it). */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test_ops.h"

struct retry_config {
    int64_t fail_times;
    const char *mode;
    int64_t hold_ms;
    bool fail_create;
};

static const struct lp_cfg_field retry_schema[] = {
    LP_CFG_FIELD(struct retry_config, fail_times, LP_CFG_INT, 0, "0", "failing calls first"),
    LP_CFG_FIELD(struct retry_config, mode, LP_CFG_STRING, 0, "\"retry\"", "retry, log or silent"),
    LP_CFG_FIELD(struct retry_config, hold_ms, LP_CFG_INT, 0, "0", "how long put() takes"),
    LP_CFG_FIELD(struct retry_config, fail_create, LP_CFG_BOOL, 0, "false",
                 "create() fails, leaving an instance whose last_error() says why"),
    LP_CFG_END,
};

struct retry {
    const struct lp_host *host;
    struct retry_config cfg;
    atomic_int inside, max_inside, calls;
    char last_error[128];
};

static int retry_create(const struct lp_host *host, const void *config, void **instance)
{
    struct retry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return LP_ERR;
    r->host = host;
    r->cfg = *(const struct retry_config *)config;
    *instance = r;
    if (r->cfg.fail_create) {
        snprintf(r->last_error, sizeof r->last_error, "fail_create is set");
        return LP_EINVAL; /* the core reads last_error(), then destroys the instance */
    }
    return LP_OK;
}

static const char *retry_last_error(void *instance)
{
    return ((struct retry *)instance)->last_error;
}

static void hold(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int retry_put(void *instance, const struct lp_call *call, const char *path,
                     struct lp_cid *out)
{
    struct retry *r = instance;
    int now = atomic_fetch_add(&r->inside, 1) + 1;
    int seen = atomic_load(&r->max_inside);
    while (now > seen && !atomic_compare_exchange_weak(&r->max_inside, &seen, now))
        ;
    int n = atomic_fetch_add(&r->calls, 1) + 1;
    hold(r->cfg.hold_ms);
    atomic_fetch_sub(&r->inside, 1);
    r->last_error[0] = '\0';
    if (LP_HOST_HAS(r->host, call_cancelled) && r->host->call_cancelled(r->host, call)) {
        snprintf(r->last_error, sizeof r->last_error, "cancelled before call %d", n);
        return LP_ERR;
    }
    if (n <= r->cfg.fail_times) {
        if (strcmp(r->cfg.mode, "retry") == 0) {
            snprintf(r->last_error, sizeof r->last_error, "daemon busy (call %d)", n);
            return LP_RETRY;
        }
        if (strcmp(r->cfg.mode, "log") == 0)
            r->host->log(r->host, LP_LOG_ERROR, "logged reason (call %d)", n);
        return LP_ERR;
    }
    snprintf(out->str, sizeof out->str, "bafkreitest%d", n);
    (void)path;
    return LP_OK;
}

static int retry_stat(void *instance, const struct lp_call *call, const struct lp_cid *cid,
                      struct lp_storage_stat *out)
{
    struct retry *r = instance;
    (void)call, (void)cid;
    snprintf(out->detail, sizeof out->detail, "calls=%d max_inside=%d", atomic_load(&r->calls),
             atomic_load(&r->max_inside));
    return LP_OK;
}

static const struct lp_storage_ops ops = {
    .life = {.create = retry_create, .destroy = test_destroy, .last_error = retry_last_error},
    .put_v2 = retry_put,
    .get_v2 = test_get,
    .stat_v2 = retry_stat,
};
LP_PLUGIN_DEFINE(storage, retry, "0.0.1", "fails on purpose", "MIT", ops, retry_schema,
                 struct retry_config, 0)
