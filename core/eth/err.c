#include "eth/err.h"

#include <stdarg.h>
#include <stdio.h>

int lp_eth_err_set(struct lp_eth_err *err, size_t offset, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}
