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

/* Records the first error only (later ones are consequences); returns -1 for `return` chains. */
int lp_eth_err_set(struct lp_eth_err *err, size_t offset, const char *fmt, ...) LP_PRINTF(3, 4);

#endif
