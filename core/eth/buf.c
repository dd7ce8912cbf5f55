#include "eth/buf.h"

#include <stdlib.h>
#include <string.h>

void lp_eth_buf_init(struct lp_eth_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

void lp_eth_buf_free(struct lp_eth_buf *b)
{
    free(b->data);
    lp_eth_buf_init(b);
}

int lp_eth_buf_reserve(struct lp_eth_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > SIZE_MAX - b->len) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL) {
        b->failed = true;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

int lp_eth_buf_append(struct lp_eth_buf *b, const void *data, size_t len)
{
    if (lp_eth_buf_reserve(b, len) != 0)
        return -1;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int lp_eth_buf_append_byte(struct lp_eth_buf *b, uint8_t byte)
{
    return lp_eth_buf_append(b, &byte, 1);
}

int lp_eth_buf_append_zeros(struct lp_eth_buf *b, size_t len)
{
    if (lp_eth_buf_reserve(b, len) != 0)
        return -1;
    if (len > 0)
        memset(b->data + b->len, 0, len);
    b->len += len;
    return 0;
}

int lp_eth_buf_insert(struct lp_eth_buf *b, size_t pos, const void *data, size_t len)
{
    if (pos > b->len || lp_eth_buf_reserve(b, len) != 0)
        return -1;
    memmove(b->data + pos + len, b->data + pos, b->len - pos);
    if (len > 0)
        memcpy(b->data + pos, data, len);
    b->len += len;
    return 0;
}
