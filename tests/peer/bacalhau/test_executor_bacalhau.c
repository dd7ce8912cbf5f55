/* executor/bacalhau through the core's loader and dispatch, against fake_bacalhau, a FAKE
 * Bacalhau orchestrator that follows the published v1 API (this folder's README.md): the job
 * document the plugin submits, the state mapping (pending, queued, running, completed with its
 * outputs, exit code and both streams; failed; stopped), cancel, the client-side deadline, the
 * API token (required, wrong, and never in an error or a log line), job states as integers, an
 * orchestrator lost mid-job, hostile results tarballs, reclaim, describe, and the fake's own
 * validation of submitted jobs. Each fake is started by this program on a loopback port and
 * killed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include <lilypad/executor.h>

#include "config/config.h"
#include "dispatch/executor.h"
#include "image/fs_tree.h"
#include "loader/backend.h"
#include "util/log.h"

#include "skip_reason.h"

#define TOKEN       "s3cret-token-5f2a9c"
#define WRONG_TOKEN "wrong-token-77b1e0"
#define OWNER_A     "0x1111111111111111111111111111111111111111"
#define OWNER_B     "0x2222222222222222222222222222222222222222"

static char tmp[64];

/* ---- the host log: stderr goes through a pipe to a thread that copies it to the real stderr
 * and keeps it, so the test can look for the token in every line the plugin and core wrote */
static int real_stderr = -1, log_pipe[2] = {-1, -1};
static pthread_t log_thread;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_text;
static size_t log_len;

static void *log_pump(void *arg)
{
    (void)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(log_pipe[0], buf, sizeof buf)) > 0) {
        ssize_t ignored = write(real_stderr, buf, (size_t)n);
        (void)ignored;
        pthread_mutex_lock(&log_lock);
        char *t = realloc(log_text, log_len + (size_t)n + 1);
        if (t != NULL) {
            memcpy(t + log_len, buf, (size_t)n);
            log_len += (size_t)n;
            t[log_len] = '\0';
            log_text = t;
        }
        pthread_mutex_unlock(&log_lock);
    }
    return NULL;
}

static bool log_contains(const char *needle)
{
    fflush(stderr);
    usleep(100000); /* let the pump catch up */
    pthread_mutex_lock(&log_lock);
    bool found = log_text != NULL && strstr(log_text, needle) != NULL;
    pthread_mutex_unlock(&log_lock);
    return found;
}

/* ---- fake servers --------------------------------------------------------------------------- */
struct fake {
    pid_t pid;
    unsigned port;
    char api[64];
};

static struct fake MAIN_FAKE;

static int fake_start(struct fake *f, const char *name, const char *const *extra)
{
    char port_file[128];
    snprintf(port_file, sizeof port_file, "%s/%s.port", tmp, name);
    unlink(port_file);
    const char *argv[16] = {LP_FAKE_BACALHAU, "--port-file", port_file, "--step-ms", "150"};
    size_t argc = 5;
    for (; extra != NULL && *extra != NULL && argc < 15; extra++)
        argv[argc++] = *extra;
    argv[argc] = NULL;
    f->pid = fork();
    if (f->pid < 0)
        return -1;
    if (f->pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        FILE *pf = fopen(port_file, "r");
        if (pf != NULL) {
            int ok = fscanf(pf, "%u", &f->port) == 1;
            fclose(pf);
            if (ok) {
                snprintf(f->api, sizeof f->api, "http://127.0.0.1:%u", f->port);
                return 0;
            }
        }
        int status;
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            f->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    return -1;
}

static void fake_stop(struct fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
}

/* ---- HTTP to the fake's control and API endpoints -------------------------------------------- */
struct body {
    char *data;
    size_t len;
};

static size_t body_write(char *p, size_t s, size_t n, void *arg)
{
    struct body *b = arg;
    char *d = realloc(b->data, b->len + s * n + 1);
    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, s * n);
    b->len += s * n;
    d[b->len] = '\0';
    b->data = d;
    return s * n;
}

static long http(const struct fake *f, const char *method, const char *path, const char *data,
                 json_t **out)
{
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s%s", f->api, path);
    struct body b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    if (data != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (out != NULL)
        *out = b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    return status;
}

static void fake_next(const struct fake *f, const char *json)
{
    assert_int_equal(http(f, "PUT", "/_fake/next", json, NULL), 200);
}

static bool fake_deleted(const struct fake *f, const char *job_id)
{
    json_t *d = NULL;
    assert_int_equal(http(f, "GET", "/_fake/deleted", NULL, &d), 200);
    bool found = false;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(d, "Items"), i, it)
    {
        found = found || strcmp(json_string_value(json_object_get(it, "JobID")), job_id) == 0;
    }
    json_decref(d);
    return found;
}

/* ---- the plugin through the core --------------------------------------------------------------
 */
struct exe {
    struct lp_config *cfg;
    struct lp_backend *b;
};

