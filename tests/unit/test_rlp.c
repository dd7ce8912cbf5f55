/* RLP encoder and strict decoder. Valid vectors: the Ethereum wiki RLP page / Yellow Paper
 * appendix B examples and ethereum/tests RLPTests/rlptest.json ("dog", ["cat","dog"], "",
 * [], 0, 15, 1024, 100000, the set-theoretic three, the 56-byte lorem ipsum). Invalid ones
 * follow ethereum/tests RLPTests/invalidRLPTest.json (non-optimal lengths, a wrapped single
 * byte, leading zeros, truncation) plus our own depth and trailing-garbage cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "eth/rlp.h"
#include "util/hex.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(lp_hex_decode_var(hex, out, cap, &n), 0);
    return n;
}

static void assert_buf_hex(const struct lp_eth_buf *b, const char *hex)
{
    uint8_t want[512];
    size_t n = unhex(hex, want, sizeof want);
    assert_false(b->failed);
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
    /* Everything we encode must pass our own strict decoder. */
    struct lp_eth_err err = {0};
    assert_int_equal(lp_rlp_validate(b->data, b->len, &err), 0);
}

static const char LOREM[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

static void test_encode_strings(void **state)
{
    (void)state;
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    lp_rlp_put_string(&b, "dog");
    assert_buf_hex(&b, "83646f67");
    b.len = 0;
    lp_rlp_put_string(&b, "");
    assert_buf_hex(&b, "80");
    b.len = 0;
    lp_rlp_put_bytes(&b, (const uint8_t *)"\x00", 1);
    assert_buf_hex(&b, "00");
    b.len = 0;
    lp_rlp_put_bytes(&b, (const uint8_t *)"\x7f", 1);
    assert_buf_hex(&b, "7f");
    b.len = 0;
    lp_rlp_put_bytes(&b, (const uint8_t *)"\x80", 1);
    assert_buf_hex(&b, "8180");
    b.len = 0;
    assert_int_equal(strlen(LOREM), 56);
    lp_rlp_put_string(&b, LOREM);
    assert_buf_hex(&b,
                   "b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465"
                   "747572206164697069736963696e6720656c6974");
    lp_eth_buf_free(&b);
}

static void test_encode_integers(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *hex;
    } cases[] = {
        {0, "80"},
        {1, "01"},
        {15, "0f"},
        {127, "7f"},
        {128, "8180"},
        {1024, "820400"},
        {100000, "830186a0"},
        {0xffffffffffffffffULL, "88ffffffffffffffff"},
    };
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.len = 0;
        lp_rlp_put_uint(&b, cases[i].v);
        assert_buf_hex(&b, cases[i].hex);
        /* and back */
        struct lp_rlp_item item;
        uint64_t v = 42;
        assert_int_equal(lp_rlp_decode_one(b.data, b.len, &item, NULL), 0);
        assert_int_equal(lp_rlp_item_uint64(&item, "n", &v, NULL), 0);
        assert_true(v == cases[i].v);
    }
    /* rlptest.json "bigint": 0x010000000000000000000000000000000000000000000000000000000000000000
     * does not fit a uint256 either; a 2^255-ish uint256 via the big-endian path. */
    uint8_t be[32] = {0};
    be[0] = 0x80;
    b.len = 0;
    lp_rlp_put_uint_be(&b, be, sizeof be);
    assert_buf_hex(&b, "a08000000000000000000000000000000000000000000000000000000000000000");
    uint8_t zeros[32] = {0};
    b.len = 0;
    lp_rlp_put_uint_be(&b, zeros, sizeof zeros);
    assert_buf_hex(&b, "80");
    lp_eth_buf_free(&b);
}

