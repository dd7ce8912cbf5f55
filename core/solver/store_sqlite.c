/* SQLite implementation of the solver store (store.h).
 *
 * One connection in WAL mode behind a mutex: the solver's writes are small and SQLite
 * serialises writers anyway, so a pool would add nothing but lock traffic. synchronous=NORMAL
 * is enough for the guarantee we give (a committed transaction survives the process being
 * killed, SIGKILL included: WAL frames are in the OS page cache once COMMIT returns); only a
 * power cut may lose the last commits. The schema version lives in PRAGMA user_version. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lilypad/verifier.h>
#include <sqlite3.h>

#include "crypto/keccak.h"
#include <lilypad/verifier.h>
#include "solver/store.h"
#include "util/hex.h"

struct sqlite_store {
    struct lp_store base; /* first: a struct lp_store * is a struct sqlite_store * */
    sqlite3 *db;
    pthread_mutex_t lock;
    char *files_dir;
};

static struct sqlite_store *S(struct lp_store *s)
{
    return (struct sqlite_store *)s;
}

static int fail(struct lp_store_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct lp_store_error *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int db_fail(struct sqlite_store *st, struct lp_store_error *err, const char *what)
{
    return fail(err, LP_STORE_ERROR, "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static const char *const schema_v1[] = {
    "CREATE TABLE offers(id BLOB NOT NULL UNIQUE, kind INTEGER NOT NULL, owner BLOB NOT NULL,"
    " state INTEGER NOT NULL, deal_id BLOB, input_keccak BLOB, created_at INTEGER NOT NULL,"
    " stored_at INTEGER NOT NULL, envelope BLOB NOT NULL)",
    "CREATE INDEX offers_kind_state ON offers(kind, state)",
    "CREATE INDEX offers_owner ON offers(owner, kind)",
    "CREATE TABLE deals(id BLOB NOT NULL UNIQUE, job_offer_id BLOB NOT NULL,"
    " resource_offer_id BLOB NOT NULL, job_creator BLOB NOT NULL, provider BLOB NOT NULL,"
    " mediator BLOB, mediator_offer_id BLOB, state INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, state_since INTEGER NOT NULL,"
    " job_created_at INTEGER NOT NULL, execution_ms INTEGER NOT NULL,"
    " download_ms INTEGER NOT NULL, judge_ms INTEGER NOT NULL, mediation_ms INTEGER NOT NULL,"
    " input_keccak BLOB, output_keccak BLOB, result_id BLOB, envelope BLOB NOT NULL,"
    " result_envelope BLOB, challenge_envelope BLOB, verdict_envelope BLOB)",
    "CREATE INDEX deals_state ON deals(state)",
    "CREATE INDEX deals_creator ON deals(job_creator)",
    "CREATE INDEX deals_provider ON deals(provider)",
    "CREATE INDEX deals_mediator ON deals(mediator)",
    "CREATE TABLE deal_history(deal_id BLOB NOT NULL, at INTEGER NOT NULL,"
    " state INTEGER NOT NULL, note TEXT NOT NULL)",
    "CREATE INDEX deal_history_deal ON deal_history(deal_id)",
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    " type TEXT NOT NULL, object_id BLOB NOT NULL, state INTEGER NOT NULL)",
    "CREATE TABLE event_audience(address BLOB NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY(address, seq)) WITHOUT ROWID",
    "CREATE TABLE rate_counters(address BLOB NOT NULL, bucket TEXT NOT NULL,"
    " window_start INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(address, bucket))"
    " WITHOUT ROWID",
    "CREATE TABLE blocklist(module TEXT PRIMARY KEY, reason TEXT NOT NULL,"
    " added_at INTEGER NOT NULL)",
    "CREATE TABLE files(keccak BLOB PRIMARY KEY, size INTEGER NOT NULL, owner BLOB NOT NULL,"
    " created_at INTEGER NOT NULL)",
    "PRAGMA user_version = 1",
};

/* ---- small helpers ------------------------------------------------------------------- */

static int exec(struct sqlite_store *st, const char *sql, struct lp_store_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail(err, LP_STORE_ERROR, "store: %s: %s", sql, msg ? msg : "error");
        sqlite3_free(msg);
        return LP_STORE_ERROR;
    }
    return LP_STORE_OK;
}

static sqlite3_stmt *prep(struct sqlite_store *st, const char *sql, struct lp_store_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        db_fail(st, err, "prepare");
        return NULL;
    }
    return stmt;
}

static void bind_blob(sqlite3_stmt *stmt, int i, const void *p, size_t n)
{
    if (p)
        sqlite3_bind_blob(stmt, i, p, (int)n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, i);
}

static void bind_opt(sqlite3_stmt *stmt, int i, bool has, const void *p, size_t n)
{
    bind_blob(stmt, i, has ? p : NULL, n);
}

/* Copies a fixed-size blob column; returns whether it was present with the right size. */
static bool col_fixed(sqlite3_stmt *stmt, int i, void *out, size_t n)
{
    if (sqlite3_column_type(stmt, i) != SQLITE_BLOB || (size_t)sqlite3_column_bytes(stmt, i) != n)
        return false;
    memcpy(out, sqlite3_column_blob(stmt, i), n);
    return true;
}

static uint8_t *col_dup(sqlite3_stmt *stmt, int i, size_t *len)
{
    *len = 0;
    if (sqlite3_column_type(stmt, i) != SQLITE_BLOB)
        return NULL;
    int n = sqlite3_column_bytes(stmt, i);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (!p)
        return NULL;
    memcpy(p, sqlite3_column_blob(stmt, i), (size_t)n);
    *len = (size_t)n;
    return p;
}

