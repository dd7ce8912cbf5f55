/* secp256k1 identities: address derivation, EIP-55, EIP-191 personal_sign (vectors from
 * ethers-verified), sign/recover round trips, low-S, tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/keccak.h"
#include "crypto/key.h"
#include "util/hex.h"

static void from_hex(const char *hex, void *out, size_t len)
{
    assert_int_equal(lp_hex_decode_fixed(hex, out, len), 0);
}

static void key_from_hex(struct lp_key *key, const char *hex)
{
    uint8_t secret[32];
    from_hex(hex, secret, 32);
    assert_int_equal(lp_key_from_secret(key, secret), 0);
}

static void assert_address(const uint8_t addr[20], const char *expected)
{
    char text[43];
    lp_address_to_checksum(addr, text);
    assert_string_equal(text, expected);
}

static void test_address_derivation(void **state)
{
    (void)state;
    static const struct {
        const char *secret, *address;
    } cases[] = {
        {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
         "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
        {"0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
         "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"},
        {"0x4646464646464646464646464646464646464646464646464646464646464646",
         "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"},
        {"0xb6b15c8cb491557369f3c7d2c287b053eb229daa9c22138887752191c9520659",
         "0x3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lp_key key;
        key_from_hex(&key, cases[i].secret);
        assert_address(key.address, cases[i].address);
        lp_key_wipe(&key);
    }

    struct lp_key key;
    uint8_t pub[65];
    key_from_hex(&key, "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    from_hex("048318535b54105d4a7aae60c08fc45f9687181b4fdfc625bd1a753fa7397fed753547f11ca8696646f2f"
             "3acb08e31016afac23e630c5d11f59f61fef57b0d2aa5",
             pub, 65);
    assert_memory_equal(key.pubkey, pub + 1, 64);
    lp_key_wipe(&key);
    uint8_t zero[sizeof key] = {0};
    assert_memory_equal(&key, zero, sizeof key);
}

static void test_invalid_secrets(void **state)
{
    (void)state;
    struct lp_key key;
    uint8_t s[32] = {0};
    assert_int_equal(lp_key_from_secret(&key, s), -1); /* zero */
    /* the group order n and n + 1 are out of range, n - 1 is the largest valid secret */
    from_hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", s, 32);
    assert_int_equal(lp_key_from_secret(&key, s), -1);
    s[31] = 0x42;
    assert_int_equal(lp_key_from_secret(&key, s), -1);
    s[31] = 0x40;
    assert_int_equal(lp_key_from_secret(&key, s), 0);
    memset(s, 0xff, 32);
    assert_int_equal(lp_key_from_secret(&key, s), -1);
}

