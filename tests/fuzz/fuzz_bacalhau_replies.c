/* executor/bacalhau's decoders of what a Bacalhau orchestrator sends: the job with its
 * executions, the submit reply, the results list, the job list, the version and the error body,
 * all run on every input; and, for an input that looks like a tar or a gzip stream, the results
 * unpacker into a scratch folder. Beyond "never crash": decoded states stay in their enums,
 * texts stay one line, and unpacking never creates anything beside the scratch folder. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bacalhau.h"
#include "image/fs_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            abort();
}

static int count_entries(void *arg, const char *job_id, int state, const char *label)
{
    (void)label;
    size_t *n = arg;
    if (job_id == NULL || *job_id == '\0' || state < -1 || state > BAC_JOB_STOPPED)
        abort();
    (*n)++;
    return 0;
}

static char parent[64];

static void remove_parent(void)
{
    lp_fs_remove_tree(parent);
}

/* The parent holds the scratch folder and nothing else, whatever the tarball said. */
static void check_parent_alone(void)
{
    DIR *d = opendir(parent);
    if (d == NULL)
        abort();
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, "outputs") != 0)
            abort();
    closedir(d);
}

static void unpack(const uint8_t *data, size_t size)
{
    if (parent[0] == '\0') {
        snprintf(parent, sizeof parent, "/tmp/lp-fuzz-bacalhau-XXXXXX");
        if (mkdtemp(parent) == NULL)
            abort();
        atexit(remove_parent);
    }
    char outputs[128];
    snprintf(outputs, sizeof outputs, "%s/outputs", parent);
    int fd = memfd_create("results", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    struct bac_results res = {0};
    char why[512];
    if (bac_results_unpack_fd(fd, outputs, 1u << 20, &res, why, sizeof why) != 0)
        check_line(why);
    bac_results_free(&res);
    close(fd);
    check_parent_alone();
    lp_fs_remove_tree(outputs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    char why[512], text[1024];

    struct bac_job_view v;
    if (bac_decode_job(body, size, &v, why, sizeof why) == 0) {
        if (v.state < BAC_JOB_UNDEFINED || v.state > BAC_JOB_STOPPED)
            abort();
        check_line(v.state_message);
        if (v.has_exec) {
            if (v.exec.compute_state < 0 || v.exec.compute_state > BAC_EXEC_CANCELLED)
                abort();
            check_line(v.exec.compute_message);
            check_line(v.exec.error_msg);
            check_line(v.exec.id);
            /* JSON text never holds a NUL here (jansson refuses \u0000 by default) */
            if (v.exec.stdout_text != NULL && strlen(v.exec.stdout_text) != v.exec.stdout_len)
                abort();
            if (v.exec.stderr_text != NULL && strlen(v.exec.stderr_text) != v.exec.stderr_len)
                abort();
        }
        bac_job_view_free(&v);
    }
    char id[128];
    if (bac_decode_submit(body, size, id, sizeof id, why, sizeof why) == 0 &&
        strpbrk(id, "/?#% \r\n") != NULL)
        abort();
    char url[2048];
    if (bac_decode_results(body, size, url, sizeof url, why, sizeof why) == 0 && url[0] == '\0')
        abort();
    bac_decode_error(body, size, text, sizeof text);
    check_line(text);
    if (bac_decode_version(body, size, text, sizeof text) == 0)
        check_line(text);
    size_t n = 0;
    char token[256];
    bac_decode_list(body, size, "lilypad-owner", count_entries, &n, token, sizeof token, why,
                    sizeof why);

    bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    bool tar = size >= 262 && memcmp(data + 257, "ustar", 5) == 0;
    if (gzip || tar)
        unpack(data, size);
    return 0;
}
