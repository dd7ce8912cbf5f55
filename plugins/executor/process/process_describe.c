/* What an instance can attach and enforce on this machine (describe()), settled once at
 * create(): bubblewrap's version, and which limits a cgroup really enforces here.
 *
 * The limits are found by doing what a job does: a probe cgroup is created with a memory, pids
 * and CPU limit through the same code as a job's (process_cgroup.c) and removed at once; each
 * limit that could be written is one this instance enforces. Without a cgroup the plugin still
 * sets rlimits, but does not claim them: RLIMIT_AS caps each process's address space, not the
 * job's memory (and trips runtimes that reserve much more than they use), and RLIMIT_NPROC
 * counts every process of the uid on the machine and is ignored for root. No CPU limit exists
 * without a cgroup. The output cap and the timeout are the monitor thread's own, always. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

#define VERSION_TIMEOUT_MS 2000

/* "bubblewrap 0.8.0" from `bwrap --version`; plain "bubblewrap" when it says nothing usable. */
static void bwrap_version(const char *bwrap, char *out, size_t len)
{
    snprintf(out, len, "bubblewrap");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *const argv[] = {(char *)bwrap, (char *)"--version", NULL};
    char *const envp[] = {NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, bwrap, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return;
    }
    char buf[128];
    size_t n = 0;
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    while (n < sizeof buf - 1 && poll(&pfd, 1, VERSION_TIMEOUT_MS) > 0) {
        ssize_t r = read(fds[0], buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    kill(pid, SIGKILL); /* it has exited by now unless it hung: never wait on it forever */
    waitpid(pid, NULL, 0);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (strncmp(buf, "bubblewrap ", 11) == 0 && buf[11] != '\0')
        snprintf(out, len, "%.40s", buf);
}

void lp_proc_describe_init(struct lp_process *p)
{
    struct lp_executor_info *info = &p->info;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    /* Network only where a job's can be outbound only (process_network.c); no GPU is
     * attached yet. */
    info->attach = p->net_egress ? LP_EXEC_ATTACH_NETWORK | LP_EXEC_ATTACH_EGRESS : 0;
    info->enforces = LP_EXEC_LIMIT_DISK | LP_EXEC_LIMIT_TIMEOUT;

    char probe_id[64], how[64];
    static atomic_uint probes; /* instances of one process probe under distinct names */
    snprintf(probe_id, sizeof probe_id, "probe-%ld-%u", (long)getpid(),
             atomic_fetch_add(&probes, 1) + 1);
    struct lp_job_limits limits = {
        .struct_size = sizeof limits, .memory_bytes = 64u << 20, .cpu_millicores = 1000};
    bool allowed = strcmp(p->cfg.cgroup, "none") != 0;
    struct lp_proc_cgroup cg;
    lp_proc_cgroup_create(&cg, probe_id, &limits, 64, allowed);
    if (cg.memory)
        info->enforces |= LP_EXEC_LIMIT_MEMORY;
    if (cg.pids)
        info->enforces |= LP_EXEC_LIMIT_PIDS;
    if (cg.cpu)
        info->enforces |= LP_EXEC_LIMIT_CPU;
    if (cg.version != 0)
        lp_proc_cgroup_describe(&cg, how, sizeof how);
    else
        snprintf(how, sizeof how, "rlimits (%s)",
                 allowed ? "no writable cgroup" : "cgroup = \"none\"");
    lp_proc_cgroup_destroy(&cg);

    char version[48];
    bwrap_version(p->cfg.bwrap, version, sizeof version);
    snprintf(info->runtime, sizeof info->runtime, "%s, %s, %s", version, how, p->net_runtime);
}
