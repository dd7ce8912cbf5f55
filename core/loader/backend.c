#include "loader/backend.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/core_settings.h"
#include "host/host.h"
#include "loader/auto_select.h"
#include "loader/backend_internal.h"
#include "util/log.h"

/* A transient failure (a daemon restarting, a rate limit) usually clears within a second or
 * two; five attempts over about 1.5 s cover that without stalling a deal for long. */
static const struct lp_retry_policy default_retry = {
    .attempts = 5, .first_delay_ms = 100, .max_delay_ms = 2000};

static const char *cli_plugin_path;

void lp_loader_set_cli_path(const char *dirs)
{
    cli_plugin_path = dirs;
}

const char *lp_loader_cli_path(void)
{
    return cli_plugin_path;
}

int lp_backend_from_handle(const struct lp_config *cfg, const char *gpu, struct lp_plugin_handle *h,
                           struct lp_backend **out, char *err, size_t errlen)
{
    if (h->state != LP_PLUGIN_LOADED) {
        snprintf(err, errlen, "%s", h->message);
        return -1;
    }
    struct lp_backend *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    b->plugin = *h;
    const struct lp_plugin *d = h->desc;
    char group[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX + 2];
    snprintf(group, sizeof(group), "%s.%s", h->concern, h->name);
    /* A config error is the user's to fix, not a plugin state: report it as it is. */
    if (lp_config_apply_schema(cfg, group, d->config_schema, d->config_size, NULL, &b->values, err,
                               errlen) != 0) {
        free(b);
        return -1;
    }
    lp_host_bind(&b->host, h->concern, h->name, cfg, gpu);
    snprintf(b->label, sizeof(b->label), "%s/%s", h->concern, h->name);
    b->retry = default_retry;
    const void *config = lp_config_values_data(b->values);
    lp_plugin_probe(&b->plugin, &b->host.host, config);
    if (b->plugin.state == LP_PLUGIN_LOADED) {
        const struct lp_lifecycle_ops *life = lp_plugin_lifecycle(&b->plugin);
        /* No instance exists yet to ask last_error(): what the plugin logs as an error while
         * creating is its reason. */
        struct lp_host_capture capture;
        lp_host_capture_begin(&capture, &b->host.host);
        int rc = life->create(&b->host.host, config, &b->instance);
        lp_host_capture_end(&capture);
        if (rc != LP_OK || b->instance == NULL) {
            /* A half-built instance explains itself, then goes. */
            const char *text =
                b->instance && life->last_error ? life->last_error(b->instance) : NULL;
            char why[512];
            snprintf(why, sizeof(why), "%s",
                     text && *text     ? text
                     : capture.text[0] ? capture.text
                     : rc == LP_OK     ? "it returned LP_OK but no instance"
                                       : "the plugin gave no reason");
            if (b->instance != NULL)
                life->destroy(b->instance);
            lp_plugin_fail(&b->plugin, LP_PLUGIN_INIT_FAILED, "create failed (rc %d): %s", rc, why);
            b->instance = NULL;
        }
    }
    *h = b->plugin;
    if (b->plugin.state != LP_PLUGIN_LOADED) {
        snprintf(err, errlen, "%s", b->plugin.message);
        lp_config_values_free(b->values);
        free(b);
        return -1;
    }
    b->serialise = (d->caps & LP_CAP_THREADSAFE) == 0;
    pthread_mutex_init(&b->lock, NULL);
    *out = b;
    return 0;
}