static int exe_open(struct exe *e, const struct fake *f, const char *extra, char *err,
                    size_t errlen)
{
    char text[1024];
    snprintf(text, sizeof text,
             "executor: { backend = \"bacalhau\"; bacalhau: { api = \"%s\"; poll_interval = "
             "\"20ms\"; unreachable_grace = \"2s\"; request_timeout = \"2s\"; %s %s }; };",
             f->api, extra && strstr(extra, "gpus") ? "" : "gpus = \"nvidia\";",
             extra ? extra : "");
    e->b = NULL;
    if (lp_config_load_string(text, "bacalhau-test.cfg", &e->cfg, err, errlen) != 0)
        return -1;
    lp_loader_set_cli_path(LP_PLUGIN_DIR);
    int rc = lp_backend_open(e->cfg, "executor", "bacalhau", &e->b, err, errlen);
    lp_loader_set_cli_path(NULL);
    return rc;
}

static void exe_close(struct exe *e)
{
    if (e->b != NULL)
        lp_backend_close(e->b);
    lp_config_free(e->cfg);
    e->b = NULL;
    e->cfg = NULL;
}

static struct exe MAIN_EXE;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *const ARGV[] = {"sh", "-c", "echo hi > /outputs/out.txt"};
static const char *const ENV[] = {"GREETING=hello", "EMPTY="};

static int submit_job(struct exe *e, const char *owner, const char *job_id,
                      const struct lp_job_limits *limits, const char *out_name,
                      struct lp_job_handle *h, struct lp_plugin_error *perr)
{
    struct lp_job_spec spec = {.struct_size = sizeof spec,
                               .image = "busybox:1.36",
                               .entrypoint = ARGV,
                               .entrypoint_count = 3,
                               .env = ENV,
                               .env_count = 2,
                               .workdir = "/work",
                               .owner = owner,
                               .job_id = job_id};
    struct lp_job_limits none = {.struct_size = sizeof none};
    char outputs[256], inputs[256];
    snprintf(outputs, sizeof outputs, "%s/%s", tmp, out_name);
    snprintf(inputs, sizeof inputs, "%s/inputs", tmp);
    return lp_executor_submit(e->b, &spec, inputs, outputs, limits ? limits : &none, h, perr);
}

static struct lp_job_handle submit_ok(struct exe *e, const char *owner, const char *job_id,
                                      const struct lp_job_limits *limits, const char *out_name)
{
    struct lp_job_handle h;
    struct lp_plugin_error perr;
    if (submit_job(e, owner, job_id, limits, out_name, &h, &perr) != LP_OK)
        fail_msg("submit: %s", perr.message);
    return h;
}

static struct lp_job_status wait_end(struct exe *e, const struct lp_job_handle *h, uint64_t max_ms)
{
    struct lp_job_status st;
    struct lp_plugin_error perr;
    int rc = lp_executor_wait(e->b, h, max_ms, &st, &perr);
    if (rc != LP_OK)
        fail_msg("wait: %s", perr.message);
    return st;
}

static struct lp_job_status poll_job(struct exe *e, const struct lp_job_handle *h)
{
    struct lp_job_status st;
    struct lp_plugin_error perr;
    if (lp_executor_poll(e->b, h, &st, &perr) != LP_OK)
        fail_msg("poll: %s", perr.message);
    return st;
}

static void wait_running(struct exe *e, const struct lp_job_handle *h)
{
    uint64_t t0 = now_ms();
    while (poll_job(e, h).state != LP_JOB_RUNNING) {
        if (now_ms() - t0 > 5000)
            fail_msg("job never reached RUNNING");
        usleep(20000);
    }
}

static void release(struct exe *e, const struct lp_job_handle *h)
{
    struct lp_plugin_error perr;
    assert_int_equal(lp_executor_release(e->b, h, &perr), LP_OK);
}

struct text {
    char data[8192];
    size_t len;
};

static int collect(void *arg, const void *data, size_t len)
{
    struct text *t = arg;
    size_t room = sizeof t->data - 1 - t->len;
    len = len < room ? len : room;
    memcpy(t->data + t->len, data, len);
    t->len += len;
    t->data[t->len] = '\0';
    return 0;
}

