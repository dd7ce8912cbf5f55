/* The user's view: `lilypad plugins` lists each broken plugin with its state and message (and
 * its exit status says when one is broken), and `lilypad config check` rejects an invalid file
 * with FILE:LINE, the key and the valid keys or names, and reports what would fail here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

/* Runs a shell command, returns its exit status and its combined output in *out. */
static int run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    *out = calloc(1, cap);
    size_t n;
    while ((n = fread(*out + len, 1, cap - len - 1, p)) > 0)
        len += n;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void assert_line(const char *output, const char *state, const char *plugin)
{
    char row[256];
    snprintf(row, sizeof(row), "%-13s %-20s", state, plugin);
    if (strstr(output, row) == NULL)
        fail_msg("no row \"%s\" in:\n%s", row, output);
}

/* A fresh configuration file holding text; its path in path (size 32). */
static void write_config(char *path, const char *text)
{
    snprintf(path, 32, "/tmp/lp-cli-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_plugins_list_shows_every_state(void **state)
{
    (void)state;
    char *out;
    int rc = run(LILYPAD " plugins --plugin-path " LP_TEST_PLUGIN_DIR " 2>&1", &out);
    /* Broken plugins are listed, and make the exit status say so. */
    assert_int_equal(rc, 1);
    assert_line(out, "LOADED", "executor/good");
    assert_line(out, "NOT_A_PLUGIN", "executor/badmagic");
    assert_line(out, "INCOMPATIBLE", "executor/abimajor");
    assert_line(out, "INCOMPATIBLE", "executor/newminor");
    assert_line(out, "NOT_A_PLUGIN", "executor/noentry");
    assert_line(out, "INCOMPATIBLE", "executor/wrongconcern");
    assert_line(out, "INCOMPATIBLE", "executor/misnamed");
    assert_line(out, "UNAVAILABLE", "hashrate/probefail");
    assert_line(out, "INIT_FAILED", "storage/createfail");
    assert_line(out, "OPEN_FAILED", "verifier/missingdep");
    assert_non_null(strstr(out, "libmissingdep_gone.so: cannot open shared object file"));
    free(out);
}

static void test_plugins_list_disabled_and_not_found(void **state)
{
    (void)state;
    /* Only good copies (and one without its device) in this folder: UNAVAILABLE, DISABLED and
     * NOT_FOUND are no reason to fail. */
    char path[32];
    write_config(path, "disable_plugins = [\"executor/badmagic\"];\n"
                       "storage: { backend = \"nosuch\"; };\n");
    char cmd[512], *out;
    snprintf(cmd, sizeof(cmd),
             LILYPAD " plugins -c %s --plugin-path " LP_TEST_SECOND_PLUGIN_DIR " 2>&1", path);
    int rc = run(cmd, &out);
    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, out);
    assert_line(out, "DISABLED", "executor/badmagic");
    assert_line(out, "UNAVAILABLE", "hashrate/probefail");
    assert_line(out, "NOT_FOUND", "storage/nosuch");
    free(out);
    unlink(path);
}

static void test_plugins_list_shows_broken_copy(void **state)
{
    (void)state;
    char *out;
    int rc = run(LILYPAD " plugins --plugin-path " LP_TEST_PLUGIN_DIR ":" LP_TEST_SECOND_PLUGIN_DIR
                         " 2>&1",
                 &out);
    assert_int_equal(rc, 1);
    const char *rows =
        "OPEN_FAILED   executor/shadowed    -        -    " LP_TEST_PLUGIN_DIR
        "/executor_shadowed.so\n"
        "              plugin executor/shadowed (" LP_TEST_PLUGIN_DIR
        "/executor_shadowed.so): dlopen failed: " LP_TEST_PLUGIN_DIR
        "/executor_shadowed.so: invalid ELF header (check its dependencies with ldd)\n"
        "              skipped: the loader uses the next copy, " LP_TEST_SECOND_PLUGIN_DIR
        "/executor_shadowed.so\n"
        "LOADED        executor/shadowed    1.2.3    1.2  " LP_TEST_SECOND_PLUGIN_DIR
        "/executor_shadowed.so\n";
    if (strstr(out, rows) == NULL)
        fail_msg("no rows\n%s\nin:\n%s", rows, out);
    assert_line(out, "NOT_A_PLUGIN", "executor/badmagic");
    assert_line(out, "LOADED", "executor/badmagic");
    free(out);

    /* inspect names the skipped copy too, and fails for a broken plugin. */
    rc = run(LILYPAD " plugins inspect executor/shadowed --plugin-path " LP_TEST_PLUGIN_DIR
                     ":" LP_TEST_SECOND_PLUGIN_DIR,
             &out);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "path:         " LP_TEST_SECOND_PLUGIN_DIR "/executor_shadowed.so\n"
                                "skipped:      " LP_TEST_PLUGIN_DIR
                                "/executor_shadowed.so OPEN_FAILED: dlopen failed: "));
    free(out);
    assert_int_equal(
        run(LILYPAD " plugins inspect hashrate/probefail --plugin-path " LP_TEST_PLUGIN_DIR, &out),
        0);
    free(out);
    assert_int_equal(
        run(LILYPAD " plugins inspect executor/abimajor --plugin-path " LP_TEST_PLUGIN_DIR, &out),
        1);
    free(out);
}

