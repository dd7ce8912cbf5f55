/* Deal blobs as pax tar archives, written and read with libarchive. */
#include "util/tarball.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/fs_tree.h"

/* ---- packing ----------------------------------------------------------------------------- */

struct membuf {
    uint8_t *data;
    size_t len, cap;
    uint64_t max;
    int over;
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
    (void)a;
    struct membuf *m = ctx;
    if (m->max && m->len + n > m->max) {
        m->over = 1;
        return -1;
    }
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

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

struct pack_ctx {
    struct archive *a;
    const struct lp_tarball_pack_options *o;
    size_t files;
    char *err;
    size_t errlen;
};

static void write_failed(struct pack_ctx *c, const char *path)
{
    const char *why = archive_error_string(c->a);
    snprintf(c->err, c->errlen, "%s %s: %s", c->o->what, path, why ? why : "write failed");
}

/* One entry: owner 0 and mtime 0 so the bytes depend on names, types and contents only. */
static int add_entry(struct pack_ctx *c, const char *path, const char *name, const struct stat *st)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) {
        snprintf(c->err, c->errlen, "%s: out of memory", c->o->what);
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
        if (archive_write_header(c->a, e) != ARCHIVE_OK) {
            write_failed(c, path);
            rc = -1;
        }
    } else if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t tl = readlink(path, target, sizeof target - 1);
        if (tl < 0) {
            snprintf(c->err, c->errlen, "%s %s: %s", c->o->what, path, strerror(errno));
            rc = -1;
        } else {
            target[tl] = '\0';
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, target);
            if (archive_write_header(c->a, e) != ARCHIVE_OK) {
                write_failed(c, path);
                rc = -1;
            }
        }
    } else {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, (st->st_mode & 0111) ? 0755 : 0644);
        archive_entry_set_size(e, st->st_size);
        /* Opened before the header is written, so a file that cannot be read leaves no
         * half-written entry behind. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            snprintf(c->err, c->errlen, "%s %s: %s", c->o->what, path, strerror(errno));
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
        if (rc != 0) {
            write_failed(c, path);
        } else if (total != st->st_size) {
            /* libarchive would pad or cut the entry to the size in its header. */
            snprintf(c->err, c->errlen, "%s %s: changed while it was read", c->o->what, path);
            rc = -1;
        }
    }
    archive_entry_free(e);
    return rc;
}

