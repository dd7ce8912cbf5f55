/* The store's on-disk layout: publishing, names, lookup, listing and removal (store.h). */
#include "image/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/random.h"
#include "image/fs_tree.h"
#include "image/store_internal.h"
#include "util/data_home.h"

int lp_image_store_default_dir(char *out, size_t len)
{
    return lp_data_home_path("images", out, len);
}

int lp_image_store_open(struct lp_image_store *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (dir != NULL && *dir) {
        if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir) {
            snprintf(err, errlen, "image store path too long");
            return -1;
        }
    } else if (lp_image_store_default_dir(s->dir, sizeof s->dir) != 0) {
        snprintf(err, errlen,
                 "no image store: %s (hint: set LILYPAD_HOME or pass the store's folder)",
                 lp_data_home_problem(errno));
        return -1;
    }
    static const char *const subs[] = {"rootfs", "meta", "refs", "tmp"};
    char path[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", s->dir, subs[i]);
        if (lp_fs_mkdir_p(path, 0755) != 0) {
            snprintf(err, errlen, "image store %s: cannot create %s: %s", s->dir, subs[i],
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* flock on <store>/.lock: LOCK_SH for readers, LOCK_EX for publishing and removal. */
static int lock_store(const struct lp_image_store *s, int how)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/.lock", s->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (flock(fd, how) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_store(int fd)
{
    if (fd >= 0)
        close(fd);
}

static void meta_path(const struct lp_image_store *s, const char *digest, const char *ext,
                      char *out, size_t len)
{
    snprintf(out, len, "%s/meta/%s.%s", s->dir, digest + 7, ext);
}

bool lp_image_store_has(const struct lp_image_store *s, const char *digest)
{
    char path[PATH_MAX + 96];
    meta_path(s, digest, "json", path, sizeof path);
    return access(path, F_OK) == 0;
}

int lp_image_store_mktemp(const struct lp_image_store *s, char *out, size_t len)
{
    unsigned char r[8];
    if (lp_random_bytes(r, sizeof r) != 0)
        return -1;
    snprintf(out, len, "%s/tmp/%ld-%02x%02x%02x%02x%02x%02x%02x%02x", s->dir, (long)getpid(), r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return mkdir(out, 0700);
}

/* Writes data to path through a temporary file and rename(2): readers see old or new. */
static int write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int lp_image_store_publish(const struct lp_image_store *s, const char *staged_rootfs,
                           const char *digest, const char *manifest_digest, const void *config,
                           size_t config_len, const struct lp_image_unpack_stats *stats,
                           bool *cached, char *err, size_t errlen)
{
    *cached = false;
    int lock = lock_store(s, LOCK_EX);
    if (lock < 0) {
        snprintf(err, errlen, "image store %s: cannot lock: %s", s->dir, strerror(errno));
        return -1;
    }
    int rc = -1;
    char dst[PATH_MAX + 96], path[PATH_MAX + 96];
    snprintf(dst, sizeof dst, "%s/rootfs/%s", s->dir, digest + 7);
    if (lp_image_store_has(s, digest)) {
        *cached = true;
        rc = 0;
        goto out;
    }
    /* A rootfs without meta is a leftover of an interrupted import: replace it. */
    lp_fs_remove_tree(dst);
    if (rename(staged_rootfs, dst) != 0) {
        snprintf(err, errlen, "image store: cannot move the rootfs into place: %s",
                 strerror(errno));
        goto out;
    }
    meta_path(s, digest, "config", path, sizeof path);
    if (write_atomic(path, config, config_len) != 0) {
        snprintf(err, errlen, "image store: cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    json_t *meta =
        json_pack("{s:s, s:s, s:I, s:I, s:I}", "digest", digest, "manifest_digest",
                  manifest_digest ? manifest_digest : "", "size", (json_int_t)stats->bytes,
                  "entries", (json_int_t)stats->entries, "imported", (json_int_t)time(NULL));
    char *text = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
    json_decref(meta);
    meta_path(s, digest, "json", path, sizeof path);
    if (text == NULL || write_atomic(path, text, strlen(text)) != 0) {
        snprintf(err, errlen, "image store: cannot write %s: %s", path, strerror(errno));
        free(text);
        goto out;
    }
    free(text);
    rc = 0;
out:
    unlock_store(lock);
    return rc;
}

/* ---- names -------------------------------------------------------------------------------- */
int lp_image_normalize_name(const char *name, char *out, size_t len)
{
    static const char *const prefixes[] = {"docker.io/library/", "index.docker.io/library/",
                                           "docker.io/", "index.docker.io/"};
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0) {
            name += n;
            break;
        }
    }
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '.' || name[0] == '/' || name[0] == ':' ||
        name[n - 1] == '/' || name[n - 1] == ':' || strchr(name, '@') != NULL)
        return -1;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '/' || c == ':'))
            return -1;
        if (c == '/' && (p[1] == '/' || p[1] == '.'))
            return -1;
    }
    const char *last = strrchr(name, '/');
    bool tagged = strchr(last ? last : name, ':') != NULL;
    int w = snprintf(out, len, "%s%s", name, tagged ? "" : ":latest");
    return w > 0 && (size_t)w < len ? 0 : -1;
}