static void logs_of(struct exe *e, const struct lp_job_handle *h, int stream, struct text *t)
{
    memset(t, 0, sizeof *t);
    struct lp_plugin_error perr;
    uint64_t next;
    assert_int_equal(lp_executor_logs(e->b, h, stream, 0, collect, t, &next, &perr), LP_OK);
    assert_int_equal(next, t->len);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- setup -------------------------------------------------------------------------------- */
static int group_setup(void **state)
{
    (void)state;
    char err[1024];
    if (exe_open(&MAIN_EXE, &MAIN_FAKE, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "test_executor_bacalhau: open: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    exe_close(&MAIN_EXE);
    fake_stop(&MAIN_FAKE);
    return 0;
}

/* ---- the submitted job --------------------------------------------------------------------- */
static void test_job_document(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"complete\"}");
    struct lp_gpu_device gpu = {.vendor = "nvidia", .index = 0};
    struct lp_job_limits limits = {.struct_size = sizeof limits,
                                   .cpu_millicores = 500,
                                   .gpus = 1,
                                   .memory_bytes = UINT64_C(2) << 30,
                                   .disk_bytes = UINT64_C(512) << 20,
                                   .timeout_ms = 90500,
                                   .network = false,
                                   .gpu_devices = &gpu};
    struct lp_job_handle h = submit_ok(&MAIN_EXE, OWNER_A, "0xdea1", &limits, "out-doc");
    assert_true(strncmp(h.id, "j-", 2) == 0);
    json_t *last = NULL;
    assert_int_equal(http(&MAIN_FAKE, "GET", "/_fake/last", NULL, &last), 200);
    json_t *job = json_object_get(last, "Job");
    assert_true(json_is_false(json_object_get(last, "Force")));
    assert_string_equal(json_string_value(json_object_get(job, "Type")), "batch");
    assert_string_equal(json_string_value(json_object_get(job, "Namespace")), "default");
    assert_int_equal(json_integer_value(json_object_get(job, "Count")), 1);
    json_t *labels = json_object_get(job, "Labels");
    assert_string_equal(json_string_value(json_object_get(labels, "lilypad-owner")), OWNER_A);
    assert_string_equal(json_string_value(json_object_get(labels, "lilypad-job")), "0xdea1");
    assert_int_equal(json_array_size(json_object_get(job, "Tasks")), 1);
    json_t *task = json_array_get(json_object_get(job, "Tasks"), 0);
    json_t *params = json_object_get(json_object_get(task, "Engine"), "Params");
    assert_string_equal(json_string_value(json_object_get(json_object_get(task, "Engine"), "Type")),
                        "docker");
    assert_string_equal(json_string_value(json_object_get(params, "Image")), "busybox:1.36");
    json_t *ep = json_object_get(params, "Entrypoint"), *pa = json_object_get(params, "Parameters");
    assert_int_equal(json_array_size(ep), 1);
    assert_string_equal(json_string_value(json_array_get(ep, 0)), "sh");
    assert_int_equal(json_array_size(pa), 2);
    assert_string_equal(json_string_value(json_array_get(pa, 0)), "-c");
    assert_string_equal(json_string_value(json_array_get(pa, 1)), "echo hi > /outputs/out.txt");
    json_t *env = json_object_get(params, "EnvironmentVariables");
    assert_int_equal(json_array_size(env), 2);
    assert_string_equal(json_string_value(json_array_get(env, 0)), "GREETING=hello");
    assert_string_equal(json_string_value(json_object_get(params, "WorkingDirectory")), "/work");
    json_t *res = json_object_get(task, "Resources");
    assert_string_equal(json_string_value(json_object_get(res, "CPU")), "500m");
    assert_string_equal(json_string_value(json_object_get(res, "Memory")), "2gib");
    assert_string_equal(json_string_value(json_object_get(res, "Disk")), "512mib");
    assert_string_equal(json_string_value(json_object_get(res, "GPU")), "1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(task, "Network"), "Type")), "None");
    /* 90.5 s rounds up to whole seconds */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(task, "Timeouts"), "ExecutionTimeout")),
        91);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(task, "Publisher"), "Type")), "local");
    json_t *rp = json_array_get(json_object_get(task, "ResultPaths"), 0);
    assert_string_equal(json_string_value(json_object_get(rp, "Name")), "outputs");
    assert_string_equal(json_string_value(json_object_get(rp, "Path")), "/outputs");
    json_t *in = json_array_get(json_object_get(task, "InputSources"), 0);
    json_t *src = json_object_get(in, "Source");
    char inputs[256];
    snprintf(inputs, sizeof inputs, "%s/inputs", tmp);
    assert_string_equal(json_string_value(json_object_get(src, "Type")), "localDirectory");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(src, "Params"), "SourcePath")), inputs);
    assert_true(json_is_false(json_object_get(json_object_get(src, "Params"), "ReadWrite")));
    assert_string_equal(json_string_value(json_object_get(in, "Target")), "/inputs");
    json_decref(last);
    wait_end(&MAIN_EXE, &h, 10000);
    release(&MAIN_EXE, &h);
}

static void test_network_kinds(void **state)
{
    (void)state;
    const char *const domains[] = {"example.com", "huggingface.co"};
    struct lp_job_limits limits = {.struct_size = sizeof limits,
                                   .cpu_millicores = 2000,
                                   .memory_bytes = 1000,
                                   .network = true,
                                   .network_domains = domains,
                                   .network_domain_count = 2};
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, &limits, "out-net");
    json_t *last = NULL;
    assert_int_equal(http(&MAIN_FAKE, "GET", "/_fake/last", NULL, &last), 200);
    json_t *task = json_array_get(json_object_get(json_object_get(last, "Job"), "Tasks"), 0);
    json_t *net = json_object_get(task, "Network");
    assert_string_equal(json_string_value(json_object_get(net, "Type")), "HTTP");
    assert_string_equal(json_string_value(json_array_get(json_object_get(net, "Domains"), 1)),
                        "huggingface.co");
    json_t *res = json_object_get(task, "Resources");
    assert_string_equal(json_string_value(json_object_get(res, "CPU")), "2");
    assert_string_equal(json_string_value(json_object_get(res, "Memory")), "1000b");
    /* no timeout in the limits: the configured default (1h) */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(task, "Timeouts"), "ExecutionTimeout")),
        3600);
    json_decref(last);
    release(&MAIN_EXE, &h);

    limits.network_domains = NULL;
    limits.network_domain_count = 0;
    h = submit_ok(&MAIN_EXE, NULL, NULL, &limits, "out-net");
    assert_int_equal(http(&MAIN_FAKE, "GET", "/_fake/last", NULL, &last), 200);
    task = json_array_get(json_object_get(json_object_get(last, "Job"), "Tasks"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(task, "Network"), "Type")), "Full");
    json_decref(last);
    release(&MAIN_EXE, &h);
}

