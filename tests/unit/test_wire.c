/* Wire format: round trips of every object with random contents, pinned IDs, a hand-encoded
 * msgpack vector, every strict-decoder rejection, and envelope sign/verify/tamper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "crypto/key.h"
#include "util/hex.h"
#include "wire/object.h"

#include "test_wire_samples.h"

#define VECTORS LP_SOURCE_DIR "/tests/vectors/wire/ids.txt"

/* The job offer whose ID is pinned (and which the ethers test signs), without the version 2
 * provider requirements (what the version 1 vector holds). */
static void fixed_job_offer_v1(struct lp_job_offer *o)
{
    memset(o, 0, sizeof(*o));
    memset(o->job_creator, 0x9d, sizeof(o->job_creator));
    o->module.repo = lp_sample_dup("https://github.com/Lilypad-Tech/lilypad-module-cowsay");
    o->module.commit = lp_sample_dup("0123456789abcdef0123456789abcdef01234567");
    o->module.spec = lp_sample_dup("{\"Docker\":{\"Entrypoint\":[\"/usr/local/bin/cowsay\","
                                   "\"moo\"],\"Image\":\"richbrem/cowsay:latest\"}}");
    o->n_inputs = 2;
    o->inputs = calloc(2, sizeof(*o->inputs));
    o->inputs[0].key = lp_sample_dup("Message");
    o->inputs[0].value = lp_sample_dup("moo");
    o->inputs[1].key = lp_sample_dup("Animal");
    o->inputs[1].value = lp_sample_dup("cow");
    o->resources = (struct lp_job_resources){1000, 0, 0, 100u * 1000 * 1000, 1u << 30};
    lp_wei_from_u64(&o->max_price, 2000000000000000000ull);
    lp_wei_from_u64(&o->payment_collateral, 1000000000000000000ull);
    o->timeout_s = 900;
    o->mode = LP_PRICE_MARKET;
    o->created_at_ms = 1735689600000ull;
    for (int i = 0; i < 16; i++)
        o->nonce[i] = (uint8_t)i;
}

/* The pinned job offer: version 2 with both provider requirements and two mediators. */
static void fixed_job_offer(struct lp_job_offer *o)
{
    fixed_job_offer_v1(o);
    o->min_reliability = 800;
    lp_wei_from_u64(&o->min_results_collateral, 500000000000000000ull);
    o->n_mediators = 2;
    memset(o->mediators[0], 0x3a, LP_WIRE_ADDR_LEN);
    memset(o->mediators[1], 0xc5, LP_WIRE_ADDR_LEN);
}

static void fixed_object(uint32_t kind, struct lp_wire_object *obj)
{
    if (kind == LP_WIRE_JOB_OFFER) {
        memset(obj, 0, sizeof(*obj));
        obj->kind = kind;
        fixed_job_offer(&obj->u.job_offer);
    } else {
        lp_sample_object(kind, 1000 + kind, obj);
    }
}

static void encode_ok(const struct lp_wire_object *obj, uint8_t **out, size_t *len)
{
    struct lp_wire_error err = {{0}};
    int rc = lp_wire_object_encode(obj, out, len, &err);
    if (rc != 0)
        fail_msg("encode %s: %s", lp_wire_kind_name(obj->kind), err.message);
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_round_trip_random(void **state)
{
    (void)state;
    for (uint32_t kind = LP_WIRE_KIND_MIN; kind <= LP_WIRE_KIND_MAX; kind++) {
        for (uint64_t seed = 1; seed <= 300; seed++) {
            struct lp_wire_object obj, back;
            lp_sample_object(kind, seed * 7919, &obj);
            uint8_t *enc, *enc2;
            size_t len, len2;
            encode_ok(&obj, &enc, &len);
            struct lp_wire_error err = {{0}};
            if (lp_wire_object_decode(kind, enc, len, &back, &err) != 0)
                fail_msg("decode %s seed %llu: %s", lp_wire_kind_name(kind),
                         (unsigned long long)seed, err.message);
            encode_ok(&back, &enc2, &len2);
            assert_int_equal(len, len2);
            assert_memory_equal(enc, enc2, len);
            free(enc2);
            lp_wire_object_free(&back);
            lp_wire_object_free(&obj);
            free(enc);
        }
    }
}

static void test_round_trip_fields(void **state)
{
    (void)state;
    struct lp_job_offer o, back;
    fixed_job_offer(&o);
    uint8_t *enc;
    size_t len;
    struct lp_wire_error err;
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), 0);
    assert_int_equal(lp_job_offer_decode(enc, len, &back, &err), 0);
    assert_string_equal(back.module.repo, o.module.repo);
    assert_string_equal(back.module.spec, o.module.spec);
    assert_int_equal(back.n_inputs, 2);
    /* Sorted on the wire: "Animal" < "Message". */
    assert_string_equal(back.inputs[0].key, "Animal");
    assert_string_equal(back.inputs[1].value, "moo");
    assert_int_equal(back.resources.ram_bytes, 100u * 1000 * 1000);
    assert_int_equal(back.timeout_s, 900);
    assert_int_equal(back.has_target, 0);
    assert_memory_equal(back.nonce, o.nonce, 16);
    assert_memory_equal(back.max_price.be, o.max_price.be, 32);
    uint64_t v;
    assert_int_equal(lp_wei_to_u64(&back.max_price, &v), 0);
    assert_true(v == 2000000000000000000ull);
    assert_int_equal(back.version, 2);
    assert_int_equal(back.min_reliability, 800);
    assert_memory_equal(back.min_results_collateral.be, o.min_results_collateral.be, 32);
    assert_int_equal(back.n_mediators, 2);
    assert_memory_equal(back.mediators, o.mediators, 2 * LP_WIRE_ADDR_LEN);
    lp_job_offer_free(&back);
    lp_job_offer_free(&o);
    free(enc);
}

