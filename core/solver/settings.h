/* Configuration of the solver role: the `solver { ... }` section (keys and defaults in
 * lp_solver_schema; `lilypad config dump` prints them). */
#ifndef LP_SOLVER_SETTINGS_H
#define LP_SOLVER_SETTINGS_H

#include <lilypad/plugin.h>

#include "config/validate.h"
#include "solver/solver.h"
#include "wire/offers.h"

struct lp_config;
struct lp_config_values;

struct lp_solver_settings {
    const char *listen;
    const char *data_dir;
    const char *db;
    const char *key;
    uint64_t match_timeout, execution_grace, max_execution, download_timeout, mediation_timeout,
        total_timeout, tick; /* ms */
    int64_t rate_limit;
    uint64_t rate_window; /* ms */
    int64_t max_open_job_offers, max_open_resource_offers, max_pending_jobs;
    uint64_t max_file_size;
    struct lp_str_list blocklist;   /* "REPO[@COMMIT] reason" */
    uint64_t pow_round, pow_window; /* ms */
    const char *pow_target;         /* 0x + 64 hex digits, "" = Lilypad's */
    int64_t pow_shares;
    int64_t max_connections, max_connections_per_ip, http_threads, max_long_polls;
    uint64_t idle_timeout, header_timeout; /* ms */
    struct lp_str_list hosts;              /* "HOST[:PORT]" the solver answers to */
    uint64_t upload_quota;                 /* bytes per upload_window */
    int64_t upload_quota_files;
    uint64_t upload_window, retention, gc_interval; /* ms */
    uint64_t offer_liveness, start_timeout;         /* ms */
    struct lp_str_list mediators;                   /* "0x..." addresses */
};

extern const struct lp_cfg_field lp_solver_schema[];
/* Bounds of the schema's numeric keys (config/validate.h), checked by lp_solver_settings_load
 * and so by `lilypad config check`. */
extern const struct lp_cfg_range lp_solver_ranges[];

/* Everything the solver command needs, paths resolved against the config file's folder. */
struct lp_solver_runtime {
    struct lp_config_values *values;
    const struct lp_solver_settings *settings;
    struct lp_solver_config config;
    char data_dir[4096], db_path[4096], files_dir[4200], modules_dir[4200], key_path[4096];
    uint8_t mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN]; /* parsed, sorted */
    size_t n_mediators;
};

/* cfg may be NULL (defaults). -1 with "FILE:LINE: solver.key: ..." in err: types and unknown
 * keys (the schema), ranges, the listen address, hosts, blocklist entries, mediators and
 * pow_target. */
int lp_solver_settings_load(const struct lp_config *cfg, struct lp_solver_runtime *out, char *err,
                            size_t errlen);
void lp_solver_settings_free(struct lp_solver_runtime *rt);

#endif
