/* The solver: offers, matching, deals and their state machine, files and events,
 * independent of HTTP (http.c maps requests onto these calls; tests drive both).
 *
 * Deal lifecycle (Lilypad's states):
 *   job offer accepted  -> NEGOTIATING (unmatched; TimeoutMatch after match_timeout)
 *   matched             -> deal created in AGREED (as current Lilypad does); both offers AGREED
 *   provider uploads outputs -> UPLOADING; posts its signed result -> RESULTS_SUBMITTED
 *   creator downloads outputs -> DOWNLOADING; then accepts -> RESULTS_ACCEPTED (terminal)
 *                                           or challenges -> RESULTS_CHECKED: the solver books a
 *   mediator (a live provider of the job offer's mediator set, else of the solver's configured
 *   one, never the job creator nor the deal's provider, whose open offer fits the job) who
 *   re-runs it and posts a verdict
 *   -> MEDIATION_ACCEPTED | MEDIATION_REJECTED (terminal)
 *   cancel by the creator (before results) -> JOB_OFFER_CANCELLED
 *   timeouts: AGREED/UPLOADING past execution_s (+ grace) -> TIMEOUT_EXECUTION;
 *   RESULTS_SUBMITTED/DOWNLOADING past download_s -> TIMEOUT_DOWNLOAD; RESULTS_CHECKED past
 *   mediation_s -> TIMEOUT_MEDIATE_RESULTS; any active deal past total_timeout since the job
 *   offer was accepted -> JOB_TIMED_OUT.
 *
 * Every call takes the authenticated caller (the signer of the HTTP request) and refuses, with
 * 403, anything about offers and deals the caller is not a party of. Failures fill struct
 * lp_solver_status with an HTTP status, an error line and a hint. */
#ifndef LP_SOLVER_SOLVER_H
#define LP_SOLVER_SOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/key.h"
#include "solver/store.h"
#include "wire/wire.h"

struct lp_solver_config {
    const char *db_path;   /* SQLite database */
    const char *files_dir; /* blobs */
    /* Where the solver clones the git modules that job offers name, to render them itself and
     * refuse an offer whose spec is not the module's (module/module_cache.h). NULL: job offers
     * are taken as their creator describes them, unchecked; only for tests of other parts,
     * which post synthetic offers: `lilypad solver` and the devnet always set it. */
    const char *modules_dir;
    uint64_t match_timeout_ms;
    uint64_t execution_grace_ms; /* added to the job's own timeout_s */
    uint64_t max_execution_ms;   /* cap on a job's timeout_s */
    uint64_t download_timeout_ms;
    uint64_t mediation_timeout_ms;
    uint64_t total_timeout_ms;
    uint64_t tick_ms; /* how often timeouts are checked */
    uint64_t rate_window_ms;
    uint64_t rate_limit;               /* signed requests per address per window; 0 = unlimited */
    uint64_t max_open_job_offers;      /* per address */
    uint64_t max_open_resource_offers; /* per address */
    uint64_t max_pending_jobs;         /* network-wide unmatched job offers (solver/README.md) */
    uint64_t max_file_bytes;
    uint64_t offer_skew_ms; /* |created_at - now| allowed on offers */
    /* Proof-of-work rounds (pow.c): round r covers [r*pow_round_ms, (r+1)*pow_round_ms); its
     * submissions are taken until window start + pow_window_ms. pow_target: big-endian
     * uint256, all zero = Lilypad's targetDifficulty (0x149a6a3 << 204). pow_round_ms 0: off. */
    uint64_t pow_round_ms, pow_window_ms;
    uint8_t pow_target[32];
    /* Shares each provider should find per window: its share target is set from the work it
     * proved the round before (as mining pools' variable difficulty), so a slow CPU and a fast
     * GPU both send about this many. */
    uint64_t pow_shares;
    /* Records rounds and submissions (pow_new_round / pow_submit); NULL: verified, not
     * recorded. Borrowed: the caller closes it after lp_solver_close. */
    struct lp_backend *verifier;

