#include "loader/backend_check.h"

#include <stdio.h>
#include <string.h>

#include "config/core_settings.h"
#include "host/host.h"
#include "loader/auto_select.h"
#include "loader/backend.h"

struct check {
    const struct lp_config *cfg;
    const struct lp_core_settings *core;
    const struct lp_search_path *sp;
    const char *concern;
    lp_backend_finding_fn fn;
    void *arg;
};

static void report(const struct check *c, enum lp_backend_verdict verdict,
                   const struct lp_plugin_handle *h, const char *reason, const char *note)
{
    struct lp_backend_finding f = {c->concern, verdict, h, reason, note};
    c->fn(c->arg, &f);
}

static void skipped_copy(void *arg, const struct lp_plugin_handle *broken,
                         const struct lp_plugin_handle *used)
{
    char note[PATH_MAX + 32];
    snprintf(note, sizeof(note), "skipped, using %s", used->path);
    report(arg, LP_BACKEND_FAILS, broken, lp_plugin_reason(broken), note);
}

/* Finds, checks, configures and probes one plugin, as lp_backend_open would short of creating
 * it. True when it would be usable; otherwise why says why not. */
static bool probe_plugin(const struct check *c, const char *name, struct lp_plugin_handle *h,
                         char *why, size_t whylen)
{
    if (lp_core_plugin_disabled(c->core, c->concern, name)) {
        lp_plugin_set_disabled(h, c->concern, name);
        snprintf(why, whylen, "%s", lp_plugin_reason(h));
        return false;
    }
    lp_plugin_open_reporting(c->sp, c->concern, name, h, skipped_copy, (void *)c);
    if (h->state != LP_PLUGIN_LOADED) {
        snprintf(why, whylen, "%s", lp_plugin_reason(h));
        return false;
    }
    char group[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX + 2];
    snprintf(group, sizeof(group), "%s.%s", c->concern, name);
    struct lp_config_values *values = NULL;
    if (lp_config_apply_schema(c->cfg, group, h->desc->config_schema, h->desc->config_size, NULL,
                               &values, why, whylen) != 0)
        return false;
    struct lp_host_binding binding;
    lp_host_bind(&binding, c->concern, name, c->cfg, c->core->gpu);
    lp_plugin_probe(h, &binding.host, lp_config_values_data(values));
    lp_config_values_free(values);
    snprintf(why, whylen, "%s", h->state == LP_PLUGIN_LOADED ? "" : lp_plugin_reason(h));
    return h->state == LP_PLUGIN_LOADED;
}

static void check_named(const struct check *c, const char *name, const char *note)
{
    struct lp_plugin_handle h;
    char why[1024];
    bool ok = probe_plugin(c, name, &h, why, sizeof(why));
    report(c, ok ? LP_BACKEND_USABLE : LP_BACKEND_FAILS, &h, why, note);
    lp_plugin_close(&h);
}

/* The walk of lp_backend_open's "auto": the allowed plugins of probe_order, then the default. */
static void check_auto(const struct check *c, const struct lp_concern_settings *cs)
{
    for (size_t i = 0; strcmp(c->concern, "hashrate") == 0 && i < cs->probe_order.count; i++) {
        const char *name = cs->probe_order.items[i];
        if (!lp_auto_tries(c->core->gpu, name))
            continue;
        struct lp_plugin_handle h;
        char why[1024];
        bool ok = probe_plugin(c, name, &h, why, sizeof(why));
        enum lp_backend_verdict verdict = ok ? LP_BACKEND_USABLE
                                          : lp_auto_pass_is_problem(c->core->gpu, h.state)
                                              ? LP_BACKEND_FAILS
                                              : LP_BACKEND_PASSED;
        report(c, verdict, &h, why, ok ? "auto" : "");
        lp_plugin_close(&h);
        if (ok)
            return;
    }
    check_named(c, lp_concern_default_backend(c->concern), "auto's fallback");
}

int lp_backend_check(const struct lp_config *cfg, const char *concern, lp_backend_finding_fn fn,
                     void *arg, char *err, size_t errlen)
{
    struct lp_config_values *core_values, *concern_values;
    if (lp_backend_settings_load(cfg, concern, &core_values, &concern_values, err, errlen) != 0)
        return -1;
    const struct lp_core_settings *core = lp_config_values_data(core_values);
    const struct lp_concern_settings *cs = lp_config_values_data(concern_values);
    struct lp_search_path sp;
    int rc = lp_search_path_build(&sp, lp_loader_cli_path(), &core->plugin_path,
                                  cfg ? lp_config_dir(cfg) : NULL);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
    } else {
        struct check c = {cfg, core, &sp, concern, fn, arg};
        if (strcmp(cs->backend, "auto") == 0)
            check_auto(&c, cs);
        else
            check_named(&c, cs->backend, "");
        lp_search_path_free(&sp);
    }
    lp_config_values_free(concern_values);
    lp_config_values_free(core_values);
    return rc;
}
