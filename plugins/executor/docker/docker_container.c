/* One container through the engine: the create request a job becomes, and create, start,
 * kill, inspect, wait, logs and remove. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

/* Capabilities dropped from the engine's default set. The rest stay because modules need
 * them: CHOWN, DAC_OVERRIDE and FOWNER to write /outputs as the image's root into a folder
 * the provider's user owns, SETUID/SETGID for images that switch users, KILL for their own
 * processes. No module needs raw sockets, device nodes, audit writes or file capabilities. */
static const char *const dropped_caps[] = {"NET_RAW", "MKNOD", "AUDIT_WRITE", "SETFCAP",
                                           "SYS_CHROOT"};

static json_t *string_array(const char *const *items, size_t count)
{
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(a, json_string(items[i] ? items[i] : ""));
    return a;
}

static json_t *bind(const char *host_dir, const char *target, const char *mode)
{
    char text[8192];
    int n = snprintf(text, sizeof text, "%s:%s:%s", host_dir, target, mode);
    return n > 0 && (size_t)n < sizeof text ? json_string(text) : NULL;
}

int dk_container_body(struct lp_docker *d, const struct lp_job_spec *spec, const char *inputs_dir,
                      const char *outputs_dir, const struct lp_job_limits *limits,
                      uint64_t timeout_ms, void **out, char *err, size_t errlen)
{
    for (const char *dir_pair[2] = {inputs_dir, outputs_dir}, **p = dir_pair; p < dir_pair + 2; p++)
        if (*p != NULL && ((*p)[0] != '/' || strchr(*p, ':') != NULL)) {
            snprintf(err, errlen,
                     "%s folder \"%s\" must be an absolute path without ':' (a bind mount)",
                     p == dir_pair ? "inputs" : "outputs", *p);
            return -1;
        }
    json_t *body = json_object();
    json_object_set_new(body, "Image", json_string(spec->image));
    if (spec->entrypoint_count > 0) {
        /* The job's argv is the whole command: argv[0] as the Entrypoint (replacing the
         * image's, which would otherwise prefix it) and the rest as Cmd. */
        json_object_set_new(body, "Entrypoint", string_array(spec->entrypoint, 1));
        json_object_set_new(body, "Cmd",
                            string_array(spec->entrypoint + 1, spec->entrypoint_count - 1));
    }
    json_object_set_new(body, "Env", string_array(spec->env, spec->env_count));
    if (spec->workdir != NULL && spec->workdir[0] != '\0')
        json_object_set_new(body, "WorkingDir", json_string(spec->workdir));
    /* Tty false: the log stream is framed, which keeps stdout and stderr apart. */
    json_object_set_new(body, "Tty", json_false());
    json_object_set_new(body, "OpenStdin", json_false());
    json_object_set_new(body, "AttachStdin", json_false());
    json_object_set_new(body, "AttachStdout", json_false());
    json_object_set_new(body, "AttachStderr", json_false());

    json_t *labels = json_object();
    json_object_set_new(labels, DK_LABEL_EXECUTOR, json_string("docker"));
    if (LP_STRUCT_HAS(spec, struct lp_job_spec, owner) && spec->owner != NULL)
        json_object_set_new(labels, DK_LABEL_OWNER, json_string(spec->owner));
    if (LP_STRUCT_HAS(spec, struct lp_job_spec, job_id) && spec->job_id != NULL)
        json_object_set_new(labels, DK_LABEL_JOB, json_string(spec->job_id));
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%llu", (unsigned long long)timeout_ms);
    json_object_set_new(labels, DK_LABEL_TIMEOUT, json_string(timeout));
    json_object_set_new(body, "Labels", labels);

    json_t *hc = json_object();
    json_t *binds = json_array();
    if (inputs_dir != NULL)
        json_array_append_new(binds, bind(inputs_dir, "/inputs", "ro"));
    if (outputs_dir != NULL)
        json_array_append_new(binds, bind(outputs_dir, "/outputs", "rw"));
    json_object_set_new(hc, "Binds", binds);
    /* Without network: none at all. With: the engine's default network (not egress-only). */
    if (!limits->network)
        json_object_set_new(hc, "NetworkMode", json_string("none"));
    uint64_t memory = limits->memory_bytes ? limits->memory_bytes : d->cfg.default_memory;
    if (memory > 0 && memory <= INT64_MAX) {
        json_object_set_new(hc, "Memory", json_integer((json_int_t)memory));
        /* Equal to Memory: no swap on top of the limit. */
        json_object_set_new(hc, "MemorySwap", json_integer((json_int_t)memory));
    }
    if (limits->cpu_millicores > 0)
        json_object_set_new(hc, "NanoCpus",
                            json_integer((json_int_t)limits->cpu_millicores * 1000000));
    int64_t pids = limits->max_pids ? (int64_t)limits->max_pids : d->cfg.default_max_pids;
    if (pids > 0)
        json_object_set_new(hc, "PidsLimit", json_integer(pids));
    json_object_set_new(hc, "CapDrop",
                        string_array(dropped_caps, sizeof dropped_caps / sizeof *dropped_caps));
    json_object_set_new(hc, "SecurityOpt", json_pack("[s]", "no-new-privileges"));
    if (dk_gpu_host_config(d, limits, hc, err, errlen) != 0) {
        json_decref(hc);
        json_decref(body);
        return -1;
    }
    json_object_set_new(body, "HostConfig", hc);
    *out = body;
    return 0;
}

