/* core/cid: kubo's default CIDs for the VERIFIED vectors of tests/vectors/cid (inputs
 * generated here), directory CIDs from an independent importer, the exact block bytes of the
 * worked examples, strict CID string parsing and strict dag-pb / UnixFS decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cid/cid.h"
#include "cid/dagpb.h"
#include "cid/importer.h"
#include "cid/multibase.h"
#include "cid/unixfs.h"
#include "test_cid_util.h"
#include "util/hex.h"

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-test-cid-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tc_rm_tree(tmp);
    return 0;
}

static void cid_of_memory(const uint8_t *data, size_t len, const struct lp_cid_options *opt,
                          char out[LP_CID_STRING_MAX])
{
    struct lp_cid_file *f = lp_cid_file_new(opt, NULL, NULL);
    assert_non_null(f);
    /* Odd write sizes so chunk boundaries fall inside writes. */
    size_t pos = 0, step = 100003;
    while (pos < len) {
        size_t n = len - pos < step ? len - pos : step;
        assert_int_equal(lp_cid_file_write(f, data + pos, n), 0);
        pos += n;
    }
    struct lp_cid_node root;
    assert_int_equal(lp_cid_file_finish(f, &root), 0);
    lp_cid_file_free(f);
    lp_cid_format(&root.cid, out);
}

static void cid_of_path(const char *path, const struct lp_cid_options *opt,
                        char out[LP_CID_STRING_MAX])
{
    struct lp_cid_node root;
    char err[512];
    if (lp_cid_import_path(path, opt, NULL, NULL, &root, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    lp_cid_format(&root.cid, out);
}

static void test_file_vectors(void **state)
{
    (void)state;
    FILE *v = fopen(CID_VECTORS "/files.tsv", "r");
    assert_non_null(v);
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, v)) {
        char *f[3];
        if (tc_split(line, f, 3) != 3)
            continue;
        size_t len;
        uint8_t *data = tc_content(f[0], &len);
        char path[128], got[LP_CID_STRING_MAX];
        snprintf(path, sizeof path, "%s/input", tmp);
        tc_write_file(path, data, len);
        for (int version = 0; version <= 1; version++) {
            struct lp_cid_options opt;
            lp_cid_options_default(&opt, (uint8_t)version);
            cid_of_memory(data, len, &opt, got);
            if (strcmp(got, f[1 + version]) != 0)
                fail_msg("%s v%d (memory): got %s, want %s", f[0], version, got, f[1 + version]);
            cid_of_path(path, &opt, got);
            if (strcmp(got, f[1 + version]) != 0)
                fail_msg("%s v%d (file): got %s, want %s", f[0], version, got, f[1 + version]);
        }
        free(data);
        rows++;
    }
    fclose(v);
    assert_int_equal(rows, 7);
}

static void test_dir_vectors(void **state)
{
    (void)state;
    FILE *v = fopen(CID_VECTORS "/dirs.tsv", "r");
    assert_non_null(v);
    char line[4096];
    int rows = 0;
    while (fgets(line, sizeof line, v)) {
        char *f[4];
        if (tc_split(line, f, 4) != 4)
            continue;
        char root[256], got[LP_CID_STRING_MAX];
        snprintf(root, sizeof root, "%s/tree-%s", tmp, f[0]);
        tc_build_tree(root, f[1]);
        for (int version = 0; version <= 1; version++) {
            struct lp_cid_options opt;
            lp_cid_options_default(&opt, (uint8_t)version);
            opt.include_hidden = true;
            cid_of_path(root, &opt, got);
            if (strcmp(got, f[2 + version]) != 0)
                fail_msg("tree %s v%d: got %s, want %s", f[0], version, got, f[2 + version]);
        }
        tc_rm_tree(root);
        rows++;
    }
    fclose(v);
    assert_int_equal(rows, 6);
}

