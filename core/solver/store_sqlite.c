/* SQLite implementation of the solver store (store.h).
 *
 * One connection in WAL mode behind a mutex: the solver's writes are small and SQLite
 * serialises writers anyway, so a pool would add nothing but lock traffic. synchronous=NORMAL
 * is enough for the guarantee we give (a committed transaction survives the process being
 * killed, SIGKILL included: WAL frames are in the OS page cache once COMMIT returns); only a
 * power cut may lose the last commits. The schema version lives in PRAGMA user_version.
 *
 * Statements are prepared once and kept (prep/done): preparing costs more than running most
 * of them. BEGIN/COMMIT are cached statements too. The last event's sequence number is kept
 * in memory (set when a transaction that appended events commits), so waking long-polls
 * after each write costs no query.
 *
 * Health: a failed write (any SQLite error other than a constraint, or an I/O error on a
 * blob) makes health() report it until a later write commits; disk full is logged once per
 * episode, with a hint. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <lilypad/verifier.h>
#include <sqlite3.h>

#include "crypto/keccak.h"
#include "solver/store.h"
#include "util/hex.h"
#include "util/log.h"

#define STMT_CACHE 64

struct cached_stmt {
    char *sql;
    sqlite3_stmt *stmt;
};

struct sqlite_store {
    struct lp_store base; /* first: a struct lp_store * is a struct sqlite_store * */
    sqlite3 *db;
    pthread_mutex_t lock; /* the connection, the statement cache, pending_seq */
    char *files_dir;
    struct cached_stmt cache[STMT_CACHE];
    size_t n_cached;
    uint64_t pending_seq; /* the last event appended by the open transaction */
    uint64_t last_seq;    /* committed; read with __atomic loads */

    pthread_mutex_t health_lock; /* taken alone, or inside lock; guards what follows */
    bool failing;                /* also read with __atomic loads, to skip the lock */
    bool failing_full;           /* the failure is a full disk */
    bool told_failing;           /* a failure was logged since the store last wrote again */
    uint64_t full_logged_ms;     /* monotonic; 0: never */
    char failure[256];
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

/* A full disk is logged at most once per FULL_LOG_INTERVAL_MS: a nearly full disk lets small
 * writes through between refused ones, and each of those must not log it again. */
#define FULL_LOG_INTERVAL_MS (10u * 60u * 1000u)

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A write failed: health() reports it until a write succeeds. */
static void mark_failing(struct sqlite_store *st, bool full, const char *message)
{
    pthread_mutex_lock(&st->health_lock);
    bool was = st->failing;
    snprintf(st->failure, sizeof st->failure, "%s", message);
    __atomic_store_n(&st->failing, true, __ATOMIC_RELAXED);
    st->failing_full = full;
    uint64_t now = mono_ms();
    if (full && (st->full_logged_ms == 0 || now - st->full_logged_ms >= FULL_LOG_INTERVAL_MS)) {
        st->full_logged_ms = now;
        st->told_failing = true;
        lp_error("solver: the disk holding %s is full (%s); hint: free space there: uploads and "
                 "writes are refused, and /healthz answers 503, until a write succeeds",
                 st->files_dir, message);
    } else if (!full && !was) {
        st->told_failing = true;
        lp_error("solver: the store is failing (%s); /healthz answers 503 until a write succeeds",
                 message);
    }
    pthread_mutex_unlock(&st->health_lock);
}

/* Free space that ends a full-disk episode without a file written (an operator freed some). */
#define ROOM_AGAIN_BYTES (64ull * 1024 * 1024)

static bool disk_has_room(const struct sqlite_store *st)
{
    struct statvfs v;
    return statvfs(st->files_dir, &v) == 0 &&
           (unsigned long long)v.f_bavail * v.f_frsize >= ROOM_AGAIN_BYTES;
}

/* A write succeeded. A full disk is over only when a file was written (wrote_file) or the disk
 * has room again: the small database writes between refused uploads still fit on a nearly full
 * disk, and must not make /healthz say all is well while uploads fail. */
static void mark_ok(struct sqlite_store *st, bool wrote_file)
{
    if (!__atomic_load_n(&st->failing, __ATOMIC_RELAXED))
        return;
    pthread_mutex_lock(&st->health_lock);
    if (st->failing_full && !wrote_file && !disk_has_room(st)) {
        pthread_mutex_unlock(&st->health_lock);
        return;
    }
    __atomic_store_n(&st->failing, false, __ATOMIC_RELAXED);
    st->failing_full = false;
    st->failure[0] = '\0';
    bool tell = st->told_failing;
    st->told_failing = false;
    pthread_mutex_unlock(&st->health_lock);
    if (tell)
        lp_info("solver: the store writes again");
}

