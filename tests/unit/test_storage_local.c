/* storage/local through its plugin ABI: kubo CIDs from put, verified get of files, trees and
 * symlinks, a corrupted or incomplete store reported (never returned), pins, stat, config rules,
 * forged directory names refused, and concurrent puts of the same content. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include <lilypad/storage.h>

#include "cid/dagpb.h"
#include "cid/unixfs.h"
#include "config/config.h"
#include "host/host.h"
#include "test_cid_util.h"

const struct lp_plugin *lp_plugin_descriptor_storage_local(void);

static char tmp[64];

struct store {
    struct lp_config *cfg;
    struct lp_config_values *values;
    struct lp_host_binding host;
    const struct lp_storage_ops *ops;
    void *inst;
};

static int store_open(struct store *st, const char *cfg_text)
{
    const struct lp_plugin *p = lp_plugin_descriptor_storage_local();
    char err[512];
    memset(st, 0, sizeof(*st));
    assert_int_equal(lp_config_load_string(cfg_text, "test.cfg", &st->cfg, err, sizeof err), 0);
    if (lp_config_apply_schema(st->cfg, "storage.local", p->config_schema, p->config_size, NULL,
                               &st->values, err, sizeof err) != 0)
        fail_msg("%s", err);
    lp_host_bind(&st->host, "storage", "local", st->cfg, "none");
    st->ops = p->ops;
    return st->ops->life.create(&st->host.host, lp_config_values_data(st->values), &st->inst);
}

static void store_close(struct store *st)
{
    if (st->inst)
        st->ops->life.destroy(st->inst);
    lp_config_values_free(st->values);
    lp_config_free(st->cfg);
}

static void open_default(struct store *st, const char *extra)
{
    char text[512];
    snprintf(text, sizeof text, "storage: { local: { root = \"%s/store\"; %s }; };", tmp, extra);
    assert_int_equal(store_open(st, text), LP_OK);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-test-storage-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tc_rm_tree(tmp);
    return 0;
}

static void put_ok(struct store *st, const char *path, struct lp_cid *cid)
{
    if (st->ops->put(st->inst, path, cid) != LP_OK)
        fail_msg("put %s: %s", path, st->ops->life.last_error(st->inst));
}

static void test_put_matches_kubo(void **state)
{
    (void)state;
    struct store v0, v1, v1dag;
    open_default(&v0, "");
    open_default(&v1, "cid_version = 1;");
    open_default(&v1dag, "cid_version = 1; raw_leaves = false;");
    FILE *v = fopen(CID_VECTORS "/files.tsv", "r");
    assert_non_null(v);
    char line[1024], path[128];
    snprintf(path, sizeof path, "%s/input", tmp);
    while (fgets(line, sizeof line, v)) {
        char *f[3];
        if (tc_split(line, f, 3) != 3)
            continue;
        size_t len;
        uint8_t *data = tc_content(f[0], &len);
        tc_write_file(path, data, len);
        struct lp_cid cid;
        put_ok(&v0, path, &cid);
        assert_string_equal(cid.str, f[1]);
        put_ok(&v1, path, &cid);
        assert_string_equal(cid.str, f[2]);
        put_ok(&v1dag, path, &cid);
        assert_memory_equal(cid.str, "bafybei", 7); /* dag-pb leaves even for one chunk */
        /* get reproduces the bytes */
        char out[128];
        snprintf(out, sizeof out, "%s/out", tmp);
        struct lp_cid want;
        snprintf(want.str, sizeof want.str, "%s", f[2]);
        if (v1.ops->get(v1.inst, &want, out) != LP_OK)
            fail_msg("get %s: %s", f[2], v1.ops->life.last_error(v1.inst));
        size_t got_len;
        char spec[160];
        snprintf(spec, sizeof spec, "hex:");
        FILE *o = fopen(out, "rb");
        uint8_t *got = malloc(len + 2);
        got_len = fread(got, 1, len + 1, o);
        fclose(o);
        assert_int_equal(got_len, len);
        assert_memory_equal(got, data, len);
        free(got);
        unlink(out);
        free(data);
    }
    fclose(v);
    store_close(&v0);
    store_close(&v1);
    store_close(&v1dag);
}

