/* Solver lifecycle, offers and matching (see solver.h for the state machine). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/verifier.h>

#include "solver/solver_impl.h"
#include "util/cond.h"
#include "util/hex.h"
#include "wire/mediators.h"

uint64_t lp_solver_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t lp_solver_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void lp_solver_status_set(struct lp_solver_status *st, int http, const char *hint, const char *fmt,
                          ...)
{
    st->http = http;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->error, sizeof st->error, fmt, ap);
    va_end(ap);
    snprintf(st->hint, sizeof st->hint, "%s", hint ? hint : "");
}

void lp_solver_status_store(struct lp_solver_status *st, int rc, const struct lp_store_error *e)
{
    switch (rc) {
    case LP_STORE_NOT_FOUND:
        lp_solver_status_set(st, 404, "check the ID", "%s", e->message);
        break;
    case LP_STORE_EXISTS:
        lp_solver_status_set(st, 409, "post a new object (fresh nonce)", "%s", e->message);
        break;
    case LP_STORE_CONFLICT:
        lp_solver_status_set(st, 409, "reload the record: its state changed", "%s", e->message);
        break;
    case LP_STORE_FULL:
        lp_solver_status_set(st, 507, "the solver's disk is full; retry later", "%s", e->message);
        break;
    default:
        lp_solver_status_set(st, 500, "the solver's store failed; see its log", "%s", e->message);
        break;
    }
}

void lp_solver_count(struct lp_solver *s, uint64_t *counter, uint64_t n)
{
    (void)s;
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void lp_solver_events_appended(struct lp_solver *s)
{
    uint64_t seq = 0;
    struct lp_store_error e;
    if (s->store->ops->event_last_seq(s->store, &seq, &e) != LP_STORE_OK)
        return;
    pthread_mutex_lock(&s->ev_lock);
    if (seq > s->last_seq)
        s->last_seq = seq;
    pthread_cond_broadcast(&s->ev_cond);
    pthread_mutex_unlock(&s->ev_lock);
}

void lp_solver_event(struct lp_store_event_in *ev, const char *type, const uint8_t *id,
                     uint32_t state, const uint8_t *a, const uint8_t *b, const uint8_t *c)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    memcpy(ev->object_id, id, LP_WIRE_ID_LEN);
    ev->state = state;
    const uint8_t *who[3] = {a, b, c};
    for (size_t i = 0; i < 3; i++) {
        if (who[i])
            memcpy(ev->audience[ev->n_audience++], who[i], LP_WIRE_ADDR_LEN);
    }
}

char *lp_solver_module_ref(const struct lp_job_offer *job)
{
    size_t n = strlen(job->module.repo) + strlen(job->module.commit) + 2;
    char *ref = malloc(n);
    if (ref)
        snprintf(ref, n, "%s@%s", job->module.repo, job->module.commit);
    return ref;
}

void lp_solver_hex_id(const uint8_t id[LP_WIRE_ID_LEN], char out[2 * LP_WIRE_ID_LEN + 3])
{
    lp_hex_encode_0x(id, LP_WIRE_ID_LEN, out);
}

const uint8_t *lp_solver_address(const struct lp_solver *s)
{
    return s->key.address;
}

struct lp_store *lp_solver_store(struct lp_solver *s)
{
    return s->store;
}

const struct lp_solver_config *lp_solver_get_config(const struct lp_solver *s)
{
    return &s->cfg;
}

void lp_solver_get_metrics(struct lp_solver *s, struct lp_solver_metrics *m)
{
    /* The counters are bumped atomically from many threads (lp_solver_count): read them so. */
    const struct lp_solver_metrics *c = &s->metrics;
    memset(m, 0, sizeof *m);
    m->job_offers = __atomic_load_n(&c->job_offers, __ATOMIC_RELAXED);
    m->resource_offers = __atomic_load_n(&c->resource_offers, __ATOMIC_RELAXED);
    m->deals = __atomic_load_n(&c->deals, __ATOMIC_RELAXED);
    m->matches = __atomic_load_n(&c->matches, __ATOMIC_RELAXED);
    m->match_ns_total = __atomic_load_n(&c->match_ns_total, __ATOMIC_RELAXED);
    m->timeouts = __atomic_load_n(&c->timeouts, __ATOMIC_RELAXED);
    m->rejected = __atomic_load_n(&c->rejected, __ATOMIC_RELAXED);
    m->open_resource_offers = lp_matcher_size(s->matcher);
    pthread_mutex_lock(&s->pending_lock);
    m->pending_jobs = lp_pending_count(s->pending);
    pthread_mutex_unlock(&s->pending_lock);
}

/* ---- blocklist -------------------------------------------------------------------------- */

/* Matcher callback: a module is blocked by its repo (every commit) or by repo@commit. */
static int blocked_cb(void *ctx, const char *repo, const char *module_ref, char *reason,
                      size_t reason_cap)
{
    struct lp_solver *s = ctx;
    struct lp_store_error e;
    if (s->store->ops->block_get(s->store, module_ref, reason, reason_cap, &e) == LP_STORE_OK)
        return 1;
    if (repo && s->store->ops->block_get(s->store, repo, reason, reason_cap, &e) == LP_STORE_OK)
        return 1;
    return 0;
}

int lp_solver_block(struct lp_solver *s, const char *module, const char *reason)
{
    struct lp_store_error e;
    if (s->store->ops->block_set(s->store, module, reason, lp_solver_now_ms(), &e) != LP_STORE_OK) {
        fprintf(stderr, "lilypad: solver: blocklist: %s\n", e.message);
        return -1;
    }
    return 0;
}

