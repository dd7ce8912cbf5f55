#include "dispatch/storage.h"

#include <string.h>

#include "dispatch/call.h"

typedef int (*put_fn)(void *, const char *, struct lp_cid *);
typedef int (*put_v2_fn)(void *, const struct lp_call *, const char *, struct lp_cid *);
typedef int (*get_fn)(void *, const struct lp_cid *, const char *);
typedef int (*get_v2_fn)(void *, const struct lp_call *, const struct lp_cid *, const char *);
typedef int (*pin_fn)(void *, const struct lp_cid *);
typedef int (*pin_v2_fn)(void *, const struct lp_call *, const struct lp_cid *);
typedef int (*stat_fn)(void *, const struct lp_cid *, struct lp_storage_stat *);
typedef int (*stat_v2_fn)(void *, const struct lp_call *, const struct lp_cid *,
                          struct lp_storage_stat *);

int lp_storage_put(struct lp_backend *b, const struct lp_call *call, const char *path,
                   struct lp_cid *out, struct lp_plugin_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    LP_DISPATCH_PAIR(b, struct lp_storage_ops, call, err, put, (inst, call, path, out),
                     (inst, path, out));
    out->str[sizeof out->str - 1] = '\0';
    if (rc == LP_OK && out->str[0] == '\0')
        return lp_dispatch_fail(b, "put", LP_ERR, err, "succeeded but returned no CID");
    return rc;
}

int lp_storage_get(struct lp_backend *b, const struct lp_call *call, const struct lp_cid *cid,
                   const char *dest, struct lp_plugin_error *err)
{
    int rc;
    LP_DISPATCH_PAIR(b, struct lp_storage_ops, call, err, get, (inst, call, cid, dest),
                     (inst, cid, dest));
    return rc;
}

int lp_storage_pin(struct lp_backend *b, const struct lp_call *call, const struct lp_cid *cid,
                   struct lp_plugin_error *err)
{
    int rc;
    LP_DISPATCH_PAIR(b, struct lp_storage_ops, call, err, pin, (inst, call, cid), (inst, cid));
    return rc;
}

int lp_storage_stat(struct lp_backend *b, const struct lp_call *call, const struct lp_cid *cid,
                    struct lp_storage_stat *out, struct lp_plugin_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    LP_DISPATCH_PAIR(b, struct lp_storage_ops, call, err, stat, (inst, call, cid, out),
                     (inst, cid, out));
    out->struct_size = sizeof *out;
    out->detail[sizeof out->detail - 1] = '\0';
    return rc;
}
