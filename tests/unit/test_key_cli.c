/* `lilypad key` end to end: runs the built binary (import/show acceptance check, keystore path,
 * error cases) and checks exit codes, stdout and that no secret is ever printed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"
#define SECRET  "4646464646464646464646464646464646464646464646464646464646464646"
#define ADDRESS "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"

static char dir[64];
static char output[8192]; /* stdout and stderr of the last run */

/* Runs `lilypad ARGS` in the temp dir through the shell; returns the exit status. */
static int run(const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>&1", dir, LILYPAD, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    /* whatever happened, the secret is never printed */
    if (strstr(output, SECRET) != NULL || strstr(output, "7a28b5ba57c5") != NULL)
        fail_msg("secret printed by: lilypad %s", args);
    return WEXITSTATUS(status);
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/lp-test-key-cli-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_import_and_show_hex(void **state)
{
    (void)state;
    assert_int_equal(run("key import --hex 0x" SECRET " --out k.hex"), 0);
    assert_string_equal(output, ADDRESS "\n");
    assert_int_equal(run("key show k.hex"), 0);
    assert_string_equal(output, ADDRESS "\n");
    /* the file exists now: no silent overwrite */
    assert_int_equal(run("key import --hex " SECRET " --out k.hex"), 1);
    assert_non_null(strstr(output, "already exists"));
    assert_int_equal(run("key new --out k.hex --force"), 0);
    assert_int_equal(strlen(output), 43);
    assert_string_not_equal(output, ADDRESS "\n");
}

static void test_keystore_path(void **state)
{
    (void)state;
    write_file("pw", "correct horse\n");
    write_file("bad", "wrong horse\n");
    assert_int_equal(run("key import --hex " SECRET " --out k.json --keystore --password-file pw"),
                     0);
    assert_string_equal(output, ADDRESS "\n");
    assert_int_equal(run("key show k.json --password-file pw"), 0);
    assert_string_equal(output, ADDRESS "\n");
    assert_int_equal(run("key show k.json"), 1);
    assert_non_null(strstr(output, "--password-file"));
    assert_int_equal(run("key show k.json --password-file bad"), 1);
    assert_non_null(strstr(output, "wrong password or corrupted keystore"));
    assert_int_equal(run("key show --password-env LP_TEST_PW k.json"), 1);
    assert_non_null(strstr(output, "LP_TEST_PW"));
    assert_int_equal(
        run("key new --out k2.json --keystore --kdf pbkdf2 --password-env LP_TEST_PW2"), 1);
    assert_int_equal(setenv("LP_TEST_PW2", "env secret", 1), 0);
    assert_int_equal(
        run("key new --out k2.json --keystore --kdf pbkdf2 --password-env LP_TEST_PW2"), 0);
    char address[64];
    strcpy(address, output);
    assert_int_equal(run("key show k2.json --password-env LP_TEST_PW2"), 0);
    assert_string_equal(output, address);
    /* the published keystore vector, by content */
    write_file("spec.pw", "testpassword");
    assert_int_equal(run("key show '%s/tests/vectors/keystore/spec-pbkdf2.json' --password-file "
                         "spec.pw",
                         LP_SOURCE_DIR),
                     0);
    assert_string_equal(output, "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b\n");
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(run("key import --hex 0x46 --out short.hex"), 1);
    assert_non_null(strstr(output, "64 hex digits"));
    assert_int_equal(run("key import --hex 0x" SECRET "zz --out bad.hex"), 1);
    assert_int_equal(run("key import --hex 0x%064d --out zero.hex", 0), 1);
    assert_non_null(strstr(output, "secp256k1"));
    assert_int_equal(access("short.hex", F_OK), -1);
    assert_int_equal(run("key import --out k.hex"), 2);
    assert_int_equal(run("key new"), 2);
    assert_int_equal(run("key new --out x --keystore"), 2);
    assert_int_equal(run("key new --out x --keystore --password hunter2"), 2);
    assert_non_null(strstr(output, "never taken from the command line"));
    assert_int_equal(run("key show"), 2);
    assert_int_equal(run("key show missing.hex"), 1);
    assert_non_null(strstr(output, "missing.hex"));
    write_file("junk", "{\"version\": 3}");
    write_file("pw2", "x\n");
    assert_int_equal(run("key show junk --password-file pw2"), 1);
    assert_non_null(strstr(output, "crypto"));
    assert_int_equal(run("key frobnicate"), 2);
    assert_int_equal(run("key --help"), 0);
    assert_non_null(strstr(output, "--password-file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_and_show_hex),
        cmocka_unit_test(test_keystore_path),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