static void test_encode_lists(void **state)
{
    (void)state;
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    size_t m = lp_rlp_list_begin(&b);
    lp_rlp_put_string(&b, "cat");
    lp_rlp_put_string(&b, "dog");
    lp_rlp_list_end(&b, m);
    assert_buf_hex(&b, "c88363617483646f67");

    b.len = 0;
    m = lp_rlp_list_begin(&b);
    lp_rlp_list_end(&b, m);
    assert_buf_hex(&b, "c0");

    /* [ [], [[]], [ [], [[]] ] ] */
    b.len = 0;
    size_t outer = lp_rlp_list_begin(&b);
    lp_rlp_list_end(&b, lp_rlp_list_begin(&b));
    size_t l2 = lp_rlp_list_begin(&b);
    lp_rlp_list_end(&b, lp_rlp_list_begin(&b));
    lp_rlp_list_end(&b, l2);
    size_t l3 = lp_rlp_list_begin(&b);
    lp_rlp_list_end(&b, lp_rlp_list_begin(&b));
    size_t l4 = lp_rlp_list_begin(&b);
    lp_rlp_list_end(&b, lp_rlp_list_begin(&b));
    lp_rlp_list_end(&b, l4);
    lp_rlp_list_end(&b, l3);
    lp_rlp_list_end(&b, outer);
    assert_buf_hex(&b, "c7c0c1c0c3c0c1c0");

    /* rlptest.json "longList1": [["asdf","qwer","zxcv"] x4] -> long-form list header f840 */
    b.len = 0;
    outer = lp_rlp_list_begin(&b);
    for (int i = 0; i < 4; i++) {
        size_t in = lp_rlp_list_begin(&b);
        lp_rlp_put_string(&b, "asdf");
        lp_rlp_put_string(&b, "qwer");
        lp_rlp_put_string(&b, "zxcv");
        lp_rlp_list_end(&b, in);
    }
    lp_rlp_list_end(&b, outer);
    assert_buf_hex(&b, "f840cf84617364668471776572847a786376cf84617364668471776572847a786376cf8461"
                       "7364668471776572847a786376cf84617364668471776572847a786376");
    lp_eth_buf_free(&b);
}

static void test_decode_walk(void **state)
{
    (void)state;
    uint8_t in[64];
    size_t n = unhex("c88363617483646f67", in, sizeof in);
    struct lp_rlp_cursor top, inner;
    struct lp_rlp_item list, item;
    lp_rlp_cursor_init(&top, in, n);
    assert_int_equal(lp_rlp_next(&top, &list, NULL), 1);
    assert_true(list.is_list);
    assert_int_equal(list.len, 8);
    assert_int_equal(lp_rlp_enter(&top, &list, &inner, NULL), 0);
    assert_int_equal(lp_rlp_next(&inner, &item, NULL), 1);
    assert_false(item.is_list);
    assert_int_equal(item.len, 3);
    assert_memory_equal(item.payload, "cat", 3);
    assert_int_equal(item.offset, 1);
    assert_int_equal(lp_rlp_next(&inner, &item, NULL), 1);
    assert_memory_equal(item.payload, "dog", 3);
    assert_int_equal(item.offset, 5);
    assert_int_equal(lp_rlp_next(&inner, &item, NULL), 0);
    assert_int_equal(lp_rlp_next(&top, &item, NULL), 0);

    /* lorem: long string */
    n = unhex("b8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e73656374657475"
              "72206164697069736963696e6720656c6974",
              in, sizeof in);
    assert_int_equal(lp_rlp_decode_one(in, n, &item, NULL), 0);
    assert_int_equal(item.len, 56);
    assert_memory_equal(item.payload, LOREM, 56);
}

struct bad_case {
    const char *hex;
    size_t offset;
    const char *needle; /* must appear in the message */
};

