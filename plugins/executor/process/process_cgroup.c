/* Per-job cgroups for memory, pids and CPU limits, and for measuring a job's peak memory and
 * CPU time: cgroup v2 when /sys/fs/cgroup is the unified hierarchy and writable, else the v1
 * memory/pids/cpu/cpuacct hierarchies, else nothing (the job then gets rlimits and its usage
 * comes from wait4(), see process_job.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process.h"

#define CG_ROOT "/sys/fs/cgroup"

static int write_file(const char *dir, const char *name, const char *value)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int mkdir_one(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static bool try_v2(struct lp_proc_cgroup *cg, const char *job_id,
                   const struct lp_job_limits *limits, uint32_t max_pids)
{
    char path[PATH_MAX];
    if (access(CG_ROOT "/cgroup.controllers", F_OK) != 0)
        return false;
    /* Controllers must be enabled on every level above the job; the root can do that only
     * when it has no processes of its own in the way (containers often cannot). */
    (void)write_file(CG_ROOT, "cgroup.subtree_control", "+memory +pids +cpu");
    snprintf(path, sizeof path, CG_ROOT "/lilypad");
    if (mkdir_one(path) != 0)
        return false;
    (void)write_file(path, "cgroup.subtree_control", "+memory +pids +cpu");
    snprintf(cg->dirs[0], sizeof cg->dirs[0], CG_ROOT "/lilypad/%s", job_id);
    if (mkdir_one(cg->dirs[0]) != 0)
        return false;
    cg->count = 1;
    cg->version = 2;
    /* cpu.stat is a core file of every v2 cgroup: CPU time needs no controller. */
    snprintf(cg->cpuacct_dir, sizeof cg->cpuacct_dir, "%s", cg->dirs[0]);
    /* The memory files appear only where the controller is enabled. */
    snprintf(path, sizeof path, "%s/memory.current", cg->dirs[0]);
    if (access(path, F_OK) == 0)
        snprintf(cg->memory_dir, sizeof cg->memory_dir, "%s", cg->dirs[0]);
    char v[64];
    if (limits->memory_bytes && cg->memory_dir[0]) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)limits->memory_bytes);
        cg->memory = write_file(cg->dirs[0], "memory.max", v) == 0;
        (void)write_file(cg->dirs[0], "memory.swap.max", "0");
    }
    if (max_pids) {
        snprintf(v, sizeof v, "%u", max_pids);
        cg->pids = write_file(cg->dirs[0], "pids.max", v) == 0;
    }
    if (limits->cpu_millicores) {
        snprintf(v, sizeof v, "%llu 100000", (unsigned long long)limits->cpu_millicores * 100);
        cg->cpu = write_file(cg->dirs[0], "cpu.max", v) == 0;
    }
    return true;
}

/* One v1 hierarchy: <root>/<controller>/lilypad/<job>. Controllers mounted together
 * (cpu,cpuacct behind two symlinks) share one directory, joined once. */
static bool v1_dir(struct lp_proc_cgroup *cg, const char *controller, const char *job_id, char *out,
                   size_t len)
{
    char path[PATH_MAX], hierarchy[PATH_MAX];
    snprintf(path, sizeof path, CG_ROOT "/%s", controller);
    if (realpath(path, hierarchy) == NULL || access(hierarchy, W_OK) != 0)
        return false;
    snprintf(path, sizeof path, "%s/lilypad", hierarchy);
    if (mkdir_one(path) != 0)
        return false;
    if (snprintf(out, len, "%s/lilypad/%s", hierarchy, job_id) >= (int)len || mkdir_one(out) != 0)
        return false;
    for (size_t i = 0; i < cg->count; i++)
        if (strcmp(cg->dirs[i], out) == 0)
            return true;
    if (cg->count == LP_CGROUP_MAX_DIRS)
        return false;
    snprintf(cg->dirs[cg->count++], sizeof cg->dirs[0], "%s", out);
    return true;
}

