/* RLP decoder and EIP-1559 transaction decoder. Beyond "never crash", checks the strictness
 * promise: whatever decodes must re-encode to exactly the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/rlp.h"
#include "eth/tx1559.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes one level with the encoder; returns -1 on any decode error. */
static int reencode_level(struct lp_rlp_cursor *c, struct lp_eth_buf *out)
{
    struct lp_rlp_item item;
    int r;
    while ((r = lp_rlp_next(c, &item, NULL)) == 1) {
        if (!item.is_list) {
            lp_rlp_put_bytes(out, item.payload, item.len);
            continue;
        }
        struct lp_rlp_cursor child;
        if (lp_rlp_enter(c, &item, &child, NULL) != 0)
            return -1;
        size_t mark = lp_rlp_list_begin(out);
        if (reencode_level(&child, out) != 0)
            return -1;
        lp_rlp_list_end(out, mark);
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lp_eth_err err;
    if (lp_rlp_validate(data, size, &err) == 0) {
        struct lp_rlp_cursor c;
        struct lp_eth_buf out = LP_ETH_BUF_INIT;
        lp_rlp_cursor_init(&c, data, size);
        if (reencode_level(&c, &out) != 0 || out.len != size || memcmp(out.data, data, size) != 0)
            abort(); /* accepted a non-canonical encoding */
        lp_eth_buf_free(&out);
    }

    struct lp_tx1559 tx;
    if (lp_tx1559_decode(data, size, &tx, &err) == 0) {
        struct lp_eth_buf out = LP_ETH_BUF_INIT;
        int r = tx.is_signed ? lp_tx1559_encode_signed(&tx, &out)
                             : lp_tx1559_encode_unsigned(&tx, &out);
        if (r != 0 || out.len != size || memcmp(out.data, data, size) != 0)
            abort(); /* decode/encode disagree */
        lp_eth_buf_free(&out);
    }
    return 0;
}
