/* Signed HTTP requests: canonical string, signing, strict header parsing and the thread-safe
 * verifier with its replay cache (scheme in sigreq.h). */
#include "wire/sigreq.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/keccak.h"
#include "crypto/random.h"
#include "util/hex.h"
#include "wire/replay_cache.h"

#define LP_SIGREQ_PREFIX "LILYPAD-REQ-V2\n"

static int lp_sigreq_fail(struct lp_wire_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lp_sigreq_fail(struct lp_wire_error *err, int status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return status;
}

struct lp_sigreq_header_refs lp_sigreq_refs(const struct lp_sigreq_headers *h)
{
    return (struct lp_sigreq_header_refs){.version = h->version,
                                          .address = h->address,
                                          .timestamp = h->timestamp,
                                          .nonce = h->nonce,
                                          .body_keccak = h->body_keccak,
                                          .signature = h->signature};
}

static int lp_sigreq_check_line(const char *method, const char *target, struct lp_wire_error *err)
{
    size_t m = method ? strlen(method) : 0;
    if (m == 0 || m > LP_SIGREQ_MAX_METHOD)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED, "request method: must be 1..%u letters",
                              LP_SIGREQ_MAX_METHOD);
    for (size_t i = 0; i < m; i++)
        if (method[i] < 'A' || method[i] > 'Z')
            return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                                  "request method: only upper-case letters A-Z allowed");
    size_t t = target ? strlen(target) : 0;
    if (t == 0 || target[0] != '/' || t > LP_SIGREQ_MAX_TARGET)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              "request target: must start with '/' and be at most %u bytes",
                              LP_SIGREQ_MAX_TARGET);
    for (size_t i = 0; i < t; i++)
        if ((unsigned char)target[i] < 0x21 || (unsigned char)target[i] > 0x7e)
            return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                                  "request target: byte %zu is not printable ASCII", i);
    return LP_SIGREQ_OK;
}

/* A Host value: 1..255 printable ASCII bytes that cannot start a path, query or user info. */
static int lp_sigreq_check_host(const char *host, struct lp_wire_error *err)
{
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > LP_SIGREQ_MAX_HOST)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              "Host: missing, or longer than %u bytes (the authority of the "
                              "solver's URL, e.g. 127.0.0.1:8080)",
                              LP_SIGREQ_MAX_HOST);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c < 0x21 || c > 0x7e || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\')
            return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                                  "Host: byte %zu is not allowed in an authority", i);
    }
    return LP_SIGREQ_OK;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int lp_sigreq_url_host(const char *url, char *out, size_t cap, struct lp_wire_error *err)
{
    const char *p = url;
    if (p && strncasecmp(p, "http://", 7) == 0)
        p += 7;
    else if (p && strncasecmp(p, "https://", 8) == 0)
        p += 8;
    else
        return lp_sigreq_fail(err, -1, "\"%s\" is not an http:// or https:// URL", url ? url : "");
    size_t n = strcspn(p, "/?#");
    const char *host_end = p + n;
    /* The port, when there is one, follows the last ':' outside an IPv6 literal. */
    const char *colon = NULL;
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close || close == p + 1)
            return lp_sigreq_fail(err, -1, "\"%s\": unterminated IPv6 literal", url);
        if (close + 1 < host_end) {
            if (close[1] != ':')
                return lp_sigreq_fail(err, -1, "\"%s\": expected ':' after ']'", url);
            colon = close + 1;
        }
    } else {
        colon = memchr(p, ':', n);
        if (colon && memchr(colon + 1, ':', (size_t)(host_end - colon - 1)))
            return lp_sigreq_fail(err, -1, "\"%s\": more than one ':' in the host", url);
    }
    const char *name_end = colon ? colon : host_end;
    if (name_end == p)
        return lp_sigreq_fail(err, -1, "\"%s\": no host name", url);
    for (const char *c = p; c < name_end; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' ||
                  (p[0] == '[' && (*c == ':' || *c == '[' || *c == ']'));
        if (!ok)
            return lp_sigreq_fail(err, -1, "\"%s\": '%c' is not allowed in a host name", url, *c);
    }
    if (colon) {
        const char *d = colon + 1;
        unsigned long port = 0;
        if (d == host_end || host_end - d > 5)
            return lp_sigreq_fail(err, -1, "\"%s\": the port must be 1..65535", url);
        for (; d < host_end; d++) {
            if (*d < '0' || *d > '9')
                return lp_sigreq_fail(err, -1, "\"%s\": the port must be 1..65535", url);
            port = port * 10 + (unsigned long)(*d - '0');
        }
        if (port == 0 || port > 65535)
            return lp_sigreq_fail(err, -1, "\"%s\": the port must be 1..65535", url);
    }
    if (n + 1 > cap || n > LP_SIGREQ_MAX_HOST)
        return lp_sigreq_fail(err, -1, "\"%s\": host too long", url);
    for (size_t i = 0; i < n; i++)
        out[i] = lower(p[i]);
    out[n] = '\0';
    return 0;
}

