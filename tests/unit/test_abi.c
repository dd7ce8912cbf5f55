/* Solidity ABI coder. Vectors:
 *  - Solidity docs, "Contract ABI Specification" examples: baz(uint32,bool) (69, true),
 *    sam(bytes,bool,uint256[]) ("dave", true, [1,2,3]), f(uint256,uint32[],bytes10,bytes)
 *    (0x123, [0x456, 0x789], "1234567890", "Hello, world!"), word for word.
 *  - the ERC-20 and LilypadPow selectors and the static tuple (bytes32,uint256,address).
 *  - ethers 6 AbiCoder output for signed ints and bytes3 (cross-checked while writing these
 *    tests: node -e "AbiCoder.defaultAbiCoder().encode([...])"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/keccak.h"
#include "eth/abi.h"
#include "util/hex.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(lp_hex_decode_var(hex, out, cap, &n), 0);
    return n;
}

static void assert_buf_hex(const struct lp_eth_buf *b, const char *hex)
{
    static uint8_t want[2048];
    size_t n = unhex(hex, want, sizeof want);
    if (b->len != n || memcmp(b->data, want, n) != 0) {
        char *g = malloc(2 * b->len + 1);
        lp_hex_encode(b->data, b->len, g);
        fprintf(stderr, "want %s\n got %s\n", hex, g);
        free(g);
        fail();
    }
}

static void assert_selector(const char *sig_text, const char *hex)
{
    struct lp_abi_sig sig;
    struct lp_eth_err err = {0};
    if (lp_abi_parse_signature(sig_text, &sig, &err) != 0)
        fail_msg("%s: %s", sig_text, err.msg);
    uint8_t sel[4], want[4];
    lp_abi_selector(&sig, sel);
    unhex(hex, want, sizeof want);
    if (memcmp(sel, want, 4) != 0)
        fail_msg("%s: selector %02x%02x%02x%02x, want %s", sig_text, sel[0], sel[1], sel[2], sel[3],
                 hex);
}

static void test_selectors(void **state)
{
    (void)state;
    assert_selector("transfer(address,uint256)", "a9059cbb");
    assert_selector("balanceOf(address)", "70a08231");
    assert_selector("baz(uint32,bool)", "cdcd77c0");
    assert_selector("sam(bytes,bool,uint256[])", "a5643bf2");
    assert_selector("f(uint256,uint32[],bytes10,bytes)", "8be65246");
    assert_selector("Error(string)", "08c379a0");
    assert_selector("Panic(uint256)", "4e487b71");
    assert_selector("arbBlockNumber()", "a3b1b31d");
    assert_selector("getPricesInWei()", "41b247a8");
    assert_selector("gasEstimateComponents(address,bool,bytes)", "c94e6eeb");
    /* names, spaces and `uint` spelled short do not change the selector */
    assert_selector("transfer(address to, uint amount)", "a9059cbb");
    assert_selector("submitWork(uint256 nonce, string nodeId)", "da8accf9"); /* ethers.id */
}

static void test_signature_parsing(void **state)
{
    (void)state;
    struct lp_abi_sig sig;
    struct lp_eth_err err = {0};
    assert_int_equal(
        lp_abi_parse_signature("Transfer(address indexed from, address indexed to, uint value)",
                               &sig, &err),
        0);
    assert_string_equal(sig.canonical, "Transfer(address,address,uint256)");
    assert_int_equal(sig.n, 3);
    assert_true(sig.indexed[0] && sig.indexed[1] && !sig.indexed[2]);
    assert_int_equal(lp_abi_parse_signature("NewPowRound()", &sig, &err), 0);
    assert_int_equal(sig.n, 0);
    assert_string_equal(sig.canonical, "NewPowRound()");

    static const char *bad[] = {
        "f(uint7)",    "f(uint264)", "f(bytes33)",     "f(bytes0)", "f(uint256[2])",
        "f(string[])", "f(bytes[])", "f((uint,bool))", "f(",        "f(uint256,)",
        "(uint256)",   "f(uint256",  "f(foo)",         "f(uint08)", "f(uint256[][])",
        "f(a b c d)",  "1f()",       "f(uint256 x y)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        if (lp_abi_parse_signature(bad[i], &sig, &err) == 0)
            fail_msg("accepted %s", bad[i]);
        assert_true(strncmp(err.msg, "abi: ", 5) == 0);
    }
    char many[400] = "f(";
    for (int i = 0; i <= LP_ABI_MAX_ARGS; i++)
        strcat(many, i ? ",bool" : "bool");
    strcat(many, ")");
    assert_int_equal(lp_abi_parse_signature(many, &sig, &err), -1);
}

