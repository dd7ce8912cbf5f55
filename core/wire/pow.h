/* Proof-of-work rounds on the wire: the solver hands each provider a challenge; the
 * provider submits a nonce with keccak256(challenge || nonce as 32-byte big-endian) < target and
 * the hashes it counted over the window.
 *
 * PoW challenge, version 1: msgpack array of 8 fields (signed by the issuer)
 *   0 version          uint = 1
 *   1 issuer           bin 20 (solver; the envelope signer)
 *   2 provider         bin 20 (who must answer it)
 *   3 round            uint
 *   4 challenge        bin 32
 *   5 target           uint256, bin 32 big-endian
 *   6 window_start     uint, unix ms
 *   7 window_end       uint, unix ms (>= window_start)
 *
 * PoW submission, version 1: msgpack array of 9 fields (signed by the miner)
 *   0 version          uint = 1
 *   1 miner            bin 20 (the envelope signer)
 *   2 node_id          str <= 128
 *   3 round            uint
 *   4 challenge        bin 32
 *   5 nonce            uint256, bin 32 big-endian
 *   6 hashes           uint (hashes computed during the window)
 *   7 window_ms        uint (length of the counting window)
 *   8 created_at       uint, unix ms */
#ifndef LP_WIRE_POW_H
#define LP_WIRE_POW_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_POW_CHALLENGE_VERSION  1
#define LP_POW_SUBMISSION_VERSION 1
#define LP_WIRE_MAX_NODE_ID       128

struct lp_wire_pow_challenge {
    uint8_t issuer[LP_WIRE_ADDR_LEN];
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t round;
    uint8_t challenge[32];
    struct lp_u256 target;
    uint64_t window_start_ms;
    uint64_t window_end_ms;
};

struct lp_wire_pow_submission {
    uint8_t miner[LP_WIRE_ADDR_LEN];
    char *node_id;
    uint64_t round;
    uint8_t challenge[32];
    struct lp_u256 nonce;
    uint64_t hashes;
    uint64_t window_ms;
    uint64_t created_at_ms;
};

int lp_pow_challenge_encode(const struct lp_wire_pow_challenge *c, uint8_t **out, size_t *out_len,
                            struct lp_wire_error *err);
int lp_pow_challenge_decode(const uint8_t *data, size_t len, struct lp_wire_pow_challenge *c,
                            struct lp_wire_error *err);
void lp_pow_challenge_free(struct lp_wire_pow_challenge *c); /* nothing to release; for symmetry */

int lp_pow_submission_encode(const struct lp_wire_pow_submission *s, uint8_t **out, size_t *out_len,
                             struct lp_wire_error *err);
int lp_pow_submission_decode(const uint8_t *data, size_t len, struct lp_wire_pow_submission *s,
                             struct lp_wire_error *err);
void lp_pow_submission_free(struct lp_wire_pow_submission *s);

#endif
