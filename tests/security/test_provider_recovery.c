/* Attacks on the provider's delivery of a finished job, against an in-process solver reached
 * through a proxy that can stall or fail the outputs upload (solver_proxy.h), with the real
 * provider (in-process, or the built binary where it must be killed):
 *   - the provider is SIGKILLed while its outputs upload hangs (journal: STORED): the next
 *     start must upload and post the result, not leave the deal to the download timeout;
 *   - the solver answers the upload 503 twice: the provider must try again and deliver, not
 *     post a failure;
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
#include "solver_proxy.h"
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

static void journal_path(int n, char *out, size_t cap)
{
    snprintf(out, cap, "%s/work%d/journal.sqlite", tmp, n);
}

/* The deal's journal step, 0 when unknown (or the journal cannot be read yet). */
static int journal_step(int n, const uint8_t deal[32])
{
    char path[256], err[256];
    journal_path(n, path, sizeof path);
    struct lp_journal *j = NULL;
    if (access(path, F_OK) != 0 || lp_journal_open(path, &j, err, sizeof err) != 0)
        return 0;
    struct lp_journal_entry e;
    int step = lp_journal_get(j, deal, &e) == 0 ? e.step : 0;
    lp_journal_close(j);
    return step;
}

/* The built provider as a child process, stderr appended to log. */
static pid_t spawn_provider(const char *cfg, const char *log, bool once)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/lilypad", LP_BINARY_DIR);
    if (access(bin, X_OK) != 0)
        fail_msg("%s is missing: build the lilypad target first", bin);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 2);
        if (once)
            execl(bin, bin, "provider", "-c", cfg, "--once", (char *)NULL);
        else
            execl(bin, bin, "provider", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    return child;
}

/* The deal's outputs as the job creator downloads them, unpacked into dir; -1 when there are
 * none. */
static int download_outputs(const uint8_t deal[32], const char *dir)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    char err[512];
    if (lp_client_download(creator, deal, "outputs", &blob, &len, &e) != 0)
        return -1;
    int rc = lp_tarball_unpack(blob, len, dir, 0, err, sizeof err);
    free(blob);
    if (rc != 0)
        fail_msg("the outputs do not unpack: %s", err);
    return 0;
}

static void assert_delivered(const uint8_t deal[32], const char *file, const char *text)
{
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (r.error[0])
        fail_msg("the result carries an error instead of the outputs: %s", r.error);
    assert_int_equal(st, 2 /* RESULTS_SUBMITTED */);
    assert_true(strncmp(r.cid, "Qm", 2) == 0);
    lp_result_free(&r);
    char dir[256], path[320];
    snprintf(dir, sizeof dir, "%s/got-%d", tmp, cfg_counter);
    assert_int_equal(download_outputs(deal, dir), 0);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *got = read_text_file(path);
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
}

static void test_killed_during_upload_delivers_after_restart(void **state)
{
    (void)state;
    char cfg[256], log[256];
    config_via_proxy(cfg, sizeof cfg, NULL);
    int n = cfg_counter;
    snprintf(log, sizeof log, "%s/provider%d.log", tmp, n);
    atomic_store(&px.hold_uploads, true);
    int held_before = atomic_load(&px.uploads_held);
    pid_t child = spawn_provider(cfg, log, false);
    uint8_t job[32], deal[32];
    usleep(300000);
    post_job("echo finished; echo kept > /outputs/kept.txt", job);
    deal_of(job, deal);
    /* The job ran and its result is stored; the upload hangs at the solver. */
    bool stalled = false;
    for (int i = 0; i < 6000 && !stalled; i++) {
        stalled =
            journal_step(n, deal) == LP_JSTEP_STORED && atomic_load(&px.uploads_held) > held_before;
        if (!stalled)
            usleep(10000);
    }
    assert_true(stalled);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    atomic_store(&px.hold_uploads, false);

    /* Restarted on the same configuration, the provider finishes the delivery. */
    struct prov_thread t;
    start_provider(&t, cfg, true);
    join_provider(&t);
    assert_int_equal(journal_step(n, deal), LP_JSTEP_POSTED);
    assert_delivered(deal, "outputs/kept.txt", "kept\n");
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
    while (fgets(line, sizeof line, f))
        n += strstr(line, a) && strstr(line, b);
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
    pid_t child = spawn_provider(cfg, log, false);
    usleep(300000);
    /* Each job leaves 3.5 MB: its archive for the upload does not fit beside it. */
    for (int k = 0; k < 2; k++) {
        uint8_t job[32], deal[32];
        const struct job_ask ask = {IMAGE, 500, 64u << 20, 4u << 20};
        post_job_asking("head -c 3500000 /dev/zero > /outputs/a; echo ok", &ask, job);
        deal_of(job, deal);
        wait_result(deal);
        struct lp_result r;
        int st;
        result_of(deal, &r, &st);
        assert_non_null(strstr(r.error, "No space left on device"));
        lp_result_free(&r);
    }
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    int lines = lines_with(log, "is full", "hint:");
    if (lines != 1)
        fail_msg("%d lines say the disk is full with a hint (expected exactly 1; see %s)", lines,
                 log);
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
    if (provider_fixture_setup("security_provider_recovery", "/tmp/lp-sec-recovery-XXXXXX") != 0)
        return -1;
    return solver_proxy_start(&px, lp_solver_http_port(http));
}

static int group_teardown(void **state)
{
    (void)state;
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
        cmocka_unit_test(test_killed_during_upload_delivers_after_restart),
        cmocka_unit_test(test_failing_solver_upload_retried),
        cmocka_unit_test(test_finished_folders_removed),
        cmocka_unit_test(test_full_disk_logged_once),
        cmocka_unit_test(test_full_journal_logged_once),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
