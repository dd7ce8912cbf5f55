/* hashrate/cpu: every ISA path this CPU has against a brute force with the reference Keccak
 * (every winner of a range found exactly once, hashes_done exact), the compare boundary, the
 * low-64-bit edge, configuration errors (reported through the host's error log), device info
 * written only as far as the caller's struct_size, cancellation through the host (a stopped
 * call reports a gapless prefix), and last_error() per thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* ---- a host that keeps the last error logged and cancels when told ---- */

static char logged[512];
static atomic_int cancel_flag;

static void test_log(const struct lp_host *host, int level, const char *fmt, ...)
{
    (void)host;
    if (level != LP_LOG_ERROR)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(logged, sizeof logged, fmt, ap);
    va_end(ap);
}

static int test_cancelled(const struct lp_host *host)
{
    (void)host;
    return atomic_load(&cancel_flag);
}

static const struct lp_host test_host = {
    .struct_size = sizeof(struct lp_host),
    .abi_major = LP_ABI_MAJOR,
    .abi_minor = LP_ABI_MINOR,
    .log = test_log,
    .cancelled = test_cancelled,
};

static void *create_on(const struct lp_host *host, int64_t threads, const char *isa, int expect_rc)
{
    struct cpu_cfg cfg = {threads, isa};
    void *inst = NULL;
    logged[0] = '\0';
    int rc = ops()->life.create(host, &cfg, &inst);
    if (rc != expect_rc)
        fail_msg("create(threads %lld, isa %s) = %d, want %d: %s", (long long)threads, isa, rc,
                 expect_rc, logged);
    if (rc != LP_OK) {
        assert_null(inst); /* nothing to leak: a failed create keeps no instance */
        return NULL;
    }
    return inst;
}

