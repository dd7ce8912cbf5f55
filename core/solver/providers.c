/* Providers as the solver sees them: whether they are there (their offers lapse when they go
 * quiet and come back when they return), the deals waiting for their provider to start them
 * (matched again without it when it does not), and each provider's reliability (README.md,
 * "Providers"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lilypad/verifier.h>

#include "solver/solver_impl.h"

#define BACK_MAX 256 /* offers brought back and offered to waiting jobs at once */

struct lp_solver_provider {
    struct lp_store_provider_stats stats;   /* first: the table's key is stats.address */
    struct lp_store_provider_stats unsaved; /* counted since the last write to the store */
    bool dirty;
    uint64_t live_until_ms; /* monotonic */
    bool suspended;         /* its offers are held back */
};

struct lp_solver_start {
    uint8_t deal_id[LP_WIRE_ID_LEN]; /* first: the table's key */
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t deadline_ms; /* wall clock, as deals' times */
    uint8_t excluded[LP_PENDING_MAX_EXCLUDED][LP_WIRE_ADDR_LEN];
    size_t n_excluded;
};

/* Successes (jobs started, results delivered) against failures (matched jobs not started,
 * results not delivered in time), with one of each assumed before the first deal: a provider
 * nobody has seen work scores 500, and a clean record rises towards 1000 as it grows. */
static uint32_t reliability_of(const struct lp_store_provider_stats *st)
{
    uint64_t good = st->started + st->delivered, bad = st->not_started + st->timed_out;
    return (uint32_t)(1000u * (good + 1) / (good + bad + 2));
}

