/* Keccak-256 as Ethereum uses it (original Keccak padding 0x01, rate 136 bytes).
 * Written by hand because Debian 12 ships no Keccak-256: OpenSSL 3.0 has SHA3 only. */
#ifndef LP_CRYPTO_KECCAK_H
#define LP_CRYPTO_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define LP_KECCAK256_LEN 32

struct lp_keccak {
    uint64_t state[25];
    size_t absorbed; /* bytes absorbed into the current block */
    uint8_t pad;     /* domain byte: 0x01 for Keccak, 0x06 for SHA3 (tests) */
};

/* The Keccak-f[1600] permutation, 24 rounds, lanes in little-endian order. */
void lp_keccak_f1600(uint64_t state[25]);

void lp_keccak256_init(struct lp_keccak *ctx);
void lp_keccak256_update(struct lp_keccak *ctx, const void *data, size_t len);
void lp_keccak256_final(struct lp_keccak *ctx, uint8_t out[LP_KECCAK256_LEN]);
/* One-shot. */
void lp_keccak256(const void *data, size_t len, uint8_t out[LP_KECCAK256_LEN]);

/* Test-only: the same sponge with another domain byte (0x06 gives SHA3-256), so the
 * permutation and padding can be checked against OpenSSL. */
void lp_keccak256_init_domain(struct lp_keccak *ctx, uint8_t domain_byte);

#endif
