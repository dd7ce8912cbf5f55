/* Matching engine; the index layout, rules and costs are described in matcher.h. */
#include "solver/matcher.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/random.h"

#define N_BUCKETS (LP_WIRE_MAX_GPUS + 1)

struct entry {
    struct lp_match_offer o;
};

/* An open-addressing pointer table keyed by a fixed-size byte string inside each element.
 * Hand-written because none of our libraries has a hash map; keys are hashed with a random
 * per-table seed so offer IDs ground by an attacker cannot pile into one probe chain. */
struct ptab {
    void **slots;
    size_t cap; /* power of two, or 0 */
    size_t used;
    size_t key_off, key_len;
    uint64_t seed;
};

static char tomb_marker;
#define TOMB ((void *)&tomb_marker)

static uint64_t ptab_hash(const struct ptab *t, const uint8_t *key)
{
    uint64_t h = t->seed ^ 0xcbf29ce484222325ull;
    for (size_t i = 0; i < t->key_len; i++) {
        h ^= key[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static const uint8_t *ptab_key(const struct ptab *t, const void *elem)
{
    return (const uint8_t *)elem + t->key_off;
}

static void **ptab_find_slot(struct ptab *t, const uint8_t *key, bool for_insert)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1, i = ptab_hash(t, key) & mask;
    void **first_tomb = NULL;
    for (size_t n = 0; n < t->cap; n++, i = (i + 1) & mask) {
        void *e = t->slots[i];
        if (e == NULL)
            return for_insert ? (first_tomb ? first_tomb : &t->slots[i]) : NULL;
        if (e == TOMB) {
            if (!first_tomb)
                first_tomb = &t->slots[i];
            continue;
        }
        if (memcmp(ptab_key(t, e), key, t->key_len) == 0)
            return &t->slots[i];
    }
    return for_insert ? first_tomb : NULL;
}

static void *ptab_get(struct ptab *t, const uint8_t *key)
{
    void **s = ptab_find_slot(t, key, false);
    return s ? *s : NULL;
}

static int ptab_grow(struct ptab *t)
{
    /* Sized on the live elements, so churn (tombstones) rehashes in place instead of
     * doubling the table forever. */
    size_t live = 0;
    for (size_t i = 0; i < t->cap; i++)
        live += t->slots[i] && t->slots[i] != TOMB;
    size_t ncap = 64;
    while (ncap < 4 * (live + 1))
        ncap *= 2;
    void **old = t->slots;
    size_t ocap = t->cap;
    t->slots = calloc(ncap, sizeof *t->slots);
    if (!t->slots) {
        t->slots = old;
        return -1;
    }
    t->cap = ncap;
    t->used = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i] && old[i] != TOMB) {
            *ptab_find_slot(t, ptab_key(t, old[i]), true) = old[i];
            t->used++;
        }
    }
    free(old);
    return 0;
}

/* Inserts elem (its key must not be present). */
static int ptab_put(struct ptab *t, void *elem)
{
    if (2 * (t->used + 1) > t->cap && ptab_grow(t) != 0)
        return -1;
    void **s = ptab_find_slot(t, ptab_key(t, elem), true);
    if (*s == NULL)
        t->used++;
    *s = elem;
    return 0;
}

static void ptab_del(struct ptab *t, const uint8_t *key)
{
    void **s = ptab_find_slot(t, key, false);
    if (s)
        *s = TOMB; /* stays counted in `used` until the next grow/rehash */
}

/* A growable array of entry pointers. */
struct vec {
    struct entry **items;
    size_t n, cap;
};

static int vec_insert_at(struct vec *v, size_t at, struct entry *e)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        struct entry **p = realloc(v->items, ncap * sizeof *p);
        if (!p)
            return -1;
        v->items = p;
        v->cap = ncap;
    }
    memmove(v->items + at + 1, v->items + at, (v->n - at) * sizeof *v->items);
    v->items[at] = e;
    v->n++;
    return 0;
}

static void vec_remove_at(struct vec *v, size_t at)
{
    memmove(v->items + at, v->items + at + 1, (v->n - at - 1) * sizeof *v->items);
    v->n--;
}

struct provider {
    uint8_t addr[LP_WIRE_ADDR_LEN];
    struct vec offers;
};

struct lp_matcher {
    pthread_mutex_t lock;
    struct vec buckets[N_BUCKETS];
    uint64_t nonempty[2]; /* bit g: buckets[g] has offers (65 buckets) */
    struct ptab by_id;    /* struct entry *, key o.id */
    struct ptab by_prov;  /* struct provider *, key addr */
    size_t count;
    lp_matcher_blocked_fn blocked;
    void *blocked_ctx;
};

