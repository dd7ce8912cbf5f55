#include <stdio.h>
#include <string.h>

#include <lilypad/version.h>

#include "commands.h"

int lp_cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf(
            "usage: lilypad version\n\nPrints the lilypad version and the plugin ABI it loads.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "lilypad: version: unexpected argument \"%s\"\n", argv[1]);
        return 2;
    }
    printf("lilypad %s (plugin ABI %d.%d)\n", LP_VERSION_STRING, LP_ABI_MAJOR, LP_ABI_MINOR);
    return 0;
}
