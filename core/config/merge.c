/* Filling a parsed file from another one: settings it leaves out are copied in, and the paths
 * the caller owns are replaced. libconfig has no copy of a setting tree, so it is walked here,
 * one type at a time. */
#include <stdio.h>
#include <string.h>

#include "config/config_impl.h"

static int copy_value(config_setting_t *dst, const config_setting_t *src);

/* Adds a copy of src (its name, or unnamed in a list or array) to the aggregate dst. */
static int add_copy(config_setting_t *dst, const config_setting_t *src)
{
    config_setting_t *n =
        config_setting_add(dst, config_setting_name(src), config_setting_type(src));
    return n == NULL ? -1 : copy_value(n, src);
}

static int copy_value(config_setting_t *dst, const config_setting_t *src)
{
    switch (config_setting_type(src)) {
    case CONFIG_TYPE_INT:
        return config_setting_set_int(dst, config_setting_get_int(src)) ? 0 : -1;
    case CONFIG_TYPE_INT64:
        return config_setting_set_int64(dst, config_setting_get_int64(src)) ? 0 : -1;
    case CONFIG_TYPE_FLOAT:
        return config_setting_set_float(dst, config_setting_get_float(src)) ? 0 : -1;
    case CONFIG_TYPE_BOOL:
        return config_setting_set_bool(dst, config_setting_get_bool(src)) ? 0 : -1;
    case CONFIG_TYPE_STRING:
        return config_setting_set_string(dst, config_setting_get_string(src)) ? 0 : -1;
    case CONFIG_TYPE_GROUP:
    case CONFIG_TYPE_LIST:
    case CONFIG_TYPE_ARRAY:
        for (int i = 0; i < config_setting_length(src); i++)
            if (add_copy(dst, config_setting_get_elem(src, (unsigned)i)) != 0)
                return -1;
        return 0;
    default:
        return -1;
    }
}

static bool is_owned(const char *path, const char *const *owned)
{
    for (size_t i = 0; owned && owned[i]; i++)
        if (strcmp(owned[i], path) == 0)
            return true;
    return false;
}

/* Merges the members of the group `from` into the group `into`; path is the group's own
 * ("" at the root). */
static int merge_group(config_setting_t *into, const config_setting_t *from, const char *path,
                       const char *const *owned, char *err, size_t errlen)
{
    for (int i = 0; i < config_setting_length(from); i++) {
        const config_setting_t *s = config_setting_get_elem(from, (unsigned)i);
        const char *name = config_setting_name(s);
        char sub[512];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", name);
        config_setting_t *have = config_setting_get_member(into, name);
        if (have != NULL && is_owned(sub, owned)) {
            config_setting_remove(into, name);
            have = NULL;
        }
        if (have == NULL) {
            if (add_copy(into, s) != 0) {
                snprintf(err, errlen, "%s: cannot be set (out of memory)", sub);
                return -1;
            }
        } else if (config_setting_is_group(s)) {
            if (!config_setting_is_group(have)) {
                snprintf(err, errlen, "%s must be a group, as in { key = value; }", sub);
                return -1;
            }
            if (merge_group(have, s, sub, owned, err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

int lp_config_merge(struct lp_config *cfg, const struct lp_config *from, const char *const *owned,
                    char *err, size_t errlen)
{
    return merge_group(config_root_setting(&cfg->cfg), config_root_setting(&from->cfg), "", owned,
                       err, errlen);
}
