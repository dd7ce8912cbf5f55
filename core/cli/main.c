/* lilypad: one binary, one sub-command per role or tool (see commands.c). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "util/log.h"

static void print_usage(FILE *out)
{
    fprintf(out, "usage: lilypad <command> [options]\n\ncommands:\n");
    for (const struct lp_command *c = lp_commands; c->name != NULL; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'lilypad <command> --help' for a command's options.\n"
                 "Environment: LILYPAD_PLUGIN_PATH (colon-separated plugin folders),\n"
                 "             LILYPAD_LOG=error|warn|info|debug\n");
}

int main(int argc, char **argv)
{
    lp_log_init_from_env();
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return lp_cmd_version(1, argv + 1);
    for (const struct lp_command *c = lp_commands; c->name != NULL; c++) {
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "lilypad: unknown command \"%s\" (see 'lilypad --help')\n", argv[1]);
    return 2;
}
