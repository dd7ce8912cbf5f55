/*
 * hashrate/cpu: the embedded default PoW backend. One device, the whole CPU: mine() splits its
 * nonce range into one contiguous slice per thread (no gap, no overlap), each thread runs the
 * widest scanner the CPU supports (AVX-512 x8, AVX2 x4, portable C), and every candidate is
 * re-hashed with the reference Keccak-256 before it is returned as a solution.
 *
 * Thread safety (LP_CAP_THREADSAFE): an instance is read-only after create(); each mine() call
 * has its own job, and last_error() is kept per thread, so concurrent callers each read the
 * failure of their own last call.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lilypad/hashrate.h>

#include "cpu_pow.h"
#include "crypto/keccak.h"
#include "keccak_pow_midstate.h"

#define CPU_MAX_THREADS 1024

struct cpu_config {
    int64_t threads;
    const char *isa;
};

static const struct lp_cfg_field cpu_schema[] = {
    LP_CFG_FIELD(struct cpu_config, threads, LP_CFG_INT, 0, "0",
                 "mining threads; 0 = one per online CPU"),
    LP_CFG_FIELD(struct cpu_config, isa, LP_CFG_STRING, 0, "\"auto\"",
                 "\"auto\" (widest available), \"avx512\", \"avx2\" or \"portable\""),
    LP_CFG_END,
};

typedef uint64_t (*cpu_scan_fn)(const struct lp_cpu_scan *s, uint64_t offset, uint64_t count);

struct cpu_instance {
    const struct lp_host *host;
    unsigned threads;
    const char *isa_name;
    unsigned width;
    cpu_scan_fn scan;
    struct lp_hashrate_device info;
};

/* The calling thread's last failure (last_error()). */
static _Thread_local char thread_error[256];

static int cpu_fail(int rc, const char *fmt, ...) LP_PRINTF(2, 3);
static int cpu_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_error, sizeof thread_error, fmt, ap);
    va_end(ap);
    return rc;
}

/* One mine() call, shared by its threads. */
struct cpu_job {
    struct cpu_instance *in;
    const struct lp_pow_work *work;
    const uint8_t *nonce_base;
    struct lp_cpu_scan scan;
    pthread_mutex_t lock;
    struct lp_pow_solution *solutions;
    size_t max_solutions;
    size_t found;
    atomic_int stop; /* set by the waiting thread on cancellation; relaxed (see cpu_pow.h) */
};

struct cpu_slice {
    struct cpu_job *job;
    uint64_t offset, count, done;
    pthread_t tid;
};

static int cpu_isa_supported(const char *isa)
{
    if (strcmp(isa, "portable") == 0)
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2");
    if (strcmp(isa, "avx512") == 0)
        return __builtin_cpu_supports("avx512f");
#endif
    return 0;
}

static const char *cpu_best_isa(void)
{
    if (cpu_isa_supported("avx512"))
        return "avx512";
    if (cpu_isa_supported("avx2"))
        return "avx2";
    return "portable";
}

