/*
 * The plugin names a configuration may use: the embedded plugins, every <concern>_<name>.so on
 * the search path, and the plugins this release ships whether or not this build has them. A
 * name outside this set is a typo, not a plugin missing from this machine.
 */
#ifndef LP_LOADER_PLUGIN_NAMES_H
#define LP_LOADER_PLUGIN_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "loader/loader.h"

struct lp_plugin_names {
    char (*items)[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX]; /* "concern/name", sorted */
    size_t count;
};

/* -1 when out of memory. */
int lp_plugin_names_collect(const struct lp_search_path *sp, struct lp_plugin_names *out);
void lp_plugin_names_free(struct lp_plugin_names *names);
bool lp_plugin_names_has(const struct lp_plugin_names *names, const char *concern,
                         const char *name);
/* "a, b, c": the names of one concern, or every "concern/name" when concern is NULL. */
void lp_plugin_names_format(const struct lp_plugin_names *names, const char *concern, char *buf,
                            size_t len);

#endif
