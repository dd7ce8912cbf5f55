#include "cid/cid.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "cid/multibase.h"

void lp_cid_of_block(uint8_t version, uint16_t codec, const void *block, size_t len,
                     struct lp_cidb *out)
{
    out->version = version;
    out->codec = version == 0 ? LP_CID_CODEC_DAG_PB : codec;
    unsigned int mdlen = 0;
    /* One-shot EVP: OpenSSL picks the SHA-NI / AVX2 code path at run time. */
    EVP_Digest(block, len, out->digest, &mdlen, EVP_sha256(), NULL);
}

bool lp_cid_matches(const struct lp_cidb *cid, const void *block, size_t len)
{
    struct lp_cidb got;
    lp_cid_of_block(cid->version, cid->codec, block, len, &got);
    return memcmp(got.digest, cid->digest, LP_CID_DIGEST_LEN) == 0;
}

size_t lp_cid_bytes_len(const struct lp_cidb *cid)
{
    return cid->version == 0 ? 34 : 1 + lp_varint_len(cid->codec) + 2 + LP_CID_DIGEST_LEN;
}

size_t lp_cid_to_bytes(const struct lp_cidb *cid, uint8_t out[LP_CID_BYTES_MAX])
{
    size_t n = 0;
    if (cid->version != 0) {
        out[n++] = 1;
        n += lp_varint_put(out + n, cid->codec);
    }
    out[n++] = LP_MULTIHASH_SHA256;
    out[n++] = LP_CID_DIGEST_LEN;
    memcpy(out + n, cid->digest, LP_CID_DIGEST_LEN);
    return n + LP_CID_DIGEST_LEN;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

static int parse_multihash(const uint8_t *buf, size_t len, struct lp_cidb *out, char *err,
                           size_t errlen)
{
    uint64_t code, dlen;
    size_t a = lp_varint_get(buf, len, &code);
    if (!a)
        return fail(err, errlen, "truncated multihash");
    size_t b = lp_varint_get(buf + a, len - a, &dlen);
    if (!b)
        return fail(err, errlen, "truncated multihash length");
    if (code != LP_MULTIHASH_SHA256)
        return fail(err, errlen, "unsupported multihash (only sha2-256 is used)");
    if (dlen != LP_CID_DIGEST_LEN || len - a - b != LP_CID_DIGEST_LEN)
        return fail(err, errlen, "sha2-256 digest is not 32 bytes");
    memcpy(out->digest, buf + a + b, LP_CID_DIGEST_LEN);
    return 0;
}

int lp_cid_from_bytes(const uint8_t *buf, size_t len, struct lp_cidb *out, char *err, size_t errlen)
{
    /* v0 is a bare sha2-256 multihash, recognisable by its first two bytes. */
    if (len == 34 && buf[0] == LP_MULTIHASH_SHA256 && buf[1] == LP_CID_DIGEST_LEN) {
        out->version = 0;
        out->codec = LP_CID_CODEC_DAG_PB;
        memcpy(out->digest, buf + 2, LP_CID_DIGEST_LEN);
        return 0;
    }
    uint64_t version, codec;
    size_t a = lp_varint_get(buf, len, &version);
    if (!a)
        return fail(err, errlen, "empty or truncated CID");
    if (version != 1)
        return fail(err, errlen, "unsupported CID version (expected 0 or 1)");
    size_t b = lp_varint_get(buf + a, len - a, &codec);
    if (!b)
        return fail(err, errlen, "truncated CID codec");
    if (codec != LP_CID_CODEC_DAG_PB && codec != LP_CID_CODEC_RAW)
        return fail(err, errlen, "unsupported CID codec (only dag-pb and raw are used)");
    out->version = 1;
    out->codec = (uint16_t)codec;
    return parse_multihash(buf + a + b, len - a - b, out, err, errlen);
}

size_t lp_cid_format(const struct lp_cidb *cid, char out[LP_CID_STRING_MAX])
{
    uint8_t bytes[LP_CID_BYTES_MAX];
    size_t n = lp_cid_to_bytes(cid, bytes);
    if (cid->version == 0)
        return lp_base58_encode(bytes, n, out, LP_CID_STRING_MAX);
    out[0] = 'b';
    return 1 + lp_base32_encode(bytes, n, out + 1, LP_CID_STRING_MAX - 1);
}

int lp_cid_parse(const char *text, struct lp_cidb *out, char *err, size_t errlen)
{
    uint8_t bytes[LP_CID_BYTES_MAX + 8];
    size_t len = strnlen(text, LP_CID_STRING_MAX);
    long n;
    if (len == 0)
        return fail(err, errlen, "empty CID");
    if (len >= LP_CID_STRING_MAX)
        return fail(err, errlen, "CID string too long");
    if (len == 46 && text[0] == 'Q' && text[1] == 'm') {
        n = lp_base58_decode(text, len, bytes, sizeof(bytes));
        if (n < 0)
            return fail(err, errlen, "CIDv0 has a character outside base58btc");
        if (n != 34 || bytes[0] != LP_MULTIHASH_SHA256 || bytes[1] != LP_CID_DIGEST_LEN)
            return fail(err, errlen, "CIDv0 is not a sha2-256 multihash");
    } else if (text[0] == 'b') {
        n = lp_base32_decode(text + 1, len - 1, bytes, sizeof(bytes));
        if (n < 0)
            return fail(err, errlen, "CIDv1 is not lower-case base32 (multibase 'b')");
        if (n >= 2 && bytes[0] == LP_MULTIHASH_SHA256 && bytes[1] == LP_CID_DIGEST_LEN)
            return fail(err, errlen, "a CIDv0 multihash must be written in base58btc");
    } else {
        return fail(err, errlen,
                    "not a CID: expected \"Qm...\" (v0, base58btc) or \"b...\" (v1, base32)");
    }
    if (lp_cid_from_bytes(bytes, (size_t)n, out, err, errlen) < 0)
        return -1;
    /* Only the one spelling we would print is accepted (no alternative encodings). */
    char again[LP_CID_STRING_MAX];
    lp_cid_format(out, again);
    if (strcmp(again, text) != 0)
        return fail(err, errlen, "CID is not in canonical form");
    return 0;
}

bool lp_cid_equal(const struct lp_cidb *a, const struct lp_cidb *b)
{
    return a->version == b->version && a->codec == b->codec &&
           memcmp(a->digest, b->digest, LP_CID_DIGEST_LEN) == 0;
}
