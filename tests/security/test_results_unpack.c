/* Attacks on the job creator (`lilypad run`, through lp_jc_run) by a provider that posts a
 * crafted outputs blob, against an in-process solver; the job creator unpacks a result before
 * it can check the folder's CID, so what it writes must be bounded by what was signed:
 *   - a gzip bomb (3 MB of gzip holding 3 GiB would be the attack; 256 MiB here) must not be
 *     unpacked: refused with one line, almost nothing written;
 *   - a sparse tar entry claiming 1 GiB in a tiny blob: more than the blob's own size;
 *   - a stdout far larger than the size the provider signed for it: unpacking stops there;
 *   - links to an absolute path or through "..": refused, never in the results folder, even
 *     when the provider signed the CID of a folder holding them;
 *   - an honest result with awkward names (not UTF-8, ".wh.*" look-alikes of image whiteouts,
 *     ".." inside a name) is delivered as it is, never read as image layer rules. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <jansson.h>

#include "cid/importer.h"
#include "client/client.h"
#include "crypto/keccak.h"
#include "crypto/random.h"
#include "image/fs_tree.h"
#include "jobcreator/jobcreator.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "wire/object.h"

#include <lilypad/verifier.h>

#define COWSAY_DIR LP_SOURCE_DIR "/examples/modules/cowsay"

enum mode {
    MODE_NAMES,
    MODE_GZIP_BOMB,
    MODE_SPARSE,
    MODE_BIG_STDOUT,
    MODE_LINKS,
};

static char dir[256], base[64];
static struct lp_solver *solver;
static struct lp_solver_http *http;
static struct lp_key kjc, kp;
static pthread_t prov_thread;
static atomic_int prov_stop, prov_mode;

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* ---- the hostile provider's blobs ---------------------------------------------------------- */

struct tar {
    struct archive *a;
    uint8_t *buf;
    size_t cap, used;
};