static void test_tree_roundtrip(void **state)
{
    (void)state;
    struct store st;
    open_default(&st, "");
    char src[128], dst[128], cmd[512];
    snprintf(src, sizeof src, "%s/src", tmp);
    snprintf(dst, sizeof dst, "%s/dst", tmp);
    /* the "basic" row of dirs.tsv, plus a dot-file and a symlink */
    tc_build_tree(src, "f:a.txt=text:hello world\\n;d:b;f:b/c.bin=zeros:262145;f:b/empty=empty;"
                       "d:b/d");
    struct lp_cid cid;
    put_ok(&st, src, &cid);
    assert_string_equal(cid.str, "QmZ15igznHaq9TLAuicc3cUhJL3nLNuecPbYvsqrsCGB5h");
    char p[160];
    snprintf(p, sizeof p, "%s/.dot", src);
    tc_write_file(p, (const uint8_t *)"dot", 3);
    snprintf(p, sizeof p, "%s/b/link", src);
    assert_int_equal(symlink("../a.txt", p), 0);
    put_ok(&st, src, &cid);
    if (st.ops->get(st.inst, &cid, dst) != LP_OK)
        fail_msg("get: %s", st.ops->life.last_error(st.inst));
    snprintf(cmd, sizeof cmd, "diff -r --no-dereference '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    /* a second get into the same place is refused, not merged */
    assert_int_equal(st.ops->get(st.inst, &cid, dst), LP_EINVAL);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "already exists"));

    struct lp_storage_stat s = {.struct_size = sizeof s};
    assert_int_equal(st.ops->stat(st.inst, &cid, &s), LP_OK);
    assert_true(s.is_directory);
    assert_true(s.pinned);
    assert_int_equal(s.size_bytes, 12 + 262145 + 3);
    tc_rm_tree(src);
    tc_rm_tree(dst);
    store_close(&st);
}

static void block_path(const char *cid, char *out, size_t cap)
{
    snprintf(out, cap, "%s/store/blocks/%s", tmp, cid);
}

static void test_corruption_detected(void **state)
{
    (void)state;
    struct store st;
    open_default(&st, "");
    char src[128], dst[128], bp[256];
    snprintf(src, sizeof src, "%s/z", tmp);
    snprintf(dst, sizeof dst, "%s/z.out", tmp);
    size_t len;
    uint8_t *data = tc_content("zeros:262145", &len);
    tc_write_file(src, data, len);
    free(data);
    struct lp_cid cid;
    put_ok(&st, src, &cid);
    /* the 1-byte leaf of 262145 zeros (§3.3 worked example) */
    const char *leaf = "QmS9JArPwa55ePgDnyg6TzX24mYTS1b1vLqWNebyVotKxQ";
    block_path(leaf, bp, sizeof bp);
    FILE *f = fopen(bp, "r+b");
    assert_non_null(f);
    fseek(f, 6, SEEK_SET);
    fputc(0x01, f); /* the data byte */
    fclose(f);
    assert_int_equal(st.ops->get(st.inst, &cid, dst), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "corrupt"));
    assert_non_null(strstr(st.ops->life.last_error(st.inst), leaf));
    assert_int_equal(access(dst, F_OK), -1); /* nothing half-written left behind */
    struct lp_storage_stat s = {.struct_size = sizeof s};
    assert_int_equal(st.ops->stat(st.inst, &cid, &s), LP_ERR);
    assert_int_equal(st.ops->pin(st.inst, &cid), LP_ERR);

    unlink(bp);
    assert_int_equal(st.ops->get(st.inst, &cid, dst), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "missing"));
    /* putting the content again repairs the store */
    put_ok(&st, src, &cid);
    assert_int_equal(st.ops->get(st.inst, &cid, dst), LP_OK);
    store_close(&st);
}

