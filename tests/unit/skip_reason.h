/* Skipping a test that cannot run on this machine, with its reason. cmocka counts a skip()
 * as no failure, so a program whose tests all passed or skipped would exit 0 and read as a pass
 * in ctest. lp_skip_because() prints why and counts the skip; main() returns
 * lp_tests_exit_status(), which is 77 (ctest's skip code, see tests/CMakeLists.txt) when a test
 * was skipped and none failed. Include after <cmocka.h>. */
#ifndef LP_TEST_SKIP_REASON_H
#define LP_TEST_SKIP_REASON_H

#include <stdio.h>

static int lp_tests_skipped;

/* printf-style reason; ends the current test as skipped. */
#define lp_skip_because(...)                                                                       \
    do {                                                                                           \
        printf("skipped: ");                                                                       \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        lp_tests_skipped++;                                                                        \
        skip();                                                                                    \
    } while (0)

/* failed: what cmocka_run_group_tests() returned. */
static inline int lp_tests_exit_status(int failed)
{
    if (failed != 0)
        return 1;
    return lp_tests_skipped != 0 ? 77 : 0;
}

#endif
