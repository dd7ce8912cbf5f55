/* storage/local: descriptor, configuration, lifecycle and the storage operations (the ABI 1.1
 * forms, which carry the core's call context: its cancellation token).
 *
 * Thread safety: an instance holds no mutable state; every operation works on the file system
 * through unique temp names and rename(2), so concurrent calls (and concurrent processes sharing
 * a root) are safe, and two puts of the same content store it once. last_error() is per thread
 * (LP_CAP_THREADSAFE): each caller reads the message of its own last failure. */
#include "local.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct lp_cfg_field local_schema[] = {
    LP_CFG_FIELD(struct lp_storage_local_config, root, LP_CFG_STRING, 0, "\"\"",
                 "store directory; \"\" means <data directory>/storage, the data directory "
                 "being the core's ($LILYPAD_HOME, else ~/.local/share/lilypad); a leading ~/ "
                 "is expanded"),
    LP_CFG_FIELD(struct lp_storage_local_config, cid_version, LP_CFG_INT, 0, "0",
                 "CID version of new content: 0 (\"Qm...\", kubo's default) or 1 (\"bafy...\")"),
    LP_CFG_FIELD(struct lp_storage_local_config, raw_leaves, LP_CFG_BOOL, 0, "false",
                 "store file leaves as raw blocks; when not set, true for cid_version 1"),
    LP_CFG_END,
};

/* Each thread's last failure, so concurrent callers read their own message. */
static _Thread_local char thread_error[512];

int lp_local_fail(struct lp_storage_local *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_error, sizeof(thread_error), fmt, ap);
    va_end(ap);
    if (s && s->host && s->host->log)
        s->host->log(s->host, LP_LOG_DEBUG, "%s", thread_error);
    return rc;
}

void lp_local_op_init(struct lp_local_op *op, struct lp_storage_local *s,
                      const struct lp_call *call)
{
    memset(op, 0, sizeof(*op));
    op->s = s;
    op->call = call;
}

/* The core answers for the call's token, its deadline and the process; a host from before ABI
 * 1.1 only has the process-wide flag. */
static bool call_cancelled(const struct lp_local_op *op)
{
    const struct lp_host *h = op->s->host;
    if (h && LP_HOST_HAS(h, call_cancelled))
        return h->call_cancelled(h, op->call) != 0;
    return h && LP_HOST_HAS(h, cancelled) && h->cancelled(h) != 0;
}

int lp_local_progress(struct lp_local_op *op, uint64_t bytes)
{
    op->bytes += bytes;
    op->items++;
    if (op->bytes < op->poll_bytes && op->items < op->poll_items)
        return LP_OK;
    op->poll_bytes = op->bytes + LP_LOCAL_POLL_BYTES;
    op->poll_items = op->items + LP_LOCAL_POLL_ITEMS;
    if (!call_cancelled(op))
        return LP_OK;
    op->cancelled = true;
    return lp_local_fail(op->s, LP_ERR, "cancelled after %llu bytes (%llu blocks)",
                         (unsigned long long)(op->bytes - bytes),
                         (unsigned long long)(op->items - 1));
}

/* The store directory: the `root` key (a leading ~/ is the user's home), else <data_dir>/storage
 * from the core, so every part of the program agrees where its files are. 0, or -1 with the
 * reason in why. */
static int resolve_root(const struct lp_host *host, const struct lp_storage_local_config *cfg,
                        char *out, size_t cap, char *why, size_t why_len)
{
    const char *root = cfg->root ? cfg->root : "";
    int n;
    if (root[0] == '~' && (root[1] == '/' || root[1] == '\0')) {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            snprintf(why, why_len, "storage.local.root = \"%s\": HOME is not set to expand ~",
                     root);
            return -1;
        }
        n = snprintf(out, cap, "%s%s", home, root + 1);
    } else if (root[0]) {
        n = snprintf(out, cap, "%s", root);
    } else {
        const char *data = host && LP_HOST_HAS(host, data_dir) ? host->data_dir(host) : NULL;
        if (!data || !*data) {
            snprintf(why, why_len,
                     "no store directory: the core has no data directory (set LILYPAD_HOME or "
                     "HOME) and storage.local.root is not set");
            return -1;
        }
        n = snprintf(out, cap, "%s/storage", data);
    }
    if (n < 0 || (size_t)n >= cap) {
        snprintf(why, why_len, "storage.local.root: the store path is longer than %zu bytes",
                 cap - 1);
        return -1;
    }
    return 0;
}

