/* What a request may do before the solver does any work for it: the per-address rate limit,
 * upload quotas, the cap on concurrent long-polls (all in memory, limits.h), the store's health,
 * and the periodic upkeep (garbage collection, dropping idle counters) on the timeout thread. */
#include <stdio.h>
#include <string.h>

#include "solver/solver_impl.h"
#include "util/log.h"

/* Idle per-address counters are dropped this often. */
#define SWEEP_INTERVAL_MS 60000u

static void table_full(struct lp_solver *s, struct lp_solver_status *st)
{
    lp_solver_status_set(st, 503, "the solver is tracking too many addresses; retry later",
                         "busy: too many addresses are active");
    lp_solver_count(s, &s->metrics.rejected, 1);
}

int lp_solver_rate_check(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                         struct lp_solver_status *st)
{
    if (s->cfg.rate_limit == 0)
        return 0;
    uint64_t used = 0, reset = 0;
    if (lp_limits_take(s->limits, caller, LP_LIMIT_REQUESTS, 1, s->cfg.rate_limit,
                       s->cfg.rate_window_ms, lp_solver_now_ms(), &used, &reset))
        return 0;
    if (used == UINT64_MAX) {
        table_full(s, st);
        return -1;
    }
    char hint[160];
    snprintf(hint, sizeof hint,
             "at most %llu signed requests per %llu ms per address; retry in %llu ms",
             (unsigned long long)s->cfg.rate_limit,
             (unsigned long long)(s->cfg.rate_window_ms ? s->cfg.rate_window_ms : 1),
             (unsigned long long)reset);
    lp_solver_status_set(st, 429, hint, "rate limit exceeded: %llu requests in this window",
                         (unsigned long long)used + 1);
    lp_solver_count(s, &s->metrics.rejected, 1);
    return -1;
}

int lp_solver_upload_admit(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           uint64_t bytes, struct lp_solver_status *st)
{
    uint64_t now = lp_solver_now_ms(), w = s->cfg.upload_window_ms;
    uint64_t files = 0, used = 0, reset = 0;
    if (!lp_limits_take(s->limits, caller, LP_LIMIT_UPLOAD_FILES, 1, s->cfg.upload_quota_files, w,
                        now, &files, &reset)) {
        if (files == UINT64_MAX) {
            table_full(s, st);
            return -1;
        }
        char hint[200];
        snprintf(hint, sizeof hint,
                 "at most %llu uploads per %llu s per address (solver.upload_quota_files); retry "
                 "in %llu s",
                 (unsigned long long)s->cfg.upload_quota_files, (unsigned long long)(w / 1000),
                 (unsigned long long)(reset + 999) / 1000);
        lp_solver_status_set(st, 429, hint, "upload quota exceeded: %llu files in this window",
                             (unsigned long long)files);
        lp_solver_count(s, &s->metrics.rejected, 1);
        return -1;
    }
    if (!lp_limits_take(s->limits, caller, LP_LIMIT_UPLOAD_BYTES, bytes, s->cfg.upload_quota_bytes,
                        w, now, &used, &reset)) {
        /* The file was counted but not taken: give the count back. */
        uint64_t ignored, ignored2;
        lp_limits_take(s->limits, caller, LP_LIMIT_UPLOAD_FILES, 0, 0, w, now, &ignored, &ignored2);
        if (used == UINT64_MAX) {
            table_full(s, st);
            return -1;
        }
        char hint[200];
        snprintf(hint, sizeof hint,
                 "at most %llu bytes uploaded per %llu s per address (solver.upload_quota); "
                 "retry in %llu s",
                 (unsigned long long)s->cfg.upload_quota_bytes, (unsigned long long)(w / 1000),
                 (unsigned long long)(reset + 999) / 1000);
        lp_solver_status_set(st, 429, hint,
                             "upload quota exceeded: %llu bytes uploaded in this window, %llu "
                             "more asked",
                             (unsigned long long)used, (unsigned long long)bytes);
        lp_solver_count(s, &s->metrics.rejected, 1);
        return -1;
    }
    return 0;
}

int lp_solver_long_poll_take(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                             struct lp_solver_status *st)
{
    uint64_t held = 0;
    if (lp_limits_gauge_take(s->limits, caller, s->cfg.max_long_polls, &held))
        return 0;
    if (held == UINT64_MAX) {
        table_full(s, st);
        return -1;
    }
    char hint[200];
    snprintf(hint, sizeof hint,
             "at most %llu event long-polls (wait > 0) open at once per address "
             "(solver.max_long_polls); wait for one to return, or poll with wait=0",
             (unsigned long long)s->cfg.max_long_polls);
    lp_solver_status_set(st, 429, hint, "too many long-polls: %llu are open for this address",
                         (unsigned long long)held);
    lp_solver_count(s, &s->metrics.rejected, 1);
    return -1;
}

void lp_solver_long_poll_give(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN])
{
    lp_limits_gauge_give(s->limits, caller);
}

int lp_solver_health(struct lp_solver *s, struct lp_solver_status *st)
{
    struct lp_store_error e;
    int rc = s->store->ops->health(s->store, &e);
    if (rc == LP_STORE_OK)
        return 0;
    lp_solver_status_set(st, 503,
                         rc == LP_STORE_FULL ? "free disk space under the solver's data_dir"
                                             : "see the solver's log",
                         "%s", e.message);
    return -1;
}

void lp_solver_note_io(struct lp_solver *s, const char *what, int errnum)
{
    s->store->ops->note_io(s->store, what, errnum);
}

int lp_solver_gc(struct lp_solver *s, uint64_t now_ms, struct lp_store_gc_stats *out)
{
    memset(out, 0, sizeof *out);
    if (s->cfg.retention_ms == 0 || now_ms < s->cfg.retention_ms)
        return 0;
    struct lp_store_error e;
    int rc = s->store->ops->gc(s->store, now_ms - s->cfg.retention_ms, out, &e);
    if (rc != LP_STORE_OK) {
        lp_warn("solver: garbage collection stopped: %s", e.message);
        return -1;
    }
    if (out->deals || out->offers || out->events || out->files || out->staged)
        lp_info("solver: gc: deleted %llu deals, %llu offers, %llu events, %llu files and %llu "
                "unfinished uploads older than the retention",
                (unsigned long long)out->deals, (unsigned long long)out->offers,
                (unsigned long long)out->events, (unsigned long long)out->files,
                (unsigned long long)out->staged);
    return 0;
}

void lp_solver_housekeeping(struct lp_solver *s, uint64_t now_ms)
{
    uint64_t mono = lp_solver_mono_ms();
    if (s->cfg.retention_ms && s->cfg.gc_interval_ms && mono >= s->next_gc_mono_ms) {
        struct lp_store_gc_stats stats;
        lp_solver_gc(s, now_ms, &stats);
        s->next_gc_mono_ms = lp_solver_mono_ms() + s->cfg.gc_interval_ms;
    }
    if (mono >= s->next_sweep_mono_ms) {
        lp_limits_sweep(s->limits, now_ms);
        s->next_sweep_mono_ms = mono + SWEEP_INTERVAL_MS;
    }
}
