/* EIP-1559 (type 2) transactions: build, sign, serialise, hash, and strictly decode.
 *
 *   sighash = keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas,
 *                                    gasLimit, to, value, data, accessList]))
 *   raw     = 0x02 || rlp([... the same 9 ..., yParity, r, s])   (eth_sendRawTransaction)
 *   txhash  = keccak256(raw)
 *
 * Fees and gas are uint64 (2^64 wei per gas is far above any real fee); value is a uint256. */
#ifndef LP_ETH_TX1559_H
#define LP_ETH_TX1559_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "eth/buf.h"
#include "eth/err.h"

#define LP_TX1559_TYPE 0x02

struct lp_tx1559 {
    uint64_t chain_id;
    uint64_t nonce;
    uint64_t max_priority_fee_per_gas; /* wei; 0 on Arbitrum (tips are ignored) */
    uint64_t max_fee_per_gas;          /* wei */
    uint64_t gas_limit;
    bool has_to; /* false: contract creation (`to` is the empty string) */
    uint8_t to[20];
    uint8_t value[32];   /* wei, big-endian uint256 */
    const uint8_t *data; /* calldata, not owned (decode: points into the raw input) */
    size_t data_len;
    /* The access list as one encoded RLP list, not owned; NULL means empty (0xc0). The
     * decoder checks its shape ([[address20, [key32, ...]], ...]) and points into the input. */
    const uint8_t *access_list_rlp;
    size_t access_list_rlp_len;
    /* Signature (set by lp_tx1559_sign or the decoder). */
    bool is_signed;
    uint8_t y_parity; /* 0 or 1 */
    uint8_t r[32];
    uint8_t s[32];
};

/* 0x02 || rlp(9 fields): the payload the signature covers. */
int lp_tx1559_encode_unsigned(const struct lp_tx1559 *tx, struct lp_eth_buf *out);
int lp_tx1559_signing_hash(const struct lp_tx1559 *tx, uint8_t hash[32]);
/* Signs with lp_sign_digest and stores y_parity, r, s. 0 ok, -1 error. */
int lp_tx1559_sign(struct lp_tx1559 *tx, const struct lp_key *key);
/* 0x02 || rlp(12 fields); the transaction must be signed. */
int lp_tx1559_encode_signed(const struct lp_tx1559 *tx, struct lp_eth_buf *out);
/* keccak256 of the signed encoding. */
int lp_tx1559_hash(const struct lp_tx1559 *tx, uint8_t hash[32]);
/* The signer's address, recovered from the signature. 0 ok, -1 error. */
int lp_tx1559_sender(const struct lp_tx1559 *tx, uint8_t address[20]);

/* Decodes a signed (12 fields) or unsigned (9 fields) type-2 encoding, strictly: canonical
 * RLP, canonical integers, `to` of 0 or 20 bytes, y_parity 0/1, r and s of at most 32
 * bytes, a well-formed access list, nothing after the list. tx->data and
 * tx->access_list_rlp point into `raw`. */
int lp_tx1559_decode(const uint8_t *raw, size_t len, struct lp_tx1559 *tx, struct lp_eth_err *err);

#endif
