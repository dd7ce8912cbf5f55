/*
 * lilypad plugin ABI: the descriptor every plugin exports, the host services table the core
 * hands to it, result codes, capability flags and the declarative configuration schema.
 *
 * This header and the per-concern headers beside it (hashrate.h, executor.h, storage.h,
 * verifier.h) are the only headers a plugin includes. No third-party type appears here, so a
 * plugin never depends on the core's libraries (libconfig, SQLite, ...).
 *
 * ABI rules (api/README.md has the whole contract: lifecycle, threading, errors, retries):
 *   - LP_ABI_MAJOR changes when a layout or a meaning changes; the loader requires equality.
 *   - LP_ABI_MINOR changes when members are appended; a plugin's minor may be older than the
 *     core's, never newer.
 *   - Every struct that crosses the boundary is append-only and carries its size, so the core
 *     can tell which members a plugin built against an older minor knows about.
 *   - An ops member that is NULL, or that lies past the plugin's ops_size, means "not supported".
 *     The ops each concern requires are checked when the plugin is loaded: a plugin without one
 *     is INCOMPATIBLE.
 *
 * ABI 1.1 appends: struct lp_call (the acting party's address and a per-call cancellation
 * token, taken by the *_v2 storage and verifier ops), and the host services vlog, data_dir and
 * call_cancelled. The per-concern headers list their own 1.1 members.
 */
#ifndef LILYPAD_PLUGIN_H
#define LILYPAD_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lilypad/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "LPPL" read as a little-endian word: the first thing the loader checks. */
#define LP_PLUGIN_MAGIC 0x4C50504Cu

/* The name of the single symbol a plugin exports. */
#define LP_PLUGIN_ENTRY_SYMBOL "lp_plugin_descriptor"

#if defined(__GNUC__)
#define LP_EXPORT       __attribute__((visibility("default")))
#define LP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LP_EXPORT
#define LP_PRINTF(a, b)
#endif

/* The concern a plugin serves; its file is named <concern>_<name>.so. */
enum lp_concern {
    LP_CONCERN_HASHRATE = 1,
    LP_CONCERN_EXECUTOR = 2,
    LP_CONCERN_STORAGE = 3,
    LP_CONCERN_VERIFIER = 4,
};

/* Result codes of every plugin operation. Human text comes from last_error(). */
enum lp_rc {
    LP_OK = 0,
    LP_RETRY = 1,         /* transient, and the call had no effect: the core retries it as is,
                             with back-off, a few times, then reports it failed */
    LP_ERR = -1,          /* failed; see last_error() */
    LP_EUNAVAILABLE = -2, /* no device, daemon or runtime */
    LP_EINVAL = -3,       /* the arguments or the configuration are wrong */
    LP_ENOTSUP = -4,      /* this plugin cannot do that */
};

/* Capability flags (lp_plugin.caps). */
#define LP_CAP_THREADSAFE     (UINT64_C(1) << 0) /* calls on one instance may run concurrently */
#define LP_CAP_MULTI_INSTANCE (UINT64_C(1) << 1) /* several instances may coexist */
#define LP_CAP_NEEDS_GPU      (UINT64_C(1) << 2) /* useless without a GPU */
#define LP_CAP_CANCEL         (UINT64_C(1) << 3) /* long operations honour host->cancelled() */
#define LP_CAP_NETWORK        (UINT64_C(1) << 4) /* talks to a daemon or a remote service */

enum lp_log_level {
    LP_LOG_ERROR = 0,
    LP_LOG_WARN = 1,
    LP_LOG_INFO = 2,
    LP_LOG_DEBUG = 3,
};

/* ---- declarative configuration schema ----------------------------------------------------
 * A plugin describes its keys; the core reads the libconfig group of its concern, validates
 * it (types, required keys, unknown keys), applies defaults and writes each value into the
 * plugin's own configuration struct at `offset`. The struct is handed to create() and stays
 * valid until destroy() returns; strings and lists in it are owned by the core.
 */
