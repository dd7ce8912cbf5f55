/* The program's data folder: where what outlives one command is kept (the image store, the
 * module cache, keys, results, the devnet). Every command, default path and help text asks this
 * one resolver, so they cannot disagree about where it is:
 *   $LILYPAD_HOME                    when set and not empty
 *   else $XDG_DATA_HOME/lilypad      when set to an absolute path (the XDG Base Directory rule:
 *                                    a relative value is ignored)
 *   else $HOME/.local/share/lilypad  when HOME is set and not empty
 * Nothing is created here; callers make the folders they write to. */
#ifndef LP_UTIL_DATA_HOME_H
#define LP_UTIL_DATA_HOME_H

#include <stddef.h>

/* The rule above in one line, for help texts. */
#define LP_DATA_HOME_RULE "$LILYPAD_HOME, else $XDG_DATA_HOME/lilypad, else ~/.local/share/lilypad"

/* Writes the data folder to out. 0, or -1 with errno ENOENT (none of the variables is set) or
 * ENAMETOOLONG (the path does not fit in len). */
int lp_data_home(char *out, size_t len);

/* The entry `sub` inside the data folder ("images", "devnet", "key", ...). Same returns. */
int lp_data_home_path(const char *sub, char *out, size_t len);

/* Why lp_data_home failed, for an error line (callers add their own hint): pass the errno it
 * left. */
const char *lp_data_home_problem(int err);

#endif
