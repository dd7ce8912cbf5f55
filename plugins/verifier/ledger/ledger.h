/* verifier/ledger internals: the instance, its database handle and the helpers the operation
 * files share. Every ledger_* operation below runs with the instance mutex held (taken by the
 * wrappers in ledger_plugin.c), so the functions here never lock. */
#ifndef LP_LEDGER_LEDGER_H
#define LP_LEDGER_LEDGER_H

#include <pthread.h>
#include <sqlite3.h>

#include <lilypad/verifier.h>

/* The schema keys (see the schema table in ledger_plugin.c). */
struct lp_ledger_config {
    const char *path;        /* "" means the default location */
    const char *synchronous; /* "normal" or "full" */
};

struct lp_ledger {
    const struct lp_host *host;
    pthread_mutex_t lock; /* one connection, one operation at a time */
    sqlite3 *db;
    char path[4096];
    char last_error[512];
};

/* Records a failure for last_error() and returns rc. */
int lp_ledger_fail(struct lp_ledger *l, int rc, const char *fmt, ...) LP_PRINTF(3, 4);

/* The realtime clock through the host, in nanoseconds. */
uint64_t lp_ledger_now_ns(const struct lp_ledger *l);

/* ---- database (ledger_db.c) ---- */

/* The path the configuration names, or the default; -1 when no home directory is known. */
int lp_ledger_resolve_path(const struct lp_ledger_config *cfg, char *out, size_t out_len);
/* Opens the file, sets the pragmas and applies pending migrations. */
int lp_ledger_db_open(struct lp_ledger *l, const char *synchronous);
void lp_ledger_db_close(struct lp_ledger *l);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK, failures recorded in last_error. */
int lp_ledger_begin(struct lp_ledger *l);
int lp_ledger_commit(struct lp_ledger *l);
void lp_ledger_rollback(struct lp_ledger *l);
/* Prepares a statement, recording a failure. */
int lp_ledger_prepare(struct lp_ledger *l, const char *sql, sqlite3_stmt **out);
/* Records an SQLite failure ("what: message") and returns LP_ERR. */
int lp_ledger_sql_fail(struct lp_ledger *l, const char *what);
/* The schema version this build writes. */
int lp_ledger_schema_version(void);

/* ---- deal state machine (ledger_deals.c) ---- */
int lp_ledger_record_agreement(struct lp_ledger *l, const struct lp_agreement *a);
int lp_ledger_record_result(struct lp_ledger *l, const struct lp_result_record *r);
int lp_ledger_accept_result(struct lp_ledger *l, const uint8_t deal_id[32]);
int lp_ledger_challenge_result(struct lp_ledger *l, const uint8_t deal_id[32],
                               const uint8_t mediator[20]);
int lp_ledger_mediation_verdict(struct lp_ledger *l, const uint8_t deal_id[32], bool accepted);
int lp_ledger_cancel_deal(struct lp_ledger *l, const uint8_t deal_id[32], uint32_t terminal_state);
int lp_ledger_read_deal(struct lp_ledger *l, const uint8_t deal_id[32], struct lp_deal_record *out);

/* ---- proof of work (ledger_pow.c) ---- */
int lp_ledger_pow_new_round(struct lp_ledger *l, const struct lp_pow_round *round);
int lp_ledger_pow_submit(struct lp_ledger *l, const struct lp_pow_submission *s);

#endif