static int step_done(struct sqlite_store *st, sqlite3_stmt *stmt, struct lp_store_error *err)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        int r = rc == SQLITE_CONSTRAINT ? fail(err, LP_STORE_EXISTS, "store: already stored")
                                        : db_fail(st, err, "write");
        sqlite3_finalize(stmt);
        return r;
    }
    sqlite3_finalize(stmt);
    return LP_STORE_OK;
}

static int begin(struct sqlite_store *st, struct lp_store_error *err)
{
    pthread_mutex_lock(&st->lock);
    if (exec(st, "BEGIN IMMEDIATE", err) != LP_STORE_OK) {
        pthread_mutex_unlock(&st->lock);
        return LP_STORE_ERROR;
    }
    return LP_STORE_OK;
}

/* Commits when rc is OK, rolls back otherwise; returns rc (or ERROR if COMMIT failed). */
static int finish(struct sqlite_store *st, int rc, struct lp_store_error *err)
{
    if (rc == LP_STORE_OK)
        rc = exec(st, "COMMIT", err);
    if (rc != LP_STORE_OK)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int append_events(struct sqlite_store *st, const struct lp_store_event_in *ev, size_t n,
                         uint64_t now_ms, struct lp_store_error *err)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *stmt =
            prep(st, "INSERT INTO events(at, type, object_id, state) VALUES(?,?,?,?)", err);
        if (!stmt)
            return LP_STORE_ERROR;
        sqlite3_bind_int64(stmt, 1, (sqlite3_int64)now_ms);
        sqlite3_bind_text(stmt, 2, ev[i].type, -1, SQLITE_TRANSIENT);
        bind_blob(stmt, 3, ev[i].object_id, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 4, ev[i].state);
        if (step_done(st, stmt, err) != LP_STORE_OK)
            return LP_STORE_ERROR;
        sqlite3_int64 seq = sqlite3_last_insert_rowid(st->db);
        for (size_t a = 0; a < ev[i].n_audience && a < LP_STORE_MAX_AUDIENCE; a++) {
            stmt = prep(st, "INSERT OR IGNORE INTO event_audience(address, seq) VALUES(?,?)", err);
            if (!stmt)
                return LP_STORE_ERROR;
            bind_blob(stmt, 1, ev[i].audience[a], LP_WIRE_ADDR_LEN);
            sqlite3_bind_int64(stmt, 2, seq);
            if (step_done(st, stmt, err) != LP_STORE_OK)
                return LP_STORE_ERROR;
        }
    }
    return LP_STORE_OK;
}

static int history(struct sqlite_store *st, const uint8_t id[LP_WIRE_ID_LEN], uint32_t state,
                   const char *note, uint64_t now_ms, struct lp_store_error *err)
{
    sqlite3_stmt *stmt =
        prep(st, "INSERT INTO deal_history(deal_id, at, state, note) VALUES(?,?,?,?)", err);
    if (!stmt)
        return LP_STORE_ERROR;
    bind_blob(stmt, 1, id, LP_WIRE_ID_LEN);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now_ms);
    sqlite3_bind_int64(stmt, 3, state);
    sqlite3_bind_text(stmt, 4, note ? note : "", -1, SQLITE_TRANSIENT);
    return step_done(st, stmt, err);
}

/* ---- offers --------------------------------------------------------------------------- */

#define OFFER_COLS "id, kind, owner, state, deal_id, input_keccak, created_at, stored_at, envelope"

static void read_offer(sqlite3_stmt *stmt, struct lp_store_offer *o)
{
    memset(o, 0, sizeof *o);
    col_fixed(stmt, 0, o->id, LP_WIRE_ID_LEN);
    o->kind = (uint32_t)sqlite3_column_int64(stmt, 1);
    col_fixed(stmt, 2, o->owner, LP_WIRE_ADDR_LEN);
    o->state = (uint32_t)sqlite3_column_int64(stmt, 3);
    o->has_deal = col_fixed(stmt, 4, o->deal_id, LP_WIRE_ID_LEN);
    o->has_input = col_fixed(stmt, 5, o->input_keccak, LP_WIRE_ID_LEN);
    o->created_at_ms = (uint64_t)sqlite3_column_int64(stmt, 6);
    o->stored_at_ms = (uint64_t)sqlite3_column_int64(stmt, 7);
    o->envelope = col_dup(stmt, 8, &o->envelope_len);
}

static int sq_offer_insert(struct lp_store *s, const struct lp_store_offer *o,
                           const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                           struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt =
        prep(st, "INSERT INTO offers(" OFFER_COLS ") VALUES(?,?,?,?,?,?,?,?,?)", err);
    if (stmt) {
        bind_blob(stmt, 1, o->id, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 2, o->kind);
        bind_blob(stmt, 3, o->owner, LP_WIRE_ADDR_LEN);
        sqlite3_bind_int64(stmt, 4, o->state);
        bind_opt(stmt, 5, o->has_deal, o->deal_id, LP_WIRE_ID_LEN);
        bind_opt(stmt, 6, o->has_input, o->input_keccak, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 7, (sqlite3_int64)o->created_at_ms);
        sqlite3_bind_int64(stmt, 8, (sqlite3_int64)now_ms);
        bind_blob(stmt, 9, o->envelope, o->envelope_len);
        rc = step_done(st, stmt, err);
    }
    if (rc == LP_STORE_OK)
        rc = append_events(st, ev, n_ev, now_ms, err);
    return finish(st, rc, err);
}

