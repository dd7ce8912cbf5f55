/* scrypt = PBKDF2-HMAC-SHA256 around ROMix(BlockMix(Salsa20/8)); PBKDF2 comes from OpenSSL, the
 * memory-hard middle is written here (see scrypt.h for why). Cross-checked against OpenSSL's
 * EVP_PBE_scrypt and the RFC 7914 vectors in tests/unit/test_keystore.c. */
#include "crypto/scrypt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define R32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* Salsa20/8 core applied in place to a 64-byte block given as 16 little-endian words. */
static void salsa20_8(uint32_t b[16])
{
    uint32_t x[16];
    memcpy(x, b, sizeof x);
    for (int i = 0; i < 8; i += 2) {
        /* columns */
        x[4] ^= R32(x[0] + x[12], 7), x[8] ^= R32(x[4] + x[0], 9);
        x[12] ^= R32(x[8] + x[4], 13), x[0] ^= R32(x[12] + x[8], 18);
        x[9] ^= R32(x[5] + x[1], 7), x[13] ^= R32(x[9] + x[5], 9);
        x[1] ^= R32(x[13] + x[9], 13), x[5] ^= R32(x[1] + x[13], 18);
        x[14] ^= R32(x[10] + x[6], 7), x[2] ^= R32(x[14] + x[10], 9);
        x[6] ^= R32(x[2] + x[14], 13), x[10] ^= R32(x[6] + x[2], 18);
        x[3] ^= R32(x[15] + x[11], 7), x[7] ^= R32(x[3] + x[15], 9);
        x[11] ^= R32(x[7] + x[3], 13), x[15] ^= R32(x[11] + x[7], 18);
        /* rows */
        x[1] ^= R32(x[0] + x[3], 7), x[2] ^= R32(x[1] + x[0], 9);
        x[3] ^= R32(x[2] + x[1], 13), x[0] ^= R32(x[3] + x[2], 18);
        x[6] ^= R32(x[5] + x[4], 7), x[7] ^= R32(x[6] + x[5], 9);
        x[4] ^= R32(x[7] + x[6], 13), x[5] ^= R32(x[4] + x[7], 18);
        x[11] ^= R32(x[10] + x[9], 7), x[8] ^= R32(x[11] + x[10], 9);
        x[9] ^= R32(x[8] + x[11], 13), x[10] ^= R32(x[9] + x[8], 18);
        x[12] ^= R32(x[15] + x[14], 7), x[13] ^= R32(x[12] + x[15], 9);
        x[14] ^= R32(x[13] + x[12], 13), x[15] ^= R32(x[14] + x[13], 18);
    }
    for (int i = 0; i < 16; i++)
        b[i] += x[i];
}

/* BlockMix over 2r 64-byte blocks: in -> out (Y even blocks first, then odd). */
static void block_mix(const uint32_t *in, uint32_t *out, uint32_t r)
{
    uint32_t x[16];
    memcpy(x, in + (2 * r - 1) * 16, sizeof x);
    for (uint32_t i = 0; i < 2 * r; i++) {
        for (int k = 0; k < 16; k++)
            x[k] ^= in[i * 16 + k];
        salsa20_8(x);
        uint32_t dest = (i % 2 == 0) ? i / 2 : r + i / 2;
        memcpy(out + dest * 16, x, sizeof x);
    }
}

static void ro_mix(uint8_t *block, uint32_t r, uint64_t n, uint32_t *v, uint32_t *x, uint32_t *y)
{
    const size_t words = 32 * (size_t)r;
    for (size_t k = 0; k < words; k++) {
        const uint8_t *p = block + 4 * k;
        x[k] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    for (uint64_t i = 0; i < n; i++) {
        memcpy(v + i * words, x, words * 4);
        block_mix(x, y, r);
        memcpy(x, y, words * 4);
    }
    for (uint64_t i = 0; i < n; i++) {
        /* Integerify: the first word of the last 64-byte block, mod n (n <= 2^32). */
        uint64_t j = x[(2 * r - 1) * 16] & (n - 1);
        for (size_t k = 0; k < words; k++)
            x[k] ^= v[j * words + k];
        block_mix(x, y, r);
        memcpy(x, y, words * 4);
    }
    for (size_t k = 0; k < words; k++) {
        uint8_t *p = block + 4 * k;
        p[0] = (uint8_t)x[k], p[1] = (uint8_t)(x[k] >> 8);
        p[2] = (uint8_t)(x[k] >> 16), p[3] = (uint8_t)(x[k] >> 24);
    }
}

int lp_scrypt(const void *password, size_t password_len, const uint8_t *salt, size_t salt_len,
              uint64_t n, uint32_t r, uint32_t p, uint8_t *out, size_t out_len)
{
    const char *pw = password != NULL ? password : "";
    if (n < 2 || (n & (n - 1)) != 0 || n > (1ull << 32) || r < 1 || p < 1 ||
        (uint64_t)r * p >= (1u << 30) || r > (1u << 20) || password_len > INT32_MAX ||
        salt_len > INT32_MAX || out_len > INT32_MAX)
        return -1;
    const size_t block_len = 128 * (size_t)r;
    uint8_t *b = malloc(block_len * p);
    uint32_t *v = malloc(block_len * n);
    uint32_t *xy = malloc(2 * block_len);
    int rc = -1;
    if (b == NULL || v == NULL || xy == NULL)
        goto out;
    if (PKCS5_PBKDF2_HMAC(pw, (int)password_len, salt, (int)salt_len, 1, EVP_sha256(),
                          (int)(block_len * p), b) != 1)
        goto out;
    for (uint32_t i = 0; i < p; i++)
        ro_mix(b + i * block_len, r, n, v, xy, xy + 32 * (size_t)r);
    if (PKCS5_PBKDF2_HMAC(pw, (int)password_len, b, (int)(block_len * p), 1, EVP_sha256(),
                          (int)out_len, out) != 1)
        goto out;
    rc = 0;
out:
    /* V and B are derived from the password: wipe before freeing. */
    if (b != NULL)
        explicit_bzero(b, block_len * p);
    if (v != NULL)
        explicit_bzero(v, block_len * n);
    if (xy != NULL)
        explicit_bzero(xy, 2 * block_len);
    free(b);
    free(v);
    free(xy);
    return rc;
}
