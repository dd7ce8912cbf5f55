/* Solidity contract ABI (docs.soliditylang.org "Contract ABI Specification"), the subset our
 * contracts use: uintN/intN (N = 8..256), address, bool, bytesN (N = 1..32) as static
 * types; bytes, string and T[] (T static elementary) as dynamic types. No tuples and no
 * fixed-size arrays T[k]: the parser rejects them with a clear message.
 *
 * Values are zero-copy. A static value is its 32-byte ABI word; bytes/string point at
 * their contents; T[] points at `len` consecutive 32-byte element words. Decoded values
 * point into the decoded input. The encoder checks every word against its type (a uint8
 * word above 255 is an error, not silently truncated); the decoder checks every head
 * offset, length and padding against the input bounds and rejects dirty padding. It does
 * not require the canonical tail layout (offsets may point anywhere inside the input, as
 * Solidity's own decoder allows), nor that the input ends right after the last tail. */
#ifndef LP_ETH_ABI_H
#define LP_ETH_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/buf.h"
#include "eth/err.h"

#define LP_ABI_MAX_ARGS      16
#define LP_ABI_MAX_SIGNATURE 256

enum lp_abi_kind {
    LP_ABI_UINT,
    LP_ABI_INT,
    LP_ABI_ADDRESS,
    LP_ABI_BOOL,
    LP_ABI_FIXED_BYTES, /* bytesN */
    LP_ABI_BYTES,
    LP_ABI_STRING,
};

struct lp_abi_type {
    enum lp_abi_kind kind;
    uint16_t size; /* uintN/intN: N bits; bytesN: N bytes; else 0 */
    bool is_array; /* T[] of the static elementary type above */
};

/* A parsed function or event signature. Input may carry parameter names, `indexed` and
 * spaces ("Transfer(address indexed from, address indexed to, uint256 value)"); the
 * canonical form has none and spells `uint` as `uint256` ("Transfer(address,address,uint256)"). */
struct lp_abi_sig {
    char canonical[LP_ABI_MAX_SIGNATURE];
    size_t n;
    struct lp_abi_type types[LP_ABI_MAX_ARGS];
    bool indexed[LP_ABI_MAX_ARGS];
};

struct lp_abi_value {
    uint8_t word[32];   /* static types (and indexed dynamic event args: the topic hash) */
    const uint8_t *ptr; /* bytes/string: the contents; T[]: len words of 32 bytes */
    size_t len;         /* bytes/string: bytes; T[]: elements */
    bool hashed;        /* an indexed dynamic event argument: only its keccak256 is known */
};

int lp_abi_parse_signature(const char *text, struct lp_abi_sig *sig, struct lp_eth_err *err);
bool lp_abi_type_is_dynamic(const struct lp_abi_type *t);
/* First 4 bytes of keccak256(canonical signature). */
void lp_abi_selector(const struct lp_abi_sig *sig, uint8_t selector[4]);

/* Building values. */
struct lp_abi_value lp_abi_uint(uint64_t v);
struct lp_abi_value lp_abi_int(int64_t v);
struct lp_abi_value lp_abi_uint256(const uint8_t be[32]);
struct lp_abi_value lp_abi_address(const uint8_t addr[20]);
struct lp_abi_value lp_abi_bool(bool v);
/* bytesN: n <= 32 bytes, right-padded. */
struct lp_abi_value lp_abi_fixed_bytes(const uint8_t *data, size_t n);
struct lp_abi_value lp_abi_bytes(const uint8_t *data, size_t len);
struct lp_abi_value lp_abi_string(const char *s);
/* T[]: `count` words of 32 bytes each (build them with lp_abi_word_*). */
struct lp_abi_value lp_abi_array(const uint8_t (*words)[32], size_t count);

void lp_abi_word_uint64(uint8_t word[32], uint64_t v);
/* Reading words: -1 if the value does not fit. */
int lp_abi_word_get_uint64(const uint8_t word[32], uint64_t *v);
void lp_abi_word_get_address(const uint8_t word[32], uint8_t addr[20]);

/* Checks that a word is a valid encoding of static type t (ranges, sign extension, padding). */
int lp_abi_check_word(const struct lp_abi_type *t, const uint8_t word[32], size_t offset,
                      struct lp_eth_err *err);

/* Head/tail encoding of the values as one tuple (function arguments, return data, event data). */
int lp_abi_encode(const struct lp_abi_type *types, const struct lp_abi_value *vals, size_t n,
                  struct lp_eth_buf *out, struct lp_eth_err *err);
int lp_abi_decode(const uint8_t *data, size_t len, const struct lp_abi_type *types, size_t n,
                  struct lp_abi_value *vals, struct lp_eth_err *err);

/* Calldata: selector || encode(args). `signature` is parsed each call; n must match it. */
int lp_abi_encode_call(const char *signature, const struct lp_abi_value *vals, size_t n,
                       struct lp_eth_buf *out, struct lp_eth_err *err);
/* Checks the selector and decodes the arguments; error offsets count from the selector. */
int lp_abi_decode_call(const struct lp_abi_sig *sig, const uint8_t *data, size_t len,
                       struct lp_abi_value *vals, struct lp_eth_err *err);

#endif