static void tar_open(struct tar *t, bool gzip)
{
    t->cap = 64u << 20;
    t->buf = malloc(t->cap);
    assert_non_null(t->buf);
    t->a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
    if (gzip) {
        assert_int_equal(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
        archive_write_set_options(t->a, "gzip:compression-level=1");
    }
    assert_int_equal(archive_write_open_memory(t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
}

static void tar_add(struct tar *t, const char *name, mode_t type, const char *target,
                    const void *data, size_t len, uint64_t apparent)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(e, target);
    if (type == AE_IFREG) {
        archive_entry_set_size(e, (la_int64_t)(apparent ? apparent : len));
        if (apparent) /* one small data region at the start, the rest a hole */
            archive_entry_sparse_add_entry(e, 0, (la_int64_t)len);
    }
    int rc = archive_write_header(t->a, e);
    assert_true(rc == ARCHIVE_OK || rc == ARCHIVE_WARN);
    if (type == AE_IFREG && len)
        assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

/* A big file's worth of zeros, written in pieces. */
static void tar_add_zeros(struct tar *t, const char *name, uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
    static char zeros[1 << 20];
    for (uint64_t done = 0; done < size; done += sizeof zeros)
        assert_true(archive_write_data(t->a, zeros, sizeof zeros) > 0);
    archive_entry_free(e);
}

/* Writes the folder's entries (sorted, recursively) under prefix. */
static void tar_add_dir(struct tar *t, const char *path, const char *prefix)
{
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
            char full[1024], name[1024];
            snprintf(full, sizeof full, "%s/%s", path, nm);
            snprintf(name, sizeof name, "%s%s", prefix, nm);
            struct stat st;
            assert_int_equal(lstat(full, &st), 0);
            if (S_ISDIR(st.st_mode)) {
                tar_add(t, name, AE_IFDIR, NULL, NULL, 0, 0);
                char sub[1100];
                snprintf(sub, sizeof sub, "%s/", name);
                tar_add_dir(t, full, sub);
            } else if (S_ISLNK(st.st_mode)) {
                char target[512];
                ssize_t l = readlink(full, target, sizeof target - 1);
                target[l > 0 ? l : 0] = '\0';
                tar_add(t, name, AE_IFLNK, target, NULL, 0, 0);
            } else {
                FILE *f = fopen(full, "rb");
                assert_non_null(f);
                char *data = malloc((size_t)st.st_size + 1);
                size_t got = fread(data, 1, (size_t)st.st_size, f);
                fclose(f);
                tar_add(t, name, AE_IFREG, NULL, data, got, 0);
                free(data);
            }
        }
        free(names[i]);
    }
    free(names);
}

static void tar_close(struct tar *t)
{
    assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
    archive_write_free(t->a);
}

static void digest_of(const char *text, struct lp_output_digest *d)
{
    lp_keccak256(text, strlen(text), d->keccak);
    d->size = strlen(text);
}

/* The results folder the provider says it produced (rd), the blob it uploads, and the digest of
 * stdout it signs. */
static void make_results(enum mode m, const char *rd, struct tar *t, const char **signed_stdout)
{
    char path[600];
    snprintf(path, sizeof path, "%s/outputs", rd);
    assert_int_equal(lp_fs_mkdir_p(path, 0755), 0);
    snprintf(path, sizeof path, "%s/stderr", rd);
    write_text(path, "");
    snprintf(path, sizeof path, "%s/exitCode", rd);
    write_text(path, "0");
    snprintf(path, sizeof path, "%s/stdout", rd);
    write_text(path, "< honest >\n");
    *signed_stdout = "< honest >\n";
    static const char *const names[] = {"caf\xe9", ".wh.gone", "gone", ".wh..wh..opq", "v1..2.txt"};
    switch (m) {
    case MODE_NAMES:
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(path, sizeof path, "%s/outputs/%s", rd, names[i]);
            write_text(path, names[i]);
        }
        break;
    case MODE_LINKS:
        snprintf(path, sizeof path, "%s/outputs/abs", rd);
        assert_int_equal(symlink("/etc/passwd", path), 0);
        snprintf(path, sizeof path, "%s/outputs/up", rd);
        assert_int_equal(symlink("../../../../etc", path), 0);
        break;
    default:
        break;
    }
    tar_open(t, m == MODE_GZIP_BOMB);
    if (m == MODE_BIG_STDOUT) {
        /* the blob's stdout is 8 MiB; the signed result says 11 bytes */
        tar_add(t, "exitCode", AE_IFREG, NULL, "0", 1, 0);
        tar_add(t, "outputs", AE_IFDIR, NULL, NULL, 0, 0);
        tar_add(t, "stderr", AE_IFREG, NULL, "", 0, 0);
        tar_add_zeros(t, "stdout", 8u << 20);
        return;
    }
    tar_add_dir(t, rd, "");
    if (m == MODE_GZIP_BOMB)
        tar_add_zeros(t, "outputs/zeros", 256u << 20);
    if (m == MODE_SPARSE)
        tar_add(t, "outputs/hole", AE_IFREG, NULL, "data", 4, 1ull << 30);
}

static int post_offer(struct lp_client *c)
{
    struct lp_wire_object o = {.kind = LP_WIRE_RESOURCE_OFFER};
    struct lp_resource_offer *r = &o.u.resource_offer;
    memcpy(r->provider, kp.address, 20);
    r->cpu_millicores = 8000;
    r->ram_bytes = 8ull << 30;
    r->disk_bytes = 50ull << 30;
    lp_wei_from_u64(&r->min_price, 1);
    r->created_at_ms = (uint64_t)time(NULL) * 1000u;
    lp_random_bytes(r->nonce, sizeof r->nonce);
    struct lp_client_error err;
    return lp_client_post_object(c, &o, NULL, NULL, NULL, &err);
}

