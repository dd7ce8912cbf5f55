/* Keystore v3 and key files: the Web3 Secret Storage spec vectors (read by geth and ethers),
 * write+read round trips, strict rejection of malformed or hostile files, scrypt cross-checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "crypto/keyfile.h"
#include "crypto/keystore.h"
#include "crypto/scrypt.h"
#include "util/hex.h"

#define VECTORS        LP_SOURCE_DIR "/tests/vectors/keystore/"
#define SPEC_SECRET    "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
#define SPEC_PASSWORD  "testpassword"
#define WRONG_PASSWORD "wrong password or corrupted keystore"

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(LP_KEYSTORE_MAX_SIZE + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, LP_KEYSTORE_MAX_SIZE, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void assert_secret(const struct lp_key *key, const char *hex)
{
    uint8_t expected[32];
    assert_int_equal(lp_hex_decode_fixed(hex, expected, 32), 0);
    assert_memory_equal(key->secret, expected, 32);
}

static void decrypt_spec_vector(const char *file)
{
    size_t len;
    char *json = read_text(file, &len);
    struct lp_key key;
    char err[LP_KEYSTORE_ERR_LEN] = "";
    int rc = lp_keystore_decrypt(json, len, SPEC_PASSWORD, strlen(SPEC_PASSWORD), NULL, &key, err,
                                 sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", file, err);
    assert_secret(&key, SPEC_SECRET);

    rc = lp_keystore_decrypt(json, len, "testpasswore", 12, NULL, &key, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, WRONG_PASSWORD));
    free(json);
}

static void test_spec_vector_pbkdf2(void **state)
{
    (void)state;
    decrypt_spec_vector(VECTORS "spec-pbkdf2.json");
}

/* n = 2^18 with r = 1: outside what OpenSSL's scrypt accepts, so this also exercises ours. */
static void test_spec_vector_scrypt(void **state)
{
    (void)state;
    decrypt_spec_vector(VECTORS "spec-scrypt.json");
}

static void round_trip(const struct lp_keystore_params *params)
{
    struct lp_key key, back;
    char *json = NULL;
    char err[LP_KEYSTORE_ERR_LEN] = "";
    assert_int_equal(lp_key_generate(&key), 0);
    if (lp_keystore_encrypt(&key, "pässword", strlen("pässword"), params, &json, err, sizeof err))
        fail_msg("encrypt: %s", err);
    assert_null(strstr(json, "\"secret\"")); /* nothing but ciphertext */
    if (lp_keystore_decrypt(json, strlen(json), "pässword", strlen("pässword"), NULL, &back, err,
                            sizeof err))
        fail_msg("decrypt: %s", err);
    assert_memory_equal(&back, &key, sizeof key);
    assert_int_equal(
        lp_keystore_decrypt(json, strlen(json), "password", 8, NULL, &back, err, sizeof err), -1);
    assert_non_null(strstr(err, WRONG_PASSWORD));

    /* flip one ciphertext digit: the MAC catches it */
    char *ct = strstr(json, "\"ciphertext\": \"");
    assert_non_null(ct);
    ct += strlen("\"ciphertext\": \"");
    *ct = *ct == '0' ? '1' : '0';
    assert_int_equal(lp_keystore_decrypt(json, strlen(json), "pässword", strlen("pässword"), NULL,
                                         &back, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, WRONG_PASSWORD));
    free(json);
    lp_key_wipe(&key);
}

static void test_round_trips_small_kdf(void **state)
{
    (void)state;
    struct lp_keystore_params p;
    lp_keystore_params_default(&p, LP_KEYSTORE_SCRYPT);
    p.scrypt_n = 1024;
    round_trip(&p);
    p.scrypt_r = 1; /* our scrypt path (OpenSSL refuses n >= 2^16 only) */
    round_trip(&p);
    lp_keystore_params_default(&p, LP_KEYSTORE_PBKDF2);
    p.pbkdf2_c = 1000;
    round_trip(&p);
}

