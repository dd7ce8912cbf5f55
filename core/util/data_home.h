/* The program's data home: $LILYPAD_HOME, else $XDG_DATA_HOME/lilypad, else
 * $HOME/.local/share/lilypad. One resolver for the whole program. */
#ifndef LP_UTIL_DATA_HOME_H
#define LP_UTIL_DATA_HOME_H

#include <stddef.h>

/* 0 with the path in out, -1 when no variable is set or the path does not fit. */
int lp_data_home(char *out, size_t len);

#endif
