/* secp256k1 keys and Ethereum signatures on top of libsecp256k1 (with its recovery module). */
#include "crypto/key.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "crypto/keccak.h"
#include "crypto/random.h"
#include "util/hex.h"
#include "util/log.h"

static secp256k1_context *secp_ctx;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;

static void secp_ctx_create(void)
{
    uint8_t seed[32];
    secp_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (secp_ctx == NULL)
        return;
    /* Blinding against timing/power side channels; the context works without it, so a
     * failure here is worth a warning, not a refusal to sign. */
    if (lp_random_bytes(seed, sizeof seed) != 0 || !secp256k1_context_randomize(secp_ctx, seed))
        lp_warn("crypto: could not randomise the secp256k1 context (signing still works)");
    explicit_bzero(seed, sizeof seed);
}

/* The context is only read after creation, which libsecp256k1 allows from any thread. */
static const secp256k1_context *secp(void)
{
    pthread_once(&secp_once, secp_ctx_create);
    if (secp_ctx == NULL)
        lp_error("crypto: secp256k1_context_create failed (out of memory?)");
    return secp_ctx;
}

void lp_address_from_pubkey(const uint8_t pubkey[64], uint8_t address[20])
{
    uint8_t hash[32];
    lp_keccak256(pubkey, 64, hash);
    memcpy(address, hash + 12, 20);
}

int lp_key_from_secret(struct lp_key *out, const uint8_t secret[32])
{
    const secp256k1_context *ctx = secp();
    secp256k1_pubkey pub;
    uint8_t serialized[65];
    size_t serialized_len = sizeof serialized;

    if (ctx == NULL || !secp256k1_ec_seckey_verify(ctx, secret))
        return -1;
    if (!secp256k1_ec_pubkey_create(ctx, &pub, secret))
        return -1;
    secp256k1_ec_pubkey_serialize(ctx, serialized, &serialized_len, &pub,
                                  SECP256K1_EC_UNCOMPRESSED);
    memmove(out->secret, secret, 32); /* memmove: the caller may pass out->secret itself */
    memcpy(out->pubkey, serialized + 1, 64);
    lp_address_from_pubkey(out->pubkey, out->address);
    return 0;
}

int lp_key_generate(struct lp_key *out)
{
    uint8_t secret[32];
    /* A random 32-byte string is out of range with probability ~2^-128; loop anyway. */
    for (int attempt = 0; attempt < 8; attempt++) {
        if (lp_random_bytes(secret, sizeof secret) != 0)
            break;
        if (lp_key_from_secret(out, secret) == 0) {
            explicit_bzero(secret, sizeof secret);
            return 0;
        }
    }
    explicit_bzero(secret, sizeof secret);
    return -1;
}

void lp_key_wipe(struct lp_key *key)
{
    explicit_bzero(key, sizeof *key);
}

void lp_address_to_checksum(const uint8_t addr[20], char out[43])
{
    char lower[41];
    uint8_t hash[32];
    lp_hex_encode(addr, 20, lower);
    lp_keccak256(lower, 40, hash);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        int nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 0x0f;
        char c = lower[i];
        out[2 + i] = (c >= 'a' && c <= 'f' && nibble >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = '\0';
}

int lp_address_parse(const char *text, uint8_t out[20])
{
    bool has_lower = false, has_upper = false;
    uint8_t addr[20];
    char expected[43];

    if (text == NULL || text[0] != '0' || text[1] != 'x' || strlen(text) != 42)
        return -1;
    for (int i = 2; i < 42; i++) {
        char c = text[i];
        if (c >= 'a' && c <= 'f')
            has_lower = true;
        else if (c >= 'A' && c <= 'F')
            has_upper = true;
        else if (!(c >= '0' && c <= '9'))
            return -1;
    }
    if (lp_hex_decode(text + 2, 40, addr, 20) != 0)
        return -1;
    /* Mixed case claims an EIP-55 checksum, so it must be the right one. */
    if (has_lower && has_upper) {
        lp_address_to_checksum(addr, expected);
        if (strcmp(expected, text) != 0)
            return -1;
    }
    memcpy(out, addr, 20);
    return 0;
}

int lp_sign_digest(const struct lp_key *key, const uint8_t digest[32], uint8_t sig[65])
{
    const secp256k1_context *ctx = secp();
    secp256k1_ecdsa_recoverable_signature rsig;
    int recid = 0;

    /* RFC 6979 deterministic nonces; libsecp256k1 always produces low-S signatures. */
    if (ctx == NULL ||
        !secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest, key->secret, NULL, NULL))
        return -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rsig);
    sig[64] = (uint8_t)recid;
    return 0;
}

int lp_recover_digest(const uint8_t digest[32], const uint8_t sig[65], uint8_t address[20])
{
    const secp256k1_context *ctx = secp();
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_signature plain;
    secp256k1_pubkey pub;
    uint8_t serialized[65];
    size_t serialized_len = sizeof serialized;
    int recid = sig[64];

    if (ctx == NULL)
        return -1;
    if (recid >= 27)
        recid -= 27;
    /* Ids 2/3 (r >= n) never occur with real keys and Ethereum does not use them. */
    if (recid != 0 && recid != 1)
        return -1;
    /* Reject malleable high-S signatures like Ethereum does (EIP-2): normalize() reports
     * whether s was in the upper half. parse_compact rejects r or s >= n. */
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &plain, sig))
        return -1;
    if (secp256k1_ecdsa_signature_normalize(ctx, NULL, &plain))
        return -1;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, recid))
        return -1;
    if (!secp256k1_ecdsa_recover(ctx, &pub, &rsig, digest))
        return -1;
    secp256k1_ec_pubkey_serialize(ctx, serialized, &serialized_len, &pub,
                                  SECP256K1_EC_UNCOMPRESSED);
    lp_address_from_pubkey(serialized + 1, address);
    return 0;
}

void lp_eip191_hash(const void *msg, size_t len, uint8_t digest[32])
{
    static const char prefix[] = "\x19"
                                 "Ethereum Signed Message:\n";
    char decimal[24];
    int n = snprintf(decimal, sizeof decimal, "%zu", len);
    struct lp_keccak kc;
    lp_keccak256_init(&kc);
    lp_keccak256_update(&kc, prefix, sizeof prefix - 1);
    lp_keccak256_update(&kc, decimal, (size_t)n);
    lp_keccak256_update(&kc, msg, len);
    lp_keccak256_final(&kc, digest);
}

int lp_personal_sign(const struct lp_key *key, const void *msg, size_t len, uint8_t sig[65])
{
    uint8_t digest[32];
    lp_eip191_hash(msg, len, digest);
    if (lp_sign_digest(key, digest, sig) != 0)
        return -1;
    sig[64] += 27;
    return 0;
}

int lp_personal_recover(const void *msg, size_t len, const uint8_t sig[65], uint8_t address[20])
{
    uint8_t digest[32];
    lp_eip191_hash(msg, len, digest);
    return lp_recover_digest(digest, sig, address);
}
