/* Matching engine; the index layout, rules and costs are described in matcher.h. */
#include "solver/matcher.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solver/ptab.h"

#define N_BUCKETS (LP_WIRE_MAX_GPUS + 1)
#define BLK_MAX   64
#define BLK_MIN   16 /* a block this small merges with a neighbour when they fit in 3/4 of one */

enum { BY_PRICE = 0, BY_AGE = 1, N_ORDERS = 2 };

struct provider;

struct entry {
    struct lp_match_offer o;
    struct provider *prov;
    bool indexed; /* in its bucket's lists (false: its provider is suspended, or being booked) */
};

/* What every offer of a block has at most (or, for the price, at least). */
struct summary {
    uint64_t cpu, ram, disk, vram; /* vram: of the offer's largest GPU */
    struct lp_u256 collateral;
    struct lp_u256 min_price;
};

struct blk {
    uint32_t n;
    struct summary s;
    struct entry *e[BLK_MAX];
};

/* An unrolled sorted list: the blocks are in order and so is each block. */
struct blist {
    struct blk **b;
    size_t nb, cap;
};

struct bucket {
    struct blist by[N_ORDERS];
    size_t count;
};

struct evec {
    struct entry **items;
    size_t n, cap;
};

struct provider {
    uint8_t addr[LP_WIRE_ADDR_LEN];
    struct evec offers;
    bool suspended;
    bool scored; /* its reliability was set: kept when it has no offers */
    uint32_t reliability;
};

struct lp_matcher {
    pthread_mutex_t lock;
    struct bucket buckets[N_BUCKETS];
    uint64_t nonempty[2];   /* bit g: buckets[g] has offers (65 buckets) */
    struct lp_ptab by_id;   /* struct entry *, key o.id */
    struct lp_ptab by_prov; /* struct provider *, key addr */
    size_t count;           /* indexed (matchable) offers */
    size_t suspended;       /* offers of suspended providers */
    uint64_t examined;
    uint32_t default_reliability;
    lp_matcher_blocked_fn blocked;
    void *blocked_ctx;
};

/* ---- orders and summaries ---------------------------------------------------------------- */

/* Market order: price, then age, then ID. */
static int cmp_price(const struct entry *a, const struct entry *b)
{
    int c = lp_wei_cmp(&a->o.min_price, &b->o.min_price);
    if (c)
        return c;
    if (a->o.created_at_ms != b->o.created_at_ms)
        return a->o.created_at_ms < b->o.created_at_ms ? -1 : 1;
    return memcmp(a->o.id, b->o.id, LP_WIRE_ID_LEN);
}

/* Fixed-price order: age, then ID. */
static int cmp_age(const struct entry *a, const struct entry *b)
{
    if (a->o.created_at_ms != b->o.created_at_ms)
        return a->o.created_at_ms < b->o.created_at_ms ? -1 : 1;
    return memcmp(a->o.id, b->o.id, LP_WIRE_ID_LEN);
}

