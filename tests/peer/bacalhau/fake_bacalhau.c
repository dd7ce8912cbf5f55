/*
 * fake_bacalhau: a FAKE Bacalhau orchestrator for the tests of executor/bacalhau. It is not
 * Bacalhau and runs no containers. No Bacalhau build can be installed on the machines that
 * run these tests, so this program answers the part of Bacalhau's published v1 API the plugin
 * uses, with the same paths, JSON shapes and error body, and validates submitted jobs the way
 * the real orchestrator does (README.md in this folder lists what it checks and what it
 * leaves out).
 *
 *   fake_bacalhau --port-file FILE [--token TOKEN] [--echo-auth] [--step-ms N]
 *                 [--node-host NAME]
 *
 * Listens on 127.0.0.1 on a port the kernel picks, writes the port to FILE and prints
 * "fake_bacalhau listening on 127.0.0.1:PORT"; stops on SIGTERM or SIGINT, or when the process
 * that started it dies.
 *
 * API (Bacalhau's):
 *   PUT    /api/v1/orchestrator/jobs                  submit {"Job": …, "Force": false}
 *   GET    /api/v1/orchestrator/jobs?labels=k=v&namespace=   list
 *   GET    /api/v1/orchestrator/jobs/{id}?include=executions  job + executions
 *   DELETE /api/v1/orchestrator/jobs/{id}?reason=…   stop
 *   GET    /api/v1/orchestrator/jobs/{id}/results     [{"Type":"urlDownload","Params":{"URL"}}]
 *   GET    /api/v1/agent/alive, /api/v1/agent/version
 *   GET    /results/{executionID}.tar.gz              the local publisher's tarball
 * With --token, every /api/v1/ request needs "Authorization: Bearer TOKEN" (401 otherwise);
 * --echo-auth puts the Authorization header it got into that 401's message, as some proxies
 * do, so a test can check that the client keeps its token out of what it reports.
 * A job moves Pending → Queued → Running → its outcome, one state every --step-ms (default 50).
 * Result URLs name --node-host (default compute-node.invalid), as a real compute node's own
 * name would, so a client must rewrite the host to reach them.
 *
 * Test-only control (never authenticated):
 *   PUT /_fake/next     what the NEXT submitted job does:
 *       {"outcome": "complete" | "fail" | "hang",   default complete
 *        "exit_code": N, "stdout": "…", "stderr": "…", "error": "…" (fail's ErrorMsg),
 *        "stdout_truncated": true (RunOutput keeps half of stdout, the tarball all of it),
 *        "files": {"name": "content", …}            (unpacked under outputs/),
 *        "entries": [{"path": "outputs/../x", "type": "file"|"symlink"|"hardlink"|"fifo",
 *                     "content": "…", "target": "…"}]   raw extra tarball entries,
 *        "integer_states": true                     (job StateType as 0..6, as the swagger says)}
 *   GET /_fake/last     the body of the last accepted submit, verbatim
 *   GET /_fake/deleted  {"Items": [{"JobID", "Reason"}]}: every stop request, in order
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <microhttpd.h>

#define MAX_JOBS      1024
#define MAX_BODY      (4u * 1024u * 1024u)
#define PREFIX_JOBS   "/api/v1/orchestrator/jobs"
#define RESULTS_ROUTE "/results/"

struct job {
    char id[64];
    char exec_id[64];
    char eval_id[64];
    json_t *doc;     /* the submitted Job object */
    json_t *outcome; /* the /_fake/next object it took (never NULL) */
    uint64_t created_ms;
    bool stopped;
    int stopped_phase; /* phase at the stop: whether an execution existed */
    char stop_reason[256];
};

static struct {
    const char *token;
    bool echo_auth;
    const char *node_host;
    unsigned port;
    uint64_t step_ms;
    struct job jobs[MAX_JOBS];
    size_t njobs;
    json_t *next;    /* the outcome for the next submit */
    char *last;      /* last accepted submit body */
    json_t *deleted; /* array */
} F;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void random_id(const char *prefix, char *out, size_t cap)
{
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)rand();
    if (fd >= 0)
        close(fd);
    snprintf(out, cap, "%s%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             prefix, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
             r[12], r[13], r[14], r[15]);
}

