#include "jobcreator/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/tarball.h"

/* ---- packing ----------------------------------------------------------------------------- */

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static bool name_listed(const char *name, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static bool dirent_listed(const char *name, struct dirent **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->d_name, name) == 0)
            return true;
    return false;
}

/* The module's declared inputFiles: dir's top level holds only those names, and every
 * required one. */
static int check_declared(const char *dir, char *const *required, size_t n_required,
                          char *const *optional, size_t n_optional, char *err, size_t errlen)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        snprintf(err, errlen, "inputs %s: %s", dir, strerror(errno));
        return -1;
    }
    /* Compacted in place without . and .. */
    struct dirent **v = names;
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") == 0 || strcmp(names[i]->d_name, "..") == 0)
            free(names[i]);
        else
            v[count++] = names[i];
    }
    int bad = 0;
    for (size_t i = 0; !bad && i < count; i++) {
        if (!name_listed(v[i]->d_name, required, n_required) &&
            !name_listed(v[i]->d_name, optional, n_optional)) {
            snprintf(err, errlen,
                     "inputs %s: %s is not one of the module's input files (hint: the "
                     "module's inputFiles lists what it reads)",
                     dir, v[i]->d_name);
            bad = 1;
        }
    }
    for (size_t i = 0; !bad && i < n_required; i++) {
        if (!dirent_listed(required[i], v, count)) {
            snprintf(err, errlen, "inputs %s: the module needs the file %s", dir, required[i]);
            bad = 1;
        }
    }
    for (size_t i = 0; i < count; i++)
        free(v[i]);
    free(names);
    return bad ? -1 : 0;
}

int lp_bundle_pack_inputs(const char *dir, char *const *required, size_t n_required,
                          char *const *optional, size_t n_optional, uint8_t **out, size_t *out_len,
                          char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "inputs %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "inputs %s: not a folder (hint: --inputs takes a folder)", dir);
        return -1;
    }
    if (n_required + n_optional > 0 &&
        check_declared(dir, required, n_required, optional, n_optional, err, errlen) != 0)
        return -1;
    /* Symbolic links and special files are refused: the provider would have to decide what
     * they point to. The untrimmed last record is part of inputs.tar's bytes (and keccak). */
    struct lp_tarball_pack_options o = {
        .what = "inputs",
        .max_files = LP_BUNDLE_MAX_INPUT_FILES,
        .max_depth = 32,
        .refuse_symlinks = true,
        .trim_last_block = false,
        .refused_hint = "not a regular file or folder (symbolic links and special files are not "
                        "sent; copy the file in instead)",
    };
    return lp_tarball_pack_with(dir, &o, out, out_len, err, errlen);
}

/* ---- unpacking --------------------------------------------------------------------------- */

int lp_bundle_unpack_results(const uint8_t *data, size_t len, const char *dest,
                             const struct lp_bundle_result_limits *limits, char *err, size_t errlen)
{
    struct lp_tarball_declared declared[2];
    size_t n_declared = 0;
    if (limits->has_stdout_size)
        declared[n_declared++] = (struct lp_tarball_declared){"stdout", limits->stdout_size};
    if (limits->has_stderr_size)
        declared[n_declared++] = (struct lp_tarball_declared){"stderr", limits->stderr_size};
    char why[160];
    uint64_t cap = len;
    snprintf(why, sizeof why, "the downloaded blob's own size");
    if (limits->max_bytes && limits->max_bytes < cap) {
        cap = limits->max_bytes;
        snprintf(why, sizeof why, "the job creator's limit on unpacked results");
    }
    struct lp_tarball_unpack_options o = {
        .what = "results",
        .max_bytes = cap,
        .max_why = why,
        .declared = declared,
        .n_declared = n_declared,
    };
    return lp_tarball_unpack_with(data, len, dest, &o, err, errlen);
}
