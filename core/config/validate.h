/* Whole-file validation for `lilypad config check|dump`. */
#ifndef LP_CONFIG_VALIDATE_H
#define LP_CONFIG_VALIDATE_H

#include <stdio.h>

#include "config/config.h"

/*
 * Checks the top level (plugin names in disable_plugins and probe_order included), every
 * concern's own keys, every plugin group against the schema of the plugin it names (as found
 * on the search path), and that each backend the file names is a plugin that exists. A plugin
 * that exists but is not installed or not usable here is a warning, not an error, so one file
 * serves machines with and without optional plugins; lp_backend_check (loader/backend_check.h)
 * says what would fail on this machine. With `dump`, prints the effective values
 * (defaults filled in, secrets masked) in libconfig syntax. Returns -1 with one line in err.
 */
int lp_config_validate(const struct lp_config *cfg, FILE *dump, char *err, size_t errlen);

#endif
