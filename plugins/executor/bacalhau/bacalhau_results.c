/* executor/bacalhau: a job's results. Bacalhau's local publisher serves each execution's
 * results as a tar.gz (the files stdout, stderr and exitCode, and one folder per result path,
 * here outputs/) from the compute node; this downloads it with libcurl and unpacks it with
 * libarchive into the job's outputs folder, refusing whatever would land outside it. */
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
#include <curl/curl.h>

#include "bacalhau.h"

/* A tarball with more entries than this is an attack on the provider's inodes, not a result. */
#define MAX_ENTRIES 100000
#define MAX_DEPTH   64

int bac_results_rewrite_host(const char *url, const char *api_base, char *out, size_t cap,
                             char *why, size_t why_len)
{
    int rc = -1;
    char *host = NULL, *text = NULL;
    CURLU *api = curl_url(), *u = curl_url();
    if (api == NULL || u == NULL) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        snprintf(why, why_len, "result URL \"%.120s\" does not parse", url);
        goto out;
    }
    if (curl_url_set(api, CURLUPART_URL, api_base, 0) != CURLUE_OK ||
        curl_url_get(api, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, why_len, "api \"%.120s\" has no host", api_base);
        goto out;
    }
    if (curl_url_set(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &text, 0) != CURLUE_OK) {
        snprintf(why, why_len, "cannot put the api's host into the result URL");
        goto out;
    }
    if (strlen(text) >= cap) {
        snprintf(why, why_len, "result URL too long");
        goto out;
    }
    snprintf(out, cap, "%s", text);
    rc = 0;
out:
    curl_free(host);
    curl_free(text);
    curl_url_cleanup(api);
    curl_url_cleanup(u);
    return rc;
}

/* ---- download ------------------------------------------------------------------------------ */
struct file_sink {
    int fd;
    uint64_t written, cap;
    bool too_big, write_failed;
};

static size_t file_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct file_sink *s = arg;
    size_t n = size * nmemb;
    if (s->written + n > s->cap) {
        s->too_big = true;
        return 0;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(s->fd, ptr + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->write_failed = true;
            return 0;
        }
        done += (size_t)w;
    }
    s->written += n;
    return n;
}

static int download(const struct bac_api *api, const char *url, int fd, uint64_t cap, char *why,
                    size_t why_len)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(why, why_len, "cannot make a curl handle");
        return -1;
    }
    struct file_sink s = {.fd = fd, .cap = cap};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    /* A results URL comes from the cluster: never let it name file:// or another scheme, and
     * never send the API token along (the local publisher's server takes none, and the URL's
     * host may not be the API's). */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* A large result takes as long as it takes; a stalled one gives up after a minute. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, file_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK)
        return 0;
    if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, why_len, "results larger than the %llu-byte cap", (unsigned long long)cap);
    else if (s.write_failed)
        snprintf(why, why_len, "writing the downloaded results: %s", strerror(errno));
    else
        snprintf(why, why_len, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    bac_api_scrub(api, why);
    return -1;
}

/* ---- unpacking ------------------------------------------------------------------------------
 * By hand rather than with archive_write_disk: its safety checks (no "..", no absolute path,
 * no writing through links) judge a path against the process's working directory, and the
 * only way to aim them at the outputs folder is chdir(), which would move every thread of the
 * provider. Here every entry is created relative to a descriptor of the outputs folder, one
 * component at a time, never following a link. */

struct unpack {
    int root; /* descriptor of the outputs folder */
    uint64_t max_bytes, bytes;
    unsigned long entries;
    struct bac_results *res;
    char *why;
    size_t why_len;
};

/* Splits path into its components, skipping "" and "."; -1 for "..", too many components. */
static int split(char *path, char **parts, int max)
{
    int n = 0;
    for (char *save = NULL, *p = strtok_r(path, "/", &save); p != NULL;
         p = strtok_r(NULL, "/", &save)) {
        if (strcmp(p, ".") == 0)
            continue;
        if (strcmp(p, "..") == 0 || n == max)
            return -1;
        parts[n++] = p;
    }
    return n;
}

/* Opens (making as needed) the folders parts[0..count) under root; -1 with errno when one is a
 * link or not a folder. */
static int open_dirs(int root, char **parts, int count)
{
    int fd = dup(root);
    for (int i = 0; fd >= 0 && i < count; i++) {
        if (mkdirat(fd, parts[i], 0755) != 0 && errno != EEXIST) {
            close(fd);
            return -1;
        }
        int next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
    }
    return fd;
}

/* A link at depth `depth` below the outputs folder (its folder's component count) to target:
 * does it stay inside? Judged on the text alone, as the folders it names may come later. */
