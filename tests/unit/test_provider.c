/* The provider against an in-process solver on an ephemeral 127.0.0.1 port, with the real
 * embedded plugins (executor/process under bubblewrap on the cowsay example image, storage/local,
 * verifier/ledger, hashrate/cpu): a job's result is posted with the CID of its outputs
 * (recomputed here with core/cid from the downloaded blob), a denied module is refused with its
 * reason, and a provider killed with SIGKILL mid-job fails that deal clearly on restart.
 * Also the pure parts: allow/deny matching, tar blobs, journal, wei parsing.
 * Needs /usr/bin/bwrap and busybox-static (scripts/install-deps.sh). */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cid/cid.h"
#include "cid/importer.h"
#include "client/client.h"
#include "config/config.h"
#include "crypto/keccak.h"
#include "crypto/keyfile.h"
#include "crypto/random.h"
#include "image/fs_tree.h"
#include "image/store.h"
#include "provider/journal.h"
#include "provider/policy.h"
#include "provider/provider.h"
#include "provider/settings.h"
#include "util/tarball.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "util/hex.h"
#include "wire/object.h"

#include "provider_fixtures.h"

/* ---- pure parts --------------------------------------------------------------------------- */

static void test_policy_forms(void **state)
{
    (void)state;
    struct lp_module_identity m = {.repo = "https://github.com/Lilypad-Tech/lilypad-module-cowsay",
                                   .commit = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                                   .image = "busybox@sha256:"
                                            "1111111111111111111111111111111111"
                                            "111111111111111111111111111111",
                                   .image_digest = "sha256:2222222222222222222222222222222222222"
                                                   "222222222222222222222222222"};
    assert_true(lp_policy_entry_matches("cowsay", &m));
    assert_true(lp_policy_entry_matches("lilypad-module-cowsay", &m));
    assert_false(lp_policy_entry_matches("cow", &m));
    assert_true(lp_policy_entry_matches("github.com/Lilypad-Tech/lilypad-module-cowsay.git", &m));
    assert_false(lp_policy_entry_matches("github.com/other/lilypad-module-cowsay", &m));
    assert_true(lp_policy_entry_matches(
        "https://github.com/Lilypad-Tech/lilypad-module-cowsay@a1b2c3d", &m));
    assert_false(lp_policy_entry_matches(
        "https://github.com/Lilypad-Tech/lilypad-module-cowsay@a1b2c3e", &m));
    assert_true(lp_policy_entry_matches("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", &m));
    assert_true(lp_policy_entry_matches(
        "sha256:1111111111111111111111111111111111111111111111111111111111111111", &m));
    assert_true(lp_policy_entry_matches(
        "sha256:2222222222222222222222222222222222222222222222222222222222222222", &m));
    assert_false(lp_policy_entry_matches(
        "sha256:3333333333333333333333333333333333333333333333333333333333333333", &m));

    const char *allow_items[] = {"sdxl"}, *deny_items[] = {"cowsay"};
    struct lp_str_list none = {0, NULL}, allow = {1, allow_items}, deny = {1, deny_items};
    char reason[512];
    assert_int_equal(lp_policy_check(&none, &none, &m, reason, sizeof reason), 0);
    assert_int_equal(lp_policy_check(&allow, &none, &m, reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "not on its allowlist"));
    assert_int_equal(lp_policy_check(&none, &deny, &m, reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "denylist (entry \"cowsay\")"));

    const char *bad_items[] = {"ok", "has space"};
    struct lp_str_list bad = {2, bad_items};
    assert_int_equal(lp_policy_validate(&bad, "provider.deny", reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "provider.deny[1]"));
}

