/* What the dispatch layer costs per plugin call, against calling the plugin's op directly (as
 * the core did before every call went through core/dispatch), on one core:
 *   - hashrate/cpu device_count: a thread-safe plugin, so no lock, only the op lookup within
 *     ops_size, the error capture and the retry check;
 *   - storage/retry stat (the test plugin, not thread-safe): the same plus the instance lock;
 *   - the same stat from two threads at once, where the lock serialises them.
 * The plugins' ops do almost nothing, so the table shows the layer's own cost.
 *   bench_dispatch [seconds-per-row]      (default 1) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "dispatch/hashrate.h"
#include "dispatch/storage.h"
#include "loader/backend_internal.h"

static double seconds = 1.0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*call_fn)(struct lp_backend *b);

static int hashrate_direct(struct lp_backend *b)
{
    const struct lp_hashrate_ops *ops = b->plugin.desc->ops;
    uint32_t n;
    return ops->device_count(b->instance, &n);
}

static int hashrate_dispatch(struct lp_backend *b)
{
    uint32_t n;
    struct lp_plugin_error err;
    return lp_hashrate_device_count(b, &n, &err);
}

static int stat_direct(struct lp_backend *b)
{
    const struct lp_storage_ops *ops = b->plugin.desc->ops;
    struct lp_cid cid = {"x"};
    struct lp_storage_stat st = {.struct_size = sizeof st};
    return ops->stat_v2(b->instance, NULL, &cid, &st);
}

static int stat_dispatch(struct lp_backend *b)
{
    struct lp_cid cid = {"x"};
    struct lp_storage_stat st;
    struct lp_plugin_error err;
    return lp_storage_stat(b, NULL, &cid, &st, &err);
}

/* Calls per second of fn for `seconds`, in batches so the clock is read rarely. */
static double rate(struct lp_backend *b, call_fn fn)
{
    uint64_t calls = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 10000; i++)
            if (fn(b) != LP_OK) {
                fprintf(stderr, "bench_dispatch: a call failed\n");
                exit(1);
            }
        calls += 10000;
        t = now_s();
    }
    return (double)calls / (t - t0);
}

struct worker {
    struct lp_backend *b;
    call_fn fn;
    double rate;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->rate = rate(w->b, w->fn);
    return NULL;
}

static void row(const char *what, double direct, double dispatched)
{
    printf("%-44s %12.1f %12.1f %10.1f\n", what, 1e9 / direct, 1e9 / dispatched,
           1e9 / dispatched - 1e9 / direct);
}

static struct lp_backend *open_backend(const char *text, const char *concern, const char *name)
{
    char err[1024];
    struct lp_config *cfg = NULL;
    struct lp_backend *b = NULL;
    if ((text && lp_config_load_string(text, "bench", &cfg, err, sizeof err) != 0) ||
        lp_backend_open(cfg, concern, name, &b, err, sizeof err) != 0) {
        fprintf(stderr, "bench_dispatch: %s/%s: %s\n", concern, name ? name : "", err);
        exit(1);
    }
    return b; /* cfg stays: the backend's config values point into it */
}

int main(int argc, char **argv)
{
    if (argc > 1)
        seconds = atof(argv[1]);
    if (argc > 2 || !(seconds > 0)) {
        fprintf(stderr, "usage: bench_dispatch [SECONDS per row, default 1]\n");
        return 2;
    }
    printf("%-44s %12s %12s %10s\n", "call", "direct ns", "dispatch ns", "cost ns");
    struct lp_backend *cpu = open_backend(NULL, "hashrate", "cpu");
    /* Interleaved: direct, dispatched, direct, dispatched; the best of each. */
    double d = 0, x = 0;
    for (int round = 0; round < 2; round++) {
        double r = rate(cpu, hashrate_direct);
        d = r > d ? r : d;
        r = rate(cpu, hashrate_dispatch);
        x = r > x ? r : x;
    }
    row("hashrate/cpu device_count (thread-safe)", d, x);
    lp_backend_close(cpu);

    lp_loader_set_cli_path(LP_BINARY_DIR "/tests/plugins-broken");
    struct lp_backend *st = open_backend("storage: { backend = \"retry\"; };\n", "storage", NULL);
    d = x = 0;
    for (int round = 0; round < 2; round++) {
        double r = rate(st, stat_direct);
        d = r > d ? r : d;
        r = rate(st, stat_dispatch);
        x = r > x ? r : x;
    }
    row("storage/retry stat (serialised)", d, x);
    struct worker w[2] = {{st, stat_dispatch, 0}, {st, stat_dispatch, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%-44s %12s %12.1f %10s\n", "storage/retry stat, 2 threads (per call)", "-",
           1e9 / (w[0].rate + w[1].rate), "-");
    lp_backend_close(st);
    return 0;
}
