/* lilypad plugins [list|inspect NAME]: every plugin the core can see, and the state each ends
 * in after the loader's checks, its probe and creating an instance. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_options.h"
#include "commands.h"
#include "config/core_settings.h"
#include "loader/backend.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lilypad plugins [list] [-c FILE] [--plugin-path DIRS]\n"
            "       lilypad plugins inspect CONCERN/NAME|NAME [-c FILE] [--plugin-path DIRS]\n"
            "\n"
            "list     every plugin found (embedded, then <concern>_<name>.so on the search\n"
            "         path) with its state: LOADED, UNAVAILABLE, INCOMPATIBLE, OPEN_FAILED,\n"
            "         NOT_A_PLUGIN, INIT_FAILED, DISABLED or NOT_FOUND; a broken copy that\n"
            "         the loader skips for a later one on the search path has its own row\n"
            "inspect  one plugin's state, path, versions, capabilities and config keys\n"
            "\n"
            "-c FILE             validate plugin settings from this configuration\n"
            "--plugin-path DIRS  colon-separated folders searched first\n"
            "\n"
            "exit status: 1 when a plugin shown is INCOMPATIBLE, OPEN_FAILED, NOT_A_PLUGIN or\n"
            "INIT_FAILED (it needs fixing); UNAVAILABLE, DISABLED and NOT_FOUND keep 0\n");
}

struct plugin_scan {
    const struct lp_config *cfg;
    const struct lp_core_settings *core;
    const struct lp_search_path *sp;
    const char *only; /* inspect: "concern/name" or "name"; NULL lists all */
    int matches;
    struct lp_plugin_handle found; /* inspect: the matching handle */
    char skipped[2048];            /* inspect: broken copies the loader skipped, one per line */
    int rows;
    int broken; /* plugins shown in a state that needs fixing */
};

/* Brings a handle to its final state: checks, then probe + create + destroy when loaded. */
static void settle(const struct plugin_scan *scan, struct lp_plugin_handle *h)
{
    if (lp_core_plugin_disabled(scan->core, h->concern, h->name)) {
        h->state = LP_PLUGIN_DISABLED;
        snprintf(h->message, sizeof(h->message),
                 "plugin %s/%s: disabled by disable_plugins in the configuration", h->concern,
                 h->name);
        return;
    }
    if (h->state != LP_PLUGIN_LOADED)
        return;
    struct lp_backend *b = NULL;
    char err[1024];
    if (lp_backend_from_handle(scan->cfg, scan->core->gpu, h, &b, err, sizeof(err)) == 0) {
        lp_backend_close(b);
    } else if (h->state == LP_PLUGIN_LOADED) {
        /* The plugin is fine but its settings are not: say so on its row. */
        snprintf(h->message, sizeof(h->message), "config %s", err);
    }
}

static void print_row(struct plugin_scan *scan, const struct lp_plugin_handle *h)
{
    if (lp_plugin_state_is_broken(h->state))
        scan->broken++;
    if (scan->rows++ == 0)
        printf("%-13s %-20s %-8s %-4s %s\n", "STATE", "PLUGIN", "VERSION", "ABI", "PATH");
    char plugin[96];
    snprintf(plugin, sizeof(plugin), "%s/%s", h->concern, h->name);
    char abi[16] = "-";
    if (h->desc)
        snprintf(abi, sizeof(abi), "%u.%u", h->desc->abi_major, h->desc->abi_minor);
    printf("%-13s %-20s %-8s %-4s %s\n", lp_plugin_state_name(h->state), plugin,
           h->desc && h->desc->version ? h->desc->version : "-", abi, h->path);
    if (h->message[0])
        printf("%-13s %s\n", "", h->message);
    /* Rows go out whole: the next plugin's probe may log to stderr, and with both streams on
     * one pipe (2>&1) a block-buffered row would be cut by that line. */
    fflush(stdout);
}