static void try_v1(struct lp_proc_cgroup *cg, const char *job_id,
                   const struct lp_job_limits *limits, uint32_t max_pids)
{
    char dir[PATH_MAX], v[64];
    if (v1_dir(cg, "memory", job_id, dir, sizeof dir)) {
        snprintf(cg->memory_dir, sizeof cg->memory_dir, "%s", dir);
        if (limits->memory_bytes) {
            snprintf(v, sizeof v, "%llu", (unsigned long long)limits->memory_bytes);
            cg->memory = write_file(dir, "memory.limit_in_bytes", v) == 0;
            (void)write_file(dir, "memory.memsw.limit_in_bytes", v); /* absent without swap
                                                                         accounting */
        }
    }
    if (max_pids && v1_dir(cg, "pids", job_id, dir, sizeof dir)) {
        snprintf(v, sizeof v, "%u", max_pids);
        cg->pids = write_file(dir, "pids.max", v) == 0;
    }
    if (limits->cpu_millicores && v1_dir(cg, "cpu", job_id, dir, sizeof dir)) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)limits->cpu_millicores * 100);
        cg->cpu = write_file(dir, "cpu.cfs_period_us", "100000") == 0 &&
                  write_file(dir, "cpu.cfs_quota_us", v) == 0;
    }
    if (v1_dir(cg, "cpuacct", job_id, dir, sizeof dir))
        snprintf(cg->cpuacct_dir, sizeof cg->cpuacct_dir, "%s", dir);
    if (cg->count > 0)
        cg->version = 1;
}

void lp_proc_cgroup_create(struct lp_proc_cgroup *cg, const char *job_id,
                           const struct lp_job_limits *limits, uint32_t max_pids, bool allowed)
{
    memset(cg, 0, sizeof *cg);
    if (!allowed || geteuid() != 0)
        return;
    /* Named after the process that owns the job, so a later run can tell whose it is. */
    char name[128];
    snprintf(name, sizeof name, "%ld-%s", (long)getpid(), job_id);
    if (try_v2(cg, name, limits, max_pids))
        return;
    cg->count = 0;
    try_v1(cg, name, limits, max_pids);
}

/* The owner's pid in a job cgroup's name ("<pid>-p3-..." or "probe-<pid>-1"); 0 if none. */
static long owner_of(const char *name)
{
    if (strncmp(name, "probe-", 6) == 0)
        name += 6;
    char *end;
    long pid = strtol(name, &end, 10);
    return end != name && *end == '-' && pid > 0 ? pid : 0;
}

/* Kills what is left in one orphaned job cgroup and removes it; the number killed. */
static int reap_cgroup(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    int killed = 0;
    for (int pass = 0; pass < 50; pass++) {
        FILE *f = fopen(path, "re");
        if (f == NULL)
            break;
        long pid;
        int seen = 0;
        while (fscanf(f, "%ld", &pid) == 1)
            if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
                seen++;
        fclose(f);
        killed += pass == 0 ? seen : 0;
        if (rmdir(dir) == 0 || errno != EBUSY)
            break;
        usleep(10000);
    }
    return killed;
}

int lp_proc_cgroup_sweep(int *processes)
{
    static const char *const hierarchies[] = {CG_ROOT, CG_ROOT "/memory", CG_ROOT "/pids",
                                              CG_ROOT "/cpu", CG_ROOT "/cpuacct"};
    int removed = 0;
    *processes = 0;
    if (geteuid() != 0)
        return 0;
    for (size_t h = 0; h < sizeof hierarchies / sizeof hierarchies[0]; h++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/lilypad", hierarchies[h]);
        DIR *d = opendir(dir);
        if (d == NULL)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            long owner = owner_of(e->d_name);
            /* A live owner (or a pid now reused by another process) keeps its cgroups. */
            if (owner == 0 || kill((pid_t)owner, 0) == 0 || errno != ESRCH)
                continue;
            char path[PATH_MAX + 256];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            *processes += reap_cgroup(path);
            removed++;
        }
        closedir(d);
    }
    return removed;
}

