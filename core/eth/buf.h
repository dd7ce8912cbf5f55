/* A growable byte buffer for the encoders (RLP, ABI, transactions). Appends never fail
 * silently: on allocation failure the buffer turns `failed` and every later append is a
 * no-op, so an encoder can append freely and check once at the end. */
#ifndef LP_ETH_BUF_H
#define LP_ETH_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lp_eth_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed (or a size overflowed) */
};

#define LP_ETH_BUF_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

void lp_eth_buf_init(struct lp_eth_buf *b);
void lp_eth_buf_free(struct lp_eth_buf *b);
/* Makes room for `extra` more bytes; returns 0, or -1 and marks the buffer failed. */
int lp_eth_buf_reserve(struct lp_eth_buf *b, size_t extra);
int lp_eth_buf_append(struct lp_eth_buf *b, const void *data, size_t len);
int lp_eth_buf_append_byte(struct lp_eth_buf *b, uint8_t byte);
/* Appends `len` zero bytes. */
int lp_eth_buf_append_zeros(struct lp_eth_buf *b, size_t len);
/* Inserts `len` bytes at `pos` (<= b->len), moving what follows. */
int lp_eth_buf_insert(struct lp_eth_buf *b, size_t pos, const void *data, size_t len);

#endif
