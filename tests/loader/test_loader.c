/* Each deliberately broken plugin ends in its exact state with its exact one-line message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../unit/skip_reason.h"

#include "config/config.h"
#include "loader/backend.h"
#include "loader/loader.h"
#include "util/log.h"

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
             "incompatible ABI: plugin %d.%d, core %d.%d — rebuild the plugin against this "
             "lilypad's plugin headers (pkg-config lilypad-plugin, or find_package(Lilypad) in "
             "CMake)",
             LP_ABI_MAJOR + 1, LP_ABI_MINOR, LP_ABI_MAJOR, LP_ABI_MINOR);
    expect("executor", "abimajor", LP_PLUGIN_INCOMPATIBLE, detail);
}

static void test_newer_minor(void **state)
{
    (void)state;
    char detail[256];
    snprintf(detail, sizeof(detail),
             "built for a newer core: plugin ABI %d.%d, core %d.%d — upgrade lilypad, or "
             "rebuild the plugin against this lilypad's plugin headers (pkg-config "
             "lilypad-plugin, or find_package(Lilypad) in CMake)",
             LP_ABI_MAJOR, LP_ABI_MINOR + 1, LP_ABI_MAJOR, LP_ABI_MINOR);
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
             "plugin executor/absent: not found: no executor_absent.so in %s (install the "
             "plugin, or add its folder with --plugin-path, LILYPAD_PLUGIN_PATH or plugin_path "
             "in the configuration)",
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

/* stderr, redirected to a file while a test looks at what the loader logs. */
static int saved_stderr = -1;
static FILE *captured;

static void capture_begin(void)
{
    fflush(stderr);
    captured = tmpfile();
    assert_non_null(captured);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(dup2(fileno(captured), STDERR_FILENO) >= 0);
}

/* What was logged since capture_begin (free() it). */
static char *capture_end(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(captured);
    char *text = calloc(1, 1 << 16);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 16) - 1, captured);
    text[n] = '\0';
    fclose(captured);
    return text;
}

