/* The provider's journal: one SQLite row per deal saying how far this provider got with it, so
 * a restart (SIGKILL included) resumes or fails every deal in flight instead of losing it.
 * Steps only move forward; each is committed before the action that depends on it:
 *   TAKEN     the deal is ours and allowed; nothing ran yet (a restart starts it over)
 *   RUNNING   submitted to the executor under `handle` (a restart polls the handle again; an
 *             executor that lost it makes the deal fail with a posted reason)
 *   RAN       the job ended (exit code, termination); stdout, stderr and outputs are in the
 *             deal's folder
 *   STORED    the result folder is in the storage backend under `cid`
 *   UPLOADED  the outputs blob reached the solver
 *   POSTED    the signed result is at the solver (final)
 *   ABANDONED the deal ended without our result (refused, cancelled, timed out; final)
 * WAL with synchronous=FULL: a step that returned is on disk. Thread-safe. */
#ifndef LP_PROVIDER_JOURNAL_H
#define LP_PROVIDER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

enum lp_journal_step {
    LP_JSTEP_TAKEN = 1,
    LP_JSTEP_RUNNING = 2,
    LP_JSTEP_RAN = 3,
    LP_JSTEP_STORED = 4,
    LP_JSTEP_UPLOADED = 5,
    LP_JSTEP_POSTED = 6,
    LP_JSTEP_ABANDONED = 7,
};

struct lp_journal_entry {
    uint8_t deal_id[LP_WIRE_ID_LEN];
    int step;             /* enum lp_journal_step */
    int slot;             /* the offer slot the deal took; -1 none */
    char handle[128];     /* executor handle (RUNNING) */
    char cid[128];        /* STORED and later */
    int32_t exit_code;    /* RAN and later */
    uint32_t termination; /* RAN and later: how the job ended (enum lp_termination) */
    char error[1024];     /* why the job failed or was refused ("" none) */
    uint64_t updated_ms;
};

struct lp_journal;

int lp_journal_open(const char *path, struct lp_journal **out, char *err, size_t errlen);
void lp_journal_close(struct lp_journal *j);

/* Inserts or replaces the deal's row (updated_ms is set here). 0 or -1 (logged). */
int lp_journal_put(struct lp_journal *j, struct lp_journal_entry *e);
/* 0 found, 1 unknown deal, -1 error. */
int lp_journal_get(struct lp_journal *j, const uint8_t deal_id[LP_WIRE_ID_LEN],
                   struct lp_journal_entry *out);
/* Calls fn for every deal not yet POSTED or ABANDONED, oldest first. Returns the count, -1 on
 * error. */
typedef void (*lp_journal_fn)(void *ctx, const struct lp_journal_entry *e);
int lp_journal_scan_unfinished(struct lp_journal *j, lp_journal_fn fn, void *ctx);

const char *lp_journal_step_name(int step);

#endif