/* ---- replies ------------------------------------------------------------------------------- */
static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, char *text, size_t len,
                                 const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text == NULL)
        return MHD_NO;
    return send_text(c, status, text, strlen(text), "application/json");
}

/* Bacalhau's error body (apimodels.APIError). */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *hint, const char *fmt, ...)
{
    char msg[1024], rid[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    random_id("", rid, sizeof rid);
    json_t *e = json_pack("{s:i, s:s, s:s, s:s, s:s}", "Status", (int)status, "Message", msg,
                          "RequestID", rid, "Code", code, "Component", "APIServer");
    if (hint != NULL)
        json_object_set_new(e, "Hint", json_string(hint));
    return send_json(c, status, e);
}

/* ---- job validation, as the orchestrator's (models.Job.ValidateSubmission and the docker
 * engine's own checks) ---------------------------------------------------------------------- */
static bool match_k8s_cpu(const char *s)
{
    /* Kubernetes quantities as CPU: "2", "0.5", "500m". */
    size_t i = 0, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (s[i] == 'm')
        i++;
    return digits > 0 && s[i] == '\0';
}

static bool match_humanize_bytes(const char *s)
{
    /* go-humanize ParseBytes: a number, optional space, an optional unit. */
    static const char *const units[] = {"",    "b",  "k", "kb", "kib", "ki", "m", "mb",
                                        "mib", "mi", "g", "gb", "gib", "gi", "t", "tb",
                                        "tib", "ti", "p", "pb", "pib", "pi"};
    size_t i = 0, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (s[i] == ' ')
        i++;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (strcasecmp(s + i, units[u]) == 0)
            return true;
    return false;
}

static bool match_uint(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The name part of a Kubernetes label key, which Bacalhau's label selectors parse. */
static bool match_label_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && !((ch == '-' || ch == '_' || ch == '.') && i > 0 && i < n - 1))
            return false;
    }
    return true;
}

