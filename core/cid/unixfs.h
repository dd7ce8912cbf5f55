/*
 * The UnixFS Data message carried in a dag-pb node's Data field: what a node means (file,
 * directory, symlink), its inline bytes, its file size and its children's sizes. Encoders
 * produce exactly kubo's bytes; the decoder is strict like the dag-pb one.
 */
#ifndef LP_CID_UNIXFS_H
#define LP_CID_UNIXFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lp_unixfs_type {
    LP_UNIXFS_RAW = 0,
    LP_UNIXFS_DIRECTORY = 1,
    LP_UNIXFS_FILE = 2,
    LP_UNIXFS_METADATA = 3,
    LP_UNIXFS_SYMLINK = 4,
    LP_UNIXFS_HAMT_SHARD = 5,
};

/* Header of a leaf {Type: File, Data: chunk, filesize: n} wrapped in PBNode field 1, i.e. every
 * byte before the chunk. Written so that it ENDS at hdr_end (the chunk follows it in memory);
 * returns its length (at most LP_UNIXFS_LEAF_HDR_MAX). The trailer (filesize) is written by
 * lp_unixfs_leaf_trailer at the byte after the chunk. */
#define LP_UNIXFS_LEAF_HDR_MAX     16
#define LP_UNIXFS_LEAF_TRAILER_MAX 11
size_t lp_unixfs_leaf_header(uint8_t *hdr_end, size_t chunk_len);
size_t lp_unixfs_leaf_trailer(uint8_t *out, size_t chunk_len);

/* {Type: File, filesize: total, blocksizes: sizes...} for an internal file node. out needs
 * 2 + 11 + 11 * n bytes. Returns the length. */
size_t lp_unixfs_encode_file_node(uint64_t total, const uint64_t *sizes, size_t n, uint8_t *out);
/* {Type: Directory}. */
size_t lp_unixfs_encode_directory(uint8_t out[2]);
/* {Type: Symlink, Data: target}; out needs target_len + 13 bytes. */
size_t lp_unixfs_encode_symlink(const char *target, size_t target_len, uint8_t *out);

struct lp_unixfs_view {
    uint32_t type; /* enum lp_unixfs_type */
    bool has_data;
    const uint8_t *data; /* points into the decoded buffer */
    size_t data_len;
    bool has_filesize;
    uint64_t filesize;
    uint64_t *blocksizes; /* malloc'd; free with lp_unixfs_view_free */
    size_t nblocksizes;
};

/* Returns 0, or -1 with the reason in err. */
int lp_unixfs_decode(const uint8_t *buf, size_t len, struct lp_unixfs_view *out, char *err,
                     size_t errlen);
void lp_unixfs_view_free(struct lp_unixfs_view *view);

#endif
