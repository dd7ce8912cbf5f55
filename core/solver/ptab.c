/* Open-addressing pointer table (ptab.h): linear probing, tombstones, rehash on the live
 * elements. */
#include "solver/ptab.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/random.h"

static char tomb_marker;
#define TOMB ((void *)&tomb_marker)

int lp_ptab_init(struct lp_ptab *t, size_t key_off, size_t key_len)
{
    memset(t, 0, sizeof *t);
    t->key_off = key_off;
    t->key_len = key_len;
    return lp_random_bytes(&t->seed, sizeof t->seed) == 0 ? 0 : -1;
}

void lp_ptab_free(struct lp_ptab *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->used = 0;
}

static uint64_t hash(const struct lp_ptab *t, const uint8_t *key)
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

static const uint8_t *key_of(const struct lp_ptab *t, const void *elem)
{
    return (const uint8_t *)elem + t->key_off;
}

static void **find_slot(struct lp_ptab *t, const uint8_t *key, bool for_insert)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1, i = hash(t, key) & mask;
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
        if (memcmp(key_of(t, e), key, t->key_len) == 0)
            return &t->slots[i];
    }
    return for_insert ? first_tomb : NULL;
}

void *lp_ptab_get(struct lp_ptab *t, const uint8_t *key)
{
    void **s = find_slot(t, key, false);
    return s ? *s : NULL;
}

static int grow(struct lp_ptab *t)
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
            *find_slot(t, key_of(t, old[i]), true) = old[i];
            t->used++;
        }
    }
    free(old);
    return 0;
}

int lp_ptab_put(struct lp_ptab *t, void *elem)
{
    if (2 * (t->used + 1) > t->cap && grow(t) != 0)
        return -1;
    void **s = find_slot(t, key_of(t, elem), true);
    if (*s == NULL)
        t->used++;
    *s = elem;
    return 0;
}

void lp_ptab_del(struct lp_ptab *t, const uint8_t *key)
{
    void **s = find_slot(t, key, false);
    if (s)
        *s = TOMB; /* stays counted in `used` until the next grow/rehash */
}

void lp_ptab_each(struct lp_ptab *t, void (*fn)(void *ctx, void *elem), void *ctx)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i] && t->slots[i] != TOMB)
            fn(ctx, t->slots[i]);
}
