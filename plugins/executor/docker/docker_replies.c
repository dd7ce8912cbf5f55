/* Decoders of what the engine answers (JSON by jansson): error bodies, /version, /info,
 * /networks, a container's inspect, the NDJSON progress of a pull or load, container lists.
 * Pure functions of the bytes, so they are fuzzed (tests/fuzz/fuzz_docker_replies.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker.h"

int dk_buf_append(struct dk_buf *b, const void *data, size_t len)
{
    if (len > SIZE_MAX / 2 - b->len - 1)
        return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

void dk_buf_free(struct dk_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static json_t *load(const char *body, size_t len)
{
    if (body == NULL)
        return NULL;
    /* JSON_ALLOW_NUL: a body with a NUL in a string must not be cut short silently. */
    return json_loadb(body, len, JSON_ALLOW_NUL, NULL);
}

/* A string member copied into out as one line (control characters become spaces). */
static int copy_string(const json_t *obj, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL || cap == 0)
        return -1;
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    out[i] = '\0';
    return 0;
}

int dk_parse_error_message(const char *body, size_t len, char *out, size_t cap)
{
    json_t *root = load(body, len);
    int rc = json_is_object(root) ? copy_string(root, "message", out, cap) : -1;
    json_decref(root);
    return rc;
}

int dk_parse_api_version(const char *text)
{
    if (text == NULL)
        return -1;
    unsigned major, minor;
    char extra;
    if (sscanf(text, "%u.%u%c", &major, &minor, &extra) != 2 || major != 1 || minor > 1000)
        return -1;
    return (int)minor;
}

int dk_parse_version(const char *body, size_t len, bool *podman, char *version, size_t cap)
{
    json_t *root = load(body, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    *podman = false;
    json_t *components = json_object_get(root, "Components");
    size_t i;
    json_t *c;
    json_array_foreach(components, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "Name"));
        if (name != NULL && strcmp(name, "Podman Engine") == 0) {
            *podman = true;
            copy_string(c, "Version", version, cap);
        }
    }
    int rc = 0;
    if (!*podman && copy_string(root, "Version", version, cap) != 0)
        rc = -1;
    json_decref(root);
    if (rc == 0) {
        /* "20.10.24+dfsg1": the distribution's build metadata says nothing a user needs. */
        char *plus = strchr(version, '+');
        if (plus != NULL)
            *plus = '\0';
    }
    return rc;
}

int dk_parse_info(const char *body, size_t len, struct dk_info *out)
{
    memset(out, 0, sizeof *out);
    json_t *root = load(body, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    out->memory_limit = json_is_true(json_object_get(root, "MemoryLimit"));
    out->cpu_limit = json_is_true(json_object_get(root, "CpuCfsQuota"));
    out->pids_limit = json_is_true(json_object_get(root, "PidsLimit"));
    json_t *runtimes = json_object_get(root, "Runtimes");
    out->nvidia_runtime = json_is_object(runtimes) && json_object_get(runtimes, "nvidia") != NULL;
    json_decref(root);
    return 0;
}

int dk_parse_has_default_network(const char *body, size_t len, bool *out)
{
    *out = false;
    json_t *root = load(body, len);
    if (!json_is_array(root)) {
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *n;
    json_array_foreach(root, i, n)
    {
        /* Docker's default is "bridge" (absent with --bridge=none); Podman lists its default
         * network "podman" as "bridge" in the compat API. */
        const char *name = json_string_value(json_object_get(n, "Name"));
        if (name != NULL && (strcmp(name, "bridge") == 0 || strcmp(name, "podman") == 0))
            *out = true;
    }
    json_decref(root);
    return 0;
}

uint64_t dk_parse_time(const char *text)
{
    if (text == NULL)
        return 0;
    int year, mon, day, hour, min, sec, used = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec, &used) !=
            6 ||
        year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
        min > 59 || sec > 60 || hour < 0 || min < 0 || sec < 0)
        return 0;
    const char *p = text + used;
    uint64_t frac_ns = 0;
    if (*p == '.') {
        uint64_t scale = 100000000;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac_ns += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
    }
    long offset_s = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 || oh < 0 || oh > 23 || om < 0 || om > 59)
            return 0;
        offset_s = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z')
        return 0;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = day,
                    .tm_hour = hour,
                    .tm_min = min,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return 0;
    long long s = (long long)t - offset_s;
    if (s <= 0)
        return 0;
    return (uint64_t)s * 1000000000u + frac_ns;
}