static const char *str_of(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Returns NULL when valid, else the reason (static or in buf). */
static const char *validate_task(const json_t *t, char *buf, size_t cap)
{
    if (!json_is_object(t))
        return "task is not an object";
    const char *name = str_of(t, "Name");
    if (name == NULL || *name == '\0')
        return "task validation failed: missing task name";
    const json_t *eng = json_object_get(t, "Engine");
    const char *etype = str_of(eng, "Type");
    if (etype == NULL || *etype == '\0')
        return "task validation failed: engine type is required";
    if (strcasecmp(etype, "docker") != 0) {
        snprintf(buf, cap, "task validation failed: fake_bacalhau runs docker tasks only, not %s",
                 etype);
        return buf;
    }
    const json_t *p = json_object_get(eng, "Params");
    const char *image = str_of(p, "Image");
    if (image == NULL || *image == '\0')
        return "invalid docker engine param: 'Image' cannot be empty";
    const json_t *env = json_object_get(p, "EnvironmentVariables");
    size_t i;
    const json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *kv = json_string_value(v);
        if (kv == NULL || strchr(kv, '=') == NULL || kv[0] == '=') {
            snprintf(buf, cap,
                     "invalid docker engine param: environment variable %zu is not "
                     "KEY=VALUE",
                     i);
            return buf;
        }
        if (strncasecmp(kv, "BACALHAU_", 9) == 0) {
            snprintf(buf, cap,
                     "invalid docker engine param: environment variable '%.*s' cannot start "
                     "with the reserved prefix BACALHAU_",
                     (int)(strchr(kv, '=') - kv), kv);
            return buf;
        }
    }
    const char *wd = str_of(p, "WorkingDirectory");
    if (wd != NULL && *wd != '\0' && *wd != '/') {
        snprintf(buf, cap,
                 "invalid docker engine param: 'WorkingDirectory' (%.100s) must contain "
                 "absolute path",
                 wd);
        return buf;
    }
    const json_t *rp = json_object_get(t, "ResultPaths");
    const char *ptype = str_of(json_object_get(t, "Publisher"), "Type");
    if (json_array_size(rp) > 0 && (ptype == NULL || *ptype == '\0'))
        return "task validation failed: publisher is required if result paths are set";
    json_array_foreach(rp, i, v)
    {
        const char *n = str_of(v, "Name"), *path = str_of(v, "Path");
        if (n == NULL || *n == '\0' || path == NULL || path[0] != '/')
            return "task validation failed: result path needs a Name and an absolute Path";
    }
    json_array_foreach(json_object_get(t, "InputSources"), i, v)
    {
        const json_t *src = json_object_get(v, "Source");
        const char *st = str_of(src, "Type"), *target = str_of(v, "Target");
        if (st == NULL || *st == '\0')
            return "task validation failed: input source type is required";
        if (target == NULL || target[0] != '/')
            return "task validation failed: input source target must be an absolute path";
        if ((strcasecmp(st, "localDirectory") == 0 || strcasecmp(st, "local") == 0)) {
            const char *sp = str_of(json_object_get(src, "Params"), "SourcePath");
            if (sp == NULL || sp[0] != '/')
                return "task validation failed: local input source needs an absolute SourcePath";
        }
    }
    const json_t *res = json_object_get(t, "Resources");
    static const char *const keys[] = {"CPU", "Memory", "Disk", "GPU"};
    for (size_t k = 0; k < 4 && res != NULL; k++) {
        const json_t *rv = json_object_get(res, keys[k]);
        if (rv == NULL)
            continue;
        const char *s = json_string_value(rv);
        bool ok = s != NULL && (k == 0   ? match_k8s_cpu(s)
                                : k == 3 ? match_uint(s)
                                         : match_humanize_bytes(s));
        if (!ok) {
            snprintf(buf, cap, "task validation failed: invalid resources: %s must be a %s string",
                     keys[k],
                     k == 0   ? "CPU quantity (\"500m\", \"2\")"
                     : k == 3 ? "GPU count (\"1\")"
                              : "byte size (\"2gb\", \"512mib\")");
            return buf;
        }
    }
    const json_t *net = json_object_get(t, "Network");
    if (net != NULL) {
        const char *nt = str_of(net, "Type");
        static const char *const types[] = {"Default", "None", "Full", "HTTP", "Host", "Bridge"};
        bool ok = false;
        for (size_t k = 0; nt != NULL && k < 6; k++)
            ok = ok || strcasecmp(nt, types[k]) == 0;
        if (!ok)
            return "task validation failed: invalid networking type";
        if (strcasecmp(nt, "HTTP") == 0 && json_array_size(json_object_get(net, "Domains")) == 0)
            return "task validation failed: HTTP networking needs at least one domain";
    }
    const json_t *to = json_object_get(json_object_get(t, "Timeouts"), "ExecutionTimeout");
    if (to != NULL && (!json_is_integer(to) || json_integer_value(to) < 0))
        return "task validation failed: ExecutionTimeout must be a whole number of seconds >= 0";
    return NULL;
}

static const char *validate_job(const json_t *job, char *buf, size_t cap, json_t *warnings)
{
    if (!json_is_object(job))
        return "empty/nil job";
    const char *type = str_of(job, "Type");
    if (type == NULL || *type == '\0')
        return "missing job type";
    if (strcmp(type, "batch") != 0 && strcmp(type, "service") != 0 && strcmp(type, "daemon") != 0 &&
        strcmp(type, "ops") != 0) {
        snprintf(buf, cap, "invalid job type: \"%.40s\"", type);
        return buf;
    }
    if (strcmp(type, "batch") != 0)
        return "fake_bacalhau runs batch jobs only";
    const json_t *count = json_object_get(job, "Count");
    if (count != NULL && (!json_is_integer(count) || json_integer_value(count) < 0))
        return "job count must be >= 0";
    const json_t *tasks = json_object_get(job, "Tasks");
    if (json_array_size(tasks) == 0)
        return "missing job tasks";
    if (json_array_size(tasks) > 1)
        json_array_append_new(warnings, json_string("only one task is supported per job"));
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(job, "Labels"), key, v)
    {
        if (!match_label_key(key) || !json_is_string(v)) {
            snprintf(buf, cap,
                     "invalid label \"%.80s\": keys are up to 63 letters, digits, '-', "
                     "'_' or '.', starting and ending with a letter or digit",
                     key);
            return buf;
        }
    }
    return validate_task(json_array_get(tasks, 0), buf, cap);
}

