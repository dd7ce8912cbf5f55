#include "config/core_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/plugin_refs.h"
#include "loader/loader.h"
#include "provider/settings.h"
#include "solver/settings.h"

const struct lp_cfg_field lp_core_schema[] = {
    LP_CFG_FIELD(struct lp_core_settings, gpu, LP_CFG_STRING, 0, "\"auto\"",
                 "GPU vendor handed to every concern: \"auto\", \"nvidia\", \"amd\" or \"none\""),
    LP_CFG_FIELD(struct lp_core_settings, plugin_path, LP_CFG_STRING_LIST, 0, "[]",
                 "extra plugin folders, relative to this file, searched after "
                 "LILYPAD_PLUGIN_PATH"),
    LP_CFG_FIELD(struct lp_core_settings, disable_plugins, LP_CFG_STRING_LIST, 0, "[]",
                 "plugins never to load, as \"concern/name\""),
    LP_CFG_END,
};

const char *const lp_core_sections[] = {"hashrate", "executor", "storage", "verifier",
                                        "solver",   "provider", NULL};
const char *const lp_concerns[] = {"hashrate", "executor", "storage", "verifier", NULL};

/* The provider drives all four concerns; the solver records proof-of-work rounds through the
 * verifier. */
static const char *const solver_concerns[] = {"verifier", NULL};

const struct lp_role_section lp_role_sections[] = {
    {"solver", lp_solver_schema, sizeof(struct lp_solver_settings), solver_concerns},
    {"provider", lp_provider_schema, sizeof(struct lp_provider_settings), lp_concerns},
    {NULL, NULL, 0, NULL},
};

bool lp_config_uses_concern(const struct lp_config *cfg, const char *concern)
{
    if (lp_config_lookup(cfg, concern) != NULL)
        return true;
    for (const struct lp_role_section *r = lp_role_sections; r->name; r++) {
        if (lp_config_lookup(cfg, r->name) == NULL)
            continue;
        for (const char *const *c = r->concerns; *c; c++) {
            if (strcmp(*c, concern) == 0)
                return true;
        }
    }
    return false;
}

static const struct lp_cfg_field hashrate_schema[] = {
    LP_CFG_FIELD(struct lp_concern_settings, backend, LP_CFG_STRING, 0, "\"auto\"",
                 "plugin to use; \"auto\" tries probe_order (as narrowed by gpu), then cpu"),
    LP_CFG_FIELD(struct lp_concern_settings, probe_order, LP_CFG_STRING_LIST, 0,
                 "[\"cuda\", \"rocm\"]", "GPU plugins \"auto\" tries, in order"),
    LP_CFG_END,
};

#define CONCERN_SCHEMA(var, default_backend)                                                       \
    static const struct lp_cfg_field var[] = {                                                     \
        LP_CFG_FIELD(struct lp_concern_settings, backend, LP_CFG_STRING, 0,                        \
                     "\"" default_backend "\"", "plugin to use"),                                  \
        LP_CFG_END,                                                                                \
    }
CONCERN_SCHEMA(executor_schema, "process");
CONCERN_SCHEMA(storage_schema, "local");
CONCERN_SCHEMA(verifier_schema, "ledger");

const struct lp_cfg_field *lp_concern_schema(const char *concern)
{
    if (strcmp(concern, "hashrate") == 0)
        return hashrate_schema;
    if (strcmp(concern, "executor") == 0)
        return executor_schema;
    if (strcmp(concern, "storage") == 0)
        return storage_schema;
    if (strcmp(concern, "verifier") == 0)
        return verifier_schema;
    return NULL;
}

const char *lp_concern_default_backend(const char *concern)
{
    static const char *const defaults[][2] = {
        {"hashrate", "cpu"}, {"executor", "process"}, {"storage", "local"}, {"verifier", "ledger"}};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (strcmp(defaults[i][0], concern) == 0)
            return defaults[i][1];
    }
    return NULL;
}

int lp_core_settings_load(const struct lp_config *cfg, struct lp_config_values **out, char *err,
                          size_t errlen)
{
    if (lp_config_apply_schema(cfg, "", lp_core_schema, sizeof(struct lp_core_settings),
                               lp_core_sections, out, err, errlen) != 0)
        return -1;
    const struct lp_core_settings *s = lp_config_values_data(*out);
    static const char *const vendors[] = {"auto", "nvidia", "amd", "none"};
    bool known_vendor = false;
    for (size_t i = 0; i < 4; i++)
        known_vendor = known_vendor || strcmp(s->gpu, vendors[i]) == 0;
    if (!known_vendor)
        snprintf(err, errlen,
                 "%s:%d: gpu: unknown vendor \"%s\"; valid values: auto, nvidia, amd, none",
                 cfg ? lp_config_file(cfg) : "(defaults)",
                 lp_config_node_line(lp_config_lookup(cfg, "gpu")), s->gpu);
    /* Every role loads the top level before anything else, so plugin names the file refers to
     * (disable_plugins, hashrate.probe_order) are checked here once for all of them. */
    if (known_vendor && lp_config_check_plugin_refs(cfg, s, err, errlen) == 0)
        return 0;
    lp_config_values_free(*out);
    *out = NULL;
    return -1;
}

int lp_concern_settings_load(const struct lp_config *cfg, const char *concern,
                             struct lp_config_values **out, char *err, size_t errlen)
{
    /* Every subgroup of the section is some plugin's settings; which plugins exist is only
     * known to the loader, so the caller checks those groups. */
    const struct lp_cfg_node *section = lp_config_lookup(cfg, concern);
    size_t n = 0;
    const char **keys = NULL;
    if (lp_config_node_is_group(section)) {
        keys = lp_config_group_keys(section, &n);
        size_t kept = 0;
        char path[128];
        for (size_t i = 0; keys && i < n; i++) {
            snprintf(path, sizeof(path), "%s.%s", concern, keys[i]);
            if (lp_config_node_is_group(lp_config_lookup(cfg, path)))
                keys[kept++] = keys[i];
        }
        if (keys)
            keys[kept] = NULL;
    }
    int rc = lp_config_apply_schema(cfg, concern, lp_concern_schema(concern),
                                    sizeof(struct lp_concern_settings), keys, out, err, errlen);
    free(keys);
    return rc;
}

bool lp_core_plugin_disabled(const struct lp_core_settings *s, const char *concern,
                             const char *name)
{
    char key[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX];
    snprintf(key, sizeof(key), "%s/%s", concern, name);
    for (size_t i = 0; i < s->disable_plugins.count; i++) {
        if (strcmp(s->disable_plugins.items[i], key) == 0)
            return true;
    }
    return false;
}

int lp_backend_settings_load(const struct lp_config *cfg, const char *concern,
                             struct lp_config_values **core_values,
                             struct lp_config_values **concern_values, char *err, size_t errlen)
{
    *core_values = *concern_values = NULL;
    if (lp_core_settings_load(cfg, core_values, err, errlen) != 0)
        return -1;
    if (lp_concern_settings_load(cfg, concern, concern_values, err, errlen) != 0) {
        lp_config_values_free(*core_values);
        *core_values = NULL;
        return -1;
    }
    return 0;
}