static int cmp(int order, const struct entry *a, const struct entry *b)
{
    return order == BY_PRICE ? cmp_price(a, b) : cmp_age(a, b);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static void summary_add(struct summary *s, const struct entry *e, bool first)
{
    uint64_t vram = e->o.gpus ? e->o.vram_desc[0] : 0;
    if (first) {
        s->cpu = e->o.cpu_millicores;
        s->ram = e->o.ram_bytes;
        s->disk = e->o.disk_bytes;
        s->vram = vram;
        s->collateral = e->o.results_collateral;
        s->min_price = e->o.min_price;
        return;
    }
    s->cpu = max_u64(s->cpu, e->o.cpu_millicores);
    s->ram = max_u64(s->ram, e->o.ram_bytes);
    s->disk = max_u64(s->disk, e->o.disk_bytes);
    s->vram = max_u64(s->vram, vram);
    if (lp_wei_cmp(&e->o.results_collateral, &s->collateral) > 0)
        s->collateral = e->o.results_collateral;
    if (lp_wei_cmp(&e->o.min_price, &s->min_price) < 0)
        s->min_price = e->o.min_price;
}

static void blk_refresh(struct blk *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        summary_add(&b->s, b->e[i], i == 0);
}

/* Whether the summary may have come from e: only then does removing e change it. */
static bool summary_holds(const struct summary *s, const struct entry *e)
{
    uint64_t vram = e->o.gpus ? e->o.vram_desc[0] : 0;
    return e->o.cpu_millicores >= s->cpu || e->o.ram_bytes >= s->ram ||
           e->o.disk_bytes >= s->disk || vram >= s->vram ||
           lp_wei_cmp(&e->o.results_collateral, &s->collateral) >= 0 ||
           lp_wei_cmp(&e->o.min_price, &s->min_price) <= 0;
}

/* Whether some offer of a block could hold the job (false: none can). */
static bool summary_may_fit(const struct summary *s, const struct lp_job_offer *j)
{
    const struct lp_job_resources *r = &j->resources;
    if (s->cpu < r->cpu_millicores || s->ram < r->ram_bytes || s->disk < r->disk_bytes)
        return false;
    if (r->gpus > 0 && s->vram < r->vram_bytes)
        return false;
    if (lp_wei_cmp(&s->min_price, &j->max_price) > 0)
        return false;
    return lp_wei_cmp(&s->collateral, &j->min_results_collateral) >= 0;
}

/* ---- blocked lists ----------------------------------------------------------------------- */

/* The block that holds (or would hold) e: the first whose last entry is >= e, else the last. */
static size_t blist_find(const struct blist *l, int order, const struct entry *e)
{
    size_t lo = 0, hi = l->nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct blk *b = l->b[mid];
        if (cmp(order, b->e[b->n - 1], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nb ? lo : l->nb - 1;
}

static uint32_t blk_lower(const struct blk *b, int order, const struct entry *e)
{
    uint32_t lo = 0, hi = b->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp(order, b->e[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int blist_put_blk(struct blist *l, size_t at, struct blk *b)
{
    if (l->nb == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 8;
        struct blk **p = realloc(l->b, ncap * sizeof *p);
        if (!p)
            return -1;
        l->b = p;
        l->cap = ncap;
    }
    memmove(l->b + at + 1, l->b + at, (l->nb - at) * sizeof *l->b);
    l->b[at] = b;
    l->nb++;
    return 0;
}

static void blist_drop_blk(struct blist *l, size_t at)
{
    free(l->b[at]);
    memmove(l->b + at, l->b + at + 1, (l->nb - at - 1) * sizeof *l->b);
    l->nb--;
}

static int blist_insert(struct blist *l, int order, struct entry *e)
{
    if (l->nb == 0) {
        struct blk *b = calloc(1, sizeof *b);
        if (!b || blist_put_blk(l, 0, b) != 0) {
            free(b);
            return -1;
        }
        b->e[0] = e;
        b->n = 1;
        summary_add(&b->s, e, true);
        return 0;
    }
    size_t bi = blist_find(l, order, e);
    struct blk *b = l->b[bi];
    if (b->n == BLK_MAX) {
        struct blk *half = calloc(1, sizeof *half);
        if (!half || blist_put_blk(l, bi + 1, half) != 0) {
            free(half);
            return -1;
        }
        half->n = BLK_MAX / 2;
        memcpy(half->e, b->e + BLK_MAX / 2, (BLK_MAX / 2) * sizeof *b->e);
        b->n = BLK_MAX / 2;
        blk_refresh(b);
        blk_refresh(half);
        if (cmp(order, e, half->e[0]) > 0)
            b = half;
    }
    uint32_t at = blk_lower(b, order, e);
    memmove(b->e + at + 1, b->e + at, (b->n - at) * sizeof *b->e);
    b->e[at] = e;
    b->n++;
    summary_add(&b->s, e, b->n == 1);
    return 0;
}

static void blist_remove(struct blist *l, int order, struct entry *e)
{
    if (l->nb == 0)
        return;
    size_t bi = blist_find(l, order, e);
    struct blk *b = l->b[bi];
    uint32_t at = blk_lower(b, order, e);
    if (at >= b->n || b->e[at] != e)
        return;
    memmove(b->e + at, b->e + at + 1, (b->n - at - 1) * sizeof *b->e);
    b->n--;
    if (b->n == 0) {
        blist_drop_blk(l, bi);
        return;
    }
    bool refresh = summary_holds(&b->s, e);
    if (b->n < BLK_MIN) {
        /* Sparse blocks would make walks visit more blocks than needed: merge. */
        if (bi + 1 < l->nb && b->n + l->b[bi + 1]->n <= BLK_MAX * 3 / 4) {
            struct blk *next = l->b[bi + 1];
            memcpy(b->e + b->n, next->e, next->n * sizeof *b->e);
            b->n += next->n;
            blist_drop_blk(l, bi + 1);
        } else if (bi > 0 && l->b[bi - 1]->n + b->n <= BLK_MAX * 3 / 4) {
            struct blk *prev = l->b[bi - 1];
            memcpy(prev->e + prev->n, b->e, b->n * sizeof *b->e);
            prev->n += b->n;
            blist_drop_blk(l, bi);
            b = prev;
        }
        refresh = true;
    }
    if (refresh)
        blk_refresh(b);
}

static void blist_free(struct blist *l)
{
    for (size_t i = 0; i < l->nb; i++)
        free(l->b[i]);
    free(l->b);
    memset(l, 0, sizeof *l);
}

/* ---- buckets, providers, entries ----------------------------------------------------------- */

static void set_bit(struct lp_matcher *m, uint32_t g, bool on)
{
    if (on)
        m->nonempty[g / 64] |= 1ull << (g % 64);
    else
        m->nonempty[g / 64] &= ~(1ull << (g % 64));
}

/* The first non-empty bucket >= g, or N_BUCKETS. */
static uint32_t next_nonempty(const struct lp_matcher *m, uint32_t g)
{
    while (g < N_BUCKETS) {
        uint64_t word = m->nonempty[g / 64] >> (g % 64);
        if (word)
            return g + (uint32_t)__builtin_ctzll(word);
        g = (g / 64 + 1) * 64;
    }
    return N_BUCKETS;
}

static int bucket_insert(struct lp_matcher *m, struct entry *e)
{
    struct bucket *bk = &m->buckets[e->o.gpus];
    if (blist_insert(&bk->by[BY_PRICE], BY_PRICE, e) != 0)
        return -1;
    if (blist_insert(&bk->by[BY_AGE], BY_AGE, e) != 0) {
        blist_remove(&bk->by[BY_PRICE], BY_PRICE, e);
        return -1;
    }
    bk->count++;
    set_bit(m, e->o.gpus, true);
    e->indexed = true;
    m->count++;
    return 0;
}

static void bucket_remove(struct lp_matcher *m, struct entry *e)
{
    struct bucket *bk = &m->buckets[e->o.gpus];
    blist_remove(&bk->by[BY_PRICE], BY_PRICE, e);
    blist_remove(&bk->by[BY_AGE], BY_AGE, e);
    if (--bk->count == 0)
        set_bit(m, e->o.gpus, false);
    e->indexed = false;
    m->count--;
}

static struct provider *provider_get(struct lp_matcher *m, const uint8_t addr[LP_WIRE_ADDR_LEN],
                                     bool create)
{
    struct provider *p = lp_ptab_get(&m->by_prov, addr);
    if (p || !create)
        return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    memcpy(p->addr, addr, LP_WIRE_ADDR_LEN);
    p->reliability = m->default_reliability;
    if (lp_ptab_put(&m->by_prov, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* A provider with nothing to remember is dropped (an address that posted once costs nothing
 * for ever after). */
static void provider_maybe_free(struct lp_matcher *m, struct provider *p)
{
    if (p->offers.n || p->scored)
        return;
    lp_ptab_del(&m->by_prov, p->addr);
    free(p->offers.items);
    free(p);
}

static int evec_push(struct evec *v, struct entry *e)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? 2 * v->cap : 4;
        struct entry **p = realloc(v->items, ncap * sizeof *p);
        if (!p)
            return -1;
        v->items = p;
        v->cap = ncap;
    }
    v->items[v->n++] = e;
    return 0;
}

static void evec_remove(struct evec *v, const struct entry *e)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i] == e) {
            v->items[i] = v->items[--v->n];
            return;
        }
    }
}

static void entry_free(struct entry *e)
{
    lp_match_offer_release(&e->o);
    free(e);
}

/* Index maintenance; the caller holds the lock. */
static int entry_insert(struct lp_matcher *m, struct entry *e)
{
    struct provider *p = provider_get(m, e->o.provider, true);
    if (!p)
        return -1;
    if (evec_push(&p->offers, e) != 0) {
        provider_maybe_free(m, p);
        return -1;
    }
    e->prov = p;
    if (lp_ptab_put(&m->by_id, e) != 0)
        goto undo;
    if (p->suspended) {
        m->suspended++;
        return 0;
    }
    if (bucket_insert(m, e) == 0)
        return 0;
    lp_ptab_del(&m->by_id, e->o.id);
undo:
    evec_remove(&p->offers, e);
    provider_maybe_free(m, p);
    e->prov = NULL;
    return -1;
}

/* Takes e out of every structure (it stays allocated). */
static void entry_remove(struct lp_matcher *m, struct entry *e)
{
    if (e->indexed)
        bucket_remove(m, e);
    else if (e->prov->suspended)
        m->suspended--;
    evec_remove(&e->prov->offers, e);
    lp_ptab_del(&m->by_id, e->o.id);
    provider_maybe_free(m, e->prov);
    e->prov = NULL;
}

/* ---- offers --------------------------------------------------------------------------------- */

void lp_match_offer_release(struct lp_match_offer *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_modules; i++)
        free(o->modules[i]);
    free(o->modules);
    free(o->vram_desc);
    memset(o, 0, sizeof *o);
}

static int copy_offer(struct lp_match_offer *dst, const struct lp_match_offer *src)
{
    *dst = *src;
    dst->vram_desc = NULL;
    dst->modules = NULL;
    dst->n_modules = 0;
    if (src->gpus) {
        dst->vram_desc = malloc(src->gpus * sizeof *dst->vram_desc);
        if (!dst->vram_desc)
            return -1;
        memcpy(dst->vram_desc, src->vram_desc, src->gpus * sizeof *dst->vram_desc);
    }
    if (src->n_modules) {
        dst->modules = calloc(src->n_modules, sizeof *dst->modules);
        if (!dst->modules)
            return -1;
        for (size_t i = 0; i < src->n_modules; i++) {
            if (!(dst->modules[i] = strdup(src->modules[i])))
                return -1;
            dst->n_modules = i + 1;
        }
    }
    return 0;
}

static int u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int lp_match_offer_from(const uint8_t id[LP_WIRE_ID_LEN], const struct lp_resource_offer *r,
                        struct lp_match_offer *o)
{
    memset(o, 0, sizeof *o);
    memcpy(o->id, id, LP_WIRE_ID_LEN);
    memcpy(o->provider, r->provider, LP_WIRE_ADDR_LEN);
    o->cpu_millicores = r->cpu_millicores;
    o->ram_bytes = r->ram_bytes;
    o->disk_bytes = r->disk_bytes;
    o->gpus = (uint32_t)(r->n_gpus > LP_WIRE_MAX_GPUS ? LP_WIRE_MAX_GPUS : r->n_gpus);
    o->min_price = r->min_price;
    o->results_collateral = r->results_collateral;
    o->mediation_fee = r->mediation_fee;
    o->created_at_ms = r->created_at_ms;
    o->module_policy = r->module_policy;
    if (o->gpus) {
        o->vram_desc = malloc(o->gpus * sizeof *o->vram_desc);
        if (!o->vram_desc)
            goto fail;
        for (uint32_t i = 0; i < o->gpus; i++)
            o->vram_desc[i] = r->gpus[i].vram_bytes;
        qsort(o->vram_desc, o->gpus, sizeof *o->vram_desc, u64_desc);
    }
    if (r->n_modules) {
        o->modules = calloc(r->n_modules, sizeof *o->modules);
        if (!o->modules)
            goto fail;
        for (size_t i = 0; i < r->n_modules; i++) {
            if (!(o->modules[i] = strdup(r->modules[i])))
                goto fail;
            o->n_modules = i + 1;
        }
    }
    return 0;
fail:
    lp_match_offer_release(o);
    return -1;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

struct lp_matcher *lp_matcher_new(lp_matcher_blocked_fn blocked, void *blocked_ctx)
{
    struct lp_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (lp_ptab_init(&m->by_id, offsetof(struct entry, o.id), LP_WIRE_ID_LEN) != 0 ||
        lp_ptab_init(&m->by_prov, offsetof(struct provider, addr), LP_WIRE_ADDR_LEN) != 0) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->blocked = blocked;
    m->blocked_ctx = blocked_ctx;
    return m;
}

static void free_entry_cb(void *ctx, void *elem)
{
    (void)ctx;
    entry_free(elem);
}

static void free_provider_cb(void *ctx, void *elem)
{
    (void)ctx;
    struct provider *p = elem;
    free(p->offers.items);
    free(p);
}

void lp_matcher_free(struct lp_matcher *m)
{
    if (!m)
        return;
    for (size_t b = 0; b < N_BUCKETS; b++)
        for (int o = 0; o < N_ORDERS; o++)
            blist_free(&m->buckets[b].by[o]);
    lp_ptab_each(&m->by_id, free_entry_cb, NULL);
    lp_ptab_each(&m->by_prov, free_provider_cb, NULL);
    lp_ptab_free(&m->by_id);
    lp_ptab_free(&m->by_prov);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int lp_matcher_add(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                   const struct lp_resource_offer *offer)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    if (lp_match_offer_from(id, offer, &e->o) != 0) {
        free(e);
        return -1;
    }
    pthread_mutex_lock(&m->lock);
    int rc = lp_ptab_get(&m->by_id, id) ? -1 : entry_insert(m, e);
    pthread_mutex_unlock(&m->lock);
    if (rc != 0)
        entry_free(e);
    return rc;
}

int lp_matcher_remove(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN])
{
    pthread_mutex_lock(&m->lock);
    struct entry *e = lp_ptab_get(&m->by_id, id);
    if (e)
        entry_remove(m, e);
    pthread_mutex_unlock(&m->lock);
    if (!e)
        return 1;
    entry_free(e);
    return 0;
}

bool lp_matcher_contains(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN])
{
    pthread_mutex_lock(&m->lock);
    bool r = lp_ptab_get(&m->by_id, id) != NULL;
    pthread_mutex_unlock(&m->lock);
    return r;
}

size_t lp_matcher_size(struct lp_matcher *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}

size_t lp_matcher_count_of(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN])
{
    pthread_mutex_lock(&m->lock);
    struct provider *p = provider_get(m, provider, false);
    size_t n = p ? p->offers.n : 0;
    pthread_mutex_unlock(&m->lock);
    return n;
}

