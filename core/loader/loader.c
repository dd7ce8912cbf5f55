#include "loader/loader.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "dispatch/dispatch.h"
#include "loader/embedded.h"
#include "util/log.h"

/* What an installed lilypad gives plugin authors: its headers (include/lilypad), found through
 * the pkg-config file or the CMake package. */
#define REBUILD_HINT                                                                               \
    "rebuild the plugin against this lilypad's plugin headers (pkg-config lilypad-plugin, or "     \
    "find_package(Lilypad) in CMake)"

static const char *const state_names[] = {
    [LP_PLUGIN_LOADED] = "LOADED",
    [LP_PLUGIN_UNAVAILABLE] = "UNAVAILABLE",
    [LP_PLUGIN_INCOMPATIBLE] = "INCOMPATIBLE",
    [LP_PLUGIN_OPEN_FAILED] = "OPEN_FAILED",
    [LP_PLUGIN_NOT_A_PLUGIN] = "NOT_A_PLUGIN",
    [LP_PLUGIN_INIT_FAILED] = "INIT_FAILED",
    [LP_PLUGIN_DISABLED] = "DISABLED",
    [LP_PLUGIN_NOT_FOUND] = "NOT_FOUND",
};

const char *lp_plugin_state_name(enum lp_plugin_state state)
{
    return (unsigned)state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state]
                                                                          : "?";
}

bool lp_plugin_state_is_broken(enum lp_plugin_state state)
{
    return state == LP_PLUGIN_INCOMPATIBLE || state == LP_PLUGIN_OPEN_FAILED ||
           state == LP_PLUGIN_NOT_A_PLUGIN || state == LP_PLUGIN_INIT_FAILED;
}

static const char *const concern_names[] = {NULL, "hashrate", "executor", "storage", "verifier"};

uint32_t lp_concern_from_name(const char *name)
{
    for (uint32_t i = 1; i < sizeof(concern_names) / sizeof(concern_names[0]); i++) {
        if (strcmp(concern_names[i], name) == 0)
            return i;
    }
    return 0;
}

const char *lp_concern_name(uint32_t concern)
{
    return concern > 0 && concern < sizeof(concern_names) / sizeof(concern_names[0])
               ? concern_names[concern]
               : NULL;
}

/* The least ops table a plugin may have: the lifecycle prefix. The concern's required ops are
 * checked next (lp_dispatch_missing_op); the optional ones where they are called, against
 * ops_size (core/dispatch). */
static uint32_t core_ops_size(uint32_t concern)
{
    return concern ? (uint32_t)sizeof(struct lp_lifecycle_ops) : 0;
}

void lp_plugin_fail(struct lp_plugin_handle *h, enum lp_plugin_state state, const char *fmt, ...)
{
    h->state = state;
    int n = snprintf(h->message, sizeof(h->message), "plugin %s/%s (%s): ", h->concern, h->name,
                     h->path);
    if (n < 0 || (size_t)n >= sizeof(h->message))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->message + n, sizeof(h->message) - (size_t)n, fmt, ap);
    va_end(ap);
}

static void handle_init(struct lp_plugin_handle *h, const char *concern, const char *name,
                        const char *path)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->concern, sizeof(h->concern), "%s", concern);
    snprintf(h->name, sizeof(h->name), "%s", name);
    snprintf(h->path, sizeof(h->path), "%s", path);
}

/* The descriptor checks, in order; nothing in the plugin beyond the descriptor function has
 * run when they fail. */