/* Selection order inside a bucket: price, then age, then ID. */
static int entry_cmp(const struct entry *a, const struct entry *b)
{
    int c = lp_wei_cmp(&a->o.min_price, &b->o.min_price);
    if (c)
        return c;
    if (a->o.created_at_ms != b->o.created_at_ms)
        return a->o.created_at_ms < b->o.created_at_ms ? -1 : 1;
    return memcmp(a->o.id, b->o.id, LP_WIRE_ID_LEN);
}

static size_t bucket_lower_bound(const struct vec *v, const struct entry *e)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_cmp(v->items[mid], e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void set_bit(struct lp_matcher *m, uint32_t g, bool on)
{
    if (on)
        m->nonempty[g / 64] |= 1ull << (g % 64);
    else
        m->nonempty[g / 64] &= ~(1ull << (g % 64));
}

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

static struct entry *entry_from_offer(const uint8_t id[LP_WIRE_ID_LEN],
                                      const struct lp_resource_offer *r)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    struct lp_match_offer *o = &e->o;
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
    return e;
fail:
    lp_match_offer_release(o);
    free(e);
    return NULL;
}

struct lp_matcher *lp_matcher_new(lp_matcher_blocked_fn blocked, void *blocked_ctx)
{
    struct lp_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->by_id.key_off = offsetof(struct entry, o.id);
    m->by_id.key_len = LP_WIRE_ID_LEN;
    m->by_prov.key_off = offsetof(struct provider, addr);
    m->by_prov.key_len = LP_WIRE_ADDR_LEN;
    if (lp_random_bytes(&m->by_id.seed, sizeof m->by_id.seed) != 0 ||
        lp_random_bytes(&m->by_prov.seed, sizeof m->by_prov.seed) != 0) {
        free(m);
        return NULL;
    }
    m->blocked = blocked;
    m->blocked_ctx = blocked_ctx;
    return m;
}

void lp_matcher_free(struct lp_matcher *m)
{
    if (!m)
        return;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        for (size_t i = 0; i < m->buckets[b].n; i++) {
            lp_match_offer_release(&m->buckets[b].items[i]->o);
            free(m->buckets[b].items[i]);
        }
        free(m->buckets[b].items);
    }
    for (size_t i = 0; i < m->by_prov.cap; i++) {
        struct provider *p = m->by_prov.slots[i];
        if (p && (void *)p != TOMB) {
            free(p->offers.items);
            free(p);
        }
    }
    free(m->by_id.slots);
    free(m->by_prov.slots);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Index maintenance; the caller holds the lock. */
static int index_insert(struct lp_matcher *m, struct entry *e)
{
    struct provider *p = ptab_get(&m->by_prov, e->o.provider);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        memcpy(p->addr, e->o.provider, LP_WIRE_ADDR_LEN);
        if (ptab_put(&m->by_prov, p) != 0) {
            free(p);
            return -1;
        }
    }
    struct vec *b = &m->buckets[e->o.gpus];
    if (vec_insert_at(&p->offers, p->offers.n, e) != 0)
        return -1;
    if (vec_insert_at(b, bucket_lower_bound(b, e), e) != 0) {
        p->offers.n--;
        return -1;
    }
    if (ptab_put(&m->by_id, e) != 0) {
        vec_remove_at(b, bucket_lower_bound(b, e));
        p->offers.n--;
        return -1;
    }
    set_bit(m, e->o.gpus, true);
    m->count++;
    return 0;
}

static void index_remove(struct lp_matcher *m, struct entry *e)
{
    struct vec *b = &m->buckets[e->o.gpus];
    size_t at = bucket_lower_bound(b, e);
    if (at < b->n && b->items[at] == e)
        vec_remove_at(b, at);
    if (b->n == 0)
        set_bit(m, e->o.gpus, false);
    struct provider *p = ptab_get(&m->by_prov, e->o.provider);
    if (p) {
        for (size_t i = 0; i < p->offers.n; i++) {
            if (p->offers.items[i] == e) {
                vec_remove_at(&p->offers, i);
                break;
            }
        }
    }
    ptab_del(&m->by_id, e->o.id);
    m->count--;
}

int lp_matcher_add(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                   const struct lp_resource_offer *offer)
{
    struct entry *e = entry_from_offer(id, offer);
    if (!e)
        return -1;
    pthread_mutex_lock(&m->lock);
    int rc = ptab_get(&m->by_id, id) ? -1 : index_insert(m, e);
    pthread_mutex_unlock(&m->lock);
    if (rc != 0) {
        lp_match_offer_release(&e->o);
        free(e);
    }
    return rc;
}

