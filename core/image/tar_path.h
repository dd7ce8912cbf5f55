/* Names of archive entries, made safe before they touch the file system. */
#ifndef LP_IMAGE_TAR_PATH_H
#define LP_IMAGE_TAR_PATH_H

#include <stddef.h>

/*
 * Normalises an entry name to "a/b/c": "./" prefixes, "." components and repeated or trailing
 * slashes go away. Refuses (returns -1, reason in err) absolute names, any ".." component and
 * names longer than out_len - 1. Returns 1 for a name that is the archive's root itself
 * ("./", "."), which callers skip, and 0 otherwise.
 */
int lp_image_clean_path(const char *name, char *out, size_t out_len, char *err, size_t errlen);

/* Splits a cleaned path in place into its directory ("" at the top) and last component. */
void lp_image_split_path(char *path, const char **dir, const char **base);

#endif
