/* The machinery the per-concern dispatch files share (dispatch.h says what it guarantees):
 *
 *     struct lp_dispatch d;
 *     lp_dispatch_begin(&d, b, "put", call);
 *     int rc;
 *     do
 *         rc = op(lp_dispatch_instance(&d), ...);
 *     while (lp_dispatch_again(&d, rc));
 *     return lp_dispatch_end(&d, rc, err);
 */
#ifndef LP_DISPATCH_CALL_H
#define LP_DISPATCH_CALL_H

#include <stdbool.h>

#include "dispatch/dispatch.h"
#include "host/host.h"
#include "loader/backend_internal.h"

struct lp_dispatch {
    struct lp_backend *b;
    const char *op;
    const struct lp_call *call;
    unsigned attempt;
    uint64_t delay_ms;
    struct lp_host_capture capture;
    char text[512]; /* the failure's text, captured under the lock */
};

/* Takes the lock (when the plugin needs it) and starts capturing the plugin's error log. */
void lp_dispatch_begin(struct lp_dispatch *d, struct lp_backend *b, const char *op,
                       const struct lp_call *call);
void *lp_dispatch_instance(const struct lp_dispatch *d);
/* After each call: true when rc is LP_RETRY and another attempt is due (having slept, lock
 * released meanwhile). Captures the failure's text while still locked. */
bool lp_dispatch_again(struct lp_dispatch *d, int rc);
/* Releases the lock; fills err for a failed call. Returns rc. */
int lp_dispatch_end(struct lp_dispatch *d, int rc, struct lp_plugin_error *err);
/* For an op the plugin does not have: LP_ENOTSUP with "<label>: <op>: not supported ...". */
int lp_dispatch_unsupported(struct lp_backend *b, const char *op, struct lp_plugin_error *err);
/* Plain error for a call the dispatch refuses itself (bad arguments). */
int lp_dispatch_fail(struct lp_backend *b, const char *op, int rc, struct lp_plugin_error *err,
                     const char *fmt, ...) LP_PRINTF(5, 6);

/*
 * The body of a dispatch function for an op with a 1.0 form `name` and a 1.1 form `name`_v2
 * (storage and verifier): calls the 1.1 form when the plugin has it, else the 1.0 form, and
 * leaves the result in the caller's `rc`. The caller declares typedefs name_fn and name_v2_fn;
 * v2_args and v1_args are the parenthesised argument lists, where `inst` is the instance.
 */
#define LP_DISPATCH_PAIR(b, ops_type, call, err, name, v2_args, v1_args)                           \
    do {                                                                                           \
        name##_v2_fn v2;                                                                           \
        name##_fn v1;                                                                              \
        LP_BACKEND_OP(b, ops_type, name##_v2, v2);                                                 \
        LP_BACKEND_OP(b, ops_type, name, v1);                                                      \
        if (v2 == NULL && v1 == NULL)                                                              \
            return lp_dispatch_unsupported(b, #name, err);                                         \
        struct lp_dispatch d;                                                                      \
        lp_dispatch_begin(&d, b, #name, call);                                                     \
        void *inst = lp_dispatch_instance(&d);                                                     \
        do                                                                                         \
            rc = v2 != NULL ? v2 v2_args : v1 v1_args;                                             \
        while (lp_dispatch_again(&d, rc));                                                         \
        rc = lp_dispatch_end(&d, rc, err);                                                         \
    } while (0)

#endif
