/* Configuration files validated against schemas: every error names FILE:LINE, the key and a
 * hint; valid files yield typed values with defaults filled in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/validate.h"
#include "loader/backend.h"

/* Mirrors the schema of tests/loader/plugins/good.c. */
struct good_config {
    const char *endpoint;
    const char *token;
    uint64_t timeout_ms;
    int64_t retries;
    bool verbose;
    uint64_t max_output;
    struct lp_str_list tags;
};

static char cfg_path[64];

/* Writes text to a fresh file and validates it; returns validate's result and its error. */
static int check_text(const char *text, char *err, size_t errlen)
{
    snprintf(cfg_path, sizeof(cfg_path), "/tmp/lp-config-XXXXXX");
    int fd = mkstemp(cfg_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct lp_config *cfg;
    int rc = lp_config_load_file(cfg_path, &cfg, err, errlen);
    if (rc == 0) {
        lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
        rc = lp_config_validate(cfg, NULL, err, errlen);
        lp_loader_set_cli_path(NULL);
        lp_config_free(cfg);
    }
    unlink(cfg_path);
    return rc;
}

static void assert_error(const char *text, int line, const char *rest)
{
    char err[1024], expected[1024];
    assert_int_equal(check_text(text, err, sizeof(err)), -1);
    snprintf(expected, sizeof(expected), "%s:%d: %s", cfg_path, line, rest);
    assert_string_equal(err, expected);
}

static void test_unknown_key_in_plugin_group(void **state)
{
    (void)state;
    assert_error("executor: {\n"
                 "  backend = \"good\";\n"
                 "  good: {\n"
                 "    endpoint = \"unix:///run/d.sock\";\n"
                 "    api_url = \"http://x\";\n"
                 "  };\n"
                 "};\n",
                 5,
                 "executor.good: unknown key \"api_url\"; valid keys: endpoint, token, "
                 "timeout_ms, retries, verbose, max_output, tags");
}

static void test_unknown_top_level_key(void **state)
{
    (void)state;
    char err[1024], expected[512];
    assert_int_equal(
        check_text("gpu = \"auto\";\nhashrat: { backend = \"cpu\"; };\n", err, sizeof(err)), -1);
    /* The roles' sections (solver, provider, ...) follow the concerns in the list. */
    snprintf(expected, sizeof(expected),
             "%s:2: (top level): unknown key \"hashrat\"; valid keys: gpu, plugin_path, "
             "disable_plugins, hashrate, executor, storage, verifier",
             cfg_path);
    assert_memory_equal(err, expected, strlen(expected));
}

static void test_wrong_type(void **state)
{
    (void)state;
    assert_error("executor: { backend = \"good\";\n good: {\n endpoint = \"x\";\n"
                 " retries = \"three\";\n }; };\n",
                 4, "executor.good.retries: expected an integer, got a string that does not parse");
    assert_error("executor: { backend = \"good\"; good: { endpoint = \"x\";\n"
                 "  timeout_ms = \"forever\"; }; };\n",
                 2,
                 "executor.good.timeout_ms: expected a duration such as 30 (seconds), \"250ms\", "
                 "\"5m\" or \"2h\", got a string that does not parse");
    assert_error(
        "executor: { backend = \"good\"; good: { endpoint = \"x\";\n"
        "  tags = [1, 2]; }; };\n",
        2, "executor.good.tags: expected a list of strings such as [\"a\", \"b\"], got an array");
}

static void test_missing_required_key(void **state)
{
    (void)state;
    assert_error("executor: {\n  backend = \"good\";\n  good: { retries = 1; };\n};\n", 3,
                 "executor.good: missing required key \"endpoint\" (string: where the daemon "
                 "listens)");
}

static void test_selected_backend_unknown(void **state)
{
    (void)state;
    /* A backend no plugin anywhere provides is a mistake in the file. */
    assert_error("storage: {\n  backend = \"nosuch\";\n};\n", 2,
                 "storage.backend: unknown plugin \"nosuch\"; known storage plugins: createfail, "
                 "local, retry");
}

static void test_selected_backend_known_but_unusable_is_valid(void **state)
{
    (void)state;
    /* A plugin that exists but cannot be used here (broken, missing from this build) leaves the
     * file valid: `lilypad config check` reports it as a problem of this machine. */
    char err[1024];
    int rc = check_text("executor: { backend = \"badmagic\"; };\n"
                        "hashrate: { backend = \"rocm\"; };\n",
                        err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
}

static void test_unknown_names_in_disable_plugins_and_probe_order(void **state)
{
    (void)state;
    assert_error("gpu = \"auto\";\ndisable_plugins = [ \"hashrate/rocm\", \"rocm\" ];\n", 2,
                 "disable_plugins: unknown plugin \"rocm\"; known plugins (as concern/name): "
                 "executor/abi10, executor/abimajor, executor/bacalhau, executor/badmagic, "
                 "executor/docker, executor/good, "
                 "executor/misnamed, executor/newminor, executor/noentry, executor/nullsubmit, "
                 "executor/process, executor/reclaim, executor/shadowed, executor/shortops, "
                 "executor/tooshort, "
                 "executor/wrongconcern, hashrate/badmagic, hashrate/cpu, hashrate/cuda, "
                 "hashrate/probefail, hashrate/rocm, storage/createfail, storage/local, "
                 "storage/retry, verifier/ledger, verifier/missingdep");
    /* The line of the entry itself (libconfig dates an element by the token after it, so the
     * closing bracket shares its line here). */
    assert_error("hashrate: {\n  backend = \"auto\";\n  probe_order = [\n    \"cuda\",\n"
                 "    \"cdua\" ];\n};\n",
                 5,
                 "hashrate.probe_order: unknown plugin \"cdua\"; known hashrate plugins: "
                 "badmagic, cpu, cuda, probefail, rocm");
    /* The plugins this release ships are known even where this build left them out, so the
     * shipped example (probe_order cuda, rocm) is valid on a machine without them. */
    char err[1024];
    int rc = check_text("gpu = \"amd\";\ndisable_plugins = [\"hashrate/cuda\", "
                        "\"executor/good\"];\n"
                        "hashrate: { backend = \"auto\"; probe_order = [\"cuda\", \"rocm\", "
                        "\"probefail\"]; };\n",
                        err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
}

static void test_bad_gpu_vendor(void **state)
{
    (void)state;
    assert_error("\ngpu = \"intel\";\n", 2,
                 "gpu: unknown vendor \"intel\"; valid values: auto, nvidia, amd, none");
}

static void test_syntax_error_has_line(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(check_text("gpu = \"auto\";\nhashrate: { backend = ; };\n", err, sizeof(err)),
                     -1);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%s:2: ", cfg_path);
    assert_memory_equal(err, prefix, strlen(prefix));
}

static void test_values_and_defaults(void **state)
{
    (void)state;
    struct lp_config *cfg;
    char err[1024];
    assert_int_equal(lp_config_load_string("executor: { good: { endpoint = \"e\"; retries = 9L;\n"
                                           "max_output = \"512M\"; timeout_ms = \"250ms\"; }; };",
                                           "v.cfg", &cfg, err, sizeof(err)),
                     0);
    struct lp_plugin_handle h;
    char *dirs[] = {LP_TEST_PLUGIN_DIR};
    struct lp_search_path sp = {dirs, 1};
    lp_plugin_open(&sp, "executor", "good", &h);
    assert_int_equal(h.state, LP_PLUGIN_LOADED);
    struct lp_config_values *v;
    assert_int_equal(lp_config_apply_schema(cfg, "executor.good", h.desc->config_schema,
                                            h.desc->config_size, NULL, &v, err, sizeof(err)),
                     0);
    const struct good_config *g = lp_config_values_data(v);
    assert_string_equal(g->endpoint, "e");
    assert_string_equal(g->token, "");
    assert_int_equal(g->retries, 9);
    assert_int_equal(g->timeout_ms, 250);
    assert_int_equal(g->max_output, 512u << 20);
    assert_false(g->verbose);
    assert_int_equal(g->tags.count, 2);
    assert_string_equal(g->tags.items[1], "b");

    /* Secrets never appear in a dump. */
    char *dump = NULL;
    size_t dump_len = 0;
    FILE *out = open_memstream(&dump, &dump_len);
    struct good_config with_secret = *g;
    with_secret.token = "s3cr3t-token";
    lp_config_values_dump(out, h.desc->config_schema, &with_secret, 0);
    fclose(out);
    assert_null(strstr(dump, "s3cr3t"));
    assert_non_null(strstr(dump, "token = \"********\";"));
    assert_non_null(strstr(dump, "retries = 9L;"));
    free(dump);
    lp_config_values_free(v);
    lp_plugin_close(&h);
    lp_config_free(cfg);
}

static void test_valid_file_passes(void **state)
{
    (void)state;
    char err[1024];
    int rc = check_text("gpu = \"none\";\n"
                        "executor: { backend = \"good\"; good: { endpoint = \"x\"; }; };\n"
                        "hashrate: { backend = \"auto\"; };\n",
                        err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_key_in_plugin_group),
        cmocka_unit_test(test_unknown_top_level_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_missing_required_key),
        cmocka_unit_test(test_selected_backend_unknown),
        cmocka_unit_test(test_selected_backend_known_but_unusable_is_valid),
        cmocka_unit_test(test_unknown_names_in_disable_plugins_and_probe_order),
        cmocka_unit_test(test_bad_gpu_vendor),
        cmocka_unit_test(test_syntax_error_has_line),
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_valid_file_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