static void run_deal(struct lp_client *c, const uint8_t did[32])
{
    enum mode m = (enum mode)atomic_load(&prov_mode);
    char rd[400];
    snprintf(rd, sizeof rd, "%s/prov-%02x%02x%02x%02x", dir, did[0], did[1], did[2], did[3]);
    struct tar t;
    const char *signed_stdout;
    make_results(m, rd, &t, &signed_stdout);
    tar_close(&t);
    /* The provider signs the CID of the folder it describes (links and all). */
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    opt.include_hidden = true;
    struct lp_cid_node root;
    char e[512], cid[LP_CID_STRING_MAX];
    assert_int_equal(lp_cid_import_path(rd, &opt, NULL, NULL, &root, NULL, e, sizeof e), 0);
    lp_cid_format(&root.cid, cid);
    struct lp_client_error err;
    lp_client_deal_action(c, did, "agree", NULL, &err);
    if (lp_client_put_outputs(c, did, t.buf, t.used, &err) != 0)
        fprintf(stderr, "hostile provider: outputs: %s\n", err.message);
    free(t.buf);
    struct lp_wire_object r = {.kind = LP_WIRE_RESULT};
    memcpy(r.u.result.deal_id, did, 32);
    memcpy(r.u.result.resource_provider, kp.address, 20);
    r.u.result.cid = cid;
    r.u.result.error = (char *)"";
    digest_of(signed_stdout, &r.u.result.stdout_digest);
    digest_of("", &r.u.result.stderr_digest);
    r.u.result.created_at_ms = (uint64_t)time(NULL) * 1000u;
    r.u.result.termination = LP_TERMINATION_EXITED;
    for (int attempt = 0; lp_client_post_object(c, &r, NULL, NULL, NULL, &err) != 0; attempt++) {
        fprintf(stderr, "hostile provider: result: %s\n", err.message);
        if (attempt == 4)
            break;
        usleep(200000);
    }
}

static void *provider_main(void *arg)
{
    (void)arg;
    struct lp_client *c = lp_client_new(base, &kp, 30000);
    uint8_t seen[16][32];
    size_t n_seen = 0;
    bool need_offer = true;
    while (!prov_stop) {
        if (need_offer && post_offer(c) == 0)
            need_offer = false;
        json_t *list = NULL;
        struct lp_client_error err;
        if (lp_client_list_deals(c, true, &list, &err) == 0) {
            json_t *deals = json_object_get(list, "deals");
            for (size_t i = 0; i < json_array_size(deals); i++) {
                json_t *d = json_array_get(deals, i);
                uint8_t did[32];
                if (lp_client_json_id(d, "id", did) != 0 ||
                    json_integer_value(json_object_get(d, "state")) != LP_DEAL_AGREED)
                    continue;
                bool old = false;
                for (size_t k = 0; k < n_seen; k++)
                    old = old || memcmp(seen[k], did, 32) == 0;
                if (old || n_seen == 16)
                    continue;
                run_deal(c, did);
                memcpy(seen[n_seen++], did, 32);
                need_offer = true;
            }
            json_decref(list);
        }
        usleep(20000);
    }
    lp_client_free(c);
    return NULL;
}

/* ---- the job creator ---------------------------------------------------------------------- */

/* One job through the library against the provider in mode m, results in dir/name. */
static int run_job(enum mode m, const char *name, struct lp_jc_result *res)
{
    atomic_store(&prov_mode, m);
    char out[400];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    struct lp_template_input in = {"Message", "attack"};
    struct lp_jc_request req = {
        .module = COWSAY_DIR,
        .inputs = &in,
        .n_inputs = 1,
        .solver_url = base,
        .key = &kjc,
        .output_dir = out,
    };
    return lp_jc_run(&req, res);
}

/* Bytes the job creator wrote for the run in dir/name (the folder, .partial, .unverified). */
static uint64_t written(const char *name)
{
    static const char *const suffixes[] = {"", ".partial", ".unverified"};
    uint64_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        char path[500];
        snprintf(path, sizeof path, "%s/%s%s", dir, name, suffixes[i]);
        uint64_t bytes = 0, entries = 0;
        if (lp_fs_tree_usage(path, &bytes, &entries) == 0)
            total += bytes;
    }
    return total;
}

