#include "eth/tx1559.h"

#include <string.h>

#include "crypto/keccak.h"
#include "eth/rlp.h"

static const uint8_t EMPTY_LIST[1] = {0xc0};

static void tx_put_fields(const struct lp_tx1559 *tx, struct lp_eth_buf *b)
{
    lp_rlp_put_uint(b, tx->chain_id);
    lp_rlp_put_uint(b, tx->nonce);
    lp_rlp_put_uint(b, tx->max_priority_fee_per_gas);
    lp_rlp_put_uint(b, tx->max_fee_per_gas);
    lp_rlp_put_uint(b, tx->gas_limit);
    lp_rlp_put_bytes(b, tx->to, tx->has_to ? 20 : 0);
    lp_rlp_put_uint_be(b, tx->value, sizeof tx->value);
    lp_rlp_put_bytes(b, tx->data, tx->data_len);
    if (tx->access_list_rlp != NULL)
        lp_rlp_put_raw(b, tx->access_list_rlp, tx->access_list_rlp_len);
    else
        lp_rlp_put_raw(b, EMPTY_LIST, sizeof EMPTY_LIST);
}

static int tx_encode(const struct lp_tx1559 *tx, bool with_sig, struct lp_eth_buf *out)
{
    if (with_sig && !tx->is_signed)
        return -1;
    lp_eth_buf_append_byte(out, LP_TX1559_TYPE);
    size_t mark = lp_rlp_list_begin(out);
    tx_put_fields(tx, out);
    if (with_sig) {
        lp_rlp_put_uint(out, tx->y_parity);
        lp_rlp_put_uint_be(out, tx->r, sizeof tx->r);
        lp_rlp_put_uint_be(out, tx->s, sizeof tx->s);
    }
    if (lp_rlp_list_end(out, mark) != 0 || out->failed)
        return -1;
    return 0;
}

int lp_tx1559_encode_unsigned(const struct lp_tx1559 *tx, struct lp_eth_buf *out)
{
    return tx_encode(tx, false, out);
}

int lp_tx1559_encode_signed(const struct lp_tx1559 *tx, struct lp_eth_buf *out)
{
    return tx_encode(tx, true, out);
}

static int tx_hash_of(const struct lp_tx1559 *tx, bool with_sig, uint8_t hash[32])
{
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    int r = tx_encode(tx, with_sig, &b);
    if (r == 0)
        lp_keccak256(b.data, b.len, hash);
    lp_eth_buf_free(&b);
    return r;
}

int lp_tx1559_signing_hash(const struct lp_tx1559 *tx, uint8_t hash[32])
{
    return tx_hash_of(tx, false, hash);
}

int lp_tx1559_hash(const struct lp_tx1559 *tx, uint8_t hash[32])
{
    return tx_hash_of(tx, true, hash);
}

int lp_tx1559_sign(struct lp_tx1559 *tx, const struct lp_key *key)
{
    uint8_t digest[32], sig[65];
    if (lp_tx1559_signing_hash(tx, digest) != 0 || lp_sign_digest(key, digest, sig) != 0)
        return -1;
    memcpy(tx->r, sig, 32);
    memcpy(tx->s, sig + 32, 32);
    tx->y_parity = sig[64];
    tx->is_signed = true;
    return 0;
}

int lp_tx1559_sender(const struct lp_tx1559 *tx, uint8_t address[20])
{
    uint8_t digest[32], sig[65];
    if (!tx->is_signed || tx->y_parity > 1 || lp_tx1559_signing_hash(tx, digest) != 0)
        return -1;
    memcpy(sig, tx->r, 32);
    memcpy(sig + 32, tx->s, 32);
    sig[64] = tx->y_parity;
    return lp_recover_digest(digest, sig, address);
}

/* [[address20, [key32, ...]], ...] */
static int tx_check_access_list(struct lp_rlp_cursor *parent, const struct lp_rlp_item *list,
                                struct lp_eth_err *err)
{
    struct lp_rlp_cursor entries, entry, keys;
    struct lp_rlp_item it, addr, keylist, key;
    int r;
    if (lp_rlp_enter(parent, list, &entries, err) != 0)
        return -1;
    while ((r = lp_rlp_next(&entries, &it, err)) == 1) {
        if (lp_rlp_enter(&entries, &it, &entry, err) != 0 ||
            lp_rlp_expect(&entry, false, "access list address", &addr, err) != 0)
            return -1;
        if (addr.len != 20)
            return lp_eth_err_set(err, addr.offset,
                                  "tx: offset %zu: access list address is %zu bytes, not 20",
                                  addr.offset, addr.len);
        if (lp_rlp_expect(&entry, true, "access list storage keys", &keylist, err) != 0 ||
            lp_rlp_expect_end(&entry, "an access list entry", err) != 0 ||
            lp_rlp_enter(&entry, &keylist, &keys, err) != 0)
            return -1;
        while ((r = lp_rlp_next(&keys, &key, err)) == 1) {
            if (key.is_list || key.len != 32)
                return lp_eth_err_set(err, key.offset,
                                      "tx: offset %zu: access list storage key must be 32 bytes",
                                      key.offset);
        }
        if (r < 0)
            return -1;
    }
    return r;
}