static struct lp_solver_provider *provider_get(struct lp_solver *s,
                                               const uint8_t addr[LP_WIRE_ADDR_LEN], bool create)
{
    struct lp_solver_provider *p = lp_ptab_get(&s->providers, addr);
    if (p || !create)
        return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    memcpy(p->stats.address, addr, LP_WIRE_ADDR_LEN);
    if (lp_ptab_put(&s->providers, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* ---- open / close ---------------------------------------------------------------------------- */

static int load_stats(void *ctx, const struct lp_store_provider_stats *st)
{
    struct lp_solver *s = ctx;
    struct lp_solver_provider *p = provider_get(s, st->address, true);
    if (!p)
        return 1;
    p->stats = *st;
    lp_matcher_set_reliability(s->matcher, st->address, reliability_of(st));
    return 0;
}

struct agreed {
    struct lp_solver_start *items;
    size_t n, cap;
};

static int collect_agreed(void *ctx, const struct lp_store_deal *d)
{
    struct agreed *a = ctx;
    if (d->state != LP_DEAL_AGREED)
        return 0;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? 2 * a->cap : 16;
        struct lp_solver_start *p = realloc(a->items, ncap * sizeof *p);
        if (!p)
            return 1;
        a->items = p;
        a->cap = ncap;
    }
    struct lp_solver_start *st = &a->items[a->n++];
    memset(st, 0, sizeof *st);
    memcpy(st->deal_id, d->id, LP_WIRE_ID_LEN);
    memcpy(st->provider, d->provider, LP_WIRE_ADDR_LEN);
    return 0;
}

static int find_provider_agree(void *ctx, const struct lp_store_history *h)
{
    (void)ctx;
    return strcmp(h->note, LP_NOTE_PROVIDER_AGREED) == 0;
}

/* Deals matched before a restart whose provider had not started them are awaited again, from
 * now: the provider could not reach a stopped solver. */
static int reload_starts(struct lp_solver *s, struct lp_store_error *e)
{
    struct agreed a = {0};
    int rc = s->store->ops->deal_scan(s->store, NULL, true, collect_agreed, &a, e);
    uint64_t deadline = lp_solver_now_ms() + s->cfg.start_timeout_ms;
    for (size_t i = 0; rc == LP_STORE_OK && i < a.n; i++) {
        int agreed =
            s->store->ops->deal_history(s->store, a.items[i].deal_id, find_provider_agree, NULL, e);
        if (agreed < 0) {
            rc = agreed;
            break;
        }
        if (agreed)
            continue;
        struct lp_solver_start *st = malloc(sizeof *st);
        if (!st || lp_ptab_put(&s->starts, st) != 0) {
            free(st);
            continue;
        }
        *st = a.items[i];
        st->deadline_ms = deadline;
    }
    free(a.items);
    return rc;
}

int lp_solver_providers_open(struct lp_solver *s, char *err, size_t errlen)
{
    if (lp_ptab_init(&s->providers, offsetof(struct lp_solver_provider, stats.address),
                     LP_WIRE_ADDR_LEN) != 0 ||
        lp_ptab_init(&s->starts, offsetof(struct lp_solver_start, deal_id), LP_WIRE_ID_LEN) != 0) {
        snprintf(err, errlen, "solver: no random seed for the provider tables");
        return -1;
    }
    struct lp_store_provider_stats none;
    memset(&none, 0, sizeof none);
    lp_matcher_set_default_reliability(s->matcher, reliability_of(&none));
    struct lp_store_error e;
    if (s->store->ops->provider_stats_scan(s->store, load_stats, s, &e) != LP_STORE_OK ||
        (s->cfg.start_timeout_ms && reload_starts(s, &e) != LP_STORE_OK)) {
        snprintf(err, errlen, "solver: reloading providers: %s", e.message);
        return -1;
    }
    return 0;
}

static void free_cb(void *ctx, void *elem)
{
    (void)ctx;
    free(elem);
}

static void save_stats(struct lp_solver *s);

void lp_solver_providers_close(struct lp_solver *s)
{
    save_stats(s);
    lp_ptab_each(&s->providers, free_cb, NULL);
    lp_ptab_each(&s->starts, free_cb, NULL);
    lp_ptab_free(&s->providers);
    lp_ptab_free(&s->starts);
}

/* ---- liveness -------------------------------------------------------------------------------- */

/* The provider is back: its held-back offers return to the index and waiting jobs get them. */
static void resume(struct lp_solver *s, const uint8_t addr[LP_WIRE_ADDR_LEN])
{
    pthread_mutex_lock(&s->pending_lock);
    pthread_mutex_lock(&s->prov_lock);
    struct lp_solver_provider *p = provider_get(s, addr, false);
    bool go = p && p->suspended;
    if (go)
        p->suspended = false;
    pthread_mutex_unlock(&s->prov_lock);
    if (go) {
        static uint8_t back[BACK_MAX][LP_WIRE_ID_LEN]; /* pending_lock guards it */
        size_t n = 0;
        lp_matcher_set_live(s->matcher, addr, true, back, BACK_MAX, &n);
        for (size_t i = 0; i < n && i < BACK_MAX; i++) {
            struct lp_match_offer o;
            uint32_t reliability = 0;
            if (lp_matcher_get(s->matcher, back[i], &o, &reliability) != 0)
                continue;
            lp_solver_serve_pending(s, &o, reliability, true);
            lp_match_offer_release(&o);
        }
    }
    pthread_mutex_unlock(&s->pending_lock);
}

void lp_solver_provider_seen(struct lp_solver *s, const uint8_t addr[LP_WIRE_ADDR_LEN],
                             uint64_t wait_ms, bool known)
{
    uint64_t now = lp_solver_mono_ms();
    pthread_mutex_lock(&s->prov_lock);
    struct lp_solver_provider *p = provider_get(s, addr, !known);
    bool back = false;
    if (p) {
        uint64_t until = now + wait_ms + s->cfg.offer_liveness_ms;
        if (until > p->live_until_ms)
            p->live_until_ms = until;
        back = p->suspended;
    }
    pthread_mutex_unlock(&s->prov_lock);
    if (back)
        resume(s, addr);
}

/* A growable list of pointers, filled while a table is walked (under its lock). */
struct ptrs {
    void **items;
    size_t n, cap;
    uint64_t now;
};

static void ptrs_push(struct ptrs *l, void *p)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 16;
        void **q = realloc(l->items, ncap * sizeof *q);
        if (!q)
            return; /* the rest waits for the next tick */
        l->items = q;
        l->cap = ncap;
    }
    l->items[l->n++] = p;
}