static int check_config(const struct lp_storage_local_config *cfg, char *err, size_t len)
{
    if (cfg->cid_version != 0 && cfg->cid_version != 1) {
        snprintf(err, len, "storage.local.cid_version: %lld is not a CID version; use 0 or 1",
                 (long long)cfg->cid_version);
        return LP_EINVAL;
    }
    return LP_OK;
}

static int local_probe(const struct lp_host *host, const void *config, char *reason,
                       size_t reason_len)
{
    const struct lp_storage_local_config *cfg = config;
    char root[PATH_MAX];
    if (check_config(cfg, reason, reason_len) != LP_OK)
        return LP_EUNAVAILABLE;
    if (resolve_root(host, cfg, root, sizeof(root), reason, reason_len) != 0)
        return LP_EUNAVAILABLE;
    reason[0] = '\0';
    return LP_OK;
}

static int local_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct lp_storage_local_config *cfg = config;
    char err[256];
    if (check_config(cfg, err, sizeof(err)) != LP_OK) {
        lp_local_fail(NULL, LP_EINVAL, "%s", err);
        if (host && host->log)
            host->log(host, LP_LOG_ERROR, "%s", err);
        return LP_EINVAL;
    }
    struct lp_storage_local *s = calloc(1, sizeof(*s));
    if (!s)
        return LP_ERR;
    s->host = host;
    if (resolve_root(host, cfg, s->root, sizeof(s->root), err, sizeof(err)) != 0) {
        lp_local_fail(NULL, LP_EINVAL, "%s", err);
        if (host && host->log)
            host->log(host, LP_LOG_ERROR, "%s", err);
        free(s);
        return LP_EINVAL;
    }
    lp_cid_options_default(&s->opt, (uint8_t)cfg->cid_version);
    s->opt.raw_leaves = cfg->raw_leaves;
    /* raw_leaves follows cid_version unless the file sets it, as `ipfs add` does. */
    if (cfg->cid_version == 1 && host && LP_HOST_HAS(host, cfg_lookup) &&
        LP_HOST_HAS(host, cfg_root)) {
        const struct lp_cfg_node *group = host->cfg_root(host);
        if (!group || !host->cfg_lookup(host, group, "raw_leaves"))
            s->opt.raw_leaves = true;
    } else if (cfg->cid_version == 1 && (!host || !LP_HOST_HAS(host, cfg_lookup))) {
        s->opt.raw_leaves = true;
    }
    /* Job outputs are data: dot-files are stored too (`ipfs add -r --hidden`). */
    s->opt.include_hidden = true;
    if (lp_local_prepare(s) != LP_OK) {
        if (host && host->log)
            host->log(host, LP_LOG_ERROR, "%s", thread_error);
        free(s);
        return LP_ERR;
    }
    *instance = s;
    return LP_OK;
}

static void local_destroy(void *instance)
{
    free(instance);
}

static const char *local_last_error(void *instance)
{
    (void)instance;
    return thread_error[0] ? thread_error : "no error";
}

/* A put's state: its progress, and whether the block store itself failed (its reason is then
 * already recorded, more precise than the importer's). */
struct put_ctx {
    struct lp_local_op op;
    bool store_failed;
};

static int store_block(void *arg, const struct lp_cidb *cid, const uint8_t *block, size_t len)
{
    struct put_ctx *p = arg;
    /* Checked before the block is written: a cancelled put stops between two whole blocks. */
    if (lp_local_progress(&p->op, len) != LP_OK ||
        lp_local_put_block(p->op.s, cid, block, len) != LP_OK) {
        p->store_failed = true;
        return -1;
    }
    return 0;
}

/*
 * Every block is written whole (temp file and rename) before the next is read, and the root is
 * pinned only once the whole DAG is stored. A put that fails or is cancelled therefore leaves
 * no partial block and no pin: at most some whole, unpinned blocks, which a later put of the
 * same content reuses. They are not removed, because a concurrent put of the same content may
 * already count on them being there.
 */
