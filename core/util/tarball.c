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

/* Where the archive goes: memory (lp_tarball_pack_with) or a file (lp_tarball_pack_to_fd). Both
 * stop at max: libarchive gets an error back and stops writing at once. */
struct sink {
    uint8_t *data; /* memory */
    size_t cap;
    int fd; /* -1: memory */
    uint64_t len, max;
    int over;
    int write_errno; /* the fd's failed write */
};

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
    (void)a;
    struct sink *m = ctx;
    if (m->max && m->len + n > m->max) {
        m->over = 1;
        return -1;
    }
    if (m->fd >= 0) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(m->fd, (const uint8_t *)buf + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                m->write_errno = w < 0 ? errno : ENOSPC;
                return -1;
            }
            done += (size_t)w;
        }
        m->len += n;
        return (la_ssize_t)n;
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

/* ARCHIVE_WARN from a header write is libarchive saying a name could not be converted to
 * UTF-8 (we run in the C locale, so any byte above 0x7f): it then writes the name raw under
 * hdrcharset=BINARY, which reads back byte for byte. Only a failure is one. */
static bool header_ok(int rc)
{
    return rc == ARCHIVE_OK || rc == ARCHIVE_WARN;
}

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
        if (!header_ok(archive_write_header(c->a, e))) {
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
            if (c->o->refuse_escaping_links && !lp_tarball_link_target_safe(target)) {
                snprintf(c->err, c->errlen,
                         "%s %s: symbolic link to \"%.200s\" points outside the folder (hint: "
                         "relative links without \"..\" only)",
                         c->o->what, path, target);
                archive_entry_free(e);
                return -1;
            }
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, target);
            if (!header_ok(archive_write_header(c->a, e))) {
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
        rc = header_ok(archive_write_header(c->a, e)) ? 0 : -1;
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
        .refuse_escaping_links = true,
        .trim_last_block = true,
        .refused_hint = "not a regular file, directory or symlink (hint: jobs may only leave "
                        "files, folders and links in /outputs)",
    };
}

bool lp_tarball_link_target_safe(const char *target)
{
    if (!target || target[0] == '/')
        return false;
    for (const char *p = target; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += n;
        while (*p == '/')
            p++;
    }
    return true;
}

