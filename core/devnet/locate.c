/* Finding a running devnet, or starting one in the background. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "devnet/devnet.h"
#include "util/data_home.h"

int lp_devnet_default_dir(char *out, size_t len)
{
    return lp_data_home_path("devnet", out, len);
}

static size_t discard(void *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;
}

bool lp_devnet_healthy(const char *url, long timeout_ms)
{
    char full[128];
    snprintf(full, sizeof full, "%s/healthz", url);
    CURL *h = curl_easy_init();
    if (!h)
        return false;
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    bool ok = curl_easy_perform(h) == CURLE_OK &&
              curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200;
    curl_easy_cleanup(h);
    return ok;
}

int lp_devnet_find(const char *dir, struct lp_devnet_info *info, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/devnet.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        return 1; /* no file, or one being written: nothing usable is running */
    json_int_t pid = json_integer_value(json_object_get(j, "pid"));
    json_int_t port = json_integer_value(json_object_get(j, "port"));
    const char *url = json_string_value(json_object_get(j, "url"));
    int rc = 1;
    if (pid > 0 && port > 0 && port < 65536 && url && strlen(url) < sizeof info->url &&
        (kill((pid_t)pid, 0) == 0 || errno == EPERM) && lp_devnet_healthy(url, 2000)) {
        info->pid = (pid_t)pid;
        info->port = (uint16_t)port;
        snprintf(info->url, sizeof info->url, "%s", url);
        rc = 0;
    }
    json_decref(j);
    (void)err;
    (void)errlen;
    return rc;
}

static void tail_log(const char *log, char *err, size_t errlen)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, f))
        if (line[0] != '\n')
            memcpy(last, line, sizeof line);
    fclose(f);
    last[strcspn(last, "\n")] = '\0';
    size_t n = strlen(err);
    if (last[0] && n + 4 < errlen)
        snprintf(err + n, errlen - n, ": %s", last);
}

static pid_t spawn(const char *exe, const char *dir, const char *log, char *err, size_t errlen)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "devnet log %s: %s", log, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the devnet: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (pid == 0) {
        /* A daemon: its own session (no terminal signals from the user's shell), no stdin,
         * output to the log. The double fork leaves it to init, so no zombie stays behind. */
        setsid();
        if (fork() != 0)
            _exit(0);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(exe, exe, "devnet", "--dir", dir, (char *)NULL);
        fprintf(stderr, "lilypad: cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(fd);
    int status;
    waitpid(pid, &status, 0);
    return pid;
}

int lp_devnet_ensure(const char *exe, const char *dir, unsigned wait_s, struct lp_devnet_info *info,
                     bool *started, char *err, size_t errlen)
{
    *started = false;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "devnet folder %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = lp_devnet_find(dir, info, err, errlen);
    if (rc <= 0)
        return rc;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/start.lock", dir);
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (lock >= 0)
            close(lock);
        return -1;
    }
    /* Someone else may have started it while we waited for the lock. */
    rc = lp_devnet_find(dir, info, err, errlen);
    if (rc == 1) {
        char log[PATH_MAX];
        snprintf(log, sizeof log, "%s/devnet.log", dir);
        if (spawn(exe, dir, log, err, errlen) < 0) {
            rc = -1;
        } else {
            *started = true;
            rc = -1;
            struct timespec ts = {0, 50 * 1000 * 1000};
            for (unsigned i = 0; i < wait_s * 20; i++) {
                nanosleep(&ts, NULL);
                if (lp_devnet_find(dir, info, err, errlen) == 0) {
                    rc = 0;
                    break;
                }
            }
            if (rc != 0) {
                snprintf(err, errlen, "the devnet did not start within %us (see %s)", wait_s, log);
                tail_log(log, err, errlen);
            }
        }
    }
    flock(lock, LOCK_UN);
    close(lock);
    return rc;
}