enum lp_cfg_type {
    LP_CFG_STRING = 1,      /* const char *                                            */
    LP_CFG_INT = 2,         /* int64_t                                                 */
    LP_CFG_BOOL = 3,        /* bool                                                    */
    LP_CFG_SIZE = 4,        /* uint64_t bytes; "512M", "2G" or an integer               */
    LP_CFG_DURATION = 5,    /* uint64_t milliseconds; "30s", "5m", "250ms" or seconds  */
    LP_CFG_STRING_LIST = 6, /* struct lp_str_list                                      */
    LP_CFG_INT_LIST = 7,    /* struct lp_int_list                                      */
};

#define LP_CFG_REQUIRED (1u << 0) /* no default: the file must set it */
#define LP_CFG_SECRET   (1u << 1) /* masked by `lilypad config dump` and never logged */

struct lp_cfg_field {
    const char *key;           /* NULL ends the schema */
    uint32_t type;             /* enum lp_cfg_type */
    uint32_t flags;            /* LP_CFG_* */
    const char *default_value; /* written as in a config file: "\"x\"", "42", "true", "[1, 2]" */
    size_t offset;             /* offsetof(plugin config struct, member) */
    const char *description;   /* one line, shown by `lilypad plugins inspect` */
};

struct lp_str_list {
    size_t count;
    const char *const *items;
};

struct lp_int_list {
    size_t count;
    const int64_t *items;
};

/* Convenience initialisers for schema rows. */
#define LP_CFG_FIELD(cfg_type, member, type_, flags_, def, desc)                                   \
    {                                                                                              \
        .key = #member, .type = (type_), .flags = (flags_), .default_value = (def),                \
        .offset = offsetof(cfg_type, member), .description = (desc)                                \
    }
#define LP_CFG_END                                                                                 \
    {                                                                                              \
        .key = NULL                                                                                \
    }

/* ---- host services ---------------------------------------------------------------------
 * Everything a plugin may ask of the core. Plugins link with -z defs and never call core
 * symbols; this table is their only way in. Each instance gets its own table (ctx differs),
 * so log lines carry the plugin's name without the plugin repeating it.
 */
struct lp_cfg_node;     /* opaque: a setting in the configuration tree */
struct lp_cancel_token; /* opaque: the core's cancellation flag for one call */

/* ---- per-call context (ABI 1.1) ---------------------------------------------------------
 * Handed to the *_v2 storage and verifier ops: on whose behalf the call is made, and how the
 * core cancels this call alone. Valid only for the duration of the call; copy what you keep.
 */
struct lp_call {
    uint32_t struct_size;
    uint8_t actor[20]; /* address of the party acting (job creator, provider, mediator,
                          solver); all zero when the node acts for itself */
    const struct lp_cancel_token *cancel; /* ask host->call_cancelled(); NULL: never fired */
    uint64_t deadline_ns; /* host->monotonic_ns() value to give up by; 0: no deadline */
};

