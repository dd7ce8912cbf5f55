/* The `solver { ... }` section of a configuration file, validated against its schema. */
#include "solver/settings.h"

#include "util/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "solver/http.h"
#include "wire/mediators.h"

#define F(member, type, def, desc)                                                                 \
    LP_CFG_FIELD(struct lp_solver_settings, member, type, 0, def, desc)

const struct lp_cfg_field lp_solver_schema[] = {
    F(listen, LP_CFG_STRING, "\"127.0.0.1:8080\"",
      "HOST:PORT of the HTTP API; keep it on loopback unless a TLS proxy is in front"),
    F(data_dir, LP_CFG_STRING, "\"solver-data\"",
      "state folder (database and file blobs), relative to this file"),
    F(db, LP_CFG_STRING, "\"\"", "SQLite database; default DATA_DIR/solver.db"),
    F(key, LP_CFG_STRING, "\"\"",
      "the solver's key file (raw hex, mode 0600) that signs deals; empty: a new key each start"),
    F(match_timeout, LP_CFG_DURATION, "\"30s\"", "an unmatched job offer expires (TimeoutMatch)"),
    F(execution_grace, LP_CFG_DURATION, "\"60s\"",
      "added to a job's own timeout before TimeoutExecution (uploading the outputs)"),
    F(max_execution, LP_CFG_DURATION, "\"15m\"", "cap on a job's execution timeout"),
    F(download_timeout, LP_CFG_DURATION, "\"1h\"",
      "results not accepted or challenged in time (TimeoutDownload)"),
    F(mediation_timeout, LP_CFG_DURATION, "\"1h\"", "no verdict in time (TimeoutMediateResults)"),
    F(total_timeout, LP_CFG_DURATION, "\"2h\"", "any unfinished job (JobTimedOut)"),
    F(tick, LP_CFG_DURATION, "\"1s\"", "how often timeouts are checked"),
    F(rate_limit, LP_CFG_INT, "200", "signed requests per address per rate_window; 0: no limit"),
    F(rate_window, LP_CFG_DURATION, "\"10s\"", "window of rate_limit"),
    F(max_open_job_offers, LP_CFG_INT, "100", "unmatched job offers per address"),
    F(max_open_resource_offers, LP_CFG_INT, "16", "open resource offers per address"),
    F(max_pending_jobs, LP_CFG_INT, "1000",
      "unmatched job offers network-wide; when full, the address with the most gives way "
      "(\"busy\" only when none has two more than the poster)"),
    F(max_file_size, LP_CFG_SIZE, "\"64M\"", "largest input or output upload"),
    F(blocklist, LP_CFG_STRING_LIST, "[]",
      "modules the network refuses: \"REPO[@COMMIT] reason...\" (REPO blocks every commit)"),
    F(pow_round, LP_CFG_DURATION, "\"6m\"",
      "length of a proof-of-work round (Lilypad: 30 L1 blocks); 0: no rounds"),
    F(pow_window, LP_CFG_DURATION, "\"6m\"",
      "submissions are taken until window start + pow_window"),
    F(pow_target, LP_CFG_STRING, "\"\"",
      "PoW target, 0x + 64 hex digits (big-endian); \"\": Lilypad's 0x149a6a3 << 204"),
    F(pow_shares, LP_CFG_INT, "256",
      "shares a provider should find per window (its share difficulty follows its hash rate)"),
    F(max_connections, LP_CFG_INT, "1000", "connections open at once, all clients together"),
    F(max_connections_per_ip, LP_CFG_INT, "64",
      "connections open at once from one IP address; 0: no per-address limit"),
    F(http_threads, LP_CFG_INT, "4",
      "threads serving connections (each serves many; none waits on a long-poll)"),
    F(idle_timeout, LP_CFG_DURATION, "\"30s\"",
      "a connection silent this long within a request is closed"),
    F(header_timeout, LP_CFG_DURATION, "\"10s\"",
      "a connection that has not sent a whole request header this long after connecting (or "
      "after its last answer) is closed"),
    F(max_long_polls, LP_CFG_INT, "4",
      "event long-polls (GET /api/v1/events?wait=S) open at once per address"),
    F(hosts, LP_CFG_STRING_LIST, "[]",
      "HOST[:PORT] names clients address the solver by (signed into every request); []: the "
      "listen address, and localhost:PORT on loopback"),
    F(upload_quota, LP_CFG_SIZE, "\"4G\"",
      "bytes one address may upload (inputs and outputs) per upload_window; 0: no quota"),
    F(upload_quota_files, LP_CFG_INT, "1000",
      "files one address may upload per upload_window; 0: no quota"),
    F(upload_window, LP_CFG_DURATION, "\"1h\"", "window of upload_quota and upload_quota_files"),
    F(retention, LP_CFG_DURATION, "\"7d\"",
      "finished deals and offers, events, and uploads nothing refers to are deleted this long "
      "after they finish; 0: kept forever"),
    F(gc_interval, LP_CFG_DURATION, "\"10m\"", "how often that clean-up runs"),
    F(offer_liveness, LP_CFG_DURATION, "\"60s\"",
      "a provider's resource offers stop being matched this long after its last event long-poll "
      "or offer, until it polls again; 0: offers never lapse"),
    F(start_timeout, LP_CFG_DURATION, "\"30s\"",
      "a matched job its provider has not started (agree, outputs or result) by then is matched "
      "again with another provider; 0: never"),
    F(mediators, LP_CFG_STRING_LIST, "[]",
      "addresses (\"0x...\", at most 16) that may mediate a challenge of a job offer naming no "
      "mediators of its own; the job creator and the deal's provider are never booked; []: such "
      "challenges are refused"),
    LP_CFG_END,
};