size_t lp_matcher_suspended(struct lp_matcher *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->suspended;
    pthread_mutex_unlock(&m->lock);
    return n;
}

uint64_t lp_matcher_examined(struct lp_matcher *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->examined;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* ---- providers ------------------------------------------------------------------------------ */

void lp_matcher_set_live(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN], bool live,
                         uint8_t (*back)[LP_WIRE_ID_LEN], size_t cap, size_t *n_back)
{
    size_t n = 0;
    pthread_mutex_lock(&m->lock);
    struct provider *p = provider_get(m, provider, false);
    if (p && p->suspended != !live) {
        p->suspended = !live;
        for (size_t i = 0; i < p->offers.n; i++) {
            struct entry *e = p->offers.items[i];
            if (!live && e->indexed) {
                bucket_remove(m, e);
                m->suspended++;
            } else if (live && !e->indexed && bucket_insert(m, e) == 0) {
                m->suspended--;
                if (n < cap)
                    memcpy(back[n], e->o.id, LP_WIRE_ID_LEN);
                n++;
            }
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (n_back)
        *n_back = n;
}

void lp_matcher_set_reliability(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN],
                                uint32_t permille)
{
    pthread_mutex_lock(&m->lock);
    struct provider *p = provider_get(m, provider, true);
    if (p) {
        p->reliability = permille;
        p->scored = true;
    }
    pthread_mutex_unlock(&m->lock);
}

static void default_cb(void *ctx, void *elem)
{
    struct provider *p = elem;
    if (!p->scored)
        p->reliability = *(const uint32_t *)ctx;
}

void lp_matcher_set_default_reliability(struct lp_matcher *m, uint32_t permille)
{
    pthread_mutex_lock(&m->lock);
    m->default_reliability = permille;
    lp_ptab_each(&m->by_prov, default_cb, &permille);
    pthread_mutex_unlock(&m->lock);
}

uint32_t lp_matcher_reliability(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN])
{
    pthread_mutex_lock(&m->lock);
    struct provider *p = provider_get(m, provider, false);
    uint32_t r = p ? p->reliability : m->default_reliability;
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* ---- rules ---------------------------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define WHY(...)                                                                                   \
    ((reason && reason_cap) ? (void)snprintf(reason, reason_cap, __VA_ARGS__) : (void)0)

static bool provider_excluded(const struct lp_match_job *job, const uint8_t *provider)
{
    if (job->exclude && memcmp(job->exclude, provider, LP_WIRE_ADDR_LEN) == 0)
        return true;
    for (size_t i = 0; i < job->n_excluded; i++)
        if (memcmp(job->excluded[i], provider, LP_WIRE_ADDR_LEN) == 0)
            return true;
    return false;
}

bool lp_matcher_fits(const struct lp_match_offer *o, uint32_t reliability,
                     const struct lp_match_job *job, char *reason, size_t reason_cap)
{
    const struct lp_job_offer *j = job->offer;
    const struct lp_job_resources *r = &j->resources;
    if (lp_wei_cmp(&o->min_price, &j->max_price) > 0) {
        WHY("price: offer's min_price is above the job's max_price");
        return false;
    }
    if (j->has_target && memcmp(j->target, o->provider, LP_WIRE_ADDR_LEN) != 0) {
        WHY("target: the job is for another provider");
        return false;
    }
    if (o->cpu_millicores < r->cpu_millicores) {
        WHY("cpu: offer has %llu millicores, job needs %llu", (unsigned long long)o->cpu_millicores,
            (unsigned long long)r->cpu_millicores);
        return false;
    }
    if (o->ram_bytes < r->ram_bytes) {
        WHY("ram: offer has %llu bytes, job needs %llu", (unsigned long long)o->ram_bytes,
            (unsigned long long)r->ram_bytes);
        return false;
    }
    if (o->disk_bytes < r->disk_bytes) {
        WHY("disk: offer has %llu bytes, job needs %llu", (unsigned long long)o->disk_bytes,
            (unsigned long long)r->disk_bytes);
        return false;
    }
    if (o->gpus < r->gpus) {
        WHY("gpus: offer has %u, job needs %u", o->gpus, r->gpus);
        return false;
    }
    if (r->gpus > 0 && o->vram_desc[r->gpus - 1] < r->vram_bytes) {
        uint32_t enough = 0;
        while (enough < o->gpus && o->vram_desc[enough] >= r->vram_bytes)
            enough++;
        WHY("vram: offer has %u GPU(s) with >= %llu bytes, job needs %u", enough,
            (unsigned long long)r->vram_bytes, r->gpus);
        return false;
    }
    if (lp_wei_cmp(&o->results_collateral, &j->min_results_collateral) < 0) {
        WHY("collateral: offer's results_collateral is below the job's min_results_collateral");
        return false;
    }
    if (reliability < j->min_reliability) {
        WHY("reliability: the provider's is %u per mille, the job needs %u", reliability,
            j->min_reliability);
        return false;
    }
    if (provider_excluded(job, o->provider)) {
        WHY("provider: excluded (it cannot mediate its own result, or it did not start this "
            "job when matched to it)");
        return false;
    }
    if (o->module_policy == LP_MODULES_ALLOWLIST) {
        const char *key = job->module_ref;
        if (!key || !o->n_modules ||
            !bsearch(&key, o->modules, o->n_modules, sizeof *o->modules, str_cmp)) {
            WHY("module: %s is not in the provider's allowlist", key ? key : "(none)");
            return false;
        }
    }
    return true;
}

struct lp_u256 lp_matcher_price(const struct lp_job_offer *job, const struct lp_match_offer *o)
{
    return job->mode == LP_PRICE_FIXED ? job->max_price : o->min_price;
}

/* ---- selection ------------------------------------------------------------------------------ */

static bool examine(struct lp_matcher *m, const struct entry *e, const struct lp_match_job *job)
{
    m->examined++;
    return lp_matcher_fits(&e->o, e->prov->reliability, job, NULL, 0);
}

/* The cheapest fitting offer of one bucket that beats best, or NULL. */
static struct entry *walk_market(struct lp_matcher *m, const struct blist *l,
                                 const struct lp_match_job *job, const struct entry *best)
{
    const struct lp_job_offer *j = job->offer;
    for (size_t bi = 0; bi < l->nb; bi++) {
        const struct blk *b = l->b[bi];
        if (lp_wei_cmp(&b->e[0]->o.min_price, &j->max_price) > 0)
            return NULL; /* everything after is dearer still */
        if (best && cmp_price(b->e[0], best) >= 0)
            return NULL; /* cannot beat what another bucket found */
        if (!summary_may_fit(&b->s, j))
            continue;
        for (uint32_t i = 0; i < b->n; i++) {
            struct entry *e = b->e[i];
            if (lp_wei_cmp(&e->o.min_price, &j->max_price) > 0)
                return NULL;
            if (best && cmp_price(e, best) >= 0)
                return NULL;
            if (examine(m, e, job))
                return e;
        }
    }
    return NULL;
}

/* The oldest fitting offer of one bucket that is older than best, or NULL. */
static struct entry *walk_fixed(struct lp_matcher *m, const struct blist *l,
                                const struct lp_match_job *job, const struct entry *best)
{
    const struct lp_job_offer *j = job->offer;
    for (size_t bi = 0; bi < l->nb; bi++) {
        const struct blk *b = l->b[bi];
        if (best && cmp_age(b->e[0], best) >= 0)
            return NULL;
        if (!summary_may_fit(&b->s, j))
            continue;
        for (uint32_t i = 0; i < b->n; i++) {
            struct entry *e = b->e[i];
            if (best && cmp_age(e, best) >= 0)
                return NULL;
            if (examine(m, e, job))
                return e;
        }
    }
    return NULL;
}

static struct entry *find_best(struct lp_matcher *m, const struct lp_match_job *job)
{
    const struct lp_job_offer *j = job->offer;
    bool fixed = j->mode == LP_PRICE_FIXED;
    struct entry *best = NULL;
    if (j->has_target) {
        struct provider *p = provider_get(m, j->target, false);
        for (size_t i = 0; p && i < p->offers.n; i++) {
            struct entry *e = p->offers.items[i];
            if (!e->indexed || !examine(m, e, job))
                continue;
            if (!best || (fixed ? cmp_age(e, best) : cmp_price(e, best)) < 0)
                best = e;
        }
        return best;
    }
    for (uint32_t g = next_nonempty(m, j->resources.gpus); g < N_BUCKETS;
         g = next_nonempty(m, g + 1)) {
        const struct bucket *bk = &m->buckets[g];
        struct entry *e = fixed ? walk_fixed(m, &bk->by[BY_AGE], job, best)
                                : walk_market(m, &bk->by[BY_PRICE], job, best);
        if (e)
            best = e;
    }
    return best;
}

/* Books e (indexed, lock held): out of the index, commit, then gone or back. */
static int book_locked(struct lp_matcher *m, struct entry *e, const struct lp_u256 *price,
                       lp_matcher_commit_fn commit, void *commit_ctx)
{
    bucket_remove(m, e);
    if (commit && commit(commit_ctx, &e->o, price) != 0) {
        if (bucket_insert(m, e) != 0) {
            entry_remove(m, e); /* out of memory: the offer is lost to the index, not doubled */
            entry_free(e);
        }
        return LP_MATCH_COMMIT_FAILED;
    }
    entry_remove(m, e);
    return LP_MATCH_OK;
}

int lp_matcher_match(struct lp_matcher *m, const struct lp_match_job *job,
                     lp_matcher_commit_fn commit, void *commit_ctx, struct lp_match_result *out,
                     char *reason, size_t reason_cap)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (m->blocked && job->module_ref) {
        char why[256] = "";
        if (m->blocked(m->blocked_ctx, job->offer->module.repo, job->module_ref, why, sizeof why)) {
            WHY("module %s is on the network blocklist: %s", job->module_ref, why);
            return LP_MATCH_BLOCKED;
        }
    }
    pthread_mutex_lock(&m->lock);
    struct entry *e = find_best(m, job);
    if (!e) {
        size_t open_offers = m->count;
        pthread_mutex_unlock(&m->lock);
        WHY("no open resource offer fits the job (%zu offers open)", open_offers);
        return LP_MATCH_NONE;
    }
    struct lp_u256 price = lp_matcher_price(job->offer, &e->o);
    int rc = book_locked(m, e, &price, commit, commit_ctx);
    pthread_mutex_unlock(&m->lock);
    if (rc != LP_MATCH_OK) {
        WHY("the deal could not be recorded");
        return rc;
    }
    if (out) {
        if (copy_offer(&out->offer, &e->o) != 0) {
            lp_match_offer_release(&out->offer);
            rc = LP_MATCH_ERROR;
        }
        out->price = price;
    }
    entry_free(e);
    return rc;
}

int lp_matcher_book(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                    const struct lp_match_job *job, lp_matcher_commit_fn commit, void *commit_ctx)
{
    pthread_mutex_lock(&m->lock);
    struct entry *e = lp_ptab_get(&m->by_id, id);
    if (!e || !e->indexed || !examine(m, e, job)) {
        pthread_mutex_unlock(&m->lock);
        return LP_MATCH_NONE;
    }
    struct lp_u256 price = lp_matcher_price(job->offer, &e->o);
    int rc = book_locked(m, e, &price, commit, commit_ctx);
    pthread_mutex_unlock(&m->lock);
    if (rc == LP_MATCH_OK)
        entry_free(e);
    return rc;
}

int lp_matcher_get(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                   struct lp_match_offer *out, uint32_t *reliability)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&m->lock);
    struct entry *e = lp_ptab_get(&m->by_id, id);
    int rc = 1;
    if (e && e->indexed) {
        rc = copy_offer(out, &e->o) == 0 ? 0 : -1;
        if (reliability)
            *reliability = e->prov->reliability;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        lp_match_offer_release(out);
    return rc;
}
