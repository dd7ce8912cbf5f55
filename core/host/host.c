#include "host/host.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/data_home.h"
#include "util/log.h"

static atomic_int cancel_requested;

/* The innermost capture of the calling thread (lp_host_capture_begin). */
static _Thread_local struct lp_host_capture *current_capture;

void lp_host_request_cancel(void)
{
    atomic_store(&cancel_requested, 1);
}

void lp_host_reset_cancel(void)
{
    atomic_store(&cancel_requested, 0);
}

bool lp_host_cancel_requested(void)
{
    return atomic_load(&cancel_requested) != 0;
}

void lp_host_capture_begin(struct lp_host_capture *c, const struct lp_host *host)
{
    c->host = host;
    c->text[0] = '\0';
    c->outer = current_capture;
    current_capture = c;
}

void lp_host_capture_end(struct lp_host_capture *c)
{
    current_capture = c->outer;
}

void lp_cancel_token_init(struct lp_cancel_token *t, const struct lp_cancel_token *parent)
{
    atomic_init(&t->fired, false);
    t->parent = parent;
}

void lp_cancel_token_fire(struct lp_cancel_token *t)
{
    atomic_store(&t->fired, true);
}

bool lp_cancel_token_fired(const struct lp_cancel_token *t)
{
    for (; t != NULL; t = t->parent)
        if (atomic_load(&t->fired))
            return true;
    return lp_host_cancel_requested();
}

static struct lp_host_ctx *ctx_of(const struct lp_host *host)
{
    return host->ctx;
}

static void host_vlog(const struct lp_host *host, int level, const char *fmt, va_list ap)
    LP_PRINTF(3, 0);
static void host_vlog(const struct lp_host *host, int level, const char *fmt, va_list ap)
{
    struct lp_host_ctx *ctx = ctx_of(host);
    char text[1024];
    vsnprintf(text, sizeof(text), fmt, ap);
    /* Kept for the failing call's message; only the calling thread's own capture, and only
     * when it is a call into this plugin instance, so nothing is shared between threads. */
    struct lp_host_capture *c = current_capture;
    if (level <= LP_LOG_ERROR && c != NULL && c->host == host)
        snprintf(c->text, sizeof(c->text), "%s", text);
    if (level < LP_LOG_ERROR)
        level = LP_LOG_ERROR;
    if (level > LP_LOG_DEBUG)
        level = LP_LOG_DEBUG;
    lp_log(level, "[%s] %s", ctx->label, text);
}

static void host_log(const struct lp_host *host, int level, const char *fmt, ...) LP_PRINTF(3, 4);
static void host_log(const struct lp_host *host, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vlog(host, level, fmt, ap);
    va_end(ap);
}

static void host_metric_add(const struct lp_host *host, const char *name, int64_t delta)
{
    char full[160];
    snprintf(full, sizeof(full), "%s_%s", ctx_of(host)->label, name);
    for (char *p = full; *p; p++) {
        if (*p == '/')
            *p = '_';
    }
    lp_metric_add(full, delta);
}

static void host_metric_set(const struct lp_host *host, const char *name, int64_t value)
{
    char full[160];
    snprintf(full, sizeof(full), "%s_%s", ctx_of(host)->label, name);
    for (char *p = full; *p; p++) {
        if (*p == '/')
            *p = '_';
    }
    lp_metric_set(full, value);
}

static const struct lp_cfg_node *host_cfg_root(const struct lp_host *host)
{
    return ctx_of(host)->root;
}

/* These wrap libconfig so that plugins never see a libconfig type. */
#include <libconfig.h>

static const struct lp_cfg_node *host_cfg_lookup(const struct lp_host *host,
                                                 const struct lp_cfg_node *node, const char *path)
{
    (void)host;
    if (node == NULL || path == NULL)
        return NULL;
    return (const struct lp_cfg_node *)config_setting_lookup((config_setting_t *)(uintptr_t)node,
                                                             path);
}

static int host_cfg_get_string(const struct lp_host *host, const struct lp_cfg_node *node,
                               const char **out)
{
    (void)host;
    const config_setting_t *s = (const config_setting_t *)node;
    if (s == NULL || config_setting_type(s) != CONFIG_TYPE_STRING)
        return LP_EINVAL;
    *out = config_setting_get_string(s);
    return LP_OK;
}

static int host_cfg_get_int(const struct lp_host *host, const struct lp_cfg_node *node,
                            int64_t *out)
{
    (void)host;
    const config_setting_t *s = (const config_setting_t *)node;
    if (s == NULL ||
        (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64))
        return LP_EINVAL;
    *out = config_setting_get_int64(s);
    return LP_OK;
}

