#include "module/job_spec.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIB (1024ull * 1024ull)

struct ctx {
    const char *name;
    struct lp_module_error *err;
};

static int bad(struct ctx *c, const char *path, const char *what)
{
    lp_module_errorf(c->err, c->name, "job spec: %s: %s", path, what);
    return -1;
}

int lp_job_parse_cpu(const char *s, uint64_t *millicores)
{
    /* Kubernetes/Bacalhau CPU quantities: whole or decimal cores, or millicores with 'm' */
    uint64_t whole = 0, frac = 0, scale = 1000;
    const char *p = s;
    if (*p == '\0') {
        *millicores = 0;
        return 0;
    }
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        if (whole > 1000000)
            return -1;
    }
    if (*p == 'm' && p[1] == '\0') {
        *millicores = whole;
        return 0;
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(*p - '0') * scale;
            }
            p++;
        }
    }
    if (*p != '\0')
        return -1;
    *millicores = whole * 1000 + frac;
    return 0;
}

int lp_job_parse_bytes(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1000ull},
        {"kb", 1000ull},
        {"ki", 1ull << 10},
        {"kib", 1ull << 10},
        {"m", 1000000ull},
        {"mb", 1000000ull},
        {"mi", 1ull << 20},
        {"mib", 1ull << 20},
        {"g", 1000000000ull},
        {"gb", 1000000000ull},
        {"gi", 1ull << 30},
        {"gib", 1ull << 30},
        {"t", 1000000000000ull},
        {"tb", 1000000000000ull},
        {"ti", 1ull << 40},
        {"tib", 1ull << 40},
    };
    const char *p = s;
    while (*p == ' ')
        p++;
    if (*p == '\0') {
        *bytes = 0;
        return 0;
    }
    if (!isdigit((unsigned char)*p))
        return -1;
    uint64_t whole = 0, frac_num = 0, frac_den = 1;
    while (isdigit((unsigned char)*p)) {
        whole = whole * 10 + (uint64_t)(*p++ - '0');
        if (whole > (1ull << 50))
            return -1;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (frac_den < 1000000)
                frac_num = frac_num * 10 + (uint64_t)(*p - '0'), frac_den *= 10;
            p++;
        }
    }
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(p, units[i].suffix) == 0) {
            uint64_t m = units[i].mult;
            if (whole > UINT64_MAX / m)
                return -1;
            *bytes = whole * m + frac_num * m / frac_den;
            return 0;
        }
    }
    return -1;
}

/* Copies a JSON array of strings (null or absent: none). */
static int strings(struct ctx *c, const json_t *arr, const char *path, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return bad(c, path, "must be an array of strings");
    size_t count = json_array_size(arr);
    if (count == 0)
        return 0;
    *out = calloc(count, sizeof **out);
    if (*out == NULL)
        return bad(c, path, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const json_t *s = json_array_get(arr, i);
        if (!json_is_string(s))
            return bad(c, path, "must be an array of strings");
        if (strlen(json_string_value(s)) != json_string_length(s))
            return bad(c, path, "a string contains a NUL character");
        (*out)[i] = strdup(json_string_value(s));
        if ((*out)[i] == NULL)
            return bad(c, path, "out of memory");
        (*n)++;
    }
    return 0;
}

/* A Network.Domains entry: a host name (dot-separated labels of letters, digits and '-', up
 * to 63 each, 253 in all), maybe led by "." or "*." for its subdomains, or an IPv4 address
 * (which is a host name by this grammar too). Anything else could smuggle text into the files
 * an executor writes from it. */
static bool domain_valid(const char *name)
{
    if (strncmp(name, "*.", 2) == 0)
        name += 2;
    else if (name[0] == '.')
        name++;
    size_t len = strlen(name), label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum((unsigned char)ch) || ch == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* An optional non-negative integer. Returns 1 present, 0 absent, -1 bad. */
static int uint_field(struct ctx *c, const json_t *obj, const char *key, const char *path,
                      uint64_t max, uint64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return bad(c, path, "must be a non-negative integer in range");
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static const char *opt_string(struct ctx *c, const json_t *obj, const char *key, const char *path,
                              int *rc)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        *rc = bad(c, path, "must be a string");
        return NULL;
    }
    return json_string_value(v);
}

