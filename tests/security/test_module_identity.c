/* Module identity: a job offer names its module (repo@commit, or a bundle's hash) and carries a
 * spec, the job creator's rendering. Allow, deny and block lists judge the name; the attack is
 * to name a module they allow while the spec runs other code. With local git repositories made
 * here, an in-process solver that checks offers (modules_dir set), the fixtures' solver that
 * does not (standing for a solver that lets anything through) and the real provider:
 *   - the solver refuses, at post, an offer naming an allowed repo@commit with another spec,
 *     and one naming a blocked module's spec under an allowed name, or naming a module it
 *     cannot fetch, a bundle nobody uploaded, or a bundle under a commit that is not its hash;
 *   - a provider alone (the solver let the offer through) refuses the relabelled offer despite
 *     its allowlist naming the repo, and still runs the honest one;
 *   - a provider refuses a bundle whose bytes, as the solver serves them, do not hash to its
 *     name (the stored blob was replaced);
 *   - many offers for one module cost one resolution and one rendering.
 * Needs /usr/bin/bwrap, busybox-static and the git command (scripts/install-deps.sh). */
#include "../unit/provider_fixtures.h"
#include "../unit/skip_reason.h"
#include "module/bundle.h"
#include "solver/solver_impl.h"

/* Under LeakSanitizer: Debian's libgit2 1.5.1 leaks pcre2 match data on every regex search it
 * makes while fetching (the stacks end in libpcre2-8, never in our code). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libpcre2-8.so\n";
}

#define ALLOWED_SCRIPT "echo allowed-module-ran"
#define BLOCKED_SCRIPT "echo blocked-code-ran"

/* The checking solver. */
static struct lp_solver *csolver;
static struct lp_solver_http *chttp;
static struct lp_client *ccreator;

struct git_module {
    char repo[200];
    char commit[41];
    char *spec; /* canonical; the template is this text, so it renders to itself */
};
static struct git_module allowed, blocked;

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A git repository tmp/modules/NAME whose template runs script, at its one commit. */
static int make_git_module(const char *name, const char *script, struct git_module *m)
{
    char dir[160], path[200], cmd[1024];
    snprintf(dir, sizeof dir, "%s/modules/%s", tmp, name);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (sh(cmd) != 0)
        return -1;
    m->spec = job_spec(script, IMAGE);
    snprintf(path, sizeof path, "%s/%s", dir, LP_MODULE_TEMPLATE_FILE);
    write_file(path, m->spec);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && git init -q -b main && git add %s && git -c user.name=t "
             "-c user.email=t@example.org commit -q -m %s",
             dir, LP_MODULE_TEMPLATE_FILE, name);
    if (sh(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD", dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int ok = fscanf(p, "%40s", m->commit) == 1;
    pclose(p);
    snprintf(m->repo, sizeof m->repo, "file://%s", dir);
    return ok && strlen(m->commit) == 40 ? 0 : -1;
}

/* Posts a job offer naming repo@commit with spec through client; 0, or -1 with e set. */
static int post_offer(struct lp_client *client, const struct lp_key *key, const char *repo,
                      const char *commit, const char *spec, uint8_t id[32],
                      struct lp_client_error *e)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_JOB_OFFER;
    struct lp_job_offer *j = &obj.u.job_offer;
    memcpy(j->job_creator, key->address, 20);
    j->module.repo = (char *)repo;
    j->module.commit = (char *)commit;
    j->module.spec = (char *)spec;
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
    return lp_client_post_object(client, &obj, NULL, id, NULL, e);
}

