/* 256-bit unsigned integers as 32 big-endian bytes, the form PoW challenges, nonces, digests
 * and targets take on the wire and on chain: decimal and hex text, compare, add. Written by
 * hand because the operations needed are few and OpenSSL's BIGNUM would allocate per call. */
#ifndef LP_POW_UINT256_H
#define LP_POW_UINT256_H

#include <stddef.h>
#include <stdint.h>

/* Parses a decimal integer (digits only, no sign, < 2^256). 0 ok, -1 on anything else. */
int lp_u256_from_dec(const char *text, uint8_t out[32]);
/* Parses 1..64 hex digits, with or without 0x. 0 ok, -1 otherwise. */
int lp_u256_from_hex(const char *text, uint8_t out[32]);
/* Writes the decimal form and a NUL; out must hold 79 chars. Returns the length. */
size_t lp_u256_to_dec(const uint8_t v[32], char out[79]);
/* memcmp order: <0, 0, >0. */
int lp_u256_cmp(const uint8_t a[32], const uint8_t b[32]);
/* a += b mod 2^256; returns the carry out. */
int lp_u256_add_u64(uint8_t a[32], uint64_t b);
void lp_u256_from_u64(uint64_t v, uint8_t out[32]);

/* Proof-of-work difficulty: the hashes a nonce below `target` proves on average, 2^256 / target
 * (about 53 bits exact, plenty for a count that is an estimate anyway). A zero target gives
 * infinity. */
double lp_u256_difficulty(const uint8_t target[32]);
/* The target of a difficulty: floor(2^256 / difficulty), the largest target (all ones) for a
 * difficulty of 1 or less. */
void lp_u256_target_for(double difficulty, uint8_t target[32]);

#endif
