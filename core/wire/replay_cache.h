/* Replay cache for signed requests: a set of (address, nonce) keys with expiry times, as an
 * open-addressing hash table with linear probing. Written by hand because none of our libraries
 * offers a hash set with expiry; it is small and its bounds are what matters here:
 *  - slots are keyed with a per-cache random secret through keccak256, so nonces chosen by an
 *    attacker cannot pile up in one probe chain (average O(1) lookups);
 *  - at most max_entries live keys; the table is rebuilt (dropping expired keys, shrinking or
 *    growing to keep the load under 1/2) when it fills up and at least once per sweep interval,
 *    so memory follows the live set.
 * Not thread-safe by itself: the verifier (sigreq.c) holds a mutex around it. */
#ifndef LP_WIRE_REPLAY_CACHE_H
#define LP_WIRE_REPLAY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define LP_REPLAY_KEY_LEN 36 /* address 20 + nonce 16 */

struct lp_replay_slot {
    uint64_t hash; /* 0 = empty */
    uint64_t expires_ms;
    uint8_t key[LP_REPLAY_KEY_LEN];
};

struct lp_replay_cache {
    struct lp_replay_slot *slots;
    size_t capacity; /* power of two */
    size_t used;     /* occupied slots, expired or not */
    size_t max_entries;
    uint64_t sweep_interval_ms;
    uint64_t next_sweep_ms;
    uint8_t secret[16];
};

enum { LP_REPLAY_NEW = 0, LP_REPLAY_SEEN = 1, LP_REPLAY_FULL = 2, LP_REPLAY_ERROR = -1 };

int lp_replay_cache_init(struct lp_replay_cache *c, size_t max_entries, uint64_t sweep_interval_ms);
void lp_replay_cache_destroy(struct lp_replay_cache *c);
/* Inserts key with its expiry unless an unexpired copy is present. Returns LP_REPLAY_NEW,
 * LP_REPLAY_SEEN, LP_REPLAY_FULL (max_entries live keys) or LP_REPLAY_ERROR (out of memory). */
int lp_replay_cache_insert(struct lp_replay_cache *c, const uint8_t key[LP_REPLAY_KEY_LEN],
                           uint64_t expires_ms, uint64_t now_ms);
/* Rebuilds the table without expired keys, sized for what is left. */
int lp_replay_cache_sweep(struct lp_replay_cache *c, uint64_t now_ms);

#endif
