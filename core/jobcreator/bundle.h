/* The byte bundles a job creator exchanges with the solver:
 *  - inputs: the --inputs folder as one tar (POSIX pax, entries sorted, owner 0 and mtime 0 so
 *    the same folder always gives the same bytes and the same keccak), the format Lilypad
 *    uploads as inputs.tar;
 *  - results: the provider's outputs blob, a plain tar of the results folder (stdout, stderr,
 *    exitCode, outputs/ as Lilypad's results are), unpacked by util/tarball.h: no entry lands
 *    outside the destination, no link points out of it, names are bytes (".wh.*" is a file
 *    like any other, a name that is not UTF-8 is kept as it is), and the content is capped
 *    (lp_bundle_result_limits) before anything is verified. */
#ifndef LP_JOBCREATOR_BUNDLE_H
#define LP_JOBCREATOR_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_BUNDLE_MAX_INPUT_FILES 1024

/* Packs dir (regular files and folders only; symbolic links and special files are refused,
 * since the provider would have to decide what they point to) into *out (malloc'd). When
 * allowed (n_allowed > 0 or required given) the top level may only hold those names and every
 * required name must be there, as the module's inputFiles says. 0, or -1 with one line in err. */
int lp_bundle_pack_inputs(const char *dir, char *const *required, size_t n_required,
                          char *const *optional, size_t n_optional, uint8_t **out, size_t *out_len,
                          char *err, size_t errlen);

/* What a results blob may unpack to, as it is unpacked before it can be verified: no more
 * content than the blob's own length (a plain tar holds its content; only a sparse entry could
 * claim more, and a compressed blob is refused), nor than max_bytes (the job creator's own
 * limit; 0: none), and stdout and stderr no larger than the sizes the provider signed. */
struct lp_bundle_result_limits {
    uint64_t max_bytes;
    bool has_stdout_size, has_stderr_size; /* false: the provider did not capture that stream */
    uint64_t stdout_size, stderr_size;
};

/* Unpacks a results blob into dest (created; must not exist or be empty). 0, or -1 with one
 * line in err. */
int lp_bundle_unpack_results(const uint8_t *data, size_t len, const char *dest,
                             const struct lp_bundle_result_limits *limits, char *err,
                             size_t errlen);

#endif
