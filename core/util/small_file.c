/* Bounded, non-blocking reads of small user-named files (see small_file.h for why). */
#include "util/small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a named pipe (FIFO)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* 0 when st is a regular file of at most cap bytes; -1 with the reason in err. */
static int check_stat(const char *path, const struct stat *st, size_t cap, const char *what,
                      char *err, size_t errlen)
{
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: is %s; %s must be a regular file", path, kind_of(st->st_mode),
                 what);
        return -1;
    }
    if ((unsigned long long)st->st_size > cap) {
        snprintf(err, errlen, "%s: %lld bytes is too large for %s (at most %zu)", path,
                 (long long)st->st_size, what, cap);
        return -1;
    }
    return 0;
}

char *lp_small_file_read(const char *path, size_t cap, const char *what, size_t *len, mode_t *mode,
                         char *err, size_t errlen)
{
    struct stat st;
    size_t got = 0;
    char *buf = NULL;

    /* stat first, so a device is never even opened; the fstat below closes the race with a
     * file swapped in between. */
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (check_stat(path, &st, cap, what, err, errlen) != 0)
        return NULL;
    /* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer. It changes nothing
     * for a regular file, the only kind read below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (check_stat(path, &st, cap, what, err, errlen) != 0)
        goto fail;
    buf = malloc(cap + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    /* st_size may be stale (the file grows, or /proc says 0): the read itself is bounded too. */
    for (;;) {
        ssize_t n = read(fd, buf + got, cap + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > cap) {
            snprintf(err, errlen, "%s: larger than %zu bytes, too large for %s", path, cap, what);
            goto fail;
        }
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    if (mode != NULL)
        *mode = st.st_mode;
    return buf;
fail:
    lp_small_file_free(buf, got);
    close(fd);
    return NULL;
}

void lp_small_file_free(char *data, size_t len)
{
    if (data == NULL)
        return;
    explicit_bzero(data, len);
    free(data);
}