static void test_plugins_inspect(void **state)
{
    (void)state;
    char *out;
    int rc = run(LILYPAD " plugins inspect executor/good --plugin-path " LP_TEST_PLUGIN_DIR, &out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "state:        LOADED"));
    assert_non_null(strstr(out, "version:      1.2.3"));
    assert_non_null(strstr(out, "capabilities: threadsafe"));
    assert_non_null(strstr(out, "endpoint"));
    assert_non_null(strstr(out, "(required)"));
    assert_non_null(strstr(out, "[secret]"));
    free(out);
}

static void test_config_check_unknown_key(void **state)
{
    (void)state;
    char path[] = "/tmp/lp-check-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "executor: {\n  backend = \"good\";\n  good: {\n    endpoint = \"x\";\n"
                       "    endpont = \"y\";\n  };\n};\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[512], *out, expected[512];
    snprintf(cmd, sizeof(cmd), LILYPAD " config check %s --plugin-path " LP_TEST_PLUGIN_DIR " 2>&1",
             path);
    int rc = run(cmd, &out);
    assert_int_not_equal(rc, 0);
    snprintf(expected, sizeof(expected),
             "lilypad: config %s:5: executor.good: unknown key \"endpont\"; valid keys: endpoint, "
             "token, timeout_ms, retries, verbose, max_output, tags\n",
             path);
    assert_string_equal(out, expected);
    free(out);

    /* Fixed, the same file passes and dump shows effective values with the secret masked. */
    text = "executor: {\n  backend = \"good\";\n  good: {\n    endpoint = \"x\";\n"
           "    token = \"hunter2\";\n  };\n};\n";
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(cmd, sizeof(cmd), LILYPAD " config check %s --plugin-path " LP_TEST_PLUGIN_DIR, path);
    assert_int_equal(run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof(cmd), LILYPAD " config dump %s --plugin-path " LP_TEST_PLUGIN_DIR, path);
    assert_int_equal(run(cmd, &out), 0);
    assert_null(strstr(out, "hunter2"));
    assert_non_null(strstr(out, "token = \"********\";"));
    assert_non_null(strstr(out, "timeout_ms = \"30s\";"));
    free(out);
    unlink(path);
}

/* `lilypad config check FILE [--strict]`, run with the test plugins first on the path; its
 * combined output with FILE written as "F". */
static int check_file(const char *text, const char *flags, const char *dirs, char **out)
{
    char path[32], cmd[1024];
    write_config(path, text);
    snprintf(cmd, sizeof(cmd), LILYPAD " config check %s %s --plugin-path %s 2>&1", path, flags,
             dirs);
    int rc = run(cmd, out);
    unlink(path);
    /* Replace every occurrence of the random path by "F" so expectations can be exact. */
    char *p;
    while ((p = strstr(*out, path)) != NULL) {
        *p = 'F';
        memmove(p + 1, p + strlen(path), strlen(p + strlen(path)) + 1);
    }
    return rc;
}

static void test_config_check_probes_this_machine(void **state)
{
    (void)state;
    const char *text = "executor: { backend = \"badmagic\"; };\n"
                       "hashrate: { backend = \"auto\"; probe_order = [\"probefail\"]; };\n";
    const char *report =
        "F: valid\n"
        "F: auto passes over: hashrate/probefail (" LP_TEST_PLUGIN_DIR
        "/hashrate_probefail.so) UNAVAILABLE: unavailable: no test device (probe says so)\n"
        "F: would fail here: executor/badmagic (" LP_TEST_PLUGIN_DIR
        "/executor_badmagic.so) NOT_A_PLUGIN: not a lilypad plugin: descriptor magic "
        "0xdeadbeef, expected 0x4c50504c — define the descriptor with LP_PLUGIN_DEFINE\n"
        "F: usable here: hashrate/cpu (auto's fallback)\n";
    char *out;
    /* Valid, so exit 0; what would fail on this machine is said, not fatal. */
    assert_int_equal(check_file(text, "", LP_TEST_PLUGIN_DIR, &out), 0);
    assert_string_equal(out, report);
    free(out);
    /* --strict makes it fatal. */
    assert_int_equal(check_file(text, "--strict", LP_TEST_PLUGIN_DIR, &out), 1);
    char expected[2048];
    snprintf(expected, sizeof(expected),
             "%slilypad: config check --strict: F is valid, but 1 plugin would fail on this "
             "machine\n",
             report);
    assert_string_equal(out, expected);
    free(out);
    /* Passing over a GPU plugin without its device is what "auto" is for: --strict passes. */
    assert_int_equal(check_file("hashrate: { backend = \"auto\"; probe_order = [\"probefail\"]; "
                                "};\n",
                                "--strict", LP_TEST_PLUGIN_DIR, &out),
                     0);
    free(out);
}

static void test_config_check_reports_broken_copy(void **state)
{
    (void)state;
    char *out;
    int rc = check_file("executor: { backend = \"shadowed\"; shadowed: { endpoint = \"x\"; }; "
                        "};\n",
                        "", LP_TEST_PLUGIN_DIR ":" LP_TEST_SECOND_PLUGIN_DIR, &out);
    assert_int_equal(rc, 0);
    assert_string_equal(
        out, "F: valid\n"
             "F: would fail here: executor/shadowed (" LP_TEST_PLUGIN_DIR
             "/executor_shadowed.so) OPEN_FAILED: dlopen failed: " LP_TEST_PLUGIN_DIR
             "/executor_shadowed.so: invalid ELF header (check its dependencies "
             "with ldd); skipped, using " LP_TEST_SECOND_PLUGIN_DIR "/executor_shadowed.so\n"
             "F: usable here: executor/shadowed\n");
    free(out);
}

static void test_config_check_rejects_unknown_plugin_names(void **state)
{
    (void)state;
    char *out;
    int rc = check_file("disable_plugins = [\"storage/nosuch\"];\n", "", LP_TEST_SECOND_PLUGIN_DIR,
                        &out);
    assert_int_equal(rc, 1);
    assert_string_equal(out, "lilypad: config F:1: disable_plugins: unknown plugin "
                             "\"storage/nosuch\"; known plugins (as concern/name): "
                             "executor/bacalhau, executor/badmagic, executor/docker, "
                             "executor/process, executor/shadowed, "
                             "hashrate/cpu, hashrate/cuda, hashrate/probefail, hashrate/rocm, "
                             "storage/local, verifier/ledger\n");
    free(out);
}

/* A role's section selects the concerns the role opens: the solver's, the verifier. */
static void test_config_check_follows_roles(void **state)
{
    (void)state;
    char *out;
    int rc = check_file("solver: { };\nverifier: { ledger: { path = \"/tmp/lp-cli-check/l.db\"; "
                        "}; };\n",
                        "--strict", LP_TEST_SECOND_PLUGIN_DIR, &out);
    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, out);
    assert_string_equal(out, "F: valid\nF: usable here: verifier/ledger\n");
    free(out);
}