#define DAY_MS (86400000ll)

const struct lp_cfg_range lp_solver_ranges[] = {
    {"rate_limit", 0, 1000000000, "signed requests per address per window; 0: no limit"},
    {"rate_window", 1, 30 * DAY_MS, NULL},
    {"max_open_job_offers", 0, 100000000, NULL},
    {"max_open_resource_offers", 0, 1000000, NULL},
    {"max_pending_jobs", 0, 100000000, NULL},
    {"max_file_size", 1, 1ll << 40, "bytes"},
    {"tick", 1, 3600000, "above 0, e.g. \"1s\""},
    {"max_connections", 1, 1000000, NULL},
    {"max_connections_per_ip", 0, 1000000, "0: no per-address limit"},
    {"http_threads", 1, 256, NULL},
    {"idle_timeout", 1000, DAY_MS, "1s..1d"},
    {"header_timeout", 1000, 3600000, "1s..1h"},
    {"max_long_polls", 1, 100000, NULL},
    {"upload_quota_files", 0, 1000000000, "0: no quota"},
    {"upload_window", 1000, 30 * DAY_MS, "1s..30d"},
    {"gc_interval", 1000, DAY_MS, "1s..1d"},
    {NULL, 0, 0, NULL},
};

/* Not a configuration key: how far an offer's created_at may be from the solver's clock. */
#define OFFER_SKEW_MS 30000u

/* The solver's numbers from validated settings (paths and pow_target are the caller's). */
static void config_from_settings(const struct lp_solver_settings *s, struct lp_solver_config *c)
{
    memset(c, 0, sizeof *c);
    c->match_timeout_ms = s->match_timeout;
    c->execution_grace_ms = s->execution_grace;
    c->max_execution_ms = s->max_execution;
    c->download_timeout_ms = s->download_timeout;
    c->mediation_timeout_ms = s->mediation_timeout;
    c->total_timeout_ms = s->total_timeout;
    c->tick_ms = s->tick;
    c->rate_limit = (uint64_t)s->rate_limit;
    c->rate_window_ms = s->rate_window;
    c->max_open_job_offers = (uint64_t)s->max_open_job_offers;
    c->max_open_resource_offers = (uint64_t)s->max_open_resource_offers;
    c->max_pending_jobs = (uint64_t)s->max_pending_jobs;
    c->max_file_bytes = s->max_file_size;
    c->offer_skew_ms = OFFER_SKEW_MS;
    c->pow_round_ms = s->pow_round;
    c->pow_window_ms = s->pow_window;
    c->pow_shares = s->pow_shares > 0 ? (uint64_t)s->pow_shares : 1;
    c->max_connections = (uint64_t)s->max_connections;
    c->max_connections_per_ip = (uint64_t)s->max_connections_per_ip;
    c->http_threads = (uint64_t)s->http_threads;
    c->idle_timeout_ms = s->idle_timeout;
    c->header_timeout_ms = s->header_timeout;
    c->max_long_polls = (uint64_t)s->max_long_polls;
    c->hosts = s->hosts.items;
    c->n_hosts = s->hosts.count;
    c->upload_quota_bytes = s->upload_quota;
    c->upload_quota_files = (uint64_t)s->upload_quota_files;
    c->upload_window_ms = s->upload_window;
    c->retention_ms = s->retention;
    c->gc_interval_ms = s->gc_interval;
    c->offer_liveness_ms = s->offer_liveness;
    c->start_timeout_ms = s->start_timeout;
}

/* The schema's defaults are the only copy of the solver's defaults: this reads them as a
 * configuration file without a solver section would. They are constants checked by the unit
 * tests, so failing to read them is a broken build, not bad input. */
