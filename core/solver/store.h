/* The solver's durable state behind one interface: a table of functions, so a
 * database-server store can replace the SQLite one (store_sqlite.c) without touching the solver.
 *
 * What it holds: job offers and resource offers (their signed envelopes and state), deals with
 * their state and an append-only history, results and mediation verdicts (signed envelopes),
 * file blobs (inputs and outputs, on disk under the data dir, addressed by keccak256), events
 * (append-only; the cursor is the event's sequence number), per-address request counters for
 * rate limits, and the network's module blocklist. A blob is owned by every address that
 * uploaded it (identical uploads by two addresses are one blob with two owners).
 *
 * What is finished goes after a retention period (gc): deals in a final state and their offers
 * and history, withdrawn or expired offers, events, and blobs no open offer or stored deal
 * refers to.
 *
 * Every mutating call is ONE transaction that also appends the events it is given, so a state
 * change and its notification are never separated, and a process killed with SIGKILL restarts
 * with either both or neither. Compare-and-set arguments (expected states) make concurrent
 * transitions safe: the loser gets LP_STORE_CONFLICT and nothing is written.
 *
 * States are enum lp_deal_state values (api/lilypad/verifier.h) for deals and offers alike:
 * an open offer is NEGOTIATING, a matched one AGREED, a withdrawn one JOB_OFFER_CANCELLED, an
 * expired job offer TIMEOUT_MATCH. All functions are thread-safe. */
#ifndef LP_SOLVER_STORE_H
#define LP_SOLVER_STORE_H

#include "util/deal_state.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

enum lp_store_rc {
    LP_STORE_OK = 0,
    LP_STORE_ERROR = -1, /* I/O or database failure; message in err */
    LP_STORE_NOT_FOUND = -2,
    LP_STORE_EXISTS = -3,   /* the ID is already stored */
    LP_STORE_CONFLICT = -4, /* the record is not in the expected state */
    LP_STORE_FULL = -5,     /* the disk (or the database's size limit) is full */
};

#define LP_STORE_SCHEMA_VERSION 2
#define LP_STORE_EVENT_TYPE_MAX 32
#define LP_STORE_MAX_AUDIENCE   4
#define LP_STORE_NOTE_MAX       256

struct lp_store_error {
    char message[256];
};

/* An event to append; it is visible to the listed addresses only. */
struct lp_store_event_in {
    const char *type; /* "deal_added", "deal_state", "job_offer_state", ... */
    uint8_t object_id[LP_WIRE_ID_LEN];
    uint32_t state;
    uint8_t audience[LP_STORE_MAX_AUDIENCE][LP_WIRE_ADDR_LEN];
    size_t n_audience;
};

struct lp_store_event {
    uint64_t seq; /* cursor: strictly increasing */
    uint64_t at_ms;
    char type[LP_STORE_EVENT_TYPE_MAX];
    uint8_t object_id[LP_WIRE_ID_LEN];
    uint32_t state;
};

struct lp_store_offer {
    uint32_t kind; /* LP_WIRE_JOB_OFFER or LP_WIRE_RESOURCE_OFFER */
    uint8_t id[LP_WIRE_ID_LEN];
    uint8_t owner[LP_WIRE_ADDR_LEN]; /* job creator or provider */
    uint32_t state;
    bool has_deal;
    uint8_t deal_id[LP_WIRE_ID_LEN];
    bool has_input; /* job offers: the input blob the creator attached */
    uint8_t input_keccak[LP_WIRE_ID_LEN];
    uint64_t created_at_ms; /* the object's own created_at */
    uint64_t stored_at_ms;  /* when the solver accepted it */
    uint8_t *envelope;      /* signed envelope; malloc'd by get/scan, borrowed by insert */
    size_t envelope_len;
};

