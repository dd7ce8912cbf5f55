/* Allow/deny matching of modules by name, repo, commit and image digest. */
#include "provider/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MODULE_PREFIX "lilypad-module-"

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* The repo without scheme, trailing slashes and ".git", into out. */
static void repo_key(const char *repo, char *out, size_t cap)
{
    const char *schemes[] = {"https://", "http://", "git://", "ssh://"};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(repo, schemes[i], n) == 0) {
            repo += n;
            break;
        }
    }
    snprintf(out, cap, "%s", repo);
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '/')
        out[--len] = '\0';
    if (len > 4 && strcmp(out + len - 4, ".git") == 0)
        out[len - 4] = '\0';
}

static bool repo_equal(const char *a, const char *b, size_t b_len)
{
    char ka[1024], kb[1024];
    repo_key(a, ka, sizeof ka);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%.*s", (int)b_len, b);
    repo_key(tmp, kb, sizeof kb);
    return strcmp(ka, kb) == 0;
}

static bool name_matches(const char *name, const char *repo)
{
    char key[1024];
    repo_key(repo, key, sizeof key);
    const char *last = strrchr(key, '/');
    last = last ? last + 1 : key;
    if (strcmp(last, name) == 0)
        return true;
    size_t pn = strlen(MODULE_PREFIX);
    return strncmp(last, MODULE_PREFIX, pn) == 0 && strcmp(last + pn, name) == 0;
}

static bool digest_matches(const char *digest, const struct lp_module_identity *m)
{
    if (m->image_digest && strcasecmp(m->image_digest, digest) == 0)
        return true;
    if (m->manifest_digest && strcasecmp(m->manifest_digest, digest) == 0)
        return true;
    /* "name@sha256:..." pins the manifest in the reference itself. */
    const char *at = m->image ? strchr(m->image, '@') : NULL;
    return at && strcasecmp(at + 1, digest) == 0;
}

bool lp_policy_entry_matches(const char *entry, const struct lp_module_identity *m)
{
    size_t len = strlen(entry);
    if (strncmp(entry, "sha256:", 7) == 0)
        return digest_matches(entry, m);
    if ((len == 40 || len == 64) && all_hex(entry, len))
        return m->commit && strcasecmp(entry, m->commit) == 0;
    if (!m->repo)
        return false;
    const char *at = strrchr(entry, '@');
    if (at) {
        const char *commit = at + 1;
        size_t clen = strlen(commit);
        return repo_equal(m->repo, entry, (size_t)(at - entry)) && m->commit &&
               strlen(m->commit) >= clen && strncasecmp(m->commit, commit, clen) == 0;
    }
    if (strchr(entry, '/'))
        return repo_equal(m->repo, entry, len);
    return name_matches(entry, m->repo);
}

int lp_policy_validate(const struct lp_str_list *list, const char *list_name, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < list->count; i++) {
        const char *e = list->items[i];
        const char *why = NULL;
        size_t len = strlen(e);
        const char *at = strrchr(e, '@');
        if (len == 0)
            why = "is empty";
        else if (len > 600)
            why = "is longer than 600 characters";
        else if (strpbrk(e, " \t\r\n"))
            why = "contains whitespace";
        else if (strncmp(e, "sha256:", 7) == 0 && (len != 71 || !all_hex(e + 7, 64)))
            why = "is not sha256: followed by 64 hex digits";
        else if (at && strncmp(e, "sha256:", 7) != 0 &&
                 (strlen(at + 1) < 7 || strlen(at + 1) > 64 || !all_hex(at + 1, strlen(at + 1))))
            why = "has a commit after '@' that is not 7..64 hex digits";
        if (why) {
            snprintf(err, errlen,
                     "%s[%zu] \"%.80s\" %s (hint: NAME, REPO, REPO@COMMIT, COMMIT or "
                     "sha256:DIGEST)",
                     list_name, i, e, why);
            return -1;
        }
    }
    return 0;
}

static void describe(const struct lp_module_identity *m, char *out, size_t cap)
{
    snprintf(out, cap, "module %s@%.12s (image %s)", m->repo ? m->repo : "?",
             m->commit ? m->commit : "?", m->image ? m->image : "?");
}

int lp_policy_check(const struct lp_str_list *allow, const struct lp_str_list *deny,
                    const struct lp_module_identity *m, char *reason, size_t cap)
{
    char what[1024];
    for (size_t i = 0; i < deny->count; i++) {
        if (lp_policy_entry_matches(deny->items[i], m)) {
            describe(m, what, sizeof what);
            snprintf(reason, cap, "refused by the provider: %s is on its denylist (entry \"%s\")",
                     what, deny->items[i]);
            return 1;
        }
    }
    if (allow->count == 0)
        return 0;
    for (size_t i = 0; i < allow->count; i++) {
        if (lp_policy_entry_matches(allow->items[i], m))
            return 0;
    }
    describe(m, what, sizeof what);
    snprintf(reason, cap,
             "refused by the provider: %s is not on its allowlist (%zu entr%s; hint: target "
             "another provider)",
             what, allow->count, allow->count == 1 ? "y" : "ies");
    return 1;
}
