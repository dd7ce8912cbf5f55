/* Deadlines for an executor's blocking wait(), which sleeps on a condition variable set to
 * CLOCK_MONOTONIC (pthread_condattr_setclock): absolute times on that clock, compared.
 * Header-only and static: plugins link nothing of each other or of the core. */
#ifndef LP_EXECUTOR_WAIT_DEADLINE_H
#define LP_EXECUTOR_WAIT_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Ten years is forever for a job, and keeps the arithmetic in range. */
#define LP_WAIT_FOREVER_MS (UINT64_C(10) * 365 * 24 * 3600 * 1000)

/* CLOCK_MONOTONIC now plus ms (at most LP_WAIT_FOREVER_MS). */
static inline struct timespec lp_monotonic_after(uint64_t ms)
{
    if (ms > LP_WAIT_FOREVER_MS)
        ms = LP_WAIT_FOREVER_MS;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static inline bool lp_timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#endif