int lp_proc_cgroup_enter(const struct lp_proc_cgroup *cg)
{
    /* Only open/write/close here: this runs between fork and exec. */
    int rc = 0;
    for (size_t i = 0; i < cg->count; i++) {
        char path[PATH_MAX + 16];
        size_t n = strlen(cg->dirs[i]);
        if (n + sizeof "/cgroup.procs" > sizeof path)
            return -1;
        memcpy(path, cg->dirs[i], n);
        memcpy(path + n, "/cgroup.procs", sizeof "/cgroup.procs");
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
            rc = -1;
        if (fd >= 0)
            close(fd);
    }
    return rc;
}

int lp_proc_cgroup_signal(const struct lp_proc_cgroup *cg, int sig, pid_t spare)
{
    int count = 0;
    for (size_t i = 0; i < cg->count; i++) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/cgroup.procs", cg->dirs[i]);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        long pid;
        while (fscanf(f, "%ld", &pid) == 1)
            if (pid > 0 && pid != spare && kill((pid_t)pid, sig) == 0)
                count++;
        fclose(f);
    }
    return count;
}

static long long read_key(const char *dir, const char *file, const char *key)
{
    char path[PATH_MAX + 64], line[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    long long value = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f) != NULL) {
        if (key[0] == '\0') {
            value = atoll(line);
            break;
        }
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            value = atoll(line + klen + 1);
            break;
        }
    }
    fclose(f);
    return value;
}

bool lp_proc_cgroup_oom(const struct lp_proc_cgroup *cg)
{
    if (!cg->memory)
        return false;
    if (cg->version == 2)
        return read_key(cg->memory_dir, "memory.events", "oom_kill") > 0;
    long long kills = read_key(cg->memory_dir, "memory.oom_control", "oom_kill");
    if (kills >= 0)
        return kills > 0;
    return read_key(cg->memory_dir, "memory.failcnt", "") > 0;
}

void lp_proc_cgroup_usage(const struct lp_proc_cgroup *cg, struct lp_proc_usage *u)
{
    memset(u, 0, sizeof *u);
    long long v = -1;
    if (cg->memory_dir[0] != '\0')
        /* v2's memory.peak needs Linux 5.19; without it the caller falls back to wait4(). */
        v = read_key(cg->memory_dir, cg->version == 2 ? "memory.peak" : "memory.max_usage_in_bytes",
                     "");
    if (v > 0)
        u->peak_memory_bytes = (uint64_t)v;
    v = -1;
    if (cg->cpuacct_dir[0] != '\0') {
        if (cg->version == 2) {
            v = read_key(cg->cpuacct_dir, "cpu.stat", "usage_usec");
            v = v > 0 ? v * 1000 : v;
        } else {
            v = read_key(cg->cpuacct_dir, "cpuacct.usage", "");
        }
    }
    if (v > 0)
        u->cpu_time_ns = (uint64_t)v;
}

void lp_proc_cgroup_destroy(struct lp_proc_cgroup *cg)
{
    /* The PID namespace's last processes may still be exiting: a short grace for EBUSY. */
    for (size_t i = 0; i < cg->count; i++)
        for (int tries = 0; rmdir(cg->dirs[i]) != 0 && errno == EBUSY && tries < 100; tries++)
            usleep(10000);
    cg->count = 0;
}

void lp_proc_cgroup_describe(const struct lp_proc_cgroup *cg, char *out, size_t len)
{
    if (cg->version == 0) {
        snprintf(out, len, "rlimits (no writable cgroup)");
        return;
    }
    const char *names[3];
    size_t n = 0;
    if (cg->memory)
        names[n++] = "memory";
    if (cg->pids)
        names[n++] = "pids";
    if (cg->cpu)
        names[n++] = "cpu";
    if (n == 0) {
        snprintf(out, len, "cgroup v%d (accounting only)", cg->version);
        return;
    }
    snprintf(out, len, "cgroup v%d (%s%s%s%s%s)", cg->version, names[0], n > 1 ? " " : "",
             n > 1 ? names[1] : "", n > 2 ? " " : "", n > 2 ? names[2] : "");
}