/* Without --hidden, a dot-entry is left out: the CID equals the tree without it. */
static void test_hidden_skipped(void **state)
{
    (void)state;
    char a[128], b[128], ca[LP_CID_STRING_MAX], cb[LP_CID_STRING_MAX];
    snprintf(a, sizeof a, "%s/with", tmp);
    snprintf(b, sizeof b, "%s/without", tmp);
    tc_build_tree(a, "f:.hidden=text:x;f:shown=text:shown");
    tc_build_tree(b, "f:shown=text:shown");
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    cid_of_path(a, &opt, ca);
    cid_of_path(b, &opt, cb);
    assert_string_equal(ca, cb);
    opt.include_hidden = true;
    cid_of_path(a, &opt, ca);
    assert_string_not_equal(ca, cb);
}

struct capture {
    uint8_t last[1 << 19];
    size_t last_len;
    size_t blocks;
};

static int capture_block(void *arg, const struct lp_cidb *cid, const uint8_t *block, size_t len)
{
    struct capture *c = arg;
    assert_true(lp_cid_matches(cid, block, len));
    assert_true(len <= sizeof c->last);
    memcpy(c->last, block, len);
    c->last_len = len;
    c->blocks++;
    return 0;
}

static void assert_hex(const uint8_t *data, size_t len, const char *want)
{
    char *hex = malloc(2 * len + 1);
    lp_hex_encode(data, len, hex);
    assert_string_equal(hex, want);
    free(hex);
}

/* The byte-level examples of §3.3: the `hello world\n` leaf and the 262145-zero root. */
static void test_worked_blocks(void **state)
{
    (void)state;
    static struct capture c;
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    struct lp_cid_file *f = lp_cid_file_new(&opt, capture_block, &c);
    assert_int_equal(lp_cid_file_write(f, "hello world\n", 12), 0);
    struct lp_cid_node root;
    assert_int_equal(lp_cid_file_finish(f, &root), 0);
    lp_cid_file_free(f);
    assert_hex(c.last, c.last_len, "0a120802120c68656c6c6f20776f726c640a180c");
    assert_int_equal(root.tsize, 20);

    memset(&c, 0, sizeof c);
    size_t len;
    uint8_t *zeros = tc_content("zeros:262145", &len);
    f = lp_cid_file_new(&opt, capture_block, &c);
    assert_int_equal(lp_cid_file_write(f, zeros, len), 0);
    assert_int_equal(lp_cid_file_finish(f, &root), 0);
    lp_cid_file_free(f);
    free(zeros);
    assert_int_equal(c.blocks, 3);
    /* link 1: 12 2a 0a 22 1220 328f5499... */
    assert_hex(c.last, 10, "122a0a221220328f5499");
    assert_hex(c.last + 38, 6, "1200188e8010");
    /* link 2 is 0x28 bytes (its Tsize varint is one byte); §3.3 misprints it as 12 2a */
    assert_hex(c.last + 44, 10, "12280a221220388622ab");
    assert_hex(c.last + 82, 4, "12001809");
    assert_hex(c.last + 86, c.last_len - 86,
               "0a0c0802188180102080801020"
               "01");
    assert_int_equal(root.filesize, 262145);
    assert_int_equal(root.tsize, c.last_len + 262158 + 9);
}

