/* Applies one image layer (a tar stream, any compression libarchive reads) onto a rootfs
 * directory, with the OCI layer rules: entries replace what lower layers left, ".wh.NAME" removes
 * NAME, ".wh..wh..opq" empties its directory of lower-layer content. */
#ifndef LP_IMAGE_UNPACK_H
#define LP_IMAGE_UNPACK_H

#include <stddef.h>
#include <stdint.h>

struct archive;

struct lp_image_unpack_stats {
    uint64_t max_bytes;       /* in: refuse the layer past this many file bytes; 0 = no cap */
    uint64_t bytes;           /* out (accumulates over layers): regular file bytes written */
    uint64_t entries;         /* out: entries applied */
    uint64_t whiteouts;       /* out: whiteouts applied */
    uint64_t devices_refused; /* out: device nodes not created */
    uint64_t setid_stripped;  /* out: setuid/setgid bits removed */
    uint64_t others_skipped;  /* out: FIFOs and sockets not created */
};

/*
 * Reads every entry of `a` (opened by the caller) into the directory rootfd. Refuses the layer
 * (-1, one line in err) on an absolute name, a ".." component, a name or hard link whose path
 * goes through a symbolic link leading out of the rootfs, or the size cap. Device nodes are
 * never created and setuid/setgid bits are dropped (both counted in stats); as root, owners
 * are kept. The rootfs is partially written on failure: callers unpack into a scratch dir.
 */
int lp_image_apply_layer(int rootfd, struct archive *a, struct lp_image_unpack_stats *stats,
                         char *err, size_t errlen);

#endif
