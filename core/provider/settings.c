/* The `provider { ... }` section of a configuration file, validated against its schema. */
#include "provider/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "wire/mediators.h"

#define F(member, type, def, desc)                                                                 \
    LP_CFG_FIELD(struct lp_provider_settings, member, type, 0, def, desc)

const struct lp_cfg_field lp_provider_schema[] = {
    F(solver, LP_CFG_STRING, "\"http://127.0.0.1:8080\"", "base URL of the solver's HTTP API"),
    F(key, LP_CFG_STRING, "\"provider.key\"",
      "the provider's key file (raw hex, mode 0600; lilypad key new), relative to this file"),
    F(work_dir, LP_CFG_STRING, "\"provider-data\"",
      "journal and per-deal folders (inputs, outputs, logs), relative to this file"),
    F(image_store, LP_CFG_STRING, "\"\"",
      "image store used to resolve image digests for allow/deny (keep it equal to "
      "executor.process.image_store); empty: the default store"),
    F(price, LP_CFG_STRING, "\"0\"", "minimum price per job, decimal wei"),
    F(results_collateral, LP_CFG_STRING, "\"0\"", "collateral offered per result, decimal wei"),
    F(mediation_fee, LP_CFG_STRING, "\"0\"", "fee asked for a mediation, decimal wei"),
    F(cpu, LP_CFG_INT, "0", "CPU millicores to offer; 0: every core the probe found"),
    F(ram, LP_CFG_SIZE, "0", "RAM to offer; 0: the probe's available RAM"),
    F(disk, LP_CFG_SIZE, "0", "disk to offer; 0: free space at work_dir"),
    F(gpus, LP_CFG_INT, "-1", "GPUs to offer; -1: every GPU the hashrate plugin found"),
    F(job_cpu, LP_CFG_INT, "0",
      "CPU millicores of a job whose module asks for none; 0: its slot's share (cpu / "
      "max_jobs), which is also the most a job gets"),
    F(job_ram, LP_CFG_SIZE, "0",
      "memory limit of a job whose module asks for none; 0: its slot's share (ram / max_jobs), "
      "also the most a job gets"),
    F(job_disk, LP_CFG_SIZE, "0",
      "/outputs cap of a job whose module asks for none; 0: its slot's share (disk / "
      "max_jobs, at most max_result), also the most a job gets"),
    F(job_pids, LP_CFG_INT, "1024", "processes a job may run at once (every job)"),
    F(max_result, LP_CFG_SIZE, "\"64M\"",
      "largest result a job may leave: stdout, stderr and outputs as packed for upload (keep "
      "it at most the solver's max_file_size); larger ones are refused before they are stored"),
    F(allow, LP_CFG_STRING_LIST, "[]",
      "modules this provider runs (empty: any not denied): NAME, REPO, REPO@COMMIT, COMMIT "
      "(40/64 hex) or sha256:IMAGE_DIGEST"),
    F(deny, LP_CFG_STRING_LIST, "[]", "modules this provider refuses (same forms; deny wins)"),
    F(max_jobs, LP_CFG_INT, "1", "deals run at once; each free slot gets one resource offer"),
    F(mining_duty, LP_CFG_INT, "100",
      "percent of device time spent on proof of work between jobs; 0: no mining"),
    F(poll_wait, LP_CFG_DURATION, "\"5s\"",
      "event long-poll wait (also bounds how fast a stop is noticed)"),
    F(hashrate_log, LP_CFG_DURATION, "\"60s\"", "interval of the hash rate log line; 0: never"),
    F(request_timeout, LP_CFG_DURATION, "\"30s\"", "limit of one request to the solver"),
    F(module_network, LP_CFG_STRING, "\"refuse\"",
      "a module asking for network (job.Spec.Network): refuse (its deal is refused before "
      "anything runs) or egress (outbound only: never this machine or its local networks; "
      "needs an executor that can, e.g. executor/process with slirp4netns and nftables)"),
    F(mediators, LP_CFG_STRING_LIST, "[]",
      "addresses (\"0x...\", at most 16) trusted to mediate this provider's deals: a deal is "
      "taken only when every mediator the solver could book for it is listed; []: any (the "
      "solver never books the deal's own job creator or provider)"),
    LP_CFG_END,
};

int lp_provider_parse_wei(const char *text, struct lp_u256 *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        /* out = out * 10 + digit, big-endian, refusing overflow past 256 bits. */
        unsigned carry = (unsigned)(*p - '0');
        for (int i = LP_WIRE_U256_LEN - 1; i >= 0; i--) {
            unsigned v = (unsigned)out->be[i] * 10u + carry;
            out->be[i] = (uint8_t)(v & 0xff);
            carry = v >> 8;
        }
        if (carry)
            return -1;
    }
    return 0;
}