static void test_reserved_env_refused(void **state)
{
    (void)state;
    const char *const env[] = {"OK=1", "BACALHAU_NODE_ID=evil"};
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = "busybox:1.36", .env = env, .env_count = 2};
    struct lp_job_limits none = {.struct_size = sizeof none};
    struct lp_job_handle h;
    struct lp_plugin_error perr;
    char outputs[256];
    snprintf(outputs, sizeof outputs, "%s/out-env", tmp);
    assert_int_equal(lp_executor_submit(MAIN_EXE.b, &spec, NULL, outputs, &none, &h, &perr),
                     LP_EINVAL);
    assert_non_null(strstr(perr.message, "BACALHAU_NODE_ID"));
    assert_non_null(strstr(perr.message, "reserves names starting with BACALHAU_"));
}

/* ---- states -------------------------------------------------------------------------------- */
static const char *fake_state(const struct fake *f, const char *id)
{
    static char name[32];
    char path[256];
    snprintf(path, sizeof path, "/api/v1/orchestrator/jobs/%s", id);
    json_t *doc = NULL;
    http(f, "GET", path, NULL, &doc);
    json_t *st =
        json_object_get(json_object_get(json_object_get(doc, "Job"), "State"), "StateType");
    snprintf(name, sizeof name, "%s", json_is_string(st) ? json_string_value(st) : "?");
    json_decref(doc);
    return name;
}

static void test_states_and_results(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"complete\",\"exit_code\":3,"
                          "\"stdout\":\"hello out\\n\",\"stderr\":\"hello err\\n\","
                          "\"files\":{\"out.txt\":\"result\",\"sub/deep.txt\":\"deep\"}}");
    struct lp_job_handle h = submit_ok(&MAIN_EXE, OWNER_A, "0xd1", NULL, "out-states");
    /* Pair what the fake says with what the plugin reports right after, for every state the
     * fake passes through (a pair that straddles a state change is ignored). */
    bool pending = false, queued = false, running = false;
    struct lp_job_status st;
    uint64_t t0 = now_ms();
    for (;;) {
        char fs[32];
        snprintf(fs, sizeof fs, "%s", fake_state(&MAIN_FAKE, h.id));
        usleep(25000); /* past the 20 ms poll interval: the plugin asks afresh */
        st = poll_job(&MAIN_EXE, &h);
        if (strcmp(fs, "Pending") == 0 && st.state == LP_JOB_PENDING)
            pending = true;
        if (strcmp(fs, "Queued") == 0 && st.state == LP_JOB_PENDING)
            queued = true;
        if (strcmp(fs, "Running") == 0 && st.state == LP_JOB_RUNNING)
            running = true;
        if (lp_job_state_done(st.state) || now_ms() - t0 > 10000)
            break;
    }
    assert_true(pending);
    assert_true(queued);
    assert_true(running);
    assert_int_equal(st.state, LP_JOB_EXITED);
    assert_int_equal(st.exit_code, 3);
    assert_true(st.started_ns > 0 && st.finished_ns >= st.started_ns);
    char path[256];
    snprintf(path, sizeof path, "%s/out-states/out.txt", tmp);
    assert_string_equal(read_file(path), "result");
    snprintf(path, sizeof path, "%s/out-states/sub/deep.txt", tmp);
    assert_string_equal(read_file(path), "deep");
    struct text t;
    logs_of(&MAIN_EXE, &h, LP_STREAM_STDOUT, &t);
    assert_string_equal(t.data, "hello out\n");
    logs_of(&MAIN_EXE, &h, LP_STREAM_STDERR, &t);
    assert_string_equal(t.data, "hello err\n");
    /* logs from an offset */
    memset(&t, 0, sizeof t);
    struct lp_plugin_error perr;
    uint64_t next = 0;
    assert_int_equal(
        lp_executor_logs(MAIN_EXE.b, &h, LP_STREAM_STDOUT, 6, collect, &t, &next, &perr), LP_OK);
    assert_string_equal(t.data, "out\n");
    assert_int_equal(next, 10);
    /* results are fetched once: a second poll changes nothing */
    st = poll_job(&MAIN_EXE, &h);
    assert_int_equal(st.state, LP_JOB_EXITED);
    release(&MAIN_EXE, &h);
    assert_false(fake_deleted(&MAIN_FAKE, h.id)); /* a finished job is not stopped */
}

static void test_truncated_stdout_from_tarball(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"complete\",\"stdout\":\"0123456789abcdef\","
                          "\"stdout_truncated\":true}");
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, NULL, "out-trunc");
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 10000);
    assert_int_equal(st.state, LP_JOB_EXITED);
    struct text t;
    logs_of(&MAIN_EXE, &h, LP_STREAM_STDOUT, &t);
    assert_string_equal(t.data, "0123456789abcdef");
    release(&MAIN_EXE, &h);
}

