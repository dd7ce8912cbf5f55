/* The pending-job queue (core/solver/pending.c): service order across creators, per-address
 * counts and eviction, targets and exclusions, and the index against a scan of every job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "solver/pending.h"
#include "solver_fixtures.h"

static uint32_t next;

/* A job of creator (first byte of its address) needing cpu millicores and ram GiB. */
static void job(struct lp_pending_job *p, uint8_t creator, uint64_t cpu, uint64_t ram_gib)
{
    memset(p, 0, sizeof *p);
    uint8_t addr[20] = {creator};
    fix_job(&p->job, addr, cpu, 0, 0, ram_gib * GIB, GIB, 100, LP_PRICE_MARKET);
    /* fix_job points at static strings; the queue frees what it owns */
    p->job.module.repo = strdup(FIX_REPO);
    p->job.module.commit = strdup(FIX_COMMIT);
    p->job.module.spec = strdup("{}");
    p->module_ref = strdup(FIX_REPO "@" FIX_COMMIT);
    next++;
    memcpy(p->id, &next, sizeof next);
}

static void add(struct lp_pending *q, uint8_t creator, uint64_t cpu, uint64_t ram_gib,
                uint8_t id[32])
{
    struct lp_pending_job p;
    job(&p, creator, cpu, ram_gib);
    if (id)
        memcpy(id, p.id, 32);
    assert_int_equal(lp_pending_add(q, &p), 0);
}

static void offer(struct lp_match_offer *o, uint8_t provider, uint64_t cpu, uint64_t ram_gib)
{
    struct lp_resource_offer r;
    uint8_t addr[20] = {provider};
    fix_res(&r, addr, cpu, ram_gib * GIB, 100 * GIB, NULL, 0, 10);
    uint8_t id[32] = {0xee};
    assert_int_equal(lp_match_offer_from(id, &r, o), 0);
}

/* Serves the job the offer should take (as the solver does); its creator's first byte. */
static int serve(struct lp_pending *q, const struct lp_match_offer *o)
{
    const struct lp_pending_job *p = lp_pending_find(q, o, 500);
    if (!p)
        return -1;
    uint8_t id[32];
    memcpy(id, p->id, 32);
    struct lp_pending_job out;
    assert_int_equal(lp_pending_take(q, id, true, &out), 0);
    int who = out.job.job_creator[0];
    lp_pending_job_release(&out);
    return who;
}

/* A creator with 5 jobs queued before two others with one each: they alternate from the
 * start, then the flood's remaining jobs follow. */
static void test_service_alternates_between_creators(void **state)
{
    (void)state;
    struct lp_pending *q = lp_pending_new();
    for (int i = 0; i < 5; i++)
        add(q, 1, 1000, 1, NULL);
    add(q, 2, 1000, 1, NULL);
    add(q, 3, 1000, 1, NULL);
    struct lp_match_offer o;
    offer(&o, 0x50, 8000, 32);
    int order[7];
    for (int i = 0; i < 7; i++)
        order[i] = serve(q, &o);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    for (int i = 3; i < 7; i++)
        assert_int_equal(order[i], 1);
    assert_int_equal(serve(q, &o), -1);
    /* a creator arriving after service went on starts at the current round, not behind */
    for (int i = 0; i < 3; i++)
        add(q, 1, 1000, 1, NULL);
    add(q, 4, 1000, 1, NULL);
    assert_int_equal(serve(q, &o), 1);
    assert_int_equal(serve(q, &o), 4);
    lp_match_offer_release(&o);
    lp_pending_free(q);
}

static void test_counts_biggest_and_eviction(void **state)
{
    (void)state;
    struct lp_pending *q = lp_pending_new();
    uint8_t newest[32];
    for (int i = 0; i < 4; i++)
        add(q, 7, 1000, 1, newest);
    add(q, 8, 1000, 1, NULL);
    uint8_t addr[20] = {7}, who[20];
    size_t n = 0;
    assert_int_equal(lp_pending_count(q), 5);
    assert_int_equal(lp_pending_count_of(q, addr), 4);
    assert_true(lp_pending_biggest(q, who, &n));
    assert_int_equal(who[0], 7);
    assert_int_equal(n, 4);
    struct lp_pending_job out;
    assert_int_equal(lp_pending_take_newest(q, addr, &out), 0);
    assert_memory_equal(out.id, newest, 32);
    lp_pending_job_release(&out);
    assert_int_equal(lp_pending_count_of(q, addr), 3);
    /* the oldest in queue order is creator 7's first job */
    assert_int_equal(lp_pending_oldest(q)->job.job_creator[0], 7);
    uint8_t none[20] = {9};
    assert_int_equal(lp_pending_take_newest(q, none, &out), 1);
    /* an ID cannot be queued twice */
    struct lp_pending_job dup;
    job(&dup, 8, 1000, 1);
    memcpy(dup.id, lp_pending_oldest(q)->id, 32);
    assert_int_equal(lp_pending_add(q, &dup), -1);
    lp_pending_job_release(&dup);
    lp_pending_free(q);
}