int dk_parse_inspect(const char *body, size_t len, struct dk_state *out)
{
    memset(out, 0, sizeof *out);
    json_t *root = load(body, len);
    json_t *state = json_object_get(root, "State");
    if (!json_is_object(state)) {
        json_decref(root);
        return -1;
    }
    copy_string(state, "Status", out->status, sizeof out->status);
    out->running = json_is_true(json_object_get(state, "Running")) ||
                   json_is_true(json_object_get(state, "Restarting"));
    out->oom_killed = json_is_true(json_object_get(state, "OOMKilled"));
    json_int_t code = json_integer_value(json_object_get(state, "ExitCode"));
    out->exit_code = code < INT32_MIN || code > INT32_MAX ? -1 : (int)code;
    out->started_ns = dk_parse_time(json_string_value(json_object_get(state, "StartedAt")));
    out->finished_ns = dk_parse_time(json_string_value(json_object_get(state, "FinishedAt")));
    copy_string(state, "Error", out->error, sizeof out->error);
    json_int_t memory =
        json_integer_value(json_object_get(json_object_get(root, "HostConfig"), "Memory"));
    out->memory_limit = memory > 0 ? (uint64_t)memory : 0;
    json_t *labels = json_object_get(json_object_get(root, "Config"), "Labels");
    const char *executor = json_string_value(json_object_get(labels, DK_LABEL_EXECUTOR));
    out->ours = executor != NULL && strcmp(executor, "docker") == 0;
    const char *timeout = json_string_value(json_object_get(labels, DK_LABEL_TIMEOUT));
    if (timeout != NULL)
        out->timeout_ms = strtoull(timeout, NULL, 10);
    json_decref(root);
    return 0;
}

/* One NDJSON line of a pull or load: the first error wins, a load's result is kept. */
static void progress_line(struct dk_progress *p, const char *line, size_t len)
{
    json_t *root = load(line, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return; /* blank lines and non-JSON noise carry nothing */
    }
    if (!p->failed) {
        json_t *detail = json_object_get(root, "errorDetail");
        if (copy_string(detail, "message", p->error, sizeof p->error) == 0 ||
            copy_string(root, "error", p->error, sizeof p->error) == 0)
            p->failed = true;
    }
    char text[sizeof p->loaded];
    if (copy_string(root, "stream", text, sizeof text) == 0 &&
        strncmp(text, "Loaded image", 12) == 0) {
        size_t n = strlen(text);
        while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n'))
            text[--n] = '\0';
        memcpy(p->loaded, text, sizeof p->loaded);
    }
    json_decref(root);
}

void dk_progress_feed(struct dk_progress *p, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        /* A line longer than any progress line is noise; keep the buffer bounded. */
        if (p->line.len + n < (1u << 20))
            dk_buf_append(&p->line, data, n);
        if (nl == NULL)
            return;
        progress_line(p, p->line.data ? p->line.data : "", p->line.len);
        p->line.len = 0;
        data += n + 1;
        len -= n + 1;
    }
}

void dk_progress_finish(struct dk_progress *p)
{
    if (p->line.len > 0)
        progress_line(p, p->line.data, p->line.len);
    p->line.len = 0;
}

void dk_progress_free(struct dk_progress *p)
{
    dk_buf_free(&p->line);
}

int dk_parse_container_list(const char *body, size_t len,
                            void (*fn)(void *arg, const char *id, const char *name), void *arg)
{
    json_t *root = load(body, len);
    if (!json_is_array(root)) {
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(root, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        if (id == NULL)
            continue;
        if (name != NULL && name[0] == '/')
            name++;
        fn(arg, id, name ? name : "");
    }
    json_decref(root);
    return 0;
}

int dk_parse_image_has_digest(const char *body, size_t len, const char *digest, bool *out)
{
    *out = false;
    json_t *root = load(body, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(root, "RepoDigests"), i, d)
    {
        const char *s = json_string_value(d);
        const char *at = s ? strrchr(s, '@') : NULL;
        if (at != NULL && strcmp(at + 1, digest) == 0)
            *out = true;
    }
    json_decref(root);
    return 0;
}
