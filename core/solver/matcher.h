/* The matching engine: an in-memory index of open resource offers and the rules that pair a job
 * offer with one of them (Lilypad's solver rules, with its weaknesses fixed: an index instead
 * of a scan of every offer, and no offer booked twice).
 *
 * Index. Offers sit in one bucket per GPU count (0..64), and a bitmap says which buckets are
 * non-empty. Each bucket keeps its offers in two orders: by (price, created_at, id) for
 * market-price jobs and by (created_at, id) for fixed-price jobs. Each order is a list of blocks
 * of at most 64 offer pointers (an unrolled list: the block array is sorted, and so is each
 * block), and every block carries a summary of its offers: the largest CPU, RAM, disk, VRAM of
 * the largest GPU and results collateral, and the lowest price. A job that needs G GPUs only
 * looks at buckets >= G; in each it walks the order of its price mode from the front:
 *  - a block whose summary cannot hold the job (any maximum below the job's need, or its lowest
 *    price above the job's max_price) is skipped whole, without looking at its offers;
 *  - market: the walk stops at the first offer that fits (cheaper ones were rejected, dearer
 *    ones cannot win), at the first price above max_price, or as soon as an offer cannot beat
 *    the best another bucket found; fixed: likewise at the first fitting offer in age order,
 *    or as soon as an offer is younger than the best so far;
 *  - so a match costs O(B + k + s): B non-empty buckets >= G (at most 65), k blocks skipped
 *    by their summary (n/64 at worst, a few in practice), and s offers examined in blocks
 *    that might hold the job but whose offers fail a rule the summary cannot rule out (a mix
 *    of large and small dimensions, module allowlists, excluded providers, the job's minimum
 *    provider reliability). With realistic mixes s is a handful; the worst case is a pass over
 *    the bucket's pointers, in memory, never a DB lookup. lp_matcher_examined counts s.
 * Insert and remove are O(log n + 64) per order: a binary search over the block array and
 * another in the block, a memmove of at most 64 pointers, and a summary refresh of one block
 * (blocks split at 64 and merge with a neighbour when they fall below 16; the block array moves
 * n/64 pointers at a split). Offers are also hashed by ID (cancel) and grouped by provider
 * (targeted jobs scan only that provider's offers; liveness moves a provider's offers out of
 * and back into the index). We chose this over a k-d tree because price (or age) order is what
 * selection needs, and the summaries prune on every dimension without a tree per dimension.
 *
 * Providers. A provider's offers are matched only while it is live (lp_matcher_set_live: the
 * solver suspends a provider that stopped proving liveness, and its offers come back when it
 * returns). Each provider has a reliability, 0..1000 per mille (lp_matcher_set_reliability;
 * providers the solver never scored have the default reliability), which a job's
 * min_reliability must not exceed.
 *
 * Rules (a resource offer R of provider P fits a job J when all hold):
 *   R.cpu >= J.cpu, R.ram >= J.ram, R.disk >= J.disk, R has >= J.gpus GPUs of >= J.vram each,
 *   R.min_price <= J.max_price, R.results_collateral >= J.min_results_collateral,
 *   reliability(P) >= J.min_reliability, J.target unset or == P, P is not J's exclude nor one
 *   of J's excluded providers, R.module_policy is ANY or lists J's "repo@commit"; and J's module
 *   is not on the network blocklist (the blocked callback; checked once per job, not per offer).
 * Selection: market-price jobs take the cheapest fitting offer (ties: older, then lower ID) and
 * pay its min_price; fixed-price jobs take the oldest fitting offer and pay their max_price.
 *
 * Booking: lp_matcher_match (and lp_matcher_book) removes the chosen offer from the index and
 * calls `commit` inside the same critical section; if commit fails the offer goes back. So no
 * offer is ever booked twice, whatever the number of threads matching at once. Locking: the
 * matcher's lock is held while `commit` runs, so commit may take the store's lock but nothing
 * that is held while the matcher is called (the solver's order: pending jobs, providers,
 * matcher, store). */
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
    /* more providers that may not take it (they were matched to it and did not start it) */
    const uint8_t (*excluded)[LP_WIRE_ADDR_LEN];
    size_t n_excluded;
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

