#include "commands.h"

#include <stddef.h>

const struct lp_command lp_commands[] = {
    {"version", "print the version and the plugin ABI", lp_cmd_version},
    {NULL, NULL, NULL},
};
