/* Decoder errors for the Ethereum primitives: where (byte offset into the caller's input)
 * and what. Decoders fill one of these instead of logging, so a plugin can add its own
 * context ("eth_getLogs reply: ...") and fuzzers stay quiet; pass NULL to ignore it. */
#ifndef LP_ETH_ERR_H
#define LP_ETH_ERR_H

#include <stddef.h>

#include <lilypad/plugin.h>

struct lp_eth_err {
    size_t offset; /* byte offset of the offending item in the decoded input */
    char msg[192]; /* "rlp: offset 3: ..." */
};

/* Fills err (if not NULL); always returns -1 so decoders can `return lp_eth_err_set(...)`. */
int lp_eth_err_set(struct lp_eth_err *err, size_t offset, const char *fmt, ...) LP_PRINTF(3, 4);

#endif
