/* storage/local through its plugin ABI (the 1.1 ops, with a call context): kubo CIDs from put,
 * verified get of files, trees and symlinks, a corrupted or incomplete store reported (never
 * returned), pins, stat, config rules and the default root from the core's data directory,
 * forged directory names refused, concurrent puts of the same content, cancellation of long
 * puts and gets (nothing half-written left behind), and last_error() per thread. */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* The host's call_cancelled, wrapped: it counts the plugin's polls and, once cancel_after_polls
 * is reached (-1: never), answers "cancelled" itself, so a test stops a call at a known point.
 * Otherwise the core's own answer (the call's token, its deadline, the process). */
static atomic_long polls;
static atomic_long cancel_after_polls = -1;

static int counting_call_cancelled(const struct lp_host *host, const struct lp_call *call)
{
    (void)host;
    long n = atomic_fetch_add(&polls, 1) + 1;
    long limit = atomic_load(&cancel_after_polls);
    if (limit >= 0 && n > limit)
        return 1;
    return lp_call_cancelled(call);
}

static void cancel_after(long n)
{
    atomic_store(&polls, 0);
    atomic_store(&cancel_after_polls, n);
}

struct store {
    struct lp_config *cfg;
    struct lp_config_values *values;
    struct lp_host_binding host;
    const struct lp_storage_ops *ops;
    void *inst;
};

/* Applied to the host table before create() when set: a test's stand-in for another core. */
static void (*host_tweak)(struct lp_host_binding *b);

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
    st->host.host.call_cancelled = counting_call_cancelled;
    if (host_tweak)
        host_tweak(&st->host);
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

/* The ops as the core calls them: the 1.1 forms, with a call context carrying `token` (the
 * tests' own; NULL: none). The 1.0 forms are gone from the table. */
static const struct lp_cancel_token *token;

static struct lp_call *test_call(struct lp_call *c)
{
    lp_call_init(c, NULL, token, 0);
    return c;
}

static int call_put(struct store *st, const char *path, struct lp_cid *cid)
{
    struct lp_call c;
    return st->ops->put_v2(st->inst, test_call(&c), path, cid);
}

static int call_get(struct store *st, const struct lp_cid *cid, const char *dest)
{
    struct lp_call c;
    return st->ops->get_v2(st->inst, test_call(&c), cid, dest);
}

static int call_pin(struct store *st, const struct lp_cid *cid)
{
    struct lp_call c;
    return st->ops->pin_v2(st->inst, test_call(&c), cid);
}

static int call_stat(struct store *st, const struct lp_cid *cid, struct lp_storage_stat *out)
{
    struct lp_call c;
    return st->ops->stat_v2(st->inst, test_call(&c), cid, out);
}

static void open_default(struct store *st, const char *extra)
{
    char text[512];
    snprintf(text, sizeof text, "storage: { local: { root = \"%s/store\"; %s }; };", tmp, extra);
    assert_int_equal(store_open(st, text), LP_OK);
}