static struct lp_config *config_from(const char *text)
{
    struct lp_config *cfg;
    char err[1024];
    if (lp_config_load_string(text, "auto.cfg", &cfg, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return cfg;
}

/* Opens the hashrate backend "auto" picks with the test plugins on the path; returns its name
 * and what was logged meanwhile. */
static char *open_auto(const char *text, int log_level, char *chosen, size_t chosen_len)
{
    struct lp_config *cfg = config_from(text);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    int level = lp_log_level();
    lp_log_set_level(log_level);
    struct lp_backend *b = NULL;
    char err[1024];
    capture_begin();
    int rc = lp_backend_open(cfg, "hashrate", NULL, &b, err, sizeof(err));
    char *logged = capture_end();
    lp_log_set_level(level);
    if (rc != 0)
        fail_msg("%s", err);
    snprintf(chosen, chosen_len, "%s", lp_backend_plugin(b)->name);
    lp_backend_close(b);
    lp_loader_set_cli_path(NULL);
    lp_config_free(cfg);
    return logged;
}

static void test_auto_falls_back_in_one_line(void **state)
{
    (void)state;
    /* A GPU plugin this release ships that cannot be used here: not installed, or installed
     * without its device (UNAVAILABLE). Its line in the message is its state's own. */
    struct lp_search_path sp;
    assert_int_equal(lp_search_path_build(&sp, LP_TEST_PLUGIN_DIR, NULL, NULL), 0);
    const char *absent = NULL;
    char why[1200] = "";
    const char *gpu_plugins[] = {"rocm", "cuda"};
    for (size_t i = 0; i < 2 && absent == NULL; i++) {
        struct lp_plugin_handle h;
        lp_plugin_open(&sp, "hashrate", gpu_plugins[i], &h);
        struct lp_backend *b = NULL;
        char err[1024];
        if (h.state == LP_PLUGIN_LOADED &&
            lp_backend_from_handle(NULL, "auto", &h, &b, err, sizeof(err)) == 0) {
            lp_backend_close(b); /* this one works here: a GPU of its vendor is present */
            continue;
        }
        absent = gpu_plugins[i];
        /* The handle's message without its leading "plugin ". */
        snprintf(why, sizeof(why), "%s",
                 strncmp(h.message, "plugin ", 7) ? h.message : h.message + 7);
        lp_plugin_close(&h);
    }
    lp_search_path_free(&sp);
    if (absent == NULL)
        lp_skip_because("hashrate/cuda and hashrate/rocm both work here (GPUs of both vendors), "
                        "so \"auto\" cannot be shown passing over one");
    char text[256], chosen[64], expected[4096];
    snprintf(text, sizeof(text),
             "hashrate: { backend = \"auto\"; probe_order = [\"probefail\", \"%s\"]; };\n", absent);

    /* gpu = "auto" on a machine without the GPU plugins is no fault: information only. */
    char *logged = open_auto(text, LP_LOG_WARN, chosen, sizeof(chosen));
    assert_string_equal(chosen, "cpu");
    assert_string_equal(logged, "");
    free(logged);

    logged = open_auto(text, LP_LOG_INFO, chosen, sizeof(chosen));
    assert_string_equal(chosen, "cpu");
    snprintf(expected, sizeof(expected),
             "lilypad: hashrate: backend \"auto\" with gpu = \"auto\" could not use "
             "hashrate/probefail (%s/hashrate_probefail.so): unavailable: no test device (probe "
             "says so); %s; using hashrate/cpu\n",
             LP_TEST_PLUGIN_DIR, why);
    assert_string_equal(logged, expected);
    free(logged);

    /* An explicitly named backend that is unavailable is an error, not a fallback. */
    struct lp_config *cfg = config_from(text);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    char err[1024];
    assert_int_equal(lp_backend_open(cfg, "hashrate", "probefail", &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unavailable: no test device (probe says so)"));
    lp_loader_set_cli_path(NULL);
    lp_config_free(cfg);
}

static void test_auto_warns_for_a_vendor_asked_for(void **state)
{
    (void)state;
    /* gpu = "nvidia" narrows auto to cuda (probefail is not tried); its absence is a warning. */
    char chosen[64];
    char *logged = open_auto("gpu = \"nvidia\";\ndisable_plugins = [\"hashrate/cuda\"];\n"
                             "hashrate: { backend = \"auto\"; probe_order = [\"probefail\", "
                             "\"cuda\"]; };\n",
                             LP_LOG_WARN, chosen, sizeof(chosen));
    assert_string_equal(chosen, "cpu");
    assert_string_equal(logged, "lilypad: warning: hashrate: backend \"auto\" with gpu = "
                                "\"nvidia\" could not use hashrate/cuda: disabled by "
                                "disable_plugins in the configuration; using hashrate/cpu\n");
    free(logged);
}

static void test_auto_warns_for_a_broken_plugin(void **state)
{
    (void)state;
    char chosen[64], expected[1024];
    char *logged = open_auto("hashrate: { backend = \"auto\"; probe_order = [\"badmagic\"]; };\n",
                             LP_LOG_WARN, chosen, sizeof(chosen));
    assert_string_equal(chosen, "cpu");
    snprintf(expected, sizeof(expected),
             "lilypad: warning: hashrate: backend \"auto\" with gpu = \"auto\" could not use "
             "hashrate/badmagic (%s/hashrate_badmagic.so): not a lilypad plugin: descriptor "
             "magic 0xdeadbeef, expected 0x4c50504c — define the descriptor with "
             "LP_PLUGIN_DEFINE; using hashrate/cpu\n",
             LP_TEST_PLUGIN_DIR);
    assert_string_equal(logged, expected);
    free(logged);
}

struct skips {
    int count;
    char broken[PATH_MAX], used[PATH_MAX];
    enum lp_plugin_state state;
};

static void count_skip(void *arg, const struct lp_plugin_handle *broken,
                       const struct lp_plugin_handle *used)
{
    struct skips *s = arg;
    s->count++;
    s->state = broken->state;
    snprintf(s->broken, sizeof(s->broken), "%s", broken->path);
    snprintf(s->used, sizeof(s->used), "%s", used->path);
}

static void test_broken_copy_does_not_hide_a_good_one(void **state)
{
    (void)state;
    static char *two_dirs[] = {LP_TEST_PLUGIN_DIR, LP_TEST_SECOND_PLUGIN_DIR};
    const struct lp_search_path both = {two_dirs, 2};

    /* A file that is no shared object at all first, a good copy second. */
    struct lp_plugin_handle h;
    capture_begin();
    lp_plugin_open(&both, "executor", "shadowed", &h);
    char *logged = capture_end();
    assert_string_equal(lp_plugin_state_name(h.state), "LOADED");
    assert_string_equal(h.path, LP_TEST_SECOND_PLUGIN_DIR "/executor_shadowed.so");
    assert_string_equal(
        logged, "lilypad: warning: plugin executor/shadowed (" LP_TEST_PLUGIN_DIR
                "/executor_shadowed.so): OPEN_FAILED: dlopen failed: " LP_TEST_PLUGIN_DIR
                "/executor_shadowed.so: invalid ELF header (check its dependencies with "
                "ldd); skipped, using " LP_TEST_SECOND_PLUGIN_DIR "/executor_shadowed.so\n");
    free(logged);
    lp_plugin_close(&h);

    /* A bad descriptor first: the callback hears of it instead of the log. */
    struct skips skips = {0};
    capture_begin();
    lp_plugin_open_reporting(&both, "executor", "badmagic", &h, count_skip, &skips);
    logged = capture_end();
    assert_string_equal(logged, "");
    free(logged);
    assert_string_equal(lp_plugin_state_name(h.state), "LOADED");
    assert_int_equal(skips.count, 1);
    assert_string_equal(lp_plugin_state_name(skips.state), "NOT_A_PLUGIN");
    assert_string_equal(skips.broken, LP_TEST_PLUGIN_DIR "/executor_badmagic.so");
    assert_string_equal(skips.used, LP_TEST_SECOND_PLUGIN_DIR "/executor_badmagic.so");
    lp_plugin_close(&h);

    /* With no good copy anywhere, the first broken copy is the answer, and nothing is said
     * twice: the caller reports it. */
    capture_begin();
    lp_plugin_open(&test_path, "executor", "shadowed", &h);
    logged = capture_end();
    assert_string_equal(logged, "");
    free(logged);
    assert_string_equal(lp_plugin_state_name(h.state), "OPEN_FAILED");
    assert_string_equal(h.path, LP_TEST_PLUGIN_DIR "/executor_shadowed.so");

    /* The core's own lookup (what the provider uses) goes on to the good copy too. */
    struct lp_config *cfg =
        config_from("executor: { backend = \"shadowed\"; shadowed: { endpoint = \"x\"; }; };\n");
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR ":" LP_TEST_SECOND_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    char err[1024];
    capture_begin();
    int rc = lp_backend_open(cfg, "executor", NULL, &b, err, sizeof(err));
    free(capture_end());
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(lp_backend_plugin(b)->path,
                        LP_TEST_SECOND_PLUGIN_DIR "/executor_shadowed.so");
    lp_backend_close(b);
    lp_loader_set_cli_path(NULL);
    lp_config_free(cfg);
}

/* Every role opens its backends through lp_backend_open, so a name in disable_plugins or
 * probe_order that matches no plugin stops the provider and the solver as it stops
 * `lilypad config check`. */
static void test_unknown_plugin_names_stop_backend_open(void **state)
{
    (void)state;
    struct lp_config *cfg = config_from("disable_plugins = [\"hashrate/cuda\",\n"
                                        "                   \"hashrate/rcom\"];\n");
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    char err[1024];
    assert_int_equal(lp_backend_open(cfg, "verifier", NULL, &b, err, sizeof(err)), -1);
    assert_string_equal(
        err,
        "auto.cfg:2: disable_plugins: unknown plugin \"hashrate/rcom\"; "
        "known plugins (as concern/name): executor/abi10, executor/abimajor, "
        "executor/bacalhau, executor/badmagic, executor/docker, executor/good, executor/misnamed, "
        "executor/newminor, executor/noentry, executor/nullsubmit, "
        "executor/process, executor/reclaim, executor/shadowed, executor/shortops, "
        "executor/tooshort, executor/wrongconcern, hashrate/badmagic, "
        "hashrate/cpu, hashrate/cuda, hashrate/probefail, hashrate/rocm, "
        "storage/createfail, storage/local, storage/retry, verifier/ledger, "
        "verifier/missingdep");
    lp_config_free(cfg);

    cfg = config_from("hashrate: { probe_order = [\"cdua\"]; };\n");
    assert_int_equal(lp_backend_open(cfg, "storage", NULL, &b, err, sizeof(err)), -1);
    assert_string_equal(err, "auto.cfg:1: hashrate.probe_order: unknown plugin \"cdua\"; known "
                             "hashrate plugins: badmagic, cpu, cuda, probefail, rocm");
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
        cmocka_unit_test(test_auto_falls_back_in_one_line),
        cmocka_unit_test(test_auto_warns_for_a_vendor_asked_for),
        cmocka_unit_test(test_auto_warns_for_a_broken_plugin),
        cmocka_unit_test(test_broken_copy_does_not_hide_a_good_one),
        cmocka_unit_test(test_unknown_plugin_names_stop_backend_open),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
