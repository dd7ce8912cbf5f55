/* Per-address counters in memory: fixed-window rates and quotas (signed requests, upload bytes,
 * upload files) and gauges (event long-polls open now). Lost on restart, which only forgives
 * one window's use.
 *
 * Every address that signs a request gets an entry, and keys cost nothing to make, so entries
 * whose windows are over and whose gauges are zero are dropped by lp_limits_sweep, and the
 * table refuses new addresses beyond LP_LIMITS_MAX_ENTRIES (the caller answers "busy").
 * Thread-safe. */
#ifndef LP_SOLVER_LIMITS_H
#define LP_SOLVER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_LIMITS_MAX_ENTRIES (1u << 20)

enum lp_limit_counter {
    LP_LIMIT_REQUESTS = 0,
    LP_LIMIT_UPLOAD_BYTES,
    LP_LIMIT_UPLOAD_FILES,
    LP_LIMIT_COUNTERS,
};

struct lp_limits;

struct lp_limits *lp_limits_new(void);
void lp_limits_free(struct lp_limits *l);

/* Adds n to the address's counter in the window of window_ms containing now_ms, unless that
 * would take it past `limit` (0: no limit). Returns true when added. *used gets the count
 * after the call (or before, when refused), *reset_ms how long until the window ends. false
 * with *used = UINT64_MAX when the table is full. */
bool lp_limits_take(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN],
                    enum lp_limit_counter counter, uint64_t n, uint64_t limit, uint64_t window_ms,
                    uint64_t now_ms, uint64_t *used, uint64_t *reset_ms);

/* Gauge of long-polls: takes one if fewer than max are held (true), else false. */
bool lp_limits_gauge_take(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN], uint64_t max,
                          uint64_t *held);
void lp_limits_gauge_give(struct lp_limits *l, const uint8_t addr[LP_WIRE_ADDR_LEN]);

/* Drops the entries that hold nothing any more; returns how many are left. */
size_t lp_limits_sweep(struct lp_limits *l, uint64_t now_ms);

#endif
