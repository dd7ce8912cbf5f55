/* Hexadecimal encoding and strict decoding of byte strings (keys, hashes, signatures,
 * addresses). Encoding is always lowercase and NUL-terminated; decoding accepts either case,
 * an optional "0x"/"0X" prefix only where the function says so, and never skips whitespace:
 * anything that is not exactly the expected hex digits is an error. */
#ifndef LP_UTIL_HEX_H
#define LP_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase digits and a NUL to out (which must hold 2*len + 1 chars). */
void lp_hex_encode(const void *data, size_t len, char *out);

/* Same, with a "0x" prefix (out must hold 2*len + 3 chars). */
void lp_hex_encode_0x(const void *data, size_t len, char *out);

/* Value of one hex digit, or -1 if c is not one. */
int lp_hex_digit(char c);

/* Decodes exactly text_len digits (no prefix) into out_len bytes: text_len must equal
 * 2*out_len. Returns 0, or -1 on a wrong length or a non-hex character. */
int lp_hex_decode(const char *text, size_t text_len, void *out, size_t out_len);

/* Decodes a NUL-terminated string with an optional 0x prefix into exactly out_len bytes.
 * Returns 0 or -1 (wrong length, bad digit). */
int lp_hex_decode_fixed(const char *text, void *out, size_t out_len);

/* Decodes a NUL-terminated string with an optional 0x prefix and an even number of digits into
 * at most cap bytes; *out_len receives the byte count. Returns 0 or -1 (odd length, bad digit,
 * longer than cap). */
int lp_hex_decode_var(const char *text, void *out, size_t cap, size_t *out_len);

#endif
