/* executor/bacalhau: the job document (models.Job inside a PutJobRequest) for a lilypad job. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "bacalhau.h"

void bac_format_cpu(uint32_t millicores, char *out, size_t cap)
{
    if (millicores % 1000 == 0)
        snprintf(out, cap, "%" PRIu32, millicores / 1000);
    else
        snprintf(out, cap, "%" PRIu32 "m", millicores);
}

/* Bacalhau reads memory and disk with go-humanize, where "gb" is 10^9 and "gib" 2^30; the
 * largest binary unit that divides the size exactly keeps it exact and readable. */
void bac_format_bytes(uint64_t bytes, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {{"tib", 40}, {"gib", 30}, {"mib", 20}, {"kib", 10}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        uint64_t size = UINT64_C(1) << units[i].shift;
        if (bytes >= size && bytes % size == 0) {
            snprintf(out, cap, "%" PRIu64 "%s", bytes / size, units[i].unit);
            return;
        }
    }
    snprintf(out, cap, "%" PRIu64 "b", bytes);
}

/* Bacalhau refuses (and reserves for itself) environment names starting with BACALHAU_. */
static int check_env(const char *entry, char *why, size_t why_len)
{
    const char *eq = strchr(entry, '=');
    if (eq == NULL || eq == entry) {
        snprintf(why, why_len, "environment entry \"%.60s\" is not KEY=VALUE", entry);
        return -1;
    }
    if (strncasecmp(entry, "BACALHAU_", 9) == 0) {
        snprintf(why, why_len,
                 "environment variable %.*s: Bacalhau reserves names starting with BACALHAU_ "
                 "and refuses such jobs (rename it in the module)",
                 (int)(eq - entry > 60 ? 60 : eq - entry), entry);
        return -1;
    }
    return 0;
}

static int set_new(json_t *obj, const char *key, json_t *value)
{
    return value != NULL ? json_object_set_new(obj, key, value) : -1;
}

