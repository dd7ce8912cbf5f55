/* Attack: a module whose spec says `"Network": {"Type": "Full"}` uses the provider's machine
 * as its network. Before, such a job shared the provider's own network namespace: it reached
 * the solver on 127.0.0.1 and every loopback service and unix socket of the host, and a
 * provider could neither refuse nor restrict it. Against a real provider and an in-process
 * solver on 127.0.0.1 (tests/unit/provider_fixtures.h), what must happen:
 *   - provider.module_network = "refuse" (the default): the deal is refused before anything
 *     runs, saying so;
 *   - "egress" on an executor that cannot give outbound-only network (no slirp4netns): refused,
 *     with the install hint;
 *   - "egress" where it can: the job runs with a network that leads out, and the solver on the
 *     provider's loopback is out of its reach (directly, or through slirp4netns's gateway).
 * The last case needs root, slirp4netns and nftables, and skips without root. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/tarball.h"

#include "../unit/provider_fixtures.h"
#include "../unit/skip_reason.h"

/* A provider configuration: provider_lines go into provider {}, executor_lines into the
 * executor's process {} section. */
static void make_network_config(char *path, size_t cap, const char *provider_lines,
                                const char *executor_lines)
{
    int n = ++cfg_counter;
    char key_path[128], err[256];
    snprintf(key_path, sizeof key_path, "%s/provider%d.key", tmp, n);
    struct lp_key key;
    lp_key_generate(&key);
    assert_int_equal(lp_keyfile_write_hex(key_path, &key, true, err, sizeof err), 0);
    snprintf(path, cap, "%s/provider%d.cfg", tmp, n);
    char text[4096];
    snprintf(text, sizeof text,
             "gpu = \"none\";\n"
             "hashrate: { backend = \"cpu\"; cpu: { threads = 1; }; };\n"
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/jobs%d\"; "
             "kill_grace = \"200ms\"; %s }; };\n"
             "storage: { local: { root = \"%s/storage%d\"; }; };\n"
             "verifier: { ledger: { path = \"%s/ledger%d.sqlite\"; }; };\n"
             "provider: { solver = \"%s\"; key = \"%s\"; work_dir = \"%s/work%d\";\n"
             "  image_store = \"%s/images\"; price = \"10\"; cpu = 1000; ram = \"512M\";\n"
             "  disk = \"1G\"; poll_wait = \"1s\"; mining_duty = 0; %s };\n",
             tmp, tmp, n, executor_lines, tmp, n, tmp, n, url, key_path, tmp, n, tmp,
             provider_lines);
    write_file(path, text);
}

/* Posts a job offer running `sh -c script` on the cowsay image, its spec asking for network
 * ("Network": {"Type": "Full"}). */
static void post_network_job(const char *script, uint8_t id[32])
{
    char *canon = NULL;
    json_t *argv = json_pack("[sss]", "/bin/sh", "-c", script);
    json_t *spec =
        json_pack("{s:{s:s,s:{s:{s:s,s:o},s:{s:s}}}}", "job", "APIVersion", "V1beta1", "Spec",
                  "Docker", "Image", IMAGE, "Entrypoint", argv, "Network", "Type", "Full");
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    struct lp_wire_error we;
    assert_int_equal(lp_wire_json_canonical(text, strlen(text), &canon, &we), 0);
    free(text);
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_JOB_OFFER;
    struct lp_job_offer *j = &obj.u.job_offer;
    memcpy(j->job_creator, creator_key.address, 20);
    char repo[LP_MODULE_BUNDLE_REPO_LEN], commit[2 * LP_KECCAK256_LEN + 1];
    upload_module(canon, repo, commit);
    j->module.repo = repo;
    j->module.commit = commit;
    j->module.spec = canon;
    j->resources.cpu_millicores = 500;
    j->resources.ram_bytes = 64u << 20;
    j->resources.disk_bytes = 16u << 20;
    lp_wei_from_u64(&j->max_price, 100);
    lp_wei_from_u64(&j->payment_collateral, 1);
    j->timeout_s = 60;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    j->created_at_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    lp_random_bytes(j->nonce, sizeof j->nonce);
    struct lp_client_error e;
    if (lp_client_post_object(creator, &obj, NULL, id, NULL, &e) != 0)
        fail_msg("post job offer: %s", e.message);
    free(canon);
}

/* One deal on a fresh provider (--once) with that configuration; its result. */
static void one_deal(const char *cfg, const char *script, struct lp_result *r, uint8_t deal[32])
{
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32];
    post_network_job(script, job);
    deal_of(job, deal);
    join_provider(&t);
    int st;
    result_of(deal, r, &st);
    printf("deal result: exit %d, termination %u, error \"%s\"\n", r->exit_code, r->termination,
           r->error);
}

