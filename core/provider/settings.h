/* Configuration of the provider role: the `provider { ... }` section (keys and defaults in
 * lp_provider_schema; `lilypad config dump` prints them). Paths are resolved against the
 * configuration file's folder; prices are decimal wei strings so any uint256 fits. */
#ifndef LP_PROVIDER_SETTINGS_H
#define LP_PROVIDER_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include <lilypad/plugin.h>

#include "wire/offers.h"

struct lp_config;
struct lp_config_values;

struct lp_provider_settings {
    const char *solver;   /* base URL of the solver's HTTP API */
    const char *key;      /* raw hex key file */
    const char *work_dir; /* journal, per-deal folders */
    const char *image_store;
    const char *price;              /* minimum price per job, decimal wei */
    const char *results_collateral; /* decimal wei */
    const char *mediation_fee;      /* decimal wei */
    int64_t cpu;                    /* millicores to offer; 0: what the probe found */
    uint64_t ram;                   /* bytes; 0: the probe's available RAM */
    uint64_t disk;                  /* bytes; 0: the work dir's free space */
    int64_t gpus;                   /* GPUs to offer; -1: every GPU found */
    /* What a job gets when its module asks for none (0: its slot's share, the most a job
     * gets, which is what the slot's offer advertises). */
    int64_t job_cpu;          /* millicores */
    uint64_t job_ram;         /* bytes */
    uint64_t job_disk;        /* bytes, the /outputs cap */
    int64_t job_pids;         /* processes at once, every job (the wire has no such ask) */
    uint64_t max_result;      /* bytes: stdout + stderr + outputs as packed for upload */
    struct lp_str_list allow; /* empty: any module the denylist does not name */
    struct lp_str_list deny;
    int64_t max_jobs;         /* concurrent deals (one resource offer per free slot) */
    int64_t mining_duty;      /* percent of device time spent mining; 0: no mining */
    uint64_t poll_wait;       /* ms, event long-poll */
    uint64_t hashrate_log;    /* ms between hash rate log lines; 0: never */
    uint64_t request_timeout; /* ms per request to the solver */
    /* refuse | egress: what a module asking for network gets */
    const char *module_network;
    struct lp_str_list mediators; /* "0x..." trusted to mediate; empty: any the solver books */
};

extern const struct lp_cfg_field lp_provider_schema[];

/* The section validated, with paths resolved and prices parsed. */
struct lp_provider_runtime {
    struct lp_config_values *values;
    const struct lp_provider_settings *settings;
    char work_dir[4096], key_path[4096], image_store[4096];
    struct lp_u256 price, results_collateral, mediation_fee;
    uint8_t mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN]; /* parsed, sorted */
    size_t n_mediators;
};

/* cfg may be NULL (defaults). -1 with "FILE: provider.KEY: ..." in err. */
int lp_provider_settings_load(const struct lp_config *cfg, struct lp_provider_runtime *out,
                              char *err, size_t errlen);
void lp_provider_settings_free(struct lp_provider_runtime *rt);

/* Decimal digits (up to 2^256-1) to a big-endian amount. 0 ok, -1 on anything else. */
int lp_provider_parse_wei(const char *text, struct lp_u256 *out);

#endif
