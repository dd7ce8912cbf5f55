#include "image/unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/fs_tree.h"
#include "image/tar_path.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* ---- the paths this layer has written (whiteouts only hide lower layers) ------------------
 * A small open-addressing set: libarchive and jansson have none we could reuse for C strings. */
struct path_set {
    char **slots;
    size_t cap, used;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool set_has(const struct path_set *s, const char *p)
{
    if (s->cap == 0)
        return false;
    for (size_t i = fnv1a(p) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == NULL)
            return false;
        if (strcmp(s->slots[i], p) == 0)
            return true;
    }
}

static int set_add(struct path_set *s, const char *p)
{
    if (set_has(s, p))
        return 0;
    if ((s->used + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        char **n = calloc(ncap, sizeof *n);
        if (n == NULL)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i] == NULL)
                continue;
            size_t j = fnv1a(s->slots[i]) & (ncap - 1);
            while (n[j] != NULL)
                j = (j + 1) & (ncap - 1);
            n[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = n;
        s->cap = ncap;
    }
    size_t i = fnv1a(p) & (s->cap - 1);
    while (s->slots[i] != NULL)
        i = (i + 1) & (s->cap - 1);
    s->slots[i] = strdup(p);
    if (s->slots[i] == NULL)
        return -1;
    s->used++;
    return 0;
}

static void set_free(struct path_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* ---- resolving directories inside the rootfs ----------------------------------------------
 * openat2(RESOLVE_BENEATH) lets a path use symlinks that stay inside the rootfs (usr-merged
 * "bin -> usr/bin") and fails with EXDEV on any that leave it (absolute or too many ".."). On
 * kernels before 5.6 we walk component by component and refuse every symlink. */
static int resolve_dir(int rootfd, const char *dir)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    int cur = dup(rootfd);
    for (char *save = NULL, *c = strtok_r(buf, "/", &save); cur >= 0 && c != NULL;
         c = strtok_r(NULL, "/", &save)) {
        int next = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOTDIR)
            errno = EXDEV; /* a symlink (or a file) on the way: treat as leaving */
        close(cur);
        cur = next;
    }
    return cur;
}

/* Opens directory `dir` of the rootfs, creating missing components (mode 0755). */
static int open_dir(int rootfd, const char *dir, bool create, int depth)
{
    if (*dir == '\0')
        return fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    int fd = resolve_dir(rootfd, dir);
    if (fd >= 0 || errno != ENOENT || !create || depth > 512)
        return fd;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    const char *pdir, *base;
    lp_image_split_path(buf, &pdir, &base);
    int pfd = open_dir(rootfd, pdir, true, depth + 1);
    if (pfd < 0)
        return -1;
    if (mkdirat(pfd, base, 0755) != 0 && errno != EEXIST) {
        close(pfd);
        return -1;
    }
    close(pfd);
    return resolve_dir(rootfd, dir);
}

static int fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "layer entry \"%.200s\": %s", path, what);
    return -1;
}

static int fail_errno(char *err, size_t errlen, const char *path, const char *what)
{
    int e = errno;
    if (e == EXDEV || e == ELOOP)
        return fail(err, errlen, path,
                    "its path goes through a symbolic link that leaves the rootfs (refused)");
    snprintf(err, errlen, "layer entry \"%.200s\": %s: %s", path, what, strerror(e));
    return -1;
}

/* Removes lower-layer children of directory `dir` (".wh..wh..opq"). */
static int apply_opaque(int rootfd, const char *dir, const struct path_set *layer, char *err,
                        size_t errlen)
{
    int pfd = open_dir(rootfd, dir, true, 0);
    if (pfd < 0)
        return fail_errno(err, errlen, dir, "opaque whiteout");
    int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(pfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return fail_errno(err, errlen, dir, "opaque whiteout");
    }
    int rc = 0;
    struct dirent *e;
    char child[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof child, "%s%s%s", dir, *dir ? "/" : "", e->d_name);
        if (!set_has(layer, child) && lp_fs_remove_tree_at(dirfd(d), e->d_name) != 0)
            rc = fail_errno(err, errlen, child, "opaque whiteout");
    }
    closedir(d);
    return rc;
}

static int write_data(struct archive *a, int fd, const char *path, struct lp_image_unpack_stats *st,
                      char *err, size_t errlen)
{
    const void *buf;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
        st->bytes += size;
        if (st->max_bytes != 0 && st->bytes > st->max_bytes)
            return fail(err, errlen, path, "the image is larger than the unpack cap");
        const char *p = buf;
        while (size > 0) {
            ssize_t n = pwrite(fd, p, size, (off_t)offset);
            if (n <= 0)
                return fail_errno(err, errlen, path, "write");
            p += n;
            size -= (size_t)n;
            offset += n;
        }
    }
    if (r != ARCHIVE_EOF)
        return fail(err, errlen, path,
                    archive_error_string(a) ? archive_error_string(a) : "unreadable data");
    /* Sparse files end in a hole libarchive reports only through the entry size. */
    return 0;
}

static void set_meta(int pfd, const char *base, struct archive_entry *e, mode_t mode, bool link)
{
    if (geteuid() == 0)
        (void)fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                       AT_SYMLINK_NOFOLLOW);
    if (!link)
        (void)fchmodat(pfd, base, mode, 0);
    struct timespec ts[2] = {
        {.tv_sec = archive_entry_mtime(e), .tv_nsec = 0},
        {.tv_sec = archive_entry_mtime(e), .tv_nsec = 0},
    };
    (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
}