static int db_fail(struct sqlite_store *st, struct lp_store_error *err, const char *what)
{
    int code = sqlite3_errcode(st->db) & 0xff;
    bool full = code == SQLITE_FULL;
    struct lp_store_error local;
    if (!err)
        err = &local;
    fail(err, full ? LP_STORE_FULL : LP_STORE_ERROR, "store: %s: %s", what, sqlite3_errmsg(st->db));
    mark_failing(st, full, err->message);
    return full ? LP_STORE_FULL : LP_STORE_ERROR;
}

/* A blob could not be written: ENOSPC and EDQUOT are a full disk. */
static int io_fail(struct sqlite_store *st, struct lp_store_error *err, int errnum,
                   const char *path)
{
    bool full = errnum == ENOSPC || errnum == EDQUOT;
    struct lp_store_error local;
    if (!err)
        err = &local;
    fail(err, full ? LP_STORE_FULL : LP_STORE_ERROR, "store: %s: %s", path, strerror(errnum));
    mark_failing(st, full, err->message);
    return full ? LP_STORE_FULL : LP_STORE_ERROR;
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

/* Version 2: blobs have every uploader as an owner; the indexes gc and the per-owner counts
 * need. */
static const char *const schema_v2[] = {
    "CREATE TABLE file_owners(keccak BLOB NOT NULL, owner BLOB NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(keccak, owner)) WITHOUT ROWID",
    "INSERT OR IGNORE INTO file_owners(keccak, owner, created_at)"
    " SELECT keccak, owner, created_at FROM files",
    "DROP INDEX offers_owner",
    "CREATE INDEX offers_owner ON offers(owner, kind, state)",
    "CREATE INDEX offers_stored ON offers(stored_at)",
    "CREATE INDEX event_audience_seq ON event_audience(seq)",
    "PRAGMA user_version = 2",
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

/* The statement for sql, prepared on first use and kept (lock held). Hand it back with done(). */
static sqlite3_stmt *prep(struct sqlite_store *st, const char *sql, struct lp_store_error *err)
{
    for (size_t i = 0; i < st->n_cached; i++) {
        if (st->cache[i].sql == sql || strcmp(st->cache[i].sql, sql) == 0)
            return st->cache[i].stmt;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        db_fail(st, err, "prepare");
        return NULL;
    }
    char *copy = st->n_cached < STMT_CACHE ? strdup(sql) : NULL;
    if (copy) {
        st->cache[st->n_cached].sql = copy;
        st->cache[st->n_cached].stmt = stmt;
        st->n_cached++;
    }
    return stmt;
}

/* Resets a statement from prep() for its next use (finalizes one the cache had no room for). */
static void done(struct sqlite_store *st, sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    for (size_t i = 0; i < st->n_cached; i++) {
        if (st->cache[i].stmt == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            return;
        }
    }
    sqlite3_finalize(stmt);
}

/* Runs a statement without results through the cache. */
static int run(struct sqlite_store *st, const char *sql, struct lp_store_error *err)
{
    sqlite3_stmt *stmt = prep(st, sql, err);
    if (!stmt)
        return LP_STORE_ERROR;
    int rc = sqlite3_step(stmt);
    int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? LP_STORE_OK : db_fail(st, err, sql);
    done(st, stmt);
    return out;
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
    int r = LP_STORE_OK;
    if (rc != SQLITE_DONE)
        r = (rc & 0xff) == SQLITE_CONSTRAINT ? fail(err, LP_STORE_EXISTS, "store: already stored")
                                             : db_fail(st, err, "write");
    done(st, stmt);
    return r;
}

static int begin_locked(struct sqlite_store *st, struct lp_store_error *err)
{
    st->pending_seq = 0;
    return run(st, "BEGIN IMMEDIATE", err);
}

static int begin(struct sqlite_store *st, struct lp_store_error *err)
{
    pthread_mutex_lock(&st->lock);
    int rc = begin_locked(st, err);
    if (rc != LP_STORE_OK)
        pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Commits when rc is OK, rolls back otherwise (lock held, kept); returns rc (or the COMMIT's
 * failure). */
static int finish_locked(struct sqlite_store *st, int rc, struct lp_store_error *err)
{
    if (rc == LP_STORE_OK)
        rc = run(st, "COMMIT", err);
    if (rc != LP_STORE_OK) {
        if (!sqlite3_get_autocommit(st->db))
            run(st, "ROLLBACK", NULL);
    } else {
        if (st->pending_seq > st->last_seq)
            __atomic_store_n(&st->last_seq, st->pending_seq, __ATOMIC_RELEASE);
        mark_ok(st, false);
    }
    st->pending_seq = 0;
    return rc;
}

static int finish(struct sqlite_store *st, int rc, struct lp_store_error *err)
{
    rc = finish_locked(st, rc, err);
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
        st->pending_seq = (uint64_t)seq;
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
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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
        done(st, stmt);
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
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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

/* The query for offers of one kind, filtered by state (< 0: any) and owner (NULL: any). One
 * text per combination, not "(?2 < 0 OR state = ?2)": SQLite cannot use an index across such
 * an OR, and a per-owner count that scans every offer made each post O(all offers). The
 * parameters stay ?1 kind, ?2 state, ?3 owner; unused ones are simply not bound. */
static const char *offer_filter_sql(int state, const uint8_t *owner, bool ordered)
{
    static const char *const count_sql[4] = {
        "SELECT count(*) FROM offers WHERE kind = ?1",
        "SELECT count(*) FROM offers WHERE kind = ?1 AND state = ?2",
        "SELECT count(*) FROM offers WHERE owner = ?3 AND kind = ?1",
        "SELECT count(*) FROM offers WHERE owner = ?3 AND kind = ?1 AND state = ?2",
    };
    static const char *const scan_sql[4] = {
        "SELECT " OFFER_COLS " FROM offers WHERE kind = ?1 ORDER BY rowid",
        "SELECT " OFFER_COLS " FROM offers WHERE kind = ?1 AND state = ?2 ORDER BY rowid",
        "SELECT " OFFER_COLS " FROM offers WHERE owner = ?3 AND kind = ?1 ORDER BY rowid",
        "SELECT " OFFER_COLS " FROM offers WHERE owner = ?3 AND kind = ?1 AND state = ?2"
        " ORDER BY rowid",
    };
    int i = (state >= 0 ? 1 : 0) | (owner ? 2 : 0);
    return ordered ? scan_sql[i] : count_sql[i];
}

static int sq_offer_scan(struct lp_store *s, uint32_t kind, int state, const uint8_t *owner,
                         lp_store_offer_cb cb, void *ctx, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, offer_filter_sql(state, owner, true), err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, kind);
        if (state >= 0)
            sqlite3_bind_int64(stmt, 2, state);
        if (owner)
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
        done(st, stmt);
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
    sqlite3_stmt *stmt = prep(st, offer_filter_sql(state, owner, false), err);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, kind);
        if (state >= 0)
            sqlite3_bind_int64(stmt, 2, state);
        if (owner)
            bind_blob(stmt, 3, owner, LP_WIRE_ADDR_LEN);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            *count = (uint64_t)sqlite3_column_int64(stmt, 0);
            rc = LP_STORE_OK;
        } else {
            rc = db_fail(st, err, "count offers");
        }
        done(st, stmt);
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
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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
        done(st, stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_deal_update(struct lp_store *s, const struct lp_store_deal_update *u,
                          const struct lp_store_event_in *ev, size_t n_ev, uint64_t now_ms,
                          struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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
        done(st, stmt);
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
static void deal_scan_sql(bool active_only, bool party, char *sql, size_t cap)
{
    /* With a party, a plain OR of indexed columns (SQLite unions the three indexes); "?1 IS
     * NULL OR ..." would make every caller's list a scan of all deals. */
    size_t n = (size_t)snprintf(sql, cap, "%s",
                                party ? "SELECT " DEAL_COLS " FROM deals WHERE (job_creator = ?1"
                                        " OR provider = ?1 OR mediator = ?1)"
                                      : "SELECT " DEAL_COLS " FROM deals WHERE 1");
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
    deal_scan_sql(active_only, party != NULL, sql, sizeof sql);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, sql, err);
    if (stmt) {
        if (party)
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
        done(st, stmt);
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
        done(st, stmt);
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
        done(st, stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_event_last_seq(struct lp_store *s, uint64_t *seq, struct lp_store_error *err)
{
    (void)err;
    *seq = __atomic_load_n(&S(s)->last_seq, __ATOMIC_ACQUIRE);
    return LP_STORE_OK;
}

/* ---- rate counters ---------------------------------------------------------------------- */

static int sq_rate_hit(struct lp_store *s, const uint8_t addr[LP_WIRE_ADDR_LEN], const char *bucket,
                       uint64_t window_ms, uint64_t now_ms, uint64_t *count,
                       struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    uint64_t start = window_ms ? now_ms - now_ms % window_ms : 0;
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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
        done(st, stmt);
    }
    return finish(st, rc, err);
}

/* ---- blocklist ---------------------------------------------------------------------------- */

static int sq_block_set(struct lp_store *s, const char *module, const char *reason, uint64_t now_ms,
                        struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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
    int brc = begin(st, err);
    if (brc != LP_STORE_OK)
        return brc;
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
        done(st, stmt);
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
        done(st, stmt);
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

/* Makes a written temp file durable (file and folder) and moves it to the blob's name, or drops
 * it when the blob is there already; then records the owner. Lock held, no transaction open:
 * gc deletes blobs under the same lock, so a blob it is removing cannot be taken for stored. */
static int install_blob(struct sqlite_store *st, const char *tmp, uint64_t len,
                        const uint8_t keccak[LP_WIRE_ID_LEN], const uint8_t owner[LP_WIRE_ADDR_LEN],
                        uint64_t now_ms, struct lp_store_error *err)
{
    char path[4096];
    blob_path(st, keccak, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) == 0) {
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return io_fail(st, err, e, path);
    }
    int rc = begin_locked(st, err);
    if (rc != LP_STORE_OK)
        return rc;
    sqlite3_stmt *stmt =
        prep(st,
             "INSERT INTO files(keccak, size, owner, created_at) VALUES(?1,?2,?3,?4)"
             " ON CONFLICT(keccak) DO UPDATE SET created_at = ?4",
             err);
    rc = LP_STORE_ERROR;
    if (stmt) {
        bind_blob(stmt, 1, keccak, LP_WIRE_ID_LEN);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)len);
        bind_blob(stmt, 3, owner, LP_WIRE_ADDR_LEN);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)now_ms);
        rc = step_done(st, stmt, err);
    }
    if (rc == LP_STORE_OK) {
        stmt = prep(st,
                    "INSERT INTO file_owners(keccak, owner, created_at) VALUES(?1,?2,?3)"
                    " ON CONFLICT(keccak, owner) DO UPDATE SET created_at = ?3",
                    err);
        rc = LP_STORE_ERROR;
        if (stmt) {
            bind_blob(stmt, 1, keccak, LP_WIRE_ID_LEN);
            bind_blob(stmt, 2, owner, LP_WIRE_ADDR_LEN);
            sqlite3_bind_int64(stmt, 3, (sqlite3_int64)now_ms);
            rc = step_done(st, stmt, err);
        }
    }
    return finish_locked(st, rc, err);
}

/* fsync of a staged file, outside the lock (it is the slow part). */
static int sync_file(struct sqlite_store *st, const char *path, struct lp_store_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail(st, err, errno, path);
    int rc = fsync(fd) == 0 ? LP_STORE_OK : io_fail(st, err, errno, path);
    close(fd);
    return rc;
}

static int sq_file_put(struct lp_store *s, const void *data, size_t len,
                       const uint8_t owner[LP_WIRE_ADDR_LEN], uint64_t now_ms,
                       uint8_t keccak[LP_WIRE_ID_LEN], struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    lp_keccak256(data, len, keccak);
    char tmp[4200];
    /* Unique temp name per thread so two uploads of the same blob cannot interleave. */
    snprintf(tmp, sizeof tmp, "%s/" LP_STORE_STAGING_PREFIX "put-%d-%lx", st->files_dir,
             (int)getpid(), (unsigned long)pthread_self());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail(st, err, errno, tmp);
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return io_fail(st, err, e, tmp);
    }
    close(fd);
    mark_ok(st, true);
    pthread_mutex_lock(&st->lock);
    int rc = install_blob(st, tmp, len, keccak, owner, now_ms, err);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_file_put_staged(struct lp_store *s, const char *staged, uint64_t len,
                              const uint8_t keccak[LP_WIRE_ID_LEN],
                              const uint8_t owner[LP_WIRE_ADDR_LEN], uint64_t now_ms,
                              struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    int rc = sync_file(st, staged, err);
    if (rc != LP_STORE_OK) {
        unlink(staged);
        return rc;
    }
    pthread_mutex_lock(&st->lock);
    rc = install_blob(st, staged, len, keccak, owner, now_ms, err);
    pthread_mutex_unlock(&st->lock);
    return rc;
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
        done(st, stmt);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_file_owned(struct lp_store *s, const uint8_t keccak[LP_WIRE_ID_LEN],
                         const uint8_t owner[LP_WIRE_ADDR_LEN], struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    pthread_mutex_lock(&st->lock);
    int rc = LP_STORE_ERROR;
    sqlite3_stmt *stmt = prep(st, "SELECT 1 FROM file_owners WHERE keccak = ? AND owner = ?", err);
    if (stmt) {
        bind_blob(stmt, 1, keccak, LP_WIRE_ID_LEN);
        bind_blob(stmt, 2, owner, LP_WIRE_ADDR_LEN);
        int r = sqlite3_step(stmt);
        if (r == SQLITE_ROW)
            rc = LP_STORE_OK;
        else if (r == SQLITE_DONE)
            rc = fail(err, LP_STORE_NOT_FOUND, "store: the address did not upload that file");
        else
            rc = db_fail(st, err, "file owners");
        done(st, stmt);
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

/* ---- garbage collection ------------------------------------------------------------------- */

#define GC_BATCH 256

/* "state IN (final states)" from the one table of states (lp_deal_state_active). */
static void final_states_sql(char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "(");
    const char *sep = "";
    for (uint32_t state = 0; state < lp_deal_state_count(); state++) {
        if (lp_deal_state_active(state))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%u", sep, (unsigned)state);
        sep = ", ";
    }
    snprintf(out + n, cap - n, ")");
}

/* Runs `sql` (one DELETE of at most GC_BATCH rows, binding ?1 = before_ms) in its own
 * transaction until it deletes nothing; the lock is let go between batches so requests are
 * never held up for more than one batch. */
static int gc_batches(struct sqlite_store *st, const char *sql, uint64_t before_ms, uint64_t *count,
                      struct lp_store_error *err)
{
    for (;;) {
        int rc = begin(st, err);
        if (rc != LP_STORE_OK)
            return rc;
        sqlite3_stmt *stmt = prep(st, sql, err);
        rc = LP_STORE_ERROR;
        int changed = 0;
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, (sqlite3_int64)before_ms);
            rc = step_done(st, stmt, err);
            changed = sqlite3_changes(st->db);
        }
        rc = finish(st, rc, err);
        if (rc != LP_STORE_OK)
            return rc;
        *count += (uint64_t)changed;
        if (changed < GC_BATCH)
            return LP_STORE_OK;
    }
}

/* Deals in a final state since before_ms, with their history and offers (the job offer, the
 * resource offer and a mediator's offer all carry the deal's ID). */
static int gc_deals(struct sqlite_store *st, uint64_t before_ms, struct lp_store_gc_stats *out,
                    struct lp_store_error *err)
{
    char finals[256], sql[1024];
    final_states_sql(finals, sizeof finals);
    snprintf(sql, sizeof sql,
             "SELECT id, job_offer_id, resource_offer_id, mediator_offer_id FROM deals"
             " WHERE state IN %s AND state_since < ?1 LIMIT %d",
             finals, GC_BATCH);
    for (;;) {
        int rc = begin(st, err);
        if (rc != LP_STORE_OK)
            return rc;
        uint8_t(*ids)[4][LP_WIRE_ID_LEN] = calloc(GC_BATCH, sizeof *ids);
        bool(*has)[4] = calloc(GC_BATCH, sizeof *has);
        size_t n = 0;
        sqlite3_stmt *stmt = ids && has ? prep(st, sql, err) : NULL;
        rc = stmt ? LP_STORE_OK : LP_STORE_ERROR;
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, (sqlite3_int64)before_ms);
            int r;
            while (n < GC_BATCH && (r = sqlite3_step(stmt)) == SQLITE_ROW) {
                for (int c = 0; c < 4; c++)
                    has[n][c] = col_fixed(stmt, c, ids[n][c], LP_WIRE_ID_LEN);
                n++;
            }
            done(st, stmt);
        }
        for (size_t i = 0; rc == LP_STORE_OK && i < n; i++) {
            for (int c = 0; rc == LP_STORE_OK && c < 4; c++) {
                if (!has[i][c])
                    continue;
                const char *q =
                    c == 0 ? "DELETE FROM deals WHERE id = ?" : "DELETE FROM offers WHERE id = ?";
                stmt = prep(st, q, err);
                rc = LP_STORE_ERROR;
                if (stmt) {
                    bind_blob(stmt, 1, ids[i][c], LP_WIRE_ID_LEN);
                    rc = step_done(st, stmt, err);
                    if (c > 0)
                        out->offers += (uint64_t)sqlite3_changes(st->db);
                }
            }
            if (rc == LP_STORE_OK) {
                stmt = prep(st, "DELETE FROM deal_history WHERE deal_id = ?", err);
                rc = LP_STORE_ERROR;
                if (stmt) {
                    bind_blob(stmt, 1, ids[i][0], LP_WIRE_ID_LEN);
                    rc = step_done(st, stmt, err);
                }
            }
        }
        free(ids);
        free(has);
        rc = finish(st, rc, err);
        if (rc != LP_STORE_OK)
            return rc;
        out->deals += n;
        if (n < GC_BATCH)
            return LP_STORE_OK;
    }
}