    /* A missing database is created only when set (`lilypad solver --init`); else refused. */
    bool create_db;
    /* HTTP (http.c): connections, timeouts and long-polls. */
    uint64_t max_connections;        /* open at once, all clients together */
    uint64_t max_connections_per_ip; /* 0: no per-IP limit */
    uint64_t http_threads;           /* worker threads serving connections */
    uint64_t idle_timeout_ms;        /* silence allowed within a request */
    uint64_t header_timeout_ms;      /* from connect (or the last answer) to a whole header */
    uint64_t max_long_polls;         /* GET /events?wait=S open at once per address */
    const char *const *hosts;        /* Host values answered (signed); NULL: the listen address */
    size_t n_hosts;
    /* Uploads (files and outputs) per address per upload_window_ms; 0: no quota. */
    uint64_t upload_quota_bytes, upload_quota_files, upload_window_ms;
    /* Finished deals and offers, events and unreferenced uploads older than retention_ms are
     * deleted every gc_interval_ms (0: kept forever). */
    uint64_t retention_ms, gc_interval_ms;
    /* Liveness (providers.c): a provider's offers are not matched offer_liveness_ms after its
     * last event long-poll or offer (0: never lapse); a deal its provider has not started
     * start_timeout_ms after the match is matched again without it (0: never). */
    uint64_t offer_liveness_ms, start_timeout_ms;
    /* Mediation (deals.c): who may mediate a challenge of a job offer that names no mediators
     * of its own: at most LP_WIRE_MAX_MEDIATORS addresses (copied at open). None: such a
     * challenge is refused (409). */
    const uint8_t (*mediators)[LP_WIRE_ADDR_LEN];
    size_t n_mediators;
};

/* The defaults of the `solver { ... }` schema (solver/settings.c, where this is defined, so the
 * schema is their only copy; `lilypad config dump` prints them). db_path and files_dir NULL. */
void lp_solver_config_defaults(struct lp_solver_config *cfg);

struct lp_solver_status {
    int http; /* 200 on success */
    char error[256];
    char hint[256];
};

struct lp_solver;

/* Opens the store and rebuilds the matcher index and the pending-job queue from it. The key
 * signs deals. Starts the timeout thread. */
int lp_solver_open(const struct lp_solver_config *cfg, const struct lp_key *key,
                   struct lp_solver **out, char *err, size_t errlen);
void lp_solver_close(struct lp_solver *s);
/* Ends every event long-poll now and stops the timeout thread (call before stopping HTTP). */
void lp_solver_interrupt(struct lp_solver *s);

const uint8_t *lp_solver_address(const struct lp_solver *s);
struct lp_store *lp_solver_store(struct lp_solver *s);
const struct lp_solver_config *lp_solver_get_config(const struct lp_solver *s);

/* Network blocklist: module is "repo" or "repo@commit". */
int lp_solver_block(struct lp_solver *s, const char *module, const char *reason);

/* Per-address rate limit; 0 ok, -1 with status 429 filled. */
int lp_solver_rate_check(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                         struct lp_solver_status *st);

/* Writes: bodies are signed envelopes whose author must be caller. */
int lp_solver_post_job_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                             const uint8_t *body, size_t len, const uint8_t *input_keccak,
                             uint8_t id[LP_WIRE_ID_LEN], struct lp_solver_status *st);
int lp_solver_post_resource_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                                  const uint8_t *body, size_t len, uint8_t id[LP_WIRE_ID_LEN],
                                  struct lp_solver_status *st);
int lp_solver_cancel_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                           struct lp_solver_status *st);

/* An uploaded file: in memory (data, len), or streamed by the HTTP layer into `staged` (a file
 * in the files folder named LP_STORE_STAGING_PREFIX..., len bytes) with its keccak256 computed
 * on the way. A staged file is consumed: moved into the store or deleted. */
struct lp_solver_blob {
    const uint8_t *data;
    size_t len;
    const char *staged;
    uint8_t keccak[LP_WIRE_ID_LEN];
};
int lp_solver_upload_file(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const struct lp_solver_blob *blob, uint8_t keccak[LP_WIRE_ID_LEN],
                          struct lp_solver_status *st);

/* Deal actions. action: "agree" (either party acknowledges; recorded in the history),
 * "accept" (creator), "cancel" (creator, before results). */
int lp_solver_deal_action(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const uint8_t deal_id[LP_WIRE_ID_LEN], const char *action,
                          struct lp_solver_status *st);
int lp_solver_put_outputs(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const uint8_t deal_id[LP_WIRE_ID_LEN], const struct lp_solver_blob *blob,
                          struct lp_solver_status *st);
int lp_solver_post_result(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const uint8_t deal_id[LP_WIRE_ID_LEN], const uint8_t *body, size_t len,
                          struct lp_solver_status *st);
int lp_solver_challenge(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                        const uint8_t deal_id[LP_WIRE_ID_LEN], const uint8_t *body, size_t len,
                        struct lp_solver_status *st);
int lp_solver_post_verdict(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           const uint8_t deal_id[LP_WIRE_ID_LEN], const uint8_t *body, size_t len,
                           struct lp_solver_status *st);

/* Reads of blobs: which = "inputs" (provider, mediator, creator), "outputs" (creator,
 * mediator, provider) or "module" (the bundle the job offer names, module/bundle.h; any party).
 * Reading outputs as the creator moves RESULTS_SUBMITTED -> DOWNLOADING.
 * *data is malloc'd. */
