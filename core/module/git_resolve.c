#include "module/git_resolve.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <git2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keccak.h"
#include "module/template.h"
#include "util/data_home.h"
#include "util/hex.h"

/* Where the remote's HEAD is recorded, so "HEAD" (the default of file:// references) means the
 * repository's default branch, not the cache's own. */
#define FETCHED_HEAD "refs/lilypad/HEAD"

static const char *git_message(void)
{
    const git_error *e = git_error_last();
    return e && e->message ? e->message : "unknown libgit2 error";
}

int lp_module_cache_dir(char *out, size_t out_len, struct lp_module_error *err)
{
    if (lp_data_home_path("modules", out, out_len) != 0) {
        lp_module_errorf(err, "cache",
                         "no module cache: %s (hint: set LILYPAD_HOME or pass --cache-dir)",
                         lp_data_home_problem(errno));
        return -1;
    }
    return 0;
}

static int mkdir_p(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            int rc = mkdir(path, 0755);
            *p = c;
            if (rc != 0 && errno != EEXIST)
                return -1;
            if (c == '\0')
                return 0;
        }
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Cache path for url: a hash keeps any URL a single safe directory name; the repository's last
 * path part is appended so people can tell the entries apart. */
static void cache_path(const char *cache_dir, const char *url, char *out, size_t out_len)
{
    uint8_t h[LP_KECCAK256_LEN];
    lp_keccak256(url, strlen(url), h);
    char hex[17];
    lp_hex_encode(h, 8, hex);
    const char *base = strrchr(url, '/');
    base = base ? base + 1 : url;
    char name[64];
    size_t n = 0;
    for (; *base && n + 1 < sizeof name; base++)
        name[n++] = isalnum((unsigned char)*base) || *base == '-' || *base == '_' ? *base : '_';
    name[n] = '\0';
    snprintf(out, out_len, "%s/%s-%s.git", cache_dir, hex, name);
}

static int open_cache(const char *reference, const char *url, const char *path,
                      git_repository **repo, struct lp_module_error *err)
{
    if (git_repository_open_bare(repo, path) == 0)
        return 0;
    /* create beside it and rename, so a half-made clone is never seen under the real name */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    git_repository *r = NULL;
    git_remote *remote = NULL;
    if (git_repository_init(&r, tmp, 1) != 0 ||
        git_remote_create_with_fetchspec(&remote, r, "origin", url, "+refs/heads/*:refs/heads/*") !=
            0 ||
        git_remote_add_fetch(r, "origin", "+refs/tags/*:refs/tags/*") != 0 ||
        git_remote_add_fetch(r, "origin", "+HEAD:" FETCHED_HEAD) != 0) {
        lp_module_errorf(err, reference, "cannot create the module cache %s: %s", tmp,
                         git_message());
        git_remote_free(remote);
        git_repository_free(r);
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return -1;
    }
    git_remote_free(remote);
    git_repository_free(r);
    if (rename(tmp, path) != 0) /* someone else made it first: use theirs */
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (git_repository_open_bare(repo, path) != 0) {
        lp_module_errorf(err, reference, "cannot open the module cache %s: %s", path,
                         git_message());
        return -1;
    }
    return 0;
}

static bool all_hex(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return false;
    return true;
}

/* Peels reference `name` to a commit. Returns 1 found, 0 absent, -1 error. */
static int peel_ref(git_repository *repo, const char *name, git_oid *oid)
{
    git_reference *ref = NULL;
    if (git_reference_lookup(&ref, repo, name) != 0)
        return 0;
    git_object *obj = NULL;
    int rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
    git_reference_free(ref);
    if (rc != 0)
        return -1;
    git_oid_cpy(oid, git_object_id(obj));
    git_object_free(obj);
    return 1;
}

/* Looks ref up in the cache. immutable_only: only what cannot move (tags, commit hashes).
 * Returns 1 found, 0 absent, -1 error (err set). */
static int lookup(const char *reference, git_repository *repo, const char *ref, bool immutable_only,
                  git_oid *oid, struct lp_module_error *err)
{
    char name[600];
    int rc;
    if (strcmp(ref, "HEAD") == 0)
        return immutable_only ? 0 : peel_ref(repo, FETCHED_HEAD, oid);
    snprintf(name, sizeof name, "refs/tags/%s", ref);
    if ((rc = peel_ref(repo, name, oid)) != 0)
        goto peeled;
    if (!immutable_only) {
        snprintf(name, sizeof name, "refs/heads/%s", ref);
        if ((rc = peel_ref(repo, name, oid)) != 0)
            goto peeled;
    }
    if (all_hex(ref, 4, GIT_OID_HEXSZ)) {
        git_oid prefix;
        git_commit *c = NULL;
        size_t len = strlen(ref);
        if (git_oid_fromstrn(&prefix, ref, len) != 0)
            return 0;
        rc = git_commit_lookup_prefix(&c, repo, &prefix, len);
        if (rc == GIT_EAMBIGUOUS) {
            lp_module_errorf(err, reference, "commit prefix \"%s\" is ambiguous; give more digits",
                             ref);
            return -1;
        }
        if (rc == 0) {
            git_oid_cpy(oid, git_commit_id(c));
            git_commit_free(c);
            return 1;
        }
    }
    return 0;
peeled:
    if (rc < 0) {
        lp_module_errorf(err, reference, "ref \"%s\" does not point to a commit", ref);
        return -1;
    }
    return 1;
}

