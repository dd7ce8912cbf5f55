/* SQLite journal of the provider's deals (see journal.h). */
#include "provider/journal.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "util/log.h"

#define DISK_FULL_LOG_MS (10u * 60u * 1000u)

struct lp_journal {
    sqlite3 *db;
    char path[4096];
    /* A full disk is logged once, and again at most every DISK_FULL_LOG_MS while it lasts. */
    atomic_uint_least64_t full_logged_ms;
};

static const char SCHEMA[] = "CREATE TABLE IF NOT EXISTS deals ("
                             " deal_id BLOB PRIMARY KEY,"
                             " step INTEGER NOT NULL,"
                             " slot INTEGER NOT NULL,"
                             " handle TEXT NOT NULL,"
                             " cid TEXT NOT NULL,"
                             " exit_code INTEGER NOT NULL,"
                             " error TEXT NOT NULL,"
                             " updated_ms INTEGER NOT NULL,"
                             " termination INTEGER NOT NULL DEFAULT 0)";

/* A journal written before the termination column gets it (0, unknown, for its old rows). */
static int add_termination_column(sqlite3 *db, char **msg)
{
    sqlite3_stmt *st = NULL;
    bool has = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM pragma_table_info('deals') WHERE name = 'termination'",
                           -1, &st, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (has)
        return SQLITE_OK;
    return sqlite3_exec(db, "ALTER TABLE deals ADD COLUMN termination INTEGER NOT NULL DEFAULT 0",
                        NULL, NULL, msg);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int lp_journal_open(const char *path, struct lp_journal **out, char *err, size_t errlen)
{
    *out = NULL;
    struct lp_journal *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "journal: out of memory");
        return -1;
    }
    int rc = sqlite3_open_v2(
        path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(j->db, 5000);
        rc = sqlite3_exec(j->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                          &msg);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(j->db, SCHEMA, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        rc = add_termination_column(j->db, &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "journal %s: %s (hint: is the work_dir writable?)", path,
                 msg ? msg : sqlite3_errmsg(j->db));
        sqlite3_free(msg);
        sqlite3_close(j->db);
        free(j);
        return -1;
    }
    snprintf(j->path, sizeof j->path, "%s", path);
    *out = j;
    return 0;
}

void lp_journal_close(struct lp_journal *j)
{
    if (!j)
        return;
    sqlite3_close(j->db);
    free(j);
}

int lp_journal_put(struct lp_journal *j, struct lp_journal_entry *e)
{
    e->updated_ms = now_ms();
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->db,
                                "INSERT OR REPLACE INTO deals (deal_id, step, slot, handle, cid, "
                                "exit_code, error, updated_ms, termination) "
                                "VALUES (?,?,?,?,?,?,?,?,?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, e->deal_id, LP_WIRE_ID_LEN, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, e->step);
        sqlite3_bind_int(st, 3, e->slot);
        sqlite3_bind_text(st, 4, e->handle, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, e->cid, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, e->exit_code);
        sqlite3_bind_text(st, 7, e->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)e->updated_ms);
        sqlite3_bind_int64(st, 9, e->termination);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    if ((sqlite3_extended_errcode(j->db) & 0xff) == SQLITE_FULL) {
        uint64_t last = atomic_load(&j->full_logged_ms), now = e->updated_ms;
        if ((last == 0 || now - last >= DISK_FULL_LOG_MS) &&
            atomic_compare_exchange_strong(&j->full_logged_ms, &last, now ? now : 1))
            lp_error("provider: the journal %s cannot be written: the disk is full; deals in "
                     "flight cannot record their progress, and a restart would redo or lose "
                     "their last steps (hint: free space on the disk holding work_dir)",
                     j->path);
        return -1;
    }
    lp_error("provider: journal write failed: %s", sqlite3_errmsg(j->db));
    return -1;
}

static void row(sqlite3_stmt *st, struct lp_journal_entry *e)
{
    memset(e, 0, sizeof *e);
    if (sqlite3_column_bytes(st, 0) == LP_WIRE_ID_LEN)
        memcpy(e->deal_id, sqlite3_column_blob(st, 0), LP_WIRE_ID_LEN);
    e->step = sqlite3_column_int(st, 1);
    e->slot = sqlite3_column_int(st, 2);
    snprintf(e->handle, sizeof e->handle, "%s", (const char *)sqlite3_column_text(st, 3));
    snprintf(e->cid, sizeof e->cid, "%s", (const char *)sqlite3_column_text(st, 4));
    e->exit_code = sqlite3_column_int(st, 5);
    snprintf(e->error, sizeof e->error, "%s", (const char *)sqlite3_column_text(st, 6));
    e->updated_ms = (uint64_t)sqlite3_column_int64(st, 7);
    e->termination = (uint32_t)sqlite3_column_int64(st, 8);
}

int lp_journal_get(struct lp_journal *j, const uint8_t deal_id[LP_WIRE_ID_LEN],
                   struct lp_journal_entry *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT deal_id, step, slot, handle, cid, exit_code, error, updated_ms, "
                           "termination "
                           "FROM deals WHERE deal_id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_blob(st, 1, deal_id, LP_WIRE_ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int result = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
    if (rc == SQLITE_ROW)
        row(st, out);
    sqlite3_finalize(st);
    return result;
}

int lp_journal_scan_unfinished(struct lp_journal *j, lp_journal_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT deal_id, step, slot, handle, cid, exit_code, error, updated_ms, "
                           "termination "
                           "FROM deals WHERE step < ? ORDER BY updated_ms",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, LP_JSTEP_POSTED);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct lp_journal_entry e;
        row(st, &e);
        fn(ctx, &e);
        n++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? n : -1;
}

const char *lp_journal_step_name(int step)
{
    static const char *const names[] = {"?",      "taken",    "running", "ran",
                                        "stored", "uploaded", "posted",  "abandoned"};
    return step >= 1 && step <= 7 ? names[step] : names[0];
}
