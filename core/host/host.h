/* The host services table handed to each plugin instance (struct lp_host): logging prefixed
 * with the plugin's name, metrics, raw config access, clocks, cancellation, the gpu setting. */
#ifndef LP_HOST_HOST_H
#define LP_HOST_HOST_H

#include <lilypad/plugin.h>

struct lp_config;

struct lp_host_ctx {
    char label[96];                 /* "hashrate/cuda" */
    const struct lp_cfg_node *root; /* the plugin's own group, or NULL */
    const char *gpu;                /* top-level gpu setting */
    char last_error[512];           /* the last error the plugin logged */
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

/* Metrics the plugins and the core have reported, as "name value" lines. */
typedef void (*lp_metric_visit_fn)(void *arg, const char *name, int64_t value);
void lp_metrics_foreach(lp_metric_visit_fn fn, void *arg);
void lp_metric_add(const char *name, int64_t delta);
void lp_metric_set(const char *name, int64_t value);

#endif
