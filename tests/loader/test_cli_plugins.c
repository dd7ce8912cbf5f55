/* The user's view: `lilypad plugins` lists each broken plugin with its state and message, and
 * `lilypad config check` rejects an unknown key with FILE:LINE, the key and the valid keys. */
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

static void test_plugins_list_shows_every_state(void **state)
{
    (void)state;
    char *out;
    int rc = run(LILYPAD " plugins --plugin-path " LP_TEST_PLUGIN_DIR " 2>&1", &out);
    assert_int_equal(rc, 0);
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
    char path[] = "/tmp/lp-plugins-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "disable_plugins = [\"executor/good\"];\n"
                       "storage: { backend = \"nosuch\"; };\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[512], *out;
    snprintf(cmd, sizeof(cmd), LILYPAD " plugins -c %s --plugin-path " LP_TEST_PLUGIN_DIR " 2>&1",
             path);
    assert_int_equal(run(cmd, &out), 0);
    assert_line(out, "DISABLED", "executor/good");
    assert_line(out, "NOT_FOUND", "storage/nosuch");
    free(out);
    unlink(path);
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
        cmocka_unit_test(test_plugins_inspect),
        cmocka_unit_test(test_config_check_unknown_key),
        cmocka_unit_test(test_every_command_has_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