int lp_solver_read_file(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                        const uint8_t deal_id[LP_WIRE_ID_LEN], const char *which, uint8_t **data,
                        size_t *len, struct lp_solver_status *st);

/* JSON views (read-only; only the caller's own records). */
int lp_solver_view_deal(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                        const uint8_t deal_id[LP_WIRE_ID_LEN], json_t **out,
                        struct lp_solver_status *st);
int lp_solver_view_deals(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                         bool active_only, json_t **out, struct lp_solver_status *st);
int lp_solver_view_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN], uint32_t kind,
                         const uint8_t id[LP_WIRE_ID_LEN], json_t **out,
                         struct lp_solver_status *st);
int lp_solver_view_offers(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          uint32_t kind, json_t **out, struct lp_solver_status *st);

/* Events about the caller's offers and deals after cursor; waits up to wait_ms for the first
 * one. *out = {"events": [...], "cursor": N}. */
int lp_solver_events(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN], uint64_t cursor,
                     uint64_t wait_ms, json_t **out, struct lp_solver_status *st);
/* For servers that wait without a thread per waiter (http.c): the sequence number of the last
 * event appended, and a wait of up to timeout_ms for it to pass `seen` (0: it did, or time is
 * up; -1: the solver is stopping). */
uint64_t lp_solver_event_seq(struct lp_solver *s);
int lp_solver_events_wait(struct lp_solver *s, uint64_t seen, uint64_t timeout_ms);

/* Admission (admission.c), called by the HTTP layer from a request's headers, before its body:
 * an upload of `bytes` against the caller's quota (0, or -1 with 429 and when to retry), and
 * a long-poll against the caller's limit of concurrent ones (taken: give it back when the
 * answer is sent). */
int lp_solver_upload_admit(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           uint64_t bytes, struct lp_solver_status *st);
int lp_solver_long_poll_take(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                             struct lp_solver_status *st);
void lp_solver_long_poll_give(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN]);
/* 0 when the store's last write succeeded; else -1 with 503 and the failure in st. */
int lp_solver_health(struct lp_solver *s, struct lp_solver_status *st);
/* Writing an upload into the files folder failed (errnum) or worked (0): disk full is logged
 * once and /healthz reports it. */
void lp_solver_note_io(struct lp_solver *s, const char *what, int errnum);
/* One garbage-collection pass now (the timeout thread runs one every gc_interval_ms):
 * deletes what finished before now_ms - retention_ms. */
int lp_solver_gc(struct lp_solver *s, uint64_t now_ms, struct lp_store_gc_stats *out);

/* Runs the timeout rules once at now_ms (the timeout thread calls it every tick_ms). Returns
 * the number of transitions made. */
int lp_solver_tick(struct lp_solver *s, uint64_t now_ms);

/* Proof of work (pow.c). The caller's challenge for the current round: *out = {round,
 * challenge, target, window_start, window_end (unix ms), envelope (solver-signed pow
 * challenge, 0x hex)}; the round is recorded through the verifier on first issue. */
int lp_solver_pow_challenge(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                            json_t **out, struct lp_solver_status *st);
/* A signed pow submission: verified by hashing once against the caller's challenge; late (409),
 * duplicate (409), unknown round (404) and invalid (400) ones refused; recorded through the
 * verifier. *out = {"accepted": true, "round": N, "accepted_total": M}. */
int lp_solver_pow_submit(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                         const uint8_t *body, size_t len, json_t **out,
                         struct lp_solver_status *st);
/* {"round_ms", "window_ms", "target", "providers": [{provider, accepted, last_round,
 * hashrate (H/s over the last reported window), hashes, window_ms}]} (public, read-only). */
json_t *lp_solver_pow_leaderboard(struct lp_solver *s);
/* Prometheus lines for /metrics (malloc'd text). */
char *lp_solver_pow_metrics(struct lp_solver *s);

/* Providers as the solver scores them (public, read-only): {"offer_liveness_ms",
 * "start_timeout_ms", "new_provider_reliability", "providers": [{provider, live, matched,
 * started, not_started, delivered, timed_out, reliability}]} (providers.c). */
json_t *lp_solver_providers_view(struct lp_solver *s);
/* Prometheus lines for /metrics: reliability and counts per provider, and the queue's
 * evictions and unmatched deals (malloc'd text). */
char *lp_solver_providers_metrics(struct lp_solver *s);

/* Counters for /metrics. */
struct lp_solver_metrics {
    uint64_t job_offers, resource_offers, deals, matches, match_ns_total, timeouts, rejected;
    size_t open_resource_offers, pending_jobs;
};
void lp_solver_get_metrics(struct lp_solver *s, struct lp_solver_metrics *m);

uint64_t lp_solver_now_ms(void);
/* Milliseconds on the monotonic clock, for intervals and waits. */
uint64_t lp_solver_mono_ms(void);

#endif
