/* ABI decoder, signature parser and event log decoder. The first byte picks what the rest
 * of the input is; whatever decodes must re-encode and decode to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "eth/evlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const SIGS[] = {
    "sam(bytes,bool,uint256[])",
    "f(uint256,uint32[],bytes10,bytes)",
    "g(int8,int256,int64,uint8,bytes3,address)",
    "ValidPOWSubmitted(address,string,uint256,uint256,uint256,bytes32,uint256)",
    "GenerateChallenge(bytes32,uint256)",
    "runJob(string,string,address,bool[],int16[])",
    "Transfer(address indexed from, address indexed to, uint256 value)",
    "DealStateChange(string indexed dealId, uint8 state)",
};
#define N_SIGS (sizeof SIGS / sizeof SIGS[0])

static void check_same(const struct lp_abi_sig *sig, const struct lp_abi_value *a,
                       const struct lp_abi_value *b)
{
    for (size_t i = 0; i < sig->n; i++) {
        size_t bytes = sig->types[i].is_array ? 32 * a[i].len : a[i].len;
        if (memcmp(a[i].word, b[i].word, 32) != 0 || a[i].len != b[i].len ||
            a[i].hashed != b[i].hashed || (bytes > 0 && memcmp(a[i].ptr, b[i].ptr, bytes) != 0))
            abort();
    }
}

static void fuzz_args(const struct lp_abi_sig *sig, const uint8_t *data, size_t size)
{
    struct lp_abi_value v[LP_ABI_MAX_ARGS], again[LP_ABI_MAX_ARGS];
    if (lp_abi_decode(data, size, sig->types, sig->n, v, NULL) != 0)
        return;
    struct lp_eth_buf out = LP_ETH_BUF_INIT;
    if (lp_abi_encode(sig->types, v, sig->n, &out, NULL) != 0 ||
        lp_abi_decode(out.data, out.len, sig->types, sig->n, again, NULL) != 0)
        abort();
    check_same(sig, v, again);
    lp_eth_buf_free(&out);
}

/* Input: n_topics (low 2 bits + 1), then the topics (topic0 is always the right one, so the
 * decoder gets past it), then data. */
static void fuzz_log(const struct lp_abi_sig *sig, const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    struct lp_evlog log = {0};
    log.n_topics = (size_t)(data[0] & 3) + 1;
    data++;
    size--;
    lp_evlog_topic0(sig->canonical, log.topics[0], NULL);
    for (size_t t = 1; t < log.n_topics; t++) {
        if (size < 32)
            return;
        memcpy(log.topics[t], data, 32);
        data += 32;
        size -= 32;
    }
    log.data = data;
    log.data_len = size;
    struct lp_abi_value v[LP_ABI_MAX_ARGS], again[LP_ABI_MAX_ARGS];
    if (lp_evlog_decode(sig, &log, v, NULL) != 0)
        return;
    struct lp_evlog log2;
    struct lp_eth_buf out = LP_ETH_BUF_INIT;
    if (lp_evlog_encode(sig, v, &log2, &out, NULL) != 0)
        abort();
    log2.data = out.data;
    log2.data_len = out.len;
    if (log2.n_topics != log.n_topics || memcmp(log2.topics, log.topics, 32 * log.n_topics) != 0 ||
        lp_evlog_decode(sig, &log2, again, NULL) != 0)
        abort();
    check_same(sig, v, again);
    lp_eth_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    if (mode == 0xff) { /* the signature parser on arbitrary text */
        char text[LP_ABI_MAX_SIGNATURE * 2];
        size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
        memcpy(text, data, n);
        text[n] = '\0';
        struct lp_abi_sig sig;
        if (lp_abi_parse_signature(text, &sig, NULL) == 0) {
            /* the canonical form must parse to itself */
            struct lp_abi_sig again;
            if (lp_abi_parse_signature(sig.canonical, &again, NULL) != 0 ||
                strcmp(again.canonical, sig.canonical) != 0 || again.n != sig.n)
                abort();
        }
        return 0;
    }
    struct lp_abi_sig sig;
    if (lp_abi_parse_signature(SIGS[(mode & 0x7f) % N_SIGS], &sig, NULL) != 0)
        abort();
    if (mode & 0x80)
        fuzz_log(&sig, data, size);
    else
        fuzz_args(&sig, data, size);
    return 0;
}
