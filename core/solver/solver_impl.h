/* Internals shared by the solver's files (solver.c: lifecycle, offers and matching; deals.c:
 * the deal state machine and timeouts; views.c: JSON views and events). Not a public API. */
#ifndef LP_SOLVER_IMPL_H
#define LP_SOLVER_IMPL_H

#include <pthread.h>
#include <stdarg.h>

#include "module/module_cache.h"
#include "solver/limits.h"
#include "solver/matcher.h"
#include "solver/pending.h"
#include "solver/ptab.h"
#include "solver/solver.h"
#include "wire/object.h"

struct lp_solver {
    struct lp_solver_config cfg;
    char *db_path, *files_dir, *modules_dir;
    struct lp_module_cache *modules; /* NULL: job offers' modules are not checked */
    struct lp_key key;
    struct lp_store *store;
    struct lp_matcher *matcher;

    /* Lock order, outermost first: pending_lock, prov_lock, the matcher's lock (matcher.c),
     * the store's lock (store_sqlite.c), then the verifier backend's (core/dispatch). ev_lock
     * and pow_lock are taken alone, never with another of these held. */
    pthread_mutex_t pending_lock; /* guards pending; also serialises matching of job offers */
    struct lp_pending *pending;

    /* Providers' liveness, reliability and the deals waiting for their start (providers.c). */
    pthread_mutex_t prov_lock;
    struct lp_ptab providers;    /* struct lp_solver_provider *, key address */
    struct lp_ptab starts;       /* struct lp_solver_start *, key deal ID */
    uint64_t evicted, unmatched; /* counters (atomic) */

    pthread_mutex_t ev_lock; /* guards last_seq, stopping; ev_cond (monotonic) wakes long-polls */
    pthread_cond_t ev_cond;
    uint64_t last_seq;
    bool stopping;

    pthread_t ticker;
    bool ticker_running;

    struct lp_solver_metrics metrics; /* updated with __atomic builtins */

    pthread_mutex_t pow_lock; /* guards miners */
    struct lp_pow_miner *miners;

    char **hosts; /* copy of cfg.hosts (the caller's may not outlive open) */
    /* copy of cfg.mediators, sorted (the caller's may not outlive open) */
    uint8_t mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    struct lp_limits *limits;    /* per-address rates, quotas and long-polls (admission.c) */
    uint64_t next_gc_mono_ms;    /* ticker thread only */
    uint64_t next_sweep_mono_ms; /* ticker thread only */
};

/* module_check.c: the job offer's spec must be what its module renders with its inputs (and a
 * bundle must be one the caller uploaded). 0, or -1 with st set (403 for a spec that is not the
 * module's, 400 for a module that cannot be resolved). */
int lp_solver_module_check(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           const struct lp_job_offer *job, struct lp_solver_status *st);

/* Periodic upkeep on the timeout thread (admission.c): garbage collection every
 * gc_interval_ms, and dropping idle per-address counters. */
void lp_solver_housekeeping(struct lp_solver *s, uint64_t now_ms);

/* PoW bookkeeping per provider (pow.c), under pow_lock. Work is credited from verified
 * shares only: each share of difficulty D (= 2^256 / share_target) proves D hashes on average. */
struct lp_pow_miner {
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t round; /* the last round issued to it */
    bool issued, solved;
    uint8_t challenge[32];
    uint8_t share_target[32];
    double share_difficulty;
    uint64_t window_start_ms, window_end_ms;
    /* this round: the share nonces credited (sorted, for duplicates) and the work they prove */
    uint8_t (*shares)[32];
    size_t n_shares, cap_shares;
    double credited;
    /* the last round that had shares: what the leaderboard shows */
    double last_credited;
    uint64_t last_window_ms, last_round_credited, last_shares;
    uint64_t accepted, refused, shares_total;
    struct lp_pow_miner *next;
};
void lp_solver_pow_free(struct lp_solver *s);

#define LP_ST_MASK(state) (1u << (state))

/* The history line of a provider's agree (deals.c writes it; providers.c looks for it). */
#define LP_NOTE_PROVIDER_AGREED "agreed by the resource provider"

/* Opens a signed envelope posted by `caller`: it must decode, be of want_kind and be signed by
 * the caller (the object's author). On failure sets st (400 bad envelope or kind, 403 another
 * author) and returns false with obj freed. Every write endpoint goes through it. */
bool lp_solver_open_envelope(const uint8_t *body, size_t len, uint32_t want_kind,
                             const uint8_t caller[LP_WIRE_ADDR_LEN], struct lp_wire_object *obj,
                             struct lp_envelope *env, struct lp_solver_status *st);
