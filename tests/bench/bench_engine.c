/* Overhead of a trivial container through executor/docker against the engine's own client, on
 * the same daemon and image, interleaved round by round (the order alternates, so neither side
 * always runs on a warmer daemon):
 *   ours exited    submit() until wait() says EXITED (create, start, wait, inspect)
 *   ours released  the same plus release() (the container removed)
 *   docker run     `docker run --rm --network none IMAGE /bin/true` until the CLI exits (create,
 *                  attach, start, wait, remove, plus the CLI's own start-up)
 * `docker run --rm` removes its container before it exits, so "ours released" is the like for
 * like column; "ours exited" is when a provider has the job's exit status.
 *
 * Usage: bench_engine --socket PATH [--image IMAGE] [--rounds N] [--docker PATH]
 *        bench_engine --start docker|podman [--rounds N]
 * --start runs the test suite's daemon script (tests/peer/docker) for a private dockerd or
 * podman service under a temporary folder, with the busybox-static image it imports, and
 * stops it at the end. The docker CLI talks to podman's Docker-compatible API too. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/executor.h>

#include "config/config.h"
#include "dispatch/executor.h"
#include "image/fs_tree.h"
#include "loader/backend.h"

extern char **environ;

#define MAX_ROUNDS 1000

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Runs argv, output discarded; its exit status, or -1. */
static int run_quiet(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct ours {
    struct lp_config *cfg;
    struct lp_backend *b;
    char dir[64];
};

/* One job through the plugin: *exited_ms until EXITED, *released_ms until released. */
static int run_ours(struct ours *o, const char *image, int round, double *exited_ms,
                    double *released_ms)
{
    char in[128], out[128];
    snprintf(in, sizeof in, "%s/r%d/in", o->dir, round);
    snprintf(out, sizeof out, "%s/r%d/out", o->dir, round);
    if (lp_fs_mkdir_p(in, 0755) != 0 || lp_fs_mkdir_p(out, 0777) != 0)
        return -1;
    const char *argv[] = {"/bin/true"};
    struct lp_job_spec spec = {.struct_size = sizeof spec,
                               .image = image,
                               .entrypoint = argv,
                               .entrypoint_count = 1,
                               .owner = "0x00000000000000000000000000000000000000be",
                               .job_id = "0xbench"};
    struct lp_job_limits limits = {.struct_size = sizeof limits, .timeout_ms = 60000};
    struct lp_job_handle h;
    struct lp_job_status st;
    struct lp_plugin_error pe;
    double t0 = now_ms();
    if (lp_executor_submit(o->b, &spec, in, out, &limits, &h, &pe) != LP_OK) {
        fprintf(stderr, "bench_engine: submit: %s\n", pe.message);
        return -1;
    }
    if (lp_executor_wait(o->b, &h, 60000, &st, &pe) != LP_OK || st.state != LP_JOB_EXITED ||
        st.exit_code != 0) {
        fprintf(stderr, "bench_engine: the job did not exit 0: %s %s\n", pe.message, st.message);
        return -1;
    }
    *exited_ms = now_ms() - t0;
    if (lp_executor_release(o->b, &h, &pe) != LP_OK) {
        fprintf(stderr, "bench_engine: release: %s\n", pe.message);
        return -1;
    }
    *released_ms = now_ms() - t0;
    return 0;
}

static int run_cli(const char *docker, const char *host, const char *image, double *ms)
{
    char *argv[] = {(char *)docker, "-H",   (char *)host,  "run",       "--rm",
                    "--network",    "none", (char *)image, "/bin/true", NULL};
    double t0 = now_ms();
    int rc = run_quiet(argv);
    *ms = now_ms() - t0;
    if (rc != 0)
        fprintf(stderr, "bench_engine: %s run exited with %d\n", docker, rc);
    return rc == 0 ? 0 : -1;
}

static void row(const char *name, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf("%-16s %8.1f %8.1f %8.1f %8.1f %8.1f\n", name, v[n / 2], v[n / 10], v[(n * 9) / 10],
           v[(n * 3) / 4] - v[n / 4], sum / n);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_engine --socket PATH [--image IMAGE] [--rounds N] [--docker "
                    "PATH]\n       bench_engine --start docker|podman [--rounds N]\n");
}

int main(int argc, char **argv)
{
    const char *socket = NULL, *image = "lilypad-test/busybox:1", *docker = "docker", *start = NULL;
    int rounds = 30;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        if (strcmp(argv[i], "--socket") == 0)
            socket = argv[++i];
        else if (strcmp(argv[i], "--image") == 0)
            image = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--docker") == 0)
            docker = argv[++i];
        else if (strcmp(argv[i], "--start") == 0)
            start = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    if ((socket == NULL) == (start == NULL) || rounds < 1 || rounds > MAX_ROUNDS ||
        (start && strcmp(start, "docker") != 0 && strcmp(start, "podman") != 0)) {
        usage();
        return 2;
    }
    struct ours o = {.cfg = NULL};
    snprintf(o.dir, sizeof o.dir, "/tmp/lp-bench-engine-XXXXXX");
    if (mkdtemp(o.dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char script[1024], daemon_dir[128], sock_path[256];
    if (start) {
        snprintf(script, sizeof script, "%s/tests/peer/docker/%s.sh", LP_SOURCE_DIR,
                 strcmp(start, "docker") == 0 ? "dockerd" : "podman");
        snprintf(daemon_dir, sizeof daemon_dir, "%s/daemon", o.dir);
        char *sargv[] = {"bash", script, "start", daemon_dir, NULL};
        if (run_quiet(sargv) != 0) {
            fprintf(stderr, "bench_engine: %s start %s failed (see %s)\n", script, daemon_dir,
                    daemon_dir);
            return 1;
        }
        snprintf(sock_path, sizeof sock_path, "%s/%s.sock", daemon_dir, start);
        socket = sock_path;
    }
    char text[1024], err[1024], host[300];
    snprintf(text, sizeof text,
             "executor: { backend = \"docker\"; docker: { socket = \"%s\"; }; };", socket);
    snprintf(host, sizeof host, "unix://%s", socket);
    lp_loader_set_cli_path(LP_BINARY_DIR "/lib/lilypad/plugins");
    int status = 1;
    if (lp_config_load_string(text, "bench", &o.cfg, err, sizeof err) != 0 ||
        lp_backend_open(o.cfg, "executor", "docker", &o.b, err, sizeof err) != 0) {
        fprintf(stderr, "bench_engine: %s\n", err);
        goto out;
    }
    struct lp_executor_info info;
    struct lp_plugin_error pe;
    if (lp_executor_describe(o.b, &info, &pe) != LP_OK) {
        fprintf(stderr, "bench_engine: %s\n", pe.message);
        goto out;
    }
    static double exited[MAX_ROUNDS], released[MAX_ROUNDS], cli[MAX_ROUNDS];
    double warm_a, warm_b;
    /* One of each first: the image's layers and the CLI binary in the page cache. */
    if (run_ours(&o, image, -1, &warm_a, &warm_b) != 0 || run_cli(docker, host, image, &warm_a))
        goto out;
    for (int r = 0; r < rounds; r++) {
        bool cli_first = r % 2 == 1;
        if (cli_first && run_cli(docker, host, image, &cli[r]) != 0)
            goto out;
        if (run_ours(&o, image, r, &exited[r], &released[r]) != 0)
            goto out;
        if (!cli_first && run_cli(docker, host, image, &cli[r]) != 0)
            goto out;
    }
    printf("engine: %s, image %s, %d rounds interleaved\n", info.runtime, image, rounds);
    printf("%-16s %8s %8s %8s %8s %8s   (ms)\n", "", "median", "p10", "p90", "IQR", "mean");
    row("ours exited", exited, rounds);
    row("ours released", released, rounds);
    row("docker run --rm", cli, rounds);
    status = 0;
out:
    lp_backend_close(o.b);
    lp_config_free(o.cfg);
    if (start) {
        char *sargv[] = {"bash", script, "stop", daemon_dir, NULL};
        run_quiet(sargv);
    }
    lp_fs_remove_tree(o.dir);
    return status;
}
