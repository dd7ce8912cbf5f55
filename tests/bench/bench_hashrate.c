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

#include "loader/backend.h"
#include "pow/uint256.h"

const struct lp_plugin *lp_plugin_descriptor_hashrate_cpu(void);

struct cpu_cfg {
    int64_t threads;
    const char *isa;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs mine() on one device for `seconds`; returns hashes per second. */
static double measure(const struct lp_hashrate_ops *ops, void *inst, uint32_t dev, double seconds)
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
        if (ops->mine(inst, dev, &w, base, batch, &done, sol, 16, &found) != LP_OK)
            return -1;
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
    const struct lp_hashrate_ops *cpu = lp_plugin_descriptor_hashrate_cpu()->ops;
    static const char *isas[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
        for (int64_t threads = 1; threads >= 0; threads--) {
            struct cpu_cfg cfg = {threads, isas[i]};
            void *inst = NULL;
            if (cpu->life.create(NULL, &cfg, &inst) != LP_OK) {
                printf("%-8s %s: %s\n", "cpu", isas[i], inst ? cpu->life.last_error(inst) : "");
                cpu->life.destroy(inst);
                break;
            }
            struct lp_hashrate_device d = {.struct_size = sizeof d};
            cpu->device_info(inst, 0, &d);
            row("cpu", &d, measure(cpu, inst, 0, seconds));
            cpu->life.destroy(inst);
        }
    static const char *gpus[] = {"cuda", "rocm"};
    for (int g = 0; g < 2; g++) {
        struct lp_backend *b = NULL;
        char err[512];
        if (lp_backend_open(NULL, "hashrate", gpus[g], &b, err, sizeof err) != 0) {
            printf("%-8s unavailable: %s\n", gpus[g], err);
            continue;
        }
        const struct lp_hashrate_ops *ops = lp_backend_ops(b);
        void *inst = lp_backend_instance(b);
        uint32_t n = 0;
        ops->device_count(inst, &n);
        for (uint32_t i = 0; i < n; i++) {
            struct lp_hashrate_device d = {.struct_size = sizeof d};
            ops->device_info(inst, i, &d);
            row(gpus[g], &d, measure(ops, inst, i, seconds));
        }
        lp_backend_close(b);
    }
    return 0;
}
