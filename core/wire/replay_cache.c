/* Open-addressing replay cache (see replay_cache.h for why it is hand-written). */
#include "wire/replay_cache.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/keccak.h"
#include "crypto/random.h"

#define LP_REPLAY_MIN_CAPACITY 16

static uint64_t lp_replay_hash(const struct lp_replay_cache *c, const uint8_t *key)
{
    struct lp_keccak k;
    uint8_t d[32];
    lp_keccak256_init(&k);
    lp_keccak256_update(&k, c->secret, sizeof(c->secret));
    lp_keccak256_update(&k, key, LP_REPLAY_KEY_LEN);
    lp_keccak256_final(&k, d);
    uint64_t h;
    memcpy(&h, d, sizeof(h));
    return h ? h : 1; /* 0 marks an empty slot */
}

int lp_replay_cache_init(struct lp_replay_cache *c, size_t max_entries, uint64_t sweep_interval_ms)
{
    memset(c, 0, sizeof(*c));
    if (max_entries == 0)
        return -1;
    c->max_entries = max_entries;
    c->sweep_interval_ms = sweep_interval_ms;
    c->capacity = LP_REPLAY_MIN_CAPACITY;
    c->slots = calloc(c->capacity, sizeof(*c->slots));
    if (c->slots == NULL)
        return -1;
    if (lp_random_bytes(c->secret, sizeof(c->secret)) != 0) {
        free(c->slots);
        c->slots = NULL;
        return -1;
    }
    return 0;
}

void lp_replay_cache_destroy(struct lp_replay_cache *c)
{
    free(c->slots);
    memset(c, 0, sizeof(*c));
}

static void lp_replay_place(struct lp_replay_slot *slots, size_t capacity,
                            const struct lp_replay_slot *s)
{
    size_t i = (size_t)s->hash & (capacity - 1);
    while (slots[i].hash != 0)
        i = (i + 1) & (capacity - 1);
    slots[i] = *s;
}

/* Rebuild with only unexpired slots into a table of at least 2*(live + extra) slots. */
static int lp_replay_rebuild(struct lp_replay_cache *c, uint64_t now_ms, size_t extra)
{
    size_t live = 0;
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i].hash != 0 && c->slots[i].expires_ms >= now_ms)
            live++;
    size_t cap = LP_REPLAY_MIN_CAPACITY;
    while (cap < 2 * (live + extra))
        cap *= 2;
    struct lp_replay_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i].hash != 0 && c->slots[i].expires_ms >= now_ms)
            lp_replay_place(slots, cap, &c->slots[i]);
    free(c->slots);
    c->slots = slots;
    c->capacity = cap;
    c->used = live;
    c->next_sweep_ms = now_ms + c->sweep_interval_ms;
    return 0;
}

int lp_replay_cache_sweep(struct lp_replay_cache *c, uint64_t now_ms)
{
    return lp_replay_rebuild(c, now_ms, 0);
}

int lp_replay_cache_insert(struct lp_replay_cache *c, const uint8_t key[LP_REPLAY_KEY_LEN],
                           uint64_t expires_ms, uint64_t now_ms)
{
    if (now_ms >= c->next_sweep_ms && lp_replay_rebuild(c, now_ms, 1) != 0)
        return LP_REPLAY_ERROR;
    uint64_t h = lp_replay_hash(c, key);
    size_t i = (size_t)h & (c->capacity - 1);
    while (c->slots[i].hash != 0) {
        struct lp_replay_slot *s = &c->slots[i];
        if (s->hash == h && memcmp(s->key, key, LP_REPLAY_KEY_LEN) == 0) {
            if (s->expires_ms >= now_ms)
                return LP_REPLAY_SEEN;
            s->expires_ms = expires_ms; /* an expired copy: reuse its slot */
            return LP_REPLAY_NEW;
        }
        i = (i + 1) & (c->capacity - 1);
    }
    if (2 * (c->used + 1) > c->capacity) {
        /* Full enough to rebuild: drop expired keys first, then refuse if still at the cap. */
        if (lp_replay_rebuild(c, now_ms, 1) != 0)
            return LP_REPLAY_ERROR;
        if (c->used >= c->max_entries)
            return LP_REPLAY_FULL;
        i = (size_t)h & (c->capacity - 1);
        while (c->slots[i].hash != 0)
            i = (i + 1) & (c->capacity - 1);
    } else if (c->used >= c->max_entries) {
        if (lp_replay_rebuild(c, now_ms, 0) != 0)
            return LP_REPLAY_ERROR;
        if (c->used >= c->max_entries)
            return LP_REPLAY_FULL;
        i = (size_t)h & (c->capacity - 1);
        while (c->slots[i].hash != 0)
            i = (i + 1) & (c->capacity - 1);
    }
    c->slots[i].hash = h;
    c->slots[i].expires_ms = expires_ms;
    memcpy(c->slots[i].key, key, LP_REPLAY_KEY_LEN);
    c->used++;
    return LP_REPLAY_NEW;
}