/* ---- job state ----------------------------------------------------------------------------- */
enum phase { PH_PENDING, PH_QUEUED, PH_RUNNING, PH_DONE };

static int phase_of(const struct job *j)
{
    uint64_t step = F.step_ms ? F.step_ms : 1;
    uint64_t p = (now_ms() - j->created_ms) / step;
    return p >= PH_DONE ? PH_DONE : (int)p;
}

static const char *outcome_of(const struct job *j)
{
    const char *o = str_of(j->outcome, "outcome");
    return o ? o : "complete";
}

/* 0 Undefined … 6 Stopped, and the execution's compute state (-1: no execution yet). */
static void states_of(const struct job *j, int *job_state, int *exec_state)
{
    int ph = j->stopped ? j->stopped_phase : phase_of(j);
    const char *o = outcome_of(j);
    if (ph == PH_DONE && strcmp(o, "hang") == 0)
        ph = PH_RUNNING;
    static const int job_of_phase[] = {1, 2, 3};
    static const int exec_of_phase[] = {-1, 2, 6};
    if (j->stopped) {
        *job_state = 6;
        *exec_state = exec_of_phase[ph < PH_DONE ? ph : PH_RUNNING] >= 0 ? 11 : -1;
    } else if (ph < PH_DONE) {
        *job_state = job_of_phase[ph];
        *exec_state = exec_of_phase[ph];
    } else if (strcmp(o, "fail") == 0) {
        *job_state = 5;
        *exec_state = 10;
    } else {
        *job_state = 4;
        *exec_state = 9;
    }
}

static const char *const job_state_names[] = {"Undefined", "Pending", "Queued", "Running",
                                              "Completed", "Failed",  "Stopped"};

static json_t *job_doc(const struct job *j)
{
    int js, es;
    states_of(j, &js, &es);
    json_t *doc = json_deep_copy(j->doc);
    json_object_set_new(doc, "ID", json_string(j->id));
    const char *msg = "";
    if (js == 5)
        msg = "job failed: execution failed";
    else if (js == 6)
        msg = j->stop_reason[0] ? j->stop_reason : "job stopped by user";
    json_t *st = json_object();
    json_object_set_new(st, "StateType",
                        json_is_true(json_object_get(j->outcome, "integer_states"))
                            ? json_integer(js)
                            : json_string(job_state_names[js]));
    json_object_set_new(st, "Message", json_string(msg));
    json_object_set_new(doc, "State", st);
    json_object_set_new(doc, "Version", json_integer(1));
    json_object_set_new(doc, "Revision", json_integer(js));
    return doc;
}

