/*
 * The host side of the GPU hashrate plugins, one text for CUDA and HIP: configuration schema,
 * probe, devices, and mine() driving lp_pow_search (keccak_pow_kernel.h).
 *
 * The includer (cuda/hashrate_cuda.cu, rocm/hashrate_rocm.hip) defines LP_GPU_PLUGIN_NAME
 * (a bare token), LP_GPU_VENDOR ("nvidia", "amd"), LP_GPU_RUNTIME ("CUDA", "HIP") and
 * LP_GPU_OPS_PER_HASH (the instruction-count model behind the device's limit), then includes
 * this file once.
 *
 * Exactness: every nonce of a mine() call is hashed once (launches cover consecutive offset
 * ranges); *hashes_done is the number of nonces covered, never derived from the launch shape.
 * Candidates from the kernel are re-hashed with the CPU reference (core/crypto/keccak.c,
 * compiled into the plugin) and only real winners are returned. When a range yields more
 * candidates than the hit list holds (a very easy target), the range is split and searched
 * again, so no winner is dropped for lack of room.
 *
 * Devices: device i of the plugin is the runtime ordinal devices[i] (all ordinals in order when
 * `devices` is empty); its info carries index i, the PCI bus ID and the UUID (gpu_ids.h), which
 * name the same GPU to an executor whatever the runtime's numbering.
 *
 * Thread safety (LP_CAP_THREADSAFE): calls for different devices run concurrently; each device
 * has its own stream and buffers, and last_error() is kept per thread.
 */
#ifndef LP_GPU_PLUGIN_IMPL_H
#define LP_GPU_PLUGIN_IMPL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lilypad/hashrate.h>

/* keccak.h is a C header without extern "C" of its own */
extern "C" {
#include "crypto/keccak.h"
}
#include "gpu_ids.h"
#include "keccak_pow_kernel.h"
#include "keccak_pow_midstate.h"

#ifdef LP_POW_HIP
typedef hipError_t gpu_error_t;
typedef hipStream_t gpu_stream_t;
typedef hipDeviceProp_t gpu_props_t;
#define GPU_OK               hipSuccess
#define gpu_get_device_count hipGetDeviceCount
#define gpu_set_device       hipSetDevice
#define gpu_get_props        hipGetDeviceProperties
#define gpu_get_attribute    hipDeviceGetAttribute
#define GPU_ATTR_CLOCK       hipDeviceAttributeClockRate
#define gpu_malloc           hipMalloc
#define gpu_free             hipFree
#define gpu_memset_async     hipMemsetAsync
#define gpu_memcpy_d2h       hipMemcpyDeviceToHost
#define gpu_memcpy_async     hipMemcpyAsync
#define gpu_stream_create    hipStreamCreate
#define gpu_stream_destroy   hipStreamDestroy
#define gpu_stream_sync      hipStreamSynchronize
#define gpu_error_name       hipGetErrorName
#define gpu_error_string     hipGetErrorString
#define gpu_get_last_error   hipGetLastError
#define gpu_driver_version   hipDriverGetVersion
#define gpu_occupancy        hipOccupancyMaxActiveBlocksPerMultiprocessor
#define gpu_pci_bus_id       hipDeviceGetPCIBusId
#else
typedef cudaError_t gpu_error_t;
typedef cudaStream_t gpu_stream_t;
typedef cudaDeviceProp gpu_props_t;
#define GPU_OK               cudaSuccess
#define gpu_get_device_count cudaGetDeviceCount
#define gpu_set_device       cudaSetDevice
#define gpu_get_props        cudaGetDeviceProperties
#define gpu_get_attribute    cudaDeviceGetAttribute
#define GPU_ATTR_CLOCK       cudaDevAttrClockRate
#define gpu_malloc           cudaMalloc
#define gpu_free             cudaFree
#define gpu_memset_async     cudaMemsetAsync
#define gpu_memcpy_d2h       cudaMemcpyDeviceToHost
#define gpu_memcpy_async     cudaMemcpyAsync
#define gpu_stream_create    cudaStreamCreate
#define gpu_stream_destroy   cudaStreamDestroy
#define gpu_stream_sync      cudaStreamSynchronize
#define gpu_error_name       cudaGetErrorName
#define gpu_error_string     cudaGetErrorString
#define gpu_get_last_error   cudaGetLastError
#define gpu_driver_version   cudaDriverGetVersion
#define gpu_occupancy        cudaOccupancyMaxActiveBlocksPerMultiprocessor
#define gpu_pci_bus_id       cudaDeviceGetPCIBusId
#endif

