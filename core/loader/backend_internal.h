/* A backend's insides, for core/dispatch only: the one place that reads a plugin's ops table
 * and calls into it. Nothing else includes this header. */
#ifndef LP_LOADER_BACKEND_INTERNAL_H
#define LP_LOADER_BACKEND_INTERNAL_H

#include <pthread.h>

#include "host/host.h"
#include "loader/backend.h"

struct lp_config_values;

/*
 * Lock order: a backend's `lock` is a leaf among the core's locks. It is taken by the dispatch
 * layer around one plugin call and released before the dispatch returns or sleeps; no core
 * lock is taken while it is held, except the ones the host services take inside (logging,
 * metrics), which take nothing further.
 */
struct lp_backend {
    struct lp_plugin_handle plugin;
    struct lp_host_binding host;
    struct lp_config_values *values;
    void *instance;
    bool started;
    bool serialise; /* the plugin is not LP_CAP_THREADSAFE: one call at a time */
    pthread_mutex_t lock;
    struct lp_retry_policy retry;
    char label[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX + 2];
};

/*
 * Copies the ops member at `offset` (of `size` bytes) into *out when the plugin's ops table, as
 * the plugin was built, reaches past it; zeroes *out otherwise. The bounds are checked before
 * the member is read, so a table shorter than this core's struct is never read past its end.
 */
void lp_backend_op(const struct lp_backend *b, size_t offset, size_t size, void *out);

#define LP_BACKEND_OP(b, ops_type, member, var)                                                    \
    do {                                                                                           \
        _Static_assert(sizeof(var) == sizeof(((ops_type *)0)->member), "op type");                 \
        lp_backend_op((b), offsetof(ops_type, member), sizeof(var), &(var));                       \
    } while (0)

#endif
