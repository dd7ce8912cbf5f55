/* Each deliberately broken plugin ends in its exact state with its exact one-line message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "loader/backend.h"
#include "loader/loader.h"

static char *dir_list[] = {LP_TEST_PLUGIN_DIR};
static const struct lp_search_path test_path = {dir_list, 1};

static void open_plugin(const char *concern, const char *name, struct lp_plugin_handle *h)
{
    lp_plugin_open(&test_path, concern, name, h);
    /* Plugins that pass the checks go on to probe and create, as the core would. */
    if (h->state == LP_PLUGIN_LOADED) {
        struct lp_backend *b = NULL;
        char err[1024];
        if (lp_backend_from_handle(NULL, "auto", h, &b, err, sizeof(err)) == 0)
            lp_backend_close(b);
    }
}

static void expect(const char *concern, const char *name, enum lp_plugin_state state,
                   const char *detail)
{
    struct lp_plugin_handle h;
    open_plugin(concern, name, &h);
    char expected[2048];
    snprintf(expected, sizeof(expected), "plugin %s/%s (%s/%s_%s.so): %s", concern, name,
             LP_TEST_PLUGIN_DIR, concern, name, detail);
    assert_string_equal(lp_plugin_state_name(h.state), lp_plugin_state_name(state));
    assert_string_equal(h.message, expected);
    assert_null(strchr(h.message, '\n'));
    lp_plugin_close(&h);
}

static void test_good_plugin_loads(void **state)
{
    (void)state;
    struct lp_plugin_handle h;
    open_plugin("executor", "good", &h);
    assert_string_equal(lp_plugin_state_name(h.state), "LOADED");
    assert_string_equal(h.message, "");
    assert_string_equal(h.desc->version, "1.2.3");
    lp_plugin_close(&h);
}

static void test_bad_magic(void **state)
{
    (void)state;
    expect("executor", "badmagic", LP_PLUGIN_NOT_A_PLUGIN,
           "not a lilypad plugin: descriptor magic 0xdeadbeef, expected 0x4c50504c — define the "
           "descriptor with LP_PLUGIN_DEFINE");
}

static void test_abi_major_mismatch(void **state)
{
    (void)state;
    char detail[256];
    snprintf(detail, sizeof(detail),
             "incompatible ABI: plugin %d.%d, core %d.%d — rebuild the plugin against "
             "lilypad-dev %d.x",
             LP_ABI_MAJOR + 1, LP_ABI_MINOR, LP_ABI_MAJOR, LP_ABI_MINOR, LP_ABI_MAJOR);
    expect("executor", "abimajor", LP_PLUGIN_INCOMPATIBLE, detail);
}

static void test_newer_minor(void **state)
{
    (void)state;
    char detail[256];
    snprintf(detail, sizeof(detail),
             "built for a newer core: plugin ABI %d.%d, core %d.%d — upgrade lilypad or rebuild "
             "the plugin against lilypad-dev %d.%d",
             LP_ABI_MAJOR, LP_ABI_MINOR + 1, LP_ABI_MAJOR, LP_ABI_MINOR, LP_ABI_MAJOR,
             LP_ABI_MINOR);
    expect("executor", "newminor", LP_PLUGIN_INCOMPATIBLE, detail);
}

static void test_missing_entry_symbol(void **state)
{
    (void)state;
    char detail[512];
    snprintf(detail, sizeof(detail),
             "not a lilypad plugin: %s/executor_noentry.so: undefined symbol: "
             "lp_plugin_descriptor — a plugin exports lp_plugin_descriptor, defined by "
             "LP_PLUGIN_DEFINE",
             LP_TEST_PLUGIN_DIR);
    expect("executor", "noentry", LP_PLUGIN_NOT_A_PLUGIN, detail);
}

static void test_wrong_concern(void **state)
{
    (void)state;
    expect("executor", "wrongconcern", LP_PLUGIN_INCOMPATIBLE,
           "declares concern storage (3) but is loaded as executor — rename the file to "
           "storage_wrongconcern.so or fix the concern in LP_PLUGIN_DEFINE");
}

static void test_name_differs_from_file(void **state)
{
    (void)state;
    expect("executor", "misnamed", LP_PLUGIN_INCOMPATIBLE,
           "declares name \"othername\" but its file says \"misnamed\" — rename the file to "
           "executor_othername.so or fix the name in LP_PLUGIN_DEFINE");
}

