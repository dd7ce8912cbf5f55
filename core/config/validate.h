/* Whole-file validation for `lilypad config check|dump`. */
#ifndef LP_CONFIG_VALIDATE_H
#define LP_CONFIG_VALIDATE_H

#include <stdint.h>
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

/*
 * Ranges of the core's own numeric keys. The schema row (struct lp_cfg_field) is plugin ABI and
 * has no room for bounds, so ranges live beside the core's schemas, keyed by name, and are
 * checked after lp_config_apply_schema: INT keys compare as int64, SIZE and DURATION keys as
 * unsigned (bytes, milliseconds). A table ends with a row whose key is NULL.
 */
struct lp_cfg_range {
    const char *key;
    int64_t min, max;
    const char *hint; /* what the value means, shown on error; may be NULL */
};

/* -1 with "FILE:LINE: group.key: VALUE is out of range MIN..MAX (hint)" in err for the first
 * value of `data` (filled from `schema`) outside its range. cfg may be NULL (defaults). */
int lp_config_check_ranges(const struct lp_config *cfg, const char *group,
                           const struct lp_cfg_field *schema, const void *data,
                           const struct lp_cfg_range *ranges, char *err, size_t errlen);

/* "FILE:LINE: group.key" for messages about one key (the group's line, or the file alone, when
 * the key is not set in the file). */
void lp_config_where(const struct lp_config *cfg, const char *group, const char *key, char *out,
                     size_t cap);

#endif