#define LP_GPU_STR_(x)     #x
#define LP_GPU_STR(x)      LP_GPU_STR_(x)
#define LP_GPU_MAX_DEVICES 64
/* Launches queued before the host waits and collects candidates: long enough that the wait is
 * noise (each launch is ~ms), short enough that cancellation answers quickly. */
#define LP_GPU_LAUNCHES_PER_SYNC 8

struct gpu_config {
    int64_t threads_per_block;
    int64_t blocks_per_sm;
    int64_t hashes_per_thread;
    int64_t max_hits;
    const char *rotate;
    const char *kernel;
    struct lp_int_list devices;
};

static const struct lp_cfg_field gpu_schema[] = {
    LP_CFG_FIELD(struct gpu_config, threads_per_block, LP_CFG_INT, 0, "128",
                 "threads per block (multiple of 32, 32..256; 32..128 for kernels other than "
                 "\"unrolled\")"),
    LP_CFG_FIELD(struct gpu_config, blocks_per_sm, LP_CFG_INT, 0, "0",
                 "resident blocks per multiprocessor; 0 = as many as fit (occupancy calculator)"),
    LP_CFG_FIELD(struct gpu_config, hashes_per_thread, LP_CFG_INT, 0, "256",
                 "nonces each thread hashes per launch (1..65536)"),
    LP_CFG_FIELD(struct gpu_config, max_hits, LP_CFG_INT, 0, "4096",
                 "candidate list size per device (16..1048576)"),
    LP_CFG_FIELD(struct gpu_config, rotate, LP_CFG_STRING, 0, "\"shf\"",
                 "rho rotations: \"shf\" funnel shifts, \"imad\" multiply pipe, \"mixed\" "
                 "(CUDA only)"),
    /* "looped" is the default: on an H200 it ran at 4.03 GH/s against 3.55 for the fully
     * unrolled kernel, whose ~66 KB of code thrashes the instruction cache. */
    LP_CFG_FIELD(struct gpu_config, kernel, LP_CFG_STRING, 0, "\"looped\"",
                 "kernel form: \"looped\" (middle rounds in a loop), \"unrolled\", \"unrolled64\" "
                 "(64 registers), \"pair\" (two hashes per thread); CUDA only, all but "
                 "\"unrolled\" need rotate = \"shf\""),
    LP_CFG_FIELD(struct gpu_config, devices, LP_CFG_INT_LIST, 0, "[]",
                 "device ordinals to use; empty = all"),
    LP_CFG_END,
};

struct gpu_device {
    int ordinal;
    gpu_stream_t stream;
    uint32_t *d_count;
    uint64_t *d_hits;
    uint64_t *h_hits;
    uint32_t blocks; /* grid size of a full launch */
    struct lp_hashrate_device info;
};

struct gpu_instance {
    const struct lp_host *host;
    struct gpu_config cfg;
    int rot_mode;
    int form;
    lp_pow_kernel_fn kernel;
    uint32_t ndev;
    struct gpu_device dev[LP_GPU_MAX_DEVICES];
};

/* The calling thread's last failure (last_error()). */
static thread_local char gpu_thread_error[256];

static void gpu_set_error(struct gpu_instance *in, const char *fmt, ...) LP_PRINTF(2, 3);
static void gpu_set_error(struct gpu_instance *in, const char *fmt, ...)
{
    (void)in;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gpu_thread_error, sizeof gpu_thread_error, fmt, ap);
    va_end(ap);
}

#define GPU_TRY(in, call)                                                                          \
    do {                                                                                           \
        gpu_error_t e_ = (call);                                                                   \
        if (e_ != GPU_OK) {                                                                        \
            gpu_set_error((in), "%s failed: %s (%s)", #call, gpu_error_name(e_),                   \
                          gpu_error_string(e_));                                                   \
            return LP_ERR;                                                                         \
        }                                                                                          \
    } while (0)