static void test_probe_failure(void **state)
{
    (void)state;
    expect("hashrate", "probefail", LP_PLUGIN_UNAVAILABLE,
           "unavailable: no test device (probe says so)");
}

static void test_create_failure(void **state)
{
    (void)state;
    expect("storage", "createfail", LP_PLUGIN_INIT_FAILED,
           "create failed (rc -1): cannot open /nonexistent/store: No such file or directory");
}

static void test_missing_shared_library(void **state)
{
    (void)state;
    expect("verifier", "missingdep", LP_PLUGIN_OPEN_FAILED,
           "dlopen failed: libmissingdep_gone.so: cannot open shared object file: No such file "
           "or directory (check its dependencies with ldd)");
}

static void test_not_found(void **state)
{
    (void)state;
    struct lp_plugin_handle h;
    lp_plugin_open(&test_path, "executor", "absent", &h);
    assert_string_equal(lp_plugin_state_name(h.state), "NOT_FOUND");
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "plugin executor/absent: not found: no executor_absent.so in %s (install the plugin "
             "or add its folder with --plugin-path or LILYPAD_PLUGIN_PATH)",
             LP_TEST_PLUGIN_DIR);
    assert_string_equal(h.message, expected);
}

static void test_disabled_by_config(void **state)
{
    (void)state;
    struct lp_config *cfg;
    char err[1024];
    assert_int_equal(lp_config_load_string("disable_plugins = [\"executor/good\"];\n"
                                           "executor: { backend = \"good\"; good: { endpoint = "
                                           "\"x\"; }; };\n",
                                           "disabled.cfg", &cfg, err, sizeof(err)),
                     0);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    assert_int_equal(lp_backend_open(cfg, "executor", NULL, &b, err, sizeof(err)), -1);
    assert_string_equal(err, "plugin executor/good: disabled by disable_plugins in the "
                             "configuration");
    lp_loader_set_cli_path(NULL);
    lp_config_free(cfg);
}

static void test_backend_open_uses_configured_plugin(void **state)
{
    (void)state;
    struct lp_config *cfg;
    char err[1024];
    assert_int_equal(lp_config_load_string("executor: { backend = \"good\"; good: { endpoint = "
                                           "\"unix:///run/x.sock\"; retries = 7; }; };\n",
                                           "good.cfg", &cfg, err, sizeof(err)),
                     0);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    assert_int_equal(lp_backend_open(cfg, "executor", NULL, &b, err, sizeof(err)), 0);
    assert_string_equal(lp_backend_plugin(b)->name, "good");
    lp_backend_close(b);
    lp_loader_set_cli_path(NULL);
    lp_config_free(cfg);
}

static void test_auto_falls_back_past_unavailable(void **state)
{
    (void)state;
    struct lp_config *cfg;
    char err[1024];
    assert_int_equal(lp_config_load_string("hashrate: { backend = \"auto\"; probe_order = "
                                           "[\"probefail\", \"absent\"]; };\n",
                                           "auto.cfg", &cfg, err, sizeof(err)),
                     0);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    int rc = lp_backend_open(cfg, "hashrate", NULL, &b, err, sizeof(err));
    /* The embedded cpu plugin is the last resort of "auto". */
    assert_int_equal(rc, 0);
    assert_string_equal(lp_backend_plugin(b)->name, "cpu");
    assert_true(lp_backend_plugin(b)->embedded);
    lp_backend_close(b);
    /* An explicitly named backend that is unavailable is an error, not a fallback. */
    assert_int_equal(lp_backend_open(cfg, "hashrate", "probefail", &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unavailable: no test device (probe says so)"));
    lp_loader_set_cli_path(NULL);
    lp_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_plugin_loads),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_abi_major_mismatch),
        cmocka_unit_test(test_newer_minor),
        cmocka_unit_test(test_missing_entry_symbol),
        cmocka_unit_test(test_wrong_concern),
        cmocka_unit_test(test_name_differs_from_file),
        cmocka_unit_test(test_probe_failure),
        cmocka_unit_test(test_create_failure),
        cmocka_unit_test(test_missing_shared_library),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_disabled_by_config),
        cmocka_unit_test(test_backend_open_uses_configured_plugin),
        cmocka_unit_test(test_auto_falls_back_past_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