static void test_spec_baz(void **state)
{
    (void)state;
    struct lp_abi_value v[2] = {lp_abi_uint(69), lp_abi_bool(true)};
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    struct lp_eth_err err = {0};
    assert_int_equal(lp_abi_encode_call("baz(uint32,bool)", v, 2, &b, &err), 0);
    assert_buf_hex(&b, "cdcd77c0"
                       "0000000000000000000000000000000000000000000000000000000000000045"
                       "0000000000000000000000000000000000000000000000000000000000000001");
    struct lp_abi_sig sig;
    struct lp_abi_value d[2];
    uint64_t x;
    lp_abi_parse_signature("baz(uint32,bool)", &sig, NULL);
    assert_int_equal(lp_abi_decode_call(&sig, b.data, b.len, d, &err), 0);
    assert_int_equal(lp_abi_word_get_uint64(d[0].word, &x), 0);
    assert_int_equal(x, 69);
    assert_int_equal(d[1].word[31], 1);
    /* wrong argument count */
    b.len = 0;
    assert_int_equal(lp_abi_encode_call("baz(uint32,bool)", v, 1, &b, &err), -1);
    lp_eth_buf_free(&b);
}

static const char SAM_HEX[] = "a5643bf2"
                              "0000000000000000000000000000000000000000000000000000000000000060"
                              "0000000000000000000000000000000000000000000000000000000000000001"
                              "00000000000000000000000000000000000000000000000000000000000000a0"
                              "0000000000000000000000000000000000000000000000000000000000000004"
                              "6461766500000000000000000000000000000000000000000000000000000000"
                              "0000000000000000000000000000000000000000000000000000000000000003"
                              "0000000000000000000000000000000000000000000000000000000000000001"
                              "0000000000000000000000000000000000000000000000000000000000000002"
                              "0000000000000000000000000000000000000000000000000000000000000003";

static void test_spec_sam(void **state)
{
    (void)state;
    uint8_t words[3][32];
    for (int i = 0; i < 3; i++)
        lp_abi_word_uint64(words[i], (uint64_t)i + 1);
    struct lp_abi_value v[3] = {lp_abi_bytes((const uint8_t *)"dave", 4), lp_abi_bool(true),
                                lp_abi_array((const uint8_t(*)[32])words, 3)};
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    struct lp_eth_err err = {0};
    assert_int_equal(lp_abi_encode_call("sam(bytes,bool,uint256[])", v, 3, &b, &err), 0);
    assert_buf_hex(&b, SAM_HEX);

    struct lp_abi_sig sig;
    struct lp_abi_value d[3];
    lp_abi_parse_signature("sam(bytes,bool,uint256[])", &sig, NULL);
    assert_int_equal(lp_abi_decode_call(&sig, b.data, b.len, d, &err), 0);
    assert_int_equal(d[0].len, 4);
    assert_memory_equal(d[0].ptr, "dave", 4);
    assert_int_equal(d[1].word[31], 1);
    assert_int_equal(d[2].len, 3);
    for (int i = 0; i < 3; i++) {
        uint64_t x;
        assert_int_equal(lp_abi_word_get_uint64(d[2].ptr + 32 * i, &x), 0);
        assert_int_equal(x, i + 1);
    }
    lp_eth_buf_free(&b);
}