/* A broken copy the loader passes over: its own row in the list, a line in inspect. */
static void skipped_copy(void *arg, const struct lp_plugin_handle *broken,
                         const struct lp_plugin_handle *used)
{
    struct plugin_scan *scan = arg;
    if (scan->only) {
        if (lp_plugin_state_is_broken(broken->state))
            scan->broken++;
        size_t len = strlen(scan->skipped);
        snprintf(scan->skipped + len, sizeof(scan->skipped) - len, "skipped:      %s %s: %s\n",
                 broken->path, lp_plugin_state_name(broken->state), lp_plugin_reason(broken));
        return;
    }
    print_row(scan, broken);
    printf("%-13s skipped: the loader uses the next copy, %s\n", "", used->path);
}

static void visit(void *arg, const char *concern, const char *name, const char *path)
{
    struct plugin_scan *scan = arg;
    if (scan->only) {
        char full[128];
        snprintf(full, sizeof(full), "%s/%s", concern, name);
        if (strcmp(scan->only, full) != 0 && strcmp(scan->only, name) != 0)
            return;
    }
    struct lp_plugin_handle h;
    /* The loader's own lookup, so the row shows the copy it would use and every broken copy
     * it would skip on the way (skipped_copy). */
    struct lp_search_path none = {0};
    bool first_match = scan->matches == 0;
    lp_plugin_open_reporting(path ? scan->sp : &none, concern, name, &h,
                             scan->only == NULL || first_match ? skipped_copy : NULL, scan);
    settle(scan, &h);
    if (scan->only) {
        if (scan->matches++ == 0)
            scan->found = h;
        else
            lp_plugin_close(&h);
        return;
    }
    print_row(scan, &h);
    lp_plugin_close(&h);
}

static void print_caps(uint64_t caps)
{
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {{LP_CAP_THREADSAFE, "threadsafe"},
                 {LP_CAP_MULTI_INSTANCE, "multi-instance"},
                 {LP_CAP_NEEDS_GPU, "needs-gpu"},
                 {LP_CAP_CANCEL, "cancel"},
                 {LP_CAP_NETWORK, "network"}};
    int printed = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (caps & names[i].bit)
            printf("%s%s", printed++ ? ", " : "", names[i].name);
    }
    printf("%s\n", printed ? "" : "none");
}

static void print_inspect(const struct lp_plugin_handle *h, const char *skipped)
{
    const struct lp_plugin *d = h->desc;
    printf("plugin:       %s/%s\n", h->concern, h->name);
    printf("state:        %s\n", lp_plugin_state_name(h->state));
    if (h->message[0])
        printf("message:      %s\n", h->message);
    printf("path:         %s\n", h->path);
    fputs(skipped, stdout);
    if (d == NULL)
        return;
    printf("version:      %s\n", d->version ? d->version : "-");
    printf("abi:          %u.%u (core %d.%d)\n", d->abi_major, d->abi_minor, LP_ABI_MAJOR,
           LP_ABI_MINOR);
    printf("license:      %s\n", d->license ? d->license : "-");
    printf("description:  %s\n", d->description ? d->description : "-");
    printf("capabilities: ");
    print_caps(d->caps);
    printf("config keys:  (section %s: { %s: { ... }; };)\n", h->concern, h->name);
    if (d->config_schema == NULL || d->config_schema[0].key == NULL)
        printf("  (none)\n");
    for (const struct lp_cfg_field *f = d->config_schema; f && f->key; f++) {
        const char *def = (f->flags & LP_CFG_REQUIRED) ? "(required)"
                          : f->default_value           ? f->default_value
                                                       : "(unset)";
        printf("  %-18s %-17s %-16s %s%s\n", f->key, lp_cfg_type_name(f->type), def,
               f->description ? f->description : "", (f->flags & LP_CFG_SECRET) ? " [secret]" : "");
    }
}

