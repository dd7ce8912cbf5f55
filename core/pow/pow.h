/*
 * Proof-of-work helpers of the core: the hash, its verification and nonce batches.
 *
 * A nonce wins when keccak256(challenge(32) || nonce(32, big-endian)), read as a big-endian
 * uint256, is strictly below the target (Lilypad's LilypadPow.submitWork). Verification hashes
 * once. Recording rounds and submissions through the verifier plugin (ledger now, Arbitrum
 * later) is NOT here yet: it lands with the network protocol issue, which owns rounds.
 */
#ifndef LP_POW_POW_H
#define LP_POW_POW_H

#include <stdbool.h>
#include <stdint.h>

void lp_pow_hash(const uint8_t challenge[32], const uint8_t nonce[32], uint8_t digest[32]);
/* True when the nonce meets the target; digest (may be NULL) receives the hash. */
bool lp_pow_verify(const uint8_t challenge[32], const uint8_t nonce[32], const uint8_t target[32],
                   uint8_t digest[32]);

/*
 * Nonce batches for hashrate plugins: the next `want` nonces from *cursor, cut short so the low
 * 64 bits do not wrap inside the batch (the ABI's promise to plugins). Writes the batch's first
 * nonce to base, returns its length (>= 1 unless want is 0) and advances cursor past it, so
 * consecutive batches have no gap and no overlap; after the low 64 bits reach 2^64 the cursor
 * carries into the upper bytes.
 */
uint64_t lp_pow_next_batch(uint8_t cursor[32], uint64_t want, uint8_t base[32]);

#endif