static int sq_offer_get(struct lp_store *s, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                        struct lp_store_offer *out, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt =
        prep(st, "SELECT " OFFER_COLS " FROM offers WHERE id = ? AND kind = ?", err);
    if (stmt) {
        bind_blob(stmt, 1, id, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 2, kind);
        int r = sqlite3_step(stmt);
        if (r == SQLITE_ROW) {
            read_offer(stmt, out);
            rc = LP_STORE_OK;
        } else if (r == SQLITE_DONE) {
            rc = fail(err, LP_STORE_NOT_FOUND, "store: no such %s", lp_wire_kind_name(kind));
        } else {
            rc = db_fail(st, err, "read offer");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_offer_set_state(struct lp_store *s, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                              uint32_t expect_state, uint32_t new_state,
                              const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                              struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt =
        prep(st, "UPDATE offers SET state = ? WHERE id = ? AND kind = ? AND state = ?", err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, new_state);
        bind_blob(stmt, 2, id, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 3, kind);
        sqlite3_bind_int64(stmt, 4, expect_state);
        rc = step_done(st, stmt, err);
        if (rc == LP_STORE_OK && sqlite3_changes(st->db) != 1)
            rc = fail(err, LP_STORE_CONFLICT, "store: %s is not in state %s",
                      lp_wire_kind_name(kind), lp_deal_state_name(expect_state));
    }
    if (rc == LP_STORE_OK)
        rc = append_events(st, ev, n_ev, now_ms, err);
    return finish(st, rc, err);
}

static int sq_offer_scan(struct lp_store *s, uint32_t kind, int state, const uint8_t *owner,
                         lp_store_offer_cb cb, void *ctx, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st,
                              "SELECT " OFFER_COLS " FROM offers WHERE kind = ?1"
                              " AND (?2 < 0 OR state = ?2) AND (?3 IS NULL OR owner = ?3)"
                              " ORDER BY rowid",
                              err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, kind);
        sqlite3_bind_int64(stmt, 2, state);
        bind_blob(stmt, 3, owner, LP_WIRE_ADDR_LEN);
        rc = LP_STORE_OK;
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            struct lp_store_offer o;
            read_offer(stmt, &o);
            int c = cb(ctx, &o);
            lp_store_offer_release(&o);
            if (c != 0) {
                rc = c;
                break;
            }
        }
        if (rc == LP_STORE_OK && r != SQLITE_DONE)
            rc = db_fail(st, err, "scan offers");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_offer_count(struct lp_store *s, uint32_t kind, int state, const uint8_t *owner,
                          uint64_t *count, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st,
                              "SELECT count(*) FROM offers WHERE kind = ?1"
                              " AND (?2 < 0 OR state = ?2) AND (?3 IS NULL OR owner = ?3)",
                              err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, kind);
        sqlite3_bind_int64(stmt, 2, state);
        bind_blob(stmt, 3, owner, LP_WIRE_ADDR_LEN);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            *count = (uint64_t)sqlite3_column_int64(stmt, 0);
            rc = LP_STORE_OK;
        } else {
            rc = db_fail(st, err, "count offers");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- deals ---------------------------------------------------------------------------- */

#define DEAL_COLS                                                                                  \
    "id, job_offer_id, resource_offer_id, job_creator, provider, mediator, mediator_offer_id,"     \
    " state, created_at, state_since, job_created_at, execution_ms, download_ms, judge_ms,"        \
    " mediation_ms, input_keccak, output_keccak, result_id, envelope, result_envelope,"            \
    " challenge_envelope, verdict_envelope"

static void read_deal(sqlite3_stmt *stmt, struct lp_store_deal *d)
{
    memset(d, 0, sizeof *d);
    col_fixed(stmt, 0, d->id, LP_WIRE_ID_LEN);
    col_fixed(stmt, 1, d->job_offer_id, LP_WIRE_ID_LEN);
    col_fixed(stmt, 2, d->resource_offer_id, LP_WIRE_ID_LEN);
    col_fixed(stmt, 3, d->job_creator, LP_WIRE_ADDR_LEN);
    col_fixed(stmt, 4, d->provider, LP_WIRE_ADDR_LEN);
    d->has_mediator = col_fixed(stmt, 5, d->mediator, LP_WIRE_ADDR_LEN);
    col_fixed(stmt, 6, d->mediator_offer_id, LP_WIRE_ID_LEN);
    d->state = (uint32_t)sqlite3_column_int64(stmt, 7);
    d->created_at_ms = (uint64_t)sqlite3_column_int64(stmt, 8);
    d->state_since_ms = (uint64_t)sqlite3_column_int64(stmt, 9);
    d->job_created_at_ms = (uint64_t)sqlite3_column_int64(stmt, 10);
    d->execution_ms = (uint64_t)sqlite3_column_int64(stmt, 11);
    d->download_ms = (uint64_t)sqlite3_column_int64(stmt, 12);
    d->judge_ms = (uint64_t)sqlite3_column_int64(stmt, 13);
    d->mediation_ms = (uint64_t)sqlite3_column_int64(stmt, 14);
    d->has_input = col_fixed(stmt, 15, d->input_keccak, LP_WIRE_ID_LEN);
    d->has_output = col_fixed(stmt, 16, d->output_keccak, LP_WIRE_ID_LEN);
    d->has_result = col_fixed(stmt, 17, d->result_id, LP_WIRE_ID_LEN);
    d->envelope = col_dup(stmt, 18, &d->envelope_len);
    d->result_envelope = col_dup(stmt, 19, &d->result_len);
    d->challenge_envelope = col_dup(stmt, 20, &d->challenge_len);
    d->verdict_envelope = col_dup(stmt, 21, &d->verdict_len);
}

static int book_offer(struct sqlite_store *st, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                      const uint8_t deal_id[LP_WIRE_ID_LEN], struct lp_store_error *err)
{
    sqlite3_stmt *stmt = prep(st,
                              "UPDATE offers SET state = ?, deal_id = ?"
                              " WHERE id = ? AND kind = ? AND state = ?",
                              err);
    if (!stmt)
        return LP_STORE_ERROR;
    sqlite3_bind_int64(stmt, 1, LP_DEAL_AGREED);
    bind_blob(stmt, 2, deal_id, LP_WIRE_ID_LEN);
    bind_blob(stmt, 3, id, LP_WIRE_ID_LEN);
    sqlite3_bind_int64(stmt, 4, kind);
    sqlite3_bind_int64(stmt, 5, LP_DEAL_NEGOTIATING);
    int rc = step_done(st, stmt, err);
    if (rc == LP_STORE_OK && sqlite3_changes(st->db) != 1)
        rc = fail(err, LP_STORE_CONFLICT, "store: %s is no longer open", lp_wire_kind_name(kind));
    return rc;
}

static int sq_deal_create(struct lp_store *s, const struct lp_store_deal *d,
                          const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                          struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = book_offer(st, LP_WIRE_JOB_OFFER, d->job_offer_id, d->id, err);
    if (rc == LP_STORE_OK)
        rc = book_offer(st, LP_WIRE_RESOURCE_OFFER, d->resource_offer_id, d->id, err);
    if (rc == LP_STORE_OK) {
        rc = LP_STORE_ERROR;
        sqlite3_stmt *stmt = prep(st,
                                  "INSERT INTO deals(" DEAL_COLS
                                  ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                  err);
        if (stmt) {
            bind_blob(stmt, 1, d->id, LP_WIRE_ID_LEN);
            bind_blob(stmt, 2, d->job_offer_id, LP_WIRE_ID_LEN);
            bind_blob(stmt, 3, d->resource_offer_id, LP_WIRE_ID_LEN);
            bind_blob(stmt, 4, d->job_creator, LP_WIRE_ADDR_LEN);
            bind_blob(stmt, 5, d->provider, LP_WIRE_ADDR_LEN);
            bind_opt(stmt, 6, d->has_mediator, d->mediator, LP_WIRE_ADDR_LEN);
            bind_opt(stmt, 7, d->has_mediator, d->mediator_offer_id, LP_WIRE_ID_LEN);
            sqlite3_bind_int64(stmt, 8, d->state);
            sqlite3_bind_int64(stmt, 9, (sqlite3_int64)d->created_at_ms);
            sqlite3_bind_int64(stmt, 10, (sqlite3_int64)now_ms);
            sqlite3_bind_int64(stmt, 11, (sqlite3_int64)d->job_created_at_ms);
            sqlite3_bind_int64(stmt, 12, (sqlite3_int64)d->execution_ms);
            sqlite3_bind_int64(stmt, 13, (sqlite3_int64)d->download_ms);
            sqlite3_bind_int64(stmt, 14, (sqlite3_int64)d->judge_ms);
            sqlite3_bind_int64(stmt, 15, (sqlite3_int64)d->mediation_ms);
            bind_opt(stmt, 16, d->has_input, d->input_keccak, LP_WIRE_ID_LEN);
            bind_opt(stmt, 17, d->has_output, d->output_keccak, LP_WIRE_ID_LEN);
            bind_opt(stmt, 18, d->has_result, d->result_id, LP_WIRE_ID_LEN);
            bind_blob(stmt, 19, d->envelope, d->envelope_len);
            bind_blob(stmt, 20, d->result_envelope, d->result_len);
            bind_blob(stmt, 21, d->challenge_envelope, d->challenge_len);
            bind_blob(stmt, 22, d->verdict_envelope, d->verdict_len);
            rc = step_done(st, stmt, err);
        }
    }
    if (rc == LP_STORE_OK)
        rc = history(st, d->id, d->state, "matched", now_ms, err);
    if (rc == LP_STORE_OK)
        rc = append_events(st, ev, n_ev, now_ms, err);
    return finish(st, rc, err);
}

static int sq_deal_get(struct lp_store *s, const uint8_t id[LP_WIRE_ID_LEN],
                       struct lp_store_deal *out, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "SELECT " DEAL_COLS " FROM deals WHERE id = ?", err);
    if (stmt) {
        bind_blob(stmt, 1, id, LP_WIRE_ID_LEN);
        int r = sqlite3_step(stmt);
        if (r == SQLITE_ROW) {
            read_deal(stmt, out);
            rc = LP_STORE_OK;
        } else if (r == SQLITE_DONE) {
            rc = fail(err, LP_STORE_NOT_FOUND, "store: no such deal");
        } else {
            rc = db_fail(st, err, "read deal");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_deal_update(struct lp_store *s, const struct lp_store_deal_update *u,
                          const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                          struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    uint32_t cur = 0;
    sqlite3_stmt *stmt = prep(st, "SELECT state, job_offer_id FROM deals WHERE id = ?", err);
    uint8_t job_id[LP_WIRE_ID_LEN] = {0};
    if (stmt) {
        bind_blob(stmt, 1, u->id, LP_WIRE_ID_LEN);
        int r = sqlite3_step(stmt);
        if (r == SQLITE_ROW) {
            cur = (uint32_t)sqlite3_column_int64(stmt, 0);
            col_fixed(stmt, 1, job_id, LP_WIRE_ID_LEN);
            rc = LP_STORE_OK;
        } else if (r == SQLITE_DONE) {
            rc = fail(err, LP_STORE_NOT_FOUND, "store: no such deal");
        } else {
            rc = db_fail(st, err, "read deal");
        }
        sqlite3_finalize(stmt);
    }
    if (rc == LP_STORE_OK && (cur >= 32 || !(u->expect_mask & (1u << cur))))
        rc =
            fail(err, LP_STORE_CONFLICT, "store: the deal is in state %s", lp_deal_state_name(cur));
    if (rc == LP_STORE_OK) {
        rc = LP_STORE_ERROR;
        stmt = prep(st,
                    "UPDATE deals SET state = ?1, state_since = ?2,"
                    " output_keccak = CASE WHEN ?3 IS NULL THEN output_keccak ELSE ?3 END,"
                    " result_id = CASE WHEN ?4 IS NULL THEN result_id ELSE ?4 END,"
                    " result_envelope = CASE WHEN ?5 IS NULL THEN result_envelope ELSE ?5 END,"
                    " challenge_envelope = CASE WHEN ?6 IS NULL THEN challenge_envelope"
                    "   ELSE ?6 END,"
                    " mediator = CASE WHEN ?7 IS NULL THEN mediator ELSE ?7 END,"
                    " mediator_offer_id = CASE WHEN ?8 IS NULL THEN mediator_offer_id"
                    "   ELSE ?8 END,"
                    " verdict_envelope = CASE WHEN ?9 IS NULL THEN verdict_envelope ELSE ?9 END"
                    " WHERE id = ?10",
                    err);
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, u->new_state);
            sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now_ms);
            bind_opt(stmt, 3, u->set_output, u->output_keccak, LP_WIRE_ID_LEN);
            bind_opt(stmt, 4, u->result_id != NULL, u->result_id, LP_WIRE_ID_LEN);
            bind_blob(stmt, 5, u->result_envelope, u->result_len);
            bind_blob(stmt, 6, u->challenge_envelope, u->challenge_len);
            bind_opt(stmt, 7, u->set_mediator, u->mediator, LP_WIRE_ADDR_LEN);
            bind_opt(stmt, 8, u->set_mediator, u->mediator_offer_id, LP_WIRE_ID_LEN);
            bind_blob(stmt, 9, u->verdict_envelope, u->verdict_len);
            bind_blob(stmt, 10, u->id, LP_WIRE_ID_LEN);
            rc = step_done(st, stmt, err);
        }
    }
    if (rc == LP_STORE_OK && u->set_mediator)
        rc = book_offer(st, LP_WIRE_RESOURCE_OFFER, u->mediator_offer_id, u->id, err);
    if (rc == LP_STORE_OK) {
        /* The job offer mirrors its deal, as Lilypad's JobOfferContainer does. */
        stmt = prep(st, "UPDATE offers SET state = ? WHERE id = ? AND kind = ?", err);
        rc = LP_STORE_ERROR;
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, u->new_state);
            bind_blob(stmt, 2, job_id, LP_WIRE_ID_LEN);
            sqlite3_bind_int64(stmt, 3, LP_WIRE_JOB_OFFER);
            rc = step_done(st, stmt, err);
        }
    }
    if (rc == LP_STORE_OK)
        rc = history(st, u->id, u->new_state, u->note, now_ms, err);
    if (rc == LP_STORE_OK)
        rc = append_events(st, ev, n_ev, now_ms, err);
    return finish(st, rc, err);
}