/* A store of its own under tmp, for tests that inspect the whole store afterwards. */
static void open_fresh(struct store *st, const char *name, char *root, size_t cap)
{
    snprintf(root, cap, "%s/%s", tmp, name);
    char text[512];
    snprintf(text, sizeof text, "storage: { local: { root = \"%s\"; }; };", root);
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

static void test_descriptor(void **state)
{
    (void)state;
    const struct lp_plugin *p = lp_plugin_descriptor_storage_local();
    const struct lp_storage_ops *ops = p->ops;
    assert_int_equal(p->abi_minor, LP_ABI_MINOR);
    assert_true(p->caps & LP_CAP_THREADSAFE);
    assert_true(p->caps & LP_CAP_CANCEL);
    /* A 1.1 plugin provides the 1.1 forms only. */
    assert_null(ops->put);
    assert_null(ops->get);
    assert_null(ops->pin);
    assert_null(ops->stat);
    assert_non_null(ops->put_v2);
    assert_non_null(ops->get_v2);
    assert_non_null(ops->pin_v2);
    assert_non_null(ops->stat_v2);
}

static void put_ok(struct store *st, const char *path, struct lp_cid *cid)
{
    if (call_put(st, path, cid) != LP_OK)
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
        if (call_get(&v1, &want, out) != LP_OK)
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
    if (call_get(&st, &cid, dst) != LP_OK)
        fail_msg("get: %s", st.ops->life.last_error(st.inst));
    snprintf(cmd, sizeof cmd, "diff -r --no-dereference '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    /* a second get into the same place is refused, not merged */
    assert_int_equal(call_get(&st, &cid, dst), LP_EINVAL);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "already exists"));

    struct lp_storage_stat s = {.struct_size = sizeof s};
    assert_int_equal(call_stat(&st, &cid, &s), LP_OK);
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
    assert_int_equal(call_get(&st, &cid, dst), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "corrupt"));
    assert_non_null(strstr(st.ops->life.last_error(st.inst), leaf));
    assert_int_equal(access(dst, F_OK), -1); /* nothing half-written left behind */
    struct lp_storage_stat s = {.struct_size = sizeof s};
    assert_int_equal(call_stat(&st, &cid, &s), LP_ERR);
    assert_int_equal(call_pin(&st, &cid), LP_ERR);

    unlink(bp);
    assert_int_equal(call_get(&st, &cid, dst), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "missing"));
    /* putting the content again repairs the store */
    put_ok(&st, src, &cid);
    assert_int_equal(call_get(&st, &cid, dst), LP_OK);
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
        assert_int_equal(call_get(&st, &cid, dst), LP_ERR);
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
    assert_int_equal(call_get(&st, &cid, "/tmp/x"), LP_EINVAL);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "QmNotACid"));
    assert_int_equal(call_pin(&st, &cid), LP_EINVAL);
    struct lp_cidb absent;
    lp_cid_of_block(0, LP_CID_CODEC_DAG_PB, "never stored", 12, &absent);
    lp_cid_format(&absent, cid.str);
    assert_int_equal(call_pin(&st, &cid), LP_ERR); /* not in the store */
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "missing"));
    char p[128];
    snprintf(p, sizeof p, "%s/fifo", tmp);
    mkfifo(p, 0600);
    assert_int_equal(call_put(&st, p, &cid), LP_ERR);
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

/* "" = <data_dir>/storage, the data directory being the core's (here $LILYPAD_HOME). */
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

static void no_data_dir(struct lp_host_binding *b)
{
    b->host.data_dir = NULL; /* a core that offers no data directory */
}

static void empty_data_dir(struct lp_host_binding *b)
{
    b->ctx.data_dir[0] = '\0'; /* a core that could resolve none: data_dir() is NULL */
}

/* Without a data directory from the core, only `root` says where the store is: the plugin has
 * no guess of its own. A leading ~/ in root is the user's home. */
static void test_root_without_data_dir(void **state)
{
    (void)state;
    void (*tweaks[])(struct lp_host_binding *) = {no_data_dir, empty_data_dir};
    for (size_t i = 0; i < 2; i++) {
        host_tweak = tweaks[i];
        struct store st;
        assert_int_equal(store_open(&st, "storage: { local: { }; };"), LP_EINVAL);
        assert_null(st.inst);
        assert_non_null(strstr(st.ops->life.last_error(NULL), "no store directory"));
        char reason[256];
        assert_int_equal(st.ops->life.probe(&st.host.host, lp_config_values_data(st.values), reason,
                                            sizeof reason),
                         LP_EUNAVAILABLE);
        assert_non_null(strstr(reason, "storage.local.root"));
        store_close(&st);

        char text[256];
        snprintf(text, sizeof text, "storage: { local: { root = \"%s/explicit\"; }; };", tmp);
        assert_int_equal(store_open(&st, text), LP_OK);
        store_close(&st);
    }
    host_tweak = no_data_dir;
    char home[128], text[128], blocks[192];
    snprintf(home, sizeof home, "%s/userhome", tmp);
    const char *old = getenv("HOME");
    char *saved = old ? strdup(old) : NULL;
    setenv("HOME", home, 1);
    snprintf(text, sizeof text, "storage: { local: { root = \"~/st\"; }; };");
    struct store st;
    assert_int_equal(store_open(&st, text), LP_OK);
    snprintf(blocks, sizeof blocks, "%s/st/blocks", home);
    assert_int_equal(access(blocks, F_OK), 0);
    store_close(&st);
    if (saved) {
        setenv("HOME", saved, 1);
        free(saved);
    } else {
        unsetenv("HOME");
    }
    host_tweak = NULL;
}

/* ---- cancellation ---- */

