/* Signed HTTP requests (fixing the static, replayable X-Lilypad-User/-Signature header pair of
 * Lilypad's Go implementation).
 *
 * Version 2 (the only one accepted). The client signs, with EIP-191 personal_sign over the 32
 * raw bytes of
 *     digest = keccak256(canonical)
 * the canonical request string (no trailing newline)
 *     "LILYPAD-REQ-V2\n" METHOD "\n" HOST "\n" PATH_AND_QUERY "\n" hex(keccak256(body)) "\n"
 *     TIMESTAMP_MS "\n" hex(NONCE)
 * where METHOD is the upper-case token (e.g. "POST"); HOST the authority of the server's URL as
 * the client addressed it ("127.0.0.1:8080", "solver.example.org"), lower-cased, sent as the
 * HTTP Host header; PATH_AND_QUERY the request target exactly as sent (starts with '/',
 * printable ASCII 0x21..0x7e, at most 4096 bytes); hex is lowercase without 0x; TIMESTAMP_MS
 * decimal unix milliseconds without leading zeros; NONCE 16 random bytes. An empty body hashes
 * as keccak256("").
 *
 * Version 1 ("LILYPAD-REQ-V1", without HOST and without the body-hash header) is refused: a
 * request signed for one solver could be replayed against another.
 *
 * Headers (exact names, values strictly formatted):
 *   X-Lilypad-Version      "2"
 *   X-Lilypad-Address      "0x" + 40 hex digits (EIP-55 mixed case, or all lower/upper case)
 *   X-Lilypad-Timestamp    decimal unix ms, 1..15 digits, no leading zero
 *   X-Lilypad-Nonce        32 lowercase hex digits
 *   X-Lilypad-Body-Keccak  64 lowercase hex digits: keccak256 of the body that follows
 *   X-Lilypad-Signature    "0x" + 130 hex digits: r || s || v, v = 27 or 28, low s
 *
 * Because the body's hash travels in a header, a server checks the signature, the clock, the
 * nonce and the signer from the headers alone (lp_sigreq_verify_headers), before it reads a
 * byte of the body; it then hashes the body as it streams in and refuses it when the hash is
 * not the signed one.
 *
 * The server refuses: malformed headers; |now - timestamp| > 30 s (LP_SIGREQ_SKEW_MS); a
 * signature that does not recover the claimed address; a replay: every accepted
 * (address, nonce) is remembered until its timestamp leaves the skew window; and a body whose
 * keccak256 is not X-Lilypad-Body-Keccak. Which HOST values a server answers to is its own
 * list (the solver: solver.hosts, or its listen address). */
#ifndef LP_WIRE_SIGREQ_H
#define LP_WIRE_SIGREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "wire/wire.h"

#define LP_SIGREQ_VERSION         2
#define LP_SIGREQ_HDR_VERSION     "X-Lilypad-Version"
#define LP_SIGREQ_HDR_ADDRESS     "X-Lilypad-Address"
#define LP_SIGREQ_HDR_TIMESTAMP   "X-Lilypad-Timestamp"
#define LP_SIGREQ_HDR_NONCE       "X-Lilypad-Nonce"
#define LP_SIGREQ_HDR_BODY_KECCAK "X-Lilypad-Body-Keccak"
#define LP_SIGREQ_HDR_SIGNATURE   "X-Lilypad-Signature"
#define LP_SIGREQ_SKEW_MS         30000u
#define LP_SIGREQ_MAX_TARGET      4096u
#define LP_SIGREQ_MAX_METHOD      16u
#define LP_SIGREQ_MAX_HOST        255u

/* Header values as NUL-terminated strings (sign fills them; verify reads them, NULL = absent). */
struct lp_sigreq_headers {
    char version[4];
    char address[43];
    char timestamp[20];
    char nonce[33];
    char body_keccak[65];
    char signature[133];
};

struct lp_sigreq_header_refs {
    const char *version;
    const char *address;
    const char *timestamp;
    const char *nonce;
    const char *body_keccak;
    const char *signature;
};

/* The refs of a filled header set (to verify what was just signed). */
struct lp_sigreq_header_refs lp_sigreq_refs(const struct lp_sigreq_headers *h);

