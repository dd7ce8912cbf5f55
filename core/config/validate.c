#include "config/validate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/core_settings.h"
#include "config/plugin_refs.h"
#include "loader/backend.h"
#include "loader/loader.h"
#include "provider/settings.h"
#include "solver/settings.h"
#include "util/log.h"
#include "wire/sigreq.h"

void lp_config_where(const struct lp_config *cfg, const char *group, const char *key, char *out,
                     size_t cap)
{
    if (!cfg) {
        snprintf(out, cap, "(defaults): %s.%s", group, key);
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s.%s", group, key);
    const struct lp_cfg_node *node = lp_config_lookup(cfg, path);
    if (!node)
        node = lp_config_lookup(cfg, group);
    int line = lp_config_node_line(node);
    const char *file = node ? lp_config_node_file(cfg, node) : lp_config_file(cfg);
    if (line > 0)
        snprintf(out, cap, "%s:%d: %s.%s", file, line, group, key);
    else
        snprintf(out, cap, "%s: %s.%s", file, group, key);
}

int lp_config_check_ranges(const struct lp_config *cfg, const char *group,
                           const struct lp_cfg_field *schema, const void *data,
                           const struct lp_cfg_range *ranges, char *err, size_t errlen)
{
    for (const struct lp_cfg_range *r = ranges; r->key; r++) {
        const struct lp_cfg_field *f = schema;
        while (f->key && strcmp(f->key, r->key) != 0)
            f++;
        if (!f->key)
            continue; /* a range for a key the schema lacks is a build mistake the tests catch */
        const char *p = (const char *)data + f->offset;
        bool ok;
        char value[32];
        if (f->type == LP_CFG_INT) {
            int64_t v;
            memcpy(&v, p, sizeof v);
            ok = v >= r->min && v <= r->max;
            snprintf(value, sizeof value, "%" PRId64, v);
        } else if (f->type == LP_CFG_SIZE || f->type == LP_CFG_DURATION) {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            ok = v >= (uint64_t)r->min && v <= (uint64_t)r->max;
            snprintf(value, sizeof value, "%" PRIu64 "%s", v,
                     f->type == LP_CFG_SIZE ? " bytes" : " ms");
        } else {
            continue;
        }
        if (ok)
            continue;
        char where[512];
        lp_config_where(cfg, group, r->key, where, sizeof where);
        snprintf(err, errlen, "%s: %s is out of range %" PRId64 "..%" PRId64 "%s%s%s", where, value,
                 r->min, r->max, r->hint ? " (" : "", r->hint ? r->hint : "", r->hint ? ")" : "");
        return -1;
    }
    return 0;
}

/* A role section's own meaning, beyond its schema: the checks its command runs at start. */
static int check_solver_section(const struct lp_config *cfg, char *err, size_t errlen)
{
    struct lp_solver_runtime rt;
    if (lp_solver_settings_load(cfg, &rt, err, errlen) != 0)
        return -1;
    lp_solver_settings_free(&rt);
    return 0;
}

static int check_provider_section(const struct lp_config *cfg, char *err, size_t errlen)
{
    struct lp_provider_runtime rt;
    if (lp_provider_settings_load(cfg, &rt, err, errlen) != 0)
        return -1;
    /* The provider signs every request for the solver URL's host and port: check them here
     * rather than at its first request. */
    struct lp_wire_error we;
    char host[LP_SIGREQ_MAX_HOST + 1];
    int rc = 0;
    if (lp_sigreq_url_host(rt.settings->solver, host, sizeof host, &we) != 0) {
        char where[512];
        lp_config_where(cfg, "provider", "solver", where, sizeof where);
        snprintf(err, errlen, "%s: %s (hint: \"http://127.0.0.1:8080\")", where, we.message);
        rc = -1;
    }
    lp_provider_settings_free(&rt);
    return rc;
}

struct name_set {
    const char *names[64];
    size_t count;
};

static void name_set_add(struct name_set *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->names[i], name) == 0)
            return;
    }
    if (s->count < sizeof(s->names) / sizeof(s->names[0]))
        s->names[s->count++] = name;
}

/* Checks (and dumps) one plugin group, "concern.name". */
static int validate_plugin_group(const struct lp_config *cfg, const struct lp_core_settings *core,
                                 const struct lp_search_path *sp, const char *concern,
                                 const char *name, bool selected, FILE *dump, char *err,
                                 size_t errlen)
{
    char path[128];
    /* A backend the file names must be a plugin that exists somewhere; whether it can be used
     * on this machine is the probe's question (lp_backend_check), not the file's fault. */
    snprintf(path, sizeof(path), "%s.backend", concern);
    if (selected && lp_config_check_plugin_ref(cfg, core, path, concern, name, err, errlen) != 0)
        return -1;
    struct lp_plugin_handle h;
    /* Broken copies skipped on the way are the probe's to report too. */
    lp_plugin_open_reporting(sp, concern, name, &h, NULL, NULL);
    snprintf(path, sizeof(path), "%s.%s", concern, name);
    const struct lp_cfg_node *group = lp_config_lookup(cfg, path);
    int line = lp_config_node_line(group);
    if (line == 0) {
        snprintf(path, sizeof(path), "%s.backend", concern);
        line = lp_config_node_line(lp_config_lookup(cfg, path));
    }
    if (h.state != LP_PLUGIN_LOADED) {
        if (group != NULL)
            lp_warn("config %s:%d: %s.%s: settings not checked: %s", lp_config_file(cfg), line,
                    concern, name, h.message);
        lp_plugin_close(&h);
        return 0;
    }
    struct lp_config_values *values = NULL;
    snprintf(path, sizeof(path), "%s.%s", concern, name);
    int rc = lp_config_apply_schema(cfg, path, h.desc->config_schema, h.desc->config_size, NULL,
                                    &values, err, errlen);
    if (rc == 0 && dump) {
        fprintf(dump, "  %s: {\n", name);
        lp_config_values_dump(dump, h.desc->config_schema, lp_config_values_data(values), 4);
        fprintf(dump, "  };\n");
    }
    lp_config_values_free(values);
    lp_plugin_close(&h);
    return rc;
}