void lp_solver_status_set(struct lp_solver_status *st, int http, const char *hint, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
/* Maps a store failure onto a status (404, 409 or 500). */
void lp_solver_status_store(struct lp_solver_status *st, int rc, const struct lp_store_error *e);
/* Wakes the long-polls after a write that appended events. */
void lp_solver_events_appended(struct lp_solver *s);
void lp_solver_count(struct lp_solver *s, uint64_t *counter, uint64_t n);

/* Event helper: one event about object `id` for up to three parties (NULL skipped). */
void lp_solver_event(struct lp_store_event_in *ev, const char *type, const uint8_t *id,
                     uint32_t state, const uint8_t *a, const uint8_t *b, const uint8_t *c);

/* Tries to match one pending job (pending_lock held); on a match creates the deal and
 * watches for its start. Returns LP_MATCH_*. */
int lp_solver_match_job(struct lp_solver *s, const struct lp_pending_job *p,
                        struct lp_solver_status *st);
/* Offers one resource offer to the waiting jobs (pending_lock held): the job the queue says it
 * should serve gets it. in_matcher: the offer is indexed (it came back with its provider), else
 * it is new and not indexed yet. true when the offer is taken (a deal was made) or no longer
 * open; false: no waiting job takes it (a new offer is then indexed). */
bool lp_solver_serve_pending(struct lp_solver *s, const struct lp_match_offer *o,
                             uint32_t reliability, bool in_matcher);

/* ---- providers.c: liveness, reliability, deal starts ---------------------------------------- */

struct lp_solver_provider;
struct lp_solver_start;

enum lp_solver_outcome {
    LP_OUTCOME_MATCHED,
    LP_OUTCOME_STARTED,
    LP_OUTCOME_NOT_STARTED,
    LP_OUTCOME_DELIVERED,
    LP_OUTCOME_TIMED_OUT,
};

int lp_solver_providers_open(struct lp_solver *s, char *err, size_t errlen);
void lp_solver_providers_close(struct lp_solver *s);
/* A signed request of addr that proves it is there: an offer (known = false: a provider from
 * now on) or an event long-poll of wait_ms (known = true: only providers already known are
 * tracked). Its offers are matchable until offer_liveness after that; offers held back come
 * back now (matched to waiting jobs). Takes pending_lock when it resumes a provider, so the
 * caller must not hold it. */
void lp_solver_provider_seen(struct lp_solver *s, const uint8_t addr[LP_WIRE_ADDR_LEN],
                             uint64_t wait_ms, bool known);
/* Counts an outcome for a provider (its reliability follows). */
void lp_solver_provider_outcome(struct lp_solver *s, const uint8_t addr[LP_WIRE_ADDR_LEN],
                                enum lp_solver_outcome what);
/* A deal was made for job p with provider: its start is awaited until start_timeout. */
void lp_solver_start_watch(struct lp_solver *s, const uint8_t deal_id[LP_WIRE_ID_LEN],
                           const uint8_t provider[LP_WIRE_ADDR_LEN], const struct lp_pending_job *p,
                           uint64_t now_ms);
/* The provider acted on a deal (agree, outputs, result): started, if it was awaited. */
void lp_solver_deal_progress(struct lp_solver *s, const uint8_t deal_id[LP_WIRE_ID_LEN]);
/* The timeout pass's part: offers of providers gone quiet are held back; deals not started in
 * time are unmatched and their jobs matched again. Returns the deals unmatched. */
int lp_solver_providers_tick(struct lp_solver *s, uint64_t now_ms);
/* Books a mediator for a challenged deal if one fits now (0 booked, 1 none yet, -1 error):
 * only a live provider of the deal's mediator candidates with an open offer that fits. */
int lp_solver_book_mediator(struct lp_solver *s, const uint8_t deal_id[LP_WIRE_ID_LEN]);
/* Who may mediate a challenge of deal d (job: its job offer): the job offer's mediators, else
 * the solver's configured ones, less the deal's job creator and provider; written to out,
 * returns how many. *n_set (may be NULL): the size of the set before the parties were taken
 * out (0: no set at all). */
size_t lp_solver_mediator_candidates(const struct lp_solver *s, const struct lp_job_offer *job,
                                     const struct lp_store_deal *d,
                                     uint8_t out[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN],
                                     size_t *n_set);
/* The candidates as a JSON array of checksummed addresses (null when the job offer cannot be
 * read): what GET /api/v1/deals/{id} shows as "mediators". */
json_t *lp_solver_deal_mediators_json(struct lp_solver *s, const struct lp_store_deal *d);

/* Drops pending jobs past the match timeout (TimeoutMatch); returns how many. */
int lp_solver_expire_pending(struct lp_solver *s, uint64_t now_ms);

/* "repo@commit" of a job offer, malloc'd. */
char *lp_solver_module_ref(const struct lp_job_offer *job);
/* 0x-prefixed lowercase hex of an ID (67 bytes). */
void lp_solver_hex_id(const uint8_t id[LP_WIRE_ID_LEN], char out[2 * LP_WIRE_ID_LEN + 3]);

#endif
