/*
 * storage/skeleton: a complete, minimal lilypad plugin to copy from.
 *
 * It stores files in a folder under a content-derived name. Its IDs are NOT IPFS CIDs (a
 * 64-bit FNV-1a of the content, prefixed "skeleton-"): the point is the shape of a plugin,
 * not the storage. Everything a real plugin needs is here:
 *   - one config struct and its schema (types, defaults, a required key, a secret);
 *   - probe(): side-effect free, says why the plugin cannot work here;
 *   - create()/destroy(): one instance per configuration, all state inside it;
 *   - last_error(): the human text behind a failed call;
 *   - the ABI 1.1 (*_v2) ops, which take the call context: a long copy checks
 *     host->call_cancelled() and stops when the core cancels the call;
 *   - LP_PLUGIN_DEFINE: the only exported symbol, version numbers filled in for you.
 * Build: see CMakeLists.txt (CMake package) or, with pkg-config:
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags --libs lilypad-plugin) \
 *      -o storage_skeleton.so storage_skeleton.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lilypad/storage.h>

#ifndef SKELETON_VERSION
#define SKELETON_VERSION "0.1.0"
#endif

/* 1. The configuration, filled by the core from `storage: { skeleton: { ... }; };`. */
struct skeleton_config {
    const char *root;    /* where files go */
    uint64_t max_size;   /* refuse bigger files */
    const char *api_key; /* unused; shows how a secret is declared */
};

static const struct lp_cfg_field skeleton_schema[] = {
    LP_CFG_FIELD(struct skeleton_config, root, LP_CFG_STRING, LP_CFG_REQUIRED, NULL,
                 "folder the files are stored in (must exist)"),
    LP_CFG_FIELD(struct skeleton_config, max_size, LP_CFG_SIZE, 0, "\"64M\"",
                 "largest file accepted"),
    LP_CFG_FIELD(struct skeleton_config, api_key, LP_CFG_STRING, LP_CFG_SECRET, "\"\"",
                 "never printed by `lilypad config dump`"),
    LP_CFG_END,
};

/* 2. The instance: everything the plugin keeps lives here, never in globals. */
struct skeleton {
    const struct lp_host *host;
    const struct skeleton_config *cfg;
    char error[512];
};

static int fail(struct skeleton *s, int rc, const char *what, const char *path)
{
    snprintf(s->error, sizeof(s->error), "%s %s: %s", what, path, strerror(errno));
    s->host->log(s->host, LP_LOG_ERROR, "%s", s->error);
    return rc;
}