static void test_wei_parse(void **state)
{
    (void)state;
    struct lp_u256 v;
    assert_int_equal(lp_provider_parse_wei("1000000000000000000", &v), 0);
    uint64_t u;
    assert_int_equal(lp_wei_to_u64(&v, &u), 0);
    assert_true(u == 1000000000000000000ull);
    assert_int_equal(lp_provider_parse_wei("12a", &v), -1);
    assert_int_equal(lp_provider_parse_wei("", &v), -1);
    /* 2^256 overflows, 2^256-1 fits */
    assert_int_equal(lp_provider_parse_wei("115792089237316195423570985008687907853269984665640"
                                           "564039457584007913129639936",
                                           &v),
                     -1);
    assert_int_equal(lp_provider_parse_wei("115792089237316195423570985008687907853269984665640"
                                           "564039457584007913129639935",
                                           &v),
                     0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(v.be[i], 0xff);
}

static char *read_text(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_tarball_roundtrip(void **state)
{
    (void)state;
    char src[128], dst[128], path[256];
    snprintf(src, sizeof src, "%s/tar-src", tmp);
    snprintf(dst, sizeof dst, "%s/tar-dst", tmp);
    snprintf(path, sizeof path, "%s/sub", src);
    assert_int_equal(lp_fs_mkdir_p(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sub/b.txt", src);
    write_file(path, "bee\n");
    snprintf(path, sizeof path, "%s/a.txt", src);
    write_file(path, "a\n");
    uint8_t *blob = NULL, *blob2 = NULL;
    size_t len = 0, len2 = 0;
    char err[512];
    assert_int_equal(lp_tarball_pack(src, 0, &blob, &len, err, sizeof err), 0);
    assert_int_equal(lp_tarball_pack(src, 0, &blob2, &len2, err, sizeof err), 0);
    assert_true(len == len2 && memcmp(blob, blob2, len) == 0); /* reproducible */
    free(blob2);
    assert_int_equal(lp_tarball_pack(src, 100, &blob2 /* unused */, &len2, err, sizeof err), -1);
    assert_int_equal(lp_tarball_unpack(blob, len, dst, 0, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/sub/b.txt", dst);
    assert_string_equal(read_text(path), "bee\n");
    assert_int_equal(lp_tarball_unpack(blob, len, dst, 3, err, sizeof err), -1); /* size cap */
    free(blob);
    free(blob2);
    /* A hand-made archive whose entry climbs out is refused. */
    uint8_t evil[1536];
    memset(evil, 0, sizeof evil);
    strcpy((char *)evil, "../escape.txt");
    memcpy(evil + 100, "0000644\0", 8);
    memcpy(evil + 108, "0000000\0", 8);
    memcpy(evil + 116, "0000000\0", 8);
    memcpy(evil + 124, "00000000002\0", 12);
    memcpy(evil + 136, "00000000000\0", 12);
    evil[156] = '0';
    memcpy(evil + 257,
           "ustar\0"
           "00",
           8);
    memset(evil + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += evil[i];
    snprintf((char *)evil + 148, 8, "%06o", sum);
    memcpy(evil + 512, "x\n", 2);
    assert_int_equal(lp_tarball_unpack(evil, sizeof evil, dst, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "refused"));
    snprintf(path, sizeof path, "%s/escape.txt", tmp);
    assert_int_not_equal(access(path, F_OK), 0);
}

#define ID_HEX "1111111111111111111111111111111111111111111111111111111111111111"

static void test_journal_steps(void **state)
{
    (void)state;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/journal-test.sqlite", tmp);
    struct lp_journal *j;
    assert_int_equal(lp_journal_open(path, &j, err, sizeof err), 0);
    struct lp_journal_entry e = {.step = LP_JSTEP_RUNNING, .slot = 0};
    memset(e.deal_id, 7, sizeof e.deal_id);
    strcpy(e.handle, "job-1");
    assert_int_equal(lp_journal_put(j, &e), 0);
    lp_journal_close(j);
    assert_int_equal(lp_journal_open(path, &j, err, sizeof err), 0); /* survives a reopen */
    struct lp_journal_entry got;
    assert_int_equal(lp_journal_get(j, e.deal_id, &got), 0);
    assert_int_equal(got.step, LP_JSTEP_RUNNING);
    assert_string_equal(got.handle, "job-1");
    uint8_t other[32] = {1};
    assert_int_equal(lp_journal_get(j, other, &got), 1);
    e.step = LP_JSTEP_RAN;
    e.termination = LP_TERMINATION_OOM_KILLED; /* how the job ended survives a restart too */
    assert_int_equal(lp_journal_put(j, &e), 0);
    lp_journal_close(j);
    assert_int_equal(lp_journal_open(path, &j, err, sizeof err), 0);
    assert_int_equal(lp_journal_get(j, e.deal_id, &got), 0);
    assert_int_equal(got.termination, LP_TERMINATION_OOM_KILLED);
    e.step = LP_JSTEP_POSTED;
    assert_int_equal(lp_journal_put(j, &e), 0);
    lp_journal_close(j);
}

/* A journal written before it had the termination column opens, keeps its rows (termination
 * unknown) and takes new ones. */
static void test_journal_from_before_termination(void **state)
{
    (void)state;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/journal-old.sqlite", tmp);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE deals (deal_id BLOB PRIMARY KEY, step INTEGER NOT "
                                  "NULL, slot INTEGER NOT NULL, handle TEXT NOT NULL, cid TEXT NOT "
                                  "NULL, exit_code INTEGER NOT NULL, error TEXT NOT NULL, "
                                  "updated_ms INTEGER NOT NULL);"
                                  "INSERT INTO deals VALUES (x'" ID_HEX "', 3, 0, 'job-9', "
                                  "'', 0, '', 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    struct lp_journal *j;
    assert_int_equal(lp_journal_open(path, &j, err, sizeof err), 0);
    struct lp_journal_entry got;
    uint8_t id[32];
    memset(id, 0x11, sizeof id);
    assert_int_equal(lp_journal_get(j, id, &got), 0);
    assert_int_equal(got.step, LP_JSTEP_RAN);
    assert_string_equal(got.handle, "job-9");
    assert_int_equal(got.termination, LP_TERMINATION_UNKNOWN);
    got.termination = LP_TERMINATION_TIMED_OUT;
    assert_int_equal(lp_journal_put(j, &got), 0);
    assert_int_equal(lp_journal_get(j, id, &got), 0);
    assert_int_equal(got.termination, LP_TERMINATION_TIMED_OUT);
    lp_journal_close(j);
}

/* ---- against the solver -------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    return provider_fixture_setup("test_provider", "/tmp/lp-test-prov-XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    return provider_fixture_teardown();
}

static void test_job_result_cid(void **state)
{
    (void)state;
    char cfg[256];
    make_config(cfg, sizeof cfg, NULL);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32], deal[32];
    post_job("echo hello from the sandbox; mkdir /outputs/d; echo data > /outputs/d/a.txt; "
             "echo warn >&2",
             job);
    deal_of(job, deal);
    join_provider(&t); /* --once: returns after the deal */

    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_int_equal(st, 2 /* RESULTS_SUBMITTED */);
    assert_string_equal(r.error, "");
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.version, LP_RESULT_VERSION);
    assert_int_equal(r.termination, LP_TERMINATION_EXITED);
    assert_true(strncmp(r.cid, "Qm", 2) == 0);

    /* The job creator's view: outputs unpacked, CID recomputed, stdout digest checked. */
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    assert_int_equal(lp_client_download(creator, deal, "outputs", &blob, &len, &e), 0);
    char dir[128], err[512], path[256];
    snprintf(dir, sizeof dir, "%s/downloaded", tmp);
    assert_int_equal(lp_tarball_unpack(blob, len, dir, 0, err, sizeof err), 0);
    free(blob);
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    opt.include_hidden = true;
    struct lp_cid_node root;
    assert_int_equal(lp_cid_import_path(dir, &opt, NULL, NULL, &root, NULL, err, sizeof err), 0);
    char text[LP_CID_STRING_MAX];
    lp_cid_format(&root.cid, text);
    assert_string_equal(text, r.cid);
    snprintf(path, sizeof path, "%s/stdout", dir);
    char *out = read_text(path);
    assert_non_null(out);
    assert_string_equal(out, "hello from the sandbox\n");
    uint8_t k[32];
    lp_keccak256(out, strlen(out), k);
    assert_memory_equal(k, r.stdout_digest.keccak, 32);
    assert_int_equal(r.stdout_digest.size, strlen(out));
    snprintf(path, sizeof path, "%s/outputs/d/a.txt", dir);
    assert_string_equal(read_text(path), "data\n");
    snprintf(path, sizeof path, "%s/exitCode", dir);
    assert_string_equal(read_text(path), "0");
    lp_result_free(&r);
}

static void test_denied_module_refused(void **state)
{
    (void)state;
    /* Denied by its commit: a bundle's hash (the fixtures' modules are bundles). */
    char cfg[256], commit[65], deny[128], entry[128];
    job_module_commit("echo must not run", commit);
    snprintf(deny, sizeof deny, "deny = [\"%s\"];", commit);
    snprintf(entry, sizeof entry, "denylist (entry \"%s\")", commit);
    make_config(cfg, sizeof cfg, deny);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32], deal[32];
    post_job("echo must not run", job);
    deal_of(job, deal);
    join_provider(&t);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_non_null(strstr(r.error, entry));
    assert_int_equal(r.termination, LP_TERMINATION_NOT_RUN);
    assert_string_equal(r.cid, "");
    lp_result_free(&r);
}

/* How many processes have `text` in their command line (/proc/<pid>/cmdline). */
static int processes_mentioning(const char *text)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[4096];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        for (ssize_t i = 0; i < len; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[len > 0 ? len : 0] = '\0';
        if (strstr(buf, text))
            n++;
    }
    closedir(d);
    return n;
}

static void test_killed_mid_job_fails_clearly(void **state)
{
    (void)state;
    char cfg[256];
    make_config(cfg, sizeof cfg, NULL);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/lilypad", LP_BINARY_DIR);
    if (access(bin, X_OK) != 0)
        fail_msg("%s is missing: build the lilypad target first", bin);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execl(bin, bin, "provider", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    /* The child's offer is visible as soon as a job offer gets matched. */
    uint8_t job[32], deal[32];
    usleep(300000);
    post_job("echo started; sleep 30", job);
    deal_of(job, deal);
    /* Wait until the child journalled the job as running, then kill it. */
    char jpath[256], err[256];
    snprintf(jpath, sizeof jpath, "%s/work%d/journal.sqlite", tmp, cfg_counter);
    bool running = false;
    char marker[160] = "";
    for (int i = 0; i < 1000 && !running; i++) {
        struct lp_journal *j = NULL;
        if (access(jpath, F_OK) == 0 && lp_journal_open(jpath, &j, err, sizeof err) == 0) {
            struct lp_journal_entry e;
            running = lp_journal_get(j, deal, &e) == 0 && e.step == LP_JSTEP_RUNNING;
            if (running) /* the sandbox's command line starts with lilypad-sandbox:TAG:JOB */
                snprintf(marker, sizeof marker, ":%s ", e.handle);
            lp_journal_close(j);
        }
        if (!running)
            usleep(10000);
    }
    assert_true(running);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);

    /* Restart on the same configuration: the journal names the deal, the executor no longer
     * knows the job (it died with its parent), so the deal is failed with that reason. */
    struct prov_thread t;
    start_provider(&t, cfg, true);
    join_provider(&t);
    /* Nothing of the killed provider's job runs on: bwrap dies with it, and where a cgroup
     * holds the job, the restarted executor kills what the sandbox left. */
    char jobs_dir[300];
    snprintf(jobs_dir, sizeof jobs_dir, "%s/jobs%d/", tmp, cfg_counter);
    int left = processes_mentioning(jobs_dir) + processes_mentioning(marker);
    if (left != 0)
        fail_msg("%d processes of the killed provider's job are still running", left);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_non_null(strstr(r.error, "lost executor job"));
    assert_int_equal(r.termination, LP_TERMINATION_NOT_RUN);
    struct lp_journal *j;
    assert_int_equal(lp_journal_open(jpath, &j, err, sizeof err), 0);
    struct lp_journal_entry e;
    assert_int_equal(lp_journal_get(j, deal, &e), 0);
    assert_int_equal(e.step, LP_JSTEP_POSTED);
    lp_journal_close(j);
    lp_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_forms),
        cmocka_unit_test(test_wei_parse),
        cmocka_unit_test(test_tarball_roundtrip),
        cmocka_unit_test(test_journal_steps),
        cmocka_unit_test(test_journal_from_before_termination),
        cmocka_unit_test(test_job_result_cid),
        cmocka_unit_test(test_denied_module_refused),
        cmocka_unit_test(test_killed_mid_job_fails_clearly),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
