/* The blobs that carry a deal's files through the solver: a plain (uncompressed) POSIX pax tar
 * of a directory's contents, entry names relative to it ("stdout", "outputs/x.txt"), sorted
 * bytewise so the same tree gives the same bytes. Inputs (job creator -> provider) and outputs
 * (provider -> job creator) both use it; the job creator unpacks outputs with
 * lp_tarball_unpack and checks them against the result's CID.
 *
 * Output layout (as Lilypad's downloaded results): stdout, stderr, exitCode, outputs/... */
#ifndef LP_PROVIDER_TARBALL_H
#define LP_PROVIDER_TARBALL_H

#include <stddef.h>
#include <stdint.h>

/* Regular files, directories and symlinks under dir; anything else is an error naming it.
 * *out is malloc'd. Refuses more than max_bytes of archive (0: no cap). */
int lp_tarball_pack(const char *dir, uint64_t max_bytes, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen);

/* Extracts into dest (created if missing). Only regular files, directories and symlinks;
 * absolute names, ".." components and paths through symlinks are refused (libarchive's
 * SECURE flags), as are more than max_bytes of content (0: no cap). Modes are limited to
 * 0755/0644; owners and times are not restored. */
int lp_tarball_unpack(const void *data, size_t len, const char *dest, uint64_t max_bytes, char *err,
                      size_t errlen);

#endif
