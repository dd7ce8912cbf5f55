/* Attacks on the provider's delivery of a finished job, against an in-process solver reached
 * through a proxy that can fail the outputs upload (tests/unit/solver_proxy.h), with the real
 * provider (in-process, or the built binary where its log is read):
 *   - the solver answers the upload 503 twice: the provider must try again and deliver, not
 *     post a failure and leave the job creator without the outputs;
 *   - finished deals' folders must not pile up in work_dir: removed when the deal is posted,
 *     and at start for every deal the journal shows finished;
 *   - a full disk (a small tmpfs as work_dir, root only) is logged once with a hint, for the
 *     results and for the journal.
 * Needs /usr/bin/bwrap and busybox-static (scripts/install-deps.sh). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "../unit/provider_fixtures.h"
#include "../unit/skip_reason.h"
#include "provider/journal.h"
#include "../unit/solver_proxy.h"
#include "util/tarball.h"

static struct solver_proxy px;
static char mounted[2][256]; /* small disks, unmounted by the teardown whatever happened */

/* A provider configuration whose solver is the proxy. */
static void config_via_proxy(char *cfg, size_t cap, const char *extra)
{
    char saved[sizeof url];
    snprintf(saved, sizeof saved, "%s", url);
    snprintf(url, sizeof url, "%s", px.url);
    make_config(cfg, cap, extra);
    snprintf(url, sizeof url, "%s", saved);
}

static void test_failing_solver_upload_retried(void **state)
{
    (void)state;
    char cfg[256];
    config_via_proxy(cfg, sizeof cfg, NULL);
    atomic_store(&px.fail_uploads, 2);
    int failed_before = atomic_load(&px.uploads_failed);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32], deal[32];
    post_job("echo retried > /outputs/r.txt", job);
    deal_of(job, deal);
    join_provider(&t);
    assert_int_equal(atomic_load(&px.uploads_failed) - failed_before, 2);
    assert_int_equal(journal_step(cfg_counter, deal), LP_JSTEP_POSTED);
    assert_delivered(deal, "outputs/r.txt", "retried\n");
}

static void seed_folder(int n, const uint8_t id[32], int step)
{
    char path[512], err[256], hex[70];
    lp_hex_encode(id, 32, hex);
    snprintf(path, sizeof path, "%s/work%d/deals/%s/result/outputs", tmp, n, hex);
    assert_int_equal(lp_fs_mkdir_p(path, 0755), 0);
    snprintf(path, sizeof path, "%s/work%d/deals/%s/result/stdout", tmp, n, hex);
    write_file(path, "old\n");
    if (step == 0)
        return;
    journal_path(n, path, sizeof path);
    struct lp_journal *j = NULL;
    assert_int_equal(lp_journal_open(path, &j, err, sizeof err), 0);
    struct lp_journal_entry e;
    memset(&e, 0, sizeof e);
    memcpy(e.deal_id, id, 32);
    e.step = step;
    e.slot = -1;
    assert_int_equal(lp_journal_put(j, &e), 0);
    lp_journal_close(j);
}

static bool deal_folder_exists(int n, const uint8_t id[32])
{
    char path[512], hex[70];
    lp_hex_encode(id, 32, hex);
    snprintf(path, sizeof path, "%s/work%d/deals/%s", tmp, n, hex);
    return access(path, F_OK) == 0;
}

static void test_finished_folders_removed(void **state)
{
    (void)state;
    char cfg[256], path[512];
    make_config(cfg, sizeof cfg, NULL);
    int n = cfg_counter;
    /* What an earlier run left: a posted deal's and an abandoned deal's folders, and a folder
     * that is no deal of ours. */
    uint8_t posted[32], abandoned[32];
    lp_random_bytes(posted, 32);
    lp_random_bytes(abandoned, 32);
    seed_folder(n, posted, LP_JSTEP_POSTED);
    seed_folder(n, abandoned, LP_JSTEP_ABANDONED);
    snprintf(path, sizeof path, "%s/work%d/deals/notes", tmp, n);
    assert_int_equal(lp_fs_mkdir_p(path, 0755), 0);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32], deal[32];
    post_job("echo done > /outputs/d.txt", job);
    deal_of(job, deal);
    join_provider(&t);
    assert_int_equal(journal_step(n, deal), LP_JSTEP_POSTED);
    if (deal_folder_exists(n, posted) || deal_folder_exists(n, abandoned))
        fail_msg("the folders of deals the journal shows finished are still in work_dir");
    if (deal_folder_exists(n, deal))
        fail_msg("the folder of the deal just posted is still in work_dir");
    assert_int_equal(access(path, F_OK), 0); /* not ours to remove */
}

/* Lines of file holding every one of the needles. */
static int lines_with(const char *file, const char *a, const char *b)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, a) && strstr(line, b)) {
            n++;
            printf("log: %s", line); /* shown with the test's output */
        }
    }
    fclose(f);
    return n;
}