/* ---- pending jobs -------------------------------------------------------------------------- */

/* Removes a job from the queue by ID (pending_lock held); 0 if it was there. */
static int pending_drop(struct lp_solver *s, const uint8_t id[LP_WIRE_ID_LEN])
{
    struct lp_pending_job p;
    if (lp_pending_take(s->pending, id, false, &p) != 0)
        return 1;
    lp_pending_job_release(&p);
    return 0;
}

/* Queues a job (pending_lock held); on failure p is released. */
static void pending_push(struct lp_solver *s, struct lp_pending_job *p)
{
    if (lp_pending_add(s->pending, p) != 0) {
        fprintf(stderr, "lilypad: solver: job offer not queued (out of memory)\n");
        lp_pending_job_release(p);
    }
}

/* ---- matching and deal creation ------------------------------------------------------------ */

struct commit_ctx {
    struct lp_solver *s;
    const struct lp_pending_job *p;
    struct lp_solver_status *st;
    uint8_t deal_id[LP_WIRE_ID_LEN]; /* set by a successful commit */
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t at_ms;
    uint8_t tried[LP_WIRE_ID_LEN]; /* the resource offer of the last commit */
};

static uint64_t ms_to_s_ceil(uint64_t ms)
{
    uint64_t s = (ms + 999) / 1000;
    return s > LP_WIRE_MAX_DURATION_S ? LP_WIRE_MAX_DURATION_S : s;
}

static int commit_deal(void *ctx, const struct lp_match_offer *offer, const struct lp_u256 *price)
{
    struct commit_ctx *c = ctx;
    struct lp_solver *s = c->s;
    const struct lp_pending_job *p = c->p;
    uint64_t now = lp_solver_now_ms();
    memcpy(c->tried, offer->id, LP_WIRE_ID_LEN);

    uint64_t exec_ms = p->job.timeout_s * 1000u;
    if (s->cfg.max_execution_ms && exec_ms > s->cfg.max_execution_ms)
        exec_ms = s->cfg.max_execution_ms;

    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_DEAL;
    struct lp_deal *d = &obj.u.deal;
    memcpy(d->job_offer_id, p->id, LP_WIRE_ID_LEN);
    memcpy(d->resource_offer_id, offer->id, LP_WIRE_ID_LEN);
    memcpy(d->job_creator, p->job.job_creator, LP_WIRE_ADDR_LEN);
    memcpy(d->resource_provider, offer->provider, LP_WIRE_ADDR_LEN);
    memcpy(d->solver, s->key.address, LP_WIRE_ADDR_LEN);
    d->timeouts.execution_s = ms_to_s_ceil(exec_ms);
    d->timeouts.download_s = ms_to_s_ceil(s->cfg.download_timeout_ms);
    d->timeouts.judge_s = ms_to_s_ceil(s->cfg.download_timeout_ms);
    d->timeouts.mediation_s = ms_to_s_ceil(s->cfg.mediation_timeout_ms);
    d->agreed_price = *price;
    d->payment_collateral = p->job.payment_collateral;
    d->results_collateral = offer->results_collateral;
    d->mediation_fee = offer->mediation_fee;
    d->created_at_ms = now;

    struct lp_store_deal rec;
    memset(&rec, 0, sizeof rec);
    struct lp_wire_error werr;
    if (lp_wire_sign(&s->key, &obj, &rec.envelope, &rec.envelope_len, rec.id, &werr) != 0) {
        lp_solver_status_set(c->st, 500, "see the solver's log", "signing the deal: %s",
                             werr.message);
        return -1;
    }
    memcpy(rec.job_offer_id, p->id, LP_WIRE_ID_LEN);
    memcpy(rec.resource_offer_id, offer->id, LP_WIRE_ID_LEN);
    memcpy(rec.job_creator, p->job.job_creator, LP_WIRE_ADDR_LEN);
    memcpy(rec.provider, offer->provider, LP_WIRE_ADDR_LEN);
    rec.state = LP_DEAL_AGREED;
    rec.created_at_ms = now;
    rec.job_created_at_ms = p->stored_at_ms;
    rec.execution_ms = exec_ms;
    rec.download_ms = s->cfg.download_timeout_ms;
    rec.judge_ms = s->cfg.download_timeout_ms;
    rec.mediation_ms = s->cfg.mediation_timeout_ms;
    rec.has_input = p->has_input;
    memcpy(rec.input_keccak, p->input_keccak, LP_WIRE_ID_LEN);

    struct lp_store_event_in ev[3];
    lp_solver_event(&ev[0], "deal_added", rec.id, LP_DEAL_AGREED, rec.job_creator, rec.provider,
                    NULL);
    lp_solver_event(&ev[1], "job_offer_state", p->id, LP_DEAL_AGREED, rec.job_creator, NULL, NULL);
    lp_solver_event(&ev[2], "resource_offer_state", offer->id, LP_DEAL_AGREED, rec.provider, NULL,
                    NULL);
    struct lp_store_error e;
    int rc = s->store->ops->deal_create(s->store, &rec, ev, 3, now, &e);
    free(rec.envelope);
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(c->st, rc, &e);
        return -1;
    }
    lp_solver_count(s, &s->metrics.deals, 1);
    memcpy(c->deal_id, rec.id, LP_WIRE_ID_LEN);
    memcpy(c->provider, offer->provider, LP_WIRE_ADDR_LEN);
    c->at_ms = now;
    return 0;
}

static void count_match(struct lp_solver *s, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    lp_solver_count(s, &s->metrics.matches, 1);
    lp_solver_count(
        s, &s->metrics.match_ns_total,
        (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000000000LL + (t1.tv_nsec - t0->tv_nsec)));
}