static void check_descriptor(struct lp_plugin_handle *h, const struct lp_plugin *d)
{
    if (d == NULL) {
        lp_plugin_fail(h, LP_PLUGIN_NOT_A_PLUGIN,
                       "lp_plugin_descriptor() returned NULL — define it with LP_PLUGIN_DEFINE");
        return;
    }
    if (d->magic != LP_PLUGIN_MAGIC) {
        lp_plugin_fail(h, LP_PLUGIN_NOT_A_PLUGIN,
                       "not a lilypad plugin: descriptor magic 0x%08x, expected 0x%08x — "
                       "define the descriptor with LP_PLUGIN_DEFINE",
                       d->magic, LP_PLUGIN_MAGIC);
        return;
    }
    if (d->abi_major != LP_ABI_MAJOR) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "incompatible ABI: plugin %u.%u, core %d.%d — " REBUILD_HINT, d->abi_major,
                       d->abi_minor, LP_ABI_MAJOR, LP_ABI_MINOR);
        return;
    }
    if (d->abi_minor > LP_ABI_MINOR) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "built for a newer core: plugin ABI %u.%u, core %d.%d — upgrade lilypad, "
                       "or " REBUILD_HINT,
                       d->abi_major, d->abi_minor, LP_ABI_MAJOR, LP_ABI_MINOR);
        return;
    }
    if (d->struct_size < sizeof(struct lp_plugin)) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "descriptor is %u bytes, ABI %d.%d needs %zu — " REBUILD_HINT,
                       d->struct_size, LP_ABI_MAJOR, LP_ABI_MINOR, sizeof(struct lp_plugin));
        return;
    }
    if (d->ops == NULL || d->ops_size < core_ops_size(d->concern)) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "ops table is %u bytes, at least %u expected — the descriptor is "
                       "incomplete; define it with LP_PLUGIN_DEFINE",
                       d->ops ? d->ops_size : 0, core_ops_size(d->concern));
        return;
    }
    const char *declared = lp_concern_name(d->concern);
    if (declared == NULL || strcmp(declared, h->concern) != 0) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "declares concern %s (%u) but is loaded as %s — rename the file to "
                       "%s_%s.so or fix the concern in LP_PLUGIN_DEFINE",
                       declared ? declared : "unknown", d->concern, h->concern,
                       declared ? declared : "<concern>", d->name ? d->name : h->name);
        return;
    }
    if (d->name == NULL || strcmp(d->name, h->name) != 0) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "declares name \"%s\" but its file says \"%s\" — rename the file to "
                       "%s_%s.so or fix the name in LP_PLUGIN_DEFINE",
                       d->name ? d->name : "(null)", h->name, h->concern,
                       d->name ? d->name : "<name>");
        return;
    }
    const struct lp_lifecycle_ops *life = d->ops;
    if (life->create == NULL || life->destroy == NULL) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "ops table lacks create() or destroy() — every plugin must provide both");
        return;
    }
    size_t at = 0;
    const char *missing = lp_dispatch_missing_op(d->concern, d->ops, d->ops_size, &at);
    if (missing != NULL && at + sizeof(void (*)(void)) > d->ops_size) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "ops table is %u bytes, too short to hold %s(), which every %s plugin "
                       "must provide — set ops_size to sizeof(struct lp_%s_ops) (LP_PLUGIN_DEFINE "
                       "does)",
                       d->ops_size, missing, declared, declared);
        return;
    }
    if (missing != NULL) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE,
                       "ops table lacks %s(), which every %s plugin must provide — implement it "
                       "(the required ops are listed in <lilypad/%s.h>)",
                       missing, declared, declared);
        return;
    }
    char err[512];
    if (lp_config_check_schema(d->config_schema, d->config_size, err, sizeof(err)) != 0) {
        lp_plugin_fail(h, LP_PLUGIN_INCOMPATIBLE, "invalid config schema: %s — fix the plugin",
                       err);
        return;
    }
    h->desc = d;
    h->state = LP_PLUGIN_LOADED;
}

void lp_plugin_open_file(const char *path, const char *concern, const char *name,
                         struct lp_plugin_handle *out)
{
    handle_init(out, concern, name, path);
    dlerror();
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        lp_plugin_fail(out, LP_PLUGIN_OPEN_FAILED,
                       "dlopen failed: %s (check its dependencies with ldd)",
                       why ? why : "unknown error");
        return;
    }
    out->dl = dl;
    dlerror();
    void *sym = dlsym(dl, LP_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        const char *why = dlerror();
        lp_plugin_fail(out, LP_PLUGIN_NOT_A_PLUGIN,
                       "not a lilypad plugin: %s — a plugin exports lp_plugin_descriptor, "
                       "defined by LP_PLUGIN_DEFINE",
                       why ? why : "no lp_plugin_descriptor symbol");
        return;
    }
    lp_plugin_descriptor_fn fn;
    /* POSIX guarantees data and function pointers convert through dlsym's void *. */
    memcpy(&fn, &sym, sizeof(fn));
    check_descriptor(out, fn());
}

static void warn_skipped(void *arg, const struct lp_plugin_handle *broken,
                         const struct lp_plugin_handle *used)
{
    (void)arg;
    lp_warn("plugin %s/%s (%s): %s: %s; skipped, using %s", broken->concern, broken->name,
            broken->path, lp_plugin_state_name(broken->state), lp_plugin_reason(broken),
            used->path);
}

void lp_plugin_open(const struct lp_search_path *sp, const char *concern, const char *name,
                    struct lp_plugin_handle *out)
{
    lp_plugin_open_reporting(sp, concern, name, out, warn_skipped, NULL);
}