/* ---- vectors ------------------------------------------------------------------------------ */

/* msgpack written out by hand from the spec, independently of msgpack-c: version 1 (8 fields)
 * and version 2 (the share target appended). */
static void test_hand_encoded_pow_challenge(void **state)
{
    (void)state;
    for (uint32_t version = 1; version <= 2; version++) {
        struct lp_wire_pow_challenge c;
        memset(&c, 0, sizeof(c));
        c.version = version;
        memset(c.issuer, 0x11, 20);
        memset(c.provider, 0x22, 20);
        c.round = 7;
        memset(c.challenge, 0x33, 32);
        lp_wei_from_u64(&c.target, 1);
        c.window_start_ms = 1000;
        c.window_end_ms = 2000;
        memset(c.share_target.be, 0x44, 32);
        uint8_t want[2 + 22 + 22 + 1 + 34 + 34 + 3 + 3 + 34];
        size_t n = 0;
        want[n++] = version == 1 ? 0x98 : 0x99; /* fixarray 8 or 9 */
        want[n++] = (uint8_t)version;
        want[n++] = 0xc4, want[n++] = 20;
        memset(want + n, 0x11, 20), n += 20;
        want[n++] = 0xc4, want[n++] = 20;
        memset(want + n, 0x22, 20), n += 20;
        want[n++] = 0x07;
        want[n++] = 0xc4, want[n++] = 32;
        memset(want + n, 0x33, 32), n += 32;
        want[n++] = 0xc4, want[n++] = 32;
        memset(want + n, 0, 31), n += 31;
        want[n++] = 0x01;
        want[n++] = 0xcd, want[n++] = 0x03, want[n++] = 0xe8;
        want[n++] = 0xcd, want[n++] = 0x07, want[n++] = 0xd0;
        if (version == 2) {
            want[n++] = 0xc4, want[n++] = 32;
            memset(want + n, 0x44, 32), n += 32;
        }
        uint8_t *enc;
        size_t len;
        struct lp_wire_error err;
        assert_int_equal(lp_pow_challenge_encode(&c, &enc, &len, &err), 0);
        assert_int_equal(len, n);
        assert_memory_equal(enc, want, n);
        free(enc);
    }
}

/* tests/vectors/wire/ids.txt: "kind encoding_hex id_hex" per line. Regenerate (only after a
 * deliberate format change, with a version bump) by running with LP_WIRE_WRITE_VECTORS=1. */
static void test_pinned_ids(void **state)
{
    (void)state;
    if (getenv("LP_WIRE_WRITE_VECTORS") != NULL) {
        FILE *f = fopen(VECTORS, "w");
        assert_non_null(f);
        fprintf(f, "# kind canonical_encoding_hex keccak256_id_hex (tests/unit/test_wire.c)\n");
        for (uint32_t k = LP_WIRE_KIND_MIN; k <= LP_WIRE_KIND_MAX; k++) {
            struct lp_wire_object obj;
            fixed_object(k, &obj);
            uint8_t *enc, id[32];
            size_t len;
            encode_ok(&obj, &enc, &len);
            lp_wire_id(enc, len, id);
            char *hex = malloc(2 * len + 1), idhex[65];
            lp_hex_encode(enc, len, hex);
            lp_hex_encode(id, 32, idhex);
            fprintf(f, "%s %s %s\n", lp_wire_kind_name(k), hex, idhex);
            free(hex);
            free(enc);
            lp_wire_object_free(&obj);
        }
        fclose(f);
    }
    FILE *f = fopen(VECTORS, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int seen = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#')
            continue;
        char name[32], enc_hex[4096], id_hex[80];
        assert_int_equal(sscanf(line, "%31s %4095s %79s", name, enc_hex, id_hex), 3);
        uint32_t k = LP_WIRE_KIND_MIN;
        while (k <= LP_WIRE_KIND_MAX && strcmp(lp_wire_kind_name(k), name) != 0)
            k++;
        assert_true(k <= LP_WIRE_KIND_MAX);
        struct lp_wire_object obj;
        fixed_object(k, &obj);
        uint8_t *enc, id[32];
        size_t len;
        encode_ok(&obj, &enc, &len);
        lp_wire_id(enc, len, id);
        char *hex = malloc(2 * len + 1), idhex[65];
        lp_hex_encode(enc, len, hex);
        lp_hex_encode(id, 32, idhex);
        assert_string_equal(hex, enc_hex);
        assert_string_equal(idhex, id_hex);
        /* The pinned bytes decode too. */
        struct lp_wire_object back;
        struct lp_wire_error err;
        assert_int_equal(lp_wire_object_decode(k, enc, len, &back, &err), 0);
        lp_wire_object_free(&back);
        free(hex);
        free(enc);
        lp_wire_object_free(&obj);
        seen++;
    }
    free(line);
    fclose(f);
    assert_int_equal(seen, LP_WIRE_KIND_MAX - LP_WIRE_KIND_MIN + 1);
}

/* ---- result versions ---------------------------------------------------------------------- */

#define RESULT_V1_VECTOR LP_SOURCE_DIR "/tests/vectors/wire/result_v1.txt"

static void result_encode_ok(const struct lp_result *r, uint8_t **out, size_t *len)
{
    struct lp_wire_error err = {{0}};
    if (lp_result_encode(r, out, len, &err) != 0)
        fail_msg("encode result: %s", err.message);
}

static void result_decode_ok(const uint8_t *data, size_t len, struct lp_result *r)
{
    struct lp_wire_error err = {{0}};
    if (lp_result_decode(data, len, r, &err) != 0)
        fail_msg("decode result: %s", err.message);
}