/* The deal scan's query. Active deals are "state IN (...)" with the list written from
 * lp_deal_state_active, so it cannot drift from the one table of states, and stays a list of
 * literals the deals_state index can serve. */
static void deal_scan_sql(bool active_only, char *sql, size_t cap)
{
    size_t n =
        (size_t)snprintf(sql, cap,
                         "SELECT " DEAL_COLS " FROM deals WHERE (?1 IS NULL OR job_creator = ?1"
                         " OR provider = ?1 OR mediator = ?1)");
    if (active_only) {
        const char *sep = " AND state IN (";
        for (uint32_t state = 0; state < lp_deal_state_count(); state++) {
            if (!lp_deal_state_active(state))
                continue;
            n += (size_t)snprintf(sql + n, cap - n, "%s%u", sep, (unsigned)state);
            sep = ", ";
        }
        n += (size_t)snprintf(sql + n, cap - n, ")");
    }
    snprintf(sql + n, cap - n, " ORDER BY rowid");
}

static int sq_deal_scan(struct lp_store *s, const uint8_t *party, bool active_only,
                        lp_store_deal_cb cb, void *ctx, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    char sql[1024];
    deal_scan_sql(active_only, sql, sizeof sql);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, sql, err);
    if (stmt) {
        bind_blob(stmt, 1, party, LP_WIRE_ADDR_LEN);
        rc = LP_STORE_OK;
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            struct lp_store_deal d;
            read_deal(stmt, &d);
            int c = cb(ctx, &d);
            lp_store_deal_release(&d);
            if (c != 0) {
                rc = c;
                break;
            }
        }
        if (rc == LP_STORE_OK && r != SQLITE_DONE)
            rc = db_fail(st, err, "scan deals");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_deal_history(struct lp_store *s, const uint8_t id[LP_WIRE_ID_LEN],
                           lp_store_history_cb cb, void *ctx, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt =
        prep(st, "SELECT at, state, note FROM deal_history WHERE deal_id = ? ORDER BY rowid", err);
    if (stmt) {
        bind_blob(stmt, 1, id, LP_WIRE_ID_LEN);
        rc = LP_STORE_OK;
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            struct lp_store_history h = {0};
            h.at_ms = (uint64_t)sqlite3_column_int64(stmt, 0);
            h.state = (uint32_t)sqlite3_column_int64(stmt, 1);
            const unsigned char *t = sqlite3_column_text(stmt, 2);
            snprintf(h.note, sizeof h.note, "%s", t ? (const char *)t : "");
            int c = cb(ctx, &h);
            if (c != 0) {
                rc = c;
                break;
            }
        }
        if (rc == LP_STORE_OK && r != SQLITE_DONE)
            rc = db_fail(st, err, "scan history");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- events ---------------------------------------------------------------------------- */

static int sq_event_scan(struct lp_store *s, const uint8_t addr[LP_WIRE_ADDR_LEN], uint64_t cursor,
                         size_t limit, lp_store_event_cb cb, void *ctx, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st,
                              "SELECT e.seq, e.at, e.type, e.object_id, e.state"
                              " FROM event_audience a JOIN events e ON e.seq = a.seq"
                              " WHERE a.address = ? AND a.seq > ? ORDER BY a.seq LIMIT ?",
                              err);
    if (stmt) {
        bind_blob(stmt, 1, addr, LP_WIRE_ADDR_LEN);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)(cursor > INT64_MAX ? INT64_MAX : cursor));
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)limit);
        rc = LP_STORE_OK;
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            struct lp_store_event e = {0};
            e.seq = (uint64_t)sqlite3_column_int64(stmt, 0);
            e.at_ms = (uint64_t)sqlite3_column_int64(stmt, 1);
            const unsigned char *t = sqlite3_column_text(stmt, 2);
            snprintf(e.type, sizeof e.type, "%s", t ? (const char *)t : "");
            col_fixed(stmt, 3, e.object_id, LP_WIRE_ID_LEN);
            e.state = (uint32_t)sqlite3_column_int64(stmt, 4);
            int c = cb(ctx, &e);
            if (c != 0) {
                rc = c;
                break;
            }
        }
        if (rc == LP_STORE_OK && r != SQLITE_DONE)
            rc = db_fail(st, err, "scan events");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_event_last_seq(struct lp_store *s, uint64_t *seq, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "SELECT coalesce(max(seq), 0) FROM events", err);
    if (stmt) {
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            *seq = (uint64_t)sqlite3_column_int64(stmt, 0);
            rc = LP_STORE_OK;
        } else {
            rc = db_fail(st, err, "last event");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- rate counters ---------------------------------------------------------------------- */

static int sq_rate_hit(struct lp_store *s, const uint8_t addr[LP_WIRE_ADDR_LEN], const char *bucket,
                       uint64_t window_ms, uint64_t now_ms, uint64_t *count,
                       struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    uint64_t start = window_ms ? now_ms - now_ms % window_ms : 0;
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt =
        prep(st,
             "INSERT INTO rate_counters(address, bucket, window_start, count) VALUES(?1,?2,?3,1)"
             " ON CONFLICT(address, bucket) DO UPDATE SET"
             " count = CASE WHEN window_start = ?3 THEN count + 1 ELSE 1 END,"
             " window_start = ?3 RETURNING count",
             err);
    if (stmt) {
        bind_blob(stmt, 1, addr, LP_WIRE_ADDR_LEN);
        sqlite3_bind_text(stmt, 2, bucket, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)start);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            *count = (uint64_t)sqlite3_column_int64(stmt, 0);
            rc = LP_STORE_OK;
        } else {
            rc = db_fail(st, err, "rate counter");
        }
        sqlite3_finalize(stmt);
    }
    return finish(st, rc, err);
}

