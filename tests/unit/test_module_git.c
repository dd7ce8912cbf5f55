/* Module references and libgit2 resolution against local repositories made here (no network):
 * tags, branches, full and short commits, HEAD, missing refs, a repository without a template,
 * the cache (second resolution without a fetch; a moved branch is fetched again), bad reference
 * syntax, and `lilypad module id|render` end to end. */
#include <git2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "module/module.h"
#include "util/hex.h"

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

/* Under LeakSanitizer: Debian's libgit2 1.5.1 leaks pcre2 match data on every regex search it
 * makes while fetching (the stacks end in libpcre2-8, never in our code). Suppressed for this
 * program and, through LSAN_OPTIONS, for the lilypad runs below. */
#define PCRE2_LEAK "leak:libpcre2-8.so\n"
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return PCRE2_LEAK;
}

static char dir[64];
static char repo_path[128], cache[128], url[160];
static char c1[41], c2[41], c3[41]; /* commits: v1, v2 (tag + main), c3 (no template) */

static const char *TEMPLATE_V1 = "{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"img:1\","
                                 "\"Entrypoint\":[\"echo\", {{if .Message}}{{.Message}}"
                                 "{{else}}\"none\"{{end}}]}}}}\n";
static const char *TEMPLATE_V2 = "{\"job\":{\"Spec\":{\"Docker\":{\"Image\":\"img:2\"}}}}\n";

static void ok(int rc)
{
    if (rc != 0) {
        const git_error *e = git_error_last();
        fail_msg("libgit2: %s", e ? e->message : "?");
    }
}

/* Commits {name: text} (text NULL: no file) on top of HEAD; returns the commit id as hex. */
static void commit_file(git_repository *repo, const char *name, const char *text, char out[41])
{
    git_index *index;
    ok(git_repository_index(&index, repo));
    ok(git_index_clear(index));
    if (text != NULL) {
        git_oid blob;
        ok(git_blob_create_from_buffer(&blob, repo, text, strlen(text)));
        git_index_entry e;
        memset(&e, 0, sizeof e);
        e.mode = GIT_FILEMODE_BLOB;
        e.id = blob;
        e.path = name;
        ok(git_index_add(index, &e));
    } else {
        git_oid blob;
        ok(git_blob_create_from_buffer(&blob, repo, "x", 1));
        git_index_entry e;
        memset(&e, 0, sizeof e);
        e.mode = GIT_FILEMODE_BLOB;
        e.id = blob;
        e.path = "README";
        ok(git_index_add(index, &e));
    }
    git_oid tree_id, commit_id;
    ok(git_index_write_tree(&tree_id, index));
    git_index_free(index);
    git_tree *tree;
    ok(git_tree_lookup(&tree, repo, &tree_id));
    git_signature *sig;
    ok(git_signature_new(&sig, "t", "t@example.org", 1700000000, 0));
    git_commit *parent = NULL;
    git_oid head;
    if (git_reference_name_to_id(&head, repo, "HEAD") == 0)
        ok(git_commit_lookup(&parent, repo, &head));
    const git_commit *parents[1] = {parent};
    ok(git_commit_create(&commit_id, repo, "HEAD", sig, sig, NULL, "c", tree, parent ? 1 : 0,
                         parents));
    git_commit_free(parent);
    git_signature_free(sig);
    git_tree_free(tree);
    git_oid_tostr(out, 41, &commit_id);
}

static void tag(git_repository *repo, const char *name, const char *hex, int annotated)
{
    git_oid id, tag_id;
    ok(git_oid_fromstr(&id, hex));
    git_object *obj;
    ok(git_object_lookup(&obj, repo, &id, GIT_OBJECT_COMMIT));
    if (annotated) {
        git_signature *sig;
        ok(git_signature_new(&sig, "t", "t@example.org", 1700000000, 0));
        ok(git_tag_create(&tag_id, repo, name, obj, sig, "release", 1));
        git_signature_free(sig);
    } else {
        ok(git_tag_create_lightweight(&tag_id, repo, name, obj, 1));
    }
    git_object_free(obj);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/lp-test-module-git-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(repo_path, sizeof repo_path, "%s/repo", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(url, sizeof url, "file://%s", repo_path);
    git_libgit2_init();
    git_repository *repo;
    git_repository_init_options opts;
    git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    opts.flags = GIT_REPOSITORY_INIT_MKPATH;
    opts.initial_head = "main";
    ok(git_repository_init_ext(&repo, repo_path, &opts));
    commit_file(repo, LP_MODULE_TEMPLATE_FILE, TEMPLATE_V1, c1);
    tag(repo, "v1", c1, 0);
    commit_file(repo, LP_MODULE_TEMPLATE_FILE, TEMPLATE_V2, c2);
    tag(repo, "v2", c2, 1);
    git_oid id;
    git_commit *commit;
    git_reference *branch;
    ok(git_oid_fromstr(&id, c2));
    ok(git_commit_lookup(&commit, repo, &id));
    ok(git_branch_create(&branch, repo, "stable", commit, 0));
    git_reference_free(branch);
    git_commit_free(commit);
    git_repository_free(repo);
    return 0;
}

static int rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    return system(cmd);
}