/* Nothing half-written: no temp file, no pin, and every block file hashes to its name. */
static void assert_store_clean(const char *root, bool expect_pins)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/tmp", root);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            fail_msg("temp file left behind: %s/%s", dir, e->d_name);
    closedir(d);
    snprintf(dir, sizeof dir, "%s/pins", root);
    d = opendir(dir);
    assert_non_null(d);
    int pins = 0;
    while ((e = readdir(d)) != NULL)
        pins += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(pins > 0, expect_pins);
    snprintf(dir, sizeof dir, "%s/blocks", root);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct lp_cidb c;
        char err[160], path[512];
        assert_int_equal(lp_cid_parse(e->d_name, &c, err, sizeof err), 0);
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        uint8_t buf[300000];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (!lp_cid_matches(&c, buf, n))
            fail_msg("block %s is not whole", e->d_name);
    }
    closedir(d);
}

/* The N of "cancelled after N bytes" in a message. */
static unsigned long long cancelled_bytes(const char *msg)
{
    const char *p = strstr(msg, "cancelled after ");
    if (p == NULL)
        fail_msg("not a cancellation: %s", msg);
    return strtoull(p + strlen("cancelled after "), NULL, 10);
}

/* A 20 MiB file: the plugin polls at its first block and every 4 MiB after; told "cancelled"
 * at the third poll, the put stops between two blocks, about 8 MiB in (within a block or two),
 * pins nothing and leaves only whole blocks. The same put then completes and round-trips. */
static void test_cancel_large_put(void **state)
{
    (void)state;
    struct store st;
    char root[128], src[128], dst[128];
    snprintf(src, sizeof src, "%s/big", tmp);
    snprintf(dst, sizeof dst, "%s/big.out", tmp);
    size_t len;
    uint8_t *data = tc_content("seq:20971520", &len);
    tc_write_file(src, data, len);
    free(data);
    open_fresh(&st, "cancel-big", root, sizeof root);

    cancel_after(2);
    struct lp_cid cid;
    assert_int_equal(call_put(&st, src, &cid), LP_ERR);
    const char *msg = st.ops->life.last_error(st.inst);
    assert_non_null(strstr(msg, "put "));
    assert_non_null(strstr(msg, src));
    unsigned long long n = cancelled_bytes(msg);
    assert_int_equal(atomic_load(&polls), 3);
    assert_true(n > (8u << 20) - (512u << 10) && n < (8u << 20) + (512u << 10));
    assert_store_clean(root, false);

    cancel_after(-1);
    put_ok(&st, src, &cid);
    assert_true(atomic_load(&polls) >= 5); /* 20 MiB: the first block, then every 4 MiB */
    assert_store_clean(root, true);

    /* get: stopped the same way, and nothing is left at the destination or beside it */
    cancel_after(2);
    assert_int_equal(call_get(&st, &cid, dst), LP_ERR);
    msg = st.ops->life.last_error(st.inst);
    assert_non_null(strstr(msg, "get "));
    assert_non_null(strstr(msg, cid.str));
    n = cancelled_bytes(msg);
    assert_true(n > (8u << 20) - (512u << 10) && n < (8u << 20) + (512u << 10));
    assert_int_equal(access(dst, F_OK), -1);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "[ -z \"$(ls -A '%s' | grep lp-get)\" ]", tmp);
    assert_int_equal(system(cmd), 0);

    /* pin and stat walk the whole DAG too */
    cancel_after(1);
    assert_int_equal(call_pin(&st, &cid), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "pin "));
    cancel_after(1);
    struct lp_storage_stat ss = {.struct_size = sizeof ss};
    assert_int_equal(call_stat(&st, &cid, &ss), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "stat "));

    cancel_after(-1);
    assert_int_equal(call_get(&st, &cid, dst), LP_OK);
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    unlink(src);
    unlink(dst);
    store_close(&st);
}

/* Many small files: a poll every few hundred blocks, so a tree of 600 files stops at the
 * second poll (block 256) with nothing pinned, and a get of it leaves no partial tree. */