/* Events up to the newest one appended before before_ms (events are appended in time order),
 * with their audience. */
static int gc_events(struct sqlite_store *st, uint64_t before_ms, struct lp_store_gc_stats *out,
                     struct lp_store_error *err)
{
    for (;;) {
        int rc = begin(st, err);
        if (rc != LP_STORE_OK)
            return rc;
        sqlite3_stmt *stmt = prep(st,
                                  "SELECT max(seq) FROM (SELECT seq, at FROM events ORDER BY seq"
                                  " LIMIT 256) WHERE at < ?1",
                                  err);
        rc = LP_STORE_ERROR;
        sqlite3_int64 upto = 0;
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, (sqlite3_int64)before_ms);
            if (sqlite3_step(stmt) == SQLITE_ROW) {
                upto = sqlite3_column_int64(stmt, 0);
                rc = LP_STORE_OK;
            } else {
                rc = db_fail(st, err, "gc events");
            }
            done(st, stmt);
        }
        int deleted = 0;
        if (rc == LP_STORE_OK && upto > 0) {
            stmt = prep(st, "DELETE FROM event_audience WHERE seq <= ?", err);
            rc = LP_STORE_ERROR;
            if (stmt) {
                sqlite3_bind_int64(stmt, 1, upto);
                rc = step_done(st, stmt, err);
            }
            if (rc == LP_STORE_OK) {
                stmt = prep(st, "DELETE FROM events WHERE seq <= ?", err);
                rc = LP_STORE_ERROR;
                if (stmt) {
                    sqlite3_bind_int64(stmt, 1, upto);
                    rc = step_done(st, stmt, err);
                    deleted = sqlite3_changes(st->db);
                }
            }
        }
        rc = finish(st, rc, err);
        if (rc != LP_STORE_OK)
            return rc;
        out->events += (uint64_t)deleted;
        if (deleted == 0)
            return LP_STORE_OK;
    }
}