/* Opens, configures, probes and creates one named plugin of the concern. */
static int open_named(const struct lp_config *cfg, const struct lp_core_settings *core,
                      const char *concern, const char *name, struct lp_backend **out,
                      struct lp_plugin_handle *h, char *err, size_t errlen)
{
    struct lp_search_path sp;
    if (lp_search_path_build(&sp, cli_plugin_path, &core->plugin_path,
                             cfg ? lp_config_dir(cfg) : NULL) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (lp_core_plugin_disabled(core, concern, name)) {
        memset(h, 0, sizeof(*h));
        snprintf(h->concern, sizeof(h->concern), "%s", concern);
        snprintf(h->name, sizeof(h->name), "%s", name);
        h->state = LP_PLUGIN_DISABLED;
        snprintf(h->message, sizeof(h->message),
                 "plugin %s/%s: disabled by disable_plugins in the configuration", concern, name);
        snprintf(err, errlen, "%s", h->message);
        lp_search_path_free(&sp);
        return -1;
    }
    lp_plugin_open(&sp, concern, name, h);
    lp_search_path_free(&sp);
    return lp_backend_from_handle(cfg, core->gpu, h, out, err, errlen);
}

static int start_backend(struct lp_backend *b, char *err, size_t errlen)
{
    const struct lp_lifecycle_ops *life = lp_plugin_lifecycle(&b->plugin);
    if (life->start == NULL) {
        b->started = true;
        return 0;
    }
    struct lp_host_capture capture;
    lp_host_capture_begin(&capture, &b->host.host);
    int rc = life->start(b->instance);
    lp_host_capture_end(&capture);
    if (rc != LP_OK) {
        const char *text = life->last_error ? life->last_error(b->instance) : NULL;
        if (text == NULL || *text == '\0')
            text = capture.text[0] ? capture.text : "the plugin gave no reason";
        snprintf(err, errlen, "plugin %s: start failed (rc %d): %s", b->label, rc, text);
        lp_backend_close(b);
        return -1;
    }
    b->started = true;
    return 0;
}

int lp_backend_open(const struct lp_config *cfg, const char *concern, const char *backend,
                    struct lp_backend **out, char *err, size_t errlen)
{
    *out = NULL;
    if (lp_concern_schema(concern) == NULL) {
        snprintf(err, errlen, "unknown concern \"%s\"", concern);
        return -1;
    }
    struct lp_config_values *core_values, *concern_values;
    if (lp_backend_settings_load(cfg, concern, &core_values, &concern_values, err, errlen) != 0)
        return -1;
    const struct lp_core_settings *core = lp_config_values_data(core_values);
    const struct lp_concern_settings *cs = lp_config_values_data(concern_values);
    const char *wanted = backend ? backend : cs->backend;
    struct lp_plugin_handle h;
    int rc = -1;

    if (strcmp(wanted, "auto") != 0) {
        rc = open_named(cfg, core, concern, wanted, out, &h, err, errlen);
    } else {
        /* auto: the GPU plugins the gpu setting allows, in probe_order, then the default; what
         * it passed over is one line (loader/auto_select.h). */
        const char *fallback = lp_concern_default_backend(concern);
        struct lp_auto_report passed = {0};
        for (size_t i = 0; strcmp(concern, "hashrate") == 0 && i < cs->probe_order.count; i++) {
            const char *name = cs->probe_order.items[i];
            if (!lp_auto_tries(core->gpu, name))
                continue;
            char why[1024];
            if (open_named(cfg, core, concern, name, out, &h, why, sizeof(why)) == 0) {
                rc = 0;
                break;
            }
            lp_auto_report_add(&passed, core->gpu, &h, why);
        }
        if (rc != 0)
            rc = open_named(cfg, core, concern, fallback, out, &h, err, errlen);
        lp_auto_report_log(&passed, concern, core->gpu, h.name, rc == 0);
    }
    if (rc == 0)
        rc = start_backend(*out, err, errlen);
    if (rc != 0)
        *out = NULL;
    lp_config_values_free(concern_values);
    lp_config_values_free(core_values);
    return rc;
}

void lp_backend_close(struct lp_backend *b)
{
    if (b == NULL)
        return;
    const struct lp_lifecycle_ops *life = lp_plugin_lifecycle(&b->plugin);
    if (b->started && life->stop != NULL)
        life->stop(b->instance);
    if (b->instance != NULL)
        life->destroy(b->instance);
    pthread_mutex_destroy(&b->lock);
    lp_plugin_close(&b->plugin);
    lp_config_values_free(b->values);
    free(b);
}

const struct lp_plugin *lp_backend_descriptor(const struct lp_backend *b)
{
    return b->plugin.desc;
}

const struct lp_plugin_handle *lp_backend_plugin(const struct lp_backend *b)
{
    return &b->plugin;
}

const char *lp_backend_label(const struct lp_backend *b)
{
    return b->label;
}

void lp_backend_set_retry(struct lp_backend *b, const struct lp_retry_policy *policy)
{
    b->retry = *policy;
    if (b->retry.attempts == 0)
        b->retry.attempts = 1;
}

void lp_backend_op(const struct lp_backend *b, size_t offset, size_t size, void *out)
{
    const struct lp_plugin *d = b->plugin.desc;
    if (d != NULL && d->ops != NULL && offset + size <= d->ops_size)
        memcpy(out, (const unsigned char *)d->ops + offset, size);
    else
        memset(out, 0, size);
}