struct lp_store_deal {
    uint8_t id[LP_WIRE_ID_LEN];
    uint8_t job_offer_id[LP_WIRE_ID_LEN];
    uint8_t resource_offer_id[LP_WIRE_ID_LEN];
    uint8_t job_creator[LP_WIRE_ADDR_LEN];
    uint8_t provider[LP_WIRE_ADDR_LEN];
    bool has_mediator;
    uint8_t mediator[LP_WIRE_ADDR_LEN];
    uint8_t mediator_offer_id[LP_WIRE_ID_LEN];
    uint32_t state;
    uint64_t created_at_ms;     /* match time */
    uint64_t state_since_ms;    /* time of the last state change (timeouts count from it) */
    uint64_t job_created_at_ms; /* the job offer's acceptance time (total timeout) */
    uint64_t execution_ms, download_ms, judge_ms, mediation_ms; /* the deal's timeouts */
    bool has_input;
    uint8_t input_keccak[LP_WIRE_ID_LEN];
    bool has_output;
    uint8_t output_keccak[LP_WIRE_ID_LEN];
    bool has_result;
    uint8_t result_id[LP_WIRE_ID_LEN];
    /* Signed envelopes, malloc'd by get/scan (NULL when absent), borrowed by create/update. */
    uint8_t *envelope; /* the deal, signed by the solver */
    size_t envelope_len;
    uint8_t *result_envelope;
    size_t result_len;
    uint8_t *challenge_envelope;
    size_t challenge_len;
    uint8_t *verdict_envelope;
    size_t verdict_len;
};

/* A transition of one deal: applied only if the deal's state is in expect_mask
 * (bit 1u << state). NULL/false members leave the column as it is. */
struct lp_store_deal_update {
    uint8_t id[LP_WIRE_ID_LEN];
    uint32_t expect_mask;
    uint32_t new_state;
    const char *note; /* history line, <= LP_STORE_NOTE_MAX */
    bool set_output;
    uint8_t output_keccak[LP_WIRE_ID_LEN];
    const uint8_t *result_id; /* with result_envelope */
    const uint8_t *result_envelope;
    size_t result_len;
    const uint8_t *challenge_envelope;
    size_t challenge_len;
    bool set_mediator;
    uint8_t mediator[LP_WIRE_ADDR_LEN];
    uint8_t mediator_offer_id[LP_WIRE_ID_LEN]; /* booked (state AGREED) in the same txn */
    const uint8_t *verdict_envelope;
    size_t verdict_len;
};

struct lp_store_history {
    uint64_t at_ms;
    uint32_t state;
    char note[LP_STORE_NOTE_MAX + 1];
};

/* What one gc pass deleted. */
struct lp_store_gc_stats {
    uint64_t deals, offers, events, files, staged;
};

/* A provider's record as the solver scores it (counts only grow; see core/solver/README.md). */
struct lp_store_provider_stats {
    uint8_t address[LP_WIRE_ADDR_LEN];
    uint64_t matched, started, not_started, delivered, timed_out;
};

typedef int (*lp_store_offer_cb)(void *ctx, const struct lp_store_offer *offer);
typedef int (*lp_store_deal_cb)(void *ctx, const struct lp_store_deal *deal);
typedef int (*lp_store_event_cb)(void *ctx, const struct lp_store_event *ev);
typedef int (*lp_store_history_cb)(void *ctx, const struct lp_store_history *h);
typedef int (*lp_store_block_cb)(void *ctx, const char *module, const char *reason);
typedef int (*lp_store_provider_cb)(void *ctx, const struct lp_store_provider_stats *p);

struct lp_store;

/* The interface. Scans call cb for each row (a non-zero return stops the scan and is returned);
 * the records passed to callbacks are only valid during the call. `now_ms` is the time the
 * caller stamps on what it writes (tests pass their own clock). */
struct lp_store_ops {
    void (*close)(struct lp_store *s);