static json_t *execution_doc(const struct job *j, int es)
{
    json_t *cs = json_pack("{s:i, s:s}", "StateType", es, "Message",
                           es == 10   ? "execution failed"
                           : es == 11 ? "execution stopped"
                                      : "");
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:i}}", "ID", j->exec_id, "JobID", j->id,
                          "NodeID", "n-fake-compute-node", "Namespace", "default", "ComputeState",
                          cs, "DesiredState", "StateType", es >= 9 ? 2 : 1);
    if (es == 9 || es == 10) {
        const char *out = str_of(j->outcome, "stdout"), *err = str_of(j->outcome, "stderr");
        out = out ? out : "";
        err = err ? err : "";
        bool trunc = json_is_true(json_object_get(j->outcome, "stdout_truncated"));
        const json_t *code = json_object_get(j->outcome, "exit_code");
        const char *emsg = es == 10 ? str_of(j->outcome, "error") : "";
        json_t *ro = json_object();
        json_object_set_new(ro, "Stdout", json_stringn(out, trunc ? strlen(out) / 2 : strlen(out)));
        json_object_set_new(ro, "StdoutTruncated", json_boolean(trunc));
        json_object_set_new(ro, "stderr", json_string(err)); /* lower case, as Bacalhau's */
        json_object_set_new(ro, "StderrTruncated", json_false());
        json_object_set_new(ro, "ExitCode",
                            json_integer(json_is_integer(code) ? json_integer_value(code) : 0));
        json_object_set_new(ro, "ErrorMsg", json_string(emsg ? emsg : "task failed"));
        json_object_set_new(e, "RunOutput", ro);
    }
    if (es == 9)
        json_object_set_new(e, "PublishedResult", json_pack("{s:s}", "Type", "urlDownload"));
    return e;
}

static struct job *find_job(const char *id)
{
    for (size_t i = 0; i < F.njobs; i++)
        if (strcmp(F.jobs[i].id, id) == 0)
            return &F.jobs[i];
    return NULL;
}

/* ---- results tarball ----------------------------------------------------------------------- */
struct membuf {
    char *data;
    size_t len, cap;
};

static la_ssize_t mem_write(struct archive *a, void *arg, const void *buf, size_t n)
{
    (void)a;
    struct membuf *m = arg;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        while (cap < m->len + n)
            cap *= 2;
        char *d = realloc(m->data, cap);
        if (d == NULL)
            return -1;
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, n);
    m->len += n;
    return (la_ssize_t)n;
}

static void add_entry(struct archive *a, const char *path, mode_t type, const char *content,
                      const char *target)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_mtime(e, time(NULL), 0);
    size_t len = content ? strlen(content) : 0;
    if (type == AE_IFREG)
        archive_entry_set_size(e, (la_int64_t)len);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(e, target ? target : "");
    if (target != NULL && type == AE_IFREG && content == NULL) {
        archive_entry_set_hardlink(e, target);
        archive_entry_set_size(e, 0);
        len = 0;
    }
    archive_write_header(a, e);
    if (len > 0)
        archive_write_data(a, content, len);
    archive_entry_free(e);
}

static enum MHD_Result send_results(struct MHD_Connection *c, const struct job *j)
{
    struct membuf m = {0};
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    archive_write_open(a, &m, NULL, mem_write, NULL);
    char code[32];
    const json_t *ec = json_object_get(j->outcome, "exit_code");
    snprintf(code, sizeof code, "%lld",
             json_is_integer(ec) ? (long long)json_integer_value(ec) : 0);
    add_entry(a, "exitCode", AE_IFREG, code, NULL);
    const char *out = str_of(j->outcome, "stdout"), *err = str_of(j->outcome, "stderr");
    add_entry(a, "stdout", AE_IFREG, out ? out : "", NULL);
    add_entry(a, "stderr", AE_IFREG, err ? err : "", NULL);
    add_entry(a, "outputs", AE_IFDIR, NULL, NULL);
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(j->outcome, "files"), name, v)
    {
        char path[1024];
        snprintf(path, sizeof path, "outputs/%s", name);
        add_entry(a, path, AE_IFREG, json_string_value(v) ? json_string_value(v) : "", NULL);
    }
    size_t i;
    json_array_foreach(json_object_get(j->outcome, "entries"), i, v)
    {
        const char *path = str_of(v, "path"), *type = str_of(v, "type");
        const char *content = str_of(v, "content"), *target = str_of(v, "target");
        if (path == NULL)
            continue;
        type = type ? type : "file";
        if (strcmp(type, "symlink") == 0)
            add_entry(a, path, AE_IFLNK, NULL, target);
        else if (strcmp(type, "hardlink") == 0)
            add_entry(a, path, AE_IFREG, NULL, target ? target : "stdout");
        else if (strcmp(type, "fifo") == 0)
            add_entry(a, path, AE_IFIFO, NULL, NULL);
        else
            add_entry(a, path, AE_IFREG, content ? content : "", NULL);
    }
    archive_write_close(a);
    archive_write_free(a);
    return send_text(c, MHD_HTTP_OK, m.data ? m.data : strdup(""), m.len, "application/gzip");
}