/* Adds everything below path (entry names prefixed with prefix) in bytewise name order. */
static int pack_dir(struct pack_ctx *c, const char *path, const char *prefix, int depth)
{
    if (c->o->max_depth > 0 && depth > c->o->max_depth) {
        snprintf(c->err, c->errlen, "%s %s: folders nested too deep", c->o->what, path);
        return -1;
    }
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        snprintf(c->err, c->errlen, "%s %s: %s", c->o->what, path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *nm = names[i]->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        char full[PATH_MAX], name[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", path, nm) >= (int)sizeof full ||
            snprintf(name, sizeof name, "%s%s", prefix, nm) >= (int)sizeof name) {
            snprintf(c->err, c->errlen, "%s %s: path too long", c->o->what, path);
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0) {
            snprintf(c->err, c->errlen, "%s %s: %s", c->o->what, full, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            char sub[PATH_MAX];
            if (snprintf(sub, sizeof sub, "%s/", name) >= (int)sizeof sub) {
                snprintf(c->err, c->errlen, "%s %s: path too long", c->o->what, path);
                rc = -1;
                break;
            }
            rc = add_entry(c, full, name, &st);
            if (rc == 0)
                rc = pack_dir(c, full, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            if (c->o->max_files && ++c->files > c->o->max_files) {
                snprintf(c->err, c->errlen, "%s: more than %zu files", c->o->what, c->o->max_files);
                rc = -1;
            } else {
                rc = add_entry(c, full, name, &st);
            }
        } else if (S_ISLNK(st.st_mode) && !c->o->refuse_symlinks) {
            rc = add_entry(c, full, name, &st);
        } else {
            snprintf(c->err, c->errlen, "%s %s: %s", c->o->what, full, c->o->refused_hint);
            rc = -1;
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

void lp_tarball_pack_options_default(struct lp_tarball_pack_options *o, uint64_t max_bytes)
{
    *o = (struct lp_tarball_pack_options){
        .what = "pack",
        .max_bytes = max_bytes,
        .trim_last_block = true,
        .refused_hint = "not a regular file, directory or symlink (hint: jobs may only leave "
                        "files, folders and links in /outputs)",
    };
}

int lp_tarball_pack_with(const char *dir, const struct lp_tarball_pack_options *o, uint8_t **out,
                         size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    struct membuf m = {.max = o->max_bytes};
    struct archive *a = archive_write_new();
    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        (o->trim_last_block && archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) ||
        archive_write_open2(a, &m, NULL, mem_write, NULL, NULL) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: cannot start the archive", o->what);
        if (a)
            archive_write_free(a);
        free(m.data);
        return -1;
    }
    struct pack_ctx c = {.a = a, .o = o, .err = err, .errlen = errlen};
    int rc = pack_dir(&c, dir, "", 0);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
        snprintf(err, errlen, "%s %s: %s", o->what, dir, archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    if (m.over) {
        snprintf(err, errlen, "%s %s: larger than %llu bytes (hint: the solver's max_file_size)",
                 o->what, dir, (unsigned long long)o->max_bytes);
        rc = -1;
    }
    if (rc != 0) {
        free(m.data);
        return -1;
    }
    *out = m.data;
    *out_len = m.len;
    return 0;
}

int lp_tarball_pack(const char *dir, uint64_t max_bytes, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen)
{
    struct lp_tarball_pack_options o;
    lp_tarball_pack_options_default(&o, max_bytes);
    return lp_tarball_pack_with(dir, &o, out, out_len, err, errlen);
}

/* ---- unpacking --------------------------------------------------------------------------- */

int lp_tarball_unpack(const void *data, size_t len, const char *dest, uint64_t max_bytes, char *err,
                      size_t errlen)
{
    if (lp_fs_mkdir_p(dest, 0755) != 0) {
        snprintf(err, errlen, "unpack: cannot create %s: %s", dest, strerror(errno));
        return -1;
    }
    struct archive *in = archive_read_new();
    struct archive *disk = archive_write_disk_new();
    if (!in || !disk) {
        archive_read_free(in);
        archive_write_free(disk);
        snprintf(err, errlen, "unpack: out of memory");
        return -1;
    }
    archive_read_support_format_tar(in);
    /* Names are made absolute below (dest + name), so NOABSOLUTEPATHS is checked by hand on
     * the entry's own name; SECURE_SYMLINKS checks every component, hence the real path. */
    archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                             ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    char real[PATH_MAX];
    if (!realpath(dest, real)) {
        snprintf(err, errlen, "unpack: %s: %s", dest, strerror(errno));
        archive_read_free(in);
        archive_write_free(disk);
        return -1;
    }
    int rc = 0;
    uint64_t total = 0;
    if (archive_read_open_memory(in, data, len) != ARCHIVE_OK) {
        snprintf(err, errlen, "unpack: not a tar archive: %s", archive_error_string(in));
        rc = -1;
    }
    struct archive_entry *e;
    int r;
    while (rc == 0 && (r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        if (!name || !*name || name[0] == '/' || strstr(name, "..") ||
            (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) ||
            archive_entry_hardlink(e)) {
            snprintf(err, errlen,
                     "unpack: entry \"%.200s\" refused (only relative files, folders and "
                     "links without \"..\")",
                     name ? name : "");
            rc = -1;
            break;
        }
        if (type == AE_IFLNK) {
            const char *t = archive_entry_symlink(e);
            if (!t || t[0] == '/' || strstr(t, "..")) {
                snprintf(err, errlen, "unpack: link \"%.200s\" points outside the folder", name);
                rc = -1;
                break;
            }
        }
        total += (uint64_t)archive_entry_size(e);
        if (max_bytes && total > max_bytes) {
            snprintf(err, errlen, "unpack: more than %llu bytes of content",
                     (unsigned long long)max_bytes);
            rc = -1;
            break;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", real, name);
        archive_entry_set_pathname(e, path);
        archive_entry_set_perm(e, type == AE_IFDIR || (archive_entry_perm(e) & 0111) ? 0755 : 0644);
        if (archive_write_header(disk, e) != ARCHIVE_OK) {
            snprintf(err, errlen, "unpack %s: %s", name, archive_error_string(disk));
            rc = -1;
            break;
        }
        const void *buf;
        size_t size;
        la_int64_t off;
        while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
            if (archive_write_data_block(disk, buf, size, off) != ARCHIVE_OK) {
                snprintf(err, errlen, "unpack %s: %s", name, archive_error_string(disk));
                rc = -1;
                break;
            }
        }
        if (rc == 0 && r != ARCHIVE_EOF) {
            snprintf(err, errlen, "unpack %s: %s", name, archive_error_string(in));
            rc = -1;
        }
        archive_write_finish_entry(disk);
    }
    if (rc == 0 && r != ARCHIVE_EOF) {
        snprintf(err, errlen, "unpack: %s", archive_error_string(in));
        rc = -1;
    }
    archive_read_free(in);
    archive_write_free(disk);
    return rc;
}
