/* The byte bundles a job creator exchanges with the solver:
 *  - inputs: the --inputs folder as one tar (POSIX pax, entries sorted, owner 0 and mtime 0 so
 *    the same folder always gives the same bytes and the same keccak), the format Lilypad
 *    uploads as inputs.tar;
 *  - results: the provider's outputs blob, a tar (any compression libarchive reads) of the
 *    results folder (stdout, stderr, exitCode, outputs/ as Lilypad's results are), unpacked
 *    with the image store's layer rules, so no entry can land outside the destination. */
#ifndef LP_JOBCREATOR_BUNDLE_H
#define LP_JOBCREATOR_BUNDLE_H

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

/* Unpacks a results blob into dest (created; must not exist or be empty). max_bytes caps the
 * unpacked file bytes (0: no cap). 0, or -1 with one line in err. */
int lp_bundle_unpack_results(const uint8_t *data, size_t len, const char *dest, uint64_t max_bytes,
                             char *err, size_t errlen);

#endif
