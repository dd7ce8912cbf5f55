/* The job spec a module's rendered template describes, checked and reduced to what an
 * executor needs.
 *
 * Accepted shape (the one published Lilypad modules use):
 *   { "machine": {"gpu": N, "cpu": MILLICPU, "ram": MB, "disk": MB, "gpus": [{"vram": MB}]},
 *     "gpus": [{"vram": MB}], "executionTimeoutSeconds": S,
 *     "inputFiles": {"required": [NAME], "optional": [NAME]},
 *     "job": {"APIVersion": "V1beta1", "Spec": {
 *         "Docker": {"Image", "Entrypoint": [..], "EnvironmentVariables": ["K=V"],
 * "WorkingDirectory"} or "EngineSpec": {"Type": "docker", "Params": {same keys as Docker}},
 *         "Resources": {"CPU": "1"|"500m", "Memory": "1Gb", "Disk": "10Gb", "GPU": "1"|""},
 *         "Timeout": S, "Network": {"Type": "None"|"Full"|"HTTP", "Domains": [..]},
 *         "Outputs": [{"Name", "Path"}], other keys ignored as Lilypad ignores them}}}
 *   plus metadata keys (author, description, image, model) that are ignored.
 * Units: module "MB" figures (ram, disk, vram) are MiB, as Lilypad's GPUSpec says; Bacalhau
 * strings accept b, kb/mb/gb/tb (powers of 1000) and kib/mib/gib/tib (powers of 1024), any case.
 * Precedence: "machine" over Spec.Resources; executionTimeoutSeconds over Spec.Timeout, and
 * LP_JOB_DEFAULT_TIMEOUT_S when neither is given. */
#ifndef LP_MODULE_JOB_SPEC_H
#define LP_MODULE_JOB_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module/reference.h"
#include "wire/offers.h"

#define LP_JOB_DEFAULT_TIMEOUT_S 1800 /* what every published template states */
#define LP_JOB_MAX_DOMAINS       64   /* Network.Domains entries */

struct lp_job_output {
    char *name;
    char *path;
};

struct lp_module_spec {
    char *image;
    char **entrypoint; /* NULL when the image's own entrypoint applies */
    size_t n_entrypoint;
    char **env; /* "KEY=VALUE" */
    size_t n_env;
    char *working_dir; /* NULL: the image's */
    struct lp_job_resources resources;
    uint64_t timeout_s;
    bool network;   /* Network.Type other than "None" */
    char **domains; /* Network.Domains: host names or IPv4 addresses, maybe led by "." */
    size_t n_domains;
    struct lp_job_output *outputs;
    size_t n_outputs;
    char **input_files_required;
    size_t n_input_files_required;
    char **input_files_optional;
    size_t n_input_files_optional;
};

/* Parses the rendered text as JSON (duplicate keys refused, as the wire does), checks it and
 * fills spec. With canonical != NULL also prints the canonical form (jansson compact, keys
 * sorted, the same as lp_wire_json_canonical) into *canonical (malloc'd). `name` prefixes
 * errors ("module X: job spec: job.Spec.Docker.Image: ..."). */
int lp_module_spec_parse(const char *name, const char *text, size_t len,
                         struct lp_module_spec *spec, char **canonical,
                         struct lp_module_error *err);
void lp_module_spec_free(struct lp_module_spec *spec);

/* "500m" -> 500, "1" -> 1000, "1.5" -> 1500. Returns 0 or -1. */
int lp_job_parse_cpu(const char *s, uint64_t *millicores);
/* "1Gb" -> 1000000000, "1GiB" -> 1073741824, "512" -> 512, "" -> 0. Returns 0 or -1. */
int lp_job_parse_bytes(const char *s, uint64_t *bytes);

#endif