int lp_sigreq_digest(const char *method, const char *host, const char *path_and_query,
                     const uint8_t body_keccak[32], uint64_t timestamp_ms, const uint8_t nonce[16],
                     uint8_t digest[32], struct lp_wire_error *err)
{
    if (lp_sigreq_check_line(method, path_and_query, err) != LP_SIGREQ_OK ||
        lp_sigreq_check_host(host, err) != LP_SIGREQ_OK)
        return -1;
    char host_lc[LP_SIGREQ_MAX_HOST + 1];
    size_t hl = strlen(host);
    for (size_t i = 0; i < hl; i++)
        host_lc[i] = lower(host[i]);
    host_lc[hl] = '\0';
    char body_hex[65], nonce_hex[33], ts[24];
    lp_hex_encode(body_keccak, 32, body_hex);
    lp_hex_encode(nonce, 16, nonce_hex);
    snprintf(ts, sizeof(ts), "%" PRIu64, timestamp_ms);
    /* Hash the canonical string in pieces: no allocation, no length limit to get wrong. */
    struct lp_keccak k;
    lp_keccak256_init(&k);
    lp_keccak256_update(&k, LP_SIGREQ_PREFIX, strlen(LP_SIGREQ_PREFIX));
    const char *parts[] = {method, host_lc, path_and_query, body_hex, ts, nonce_hex};
    for (size_t i = 0; i < 6; i++) {
        if (i > 0)
            lp_keccak256_update(&k, "\n", 1);
        lp_keccak256_update(&k, parts[i], strlen(parts[i]));
    }
    lp_keccak256_final(&k, digest);
    return 0;
}

int lp_sigreq_sign(const struct lp_key *key, const char *method, const char *host,
                   const char *path_and_query, const void *body, size_t body_len, uint64_t now_ms,
                   const uint8_t *nonce, struct lp_sigreq_headers *out, struct lp_wire_error *err)
{
    uint8_t n[16], digest[32], sig[65], body_hash[32];
    if (nonce != NULL)
        memcpy(n, nonce, 16);
    else if (lp_random_bytes(n, sizeof(n)) != 0)
        return lp_sigreq_fail(err, -1, "X-Lilypad-Nonce: no randomness available");
    if (now_ms == 0 || now_ms > 999999999999999ull)
        return lp_sigreq_fail(err, -1, "X-Lilypad-Timestamp: clock value out of range");
    lp_keccak256(body_len ? body : "", body_len, body_hash);
    if (lp_sigreq_digest(method, host, path_and_query, body_hash, now_ms, n, digest, err) != 0)
        return -1;
    if (lp_personal_sign(key, digest, sizeof(digest), sig) != 0)
        return lp_sigreq_fail(err, -1, "X-Lilypad-Signature: signing failed");
    snprintf(out->version, sizeof(out->version), "%d", LP_SIGREQ_VERSION);
    lp_address_to_checksum(key->address, out->address);
    snprintf(out->timestamp, sizeof(out->timestamp), "%" PRIu64, now_ms);
    lp_hex_encode(n, 16, out->nonce);
    lp_hex_encode(body_hash, 32, out->body_keccak);
    lp_hex_encode_0x(sig, 65, out->signature);
    return 0;
}

