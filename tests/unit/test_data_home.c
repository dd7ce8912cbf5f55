/* The data folder resolver: $LILYPAD_HOME, else $XDG_DATA_HOME/lilypad, else
 * $HOME/.local/share/lilypad; empty values count as unset, a relative XDG_DATA_HOME is ignored,
 * and with none of them (or a path that does not fit) it fails with a reason. The core's
 * default paths (image store, module cache, devnet) must all follow it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devnet/devnet.h"
#include "image/store.h"
#include "module/git_resolve.h"
#include "util/data_home.h"

/* Sets the three variables; NULL unsets one. */
static void env(const char *lilypad_home, const char *xdg, const char *home)
{
    const char *names[] = {"LILYPAD_HOME", "XDG_DATA_HOME", "HOME"};
    const char *values[] = {lilypad_home, xdg, home};
    for (int i = 0; i < 3; i++) {
        if (values[i])
            assert_int_equal(setenv(names[i], values[i], 1), 0);
        else
            assert_int_equal(unsetenv(names[i]), 0);
    }
}

static void expect_home(const char *want)
{
    char out[256];
    memset(out, 'x', sizeof out);
    assert_int_equal(lp_data_home(out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_lilypad_home_wins(void **state)
{
    (void)state;
    env("/srv/lp", "/xdg", "/home/u");
    expect_home("/srv/lp");
    env("relative/lp", NULL, NULL); /* taken as given: the user asked for it */
    expect_home("relative/lp");
}

static void test_xdg_data_home(void **state)
{
    (void)state;
    env(NULL, "/xdg", "/home/u");
    expect_home("/xdg/lilypad");
    env("", "/xdg", "/home/u"); /* empty is unset */
    expect_home("/xdg/lilypad");
}

static void test_home_fallback(void **state)
{
    (void)state;
    env(NULL, NULL, "/home/u");
    expect_home("/home/u/.local/share/lilypad");
    env("", "", "/home/u");
    expect_home("/home/u/.local/share/lilypad");
    /* the XDG rule: a relative XDG_DATA_HOME is invalid and ignored */
    env(NULL, "xdg-relative", "/home/u");
    expect_home("/home/u/.local/share/lilypad");
}

static void test_none_set(void **state)
{
    (void)state;
    char out[256];
    env(NULL, NULL, NULL);
    errno = 0;
    assert_int_equal(lp_data_home(out, sizeof out), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(lp_data_home_problem(errno), "LILYPAD_HOME"));
    env("", "relative", "");
    errno = 0;
    assert_int_equal(lp_data_home_path("images", out, sizeof out), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_too_long(void **state)
{
    (void)state;
    char out[16];
    env("/a/very/long/data/home", NULL, NULL);
    errno = 0;
    assert_int_equal(lp_data_home(out, sizeof out), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_non_null(strstr(lp_data_home_problem(errno), "too long"));
    /* the folder fits, the entry inside it does not */
    env("/lp", NULL, NULL);
    assert_int_equal(lp_data_home_path("images", out, 8), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    assert_int_equal(lp_data_home_path("images", out, sizeof out), 0);
    assert_string_equal(out, "/lp/images");
}

/* Every default path of the core is the resolver's folder plus its entry, in each of the three
 * cases (the image store and the module cache once ignored XDG_DATA_HOME). */
static void test_core_defaults_follow_it(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"/srv/lp", "/xdg", "/home/u"},
        {NULL, "/xdg", "/home/u"},
        {NULL, NULL, "/home/u"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        env(cases[i][0], cases[i][1], cases[i][2]);
        char home[256], want[300], got[300];
        assert_int_equal(lp_data_home(home, sizeof home), 0);
        struct lp_module_error me;
        snprintf(want, sizeof want, "%s/images", home);
        assert_int_equal(lp_image_store_default_dir(got, sizeof got), 0);
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%s/modules", home);
        assert_int_equal(lp_module_cache_dir(got, sizeof got, &me), 0);
        assert_string_equal(got, want);
        snprintf(want, sizeof want, "%s/devnet", home);
        assert_int_equal(lp_devnet_default_dir(got, sizeof got), 0);
        assert_string_equal(got, want);
    }
    /* and they fail, not guess, when there is no data folder */
    env(NULL, NULL, NULL);
    char got[300];
    struct lp_module_error me;
    assert_int_equal(lp_image_store_default_dir(got, sizeof got), -1);
    assert_int_equal(lp_module_cache_dir(got, sizeof got, &me), -1);
    assert_non_null(strstr(me.message, "LILYPAD_HOME"));
    assert_int_equal(lp_devnet_default_dir(got, sizeof got), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lilypad_home_wins), cmocka_unit_test(test_xdg_data_home),
        cmocka_unit_test(test_home_fallback),     cmocka_unit_test(test_none_set),
        cmocka_unit_test(test_too_long),          cmocka_unit_test(test_core_defaults_follow_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
