/* Proof-of-work rounds on the wire: the solver hands each provider a challenge; the
 * provider submits the round's solution, a nonce with keccak256(challenge || nonce as 32-byte
 * big-endian) < target, and shares: nonces below the easier share target, each proving
 * 2^256 / share_target hashes on average, from which the solver credits its hash rate (the
 * provider's own count is never believed).
 *
 * PoW challenge, version 2: msgpack array of 9 fields (signed by the issuer)
 *   0 version          uint = 2 (version 1: fields 0-7 only)
 *   1 issuer           bin 20 (solver; the envelope signer)
 *   2 provider         bin 20 (who must answer it)
 *   3 round            uint
 *   4 challenge        bin 32
 *   5 target           uint256, bin 32 big-endian: the round's solution is below it
 *   6 window_start     uint, unix ms
 *   7 window_end       uint, unix ms (>= window_start)
 *   8 share_target     uint256, bin 32 big-endian: a share is below it (set per provider)
 *
 * PoW submission, version 2: msgpack array of 10 fields (signed by the miner). Several per
 * round: each carries the shares found since the last; the round's solution at most once.
 *   0 version          uint = 2 (version 1: fields 0-8 only, nonce is the solution)
 *   1 miner            bin 20 (the envelope signer)
 *   2 node_id          str <= 128
 *   3 round            uint
 *   4 challenge        bin 32
 *   5 nonce            uint256, bin 32 big-endian: the solution (ignored when has_solution
 *                      is 0)
 *   6 hashes           uint: the miner's own count, for its log; the solver does not use it
 *   7 window_ms        uint (length of the counting window)
 *   8 created_at       uint, unix ms
 *   9 shares           array [has_solution uint 0|1, [nonce bin 32 ...] (<= 1024, distinct)]
 *
 * The decoded struct keeps its version, so re-encoding gives back the same bytes (and ID); new
 * objects are written as version 2. */
#ifndef LP_WIRE_POW_H
#define LP_WIRE_POW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_POW_CHALLENGE_VERSION  2
#define LP_POW_SUBMISSION_VERSION 2
#define LP_WIRE_MAX_NODE_ID       128
#define LP_WIRE_MAX_POW_SHARES    1024

struct lp_wire_pow_challenge {
    uint32_t version; /* 0 when building one: the newest */
    uint8_t issuer[LP_WIRE_ADDR_LEN];
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t round;
    uint8_t challenge[32];
    struct lp_u256 target;
    uint64_t window_start_ms;
    uint64_t window_end_ms;
    struct lp_u256 share_target; /* version 2; zero in a decoded version 1 */
};

struct lp_wire_pow_submission {
    uint32_t version; /* 0 when building one: the newest */
    uint8_t miner[LP_WIRE_ADDR_LEN];
    char *node_id;
    uint64_t round;
    uint8_t challenge[32];
    struct lp_u256 nonce;
    uint64_t hashes;
    uint64_t window_ms;
    uint64_t created_at_ms;
    bool has_solution;      /* version 1: always */
    struct lp_u256 *shares; /* version 2; n_shares of them (owned: freed with the struct) */
    size_t n_shares;
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