/* A well-hashed but hostile directory node must not write outside the destination. */
static void test_forged_names_refused(void **state)
{
    (void)state;
    struct store st;
    open_default(&st, "");
    const char *names[] = {"..", "a/b", ".", ""};
    for (size_t i = 0; i < 4; i++) {
        struct lp_dagpb_link l = {.name = names[i], .name_len = strlen(names[i]), .tsize = 6};
        uint8_t empty_leaf[] = {0x0a, 0x04, 0x08, 0x02, 0x18, 0x00};
        lp_cid_of_block(0, LP_CID_CODEC_DAG_PB, empty_leaf, sizeof empty_leaf, &l.cid);
        uint8_t data[2], block[128];
        size_t dlen = lp_unixfs_encode_directory(data);
        size_t blen = lp_dagpb_encode(&l, 1, data, dlen, true, block, sizeof block);
        struct lp_cidb c;
        lp_cid_of_block(0, LP_CID_CODEC_DAG_PB, block, blen, &c);
        struct lp_cid cid;
        lp_cid_format(&c, cid.str);
        char bp[256], dst[128];
        block_path(cid.str, bp, sizeof bp);
        tc_write_file(bp, block, blen);
        snprintf(dst, sizeof dst, "%s/forged%zu", tmp, i);
        assert_int_equal(st.ops->get(st.inst, &cid, dst), LP_ERR);
        assert_non_null(strstr(st.ops->life.last_error(st.inst), "unsafe"));
        assert_int_equal(access(dst, F_OK), -1);
    }
    store_close(&st);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct store st;
    open_default(&st, "");
    struct lp_cid cid = {.str = "QmNotACid"};
    assert_int_equal(st.ops->get(st.inst, &cid, "/tmp/x"), LP_EINVAL);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "QmNotACid"));
    assert_int_equal(st.ops->pin(st.inst, &cid), LP_EINVAL);
    struct lp_cidb absent;
    lp_cid_of_block(0, LP_CID_CODEC_DAG_PB, "never stored", 12, &absent);
    lp_cid_format(&absent, cid.str);
    assert_int_equal(st.ops->pin(st.inst, &cid), LP_ERR); /* not in the store */
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "missing"));
    char p[128];
    snprintf(p, sizeof p, "%s/fifo", tmp);
    mkfifo(p, 0600);
    assert_int_equal(st.ops->put(st.inst, p, &cid), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "named pipe"));
    unlink(p);
    store_close(&st);

    char text[256];
    snprintf(text, sizeof text, "storage: { local: { root = \"%s/s2\"; cid_version = 2; }; };",
             tmp);
    struct store bad;
    assert_int_equal(store_open(&bad, text), LP_EINVAL);
    bad.inst = NULL;
    store_close(&bad);
}

static void test_default_root(void **state)
{
    (void)state;
    char home[128];
    snprintf(home, sizeof home, "%s/lphome", tmp);
    setenv("LILYPAD_HOME", home, 1);
    struct store st;
    assert_int_equal(store_open(&st, "storage: { local: { }; };"), LP_OK);
    char p[192];
    snprintf(p, sizeof p, "%s/storage/blocks", home);
    assert_int_equal(access(p, F_OK), 0);
    store_close(&st);
    unsetenv("LILYPAD_HOME");
}

struct put_job {
    struct store *st;
    const char *path;
    struct lp_cid cid;
    int rc;
};

static void *put_thread(void *arg)
{
    struct put_job *j = arg;
    j->rc = j->st->ops->put(j->st->inst, j->path, &j->cid);
    return NULL;
}

static void test_concurrent_puts(void **state)
{
    (void)state;
    struct store st;
    open_default(&st, "cid_version = 1;");
    char src[128];
    snprintf(src, sizeof src, "%s/same", tmp);
    size_t len;
    uint8_t *data = tc_content("seq:3000000", &len);
    tc_write_file(src, data, len);
    free(data);
    /* threads in this process, and a second process on the same root */
    pid_t child = fork();
    if (child == 0) {
        struct store other;
        open_default(&other, "cid_version = 1;");
        struct lp_cid cid;
        int rc = 0;
        for (int i = 0; i < 3; i++)
            rc |= other.ops->put(other.inst, src, &cid);
        _exit(rc == LP_OK ? 0 : 1);
    }
    struct put_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct put_job){.st = &st, .path = src};
        pthread_create(&th[i], NULL, put_thread, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].rc, LP_OK);
        assert_string_equal(jobs[i].cid.str, jobs[0].cid.str);
    }
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char dst[128], cmd[512];
    snprintf(dst, sizeof dst, "%s/same.out", tmp);
    assert_int_equal(st.ops->get(st.inst, &jobs[0].cid, dst), LP_OK);
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s' && [ -z \"$(ls -A '%s/store/tmp')\" ]", src, dst,
             tmp);
    assert_int_equal(system(cmd), 0);
    store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_matches_kubo),    cmocka_unit_test(test_tree_roundtrip),
        cmocka_unit_test(test_corruption_detected), cmocka_unit_test(test_forged_names_refused),
        cmocka_unit_test(test_bad_input),           cmocka_unit_test(test_default_root),
        cmocka_unit_test(test_concurrent_puts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
