/* Sample protocol objects for the wire tests, fuzz seed generation and the benchmark: fixed
 * objects (the pinned ID vectors) and pseudo-random ones from a seed (splitmix64), so a failing
 * round trip can be reproduced from the seed it prints. Strings are malloc'd like decoded
 * objects, so the normal *_free functions release them. */
#ifndef LP_TEST_WIRE_SAMPLES_H
#define LP_TEST_WIRE_SAMPLES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/object.h"

#define LP_SAMPLE_UNUSED __attribute__((unused))

static LP_SAMPLE_UNUSED uint64_t lp_sample_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static LP_SAMPLE_UNUSED void lp_sample_bytes(uint64_t *s, void *out, size_t len)
{
    uint8_t *p = out;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)lp_sample_next(s);
}

/* A random integer whose size class varies, so every msgpack integer width is exercised. */
static LP_SAMPLE_UNUSED uint64_t lp_sample_uint(uint64_t *s)
{
    uint64_t v = lp_sample_next(s);
    switch (v % 5) {
    case 0:
        return v >> 57; /* fixint */
    case 1:
        return v >> 56;
    case 2:
        return v >> 48;
    case 3:
        return v >> 32;
    }
    return v;
}

static LP_SAMPLE_UNUSED char *lp_sample_dup(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d != NULL)
        memcpy(d, s, n + 1);
    return d;
}