static void lapsed_cb(void *ctx, void *elem)
{
    struct ptrs *l = ctx;
    struct lp_solver_provider *p = elem;
    if (!p->suspended && p->live_until_ms < l->now)
        ptrs_push(l, p);
}

/* Holds back the offers of providers past their liveness (every tick). */
static void lapse(struct lp_solver *s)
{
    struct ptrs gone = {.now = lp_solver_mono_ms()};
    pthread_mutex_lock(&s->pending_lock);
    pthread_mutex_lock(&s->prov_lock);
    lp_ptab_each(&s->providers, lapsed_cb, &gone);
    for (size_t i = 0; i < gone.n; i++)
        ((struct lp_solver_provider *)gone.items[i])->suspended = true;
    pthread_mutex_unlock(&s->prov_lock);
    /* Records are never freed, so the pointers outlive prov_lock; pending_lock keeps a resume
     * from running between the flag and the matcher. */
    for (size_t i = 0; i < gone.n; i++)
        lp_matcher_set_live(s->matcher, ((struct lp_solver_provider *)gone.items[i])->stats.address,
                            false, NULL, 0, NULL);
    pthread_mutex_unlock(&s->pending_lock);
    free(gone.items);
}

/* ---- reliability ----------------------------------------------------------------------------- */

void lp_solver_provider_outcome(struct lp_solver *s, const uint8_t addr[LP_WIRE_ADDR_LEN],
                                enum lp_solver_outcome what)
{
    struct lp_store_provider_stats d;
    memset(&d, 0, sizeof d);
    memcpy(d.address, addr, LP_WIRE_ADDR_LEN);
    switch (what) {
    case LP_OUTCOME_MATCHED:
        d.matched = 1;
        break;
    case LP_OUTCOME_STARTED:
        d.started = 1;
        break;
    case LP_OUTCOME_NOT_STARTED:
        d.not_started = 1;
        break;
    case LP_OUTCOME_DELIVERED:
        d.delivered = 1;
        break;
    case LP_OUTCOME_TIMED_OUT:
        d.timed_out = 1;
        break;
    }
    pthread_mutex_lock(&s->prov_lock);
    struct lp_solver_provider *p = provider_get(s, addr, true);
    if (p) {
        struct lp_store_provider_stats *both[2] = {&p->stats, &p->unsaved};
        for (int i = 0; i < 2; i++) {
            both[i]->matched += d.matched;
            both[i]->started += d.started;
            both[i]->not_started += d.not_started;
            both[i]->delivered += d.delivered;
            both[i]->timed_out += d.timed_out;
        }
        p->dirty = true;
        /* Set under prov_lock, so concurrent outcomes reach the matcher in their order. */
        lp_matcher_set_reliability(s->matcher, addr, reliability_of(&p->stats));
    }
    pthread_mutex_unlock(&s->prov_lock);
}

static void dirty_cb(void *ctx, void *elem)
{
    struct lp_solver_provider *p = elem;
    if (p->dirty)
        ptrs_push(ctx, p);
}

/* Writes the counts since the last write (every tick and at close): a write per match would
 * double the store transactions of matching, and counts only add up, so a crash loses at most
 * a tick of them, never a deal. */
