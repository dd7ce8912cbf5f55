/* The core's calls into its hashrate backend (api/lilypad/hashrate.h), with the dispatch rules
 * of dispatch.h. mine() of a thread-safe plugin runs unlocked, so the miner's device threads
 * hash in parallel; each device has one miner thread, which serialises calls per device. */
#ifndef LP_DISPATCH_HASHRATE_H
#define LP_DISPATCH_HASHRATE_H

#include <lilypad/hashrate.h>

#include "dispatch/dispatch.h"
#include "loader/backend.h"

int lp_hashrate_device_count(struct lp_backend *b, uint32_t *count, struct lp_plugin_error *err);
/* *out is this core's struct; members an older plugin did not write are "" or zero. */
int lp_hashrate_device_info(struct lp_backend *b, uint32_t device, struct lp_hashrate_device *out,
                            struct lp_plugin_error *err);
int lp_hashrate_mine(struct lp_backend *b, uint32_t device, const struct lp_pow_work *work,
                     const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                     struct lp_pow_solution *solutions, size_t max_solutions, size_t *found,
                     struct lp_plugin_error *err);

#endif
