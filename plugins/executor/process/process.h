/* executor/process: the embedded default executor. Internal interfaces between its files. */
#ifndef LP_EXECUTOR_PROCESS_H
#define LP_EXECUTOR_PROCESS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <lilypad/executor.h>

#include "image/store.h"

/* The plugin's configuration (schema in process_plugin.c). */
struct lp_process_config {
    const char *bwrap;        /* path of bubblewrap */
    const char *image_store;  /* "" = <data_dir>/images (host->data_dir) */
    const char *work_dir;     /* per-job directories; "" = <data_dir>/jobs */
    uint64_t default_timeout; /* ms, when the job's limits give none */
    uint64_t kill_grace;      /* ms between SIGTERM and SIGKILL (needs a cgroup) */
    const char *rootfs;       /* auto | overlay | copy | readonly */
    const char *cgroup;       /* auto | none */
    int64_t default_max_pids; /* when limits->max_pids is 0 */
    const char *network;      /* egress | none: what a job asking for network gets */
    const char *slirp4netns;  /* path of slirp4netns (user-mode networking) */
    const char *nft;          /* path of nft (the job's firewall) */
    uint64_t default_memory;  /* bytes, when limits->memory_bytes is 0 (0: none) */
    uint64_t default_disk;    /* bytes, the /outputs cap when limits->disk_bytes is 0 (0: none) */
};

enum lp_rootfs_mode { LP_ROOTFS_READONLY, LP_ROOTFS_COPY, LP_ROOTFS_OVERLAY };

/* ---- cgroups (process_cgroup.c) ----------------------------------------------------------- */
#define LP_CGROUP_MAX_DIRS 4 /* v1: memory, pids, cpu, cpuacct; v2: one */

struct lp_proc_cgroup {
    int version;                             /* 0 none, 1 or 2 */
    char dirs[LP_CGROUP_MAX_DIRS][PATH_MAX]; /* one per v1 hierarchy, one for v2 */
    size_t count;
    bool memory, pids, cpu;     /* which limits the cgroup enforces */
    char memory_dir[PATH_MAX];  /* memory events and peak usage; "" without a memory cgroup */
    char cpuacct_dir[PATH_MAX]; /* CPU time (v1 cpuacct.usage, v2 cpu.stat); "" without */
};

/* What a job used; 0 where it is not known. */
struct lp_proc_usage {
    uint64_t peak_memory_bytes;
    uint64_t cpu_time_ns;
};

/* Creates the job's cgroup(s) and writes the limits it can. The memory and CPU-accounting
 * cgroups are made even when the job sets no limit there, to measure its peak memory and CPU
 * time. Never fails: with no writable cgroup it returns version 0 and the caller falls back to
 * rlimits. */
void lp_proc_cgroup_create(struct lp_proc_cgroup *cg, const char *job_id,
                           const struct lp_job_limits *limits, uint32_t max_pids, bool allowed);
/* Removes the job cgroups a dead process left behind (a provider killed with SIGKILL), killing
 * what still runs in them: bwrap's sandbox init does not die with bwrap's parent, so without
 * this a killed provider's jobs would run on, unlimited by any timeout. Returns the number of
 * cgroups removed; *processes the number of processes killed. Root only; 0 otherwise. */
int lp_proc_cgroup_sweep(int *processes);
/* The name a job's bwrap runs under (its argv[0], the only part of its command line besides
 * the job's own entrypoint: the rest, host paths included, goes through --args, so a job that
 * reads /proc/1/cmdline learns nothing of the host). "lilypad-sandbox:TAG:JOB", TAG a hash of
 * the work_dir; job_id NULL gives the prefix every job of that work_dir shares. */
void lp_proc_sandbox_marker(const char *work_dir, const char *job_id, char *out, size_t cap);
/* Kills the sandboxes of work_dir (of its job job_id only, unless NULL), found by their marker,
 * whose bwrap is gone (process_orphans.c); returns how many. */
int lp_proc_kill_orphans(const char *bwrap, const char *work_dir, const char *job_id);
/* In the forked child: moves the calling process into the cgroup(s). Async-signal-safe. */
int lp_proc_cgroup_enter(const struct lp_proc_cgroup *cg);
/* Signals every process in the cgroup but `spare` (0: none); returns how many were signalled
 * (a process in several v1 hierarchies counts once per hierarchy). */
int lp_proc_cgroup_signal(const struct lp_proc_cgroup *cg, int sig, pid_t spare);
/* True when the kernel killed a process of the cgroup for exceeding its memory limit. */
bool lp_proc_cgroup_oom(const struct lp_proc_cgroup *cg);
/* The cgroup's peak memory and CPU time so far (members it cannot tell stay 0). */
void lp_proc_cgroup_usage(const struct lp_proc_cgroup *cg, struct lp_proc_usage *u);
void lp_proc_cgroup_destroy(struct lp_proc_cgroup *cg);
/* "cgroup v1 (memory pids cpu)" or "rlimits (no writable cgroup)" for the log. */
void lp_proc_cgroup_describe(const struct lp_proc_cgroup *cg, char *out, size_t len);