/* Configured backends that no plugin provides get a NOT_FOUND row. */
static void list_missing_backends(struct plugin_scan *scan)
{
    for (const char *const *c = lp_concerns; *c; c++) {
        struct lp_config_values *v = NULL;
        char err[1024];
        if (lp_concern_settings_load(scan->cfg, *c, &v, err, sizeof(err)) != 0) {
            fprintf(stderr, "lilypad: config %s\n", err);
            continue;
        }
        const struct lp_concern_settings *cs = lp_config_values_data(v);
        char key[64];
        snprintf(key, sizeof(key), "%s.backend", *c);
        if (lp_config_lookup(scan->cfg, key) != NULL && strcmp(cs->backend, "auto") != 0) {
            struct lp_search_path sp;
            if (lp_search_path_build(&sp, lp_loader_cli_path(), &scan->core->plugin_path,
                                     lp_config_dir(scan->cfg)) == 0) {
                struct lp_plugin_handle h;
                lp_plugin_open_reporting(&sp, *c, cs->backend, &h, NULL, NULL);
                if (h.state == LP_PLUGIN_NOT_FOUND)
                    print_row(scan, &h);
                lp_plugin_close(&h);
                lp_search_path_free(&sp);
            }
        }
        lp_config_values_free(v);
    }
}

int lp_cmd_plugins(int argc, char **argv)
{
    const char *config_path = NULL, *inspect = NULL;
    bool list = true;
    for (int i = 1; i < argc; i++) {
        int rc = lp_cli_common_option(argc, argv, &i, &config_path);
        if (rc < 0)
            return 2;
        if (rc > 0)
            continue;
        if (lp_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "list") == 0 && i == 1) {
            list = true;
        } else if (strcmp(argv[i], "inspect") == 0 && i == 1) {
            if (i + 1 >= argc || argv[i + 1][0] == '-') {
                fprintf(stderr, "lilypad: plugins inspect: which plugin? (e.g. hashrate/cpu)\n");
                return 2;
            }
            inspect = argv[++i];
            list = false;
        } else {
            fprintf(stderr, "lilypad: plugins: unexpected argument \"%s\" (see --help)\n", argv[i]);
            return 2;
        }
    }
    struct lp_config *cfg = NULL;
    if (lp_cli_load_config(config_path, &cfg) != 0)
        return 1;
    struct lp_config_values *core_values = NULL;
    char err[1024];
    if (lp_core_settings_load(cfg, &core_values, err, sizeof(err)) != 0) {
        fprintf(stderr, "lilypad: config %s\n", err);
        lp_config_free(cfg);
        return 1;
    }
    struct plugin_scan scan = {
        .cfg = cfg, .core = lp_config_values_data(core_values), .only = inspect};
    struct lp_search_path sp;
    int status = 0;
    if (lp_search_path_build(&sp, lp_loader_cli_path(), &scan.core->plugin_path,
                             cfg ? lp_config_dir(cfg) : NULL) != 0) {
        fprintf(stderr, "lilypad: out of memory\n");
        status = 1;
    } else {
        scan.sp = &sp;
        lp_plugin_foreach(&sp, visit, &scan);
        if (list) {
            if (cfg)
                list_missing_backends(&scan);
            char dirs[2048];
            lp_search_path_format(&sp, dirs, sizeof(dirs));
            printf("\nsearch path: %s\n", dirs);
        } else if (scan.matches == 0) {
            fprintf(stderr, "lilypad: plugins inspect: no plugin \"%s\" (see 'lilypad plugins')\n",
                    inspect);
            status = 1;
        } else {
            if (lp_plugin_state_is_broken(scan.found.state))
                scan.broken++;
            print_inspect(&scan.found, scan.skipped);
            lp_plugin_close(&scan.found);
        }
        lp_search_path_free(&sp);
        if (status == 0 && scan.broken > 0)
            status = 1;
    }
    lp_config_values_free(core_values);
    lp_config_free(cfg);
    return status;
}
