/* Provider footprint (target: idle RSS < 20 MB, start-up with all plugins < 50 ms).
 * An in-process solver on 127.0.0.1; `lilypad provider -c FILE` runs as a child with the
 * embedded plugins (executor/process, storage/local, verifier/ledger, hashrate/cpu):
 *   open     lp_provider_open in this process: settings, key, journal, probe, four plugins
 *            loaded, configured, probed, created and started (median of 20)
 *   offer    exec of the child until its first resource offer is open at the solver
 *   idle RSS the child's VmRSS after 3 s of idling (event long-poll), mining off and on
 *   stop     SIGTERM until the child exited (offers withdrawn, journal closed)
 * Usage: bench_provider [path/to/lilypad] (default: ../bin/lilypad next to this program). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "crypto/keyfile.h"
#include "image/fs_tree.h"
#include "provider/provider.h"
#include "solver/http.h"
#include "solver/solver.h"

static char tmp[64], url[64], lilypad[1024];
static struct lp_solver *solver;

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

static int make_config(char *path, size_t cap, int n, int duty)
{
    char key_path[128], err[256];
    snprintf(key_path, sizeof key_path, "%s/p%d.key", tmp, n);
    struct lp_key key;
    lp_key_generate(&key);
    if (lp_keyfile_write_hex(key_path, &key, true, err, sizeof err) != 0)
        return -1;
    snprintf(path, cap, "%s/p%d.cfg", tmp, n);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "gpu = \"none\";\n"
            "hashrate: { backend = \"cpu\"; };\n"
            "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/jobs\"; }; };\n"
            "storage: { local: { root = \"%s/storage\"; }; };\n"
            "verifier: { ledger: { path = \"%s/ledger%d.sqlite\"; }; };\n"
            "provider: { solver = \"%s\"; key = \"%s\"; work_dir = \"%s/work%d\"; cpu = 1000;\n"
            "  ram = \"1G\"; disk = \"1G\"; poll_wait = \"2s\"; mining_duty = %d; };\n",
            tmp, tmp, tmp, tmp, n, url, key_path, tmp, n, duty);
    fclose(f);
    return 0;
}

static long rss_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, field, strlen(field)) == 0)
            v = strtol(line + strlen(field) + 1, NULL, 10);
    }
    if (f)
        fclose(f);
    return v;
}

struct child_run {
    double offer_ms, stop_ms;
    long rss_kib, hwm_kib;
};

static int run_child(int n, int duty, struct child_run *out)
{
    char cfg[256];
    if (make_config(cfg, sizeof cfg, n, duty) != 0)
        return -1;
    struct lp_solver_metrics m0, m;
    lp_solver_get_metrics(solver, &m0);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(lilypad, lilypad, "provider", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    out->offer_ms = -1;
    while (now_ms() - t0 < 10000) {
        lp_solver_get_metrics(solver, &m);
        if (m.resource_offers > m0.resource_offers) {
            out->offer_ms = now_ms() - t0;
            break;
        }
        usleep(200);
    }
    sleep(3);
    out->rss_kib = rss_kib(pid, "VmRSS:");
    out->hwm_kib = rss_kib(pid, "VmHWM:");
    double t1 = now_ms();
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    out->stop_ms = now_ms() - t1;
    return out->offer_ms < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        snprintf(lilypad, sizeof lilypad, "%s", argv[1]);
    else {
        char self[900];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(lilypad, sizeof lilypad, "%s/../bin/lilypad", self);
    }
    strcpy(tmp, "/tmp/lp-bench-prov-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    struct lp_solver_config sc;
    lp_solver_config_defaults(&sc);
    sc.create_db = true; /* a new network: its database is created here */
    char db[128], files[128], err[1024];
    snprintf(db, sizeof db, "%s/solver.db", tmp);
    snprintf(files, sizeof files, "%s/files", tmp);
    mkdir(files, 0700);
    sc.db_path = db;
    sc.files_dir = files;
    struct lp_key skey;
    lp_key_generate(&skey);
    struct lp_solver_http *http = NULL;
    if (lp_solver_open(&sc, &skey, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0) {
        fprintf(stderr, "bench_provider: solver: %s\n", err);
        return 1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lp_solver_http_port(http));

    /* In-process open: everything up to the first request. */
    enum { OPENS = 20 };
    double open_ms[OPENS];
    for (int i = 0; i < OPENS; i++) {
        char cfg_path[256];
        struct lp_config *cfg = NULL;
        struct lp_provider *p = NULL;
        if (make_config(cfg_path, sizeof cfg_path, 100 + i, 0) != 0 ||
            lp_config_load_file(cfg_path, &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "bench_provider: config: %s\n", err);
            return 1;
        }
        double t0 = now_ms();
        if (lp_provider_open(cfg, NULL, &p, err, sizeof err) != 0) {
            fprintf(stderr, "bench_provider: open: %s\n", err);
            return 1;
        }
        open_ms[i] = now_ms() - t0;
        lp_provider_close(p);
        lp_config_free(cfg);
    }
    qsort(open_ms, OPENS, sizeof open_ms[0], cmp_d);

    struct child_run off, on;
    int rc_off = run_child(1, 0, &off);
    int rc_on = run_child(2, 10, &on);

    printf("%-44s %12s %10s\n", "provider (embedded plugins)", "value", "target");
    printf("%-44s %9.2f ms %10s\n", "lp_provider_open, median of 20", open_ms[OPENS / 2],
           "< 50 ms");
    printf("%-44s %9.2f ms %10s\n", "lp_provider_open, max of 20", open_ms[OPENS - 1], "");
    if (rc_off == 0) {
        printf("%-44s %9.2f ms %10s\n", "exec to first resource offer open", off.offer_ms, "");
        printf("%-44s %9.2f MB %10s\n", "idle RSS, mining off", off.rss_kib / 1024.0, "< 20 MB");
        printf("%-44s %9.2f MB %10s\n", "peak RSS (VmHWM), mining off", off.hwm_kib / 1024.0, "");
        printf("%-44s %9.2f ms %10s\n", "SIGTERM to exit", off.stop_ms, "");
    } else
        printf("child provider (mining off) failed: check `%s provider -c %s/p1.cfg`\n", lilypad,
               tmp);
    if (rc_on == 0)
        printf("%-44s %9.2f MB %10s\n", "idle RSS, mining 10% (cpu, 2 threads)",
               on.rss_kib / 1024.0, "< 20 MB");
    else
        printf("child provider (mining on) failed\n");
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    lp_fs_remove_tree(tmp);
    return rc_off == 0 && rc_on == 0 ? 0 : 1;
}
