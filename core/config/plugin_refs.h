/*
 * Plugin names a configuration file refers to must name plugins that exist (the embedded
 * ones, those on the search path, and those this release ships): a typo in disable_plugins
 * would otherwise disable nothing, and one in probe_order would quietly try nothing.
 */
#ifndef LP_CONFIG_PLUGIN_REFS_H
#define LP_CONFIG_PLUGIN_REFS_H

#include <stddef.h>

#include "config/config.h"
#include "config/core_settings.h"

/*
 * Checks every disable_plugins entry ("concern/name") and every hashrate.probe_order name the
 * file writes. Returns -1 with "FILE:LINE: KEY: unknown plugin "X"; known ...: a, b" in err.
 * lp_core_settings_load calls it, so every role (and `lilypad config check`) gets it.
 */
int lp_config_check_plugin_refs(const struct lp_config *cfg, const struct lp_core_settings *core,
                                char *err, size_t errlen);

/* The same check for one name the file writes under `key` ("storage.backend"). */
int lp_config_check_plugin_ref(const struct lp_config *cfg, const struct lp_core_settings *core,
                               const char *key, const char *concern, const char *name, char *err,
                               size_t errlen);

#endif