/* Outcomes of verification, so a server can choose the HTTP status. */
enum lp_sigreq_status {
    LP_SIGREQ_OK = 0,
    LP_SIGREQ_MALFORMED = -1,     /* 400: missing/ill-formed header or request line */
    LP_SIGREQ_STALE = -2,         /* 401: timestamp outside now +- 30 s */
    LP_SIGREQ_BAD_SIGNATURE = -3, /* 401: signature does not recover the claimed address */
    LP_SIGREQ_REPLAY = -4,        /* 401: (address, nonce) already seen */
    LP_SIGREQ_BUSY = -5,          /* 503: replay cache full of unexpired entries */
    LP_SIGREQ_BODY_MISMATCH = -6, /* 401: the body is not the one whose hash was signed */
};

/* The authority of an http:// or https:// URL, lower-cased, as HOST is signed: "host[:port]"
 * exactly as written in the URL (no user info). -1 (err set) when url is not such a URL. */
int lp_sigreq_url_host(const char *url, char *out, size_t cap, struct lp_wire_error *err);

/* The 32-byte digest that is personal_sign'ed. -1 (err set) on an invalid method, host or
 * target. host is lower-cased here. */
int lp_sigreq_digest(const char *method, const char *host, const char *path_and_query,
                     const uint8_t body_keccak[32], uint64_t timestamp_ms, const uint8_t nonce[16],
                     uint8_t digest[32], struct lp_wire_error *err);

/* Signs a request for `host` at time now_ms. nonce NULL draws 16 random bytes. */
int lp_sigreq_sign(const struct lp_key *key, const char *method, const char *host,
                   const char *path_and_query, const void *body, size_t body_len, uint64_t now_ms,
                   const uint8_t *nonce, struct lp_sigreq_headers *out, struct lp_wire_error *err);

struct lp_sigreq_parsed {
    uint8_t address[20];
    uint64_t timestamp_ms;
    uint8_t nonce[16];
    uint8_t body_keccak[32];
    uint8_t signature[65];
};

/* Strict header parsing only (no clock, no signature). Returns LP_SIGREQ_OK or MALFORMED. */
int lp_sigreq_parse(const struct lp_sigreq_header_refs *h, struct lp_sigreq_parsed *out,
                    struct lp_wire_error *err);

/* Thread-safe verifier holding the nonce replay cache. max_entries bounds the number of
 * remembered nonces (and so memory: about 64 bytes each at most twice over). */
struct lp_sigreq_verifier;

struct lp_sigreq_verifier *lp_sigreq_verifier_new(size_t max_entries);
void lp_sigreq_verifier_free(struct lp_sigreq_verifier *v);

/* Verifies a request from its headers alone at time now_ms, before its body is read: format,
 * clock, signature over the signed body hash, and the nonce (remembered on success). On
 * LP_SIGREQ_OK, out holds the signer's address and the body hash the body must have. host is
 * the Host header as received. */
int lp_sigreq_verify_headers(struct lp_sigreq_verifier *v, const struct lp_sigreq_header_refs *h,
                             const char *method, const char *host, const char *path_and_query,
                             uint64_t now_ms, struct lp_sigreq_parsed *out,
                             struct lp_wire_error *err);

/* The whole request at once (the body in memory): the body's hash first, then the headers as
 * above. On LP_SIGREQ_OK the signer's address is in address (may be NULL). */
int lp_sigreq_verify(struct lp_sigreq_verifier *v, const struct lp_sigreq_header_refs *h,
                     const char *method, const char *host, const char *path_and_query,
                     const void *body, size_t body_len, uint64_t now_ms, uint8_t address[20],
                     struct lp_wire_error *err);

/* Introspection for tests and metrics: remembered nonces, and table slots allocated. */
size_t lp_sigreq_verifier_entries(struct lp_sigreq_verifier *v);
size_t lp_sigreq_verifier_capacity(struct lp_sigreq_verifier *v);
/* Drops every expired entry now and shrinks the table to fit (also happens on its own). */
void lp_sigreq_verifier_sweep(struct lp_sigreq_verifier *v, uint64_t now_ms);

#endif