    int (*offer_insert)(struct lp_store *s, const struct lp_store_offer *o,
                        const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                        struct lp_store_error *err);
    int (*offer_get)(struct lp_store *s, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                     struct lp_store_offer *out, struct lp_store_error *err);
    /* Moves an offer from expect_state to new_state (cancel, match timeout). */
    int (*offer_set_state)(struct lp_store *s, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                           uint32_t expect_state, uint32_t new_state,
                           const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                           struct lp_store_error *err);
    /* Offers of one kind, oldest first; state < 0 = any state; owner NULL = any owner. */
    int (*offer_scan)(struct lp_store *s, uint32_t kind, int state, const uint8_t *owner,
                      lp_store_offer_cb cb, void *ctx, struct lp_store_error *err);
    int (*offer_count)(struct lp_store *s, uint32_t kind, int state, const uint8_t *owner,
                       uint64_t *count, struct lp_store_error *err);

    /* One transaction: the deal (state d->state), both offers NEGOTIATING -> AGREED with the
     * deal's ID (CONFLICT if either is no longer open), a history line, the events. */
    int (*deal_create)(struct lp_store *s, const struct lp_store_deal *d,
                       const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                       struct lp_store_error *err);
    int (*deal_get)(struct lp_store *s, const uint8_t id[LP_WIRE_ID_LEN], struct lp_store_deal *out,
                    struct lp_store_error *err);
    /* Applies u (CONFLICT if the state is not expected); the job offer's state follows the
     * deal's. */
    int (*deal_update)(struct lp_store *s, const struct lp_store_deal_update *u,
                       const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                       struct lp_store_error *err);
    /* Deals oldest first; party NULL = all, else deals where it is creator, provider or
     * mediator; active_only = non-terminal states. */
    int (*deal_scan)(struct lp_store *s, const uint8_t *party, bool active_only,
                     lp_store_deal_cb cb, void *ctx, struct lp_store_error *err);
    int (*deal_history)(struct lp_store *s, const uint8_t id[LP_WIRE_ID_LEN],
                        lp_store_history_cb cb, void *ctx, struct lp_store_error *err);

    /* Events with seq > cursor visible to addr, at most limit, oldest first. */
    int (*event_scan)(struct lp_store *s, const uint8_t addr[LP_WIRE_ADDR_LEN], uint64_t cursor,
                      size_t limit, lp_store_event_cb cb, void *ctx, struct lp_store_error *err);
    int (*event_last_seq)(struct lp_store *s, uint64_t *seq, struct lp_store_error *err);

    /* Fixed-window counter: adds one hit for (addr, bucket) in the window containing now_ms
     * and returns the window's count. */
    int (*rate_hit)(struct lp_store *s, const uint8_t addr[LP_WIRE_ADDR_LEN], const char *bucket,
                    uint64_t window_ms, uint64_t now_ms, uint64_t *count,
                    struct lp_store_error *err);

    /* Module blocklist: module is "repo" (every commit) or "repo@commit". */
    int (*block_set)(struct lp_store *s, const char *module, const char *reason, uint64_t now_ms,
                     struct lp_store_error *err);
    int (*block_remove)(struct lp_store *s, const char *module, struct lp_store_error *err);
    /* OK with the reason copied (reason_cap bytes), or NOT_FOUND. */
    int (*block_get)(struct lp_store *s, const char *module, char *reason, size_t reason_cap,
                     struct lp_store_error *err);
    int (*block_scan)(struct lp_store *s, lp_store_block_cb cb, void *ctx,
                      struct lp_store_error *err);

