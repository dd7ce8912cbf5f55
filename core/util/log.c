#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_threshold = LP_LOG_WARN;

void lp_log_set_level(int level)
{
    log_threshold = level;
}

int lp_log_level(void)
{
    return log_threshold;
}

void lp_log_init_from_env(void)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    const char *value = getenv("LILYPAD_LOG");
    if (value == NULL)
        return;
    for (int i = 0; i < 4; i++) {
        if (strcmp(value, names[i]) == 0)
            log_threshold = i;
    }
}

void lp_vlog(int level, const char *fmt, va_list ap)
{
    if (level > log_threshold)
        return;
    /* Build the line first so concurrent writers never interleave within a line. */
    char line[2048];
    static const char *const prefixes[] = {"", "warning: ", "", "debug: "};
    int n = snprintf(line, sizeof(line), "lilypad: %s", prefixes[level & 3]);
    if (n < 0)
        return;
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void lp_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lp_vlog(level, fmt, ap);
    va_end(ap);
}