static void save_stats(struct lp_solver *s)
{
    struct ptrs dirty = {0};
    pthread_mutex_lock(&s->prov_lock);
    lp_ptab_each(&s->providers, dirty_cb, &dirty);
    struct lp_store_provider_stats *deltas = calloc(dirty.n ? dirty.n : 1, sizeof *deltas);
    size_t n = 0;
    for (size_t i = 0; deltas && i < dirty.n; i++) {
        struct lp_solver_provider *p = dirty.items[i];
        deltas[n] = p->unsaved;
        memcpy(deltas[n++].address, p->stats.address, LP_WIRE_ADDR_LEN);
        memset(&p->unsaved, 0, sizeof p->unsaved);
        p->dirty = false;
    }
    pthread_mutex_unlock(&s->prov_lock);
    for (size_t i = 0; i < n; i++) {
        struct lp_store_error e;
        if (s->store->ops->provider_stats_add(s->store, &deltas[i], &e) != LP_STORE_OK)
            fprintf(stderr, "lilypad: solver: provider reliability not recorded: %s\n", e.message);
    }
    free(deltas);
    free(dirty.items);
}

/* ---- deal starts ----------------------------------------------------------------------------- */

void lp_solver_start_watch(struct lp_solver *s, const uint8_t deal_id[LP_WIRE_ID_LEN],
                           const uint8_t provider[LP_WIRE_ADDR_LEN], const struct lp_pending_job *p,
                           uint64_t now_ms)
{
    if (!s->cfg.start_timeout_ms)
        return;
    struct lp_solver_start *st = calloc(1, sizeof *st);
    if (!st)
        return;
    memcpy(st->deal_id, deal_id, LP_WIRE_ID_LEN);
    memcpy(st->provider, provider, LP_WIRE_ADDR_LEN);
    st->deadline_ms = now_ms + s->cfg.start_timeout_ms;
    memcpy(st->excluded, p->excluded, sizeof st->excluded);
    st->n_excluded = p->n_excluded;
    pthread_mutex_lock(&s->prov_lock);
    bool kept = !lp_ptab_get(&s->starts, deal_id) && lp_ptab_put(&s->starts, st) == 0;
    pthread_mutex_unlock(&s->prov_lock);
    if (!kept)
        free(st);
}

void lp_solver_deal_progress(struct lp_solver *s, const uint8_t deal_id[LP_WIRE_ID_LEN])
{
    pthread_mutex_lock(&s->prov_lock);
    struct lp_solver_start *st = lp_ptab_get(&s->starts, deal_id);
    if (st)
        lp_ptab_del(&s->starts, deal_id);
    pthread_mutex_unlock(&s->prov_lock);
    if (!st)
        return;
    lp_solver_provider_outcome(s, st->provider, LP_OUTCOME_STARTED);
    free(st);
}

/* The job offer of an unmatched deal, back in the queue without the provider that let it
 * down (pending_lock held); it is matched at once if another offer fits. */
static void requeue(struct lp_solver *s, const struct lp_store_deal *d,
                    const struct lp_solver_start *st, uint64_t now_ms)
{
    struct lp_store_offer o;
    struct lp_store_error e;
    if (s->store->ops->offer_get(s->store, LP_WIRE_JOB_OFFER, d->job_offer_id, &o, &e) !=
        LP_STORE_OK)
        return;
    struct lp_wire_object obj;
    struct lp_wire_error werr;
    int rc = lp_wire_open(o.envelope, o.envelope_len, &obj, NULL, &werr);
    if (rc != 0 || obj.kind != LP_WIRE_JOB_OFFER) {
        if (rc == 0)
            lp_wire_object_free(&obj);
        lp_store_offer_release(&o);
        return;
    }
    struct lp_pending_job p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, o.id, LP_WIRE_ID_LEN);
    p.job = obj.u.job_offer;
    p.module_ref = lp_solver_module_ref(&p.job);
    p.stored_at_ms = o.stored_at_ms;
    p.queued_at_ms = now_ms;
    p.has_input = o.has_input;
    memcpy(p.input_keccak, o.input_keccak, LP_WIRE_ID_LEN);
    lp_store_offer_release(&o);
    /* The oldest exclusion makes room when the list is full. */
    size_t keep =
        st->n_excluded < LP_PENDING_MAX_EXCLUDED ? st->n_excluded : LP_PENDING_MAX_EXCLUDED - 1;
    memcpy(p.excluded, st->excluded[st->n_excluded - keep], keep * LP_WIRE_ADDR_LEN);
    memcpy(p.excluded[keep], d->provider, LP_WIRE_ADDR_LEN);
    p.n_excluded = keep + 1;
    struct lp_solver_status mst = {0};
    if (!p.module_ref || lp_solver_match_job(s, &p, &mst) == LP_MATCH_OK ||
        lp_pending_add(s->pending, &p) != 0)
        lp_pending_job_release(&p);
}