    /* Blobs: written to a temp file, fsync'd and renamed to their keccak, recorded with their
     * uploader as one of its owners. file_read returns a malloc'd copy. */
    int (*file_put)(struct lp_store *s, const void *data, size_t len,
                    const uint8_t owner[LP_WIRE_ADDR_LEN], uint64_t now_ms,
                    uint8_t keccak[LP_WIRE_ID_LEN], struct lp_store_error *err);
    /* The same for a blob already written to `staged` (a file in the files folder whose name
     * starts with LP_STORE_STAGING_PREFIX) whose keccak256 the caller computed while writing
     * it: fsync'd and renamed into place, or dropped when the blob is already stored. */
    int (*file_put_staged)(struct lp_store *s, const char *staged, uint64_t len,
                           const uint8_t keccak[LP_WIRE_ID_LEN],
                           const uint8_t owner[LP_WIRE_ADDR_LEN], uint64_t now_ms,
                           struct lp_store_error *err);
    int (*file_read)(struct lp_store *s, const uint8_t keccak[LP_WIRE_ID_LEN], uint8_t **data,
                     size_t *len, struct lp_store_error *err);
    /* OK when the blob exists; owner (may be NULL) receives its first uploader. */
    int (*file_stat)(struct lp_store *s, const uint8_t keccak[LP_WIRE_ID_LEN], uint64_t *size,
                     uint8_t *owner, struct lp_store_error *err);
    /* OK when `owner` uploaded the blob (one of its owners), NOT_FOUND otherwise. */
    int (*file_owned)(struct lp_store *s, const uint8_t keccak[LP_WIRE_ID_LEN],
                      const uint8_t owner[LP_WIRE_ADDR_LEN], struct lp_store_error *err);

    /* Deletes, in short transactions, what finished before `before_ms`: deals in a final
     * state (with their offers and history), offers withdrawn or expired without a deal,
     * events, blobs uploaded before it that no open job offer or stored deal names, and
     * staged uploads left behind. */
    int (*gc)(struct lp_store *s, uint64_t before_ms, struct lp_store_gc_stats *out,
              struct lp_store_error *err);

    /* OK when the last write succeeded; else ERROR (or FULL) with the failure that made it
     * fail in err. Cheap: reads a flag, never the database. */
    int (*health)(struct lp_store *s, struct lp_store_error *err);
    /* Reports the outcome of writing a file into the store's folder outside the store (a
     * staged upload): errnum 0 is a success. Disk full is logged with a hint at most once per
     * ten minutes (a nearly full disk lets small writes through between refused ones); any
     * failure makes health() fail until a write succeeds. */
    void (*note_io)(struct lp_store *s, const char *what, int errnum);

    /* A matched deal its provider did not start: one transaction moves the deal from AGREED to
     * new_state (CONFLICT if it is no longer AGREED: it started, or ended), puts its job offer
     * back to NEGOTIATING without a deal (so it can be matched again), and appends the history
     * line and the events. */
    int (*deal_unmatch)(struct lp_store *s, const uint8_t deal_id[LP_WIRE_ID_LEN],
                        uint32_t new_state, const char *note, const struct lp_store_event_in *ev,
                        size_t n_ev, uint64_t now_ms, struct lp_store_error *err);
    /* Providers' reliability records: add adds delta's counts to the address's (created at
     * zero); scan lists every record. */
    int (*provider_stats_add)(struct lp_store *s, const struct lp_store_provider_stats *delta,
                              struct lp_store_error *err);
    int (*provider_stats_scan)(struct lp_store *s, lp_store_provider_cb cb, void *ctx,
                               struct lp_store_error *err);
};

/* Staged uploads in the files folder start with this; gc removes the ones left behind. */
#define LP_STORE_STAGING_PREFIX ".upload-"

struct lp_store {
    const struct lp_store_ops *ops;
};

/* Opens the SQLite store: database at db_path (WAL), blobs under files_dir (created 0700).
 * A missing database is created only when `create` is set, and refused otherwise (so a wrong
 * path or a lost disk does not silently start an empty network). Refuses a database that
 * fails SQLite's quick_check, and one whose schema is newer than this binary's; migrates an
 * older one. */
int lp_store_sqlite_open(const char *db_path, const char *files_dir, bool create,
                         struct lp_store **out, struct lp_store_error *err);

void lp_store_offer_release(struct lp_store_offer *o);
void lp_store_deal_release(struct lp_store_deal *d);

#endif