static void test_gzip_bomb_not_unpacked(void **state)
{
    (void)state;
    struct lp_jc_result res;
    assert_int_equal(run_job(MODE_GZIP_BOMB, "bomb", &res), -1);
    uint64_t w = written("bomb");
    if (w > (1u << 20))
        fail_msg("a gzip bomb made the job creator write %llu bytes (%s)", (unsigned long long)w,
                 res.reason);
    assert_non_null(strstr(res.reason, "compressed"));
    lp_jc_result_free(&res);
}

static void test_sparse_entry_past_the_blob(void **state)
{
    (void)state;
    struct lp_jc_result res;
    assert_int_equal(run_job(MODE_SPARSE, "sparse", &res), -1);
    uint64_t w = written("sparse");
    if (w > (1u << 20))
        fail_msg("a sparse entry made the job creator write %llu bytes (%s)", (unsigned long long)w,
                 res.reason);
    assert_non_null(strstr(res.reason, "the downloaded blob's own size"));
    lp_jc_result_free(&res);
}

static void test_stdout_past_its_signed_size(void **state)
{
    (void)state;
    struct lp_jc_result res;
    assert_int_equal(run_job(MODE_BIG_STDOUT, "big-stdout", &res), -1);
    uint64_t w = written("big-stdout");
    if (w > (1u << 20))
        fail_msg("an 8 MiB stdout signed as 11 bytes was written out (%llu bytes; %s)",
                 (unsigned long long)w, res.reason);
    assert_non_null(strstr(res.reason, "stdout holds 8388608 bytes, 11 were declared"));
    lp_jc_result_free(&res);
}

static void test_links_out_refused(void **state)
{
    (void)state;
    struct lp_jc_result res;
    int rc = run_job(MODE_LINKS, "links", &res);
    char path[500];
    struct stat st;
    static const char *const suffixes[] = {"", ".partial", ".unverified"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/links%s/outputs/abs", dir, suffixes[i]);
        if (lstat(path, &st) == 0)
            fail_msg("a link to /etc/passwd reached the results (%s; outcome %s)", path,
                     lp_jc_outcome_name(res.outcome));
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(res.reason, "points outside the folder"));
    lp_jc_result_free(&res);
}

static void test_awkward_names_delivered(void **state)
{
    (void)state;
    struct lp_jc_result res;
    if (run_job(MODE_NAMES, "names", &res) != 0)
        fail_msg("an honest result with awkward names failed: %s: %s",
                 lp_jc_outcome_name(res.outcome), res.reason);
    static const char *const names[] = {"caf\xe9", ".wh.gone", "gone", ".wh..wh..opq", "v1..2.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/outputs/%s", res.output_dir, names[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            fail_msg("outputs/%s is missing from the results", names[i]);
        char text[64] = "";
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
        assert_string_equal(text, names[i]);
    }
    lp_jc_result_free(&res);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lp-sec-unpack-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char db[300], files[300], err[256];
    snprintf(db, sizeof db, "%s/solver.db", dir);
    snprintf(files, sizeof files, "%s/files", dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new database in the test's own folder */
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.match_timeout_ms = 30000;
    cfg.tick_ms = 100;
    cfg.rate_limit = 0; /* the provider polls every 20 ms */
    struct lp_key ks;
    lp_key_generate(&ks);
    lp_key_generate(&kjc);
    lp_key_generate(&kp);
    if (lp_solver_open(&cfg, &ks, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%u", lp_solver_http_port(http));
    setenv("LILYPAD_HOME", dir, 1);
    return pthread_create(&prov_thread, NULL, provider_main, NULL);
}

static int teardown(void **state)
{
    (void)state;
    prov_stop = 1;
    pthread_join(prov_thread, NULL);
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    return lp_fs_remove_tree(dir) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip_bomb_not_unpacked),
        cmocka_unit_test(test_sparse_entry_past_the_blob),
        cmocka_unit_test(test_stdout_past_its_signed_size),
        cmocka_unit_test(test_links_out_refused),
        cmocka_unit_test(test_awkward_names_delivered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
