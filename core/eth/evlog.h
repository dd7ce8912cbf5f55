/* Event logs (Solidity ABI spec, "Events"): topic0 = keccak256(canonical signature); each
 * indexed argument is one more topic (static types as their word, dynamic types as the
 * keccak256 of their in-place encoding); the other arguments are ABI-encoded as the data.
 * Anonymous events are not supported (our contracts have none). */
#ifndef LP_ETH_EVLOG_H
#define LP_ETH_EVLOG_H

#include <stddef.h>
#include <stdint.h>

#include "eth/abi.h"
#include "eth/buf.h"
#include "eth/err.h"

#define LP_EVLOG_MAX_TOPICS 4

/* A log as eth_getLogs / receipts deliver it (after hex decoding). */
struct lp_evlog {
    uint8_t topics[LP_EVLOG_MAX_TOPICS][32];
    size_t n_topics;
    const uint8_t *data; /* not owned */
    size_t data_len;
};

/* keccak256 of the canonical form of `signature` (names and `indexed` allowed). */
int lp_evlog_topic0(const char *signature, uint8_t topic0[32], struct lp_eth_err *err);

/* Builds a log for event `ev` (parsed with lp_abi_parse_signature) from vals[ev->n].
 * The data is appended to `data`; log->data is left for the caller to point at it. */
int lp_evlog_encode(const struct lp_abi_sig *ev, const struct lp_abi_value *vals,
                    struct lp_evlog *log, struct lp_eth_buf *data, struct lp_eth_err *err);

/* Decodes a log of event `ev` into vals[ev->n], in declaration order. Checks the topic
 * count, topic0, every indexed word and the data (lp_abi_decode). Indexed dynamic values
 * come back with `hashed` set and the topic in `word`. Error offsets count into the data. */
int lp_evlog_decode(const struct lp_abi_sig *ev, const struct lp_evlog *log,
                    struct lp_abi_value *vals, struct lp_eth_err *err);

#endif