/* 3. probe: is this plugin usable here? No side effects. */
static int skeleton_probe(const struct lp_host *host, const void *config, char *reason,
                          size_t reason_len)
{
    (void)host;
    const struct skeleton_config *cfg = config;
    struct stat st;
    if (stat(cfg->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(reason, reason_len, "root folder %s does not exist", cfg->root);
        return LP_EUNAVAILABLE;
    }
    return LP_OK;
}

static int skeleton_create(const struct lp_host *host, const void *config, void **instance)
{
    struct skeleton *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return LP_ERR;
    s->host = host;
    s->cfg = config; /* owned by the core, valid until destroy() returns */
    *instance = s;
    return LP_OK;
}

static void skeleton_destroy(void *instance)
{
    free(instance);
}

static const char *skeleton_last_error(void *instance)
{
    return ((struct skeleton *)instance)->error;
}

/* 4. The concern's operations: put and get are required, pin and stat optional. */

/* True when the core wants this call to stop (an older core has no per-call token). */
static bool cancelled(const struct skeleton *s, const struct lp_call *call)
{
    return LP_HOST_HAS(s->host, call_cancelled) ? s->host->call_cancelled(s->host, call) != 0
                                                : s->host->cancelled(s->host) != 0;
}

/* Copies in to out in blocks, hashing what passes; -1 with s->error set on failure. */
static int copy_stream(struct skeleton *s, const struct lp_call *call, FILE *in, FILE *out,
                       uint64_t *hash, uint64_t *size)
{
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (cancelled(s, call)) {
            snprintf(s->error, sizeof(s->error), "cancelled after %llu bytes",
                     (unsigned long long)*size);
            return -1;
        }
        *size += n;
        if (*size > s->cfg->max_size) {
            snprintf(s->error, sizeof(s->error), "larger than max_size (%llu bytes)",
                     (unsigned long long)s->cfg->max_size);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            *hash = (*hash ^ buf[i]) * 0x100000001b3u;
        if (fwrite(buf, 1, n, out) != n) {
            snprintf(s->error, sizeof(s->error), "write failed: %s", strerror(errno));
            return -1;
        }
    }
    return ferror(in) ? -1 : 0;
}

static int skeleton_put(void *instance, const struct lp_call *call, const char *path,
                        struct lp_cid *out)
{
    struct skeleton *s = instance;
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return fail(s, LP_EINVAL, "cannot open", path);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/.incoming-%ld-%p", s->cfg->root, (long)getpid(), (void *)call);
    FILE *copy = fopen(tmp, "wb");
    if (copy == NULL) {
        fclose(in);
        return fail(s, LP_ERR, "cannot create", tmp);
    }
    uint64_t hash = 0xcbf29ce484222325u, size = 0;
    int rc = copy_stream(s, call, in, copy, &hash, &size);
    fclose(in);
    if (fclose(copy) != 0 || rc != 0) {
        unlink(tmp);
        return LP_ERR;
    }
    snprintf(out->str, sizeof(out->str), "skeleton-%016llx", (unsigned long long)hash);
    char final[4200];
    snprintf(final, sizeof(final), "%s/%s", s->cfg->root, out->str);
    if (rename(tmp, final) != 0)
        return fail(s, LP_ERR, "cannot store", final);
    return LP_OK;
}

static int skeleton_get(void *instance, const struct lp_call *call, const struct lp_cid *cid,
                        const char *dest)
{
    struct skeleton *s = instance;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", s->cfg->root, cid->str);
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return fail(s, LP_EINVAL, "no such object", cid->str);
    FILE *out = fopen(dest, "wb");
    if (out == NULL) {
        fclose(in);
        return fail(s, LP_ERR, "cannot create", dest);
    }
    uint64_t hash = 0xcbf29ce484222325u, size = 0;
    int rc = copy_stream(s, call, in, out, &hash, &size);
    fclose(in);
    if (fclose(out) != 0 || rc != 0) {
        unlink(dest);
        return LP_ERR;
    }
    /* Content addressing: what comes back must be what the ID names. */
    char got[LP_CID_MAX];
    snprintf(got, sizeof(got), "skeleton-%016llx", (unsigned long long)hash);
    if (strcmp(got, cid->str) != 0) {
        unlink(dest);
        snprintf(s->error, sizeof(s->error), "object %s is corrupt: its content hashes to %s",
                 cid->str, got);
        return LP_ERR;
    }
    return LP_OK;
}

static int skeleton_stat(void *instance, const struct lp_call *call, const struct lp_cid *cid,
                         struct lp_storage_stat *out)
{
    struct skeleton *s = instance;
    (void)call;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", s->cfg->root, cid->str);
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(s, LP_EINVAL, "no such object", cid->str);
    out->size_bytes = (uint64_t)st.st_size;
    out->is_directory = 0;
    out->pinned = 1;
    return LP_OK;
}

/* pin is left NULL: the core reports it as unsupported. */
static const struct lp_storage_ops skeleton_ops = {
    .life =
        {
            .probe = skeleton_probe,
            .create = skeleton_create,
            .destroy = skeleton_destroy,
            .last_error = skeleton_last_error,
        },
    .put_v2 = skeleton_put,
    .get_v2 = skeleton_get,
    .stat_v2 = skeleton_stat,
};

/* 5. The descriptor: concern, name (= file name storage_skeleton.so), metadata, ops,
 * schema, config struct, capabilities. */
LP_PLUGIN_DEFINE(storage, skeleton, SKELETON_VERSION,
                 "example out-of-tree plugin: stores files in a folder", "MIT", skeleton_ops,
                 skeleton_schema, struct skeleton_config, 0)
