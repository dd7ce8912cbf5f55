/* RLP by hand: it is ~200 lines, and no Debian package provides it for C. */
#include "eth/rlp.h"

#include <string.h>

/* Header for a string (base 0x80) or list (base 0xc0) payload of `len` bytes. */
static size_t rlp_header(uint8_t base, size_t len, uint8_t out[9])
{
    if (len <= 55) {
        out[0] = (uint8_t)(base + len);
        return 1;
    }
    uint8_t be[8];
    size_t n = 0;
    for (size_t v = len; v > 0; v >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        be[i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    out[0] = (uint8_t)(base + 55 + n);
    memcpy(out + 1, be, n);
    return n + 1;
}

int lp_rlp_put_bytes(struct lp_eth_buf *b, const uint8_t *data, size_t len)
{
    if (len == 1 && data[0] < 0x80)
        return lp_eth_buf_append_byte(b, data[0]);
    uint8_t hdr[9];
    size_t hl = rlp_header(0x80, len, hdr);
    if (lp_eth_buf_append(b, hdr, hl) != 0)
        return -1;
    return lp_eth_buf_append(b, data, len);
}

int lp_rlp_put_string(struct lp_eth_buf *b, const char *s)
{
    return lp_rlp_put_bytes(b, (const uint8_t *)s, strlen(s));
}

int lp_rlp_put_uint_be(struct lp_eth_buf *b, const uint8_t *be, size_t len)
{
    while (len > 0 && be[0] == 0) {
        be++;
        len--;
    }
    return lp_rlp_put_bytes(b, be, len);
}

int lp_rlp_put_uint(struct lp_eth_buf *b, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(v >> (8 * (7 - i)));
    return lp_rlp_put_uint_be(b, be, sizeof be);
}

size_t lp_rlp_list_begin(const struct lp_eth_buf *b)
{
    return b->len;
}

int lp_rlp_list_end(struct lp_eth_buf *b, size_t mark)
{
    if (b->failed || mark > b->len)
        return -1;
    uint8_t hdr[9];
    size_t hl = rlp_header(0xc0, b->len - mark, hdr);
    return lp_eth_buf_insert(b, mark, hdr, hl);
}

int lp_rlp_put_raw(struct lp_eth_buf *b, const uint8_t *rlp, size_t len)
{
    return lp_eth_buf_append(b, rlp, len);
}

/* ---- decoding ---- */

void lp_rlp_cursor_init(struct lp_rlp_cursor *c, const uint8_t *data, size_t len)
{
    c->base = data;
    c->pos = 0;
    c->end = len;
    c->depth = 0;
}

int lp_rlp_next(struct lp_rlp_cursor *c, struct lp_rlp_item *item, struct lp_eth_err *err)
{
    if (c->pos >= c->end)
        return 0;
    const uint8_t *p = c->base + c->pos;
    size_t avail = c->end - c->pos;
    size_t at = c->pos;
    uint8_t b0 = p[0];
    size_t hl, len;
    bool is_list = b0 >= 0xc0;

    if (b0 < 0x80) {
        hl = 0;
        len = 1;
    } else if (b0 <= 0xb7 || (b0 >= 0xc0 && b0 <= 0xf7)) {
        hl = 1;
        len = b0 - (is_list ? 0xc0 : 0x80);
    } else {
        size_t lenlen = b0 - (is_list ? 0xf7 : 0xb7);
        hl = 1 + lenlen;
        if (avail < hl)
            return lp_eth_err_set(err, at,
                                  "rlp: offset %zu: %zu-byte length field runs past the end "
                                  "(%zu bytes left)",
                                  at, lenlen, avail - 1);
        if (p[1] == 0)
            return lp_eth_err_set(err, at,
                                  "rlp: offset %zu: length field has a leading zero byte "
                                  "(non-canonical)",
                                  at);
        if (lenlen > sizeof(size_t))
            return lp_eth_err_set(err, at, "rlp: offset %zu: length field of %zu bytes is too big",
                                  at, lenlen);
        len = 0;
        for (size_t i = 0; i < lenlen; i++)
            len = (len << 8) | p[1 + i];
        if (len <= 55)
            return lp_eth_err_set(err, at,
                                  "rlp: offset %zu: long-form length %zu <= 55 (non-canonical; "
                                  "the short form is required)",
                                  at, len);
    }
    if (len > avail - hl)
        return lp_eth_err_set(err, at,
                              "rlp: offset %zu: declared %s length %zu runs past the end "
                              "(%zu bytes left)",
                              at, is_list ? "list" : "string", len, avail - hl);
    if (!is_list && hl == 1 && len == 1 && p[1] < 0x80)
        return lp_eth_err_set(err, at,
                              "rlp: offset %zu: single byte 0x%02x < 0x80 wrapped in a string "
                              "header (non-canonical; it encodes as itself)",
                              at, p[1]);
    item->is_list = is_list;
    item->payload = p + hl;
    item->len = len;
    item->raw = p;
    item->raw_len = hl + len;
    item->offset = at;
    c->pos += hl + len;
    return 1;
}

int lp_rlp_enter(const struct lp_rlp_cursor *parent, const struct lp_rlp_item *list,
                 struct lp_rlp_cursor *child, struct lp_eth_err *err)
{
    if (!list->is_list)
        return lp_eth_err_set(err, list->offset, "rlp: offset %zu: expected a list, got a string",
                              list->offset);
    if (parent->depth + 1 > LP_RLP_MAX_DEPTH)
        return lp_eth_err_set(err, list->offset, "rlp: offset %zu: lists nested deeper than %d",
                              list->offset, LP_RLP_MAX_DEPTH);
    child->base = parent->base;
    child->pos = (size_t)(list->payload - parent->base);
    child->end = child->pos + list->len;
    child->depth = parent->depth + 1;
    return 0;
}

int lp_rlp_expect(struct lp_rlp_cursor *c, bool want_list, const char *what,
                  struct lp_rlp_item *item, struct lp_eth_err *err)
{
    int r = lp_rlp_next(c, item, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return lp_eth_err_set(err, c->end, "rlp: offset %zu: missing %s (the list ends here)",
                              c->end, what);
    if (item->is_list != want_list)
        return lp_eth_err_set(err, item->offset, "rlp: offset %zu: %s must be a %s", item->offset,
                              what, want_list ? "list" : "string");
    return 0;
}

int lp_rlp_expect_end(struct lp_rlp_cursor *c, const char *what, struct lp_eth_err *err)
{
    if (c->pos < c->end)
        return lp_eth_err_set(err, c->pos,
                              "rlp: offset %zu: %zu unexpected trailing bytes after %s", c->pos,
                              c->end - c->pos, what);
    return 0;
}

int lp_rlp_decode_one(const uint8_t *data, size_t len, struct lp_rlp_item *item,
                      struct lp_eth_err *err)
{
    struct lp_rlp_cursor c;
    lp_rlp_cursor_init(&c, data, len);
    int r = lp_rlp_next(&c, item, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return lp_eth_err_set(err, 0, "rlp: offset 0: empty input");
    return lp_rlp_expect_end(&c, "the top-level item", err);
}

/* Recursion is bounded by LP_RLP_MAX_DEPTH through lp_rlp_enter. */
static int rlp_validate_level(struct lp_rlp_cursor *c, struct lp_eth_err *err)
{
    struct lp_rlp_item item;
    int r;
    while ((r = lp_rlp_next(c, &item, err)) == 1) {
        if (!item.is_list)
            continue;
        struct lp_rlp_cursor child;
        if (lp_rlp_enter(c, &item, &child, err) != 0 || rlp_validate_level(&child, err) != 0)
            return -1;
    }
    return r;
}

int lp_rlp_validate(const uint8_t *data, size_t len, struct lp_eth_err *err)
{
    struct lp_rlp_item item;
    if (lp_rlp_decode_one(data, len, &item, err) != 0)
        return -1;
    struct lp_rlp_cursor c;
    lp_rlp_cursor_init(&c, data, len);
    return rlp_validate_level(&c, err);
}

static int rlp_int_check(const struct lp_rlp_item *item, const char *what, size_t max_len,
                         struct lp_eth_err *err)
{
    if (item->is_list)
        return lp_eth_err_set(err, item->offset,
                              "rlp: offset %zu: %s must be an integer (a string), got a list",
                              item->offset, what);
    if (item->len > 0 && item->payload[0] == 0)
        return lp_eth_err_set(err, item->offset,
                              "rlp: offset %zu: %s has a leading zero byte (non-canonical "
                              "integer)",
                              item->offset, what);
    if (item->len > max_len)
        return lp_eth_err_set(err, item->offset,
                              "rlp: offset %zu: %s is %zu bytes, more than the %zu allowed",
                              item->offset, what, item->len, max_len);
    return 0;
}

int lp_rlp_item_uint64(const struct lp_rlp_item *item, const char *what, uint64_t *out,
                       struct lp_eth_err *err)
{
    if (rlp_int_check(item, what, 8, err) != 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < item->len; i++)
        v = (v << 8) | item->payload[i];
    *out = v;
    return 0;
}

int lp_rlp_item_uint_be(const struct lp_rlp_item *item, const char *what, uint8_t *out,
                        size_t out_len, struct lp_eth_err *err)
{
    if (rlp_int_check(item, what, out_len, err) != 0)
        return -1;
    memset(out, 0, out_len - item->len);
    if (item->len > 0)
        memcpy(out + out_len - item->len, item->payload, item->len);
    return 0;
}
