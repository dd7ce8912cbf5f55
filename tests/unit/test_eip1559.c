/* EIP-1559 transactions. Vectors:
 *  - ethereumjs-monorepo packages/tx/test/json/eip1559.json row 0 (checked with ethers 6.17
 *    and @noble): unsigned payload, sighash, raw, hash.
 *  - all 10 rows of that file (tests/vectors/eth/eip1559_ethereumjs.txt): our signature
 *    (RFC6979 through libsecp256k1) must reproduce each raw tx byte for byte, and each raw tx
 *    must decode back to its fields.
 *  - the EIP-155 spec example (a legacy tx) as an end-to-end check of RLP + signing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/keccak.h"
#include "crypto/key.h"
#include "eth/rlp.h"
#include "eth/tx1559.h"
#include "util/hex.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(lp_hex_decode_var(hex, out, cap, &n), 0);
    return n;
}

static void assert_bytes_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[1024];
    size_t n = unhex(hex, want, sizeof want);
    if (len != n || memcmp(got, want, n) != 0) {
        char *g = malloc(2 * len + 1);
        lp_hex_encode(got, len, g);
        fprintf(stderr, "want %s\n got %s\n", hex, g);
        free(g);
        fail();
    }
}

static const char *KEY_HEX = "8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63";

static void load_key(struct lp_key *key, const char *hex)
{
    uint8_t secret[32];
    unhex(hex, secret, sizeof secret);
    assert_int_equal(lp_key_from_secret(key, secret), 0);
}

static void value_u64(uint8_t value[32], uint64_t v)
{
    memset(value, 0, 32);
    for (int i = 0; i < 8; i++)
        value[31 - i] = (uint8_t)(v >> (8 * i));
}

static void vector_tx(struct lp_tx1559 *tx, uint64_t nonce, uint64_t value, uint64_t gas,
                      uint64_t tip, uint64_t max_fee)
{
    memset(tx, 0, sizeof *tx);
    tx->chain_id = 7822;
    tx->nonce = nonce;
    tx->max_priority_fee_per_gas = tip;
    tx->max_fee_per_gas = max_fee;
    tx->gas_limit = gas;
    tx->has_to = true;
    tx->to[18] = 0xaa;
    tx->to[19] = 0xaa;
    value_u64(tx->value, value);
}

static void test_protocols_vector(void **state)
{
    (void)state;
    struct lp_key key;
    load_key(&key, KEY_HEX);
    char addr[43];
    lp_address_to_checksum(key.address, addr);
    assert_string_equal(addr, "0xFE3B557E8Fb62b89F4916B721be55cEb828dBd73");

    struct lp_tx1559 tx;
    vector_tx(&tx, 819, 43203529, 35552, 75853, 121212);
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    assert_int_equal(lp_tx1559_encode_unsigned(&tx, &b), 0);
    assert_bytes_hex(b.data, b.len,
                     "02ed821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
                     "aaaa8402933bc980c0");
    uint8_t h[32];
    assert_int_equal(lp_tx1559_signing_hash(&tx, h), 0);
    assert_bytes_hex(h, 32, "5dac58bc5ee23609037e7d8523aa255f9797ce47113f67f6753284c3b02907dd");

    /* encoding a not-yet-signed tx in the signed form is refused */
    b.len = 0;
    assert_int_equal(lp_tx1559_encode_signed(&tx, &b), -1);

    assert_int_equal(lp_tx1559_sign(&tx, &key), 0);
    assert_int_equal(tx.y_parity, 0);
    lp_eth_buf_free(&b);
    assert_int_equal(lp_tx1559_encode_signed(&tx, &b), 0);
    assert_bytes_hex(
        b.data, b.len,
        "02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
        "aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e8"
        "5b78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e");
    assert_int_equal(lp_tx1559_hash(&tx, h), 0);
    assert_bytes_hex(h, 32, "a3bf78ff247cad934aa5fb13e05f11e59c93511523ff8a622e59c3a34700e5c8");
    uint8_t raw_hash[32];
    lp_keccak256(b.data, b.len, raw_hash);
    assert_memory_equal(raw_hash, h, 32);

    uint8_t sender[20];
    assert_int_equal(lp_tx1559_sender(&tx, sender), 0);
    assert_memory_equal(sender, key.address, 20);
    lp_eth_buf_free(&b);
}

