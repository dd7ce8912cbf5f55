/* Per-address counters (limits.h): one hash table of entries chained per bucket, behind one
 * mutex. An operation is a hash, a short chain walk and a few additions, so the lock is held
 * for well under a microsecond. */
#include "solver/limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct window {
    uint64_t start_ms, window_ms, count;
};

struct entry {
    uint8_t addr[LP_WIRE_ADDR_LEN];
    struct window w[LP_LIMIT_COUNTERS];
    uint64_t gauge;
    struct entry *next;
};

struct lp_limits {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t count;
};

struct lp_limits *lp_limits_new(void)
{
    struct lp_limits *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->n_buckets = 1024;
    l->buckets = calloc(l->n_buckets, sizeof *l->buckets);
    if (!l->buckets) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

void lp_limits_free(struct lp_limits *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_buckets; i++) {
        for (struct entry *e = l->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(l->buckets);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Addresses are keccak outputs: their first bytes are already uniform. */
static size_t slot(const struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN])
{
    uint64_t h;
    memcpy(&h, addr, sizeof h);
    return (size_t)h & (l->n_buckets - 1);
}

static void grow(struct lp_limits *l)
{
    size_t n = l->n_buckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    struct entry **old = l->buckets;
    size_t old_n = l->n_buckets;
    l->buckets = b;
    l->n_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        for (struct entry *e = old[i], *next; e; e = next) {
            next = e->next;
            size_t s = slot(l, e->addr);
            e->next = b[s];
            b[s] = e;
        }
    }
    free(old);
}

/* The address's entry, created when absent (NULL when the table is full or memory is out). */
static struct entry *find(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN], bool create)
{
    size_t s = slot(l, addr);
    for (struct entry *e = l->buckets[s]; e; e = e->next) {
        if (memcmp(e->addr, addr, LP_WIRE_ADDR_LEN) == 0)
            return e;
    }
    if (!create || l->count >= LP_LIMITS_MAX_ENTRIES)
        return NULL;
    struct entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->addr, addr, LP_WIRE_ADDR_LEN);
    e->next = l->buckets[s];
    l->buckets[s] = e;
    if (++l->count > 2 * l->n_buckets)
        grow(l);
    return e;
}

bool lp_limits_take(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN],
                    enum lp_limit_counter counter, uint64_t n, uint64_t limit, uint64_t window_ms,
                    uint64_t now_ms, uint64_t *used, uint64_t *reset_ms)
{
    uint64_t w = window_ms ? window_ms : 1;
    uint64_t start = now_ms - now_ms % w;
    *reset_ms = start + w - now_ms;
    pthread_mutex_lock(&l->lock);
    struct entry *e = find(l, addr, true);
    if (!e) {
        pthread_mutex_unlock(&l->lock);
        *used = UINT64_MAX;
        return false;
    }
    struct window *win = &e->w[counter];
    if (win->start_ms != start || win->window_ms != w) {
        win->start_ms = start;
        win->window_ms = w;
        win->count = 0;
    }
    bool ok = limit == 0 || (win->count <= limit && n <= limit - win->count);
    if (ok)
        win->count += n;
    *used = win->count;
    pthread_mutex_unlock(&l->lock);
    return ok;
}

bool lp_limits_gauge_take(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN], uint64_t max,
                          uint64_t *held)
{
    pthread_mutex_lock(&l->lock);
    struct entry *e = find(l, addr, true);
    bool ok = e && e->gauge < max;
    if (ok)
        e->gauge++;
    *held = e ? e->gauge : UINT64_MAX;
    pthread_mutex_unlock(&l->lock);
    return ok;
}

void lp_limits_gauge_give(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN])
{
    pthread_mutex_lock(&l->lock);
    struct entry *e = find(l, addr, false);
    if (e && e->gauge > 0)
        e->gauge--;
    pthread_mutex_unlock(&l->lock);
}

static bool idle(const struct entry *e, uint64_t now_ms)
{
    if (e->gauge)
        return false;
    for (size_t i = 0; i < LP_LIMIT_COUNTERS; i++) {
        if (e->w[i].count && now_ms < e->w[i].start_ms + e->w[i].window_ms)
            return false;
    }
    return true;
}

size_t lp_limits_sweep(struct lp_limits *l, uint64_t now_ms)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n_buckets; i++) {
        struct entry **pp = &l->buckets[i];
        while (*pp) {
            struct entry *e = *pp;
            if (idle(e, now_ms)) {
                *pp = e->next;
                free(e);
                l->count--;
            } else {
                pp = &e->next;
            }
        }
    }
    size_t left = l->count;
    pthread_mutex_unlock(&l->lock);
    return left;
}