/* Blobs uploaded (last) before before_ms that no open job offer and no stored deal names: rows
 * and files go together, under the lock, so an upload of the same bytes waits for them. */
static int gc_files(struct sqlite_store *st, uint64_t before_ms, struct lp_store_gc_stats *out,
                    struct lp_store_error *err)
{
    for (;;) {
        uint8_t keys[GC_BATCH][LP_WIRE_ID_LEN];
        size_t n = 0;
        pthread_mutex_lock(&st->lock);
        int rc = begin_locked(st, err);
        sqlite3_stmt *stmt = NULL;
        if (rc == LP_STORE_OK) {
            char sql[512];
            snprintf(sql, sizeof sql,
                     "SELECT keccak FROM files WHERE created_at < ?1"
                     " AND keccak NOT IN (SELECT input_keccak FROM offers WHERE state = %u"
                     "   AND input_keccak IS NOT NULL)"
                     " AND keccak NOT IN (SELECT input_keccak FROM deals"
                     "   WHERE input_keccak IS NOT NULL)"
                     " AND keccak NOT IN (SELECT output_keccak FROM deals"
                     "   WHERE output_keccak IS NOT NULL) LIMIT %d",
                     (unsigned)LP_DEAL_NEGOTIATING, GC_BATCH);
            stmt = prep(st, sql, err);
            rc = stmt ? LP_STORE_OK : LP_STORE_ERROR;
        }
        if (stmt) {
            sqlite3_bind_int64(stmt, 1, (sqlite3_int64)before_ms);
            int r;
            while (n < GC_BATCH && (r = sqlite3_step(stmt)) == SQLITE_ROW) {
                if (col_fixed(stmt, 0, keys[n], LP_WIRE_ID_LEN))
                    n++;
            }
            done(st, stmt);
        }
        const char *dels[] = {"DELETE FROM file_owners WHERE keccak = ?",
                              "DELETE FROM files WHERE keccak = ?"};
        for (size_t i = 0; rc == LP_STORE_OK && i < n; i++) {
            for (int d = 0; rc == LP_STORE_OK && d < 2; d++) {
                stmt = prep(st, dels[d], err);
                rc = LP_STORE_ERROR;
                if (stmt) {
                    bind_blob(stmt, 1, keys[i], LP_WIRE_ID_LEN);
                    rc = step_done(st, stmt, err);
                }
            }
        }
        rc = finish_locked(st, rc, err);
        for (size_t i = 0; rc == LP_STORE_OK && i < n; i++) {
            char path[4096];
            blob_path(st, keys[i], path, sizeof path);
            if (unlink(path) != 0 && errno != ENOENT)
                lp_warn("solver: gc: cannot delete %s: %s", path, strerror(errno));
        }
        pthread_mutex_unlock(&st->lock);
        if (rc != LP_STORE_OK)
            return rc;
        out->files += n;
        if (n < GC_BATCH)
            return LP_STORE_OK;
    }
}

