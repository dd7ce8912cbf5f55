/* A finished job's /outputs made deliverable before it is stored (provider_impl.h). A job may
 * leave anything there; what the job creator unpacks must stay inside its results folder and
 * must not block whoever reads it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provider/provider_impl.h"
#include "util/tarball.h"

#define MAX_DEPTH 256

struct clean_ctx {
    char *note;
    size_t cap, used;
    size_t dropped;
    char *err;
    size_t errlen;
};

static const char *kind_of(mode_t m)
{
    if (S_ISFIFO(m))
        return "a named pipe";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "a device";
    return "not a file, folder or link";
}

static void note_drop(struct clean_ctx *c, const char *rel, const char *why)
{
    c->dropped++;
    if (c->used + 64 >= c->cap)
        return; /* the count at the end says how many */
    int n =
        snprintf(c->note + c->used, c->cap - c->used, "%s%s (%s)", c->used ? ", " : "", rel, why);
    if (n > 0)
        c->used = c->used + (size_t)n < c->cap ? c->used + (size_t)n : c->cap - 1;
}

static int clean_dir(struct clean_ctx *c, int fd, const char *rel, int depth)
{
    if (depth > MAX_DEPTH) {
        snprintf(c->err, c->errlen, "%s: folders nested deeper than %d", rel, MAX_DEPTH);
        return -1;
    }
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        snprintf(c->err, c->errlen, "%s: %s", rel, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", rel, e->d_name) >= (int)sizeof path) {
            snprintf(c->err, c->errlen, "%s: path too long", rel);
            rc = -1;
            break;
        }
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile: nothing to deliver */
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                snprintf(c->err, c->errlen, "%s: %s", path, strerror(errno));
                rc = -1;
                break;
            }
            rc = clean_dir(c, sub, path, depth + 1);
            close(sub);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(fd, e->d_name, target, sizeof target - 1);
            target[n > 0 ? n : 0] = '\0';
            if (n < 0 || !lp_tarball_link_target_safe(target)) {
                note_drop(c, path,
                          target[0] == '/' ? "link to an absolute path" : "link through \"..\"");
                unlinkat(fd, e->d_name, 0);
            }
        } else if (!S_ISREG(st.st_mode)) {
            note_drop(c, path, kind_of(st.st_mode));
            unlinkat(fd, e->d_name, 0);
        }
    }
    closedir(d);
    return rc;
}

int lp_provider_clean_outputs(const char *outputs, char *note, size_t cap, char *err, size_t errlen)
{
    note[0] = '\0';
    int fd = open(outputs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* a job that ran nothing leaves no outputs folder to clean */
        snprintf(err, errlen, "outputs: %s", strerror(errno));
        return -1;
    }
    char list[768] = "";
    struct clean_ctx c = {.note = list, .cap = sizeof list, .err = err, .errlen = errlen};
    int rc = clean_dir(&c, fd, "outputs", 0);
    close(fd);
    if (rc == 0 && c.dropped)
        snprintf(note, cap, "%zu output%s not delivered: %s%s", c.dropped,
                 c.dropped == 1 ? "" : "s", list,
                 " (hint: leave files, folders and relative links inside /outputs)");
    return rc;
}