/* The address field, when present, must match the decrypted key. */
static void test_address_mismatch(void **state)
{
    (void)state;
    struct lp_keystore_params p;
    struct lp_key key, back;
    char *json = NULL;
    char err[LP_KEYSTORE_ERR_LEN] = "";
    lp_keystore_params_default(&p, LP_KEYSTORE_PBKDF2);
    p.pbkdf2_c = 10;
    assert_int_equal(lp_key_generate(&key), 0);
    assert_int_equal(lp_keystore_encrypt(&key, "pw", 2, &p, &json, err, sizeof err), 0);
    char *addr = strstr(json, "\"address\": \"");
    assert_non_null(addr);
    addr += strlen("\"address\": \"");
    *addr = *addr == '0' ? '1' : '0';
    assert_int_equal(lp_keystore_decrypt(json, strlen(json), "pw", 2, NULL, &back, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "address"));
    free(json);
}

/* A valid pbkdf2 keystore body with a placeholder for each variant's crypto object. */
static void test_malformed_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"version\":3}",
        "{\"version\":2,\"crypto\":{}}",
        "{\"version\":\"3\",\"crypto\":{}}",
        "{\"version\":3.0,\"crypto\":{}}",
        "{\"version\":3,\"crypto\":[]}",
        "{\"version\":3,\"crypto\":{},\"Crypto\":{}}",
        "{\"version\":3,\"version\":3,\"crypto\":{}}",
#define CP   "\"cipherparams\":{\"iv\":\"6087dab2f9fdbbfaddc31a909735c1e6\"},"
#define CT   "\"ciphertext\":\"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46\","
#define MAC  "\"mac\":\"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2\","
#define SALT "\"salt\":\"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd\""
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-cbc\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\",\"cipherparams\":{\"iv\":\"6087\"}"
        "," CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP "\"ciphertext\":\"5318\"," MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT
        "\"mac\":\"zz7ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2\","
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"argon2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":16,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha512\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":-1,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":0,\"dklen\":32,\"prf\":\"hmac-sha256\"," SALT
        "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":1,\"dklen\":32,\"prf\":\"hmac-sha256\","
        "\"salt\":\"ae3c\"}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1000,\"r\":8,\"p\":1,\"dklen\":32," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1024.0,\"r\":8,\"p\":1,\"dklen\":32," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1024,\"r\":0,\"p\":1,\"dklen\":32," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1024,\"r\":8,\"p\":99999,\"dklen\":32," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1024,\"r\":8,\"p\":1,\"dklen\":32," SALT "}},"
        "\"address\":\"xyz\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct lp_key key;
        char err[LP_KEYSTORE_ERR_LEN] = "";
        int rc = lp_keystore_decrypt(bad[i], strlen(bad[i]), "x", 1, NULL, &key, err, sizeof err);
        if (rc != -1)
            fail_msg("case %zu accepted", i);
        if (strncmp(err, "keystore: ", 10) != 0 || strlen(err) < 15)
            fail_msg("case %zu: no clear error (\"%s\")", i, err);
        /* none of these is a password problem: the error must say what is wrong instead */
        if (strstr(err, WRONG_PASSWORD) != NULL)
            fail_msg("case %zu: structural error reported as a MAC failure", i);
    }
}

/* A hostile file cannot make us run a huge KDF: the caps answer before any work. */
static void test_kdf_cost_caps(void **state)
{
    (void)state;
    static const char *const costly[] = {
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":2097152,\"r\":8,\"p\":1,\"dklen\":32," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1048576,\"r\":32,\"p\":1,\"dklen\":32," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":10000001,\"dklen\":32,\"prf\":\"hmac-"
        "sha256\"," SALT "}}}",
        "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
        "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":99999999999,\"dklen\":32,\"prf\":\"hmac-"
        "sha256\"," SALT "}}}",
    };
    for (size_t i = 0; i < sizeof costly / sizeof costly[0]; i++) {
        struct lp_key key;
        char err[LP_KEYSTORE_ERR_LEN] = "";
        assert_int_equal(
            lp_keystore_decrypt(costly[i], strlen(costly[i]), "x", 1, NULL, &key, err, sizeof err),
            -1);
        if (strstr(err, "kdfparams") == NULL)
            fail_msg("case %zu: \"%s\"", i, err);
    }
    char *big = malloc(LP_KEYSTORE_MAX_SIZE + 2);
    struct lp_key key;
    char err[LP_KEYSTORE_ERR_LEN] = "";
    memset(big, ' ', LP_KEYSTORE_MAX_SIZE + 1);
    assert_int_equal(
        lp_keystore_decrypt(big, LP_KEYSTORE_MAX_SIZE + 1, "x", 1, NULL, &key, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "too large"));
    free(big);
}

