/*
 * Executor concern: runs a module's container (process, docker, bacalhau).
 *
 * submit() returns at once with a handle; the core polls until the job is done, reads its
 * logs and releases it. Inputs are mounted read-only at /inputs, outputs writable at /outputs.
 */
#ifndef LILYPAD_EXECUTOR_H
#define LILYPAD_EXECUTOR_H

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

struct lp_job_status {
    uint32_t struct_size;
    uint32_t state;       /* enum lp_job_state */
    int32_t exit_code;    /* valid in LP_JOB_EXITED */
    uint64_t started_ns;  /* realtime; 0 until running */
    uint64_t finished_ns; /* realtime; 0 until done */
    char message[256];    /* why it failed, in one line */
};

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
};

#ifdef __cplusplus
}
#endif

#endif /* LILYPAD_EXECUTOR_H */
