#include "cli_options.h"

#include <ctype.h>
#include <stdio.h>

#include "config/config.h"
#include "loader/backend.h"
#include "module/template.h"

int lp_cli_load_config(const char *path, struct lp_config **out)
{
    *out = NULL;
    if (path == NULL)
        return 0;
    char err[1024];
    if (lp_config_load_file(path, out, err, sizeof(err)) != 0) {
        fprintf(stderr, "lilypad: config %s\n", err);
        return -1;
    }
    return 0;
}

int lp_cli_common_option(int argc, char **argv, int *i, const char **config_path)
{
    const char *arg = argv[*i];
    bool is_config = strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0;
    bool is_path = strcmp(arg, "--plugin-path") == 0;
    if (!is_config && !is_path)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "lilypad: %s: %s needs a value\n", argv[0], arg);
        return -1;
    }
    const char *value = argv[++*i];
    if (is_config)
        *config_path = value;
    else
        lp_loader_set_cli_path(value);
    return 1;
}

int lp_cli_add_input(const char *cmd, char *kv, struct lp_template_input *inputs, size_t *n_inputs)
{
    char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv) {
        fprintf(stderr, "lilypad: %s: -i needs KEY=VALUE, got \"%s\" (see lilypad %s --help)\n",
                cmd, kv, cmd);
        return 2;
    }
    *eq = '\0';
    bool ok = isalpha((unsigned char)kv[0]) || kv[0] == '_';
    for (const char *c = kv; *c; c++)
        ok = ok && (isalnum((unsigned char)*c) || *c == '_');
    if (!ok) {
        *eq = '=';
        fprintf(stderr,
                "lilypad: %s: input key in \"%s\" can never be used by a template (letters, "
                "digits, _) (see lilypad %s --help)\n",
                cmd, kv, cmd);
        return 2;
    }
    inputs[*n_inputs].key = kv;
    inputs[*n_inputs].value = eq + 1;
    (*n_inputs)++;
    return 0;
}
