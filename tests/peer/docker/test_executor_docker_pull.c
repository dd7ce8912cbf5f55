/* executor/docker making a job's image present from a real registry: Debian's docker-registry
 * on 127.0.0.1 with htpasswd auth (registry.sh, the fixture peer_registry), through the engine
 * of the run (dockerd.sh or podman.sh). The fixture's lilypad-test/busybox:1 is pushed to
 * <registry>/<engine>/busybox:1 and its local tag removed, so a job naming it really pulls.
 *
 * Cases: a pull with the configured credentials; an anonymous and a wrong-password pull, each
 * FAILED with one line, the password in no message and no log line; a digest pin pulled by
 * its digest; a pin of a digest the registry does not have; pull = "never" (fails without
 * asking the registry; loads from image_archives); pull = "always" (asks the registry although
 * the image is present, and fails the job when that pull fails). What the registry was asked
 * is read from its access log, which has a line per request.
 *
 * Environment (set by tests/peer/docker/CMakeLists.txt): LP_ENGINE, LP_ENGINE_DIR (the engine
 * fixture's state folder, with its socket), LP_REGISTRY_DIR (the registry fixture's: address,
 * username, password, registry.log), LP_REGISTRY_SCRIPT (registry.sh, for the push). */
#include <fcntl.h>
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

#include <setjmp.h>

#include <cmocka.h>

#include <lilypad/executor.h>

#include "config/config.h"
#include "dispatch/executor.h"
#include "loader/backend.h"
#include "util/log.h"

#include "../../unit/skip_reason.h"

#define BASE_IMAGE "lilypad-test/busybox:1"

static const char *engine, *engine_dir, *registry_dir, *registry_script;
static char socket_path[256];
static char address[64], username[64], password[128];
static char repo[160];      /* <address>/<engine>/busybox */
static char tagged[200];    /* <repo>:1 */
static char pin_digest[80]; /* sha256:... of <repo>:pin, an image pushed for this run */
static char tmp[64];

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text != NULL && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *grown = realloc(text, cap *= 2);
            if (grown == NULL)
                free(text);
            text = grown;
        }
    }
    fclose(f);
    if (text != NULL)
        text[len] = '\0';
    return text;
}

/* The first line of DIR/NAME into out; -1 when the file is missing or empty. */
static int read_line(const char *dir, const char *name, char *out, size_t cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = read_text(path);
    if (text == NULL)
        return -1;
    text[strcspn(text, "\n")] = '\0';
    snprintf(out, cap, "%s", text);
    free(text);
    return out[0] ? 0 : -1;
}

