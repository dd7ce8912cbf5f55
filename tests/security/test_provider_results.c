/* Attacks on the provider through what a job leaves behind, with the real provider,
 * executor/process under bubblewrap and an in-process solver:
 *   - a sparse file of 1 GiB (apparent) in /outputs must not take the provider's memory to its
 *     size: the result is capped (max_result) before it is stored, and packed for the upload
 *     into a file, never into memory whole (the packer checked on its own with a 512 MiB
 *     sparse file: capped, and streamed with no cap in bounded memory);
 *   - a result larger than max_result is refused with one line, nothing uploaded;
 *   - links to an absolute path or through ".." in /outputs are not delivered (dropped, and
 *     named in the result's error), and what is delivered still matches the signed CID;
 *   - honest awkward names (not UTF-8, ".wh.*" whiteout look-alikes, ".." inside a name)
 *     survive the round trip and the job creator's CID check.
 * Needs /usr/bin/bwrap and busybox-static (scripts/install-deps.sh). */
#include <fcntl.h>

#include <archive.h>
#include <archive_entry.h>

#include "../unit/provider_fixtures.h"
#include "../unit/skip_reason.h"
#include "jobcreator/verify.h"
#include "util/tarball.h"

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

/* kB of a /proc/self/status line ("VmHWM:", "VmRSS:"). */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0)
            kb = atol(line + strlen(key));
    if (f)
        fclose(f);
    return kb;
}

/* Resets the peak resident size to the current one (Linux 4.0+). */
static bool reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    bool ok = fd >= 0 && write(fd, "5", 1) == 1;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void test_sparse_output_does_not_fill_memory(void **state)
{
    (void)state;
    if (!reset_peak())
        lp_skip_because("/proc/self/clear_refs cannot reset the peak resident size here");
    long base = status_kb("VmHWM:");
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 0};
    uint8_t deal[32];
    run_job(NULL, "truncate -s 1G /outputs/sparse; echo done", &ask, deal);
    long grew = status_kb("VmHWM:") - base;
    if (grew > 256 * 1024)
        fail_msg("a 1 GiB sparse file in /outputs took the provider's memory up by %ld MiB",
                 grew / 1024);
    /* Whatever was delivered, it is not the sparse gigabyte. */
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    if (lp_client_download(creator, deal, "outputs", &blob, &len, &e) == 0) {
        assert_true(len < (64u << 20));
        free(blob);
    }
}

