/* Devnet overhead: submit-to-verified-result time of a trivial module (/bin/true on the
 * busybox example image, under bubblewrap) through the whole network in one process: module
 * render, signed offer, solver match, provider run (executor start + run + storage), upload and
 * signed result, download, CID verification and accept. Target: < 100 ms.
 *
 * The split comes from two clocks: the job creator's own step times (monotonic, lp_jc_timings)
 * and the solver's deal history (wall clock ms, one line per state). Then the provider's two
 * biggest parts are measured alone on the same machine: the executor running the same job
 * (submit -> exited, polled every 0.2 ms) and storage/local storing a results folder.
 *
 *   build/bench/bench_devnet [RUNS]      (default 20; needs bwrap and busybox-static)
 *
 * Throughput: `bench_devnet --parallel 1,4,16 [ROUNDS]` starts P `lilypad run --network local`
 * processes at once (the built binary next to this one, bench/../bin/lilypad) against the
 * devnet, ROUNDS times (default 3) for each P, and reports jobs/s (jobs over the wall time of
 * the round) and each job's time. Each round runs twice, interleaved: with the provider taking
 * one job at a time (max_jobs = 1, the devnet's old default) and with the devnet's default
 * (as many as the machine allows), each on a fresh devnet. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/executor.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>

#include "client/client.h"
#include "config/config.h"
#include "devnet/devnet.h"
#include "devnet/devnet_provider.h"
#include "image/store.h"
#include "jobcreator/jobcreator.h"
#include "dispatch/executor.h"
#include "dispatch/storage.h"
#include "loader/backend.h"

#define MAX_RUNS 1000

static char tmp[128];

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void row(const char *name, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    printf("| %-44s | %8.2f | %8.2f | %8.2f |\n", name, v[n / 2], sum / n,
           v[(int)((n - 1) * 0.95)]);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* The project root, from this file's path (the benchmark has no other way to find it). */
static void source_root(char *out, size_t len)
{
    snprintf(out, len, "%s", __FILE__);
    for (int i = 0; i < 3; i++) {
        char *s = strrchr(out, '/');
        if (s)
            *s = '\0';
    }
}

static int prepare_images(void)
{
    char root[PATH_MAX], cmd[PATH_MAX * 2], dir[256], file[256], err[512];
    source_root(root, sizeof root);
    snprintf(cmd, sizeof cmd,
             "'%s/scripts/build-example-images.sh' '%s/img' --no-import >/dev/null", root, tmp);
    if (system(cmd) != 0)
        return -1;
    struct lp_image_store store;
    snprintf(dir, sizeof dir, "%s/images", tmp);
    snprintf(file, sizeof file, "%s/img/cowsay.tar", tmp);
    struct lp_image_import_result *res = calloc(1, sizeof *res);
    int rc = res && lp_image_store_open(&store, dir, err, sizeof err) == 0 &&
                     lp_image_import(&store, file, NULL, res, err, sizeof err) == 0
                 ? 0
                 : -1;
    if (rc != 0)
        fprintf(stderr, "bench_devnet: image import: %s\n", err);
    free(res);
    return rc;
}

/* ms of a deal history line's state, or -1. */
static double history_at(json_t *deal, int state)
{
    json_t *h = json_object_get(deal, "history");
    for (size_t i = 0; i < json_array_size(h); i++) {
        json_t *e = json_array_get(h, i);
        if (json_integer_value(json_object_get(e, "state")) == state)
            return (double)json_integer_value(json_object_get(e, "at"));
    }
    return -1;
}

