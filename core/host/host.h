/* The host services table handed to each plugin instance (struct lp_host): logging prefixed
 * with the plugin's name, metrics, raw config access, clocks, cancellation, the gpu setting,
 * the data directory; and the per-call context of the *_v2 ops (struct lp_call). */
#ifndef LP_HOST_HOST_H
#define LP_HOST_HOST_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <lilypad/plugin.h>

struct lp_config;

struct lp_host_ctx {
    char label[96];                 /* "hashrate/cuda" */
    const struct lp_cfg_node *root; /* the plugin's own group, or NULL */
    const char *gpu;                /* top-level gpu setting */
    char data_dir[PATH_MAX];        /* "" when none could be resolved */
};

struct lp_host_binding {
    struct lp_host host;
    struct lp_host_ctx ctx;
};

/* Fills a binding for <concern>/<name>; cfg may be NULL. The binding must outlive the
 * plugin instance it is given to (plugins may keep the pointer). */
void lp_host_bind(struct lp_host_binding *b, const char *concern, const char *name,
                  const struct lp_config *cfg, const char *gpu);

/* Process-wide cancellation, read by every plugin through host->cancelled(). */
void lp_host_request_cancel(void);
void lp_host_reset_cancel(void);
bool lp_host_cancel_requested(void);

/*
 * What a plugin logs at LP_LOG_ERROR while the calling thread is inside one of its calls is
 * also kept here, as the reason of last resort when the call fails and last_error() says
 * nothing. Per thread, so concurrent calls never see each other's text. Begin and end pair up
 * around one call on one thread; `host` is the binding the plugin was given.
 */
struct lp_host_capture {
    const struct lp_host *host;
    char text[512];
    struct lp_host_capture *outer; /* a capture already active on this thread */
};
void lp_host_capture_begin(struct lp_host_capture *c, const struct lp_host *host);
void lp_host_capture_end(struct lp_host_capture *c);

/* ---- cancellation of one call or task (struct lp_call's token) --------------------------- */

/* Fired by the core, read by plugins through host->call_cancelled(). A token also counts as
 * fired when its parent has (a deal's storage call under the deal's own token), or when the
 * process stops. */
struct lp_cancel_token {
    atomic_bool fired;
    const struct lp_cancel_token *parent;
};

void lp_cancel_token_init(struct lp_cancel_token *t, const struct lp_cancel_token *parent);
void lp_cancel_token_fire(struct lp_cancel_token *t);
bool lp_cancel_token_fired(const struct lp_cancel_token *t);

/* A call context: actor NULL means the node acts for itself, token may be NULL, timeout_ms 0
 * means no deadline. */
void lp_call_init(struct lp_call *call, const uint8_t actor[20],
                  const struct lp_cancel_token *token, uint64_t timeout_ms);
/* The token fired, the deadline passed or the process stops. NULL: only the process flag. */
bool lp_call_cancelled(const struct lp_call *call);

/* Metrics the plugins and the core have reported, as "name value" lines. */
typedef void (*lp_metric_visit_fn)(void *arg, const char *name, int64_t value);
void lp_metrics_foreach(lp_metric_visit_fn fn, void *arg);
void lp_metric_add(const char *name, int64_t delta);
void lp_metric_set(const char *name, int64_t value);

#endif