/* The bundle of a template, uploaded through client; its name into repo and commit. */
static void upload_bundle(struct lp_client *client, const char *template_text,
                          char repo[LP_MODULE_BUNDLE_REPO_LEN], char commit[65])
{
    uint8_t *tar = NULL, keccak[32];
    size_t len = 0;
    struct lp_module_error me;
    assert_int_equal(lp_module_bundle_pack(template_text, strlen(template_text), &tar, &len, &me),
                     0);
    struct lp_client_error e;
    if (lp_client_upload_file(client, tar, len, keccak, &e) != 0)
        fail_msg("upload: %s", e.message);
    free(tar);
    lp_module_bundle_name(keccak, repo, commit);
}

static void expect_refused(int rc, const struct lp_client_error *e, long status, const char *text)
{
    if (rc == 0)
        fail_msg("the solver took the offer (expected HTTP %ld: %s)", status, text);
    if (e->status != status || !strstr(e->message, text))
        fail_msg("expected HTTP %ld with \"%s\", got %ld: %s", status, text, e->status, e->message);
}

/* ---- the solver ----------------------------------------------------------------------------- */

static void test_solver_refuses_relabelled_spec(void **state)
{
    (void)state;
    uint8_t id[32];
    struct lp_client_error e;
    /* The allowed module's name, the blocked module's code. */
    int rc = post_offer(ccreator, &creator_key, allowed.repo, allowed.commit, blocked.spec, id, &e);
    expect_refused(rc, &e, 403, "spec differs from the module's rendering at byte");
    assert_non_null(strstr(e.message, "blocked-code-ran"));
    /* The honest offer goes through. */
    if (post_offer(ccreator, &creator_key, allowed.repo, allowed.commit, allowed.spec, id, &e) != 0)
        fail_msg("the honest offer was refused: %s", e.message);
}

static void test_solver_refuses_relabelled_blocked_module(void **state)
{
    (void)state;
    assert_int_equal(lp_solver_block(csolver, blocked.repo, "mines coins for someone else"), 0);
    uint8_t id[32];
    struct lp_client_error e;
    int rc = post_offer(ccreator, &creator_key, blocked.repo, blocked.commit, blocked.spec, id, &e);
    expect_refused(rc, &e, 403, "on the network blocklist");
    rc = post_offer(ccreator, &creator_key, allowed.repo, allowed.commit, blocked.spec, id, &e);
    expect_refused(rc, &e, 403, "spec differs");
    /* Under a name nobody can fetch: nothing vouches for the spec. */
    char missing[200];
    snprintf(missing, sizeof missing, "file://%s/modules/no-such-repo", tmp);
    rc = post_offer(ccreator, &creator_key, missing, allowed.commit, blocked.spec, id, &e);
    expect_refused(rc, &e, 400, "no-such-repo");
    /* The blocked code as a bundle of its own: a new name, rendered like any other. */
    char repo[LP_MODULE_BUNDLE_REPO_LEN], commit[65];
    upload_bundle(ccreator, allowed.spec, repo, commit);
    rc = post_offer(ccreator, &creator_key, repo, commit, blocked.spec, id, &e);
    expect_refused(rc, &e, 403, "spec differs");
}

static void test_solver_refuses_bad_bundles(void **state)
{
    (void)state;
    uint8_t id[32], keccak[32];
    struct lp_client_error e;
    char repo[LP_MODULE_BUNDLE_REPO_LEN], commit[65], other[65];
    /* Never uploaded. */
    lp_keccak256("nothing", 7, keccak);
    lp_module_bundle_name(keccak, repo, commit);
    int rc = post_offer(ccreator, &creator_key, repo, commit, allowed.spec, id, &e);
    expect_refused(rc, &e, 400, "no file with that keccak uploaded by this address");
    /* Uploaded by someone else: the name alone is not the bundle's. */
    struct lp_key other_key;
    lp_key_generate(&other_key);
    char curl[64];
    snprintf(curl, sizeof curl, "http://127.0.0.1:%u", lp_solver_http_port(chttp));
    struct lp_client *other_client = lp_client_new(curl, &other_key, 10000);
    assert_non_null(other_client);
    char *theirs = job_spec("echo uploaded by someone else", IMAGE);
    upload_bundle(other_client, theirs, repo, commit);
    rc = post_offer(ccreator, &creator_key, repo, commit, theirs, id, &e);
    expect_refused(rc, &e, 400, "no file with that keccak uploaded by this address");
    free(theirs);
    lp_client_free(other_client);
    /* A commit that is not the bundle's hash. */
    upload_bundle(ccreator, allowed.spec, repo, commit);
    snprintf(other, sizeof other, "%s", commit);
    other[0] = other[0] == '0' ? '1' : '0';
    rc = post_offer(ccreator, &creator_key, repo, other, allowed.spec, id, &e);
    expect_refused(rc, &e, 400, "a bundle's commit must be its own hash");
    /* The honest bundle goes through. */
    if (post_offer(ccreator, &creator_key, repo, commit, allowed.spec, id, &e) != 0)
        fail_msg("the honest bundle was refused: %s", e.message);
}