/* The executor alone: submit -> exited for the same job, polled tightly. */
static int bench_executor(int runs, double *start_ms, double *total_ms)
{
    char text[1024], err[512];
    snprintf(text, sizeof text,
             "executor: { backend = \"process\"; process: { image_store = \"%s/images\"; "
             "work_dir = \"%s/exec-jobs\"; }; };\n",
             tmp, tmp);
    struct lp_config *cfg;
    struct lp_backend *b;
    if (lp_config_load_string(text, "bench", &cfg, err, sizeof err) != 0 ||
        lp_backend_open(cfg, "executor", NULL, &b, err, sizeof err) != 0) {
        fprintf(stderr, "bench_devnet: executor: %s\n", err);
        return -1;
    }
    const char *ep[] = {"/bin/true"};
    struct lp_job_spec spec = {.struct_size = sizeof spec,
                               .image = "lilypad-example/cowsay:v1",
                               .entrypoint = ep,
                               .entrypoint_count = 1};
    struct lp_job_limits lim = {.struct_size = sizeof lim, .timeout_ms = 10000};
    int rc = 0;
    for (int i = 0; i < runs && rc == 0; i++) {
        char in[256], out[256];
        snprintf(in, sizeof in, "%s/exec-in", tmp);
        snprintf(out, sizeof out, "%s/exec-out%d", tmp, i);
        mkdir(in, 0755);
        mkdir(out, 0755);
        struct lp_job_handle h;
        struct lp_plugin_error pe;
        uint64_t t0 = now_us(), t_run = 0;
        if (lp_executor_submit(b, &spec, in, out, &lim, &h, &pe) != LP_OK) {
            fprintf(stderr, "bench_devnet: %s\n", pe.message);
            rc = -1;
            break;
        }
        struct lp_job_status st;
        for (;;) {
            lp_executor_poll(b, &h, &st, &pe);
            if (!t_run && st.state != LP_JOB_PENDING)
                t_run = now_us();
            if (st.state != LP_JOB_PENDING && st.state != LP_JOB_RUNNING)
                break;
            usleep(200);
        }
        uint64_t t1 = now_us();
        lp_executor_release(b, &h, &pe);
        if (st.state != LP_JOB_EXITED || st.exit_code != 0) {
            fprintf(stderr, "bench_devnet: executor: state %u exit %d: %s\n", st.state,
                    st.exit_code, st.message);
            rc = -1;
        }
        start_ms[i] = (double)(t_run - t0) / 1000.0;
        total_ms[i] = (double)(t1 - t0) / 1000.0;
    }
    lp_backend_close(b);
    lp_config_free(cfg);
    return rc;
}

static int bench_storage(int runs, double *ms)
{
    char text[512], err[512], dir[256], path[300];
    snprintf(text, sizeof text,
             "storage: { backend = \"local\"; local: { root = \"%s/st\"; }; };\n", tmp);
    struct lp_config *cfg;
    struct lp_backend *b;
    if (lp_config_load_string(text, "bench", &cfg, err, sizeof err) != 0 ||
        lp_backend_open(cfg, "storage", NULL, &b, err, sizeof err) != 0) {
        fprintf(stderr, "bench_devnet: storage: %s\n", err);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < runs && rc == 0; i++) {
        /* a trivial job's results: empty stdout/stderr, exitCode, empty outputs/ */
        snprintf(dir, sizeof dir, "%s/res%d", tmp, i);
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/outputs", dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/stdout", dir);
        write_file(path, "");
        snprintf(path, sizeof path, "%s/stderr", dir);
        write_file(path, "");
        snprintf(path, sizeof path, "%s/exitCode", dir);
        write_file(path, i % 2 ? "0" : "0\n");
        struct lp_cid cid;
        uint64_t t0 = now_us();
        struct lp_plugin_error pe;
        if (lp_storage_put(b, NULL, dir, &cid, &pe) != LP_OK)
            rc = -1;
        ms[i] = (double)(now_us() - t0) / 1000.0;
    }
    lp_backend_close(b);
    lp_config_free(cfg);
    return rc;
}

/* ---- throughput: parallel `lilypad run`s --------------------------------------------------- */

#define MAX_PARALLEL 64

/* The lilypad binary built with this benchmark: bench/bench_devnet -> bin/lilypad. */
static int lilypad_exe(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(self, '/');
        if (!slash)
            return -1;
        *slash = '\0';
    }
    snprintf(out, len, "%s/bin/lilypad", self);
    return access(out, X_OK);
}