/* Mounts a tmpfs of size bytes at path (root only): 0, or -1 with the reason printed. */
static int small_disk(const char *path, unsigned long size)
{
    char opts[64];
    snprintf(opts, sizeof opts, "size=%lu,mode=0755", size);
    if (lp_fs_mkdir_p(path, 0755) != 0 || mount("tmpfs", path, "tmpfs", 0, opts) != 0) {
        printf("cannot mount a small tmpfs at %s: %s (needs root)\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (!mounted[i][0]) {
            snprintf(mounted[i], sizeof mounted[i], "%s", path);
            break;
        }
    }
    return 0;
}

static void wait_result(const uint8_t deal[32])
{
    for (int i = 0; i < 6000; i++) {
        json_t *v = NULL;
        struct lp_client_error e;
        if (lp_client_get_deal(creator, deal, &v, &e) == 0) {
            bool has = json_is_string(json_object_get(v, "result"));
            json_decref(v);
            if (has)
                return;
        }
        usleep(10000);
    }
    fail_msg("no result within 60 s");
}

static pid_t child = -1; /* killed by the teardown if a test failed before it did */

static void test_full_disk_logged_once(void **state)
{
    (void)state;
    if (geteuid() != 0)
        lp_skip_because("a full disk is made with a small tmpfs, which needs root");
    char work[256], cfg[256], log[256];
    /* make_config's next work_dir is work<N+1>: a 6 MiB disk. */
    snprintf(work, sizeof work, "%s/work%d", tmp, cfg_counter + 1);
    if (small_disk(work, 6ul << 20) != 0)
        lp_skip_because("no tmpfs for a small disk");
    make_config(cfg, sizeof cfg, NULL);
    snprintf(log, sizeof log, "%s/provider%d.log", tmp, cfg_counter);
    child = spawn_provider(cfg, log, false);
    /* Each job leaves 3.5 MB in /outputs and prints 3.5 MB: the provider's copy of its stdout
     * does not fit beside them. Two deals, one line. */
    for (int k = 0; k < 2; k++) {
        uint8_t job[32], deal[32];
        const struct job_ask ask = {IMAGE, 500, 64u << 20, 4u << 20};
        post_job_asking("head -c 3500000 /dev/zero > /outputs/a; head -c 3500000 /dev/zero", &ask,
                        job);
        deal_of(job, deal);
        wait_result(deal);
    }
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    child = -1;
    /* The results' writes and the journal's each say it once. */
    int lines = lines_with(log, "results cannot be written", "hint:");
    int journal = lines_with(log, "the journal", "disk is full");
    if (lines != 1 || journal > 1)
        fail_msg("%d lines say the disk is full with a hint and %d the journal's (expected 1 and "
                 "at most 1; see %s)",
                 lines, journal, log);
}

static void test_full_journal_logged_once(void **state)
{
    (void)state;
    if (geteuid() != 0)
        lp_skip_because("a full disk is made with a small tmpfs, which needs root");
    char disk[256], path[320], log[256], err[256];
    snprintf(disk, sizeof disk, "%s/journal-disk", tmp);
    if (small_disk(disk, 256ul << 10) != 0)
        lp_skip_because("no tmpfs for a small disk");
    snprintf(path, sizeof path, "%s/journal.sqlite", disk);
    struct lp_journal *j = NULL;
    assert_int_equal(lp_journal_open(path, &j, err, sizeof err), 0);
    /* Fill what is left. */
    snprintf(path, sizeof path, "%s/filler", disk);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    close(fd);
    /* The provider's log is this process's stderr. */
    snprintf(log, sizeof log, "%s/journal.log", tmp);
    fflush(stderr);
    int saved = dup(2), lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(lf, 2);
    int failures = 0;
    for (int i = 0; i < 20; i++) {
        struct lp_journal_entry e;
        memset(&e, 0, sizeof e);
        lp_random_bytes(e.deal_id, 32);
        e.step = LP_JSTEP_TAKEN;
        e.slot = -1;
        memset(e.error, 'x', 1000);
        failures += lp_journal_put(j, &e) != 0;
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(lf);
    lp_journal_close(j);
    assert_true(failures > 0);
    int lines = lines_with(log, "is full", "hint:");
    int all = lines_with(log, "journal", "full");
    if (lines != 1 || all != 1)
        fail_msg("%d of %d journal lines say the disk is full with a hint (expected 1 of 1; see "
                 "%s)",
                 lines, all, log);
}

static int group_setup(void **state)
{
    (void)state;
    if (solver_proxy_bind(&px) != 0)
        return -1;
    snprintf(fixture_proxy_host, sizeof fixture_proxy_host, "%s", px.url + strlen("http://"));
    if (provider_fixture_setup("security_provider_recovery", "/tmp/lp-sec-recovery-XXXXXX") != 0)
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
    for (int i = 0; i < 2; i++)
        if (mounted[i][0])
            umount2(mounted[i], MNT_DETACH);
    return provider_fixture_teardown();
}

int main(void)
{
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        printf("skipped: /usr/bin/bwrap is missing (apt-get install bubblewrap)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_solver_upload_retried),
        cmocka_unit_test(test_finished_folders_removed),
        cmocka_unit_test(test_full_disk_logged_once),
        cmocka_unit_test(test_full_journal_logged_once),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
