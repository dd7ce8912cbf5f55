/*
 * The dispatch layer: the only way the core calls into a plugin. One file per concern
 * (executor.h, storage.h, verifier.h, hashrate.h) wraps each op so that every call
 *   - finds the op only within the plugin's ops_size (a plugin built against an older minor
 *     has a shorter table), preferring the ABI 1.1 form of an op and falling back to the 1.0
 *     form; an op the plugin lacks is LP_ENOTSUP with a message, never a crash;
 *   - holds the backend's lock unless the plugin declares LP_CAP_THREADSAFE;
 *   - retries LP_RETRY with back-off, up to the backend's retry policy, unless the call's
 *     cancellation token fires (the lock is dropped while it sleeps);
 *   - captures the failure's text once, right after the call and under the same lock: the
 *     plugin's last_error(), else what it logged as an error during the call.
 * The required ops of each concern are checked when a plugin is loaded (lp_dispatch_missing_op).
 */
#ifndef LP_DISPATCH_DISPATCH_H
#define LP_DISPATCH_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

/* A failed plugin call: its result code and one line, "storage/ipfs: put: <why>". */
struct lp_plugin_error {
    int rc; /* enum lp_rc; LP_RETRY when the retries ran out */
    char message[768];
};

/*
 * The first op that `concern` requires and the table lacks (NULL, or past ops_size), for the
 * loader's descriptor checks: NULL when none is missing. *offset receives where the op sits in
 * this core's struct, so the caller can tell a short table from a NULL member.
 */
const char *lp_dispatch_missing_op(uint32_t concern, const void *ops, uint32_t ops_size,
                                   size_t *offset);

#endif