/* A shell command's stdout into out (when given); its exit status. */
static int shell(char *out, size_t cap, const char *fmt, ...) LP_PRINTF(3, 4);
static int shell(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char sink[4096];
    char *buf = out ? out : sink;
    size_t room = out ? cap : sizeof sink;
    size_t n = fread(buf, 1, room - 1, p);
    buf[n] = '\0';
    while (fread(sink, 1, sizeof sink, p) > 0)
        ;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One Engine API call through the curl tool (a client independent of the plugin); the HTTP
 * status. */
static int api(const char *method, const char *path)
{
    char code[16];
    shell(code, sizeof code,
          "curl -s -o /dev/null -w '%%{http_code}' --max-time 120 --unix-socket '%s' -X %s "
          "'http://localhost/v1.41%s'",
          socket_path, method, path);
    return atoi(code);
}

static bool image_present(const char *ref)
{
    char path[512];
    snprintf(path, sizeof path, "/images/%s/json", ref);
    return api("GET", path) == 200;
}

/* Untags ref (the image stays while BASE_IMAGE names it). */
static void remove_image(const char *ref)
{
    char path[512];
    snprintf(path, sizeof path, "/images/%s", ref);
    int status = api("DELETE", path);
    if (status != 200 && status != 404)
        fail_msg("DELETE %s: HTTP %d", path, status);
    assert_false(image_present(ref));
}

/* Tags BASE_IMAGE as <repo>:1 in the engine, no registry involved. */
static void tag_locally(void)
{
    char path[512];
    snprintf(path, sizeof path, "/images/%s/tag?repo=%s&tag=1", BASE_IMAGE, repo);
    assert_int_equal(api("POST", path), 201);
    assert_true(image_present(tagged));
}

/* How many times the registry served the manifest <engine>/busybox:<reference> (a tag or a
 * digest), by its access log. */
static size_t manifest_requests(const char *reference)
{
    char path[512], line_get[512], line_head[512];
    snprintf(path, sizeof path, "%s/registry.log", registry_dir);
    snprintf(line_get, sizeof line_get, "\"GET /v2/%s/busybox/manifests/%s HTTP/1.1\" 200", engine,
             reference);
    snprintf(line_head, sizeof line_head, "\"HEAD /v2/%s/busybox/manifests/%s HTTP/1.1\" 200",
             engine, reference);
    char *log = read_text(path);
    assert_non_null(log);
    size_t n = 0;
    for (const char *p = log; (p = strstr(p, line_get)) != NULL; p++)
        n++;
    for (const char *p = log; (p = strstr(p, line_head)) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* The access log is written as each response completes, which can trail the client's read of
 * it by a moment: waits up to 5 s for more than `before` requests; the count. */
static size_t manifest_requests_after(const char *reference, size_t before)
{
    uint64_t t0 = now_ms();
    size_t n;
    while ((n = manifest_requests(reference)) <= before && now_ms() - t0 < 5000)
        usleep(50000);
    return n;
}

/* What the process writes to stderr, the host's log lines among them (every level), kept in a
 * file while a case's jobs run. */
struct capture {
    int saved;
    char path[256];
};

static void capture_begin(struct capture *c)
{
    static int seq;
    snprintf(c->path, sizeof c->path, "%s/stderr-%d.log", tmp, ++seq);
    fflush(stderr);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    lp_log_set_level(LP_LOG_DEBUG);
}

/* The captured text (free it); shown on stdout too, for the reader of the test's output. */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    lp_log_set_level(LP_LOG_WARN);
    char *text = read_text(c->path);
    assert_non_null(text);
    printf("--- log lines ---\n%s--- end ---\n", text);
    return text;
}

struct outcome {
    struct lp_job_status st;
    char out[4096];
    size_t out_len;
    char log[1 << 16]; /* the host's log lines while the job ran */
};

static int collect(void *arg, const void *data, size_t len)
{
    struct outcome *o = arg;
    if (o->out_len + len >= sizeof o->out)
        return 1;
    memcpy(o->out + o->out_len, data, len);
    o->out_len += len;
    o->out[o->out_len] = '\0';
    return 0;
}

/* One job on a backend opened with the executor.docker settings `extra`: `echo ran`, in
 * `image`; waits for its end, reads stdout, releases, closes the backend. */
static void run_job(const char *extra, const char *image, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    struct capture cap;
    capture_begin(&cap);
    char text[2048], err[1024];
    snprintf(text, sizeof text,
             "executor: { backend = \"docker\"; docker: { socket = \"%s\"; kill_grace = "
             "\"300ms\"; default_timeout = \"2m\"; %s }; };",
             socket_path, extra);
    struct lp_config *cfg = NULL;
    struct lp_backend *b = NULL;
    int rc = lp_config_load_string(text, "docker-pull-test.cfg", &cfg, err, sizeof err);
    if (rc == 0)
        rc = lp_backend_open(cfg, "executor", "docker", &b, err, sizeof err);
    const char *argv[] = {"/bin/sh", "-c", "echo ran"};
    struct lp_job_spec spec = {.struct_size = sizeof spec,
                               .image = image,
                               .entrypoint = argv,
                               .entrypoint_count = 3,
                               .job_id = "0xdea1"};
    struct lp_job_limits limits = {.struct_size = sizeof limits};
    struct lp_job_handle h;
    struct lp_plugin_error pe = {0};
    const char *failed = NULL;
    if (rc != 0)
        failed = "open";
    else if (lp_executor_submit(b, &spec, NULL, NULL, &limits, &h, &pe) != LP_OK)
        failed = "submit";
    else if (lp_executor_wait(b, &h, 180000, &o->st, &pe) != LP_OK)
        failed = "wait";
    else {
        uint64_t next;
        if (o->st.state == LP_JOB_EXITED &&
            lp_executor_logs(b, &h, LP_STREAM_STDOUT, 0, collect, o, &next, &pe) != LP_OK)
            failed = "logs";
        else if (lp_executor_release(b, &h, &pe) != LP_OK)
            failed = "release";
    }
    if (b != NULL)
        lp_backend_close(b);
    lp_config_free(cfg);
    char *log = capture_end(&cap);
    snprintf(o->log, sizeof o->log, "%s", log);
    free(log);
    if (failed != NULL)
        fail_msg("%s: %s", failed, rc != 0 ? err : pe.message);
    printf("%s: state %u exit %d: %s\n", image, o->st.state, o->st.exit_code, o->st.message);
}

/* The settings of an authenticated pull; `pass` the password to send. */
static void credentials(char *out, size_t cap, const char *pass)
{
    snprintf(out, cap, "registry = \"%s\"; registry_username = \"%s\"; registry_password = \"%s\";",
             address, username, pass);
}

static void assert_ran(const struct outcome *o)
{
    if (o->st.state != LP_JOB_EXITED || o->st.exit_code != 0)
        fail_msg("the job did not run: state %u exit %d: %s", o->st.state, o->st.exit_code,
                 o->st.message);
    assert_string_equal(o->out, "ran\n");
}

/* FAILED with one line that starts with `start`; neither password in it or in any log line. */
static void assert_failed_clearly(const struct outcome *o, const char *start, const char *pass)
{
    assert_int_equal(o->st.state, LP_JOB_FAILED);
    if (strncmp(o->st.message, start, strlen(start)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", o->st.message, start);
    assert_null(strchr(o->st.message, '\n'));
    assert_null(strstr(o->st.message, password));
    assert_null(strstr(o->log, password));
    if (pass != NULL) {
        assert_null(strstr(o->st.message, pass));
        assert_null(strstr(o->log, pass));
    }
}

/* ---- cases -------------------------------------------------------------------------------- */

static void test_pull_with_credentials(void **state)
{
    (void)state;
    remove_image(tagged); /* absent, whatever a failed case before left */
    size_t before = manifest_requests("1");
    char extra[512];
    credentials(extra, sizeof extra, password);
    struct outcome *o = malloc(sizeof *o);
    run_job(extra, tagged, o);
    assert_ran(o);
    assert_true(manifest_requests_after("1", before) > before);
    assert_true(image_present(tagged));
    assert_null(strstr(o->log, password));
    free(o);
    remove_image(tagged);
}

static void test_anonymous_pull_is_refused(void **state)
{
    (void)state;
    remove_image(tagged); /* absent, whatever a failed case before left */
    struct outcome *o = malloc(sizeof *o);
    run_job("", tagged, o);
    char start[256];
    snprintf(start, sizeof start, "image %s not found: ", tagged);
    assert_failed_clearly(o, start, NULL);
    /* The engine's reason says why: Docker "no basic auth credentials", Podman
     * "authentication required". */
    if (strstr(o->st.message, "auth") == NULL && strstr(o->st.message, "unauthorized") == NULL)
        fail_msg("the message does not say the registry wants credentials: %s", o->st.message);
    assert_false(image_present(tagged));
    free(o);
}

static void test_wrong_password_fails_without_leaking_it(void **state)
{
    (void)state;
    remove_image(tagged); /* absent, whatever a failed case before left */
    char wrong[64], extra[512];
    snprintf(wrong, sizeof wrong, "nope-%08lx%08lx", (unsigned long)random(),
             (unsigned long)random());
    credentials(extra, sizeof extra, wrong);
    struct outcome *o = malloc(sizeof *o);
    run_job(extra, tagged, o);
    char start[256];
    snprintf(start, sizeof start, "image %s not found: ", tagged);
    assert_failed_clearly(o, start, wrong);
    if (strstr(o->st.message, "auth") == NULL && strstr(o->st.message, "unauthorized") == NULL)
        fail_msg("the message does not say the credentials were refused: %s", o->st.message);
    assert_false(image_present(tagged));
    free(o);
}

/* A pin of an image pushed for this run alone (a fresh commit), so no engine has its manifest
 * yet: Docker keeps the manifests it pulled, by digest, and Podman resolves a digest through
 * any local image that was pulled by it. */
static void test_digest_pin_pulls_by_digest(void **state)
{
    (void)state;
    char pinned[300], pin_tag[300], extra[512];
    snprintf(pinned, sizeof pinned, "%s@%s", repo, pin_digest);
    snprintf(pin_tag, sizeof pin_tag, "%s:pin", repo);
    remove_image(pinned);
    size_t by_tag = manifest_requests("pin"), by_digest = manifest_requests(pin_digest);
    credentials(extra, sizeof extra, password);
    struct outcome *o = malloc(sizeof *o);
    run_job(extra, pinned, o);
    assert_ran(o);
    /* That manifest was asked for by its digest; the tag was neither asked for nor made. */
    assert_true(manifest_requests_after(pin_digest, by_digest) > by_digest);
    assert_int_equal(manifest_requests("pin"), by_tag);
    assert_false(image_present(pin_tag));
    char body[8192];
    shell(body, sizeof body, "curl -s --unix-socket '%s' 'http://localhost/v1.41/images/%s/json'",
          socket_path, pinned);
    if (strstr(body, pin_digest) == NULL)
        fail_msg("the engine does not list %s among the image's RepoDigests: %.400s", pin_digest,
                 body);
    free(o);
    remove_image(pinned);
}

static void test_pin_of_another_digest_fails(void **state)
{
    (void)state;
    /* The pushed digest with its last hex digit changed: a manifest the registry lacks. */
    char other[80], pinned[300], extra[512];
    snprintf(other, sizeof other, "%s", pin_digest);
    char *last = other + strlen(other) - 1;
    *last = *last == '0' ? '1' : '0';
    snprintf(pinned, sizeof pinned, "%s@%s", repo, other);
    credentials(extra, sizeof extra, password);
    struct outcome *o = malloc(sizeof *o);
    run_job(extra, pinned, o);
    char start[256];
    snprintf(start, sizeof start, "image %s not found: ", pinned);
    assert_failed_clearly(o, start, NULL);
    /* The registry's answer, at the end of the engine's reason, is in the line. */
    if (strstr(o->st.message, "manifest unknown") == NULL)
        fail_msg("the message does not say the registry has no such manifest: %s", o->st.message);
    assert_false(image_present(pinned));
    free(o);
}

/* pull = "never": an absent image fails without a request to the registry. */
static void test_pull_never_fails_without_asking(void **state)
{
    (void)state;
    remove_image(tagged); /* absent, whatever a failed case before left */
    size_t before = manifest_requests("1");
    char extra[600];
    credentials(extra, sizeof extra, password);
    strcat(extra, " pull = \"never\";");
    struct outcome *o = malloc(sizeof *o);
    run_job(extra, tagged, o);
    char start[256];
    snprintf(start, sizeof start, "image %s not found: ", tagged);
    assert_failed_clearly(o, start, NULL);
    assert_non_null(strstr(o->st.message, "(pull = \"never\")"));
    usleep(300000);
    assert_int_equal(manifest_requests("1"), before);
    assert_false(image_present(tagged));
    free(o);
}

/* The archive of <repo>:1 as the engine saves it, named as image_archives wants it: the
 * reference with '/', ':' and '@' turned into '_', plus ".tar". */
static void make_archive(char *folder, size_t cap)
{
    snprintf(folder, cap, "%s/archives", tmp);
    mkdir(folder, 0755);
    char name[256];
    snprintf(name, sizeof name, "%s", tagged);
    for (char *p = name; *p; p++)
        if (*p == '/' || *p == ':' || *p == '@')
            *p = '_';
    tag_locally();
    assert_int_equal(shell(NULL, 0,
                           "curl -s -f --max-time 120 --unix-socket '%s' -o '%s/%s.tar' "
                           "'http://localhost/v1.41/images/%s/get'",
                           socket_path, folder, name, tagged),
                     0);
    remove_image(tagged);
    printf("archive %s/%s.tar\n", folder, name);
}

static void test_image_archives_load(void **state)
{
    (void)state;
    char folder[256], extra[1024];
    make_archive(folder, sizeof folder);
    size_t before = manifest_requests("1");
    struct outcome *o = malloc(sizeof *o);

    /* pull = "never": the archive, never the registry. */
    snprintf(extra, sizeof extra, "pull = \"never\"; image_archives = \"%s\";", folder);
    run_job(extra, tagged, o);
    assert_ran(o);
    assert_true(image_present(tagged));
    remove_image(tagged);

    /* pull = "missing" and a pull that fails (no credentials): the archive. */
    snprintf(extra, sizeof extra, "image_archives = \"%s\";", folder);
    run_job(extra, tagged, o);
    assert_ran(o);
    assert_true(image_present(tagged));
    remove_image(tagged);
    usleep(300000);
    assert_int_equal(manifest_requests("1"), before);
    free(o);
}

/* pull = "always": the registry is asked although the image is present (pull = "missing" does
 * not ask), and a pull that fails fails the job, present image or not. */
static void test_pull_always_pulls_when_present(void **state)
{
    (void)state;
    remove_image(tagged);
    tag_locally();
    char extra[600];
    credentials(extra, sizeof extra, password);
    struct outcome *o = malloc(sizeof *o);

    size_t before = manifest_requests("1");
    run_job(extra, tagged, o);
    assert_ran(o);
    usleep(300000);
    assert_int_equal(manifest_requests("1"), before);

    strcat(extra, " pull = \"always\";");
    run_job(extra, tagged, o);
    assert_ran(o);
    assert_true(manifest_requests_after("1", before) > before);

    char wrong[600];
    credentials(wrong, sizeof wrong, "nope-wrong-password");
    strcat(wrong, " pull = \"always\";");
    run_job(wrong, tagged, o);
    char start[256];
    snprintf(start, sizeof start, "image %s: pull failed (pull = \"always\"): ", tagged);
    assert_failed_clearly(o, start, "nope-wrong-password");
    free(o);
    remove_image(tagged);
}

/* ---- setup -------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-test-pull-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    snprintf(repo, sizeof repo, "%s/%s/busybox", address, engine);
    snprintf(tagged, sizeof tagged, "%s:1", repo);
    /* The pushes go through the engine itself, with the credentials (registry.sh push). */
    char out[4096];
    for (int unique = 0; unique < 2; unique++) {
        int rc =
            shell(out, sizeof out, "bash '%s' push '%s' '%s' '%s/busybox' %s 2>&1", registry_script,
                  registry_dir, socket_path, engine, unique ? "pin unique" : "1");
        if (rc != 0 || strncmp(out, "sha256:", 7) != 0 || strlen(out) != 72) {
            fprintf(stderr, "pushing to %s: %s\n", repo, out);
            return -1;
        }
        out[strcspn(out, "\n")] = '\0';
        printf("pushed %s:%s: %s\n", repo, unique ? "pin" : "1", out);
    }
    snprintf(pin_digest, sizeof pin_digest, "%s", out);
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* The reason a fixture left in DIR/unavailable, or `otherwise`. */
static void unavailable_reason(const char *dir, const char *otherwise, char *out, size_t cap)
{
    if (read_line(dir, "unavailable", out, cap) != 0)
        snprintf(out, cap, "%s", otherwise);
}

static int cannot_run(const char *why)
{
    const char *require = getenv("LILYPAD_REQUIRE_PEERS");
    if (require != NULL && strcmp(require, "1") == 0) {
        printf("FAILED: %s (LILYPAD_REQUIRE_PEERS=1)\n", why);
        return 1;
    }
    printf("skipped: %s\n", why);
    return 77;
}

int main(void)
{
    engine = getenv("LP_ENGINE");
    engine_dir = getenv("LP_ENGINE_DIR");
    registry_dir = getenv("LP_REGISTRY_DIR");
    registry_script = getenv("LP_REGISTRY_SCRIPT");
    if (engine == NULL || engine_dir == NULL || registry_dir == NULL || registry_script == NULL) {
        fprintf(stderr, "set LP_ENGINE, LP_ENGINE_DIR, LP_REGISTRY_DIR and LP_REGISTRY_SCRIPT "
                        "(ctest does)\n");
        return 1;
    }
    char why[1024], reason[900];
    snprintf(socket_path, sizeof socket_path, "%s/%s.sock", engine_dir, engine);
    if (access(socket_path, F_OK) != 0) {
        unavailable_reason(engine_dir, "the fixture did not run (ctest -L peer runs it)", reason,
                           sizeof reason);
        snprintf(why, sizeof why, "no %s at %s: %s", engine, socket_path, reason);
        return cannot_run(why);
    }
    if (read_line(registry_dir, "address", address, sizeof address) != 0 ||
        read_line(registry_dir, "username", username, sizeof username) != 0 ||
        read_line(registry_dir, "password", password, sizeof password) != 0) {
        unavailable_reason(registry_dir, "the fixture did not run (ctest -L peer runs it)", reason,
                           sizeof reason);
        snprintf(why, sizeof why, "no registry in %s: %s", registry_dir, reason);
        return cannot_run(why);
    }
    if (strcmp(engine, "podman") == 0) {
        /* Podman pulls over plain HTTP only from a registry its registries.conf calls
         * insecure, which podman.sh writes when the registry ran first. */
        char conf[512];
        if (read_line(engine_dir, "registries.conf", conf, sizeof conf) != 0 ||
            shell(NULL, 0, "grep -qF '\"%s\"' '%s/registries.conf'", address, engine_dir) != 0) {
            snprintf(why, sizeof why,
                     "podman was started without %s in its registries.conf (podman.sh start "
                     "after registry.sh start, with LP_REGISTRY_DIR set)",
                     address);
            return cannot_run(why);
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pull_with_credentials),
        cmocka_unit_test(test_anonymous_pull_is_refused),
        cmocka_unit_test(test_wrong_password_fails_without_leaking_it),
        cmocka_unit_test(test_digest_pin_pulls_by_digest),
        cmocka_unit_test(test_pin_of_another_digest_fails),
        cmocka_unit_test(test_pull_never_fails_without_asking),
        cmocka_unit_test(test_image_archives_load),
        cmocka_unit_test(test_pull_always_pulls_when_present),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