static int teardown(void **state)
{
    (void)state;
    git_libgit2_shutdown();
    return rm_rf(dir) == 0 ? 0 : -1;
}

static void resolve(const char *ref, const char *want_commit)
{
    char text[256];
    snprintf(text, sizeof text, "%s:%s", url, ref);
    struct lp_module m;
    struct lp_module_error err = {{0}};
    if (lp_module_load(text, cache, &m, &err) != 0)
        fail_msg("%s: %s", text, err.message);
    assert_string_equal(m.commit, want_commit);
    assert_string_equal(m.repo, url);
    uint8_t id[32];
    lp_module_compute_id(url, want_commit, LP_MODULE_TEMPLATE_FILE, id);
    assert_memory_equal(m.id, id, 32);
    lp_module_free(&m);
}

static void resolve_fails(const char *text, const char *want)
{
    struct lp_module m;
    struct lp_module_error err = {{0}};
    if (lp_module_load(text, cache, &m, &err) == 0) {
        lp_module_free(&m);
        fail_msg("%s resolved", text);
    }
    if (strstr(err.message, want) == NULL)
        fail_msg("%s: error [%s] lacks [%s]", text, err.message, want);
    assert_null(strchr(err.message, '\n'));
}

static void test_refs(void **state)
{
    (void)state;
    resolve("v1", c1);
    resolve("v2", c2); /* annotated tag peeled to its commit */
    resolve("main", c2);
    resolve("stable", c2);
    resolve(c1, c1);
    char short_hash[8];
    memcpy(short_hash, c1, 7);
    short_hash[7] = '\0';
    resolve(short_hash, c1);
    resolve("HEAD", c2);
    /* HEAD is the default when a file:// reference names no ref */
    struct lp_module m;
    struct lp_module_error err = {{0}};
    assert_int_equal(lp_module_load(url, cache, &m, &err), 0);
    assert_string_equal(m.commit, c2);
    lp_module_free(&m);

    char text[256];
    snprintf(text, sizeof text, "%s:v9", url);
    resolve_fails(text, "ref \"v9\" not found in file://");
    snprintf(text, sizeof text, "%s:deadbeef", url);
    resolve_fails(text, "ref \"deadbeef\" not found");
}

static void test_cache_and_moves(void **state)
{
    (void)state;
    /* a new commit on main, and a commit without a template tagged "bare" */
    git_repository *repo;
    ok(git_repository_open(&repo, repo_path));
    commit_file(repo, NULL, NULL, c3);
    tag(repo, "bare", c3, 0);
    git_repository_free(repo);
    /* tags in the cache are used without a fetch; a branch is fetched again and has moved */
    resolve("v1", c1);
    char text[256], want[64];
    /* main moved to c3, which has no template: the error names c3 */
    snprintf(text, sizeof text, "%s:main", url);
    snprintf(want, sizeof want, "at commit %.12s", c3);
    resolve_fails(text, want);
    snprintf(text, sizeof text, "%s:bare", url);
    resolve_fails(text, "no lilypad_module.json.tmpl in the repository at commit");
    /* a cached tag still resolves when the origin is gone */
    char moved[200];
    snprintf(moved, sizeof moved, "%s.gone", repo_path);
    assert_int_equal(rename(repo_path, moved), 0);
    resolve("v1", c1);
    snprintf(text, sizeof text, "%s:main", url);
    resolve_fails(text, "cannot fetch file://");
    assert_int_equal(rename(moved, repo_path), 0);
}