static void test_ethereumjs_rows(void **state)
{
    (void)state;
    struct lp_key key;
    load_key(&key, KEY_HEX);
    FILE *f = fopen(LP_SOURCE_DIR "/tests/vectors/eth/eip1559_ethereumjs.txt", "r");
    assert_non_null(f);
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long long nonce, value, gas, tip, max_fee;
        char raw_hex[600];
        assert_int_equal(sscanf(line, "%llu %llu %llu %llu %llu %599s", &nonce, &value, &gas, &tip,
                                &max_fee, raw_hex),
                         6);
        uint8_t raw[300];
        size_t raw_len = unhex(raw_hex, raw, sizeof raw);

        struct lp_tx1559 tx;
        vector_tx(&tx, nonce, value, gas, tip, max_fee);
        assert_int_equal(lp_tx1559_sign(&tx, &key), 0);
        struct lp_eth_buf b = LP_ETH_BUF_INIT;
        assert_int_equal(lp_tx1559_encode_signed(&tx, &b), 0);
        assert_bytes_hex(b.data, b.len, raw_hex);
        lp_eth_buf_free(&b);

        struct lp_tx1559 d;
        struct lp_eth_err err = {0};
        if (lp_tx1559_decode(raw, raw_len, &d, &err) != 0)
            fail_msg("row %d: %s", rows, err.msg);
        assert_true(d.is_signed);
        assert_true(d.chain_id == 7822 && d.nonce == nonce && d.gas_limit == gas);
        assert_true(d.max_priority_fee_per_gas == tip && d.max_fee_per_gas == max_fee);
        assert_true(d.has_to);
        assert_memory_equal(d.to, tx.to, 20);
        assert_memory_equal(d.value, tx.value, 32);
        assert_int_equal(d.data_len, 0);
        assert_int_equal(d.access_list_rlp_len, 1);
        assert_int_equal(d.access_list_rlp[0], 0xc0);
        assert_int_equal(d.y_parity, tx.y_parity);
        assert_memory_equal(d.r, tx.r, 32);
        assert_memory_equal(d.s, tx.s, 32);
        uint8_t sender[20];
        assert_int_equal(lp_tx1559_sender(&d, sender), 0);
        assert_memory_equal(sender, key.address, 20);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 10);
}

