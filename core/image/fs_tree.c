#include "image/fs_tree.h"

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

/* Deep trees are walked with one open directory per level; images nest far less than this. */
#define MAX_DEPTH 256

static int empty_dir(int fd, int depth);

/* Calls fn for every entry of the directory fd but "." and "..". Stops at the first failure
 * unless keep_going (removal carries on past an entry it cannot delete); -1 if any call failed.
 * The one directory walk the removal, copy and usage code share. */
static int each_entry(int fd, bool keep_going, int (*fn)(int fd, const char *name, void *arg),
                      void *arg)
{
    int dupfd = dup(fd);
    if (dupfd < 0)
        return -1;
    DIR *d = fdopendir(dupfd);
    if (d == NULL) {
        close(dupfd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((keep_going || rc == 0) && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fn(fd, e->d_name, arg) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int remove_entry(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    if (depth > MAX_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    /* A directory we cannot list (mode 0000 from an image) must still go. */
    (void)fchmod(fd, 0700);
    int rc = empty_dir(fd, depth + 1);
    close(fd);
    if (rc != 0)
        return -1;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

static int remove_cb(int fd, const char *name, void *arg)
{
    return remove_entry(fd, name, *(const int *)arg);
}

static int empty_dir(int fd, int depth)
{
    return each_entry(fd, true, remove_cb, &depth);
}

int lp_fs_remove_tree_at(int dirfd, const char *name)
{
    return remove_entry(dirfd, name, 0);
}

int lp_fs_remove_tree(const char *path)
{
    return remove_entry(AT_FDCWD, path, 0);
}

int lp_fs_empty_dir_at(int dirfd)
{
    return empty_dir(dirfd, 0);
}

int lp_fs_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int copy_file(int sfd, int dfd, off_t size)
{
    off_t left = size;
    while (left > 0) {
        ssize_t n = copy_file_range(sfd, NULL, dfd, NULL, (size_t)left, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            /* Old kernels and some file systems: plain read/write. */
            char buf[65536];
            ssize_t r;
            while ((r = read(sfd, buf, sizeof buf)) > 0)
                if (write(dfd, buf, (size_t)r) != r)
                    return -1;
            return r < 0 ? -1 : 0;
        }
        if (n <= 0)
            return n == 0 ? 0 : -1;
        left -= n;
    }
    return 0;
}

static int copy_dir(int sdir, int ddir, int depth);

static int copy_one(int sdir, int ddir, const char *name, int depth)
{
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    bool root = geteuid() == 0;
    mode_t mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
        if (depth > MAX_DEPTH) {
            errno = ELOOP;
            return -1;
        }
        if (mkdirat(ddir, name, 0700) != 0)
            return -1;
        int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int rc = (s < 0 || d < 0) ? -1 : copy_dir(s, d, depth + 1);
        if (rc == 0 && root)
            rc = fchown(d, st.st_uid, st.st_gid);
        if (rc == 0)
            rc = fchmod(d, mode);
        if (s >= 0)
            close(s);
        if (d >= 0)
            close(d);
        return rc;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
        if (n < 0)
            return -1;
        target[n] = '\0';
        if (symlinkat(target, ddir, name) != 0)
            return -1;
        if (root)
            (void)fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    int s = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0)
        return -1;
    int d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int rc = d < 0 ? -1 : copy_file(s, d, st.st_size);
    if (rc == 0 && root)
        rc = fchown(d, st.st_uid, st.st_gid);
    if (rc == 0)
        rc = fchmod(d, mode);
    close(s);
    if (d >= 0)
        close(d);
    return rc;
}

struct copy_ctx {
    int ddir, depth;
};

static int copy_cb(int sdir, const char *name, void *arg)
{
    const struct copy_ctx *c = arg;
    return copy_one(sdir, c->ddir, name, c->depth);
}

static int copy_dir(int sdir, int ddir, int depth)
{
    struct copy_ctx c = {ddir, depth};
    return each_entry(sdir, false, copy_cb, &c);
}

int lp_fs_copy_tree(const char *src, const char *dst)
{
    struct stat st;
    if (stat(src, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if (mkdir(dst, 0700) != 0)
        return -1;
    int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int d = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = (s < 0 || d < 0) ? -1 : copy_dir(s, d, 0);
    if (rc == 0)
        rc = fchmod(d, st.st_mode & 07777);
    if (s >= 0)
        close(s);
    if (d >= 0)
        close(d);
    return rc;
}

struct usage_ctx {
    uint64_t *bytes, *entries;
    int depth;
};

static int usage_dir(int fd, uint64_t *bytes, uint64_t *entries, int depth);

static int usage_cb(int fd, const char *name, void *arg)
{
    const struct usage_ctx *c = arg;
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0; /* removed while we looked: not ours to count */
    (*c->entries)++;
    if (S_ISREG(st.st_mode)) {
        *c->bytes += (uint64_t)st.st_size;
    } else if (S_ISDIR(st.st_mode)) {
        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            int rc = usage_dir(sub, c->bytes, c->entries, c->depth + 1);
            close(sub);
            return rc;
        }
    }
    return 0;
}

static int usage_dir(int fd, uint64_t *bytes, uint64_t *entries, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    struct usage_ctx c = {bytes, entries, depth};
    return each_entry(fd, false, usage_cb, &c);
}

int lp_fs_tree_usage(const char *path, uint64_t *bytes, uint64_t *entries)
{
    *bytes = 0;
    *entries = 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = usage_dir(fd, bytes, entries, 0);
    close(fd);
    return rc;
}
