/* An open-addressing table of pointers keyed by a fixed-size byte string inside each element
 * (offer IDs, addresses). Hand-written because none of our libraries has a hash map; keys are
 * hashed with a random per-table seed so IDs or addresses ground by an attacker cannot pile
 * into one probe chain. Not thread-safe: its owner locks. */
#ifndef LP_SOLVER_PTAB_H
#define LP_SOLVER_PTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lp_ptab {
    void **slots;
    size_t cap; /* power of two, or 0 */
    size_t used;
    size_t key_off, key_len;
    uint64_t seed;
};

/* Keys are key_len bytes at key_off in each element. -1 if no random seed could be drawn. */
int lp_ptab_init(struct lp_ptab *t, size_t key_off, size_t key_len);
/* Frees the slots (not the elements). */
void lp_ptab_free(struct lp_ptab *t);
void *lp_ptab_get(struct lp_ptab *t, const uint8_t *key);
/* Inserts elem (its key must not be present); -1 when memory ran out. */
int lp_ptab_put(struct lp_ptab *t, void *elem);
void lp_ptab_del(struct lp_ptab *t, const uint8_t *key);
/* Calls fn for every element (the table must not change meanwhile). */
void lp_ptab_each(struct lp_ptab *t, void (*fn)(void *ctx, void *elem), void *ctx);

#endif
