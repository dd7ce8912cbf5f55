/*
 * What opening a concern's configured backend would do on this machine, without creating or
 * starting anything: each plugin is found, checked, configured and probed the way
 * lp_backend_open does it, "auto" included. `lilypad config check` prints the findings.
 */
#ifndef LP_LOADER_BACKEND_CHECK_H
#define LP_LOADER_BACKEND_CHECK_H

#include <stddef.h>

#include "config/config.h"
#include "loader/loader.h"

enum lp_backend_verdict {
    LP_BACKEND_USABLE, /* the plugin the concern would use: found, checked and probed */
    LP_BACKEND_PASSED, /* a plugin "auto" would pass over, as expected on this machine */
    LP_BACKEND_FAILS,  /* a plugin that would fail: the concern gets no backend, or the run
                          warns (a broken copy skipped, a vendor asked for by name missing) */
};

struct lp_backend_finding {
    const char *concern;
    enum lp_backend_verdict verdict;
    const struct lp_plugin_handle *plugin; /* its state, path and message */
    const char *reason;                    /* why it cannot be used; "" when usable */
    const char *note;                      /* "auto's fallback", "skipped, using PATH"; or "" */
};

typedef void (*lp_backend_finding_fn)(void *arg, const struct lp_backend_finding *finding);

/* Reports every plugin the concern's backend setting would touch, in the order the loader
 * would. -1 with err only when the settings themselves do not load. */
int lp_backend_check(const struct lp_config *cfg, const char *concern, lp_backend_finding_fn fn,
                     void *arg, char *err, size_t errlen);

#endif