/* After a deal was made for p: the provider is scored and its start awaited. */
static void matched(struct lp_solver *s, const struct commit_ctx *c)
{
    lp_solver_provider_outcome(s, c->provider, LP_OUTCOME_MATCHED);
    lp_solver_start_watch(s, c->deal_id, c->provider, c->p, c->at_ms);
}

/* A booking failed in the store: an offer on either side may have been cancelled or ended
 * meanwhile (a resource offer cancelled between its insert and its indexing, say). Whatever
 * is no longer open leaves the queue and the index, so it is not tried again and again. */
static void reconcile(struct lp_solver *s, const uint8_t job_id[LP_WIRE_ID_LEN],
                      const uint8_t offer_id[LP_WIRE_ID_LEN])
{
    struct lp_store_offer o;
    struct lp_store_error e;
    if (s->store->ops->offer_get(s->store, LP_WIRE_RESOURCE_OFFER, offer_id, &o, &e) ==
        LP_STORE_OK) {
        if (o.state != LP_DEAL_NEGOTIATING)
            lp_matcher_remove(s->matcher, offer_id);
        lp_store_offer_release(&o);
    }
    if (job_id &&
        s->store->ops->offer_get(s->store, LP_WIRE_JOB_OFFER, job_id, &o, &e) == LP_STORE_OK) {
        if (o.state != LP_DEAL_NEGOTIATING)
            pending_drop(s, job_id);
        lp_store_offer_release(&o);
    }
}

int lp_solver_match_job(struct lp_solver *s, const struct lp_pending_job *p,
                        struct lp_solver_status *st)
{
    struct lp_match_job mj;
    lp_pending_job_match_view(p, &mj);
    struct commit_ctx c = {.s = s, .p = p, .st = st};
    char reason[256] = "";
    struct lp_match_result res;
    int rc = LP_MATCH_NONE;
    /* A booking the store refuses because the offer is no longer open takes the offer out of
     * the index (reconcile) and the match is tried again; the bound only stops a store that
     * fails every write. */
    for (int attempt = 0; attempt < 4; attempt++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = lp_matcher_match(s->matcher, &mj, commit_deal, &c, &res, reason, sizeof reason);
        count_match(s, &t0);
        if (rc != LP_MATCH_COMMIT_FAILED)
            break;
        reconcile(s, NULL, c.tried);
        if (lp_matcher_contains(s->matcher, c.tried))
            break; /* still open: the failure was the store's, not a stale offer */
    }
    if (rc == LP_MATCH_BLOCKED)
        lp_solver_status_set(st, 403, "the network's operators blocked this module; pick another",
                             "%s", reason);
    if (rc == LP_MATCH_OK) {
        lp_match_offer_release(&res.offer);
        matched(s, &c);
    }
    if (rc == LP_MATCH_OK || rc == LP_MATCH_COMMIT_FAILED || rc == LP_MATCH_BLOCKED)
        lp_solver_events_appended(s);
    return rc;
}

bool lp_solver_serve_pending(struct lp_solver *s, const struct lp_match_offer *o,
                             uint32_t reliability, bool in_matcher)
{
    /* A failed booking drops what is no longer open (reconcile) and tries the next job; the
     * bound only keeps a store that fails every write from looping here. */
    for (int attempt = 0; attempt < 8; attempt++) {
        const struct lp_pending_job *p = lp_pending_find(s->pending, o, reliability);
        if (!p)
            return false;
        struct lp_solver_status st = {0};
        struct commit_ctx c = {.s = s, .p = p, .st = &st};
        struct lp_match_job mj;
        lp_pending_job_match_view(p, &mj);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc;
        if (in_matcher) {
            rc = lp_matcher_book(s->matcher, o->id, &mj, commit_deal, &c);
        } else {
            struct lp_u256 price = lp_matcher_price(&p->job, o);
            rc = commit_deal(&c, o, &price) == 0 ? LP_MATCH_OK : LP_MATCH_COMMIT_FAILED;
        }
        count_match(s, &t0);
        if (rc == LP_MATCH_NONE)
            return false;
        lp_solver_events_appended(s);
        uint8_t job_id[LP_WIRE_ID_LEN];
        memcpy(job_id, p->id, LP_WIRE_ID_LEN);
        if (rc == LP_MATCH_OK) {
            matched(s, &c);
            struct lp_pending_job done;
            if (lp_pending_take(s->pending, job_id, true, &done) == 0)
                lp_pending_job_release(&done);
            return true;
        }
        reconcile(s, job_id, o->id);
        if (!in_matcher) {
            struct lp_store_offer r;
            memset(&r, 0, sizeof r);
            struct lp_store_error e;
            bool open = s->store->ops->offer_get(s->store, LP_WIRE_RESOURCE_OFFER, o->id, &r, &e) ==
                            LP_STORE_OK &&
                        r.state == LP_DEAL_NEGOTIATING;
            lp_store_offer_release(&r);
            if (!open)
                return true; /* the offer is gone: nothing left to index */
        } else if (!lp_matcher_contains(s->matcher, o->id)) {
            return true;
        }
    }
    return false;
}

/* ---- posting offers ------------------------------------------------------------------------- */