static int local_put(void *instance, const struct lp_call *call, const char *path,
                     struct lp_cid *out)
{
    struct lp_storage_local *s = instance;
    if (!path || !out)
        return lp_local_fail(s, LP_EINVAL, "put: no path or no output CID");
    struct put_ctx p = {.store_failed = false};
    lp_local_op_init(&p.op, s, call);
    struct lp_cid_node root;
    char err[512];
    thread_error[0] = '\0';
    if (lp_cid_import_path(path, &s->opt, store_block, &p, &root, NULL, err, sizeof(err)) < 0) {
        if (p.store_failed && thread_error[0]) {
            char why[sizeof(thread_error)]; /* the message is rewritten from a copy */
            snprintf(why, sizeof(why), "%s", thread_error);
            return lp_local_fail(s, LP_ERR, "put %s: %.400s", path, why);
        }
        return lp_local_fail(s, LP_ERR, "put %s", err);
    }
    lp_local_sync(s);
    if (lp_local_pin_mark(s, &root.cid) != LP_OK)
        return LP_ERR;
    lp_cid_format(&root.cid, out->str);
    if (s->host && LP_HOST_HAS(s->host, metric_add)) {
        s->host->metric_add(s->host, "put_total", 1);
        s->host->metric_add(s->host, "put_bytes_total", (int64_t)root.filesize);
    }
    return LP_OK;
}

static int parse(struct lp_storage_local *s, const struct lp_cid *cid, struct lp_cidb *out)
{
    char err[160];
    if (!cid || memchr(cid->str, '\0', sizeof(cid->str)) == NULL)
        return lp_local_fail(s, LP_EINVAL, "no CID given");
    if (lp_cid_parse(cid->str, out, err, sizeof(err)) < 0)
        return lp_local_fail(s, LP_EINVAL, "\"%.100s\": %s", cid->str, err);
    return LP_OK;
}

/* A cancelled walk records "cancelled after N bytes ..." alone; name the operation and CID. */
static int with_context(const struct lp_local_op *op, int rc, const char *what,
                        const struct lp_cid *cid)
{
    if (rc == LP_OK || !op->cancelled)
        return rc;
    char why[sizeof(thread_error)];
    snprintf(why, sizeof(why), "%s", thread_error);
    return lp_local_fail(op->s, rc, "%s %.100s: %.300s", what, cid->str, why);
}

static int local_get(void *instance, const struct lp_call *call, const struct lp_cid *cid,
                     const char *dest)
{
    struct lp_storage_local *s = instance;
    struct lp_cidb c;
    if (parse(s, cid, &c) != LP_OK)
        return LP_EINVAL;
    if (!dest || !*dest)
        return lp_local_fail(s, LP_EINVAL, "get: no destination path");
    struct lp_local_op op;
    lp_local_op_init(&op, s, call);
    return with_context(&op, lp_local_restore(&op, &c, dest), "get", cid);
}

static int local_pin(void *instance, const struct lp_call *call, const struct lp_cid *cid)
{
    struct lp_storage_local *s = instance;
    struct lp_cidb c;
    if (parse(s, cid, &c) != LP_OK)
        return LP_EINVAL;
    /* Only content that is wholly present and intact can be pinned. */
    struct lp_local_op op;
    lp_local_op_init(&op, s, call);
    int rc = with_context(&op, lp_local_verify(&op, &c), "pin", cid);
    if (rc != LP_OK)
        return rc;
    return lp_local_pin_mark(s, &c);
}

static int local_stat(void *instance, const struct lp_call *call, const struct lp_cid *cid,
                      struct lp_storage_stat *out)
{
    struct lp_storage_local *s = instance;
    struct lp_cidb c;
    if (!out)
        return lp_local_fail(s, LP_EINVAL, "stat: no output");
    if (parse(s, cid, &c) != LP_OK)
        return LP_EINVAL;
    struct lp_local_op op;
    lp_local_op_init(&op, s, call);
    return with_context(&op, lp_local_stat(&op, &c, out), "stat", cid);
}

static const struct lp_storage_ops local_ops = {
    .life =
        {
            .probe = local_probe,
            .create = local_create,
            .destroy = local_destroy,
            .last_error = local_last_error,
        },
    /* ABI 1.1 forms only: the core calls the 1.0 ones (put, get, ...) for 1.0 plugins alone. */
    .put_v2 = local_put,
    .get_v2 = local_get,
    .pin_v2 = local_pin,
    .stat_v2 = local_stat,
};

LP_PLUGIN_DEFINE(storage, local, "0.2.0",
                 "content-addressed local store with kubo-identical CIDs (UnixFS, 256 KiB chunks, "
                 "174 links; CIDv0 or CIDv1 raw leaves)",
                 "MIT", local_ops, local_schema, struct lp_storage_local_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_CANCEL)
