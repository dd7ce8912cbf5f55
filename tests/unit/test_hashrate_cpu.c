/* hashrate/cpu: every ISA path this CPU has against a brute force with the reference Keccak
 * (every winner of a range found exactly once, hashes_done exact), the compare boundary, the
 * low-64-bit edge, and configuration errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <lilypad/hashrate.h>

#include "pow/pow.h"
#include "pow/uint256.h"

const struct lp_plugin *lp_plugin_descriptor_hashrate_cpu(void);

struct cpu_cfg { /* the plugin's schema: threads, isa */
    int64_t threads;
    const char *isa;
};

static const struct lp_hashrate_ops *ops(void)
{
    return lp_plugin_descriptor_hashrate_cpu()->ops;
}

static void *create(int64_t threads, const char *isa, int expect_rc)
{
    struct cpu_cfg cfg = {threads, isa};
    void *inst = NULL;
    int rc = ops()->life.create(NULL, &cfg, &inst);
    if (rc != expect_rc)
        fail_msg("create(threads %lld, isa %s) = %d, want %d: %s", (long long)threads, isa, rc,
                 expect_rc, inst ? ops()->life.last_error(inst) : "");
    if (rc != LP_OK) {
        ops()->life.destroy(inst);
        return NULL;
    }
    return inst;
}

static void rnd(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rand();
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* mine() over [base, base + count) equals the reference brute force */
static void check_coverage(void *inst, const struct lp_pow_work *w, const uint8_t base[32],
                           uint64_t count)
{
    enum { CAP = 8192 };
    static struct lp_pow_solution sol[CAP];
    static uint8_t expect[CAP][32], got[CAP][32];
    uint64_t done = 0;
    size_t found = 0, nexp = 0;
    assert_int_equal(ops()->mine(inst, 0, w, base, count, &done, sol, CAP, &found), LP_OK);
    assert_int_equal(done, count);
    uint8_t nonce[32];
    memcpy(nonce, base, 32);
    for (uint64_t k = 0; k < count; k++) {
        if (lp_pow_verify(w->challenge, nonce, w->target, NULL)) {
            assert_true(nexp < CAP);
            memcpy(expect[nexp++], nonce, 32);
        }
        lp_u256_add_u64(nonce, 1);
    }
    for (size_t i = 0; i < found; i++) {
        uint8_t d[32];
        lp_pow_hash(w->challenge, sol[i].nonce, d);
        assert_memory_equal(d, sol[i].digest, 32);
        memcpy(got[i], sol[i].nonce, 32);
    }
    qsort(got, found, 32, cmp32);
    assert_int_equal(found, nexp);
    if (found)
        assert_memory_equal(got, expect, 32 * found);
}

static void test_paths(void **state)
{
    (void)state;
    static const char *isas[] = {"portable", "avx2", "avx512"};
    srand((unsigned)time(NULL));
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        struct cpu_cfg probe = {1, isas[i]};
        void *inst = NULL;
        int rc = ops()->life.create(NULL, &probe, &inst);
        ops()->life.destroy(inst);
        if (rc == LP_EUNAVAILABLE) {
            printf("isa %s: not on this CPU, skipped\n", isas[i]);
            continue;
        }
        for (int64_t threads = 1; threads <= 3; threads++) {
            inst = create(threads, isas[i], LP_OK);
            struct lp_pow_work w;
            uint8_t base[32];
            for (int t = 0; t < 3; t++) {
                rnd(w.challenge, 32);
                rnd(base, 32);
                memset(w.target, 0, 32);
                w.target[0] = 0x04; /* about 1 in 64 */
                rnd(w.target + 1, 31);
                uint64_t count = 20011; /* not a multiple of any vector width */
                if (t == 2) {           /* the batch ends exactly at the top of the low 64 bits */
                    memset(base + 24, 0xff, 8);
                    base[30] = 0xe0; /* low 64 = 0x...ffe0ff: 0x1f01 nonces to 2^64 - 1 */
                    count = 0x1f01;
                }
                check_coverage(inst, &w, base, count);
            }
            ops()->life.destroy(inst);
        }
        ran++;
    }
    assert_true(ran >= 1);
}

/* a digest equal to the target is not a win; one below is */
static void test_boundary(void **state)
{
    (void)state;
    void *inst = create(1, "auto", LP_OK);
    struct lp_pow_work w;
    uint8_t base[32], d[32];
    rnd(w.challenge, 32);
    rnd(base, 32);
    lp_pow_hash(w.challenge, base, d);
    memcpy(w.target, d, 32);
    struct lp_pow_solution sol[4];
    uint64_t done;
    size_t found;
    assert_int_equal(ops()->mine(inst, 0, &w, base, 1, &done, sol, 4, &found), LP_OK);
    assert_int_equal(found, 0);
    lp_u256_add_u64(w.target, 1);
    assert_int_equal(ops()->mine(inst, 0, &w, base, 1, &done, sol, 4, &found), LP_OK);
    assert_int_equal(found, 1);
    assert_memory_equal(sol[0].nonce, base, 32);
    /* a batch that would wrap the low 64 bits is refused */
    memset(base + 24, 0xff, 8);
    assert_int_equal(ops()->mine(inst, 0, &w, base, 2, &done, sol, 4, &found), LP_EINVAL);
    ops()->life.destroy(inst);
}

static void test_config_errors(void **state)
{
    (void)state;
    create(-1, "auto", LP_EINVAL);
    create(0, "sse9", LP_EINVAL);
    void *inst = create(0, "auto", LP_OK);
    uint32_t n = 0;
    assert_int_equal(ops()->device_count(inst, &n), LP_OK);
    assert_int_equal(n, 1);
    struct lp_hashrate_device dev = {.struct_size = sizeof dev};
    assert_int_equal(ops()->device_info(inst, 0, &dev), LP_OK);
    assert_string_equal(dev.vendor, "cpu");
    assert_true(dev.compute_units >= 1);
    assert_int_equal(ops()->device_info(inst, 1, &dev), LP_EINVAL);
    printf("device: %s, %s\n", dev.name, dev.detail);
    ops()->life.destroy(inst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