static int engine(struct ctx *c, const json_t *spec, struct lp_module_spec *out)
{
    const json_t *docker = json_object_get(spec, "Docker");
    const json_t *params = NULL;
    const char *base = "job.Spec.Docker";
    if (docker != NULL && !json_is_object(docker))
        return bad(c, base, "must be an object");
    if (docker == NULL || json_object_get(docker, "Image") == NULL) {
        /* newer Bacalhau V1beta1 form (sdxl): EngineSpec {Type: docker, Params {...}} */
        const json_t *es = json_object_get(spec, "EngineSpec");
        if (es != NULL) {
            const json_t *type = json_object_get(es, "Type");
            if (!json_is_object(es) || !json_is_string(type))
                return bad(c, "job.Spec.EngineSpec", "must be an object with a string Type");
            if (strcasecmp(json_string_value(type), "docker") != 0)
                return bad(c, "job.Spec.EngineSpec.Type", "only \"docker\" jobs can run here");
            params = json_object_get(es, "Params");
            base = "job.Spec.EngineSpec.Params";
            if (!json_is_object(params))
                return bad(c, base, "must be an object");
            docker = params;
        }
    }
    const json_t *engine_name = json_object_get(spec, "Engine");
    if (json_is_string(engine_name) && strcasecmp(json_string_value(engine_name), "docker") != 0)
        return bad(c, "job.Spec.Engine", "only Docker jobs can run here");
    char path[80];
    snprintf(path, sizeof path, "%s.Image", base);
    const json_t *image = docker ? json_object_get(docker, "Image") : NULL;
    if (image == NULL)
        return bad(c, "job.Spec.Docker.Image", "missing (the template must name an image)");
    if (!json_is_string(image) || json_string_length(image) == 0 ||
        strlen(json_string_value(image)) != json_string_length(image))
        return bad(c, path, "must be a non-empty string");
    out->image = strdup(json_string_value(image));
    snprintf(path, sizeof path, "%s.Entrypoint", base);
    if (strings(c, json_object_get(docker, "Entrypoint"), path, &out->entrypoint,
                &out->n_entrypoint) != 0)
        return -1;
    snprintf(path, sizeof path, "%s.EnvironmentVariables", base);
    if (strings(c, json_object_get(docker, "EnvironmentVariables"), path, &out->env, &out->n_env) !=
        0)
        return -1;
    for (size_t i = 0; i < out->n_env; i++) {
        const char *eq = strchr(out->env[i], '=');
        if (eq == NULL || eq == out->env[i])
            return bad(c, path, "every entry must be KEY=VALUE");
    }
    int rc = 0;
    snprintf(path, sizeof path, "%s.WorkingDirectory", base);
    const char *wd = opt_string(c, docker, "WorkingDirectory", path, &rc);
    if (rc != 0)
        return -1;
    if (wd != NULL && *wd != '\0')
        out->working_dir = strdup(wd);
    return out->image ? 0 : bad(c, base, "out of memory");
}