static void test_integer_states(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"complete\",\"exit_code\":0,\"integer_states\":true,"
                          "\"stdout\":\"int\"}");
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, NULL, "out-int");
    char path[256];
    snprintf(path, sizeof path, "/api/v1/orchestrator/jobs/%s", h.id);
    json_t *doc = NULL;
    assert_int_equal(http(&MAIN_FAKE, "GET", path, NULL, &doc), 200);
    /* the fake really answers with an integer */
    assert_true(json_is_integer(
        json_object_get(json_object_get(json_object_get(doc, "Job"), "State"), "StateType")));
    json_decref(doc);
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 10000);
    assert_int_equal(st.state, LP_JOB_EXITED);
    assert_int_equal(st.exit_code, 0);
    struct text t;
    logs_of(&MAIN_EXE, &h, LP_STREAM_STDOUT, &t);
    assert_string_equal(t.data, "int");
    release(&MAIN_EXE, &h);
}

static void test_failed_execution(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"fail\",\"exit_code\":1,"
                          "\"error\":\"image pull failed: manifest unknown\"}");
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, NULL, "out-fail");
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 10000);
    assert_int_equal(st.state, LP_JOB_FAILED);
    assert_non_null(strstr(st.message, "image pull failed: manifest unknown"));
    assert_null(strchr(st.message, '\n'));
    release(&MAIN_EXE, &h);
}

static void test_cancel(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"hang\"}");
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, NULL, "out-cancel");
    wait_running(&MAIN_EXE, &h);
    struct lp_plugin_error perr;
    assert_int_equal(lp_executor_cancel(MAIN_EXE.b, &h, &perr), LP_OK);
    assert_int_equal(poll_job(&MAIN_EXE, &h).state, LP_JOB_CANCELLED);
    assert_true(fake_deleted(&MAIN_FAKE, h.id));
    assert_string_equal(fake_state(&MAIN_FAKE, h.id), "Stopped");
    release(&MAIN_EXE, &h);
}

static void test_stopped_elsewhere_is_cancelled(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"hang\"}");
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, NULL, "out-stop");
    wait_running(&MAIN_EXE, &h);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/orchestrator/jobs/%s?reason=operator", h.id);
    assert_int_equal(http(&MAIN_FAKE, "DELETE", path, NULL, NULL), 200);
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 5000);
    assert_int_equal(st.state, LP_JOB_CANCELLED);
    assert_non_null(strstr(st.message, "operator"));
    release(&MAIN_EXE, &h);
}

static void test_client_side_timeout(void **state)
{
    (void)state;
    fake_next(&MAIN_FAKE, "{\"outcome\":\"hang\"}");
    struct lp_job_limits limits = {.struct_size = sizeof limits, .timeout_ms = 700};
    uint64_t t0 = now_ms();
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, &limits, "out-timeout");
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 10000);
    uint64_t took = now_ms() - t0;
    assert_int_equal(st.state, LP_JOB_TIMED_OUT);
    assert_true(took >= 700 && took < 3000);
    assert_non_null(strstr(st.message, "timed out after 0.7 s"));
    assert_true(fake_deleted(&MAIN_FAKE, h.id));
    release(&MAIN_EXE, &h);
}

/* ---- results: host rewrite and hostile tarballs --------------------------------------------- */
static void test_no_host_rewrite_fails(void **state)
{
    (void)state;
    struct exe e = {0};
    char err[1024];
    if (exe_open(&e, &MAIN_FAKE, "result_host_rewrite = false;", err, sizeof err) != 0)
        fail_msg("open: %s", err);
    fake_next(&MAIN_FAKE, "{\"outcome\":\"complete\",\"files\":{\"a\":\"b\"}}");
    struct lp_job_handle h = submit_ok(&e, NULL, NULL, NULL, "out-norewrite");
    struct lp_job_status st = wait_end(&e, &h, 20000);
    /* the node's own name (compute-node.invalid) does not resolve: only the rewrite reaches it */
    assert_int_equal(st.state, LP_JOB_FAILED);
    assert_non_null(strstr(st.message, "compute-node.invalid"));
    release(&e, &h);
    exe_close(&e);
}

static void expect_refused(const char *entries, const char *out_name, const char *reason)
{
    char next[1024];
    snprintf(next, sizeof next,
             "{\"outcome\":\"complete\",\"files\":{\"fine.txt\":\"ok\"},\"entries\":%s}", entries);
    fake_next(&MAIN_FAKE, next);
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, NULL, out_name);
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 10000);
    assert_int_equal(st.state, LP_JOB_FAILED);
    if (strstr(st.message, reason) == NULL)
        fail_msg("expected \"%s\" in: %s", reason, st.message);
    release(&MAIN_EXE, &h);
}