static int host_cfg_get_bool(const struct lp_host *host, const struct lp_cfg_node *node, bool *out)
{
    (void)host;
    const config_setting_t *s = (const config_setting_t *)node;
    if (s == NULL || config_setting_type(s) != CONFIG_TYPE_BOOL)
        return LP_EINVAL;
    *out = config_setting_get_bool(s) != 0;
    return LP_OK;
}

static size_t host_cfg_length(const struct lp_host *host, const struct lp_cfg_node *node)
{
    (void)host;
    return node ? (size_t)config_setting_length((const config_setting_t *)node) : 0;
}

static const struct lp_cfg_node *host_cfg_element(const struct lp_host *host,
                                                  const struct lp_cfg_node *node, size_t index)
{
    (void)host;
    if (node == NULL || index > (size_t)INT32_MAX)
        return NULL;
    return (const struct lp_cfg_node *)config_setting_get_elem((const config_setting_t *)node,
                                                               (unsigned)index);
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t host_monotonic_ns(const struct lp_host *host)
{
    (void)host;
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t host_realtime_ns(const struct lp_host *host)
{
    (void)host;
    return clock_ns(CLOCK_REALTIME);
}

static int host_cancelled(const struct lp_host *host)
{
    (void)host;
    return atomic_load(&cancel_requested);
}

static const char *host_gpu_vendor(const struct lp_host *host)
{
    return ctx_of(host)->gpu ? ctx_of(host)->gpu : "auto";
}

static const char *host_data_dir(const struct lp_host *host)
{
    return ctx_of(host)->data_dir[0] ? ctx_of(host)->data_dir : NULL;
}

void lp_call_init(struct lp_call *call, const uint8_t actor[20],
                  const struct lp_cancel_token *token, uint64_t timeout_ms)
{
    memset(call, 0, sizeof *call);
    call->struct_size = sizeof *call;
    if (actor != NULL)
        memcpy(call->actor, actor, sizeof call->actor);
    call->cancel = token;
    if (timeout_ms)
        call->deadline_ns = clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000u;
}

bool lp_call_cancelled(const struct lp_call *call)
{
    if (call == NULL)
        return lp_host_cancel_requested();
    if (call->deadline_ns && clock_ns(CLOCK_MONOTONIC) >= call->deadline_ns)
        return true;
    return lp_cancel_token_fired(call->cancel);
}

static int host_call_cancelled(const struct lp_host *host, const struct lp_call *call)
{
    (void)host;
    return lp_call_cancelled(call);
}

void lp_host_bind(struct lp_host_binding *b, const char *concern, const char *name,
                  const struct lp_config *cfg, const char *gpu)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->ctx.label, sizeof(b->ctx.label), "%s/%s", concern, name);
    char path[128];
    snprintf(path, sizeof(path), "%s.%s", concern, name);
    b->ctx.root = cfg ? lp_config_lookup(cfg, path) : NULL;
    b->ctx.gpu = gpu;
    char home[PATH_MAX / 2], cwd[PATH_MAX / 2];
    if (lp_data_home(home, sizeof(home)) != 0)
        b->ctx.data_dir[0] = '\0';
    else if (home[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        snprintf(b->ctx.data_dir, sizeof(b->ctx.data_dir), "%s", home);
    else /* plugins may chdir or run helpers elsewhere: hand them an absolute path */
        snprintf(b->ctx.data_dir, sizeof(b->ctx.data_dir), "%s/%s", cwd, home);
    b->host = (struct lp_host){
        .struct_size = sizeof(struct lp_host),
        .abi_major = LP_ABI_MAJOR,
        .abi_minor = LP_ABI_MINOR,
        .ctx = &b->ctx,
        .log = host_log,
        .metric_add = host_metric_add,
        .metric_set = host_metric_set,
        .cfg_root = host_cfg_root,
        .cfg_lookup = host_cfg_lookup,
        .cfg_get_string = host_cfg_get_string,
        .cfg_get_int = host_cfg_get_int,
        .cfg_get_bool = host_cfg_get_bool,
        .cfg_length = host_cfg_length,
        .cfg_element = host_cfg_element,
        .monotonic_ns = host_monotonic_ns,
        .realtime_ns = host_realtime_ns,
        .cancelled = host_cancelled,
        .gpu_vendor = host_gpu_vendor,
        .vlog = host_vlog,
        .data_dir = host_data_dir,
        .call_cancelled = host_call_cancelled,
    };
}