static int resources(struct ctx *c, const json_t *root, const json_t *spec,
                     struct lp_module_spec *out)
{
    struct lp_job_resources *r = &out->resources;
    const json_t *res = json_object_get(spec, "Resources");
    if (res != NULL && !json_is_object(res))
        return bad(c, "job.Spec.Resources", "must be an object");
    int rc = 0;
    const char *s;
    if (res != NULL) {
        if ((s = opt_string(c, res, "CPU", "job.Spec.Resources.CPU", &rc)) != NULL &&
            lp_job_parse_cpu(s, &r->cpu_millicores) != 0)
            return bad(c, "job.Spec.Resources.CPU", "not a CPU amount (\"1\", \"0.5\", \"500m\")");
        if ((s = opt_string(c, res, "Memory", "job.Spec.Resources.Memory", &rc)) != NULL &&
            lp_job_parse_bytes(s, &r->ram_bytes) != 0)
            return bad(c, "job.Spec.Resources.Memory", "not a size (\"512Mb\", \"1Gb\")");
        if ((s = opt_string(c, res, "Disk", "job.Spec.Resources.Disk", &rc)) != NULL &&
            lp_job_parse_bytes(s, &r->disk_bytes) != 0)
            return bad(c, "job.Spec.Resources.Disk", "not a size (\"10Gb\")");
        if ((s = opt_string(c, res, "GPU", "job.Spec.Resources.GPU", &rc)) != NULL && *s) {
            char *end;
            unsigned long g = strtoul(s, &end, 10);
            if (!isdigit((unsigned char)*s) || *end != '\0' || g > LP_WIRE_MAX_GPUS)
                return bad(c, "job.Spec.Resources.GPU", "not a GPU count");
            r->gpus = (uint32_t)g;
        }
        if (rc != 0)
            return -1;
    }
    const json_t *machine = json_object_get(root, "machine");
    if (machine != NULL && !json_is_object(machine))
        return bad(c, "machine", "must be an object");
    const json_t *gpus = json_object_get(root, "gpus");
    uint64_t v;
    if (machine != NULL) {
        if ((rc = uint_field(c, machine, "cpu", "machine.cpu", 1000000000, &v)) < 0)
            return -1;
        if (rc > 0)
            r->cpu_millicores = v;
        if ((rc = uint_field(c, machine, "gpu", "machine.gpu", LP_WIRE_MAX_GPUS, &v)) < 0)
            return -1;
        if (rc > 0)
            r->gpus = (uint32_t)v;
        if ((rc = uint_field(c, machine, "ram", "machine.ram", 1ull << 40, &v)) < 0)
            return -1;
        if (rc > 0)
            r->ram_bytes = v * MIB;
        if ((rc = uint_field(c, machine, "disk", "machine.disk", 1ull << 40, &v)) < 0)
            return -1;
        if (rc > 0)
            r->disk_bytes = v * MIB;
        if (json_object_get(machine, "gpus") != NULL)
            gpus = json_object_get(machine, "gpus");
    }
    if (gpus != NULL && !json_is_null(gpus)) {
        if (!json_is_array(gpus) || json_array_size(gpus) > LP_WIRE_MAX_GPUS)
            return bad(c, "gpus", "must be an array of {\"vram\": MB}");
        for (size_t i = 0; i < json_array_size(gpus); i++) {
            const json_t *g = json_array_get(gpus, i);
            if (!json_is_object(g))
                return bad(c, "gpus", "must be an array of {\"vram\": MB}");
            if ((rc = uint_field(c, g, "vram", "gpus[].vram", 1ull << 30, &v)) < 0)
                return -1;
            /* every GPU must have the largest VRAM asked for */
            if (rc > 0 && v * MIB > r->vram_bytes)
                r->vram_bytes = v * MIB;
        }
        if (json_array_size(gpus) > r->gpus)
            r->gpus = (uint32_t)json_array_size(gpus);
    }
    return 0;
}

static int rest(struct ctx *c, const json_t *root, const json_t *spec, struct lp_module_spec *out)
{
    uint64_t v = 0;
    int rc = uint_field(c, root, "executionTimeoutSeconds", "executionTimeoutSeconds",
                        LP_WIRE_MAX_TIMEOUT_S, &v);
    if (rc < 0)
        return -1;
    if (rc == 0 || v == 0) {
        v = 0;
        if (uint_field(c, spec, "Timeout", "job.Spec.Timeout", LP_WIRE_MAX_TIMEOUT_S, &v) < 0)
            return -1;
    }
    out->timeout_s = v ? v : LP_JOB_DEFAULT_TIMEOUT_S;

    const json_t *net = json_object_get(spec, "Network");
    if (net != NULL && !json_is_null(net)) {
        if (!json_is_object(net))
            return bad(c, "job.Spec.Network", "must be an object");
        rc = 0;
        const char *type = opt_string(c, net, "Type", "job.Spec.Network.Type", &rc);
        if (rc != 0)
            return -1;
        if (type != NULL && strcasecmp(type, "None") != 0 && strcasecmp(type, "Full") != 0 &&
            strcasecmp(type, "HTTP") != 0)
            return bad(c, "job.Spec.Network.Type", "must be \"None\", \"Full\" or \"HTTP\"");
        out->network = type != NULL && strcasecmp(type, "None") != 0;
        if (strings(c, json_object_get(net, "Domains"), "job.Spec.Network.Domains", &out->domains,
                    &out->n_domains) != 0)
            return -1;
        if (out->n_domains > LP_JOB_MAX_DOMAINS)
            return bad(c, "job.Spec.Network.Domains", "lists more than 64 names");
        for (size_t i = 0; i < out->n_domains; i++)
            if (!domain_valid(out->domains[i]))
                return bad(c, "job.Spec.Network.Domains",
                           "each entry must be a host name (\"example.com\", \".example.com\" "
                           "for its subdomains) or an IPv4 address");
    }

    const json_t *outs = json_object_get(spec, "Outputs");
    if (outs != NULL && !json_is_null(outs)) {
        if (!json_is_array(outs))
            return bad(c, "job.Spec.Outputs", "must be an array of {\"Name\", \"Path\"}");
        size_t n = json_array_size(outs);
        out->outputs = calloc(n ? n : 1, sizeof *out->outputs);
        if (out->outputs == NULL)
            return bad(c, "job.Spec.Outputs", "out of memory");
        for (size_t i = 0; i < n; i++) {
            const json_t *o = json_array_get(outs, i);
            rc = 0;
            const char *name =
                json_is_object(o) ? opt_string(c, o, "Name", "job.Spec.Outputs[].Name", &rc) : NULL;
            const char *path =
                json_is_object(o) ? opt_string(c, o, "Path", "job.Spec.Outputs[].Path", &rc) : NULL;
            if (rc != 0)
                return -1;
            if (name == NULL || path == NULL || path[0] != '/')
                return bad(c, "job.Spec.Outputs", "every entry needs a Name and an absolute Path");
            out->outputs[i].name = strdup(name);
            out->outputs[i].path = strdup(path);
            out->n_outputs++;
        }
    }

    const json_t *files = json_object_get(root, "inputFiles");
    if (files != NULL && !json_is_null(files)) {
        if (!json_is_object(files))
            return bad(c, "inputFiles", "must be an object {required, optional}");
        if (strings(c, json_object_get(files, "required"), "inputFiles.required",
                    &out->input_files_required, &out->n_input_files_required) != 0 ||
            strings(c, json_object_get(files, "optional"), "inputFiles.optional",
                    &out->input_files_optional, &out->n_input_files_optional) != 0)
            return -1;
    }
    return 0;
}