bool lp_solver_open_envelope(const uint8_t *body, size_t len, uint32_t want_kind,
                             const uint8_t caller[LP_WIRE_ADDR_LEN], struct lp_wire_object *obj,
                             struct lp_envelope *env, struct lp_solver_status *st)
{
    struct lp_wire_error werr;
    if (lp_wire_open(body, len, obj, env, &werr) != 0) {
        lp_solver_status_set(st, 400, "send a signed envelope (lp_wire_sign) as the body",
                             "bad envelope: %s", werr.message);
        return false;
    }
    if (obj->kind != want_kind) {
        lp_solver_status_set(st, 400, "this endpoint takes one kind of object",
                             "the body is a %s, expected a %s", lp_wire_kind_name(obj->kind),
                             lp_wire_kind_name(want_kind));
        lp_wire_object_free(obj);
        return false;
    }
    if (memcmp(env->signer, caller, LP_WIRE_ADDR_LEN) != 0) {
        char a[43], b[43];
        lp_address_to_checksum(caller, a);
        lp_address_to_checksum(env->signer, b);
        lp_solver_status_set(st, 403, "sign the request with the object's author key",
                             "the request is signed by %s but the %s's author is %s", a,
                             lp_wire_kind_name(want_kind), b);
        lp_wire_object_free(obj);
        return false;
    }
    return true;
}

static bool fresh(struct lp_solver *s, uint64_t created_at_ms, struct lp_solver_status *st)
{
    uint64_t now = lp_solver_now_ms();
    uint64_t skew = created_at_ms > now ? created_at_ms - now : now - created_at_ms;
    if (s->cfg.offer_skew_ms && skew > s->cfg.offer_skew_ms) {
        lp_solver_status_set(st, 400, "create the offer just before posting it; check the clock",
                             "offer created_at is %llu ms away from the solver's clock (max %llu)",
                             (unsigned long long)skew, (unsigned long long)s->cfg.offer_skew_ms);
        return false;
    }
    return true;
}

/* Evicts addr's newest waiting job to make room (pending_lock held): it ends as TimeoutMatch,
 * which its creator sees as "not matched in time", with the event that says so. */
static void evict_newest(struct lp_solver *s, const uint8_t addr[LP_WIRE_ADDR_LEN], uint64_t now)
{
    struct lp_pending_job p;
    if (lp_pending_take_newest(s->pending, addr, &p) != 0)
        return;
    struct lp_store_event_in ev;
    lp_solver_event(&ev, "job_offer_state", p.id, LP_DEAL_TIMEOUT_MATCH, p.job.job_creator, NULL,
                    NULL);
    struct lp_store_error e;
    if (s->store->ops->offer_set_state(s->store, LP_WIRE_JOB_OFFER, p.id, LP_DEAL_NEGOTIATING,
                                       LP_DEAL_TIMEOUT_MATCH, &ev, 1, now, &e) != LP_STORE_OK)
        fprintf(stderr, "lilypad: solver: evicting a job offer: %s\n", e.message);
    lp_solver_count(s, &s->evicted, 1);
    lp_pending_job_release(&p);
}

