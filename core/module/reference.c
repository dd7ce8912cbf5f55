#include "module/reference.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void lp_module_errorf(struct lp_module_error *err, const char *reference, const char *fmt, ...)
{
    if (err == NULL)
        return;
    int n =
        snprintf(err->message, sizeof err->message, "module %.200s: ", reference ? reference : "?");
    if (n < 0 || (size_t)n >= sizeof err->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
    va_end(ap);
}

void lp_module_location_free(struct lp_module_location *loc)
{
    if (loc == NULL)
        return;
    free(loc->name);
    free(loc->url);
    free(loc->ref);
    free(loc->dir);
    memset(loc, 0, sizeof *loc);
}

/* A git ref or commit as a user may name it: what git check-ref-format allows, minus anything
 * that could read as an option or a path escape. */
static bool ref_ok(const char *r)
{
    if (*r == '\0' || *r == '-' || *r == '/' || strstr(r, "..") || strstr(r, "//") ||
        strstr(r, "@{") || r[strlen(r) - 1] == '/' || r[strlen(r) - 1] == '.')
        return false;
    for (const char *c = r; *c; c++)
        if (!(isalnum((unsigned char)*c) || strchr("._-/+", *c)))
            return false;
    return true;
}

/* host/owner/repo[/more]: letters, digits and ._- in each part, a dotted host, no empty or
 * dot-only parts. */
static bool repo_path_ok(const char *p)
{
    const char *slash = strchr(p, '/');
    if (slash == NULL || slash == p)
        return false;
    if (memchr(p, '.', (size_t)(slash - p)) == NULL)
        return false; /* the first part is a host name */
    size_t part = 0;
    for (const char *c = p;; c++) {
        if (*c == '/' || *c == '\0') {
            if (part == 0)
                return false;
            if (*c == '\0')
                return true;
            part = 0;
            continue;
        }
        if (!(isalnum((unsigned char)*c) || strchr("._-", *c)))
            return false;
        part++;
        if (part <= 2 && c[0] == '.' &&
            (c[1] == '/' || c[1] == '\0' || (c[1] == '.' && (c[2] == '/' || c[2] == '\0'))))
            return false;
    }
}

static bool name_ok(const char *n)
{
    if (*n == '\0' || *n == '-' || *n == '.')
        return false;
    for (const char *c = n; *c; c++)
        if (!(isalnum((unsigned char)*c) || strchr("._-", *c)))
            return false;
    return true;
}

static int parse_dir(const char *text, const char *path, struct lp_module_location *out,
                     struct lp_module_error *err)
{
    char real[PATH_MAX];
    struct stat st;
    if (realpath(path, real) == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lp_module_errorf(err, text, "no such directory (a local module is a folder holding %s)",
                         LP_MODULE_TEMPLATE_FILE);
        return -1;
    }
    if (strchr(real, '\n') != NULL) {
        lp_module_errorf(err, text, "directory name contains a newline");
        return -1;
    }
    out->kind = LP_MODULE_DIR;
    out->dir = strdup(real);
    return out->dir ? 0 : -1;
}

int lp_module_location_parse(const char *text, struct lp_module_location *out,
                             struct lp_module_error *err)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || *text == '\0') {
        lp_module_errorf(err, "\"\"", "empty module reference (try cowsay:v0.0.4)");
        return -1;
    }
    if (strlen(text) > LP_MODULE_MAX_REFERENCE) {
        lp_module_errorf(err, "(too long)", "reference longer than %d characters",
                         LP_MODULE_MAX_REFERENCE);
        return -1;
    }
    for (const char *c = text; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            lp_module_errorf(err, "(bad)", "control character in module reference");
            return -1;
        }
    }
    int rc = -1;
    if (strncmp(text, "file://", 7) == 0) {
        const char *path = text + 7;
        if (path[0] != '/') {
            lp_module_errorf(err, text,
                             "a file:// URL needs an absolute path (file:///path/repo:ref)");
            return -1;
        }
        const char *colon = strrchr(path, ':');
        char *p = colon ? strndup(path, (size_t)(colon - path)) : strdup(path);
        const char *ref = colon ? colon + 1 : "HEAD";
        char real[PATH_MAX];
        if (p == NULL)
            return -1;
        if (!ref_ok(ref)) {
            lp_module_errorf(err, text, "bad ref \"%s\" (a tag, branch or commit hash)", ref);
        } else if (strstr(p, "/../") || strstr(p, "/./") || strchr(p, '\n') != NULL) {
            lp_module_errorf(err, text, "the path must be plain and absolute (no . or .. parts)");
        } else {
            /* resolved when it exists; kept as given otherwise, so a cached module still
             * resolves when its origin has gone (the fetch reports a missing repository) */
            if (realpath(p, real) == NULL || strchr(real, '\n') != NULL)
                snprintf(real, sizeof real, "%s", p);
            out->kind = LP_MODULE_GIT;
            size_t n = strlen(real) + 8;
            out->url = malloc(n);
            out->ref = strdup(ref);
            if (out->url && out->ref) {
                snprintf(out->url, n, "file://%s", real);
                rc = 0;
            }
        }
        free(p);
        if (rc != 0)
            lp_module_location_free(out);
        return rc;
    }
    const char *colon = strchr(text, ':');
    bool explicit_dir = text[0] == '/' || strncmp(text, "./", 2) == 0 ||
                        strncmp(text, "../", 3) == 0 || strcmp(text, ".") == 0 ||
                        strcmp(text, "..") == 0;
    struct stat st;
    if (explicit_dir || (colon == NULL && stat(text, &st) == 0 && S_ISDIR(st.st_mode))) {
        if (parse_dir(text, text, out, err) != 0) {
            lp_module_location_free(out);
            return -1;
        }
        return 0;
    }
    const char *body = text;
    if (strncmp(body, "https://", 8) == 0)
        body += 8;
    colon = strchr(body, ':');
    if (colon == NULL || strchr(colon + 1, ':') != NULL) {
        lp_module_errorf(err, text,
                         "expected NAME:TAG (cowsay:v0.0.4), HOST/OWNER/REPO:REF, file:///path:REF "
                         "or a local directory (exactly one ':')");
        return -1;
    }
    char *repo = strndup(body, (size_t)(colon - body));
    const char *ref = colon + 1;
    if (repo == NULL)
        return -1;
    if (!ref_ok(ref)) {
        lp_module_errorf(err, text, "bad ref \"%s\" (a tag, branch or commit hash)", ref);
    } else if (strchr(repo, '/') != NULL) {
        if (!repo_path_ok(repo)) {
            lp_module_errorf(err, text, "bad repository \"%s\" (expected HOST/OWNER/REPO)", repo);
        } else {
            size_t n = strlen(repo) + 9;
            out->url = malloc(n);
            if (out->url) {
                /* host names are case-insensitive: one spelling, one cache entry and ID */
                snprintf(out->url, n, "https://%s", repo);
                for (char *c = out->url + 8; *c && *c != '/'; c++)
                    *c = (char)tolower((unsigned char)*c);
                rc = 0;
            }
        }
    } else if (!name_ok(repo)) {
        lp_module_errorf(err, text, "bad module name \"%s\" (letters, digits, '.', '_', '-')",
                         repo);
    } else {
        size_t n = strlen(LP_MODULE_SHORTCUT_BASE) + strlen(repo) + 1;
        out->url = malloc(n);
        out->name = strdup(repo);
        if (out->url && out->name) {
            snprintf(out->url, n, "%s%s", LP_MODULE_SHORTCUT_BASE, repo);
            rc = 0;
        }
    }
    if (rc == 0) {
        out->kind = LP_MODULE_GIT;
        out->ref = strdup(ref);
        if (out->ref == NULL)
            rc = -1;
    }
    free(repo);
    if (rc != 0)
        lp_module_location_free(out);
    return rc;
}
