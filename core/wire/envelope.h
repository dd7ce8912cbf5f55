/* Signed envelope: how every protocol object travels.
 *
 * Envelope, version 1: msgpack array of 5 fields
 *   0 version    uint = 1
 *   1 kind       uint, enum lp_wire_kind (unknown kinds are refused)
 *   2 payload    bin, 1 .. LP_ENVELOPE_MAX_PAYLOAD bytes: the object's canonical encoding
 *   3 signer     bin 20: the address that signed
 *   4 signature  bin 65: r || s || v (v = 27 or 28, s low) of EIP-191 personal_sign over the
 *                32 raw bytes of the object ID, keccak256(payload). Any Ethereum wallet or
 *                ethers.verifyMessage(getBytes(id), sig) recovers the signer from it.
 *
 * lp_envelope_open recomputes the ID from the payload and accepts the envelope only if the
 * signature recovers exactly `signer`; lp_wire_open (object.h) additionally decodes the payload
 * strictly and requires the signer to be the object's author field. */
#ifndef LP_WIRE_ENVELOPE_H
#define LP_WIRE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "wire/wire.h"

#define LP_ENVELOPE_VERSION     1
#define LP_ENVELOPE_MAX_PAYLOAD (LP_WIRE_MAX_SIZE - 128u)
#define LP_WIRE_SIG_LEN         65

struct lp_envelope {
    uint32_t kind;
    const uint8_t *payload; /* points into the buffer that was parsed */
    size_t payload_len;
    uint8_t signer[LP_WIRE_ADDR_LEN];
    uint8_t signature[LP_WIRE_SIG_LEN];
    uint8_t id[LP_WIRE_ID_LEN]; /* keccak256(payload), filled by parse/open */
};

/* Signs keccak256(payload) with key and writes the envelope (malloc'd) to *out; id may be NULL. */
int lp_envelope_seal(const struct lp_key *key, uint32_t kind, const uint8_t *payload, size_t len,
                     uint8_t **out, size_t *out_len, uint8_t id[LP_WIRE_ID_LEN],
                     struct lp_wire_error *err);
/* Strict decode only (no signature check). */
int lp_envelope_parse(const uint8_t *data, size_t len, struct lp_envelope *env,
                      struct lp_wire_error *err);
/* Strict decode + signature verification. */
int lp_envelope_open(const uint8_t *data, size_t len, struct lp_envelope *env,
                     struct lp_wire_error *err);
/* Writes an envelope from its parts without signing (tests and tools re-wrapping). */
int lp_envelope_encode(const struct lp_envelope *env, uint8_t **out, size_t *out_len,
                       struct lp_wire_error *err);

#endif