static void test_hostile_results_refused(void **state)
{
    (void)state;
    char escape[256], absolute[256], abs_entries[512];
    snprintf(escape, sizeof escape, "%s/escape.txt", tmp);
    expect_refused("[{\"path\":\"outputs/../../escape.txt\",\"content\":\"pwned\"}]", "out-dotdot",
                   "\"..\"");
    assert_int_equal(access(escape, F_OK), -1);

    snprintf(absolute, sizeof absolute, "%s/absolute.txt", tmp);
    snprintf(abs_entries, sizeof abs_entries, "[{\"path\":\"%s\",\"content\":\"pwned\"}]",
             absolute);
    expect_refused(abs_entries, "out-abs", "absolute path");
    assert_int_equal(access(absolute, F_OK), -1);

    expect_refused("[{\"path\":\"outputs/up\",\"type\":\"symlink\",\"target\":\"../..\"}]",
                   "out-link", "symbolic link pointing outside");
    expect_refused("[{\"path\":\"outputs/etc\",\"type\":\"symlink\",\"target\":\"/etc\"}]",
                   "out-link2", "symbolic link pointing outside");
    char lpath[256];
    snprintf(lpath, sizeof lpath, "%s/out-link2/etc", tmp);
    struct stat sb;
    assert_int_equal(lstat(lpath, &sb), -1);

    /* a link that stays inside is allowed, but nothing may be written through it */
    expect_refused("[{\"path\":\"outputs/sub\",\"type\":\"symlink\",\"target\":\".\"},"
                   "{\"path\":\"outputs/sub/x.txt\",\"content\":\"x\"}]",
                   "out-through", "path goes through a link");
    expect_refused("[{\"path\":\"outputs/h\",\"type\":\"hardlink\",\"target\":\"/etc/passwd\"}]",
                   "out-hard", "hard link");
    expect_refused("[{\"path\":\"outputs/p\",\"type\":\"fifo\"}]", "out-fifo", "FIFO");
}

static void test_result_cap(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char next[4096];
    snprintf(next, sizeof next, "{\"outcome\":\"complete\",\"files\":{\"big\":\"%s\"}}", big);
    fake_next(&MAIN_FAKE, next);
    struct lp_job_limits limits = {.struct_size = sizeof limits, .disk_bytes = 1024};
    struct lp_job_handle h = submit_ok(&MAIN_EXE, NULL, NULL, &limits, "out-cap");
    struct lp_job_status st = wait_end(&MAIN_EXE, &h, 10000);
    assert_int_equal(st.state, LP_JOB_FAILED);
    assert_non_null(strstr(st.message, "cap"));
    release(&MAIN_EXE, &h);
}

/* ---- auth -------------------------------------------------------------------------------- */
static void test_auth_token(void **state)
{
    (void)state;
    struct fake f = {0};
    const char *const extra[] = {"--token", TOKEN, "--echo-auth", NULL};
    assert_int_equal(fake_start(&f, "auth", extra), 0);
    char err[1024];
    struct exe e = {0};

    /* no token: the probe says so, with the hint */
    assert_int_equal(exe_open(&e, &f, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "401"));
    assert_non_null(strstr(err, "executor.bacalhau.token"));
    exe_close(&e);

    /* a wrong token: refused, and the token the fake echoes back never reaches the message */
    assert_int_equal(exe_open(&e, &f, "token = \"" WRONG_TOKEN "\";", err, sizeof err), -1);
    assert_non_null(strstr(err, "401"));
    assert_null(strstr(err, WRONG_TOKEN));
    assert_non_null(strstr(err, "Bearer ***")); /* the fake did echo it: scrubbed */
    exe_close(&e);

    /* the right one: jobs run */
    if (exe_open(&e, &f, "token = \"" TOKEN "\";", err, sizeof err) != 0)
        fail_msg("open with the token: %s", err);
    fake_next(&f, "{\"outcome\":\"complete\",\"stdout\":\"authed\"}");
    struct lp_job_handle h = submit_ok(&e, NULL, NULL, NULL, "out-auth");
    struct lp_job_status st = wait_end(&e, &h, 10000);
    assert_int_equal(st.state, LP_JOB_EXITED);
    release(&e, &h);

    exe_close(&e);

    /* the token rotated on the server: the right-looking token, echoed back, stays out too */
    fake_stop(&f);
    const char *const rotated[] = {"--token", "rotated-token", "--echo-auth", NULL};
    assert_int_equal(fake_start(&f, "auth", rotated), 0);
    assert_int_equal(exe_open(&e, &f, "token = \"" TOKEN "\";", err, sizeof err), -1);
    assert_null(strstr(err, TOKEN));
    exe_close(&e);
    fake_stop(&f);

    /* nothing the core or the plugin logged holds either token */
    assert_true(log_contains("with an API token"));
    assert_false(log_contains(TOKEN));
    assert_false(log_contains(WRONG_TOKEN));
}

/* ---- a lost orchestrator ----------------------------------------------------------------------
 */
