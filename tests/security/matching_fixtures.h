/* What the matching attack tests share: an in-process solver in a temporary folder, driven
 * through its C API (the HTTP layer adds nothing to these attacks), and signed offers from
 * throwaway keys. */
#ifndef LP_TEST_MATCHING_FIXTURES_H
#define LP_TEST_MATCHING_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <lilypad/verifier.h>

#include "crypto/key.h"
#include "solver/solver.h"
#include "wire/object.h"

#include "../unit/solver_fixtures.h"

#define MF_UNUSED __attribute__((unused))

static MF_UNUSED char mf_dir[64];

/* A solver on defaults (adjusted by the caller's cfg edits) in a fresh folder. */
static MF_UNUSED struct lp_solver *mf_open(struct lp_solver_config *cfg)
{
    snprintf(mf_dir, sizeof mf_dir, "/tmp/lp-sec-matching-XXXXXX");
    if (!mkdtemp(mf_dir))
        fail_msg("mkdtemp failed");
    static char db[128], files[128];
    snprintf(db, sizeof db, "%s/solver.db", mf_dir);
    snprintf(files, sizeof files, "%s/files", mf_dir);
    cfg->db_path = db;
    cfg->files_dir = files;
    cfg->create_db = true; /* a new network: its database is created here */
    struct lp_key k;
    lp_key_generate(&k);
    struct lp_solver *s = NULL;
    char err[256];
    cfg->create_db = true; /* a new database in the test's own folder */
    if (lp_solver_open(cfg, &k, &s, err, sizeof err) != 0)
        fail_msg("solver: %s", err);
    return s;
}

static MF_UNUSED void mf_close(struct lp_solver *s)
{
    lp_solver_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mf_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", mf_dir);
}

/* Signs and posts a job offer; returns the HTTP status the solver gave it. */
static MF_UNUSED int mf_post_job_offer(struct lp_solver *s, const struct lp_key *k,
                                       const struct lp_job_offer *j, uint8_t id[32])
{
    struct lp_wire_object obj = {.kind = LP_WIRE_JOB_OFFER};
    obj.u.job_offer = *j;
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    if (lp_wire_sign(k, &obj, &env, &len, NULL, &we) != 0)
        fail_msg("sign: %s", we.message);
    struct lp_solver_status st = {0};
    uint8_t ignored[32];
    lp_solver_post_job_offer(s, k->address, env, len, NULL, id ? id : ignored, &st);
    free(env);
    return st.http;
}

/* A job needing cpu millicores and ram bytes, paying up to max_price (market price). */
static MF_UNUSED int mf_post_job(struct lp_solver *s, const struct lp_key *k, uint64_t cpu,
                                 uint64_t ram, uint64_t max_price, uint8_t id[32])
{
    struct lp_job_offer j;
    fix_job(&j, k->address, cpu, 0, 0, ram, GIB, max_price, LP_PRICE_MARKET);
    return mf_post_job_offer(s, k, &j, id);
}

static MF_UNUSED int mf_post_resource_offer(struct lp_solver *s, const struct lp_key *k,
                                            const struct lp_resource_offer *r, uint8_t id[32])
{
    struct lp_wire_object obj = {.kind = LP_WIRE_RESOURCE_OFFER};
    obj.u.resource_offer = *r;
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    if (lp_wire_sign(k, &obj, &env, &len, NULL, &we) != 0)
        fail_msg("sign: %s", we.message);
    struct lp_solver_status st = {0};
    uint8_t ignored[32];
    lp_solver_post_resource_offer(s, k->address, env, len, id ? id : ignored, &st);
    free(env);
    return st.http;
}

/* An offer of 8 cores, 32 GiB RAM, 100 GiB disk, no GPU, at price. */
static MF_UNUSED int mf_post_offer(struct lp_solver *s, const struct lp_key *k, uint64_t price,
                                   uint8_t id[32])
{
    struct lp_resource_offer r;
    fix_res(&r, k->address, 8000, 32 * GIB, 100 * GIB, NULL, 0, price);
    return mf_post_resource_offer(s, k, &r, id);
}

/* A job offer's state as its creator sees it; deal (may be NULL) gets its deal's ID, and the
 * return is whether it has one. */
static MF_UNUSED bool mf_job_deal(struct lp_solver *s, const struct lp_key *creator,
                                  const uint8_t job[32], int *state, uint8_t deal[32])
{
    json_t *v = NULL;
    struct lp_solver_status st = {0};
    if (lp_solver_view_offer(s, creator->address, LP_WIRE_JOB_OFFER, job, &v, &st) != 0)
        fail_msg("job offer view: %s", st.error);
    if (state)
        *state = (int)json_integer_value(json_object_get(v, "state"));
    const char *d = json_string_value(json_object_get(v, "deal_id"));
    bool has = d && strlen(d) == 66;
    if (has && deal) {
        for (int i = 0; i < 32; i++) {
            unsigned byte = 0;
            sscanf(d + 2 + 2 * i, "%2x", &byte);
            deal[i] = (uint8_t)byte;
        }
    }
    json_decref(v);
    return has;
}

/* The provider of a deal, as its creator sees it. */
static MF_UNUSED void mf_deal_provider(struct lp_solver *s, const struct lp_key *creator,
                                       const uint8_t deal[32], uint8_t provider[20])
{
    json_t *v = NULL;
    struct lp_solver_status st = {0};
    if (lp_solver_view_deal(s, creator->address, deal, &v, &st) != 0)
        fail_msg("deal view: %s", st.error);
    const char *p = json_string_value(json_object_get(v, "resource_provider"));
    assert_non_null(p);
    for (int i = 0; i < 20; i++) {
        unsigned byte = 0;
        sscanf(p + 2 + 2 * i, "%2x", &byte);
        provider[i] = (uint8_t)byte;
    }
    json_decref(v);
}

#endif