static int tx_uint64_field(struct lp_rlp_cursor *c, const char *what, uint64_t *out,
                           struct lp_eth_err *err)
{
    struct lp_rlp_item it;
    if (lp_rlp_expect(c, false, what, &it, err) != 0)
        return -1;
    return lp_rlp_item_uint64(&it, what, out, err);
}

int lp_tx1559_decode(const uint8_t *raw, size_t len, struct lp_tx1559 *tx, struct lp_eth_err *err)
{
    memset(tx, 0, sizeof *tx);
    if (len == 0)
        return lp_eth_err_set(err, 0, "tx: offset 0: empty input");
    if (raw[0] != LP_TX1559_TYPE)
        return lp_eth_err_set(
            err, 0, "tx: offset 0: transaction type 0x%02x, expected 0x02 (EIP-1559)", raw[0]);
    struct lp_rlp_cursor top, fields;
    struct lp_rlp_item list, it;
    /* The cursor spans the whole input so error offsets count the type byte too. */
    lp_rlp_cursor_init(&top, raw, len);
    top.pos = 1;
    if (lp_rlp_expect(&top, true, "the transaction list", &list, err) != 0 ||
        lp_rlp_expect_end(&top, "the transaction", err) != 0 ||
        lp_rlp_enter(&top, &list, &fields, err) != 0)
        return -1;

    if (tx_uint64_field(&fields, "chainId", &tx->chain_id, err) != 0 ||
        tx_uint64_field(&fields, "nonce", &tx->nonce, err) != 0 ||
        tx_uint64_field(&fields, "maxPriorityFeePerGas", &tx->max_priority_fee_per_gas, err) != 0 ||
        tx_uint64_field(&fields, "maxFeePerGas", &tx->max_fee_per_gas, err) != 0 ||
        tx_uint64_field(&fields, "gasLimit", &tx->gas_limit, err) != 0)
        return -1;
    if (lp_rlp_expect(&fields, false, "to", &it, err) != 0)
        return -1;
    if (it.len != 0 && it.len != 20)
        return lp_eth_err_set(err, it.offset,
                              "tx: offset %zu: `to` is %zu bytes, expected 20 (or empty for a "
                              "contract creation)",
                              it.offset, it.len);
    tx->has_to = it.len == 20;
    if (tx->has_to)
        memcpy(tx->to, it.payload, 20);
    if (lp_rlp_expect(&fields, false, "value", &it, err) != 0 ||
        lp_rlp_item_uint_be(&it, "value", tx->value, sizeof tx->value, err) != 0)
        return -1;
    if (lp_rlp_expect(&fields, false, "data", &it, err) != 0)
        return -1;
    tx->data = it.payload;
    tx->data_len = it.len;
    if (lp_rlp_expect(&fields, true, "accessList", &it, err) != 0 ||
        tx_check_access_list(&fields, &it, err) != 0)
        return -1;
    tx->access_list_rlp = it.raw;
    tx->access_list_rlp_len = it.raw_len;

    int r = lp_rlp_next(&fields, &it, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return 0; /* unsigned form */
    uint64_t parity;
    if (lp_rlp_item_uint64(&it, "yParity", &parity, err) != 0)
        return -1;
    if (parity > 1)
        return lp_eth_err_set(err, it.offset, "tx: offset %zu: yParity %llu, expected 0 or 1",
                              it.offset, (unsigned long long)parity);
    tx->y_parity = (uint8_t)parity;
    if (lp_rlp_expect(&fields, false, "r", &it, err) != 0 ||
        lp_rlp_item_uint_be(&it, "r", tx->r, sizeof tx->r, err) != 0 ||
        lp_rlp_expect(&fields, false, "s", &it, err) != 0 ||
        lp_rlp_item_uint_be(&it, "s", tx->s, sizeof tx->s, err) != 0 ||
        lp_rlp_expect_end(&fields, "the 12 transaction fields", err) != 0)
        return -1;
    tx->is_signed = true;
    return 0;
}
