/* The data folder resolver (data_home.h). */
#include "util/data_home.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *set(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int fits(int n, size_t len)
{
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int lp_data_home(char *out, size_t len)
{
    const char *v;
    if ((v = set("LILYPAD_HOME")) != NULL)
        return fits(snprintf(out, len, "%s", v), len);
    if ((v = set("XDG_DATA_HOME")) != NULL && v[0] == '/')
        return fits(snprintf(out, len, "%s/lilypad", v), len);
    if ((v = set("HOME")) != NULL)
        return fits(snprintf(out, len, "%s/.local/share/lilypad", v), len);
    errno = ENOENT;
    return -1;
}

int lp_data_home_path(const char *sub, char *out, size_t len)
{
    if (lp_data_home(out, len) != 0)
        return -1;
    size_t used = strlen(out);
    return fits(snprintf(out + used, len - used, "/%s", sub), len - used);
}

const char *lp_data_home_problem(int err)
{
    if (err == ENAMETOOLONG)
        return "the data folder's path is too long";
    return "none of LILYPAD_HOME, XDG_DATA_HOME (absolute) and HOME is set";
}
