/* The ledger's SQLite file: how it is opened (WAL, foreign keys, a cancellable busy wait,
 * synchronous) and the versioned schema. Each migration runs in its own transaction together
 * with the PRAGMA user_version bump, so a crash leaves the file at one version or the next. */
#include "ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long a call waits for another connection's (another process's) write lock before it
 * fails with "database is locked". */
#define BUSY_TIMEOUT_MS 5000
/* The longest single sleep of that wait, so a cancelled call stops waiting within it. */
#define BUSY_SLICE_MS 50

/* Index i holds the SQL that takes the schema from version i to i + 1. Append only: a file
 * written by an older build is brought forward step by step. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE agreements ("
    "  deal_id BLOB PRIMARY KEY CHECK (length(deal_id) = 32),"
    "  job_creator BLOB NOT NULL CHECK (length(job_creator) = 20),"
    "  resource_provider BLOB NOT NULL CHECK (length(resource_provider) = 20),"
    "  mediator BLOB NOT NULL CHECK (length(mediator) = 20),"
    "  price BLOB NOT NULL CHECK (length(price) = 32),"
    "  payment_collateral BLOB NOT NULL CHECK (length(payment_collateral) = 32),"
    "  results_collateral BLOB NOT NULL CHECK (length(results_collateral) = 32),"
    "  execution_timeout_s INTEGER NOT NULL,"
    "  judge_timeout_s INTEGER NOT NULL,"
    "  agreed_ns INTEGER NOT NULL"
    ");"
    /* The current state of each deal; deal_events is its history. */
    "CREATE TABLE deals ("
    "  deal_id BLOB PRIMARY KEY REFERENCES agreements (deal_id),"
    "  state INTEGER NOT NULL,"
    "  mediator BLOB CHECK (mediator IS NULL OR length(mediator) = 20),"
    "  updated_ns INTEGER NOT NULL"
    ");"
    "CREATE TABLE results ("
    "  deal_id BLOB PRIMARY KEY REFERENCES agreements (deal_id),"
    "  result_id BLOB NOT NULL CHECK (length(result_id) = 32),"
    "  cid TEXT NOT NULL,"
    "  instruction_count INTEGER NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  submitted_ns INTEGER NOT NULL"
    ");"
    /* Append-only: the triggers make an edited history impossible through SQL. */
    "CREATE TABLE deal_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  deal_id BLOB NOT NULL REFERENCES agreements (deal_id),"
    "  from_state INTEGER,"
    "  to_state INTEGER NOT NULL,"
    "  at_ns INTEGER NOT NULL,"
    "  detail TEXT NOT NULL"
    ");"
    "CREATE INDEX deal_events_by_deal ON deal_events (deal_id, seq);"
    "CREATE TRIGGER deal_events_no_update BEFORE UPDATE ON deal_events"
    "  BEGIN SELECT RAISE(ABORT, 'deal_events is append-only'); END;"
    "CREATE TRIGGER deal_events_no_delete BEFORE DELETE ON deal_events"
    "  BEGIN SELECT RAISE(ABORT, 'deal_events is append-only'); END;"
    "CREATE TABLE pow_rounds ("
    "  round INTEGER NOT NULL,"
    "  provider BLOB NOT NULL CHECK (length(provider) = 20),"
    "  challenge BLOB NOT NULL CHECK (length(challenge) = 32),"
    "  target BLOB NOT NULL CHECK (length(target) = 32),"
    "  window_end_s INTEGER NOT NULL,"
    "  created_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (round, provider)"
    ");"
    "CREATE INDEX pow_rounds_by_provider ON pow_rounds (provider, round);"
    "CREATE TABLE pow_submissions ("
    "  round INTEGER NOT NULL,"
    "  provider BLOB NOT NULL,"
    "  nonce BLOB NOT NULL CHECK (length(nonce) = 32),"
    "  digest BLOB NOT NULL CHECK (length(digest) = 32),"
    "  hashes_counted INTEGER NOT NULL,"
    "  window_ms INTEGER NOT NULL,"
    "  submitted_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (round, provider),"
    "  FOREIGN KEY (round, provider) REFERENCES pow_rounds (round, provider)"
    ");",
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

int lp_ledger_schema_version(void)
{
    return MIGRATION_COUNT;
}

/* mkdir -p for the directory holding `file`; private (0700) because the ledger is the node's
 * own record. */