static void resolve(const struct lp_config *cfg, const char *path, char *out, size_t cap)
{
    if (!path || !path[0]) {
        out[0] = '\0';
        return;
    }
    if (path[0] == '/' || !cfg)
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", lp_config_dir(cfg), path);
}

static int bad(struct lp_provider_runtime *out, char *err, size_t errlen, const char *file,
               const char *key, const char *what)
{
    snprintf(err, errlen, "%s: provider.%s: %s", file, key, what);
    lp_config_values_free(out->values);
    out->values = NULL;
    return -1;
}

int lp_provider_settings_load(const struct lp_config *cfg, struct lp_provider_runtime *out,
                              char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (lp_config_apply_schema(cfg, "provider", lp_provider_schema,
                               sizeof(struct lp_provider_settings), NULL, &out->values, err,
                               errlen) != 0)
        return -1;
    const struct lp_provider_settings *s = lp_config_values_data(out->values);
    const char *file = cfg ? lp_config_file(cfg) : "(defaults)";
    if (strncmp(s->solver, "http://", 7) != 0 && strncmp(s->solver, "https://", 8) != 0)
        return bad(out, err, errlen, file, "solver",
                   "must be an http:// or https:// URL (hint: \"http://127.0.0.1:8080\")");
    const char *names[] = {"price", "results_collateral", "mediation_fee"};
    const char *texts[] = {s->price, s->results_collateral, s->mediation_fee};
    struct lp_u256 *dst[] = {&out->price, &out->results_collateral, &out->mediation_fee};
    for (size_t i = 0; i < 3; i++) {
        if (lp_provider_parse_wei(texts[i], dst[i]) != 0)
            return bad(out, err, errlen, file, names[i],
                       "must be a decimal amount of wei below 2^256 (hint: \"1000000000000000\")");
    }
    if (s->cpu < 0)
        return bad(out, err, errlen, file, "cpu", "must be >= 0 (0: what the probe found)");
    if (s->job_cpu < 0)
        return bad(out, err, errlen, file, "job_cpu", "must be >= 0 (0: the slot's share)");
    if (s->job_pids < 1 || s->job_pids > 4194304)
        return bad(out, err, errlen, file, "job_pids", "must be 1..4194304");
    if (s->max_result < 65536)
        return bad(out, err, errlen, file, "max_result",
                   "must be at least 64K (a result holds stdout, stderr and exitCode)");
    if (s->gpus < -1 || s->gpus > LP_WIRE_MAX_GPUS)
        return bad(out, err, errlen, file, "gpus", "must be -1 (all) or 0..64");
    if (s->max_jobs < 1 || s->max_jobs > 16)
        return bad(out, err, errlen, file, "max_jobs",
                   "must be 1..16 (the solver keeps at most 16 open offers per address)");
    if (s->mining_duty < 0 || s->mining_duty > 100)
        return bad(out, err, errlen, file, "mining_duty", "must be a percentage 0..100");
    if (s->poll_wait > 60000)
        return bad(out, err, errlen, file, "poll_wait", "must be at most 60s (the solver's cap)");
    if (strcmp(s->module_network, "refuse") != 0 && strcmp(s->module_network, "egress") != 0)
        return bad(out, err, errlen, file, "module_network",
                   "must be \"refuse\" or \"egress\" (hint: \"egress\" gives a module outbound "
                   "network only)");
    if (!s->work_dir[0])
        return bad(out, err, errlen, file, "work_dir", "must not be empty");
    char why[256], key[32];
    size_t at = 0;
    if (lp_mediators_parse((const char *const *)s->mediators.items, s->mediators.count,
                           out->mediators, &out->n_mediators, &at, why, sizeof why) != 0) {
        if (at < s->mediators.count)
            snprintf(key, sizeof key, "mediators[%zu]", at);
        else
            snprintf(key, sizeof key, "mediators");
        return bad(out, err, errlen, file, key, why);
    }
    resolve(cfg, s->work_dir, out->work_dir, sizeof out->work_dir);
    resolve(cfg, s->key, out->key_path, sizeof out->key_path);
    resolve(cfg, s->image_store, out->image_store, sizeof out->image_store);
    out->settings = s;
    return 0;
}

void lp_provider_settings_free(struct lp_provider_runtime *rt)
{
    lp_config_values_free(rt->values);
    rt->values = NULL;
    rt->settings = NULL;
}
