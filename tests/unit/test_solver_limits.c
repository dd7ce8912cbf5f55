/* The solver's per-address counters: fixed windows that refuse past the limit and reset when
 * the window turns, quotas that do not count a refused amount, long-poll gauges, and the sweep
 * that drops what holds nothing (an attacker's throwaway keys must not accumulate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "solver/limits.h"

static void addr(uint8_t a[20], unsigned n)
{
    memset(a, 0, 20);
    memcpy(a, &n, sizeof n);
    a[19] = 0x5a;
}

static void test_window(void **state)
{
    (void)state;
    struct lp_limits *l = lp_limits_new();
    uint8_t a[20];
    addr(a, 1);
    uint64_t used, reset;
    for (int i = 0; i < 3; i++)
        assert_true(
            lp_limits_take(l, a, LP_LIMIT_REQUESTS, 1, 3, 1000, 5000 + (uint64_t)i, &used, &reset));
    assert_int_equal(used, 3);
    assert_false(lp_limits_take(l, a, LP_LIMIT_REQUESTS, 1, 3, 1000, 5500, &used, &reset));
    assert_int_equal(used, 3);
    assert_int_equal(reset, 500);
    /* Another counter and another address are separate. */
    assert_true(lp_limits_take(l, a, LP_LIMIT_UPLOAD_FILES, 1, 3, 1000, 5500, &used, &reset));
    uint8_t b[20];
    addr(b, 2);
    assert_true(lp_limits_take(l, b, LP_LIMIT_REQUESTS, 1, 3, 1000, 5500, &used, &reset));
    /* The next window starts from zero. */
    assert_true(lp_limits_take(l, a, LP_LIMIT_REQUESTS, 1, 3, 1000, 6000, &used, &reset));
    assert_int_equal(used, 1);
    lp_limits_free(l);
}

static void test_quota_amounts(void **state)
{
    (void)state;
    struct lp_limits *l = lp_limits_new();
    uint8_t a[20];
    addr(a, 7);
    uint64_t used, reset;
    assert_true(lp_limits_take(l, a, LP_LIMIT_UPLOAD_BYTES, 600, 1000, 60000, 1, &used, &reset));
    /* 600 + 500 > 1000: refused, and not counted. */
    assert_false(lp_limits_take(l, a, LP_LIMIT_UPLOAD_BYTES, 500, 1000, 60000, 2, &used, &reset));
    assert_int_equal(used, 600);
    assert_true(lp_limits_take(l, a, LP_LIMIT_UPLOAD_BYTES, 400, 1000, 60000, 3, &used, &reset));
    assert_int_equal(used, 1000);
    /* A huge amount cannot wrap the count around. */
    assert_false(
        lp_limits_take(l, a, LP_LIMIT_UPLOAD_BYTES, UINT64_MAX, 1000, 60000, 4, &used, &reset));
    /* 0 is no limit. */
    assert_true(lp_limits_take(l, a, LP_LIMIT_REQUESTS, 1000000, 0, 60000, 4, &used, &reset));
    lp_limits_free(l);
}

static void test_gauge_and_sweep(void **state)
{
    (void)state;
    struct lp_limits *l = lp_limits_new();
    uint8_t a[20];
    addr(a, 9);
    uint64_t held, used, reset;
    assert_true(lp_limits_gauge_take(l, a, 2, &held));
    assert_true(lp_limits_gauge_take(l, a, 2, &held));
    assert_false(lp_limits_gauge_take(l, a, 2, &held));
    assert_int_equal(held, 2);
    /* Many throwaway addresses, one request each. */
    for (unsigned i = 100; i < 20100; i++) {
        uint8_t x[20];
        addr(x, i);
        assert_true(lp_limits_take(l, x, LP_LIMIT_REQUESTS, 1, 10, 1000, 1000, &used, &reset));
    }
    /* While their window runs they are kept; after it only the held gauge remains. */
    assert_int_equal(lp_limits_sweep(l, 1500), 20001);
    assert_int_equal(lp_limits_sweep(l, 2000), 1);
    lp_limits_gauge_give(l, a);
    assert_true(lp_limits_gauge_take(l, a, 2, &held));
    lp_limits_gauge_give(l, a);
    lp_limits_gauge_give(l, a);
    assert_int_equal(lp_limits_sweep(l, 2000), 0);
    lp_limits_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_quota_amounts),
        cmocka_unit_test(test_gauge_and_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
