/* Signed HTTP requests: acceptance, replay, clock skew, wrong signer, tampering (another host,
 * body, target...), version 1 refused, checks from the headers alone before the body, strict
 * header parsing, URL authorities, bounded replay cache whose memory shrinks after expiry, and
 * concurrent replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "crypto/keccak.h"
#include "crypto/key.h"
#include "util/hex.h"
#include "wire/sigreq.h"

#define T0   1735689600000ull
#define HOST "127.0.0.1:8080"
static const char BODY[] = "{\"job\":\"cowsay\"}";

static void key_from(uint8_t fill, struct lp_key *key)
{
    uint8_t secret[32];
    memset(secret, fill, sizeof(secret));
    assert_int_equal(lp_key_from_secret(key, secret), 0);
}

static struct lp_sigreq_header_refs refs(const struct lp_sigreq_headers *h)
{
    return lp_sigreq_refs(h);
}

static void sign_req(const struct lp_key *key, const char *method, const char *target,
                     const char *body, uint64_t ts, const uint8_t *nonce,
                     struct lp_sigreq_headers *h)
{
    struct lp_wire_error err = {{0}};
    if (lp_sigreq_sign(key, method, HOST, target, body, strlen(body), ts, nonce, h, &err) != 0)
        fail_msg("sign: %s", err.message);
}

static int verify(struct lp_sigreq_verifier *v, const struct lp_sigreq_headers *h,
                  const char *method, const char *target, const char *body, uint64_t now,
                  struct lp_wire_error *err)
{
    struct lp_sigreq_header_refs r = refs(h);
    uint8_t addr[20];
    return lp_sigreq_verify(v, &r, method, HOST, target, body, strlen(body), now, addr, err);
}

static void test_digest_is_the_documented_string(void **state)
{
    (void)state;
    uint8_t nonce[16], body_hash[32], want[32], got[32];
    for (int i = 0; i < 16; i++)
        nonce[i] = (uint8_t)(0xa0 + i);
    lp_keccak256(BODY, strlen(BODY), body_hash);
    char body_hex[65], canonical[512];
    lp_hex_encode(body_hash, 32, body_hex);
    snprintf(canonical, sizeof(canonical),
             "LILYPAD-REQ-V2\nPOST\n127.0.0.1:8080\n/api/v1/job_offers?x=1\n%s\n1735689600000\n"
             "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
             body_hex);
    lp_keccak256(canonical, strlen(canonical), want);
    struct lp_wire_error err;
    assert_int_equal(
        lp_sigreq_digest("POST", HOST, "/api/v1/job_offers?x=1", body_hash, T0, nonce, got, &err),
        0);
    assert_memory_equal(got, want, 32);
    /* HOST is signed lower case, however the client wrote it. */
    assert_int_equal(lp_sigreq_digest("POST", "127.0.0.1:8080", "/api/v1/job_offers?x=1", body_hash,
                                      T0, nonce, got, &err),
                     0);
    uint8_t upper[32];
    assert_int_equal(
        lp_sigreq_digest("POST", "Solver.Example.ORG", "/x", body_hash, T0, nonce, upper, &err), 0);
    assert_int_equal(
        lp_sigreq_digest("POST", "solver.example.org", "/x", body_hash, T0, nonce, got, &err), 0);
    assert_memory_equal(got, upper, 32);
    /* The signature is personal_sign over the 32 digest bytes. */
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_headers h;
    sign_req(&key, "POST", "/api/v1/job_offers?x=1", BODY, T0, nonce, &h);
    uint8_t sig[65], addr[20];
    assert_int_equal(lp_hex_decode_fixed(h.signature, sig, 65), 0);
    assert_int_equal(lp_personal_recover(want, 32, sig, addr), 0);
    assert_memory_equal(addr, key.address, 20);
    assert_string_equal(h.address, "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
    assert_string_equal(h.timestamp, "1735689600000");
    assert_string_equal(h.nonce, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    assert_string_equal(h.body_keccak, body_hex);
    assert_string_equal(h.version, "2");
}

static void test_accept_and_replay(void **state)
{
    (void)state;
    struct lp_key key, other;
    key_from(0x46, &key);
    key_from(0x47, &other);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(1000);
    assert_non_null(v);
    struct lp_sigreq_headers h;
    sign_req(&key, "POST", "/api/v1/job_offers", BODY, T0, NULL, &h);
    struct lp_wire_error err = {{0}};
    struct lp_sigreq_header_refs r = refs(&h);
    uint8_t addr[20];
    assert_int_equal(lp_sigreq_verify(v, &r, "POST", HOST, "/api/v1/job_offers", BODY, strlen(BODY),
                                      T0 + 1000, addr, &err),
                     LP_SIGREQ_OK);
    assert_memory_equal(addr, key.address, 20);
    assert_int_equal(verify(v, &h, "POST", "/api/v1/job_offers", BODY, T0 + 2000, &err),
                     LP_SIGREQ_REPLAY);
    assert_non_null(strstr(err.message, "replay"));

    /* The same nonce from another address is a different request. */
    uint8_t nonce[16];
    assert_int_equal(lp_hex_decode(h.nonce, 32, nonce, 16), 0);
    struct lp_sigreq_headers h2;
    sign_req(&other, "POST", "/api/v1/job_offers", BODY, T0, nonce, &h2);
    assert_int_equal(verify(v, &h2, "POST", "/api/v1/job_offers", BODY, T0, &err), LP_SIGREQ_OK);
    /* An empty body works too. */
    sign_req(&key, "GET", "/api/v1/deals?state=1", "", T0, NULL, &h);
    assert_int_equal(verify(v, &h, "GET", "/api/v1/deals?state=1", "", T0, &err), LP_SIGREQ_OK);
    lp_sigreq_verifier_free(v);
}

static void test_clock_skew(void **state)
{
    (void)state;
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(100);
    struct lp_sigreq_headers h;
    struct lp_wire_error err = {{0}};

    sign_req(&key, "GET", "/x", "", T0, NULL, &h);
    assert_int_equal(verify(v, &h, "GET", "/x", "", T0 + LP_SIGREQ_SKEW_MS + 1, &err),
                     LP_SIGREQ_STALE);
    assert_non_null(strstr(err.message, "X-Lilypad-Timestamp"));
    assert_int_equal(verify(v, &h, "GET", "/x", "", T0 - LP_SIGREQ_SKEW_MS - 1, &err),
                     LP_SIGREQ_STALE);
    assert_non_null(strstr(err.message, "future"));
    /* The edges of the window are inside it. */
    assert_int_equal(verify(v, &h, "GET", "/x", "", T0 + LP_SIGREQ_SKEW_MS, &err), LP_SIGREQ_OK);
    sign_req(&key, "GET", "/x", "", T0, NULL, &h);
    assert_int_equal(verify(v, &h, "GET", "/x", "", T0 - LP_SIGREQ_SKEW_MS, &err), LP_SIGREQ_OK);
    lp_sigreq_verifier_free(v);
}

static void test_wrong_signer_and_tampering(void **state)
{
    (void)state;
    struct lp_key key, other;
    key_from(0x46, &key);
    key_from(0x47, &other);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(100);
    struct lp_sigreq_headers h;
    struct lp_wire_error err = {{0}};
    sign_req(&key, "POST", "/api/v1/job_offers", BODY, T0, NULL, &h);

    struct lp_sigreq_headers bad = h;
    lp_address_to_checksum(other.address, bad.address);
    assert_int_equal(verify(v, &bad, "POST", "/api/v1/job_offers", BODY, T0, &err),
                     LP_SIGREQ_BAD_SIGNATURE);
    assert_int_equal(verify(v, &h, "POST", "/api/v1/job_offers", "{\"job\":\"cowsaY\"}", T0, &err),
                     LP_SIGREQ_BODY_MISMATCH);
    /* Another solver: the same headers sent to another host. */
    struct lp_sigreq_header_refs rr = refs(&h);
    assert_int_equal(lp_sigreq_verify(v, &rr, "POST", "127.0.0.1:8081", "/api/v1/job_offers", BODY,
                                      strlen(BODY), T0, NULL, &err),
                     LP_SIGREQ_BAD_SIGNATURE);
    /* The body hash header swapped along with the body: the signature no longer matches. */
    bad = h;
    uint8_t other_hash[32];
    lp_keccak256("{\"job\":\"cowsaY\"}", 16, other_hash);
    lp_hex_encode(other_hash, 32, bad.body_keccak);
    assert_int_equal(
        verify(v, &bad, "POST", "/api/v1/job_offers", "{\"job\":\"cowsaY\"}", T0, &err),
        LP_SIGREQ_BAD_SIGNATURE);
    assert_int_equal(verify(v, &h, "POST", "/api/v1/job_offers?a=1", BODY, T0, &err),
                     LP_SIGREQ_BAD_SIGNATURE);
    assert_int_equal(verify(v, &h, "PUT", "/api/v1/job_offers", BODY, T0, &err),
                     LP_SIGREQ_BAD_SIGNATURE);
    bad = h;
    snprintf(bad.timestamp, sizeof(bad.timestamp), "%llu", (unsigned long long)(T0 + 1));
    assert_int_equal(verify(v, &bad, "POST", "/api/v1/job_offers", BODY, T0, &err),
                     LP_SIGREQ_BAD_SIGNATURE);
    bad = h;
    bad.nonce[0] = bad.nonce[0] == '0' ? '1' : '0';
    assert_int_equal(verify(v, &bad, "POST", "/api/v1/job_offers", BODY, T0, &err),
                     LP_SIGREQ_BAD_SIGNATURE);
    bad = h;
    bad.signature[10] = bad.signature[10] == '0' ? '1' : '0';
    int rc = verify(v, &bad, "POST", "/api/v1/job_offers", BODY, T0, &err);
    assert_int_equal(rc, LP_SIGREQ_BAD_SIGNATURE);
    /* None of the refused attempts consumed the nonce: the genuine request still passes. */
    assert_int_equal(verify(v, &h, "POST", "/api/v1/job_offers", BODY, T0, &err), LP_SIGREQ_OK);
    lp_sigreq_verifier_free(v);
}

static void expect_malformed(struct lp_sigreq_verifier *v, const struct lp_sigreq_header_refs *r,
                             const char *method, const char *target, const char *needle)
{
    struct lp_wire_error err = {{0}};
    int rc = lp_sigreq_verify(v, r, method, HOST, target, "", 0, T0, NULL, &err);
    assert_int_equal(rc, LP_SIGREQ_MALFORMED);
    if (strstr(err.message, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err.message, needle);
}

static void test_malformed_headers(void **state)
{
    (void)state;
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(100);
    struct lp_sigreq_headers h;
    sign_req(&key, "GET", "/x", "", T0, NULL, &h);
    struct lp_sigreq_header_refs good = refs(&h), r;
    char buf[200];

    r = good, r.version = NULL;
    expect_malformed(v, &r, "GET", "/x", "version 1, which is no longer accepted");
    r = good, r.version = "1";
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Version");
    r = good, r.body_keccak = NULL;
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Body-Keccak: header missing");
    r = good, r.body_keccak = "C5D2460186F7233C927E7DB2DCC703C0E500B653CA82273B7BFAD8045D85A470";
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Body-Keccak");
    r = good, r.address = NULL;
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Address: header missing");
    r = good, r.signature = NULL;
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Signature: header missing");
    r = good, r.address = h.address + 2;
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Address");
    snprintf(buf, sizeof(buf), "%s", h.address);
    buf[3] ^= 0x20; /* break the EIP-55 checksum case */
    r = good, r.address = buf;
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Address");
    r = good, r.timestamp = "01735689600000";
    expect_malformed(v, &r, "GET", "/x", "leading zero");
    r = good, r.timestamp = "17356896000x0";
    expect_malformed(v, &r, "GET", "/x", "non-digit");
    r = good, r.timestamp = "1735689600000000";
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Timestamp");
    r = good, r.timestamp = "";
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Timestamp");
    r = good, r.nonce = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF";
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Nonce");
    r = good, r.nonce = "a0a1";
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Nonce");
    r = good, r.signature = h.signature + 2;
    expect_malformed(v, &r, "GET", "/x", "X-Lilypad-Signature");
    snprintf(buf, sizeof(buf), "%s", h.signature);
    buf[130] = '0', buf[131] = '1'; /* v = 1 */
    r = good, r.signature = buf;
    expect_malformed(v, &r, "GET", "/x", "v byte");
    expect_malformed(v, &good, "get", "/x", "request method");
    expect_malformed(v, &good, "GET", "x", "request target");
    expect_malformed(v, &good, "GET", "/x y", "request target");
    expect_malformed(v, &good, "GET", "/x\n", "request target");
    lp_sigreq_verifier_free(v);
}

static void test_cache_expiry_shrinks(void **state)
{
    (void)state;
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(5000);
    struct lp_wire_error err = {{0}};
    size_t small = lp_sigreq_verifier_capacity(v);
    for (int i = 0; i < 1000; i++) {
        struct lp_sigreq_headers h;
        sign_req(&key, "GET", "/x", "", T0 + (uint64_t)i, NULL, &h);
        assert_int_equal(verify(v, &h, "GET", "/x", "", T0 + (uint64_t)i, &err), LP_SIGREQ_OK);
    }
    assert_int_equal(lp_sigreq_verifier_entries(v), 1000);
    size_t big = lp_sigreq_verifier_capacity(v);
    assert_true(big >= 2000);
    /* After the window, one more request triggers the periodic sweep: memory shrinks. */
    uint64_t later = T0 + 1000 + LP_SIGREQ_SKEW_MS + 1;
    struct lp_sigreq_headers h;
    sign_req(&key, "GET", "/x", "", later, NULL, &h);
    assert_int_equal(verify(v, &h, "GET", "/x", "", later, &err), LP_SIGREQ_OK);
    assert_int_equal(lp_sigreq_verifier_entries(v), 1);
    assert_true(lp_sigreq_verifier_capacity(v) < big);
    lp_sigreq_verifier_sweep(v, later + LP_SIGREQ_SKEW_MS + 1);
    assert_int_equal(lp_sigreq_verifier_entries(v), 0);
    assert_int_equal(lp_sigreq_verifier_capacity(v), small);
    lp_sigreq_verifier_free(v);
}

static void test_cache_bound(void **state)
{
    (void)state;
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(10);
    struct lp_wire_error err = {{0}};
    struct lp_sigreq_headers h;
    for (int i = 0; i < 10; i++) {
        sign_req(&key, "GET", "/x", "", T0, NULL, &h);
        assert_int_equal(verify(v, &h, "GET", "/x", "", T0, &err), LP_SIGREQ_OK);
    }
    sign_req(&key, "GET", "/x", "", T0, NULL, &h);
    assert_int_equal(verify(v, &h, "GET", "/x", "", T0, &err), LP_SIGREQ_BUSY);
    assert_true(lp_sigreq_verifier_entries(v) <= 10);
    /* Once the first ones expire there is room again. */
    uint64_t later = T0 + LP_SIGREQ_SKEW_MS + 1;
    sign_req(&key, "GET", "/x", "", later, NULL, &h);
    assert_int_equal(verify(v, &h, "GET", "/x", "", later, &err), LP_SIGREQ_OK);
    lp_sigreq_verifier_free(v);
}

struct race {
    struct lp_sigreq_verifier *v;
    const struct lp_sigreq_headers *shared;
    const struct lp_key *key;
    int ok_shared;
    int ok_own;
};

static void *race_thread(void *arg)
{
    struct race *r = arg;
    struct lp_wire_error err;
    for (int i = 0; i < 50; i++) {
        struct lp_sigreq_headers own;
        if (lp_sigreq_sign(r->key, "GET", HOST, "/t", "", 0, T0, NULL, &own, &err) == 0 &&
            verify(r->v, &own, "GET", "/t", "", T0, &err) == LP_SIGREQ_OK)
            r->ok_own++;
        if (verify(r->v, r->shared, "GET", "/t", "", T0, &err) == LP_SIGREQ_OK)
            r->ok_shared++;
    }
    return NULL;
}

static void test_concurrent_replays(void **state)
{
    (void)state;
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(10000);
    struct lp_sigreq_headers shared;
    sign_req(&key, "GET", "/t", "", T0, NULL, &shared);
    struct race r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct race){v, &shared, &key, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race_thread, &r[i]), 0);
    }
    int shared_ok = 0, own_ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        shared_ok += r[i].ok_shared;
        own_ok += r[i].ok_own;
    }
    assert_int_equal(shared_ok, 1);
    assert_int_equal(own_ok, 200);
    assert_int_equal(lp_sigreq_verifier_entries(v), 201);
    lp_sigreq_verifier_free(v);
}