static void test_solver_caches_modules(void **state)
{
    (void)state;
    struct lp_module_cache_stats before, after;
    lp_module_cache_get_stats(csolver->modules, &before);
    uint8_t id[32];
    struct lp_client_error e;
    for (int i = 0; i < 50; i++) {
        if (post_offer(ccreator, &creator_key, allowed.repo, allowed.commit, allowed.spec, id,
                       &e) != 0)
            fail_msg("offer %d refused: %s", i, e.message);
    }
    lp_module_cache_get_stats(csolver->modules, &after);
    /* Seen before this test: neither cloned nor rendered again. */
    assert_int_equal(after.resolutions, before.resolutions);
    assert_int_equal(after.renders, before.renders);
    assert_true(after.hits >= before.hits + 50);
}

/* ---- a provider alone ----------------------------------------------------------------------- */

/* Runs one offer on a fresh provider (--once) allowing only the allowed module's repository,
 * through the fixtures' solver, which does not check offers; the deal's result. */
static void run_on_allowing_provider(const char *repo, const char *commit, const char *spec,
                                     struct lp_result *r, uint8_t deal[32])
{
    char cfg[256], extra[400];
    snprintf(extra, sizeof extra, "allow = [\"%s\"];", allowed.repo);
    make_config(cfg, sizeof cfg, extra);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    uint8_t job[32];
    struct lp_client_error e;
    if (post_offer(creator, &creator_key, repo, commit, spec, job, &e) != 0)
        fail_msg("the unchecking solver refused the offer: %s", e.message);
    deal_of(job, deal);
    join_provider(&t);
    int st;
    result_of(deal, r, &st);
}

static void test_provider_alone_refuses_relabelled_spec(void **state)
{
    (void)state;
    struct lp_result r;
    uint8_t deal[32];
    run_on_allowing_provider(allowed.repo, allowed.commit, blocked.spec, &r, deal);
    if (!strstr(r.error, "refused by the provider") || !strstr(r.error, "spec differs"))
        fail_msg("the provider ran the relabelled offer (error: \"%s\")", r.error);
    assert_int_equal(r.termination, LP_TERMINATION_NOT_RUN);
    assert_string_equal(r.cid, "");
    lp_result_free(&r);
}

static void test_provider_runs_honest_module(void **state)
{
    (void)state;
    struct lp_result r;
    uint8_t deal[32];
    run_on_allowing_provider(allowed.repo, allowed.commit, allowed.spec, &r, deal);
    lp_result_free(&r);
    assert_delivered(deal, "stdout", "allowed-module-ran\n");
}