int lp_solver_post_job_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                             const uint8_t *body, size_t len, const uint8_t *input_keccak,
                             uint8_t id[LP_WIRE_ID_LEN], struct lp_solver_status *st)
{
    struct lp_wire_object obj;
    struct lp_envelope env;
    if (!lp_solver_open_envelope(body, len, LP_WIRE_JOB_OFFER, caller, &obj, &env, st))
        return -1;
    memcpy(id, env.id, LP_WIRE_ID_LEN);
    struct lp_pending_job p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, env.id, LP_WIRE_ID_LEN);
    p.job = obj.u.job_offer; /* takes ownership */
    p.module_ref = lp_solver_module_ref(&p.job);
    int ret = -1;
    struct lp_store_error e;
    if (!p.module_ref) {
        lp_solver_status_set(st, 500, NULL, "out of memory");
        goto out;
    }
    if (!fresh(s, p.job.created_at_ms, st))
        goto out;
    /* A job creator may not judge its own challenge: naming itself as a mediator is refused
     * here, not silently dropped later, so the offer it signed says what will happen. */
    if (lp_mediators_has((const uint8_t(*)[LP_WIRE_ADDR_LEN])p.job.mediators, p.job.n_mediators,
                         p.job.job_creator)) {
        lp_solver_status_set(st, 400, "name mediators other than your own address",
                             "job_offer.mediators names the job creator itself; a party may not "
                             "mediate its own challenge");
        lp_solver_count(s, &s->metrics.rejected, 1);
        goto out;
    }
    if (lp_solver_module_check(s, caller, &p.job, st) != 0)
        goto out;
    char reason[256] = "";
    if (blocked_cb(s, p.job.module.repo, p.module_ref, reason, sizeof reason)) {
        lp_solver_status_set(st, 403, "the network's operators blocked this module; pick another",
                             "module %s is on the network blocklist: %s", p.module_ref, reason);
        lp_solver_count(s, &s->metrics.rejected, 1);
        goto out;
    }
    if (input_keccak) {
        /* Every uploader of the bytes owns them: a first uploader cannot take them from the
         * next one. */
        if (s->store->ops->file_owned(s->store, input_keccak, caller, &e) != LP_STORE_OK) {
            lp_solver_status_set(st, 400, "upload the inputs with POST /api/v1/files first",
                                 "inputs: no file with that keccak uploaded by this address");
            goto out;
        }
        p.has_input = true;
        memcpy(p.input_keccak, input_keccak, LP_WIRE_ID_LEN);
    }
    int rc;
    pthread_mutex_lock(&s->pending_lock);
    /* An address's open job offers are its waiting jobs: counted by the queue, exactly (under
     * its lock) and without a store query per post. */
    size_t open_mine = lp_pending_count_of(s->pending, caller);
    if (open_mine >= s->cfg.max_open_job_offers) {
        pthread_mutex_unlock(&s->pending_lock);
        lp_solver_status_set(st, 429, "wait for your open job offers to match, or cancel some",
                             "too many open job offers: %zu (limit %llu per address)", open_mine,
                             (unsigned long long)s->cfg.max_open_job_offers);
        lp_solver_count(s, &s->metrics.rejected, 1);
        goto out;
    }
    /* The queue is shared by every job creator: when it is full, the address with the most
     * waiting jobs gives way (its newest job is evicted), as long as it has at least two more
     * than the poster; so a flood from any number of keys never shuts out an address with
     * fewer jobs, and no address with a single job is ever evicted. */
    uint8_t evict_from[LP_WIRE_ADDR_LEN];
    bool evict = false;
    if (lp_pending_count(s->pending) >= s->cfg.max_pending_jobs) {
        size_t most = 0, mine = lp_pending_count_of(s->pending, caller);
        if (s->cfg.max_pending_jobs == 0 || !lp_pending_biggest(s->pending, evict_from, &most) ||
            most < mine + 2) {
            pthread_mutex_unlock(&s->pending_lock);
            lp_solver_status_set(st, 503, "the network is busy; retry later",
                                 "network busy: %zu job offers are waiting for a provider "
                                 "(you have %zu of them)",
                                 lp_pending_count(s->pending), mine);
            lp_solver_count(s, &s->metrics.rejected, 1);
            goto out;
        }
        evict = true;
    }
    uint64_t now = lp_solver_now_ms();
    p.stored_at_ms = now;
    p.queued_at_ms = now;
    struct lp_store_offer rec = {.kind = LP_WIRE_JOB_OFFER,
                                 .state = LP_DEAL_NEGOTIATING,
                                 .has_input = p.has_input,
                                 .created_at_ms = p.job.created_at_ms,
                                 .envelope = (uint8_t *)body,
                                 .envelope_len = len};
    memcpy(rec.id, p.id, LP_WIRE_ID_LEN);
    memcpy(rec.owner, caller, LP_WIRE_ADDR_LEN);
    memcpy(rec.input_keccak, p.input_keccak, LP_WIRE_ID_LEN);
    struct lp_store_event_in ev;
    lp_solver_event(&ev, "job_offer_added", p.id, LP_DEAL_NEGOTIATING, caller, NULL, NULL);
    rc = s->store->ops->offer_insert(s->store, &rec, &ev, 1, now, &e);
    if (rc != LP_STORE_OK) {
        pthread_mutex_unlock(&s->pending_lock);
        lp_solver_status_store(st, rc, &e);
        goto out;
    }
    lp_solver_count(s, &s->metrics.job_offers, 1);
    struct lp_solver_status mst = {0};
    rc = lp_solver_match_job(s, &p, &mst);
    if (rc != LP_MATCH_OK) {
        /* Not matched now: it waits for a resource offer (or its match timeout). */
        if (evict)
            evict_newest(s, evict_from, now);
        pending_push(s, &p);
    }
    pthread_mutex_unlock(&s->pending_lock);
    lp_solver_events_appended(s);
    st->http = 200;
    ret = 0;
out:
    lp_pending_job_release(&p);
    return ret;
}

int lp_solver_post_resource_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                                  const uint8_t *body, size_t len, uint8_t id[LP_WIRE_ID_LEN],
                                  struct lp_solver_status *st)
{
    struct lp_wire_object obj;
    struct lp_envelope env;
    if (!lp_solver_open_envelope(body, len, LP_WIRE_RESOURCE_OFFER, caller, &obj, &env, st))
        return -1;
    memcpy(id, env.id, LP_WIRE_ID_LEN);
    struct lp_resource_offer *r = &obj.u.resource_offer;
    int ret = -1;
    struct lp_store_error e;
    if (!fresh(s, r->created_at_ms, st))
        goto out;
    /* Posting proves the provider is there (and brings back offers it had lapsed). */
    lp_solver_provider_seen(s, caller, 0, false);
    struct lp_match_offer mo;
    if (lp_match_offer_from(env.id, r, &mo) != 0) {
        lp_solver_status_set(st, 500, NULL, "out of memory");
        goto out;
    }
    /* Everything below under the queue's lock: the count is exact, and a job posted meanwhile
     * either is waiting already or finds this offer in the index. An address's open resource
     * offers are the ones in the index (its held-back ones included). */
    pthread_mutex_lock(&s->pending_lock);
    size_t open_mine = lp_matcher_count_of(s->matcher, caller);
    if (open_mine >= s->cfg.max_open_resource_offers) {
        pthread_mutex_unlock(&s->pending_lock);
        lp_match_offer_release(&mo);
        lp_solver_status_set(st, 429, "cancel an open resource offer before posting another",
                             "too many open resource offers: %zu (limit %llu per address)",
                             open_mine, (unsigned long long)s->cfg.max_open_resource_offers);
        lp_solver_count(s, &s->metrics.rejected, 1);
        goto out;
    }
    uint64_t now = lp_solver_now_ms();
    struct lp_store_offer rec = {.kind = LP_WIRE_RESOURCE_OFFER,
                                 .state = LP_DEAL_NEGOTIATING,
                                 .created_at_ms = r->created_at_ms,
                                 .envelope = (uint8_t *)body,
                                 .envelope_len = len};
    memcpy(rec.id, env.id, LP_WIRE_ID_LEN);
    memcpy(rec.owner, caller, LP_WIRE_ADDR_LEN);
    struct lp_store_event_in ev;
    lp_solver_event(&ev, "resource_offer_added", env.id, LP_DEAL_NEGOTIATING, caller, NULL, NULL);
    int rc = s->store->ops->offer_insert(s->store, &rec, &ev, 1, now, &e);
    if (rc != LP_STORE_OK) {
        pthread_mutex_unlock(&s->pending_lock);
        lp_match_offer_release(&mo);
        lp_solver_status_store(st, rc, &e);
        goto out;
    }
    lp_solver_count(s, &s->metrics.resource_offers, 1);
    lp_solver_events_appended(s);
    /* Waiting jobs get the offer first, by one lookup in the pending index; only an offer no
     * waiting job can take is indexed for the jobs to come. */
    uint32_t reliability = lp_matcher_reliability(s->matcher, caller);
    int add = lp_solver_serve_pending(s, &mo, reliability, false)
                  ? 0
                  : lp_matcher_add(s->matcher, env.id, r);
    pthread_mutex_unlock(&s->pending_lock);
    lp_match_offer_release(&mo);
    if (add != 0) {
        lp_solver_status_set(st, 500, NULL, "matcher: cannot index the offer");
        goto out;
    }
    st->http = 200;
    ret = 0;
out:
    lp_wire_object_free(&obj);
    return ret;
}

