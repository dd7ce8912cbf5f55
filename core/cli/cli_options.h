/* Options shared by the commands that read a configuration: -c FILE and --plugin-path DIRS. */
#ifndef LP_CLI_OPTIONS_H
#define LP_CLI_OPTIONS_H

#include <stdbool.h>
#include <string.h>

struct lp_config;

static inline bool lp_cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Loads FILE (or returns NULL config when path is NULL). Prints the error and returns -1. */
int lp_cli_load_config(const char *path, struct lp_config **out);

/* If argv[*i] is -c/--config or --plugin-path, consumes it (and its value) and returns 1;
 * returns -1 with a message when the value is missing; 0 when the option is not one of them. */
int lp_cli_common_option(int argc, char **argv, int *i, const char **config_path);

#endif