static void test_spec_f(void **state)
{
    (void)state;
    uint8_t words[2][32];
    lp_abi_word_uint64(words[0], 0x456);
    lp_abi_word_uint64(words[1], 0x789);
    struct lp_abi_value v[4] = {
        lp_abi_uint(0x123),
        lp_abi_array((const uint8_t(*)[32])words, 2),
        lp_abi_fixed_bytes((const uint8_t *)"1234567890", 10),
        lp_abi_string("Hello, world!"),
    };
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    struct lp_eth_err err = {0};
    assert_int_equal(lp_abi_encode_call("f(uint256,uint32[],bytes10,bytes)", v, 4, &b, &err), 0);
    assert_buf_hex(&b, "8be65246"
                       "0000000000000000000000000000000000000000000000000000000000000123"
                       "0000000000000000000000000000000000000000000000000000000000000080"
                       "3132333435363738393000000000000000000000000000000000000000000000"
                       "00000000000000000000000000000000000000000000000000000000000000e0"
                       "0000000000000000000000000000000000000000000000000000000000000002"
                       "0000000000000000000000000000000000000000000000000000000000000456"
                       "0000000000000000000000000000000000000000000000000000000000000789"
                       "000000000000000000000000000000000000000000000000000000000000000d"
                       "48656c6c6f2c20776f726c642100000000000000000000000000000000000000");
    struct lp_abi_sig sig;
    struct lp_abi_value d[4];
    lp_abi_parse_signature("f(uint256,uint32[],bytes10,bytes)", &sig, NULL);
    assert_int_equal(lp_abi_decode_call(&sig, b.data, b.len, d, &err), 0);
    assert_int_equal(d[3].len, 13);
    assert_memory_equal(d[3].ptr, "Hello, world!", 13);
    assert_memory_equal(d[2].word, "1234567890", 10);
    /* a uint32[] element above 2^32 is refused by the encoder */
    lp_abi_word_uint64(words[1], 0x100000000ULL);
    b.len = 0;
    assert_int_equal(lp_abi_encode_call("f(uint256,uint32[],bytes10,bytes)", v, 4, &b, &err), -1);
    assert_non_null(strstr(err.msg, "uint32"));
    lp_eth_buf_free(&b);
}

static void test_static_tuple_and_ints(void **state)
{
    (void)state;
    uint8_t h[32], addr[20];
    lp_keccak256("job-1", 5, h);
    unhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266", addr, sizeof addr);
    struct lp_abi_type t[3] = {
        {LP_ABI_FIXED_BYTES, 32, false}, {LP_ABI_UINT, 256, false}, {LP_ABI_ADDRESS, 0, false}};
    struct lp_abi_value v[3] = {lp_abi_fixed_bytes(h, 32), lp_abi_uint(42), lp_abi_address(addr)};
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    assert_int_equal(lp_abi_encode(t, v, 3, &b, NULL), 0);
    assert_buf_hex(&b, "1e8d7affdec8df51ae5319b51f761c1e6cd166e9fa61e013889f2e65136eb73a"
                       "000000000000000000000000000000000000000000000000000000000000002a"
                       "000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266");

    /* ethers: encode(['int8','int256','int64','uint8','bytes3'], [-128, -1, -5, 255, 'abc']) */
    struct lp_abi_sig sig;
    lp_abi_parse_signature("g(int8,int256,int64,uint8,bytes3)", &sig, NULL);
    struct lp_abi_value iv[5] = {lp_abi_int(-128), lp_abi_int(-1), lp_abi_int(-5), lp_abi_uint(255),
                                 lp_abi_fixed_bytes((const uint8_t *)"abc", 3)};
    b.len = 0;
    assert_int_equal(lp_abi_encode(sig.types, iv, 5, &b, NULL), 0);
    assert_buf_hex(&b, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80"
                       "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                       "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb"
                       "00000000000000000000000000000000000000000000000000000000000000ff"
                       "6162630000000000000000000000000000000000000000000000000000000000");
    struct lp_abi_value d[5];
    assert_int_equal(lp_abi_decode(b.data, b.len, sig.types, 5, d, NULL), 0);
    for (int i = 0; i < 5; i++)
        assert_memory_equal(d[i].word, iv[i].word, 32);
    /* out of range for the declared width */
    struct lp_abi_value too_big[5] = {lp_abi_int(-129), lp_abi_int(-1), lp_abi_int(-5),
                                      lp_abi_uint(256), iv[4]};
    b.len = 0;
    assert_int_equal(lp_abi_encode(sig.types, too_big, 5, &b, NULL), -1);
    too_big[0] = lp_abi_int(127);
    assert_int_equal(lp_abi_encode(sig.types, too_big, 5, &b, NULL), -1); /* uint8 256 */
    lp_eth_buf_free(&b);
}

/* Decoding `hex` as `types_sig` must fail at `offset` with `needle` in the message. */
static void expect_reject(const char *types_sig, const char *hex, size_t offset, const char *needle)
{
    static uint8_t in[1024];
    size_t n = unhex(hex, in, sizeof in);
    struct lp_abi_sig sig;
    assert_int_equal(lp_abi_parse_signature(types_sig, &sig, NULL), 0);
    struct lp_abi_value d[LP_ABI_MAX_ARGS];
    struct lp_eth_err err = {0};
    if (lp_abi_decode(in, n, sig.types, sig.n, d, &err) == 0)
        fail_msg("%s accepted %s", types_sig, hex);
    if (strstr(err.msg, needle) == NULL || err.offset != offset)
        fail_msg("%s: offset %zu, message \"%s\" (want offset %zu, \"%s\")", types_sig, err.offset,
                 err.msg, offset, needle);
}

