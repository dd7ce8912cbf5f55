/*
 * The background miner: one thread per device of a hashrate backend, each calling mine() on
 * consecutive nonce batches of the current work (no gap, no overlap: one shared cursor), adding
 * the hashes to a meter and handing winners to a callback.
 *
 * Duty cycle: with duty d in (0, 1], a device that spent t mining sleeps t (1 - d) / d before
 * its next batch. Pause/resume per device: a provider pauses mining on a GPU while a job uses
 * it; lp_miner_pause() returns once that device's current mine() call has finished, so the GPU
 * is free when it returns. Batches aim at batch_ms of work (measured rate x time), so pause,
 * new work and stop are answered within about that long.
 *
 * The caller (the provider's mining.c) fetches each round's challenge, sets it as the work and
 * submits the solutions; the miner only hashes.
 */
#ifndef LP_POW_MINER_H
#define LP_POW_MINER_H

#include <stdbool.h>
#include <stdint.h>

#include <lilypad/hashrate.h>

#include "loader/backend.h"
#include "pow/hashrate.h"

struct lp_miner;

typedef void (*lp_miner_solution_fn)(void *ctx, uint32_t device, const struct lp_pow_work *work,
                                     const struct lp_pow_solution *solution);

struct lp_miner_config {
    struct lp_backend *backend;       /* a hashrate backend, called through core/dispatch */
    uint32_t devices;                 /* miner devices 0 .. devices-1 (meter slots, pause index) */
    const uint32_t *device_ids;       /* backend device of miner device i; NULL = i */
    double duty;                      /* 0 < duty <= 1; 0 means 1 */
    uint32_t batch_ms;                /* target length of one mine() call; 0 = 250 */
    uint64_t first_batch;             /* nonces in a device's first batch; 0 = 2^20 */
    struct lp_hashrate_meter *meter;  /* may be NULL */
    lp_miner_solution_fn on_solution; /* may be NULL */
    void *ctx;
};

/* Starts the device threads, idle until lp_miner_set_work(). NULL (logged) on failure. */
struct lp_miner *lp_miner_start(const struct lp_miner_config *cfg);
/* Stops and joins every thread, then frees the miner. */
void lp_miner_stop(struct lp_miner *m);

/* New work: mining restarts at nonce `start` (NULL = 0) from the devices' next batch. */
void lp_miner_set_work(struct lp_miner *m, const struct lp_pow_work *work, const uint8_t start[32]);
void lp_miner_clear_work(struct lp_miner *m);
void lp_miner_set_duty(struct lp_miner *m, double duty);

/* Pause returns when the device is idle; both are no-ops for an unknown device. */
void lp_miner_pause(struct lp_miner *m, uint32_t device);
void lp_miner_resume(struct lp_miner *m, uint32_t device);
bool lp_miner_paused(struct lp_miner *m, uint32_t device);

/* Hashes done so far. */
uint64_t lp_miner_hashes(struct lp_miner *m);
/* The last failed mine() call: its rc (LP_OK if none) and its message in buf. */
int lp_miner_last_error(struct lp_miner *m, char *buf, size_t len);

#endif