/* Staged uploads a crash or a dropped connection left behind (older than an hour: one still
 * being written is younger). */
static void gc_staged(struct sqlite_store *st, uint64_t now_ms, struct lp_store_gc_stats *out)
{
    DIR *d = opendir(st->files_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, LP_STORE_STAGING_PREFIX, strlen(LP_STORE_STAGING_PREFIX)) != 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", st->files_dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) == 0 && (uint64_t)sb.st_mtime * 1000u + 3600000u < now_ms &&
            unlink(path) == 0)
            out->staged++;
    }
    closedir(d);
}

static int sq_gc(struct lp_store *s, uint64_t before_ms, struct lp_store_gc_stats *out,
                 struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    memset(out, 0, sizeof *out);
    int rc = gc_deals(st, before_ms, out, err);
    if (rc == LP_STORE_OK) {
        /* Offers that ended without a deal: withdrawn, or expired unmatched. */
        char sql[256];
        snprintf(sql, sizeof sql,
                 "DELETE FROM offers WHERE rowid IN (SELECT rowid FROM offers WHERE stored_at < ?1"
                 " AND deal_id IS NULL AND state != %u LIMIT %d)",
                 (unsigned)LP_DEAL_NEGOTIATING, GC_BATCH);
        rc = gc_batches(st, sql, before_ms, &out->offers, err);
    }
    if (rc == LP_STORE_OK)
        rc = gc_events(st, before_ms, out, err);
    if (rc == LP_STORE_OK)
        rc = gc_files(st, before_ms, out, err);
    uint64_t ignored = 0;
    if (rc == LP_STORE_OK)
        rc = gc_batches(st, "DELETE FROM rate_counters WHERE window_start < ?1", before_ms,
                        &ignored, err);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    gc_staged(st, (uint64_t)ts.tv_sec * 1000u, out);
    return rc;
}