/* Exactly `digits` lowercase hex digits into out. */
static bool lower_hex(const char *s, size_t digits, uint8_t *out)
{
    if (strlen(s) != digits)
        return false;
    for (size_t i = 0; i < digits; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return lp_hex_decode(s, digits, out, digits / 2) == 0;
}

int lp_sigreq_parse(const struct lp_sigreq_header_refs *h, struct lp_sigreq_parsed *out,
                    struct lp_wire_error *err)
{
    memset(out, 0, sizeof(*out));
    if (h->version == NULL && h->address != NULL && h->signature != NULL)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_VERSION ": header missing: the request is signed "
                                                    "as version 1, which is no longer accepted; "
                                                    "update the client (version %d signs the "
                                                    "Host)",
                              LP_SIGREQ_VERSION);
    const char *missing = !h->version       ? LP_SIGREQ_HDR_VERSION
                          : !h->address     ? LP_SIGREQ_HDR_ADDRESS
                          : !h->timestamp   ? LP_SIGREQ_HDR_TIMESTAMP
                          : !h->nonce       ? LP_SIGREQ_HDR_NONCE
                          : !h->body_keccak ? LP_SIGREQ_HDR_BODY_KECCAK
                          : !h->signature   ? LP_SIGREQ_HDR_SIGNATURE
                                            : NULL;
    if (missing != NULL)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED, "%s: header missing", missing);
    if (strcmp(h->version, "2") != 0)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_VERSION ": \"%.16s\" is not supported (this side "
                                                    "takes version %d)",
                              h->version, LP_SIGREQ_VERSION);

    if (strlen(h->address) != 42 || lp_address_parse(h->address, out->address) != 0)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_ADDRESS ": expected 0x + 40 hex digits (EIP-55 case)");

    size_t tl = strlen(h->timestamp);
    if (tl == 0 || tl > 15 || h->timestamp[0] == '0')
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_TIMESTAMP ": expected 1..15 decimal digits, no "
                                                      "leading zero");
    uint64_t ts = 0;
    for (size_t i = 0; i < tl; i++) {
        char c = h->timestamp[i];
        if (c < '0' || c > '9')
            return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                                  LP_SIGREQ_HDR_TIMESTAMP ": non-digit character");
        ts = ts * 10 + (uint64_t)(c - '0');
    }
    out->timestamp_ms = ts;

    if (!lower_hex(h->nonce, 32, out->nonce))
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_NONCE ": expected 32 lowercase hex digits");
    if (!lower_hex(h->body_keccak, 64, out->body_keccak))
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_BODY_KECCAK ": expected 64 lowercase hex digits");

    const char *s = h->signature;
    if (strlen(s) != 132 || s[0] != '0' || s[1] != 'x' ||
        lp_hex_decode(s + 2, 130, out->signature, 65) != 0)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_SIGNATURE ": expected 0x + 130 hex digits");
    if (out->signature[64] != 27 && out->signature[64] != 28)
        return lp_sigreq_fail(err, LP_SIGREQ_MALFORMED,
                              LP_SIGREQ_HDR_SIGNATURE ": v byte must be 27 or 28");
    return LP_SIGREQ_OK;
}

struct lp_sigreq_verifier {
    pthread_mutex_t lock;
    struct lp_replay_cache cache;
};