static void test_reference_syntax(void **state)
{
    (void)state;
    struct lp_module_location loc;
    struct lp_module_error err = {{0}};
    assert_int_equal(lp_module_location_parse("cowsay:v0.0.4", &loc, &err), 0);
    assert_int_equal(loc.kind, LP_MODULE_GIT);
    assert_string_equal(loc.url, "https://github.com/Lilypad-Tech/lilypad-module-cowsay");
    assert_string_equal(loc.ref, "v0.0.4");
    assert_string_equal(loc.name, "cowsay");
    lp_module_location_free(&loc);
    assert_int_equal(lp_module_location_parse("github.com/Foo/bar-baz:main", &loc, &err), 0);
    assert_string_equal(loc.url, "https://github.com/Foo/bar-baz");
    assert_null(loc.name);
    lp_module_location_free(&loc);
    assert_int_equal(lp_module_location_parse("https://GitHub.com/Foo/bar:v1", &loc, &err), 0);
    assert_string_equal(loc.url, "https://github.com/Foo/bar");
    lp_module_location_free(&loc);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "empty module reference"},
        {"cowsay", "exactly one ':'"},
        {"cowsay:v1:v2", "exactly one ':'"},
        {"cowsay:", "bad ref"},
        {"cowsay:-v1", "bad ref"},
        {"cowsay:v1..v2", "bad ref"},
        {"cow say:v1", "bad module name"},
        {"github.com/../x:v1", "bad repository"},
        {"nohost/owner:v1", "bad repository"},
        {"github.com/a/b c:v1", "bad repository"},
        {"file://relative:v1", "absolute path"},
        {"file:///a/../repo:v1", "plain and absolute"},
        {"/nonexistent/module", "no such directory"},
        {"cowsay:v1\n", "control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        if (lp_module_location_parse(bad[i].text, &loc, &err) == 0)
            fail_msg("accepted [%s]", bad[i].text);
        if (strstr(err.message, bad[i].want) == NULL)
            fail_msg("[%s]: error [%s] lacks [%s]", bad[i].text, err.message, bad[i].want);
    }
    /* a folder without the template */
    struct lp_module m;
    memset(&err, 0, sizeof err);
    assert_int_not_equal(lp_module_load(dir, cache, &m, &err), 0);
    assert_non_null(strstr(err.message, "lilypad_module.json.tmpl"));
}

static char output[16384];

static int run(const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char supp[128];
    snprintf(supp, sizeof supp, "%s/lsan.supp", dir);
    FILE *f = fopen(supp, "w");
    assert_non_null(f);
    fputs(PCRE2_LEAK, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && LSAN_OPTIONS=suppressions='%s' LILYPAD_HOME='%s/home' '%s' %s 2>&1", dir,
             supp, dir, LILYPAD, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_cli(void **state)
{
    (void)state;
    assert_int_equal(run("module --help"), 0);
    assert_non_null(strstr(output, "usage: lilypad module id"));
    assert_int_equal(run("module id %s:v1", url), 0);
    assert_non_null(strstr(output, c1));
    uint8_t id[32];
    char hex[67];
    lp_module_compute_id(url, c1, LP_MODULE_TEMPLATE_FILE, id);
    lp_hex_encode_0x(id, 32, hex);
    assert_non_null(strstr(output, hex));
    /* the default cache is $LILYPAD_HOME/modules */
    char cache_home[200];
    snprintf(cache_home, sizeof cache_home, "%s/home/modules", dir);
    struct stat st;
    assert_int_equal(stat(cache_home, &st), 0);

    assert_int_equal(run("module render %s:v1 -i 'Message=he said \"hi\"'", url), 0);
    assert_string_equal(output, "{\"job\":{\"Spec\":{\"Docker\":{\"Entrypoint\":[\"echo\",\"he "
                                "said \\\"hi\\\"\"],\"Image\":\"img:1\"}}}}\n");
    assert_int_equal(run("module render %s:v1 --raw", url), 0);
    assert_non_null(strstr(output, "\"none\"]"));
    assert_int_equal(run("module render %s:v9", url), 1);
    assert_non_null(strstr(output, "ref \"v9\" not found"));
    assert_int_equal(run("module render cowsay"), 1);
    assert_int_equal(run("module render %s:v1 -i =x", url), 2);
    assert_int_equal(run("module render %s:v1 -i 'a-b=x'", url), 2);
    assert_int_equal(run("module id %s:v1 -i a=b", url), 2);
    assert_int_equal(run("module frob x"), 2);
    assert_int_equal(run("module"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_cache_and_moves),
        cmocka_unit_test(test_reference_syntax),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
