/* The blobs that carry a deal's files through the solver: a plain (uncompressed) POSIX pax tar
 * of a directory's contents, entry names relative to it ("stdout", "outputs/x.txt"), sorted
 * bytewise, owner 0 and mtime 0, so the same tree gives the same bytes. Inputs (job creator ->
 * provider, jobcreator/bundle.c) and outputs (provider -> job creator, provider/deal.c) are
 * both packed here; the provider unpacks inputs with lp_tarball_unpack.
 *
 * Output layout (as Lilypad's downloaded results): stdout, stderr, exitCode, outputs/... */
#ifndef LP_UTIL_TARBALL_H
#define LP_UTIL_TARBALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What differs between the two packers; each side's choice is part of its wire bytes or
 * its error lines, so it stays as it was. */
struct lp_tarball_pack_options {
    const char *what;     /* first word of every error line ("pack", "inputs") */
    uint64_t max_bytes;   /* archive size cap (0: none) */
    size_t max_files;     /* regular files cap (0: none) */
    int max_depth;        /* folder nesting cap (0: none) */
    bool refuse_symlinks; /* symbolic links are an error instead of link entries */
    /* true: the archive ends right after its end-of-archive blocks; false: libarchive's
     * default, zero-padded to a 10240-byte record (the job creator's inputs.tar bytes). */
    bool trim_last_block;
    const char *refused_hint; /* error text for an entry of a type that is not packed */
};

/* The provider's options: links kept, size capped at max_bytes, last block trimmed. */
void lp_tarball_pack_options_default(struct lp_tarball_pack_options *o, uint64_t max_bytes);

/* Packs the regular files and directories (and symlinks unless refused) under dir into *out
 * (malloc'd); anything else is an error naming it. 0, or -1 with one line in err. */
int lp_tarball_pack_with(const char *dir, const struct lp_tarball_pack_options *o, uint8_t **out,
                         size_t *out_len, char *err, size_t errlen);

/* lp_tarball_pack_with and lp_tarball_pack_options_default(max_bytes). */
int lp_tarball_pack(const char *dir, uint64_t max_bytes, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen);

/* Extracts into dest (created if missing). Only regular files, directories and symlinks;
 * absolute names, ".." components and paths through symlinks are refused (libarchive's
 * SECURE flags), as are more than max_bytes of content (0: no cap). Modes are limited to
 * 0755/0644; owners and times are not restored. */
int lp_tarball_unpack(const void *data, size_t len, const char *dest, uint64_t max_bytes, char *err,
                      size_t errlen);

#endif
