#include "config/plugin_refs.h"

#include <stdio.h>
#include <string.h>

#include "loader/backend.h"
#include "loader/plugin_names.h"

static int collect(const struct lp_config *cfg, const struct lp_core_settings *core,
                   struct lp_plugin_names *names, char *err, size_t errlen)
{
    struct lp_search_path sp;
    if (lp_search_path_build(&sp, lp_loader_cli_path(), &core->plugin_path, lp_config_dir(cfg)) !=
        0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = lp_plugin_names_collect(&sp, names);
    lp_search_path_free(&sp);
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* concern NULL: the names are "concern/name" (disable_plugins). */
static int unknown(const struct lp_config *cfg, const struct lp_cfg_node *node, const char *key,
                   const char *concern, const char *name, const struct lp_plugin_names *names,
                   char *err, size_t errlen)
{
    char known[1024];
    lp_plugin_names_format(names, concern, known, sizeof(known));
    snprintf(err, errlen, "%s:%d: %s: unknown plugin \"%s\"; known %s%s: %s",
             lp_config_node_file(cfg, node), lp_config_node_line(node), key, name,
             concern ? concern : "plugins (as concern/name)", concern ? " plugins" : "", known);
    return -1;
}

static bool is_known_ref(const struct lp_plugin_names *names, const char *ref)
{
    const char *slash = strchr(ref, '/');
    char concern[LP_CONCERN_NAME_MAX];
    if (slash == NULL || (size_t)(slash - ref) >= sizeof(concern))
        return false;
    memcpy(concern, ref, (size_t)(slash - ref));
    concern[slash - ref] = '\0';
    return lp_plugin_names_has(names, concern, slash + 1);
}

int lp_config_check_plugin_refs(const struct lp_config *cfg, const struct lp_core_settings *core,
                                char *err, size_t errlen)
{
    if (cfg == NULL)
        return 0;
    const struct lp_cfg_node *disabled = lp_config_lookup(cfg, "disable_plugins");
    const struct lp_cfg_node *order = lp_config_lookup(cfg, "hashrate.probe_order");
    size_t n_disabled = lp_config_list_length(disabled), n_order = lp_config_list_length(order);
    /* A probe_order that is not a list of strings is the hashrate section's schema to report. */
    for (size_t i = 0; i < n_order; i++) {
        if (lp_config_node_string(lp_config_list_item(order, i)) == NULL)
            n_order = 0;
    }
    if (n_disabled == 0 && n_order == 0)
        return 0; /* nothing to check: no directory scan */
    struct lp_plugin_names names;
    if (collect(cfg, core, &names, err, errlen) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_disabled; i++) {
        const struct lp_cfg_node *item = lp_config_list_item(disabled, i);
        const char *ref = lp_config_node_string(item);
        if (ref != NULL && !is_known_ref(&names, ref))
            rc = unknown(cfg, item, "disable_plugins", NULL, ref, &names, err, errlen);
    }
    for (size_t i = 0; rc == 0 && i < n_order; i++) {
        const struct lp_cfg_node *item = lp_config_list_item(order, i);
        const char *name = lp_config_node_string(item);
        if (!lp_plugin_names_has(&names, "hashrate", name))
            rc = unknown(cfg, item, "hashrate.probe_order", "hashrate", name, &names, err, errlen);
    }
    lp_plugin_names_free(&names);
    return rc;
}

int lp_config_check_plugin_ref(const struct lp_config *cfg, const struct lp_core_settings *core,
                               const char *key, const char *concern, const char *name, char *err,
                               size_t errlen)
{
    struct lp_plugin_names names;
    if (collect(cfg, core, &names, err, errlen) != 0)
        return -1;
    int rc = 0;
    if (!lp_plugin_names_has(&names, concern, name))
        rc = unknown(cfg, lp_config_lookup(cfg, key), key, concern, name, &names, err, errlen);
    lp_plugin_names_free(&names);
    return rc;
}