/* The script every case runs: it proves it ran (the marker), and tries the solver. */
static void attack_script(char *out, size_t cap)
{
    const char *port = strrchr(url, ':') + 1;
    snprintf(out, cap,
             "echo THE-JOB-RAN; "
             "for a in 127.0.0.1 10.0.2.2; do "
             "if echo x | nc -w 3 $a %s >/dev/null 2>&1; then echo SOLVER-REACHED-AT-$a; "
             "else echo solver-unreachable-at-$a; fi; done; "
             "echo IFACES $(tail -n +3 /proc/net/dev | cut -d: -f1)",
             port);
}

static void test_network_module_refused_by_default(void **state)
{
    (void)state;
    char cfg[256], script[512];
    make_network_config(cfg, sizeof cfg, "", "");
    attack_script(script, sizeof script);
    struct lp_result r;
    uint8_t deal[32];
    one_deal(cfg, script, &r, deal);
    assert_non_null(strstr(r.error, "asks for network access"));
    assert_non_null(strstr(r.error, "provider.module_network = \"refuse\""));
    assert_int_equal(r.termination, LP_TERMINATION_NOT_RUN);
    assert_string_equal(r.cid, ""); /* nothing ran, nothing stored */
    assert_int_equal(r.stdout_digest.size, 0);
    lp_result_free(&r);
}

static void test_egress_without_the_tool_refused(void **state)
{
    (void)state;
    char cfg[256], script[512];
    make_network_config(cfg, sizeof cfg, "module_network = \"egress\";",
                        "slirp4netns = \"/nonexistent/slirp4netns\";");
    attack_script(script, sizeof script);
    struct lp_result r;
    uint8_t deal[32];
    one_deal(cfg, script, &r, deal);
    assert_non_null(strstr(r.error, "cannot give outbound-only network"));
    assert_non_null(strstr(r.error, "apt-get install slirp4netns"));
    assert_int_equal(r.termination, LP_TERMINATION_NOT_RUN);
    assert_string_equal(r.cid, "");
    lp_result_free(&r);
}

static void test_egress_job_cannot_reach_the_solver(void **state)
{
    (void)state;
    if (geteuid() != 0)
        lp_skip_because("outbound-only network needs root (a network namespace owned by the "
                        "host)");
    char cfg[256], script[512];
    make_network_config(cfg, sizeof cfg, "module_network = \"egress\";", "");
    attack_script(script, sizeof script);
    struct lp_result r;
    uint8_t deal[32];
    one_deal(cfg, script, &r, deal);
    /* Root without the right to make network namespaces or firewalls (an unprivileged
     * container): the executor says it cannot give egress here, and the provider refuses. */
    if (strstr(r.error, "cannot give outbound-only network here") &&
        !strstr(r.error, "apt-get install")) {
        char why[600];
        snprintf(why, sizeof why, "this machine cannot give a job outbound-only network: %s",
                 r.error);
        lp_result_free(&r);
        lp_skip_because("%s", why);
    }
    assert_string_equal(r.error, "");
    assert_int_equal(r.termination, LP_TERMINATION_EXITED);
    assert_int_equal(r.exit_code, 0);

    /* The job's stdout, as the job creator gets it. */
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    assert_int_equal(lp_client_download(creator, deal, "outputs", &blob, &len, &e), 0);
    char dir[128], err[512], path[256];
    snprintf(dir, sizeof dir, "%s/egress-result", tmp);
    assert_int_equal(lp_tarball_unpack(blob, len, dir, 0, err, sizeof err), 0);
    free(blob);
    snprintf(path, sizeof path, "%s/stdout", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char out[2048];
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = '\0';
    printf("job stdout:\n%s", out);
    assert_non_null(strstr(out, "THE-JOB-RAN"));
    assert_null(strstr(out, "SOLVER-REACHED"));
    assert_non_null(strstr(out, "solver-unreachable-at-127.0.0.1"));
    assert_non_null(strstr(out, "solver-unreachable-at-10.0.2.2"));
    assert_non_null(strstr(out, "IFACES lo tap0")); /* it had a network, just not ours */
    lp_result_free(&r);
}

static int group_setup(void **state)
{
    (void)state;
    return provider_fixture_setup("security_network_provider", "/tmp/lp-sec-netprov-XXXXXX");
}

static int group_teardown(void **state)
{
    (void)state;
    return provider_fixture_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_module_refused_by_default),
        cmocka_unit_test(test_egress_without_the_tool_refused),
        cmocka_unit_test(test_egress_job_cannot_reach_the_solver),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
