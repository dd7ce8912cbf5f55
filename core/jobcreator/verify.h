/* Checking downloaded results against the CID the provider signed in its result.
 *
 * The CID names either the blob itself (a provider that stores the tar as one file) or the
 * unpacked results folder (one that stores the folder, as Lilypad's providers do with
 * `ipfs add -r`). Both are computed exactly as kubo would (core/cid) with the CID's version and
 * kubo's default leaves for it; the other leaf form is tried too, since kubo accepts
 * --raw-leaves either way. Anything else is a mismatch: the results are not what the provider
 * signed, and the job creator must not report success. */
#ifndef LP_JOBCREATOR_VERIFY_H
#define LP_JOBCREATOR_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0 when the blob's own CID equals cid; 1 when it does not (try the folder); -1 on a CID that
 * cannot be parsed (err says why). */
int lp_verify_blob_cid(const char *cid, const uint8_t *data, size_t len, char *err, size_t errlen);

/* 0 when the folder's CID equals cid; -1 otherwise, with both CIDs in err. */
int lp_verify_dir_cid(const char *cid, const char *dir, char *err, size_t errlen);

/* keccak256 of a file compared with an expected digest and size. 0 equal, -1 otherwise. */
int lp_verify_file_keccak(const char *path, const uint8_t digest[32], uint64_t size, char *err,
                          size_t errlen);

#endif