static void test_roundtrip_creation_and_access_list(void **state)
{
    (void)state;
    struct lp_key key;
    load_key(&key, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
    /* access list [[0x11..11, [0x00..01, 0x00..02]]], encoded with our RLP writer */
    struct lp_eth_buf al = LP_ETH_BUF_INIT;
    size_t outer = lp_rlp_list_begin(&al);
    size_t entry = lp_rlp_list_begin(&al);
    uint8_t a[20], k[32];
    memset(a, 0x11, sizeof a);
    lp_rlp_put_bytes(&al, a, sizeof a);
    size_t keys = lp_rlp_list_begin(&al);
    memset(k, 0, sizeof k);
    k[31] = 1;
    lp_rlp_put_bytes(&al, k, sizeof k);
    k[31] = 2;
    lp_rlp_put_bytes(&al, k, sizeof k);
    lp_rlp_list_end(&al, keys);
    lp_rlp_list_end(&al, entry);
    lp_rlp_list_end(&al, outer);

    static uint8_t code[300];
    for (size_t i = 0; i < sizeof code; i++)
        code[i] = (uint8_t)i;
    struct lp_tx1559 tx = {0};
    tx.chain_id = 421614;
    tx.nonce = 0;
    tx.max_fee_per_gas = 200000000;
    tx.gas_limit = 3000000;
    tx.has_to = false;
    memset(tx.value, 0xff, sizeof tx.value); /* 2^256-1 wei */
    tx.data = code;
    tx.data_len = sizeof code;
    tx.access_list_rlp = al.data;
    tx.access_list_rlp_len = al.len;
    assert_int_equal(lp_tx1559_sign(&tx, &key), 0);
    struct lp_eth_buf raw = LP_ETH_BUF_INIT;
    assert_int_equal(lp_tx1559_encode_signed(&tx, &raw), 0);

    struct lp_tx1559 d;
    struct lp_eth_err err = {0};
    if (lp_tx1559_decode(raw.data, raw.len, &d, &err) != 0)
        fail_msg("%s", err.msg);
    assert_false(d.has_to);
    assert_int_equal(d.chain_id, 421614);
    assert_int_equal(d.data_len, sizeof code);
    assert_memory_equal(d.data, code, sizeof code);
    assert_int_equal(d.access_list_rlp_len, al.len);
    assert_memory_equal(d.access_list_rlp, al.data, al.len);
    assert_memory_equal(d.value, tx.value, 32);
    uint8_t sender[20];
    assert_int_equal(lp_tx1559_sender(&d, sender), 0);
    assert_memory_equal(sender, key.address, 20);
    /* re-encoding the decoded tx gives the same bytes */
    struct lp_eth_buf again = LP_ETH_BUF_INIT;
    assert_int_equal(lp_tx1559_encode_signed(&d, &again), 0);
    assert_int_equal(again.len, raw.len);
    assert_memory_equal(again.data, raw.data, raw.len);

    /* the unsigned form decodes too, as unsigned */
    struct lp_eth_buf unsig = LP_ETH_BUF_INIT;
    assert_int_equal(lp_tx1559_encode_unsigned(&tx, &unsig), 0);
    assert_int_equal(lp_tx1559_decode(unsig.data, unsig.len, &d, &err), 0);
    assert_false(d.is_signed);

    lp_eth_buf_free(&al);
    lp_eth_buf_free(&raw);
    lp_eth_buf_free(&again);
    lp_eth_buf_free(&unsig);
}

/* Decoding `hex` must fail with a message containing `needle` and an offset. */
static void expect_reject(const char *hex, const char *needle)
{
    uint8_t raw[300];
    size_t n = unhex(hex, raw, sizeof raw);
    struct lp_tx1559 tx;
    struct lp_eth_err err = {0};
    if (lp_tx1559_decode(raw, n, &tx, &err) == 0)
        fail_msg("accepted %s", hex);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", hex, err.msg, needle);
    assert_non_null(strstr(err.msg, "offset"));
}

static void test_decode_rejects(void **state)
{
    (void)state;
    /* the good one, for reference:
     * 02 f870 821e8e 820333 8301284d 8301d97c 828ae0 94<to> 8402933bc9 80 c0 80 a0<r> a0<s> */
    expect_reject("", "empty");
    expect_reject("01c0", "type 0x01");
    expect_reject("02c0", "missing chainId");
    expect_reject("02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
                  "aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b"
                  "78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e00",
                  "trailing");
    expect_reject("02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
                  "aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b"
                  "78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd07",
                  "past the end");
    /* nonce 0x0333 written as 0x000333 (leading zero), list length +1 */
    expect_reject("02f871821e8e830003338301284d8301d97c828ae09400000000000000000000000000000000000"
                  "0aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85"
                  "b78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e",
                  "leading zero");
    /* to of 19 bytes, list length -1 */
    expect_reject("02f86f821e8e8203338301284d8301d97c828ae0930000000000000000000000000000000000"
                  "aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b"
                  "78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e",
                  "19 bytes");
    /* yParity 2 */
    expect_reject("02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
                  "aaaa8402933bc980c002a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b"
                  "78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e",
                  "yParity");
    /* 10 fields: s missing (list shortened by 33 bytes) */
    expect_reject("02f84f821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
                  "aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b"
                  "78b472e0",
                  "missing s");
    /* access list with a 1-byte address: [[0x01, []]] = c3 c2 01 c0 (list length +3) */
    expect_reject(
        "02f873821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000"
        "aaaa8402933bc980c3c201c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b76"
        "57e85b78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e",
        "not 20");
}

/* EIP-155 spec example: legacy tx, v = recid + 35 + 2 * chainId. Exercises RLP + signing. */
static void test_eip155_legacy_example(void **state)
{
    (void)state;
    struct lp_key key;
    load_key(&key, "4646464646464646464646464646464646464646464646464646464646464646");
    uint8_t to[20], value[32];
    memset(to, 0x35, sizeof to);
    value_u64(value, 1000000000000000000ULL);

    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    size_t m = lp_rlp_list_begin(&b);
    lp_rlp_put_uint(&b, 9);
    lp_rlp_put_uint(&b, 20000000000ULL);
    lp_rlp_put_uint(&b, 21000);
    lp_rlp_put_bytes(&b, to, sizeof to);
    lp_rlp_put_uint_be(&b, value, sizeof value);
    lp_rlp_put_bytes(&b, NULL, 0);
    size_t sig_fields = b.len;
    lp_rlp_put_uint(&b, 1);
    lp_rlp_put_uint(&b, 0);
    lp_rlp_put_uint(&b, 0);
    lp_rlp_list_end(&b, m);
    /* signing data from the EIP */
    assert_bytes_hex(b.data, b.len,
                     "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7"
                     "64000080018080");
    uint8_t h[32], sig[65];
    lp_keccak256(b.data, b.len, h);
    assert_bytes_hex(h, 32, "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    assert_int_equal(lp_sign_digest(&key, h, sig), 0);

    /* replace [chainId, 0, 0] with [v, r, s] */
    struct lp_eth_buf s = LP_ETH_BUF_INIT;
    m = lp_rlp_list_begin(&s);
    lp_rlp_put_raw(&s, b.data + 1, sig_fields); /* after the 1-byte header */
    lp_rlp_put_uint(&s, 35 + 2 * 1 + sig[64]);
    lp_rlp_put_uint_be(&s, sig, 32);
    lp_rlp_put_uint_be(&s, sig + 32, 32);
    lp_rlp_list_end(&s, m);
    assert_bytes_hex(s.data, s.len,
                     "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3"
                     "a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa6362"
                     "76a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
    assert_int_equal(lp_rlp_validate(s.data, s.len, NULL), 0);
    lp_eth_buf_free(&b);
    lp_eth_buf_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocols_vector),
        cmocka_unit_test(test_ethereumjs_rows),
        cmocka_unit_test(test_roundtrip_creation_and_access_list),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_eip155_legacy_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