/* Everything but version and termination, which the callers check. */
static void assert_same_result(const struct lp_result *a, const struct lp_result *b)
{
    assert_memory_equal(a->deal_id, b->deal_id, LP_WIRE_ID_LEN);
    assert_memory_equal(a->resource_provider, b->resource_provider, LP_WIRE_ADDR_LEN);
    assert_string_equal(a->cid, b->cid);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_string_equal(a->error, b->error);
    assert_memory_equal(&a->stdout_digest, &b->stdout_digest, sizeof a->stdout_digest);
    assert_memory_equal(&a->stderr_digest, &b->stderr_digest, sizeof a->stderr_digest);
    assert_int_equal(a->instruction_count, b->instruction_count);
    assert_int_equal(a->created_at_ms, b->created_at_ms);
}

/* Version 2 carries every termination; a new result is written as version 2; a version 1
 * result is written without the field, decodes as "unknown", and re-encodes to its own bytes
 * (the canonical check keeps working for both versions). */
static void test_result_versions_round_trip(void **state)
{
    (void)state;
    for (uint32_t t = 0; t <= LP_TERMINATION_MAX; t++) {
        struct lp_result r, back;
        lp_sample_result(77 + t, &r);
        r.termination = t;
        uint8_t *enc, *again;
        size_t len, len2;
        result_encode_ok(&r, &enc, &len);
        assert_int_equal(enc[0], 0x9b); /* fixarray of 11 */
        assert_int_equal(enc[1], 2);    /* version */
        assert_int_equal(enc[len - 1], t);
        result_decode_ok(enc, len, &back);
        assert_int_equal(back.version, 2);
        assert_int_equal(back.termination, t);
        assert_same_result(&r, &back);
        result_encode_ok(&back, &again, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(again, enc, len);
        free(again);
        free(enc);
        lp_result_free(&back);
        lp_result_free(&r);
    }
    struct lp_result r, back;
    lp_sample_result(5, &r);
    r.version = 1;
    r.termination = LP_TERMINATION_UNKNOWN;
    uint8_t *enc, *again;
    size_t len, len2;
    result_encode_ok(&r, &enc, &len);
    assert_int_equal(enc[0], 0x9a); /* fixarray of 10 */
    assert_int_equal(enc[1], 1);
    result_decode_ok(enc, len, &back);
    assert_int_equal(back.version, 1);
    assert_int_equal(back.termination, LP_TERMINATION_UNKNOWN);
    assert_same_result(&r, &back);
    result_encode_ok(&back, &again, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, enc, len);
    /* the same result written as version 2 is another object, with another ID */
    back.version = 2;
    free(again);
    result_encode_ok(&back, &again, &len2);
    assert_int_equal(len2, len + 1);
    uint8_t id1[32], id2[32];
    lp_wire_id(enc, len, id1);
    lp_wire_id(again, len2, id2);
    assert_memory_not_equal(id1, id2, 32);
    free(again);
    free(enc);
    lp_result_free(&back);
    lp_result_free(&r);
}

/* Bytes the version 1 encoder wrote (pinned before version 2 existed) still decode, say
 * "unknown", re-encode to the same bytes and keep their ID. */
static void test_result_v1_vector(void **state)
{
    (void)state;
    FILE *f = fopen(RESULT_V1_VECTOR, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    char enc_hex[4096] = "", id_hex[80] = "";
    while (getline(&line, &cap, f) > 0)
        if (line[0] != '#')
            assert_int_equal(sscanf(line, "%4095s %79s", enc_hex, id_hex), 2);
    free(line);
    fclose(f);
    size_t n = strlen(enc_hex) / 2, len = 0;
    uint8_t *bytes = malloc(n);
    assert_int_equal(lp_hex_decode_var(enc_hex, bytes, n, &len), 0);
    struct lp_result back, sample;
    result_decode_ok(bytes, len, &back);
    assert_int_equal(back.version, 1);
    assert_int_equal(back.termination, LP_TERMINATION_UNKNOWN);
    lp_sample_result(1000 + LP_WIRE_RESULT, &sample);
    assert_same_result(&sample, &back);
    uint8_t *again, id[32];
    size_t len2;
    result_encode_ok(&back, &again, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, bytes, len);
    lp_wire_id(again, len2, id);
    char idhex[65];
    lp_hex_encode(id, 32, idhex);
    assert_string_equal(idhex, id_hex);
    free(again);
    free(bytes);
    lp_result_free(&back);
    lp_result_free(&sample);
}

/* Bytes the version 1 PoW encoders wrote (pinned before shares existed) still decode as
 * version 1, with no share target and the nonce as the solution, re-encode to the same bytes
 * and keep their IDs. */
static void test_pow_v1_vectors(void **state)
{
    (void)state;
    FILE *f = fopen(LP_SOURCE_DIR "/tests/vectors/wire/pow_v1.txt", "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int seen = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#')
            continue;
        char kind[32], enc_hex[4096], id_hex[80];
        assert_int_equal(sscanf(line, "%31s %4095s %79s", kind, enc_hex, id_hex), 3);
        size_t n = strlen(enc_hex) / 2, len = 0;
        uint8_t *bytes = malloc(n), *again = NULL, id[32];
        assert_int_equal(lp_hex_decode_var(enc_hex, bytes, n, &len), 0);
        struct lp_wire_error err = {{0}};
        size_t len2 = 0;
        if (strcmp(kind, "pow_challenge") == 0) {
            struct lp_wire_pow_challenge c;
            assert_int_equal(lp_pow_challenge_decode(bytes, len, &c, &err), 0);
            assert_int_equal(c.version, 1);
            static const uint8_t zero[32];
            assert_memory_equal(c.share_target.be, zero, 32);
            assert_int_equal(lp_pow_challenge_encode(&c, &again, &len2, &err), 0);
        } else {
            assert_string_equal(kind, "pow_submission");
            struct lp_wire_pow_submission sub;
            assert_int_equal(lp_pow_submission_decode(bytes, len, &sub, &err), 0);
            assert_int_equal(sub.version, 1);
            assert_true(sub.has_solution);
            assert_int_equal(sub.n_shares, 0);
            assert_int_equal(lp_pow_submission_encode(&sub, &again, &len2, &err), 0);
            lp_pow_submission_free(&sub);
        }
        assert_int_equal(len2, len);
        assert_memory_equal(again, bytes, len);
        lp_wire_id(again, len2, id);
        char idhex[65];
        lp_hex_encode(id, 32, idhex);
        assert_string_equal(idhex, id_hex);
        free(again);
        free(bytes);
        seen++;
    }
    free(line);
    fclose(f);
    assert_int_equal(seen, 2);
}

/* A version 2 submission may not list a share twice (it would be credited once anyway, but a
 * canonical object has no such slack), nor carry more than the maximum. */
static void test_pow_submission_shares_checked(void **state)
{
    (void)state;
    struct lp_wire_pow_submission sub;
    lp_sample_pow_submission(7, &sub);
    struct lp_u256 *two = calloc(2, sizeof *two);
    memset(two[0].be, 0x55, 32);
    two[1] = two[0];
    free(sub.shares);
    sub.shares = two;
    sub.n_shares = 2;
    uint8_t *enc;
    size_t len;
    struct lp_wire_error err = {{0}};
    assert_int_equal(lp_pow_submission_encode(&sub, &enc, &len, &err), 0);
    struct lp_wire_pow_submission back;
    assert_int_equal(lp_pow_submission_decode(enc, len, &back, &err), -1);
    assert_non_null(strstr(err.message, "listed twice"));
    free(enc);
    sub.version = 1; /* version 1 cannot carry shares */
    assert_int_equal(lp_pow_submission_encode(&sub, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "version 1"));
    lp_pow_submission_free(&sub);
}

/* ---- job offer versions ------------------------------------------------------------------- */

#define JOB_OFFER_V1_VECTOR LP_SOURCE_DIR "/tests/vectors/wire/job_offer_v1.txt"

static void job_offer_encode_ok(const struct lp_job_offer *o, uint8_t **out, size_t *len)
{
    struct lp_wire_error err = {{0}};
    if (lp_job_offer_encode(o, out, len, &err) != 0)
        fail_msg("encode job offer: %s", err.message);
}

static void job_offer_decode_ok(const uint8_t *data, size_t len, struct lp_job_offer *o)
{
    struct lp_wire_error err = {{0}};
    if (lp_job_offer_decode(data, len, o, &err) != 0)
        fail_msg("decode job offer: %s", err.message);
}

/* A new job offer is version 2 with its requirements last; a version 1 one is written without
 * them, decodes with none (0: any provider) and re-encodes to its own bytes. */
static void test_job_offer_versions_round_trip(void **state)
{
    (void)state;
    struct lp_job_offer o, back;
    fixed_job_offer(&o);
    uint8_t *enc, *again;
    size_t len, len2;
    job_offer_encode_ok(&o, &enc, &len);
    assert_int_equal(enc[0], 0x9e); /* fixarray of 14 */
    assert_int_equal(enc[1], 2);
    job_offer_decode_ok(enc, len, &back);
    assert_int_equal(back.version, 2);
    assert_int_equal(back.min_reliability, 800);
    job_offer_encode_ok(&back, &again, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, enc, len);
    free(again);
    free(enc);
    lp_job_offer_free(&back);
    lp_job_offer_free(&o);

    fixed_job_offer_v1(&o);
    o.version = 1;
    job_offer_encode_ok(&o, &enc, &len);
    assert_int_equal(enc[0], 0x9b); /* fixarray of 11 */
    assert_int_equal(enc[1], 1);
    job_offer_decode_ok(enc, len, &back);
    assert_int_equal(back.version, 1);
    assert_int_equal(back.min_reliability, 0);
    assert_int_equal(back.n_mediators, 0);
    job_offer_encode_ok(&back, &again, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, enc, len);
    /* the same offer written as version 2 is another object, with another ID */
    back.version = 0;
    free(again);
    job_offer_encode_ok(&back, &again, &len2);
    assert_int_equal(again[1], 2);
    uint8_t id1[32], id2[32];
    lp_wire_id(enc, len, id1);
    lp_wire_id(again, len2, id2);
    assert_memory_not_equal(id1, id2, 32);
    free(again);
    free(enc);
    lp_job_offer_free(&back);
    lp_job_offer_free(&o);
}

/* Bytes the version 1 encoder wrote (pinned before version 2 existed) still decode with no
 * requirements, re-encode to the same bytes and keep their ID. */
static void test_job_offer_v1_vector(void **state)
{
    (void)state;
    FILE *f = fopen(JOB_OFFER_V1_VECTOR, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    char enc_hex[4096] = "", id_hex[80] = "";
    while (getline(&line, &cap, f) > 0)
        if (line[0] != '#')
            assert_int_equal(sscanf(line, "%4095s %79s", enc_hex, id_hex), 2);
    free(line);
    fclose(f);
    size_t n = strlen(enc_hex) / 2, len = 0;
    uint8_t *bytes = malloc(n);
    assert_int_equal(lp_hex_decode_var(enc_hex, bytes, n, &len), 0);
    struct lp_job_offer back, want;
    job_offer_decode_ok(bytes, len, &back);
    assert_int_equal(back.version, 1);
    assert_int_equal(back.min_reliability, 0);
    fixed_job_offer_v1(&want);
    want.version = 1;
    uint8_t *again, *wanted, id[32];
    size_t len2, len3;
    job_offer_encode_ok(&back, &again, &len2);
    job_offer_encode_ok(&want, &wanted, &len3);
    assert_int_equal(len2, len);
    assert_memory_equal(again, bytes, len);
    assert_int_equal(len3, len);
    assert_memory_equal(wanted, bytes, len);
    lp_wire_id(again, len2, id);
    char idhex[65];
    lp_hex_encode(id, 32, idhex);
    assert_string_equal(idhex, id_hex);
    free(again);
    free(wanted);
    free(bytes);
    lp_job_offer_free(&back);
    lp_job_offer_free(&want);
}

static void test_job_offer_version_rejections(void **state)
{
    (void)state;
    struct lp_job_offer o;
    fixed_job_offer(&o);
    uint8_t *enc;
    size_t len;
    struct lp_wire_error err = {{0}};
    /* the encoder refuses what the decoder would */
    o.version = 1; /* with requirements it cannot carry */
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "version 1 has no provider requirements"));
    o.version = 3;
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "job_offer.version"));
    o.version = 0;
    o.min_reliability = 1001;
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "job_offer.min_reliability"));
    /* mediators: version 2 only, sorted, unique, at most 16 */
    o.min_reliability = 0;
    lp_wei_from_u64(&o.min_results_collateral, 0);
    o.version = 1;
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "version 1 names no mediators"));
    o.version = 0;
    memset(o.mediators[1], 0x3a, LP_WIRE_ADDR_LEN);
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "job_offer.mediators"));
    memset(o.mediators[1], 0x01, LP_WIRE_ADDR_LEN);
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "sorted bytewise and unique"));
    o.n_mediators = LP_WIRE_MAX_MEDIATORS + 1;
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "more than 16"));
    lp_job_offer_free(&o);
}

