/*
 * A concern's backend: the plugin chosen by the configuration, loaded, configured, probed,
 * created and started, with the host table it was given. This is what the roles (provider,
 * solver, CLI tools) hold; they call the plugin only through core/dispatch (one file per
 * concern), never through its ops table, and never touch dlopen or schemas themselves.
 */
#ifndef LP_LOADER_BACKEND_H
#define LP_LOADER_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include <lilypad/plugin.h>

#include "config/config.h"
#include "loader/loader.h"

struct lp_backend;

/* --plugin-path from the command line, searched before everything else (may be NULL). */
void lp_loader_set_cli_path(const char *dirs);
const char *lp_loader_cli_path(void);

/*
 * Resolves the concern's backend from cfg (NULL = all defaults), or `backend` when not NULL.
 * "auto" (hashrate) walks probe_order as narrowed by the top-level gpu setting (nvidia: cuda,
 * amd: rocm, none: no GPU plugin) and falls back to the embedded cpu plugin; an explicitly
 * named backend that cannot be used is an error. On failure returns -1 with one line in err.
 */
int lp_backend_open(const struct lp_config *cfg, const char *concern, const char *backend,
                    struct lp_backend **out, char *err, size_t errlen);
void lp_backend_close(struct lp_backend *b); /* stop + destroy */

const struct lp_plugin *lp_backend_descriptor(const struct lp_backend *b);
const struct lp_plugin_handle *lp_backend_plugin(const struct lp_backend *b);
/* "storage/ipfs", for messages. */
const char *lp_backend_label(const struct lp_backend *b);

/* How the dispatch layer retries a call that returned LP_RETRY: up to `attempts` calls in
 * all, sleeping first_delay_ms, then twice as long each time up to max_delay_ms. */
struct lp_retry_policy {
    unsigned attempts;
    uint64_t first_delay_ms;
    uint64_t max_delay_ms;
};
void lp_backend_set_retry(struct lp_backend *b, const struct lp_retry_policy *policy);

/*
 * Builds an instance of an already opened plugin: validates its group of cfg, probes and
 * creates it (no start). Used by `lilypad plugins` to show each plugin's final state; on
 * failure the handle's state and message say why. On success *out owns the handle's plugin.
 */
int lp_backend_from_handle(const struct lp_config *cfg, const char *gpu, struct lp_plugin_handle *h,
                           struct lp_backend **out, char *err, size_t errlen);

#endif