/* refs/<name with "/" as %2F and "%" as %25>: one flat directory, no name can nest. */
static void ref_path(const struct lp_image_store *s, const char *name, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s/refs/", s->dir);
    for (const char *p = name; *p && n + 4 < len; p++) {
        if (*p == '/' || *p == '%')
            n += (size_t)snprintf(out + n, len - n, "%%%02X", (unsigned char)*p);
        else
            out[n++] = *p;
    }
    out[n] = '\0';
}

static void ref_decode(const char *file, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = file; *p && n + 1 < len; p++) {
        if (p[0] == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

int lp_image_store_set_ref(const struct lp_image_store *s, const char *name, const char *digest,
                           char *err, size_t errlen)
{
    char path[PATH_MAX + 600], line[LP_IMAGE_DIGEST_LEN + 2];
    ref_path(s, name, path, sizeof path);
    snprintf(line, sizeof line, "%s\n", digest);
    int lock = lock_store(s, LOCK_EX);
    int rc = lock >= 0 ? write_atomic(path, line, strlen(line)) : -1;
    if (rc != 0)
        snprintf(err, errlen, "image store: cannot name %s: %s", name, strerror(errno));
    unlock_store(lock);
    return rc;
}

static int read_ref(const char *path, char digest[LP_IMAGE_DIGEST_LEN + 1])
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[128] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (ok == NULL)
        return -1;
    line[strcspn(line, "\n")] = '\0';
    if (!lp_image_digest_valid(line))
        return -1;
    memcpy(digest, line, LP_IMAGE_DIGEST_LEN + 1);
    return 0;
}

/* ---- lookup -------------------------------------------------------------------------------- */
void lp_image_info_free(struct lp_image_info *info)
{
    lp_image_config_free(&info->config);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int load_info(const struct lp_image_store *s, const char *digest, struct lp_image_info *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char path[PATH_MAX + 96];
    meta_path(s, digest, "json", path, sizeof path);
    json_error_t jerr;
    json_t *meta = json_load_file(path, 0, &jerr);
    if (meta == NULL) {
        snprintf(err, errlen, "image %s is not in the store %s", digest, s->dir);
        return -1;
    }
    const char *md = json_string_value(json_object_get(meta, "manifest_digest"));
    memcpy(out->digest, digest, LP_IMAGE_DIGEST_LEN + 1);
    if (md != NULL && lp_image_digest_valid(md))
        memcpy(out->manifest_digest, md, LP_IMAGE_DIGEST_LEN + 1);
    out->size = (uint64_t)json_integer_value(json_object_get(meta, "size"));
    out->entries = (uint64_t)json_integer_value(json_object_get(meta, "entries"));
    out->imported = (int64_t)json_integer_value(json_object_get(meta, "imported"));
    json_decref(meta);
    snprintf(out->rootfs, sizeof out->rootfs, "%s/rootfs/%s", s->dir, digest + 7);
    meta_path(s, digest, "config", path, sizeof path);
    size_t len = 0;
    char *cfg = slurp(path, &len);
    char why[256];
    if (cfg == NULL || lp_image_parse_config(cfg, len, &out->config, why, sizeof why) != 0) {
        snprintf(err, errlen, "image %s: its stored config is unreadable", digest);
        free(cfg);
        return -1;
    }
    free(cfg);
    return 0;
}

/* Digest (config or manifest) or hex prefix -> config digest. */
static int find_digest(const struct lp_image_store *s, const char *ref,
                       char digest[LP_IMAGE_DIGEST_LEN + 1])
{
    const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
    size_t n = strlen(hex);
    if (n < 12 || n > 64 || strspn(hex, "0123456789abcdef") != n)
        return -1;
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/meta", s->dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strchr(e->d_name, '.');
        if (dot == NULL || strcmp(dot, ".json") != 0 || dot - e->d_name != 64)
            continue;
        char cand[LP_IMAGE_DIGEST_LEN + 1];
        snprintf(cand, sizeof cand, "sha256:%.64s", e->d_name);
        bool match = strncmp(e->d_name, hex, n) == 0;
        if (!match && n == 64) {
            /* a manifest digest (pinned module images use those) */
            char path[PATH_MAX + 400];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            json_t *meta = json_load_file(path, 0, NULL);
            const char *md = json_string_value(json_object_get(meta, "manifest_digest"));
            match = md != NULL && strcmp(md + (strncmp(md, "sha256:", 7) == 0 ? 7 : 0), hex) == 0;
            json_decref(meta);
        }
        if (match) {
            if (found && strcmp(cand, digest) != 0) {
                closedir(d);
                return -2;
            }
            memcpy(digest, cand, sizeof cand);
            found = 1;
        }
    }
    closedir(d);
    return found ? 0 : -1;
}

static int resolve_digest(const struct lp_image_store *s, const char *ref,
                          char digest[LP_IMAGE_DIGEST_LEN + 1], bool *by_digest, char *err,
                          size_t errlen)
{
    *by_digest = false;
    const char *at = strchr(ref, '@');
    if (at != NULL || strncmp(ref, "sha256:", 7) == 0 ||
        (strlen(ref) >= 12 && strspn(ref, "0123456789abcdef") == strlen(ref))) {
        const char *d = at ? at + 1 : ref;
        *by_digest = true;
        int r = find_digest(s, d, digest);
        if (r == -2)
            snprintf(err, errlen, "image %s: the prefix matches several images", ref);
        else if (r != 0)
            snprintf(err, errlen,
                     "image %s is not in the store %s; hint: lilypad image import FILE", ref,
                     s->dir);
        return r == 0 ? 0 : -1;
    }
    char norm[256], path[PATH_MAX + 600];
    if (lp_image_normalize_name(ref, norm, sizeof norm) != 0) {
        snprintf(err, errlen, "\"%.200s\" is not an image name (repo[:tag] or sha256:<hex>)", ref);
        return -1;
    }
    ref_path(s, norm, path, sizeof path);
    if (read_ref(path, digest) != 0) {
        snprintf(err, errlen, "image %s is not in the store %s; hint: lilypad image import FILE",
                 norm, s->dir);
        return -1;
    }
    return 0;
}

int lp_image_resolve(const struct lp_image_store *s, const char *ref, struct lp_image_info *out,
                     char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (ref == NULL || *ref == '\0') {
        snprintf(err, errlen, "no image given");
        return -1;
    }
    int lock = lock_store(s, LOCK_SH);
    char digest[LP_IMAGE_DIGEST_LEN + 1];
    bool by_digest;
    int rc = resolve_digest(s, ref, digest, &by_digest, err, errlen);
    if (rc == 0)
        rc = load_info(s, digest, out, err, errlen);
    unlock_store(lock);
    return rc;
}

/* ---- listing and removal ------------------------------------------------------------------ */
struct name_row {
    char name[256];
    char digest[LP_IMAGE_DIGEST_LEN + 1];
};

static int cmp_rows(const void *a, const void *b)
{
    return strcmp(((const struct name_row *)a)->name, ((const struct name_row *)b)->name);
}

/* Every ref in the store, sorted; *count rows. */
static struct name_row *read_refs(const struct lp_image_store *s, size_t *count)
{
    *count = 0;
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/refs", s->dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return NULL;
    struct name_row *rows = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp") != NULL)
            continue;
        if (*count == cap) {
            struct name_row *n = realloc(rows, (cap = cap ? cap * 2 : 16) * sizeof *rows);
            if (n == NULL)
                break;
            rows = n;
        }
        char path[PATH_MAX + 600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (read_ref(path, rows[*count].digest) != 0)
            continue;
        ref_decode(e->d_name, rows[*count].name, sizeof rows[0].name);
        (*count)++;
    }
    closedir(d);
    if (*count > 0)
        qsort(rows, *count, sizeof *rows, cmp_rows);
    return rows;
}

int lp_image_list(const struct lp_image_store *s, lp_image_list_fn fn, void *arg, char *err,
                  size_t errlen)
{
    int lock = lock_store(s, LOCK_SH);
    size_t n = 0;
    struct name_row *rows = read_refs(s, &n);
    char why[256];
    for (size_t i = 0; i < n; i++) {
        struct lp_image_info info;
        if (load_info(s, rows[i].digest, &info, why, sizeof why) != 0)
            continue; /* a name left pointing at a removed image: not listed */
        fn(arg, rows[i].name, &info);
        lp_image_info_free(&info);
    }
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/meta", s->dir);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        const char *dot = strchr(e->d_name, '.');
        if (dot == NULL || strcmp(dot, ".json") != 0 || dot - e->d_name != 64)
            continue;
        char digest[LP_IMAGE_DIGEST_LEN + 1];
        snprintf(digest, sizeof digest, "sha256:%.64s", e->d_name);
        bool named = false;
        for (size_t i = 0; i < n && !named; i++)
            named = strcmp(rows[i].digest, digest) == 0;
        struct lp_image_info info;
        if (named || load_info(s, digest, &info, why, sizeof why) != 0)
            continue;
        fn(arg, NULL, &info);
        lp_image_info_free(&info);
    }
    if (d != NULL)
        closedir(d);
    free(rows);
    unlock_store(lock);
    (void)err;
    (void)errlen;
    return 0;
}