/* A deal whose provider did not start it in time: unmatched, and its job matched again. */
static int unmatch(struct lp_solver *s, const struct lp_solver_start *st, uint64_t now_ms)
{
    struct lp_store_deal d;
    struct lp_store_error e;
    if (s->store->ops->deal_get(s->store, st->deal_id, &d, &e) != LP_STORE_OK)
        return 0;
    char note[LP_STORE_NOTE_MAX];
    snprintf(note, sizeof note,
             "the provider did not start the job within %llu ms of the match; the job offer is "
             "matched again with another provider",
             (unsigned long long)s->cfg.start_timeout_ms);
    struct lp_store_event_in ev[2];
    lp_solver_event(&ev[0], "deal_state", d.id, LP_DEAL_TIMEOUT_SUBMIT_RESULTS, d.job_creator,
                    d.provider, NULL);
    lp_solver_event(&ev[1], "job_offer_state", d.job_offer_id, LP_DEAL_NEGOTIATING, d.job_creator,
                    NULL, NULL);
    pthread_mutex_lock(&s->pending_lock);
    int rc = s->store->ops->deal_unmatch(s->store, d.id, LP_DEAL_TIMEOUT_SUBMIT_RESULTS, note, ev,
                                         2, now_ms, &e);
    if (rc == LP_STORE_OK) {
        lp_solver_events_appended(s);
        lp_solver_provider_outcome(s, d.provider, LP_OUTCOME_NOT_STARTED);
        lp_solver_count(s, &s->unmatched, 1);
        requeue(s, &d, st, now_ms);
    } else if (rc != LP_STORE_CONFLICT) {
        fprintf(stderr, "lilypad: solver: unmatching a deal not started: %s\n", e.message);
    }
    pthread_mutex_unlock(&s->pending_lock);
    lp_store_deal_release(&d);
    return rc == LP_STORE_OK;
}

static void due_cb(void *ctx, void *elem)
{
    struct ptrs *l = ctx;
    struct lp_solver_start *st = elem;
    if (st->deadline_ms <= l->now)
        ptrs_push(l, st);
}

int lp_solver_providers_tick(struct lp_solver *s, uint64_t now_ms)
{
    save_stats(s);
    if (s->cfg.offer_liveness_ms)
        lapse(s);
    if (!s->cfg.start_timeout_ms)
        return 0;
    struct ptrs due = {.now = now_ms};
    pthread_mutex_lock(&s->prov_lock);
    lp_ptab_each(&s->starts, due_cb, &due);
    for (size_t i = 0; i < due.n; i++)
        lp_ptab_del(&s->starts, ((struct lp_solver_start *)due.items[i])->deal_id);
    pthread_mutex_unlock(&s->prov_lock);
    int done = 0;
    for (size_t i = 0; i < due.n; i++) {
        done += unmatch(s, due.items[i], now_ms);
        free(due.items[i]);
    }
    free(due.items);
    return done;
}

/* ---- views ------------------------------------------------------------------------------------
 */

struct each_ctx {
    struct lp_solver *s;
    uint64_t now;
    json_t *arr;
    FILE *f;
};

