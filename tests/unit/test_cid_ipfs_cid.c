/* core/cid against a second oracle: Debian's `ipfs-cid` (binary ipfs_cid, Rust rust-ipfs-unixfs),
 * which computes kubo's default profile (CIDv0, dag-pb leaves, 256 KiB chunks, 174 links) for
 * files. Random files of random sizes up to 2 MiB, chunk-boundary sizes, and 174*256 KiB +/- 1
 * (the first size that needs a second tree level). Its "CIDv1" is the same DAG relabelled as
 * dag-pb v1, which checks our v1 formatting too. Seed: LP_TEST_SEED (printed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "cid/cid.h"
#include "cid/importer.h"
#include "test_cid_util.h"

#define IPFS_CID "ipfs_cid"

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    if (system("command -v " IPFS_CID " >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_cid_ipfs_cid: the oracle `" IPFS_CID "` is missing: install Debian's "
                        "ipfs-cid package (scripts/install-deps.sh does)\n");
        return -1;
    }
    strcpy(tmp, "/tmp/lp-test-cid-oracle-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tc_rm_tree(tmp);
    return 0;
}

/* Runs the oracle on path; fills its CIDv0 and CIDv1 fields. */
static void oracle(const char *path, char *v0, char *v1)
{
    char cmd[512], out[512];
    snprintf(cmd, sizeof cmd, IPFS_CID " '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    if (sscanf(out, "{\"CIDv0\":\"%63[^\"]\",\"CIDv1\":\"%63[^\"]\"}", v0, v1) != 2)
        fail_msg("unexpected " IPFS_CID " output: %s", out);
}

static uint64_t rng_state;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_size(size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/f", tmp);
    uint8_t *data = malloc(size + 1);
    /* Mostly random bytes, with runs of zeros so some leaves repeat. */
    for (size_t i = 0; i < size; i++)
        data[i] = (i / 65536) % 3 == 0 ? 0 : (uint8_t)rng();
    tc_write_file(path, data, size);
    free(data);
    char want0[64], want1[64], got[LP_CID_STRING_MAX], err[256];
    oracle(path, want0, want1);
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    struct lp_cid_node root;
    assert_int_equal(lp_cid_import_path(path, &opt, NULL, NULL, &root, NULL, err, sizeof err), 0);
    lp_cid_format(&root.cid, got);
    if (strcmp(got, want0) != 0)
        fail_msg("size %zu: got %s, " IPFS_CID " says %s (seed %llu)", size, got, want0,
                 (unsigned long long)rng_state);
    root.cid.version = 1;
    lp_cid_format(&root.cid, got);
    assert_string_equal(got, want1);
    assert_int_equal(root.filesize, size);
}

static void test_random_files(void **state)
{
    (void)state;
    const char *seed = getenv("LP_TEST_SEED");
    rng_state = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
    if (rng_state == 0)
        rng_state = 1;
    printf("test_cid_ipfs_cid: LP_TEST_SEED=%llu\n", (unsigned long long)rng_state);
    const size_t chunk = LP_CID_CHUNK_SIZE;
    const size_t fixed[] = {0,          1,         chunk - 1,       chunk,       chunk + 1,
                            2 * chunk,  8 * chunk, 2 * 1024 * 1024, 174 * chunk, 174 * chunk + 1,
                            175 * chunk};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_size(fixed[i]);
    for (int i = 0; i < 20; i++)
        check_size((size_t)(rng() % (2 * 1024 * 1024 + 1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_files)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