static int remove_image(const struct lp_image_store *s, const char *digest, char *err,
                        size_t errlen)
{
    char path[PATH_MAX + 96], tmp[PATH_MAX];
    meta_path(s, digest, "json", path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    meta_path(s, digest, "config", path, sizeof path);
    unlink(path);
    /* Move the rootfs aside first: a reader never sees a half-deleted tree under its name. */
    snprintf(path, sizeof path, "%s/rootfs/%s", s->dir, digest + 7);
    if (lp_image_store_mktemp(s, tmp, sizeof tmp) == 0) {
        char dst[PATH_MAX + 16];
        snprintf(dst, sizeof dst, "%s/old", tmp);
        if (rename(path, dst) == 0)
            snprintf(path, sizeof path, "%s", tmp);
        else
            lp_fs_remove_tree(tmp);
    }
    if (lp_fs_remove_tree(path) != 0) {
        snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int lp_image_remove(const struct lp_image_store *s, const char *ref, char *err, size_t errlen)
{
    if (ref == NULL || *ref == '\0') {
        snprintf(err, errlen, "no image given");
        return -1;
    }
    int lock = lock_store(s, LOCK_EX);
    if (lock < 0) {
        snprintf(err, errlen, "image store %s: cannot lock: %s", s->dir, strerror(errno));
        return -1;
    }
    char digest[LP_IMAGE_DIGEST_LEN + 1];
    bool by_digest;
    int rc = resolve_digest(s, ref, digest, &by_digest, err, errlen);
    size_t n = 0;
    struct name_row *rows = rc == 0 ? read_refs(s, &n) : NULL;
    size_t others = 0;
    char path[PATH_MAX + 600], norm[256] = "";
    if (rc == 0 && !by_digest)
        lp_image_normalize_name(ref, norm, sizeof norm);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strcmp(rows[i].digest, digest) != 0)
            continue;
        if (by_digest || strcmp(rows[i].name, norm) == 0) {
            ref_path(s, rows[i].name, path, sizeof path);
            unlink(path);
        } else {
            others++;
        }
    }
    if (rc == 0 && others == 0)
        rc = remove_image(s, digest, err, errlen);
    free(rows);
    unlock_store(lock);
    return rc;
}