/* The EIP-55 spec's examples: mixed-case, all-caps and all-lower test cases. */
static void test_eip55(void **state)
{
    (void)state;
    static const char *mixed[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };
    for (size_t i = 0; i < 4; i++) {
        uint8_t addr[20], raw[20];
        char lower[43];
        assert_int_equal(lp_address_parse(mixed[i], addr), 0);
        from_hex(mixed[i], raw, 20);
        assert_memory_equal(addr, raw, 20);
        assert_address(addr, mixed[i]);
        /* all-lower of the same address is accepted; one letter's case flipped is not */
        lp_hex_encode_0x(addr, 20, lower);
        assert_int_equal(lp_address_parse(lower, addr), 0);
        char flipped[43];
        strcpy(flipped, mixed[i]);
        for (int j = 2; j < 42; j++) {
            char c = flipped[j];
            if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
                flipped[j] = (char)(c ^ 0x20);
                break;
            }
        }
        assert_int_equal(lp_address_parse(flipped, addr), -1);
    }
    uint8_t addr[20];
    assert_int_equal(lp_address_parse("0x52908400098527886E0F7030069857D2E4169EE7", addr), 0);
    assert_int_equal(lp_address_parse("0x8617E340B3D01FA5F11F306F4090FD50E238070D", addr), 0);
    assert_int_equal(lp_address_parse("0xde709f2102306220921060314715629080e2fb77", addr), 0);
    assert_int_equal(lp_address_parse("0x27b1fdb04752bbc536007a920d24acb045561c26", addr), 0);
    assert_address(addr, "0x27b1fdb04752bbc536007a920d24acb045561c26"); /* no letters to raise */

    /* malformed */
    assert_int_equal(lp_address_parse("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", addr), -1);
    assert_int_equal(lp_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe", addr), -1);
    assert_int_equal(lp_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd", addr), -1);
    assert_int_equal(lp_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", addr), -1);
    assert_int_equal(lp_address_parse("0x 5aaeb6053f3e94c9b9a09f33669435e7ef1bea", addr), -1);
    assert_int_equal(lp_address_parse("", addr), -1);
    assert_int_equal(lp_address_parse(NULL, addr), -1);
}

static void test_eip191_vectors(void **state)
{
    (void)state;
    uint8_t digest[32], expected[32];
    lp_eip191_hash("Some data", 9, digest);
    from_hex("0x1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655", expected, 32);
    assert_memory_equal(digest, expected, 32);
    lp_eip191_hash("hello world", 11, digest);
    from_hex("0xd9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68", expected, 32);
    assert_memory_equal(digest, expected, 32);

    struct lp_key key;
    uint8_t sig[65], expected_sig[65], addr[20];
    key_from_hex(&key, "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
    assert_int_equal(lp_personal_sign(&key, "Some data", 9, sig), 0);
    from_hex(
        "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b8001"
        "86422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c",
        expected_sig, 65);
    assert_memory_equal(sig, expected_sig, 65); /* RFC 6979: byte-identical to web3/ethers */
    assert_int_equal(lp_personal_recover("Some data", 9, expected_sig, addr), 0);
    assert_address(addr, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
    /* the same signature with v as a raw recovery id (0/1) recovers the same signer */
    expected_sig[64] -= 27;
    assert_int_equal(lp_personal_recover("Some data", 9, expected_sig, addr), 0);
    assert_address(addr, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
    /* another message does not */
    assert_int_equal(lp_personal_recover("Some datb", 9, sig, addr), 0);
    assert_memory_not_equal(addr, key.address, 20);
    lp_key_wipe(&key);
}

static const uint8_t group_order[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

/* out = n - s (big-endian 256-bit subtraction) */
static void negate_s(const uint8_t s[32], uint8_t out[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = group_order[i] - s[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void test_round_trips_low_s_and_tampering(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        struct lp_key key;
        uint8_t digest[32], sig[65], addr[20];
        assert_int_equal(lp_key_generate(&key), 0);
        lp_keccak256(&i, sizeof i, digest);
        digest[0] ^= key.secret[0]; /* digests differ per run too */
        assert_int_equal(lp_sign_digest(&key, digest, sig), 0);
        assert_true(sig[64] == 0 || sig[64] == 1);
        /* low-S: s <= n/2, i.e. n - s >= s */
        uint8_t neg[32];
        negate_s(sig + 32, neg);
        assert_true(memcmp(neg, sig + 32, 32) >= 0);
        assert_int_equal(lp_recover_digest(digest, sig, addr), 0);
        assert_memory_equal(addr, key.address, 20);
        /* v = 27/28 accepted too */
        uint8_t sig27[65];
        memcpy(sig27, sig, 65);
        sig27[64] += 27;
        assert_int_equal(lp_recover_digest(digest, sig27, addr), 0);
        assert_memory_equal(addr, key.address, 20);

        /* The malleable twin (r, n - s, v ^ 1) is a valid ECDSA signature of the same key,
         * but high-S, so recovery must refuse it. */
        uint8_t high[65];
        memcpy(high, sig, 65);
        memcpy(high + 32, neg, 32);
        high[64] ^= 1;
        assert_int_equal(lp_recover_digest(digest, high, addr), -1);

        /* A flipped bit anywhere in r or s: another address or a failure, never this one. */
        uint8_t bad[65];
        memcpy(bad, sig, 65);
        bad[(size_t)i % 64] ^= (uint8_t)(1u << (i % 8));
        if (lp_recover_digest(digest, bad, addr) == 0)
            assert_memory_not_equal(addr, key.address, 20);
        /* flipped v: another address */
        memcpy(bad, sig, 65);
        bad[64] ^= 1;
        if (lp_recover_digest(digest, bad, addr) == 0)
            assert_memory_not_equal(addr, key.address, 20);
        /* bad v values */
        for (int v = 2; v < 256; v += 13) {
            if (v == 27 || v == 28)
                continue;
            memcpy(bad, sig, 65);
            bad[64] = (uint8_t)v;
            assert_int_equal(lp_recover_digest(digest, bad, addr), -1);
        }
        /* a different digest: another address */
        digest[31] ^= 1;
        assert_int_equal(lp_recover_digest(digest, sig, addr), 0);
        assert_memory_not_equal(addr, key.address, 20);
        lp_key_wipe(&key);
    }
}

static void test_zero_and_overflow_signatures(void **state)
{
    (void)state;
    uint8_t digest[32] = {1}, sig[65] = {0}, addr[20];
    assert_int_equal(lp_recover_digest(digest, sig, addr), -1); /* r = s = 0 */
    memcpy(sig, group_order, 32);                               /* r = n */
    sig[63] = 1;
    assert_int_equal(lp_recover_digest(digest, sig, addr), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_derivation),
        cmocka_unit_test(test_invalid_secrets),
        cmocka_unit_test(test_eip55),
        cmocka_unit_test(test_eip191_vectors),
        cmocka_unit_test(test_round_trips_low_s_and_tampering),
        cmocka_unit_test(test_zero_and_overflow_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
