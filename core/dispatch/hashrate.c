#include "dispatch/hashrate.h"

#include <string.h>

#include "dispatch/call.h"

typedef int (*device_count_fn)(void *, uint32_t *);
typedef int (*device_info_fn)(void *, uint32_t, struct lp_hashrate_device *);
typedef int (*mine_fn)(void *, uint32_t, const struct lp_pow_work *, const uint8_t *, uint64_t,
                       uint64_t *, struct lp_pow_solution *, size_t, size_t *);

int lp_hashrate_device_count(struct lp_backend *b, uint32_t *count, struct lp_plugin_error *err)
{
    device_count_fn device_count;
    LP_BACKEND_OP(b, struct lp_hashrate_ops, device_count, device_count);
    *count = 0;
    if (device_count == NULL)
        return lp_dispatch_unsupported(b, "device_count", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "device_count", NULL);
    int rc;
    do
        rc = device_count(lp_dispatch_instance(&d), count);
    while (lp_dispatch_again(&d, rc));
    return lp_dispatch_end(&d, rc, err);
}

int lp_hashrate_device_info(struct lp_backend *b, uint32_t device, struct lp_hashrate_device *out,
                            struct lp_plugin_error *err)
{
    device_info_fn device_info;
    LP_BACKEND_OP(b, struct lp_hashrate_ops, device_info, device_info);
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    if (device_info == NULL)
        return lp_dispatch_unsupported(b, "device_info", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "device_info", NULL);
    int rc;
    do
        rc = device_info(lp_dispatch_instance(&d), device, out);
    while (lp_dispatch_again(&d, rc));
    /* Strings end where the struct says, whatever the plugin wrote. */
    out->struct_size = sizeof *out;
    out->name[sizeof out->name - 1] = '\0';
    out->vendor[sizeof out->vendor - 1] = '\0';
    out->detail[sizeof out->detail - 1] = '\0';
    out->pci_bus_id[sizeof out->pci_bus_id - 1] = '\0';
    out->uuid[sizeof out->uuid - 1] = '\0';
    return lp_dispatch_end(&d, rc, err);
}

int lp_hashrate_mine(struct lp_backend *b, uint32_t device, const struct lp_pow_work *work,
                     const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                     struct lp_pow_solution *solutions, size_t max_solutions, size_t *found,
                     struct lp_plugin_error *err)
{
    mine_fn mine;
    LP_BACKEND_OP(b, struct lp_hashrate_ops, mine, mine);
    *hashes_done = 0;
    *found = 0;
    if (mine == NULL)
        return lp_dispatch_unsupported(b, "mine", err);
    struct lp_dispatch d;
    lp_dispatch_begin(&d, b, "mine", NULL);
    int rc;
    do
        rc = mine(lp_dispatch_instance(&d), device, work, nonce_base, count, hashes_done, solutions,
                  max_solutions, found);
    while (lp_dispatch_again(&d, rc));
    if (*found > max_solutions)
        *found = max_solutions;
    if (*hashes_done > count)
        *hashes_done = count;
    return lp_dispatch_end(&d, rc, err);
}
