/*
 * Hashrate per backend and device: the embedded cpu plugin once per ISA path (one thread,
 * then all), and the cuda / rocm plugins when they load and find a device. Prints hashes/s,
 * per core for the CPU, and the % of the device's limit where the plugin knows it.
 *   bench_hashrate [seconds-per-row]      (default 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lilypad/hashrate.h>

#include "config/config.h"
#include "dispatch/hashrate.h"
#include "loader/backend.h"
#include "pow/uint256.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs mine() on one device for `seconds`, through the dispatch layer as the provider does;
 * returns hashes per second. */
static double measure(struct lp_backend *b, uint32_t dev, double seconds)
{
    struct lp_pow_work w;
    memset(w.challenge, 0x42, 32);
    lp_u256_from_dec("555460709263765739036470010701196062214039696708679004195670928130048",
                     w.target);
    uint8_t base[32] = {0};
    struct lp_pow_solution sol[16];
    uint64_t batch = 1 << 16, total = 0, done;
    size_t found;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        double a = now_s();
        struct lp_plugin_error err;
        if (lp_hashrate_mine(b, dev, &w, base, batch, &done, sol, 16, &found, &err) != LP_OK) {
            fprintf(stderr, "bench_hashrate: %s\n", err.message);
            return -1;
        }
        total += done;
        lp_u256_add_u64(base, done);
        t = now_s();
        if (t - a < 0.1 && batch < (1ull << 40))
            batch *= 2;
    }
    return (double)total / (t - t0);
}

static void row(const char *backend, const struct lp_hashrate_device *d, double rate)
{
    char per[32] = "-", lim[16] = "-";
    if (strcmp(d->vendor, "cpu") == 0)
        snprintf(per, sizeof per, "%.2f M", rate / 1e6 / d->compute_units);
    if (d->peak_hashes_per_s)
        snprintf(lim, sizeof lim, "%.1f%%", 100.0 * rate / (double)d->peak_hashes_per_s);
    printf("%-8s %-44.44s %-26.26s %12.2f %10s %8s\n", backend, d->name, d->detail, rate / 1e6, per,
           lim);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (argc > 2 || !(seconds > 0)) {
        fprintf(stderr, "usage: bench_hashrate [SECONDS per row, default 2]\n");
        return 2;
    }
    printf("%-8s %-44s %-26s %12s %10s %8s\n", "backend", "device", "detail", "MH/s", "MH/s/core",
           "of limit");
    static const char *isas[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
        for (int threads = 1; threads >= 0; threads--) {
            char text[256], err[512];
            snprintf(text, sizeof text,
                     "hashrate: { backend = \"cpu\"; cpu: { threads = %d; isa = \"%s\"; }; };\n",
                     threads, isas[i]);
            struct lp_config *cfg = NULL;
            struct lp_backend *b = NULL;
            if (lp_config_load_string(text, "bench", &cfg, err, sizeof err) != 0 ||
                lp_backend_open(cfg, "hashrate", NULL, &b, err, sizeof err) != 0) {
                printf("%-8s %s: %s\n", "cpu", isas[i], err);
                lp_config_free(cfg);
                break;
            }
            struct lp_hashrate_device d;
            struct lp_plugin_error pe;
            if (lp_hashrate_device_info(b, 0, &d, &pe) == LP_OK)
                row("cpu", &d, measure(b, 0, seconds));
            lp_backend_close(b);
            lp_config_free(cfg);
        }
    static const char *gpus[] = {"cuda", "rocm"};
    for (int g = 0; g < 2; g++) {
        struct lp_backend *b = NULL;
        char err[512];
        if (lp_backend_open(NULL, "hashrate", gpus[g], &b, err, sizeof err) != 0) {
            printf("%-8s unavailable: %s\n", gpus[g], err);
            continue;
        }
        uint32_t n = 0;
        struct lp_plugin_error pe;
        lp_hashrate_device_count(b, &n, &pe);
        for (uint32_t i = 0; i < n; i++) {
            struct lp_hashrate_device d;
            if (lp_hashrate_device_info(b, i, &d, &pe) == LP_OK)
                row(gpus[g], &d, measure(b, i, seconds));
        }
        lp_backend_close(b);
    }
    return 0;
}
