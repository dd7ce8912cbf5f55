/* Common vocabulary of the canonical wire format.
 *
 * Every protocol object is one msgpack ARRAY with a fixed field order whose first element is the
 * object's schema version (uint). The rules, enforced by every encoder and decoder:
 *  - integers only, never floats; amounts of money are wei as uint256, carried as a 32-byte
 *    big-endian bin (struct lp_u256: 64 bits are only 18.4 tokens of 18 decimals, too few for
 *    collateral); counts, sizes, times and durations are uint64 (or smaller where documented);
 *  - addresses are 20-byte bin, IDs and hashes 32-byte bin, nonces 16-byte bin;
 *  - strings are UTF-8 str without NUL bytes, each with a documented maximum length;
 *  - optional values are nil when absent; maps have str keys sorted bytewise and unique;
 *  - the encoding is the shortest one msgpack allows (what msgpack_pack_* emits); decoders
 *    re-encode what they read and refuse input whose bytes differ, so every object has exactly
 *    one encoding and its ID is well defined.
 * An object's ID is keccak256 of its canonical encoding. Objects travel inside a signed envelope
 * (wire/envelope.h). Times are unix milliseconds (created_at) or seconds (durations, "_s"). */
#ifndef LP_WIRE_WIRE_H
#define LP_WIRE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define LP_WIRE_MAX_SIZE  (1024u * 1024u) /* bytes of one encoded object */
#define LP_WIRE_MAX_DEPTH 8               /* nesting of arrays/maps */
#define LP_WIRE_MAX_ITEMS 4096            /* elements of any one array or map */
#define LP_WIRE_ADDR_LEN  20
#define LP_WIRE_ID_LEN    32
#define LP_WIRE_NONCE_LEN 16
#define LP_WIRE_U256_LEN  32

/* What an envelope carries. Values are part of the wire format: never renumber. */
enum lp_wire_kind {
    LP_WIRE_JOB_OFFER = 1,
    LP_WIRE_RESOURCE_OFFER = 2,
    LP_WIRE_DEAL = 3,
    LP_WIRE_RESULT = 4,
    LP_WIRE_MEDIATION_REQUEST = 5,
    LP_WIRE_MEDIATION_VERDICT = 6,
    LP_WIRE_POW_CHALLENGE = 7,
    LP_WIRE_POW_SUBMISSION = 8,
};
#define LP_WIRE_KIND_MIN LP_WIRE_JOB_OFFER
#define LP_WIRE_KIND_MAX LP_WIRE_POW_SUBMISSION

/* Every failing wire function fills one of these with a single line naming the field, e.g.
 * "job_offer.resources.ram_bytes: expected unsigned integer, got str". */
struct lp_wire_error {
    char message[256];
};

/* An unsigned 256-bit amount (wei), big-endian so memcmp orders amounts. Its helpers are
 * named lp_wei_*: core/pow/uint256.h has the byte-array uint256 arithmetic of proof of work. */
struct lp_u256 {
    uint8_t be[LP_WIRE_U256_LEN];
};

void lp_wei_from_u64(struct lp_u256 *out, uint64_t value);
/* <0, 0, >0 like memcmp. */
int lp_wei_cmp(const struct lp_u256 *a, const struct lp_u256 *b);
/* The low 64 bits, and whether the value fits in them. */
int lp_wei_to_u64(const struct lp_u256 *in, uint64_t *out);

/* "job_offer", "resource_offer", ...; "unknown" for anything else. */
const char *lp_wire_kind_name(uint32_t kind);

/* keccak256 of an encoding. */
void lp_wire_id(const uint8_t *encoding, size_t len, uint8_t id[LP_WIRE_ID_LEN]);

#endif