static bool link_stays_inside(const char *target, int depth)
{
    if (target[0] == '/' || target[0] == '\0')
        return false;
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", target);
    for (char *save = NULL, *p = strtok_r(copy, "/", &save); p != NULL;
         p = strtok_r(NULL, "/", &save)) {
        if (strcmp(p, "..") == 0) {
            if (--depth < 0)
                return false;
        } else if (strcmp(p, ".") != 0) {
            depth++;
        }
    }
    return true;
}

static int refuse(struct unpack *u, const char *name, const char *reason)
{
    snprintf(u->why, u->why_len, "results entry \"%.120s\" refused: %s", name, reason);
    return -1;
}

/* Copies the entry's data to fd (or to memory when fd < 0), counting against the cap. */
static int copy_data(struct unpack *u, struct archive *a, const char *name, int fd, char **mem,
                     size_t *mem_len)
{
    char buf[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0) {
            snprintf(u->why, u->why_len, "results entry \"%.120s\": %s", name,
                     archive_error_string(a) ? archive_error_string(a) : "read error");
            return -1;
        }
        u->bytes += (uint64_t)n;
        if (u->max_bytes > 0 && u->bytes > u->max_bytes) {
            snprintf(u->why, u->why_len, "results are larger than the %llu-byte cap",
                     (unsigned long long)u->max_bytes);
            return -1;
        }
        if (fd >= 0) {
            for (la_ssize_t done = 0; done < n;) {
                ssize_t w = write(fd, buf + done, (size_t)(n - done));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    snprintf(u->why, u->why_len, "writing \"%.120s\": %s", name, strerror(errno));
                    return -1;
                }
                done += w;
            }
        } else {
            char *m = realloc(*mem, *mem_len + (size_t)n + 1);
            if (m == NULL) {
                snprintf(u->why, u->why_len, "out of memory reading \"%.120s\"", name);
                return -1;
            }
            memcpy(m + *mem_len, buf, (size_t)n);
            *mem_len += (size_t)n;
            m[*mem_len] = '\0';
            *mem = m;
        }
    }
}

/* stdout, stderr, exitCode: the job's streams and status as the node recorded them. */
static int take_top_file(struct unpack *u, struct archive *a, struct archive_entry *e,
                         const char *name)
{
    if (archive_entry_filetype(e) != AE_IFREG)
        return archive_read_data_skip(a) == ARCHIVE_OK ? 0 : -1;
    char *text = NULL;
    size_t len = 0;
    if (copy_data(u, a, name, -1, &text, &len) != 0) {
        free(text);
        return -1;
    }
    struct bac_results *r = u->res;
    if (strcmp(name, "stdout") == 0) {
        free(r->stdout_text);
        r->stdout_text = text;
        r->stdout_len = len;
    } else if (strcmp(name, "stderr") == 0) {
        free(r->stderr_text);
        r->stderr_text = text;
        r->stderr_len = len;
    } else {
        char *end = NULL;
        long code = text ? strtol(text, &end, 10) : 0;
        if (text != NULL && end != text && code >= -2147483647L && code <= 2147483647L) {
            r->has_exit_code = true;
            r->exit_code = (int)code;
        }
        free(text);
    }
    return 0;
}