static pid_t spawn_run(const char *exe, const char *mod, const char *out)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl(exe, exe, "run", "--network", "local", "--output", out, mod, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* One round: p runs at once; ms[] gets each run's time. Returns the round's wall ms, or -1
 * when a run failed. */
static double round_of(const char *exe, const char *mod, int p, int tag, double *ms)
{
    pid_t pids[MAX_PARALLEL];
    uint64_t t0 = now_us();
    for (int i = 0; i < p; i++) {
        char out[300];
        snprintf(out, sizeof out, "%s/par-%d-%d", tmp, tag, i);
        pids[i] = spawn_run(exe, mod, out);
    }
    /* Only our own children, by pid: the in-process provider's executor has children too. */
    int failed = 0, left = p;
    bool done[MAX_PARALLEL] = {false};
    while (left > 0) {
        for (int i = 0; i < p; i++) {
            int status = 0;
            if (done[i] || waitpid(pids[i], &status, WNOHANG) != pids[i])
                continue;
            ms[i] = (double)(now_us() - t0) / 1000.0;
            done[i] = true;
            left--;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed++;
        }
        if (left > 0)
            usleep(1000);
    }
    double wall = (double)(now_us() - t0) / 1000.0;
    if (failed)
        fprintf(stderr, "bench_devnet: %d of %d runs failed\n", failed, p);
    return failed ? -1 : wall;
}

static int parallel_bench(const char *list, int rounds, const char *mod, const char *dn)
{
    char exe[PATH_MAX];
    if (lilypad_exe(exe, sizeof exe) != 0) {
        fprintf(stderr, "bench_devnet: no lilypad binary next to this one (build it first)\n");
        return 1;
    }
    int ps[16], n_ps = 0;
    for (const char *c = list; *c && n_ps < 16;) {
        int v = atoi(c);
        if (v < 1 || v > MAX_PARALLEL) {
            fprintf(stderr, "bench_devnet: --parallel takes 1..%d, comma-separated\n",
                    MAX_PARALLEL);
            return 2;
        }
        ps[n_ps++] = v;
        c = strchr(c, ',');
        if (!c)
            break;
        c++;
    }
    const int configs[2] = {1, 0}; /* max_jobs: one at a time (the old default), the machine's */
    static double wall[16][2][MAX_RUNS], each[16][2][MAX_RUNS * MAX_PARALLEL];
    int n_each[16][2] = {{0}};
    int slots = lp_devnet_default_max_jobs(dn);
    int tag = 0;
    for (int r = 0; r < rounds; r++) {
        for (int pi = 0; pi < n_ps; pi++) {
            for (int ci = 0; ci < 2; ci++) {
                struct lp_devnet_options opt = {.dir = dn, .max_jobs = configs[ci]};
                struct lp_devnet *d;
                char err[1024];
                if (lp_devnet_start(&opt, &d, err, sizeof err) != 0) {
                    fprintf(stderr, "bench_devnet: %s\n", err);
                    return 1;
                }
                double ms[MAX_PARALLEL];
                /* one run first: the creator's key exists before the parallel ones start */
                if (round_of(exe, mod, 1, tag++, ms) < 0)
                    return 1;
                usleep(1100 * 1000); /* its slot's next offer is out */
                double w = round_of(exe, mod, ps[pi], tag++, ms);
                lp_devnet_stop(d);
                if (w < 0)
                    return 1;
                wall[pi][ci][r] = w;
                for (int i = 0; i < ps[pi]; i++)
                    each[pi][ci][n_each[pi][ci]++] = ms[i];
            }
        }
    }
    printf("devnet throughput: P parallel `lilypad run --network local` of a trivial module "
           "(/bin/true under bwrap), %d round%s each, interleaved; this machine: max_jobs "
           "default %d\n\n",
           rounds, rounds == 1 ? "" : "s", slots);
    printf("| %8s | %-26s | %6s | %9s | %12s | %10s | %10s |\n", "parallel", "provider max_jobs",
           "jobs", "jobs/s", "jobs/s range", "median ms", "p95 ms");
    printf(
        "|----------|----------------------------|--------|-----------|--------------|------------"
        "|------------|\n");
    for (int pi = 0; pi < n_ps; pi++) {
        for (int ci = 0; ci < 2; ci++) {
            double total_ms = 0, lo = 0, hi = 0;
            for (int r = 0; r < rounds; r++) {
                double rate = ps[pi] * 1000.0 / wall[pi][ci][r];
                total_ms += wall[pi][ci][r];
                lo = r == 0 || rate < lo ? rate : lo;
                hi = r == 0 || rate > hi ? rate : hi;
            }
            int n = n_each[pi][ci];
            qsort(each[pi][ci], (size_t)n, sizeof(double), cmp_d);
            char label[40], range[32];
            if (configs[ci] == 1)
                snprintf(label, sizeof label, "1 (one at a time)");
            else
                snprintf(label, sizeof label, "%d (default: the machine's)", slots);
            snprintf(range, sizeof range, "%.1f-%.1f", lo, hi);
            printf("| %8d | %-26s | %6d | %9.2f | %12s | %10.0f | %10.0f |\n", ps[pi], label, n,
                   n * 1000.0 / total_ms, range, each[pi][ci][n / 2],
                   each[pi][ci][(int)((n - 1) * 0.95)]);
        }
    }
    printf("\njobs/s: all jobs over the rounds' summed wall time (each round starts P runs at "
           "once and ends with the last); range: per round. Job times: process start to exit, "
           "including module render, match, run, upload, download and verification.\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *parallel = NULL;
    if (argc > 2 && strcmp(argv[1], "--parallel") == 0) {
        parallel = argv[2];
        argv += 2;
        argc -= 2;
    }
    int runs = argc > 1 ? atoi(argv[1]) : parallel ? 3 : 20;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_devnet [RUNS 1..%d]\n", MAX_RUNS);
        return 2;
    }
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        fprintf(stderr, "bench_devnet: needs /usr/bin/bwrap (scripts/install-deps.sh)\n");
        return 1;
    }
    strcpy(tmp, "/tmp/lp-bench-devnet-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    setenv("LILYPAD_HOME", tmp, 1); /* the devnet's provider uses the default image store */
    char mod[256], err[1024];
    snprintf(mod, sizeof mod, "%s/true", tmp);
    mkdir(mod, 0755);
    char path[300];
    snprintf(path, sizeof path, "%s/lilypad_module.json.tmpl", mod);
    write_file(path, "{\"machine\": {\"gpu\": 0, \"cpu\": 500, \"ram\": 64},\n"
                     " \"job\": {\"APIVersion\": \"V1beta1\", \"Spec\": {\n"
                     "  \"Docker\": {\"Image\": \"lilypad-example/cowsay:v1\",\n"
                     "             \"Entrypoint\": [\"/bin/true\"]},\n"
                     "  \"Network\": {\"Type\": \"None\"}, \"Timeout\": 60}}}\n");
    if (prepare_images() != 0) {
        fprintf(stderr, "bench_devnet: the example image could not be built (busybox-static)\n");
        return 1;
    }
    char dn[256];
    snprintf(dn, sizeof dn, "%s/devnet", tmp);
    if (parallel) {
        int rc = parallel_bench(parallel, runs, mod, dn);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            rc = rc ? rc : 1;
        return rc;
    }
    struct lp_devnet_options opt = {.dir = dn};
    struct lp_devnet *d;
    if (lp_devnet_start(&opt, &d, err, sizeof err) != 0) {
        fprintf(stderr, "bench_devnet: %s\n", err);
        return 1;
    }
    const char *url = lp_devnet_get_info(d)->url;
    struct lp_key key;
    lp_key_generate(&key);
    struct lp_client *c = lp_client_new(url, &key, 10000);
    static double total[MAX_RUNS], render[MAX_RUNS], post[MAX_RUNS], match[MAX_RUNS],
        prov_run[MAX_RUNS], upload[MAX_RUNS], seen[MAX_RUNS], download[MAX_RUNS], verify[MAX_RUNS],
        accept[MAX_RUNS];
    int warm = 3, ok = 0;
    for (int i = 0; i < runs + warm; i++) {
        /* The provider posts its next resource offer on its own loop (poll_wait = 1 s) after a
         * deal; without this gap a back-to-back job waits for that offer and the figure would
         * measure the provider's loop, not the network's overhead. */
        if (i > 0)
            usleep(1100 * 1000);
        char out[300];
        snprintf(out, sizeof out, "%s/out%d", tmp, i);
        struct lp_jc_request req = {
            .module = mod, .solver_url = url, .key = &key, .output_dir = out};
        struct lp_jc_result res;
        if (lp_jc_run(&req, &res) != 0) {
            fprintf(stderr, "bench_devnet: run %d: %s: %s\n", i, lp_jc_outcome_name(res.outcome),
                    res.reason);
            lp_jc_result_free(&res);
            return 1;
        }
        json_t *deal = NULL, *offer = NULL;
        struct lp_client_error ce;
        if (lp_client_get_deal(c, res.deal_id, &deal, &ce) != 0 ||
            lp_client_get_offer(c, LP_WIRE_JOB_OFFER, res.job_offer_id, &offer, &ce) != 0) {
            fprintf(stderr, "bench_devnet: %s\n", ce.message);
            return 1;
        }
        if (i >= warm) {
            const struct lp_jc_timings *t = &res.t;
            double stored = (double)json_integer_value(json_object_get(offer, "stored_at"));
            double agreed = (double)json_integer_value(json_object_get(deal, "created_at"));
            double uploading = history_at(deal, LP_DEAL_UPLOADING);
            double submitted = history_at(deal, LP_DEAL_RESULTS_SUBMITTED);
            total[ok] = (double)t->accepted;
            render[ok] = (double)t->rendered;
            post[ok] = (double)(t->posted - t->rendered);
            match[ok] = agreed - stored;
            prov_run[ok] = uploading - agreed;
            upload[ok] = submitted - uploading;
            seen[ok] = (double)t->results_submitted - (double)t->posted - (submitted - stored);
            download[ok] = (double)(t->downloaded - t->results_submitted);
            verify[ok] = (double)(t->verified - t->downloaded);
            accept[ok] = (double)(t->accepted - t->verified);
            ok++;
        }
        json_decref(deal);
        json_decref(offer);
        lp_jc_result_free(&res);
    }
    lp_client_free(c);
    lp_devnet_stop(d);

    static double ex_start[MAX_RUNS], ex_total[MAX_RUNS], st_put[MAX_RUNS];
    int have_parts =
        bench_executor(runs, ex_start, ex_total) == 0 && bench_storage(runs, st_put) == 0;

    printf("devnet submit-to-verified-result, trivial module (/bin/true under bwrap), %d runs "
           "after %d warm-up\n\n",
           ok, warm);
    printf("| %-44s | %8s | %8s | %8s |\n", "step (ms)", "median", "mean", "p95");
    printf("|%s|----------|----------|----------|\n",
           "----------------------------------------------");
    row("total: render .. results accepted", total, ok);
    row("  module resolve + render (client)", render, ok);
    row("  sign + POST job offer (client)", post, ok);
    row("  solver match (offer stored -> deal)", match, ok);
    row("  provider: plan, executor run, storage put", prov_run, ok);
    row("  provider: upload outputs + signed result", upload, ok);
    row("  creator notices (event long-poll)", seen, ok);
    row("  download outputs", download, ok);
    row("  unpack + CID/digest verification", verify, ok);
    row("  accept", accept, ok);
    if (have_parts) {
        printf("|%s|----------|----------|----------|\n",
               "----------------------------------------------");
        row("alone: executor submit -> running", ex_start, runs);
        row("alone: executor submit -> exited", ex_total, runs);
        row("alone: storage/local put of a results dir", st_put, runs);
    }
    printf("\nsolver and history times are whole milliseconds (wall clock); client steps are "
           "monotonic ms.\n");
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : 1;
}
