#include "util/data_home.h"

#include <stdio.h>
#include <stdlib.h>

int lp_data_home(char *out, size_t len)
{
    const char *h = getenv("LILYPAD_HOME");
    int n;
    if (h && *h)
        n = snprintf(out, len, "%s", h);
    else if ((h = getenv("XDG_DATA_HOME")) && *h)
        n = snprintf(out, len, "%s/lilypad", h);
    else if ((h = getenv("HOME")) && *h)
        n = snprintf(out, len, "%s/.local/share/lilypad", h);
    else
        return -1;
    return n > 0 && (size_t)n < len ? 0 : -1;
}