static int make_parent_dirs(struct lp_ledger *l, const char *file)
{
    char dir[sizeof(l->path)];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return LP_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return lp_ledger_fail(l, LP_ERR, "cannot create directory %s: %s", dir,
                                  strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return lp_ledger_fail(l, LP_ERR, "cannot create directory %s: %s", dir, strerror(errno));
    return LP_OK;
}

int lp_ledger_sql_fail(struct lp_ledger *l, const char *what)
{
    if (l->busy_cancelled)
        return lp_ledger_fail(l, LP_ERR,
                              "%s: %s: cancelled while waiting for another connection's write "
                              "lock",
                              l->path, what);
    return lp_ledger_fail(l, LP_ERR, "%s: %s: %s", l->path, what,
                          l->db != NULL ? sqlite3_errmsg(l->db) : "no database");
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * SQLite calls this while another connection holds the lock it needs (attempt counts from 0 for
 * each wait). It is sqlite3_busy_timeout's wait, cut into short sleeps with the core's
 * cancellation checked before each: nonzero waits again, zero gives up (the statement then
 * fails with SQLITE_BUSY and the transaction changed nothing). The real clock, not the host's:
 * this is a wait, not a timestamp.
 */
static int busy_wait(void *arg, int attempt)
{
    static const unsigned delays_ms[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50};
    struct lp_ledger *l = arg;
    uint64_t now = monotonic_ns();
    if (attempt == 0)
        l->busy_since_ns = now;
    if (lp_ledger_cancelled(l, l->call)) {
        l->busy_cancelled = true;
        return 0;
    }
    uint64_t waited_ms = (now - l->busy_since_ns) / 1000000u;
    if (waited_ms >= BUSY_TIMEOUT_MS)
        return 0;
    size_t n = sizeof(delays_ms) / sizeof(delays_ms[0]);
    uint64_t ms = (size_t)attempt < n ? delays_ms[attempt] : BUSY_SLICE_MS;
    if (ms > BUSY_TIMEOUT_MS - waited_ms)
        ms = BUSY_TIMEOUT_MS - waited_ms;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 1;
}

int lp_ledger_prepare(struct lp_ledger *l, const char *sql, sqlite3_stmt **out)
{
    if (sqlite3_prepare_v2(l->db, sql, -1, out, NULL) != SQLITE_OK)
        return lp_ledger_sql_fail(l, "prepare");
    return LP_OK;
}

static int exec(struct lp_ledger *l, const char *sql, const char *what)
{
    if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return lp_ledger_sql_fail(l, what);
    return LP_OK;
}

int lp_ledger_begin(struct lp_ledger *l)
{
    /* IMMEDIATE takes the write lock before the state is read, so a check-then-write is atomic
     * even against another process that has the same file open. */
    return exec(l, "BEGIN IMMEDIATE", "begin transaction");
}

int lp_ledger_commit(struct lp_ledger *l)
{
    int rc = exec(l, "COMMIT", "commit");
    if (rc != LP_OK)
        lp_ledger_rollback(l);
    return rc;
}

void lp_ledger_rollback(struct lp_ledger *l)
{
    if (!sqlite3_get_autocommit(l->db))
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

static int read_int_pragma(struct lp_ledger *l, const char *sql, int *out)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l, sql, &st) != LP_OK)
        return LP_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? LP_OK : lp_ledger_sql_fail(l, sql);
}

static int migrate(struct lp_ledger *l)
{
    int version = 0;
    if (read_int_pragma(l, "PRAGMA user_version", &version) != LP_OK)
        return LP_ERR;
    if (version > MIGRATION_COUNT)
        return lp_ledger_fail(l, LP_EINVAL,
                              "%s: schema version %d is newer than this build knows (%d); "
                              "use a newer lilypad or another ledger path",
                              l->path, version, MIGRATION_COUNT);
    for (int v = version; v < MIGRATION_COUNT; v++) {
        if (lp_ledger_begin(l) != LP_OK)
            return LP_ERR;
        /* Re-read inside the write lock: another process may have migrated meanwhile. */
        int now = 0;
        if (read_int_pragma(l, "PRAGMA user_version", &now) != LP_OK) {
            lp_ledger_rollback(l);
            return LP_ERR;
        }
        if (now > v) {
            lp_ledger_rollback(l);
            v = now - 1;
            continue;
        }
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
        char what[64];
        snprintf(what, sizeof(what), "migration to schema %d", v + 1);
        if (exec(l, migrations[v], what) != LP_OK || exec(l, bump, what) != LP_OK) {
            lp_ledger_rollback(l);
            return LP_ERR;
        }
        if (lp_ledger_commit(l) != LP_OK)
            return LP_ERR;
    }
    return LP_OK;
}

int lp_ledger_db_open(struct lp_ledger *l, const char *synchronous)
{
    if (make_parent_dirs(l, l->path) != LP_OK)
        return LP_ERR;
    /* NOMUTEX: the instance mutex already serialises every use of this connection (see
     * ledger_plugin.c), so SQLite's own per-call mutex would be paid for nothing. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(l->path, &l->db, flags, NULL) != SQLITE_OK) {
        int rc = lp_ledger_sql_fail(l, "open");
        sqlite3_close(l->db);
        l->db = NULL;
        return rc;
    }
    sqlite3_extended_result_codes(l->db, 1);
    /* Waits for another process's write lock instead of failing at once with SQLITE_BUSY. */
    sqlite3_busy_handler(l->db, busy_wait, l);

    sqlite3_stmt *st;
    if (lp_ledger_prepare(l, "PRAGMA journal_mode = WAL", &st) != LP_OK)
        return LP_ERR;
    int rc = sqlite3_step(st);
    char mode[16] = "";
    if (rc == SQLITE_ROW)
        snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return lp_ledger_sql_fail(l, "PRAGMA journal_mode = WAL");
    if (strcmp(mode, "wal") != 0)
        return lp_ledger_fail(l, LP_ERR,
                              "%s: the file system refused WAL mode (journal_mode is %s); put "
                              "the ledger on a local disk",
                              l->path, mode);

    const char *sync_sql = strcmp(synchronous, "full") == 0 ? "PRAGMA synchronous = FULL"
                                                            : "PRAGMA synchronous = NORMAL";
    if (exec(l, "PRAGMA foreign_keys = ON", "PRAGMA foreign_keys") != LP_OK ||
        exec(l, sync_sql, "PRAGMA synchronous") != LP_OK)
        return LP_ERR;
    int fk = 0;
    if (read_int_pragma(l, "PRAGMA foreign_keys", &fk) != LP_OK)
        return LP_ERR;
    if (fk != 1)
        return lp_ledger_fail(l, LP_ERR, "%s: this SQLite has no foreign key support", l->path);
    return migrate(l);
}

void lp_ledger_db_close(struct lp_ledger *l)
{
    if (l->db != NULL) {
        /* Every statement is finalised by the operation that prepared it, so close succeeds. */
        sqlite3_close(l->db);
        l->db = NULL;
    }
}