void lp_solver_config_defaults(struct lp_solver_config *cfg)
{
    struct lp_config_values *values = NULL;
    char err[256];
    if (lp_config_apply_schema(NULL, "solver", lp_solver_schema, sizeof(struct lp_solver_settings),
                               NULL, &values, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: solver: the built-in defaults do not load: %s\n", err);
        abort();
    }
    config_from_settings(lp_config_values_data(values), cfg);
    lp_config_values_free(values);
}

static const char *resolve(const struct lp_config *cfg, const char *path, char *buf, size_t cap)
{
    if (!path || path[0] == '/' || !cfg)
        return path;
    snprintf(buf, cap, "%s/%s", lp_config_dir(cfg), path);
    return buf;
}

int lp_solver_settings_load(const struct lp_config *cfg, struct lp_solver_runtime *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (lp_config_apply_schema(cfg, "solver", lp_solver_schema, sizeof(struct lp_solver_settings),
                               NULL, &out->values, err, errlen) != 0)
        return -1;
    const struct lp_solver_settings *s = lp_config_values_data(out->values);
    const char *file = cfg ? lp_config_file(cfg) : "(defaults)";
    char where[512], why[256];
    if (lp_config_check_ranges(cfg, "solver", lp_solver_schema, s, lp_solver_ranges, err, errlen) !=
        0) {
        lp_config_values_free(out->values);
        return -1;
    }
    if (lp_solver_check_listen(s->listen, s->hosts.count, why, sizeof why) != 0) {
        lp_config_where(cfg, "solver", "listen", where, sizeof where);
        snprintf(err, errlen, "%s: %s", where, why);
        lp_config_values_free(out->values);
        return -1;
    }
    for (size_t i = 0; i < s->hosts.count; i++) {
        if (lp_solver_check_host(s->hosts.items[i], why, sizeof why) != 0) {
            lp_config_where(cfg, "solver", "hosts", where, sizeof where);
            snprintf(err, errlen, "%s[%zu]: %s", where, i, why);
            lp_config_values_free(out->values);
            return -1;
        }
    }
    for (size_t i = 0; i < s->blocklist.count; i++) {
        const char *e = s->blocklist.items[i];
        if (strncmp(e, "http", 4) != 0 && strchr(e, '/') == NULL) {
            snprintf(err, errlen,
                     "%s: solver.blocklist[%zu]: \"%s\" is not a module repo; hint: write "
                     "\"https://host/owner/repo[@commit] reason\"",
                     file, i, e);
            lp_config_values_free(out->values);
            return -1;
        }
    }
    size_t bad = 0;
    if (lp_mediators_parse((const char *const *)s->mediators.items, s->mediators.count,
                           out->mediators, &out->n_mediators, &bad, why, sizeof why) != 0) {
        lp_config_where(cfg, "solver", "mediators", where, sizeof where);
        if (bad < s->mediators.count)
            snprintf(err, errlen, "%s[%zu]: %s", where, bad, why);
        else
            snprintf(err, errlen, "%s: %s", where, why);
        lp_config_values_free(out->values);
        return -1;
    }
    out->settings = s;
    snprintf(out->data_dir, sizeof out->data_dir, "%s",
             resolve(cfg, s->data_dir, (char[4096]){0}, 4096));
    if (s->db && s->db[0])
        snprintf(out->db_path, sizeof out->db_path, "%s",
                 resolve(cfg, s->db, (char[4096]){0}, 4096));
    else
        snprintf(out->db_path, sizeof out->db_path, "%s/solver.db", out->data_dir);
    snprintf(out->files_dir, sizeof out->files_dir, "%s/files", out->data_dir);
    snprintf(out->modules_dir, sizeof out->modules_dir, "%s/modules", out->data_dir);
    if (s->key && s->key[0])
        snprintf(out->key_path, sizeof out->key_path, "%s",
                 resolve(cfg, s->key, (char[4096]){0}, 4096));

    struct lp_solver_config *c = &out->config;
    config_from_settings(s, c);
    c->db_path = out->db_path;
    c->files_dir = out->files_dir;
    c->modules_dir = out->modules_dir; /* job offers' modules are always checked */
    c->mediators = (const uint8_t(*)[LP_WIRE_ADDR_LEN])out->mediators;
    c->n_mediators = out->n_mediators;
    if (s->pow_target && s->pow_target[0] &&
        lp_hex_decode_fixed(s->pow_target, c->pow_target, 32) != 0) {
        snprintf(err, errlen,
                 "%s: solver.pow_target: \"%s\" is not a 32-byte hex number; hint: 0x + 64 hex "
                 "digits, or \"\" for Lilypad's target",
                 file, s->pow_target);
        lp_config_values_free(out->values);
        return -1;
    }
    return 0;
}

void lp_solver_settings_free(struct lp_solver_runtime *rt)
{
    lp_config_values_free(rt->values);
    rt->values = NULL;
}