/* Sends a JSON-less request and returns 0 for the listed OK statuses, else -1 with why. */
static int simple(struct lp_docker *d, const char *method, const char *path, long ok1, long ok2,
                  struct dk_response *r, char *err, size_t errlen)
{
    struct dk_request rq = {.method = method, .path = path, .timeout_ms = 60000};
    if (dk_call(&d->engine, &rq, r, err, errlen) != 0)
        return -1;
    if (r->status == ok1 || r->status == ok2)
        return 0;
    char why[400];
    dk_response_error(r, why, sizeof why);
    snprintf(err, errlen, "%s", why);
    return -1;
}

int dk_container_create(struct lp_docker *d, const char *name, void *body, char *id, size_t cap,
                        char *err, size_t errlen)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL) {
        snprintf(err, errlen, "cannot encode the create request (out of memory)");
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "/containers/create?name=%s", name);
    struct dk_request rq = {.method = "POST",
                            .path = path,
                            .content_type = "application/json",
                            .body = text,
                            .body_len = strlen(text),
                            .timeout_ms = 60000};
    struct dk_response r;
    int rc = dk_call(&d->engine, &rq, &r, err, errlen);
    free(text);
    if (rc != 0)
        return -1;
    if (r.status != 201) {
        char why[400];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen, "the engine refused the container: %s", why);
        dk_response_free(&r);
        return -1;
    }
    json_t *reply = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
    const char *got = json_string_value(json_object_get(reply, "Id"));
    if (got == NULL || strlen(got) >= cap) {
        snprintf(err, errlen, "the engine created the container but sent no Id");
        rc = -1;
    } else
        snprintf(id, cap, "%s", got);
    json_decref(reply);
    dk_response_free(&r);
    return rc;
}

int dk_container_start(struct lp_docker *d, const char *id, char *err, size_t errlen)
{
    char path[160];
    snprintf(path, sizeof path, "/containers/%s/start", id);
    struct dk_response r;
    int rc = simple(d, "POST", path, 204, 304, &r, err, errlen);
    dk_response_free(&r);
    return rc;
}

int dk_container_inspect(struct lp_docker *d, const char *id, struct dk_state *st, char *err,
                         size_t errlen)
{
    char path[160];
    snprintf(path, sizeof path, "/containers/%s/json", id);
    struct dk_response r;
    int rc = simple(d, "GET", path, 200, 200, &r, err, errlen);
    if (rc != 0 && r.status == 404)
        rc = 1;
    else if (rc == 0 && dk_parse_inspect(r.body.data, r.body.len, st) != 0) {
        snprintf(err, errlen, "inspecting container %.12s: not the reply of a Docker engine", id);
        rc = -1;
    }
    dk_response_free(&r);
    return rc;
}

int dk_container_kill(struct lp_docker *d, const char *id, const char *signal, char *err,
                      size_t errlen)
{
    char path[192];
    snprintf(path, sizeof path, "/containers/%s/kill?signal=%s", id, signal);
    struct dk_response r;
    int rc = simple(d, "POST", path, 204, 204, &r, err, errlen);
    if (rc != 0 && r.status != 0) {
        /* 409 (Docker) or 500 (Podman): not running. Only an inspect tells that apart from a
         * real failure. */
        struct dk_state st;
        char why[200];
        int found = dk_container_inspect(d, id, &st, why, sizeof why);
        if (found == 1 || (found == 0 && !st.running))
            rc = 0;
    }
    dk_response_free(&r);
    return rc;
}

int dk_container_wait(struct lp_docker *d, const char *id, uint64_t timeout_ms, dk_abort_fn aborted,
                      void *abort_arg, char *err, size_t errlen)
{
    char path[192];
    snprintf(path, sizeof path, "/containers/%s/wait?condition=not-running", id);
    /* No fixed timeout: a job runs as long as its own deadline allows, which the caller
     * passes here; aborted() cuts it short for cancel, release and destroy. */
    struct dk_request rq = {.method = "POST",
                            .path = path,
                            .timeout_ms = (long)timeout_ms,
                            .aborted = aborted,
                            .abort_arg = abort_arg};
    struct dk_response r;
    int rc = dk_call(&d->engine, &rq, &r, err, errlen);
    if (rc != 0)
        rc = r.timed_out || r.aborted ? 1 : -1;
    else if (r.status != 200 && r.status != 404) {
        char why[300];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen, "waiting for the container: %s", why);
        rc = -1;
    }
    dk_response_free(&r);
    return rc;
}

int dk_container_remove(struct lp_docker *d, const char *id, char *err, size_t errlen)
{
    char path[192];
    snprintf(path, sizeof path, "/containers/%s?force=1&v=1", id);
    struct dk_response r;
    int rc = simple(d, "DELETE", path, 204, 404, &r, err, errlen);
    dk_response_free(&r);
    return rc;
}

static int frames_sink(void *arg, const char *data, size_t len)
{
    return dk_frames_feed(arg, data, len);
}

int dk_container_logs(struct lp_docker *d, const char *id, struct dk_frames *frames, char *err,
                      size_t errlen)
{
    char path[192];
    snprintf(path, sizeof path, "/containers/%s/logs?stdout=1&stderr=1&follow=0", id);
    struct dk_request rq = {.method = "GET",
                            .path = path,
                            .timeout_ms = 300000,
                            .sink = frames_sink,
                            .sink_arg = frames};
    struct dk_response r;
    int rc = dk_call(&d->engine, &rq, &r, err, errlen);
    if (rc == 0 && r.status != 200) {
        char why[300];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen, "logs: %s", why);
        rc = r.status == 404 ? 1 : -1;
    }
    dk_response_free(&r);
    return rc;
}
