/* RLP (Ethereum Yellow Paper appendix B): encoder into a growable buffer and a strict,
 * bounded, zero-copy decoder (a cursor over one list level at a time).
 *
 * Strict means canonical: a decoder accepts exactly the bytes the encoder would produce.
 * Rejected, each with the offset of the offending item: a length field longer than
 * needed or with a leading zero, a long form for a length <= 55, a single byte < 0x80
 * wrapped as a one-byte string, a declared length past the end of the enclosing item,
 * trailing bytes after the top-level item, lists nested deeper than LP_RLP_MAX_DEPTH,
 * and (in the integer accessors) leading zero bytes. */
#ifndef LP_ETH_RLP_H
#define LP_ETH_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/buf.h"
#include "eth/err.h"

/* The deepest list nesting the decoder accepts: a list inside 16 lists is refused.
 * Transactions need 3 (tx, access list, entry, keys). */
#define LP_RLP_MAX_DEPTH 16

/* ---- encoding ---- */

/* A byte string (a single byte < 0x80 encodes as itself). */
int lp_rlp_put_bytes(struct lp_eth_buf *b, const uint8_t *data, size_t len);
int lp_rlp_put_string(struct lp_eth_buf *b, const char *s);
/* An unsigned integer: minimal big-endian, 0 is the empty string (0x80). */
int lp_rlp_put_uint(struct lp_eth_buf *b, uint64_t v);
/* A big-endian unsigned integer of any width (a uint256 as 32 bytes): leading zero bytes
 * are stripped. */
int lp_rlp_put_uint_be(struct lp_eth_buf *b, const uint8_t *be, size_t len);
/* Lists: mark = lp_rlp_list_begin(b); put the items; lp_rlp_list_end(b, mark) writes the
 * header in front of them. Lists nest. */
size_t lp_rlp_list_begin(const struct lp_eth_buf *b);
int lp_rlp_list_end(struct lp_eth_buf *b, size_t mark);
/* Appends an already encoded item as is (no check). */
int lp_rlp_put_raw(struct lp_eth_buf *b, const uint8_t *rlp, size_t len);

/* ---- decoding ---- */

struct lp_rlp_item {
    bool is_list;
    const uint8_t *payload; /* string bytes, or the list's encoded items; points into the input */
    size_t len;             /* payload length */
    const uint8_t *raw;     /* the whole item, header included */
    size_t raw_len;
    size_t offset; /* offset of the item's header in the top-level input */
};

/* Iterates the items of one level: the top level of an input, or one list's payload. */
struct lp_rlp_cursor {
    const uint8_t *base; /* the top-level input, for offsets */
    size_t pos;          /* next item, as an offset into base */
    size_t end;          /* end of this level, offset into base */
    unsigned depth;      /* lists entered to reach this level */
};

/* A cursor over a whole input (a sequence of top-level items). */
void lp_rlp_cursor_init(struct lp_rlp_cursor *c, const uint8_t *data, size_t len);
/* Reads the next item: 1 = an item, 0 = end of this level, -1 = malformed (err filled). */
int lp_rlp_next(struct lp_rlp_cursor *c, struct lp_rlp_item *item, struct lp_eth_err *err);
/* A cursor over the items of `list` (one returned by lp_rlp_next on `parent`). Fails on a
 * string or beyond LP_RLP_MAX_DEPTH. */
int lp_rlp_enter(const struct lp_rlp_cursor *parent, const struct lp_rlp_item *list,
                 struct lp_rlp_cursor *child, struct lp_eth_err *err);
/* Reads the next item and requires a list/string; `what` names the field in the error. */
int lp_rlp_expect(struct lp_rlp_cursor *c, bool want_list, const char *what,
                  struct lp_rlp_item *item, struct lp_eth_err *err);
/* Requires that the level is exhausted ("trailing bytes" otherwise). */
int lp_rlp_expect_end(struct lp_rlp_cursor *c, const char *what, struct lp_eth_err *err);

/* Decodes exactly one top-level item covering all of data[0..len). */
int lp_rlp_decode_one(const uint8_t *data, size_t len, struct lp_rlp_item *item,
                      struct lp_eth_err *err);
/* Checks that data is exactly one canonical item, walking every nested list. */
int lp_rlp_validate(const uint8_t *data, size_t len, struct lp_eth_err *err);

/* Integer accessors, strict: a string, no leading zero byte, fits the width. */
int lp_rlp_item_uint64(const struct lp_rlp_item *item, const char *what, uint64_t *out,
                       struct lp_eth_err *err);
/* Into a big-endian buffer of out_len bytes (left-padded with zeros), e.g. a uint256. */
int lp_rlp_item_uint_be(const struct lp_rlp_item *item, const char *what, uint8_t *out,
                        size_t out_len, struct lp_eth_err *err);

#endif