static int gpu_parse_rotate(const char *s)
{
    if (s == NULL || strcmp(s, "shf") == 0)
        return 0;
    if (strcmp(s, "imad") == 0)
        return 1;
    if (strcmp(s, "mixed") == 0)
        return 2;
    return -1;
}

static int gpu_parse_form(const char *s)
{
    static const char *const names[LP_POW_FORMS] = {"unrolled", "unrolled64", "looped", "pair"};
    if (s == NULL)
        return LP_POW_FORM_LOOPED; /* the default kernel (schema) */
    for (int i = 0; i < LP_POW_FORMS; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* The kernel instantiation for a rotation mode and a form (only form 0 has the IMAD modes). */
static lp_pow_kernel_fn gpu_pick_kernel(int rot_mode, int form)
{
#ifdef LP_POW_HIP
    (void)rot_mode;
    (void)form;
    return lp_pow_search<0, LP_POW_FORM_UNROLLED>;
#else
    switch (form) {
    case LP_POW_FORM_UNROLLED64:
        return lp_pow_search<0, LP_POW_FORM_UNROLLED64>;
    case LP_POW_FORM_LOOPED:
        return lp_pow_search<0, LP_POW_FORM_LOOPED>;
    case LP_POW_FORM_PAIR:
        return lp_pow_search<0, LP_POW_FORM_PAIR>;
    default:
        return rot_mode == 1   ? lp_pow_search<1, LP_POW_FORM_UNROLLED>
               : rot_mode == 2 ? lp_pow_search<2, LP_POW_FORM_UNROLLED>
                               : lp_pow_search<0, LP_POW_FORM_UNROLLED>;
    }
#endif
}

static int gpu_probe(const struct lp_host *host, const void *config, char *reason,
                     size_t reason_len)
{
    (void)config;
    if (host != NULL && LP_HOST_HAS(host, gpu_vendor)) {
        const char *v = host->gpu_vendor(host);
        if (v != NULL && strcmp(v, "auto") != 0 && strcmp(v, LP_GPU_VENDOR) != 0) {
            snprintf(reason, reason_len, "the configuration sets gpu = \"%s\"", v);
            return LP_EUNAVAILABLE;
        }
    }
    int n = 0;
    gpu_error_t e = gpu_get_device_count(&n);
    if (e != GPU_OK) {
        snprintf(reason, reason_len, "%s driver or device not usable (%s: %s)", LP_GPU_RUNTIME,
                 gpu_error_name(e), gpu_error_string(e));
        return LP_EUNAVAILABLE;
    }
    if (n <= 0) {
        snprintf(reason, reason_len, "no %s device", LP_GPU_RUNTIME);
        return LP_EUNAVAILABLE;
    }
    snprintf(reason, reason_len, "%d %s device%s", n, LP_GPU_RUNTIME, n == 1 ? "" : "s");
    return LP_OK;
}

static int gpu_validate(struct gpu_instance *in)
{
    const struct gpu_config *c = &in->cfg;
    if (c->threads_per_block < 32 || c->threads_per_block > LP_POW_MAX_THREADS_PER_BLOCK ||
        c->threads_per_block % 32 != 0) {
        gpu_set_error(in, "threads_per_block = %lld: expected a multiple of 32 in 32..256",
                      (long long)c->threads_per_block);
        return LP_EINVAL;
    }
    if (c->blocks_per_sm < 0 || c->blocks_per_sm > 64) {
        gpu_set_error(in, "blocks_per_sm = %lld: expected 0 (auto) .. 64",
                      (long long)c->blocks_per_sm);
        return LP_EINVAL;
    }
    if (c->hashes_per_thread < 1 || c->hashes_per_thread > 65536) {
        gpu_set_error(in, "hashes_per_thread = %lld: expected 1..65536",
                      (long long)c->hashes_per_thread);
        return LP_EINVAL;
    }
    if (c->max_hits < 16 || c->max_hits > 1048576) {
        gpu_set_error(in, "max_hits = %lld: expected 16..1048576", (long long)c->max_hits);
        return LP_EINVAL;
    }
    in->rot_mode = gpu_parse_rotate(c->rotate);
    if (in->rot_mode < 0) {
        gpu_set_error(in, "rotate = \"%s\": expected \"shf\", \"imad\" or \"mixed\"", c->rotate);
        return LP_EINVAL;
    }
    in->form = gpu_parse_form(c->kernel);
    if (in->form < 0) {
        gpu_set_error(in,
                      "kernel = \"%s\": expected \"unrolled\", \"unrolled64\", \"looped\" or "
                      "\"pair\"",
                      c->kernel);
        return LP_EINVAL;
    }
#ifdef LP_POW_HIP
    in->rot_mode = 0; /* no separate multiply pipe trick on AMD: shifts only */
    in->form = LP_POW_FORM_UNROLLED;
#endif
    if (in->form != LP_POW_FORM_UNROLLED && in->rot_mode != 0) {
        gpu_set_error(in, "kernel = \"%s\" exists with rotate = \"shf\" only", c->kernel);
        return LP_EINVAL;
    }
    if (c->threads_per_block > LP_POW_FORM_MAX_TPB(in->form)) {
        gpu_set_error(in, "threads_per_block = %lld: kernel \"%s\" is built for at most %d",
                      (long long)c->threads_per_block, c->kernel, LP_POW_FORM_MAX_TPB(in->form));
        return LP_EINVAL;
    }
    in->kernel = gpu_pick_kernel(in->rot_mode, in->form);
    return LP_OK;
}

static int gpu_occupancy_blocks(struct gpu_instance *in, int *out)
{
    GPU_TRY(in, gpu_occupancy(out, in->kernel, (int)in->cfg.threads_per_block, 0));
    return LP_OK;
}

/* The device's PCI bus ID and UUID (left "" when the runtime cannot say). */
static void gpu_identify(struct lp_hashrate_device *info, int ordinal, const gpu_props_t *props)
{
    char bus[64] = "";
    if (gpu_pci_bus_id(bus, (int)sizeof bus, ordinal) != GPU_OK ||
        lp_gpu_pci_bus_id_normalise(bus, info->pci_bus_id, sizeof info->pci_bus_id) != 0)
        info->pci_bus_id[0] = '\0';
#ifdef LP_POW_HIP
    (void)props; /* ROCm's hipDeviceProp_t has no UUID member; hipDeviceGetUuid has it */
    hipDevice_t dev;
    hipUUID u;
    if (hipDeviceGet(&dev, ordinal) != hipSuccess || hipDeviceGetUuid(&u, dev) != hipSuccess ||
        lp_gpu_uuid_hip(u.bytes, info->uuid, sizeof info->uuid) != 0)
        info->uuid[0] = '\0';
#else
    lp_gpu_uuid_nvidia((const unsigned char *)props->uuid.bytes, info->uuid, sizeof info->uuid);
#endif
}

/* Opens runtime ordinal `ordinal` as the plugin's device `index`. */
static int gpu_open_device(struct gpu_instance *in, struct gpu_device *d, uint32_t index,
                           int ordinal)
{
    d->ordinal = ordinal;
    GPU_TRY(in, gpu_set_device(ordinal));
    gpu_props_t props;
    GPU_TRY(in, gpu_get_props(&props, ordinal));
    int clock_khz = 0;
    if (gpu_get_attribute(&clock_khz, GPU_ATTR_CLOCK, ordinal) != GPU_OK)
        clock_khz = 0;
    int per_sm = (int)in->cfg.blocks_per_sm;
    if (per_sm == 0) {
        int rc = gpu_occupancy_blocks(in, &per_sm);
        if (rc != LP_OK)
            return rc;
        if (per_sm < 1)
            per_sm = 1;
    }
    d->blocks = (uint32_t)per_sm * (uint32_t)props.multiProcessorCount;
    GPU_TRY(in, gpu_stream_create(&d->stream));
    GPU_TRY(in, gpu_malloc((void **)&d->d_count, sizeof(uint32_t)));
    GPU_TRY(in, gpu_malloc((void **)&d->d_hits, sizeof(uint64_t) * (size_t)in->cfg.max_hits));
    d->h_hits = (uint64_t *)calloc((size_t)in->cfg.max_hits, sizeof(uint64_t));
    if (d->h_hits == NULL) {
        gpu_set_error(in, "out of memory");
        return LP_ERR;
    }

    struct lp_hashrate_device *info = &d->info;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", props.name);
    snprintf(info->vendor, sizeof info->vendor, "%s", LP_GPU_VENDOR);
    info->memory_bytes = props.totalGlobalMem;
    info->compute_units = (uint32_t)props.multiProcessorCount;
    info->clock_mhz = (uint32_t)(clock_khz / 1000);
    /* 64 32-bit integer-ALU results per clock per SM/CU, LP_GPU_OPS_PER_HASH per hash */
    info->peak_hashes_per_s = (uint64_t)props.multiProcessorCount * 64u * (uint64_t)clock_khz *
                              1000u / LP_GPU_OPS_PER_HASH;
    int drv = 0;
    if (gpu_driver_version(&drv) != GPU_OK)
        drv = 0;
#ifdef LP_POW_HIP
    snprintf(info->detail, sizeof info->detail,
             "HIP device %d, %s, driver %d, %u blocks x %lld threads", ordinal, props.gcnArchName,
             drv, d->blocks, (long long)in->cfg.threads_per_block);
#else
    snprintf(
        info->detail, sizeof info->detail,
        "CUDA device %d, sm_%d%d, driver %d.%d, %u blocks x %lld threads, rotate %s, kernel %s",
        ordinal, props.major, props.minor, drv / 1000, (drv % 1000) / 10, d->blocks,
        (long long)in->cfg.threads_per_block,
        in->rot_mode == 1   ? "imad"
        : in->rot_mode == 2 ? "mixed"
                            : "shf",
        in->cfg.kernel ? in->cfg.kernel : "looped");
#endif
    gpu_identify(info, ordinal, &props);
    return LP_OK;
}

static void gpu_close_devices(struct gpu_instance *in)
{
    for (uint32_t i = 0; i < in->ndev; i++) {
        struct gpu_device *d = &in->dev[i];
        if (gpu_set_device(d->ordinal) == GPU_OK) {
            if (d->d_hits)
                (void)gpu_free(d->d_hits);
            if (d->d_count)
                (void)gpu_free(d->d_count);
            if (d->stream)
                (void)gpu_stream_destroy(d->stream);
        }
        free(d->h_hits);
        memset(d, 0, sizeof *d);
    }
    in->ndev = 0;
}

static void gpu_destroy(void *instance)
{
    struct gpu_instance *in = (struct gpu_instance *)instance;
    if (in == NULL)
        return;
    gpu_close_devices(in);
    free(in);
}

/* A failed create(): the reason goes to the host's error log, which is where the core looks
 * for it (there is no instance to ask), and to this thread's last_error(). */
static int gpu_create_failed(struct gpu_instance *in, int rc)
{
    if (in->host != NULL && in->host->log != NULL)
        in->host->log(in->host, LP_LOG_ERROR, "%s", gpu_thread_error);
    gpu_destroy(in);
    return rc;
}

static int gpu_create_devices(struct gpu_instance *in);

static int gpu_create(const struct lp_host *host, const void *config, void **instance)
{
    *instance = NULL;
    struct gpu_instance *in = (struct gpu_instance *)calloc(1, sizeof *in);
    if (in == NULL) {
        gpu_set_error(NULL, "out of memory");
        return LP_ERR;
    }
    in->host = host;
    if (config != NULL) {
        in->cfg = *(const struct gpu_config *)config;
    } else {
        in->cfg.threads_per_block = 128;
        in->cfg.hashes_per_thread = 256;
        in->cfg.max_hits = 4096;
    }
    int rc = gpu_validate(in);
    if (rc == LP_OK)
        rc = gpu_create_devices(in);
    if (rc != LP_OK)
        return gpu_create_failed(in, rc);
    *instance = in;
    return LP_OK;
}

static int gpu_create_devices(struct gpu_instance *in)
{
    int n = 0;
    gpu_error_t e = gpu_get_device_count(&n);
    if (e != GPU_OK || n <= 0) {
        gpu_set_error(in, "no usable %s device (%s)", LP_GPU_RUNTIME,
                      e != GPU_OK ? gpu_error_name(e) : "count 0");
        return LP_EUNAVAILABLE;
    }
    size_t want = in->cfg.devices.count ? in->cfg.devices.count : (size_t)n;
    if (want > LP_GPU_MAX_DEVICES)
        want = LP_GPU_MAX_DEVICES;
    for (size_t i = 0; i < want; i++) {
        int64_t ord = in->cfg.devices.count ? in->cfg.devices.items[i] : (int64_t)i;
        if (ord < 0 || ord >= n) {
            gpu_set_error(in, "devices[%zu] = %lld: this machine has %s devices 0..%d", i,
                          (long long)ord, LP_GPU_RUNTIME, n - 1);
            gpu_close_devices(in);
            return LP_EINVAL;
        }
        for (size_t k = 0; k < i; k++) {
            if (in->cfg.devices.items[k] == ord) {
                gpu_set_error(in, "devices[%zu] = %lld: listed twice (devices[%zu])", i,
                              (long long)ord, k);
                gpu_close_devices(in);
                return LP_EINVAL;
            }
        }
        in->ndev++;
        int rc = gpu_open_device(in, &in->dev[in->ndev - 1], in->ndev - 1, (int)ord);
        if (rc != LP_OK) {
            gpu_close_devices(in);
            return rc;
        }
    }
    return LP_OK;
}

static const char *gpu_last_error(void *instance)
{
    (void)instance;
    return gpu_thread_error[0] ? gpu_thread_error : "no failure on this thread";
}

static int gpu_device_count(void *instance, uint32_t *count)
{
    *count = ((struct gpu_instance *)instance)->ndev;
    return LP_OK;
}

static int gpu_device_info(void *instance, uint32_t device, struct lp_hashrate_device *out)
{
    struct gpu_instance *in = (struct gpu_instance *)instance;
    if (device >= in->ndev) {
        gpu_set_error(in, "device %u: this instance has %u", device, in->ndev);
        return LP_EINVAL;
    }
    /* Only as much as the caller's struct holds: an ABI 1.0 core passes one that ends before
     * pci_bus_id, and what follows it in memory is not ours. */
    uint32_t size = out->struct_size;
    if (size < offsetof(struct lp_hashrate_device, index)) {
        gpu_set_error(in, "device_info: struct_size %u is too small", size);
        return LP_EINVAL;
    }
    if (size > sizeof *out)
        size = sizeof *out;
    memcpy(out, &in->dev[device].info, size);
    out->struct_size = size;
    return LP_OK;
}

/* The nonce nonce_base + offset (offset never carries out of the low 64 bits). */
static void gpu_nonce_at(const uint8_t base[32], uint64_t offset, uint8_t out[32])
{
    memcpy(out, base, 32);
    uint64_t low = lp_pow_load_be64(base + 24) + offset;
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(low >> (8 * i));
}

struct gpu_search {
    struct gpu_instance *in;
    struct gpu_device *d;
    struct lp_pow_kernel_params p;
    const struct lp_pow_work *work;
    const uint8_t *nonce_base;
    uint64_t base_low;
    struct lp_pow_solution *solutions;
    size_t max_solutions;
    size_t found;
};

static int gpu_launch(struct gpu_search *s, uint64_t offset, uint64_t count)
{
    struct gpu_device *d = s->d;
    const uint64_t tpb = (uint64_t)s->in->cfg.threads_per_block;
    uint64_t blocks = (count + tpb - 1) / tpb;
    if (blocks > d->blocks)
        blocks = d->blocks;
    s->p.nonce_low_base = s->base_low + offset;
    s->p.count = count;
    s->p.hit_offset = offset;
    s->in->kernel<<<(unsigned)blocks, (unsigned)tpb, 0, d->stream>>>(s->p, d->d_count, d->d_hits);
    GPU_TRY(s->in, gpu_get_last_error());
    return LP_OK;
}

/* Hashes offsets [offset, offset + count) and re-checks the candidates. */
static int gpu_search_range(struct gpu_search *s, uint64_t offset, uint64_t count)
{
    struct gpu_instance *in = s->in;
    struct gpu_device *d = s->d;
    const uint64_t per_launch = (uint64_t)d->blocks * (uint64_t)in->cfg.threads_per_block *
                                (uint64_t)in->cfg.hashes_per_thread;
    GPU_TRY(in, gpu_memset_async(d->d_count, 0, sizeof(uint32_t), d->stream));
    for (uint64_t done = 0; done < count;) {
        uint64_t n = count - done < per_launch ? count - done : per_launch;
        int rc = gpu_launch(s, offset + done, n);
        if (rc != LP_OK)
            return rc;
        done += n;
    }
    uint32_t hits = 0;
    GPU_TRY(in, gpu_memcpy_async(&hits, d->d_count, sizeof hits, gpu_memcpy_d2h, d->stream));
    GPU_TRY(in, gpu_stream_sync(d->stream));
    if (hits > (uint32_t)in->cfg.max_hits) {
        /* more candidates than room: search both halves again (count > max_hits here) */
        uint64_t half = count / 2;
        int rc = gpu_search_range(s, offset, half);
        return rc != LP_OK ? rc : gpu_search_range(s, offset + half, count - half);
    }
    if (hits == 0)
        return LP_OK;
    GPU_TRY(in, gpu_memcpy_async(d->h_hits, d->d_hits, sizeof(uint64_t) * hits, gpu_memcpy_d2h,
                                 d->stream));
    GPU_TRY(in, gpu_stream_sync(d->stream));
    for (uint32_t k = 0; k < hits; k++) {
        uint8_t msg[64], digest[32];
        memcpy(msg, s->work->challenge, 32);
        gpu_nonce_at(s->nonce_base, d->h_hits[k], msg + 32);
        lp_keccak256(msg, sizeof msg, digest);
        if (memcmp(digest, s->work->target, 32) >= 0)
            continue; /* the 32-bit prefilter's false positive */
        if (s->found < s->max_solutions) {
            memcpy(s->solutions[s->found].nonce, msg + 32, 32);
            memcpy(s->solutions[s->found].digest, digest, 32);
        }
        s->found++;
    }
    return LP_OK;
}

static int gpu_mine(void *instance, uint32_t device, const struct lp_pow_work *work,
                    const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                    struct lp_pow_solution *solutions, size_t max_solutions, size_t *found)
{
    struct gpu_instance *in = (struct gpu_instance *)instance;
    *hashes_done = 0;
    *found = 0;
    if (device >= in->ndev) {
        gpu_set_error(in, "device %u: this instance has %u", device, in->ndev);
        return LP_EINVAL;
    }
    struct gpu_search s;
    memset(&s, 0, sizeof s);
    s.in = in;
    s.d = &in->dev[device];
    s.work = work;
    s.nonce_base = nonce_base;
    s.base_low = lp_pow_load_be64(nonce_base + 24);
    s.solutions = solutions;
    s.max_solutions = max_solutions;
    if (count > UINT64_MAX - s.base_low + 1 && s.base_low != 0) {
        gpu_set_error(in, "the batch wraps the nonce's low 64 bits");
        return LP_EINVAL;
    }
    uint64_t mid[25];
    lp_pow_midstate(work->challenge, nonce_base, mid);
    for (int i = 0; i < 25; i++)
        s.p.mid[i] = make_uint2((uint32_t)mid[i], (uint32_t)(mid[i] >> 32));
    s.p.target_top32 = (uint32_t)(lp_pow_load_be64(work->target) >> 32);
    s.p.max_hits = (uint32_t)in->cfg.max_hits;
    for (int i = 0; i < 32; i++)
        s.p.mul[i] = 1u << i;
    GPU_TRY(in, gpu_set_device(s.d->ordinal));

    const uint64_t per_sync = (uint64_t)s.d->blocks * (uint64_t)in->cfg.threads_per_block *
                              (uint64_t)in->cfg.hashes_per_thread * LP_GPU_LAUNCHES_PER_SYNC;
    uint64_t done = 0;
    int rc = LP_OK;
    while (done < count) {
        if (in->host != NULL && LP_HOST_HAS(in->host, cancelled) && in->host->cancelled(in->host))
            break;
        uint64_t n = count - done < per_sync ? count - done : per_sync;
        rc = gpu_search_range(&s, done, n);
        if (rc != LP_OK)
            break;
        done += n;
    }
    *hashes_done = done;
    *found = s.found < max_solutions ? s.found : max_solutions;
    return rc;
}

static const struct lp_hashrate_ops gpu_ops = {
    /* .life = */ {gpu_probe, gpu_create, NULL, NULL, gpu_destroy, gpu_last_error},
    /* .device_count = */ gpu_device_count,
    /* .device_info = */ gpu_device_info,
    /* .mine = */ gpu_mine,
};

#endif /* LP_GPU_PLUGIN_IMPL_H */