/* Decoding data as a result must fail with a message containing `needle`. */
static void expect_result_error(const uint8_t *data, size_t len, const char *needle)
{
    struct lp_result r;
    struct lp_wire_error err = {{0}};
    if (lp_result_decode(data, len, &r, &err) == 0) {
        lp_result_free(&r);
        fail_msg("decoded although it should fail with \"%s\"", needle);
    }
    if (strstr(err.message, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err.message, needle);
}

static void test_result_version_rejections(void **state)
{
    (void)state;
    struct lp_result r;
    lp_sample_result(9, &r);
    r.termination = LP_TERMINATION_TIMED_OUT;
    uint8_t *enc;
    size_t len;
    result_encode_ok(&r, &enc, &len);
    /* a termination this build does not know */
    enc[len - 1] = LP_TERMINATION_MAX + 1;
    expect_result_error(enc, len, "result.termination");
    /* version 2 needs its 11th field; version 1 must not have it */
    enc[0] = 0x9a;
    expect_result_error(enc, len - 1, "version 2 has 11 fields");
    enc[0] = 0x9b;
    enc[1] = 1;
    enc[len - 1] = LP_TERMINATION_EXITED;
    expect_result_error(enc, len, "version 1 has 10 fields");
    enc[1] = 3;
    expect_result_error(enc, len, "unknown version 3");
    free(enc);

    /* the encoder refuses what the decoder would */
    struct lp_wire_error err = {{0}};
    r.version = 1; /* with a termination it cannot carry */
    assert_int_equal(lp_result_encode(&r, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "result.termination"));
    r.version = 3;
    assert_int_equal(lp_result_encode(&r, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "result.version"));
    r.version = 0;
    r.termination = LP_TERMINATION_MAX + 1;
    assert_int_equal(lp_result_encode(&r, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "result.termination"));
    lp_result_free(&r);

    assert_string_equal(lp_termination_name(LP_TERMINATION_OOM_KILLED), "oom_killed");
    assert_string_equal(lp_termination_name(LP_TERMINATION_MAX + 1), "unknown");
}

/* ---- rejections --------------------------------------------------------------------------- */

static void fixed_job_offer_bytes(uint8_t **enc, size_t *len)
{
    struct lp_job_offer o;
    fixed_job_offer(&o);
    struct lp_wire_error err;
    assert_int_equal(lp_job_offer_encode(&o, enc, len, &err), 0);
    lp_job_offer_free(&o);
}

/* Decoding data as a job offer must fail with a message containing `needle`. */
static void expect_job_offer_error(const uint8_t *data, size_t len, const char *needle)
{
    struct lp_job_offer o;
    struct lp_wire_error err = {{0}};
    int rc = lp_job_offer_decode(data, len, &o, &err);
    if (rc == 0) {
        lp_job_offer_free(&o);
        fail_msg("decoded although it should fail with \"%s\"", needle);
    }
    if (strstr(err.message, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err.message, needle);
}

/* Re-packs the fixed job offer with element `path` (indices, depth levels) replaced by the
 * value `edit` writes, using msgpack-c's object tree so only that field changes. */
typedef void (*edit_fn)(msgpack_object *o, msgpack_zone *z);

static void mutate_job_offer(const size_t *path, size_t depth, edit_fn edit, uint8_t **out,
                             size_t *out_len)
{
    uint8_t *enc;
    size_t len;
    fixed_job_offer_bytes(&enc, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, (const char *)enc, len, &off), MSGPACK_UNPACK_SUCCESS);
    msgpack_object *o = &u.data;
    for (size_t i = 0; i < depth; i++)
        o = &o->via.array.ptr[path[i]];
    edit(o, u.zone);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, u.data);
    msgpack_unpacked_destroy(&u);
    free(enc);
    *out = (uint8_t *)sb.data;
    *out_len = sb.size;
}

