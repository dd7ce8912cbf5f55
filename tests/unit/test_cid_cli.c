/* `lilypad cid` through the binary: the §3.3 vectors for both versions, a directory vector,
 * --help, usage errors (exit 2) and refused inputs (exit 1 with one clear line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "test_cid_util.h"

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

static char tmp[64];
static char output[8192];

static int run(const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", tmp, LILYPAD, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-test-cid-cli-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tc_rm_tree(tmp);
    return 0;
}

static void test_file_vectors(void **state)
{
    (void)state;
    FILE *v = fopen(CID_VECTORS "/files.tsv", "r");
    assert_non_null(v);
    char line[1024], want[128];
    while (fgets(line, sizeof line, v)) {
        char *f[3];
        if (tc_split(line, f, 3) != 3)
            continue;
        size_t len;
        uint8_t *data = tc_content(f[0], &len);
        char path[128];
        snprintf(path, sizeof path, "%s/input", tmp);
        tc_write_file(path, data, len);
        free(data);
        assert_int_equal(run("cid input"), 0);
        snprintf(want, sizeof want, "%s\n", f[1]);
        assert_string_equal(output, want);
        assert_int_equal(run("cid --cid-version 1 input"), 0);
        snprintf(want, sizeof want, "%s\n", f[2]);
        assert_string_equal(output, want);
        assert_int_equal(run("cid --cid-version=1 --raw-leaves=true input"), 0);
        assert_string_equal(output, want);
    }
    fclose(v);
}

static void test_directory(void **state)
{
    (void)state;
    char root[128];
    snprintf(root, sizeof root, "%s/tree", tmp);
    /* the "hidden" row of dirs.tsv; without -H the dot-file is left out, as kubo does */
    tc_build_tree(root, "f:.hidden=text:secret;f:shown=text:shown");
    assert_int_equal(run("cid -H tree"), 0);
    assert_string_equal(output, "Qmas8KqvqhTwyVV6RpmqKoQfUpVr39G5JE15uyRwKQjQdo\n");
    assert_int_equal(run("cid --hidden --cid-version 1 tree"), 0);
    assert_string_equal(output, "bafybeifh232ilz4ex3z3dcom4la7vos4pojvk3vm7qugih6omx34edyrhy\n");
    assert_int_equal(run("cid tree"), 0);
    assert_string_not_equal(output, "Qmas8KqvqhTwyVV6RpmqKoQfUpVr39G5JE15uyRwKQjQdo\n");
}

static void test_usage_and_errors(void **state)
{
    (void)state;
    assert_int_equal(run("cid --help"), 0);
    assert_non_null(strstr(output, "usage: lilypad cid"));
    assert_int_equal(run("cid"), 2);
    assert_non_null(strstr(output, "missing PATH"));
    assert_int_equal(run("cid --cid-version 2 x"), 2);
    assert_non_null(strstr(output, "expected 0 or 1"));
    assert_int_equal(run("cid --bogus x"), 2);
    assert_int_equal(run("cid a b"), 2);
    assert_int_equal(run("cid --raw-leaves=maybe x"), 2);
    assert_int_equal(run("cid does-not-exist"), 1);
    assert_non_null(strstr(output, "lilypad: cid: does-not-exist: No such file"));
    char fifo[128];
    snprintf(fifo, sizeof fifo, "%s/pipe", tmp);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(run("cid pipe"), 1);
    assert_non_null(strstr(output, "named pipe"));
    assert_null(strchr(strchr(output, '\n') + 1, '\n')); /* one line */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_vectors),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_usage_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
