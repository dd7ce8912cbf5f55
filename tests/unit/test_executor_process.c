/* executor/process through its plugin ABI, on the cowsay example image built by
 * scripts/build-example-images.sh: a real bubblewrap sandbox for every case (stdout, exit
 * codes, timeout, cancel, no network, read-only /inputs, /outputs, memory limit, output cap,
 * release), and the ABI 1.1 ops (describe against this machine's cgroups, wait with and
 * without other threads cancelling or releasing the job, logs_from following a running job,
 * the OOM flag, peak memory and CPU time), directly and through the core's dispatch layer.
 * Needs /usr/bin/bwrap and busybox-static; fails with the install hint without them. Cases
 * that need a writable cgroup skip, saying so, on a machine without one; the process limit
 * skips where nothing can enforce it (no writable pids cgroup, and root). */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <lilypad/executor.h>

#include "config/config.h"
#include "dispatch/executor.h"
#include "host/host.h"
#include "image/fs_tree.h"
#include "image/store.h"
#include "loader/backend.h"

#include "skip_reason.h"

const struct lp_plugin *lp_plugin_descriptor_executor_process(void);

#define IMAGE "lilypad-example/cowsay:v1"

static char tmp[64];

struct exe {
    struct lp_config *cfg;
    struct lp_config_values *values;
    struct lp_host_binding host;
    const struct lp_executor_ops *ops;
    void *inst;
};

static struct exe E;

/* The plugin logs, per job, which mechanism enforces its limits ("limits by cgroup v1 (memory
 * pids cpu)" or "limits by rlimits (no writable cgroup)"); the last such line, for the tests
 * whose limit only some machines can enforce. */
static char last_limits[256];
static void (*host_log)(const struct lp_host *host, int level, const char *fmt, ...);

static void record_limits_log(const struct lp_host *host, int level, const char *fmt, ...)
    LP_PRINTF(3, 4);
static void record_limits_log(const struct lp_host *host, int level, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const char *by = strstr(text, "limits by ");
    if (by != NULL)
        snprintf(last_limits, sizeof last_limits, "%s", by);
    host_log(host, level, "%s", text);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int group_setup(void **state)
{
    (void)state;
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        fprintf(stderr, "test_executor_process: /usr/bin/bwrap is missing; install it with "
                        "`apt-get install bubblewrap` (scripts/install-deps.sh)\n");
        return -1;
    }
    strcpy(tmp, "/tmp/lp-test-exec-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "'%s/scripts/build-example-images.sh' '%s/images-out' --no-import >/dev/null",
             LP_SOURCE_DIR, tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_executor_process: building the example images failed (needs "
                        "busybox-static and tar)\n");
        return -1;
    }
    struct lp_image_store store;
    char err[1024], dir[128], file[128];
    snprintf(dir, sizeof dir, "%s/images", tmp);
    struct lp_image_import_result *res = calloc(1, sizeof *res);
    if (res == NULL || lp_image_store_open(&store, dir, err, sizeof err) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof file, "%s/images-out/%s.tar", tmp, i ? "wordcount" : "cowsay");
        if (lp_image_import(&store, file, NULL, res, err, sizeof err) != 0) {
            fprintf(stderr, "test_executor_process: import: %s\n", err);
            free(res);
            return -1;
        }
    }
    free(res);

    const struct lp_plugin *p = lp_plugin_descriptor_executor_process();
    char text[512];
    snprintf(text, sizeof text,
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/jobs\"; "
             "kill_grace = \"200ms\"; }; };",
             tmp, tmp);
    if (lp_config_load_string(text, "test.cfg", &E.cfg, err, sizeof err) != 0 ||
        lp_config_apply_schema(E.cfg, "executor.process", p->config_schema, p->config_size, NULL,
                               &E.values, err, sizeof err) != 0) {
        fprintf(stderr, "test_executor_process: config: %s\n", err);
        return -1;
    }
    lp_host_bind(&E.host, "executor", "process", E.cfg, "none");
    host_log = E.host.host.log;
    E.host.host.log = record_limits_log;
    E.ops = p->ops;
    char reason[256];
    if (E.ops->life.probe(&E.host.host, lp_config_values_data(E.values), reason, sizeof reason) !=
        LP_OK) {
        fprintf(stderr, "test_executor_process: probe: %s\n", reason);
        return -1;
    }
    return E.ops->life.create(&E.host.host, lp_config_values_data(E.values), &E.inst) == LP_OK ? 0
                                                                                               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (E.inst)
        E.ops->life.destroy(E.inst);
    lp_config_values_free(E.values);
    lp_config_free(E.cfg);
    lp_fs_remove_tree(tmp);
    return 0;
}

/* ---- running a job -------------------------------------------------------------------------- */
struct buf {
    char data[16384];
    size_t len;
};

static int collect(void *arg, const void *data, size_t len)
{
    struct buf *b = arg;
    size_t room = sizeof b->data - 1 - b->len;
    if (len > room)
        len = room;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

struct run {
    struct lp_job_handle h;
    struct lp_job_status st;
    struct buf out, err;
    uint64_t ms;
    double exit_ms; /* submit to the poll that saw the end */
};

static void submit(struct lp_job_handle *h, const char *const *argv, size_t argc,
                   const char *inputs, const char *outputs, const struct lp_job_limits *limits)
{
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = IMAGE, .entrypoint = argv, .entrypoint_count = argc};
    struct lp_job_limits none = {.struct_size = sizeof none};
    int rc = E.ops->submit(E.inst, &spec, inputs, outputs, limits ? limits : &none, h);
    if (rc != LP_OK)
        fail_msg("submit: %s", E.ops->life.last_error(E.inst));
}

static void wait_done(const struct lp_job_handle *h, struct lp_job_status *st, uint64_t max_ms)
{
    uint64_t t0 = now_ms();
    for (;;) {
        memset(st, 0, sizeof *st);
        st->struct_size = sizeof *st;
        assert_int_equal(E.ops->poll(E.inst, h, st), LP_OK);
        if (st->state != LP_JOB_PENDING && st->state != LP_JOB_RUNNING)
            return;
        if (now_ms() - t0 > max_ms)
            fail_msg("job %s still running after %llu ms", h->id, (unsigned long long)max_ms);
        usleep(2000);
    }
}

/* Runs `sh -c script` (or argv when script is NULL) to the end and releases it. */
static void run_sh(struct run *r, const char *script, const char *inputs, const char *outputs,
                   const struct lp_job_limits *limits)
{
    memset(r, 0, sizeof *r);
    const char *argv[] = {"/bin/sh", "-c", script};
    uint64_t t0 = now_ms();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    submit(&r->h, argv, 3, inputs, outputs, limits);
    wait_done(&r->h, &r->st, 30000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    r->exit_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    r->ms = now_ms() - t0;
    assert_int_equal(E.ops->logs(E.inst, &r->h, LP_STREAM_STDOUT, collect, &r->out), LP_OK);
    assert_int_equal(E.ops->logs(E.inst, &r->h, LP_STREAM_STDERR, collect, &r->err), LP_OK);
    assert_int_equal(E.ops->release(E.inst, &r->h), LP_OK);
}

static void make_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmp, name);
    lp_fs_remove_tree(out);
    assert_int_equal(lp_fs_mkdir_p(out, 0755), 0);
}