static void set_version_3(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.u64 = 3;
}
static void set_version_1(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.u64 = 1;
}
static void reliability_1001(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.u64 = 1001;
}
static void set_version_0(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.u64 = 0;
}
static void drop_last(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.array.size--;
}
static void set_str(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = "oops";
    o->via.str.size = 4;
}
static void set_float(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = 900.0;
}
static void set_negative(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o->via.i64 = -1;
}
static void shorten_bin(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.bin.size--;
}
static void swap_map_entries(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    msgpack_object_kv t = o->via.map.ptr[0];
    o->via.map.ptr[0] = o->via.map.ptr[1];
    o->via.map.ptr[1] = t;
}
static void duplicate_map_key(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.map.ptr[1].key = o->via.map.ptr[0].key;
}
static void long_str(msgpack_object *o, msgpack_zone *z)
{
    char *s = msgpack_zone_malloc(z, 513);
    memset(s, 'a', 513);
    o->via.str.ptr = s;
    o->via.str.size = 513;
}
static void bad_utf8(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.str.ptr = "ab\xc0\xafz"; /* overlong '/' */
    o->via.str.size = 5;
}
static void nul_in_str(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.str.ptr = "ab\0cd";
    o->via.str.size = 5;
}
static void spaced_json(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.str.ptr = "{\"a\": 1}";
    o->via.str.size = 8;
}
static void unsorted_json(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.str.ptr = "{\"b\":1,\"a\":2}";
    o->via.str.size = 13;
}
static void upper_commit(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.str.ptr = "0123456789ABCDEF0123456789abcdef01234567";
    o->via.str.size = 40;
}
static void mode_7(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.u64 = 7;
}
static void timeout_0(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.u64 = 0;
}
static void swap_array_entries(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    msgpack_object t = o->via.array.ptr[0];
    o->via.array.ptr[0] = o->via.array.ptr[1];
    o->via.array.ptr[1] = t;
}
static void duplicate_array_entry(msgpack_object *o, msgpack_zone *z)
{
    (void)z;
    o->via.array.ptr[1] = o->via.array.ptr[0];
}

