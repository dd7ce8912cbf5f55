/* lilypad config check|dump FILE */
#include <stdio.h>
#include <string.h>

#include "cli_options.h"
#include "commands.h"
#include "config/validate.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: lilypad config check FILE [--plugin-path DIRS]\n"
                 "       lilypad config dump FILE [--plugin-path DIRS]\n"
                 "\n"
                 "check  validate FILE against the core's and every named plugin's schema;\n"
                 "       exit 0 when valid, 1 with one line (FILE:LINE: what, hint) otherwise\n"
                 "dump   print the effective values: defaults filled in, secrets masked\n");
}

int lp_cmd_config(int argc, char **argv)
{
    const char *verb = NULL, *file = NULL, *ignored = NULL;
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
        if (verb == NULL)
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
    if (ignored != NULL)
        file = file ? file : ignored;
    if (file == NULL) {
        fprintf(stderr, "lilypad: config %s: which file? (lilypad config %s FILE)\n", verb, verb);
        return 2;
    }
    struct lp_config *cfg = NULL;
    if (lp_cli_load_config(file, &cfg) != 0)
        return 1;
    bool dump = strcmp(verb, "dump") == 0;
    char err[1024];
    int rc = lp_config_validate(cfg, dump ? stdout : NULL, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "lilypad: config %s\n", err);
    else if (!dump)
        printf("%s: ok\n", file);
    lp_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
