/* Event topics and log decoding. Vectors: Transfer(address,address,uint256) topic0 (the
 * ERC-20 standard); topic0 of the LilypadPow events and the data of
 * a ValidPOWSubmitted and a GenerateChallenge log as ethers 6 computes them
 * (ethers.id(sig), AbiCoder.defaultAbiCoder().encode(types, values), run while writing this
 * test); our encoder must produce the same bytes and our decoder must get the values back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/keccak.h"
#include "eth/evlog.h"
#include "util/hex.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(lp_hex_decode_var(hex, out, cap, &n), 0);
    return n;
}

static void assert_bytes_hex(const uint8_t *got, size_t len, const char *hex)
{
    static uint8_t want[1024];
    size_t n = unhex(hex, want, sizeof want);
    if (len != n || memcmp(got, want, n) != 0) {
        char *g = malloc(2 * len + 1);
        lp_hex_encode(got, len, g);
        fprintf(stderr, "want %s\n got %s\n", hex, g);
        free(g);
        fail();
    }
}

static void test_topic0(void **state)
{
    (void)state;
    static const struct {
        const char *sig, *hex;
    } cases[] = {
        {"Transfer(address,address,uint256)",
         "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
        {"Transfer(address indexed from, address indexed to, uint256 value)",
         "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
        {"ValidPOWSubmitted(address,string,uint256,uint256,uint256,bytes32,uint256)",
         "172b7d59e60446d8dfc98985344fb883c871ef150b1db4d1592bcb6769903732"},
        {"GenerateChallenge(bytes32,uint256)",
         "496186a9d930bac0744acdcd1d0c054b18283eecbe99d30bda98102d3d06b8ef"},
        {"NewPowRound()", "10cc99616aca050d810fd487c95f968e516d0fa25318530ed50753153d060a1e"},
        {"DealStateChange(string,uint8)",
         "10ca3d89184491f5d8de422bd36534abe6eb4b4aa1429a261bdb5ff1dd9ac386"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t t[32];
        assert_int_equal(lp_evlog_topic0(cases[i].sig, t, NULL), 0);
        assert_bytes_hex(t, 32, cases[i].hex);
    }
    uint8_t t[32];
    assert_int_equal(lp_evlog_topic0("Transfer(address,address", t, NULL), -1);
}

static const char VPOW_DATA[] = "000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
                                "00000000000000000000000000000000000000000000000000000000000000e0"
                                "00000000000000000000000000000000000000000000000000000000075bcd15"
                                "0000000000000000000000000000000000000000000000000000000066669980"
                                "00000000000000000000000000000000000000000000000000000000666699aa"
                                "62357b294ca756256b576c5da68950c49d0d1823063551ffdcc1dad9d65a07a6"
                                "000000149a6a3000000000000000000000000000000000000000000000000000"
                                "0000000000000000000000000000000000000000000000000000000000000036"
                                "6e6f64652d313244334b6f6f576578616d706c652d776974682d612d6c6f6e67"
                                "2d706565722d69642d6f7665722d33322d627974657300000000000000000000";

static const char NODE_ID[] = "node-12D3KooWexample-with-a-long-peer-id-over-32-bytes";

static void test_valid_pow_submitted(void **state)
{
    (void)state;
    struct lp_abi_sig ev;
    struct lp_eth_err err = {0};
    assert_int_equal(lp_abi_parse_signature("ValidPOWSubmitted(address walletAddress, string "
                                            "nodeId, uint256 nonce, uint256 start_timestamp, "
                                            "uint256 complete_timestamp, bytes32 challenge, "
                                            "uint256 difficulty)",
                                            &ev, &err),
                     0);
    uint8_t addr[20], challenge[32], difficulty[32];
    unhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266", addr, sizeof addr);
    lp_keccak256("challenge", 9, challenge);
    /* 0x149a6a3 << 204, LilypadPow's initial targetDifficulty */
    memset(difficulty, 0, sizeof difficulty);
    difficulty[3] = 0x14;
    difficulty[4] = 0x9a;
    difficulty[5] = 0x6a;
    difficulty[6] = 0x30;
    struct lp_abi_value v[7] = {
        lp_abi_address(addr),       lp_abi_string(NODE_ID),  lp_abi_uint(123456789),
        lp_abi_uint(1718000000),    lp_abi_uint(1718000042), lp_abi_fixed_bytes(challenge, 32),
        lp_abi_uint256(difficulty),
    };
    struct lp_evlog log;
    struct lp_eth_buf data = LP_ETH_BUF_INIT;
    assert_int_equal(lp_evlog_encode(&ev, v, &log, &data, &err), 0);
    assert_int_equal(log.n_topics, 1);
    assert_bytes_hex(log.topics[0], 32,
                     "172b7d59e60446d8dfc98985344fb883c871ef150b1db4d1592bcb6769903732");
    assert_bytes_hex(data.data, data.len, VPOW_DATA);

    /* decode the ethers bytes (not ours) */
    static uint8_t raw[512];
    log.data = raw;
    log.data_len = unhex(VPOW_DATA, raw, sizeof raw);
    struct lp_abi_value d[7];
    if (lp_evlog_decode(&ev, &log, d, &err) != 0)
        fail_msg("%s", err.msg);
    uint8_t got_addr[20];
    lp_abi_word_get_address(d[0].word, got_addr);
    assert_memory_equal(got_addr, addr, 20);
    assert_int_equal(d[1].len, strlen(NODE_ID));
    assert_memory_equal(d[1].ptr, NODE_ID, d[1].len);
    uint64_t nonce;
    assert_int_equal(lp_abi_word_get_uint64(d[2].word, &nonce), 0);
    assert_int_equal(nonce, 123456789);
    assert_memory_equal(d[5].word, challenge, 32);
    assert_memory_equal(d[6].word, difficulty, 32);
    uint64_t too_big;
    assert_int_equal(lp_abi_word_get_uint64(d[6].word, &too_big), -1);

    /* a GenerateChallenge log is not a ValidPOWSubmitted log */
    assert_int_equal(lp_evlog_topic0("GenerateChallenge(bytes32,uint256)", log.topics[0], NULL), 0);
    assert_int_equal(lp_evlog_decode(&ev, &log, d, &err), -1);
    assert_non_null(strstr(err.msg, "topic0"));
    /* truncated data */
    lp_evlog_topic0(ev.canonical, log.topics[0], NULL);
    log.data_len -= 32;
    assert_int_equal(lp_evlog_decode(&ev, &log, d, &err), -1);
    lp_eth_buf_free(&data);
}

