/* Keccak-256: published vectors, incremental == one-shot at every split, and the sponge
 * cross-checked against OpenSSL's SHA3-256 (same permutation, domain byte 0x06). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "crypto/keccak.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned int byte;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
        out[i] = (uint8_t)byte;
    }
}

static void assert_digest(const uint8_t digest[32], const char *expected_hex)
{
    uint8_t expected[32];
    hex_to_bytes(expected_hex, expected, 32);
    assert_memory_equal(digest, expected, 32);
}

/* Message pattern of the multi-block vectors: byte i = i mod 256. */
static void fill_sequence(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)i;
}

static void test_published_vectors(void **state)
{
    (void)state;
    uint8_t d[32];
    lp_keccak256("", 0, d);
    assert_digest(d, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    lp_keccak256("abc", 3, d);
    assert_digest(d, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    /* The Keccak team's 200 x 0xa3 message (1600 bits), Keccak-256 with the 0x01 padding. */
    uint8_t a3[200];
    memset(a3, 0xa3, sizeof a3);
    lp_keccak256(a3, sizeof a3, d);
    assert_digest(d, "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a");
}

/* Lengths around the 136-byte rate: one byte short (padding bytes share one byte), exactly one
 * block (padding needs a whole extra block), one over, and two blocks. Expected digests are from
 * an independent implementation (@noble/hashes 1.x keccak_256). */
static void test_block_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {135, "cbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62"},
        {136, "7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e"},
        {137, "ac73d4fae68b8453f764007c1a20ce95994187861f0c3227a3a8e99a73a3b1db"},
        {272, "fdf2ec49e749960d3c8521a0219af8d03e30e2b3bf19bd16150ee0eaf133d66e"},
    };
    uint8_t msg[272], d[32];
    fill_sequence(msg, sizeof msg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lp_keccak256(msg, cases[i].len, d);
        assert_digest(d, cases[i].hex);
    }
}

/* Split a 3-block message at every offset into two updates, and also feed it byte by byte and in
 * uneven chunks: every path must give the one-shot digest. */
static void test_incremental_every_split(void **state)
{
    (void)state;
    enum { LEN = 3 * 136 + 17 };
    uint8_t msg[LEN], one_shot[32], d[32];
    fill_sequence(msg, LEN);
    lp_keccak256(msg, LEN, one_shot);

    for (size_t split = 0; split <= LEN; split++) {
        struct lp_keccak ctx;
        lp_keccak256_init(&ctx);
        lp_keccak256_update(&ctx, msg, split);
        lp_keccak256_update(&ctx, msg + split, LEN - split);
        lp_keccak256_final(&ctx, d);
        assert_memory_equal(d, one_shot, 32);
    }

    struct lp_keccak ctx;
    lp_keccak256_init(&ctx);
    for (size_t i = 0; i < LEN; i++)
        lp_keccak256_update(&ctx, msg + i, 1);
    lp_keccak256_final(&ctx, d);
    assert_memory_equal(d, one_shot, 32);

    lp_keccak256_init(&ctx);
    for (size_t pos = 0, step = 1; pos < LEN; step = step * 3 % 200 + 1) {
        size_t n = LEN - pos < step ? LEN - pos : step;
        lp_keccak256_update(&ctx, msg + pos, n);
        pos += n;
    }
    lp_keccak256_final(&ctx, d);
    assert_memory_equal(d, one_shot, 32);
}

static void openssl_sha3_256(const uint8_t *msg, size_t len, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int out_len = 0;
    assert_non_null(md);
    assert_int_equal(EVP_DigestInit_ex(md, EVP_sha3_256(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(md, msg, len), 1);
    assert_int_equal(EVP_DigestFinal_ex(md, out, &out_len), 1);
    assert_int_equal(out_len, 32);
    EVP_MD_CTX_free(md);
}

/* 1,000 random messages of random length (0..2,000 bytes, so 0 to 15 blocks), hashed in two
 * random pieces with the SHA-3 domain byte: must equal OpenSSL's SHA3-256. */
static void test_random_against_openssl_sha3(void **state)
{
    (void)state;
    static uint8_t msg[2000];
    uint64_t rng = 0x9e3779b97f4a7c15ULL; /* fixed seed: failures reproduce */
    for (int iter = 0; iter < 1000; iter++) {
        size_t len;
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        len = (size_t)(rng % (sizeof msg + 1));
        for (size_t i = 0; i < len; i++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            msg[i] = (uint8_t)(rng >> 32);
        }
        size_t split = len ? (size_t)((rng >> 8) % (len + 1)) : 0;

        uint8_t ours[32], theirs[32];
        struct lp_keccak ctx;
        lp_keccak256_init_domain(&ctx, 0x06);
        lp_keccak256_update(&ctx, msg, split);
        lp_keccak256_update(&ctx, msg + split, len - split);
        lp_keccak256_final(&ctx, ours);
        openssl_sha3_256(msg, len, theirs);
        if (memcmp(ours, theirs, 32) != 0)
            fail_msg("SHA3-256 mismatch on iteration %d, length %zu, split %zu", iter, len, split);
    }
}

/* The SHA3 path must not be the Keccak path: the domain byte really changes the result. */
static void test_domain_byte_matters(void **state)
{
    (void)state;
    uint8_t keccak[32], sha3[32];
    struct lp_keccak ctx;
    lp_keccak256("", 0, keccak);
    lp_keccak256_init_domain(&ctx, 0x06);
    lp_keccak256_final(&ctx, sha3);
    assert_digest(sha3, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    assert_memory_not_equal(keccak, sha3, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_incremental_every_split),
        cmocka_unit_test(test_random_against_openssl_sha3),
        cmocka_unit_test(test_domain_byte_matters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
