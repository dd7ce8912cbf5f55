/* Keeps the fuzz seed corpora (tests/fuzz/corpus/wire, tests/fuzz/corpus/sigreq) in step with
 * the format: every seed named valid_* must still decode/verify. Run with
 * LP_WIRE_WRITE_CORPUS=1 to regenerate the seeds (after a deliberate format change). Results
 * PoW objects and job offers have seeds of both versions a decoder accepts (valid_*_v1_*: the
 * layouts without termination, without shares, without provider requirements). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/key.h"
#include "wire/object.h"
#include "wire/sigreq.h"

#include "test_wire_samples.h"

#define WIRE_DIR   LP_SOURCE_DIR "/tests/fuzz/corpus/wire"
#define SIGREQ_DIR LP_SOURCE_DIR "/tests/fuzz/corpus/sigreq"
#define T0         1735689600000ull

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_seed(const struct lp_key *key, const struct lp_wire_object *obj,
                       const char *label, uint64_t seed)
{
    struct lp_wire_error err;
    uint8_t *enc, *env;
    size_t len, env_len;
    assert_int_equal(lp_wire_object_encode(obj, &enc, &len, &err), 0);
    assert_int_equal(lp_wire_sign(key, obj, &env, &env_len, NULL, &err), 0);
    char name[64];
    snprintf(name, sizeof(name), "valid_%s_%llu", label, (unsigned long long)seed);
    write_file(WIRE_DIR, name, enc, len);
    snprintf(name, sizeof(name), "valid_envelope_%s_%llu", label, (unsigned long long)seed);
    write_file(WIRE_DIR, name, env, env_len);
    if (obj->kind == LP_WIRE_JOB_OFFER && seed == 1 && strcmp(label, "job_offer") == 0)
        write_file(WIRE_DIR, "bad_truncated_job_offer", enc, len / 2);
    free(enc);
    free(env);
}

static void write_corpora(void)
{
    struct lp_key key;
    uint8_t secret[32];
    memset(secret, 0x46, sizeof(secret));
    assert_int_equal(lp_key_from_secret(&key, secret), 0);
    struct lp_wire_error err;
    for (uint32_t k = LP_WIRE_KIND_MIN; k <= LP_WIRE_KIND_MAX; k++) {
        for (uint64_t seed = 1; seed <= 2; seed++) {
            struct lp_wire_object obj;
            lp_sample_object(k, seed * 31 + k, &obj);
            lp_sample_set_author(&obj, key.address);
            write_seed(&key, &obj, lp_wire_kind_name(k), seed);
            if (k == LP_WIRE_RESULT) {
                obj.u.result.version = 1;
                obj.u.result.termination = LP_TERMINATION_UNKNOWN;
                write_seed(&key, &obj, "result_v1", seed);
            } else if (k == LP_WIRE_POW_CHALLENGE) {
                obj.u.pow_challenge.version = 1;
                memset(obj.u.pow_challenge.share_target.be, 0, 32);
                write_seed(&key, &obj, "pow_challenge_v1", seed);
            } else if (k == LP_WIRE_POW_SUBMISSION) {
                obj.u.pow_submission.version = 1;
                obj.u.pow_submission.has_solution = true;
                free(obj.u.pow_submission.shares);
                obj.u.pow_submission.shares = NULL;
                obj.u.pow_submission.n_shares = 0;
                write_seed(&key, &obj, "pow_submission_v1", seed);
            }
            if (k == LP_WIRE_JOB_OFFER) {
                obj.u.job_offer.version = 1;
                obj.u.job_offer.min_reliability = 0;
                lp_wei_from_u64(&obj.u.job_offer.min_results_collateral, 0);
                obj.u.job_offer.n_mediators = 0;
                write_seed(&key, &obj, "job_offer_v1", seed);
            }
            lp_wire_object_free(&obj);
        }
    }
    const uint8_t bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x00};
    write_file(WIRE_DIR, "bad_array_bomb", bomb, sizeof(bomb));
    const uint8_t deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01};
    write_file(WIRE_DIR, "bad_deep", deep, sizeof(deep));

    const char *targets[] = {"/api/v1/job_offers", "/api/v1/deals?state=1&x=%20", "/"};
    const char *methods[] = {"POST", "GET", "DELETE"};
    const char *bodies[] = {"{\"job\":\"cowsay\"}", "", "\x93\x01\x02\x03"};
    for (int i = 0; i < 3; i++) {
        struct lp_sigreq_headers h;
        assert_int_equal(lp_sigreq_sign(&key, methods[i], "127.0.0.1:8080", targets[i], bodies[i],
                                        strlen(bodies[i]), T0 + (uint64_t)i, NULL, &h, &err),
                         0);
        char buf[1024];
        int n = snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s", h.version,
                         h.address, h.timestamp, h.nonce, h.body_keccak, h.signature,
                         "127.0.0.1:8080", methods[i], targets[i], bodies[i]);
        char name[32];
        snprintf(name, sizeof(name), "valid_request_%d", i);
        write_file(SIGREQ_DIR, name, buf, (size_t)n);
    }
    write_file(SIGREQ_DIR, "bad_empty_lines", "\n\n\n\n\n\n\n\n\n", 9);
}

static void test_corpus_seeds_still_valid(void **state)
{
    (void)state;
    if (getenv("LP_WIRE_WRITE_CORPUS") != NULL)
        write_corpora();
    int checked = 0;
    DIR *d = opendir(WIRE_DIR);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "valid_", 6) != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", WIRE_DIR, e->d_name);
        size_t len;
        uint8_t *data = read_file(path, &len);
        struct lp_wire_object obj;
        struct lp_wire_error err = {{0}};
        int ok = -1;
        if (strncmp(e->d_name, "valid_envelope_", 15) == 0) {
            ok = lp_wire_open(data, len, &obj, NULL, &err);
        } else {
            for (uint32_t k = LP_WIRE_KIND_MIN; k <= LP_WIRE_KIND_MAX && ok != 0; k++)
                if (strncmp(e->d_name + 6, lp_wire_kind_name(k), strlen(lp_wire_kind_name(k))) == 0)
                    ok = lp_wire_object_decode(k, data, len, &obj, &err);
        }
        if (ok != 0)
            fail_msg("seed %s no longer decodes: %s", e->d_name, err.message);
        bool v1 = strstr(e->d_name, "_v1_") != NULL;
        if (obj.kind == LP_WIRE_RESULT)
            assert_int_equal(obj.u.result.version, v1 ? 1 : 2);
        if (obj.kind == LP_WIRE_POW_CHALLENGE)
            assert_int_equal(obj.u.pow_challenge.version, v1 ? 1 : 2);
        if (obj.kind == LP_WIRE_POW_SUBMISSION)
            assert_int_equal(obj.u.pow_submission.version, v1 ? 1 : 2);
        if (obj.kind == LP_WIRE_JOB_OFFER)
            assert_int_equal(obj.u.job_offer.version, v1 ? 1 : 2);
        lp_wire_object_free(&obj);
        free(data);
        checked++;
    }
    closedir(d);
    /* 4 seeds a kind (plain and enveloped), plus 4 version 1 seeds of result, pow challenge,
     * pow submission and job offer each */
    assert_int_equal(checked, 4 * (LP_WIRE_KIND_MAX - LP_WIRE_KIND_MIN + 1) + 4 * 4);

    d = opendir(SIGREQ_DIR);
    assert_non_null(d);
    struct lp_sigreq_verifier *v = lp_sigreq_verifier_new(100);
    checked = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "valid_", 6) != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", SIGREQ_DIR, e->d_name);
        size_t len;
        char *text = (char *)read_file(path, &len);
        text[len] = '\0';
        char *f[10];
        char *p = text;
        for (int i = 0; i < 9; i++) {
            f[i] = p;
            p = strchr(p, '\n');
            assert_non_null(p);
            *p++ = '\0';
        }
        f[9] = p;
        struct lp_sigreq_header_refs h = {f[0], f[1], f[2], f[3], f[4], f[5]};
        struct lp_wire_error err = {{0}};
        struct lp_sigreq_parsed parsed;
        assert_int_equal(lp_sigreq_parse(&h, &parsed, &err), LP_SIGREQ_OK);
        int rc = lp_sigreq_verify(v, &h, f[7], f[6], f[8], f[9], strlen(f[9]), parsed.timestamp_ms,
                                  NULL, &err);
        if (rc != LP_SIGREQ_OK)
            fail_msg("seed %s no longer verifies: %s", e->d_name, err.message);
        free(text);
        checked++;
    }
    closedir(d);
    lp_sigreq_verifier_free(v);
    assert_int_equal(checked, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_seeds_still_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