int lp_solver_cancel_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                           struct lp_solver_status *st)
{
    struct lp_store_offer o;
    struct lp_store_error e;
    int rc = s->store->ops->offer_get(s->store, kind, id, &o, &e);
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    bool mine = memcmp(o.owner, caller, LP_WIRE_ADDR_LEN) == 0;
    bool has_deal = o.has_deal;
    uint8_t deal_id[LP_WIRE_ID_LEN];
    memcpy(deal_id, o.deal_id, LP_WIRE_ID_LEN);
    lp_store_offer_release(&o);
    if (!mine) {
        lp_solver_status_set(st, 403, "only an offer's author may cancel it",
                             "this %s belongs to another address", lp_wire_kind_name(kind));
        return -1;
    }
    if (kind == LP_WIRE_JOB_OFFER && has_deal)
        return lp_solver_deal_action(s, caller, deal_id, "cancel", st);
    struct lp_store_event_in ev;
    lp_solver_event(&ev, kind == LP_WIRE_JOB_OFFER ? "job_offer_state" : "resource_offer_state", id,
                    LP_DEAL_JOB_OFFER_CANCELLED, caller, NULL, NULL);
    /* Under the queue's lock, as posting is: a resource offer being posted is then either
     * indexed already (and removed here) or finds itself cancelled before it is indexed, so a
     * cancelled offer never lingers in the index. Out of the index before the store, so the
     * matcher cannot book it while it is being cancelled. */
    pthread_mutex_lock(&s->pending_lock);
    if (kind == LP_WIRE_RESOURCE_OFFER)
        lp_matcher_remove(s->matcher, id);
    rc =
        s->store->ops->offer_set_state(s->store, kind, id, LP_DEAL_NEGOTIATING,
                                       LP_DEAL_JOB_OFFER_CANCELLED, &ev, 1, lp_solver_now_ms(), &e);
    if (kind == LP_WIRE_JOB_OFFER && rc == LP_STORE_OK)
        pending_drop(s, id);
    pthread_mutex_unlock(&s->pending_lock);
    if (rc == LP_STORE_CONFLICT && kind == LP_WIRE_JOB_OFFER) {
        /* Matched in the meantime: cancel the deal instead. */
        if (s->store->ops->offer_get(s->store, kind, id, &o, &e) == LP_STORE_OK && o.has_deal) {
            memcpy(deal_id, o.deal_id, LP_WIRE_ID_LEN);
            lp_store_offer_release(&o);
            return lp_solver_deal_action(s, caller, deal_id, "cancel", st);
        }
        lp_store_offer_release(&o);
    }
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    lp_solver_events_appended(s);
    st->http = 200;
    return 0;
}

int lp_solver_upload_file(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const struct lp_solver_blob *blob, uint8_t keccak[LP_WIRE_ID_LEN],
                          struct lp_solver_status *st)
{
    if (blob->len > s->cfg.max_file_bytes) {
        if (blob->staged)
            unlink(blob->staged);
        lp_solver_status_set(st, 413, "pack fewer or smaller files",
                             "file too large: %zu bytes "
                             "(limit %llu)",
                             blob->len, (unsigned long long)s->cfg.max_file_bytes);
        return -1;
    }
    struct lp_store_error e;
    uint64_t now = lp_solver_now_ms();
    int rc;
    if (blob->staged) {
        memcpy(keccak, blob->keccak, LP_WIRE_ID_LEN);
        rc = s->store->ops->file_put_staged(s->store, blob->staged, blob->len, blob->keccak, caller,
                                            now, &e);
    } else {
        rc = s->store->ops->file_put(s->store, blob->data, blob->len, caller, now, keccak, &e);
    }
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    st->http = 200;
    return 0;
}

/* ---- open / close ---------------------------------------------------------------------------- */

/* Open offers read back from the store. The scan callbacks only collect them: the store's
 * lock is held during a scan, and the matcher and the pending queue are locked before the
 * store everywhere else (solver_impl.h), so they are filled after the scan returns. */
struct loaded_offers {
    struct lp_store_offer *items;
    size_t count, cap;
    bool oom;
};

