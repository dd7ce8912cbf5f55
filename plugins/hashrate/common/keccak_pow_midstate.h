/*
 * Host-side helpers every hashrate backend shares: the round-1 midstate of the PoW hash
 * keccak256(challenge(32) || nonce(32)), the nonce lane and the target's leading words.
 *
 * The 64-byte message fills lanes 0..7 of the state (little-endian words): challenge in lanes
 * 0..3, the nonce's bytes 0..23 in lanes 4..6 and its low 8 bytes, big-endian, in lane 7. The
 * Keccak padding (0x01 at byte 64, 0x80 at byte 135 of the 136-byte block) lands in lanes 8 and
 * 16. Within a batch only lane 7 changes, so theta and rho-pi of everything else are computed
 * here once (keccak_pow_rounds.h adds the nonce lane's contribution per hash).
 *
 * Plain C99 with static inline functions, so the C plugins, the CUDA and HIP host code and the
 * tests include the same text.
 */
#ifndef LP_KECCAK_POW_MIDSTATE_H
#define LP_KECCAK_POW_MIDSTATE_H

#include <stdint.h>

static inline uint64_t lp_pow_load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t lp_pow_load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t lp_pow_rotl64(uint64_t x, unsigned n)
{
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

/* The state word (lane 7) that holds a nonce whose low 64 bits are `low`. */
static inline uint64_t lp_pow_nonce_lane(uint64_t low)
{
    return __builtin_bswap64(low);
}

/* mid[i]: the value at rho-pi position i after round 1's theta and rho-pi, with lane 7 = 0.
 * nonce: the batch's base nonce (only bytes 0..23 are read). */
static inline void lp_pow_midstate(const uint8_t challenge[32], const uint8_t nonce[32],
                                   uint64_t mid[25])
{
    static const unsigned rho[5][5] = {
        {0, 36, 3, 41, 18},   {1, 44, 10, 45, 2},  {62, 6, 43, 15, 61},
        {28, 55, 25, 21, 56}, {27, 20, 39, 8, 14},
    };
    uint64_t s[25] = {0};
    for (int i = 0; i < 4; i++)
        s[i] = lp_pow_load_le64(challenge + 8 * i);
    for (int i = 0; i < 3; i++)
        s[4 + i] = lp_pow_load_le64(nonce + 8 * i);
    s[8] = 0x01;
    s[16] = 0x8000000000000000ull;

    uint64_t c[5], d[5];
    for (int x = 0; x < 5; x++)
        c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (int x = 0; x < 5; x++)
        d[x] = c[(x + 4) % 5] ^ lp_pow_rotl64(c[(x + 1) % 5], 1);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++) {
            uint64_t a = s[x + 5 * y] ^ d[x];
            mid[y + 5 * ((2 * x + 3 * y) % 5)] = lp_pow_rotl64(a, rho[x][y]);
        }
}

#endif /* LP_KECCAK_POW_MIDSTATE_H */