#define W0   "0000000000000000000000000000000000000000000000000000000000000000"
#define W1   "0000000000000000000000000000000000000000000000000000000000000001"
#define W2   "0000000000000000000000000000000000000000000000000000000000000002"
#define W20  "0000000000000000000000000000000000000000000000000000000000000020"
#define W40  "0000000000000000000000000000000000000000000000000000000000000040"
#define WBIG "1000000000000000000000000000000000000000000000000000000000000000"

static void test_decode_rejects(void **state)
{
    (void)state;
    expect_reject("f(uint256,uint256)", W1, 32, "shorter than");
    expect_reject("f(bool)", W2, 0, "bool");
    expect_reject("f(address)", "0000000000000000000000010000000000000000000000000000000000000000",
                  0, "address");
    expect_reject("f(uint8)", "0000000000000000000000000000000000000000000000000000000000000100", 0,
                  "uint8");
    expect_reject("f(int8)", "00000000000000000000000000000000000000000000000000000000000000ff", 0,
                  "int8");
    expect_reject("f(bytes3)", "6162636400000000000000000000000000000000000000000000000000000000",
                  0, "padding");
    /* offsets: past the end, huge, and a length word that does not fit */
    expect_reject("f(string)", W40 W0, 0, "offset is out of range");
    expect_reject("f(string)", WBIG, 0, "offset is out of range");
    expect_reject("f(bytes)", W20 W2, 32, "byte length is out of range");
    expect_reject("f(bytes)", W20 W20 "61", 32, "byte length");
    /* padding after the contents must be zero */
    expect_reject("f(string)",
                  W20 W1 "6162000000000000000000000000000000000000000000000000000000000000", 65,
                  "padding");
    /* arrays: count larger than what is left, and a bad element */
    expect_reject("f(uint256[])", W20 W2 W1, 32, "array length");
    expect_reject("f(uint256[])", W20 WBIG, 32, "array length");
    expect_reject("f(bool[])", W20 W1 W2, 64, "bool");
    /* selector mismatch */
    struct lp_abi_sig sig;
    uint8_t in[512];
    size_t n = unhex(SAM_HEX, in, sizeof in);
    in[0] ^= 1;
    struct lp_abi_value d[3];
    struct lp_eth_err err = {0};
    lp_abi_parse_signature("sam(bytes,bool,uint256[])", &sig, NULL);
    assert_int_equal(lp_abi_decode_call(&sig, in, n, d, &err), -1);
    assert_non_null(strstr(err.msg, "selector"));
    /* an offset error inside calldata counts the selector */
    in[0] ^= 1;
    in[4 + 30] = 0x01; /* bytes offset 0x160: past the 288-byte arguments */
    assert_int_equal(lp_abi_decode_call(&sig, in, n, d, &err), -1);
    assert_int_equal(err.offset, 4);
    assert_non_null(strstr(err.msg, "offset 4"));
}

static void test_empty_dynamic(void **state)
{
    (void)state;
    struct lp_abi_sig sig;
    lp_abi_parse_signature("f(string,uint256[],bytes)", &sig, NULL);
    struct lp_abi_value v[3] = {lp_abi_string(""), lp_abi_array(NULL, 0), lp_abi_bytes(NULL, 0)};
    struct lp_eth_buf b = LP_ETH_BUF_INIT;
    assert_int_equal(lp_abi_encode(sig.types, v, 3, &b, NULL), 0);
    assert_int_equal(b.len, 6 * 32);
    struct lp_abi_value d[3];
    assert_int_equal(lp_abi_decode(b.data, b.len, sig.types, 3, d, NULL), 0);
    assert_int_equal(d[0].len + d[1].len + d[2].len, 0);
    lp_eth_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors),      cmocka_unit_test(test_signature_parsing),
        cmocka_unit_test(test_spec_baz),       cmocka_unit_test(test_spec_sam),
        cmocka_unit_test(test_spec_f),         cmocka_unit_test(test_static_tuple_and_ints),
        cmocka_unit_test(test_decode_rejects), cmocka_unit_test(test_empty_dynamic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
