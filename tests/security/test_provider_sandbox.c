/* Attacks on the provider by the modules it runs, with the real provider, executor/process
 * under bubblewrap and an in-process solver:
 *   - a module that asks for 0 memory or 0 disk must still run under a limit (the provider's
 *     job_ram / job_disk), and one that asks for more than a slot gives is refused with a line
 *     naming both amounts (the limit policy, checked on its own);
 *   - a job reading its sandbox's /proc/1/cmdline and /proc/1/environ must not learn the host's
 *     paths (bwrap's command line names the job's folders);
 *   - the errors posted for a job (an image not in the store, a named pipe left in /outputs)
 *     must not carry the provider's filesystem layout.
 * Needs /usr/bin/bwrap and busybox-static (scripts/install-deps.sh). */
#include <fcntl.h>

#include "../unit/provider_fixtures.h"
#include "../unit/skip_reason.h"
#include "provider/job_plan.h"
#include "util/tarball.h"

/* Runs one job on a fresh provider (--once) configured with extra; returns its deal. */
static void run_job(const char *extra, const char *script, const struct job_ask *ask,
                    uint8_t deal[32])
{
    char cfg[256];
    make_config(cfg, sizeof cfg, extra);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32];
    post_job_asking(script, ask, job);
    deal_of(job, deal);
    join_provider(&t);
}

/* The job's stdout as the job creator downloads it (malloc'd), NULL without outputs. */
static char *stdout_of(const uint8_t deal[32])
{
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    if (lp_client_download(creator, deal, "outputs", &blob, &len, &e) != 0)
        return NULL;
    char dir[256], path[300], err[512];
    snprintf(dir, sizeof dir, "%s/stdout-%d", tmp, cfg_counter);
    int rc = lp_tarball_unpack(blob, len, dir, 0, err, sizeof err);
    free(blob);
    if (rc != 0)
        fail_msg("the outputs do not unpack: %s", err);
    snprintf(path, sizeof path, "%s/stdout", dir);
    return read_text_file(path);
}

static void test_zero_memory_ask_still_limited(void **state)
{
    (void)state;
    const struct job_ask ask = {IMAGE, 0, 0, 0};
    uint8_t deal[32];
    /* dd's 48 MiB buffer is touched page by page: past a 24 MiB limit it is killed (memory
     * cgroup) or cannot allocate it (rlimit). */
    run_job("job_ram = \"24M\";", "dd if=/dev/zero of=/dev/null bs=48M count=1 && echo filled",
            &ask, deal);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (r.exit_code == 0 && r.termination == LP_TERMINATION_EXITED)
        fail_msg("a job asking for no memory filled 48 MiB past the provider's 24 MiB default");
    lp_result_free(&r);
}

static void test_zero_disk_ask_still_capped(void **state)
{
    (void)state;
    const struct job_ask ask = {IMAGE, 0, 0, 0};
    uint8_t deal[32];
    run_job("job_disk = \"1M\";", "head -c 3000000 /dev/zero > /outputs/big && echo wrote", &ask,
            deal);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (r.exit_code == 0 && r.error[0] == '\0')
        fail_msg("a job asking for no disk wrote 3 MB to /outputs past the provider's 1 MiB "
                 "default");
    lp_result_free(&r);
}