/* Each cap is inclusive: a keystore exactly at it decrypts, one step over is refused with the
 * parameter and the limit named. Small limits keep the KDF work here tiny. */
static void test_kdf_cost_cap_boundaries(void **state)
{
    (void)state;
    const struct lp_keystore_limits limits = {
        .scrypt_n_max = 64,
        .scrypt_mem_max = 128 * 64 * 2,
        .scrypt_work_max = 64 * 2 * 3,
        .pbkdf2_c_max = 100,
    };
    static const struct {
        enum lp_keystore_kdf kdf;
        uint32_t n, r, p, c;
        const char *refusal; /* NULL: accepted */
    } cases[] = {
        {LP_KEYSTORE_SCRYPT, 64, 2, 3, 0, NULL},
        {LP_KEYSTORE_SCRYPT, 128, 1, 1, 0, "crypto.kdfparams.n: 128 is over the limit 64"},
        {LP_KEYSTORE_SCRYPT, 64, 3, 1, 0, "scrypt n=64 r=3 needs"},
        {LP_KEYSTORE_SCRYPT, 64, 2, 4, 0, "n*r*p = 512 is over the limit 384"},
        {LP_KEYSTORE_PBKDF2, 0, 0, 0, 100, NULL},
        {LP_KEYSTORE_PBKDF2, 0, 0, 0, 101, "crypto.kdfparams.c: 101 is over the limit 100"},
    };
    struct lp_key key, back;
    assert_int_equal(lp_key_generate(&key), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lp_keystore_params p;
        char *json = NULL, err[LP_KEYSTORE_ERR_LEN] = "";
        lp_keystore_params_default(&p, cases[i].kdf);
        if (cases[i].kdf == LP_KEYSTORE_SCRYPT) {
            p.scrypt_n = cases[i].n;
            p.scrypt_r = cases[i].r;
            p.scrypt_p = cases[i].p;
        } else {
            p.pbkdf2_c = cases[i].c;
        }
        assert_int_equal(lp_keystore_encrypt(&key, "pw", 2, &p, &json, err, sizeof err), 0);
        int rc = lp_keystore_decrypt(json, strlen(json), "pw", 2, &limits, &back, err, sizeof err);
        free(json);
        if (cases[i].refusal == NULL && rc != 0)
            fail_msg("case %zu refused: %s", i, err);
        if (cases[i].refusal != NULL && (rc != -1 || strstr(err, cases[i].refusal) == NULL))
            fail_msg("case %zu: want \"%s\", got rc %d \"%s\"", i, cases[i].refusal, rc, err);
    }
}

/* The default caps let every wallet's default through (no KDF runs here: the check comes first,
 * so a wrong MAC would be the only error), and refuse the costs just above them. */
static void test_default_caps_admit_wallet_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *kdfparams;
        bool admitted;
    } cases[] = {
        /* geth standard, geth light, eth-keyfile and the spec vector, ethers, web3.js */
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":262144,\"r\":8,\"p\":1,", true},
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":4096,\"r\":8,\"p\":6,", true},
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":262144,\"r\":1,\"p\":8,", true},
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":131072,\"r\":8,\"p\":1,", true},
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":8192,\"r\":8,\"p\":1,", true},
        /* the most work accepted: twice geth standard */
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":262144,\"r\":8,\"p\":2,", true},
        {"\"kdf\":\"pbkdf2\",\"kdfparams\":{\"prf\":\"hmac-sha256\",\"c\":262144,", true},
        {"\"kdf\":\"pbkdf2\",\"kdfparams\":{\"prf\":\"hmac-sha256\",\"c\":1000000,", true},
        {"\"kdf\":\"pbkdf2\",\"kdfparams\":{\"prf\":\"hmac-sha256\",\"c\":4194304,", true},
        /* just over: memory, work, iterations */
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":524288,\"r\":8,\"p\":1,", false},
        {"\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":262144,\"r\":8,\"p\":3,", false},
        {"\"kdf\":\"pbkdf2\",\"kdfparams\":{\"prf\":\"hmac-sha256\",\"c\":4194305,", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024], err[LP_KEYSTORE_ERR_LEN] = "";
        snprintf(json, sizeof json,
                 "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\"," CP CT MAC
                 "%s\"dklen\":32," SALT "}}}",
                 cases[i].kdfparams);
        int rc = lp_keystore_check(json, strlen(json), NULL, err, sizeof err);
        if (cases[i].admitted && rc != 0)
            fail_msg("case %zu refused: %s", i, err);
        if (!cases[i].admitted && (rc != -1 || strstr(err, "over the limit") == NULL))
            fail_msg("case %zu admitted (rc %d, \"%s\")", i, rc, err);
    }
}