static int unpack_entry(struct unpack *u, struct archive *a, struct archive_entry *e)
{
    const char *raw = archive_entry_pathname(e);
    if (raw == NULL)
        return refuse(u, "(no name)", "entry without a name");
    if (raw[0] == '/')
        return refuse(u, raw, "absolute path");
    char path[PATH_MAX];
    if (strlen(raw) >= sizeof path)
        return refuse(u, raw, "path too long");
    snprintf(path, sizeof path, "%s", raw);
    char *parts[MAX_DEPTH + 1];
    int n = split(path, parts, MAX_DEPTH + 1);
    if (n < 0)
        return refuse(u, raw, "path has a \"..\" component or is too deep");
    if (n == 0)
        return archive_read_data_skip(a) == ARCHIVE_OK ? 0 : -1;
    if (n == 1 && (strcmp(parts[0], "stdout") == 0 || strcmp(parts[0], "stderr") == 0 ||
                   strcmp(parts[0], "exitCode") == 0))
        return take_top_file(u, a, e, parts[0]);
    if (strcmp(parts[0], "outputs") != 0 || n == 1)
        return archive_read_data_skip(a) == ARCHIVE_OK ? 0 : -1; /* another result path */
    char **rel = parts + 1;
    int depth = n - 1;
    if (archive_entry_hardlink(e) != NULL)
        return refuse(u, raw, "hard link");
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
        int fd = open_dirs(u->root, rel, depth);
        if (fd < 0)
            return refuse(u, raw, "path goes through a link or a file");
        close(fd);
        return 0;
    }
    if (type != AE_IFREG && type != AE_IFLNK)
        return refuse(u, raw, "device, FIFO or socket");
    int dir = open_dirs(u->root, rel, depth - 1);
    if (dir < 0)
        return refuse(u, raw, "path goes through a link or a file");
    const char *leaf = rel[depth - 1];
    int rc = 0;
    if (type == AE_IFLNK) {
        const char *target = archive_entry_symlink(e);
        if (target == NULL || !link_stays_inside(target, depth - 1))
            rc = refuse(u, raw, "symbolic link pointing outside the outputs folder");
        else if (symlinkat(target, dir, leaf) != 0)
            rc = refuse(u, raw, strerror(errno));
    } else {
        if (u->max_bytes > 0 && archive_entry_size_is_set(e) &&
            (uint64_t)archive_entry_size(e) > u->max_bytes - u->bytes)
            rc = refuse(u, raw, "larger than what is left of the results cap");
        else {
            mode_t mode = (archive_entry_perm(e) & 0755) | 0600;
            int fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
            if (fd < 0)
                rc =
                    refuse(u, raw, errno == ELOOP ? "would write through a link" : strerror(errno));
            else {
                rc = copy_data(u, a, raw, fd, NULL, NULL);
                if (close(fd) != 0 && rc == 0)
                    rc = refuse(u, raw, strerror(errno));
                if (rc == 0)
                    u->res->files++;
            }
        }
    }
    close(dir);
    return rc;
}

int bac_results_unpack_fd(int fd, const char *outputs_dir, uint64_t max_bytes,
                          struct bac_results *res, char *why, size_t why_len)
{
    struct unpack u = {.max_bytes = max_bytes, .res = res, .why = why, .why_len = why_len};
    if (why_len > 0)
        why[0] = '\0';
    if (mkdir(outputs_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "outputs folder %s: %s", outputs_dir, strerror(errno));
        return -1;
    }
    u.root = open(outputs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (u.root < 0) {
        snprintf(why, why_len, "outputs folder %s: %s", outputs_dir, strerror(errno));
        return -1;
    }
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_tar(a);
    int rc = -1;
    if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
        snprintf(why, why_len, "results are not a tar.gz: %s",
                 archive_error_string(a) ? archive_error_string(a) : "unreadable");
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            snprintf(why, why_len, "results tarball is damaged: %s",
                     archive_error_string(a) ? archive_error_string(a) : "unreadable");
            goto out;
        }
        if (++u.entries > MAX_ENTRIES) {
            snprintf(why, why_len, "results hold more than %d entries", MAX_ENTRIES);
            goto out;
        }
        if (unpack_entry(&u, a, e) != 0) {
            if (why[0] == '\0')
                snprintf(why, why_len, "results tarball: %s",
                         archive_error_string(a) ? archive_error_string(a) : "read error");
            goto out;
        }
    }
    res->bytes = u.bytes;
    rc = 0;
out:
    archive_read_free(a);
    close(u.root);
    return rc;
}

int bac_results_fetch(const struct bac_api *api, const char *url, const char *outputs_dir,
                      uint64_t max_bytes, struct bac_results *res, char *why, size_t why_len)
{
    memset(res, 0, sizeof *res);
    why[0] = '\0';
    if (mkdir(outputs_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "outputs folder %s: %s", outputs_dir, strerror(errno));
        return -1;
    }
    /* The tarball waits on the outputs folder's disk, which the provider sized for results,
     * in a file unlinked at once so that nothing is left behind on any path out. */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.bacalhau-results-XXXXXX", outputs_dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "temporary file in %s: %s", outputs_dir, strerror(errno));
        return -1;
    }
    unlink(tmp);
    /* gzip compresses; a tarball still carries headers: leave room for both. */
    uint64_t cap = max_bytes > 0 ? max_bytes + max_bytes / 8 + (UINT64_C(1) << 20) : 0;
    int rc = download(api, url, fd, cap > 0 ? cap : UINT64_MAX / 2, why, why_len);
    if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(why, why_len, "rewinding the downloaded results: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = bac_results_unpack_fd(fd, outputs_dir, max_bytes, res, why, why_len);
    close(fd);
    if (rc != 0)
        bac_results_free(res);
    return rc;
}

void bac_results_free(struct bac_results *res)
{
    free(res->stdout_text);
    free(res->stderr_text);
    res->stdout_text = res->stderr_text = NULL;
    res->stdout_len = res->stderr_len = 0;
}
