#include "pow/pow.h"

#include <string.h>

#include "crypto/keccak.h"
#include "pow/uint256.h"

void lp_pow_hash(const uint8_t challenge[32], const uint8_t nonce[32], uint8_t digest[32])
{
    uint8_t msg[64];
    memcpy(msg, challenge, 32);
    memcpy(msg + 32, nonce, 32);
    lp_keccak256(msg, sizeof msg, digest);
}

bool lp_pow_verify(const uint8_t challenge[32], const uint8_t nonce[32], const uint8_t target[32],
                   uint8_t digest[32])
{
    uint8_t d[32];
    lp_pow_hash(challenge, nonce, d);
    if (digest != NULL)
        memcpy(digest, d, 32);
    return lp_u256_cmp(d, target) < 0;
}

uint64_t lp_pow_next_batch(uint8_t cursor[32], uint64_t want, uint8_t base[32])
{
    memcpy(base, cursor, 32);
    if (want == 0)
        return 0;
    uint64_t low = 0;
    for (int i = 24; i < 32; i++)
        low = (low << 8) | cursor[i];
    uint64_t room = UINT64_MAX - low; /* nonces after `low` before the wrap */
    uint64_t n = want - 1 <= room ? want : room + 1;
    /* advancing by n carries into the upper bytes when the batch ends at the wrap */
    lp_u256_add_u64(cursor, n);
    return n;
}