static void test_lost_server(void **state)
{
    (void)state;
    struct fake f = {0};
    assert_int_equal(fake_start(&f, "lost", NULL), 0);
    struct exe e = {0};
    char err[1024];
    if (exe_open(&e, &f, NULL, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    fake_next(&f, "{\"outcome\":\"hang\"}");
    struct lp_job_handle h = submit_ok(&e, NULL, NULL, NULL, "out-lost");
    wait_running(&e, &h);
    kill(f.pid, SIGKILL);
    waitpid(f.pid, NULL, 0);
    f.pid = 0;
    uint64_t t0 = now_ms();
    struct lp_job_status st = wait_end(&e, &h, 20000);
    uint64_t took = now_ms() - t0;
    assert_int_equal(st.state, LP_JOB_FAILED);
    assert_true(took >= 1900 && took < 6000);
    assert_non_null(strstr(st.message, "unreachable for 2 s"));
    assert_non_null(strstr(st.message, f.api));
    release(&e, &h);
    exe_close(&e);
}

/* ---- reclaim ------------------------------------------------------------------------------ */
static void test_reclaim(void **state)
{
    (void)state;
    struct fake f = {0};
    assert_int_equal(fake_start(&f, "reclaim", NULL), 0);
    struct exe e = {0};
    char err[1024];
    if (exe_open(&e, &f, NULL, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    fake_next(&f, "{\"outcome\":\"complete\"}");
    struct lp_job_handle done = submit_ok(&e, OWNER_A, "0xa0", NULL, "out-r0");
    wait_end(&e, &done, 10000);
    struct lp_job_handle a[3], other;
    for (int i = 0; i < 3; i++) {
        fake_next(&f, "{\"outcome\":\"hang\"}");
        char id[16];
        snprintf(id, sizeof id, "0xa%d", i + 1);
        a[i] = submit_ok(&e, OWNER_A, id, NULL, "out-r");
    }
    fake_next(&f, "{\"outcome\":\"hang\"}");
    other = submit_ok(&e, OWNER_B, "0xb1", NULL, "out-rb");
    size_t removed = 0;
    struct lp_plugin_error perr;
    assert_int_equal(lp_executor_reclaim(e.b, OWNER_A, &a[0], 1, &removed, &perr), LP_OK);
    assert_int_equal(removed, 2);
    assert_false(fake_deleted(&f, a[0].id));
    assert_true(fake_deleted(&f, a[1].id));
    assert_true(fake_deleted(&f, a[2].id));
    assert_false(fake_deleted(&f, other.id));
    assert_false(fake_deleted(&f, done.id));
    /* the owner must be a label value Bacalhau can select on */
    assert_int_equal(lp_executor_reclaim(e.b, "0x a", NULL, 0, &removed, &perr), LP_EINVAL);
    exe_close(&e); /* destroy forgets the jobs; only release stops them */
    fake_stop(&f);
}

/* ---- describe and probe ------------------------------------------------------------------- */
static void test_describe(void **state)
{
    (void)state;
    struct lp_executor_info info;
    struct lp_plugin_error perr;
    assert_int_equal(lp_executor_describe(MAIN_EXE.b, &info, &perr), LP_OK);
    assert_true(info.attach & LP_EXEC_ATTACH_NVIDIA);
    assert_false(info.attach & LP_EXEC_ATTACH_AMD);
    assert_true(info.attach & LP_EXEC_ATTACH_NETWORK);
    assert_false(info.attach & LP_EXEC_ATTACH_EGRESS);
    assert_int_equal(info.enforces,
                     LP_EXEC_LIMIT_MEMORY | LP_EXEC_LIMIT_CPU | LP_EXEC_LIMIT_TIMEOUT);
    char expect[128];
    snprintf(expect, sizeof expect, "bacalhau v1.6.0 at %s", MAIN_FAKE.api);
    assert_string_equal(info.runtime, expect);
}

static void test_gpu_job_refused_without_gpus(void **state)
{
    (void)state;
    struct exe e = {0};
    char err[1024];
    if (exe_open(&e, &MAIN_FAKE, "gpus = \"none\";", err, sizeof err) != 0)
        fail_msg("open: %s", err);
    struct lp_gpu_device gpu = {.vendor = "nvidia"};
    struct lp_job_limits limits = {.struct_size = sizeof limits, .gpus = 1, .gpu_devices = &gpu};
    struct lp_job_handle h;
    struct lp_plugin_error perr;
    assert_int_equal(submit_job(&e, NULL, NULL, &limits, "out-gpu", &h, &perr), LP_EUNAVAILABLE);
    assert_non_null(strstr(perr.message, "gpus = \"none\""));
    struct lp_executor_info info;
    assert_int_equal(lp_executor_describe(e.b, &info, &perr), LP_OK);
    assert_false(info.attach & (LP_EXEC_ATTACH_NVIDIA | LP_EXEC_ATTACH_AMD));
    exe_close(&e);
}

static void test_unreachable_probe(void **state)
{
    (void)state;
    struct fake gone = {.port = 9};
    snprintf(gone.api, sizeof gone.api, "http://127.0.0.1:9");
    struct exe e = {0};
    char err[1024];
    assert_int_equal(exe_open(&e, &gone, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "bacalhau not reachable at http://127.0.0.1:9"));
    assert_non_null(strstr(err, "hint:"));
    exe_close(&e);
}

/* ---- the fake itself validates like the orchestrator ----------------------------------------- */
static void expect_400(const char *job, const char *needle)
{
    json_t *reply = NULL;
    assert_int_equal(http(&MAIN_FAKE, "PUT", "/api/v1/orchestrator/jobs", job, &reply), 400);
    assert_int_equal(json_integer_value(json_object_get(reply, "Status")), 400);
    const char *msg = json_string_value(json_object_get(reply, "Message"));
    assert_non_null(msg);
    assert_non_null(json_object_get(reply, "RequestID"));
    if (strstr(msg, needle) == NULL)
        fail_msg("expected \"%s\" in: %s", needle, msg);
    json_decref(reply);
}

static void test_fake_validates_jobs(void **state)
{
    (void)state;
#define TASK_START "{\"Job\":{\"Type\":\"batch\",\"Tasks\":[{\"Name\":\"main\","
#define DOCKER     "\"Engine\":{\"Type\":\"docker\",\"Params\":{\"Image\":\"busybox\""
    expect_400("{\"Job\":{\"Type\":\"weird\",\"Tasks\":[]}}", "invalid job type");
    expect_400("{\"Job\":{\"Type\":\"batch\",\"Tasks\":[]}}", "missing job tasks");
    expect_400(TASK_START "\"Engine\":{\"Type\":\"docker\",\"Params\":{}}}]}}", "Image");
    expect_400(TASK_START DOCKER ",\"EnvironmentVariables\":[\"BACALHAU_X=1\"]}}}]}}", "BACALHAU_");
    expect_400(TASK_START DOCKER
               "}},\"ResultPaths\":[{\"Name\":\"outputs\",\"Path\":\"/outputs\"}]}]}}",
               "publisher is required");
    expect_400(TASK_START DOCKER "}},\"Resources\":{\"Memory\":2048}}]}}", "Memory");
    expect_400(TASK_START DOCKER "}},\"Resources\":{\"CPU\":\"lots\"}}]}}", "CPU");
    expect_400(TASK_START DOCKER "}},\"Resources\":{\"GPU\":\"1.5\"}}]}}", "GPU");
    expect_400(TASK_START DOCKER "}},\"Network\":{\"Type\":\"HTTP\"}}]}}", "domain");
    expect_400("{\"Job\":{\"Type\":\"batch\",\"Labels\":{\"-bad\":\"x\"},\"Tasks\":[{\"Name\":"
               "\"main\"," DOCKER "}}}]}}",
               "invalid label");
    json_t *reply = NULL;
    assert_int_equal(http(&MAIN_FAKE, "PUT", "/api/v1/orchestrator/jobs",
                          TASK_START DOCKER "}},\"Resources\":{\"CPU\":\"500m\",\"Memory\":"
                                            "\"2gb\",\"GPU\":\"1\"}}]}}",
                          &reply),
                     200);
    assert_true(strncmp(json_string_value(json_object_get(reply, "JobID")), "j-", 2) == 0);
    json_decref(reply);
}

int main(void)
{
    lp_log_set_level(LP_LOG_DEBUG);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    strcpy(tmp, "/tmp/lp-test-bacalhau-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    char inputs[128];
    snprintf(inputs, sizeof inputs, "%s/inputs", tmp);
    mkdir(inputs, 0755);
    real_stderr = dup(2);
    if (real_stderr < 0 || pipe(log_pipe) != 0 || dup2(log_pipe[1], 2) < 0)
        return 1;
    close(log_pipe[1]);
    pthread_create(&log_thread, NULL, log_pump, NULL);

    int failed = 1;
    if (fake_start(&MAIN_FAKE, "main", NULL) != 0) {
        const char *require = getenv("LILYPAD_REQUIRE_PEERS");
        printf("%s: fake_bacalhau (%s) did not start on 127.0.0.1\n",
               require && strcmp(require, "1") == 0 ? "FAILED" : "skipped", LP_FAKE_BACALHAU);
        failed = require && strcmp(require, "1") == 0 ? 1 : 0;
        lp_tests_skipped += !failed;
        goto out;
    }

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_job_document),
        cmocka_unit_test(test_network_kinds),
        cmocka_unit_test(test_reserved_env_refused),
        cmocka_unit_test(test_states_and_results),
        cmocka_unit_test(test_truncated_stdout_from_tarball),
        cmocka_unit_test(test_integer_states),
        cmocka_unit_test(test_failed_execution),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_stopped_elsewhere_is_cancelled),
        cmocka_unit_test(test_client_side_timeout),
        cmocka_unit_test(test_no_host_rewrite_fails),
        cmocka_unit_test(test_hostile_results_refused),
        cmocka_unit_test(test_result_cap),
        cmocka_unit_test(test_gpu_job_refused_without_gpus),
        cmocka_unit_test(test_unreachable_probe),
        cmocka_unit_test(test_fake_validates_jobs),
        cmocka_unit_test(test_reclaim),
        cmocka_unit_test(test_lost_server),
        cmocka_unit_test(test_auth_token),
    };
    failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
out:
    /* give stderr back, and end the pump */
    dup2(real_stderr, 2);
    pthread_join(log_thread, NULL);
    free(log_text);
    lp_fs_remove_tree(tmp);
    curl_global_cleanup();
    return lp_tests_exit_status(failed);
}