static json_t *string_array(const char *const *items, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < count; i++)
        if (items[i] == NULL || json_array_append_new(a, json_string(items[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *engine(const struct lp_job_spec *spec)
{
    json_t *params = json_object();
    set_new(params, "Image", json_string(spec->image));
    if (spec->entrypoint_count > 0) {
        /* Docker runs Entrypoint followed by Parameters: the program, then its arguments. */
        set_new(params, "Entrypoint", string_array(spec->entrypoint, 1));
        set_new(params, "Parameters",
                string_array(spec->entrypoint + 1, spec->entrypoint_count - 1));
    }
    if (spec->env_count > 0)
        set_new(params, "EnvironmentVariables", string_array(spec->env, spec->env_count));
    if (spec->workdir != NULL && spec->workdir[0] != '\0')
        set_new(params, "WorkingDirectory", json_string(spec->workdir));
    json_t *e = json_object();
    set_new(e, "Type", json_string("docker"));
    set_new(e, "Params", params);
    return e;
}

static json_t *resources(const struct lp_job_limits *limits)
{
    json_t *r = json_object();
    char text[32];
    if (limits->cpu_millicores > 0) {
        bac_format_cpu(limits->cpu_millicores, text, sizeof text);
        set_new(r, "CPU", json_string(text));
    }
    if (limits->memory_bytes > 0) {
        bac_format_bytes(limits->memory_bytes, text, sizeof text);
        set_new(r, "Memory", json_string(text));
    }
    if (limits->disk_bytes > 0) {
        bac_format_bytes(limits->disk_bytes, text, sizeof text);
        set_new(r, "Disk", json_string(text));
    }
    if (limits->gpus > 0) {
        snprintf(text, sizeof text, "%" PRIu32, limits->gpus);
        set_new(r, "GPU", json_string(text));
    }
    return r;
}

static json_t *network(const struct lp_job_limits *limits)
{
    json_t *n = json_object();
    bool domains = LP_STRUCT_HAS(limits, struct lp_job_limits, network_domain_count) &&
                   limits->network_domains != NULL && limits->network_domain_count > 0;
    if (!limits->network) {
        set_new(n, "Type", json_string("None"));
    } else if (domains) {
        /* Bacalhau's HTTP network lets the job reach only these names, through its proxy. */
        set_new(n, "Type", json_string("HTTP"));
        set_new(n, "Domains", string_array(limits->network_domains, limits->network_domain_count));
    } else {
        set_new(n, "Type", json_string("Full"));
    }
    return n;
}

static json_t *labels(const struct lp_job_spec *spec)
{
    json_t *l = json_object();
    bool v1_2 = LP_STRUCT_HAS(spec, struct lp_job_spec, job_id);
    if (v1_2 && spec->owner != NULL && spec->owner[0] != '\0')
        set_new(l, "lilypad-owner", json_string(spec->owner));
    if (v1_2 && spec->job_id != NULL && spec->job_id[0] != '\0')
        set_new(l, "lilypad-job", json_string(spec->job_id));
    return l;
}

static json_t *task(const struct lp_job_spec *spec, const char *inputs_dir,
                    const struct lp_job_limits *limits, uint64_t timeout_ms)
{
    json_t *t = json_object();
    set_new(t, "Name", json_string("main"));
    set_new(t, "Engine", engine(spec));
    json_t *publisher = json_object();
    set_new(publisher, "Type", json_string("local"));
    set_new(t, "Publisher", publisher);
    json_t *result = json_object();
    set_new(result, "Name", json_string("outputs"));
    set_new(result, "Path", json_string("/outputs"));
    json_t *results = json_array();
    json_array_append_new(results, result);
    set_new(t, "ResultPaths", results);
    if (inputs_dir != NULL && inputs_dir[0] != '\0') {
        json_t *params = json_object();
        set_new(params, "SourcePath", json_string(inputs_dir));
        set_new(params, "ReadWrite", json_false());
        json_t *source = json_object();
        set_new(source, "Type", json_string("localDirectory"));
        set_new(source, "Params", params);
        json_t *input = json_object();
        set_new(input, "Source", source);
        set_new(input, "Target", json_string("/inputs"));
        json_t *inputs = json_array();
        json_array_append_new(inputs, input);
        set_new(t, "InputSources", inputs);
    }
    set_new(t, "Resources", resources(limits));
    set_new(t, "Network", network(limits));
    if (timeout_ms > 0) {
        json_t *timeouts = json_object();
        /* Bacalhau counts in whole seconds: round up so the cluster never stops a job before
         * its own limit. */
        set_new(timeouts, "ExecutionTimeout",
                json_integer((json_int_t)((timeout_ms + 999) / 1000)));
        set_new(t, "Timeouts", timeouts);
    }
    return t;
}

/* JSON strings are UTF-8: jansson refuses other bytes, and a field it refused would vanish
 * from the job instead of failing it, so every string is checked first. */
static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static int check_text(const struct lp_job_spec *spec, const char *inputs_dir,
                      const struct lp_job_limits *limits, char *why, size_t why_len)
{
    const char *bad = NULL;
    if (!utf8_ok(spec->image))
        bad = "image";
    for (size_t i = 0; bad == NULL && i < spec->entrypoint_count; i++)
        if (spec->entrypoint[i] == NULL || !utf8_ok(spec->entrypoint[i]))
            bad = "entrypoint";
    for (size_t i = 0; bad == NULL && i < spec->env_count; i++)
        if (!utf8_ok(spec->env[i]))
            bad = "environment";
    if (bad == NULL && spec->workdir != NULL && !utf8_ok(spec->workdir))
        bad = "working directory";
    if (bad == NULL && inputs_dir != NULL && !utf8_ok(inputs_dir))
        bad = "inputs folder";
    if (bad == NULL && LP_STRUCT_HAS(spec, struct lp_job_spec, job_id) &&
        ((spec->owner != NULL && !utf8_ok(spec->owner)) ||
         (spec->job_id != NULL && !utf8_ok(spec->job_id))))
        bad = "owner or job ID";
    if (bad == NULL && limits->network &&
        LP_STRUCT_HAS(limits, struct lp_job_limits, network_domain_count))
        for (size_t i = 0; bad == NULL && i < limits->network_domain_count; i++)
            if (limits->network_domains == NULL || limits->network_domains[i] == NULL ||
                !utf8_ok(limits->network_domains[i]))
                bad = "network domain";
    if (bad == NULL)
        return 0;
    snprintf(why, why_len, "the job's %s is missing or is not UTF-8 text", bad);
    return -1;
}

char *bac_job_build(const struct bac_config *cfg, const struct lp_job_spec *spec,
                    const char *inputs_dir, const struct lp_job_limits *limits, uint64_t timeout_ms,
                    char *why, size_t why_len)
{
    if (spec->image == NULL || spec->image[0] == '\0') {
        snprintf(why, why_len, "the job names no image");
        return NULL;
    }
    for (size_t i = 0; i < spec->env_count; i++) {
        if (spec->env[i] == NULL) {
            snprintf(why, why_len, "environment entry %zu is NULL", i);
            return NULL;
        }
        if (check_env(spec->env[i], why, why_len) != 0)
            return NULL;
    }
    if (check_text(spec, inputs_dir, limits, why, why_len) != 0)
        return NULL;
    if (spec->workdir != NULL && spec->workdir[0] != '\0' && spec->workdir[0] != '/') {
        snprintf(why, why_len, "working directory \"%.100s\" is not absolute", spec->workdir);
        return NULL;
    }
    if (inputs_dir != NULL && inputs_dir[0] != '\0' && inputs_dir[0] != '/') {
        snprintf(why, why_len,
                 "inputs folder \"%.100s\" is not absolute (Bacalhau mounts local folders by "
                 "absolute path)",
                 inputs_dir);
        return NULL;
    }
    json_t *job = json_object();
    char name[160];
    bool v1_2 = LP_STRUCT_HAS(spec, struct lp_job_spec, job_id);
    snprintf(name, sizeof name, "lilypad-%s",
             v1_2 && spec->job_id != NULL && spec->job_id[0] != '\0' ? spec->job_id : "job");
    set_new(job, "Name", json_string(name));
    set_new(job, "Namespace", json_string(cfg->namespace_));
    set_new(job, "Type", json_string("batch"));
    set_new(job, "Count", json_integer(1));
    set_new(job, "Labels", labels(spec));
    json_t *tasks = json_array();
    json_array_append_new(tasks, task(spec, inputs_dir, limits, timeout_ms));
    set_new(job, "Tasks", tasks);
    json_t *req = json_object();
    set_new(req, "Job", job);
    set_new(req, "Force", json_false());
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text == NULL)
        snprintf(why, why_len, "cannot encode the job (out of memory, or text that is not UTF-8)");
    return text;
}
