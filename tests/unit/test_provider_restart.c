/* A provider killed (SIGKILL) between the steps of delivering a finished job resumes the
 * delivery on its next start, from the step its journal shows: killed while the outputs upload
 * hangs (journal: STORED) it uploads and posts; killed while the result post hangs (UPLOADED)
 * it posts. A proxy in front of the in-process solver holds the request (solver_proxy.h); the
 * killed provider is the built binary, the restarted one runs in-process.
 * Needs /usr/bin/bwrap and busybox-static (scripts/install-deps.sh). */
#include <signal.h>

#include "provider_fixtures.h"
#include "solver_proxy.h"

static struct solver_proxy px;
static pid_t child = -1; /* killed by the teardown if a test failed before it did */

static void config_via_proxy(char *cfg, size_t cap)
{
    char saved[sizeof url];
    snprintf(saved, sizeof saved, "%s", url);
    snprintf(url, sizeof url, "%s", px.url);
    make_config(cfg, cap, NULL);
    snprintf(url, sizeof url, "%s", saved);
}

/* Runs a job on a provider process until its journal shows `step` with the held request at
 * the proxy, kills it there, and lets a restarted provider finish the deal. */
static void kill_at_and_restart(int step, atomic_bool *hold, atomic_int *held, const char *file,
                                const char *text)
{
    char cfg[256], log[256], script[256];
    config_via_proxy(cfg, sizeof cfg);
    int n = cfg_counter;
    snprintf(log, sizeof log, "%s/provider%d.log", tmp, n);
    atomic_store(hold, true);
    int held_before = atomic_load(held);
    child = spawn_provider(cfg, log, false);
    uint8_t job[32], deal[32];
    snprintf(script, sizeof script, "echo %s > /%s", text, file);
    post_job(script, job);
    deal_of(job, deal);
    bool stalled = false;
    for (int i = 0; i < 6000 && !stalled; i++) {
        stalled = journal_step(n, deal) == step && atomic_load(held) > held_before;
        if (!stalled)
            usleep(10000);
    }
    if (!stalled)
        fail_msg("the provider never stalled at journal step %s (see %s)",
                 lp_journal_step_name(step), log);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    child = -1;
    atomic_store(hold, false);

    struct prov_thread t;
    start_provider(&t, cfg, true);
    join_provider(&t);
    assert_int_equal(journal_step(n, deal), LP_JSTEP_POSTED);
    char want[64];
    snprintf(want, sizeof want, "%s\n", text);
    assert_delivered(deal, file, want);
}

static void test_killed_during_upload_delivers_after_restart(void **state)
{
    (void)state;
    kill_at_and_restart(LP_JSTEP_STORED, &px.hold_uploads, &px.uploads_held, "outputs/up.txt",
                        "uploaded-after-restart");
}

static void test_killed_during_post_delivers_after_restart(void **state)
{
    (void)state;
    kill_at_and_restart(LP_JSTEP_UPLOADED, &px.hold_results, &px.results_held, "outputs/posted.txt",
                        "posted-after-restart");
}

static int group_setup(void **state)
{
    (void)state;
    if (solver_proxy_bind(&px) != 0)
        return -1;
    snprintf(fixture_proxy_host, sizeof fixture_proxy_host, "%s", px.url + strlen("http://"));
    if (provider_fixture_setup("test_provider_restart", "/tmp/lp-test-restart-XXXXXX") != 0)
        return -1;
    return solver_proxy_run(&px, lp_solver_http_port(http));
}

static int group_teardown(void **state)
{
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    solver_proxy_stop(&px);
    return provider_fixture_teardown();
}

int main(void)
{
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        printf("skipped: /usr/bin/bwrap is missing (apt-get install bubblewrap)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_during_upload_delivers_after_restart),
        cmocka_unit_test(test_killed_during_post_delivers_after_restart),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
