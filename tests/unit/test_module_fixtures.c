/* The published Lilypad templates (read in place from the fixtures folder beside the checkout,
 * LP_SHARED_DIR) render to
 * what Go's text/template produced (tests/vectors/module, made without our engine), their job
 * specs reduce to the right executor fields, no input can change anything but its own string,
 * and module IDs match the vectors computed with ethers.js. Where the templates' folder is absent
 * the tests that read it skip (exit 77) and the rest still run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "module/module.h"
#include "util/hex.h"

#include "skip_reason.h"

#define FIXTURES LP_SHARED_DIR "/fixtures/lilypad-modules"
#define VECTORS  LP_SOURCE_DIR "/tests/vectors/module"

/* The published templates are not part of the checkout: where their folder is absent (a
 * user's machine) the tests that read them skip, and the others still run. */
static void require_fixtures(void)
{
    struct stat st;
    if (stat(FIXTURES, &st) != 0 || !S_ISDIR(st.st_mode))
        lp_skip_because("%s is absent: the published Lilypad module templates are not here",
                        FIXTURES);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void load_fixture(const char *name, struct lp_module *m)
{
    char dir[512];
    struct lp_module_error err = {{0}};
    snprintf(dir, sizeof dir, "%s/%s", FIXTURES, name);
    if (lp_module_load(dir, NULL, m, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(m->loc.kind, LP_MODULE_DIR);
}

static int render_fixture(const char *name, const struct lp_template_input *in, size_t n,
                          struct lp_module_job *job, struct lp_module_error *err)
{
    struct lp_module m;
    load_fixture(name, &m);
    int rc = lp_module_render(&m, in, n, job, err);
    lp_module_free(&m);
    return rc;
}

static void test_go_vectors(void **state)
{
    (void)state;
    require_fixtures();
    char *cases = slurp(VECTORS "/cases.txt", NULL);
    int count = 0;
    for (char *line = strtok(cases, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *fields[16];
        size_t nf = 0;
        for (char *p = line; nf < 16;) {
            fields[nf++] = p;
            char *tab = strchr(p, '\t');
            if (tab == NULL)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        assert_true(nf >= 2);
        struct lp_template_input in[14];
        size_t n = 0;
        for (size_t i = 2; i < nf; i++) {
            char *eq = strchr(fields[i], '=');
            assert_non_null(eq);
            *eq = '\0';
            in[n].key = fields[i];
            in[n].value = eq + 1;
            n++;
        }
        char path[512];
        snprintf(path, sizeof path, "%s/%s", VECTORS, fields[1]);
        size_t want_len;
        char *want = slurp(path, &want_len);
        struct lp_module_job job;
        struct lp_module_error err = {{0}};
        if (render_fixture(fields[0], in, n, &job, &err) != 0)
            fail_msg("%s: %s", fields[1], err.message);
        if (job.rendered_len != want_len || memcmp(job.rendered, want, want_len) != 0)
            fail_msg("%s: rendered text differs from Go's:\n%s", fields[1], job.rendered);
        /* and the canonical JSON is the expected text's */
        struct lp_module_spec spec;
        char *canonical = NULL;
        assert_int_equal(lp_module_spec_parse("want", want, want_len, &spec, &canonical, &err), 0);
        assert_string_equal(canonical, job.canonical);
        free(canonical);
        lp_module_spec_free(&spec);
        lp_module_job_free(&job);
        free(want);
        count++;
    }
    free(cases);
    assert_true(count >= 8);
}

static void test_job_specs(void **state)
{
    (void)state;
    require_fixtures();
    struct lp_module_error err = {{0}};
    struct lp_module_job job;
    struct lp_template_input moo = {"Message", "moo"};
    assert_int_equal(render_fixture("cowsay-v0.0.4", &moo, 1, &job, &err), 0);
    const struct lp_module_spec *s = &job.spec;
    assert_string_equal(s->image, "richbrem/cowsay:latest");
    assert_int_equal(s->n_entrypoint, 2);
    assert_string_equal(s->entrypoint[0], "/usr/local/bin/cowsay");
    assert_string_equal(s->entrypoint[1], "moo");
    assert_int_equal(s->n_env, 0);
    assert_int_equal(s->resources.cpu_millicores, 1000);
    assert_int_equal(s->resources.gpus, 0);
    assert_int_equal(s->resources.ram_bytes, 100ull << 20);
    assert_int_equal(s->timeout_s, 1800);
    assert_false(s->network);
    lp_module_job_free(&job);

    struct lp_template_input sd[] = {{"Prompt", "a cat"}, {"Seed", "7"}};
    assert_int_equal(render_fixture("sdxl-pipeline-v0.9-base-lilypad3", sd, 2, &job, &err), 0);
    s = &job.spec;
    assert_string_equal(s->image, "zorlin/sdxl:v0.9-base-lilypad3");
    assert_null(s->entrypoint);
    assert_int_equal(s->n_env, 3);
    assert_string_equal(s->env[0], "PROMPT=a cat");
    assert_string_equal(s->env[1], "SEED=7");
    assert_string_equal(s->env[2], "HF_HUB_OFFLINE=1");
    assert_int_equal(s->resources.gpus, 1);
    assert_int_equal(s->resources.ram_bytes, 8000ull << 20);
    assert_int_equal(s->n_outputs, 1);
    assert_string_equal(s->outputs[0].path, "/outputs");
    lp_module_job_free(&job);

    assert_int_equal(render_fixture("lilysay-0.5.2", NULL, 0, &job, &err), 0);
    assert_int_equal(job.spec.n_env, 2);
    assert_string_equal(job.spec.env[0], "IMAGE=lilypad");
    assert_string_equal(job.spec.env[1], "Message=Hello World");
    assert_int_equal(job.spec.n_entrypoint, 3);
    lp_module_job_free(&job);
}

static const char *const NASTY[] = {
    "\"",
    "\\",
    "x\",\"Image\":\"evil",
    "x\"],\"Image\":\"evil\",\"Entrypoint\":[\"",
    "\"}}}, \"machine\": {\"gpu\": 8}",
    "a\nb\r\tc",
    "}}{{.Image}}",
    "\\\"\\u0022",
    "\x01\x02\x1b[31m",
    "HF_HUB_OFFLINE=0\",\"LD_PRELOAD=/evil.so",
};

/* Each nasty value, through each published fixture, only ever lands in its own string. */
static void test_no_injection(void **state)
{
    (void)state;
    require_fixtures();
    for (size_t i = 0; i < sizeof NASTY / sizeof NASTY[0]; i++) {
        const char *v = NASTY[i];
        char want[512];
        struct lp_module_error err = {{0}};
        struct lp_module_job job;

        struct lp_template_input c = {"Message", v};
        if (render_fixture("cowsay-v0.0.4", &c, 1, &job, &err) != 0)
            fail_msg("cowsay [%s]: %s", v, err.message);
        assert_string_equal(job.spec.image, "richbrem/cowsay:latest");
        assert_int_equal(job.spec.n_entrypoint, 2);
        assert_string_equal(job.spec.entrypoint[1], v);
        assert_int_equal(job.spec.resources.gpus, 0);
        lp_module_job_free(&job);

        struct lp_template_input l[] = {{"Image", v}, {"Message", v}};
        if (render_fixture("lilysay-0.5.2", l, 2, &job, &err) != 0)
            fail_msg("lilysay [%s]: %s", v, err.message);
        assert_string_equal(job.spec.image,
                            "public.ecr.aws/lilypad-network/lilysay:latest@sha256:"
                            "a8dc7aa48cb27af19d38c69b496c3c967e1d4fdee40e3b97d27b27c"
                            "b87b40878");
        assert_int_equal(job.spec.n_env, 2);
        snprintf(want, sizeof want, "IMAGE=%s", v);
        assert_string_equal(job.spec.env[0], want);
        snprintf(want, sizeof want, "MESSAGE=%s", v);
        assert_string_equal(job.spec.env[1], want);
        assert_int_equal(job.spec.n_entrypoint, 3);
        lp_module_job_free(&job);

        struct lp_template_input p = {"Prompt", v};
        if (render_fixture("sdxl-pipeline-v0.9-base-lilypad3", &p, 1, &job, &err) != 0)
            fail_msg("sdxl [%s]: %s", v, err.message);
        assert_string_equal(job.spec.image, "zorlin/sdxl:v0.9-base-lilypad3");
        assert_int_equal(job.spec.n_env, 2);
        snprintf(want, sizeof want, "PROMPT=%s", v);
        assert_string_equal(job.spec.env[0], want);
        assert_string_equal(job.spec.env[1], "HF_HUB_OFFLINE=1");
        assert_int_equal(job.spec.resources.gpus, 1);
        lp_module_job_free(&job);
    }
}

static int spec_error(const char *json, const char *want)
{
    struct lp_module_spec spec;
    struct lp_module_error err = {{0}};
    int rc = lp_module_spec_parse("m", json, strlen(json), &spec, NULL, &err);
    if (rc == 0) {
        lp_module_spec_free(&spec);
        fail_msg("accepted: %s", json);
    }
    if (strstr(err.message, want) == NULL)
        fail_msg("error [%s] lacks [%s]", err.message, want);
    return 0;
}

static void test_spec_checks(void **state)
{
    (void)state;
    spec_error("{", "not valid JSON: line 1");
    spec_error("[]", "must be a JSON object");
    spec_error("{}", "job: missing");
    spec_error("{\"job\":{\"Spec\":{}}}", "job.Spec.Docker.Image: missing");
    spec_error("{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"\"}}}}", "non-empty string");
    spec_error(
        "{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"i\",\"EnvironmentVariables\":[\"X\"]}}}}",
        "KEY=VALUE");
    spec_error("{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"i\",\"Entrypoint\":[1]}}}}",
               "array of strings");
    spec_error("{\"job\":{\"Spec\":{\"EngineSpec\":{\"Type\":\"wasm\",\"Params\":{}}}}}",
               "only \"docker\"");
    spec_error("{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"i\"},\"Resources\":{\"CPU\":\"x\"}}}}",
               "Resources.CPU");
    spec_error("{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"i\"},\"Timeout\":-1}}}", "Timeout");
    spec_error("{\"machine\":{\"gpu\":\"1\"},\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"i\"}}}}",
               "machine.gpu");
    spec_error("{\"a\":1,\"a\":2}", "duplicate");

    struct lp_module_spec spec;
    struct lp_module_error err = {{0}};
    const char *ok = "{\"gpus\":[{\"vram\":24576}],\"executionTimeoutSeconds\":60,"
                     "\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"i\"},\"Timeout\":1800,"
                     "\"Resources\":{\"CPU\":\"500m\",\"Memory\":\"1Gb\",\"Disk\":\"2GiB\"},"
                     "\"Network\":{\"Type\":\"HTTP\",\"Domains\":[\"example.org\"]}}}}";
    assert_int_equal(lp_module_spec_parse("m", ok, strlen(ok), &spec, NULL, &err), 0);
    assert_int_equal(spec.resources.cpu_millicores, 500);
    assert_int_equal(spec.resources.ram_bytes, 1000000000ull);
    assert_int_equal(spec.resources.disk_bytes, 2ull << 30);
    assert_int_equal(spec.resources.gpus, 1);
    assert_int_equal(spec.resources.vram_bytes, 24576ull << 20);
    assert_int_equal(spec.timeout_s, 60);
    assert_true(spec.network);
    assert_int_equal(spec.n_domains, 1);
    lp_module_spec_free(&spec);

    uint64_t v;
    assert_int_equal(lp_job_parse_cpu("1.5", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(lp_job_parse_cpu("250m", &v), 0);
    assert_int_equal(v, 250);
    assert_int_not_equal(lp_job_parse_cpu("-1", &v), 0);
    assert_int_equal(lp_job_parse_bytes("512Mi", &v), 0);
    assert_int_equal(v, 512ull << 20);
    assert_int_not_equal(lp_job_parse_bytes("12 parsecs", &v), 0);
}

static void test_ids(void **state)
{
    (void)state;
    char *ids = slurp(VECTORS "/ids.txt", NULL);
    int count = 0;
    for (char *line = strtok(ids, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *repo = line, *commit = strchr(repo, '\t');
        assert_non_null(commit);
        *commit++ = '\0';
        char *path = strchr(commit, '\t');
        *path++ = '\0';
        char *want = strchr(path, '\t');
        *want++ = '\0';
        uint8_t id[32];
        char hex[67];
        lp_module_compute_id(repo, commit, path, id);
        lp_hex_encode_0x(id, 32, hex);
        assert_string_equal(hex, want);
        count++;
    }
    free(ids);
    assert_int_equal(count, 2);
    require_fixtures();
    /* a plain folder: commit = keccak256 of the template bytes (ethers, see ids.txt) */
    struct lp_module m;
    load_fixture("cowsay-v0.0.4", &m);
    assert_string_equal(m.commit,
                        "d01f08733cfcd92d297ac4c954090a8243aa566eaa7c65cd77ad4d1205e44576");
    assert_memory_equal(m.repo, "file:///", 8);
    lp_module_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_vectors),   cmocka_unit_test(test_job_specs),
        cmocka_unit_test(test_no_injection), cmocka_unit_test(test_spec_checks),
        cmocka_unit_test(test_ids),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
