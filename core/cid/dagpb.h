/*
 * dag-pb blocks (the PBNode/PBLink protobuf of IPFS), encoded canonically as kubo writes them
 * (Links before Data, link fields in order Hash, Name, Tsize) and decoded strictly: unknown
 * fields, wrong wire types, Data before Links, a repeated Data, a link without a Hash, and any
 * length running past the block are errors. The decoder is what `get` trusts with untrusted
 * blocks, so it never reads outside the buffer and is fuzzed (tests/fuzz/fuzz_cid.c).
 *
 * The protobuf code is hand-written: the schema is two messages with six fields, Debian has no
 * protobuf-c runtime in our dependency set, and a generated parser would accept non-canonical
 * blocks we want to refuse.
 */
#ifndef LP_CID_DAGPB_H
#define LP_CID_DAGPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cid/cid.h"

/* A link as the encoder takes it. Name is written even when empty (kubo's file nodes carry
 * `Name: ""`); name_len bytes, not NUL-terminated. */
struct lp_dagpb_link {
    struct lp_cidb cid;
    const char *name;
    size_t name_len;
    uint64_t tsize; /* cumulative size of the linked DAG: its blocks' bytes */
};

/* Exact size of the encoded node. */
size_t lp_dagpb_encoded_len(const struct lp_dagpb_link *links, size_t nlinks, size_t data_len);
/* Encodes into out (cap bytes, at least lp_dagpb_encoded_len); returns the length, 0 if cap is
 * too small. data may be NULL only when data_len is 0 and has_data is false. */
size_t lp_dagpb_encode(const struct lp_dagpb_link *links, size_t nlinks, const uint8_t *data,
                       size_t data_len, bool has_data, uint8_t *out, size_t cap);

/* A decoded link: pointers into the block. */
struct lp_dagpb_link_view {
    const uint8_t *hash;
    size_t hash_len;
    const uint8_t *name; /* NULL when absent */
    size_t name_len;
    bool has_tsize;
    uint64_t tsize;
};

struct lp_dagpb_node_view {
    struct lp_dagpb_link_view *links; /* malloc'd; free with lp_dagpb_view_free */
    size_t nlinks;
    bool has_data;
    const uint8_t *data;
    size_t data_len;
};

/* Returns 0, or -1 with the reason in err (the view is then empty and needs no free). */
int lp_dagpb_decode(const uint8_t *block, size_t len, struct lp_dagpb_node_view *out, char *err,
                    size_t errlen);
void lp_dagpb_view_free(struct lp_dagpb_node_view *view);

/* Shared protobuf helpers (also used by unixfs.c). */
size_t lp_pb_put_key(uint8_t *out, unsigned field, unsigned wire_type);
size_t lp_pb_bytes_field_len(size_t len); /* key + length varint + payload, field < 16 */
/* Reads the field at *pos (varint or length-delimited only; other wire types are errors) and
 * advances *pos. Returns 0, or -1 when malformed or running past len. */
int lp_pb_next_field(const uint8_t *buf, size_t len, size_t *pos, unsigned *number,
                     unsigned *wire_type, uint64_t *value, const uint8_t **payload,
                     size_t *payload_len);

#endif
