/* Sandboxes left running without their bwrap. bwrap's own process dies with the process that
 * forked it (PR_SET_PDEATHSIG, process_job.c), but the sandbox's init, a second bwrap process
 * that is PID 1 of the job's PID namespace, does not always die with bwrap: its parent-death
 * signal is armed only part-way through its set-up, and is lost on it when bwrap's set-up
 * changes its credentials. So a job killed early, or the jobs of a process that was killed,
 * can leave an init behind. Such an orphan keeps bwrap's command line, whose argv[0] is the
 * job's marker (lp_proc_sandbox_marker: the work_dir's tag and the job's ID; the host paths go
 * through --args, out of the job's sight), and its parent is no longer a bwrap process; killing
 * it ends the whole PID namespace. This works with or without cgroups (lp_proc_cgroup_sweep
 * also removes the cgroups of dead owners). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process.h"

/* The command line of a process, NULs turned to spaces; 0 on success. */
static int read_cmdline(long pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
    return 0;
}

/* The parent pid and name of a process, from /proc/<pid>/stat; 0 on success. */
static int read_stat(long pid, long *ppid, char *comm, size_t cap)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the
     * last ')'. */
    char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
    if (open_paren == NULL || close_paren == NULL || close_paren < open_paren)
        return -1;
    snprintf(comm, cap, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
    char state;
    return sscanf(close_paren + 1, " %c %ld", &state, ppid) == 2 ? 0 : -1;
}

/* True when the process is PID 1 of a PID namespace below ours (its NSpid line ends in 1). */
static bool namespace_init(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    bool init = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        char *last = strrchr(line, '\t');
        init = last != NULL && last != strchr(line, '\t') && atol(last + 1) == 1;
        break;
    }
    fclose(f);
    return init;
}

void lp_proc_sandbox_marker(const char *work_dir, const char *job_id, char *out, size_t cap)
{
    /* FNV-1a: a tag that tells work_dirs apart, not a secret. */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)work_dir; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    snprintf(out, cap, "lilypad-sandbox:%016llx:%s", (unsigned long long)h, job_id ? job_id : "");
}

int lp_proc_kill_orphans(const char *bwrap, const char *work_dir, const char *job_id)
{
    /* A job's marker ends its argv[0]; the work_dir's prefix is followed by some job's ID. */
    char needle[192];
    lp_proc_sandbox_marker(work_dir, job_id, needle, sizeof needle);
    size_t needle_len = strlen(needle);
    /* The kernel names a process after its executable (15 characters at most), whatever its
     * argv[0] says. */
    const char *base = strrchr(bwrap, '/');
    char exe_comm[16];
    snprintf(exe_comm, sizeof exe_comm, "%s", base ? base + 1 : bwrap);
    DIR *d = opendir("/proc");
    if (d == NULL)
        return 0;
    int killed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 1 || pid == (long)getpid())
            continue;
        char cmd[512]; /* the marker is at its start */
        long ppid;
        char comm[64], parent_comm[64];
        if (read_cmdline(pid, cmd, sizeof cmd) != 0 || strncmp(cmd, needle, needle_len) != 0 ||
            (job_id && cmd[needle_len] != ' ') || read_stat(pid, &ppid, comm, sizeof comm) != 0 ||
            strcmp(comm, exe_comm) != 0)
            continue;
        /* Only a sandbox init whose outer bwrap is gone, or an outer bwrap whose forker is
         * gone (re-parented to init). A live job's init has its outer bwrap as parent, and a
         * live job's outer bwrap is not a namespace init and has a live parent. */
        bool parent_is_bwrap = ppid > 1 &&
                               read_stat(ppid, &(long){0}, parent_comm, sizeof parent_comm) == 0 &&
                               strcmp(parent_comm, comm) == 0;
        if (!(namespace_init(pid) && !parent_is_bwrap) && ppid != 1)
            continue;
        if (kill((pid_t)pid, SIGKILL) == 0)
            killed++;
    }
    closedir(d);
    return killed;
}
