#include "jobcreator/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/unpack.h"

/* ---- packing ----------------------------------------------------------------------------- */

struct membuf {
    uint8_t *data;
    size_t len, cap;
};

static la_ssize_t membuf_write(struct archive *a, void *arg, const void *buf, size_t n)
{
    (void)a;
    struct membuf *m = arg;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n)
            cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p)
            return -1;
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, n);
    m->len += n;
    return (la_ssize_t)n;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool name_listed(const char *name, char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* Sorted entry names of a folder (without . and ..). */
static int list_dir(const char *path, char ***names, size_t *count, char *err, size_t errlen)
{
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "inputs %s: %s", path, strerror(errno));
        return -1;
    }
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                rc = -1;
                break;
            }
            v = nv;
        }
        if ((v[n] = strdup(de->d_name)) == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "inputs %s: out of memory", path);
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return -1;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_names);
    *names = v;
    *count = n;
    return 0;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

struct pack_ctx {
    struct archive *a;
    size_t files;
    char *err;
    size_t errlen;
};

static int add_entry(struct pack_ctx *c, const char *path, const char *name, const struct stat *st)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) {
        snprintf(c->err, c->errlen, "inputs: out of memory");
        return -1;
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    int rc = 0;
    if (S_ISDIR(st->st_mode)) {
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        rc = archive_write_header(c->a, e) == ARCHIVE_OK ? 0 : -1;
    } else {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, (st->st_mode & 0111) ? 0755 : 0644);
        archive_entry_set_size(e, st->st_size);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            snprintf(c->err, c->errlen, "inputs %s: %s", path, strerror(errno));
            archive_entry_free(e);
            return -1;
        }
        rc = archive_write_header(c->a, e) == ARCHIVE_OK ? 0 : -1;
        char buf[65536];
        ssize_t n;
        off_t total = 0;
        while (rc == 0 && (n = read(fd, buf, sizeof buf)) > 0) {
            total += n;
            if (archive_write_data(c->a, buf, (size_t)n) != n)
                rc = -1;
        }
        close(fd);
        if (rc == 0 && total != st->st_size) {
            snprintf(c->err, c->errlen, "inputs %s: changed while it was read", path);
            archive_entry_free(e);
            return -1;
        }
    }
    if (rc != 0)
        snprintf(c->err, c->errlen, "inputs %s: %s", path,
                 archive_error_string(c->a) ? archive_error_string(c->a) : "write failed");
    archive_entry_free(e);
    return rc;
}

static int pack_dir(struct pack_ctx *c, const char *path, const char *prefix, int depth)
{
    if (depth > 32) {
        snprintf(c->err, c->errlen, "inputs %s: folders nested too deep", path);
        return -1;
    }
    char **names;
    size_t n;
    if (list_dir(path, &names, &n, c->err, c->errlen) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char full[PATH_MAX], name[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", path, names[i]) >= (int)sizeof full ||
            snprintf(name, sizeof name, "%s%s", prefix, names[i]) >= (int)sizeof name) {
            snprintf(c->err, c->errlen, "inputs %s: path too long", path);
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0) {
            snprintf(c->err, c->errlen, "inputs %s: %s", full, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/", name);
            rc = add_entry(c, full, name, &st);
            if (rc == 0)
                rc = pack_dir(c, full, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            if (++c->files > LP_BUNDLE_MAX_INPUT_FILES) {
                snprintf(c->err, c->errlen, "inputs: more than %d files",
                         LP_BUNDLE_MAX_INPUT_FILES);
                rc = -1;
            } else {
                rc = add_entry(c, full, name, &st);
            }
        } else {
            snprintf(c->err, c->errlen,
                     "inputs %s: not a regular file or folder (symbolic links and special files "
                     "are not sent; copy the file in instead)",
                     full);
            rc = -1;
        }
    }
    free_names(names, n);
    return rc;
}

int lp_bundle_pack_inputs(const char *dir, char *const *required, size_t n_required,
                          char *const *optional, size_t n_optional, uint8_t **out, size_t *out_len,
                          char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "inputs %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "inputs %s: not a folder (hint: --inputs takes a folder)", dir);
        return -1;
    }
    /* The module's declared inputFiles: only those names, and every required one. */
    if (n_required + n_optional > 0) {
        char **names;
        size_t n;
        if (list_dir(dir, &names, &n, err, errlen) != 0)
            return -1;
        int bad = 0;
        for (size_t i = 0; !bad && i < n; i++) {
            if (!name_listed(names[i], required, n_required) &&
                !name_listed(names[i], optional, n_optional)) {
                snprintf(err, errlen,
                         "inputs %s: %s is not one of the module's input files (hint: the "
                         "module's inputFiles lists what it reads)",
                         dir, names[i]);
                bad = 1;
            }
        }
        for (size_t i = 0; !bad && i < n_required; i++) {
            if (!name_listed(required[i], names, n)) {
                snprintf(err, errlen, "inputs %s: the module needs the file %s", dir, required[i]);
                bad = 1;
            }
        }
        free_names(names, n);
        if (bad)
            return -1;
    }
    struct membuf m = {0};
    struct archive *a = archive_write_new();
    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open(a, &m, NULL, membuf_write, NULL) != ARCHIVE_OK) {
        snprintf(err, errlen, "inputs: cannot start the archive");
        if (a)
            archive_write_free(a);
        return -1;
    }
    struct pack_ctx c = {.a = a, .err = err, .errlen = errlen};
    int rc = pack_dir(&c, dir, "", 0);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
        snprintf(err, errlen, "inputs: %s", archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    if (rc != 0) {
        free(m.data);
        return -1;
    }
    *out = m.data;
    *out_len = m.len;
    return 0;
}

/* ---- unpacking --------------------------------------------------------------------------- */

int lp_bundle_unpack_results(const uint8_t *data, size_t len, const char *dest, uint64_t max_bytes,
                             char *err, size_t errlen)
{
    if (mkdir(dest, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "results %s: %s", dest, strerror(errno));
        return -1;
    }
    int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "results %s: %s", dest, strerror(errno));
        return -1;
    }
    struct archive *a = archive_read_new();
    int rc = -1;
    if (!a) {
        snprintf(err, errlen, "results: out of memory");
    } else if (archive_read_support_filter_all(a) != ARCHIVE_OK ||
               archive_read_support_format_tar(a) != ARCHIVE_OK ||
               archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        snprintf(err, errlen, "results: not a tar archive (%s)",
                 archive_error_string(a) ? archive_error_string(a) : "unknown format");
    } else {
        struct lp_image_unpack_stats stats = {.max_bytes = max_bytes};
        char why[384];
        rc = lp_image_apply_layer(fd, a, &stats, why, sizeof why);
        if (rc != 0)
            snprintf(err, errlen, "results: %s", why);
    }
    if (a)
        archive_read_free(a);
    close(fd);
    return rc;
}