static void check_mutation(const size_t *path, size_t depth, edit_fn edit, const char *needle)
{
    uint8_t *bad;
    size_t len;
    mutate_job_offer(path, depth, edit, &bad, &len);
    expect_job_offer_error(bad, len, needle);
    free(bad);
}

static void test_reject_fields(void **state)
{
    (void)state;
    const size_t version[] = {0}, creator[] = {1}, repo[] = {2, 0}, commit[] = {2, 1},
                 spec[] = {2, 2}, inputs[] = {3}, ram[] = {4, 3}, price[] = {5, 0}, timeout[] = {6},
                 mode[] = {8}, nonce[] = {10}, reliability[] = {11}, collateral[] = {12},
                 mediators[] = {13}, mediator1[] = {13, 1};
    check_mutation(version, 1, set_version_3, "job_offer.version: unknown version 3");
    check_mutation(version, 1, set_version_0, "job_offer.version: unknown version 0");
    check_mutation(version, 1, set_version_1, "job_offer: version 1 has 11 fields, got 14");
    check_mutation(NULL, 0, drop_last, "job_offer: version 2 has 14 fields, got 13");
    check_mutation(mediators, 1, swap_array_entries,
                   "job_offer.mediators: addresses must be sorted bytewise and unique");
    check_mutation(mediators, 1, duplicate_array_entry,
                   "job_offer.mediators: addresses must be sorted bytewise and unique");
    check_mutation(mediators, 1, set_str, "job_offer.mediators: expected array, got str");
    check_mutation(mediator1, 2, shorten_bin, "job_offer.mediators[1]: expected 20 bytes, got 19");
    check_mutation(reliability, 1, reliability_1001,
                   "job_offer.min_reliability: value 1001 is over the limit of 1000");
    check_mutation(collateral, 1, shorten_bin,
                   "job_offer.min_results_collateral: expected 32 bytes");
    check_mutation(creator, 1, set_str, "job_offer.job_creator: expected bin, got str");
    check_mutation(creator, 1, shorten_bin, "job_offer.job_creator: expected 20 bytes, got 19");
    check_mutation(timeout, 1, set_float,
                   "job_offer.timeout_s: expected unsigned integer, got float");
    check_mutation(ram, 2, set_negative, "job_offer.resources.ram_bytes: expected unsigned");
    check_mutation(price, 2, shorten_bin, "job_offer.pricing.max_price: expected 32 bytes");
    check_mutation(nonce, 1, shorten_bin, "job_offer.nonce: expected 16 bytes, got 15");
    check_mutation(inputs, 1, swap_map_entries, "sorted bytewise and unique");
    check_mutation(inputs, 1, duplicate_map_key, "sorted bytewise and unique");
    check_mutation(inputs, 1, set_str, "job_offer.inputs: expected map");
    check_mutation(repo, 2, long_str, "job_offer.module.repo: string of 513 bytes");
    check_mutation(repo, 2, bad_utf8, "job_offer.module.repo: string is not valid UTF-8");
    check_mutation(repo, 2, nul_in_str, "job_offer.module.repo: string contains a NUL");
    check_mutation(spec, 2, spaced_json, "job_offer.module.spec: JSON is not canonical");
    check_mutation(spec, 2, unsorted_json, "job_offer.module.spec: JSON is not canonical");
    check_mutation(commit, 2, upper_commit, "job_offer.module.commit: not lowercase hex");
    check_mutation(mode, 1, mode_7, "job_offer.mode: value 7 is over the limit of 1");
    check_mutation(timeout, 1, timeout_0, "job_offer.timeout_s: must be at least 1");
}