static int apply_entry(int rootfd, struct archive *a, struct archive_entry *e, const char *path,
                       struct path_set *layer, struct lp_image_unpack_stats *st, char *err,
                       size_t errlen)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    const char *dir, *base;
    lp_image_split_path(buf, &dir, &base);

    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
        st->whiteouts++;
        if (strcmp(base, WH_OPAQUE) == 0)
            return apply_opaque(rootfd, dir, layer, err, errlen);
        if (strncmp(base, WH_PREFIX WH_PREFIX, 2 * strlen(WH_PREFIX)) == 0)
            return 0; /* aufs bookkeeping (.wh..wh.plnk and friends): no meaning here */
        const char *victim = base + strlen(WH_PREFIX);
        char vpath[PATH_MAX];
        snprintf(vpath, sizeof vpath, "%s%s%s", dir, *dir ? "/" : "", victim);
        if (set_has(layer, vpath))
            return 0;
        int pfd = open_dir(rootfd, dir, false, 0);
        if (pfd < 0)
            return errno == ENOENT ? 0 : fail_errno(err, errlen, path, "whiteout");
        int rc = lp_fs_remove_tree_at(pfd, victim);
        close(pfd);
        return rc == 0 ? 0 : fail_errno(err, errlen, path, "whiteout");
    }

    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFCHR || type == AE_IFBLK) {
        st->devices_refused++;
        return 0;
    }
    if (type == AE_IFIFO || type == AE_IFSOCK) {
        st->others_skipped++;
        return 0;
    }
    mode_t mode = archive_entry_perm(e) & 07777;
    if (mode & (S_ISUID | S_ISGID)) {
        st->setid_stripped++;
        mode &= ~(mode_t)(S_ISUID | S_ISGID);
    }

    int pfd = open_dir(rootfd, dir, true, 0);
    if (pfd < 0)
        return fail_errno(err, errlen, path, "parent directory");
    int rc = -1;
    struct stat old;
    bool exists = fstatat(pfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
    const char *hardlink = archive_entry_hardlink(e);

    if (type == AE_IFDIR && hardlink == NULL) {
        if (exists && !S_ISDIR(old.st_mode) && lp_fs_remove_tree_at(pfd, base) != 0) {
            rc = fail_errno(err, errlen, path, "replace");
            goto out;
        }
        if ((!exists || !S_ISDIR(old.st_mode)) && mkdirat(pfd, base, 0700) != 0) {
            rc = fail_errno(err, errlen, path, "mkdir");
            goto out;
        }
        /* Owner rwx always: later layers and `image rm` must be able to change it; the
         * sandbox mounts the rootfs read-only anyway. */
        set_meta(pfd, base, e, mode | 0700, false);
        rc = 0;
        goto out;
    }
    if (exists && lp_fs_remove_tree_at(pfd, base) != 0) {
        rc = fail_errno(err, errlen, path, "replace");
        goto out;
    }
    if (hardlink != NULL) {
        char target[PATH_MAX], tbuf[PATH_MAX];
        char why[256];
        if (lp_image_clean_path(hardlink, target, sizeof target, why, sizeof why) != 0) {
            rc = fail(err, errlen, path, "hard link target outside the rootfs (refused)");
            goto out;
        }
        snprintf(tbuf, sizeof tbuf, "%s", target);
        const char *tdir, *tbase;
        lp_image_split_path(tbuf, &tdir, &tbase);
        int tfd = open_dir(rootfd, tdir, false, 0);
        if (tfd < 0) {
            rc = fail_errno(err, errlen, path, "hard link target");
            goto out;
        }
        struct stat tst;
        if (fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(tst.st_mode)) {
            close(tfd);
            rc = fail(err, errlen, path, "hard link to a directory (refused)");
            goto out;
        }
        rc = linkat(tfd, tbase, pfd, base, 0);
        close(tfd);
        if (rc != 0)
            rc = fail_errno(err, errlen, path, "hard link");
        goto out;
    }
    if (type == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        /* The target is stored as written: absolute links mean the image's own root, and
         * nothing on the host ever follows them (we open with BENEATH / NOFOLLOW). */
        if (target == NULL || symlinkat(target, pfd, base) != 0) {
            rc = fail_errno(err, errlen, path, "symlink");
            goto out;
        }
        set_meta(pfd, base, e, 0, true);
        rc = 0;
        goto out;
    }
    if (type != AE_IFREG) {
        st->others_skipped++;
        rc = 0;
        goto out;
    }
    int fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = fail_errno(err, errlen, path, "create");
        goto out;
    }
    rc = write_data(a, fd, path, st, err, errlen);
    if (rc == 0 && archive_entry_size_is_set(e) && ftruncate(fd, (off_t)archive_entry_size(e)) != 0)
        rc = fail_errno(err, errlen, path, "truncate");
    close(fd);
    if (rc == 0)
        set_meta(pfd, base, e, mode, false);
out:
    close(pfd);
    return rc;
}

int lp_image_apply_layer(int rootfd, struct archive *a, struct lp_image_unpack_stats *st, char *err,
                         size_t errlen)
{
    struct path_set layer = {0};
    struct archive_entry *e;
    int rc = 0, r;
    char path[PATH_MAX];
    while (rc == 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            snprintf(err, errlen, "layer is not a readable tar: %s",
                     archive_error_string(a) ? archive_error_string(a) : "unknown error");
            rc = -1;
            break;
        }
        const char *name = archive_entry_pathname(e);
        int c = lp_image_clean_path(name, path, sizeof path, err, errlen);
        if (c < 0) {
            rc = -1;
            break;
        }
        if (c == 1)
            continue;
        rc = apply_entry(rootfd, a, e, path, &layer, st, err, errlen);
        if (rc == 0) {
            st->entries++;
            if (set_add(&layer, path) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
        }
    }
    set_free(&layer);
    return rc;
}
