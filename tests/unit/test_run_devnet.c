/* `lilypad run --network local` end to end on the real devnet: a background devnet started by
 * the first run (solver + provider + executor/process under bubblewrap on the example images
 * built from busybox-static), every job creator a separate process. Needs bwrap and
 * busybox-static (scripts/install-deps.sh); fails with the reason when they are missing. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "devnet/devnet.h"

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

static char home[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A folder module on the cowsay image running `sh -c SCRIPT`. */
static void make_module(const char *name, const char *script)
{
    char path[300], text[2048];
    snprintf(path, sizeof path, "%s/%s", home, name);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/lilypad_module.json.tmpl", home, name);
    snprintf(text, sizeof text,
             "{\"machine\": {\"gpu\": 0, \"cpu\": 500, \"ram\": 64},\n"
             " \"job\": {\"APIVersion\": \"V1beta1\", \"Spec\": {\n"
             "  \"Docker\": {\"Image\": \"lilypad-example/cowsay:v1\",\n"
             "             \"Entrypoint\": [\"/bin/sh\", \"-c\", \"%s\"]},\n"
             "  \"Network\": {\"Type\": \"None\"}, \"Timeout\": 60}}}\n",
             script);
    write_file(path, text);
}

static int setup(void **state)
{
    (void)state;
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        fprintf(stderr, "test_run_devnet: /usr/bin/bwrap is missing (apt-get install "
                        "bubblewrap; scripts/install-deps.sh)\n");
        return -1;
    }
    strcpy(home, "/tmp/lp-run-devnet-XXXXXX");
    if (!mkdtemp(home))
        return -1;
    setenv("LILYPAD_HOME", home, 1);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "'%s/scripts/build-example-images.sh' '%s/images-out' --lilypad '%s' >/dev/null",
             LP_SOURCE_DIR, home, LILYPAD);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_run_devnet: building the example images failed (needs "
                        "busybox-static)\n");
        return -1;
    }
    make_module("fails", "echo partial output; echo 'oops: no such thing' >&2; exit 4");
    make_module("sleeps", "sleep 30");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char dir[200];
    snprintf(dir, sizeof dir, "%s/devnet", home);
    struct lp_devnet_info info;
    char err[256];
    if (lp_devnet_find(dir, &info, err, sizeof err) == 0) {
        kill(info.pid, SIGTERM);
        for (int i = 0; i < 100 && kill(info.pid, 0) == 0; i++)
            usleep(50000);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    if (f) {
        size_t n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static int run_cli(const char *args, char **out, char **err)
{
    char cmd[2048], o[200], e[200];
    snprintf(o, sizeof o, "%s/cli.out", home);
    snprintf(e, sizeof e, "%s/cli.err", home);
    snprintf(cmd, sizeof cmd, "'%s' run --network local %s >'%s' 2>'%s' </dev/null", LILYPAD, args,
             o, e);
    int st = system(cmd);
    *out = slurp(o);
    *err = slurp(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_cowsay_starts_devnet(void **state)
{
    (void)state;
    char *out, *err;
    int rc = run_cli(LP_SOURCE_DIR "/examples/modules/cowsay -i Message=hello-devnet", &out, &err);
    if (rc != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", rc, out, err);
    assert_non_null(strstr(out, "< hello-devnet >"));
    assert_non_null(strstr(out, "(oo)")); /* the cow, from the sandboxed busybox script */
    assert_non_null(strstr(err, "started the devnet"));
    assert_non_null(strstr(err, "created a job creator key"));
    free(out);
    free(err);
    /* the second run uses the running devnet and the same key */
    rc = run_cli(LP_SOURCE_DIR "/examples/modules/cowsay -i Message=again", &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "< again >"));
    assert_non_null(strstr(err, "using the devnet"));
    assert_null(strstr(err, "created a job creator key"));
    free(out);
    free(err);
}

static void test_module_exits_nonzero(void **state)
{
    (void)state;
    char args[300], *out, *err;
    snprintf(args, sizeof args, "%s/fails", home);
    int rc = run_cli(args, &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "oops: no such thing"));
    assert_non_null(strstr(err, "exited with status 4"));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void test_execution_timeout(void **state)
{
    (void)state;
    char args[300], *out, *err;
    snprintf(args, sizeof args, "%s/sleeps --timeout 1", home);
    int rc = run_cli(args, &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "timed out"));
    free(out);
    free(err);
}

/* --inputs: the folder travels as the input blob and is /inputs in the sandbox; outputs/
 * comes back in the results folder. */
static void test_wordcount_inputs(void **state)
{
    (void)state;
    char in[200], path[300], args[700], *out, *err;
    snprintf(in, sizeof in, "%s/wc-in", home);
    mkdir(in, 0755);
    snprintf(path, sizeof path, "%s/a.txt", in);
    write_file(path, "one two three\n");
    snprintf(path, sizeof path, "%s/sub", in);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/sub/b.txt", in);
    write_file(path, "four five\n");
    snprintf(args, sizeof args,
             "%s/examples/modules/wordcount -i Label=counted --inputs '%s' --output '%s/wc-out'",
             LP_SOURCE_DIR, in, home);
    int rc = run_cli(args, &out, &err);
    if (rc != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", rc, out, err);
    assert_non_null(strstr(out, "5 total"));
    assert_non_null(strstr(out, "counted: 2 file(s), 5 word(s)"));
    free(out);
    snprintf(path, sizeof path, "%s/wc-out/outputs/counts.txt", home);
    out = slurp(path);
    assert_non_null(strstr(out, "3 a.txt"));
    assert_non_null(strstr(out, "2 sub/b.txt"));
    free(out);
    free(err);
    /* the same --output again is refused, not mixed with the first results */
    assert_int_equal(run_cli(args, &out, &err), 1);
    assert_non_null(strstr(err, "already exists"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cowsay_starts_devnet),
        cmocka_unit_test(test_module_exits_nonzero),
        cmocka_unit_test(test_wordcount_inputs),
        cmocka_unit_test(test_execution_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