static void test_cancel_many_files(void **state)
{
    (void)state;
    struct store st;
    char root[128], src[128], dst[128], p[192];
    snprintf(src, sizeof src, "%s/many", tmp);
    snprintf(dst, sizeof dst, "%s/many.out", tmp);
    assert_int_equal(mkdir(src, 0755), 0);
    for (int i = 0; i < 600; i++) {
        char body[32];
        int n = snprintf(body, sizeof body, "file %d\n", i);
        snprintf(p, sizeof p, "%s/f%03d", src, i);
        tc_write_file(p, (const uint8_t *)body, (size_t)n);
    }
    open_fresh(&st, "cancel-many", root, sizeof root);
    cancel_after(1);
    struct lp_cid cid;
    assert_int_equal(call_put(&st, src, &cid), LP_ERR);
    assert_int_equal(atomic_load(&polls), 2);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "(256 blocks)"));
    assert_store_clean(root, false);

    cancel_after(-1);
    put_ok(&st, src, &cid);
    cancel_after(1);
    assert_int_equal(call_get(&st, &cid, dst), LP_ERR);
    cancelled_bytes(st.ops->life.last_error(st.inst));
    assert_int_equal(access(dst, F_OK), -1);
    cancel_after(-1);
    assert_int_equal(call_get(&st, &cid, dst), LP_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "diff -r '%s' '%s'", src, dst);
    assert_int_equal(system(cmd), 0);
    tc_rm_tree(src);
    tc_rm_tree(dst);
    store_close(&st);
}

/* The core's own answer: a call whose token has fired does no work at all. */
static void test_cancel_token(void **state)
{
    (void)state;
    struct store st;
    char root[128], src[128];
    snprintf(src, sizeof src, "%s/small", tmp);
    tc_write_file(src, (const uint8_t *)"small", 5);
    open_fresh(&st, "cancel-token", root, sizeof root);
    cancel_after(-1);
    struct lp_cancel_token t;
    lp_cancel_token_init(&t, NULL);
    token = &t;
    struct lp_cid cid;
    put_ok(&st, src, &cid); /* not fired yet */
    lp_cancel_token_fire(&t);
    char src2[128];
    snprintf(src2, sizeof src2, "%s/small2", tmp);
    tc_write_file(src2, (const uint8_t *)"other", 5);
    struct lp_cid cid2;
    assert_int_equal(call_put(&st, src2, &cid2), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "cancelled after 0 bytes"));
    assert_store_clean(root, true); /* the first put's pin only */
    char dst[128];
    snprintf(dst, sizeof dst, "%s/small.out", tmp);
    assert_int_equal(call_get(&st, &cid, dst), LP_ERR);
    assert_non_null(strstr(st.ops->life.last_error(st.inst), "cancelled after 0 bytes"));
    assert_int_equal(access(dst, F_OK), -1);
    token = NULL;
    assert_int_equal(call_get(&st, &cid, dst), LP_OK);
    store_close(&st);
}

/* ---- last_error() per thread ---- */

struct err_job {
    struct store *st;
    pthread_barrier_t *barrier;
    char bad_cid[32];
    int mismatches;
};

static void *err_thread(void *arg)
{
    struct err_job *j = arg;
    struct lp_cid cid;
    snprintf(cid.str, sizeof cid.str, "%s", j->bad_cid);
    for (int i = 0; i < 200; i++) {
        pthread_barrier_wait(j->barrier);
        char dest[128];
        snprintf(dest, sizeof dest, "%s/never", tmp);
        if (call_get(j->st, &cid, dest) != LP_EINVAL ||
            strstr(j->st->ops->life.last_error(j->st->inst), j->bad_cid) == NULL)
            j->mismatches++;
    }
    return NULL;
}

/* Two threads fail at the same moment with different messages; each reads its own. */
static void test_last_error_per_thread(void **state)
{
    (void)state;
    struct store st;
    open_default(&st, "");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct err_job a = {.st = &st, .barrier = &barrier, .bad_cid = "QmThreadA"};
    struct err_job b = {.st = &st, .barrier = &barrier, .bad_cid = "QmThreadB"};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, err_thread, &a);
    pthread_create(&tb, NULL, err_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.mismatches, 0);
    assert_int_equal(b.mismatches, 0);
    store_close(&st);
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
    j->rc = call_put(j->st, j->path, &j->cid);
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
            rc |= call_put(&other, src, &cid);
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
    assert_int_equal(call_get(&st, &jobs[0].cid, dst), LP_OK);
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s' && [ -z \"$(ls -A '%s/store/tmp')\" ]", src, dst,
             tmp);
    assert_int_equal(system(cmd), 0);
    store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_put_matches_kubo),
        cmocka_unit_test(test_tree_roundtrip),
        cmocka_unit_test(test_corruption_detected),
        cmocka_unit_test(test_forged_names_refused),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_default_root),
        cmocka_unit_test(test_root_without_data_dir),
        cmocka_unit_test(test_concurrent_puts),
        cmocka_unit_test(test_cancel_large_put),
        cmocka_unit_test(test_cancel_many_files),
        cmocka_unit_test(test_cancel_token),
        cmocka_unit_test(test_last_error_per_thread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
