/* Deal blobs as pax tar archives, written and read with libarchive. */
#include "provider/tarball.h"

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

/* Adds rel (relative to root) and, for a directory, everything below it in name order. */
static int add_tree(struct archive *a, const char *root, const char *rel, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        snprintf(err, errlen, "pack %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *nm = names[i]->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        char child_rel[PATH_MAX], child[PATH_MAX + 8];
        snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, rel[0] ? "/" : "", nm);
        snprintf(child, sizeof child, "%s/%s", root, child_rel);
        struct stat st;
        if (lstat(child, &st) != 0) {
            snprintf(err, errlen, "pack %s: %s", child, strerror(errno));
            rc = -1;
            break;
        }
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, child_rel);
        archive_entry_set_mtime(e, 0, 0); /* reproducible bytes */
        if (S_ISDIR(st.st_mode)) {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
        } else if (S_ISREG(st.st_mode)) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, (st.st_mode & 0111) ? 0755 : 0644);
            archive_entry_set_size(e, st.st_size);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tl = readlink(child, target, sizeof target - 1);
            if (tl < 0) {
                snprintf(err, errlen, "pack %s: %s", child, strerror(errno));
                archive_entry_free(e);
                rc = -1;
                break;
            }
            target[tl] = '\0';
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_perm(e, 0777);
            archive_entry_set_symlink(e, target);
        } else {
            snprintf(err, errlen,
                     "pack %s: not a regular file, directory or symlink (hint: jobs may "
                     "only leave files, folders and links in /outputs)",
                     child);
            archive_entry_free(e);
            rc = -1;
            break;
        }
        if (archive_write_header(a, e) != ARCHIVE_OK) {
            snprintf(err, errlen, "pack %s: %s", child, archive_error_string(a));
            rc = -1;
        }
        if (rc == 0 && S_ISREG(st.st_mode)) {
            int fd = open(child, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                snprintf(err, errlen, "pack %s: %s", child, strerror(errno));
                rc = -1;
            }
            char buf[65536];
            ssize_t got;
            while (rc == 0 && (got = read(fd, buf, sizeof buf)) > 0) {
                if (archive_write_data(a, buf, (size_t)got) != got) {
                    snprintf(err, errlen, "pack %s: %s", child, archive_error_string(a));
                    rc = -1;
                }
            }
            if (fd >= 0)
                close(fd);
        }
        archive_entry_free(e);
        if (rc == 0 && S_ISDIR(st.st_mode))
            rc = add_tree(a, root, child_rel, err, errlen);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int lp_tarball_pack(const char *dir, uint64_t max_bytes, uint8_t **out, size_t *out_len, char *err,
                    size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    struct membuf m = {.max = max_bytes};
    struct archive *a = archive_write_new();
    if (!a) {
        snprintf(err, errlen, "pack: out of memory");
        return -1;
    }
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    int rc = archive_write_open2(a, &m, NULL, mem_write, NULL, NULL) == ARCHIVE_OK ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "pack: %s", archive_error_string(a));
    if (rc == 0)
        rc = add_tree(a, dir, "", err, errlen);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
        snprintf(err, errlen, "pack %s: %s", dir, archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    if (m.over) {
        snprintf(err, errlen, "pack %s: larger than %llu bytes (hint: the solver's max_file_size)",
                 dir, (unsigned long long)max_bytes);
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