/* Nesting 32,000 arrays deep in 64 KiB would overflow a recursive parser's stack; jansson stops
 * at its depth limit with an error instead. */
static void test_deep_nesting_is_an_error(void **state)
{
    (void)state;
    size_t depth = (LP_KEYSTORE_MAX_SIZE - 8) / 2;
    char *json = malloc(LP_KEYSTORE_MAX_SIZE);
    assert_non_null(json);
    size_t n = 0;
    n += (size_t)sprintf(json, "{\"a\":");
    memset(json + n, '[', depth);
    n += depth;
    memset(json + n, ']', depth);
    n += depth;
    json[n++] = '}';
    assert_true(n <= LP_KEYSTORE_MAX_SIZE);
    struct lp_key key;
    char err[LP_KEYSTORE_ERR_LEN] = "";
    assert_int_equal(lp_keystore_decrypt(json, n, "x", 1, NULL, &key, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    free(json);
}

static void test_scrypt_against_rfc_and_openssl(void **state)
{
    (void)state;
    uint8_t out[64], expected[64];
    /* RFC 7914 section 12 */
    assert_int_equal(lp_scrypt("", 0, (const uint8_t *)"", 0, 16, 1, 1, out, 64), 0);
    lp_hex_decode_fixed("77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069"
                        "ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906",
                        expected, 64);
    assert_memory_equal(out, expected, 64);
    assert_int_equal(lp_scrypt("password", 8, (const uint8_t *)"NaCl", 4, 1024, 8, 16, out, 64), 0);
    lp_hex_decode_fixed("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d"
                        "92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
                        expected, 64);
    assert_memory_equal(out, expected, 64);
    /* parameters on both sides of OpenSSL's rule */
    static const struct {
        uint64_t n;
        uint32_t r, p;
    } cases[] = {{2, 1, 1}, {32768, 1, 2}, {4096, 2, 3}, {256, 5, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(lp_scrypt("pw", 2, (const uint8_t *)"salty", 5, cases[i].n, cases[i].r,
                                   cases[i].p, out, 32),
                         0);
        assert_int_equal(EVP_PBE_scrypt("pw", 2, (const uint8_t *)"salty", 5, cases[i].n,
                                        cases[i].r, cases[i].p, 1u << 28, expected, 32),
                         1);
        assert_memory_equal(out, expected, 32);
    }
    assert_int_equal(lp_scrypt("pw", 2, (const uint8_t *)"s", 1, 1000, 1, 1, out, 32), -1);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/lp-test-keyfile-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_hex_key_files(void **state)
{
    (void)state;
    struct lp_key key, back;
    char path[128], err[512] = "";
    struct stat st;
    bool is_keystore = true;
    snprintf(path, sizeof path, "%s/k.hex", tmpdir);
    assert_int_equal(lp_key_generate(&key), 0);
    assert_int_equal(lp_keyfile_write_hex(path, &key, false, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    assert_int_equal(lp_keyfile_load(path, NULL, 0, &back, &is_keystore, err, sizeof err), 0);
    assert_false(is_keystore);
    assert_memory_equal(&back, &key, sizeof key);
    /* never overwritten by accident */
    assert_int_equal(lp_keyfile_write_hex(path, &back, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "already exists"));
    struct lp_key other;
    assert_int_equal(lp_key_generate(&other), 0);
    assert_int_equal(lp_keyfile_write_hex(path, &other, true, err, sizeof err), 0);
    assert_int_equal(lp_keyfile_load(path, NULL, 0, &back, NULL, err, sizeof err), 0);
    assert_memory_equal(&back, &other, sizeof other);

    static const char *good[] = {
        "0x" SPEC_SECRET, SPEC_SECRET, SPEC_SECRET "\n", "0x" SPEC_SECRET "\r\n",
        "0X7A28B5BA57C53603B0B07B56BBA752F7784BF506FA95EDC395F5CF6C7514FE9D"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(lp_key_parse_hex(good[i], strlen(good[i]), &back, err, sizeof err), 0);
        assert_secret(&back, SPEC_SECRET);
    }
    static const char *badhex[] = {
        "",
        "0x",
        SPEC_SECRET "00",
        "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9",
        " " SPEC_SECRET,
        SPEC_SECRET "\n\n",
        "0x7g28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"};
    for (size_t i = 0; i < sizeof badhex / sizeof badhex[0]; i++) {
        err[0] = '\0';
        if (lp_key_parse_hex(badhex[i], strlen(badhex[i]), &back, err, sizeof err) != -1)
            fail_msg("bad hex %zu accepted", i);
        assert_true(strlen(err) > 10);
    }
}

static void test_keystore_files(void **state)
{
    (void)state;
    struct lp_key key, back;
    struct lp_keystore_params p;
    char path[128], err[512] = "";
    struct stat st;
    bool is_keystore = false;
    snprintf(path, sizeof path, "%s/k.json", tmpdir);
    lp_keystore_params_default(&p, LP_KEYSTORE_SCRYPT);
    p.scrypt_n = 16;
    assert_int_equal(lp_key_generate(&key), 0);
    assert_int_equal(lp_keyfile_write_keystore(path, &key, "pw", 2, &p, false, err, sizeof err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(lp_keyfile_load(path, NULL, 0, &back, &is_keystore, err, sizeof err),
                     LP_KEYFILE_NEEDS_PASSWORD);
    assert_true(is_keystore);
    assert_int_equal(lp_keyfile_load(path, "pw", 2, &back, NULL, err, sizeof err), 0);
    assert_memory_equal(&back, &key, sizeof key);
    assert_int_equal(lp_keyfile_load(path, "pv", 2, &back, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, WRONG_PASSWORD));
    assert_non_null(strstr(err, path));
    assert_int_equal(lp_keyfile_write_keystore(path, &key, "pw", 2, &p, false, err, sizeof err),
                     -1);
    /* the spec file, read from disk by content */
    assert_int_equal(lp_keyfile_load(VECTORS "spec-pbkdf2.json", SPEC_PASSWORD,
                                     strlen(SPEC_PASSWORD), &back, &is_keystore, err, sizeof err),
                     0);
    assert_true(is_keystore);
    assert_secret(&back, SPEC_SECRET);
    assert_int_equal(lp_keyfile_load("/nonexistent/k", NULL, 0, &back, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/k"));
}

/* A key path that is not a small regular file is refused at once with one line naming it: a
 * FIFO nobody writes to (open() used to wait for a writer forever), a directory, a device, a
 * file far larger than any key. */
static void test_key_file_must_be_a_small_regular_file(void **state)
{
    (void)state;
    struct lp_key key;
    char path[128], err[512] = "";
    snprintf(path, sizeof path, "%s/fifo.key", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(lp_keyfile_load(path, NULL, 0, &key, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "named pipe"));
    assert_int_equal(lp_keyfile_load(tmpdir, NULL, 0, &key, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory"));
    assert_int_equal(lp_keyfile_load("/dev/zero", "pw", 2, &key, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "character device"));

    snprintf(path, sizeof path, "%s/big.key", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), LP_KEYSTORE_MAX_SIZE + 1), 0);
    fclose(f);
    assert_int_equal(lp_keyfile_load(path, NULL, 0, &key, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "too large"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector_pbkdf2),
        cmocka_unit_test(test_spec_vector_scrypt),
        cmocka_unit_test(test_round_trips_small_kdf),
        cmocka_unit_test(test_address_mismatch),
        cmocka_unit_test(test_malformed_rejected),
        cmocka_unit_test(test_kdf_cost_caps),
        cmocka_unit_test(test_kdf_cost_cap_boundaries),
        cmocka_unit_test(test_default_caps_admit_wallet_defaults),
        cmocka_unit_test(test_deep_nesting_is_an_error),
        cmocka_unit_test(test_scrypt_against_rfc_and_openssl),
        cmocka_unit_test(test_hex_key_files),
        cmocka_unit_test(test_keystore_files),
        cmocka_unit_test(test_key_file_must_be_a_small_regular_file),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
