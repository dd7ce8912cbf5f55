/* storage/local: descriptor, configuration, lifecycle and the storage operations.
 *
 * Thread safety: an instance holds no mutable state; every operation works on the file system
 * through unique temp names and rename(2), so concurrent calls (and concurrent processes sharing
 * a root) are safe, and two puts of the same content store it once. */
#include "local.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct lp_cfg_field local_schema[] = {
    LP_CFG_FIELD(struct lp_storage_local_config, root, LP_CFG_STRING, 0, "\"\"",
                 "store directory; \"\" means $LILYPAD_HOME/storage, else "
                 "~/.local/share/lilypad/storage; a leading ~/ is expanded"),
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

static int resolve_root(const struct lp_storage_local_config *cfg, char *out, size_t cap)
{
    const char *root = cfg->root ? cfg->root : "";
    const char *home = getenv("HOME");
    if (root[0] == '~' && (root[1] == '/' || root[1] == '\0')) {
        if (!home || !*home)
            return -1;
        return snprintf(out, cap, "%s%s", home, root + 1) < (int)cap ? 0 : -1;
    }
    if (root[0])
        return snprintf(out, cap, "%s", root) < (int)cap ? 0 : -1;
    const char *lh = getenv("LILYPAD_HOME");
    if (lh && *lh)
        return snprintf(out, cap, "%s/storage", lh) < (int)cap ? 0 : -1;
    if (!home || !*home)
        return -1;
    return snprintf(out, cap, "%s/.local/share/lilypad/storage", home) < (int)cap ? 0 : -1;
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
    (void)host;
    const struct lp_storage_local_config *cfg = config;
    char root[PATH_MAX];
    if (check_config(cfg, reason, reason_len) != LP_OK)
        return LP_EUNAVAILABLE;
    if (resolve_root(cfg, root, sizeof(root)) != 0) {
        snprintf(reason, reason_len,
                 "no store directory: set storage.local.root, LILYPAD_HOME "
                 "or HOME");
        return LP_EUNAVAILABLE;
    }
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
    if (resolve_root(cfg, s->root, sizeof(s->root)) != 0) {
        if (host && host->log)
            host->log(host, LP_LOG_ERROR,
                      "no store directory: set storage.local.root, LILYPAD_HOME or HOME");
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

static int store_block(void *arg, const struct lp_cidb *cid, const uint8_t *block, size_t len)
{
    return lp_local_put_block(arg, cid, block, len) == LP_OK ? 0 : -1;
}

static int local_put(void *instance, const char *path, struct lp_cid *out)
{
    struct lp_storage_local *s = instance;
    if (!path || !out)
        return lp_local_fail(s, LP_EINVAL, "put: no path or no output CID");
    struct lp_cid_node root;
    char err[512];
    thread_error[0] = '\0';
    if (lp_cid_import_path(path, &s->opt, store_block, s, &root, NULL, err, sizeof(err)) < 0) {
        /* A store failure already recorded its own reason; keep the more specific one. */
        if (strstr(err, "storing a block failed") && thread_error[0])
            return lp_local_fail(s, LP_ERR, "put %s: %.400s", path, thread_error);
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

static int local_get(void *instance, const struct lp_cid *cid, const char *dest)
{
    struct lp_storage_local *s = instance;
    struct lp_cidb c;
    if (parse(s, cid, &c) != LP_OK)
        return LP_EINVAL;
    if (!dest || !*dest)
        return lp_local_fail(s, LP_EINVAL, "get: no destination path");
    return lp_local_restore(s, &c, dest);
}

static int local_pin(void *instance, const struct lp_cid *cid)
{
    struct lp_storage_local *s = instance;
    struct lp_cidb c;
    if (parse(s, cid, &c) != LP_OK)
        return LP_EINVAL;
    /* Only content that is wholly present and intact can be pinned. */
    int rc = lp_local_verify(s, &c);
    if (rc != LP_OK)
        return rc;
    return lp_local_pin_mark(s, &c);
}

static int local_stat(void *instance, const struct lp_cid *cid, struct lp_storage_stat *out)
{
    struct lp_storage_local *s = instance;
    struct lp_cidb c;
    if (!out)
        return lp_local_fail(s, LP_EINVAL, "stat: no output");
    if (parse(s, cid, &c) != LP_OK)
        return LP_EINVAL;
    return lp_local_stat(s, &c, out);
}

static const struct lp_storage_ops local_ops = {
    .life =
        {
            .probe = local_probe,
            .create = local_create,
            .destroy = local_destroy,
            .last_error = local_last_error,
        },
    .put = local_put,
    .get = local_get,
    .pin = local_pin,
    .stat = local_stat,
};

LP_PLUGIN_DEFINE(storage, local, "0.1.0",
                 "content-addressed local store with kubo-identical CIDs (UnixFS, 256 KiB chunks, "
                 "174 links; CIDv0 or CIDv1 raw leaves)",
                 "MIT", local_ops, local_schema, struct lp_storage_local_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE)