/* ---- routes ----------------------------------------------------------------------------- */
static enum MHD_Result submit(struct MHD_Connection *c, const char *body, size_t len)
{
    json_error_t je;
    json_t *req = json_loadb(body, len, 0, &je);
    if (!json_is_object(req)) {
        json_decref(req);
        return send_error(c, 400, "BadRequest", NULL, "invalid request body: %s", je.text);
    }
    char buf[512];
    json_t *warnings = json_array();
    const char *why = validate_job(json_object_get(req, "Job"), buf, sizeof buf, warnings);
    if (why != NULL) {
        json_decref(req);
        json_decref(warnings);
        return send_error(c, 400, "ValidationError", "fix the job spec and submit it again", "%s",
                          why);
    }
    if (F.njobs == MAX_JOBS) {
        json_decref(req);
        json_decref(warnings);
        return send_error(c, 503, "Busy", NULL, "fake_bacalhau holds %d jobs at most", MAX_JOBS);
    }
    struct job *j = &F.jobs[F.njobs++];
    memset(j, 0, sizeof *j);
    random_id("j-", j->id, sizeof j->id);
    random_id("e-", j->exec_id, sizeof j->exec_id);
    random_id("", j->eval_id, sizeof j->eval_id);
    j->doc = json_incref(json_object_get(req, "Job"));
    j->outcome = F.next ? F.next : json_object();
    F.next = NULL;
    j->created_ms = now_ms();
    json_decref(req);
    free(F.last);
    F.last = strndup(body, len);
    return send_json(c, 200,
                     json_pack("{s:s, s:s, s:o}", "JobID", j->id, "EvaluationID", j->eval_id,
                               "Warnings", warnings));
}

/* labels=k=v[,k2=v2]: equality requirements only (what the plugin sends). */
static bool labels_match(const json_t *doc, const char *selector)
{
    if (selector == NULL || *selector == '\0')
        return true;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", selector);
    const json_t *labels = json_object_get(doc, "Labels");
    for (char *save = NULL, *req = strtok_r(copy, ",", &save); req != NULL;
         req = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(req, '=');
        if (eq == NULL)
            return json_object_get(labels, req) != NULL;
        *eq = '\0';
        const char *v = str_of(labels, req);
        if (v == NULL || strcmp(v, eq + 1 + (eq[1] == '=')) != 0)
            return false;
    }
    return true;
}

static enum MHD_Result list_jobs(struct MHD_Connection *c)
{
    const char *sel = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "labels");
    const char *ns = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "namespace");
    json_t *items = json_array();
    for (size_t i = 0; i < F.njobs; i++) {
        const char *jns = str_of(F.jobs[i].doc, "Namespace");
        if (ns != NULL && *ns != '\0' && (jns == NULL || strcmp(jns, ns) != 0))
            continue;
        if (labels_match(F.jobs[i].doc, sel))
            json_array_append_new(items, job_doc(&F.jobs[i]));
    }
    return send_json(c, 200, json_pack("{s:o, s:s}", "Items", items, "NextToken", ""));
}