/* ---- health -------------------------------------------------------------------------------- */

static int sq_health(struct lp_store *s, struct lp_store_error *err)
{
    struct sqlite_store *st = S(s);
    if (!__atomic_load_n(&st->failing, __ATOMIC_RELAXED))
        return LP_STORE_OK;
    pthread_mutex_lock(&st->health_lock);
    int rc = LP_STORE_OK;
    if (st->failing) {
        rc = st->failing_full ? LP_STORE_FULL : LP_STORE_ERROR;
        fail(err, rc, "%s", st->failure);
    }
    pthread_mutex_unlock(&st->health_lock);
    return rc;
}

static void sq_note_io(struct lp_store *s, const char *what, int errnum)
{
    struct sqlite_store *st = S(s);
    if (errnum == 0)
        mark_ok(st, true);
    else
        io_fail(st, NULL, errnum, what);
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
        done(st, stmt);
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
    for (size_t i = 0; i < st->n_cached; i++) {
        sqlite3_finalize(st->cache[i].stmt);
        free(st->cache[i].sql);
    }
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->health_lock);
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
    .file_put_staged = sq_file_put_staged,
    .file_read = sq_file_read,
    .file_stat = sq_file_stat,
    .file_owned = sq_file_owned,
    .gc = sq_gc,
    .health = sq_health,
    .note_io = sq_note_io,
    .deal_unmatch = sq_deal_unmatch,
    .provider_stats_add = sq_provider_stats_add,
    .provider_stats_scan = sq_provider_stats_scan,
};