static int collect_offer(void *ctx, const struct lp_store_offer *o)
{
    struct loaded_offers *l = ctx;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct lp_store_offer *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            l->oom = true;
            return 1;
        }
        l->items = grown;
        l->cap = cap;
    }
    struct lp_store_offer *copy = &l->items[l->count];
    *copy = *o;
    copy->envelope = malloc(o->envelope_len ? o->envelope_len : 1);
    if (!copy->envelope) {
        l->oom = true;
        return 1;
    }
    memcpy(copy->envelope, o->envelope, o->envelope_len);
    l->count++;
    return 0;
}

static void loaded_offers_free(struct loaded_offers *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].envelope);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static void load_resource_offer(struct lp_solver *s, const struct lp_store_offer *o)
{
    struct lp_wire_object obj;
    struct lp_wire_error werr;
    if (lp_wire_open(o->envelope, o->envelope_len, &obj, NULL, &werr) != 0) {
        fprintf(stderr, "lilypad: solver: stored resource offer unreadable, skipped: %s\n",
                werr.message);
        return;
    }
    if (obj.kind == LP_WIRE_RESOURCE_OFFER)
        lp_matcher_add(s->matcher, o->id, &obj.u.resource_offer);
    lp_wire_object_free(&obj);
}

static void load_job_offer(struct lp_solver *s, const struct lp_store_offer *o)
{
    struct lp_wire_object obj;
    struct lp_wire_error werr;
    if (lp_wire_open(o->envelope, o->envelope_len, &obj, NULL, &werr) != 0 ||
        obj.kind != LP_WIRE_JOB_OFFER) {
        fprintf(stderr, "lilypad: solver: stored job offer unreadable, skipped\n");
        return;
    }
    struct lp_pending_job p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, o->id, LP_WIRE_ID_LEN);
    p.job = obj.u.job_offer;
    p.module_ref = lp_solver_module_ref(&p.job);
    p.stored_at_ms = o->stored_at_ms;
    p.queued_at_ms = o->stored_at_ms;
    p.has_input = o->has_input;
    memcpy(p.input_keccak, o->input_keccak, LP_WIRE_ID_LEN);
    if (!p.module_ref) {
        lp_pending_job_release(&p);
        return;
    }
    pending_push(s, &p);
}

/* Rebuilds the matcher index and the pending-job queue from the store's open offers. */
static int reload_open_offers(struct lp_solver *s, struct lp_store_error *e)
{
    struct loaded_offers res = {0}, jobs = {0};
    int rc = s->store->ops->offer_scan(s->store, LP_WIRE_RESOURCE_OFFER, LP_DEAL_NEGOTIATING, NULL,
                                       collect_offer, &res, e);
    if (rc == LP_STORE_OK)
        rc = s->store->ops->offer_scan(s->store, LP_WIRE_JOB_OFFER, LP_DEAL_NEGOTIATING, NULL,
                                       collect_offer, &jobs, e);
    if (res.oom || jobs.oom) {
        snprintf(e->message, sizeof e->message, "out of memory");
        rc = -1;
    }
    for (size_t i = 0; rc == LP_STORE_OK && i < res.count; i++) {
        /* Every provider with open offers counts as live from the start, so a restart does
         * not lapse offers that were matchable before it. */
        lp_solver_provider_seen(s, res.items[i].owner, 0, false);
        load_resource_offer(s, &res.items[i]);
    }
    for (size_t i = 0; rc == LP_STORE_OK && i < jobs.count; i++)
        load_job_offer(s, &jobs.items[i]);
    loaded_offers_free(&res);
    loaded_offers_free(&jobs);
    return rc;
}

/* The timeout thread. It shares ev_cond with the long-polls (so close() wakes everything with
 * one broadcast) and therefore ignores wake-ups before its next tick is due. */
static void *ticker_main(void *arg)
{
    struct lp_solver *s = arg;
    pthread_mutex_lock(&s->ev_lock);
    /* Ticks are paced on the monotonic clock; deals' deadlines are wall-clock timestamps. */
    uint64_t next = lp_solver_mono_ms() + s->cfg.tick_ms;
    while (!s->stopping) {
        uint64_t mono = lp_solver_mono_ms();
        if (mono < next)
            lp_cond_wait_ns(&s->ev_cond, &s->ev_lock, (next - mono) * 1000000u);
        if (s->stopping)
            break;
        if (lp_solver_mono_ms() < next)
            continue;
        pthread_mutex_unlock(&s->ev_lock);
        lp_solver_tick(s, lp_solver_now_ms());
        lp_solver_housekeeping(s, lp_solver_now_ms());
        pthread_mutex_lock(&s->ev_lock);
        next = lp_solver_mono_ms() + s->cfg.tick_ms;
    }
    pthread_mutex_unlock(&s->ev_lock);
    return NULL;
}

