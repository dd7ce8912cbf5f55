/* Job offers waiting for a resource offer that fits (the solver's pending jobs), indexed so
 * that a new resource offer finds the job it should serve with a lookup, and served fairly
 * across job creators.
 *
 * Fairness. Each job gets a service tag when it is queued: tag = max(V, the creator's last
 * tag) + 1, where V (virtual time) is the tag of the last job served. Jobs are served in tag
 * order (then queue order), so every creator's first waiting job comes before any creator's
 * second: a creator with 1,000 waiting jobs and one with a single job alternate, and a job
 * queued behind a flood waits for one job per other creator, not for the whole flood
 * (start-time fair queuing, with a creator as the flow).
 *
 * Index. Jobs that name no target provider sit in one bucket per GPU count (0..64); jobs that
 * do sit in a list of their target. Both are unrolled lists in tag order (blocks of at most
 * 64 jobs), and every block carries a summary of what its jobs need at least (CPU, RAM, disk,
 * VRAM, reliability, results collateral) and pay at most (max_price). A resource offer with G
 * GPUs looks at buckets 0..G and its provider's target list; in each it walks blocks in tag
 * order, skips a block whose summary says no job in it can take the offer, checks the jobs of
 * the others one by one (lp_matcher_fits) and stops at the first that fits, or as soon as the
 * tags pass the best job another bucket found. A job that no offer can take costs nothing
 * once its block is skipped; lp_pending_examined counts the jobs checked one by one.
 *
 * Limits. The queue does not decide what to admit (the solver does, see solver.c): it answers
 * how many jobs an address has and which address has the most, and takes out an address's
 * newest job when the solver evicts one. Not thread-safe: the solver's pending_lock guards it. */
#ifndef LP_SOLVER_PENDING_H
#define LP_SOLVER_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "solver/matcher.h"
#include "wire/offers.h"

#define LP_PENDING_MAX_EXCLUDED 16 /* providers a job remembers as having let it down */

/* An unmatched job offer. */
struct lp_pending_job {
    uint8_t id[LP_WIRE_ID_LEN];
    struct lp_job_offer job;
    char *module_ref;      /* "repo@commit" */
    uint64_t stored_at_ms; /* when the solver accepted the job offer (total timeout) */
    uint64_t queued_at_ms; /* when it (re)entered the queue (match timeout) */
    bool has_input;
    uint8_t input_keccak[LP_WIRE_ID_LEN];
    /* providers matched to it that did not start it: never again for this job */
    uint8_t excluded[LP_PENDING_MAX_EXCLUDED][LP_WIRE_ADDR_LEN];
    size_t n_excluded;
};

/* Frees a job's members (the struct itself is the caller's). */
void lp_pending_job_release(struct lp_pending_job *p);
/* The job as the matcher sees it (pointers into p). */
void lp_pending_job_match_view(const struct lp_pending_job *p, struct lp_match_job *out);

struct lp_pending;

struct lp_pending *lp_pending_new(void);
/* Frees the queue and every job in it. */
void lp_pending_free(struct lp_pending *q);

size_t lp_pending_count(const struct lp_pending *q);
/* Jobs of one address (the job creator). */
size_t lp_pending_count_of(struct lp_pending *q, const uint8_t addr[LP_WIRE_ADDR_LEN]);
/* The address with the most jobs (false when the queue is empty). */
bool lp_pending_biggest(const struct lp_pending *q, uint8_t addr[LP_WIRE_ADDR_LEN], size_t *count);
/* How many jobs the lookups so far checked one by one. */
uint64_t lp_pending_examined(const struct lp_pending *q);

/* Queues a job: on success the queue owns p's members (and p is zeroed); -1 when memory ran
 * out or the ID is queued already (p untouched). */
int lp_pending_add(struct lp_pending *q, struct lp_pending_job *p);
/* Takes a job out by ID into *out (the caller then owns its members); 0, or 1 when absent.
 * served: it was matched (its tag moves virtual time on). */
int lp_pending_take(struct lp_pending *q, const uint8_t id[LP_WIRE_ID_LEN], bool served,
                    struct lp_pending_job *out);
/* Takes out the newest job of addr (eviction); 0, or 1 when it has none. */
int lp_pending_take_newest(struct lp_pending *q, const uint8_t addr[LP_WIRE_ADDR_LEN],
                           struct lp_pending_job *out);

/* The job a new resource offer (of a provider with that reliability) should serve: the first
 * in service order that the offer fits, or NULL. Borrowed until the queue changes. */
const struct lp_pending_job *lp_pending_find(struct lp_pending *q, const struct lp_match_offer *o,
                                             uint32_t reliability);
/* The job that has waited longest since it was queued, or NULL. */
const struct lp_pending_job *lp_pending_oldest(const struct lp_pending *q);
/* Each job in queue order (fn must not change the queue); stops when fn returns non-zero. */
int lp_pending_each(struct lp_pending *q, int (*fn)(void *ctx, const struct lp_pending_job *p),
                    void *ctx);

#endif