static void test_decode_rejects(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"", 0, "empty"},
        {"8100", 0, "single byte"},  /* bytesShouldBeSingleByte00 */
        {"817f", 0, "single byte"},  /* bytesShouldBeSingleByte7F */
        {"b800", 0, "leading zero"}, /* length field 0x00 */
        {"b90002"
         "00",
         0, "leading zero"},             /* leadingZerosInLongLengthArray */
        {"b80100", 0, "<= 55"},          /* nonOptimalLongLengthArray */
        {"f80100", 0, "<= 55"},          /* same for a list */
        {"83646f", 0, "past the end"},   /* "dog" truncated */
        {"b9ffff00", 0, "past the end"}, /* huge declared length */
        {"bf", 0, "runs past the end"},  /* 8-byte length field missing */
        {"83646f6700", 4, "trailing"},   /* trailing garbage */
        {"c3836461", 1, "past the end"}, /* inner item past its list's end */
        {"c383646167", 4, "trailing"},   /* a whole list, then a stray byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t in[64];
        size_t n = unhex(cases[i].hex, in, sizeof in);
        struct lp_eth_err err = {0};
        int r = lp_rlp_validate(in, n, &err);
        if (r == 0)
            fail_msg("case %zu (%s) accepted", i, cases[i].hex);
        if (strstr(err.msg, cases[i].needle) == NULL || err.offset != cases[i].offset)
            fail_msg("case %zu (%s): offset %zu, message \"%s\"", i, cases[i].hex, err.offset,
                     err.msg);
        char off[32];
        snprintf(off, sizeof off, "offset %zu", cases[i].offset);
        assert_non_null(strstr(err.msg, off));
    }
}

static void test_integer_strictness(void **state)
{
    (void)state;
    uint8_t in[64];
    struct lp_rlp_item item;
    struct lp_eth_err err = {0};
    uint64_t v;
    /* 0x820004 = integer 4 with a leading zero byte: a valid string, a bad integer. */
    size_t n = unhex("820004", in, sizeof in);
    assert_int_equal(lp_rlp_decode_one(in, n, &item, &err), 0);
    assert_int_equal(lp_rlp_item_uint64(&item, "nonce", &v, &err), -1);
    assert_non_null(strstr(err.msg, "leading zero"));
    assert_non_null(strstr(err.msg, "nonce"));
    /* integer 0 must be 0x80, not 0x00 */
    n = unhex("00", in, sizeof in);
    assert_int_equal(lp_rlp_decode_one(in, n, &item, &err), 0);
    assert_int_equal(lp_rlp_item_uint64(&item, "nonce", &v, &err), -1);
    /* 9 bytes do not fit a uint64 */
    n = unhex("89010000000000000000", in, sizeof in);
    assert_int_equal(lp_rlp_decode_one(in, n, &item, &err), 0);
    assert_int_equal(lp_rlp_item_uint64(&item, "gas", &v, &err), -1);
    uint8_t u256[32];
    assert_int_equal(lp_rlp_item_uint_be(&item, "value", u256, sizeof u256, &err), 0);
    assert_int_equal(u256[23], 1);
    /* a list is not an integer */
    n = unhex("c0", in, sizeof in);
    assert_int_equal(lp_rlp_decode_one(in, n, &item, &err), 0);
    assert_int_equal(lp_rlp_item_uint64(&item, "gas", &v, &err), -1);
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* LP_RLP_MAX_DEPTH nested empty lists pass; one more fails. */
    uint8_t in[64];
    for (int depth = LP_RLP_MAX_DEPTH; depth <= LP_RLP_MAX_DEPTH + 1; depth++) {
        struct lp_eth_buf b = LP_ETH_BUF_INIT;
        size_t marks[32];
        for (int i = 0; i < depth; i++)
            marks[i] = lp_rlp_list_begin(&b);
        for (int i = depth - 1; i >= 0; i--)
            lp_rlp_list_end(&b, marks[i]);
        assert_true(b.len <= sizeof in);
        memcpy(in, b.data, b.len);
        struct lp_eth_err err = {0};
        int r = lp_rlp_validate(in, b.len, &err);
        if (depth <= LP_RLP_MAX_DEPTH) {
            assert_int_equal(r, 0);
        } else {
            assert_int_equal(r, -1);
            assert_non_null(strstr(err.msg, "deeper"));
            assert_int_equal(err.offset, LP_RLP_MAX_DEPTH);
        }
        lp_eth_buf_free(&b);
    }
}

static void test_long_payloads(void **state)
{
    (void)state;
    /* A 70000-byte string needs a 3-byte length field (b a 0x011170). */
    static uint8_t big[70000];
    memset(big, 0xab, sizeof big);
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    size_t m = lp_rlp_list_begin(&b);
    lp_rlp_put_bytes(&b, big, sizeof big);
    lp_rlp_list_end(&b, m);
    assert_false(b.failed);
    assert_int_equal(b.data[0], 0xfa); /* list, 3-byte length */
    assert_int_equal(b.data[4], 0xba); /* string, 3-byte length */
    assert_int_equal(b.data[5], 0x01);
    assert_int_equal(b.data[6], 0x11);
    assert_int_equal(b.data[7], 0x70);
    assert_int_equal(lp_rlp_validate(b.data, b.len, NULL), 0);
    /* cut one byte: must fail, not read past the end */
    assert_int_equal(lp_rlp_validate(b.data, b.len - 1, NULL), -1);
    lp_eth_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_strings), cmocka_unit_test(test_encode_integers),
        cmocka_unit_test(test_encode_lists),   cmocka_unit_test(test_decode_walk),
        cmocka_unit_test(test_decode_rejects), cmocka_unit_test(test_integer_strictness),
        cmocka_unit_test(test_depth_limit),    cmocka_unit_test(test_long_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