/* ---- network (process_network.c) --------------------------------------------------------- */
/* A job's network: its own namespace, firewalled by nft, outbound through slirp4netns. */
struct lp_proc_net {
    bool prepared; /* lp_proc_net_prepare ran: the fds below are set (-1 or open) */
    bool enabled;  /* the job has a network: the child makes the namespace */
    bool dns;      /* slirp4netns's DNS forwarder is on (no domain list) */
    char *args[8]; /* bwrap arguments (--share-net, binds of /etc files), NULL-terminated */
    size_t argc;
    char rules[PATH_MAX + 32]; /* the job's nftables ruleset */
    int sync[2];               /* socketpair: [0] the monitor's end, [1] the child's */
    pid_t slirp;               /* 0: not running */
    int slirp_exit;            /* write end of slirp4netns's --exit-fd: closing it stops it */
};

struct lp_process;
struct lp_proc_job;

/* At create(): can this instance give a job outbound network here (the tools, root, a
 * firewall the kernel loads)? Sets p->net_egress, p->net_runtime and p->net_reason. */
void lp_proc_net_setup(struct lp_process *p);
/* At submit, for a job whose limits ask for network: resolves its domains and writes its
 * firewall, /etc/hosts and /etc/resolv.conf into the job's folder. LP_OK, or an error code
 * with the reason recorded (LP_EUNAVAILABLE when this instance gives no network). */
int lp_proc_net_prepare(struct lp_process *p, struct lp_proc_job *job, const char *image_root);
/* In the forked child: makes the namespace and waits until the monitor has set it up; exits
 * the child on failure. Nothing for a job without network. */
void lp_proc_net_child(const struct lp_proc_net *net);
/* On the monitor thread, right after the fork: loads the firewall into the child's namespace,
 * starts slirp4netns on it, and lets the child go on. 0, or -1 with why. */
int lp_proc_net_attach(struct lp_process *p, struct lp_proc_job *job, pid_t child, char *why,
                       size_t len);
/* Stops slirp4netns and frees what prepare took (again: nothing). */
void lp_proc_net_stop(struct lp_proc_job *job);

/* ---- jobs (process_job.c) ---------------------------------------------------------------- */

struct lp_proc_job {
    struct lp_proc_job *next;
    struct lp_process *owner;
    char id[64];
    char dir[PATH_MAX];
    char outputs[PATH_MAX];
    char inputs[PATH_MAX];

    /* prepared before the fork, read by the child */
    char **argv; /* marker, "--args", "4", "--", the entrypoint */
    int args_fd; /* memfd with bwrap's options, NUL-separated; -1 none */
    char **envp;
    enum lp_rootfs_mode rootfs_mode;
    char overlay_opts[3 * PATH_MAX + 64];
    char root[PATH_MAX];
    struct lp_job_limits limits;
    uint64_t timeout_ms;
    bool rlimit_memory, rlimit_pids;
    uint32_t max_pids;
    struct lp_proc_cgroup cg;
    struct lp_proc_net net;

    /* run state, under owner->lock */
    pthread_t monitor;
    bool monitor_running;
    bool spawned; /* the fork happened (or failed): submit may return */
    pid_t pid;
    int wake[2]; /* cancel() writes here */
    bool cancel_requested;
    struct lp_job_status status;
    /* Threads blocked in wait() on this job; release() unlinks the job, sets `released`, wakes
     * them and frees the job only once they have all left. */
    unsigned waiters;
    bool released;
};

struct lp_process {
    const struct lp_host *host;
    struct lp_process_config cfg;
    struct lp_image_store store;
    char work_dir[PATH_MAX];
    enum lp_rootfs_mode rootfs_mode;
    struct lp_executor_info info; /* what describe() reports, settled at create */
    bool net_egress;              /* jobs asking for network get it (process_network.c) */
    char net_runtime[48];         /* "egress by slirp4netns", "no network: ..." */
    char net_reason[400];         /* why not, with the hint */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* on CLOCK_MONOTONIC: a job changed state or left */
    struct lp_proc_job *jobs;
    uint64_t seq;
};

/* ---- errors (process_plugin.c) ------------------------------------------------------------ */
/* Records the calling thread's last failure, which last_error() returns on that thread, and
 * logs it as an error. */
void lp_proc_set_error(const struct lp_process *p, const char *fmt, ...) LP_PRINTF(2, 3);

/* Text a caller may pass on (last_error, a job's status message) without the host's layout:
 * the job's folder, its inputs and outputs folders, the work_dir and the image store become
 * <job>, /inputs, /outputs, <jobs> and <images> (process_text.c). job may be NULL. */
void lp_proc_neutral_text(const struct lp_process *p, const struct lp_proc_job *job,
                          const char *text, char *out, size_t cap);

/* ---- what this instance can do (process_describe.c) --------------------------------------- */
/* Fills p->info: bubblewrap's version (run once), and the limits a probe cgroup, created and
 * removed at once, shows this machine enforces. */
void lp_proc_describe_init(struct lp_process *p);

/* Prepares and starts a job (the monitor thread forks bwrap). LP_OK with *out filled, or an
 * error code with the reason recorded by lp_proc_set_error. */
int lp_proc_job_start(struct lp_process *p, const struct lp_job_spec *spec, const char *inputs_dir,
                      const char *outputs_dir, const struct lp_job_limits *limits,
                      struct lp_proc_job **out);
/* Asks a running job to stop (state CANCELLED). The _locked form: caller holds owner->lock. */
void lp_proc_job_cancel(struct lp_proc_job *job);
void lp_proc_job_cancel_locked(struct lp_proc_job *job);
/* Waits for the monitor, removes the job's files and cgroup, frees it (already unlinked). */
void lp_proc_job_free(struct lp_proc_job *job);

/* Can this process mount overlayfs in a private mount namespace? (root, kernel support) */
bool lp_proc_overlay_works(const char *scratch_dir);

#endif
