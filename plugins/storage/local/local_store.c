/* The block directory and the pin set of storage/local. */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* kubo refuses blocks over 2 MiB on the network; anything larger here is not one of ours. */
#define BLOCK_MAX (2u << 20)

static atomic_uint_fast64_t tmp_counter;

static void cid_path(const struct lp_storage_local *s, const char *dir, const struct lp_cidb *cid,
                     char *out, size_t cap)
{
    char text[LP_CID_STRING_MAX];
    lp_cid_format(cid, text);
    snprintf(out, cap, "%s/%s/%s", s->root, dir, text);
}

static int mkdir_p(struct lp_storage_local *s, const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return lp_local_fail(s, LP_ERR, "cannot create %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return lp_local_fail(s, LP_ERR, "cannot create %s: %s", buf, strerror(errno));
    return LP_OK;
}

int lp_local_prepare(struct lp_storage_local *s)
{
    const char *subs[] = {"blocks", "pins", "tmp"};
    char path[PATH_MAX];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", s->root, subs[i]);
        if (mkdir_p(s, path) != LP_OK)
            return LP_ERR;
    }
    return LP_OK;
}

/* Writes data to <root>/tmp/<unique> and renames it to `final`: readers see the whole file or
 * none, and two writers of the same content simply replace one file by an identical one. */
static int write_atomic(struct lp_storage_local *s, const char *final, const uint8_t *data,
                        size_t len)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/tmp/%ld.%lu.%llu", s->root, (long)getpid(),
             (unsigned long)pthread_self(), (unsigned long long)atomic_fetch_add(&tmp_counter, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return lp_local_fail(s, LP_ERR, "cannot create %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return lp_local_fail(s, LP_ERR, "cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)n;
    }
    if (close(fd) < 0 || rename(tmp, final) < 0) {
        int e = errno;
        unlink(tmp);
        return lp_local_fail(s, LP_ERR, "cannot store %s: %s", final, strerror(e));
    }
    return LP_OK;
}

int lp_local_put_block(struct lp_storage_local *s, const struct lp_cidb *cid, const uint8_t *block,
                       size_t len)
{
    char path[PATH_MAX];
    cid_path(s, "blocks", cid, path, sizeof(path));
    struct stat st;
    /* Content-addressed: a block already there with the right size is this block (a damaged
     * one is caught by the hash check on every read). */
    if (stat(path, &st) == 0 && (size_t)st.st_size == len)
        return LP_OK;
    return write_atomic(s, path, block, len);
}

int lp_local_get_block(struct lp_storage_local *s, const struct lp_cidb *cid, uint8_t **block,
                       size_t *len)
{
    char path[PATH_MAX], text[LP_CID_STRING_MAX];
    lp_cid_format(cid, text);
    cid_path(s, "blocks", cid, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return lp_local_fail(s, LP_ERR, "block %s is missing from the store %s", text, s->root);
        return lp_local_fail(s, LP_ERR, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > BLOCK_MAX) {
        close(fd);
        return lp_local_fail(s, LP_ERR, "block %s in %s is not a block file (corrupt store)", text,
                             s->root);
    }
    size_t n = (size_t)st.st_size, off = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return lp_local_fail(s, LP_ERR, "out of memory reading block %s", text);
    }
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (off != n || !lp_cid_matches(cid, buf, n)) {
        free(buf);
        return lp_local_fail(s, LP_ERR,
                             "block %s in %s is corrupt: its content does not hash to its CID",
                             text, s->root);
    }
    *block = buf;
    *len = n;
    return LP_OK;
}

int lp_local_pin_mark(struct lp_storage_local *s, const struct lp_cidb *cid)
{
    char path[PATH_MAX];
    cid_path(s, "pins", cid, path, sizeof(path));
    if (access(path, F_OK) == 0)
        return LP_OK;
    return write_atomic(s, path, (const uint8_t *)"", 0);
}

bool lp_local_is_pinned(struct lp_storage_local *s, const struct lp_cidb *cid)
{
    char path[PATH_MAX];
    cid_path(s, "pins", cid, path, sizeof(path));
    return access(path, F_OK) == 0;
}

void lp_local_sync(struct lp_storage_local *s)
{
    int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        syncfs(fd);
        close(fd);
    }
}