/* A server checks everything but the body from the headers, before reading the body. */
static void test_headers_before_body(void **state)
{
    (void)state;
    struct lp_key key;
    key_from(0x46, &key);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(100);
    struct lp_sigreq_headers h;
    sign_req(&key, "POST", "/api/v1/files", BODY, T0, NULL, &h);
    struct lp_sigreq_header_refs r = refs(&h);
    struct lp_sigreq_parsed p;
    struct lp_wire_error err = {{0}};
    assert_int_equal(lp_sigreq_verify_headers(v, &r, "POST", HOST, "/api/v1/files", T0, &p, &err),
                     LP_SIGREQ_OK);
    assert_memory_equal(p.address, key.address, 20);
    uint8_t want[32];
    lp_keccak256(BODY, strlen(BODY), want);
    assert_memory_equal(p.body_keccak, want, 32);
    /* The nonce is spent by the headers' check. */
    assert_int_equal(lp_sigreq_verify_headers(v, &r, "POST", HOST, "/api/v1/files", T0, &p, &err),
                     LP_SIGREQ_REPLAY);
    assert_int_equal(
        lp_sigreq_verify_headers(v, &r, "POST", "evil.example:80", "/api/v1/files", T0, &p, &err),
        LP_SIGREQ_BAD_SIGNATURE);
    lp_sigreq_verifier_free(v);
}

