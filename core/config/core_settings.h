/* The core's own configuration keys: the top level and the section of each concern. */
#ifndef LP_CONFIG_CORE_SETTINGS_H
#define LP_CONFIG_CORE_SETTINGS_H

#include <lilypad/plugin.h>

#include "config/config.h"

struct lp_core_settings {
    const char *gpu;                    /* "auto", "nvidia", "amd", "none" */
    struct lp_str_list plugin_path;     /* relative to the config file */
    struct lp_str_list disable_plugins; /* "concern/name" entries */
};

struct lp_concern_settings {
    const char *backend;            /* a plugin name, or "auto" (hashrate) */
    struct lp_str_list probe_order; /* hashrate only: GPU plugins tried by "auto" */
};

extern const struct lp_cfg_field lp_core_schema[];
/* Every top-level group: the concerns, then the roles' sections. NULL-terminated. */
extern const char *const lp_core_sections[];
/* The four concerns, NULL-terminated. */
extern const char *const lp_concerns[];

/* A role's section (solver, provider, ...), the schema that validates it, and the concerns
 * whose backends the role opens. */
struct lp_role_section {
    const char *name;
    const struct lp_cfg_field *schema;
    size_t struct_size;
    const char *const *concerns; /* NULL-terminated */
};
/* Ends with a row whose name is NULL. */
extern const struct lp_role_section lp_role_sections[];

/* Whether the file uses a concern's backend: it has the concern's section, or the section of a
 * role that opens it. */
bool lp_config_uses_concern(const struct lp_config *cfg, const char *concern);

/* The schema of a concern's own keys, and its embedded default backend. */
const struct lp_cfg_field *lp_concern_schema(const char *concern);
const char *lp_concern_default_backend(const char *concern);

/* Validates the top level (cfg may be NULL: defaults), including that the plugins named by
 * disable_plugins and hashrate.probe_order exist (config/plugin_refs.h). */
int lp_core_settings_load(const struct lp_config *cfg, struct lp_config_values **out, char *err,
                          size_t errlen);
/* Validates a concern's own keys; its plugin subgroups are accepted here and checked against
 * the plugins' schemas by the caller. */
int lp_concern_settings_load(const struct lp_config *cfg, const char *concern,
                             struct lp_config_values **out, char *err, size_t errlen);

/* Both of the above, as resolving a concern's backend needs them: on success both are set, on
 * failure neither (and err says why). */
int lp_backend_settings_load(const struct lp_config *cfg, const char *concern,
                             struct lp_config_values **core_values,
                             struct lp_config_values **concern_values, char *err, size_t errlen);

/* True when "concern/name" is listed in disable_plugins. */
bool lp_core_plugin_disabled(const struct lp_core_settings *s, const char *concern,
                             const char *name);

#endif
