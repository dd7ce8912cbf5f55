/* The ops each concern requires, checked when a plugin is loaded (loader.c). An op with a 1.0
 * and a 1.1 form is present when either is. */
#include <string.h>

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>

#include "dispatch/dispatch.h"

struct required_op {
    const char *name;
    size_t offset;
    size_t alt_offset; /* the 1.1 form's offset; 0: none */
};

#define OP(type, m)                                                                                \
    {                                                                                              \
#m, offsetof(type, m), 0                                                                   \
    }
#define OP_V2(type, m, m2)                                                                         \
    {                                                                                              \
#m, offsetof(type, m), offsetof(type, m2)                                                  \
    }

static const struct required_op hashrate_required[] = {
    OP(struct lp_hashrate_ops, device_count),
    OP(struct lp_hashrate_ops, device_info),
    OP(struct lp_hashrate_ops, mine),
    {NULL, 0, 0},
};
static const struct required_op executor_required[] = {
    OP(struct lp_executor_ops, submit),
    OP(struct lp_executor_ops, poll),
    {NULL, 0, 0},
};
static const struct required_op storage_required[] = {
    OP_V2(struct lp_storage_ops, put, put_v2),
    OP_V2(struct lp_storage_ops, get, get_v2),
    {NULL, 0, 0},
};
static const struct required_op verifier_required[] = {
    OP_V2(struct lp_verifier_ops, record_agreement, record_agreement_v2),
    OP_V2(struct lp_verifier_ops, record_result, record_result_v2),
    OP_V2(struct lp_verifier_ops, read_deal, read_deal_v2),
    {NULL, 0, 0},
};

/* Every op member is a function pointer; all have one size. */
static bool present(const void *ops, uint32_t ops_size, size_t offset)
{
    void (*fn)(void) = NULL;
    if (offset + sizeof fn > ops_size)
        return false;
    memcpy(&fn, (const unsigned char *)ops + offset, sizeof fn);
    return fn != NULL;
}

const char *lp_dispatch_missing_op(uint32_t concern, const void *ops, uint32_t ops_size,
                                   size_t *offset)
{
    const struct required_op *req = concern == LP_CONCERN_HASHRATE   ? hashrate_required
                                    : concern == LP_CONCERN_EXECUTOR ? executor_required
                                    : concern == LP_CONCERN_STORAGE  ? storage_required
                                    : concern == LP_CONCERN_VERIFIER ? verifier_required
                                                                     : NULL;
    for (; req != NULL && req->name != NULL; req++) {
        if (present(ops, ops_size, req->offset) ||
            (req->alt_offset && present(ops, ops_size, req->alt_offset)))
            continue;
        if (offset != NULL)
            *offset = req->offset;
        return req->name;
    }
    return NULL;
}