int lp_matcher_remove(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN])
{
    pthread_mutex_lock(&m->lock);
    struct entry *e = ptab_get(&m->by_id, id);
    if (e)
        index_remove(m, e);
    pthread_mutex_unlock(&m->lock);
    if (!e)
        return 1;
    lp_match_offer_release(&e->o);
    free(e);
    return 0;
}

bool lp_matcher_contains(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN])
{
    pthread_mutex_lock(&m->lock);
    bool r = ptab_get(&m->by_id, id) != NULL;
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

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define WHY(...)                                                                                   \
    ((reason && reason_cap) ? (void)snprintf(reason, reason_cap, __VA_ARGS__) : (void)0)

/* Everything but the price (which the index order handles) and the target. */
static bool fits_resources(const struct lp_match_offer *o, const struct lp_match_job *job,
                           char *reason, size_t reason_cap)
{
    const struct lp_job_resources *r = &job->offer->resources;
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
    if (job->exclude && memcmp(job->exclude, o->provider, LP_WIRE_ADDR_LEN) == 0) {
        WHY("provider: excluded (the original provider cannot mediate its own result)");
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

bool lp_matcher_fits(const struct lp_match_offer *o, const struct lp_match_job *job, char *reason,
                     size_t reason_cap)
{
    if (lp_wei_cmp(&o->min_price, &job->offer->max_price) > 0) {
        WHY("price: offer's min_price is above the job's max_price");
        return false;
    }
    if (job->offer->has_target && memcmp(job->offer->target, o->provider, LP_WIRE_ADDR_LEN) != 0) {
        WHY("target: the job is for another provider");
        return false;
    }
    return fits_resources(o, job, reason, reason_cap);
}

/* The better of two candidates under the job's mode (NULL-safe). */
static struct entry *better(const struct lp_match_job *job, struct entry *best, struct entry *e)
{
    if (!best)
        return e;
    if (job->offer->mode == LP_PRICE_FIXED) {
        if (e->o.created_at_ms != best->o.created_at_ms)
            return e->o.created_at_ms < best->o.created_at_ms ? e : best;
        return memcmp(e->o.id, best->o.id, LP_WIRE_ID_LEN) < 0 ? e : best;
    }
    return entry_cmp(e, best) < 0 ? e : best;
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

static struct entry *find_best(struct lp_matcher *m, const struct lp_match_job *job)
{
    const struct lp_job_offer *j = job->offer;
    struct entry *best = NULL;
    if (j->has_target) {
        struct provider *p = ptab_get(&m->by_prov, j->target);
        for (size_t i = 0; p && i < p->offers.n; i++) {
            struct entry *e = p->offers.items[i];
            if (lp_matcher_fits(&e->o, job, NULL, 0))
                best = better(job, best, e);
        }
        return best;
    }
    bool fixed = j->mode == LP_PRICE_FIXED;
    for (uint32_t g = next_nonempty(m, j->resources.gpus); g < N_BUCKETS;
         g = next_nonempty(m, g + 1)) {
        const struct vec *b = &m->buckets[g];
        for (size_t i = 0; i < b->n; i++) {
            struct entry *e = b->items[i];
            if (lp_wei_cmp(&e->o.min_price, &j->max_price) > 0)
                break; /* everything after is dearer still */
            if (!fixed && best && entry_cmp(e, best) >= 0)
                break; /* cannot beat what another bucket found */
            if (!fits_resources(&e->o, job, NULL, 0))
                continue;
            best = better(job, best, e);
            if (!fixed)
                break; /* cheapest fitting offer of this bucket */
        }
    }
    return best;
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
    struct lp_u256 price =
        job->offer->mode == LP_PRICE_FIXED ? job->offer->max_price : e->o.min_price;
    index_remove(m, e);
    if (commit && commit(commit_ctx, &e->o, &price) != 0) {
        int rc = index_insert(m, e);
        pthread_mutex_unlock(&m->lock);
        if (rc != 0) {
            lp_match_offer_release(&e->o);
            free(e);
        }
        WHY("the deal could not be recorded");
        return LP_MATCH_COMMIT_FAILED;
    }
    pthread_mutex_unlock(&m->lock);
    int rc = LP_MATCH_OK;
    if (out) {
        if (copy_offer(&out->offer, &e->o) != 0) {
            lp_match_offer_release(&out->offer);
            rc = LP_MATCH_ERROR;
        }
        out->price = price;
    }
    lp_match_offer_release(&e->o);
    free(e);
    return rc;
}
