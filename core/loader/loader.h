/*
 * Finding, opening and checking plugins.
 *
 * A plugin <concern>/<name> is either compiled into the core (the embedded defaults) or the
 * first file <concern>_<name>.so on the search path. Opening it checks, in order and before
 * any plugin code beyond the descriptor function runs: magic, ABI major, ABI minor, sizes,
 * concern, name = file name, and the config schema. Probing then asks the plugin whether its
 * device or daemon is there. Every plugin ends in exactly one state with a one-line message.
 */
#ifndef LP_LOADER_LOADER_H
#define LP_LOADER_LOADER_H

#include <limits.h>
#include <stdbool.h>

#include <lilypad/plugin.h>

enum lp_plugin_state {
    LP_PLUGIN_LOADED,       /* checked and probed: ready */
    LP_PLUGIN_UNAVAILABLE,  /* loaded, but its device/daemon/runtime is missing (a warning) */
    LP_PLUGIN_INCOMPATIBLE, /* built for another ABI, or its descriptor contradicts its file */
    LP_PLUGIN_OPEN_FAILED,  /* dlopen failed: a missing library, a bad ELF file */
    LP_PLUGIN_NOT_A_PLUGIN, /* no descriptor, or not ours */
    LP_PLUGIN_INIT_FAILED,  /* create() failed */
    LP_PLUGIN_DISABLED,     /* switched off in the configuration */
    LP_PLUGIN_NOT_FOUND,    /* no such file on the search path */
};

const char *lp_plugin_state_name(enum lp_plugin_state state);
/* INCOMPATIBLE, OPEN_FAILED, NOT_A_PLUGIN or INIT_FAILED: the plugin itself is broken and
 * needs fixing, unlike one that is merely absent, switched off or without its device. */
bool lp_plugin_state_is_broken(enum lp_plugin_state state);

#define LP_CONCERN_NAME_MAX 16
#define LP_PLUGIN_NAME_MAX  64

/* One plugin, opened (or not) and checked. */
struct lp_plugin_handle {
    char concern[LP_CONCERN_NAME_MAX];
    char name[LP_PLUGIN_NAME_MAX];
    char path[PATH_MAX]; /* "(embedded)" for a plugin compiled into the core */
    enum lp_plugin_state state;
    char message[1024]; /* one line, "lilypad: plugin ..." without the prefix; "" when LOADED */
    const struct lp_plugin *desc; /* set once the descriptor checks have passed */
    void *dl;                     /* dlopen handle; NULL when embedded or not opened */
    bool embedded;
};

/* Directories searched in order, first match wins. */
struct lp_search_path {
    char **dirs;
    size_t count;
};

/*
 * Builds the search path: `cli_dirs` (--plugin-path, colon-separated, may be NULL), then
 * $LILYPAD_PLUGIN_PATH, then `config_dirs` (plugin_path from the configuration, relative to
 * `config_dir`), then the install directory, then <exe dir>/../lib/lilypad/plugins.
 */
int lp_search_path_build(struct lp_search_path *sp, const char *cli_dirs,
                         const struct lp_str_list *config_dirs, const char *config_dir);
void lp_search_path_free(struct lp_search_path *sp);
/* "a:b:c" for messages. */
void lp_search_path_format(const struct lp_search_path *sp, char *buf, size_t len);

/* enum lp_concern <-> "hashrate", ...; 0 / NULL when unknown. */
uint32_t lp_concern_from_name(const char *name);
const char *lp_concern_name(uint32_t concern);

/* Finds and opens <concern>/<name>; the handle's state is LOADED (not yet probed) when every
 * check passed, otherwise the failure state with its message. A broken copy (OPEN_FAILED,
 * NOT_A_PLUGIN, INCOMPATIBLE) does not hide a good one later on the search path: the loader
 * goes on to the next copy and warns about the broken one. When every copy is broken, the
 * handle is the first of them. */
void lp_plugin_open(const struct lp_search_path *sp, const char *concern, const char *name,
                    struct lp_plugin_handle *out);
/* Told about each broken copy lp_plugin_open passed over on its way to `used`. */
typedef void (*lp_plugin_skip_fn)(void *arg, const struct lp_plugin_handle *broken,
                                  const struct lp_plugin_handle *used);
/* lp_plugin_open, telling on_skip (NULL: nobody) instead of warning. */
void lp_plugin_open_reporting(const struct lp_search_path *sp, const char *concern,
                              const char *name, struct lp_plugin_handle *out,
                              lp_plugin_skip_fn on_skip, void *arg);
/* Opens a plugin file given by path (used by `plugins list` while scanning directories). */
void lp_plugin_open_file(const char *path, const char *concern, const char *name,
                         struct lp_plugin_handle *out);
/* Runs the plugin's probe with its validated configuration: LOADED or UNAVAILABLE. */
void lp_plugin_probe(struct lp_plugin_handle *h, const struct lp_host *host, const void *config);
/* A handle for <concern>/<name> in state DISABLED, as disable_plugins leaves it. */
void lp_plugin_set_disabled(struct lp_plugin_handle *h, const char *concern, const char *name);
/* The handle's message without its "plugin CONCERN/NAME (PATH): " prefix: reason and hint. */
const char *lp_plugin_reason(const struct lp_plugin_handle *h);
/* Marks a handle with a failure state and message (printf-style). */
void lp_plugin_fail(struct lp_plugin_handle *h, enum lp_plugin_state state, const char *fmt, ...)
    LP_PRINTF(3, 4);
/* Releases the handle. Plugins stay mapped unless LILYPAD_PLUGIN_UNLOAD=1: GPU runtimes dislike
 * being unloaded, and a resident plugin keeps its symbols for leak reports. */
void lp_plugin_close(struct lp_plugin_handle *h);

/* The lifecycle ops of a checked plugin. */
const struct lp_lifecycle_ops *lp_plugin_lifecycle(const struct lp_plugin_handle *h);

/* Calls fn for every plugin that exists: the embedded ones, then every <concern>_<name>.so
 * on the search path (the first of each name; later ones are shadowed and skipped). */
typedef void (*lp_plugin_visit_fn)(void *arg, const char *concern, const char *name,
                                   const char *path /* NULL when embedded */);
void lp_plugin_foreach(const struct lp_search_path *sp, lp_plugin_visit_fn fn, void *arg);

#endif
