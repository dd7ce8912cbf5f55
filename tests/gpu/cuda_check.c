/*
 * Standalone check of the real hashrate_cuda.so through the plugin ABI, for a GPU machine that
 * has none of the core's libraries: it dlopens the plugin, drives it with a mock host and
 * compares it with the CPU reference (core/crypto/keccak.c, compiled in).
 *
 *   cuda_check PLUGIN.so [correct|bench|all] [seconds-per-shape]
 *
 * correct: for each rotation mode, fresh random challenges and nonce bases (one just below a
 *          64-bit carry), an easy target: the set of winners and hashes_done must equal a CPU
 *          brute force over the same range; also a tiny hit list (16) to force range splitting.
 *          Every run first checks each device's identity: index i for device i, a PCI bus ID
 *          in sysfs form that names a device under /sys/bus/pci/devices, an NVIDIA UUID that
 *          nvidia-smi reports for the same bus ID, and device_info writing nothing past an ABI
 *          1.0 struct_size.
 * bench:   GH/s per rotation mode and launch shape, with the SM clock nvidia-smi reports right
 *          after each run and the % of SMs x 64 x clock / 4100 ops per hash.
 * Exit status: 0 all good, 1 a mismatch or a plugin error, 77 no usable device (skip).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/hashrate.h>

#include "../../plugins/hashrate/common/gpu_ids.h"
#include "crypto/keccak.h"

#define SKIP 77

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void mock_log(const struct lp_host *h, int level, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "plugin[%d]: ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
static uint64_t mock_monotonic(const struct lp_host *h)
{
    (void)h;
    return now_ns();
}
static int mock_cancelled(const struct lp_host *h)
{
    (void)h;
    return 0;
}
static const char *mock_gpu_vendor(const struct lp_host *h)
{
    (void)h;
    return "auto";
}

static struct lp_host host = {
    .struct_size = sizeof(struct lp_host),
    .abi_major = LP_ABI_MAJOR,
    .abi_minor = LP_ABI_MINOR,
    .log = mock_log,
    .monotonic_ns = mock_monotonic,
    .realtime_ns = mock_monotonic,
    .cancelled = mock_cancelled,
    .gpu_vendor = mock_gpu_vendor,
};

static const struct lp_plugin *desc;
static const struct lp_hashrate_ops *ops;

/* Fills the plugin's config struct from its schema defaults, then the overrides
 * ("key=value", integers or strings), as the core's config layer would. */
static void *make_config(const char *const *overrides)
{
    void *cfg = calloc(1, desc->config_size);
    for (const struct lp_cfg_field *f = desc->config_schema; f && f->key; f++) {
        const char *val = f->default_value;
        for (const char *const *o = overrides; o && *o; o++) {
            size_t n = strlen(f->key);
            if (strncmp(*o, f->key, n) == 0 && (*o)[n] == '=')
                val = *o + n + 1;
        }
        char *at = (char *)cfg + f->offset;
        if (f->type == LP_CFG_INT) {
            int64_t v = strtoll(val, NULL, 10);
            memcpy(at, &v, sizeof v);
        } else if (f->type == LP_CFG_STRING) {
            size_t n = strlen(val);
            char *s = strdup(val[0] == '"' ? val + 1 : val);
            if (val[0] == '"' && n >= 2)
                s[n - 2] = '\0';
            memcpy(at, &s, sizeof s);
        } else if (f->type == LP_CFG_INT_LIST) {
            struct lp_int_list empty = {0, NULL};
            memcpy(at, &empty, sizeof empty);
        }
    }
    return cfg;
}