int lp_solver_open(const struct lp_solver_config *cfg, const struct lp_key *key,
                   struct lp_solver **out, char *err, size_t errlen)
{
    *out = NULL;
    struct lp_solver *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "solver: out of memory");
        return -1;
    }
    s->cfg = *cfg;
    if (s->cfg.tick_ms == 0)
        s->cfg.tick_ms = 1000;
    s->key = *key;
    pthread_mutex_init(&s->pending_lock, NULL);
    pthread_mutex_init(&s->prov_lock, NULL);
    pthread_mutex_init(&s->ev_lock, NULL);
    pthread_mutex_init(&s->pow_lock, NULL);
    lp_cond_init(&s->ev_cond);
    struct lp_store_error e;
    bool copied = true;
    /* The caller's paths may not outlive this call; the HTTP layer stages uploads there. */
    s->db_path = strdup(cfg->db_path ? cfg->db_path : "");
    s->files_dir = strdup(cfg->files_dir ? cfg->files_dir : "");
    s->cfg.db_path = s->db_path;
    s->cfg.files_dir = s->files_dir;
    if (cfg->modules_dir) {
        s->modules_dir = strdup(cfg->modules_dir);
        s->modules = s->modules_dir ? lp_module_cache_new(s->modules_dir) : NULL;
        copied = s->modules != NULL;
    }
    s->cfg.modules_dir = s->modules_dir;
    if (cfg->n_hosts) {
        s->hosts = calloc(cfg->n_hosts, sizeof *s->hosts);
        for (size_t i = 0; s->hosts && i < cfg->n_hosts; i++)
            copied = copied && (s->hosts[i] = strdup(cfg->hosts[i])) != NULL;
        copied = copied && s->hosts;
    }
    s->cfg.hosts = (const char *const *)s->hosts;
    if (cfg->n_mediators > LP_WIRE_MAX_MEDIATORS) {
        snprintf(err, errlen, "solver: %zu mediators configured, at most %d", cfg->n_mediators,
                 LP_WIRE_MAX_MEDIATORS);
        lp_solver_close(s);
        return -1;
    }
    if (cfg->n_mediators)
        memcpy(s->mediators, cfg->mediators, cfg->n_mediators * sizeof s->mediators[0]);
    lp_mediators_sort(s->mediators, cfg->n_mediators);
    s->cfg.mediators = (const uint8_t(*)[LP_WIRE_ADDR_LEN])s->mediators;
    s->limits = lp_limits_new();
    if (!s->limits || !s->db_path || !s->files_dir || !copied) {
        snprintf(err, errlen, "solver: out of memory");
        lp_solver_close(s);
        return -1;
    }
    if (lp_store_sqlite_open(cfg->db_path, cfg->files_dir, cfg->create_db, &s->store, &e) !=
        LP_STORE_OK) {
        snprintf(err, errlen, "solver: %s", e.message);
        lp_solver_close(s);
        return -1;
    }
    s->matcher = lp_matcher_new(blocked_cb, s);
    s->pending = lp_pending_new();
    if (!s->matcher || !s->pending) {
        snprintf(err, errlen, "solver: out of memory");
        lp_solver_close(s);
        return -1;
    }
    if (lp_solver_providers_open(s, err, errlen) != 0) {
        lp_solver_close(s);
        return -1;
    }
    if (reload_open_offers(s, &e) != LP_STORE_OK ||
        s->store->ops->event_last_seq(s->store, &s->last_seq, &e) != LP_STORE_OK) {
        snprintf(err, errlen, "solver: reloading state: %s", e.message);
        lp_solver_close(s);
        return -1;
    }
    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0) {
        snprintf(err, errlen, "solver: cannot start the timeout thread");
        lp_solver_close(s);
        return -1;
    }
    s->ticker_running = true;
    *out = s;
    return 0;
}

void lp_solver_interrupt(struct lp_solver *s)
{
    pthread_mutex_lock(&s->ev_lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->ev_cond);
    pthread_mutex_unlock(&s->ev_lock);
}

void lp_solver_close(struct lp_solver *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->ev_lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->ev_cond);
    pthread_mutex_unlock(&s->ev_lock);
    if (s->ticker_running)
        pthread_join(s->ticker, NULL);
    lp_pending_free(s->pending);
    lp_solver_providers_close(s);
    lp_matcher_free(s->matcher);
    lp_limits_free(s->limits);
    free(s->db_path);
    free(s->files_dir);
    free(s->modules_dir);
    lp_module_cache_free(s->modules);
    for (size_t i = 0; s->hosts && i < s->cfg.n_hosts; i++)
        free(s->hosts[i]);
    free(s->hosts);
    if (s->store)
        s->store->ops->close(s->store);
    lp_key_wipe(&s->key);
    pthread_mutex_destroy(&s->pending_lock);
    pthread_mutex_destroy(&s->prov_lock);
    pthread_mutex_destroy(&s->ev_lock);
    lp_solver_pow_free(s);
    pthread_mutex_destroy(&s->pow_lock);
    pthread_cond_destroy(&s->ev_cond);
    free(s);
}

int lp_solver_expire_pending(struct lp_solver *s, uint64_t now_ms)
{
    int n = 0;
    pthread_mutex_lock(&s->pending_lock);
    /* Queue order is the order jobs (re)entered the queue: only the front can be due. */
    const struct lp_pending_job *p;
    while ((p = lp_pending_oldest(s->pending)) &&
           p->queued_at_ms + s->cfg.match_timeout_ms <= now_ms) {
        struct lp_store_event_in ev;
        lp_solver_event(&ev, "job_offer_state", p->id, LP_DEAL_TIMEOUT_MATCH, p->job.job_creator,
                        NULL, NULL);
        struct lp_store_error e;
        int rc =
            s->store->ops->offer_set_state(s->store, LP_WIRE_JOB_OFFER, p->id, LP_DEAL_NEGOTIATING,
                                           LP_DEAL_TIMEOUT_MATCH, &ev, 1, now_ms, &e);
        if (rc != LP_STORE_OK && rc != LP_STORE_CONFLICT && rc != LP_STORE_NOT_FOUND)
            break; /* the store is failing: retried next tick */
        if (rc == LP_STORE_OK)
            n++;
        uint8_t id[LP_WIRE_ID_LEN];
        memcpy(id, p->id, LP_WIRE_ID_LEN); /* p goes with its node */
        pending_drop(s, id);
    }
    pthread_mutex_unlock(&s->pending_lock);
    if (n)
        lp_solver_count(s, &s->metrics.timeouts, (uint64_t)n);
    return n;
}