/* A targeted job is served only by its target's offers; excluded providers never serve. */
static void test_targets_and_exclusions(void **state)
{
    (void)state;
    struct lp_pending *q = lp_pending_new();
    struct lp_pending_job p;
    job(&p, 1, 1000, 1);
    p.job.has_target = 1;
    p.job.target[0] = 0x51;
    assert_int_equal(lp_pending_add(q, &p), 0);
    job(&p, 2, 1000, 1);
    p.excluded[0][0] = 0x52;
    p.n_excluded = 1;
    assert_int_equal(lp_pending_add(q, &p), 0);
    struct lp_match_offer o50, o51, o52;
    offer(&o50, 0x50, 8000, 32);
    offer(&o51, 0x51, 8000, 32);
    offer(&o52, 0x52, 8000, 32);
    assert_null(lp_pending_find(q, &o52, 500)); /* excluded by job 2, not job 1's target */
    assert_int_equal(serve(q, &o50), 2);        /* job 1 waits for its target */
    assert_int_equal(serve(q, &o51), 1);
    assert_int_equal(lp_pending_count(q), 0);
    lp_match_offer_release(&o50);
    lp_match_offer_release(&o51);
    lp_match_offer_release(&o52);
    lp_pending_free(q);
}

/* The index against a scan of every job in service order: a model of the service order
 * (tags as pending.h defines them) and random jobs and offers, jobs served and cancelled as
 * they go (blocks split and merge). */
static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

enum { N = 3000, CREATORS = 40 };

struct model {
    uint64_t vtime, seq;
    uint64_t last[CREATORS];
    size_t count[CREATORS];
    uint64_t tag[N], order[N];
    int creator[N];
    bool queued[N];
};

static struct model md;

static void model_take(int i, bool served)
{
    md.queued[i] = false;
    if (served && md.tag[i] > md.vtime)
        md.vtime = md.tag[i];
    if (--md.count[md.creator[i]] == 0)
        md.last[md.creator[i]] = 0; /* the queue forgets an address without jobs */
}

struct scan {
    const struct lp_match_offer *o;
    const struct lp_pending_job *best;
    int best_idx;
};

static int scan_cb(void *ctx, const struct lp_pending_job *p)
{
    struct scan *sc = ctx;
    struct lp_match_job mj;
    lp_pending_job_match_view(p, &mj);
    if (!lp_matcher_fits(sc->o, 500, &mj, NULL, 0))
        return 0;
    int i;
    memcpy(&i, p->id, sizeof i);
    if (!sc->best || md.tag[i] < md.tag[sc->best_idx] ||
        (md.tag[i] == md.tag[sc->best_idx] && md.order[i] < md.order[sc->best_idx])) {
        sc->best = p;
        sc->best_idx = i;
    }
    return 0;
}

static void test_index_agrees_with_a_scan(void **state)
{
    (void)state;
    struct lp_pending *q = lp_pending_new();
    memset(&md, 0, sizeof md);
    int served = 0;
    for (int round = 0; round < 20000; round++) {
        int i = (int)rnd(N);
        uint8_t id[32] = {0};
        memcpy(id, &i, sizeof i);
        if (rnd(2) == 0) {
            if (md.queued[i]) {
                struct lp_pending_job out;
                assert_int_equal(lp_pending_take(q, id, false, &out), 0);
                lp_pending_job_release(&out);
                model_take(i, false);
                continue;
            }
            struct lp_pending_job p;
            int c = (int)rnd(CREATORS);
            job(&p, (uint8_t)c, (1 + rnd(8)) * 1000, 1 + rnd(32));
            p.job.resources.gpus = (uint32_t)rnd(3);
            p.job.resources.vram_bytes = p.job.resources.gpus ? (8 + 8 * rnd(4)) * GIB : 0;
            memcpy(p.id, id, 32);
            assert_int_equal(lp_pending_add(q, &p), 0);
            md.tag[i] = (md.last[c] > md.vtime ? md.last[c] : md.vtime) + 1;
            md.last[c] = md.tag[i];
            md.order[i] = ++md.seq;
            md.creator[i] = c;
            md.count[c]++;
            md.queued[i] = true;
            continue;
        }
        struct lp_resource_offer r;
        uint8_t prov[20] = {(uint8_t)(0x80 + rnd(8))};
        struct lp_gpu g[4];
        size_t ng = rnd(4);
        for (size_t k = 0; k < ng; k++) {
            g[k].vendor = (char *)"nvidia";
            g[k].model = (char *)"t";
            g[k].vram_bytes = (8 + 8 * rnd(4)) * GIB;
        }
        fix_res(&r, prov, (1 + rnd(8)) * 1000, (1 + rnd(32)) * GIB, 100 * GIB, g, ng, 10);
        uint8_t oid[32] = {0xee};
        struct lp_match_offer o;
        assert_int_equal(lp_match_offer_from(oid, &r, &o), 0);
        struct scan sc = {.o = &o};
        assert_int_equal(lp_pending_each(q, scan_cb, &sc), 0);
        const struct lp_pending_job *found = lp_pending_find(q, &o, 500);
        assert_ptr_equal(found, sc.best);
        if (found) {
            struct lp_pending_job out;
            assert_int_equal(lp_pending_take(q, found->id, true, &out), 0);
            lp_pending_job_release(&out);
            model_take(sc.best_idx, true);
            served++;
        }
        lp_match_offer_release(&o);
    }
    assert_true(served > 1000);
    size_t left = 0;
    for (int i = 0; i < N; i++)
        left += md.queued[i];
    assert_int_equal(lp_pending_count(q), left);
    lp_pending_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_alternates_between_creators),
        cmocka_unit_test(test_counts_biggest_and_eviction),
        cmocka_unit_test(test_targets_and_exclusions),
        cmocka_unit_test(test_index_agrees_with_a_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
