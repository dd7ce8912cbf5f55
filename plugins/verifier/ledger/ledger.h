/* verifier/ledger internals: the instance, its database handle and the helpers the operation
 * files share. Every ledger_* operation below runs with the instance mutex held (taken by the
 * wrappers in ledger_plugin.c), so the functions here never lock. An `actor` is the acting
 * party's 20-byte address from the core's call context; NULL is the node acting for itself,
 * which no rule restricts. */
#ifndef LP_LEDGER_LEDGER_H
#define LP_LEDGER_LEDGER_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include <lilypad/verifier.h>

/* The schema keys (see the schema table in ledger_plugin.c). */
struct lp_ledger_config {
    const char *path;        /* "" means <data_dir>/ledger.sqlite */
    const char *synchronous; /* "normal" or "full" */
};

struct lp_ledger {
    const struct lp_host *host;
    pthread_mutex_t lock; /* one connection, one operation at a time */
    sqlite3 *db;
    char path[4096];
    /* The call being served, for the busy handler; set and read under `lock`. */
    const struct lp_call *call;
    uint64_t busy_since_ns; /* CLOCK_MONOTONIC when the current lock wait began */
    bool busy_cancelled;    /* the wait for another connection's lock was cut short */
};

/* Records a failure for last_error() (the calling thread's) and returns rc. */
int lp_ledger_fail(struct lp_ledger *l, int rc, const char *fmt, ...) LP_PRINTF(3, 4);

/* Whether the core wants `call` (NULL: the process) to stop. */
bool lp_ledger_cancelled(const struct lp_ledger *l, const struct lp_call *call);

/* The realtime clock through the host, in nanoseconds. */
uint64_t lp_ledger_now_ns(const struct lp_ledger *l);

/* ---- database (ledger_db.c) ---- */

/* Opens l->path, sets the pragmas and applies pending migrations. */
int lp_ledger_db_open(struct lp_ledger *l, const char *synchronous);
void lp_ledger_db_close(struct lp_ledger *l);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK, failures recorded in last_error. */
int lp_ledger_begin(struct lp_ledger *l);
int lp_ledger_commit(struct lp_ledger *l);
void lp_ledger_rollback(struct lp_ledger *l);
/* Prepares a statement, recording a failure. */
int lp_ledger_prepare(struct lp_ledger *l, const char *sql, sqlite3_stmt **out);
/* Records an SQLite failure ("path: what: message", or that the wait for another connection's
 * lock was cancelled) and returns LP_ERR. */
int lp_ledger_sql_fail(struct lp_ledger *l, const char *what);
/* The schema version this build writes. */
int lp_ledger_schema_version(void);

/* ---- deal state machine (ledger_deals.c) ---- */
/* record_agreement: the job creator or the resource provider of the agreement. */
int lp_ledger_record_agreement(struct lp_ledger *l, const uint8_t *actor,
                               const struct lp_agreement *a);
/* record_result: the deal's resource provider. */
int lp_ledger_record_result(struct lp_ledger *l, const uint8_t *actor,
                            const struct lp_result_record *r);
/* accept_result, challenge_result: the deal's job creator. */
int lp_ledger_accept_result(struct lp_ledger *l, const uint8_t *actor, const uint8_t deal_id[32]);
int lp_ledger_challenge_result(struct lp_ledger *l, const uint8_t *actor, const uint8_t deal_id[32],
                               const uint8_t mediator[20]);
/* mediation_verdict: the mediator challenge_result named. */
int lp_ledger_mediation_verdict(struct lp_ledger *l, const uint8_t *actor,
                                const uint8_t deal_id[32], bool accepted);
/* cancel_deal: either party. */
int lp_ledger_cancel_deal(struct lp_ledger *l, const uint8_t *actor, const uint8_t deal_id[32],
                          uint32_t terminal_state);
/* read_deal: anyone. */
int lp_ledger_read_deal(struct lp_ledger *l, const uint8_t deal_id[32], struct lp_deal_record *out);

/* ---- proof of work (ledger_pow.c) ---- */
/* pow_new_round: anyone (the solver, as itself). */
int lp_ledger_pow_new_round(struct lp_ledger *l, const struct lp_pow_round *round);
/* pow_submit: the provider the submission names. */
int lp_ledger_pow_submit(struct lp_ledger *l, const uint8_t *actor,
                         const struct lp_pow_submission *s);

#endif