static void test_reject_structure(void **state)
{
    (void)state;
    uint8_t *enc;
    size_t len;
    fixed_job_offer_bytes(&enc, &len);

    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < len; cut++) {
        struct lp_job_offer o;
        struct lp_wire_error err;
        assert_int_equal(lp_job_offer_decode(enc, cut, &o, &err), -1);
    }
    /* Trailing bytes. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, enc, len);
    longer[len] = 0xc0;
    expect_job_offer_error(longer, len + 1, "1 trailing bytes");
    free(longer);

    /* Non-canonical integer: version 2 written as uint8 (cc 02) instead of fixint. */
    uint8_t *wide = malloc(len + 1);
    wide[0] = enc[0];
    wide[1] = 0xcc;
    memcpy(wide + 2, enc + 1, len - 1);
    expect_job_offer_error(wide, len + 1, "non-canonical encoding");
    /* Non-canonical array header: array16 for 14 elements. */
    wide[0] = 0xdc;
    memcpy(wide + 1, enc, len);
    uint8_t *w16 = malloc(len + 2);
    w16[0] = 0xdc, w16[1] = 0x00, w16[2] = 0x0e;
    memcpy(w16 + 3, enc + 1, len - 1);
    expect_job_offer_error(w16, len + 2, "non-canonical encoding");
    free(w16);
    free(wide);

    /* Size limit. */
    uint8_t *huge = calloc(LP_WIRE_MAX_SIZE + 1, 1);
    expect_job_offer_error(huge, LP_WIRE_MAX_SIZE + 1, "over the limit of 1048576");
    free(huge);

    /* Depth limit: 9 nested arrays. */
    uint8_t deep[10];
    memset(deep, 0x91, 9);
    deep[9] = 0x00;
    expect_job_offer_error(deep, sizeof(deep), "nesting deeper than 8");

    /* Counts: an array32 header claiming 2^32-1 elements (msgpack-c would try to allocate
     * ~96 GiB), and an array16 over the item limit. */
    const uint8_t bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x00};
    expect_job_offer_error(bomb, sizeof(bomb), "over the limit of 4096");
    const uint8_t many[] = {0xdc, 0x10, 0x01, 0x00};
    expect_job_offer_error(many, sizeof(many), "over the limit of 4096");
    const uint8_t claims[] = {0x9f, 0x00};
    expect_job_offer_error(claims, sizeof(claims), "claims 15 elements");
    /* Ext types and the never-used byte. */
    const uint8_t ext[] = {0xd4, 0x01, 0x00};
    expect_job_offer_error(ext, sizeof(ext), "type 0xd4 is not allowed");
    const uint8_t c1[] = {0xc1};
    expect_job_offer_error(c1, sizeof(c1), "type 0xc1 is not allowed");
    /* Wrong top-level types. */
    const uint8_t map[] = {0x80};
    expect_job_offer_error(map, sizeof(map), "job_offer: expected array, got map");
    const uint8_t empty_arr[] = {0x90};
    expect_job_offer_error(empty_arr, sizeof(empty_arr), "job_offer: empty array");
    expect_job_offer_error(enc, 0, "job_offer: empty input");
    free(enc);
}

static void test_encoder_refuses(void **state)
{
    (void)state;
    struct lp_job_offer o;
    uint8_t *enc;
    size_t len;
    struct lp_wire_error err;
    fixed_job_offer(&o);
    free(o.inputs[1].key);
    o.inputs[1].key = lp_sample_dup("Message");
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "duplicate key"));
    lp_job_offer_free(&o);

    fixed_job_offer(&o);
    free(o.module.spec);
    o.module.spec = lp_sample_dup("[1,2]");
    assert_int_equal(lp_job_offer_encode(&o, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "not an object"));
    lp_job_offer_free(&o);

    struct lp_resource_offer r;
    lp_sample_resource_offer(5, &r);
    r.module_policy = LP_MODULES_ANY;
    if (r.n_modules == 0) {
        r.modules = calloc(1, sizeof(char *));
        r.modules[0] = lp_sample_dup("x@y");
        r.n_modules = 1;
    }
    assert_int_equal(lp_resource_offer_encode(&r, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "resource_offer.modules"));
    lp_resource_offer_free(&r);

    struct lp_deal d;
    lp_sample_deal(3, &d);
    d.n_mediators = 2;
    memcpy(d.mediators[1], d.mediators[0], 20);
    assert_int_equal(lp_deal_encode(&d, &enc, &len, &err), -1);
    assert_non_null(strstr(err.message, "deal.mediators"));

    /* Canonical JSON helper. */
    char *canon;
    const char *loose = "{ \"b\" : [1, 2], \"a\" : {} }";
    assert_int_equal(lp_wire_json_canonical(loose, strlen(loose), &canon, &err), 0);
    assert_string_equal(canon, "{\"a\":{},\"b\":[1,2]}");
    free(canon);
    assert_int_equal(lp_wire_json_canonical("{\"a\":1,\"a\":2}", 13, &canon, &err), -1);
}

static void test_other_kinds_reject(void **state)
{
    (void)state;
    /* Feeding each kind's encoding to every other decoder fails (different field counts or
     * types), and the message names the decoder's object. */
    for (uint32_t k = LP_WIRE_KIND_MIN; k <= LP_WIRE_KIND_MAX; k++) {
        struct lp_wire_object obj;
        fixed_object(k, &obj);
        uint8_t *enc;
        size_t len;
        encode_ok(&obj, &enc, &len);
        for (uint32_t j = LP_WIRE_KIND_MIN; j <= LP_WIRE_KIND_MAX; j++) {
            if (j == k)
                continue;
            struct lp_wire_object other;
            struct lp_wire_error err = {{0}};
            if (lp_wire_object_decode(j, enc, len, &other, &err) == 0) {
                lp_wire_object_free(&other);
                fail_msg("%s decoded as %s", lp_wire_kind_name(k), lp_wire_kind_name(j));
            }
            assert_non_null(strstr(err.message, lp_wire_kind_name(j)));
        }
        struct lp_wire_object other;
        struct lp_wire_error err;
        assert_int_equal(lp_wire_object_decode(99, enc, len, &other, &err), -1);
        assert_non_null(strstr(err.message, "unknown kind 99"));
        free(enc);
        lp_wire_object_free(&obj);
    }
}

/* ---- envelopes ---------------------------------------------------------------------------- */

static void test_key(struct lp_key *key, uint8_t fill)
{
    uint8_t secret[32];
    memset(secret, fill, sizeof(secret));
    assert_int_equal(lp_key_from_secret(key, secret), 0);
}