static enum MHD_Result job_route(struct MHD_Connection *c, const char *method, const char *rest)
{
    char id[128];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof id)
        return send_error(c, 404, "NotFound", NULL, "no such route");
    memcpy(id, rest, n);
    id[n] = '\0';
    struct job *j = find_job(id);
    if (j == NULL)
        return send_error(c, 404, "NotFound", NULL, "job not found: %s", id);
    int js, es;
    states_of(j, &js, &es);
    if (slash != NULL && strcmp(slash, "/results") == 0 && strcmp(method, "GET") == 0) {
        json_t *items = json_array();
        if (js == 4) {
            char url[512];
            snprintf(url, sizeof url, "http://%s:%u" RESULTS_ROUTE "%s.tar.gz", F.node_host, F.port,
                     j->exec_id);
            json_array_append_new(
                items, json_pack("{s:s, s:{s:s}}", "Type", "urlDownload", "Params", "URL", url));
        }
        return send_json(c, 200, json_pack("{s:o, s:s}", "Items", items, "NextToken", ""));
    }
    if (slash != NULL)
        return send_error(c, 404, "NotFound", NULL, "no such route");
    if (strcmp(method, "GET") == 0) {
        json_t *reply = json_pack("{s:o}", "Job", job_doc(j));
        const char *inc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "include");
        if (inc != NULL && strcmp(inc, "executions") == 0) {
            json_t *items = json_array();
            if (es >= 0)
                json_array_append_new(items, execution_doc(j, es));
            json_object_set_new(reply, "Executions",
                                json_pack("{s:o, s:s}", "Items", items, "NextToken", ""));
        }
        return send_json(c, 200, reply);
    }
    if (strcmp(method, "DELETE") == 0) {
        const char *reason = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "reason");
        json_array_append_new(
            F.deleted, json_pack("{s:s, s:s}", "JobID", j->id, "Reason", reason ? reason : ""));
        if (js >= 4)
            return send_error(c, 400, "InvalidState", NULL,
                              "job %s is already in a terminal state (%s)", j->id,
                              job_state_names[js]);
        int ph = phase_of(j);
        j->stopped_phase = ph < PH_DONE ? ph : PH_RUNNING;
        j->stopped = true;
        snprintf(j->stop_reason, sizeof j->stop_reason, "%s",
                 reason && *reason ? reason : "job stopped by user");
        char eval[64];
        random_id("", eval, sizeof eval);
        return send_json(c, 200, json_pack("{s:s}", "EvaluationID", eval));
    }
    return send_error(c, 405, "MethodNotAllowed", NULL, "method %s not allowed here", method);
}

static bool authorised(struct MHD_Connection *c)
{
    if (F.token == NULL)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return h != NULL && strncmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, F.token) == 0;
}

static enum MHD_Result route(struct MHD_Connection *c, const char *url, const char *method,
                             const char *body, size_t len)
{
    if (strcmp(url, "/_fake/next") == 0 && strcmp(method, "PUT") == 0) {
        json_error_t je;
        json_t *o = json_loadb(body, len, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            return send_error(c, 400, "BadRequest", NULL, "/_fake/next wants an object");
        }
        json_decref(F.next);
        F.next = o;
        return send_json(c, 200, json_pack("{s:b}", "OK", 1));
    }
    if (strcmp(url, "/_fake/last") == 0)
        return send_text(c, 200, strdup(F.last ? F.last : "{}"), F.last ? strlen(F.last) : 2,
                         "application/json");
    if (strcmp(url, "/_fake/deleted") == 0)
        return send_json(c, 200, json_pack("{s:O}", "Items", F.deleted));
    if (strncmp(url, RESULTS_ROUTE, strlen(RESULTS_ROUTE)) == 0) {
        /* The compute node's publisher server: no API auth, as Bacalhau's. */
        for (size_t i = 0; i < F.njobs; i++) {
            char name[128];
            snprintf(name, sizeof name, RESULTS_ROUTE "%s.tar.gz", F.jobs[i].exec_id);
            if (strcmp(url, name) == 0)
                return send_results(c, &F.jobs[i]);
        }
        return send_error(c, 404, "NotFound", NULL, "no such result");
    }
    if (strncmp(url, "/api/v1/", 8) != 0)
        return send_error(c, 404, "NotFound", NULL, "no such route: %s", url);
    if (!authorised(c)) {
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        return send_error(c, 401, "Unauthorized",
                          "send a valid API key as Authorization: Bearer <key>",
                          "missing or invalid API key%s%.200s%s", F.echo_auth ? " (got \"" : "",
                          F.echo_auth && h ? h : "", F.echo_auth ? "\")" : "");
    }
    if (strcmp(url, "/api/v1/agent/alive") == 0)
        return send_json(c, 200, json_pack("{s:s}", "Status", "OK"));
    if (strcmp(url, "/api/v1/agent/version") == 0)
        return send_json(c, 200,
                         json_pack("{s:s, s:s, s:s, s:s}", "Major", "1", "Minor", "6", "GitVersion",
                                   "v1.6.0", "GitCommit", "fake_bacalhau"));
    if (strcmp(url, PREFIX_JOBS) == 0) {
        if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0)
            return submit(c, body, len);
        if (strcmp(method, "GET") == 0)
            return list_jobs(c);
        return send_error(c, 405, "MethodNotAllowed", NULL, "method %s not allowed", method);
    }
    if (strncmp(url, PREFIX_JOBS "/", strlen(PREFIX_JOBS) + 1) == 0)
        return job_route(c, method, url + strlen(PREFIX_JOBS) + 1);
    return send_error(c, 404, "NotFound", NULL, "no such route: %s", url);
}