struct lp_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void *ctx; /* the core's; pass the table back unchanged */

    void (*log)(const struct lp_host *host, int level, const char *fmt, ...) LP_PRINTF(3, 4);

    /* Counters and gauges, exported by the core's /metrics. Names are [a-z0-9_]. */
    void (*metric_add)(const struct lp_host *host, const char *name, int64_t delta);
    void (*metric_set)(const struct lp_host *host, const char *name, int64_t value);

    /* Raw access to the plugin's configuration group, for data the schema cannot describe.
     * Paths are dot-separated ("devices.0"); NULL when absent. */
    const struct lp_cfg_node *(*cfg_root)(const struct lp_host *host);
    const struct lp_cfg_node *(*cfg_lookup)(const struct lp_host *host,
                                            const struct lp_cfg_node *node, const char *path);
    int (*cfg_get_string)(const struct lp_host *host, const struct lp_cfg_node *node,
                          const char **out);
    int (*cfg_get_int)(const struct lp_host *host, const struct lp_cfg_node *node, int64_t *out);
    int (*cfg_get_bool)(const struct lp_host *host, const struct lp_cfg_node *node, bool *out);
    size_t (*cfg_length)(const struct lp_host *host, const struct lp_cfg_node *node);
    const struct lp_cfg_node *(*cfg_element)(const struct lp_host *host,
                                             const struct lp_cfg_node *node, size_t index);

    /* Clocks: monotonic for intervals, realtime for timestamps. */
    uint64_t (*monotonic_ns)(const struct lp_host *host);
    uint64_t (*realtime_ns)(const struct lp_host *host);

    /* Nonzero once the core wants the current long operation (and the process) to stop. */
    int (*cancelled)(const struct lp_host *host);

    /* The top-level `gpu` setting: "auto", "nvidia", "amd" or "none". */
    const char *(*gpu_vendor)(const struct lp_host *host);

    /* ---- ABI 1.1 (check with LP_HOST_HAS before use) ---- */

    /* log() for plugins that wrap it in their own variadic helpers. */
    void (*vlog)(const struct lp_host *host, int level, const char *fmt, va_list ap)
        LP_PRINTF(3, 0);
    /* The program's data directory, absolute: $LILYPAD_HOME, else $XDG_DATA_HOME/lilypad, else
     * ~/.local/share/lilypad. Keep defaults under it (say, <data_dir>/<your name>) so every
     * part of the program agrees where its files are. NULL when none can be resolved. */
    const char *(*data_dir)(const struct lp_host *host);
    /* Nonzero once `call`'s token has fired, its deadline has passed, or the process stops.
     * Long storage and verifier calls poll it and return LP_ERR with a reason when set. */
    int (*call_cancelled)(const struct lp_host *host, const struct lp_call *call);
};

/* True when `host` was built with member `m` (for plugins built against a newer minor). */
#define LP_HOST_HAS(host, m)                                                                       \
    ((host)->struct_size >= offsetof(struct lp_host, m) + sizeof((host)->m) && (host)->m != NULL)

/* True when a sized struct the core hands in (`p`, of type `type`, with a struct_size first
 * member) reaches `member`: an older core sends shorter structs. */