void lp_plugin_open_reporting(const struct lp_search_path *sp, const char *concern,
                              const char *name, struct lp_plugin_handle *out,
                              lp_plugin_skip_fn on_skip, void *arg)
{
    for (const struct lp_embedded_plugin *e = lp_embedded_plugins; e->name; e++) {
        if (strcmp(e->concern, concern) == 0 && strcmp(e->name, name) == 0) {
            handle_init(out, concern, name, "(embedded)");
            out->embedded = true;
            check_descriptor(out, e->descriptor());
            return;
        }
    }
    char file[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX + 8];
    snprintf(file, sizeof(file), "%s_%s.so", concern, name);
    /* Broken copies are kept until a good one turns up (then they are reported) or the path
     * ends (then the first of them is the answer). */
    struct lp_plugin_handle *broken = NULL;
    size_t n_broken = 0;
    bool opened = false, found = false;
    for (size_t i = 0; i < sp->count && !found; i++) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", sp->dirs[i], file);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        lp_plugin_open_file(path, concern, name, out);
        opened = true;
        found = out->state == LP_PLUGIN_LOADED;
        if (found)
            break;
        struct lp_plugin_handle *grown = realloc(broken, (n_broken + 1) * sizeof(*grown));
        if (grown == NULL) {
            if (n_broken > 0) /* out of memory: the first broken copy stays the answer */
                lp_plugin_close(out);
            break;
        }
        broken = grown;
        broken[n_broken++] = *out;
    }
    for (size_t i = 0; i < n_broken; i++) {
        if (found && on_skip != NULL)
            on_skip(arg, &broken[i], out);
        if (found || i > 0)
            lp_plugin_close(&broken[i]);
    }
    if (!found && n_broken > 0)
        *out = broken[0];
    free(broken);
    if (opened)
        return;
    char dirs[2048];
    lp_search_path_format(sp, dirs, sizeof(dirs));
    handle_init(out, concern, name, file);
    out->state = LP_PLUGIN_NOT_FOUND;
    snprintf(out->message, sizeof(out->message),
             "plugin %s/%s: not found: no %s in %s (install the plugin, or add its folder with "
             "--plugin-path, LILYPAD_PLUGIN_PATH or plugin_path in the configuration)",
             concern, name, file, dirs);
}

void lp_plugin_set_disabled(struct lp_plugin_handle *h, const char *concern, const char *name)
{
    handle_init(h, concern, name, "");
    h->state = LP_PLUGIN_DISABLED;
    snprintf(h->message, sizeof(h->message),
             "plugin %s/%s: disabled by disable_plugins in the configuration", concern, name);
}

const char *lp_plugin_reason(const struct lp_plugin_handle *h)
{
    /* The two prefixes lp_plugin_fail and the not-found/disabled messages write. */
    char prefix[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX + PATH_MAX + 16];
    int n = snprintf(prefix, sizeof(prefix), "plugin %s/%s (%s): ", h->concern, h->name, h->path);
    if (n > 0 && strncmp(h->message, prefix, (size_t)n) == 0)
        return h->message + n;
    n = snprintf(prefix, sizeof(prefix), "plugin %s/%s: ", h->concern, h->name);
    if (n > 0 && strncmp(h->message, prefix, (size_t)n) == 0)
        return h->message + n;
    return h->message;
}

const struct lp_lifecycle_ops *lp_plugin_lifecycle(const struct lp_plugin_handle *h)
{
    return h->desc ? (const struct lp_lifecycle_ops *)h->desc->ops : NULL;
}

void lp_plugin_probe(struct lp_plugin_handle *h, const struct lp_host *host, const void *config)
{
    const struct lp_lifecycle_ops *life = lp_plugin_lifecycle(h);
    if (h->state != LP_PLUGIN_LOADED || life == NULL || life->probe == NULL)
        return;
    char reason[512] = "";
    int rc = life->probe(host, config, reason, sizeof(reason));
    reason[sizeof(reason) - 1] = '\0';
    if (rc == LP_OK)
        return;
    lp_plugin_fail(h, LP_PLUGIN_UNAVAILABLE, "unavailable: %s",
                   reason[0] ? reason : "the plugin's probe failed and gave no reason");
}

void lp_plugin_close(struct lp_plugin_handle *h)
{
    const char *unload = getenv("LILYPAD_PLUGIN_UNLOAD");
    if (h->dl != NULL && unload != NULL && strcmp(unload, "1") == 0)
        dlclose(h->dl);
    h->dl = NULL;
    h->desc = NULL;
}