static int apply(struct sqlite_store *st, const char *const *steps, size_t n,
                 struct lp_store_error *err)
{
    if (exec(st, "BEGIN IMMEDIATE", err) != LP_STORE_OK)
        return LP_STORE_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (exec(st, steps[i], err) != LP_STORE_OK) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return LP_STORE_ERROR;
        }
    }
    return exec(st, "COMMIT", err);
}

static int migrate(struct sqlite_store *st, bool create, struct lp_store_error *err)
{
    sqlite3_stmt *stmt = prep(st, "PRAGMA user_version", err);
    if (!stmt)
        return LP_STORE_ERROR;
    int version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    done(st, stmt);
    if (version < 0)
        return db_fail(st, err, "schema version");
    if (version > LP_STORE_SCHEMA_VERSION)
        return fail(err, LP_STORE_ERROR,
                    "store: %s has schema version %d, newer than this binary's %d; hint: run the "
                    "lilypad release that wrote it, or point solver.db elsewhere",
                    sqlite3_db_filename(st->db, "main"), version, LP_STORE_SCHEMA_VERSION);
    if (version == 0 && !create)
        return fail(err, LP_STORE_ERROR,
                    "store: %s holds no solver data (an empty file); hint: start the solver with "
                    "--init to create a new database there, or point solver.db at the right one",
                    sqlite3_db_filename(st->db, "main"));
    if (version < 1 && apply(st, schema_v1, sizeof schema_v1 / sizeof schema_v1[0], err) != 0)
        return LP_STORE_ERROR;
    if (version < 2 && apply(st, schema_v2, sizeof schema_v2 / sizeof schema_v2[0], err) != 0)
        return LP_STORE_ERROR;
    return LP_STORE_OK;
}