static void test_limit_policy(void **state)
{
    (void)state;
    const struct lp_job_limit_policy pol = {
        .max_cpu = 2000,
        .max_ram = 512u << 20,
        .max_disk = 64u << 20,
        .def_cpu = 1000,
        .def_ram = 128u << 20,
        .def_disk = 16u << 20,
        .pids = 256,
    };
    char err[512];
    struct lp_job_plan plan;
    memset(&plan, 0, sizeof plan);
    assert_int_equal(lp_job_plan_apply_limits(&plan, &pol, err, sizeof err), 0);
    assert_int_equal(plan.cpu_millicores, 1000);
    assert_int_equal(plan.ram_bytes, 128u << 20);
    assert_int_equal(plan.disk_bytes, 16u << 20);
    assert_int_equal(plan.max_pids, 256);
    /* What a job asks for, within the maximum, it gets. */
    plan.cpu_millicores = 2000;
    plan.ram_bytes = 100u << 20;
    plan.disk_bytes = 1u << 20;
    assert_int_equal(lp_job_plan_apply_limits(&plan, &pol, err, sizeof err), 0);
    assert_int_equal(plan.cpu_millicores, 2000);
    assert_int_equal(plan.ram_bytes, 100u << 20);
    assert_int_equal(plan.disk_bytes, 1u << 20);
    /* More than a slot gives: refused with both amounts, not clamped. */
    plan.ram_bytes = 1024u << 20;
    assert_int_equal(lp_job_plan_apply_limits(&plan, &pol, err, sizeof err), -1);
    assert_non_null(strstr(err, "1024.0 MiB of memory"));
    assert_non_null(strstr(err, "at most 512.0 MiB"));
    assert_int_equal(plan.ram_bytes, 1024u << 20);
    plan.ram_bytes = 0;
    plan.cpu_millicores = 4000;
    assert_int_equal(lp_job_plan_apply_limits(&plan, &pol, err, sizeof err), -1);
    assert_non_null(strstr(err, "4000 millicores of CPU"));
    plan.cpu_millicores = 0;
    plan.disk_bytes = 65u << 20;
    assert_int_equal(lp_job_plan_apply_limits(&plan, &pol, err, sizeof err), -1);
    assert_non_null(strstr(err, "of disk"));
}

static void test_sandbox_shows_no_host_path(void **state)
{
    (void)state;
    uint8_t deal[32];
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 16u << 20};
    run_job(NULL,
            "echo cmdline:; tr '\\000' ' ' < /proc/1/cmdline; echo; echo environ:; "
            "tr '\\000' ' ' < /proc/1/environ; echo; echo self:; tr '\\000' ' ' < "
            "/proc/self/cmdline; echo",
            &ask, deal);
    char *out = stdout_of(deal);
    assert_non_null(out);
    assert_non_null(strstr(out, "cmdline:"));
    assert_non_null(strstr(out, "/proc/1/cmdline")); /* the job's own entrypoint is there */
    if (strstr(out, tmp))
        fail_msg("the job read the host's paths (%s...) in its sandbox:\n%s", tmp, out);
    free(out);
}

static void test_errors_show_no_host_path(void **state)
{
    (void)state;
    uint8_t deal[32];
    struct lp_result r;
    int st;
    /* The executor cannot find the image: it names its store. */
    const struct job_ask absent = {"lilypad-example/absent:v1", 500, 64u << 20, 16u << 20};
    run_job(NULL, "echo never", &absent, deal);
    result_of(deal, &r, &st);
    assert_non_null(strstr(r.error, "absent"));
    if (strstr(r.error, tmp))
        fail_msg("the posted error carries the provider's paths: %s", r.error);
    lp_result_free(&r);
    /* A named pipe in /outputs: whoever stores or packs it names its path. */
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 16u << 20};
    run_job(NULL, "mkfifo /outputs/pipe; echo made", &ask, deal);
    result_of(deal, &r, &st);
    assert_non_null(strstr(r.error, "outputs/pipe"));
    if (strstr(r.error, tmp))
        fail_msg("the posted error carries the provider's paths: %s", r.error);
    lp_result_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    return provider_fixture_setup("security_provider_sandbox", "/tmp/lp-sec-sandbox-XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    return provider_fixture_teardown();
}

int main(void)
{
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        printf("skipped: /usr/bin/bwrap is missing (apt-get install bubblewrap)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_memory_ask_still_limited),
        cmocka_unit_test(test_zero_disk_ask_still_capped),
        cmocka_unit_test(test_limit_policy),
        cmocka_unit_test(test_sandbox_shows_no_host_path),
        cmocka_unit_test(test_errors_show_no_host_path),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