/* A random string of up to max bytes, mixing ASCII with 2-, 3- and 4-byte UTF-8 sequences. */
static LP_SAMPLE_UNUSED char *lp_sample_str(uint64_t *s, size_t max)
{
    static const char *const pieces[] = {
        "a", "Z", "0", "-", " ", "/", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x90\xae"};
    size_t target = max ? (size_t)(lp_sample_next(s) % (max + 1)) : 0;
    char *out = malloc(max + 1);
    size_t n = 0;
    while (out != NULL && n < target) {
        const char *p = pieces[lp_sample_next(s) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t pl = strlen(p);
        if (n + pl > target)
            break;
        memcpy(out + n, p, pl);
        n += pl;
    }
    if (out != NULL)
        out[n] = '\0';
    return out;
}

static LP_SAMPLE_UNUSED char *lp_sample_hex(uint64_t *s, size_t digits)
{
    char *out = malloc(digits + 1);
    for (size_t i = 0; out != NULL && i < digits; i++)
        out[i] = "0123456789abcdef"[lp_sample_next(s) % 16];
    if (out != NULL)
        out[digits] = '\0';
    return out;
}

static LP_SAMPLE_UNUSED void lp_sample_u256(uint64_t *s, struct lp_u256 *v)
{
    if (lp_sample_next(s) % 2)
        lp_wei_from_u64(v, lp_sample_uint(s));
    else
        lp_sample_bytes(s, v->be, sizeof(v->be));
}

static LP_SAMPLE_UNUSED void lp_sample_job_offer(uint64_t seed, struct lp_job_offer *o)
{
    uint64_t s = seed;
    memset(o, 0, sizeof(*o));
    lp_sample_bytes(&s, o->job_creator, sizeof(o->job_creator));
    o->module.repo = lp_sample_str(&s, 200);
    o->module.commit = lp_sample_hex(&s, lp_sample_next(&s) % 2 ? 40 : 64);
    char spec[256];
    snprintf(spec, sizeof(spec),
             "{\"image\":\"ghcr.io/x/y:%llu\",\"machine\":{\"cpu\":%llu,\"gpu\":%llu},\"ok\":true}",
             (unsigned long long)(lp_sample_next(&s) % 1000),
             (unsigned long long)(lp_sample_next(&s) % 64000),
             (unsigned long long)(lp_sample_next(&s) % 8));
    o->module.spec = lp_sample_dup(spec);
    o->n_inputs = (size_t)(lp_sample_next(&s) % 6);
    o->inputs = o->n_inputs ? calloc(o->n_inputs, sizeof(*o->inputs)) : NULL;
    for (size_t i = 0; i < o->n_inputs; i++) {
        char key[32];
        /* Distinct keys, deliberately out of order: the encoder sorts them. */
        snprintf(key, sizeof(key), "%c%llu", (char)('Z' - i),
                 (unsigned long long)(lp_sample_next(&s) % 100));
        o->inputs[i].key = lp_sample_dup(key);
        o->inputs[i].value = lp_sample_str(&s, 40);
    }
    o->resources.cpu_millicores = lp_sample_uint(&s);
    o->resources.gpus = (uint32_t)(lp_sample_next(&s) % (LP_WIRE_MAX_GPUS + 1));
    o->resources.vram_bytes = lp_sample_uint(&s);
    o->resources.ram_bytes = lp_sample_uint(&s);
    o->resources.disk_bytes = lp_sample_uint(&s);
    lp_sample_u256(&s, &o->max_price);
    lp_sample_u256(&s, &o->payment_collateral);
    o->timeout_s = 1 + lp_sample_next(&s) % LP_WIRE_MAX_TIMEOUT_S;
    o->has_target = (int)(lp_sample_next(&s) % 2);
    if (o->has_target)
        lp_sample_bytes(&s, o->target, sizeof(o->target));
    o->mode = (uint32_t)(lp_sample_next(&s) % 2);
    o->created_at_ms = lp_sample_uint(&s);
    lp_sample_bytes(&s, o->nonce, sizeof(o->nonce));
    /* drawn last, so the fields before it are what version 1's samples had */
    o->min_reliability = (uint32_t)(lp_sample_next(&s) % (LP_WIRE_MAX_RELIABILITY + 1));
    lp_sample_u256(&s, &o->min_results_collateral);
    /* sorted and unique by construction: entry i's first byte is in [16 i, 16 i + 15] */
    o->n_mediators = (size_t)(lp_sample_next(&s) % (LP_WIRE_MAX_MEDIATORS + 1));
    for (size_t i = 0; i < o->n_mediators; i++) {
        lp_sample_bytes(&s, o->mediators[i], LP_WIRE_ADDR_LEN);
        o->mediators[i][0] = (uint8_t)(i * 16 + (o->mediators[i][0] & 15));
    }
}

static LP_SAMPLE_UNUSED int lp_sample_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static LP_SAMPLE_UNUSED void lp_sample_resource_offer(uint64_t seed, struct lp_resource_offer *o)
{
    uint64_t s = seed;
    memset(o, 0, sizeof(*o));
    lp_sample_bytes(&s, o->provider, sizeof(o->provider));
    o->cpu_millicores = lp_sample_uint(&s);
    o->ram_bytes = lp_sample_uint(&s);
    o->disk_bytes = lp_sample_uint(&s);
    o->n_gpus = (size_t)(lp_sample_next(&s) % 5);
    o->gpus = o->n_gpus ? calloc(o->n_gpus, sizeof(*o->gpus)) : NULL;
    for (size_t i = 0; i < o->n_gpus; i++) {
        o->gpus[i].vendor = lp_sample_dup(lp_sample_next(&s) % 2 ? "nvidia" : "amd");
        o->gpus[i].model = lp_sample_str(&s, 60);
        o->gpus[i].vram_bytes = lp_sample_uint(&s);
    }
    lp_sample_u256(&s, &o->min_price);
    lp_sample_u256(&s, &o->results_collateral);
    lp_sample_u256(&s, &o->mediation_fee);
    o->module_policy = (uint32_t)(lp_sample_next(&s) % 2);
    o->n_modules = o->module_policy ? (size_t)(lp_sample_next(&s) % 5) : 0;
    o->modules = o->n_modules ? calloc(o->n_modules, sizeof(*o->modules)) : NULL;
    for (size_t i = 0; i < o->n_modules; i++) {
        char ref[128];
        char *commit = lp_sample_hex(&s, 40);
        snprintf(ref, sizeof(ref), "https://github.com/o/m%zu@%s", i, commit);
        free(commit);
        o->modules[i] = lp_sample_dup(ref);
    }
    if (o->n_modules > 1)
        qsort(o->modules, o->n_modules, sizeof(char *), lp_sample_str_cmp);
    o->created_at_ms = lp_sample_uint(&s);
    lp_sample_bytes(&s, o->nonce, sizeof(o->nonce));
}

static LP_SAMPLE_UNUSED void lp_sample_deal(uint64_t seed, struct lp_deal *d)
{
    uint64_t s = seed;
    memset(d, 0, sizeof(*d));
    lp_sample_bytes(&s, d->job_offer_id, sizeof(d->job_offer_id));
    lp_sample_bytes(&s, d->resource_offer_id, sizeof(d->resource_offer_id));
    lp_sample_bytes(&s, d->job_creator, sizeof(d->job_creator));
    lp_sample_bytes(&s, d->resource_provider, sizeof(d->resource_provider));
    lp_sample_bytes(&s, d->solver, sizeof(d->solver));
    d->n_mediators = (size_t)(lp_sample_next(&s) % 4);
    for (size_t i = 0; i < d->n_mediators; i++)
        lp_sample_bytes(&s, d->mediators[i], LP_WIRE_ADDR_LEN);
    d->timeouts.execution_s = lp_sample_next(&s) % LP_WIRE_MAX_DURATION_S;
    d->timeouts.download_s = lp_sample_next(&s) % LP_WIRE_MAX_DURATION_S;
    d->timeouts.judge_s = lp_sample_next(&s) % LP_WIRE_MAX_DURATION_S;
    d->timeouts.mediation_s = lp_sample_next(&s) % LP_WIRE_MAX_DURATION_S;
    lp_sample_u256(&s, &d->agreed_price);
    lp_sample_u256(&s, &d->payment_collateral);
    lp_sample_u256(&s, &d->results_collateral);
    lp_sample_u256(&s, &d->mediation_fee);
    d->created_at_ms = lp_sample_uint(&s);
}

static LP_SAMPLE_UNUSED void lp_sample_result(uint64_t seed, struct lp_result *r)
{
    uint64_t s = seed;
    memset(r, 0, sizeof(*r));
    lp_sample_bytes(&s, r->deal_id, sizeof(r->deal_id));
    lp_sample_bytes(&s, r->resource_provider, sizeof(r->resource_provider));
    r->cid = lp_sample_str(&s, 64);
    r->exit_code = (int32_t)lp_sample_next(&s);
    r->error = lp_sample_str(&s, 100);
    lp_sample_bytes(&s, r->stdout_digest.keccak, 32);
    r->stdout_digest.size = lp_sample_uint(&s);
    lp_sample_bytes(&s, r->stderr_digest.keccak, 32);
    r->stderr_digest.size = lp_sample_uint(&s);
    r->instruction_count = lp_sample_uint(&s);
    r->created_at_ms = lp_sample_uint(&s);
    /* drawn last, so the fields before it are what version 1's samples had */
    r->termination = (uint32_t)(lp_sample_next(&s) % (LP_TERMINATION_MAX + 1));
}

static LP_SAMPLE_UNUSED void lp_sample_mediation_request(uint64_t seed,
                                                         struct lp_mediation_request *m)
{
    uint64_t s = seed;
    memset(m, 0, sizeof(*m));
    lp_sample_bytes(&s, m->deal_id, 32);
    lp_sample_bytes(&s, m->result_id, 32);
    lp_sample_bytes(&s, m->requester, 20);
    m->reason = lp_sample_str(&s, 200);
    m->created_at_ms = lp_sample_uint(&s);
    lp_sample_bytes(&s, m->nonce, 16);
}

static LP_SAMPLE_UNUSED void lp_sample_mediation_verdict(uint64_t seed,
                                                         struct lp_mediation_verdict *v)
{
    uint64_t s = seed;
    memset(v, 0, sizeof(*v));
    lp_sample_bytes(&s, v->request_id, 32);
    lp_sample_bytes(&s, v->deal_id, 32);
    lp_sample_bytes(&s, v->result_id, 32);
    lp_sample_bytes(&s, v->mediator, 20);
    v->verdict = (uint32_t)(lp_sample_next(&s) % 2);
    v->mediator_cid = lp_sample_str(&s, 64);
    v->reason = lp_sample_str(&s, 200);
    v->created_at_ms = lp_sample_uint(&s);
}

static LP_SAMPLE_UNUSED void lp_sample_pow_challenge(uint64_t seed, struct lp_wire_pow_challenge *c)
{
    uint64_t s = seed;
    memset(c, 0, sizeof(*c));
    lp_sample_bytes(&s, c->issuer, 20);
    lp_sample_bytes(&s, c->provider, 20);
    c->round = lp_sample_uint(&s);
    lp_sample_bytes(&s, c->challenge, 32);
    lp_sample_u256(&s, &c->target);
    c->window_start_ms = lp_sample_uint(&s) / 2;
    c->window_end_ms = c->window_start_ms + lp_sample_uint(&s) / 2;
    lp_sample_u256(&s, &c->share_target);
}

static LP_SAMPLE_UNUSED void lp_sample_pow_submission(uint64_t seed,
                                                      struct lp_wire_pow_submission *p)
{
    uint64_t s = seed;
    memset(p, 0, sizeof(*p));
    lp_sample_bytes(&s, p->miner, 20);
    p->node_id = lp_sample_str(&s, 64);
    p->round = lp_sample_uint(&s);
    lp_sample_bytes(&s, p->challenge, 32);
    lp_sample_u256(&s, &p->nonce);
    p->hashes = lp_sample_uint(&s);
    p->window_ms = lp_sample_uint(&s);
    p->created_at_ms = lp_sample_uint(&s);
    p->has_solution = true;
    /* 1..3 distinct shares (the nonce's index in the last byte keeps them apart) */
    p->n_shares = 1 + (size_t)(seed % 3);
    p->shares = calloc(p->n_shares, sizeof *p->shares);
    for (size_t i = 0; p->shares && i < p->n_shares; i++) {
        lp_sample_u256(&s, &p->shares[i]);
        p->shares[i].be[31] = (uint8_t)i;
    }
    if (!p->shares)
        p->n_shares = 0;
}

/* A random object of the given kind. */
static LP_SAMPLE_UNUSED void lp_sample_object(uint32_t kind, uint64_t seed,
                                              struct lp_wire_object *obj)
{
    memset(obj, 0, sizeof(*obj));
    obj->kind = kind;
    switch (kind) {
    case LP_WIRE_JOB_OFFER:
        lp_sample_job_offer(seed, &obj->u.job_offer);
        break;
    case LP_WIRE_RESOURCE_OFFER:
        lp_sample_resource_offer(seed, &obj->u.resource_offer);
        break;
    case LP_WIRE_DEAL:
        lp_sample_deal(seed, &obj->u.deal);
        break;
    case LP_WIRE_RESULT:
        lp_sample_result(seed, &obj->u.result);
        break;
    case LP_WIRE_MEDIATION_REQUEST:
        lp_sample_mediation_request(seed, &obj->u.mediation_request);
        break;
    case LP_WIRE_MEDIATION_VERDICT:
        lp_sample_mediation_verdict(seed, &obj->u.mediation_verdict);
        break;
    case LP_WIRE_POW_CHALLENGE:
        lp_sample_pow_challenge(seed, &obj->u.pow_challenge);
        break;
    case LP_WIRE_POW_SUBMISSION:
        lp_sample_pow_submission(seed, &obj->u.pow_submission);
        break;
    }
}

/* Makes the object's author field the given address (so a key can sign it). */
static LP_SAMPLE_UNUSED void lp_sample_set_author(struct lp_wire_object *obj,
                                                  const uint8_t addr[20])
{
    memcpy((uint8_t *)lp_wire_object_author(obj), addr, 20);
}

#endif