static void *open_instance(const char *const *overrides)
{
    void *cfg = make_config(overrides);
    void *inst = NULL;
    int rc = ops->life.create(&host, cfg, &inst);
    if (rc != LP_OK) {
        fprintf(stderr, "FAIL create: rc %d: %s\n", rc, inst ? ops->life.last_error(inst) : "");
        exit(1);
    }
    return inst;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

static int cmp_nonce(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* One coverage round: GPU winners over [base, base+count) == CPU brute force. */
static int check_range(void *inst, const char *label, const uint8_t base[32], uint64_t count,
                       const struct lp_pow_work *work)
{
    size_t cap = 1u << 16;
    struct lp_pow_solution *sol = calloc(cap, sizeof *sol);
    uint8_t(*expect)[32] = calloc(cap, 32);
    uint8_t(*got)[32] = calloc(cap, 32);
    uint64_t done = 0;
    size_t found = 0, nexp = 0;
    int rc = ops->mine(inst, 0, work, base, count, &done, sol, cap, &found);
    if (rc != LP_OK) {
        printf("FAIL %s: mine rc %d: %s\n", label, rc, ops->life.last_error(inst));
        return 1;
    }
    uint64_t low = 0;
    for (int i = 0; i < 8; i++)
        low = (low << 8) | base[24 + i];
    uint8_t msg[64], d[32];
    memcpy(msg, work->challenge, 32);
    memcpy(msg + 32, base, 24);
    for (uint64_t k = 0; k < count; k++) {
        uint64_t v = low + k;
        for (int i = 0; i < 8; i++)
            msg[63 - i] = (uint8_t)(v >> (8 * i));
        lp_keccak256(msg, 64, d);
        if (memcmp(d, work->target, 32) < 0 && nexp < cap)
            memcpy(expect[nexp++], msg + 32, 32);
    }
    int bad = 0;
    for (size_t i = 0; i < found; i++) {
        memcpy(got[i], sol[i].nonce, 32);
        memcpy(msg + 32, sol[i].nonce, 32);
        lp_keccak256(msg, 64, d);
        if (memcmp(d, sol[i].digest, 32) != 0)
            bad = 1;
    }
    qsort(got, found, 32, cmp_nonce);
    for (size_t i = 1; i < found; i++)
        if (memcmp(got[i - 1], got[i], 32) == 0)
            bad = 1; /* duplicate */
    if (done != count || found != nexp || (found && memcmp(got, expect, 32 * found) != 0))
        bad = 1;
    printf("%s %s: %" PRIu64 " nonces, hashes_done %" PRIu64 ", winners gpu %zu cpu %zu\n",
           bad ? "FAIL" : "ok  ", label, count, done, found, nexp);
    free(sol);
    free(expect);
    free(got);
    return bad;
}

static int run_correct(void)
{
    /* every kernel instantiation the plugin can pick: form 0 with each rotation mode, and the
     * other forms (shf only) at their largest block */
    static const char *const variants[][2] = {
        {"rotate=shf", "kernel=unrolled"},   {"rotate=imad", "kernel=unrolled"},
        {"rotate=mixed", "kernel=unrolled"}, {"rotate=shf", "kernel=unrolled64"},
        {"rotate=shf", "kernel=looped"},     {"rotate=shf", "kernel=pair"},
    };
    int bad = 0;
    for (size_t m = 0; m < sizeof variants / sizeof variants[0]; m++) {
        const char *ov[] = {variants[m][0], variants[m][1], NULL};
        void *inst = open_instance(ov);
        for (int t = 0; t < 3; t++) {
            struct lp_pow_work work;
            uint8_t base[32];
            rnd_bytes(work.challenge, 32);
            rnd_bytes(base, 32);
            memset(work.target, 0xff, 32);
            work.target[0] = 0x07; /* about 1 winner in 37 */
            rnd_bytes(work.target + 1, 31);
            if (t == 1) /* the low 64 bits cross a 32-bit carry inside the batch */
                memcpy(base + 24, "\x12\x34\x56\x78\xff\xff\x80\x00", 8);
            if (t == 2) /* the batch ends exactly at the top of the low 64 bits */
                memcpy(base + 24, "\xff\xff\xff\xff\xff\xfc\x00\x00", 8);
            char label[96];
            snprintf(label, sizeof label, "%s %s case %d", variants[m][0], variants[m][1], t);
            bad |= check_range(inst, label, base, t == 2 ? (1u << 18) : 300007u, &work);
        }
        ops->life.destroy(inst);
    }
    /* a hit list far too small: the plugin must split ranges and still find every winner */
    const char *ov[] = {"max_hits=16", "hashes_per_thread=4", NULL};
    void *inst = open_instance(ov);
    struct lp_pow_work work;
    uint8_t base[32];
    rnd_bytes(work.challenge, 32);
    rnd_bytes(base, 32);
    memset(work.target, 0, 32);
    work.target[0] = 0x20; /* 1 in 8 */
    bad |= check_range(inst, "max_hits=16 split", base, 100000, &work);
    ops->life.destroy(inst);
    const char *ov2[] = {"max_hits=16", "hashes_per_thread=3", "kernel=pair", NULL};
    inst = open_instance(ov2);
    bad |= check_range(inst, "max_hits=16 split kernel=pair", base, 100001, &work);
    ops->life.destroy(inst);
    return bad;
}

static unsigned smi_clock_mhz(void)
{
    FILE *p = popen("nvidia-smi --query-gpu=clocks.sm --format=csv,noheader,nounits -i 0 "
                    "2>/dev/null",
                    "r");
    unsigned mhz = 0;
    if (p) {
        if (fscanf(p, "%u", &mhz) != 1)
            mhz = 0;
        pclose(p);
    }
    return mhz;
}

static void bench_one(const char *rot, const char *kernel, int tpb, int bps, int hpt,
                      double seconds)
{
    char a[32], b[32], c[32], d[32], e[32];
    snprintf(a, sizeof a, "rotate=%s", rot);
    snprintf(b, sizeof b, "threads_per_block=%d", tpb);
    snprintf(c, sizeof c, "blocks_per_sm=%d", bps);
    snprintf(d, sizeof d, "hashes_per_thread=%d", hpt);
    snprintf(e, sizeof e, "kernel=%s", kernel);
    const char *ov[] = {a, b, c, d, e, NULL};
    void *inst = open_instance(ov);
    struct lp_hashrate_device info = {.struct_size = sizeof info};
    ops->device_info(inst, 0, &info);
    struct lp_pow_work work;
    rnd_bytes(work.challenge, 32);
    /* Lilypad's difficulty: 0x149a6a3 << 204, a winner every ~2.08e8 hashes */
    memset(work.target, 0, 32);
    work.target[3] = 0x14;
    work.target[4] = 0x9a;
    work.target[5] = 0x6a;
    work.target[6] = 0x30;
    uint8_t base[32] = {0};
    rnd_bytes(base, 24);
    struct lp_pow_solution sol[64];
    uint64_t total = 0, done = 0, step = 1ull << 31;
    size_t found = 0;
    ops->mine(inst, 0, &work, base, 1ull << 28, &done, sol, 64, &found); /* warm-up */
    uint64_t t0 = now_ns(), t1 = t0;
    while ((double)(t1 - t0) < seconds * 1e9) {
        uint64_t low = 0;
        for (int i = 0; i < 8; i++)
            low = (low << 8) | base[24 + i];
        if (low > UINT64_MAX - step) /* keep the batch inside the low 64 bits */
            memset(base + 24, 0, 8);
        if (ops->mine(inst, 0, &work, base, step, &done, sol, 64, &found) != LP_OK) {
            printf("FAIL bench: %s\n", ops->life.last_error(inst));
            exit(1);
        }
        total += done;
        low += step;
        for (int i = 0; i < 8; i++)
            base[31 - i] = (uint8_t)(low >> (8 * i));
        t1 = now_ns();
    }
    unsigned mhz = smi_clock_mhz();
    double rate = (double)total / ((double)(t1 - t0) / 1e9);
    double limit_now = mhz ? (double)info.compute_units * 64.0 * mhz * 1e6 / 4100.0 : 0;
    /* the grid from the detail line, past "sm_90, driver 13.0, " */
    const char *blocks =
        strchr(info.detail, ',') ? strchr(strchr(info.detail, ',') + 1, ',') : NULL;
    blocks = blocks ? blocks + 2 : info.detail;
    printf("%-5s %-10s tpb %4d bps %2d hpt %5d  %-16.16s %8.3f GH/s  clock %4u MHz  "
           "%5.1f%% of limit@clock  %5.1f%% of limit@max(%u MHz)\n",
           rot, kernel, tpb, bps, hpt, blocks, rate / 1e9, mhz,
           limit_now ? 100.0 * rate / limit_now : 0.0,
           info.peak_hashes_per_s ? 100.0 * rate / (double)info.peak_hashes_per_s : 0.0,
           info.clock_mhz);
    fflush(stdout);
    ops->life.destroy(inst);
}

static void run_bench(double seconds)
{
    /* nine shapes: the default, the old default, and each kernel form at its likely best */
    bench_one("shf", "unrolled", 128, 0, 256, seconds);
    bench_one("shf", "unrolled", 256, 0, 256, seconds);
    bench_one("mixed", "unrolled", 128, 0, 256, seconds);
    bench_one("shf", "unrolled64", 128, 0, 256, seconds);
    bench_one("shf", "unrolled64", 64, 0, 512, seconds);
    bench_one("shf", "unrolled64", 128, 0, 1024, seconds);
    bench_one("shf", "looped", 128, 0, 256, seconds);
    bench_one("shf", "pair", 128, 0, 256, seconds);
    bench_one("shf", "pair", 64, 0, 512, seconds);
}

/* The UUID nvidia-smi gives the GPU at bus ID `bus` (sysfs form), or "" when it cannot say. */
static void smi_uuid_of(const char *bus, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *p =
        popen("nvidia-smi --query-gpu=pci.bus_id,uuid --format=csv,noheader 2>/dev/null", "r");
    if (p == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, p)) {
        char *comma = strchr(line, ',');
        if (comma == NULL)
            continue;
        *comma = '\0';
        char *uuid = comma + 1;
        while (isspace((unsigned char)*uuid))
            uuid++;
        uuid[strcspn(uuid, " \r\n")] = '\0';
        char norm[32];
        if (lp_gpu_pci_bus_id_normalise(line, norm, sizeof norm) == 0 && strcmp(norm, bus) == 0)
            snprintf(out, cap, "%s", uuid);
    }
    pclose(p);
}

/* Each device's identity, as an executor will use it to find the same GPU. */
static int check_identity(void *inst, bool nvidia)
{
    int bad = 0;
    uint32_t n = 0;
    ops->device_count(inst, &n);
    for (uint32_t i = 0; i < n; i++) {
        struct lp_hashrate_device d = {.struct_size = sizeof d};
        if (ops->device_info(inst, i, &d) != LP_OK) {
            printf("FAIL device %u: device_info: %s\n", i, ops->life.last_error(inst));
            bad = 1;
            continue;
        }
        char norm[32], path[96];
        if (d.index != i) {
            printf("FAIL device %u: index %u\n", i, d.index);
            bad = 1;
        }
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s", d.pci_bus_id);
        if (lp_gpu_pci_bus_id_normalise(d.pci_bus_id, norm, sizeof norm) != 0 ||
            strcmp(norm, d.pci_bus_id) != 0 || access(path, F_OK) != 0) {
            printf("FAIL device %u: pci_bus_id \"%s\" is not a PCI device in sysfs form\n", i,
                   d.pci_bus_id);
            bad = 1;
        }
        if (nvidia) {
            char smi[64];
            smi_uuid_of(d.pci_bus_id, smi, sizeof smi);
            if (strncmp(d.uuid, "GPU-", 4) != 0 || strlen(d.uuid) != 40 ||
                (smi[0] && strcmp(smi, d.uuid) != 0)) {
                printf("FAIL device %u: uuid \"%s\", nvidia-smi says \"%s\"\n", i, d.uuid, smi);
                bad = 1;
            }
        }
        printf("device %u: pci_bus_id %s, uuid %s\n", i, d.pci_bus_id,
               d.uuid[0] ? d.uuid : "(none)");
        /* an ABI 1.0 core's struct ends before pci_bus_id: nothing past it is written */
        unsigned char buf[sizeof d + 64];
        memset(buf, 0xa5, sizeof buf);
        struct lp_hashrate_device *old = (struct lp_hashrate_device *)buf;
        const uint32_t v1_0 = (uint32_t)offsetof(struct lp_hashrate_device, pci_bus_id);
        old->struct_size = v1_0;
        if (ops->device_info(inst, i, old) != LP_OK || old->struct_size != v1_0) {
            printf("FAIL device %u: device_info with an ABI 1.0 struct_size\n", i);
            bad = 1;
        }
        for (size_t k = v1_0; k < sizeof buf; k++) {
            if (buf[k] != 0xa5) {
                printf("FAIL device %u: byte %zu past struct_size %u written\n", i, k, v1_0);
                bad = 1;
                break;
            }
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cuda_check PLUGIN.so [correct|bench|all] [seconds]\n");
        return 2;
    }
    const char *what = argc > 2 ? argv[2] : "all";
    double seconds = argc > 3 ? atof(argv[3]) : 3.0;
    rng_state ^= now_ns();
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        printf("FAIL dlopen %s: %s\n", argv[1], dlerror());
        return 1;
    }
    lp_plugin_descriptor_fn fn = (lp_plugin_descriptor_fn)dlsym(h, LP_PLUGIN_ENTRY_SYMBOL);
    if (fn == NULL || (desc = fn()) == NULL || desc->magic != LP_PLUGIN_MAGIC ||
        desc->concern != LP_CONCERN_HASHRATE) {
        printf("FAIL %s: not a hashrate plugin\n", argv[1]);
        return 1;
    }
    ops = desc->ops;
    char reason[256] = "";
    int rc = ops->life.probe(&host, NULL, reason, sizeof reason);
    printf("plugin %s %s: probe %s (%s)\n", desc->name, desc->version,
           rc == LP_OK ? "OK" : "UNAVAILABLE", reason);
    if (rc != LP_OK)
        return SKIP;
    void *inst = open_instance(NULL);
    uint32_t n = 0;
    ops->device_count(inst, &n);
    for (uint32_t i = 0; i < n; i++) {
        struct lp_hashrate_device d = {.struct_size = sizeof d};
        ops->device_info(inst, i, &d);
        printf("device %u: %s, %u SMs, %u MHz, %.1f GiB, limit %.3f GH/s at 4100 ops/hash, %s\n", i,
               d.name, d.compute_units, d.clock_mhz, (double)d.memory_bytes / (1u << 30),
               (double)d.peak_hashes_per_s / 1e9, d.detail);
    }
    int bad = check_identity(inst, strcmp(desc->name, "cuda") == 0);
    ops->life.destroy(inst);
    if (strcmp(what, "correct") == 0 || strcmp(what, "all") == 0)
        bad |= run_correct();
    if (strcmp(what, "bench") == 0 || strcmp(what, "all") == 0)
        run_bench(seconds);
    printf("%s\n", bad ? "RESULT: FAIL" : "RESULT: ok");
    return bad ? 1 : 0;
}
