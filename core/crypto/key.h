/* Ethereum identities: secp256k1 keys, EIP-55 addresses, recoverable signatures over 32-byte
 * digests (r||s||v, low-S) and EIP-191 personal_sign. Backed by libsecp256k1 through one
 * process-wide, randomised context created on first use (thread-safe). */
#ifndef LP_CRYPTO_KEY_H
#define LP_CRYPTO_KEY_H

#include <stddef.h>
#include <stdint.h>

struct lp_key {
    uint8_t secret[32];
    uint8_t pubkey[64]; /* uncompressed x||y, without the 0x04 prefix */
    uint8_t address[20];
};

/* 0 ok, -1 error; randomness from getrandom(). */
int lp_key_generate(struct lp_key *out);
/* -1 if not a valid secp256k1 secret (zero or >= the group order). */
int lp_key_from_secret(struct lp_key *out, const uint8_t secret[32]);
/* explicit_bzero: the compiler may not drop it. */
void lp_key_wipe(struct lp_key *key);

/* "0x" + 40 EIP-55 mixed-case hex digits + NUL. */
void lp_address_to_checksum(const uint8_t addr[20], char out[43]);
/* 0x-prefixed 40 hex digits; all-lower/all-upper accepted, mixed case must be valid EIP-55.
 * 0 ok, -1 otherwise. */
int lp_address_parse(const char *text, uint8_t out[20]);
/* The address of a 64-byte uncompressed public key (x||y): last 20 bytes of keccak256. */
void lp_address_from_pubkey(const uint8_t pubkey[64], uint8_t address[20]);

/* r||s||v with v = recovery id 0/1 and s in the lower half of the group order. 0 ok, -1 error. */
int lp_sign_digest(const struct lp_key *key, const uint8_t digest[32], uint8_t sig[65]);
/* Accepts v 0/1 or 27/28; rejects high-S, zero or out-of-range r/s. 0 ok, -1 error. */
int lp_recover_digest(const uint8_t digest[32], const uint8_t sig[65], uint8_t address[20]);

/* keccak256("\x19Ethereum Signed Message:\n" + decimal len + msg) */
void lp_eip191_hash(const void *msg, size_t len, uint8_t digest[32]);
/* v = 27/28 like ethers/geth. 0 ok, -1 error. */
int lp_personal_sign(const struct lp_key *key, const void *msg, size_t len, uint8_t sig[65]);
int lp_personal_recover(const void *msg, size_t len, const uint8_t sig[65], uint8_t address[20]);

#endif
