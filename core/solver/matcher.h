/* The matching engine: an in-memory index of open resource offers and the rules that pair a job
 * offer with one of them (Lilypad's solver rules, with its weaknesses fixed: an index instead
 * of a scan of every offer, and no offer booked twice).
 *
 * Index. Offers sit in one bucket per GPU count (0..64); each bucket is an array of pointers
 * sorted by (price, created_at, id), and a bitmap says which buckets are non-empty. A job that
 * needs G GPUs only looks at buckets >= G, and in each walks offers from the cheapest up:
 *  - it stops at the first offer that fits (cheaper ones were rejected, dearer ones cannot win),
 *    or as soon as the price exceeds the job's max_price, or cannot beat the best so far;
 *  - so a match costs O(B + s): B non-empty buckets >= G (at most 65) plus s offers skipped
 *    because a constraint the order does not cover (CPU, RAM, disk, VRAM, module policy)
 *    fails. With realistic mixes s is small; the worst case (every cheap offer too small) is a
 *    scan of the bucket, which is still an in-memory pass over pointers, never a DB lookup.
 * Insert and remove are O(log n_b + n_b) (binary search plus a memmove of 8-byte pointers
 * within one bucket; 10,000 offers spread over buckets move a few KiB at most). Offers are also
 * hashed by ID (cancel) and grouped by provider (targeted jobs scan only that provider's
 * offers). We chose this over a k-d tree because price order is what selection needs and the
 * hard constraint with the fewest distinct values (GPU count) makes the natural partition.
 *
 * Rules (a resource offer R fits a job J when all hold):
 *   R.cpu >= J.cpu, R.ram >= J.ram, R.disk >= J.disk, R has >= J.gpus GPUs of >= J.vram each,
 *   R.min_price <= J.max_price, J.target unset or == R.provider, R.provider != J.exclude,
 *   R.module_policy is ANY or lists J's "repo@commit"; and J's module is not on the network
 *   blocklist (the blocked callback; checked once per job, not per offer).
 * Selection: market-price jobs take the cheapest fitting offer (ties: older, then lower ID) and
 * pay its min_price; fixed-price jobs take the oldest fitting offer and pay their max_price.
 *
 * Booking: lp_matcher_match removes the chosen offer from the index and calls `commit` inside
 * the same critical section; if commit fails the offer goes back. So no offer is ever booked
 * twice, whatever the number of threads matching at once. Locking: the matcher's lock is held
 * while `commit` runs, so commit may take the store's lock but nothing that is held while the
 * matcher is called (the solver's order: pending jobs, matcher, store). */
#ifndef LP_SOLVER_MATCHER_H
#define LP_SOLVER_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/offers.h"

struct lp_matcher;

/* What the index keeps of a resource offer. */
struct lp_match_offer {
    uint8_t id[LP_WIRE_ID_LEN];
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t cpu_millicores;
    uint64_t ram_bytes;
    uint64_t disk_bytes;
    uint32_t gpus;
    uint64_t *vram_desc; /* per GPU, largest first (gpus entries) */
    struct lp_u256 min_price;
    struct lp_u256 results_collateral;
    struct lp_u256 mediation_fee;
    uint64_t created_at_ms;
    uint32_t module_policy;
    char **modules; /* "repo@commit", sorted bytewise (as on the wire) */
    size_t n_modules;
};

/* A job as the matcher sees it (borrowed pointers). */
struct lp_match_job {
    const struct lp_job_offer *offer;
    const char *module_ref; /* "repo@commit" */
    const uint8_t *exclude; /* a provider that may not take it (mediation), or NULL */
};

struct lp_match_result {
    struct lp_match_offer offer; /* a copy owned by the caller: lp_match_offer_release */
    struct lp_u256 price;        /* what the deal pays */
};

/* Returns non-zero (and a reason) when a module may not run on the network. */
typedef int (*lp_matcher_blocked_fn)(void *ctx, const char *repo, const char *module_ref,
                                     char *reason, size_t reason_cap);
/* Called with the chosen offer while it is out of the index; 0 keeps the booking, anything
 * else puts the offer back. */
typedef int (*lp_matcher_commit_fn)(void *ctx, const struct lp_match_offer *offer,
                                    const struct lp_u256 *price);

enum lp_match_rc {
    LP_MATCH_OK = 0,
    LP_MATCH_NONE = 1,    /* no open offer fits (yet) */
    LP_MATCH_BLOCKED = 2, /* the module is on the network blocklist; reason set */
    LP_MATCH_COMMIT_FAILED = 3,
    LP_MATCH_ERROR = -1,
};

struct lp_matcher *lp_matcher_new(lp_matcher_blocked_fn blocked, void *blocked_ctx);
void lp_matcher_free(struct lp_matcher *m);

/* Adds an open offer (copied). -1 if the ID is already indexed or memory ran out. */
int lp_matcher_add(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                   const struct lp_resource_offer *offer);
/* Removes an offer by ID (cancel); 0 removed, 1 not indexed. */
int lp_matcher_remove(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN]);
bool lp_matcher_contains(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN]);
size_t lp_matcher_size(struct lp_matcher *m);

/* Finds the best offer for job, books it through commit (may be NULL: book unconditionally)
 * and fills out (may be NULL). reason receives a one-line explanation for NONE and BLOCKED. */
int lp_matcher_match(struct lp_matcher *m, const struct lp_match_job *job,
                     lp_matcher_commit_fn commit, void *commit_ctx, struct lp_match_result *out,
                     char *reason, size_t reason_cap);

/* Whether one offer fits one job by the rules above (no blocklist); exposed for tests. When it
 * does not, reason names the first rule that failed. */
bool lp_matcher_fits(const struct lp_match_offer *o, const struct lp_match_job *job, char *reason,
                     size_t reason_cap);

void lp_match_offer_release(struct lp_match_offer *o);

#endif
