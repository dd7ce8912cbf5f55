/* lp_config_merge: a file's settings filled from defaults (what `lilypad devnet -c FILE` does):
 * what the file leaves out comes from the defaults, groups merge member by member, the owned
 * paths take the defaults' values, and what the file sets keeps its value and its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

static const char *const defaults_text =
    "gpu = \"none\";\n"
    "executor: { backend = \"process\"; process: { work_dir = \"/d/jobs\"; }; };\n"
    "storage: { backend = \"local\"; local: { root = \"/d/storage\"; }; };\n"
    "provider: { solver = \"http://devnet\"; key = \"/d/key\"; max_jobs = 4; tags = [ 1, 2 ]; "
    "};\n";

static struct lp_config *load(const char *text, const char *name)
{
    struct lp_config *c = NULL;
    char err[512];
    if (lp_config_load_string(text, name, &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    return c;
}

static const char *string_at(const struct lp_config *c, const char *path)
{
    const struct lp_cfg_node *n = lp_config_lookup(c, path);
    return n ? lp_config_node_string(n) : NULL;
}

static void test_fills_and_owns(void **state)
{
    (void)state;
    struct lp_config *file = load("executor: {\n"
                                  "  backend = \"docker\";\n"
                                  "  docker: { socket = \"/run/x.sock\"; };\n"
                                  "};\n"
                                  "provider: { solver = \"http://elsewhere\"; max_jobs = 2; };\n",
                                  "user.cfg");
    struct lp_config *defaults = load(defaults_text, "devnet");
    const char *const owned[] = {"provider.solver", "provider.key", NULL};
    char err[512] = "";
    assert_int_equal(lp_config_merge(file, defaults, owned, err, sizeof err), 0);

    /* the file's own choices stay, with their lines */
    assert_string_equal(string_at(file, "executor.backend"), "docker");
    assert_int_equal(lp_config_node_line(lp_config_lookup(file, "executor.backend")), 2);
    assert_string_equal(string_at(file, "executor.docker.socket"), "/run/x.sock");
    /* what it left out comes from the defaults, groups merged member by member */
    assert_string_equal(string_at(file, "gpu"), "none");
    assert_string_equal(string_at(file, "executor.process.work_dir"), "/d/jobs");
    assert_string_equal(string_at(file, "storage.local.root"), "/d/storage");
    assert_string_equal(string_at(file, "provider.key"), "/d/key");
    const struct lp_cfg_node *tags = lp_config_lookup(file, "provider.tags");
    assert_non_null(tags);
    assert_int_equal(lp_config_list_length(tags), 2);
    /* owned: the defaults' value wins */
    assert_string_equal(string_at(file, "provider.solver"), "http://devnet");
    /* not owned and set by the file: the file's value */
    struct lp_config_values *v = NULL;
    struct jobs {
        int64_t max_jobs;
    };
    static const struct lp_cfg_field schema[] = {
        LP_CFG_FIELD(struct jobs, max_jobs, LP_CFG_INT, 0, "1", "deals at once"),
        LP_CFG_END,
    };
    static const char *const extra[] = {"solver", "key", "tags", NULL};
    assert_int_equal(lp_config_apply_schema(file, "provider", schema, sizeof(struct jobs), extra,
                                            &v, err, sizeof err),
                     0);
    assert_int_equal(((const struct jobs *)lp_config_values_data(v))->max_jobs, 2);
    lp_config_values_free(v);
    lp_config_free(defaults);
    lp_config_free(file);
}

static void test_group_set_as_value(void **state)
{
    (void)state;
    struct lp_config *file = load("storage = \"local\";\n", "user.cfg");
    struct lp_config *defaults = load(defaults_text, "devnet");
    char err[512] = "";
    assert_int_equal(lp_config_merge(file, defaults, NULL, err, sizeof err), -1);
    assert_string_equal(err, "storage must be a group, as in { key = value; }");
    lp_config_free(defaults);
    lp_config_free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_and_owns),
        cmocka_unit_test(test_group_set_as_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
