/*
 * Hashrate accounting: plugins report how many hashes they did (the miner adds each mine()
 * call's hashes_done as it returns); the core turns them into rates over fixed windows of
 * 10 s, 60 s and 15 min. Each device keeps a ring of per-second buckets covering 15 min, so a
 * rate is the hashes counted in the last W whole seconds divided by W, never a time to first
 * solution (Lilypad's noisy method). Thread-safe.
 */
#ifndef LP_POW_HASHRATE_H
#define LP_POW_HASHRATE_H

#include <stdint.h>

#define LP_HASHRATE_WINDOW_MAX_S 900
#define LP_HASHRATE_ALL          UINT32_MAX /* the sum over devices */

struct lp_hashrate_meter;

struct lp_hashrate_rates {
    double r10s, r60s, r15m; /* hashes per second */
    uint64_t total;          /* hashes since the meter was created */
};

/* devices: how many device slots (indexes 0 .. devices-1). NULL on allocation failure. */
struct lp_hashrate_meter *lp_hashrate_meter_new(uint32_t devices, uint64_t now_ns);
void lp_hashrate_meter_free(struct lp_hashrate_meter *m);

/* Counts `hashes` done by `device`, at time now_ns (monotonic). */
void lp_hashrate_meter_add(struct lp_hashrate_meter *m, uint32_t device, uint64_t hashes,
                           uint64_t now_ns);

/*
 * Hashes per second over the last `window_s` whole seconds before now_ns (1 .. 900). While
 * the meter is younger than the window the divisor is its age in whole seconds (at least 1),
 * so a fresh meter reports the rate of what it has seen rather than a diluted one.
 */
double lp_hashrate_meter_rate(struct lp_hashrate_meter *m, uint32_t device, uint32_t window_s,
                              uint64_t now_ns);
void lp_hashrate_meter_rates(struct lp_hashrate_meter *m, uint32_t device, uint64_t now_ns,
                             struct lp_hashrate_rates *out);

#endif
