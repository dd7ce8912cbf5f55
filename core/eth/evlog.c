#include "eth/evlog.h"

#include <string.h>

#include "crypto/keccak.h"

int lp_evlog_topic0(const char *signature, uint8_t topic0[32], struct lp_eth_err *err)
{
    struct lp_abi_sig sig;
    if (lp_abi_parse_signature(signature, &sig, err) != 0)
        return -1;
    lp_keccak256(sig.canonical, strlen(sig.canonical), topic0);
    return 0;
}

static size_t evlog_indexed_count(const struct lp_abi_sig *ev)
{
    size_t k = 0;
    for (size_t i = 0; i < ev->n; i++)
        k += ev->indexed[i];
    return k;
}

int lp_evlog_encode(const struct lp_abi_sig *ev, const struct lp_abi_value *vals,
                    struct lp_evlog *log, struct lp_eth_buf *data, struct lp_eth_err *err)
{
    if (evlog_indexed_count(ev) > LP_EVLOG_MAX_TOPICS - 1)
        return lp_eth_err_set(err, 0, "evlog: %s has more than 3 indexed arguments", ev->canonical);
    memset(log, 0, sizeof *log);
    lp_keccak256(ev->canonical, strlen(ev->canonical), log->topics[0]);
    log->n_topics = 1;
    struct lp_abi_type types[LP_ABI_MAX_ARGS];
    struct lp_abi_value rest[LP_ABI_MAX_ARGS];
    size_t n_rest = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const struct lp_abi_type *t = &ev->types[i];
        if (!ev->indexed[i]) {
            types[n_rest] = *t;
            rest[n_rest++] = vals[i];
            continue;
        }
        uint8_t *topic = log->topics[log->n_topics++];
        if (!lp_abi_type_is_dynamic(t)) {
            struct lp_eth_err why;
            if (lp_abi_check_word(t, vals[i].word, 0, &why) != 0)
                return lp_eth_err_set(err, 0, "evlog: argument %zu: %s", i, why.msg);
            memcpy(topic, vals[i].word, 32);
        } else if (vals[i].hashed) {
            memcpy(topic, vals[i].word, 32);
        } else {
            /* in-place encoding: bytes/string unpadded, arrays as their element words */
            size_t n = t->is_array ? 32 * vals[i].len : vals[i].len;
            lp_keccak256(vals[i].ptr, n, topic);
        }
    }
    return lp_abi_encode(types, rest, n_rest, data, err);
}

int lp_evlog_decode(const struct lp_abi_sig *ev, const struct lp_evlog *log,
                    struct lp_abi_value *vals, struct lp_eth_err *err)
{
    size_t want = 1 + evlog_indexed_count(ev);
    if (log->n_topics != want || want > LP_EVLOG_MAX_TOPICS)
        return lp_eth_err_set(err, 0, "evlog: %s: %zu topics, expected %zu", ev->canonical,
                              log->n_topics, want);
    uint8_t topic0[32];
    lp_keccak256(ev->canonical, strlen(ev->canonical), topic0);
    if (memcmp(topic0, log->topics[0], 32) != 0)
        return lp_eth_err_set(err, 0, "evlog: topic0 is not keccak256(\"%s\"): another event",
                              ev->canonical);
    struct lp_abi_type types[LP_ABI_MAX_ARGS];
    struct lp_abi_value rest[LP_ABI_MAX_ARGS];
    size_t n_rest = 0, topic = 1;
    for (size_t i = 0; i < ev->n; i++) {
        if (!ev->indexed[i]) {
            types[n_rest++] = ev->types[i];
            continue;
        }
        const struct lp_abi_type *t = &ev->types[i];
        memset(&vals[i], 0, sizeof vals[i]);
        memcpy(vals[i].word, log->topics[topic], 32);
        if (lp_abi_type_is_dynamic(t)) {
            vals[i].hashed = true;
        } else {
            struct lp_eth_err why;
            if (lp_abi_check_word(t, vals[i].word, 0, &why) != 0)
                return lp_eth_err_set(err, 0, "evlog: topic %zu: %s", topic, why.msg);
        }
        topic++;
    }
    if (lp_abi_decode(log->data, log->data_len, types, n_rest, rest, err) != 0)
        return -1;
    for (size_t i = 0, k = 0; i < ev->n; i++)
        if (!ev->indexed[i])
            vals[i] = rest[k++];
    return 0;
}