/* Packs dir into the sink. */
static int pack_into(const char *dir, const struct lp_tarball_pack_options *o, struct sink *m,
                     char *err, size_t errlen)
{
    struct archive *a = archive_write_new();
    if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        (o->trim_last_block && archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) ||
        archive_write_open2(a, m, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: cannot start the archive", o->what);
        if (a)
            archive_write_free(a);
        return -1;
    }
    struct pack_ctx c = {.a = a, .o = o, .err = err, .errlen = errlen};
    int rc = pack_dir(&c, dir, "", 0);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
        snprintf(err, errlen, "%s %s: %s", o->what, dir, archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    if (m->over) {
        snprintf(err, errlen, "%s %s: larger than %llu bytes (hint: %s)", o->what, dir,
                 (unsigned long long)o->max_bytes,
                 o->max_hint ? o->max_hint : "the solver's max_file_size");
        rc = -1;
    } else if (m->write_errno && rc != 0) {
        snprintf(err, errlen, "%s %s: writing the archive: %s", o->what, dir,
                 strerror(m->write_errno));
    }
    return rc;
}

int lp_tarball_pack_with(const char *dir, const struct lp_tarball_pack_options *o, uint8_t **out,
                         size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    struct sink m = {.fd = -1, .max = o->max_bytes};
    if (pack_into(dir, o, &m, err, errlen) != 0) {
        free(m.data);
        return -1;
    }
    *out = m.data;
    *out_len = (size_t)m.len;
    return 0;
}

int lp_tarball_pack(const char *dir, uint64_t max_bytes, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen)
{
    struct lp_tarball_pack_options o;
    lp_tarball_pack_options_default(&o, max_bytes);
    return lp_tarball_pack_with(dir, &o, out, out_len, err, errlen);
}

int lp_tarball_pack_to_fd(const char *dir, const struct lp_tarball_pack_options *o, int fd,
                          uint64_t *out_len, char *err, size_t errlen)
{
    *out_len = 0;
    struct sink m = {.fd = fd, .max = o->max_bytes};
    int rc = pack_into(dir, o, &m, err, errlen);
    *out_len = m.len;
    errno = rc == 0 ? 0 : m.write_errno;
    return rc;
}

/* ---- unpacking --------------------------------------------------------------------------- */

/* A relative name of "/"-separated components, none of them "..". */
static bool name_safe(const char *name)
{
    return name && *name && lp_tarball_link_target_safe(name);
}

static const struct lp_tarball_declared *declared_of(const struct lp_tarball_unpack_options *o,
                                                     const char *name)
{
    size_t n = strlen(name);
    while (n > 0 && name[n - 1] == '/')
        n--;
    for (size_t i = 0; i < o->n_declared; i++) {
        const char *d = o->declared[i].name;
        if (strlen(d) == n && strncmp(d, name, n) == 0)
            return &o->declared[i];
    }
    return NULL;
}

/* One entry's header: what it is and whether it may be written; 0 or -1 with err set. */
static int check_entry(const struct lp_tarball_unpack_options *o, struct archive_entry *e,
                       uint64_t *total, char *err, size_t errlen)
{
    const char *name = archive_entry_pathname(e);
    mode_t type = archive_entry_filetype(e);
    if (!name_safe(name) || (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) ||
        archive_entry_hardlink(e)) {
        snprintf(err, errlen,
                 "%s: entry \"%.200s\" refused (only relative files, folders and links without "
                 "\"..\")",
                 o->what, name ? name : "");
        return -1;
    }
    if (type == AE_IFLNK && !lp_tarball_link_target_safe(archive_entry_symlink(e))) {
        snprintf(err, errlen,
                 "%s: link \"%.200s\" points outside the folder (to \"%.200s\"); nothing more "
                 "is unpacked",
                 o->what, name, archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
        return -1;
    }
    uint64_t size = archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) : 0;
    const struct lp_tarball_declared *d = declared_of(o, name);
    if (d && size > d->size) {
        snprintf(err, errlen,
                 "%s: %s holds %llu bytes, %llu were declared for it; nothing more is unpacked",
                 o->what, d->name, (unsigned long long)size, (unsigned long long)d->size);
        return -1;
    }
    *total += size;
    if (o->max_bytes && *total > o->max_bytes) {
        snprintf(err, errlen,
                 "%s: more than %llu bytes of content (%s); unpacking stopped at \"%.200s\"",
                 o->what, (unsigned long long)o->max_bytes, o->max_why ? o->max_why : "the cap",
                 name);
        return -1;
    }
    return 0;
}

int lp_tarball_unpack_with(const void *data, size_t len, const char *dest,
                           const struct lp_tarball_unpack_options *o, char *err, size_t errlen)
{
    if (lp_fs_mkdir_p(dest, 0755) != 0) {
        snprintf(err, errlen, "%s: cannot create %s: %s", o->what, dest, strerror(errno));
        return -1;
    }
    struct archive *in = archive_read_new();
    struct archive *disk = archive_write_disk_new();
    if (!in || !disk) {
        archive_read_free(in);
        archive_write_free(disk);
        snprintf(err, errlen, "%s: out of memory", o->what);
        return -1;
    }
    /* Every filter is recognised so that a compressed blob gets its own clear line below
     * rather than "not a tar archive". */
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    /* Names are made absolute below (dest + name), so NOABSOLUTEPATHS is checked by hand on
     * the entry's own name; SECURE_SYMLINKS checks every component, hence the real path. */
    archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                             ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    char real[PATH_MAX];
    if (!realpath(dest, real)) {
        snprintf(err, errlen, "%s: %s: %s", o->what, dest, strerror(errno));
        archive_read_free(in);
        archive_write_free(disk);
        return -1;
    }
    int rc = 0;
    uint64_t total = 0;
    if (archive_read_open_memory(in, data, len) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: not a tar archive: %s", o->what, archive_error_string(in));
        rc = -1;
    }
    struct archive_entry *e;
    int r = ARCHIVE_OK;
    /* ARCHIVE_WARN: a name that is not valid in the C locale, delivered raw (tarball.h). */
    while (rc == 0 && ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
        if (archive_filter_count(in) > 1) {
            snprintf(err, errlen,
                     "%s: the archive is compressed (%s); only a plain tar is accepted, as a "
                     "compressed one can unpack to far more than its own size",
                     o->what, archive_filter_name(in, 0));
            rc = -1;
            break;
        }
        if (check_entry(o, e, &total, err, errlen) != 0) {
            rc = -1;
            break;
        }
        const char *name = archive_entry_pathname(e);
        mode_t type = archive_entry_filetype(e);
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", real, name) >= (int)sizeof path) {
            snprintf(err, errlen, "%s: entry \"%.200s\" refused: path too long", o->what, name);
            rc = -1;
            break;
        }
        char shown[256];
        snprintf(shown, sizeof shown, "%s", name);
        archive_entry_set_pathname(e, path);
        archive_entry_set_perm(e, type == AE_IFDIR || (archive_entry_perm(e) & 0111) ? 0755 : 0644);
        if (!header_ok(archive_write_header(disk, e))) {
            snprintf(err, errlen, "%s %s: %s", o->what, shown, archive_error_string(disk));
            rc = -1;
            break;
        }
        const void *buf;
        size_t size;
        la_int64_t off;
        while ((r = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
            if (archive_write_data_block(disk, buf, size, off) != ARCHIVE_OK) {
                snprintf(err, errlen, "%s %s: %s", o->what, shown, archive_error_string(disk));
                rc = -1;
                break;
            }
        }
        if (rc == 0 && r != ARCHIVE_EOF) {
            snprintf(err, errlen, "%s %s: %s", o->what, shown, archive_error_string(in));
            rc = -1;
        }
        if (!header_ok(archive_write_finish_entry(disk)) && rc == 0) {
            snprintf(err, errlen, "%s %s: %s", o->what, shown, archive_error_string(disk));
            rc = -1;
        }
    }
    if (rc == 0 && r != ARCHIVE_EOF) {
        snprintf(err, errlen, "%s: %s", o->what, archive_error_string(in));
        rc = -1;
    }
    archive_read_free(in);
    archive_write_free(disk);
    return rc;
}

int lp_tarball_unpack(const void *data, size_t len, const char *dest, uint64_t max_bytes, char *err,
                      size_t errlen)
{
    struct lp_tarball_unpack_options o = {.what = "unpack", .max_bytes = max_bytes};
    return lp_tarball_unpack_with(data, len, dest, &o, err, errlen);
}