static int fetch(const char *reference, git_repository *repo, const char *url,
                 struct lp_module_error *err)
{
    git_remote *remote = NULL;
    if (git_remote_lookup(&remote, repo, "origin") != 0) {
        lp_module_errorf(err, reference, "module cache has no origin: %s", git_message());
        return -1;
    }
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.prune = GIT_FETCH_PRUNE;
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    int rc = git_remote_fetch(remote, NULL, &opts, "lilypad module fetch");
    git_remote_free(remote);
    if (rc != 0) {
        lp_module_errorf(err, reference, "cannot fetch %s: %s", url, git_message());
        return -1;
    }
    return 0;
}

static int read_template(const char *reference, git_repository *repo, const git_oid *oid,
                         char **text, size_t *text_len, struct lp_module_error *err)
{
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    git_tree_entry *entry = NULL;
    git_blob *blob = NULL;
    char short_hex[13];
    git_oid_tostr(short_hex, sizeof short_hex, oid);
    int rc = -1;
    if (git_commit_lookup(&commit, repo, oid) != 0 || git_commit_tree(&tree, commit) != 0) {
        lp_module_errorf(err, reference, "cannot read commit %s: %s", short_hex, git_message());
        goto done;
    }
    if (git_tree_entry_bypath(&entry, tree, LP_MODULE_TEMPLATE_FILE) != 0 ||
        git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
        lp_module_errorf(err, reference, "no %s in the repository at commit %s",
                         LP_MODULE_TEMPLATE_FILE, short_hex);
        goto done;
    }
    if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) != 0) {
        lp_module_errorf(err, reference, "cannot read %s: %s", LP_MODULE_TEMPLATE_FILE,
                         git_message());
        goto done;
    }
    size_t n = (size_t)git_blob_rawsize(blob);
    if (n > LP_TEMPLATE_MAX_TEXT) {
        lp_module_errorf(err, reference, "%s is larger than %u bytes", LP_MODULE_TEMPLATE_FILE,
                         LP_TEMPLATE_MAX_TEXT);
        goto done;
    }
    *text = malloc(n + 1);
    if (*text == NULL)
        goto done;
    memcpy(*text, git_blob_rawcontent(blob), n);
    (*text)[n] = '\0';
    *text_len = n;
    rc = 0;
done:
    git_blob_free(blob);
    git_tree_entry_free(entry);
    git_tree_free(tree);
    git_commit_free(commit);
    return rc;
}

int lp_module_git_resolve(const char *reference, const struct lp_module_location *loc,
                          const char *cache_dir, char commit[LP_MODULE_COMMIT_HEX_MAX + 1],
                          char **text, size_t *text_len, struct lp_module_error *err)
{
    *text = NULL;
    *text_len = 0;
    char dir[4096], path[4200];
    if (cache_dir == NULL) {
        if (lp_module_cache_dir(dir, sizeof dir, err) != 0)
            return -1;
    } else {
        snprintf(dir, sizeof dir, "%s", cache_dir);
    }
    if (mkdir_p(dir) != 0) {
        lp_module_errorf(err, reference, "cannot create the module cache %s: %s", dir,
                         strerror(errno));
        return -1;
    }
    cache_path(dir, loc->url, path, sizeof path);
    git_libgit2_init();
    git_repository *repo = NULL;
    int lock_fd = -1, rc = -1;
    /* Held from before the clone is opened (or created): two resolutions of a repository not
     * yet cloned, in two processes or two threads of one (a solver checking offers), would
     * otherwise find each other's half-made clone. */
    char lock[4300];
    snprintf(lock, sizeof lock, "%s.lock", path);
    lock_fd = open(lock, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        lp_module_errorf(err, reference, "cannot lock %s: %s", lock, strerror(errno));
        goto done;
    }
    if (open_cache(reference, loc->url, path, &repo, err) != 0)
        goto done;
    git_oid oid;
    int found = lookup(reference, repo, loc->ref, true, &oid, err);
    if (found < 0)
        goto done;
    if (found == 0) {
        if (fetch(reference, repo, loc->url, err) != 0)
            goto done;
        found = lookup(reference, repo, loc->ref, false, &oid, err);
        if (found < 0)
            goto done;
        if (found == 0) {
            lp_module_errorf(err, reference,
                             "ref \"%s\" not found in %s (no tag, branch or commit of that name)",
                             loc->ref, loc->url);
            goto done;
        }
    }
    git_oid_tostr(commit, LP_MODULE_COMMIT_HEX_MAX + 1, &oid);
    rc = read_template(reference, repo, &oid, text, text_len, err);
done:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    git_repository_free(repo);
    git_libgit2_shutdown();
    return rc;
}