#define LP_STRUCT_HAS(p, type, member)                                                             \
    ((p)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* ---- lifecycle, shared by every concern -----------------------------------------------
 * dlopen -> descriptor checks -> probe -> create -> start -> [concern ops] -> stop -> destroy.
 * The first member of every concern's ops struct is this struct, so the core drives the
 * lifecycle without knowing the concern.
 */
struct lp_lifecycle_ops {
    /* Side-effect free: is the runtime, device or daemon there? LP_OK or LP_EUNAVAILABLE, with
     * the reason written to `reason` (always NUL-terminated). May be NULL: always available. */
    int (*probe)(const struct lp_host *host, const void *config, char *reason, size_t reason_len);
    /* Build an instance from the validated configuration struct. On failure, leave *instance
     * NULL (log the reason at LP_LOG_ERROR), or set it to an instance whose last_error() says
     * why: the core reads that, then destroys it. */
    int (*create)(const struct lp_host *host, const void *config, void **instance);
    /* Start and stop the instance's own threads, if any. May be NULL. */
    int (*start)(void *instance);
    int (*stop)(void *instance);
    void (*destroy)(void *instance);
    /* Text of the last failure, one line, never NULL once create() has succeeded. The core
     * reads it right after a failed call, on the thread that made the call: a plugin that
     * declares LP_CAP_THREADSAFE keeps it per thread (_Thread_local), others may keep one
     * buffer per instance (the core holds the instance's lock across call and read). */
    const char *(*last_error)(void *instance);
};

/* ---- the descriptor -------------------------------------------------------------------- */
struct lp_plugin {
    uint32_t magic;       /* LP_PLUGIN_MAGIC */
    uint16_t abi_major;   /* LP_ABI_MAJOR at build time */
    uint16_t abi_minor;   /* LP_ABI_MINOR at build time */
    uint32_t struct_size; /* sizeof(struct lp_plugin) at build time */
    uint32_t concern;     /* enum lp_concern */
    const char *name;     /* "cuda": must match the file hashrate_cuda.so */
    const char *version;  /* the plugin's own version */
    const char *description;
    const char *license;                      /* SPDX identifier */
    uint64_t caps;                            /* LP_CAP_* */
    const struct lp_cfg_field *config_schema; /* may be NULL: no keys */
    size_t config_size; /* sizeof the struct the schema's offsets point into */
    const void *ops;    /* struct lp_<concern>_ops */
    uint32_t ops_size;  /* sizeof(struct lp_<concern>_ops) at build time */
};

typedef const struct lp_plugin *(*lp_plugin_descriptor_fn)(void);

/* Map a concern token to its enum and ops type, for LP_PLUGIN_DEFINE. */
#define LP_CONCERN_ENUM_hashrate LP_CONCERN_HASHRATE
#define LP_CONCERN_ENUM_executor LP_CONCERN_EXECUTOR
#define LP_CONCERN_ENUM_storage  LP_CONCERN_STORAGE
#define LP_CONCERN_ENUM_verifier LP_CONCERN_VERIFIER

/*
 * LP_PLUGIN_DEFINE(concern, name, version, description, license, ops, schema, cfg_type, caps)
 *
 *   concern   one of hashrate, executor, storage, verifier (a bare token)
 *   name      the plugin's name (a bare token; the file is <concern>_<name>.so)
 *   ops       a `static const struct lp_<concern>_ops` object
 *   schema    a `static const struct lp_cfg_field[]` ending in LP_CFG_END, or NULL
 *   cfg_type  the struct the schema describes (use `char` when there is none)
 *
 * Defines the exported entry point; the ABI numbers and sizes come from the headers the plugin
 * is compiled against, so authors never type a version number.
 */
#define LP_PLUGIN_DEFINE(concern_, name_, version_, description_, license_, ops_, schema_,         \
                         cfg_type_, caps_)                                                         \
    static const struct lp_plugin lp_plugin_descriptor_data_ = {                                   \
        .magic = LP_PLUGIN_MAGIC,                                                                  \
        .abi_major = LP_ABI_MAJOR,                                                                 \
        .abi_minor = LP_ABI_MINOR,                                                                 \
        .struct_size = (uint32_t)sizeof(struct lp_plugin),                                         \
        .concern = LP_CONCERN_ENUM_##concern_,                                                     \
        .name = #name_,                                                                            \
        .version = (version_),                                                                     \
        .description = (description_),                                                             \
        .license = (license_),                                                                     \
        .caps = (caps_),                                                                           \
        .config_schema = (schema_),                                                                \
        .config_size = sizeof(cfg_type_),                                                          \
        .ops = &(ops_),                                                                            \
        .ops_size = (uint32_t)sizeof(struct lp_##concern_##_ops),                                  \
    };                                                                                             \
    LP_PLUGIN_ENTRY_(concern_, name_)                                                              \
    {                                                                                              \
        return &lp_plugin_descriptor_data_;                                                        \
    }

/* A plugin compiled into the core (the embedded defaults, and tests that link several plugins
 * into one binary) gets a uniquely named, hidden entry point instead of the exported one. */
#ifdef LP_PLUGIN_STATIC
#define LP_PLUGIN_ENTRY_(concern_, name_)                                                          \
    const struct lp_plugin *lp_plugin_descriptor_##concern_##_##name_(void);                       \
    const struct lp_plugin *lp_plugin_descriptor_##concern_##_##name_(void)
#else
#define LP_PLUGIN_ENTRY_(concern_, name_)                                                          \
    LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void);                                  \
    LP_EXPORT const struct lp_plugin *lp_plugin_descriptor(void)
#endif

#ifdef __cplusplus
}
#endif

#endif /* LILYPAD_PLUGIN_H */
