/*
 * Executor concern: runs a module's container (process, docker, bacalhau).
 *
 * submit() returns at once with a handle (slow preparation such as an image pull happens while
 * the job is PENDING); the core waits (wait(), else poll()) until the job is done, reads its
 * logs and releases it. Inputs are mounted read-only at /inputs, outputs writable at /outputs.
 * Required ops: submit and poll.
 *
 * ABI 1.1 appends: the GPU devices to attach (lp_job_limits.gpu_devices), what the executor can
 * attach and enforce (describe), the out-of-memory flag, peak memory and CPU time of a job
 * (lp_job_status), logs from a byte offset (logs_from) and a blocking wait with a timeout;
 * and the names a networked job may reach (network_domains, with LP_EXEC_ATTACH_EGRESS).
 *
 * ABI 1.2 appends: who runs a job and for which deal (lp_job_spec.owner, .job_id), so that an
 * executor whose jobs outlive the provider's process (a container engine, a cluster) can label
 * them, and reclaim(), which removes what an earlier run of the same owner left behind.
 */
#ifndef LILYPAD_EXECUTOR_H
#define LILYPAD_EXECUTOR_H

#include <string.h>

#include <lilypad/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lp_job_spec {
    uint32_t struct_size;
    const char *image;             /* "busybox:1.36" or "name@sha256:..." */
    const char *const *entrypoint; /* argv; count entries */
    size_t entrypoint_count;
    const char *const *env; /* "KEY=VALUE"; count entries */
    size_t env_count;
    const char *workdir; /* may be NULL */

    /* ---- ABI 1.2 ---- */
    /* Who runs the job: "0x" and the provider's address in lower-case hex; and what for: "0x"
     * and the deal ID in lower-case hex. An executor whose jobs outlive the provider's process
     * labels them with both, so reclaim() finds them after a restart. NULL from a 1.1 core. */
    const char *owner;
    const char *job_id;
};

/* One GPU the core hands to a job (ABI 1.1). Frozen: never extended, so it can be an array
 * element; the identifiers are the ones the hashrate plugin reported for the device. */
struct lp_gpu_device {
    char vendor[16];     /* "nvidia", "amd" */
    uint32_t index;      /* the hashrate plugin's device number: not always what nvidia-smi,
                            docker or the runtime number it, so match by uuid, then pci_bus_id */
    char uuid[48];       /* "GPU-5b2c9d2e-..." (NVIDIA), the HIP UUID (AMD); "" when unknown */
    char pci_bus_id[32]; /* "0000:3b:00.0"; "" when unknown */
};

struct lp_job_limits {
    uint32_t struct_size;
    uint32_t cpu_millicores; /* 1000 = one core; 0 = no limit */
    uint32_t gpus;           /* GPUs to attach */
    uint32_t max_pids;       /* 0 = the executor's default */
    uint64_t memory_bytes;   /* 0 = no limit */
    uint64_t disk_bytes;     /* /outputs quota where supported; 0 = no limit */
    uint64_t timeout_ms;     /* wall clock; 0 = none */
    bool network;            /* false: no network at all */

    /* ---- ABI 1.1 ---- */
    /* The GPUs to attach, `gpus` of them, chosen by the core (the provider's slot). NULL with
     * gpus > 0 only from a 1.0 core: then any `gpus` GPUs. */
    const struct lp_gpu_device *gpu_devices;
    /* With `network`: the only host names (or IPv4 literals) the job may reach, at the
     * addresses they resolve to when the job starts; count entries. NULL or 0: any address
     * outside the provider's machine and local networks. Honoured only by an executor that
     * declares LP_EXEC_ATTACH_EGRESS. */
    const char *const *network_domains;
    size_t network_domain_count;
};

/* What an executor can do on this machine (ABI 1.1, describe()). */
#define LP_EXEC_ATTACH_NVIDIA  (1u << 0) /* attaches NVIDIA GPUs */
#define LP_EXEC_ATTACH_AMD     (1u << 1) /* attaches AMD GPUs */
#define LP_EXEC_ATTACH_NETWORK (1u << 2) /* gives a job network access when limits ask for it */
/* The network it gives is outbound only: the provider's machine (its loopback and its own
 * addresses) and local networks (private, link-local, its own subnets) are unreachable, and
 * lp_job_limits.network_domains is honoured. */
#define LP_EXEC_ATTACH_EGRESS (1u << 3)

#define LP_EXEC_LIMIT_MEMORY  (1u << 0)
#define LP_EXEC_LIMIT_CPU     (1u << 1)
#define LP_EXEC_LIMIT_PIDS    (1u << 2)
#define LP_EXEC_LIMIT_DISK    (1u << 3) /* caps /outputs */
#define LP_EXEC_LIMIT_TIMEOUT (1u << 4)

