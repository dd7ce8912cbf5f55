/* Wire format throughput on one core: encode/s and decode/s per object kind (sample objects of
 * typical size), envelope verification/s (ID + ecrecover, and with the payload decode), and
 * signed-request verification/s. Prints a table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/key.h"
#include "wire/object.h"
#include "wire/sigreq.h"

#include "../unit/test_wire_samples.h"

#define MIN_SECONDS 0.4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct lp_wire_error *err)
{
    fprintf(stderr, "bench_wire: %s: %s\n", what, err->message);
    exit(1);
}

struct bench_ctx {
    struct lp_wire_object *obj;
    const uint8_t *enc;
    size_t len;
    struct lp_sigreq_verifier *verifier;
    const struct lp_key *key;
    uint64_t clock;
};

typedef void (*bench_fn)(struct bench_ctx *c);

/* Runs fn in growing batches until MIN_SECONDS have passed; returns operations per second. */
static double rate(bench_fn fn, struct bench_ctx *c)
{
    size_t batch = 16, done = 0;
    double start = now_s(), elapsed = 0;
    while (elapsed < MIN_SECONDS) {
        for (size_t i = 0; i < batch; i++)
            fn(c);
        done += batch;
        batch *= 2;
        elapsed = now_s() - start;
    }
    return (double)done / elapsed;
}

static void do_encode(struct bench_ctx *c)
{
    uint8_t *out;
    size_t len;
    struct lp_wire_error err;
    if (lp_wire_object_encode(c->obj, &out, &len, &err) != 0)
        die("encode", &err);
    free(out);
}

static void do_decode(struct bench_ctx *c)
{
    struct lp_wire_object back;
    struct lp_wire_error err;
    if (lp_wire_object_decode(c->obj->kind, c->enc, c->len, &back, &err) != 0)
        die("decode", &err);
    lp_wire_object_free(&back);
}

static void do_envelope_open(struct bench_ctx *c)
{
    struct lp_envelope env;
    struct lp_wire_error err;
    if (lp_envelope_open(c->enc, c->len, &env, &err) != 0)
        die("envelope open", &err);
}

static void do_wire_open(struct bench_ctx *c)
{
    struct lp_wire_object back;
    struct lp_wire_error err;
    if (lp_wire_open(c->enc, c->len, &back, NULL, &err) != 0)
        die("wire open", &err);
    lp_wire_object_free(&back);
}

static void do_sign(struct bench_ctx *c)
{
    uint8_t *out;
    size_t len;
    struct lp_wire_error err;
    if (lp_wire_sign(c->key, c->obj, &out, &len, NULL, &err) != 0)
        die("sign", &err);
    free(out);
}

static void do_sigreq(struct bench_ctx *c)
{
    /* Signing is not timed: pre-signing would need one request per iteration, so sign and
     * verify are measured together and the sign-only rate is subtracted by the caller. */
    struct lp_sigreq_headers h;
    struct lp_wire_error err;
    c->clock++;
    if (lp_sigreq_sign(c->key, "POST", "127.0.0.1:8080", "/api/v1/job_offers", "{}", 2, c->clock,
                       NULL, &h, &err) != 0)
        die("sigreq sign", &err);
    struct lp_sigreq_header_refs r = lp_sigreq_refs(&h);
    if (lp_sigreq_verify(c->verifier, &r, "POST", "127.0.0.1:8080", "/api/v1/job_offers", "{}", 2,
                         c->clock, NULL, &err) != LP_SIGREQ_OK)
        die("sigreq verify", &err);
}

static void do_sigreq_sign(struct bench_ctx *c)
{
    struct lp_sigreq_headers h;
    struct lp_wire_error err;
    c->clock++;
    if (lp_sigreq_sign(c->key, "POST", "127.0.0.1:8080", "/api/v1/job_offers", "{}", 2, c->clock,
                       NULL, &h, &err) != 0)
        die("sigreq sign", &err);
}

int main(void)
{
    struct lp_key key;
    uint8_t secret[32];
    memset(secret, 0x46, sizeof(secret));
    if (lp_key_from_secret(&key, secret) != 0)
        return 1;
    printf("%-18s %8s %12s %12s\n", "object", "bytes", "encode/s", "decode/s");
    for (uint32_t k = LP_WIRE_KIND_MIN; k <= LP_WIRE_KIND_MAX; k++) {
        struct lp_wire_object obj;
        lp_sample_object(k, 12345, &obj);
        struct bench_ctx c = {.obj = &obj};
        uint8_t *enc;
        struct lp_wire_error err;
        if (lp_wire_object_encode(&obj, &enc, &c.len, &err) != 0)
            die("encode", &err);
        c.enc = enc;
        double e = rate(do_encode, &c), d = rate(do_decode, &c);
        printf("%-18s %8zu %12.0f %12.0f\n", lp_wire_kind_name(k), c.len, e, d);
        free(enc);
        lp_wire_object_free(&obj);
    }

    struct lp_wire_object offer;
    lp_sample_object(LP_WIRE_JOB_OFFER, 12345, &offer);
    lp_sample_set_author(&offer, key.address);
    struct bench_ctx c = {.obj = &offer, .key = &key, .clock = 1735689600000ull};
    uint8_t *env;
    struct lp_wire_error err;
    if (lp_wire_sign(&key, &offer, &env, &c.len, NULL, &err) != 0)
        die("sign", &err);
    c.enc = env;
    printf("\n%-44s %12s\n", "signatures (job offer envelope)", "ops/s");
    printf("%-44s %12.0f\n", "sign (encode + keccak + personal_sign)", rate(do_sign, &c));
    printf("%-44s %12.0f\n", "envelope verify (keccak + ecrecover)", rate(do_envelope_open, &c));
    printf("%-44s %12.0f\n", "envelope verify + strict decode + author", rate(do_wire_open, &c));
    c.verifier = lp_sigreq_verifier_new(1u << 20);
    double both = rate(do_sigreq, &c), sign_only = rate(do_sigreq_sign, &c);
    printf("%-44s %12.0f\n", "signed request sign", sign_only);
    printf("%-44s %12.0f\n", "signed request verify (derived: 1/(t-t_sign))",
           1.0 / (1.0 / both - 1.0 / sign_only));
    lp_sigreq_verifier_free(c.verifier);
    free(env);
    lp_wire_object_free(&offer);
    return 0;
}