/* ---- blocklist ---------------------------------------------------------------------------- */

static int sq_block_set(struct lp_store *s, const char *module, const char *reason, uint64_t now_ms,
                        struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt =
        prep(st, "INSERT OR REPLACE INTO blocklist(module, reason, added_at) VALUES(?,?,?)", err);
    if (stmt) {
        sqlite3_bind_text(stmt, 1, module, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 2, reason ? reason : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)now_ms);
        rc = step_done(st, stmt, err);
    }
    return finish(st, rc, err);
}

static int sq_block_remove(struct lp_store *s, const char *module, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "DELETE FROM blocklist WHERE module = ?", err);
    if (stmt) {
        sqlite3_bind_text(stmt, 1, module, -1, SQLITE_TRANSIENT);
        rc = step_done(st, stmt, err);
        if (rc == LP_STORE_OK && sqlite3_changes(st->db) == 0)
            rc = fail(err, LP_STORE_NOT_FOUND, "store: %s is not blocked", module);
    }
    return finish(st, rc, err);
}

static int sq_block_get(struct lp_store *s, const char *module, char *reason, size_t reason_cap,
                        struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "SELECT reason FROM blocklist WHERE module = ?", err);
    if (stmt) {
        sqlite3_bind_text(stmt, 1, module, -1, SQLITE_TRANSIENT);
        int r = sqlite3_step(stmt);
        if (r == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(stmt, 0);
            if (reason && reason_cap)
                snprintf(reason, reason_cap, "%s", t ? (const char *)t : "");
            rc = LP_STORE_OK;
        } else if (r == SQLITE_DONE) {
            rc = LP_STORE_NOT_FOUND;
        } else {
            rc = db_fail(st, err, "blocklist");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_block_scan(struct lp_store *s, lp_store_block_cb cb, void *ctx,
                         struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "SELECT module, reason FROM blocklist ORDER BY module", err);
    if (stmt) {
        rc = LP_STORE_OK;
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            int c = cb(ctx, (const char *)sqlite3_column_text(stmt, 0),
                       (const char *)sqlite3_column_text(stmt, 1));
            if (c != 0) {
                rc = c;
                break;
            }
        }
        if (rc == LP_STORE_OK && r != SQLITE_DONE)
            rc = db_fail(st, err, "blocklist");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- files ---------------------------------------------------------------------------------- */

static void blob_path(struct sqlite_store *st, const uint8_t keccak[LP_WIRE_ID_LEN], char *out,
                      size_t cap)
{
    char hex[2 * LP_WIRE_ID_LEN + 1];
    lp_hex_encode(keccak, LP_WIRE_ID_LEN, hex);
    snprintf(out, cap, "%s/%s", st->files_dir, hex);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sq_file_put(struct lp_store *s, const void *data, size_t len,
                       const uint8_t owner[LP_WIRE_ADDR_LEN], uint64_t now_ms,
                       uint8_t keccak[LP_WIRE_ID_LEN], struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    lp_keccak256(data, len, keccak);
    char path[4096], tmp[4200];
    blob_path(st, keccak, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        /* Unique temp name per thread so two uploads of the same blob cannot interleave. */
        snprintf(tmp, sizeof tmp, "%s.tmp.%d.%lx", path, (int)getpid(),
                 (unsigned long)pthread_self());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return fail(err, LP_STORE_ERROR, "store: %s: %s", tmp, strerror(errno));
        if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return fail(err, LP_STORE_ERROR, "store: %s: %s", tmp, strerror(e));
        }
        close(fd);
        if (rename(tmp, path) != 0) {
            int e = errno;
            unlink(tmp);
            return fail(err, LP_STORE_ERROR, "store: %s: %s", path, strerror(e));
        }
    }
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(
        st, "INSERT OR IGNORE INTO files(keccak, size, owner, created_at) VALUES(?,?,?,?)", err);
    if (stmt) {
        bind_blob(stmt, 1, keccak, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)len);
        bind_blob(stmt, 3, owner, LP_WIRE_ADDR_LEN);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)now_ms);
        rc = step_done(st, stmt, err);
    }
    return finish(st, rc, err);
}