struct upload {
    char *data;
    size_t len;
    bool too_big;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct upload *u = *con_cls;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        if (u == NULL)
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (u->len + *upload_size > MAX_BODY)
            u->too_big = true;
        else {
            char *d = realloc(u->data, u->len + *upload_size + 1);
            if (d == NULL)
                return MHD_NO;
            memcpy(d + u->len, upload_data, *upload_size);
            u->data = d;
            u->len += *upload_size;
            u->data[u->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (u->too_big)
        return send_error(c, 413, "TooLarge", NULL, "body larger than %u bytes", MAX_BODY);
    return route(c, url, method, u->data ? u->data : "", u->len);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct upload *u = *con_cls;
    if (u != NULL) {
        free(u->data);
        free(u);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    F.node_host = "compute-node.invalid";
    F.step_ms = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
            port_file = argv[++i];
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            F.token = argv[++i];
        else if (strcmp(argv[i], "--echo-auth") == 0)
            F.echo_auth = true;
        else if (strcmp(argv[i], "--step-ms") == 0 && i + 1 < argc)
            F.step_ms = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--node-host") == 0 && i + 1 < argc)
            F.node_host = argv[++i];
        else {
            fprintf(stderr,
                    "usage: fake_bacalhau --port-file FILE [--token T] [--echo-auth] [--step-ms N] "
                    "[--node-host NAME]\n  (a FAKE Bacalhau orchestrator for tests)\n");
            return 2;
        }
    }
    if (port_file == NULL) {
        fprintf(stderr, "fake_bacalhau: --port-file is required\n");
        return 2;
    }
    /* A test that crashes must not leave its fake server behind. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    F.deleted = json_array();
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the server's thread inherits the mask */
    /* The socket is bound here, before the server's thread starts, so the port every reply
     * names (F.port) is set before that thread can read it. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof addr;
    int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listen_fd, 64) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        fprintf(stderr, "fake_bacalhau: cannot listen on 127.0.0.1: %s\n", strerror(errno));
        return 1;
    }
    F.port = ntohs(addr.sin_port);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         handler, NULL, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "fake_bacalhau: cannot start the HTTP server\n");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", F.port) < 0 || fclose(f) != 0 ||
        rename(tmp, port_file) != 0) {
        fprintf(stderr, "fake_bacalhau: cannot write %s: %s\n", port_file, strerror(errno));
        MHD_stop_daemon(d);
        return 1;
    }
    printf("fake_bacalhau listening on 127.0.0.1:%u\n", F.port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    for (size_t i = 0; i < F.njobs; i++) {
        json_decref(F.jobs[i].doc);
        json_decref(F.jobs[i].outcome);
    }
    json_decref(F.next);
    json_decref(F.deleted);
    free(F.last);
    return 0;
}