static void test_generate_challenge(void **state)
{
    (void)state;
    struct lp_abi_sig ev;
    assert_int_equal(lp_abi_parse_signature(
                         "GenerateChallenge(bytes32 challenge, uint256 difficulty)", &ev, NULL),
                     0);
    uint8_t challenge[32], difficulty[32];
    lp_keccak256("challenge", 9, challenge);
    unhex("00000012bfb7abae147ae147ae147ae147aea86434154e5cf34788daa00ce333", difficulty, 32);
    struct lp_abi_value v[2] = {lp_abi_fixed_bytes(challenge, 32), lp_abi_uint256(difficulty)};
    struct lp_evlog log;
    struct lp_eth_buf data = LP_ETH_BUF_INIT;
    assert_int_equal(lp_evlog_encode(&ev, v, &log, &data, NULL), 0);
    assert_bytes_hex(data.data, data.len,
                     "62357b294ca756256b576c5da68950c49d0d1823063551ffdcc1dad9d65a07a6"
                     "00000012bfb7abae147ae147ae147ae147aea86434154e5cf34788daa00ce333");
    log.data = data.data;
    log.data_len = data.len;
    struct lp_abi_value d[2];
    assert_int_equal(lp_evlog_decode(&ev, &log, d, NULL), 0);
    assert_memory_equal(d[0].word, challenge, 32);
    assert_memory_equal(d[1].word, difficulty, 32);
    lp_eth_buf_free(&data);
}

static void test_indexed_transfer(void **state)
{
    (void)state;
    struct lp_abi_sig ev;
    assert_int_equal(
        lp_abi_parse_signature("Transfer(address indexed from, address indexed to, uint256 value)",
                               &ev, NULL),
        0);
    uint8_t from[20], to[20];
    memset(from, 0x11, sizeof from);
    memset(to, 0x22, sizeof to);
    struct lp_abi_value v[3] = {lp_abi_address(from), lp_abi_address(to),
                                lp_abi_uint(1000000000000000000ULL)};
    struct lp_evlog log;
    struct lp_eth_buf data = LP_ETH_BUF_INIT;
    assert_int_equal(lp_evlog_encode(&ev, v, &log, &data, NULL), 0);
    assert_int_equal(log.n_topics, 3);
    assert_bytes_hex(log.topics[0], 32,
                     "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
    assert_bytes_hex(log.topics[1], 32,
                     "0000000000000000000000001111111111111111111111111111111111111111");
    assert_bytes_hex(log.topics[2], 32,
                     "0000000000000000000000002222222222222222222222222222222222222222");
    assert_bytes_hex(data.data, data.len,
                     "0000000000000000000000000000000000000000000000000de0b6b3a7640000");
    log.data = data.data;
    log.data_len = data.len;
    struct lp_abi_value d[3];
    struct lp_eth_err err = {0};
    assert_int_equal(lp_evlog_decode(&ev, &log, d, &err), 0);
    assert_memory_equal(d[0].word, v[0].word, 32);
    assert_memory_equal(d[1].word, v[1].word, 32);
    assert_memory_equal(d[2].word, v[2].word, 32);

    /* a dirty address topic, a missing topic */
    log.topics[2][0] = 1;
    assert_int_equal(lp_evlog_decode(&ev, &log, d, &err), -1);
    assert_non_null(strstr(err.msg, "topic 2"));
    log.topics[2][0] = 0;
    log.n_topics = 2;
    assert_int_equal(lp_evlog_decode(&ev, &log, d, &err), -1);
    assert_non_null(strstr(err.msg, "topics"));
    lp_eth_buf_free(&data);
}

static void test_indexed_string_is_hashed(void **state)
{
    (void)state;
    struct lp_abi_sig ev;
    assert_int_equal(
        lp_abi_parse_signature("DealStateChange(string indexed dealId, uint8 state)", &ev, NULL),
        0);
    struct lp_abi_value v[2] = {lp_abi_string("deal-1"), lp_abi_uint(3)};
    struct lp_evlog log;
    struct lp_eth_buf data = LP_ETH_BUF_INIT;
    assert_int_equal(lp_evlog_encode(&ev, v, &log, &data, NULL), 0);
    uint8_t h[32];
    lp_keccak256("deal-1", 6, h);
    assert_int_equal(log.n_topics, 2);
    assert_memory_equal(log.topics[1], h, 32);
    log.data = data.data;
    log.data_len = data.len;
    struct lp_abi_value d[2];
    assert_int_equal(lp_evlog_decode(&ev, &log, d, NULL), 0);
    assert_true(d[0].hashed);
    assert_memory_equal(d[0].word, h, 32);
    assert_int_equal(d[1].word[31], 3);
    lp_eth_buf_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic0),
        cmocka_unit_test(test_valid_pow_submitted),
        cmocka_unit_test(test_generate_challenge),
        cmocka_unit_test(test_indexed_transfer),
        cmocka_unit_test(test_indexed_string_is_hashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