static int sq_file_stat(struct lp_store *s, const uint8_t keccak[LP_WIRE_ID_LEN], uint64_t *size,
                        uint8_t *owner, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "SELECT size, owner FROM files WHERE keccak = ?", err);
    if (stmt) {
        bind_blob(stmt, 1, keccak, LP_WIRE_ID_LEN);
        int r = sqlite3_step(stmt);
        if (r == SQLITE_ROW) {
            if (size)
                *size = (uint64_t)sqlite3_column_int64(stmt, 0);
            if (owner)
                col_fixed(stmt, 1, owner, LP_WIRE_ADDR_LEN);
            rc = LP_STORE_OK;
        } else if (r == SQLITE_DONE) {
            rc = fail(err, LP_STORE_NOT_FOUND, "store: no such file");
        } else {
            rc = db_fail(st, err, "files");
        }
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_file_read(struct lp_store *s, const uint8_t keccak[LP_WIRE_ID_LEN], uint8_t **data,
                        size_t *len, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    uint64_t size = 0;
    int rc = sq_file_stat(s, keccak, &size, NULL, err);
    if (rc != LP_STORE_OK)
        return rc;
    char path[4096];
    blob_path(st, keccak, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, LP_STORE_ERROR, "store: %s: %s", path, strerror(errno));
    uint8_t *buf = malloc(size ? size : 1);
    size_t got = buf ? fread(buf, 1, size, f) : 0;
    fclose(f);
    if (!buf || got != size) {
        free(buf);
        return fail(err, LP_STORE_ERROR, "store: %s: short read (%zu of %llu bytes)", path, got,
                    (unsigned long long)size);
    }
    *data = buf;
    *len = size;
    return LP_STORE_OK;
}

/* ---- unmatching and provider reliability ---------------------------------------------------- */

/* Created on open by every build that has these ops, whatever the schema version says: a
 * table an older build does not know is left alone by it. */
static const char provider_stats_table[] =
    "CREATE TABLE IF NOT EXISTS provider_stats(address BLOB PRIMARY KEY,"
    " matched INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL DEFAULT 0,"
    " not_started INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0,"
    " timed_out INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID";

static int sq_deal_unmatch(struct lp_store *s, const uint8_t deal_id[LP_WIRE_ID_LEN],
                           uint32_t new_state, const char *note, const struct lp_store_event_in *ev,
                           size_t n_ev, uint64_t now_ms, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st,
                              "UPDATE deals SET state = ?1, state_since = ?2"
                              " WHERE id = ?3 AND state = ?4",
                              err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, new_state);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now_ms);
        bind_blob(stmt, 3, deal_id, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 4, LP_DEAL_AGREED);
        rc = step_done(st, stmt, err);
        if (rc == LP_STORE_OK && sqlite3_changes(st->db) != 1)
            rc = fail(err, LP_STORE_CONFLICT, "store: the deal is no longer %s",
                      lp_deal_state_name(LP_DEAL_AGREED));
    }
    if (rc == LP_STORE_OK) {
        rc = LP_STORE_ERROR;
        stmt = prep(st,
                    "UPDATE offers SET state = ?1, deal_id = NULL"
                    " WHERE kind = ?2 AND deal_id = ?3 AND state = ?4",
                    err);
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, LP_DEAL_NEGOTIATING);
            sqlite3_bind_int64(stmt, 2, LP_WIRE_JOB_OFFER);
            bind_blob(stmt, 3, deal_id, LP_WIRE_ID_LEN);
            sqlite3_bind_int64(stmt, 4, LP_DEAL_AGREED);
            rc = step_done(st, stmt, err);
            if (rc == LP_STORE_OK && sqlite3_changes(st->db) != 1)
                rc = fail(err, LP_STORE_CONFLICT, "store: the deal's job offer is not agreed");
        }
    }
    if (rc == LP_STORE_OK)
        rc = history(st, deal_id, new_state, note, now_ms, err);
    if (rc == LP_STORE_OK)
        rc = append_events(st, ev, n_ev, now_ms, err);
    return finish(st, rc, err);
}

