/* lilypad config check|dump FILE */
#include <stdio.h>
#include <string.h>

#include "cli_options.h"
#include "commands.h"
#include "config/core_settings.h"
#include "config/validate.h"
#include "loader/backend_check.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lilypad config check FILE [--strict] [--plugin-path DIRS]\n"
            "       lilypad config dump FILE [--plugin-path DIRS]\n"
            "\n"
            "check  validate FILE against the core's and every named plugin's schema, then probe\n"
            "       on this machine the backend of each concern the file uses (its section, or\n"
            "       a provider section: all four, a solver section: verifier), resolving\n"
            "       \"auto\" as the loader does. Nothing is created or started. It prints\n"
            "         FILE: valid\n"
            "         FILE: would fail here: PLUGIN STATE: reason (hint)   one per problem\n"
            "         FILE: auto passes over: PLUGIN STATE: reason         expected, no problem\n"
            "         FILE: usable here: PLUGIN, ...\n"
            "dump   print the effective values: defaults filled in, secrets masked\n"
            "\n"
            "--strict           a problem on this machine makes check fail too\n"
            "--plugin-path DIRS colon-separated folders searched first\n"
            "\n"
            "exit status: 0 when FILE is valid (with --strict: and nothing would fail here);\n"
            "1 when FILE is invalid (one line: FILE:LINE: what, hint) or, with --strict, when\n"
            "something would fail here; 2 for a usage error\n");
}

struct check_report {
    const char *file;
    int problems;
    char usable[1024];
};

/* "hashrate/cuda", with the file it was loaded from when there was one. */
static void plugin_label(const struct lp_plugin_handle *h, char *buf, size_t len)
{
    if (strchr(h->path, '/') != NULL)
        snprintf(buf, len, "%s/%s (%s)", h->concern, h->name, h->path);
    else
        snprintf(buf, len, "%s/%s", h->concern, h->name);
}

static void print_finding(void *arg, const struct lp_backend_finding *f)
{
    struct check_report *r = arg;
    const struct lp_plugin_handle *h = f->plugin;
    char label[PATH_MAX + 128];
    plugin_label(h, label, sizeof(label));
    const char *state = lp_plugin_state_name(h->state);
    switch (f->verdict) {
    case LP_BACKEND_USABLE: {
        size_t used = strlen(r->usable);
        snprintf(r->usable + used, sizeof(r->usable) - used, "%s%s/%s%s%s%s", used ? ", " : "",
                 h->concern, h->name, f->note[0] ? " (" : "", f->note, f->note[0] ? ")" : "");
        break;
    }
    case LP_BACKEND_PASSED:
        printf("%s: auto passes over: %s %s: %s\n", r->file, label, state, f->reason);
        break;
    case LP_BACKEND_FAILS:
        r->problems++;
        printf("%s: would fail here: %s %s: %s%s%s\n", r->file, label, state, f->reason,
               f->note[0] ? "; " : "", f->note);
        break;
    }
}

/* Probes the backend of every concern the file uses; -1 when the settings do not load. */
static int check_backends(const struct lp_config *cfg, const char *file,
                          struct check_report *report)
{
    *report = (struct check_report){.file = file};
    int checked = 0;
    for (const char *const *c = lp_concerns; *c; c++) {
        if (!lp_config_uses_concern(cfg, *c))
            continue;
        checked++;
        char err[1024];
        if (lp_backend_check(cfg, *c, print_finding, report, err, sizeof(err)) != 0) {
            fprintf(stderr, "lilypad: config %s\n", err);
            return -1;
        }
    }
    printf("%s: usable here: %s\n", file,
           report->usable[0] ? report->usable
           : checked         ? "none"
                             : "(the file uses no backend)");
    return 0;
}

int lp_cmd_config(int argc, char **argv)
{
    const char *verb = NULL, *file = NULL, *ignored = NULL;
    bool strict = false;
    for (int i = 1; i < argc; i++) {
        int rc = lp_cli_common_option(argc, argv, &i, &ignored);
        if (rc < 0)
            return 2;
        if (rc > 0)
            continue;
        if (lp_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--strict") == 0)
            strict = true;
        else if (verb == NULL)
            verb = argv[i];
        else if (file == NULL)
            file = argv[i];
        else {
            fprintf(stderr, "lilypad: config: unexpected argument \"%s\" (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (verb == NULL || (strcmp(verb, "check") != 0 && strcmp(verb, "dump") != 0)) {
        usage(stderr);
        return 2;
    }
    bool dump = strcmp(verb, "dump") == 0;
    if (strict && dump) {
        fprintf(stderr, "lilypad: config dump: --strict belongs to config check (see --help)\n");
        return 2;
    }
    if (ignored != NULL)
        file = file ? file : ignored;
    if (file == NULL) {
        fprintf(stderr, "lilypad: config %s: which file? (lilypad config %s FILE)\n", verb, verb);
        return 2;
    }
    struct lp_config *cfg = NULL;
    if (lp_cli_load_config(file, &cfg) != 0)
        return 1;
    char err[1024];
    int status = 0;
    if (lp_config_validate(cfg, dump ? stdout : NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "lilypad: config %s\n", err);
        status = 1;
    } else if (!dump) {
        printf("%s: valid\n", file);
        struct check_report report;
        if (check_backends(cfg, file, &report) != 0) {
            status = 1;
        } else if (strict && report.problems > 0) {
            fflush(stdout);
            fprintf(stderr,
                    "lilypad: config check --strict: %s is valid, but %d plugin%s would fail on "
                    "this machine\n",
                    file, report.problems, report.problems == 1 ? "" : "s");
            status = 1;
        }
    }
    lp_config_free(cfg);
    return status;
}