static void expect_host(const char *url, const char *want)
{
    char out[300];
    struct lp_wire_error err = {{0}};
    int rc = lp_sigreq_url_host(url, out, sizeof out, &err);
    if (want == NULL) {
        if (rc == 0)
            fail_msg("\"%s\" was taken (host \"%s\")", url, out);
        return;
    }
    if (rc != 0)
        fail_msg("\"%s\": %s", url, err.message);
    assert_string_equal(out, want);
}

static void test_url_host(void **state)
{
    (void)state;
    expect_host("http://127.0.0.1:8080", "127.0.0.1:8080");
    expect_host("HTTPS://Solver.Example.org/api?x#y", "solver.example.org");
    expect_host("http://[::1]:9000/", "[::1]:9000");
    expect_host("http://localhost:1", "localhost:1");
    expect_host("htp://x", NULL);
    expect_host("http://", NULL);
    expect_host("http://:8080", NULL);
    expect_host("http://x:0", NULL);
    expect_host("http://x:65536", NULL);
    expect_host("http://x:80a", NULL);
    expect_host("http://x:", NULL);
    expect_host("http://user@x", NULL);
    expect_host("http://a b", NULL);
    expect_host("http://x:1:2", NULL);
    expect_host("127.0.0.1:8080", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_is_the_documented_string),
        cmocka_unit_test(test_accept_and_replay),
        cmocka_unit_test(test_clock_skew),
        cmocka_unit_test(test_wrong_signer_and_tampering),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_cache_expiry_shrinks),
        cmocka_unit_test(test_cache_bound),
        cmocka_unit_test(test_concurrent_replays),
        cmocka_unit_test(test_headers_before_body),
        cmocka_unit_test(test_url_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