static int sq_provider_stats_add(struct lp_store *s, const struct lp_store_provider_stats *d,
                                 struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (begin(st, err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(
        st,
        "INSERT INTO provider_stats(address, matched, started, not_started, delivered, timed_out)"
        " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(address) DO UPDATE SET"
        " matched = matched + ?2, started = started + ?3, not_started = not_started + ?4,"
        " delivered = delivered + ?5, timed_out = timed_out + ?6",
        err);
    if (stmt) {
        bind_blob(stmt, 1, d->address, LP_WIRE_ADDR_LEN);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)d->matched);
        sqlite3_bind_int64(stmt, 3, (sqlite3_int64)d->started);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)d->not_started);
        sqlite3_bind_int64(stmt, 5, (sqlite3_int64)d->delivered);
        sqlite3_bind_int64(stmt, 6, (sqlite3_int64)d->timed_out);
        rc = step_done(st, stmt, err);
    }
    return finish(st, rc, err);
}

static int sq_provider_stats_scan(struct lp_store *s, lp_store_provider_cb cb, void *ctx,
                                  struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st,
                              "SELECT address, matched, started, not_started, delivered, timed_out"
                              " FROM provider_stats",
                              err);
    if (stmt) {
        rc = LP_STORE_OK;
        int r;
        while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
            struct lp_store_provider_stats p;
            memset(&p, 0, sizeof p);
            col_fixed(stmt, 0, p.address, LP_WIRE_ADDR_LEN);
            p.matched = (uint64_t)sqlite3_column_int64(stmt, 1);
            p.started = (uint64_t)sqlite3_column_int64(stmt, 2);
            p.not_started = (uint64_t)sqlite3_column_int64(stmt, 3);
            p.delivered = (uint64_t)sqlite3_column_int64(stmt, 4);
            p.timed_out = (uint64_t)sqlite3_column_int64(stmt, 5);
            int c = cb(ctx, &p);
            if (c != 0) {
                rc = c;
                break;
            }
        }
        if (rc == LP_STORE_OK && r != SQLITE_DONE)
            rc = db_fail(st, err, "provider stats");
        sqlite3_finalize(stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- open / close -----------------------------------------------------------------------------
 */

static void sq_close(struct lp_store *s)
{
    if (!s)
        return;
    struct sqlite_store *st = S(s);
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st->files_dir);
    free(st);
}