int lp_module_spec_parse(const char *name, const char *text, size_t len,
                         struct lp_module_spec *spec, char **canonical, struct lp_module_error *err)
{
    memset(spec, 0, sizeof *spec);
    if (canonical)
        *canonical = NULL;
    struct ctx c = {.name = name, .err = err};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        lp_module_errorf(err, name, "rendered template is not valid JSON: line %d column %d: %s",
                         jerr.line, jerr.column, jerr.text);
        return -1;
    }
    int rc = -1;
    const json_t *job = json_object_get(root, "job");
    const json_t *jspec = job ? json_object_get(job, "Spec") : NULL;
    if (!json_is_object(root)) {
        bad(&c, "(top)", "must be a JSON object");
    } else if (!json_is_object(job)) {
        bad(&c, "job", "missing or not an object");
    } else if (!json_is_object(jspec)) {
        bad(&c, "job.Spec", "missing or not an object");
    } else if (json_is_string(json_object_get(job, "APIVersion")) &&
               strcmp(json_string_value(json_object_get(job, "APIVersion")), "V1beta1") != 0) {
        bad(&c, "job.APIVersion", "only \"V1beta1\" jobs are understood");
    } else if (engine(&c, jspec, spec) == 0 && resources(&c, root, jspec, spec) == 0 &&
               rest(&c, root, jspec, spec) == 0) {
        rc = 0;
        if (canonical != NULL) {
            /* the same flags as lp_wire_json_canonical, so the text is what the wire carries */
            *canonical = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
            if (*canonical == NULL)
                rc = bad(&c, "(top)", "cannot print JSON (out of memory)");
        }
    }
    json_decref(root);
    if (rc != 0)
        lp_module_spec_free(spec);
    return rc;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void lp_module_spec_free(struct lp_module_spec *spec)
{
    if (spec == NULL)
        return;
    free(spec->image);
    /* arrays may be partly filled after an error: count what was copied, up to the first NULL */
    free_strings(spec->entrypoint, spec->n_entrypoint);
    free_strings(spec->env, spec->n_env);
    free(spec->working_dir);
    free_strings(spec->domains, spec->n_domains);
    for (size_t i = 0; i < spec->n_outputs; i++) {
        free(spec->outputs[i].name);
        free(spec->outputs[i].path);
    }
    free(spec->outputs);
    free_strings(spec->input_files_required, spec->n_input_files_required);
    free_strings(spec->input_files_optional, spec->n_input_files_optional);
    memset(spec, 0, sizeof *spec);
}