static void test_envelope_sign_open(void **state)
{
    (void)state;
    struct lp_key key;
    test_key(&key, 0x46);
    for (uint32_t k = LP_WIRE_KIND_MIN; k <= LP_WIRE_KIND_MAX; k++) {
        struct lp_wire_object obj, back;
        fixed_object(k, &obj);
        lp_sample_set_author(&obj, key.address);
        uint8_t *env_bytes, id[32];
        size_t env_len;
        struct lp_wire_error err = {{0}};
        if (lp_wire_sign(&key, &obj, &env_bytes, &env_len, id, &err) != 0)
            fail_msg("sign %s: %s", lp_wire_kind_name(k), err.message);
        struct lp_envelope env;
        if (lp_wire_open(env_bytes, env_len, &back, &env, &err) != 0)
            fail_msg("open %s: %s", lp_wire_kind_name(k), err.message);
        assert_int_equal(env.kind, k);
        assert_memory_equal(env.id, id, 32);
        assert_memory_equal(env.signer, key.address, 20);
        uint8_t *enc;
        size_t len;
        encode_ok(&obj, &enc, &len);
        uint8_t id2[32];
        lp_wire_id(enc, len, id2);
        assert_memory_equal(id2, id, 32);
        free(enc);
        lp_wire_object_free(&back);

        /* Flipping any single bit anywhere is refused. */
        for (size_t i = 0; i < env_len; i++) {
            for (int bit = 0; bit < 8; bit += 3) {
                env_bytes[i] ^= (uint8_t)(1u << bit);
                struct lp_wire_object t;
                assert_int_equal(lp_wire_open(env_bytes, env_len, &t, NULL, &err), -1);
                env_bytes[i] ^= (uint8_t)(1u << bit);
            }
        }
        free(env_bytes);
        lp_wire_object_free(&obj);
    }
}

static void test_envelope_refusals(void **state)
{
    (void)state;
    struct lp_key key, other;
    test_key(&key, 0x46);
    test_key(&other, 0x47);
    struct lp_wire_object obj;
    fixed_object(LP_WIRE_JOB_OFFER, &obj);
    uint8_t *payload;
    size_t plen;
    encode_ok(&obj, &payload, &plen);
    struct lp_wire_error err = {{0}};
    uint8_t *env_bytes;
    size_t env_len;

    /* Not the author: lp_wire_sign refuses; a hand-sealed envelope is refused on open. */
    assert_int_equal(lp_wire_sign(&key, &obj, &env_bytes, &env_len, NULL, &err), -1);
    assert_non_null(strstr(err.message, "not the object's author"));
    assert_int_equal(
        lp_envelope_seal(&key, LP_WIRE_JOB_OFFER, payload, plen, &env_bytes, &env_len, NULL, &err),
        0);
    struct lp_envelope env;
    assert_int_equal(lp_envelope_open(env_bytes, env_len, &env, &err), 0);
    struct lp_wire_object back;
    assert_int_equal(lp_wire_open(env_bytes, env_len, &back, NULL, &err), -1);
    assert_non_null(strstr(err.message, "author"));
    free(env_bytes);

    /* Claimed signer differs from the key that signed. */
    assert_int_equal(
        lp_envelope_seal(&key, LP_WIRE_JOB_OFFER, payload, plen, &env_bytes, &env_len, NULL, &err),
        0);
    assert_int_equal(lp_envelope_parse(env_bytes, env_len, &env, &err), 0);
    memcpy(env.signer, other.address, 20);
    uint8_t *forged;
    size_t forged_len;
    assert_int_equal(lp_envelope_encode(&env, &forged, &forged_len, &err), 0);
    assert_int_equal(lp_envelope_open(forged, forged_len, &env, &err), -1);
    assert_non_null(strstr(err.message, "envelope.signer: signature was made by"));
    free(forged);

    /* Unknown kind and a v byte other than 27/28. */
    assert_int_equal(lp_envelope_parse(env_bytes, env_len, &env, &err), 0);
    env.kind = 42;
    assert_int_equal(lp_envelope_encode(&env, &forged, &forged_len, &err), -1);
    uint8_t *copy = malloc(env_len);
    memcpy(copy, env_bytes, env_len);
    assert_int_equal(copy[1], 1);
    assert_int_equal(copy[2], LP_WIRE_JOB_OFFER);
    copy[2] = 42;
    assert_int_equal(lp_envelope_parse(copy, env_len, &env, &err), -1);
    assert_non_null(strstr(err.message, "envelope.kind: unknown kind 42"));
    memcpy(copy, env_bytes, env_len);
    copy[env_len - 1] -= 27;
    assert_int_equal(lp_envelope_parse(copy, env_len, &env, &err), -1);
    assert_non_null(strstr(err.message, "envelope.signature: v byte"));
    /* Kind swapped to another valid kind: signature still fine, payload decode refuses. */
    memcpy(copy, env_bytes, env_len);
    copy[2] = LP_WIRE_DEAL;
    assert_int_equal(lp_wire_open(copy, env_len, &back, NULL, &err), -1);
    assert_non_null(strstr(err.message, "deal"));
    free(copy);
    free(env_bytes);
    free(payload);
    lp_wire_object_free(&obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_round_trip_fields),
        cmocka_unit_test(test_hand_encoded_pow_challenge),
        cmocka_unit_test(test_pinned_ids),
        cmocka_unit_test(test_result_versions_round_trip),
        cmocka_unit_test(test_result_v1_vector),
        cmocka_unit_test(test_pow_v1_vectors),
        cmocka_unit_test(test_pow_submission_shares_checked),
        cmocka_unit_test(test_result_version_rejections),
        cmocka_unit_test(test_job_offer_versions_round_trip),
        cmocka_unit_test(test_job_offer_v1_vector),
        cmocka_unit_test(test_job_offer_version_rejections),
        cmocka_unit_test(test_reject_fields),
        cmocka_unit_test(test_reject_structure),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_other_kinds_reject),
        cmocka_unit_test(test_envelope_sign_open),
        cmocka_unit_test(test_envelope_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
