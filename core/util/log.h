/* Process-wide logging for the core and the CLI: one line per message on stderr, prefixed
 * "lilypad: ", filtered by level (LILYPAD_LOG=error|warn|info|debug, default warn). */
#ifndef LP_UTIL_LOG_H
#define LP_UTIL_LOG_H

#include <stdarg.h>

#include <lilypad/plugin.h>

void lp_log_set_level(int level);
int lp_log_level(void);
/* Reads LILYPAD_LOG once; unknown values leave the default. */
void lp_log_init_from_env(void);
void lp_log(int level, const char *fmt, ...) LP_PRINTF(2, 3);
void lp_vlog(int level, const char *fmt, va_list ap) LP_PRINTF(2, 0);

#define lp_error(...) lp_log(LP_LOG_ERROR, __VA_ARGS__)
#define lp_warn(...)  lp_log(LP_LOG_WARN, __VA_ARGS__)
#define lp_info(...)  lp_log(LP_LOG_INFO, __VA_ARGS__)
#define lp_debug(...) lp_log(LP_LOG_DEBUG, __VA_ARGS__)

#endif