/* ---- cases -------------------------------------------------------------------------------- */
static void test_cowsay_stdout(void **state)
{
    (void)state;
    const char *argv[] = {"/usr/local/bin/cowsay", "hello from the sandbox"};
    struct run r = {0};
    submit(&r.h, argv, 2, NULL, NULL, NULL);
    wait_done(&r.h, &r.st, 30000);
    assert_int_equal(E.ops->logs(E.inst, &r.h, LP_STREAM_STDOUT, collect, &r.out), LP_OK);
    if (r.st.state != LP_JOB_EXITED || r.st.exit_code != 0)
        fail_msg("state %u exit %d: %s", r.st.state, r.st.exit_code, r.st.message);
    assert_non_null(strstr(r.out.data, "< hello from the sandbox >"));
    assert_non_null(strstr(r.out.data, "(oo)"));
    assert_true(r.st.started_ns > 0 && r.st.finished_ns >= r.st.started_ns);
    assert_int_equal(E.ops->release(E.inst, &r.h), LP_OK);
}

static void test_env_and_defaults(void **state)
{
    (void)state;
    /* The job's env replaces the image's; nothing of the test's environment leaks in. */
    setenv("LP_TEST_SECRET", "leak", 1);
    struct lp_job_spec spec = {.struct_size = sizeof spec, .image = IMAGE};
    const char *argv[] = {"/bin/sh", "-c", "echo M=$MESSAGE P=$PATH S=$LP_TEST_SECRET; pwd"};
    const char *env[] = {"MESSAGE=moo"};
    spec.entrypoint = argv;
    spec.entrypoint_count = 3;
    spec.env = env;
    spec.env_count = 1;
    spec.workdir = "/tmp";
    struct lp_job_limits none = {.struct_size = sizeof none};
    struct run r = {0};
    assert_int_equal(E.ops->submit(E.inst, &spec, NULL, NULL, &none, &r.h), LP_OK);
    wait_done(&r.h, &r.st, 30000);
    E.ops->logs(E.inst, &r.h, LP_STREAM_STDOUT, collect, &r.out);
    assert_non_null(strstr(r.out.data, "M=moo P=/usr/local/bin:/usr/bin:/bin S=\n/tmp\n"));
    E.ops->release(E.inst, &r.h);

    /* No entrypoint in the spec: the image's (cowsay, reading empty stdin). */
    spec.entrypoint_count = 0;
    spec.env_count = 0;
    spec.workdir = NULL;
    memset(&r, 0, sizeof r);
    assert_int_equal(E.ops->submit(E.inst, &spec, NULL, NULL, &none, &r.h), LP_OK);
    wait_done(&r.h, &r.st, 30000);
    E.ops->logs(E.inst, &r.h, LP_STREAM_STDOUT, collect, &r.out);
    assert_int_equal(r.st.exit_code, 0);
    assert_non_null(strstr(r.out.data, "(oo)"));
    E.ops->release(E.inst, &r.h);
}

static void test_nonzero_exit(void **state)
{
    (void)state;
    struct run r;
    run_sh(&r, "echo going wrong >&2; exit 3", NULL, NULL, NULL);
    assert_int_equal(r.st.state, LP_JOB_EXITED);
    assert_int_equal(r.st.exit_code, 3);
    assert_non_null(strstr(r.err.data, "going wrong"));
    assert_non_null(strstr(r.st.message, "status 3"));
}

static void test_missing_image_and_bad_env(void **state)
{
    (void)state;
    struct lp_job_spec spec = {.struct_size = sizeof spec, .image = "nope/missing:v9"};
    const char *argv[] = {"/bin/true"};
    spec.entrypoint = argv;
    spec.entrypoint_count = 1;
    struct lp_job_handle h;
    assert_int_equal(E.ops->submit(E.inst, &spec, NULL, NULL, NULL, &h), LP_EINVAL);
    assert_non_null(strstr(E.ops->life.last_error(E.inst), "not in the store"));
    spec.image = IMAGE;
    const char *env[] = {"NOEQUALS"};
    spec.env = env;
    spec.env_count = 1;
    assert_int_equal(E.ops->submit(E.inst, &spec, NULL, NULL, NULL, &h), LP_EINVAL);
    assert_non_null(strstr(E.ops->life.last_error(E.inst), "KEY=VALUE"));
    spec.env_count = 0;
    assert_int_equal(E.ops->submit(E.inst, &spec, "relative/dir", NULL, NULL, &h), LP_EINVAL);
}

static void test_timeout(void **state)
{
    (void)state;
    struct lp_job_limits l = {.struct_size = sizeof l, .timeout_ms = 300};
    struct run r;
    run_sh(&r, "echo started; sleep 30; echo never", NULL, NULL, &l);
    assert_int_equal(r.st.state, LP_JOB_TIMED_OUT);
    assert_true(r.ms < 5000);
    assert_non_null(strstr(r.out.data, "started"));
    assert_null(strstr(r.out.data, "never"));
}

static void test_cancel(void **state)
{
    (void)state;
    struct run r = {0};
    const char *argv[] = {"/bin/sh", "-c", "sleep 30"};
    submit(&r.h, argv, 3, NULL, NULL, NULL);
    usleep(100000);
    uint64_t t0 = now_ms();
    assert_int_equal(E.ops->cancel(E.inst, &r.h), LP_OK);
    wait_done(&r.h, &r.st, 10000);
    assert_int_equal(r.st.state, LP_JOB_CANCELLED);
    assert_true(now_ms() - t0 < 5000);
    assert_int_equal(E.ops->release(E.inst, &r.h), LP_OK);
}

/* Accepts and closes connections until the listener is shut down. */
static void *accept_loop(void *arg)
{
    int s = *(int *)arg, c;
    while ((c = accept(s, NULL, NULL)) >= 0)
        close(c);
    return NULL;
}

/* A listener on the host's loopback: reachable only when the job has the network. */
static void test_no_network(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 8), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, accept_loop, &s), 0);
    char script[512];
    snprintf(script, sizeof script,
             "if echo x | nc -w 1 127.0.0.1 %d; then echo CONNECTED; else echo REFUSED; fi; "
             "echo IFACES $(tail -n +3 /proc/net/dev | cut -d: -f1)",
             ntohs(a.sin_port));
    struct run r;
    run_sh(&r, script, NULL, NULL, NULL);
    assert_non_null(strstr(r.out.data, "REFUSED"));
    assert_non_null(strstr(r.out.data, "IFACES lo\n"));
    /* With limits->network, where this machine can give it, the job has a way out (tap0) but
     * the host's loopback stays out of reach: its network is outbound only (what it can reach
     * is tests/security/test_network.c's business). */
    struct lp_executor_info info = {.struct_size = sizeof info};
    assert_int_equal(E.ops->describe(E.inst, &info), LP_OK);
    if (info.attach & LP_EXEC_ATTACH_NETWORK) {
        struct lp_job_limits l = {.struct_size = sizeof l, .network = true};
        run_sh(&r, script, NULL, NULL, &l);
        assert_non_null(strstr(r.out.data, "REFUSED"));
        assert_non_null(strstr(r.out.data, "IFACES lo tap0\n"));
    }
    shutdown(s, SHUT_RDWR);
    pthread_join(t, NULL);
    close(s);
}

