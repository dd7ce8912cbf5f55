/* The provider's probe measures disk where the provider keeps its data (its work_dir, as the
 * configuration resolves it, or the folder it will be created in) and names that path; both
 * through lp_probe_host and through `lilypad provider --probe`. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "skip_reason.h"

#include "provider/probe.h"

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

static char tmp[PATH_MAX]; /* a fresh folder, canonical (realpath) */

static int setup(void **state)
{
    (void)state;
    char made[] = "/tmp/lp-test-probe-XXXXXX";
    if (mkdtemp(made) == NULL || realpath(made, tmp) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static uint64_t total_bytes(const char *path)
{
    struct statvfs vfs;
    assert_int_equal(statvfs(path, &vfs), 0);
    return (uint64_t)vfs.f_blocks * vfs.f_frsize;
}

static void test_existing_work_dir(void **state)
{
    (void)state;
    struct lp_probe p;
    char err[256];
    assert_int_equal(lp_probe_host(tmp, &p, err, sizeof err), 0);
    assert_string_equal(p.disk_path, tmp);
    assert_string_equal(p.disk_measured_at, tmp);
    assert_int_equal(p.disk_total, total_bytes(tmp));
}

static void test_work_dir_not_created_yet(void **state)
{
    (void)state;
    char want[PATH_MAX + 16], expected[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s/not/yet", tmp);
    struct lp_probe p;
    char err[256];
    assert_int_equal(lp_probe_host(want, &p, err, sizeof err), 0);
    assert_string_equal(p.disk_path, want);
    assert_string_equal(p.disk_measured_at, tmp);

    /* A relative work_dir is relative to the current folder, and printed absolute. */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmp), 0);
    int rc = lp_probe_host("data", &p, err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    snprintf(expected, sizeof expected, "%s/data", tmp);
    assert_string_equal(p.disk_path, expected);
    assert_string_equal(p.disk_measured_at, tmp);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    lp_probe_print(out, &p);
    fclose(out);
    snprintf(expected, sizeof expected, " at %s/data (not created yet: measured at %s)\n", tmp,
             tmp);
    if (strstr(text, expected) == NULL)
        fail_msg("no \"%s\" in:\n%s", expected, text);
    free(text);
}

/* Measured on the data's own file system, not the current folder's. */
static void test_other_file_system(void **state)
{
    (void)state;
    struct statvfs here, shm;
    if (statvfs("/dev/shm", &shm) != 0 || statvfs(tmp, &here) != 0 || shm.f_fsid == here.f_fsid ||
        (uint64_t)shm.f_blocks * shm.f_frsize == total_bytes(tmp)) {
        lp_skip_because("no /dev/shm on a file system of another size than %s", tmp);
    }
    struct lp_probe p;
    char err[256];
    assert_int_equal(lp_probe_host("/dev/shm/lp-test-probe-never-created", &p, err, sizeof err), 0);
    assert_string_equal(p.disk_measured_at, "/dev/shm");
    assert_int_equal(p.disk_total, total_bytes("/dev/shm"));
}

static void test_cli_probe_names_the_data_folder(void **state)
{
    (void)state;
    char cfg[PATH_MAX + 16], cmd[3 * PATH_MAX], expected[2 * PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/p.cfg", tmp);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs("gpu = \"none\";\nprovider: { work_dir = \"data\"; };\n", f);
    fclose(f);
    /* Run from elsewhere: the work_dir is relative to the configuration file, not the cwd. */
    snprintf(cmd, sizeof cmd, "cd / && '%s' provider --probe -c '%s' 2>&1", LILYPAD, cfg);
    for (int created = 0; created < 2; created++) {
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char out[8192];
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        int status = pclose(p);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
            fail_msg("exit %d:\n%s", WEXITSTATUS(status), out);
        if (created)
            snprintf(expected, sizeof expected, " at %s/data\n", tmp);
        else
            snprintf(expected, sizeof expected, " at %s/data (not created yet: measured at %s)\n",
                     tmp, tmp);
        if (strstr(out, expected) == NULL)
            fail_msg("no \"%s\" in:\n%s", expected, out);
        snprintf(expected, sizeof expected, "%s/data", tmp);
        if (!created)
            assert_int_equal(mkdir(expected, 0700), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_existing_work_dir),
        cmocka_unit_test(test_work_dir_not_created_yet),
        cmocka_unit_test(test_other_file_system),
        cmocka_unit_test(test_cli_probe_names_the_data_folder),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, setup, teardown));
}
