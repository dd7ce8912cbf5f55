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
 * Not here yet (lands with the network issue): asking the verifier for a round's challenge and
 * recording submissions in the ledger; the caller sets the work and gets the solutions.
 */
#ifndef LP_POW_MINER_H
#define LP_POW_MINER_H

#include <stdbool.h>
#include <stdint.h>

#include <lilypad/hashrate.h>

#include "pow/hashrate.h"

struct lp_miner;

typedef void (*lp_miner_solution_fn)(void *ctx, uint32_t device, const struct lp_pow_work *work,
                                     const struct lp_pow_solution *solution);

struct lp_miner_config {
    const struct lp_hashrate_ops *ops; /* the backend's ops and instance */
    void *instance;
    uint32_t devices;                 /* miner devices 0 .. devices-1 (meter slots, pause index) */
    const uint32_t *device_ids;       /* backend device of miner device i; NULL = i */
    double duty;                      /* 0 < duty <= 1; 0 means 1 */
    uint32_t batch_ms;                /* target length of one mine() call; 0 = 250 */
    uint64_t first_batch;             /* nonces in a device's first batch; 0 = 2^20 */
    struct lp_hashrate_meter *meter;  /* may be NULL */
    lp_miner_solution_fn on_solution; /* may be NULL */
    void *ctx;
    /* serialises mine() calls of a non-thread-safe plugin; may be NULL */
    void (*lock)(void *lock_ctx);
    void (*unlock)(void *lock_ctx);
    void *lock_ctx;
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

/* Hashes done so far and the last mine() error (0 if none). */
uint64_t lp_miner_hashes(struct lp_miner *m);
int lp_miner_last_rc(struct lp_miner *m);

#endif