struct lp_executor_info {
    uint32_t struct_size; /* set by the core; write no more than it says */
    uint32_t attach;      /* LP_EXEC_ATTACH_* */
    uint32_t enforces;    /* LP_EXEC_LIMIT_*: the limits it enforces here, not merely accepts */
    char runtime[96];     /* "bubblewrap 0.8.0, cgroup v2", "docker 24.0.7 (API 1.43)" */
};

enum lp_job_state {
    LP_JOB_PENDING = 0,
    LP_JOB_RUNNING = 1,
    LP_JOB_EXITED = 2, /* ran to the end; see exit_code */
    LP_JOB_FAILED = 3, /* could not run (image missing, sandbox error): see message */
    LP_JOB_CANCELLED = 4,
    LP_JOB_TIMED_OUT = 5,
};

struct lp_job_handle {
    char id[128]; /* the executor's own identifier, NUL-terminated */
};

/* The core sets struct_size before poll() and wait(); the plugin writes no more than that and
 * sets struct_size to what it wrote (an older plugin writes a shorter struct; the core zeroes
 * the rest). */
struct lp_job_status {
    uint32_t struct_size;
    uint32_t state;       /* enum lp_job_state */
    int32_t exit_code;    /* valid in LP_JOB_EXITED */
    uint64_t started_ns;  /* realtime; 0 until running */
    uint64_t finished_ns; /* realtime; 0 until done */
    char message[256];    /* why it failed, in one line */

    /* ---- ABI 1.1 ---- */
    uint64_t peak_memory_bytes; /* highest memory use seen; 0 when unknown */
    uint64_t cpu_time_ns;       /* user + system CPU time of the job; 0 when unknown */
    uint32_t oom_killed; /* nonzero: killed for exceeding its memory limit (state EXITED with the
                            kill's exit code, or FAILED) */
};

/* The bytes of struct lp_job_status every core reads: up to the end of the 1.0 members. */
#define LP_JOB_STATUS_SIZE_1_0                                                                     \
    (offsetof(struct lp_job_status, message) + sizeof(((struct lp_job_status *)0)->message))

/* For a plugin's poll() and wait(): copies `status` into the core's *out, no more than
 * out->struct_size bytes, and sets struct_size to what was written. false (nothing written)
 * when out is NULL or smaller than the 1.0 struct: the caller reports LP_EINVAL. */
static inline bool lp_job_status_fill(struct lp_job_status *out, const struct lp_job_status *status)
{
    if (out == NULL || out->struct_size < LP_JOB_STATUS_SIZE_1_0)
        return false;
    size_t size = out->struct_size < sizeof *out ? out->struct_size : sizeof *out;
    memcpy(out, status, size);
    out->struct_size = (uint32_t)size;
    return true;
}

enum lp_log_stream { LP_STREAM_STDOUT = 1, LP_STREAM_STDERR = 2 };

/* Receives log bytes; return nonzero to stop early. */
typedef int (*lp_write_fn)(void *arg, const void *data, size_t len);

struct lp_executor_ops {
    struct lp_lifecycle_ops life;

    int (*submit)(void *instance, const struct lp_job_spec *spec, const char *inputs_dir,
                  const char *outputs_dir, const struct lp_job_limits *limits,
                  struct lp_job_handle *out);
    int (*poll)(void *instance, const struct lp_job_handle *job, struct lp_job_status *out);
    int (*cancel)(void *instance, const struct lp_job_handle *job);
    int (*logs)(void *instance, const struct lp_job_handle *job, int stream, lp_write_fn write,
                void *arg);
    /* Forget the job and free what it holds (container, rootfs copy). */
    int (*release)(void *instance, const struct lp_job_handle *job);

    /* ---- ABI 1.1 ---- */

    /* What this instance can attach and enforce on this machine; LP_OK with *out filled. */
    int (*describe)(void *instance, struct lp_executor_info *out);
    /* The stream's bytes from `offset` on, as far as written so far (so a running job's logs
     * can be followed); *next_offset receives the offset after the last byte delivered. */
    int (*logs_from)(void *instance, const struct lp_job_handle *job, int stream, uint64_t offset,
                     lp_write_fn write, void *arg, uint64_t *next_offset);
    /* Blocks until the job is no longer PENDING or RUNNING, or timeout_ms passes (0: return
     * at once), then fills *out as poll() does. The core calls it without the instance lock
     * only when the plugin is LP_CAP_THREADSAFE; otherwise in short slices. */
    int (*wait)(void *instance, const struct lp_job_handle *job, uint64_t timeout_ms,
                struct lp_job_status *out);

    /* ---- ABI 1.2 ---- */
    /* Removes what earlier runs of `owner` (lp_job_spec.owner) left behind: every job it
     * submitted, running or not, whose handle is not among the `keep_count` handles in `keep`
     * (the jobs a restarted provider still follows). The core calls it once at start, before
     * any submit; *removed (never NULL) receives how many jobs were removed. */
    int (*reclaim)(void *instance, const char *owner, const struct lp_job_handle *keep,
                   size_t keep_count, size_t *removed);
};

#ifdef __cplusplus
}
#endif

#endif /* LILYPAD_EXECUTOR_H */
