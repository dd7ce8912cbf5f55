/*
 * The multiformats primitives a CID is made of: unsigned varints (LEB128, as multiformats and
 * protobuf use them), base58btc (CIDv0 strings) and RFC 4648 base32 lower-case without padding
 * (the 'b' multibase of CIDv1 strings).
 *
 * Written by hand because Debian 12 packages no C library for multiformats; the encoders are a
 * few dozen lines each and every decoder is strict (no whitespace, no padding, no non-canonical
 * forms), so the CID parser built on them can reject anything kubo would not print.
 */
#ifndef LP_CID_MULTIBASE_H
#define LP_CID_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>

#define LP_VARINT_MAX 10 /* bytes of a 64-bit varint */

/* Writes v as a varint to out (at least LP_VARINT_MAX bytes); returns the byte count. */
size_t lp_varint_put(uint8_t *out, uint64_t v);
/* Bytes lp_varint_put would write. */
size_t lp_varint_len(uint64_t v);
/* Reads a varint from buf[0..len); returns the bytes consumed, or 0 when truncated, longer than
 * 64 bits, or not minimally encoded (a trailing 0x00 group). */
size_t lp_varint_get(const uint8_t *buf, size_t len, uint64_t *v);

/* base58btc (Bitcoin alphabet). Encode writes a NUL-terminated string; returns its length, or 0
 * when out_cap is too small. Decode returns the byte count, or -1 on a character outside the
 * alphabet or an output longer than out_cap. Leading '1's are leading zero bytes. */
size_t lp_base58_encode(const uint8_t *data, size_t len, char *out, size_t out_cap);
long lp_base58_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap);

/* RFC 4648 base32, lower-case alphabet, no padding. Encode writes a NUL-terminated string and
 * returns its length (0 when out_cap is too small). Decode rejects upper case, '=', characters
 * outside the alphabet, impossible lengths and non-zero trailing bits; returns the byte count
 * or -1. */
size_t lp_base32_encode(const uint8_t *data, size_t len, char *out, size_t out_cap);
long lp_base32_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap);

#endif