static bool live(const struct lp_solver *s, const struct lp_solver_provider *p, uint64_t now)
{
    return !p->suspended && (s->cfg.offer_liveness_ms == 0 || p->live_until_ms >= now);
}

static void view_cb(void *ctx, void *elem)
{
    struct each_ctx *c = ctx;
    const struct lp_solver_provider *p = elem;
    char addr[43];
    lp_address_to_checksum(p->stats.address, addr);
    const struct lp_store_provider_stats *st = &p->stats;
    json_array_append_new(
        c->arr, json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:i}", "provider", addr, "live",
                          live(c->s, p, c->now), "matched", (json_int_t)st->matched, "started",
                          (json_int_t)st->started, "not_started", (json_int_t)st->not_started,
                          "delivered", (json_int_t)st->delivered, "timed_out",
                          (json_int_t)st->timed_out, "reliability", (int)reliability_of(st)));
}

json_t *lp_solver_providers_view(struct lp_solver *s)
{
    struct lp_store_provider_stats none;
    memset(&none, 0, sizeof none);
    struct each_ctx c = {.s = s, .now = lp_solver_mono_ms(), .arr = json_array()};
    pthread_mutex_lock(&s->prov_lock);
    lp_ptab_each(&s->providers, view_cb, &c);
    pthread_mutex_unlock(&s->prov_lock);
    return json_pack("{s:I,s:I,s:i,s:o}", "offer_liveness_ms", (json_int_t)s->cfg.offer_liveness_ms,
                     "start_timeout_ms", (json_int_t)s->cfg.start_timeout_ms,
                     "new_provider_reliability", (int)reliability_of(&none), "providers", c.arr);
}

static void metrics_cb(void *ctx, void *elem)
{
    struct each_ctx *c = ctx;
    const struct lp_solver_provider *p = elem;
    const struct lp_store_provider_stats *st = &p->stats;
    if (!st->matched && !st->started && !st->not_started && !st->delivered && !st->timed_out)
        return; /* never matched: nothing to say, and no label per passer-by */
    char addr[43];
    lp_address_to_checksum(st->address, addr);
    fprintf(c->f,
            "lilypad_solver_provider_reliability_permille{provider=\"%s\"} %u\n"
            "lilypad_solver_provider_live{provider=\"%s\"} %d\n",
            addr, reliability_of(st), addr, live(c->s, p, c->now) ? 1 : 0);
    const char *names[] = {"matched", "started", "not_started", "delivered", "timed_out"};
    const uint64_t counts[] = {st->matched, st->started, st->not_started, st->delivered,
                               st->timed_out};
    for (size_t i = 0; i < 5; i++)
        fprintf(c->f, "lilypad_solver_provider_deals_total{provider=\"%s\",outcome=\"%s\"} %llu\n",
                addr, names[i], (unsigned long long)counts[i]);
}

char *lp_solver_providers_metrics(struct lp_solver *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f,
            "# TYPE lilypad_solver_suspended_resource_offers gauge\n"
            "lilypad_solver_suspended_resource_offers %zu\n"
            "# TYPE lilypad_solver_job_offers_evicted_total counter\n"
            "lilypad_solver_job_offers_evicted_total %llu\n"
            "# TYPE lilypad_solver_deals_unmatched_total counter\n"
            "lilypad_solver_deals_unmatched_total %llu\n"
            "# TYPE lilypad_solver_provider_reliability_permille gauge\n"
            "# TYPE lilypad_solver_provider_live gauge\n"
            "# TYPE lilypad_solver_provider_deals_total counter\n",
            lp_matcher_suspended(s->matcher),
            (unsigned long long)__atomic_load_n(&s->evicted, __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&s->unmatched, __ATOMIC_RELAXED));
    struct each_ctx c = {.s = s, .now = lp_solver_mono_ms(), .f = f};
    pthread_mutex_lock(&s->prov_lock);
    lp_ptab_each(&s->providers, metrics_cb, &c);
    pthread_mutex_unlock(&s->prov_lock);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