/* SQLite's quick_check (every page and index entry is well formed; linear in the file's size).
 * The first problem it reports, or "ok". */
static int quick_check(struct sqlite_store *st, const char *db_path, struct lp_store_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &stmt, NULL);
    const char *verdict = NULL;
    char first[200] = "";
    if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
        verdict = (const char *)sqlite3_column_text(stmt, 0);
        snprintf(first, sizeof first, "%s", verdict ? verdict : "");
    } else {
        snprintf(first, sizeof first, "%s", sqlite3_errmsg(st->db));
    }
    sqlite3_finalize(stmt);
    if (strcmp(first, "ok") == 0)
        return LP_STORE_OK;
    /* One line: SQLite's report starts "*** in database main ***" and a newline. */
    const char *skip = "*** in database main ***";
    char *p = strncmp(first, skip, strlen(skip)) == 0 ? first + strlen(skip) : first;
    while (*p == '\n' || *p == ' ')
        p++;
    for (char *q = p; *q; q++)
        if (*q == '\n' || *q == '\r')
            *q = ' ';
    memmove(first, p, strlen(p) + 1);
    return fail(err, LP_STORE_ERROR,
                "store: %s is corrupt (quick_check: %s); hint: restore it from a backup, or move "
                "it away and start the solver with --init for an empty one",
                db_path, first);
}

int lp_store_sqlite_open(const char *db_path, const char *files_dir, bool create,
                         struct lp_store **out, struct lp_store_error *err)
{
    *out = NULL;
    struct stat sb;
    bool exists = stat(db_path, &sb) == 0;
    if (!exists && !create)
        return fail(err, LP_STORE_ERROR,
                    "store: %s does not exist; hint: start the solver with --init to create a new "
                    "database, or point solver.data_dir / solver.db at the existing one",
                    db_path);
    if (mkdir(files_dir, 0700) != 0 && errno != EEXIST)
        return fail(err, LP_STORE_ERROR, "store: cannot create %s: %s", files_dir, strerror(errno));
    struct sqlite_store *st = calloc(1, sizeof *st);
    if (!st)
        return fail(err, LP_STORE_ERROR, "store: out of memory");
    st->base.ops = &sqlite_ops;
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->health_lock, NULL);
    st->files_dir = strdup(files_dir);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(db_path, &st->db, flags, NULL) != SQLITE_OK) {
        fail(err, LP_STORE_ERROR, "store: cannot open %s: %s", db_path,
             st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sq_close(&st->base);
        return LP_STORE_ERROR;
    }
    sqlite3_busy_timeout(st->db, 5000);
    char pragma_err[256] = "";
    struct lp_store_error e2;
    if (!st->files_dir) {
        fail(err, LP_STORE_ERROR, "store: out of memory");
    } else if (exec(st, "PRAGMA journal_mode=WAL", &e2) != LP_STORE_OK) {
        /* The first read of the file: a file that is not a database fails here. */
        snprintf(pragma_err, sizeof pragma_err, "%s", sqlite3_errmsg(st->db));
        fail(err, LP_STORE_ERROR,
             "store: %s is not a readable SQLite database (%s); hint: restore it from a backup, "
             "or move it away and start the solver with --init for an empty one",
             db_path, pragma_err);
    } else if (exists && quick_check(st, db_path, err) != LP_STORE_OK) {
        /* err is set */
    } else if (exec(st, "PRAGMA synchronous=NORMAL", err) == LP_STORE_OK &&
               exec(st, "PRAGMA foreign_keys=ON", err) == LP_STORE_OK &&
               migrate(st, create, err) == LP_STORE_OK &&
               exec(st, provider_stats_table, err) == LP_STORE_OK) {
        sqlite3_stmt *stmt = prep(st, "SELECT coalesce(max(seq), 0) FROM events", err);
        if (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
            st->last_seq = (uint64_t)sqlite3_column_int64(stmt, 0);
            done(st, stmt);
            /* Nothing failed yet: health starts good even if a pragma's read said otherwise. */
            st->failing = false;
            *out = &st->base;
            return LP_STORE_OK;
        }
        done(st, stmt);
        fail(err, LP_STORE_ERROR, "store: %s: reading the last event: %s", db_path,
             sqlite3_errmsg(st->db));
    }
    sq_close(&st->base);
    return LP_STORE_ERROR;
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