static int validate_concern(const struct lp_config *cfg, const struct lp_core_settings *core,
                            const struct lp_search_path *sp, const char *concern, FILE *dump,
                            char *err, size_t errlen)
{
    struct lp_config_values *values = NULL;
    if (lp_concern_settings_load(cfg, concern, &values, err, errlen) != 0)
        return -1;
    const struct lp_concern_settings *cs = lp_config_values_data(values);
    bool automatic = strcmp(cs->backend, "auto") == 0;
    if (automatic && strcmp(concern, "hashrate") != 0) {
        snprintf(err, errlen,
                 "%s:%d: %s.backend: \"auto\" is only meaningful for hashrate; "
                 "name a plugin (default \"%s\")",
                 lp_config_file(cfg), lp_config_node_line(lp_config_lookup(cfg, concern)), concern,
                 lp_concern_default_backend(concern));
        lp_config_values_free(values);
        return -1;
    }
    if (dump) {
        fprintf(dump, "%s: {\n", concern);
        lp_config_values_dump(dump, lp_concern_schema(concern), cs, 2);
    }
    struct name_set groups = {0};
    size_t n = 0;
    const char **keys = lp_config_group_keys(lp_config_lookup(cfg, concern), &n);
    char path[128];
    for (size_t i = 0; keys && i < n; i++) {
        snprintf(path, sizeof(path), "%s.%s", concern, keys[i]);
        if (lp_config_node_is_group(lp_config_lookup(cfg, path)))
            name_set_add(&groups, keys[i]);
    }
    /* A backend the file names must exist; the default is only checked when it can be found,
     * so a file that does not use a concern is not judged by it. */
    char backend_path[64];
    snprintf(backend_path, sizeof(backend_path), "%s.backend", concern);
    bool named = lp_config_lookup(cfg, backend_path) != NULL && !automatic;
    const char *selected = named ? cs->backend : "";
    if (named)
        name_set_add(&groups, selected);
    else if (automatic)
        name_set_add(&groups, lp_concern_default_backend(concern)); /* auto's last resort */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < groups.count; i++)
        rc = validate_plugin_group(cfg, core, sp, concern, groups.names[i],
                                   strcmp(groups.names[i], selected) == 0, dump, err, errlen);
    if (dump)
        fprintf(dump, "};\n");
    free(keys);
    lp_config_values_free(values);
    return rc;
}

int lp_config_validate(const struct lp_config *cfg, FILE *dump, char *err, size_t errlen)
{
    struct lp_config_values *core_values = NULL;
    if (lp_core_settings_load(cfg, &core_values, err, errlen) != 0)
        return -1;
    const struct lp_core_settings *core = lp_config_values_data(core_values);
    if (dump) {
        fprintf(dump, "# effective configuration of %s (defaults filled in, secrets masked)\n",
                lp_config_file(cfg));
        lp_config_values_dump(dump, lp_core_schema, core, 0);
    }
    struct lp_search_path sp;
    if (lp_search_path_build(&sp, lp_loader_cli_path(), &core->plugin_path, lp_config_dir(cfg)) !=
        0) {
        snprintf(err, errlen, "out of memory");
        lp_config_values_free(core_values);
        return -1;
    }
    int rc = 0;
    for (const char *const *c = lp_concerns; rc == 0 && *c; c++)
        rc = validate_concern(cfg, core, &sp, *c, dump, err, errlen);
    /* A role's section is checked when the file has one: a provider's file need not
     * configure the solver. */
    for (const struct lp_role_section *r = lp_role_sections; rc == 0 && r->name; r++) {
        if (lp_config_lookup(cfg, r->name) == NULL)
            continue;
        struct lp_config_values *values = NULL;
        rc = lp_config_apply_schema(cfg, r->name, r->schema, r->struct_size, NULL, &values, err,
                                    errlen);
        if (rc == 0 && strcmp(r->name, "solver") == 0)
            rc = check_solver_section(cfg, err, errlen);
        else if (rc == 0 && strcmp(r->name, "provider") == 0)
            rc = check_provider_section(cfg, err, errlen);
        if (rc == 0 && dump) {
            fprintf(dump, "%s: {\n", r->name);
            lp_config_values_dump(dump, r->schema, lp_config_values_data(values), 2);
            fprintf(dump, "};\n");
        }
        lp_config_values_free(values);
    }
    lp_search_path_free(&sp);
    lp_config_values_free(core_values);
    return rc;
}