static void *create(int64_t threads, const char *isa, int expect_rc)
{
    return create_on(&test_host, threads, isa, expect_rc);
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
    assert_non_null(strstr(logged, "hashrate.cpu.threads = -1"));
    create(0, "sse9", LP_EINVAL);
    assert_non_null(strstr(logged, "\"sse9\""));
    create_on(NULL, -1, "auto", LP_EINVAL); /* no host to log to: still a clean failure */
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

/* device_info writes no more than the caller's struct_size: an ABI 1.0 core passes a struct
 * that ends before pci_bus_id, and what follows it in memory is not the plugin's. */
static void test_device_info_sizes(void **state)
{
    (void)state;
    void *inst = create(1, "auto", LP_OK);
    struct {
        struct lp_hashrate_device dev;
        unsigned char guard[64];
    } buf;
    const uint32_t v1_0 = (uint32_t)offsetof(struct lp_hashrate_device, pci_bus_id);
    memset(&buf, 0xa5, sizeof buf);
    buf.dev.struct_size = v1_0;
    assert_int_equal(ops()->device_info(inst, 0, &buf.dev), LP_OK);
    assert_int_equal(buf.dev.struct_size, v1_0);
    assert_string_equal(buf.dev.vendor, "cpu");
    const unsigned char *tail = (const unsigned char *)&buf.dev + v1_0;
    for (size_t i = 0; i < sizeof buf - v1_0; i++)
        if (tail[i] != 0xa5)
            fail_msg("byte %zu past a struct_size of %u was written", i, v1_0);

    memset(&buf, 0xa5, sizeof buf);
    buf.dev.struct_size = sizeof buf.dev;
    assert_int_equal(ops()->device_info(inst, 0, &buf.dev), LP_OK);
    assert_int_equal(buf.dev.struct_size, sizeof buf.dev);
    assert_string_equal(buf.dev.pci_bus_id, ""); /* a CPU has none */
    assert_string_equal(buf.dev.uuid, "");
    for (size_t i = 0; i < sizeof buf.guard; i++)
        assert_int_equal(buf.guard[i], 0xa5);

    buf.dev.struct_size = 0;
    assert_int_equal(ops()->device_info(inst, 0, &buf.dev), LP_EINVAL);
    assert_non_null(strstr(ops()->life.last_error(inst), "struct_size"));
    ops()->life.destroy(inst);
}

struct canceller {
    unsigned delay_ms;
};

static void *cancel_later(void *arg)
{
    const struct canceller *c = arg;
    usleep(c->delay_ms * 1000u);
    atomic_store(&cancel_flag, 1);
    return NULL;
}

/* A batch far too long to finish stops soon after the host asks, with one thread as with
 * several, and reports exactly the gapless prefix it hashed: every winner in it, none past it. */
static void test_cancel(void **state)
{
    (void)state;
    for (int64_t threads = 1; threads <= 2; threads++) {
        void *inst = create(threads, "auto", LP_OK);
        struct lp_pow_work w;
        uint8_t base[32];
        rnd(w.challenge, 32);
        memset(base, 0, 32);
        memset(w.target, 0, 32);
        w.target[0] = 0x01; /* about 1 in 256 */
        enum { CAP = 1 << 16 };
        static struct lp_pow_solution sol[CAP];
        uint64_t done = 0;
        size_t found = 0;
        atomic_store(&cancel_flag, 0);
        struct canceller c = {.delay_ms = 100};
        pthread_t t;
        pthread_create(&t, NULL, cancel_later, &c);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = ops()->mine(inst, 0, &w, base, UINT64_C(1) << 40, &done, sol, CAP, &found);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        pthread_join(t, NULL);
        atomic_store(&cancel_flag, 0);
        assert_int_equal(rc, LP_OK);
        double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("threads %lld: stopped after %.3f s, %llu hashes, %zu winners\n", (long long)threads,
               took, (unsigned long long)done, found);
        assert_true(took < 5.0);
        assert_true(done > 0 && done < (UINT64_C(1) << 40));
        for (size_t i = 0; i < found; i++) {
            uint64_t off = 0;
            for (int k = 24; k < 32; k++)
                off = off << 8 | sol[i].nonce[k];
            assert_true(off < done);
            uint8_t d[32];
            lp_pow_hash(w.challenge, sol[i].nonce, d);
            assert_memory_equal(d, sol[i].digest, 32);
            assert_true(memcmp(d, w.target, 32) < 0);
        }
        if (threads == 1 && done <= CAP * 64) {
            /* small enough to re-check in full: exactly the winners of [0, done) */
            void *ref = create(1, "portable", LP_OK);
            size_t again = 0;
            uint64_t done2 = 0;
            assert_int_equal(ops()->mine(ref, 0, &w, base, done, &done2, sol, CAP, &again), LP_OK);
            assert_int_equal(done2, done);
            assert_int_equal(again, found);
            ops()->life.destroy(ref);
        }
        ops()->life.destroy(inst);
    }
}

struct err_racer {
    void *inst;
    uint32_t device;
    pthread_barrier_t *barrier;
    int mismatches;
};

static void *err_race(void *arg)
{
    struct err_racer *r = arg;
    char want[32];
    snprintf(want, sizeof want, "device %u:", r->device);
    for (int i = 0; i < 500; i++) {
        pthread_barrier_wait(r->barrier);
        struct lp_hashrate_device dev = {.struct_size = sizeof dev};
        if (ops()->device_info(r->inst, r->device, &dev) != LP_EINVAL ||
            strstr(ops()->life.last_error(r->inst), want) == NULL)
            r->mismatches++;
    }
    return NULL;
}

/* LP_CAP_THREADSAFE: two threads fail on one instance at the same moment with different
 * messages; each reads its own. */
static void test_last_error_per_thread(void **state)
{
    (void)state;
    assert_true(lp_plugin_descriptor_hashrate_cpu()->caps & LP_CAP_THREADSAFE);
    void *inst = create(1, "auto", LP_OK);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct err_racer a = {inst, 1, &barrier, 0}, b = {inst, 2, &barrier, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, err_race, &a);
    pthread_create(&tb, NULL, err_race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.mismatches, 0);
    assert_int_equal(b.mismatches, 0);
    ops()->life.destroy(inst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),         cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_config_errors), cmocka_unit_test(test_device_info_sizes),
        cmocka_unit_test(test_cancel),        cmocka_unit_test(test_last_error_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