struct lp_sigreq_verifier *lp_sigreq_verifier_new(size_t max_entries)
{
    struct lp_sigreq_verifier *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return NULL;
    if (lp_replay_cache_init(&v->cache, max_entries, LP_SIGREQ_SKEW_MS) != 0) {
        free(v);
        return NULL;
    }
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

void lp_sigreq_verifier_free(struct lp_sigreq_verifier *v)
{
    if (v == NULL)
        return;
    pthread_mutex_destroy(&v->lock);
    lp_replay_cache_destroy(&v->cache);
    free(v);
}

int lp_sigreq_verify_headers(struct lp_sigreq_verifier *v, const struct lp_sigreq_header_refs *h,
                             const char *method, const char *host, const char *path_and_query,
                             uint64_t now_ms, struct lp_sigreq_parsed *out,
                             struct lp_wire_error *err)
{
    struct lp_sigreq_parsed p;
    int rc = lp_sigreq_parse(h, &p, err);
    if (rc != LP_SIGREQ_OK)
        return rc;
    rc = lp_sigreq_check_line(method, path_and_query, err);
    if (rc == LP_SIGREQ_OK)
        rc = lp_sigreq_check_host(host, err);
    if (rc != LP_SIGREQ_OK)
        return rc;
    uint64_t skew = LP_SIGREQ_SKEW_MS;
    if (p.timestamp_ms + skew < now_ms)
        return lp_sigreq_fail(err, LP_SIGREQ_STALE,
                              LP_SIGREQ_HDR_TIMESTAMP ": %" PRIu64 " ms old, over the %u ms window",
                              now_ms - p.timestamp_ms, LP_SIGREQ_SKEW_MS);
    if (p.timestamp_ms > now_ms + skew)
        return lp_sigreq_fail(err, LP_SIGREQ_STALE,
                              LP_SIGREQ_HDR_TIMESTAMP ": %" PRIu64
                                                      " ms in the future, over the %u ms window",
                              p.timestamp_ms - now_ms, LP_SIGREQ_SKEW_MS);
    uint8_t digest[32], recovered[20];
    if (lp_sigreq_digest(method, host, path_and_query, p.body_keccak, p.timestamp_ms, p.nonce,
                         digest, err) != 0)
        return LP_SIGREQ_MALFORMED;
    if (lp_personal_recover(digest, sizeof(digest), p.signature, recovered) != 0)
        return lp_sigreq_fail(err, LP_SIGREQ_BAD_SIGNATURE,
                              LP_SIGREQ_HDR_SIGNATURE ": not a valid signature");
    if (memcmp(recovered, p.address, 20) != 0)
        return lp_sigreq_fail(err, LP_SIGREQ_BAD_SIGNATURE,
                              LP_SIGREQ_HDR_SIGNATURE ": does not match " LP_SIGREQ_HDR_ADDRESS
                                                      " for this method, host, target, body "
                                                      "hash, timestamp and nonce");
    /* Only authenticated requests reach the cache, so junk cannot fill it. */
    uint8_t key[LP_REPLAY_KEY_LEN];
    memcpy(key, p.address, 20);
    memcpy(key + 20, p.nonce, 16);
    pthread_mutex_lock(&v->lock);
    int seen = lp_replay_cache_insert(&v->cache, key, p.timestamp_ms + skew, now_ms);
    pthread_mutex_unlock(&v->lock);
    switch (seen) {
    case LP_REPLAY_NEW:
        break;
    case LP_REPLAY_SEEN:
        return lp_sigreq_fail(err, LP_SIGREQ_REPLAY,
                              LP_SIGREQ_HDR_NONCE ": already used by this address (replay)");
    case LP_REPLAY_FULL:
        return lp_sigreq_fail(err, LP_SIGREQ_BUSY,
                              LP_SIGREQ_HDR_NONCE ": replay cache full, retry later");
    default:
        return lp_sigreq_fail(err, LP_SIGREQ_BUSY, LP_SIGREQ_HDR_NONCE ": out of memory");
    }
    if (out != NULL)
        *out = p;
    return LP_SIGREQ_OK;
}

int lp_sigreq_verify(struct lp_sigreq_verifier *v, const struct lp_sigreq_header_refs *h,
                     const char *method, const char *host, const char *path_and_query,
                     const void *body, size_t body_len, uint64_t now_ms, uint8_t address[20],
                     struct lp_wire_error *err)
{
    /* The body is checked before the nonce is spent: a request whose body was swapped in
     * transit leaves its nonce usable by the genuine one. */
    struct lp_sigreq_parsed p;
    int rc = lp_sigreq_parse(h, &p, err);
    if (rc != LP_SIGREQ_OK)
        return rc;
    uint8_t body_hash[32];
    lp_keccak256(body_len ? body : "", body_len, body_hash);
    if (memcmp(body_hash, p.body_keccak, 32) != 0)
        return lp_sigreq_fail(err, LP_SIGREQ_BODY_MISMATCH,
                              LP_SIGREQ_HDR_BODY_KECCAK ": the body sent is not the one signed");
    rc = lp_sigreq_verify_headers(v, h, method, host, path_and_query, now_ms, &p, err);
    if (rc == LP_SIGREQ_OK && address != NULL)
        memcpy(address, p.address, 20);
    return rc;
}

size_t lp_sigreq_verifier_entries(struct lp_sigreq_verifier *v)
{
    pthread_mutex_lock(&v->lock);
    size_t n = v->cache.used;
    pthread_mutex_unlock(&v->lock);
    return n;
}

size_t lp_sigreq_verifier_capacity(struct lp_sigreq_verifier *v)
{
    pthread_mutex_lock(&v->lock);
    size_t n = v->cache.capacity;
    pthread_mutex_unlock(&v->lock);
    return n;
}

void lp_sigreq_verifier_sweep(struct lp_sigreq_verifier *v, uint64_t now_ms)
{
    pthread_mutex_lock(&v->lock);
    lp_replay_cache_sweep(&v->cache, now_ms);
    pthread_mutex_unlock(&v->lock);
}