static unsigned cpu_online(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void cpu_model_name(char *out, size_t len)
{
    snprintf(out, len, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(out, len, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

/* A failed create(): the reason goes to the host's error log, which is where the core looks
 * for it (there is no instance to ask), and to this thread's last_error(). */
static int cpu_create_failed(const struct lp_host *host, struct cpu_instance *in, int rc)
{
    if (host != NULL && host->log != NULL)
        host->log(host, LP_LOG_ERROR, "%s", thread_error);
    free(in);
    return rc;
}

static int cpu_create(const struct lp_host *host, const void *config, void **instance)
{
    *instance = NULL;
    struct cpu_instance *in = calloc(1, sizeof *in);
    if (in == NULL)
        return cpu_create_failed(host, NULL, cpu_fail(LP_ERR, "out of memory"));
    in->host = host;
    const struct cpu_config *cfg = config;
    int64_t threads = cfg ? cfg->threads : 0;
    const char *isa = cfg && cfg->isa ? cfg->isa : "auto";
    if (threads < 0 || threads > CPU_MAX_THREADS)
        return cpu_create_failed(
            host, in,
            cpu_fail(LP_EINVAL, "hashrate.cpu.threads = %lld: expected 0 (all CPUs) .. %d",
                     (long long)threads, CPU_MAX_THREADS));
    in->threads = threads ? (unsigned)threads : cpu_online();
    if (strcmp(isa, "auto") == 0) {
        isa = cpu_best_isa();
    } else if (strcmp(isa, "avx512") != 0 && strcmp(isa, "avx2") != 0 &&
               strcmp(isa, "portable") != 0) {
        return cpu_create_failed(host, in,
                                 cpu_fail(LP_EINVAL,
                                          "hashrate.cpu.isa = \"%s\": expected \"auto\", "
                                          "\"avx512\", \"avx2\" or \"portable\"",
                                          isa));
    } else if (!cpu_isa_supported(isa)) {
        return cpu_create_failed(host, in,
                                 cpu_fail(LP_EUNAVAILABLE,
                                          "hashrate.cpu.isa = \"%s\": this CPU does not support "
                                          "it; use \"auto\"",
                                          isa));
    }
    in->isa_name = strcmp(isa, "avx512") == 0 ? "avx512"
                   : strcmp(isa, "avx2") == 0 ? "avx2"
                                              : "portable";
    in->scan = strcmp(isa, "avx512") == 0 ? lp_cpu_scan_avx512
               : strcmp(isa, "avx2") == 0 ? lp_cpu_scan_avx2
                                          : lp_cpu_scan_portable;
    in->width = strcmp(isa, "avx512") == 0 ? 8 : strcmp(isa, "avx2") == 0 ? 4 : 1;

    struct lp_hashrate_device *d = &in->info;
    d->struct_size = sizeof *d;
    char model[96];
    cpu_model_name(model, sizeof model);
    snprintf(d->name, sizeof d->name, "%s (%u threads)", model, in->threads);
    snprintf(d->vendor, sizeof d->vendor, "cpu");
    d->compute_units = in->threads;
    snprintf(d->detail, sizeof d->detail, "%s x%u, %u threads", in->isa_name, in->width,
             in->threads);
    *instance = in;
    return LP_OK;
}

static void cpu_destroy(void *instance)
{
    free(instance);
}

static const char *cpu_last_error(void *instance)
{
    (void)instance;
    return thread_error[0] ? thread_error : "no failure on this thread";
}

static int cpu_device_count(void *instance, uint32_t *count)
{
    (void)instance;
    *count = 1;
    return LP_OK;
}

static int cpu_device_info(void *instance, uint32_t device, struct lp_hashrate_device *out)
{
    struct cpu_instance *in = instance;
    if (device != 0)
        return cpu_fail(LP_EINVAL, "device %u: the CPU backend has device 0 only", device);
    /* Only as much as the caller's struct holds: an older core passes a shorter one. */
    uint32_t size = out->struct_size;
    if (size < offsetof(struct lp_hashrate_device, index))
        return cpu_fail(LP_EINVAL, "device_info: struct_size %u is too small", size);
    if (size > sizeof *out)
        size = sizeof *out;
    memcpy(out, &in->info, size);
    out->struct_size = size;
    return LP_OK;
}

/* A scanner's candidate: re-hash in full, keep it only when the digest is below the target. */
static void cpu_candidate(void *ctx, uint64_t offset)
{
    struct cpu_job *job = ctx;
    uint8_t msg[64], digest[32];
    memcpy(msg, job->work->challenge, 32);
    memcpy(msg + 32, job->nonce_base, 24);
    uint64_t low = job->scan.base_low + offset;
    for (int i = 0; i < 8; i++)
        msg[63 - i] = (uint8_t)(low >> (8 * i));
    lp_keccak256(msg, sizeof msg, digest);
    if (memcmp(digest, job->work->target, 32) >= 0)
        return;
    pthread_mutex_lock(&job->lock);
    if (job->found < job->max_solutions) {
        memcpy(job->solutions[job->found].nonce, msg + 32, 32);
        memcpy(job->solutions[job->found].digest, digest, 32);
    }
    job->found++;
    pthread_mutex_unlock(&job->lock);
}

static void *cpu_slice_main(void *arg)
{
    struct cpu_slice *sl = arg;
    sl->done = sl->job->in->scan(&sl->job->scan, sl->offset, sl->count);
    return NULL;
}

/* Polls the host's cancellation while the slices run, so a long batch stops promptly. */
static void cpu_wait(struct cpu_job *job, struct cpu_slice *sl, unsigned n)
{
    const struct lp_host *h = job->in->host;
    int can_cancel = h != NULL && LP_HOST_HAS(h, cancelled);
    for (unsigned i = 0; i < n; i++) {
        if (can_cancel) {
            while (pthread_tryjoin_np(sl[i].tid, NULL) != 0) {
                if (h->cancelled(h))
                    atomic_store_explicit(&job->stop, 1, memory_order_relaxed);
                usleep(2000);
            }
        } else {
            pthread_join(sl[i].tid, NULL);
        }
    }
}

static int cpu_mine(void *instance, uint32_t device, const struct lp_pow_work *work,
                    const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                    struct lp_pow_solution *solutions, size_t max_solutions, size_t *found)
{
    struct cpu_instance *in = instance;
    *hashes_done = 0;
    *found = 0;
    if (device != 0)
        return cpu_fail(LP_EINVAL, "device %u: the CPU backend has device 0 only", device);
    struct cpu_job job;
    memset(&job, 0, sizeof job);
    atomic_init(&job.stop, 0);
    job.in = in;
    job.work = work;
    job.nonce_base = nonce_base;
    job.solutions = solutions;
    job.max_solutions = max_solutions;
    pthread_mutex_init(&job.lock, NULL);
    lp_pow_midstate(work->challenge, nonce_base, job.scan.mid);
    job.scan.base_low = lp_pow_load_be64(nonce_base + 24);
    if (job.scan.base_low != 0 && count > UINT64_MAX - job.scan.base_low + 1) {
        pthread_mutex_destroy(&job.lock);
        return cpu_fail(LP_EINVAL, "the batch wraps the nonce's low 64 bits");
    }
    job.scan.target_top64 = lp_pow_load_be64(work->target);
    job.scan.candidate = cpu_candidate;
    job.scan.ctx = &job;
    job.scan.stop = &job.stop;

    /* slices are multiples of the vector width, so only the last one has a partial vector */
    unsigned n = in->threads;
    uint64_t per = (count / n + in->width - 1) / in->width * in->width;
    if (per == 0)
        per = in->width;
    struct cpu_slice slices[CPU_MAX_THREADS];
    unsigned nslices = 0;
    for (uint64_t off = 0; off < count && nslices < n; nslices++) {
        struct cpu_slice *sl = &slices[nslices];
        sl->job = &job;
        sl->offset = off;
        sl->count = (nslices == n - 1 || count - off < per) ? count - off : per;
        sl->done = 0;
        off += sl->count;
    }
    /* One slice runs on the calling thread, unless the host can cancel: then this thread is the
     * one that watches for it while the slice runs on its own. */
    bool can_cancel = in->host != NULL && LP_HOST_HAS(in->host, cancelled);
    if (nslices == 1 && !can_cancel) {
        slices[0].done = in->scan(&job.scan, slices[0].offset, slices[0].count);
    } else {
        for (unsigned i = 0; i < nslices; i++) {
            if (pthread_create(&slices[i].tid, NULL, cpu_slice_main, &slices[i]) != 0) {
                atomic_store_explicit(&job.stop, 1, memory_order_relaxed);
                cpu_wait(&job, slices, i);
                pthread_mutex_destroy(&job.lock);
                return cpu_fail(LP_ERR, "cannot start a mining thread");
            }
        }
        cpu_wait(&job, slices, nslices);
    }
    /* Hashes done: the contiguous prefix of completed slices, so a cancelled call still
     * reports a range with no gap; winners past it are dropped (that range is redone). */
    uint64_t done = 0;
    for (unsigned i = 0; i < nslices; i++) {
        done += slices[i].done;
        if (slices[i].done != slices[i].count)
            break;
    }
    if (done < count) {
        size_t kept = 0, have = job.found < max_solutions ? job.found : max_solutions;
        for (size_t k = 0; k < have; k++)
            if (lp_pow_load_be64(solutions[k].nonce + 24) - job.scan.base_low < done)
                solutions[kept++] = solutions[k];
        job.found = kept;
    }
    *hashes_done = done;
    *found = job.found < max_solutions ? job.found : max_solutions;
    pthread_mutex_destroy(&job.lock);
    return LP_OK;
}

static const struct lp_hashrate_ops cpu_ops = {
    .life =
        {
            .probe = NULL, /* always available */
            .create = cpu_create,
            .destroy = cpu_destroy,
            .last_error = cpu_last_error,
        },
    .device_count = cpu_device_count,
    .device_info = cpu_device_info,
    .mine = cpu_mine,
};

LP_PLUGIN_DEFINE(hashrate, cpu, "0.2.0",
                 "Keccak-256 proof of work on all CPU cores (AVX-512 x8, AVX2 x4, portable C)",
                 "MIT", cpu_ops, cpu_schema, struct cpu_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_CANCEL)