/* A symlink is a UnixFS Symlink node holding the target; special files are refused. */
static void test_symlink_and_special(void **state)
{
    (void)state;
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/link", tmp);
    assert_int_equal(symlink("a.txt", path), 0);
    static struct capture c;
    memset(&c, 0, sizeof c);
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    struct lp_cid_node root;
    assert_int_equal(
        lp_cid_import_path(path, &opt, capture_block, &c, &root, NULL, err, sizeof err), 0);
    assert_hex(c.last, c.last_len, "0a0908041205612e747874");
    unlink(path);

    snprintf(path, sizeof path, "%s/fifo", tmp);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(lp_cid_import_path(path, &opt, NULL, NULL, &root, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "named pipe"));
    assert_non_null(strstr(err, path));
    unlink(path);

    snprintf(path, sizeof path, "%s/missing", tmp);
    assert_int_equal(lp_cid_import_path(path, &opt, NULL, NULL, &root, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
}

/* A directory whose links would pass kubo's 256 KiB sharding threshold is refused. */
static void test_hamt_refused(void **state)
{
    (void)state;
    char dir[128], path[512], err[512];
    snprintf(dir, sizeof dir, "%s/huge", tmp);
    mkdir(dir, 0755);
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    /* 234 bytes per link estimate (200 + 34): 1121 links pass 262144. */
    for (int i = 0; i < 1125; i++) {
        snprintf(path, sizeof path, "%s/%.190s%010d", dir, name, i);
        tc_write_file(path, (const uint8_t *)"", 0);
    }
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    struct lp_cid_node root;
    assert_int_equal(lp_cid_import_path(dir, &opt, NULL, NULL, &root, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "HAMT"));
    tc_rm_tree(dir);
}

static void test_multibase(void **state)
{
    (void)state;
    char out[128];
    uint8_t buf[64];
    /* RFC 4648 §10 (lower case, no padding) */
    const char *b32[][2] = {{"", ""},
                            {"f", "my"},
                            {"fo", "mzxq"},
                            {"foo", "mzxw6"},
                            {"foob", "mzxw6yq"},
                            {"fooba", "mzxw6ytb"},
                            {"foobar", "mzxw6ytboi"}};
    for (size_t i = 0; i < sizeof b32 / sizeof b32[0]; i++) {
        lp_base32_encode((const uint8_t *)b32[i][0], strlen(b32[i][0]), out, sizeof out);
        assert_string_equal(out, b32[i][1]);
        long n = lp_base32_decode(b32[i][1], strlen(b32[i][1]), buf, sizeof buf);
        assert_int_equal(n, (long)strlen(b32[i][0]));
        assert_memory_equal(buf, b32[i][0], (size_t)n);
    }
    assert_int_equal(lp_base32_decode("MZXQ", 4, buf, sizeof buf), -1);     /* upper case */
    assert_int_equal(lp_base32_decode("mzxq====", 8, buf, sizeof buf), -1); /* padding */
    assert_int_equal(lp_base32_decode("mzxr", 4, buf, sizeof buf), -1);     /* stray bits */
    assert_int_equal(lp_base32_decode("m", 1, buf, sizeof buf), -1);        /* impossible length */
    /* base58btc (the multibase draft's examples) */
    lp_base58_encode((const uint8_t *)"Hello World!", 12, out, sizeof out);
    assert_string_equal(out, "2NEpo7TZRRrLZSi2U");
    const uint8_t lead[] = {0, 0, 0x28, 0x7f, 0xb4, 0xcd};
    lp_base58_encode(lead, sizeof lead, out, sizeof out);
    assert_string_equal(out, "11233QC4");
    assert_int_equal(lp_base58_decode("11233QC4", 8, buf, sizeof buf), 6);
    assert_memory_equal(buf, lead, 6);
    assert_int_equal(lp_base58_decode("0OIl", 4, buf, sizeof buf), -1);
}

static void test_varint(void **state)
{
    (void)state;
    uint8_t b[LP_VARINT_MAX];
    const uint64_t values[] = {0, 1, 127, 128, 300, 262144, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t n = lp_varint_put(b, values[i]);
        assert_int_equal(n, lp_varint_len(values[i]));
        uint64_t v;
        assert_int_equal(lp_varint_get(b, n, &v), n);
        assert_true(v == values[i]);
        assert_int_equal(lp_varint_get(b, n - 1, &v), 0); /* truncated */
    }
    uint64_t v;
    const uint8_t padded[] = {0x81, 0x00};
    assert_int_equal(lp_varint_get(padded, 2, &v), 0);
    const uint8_t too_long[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(lp_varint_get(too_long, 10, &v), 0);
}

static void test_parse(void **state)
{
    (void)state;
    struct lp_cidb c;
    char err[256], out[LP_CID_STRING_MAX];
    const char *good[] = {"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",
                          "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
                          "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"};
    for (size_t i = 0; i < 3; i++) {
        if (lp_cid_parse(good[i], &c, err, sizeof err) != 0)
            fail_msg("%s: %s", good[i], err);
        lp_cid_format(&c, out);
        assert_string_equal(out, good[i]);
    }
    assert_int_equal(c.version, 1);
    assert_int_equal(c.codec, LP_CID_CODEC_DAG_PB);
    const char *bad[] = {
        "",
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5",                /* short */
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5oo",              /* long */
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50",               /* '0' not base58 */
        " QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o",              /* whitespace */
        "BAFKREIFJJCIE6LYPI6NY7AMXNFFTAGCLBUXNDQONFIPMB64F2KM2DEVEI4",  /* upper-case multibase */
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei",   /* truncated */
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei5",  /* stray bits */
        "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",            /* base58 v1 */
        "bahaacaaaaaa",                                                 /* garbage */
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4a", /* trailing */
        "uAVUSIKlIkE8vD0ebj4GXaUswGEsNLdHBzSoewPuF0pmhlIR",             /* base64url multibase */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (lp_cid_parse(bad[i], &c, err, sizeof err) == 0)
            fail_msg("accepted bad CID \"%s\"", bad[i]);
        assert_true(strlen(err) > 0);
    }
    /* v1 with a non-sha256 multihash (blake2b-256, 0xb220) */
    uint8_t bytes[40] = {0x01, 0x55, 0xa0, 0xe4, 0x02, 0x20};
    char text[80] = "b";
    lp_base32_encode(bytes, 38, text + 1, sizeof text - 1);
    assert_int_equal(lp_cid_parse(text, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "sha2-256"));
}

static void test_dagpb_roundtrip_and_strictness(void **state)
{
    (void)state;
    struct lp_dagpb_link links[2] = {{.name = "a", .name_len = 1, .tsize = 9},
                                     {.name = "b", .name_len = 1, .tsize = 300}};
    lp_cid_of_block(0, LP_CID_CODEC_DAG_PB, "x", 1, &links[0].cid);
    lp_cid_of_block(1, LP_CID_CODEC_RAW, "y", 1, &links[1].cid);
    uint8_t data[2], block[256];
    size_t dlen = lp_unixfs_encode_directory(data);
    size_t n = lp_dagpb_encode(links, 2, data, dlen, true, block, sizeof block);
    assert_int_equal(n, lp_dagpb_encoded_len(links, 2, dlen));
    struct lp_dagpb_node_view v;
    char err[128];
    assert_int_equal(lp_dagpb_decode(block, n, &v, err, sizeof err), 0);
    assert_int_equal(v.nlinks, 2);
    assert_int_equal(v.links[1].tsize, 300);
    assert_memory_equal(v.links[1].name, "b", 1);
    struct lp_cidb back;
    assert_int_equal(
        lp_cid_from_bytes(v.links[1].hash, v.links[1].hash_len, &back, err, sizeof err), 0);
    assert_true(lp_cid_equal(&back, &links[1].cid));
    struct lp_unixfs_view u;
    assert_int_equal(lp_unixfs_decode(v.data, v.data_len, &u, err, sizeof err), 0);
    assert_int_equal(u.type, LP_UNIXFS_DIRECTORY);
    lp_unixfs_view_free(&u);
    lp_dagpb_view_free(&v);

    const char *bad[] = {
        "0a0208011200",     /* Links after Data */
        "0a0208010a020801", /* Data twice */
        "1a00",             /* unknown field 3 */
        "0a05080112",       /* length past the end */
        "1202120000",       /* link without Hash (and trailing bytes) */
        "0d00000000",       /* fixed32 wire type */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[32];
        size_t len = strlen(bad[i]) / 2;
        assert_int_equal(lp_hex_decode(bad[i], 2 * len, b, len), 0);
        if (lp_dagpb_decode(b, len, &v, err, sizeof err) == 0)
            fail_msg("accepted bad block %s", bad[i]);
    }
    /* UnixFS: no Type, unknown field */
    const uint8_t notype[] = {0x18, 0x00}, unknown[] = {0x08, 0x02, 0x50, 0x00};
    assert_int_equal(lp_unixfs_decode(notype, 2, &u, err, sizeof err), -1);
    assert_int_equal(lp_unixfs_decode(unknown, 4, &u, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_vectors),
        cmocka_unit_test(test_dir_vectors),
        cmocka_unit_test(test_hidden_skipped),
        cmocka_unit_test(test_worked_blocks),
        cmocka_unit_test(test_symlink_and_special),
        cmocka_unit_test(test_hamt_refused),
        cmocka_unit_test(test_multibase),
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_dagpb_roundtrip_and_strictness),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