static void test_pack_streams_with_a_cap(void **state)
{
    (void)state;
    char dir[256], path[320], err[512];
    snprintf(dir, sizeof dir, "%s/sparse-src/outputs", tmp);
    assert_int_equal(lp_fs_mkdir_p(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/hole", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 512l << 20), 0); /* 512 MiB apparent, no blocks */
    close(fd);
    snprintf(dir, sizeof dir, "%s/sparse-src", tmp);
    struct lp_tarball_pack_options o;
    /* Capped: stops at the cap, the file it wrote no larger. */
    lp_tarball_pack_options_default(&o, 1u << 20);
    snprintf(path, sizeof path, "%s/capped.tar", tmp);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    uint64_t len = 0;
    assert_int_equal(lp_tarball_pack_to_fd(dir, &o, fd, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than 1048576 bytes"));
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(st.st_size <= (1 << 20));
    close(fd);
    /* Uncapped: the whole apparent size goes out, through bounded memory. */
    if (!reset_peak())
        lp_skip_because("/proc/self/clear_refs cannot reset the peak resident size here");
    long base = status_kb("VmHWM:");
    lp_tarball_pack_options_default(&o, 0);
    fd = open("/dev/null", O_WRONLY);
    assert_int_equal(lp_tarball_pack_to_fd(dir, &o, fd, &len, err, sizeof err), 0);
    close(fd);
    assert_true(len > (512ull << 20));
    long grew = status_kb("VmHWM:") - base;
    if (grew > 64 * 1024)
        fail_msg("packing 512 MiB took %ld MiB of memory", grew / 1024);
}

static void test_result_over_max_result_refused(void **state)
{
    (void)state;
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 0};
    uint8_t deal[32];
    run_job("max_result = \"4M\";",
            "head -c 3000000 /dev/zero > /outputs/a && head -c 3000000 /dev/zero", &ask, deal);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_non_null(strstr(r.error, "max_result"));
    assert_string_equal(r.cid, "");
    lp_result_free(&r);
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    if (lp_client_download(creator, deal, "outputs", &blob, &len, &e) == 0) {
        free(blob);
        fail_msg("a result past max_result was uploaded (%zu bytes)", len);
    }
}

/* The blob's entries: has `name`? *target receives a link's target. */
static bool blob_has(const uint8_t *blob, size_t len, const char *name, char *target, size_t cap)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, blob, len), ARCHIVE_OK);
    struct archive_entry *e;
    bool found = false;
    int r;
    while (!found && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
        if (strcmp(archive_entry_pathname(e), name) == 0) {
            found = true;
            if (target)
                snprintf(target, cap, "%s",
                         archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
        }
    }
    archive_read_free(a);
    return found;
}

static void test_escaping_links_not_delivered(void **state)
{
    (void)state;
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 16u << 20};
    uint8_t deal[32];
    run_job(NULL,
            "mkdir /outputs/sub && echo hi > /outputs/sub/f && ln -s /etc/passwd /outputs/abs && "
            "ln -s ../../../etc /outputs/up && ln -s sub/f /outputs/ok && echo linked",
            &ask, deal);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    assert_non_null(strstr(r.error, "outputs/abs (link to an absolute path)"));
    assert_non_null(strstr(r.error, "outputs/up (link through \"..\")"));
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    assert_int_equal(lp_client_download(creator, deal, "outputs", &blob, &len, &e), 0);
    char target[256];
    if (blob_has(blob, len, "outputs/abs", target, sizeof target) ||
        blob_has(blob, len, "outputs/up", target, sizeof target))
        fail_msg("a link out of the results folder was delivered (to %s)", target);
    assert_true(blob_has(blob, len, "outputs/ok", target, sizeof target));
    assert_string_equal(target, "sub/f");
    /* What is delivered is what was signed. */
    char dir[256], err[512];
    snprintf(dir, sizeof dir, "%s/links-%d", tmp, cfg_counter);
    assert_int_equal(lp_tarball_unpack(blob, len, dir, 0, err, sizeof err), 0);
    free(blob);
    if (lp_verify_dir_cid(r.cid, dir, err, sizeof err) != 0)
        fail_msg("%s", err);
    lp_result_free(&r);
}

static void test_awkward_names_survive(void **state)
{
    (void)state;
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 16u << 20};
    uint8_t deal[32];
    run_job(NULL,
            "printf latin1 > \"/outputs/$(printf 'caf\\351')\" && echo w > /outputs/.wh.gone && "
            "echo g > /outputs/gone && echo o > /outputs/.wh..wh..opq && "
            "echo d > /outputs/v1..2.txt && echo u > /outputs/caf\xc3\xa9-utf8 && echo ok",
            &ask, deal);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (r.error[0])
        fail_msg("an honest result failed: %s", r.error);
    assert_int_equal(r.exit_code, 0);
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    assert_int_equal(lp_client_download(creator, deal, "outputs", &blob, &len, &e), 0);
    char dir[256], path[400], err[512];
    snprintf(dir, sizeof dir, "%s/names-%d", tmp, cfg_counter);
    if (lp_tarball_unpack(blob, len, dir, 0, err, sizeof err) != 0)
        fail_msg("%s", err);
    free(blob);
    static const char *const names[] = {"caf\xe9",      ".wh.gone",  "gone",
                                        ".wh..wh..opq", "v1..2.txt", "caf\xc3\xa9-utf8"};
    static const char *const texts[] = {"latin1", "w\n", "g\n", "o\n", "d\n", "u\n"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/outputs/%s", dir, names[i]);
        char *got = read_text_file(path);
        if (!got)
            fail_msg("outputs/%s did not survive the round trip", names[i]);
        assert_string_equal(got, texts[i]);
        free(got);
    }
    if (lp_verify_dir_cid(r.cid, dir, err, sizeof err) != 0)
        fail_msg("%s", err);
    lp_result_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    return provider_fixture_setup("security_provider_results", "/tmp/lp-sec-results-XXXXXX");
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
        cmocka_unit_test(test_sparse_output_does_not_fill_memory),
        cmocka_unit_test(test_pack_streams_with_a_cap),
        cmocka_unit_test(test_result_over_max_result_refused),
        cmocka_unit_test(test_escaping_links_not_delivered),
        cmocka_unit_test(test_awkward_names_survive),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