static void test_inputs_readonly_outputs_written(void **state)
{
    (void)state;
    char in[128], out[128], path[256];
    make_dir(in, sizeof in, "in");
    make_dir(out, sizeof out, "out");
    snprintf(path, sizeof path, "%s/words.txt", in);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("one two three\n", f);
    fclose(f);
    struct run r;
    run_sh(&r,
           "cat /inputs/words.txt; if echo x > /inputs/new 2>/dev/null; then echo WROTE-IN; fi; "
           "if echo x > /etc/new 2>/dev/null; then echo WROTE-ROOT; fi; "
           "wc -w < /inputs/words.txt > /outputs/count.txt",
           in, out, NULL);
    assert_int_equal(r.st.exit_code, 0);
    assert_non_null(strstr(r.out.data, "one two three"));
    assert_null(strstr(r.out.data, "WROTE-IN"));
    snprintf(path, sizeof path, "%s/new", in);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/count.txt", out);
    f = fopen(path, "r");
    assert_non_null(f);
    char line[32] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_int_equal(atoi(line), 3);
}

/* The wordcount example module as its template runs it: image entrypoint, LABEL env. */
static void test_wordcount_module(void **state)
{
    (void)state;
    char in[128], out[128], path[256];
    make_dir(in, sizeof in, "wc-in");
    make_dir(out, sizeof out, "wc-out");
    const char *texts[] = {"a.txt", "one two three\nfour\n", "b.txt", "five six"};
    for (int i = 0; i < 4; i += 2) {
        snprintf(path, sizeof path, "%s/%s", in, texts[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(texts[i + 1], f);
        fclose(f);
    }
    const char *argv[] = {"/usr/local/bin/wordcount"};
    const char *env[] = {"LABEL=books"};
    struct lp_job_spec spec = {.struct_size = sizeof spec,
                               .image = "lilypad-example/wordcount:v1",
                               .entrypoint = argv,
                               .entrypoint_count = 1,
                               .env = env,
                               .env_count = 1};
    struct run r = {0};
    assert_int_equal(E.ops->submit(E.inst, &spec, in, out, NULL, &r.h), LP_OK);
    wait_done(&r.h, &r.st, 30000);
    E.ops->logs(E.inst, &r.h, LP_STREAM_STDOUT, collect, &r.out);
    E.ops->logs(E.inst, &r.h, LP_STREAM_STDERR, collect, &r.err);
    if (r.st.exit_code != 0)
        fail_msg("wordcount: %d %s / %s", r.st.exit_code, r.st.message, r.err.data);
    assert_non_null(strstr(r.out.data, "books: 2 file(s), 6 word(s)"));
    E.ops->release(E.inst, &r.h);
    snprintf(path, sizeof path, "%s/counts.txt", out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[256] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_string_equal(text, "4 a.txt\n2 b.txt\n6 total\n");
}

static void test_writable_root_is_per_job(void **state)
{
    (void)state;
    struct run r;
    run_sh(&r, "echo mine > /etc/job-file && cat /etc/job-file", NULL, NULL, NULL);
    assert_int_equal(r.st.exit_code, 0);
    run_sh(&r, "cat /etc/job-file 2>/dev/null || echo ABSENT", NULL, NULL, NULL);
    assert_non_null(strstr(r.out.data, "ABSENT"));
}

/* awk doubles a string to 64 MiB: fine without a limit, killed (or refused) under 16 MiB. */
static void test_memory_limit(void **state)
{
    (void)state;
    const char *script = "awk 'BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; "
                         "print \"LEN\", length(s) }'";
    struct run r;
    run_sh(&r, script, NULL, NULL, NULL);
    assert_int_equal(r.st.exit_code, 0);
    assert_non_null(strstr(r.out.data, "LEN 67108864"));
    struct lp_job_limits l = {.struct_size = sizeof l, .memory_bytes = 16u << 20};
    run_sh(&r, script, NULL, NULL, &l);
    assert_int_equal(r.st.state, LP_JOB_EXITED);
    assert_int_not_equal(r.st.exit_code, 0);
    assert_null(strstr(r.out.data, "LEN"));
}

/* The fallbacks: no cgroup (rlimits) and a copied rootfs, on a second instance. */
static void test_rlimit_fallback_and_copy_rootfs(void **state)
{
    (void)state;
    const struct lp_plugin *p = lp_plugin_descriptor_executor_process();
    char text[512], err[512];
    snprintf(text, sizeof text,
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/jobs2\"; "
             "cgroup = \"none\"; rootfs = \"copy\"; }; };",
             tmp, tmp);
    struct exe saved = E, alt = {0};
    assert_int_equal(lp_config_load_string(text, "alt.cfg", &alt.cfg, err, sizeof err), 0);
    assert_int_equal(lp_config_apply_schema(alt.cfg, "executor.process", p->config_schema,
                                            p->config_size, NULL, &alt.values, err, sizeof err),
                     0);
    lp_host_bind(&alt.host, "executor", "process", alt.cfg, "none");
    alt.ops = p->ops;
    assert_int_equal(
        alt.ops->life.create(&alt.host.host, lp_config_values_data(alt.values), &alt.inst), LP_OK);
    E = alt;
    struct lp_job_limits l = {.struct_size = sizeof l, .memory_bytes = 16u << 20};
    struct run r;
    run_sh(&r,
           "awk 'BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; print \"LEN\", "
           "length(s) }'; echo x > /etc/copied && echo ROOT-WRITABLE",
           NULL, NULL, &l);
    assert_null(strstr(r.out.data, "LEN"));
    assert_non_null(strstr(r.out.data, "ROOT-WRITABLE"));
    run_sh(&r, "cat /etc/copied 2>/dev/null || echo ABSENT", NULL, NULL, NULL);
    assert_non_null(strstr(r.out.data, "ABSENT"));
    E = saved;
    alt.ops->life.destroy(alt.inst);
    lp_config_values_free(alt.values);
    lp_config_free(alt.cfg);
    /* Unknown settings are refused at create. */
    snprintf(text, sizeof text, "executor: { process: { rootfs = \"zfs\"; }; };");
    assert_int_equal(lp_config_load_string(text, "bad.cfg", &alt.cfg, err, sizeof err), 0);
    assert_int_equal(lp_config_apply_schema(alt.cfg, "executor.process", p->config_schema,
                                            p->config_size, NULL, &alt.values, err, sizeof err),
                     0);
    lp_host_bind(&alt.host, "executor", "process", alt.cfg, "none");
    assert_int_equal(
        alt.ops->life.create(&alt.host.host, lp_config_values_data(alt.values), &alt.inst),
        LP_EINVAL);
    lp_config_values_free(alt.values);
    lp_config_free(alt.cfg);
}

static void test_output_cap(void **state)
{
    (void)state;
    char out[128];
    make_dir(out, sizeof out, "out-cap");
    struct lp_job_limits l = {.struct_size = sizeof l, .disk_bytes = 64 * 1024};
    struct run r;
    run_sh(&r, "head -c 1048576 /dev/zero > /outputs/big; echo done", NULL, out, &l);
    assert_false(r.st.state == LP_JOB_EXITED && r.st.exit_code == 0);
}

static void test_pids_limit(void **state)
{
    (void)state;
    /* 40 background sleepers: fine without a limit; with 8 processes forks must fail. */
    const char *script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 "
                         "24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40; do sleep 1 & "
                         "done; wait; echo END";
    struct run r;
    run_sh(&r, script, NULL, NULL, NULL);
    assert_null(strstr(r.err.data, "fork"));
    struct lp_job_limits l = {.struct_size = sizeof l, .max_pids = 8};
    last_limits[0] = '\0';
    run_sh(&r, script, NULL, NULL, &l);
    /* Without a pids cgroup the plugin falls back to RLIMIT_NPROC, which the kernel ignores
     * for root (plugins/executor/process/README.md): nothing here can enforce the limit. */
    if (last_limits[0] == '\0')
        fail_msg("the job logged no \"limits by\" line");
    if (strstr(last_limits, "pids") == NULL && geteuid() == 0)
        lp_skip_because("max_pids cannot be enforced on this machine: the job ran with %s, and "
                        "RLIMIT_NPROC does not apply to root",
                        last_limits);
    if (strstr(r.err.data, "fork") == NULL)
        fail_msg("40 processes started under max_pids 8; stderr: %s", r.err.data);
}

static void test_release_removes_files(void **state)
{
    (void)state;
    struct run r = {0};
    const char *argv[] = {"/bin/sh", "-c", "echo x"};
    submit(&r.h, argv, 3, NULL, NULL, NULL);
    wait_done(&r.h, &r.st, 30000);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/jobs/%s", tmp, r.h.id);
    assert_int_equal(access(dir, F_OK), 0);
    assert_int_equal(E.ops->release(E.inst, &r.h), LP_OK);
    assert_int_not_equal(access(dir, F_OK), 0);
    r.st.struct_size = sizeof r.st;
    assert_int_equal(E.ops->poll(E.inst, &r.h, &r.st), LP_EINVAL);
    assert_int_equal(E.ops->release(E.inst, &r.h), LP_EINVAL);
    /* Releasing a running job stops it and removes it too. */
    const char *slow[] = {"/bin/sh", "-c", "sleep 30"};
    submit(&r.h, slow, 3, NULL, NULL, NULL);
    snprintf(dir, sizeof dir, "%s/jobs/%s", tmp, r.h.id);
    uint64_t t0 = now_ms();
    assert_int_equal(E.ops->release(E.inst, &r.h), LP_OK);
    assert_true(now_ms() - t0 < 5000);
    assert_int_not_equal(access(dir, F_OK), 0);
}

/* Submit-to-exit of a trivial job, printed for the table. */
static void test_startup_time(void **state)
{
    (void)state;
    enum { N = 20 };
    double total = 0, best = 1e18, total_rel = 0;
    for (int i = 0; i < N; i++) {
        struct run r;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        run_sh(&r, "true", NULL, NULL, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_int_equal(r.st.exit_code, 0);
        double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        total += r.exit_ms;
        total_rel += ms;
        if (r.exit_ms < best)
            best = r.exit_ms;
    }
    printf("executor/process: trivial job (sh -c true): submit-to-exit mean %.1f ms, best %.1f "
           "ms; with logs and release %.1f ms (%d runs)\n",
           total / N, best, total_rel / N, N);
}

/* ---- ABI 1.1 ------------------------------------------------------------------------------ */

/* A second instance of the plugin whose group adds `settings` to the shared store. */
static void open_instance(struct exe *x, const char *jobs, const char *settings)
{
    const struct lp_plugin *p = lp_plugin_descriptor_executor_process();
    char text[768], err[512];
    snprintf(text, sizeof text,
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/%s\"; "
             "kill_grace = \"200ms\"; %s }; };",
             tmp, tmp, jobs, settings);
    memset(x, 0, sizeof *x);
    if (lp_config_load_string(text, "alt.cfg", &x->cfg, err, sizeof err) != 0 ||
        lp_config_apply_schema(x->cfg, "executor.process", p->config_schema, p->config_size, NULL,
                               &x->values, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    lp_host_bind(&x->host, "executor", "process", x->cfg, "none");
    x->ops = p->ops;
    assert_int_equal(x->ops->life.create(&x->host.host, lp_config_values_data(x->values), &x->inst),
                     LP_OK);
}

static void close_instance(struct exe *x)
{
    x->ops->life.destroy(x->inst);
    lp_config_values_free(x->values);
    lp_config_free(x->cfg);
}

/* The group's instance while a test runs on a second one (use_instance), and that one: static,
 * as the plugin keeps a pointer to the host binding inside it. */
static struct exe main_instance, second_instance;

/* Runs the rest of the test on a second instance; close_second_instance, the teardown of
 * such tests, closes it and restores the first even when the test fails half-way. */
static void use_instance(const char *jobs, const char *settings)
{
    open_instance(&second_instance, jobs, settings);
    main_instance = E;
    E = second_instance;
}

static int close_second_instance(void **state)
{
    (void)state;
    if (second_instance.inst != NULL) {
        close_instance(&second_instance);
        memset(&second_instance, 0, sizeof second_instance);
        E = main_instance;
    }
    return 0;
}

static void describe(const struct exe *x, struct lp_executor_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    assert_int_equal(x->ops->describe(x->inst, info), LP_OK);
}

/* Writes value to dir/file; 0 on success. */
static int write_value(const char *dir, const char *file, const char *value)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = fputs(value, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The limits this machine's cgroups let a job have, found without the plugin's code: on v1, a
 * cgroup made by hand in each hierarchy with a limit written to it; on v2, the controllers
 * enabled where the plugin makes its jobs' cgroups (which it has tried to enable by now). */
static uint32_t machine_cgroup_limits(void)
{
    if (geteuid() != 0)
        return 0;
    uint32_t got = 0;
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        char line[256] = "";
        FILE *f = fopen("/sys/fs/cgroup/lilypad/cgroup.subtree_control", "r");
        if (f != NULL) {
            if (fgets(line, sizeof line, f) == NULL)
                line[0] = '\0';
            fclose(f);
        }
        for (char *save = NULL, *w = strtok_r(line, " \n", &save); w != NULL;
             w = strtok_r(NULL, " \n", &save)) {
            got |= strcmp(w, "memory") == 0 ? LP_EXEC_LIMIT_MEMORY : 0;
            got |= strcmp(w, "pids") == 0 ? LP_EXEC_LIMIT_PIDS : 0;
            got |= strcmp(w, "cpu") == 0 ? LP_EXEC_LIMIT_CPU : 0;
        }
        return got;
    }
    static const struct {
        const char *controller, *file, *value;
        uint32_t flag;
    } v1[] = {
        {"memory", "memory.limit_in_bytes", "67108864", LP_EXEC_LIMIT_MEMORY},
        {"pids", "pids.max", "64", LP_EXEC_LIMIT_PIDS},
        {"cpu", "cpu.cfs_quota_us", "100000", LP_EXEC_LIMIT_CPU},
    };
    for (size_t i = 0; i < sizeof v1 / sizeof v1[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s/lp-test-%ld", v1[i].controller,
                 (long)getpid());
        if (mkdir(dir, 0755) != 0)
            continue;
        if (write_value(dir, v1[i].file, v1[i].value) == 0)
            got |= v1[i].flag;
        rmdir(dir);
    }
    return got;
}

/* This machine's cgroups can measure CPU time (v2's cpu.stat, or a writable v1 cpuacct). */
static bool machine_cgroup_cpu_time(void)
{
    return geteuid() == 0 && (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ||
                              access("/sys/fs/cgroup/cpuacct", W_OK) == 0);
}

static void test_describe(void **state)
{
    (void)state;
    struct lp_executor_info info;
    describe(&E, &info);
    printf("executor/process: describe: attach 0x%x, enforces 0x%x, runtime \"%s\"\n", info.attach,
           info.enforces, info.runtime);
    assert_int_equal(info.struct_size, sizeof info);
    /* Network, outbound only, where this machine can give it: no GPU passthrough yet. */
    const uint32_t net = LP_EXEC_ATTACH_NETWORK | LP_EXEC_ATTACH_EGRESS;
    assert_true(info.attach == net || info.attach == 0);
    uint32_t attach = info.attach;
    uint32_t cgroup_limits = machine_cgroup_limits();
    assert_int_equal(info.enforces, LP_EXEC_LIMIT_DISK | LP_EXEC_LIMIT_TIMEOUT | cgroup_limits);

    /* The runtime names bubblewrap's own version and how limits are enforced. */
    char version[128] = "";
    FILE *f = popen("/usr/bin/bwrap --version", "r");
    assert_non_null(f);
    if (fgets(version, sizeof version, f) == NULL)
        version[0] = '\0';
    pclose(f);
    version[strcspn(version, "\n")] = '\0';
    assert_true(strncmp(version, "bubblewrap ", 11) == 0);
    assert_true(strncmp(info.runtime, version, strlen(version)) == 0);
    /* ", cgroup v1 (memory pids cpu)", naming what the machine allows. */
    int v = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? 2 : 1;
    char how[96];
    snprintf(how, sizeof how, ", cgroup v%d (", v);
    static const struct {
        uint32_t flag;
        const char *name;
    } names[] = {
        {LP_EXEC_LIMIT_MEMORY, "memory"}, {LP_EXEC_LIMIT_PIDS, "pids"}, {LP_EXEC_LIMIT_CPU, "cpu"}};
    for (size_t i = 0, n = 0; i < 3; i++)
        if (cgroup_limits & names[i].flag)
            snprintf(how + strlen(how), sizeof how - strlen(how), "%s%s", n++ ? " " : "",
                     names[i].name);
    snprintf(how + strlen(how), sizeof how - strlen(how), ")");
    const char *rest = info.runtime + strlen(version);
    /* ... then what a job asking for network gets ("egress by slirp4netns"). */
    if (cgroup_limits != 0)
        assert_true(strncmp(rest, how, strlen(how)) == 0);
    else if (strncmp(rest, ", rlimits (no writable cgroup)", 30) != 0) {
        /* A cgroup without those controllers still measures the job. */
        snprintf(how, sizeof how, ", cgroup v%d (accounting only)", v);
        assert_true(strncmp(rest, how, strlen(how)) == 0);
    }

    /* A caller that knows fewer members gets no more than it asked for. */
    memset(&info, 'Z', sizeof info);
    info.struct_size = (uint32_t)offsetof(struct lp_executor_info, runtime);
    assert_int_equal(E.ops->describe(E.inst, &info), LP_OK);
    assert_int_equal(info.struct_size, offsetof(struct lp_executor_info, runtime));
    assert_int_equal(info.attach, attach);
    assert_int_equal(info.runtime[0], 'Z');

    /* cgroup = "none": only what the monitor thread enforces itself. */
    struct exe alt;
    open_instance(&alt, "jobs-none", "cgroup = \"none\";");
    describe(&alt, &info);
    assert_int_equal(info.enforces, LP_EXEC_LIMIT_DISK | LP_EXEC_LIMIT_TIMEOUT);
    assert_non_null(strstr(info.runtime, "rlimits (cgroup = \"none\")"));
    close_instance(&alt);
}

/* Empty work_dir and image_store: under the data directory the host hands the plugin, not one
 * the plugin works out for itself (the environment changes between binding and create here,
 * so the two would differ). */
static void test_data_dir_defaults(void **state)
{
    (void)state;
    char bound[128], later[128], path[256];
    snprintf(bound, sizeof bound, "%s/home-bound", tmp);
    snprintf(later, sizeof later, "%s/home-later", tmp);
    const char *saved = getenv("LILYPAD_HOME");
    char *saved_copy = saved ? strdup(saved) : NULL;
    setenv("LILYPAD_HOME", bound, 1);
    const struct lp_plugin *p = lp_plugin_descriptor_executor_process();
    struct exe x = {0};
    char err[512];
    assert_int_equal(
        lp_config_load_string("executor: { process: { }; };", "home.cfg", &x.cfg, err, sizeof err),
        0);
    assert_int_equal(lp_config_apply_schema(x.cfg, "executor.process", p->config_schema,
                                            p->config_size, NULL, &x.values, err, sizeof err),
                     0);
    lp_host_bind(&x.host, "executor", "process", x.cfg, "none");
    setenv("LILYPAD_HOME", later, 1);
    x.ops = p->ops;
    int rc = x.ops->life.create(&x.host.host, lp_config_values_data(x.values), &x.inst);
    if (saved_copy != NULL)
        setenv("LILYPAD_HOME", saved_copy, 1);
    else
        unsetenv("LILYPAD_HOME");
    free(saved_copy);
    assert_int_equal(rc, LP_OK);
    snprintf(path, sizeof path, "%s/jobs", bound);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/images/refs", bound);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_not_equal(access(later, F_OK), 0);
    /* The store it opened is the bound one (made above), and an image is looked for there;
     * the error a caller may pass on names it without the host's path. */
    const char *argv[] = {"/bin/true"};
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = IMAGE, .entrypoint = argv, .entrypoint_count = 1};
    struct lp_job_handle h;
    assert_int_equal(x.ops->submit(x.inst, &spec, NULL, NULL, NULL, &h), LP_EINVAL);
    assert_non_null(strstr(x.ops->life.last_error(x.inst), "is not in the store <images>"));
    assert_null(strstr(x.ops->life.last_error(x.inst), bound));
    close_instance(&x);
}

static void status_init(struct lp_job_status *st)
{
    memset(st, 0, sizeof *st);
    st->struct_size = sizeof *st;
}

static void test_wait_returns_when_the_job_ends_or_at_the_timeout(void **state)
{
    (void)state;
    struct lp_job_handle h;
    struct lp_job_status st;
    const char *quick[] = {"/bin/sh", "-c", "sleep 0.3; echo done"};
    submit(&h, quick, 3, NULL, NULL, NULL);
    uint64_t t0 = now_ms();
    status_init(&st);
    assert_int_equal(E.ops->wait(E.inst, &h, 20000, &st), LP_OK);
    uint64_t ms = now_ms() - t0;
    assert_int_equal(st.state, LP_JOB_EXITED);
    assert_int_equal(st.exit_code, 0);
    assert_int_equal(st.struct_size, sizeof st);
    if (ms < 250 || ms > 5000)
        fail_msg("wait returned after %llu ms for a 300 ms job", (unsigned long long)ms);
    /* Ended already: at once. */
    t0 = now_ms();
    assert_int_equal(E.ops->wait(E.inst, &h, 20000, &st), LP_OK);
    assert_true(now_ms() - t0 < 100);
    assert_int_equal(E.ops->release(E.inst, &h), LP_OK);

    const char *slow[] = {"/bin/sh", "-c", "sleep 30"};
    submit(&h, slow, 3, NULL, NULL, NULL);
    t0 = now_ms();
    status_init(&st);
    assert_int_equal(E.ops->wait(E.inst, &h, 300, &st), LP_OK);
    ms = now_ms() - t0;
    assert_int_equal(st.state, LP_JOB_RUNNING);
    if (ms < 299 || ms > 3000)
        fail_msg("wait with a 300 ms timeout returned after %llu ms", (unsigned long long)ms);
    t0 = now_ms();
    assert_int_equal(E.ops->wait(E.inst, &h, 0, &st), LP_OK);
    assert_int_equal(st.state, LP_JOB_RUNNING);
    assert_true(now_ms() - t0 < 100);
    /* A status struct too short for the 1.0 members is refused, not overrun. */
    st.struct_size = 8;
    assert_int_equal(E.ops->wait(E.inst, &h, 0, &st), LP_EINVAL);
    assert_non_null(strstr(E.ops->life.last_error(E.inst), "struct_size"));
    assert_int_equal(E.ops->release(E.inst, &h), LP_OK);
    status_init(&st);
    assert_int_equal(E.ops->wait(E.inst, &h, 100, &st), LP_EINVAL);
    assert_non_null(strstr(E.ops->life.last_error(E.inst), "no job"));
}

struct waiter {
    struct exe *x;
    struct lp_job_handle h;
    uint64_t timeout_ms;
    int rc;
    struct lp_job_status st;
    char error[512];
    uint64_t ms;
    pthread_t thread;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    status_init(&w->st);
    uint64_t t0 = now_ms();
    w->rc = w->x->ops->wait(w->x->inst, &w->h, w->timeout_ms, &w->st);
    w->ms = now_ms() - t0;
    if (w->rc != LP_OK)
        snprintf(w->error, sizeof w->error, "%s", w->x->ops->life.last_error(w->x->inst));
    return NULL;
}

static void start_waiter(struct waiter *w, const struct lp_job_handle *h)
{
    memset(w, 0, sizeof *w);
    w->x = &E;
    w->h = *h;
    w->timeout_ms = 20000;
    assert_int_equal(pthread_create(&w->thread, NULL, waiter_main, w), 0);
}

/* wait() is called without a lock (the plugin is thread-safe): cancel() and release() from
 * other threads while it sleeps. */
static void test_wait_with_cancel_and_release_from_other_threads(void **state)
{
    (void)state;
    const char *slow[] = {"/bin/sh", "-c", "sleep 30"};
    struct lp_job_handle h;
    struct waiter w[2];
    submit(&h, slow, 3, NULL, NULL, NULL);
    start_waiter(&w[0], &h);
    start_waiter(&w[1], &h);
    usleep(200000);
    uint64_t t0 = now_ms();
    assert_int_equal(E.ops->cancel(E.inst, &h), LP_OK);
    for (int i = 0; i < 2; i++) {
        pthread_join(w[i].thread, NULL);
        assert_int_equal(w[i].rc, LP_OK);
        assert_int_equal(w[i].st.state, LP_JOB_CANCELLED);
    }
    uint64_t ms = now_ms() - t0;
    if (ms > 5000)
        fail_msg("waiters returned %llu ms after cancel", (unsigned long long)ms);
    assert_int_equal(E.ops->release(E.inst, &h), LP_OK);

    /* Released while waited on: the waiter returns "released", never touches freed memory
     * (the ASan build checks), and each thread keeps its own last error. */
    struct lp_job_handle nope = {.id = "never-submitted"};
    struct lp_job_status st;
    status_init(&st);
    for (int delay_us = 0; delay_us <= 40000; delay_us = delay_us ? delay_us * 4 : 2500) {
        submit(&h, slow, 3, NULL, NULL, NULL);
        start_waiter(&w[0], &h);
        usleep((useconds_t)delay_us);
        assert_int_equal(E.ops->poll(E.inst, &nope, &st), LP_EINVAL);
        assert_int_equal(E.ops->release(E.inst, &h), LP_OK);
        pthread_join(w[0].thread, NULL);
        /* A waiter that had not found the job yet is told it does not exist. */
        assert_int_equal(w[0].rc, LP_EINVAL);
        if (strstr(w[0].error, "released while waited on") == NULL &&
            strstr(w[0].error, "no job") == NULL)
            fail_msg("waiter's error: %s", w[0].error);
        assert_true(w[0].ms < 5000);
        assert_non_null(strstr(E.ops->life.last_error(E.inst), "never-submitted"));
    }
}

/* Collects what logs_from delivers, checking each chunk against its offsets. */
struct follow {
    struct buf text;
    uint64_t offset;
    unsigned reads_while_running; /* calls that found new bytes before the job ended */
};

static void follow_once(struct follow *f, const struct lp_job_handle *h, int stream, bool running)
{
    size_t before = f->text.len;
    uint64_t next = UINT64_MAX;
    assert_int_equal(E.ops->logs_from(E.inst, h, stream, f->offset, collect, &f->text, &next),
                     LP_OK);
    /* No byte lost or repeated: the offset moves by exactly what was delivered. */
    assert_int_equal(next, f->offset + (f->text.len - before));
    if (running && f->text.len > before)
        f->reads_while_running++;
    f->offset = next;
}

static void test_logs_from_follows_a_running_job(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c",
                          "i=0; while [ $i -lt 30 ]; do echo line-$i; echo err-$i >&2; "
                          "i=$((i+1)); sleep 0.05; done"};
    char expect_out[1024] = "", expect_err[1024] = "";
    for (int i = 0; i < 30; i++) {
        snprintf(expect_out + strlen(expect_out), sizeof expect_out - strlen(expect_out),
                 "line-%d\n", i);
        snprintf(expect_err + strlen(expect_err), sizeof expect_err - strlen(expect_err),
                 "err-%d\n", i);
    }
    struct lp_job_handle h;
    struct lp_job_status st;
    submit(&h, argv, 3, NULL, NULL, NULL);
    struct follow out = {0}, err = {0};
    uint64_t t0 = now_ms();
    for (;;) {
        status_init(&st);
        assert_int_equal(E.ops->poll(E.inst, &h, &st), LP_OK);
        bool running = st.state == LP_JOB_RUNNING || st.state == LP_JOB_PENDING;
        follow_once(&out, &h, LP_STREAM_STDOUT, running);
        follow_once(&err, &h, LP_STREAM_STDERR, running);
        if (!running)
            break; /* read once more after the end: nothing can be left behind */
        if (now_ms() - t0 > 30000)
            fail_msg("job still running after 30 s");
        usleep(40000);
    }
    assert_int_equal(st.state, LP_JOB_EXITED);
    assert_string_equal(out.text.data, expect_out);
    assert_string_equal(err.text.data, expect_err);
    /* It was followed, not read once at the end. */
    if (out.reads_while_running < 3)
        fail_msg("only %u reads found new output while the job ran", out.reads_while_running);

    /* From any offset: the rest; at or past the end: nothing, and the offset stays. */
    struct buf part = {0};
    uint64_t next = 0, len = strlen(expect_out);
    assert_int_equal(E.ops->logs_from(E.inst, &h, LP_STREAM_STDOUT, 7, collect, &part, &next),
                     LP_OK);
    assert_string_equal(part.data, expect_out + 7);
    assert_int_equal(next, len);
    memset(&part, 0, sizeof part);
    assert_int_equal(
        E.ops->logs_from(E.inst, &h, LP_STREAM_STDOUT, len + 100, collect, &part, &next), LP_OK);
    assert_int_equal(part.len, 0);
    assert_int_equal(next, len + 100);
    assert_int_equal(E.ops->logs_from(E.inst, &h, 3, 0, collect, &part, &next), LP_EINVAL);
    /* logs(), the 1.0 form, still gives the whole stream. */
    memset(&part, 0, sizeof part);
    assert_int_equal(E.ops->logs(E.inst, &h, LP_STREAM_STDOUT, collect, &part), LP_OK);
    assert_string_equal(part.data, expect_out);
    assert_int_equal(E.ops->release(E.inst, &h), LP_OK);
}

#define DD_64M "dd if=/dev/zero of=/dev/null bs=64M count=1"

static void test_oom_killed_job(void **state)
{
    (void)state;
    struct lp_executor_info info;
    describe(&E, &info);
    if (!(info.enforces & LP_EXEC_LIMIT_MEMORY)) {
        lp_skip_because("test_oom_killed_job: no writable memory cgroup here (%s), so no OOM "
                        "kill to see",
                        info.runtime);
    }
    struct lp_job_limits l = {.struct_size = sizeof l, .memory_bytes = 16u << 20};
    struct run r;
    run_sh(&r, DD_64M, NULL, NULL, &l);
    assert_int_equal(r.st.state, LP_JOB_EXITED);
    assert_int_equal(r.st.exit_code, 128 + 9);
    assert_int_not_equal(r.st.oom_killed, 0);
    assert_string_equal(r.st.message, "killed: out of memory (limit 16777216 bytes)");
    /* The cgroup's peak: something, and never past the limit. */
    assert_true(r.st.peak_memory_bytes > 0 && r.st.peak_memory_bytes <= l.memory_bytes);
    /* The same job without the limit: no flag, and a peak that covers dd's 64 MiB buffer. */
    run_sh(&r, DD_64M, NULL, NULL, NULL);
    assert_int_equal(r.st.exit_code, 0);
    assert_int_equal(r.st.oom_killed, 0);
    if (r.st.peak_memory_bytes < (64u << 20))
        fail_msg("peak %llu bytes for a 64 MiB buffer", (unsigned long long)r.st.peak_memory_bytes);
}

static uint64_t cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint64_t)n : 1;
}

/* A busy loop's CPU time, from the job's cgroup: more than a sleeping job's, no more than its
 * wall time allows, and growing while it runs. */
static void test_cpu_time_and_peak_memory(void **state)
{
    (void)state;
    if (!machine_cgroup_cpu_time()) {
        lp_skip_because("test_cpu_time_and_peak_memory: no cgroup here measures CPU time (not "
                        "root, or neither cgroup v2 nor a writable v1 cpuacct hierarchy)");
    }
    const char *busy = "awk 'BEGIN { for (i = 0; i < 3000000; i++) s += i; print s }'";
    struct lp_job_handle h;
    struct lp_job_status st;
    const char *argv[] = {"/bin/sh", "-c", busy};
    submit(&h, argv, 3, NULL, NULL, NULL);
    usleep(600000);
    status_init(&st);
    assert_int_equal(E.ops->poll(E.inst, &h, &st), LP_OK);
    if (st.state == LP_JOB_RUNNING && st.cpu_time_ns == 0)
        fail_msg("no CPU time while the busy loop runs");
    wait_done(&h, &st, 60000);
    assert_int_equal(E.ops->release(E.inst, &h), LP_OK);
    assert_int_equal(st.exit_code, 0);
    uint64_t wall_ns = st.finished_ns - st.started_ns;
    struct run idle;
    run_sh(&idle, "sleep 0.5", NULL, NULL, NULL);
    printf("executor/process: busy loop %.1f ms CPU in %.1f ms, peak %llu KiB; sleep 0.5 %.1f "
           "ms CPU\n",
           (double)st.cpu_time_ns / 1e6, (double)wall_ns / 1e6,
           (unsigned long long)st.peak_memory_bytes / 1024, (double)idle.st.cpu_time_ns / 1e6);
    if (st.cpu_time_ns < 50000000u)
        fail_msg("a busy loop used %llu ns of CPU", (unsigned long long)st.cpu_time_ns);
    /* 10 ms of slack for clock granularity. */
    if (st.cpu_time_ns > wall_ns * cpus() + 10000000u)
        fail_msg("%llu ns of CPU in %llu ns of wall time on %llu CPUs",
                 (unsigned long long)st.cpu_time_ns, (unsigned long long)wall_ns,
                 (unsigned long long)cpus());
    if (idle.st.cpu_time_ns * 2 > st.cpu_time_ns)
        fail_msg("sleeping used %llu ns of CPU, the busy loop %llu",
                 (unsigned long long)idle.st.cpu_time_ns, (unsigned long long)st.cpu_time_ns);
    assert_true(st.peak_memory_bytes > 0);
}

/* Without a cgroup nothing measures the job (bwrap's own rusage leaves it out: README.md), so
 * the numbers say "unknown" rather than bwrap's; and memory refused under RLIMIT_AS is no OOM
 * kill. Runs on a second instance, which the teardown closes. */
static void test_usage_unknown_without_a_cgroup(void **state)
{
    (void)state;
    use_instance("jobs-rusage", "cgroup = \"none\";");
    struct run r;
    run_sh(&r, "awk 'BEGIN { for (i = 0; i < 1000000; i++) s += i; print s }'; " DD_64M, NULL, NULL,
           NULL);
    assert_int_equal(r.st.exit_code, 0);
    assert_int_equal(r.st.peak_memory_bytes, 0);
    assert_int_equal(r.st.cpu_time_ns, 0);
    struct lp_job_limits l = {.struct_size = sizeof l, .memory_bytes = 16u << 20};
    run_sh(&r, DD_64M, NULL, NULL, &l);
    assert_int_not_equal(r.st.exit_code, 0);
    assert_int_equal(r.st.oom_killed, 0);
    assert_null(strstr(r.st.message, "out of memory"));
}

/* True while a process whose command line holds `marker` runs on this machine. */
static bool process_with_marker(const char *marker)
{
    DIR *proc = opendir("/proc");
    assert_non_null(proc);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(proc)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], cmd[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            cmd[i] = cmd[i] ? cmd[i] : ' ';
        cmd[n] = '\0';
        found = strstr(cmd, marker) != NULL;
    }
    closedir(proc);
    return found;
}

/* Cancelled in its first milliseconds, before bwrap's child has armed its parent-death signal:
 * nothing of the sandbox may outlive the job. */
static void cancel_early(const char *marker)
{
    const char *argv[] = {"/bin/sh", "-c", marker};
    /* bwrap's setup takes a few milliseconds here: cancels spread over it. */
    static const useconds_t delays_us[] = {0, 2000, 4000, 6000, 8000, 10000, 15000, 25000};
    for (size_t i = 0; i < sizeof delays_us / sizeof delays_us[0]; i++) {
        struct lp_job_handle h;
        struct lp_job_status st;
        submit(&h, argv, 3, NULL, NULL, NULL);
        usleep(delays_us[i]);
        assert_int_equal(E.ops->cancel(E.inst, &h), LP_OK);
        wait_done(&h, &st, 10000);
        assert_int_equal(st.state, LP_JOB_CANCELLED);
        assert_int_equal(E.ops->release(E.inst, &h), LP_OK);
    }
    usleep(300000);
    if (process_with_marker(marker))
        fail_msg("a cancelled job's \"%s\" still runs", marker);
}

/* With a cgroup and without one (a second instance, closed by the teardown). */
static void test_early_cancel_leaves_no_process(void **state)
{
    (void)state;
    char marker[64];
    snprintf(marker, sizeof marker, "sleep 31.%ld", (long)getpid() % 1000);
    cancel_early(marker);
    use_instance("jobs-cancel", "cgroup = \"none\";");
    snprintf(marker, sizeof marker, "sleep 32.%ld", (long)getpid() % 1000);
    cancel_early(marker);
}

/* The same through the core's dispatch layer, as the provider calls it: wait() without a lock
 * while cancel() comes from another thread, logs from an offset, describe. */
struct dispatch_waiter {
    struct lp_backend *b;
    struct lp_job_handle h;
    int rc;
    struct lp_job_status st;
    uint64_t ms;
};

static void *dispatch_waiter_main(void *arg)
{
    struct dispatch_waiter *w = arg;
    struct lp_plugin_error pe;
    uint64_t t0 = now_ms();
    w->rc = lp_executor_wait(w->b, &w->h, 20000, &w->st, &pe);
    w->ms = now_ms() - t0;
    return NULL;
}

static void test_through_the_dispatch_layer(void **state)
{
    (void)state;
    char text[512], err[512];
    snprintf(text, sizeof text,
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/jobs-d\"; "
             "kill_grace = \"200ms\"; }; };",
             tmp, tmp);
    struct lp_config *cfg;
    struct lp_backend *b;
    assert_int_equal(lp_config_load_string(text, "d.cfg", &cfg, err, sizeof err), 0);
    if (lp_backend_open(cfg, "executor", "process", &b, err, sizeof err) != 0)
        fail_msg("open: %s", err);
    struct lp_plugin_error pe;
    struct lp_executor_info info, direct;
    assert_int_equal(lp_executor_describe(b, &info, &pe), LP_OK);
    describe(&E, &direct);
    assert_int_equal(info.attach, direct.attach);
    assert_int_equal(info.enforces, direct.enforces);
    assert_string_equal(info.runtime, direct.runtime);

    const char *argv[] = {"/bin/sh", "-c", "echo ready; sleep 30"};
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = IMAGE, .entrypoint = argv, .entrypoint_count = 3};
    struct lp_job_limits none = {.struct_size = sizeof none};
    struct dispatch_waiter w = {.b = b};
    if (lp_executor_submit(b, &spec, NULL, NULL, &none, &w.h, &pe) != LP_OK)
        fail_msg("submit: %s", pe.message);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, dispatch_waiter_main, &w), 0);
    /* Follow stdout until "ready": the job is running and the waiter is asleep. */
    struct buf out = {0};
    uint64_t next = 0, t0 = now_ms();
    while (strstr(out.data, "ready\n") == NULL && now_ms() - t0 < 10000) {
        assert_int_equal(
            lp_executor_logs(b, &w.h, LP_STREAM_STDOUT, next, collect, &out, &next, &pe), LP_OK);
        usleep(20000);
    }
    assert_string_equal(out.data, "ready\n");
    assert_int_equal(next, 6);
    t0 = now_ms();
    assert_int_equal(lp_executor_cancel(b, &w.h, &pe), LP_OK);
    assert_true(now_ms() - t0 < 1000); /* not queued behind the waiter */
    pthread_join(t, NULL);
    assert_int_equal(w.rc, LP_OK);
    assert_int_equal(w.st.state, LP_JOB_CANCELLED);
    assert_true(now_ms() - t0 < 5000);
    memset(&out, 0, sizeof out);
    assert_int_equal(lp_executor_logs(b, &w.h, LP_STREAM_STDOUT, 2, collect, &out, &next, &pe),
                     LP_OK);
    assert_string_equal(out.data, "ady\n");
    assert_int_equal(next, 6);
    assert_int_equal(lp_executor_release(b, &w.h, &pe), LP_OK);
    assert_int_equal(lp_executor_wait(b, &w.h, 10, &w.st, &pe), LP_EINVAL);
    assert_non_null(strstr(pe.message, "no job"));
    lp_backend_close(b);
    lp_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cowsay_stdout),
        cmocka_unit_test(test_env_and_defaults),
        cmocka_unit_test(test_nonzero_exit),
        cmocka_unit_test(test_missing_image_and_bad_env),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_no_network),
        cmocka_unit_test(test_inputs_readonly_outputs_written),
        cmocka_unit_test(test_wordcount_module),
        cmocka_unit_test(test_writable_root_is_per_job),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_rlimit_fallback_and_copy_rootfs),
        cmocka_unit_test(test_output_cap),
        cmocka_unit_test(test_pids_limit),
        cmocka_unit_test(test_release_removes_files),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_data_dir_defaults),
        cmocka_unit_test(test_wait_returns_when_the_job_ends_or_at_the_timeout),
        cmocka_unit_test(test_wait_with_cancel_and_release_from_other_threads),
        cmocka_unit_test(test_logs_from_follows_a_running_job),
        cmocka_unit_test(test_oom_killed_job),
        cmocka_unit_test(test_cpu_time_and_peak_memory),
        cmocka_unit_test_teardown(test_usage_unknown_without_a_cgroup, close_second_instance),
        cmocka_unit_test_teardown(test_early_cancel_leaves_no_process, close_second_instance),
        cmocka_unit_test(test_through_the_dispatch_layer),
        cmocka_unit_test(test_startup_time),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
