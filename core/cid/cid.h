/*
 * Content identifiers as kubo makes them with its default settings: a SHA2-256 multihash over
 * a dag-pb or raw block, as CIDv0 ("Qm...", base58btc, dag-pb only) or CIDv1 ("b...", base32
 * lower case). Only what the node produces and stores is accepted; everything else (other
 * hashes, codecs or multibases) is refused with a reason, never guessed at.
 */
#ifndef LP_CID_CID_H
#define LP_CID_CID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_CID_CODEC_RAW    0x55
#define LP_CID_CODEC_DAG_PB 0x70
#define LP_MULTIHASH_SHA256 0x12
#define LP_CID_DIGEST_LEN   32
#define LP_CID_BYTES_MAX    36 /* v1: version, codec, hash code, length, 32-byte digest */
#define LP_CID_STRING_MAX   64 /* 46 for v0, 59 for v1, plus the NUL */

struct lp_cidb {
    uint8_t version; /* 0 or 1 */
    uint16_t codec;  /* LP_CID_CODEC_DAG_PB or LP_CID_CODEC_RAW (v0 is always dag-pb) */
    uint8_t digest[LP_CID_DIGEST_LEN];
};

/* The CID of `block` with the given version and codec (v0 requires dag-pb). */
void lp_cid_of_block(uint8_t version, uint16_t codec, const void *block, size_t len,
                     struct lp_cidb *out);
/* True when sha256(block) is the CID's digest. */
bool lp_cid_matches(const struct lp_cidb *cid, const void *block, size_t len);

/* Binary form, as a dag-pb link's Hash holds it: 34 bytes for v0, 36 for v1. Returns the length. */
size_t lp_cid_to_bytes(const struct lp_cidb *cid, uint8_t out[LP_CID_BYTES_MAX]);
size_t lp_cid_bytes_len(const struct lp_cidb *cid);
/* Parses the binary form (exactly len bytes). Returns 0, or -1 with the reason in err. */
int lp_cid_from_bytes(const uint8_t *buf, size_t len, struct lp_cidb *out, char *err,
                      size_t errlen);

/* Canonical string: base58btc for v0, 'b' + base32 for v1. Returns the length. */
size_t lp_cid_format(const struct lp_cidb *cid, char out[LP_CID_STRING_MAX]);
/* Parses a CID string strictly: only the canonical strings lp_cid_format produces are accepted.
 * Returns 0, or -1 with one line saying what is wrong in err. */
int lp_cid_parse(const char *text, struct lp_cidb *out, char *err, size_t errlen);

bool lp_cid_equal(const struct lp_cidb *a, const struct lp_cidb *b);

#endif