static void test_provider_refuses_bundle_not_matching_its_name(void **state)
{
    (void)state;
    char cfg[256];
    make_config(cfg, sizeof cfg, NULL);
    struct prov_thread t;
    start_provider(&t, cfg, true);
    wait_offer(&t);
    /* The allowed template uploaded; then the stored blob replaced by the blocked one's, as a
     * compromised file store would serve it. */
    char repo[LP_MODULE_BUNDLE_REPO_LEN], commit[65], path[256];
    upload_bundle(creator, allowed.spec, repo, commit);
    uint8_t *tar = NULL;
    size_t len = 0;
    struct lp_module_error me;
    assert_int_equal(lp_module_bundle_pack(blocked.spec, strlen(blocked.spec), &tar, &len, &me), 0);
    snprintf(path, sizeof path, "%s/solver-files/%s", tmp, commit);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("the fixtures' solver keeps blobs elsewhere than %s", path);
    assert_int_equal(fwrite(tar, 1, len, f), len);
    fclose(f);
    free(tar);
    uint8_t job[32], deal[32];
    struct lp_client_error e;
    if (post_offer(creator, &creator_key, repo, commit, blocked.spec, job, &e) != 0)
        fail_msg("the unchecking solver refused the offer: %s", e.message);
    deal_of(job, deal);
    join_provider(&t);
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (!strstr(r.error, "refused by the provider") || !strstr(r.error, "bundle"))
        fail_msg("the provider ran a bundle whose bytes are not its name (error: \"%s\")", r.error);
    assert_int_equal(r.termination, LP_TERMINATION_NOT_RUN);
    lp_result_free(&r);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (provider_fixture_setup("security_module_identity", "/tmp/lp-sec-modid-XXXXXX") != 0)
        return -1;
    if (make_git_module("allowed", ALLOWED_SCRIPT, &allowed) != 0 ||
        make_git_module("blocked", BLOCKED_SCRIPT, &blocked) != 0) {
        fprintf(stderr, "security_module_identity: making the git modules failed\n");
        return -1;
    }
    struct lp_solver_config sc;
    lp_solver_config_defaults(&sc);
    sc.create_db = true;
    static char db[128], files[128], modules[128];
    snprintf(db, sizeof db, "%s/checking.db", tmp);
    snprintf(files, sizeof files, "%s/checking-files", tmp);
    snprintf(modules, sizeof modules, "%s/checking-modules", tmp);
    mkdir(files, 0700);
    sc.db_path = db;
    sc.files_dir = files;
    sc.modules_dir = modules;
    sc.rate_limit = 0;
    sc.max_open_job_offers = 1000;
    struct lp_key skey;
    lp_key_generate(&skey);
    char err[1024], curl[64];
    if (lp_solver_open(&sc, &skey, &csolver, err, sizeof err) != 0 ||
        lp_solver_http_start(csolver, "127.0.0.1:0", &chttp, err, sizeof err) != 0) {
        fprintf(stderr, "security_module_identity: solver: %s\n", err);
        return -1;
    }
    snprintf(curl, sizeof curl, "http://127.0.0.1:%u", lp_solver_http_port(chttp));
    ccreator = lp_client_new(curl, &creator_key, 10000);
    return ccreator ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    lp_client_free(ccreator);
    if (csolver)
        lp_solver_interrupt(csolver);
    lp_solver_http_stop(chttp);
    lp_solver_close(csolver);
    free(allowed.spec);
    free(blocked.spec);
    return provider_fixture_teardown();
}

int main(void)
{
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        printf("skipped: /usr/bin/bwrap is missing (apt-get install bubblewrap)\n");
        return 77;
    }
    if (system("git --version >/dev/null 2>&1") != 0) {
        printf("skipped: the git command is missing (apt-get install git)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solver_refuses_relabelled_spec),
        cmocka_unit_test(test_solver_refuses_relabelled_blocked_module),
        cmocka_unit_test(test_solver_refuses_bad_bundles),
        cmocka_unit_test(test_solver_caches_modules),
        cmocka_unit_test(test_provider_alone_refuses_relabelled_spec),
        cmocka_unit_test(test_provider_runs_honest_module),
        cmocka_unit_test(test_provider_refuses_bundle_not_matching_its_name),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
