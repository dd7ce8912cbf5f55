/* The solver's defaults have one source, the `solver { ... }` schema: lp_solver_config_defaults
 * must equal what a configuration without a solver section loads to, `lilypad config dump`
 * must print those same values (its output, read back, loads to the defaults), a value set in
 * a file must reach the solver's config, and a tick of 0 (a timeout loop that never sleeps) is
 * refused with one line. */
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
#include "solver/settings.h"

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

/* The numbers only: the paths point into each runtime. */
static struct lp_solver_config numbers(const struct lp_solver_config *c)
{
    struct lp_solver_config n = *c;
    n.db_path = n.files_dir = n.modules_dir = NULL;
    n.verifier = NULL;
    n.hosts = NULL;
    n.mediators = NULL;
    return n;
}

static void assert_same_numbers(const struct lp_solver_config *a, const struct lp_solver_config *b)
{
    struct lp_solver_config x = numbers(a), y = numbers(b);
    assert_memory_equal(&x, &y, sizeof x);
}

static void load_text(const char *text, struct lp_solver_runtime *rt)
{
    struct lp_config *cfg = NULL;
    char err[512];
    if (lp_config_load_string(text, "test.cfg", &cfg, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (lp_solver_settings_load(cfg, rt, err, sizeof err) != 0)
        fail_msg("%s", err);
    lp_config_free(cfg);
}

static void test_defaults_are_the_schemas(void **state)
{
    (void)state;
    struct lp_solver_config d;
    memset(&d, 0xA5, sizeof d); /* every field must be written */
    lp_solver_config_defaults(&d);
    assert_null(d.db_path);
    assert_null(d.files_dir);

    struct lp_solver_runtime rt;
    char err[256];
    assert_int_equal(lp_solver_settings_load(NULL, &rt, err, sizeof err), 0);
    assert_same_numbers(&d, &rt.config);
    lp_solver_settings_free(&rt);

    load_text("gpu = \"none\";\n", &rt);
    assert_same_numbers(&d, &rt.config);
    lp_solver_settings_free(&rt);

    /* the values the solver's README documents */
    assert_int_equal(d.match_timeout_ms, 30000);
    assert_int_equal(d.execution_grace_ms, 60000);
    assert_int_equal(d.max_execution_ms, 15 * 60000);
    assert_int_equal(d.total_timeout_ms, 2 * 3600000);
    assert_int_equal(d.tick_ms, 1000);
    assert_int_equal(d.rate_limit, 200);
    assert_int_equal(d.max_file_bytes, 64u << 20);
    assert_int_not_equal(d.offer_skew_ms, 0);
}

static void test_file_values_reach_the_solver(void **state)
{
    (void)state;
    struct lp_solver_runtime rt;
    load_text("solver: { match_timeout = \"5s\"; tick = \"250ms\"; rate_limit = 0;"
              " max_file_size = \"1M\"; };\n",
              &rt);
    struct lp_solver_config d;
    lp_solver_config_defaults(&d);
    assert_int_equal(rt.config.match_timeout_ms, 5000);
    assert_int_equal(rt.config.tick_ms, 250);
    assert_int_equal(rt.config.rate_limit, 0);
    assert_int_equal(rt.config.max_file_bytes, 1u << 20);
    assert_int_equal(rt.config.total_timeout_ms, d.total_timeout_ms);
    lp_solver_settings_free(&rt);
}

static void test_zero_tick_refused(void **state)
{
    (void)state;
    struct lp_config *cfg = NULL;
    struct lp_solver_runtime rt;
    char err[512];
    assert_int_equal(
        lp_config_load_string("solver: { tick = 0; };\n", "t.cfg", &cfg, err, sizeof err), 0);
    assert_int_equal(lp_solver_settings_load(cfg, &rt, err, sizeof err), -1);
    assert_non_null(strstr(err, "solver.tick"));
    lp_config_free(cfg);
}

static char *slurp(FILE *f)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - 1 - n, f)) > 0)
        n += got;
    buf[n] = '\0';
    return buf;
}

static void test_config_dump_prints_the_defaults(void **state)
{
    (void)state;
    char path[] = "/tmp/lp-solver-settings-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "solver: { listen = \"127.0.0.1:9\"; };\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' config dump '%s'", LILYPAD, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = slurp(p);
    assert_int_equal(pclose(p), 0);
    unlink(path);
    assert_non_null(strstr(out, "match_timeout = \"30s\";"));
    assert_non_null(strstr(out, "total_timeout = \"2h\";"));
    /* what it prints loads back to the built-in defaults, every key of them */
    struct lp_solver_runtime rt;
    load_text(out, &rt);
    free(out);
    struct lp_solver_config d;
    lp_solver_config_defaults(&d);
    assert_same_numbers(&d, &rt.config);
    assert_string_equal(rt.settings->listen, "127.0.0.1:9");
    lp_solver_settings_free(&rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_schemas),
        cmocka_unit_test(test_file_values_reach_the_solver),
        cmocka_unit_test(test_zero_tick_refused),
        cmocka_unit_test(test_config_dump_prints_the_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