static const struct lp_store_ops sqlite_ops = {
    .close = sq_close,
    .offer_insert = sq_offer_insert,
    .offer_get = sq_offer_get,
    .offer_set_state = sq_offer_set_state,
    .offer_scan = sq_offer_scan,
    .offer_count = sq_offer_count,
    .deal_create = sq_deal_create,
    .deal_get = sq_deal_get,
    .deal_update = sq_deal_update,
    .deal_scan = sq_deal_scan,
    .deal_history = sq_deal_history,
    .event_scan = sq_event_scan,
    .event_last_seq = sq_event_last_seq,
    .rate_hit = sq_rate_hit,
    .block_set = sq_block_set,
    .block_remove = sq_block_remove,
    .block_get = sq_block_get,
    .block_scan = sq_block_scan,
    .file_put = sq_file_put,
    .file_read = sq_file_read,
    .file_stat = sq_file_stat,
    .deal_unmatch = sq_deal_unmatch,
    .provider_stats_add = sq_provider_stats_add,
    .provider_stats_scan = sq_provider_stats_scan,
};

static int migrate(struct sqlite_store *st, struct lp_store_error *err)
{
    sqlite3_stmt *stmt = prep(st, "PRAGMA user_version", err);
    if (!stmt)
        return LP_STORE_ERROR;
    int version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    if (version < 0)
        return db_fail(st, err, "schema version");
    if (version > LP_STORE_SCHEMA_VERSION)
        return fail(err, LP_STORE_ERROR,
                    "store: %s has schema version %d, newer than this binary's %d; hint: run the "
                    "lilypad release that wrote it, or point solver.db elsewhere",
                    sqlite3_db_filename(st->db, "main"), version, LP_STORE_SCHEMA_VERSION);
    if (version == LP_STORE_SCHEMA_VERSION)
        return LP_STORE_OK;
    /* version 0: a new database. Later versions append their steps here. */
    if (exec(st, "BEGIN IMMEDIATE", err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    for (size_t i = 0; i < sizeof schema_v1 / sizeof schema_v1[0]; i++) {
        if (exec(st, schema_v1[i], err) != LP_STORE_OK) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return LP_STORE_ERROR;
        }
    }
    return exec(st, "COMMIT", err);
}

int lp_store_sqlite_open(const char *db_path, const char *files_dir, struct lp_store **out,
                         struct lp_store_error *err)
{
    *out = NULL;
    if (mkdir(files_dir, 0700) != 0 && errno != EEXIST)
        return fail(err, LP_STORE_ERROR, "store: cannot create %s: %s", files_dir, strerror(errno));
    struct sqlite_store *st = calloc(1, sizeof *st);
    if (!st)
        return fail(err, LP_STORE_ERROR, "store: out of memory");
    st->base.ops = &sqlite_ops;
    pthread_mutex_init(&st->lock, NULL);
    st->files_dir = strdup(files_dir);
    if (sqlite3_open_v2(db_path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        fail(err, LP_STORE_ERROR, "store: cannot open %s: %s", db_path,
             st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sq_close(&st->base);
        return LP_STORE_ERROR;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (!st->files_dir || exec(st, "PRAGMA journal_mode=WAL", err) != LP_STORE_OK ||
        exec(st, "PRAGMA synchronous=NORMAL", err) != LP_STORE_OK ||
        exec(st, "PRAGMA foreign_keys=ON", err) != LP_STORE_OK || migrate(st, err) != LP_STORE_OK) {
        sq_close(&st->base);
        return LP_STORE_ERROR;
    }
    if (exec(st, provider_stats_table, err) != LP_STORE_OK) {
        sq_close(&st->base);
        return LP_STORE_ERROR;
    }
    *out = &st->base;
    return LP_STORE_OK;
}

/* ---- shared helpers ------------------------------------------------------------------------ */

void lp_store_offer_release(struct lp_store_offer *o)
{
    if (!o)
        return;
    free(o->envelope);
    o->envelope = NULL;
}

void lp_store_deal_release(struct lp_store_deal *d)
{
    if (!d)
        return;
    free(d->envelope);
    free(d->result_envelope);
    free(d->challenge_envelope);
    free(d->verdict_envelope);
    d->envelope = d->result_envelope = d->challenge_envelope = d->verdict_envelope = NULL;
}