/* Adds an open offer (copied). -1 if the ID is already indexed or memory ran out. The offer is
 * matchable at once unless its provider is suspended (lp_matcher_set_live). */
int lp_matcher_add(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                   const struct lp_resource_offer *offer);
/* Removes an offer by ID (cancel); 0 removed, 1 not indexed. */
int lp_matcher_remove(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN]);
bool lp_matcher_contains(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN]);
/* Offers that can be matched now (those of suspended providers not counted). */
size_t lp_matcher_size(struct lp_matcher *m);
/* A provider's offers in the index (held-back ones included). */
size_t lp_matcher_count_of(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN]);
/* Offers held back because their provider is suspended. */
size_t lp_matcher_suspended(struct lp_matcher *m);
/* How many offers the matches so far examined one by one (the s of the cost above). */
uint64_t lp_matcher_examined(struct lp_matcher *m);

/* Suspends (live = false: its offers are not matched) or resumes a provider. On resume, the IDs
 * of the offers that came back are written to back (up to cap; *n_back = how many came back)
 * so the caller can offer them to waiting jobs. */
void lp_matcher_set_live(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN], bool live,
                         uint8_t (*back)[LP_WIRE_ID_LEN], size_t cap, size_t *n_back);
/* A provider's reliability, 0..1000 per mille; kept while the matcher lives. */
void lp_matcher_set_reliability(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN],
                                uint32_t permille);
/* The reliability of providers never given one (default 0). */
void lp_matcher_set_default_reliability(struct lp_matcher *m, uint32_t permille);
uint32_t lp_matcher_reliability(struct lp_matcher *m, const uint8_t provider[LP_WIRE_ADDR_LEN]);

/* Finds the best offer for job, books it through commit (may be NULL: book unconditionally)
 * and fills out (may be NULL). reason receives a one-line explanation for NONE and BLOCKED. */
int lp_matcher_match(struct lp_matcher *m, const struct lp_match_job *job,
                     lp_matcher_commit_fn commit, void *commit_ctx, struct lp_match_result *out,
                     char *reason, size_t reason_cap);
/* Books one given offer for job through commit, as lp_matcher_match does with the one it
 * picks, if it is matchable and (still) fits the job (no blocklist check): LP_MATCH_OK,
 * LP_MATCH_NONE (gone, its provider suspended, or it no longer fits) or LP_MATCH_COMMIT_FAILED
 * (the offer is back in the index). */
int lp_matcher_book(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                    const struct lp_match_job *job, lp_matcher_commit_fn commit, void *commit_ctx);
/* A copy of a matchable offer (lp_match_offer_release) and its provider's reliability; 0, 1
 * when it is not in the index (or its provider is suspended), -1 out of memory. */
int lp_matcher_get(struct lp_matcher *m, const uint8_t id[LP_WIRE_ID_LEN],
                   struct lp_match_offer *out, uint32_t *reliability);

/* Whether one offer, from a provider of the given reliability, fits one job by the rules above
 * (no blocklist); exposed for the pending-job index and the tests. When it does not, reason
 * names the first rule that failed. */
bool lp_matcher_fits(const struct lp_match_offer *o, uint32_t reliability,
                     const struct lp_match_job *job, char *reason, size_t reason_cap);
/* What a deal between job and offer pays: the offer's min_price (market) or the job's
 * max_price (fixed). */
struct lp_u256 lp_matcher_price(const struct lp_job_offer *job, const struct lp_match_offer *o);

/* The index's view of a resource offer (malloc'd members: lp_match_offer_release). */
int lp_match_offer_from(const uint8_t id[LP_WIRE_ID_LEN], const struct lp_resource_offer *r,
                        struct lp_match_offer *out);
void lp_match_offer_release(struct lp_match_offer *o);

#endif
