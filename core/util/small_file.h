/* Reading a small file that a user named (a key, a keystore, a password, a settings file)
 * without blocking and without reading beyond a bound. A FIFO with no writer hangs open() and
 * read() forever, /dev/zero and /dev/urandom never end, and opening some devices has side
 * effects: so only a regular file of at most `cap` bytes is read, and anything else is refused
 * with one line that names the path and what it is instead. */
#ifndef LP_UTIL_SMALL_FILE_H
#define LP_UTIL_SMALL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Reads all of path into a new NUL-terminated buffer of *len bytes; *mode (may be NULL) is the
 * file's mode. `what` names the kind of file for the messages ("a key file"). NULL with
 * "PATH: what is wrong" in err when path is missing, unreadable, not a regular file, or larger
 * than cap bytes. Release the buffer with lp_small_file_free. */
char *lp_small_file_read(const char *path, size_t cap, const char *what, size_t *len, mode_t *mode,
                         char *err, size_t errlen);

/* Wipes (the content may be a secret) and frees a buffer from lp_small_file_read; NULL is ok. */
void lp_small_file_free(char *data, size_t len);

#endif
