/* Options shared by the commands that read a configuration: -c FILE and --plugin-path DIRS. */
#ifndef LP_CLI_OPTIONS_H
#define LP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct lp_config;
struct lp_template_input;

static inline bool lp_cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Loads FILE (or returns NULL config when path is NULL). Prints the error and returns -1. */
int lp_cli_load_config(const char *path, struct lp_config **out);

/* If argv[*i] is -c/--config or --plugin-path, consumes it (and its value) and returns 1;
 * returns -1 with a message when the value is missing; 0 when the option is not one of them. */
int lp_cli_common_option(int argc, char **argv, int *i, const char **config_path);

/* A -i/--input KEY=VALUE argument of `lilypad <cmd>`: splits kv in place at its first '=' and
 * appends {KEY, VALUE} at inputs[*n_inputs] (the caller sized inputs for every argument).
 * KEY must be a template identifier (letter or _, then letters, digits, _). Returns 0, or
 * prints the usage error and returns 2. */
int lp_cli_add_input(const char *cmd, char *kv, struct lp_template_input *inputs, size_t *n_inputs);

#endif
