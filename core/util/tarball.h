/* The blobs that carry a deal's files through the solver: a plain (uncompressed) POSIX pax tar
 * of a directory's contents, entry names relative to it ("stdout", "outputs/x.txt"), sorted
 * bytewise, owner 0 and mtime 0, so the same tree gives the same bytes. Inputs (job creator ->
 * provider, jobcreator/bundle.c) and outputs (provider -> job creator, provider/deal.c) are
 * both packed here, and both unpacked here (the provider's inputs, the job creator's results).
 *
 * Names are bytes: a name that is not valid UTF-8 (or not ASCII, as the program runs in the C
 * locale) is written raw under the pax "hdrcharset=BINARY" attribute and read back byte for
 * byte, so it survives the round trip and the folder's CID with it.
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
    uint64_t max_bytes;   /* archive size cap (0: none); writing stops as soon as it is passed */
    size_t max_files;     /* regular files cap (0: none) */
    int max_depth;        /* folder nesting cap (0: none) */
    bool refuse_symlinks; /* symbolic links are an error instead of link entries */
    /* Links whose target is absolute or has a ".." component are an error (they would point
     * outside the packed folder once unpacked elsewhere). */
    bool refuse_escaping_links;
    /* true: the archive ends right after its end-of-archive blocks; false: libarchive's
     * default, zero-padded to a 10240-byte record (the job creator's inputs.tar bytes). */
    bool trim_last_block;
    const char *refused_hint; /* error text for an entry of a type that is not packed */
    const char *max_hint;     /* hint after the size cap's error line (NULL: the solver's) */
};

/* The provider's options: links kept but none that escapes, size capped at max_bytes, last
 * block trimmed. */
void lp_tarball_pack_options_default(struct lp_tarball_pack_options *o, uint64_t max_bytes);

/* Packs the regular files and directories (and symlinks unless refused) under dir into *out
 * (malloc'd); anything else is an error naming it. 0, or -1 with one line in err. Files are
 * read, so a sparse file counts (and is written) at its apparent size. */
int lp_tarball_pack_with(const char *dir, const struct lp_tarball_pack_options *o, uint8_t **out,
                         size_t *out_len, char *err, size_t errlen);

/* lp_tarball_pack_with and lp_tarball_pack_options_default(max_bytes). */
int lp_tarball_pack(const char *dir, uint64_t max_bytes, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen);

/* The same archive streamed into fd (open for writing) instead of memory, so a large result
 * never sits in memory whole; *out_len is the archive's size. -1 with one line in err, and
 * errno set to the failed write's (ENOSPC: the disk is full) or 0. */
int lp_tarball_pack_to_fd(const char *dir, const struct lp_tarball_pack_options *o, int fd,
                          uint64_t *out_len, char *err, size_t errlen);

/* A name whose size is declared elsewhere (a signed result gives stdout's and stderr's). */
struct lp_tarball_declared {
    const char *name; /* entry name, e.g. "stdout" */
    uint64_t size;
};

struct lp_tarball_unpack_options {
    const char *what;    /* first word of every error line ("unpack", "results") */
    uint64_t max_bytes;  /* cap on the sum of the entries' sizes (0: none), checked before an
                            entry is written: a sparse entry counts at its apparent size */
    const char *max_why; /* what the cap is, for its error line ("the blob's own size") */
    /* An entry named here that is larger than its declared size stops the unpacking. */
    const struct lp_tarball_declared *declared;
    size_t n_declared;
};

/* Extracts a plain tar into dest (created if missing); a compressed one is refused, as it
 * could unpack to far more than its own size. Only regular files, directories and symlinks;
 * absolute names, ".." components, links to an absolute path or through "..", and paths
 * through symlinks are refused (libarchive's SECURE flags), as is more content than the caps.
 * Whiteout names (".wh.*") are ordinary files here. Modes are limited to 0755/0644; owners and
 * times are not restored. 0, or -1 with one line in err. */
int lp_tarball_unpack_with(const void *data, size_t len, const char *dest,
                           const struct lp_tarball_unpack_options *o, char *err, size_t errlen);

/* lp_tarball_unpack_with capped at max_bytes of content (0: no cap). */
int lp_tarball_unpack(const void *data, size_t len, const char *dest, uint64_t max_bytes, char *err,
                      size_t errlen);

/* True when a symbolic link's target stays inside the folder the link is in, wherever that
 * folder is unpacked: relative, and no ".." component. */
bool lp_tarball_link_target_safe(const char *target);

#endif
