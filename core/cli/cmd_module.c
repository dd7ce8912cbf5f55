/* `lilypad module id|render`: resolve a module reference to its exact version and identity, or
 * render its template with inputs into the canonical job spec a job offer would carry. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_options.h"
#include "commands.h"
#include "module/module.h"
#include "util/data_home.h"
#include "util/hex.h"

static void print_help(FILE *out)
{
    fprintf(
        out,
        "usage: lilypad module id MODULE [--cache-dir DIR]\n"
        "       lilypad module render MODULE [-i KEY=VALUE]... [--raw] [--cache-dir DIR]\n"
        "\n"
        "MODULE is one of\n"
        "  NAME:TAG               a Lilypad module, e.g. cowsay:v0.0.4 =\n"
        "                         https://github.com/Lilypad-Tech/lilypad-module-cowsay at v0.0.4\n"
        "  HOST/OWNER/REPO:REF    https://HOST/OWNER/REPO at a tag, branch or commit\n"
        "  file:///PATH[:REF]     a local git repository (REF defaults to HEAD)\n"
        "  DIR                    a local folder holding lilypad_module.json.tmpl\n"
        "\n"
        "`id` prints the module ID (keccak256 of repo, commit and template path; see\n"
        "core/module/module.h), the repository, the resolved commit and the template path.\n"
        "`render` fills lilypad_module.json.tmpl with the inputs (each JSON-escaped, so no\n"
        "input can change the job spec's structure) and prints the job spec as canonical JSON\n"
        "(compact, keys sorted), or with --raw the template's output as rendered.\n"
        "\n"
        "options:\n"
        "  -i, --input KEY=VALUE  a template input (repeatable; the later of two equal keys wins)\n"
        "  --raw                  print the rendered text before JSON canonicalisation\n"
        "  --cache-dir DIR        git clone cache (default DATA/modules)\n"
        "\n"
        "DATA, the data folder: " LP_DATA_HOME_RULE ".\n");
}

struct module_args {
    const char *sub;
    const char *module;
    const char *cache_dir;
    bool raw;
    struct lp_template_input *inputs;
    size_t n_inputs;
};

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "lilypad: module: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see lilypad module --help)\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct module_args *a)
{
    a->sub = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-i") == 0 || strcmp(arg, "--input") == 0) {
            if (i + 1 >= argc)
                return usage("%s needs KEY=VALUE", arg);
            if (lp_cli_add_input("module", argv[++i], a->inputs, &a->n_inputs) != 0)
                return 2;
        } else if (strncmp(arg, "--input=", 8) == 0) {
            if (lp_cli_add_input("module", argv[i] + 8, a->inputs, &a->n_inputs) != 0)
                return 2;
        } else if (strcmp(arg, "--cache-dir") == 0) {
            if (i + 1 >= argc)
                return usage("%s needs a directory", arg);
            a->cache_dir = argv[++i];
        } else if (strcmp(arg, "--raw") == 0) {
            a->raw = true;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage("unknown option %s", arg);
        } else if (a->module == NULL) {
            a->module = arg;
        } else {
            return usage("unexpected argument %s", arg);
        }
    }
    if (a->module == NULL)
        return usage("%s needs a MODULE", a->sub);
    if (strcmp(a->sub, "render") != 0 && (a->n_inputs > 0 || a->raw))
        return usage("-i and --raw belong to `module render`, not `module %s`", a->sub);
    return 0;
}

static int cmd_id(const struct module_args *a)
{
    struct lp_module m;
    struct lp_module_error err = {{0}};
    if (lp_module_load(a->module, a->cache_dir, &m, &err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err.message);
        return 1;
    }
    char hex[2 * LP_KECCAK256_LEN + 3];
    lp_hex_encode_0x(m.id, sizeof m.id, hex);
    printf("id      %s\nrepo    %s\ncommit  %s\npath    %s\n", hex, m.repo, m.commit,
           m.template_path);
    lp_module_free(&m);
    return 0;
}

static int cmd_render(const struct module_args *a)
{
    struct lp_module m;
    struct lp_module_error err = {{0}};
    if (lp_module_load(a->module, a->cache_dir, &m, &err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err.message);
        return 1;
    }
    struct lp_module_job job;
    int rc = 1;
    if (lp_module_render(&m, a->inputs, a->n_inputs, &job, &err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err.message);
    } else {
        if (a->raw)
            fwrite(job.rendered, 1, job.rendered_len, stdout);
        else
            printf("%s\n", job.canonical);
        rc = fflush(stdout) == 0 ? 0 : 1;
        lp_module_job_free(&job);
    }
    lp_module_free(&m);
    return rc;
}

int lp_cmd_module(int argc, char **argv)
{
    if (argc < 2 || lp_cli_is_help(argv[1])) {
        print_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++) {
        if (lp_cli_is_help(argv[i])) {
            print_help(stdout);
            return 0;
        }
    }
    if (strcmp(argv[1], "id") != 0 && strcmp(argv[1], "render") != 0) {
        fprintf(stderr, "lilypad: module: unknown subcommand %s (id or render)\n", argv[1]);
        return 2;
    }
    struct module_args a = {0};
    a.inputs = calloc((size_t)argc, sizeof *a.inputs);
    if (a.inputs == NULL)
        return 1;
    int rc = parse_args(argc, argv, &a);
    if (rc == 0)
        rc = strcmp(a.sub, "id") == 0 ? cmd_id(&a) : cmd_render(&a);
    free(a.inputs);
    return rc;
}