/* The solver checks the top level too, though it may open no backend at all. */
static void test_solver_rejects_unknown_plugin_names(void **state)
{
    (void)state;
    char path[32], cmd[512], *out;
    write_config(path, "hashrate: { probe_order = [\"cdua\"]; };\nsolver: { };\n");
    snprintf(cmd, sizeof(cmd),
             LILYPAD " solver -c %s --plugin-path " LP_TEST_SECOND_PLUGIN_DIR " 2>&1", path);
    assert_int_equal(run(cmd, &out), 1);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "lilypad: config %s:1: hashrate.probe_order: unknown plugin \"cdua\"; known hashrate "
             "plugins: cpu, cuda, probefail, rocm\n",
             path);
    assert_string_equal(out, expected);
    free(out);
    unlink(path);
}

static void test_help_documents_exit_status(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run(LILYPAD " plugins --help", &out), 0);
    assert_non_null(strstr(out, "exit status: 1 when a plugin shown is INCOMPATIBLE, OPEN_FAILED, "
                                "NOT_A_PLUGIN or\nINIT_FAILED"));
    free(out);
    assert_int_equal(run(LILYPAD " config --help", &out), 0);
    assert_non_null(strstr(out, "usage: lilypad config check FILE [--strict]"));
    assert_non_null(strstr(out, "--strict           a problem on this machine makes check fail"));
    free(out);
}

static void test_every_command_has_help(void **state)
{
    (void)state;
    char *list;
    assert_int_equal(run(LILYPAD " --help", &list), 0);
    /* Every command `lilypad --help` lists answers --help with its usage and exit 0. */
    int commands = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        char name[32];
        if (strncmp(line, "  ", 2) != 0 || sscanf(line, " %31[a-z]", name) != 1)
            continue;
        char cmd[256], *out;
        snprintf(cmd, sizeof(cmd), LILYPAD " %s --help", name);
        if (run(cmd, &out) != 0 || strstr(out, "usage: lilypad") == NULL)
            fail_msg("lilypad %s --help did not print its usage:\n%s", name, out);
        free(out);
        commands++;
    }
    assert_true(commands >= 3);
    free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_list_shows_every_state),
        cmocka_unit_test(test_plugins_list_disabled_and_not_found),
        cmocka_unit_test(test_plugins_list_shows_broken_copy),
        cmocka_unit_test(test_plugins_inspect),
        cmocka_unit_test(test_config_check_unknown_key),
        cmocka_unit_test(test_config_check_probes_this_machine),
        cmocka_unit_test(test_config_check_reports_broken_copy),
        cmocka_unit_test(test_config_check_rejects_unknown_plugin_names),
        cmocka_unit_test(test_config_check_follows_roles),
        cmocka_unit_test(test_solver_rejects_unknown_plugin_names),
        cmocka_unit_test(test_help_documents_exit_status),
        cmocka_unit_test(test_every_command_has_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
